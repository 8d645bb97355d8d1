#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Unload and reload the driver twice: both NICs must go away with rmmod,
# come back in tlsnic mode with insmod (the device answers IDENTIFY again
# after a reset) and carry a full transfer each way afterwards. Leaks and
# use-after-free show up as kernel warnings, which fail the run.
#
# tools/tlsnic-vm -- selftests/vm/reload.sh
# tlsnic-vm-args: --timeout 900

. "$(dirname "$0")/../lib.sh"
require_vm

MIB=${TLSNIC_XFER_MIB:-64}
DATA=/tmp/reload.data
# The module the guest booted with (tools/tlsnic-vm copies it).
KO=${TLSNIC_KO:-$TREE/driver/tlsnic.ko}
ROUNDS=2

ktap_plan $((1 + ROUNDS * 5))

if make_data "$DATA" "$MIB"; then
	ktap_pass "create $MIB MiB of random data"
else
	ktap_fail "create $MIB MiB of random data"
fi

nics_gone() {
	for ns in a b; do
		if ip -n $ns -o link show | grep -qv ' lo:'; then
			ip -n $ns -o link show | sed 's/^/# /'
			return 1
		fi
	done
	if [ -e /sys/module/tlsnic ]; then
		fail_msg "/sys/module/tlsnic still there"
		return 1
	fi
}

tlsnic_mode_both() {
	for dev in eth0 eth1; do
		info=$(ip netns exec "$(ns_of $dev)" ethtool -i $dev) || return 1
		echo "$info" | grep -q '^driver: tlsnic$' ||
			{ fail_msg "$dev: $(echo "$info" | head -n 1)"; return 1; }
		echo "$info" | grep -q '^firmware-version: n/a' &&
			{ fail_msg "$dev: plain mode after reload"; return 1; }
	done
	return 0
}

reinsert() {
	insmod "$KO" && netsetup
}

round=1
while [ $round -le $ROUNDS ]; do
	ktap_check "round $round: rmmod tlsnic" rmmod tlsnic
	ktap_check "round $round: NICs and module gone" nics_gone
	ktap_check "round $round: insmod tlsnic.ko, NICs back in netns a and b" \
		reinsert
	ktap_check "round $round: both NICs in tlsnic mode" tlsnic_mode_both
	if xfer a b "$DATA" && xfer b a "$DATA"; then
		ktap_pass "round $round: transfers a->b and b->a, sha256 equal"
	else
		ktap_fail "round $round: transfers a->b and b->a, sha256 equal"
	fi
	round=$((round + 1))
done

rm -f "$DATA" "$DATA.sha256"
ktap_finish
