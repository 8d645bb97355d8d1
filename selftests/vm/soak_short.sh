#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The short soak: 100 connections at once, TLS offloaded at both ends, of
# mixed sizes and directions, 32 MiB in all, over a wire that loses,
# reorders, duplicates and corrupts 1 % of the frames each. What it moves
# and checks: selftests/soak_lib.sh. `make soak` runs the same with 2 GiB.
#
# tools/tlsnic-vm --timeout 2400 --devsim-args '--loss 1 --reorder 1 --dup 1 --corrupt 1 --seed 3 --stats-file @RUN@/devsim.stats' -- selftests/vm/soak_short.sh
# tlsnic-vm-args: --timeout 2400 --devsim-args '--loss 1 --reorder 1 --dup 1 --corrupt 1 --seed 3 --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
. "$(dirname "$0")/../faults_lib.sh"
. "$(dirname "$0")/../soak_lib.sh"
require_vm

soak_main 32M
