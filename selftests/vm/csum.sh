#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Checksum offload, both ways. The oracle is the guest kernel itself: with
# receive checksum offload off on the receiver ("ethtool -K ethX rx off") it
# verifies every TCP checksum the device wrote on transmit, and counts bad
# ones in /proc/net/snmp Tcp InCsumErrors (the segment is dropped, so the
# transfer would also stall or corrupt). Then the reverse: the sender
# computes checksums in software (tx off) and the receiving device verifies
# them (rx_csum_unnecessary moves).
#
# tools/tlsnic-vm -- selftests/vm/csum.sh
# tlsnic-vm-args: --timeout 900

. "$(dirname "$0")/../lib.sh"
require_vm

MIB=${TLSNIC_XFER_MIB:-64}
DATA=/tmp/csum.data

ktap_plan 19

if make_data "$DATA" "$MIB"; then
	ktap_pass "create $MIB MiB of random data"
else
	ktap_fail "create $MIB MiB of random data"
fi

# csum_features TX_DEV on|off RX_DEV on|off: tx-checksumming of the sender
# and rx-checksumming of the receiver switched, as ethtool -k reports them.
csum_features() {
	feature "$1" tx "$2" && feature "$3" rx "$4" &&
		[ "$(feature_state "$1" tx-checksumming)" = "$2" ] &&
		[ "$(feature_state "$3" rx-checksumming)" = "$4" ]
}

# device_tx_csum FROM TO: sender offloads checksums, receiver's kernel checks.
device_tx_csum() {
	from=$1
	to=$2
	if [ "$from" = a ]; then tx=eth0 rx=eth1; else tx=eth1 rx=eth0; fi
	what="$from->$to device tx csum, kernel rx check"

	ktap_check "$what: $tx tx-checksumming on, $rx rx-checksumming off" \
		csum_features $tx on $rx off

	txb=$(stats $tx)
	rxb=$(stats $rx)
	errb=$(snmp "$to" Tcp InCsumErrors)
	ktap_check "$what: sha256 equal" xfer "$from" "$to" "$DATA"
	ktap_diag "throughput $what: $XFER_RATE MB/s"
	txa=$(stats $tx)
	rxa=$(stats $rx)
	erra=$(snmp "$to" Tcp InCsumErrors)

	n=$(delta tx_csum_partial "$txb" "$txa")
	ktap_diag "$tx tx_csum_partial +$n"
	ktap_check "$what: device filled checksums (tx_csum_partial moved)" test "$n" -gt 0
	ktap_diag "netns $to Tcp InCsumErrors $errb -> $erra"
	ktap_check "$what: kernel found no bad checksum (InCsumErrors unchanged)" \
		test "$erra" = "$errb"
	n=$(delta rx_csum_unnecessary "$rxb" "$rxa")
	ktap_check "$what: $rx reported nothing as verified (rx_csum_unnecessary unchanged)" \
		test "$n" -eq 0
	feature $rx rx on
}

# device_rx_csum FROM TO: sender's stack computes checksums, receiving
# device verifies them.
device_rx_csum() {
	from=$1
	to=$2
	if [ "$from" = a ]; then tx=eth0 rx=eth1; else tx=eth1 rx=eth0; fi
	what="$from->$to software tx csum, device rx check"

	ktap_check "$what: $tx tx-checksumming off, $rx rx-checksumming on" \
		csum_features $tx off $rx on
	txb=$(stats $tx)
	rxb=$(stats $rx)
	ktap_check "$what: sha256 equal" xfer "$from" "$to" "$DATA"
	ktap_diag "throughput $what: $XFER_RATE MB/s"
	txa=$(stats $tx)
	rxa=$(stats $rx)

	n=$(delta tx_csum_partial "$txb" "$txa")
	ktap_diag "$tx tx_csum_partial +$n"
	ktap_check "$what: no checksum requests (tx_csum_partial unchanged)" test "$n" -eq 0
	n=$(delta rx_csum_unnecessary "$rxb" "$rxa")
	ktap_diag "$rx rx_csum_unnecessary +$n"
	ktap_check "$what: device verified checksums (rx_csum_unnecessary moved)" \
		test "$n" -gt 0
	feature $tx tx on
}

device_tx_csum a b
device_tx_csum b a
device_rx_csum a b
device_rx_csum b a

rm -f "$DATA" "$DATA.sha256"
ktap_finish
