# SPDX-License-Identifier: GPL-2.0
#
# The soak (selftests/vm/soak_short.sh, and `make soak` through
# tools/soak/tlsnic-soak): 100 TLS connections at once, offloaded at both
# ends (TX and RX offload on at eth0 and eth1, the driver's defaults), of
# mixed sizes and directions, over a wire that loses, reorders, duplicates
# and corrupts frames (devsim's --loss/--reorder/--dup/--corrupt, 1 % each
# in both callers). Sourced after lib.sh, wire_lib.sh, ktls_tx_lib.sh,
# ktls_rx_lib.sh and faults_lib.sh; soak_main TOTAL runs it and prints KTAP.
#
# Four groups of SOAK_GROUP connections, each a tlsnic-ktls server and
# client with --count SOAK_GROUP --parallel, every connection with its own
# generated stream; in units of u = TOTAL / (9 * SOAK_GROUP) payload bytes
# per connection:
#
#   up     client a sends to server b: 1 KiB, then 3u         (3u)
#   down   server b sends to client a: u, then u              (2u)
#   both   client a sends u, then server b sends u            (2u)
#   back   client b, server a, each way 16 KiB then u - 16 KiB (2u)
#
# so TOTAL payload bytes move (each counted once, at its sender). Every
# connection keys itself and then waits for one start file
# (tlsnic-ktls --start-file): the test sees all of them keyed at once in
# the kernel (TlsCurrTxDevice + TlsCurrTxSw, and RX) before a byte of
# payload moves.
#
# The checks: every transfer arrived with its sender's SHA-256 (zero
# corrupted bytes) and result=ok at both ends; every socket took TX and RX
# offload, or software kTLS where the driver refused the device context
# for a reason it counts (a command timed out on a starved host); the wire
# really faulted during the run (each kind's counter within 0.25..2 % of
# the frames); the resync counters moved; driver and devsim agree once
# every context is gone. "# soak:" lines report the
# figures (tools/soak collects them).

SOAK_GROUP=25
SOAK_OUT=/tmp/soak
SOAK_START=/tmp/soak.start
SOAK_PORT=7600
SOAK_GROUPS="up down both back"

# soak_group_args GROUP U: "SERVER_NS CLIENT_NS DST SERVER_ARGS|CLIENT_ARGS"
soak_group_args() {
	_sg_u=$2
	case "$1" in
	up) echo "b a $ADDR_B --dir rx --bytes 1K,$((3 * _sg_u))|--dir tx --bytes 1K,$((3 * _sg_u)) --seed 1000" ;;
	down) echo "b a $ADDR_B --dir tx --bytes $_sg_u,$_sg_u --seed 2000|--dir rx --bytes $_sg_u,$_sg_u" ;;
	both) echo "b a $ADDR_B --dir both --bytes $_sg_u --seed 3000|--dir both --bytes $_sg_u --seed 3100" ;;
	back) echo "a b $ADDR_A --dir both --bytes 16K,$((_sg_u - 16384)) --seed 4000|--dir both --bytes 16K,$((_sg_u - 16384)) --seed 4100" ;;
	esac
}

# soak_group_transfers GROUP: transfers each connection makes, both ends.
soak_group_transfers() {
	case "$1" in
	back) echo 4 ;;
	*) echo 2 ;;
	esac
}

