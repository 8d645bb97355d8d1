#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Keys are wiped from guest memory once offloaded connections close
# (invariant 6, seen from outside the guest). One TLS 1.2 connection per
# cipher (AES-GCM-128, AES-GCM-256) between netns a and b, keyed through
# setsockopt with TLS TX and RX offload on both ports, so that each of the
# two traffic keys sits in a TX context on one port and an RX context on
# the other. tlsnic-ktls prints the keys in hex (--print-keys), wipes its
# own copies, and stays alive after closing its sockets (--hold), so that
# none of its pages is freed unwiped while we look.
#
# The oracle is the host: tools/tlsnic-vm searches all of the guest's RAM
# for the raw key bytes ("memscan" request), straight from the memory QEMU
# maps it from. An AES key schedule
# starts with the key itself, so this finds key schedules too. While the
# connection is live (the sender paused mid-transfer) both keys must be
# found (the kernel's tls_context holds them): the search works. After the
# transfers completed, both ends closed, wiped and every device context was
# released, no copy may remain. A copy that remains is located (guest
# physical address, and the page's /proc/kpageflags: slab, anonymous, free).
#
# tools/tlsnic-vm -- selftests/vm/keywipe_guest.sh
# tlsnic-vm-args: --timeout 1500

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

BYTES=256K
HOLD=/tmp/keywipe.hold
TESTS=15

ktap_plan $TESTS

setup() {
	ktx_prepare || return 1
	for dev in eth0 eth1; do
		krx_offer $dev || return 1
		feature $dev tls-hw-tx-offload on || return 1
		[ "$(feature_state $dev tls-hw-tx-offload)" = on ] ||
			{ fail_msg "cannot turn tls-hw-tx-offload on for $dev"; return 1; }
	done
	ktx_warm_up && ktx_wait_idle 30 && krx_wait_idle 30 eth0 && krx_wait_idle 30 eth1
}
if ! setup; then
	ktap_fail "setup: TLS TX and RX offload on both ports"
	ktap_skip_rest $TESTS "no offload to test"
fi
ktap_pass "setup: TLS TX and RX offload on both ports"

# memscan LABEL=HEX...: the host's search of guest RAM; prints
# "LABEL COUNT ADDR..." lines.
memscan() {
	: > /tmp/keywipe.req
	for kv in "$@"; do
		echo "${kv%%=*} ${kv#*=}" >> /tmp/keywipe.req
	done
	vm_request memscan /tmp/keywipe.req 600
}

# where ADDR: whose page a guest physical address is in, as far as
# /proc/kpageflags tells (bits: 7 slab, 10 buddy/free, 11 anon, 5 lru).
where() {
	pfn=$(($1 / 4096))
	flags=$(dd if=/proc/kpageflags bs=8 skip=$pfn count=1 2> /dev/null | od -An -tu8 | tr -d ' ')
	what=
	[ $((flags >> 7 & 1)) = 1 ] && what="$what slab"
	[ $((flags >> 10 & 1)) = 1 ] && what="$what free(buddy)"
	[ $((flags >> 11 & 1)) = 1 ] && what="$what anon"
	[ $((flags >> 5 & 1)) = 1 ] && what="$what lru"
	echo "$1 pfn $pfn flags ${flags:-?}${what:- (kernel page)}"
}

# key FILE DIR: the key a tlsnic-ktls end printed for direction DIR.
key() {
	sed -n "s/^ktls-key: conn=0 dir=$2 key=\([0-9a-f]*\)$/\1/p" "$1"
}

# within SECS WHAT CMD...: until CMD succeeds; fails after SECS seconds (a
# bound for a hang, checked by the clock: each try of CMD is slow here).
within() {
	_w_end=$(($(date +%s) + $1))
	_w_what=$2
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt $_w_end ] || { fail_msg "$_w_what"; return 1; }
		sleep 0.5
	done
}

live_contexts() {
	echo "$(counter eth0 tx_tls_ctx_active) $(counter eth1 tx_tls_ctx_active) $(krx_live eth0) $(krx_live eth1)"
}

