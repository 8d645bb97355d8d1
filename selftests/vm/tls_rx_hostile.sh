#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS RX device offload against a hostile peer that writes its own records.
# tools/build/tls-craft in netns a seals TLS 1.2 AES-GCM records with
# OpenSSL for a key, salt and record number given on its command line and
# writes them over plain TCP, each item in its own segments (it waits for
# the ACK of one before it writes the next); tls-craft in b keys its socket
# with the same key (TLS_RX, tls-hw-rx-offload on eth1, so the kernel gives
# the flow to the device) before a sends anything. Every case is three
# valid records (3000 bytes of data, an alert, 1000 bytes: in one
# segment, the record replay repeats), one bad item, then (where the
# stream can go on) three more valid records:
#
#   len-0, len-23   header length below nonce + tag     EBADMSG
#   len-max         length 65535 (1000 bytes follow)    EMSGSIZE
#   over-sealed     16617 plaintext bytes, sealed right  EMSGSIZE (> 2^14 + 24)
#   over-junk       length 16641, random body           EMSGSIZE
#   overrun         length 1000, 400 bytes, then FIN     end of file
#   trunc-3/-9      3 or 9 bytes of a header, then FIN   end of file
#   version-3.1     sealed with version 3.1             EINVAL
#   ct/tag/nonce    one byte of it flipped              EBADMSG
#   type            sealed as 23, header says 22        EBADMSG
#   replay          the previous record again           EBADMSG
#   tag-split       a 3029-byte record, tag flipped,     EBADMSG
#                   sent as 2000 + 1029 bytes
#
# (the errors are what 6.1's tls_rx_msg_size() and the decryption say;
# net/tls/tls_sw.c). For each case:
#
#  - reader: b reads exactly the plaintext of the valid records before the
#    bad item (cmp against what a sealed, and the alert with its type and
#    bytes), then the error above; nothing after it (reads after the error
#    give no data);
#  - device: the socket took RX offload (TlsRxDevice +1), and the bytes the
#    device marked decrypted (eth1's rx_tls_decrypted_bytes, counted from
#    the RX metadata) are exactly those of records whose tag verified, plus
#    for a bad record only the segments that end before its tag (a record's
#    first segments are marked as they are decrypted, as on mlx5; the
#    kernel re-encrypts them when the tag fails: tag-split): never a segment
#    that holds the end of a record that did not verify, nor a segment of
#    a header the device refused. devsim's engine counted the forged tag
#    (rx_tls_auth_fail) or the refused header (rx_tls_bad_record) and
#    verified exactly the records expected (rx_tls_records_ok). The kernel
#    counted a decryption error (TlsDecryptError) only where a tag failed;
#
# then the device keeps working: a valid stream of tls-craft records is
# offloaded whole, and a tlsnic-ktls connection (handshake, 8 MiB) arrives
# with equal hashes, RX-offloaded; every RX context released; no warning.
#
# tools/tlsnic-vm --timeout 1800 --devsim-args '--stats-file @RUN@/devsim.stats' -- selftests/vm/tls_rx_hostile.sh
# tlsnic-vm-args: --timeout 1800 --devsim-args '--stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

CRAFT="$TREE/tools/build/tls-craft"
OUT=/tmp/tls_rx_hostile
PORT=7600
PRE="data:3000 rec:21:2 data:1000"
POST="data:500 rec:22:4 data:700"

# name | bad item | reader's end | bytes of the bad item marked | records
# after it verified and marked (1) or not (0) | auth_fail | bad_record (0/1)
# | records verified in the bad item
CASES="len-0|len:0|EBADMSG|0|0|0|1|0
len-23|len:23|EBADMSG|0|0|0|1|0
len-max|len:65535:1000|EMSGSIZE|0|-|0|1|0
over-sealed|data:16617|EMSGSIZE|16646|1|0|0|1
over-junk|len:16641@16000|EMSGSIZE|16000|1|1|0|0
overrun|len:1000:400|eof|405|-|0|0|0
trunc-3|trunc:3|eof|3|-|0|0|0
trunc-9|trunc:9|eof|9|-|0|0|0
version-3.1|version:0301:500|EINVAL|0|0|0|1|0
ct|ct:500|EBADMSG|0|1|1|0|0
tag|tag:500|EBADMSG|0|1|1|0|0
nonce|nonce:500|EBADMSG|0|1|1|0|0
type|type:500|EBADMSG|0|1|1|0|0
replay|replay|EBADMSG|0|1|1|0|0
tag-split|tag:3000@2000|EBADMSG|2000|1|1|0|0"

