#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One TLS 1.2 connection longer than 2^31 bytes, a (eth0, tls-hw-tx-offload
# on) -> b (eth1, tls-hw-rx-offload on):
#
#  - 2560 MiB of generated data as one transfer (streamed, no file): b's
#    SHA-256 of the stream equals the sender's, so every record the device
#    marked decrypted past stream offset 2^31 (and TCP sequence wrap-around,
#    which a 2^32-byte sequence space reaches from a random start with
#    probability > 1/2) was the right plaintext;
#  - the socket stayed RX-offloaded the whole way: TlsRxDevice +1, TlsRxSw
#    +0, the device decrypted at least 90% of the payload; and the sender's
#    stayed TX-offloaded (TlsTxDevice +1, TlsTxSw +0);
#  - no RX error, both contexts released after close, no kernel warning.
#
# The sender offloads too because software encryption under TCG is what
# made this test slow, not because it proves more: what the device's TX
# offload puts on the wire past 2^31 and 2^32 is checked against software
# kTLS by tls_tx_long.sh, so b's device decrypts the same records software
# kTLS would have sent, and a wrong decryption still fails the hash (and
# the tag: nothing fails authentication silently, TlsDecryptError stays 0).
#
# The sender's rate and the connection's duration are printed as
# diagnostics. TLSNIC_TLS_LONG_BYTES overrides the size (K/M/G suffixes);
# below 2^31 the test proves less.
#
# tools/tlsnic-vm --timeout 3600 -- selftests/vm/tls_rx_long.sh
# tlsnic-vm-args: --timeout 3600

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

SIZE=${TLSNIC_TLS_LONG_BYTES:-2560M}
BYTES=$(size_bytes "$SIZE")

# kboth_idle: neither port holds a context of the connection any more.
kboth_idle() {
	krx_wait_idle 10 && ktx_wait_idle 10
}

ktap_plan 7

ktap_check "setup: eth0 offloads TLS TX, eth1 TLS RX" kboth_setup

what="$SIZE ($BYTES bytes) on one offloaded connection"
before_tx=$(ktx_snap)
before=$(krx_snap)
t0=$(date +%s)
if ktx_run "--bytes $SIZE --timeout 1800" "--bytes $SIZE --timeout 1800" &&
   ktx_client_ktls_tx; then
	ktap_pass "$what: sha256 equal at b"
else
	ktap_fail "$what: sha256 equal at b"
fi
ktap_diag "$what: sender ${KTX_MBPS:-?} Mbit/s, $(($(date +%s) - t0)) s for the connection"
after=$(krx_snap)
after_tx=$(ktx_snap)
for c in rx_tls_resync_req_pkt rx_tls_resync_res_ok rx_tls_resync_res_skip; do
	ktap_diag "$c +$(delta $c "$before" "$after")"
done
ktap_check "$what: RX offloaded throughout, device decrypted >= 90% of it" \
	krx_offloaded "$what" "$before" "$after" $((BYTES * 9 / 10))
ktap_check "$what: the sender's device encrypted it" \
	ktx_offloaded "$what" "$before_tx" "$after_tx" "$BYTES"

ktap_check "no RX TLS error on eth1" krx_no_errors
ktap_check "both contexts released after close" kboth_idle
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
