#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# CTX_CREATE replies that come after the driver gave up on them
# (invariant 10, docs/invariants.md), using devsim's --cmd-delay-ms 3000: every
# reply to a context command is 1 s later than the driver's 2 s timeout.
#
#  - sockets keyed for offload fall back to software (TlsTxSw) and their
#    data arrives intact;
#  - the device did create their contexts (devsim ctx_created > 0); each
#    late reply makes the driver destroy that context
#    (cmd_late_ctx_destroyed == cmd_timeouts), so once every reply is in
#    devsim has none left (ctx_active 0, ctx_created == ctx_destroyed)
#    instead of one per hiccup until its table is full;
#  - the module unloads without a context left behind.
#
# tools/tlsnic-vm --devsim-args '--cmd-delay-ms 3000 --stats-file @RUN@/devsim.stats' -- selftests/vm/tls_tx_ctlpath_late.sh
# tlsnic-vm-args: --timeout 900 --devsim-args '--cmd-delay-ms 3000 --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
require_vm

ktap_plan 6

# The warm-up connection of ktx_setup already meets the delay.
if ktx_setup; then
	ktap_pass "setup: eth0 offers TLS TX offload, eth1 does not"
else
	ktap_fail "setup: eth0 offers TLS TX offload, eth1 does not"
fi

before=$(ktx_snap)
if ktx_run "--count 3 --bytes 1M" "--count 3 --bytes 1M"; then
	after=$(ktx_snap)
	sw() {
		ktap_diag "TlsTxSw +$(delta TlsTxSw "$before" "$after") TlsTxDevice +$(delta TlsTxDevice "$before" "$after") cmd_timeouts +$(delta cmd_timeouts "$before" "$after") cmd_fail_fast +$(delta cmd_fail_fast "$before" "$after")"
		[ "$(delta TlsTxSw "$before" "$after")" -eq 3 ] &&
		[ "$(delta TlsTxDevice "$before" "$after")" -eq 0 ]
	}
	ktap_check "3 sockets with late CTX_CREATE replies: software, sha256 equal at b" sw
else
	ktap_fail "3 sockets with late CTX_CREATE replies: software, sha256 equal at b"
fi

# Every timed-out CTX_CREATE is answered (late) and its context destroyed.
settled() {
	i=0
	while [ "$(counter eth0 cmd_late_ctx_destroyed)" -lt "$(counter eth0 cmd_timeouts)" ]; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			fail_msg "cmd_late_ctx_destroyed $(counter eth0 cmd_late_ctx_destroyed) < cmd_timeouts $(counter eth0 cmd_timeouts) after 30 s"
			return 1
		fi
		sleep 0.2
	done
	ktap_diag "cmd_timeouts $(counter eth0 cmd_timeouts) cmd_late_ctx_destroyed $(counter eth0 cmd_late_ctx_destroyed) cmd_fail_fast $(counter eth0 cmd_fail_fast)"
	[ "$(counter eth0 cmd_timeouts)" -ge 1 ] && ktx_wait_cmd_settled 30
}
ktap_check "each late CTX_CREATE reply destroyed, every CTX_DESTROY answered" settled
ktap_check "driver holds no context" ktx_wait_idle 10

devsim_clean() {
	ds=$(devsim_stats) || return 1
	active=$(devsim_value "$ds" port0.ctx_active)
	created=$(devsim_value "$ds" port0.ctx_created)
	destroyed=$(devsim_value "$ds" port0.ctx_destroyed)
	delayed=$(devsim_value "$ds" port0.cmd_delayed)
	ktap_diag "devsim port0: ctx_active $active ctx_created $created ctx_destroyed $destroyed cmd_delayed $delayed"
	[ "$created" -ge 1 ] && [ "$active" = 0 ] && [ "$created" = "$destroyed" ]
}
ktap_check "devsim: contexts were created, none left (ctx_active 0)" devsim_clean
ktap_check "rmmod tlsnic: no context left behind, no kernel warning" ktx_rmmod_clean

ktap_finish