# soak_start U: every group's server and client in the background, all
# holding at the start file; pids in SOAK_PIDS.
soak_start() {
	rm -f "$SOAK_START"
	SOAK_PIDS=
	_ss_u=$1
	_ss_port=$SOAK_PORT
	for _ss_g in $SOAK_GROUPS; do
		_ss_port=$((_ss_port + 1))
		_ss_a=$(soak_group_args $_ss_g "$_ss_u")
		_ss_cargs=${_ss_a#*|}
		# shellcheck disable=SC2086 # word lists
		set -- ${_ss_a%%|*}
		_ss_sns=$1
		_ss_cns=$2
		_ss_dst=$3
		shift 3
		# shellcheck disable=SC2086
		ip netns exec $_ss_sns "$KTLS" --listen "$_ss_dst:$_ss_port" --cert "$KTX_CERT" \
			--key "$KTX_KEY" --timeout 900 --count $SOAK_GROUP --parallel \
			--start-file "$SOAK_START" "$@" \
			> "$SOAK_OUT.$_ss_g.s" 2> "$SOAK_OUT.$_ss_g.s.err" &
		SOAK_PIDS="$SOAK_PIDS $!"
		# shellcheck disable=SC2086
		ip netns exec $_ss_cns "$KTLS" --connect "$_ss_dst:$_ss_port" --timeout 900 \
			--count $SOAK_GROUP --parallel --start-file "$SOAK_START" $_ss_cargs \
			> "$SOAK_OUT.$_ss_g.c" 2> "$SOAK_OUT.$_ss_g.c.err" &
		SOAK_PIDS="$SOAK_PIDS $!"
	done
}

# soak_keyed NS DIR: sockets of netns NS keyed for DIR (Tx or Rx) now, on
# the device and in software.
soak_keyed() {
	echo $(($(tls_stat "$1" TlsCurr${2}Device) + $(tls_stat "$1" TlsCurr${2}Sw)))
}

# soak_all_keyed N: N sockets of each netns hold kernel TLS both ways now.
soak_all_keyed() {
	for _sk_ns in a b; do
		[ "$(soak_keyed $_sk_ns Tx)" -ge "$1" ] && [ "$(soak_keyed $_sk_ns Rx)" -ge "$1" ] ||
			return 1
	done
}

# soak_keyed_diag: what each netns and port holds, and why sockets are in
# software (the driver's refusal counters).
soak_keyed_diag() {
	for _kd_ns in a b; do
		ktap_diag "netns $_kd_ns now: TlsCurrTxDevice $(tls_stat $_kd_ns TlsCurrTxDevice)" \
			"TlsCurrTxSw $(tls_stat $_kd_ns TlsCurrTxSw) TlsCurrRxDevice $(tls_stat $_kd_ns TlsCurrRxDevice)" \
			"TlsCurrRxSw $(tls_stat $_kd_ns TlsCurrRxSw)"
	done
	for _kd_dev in eth0 eth1; do
		ktap_diag "$_kd_dev: $(stats $_kd_dev | awk '$1 ~ /^(tx_tls_ctx|tx_tls_ctx_err|tx_tls_ctx_timeout|tx_tls_ctx_no_dev|tx_tls_ctx_no_space|tx_tls_ctx_active|rx_tls_ctx|rx_tls_err|rx_tls_del|cmd_.*)$/ { printf "%s %s ", $1, $2 }')"
	done
}

# soak_wait_keyed N: until N sockets of each netns are keyed both ways at
# once (all connections, holding at the start file), as long as every
# tlsnic-ktls still runs (at most 900 s); then how many took the device.
soak_wait_keyed() {
	_sw_end=$(($(date +%s) + 900))
	until soak_all_keyed "$1"; do
		for _sw_p in $SOAK_PIDS; do
			kill -0 "$_sw_p" 2> /dev/null || {
				soak_keyed_diag
				fail_msg "a tlsnic-ktls ended before all $1 connections were keyed"
				return 1
			}
		done
		[ "$(date +%s)" -lt $_sw_end ] ||
			{ soak_keyed_diag; fail_msg "not all $1 connections keyed within 900 s"; return 1; }
		sleep 1
	done
	soak_keyed_diag
}

# soak_finish: wait for every tlsnic-ktls; every transfer of every group
# ended result=ok with the sender's SHA-256 at the receiver, as many as
# planned. Sets SOAK_BYTES (payload bytes sent) and SOAK_TRANSFERS.
soak_finish() {
	_sf_rc=0
	for _sf_p in $SOAK_PIDS; do
		wait "$_sf_p" || _sf_rc=1
	done
	SOAK_BYTES=0
	SOAK_TRANSFERS=0
	for _sf_g in $SOAK_GROUPS; do
		_sf_s=$SOAK_OUT.$_sf_g.s
		_sf_c=$SOAK_OUT.$_sf_g.c
		_sf_want=$((SOAK_GROUP * $(soak_group_transfers $_sf_g)))
		_sf_tx=$( (ktx_hashes "$_sf_c" tx; ktx_hashes "$_sf_s" tx) | sort)
		_sf_rx=$( (ktx_hashes "$_sf_s" rx; ktx_hashes "$_sf_c" rx) | sort)
		_sf_n=$(printf '%s\n' "$_sf_tx" | grep -c .)
		_sf_ok=$(cat "$_sf_s" "$_sf_c" | grep -c '^ktls: .* result=ok')
		_sf_by=$(printf '%s\n' "$_sf_tx" | awk '{ n += $1 } END { print n + 0 }')
		ktap_diag "group $_sf_g: $_sf_n transfers sent, $_sf_ok results ok (of $((2 * _sf_want))), $_sf_by payload bytes"
		if [ "$_sf_n" != "$_sf_want" ] || [ "$_sf_tx" != "$_sf_rx" ] ||
		   [ "$_sf_ok" != $((2 * _sf_want)) ]; then
			sed 's/^/# server: /' "$_sf_s.err" | tail -n 20
			sed 's/^/# client: /' "$_sf_c.err" | tail -n 20
			fail_msg "group $_sf_g: sent and received transfers differ (or not all ok)"
			_sf_rc=1
		fi
		SOAK_BYTES=$((SOAK_BYTES + _sf_by))
		SOAK_TRANSFERS=$((SOAK_TRANSFERS + _sf_n))
	done
	[ $_sf_rc = 0 ] || { ktx_stall_diag; fail_msg "a tlsnic-ktls failed"; }
	return $_sf_rc
}

# soak_faulted: every kind of fault hit 0.25..2 % of the frames put on
# the wire during the run (devsim, both directions). Below 1 % by design:
# corruption spares frames without payload, a held frame counts as
# reordered only when a later one overtook it, a lost one is not also
# duplicated.
soak_faulted() {
	_sfa_frames=$(fl_sum tx_packets "$dev_before" "$dev_after")
	_sfa_rc=0
	_sfa_line=
	for _sfa_c in wire_lost wire_reordered wire_duplicated wire_corrupted; do
		_sfa_d=$(fl_sum $_sfa_c "$dev_before" "$dev_after")
		_sfa_line="$_sfa_line $_sfa_c $_sfa_d ($(pct "$_sfa_d" "$_sfa_frames")%)"
		pct_within "$_sfa_d" "$_sfa_frames" 0.25 2 || _sfa_rc=1
	done
	ktap_diag "soak: wire: $_sfa_frames frames,$_sfa_line"
	[ $_sfa_rc = 0 ] || fail_msg "a fault rate is outside 0.25..2 %"
}

# soak_resynced: resyncs at both ends' devices, both directions summed.
soak_resynced() {
	_sr_ooo=$(fl_sum tx_tls_ooo "$before" "$after")
	_sr_req=$(fl_sum rx_tls_resync_req_pkt "$before" "$after")
	_sr_ok=$(fl_sum rx_tls_resync_res_ok "$before" "$after")
	_sr_kern=$(fl_sum TlsRxDeviceResync "$before" "$after")
	_sr_enc=$(fl_sum tx_tls_encrypted_bytes "$before" "$after")
	_sr_dec=$(fl_sum rx_tls_decrypted_bytes "$before" "$after")
	ktap_diag "soak: resyncs: tx_tls_ooo $_sr_ooo tx_tls_dump_packets $(fl_sum tx_tls_dump_packets "$before" "$after")" \
		"rx_tls_resync_req_pkt $_sr_req rx_tls_resync_res_ok $_sr_ok TlsRxDeviceResync $_sr_kern"
	ktap_diag "soak: device: encrypted $_sr_enc bytes, decrypted $_sr_dec bytes ($(pct "$_sr_dec" "$_sr_enc")% of them)"
	[ "$_sr_ooo" -gt 0 ] && [ "$_sr_req" -gt 0 ] && [ "$_sr_ok" -gt 0 ] && [ "$_sr_kern" -gt 0 ] ||
		fail_msg "no TX resync or no RX resync asked, answered and confirmed"
}

# soak_offloaded N: between before and after (kboth_snap), N sockets of each
# netns keyed each way, each on the device or in software; every software
# one refused by the driver for a reason it counted (tx_tls_ctx_err,
# rx_tls_err: e.g. a command that timed out on a starved host); sockets
# offloaded both ways at both ends, devices encrypting and decrypting, no
# record failing to authenticate. SOAK_DEV_TX/RX: sockets offloaded.
soak_offloaded() {
	_so_rc=0
	SOAK_DEV_TX=0
	SOAK_DEV_RX=0
	for _so_ns in a b; do
		_so_dtx=$(delta $_so_ns.TlsTxDevice "$before" "$after")
		_so_stx=$(delta $_so_ns.TlsTxSw "$before" "$after")
		_so_drx=$(delta $_so_ns.TlsRxDevice "$before" "$after")
		_so_srx=$(delta $_so_ns.TlsRxSw "$before" "$after")
		_so_etx=$(delta $_so_ns.tx_tls_ctx_err "$before" "$after")
		_so_erx=$(delta $_so_ns.rx_tls_err "$before" "$after")
		_so_bad=$(delta $_so_ns.TlsDecryptError "$before" "$after")
		_so_enc=$(delta $_so_ns.tx_tls_encrypted_packets "$before" "$after")
		_so_dec=$(delta $_so_ns.rx_tls_decrypted_packets "$before" "$after")
		ktap_diag "soak: netns $_so_ns: offloaded TX $_so_dtx RX $_so_drx of $1, software TX $_so_stx RX $_so_srx" \
			"(driver refusals: tx_tls_ctx_err $_so_etx rx_tls_err $_so_erx), TlsDecryptError $_so_bad," \
			"tx_tls_encrypted_packets $_so_enc rx_tls_decrypted_packets $_so_dec"
		SOAK_DEV_TX=$((SOAK_DEV_TX + _so_dtx))
		SOAK_DEV_RX=$((SOAK_DEV_RX + _so_drx))
		[ $((_so_dtx + _so_stx)) = "$1" ] && [ $((_so_drx + _so_srx)) = "$1" ] ||
			{ fail_msg "netns $_so_ns: sockets do not add up to $1 each way"; _so_rc=1; }
		[ "$_so_etx" -ge "$_so_stx" ] && [ "$_so_erx" -ge "$_so_srx" ] ||
			{ fail_msg "netns $_so_ns: a socket in software the driver did not refuse"; _so_rc=1; }
		[ "$_so_dtx" -gt 0 ] && [ "$_so_drx" -gt 0 ] && [ "$_so_enc" -gt 0 ] &&
			[ "$_so_dec" -gt 0 ] ||
			{ fail_msg "netns $_so_ns: no offload both ways"; _so_rc=1; }
		[ "$_so_bad" = 0 ] || { fail_msg "netns $_so_ns: TlsDecryptError moved"; _so_rc=1; }
	done
	return $_so_rc
}

# soak_main TOTAL: the soak with TOTAL (K/M/G suffix) payload bytes.
soak_main() {
	_sm_total=$(size_bytes "$1")
	_sm_n=$((4 * SOAK_GROUP))
	_sm_u=$((_sm_total / (9 * SOAK_GROUP)))
	[ $_sm_u -gt 16384 ] || { echo "$0: $1 is too small" >&2; exit 2; }
	ktap_plan 9
	ktap_diag "soak: $_sm_n connections, $_sm_total payload bytes planned, unit $_sm_u"
	ktap_check "setup: TX and RX offload on at eth0 and eth1 (defaults), no context live" fl_setup
	dev_before=$(devsim_stats)
	before=$(kboth_snap)
	_sm_t0=$(date +%s)
	soak_start $_sm_u
	if soak_wait_keyed $_sm_n; then
		ktap_pass "all $_sm_n connections keyed both ways at both ends at once, before any payload"
	else
		ktap_fail "all $_sm_n connections keyed both ways at both ends at once, before any payload"
	fi
	: > "$SOAK_START"
	ktap_check "every transfer arrived with its sender's sha256, result=ok at both ends" soak_finish
	_sm_t1=$(date +%s)
	after=$(kboth_snap)
	ktap_diag "soak: $SOAK_TRANSFERS transfers, $SOAK_BYTES payload bytes in $((_sm_t1 - _sm_t0)) s"
	ktap_check "$_sm_n sockets per netns offloaded (software only when the driver refused), devices encrypted and decrypted" \
		soak_offloaded $_sm_n
	ktap_diag "soak: offloaded sockets: TX $SOAK_DEV_TX, RX $SOAK_DEV_RX of $((2 * _sm_n)) each way"
	ktap_check "every context released after close" fl_wait_idle 120
	dev_after=$(devsim_stats)
	after_idle=$(kboth_snap)
	if [ -n "$dev_before" ] && [ -n "$dev_after" ]; then
		ktap_check "the wire lost, reordered, duplicated and corrupted 0.25..2% of the frames each" \
			soak_faulted
	else
		ktap_fail "the wire lost, reordered, duplicated and corrupted 0.25..2% of the frames each"
	fi
	ktap_check "TX and RX resyncs at the devices" soak_resynced
	ktap_check "driver and devsim agree (decrypted, resyncs, encrypted)" \
		fl_agree soak "$before" "$after_idle" "$dev_before" "$dev_after"
	ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
	ktap_finish
}
