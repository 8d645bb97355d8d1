# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the TLS TX offload VM tests (selftests/vm/tls_tx_*.sh), sourced
# after lib.sh. Kept out of selftests/vm/ so that no runner takes it for a
# test. Connections go from netns a (eth0, the offloading sender) to netns b
# (eth1, the receiver, in software), with tools/build/tlsnic-ktls at both
# ends: the server in b receives, the client in a sends.

KTLS="$TREE/tools/build/tlsnic-ktls"
KTX_OUT=/tmp/ktls_tx
KTX_PORT=7000
KTX_CERT=/tmp/ktls_tx.cert
KTX_KEY=/tmp/ktls_tx.key
# Where the client connects (the server listens there): b's IPv4 address by
# default; "[$ADDR6_B]" for IPv6.
KTX_DST=$ADDR_B
# The netns of the server and of the client (a test may swap them, with
# KTX_DST set to a's address).
KTX_SERVER_NS=b
KTX_CLIENT_NS=a

# tls_stat NS FIELD: a /proc/net/tls_stat counter of netns NS (per netns).
tls_stat() {
	ip netns exec "$1" cat /proc/net/tls_stat 2> /dev/null |
		awk -v f="$2" '$1 == f { v = $2 } END { print v + 0 }'
}

# ktx_field FILE NAME: the NAME= values of FILE's result lines, one per line.
ktx_field() {
	sed -n "s/^ktls: .* $2=\([^ ]*\).*/\1/p" "$1"
}

# ktx_hashes FILE DIR: "bytes sha256" of FILE's dir=DIR result lines, sorted:
# parallel connections finish, and are numbered at each end, in any order.
ktx_hashes() {
	sed -n "s/^ktls: .* dir=$2 bytes=\([0-9]*\) sha256=\([0-9a-f]*\) .*/\1 \2/p" "$1" | sort
}

# ktx_prepare: tlsnic-ktls present, a certificate for the servers.
ktx_prepare() {
	if [ ! -x "$KTLS" ]; then
		fail_msg "$KTLS missing; run make -C tools on the host"
		return 1
	fi
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KTX_KEY" \
		-out "$KTX_CERT" -subj /CN=tlsnic-ktls -days 2 > /dev/null 2>&1 ||
		{ fail_msg "openssl req failed"; return 1; }
}

# ktx_warm_up: the first kTLS sockets of a boot instantiate gcm(aes) while
# both ends race for it; the loser has been seen to fall back to software.
# One throw-away connection settles that before anything is counted.
ktx_warm_up() {
	ktx_run "--bytes 1" "--bytes 1" ||
		{ fail_msg "warm-up connection failed"; return 1; }
}

# ktx_setup: ktx_prepare, TLS TX offload on eth0 and off on eth1, TLS RX
# offload off on both, so that b receives in software kTLS (the oracle) and
# a's sockets take device contexts for TX only; ktx_warm_up.
ktx_setup() {
	ktx_prepare || return 1
	feature eth0 tls-hw-tx-offload on || return 1
	for _dev in eth0 eth1; do
		[ "$(feature_state $_dev tls-hw-rx-offload)" = off ] ||
			feature $_dev tls-hw-rx-offload off || return 1
	done
	[ "$(feature_state eth0 tls-hw-tx-offload)" = on ] ||
		{ fail_msg "eth0 cannot offload TLS TX (devsim without its TLS TX engine?)"; return 1; }
	feature eth1 tls-hw-tx-offload off || return 1
	ktx_warm_up
}

