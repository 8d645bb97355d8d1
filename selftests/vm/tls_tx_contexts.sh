#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX offload context lifetime, with a device that holds 2 contexts:
#
#  - 5 connections at once: all succeed, 2 offloaded, 3 in software
#    (TlsTxSw) because the device table is full (tx_tls_ctx_no_space);
#  - closed sockets release their device contexts (tx_tls_ctx_active back to
#    0, tx_tls_del == tx_tls_ctx) and the next socket is offloaded again;
#  - eth0 taken down and up under an offloaded transfer: the kernel moves
#    the socket to software (tls_device_down), the driver releases the
#    context, the transfer finishes with the rest sent in software;
#  - the same with sent frames held on the ring (debugfs tx_hold): the
#    device context outlives tls_dev_del until those frames completed
#    (invariant 2, docs/invariants.md), then it is destroyed;
#  - the driver unbound from eth0's device under an offloaded transfer,
#    then bound again: the connection finishes in software, no crash,
#    warning or driver error, and the new eth0 offloads again.
# Every event happens while the sender is held after 4 MiB of a 16 MiB
# file (tlsnic-ktls --pause-after), so the transfer is provably live.
#
# tools/tlsnic-vm --devsim-args '--max-contexts 2' -- selftests/vm/tls_tx_contexts.sh
# tlsnic-vm-args: --devsim-args '--max-contexts 2' --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

MID=/tmp/tls_tx_contexts.data

ktap_plan 18

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

# Each event happens while the sender is held after PAUSE bytes of the
# 16 MiB file (tlsnic-ktls --pause-after): the connection is provably
# open, offloaded and mid-transfer, and bytes move on both sides of it.
PAUSE=$((4 * 1024 * 1024))

# start_paused: $MID from a to b, held after PAUSE bytes, offloaded.
start_paused() {
	ktx_start_offloaded_paused "--expect-sha256 $(cat "$MID.sha256")" \
		"--send sendfile --file $MID" "$PAUSE"
}

# moved_to_software MID AFTER: after tls_device_down the rest of the
# transfer went out in software, the device encrypted none of it.
moved_to_software() {
	n=$(delta tx_tls_encrypted_bytes "$1" "$2")
	ktap_diag "device encrypted $n bytes after the event"
	[ "$n" -eq 0 ]
}

before=$(ktx_snap)
if start_paused && ip -n a link set eth0 down && ip -n a link set eth0 up; then
	ktap_pass "link down and up under an offloaded transfer"
else
	ktap_fail "link down and up under an offloaded transfer"
fi
mid=$(ktx_snap)
if ktx_finish_paused; then
	ktap_pass "transfer across the link flap: sha256sum's hash at b"
else
	ktap_fail "transfer across the link flap: sha256sum's hash at b"
fi
after=$(ktx_snap)
ktap_diag "tx_tls_del_deferred +$(delta tx_tls_del_deferred "$before" "$after")"
released_sw() {
	ktx_wait_idle 10 && moved_to_software "$mid" "$after"
}
ktap_check "context released after tls_device_down, the rest sent in software" released_sw

VDEV=$(basename "$(ip netns exec a readlink -f /sys/class/net/eth0/device)")
DRV=/sys/bus/virtio/drivers/tlsnic

# --- tls_dev_del while frames naming the context are still on the ring

# debugfs tx_hold leaves sent frames unreaped: the link goes down with
# frames of the offloaded socket on the ring, so tls_device_down's
# tls_dev_del must not destroy the device context yet; the context goes
# once the frames complete after the link is up again. The sender resumes
# with tx_hold set: the frames the driver queues from then on
# (tx_tls_encrypted_bytes moves) stay on the ring.
held_frames() {
	enc=$(counter eth0 tx_tls_encrypted_bytes)
	echo 1 > "$HOLD" || return 1
	ktx_resume
	wait_until 60 "no frame queued after tx_hold" \
		test "$(counter eth0 tx_tls_encrypted_bytes)" -gt "$enc"
	ktap_diag "frames held: tx_tls_encrypted_bytes +$(($(counter eth0 tx_tls_encrypted_bytes) - enc)) since tx_hold"
}

mount -t debugfs none /sys/kernel/debug 2> /dev/null
HOLD=/sys/kernel/debug/tlsnic/$VDEV/tx_hold
before=$(ktx_snap)
if [ -w "$HOLD" ] || fail_msg "no $HOLD"; then
	if start_paused && held_frames && ip -n a link set eth0 down; then
		active=$(counter eth0 tx_tls_ctx_active)
		echo 0 > "$HOLD"
		mid=$(ktx_snap)
		ktap_diag "link down with frames held: tx_tls_ctx_active $active, tx_tls_del_deferred +$(delta tx_tls_del_deferred "$before" "$mid")"
		ktap_check "tls_dev_del with frames queued: context kept (tx_tls_del_deferred)" \
			test "$active" = 1 -a "$(delta tx_tls_del_deferred "$before" "$mid")" = 1
	else
		echo 0 > "$HOLD"
		ktap_fail "tls_dev_del with frames queued: context kept (tx_tls_del_deferred)"
	fi
else
	ktap_fail "tls_dev_del with frames queued: context kept (tx_tls_del_deferred)"
fi
if ip -n a link set eth0 up && ktx_finish_paused; then
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
	wait_until 10 "eth0 has no carrier" sh -c 'ip -n a link show eth0 | grep -q LOWER_UP'
}

# The connection outlives its NIC: unbound while the sender is held, the
# socket falls back to software (tls_device_down), and once the driver is
# bound again and eth0 is back with its address, the sender resumes and
# the transfer completes.
if start_paused && echo "$VDEV" > $DRV/unbind; then
	ktap_pass "unbind tlsnic from $VDEV under an offloaded transfer"
else
	ktap_fail "unbind tlsnic from $VDEV under an offloaded transfer"
fi
if echo "$VDEV" > $DRV/bind && rewire && feature eth0 tls-hw-tx-offload on; then
	ktap_pass "bind tlsnic to $VDEV again, eth0 back in netns a"
else
	ktap_fail "bind tlsnic to $VDEV again, eth0 back in netns a"
fi
mid=$(ktx_snap)
if ktx_finish_paused; then
	after=$(ktx_snap)
	ktap_check "transfer across unbind and bind: sha256sum's hash at b, the rest in software" \
		moved_to_software "$mid" "$after"
else
	ktap_fail "transfer across unbind and bind: sha256sum's hash at b, the rest in software"
fi
before=$(ktx_snap)
if ktx_run "--bytes 4M" "--bytes 4M"; then
	after=$(ktx_snap)
	ktap_check "after rebind: transfer offloaded, sha256 equal at b" \
		test "$(delta TlsTxDevice "$before" "$after")" -eq 1
else
	ktap_fail "after rebind: transfer offloaded, sha256 equal at b"
fi

ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

rm -f "$MID" "$MID.sha256"
ktap_finish
