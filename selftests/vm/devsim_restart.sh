#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The device backend killed (SIGKILL) and restarted under a live guest
# with offloaded TLS connections (tools/tlsnic-vm --devsim-restart,
# tools/vm/devsim-restart). TLS TX and RX offload on both ports, both
# ends of every connection offloaded both ways (tlsnic-ktls --dir both).
#
#  - connection P is paused mid-transfer after 2 MiB with its four device
#    contexts live (TX and RX on eth0 and on eth1); connection S (48 MiB
#    each way, eth0 rate-limited to 8 Mbit/s by tbf meanwhile) is paused
#    after 4 MiB with its four, then resumed right before the restart is
#    asked for: it has not finished its first transfer once devsim is
#    back (it cannot while the device is gone), so it was sending when
#    devsim was killed;
#  - devsim is killed and started again: both links go down and up, and
#    both ports' drivers find the device reset (dev_resets) and identify
#    it again (dev_reidentified);
#  - P resumes; P and S finish with equal SHA-256 at both ends (the
#    oracle: the sender's hash, received through software kTLS where the
#    device lost the context) and the kernel authenticated every record
#    (TlsDecryptError still);
#  - both ports counted their lost TX and RX contexts (tx_tls_ctx_lost,
#    rx_tls_ctx_lost, two of each) and sent the lost TX contexts' frames
#    encrypted by the kernel (tx_tls_sw_fallback), none dropped for it;
#  - a new connection after the restart is offloaded again both ways at
#    both ends, by the new devsim;
#  - once everything is closed the driver holds no context, the new devsim
#    has none live (ctx_active 0, created == destroyed) and never heard
#    of the lost ones; no kernel warning, no driver error; the module
#    unloads without a context left behind.
#
# tools/tlsnic-vm --devsim-restart --devsim-args '--stats-file @RUN@/devsim.stats' -- selftests/vm/devsim_restart.sh
# tlsnic-vm-args: --devsim-restart --timeout 1800 --devsim-args '--stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

RESTART=$TREE/tools/vm/devsim-restart
P_ARGS="--dir both --bytes 8M --timeout 600"
S_ARGS="--dir both --bytes 48M --timeout 600"
NEW_BYTES=4M

ktap_plan 13

ktap_check "setup: eth0 and eth1 offload TLS TX and RX, no context live" kboth_setup


# live_contexts DEV: DEV's TX and RX device contexts now, "tx rx".
live_contexts() {
	echo "$(counter "$1" tx_tls_ctx_active) $(krx_live "$1")"
}

# encrypted_since DEV BEFORE MIN: DEV's device encrypted at least MIN TLS
# payload bytes since its tx_tls_encrypted_bytes was BEFORE (read anew on
# every call, for wait_until).
encrypted_since() {
	[ $(($(counter "$1" tx_tls_encrypted_bytes) - $2)) -ge "$3" ]
}

# --- P: paused mid-transfer with live contexts

# Each paused connection has its own barrier directory and pause point.
P_BARRIER=/tmp/devsim_restart.p.barrier
P_PAUSE=2097152
S_BARRIER=/tmp/devsim_restart.s.barrier
S_PAUSE=4194304

start_p() {
	KTX_OUT=/tmp/devsim_restart.p
	KTX_BARRIER=$P_BARRIER
	_sp_enc=$(counter eth0 tx_tls_encrypted_bytes)
	ktx_start_paused "$P_ARGS" "$P_ARGS" $P_PAUSE || return 1
	P_SPID=$KTX_SPID
	P_CPID=$KTX_CPID
	ktap_diag "P paused: eth0 contexts (tx rx) $(live_contexts eth0), eth1 $(live_contexts eth1)"
	[ "$(live_contexts eth0)" = "1 1" ] && [ "$(live_contexts eth1)" = "1 1" ] ||
		{ fail_msg "P does not hold one TX and one RX context on each port"; return 1; }
	wait_until 60 "the device encrypted nothing of P before its pause" \
		encrypted_since eth0 "$_sp_enc" 1
}
ktap_check "P paused after 2 MiB, TX and RX contexts live on both ports" start_p

# --- S: streaming when devsim is killed

# eth0 sends at most 8 Mbit/s while S runs, so that S, resumed right
# before the restart is asked for, is still sending its first 48 MiB when
# devsim goes. The bucket holds a whole TSO frame: tbf never segments.
S_RATE="rate 8mbit burst 1mb latency 4s"

# s_unfinished: S's ends are running and neither has finished a transfer.
s_unfinished() {
	kill -0 "$S_CPID" 2> /dev/null && kill -0 "$S_SPID" 2> /dev/null &&
		! grep -q '^ktls: ' /tmp/devsim_restart.s.c /tmp/devsim_restart.s.s
}

