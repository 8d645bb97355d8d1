#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The device's offloads over IPv6 (fd77::1 in a, fd77::2 in b):
#
#  - 64 MiB TCP a->b and b->a with TSO on: the receiver gets the sender's
#    sha256, the sender's device segmented (tx_tso_packets) and checksummed
#    (tx_csum_partial) TCPv6 frames, the receiver's device verified their
#    checksums (rx_csum_unnecessary), and the packets went out as IPv6
#    (Ip6OutRequests of the sender's netns);
#  - a->b with TSO off: same hash, checksum offload only, tx_tso_packets
#    still;
#  - TLS 1.2 TX offload a (eth0) -> b (software kTLS RX) over IPv6,
#    AES-GCM-128 with write() of 1 byte, 16 KiB+1 and 16 MiB, AES-GCM-256
#    with sendfile() of 16 MiB: sha256 equal at b, the socket offloaded
#    (TlsTxDevice) and the device encrypting (tx_tls_encrypted_packets and
#    bytes), nothing dropped, contexts released, no kernel warning.
#
# tools/tlsnic-vm -- selftests/vm/ipv6_offload.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

DATA=/tmp/ipv6_offload.data
# 64 MiB in 64 KiB TSO frames (or bigger, never more of them): a floor on
# the IPv6 packets the sender's stack made.
MIN_PKTS=1024

ktap_plan 15

# snmp6 NS FIELD: a /proc/net/snmp6 counter of netns NS.
snmp6() {
	ip netns exec "$1" cat /proc/net/snmp6 | awk -v f="$2" '$1 == f { print $2 }'
}

# has_addr NS DEV ADDR: ADDR configured on DEV and usable (not tentative).
has_addr() {
	ip -n "$1" -6 addr show dev "$2" | grep -q "inet6 $3/64 scope global" &&
		! ip -n "$1" -6 addr show dev "$2" tentative | grep -q "inet6 $3/"
}

if has_addr a eth0 "$ADDR6_A" && has_addr b eth1 "$ADDR6_B" && make_data "$DATA" 64; then
	ktap_pass "setup: $ADDR6_A on eth0 (a), $ADDR6_B on eth1 (b), 64 MiB of data"
else
	ip -n a -6 addr show dev eth0 | sed 's/^/# /'
	ip -n b -6 addr show dev eth1 | sed 's/^/# /'
	ktap_fail "setup: $ADDR6_A on eth0 (a), $ADDR6_B on eth1 (b), 64 MiB of data"
fi

# offloaded6 TSO: the sender's device segmented (when TSO is on, and only
# then) and checksummed TCPv6 frames, the receiver's verified checksums.
offloaded6() {
	tso=$(delta tx_tso_packets "$tx_before" "$tx_after")
	csum=$(delta tx_csum_partial "$tx_before" "$tx_after")
	rxok=$(delta rx_csum_unnecessary "$rx_before" "$rx_after")
	ktap_diag "$what: $txdev tx_tso_packets +$tso tx_csum_partial +$csum," \
		"$rxdev rx_csum_unnecessary +$rxok, Ip6OutRequests +$ip6"
	[ "$ip6" -ge $MIN_PKTS ] ||
		{ fail_msg "only $ip6 IPv6 packets sent"; return 1; }
	[ "$csum" -gt 0 ] || { fail_msg "no checksum offload request"; return 1; }
	[ "$rxok" -ge $MIN_PKTS ] ||
		{ fail_msg "receiver verified $rxok checksums"; return 1; }
	if [ "$1" = on ]; then
		[ "$tso" -gt 0 ] || { fail_msg "no TSO request"; return 1; }
	else
		[ "$tso" -eq 0 ] || { fail_msg "TSO requests with TSO off"; return 1; }
	fi
}

for run in a-b-on b-a-on a-b-off; do
	from=${run%%-*}
	to=${run#*-}
	to=${to%-*}
	tso=${run##*-}
	if [ "$from" = a ]; then
		txdev=eth0 rxdev=eth1 dst=$ADDR6_B
	else
		txdev=eth1 rxdev=eth0 dst=$ADDR6_A
	fi
	what="IPv6 $from->$to tso $tso"
	feature eth0 tso "$tso" && feature eth1 tso "$tso" ||
		fail_msg "cannot turn TSO $tso"
	tx_before=$(stats $txdev)
	rx_before=$(stats $rxdev)
	ip6_before=$(snmp6 "$from" Ip6OutRequests)
	if xfer "$from" "$to" "$DATA" "$dst"; then
		ktap_pass "$what: sha256 equal"
	else
		ktap_fail "$what: sha256 equal"
	fi
	tx_after=$(stats $txdev)
	rx_after=$(stats $rxdev)
	ip6=$(($(snmp6 "$from" Ip6OutRequests) - ip6_before))
	ktap_diag "throughput $what: $XFER_RATE MB/s"
	if [ "$tso" = on ]; then
		ktap_check "$what: TSO6 and checksum offloaded" offloaded6 on
	else
		ktap_check "$what: checksum offloaded, no TSO" offloaded6 off
	fi
done
feature eth0 tso on
feature eth1 tso on

ktap_check "TLS setup: eth0 offloads TLS TX, eth1 does not" ktx_setup
KTX_DST="[$ADDR6_B]"

# tls6 WHAT SERVER_ARGS CLIENT_ARGS MIN_BYTES: one offloaded connection to
# b over IPv6, two results.
tls6() {
	before=$(ktx_snap)
	ip6_before=$(snmp6 a Ip6OutRequests)
	if ktx_run "$2" "$3" && ktx_client_ktls_tx; then
		ktap_pass "$1: sha256 equal at b"
	else
		ktap_fail "$1: sha256 equal at b"
	fi
	after=$(ktx_snap)
	ktap_diag "$1: Ip6OutRequests +$(($(snmp6 a Ip6OutRequests) - ip6_before))," \
		"sender ${KTX_MBPS:-?} Mbit/s"
	ktap_check "$1: offloaded, device encrypted every byte" \
		ktx_offloaded "$1" "$before" "$after" "$4"
}

tls6 "IPv6 TLS aes128gcm write 1,16385,16M" \
	"--cipher aes128gcm --bytes 1,16385,16M" \
	"--cipher aes128gcm --bytes 1,16385,16M" $((1 + 16385 + 16 * 1024 * 1024))
tls6 "IPv6 TLS aes256gcm sendfile 16M" \
	"--cipher aes256gcm --bytes 16M" \
	"--cipher aes256gcm --send sendfile --bytes 16M" $((16 * 1024 * 1024))

ktap_check "no TLS frame dropped, no context refused" ktx_no_drops
ktap_check "every device context released after close" ktx_wait_idle 10
ktap_check "no kernel warning" ktx_dmesg_clean

rm -f "$DATA" "$DATA.sha256"
ktap_finish
