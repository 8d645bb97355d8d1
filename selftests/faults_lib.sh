# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the VM tests that run TLS connections offloaded at both ends,
# both ways, over a faulty wire (selftests/vm/wire_fault_matrix.sh,
# selftests/vm/soak_short.sh, tools/soak), sourced after lib.sh, wire_lib.sh,
# ktls_tx_lib.sh and ktls_rx_lib.sh. eth0 (netns a) and eth1 (netns b) both
# keep the driver's defaults: tls-hw-tx-offload and tls-hw-rx-offload on.
#
# The wire's faults are changed while devsim runs through its
# --wire-control file in the run directory: the tests ask tlsnic-vm for
#   --devsim-args '--stats-file @RUN@/devsim.stats --wire-control @RUN@/wire.control'
# Each version devsim applies moves wire_config_changes on both ports, each
# one it refuses wire_control_errors: the counters, not the clock, say
# which faults were on when.

WIRE_CONTROL=$WIRE_RUN/wire.control

# fl_idle: no TX or RX device context live on either port.
fl_idle() {
	[ "$(counter eth0 tx_tls_ctx_active)" = 0 ] && [ "$(counter eth1 tx_tls_ctx_active)" = 0 ] &&
		[ "$(krx_live eth0)" = 0 ] && [ "$(krx_live eth1)" = 0 ]
}

# fl_wait_idle SECS: until fl_idle (sockets are destroyed after close).
fl_wait_idle() {
	wait_until "$1" "contexts still live after $1 s: TX eth0 $(counter eth0 tx_tls_ctx_active) eth1 $(counter eth1 tx_tls_ctx_active), RX eth0 $(krx_live eth0) eth1 $(krx_live eth1)" fl_idle
}

# fl_setup: a certificate for the servers; TLS TX and RX offload on at
# eth0 and eth1 as the driver sets them by default (checked, not set); one
# warm-up connection; no context left.
fl_setup() {
	ktx_prepare || return 1
	for _fs_dev in eth0 eth1; do
		for _fs_f in tls-hw-tx-offload tls-hw-rx-offload; do
			_fs_state=$(feature_state $_fs_dev $_fs_f)
			[ "$_fs_state" = on ] ||
				{ fail_msg "$_fs_dev: $_fs_f is '${_fs_state:-missing}', on by default expected"; return 1; }
		done
	done
	ktx_warm_up && fl_wait_idle 30
}

# fl_sum NAME BEFORE AFTER: delta of a.NAME plus delta of b.NAME (kboth_snap),
# or of port0.NAME plus port1.NAME (devsim_stats).
fl_sum() {
	case "$2" in
	*port0.*) echo $(($(delta "port0.$1" "$2" "$3") + $(delta "port1.$1" "$2" "$3"))) ;;
	*) echo $(($(delta "a.$1" "$2" "$3") + $(delta "b.$1" "$2" "$3"))) ;;
	esac
}

# fl_wire_set TEXT: the next version of the --wire-control file, put in
# place with a rename so devsim never reads it half written.
fl_wire_set() {
	printf '%s\n' "$1" > "$WIRE_CONTROL.tmp" && mv -f "$WIRE_CONTROL.tmp" "$WIRE_CONTROL"
}

# fl_devsim_now NAME: a counter of devsim's latest stats file (no wait).
fl_devsim_now() {
	awk -v n="$1" '$1 == n { print $2; f = 1 } END { exit !f }' "$DEVSIM_STATS" 2> /dev/null
}

# fl_applied CHANGES ERRORS: both ports show CHANGES applied versions and
# ERRORS refused ones.
fl_applied() {
	[ "$(fl_devsim_now port0.wire_config_changes)" = "$1" ] &&
		[ "$(fl_devsim_now port1.wire_config_changes)" = "$1" ] &&
		[ "$(fl_devsim_now port0.wire_control_errors)" = "$2" ] &&
		[ "$(fl_devsim_now port1.wire_control_errors)" = "$2" ]
}

