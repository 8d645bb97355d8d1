#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A capture of TLS the device encrypted decrypts with the session keys:
# devsim (--pcap) records the wire while a (eth0, TLS TX offload)
# sends a file to b over TLS 1.2, once with AES-GCM-128 and once with
# AES-GCM-256, the client writing an SSLKEYLOGFILE. tshark, given the key
# log, decrypts the captured records back to the file (sha256), so the
# device's records are valid TLS byte for byte as they crossed the wire,
# and no piece of the file appears in the clear in the TCP stream.
#
# The capture and key log stay in the run directory: with tools/tlsnic-vm
# --keep DIR, decrypt them on the host with
#   tshark -r DIR/wire.pcap -o tls.keylog_file:DIR/keylog.txt -d tcp.port==PORT,tls
#
# tools/tlsnic-vm --devsim-args '--pcap @RUN@/wire.pcap --stats-file @RUN@/devsim.stats' -- selftests/vm/wire_tls_capture.sh
# tlsnic-vm-args: --timeout 900 --devsim-args '--pcap @RUN@/wire.pcap --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

DATA=/tmp/wire_tls_capture.data
PCAP=$WIRE_RUN/wire.pcap
KEYLOG=$WIRE_RUN/keylog.txt
OUT=/tmp/wire_tls_capture.tshark
CIPHERS="aes128gcm aes256gcm"

ktap_plan 8

rm -f "$KEYLOG"
if ktx_setup && make_data "$DATA" 1; then
	ktap_pass "setup: eth0 offloads TLS TX, eth1 does not, 1 MiB file"
else
	ktap_fail "setup: eth0 offloads TLS TX, eth1 does not, 1 MiB file"
fi
size=$(stat -c %s "$DATA")

ports=
pairs=
for cipher in $CIPHERS; do
	before=$(ktx_snap)
	ok=1
	ktx_run "--bytes $size --cipher $cipher --expect-sha256 $(cat "$DATA.sha256")" \
		"--file $DATA --cipher $cipher --keylog $KEYLOG" && ktx_client_ktls_tx || ok=0
	after=$(ktx_snap)
	enc=$(delta tx_tls_encrypted_packets "$before" "$after")
	dev=$(delta TlsTxDevice "$before" "$after")
	ktap_diag "$cipher: port $KTX_PORT, TlsTxDevice +$dev, tx_tls_encrypted_packets +$enc"
	ports="$ports $KTX_PORT"
	pairs="$pairs $cipher:$KTX_PORT"
	ktap_check "$cipher: 1 MiB a->b, encrypted by the device" \
		test "$ok" = 1 -a "$dev" -eq 1 -a "$enc" -gt 0
done

# One tshark pass (it is slow to start in the guest): streams and ports per
# frame, then each stream's decrypted TLS payload and raw TCP payload.
decode=
follow=
for port in $ports; do
	decode="$decode -d tcp.port==$port,tls"
done
i=0
while [ $i -lt 10 ]; do
	follow="$follow -z follow,tls,raw,$i -z follow,tcp,raw,$i"
	i=$((i + 1))
done
# Read the capture after devsim flushed it (devsim_stats returns after a
# stats rewrite, which devsim does right after flushing); should a
# connection still be missing from it, read it again after the next flush.
tries=0
while :; do
tries=$((tries + 1))
devsim_stats > /dev/null ||
	ktap_diag "capture read $tries: devsim did not rewrite its stats (flush) in time"
# shellcheck disable=SC2086 # option lists
tshark -r "$PCAP" -o "tls.keylog_file:$KEYLOG" $decode -T fields -e tcp.stream \
	-e tcp.srcport -e tcp.dstport $follow > "$OUT" 2> "$OUT.err"
rc=$?
grep -v 'Running as user "root"' "$OUT.err" | sed 's/^/# tshark: /'

# For each port: "PORT SHA256-OF-THE-DECRYPTED-FILE CLEAR-SLICES RAW-BYTES",
# where the decrypted a->b data is tlsnic-ktls's framing (24-byte header,
# payload, SHA-256 trailer), CLEAR-SLICES counts 64-byte pieces of the file
# found in the raw a->b TCP stream and RAW-BYTES is that stream's length.
python3 - "$OUT" "$DATA" $ports > "$OUT.res" << 'EOF'
import hashlib
import sys

path, data_path, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
data = open(data_path, "rb").read()
stream_ports = {}
blocks = {}             # (tls|tcp, stream) -> bytes from node 0 (a)
cur = None
with open(path) as f:
    for line in f:
        line = line.rstrip("\n")
        if line.startswith("Follow: "):
            cur = [line.split()[1].split(",")[0], None, bytearray()]
        elif cur is not None and line.startswith("Filter: tcp.stream eq "):
            cur[1] = int(line.split()[-1])
            blocks[(cur[0], cur[1])] = cur[2]
        elif cur is not None:
            # Node 0 (the client, a) unindented; node 1 indented.
            if line and all(c in "0123456789abcdef" for c in line):
                cur[2] += bytes.fromhex(line)
        elif "\t" in line:
            fields = line.split("\t")
            if fields[0]:
                stream_ports.setdefault(int(fields[0]), set()).update(fields[1:])
for port in ports:
    shas, clear, raw_len = [], 0, 0
    for stream, seen in sorted(stream_ports.items()):
        if port not in seen:
            continue
        plain = bytes(blocks.get(("tls", stream), b""))
        raw = bytes(blocks.get(("tcp", stream), b""))
        raw_len += len(raw)
        if plain[:8] == b"TLSNKTL1":
            shas.append(hashlib.sha256(plain[24:24 + len(data)]).hexdigest())
        for off in range(0, len(data) - 64, len(data) // 64):
            clear += data[off:off + 64] in raw
        clear += b"TLSNKTL1" in raw
    print(port, ",".join(shas) or "none", clear, raw_len)
EOF
missing=
for port in $ports; do
	awk -v p="$port" '$1 == p && $4 > 0 { f = 1 } END { exit !f }' "$OUT.res" ||
		missing="$missing $port"
done
if [ -z "$missing" ] || [ $tries -ge 5 ]; then
	break
fi
ktap_diag "capture read $tries: no TCP stream yet for port(s)$missing, reading again"
done
ktap_check "tshark read the capture with the key log (exit status $rc)" test "$rc" -eq 0
sed 's/^/# decrypted: /' "$OUT.res"

want=$(cat "$DATA.sha256")
for pair in $pairs; do
	cipher=${pair%%:*}
	port=${pair#*:}
	# shellcheck disable=SC2046 # two words
	set -- $(awk -v p="$port" '$1 == p { print $2, $3, $4 }' "$OUT.res")
	ktap_check "$cipher: tshark decrypts the captured records to the file (sha256)" \
		test "${1:-none}" = "$want"
	ktap_check "$cipher: no piece of the file in the clear in the $((${3:-0} / 1024)) KiB TCP stream" \
		test "${2:-1}" -eq 0 -a "${3:-0}" -gt "$size"
done

rm -f "$DATA" "$DATA.sha256" "$OUT" "$OUT.err" "$OUT.res"
ktap_finish