start_s() {
	# shellcheck disable=SC2086 # tbf parameters
	ip netns exec a tc qdisc replace dev eth0 root tbf $S_RATE ||
		{ fail_msg "cannot rate-limit eth0"; return 1; }
	_ss_enc=$(counter eth0 tx_tls_encrypted_bytes)
	KTX_OUT=/tmp/devsim_restart.s
	KTX_BARRIER=$S_BARRIER
	ktx_start_paused "$S_ARGS" "$S_ARGS" $S_PAUSE || return 1
	S_SPID=$KTX_SPID
	S_CPID=$KTX_CPID
	wait_until 120 "the device encrypted nothing of S before its pause" \
		encrypted_since eth0 "$_ss_enc" $((S_PAUSE - P_PAUSE)) || return 1
	ktap_diag "S paused: eth0 encrypted $(($(counter eth0 tx_tls_encrypted_bytes) - _ss_enc)) bytes of it, contexts (tx rx) eth0 $(live_contexts eth0) eth1 $(live_contexts eth1)"
	[ "$(live_contexts eth0)" = "2 2" ] && [ "$(live_contexts eth1)" = "2 2" ] ||
		{ fail_msg "P and S do not hold two TX and two RX contexts on each port"; return 1; }
}
ktap_check "S paused after 4 MiB, P and S hold TX and RX contexts on both ports" start_s

# --- the restart

before=$(kboth_snap)
restart() {
	# S streams again, then at once the host is asked to kill devsim: S
	# has 44 MiB to send at 1 MB/s, and cannot finish while the device is
	# gone, so if S has not finished once devsim is back it was sending
	# when devsim was killed.
	KTX_BARRIER=$S_BARRIER
	ktx_resume
	_r_pid=$("$RESTART") || return 1
	ktap_diag "devsim killed and started again, new pid $_r_pid"
	s_unfinished || { fail_msg "S finished (or ended) before devsim was killed"; return 1; }
}
ktap_check "devsim SIGKILLed and restarted while S streams" restart

# back DEV: DEV's driver found the device reset and identified it again,
# and the link is up.
back() {
	# A driver without these counters never comes back.
	[ "$(counter "$1" dev_resets)" -ge 1 ] 2> /dev/null &&
		[ "$(counter "$1" dev_reidentified)" -ge 1 ] 2> /dev/null &&
		ip -n "$(ns_of "$1")" link show "$1" | grep -q LOWER_UP
}
reidentified() {
	_ri_ok=0
	wait_until 180 "eth0 not back after 180 s" back eth0 &&
		wait_until 60 "eth1 not back after 60 s" back eth1 || _ri_ok=1
	for dev in eth0 eth1; do
		ktap_diag "$dev: dev_resets $(counter $dev dev_resets) dev_reidentified $(counter $dev dev_reidentified) cmd_dev_checks $(counter $dev cmd_dev_checks)"
	done
	[ $_ri_ok = 0 ] || return 1
	ip netns exec a tc qdisc del dev eth0 root || return 1
	dmesg | grep -E 'tlsnic .*(link (down|up)|reset|identified again)' | sed 's/^/# dmesg: /'
}
ktap_check "both ports found the device reset and identified it again, links up" reidentified

# --- P and S finish

finish_p() {
	KTX_OUT=/tmp/devsim_restart.p
	KTX_BARRIER=$P_BARRIER
	KTX_PAUSE=$P_PAUSE
	KTX_SPID=$P_SPID
	KTX_CPID=$P_CPID
	ktx_finish_paused
}
ktap_check "P resumed after the restart: equal hashes both ways" finish_p

finish_s() {
	KTX_OUT=/tmp/devsim_restart.s
	KTX_BARRIER=$S_BARRIER
	KTX_PAUSE=$S_PAUSE
	KTX_SPID=$S_SPID
	KTX_CPID=$S_CPID
	ktx_finish_paused
}
ktap_check "S streamed through the restart: equal hashes both ways" finish_s
after=$(kboth_snap)