# fl_wire_apply TEXT CHANGES ERRORS: fl_wire_set TEXT, then wait until
# devsim counted CHANGES applied and ERRORS refused versions in all.
fl_wire_apply() {
	fl_wire_set "$1" || { fail_msg "cannot write $WIRE_CONTROL"; return 1; }
	wait_until 30 "devsim did not take $WIRE_CONTROL: wire_config_changes $(fl_devsim_now port0.wire_config_changes)/$(fl_devsim_now port1.wire_config_changes), wire_control_errors $(fl_devsim_now port0.wire_control_errors)/$(fl_devsim_now port1.wire_control_errors), expected $2 and $3" \
		fl_applied "$2" "$3"
}

# fl_offloaded WHAT BEFORE AFTER N: between two kboth_snap snapshots, N sockets
# of each netns took TX and RX offload (none in software), no record failed
# to authenticate, and each port's device encrypted and decrypted packets.
fl_offloaded() {
	_fo_ok=0
	for _fo_ns in a b; do
		_fo_tx=$(delta $_fo_ns.TlsTxDevice "$2" "$3")
		_fo_rx=$(delta $_fo_ns.TlsRxDevice "$2" "$3")
		_fo_sw=$(($(delta $_fo_ns.TlsTxSw "$2" "$3") + $(delta $_fo_ns.TlsRxSw "$2" "$3")))
		_fo_err=$(delta $_fo_ns.TlsDecryptError "$2" "$3")
		_fo_enc=$(delta $_fo_ns.tx_tls_encrypted_packets "$2" "$3")
		_fo_dec=$(delta $_fo_ns.rx_tls_decrypted_packets "$2" "$3")
		ktap_diag "$1: netns $_fo_ns: TlsTxDevice +$_fo_tx TlsRxDevice +$_fo_rx software +$_fo_sw TlsDecryptError +$_fo_err tx_tls_encrypted_packets +$_fo_enc rx_tls_decrypted_packets +$_fo_dec"
		[ "$_fo_tx" = "$4" ] && [ "$_fo_rx" = "$4" ] && [ "$_fo_sw" = 0 ] ||
			{ fail_msg "netns $_fo_ns: expected $4 sockets offloaded both ways, none in software"; _fo_ok=1; }
		[ "$_fo_err" = 0 ] || { fail_msg "netns $_fo_ns: TlsDecryptError moved"; _fo_ok=1; }
		[ "$_fo_enc" -gt 0 ] && [ "$_fo_dec" -gt 0 ] ||
			{ fail_msg "netns $_fo_ns: the device did not encrypt and decrypt"; _fo_ok=1; }
	done
	return $_fo_ok
}

# fl_agree WHAT BEFORE AFTER DEV_BEFORE DEV_AFTER: with no context live at
# either end of the interval, each port's driver counted what its device
# counted: packets and bytes decrypted, confirmed RX resyncs, bytes
# encrypted, encryptions that used resync information.
fl_agree() {
	_fa_ok=0
	for _fa_port in 0 1; do
		_fa_ns=a
		[ $_fa_port = 1 ] && _fa_ns=b
		_fa_line=
		for _fa_pair in rx_tls_decrypted_packets:rx_tls_decrypted_packets \
				rx_tls_decrypted_bytes:rx_tls_decrypted_bytes \
				rx_tls_resync_res_ok:rx_tls_resync_ok \
				tx_tls_encrypted_bytes:tx_tls_encrypted_bytes \
				tx_tls_ooo:tx_tls_ooo; do
			_fa_drv=$(delta "$_fa_ns.${_fa_pair%%:*}" "$2" "$3")
			_fa_sim=$(delta "port$_fa_port.${_fa_pair#*:}" "$4" "$5")
			_fa_line="$_fa_line ${_fa_pair#*:} +$_fa_drv/+$_fa_sim"
			[ "$_fa_drv" = "$_fa_sim" ] || _fa_ok=1
		done
		ktap_diag "$1: port$_fa_port driver/devsim:$_fa_line"
	done
	[ $_fa_ok = 0 ] || fail_msg "$1: driver and devsim counters differ"
}
