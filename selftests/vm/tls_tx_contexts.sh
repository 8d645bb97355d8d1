#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX offload context lifetime, with a device that holds 2 contexts:
#
#  - 5 connections at once: all succeed, 2 offloaded, 3 in software
#    (TlsTxSw) because the device table is full (tx_tls_ctx_no_space);
#  - closed sockets release their device contexts (tx_tls_ctx_active back to
#    0, tx_tls_del == tx_tls_ctx) and the next socket is offloaded again;
#  - eth0 taken down and up under a running offloaded transfer: the kernel
#    moves the socket to software (tls_device_down), the driver releases the
#    context, the transfer finishes;
#  - the same with sent frames held on the ring (debugfs tx_hold): the
#    device context outlives tls_dev_del until those frames completed
#    (invariant 2, docs/invariants.md), then it is destroyed;
#  - the driver unbound from eth0's device under a running transfer, then
#    bound again: no crash or warning, and the new eth0 offloads again.
#
# tools/tlsnic-vm --devsim-args '--max-contexts 2' -- selftests/vm/tls_tx_contexts.sh
# tlsnic-vm-args: --devsim-args '--max-contexts 2' --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

MID=/tmp/tls_tx_contexts.data

ktap_plan 17

if ktx_setup && ktx_wait_idle 10 && make_data "$MID" 16; then
	ktap_pass "setup: eth0 offloads TLS TX, eth1 does not, 16 MiB file"
else
	ktap_fail "setup: eth0 offloads TLS TX, eth1 does not, 16 MiB file"
fi

# --- more sockets than device contexts

before=$(ktx_snap)
if ktx_run "--count 5 --parallel --bytes 2M" "--count 5 --parallel --bytes 2M"; then
	ktap_pass "5 parallel connections, 2 device contexts: all sha256 equal at b"
else
	ktap_fail "5 parallel connections, 2 device contexts: all sha256 equal at b"
fi
after=$(ktx_snap)
split() {
	dev=$(delta TlsTxDevice "$before" "$after")
	sw=$(delta TlsTxSw "$before" "$after")
	full=$(delta tx_tls_ctx_no_space "$before" "$after")
	ktap_diag "TlsTxDevice +$dev TlsTxSw +$sw tx_tls_ctx_no_space +$full"
	[ "$dev" -eq 2 ] && [ "$sw" -eq 3 ] && [ "$full" -eq 3 ]
}
ktap_check "2 sockets offloaded, 3 in software for lack of device contexts" split
ktap_check "contexts released after close" ktx_wait_idle 10
ktap_check "tx_tls_ctx == tx_tls_del" \
	test "$(counter eth0 tx_tls_ctx)" = "$(counter eth0 tx_tls_del)"
before=$(ktx_snap)
ktx_run "--bytes 1M" "--bytes 1M"
after=$(ktx_snap)
ktap_check "next socket offloaded again" test "$(delta TlsTxDevice "$before" "$after")" -eq 1

# --- link down and up under an offloaded transfer

