#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The TLS control path with a device that stops answering commands
# (invariant 10, docs/invariants.md), using devsim's --cmd-stall-file: while the
# file exists devsim takes no command and sends no reply.
#
#  - 32 offloaded sockets live: keyed on the device (TlsTxDevice +32,
#    tx_tls_ctx_active 32), kept open by stopping their receiver;
#  - the stall file created: the next socket's CTX_CREATE times out, that
#    socket goes to software, and the driver notices the device is not
#    answering (cmd_timeouts +1, cmd_dev_unresponsive +1);
#  - `ip link set eth0 down` (tls_device_down(): tls_dev_del for all 32
#    under rtnl) returns within a 20 s timeout: a CTX_DESTROY waited for
#    per socket would hold rtnl 32 times the 2 s command timeout;
#  - the link up again, 4 new sockets fall back to software at once
#    (cmd_fail_fast +4, no further timeout) and their data arrives intact;
#  - the stall file removed: the device answers what waited on the ring,
#    the CTX_CREATE answered after its timeout is destroyed
#    (cmd_late_ctx_destroyed), the 32 transfers finish with equal hashes, a
#    new socket is offloaded again, devsim has no context left
#    (ctx_active 0, ctx_created == ctx_destroyed) and the module unloads
#    without a context left behind.
#
# tools/tlsnic-vm --devsim-args '--cmd-stall-file @RUN@/cmd.stall --stats-file @RUN@/devsim.stats' -- selftests/vm/tls_tx_ctlpath.sh
# tlsnic-vm-args: --timeout 1200 --devsim-args '--cmd-stall-file @RUN@/cmd.stall --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

STALL=$WIRE_RUN/cmd.stall
NSOCK=32

ktap_plan 14

rm -f "$STALL"
if ktx_setup && ktx_wait_idle 10 && ktx_wait_cmd_settled 10; then
	ktap_pass "setup: eth0 offloads TLS TX, eth1 does not"
else
	ktap_fail "setup: eth0 offloads TLS TX, eth1 does not"
fi

# --- 32 live offloaded sockets

# Enough data that no connection can finish while its receiver is stopped.
# Their output files apart from those of the connections made meanwhile.
before=$(ktx_snap)
KTX_OUT=/tmp/ktls_tx.big
ktx_start "--count $NSOCK --parallel --bytes 4M --timeout 900" \
	  "--count $NSOCK --parallel --bytes 4M --timeout 900"
KTX_OUT=/tmp/ktls_tx
BIG_SPID=$KTX_SPID
BIG_CPID=$KTX_CPID
i=0
while [ "$(counter eth0 tx_tls_ctx_active)" -lt $NSOCK ] &&
      kill -0 "$BIG_CPID" 2> /dev/null; do
	i=$((i + 1))
	[ $i -lt 600 ] || break
	sleep 0.1
done
kill -STOP "$BIG_SPID"
mid=$(ktx_snap)
live() {
	dev=$(delta TlsTxDevice "$before" "$mid")
	active=$(counter eth0 tx_tls_ctx_active)
	ktap_diag "TlsTxDevice +$dev, tx_tls_ctx_active $active, receiver stopped"
	[ "$dev" -eq $NSOCK ] && [ "$active" -eq $NSOCK ] && kill -0 "$BIG_CPID"
}
ktap_check "$NSOCK sockets live and offloaded (TlsTxDevice, tx_tls_ctx_active)" live

# --- the device stops answering

touch "$STALL"
before=$(ktx_snap)
if ktx_run "--bytes 1M" "--bytes 1M"; then
	after=$(ktx_snap)
	stalled() {
		ktap_diag "TlsTxSw +$(delta TlsTxSw "$before" "$after") tx_tls_ctx_timeout +$(delta tx_tls_ctx_timeout "$before" "$after") cmd_timeouts +$(delta cmd_timeouts "$before" "$after") cmd_dev_unresponsive +$(delta cmd_dev_unresponsive "$before" "$after")"
		[ "$(delta TlsTxSw "$before" "$after")" -eq 1 ] &&
		[ "$(delta tx_tls_ctx_timeout "$before" "$after")" -eq 1 ] &&
		[ "$(delta cmd_timeouts "$before" "$after")" -eq 1 ] &&
		[ "$(delta cmd_dev_unresponsive "$before" "$after")" -eq 1 ]
	}
	ktap_check "stalled device: CTX_CREATE times out once, socket in software, sha256 equal" stalled
else
	ktap_fail "stalled device: CTX_CREATE times out once, socket in software, sha256 equal"
fi

# --- tls_device_down under rtnl with 32 contexts

