# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the teardown-under-load VM tests (selftests/vm/teardown_*.sh),
# sourced after lib.sh, ktls_tx_lib.sh, ktls_rx_lib.sh and wire_lib.sh.
# Kept out of selftests/vm/ so that no runner takes it for a test.
#
# A load is TDL_N TLS 1.2 connections between one tlsnic-ktls server in b
# and one client in a (--count TDL_N --parallel, keyed with setsockopt,
# so the kernel offloads TX and RX at both ends: four device contexts per
# connection). Each connection makes four transfers that alternate
# direction:
#
#   a->b TDL_A   b->a TDL_C   a->b TDL_B   b->a TDL_D
#
# and is held twice (tlsnic-ktls --pause-after, one barrier per end):
#
#   server: after TDL_PS bytes of its first transfer (b->a)  "held"
#   client: after TDL_A + TDL_PC bytes (in its second a->b)  "parked"
#
# A test starts the load, waits until every connection is held (each one
# is then established, offloaded at both ends and has moved data both
# ways), checks the device contexts, releases the servers and acts while
# the rest of b->a TDL_C and the first TDL_PC of a->b TDL_B flow. The
# clients' pause keeps every connection open through the event whatever
# the timing; connections that had not reached it when the event began
# were moving data at that moment (TDL_MOVING counts them). Afterwards
# every connection reaches its parked point, is released and sends the
# rest both ways (TDL_B - TDL_PC a->b, TDL_D b->a): data after the event
# on every connection, in both directions, checked by SHA-256 at each end.

TDL_DIR=/tmp/teardown
TDL_PORT=9000
TDL_N=${TLSNIC_TEARDOWN_CONNS:-32}
TDL_A=256K
TDL_C=4M
TDL_B=1M
TDL_D=256K
TDL_PS=256K
TDL_PC=256K

# tdl_uptime: the guest's uptime in seconds, for diagnostics only.
tdl_uptime() {
	cut -d' ' -f1 /proc/uptime
}

# tdl_start: start the load; its files in $TDL_DIR: s.out, c.out, ...,
# the barriers s/ and c/.
tdl_start() {
	rm -rf "$TDL_DIR"
	mkdir -p "$TDL_DIR/s" "$TDL_DIR/c" || return 1
	TDL_PORT=$((TDL_PORT + 1))
	ip netns exec b "$KTLS" --listen "$ADDR_B:$TDL_PORT" --cert "$KTX_CERT" \
		--key "$KTX_KEY" --timeout 600 --count "$TDL_N" --parallel \
		--dir both --bytes "$TDL_C,$TDL_D" \
		--pause-after "$(size_bytes $TDL_PS)" --barrier "$TDL_DIR/s" \
		> "$TDL_DIR/s.out" 2> "$TDL_DIR/s.err" &
	TDL_SPID=$!
	ip netns exec a "$KTLS" --connect "$ADDR_B:$TDL_PORT" --timeout 600 \
		--count "$TDL_N" --parallel --dir both --bytes "$TDL_A,$TDL_B" \
		--pause-after "$(($(size_bytes $TDL_A) + $(size_bytes $TDL_PC)))" \
		--barrier "$TDL_DIR/c" > "$TDL_DIR/c.out" 2> "$TDL_DIR/c.err" &
	TDL_CPID=$!
}

# tdl_count_reached END: how many connections have END (s or c) at its pause.
tdl_count_reached() {
	set -- "$TDL_DIR/$1"/reached.*
	[ -e "$1" ] || { echo 0; return; }
	echo $#
}

# tdl_wait_reached END SECS: until every connection's END is at its pause;
# fails early once a process of the load is gone.
tdl_wait_reached() {
	_tw_n=$(($2 * 5))
	while [ ! -e "$TDL_DIR/$1/reached" ]; do
		if ! kill -0 "$TDL_SPID" 2> /dev/null || ! kill -0 "$TDL_CPID" 2> /dev/null; then
			fail_msg "tlsnic-ktls ended before every connection reached the $1 pause"
			tdl_diag
			return 1
		fi
		_tw_n=$((_tw_n - 1))
		if [ $_tw_n -lt 0 ]; then
			fail_msg "$(tdl_count_reached "$1") of $TDL_N connections at the $1 pause after $2 s"
			return 1
		fi
		sleep 0.2
	done
}

# tdl_resume END: release END (s or c) of every connection.
tdl_resume() {
	: > "$TDL_DIR/$1/resume"
}

# tdl_diag: both ends' output, as diagnostics.
tdl_diag() {
	for _td_e in s c; do
		sed "s/^/# $_td_e: /" "$TDL_DIR/$_td_e.out" "$TDL_DIR/$_td_e.err" | tail -n 40
	done
}

