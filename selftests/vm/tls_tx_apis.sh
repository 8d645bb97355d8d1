#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The send paths of kernel TLS on device-offloaded sockets, each checked by
# two receivers nobody here wrote: the kernel's software kTLS (b's
# tls-hw-rx-offload off) and OpenSSL's own record layer (tlsnic-ktls
# --ktls none: SSL_read on a plain socket). a sends, TLS 1.2, with TLS TX
# and RX offload on eth0 and TLS TX offload on eth1:
#
#  - MSG_MORE (--send more: 4000-byte sends with MSG_MORE): equal hashes;
#    OpenSSL sees records of 16384 bytes, each built from several sends
#    (and records of 4000 bytes when the same sends go without MSG_MORE);
#  - splice from a pipe to the socket (--send splice, SPLICE_F_MORE);
#  - zerocopy sendfile (TLS_TX_ZEROCOPY_RO, which 6.1 honours only on
#    device-offloaded sockets: tls_device_sendpage() puts the file's pages
#    into the record instead of copying them): equal hashes; while the
#    transfer is paused, ss shows the socket with txconf hw and zc_ro_tx;
#  - control records (TLS_SET_RECORD_TYPE cmsg) in the middle of a
#    transfer, while MSG_MORE holds a data record open (the kernel must
#    close it first) and between zerocopy sendfile pages: software kTLS
#    returns each with its type in the recvmsg cmsg, byte for byte, after
#    exactly the data before it; OpenSSL reads the warning alert (its msg
#    callback) at the same place and the data around it intact. (With
#    --ctrl, tlsnic-ktls keys TLS_RX before TLS_TX: keyed the other way,
#    6.1 merges the open data record into the control record on a device
#    socket; docs/reliability.md.)
#
# Every connection: the sending socket was offloaded (TlsTxDevice +1,
# TlsTxSw +0 in netns a) and the device encrypted at least its payload
# (tx_tls_encrypted_packets/bytes). At the end: no drops, every context
# released, no kernel warning.
#
# tools/tlsnic-vm --timeout 1800 -- selftests/vm/tls_tx_apis.sh
# tlsnic-vm-args: --timeout 1800

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

BIG=/tmp/tls_tx_apis.big
SIZES=1,16385,2M
SIZES_BYTES=$((1 + 16385 + 2097152))
# a warning alert (user_canceled), a handshake message, a ChangeCipherSpec
CTRL=21:015a,22:0000000c0102030405060708090a0b0c,20:01
ALERT=21:015a

ktap_plan 24

setup() {
	ktx_prepare && make_data "$BIG" 4 || return 1
	feature eth0 tls-hw-tx-offload on && krx_offer eth0 &&
		feature eth1 tls-hw-tx-offload on && feature eth1 tls-hw-rx-offload off ||
		return 1
	[ "$(feature_state eth0 tls-hw-tx-offload)" = on ] &&
		[ "$(feature_state eth1 tls-hw-rx-offload)" = off ] ||
		{ fail_msg "cannot set up the offloads"; return 1; }
	ktx_warm_up
}
ktap_check "setup: TLS TX+RX offload on eth0, TX on eth1, b receives in software" setup

# run WHAT SERVER_ARGS CLIENT_ARGS MIN_BYTES: one connection; two results:
# equal hashes, and the sending socket offloaded.
run() {
	before=$(ktx_snap)
	if ktx_run "$2" "$3" && ktx_client_ktls_tx; then
		ktap_pass "$1: b gets every byte"
		ok=1
	else
		ktap_fail "$1: b gets every byte"
		ok=0
	fi
	after=$(ktx_snap)
	ktap_check "$1: a's socket offloaded, the device encrypted it" \
		ktx_offloaded "$1" "$before" "$after" "$4"
}

