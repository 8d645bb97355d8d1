#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Teardown under load, part 1: the link and the device go away while 32
# TLS 1.2 connections, offloaded TX and RX at both ends (the defaults),
# move data both ways (selftests/teardown_lib.sh describes the load and
# how each event is shown to happen while data moves):
#
#  - ip link set eth0 down, then up: the kernel moves a's 32 sockets to
#    software kTLS (tls_device_down on NETDEV_DOWN); every one of eth0's
#    64 device contexts is released, in the driver and in devsim, eth1's
#    stay live; TCP retransmits over the link once it is up again and
#    every transfer ends with the sender's SHA-256 at both ends;
#  - eth0's PCI device unbound from virtio-pci and bound again through
#    sysfs: tlsnic's remove runs under the live sockets, its probe makes a
#    new eth0, which goes back to netns a; the transfers finish over it,
#    eth1's contexts stay live;
#  - after each load: no context left in the driver (tx/rx_tls_ctx_active
#    0, every command answered) or in devsim (ctx_active 0), no kernel
#    warning or driver error; at the end the module unloads cleanly.
#
# tools/tlsnic-vm --timeout 900 --devsim-args '--stats-file @RUN@/devsim.stats' -- selftests/vm/teardown_load.sh
# tlsnic-vm-args: --timeout 900 --devsim-args '--stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../teardown_lib.sh"
require_vm

ktap_plan 15

ktap_check "setup: TLS TX and RX offload on at eth0 and eth1, nothing live" tdl_setup
set -- $(tdl_bytes_each_way)
ktap_diag "load: $TDL_N connections, $1 bytes a->b and $2 bytes b->a each time"

# --- link down/up ---------------------------------------------------------

link_flap() {
	ktap_diag "link down with $TDL_MOVING of $TDL_N connections moving data," \
		"$TDL_FLOW offloaded bytes since the servers were released (uptime $(tdl_uptime))"
	ip -n a link set dev eth0 down || return 1
	ktap_diag "eth0 down: live contexts (TX RX) $(tdl_live eth0)," \
		"$(tdl_count_reached c) connections parked"
	ip -n a link set dev eth0 up || return 1
	T_UP=$(tdl_traffic)
	wait_until 30 "no carrier on eth0 after link up" \
		sh -c "ip -n a -o link show dev eth0 | grep -q LOWER_UP"
}

# eth0's sockets went to software: its contexts all go, eth1's stay.
flap_released() {
	tdl_idle eth0 30 || return 1
	set -- $(tdl_live eth1)
	ktap_diag "after link up: eth0 (TX RX) $(tdl_live eth0), eth1 $1 $2," \
		"TlsCurrTxDevice a $(tls_stat a TlsCurrTxDevice) b $(tls_stat b TlsCurrTxDevice)"
	[ "$1 $2" = "$TDL_N $TDL_N" ] ||
		{ fail_msg "eth1 lost contexts it should keep"; return 1; }
}

# flap_traffic: what eth1's offload carried since the link came back.
flap_traffic() {
	ktap_diag "link down/up on eth0: $(($(tdl_traffic) - ${T_UP:-0})) bytes through eth1's offload since link up"
}

tdl_event "link down/up on eth0" link_flap \
	"link went down and up while data moved" \
	flap_released "eth0's contexts all released, eth1's live" flap_traffic

# root_nic: the name of a virtio NIC in the root netns, if there is one.
root_nic() {
	for d in /sys/class/net/*; do
		case "$(cat "$d/device/modalias" 2> /dev/null)" in
		virtio:d00000001v*) echo "${d##*/}"; return 0 ;;
		esac
	done
	return 1
}

# eth0_back: the one virtio NIC in the root netns (eth0's new netdev)
# becomes eth0 in netns a again, addressed and up with carrier.
eth0_back() {
	wait_until 30 "no new virtio NIC in the root netns" root_nic > /dev/null ||
		return 1
	new=$(root_nic)
	ktap_diag "new netdev $new"
	{
		[ "$new" = eth0 ] || echo "link set dev $new name eth0"
		echo "link set dev eth0 netns a"
	} | ip -batch - || return 1
	printf '%s\n' "addr add $ADDR_A/24 dev eth0" "addr add $ADDR6_A/64 dev eth0 nodad" \
		"link set eth0 up" | ip -n a -batch - || return 1
	wait_until 30 "no carrier on the new eth0" \
		sh -c "ip -n a -o link show dev eth0 | grep -q LOWER_UP"
}

# rebind: eth0's PCI function off virtio-pci and back through sysfs.
rebind() {
	pci=$(ip netns exec a readlink -f /sys/class/net/eth0/device/..) || return 1
	pci=${pci##*/}
	ktap_diag "unbind $pci with $TDL_MOVING of $TDL_N connections moving data," \
		"$TDL_FLOW offloaded bytes since the servers were released (uptime $(tdl_uptime))"
	echo "$pci" > /sys/bus/pci/drivers/virtio-pci/unbind || return 1
	ktap_diag "unbound: $(tdl_count_reached c) connections parked (uptime $(tdl_uptime))"
	echo "$pci" > /sys/bus/pci/drivers/virtio-pci/bind || return 1
	eth0_back
}

# fresh_eth0: the new eth0 is a tlsnic port that holds no context (a's
# sockets are in software now); eth1 kept its contexts.
fresh_eth0() {
	ip netns exec a ethtool -i eth0 | grep -q '^firmware-version: devsim' ||
		{ fail_msg "the new eth0 is not in tlsnic mode"; return 1; }
	set -- $(tdl_live eth1)
	ktap_diag "after rebind: eth0 (TX RX) $(tdl_live eth0), eth1 $1 $2"
	[ "$(tdl_live eth0)" = "0 0" ] && [ "$1 $2" = "$TDL_N $TDL_N" ]
}

tdl_event "eth0's PCI device unbound and bound" rebind \
	"unbound and bound back while data moved, eth0 back in netns a" \
	fresh_eth0 "new eth0 in tlsnic mode without contexts, eth1's live"

ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
ktap_check "rmmod tlsnic: clean unload" ktx_rmmod_clean

ktap_finish