# ktx_start SERVER_ARGS CLIENT_ARGS: start one connection (or --count of
# them) in the background, the server in b, the client in a (unless
# KTX_SERVER_NS/KTX_CLIENT_NS say otherwise); their pids in
# KTX_SPID and KTX_CPID, their output in $KTX_OUT.s and $KTX_OUT.c.
ktx_start() {
	KTX_PORT=$((KTX_PORT + 1))
	# shellcheck disable=SC2086 # argument lists
	ip netns exec "$KTX_SERVER_NS" "$KTLS" --listen "$KTX_DST:$KTX_PORT" --cert "$KTX_CERT" \
		--key "$KTX_KEY" --timeout 120 $1 > "$KTX_OUT.s" 2> "$KTX_OUT.s.err" &
	KTX_SPID=$!
	# shellcheck disable=SC2086
	ip netns exec "$KTX_CLIENT_NS" "$KTLS" --connect "$KTX_DST:$KTX_PORT" --timeout 120 $2 \
		> "$KTX_OUT.c" 2> "$KTX_OUT.c.err" &
	KTX_CPID=$!
}

KTX_BARRIER=/tmp/ktls_tx.barrier

# ktx_start_paused SERVER_ARGS CLIENT_ARGS BYTES: ktx_start, the client
# pausing after BYTES of payload (tlsnic-ktls --pause-after). Returns once
# the client has written those bytes and waits: the connection is provably
# mid-transfer until ktx_resume.
ktx_start_paused() {
	rm -rf "$KTX_BARRIER"
	mkdir -p "$KTX_BARRIER" || return 1
	KTX_PAUSE=$3
	ktx_start "$1" "$2 --pause-after $3 --barrier $KTX_BARRIER"
	KTX_PAUSED=1
	if ! wait_for_file "$KTX_BARRIER/reached" 120 "$KTX_CPID"; then
		sed 's/^/# client: /' "$KTX_OUT.c" "$KTX_OUT.c.err"
		fail_msg "the client did not reach its pause after $3 bytes"
		return 1
	fi
}

# ktx_start_offloaded_paused SERVER_ARGS CLIENT_ARGS BYTES: ktx_start_paused
# once no device context is left from earlier sockets; then the paused
# socket must be offloaded (one live device context) and the device must
# have encrypted bytes of it before the test acts.
ktx_start_offloaded_paused() {
	ktx_wait_idle 10 || return 1
	_ko_enc=$(counter eth0 tx_tls_encrypted_bytes)
	ktx_start_paused "$1" "$2" "$3" || return 1
	[ "$(counter eth0 tx_tls_ctx_active)" = 1 ] ||
		{ fail_msg "no live device context under the paused socket"; return 1; }
	wait_until 60 "the device encrypted nothing of the socket before its pause" \
		test "$(counter eth0 tx_tls_encrypted_bytes)" -gt "$_ko_enc" || return 1
	ktap_diag "paused after $3 bytes, the device encrypted $(($(counter eth0 tx_tls_encrypted_bytes) - _ko_enc)) bytes so far"
}

# ktx_resume: let the paused client send the rest.
ktx_resume() {
	: > "$KTX_BARRIER/resume"
}

# ktx_abort_paused: after a failed step, end the connection ktx_start_paused
# started, if any, its output as diagnostics.
ktx_abort_paused() {
	[ -n "${KTX_PAUSED:-}" ] || return 0
	KTX_PAUSED=
	ktx_resume
	kill "$KTX_CPID" "$KTX_SPID" 2> /dev/null
	ktx_finish > /dev/null
	sed 's/^/# client: /' "$KTX_OUT.c" "$KTX_OUT.c.err"
}

# ktx_finish_paused: ktx_resume, ktx_finish, and the sender (the client,
# or the server if it paused) really paused after KTX_PAUSE bytes and sent
# more after it resumed.
ktx_finish_paused() {
	KTX_PAUSED=
	ktx_resume
	ktx_finish || return 1
	_kp_out=$KTX_OUT.c
	grep -q '^pause: ' "$KTX_OUT.s" && _kp_out=$KTX_OUT.s
	_kp_at=$(sed -n 's/^pause: .* sent=\([0-9]*\) resumed$/\1/p' "$_kp_out")
	_kp_total=$(sed -n 's/^ktls: .* dir=tx bytes=\([0-9]*\) .*/\1/p' "$_kp_out" |
		awk '{ n += $1 } END { print n + 0 }')
	ktap_diag "sender paused after ${_kp_at:-?} of $_kp_total payload bytes"
	[ "$_kp_at" = "$KTX_PAUSE" ] && [ "$_kp_total" -gt "$_kp_at" ] ||
		{ fail_msg "no pause after $KTX_PAUSE bytes with bytes sent after it"; return 1; }
}

