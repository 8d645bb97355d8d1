#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX offload through source NAT on the sender: netns a SNATs its TCP to
# b to 10.77.0.3 (nft, postrouting after kTLS handed the skb down), an
# address nobody owns; b reaches it through a static neighbour entry for
# eth0's MAC, and conntrack in a translates the replies back. So the frames
# the device encrypts carry another source address than the socket the
# context was made for:
#
#  - an offloaded connection a->b (1 byte, 16 KiB+1, 64 MiB) arrives with
#    the sender's SHA-256, the socket offloaded (TlsTxDevice) and the device
#    encrypting (tx_tls_encrypted_packets/bytes);
#  - it really was NATed: b's socket had 10.77.0.3 as its peer while data
#    flowed (ss), b took every packet of it from 10.77.0.3 and none from
#    10.77.0.1 (nft counters in b), a's conntrack holds the translation;
#  - no tx_tls_drop_* counter or tx0_drops moved, the device context was
#    released after close, no kernel warning.
#
# tools/tlsnic-vm -- selftests/vm/tls_tx_nat.sh
# tlsnic-vm-args: --timeout 900

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

NAT_ADDR=10.77.0.3
SIZES=1,16385,64M
SIZES_BYTES=$((1 + 16385 + 64 * 1024 * 1024))

ktap_plan 9

# nat_setup: SNAT in a, counters of what b receives, b's route back.
nat_setup() {
	command -v nft > /dev/null ||
		{ fail_msg "nft missing (package nftables, tools/install-deps)"; return 1; }
	ip netns exec a nft -f - <<EOF || return 1
table ip tlsnic_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" ip daddr $ADDR_B meta l4proto tcp counter snat to $NAT_ADDR
	}
}
EOF
	ip netns exec b nft -f - <<EOF || return 1
table ip tlsnic_peer {
	counter from_nat { }
	counter from_a { }
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr $NAT_ADDR meta l4proto tcp counter name "from_nat"
		ip saddr $ADDR_A meta l4proto tcp counter name "from_a"
	}
}
EOF
	mac=$(ip netns exec a cat /sys/class/net/eth0/address) || return 1
	ip -n b neigh replace "$NAT_ADDR" lladdr "$mac" dev eth1 nud permanent
}

# nft_packets NS TABLE COUNTER: packets of a named counter.
nft_packets() {
	ip netns exec "$1" nft list counter ip "$2" "$3" |
		sed -n 's/.*packets \([0-9]*\) bytes.*/\1/p'
}

# peer_while_live: b's socket of the connection ktx_start started, while
# it is established, has NAT_ADDR as its peer.
peer_while_live() {
	i=0
	while :; do
		peer=$(ip netns exec b ss -tnH state established "( sport = :$KTX_PORT )" |
			awk '{ print $NF; exit }')
		[ -n "$peer" ] && break
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$KTX_SPID" 2> /dev/null; then
			fail_msg "no established connection on b's port $KTX_PORT seen"
			return 1
		fi
		sleep 0.1
	done
	ktap_diag "b's peer of port $KTX_PORT: $peer"
	case "$peer" in
	"$NAT_ADDR":*) return 0 ;;
	esac
	fail_msg "b's peer is $peer, not $NAT_ADDR"
}

if ktx_setup && nat_setup; then
	ktap_pass "setup: eth0 offloads TLS TX, a SNATs its TCP to b to $NAT_ADDR"
else
	ktap_fail "setup: eth0 offloads TLS TX, a SNATs its TCP to b to $NAT_ADDR"
fi

what="sizes $SIZES through SNAT"
before=$(ktx_snap)
nat0=$(nft_packets b tlsnic_peer from_nat)
a0=$(nft_packets b tlsnic_peer from_a)
ktx_start "--bytes $SIZES" "--bytes $SIZES"
ktap_check "$what: b's peer is $NAT_ADDR while data flows" peer_while_live
if ktx_finish && ktx_client_ktls_tx; then
	ktap_pass "$what: sha256 equal at b"
else
	ktap_fail "$what: sha256 equal at b"
fi
after=$(ktx_snap)
ktap_check "$what: offloaded, device encrypted every byte" \
	ktx_offloaded "$what" "$before" "$after" "$SIZES_BYTES"

# from_nat_only: b took the connection's packets from NAT_ADDR, none from
# a's own address; 64 MiB is at least 1024 packets even if b's GRO made
# 64 KiB of each.
from_nat_only() {
	nat=$(($(nft_packets b tlsnic_peer from_nat) - nat0))
	real=$(($(nft_packets b tlsnic_peer from_a) - a0))
	ktap_diag "b received TCP packets: $nat from $NAT_ADDR, $real from $ADDR_A"
	[ "$nat" -ge 1024 ] && [ "$real" -eq 0 ]
}
ktap_check "$what: b received it from $NAT_ADDR only" from_nat_only

ct=$(ip netns exec a cat /proc/net/nf_conntrack 2> /dev/null |
	grep "src=$ADDR_A dst=$ADDR_B sport=[0-9]* dport=$KTX_PORT .*src=$ADDR_B dst=$NAT_ADDR sport=$KTX_PORT ")
ktap_diag "conntrack: $ct"
ktap_check "$what: a's conntrack translated $ADDR_A to $NAT_ADDR" test -n "$ct"

ktap_check "no TLS frame dropped, no context refused" ktx_no_drops
ktap_check "every device context released after close" ktx_wait_idle 10
ktap_check "no kernel warning" ktx_dmesg_clean

ip netns exec a nft delete table ip tlsnic_nat
ip netns exec b nft delete table ip tlsnic_peer
ip -n b neigh del "$NAT_ADDR" dev eth1
ktap_finish
