#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TCP over a wire that flips one payload bit in 1% of the frames and leaves
# their checksums as they were (devsim --corrupt 1 --seed 7). A 64 MiB
# transfer a->b must still arrive with the sender's sha256: the receiving
# device must not vouch for a corrupted frame (rx_csum_bad at port 1 equals
# wire_corrupted at port 0, and the driver hands them up without
# CHECKSUM_UNNECESSARY), so the guest kernel verifies the checksum, drops
# the segment (Tcp InCsumErrors) and TCP retransmits it.
#
# tools/tlsnic-vm --devsim-args '--corrupt 1 --seed 7 --stats-file @RUN@/devsim.stats' -- selftests/vm/wire_corrupt.sh
# tlsnic-vm-args: --timeout 1200 --devsim-args '--corrupt 1 --seed 7 --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

MIB=${TLSNIC_XFER_MIB:-64}
DATA=/tmp/wire_corrupt.data
# 1% of tens of thousands of frames: these bounds are over 10 sigma wide.
LO=0.5
HI=1.5

ktap_plan 10

if make_data "$DATA" "$MIB"; then
	ktap_pass "create $MIB MiB of random data"
else
	ktap_fail "create $MIB MiB of random data"
fi

before=$(devsim_stats)
ktap_check "devsim counters readable in the run directory" test -n "$before"
rx_csum_on() {
	feature eth1 rx on && [ "$(feature_state eth1 rx-checksumming)" = on ]
}
ktap_check "eth1 receive checksum offload on" rx_csum_on
csumerr_b=$(snmp b Tcp InCsumErrors)
retrans_b=$(snmp a Tcp RetransSegs)
eth1_b=$(stats eth1)

ktap_check "a->b $MIB MiB over the corrupting wire: sha256 equal" xfer a b "$DATA"
ktap_diag "throughput a->b with corruption: $XFER_RATE MB/s"

after=$(devsim_stats)
csumerr_a=$(snmp b Tcp InCsumErrors)
retrans_a=$(snmp a Tcp RetransSegs)
eth1_a=$(stats eth1)

sent=$(delta port0.tx_packets "$before" "$after")
corrupted=$(delta port0.wire_corrupted "$before" "$after")
bad=$(delta port1.rx_csum_bad "$before" "$after")
ok=$(delta port1.rx_csum_ok "$before" "$after")
lost=$(( $(delta port1.rx_no_buffer "$before" "$after") + $(delta port1.rx_flushed "$before" "$after") ))
others=$(( $(delta port0.wire_lost "$before" "$after") + $(delta port0.wire_duplicated "$before" "$after") +
	$(delta port0.wire_reordered "$before" "$after") + $(delta port1.wire_corrupted "$before" "$after") ))
csum_none=$(delta rx_csum_none "$eth1_b" "$eth1_a")
csumerr=$((csumerr_a - csumerr_b))

ktap_diag "port0: $sent frames, corrupted $corrupted ($(pct "$corrupted" "$sent")%);" \
	"port1: rx_csum_bad +$bad, rx_csum_ok +$ok, frames lost for buffers +$lost"
ktap_diag "eth1 rx_csum_none +$csum_none; b Tcp InCsumErrors +$csumerr;" \
	"a Tcp RetransSegs +$((retrans_a - retrans_b))"

ktap_check "$LO%..$HI% of the data frames corrupted (wire_corrupted)" \
	pct_within "$corrupted" "$sent" $LO $HI
ktap_check "only corruption: no loss, dup or reorder; ACKs (no payload) untouched" \
	test "$others" -eq 0
ktap_check "receiving device flagged every corrupted frame (rx_csum_bad = wire_corrupted)" \
	test "$bad" -eq "$corrupted"
ktap_check "driver passed them up unverified (eth1 rx_csum_none >= wire_corrupted)" \
	test "$csum_none" -ge "$corrupted"
# Frames the device could not hand to the guest never reach its TCP.
ktap_check "receiver's kernel dropped each one it got (b Tcp InCsumErrors)" \
	test "$csumerr" -le "$corrupted" -a "$csumerr" -ge $((corrupted - lost)) \
	-a "$csumerr" -gt 0
ktap_check "sender retransmitted (a Tcp RetransSegs moved)" test "$retrans_a" -gt "$retrans_b"

rm -f "$DATA" "$DATA.sha256"
ktap_finish
