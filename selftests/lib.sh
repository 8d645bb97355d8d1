# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the VM tests (selftests/vm/*.sh). POSIX sh; sourced by
# tests running inside a tools/tlsnic-vm guest: eth0 in netns a
# (10.77.0.1/24, fd77::1/64), eth1 in netns b (10.77.0.2/24, fd77::2/64).
#
# KTAP output: ktap_plan N once, then one ktap_pass/ktap_fail/ktap_skip per
# test, then ktap_finish, which exits 0 when nothing failed (kselftest
# convention: 1 on failure, 4 when everything was skipped).

# The guest knows the tree (tools/tlsnic-vm); else it is where the test is.
TREE=${TLSNIC_TREE:-$(cd "$(dirname "$0")/../.." && pwd)}
TCPXFER="$TREE/tools/build/tcpxfer"
NETSETUP="$TREE/tools/vm/netsetup"
ADDR_A=10.77.0.1
ADDR_B=10.77.0.2
ADDR6_A=fd77::1
ADDR6_B=fd77::2

KTAP_N=0
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0

ktap_plan() {
	KTAP_PLAN=$1
	echo "TAP version 13"
	echo "1..$1"
}

ktap_diag() {
	echo "# $*"
}

ktap_pass() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_PASS=$((KTAP_PASS + 1))
	echo "ok $KTAP_N - $*"
}

ktap_fail() {
	KTAP_N=$((KTAP_N + 1))
	KTAP_FAIL=$((KTAP_FAIL + 1))
	echo "not ok $KTAP_N - $*"
}

ktap_skip() {
	_ktap_skip_name=$1
	shift
	KTAP_N=$((KTAP_N + 1))
	KTAP_SKIP=$((KTAP_SKIP + 1))
	echo "ok $KTAP_N - $_ktap_skip_name # SKIP $*"
}

# ktap_check NAME CMD...: one test line from a command's exit status.
# The name is kept outside the command's reach (sh has no locals).
ktap_check() {
	_ktap_check_name=$1
	shift
	if "$@"; then
		ktap_pass "$_ktap_check_name"
	else
		ktap_fail "$_ktap_check_name"
	fi
}

ktap_finish() {
	ktap_diag "$KTAP_PASS passed, $KTAP_FAIL failed, $KTAP_SKIP skipped"
	if [ "$KTAP_N" -ne "${KTAP_PLAN:-0}" ]; then
		ktap_diag "FAIL: planned ${KTAP_PLAN:-0} results, reported $KTAP_N"
		exit 1
	fi
	[ "$KTAP_FAIL" -eq 0 ] || exit 1
	[ "$KTAP_PASS" -gt 0 ] || [ "$KTAP_SKIP" -eq 0 ] || exit 4
	exit 0
}

# ktap_skip_rest TOTAL REASON: skip every test not yet reported, for a
# script that cannot run in this guest at all (e.g. the wrong backend).
ktap_skip_rest() {
	while [ "$KTAP_N" -lt "$1" ]; do
		ktap_skip "test $((KTAP_N + 1))" "$2"
	done
	ktap_finish
}

# fail_msg TEXT: print why a check failed (KTAP diagnostic), return 1.
fail_msg() {
	echo "# FAIL: $*"
	return 1
}

# wait_for_file FILE SECS [PID]: until FILE exists. Fails after SECS
# seconds, or as soon as process PID (the one that creates FILE) is gone.
wait_for_file() {
	_wf_i=0
	until [ -e "$1" ]; do
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2> /dev/null; then
			[ -e "$1" ] && return 0
			fail_msg "process $3 ended without creating $1"
			return 1
		fi
		_wf_i=$((_wf_i + 1))
		if [ $_wf_i -gt $(($2 * 10)) ]; then
			fail_msg "no $1 after $2 s"
			return 1
		fi
		sleep 0.1
	done
}

# wait_until SECS WHAT CMD...: until CMD succeeds, polled; fails after SECS
# seconds with "WHAT" as the reason.
wait_until() {
	_wu_n=$(($1 * 10))
	_wu_what=$2
	shift 2
	until "$@"; do
		_wu_n=$((_wu_n - 1))
		if [ $_wu_n -lt 0 ]; then
			fail_msg "$_wu_what"
			return 1
		fi
		sleep 0.1
	done
}

# driver_errors: the driver's own error-level (and worse) kernel messages
# since boot, if any; fails when there are none.
driver_errors() {
	dmesg --level=emerg,alert,crit,err 2> /dev/null | grep -E '^(\[[ 0-9.]*\] )?tlsnic '
}

# The tests need the guest tools/tlsnic-vm builds.
require_vm() {
	if [ "${TLSNIC_VM:-}" != 1 ]; then
		echo "$0: run me in the guest: tools/tlsnic-vm -- $0" >&2
		exit 2
	fi
	if [ ! -x "$TCPXFER" ]; then
		echo "$0: $TCPXFER missing; run make -C tools on the host" >&2
		exit 2
	fi
}

# netsetup: (re)wire eth0/eth1 into netns a/b after the driver was
# (re)loaded, its messages as KTAP diagnostics.
netsetup() {
	_ns_out=$("$NETSETUP" 2>&1)
	_ns_rc=$?
	[ -z "$_ns_out" ] || printf '%s\n' "$_ns_out" | sed 's/^/# /'
	return $_ns_rc
}

ns_of() {
	case "$1" in
	eth0) echo a ;;
	eth1) echo b ;;
	esac
}

# counter DEV NAME: an `ethtool -S` counter of eth0 (netns a) or eth1 (netns b).
counter() {
	ip netns exec "$(ns_of "$1")" ethtool -S "$1" |
		awk -v n="$2" '$1 == n ":" { print $2; found = 1 } END { exit !found }'
}

