#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The wire fault matrix, TLS offloaded at both ends both ways (TX and RX
# offload on at eth0 and eth1, the driver's defaults): loss, reorder,
# duplicate and corrupt (one payload bit flipped, TCP checksum left wrong)
# each at 0.1 %, 1 % and 5 % of the frames, then all four at 1 % together,
# in one boot: devsim takes each point's rates from its --wire-control file
# while it runs. For every point, one connection moves MATRIX_BYTES each
# way (tlsnic-ktls --dir both: a sends, then b):
#
#  - the point's faults were on during the transfer and only then: devsim
#    applied the point's version of the control file before the transfer
#    (wire_config_changes = point number on both ports) and none during it;
#    the named faults' counters moved during the transfer (wire_lost,
#    wire_reordered, wire_duplicated, wire_corrupted summed over both
#    directions), the others did not;
#  - every byte arrived: the receiver's SHA-256 equals the sender's, both
#    ways;
#  - offload was used: one socket in each netns took TX and RX offload
#    (TlsTxDevice, TlsRxDevice), none in software, no TlsDecryptError, each
#    port encrypted (tx_tls_encrypted_packets) and decrypted
#    (rx_tls_decrypted_packets);
#  - the resync counters explain the faults: frames lost or corrupted are
#    retransmitted, the sender's device encrypts them with resync
#    information (tx_tls_ooo), and the receiver's device, which saw a gap,
#    asks for RX resyncs the kernel answers (rx_tls_resync_req_pkt,
#    rx_tls_resync_res_ok, TlsRxDeviceResync); reordered frames leave the
#    same gap at the receiver; duplicates need no resync, the receiving
#    device sees them out of place (devsim rx_tls_ooo) and lets them by;
#  - once every context is released, each port's driver and devsim counted
#    the same decrypted packets and bytes, confirmed resyncs, encrypted
#    bytes and resync-encrypted packets over the point.
#
# Before the matrix, a control file with a bad line is refused
# (wire_control_errors) and changes nothing; after it, an empty file gives
# a perfect wire again.
#
# tools/tlsnic-vm --timeout 5400 --devsim-args '--seed 21 --stats-file @RUN@/devsim.stats --wire-control @RUN@/wire.control' -- selftests/vm/wire_fault_matrix.sh
# tlsnic-vm-args: --timeout 5400 --devsim-args '--seed 21 --stats-file @RUN@/devsim.stats --wire-control @RUN@/wire.control'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
. "$(dirname "$0")/../faults_lib.sh"
require_vm

MATRIX_BYTES=${TLSNIC_MATRIX_BYTES:-8M}
# kind:percent; "all" is every kind at once.
POINTS="loss:0.1 loss:1 loss:5 reorder:0.1 reorder:1 reorder:5 dup:0.1 dup:1 dup:5
	corrupt:0.1 corrupt:1 corrupt:5 all:1"
KINDS="loss reorder dup corrupt"
NPOINTS=$(echo $POINTS | wc -w)

ktap_plan $((NPOINTS * 4 + 4))

rm -f "$WIRE_CONTROL" "$WIRE_CONTROL.tmp"
ktap_check "setup: TX and RX offload on at eth0 and eth1 (defaults), no context live" fl_setup

# wire_counter KIND: devsim's counter of that fault.
wire_counter() {
	case "$1" in
	loss) echo wire_lost ;;
	reorder) echo wire_reordered ;;
	dup) echo wire_duplicated ;;
	corrupt) echo wire_corrupted ;;
	esac
}

# A bad version changes nothing: no applied version, one refused.
refused() {
	fl_wire_apply "loss 1
reorder lots" 0 1
}
ktap_check "a control file with a bad line is refused (wire_control_errors), nothing applied" refused

# point_run N KIND PCT: the transfer of point N, with the snapshots around
# it in before/after (kboth_snap) and dev_before/dev_after (devsim).
point_run() {
	if [ "$2" = all ]; then
		text="loss $3
reorder $3
dup $3
corrupt $3"
	else
		text="$2 $3"
	fi
	fl_wire_apply "$text" "$1" 1 || return 1
	dev_before=$(devsim_stats) || return 1
	before=$(kboth_snap)
	ktx_run "--dir both --bytes $MATRIX_BYTES" "--dir both --bytes $MATRIX_BYTES"
	_pr_rc=$?
	after=$(kboth_snap)
	ktap_diag "$what: a sent at $(ktx_field "$KTX_OUT.c" mbps | head -n 1) Mbit/s," \
		"b at $(ktx_field "$KTX_OUT.s" mbps | tail -n 1) Mbit/s"
	fl_wait_idle 30 || _pr_rc=1
	dev_after=$(devsim_stats) || return 1
	after_idle=$(kboth_snap)
	[ "$(devsim_value "$dev_after" port0.wire_config_changes)" = "$1" ] &&
		[ "$(devsim_value "$dev_after" port1.wire_config_changes)" = "$1" ] ||
		{ fail_msg "the wire's configuration changed during the transfer"; return 1; }
	return $_pr_rc
}

