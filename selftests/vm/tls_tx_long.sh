#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One TLS 1.2 connection longer than 2^32 bytes, offloaded on a (eth0,
# tls-hw-tx-offload on) to b (software kTLS RX):
#
#  - 4352 MiB of generated data as one transfer: b's software kTLS decrypts
#    every record and its SHA-256 of the stream equals the sender's, so the
#    device encrypted correctly past stream offsets 2^31 and 2^32 (a 32-bit
#    stream position sent plaintext there, and b failed with EBADMSG at
#    byte 2,142,793,517);
#  - the socket stayed offloaded the whole way (TlsTxDevice +1, TlsTxSw +0,
#    tx_tls_encrypted_bytes >= the payload);
#  - no tx_tls_drop_* counter, tx0_drops or refused context on eth0, the
#    device context released after close, no kernel warning.
#
# The sender's rate and the connection's duration are printed as
# diagnostics. TLSNIC_TLS_LONG_BYTES overrides the size (K/M/G suffixes);
# below 2^32 the test proves less.
#
# tools/tlsnic-vm --timeout 3600 -- selftests/vm/tls_tx_long.sh
# tlsnic-vm-args: --timeout 3600

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

SIZE=${TLSNIC_TLS_LONG_BYTES:-4352M}
BYTES=$(size_bytes "$SIZE")

ktap_plan 6

ktap_check "setup: eth0 offloads TLS TX, eth1 does not" ktx_setup

what="$SIZE ($BYTES bytes) on one offloaded connection"
before=$(ktx_snap)
t0=$(date +%s)
if ktx_run "--bytes $SIZE" "--bytes $SIZE" && ktx_client_ktls_tx; then
	ktap_pass "$what: sha256 equal at b"
else
	ktap_fail "$what: sha256 equal at b"
fi
ktap_diag "$what: sender ${KTX_MBPS:-?} Mbit/s, $(($(date +%s) - t0)) s for the connection"
after=$(ktx_snap)
for c in tx_tls_ooo tx_tls_resync_bytes tx_tso_packets; do
	ktap_diag "$c +$(delta $c "$before" "$after")"
done
ktap_check "$what: offloaded throughout, device encrypted every byte" \
	ktx_offloaded "$what" "$before" "$after" "$BYTES"

ktap_check "no TLS frame dropped, no context refused" ktx_no_drops
ktap_check "every device context released after close" ktx_wait_idle 10
ktap_check "no kernel warning" ktx_dmesg_clean

ktap_finish
