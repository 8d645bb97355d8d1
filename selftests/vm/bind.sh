#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The driver binds both NICs of a tlsnic device and runs them in tlsnic
# mode: ethtool -i names the driver and the device firmware, the kernel log
# has one "tlsnic mode" line per port, the identify command completed, the
# offloads the device announced are on, and a first small transfer works.
#
# tools/tlsnic-vm -- selftests/vm/bind.sh

. "$(dirname "$0")/../lib.sh"
require_vm

DATA=/tmp/bind.data

ktap_plan 11

has_line() {
	printf '%s\n' "$1" | grep -q "$2"
}

ktap_check "module tlsnic loaded" test -d /sys/module/tlsnic

for dev in eth0 eth1; do
	info=$(ip netns exec "$(ns_of $dev)" ethtool -i $dev 2>&1)
	echo "$info" | grep -E '^(driver|firmware-version|bus-info):' | sed "s/^/# $dev /"
	ktap_check "$dev: ethtool -i reports driver tlsnic" \
		has_line "$info" '^driver: tlsnic$'
	ktap_check "$dev: device firmware reported (tlsnic mode, not plain)" \
		has_line "$info" '^firmware-version: devsim'
done

modes=$(dmesg | grep -c ': tlsnic mode: ')
plain=$(dmesg | grep -c ': plain virtio-net mode')
dmesg | grep -E ': (tlsnic|plain virtio-net) mode' | sed 's/^/# /'
ktap_check "kernel log: two ports in tlsnic mode, none plain" \
	test "$modes" -eq 2 -a "$plain" -eq 0

identify_ok() {
	for dev in eth0 eth1; do
		sent=$(counter $dev cmd_sent) || return 1
		done_=$(counter $dev cmd_completed) || return 1
		tmo=$(counter $dev cmd_timeouts) || return 1
		ktap_diag "$dev cmd_sent $sent cmd_completed $done_ cmd_timeouts $tmo"
		[ "$sent" -ge 1 ] && [ "$done_" -ge 1 ] && [ "$tmo" -eq 0 ] || return 1
	done
}
ktap_check "command channel: identify completed on both ports, no timeouts" identify_ok

offloads_on() {
	for dev in $1; do
		for f in tx-checksumming rx-checksumming tcp-segmentation-offload; do
			st=$(feature_state $dev $f)
			ktap_diag "$dev $f: $st"
			[ "$st" = on ] || return 1
		done
	done
}
ktap_check "eth0: checksum and TSO offloads on" offloads_on eth0
ktap_check "eth1: checksum and TSO offloads on" offloads_on eth1

ktap_check "carrier up on both ports" sh -c \
	"ip -n a -o link show dev eth0 | grep -q LOWER_UP && ip -n b -o link show dev eth1 | grep -q LOWER_UP"

if make_data "$DATA" 1 && xfer a b "$DATA" && xfer b a "$DATA"; then
	ktap_pass "1 MiB a->b and b->a, sha256 equal"
else
	ktap_fail "1 MiB a->b and b->a, sha256 equal"
fi
rm -f "$DATA" "$DATA.sha256"

ktap_finish
