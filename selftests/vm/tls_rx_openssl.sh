#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS RX device offload against OpenSSL, TLS 1.2, eth1 (netns b)
# tls-hw-rx-offload on, eth0 TLS TX offload off:
#
#  - records made by userspace OpenSSL: a sends with plain SSL_write
#    (tlsnic-ktls --ktls none), b receives on kTLS RX keyed with setsockopt,
#    AES-GCM-128 and -256: b gets the sender's SHA-256 and the device
#    decrypted the bulk of it (TlsRxDevice +1, rx_tls_decrypted_bytes);
#  - OpenSSL keying kTLS RX itself (SSL_OP_ENABLE_KTLS) after it has read
#    ahead past the handshake: b is the client (SSL_set_read_ahead, and it
#    waits after its Finished until the server's data is queued), a the
#    server, which sends 100 bytes right after the handshake and is held
#    there (--pause-after, server side) until b's socket is keyed; then it
#    sends the rest. OpenSSL has records after its Finished buffered when it
#    hands RX to the kernel (prebuffered= in b's result with --recv recv),
#    the kernel continues behind them and the device takes over: hashes
#    equal, OpenSSL enabled kTLS RX (ktls_rx=1), RX offloaded. Once with
#    b reading through recv(2) after draining OpenSSL, once through
#    SSL_read;
#  - every RX context released after close, no RX error, no kernel warning.
#
# tools/tlsnic-vm --timeout 1200 -- selftests/vm/tls_rx_openssl.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

SIZES=1,16385,16M
SIZES_BYTES=$((1 + 16385 + 16 * 1024 * 1024))
MIB16=$((16 * 1024 * 1024))

ktap_plan 14

ktap_check "setup: eth1 offloads TLS RX, a sends with software kTLS" krx_setup

for cipher in aes128gcm aes256gcm; do
	what="$cipher from OpenSSL SSL_write (--ktls none)"
	before=$(krx_snap)
	ktap_check "$what: sha256 equal at b" \
		ktx_run "--cipher $cipher --bytes $SIZES" "--cipher $cipher --ktls none --bytes $SIZES"
	after=$(krx_snap)
	ktap_check "$what: RX offloaded, device decrypted >= 90% of the payload" \
		krx_offloaded "$what" "$before" "$after" $((SIZES_BYTES * 9 / 10))
done

# rx_keyed BEFORE: netns b keyed one more kTLS RX socket since BEFORE.
rx_keyed() {
	now=$(krx_snap)
	[ $(($(delta TlsRxDevice "$1" "$now") + $(delta TlsRxSw "$1" "$now"))) -gt 0 ]
}

# read_ahead_run RECV: the server in a sends 16 MiB, held after 100 bytes
# until the client in b (OpenSSL, read-ahead, SSL_OP_ENABLE_KTLS) has kTLS
# RX keyed; the client reads with RECV (recv or ssl).
read_ahead_run() {
	rm -rf "$KTX_BARRIER"
	mkdir -p "$KTX_BARRIER" || return 1
	KTX_SERVER_NS=a
	KTX_CLIENT_NS=b
	KTX_DST=$ADDR_A
	KTX_PAUSE=100
	ktx_start "--dir tx --bytes 16M --pause-after $KTX_PAUSE --barrier $KTX_BARRIER" \
		"--dir rx --ktls openssl --read-ahead --recv $1 --bytes 16M"
	KTX_PAUSED=1
	KTX_SERVER_NS=b
	KTX_CLIENT_NS=a
	KTX_DST=$ADDR_B
	if ! wait_for_file "$KTX_BARRIER/reached" 120 "$KTX_SPID" ||
	   ! wait_until 60 "b's OpenSSL did not key kTLS RX" rx_keyed "$before"; then
		ktx_abort_paused
		sed 's/^/# server: /' "$KTX_OUT.s" "$KTX_OUT.s.err"
		return 1
	fi
	ktx_finish_paused
}

# openssl_ktls_rx MIN_PREBUFFERED: b's result says OpenSSL keyed kTLS RX,
# with at least MIN_PREBUFFERED plaintext bytes it had read ahead.
openssl_ktls_rx() {
	rx=$(ktx_field "$KTX_OUT.c" ktls_rx)
	pre=$(ktx_field "$KTX_OUT.c" prebuffered)
	ktap_diag "b: ktls_rx=$rx prebuffered=$pre"
	[ "$rx" = 1 ] || { fail_msg "OpenSSL did not key kTLS RX"; return 1; }
	[ "${pre:-0}" -ge "$1" ] ||
		{ fail_msg "OpenSSL had $pre bytes read ahead, expected >= $1"; return 1; }
}

for recv in recv ssl; do
	what="OpenSSL keys kTLS RX after reading ahead, reads with $recv"
	before=$(krx_snap)
	ktap_check "$what: sha256 equal at b" read_ahead_run $recv
	after=$(krx_snap)
	if [ $recv = recv ]; then
		# the stream header (24 bytes) and the first 100 bytes
		ktap_check "$what: kTLS RX keyed by OpenSSL behind records it had read" \
			openssl_ktls_rx 124
	else
		ktap_check "$what: kTLS RX keyed by OpenSSL" openssl_ktls_rx 0
	fi
	ktap_check "$what: RX offloaded, device decrypted >= 90% of the payload" \
		krx_offloaded "$what" "$before" "$after" $((MIB16 * 9 / 10))
done

ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "no RX TLS error on eth1" krx_no_errors
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
