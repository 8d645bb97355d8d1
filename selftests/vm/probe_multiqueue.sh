#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Probe against a plain multi-queue vhost-user backend: dpdk-testpmd with
# two queue pairs per port, io forwarding port 0 <-> port 1 queue by queue,
# so that anything the driver puts on queue pair 1 (where it talks to a
# tlsnic device) is forwarded as a frame. The driver must probe in bounded
# time, run both NICs as plain NICs without TLS features, carry traffic
# intact, and never transmit its own protocol bytes (IDENTIFY, commands).
#
# The oracle is testpmd itself (tools/tlsnic-vm "testpmd" requests): its
# per-queue receive counters (rx_q1_good_packets stays 0 on both ports,
# from boot on) and, while eth0 alone is unbound and probed again, its
# verbose dump of every frame it received (each one on queue 0, with eth0's
# MAC as source and a known EtherType). eth1's own view (a packet socket
# in netns b during that re-probe and a transfer) must hold only frames
# from eth0.
#
# tools/tlsnic-vm --backend testpmd --testpmd-queues 2 -- selftests/vm/probe_multiqueue.sh
# tlsnic-vm-args: --backend testpmd --testpmd-queues 2 --timeout 900

. "$(dirname "$0")/../lib.sh"
require_vm

MIB=${TLSNIC_XFER_MIB:-16}
DATA=/tmp/probe_mq.data
SMALL=/tmp/probe_mq.small
MAC0=52:54:00:74:6c:00
FRAMES=/tmp/probe_mq.frames
SNIFF_STOP=/tmp/probe_mq.stop
SNIFF_READY=/tmp/probe_mq.ready
TPLOG=$TLSNIC_VM_RUN/testpmd.log
# Probe waits at most a few seconds for a device; this only turns a hang
# into a failure.
PROBE_BOUND=120
TESTS=14

ktap_plan $TESTS

if [ "${TLSNIC_VM_BACKEND:-}" != testpmd ]; then
	ktap_skip_rest $TESTS "needs a plain multi-queue backend: tools/tlsnic-vm --backend testpmd --testpmd-queues 2"
fi

# testpmd CMD...: run testpmd commands on the host, print their output.
testpmd() {
	printf '%s\n' "$@" > /tmp/probe_mq.req
	vm_request testpmd /tmp/probe_mq.req 120
}

# xstat PORT NAME: one of testpmd's extended counters of PORT.
xstat() {
	testpmd "show port xstats $1" |
		awk -v n="$2:" '$1 == n { print $2; found = 1 } END { exit !found }'
}

two_queue_pairs() {
	for port in 0 1; do
		info=$(testpmd "show port info $port") || return 1
		rxq=$(printf '%s\n' "$info" | sed -n 's/^Current number of RX queues: *//p')
		txq=$(printf '%s\n' "$info" | sed -n 's/^Current number of TX queues: *//p')
		ktap_diag "testpmd port $port: $rxq RX queues, $txq TX queues"
		[ "$rxq" = 2 ] && [ "$txq" = 2 ] || return 1
	done
}
ktap_check "testpmd runs both ports with two queue pairs" two_queue_pairs

plain_lines() {
	dmesg | grep -c ': plain virtio-net mode'
}
dmesg | grep -E ': (tlsnic|plain virtio-net) mode' | sed 's/^/# /'
ktap_check "boot probe: both ports in plain mode, none in tlsnic mode" \
	test "$(plain_lines)" -eq 2 -a "$(dmesg | grep -c ': tlsnic mode: ')" -eq 0

# Nothing on queue pair 1, as testpmd counted it.
queue1_silent() {
	for port in 0 1; do
		n=$(xstat $port rx_q1_good_packets) || return 1
		ktap_diag "testpmd port $port rx_q1_good_packets $n"
		[ "$n" -eq 0 ] || return 1
	done
}
ktap_check "boot probe: testpmd received nothing on queue pair 1 of either port" queue1_silent

no_commands_sent() {
	for dev in eth0 eth1; do
		n=$(counter $dev cmd_sent) || return 1
		ktap_diag "$dev cmd_sent $n"
		[ "$n" -eq 0 ] || return 1
	done
}
ktap_check "driver counters: no command sent on either port" no_commands_sent

# ---- eth0 alone probed again, watched by testpmd and by eth1 ----------

# Every frame eth1 receives, as "SRC-MAC ETHERTYPE LENGTH FIRST-16-BYTES",
# until $SNIFF_STOP exists (no tcpdump on this machine kind: a packet socket).
SNIFF='
import os, socket, sys
iface, out, stop, ready = sys.argv[1:5]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.settimeout(0.2)
open(ready, "w").close()
with open(out, "w") as f:
    while not os.path.exists(stop):
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        f.write("%s %s %d %s\n" % (data[6:12].hex(":"), data[12:14].hex(),
                                   len(data), data[:16].hex()))
'
rm -f "$SNIFF_STOP" "$SNIFF_READY" "$FRAMES"
ip netns exec b python3 -c "$SNIFF" eth1 "$FRAMES" "$SNIFF_STOP" "$SNIFF_READY" &
SNIFFER=$!
wait_for_file "$SNIFF_READY" 120 $SNIFFER || ktap_diag "FAIL: no capture on eth1"

vdev=$(basename "$(ip netns exec a readlink -f /sys/class/net/eth0/device)")
ktap_diag "eth0 is $vdev"
testpmd "set verbose 1" > /dev/null
verbose_on=$(grep -c '^testpmd> set verbose 1$' "$TPLOG")