# ktx_finish: wait for ktx_start's connection. Fails, with both ends' output
# as diagnostics, unless both exit 0 and every byte either end sent arrived
# at the other with the same SHA-256. Sets KTX_MBPS to the client's rate of
# its last transfer sent.
ktx_finish() {
	KTX_MBPS=
	wait "$KTX_CPID"
	cst=$?
	wait "$KTX_SPID"
	sst=$?
	if [ $cst -ne 0 ] || [ $sst -ne 0 ]; then
		sed 's/^/# server: /' "$KTX_OUT.s" "$KTX_OUT.s.err"
		sed 's/^/# client: /' "$KTX_OUT.c" "$KTX_OUT.c.err"
		ktx_stall_diag
		fail_msg "tlsnic-ktls failed (server $sst, client $cst)"
		return 1
	fi
	sent=$(ktx_hashes "$KTX_OUT.c" tx)
	sent_s=$(ktx_hashes "$KTX_OUT.s" tx)
	if [ -z "$sent$sent_s" ] || [ "$sent" != "$(ktx_hashes "$KTX_OUT.s" rx)" ] ||
	   [ "$sent_s" != "$(ktx_hashes "$KTX_OUT.c" rx)" ]; then
		sed 's/^/# server: /' "$KTX_OUT.s"
		sed 's/^/# client: /' "$KTX_OUT.c"
		fail_msg "sent and received hashes differ"
		return 1
	fi
	if grep -h '^ktls: ' "$KTX_OUT.c" "$KTX_OUT.s" | grep -qv ' result=ok'; then
		fail_msg "a transfer did not end with result=ok"
		return 1
	fi
	KTX_MBPS=$(ktx_field "$KTX_OUT.c" mbps | tail -n 1)
	return 0
}

# ktx_stall_diag: what tells a stalled connection apart once it failed:
# the sender's TCP retransmission counters (a retransmission held back
# because the original frame is still on the NIC's ring counts
# TCPSpuriousRtxHostQueues) and every non-zero NIC counter of both ends.
ktx_stall_diag() {
	for _sd_ns in a b; do
		ip netns exec $_sd_ns nstat -az 2> /dev/null |
			awk -v ns=$_sd_ns '$1 ~ /^TcpExt(TCPSpuriousRtxHostQueues|TCPTimeouts|TCPLossProbes)$|^Tcp(RetransSegs|OutSegs|InSegs)$/ { print "# " ns ": " $1 " " $2 }'
	done
	stats eth0 | awk '$2 != 0 { print "# eth0: " $1 " " $2 }'
	stats eth1 | awk '$2 != 0 { print "# eth1: " $1 " " $2 }'
}

# ktx_run SERVER_ARGS CLIENT_ARGS: ktx_start and ktx_finish.
ktx_run() {
	ktx_start "$1" "$2"
	ktx_finish
}

# ktx_client_ktls_tx: every transfer of the client really used kTLS TX.
ktx_client_ktls_tx() {
	_k_tx=$(ktx_field "$KTX_OUT.c" ktls_tx)
	if [ -z "$_k_tx" ]; then
		fail_msg "the client reported no transfer"
		return 1
	fi
	if printf '%s\n' "$_k_tx" | grep -qv '^1$'; then
		fail_msg "a transfer did not use kernel TLS on the sender"
		return 1
	fi
}

# ktx_snap: eth0's counters and netns a's tls_stat as "name value" lines,
# for lib.sh's delta.
ktx_snap() {
	stats eth0
	ip netns exec a cat /proc/net/tls_stat 2> /dev/null | awk '{ print $1, $2 }'
}