# records SIZE MIN MAX: the server (OpenSSL) read data records of at most
# SIZE bytes of plaintext, the largest exactly SIZE, MIN to MAX of them.
records() {
	_r_n=$(ktx_field "$KTX_OUT.s" ssl_records | tail -n 1)
	_r_max=$(ktx_field "$KTX_OUT.s" ssl_max_record | tail -n 1)
	ktap_diag "OpenSSL read $_r_n data records, the largest $_r_max bytes"
	[ "$ok" = 1 ] && [ "$_r_max" = "$1" ] && [ "$_r_n" -ge "$2" ] && [ "$_r_n" -le "$3" ] ||
		{ fail_msg "expected $2 to $3 records, the largest $1 bytes"; return 1; }
}

SW="--ktls setsockopt --bytes $SIZES"
SSL="--ktls none --bytes $SIZES"

run "MSG_MORE -> software kTLS" "$SW" "--send more --bytes $SIZES" $SIZES_BYTES
run "MSG_MORE -> OpenSSL" "$SSL" "--send more --bytes $SIZES" $SIZES_BYTES
# 2 MiB in 16 KiB records, the 1 and 16385 byte transfers, headers, trailers
ktap_check "MSG_MORE: OpenSSL got full records, each from several 4000-byte sends" \
	records 16384 $((SIZES_BYTES / 16384)) $((SIZES_BYTES / 16384 + 8))
# The same sends without MSG_MORE: a record each (what MSG_MORE changes).
if ktx_run "--ktls none --bytes 1M" "--send send --chunk 4000 --bytes 1M"; then ok=1; else ok=0; fi
ktap_check "without MSG_MORE: OpenSSL got a record per 4000-byte send" \
	records 4000 $((1048576 / 4000)) $((1048576 / 4000 + 8))

run "splice -> software kTLS" "$SW" "--send splice --bytes $SIZES" $SIZES_BYTES
run "splice -> OpenSSL" "$SSL" "--send splice --bytes $SIZES" $SIZES_BYTES

ZC="--send sendfile --zerocopy-sendfile --file $BIG"
SHA="--expect-sha256 $(cat "$BIG.sha256")"

# zerocopy_live: the paused sender's socket is in the device's hands with
# zerocopy sendfile on, as the kernel reports it (inet_diag TLS info).
zerocopy_live() {
	_zl=$(ip netns exec a ss -tni "dport = :$KTX_PORT" | grep 'tcp-ulp-tls')
	ktap_diag "ss: $(printf '%s' "$_zl" | sed 's/^[[:space:]]*//')"
	printf '%s' "$_zl" | grep -q 'txconf: hw' && printf '%s' "$_zl" | grep -q 'zc_ro_tx' ||
		{ fail_msg "the sending socket is not device TX with zc_ro_tx"; return 1; }
}

zerocopy_paused() {
	before=$(ktx_snap)
	ktx_start_offloaded_paused "--ktls setsockopt $SHA" "$ZC" $((1024 * 1024)) &&
		zerocopy_live || { ktx_abort_paused; return 1; }
	ktx_finish_paused && ktx_client_ktls_tx || return 1
	after=$(ktx_snap)
	ktx_offloaded "zerocopy sendfile" "$before" "$after" $((4 * 1024 * 1024))
}
ktap_check "zerocopy sendfile -> software kTLS: zc_ro_tx on a device socket, file intact" \
	zerocopy_paused
run "zerocopy sendfile -> OpenSSL" "--ktls none $SHA" "$ZC" $((4 * 1024 * 1024))

run "control records amid MSG_MORE -> software kTLS (type and bytes by cmsg)" \
	"$SW --ctrl $CTRL" "--send more --bytes $SIZES --ctrl $CTRL" $SIZES_BYTES
run "control records amid zerocopy sendfile -> software kTLS" \
	"--ktls setsockopt $SHA --ctrl $CTRL" "$ZC --ctrl $CTRL" $((4 * 1024 * 1024))
run "alert amid MSG_MORE -> OpenSSL" \
	"$SSL --ctrl $ALERT" "--send more --bytes $SIZES --ctrl $ALERT" $SIZES_BYTES

ktap_check "no frame dropped, no context refused" ktx_no_drops
ktap_check "every TX context released" ktx_wait_idle 10
ktap_check "every RX context of eth0 released" krx_wait_idle 10 eth0
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
rm -f "$BIG" "$BIG.sha256"

ktap_finish
