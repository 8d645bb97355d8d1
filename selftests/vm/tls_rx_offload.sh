#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS RX device offload, a (software kTLS TX, tls-hw-tx-offload off on eth0)
# -> b (eth1, tls-hw-rx-offload on; the receiver keys kTLS RX with
# setsockopt and the kernel picks the device), TLS 1.2:
#
#  - AES-GCM-128 and -256, transfers of 1 B, 16 KiB + 1 and 64 MiB on one
#    connection, over IPv4 and over IPv6: b gets the sender's SHA-256 for
#    each, its socket took RX offload (TlsRxDevice +1, TlsRxSw +0 in netns
#    b), the device decrypted at least 90% of the payload
#    (rx_tls_decrypted_packets/bytes: the context starts behind data that
#    arrived before it was keyed), and no record failed (TlsDecryptError);
#  - ethtool -K eth1 tls-hw-rx-offload off: a new socket is software kTLS RX
#    (TlsRxSw), no RX context is created, the data still arrives intact;
#  - every RX context released after close, no RX error, no kernel warning.
#
# Without RX offload in device or driver, setup fails (tls-hw-rx-offload
# fixed off), TlsRxDevice stays 0 and the rx_tls_* counters are missing.
#
# tools/tlsnic-vm --timeout 1800 -- selftests/vm/tls_rx_offload.sh
# tlsnic-vm-args: --timeout 1800

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

SIZES=1,16385,64M
SIZES_BYTES=$((1 + 16385 + 67108864))

ktap_plan 15

ktap_check "setup: eth1 offloads TLS RX, a sends with software kTLS" krx_setup

for family in 4 6; do
	if [ $family = 4 ]; then KTX_DST=$ADDR_B; else KTX_DST="[$ADDR6_B]"; fi
	for cipher in aes128gcm aes256gcm; do
		what="IPv$family $cipher sizes $SIZES"
		before=$(krx_snap)
		if ktx_run "--cipher $cipher --bytes $SIZES" "--cipher $cipher --bytes $SIZES" &&
		   ktx_client_ktls_tx; then
			ktap_pass "$what: sha256 equal at b"
		else
			ktap_fail "$what: sha256 equal at b"
		fi
		after=$(krx_snap)
		ktap_check "$what: RX offloaded, device decrypted >= 90% of the payload" \
			krx_offloaded "$what" "$before" "$after" $((SIZES_BYTES * 9 / 10))
	done
done
KTX_DST=$ADDR_B

ktap_check "ethtool -K eth1 tls-hw-rx-offload on -> off" krx_switch_off
what="RX offload off, sizes 1,16385,16M"
before=$(krx_snap)
ktap_check "$what: sha256 equal at b" ktx_run "--bytes 1,16385,16M" "--bytes 1,16385,16M"
after=$(krx_snap)
ktap_check "$what: software kTLS RX, offload counters still" \
	krx_software "$what" "$before" "$after"

ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "no RX TLS error on eth1" krx_no_errors
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