# ktx_offloaded WHAT BEFORE AFTER MIN_BYTES: between two ktx_snap snapshots
# exactly one socket of netns a was offloaded (none in software), and eth0's
# device encrypted at least MIN_BYTES of TCP payload.
ktx_offloaded() {
	_o_dev=$(delta TlsTxDevice "$2" "$3")
	_o_sw=$(delta TlsTxSw "$2" "$3")
	_o_pk=$(delta tx_tls_encrypted_packets "$2" "$3")
	_o_by=$(delta tx_tls_encrypted_bytes "$2" "$3")
	ktap_diag "$1: TlsTxDevice +$_o_dev TlsTxSw +$_o_sw tx_tls_encrypted_packets +$_o_pk bytes +$_o_by"
	[ "$_o_dev" -eq 1 ] && [ "$_o_sw" -eq 0 ] ||
		{ fail_msg "expected one offloaded socket, no software one"; return 1; }
	[ "$_o_pk" -gt 0 ] && [ "$_o_by" -ge "$4" ] ||
		{ fail_msg "device encrypted $_o_by bytes, expected >= $4"; return 1; }
}

# ktx_no_drops: since boot eth0 dropped no frame (no tx_tls_drop_* counter,
# no TX queue's drops) and the device refused no context.
ktx_no_drops() {
	stats eth0 | awk '($1 ~ /^tx_tls_drop/ || $1 == "tx_tls_ctx_err" || $1 ~ /^tx[0-9]+_drops$/) {
			n++; if ($2 != 0) { print "# FAIL: " $1 " = " $2; bad = 1 } }
		END { if (n < 2) print "# FAIL: no drop counters on eth0"; exit bad || n < 2 }'
}

# ktx_wait_idle SECS: until eth0 has no TLS context left on the device
# (sockets are destroyed asynchronously after close).
ktx_wait_idle() {
	i=0
	while [ "$(counter eth0 tx_tls_ctx_active)" != 0 ]; do
		i=$((i + 1))
		if [ $i -gt $(($1 * 5)) ]; then
			fail_msg "eth0 still has $(counter eth0 tx_tls_ctx_active) TLS contexts after $1 s"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

# ktx_dmesg_clean: no kernel warning and no driver error since boot.
ktx_dmesg_clean() {
	{ dmesg | grep -E 'WARNING:|BUG:|Call Trace:|refcount_t:'; driver_errors; } \
		> /tmp/ktls_tx.dmesg
	if [ -s /tmp/ktls_tx.dmesg ]; then
		sed 's/^/# dmesg: /' /tmp/ktls_tx.dmesg
		return 1
	fi
	return 0
}

# ktx_wait_cmd_settled SECS: until eth0's driver has the reply to every
# command it posted without waiting (CTX_DESTROY, probes) and has nothing
# left to post: the device answered everything it was sent.
ktx_wait_cmd_settled() {
	i=0
	while [ "$(counter eth0 cmd_posted_done)" != "$(counter eth0 cmd_posted)" ] ||
	      [ "$(counter eth0 tx_tls_del_pending)" != 0 ]; do
		i=$((i + 1))
		if [ $i -gt $(($1 * 5)) ]; then
			fail_msg "eth0: cmd_posted $(counter eth0 cmd_posted), cmd_posted_done $(counter eth0 cmd_posted_done), tx_tls_del_pending $(counter eth0 tx_tls_del_pending) after $1 s"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

# ktx_rmmod_clean: the driver unloads, both NICs go, and the kernel log
# has no context left behind ("still referenced") and no warning.
ktx_rmmod_clean() {
	rmmod tlsnic || { fail_msg "rmmod tlsnic failed"; return 1; }
	if [ -e /sys/module/tlsnic ]; then
		fail_msg "/sys/module/tlsnic still there"
		return 1
	fi
	if dmesg | grep -i 'still referenced' > /tmp/ktls_tx.dmesg; then
		sed 's/^/# dmesg: /' /tmp/ktls_tx.dmesg
		return 1
	fi
	ktx_dmesg_clean
}
