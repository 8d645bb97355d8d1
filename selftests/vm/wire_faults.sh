#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TCP over a faulty wire: devsim loses, reorders and duplicates 1% of the
# frames each way (--loss 1 --reorder 1 --dup 1 --seed 7). A 64 MiB
# transfer a->b must still arrive with the sender's sha256. devsim's own
# counters (its --stats-file, read live from the run directory) must show
# each fault at about the configured rate on the data direction, and on the
# ACK direction too; the guest's TCP must have seen them: retransmissions
# at the sender, out-of-order queueing and D-SACKs for duplicates at the
# receiver. No frame may be corrupted and none may fail its checksum.
#
# tools/tlsnic-vm --devsim-args '--loss 1 --reorder 1 --dup 1 --seed 7 --stats-file @RUN@/devsim.stats' -- selftests/vm/wire_faults.sh
# tlsnic-vm-args: --timeout 1200 --devsim-args '--loss 1 --reorder 1 --dup 1 --seed 7 --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

MIB=${TLSNIC_XFER_MIB:-64}
DATA=/tmp/wire_faults.data
# devsim draws each fault for each frame at 1%; over the tens of thousands
# of frames of the transfer these bounds are more than 10 sigma wide.
LO=0.5
HI=1.5

ktap_plan 12

if make_data "$DATA" "$MIB"; then
	ktap_pass "create $MIB MiB of random data"
else
	ktap_fail "create $MIB MiB of random data"
fi

before=$(devsim_stats)
ktap_check "devsim counters readable in the run directory" test -n "$before"
retrans_b=$(snmp a Tcp RetransSegs)
ofo_b=$(tcpext b TCPOFOQueue)
dsack_b=$(( $(tcpext b TCPDSACKOldSent) + $(tcpext b TCPDSACKOfoSent) ))

ktap_check "a->b $MIB MiB over the faulty wire: sha256 equal" xfer a b "$DATA"
ktap_diag "throughput a->b with faults: $XFER_RATE MB/s"

after=$(devsim_stats)
retrans_a=$(snmp a Tcp RetransSegs)
ofo_a=$(tcpext b TCPOFOQueue)
dsack_a=$(( $(tcpext b TCPDSACKOldSent) + $(tcpext b TCPDSACKOfoSent) ))

for port in 0 1; do
	eval "sent$port=\$(delta port$port.tx_packets \"\$before\" \"\$after\")"
	for f in wire_lost wire_reordered wire_duplicated wire_corrupted rx_csum_bad; do
		eval "${f}_$port=\$(delta port$port.$f \"\$before\" \"\$after\")"
	done
done
# shellcheck disable=SC2154 # set by the eval above
{
	ktap_diag "port0 (a->b data): $sent0 frames, lost $wire_lost_0 ($(pct "$wire_lost_0" "$sent0")%)," \
		"reordered $wire_reordered_0 ($(pct "$wire_reordered_0" "$sent0")%)," \
		"duplicated $wire_duplicated_0 ($(pct "$wire_duplicated_0" "$sent0")%)"
	ktap_diag "port1 (b->a ACKs): $sent1 frames, lost $wire_lost_1, reordered" \
		"$wire_reordered_1, duplicated $wire_duplicated_1"

	ktap_check "data direction: $LO%..$HI% of the frames lost (wire_lost)" \
		pct_within "$wire_lost_0" "$sent0" $LO $HI
	# Held frames count once overtaken; one held at the end of a burst
	# may leave on its deadline first, so only the upper bound is tight.
	ktap_check "data direction: frames reordered, at most $HI% (wire_reordered)" \
		pct_within "$wire_reordered_0" "$sent0" 0.01 $HI
	ktap_check "data direction: $LO%..$HI% of the frames duplicated (wire_duplicated)" \
		pct_within "$wire_duplicated_0" "$sent0" $LO $HI
	ktap_check "ACK direction: faults too (wire_lost, wire_duplicated)" \
		test "$wire_lost_1" -gt 0 -a "$wire_duplicated_1" -gt 0
	ktap_check "nothing corrupted, no bad checksum at either port" \
		test "$wire_corrupted_0" -eq 0 -a "$wire_corrupted_1" -eq 0 \
		-a "$rx_csum_bad_0" -eq 0 -a "$rx_csum_bad_1" -eq 0
}

ktap_diag "a Tcp RetransSegs +$((retrans_a - retrans_b)); b TcpExt TCPOFOQueue" \
	"+$((ofo_a - ofo_b)), D-SACKs sent +$((dsack_a - dsack_b))"
ktap_check "sender retransmitted (a Tcp RetransSegs moved)" test "$retrans_a" -gt "$retrans_b"
ktap_check "receiver queued out-of-order data (b TcpExt TCPOFOQueue moved)" \
	test "$ofo_a" -gt "$ofo_b"
ktap_check "receiver saw duplicates (b TcpExt TCPDSACKOldSent/OfoSent moved)" \
	test "$dsack_a" -gt "$dsack_b"

# Every frame port 0 put on the wire is accounted for at port 1: delivered
# to the guest or refused for lack of buffers, minus losses, plus copies.
rx1=$(( $(delta port1.rx_packets "$before" "$after") + $(delta port1.rx_no_buffer "$before" "$after") ))
wire0=$(( sent0 - $(delta port0.drop_no_peer "$before" "$after") - wire_lost_0 + wire_duplicated_0 ))
ktap_diag "port0 frames delivered by the wire $wire0, port1 received $rx1"
ktap_check "every frame on the wire accounted for at the receiving port" test "$rx1" -eq "$wire0"

rm -f "$DATA" "$DATA.sha256"
ktap_finish