# faults_seen KIND: the named kinds' counters moved, the others did not.
faults_seen() {
	_fs_rc=0
	_fs_line=
	for k in $KINDS; do
		c=$(wire_counter $k)
		d=$(fl_sum $c "$dev_before" "$dev_after")
		_fs_line="$_fs_line $c +$d"
		if [ "$1" = all ] || [ "$1" = $k ]; then
			[ "$d" -gt 0 ] || { fail_msg "$c did not move"; _fs_rc=1; }
		else
			[ "$d" = 0 ] || { fail_msg "$c moved with $k off"; _fs_rc=1; }
		fi
	done
	ktap_diag "$what: devsim (both directions):$_fs_line" \
		"tls-corrupted +$(fl_sum wire_tls_corrupted "$dev_before" "$dev_after")" \
		"frames +$(fl_sum tx_packets "$dev_before" "$dev_after")"
	return $_fs_rc
}

# resyncs KIND: the resync counters that explain KIND's faults moved.
resyncs() {
	ooo=$(fl_sum tx_tls_ooo "$before" "$after")
	req=$(fl_sum rx_tls_resync_req_pkt "$before" "$after")
	ok=$(fl_sum rx_tls_resync_res_ok "$before" "$after")
	kern=$(fl_sum TlsRxDeviceResync "$before" "$after")
	ktap_diag "$what: tx_tls_ooo +$ooo tx_tls_dump_packets +$(fl_sum tx_tls_dump_packets "$before" "$after")" \
		"rx_tls_resync_req_pkt +$req res_ok +$ok TlsRxDeviceResync +$kern;" \
		"devsim rx_tls_ooo +$(fl_sum rx_tls_ooo "$dev_before" "$dev_after")" \
		"rx_tls_restored +$(fl_sum rx_tls_restored "$dev_before" "$dev_after")" \
		"rx_tls_csum_bad +$(fl_sum rx_tls_csum_bad "$dev_before" "$dev_after")" \
		"tx_tls_resync_preserved +$(fl_sum tx_tls_resync_preserved "$dev_before" "$dev_after")"
	case "$1" in
	loss|corrupt|all)
		[ "$ooo" -gt 0 ] ||
			{ fail_msg "retransmissions without resync information (tx_tls_ooo)"; return 1; } ;;
	esac
	case "$1" in
	loss|corrupt|reorder|all)
		[ "$req" -gt 0 ] && [ "$ok" -gt 0 ] && [ "$kern" -gt 0 ] ||
			{ fail_msg "no RX resync asked, answered and confirmed"; return 1; } ;;
	dup)
		[ "$(fl_sum rx_tls_ooo "$dev_before" "$dev_after")" -gt 0 ] ||
			{ fail_msg "the receiving devices saw no duplicate out of place (rx_tls_ooo)"; return 1; } ;;
	esac
	return 0
}

n=0
for point in $POINTS; do
	n=$((n + 1))
	kind=${point%%:*}
	rate=${point#*:}
	what="$kind $rate%"
	[ "$kind" = all ] && what="loss, reorder, dup and corrupt $rate% each"
	dev_before=
	dev_after=
	before=
	after=
	after_idle=
	if point_run $n $kind $rate; then
		ktap_pass "$what: applied before the transfer and kept, $MATRIX_BYTES each way, sha256 equal"
	else
		ktap_fail "$what: applied before the transfer and kept, $MATRIX_BYTES each way, sha256 equal"
	fi
	ktap_check "$what: one socket per end offloaded TX and RX, device encrypted and decrypted" \
		fl_offloaded "$what" "$before" "$after" 1
	if [ -n "$dev_before" ] && [ -n "$dev_after" ]; then
		ktap_check "$what: devsim counted the point's faults during the transfer, no other" \
			faults_seen $kind
		resyncs $kind
		r1=$?
		fl_agree "$what" "$before" "$after_idle" "$dev_before" "$dev_after"
		if [ $r1 = 0 ] && [ $? = 0 ]; then
			ktap_pass "$what: resync counters explain the faults, driver and devsim agree"
		else
			ktap_fail "$what: resync counters explain the faults, driver and devsim agree"
		fi
	else
		ktap_fail "$what: devsim counted the point's faults during the transfer, no other"
		ktap_fail "$what: resync counters explain the faults, driver and devsim agree"
	fi
done

perfect() {
	fl_wire_apply "# perfect" $((NPOINTS + 1)) 1 || return 1
	dev_before=$(devsim_stats) || return 1
	ktx_run "--dir both --bytes 1M" "--dir both --bytes 1M" || return 1
	dev_after=$(devsim_stats) || return 1
	for k in $KINDS; do
		d=$(fl_sum "$(wire_counter $k)" "$dev_before" "$dev_after")
		[ "$d" = 0 ] || { fail_msg "$(wire_counter $k) +$d on a perfect wire"; return 1; }
	done
}
ktap_check "an empty control file: a perfect wire again, 1 MiB each way, no fault" perfect
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
