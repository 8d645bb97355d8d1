#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX and RX device offload on both ends of one connection at once:
# eth0 (netns a) and eth1 (netns b) with tls-hw-tx-offload and
# tls-hw-rx-offload on, tlsnic-ktls --dir both at each end (the client in a
# sends first, then the server in b, transfers of 1 B, 16 KiB + 1 and
# 16 MiB each way, alternating), AES-GCM-128 and -256:
#
#  - every transfer arrives with its sender's SHA-256, both ways;
#  - each end's socket took TX and RX offload (TlsTxDevice +1 and
#    TlsRxDevice +1 in netns a and in netns b, no software socket);
#  - on each port the device encrypted at least the payload it sent
#    (tx_tls_encrypted_bytes) and decrypted at least 90% of the payload it
#    received (rx_tls_decrypted_bytes), so both engines of both ports worked
#    on the same connection;
#  - every TX and RX context released after close, no kernel warning.
#
# tools/tlsnic-vm --timeout 1200 -- selftests/vm/tls_rx_bidir.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

SIZES=1,16385,16M
SIZES_BYTES=$((1 + 16385 + 16 * 1024 * 1024))

ktap_plan 11

ktap_check "setup: eth0 and eth1 offload TLS TX and RX, no context live" kboth_setup


# both_offloaded WHAT NS: netns NS's socket took TX and RX offload, its
# port encrypted what it sent and decrypted the bulk of what it received.
both_offloaded() {
	for c in TlsTxDevice TlsRxDevice TlsTxSw TlsRxSw TlsDecryptError \
		 tx_tls_encrypted_bytes rx_tls_decrypted_packets rx_tls_decrypted_bytes; do
		eval "d_$c=\$(delta $2.$c \"\$before\" \"\$after\")"
	done
	# shellcheck disable=SC2154 # set by the eval above
	{
		ktap_diag "$1, netns $2: TlsTxDevice +$d_TlsTxDevice TlsRxDevice +$d_TlsRxDevice TlsTxSw +$d_TlsTxSw TlsRxSw +$d_TlsRxSw TlsDecryptError +$d_TlsDecryptError tx_tls_encrypted_bytes +$d_tx_tls_encrypted_bytes rx_tls_decrypted_packets +$d_rx_tls_decrypted_packets bytes +$d_rx_tls_decrypted_bytes"
		[ "$d_TlsTxDevice" -eq 1 ] && [ "$d_TlsRxDevice" -eq 1 ] &&
			[ "$d_TlsTxSw" -eq 0 ] && [ "$d_TlsRxSw" -eq 0 ] ||
			{ fail_msg "netns $2: expected one socket offloaded both ways"; return 1; }
		[ "$d_TlsDecryptError" -eq 0 ] || { fail_msg "netns $2: TlsDecryptError moved"; return 1; }
		[ "$d_tx_tls_encrypted_bytes" -ge "$SIZES_BYTES" ] ||
			{ fail_msg "netns $2: device encrypted $d_tx_tls_encrypted_bytes bytes, expected >= $SIZES_BYTES"; return 1; }
		[ "$d_rx_tls_decrypted_packets" -gt 0 ] &&
			[ "$d_rx_tls_decrypted_bytes" -ge $((SIZES_BYTES * 9 / 10)) ] ||
			{ fail_msg "netns $2: device decrypted $d_rx_tls_decrypted_bytes bytes, expected >= $((SIZES_BYTES * 9 / 10))"; return 1; }
	}
}

for cipher in aes128gcm aes256gcm; do
	what="$cipher both ways, sizes $SIZES"
	args="--cipher $cipher --dir both --bytes $SIZES"
	before=$(kboth_snap)
	ktap_check "$what: sha256 equal at both ends" ktx_run "$args" "$args"
	after=$(kboth_snap)
	ktap_check "$what: a offloaded TX and RX" both_offloaded "$what" a
	ktap_check "$what: b offloaded TX and RX" both_offloaded "$what" b
done

idle() {
	ktx_wait_idle 10 && krx_wait_idle 10 eth0 && krx_wait_idle 10 eth1 || return 1
	[ "$(counter eth1 tx_tls_ctx)" = "$(counter eth1 tx_tls_del)" ] ||
		{ fail_msg "eth1: tx_tls_ctx $(counter eth1 tx_tls_ctx) tx_tls_del $(counter eth1 tx_tls_del)"; return 1; }
}
ktap_check "every TX and RX context released after close" idle
ktap_check "no RX TLS error on eth0 or eth1" eval 'krx_no_errors eth0 && krx_no_errors eth1'
ktap_check "no TLS TX frame dropped on eth0" ktx_no_drops
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
