#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS 1.3 with TLS TX and RX offload on at both ports: the connection runs
# in software kTLS and the device is never asked.
#
# tlsnic offloads TLS 1.2 only, but on Debian 12's 6.1 kernel the refusal
# is the kernel's, not the driver's: tls_set_device_offload() and
# tls_set_device_offload_rx() (net/tls/tls_device.c) return -EOPNOTSUPP for
# any crypto_info->version other than TLS_1_2_VERSION before looking up the
# netdev, so tls_dev_add is never called and kTLS falls back to software
# (TlsTxSw/TlsRxSw). So the driver counts nothing: tx_tls_ctx,
# tx_tls_ctx_err, tx_tls_ctx_unsupported, rx_tls_ctx and rx_tls_err stay
# still. (Were the kernel to call tls_dev_add for TLS 1.3, the driver would
# refuse it with -EOPNOTSUPP and count tx_tls_ctx_unsupported on TX and
# rx_tls_err on RX, and the no-context check below would fail.)
#
#  - a -> b and b -> a, 16 MiB each way on one connection (--tls 1.3,
#    --dir both, keyed with --ktls setsockopt): sha256 equal at both ends;
#  - TlsTxSw +1 and TlsRxSw +1 in netns a and b, TlsTxDevice and
#    TlsRxDevice +0: both ends stayed in software;
#  - no TX or RX context created, no refusal counted, nothing encrypted or
#    decrypted by the device;
#  - a TLS 1.2 connection right after is offloaded both ways (the ports
#    did offload; the TLS 1.3 socket was not a port that could not).
#
# tools/tlsnic-vm --timeout 1200 -- selftests/vm/tls13_software.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

ktap_plan 7

ktap_check "setup: eth0 and eth1 offload TLS TX and RX, no context live" kboth_setup


# sockets NS TXDEV RXDEV TXSW RXSW: netns NS's tls_stat deltas.
sockets() {
	for c in TlsTxDevice TlsRxDevice TlsTxSw TlsRxSw; do
		eval "d_$c=\$(delta $1.$c \"\$before\" \"\$after\")"
	done
	# shellcheck disable=SC2154 # set by the eval above
	ktap_diag "netns $1: TlsTxDevice +$d_TlsTxDevice TlsRxDevice +$d_TlsRxDevice TlsTxSw +$d_TlsTxSw TlsRxSw +$d_TlsRxSw"
	[ "$d_TlsTxDevice" -eq "$2" ] && [ "$d_TlsRxDevice" -eq "$3" ] &&
		[ "$d_TlsTxSw" -eq "$4" ] && [ "$d_TlsRxSw" -eq "$5" ] ||
		{ fail_msg "netns $1: expected TX/RX device +$2/+$3, software +$4/+$5"; return 1; }
}

# untouched: neither port created a context, refused one or moved data.
untouched() {
	bad=0
	for p in a b; do
		for c in tx_tls_ctx tx_tls_ctx_err tx_tls_ctx_unsupported \
			 tx_tls_encrypted_packets rx_tls_ctx rx_tls_err \
			 rx_tls_decrypted_packets; do
			d=$(delta $p.$c "$before" "$after")
			ktap_diag "port of $p: $c +$d"
			[ "$d" = 0 ] || bad=1
		done
	done
	return $bad
}

args="--tls 1.3 --dir both --bytes 16M"
before=$(kboth_snap)
ktap_check "TLS 1.3, 16 MiB both ways: sha256 equal at both ends" ktx_run "$args" "$args"
after=$(kboth_snap)
ktap_check "TLS 1.3: a in software kTLS TX and RX" sockets a 0 0 1 1
ktap_check "TLS 1.3: b in software kTLS TX and RX" sockets b 0 0 1 1
ktap_check "TLS 1.3: no device context asked for, none refused" untouched

args="--tls 1.2 --dir both --bytes 1M"
before=$(kboth_snap)
if ktx_run "$args" "$args"; then
	after=$(kboth_snap)
	ktap_check "TLS 1.2 next: offloaded TX and RX at both ends" \
		eval 'sockets a 1 1 0 0 && sockets b 1 1 0 0'
else
	ktap_fail "TLS 1.2 next: offloaded TX and RX at both ends"
fi
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
