#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Wire capture (devsim --pcap): devsim writes every frame crossing the wire
# into the run directory, where the guest reads it while devsim keeps
# running. A TCP transfer a->b (TSO and checksum offload on) must show up
# in it as it was on the wire: tshark reassembles the stream
# (follow,tcp,raw) to bytes with the file's sha256, every TCP checksum in it
# verifies (the capture is taken after the device computed them), no frame
# is larger than the MTU (after the device's segmentation), and the file
# holds exactly the frames devsim counted in wire_captured, without write
# errors. Keep the capture with tools/tlsnic-vm --keep DIR (DIR/wire.pcap).
#
# tools/tlsnic-vm --devsim-args '--pcap @RUN@/wire.pcap --stats-file @RUN@/devsim.stats' -- selftests/vm/wire_capture.sh
# tlsnic-vm-args: --timeout 900 --devsim-args '--pcap @RUN@/wire.pcap --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

# tshark takes ~20 s to start in the emulated guest, and long to read: a
# few MiB keep the test within a few minutes.
MIB=${TLSNIC_CAPTURE_MIB:-4}
DATA=/tmp/wire_capture.data
PCAP=$WIRE_RUN/wire.pcap
OUT=/tmp/wire_capture.tshark
MTU=1500

ktap_plan 9

if make_data "$DATA" "$MIB"; then
	ktap_pass "create $MIB MiB of random data"
else
	ktap_fail "create $MIB MiB of random data"
fi

# The frame size checks below need this MTU and TSO on eth0.
mtu_tso() {
	set_mtu $MTU || return 1
	[ "$(feature_state eth0 tcp-segmentation-offload)" = on ] || feature eth0 tso on ||
		return 1
	[ "$(feature_state eth0 tcp-segmentation-offload)" = on ]
}
ktap_check "setup: MTU $MTU on both NICs, TSO on eth0" mtu_tso
before=$(devsim_stats)
ktap_check "devsim counters and the capture file in the run directory" \
	test -n "$before" -a -s "$PCAP"
eth0_b=$(stats eth0)

ktap_check "a->b $MIB MiB: sha256 equal" xfer a b "$DATA"
port=$XFER_PORT
eth0_a=$(stats eth0)

# One tshark pass (it is slow to start in the guest): a line per frame, with
# tshark's own checksum verdicts (1 = good), then the reassembled payload of
# the first TCP streams (the sender may have retried its connect).
after=$(devsim_stats)
follow=
i=0
while [ $i -lt 8 ]; do
	follow="$follow -z follow,tcp,raw,$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086 # $follow is a list of options
tshark -r "$PCAP" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields \
	-e frame.len -e tcp.srcport -e tcp.dstport -e tcp.checksum.status \
	-e ip.checksum.status $follow > "$OUT" 2> "$OUT.err"
rc=$?
later=$(devsim_stats)
grep -v 'Running as user "root"' "$OUT.err" | sed 's/^/# tshark: /'

sent=$(( $(delta port0.tx_packets "$before" "$after") - $(delta port0.drop_no_peer "$before" "$after") ))
captured=$(delta port0.wire_captured "$before" "$after")
errors=$(( $(devsim_value "$after" port0.wire_capture_errors) + $(devsim_value "$after" port1.wire_capture_errors) ))
total=$(( $(devsim_value "$after" port0.wire_captured) + $(devsim_value "$after" port1.wire_captured) ))
total_later=$(( $(devsim_value "$later" port0.wire_captured) + $(devsim_value "$later" port1.wire_captured) ))
# Frame lines come before the first follow block and all contain tabs.
frames=$(awk '/^Follow: / { exit } /\t/ { n++ } END { print n + 0 }' "$OUT")
ktap_diag "port0 sent $sent frames during the transfer, $captured captured;" \
	"tshark (status $rc) read $frames frames, wire_captured $total..$total_later, errors $errors"
ktap_check "every frame sent was captured, no write errors" \
	test "$captured" -eq "$sent" -a "$sent" -gt 0 -a "$errors" -eq 0
ktap_check "tshark reads exactly the frames wire_captured counts" \
	test "$rc" -eq 0 -a "$frames" -ge "$total" -a "$frames" -le "$total_later"

# The stream tshark reassembled from the capture is the file, byte for byte.
hashes=$(python3 - "$port" "$OUT" << 'EOF'
import hashlib
import sys

port, path = sys.argv[1], sys.argv[2]
blocks = []
with open(path) as f:
    for line in f:
        line = line.rstrip("\n")
        if line.startswith("Follow: "):
            blocks.append([None, hashlib.sha256()])
        elif blocks and line.startswith("Node 1: "):
            blocks[-1][0] = line[len("Node 1: "):]
        elif blocks and line and all(c in "0123456789abcdef" for c in line):
            # Node 0 (the connecting side, a) unindented; node 1 indented.
            blocks[-1][1].update(bytes.fromhex(line))
for node1, h in blocks:
    if node1 and node1.endswith(":" + port):
        print(h.hexdigest())
EOF
)
ktap_diag "a->b streams to port $port in the capture: $(echo $hashes)"
ktap_check "tshark follow,tcp,raw of the a->b stream: the file's sha256" \
	sh -c 'printf "%s\n" "$1" | grep -qx "$2"' - "$hashes" "$(cat "$DATA.sha256")"

# Checksums as the device wrote them, verified by tshark.
awk -v p="$port" '/^Follow: / { exit } $2 == p || $3 == p' "$OUT" > "$OUT.conn"
nsegs=$(wc -l < "$OUT.conn")
good=$(awk '$4 == 1 && $5 == 1' "$OUT.conn" | wc -l)
ktap_diag "$nsegs frames of the connection, $good with good TCP and IPv4 checksums"
ktap_check "every TCP and IPv4 checksum of the connection verifies in tshark" \
	test "$good" -eq "$nsegs" -a "$nsegs" -gt 0

big=$(awk -v max=$((MTU + 14)) '$1 > max' "$OUT.conn" | wc -l)
tso=$(delta tx_tso_packets "$eth0_b" "$eth0_a")
ktap_diag "eth0 tx_tso_packets +$tso; frames above $((MTU + 14)) bytes: $big"
ktap_check "segmented on the wire: TSO used, no frame above the MTU" \
	test "$tso" -gt 0 -a "$big" -eq 0

rm -f "$DATA" "$DATA.sha256" "$OUT" "$OUT.err" "$OUT.conn"
ktap_finish
