#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Against a backend that is not a tlsnic device (dpdk-testpmd forwarding
# between the two vhost-user ports, queue pair 1 included: whatever a driver
# sent there would reach the other port), the driver must detect that, run
# both NICs as plain virtio-net without offloads, and still carry traffic
# intact. probe_multiqueue.sh checks that it sends nothing there.
#
# tools/tlsnic-vm --backend testpmd -- selftests/vm/plain_nic.sh
# tlsnic-vm-args: --backend testpmd --timeout 900

. "$(dirname "$0")/../lib.sh"
require_vm

MIB=${TLSNIC_XFER_MIB:-64}
DATA=/tmp/plain.data
TESTS=9

ktap_plan $TESTS

if [ "${TLSNIC_VM_BACKEND:-}" != testpmd ]; then
	ktap_skip_rest $TESTS "needs a non-tlsnic backend: tools/tlsnic-vm --backend testpmd"
fi

has_line() {
	printf '%s\n' "$1" | grep -q "$2"
}

for dev in eth0 eth1; do
	info=$(ip netns exec "$(ns_of $dev)" ethtool -i $dev 2>&1)
	echo "$info" | grep -E '^(driver|firmware-version):' | sed "s/^/# $dev /"
	ktap_check "$dev: bound by tlsnic" has_line "$info" '^driver: tlsnic$'
	ktap_check "$dev: plain mode (no device firmware)" \
		has_line "$info" '^firmware-version: n/a'
done

plain=$(dmesg | grep -c ': plain virtio-net mode')
modes=$(dmesg | grep -c ': tlsnic mode: ')
dmesg | grep -E ': (tlsnic|plain virtio-net) mode' | sed 's/^/# /'
ktap_check "kernel log: two ports in plain mode, none in tlsnic mode" \
	test "$plain" -eq 2 -a "$modes" -eq 0

if make_data "$DATA" "$MIB"; then
	ktap_pass "create $MIB MiB of random data"
else
	ktap_fail "create $MIB MiB of random data"
fi

b0=$(stats eth0)
b1=$(stats eth1)
ktap_check "$MIB MiB a->b, sha256 equal" xfer a b "$DATA"
ktap_diag "throughput a->b: $XFER_RATE MB/s"
ktap_check "$MIB MiB b->a, sha256 equal" xfer b a "$DATA"
ktap_diag "throughput b->a: $XFER_RATE MB/s"
a0=$(stats eth0)
a1=$(stats eth1)

no_offload_requests() {
	for c in tx_csum_partial tx_tso_packets; do
		n0=$(delta $c "$b0" "$a0")
		n1=$(delta $c "$b1" "$a1")
		ktap_diag "$c eth0 +$n0 eth1 +$n1"
		[ "$n0" -eq 0 ] && [ "$n1" -eq 0 ] || return 1
	done
}
ktap_check "no checksum or TSO requests to a plain device" no_offload_requests

rm -f "$DATA" "$DATA.sha256"
ktap_finish