# start_transfer ENC0: $MID from a to b in the background, returns once
# the socket is offloaded and eth0's tx_tls_encrypted_bytes moved from ENC0.
start_transfer() {
	ktx_start "--expect-sha256 $(cat "$MID.sha256")" "--send sendfile --file $MID"
	i=0
	while [ "$(counter eth0 tx_tls_ctx_active)" = 0 ] ||
	      [ "$(counter eth0 tx_tls_encrypted_bytes)" = "${1:-0}" ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || { fail_msg "transfer did not start"; return 1; }
		sleep 0.1
	done
}

enc0=$(counter eth0 tx_tls_encrypted_bytes)
before=$(ktx_snap)
if start_transfer "$enc0" && ip -n a link set eth0 down && sleep 1 &&
   ip -n a link set eth0 up; then
	ktap_pass "link down and up under an offloaded transfer"
else
	ktap_fail "link down and up under an offloaded transfer"
fi
if ktx_finish; then
	ktap_pass "transfer across the link flap: sha256sum's hash at b"
else
	ktap_fail "transfer across the link flap: sha256sum's hash at b"
fi
after=$(ktx_snap)
ktap_diag "tx_tls_del_deferred +$(delta tx_tls_del_deferred "$before" "$after")"
ktap_check "context released after tls_device_down" ktx_wait_idle 10

VDEV=$(basename "$(ip netns exec a readlink -f /sys/class/net/eth0/device)")
DRV=/sys/bus/virtio/drivers/tlsnic

# --- tls_dev_del while frames naming the context are still on the ring

# debugfs tx_hold leaves sent frames unreaped: the link goes down with
# frames of the offloaded socket on the ring, so tls_device_down's
# tls_dev_del must not destroy the device context yet; the context goes
# once the frames complete after the link is up again.
mount -t debugfs none /sys/kernel/debug 2> /dev/null
HOLD=/sys/kernel/debug/tlsnic/$VDEV/tx_hold
enc0=$(counter eth0 tx_tls_encrypted_bytes)
before=$(ktx_snap)
if [ -w "$HOLD" ] && start_transfer "$enc0" && echo 1 > "$HOLD" && sleep 0.3 &&
   ip -n a link set eth0 down; then
	active=$(counter eth0 tx_tls_ctx_active)
	echo 0 > "$HOLD"
	mid=$(ktx_snap)
	ktap_diag "link down with frames held: tx_tls_ctx_active $active, tx_tls_del_deferred +$(delta tx_tls_del_deferred "$before" "$mid")"
	ktap_check "tls_dev_del with frames queued: context kept (tx_tls_del_deferred)" \
		test "$active" = 1 -a "$(delta tx_tls_del_deferred "$before" "$mid")" = 1
else
	echo 0 > "$HOLD" 2> /dev/null
	ktap_fail "tls_dev_del with frames queued: context kept (no $HOLD, or no transfer)"
fi
ip -n a link set eth0 up
if ktx_finish; then
	ktap_pass "transfer across the held link flap: sha256sum's hash at b"
else
	ktap_fail "transfer across the held link flap: sha256sum's hash at b"
fi
ktap_check "deferred context destroyed once its frames completed" ktx_wait_idle 10
ktap_check "tx_tls_ctx == tx_tls_del, no destroy refused" test \
	"$(counter eth0 tx_tls_ctx)" = "$(counter eth0 tx_tls_del)" -a \
	"$(counter eth0 tx_tls_del_err)" = 0

# --- unbind the driver under a transfer, bind it again

# rewire: the rebound NIC appears in the root netns; put it back as eth0 in a.
rewire() {
	i=0
	name=
	while [ -z "$name" ]; do
		for d in /sys/class/net/*; do
			[ "$(basename "$(readlink -f "$d/device" 2> /dev/null)")" = "$VDEV" ] &&
				name=${d##*/}
		done
		[ -n "$name" ] && break
		i=$((i + 1))
		[ $i -lt 100 ] || { fail_msg "no netdev on $VDEV after bind"; return 1; }
		sleep 0.1
	done
	ip link set dev "$name" netns a &&
		ip -n a link set dev "$name" name eth0 &&
		ip -n a addr add "$ADDR_A/24" dev eth0 &&
		ip -n a link set eth0 up || return 1
	i=0
	until ip -n a link show eth0 | grep -q LOWER_UP; do
		i=$((i + 1))
		[ $i -lt 100 ] || { fail_msg "eth0 has no carrier"; return 1; }
		sleep 0.1
	done
}

enc0=$(counter eth0 tx_tls_encrypted_bytes)
if start_transfer "$enc0" && echo "$VDEV" > $DRV/unbind; then
	ktap_pass "unbind tlsnic from $VDEV under an offloaded transfer"
else
	ktap_fail "unbind tlsnic from $VDEV under an offloaded transfer"
fi
# The connection has lost its NIC: end it, whatever state it is in.
kill "$KTX_CPID" "$KTX_SPID" 2> /dev/null
wait "$KTX_CPID" "$KTX_SPID" 2> /dev/null
if echo "$VDEV" > $DRV/bind && rewire && feature eth0 tls-hw-tx-offload on; then
	ktap_pass "bind tlsnic to $VDEV again, eth0 back in netns a"
else
	ktap_fail "bind tlsnic to $VDEV again, eth0 back in netns a"
fi
before=$(ktx_snap)
if ktx_run "--bytes 4M" "--bytes 4M"; then
	after=$(ktx_snap)
	ktap_check "after rebind: transfer offloaded, sha256 equal at b" \
		test "$(delta TlsTxDevice "$before" "$after")" -eq 1
else
	ktap_fail "after rebind: transfer offloaded, sha256 equal at b"
fi

ktap_check "no kernel warning" ktx_dmesg_clean

rm -f "$MID" "$MID.sha256"
ktap_finish
