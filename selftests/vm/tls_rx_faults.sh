#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS RX device offload over a faulty wire: devsim loses, reorders and
# duplicates 1% of the frames each way (--loss 1 --reorder 1 --dup 1, fixed
# --seed). a sends 64 MiB with software kTLS TX on one connection; b
# receives on eth1 with tls-hw-rx-offload on. The sender is held after
# 32 MiB (--pause-after) while the counters are read, so the two halves are
# told apart:
#
#  - b gets the sender's SHA-256, no record fails (TlsDecryptError), the
#    socket took RX offload and the device decrypted packets of it before
#    the pause;
#  - the device asked for resyncs in the RX metadata and they completed:
#    rx_tls_resync_req_pkt and rx_tls_resync_res_ok > 0, the kernel resynced
#    the device (TlsRxDeviceResync), and the driver's count of confirmed
#    resyncs equals devsim's (rx_tls_resync_ok in its --stats-file), and
#    so does its count of decrypted packets;
#  - offload resumes after resyncs: in the second half (32 MiB, hundreds of
#    lost frames) resyncs completed and the device decrypted at least 10% of
#    the bytes; a device that stopped at the first loss after the pause
#    would decrypt about 100 frames (0.5%). The counters sampled during the
#    second half show decrypted packets growing after a sample in which a
#    resync completed;
#  - devsim's own counters: frames lost, reordered and duplicated on the
#    data direction, RX resync requests and confirmations, frames given
#    back as they came (rx_tls_restored) as diagnostics;
#  - every RX context released after close, no kernel warning.
#
# tools/tlsnic-vm --timeout 1800 --devsim-args '--loss 1 --reorder 1 --dup 1 --seed 11 --stats-file @RUN@/devsim.stats' -- selftests/vm/tls_rx_faults.sh
# tlsnic-vm-args: --timeout 1800 --devsim-args '--loss 1 --reorder 1 --dup 1 --seed 11 --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

HALF=$((32 * 1024 * 1024))
SAMPLES=/tmp/tls_rx_faults.samples

ktap_plan 11

ktap_check "setup: eth1 offloads TLS RX, a sends with software kTLS" krx_setup

# sampler PID: "resync_res_ok decrypted_packets" of eth1 every half second
# while PID lives, into $SAMPLES.
sampler() {
	while kill -0 "$1" 2> /dev/null; do
		echo "$(counter eth1 rx_tls_resync_res_ok) $(counter eth1 rx_tls_decrypted_packets)"
		sleep 0.5
	done > "$SAMPLES"
}

what="64 MiB over the faulty wire"
before=$(krx_snap)
dev_before=$(devsim_stats)
mid=
if krx_start_offloaded_paused "--bytes 64M" "--bytes 64M" "$HALF"; then
	mid=$(krx_snap)
	ktap_diag "at the pause: rx_tls_resync_req_pkt +$(delta rx_tls_resync_req_pkt "$before" "$mid") rx_tls_resync_res_ok +$(delta rx_tls_resync_res_ok "$before" "$mid") rx_tls_decrypted_packets +$(delta rx_tls_decrypted_packets "$before" "$mid")"
	sampler "$KTX_CPID" &
	spid=$!
	ktap_check "$what: sha256 equal at b, sender held after 32 MiB" ktx_finish_paused
	wait "$spid"
else
	ktx_abort_paused
	ktap_fail "$what: sha256 equal at b, sender held after 32 MiB"
fi
after=$(krx_snap)
dev_after=$(devsim_stats)

ktap_check "$what: RX offloaded, no decrypt error" \
	krx_offloaded "$what" "$before" "${mid:-$before}" 1

resyncs() {
	req=$(delta rx_tls_resync_req_pkt "$before" "$after")
	start=$(delta rx_tls_resync_req_start "$before" "$after")
	end=$(delta rx_tls_resync_req_end "$before" "$after")
	ok=$(delta rx_tls_resync_res_ok "$before" "$after")
	kern=$(delta TlsRxDeviceResync "$before" "$after")
	ktap_diag "rx_tls_resync_req_pkt +$req req_start +$start req_end +$end res_ok +$ok" \
		"res_skip +$(delta rx_tls_resync_res_skip "$before" "$after")" \
		"req_skip +$(delta rx_tls_resync_req_skip "$before" "$after")" \
		"res_retry +$(delta rx_tls_resync_res_retry "$before" "$after"); TlsRxDeviceResync +$kern"
	[ "$req" -gt 0 ] && [ "$ok" -gt 0 ] ||
		{ fail_msg "no resync request or no confirmed resync"; return 1; }
	[ "$kern" -gt 0 ] || { fail_msg "the kernel resynced nothing (TlsRxDeviceResync)"; return 1; }
}
ktap_check "$what: device asked for resyncs, the kernel answered, device confirmed" resyncs