# lost PORT: port PORT (a: eth0, b: eth1) counted the lost contexts of P
# and S and sent their TX frames encrypted by the kernel.
lost() {
	for c in tx_tls_ctx_lost rx_tls_ctx_lost tx_tls_sw_fallback tx_tls_sw_fallback_bytes \
		 tx_tls_drop_sw_fallback TlsDecryptError; do
		eval "d_$c=\$(delta $1.$c \"\$before\" \"\$after\")"
	done
	# shellcheck disable=SC2154 # set by the eval above
	{
		ktap_diag "netns $1: tx_tls_ctx_lost +$d_tx_tls_ctx_lost rx_tls_ctx_lost +$d_rx_tls_ctx_lost tx_tls_sw_fallback +$d_tx_tls_sw_fallback bytes +$d_tx_tls_sw_fallback_bytes tx_tls_drop_sw_fallback +$d_tx_tls_drop_sw_fallback TlsDecryptError +$d_TlsDecryptError"
		[ "$d_tx_tls_ctx_lost" -eq 2 ] && [ "$d_rx_tls_ctx_lost" -eq 2 ] ||
			{ fail_msg "expected the 2 TX and 2 RX contexts of P and S lost"; return 1; }
		[ "$d_tx_tls_sw_fallback" -gt 0 ] && [ "$d_tx_tls_sw_fallback_bytes" -gt 0 ] ||
			{ fail_msg "no frame of a lost context encrypted by the kernel"; return 1; }
		[ "$d_tx_tls_drop_sw_fallback" -eq 0 ] ||
			{ fail_msg "frames dropped because the kernel could not encrypt them"; return 1; }
		[ "$d_TlsDecryptError" -eq 0 ] || { fail_msg "TlsDecryptError moved"; return 1; }
	}
}
ktap_check "eth0: lost contexts counted, their TX frames encrypted by the kernel" lost a
ktap_check "eth1: lost contexts counted, their TX frames encrypted by the kernel" lost b

# --- offload again for a new connection

new_offloaded() {
	KTX_OUT=/tmp/devsim_restart.n
	_no_before=$(kboth_snap)
	ktx_run "--dir both --bytes $NEW_BYTES" "--dir both --bytes $NEW_BYTES" || return 1
	_no_after=$(kboth_snap)
	for ns in a b; do
		for c in TlsTxDevice TlsRxDevice TlsTxSw TlsRxSw tx_tls_encrypted_bytes \
			 rx_tls_decrypted_bytes; do
			eval "n_$c=\$(delta $ns.$c \"\$_no_before\" \"\$_no_after\")"
		done
		# shellcheck disable=SC2154 # set by the eval above
		{
			ktap_diag "new connection, netns $ns: TlsTxDevice +$n_TlsTxDevice TlsRxDevice +$n_TlsRxDevice TlsTxSw +$n_TlsTxSw TlsRxSw +$n_TlsRxSw tx_tls_encrypted_bytes +$n_tx_tls_encrypted_bytes rx_tls_decrypted_bytes +$n_rx_tls_decrypted_bytes"
			[ "$n_TlsTxDevice" -eq 1 ] && [ "$n_TlsRxDevice" -eq 1 ] &&
				[ "$n_TlsTxSw" -eq 0 ] && [ "$n_TlsRxSw" -eq 0 ] ||
				{ fail_msg "netns $ns: the new socket is not offloaded both ways"; return 1; }
			[ "$n_tx_tls_encrypted_bytes" -ge "$(size_bytes $NEW_BYTES)" ] &&
				[ "$n_rx_tls_decrypted_bytes" -gt 0 ] ||
				{ fail_msg "netns $ns: the device did not encrypt and decrypt the new connection"; return 1; }
		}
	done
}
ktap_check "a new connection is offloaded again both ways at both ends" new_offloaded

# --- nothing left anywhere

tx_idle() {
	[ "$(counter "$1" tx_tls_ctx_active)" = 0 ]
}

idle() {
	for dev in eth0 eth1; do
		wait_until 20 "$dev still has TX contexts" tx_idle $dev || return 1
		krx_wait_idle 20 $dev || return 1
		# No CTX_DESTROY waits for the ring.
		[ "$(counter $dev tx_tls_del_pending)" = 0 ] ||
			{ fail_msg "$dev: tx_tls_del_pending $(counter $dev tx_tls_del_pending)"; return 1; }
	done
	_i_ds=$(devsim_stats) || return 1
	for p in port0 port1; do
		_i_cr=$(devsim_value "$_i_ds" $p.ctx_created)
		_i_de=$(devsim_value "$_i_ds" $p.ctx_destroyed)
		_i_ac=$(devsim_value "$_i_ds" $p.ctx_active)
		_i_rx=$(devsim_value "$_i_ds" $p.rx_tls_ctx_active)
		ktap_diag "new devsim $p: ctx_created $_i_cr ctx_destroyed $_i_de ctx_active $_i_ac rx_tls_ctx_active $_i_rx"
		# The new connection's TX and RX context, nothing of P or S.
		[ "$_i_cr" = 2 ] && [ "$_i_de" = 2 ] && [ "$_i_ac" = 0 ] && [ "$_i_rx" = 0 ] ||
			{ fail_msg "devsim $p: contexts left, or not just the new connection's"; return 1; }
	done
}
ktap_check "no context left in the driver or in the new devsim" idle
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
ktap_check "rmmod tlsnic: no context left behind" ktx_rmmod_clean

ktap_finish
