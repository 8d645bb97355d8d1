#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One TLS 1.2 connection longer than 2^31 bytes, a (software kTLS TX) -> b
# (eth1, tls-hw-rx-offload on):
#
#  - 2560 MiB of generated data as one transfer (streamed, no file): b's
#    SHA-256 of the stream equals the sender's, so every record the device
#    marked decrypted past stream offset 2^31 (and TCP sequence wrap-around,
#    which a 2^32-byte sequence space reaches from a random start with
#    probability > 1/2) was the right plaintext;
#  - the socket stayed RX-offloaded the whole way: TlsRxDevice +1, TlsRxSw
#    +0, the device decrypted at least 90% of the payload;
#  - no RX error, the RX context released after close, no kernel warning.
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

ktap_plan 6

ktap_check "setup: eth1 offloads TLS RX, a sends with software kTLS" krx_setup

what="$SIZE ($BYTES bytes) on one RX-offloaded connection"
before=$(krx_snap)
t0=$(date +%s)
# The sender hashes the whole stream before it sends a byte, which takes
# minutes under TCG: the receiver must wait that long for its first data.
if ktx_run "--bytes $SIZE --timeout 1800" "--bytes $SIZE --timeout 1800" &&
   ktx_client_ktls_tx; then
	ktap_pass "$what: sha256 equal at b"
else
	ktap_fail "$what: sha256 equal at b"
fi
ktap_diag "$what: sender ${KTX_MBPS:-?} Mbit/s, $(($(date +%s) - t0)) s for the connection"
after=$(krx_snap)
for c in rx_tls_resync_req_pkt rx_tls_resync_res_ok rx_tls_resync_res_skip; do
	ktap_diag "$c +$(delta $c "$before" "$after")"
done
ktap_check "$what: RX offloaded throughout, device decrypted >= 90% of it" \
	krx_offloaded "$what" "$before" "$after" $((BYTES * 9 / 10))

ktap_check "no RX TLS error on eth1" krx_no_errors
ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
