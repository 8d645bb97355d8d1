#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX offload over a lossy, reordering wire: devsim drops 1% of the
# frames and reorders 1% after the device encrypted them (seed 7, so the
# fault pattern repeats). TCP retransmits what the wire lost; the driver
# resyncs the device for each retransmission, which the device encrypts
# without losing its in-order state.
#
#  - 64 MiB with write, AES-GCM-128, and 64 MiB sendfile, AES-GCM-256,
#    a (offload) -> b (software kTLS RX): the receiver gets the sender's
#    SHA-256 (and sha256sum's), tx_tls_ooo moves, nothing is dropped for
#    lack of sync data, every device context is released, no warning.
#
# tools/tlsnic-vm --devsim-args '--loss 1 --reorder 1 --seed 7' -- selftests/vm/tls_tx_wire.sh
# tlsnic-vm-args: --devsim-args '--loss 1 --reorder 1 --seed 7' --timeout 1800

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

BIG=/tmp/tls_tx_wire.data

ktap_plan 7

if ktx_setup && make_data "$BIG" 64; then
	ktap_pass "setup: eth0 offloads TLS TX, eth1 does not, 64 MiB file"
else
	ktap_fail "setup: eth0 offloads TLS TX, eth1 does not, 64 MiB file"
fi

# resynced WHAT: offloaded, resynced, nothing dropped for lack of sync data.
resynced() {
	ooo=$(delta tx_tls_ooo "$before" "$after")
	dp=$(delta tx_tls_dump_packets "$before" "$after")
	nd=$(delta tx_tls_drop_no_sync_data "$before" "$after")
	dev=$(delta TlsTxDevice "$before" "$after")
	rtx=$(($(snmp a Tcp RetransSegs) - RTX0))
	ktap_diag "$1: TCP retransmitted $rtx segments; tx_tls_ooo +$ooo dump_packets +$dp drop_no_sync_data +$nd"
	[ "$dev" -eq 1 ] || { fail_msg "socket not offloaded"; return 1; }
	[ "$ooo" -gt 0 ] || { fail_msg "no resync (did the wire lose anything?)"; return 1; }
	[ "$nd" -eq 0 ] || { fail_msg "frames dropped without sync data"; return 1; }
}

what="aes128gcm write 64 MiB"
RTX0=$(snmp a Tcp RetransSegs)
before=$(ktx_snap)
if ktx_run "--cipher aes128gcm --bytes 64M" "--cipher aes128gcm --bytes 64M"; then
	ktap_pass "$what: sha256 equal at b"
else
	ktap_fail "$what: sha256 equal at b"
fi
after=$(ktx_snap)
ktap_check "$what: resynced after wire loss, nothing dropped" resynced "$what"

what="aes256gcm sendfile 64 MiB"
RTX0=$(snmp a Tcp RetransSegs)
before=$(ktx_snap)
if ktx_run "--cipher aes256gcm --expect-sha256 $(cat "$BIG.sha256")" \
	   "--cipher aes256gcm --send sendfile --file $BIG"; then
	ktap_pass "$what: sha256sum's hash at b"
else
	ktap_fail "$what: sha256sum's hash at b"
fi
after=$(ktx_snap)
ktap_check "$what: resynced after wire loss, nothing dropped" resynced "$what"

ktap_check "every device context released after close" ktx_wait_idle 10
ktap_check "no kernel warning" ktx_dmesg_clean

rm -f "$BIG" "$BIG.sha256"
ktap_finish
