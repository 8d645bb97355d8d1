#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX offload when the device itself drops frames: devsim fails 1% of
# the TLS frames that reach its engine in order (--tls-tx-fail 1, seed 11),
# after the driver counted them as sent and moved its idea of the device's
# stream past them. The device reports each with a TX_DROP event; the
# driver sends the context's next frame with resync info, so TCP recovers
# the lost bytes by fast retransmit. Without the event (or a driver that
# ignores it) every later frame is dropped too until TCP's retransmission
# timer fires: one timeout per device drop.
#
#  - 3 parallel connections of 64 MiB, write, AES-GCM-128, and 64 MiB
#    sendfile, AES-GCM-256, a (offload) -> b (software kTLS RX): b gets the
#    sender's SHA-256 (and sha256sum's);
#  - devsim failed frames and reported them (tx_tls_drop_injected,
#    tx_tls_drop_ev), the driver took the events (tx_tls_drop_event) and
#    resynced for them (tx_tls_drop_resync), nothing was dropped by the
#    driver for lack of sync data;
#  - the sender's TCPTimeouts stay below a quarter of the device's drops
#    (the old behaviour is about one per drop).
#
# tools/tlsnic-vm --devsim-args '--tls-tx-fail 1 --seed 11 --stats-file @RUN@/devsim.stats' -- selftests/vm/tls_tx_devdrop.sh
# tlsnic-vm-args: --devsim-args '--tls-tx-fail 1 --seed 11 --stats-file @RUN@/devsim.stats' --timeout 1800

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

BIG=/tmp/tls_tx_devdrop.data
# Fewer injected drops than this and the run proves nothing.
MIN_DROPS=3

ktap_plan 11

if ktx_setup && make_data "$BIG" 64; then
	ktap_pass "setup: eth0 offloads TLS TX, eth1 does not, 64 MiB file"
else
	ktap_fail "setup: eth0 offloads TLS TX, eth1 does not, 64 MiB file"
fi

# snap: driver counters, tls_stat, devsim's counters, TCPTimeouts of a.
snap() {
	_s_dev=$(devsim_stats) || return 1
	ktx_snap
	printf '%s\n' "$_s_dev"
	echo "TCPTimeouts $(tcpext a TCPTimeouts)"
	echo "TCPLossProbes $(tcpext a TCPLossProbes)"
	echo "RetransSegs $(snmp a Tcp RetransSegs)"
}

# device_reported: devsim failed in-order frames and queued events for them.
device_reported() {
	inj=$(delta port0.tx_tls_drop_injected "$before" "$after")
	ev=$(delta port0.tx_tls_drop_ev "$before" "$after")
	co=$(delta port0.tx_tls_drop_ev_coalesced "$before" "$after")
	lost=$(delta port0.tx_tls_drop_ev_lost "$before" "$after")
	nsd=$(delta port0.tx_tls_drop_no_sync_data "$before" "$after")
	ktap_diag "$1: devsim failed $inj frames, dropped $nsd more out of sync; events $ev, coalesced $co, lost $lost"
	[ "$inj" -ge $MIN_DROPS ] || { fail_msg "devsim failed only $inj frames"; return 1; }
	[ "$ev" -gt 0 ] || { fail_msg "devsim reported no drop"; return 1; }
}

# driver_resynced: the driver took the events and resynced for them.
driver_resynced() {
	de=$(delta tx_tls_drop_event "$before" "$after")
	ds=$(delta tx_tls_drop_event_stale "$before" "$after")
	dr=$(delta tx_tls_drop_resync "$before" "$after")
	ooo=$(delta tx_tls_ooo "$before" "$after")
	nd=$(delta tx_tls_drop_no_sync_data "$before" "$after")
	dev=$(delta TlsTxDevice "$before" "$after")
	ktap_diag "$1: tx_tls_drop_event +$de (stale +$ds) tx_tls_drop_resync +$dr tx_tls_ooo +$ooo drop_no_sync_data +$nd"
	[ "$dev" -ge 1 ] || { fail_msg "socket not offloaded"; return 1; }
	[ "$de" -gt 0 ] || { fail_msg "the driver got no TX_DROP event"; return 1; }
	[ "$dr" -gt 0 ] || { fail_msg "the driver did not resync for an event"; return 1; }
	[ "$nd" -eq 0 ] || { fail_msg "frames dropped without sync data"; return 1; }
}

# few_timeouts: TCP recovered the drops without its retransmission timer.
few_timeouts() {
	inj=$(delta port0.tx_tls_drop_injected "$before" "$after")
	to=$(delta TCPTimeouts "$before" "$after")
	tlp=$(delta TCPLossProbes "$before" "$after")
	rtx=$(delta RetransSegs "$before" "$after")
	ktap_diag "$1: $inj device drops, sender TCPTimeouts +$to TCPLossProbes +$tlp RetransSegs +$rtx"
	[ "$inj" -ge $MIN_DROPS ] || { fail_msg "too few device drops to judge"; return 1; }
	[ $((to * 4)) -le "$inj" ] ||
		{ fail_msg "$to retransmission timeouts for $inj device drops"; return 1; }
}

run_case() {
	what=$1
	if before=$(snap); then
		if ktx_run "$2" "$3"; then
			ktap_pass "$what: sha256 equal at b"
		else
			ktap_fail "$what: sha256 equal at b"
		fi
	else
		ktap_fail "$what: no devsim counters"
	fi
	if [ -n "$before" ] && after=$(snap); then
		ktap_check "$what: devsim failed frames and reported them" device_reported "$what"
		ktap_check "$what: driver resynced for the reports, dropped nothing" driver_resynced "$what"
		ktap_check "$what: TCPTimeouts under a quarter of the device drops" few_timeouts "$what"
	else
		ktap_fail "$what: devsim failed frames and reported them"
		ktap_fail "$what: driver resynced for the reports, dropped nothing"
		ktap_fail "$what: TCPTimeouts under a quarter of the device drops"
	fi
}

run_case "3 parallel connections, aes128gcm write 64 MiB each" \
	"--cipher aes128gcm --count 3 --parallel --bytes 64M" \
	"--cipher aes128gcm --count 3 --parallel --bytes 64M"

run_case "aes256gcm sendfile 64 MiB" \
	"--cipher aes256gcm --expect-sha256 $(cat "$BIG.sha256")" \
	"--cipher aes256gcm --send sendfile --file $BIG"

ktap_check "every device context released after close" ktx_wait_idle 10
ktap_check "no kernel warning" ktx_dmesg_clean

rm -f "$BIG" "$BIG.sha256"
ktap_finish