run_cipher() {
	cipher=$1
	rm -rf "$HOLD.s" "$HOLD.c"
	mkdir -p "$HOLD.s" "$HOLD.c"
	common="--ktls setsockopt --dir both --cipher $cipher --bytes $BYTES --print-keys"

	if ktx_start_paused "$common --hold $HOLD.s" "$common --hold $HOLD.c" 64K &&
	   [ "$(live_contexts)" = "1 1 1 1" ]; then
		ktap_pass "$cipher: connection paused mid-transfer, TX and RX offloaded on both ports"
	else
		ktap_diag "live contexts (eth0 tx, eth1 tx, eth0 rx, eth1 rx): $(live_contexts)"
		ktap_fail "$cipher: connection paused mid-transfer, TX and RX offloaded on both ports"
	fi

	# The client's TX key is the server's RX key and the other way round.
	cw=$(key "$KTX_OUT.c" tx)
	sw=$(key "$KTX_OUT.c" rx)
	want=32
	[ "$cipher" = aes256gcm ] && want=64
	ktap_check "$cipher: both ends printed the same two $((want / 2))-byte keys" \
		test "${#cw}" = $want -a "${#sw}" = $want -a "$cw" != "$sw" \
		-a "$(key "$KTX_OUT.s" rx)" = "$cw" -a "$(key "$KTX_OUT.s" tx)" = "$sw"

	found_live() {
		out=$(memscan client_write="$cw" server_write="$sw") || return 1
		printf '%s\n' "$out" | sed 's/^/# live: /'
		printf '%s\n' "$out" | awk '$1 ~ /_write$/ && $2 > 0 { n++ } END { exit n != 2 }'
	}
	ktap_check "$cipher: while the connection is live, the host finds both keys in guest RAM" \
		found_live

	ktx_resume
	ok_ends() {
		bad=
		wait_for_file "$HOLD.c/held" 300 "$KTX_CPID" &&
			wait_for_file "$HOLD.s/held" 300 "$KTX_SPID" || bad=1
		for end in c s; do
			n=$(grep -c '^ktls: .* result=ok$' "$KTX_OUT.$end")
			ktap_diag "$end: $n transfers ok"
			[ "$n" = 2 ] || bad=1
		done
		[ -z "${bad:-}" ] && return 0
		sed 's/^/# client: /' "$KTX_OUT.c" "$KTX_OUT.c.err"
		sed 's/^/# server: /' "$KTX_OUT.s" "$KTX_OUT.s.err"
		return 1
	}
	ktap_check "$cipher: $BYTES each way, sha256 checked; both ends closed, wiped and holding" ok_ends

	idle() {
		within 120 "device contexts still live after 120 s" \
			test "$(live_contexts)" = "0 0 0 0"
		ktap_diag "live contexts (eth0 tx, eth1 tx, eth0 rx, eth1 rx): $(live_contexts)"
	}
	ktap_check "$cipher: every device context released (TX and RX, both ports)" idle

	# The kernel frees its contexts in deferred work after the last
	# reference; a copy may go away between two looks, not after several.
	wiped() {
		tries=0
		while :; do
			out=$(memscan client_write="$cw" server_write="$sw") || return 1
			printf '%s\n' "$out" | awk '$1 ~ /_write$/ && $2 > 0 { n++ } END { exit n != 0 }' &&
				{ printf '%s\n' "$out" | sed 's/^/# after close: /'; return 0; }
			tries=$((tries + 1))
			[ $tries -lt 3 ] || break
		done
		printf '%s\n' "$out" | sed 's/^/# after close: /'
		for addr in $(printf '%s\n' "$out" | awk '$1 ~ /_write$/ { for (i = 3; i <= NF; i++) print $i }'); do
			ktap_diag "key copy at $(where "$addr")"
		done
		return 1
	}
	ktap_check "$cipher: no copy of either key left in guest RAM" wiped

	: > "$HOLD.c/release"
	: > "$HOLD.s/release"
	wait "$KTX_CPID"
	cst=$?
	wait "$KTX_SPID"
	sst=$?
	ktap_check "$cipher: both ends exit 0 (client $cst, server $sst)" test $cst = 0 -a $sst = 0
}

run_cipher aes128gcm
run_cipher aes256gcm

cw=
sw=
ktap_finish
