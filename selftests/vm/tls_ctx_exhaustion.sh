#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Device context exhaustion at scale: each port holds 8 TLS contexts (TX
# and RX share the table), and 64 connections run at once with TLS TX and
# RX offload on at eth0 and eth1, both ends sending and receiving
# (tlsnic-ktls --dir both --count 64 --parallel, keyed with --ktls
# setsockopt):
#
#  - every connection succeeds: 64 transfers each way with the sender's
#    SHA-256 at the receiver;
#  - every socket is accounted for in each netns: TlsTxDevice + TlsTxSw =
#    64 and TlsRxDevice + TlsRxSw = 64; the port's driver counters agree
#    (tx_tls_ctx = TlsTxDevice, tx_tls_ctx_no_space = TlsTxSw, rx_tls_ctx =
#    TlsRxDevice, rx_tls_err >= TlsRxSw), and some sockets went to software
#    (the table really was full) while some were offloaded;
#  - no port ever held more than 8 live contexts: tx_tls_ctx_active plus
#    live RX contexts (rx_tls_ctx - rx_tls_del), sampled through the run,
#    never above 8 and above 0;
#  - after close every context is released (tx_tls_ctx_active 0, rx_tls_ctx
#    = rx_tls_del on both ports), and a new wave of 4 connections (4 TX + 4
#    RX contexts per port: the whole table) is offloaded entirely, both ways
#    at both ends: the freed contexts are reused.
#
# tools/tlsnic-vm --devsim-args '--max-contexts 8' -- selftests/vm/tls_ctx_exhaustion.sh
# tlsnic-vm-args: --devsim-args '--max-contexts 8' --timeout 1800

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

MAX=8
N=64
HW=/tmp/tls_ctx_exhaustion.hw
STOP=/tmp/tls_ctx_exhaustion.stop

ktap_plan 10

ktap_check "setup: eth0 and eth1 offload TLS TX and RX, no context live" kboth_setup


# live DEV: DEV's live device contexts, TX and RX.
live() {
	stats "$1" | awk '$1 == "tx_tls_ctx_active" { t = $2; n++ }
		$1 == "rx_tls_ctx" { c = $2; n++ } $1 == "rx_tls_del" { d = $2; n++ }
		END { if (n != 3) print -1; else print t + c - d }'
}

# sampler: the highest live count of each port, "eth0 eth1" in $HW, until
# $STOP appears.
sampler() {
	h0=0
	h1=0
	while [ ! -e $STOP ]; do
		v=$(live eth0)
		[ "$v" -gt "$h0" ] && h0=$v
		v=$(live eth1)
		[ "$v" -gt "$h1" ] && h1=$v
		echo "$h0 $h1" > $HW
	done
}

rm -f $STOP $HW
sampler &
spid=$!
args="--dir both --count $N --parallel --bytes 256K"
before=$(kboth_snap)
ktap_check "$N parallel connections both ways, $MAX contexts per port: all sha256 equal" \
	ktx_run "$args" "$args"
after=$(kboth_snap)
touch $STOP
wait $spid

# accounted NS: every socket of netns NS is offloaded or in software, and
# its port's driver counted each one the same way.
accounted() {
	for c in TlsTxDevice TlsRxDevice TlsTxSw TlsRxSw tx_tls_ctx \
		 tx_tls_ctx_no_space rx_tls_ctx rx_tls_err; do
		eval "d_$c=\$(delta $1.$c \"\$before\" \"\$after\")"
	done
	# shellcheck disable=SC2154 # set by the eval above
	{
		ktap_diag "netns $1: TlsTxDevice +$d_TlsTxDevice TlsTxSw +$d_TlsTxSw TlsRxDevice +$d_TlsRxDevice TlsRxSw +$d_TlsRxSw tx_tls_ctx +$d_tx_tls_ctx tx_tls_ctx_no_space +$d_tx_tls_ctx_no_space rx_tls_ctx +$d_rx_tls_ctx rx_tls_err +$d_rx_tls_err"
		[ $((d_TlsTxDevice + d_TlsTxSw)) -eq $N ] &&
			[ $((d_TlsRxDevice + d_TlsRxSw)) -eq $N ] ||
			{ fail_msg "netns $1: sockets do not add up to $N each way"; return 1; }
		[ "$d_tx_tls_ctx" -eq "$d_TlsTxDevice" ] &&
			[ "$d_tx_tls_ctx_no_space" -eq "$d_TlsTxSw" ] ||
			{ fail_msg "netns $1: TX driver counters disagree with tls_stat"; return 1; }
		[ "$d_rx_tls_ctx" -eq "$d_TlsRxDevice" ] &&
			[ "$d_rx_tls_err" -ge "$d_TlsRxSw" ] ||
			{ fail_msg "netns $1: RX driver counters disagree with tls_stat"; return 1; }
		[ $((d_TlsTxDevice + d_TlsRxDevice)) -gt 0 ] &&
			[ $((d_TlsTxSw + d_TlsRxSw)) -gt 0 ] ||
			{ fail_msg "netns $1: expected some sockets offloaded and some in software"; return 1; }
	}
}
ktap_check "netns a: every socket offloaded or in software, eth0's counters agree" accounted a
ktap_check "netns b: every socket offloaded or in software, eth1's counters agree" accounted b

highwater() {
	read -r h0 h1 < $HW || { fail_msg "no sample"; return 1; }
	ktap_diag "live contexts high-water: eth0 $h0, eth1 $h1 (table $MAX)"
	[ "$h0" -ge 1 ] && [ "$h0" -le $MAX ] && [ "$h1" -ge 1 ] && [ "$h1" -le $MAX ]
}
ktap_check "no port above $MAX live contexts during the run" highwater

idle() {
	ktx_wait_idle 10 && krx_wait_idle 10 eth0 && krx_wait_idle 10 eth1 &&
		wait_until 10 "eth1 still has TX contexts" \
			test "$(counter eth1 tx_tls_ctx_active)" = 0
}
ktap_check "every TX and RX context released after close" idle

args="--dir both --count 4 --parallel --bytes 256K"
before=$(kboth_snap)
ktap_check "next wave, 4 parallel connections both ways: sha256 equal" ktx_run "$args" "$args"
after=$(kboth_snap)
# reused NS: all 4 sockets of netns NS offloaded both ways.
reused() {
	for c in TlsTxDevice TlsRxDevice TlsTxSw TlsRxSw; do
		eval "d_$c=\$(delta $1.$c \"\$before\" \"\$after\")"
	done
	# shellcheck disable=SC2154 # set by the eval above
	ktap_diag "netns $1: TlsTxDevice +$d_TlsTxDevice TlsRxDevice +$d_TlsRxDevice TlsTxSw +$d_TlsTxSw TlsRxSw +$d_TlsRxSw"
	[ "$d_TlsTxDevice" -eq 4 ] && [ "$d_TlsRxDevice" -eq 4 ] &&
		[ "$d_TlsTxSw" -eq 0 ] && [ "$d_TlsRxSw" -eq 0 ]
}
ktap_check "next wave: a's 4 sockets offloaded both ways (freed contexts reused)" reused a
ktap_check "next wave: b's 4 sockets offloaded both ways (freed contexts reused)" reused b
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

rm -f $STOP $HW
ktap_finish