before=$(ktx_snap)
# The kernel holds rtnl until tls_dev_del returned for every socket.
if timeout 20 ip -n a link set eth0 down; then
	ktap_pass "ip link set eth0 down with $NSOCK offloaded sockets returns within 20 s"
else
	ktap_fail "ip link set eth0 down with $NSOCK offloaded sockets returns within 20 s"
fi
after=$(ktx_snap)
released() {
	del=$(delta tx_tls_del "$before" "$after")
	deferred=$(delta tx_tls_del_deferred "$before" "$after")
	ktap_diag "tx_tls_del +$del tx_tls_del_deferred +$deferred tx_tls_del_pending $(counter eth0 tx_tls_del_pending) cmd_posted +$(delta cmd_posted "$before" "$after")"
	# Deferred ones go when their frames complete, after the link is up.
	[ $((del + deferred)) -ge $NSOCK ]
}
ktap_check "tls_device_down released all $NSOCK contexts without waiting for the device" released
if timeout 20 ip -n a link set eth0 up; then
	ktap_pass "ip link set eth0 up returns within 20 s"
else
	ktap_fail "ip link set eth0 up returns within 20 s"
fi
i=0
until ip -n a link show eth0 | grep -q LOWER_UP; do
	i=$((i + 1))
	[ $i -lt 100 ] || { fail_msg "eth0 has no carrier"; break; }
	sleep 0.1
done

# --- new sockets while the device is still not answering

before=$(ktx_snap)
if ktx_run "--count 4 --parallel --bytes 1M" "--count 4 --parallel --bytes 1M"; then
	after=$(ktx_snap)
	fast() {
		ktap_diag "TlsTxSw +$(delta TlsTxSw "$before" "$after") TlsTxDevice +$(delta TlsTxDevice "$before" "$after") cmd_fail_fast +$(delta cmd_fail_fast "$before" "$after") cmd_timeouts +$(delta cmd_timeouts "$before" "$after")"
		[ "$(delta TlsTxSw "$before" "$after")" -eq 4 ] &&
		[ "$(delta TlsTxDevice "$before" "$after")" -eq 0 ] &&
		[ "$(delta cmd_fail_fast "$before" "$after")" -eq 4 ] &&
		[ "$(delta cmd_timeouts "$before" "$after")" -eq 0 ]
	}
	ktap_check "4 new sockets: software at once, no command timeout each, sha256 equal" fast
else
	ktap_fail "4 new sockets: software at once, no command timeout each, sha256 equal"
fi

# --- the device answers again

rm -f "$STALL"
before_late=$(counter eth0 cmd_late_ctx_destroyed)
late_done() {
	i=0
	while [ "$(counter eth0 cmd_late_ctx_destroyed)" -lt 1 ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || { fail_msg "no late CTX_CREATE reply destroyed (was $before_late)"; return 1; }
		sleep 0.2
	done
	ktx_wait_cmd_settled 60
}
ktap_check "stall over: every posted command answered, late CTX_CREATE destroyed" late_done

kill -CONT "$BIG_SPID"
KTX_SPID=$BIG_SPID
KTX_CPID=$BIG_CPID
KTX_OUT=/tmp/ktls_tx.big
ktap_check "the $NSOCK transfers finish in software: sha256 equal at b" ktx_finish
KTX_OUT=/tmp/ktls_tx

before=$(ktx_snap)
ktx_run "--bytes 1M" "--bytes 1M"
rc=$?
after=$(ktx_snap)
ktap_check "device answers again: next socket offloaded, sha256 equal" \
	test $rc -eq 0 -a "$(delta TlsTxDevice "$before" "$after")" -eq 1
ktap_check "driver holds no context" ktx_wait_idle 20
ktap_check "every CTX_DESTROY answered" ktx_wait_cmd_settled 20

devsim_clean() {
	ds=$(devsim_stats) || return 1
	active=$(devsim_value "$ds" port0.ctx_active)
	created=$(devsim_value "$ds" port0.ctx_created)
	destroyed=$(devsim_value "$ds" port0.ctx_destroyed)
	stalls=$(devsim_value "$ds" port0.cmd_stalls)
	ktap_diag "devsim port0: ctx_active $active ctx_created $created ctx_destroyed $destroyed cmd_stalls $stalls"
	[ "$active" = 0 ] && [ "$created" = "$destroyed" ] && [ "$stalls" -ge 1 ]
}
ktap_check "devsim: no context left (ctx_active 0, created == destroyed)" devsim_clean
ktap_check "rmmod tlsnic: no context left behind, no kernel warning" ktx_rmmod_clean

ktap_finish