NCASES=$(printf '%s\n' "$CASES" | wc -l)
ktap_plan $((2 * NCASES + 6))

setup() {
	[ -x "$CRAFT" ] || { fail_msg "$CRAFT missing; run make -C tools"; return 1; }
	krx_setup
}
ktap_check "setup: eth1 offloads TLS RX, tls-craft built" setup

# craft_run CIPHER ITEMS...: one tls-craft connection a -> b with a fresh
# key; output in $OUT.s (sender), $OUT.r (receiver), plaintext a sealed
# in $OUT.exp, what b read in $OUT.save.
craft_run() {
	_cr_cipher=$1
	shift
	PORT=$((PORT + 1))
	if [ "$_cr_cipher" = aes256gcm ]; then _cr_klen=32; else _cr_klen=16; fi
	_cr_keys="--cipher $_cr_cipher --key $(openssl rand -hex $_cr_klen) --iv $(openssl rand -hex 12) --seq $((PORT * 977))"
	rm -f "$OUT.exp" "$OUT.save"
	# shellcheck disable=SC2086 # key arguments
	ip netns exec b "$CRAFT" recv --listen "$ADDR_B:$PORT" $_cr_keys --timeout 60 \
		--save "$OUT.save" > "$OUT.r" 2> "$OUT.r.err" &
	_cr_rpid=$!
	# shellcheck disable=SC2086
	ip netns exec a "$CRAFT" send --connect "$ADDR_B:$PORT" $_cr_keys --timeout 60 \
		--seed "$PORT" --expect "$OUT.exp" "$@" > "$OUT.s" 2> "$OUT.s.err"
	_cr_sst=$?
	wait $_cr_rpid
	_cr_rst=$?
	if [ $_cr_sst -ne 0 ] || [ $_cr_rst -ne 0 ]; then
		sed 's/^/# sender: /' "$OUT.s" "$OUT.s.err"
		sed 's/^/# receiver: /' "$OUT.r" "$OUT.r.err"
		fail_msg "tls-craft failed (sender $_cr_sst, receiver $_cr_rst)"
		return 1
	fi
}

# field FILE PREFIX NAME: NAME= of FILE's line starting with PREFIX.
field() {
	sed -n "s/^$2.*[ ]$3=\([^ ]*\).*/\1/p" "$1" | tail -n 1
}

# reader_ok END: b read exactly what a sealed before its first bad item
# (control records included, with type and content), then END, then no
# more data.
reader_ok() {
	_ro_bytes=$(field "$OUT.s" "craft-send: expect" bytes)
	_ro_end=$(field "$OUT.r" "craft-recv: data" end)
	_ro_after=$(field "$OUT.r" "craft-recv: data" after)
	_ro_adata=$(field "$OUT.r" "craft-recv: data" after_data)
	ktap_diag "b read $(field "$OUT.r" "craft-recv: data" bytes) of $_ro_bytes bytes, then $_ro_end, then $_ro_after"
	if [ "$(field "$OUT.r" "craft-recv: data" sha256)" != "$(field "$OUT.s" "craft-send: expect" sha256)" ] ||
	   ! cmp -s "$OUT.save" "$OUT.exp"; then
		fail_msg "what b read is not the plaintext of the valid records before the bad one"
		return 1
	fi
	[ "$_ro_end" = "$1" ] || { fail_msg "b's reads ended with $_ro_end, expected $1"; return 1; }
	[ "$_ro_adata" = 0 ] ||
		{ fail_msg "b got $_ro_adata bytes after $_ro_end"; return 1; }
	# The valid control records before the bad item, as type:hex, in order.
	_ro_sent=$(awk '/^craft-send: item=/ { if ($0 ~ / valid=0/) exit;
		if (match($0, / ctrl=[^ ]*/)) print substr($0, RSTART + 6, RLENGTH - 6) }' "$OUT.s")
	_ro_got=$(sed -n 's/^craft-recv: record type=\([0-9]*\) len=[0-9]* hex=\([0-9a-f]*\)$/\1:\2/p' "$OUT.r")
	[ -n "$_ro_sent" ] && [ "$_ro_sent" = "$_ro_got" ] ||
		{ fail_msg "control records: sent '$_ro_sent', b got '$_ro_got'"; return 1; }
}

# craft_snap: krx_snap (eth1, netns b) and devsim's counters.
craft_snap() {
	krx_snap
	devsim_stats
}

