#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX offload out of order: retransmissions and gaps, a (eth0 offload on)
# -> b (software kTLS RX), 64 MiB per transfer, TLS 1.2.
#
#  - netem loss on eth0's qdisc: frames TCP believes sent never reach the
#    driver, so the next one starts after a gap (resync that moves the
#    device's stream, with the record bytes before it) and the lost ones come
#    back later as retransmissions of bytes the device never saw;
#  - every 97th frame dropped at b's ingress: retransmissions of frames the
#    device did encrypt (resync that leaves its stream alone; record bytes
#    only when the frame carries the record's tag);
#  - both at once with TSO off, so retransmissions are single segments.
#
# Every transfer must arrive with the sender's SHA-256, tx_tls_ooo must move
# (the driver resynced), and nothing may be dropped for lack of sync data.
# Without the dump where it is needed, the device refuses the frame and the
# transfer stalls; with a wrong one, b's kTLS fails the record (EBADMSG).
#
# tools/tlsnic-vm -- selftests/vm/tls_tx_resync.sh
# tlsnic-vm-args: --timeout 1800

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

BIG=/tmp/tls_tx_resync.data

ktap_plan 11

if ktx_setup && make_data "$BIG" 64; then
	ktap_pass "setup: eth0 offloads TLS TX, eth1 does not, 64 MiB file"
else
	ktap_fail "setup: eth0 offloads TLS TX, eth1 does not, 64 MiB file"
fi

# No delay: netem orphans delayed skbs, and the driver must drop those.
egress_loss() {
	if [ "$1" = add ]; then
		ip netns exec a tc qdisc replace dev eth0 root netem loss 1%
	else
		ip netns exec a tc qdisc del dev eth0 root
	fi
}

ingress_drop() {
	if [ "$1" = add ]; then
		ip netns exec b tc qdisc add dev eth1 ingress &&
			ip netns exec b tc filter add dev eth1 parent ffff: protocol ip \
				prio 1 matchall action gact pass random determ drop 97
	else
		ip netns exec b tc qdisc del dev eth1 ingress
	fi
}

# resynced WHAT BEFORE AFTER: the driver resynced the device, the device
# encrypted everything, nothing was dropped for lack of sync data.
resynced() {
	ooo=$(delta tx_tls_ooo "$2" "$3")
	rb=$(delta tx_tls_resync_bytes "$2" "$3")
	dp=$(delta tx_tls_dump_packets "$2" "$3")
	db=$(delta tx_tls_dump_bytes "$2" "$3")
	nd=$(delta tx_tls_drop_no_sync_data "$2" "$3")
	dev=$(delta TlsTxDevice "$2" "$3")
	ktap_diag "$1: tx_tls_ooo +$ooo resync_bytes +$rb dump_packets +$dp dump_bytes +$db drop_no_sync_data +$nd"
	[ "$dev" -eq 1 ] || { fail_msg "socket not offloaded"; return 1; }
	[ "$ooo" -gt 0 ] || { fail_msg "no resync"; return 1; }
	[ "$nd" -eq 0 ] || { fail_msg "frames dropped without sync data"; return 1; }
}

what="netem loss 1% on eth0, aes128gcm write"
if egress_loss add; then
	before=$(ktx_snap)
	if ktx_run "--cipher aes128gcm --bytes 64M" "--cipher aes128gcm --bytes 64M"; then
		ktap_pass "$what: sha256 equal at b"
	else
		ktap_fail "$what: sha256 equal at b"
	fi
	after=$(ktx_snap)
	ktap_check "$what: resynced, nothing dropped" resynced "$what" "$before" "$after"
	# A gap moves the device's stream: the record bytes before the frame go along.
	ktap_check "$what: gaps resynced with record bytes (tx_tls_dump_packets moved)" \
		test "$(delta tx_tls_dump_packets "$before" "$after")" -gt 0
	egress_loss del
else
	ktap_fail "$what: cannot add netem to eth0"
	ktap_fail "$what: resynced, nothing dropped"
	ktap_fail "$what: gaps resynced with record bytes"
fi

# no_netem: the first case's egress loss is gone again.
no_netem() {
	! ip netns exec a tc qdisc show dev eth0 | grep -q netem ||
		fail_msg "netem still on eth0"
}

what="every 97th frame dropped at b, aes256gcm sendfile"
if no_netem && ingress_drop add; then
	before=$(ktx_snap)
	if ktx_run "--cipher aes256gcm --expect-sha256 $(cat "$BIG.sha256")" \
		   "--cipher aes256gcm --send sendfile --file $BIG"; then
		ktap_pass "$what: sha256sum's hash at b"
	else
		ktap_fail "$what: sha256sum's hash at b"
	fi
	after=$(ktx_snap)
	ktap_check "$what: resynced, nothing dropped" resynced "$what" "$before" "$after"
	# Retransmissions without tag bytes need no record bytes.
	sparse=$(($(delta tx_tls_ooo "$before" "$after") - $(delta tx_tls_dump_packets "$before" "$after")))
	ktap_check "$what: sparse resyncs without record bytes ($sparse)" test "$sparse" -gt 0
	ingress_drop del
else
	ktap_fail "$what: cannot add the ingress filter to eth1"
	ktap_fail "$what: resynced, nothing dropped"
	ktap_fail "$what: sparse resyncs without record bytes"
fi

what="both, TSO off, aes128gcm sendfile"
if feature eth0 tso off && egress_loss add && ingress_drop add; then
	before=$(ktx_snap)
	if ktx_run "--cipher aes128gcm --expect-sha256 $(cat "$BIG.sha256")" \
		   "--cipher aes128gcm --send sendfile --file $BIG"; then
		ktap_pass "$what: sha256sum's hash at b"
	else
		ktap_fail "$what: sha256sum's hash at b"
	fi
	after=$(ktx_snap)
	ktap_check "$what: resynced, nothing dropped" resynced "$what" "$before" "$after"
else
	ktap_fail "$what: cannot set up TSO off and the losses"
	ktap_fail "$what: resynced, nothing dropped"
fi
egress_loss del 2> /dev/null
ingress_drop del 2> /dev/null
feature eth0 tso on

ktap_check "every device context released after close" ktx_wait_idle 10
ktap_check "no kernel warning" ktx_dmesg_clean

rm -f "$BIG" "$BIG.sha256"
ktap_finish