# tdl_finish: release both pauses, wait for both ends. Fails unless both
# exit 0, each end got the other's SHA-256 for every transfer of every
# connection (4 per connection) and every connection paused at both ends
# and sent more after it.
tdl_finish() {
	tdl_resume s
	tdl_resume c
	wait "$TDL_CPID"
	_tf_cst=$?
	wait "$TDL_SPID"
	_tf_sst=$?
	ktap_diag "$TDL_N connections done (uptime $(tdl_uptime))"
	if [ $_tf_cst -ne 0 ] || [ $_tf_sst -ne 0 ]; then
		tdl_diag
		fail_msg "tlsnic-ktls failed (server $_tf_sst, client $_tf_cst)"
		return 1
	fi
	_tf_d=$TDL_DIR
	if [ "$(ktx_hashes "$_tf_d/c.out" tx)" != "$(ktx_hashes "$_tf_d/s.out" rx)" ] ||
	   [ "$(ktx_hashes "$_tf_d/s.out" tx)" != "$(ktx_hashes "$_tf_d/c.out" rx)" ]; then
		tdl_diag
		fail_msg "sent and received hashes differ"
		return 1
	fi
	for _tf_e in s c; do
		_tf_ok=$(grep -c '^ktls: .* result=ok' "$_tf_d/$_tf_e.out")
		_tf_p=$(grep -c '^pause: .* resumed$' "$_tf_d/$_tf_e.out")
		[ "$_tf_ok" -eq $((4 * TDL_N)) ] && [ "$_tf_p" -eq "$TDL_N" ] || {
			tdl_diag
			fail_msg "$_tf_e: $_tf_ok transfers ok, $_tf_p pauses; expected $((4 * TDL_N)) and $TDL_N"
			return 1
		}
	done
}

# tdl_abort: end whatever is left of the load after a failed step.
tdl_abort() {
	[ -n "${TDL_SPID:-}" ] || return 0
	tdl_resume s 2> /dev/null
	tdl_resume c 2> /dev/null
	kill "$TDL_SPID" "$TDL_CPID" 2> /dev/null
	wait "$TDL_SPID" "$TDL_CPID"
	tdl_diag
}

# tdl_bytes_each_way: payload bytes of the load, "a->b b->a".
tdl_bytes_each_way() {
	echo "$((TDL_N * ($(size_bytes $TDL_A) + $(size_bytes $TDL_B)))) $((TDL_N * ($(size_bytes $TDL_C) + $(size_bytes $TDL_D))))"
}

# tdl_live DEV: DEV's live device contexts "TX RX" (driver gauges).
tdl_live() {
	stats "$1" | awk '$1 == "tx_tls_ctx_active" { t = $2 } $1 == "rx_tls_ctx_active" { r = $2 }
		END { print t " " r }'
}

# tdl_all_offloaded: each port holds one TX and one RX context per
# connection of the load (every socket offloaded both ways at both ends).
tdl_all_offloaded() {
	for _to_dev in eth0 eth1; do
		_to_l=$(tdl_live $_to_dev)
		ktap_diag "$_to_dev live contexts (TX RX): $_to_l"
		[ "$_to_l" = "$TDL_N $TDL_N" ] ||
			{ fail_msg "$_to_dev: expected $TDL_N TX and $TDL_N RX contexts"; return 1; }
	done
}

# tdl_traffic: the offloaded bytes both ports' devices handled so far
# (encrypted TX plus decrypted RX payload), one number.
tdl_traffic() {
	{ stats eth0; stats eth1; } |
		awk '$1 == "tx_tls_encrypted_bytes" || $1 == "rx_tls_decrypted_bytes" { n += $2 }
			END { printf "%.0f\n", n }'
}

# tdl_wait_traffic FROM SECS: until tdl_traffic is above FROM (the
# devices are moving data of the load now).
tdl_wait_traffic() {
	wait_until "$2" "the devices moved no offloaded byte" \
		test "$(tdl_traffic)" -gt "$1"
}

# tdl_release_and_wait_flow: release the servers; return once the
# devices have moved bytes since then. Sets TDL_MOVING to the number of
# connections that have not reached their parked point yet (they are
# moving data): the caller acts right after this returns.
tdl_release_and_wait_flow() {
	_trf_t=$(tdl_traffic)
	tdl_resume s
	tdl_wait_traffic "$_trf_t" 60 || return 1
	TDL_MOVING=$((TDL_N - $(tdl_count_reached c)))
	TDL_FLOW=$(($(tdl_traffic) - _trf_t))
	ktap_diag "released the servers, data moving (uptime $(tdl_uptime))"
	[ "$TDL_MOVING" -gt 0 ] ||
		{ fail_msg "every connection had already reached its parked point: nothing moving"; return 1; }
}

# tdl_idle DEV SECS: DEV holds no TLS context (TX, RX) and every command
# it posted was answered.
tdl_idle() {
	wait_until "$2" "$1 still holds contexts (TX RX): $(tdl_live "$1")" \
		test "$(tdl_live "$1")" = "0 0" || return 1
	wait_until "$2" "$1: commands still unanswered" \
		test "$(counter "$1" cmd_posted_done)" = "$(counter "$1" cmd_posted)" \
		-a "$(counter "$1" tx_tls_del_pending)" = 0
}