resumed() {
	[ -n "$mid" ] || { fail_msg "no counters at the pause"; return 1; }
	ok=$(delta rx_tls_resync_res_ok "$mid" "$after")
	by=$(delta rx_tls_decrypted_bytes "$mid" "$after")
	ktap_diag "after the pause: rx_tls_resync_res_ok +$ok, decrypted $by bytes of $HALF"
	[ "$ok" -gt 0 ] || { fail_msg "no resync completed after the pause"; return 1; }
	[ "$by" -ge $((HALF / 10)) ] ||
		{ fail_msg "device decrypted $by bytes after the pause, expected >= $((HALF / 10))"; return 1; }
}
ktap_check "$what: offload resumed after resyncs (>= 10% decrypted in the second half)" resumed

# grew_after_resync: some sample has more confirmed resyncs than the one
# before it and fewer decrypted packets than a later one.
grew_after_resync() {
	ktap_diag "$(wc -l < "$SAMPLES" 2> /dev/null || echo 0) samples of resync_res_ok, decrypted_packets after the pause"
	awk 'NF == 2 { ok[n] = $1; pk[n] = $2; n++ }
	     END { for (i = 1; i < n; i++)
			if (ok[i] > ok[i - 1] && pk[n - 1] > pk[i]) { print "# resync completed by sample " i ", decrypted packets " pk[i] " -> " pk[n - 1]; exit 0 }
		   exit 1 }' "$SAMPLES"
}
ktap_check "$what: decrypted packets grew after a completed resync (sampled)" grew_after_resync

# devsim's view: the faults happened, and the RX engine resynced.
devsim_view() {
	[ -n "$dev_before" ] && [ -n "$dev_after" ] || return 1
	for c in port0.wire_lost port0.wire_reordered port0.wire_duplicated \
		 port1.rx_tls_decrypted_packets port1.rx_tls_resync_req port1.rx_tls_resync_ok \
		 port1.rx_tls_resync_stale port1.rx_tls_resync_refused port1.rx_tls_restored \
		 port1.rx_tls_ooo port1.rx_tls_auth_fail; do
		ktap_diag "devsim $c +$(delta $c "$dev_before" "$dev_after")"
	done
	[ "$(delta port0.wire_lost "$dev_before" "$dev_after")" -gt 0 ] &&
		[ "$(delta port0.wire_reordered "$dev_before" "$dev_after")" -gt 0 ] &&
		[ "$(delta port0.wire_duplicated "$dev_before" "$dev_after")" -gt 0 ] ||
		{ fail_msg "devsim did not lose, reorder and duplicate frames"; return 1; }
	[ "$(delta port1.rx_tls_resync_req "$dev_before" "$dev_after")" -gt 0 ] &&
		[ "$(delta port1.rx_tls_resync_ok "$dev_before" "$dev_after")" -gt 0 ] &&
		[ "$(delta port1.rx_tls_decrypted_packets "$dev_before" "$dev_after")" -gt 0 ] ||
		{ fail_msg "devsim's RX engine did not decrypt, or asked for no resync, or confirmed none"; return 1; }
}
ktap_check "devsim: wire faults, RX resync requests and confirmations counted" devsim_view

# agree: once every RX context is gone (no completion can be in flight),
# the driver counted as many confirmed resyncs as devsim did since boot.
agree() {
	krx_wait_idle 10 || return 1
	dev=$(devsim_stats) || return 1
	drv=$(counter eth1 rx_tls_resync_res_ok)
	sim=$(devsim_value "$dev" port1.rx_tls_resync_ok)
	drv_pk=$(counter eth1 rx_tls_decrypted_packets)
	sim_pk=$(devsim_value "$dev" port1.rx_tls_decrypted_packets)
	ktap_diag "since boot: confirmed resyncs driver $drv, devsim $sim;" \
		"decrypted packets driver $drv_pk, devsim $sim_pk"
	[ -n "$drv" ] && [ "$drv" = "$sim" ] && [ -n "$drv_pk" ] && [ "$drv_pk" = "$sim_pk" ]
}
ktap_check "driver and devsim agree: confirmed resyncs, decrypted packets" agree
ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "no RX TLS error on eth1" krx_no_errors
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