# stats DEV: all counters as "name value" lines, for diffing later.
stats() {
	ip netns exec "$(ns_of "$1")" ethtool -S "$1" | awk -F': *' 'NR > 1 { gsub(/ /, "", $1); print $1, $2 }'
}

# delta NAME BEFORE AFTER: counter change between two `stats` snapshots.
delta() {
	_d_before=$(printf '%s\n' "$2" | awk -v n="$1" '$1 == n { print $2 }')
	_d_after=$(printf '%s\n' "$3" | awk -v n="$1" '$1 == n { print $2 }')
	if [ -z "$_d_before" ] || [ -z "$_d_after" ]; then
		echo "# no counter $1" >&2
		echo -1
		return
	fi
	echo $((_d_after - _d_before))
}

# feature DEV FEATURE on|off: ethtool -K in the device's netns. Its report
# of dependent features that changed too goes to the log as diagnostics.
feature() {
	_f_out=$(ip netns exec "$(ns_of "$1")" ethtool -K "$1" "$2" "$3" 2>&1)
	_f_rc=$?
	[ -z "$_f_out" ] || printf '%s\n' "$_f_out" | sed "s/^/# $1: /"
	return $_f_rc
}

# feature_state DEV FEATURE: "on" or "off" as ethtool -k reports it.
feature_state() {
	ip netns exec "$(ns_of "$1")" ethtool -k "$1" |
		awk -v f="$2" '$1 == f ":" { print $2 }'
}

set_mtu() {
	ip -n a link set dev eth0 mtu "$1" && ip -n b link set dev eth1 mtu "$1"
}

# snmp NS PROTO FIELD: a counter of /proc/net/snmp inside netns NS.
snmp() {
	ip netns exec "$1" cat /proc/net/snmp |
		awk -v p="$2:" -v f="$3" '$1 == p && !h { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1; next }
			$1 == p && h { print $idx[f] }'
}

# size_bytes SIZE: SIZE (a number with an optional K/M/G suffix) in bytes.
size_bytes() {
	case "$1" in
	*[Kk]) echo $((${1%?} << 10)) ;;
	*[Mm]) echo $((${1%?} << 20)) ;;
	*[Gg]) echo $((${1%?} << 30)) ;;
	*) echo $(($1)) ;;
	esac
}

# make_data FILE MIB: random test data and its sha256 in FILE.sha256.
make_data() {
	head -c $(($2 * 1024 * 1024)) /dev/urandom > "$1" &&
		sha256sum < "$1" | cut -d' ' -f1 > "$1.sha256"
}

XFER_PORT=5000

# xfer FROM_NS TO_NS FILE [ADDR]: send FILE over TCP from netns FROM_NS to
# netns TO_NS (at ADDR, default its IPv4 address), compare sha256 at the
# receiver with FILE.sha256. Sets XFER_RATE
# (MB/s as tcpxfer measured it at the sender). Returns non-zero on any
# failure, with the reason as a KTAP diagnostic.
xfer() {
	_x_from=$1
	_x_to=$2
	_x_src=$3
	_x_out=/tmp/xfer.out
	if [ "$_x_to" = b ]; then _x_dst=$ADDR_B; else _x_dst=$ADDR_A; fi
	_x_dst=${4:-$_x_dst}
	XFER_PORT=$((XFER_PORT + 1))
	XFER_RATE=
	rm -f "$_x_out"
	ip netns exec "$_x_to" "$TCPXFER" recv -t 60 "$XFER_PORT" "$_x_out" > /tmp/xfer.recv 2>&1 &
	_x_rpid=$!
	ip netns exec "$_x_from" "$TCPXFER" send -t 60 "$_x_dst" "$XFER_PORT" "$_x_src" > /tmp/xfer.send 2>&1
	_x_sst=$?
	wait "$_x_rpid"
	_x_rst=$?
	if [ $_x_sst -ne 0 ] || [ $_x_rst -ne 0 ]; then
		sed 's/^/# /' /tmp/xfer.send /tmp/xfer.recv
		fail_msg "transfer $_x_from->$_x_to failed (sender $_x_sst, receiver $_x_rst)"
		return 1
	fi
	XFER_RATE=$(sed -n 's/.*(\([0-9.]*\) MB\/s).*/\1/p' /tmp/xfer.send)
	_x_want=$(cat "$_x_src.sha256")
	_x_got=$(sha256sum < "$_x_out" | cut -d' ' -f1)
	rm -f "$_x_out"
	if [ "$_x_want" != "$_x_got" ]; then
		fail_msg "sha256 differs: sent $_x_want, received $_x_got"
		return 1
	fi
	return 0
}

# vm_request NAME FILE [SECS]: ask the host runner for NAME (tools/tlsnic-vm,
# "Guest requests": memscan, testpmd) with FILE's contents as the argument;
# prints the answer. Fails with the runner's reason, or after SECS seconds
# (default 300) without an answer.
VM_REQUEST_SEQ=0
vm_request() {
	VM_REQUEST_SEQ=$((VM_REQUEST_SEQ + 1))
	_vr_dir=$TLSNIC_VM_RUN/requests
	_vr_id=$1.$$-$VM_REQUEST_SEQ
	{ cp "$2" "$_vr_dir/$_vr_id.tmp" && mv "$_vr_dir/$_vr_id.tmp" "$_vr_dir/$_vr_id"; } ||
		return 1
	wait_for_file "$_vr_dir/$_vr_id.reply" "${3:-300}" || return 1
	_vr_status=$(head -n 1 "$_vr_dir/$_vr_id.reply")
	tail -n +2 "$_vr_dir/$_vr_id.reply"
	rm -f "$_vr_dir/$_vr_id.reply"
	[ "$_vr_status" = ok ] || fail_msg "request $1: $_vr_status"
}
