#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Teardown under load, part 2: offload toggles while 32 TLS 1.2
# connections, offloaded TX and RX at both ends (the defaults), move data
# both ways (selftests/teardown_lib.sh describes the load and how the
# toggles are shown to happen while data moves):
#
#  - ethtool -K tls-hw-tx-offload and tls-hw-rx-offload off and on, 20
#    times on each port, while short connections open and close all the
#    time (each checked by SHA-256 too): the 32 live offloaded sockets go
#    on, every transfer arrives intact;
#  - afterwards: no context left in the driver (tx/rx_tls_ctx_active 0,
#    every command answered) or in devsim (ctx_active 0), no kernel
#    warning or driver error, and the module unloads cleanly.
#
# tools/tlsnic-vm --timeout 1200 --devsim-args '--stats-file @RUN@/devsim.stats' -- selftests/vm/teardown_toggle.sh
# tlsnic-vm-args: --timeout 1200 --devsim-args '--stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../teardown_lib.sh"
require_vm

TOGGLES=${TLSNIC_TEARDOWN_TOGGLES:-20}
CHURN_STOP=/tmp/teardown.churn.stop
CHURN_LOG=/tmp/teardown.churn

ktap_plan 8

ktap_check "setup: TLS TX and RX offload on at eth0 and eth1, nothing live" tdl_setup
set -- $(tdl_bytes_each_way)
ktap_diag "load: $TDL_N connections, $1 bytes a->b and $2 bytes b->a each time"

# --- offload toggles under churn ------------------------------------------

# churn: short offloaded connections one after another until $CHURN_STOP,
# each with 64 KiB both ways; "ok" or "fail" per connection in $CHURN_LOG.
churn() {
	while [ ! -e $CHURN_STOP ]; do
		if ktx_run "--dir both --count 2 --parallel --bytes 64K" \
			   "--dir both --count 2 --parallel --bytes 64K" > /dev/null; then
			echo ok >> $CHURN_LOG
		else
			echo fail >> $CHURN_LOG
		fi
	done
}

# toggle_dev DEV: tls-hw-tx-offload off, tls-hw-rx-offload off, both
# checked off, then both on again and checked, inside DEV's netns.
toggle_dev() {
	ip netns exec "$(ns_of "$1")" sh -c '
		state() {
			ethtool -k $0 | awk "\$1 == \"tls-hw-tx-offload:\" { t = \$2 }
				\$1 == \"tls-hw-rx-offload:\" { r = \$2 } END { print t, r }"
		}
		ethtool -K $0 tls-hw-tx-offload off && ethtool -K $0 tls-hw-rx-offload off &&
			[ "$(state)" = "off off" ] || { echo "# FAIL: $0: not off: $(state)"; exit 1; }
		ethtool -K $0 tls-hw-tx-offload on && ethtool -K $0 tls-hw-rx-offload on &&
			[ "$(state)" = "on on" ] || { echo "# FAIL: $0: not on: $(state)"; exit 1; }
	' "$1"
}

# toggle_all: TOGGLES rounds of toggle_dev at both ports.
toggle_all() {
	_t=0
	while [ $_t -lt "$TOGGLES" ]; do
		toggle_dev eth0 && toggle_dev eth1 || return 1
		_t=$((_t + 1))
	done
}

toggled() {
	t0=$(tdl_traffic)
	ktap_diag "toggles start with $TDL_MOVING of $TDL_N connections moving data (uptime $(tdl_uptime))"
	toggle_all || return 1
	t1=$(tdl_traffic)
	ktap_diag "$TOGGLES rounds done: $((t1 - t0)) offloaded bytes moved meanwhile," \
		"$(grep -c ok $CHURN_LOG 2> /dev/null) short connections done (uptime $(tdl_uptime))"
	[ "$t1" -gt "$t0" ] || { fail_msg "no offloaded byte moved during the toggles"; return 1; }
}

churn_ok() {
	ok=$(grep -c '^ok$' $CHURN_LOG)
	bad=$(grep -c '^fail$' $CHURN_LOG)
	ktap_diag "short connections: $ok ok, $bad failed"
	[ "$ok" -gt 0 ] && [ "$bad" -eq 0 ]
}

what="offload toggled $TOGGLES times"
rm -f $CHURN_STOP $CHURN_LOG
if tdl_load_up; then
	ktap_pass "$what: $TDL_N connections held, offloaded TX and RX at both ends"
	KTX_PORT=8000
	churn &
	cpid=$!
	if tdl_release_and_wait_flow && toggled; then
		ktap_pass "$what: toggles done while data moved and connections came and went"
	else
		ktap_fail "$what: toggles done while data moved and connections came and went"
	fi
	touch $CHURN_STOP
	wait $cpid
	ktap_check "$what: every short connection ok (sha256 equal)" churn_ok
	ktap_check "$what: all transfers finished, sha256 equal at both ends" tdl_finish
else
	tdl_abort
	ktap_fail "$what: $TDL_N connections held, offloaded TX and RX at both ends"
	ktap_fail "$what: toggles done while data moved and connections came and went"
	ktap_fail "$what: every short connection ok (sha256 equal)"
	ktap_fail "$what: all transfers finished, sha256 equal at both ends"
fi
ktap_check "$what: no context left in driver or devsim" tdl_all_idle

ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
ktap_check "rmmod tlsnic: clean unload" ktx_rmmod_clean

ktap_finish