# tdl_devsim_idle: devsim holds no context on either port.
tdl_devsim_idle() {
	_tdi_s=$(devsim_stats) || return 1
	for _tdi_p in port0 port1; do
		_tdi_a=$(devsim_value "$_tdi_s" $_tdi_p.ctx_active)
		_tdi_r=$(devsim_value "$_tdi_s" $_tdi_p.rx_tls_ctx_active)
		ktap_diag "devsim $_tdi_p: ctx_active $_tdi_a rx_tls_ctx_active $_tdi_r" \
			"ctx_created $(devsim_value "$_tdi_s" $_tdi_p.ctx_created)" \
			"ctx_destroyed $(devsim_value "$_tdi_s" $_tdi_p.ctx_destroyed)" \
			"ctx_wiped_on_reset $(devsim_value "$_tdi_s" $_tdi_p.ctx_wiped_on_reset)"
		[ "$_tdi_a" = 0 ] && [ "$_tdi_r" = 0 ] ||
			{ fail_msg "devsim $_tdi_p still holds contexts"; return 1; }
	done
}

# tdl_all_idle: no context left anywhere: driver on both ports, devsim.
tdl_all_idle() {
	tdl_idle eth0 30 && tdl_idle eth1 30 && tdl_devsim_idle
}

# tdl_setup: certificate, TLS TX and RX offload on at both ports (the
# defaults; checked), one warm-up connection, nothing live.
tdl_setup() {
	ktx_prepare || return 1
	for _tsu_dev in eth0 eth1; do
		for _tsu_f in tls-hw-tx-offload tls-hw-rx-offload; do
			[ "$(feature_state $_tsu_dev $_tsu_f)" = on ] ||
				{ fail_msg "$_tsu_dev: $_tsu_f is $(feature_state $_tsu_dev $_tsu_f), not on"; return 1; }
		done
	done
	ktx_warm_up && tdl_all_idle
}

# tdl_cmd_timeouts: commands both ports' drivers gave up waiting for
# (cmd_timeouts) or did not send while the device was not answering
# (cmd_fail_fast), summed.
tdl_cmd_timeouts() {
	{ stats eth0; stats eth1; } |
		awk '$1 == "cmd_timeouts" || $1 == "cmd_fail_fast" { n += $2 } END { print n + 0 }'
}

# tdl_load_up: start the load and wait until every connection is held
# with its contexts live. A CTX_CREATE the device answers after the
# driver's timeout (TLSNIC_KTLS_CMD_TIMEOUT_MS, reached when the host
# starves the guest or devsim) leaves that socket in software kTLS, by
# design; such a load is finished (and checked) and started again, up to
# three times. Any other shortfall fails.
tdl_load_up() {
	_tl_try=1
	while :; do
		_tl_to=$(tdl_cmd_timeouts)
		ktap_diag "starting $TDL_N connections (uptime $(tdl_uptime))"
		tdl_start || return 1
		tdl_wait_reached s 300 || return 1
		ktap_diag "all $TDL_N held (uptime $(tdl_uptime))"
		tdl_all_offloaded && return 0
		_tl_to=$(($(tdl_cmd_timeouts) - _tl_to))
		[ "$_tl_to" -gt 0 ] && [ $_tl_try -lt 3 ] || return 1
		ktap_diag "$_tl_to commands timed out (host too slow): this load again"
		tdl_finish && tdl_all_idle || return 1
		_tl_try=$((_tl_try + 1))
	done
}

# tdl_event WHAT EVENT EVENT_DESC AFTER AFTER_DESC [DIAG]: one teardown
# event under load, as six KTAP results: the load is up and offloaded;
# EVENT (a command) runs once data flows again; AFTER checks the ports
# after it; every connection reaches its parked point and finishes with
# equal hashes; nothing is left in driver or devsim. DIAG, if given, runs
# before the transfers finish (diagnostics only).
tdl_event() {
	if tdl_load_up; then
		ktap_pass "$1: $TDL_N connections held, offloaded TX and RX at both ends"
		if tdl_release_and_wait_flow && $2; then
			ktap_pass "$1: $3"
		else
			ktap_fail "$1: $3"
		fi
		ktap_check "$1: $5" "$4"
		ktap_check "$1: every connection moved on to its parked point" \
			tdl_wait_reached c 300
		[ -z "$6" ] || $6
		ktap_check "$1: all transfers finished, sha256 equal at both ends" tdl_finish
	else
		tdl_abort
		for _te_d in "$TDL_N connections held, offloaded TX and RX at both ends" \
			"$3" "$5" "every connection moved on to its parked point" \
			"all transfers finished, sha256 equal at both ends"; do
			ktap_fail "$1: $_te_d"
		done
	fi
	ktap_check "$1: no context left in driver or devsim" tdl_all_idle
}