reprobe() {
	echo "$vdev" > /sys/bus/virtio/drivers/tlsnic/unbind || return 1
	timeout $PROBE_BOUND sh -c "echo $vdev > /sys/bus/virtio/drivers/tlsnic/bind" ||
		fail_msg "bind of $vdev failed or did not return in $PROBE_BOUND s"
}
ktap_check "eth0 unbound and probed again (bind returned)" reprobe

rewire_eth0() {
	name=$(ls "/sys/bus/virtio/devices/$vdev/net/" 2> /dev/null)
	[ -n "$name" ] || { fail_msg "no netdev on $vdev"; return 1; }
	ip link set dev "$name" netns a || return 1
	[ "$name" = eth0 ] || ip -n a link set dev "$name" name eth0 || return 1
	ip -n a addr add $ADDR_A/24 dev eth0 &&
		ip -n a addr add $ADDR6_A/64 dev eth0 nodad &&
		ip -n a link set dev eth0 up &&
		wait_until 30 "no carrier on eth0" sh -c "ip -n a -o link show dev eth0 | grep -q LOWER_UP"
}
ktap_check "new eth0 came up in plain mode" \
	sh -c "[ $(plain_lines) -eq 3 ] && [ \$(dmesg | grep -c ': tlsnic mode: ') -eq 0 ]"
rewire_eth0 || ktap_diag "FAIL: eth0 not rewired"

if make_data "$SMALL" 4 && xfer a b "$SMALL"; then
	ktap_pass "4 MiB a->b while eth1 captures, sha256 equal"
else
	ktap_fail "4 MiB a->b while eth1 captures, sha256 equal"
fi

testpmd "set verbose 0" > /dev/null
: > "$SNIFF_STOP"
wait $SNIFFER

# The verbose dump between our "set verbose 1" and "set verbose 0": one
# "port P/queue Q: received N packets" line per burst, then one
# "src=.. - dst=.. - ... - type=0x.... - length=.." line per frame.
frames_from_port0() {
	awk -v skip="$verbose_on" '
		{ sub(/^testpmd> /, "") }
		/^set verbose 1$/ { if (++on == skip) live = 1; next }
		/^set verbose 0$/ { if (live) exit; next }
		!live { next }
		/^port [0-9]+\/queue [0-9]+: received/ { split($2, pq, "/"); port = pq[1]; q = $3; sub(":", "", q); next }
		/^src=/ && port == 0 { print q, $0 }
	' "$TPLOG"
}
port0_frames_plain() {
	frames=$(frames_from_port0)
	n=$(printf '%s' "$frames" | grep -c '^')
	ktap_diag "testpmd received $n frames from port 0 during the re-probe and transfer"
	printf '%s\n' "$frames" | awk '{ print $1, $2, $4, $10 }' | sort | uniq -c | sed 's/^/#   /' | head -n 10
	bad=$(printf '%s\n' "$frames" | awk -v mac="$MAC0" '
		{
			src = tolower($2); sub("src=", "", src)
			type = ""
			for (i = 1; i <= NF; i++) if ($i ~ /^type=/) type = $i
			if ($1 != 0 || src != mac || type !~ /^type=0x(0800|0806|86dd)$/) print
		}')
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad" | head -n 5 | sed 's/^/# not a frame of eth0 /'
		return 1
	fi
	[ "$n" -gt 0 ] || fail_msg "no frame from port 0 in the dump at all"
}
ktap_check "testpmd: every frame from port 0 was on queue 0, from eth0's MAC, IPv4/ARP/IPv6" \
	port0_frames_plain

eth1_saw_only_eth0() {
	n=$(grep -c '^' "$FRAMES")
	ktap_diag "eth1 received $n frames"
	awk '{ print $1, $2 }' "$FRAMES" | sort | uniq -c | sed 's/^/#   /'
	bad=$(awk -v mac="$MAC0" '$1 != mac || $2 !~ /^(0800|0806|86dd)$/ || $4 ~ /^544c534e/' "$FRAMES")
	if [ -n "$bad" ]; then
		printf '%s\n' "$bad" | head -n 5 | sed 's/^/# unexpected /'
		return 1
	fi
	[ "$n" -gt 0 ]
}
ktap_check "eth1 (packet socket in b) received only IPv4/ARP/IPv6 frames from eth0's MAC" \
	eth1_saw_only_eth0

no_tls_features() {
	for dev in eth0 eth1; do
		feats=$(ip netns exec "$(ns_of $dev)" ethtool -k $dev) || return 1
		for f in tls-hw-tx-offload tls-hw-rx-offload; do
			line=$(printf '%s\n' "$feats" | grep "^$f:")
			ktap_diag "$dev $line"
			[ "$line" = "$f: off [fixed]" ] || return 1
		done
	done
}
ktap_check "ethtool -k: tls-hw-tx/rx-offload off [fixed] on both ports" no_tls_features

if make_data "$DATA" "$MIB"; then
	ktap_check "$MIB MiB a->b, sha256 equal" xfer a b "$DATA"
	ktap_check "$MIB MiB b->a, sha256 equal" xfer b a "$DATA"
else
	ktap_fail "$MIB MiB a->b, sha256 equal"
	ktap_fail "$MIB MiB b->a, sha256 equal"
fi

ktap_check "whole run: testpmd received nothing on queue pair 1 of either port" queue1_silent
ktap_check "whole run: no command sent on either port" no_commands_sent

rm -f "$DATA" "$DATA.sha256" "$SMALL" "$SMALL.sha256" "$FRAMES"
ktap_finish
