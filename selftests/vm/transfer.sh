#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# 64 MiB TCP transfers a->b and b->a through the device, with TSO on and off,
# at MTU 1500 and 9000. Each transfer must arrive with the sender's sha256,
# and the sender's tx_tso_packets must move exactly when TSO is on (the
# device segmented the frames, not the stack). The rate of the default
# configuration is printed as a diagnostic, never asserted.
#
# tools/tlsnic-vm -- selftests/vm/transfer.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
require_vm

MIB=${TLSNIC_XFER_MIB:-64}
DATA=/tmp/transfer.data

ktap_plan 23

if make_data "$DATA" "$MIB"; then
	ktap_pass "create $MIB MiB of random data"
else
	ktap_fail "create $MIB MiB of random data"
fi

# tso_both on|off: TSO switched on both NICs, as ethtool -k reports it.
tso_both() {
	feature eth0 tso "$1" && feature eth1 tso "$1" &&
		[ "$(feature_state eth0 tcp-segmentation-offload)" = "$1" ] &&
		[ "$(feature_state eth1 tcp-segmentation-offload)" = "$1" ]
}

for mtu in 1500 9000; do
	ktap_check "set MTU $mtu on eth0 and eth1" set_mtu "$mtu"
	for tso in on off; do
		ktap_check "mtu $mtu: TSO $tso on eth0 and eth1" tso_both "$tso"
		for dir in a-b b-a; do
			from=${dir%-*}
			to=${dir#*-}
			if [ "$from" = a ]; then dev=eth0; else dev=eth1; fi
			what="$from->$to mtu $mtu tso $tso"

			before=$(stats $dev)
			if xfer "$from" "$to" "$DATA"; then
				ktap_pass "transfer $what: sha256 equal"
			else
				ktap_fail "transfer $what: sha256 equal"
			fi
			after=$(stats $dev)
			ktap_diag "throughput $what: $XFER_RATE MB/s"
			if [ "$mtu" = 1500 ] && [ "$tso" = on ] && [ "$dir" = a-b ]; then
				ktap_diag "throughput a->b: $XFER_RATE MB/s"
			fi

			n=$(delta tx_tso_packets "$before" "$after")
			ktap_diag "$dev tx_tso_packets +$n"
			if [ "$tso" = on ]; then
				ktap_check "$what: device segmented (tx_tso_packets moved)" \
					test "$n" -gt 0
			else
				ktap_check "$what: no TSO requests (tx_tso_packets unchanged)" \
					test "$n" -eq 0
			fi
		done
	done
done

set_mtu 1500
feature eth0 tso on
feature eth1 tso on
rm -f "$DATA" "$DATA.sha256"
ktap_finish