# device_ok BEFORE AFTER EXTRA POST AUTH BAD OVER: see CASES.
device_ok() {
	_do_wire=$(field "$OUT.s" "craft-send: expect" valid_wire)
	_do_after=$(field "$OUT.s" "craft-send: expect" valid_wire_after)
	_do_nvalid=$(field "$OUT.s" "craft-send: expect" items_before_bad)
	_do_npost=$(grep -c '^craft-send: item=.* valid=1' "$OUT.s")
	_do_npost=$((_do_npost - _do_nvalid))
	_do_want=$((_do_wire + $3))
	_do_rec=$((_do_nvalid + $7))
	if [ "$4" = 1 ]; then
		_do_want=$((_do_want + _do_after))
		_do_rec=$((_do_rec + _do_npost))
	fi
	_do_dev=$(delta TlsRxDevice "$1" "$2")
	_do_sw=$(delta TlsRxSw "$1" "$2")
	_do_err=$(delta TlsDecryptError "$1" "$2")
	_do_by=$(delta rx_tls_decrypted_bytes "$1" "$2")
	_do_ok=$(delta port1.rx_tls_records_ok "$1" "$2")
	_do_auth=$(delta port1.rx_tls_auth_fail "$1" "$2")
	_do_bad=$(delta port1.rx_tls_bad_record "$1" "$2")
	ktap_diag "TlsRxDevice +$_do_dev TlsRxSw +$_do_sw TlsDecryptError +$_do_err rx_tls_decrypted_bytes +$_do_by (expected $_do_want)" \
		"devsim records_ok +$_do_ok (expected $_do_rec) auth_fail +$_do_auth bad_record +$_do_bad"
	[ "$_do_dev" = 1 ] && [ "$_do_sw" = 0 ] ||
		{ fail_msg "b's socket did not take RX offload"; return 1; }
	[ "$_do_by" = "$_do_want" ] ||
		{ fail_msg "the device marked $_do_by bytes decrypted, expected $_do_want"; return 1; }
	[ "$_do_ok" = "$_do_rec" ] && [ "$_do_auth" = "$5" ] ||
		{ fail_msg "devsim verified $_do_ok records with $_do_auth failed tags, expected $_do_rec and $5"; return 1; }
	if [ "$6" = 1 ]; then
		[ "$_do_bad" -ge 1 ] || { fail_msg "devsim refused no header"; return 1; }
	else
		[ "$_do_bad" = 0 ] || { fail_msg "devsim refused a header"; return 1; }
	fi
	# the kernel decrypted (and rejected) the bad record only if it took its header
	if [ "$5" = 1 ] && [ "$(field "$OUT.r" "craft-recv: data" end)" = EBADMSG ]; then
		[ "$_do_err" -gt 0 ] || { fail_msg "TlsDecryptError did not move"; return 1; }
	else
		[ "$_do_err" = 0 ] || { fail_msg "TlsDecryptError moved"; return 1; }
	fi
}

i=0
snap=$(craft_snap)
printf '%s\n' "$CASES" > "$OUT.cases"
while IFS='|' read -r name item end extra post auth bad over; do
	i=$((i + 1))
	if [ $((i % 2)) = 0 ]; then cipher=aes256gcm; else cipher=aes128gcm; fi
	if [ "$post" = - ]; then items="$PRE $item"; else items="$PRE $item $POST"; fi
	before=$snap
	# shellcheck disable=SC2086 # item list
	if craft_run $cipher $items; then
		ktap_check "$name ($cipher): b reads the valid records, then $end" reader_ok "$end"
		ran=1
	else
		ktap_fail "$name ($cipher): b reads the valid records, then $end"
		ran=0
	fi
	snap=$(craft_snap)
	if [ $ran = 1 ]; then
		ktap_check "$name: only verified records marked decrypted, device counted it" \
			device_ok "$before" "$snap" "$extra" "$post" "$auth" "$bad" "$over"
	else
		ktap_fail "$name: only verified records marked decrypted, device counted it"
	fi
done < "$OUT.cases"

good_craft() {
	before=$(craft_snap)
	craft_run aes256gcm $PRE data:16384 data:1 rec:21:2 data:9000 || return 1
	after=$(craft_snap)
	reader_ok eof && device_ok "$before" "$after" 0 0 0 0 0
}
ktap_check "afterwards: a valid tls-craft stream is offloaded whole" good_craft

good_ktls() {
	before=$(krx_snap)
	ktx_run "--bytes 8M" "--bytes 8M" && ktx_client_ktls_tx || return 1
	after=$(krx_snap)
	krx_offloaded "tlsnic-ktls 8 MiB" "$before" "$after" $((8 * 1024 * 1024 * 9 / 10))
}
ktap_check "afterwards: a TLS connection is RX-offloaded with equal hashes" good_ktls

ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "eth1 counted no RX offload error" krx_no_errors
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
rm -f "$OUT".*

ktap_finish
