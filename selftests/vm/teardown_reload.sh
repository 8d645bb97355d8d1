#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Teardown under load, part 3: the driver goes away while 32 TLS 1.2
# connections, offloaded TX and RX at both ends (the defaults), move data
# both ways (selftests/teardown_lib.sh describes the load and how the
# event is shown to happen while data moves):
#
#  - rmmod tlsnic, then insmod and the netns setup again: the kernel moves
#    both ports' sockets to software kTLS (tls_device_down), the module
#    unloads with 128 offloaded contexts live, TCP retransmits over the
#    new netdevs and every transfer ends with the sender's SHA-256 at both
#    ends;
#  - afterwards: no context left in the driver (tx/rx_tls_ctx_active 0,
#    every command answered) or in devsim (ctx_active 0), no kernel
#    warning or driver error, and the module unloads cleanly.
#
# tools/tlsnic-vm --timeout 900 --devsim-args '--stats-file @RUN@/devsim.stats' -- selftests/vm/teardown_reload.sh
# tlsnic-vm-args: --timeout 900 --devsim-args '--stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../teardown_lib.sh"
require_vm

# The module the guest booted with (tools/tlsnic-vm copies it).
KO=${TLSNIC_KO:-$TREE/driver/tlsnic.ko}

ktap_plan 9

ktap_check "setup: TLS TX and RX offload on at eth0 and eth1, nothing live" tdl_setup
set -- $(tdl_bytes_each_way)
ktap_diag "load: $TDL_N connections, $1 bytes a->b and $2 bytes b->a each time"

reload() {
	ktap_diag "rmmod with $TDL_MOVING of $TDL_N connections moving data," \
		"$TDL_FLOW offloaded bytes since the servers were released (uptime $(tdl_uptime))"
	rmmod tlsnic || { fail_msg "rmmod tlsnic failed"; return 1; }
	[ ! -e /sys/module/tlsnic ] || { fail_msg "/sys/module/tlsnic still there"; return 1; }
	ktap_diag "unloaded: $(tdl_count_reached c) connections parked (uptime $(tdl_uptime))"
	insmod "$KO" && netsetup
}

# fresh_both: both new ports hold no context: every socket is in software.
fresh_both() {
	ktap_diag "after reload: eth0 (TX RX) $(tdl_live eth0), eth1 $(tdl_live eth1)"
	[ "$(tdl_live eth0)" = "0 0" ] && [ "$(tdl_live eth1)" = "0 0" ]
}

tdl_event "rmmod and insmod tlsnic" reload \
	"module unloaded and loaded again while data moved" \
	fresh_both "new ports without contexts"

ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
ktap_check "rmmod tlsnic: clean unload" ktx_rmmod_clean

ktap_finish
