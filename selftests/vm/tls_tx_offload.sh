#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX device offload, a (eth0, tls-hw-tx-offload on) -> b (software kTLS
# RX, or userspace OpenSSL), TLS 1.2:
#
#  - AES-GCM-128 and -256, sizes 1, 1 KiB, 16 KiB-1, 16 KiB+1, 1 MiB and
#    64 MiB on one connection, and a 64 MiB file with sendfile: the receiver
#    gets the sender's SHA-256 (and sha256sum's), the socket is offloaded
#    (TlsTxDevice in netns a) and the device encrypted the bytes
#    (tx_tls_encrypted_packets/bytes);
#  - b reading with plain OpenSSL SSL_read (--ktls none): the device's
#    records are valid TLS to an implementation nobody here wrote;
#  - ethtool -K eth0 tls-hw-tx-offload off: new connections are software
#    (TlsTxSw), the offload counters stay still; a connection offloaded
#    before the switch keeps being encrypted by the device (the sender is
#    held after 4 MiB while the switch happens, tlsnic-ktls --pause-after,
#    and the device must encrypt all 12 MiB it sends after it);
#  - ethtool -K eth0 tx off under an offloaded socket, held the same way:
#    the stack checksums the plaintext, the driver has the device redo it
#    on the ciphertext;
#  - offloaded and software 64 MiB rates and guest CPU time (diagnostic);
#  - every device context released after the sockets close, nothing
#    dropped for lack of sync data, no kernel warning or driver error.
#
# tools/tlsnic-vm -- selftests/vm/tls_tx_offload.sh
# tlsnic-vm-args: --timeout 1800

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
require_vm

SIZES=1,1K,16383,16385,1M,64M
# sum of SIZES in bytes
SIZES_BYTES=$((1 + 1024 + 16383 + 16385 + 1048576 + 67108864))
BIG=/tmp/tls_tx_offload.data
MID=/tmp/tls_tx_offload.mid

ktap_plan 26

if ktx_setup && make_data "$BIG" 64 && make_data "$MID" 16; then
	ktap_pass "setup: eth0 offloads TLS TX, eth1 does not, 64 and 16 MiB files"
else
	ktap_fail "setup: eth0 offloads TLS TX, eth1 does not, 64 and 16 MiB files"
fi

for cipher in aes128gcm aes256gcm; do
	what="$cipher sizes $SIZES"
	before=$(ktx_snap)
	if ktx_run "--cipher $cipher --bytes $SIZES" "--cipher $cipher --bytes $SIZES" &&
	   ktx_client_ktls_tx; then
		ktap_pass "$what: sha256 equal at b"
	else
		ktap_fail "$what: sha256 equal at b"
	fi
	after=$(ktx_snap)
	ktap_check "$what: offloaded, device encrypted every byte" \
		ktx_offloaded "$what" "$before" "$after" "$SIZES_BYTES"

	what="$cipher sendfile 64 MiB"
	before=$(ktx_snap)
	if ktx_run "--cipher $cipher --expect-sha256 $(cat "$BIG.sha256")" \
		   "--cipher $cipher --send sendfile --file $BIG" &&
	   ktx_client_ktls_tx; then
		ktap_pass "$what: sha256sum's hash at b"
	else
		ktap_fail "$what: sha256sum's hash at b"
	fi
	after=$(ktx_snap)
	ktap_check "$what: offloaded, device encrypted every byte" \
		ktx_offloaded "$what" "$before" "$after" $((64 * 1024 * 1024))

	what="$cipher to userspace OpenSSL (SSL_read)"
	before=$(ktx_snap)
	if ktx_run "--cipher $cipher --ktls none --bytes 1,16385,4M" \
		   "--cipher $cipher --bytes 1,16385,4M" &&
	   ktx_client_ktls_tx; then
		ktap_pass "$what: sha256 equal at b"
	else
		ktap_fail "$what: sha256 equal at b"
	fi
	after=$(ktx_snap)
	ktap_check "$what: offloaded" \
		ktx_offloaded "$what" "$before" "$after" $((4 * 1024 * 1024 + 16386))
done

# cpu_ticks: busy time of the whole guest so far (user..softirq, in ticks).
# Both ends run in the guest; the receiver's share is the same in A and B.
cpu_ticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

# A/B: the same 64 MiB offloaded, then in software.
before=$(ktx_snap)
t0=$(cpu_ticks)
if ktx_run "--expect-sha256 $(cat "$BIG.sha256")" "--send sendfile --file $BIG"; then
	CPU_HW=$(($(cpu_ticks) - t0))
	RATE_HW=$KTX_MBPS
	ktap_pass "A/B offloaded 64 MiB: sha256sum's hash at b"
else
	ktap_fail "A/B offloaded 64 MiB: sha256sum's hash at b"
fi
after=$(ktx_snap)
ktap_check "A/B offloaded 64 MiB: offloaded" \
	ktx_offloaded "A/B offloaded" "$before" "$after" $((64 * 1024 * 1024))

ktap_check "ethtool -K eth0 tls-hw-tx-offload off" \
	feature eth0 tls-hw-tx-offload off

before=$(ktx_snap)
t0=$(cpu_ticks)
if ktx_run "--expect-sha256 $(cat "$BIG.sha256")" "--send sendfile --file $BIG"; then
	CPU_SW=$(($(cpu_ticks) - t0))
	RATE_SW=$KTX_MBPS
	ktap_pass "A/B software 64 MiB: sha256sum's hash at b"
else
	ktap_fail "A/B software 64 MiB: sha256sum's hash at b"
fi
after=$(ktx_snap)
software() {
	dev=$(delta TlsTxDevice "$before" "$after")
	sw=$(delta TlsTxSw "$before" "$after")
	pk=$(delta tx_tls_encrypted_packets "$before" "$after")
	ctx=$(delta tx_tls_ctx "$before" "$after")
	ktap_diag "offload off: TlsTxDevice +$dev TlsTxSw +$sw tx_tls_encrypted_packets +$pk tx_tls_ctx +$ctx"
	[ "$dev" -eq 0 ] && [ "$sw" -eq 1 ] && [ "$pk" -eq 0 ] && [ "$ctx" -eq 0 ]
}
ktap_check "offload off: socket in software, offload counters still" software
ktap_diag "64 MiB sendfile a->b: offloaded ${RATE_HW:-?} Mbit/s, software ${RATE_SW:-?} Mbit/s (sender)"
ktap_diag "guest CPU busy for it: offloaded ${CPU_HW:-?} ticks, software ${CPU_SW:-?} ticks (USER_HZ $(getconf CLK_TCK))"

# A socket offloaded before the switch goes on being encrypted by the device.
# The sender pauses after PAUSE bytes of MID, the switch happens while it
# waits, then it sends the rest: the device must encrypt all of that rest.
PAUSE=$((4 * 1024 * 1024))
REST=$((16 * 1024 * 1024 - PAUSE))

# encrypted_after WHAT MID AFTER: the device encrypted at least the REST
# bytes the sender wrote after the event (tx_tls_encrypted_bytes counts the
# records the socket put on the wire from then on).
encrypted_after() {
	n=$(delta tx_tls_encrypted_bytes "$2" "$3")
	pk=$(delta tx_tls_encrypted_packets "$2" "$3")
	ktap_diag "$1: after the event the device encrypted $n bytes in $pk packets (>= $REST expected)"
	[ "$pk" -gt 0 ] && [ "$n" -ge "$REST" ]
}

if feature eth0 tls-hw-tx-offload on &&
   ktx_start_offloaded_paused "--expect-sha256 $(cat "$MID.sha256")" \
	"--send sendfile --file $MID" "$PAUSE" &&
   feature eth0 tls-hw-tx-offload off; then
	ktap_diag "tls-hw-tx-offload now $(feature_state eth0 tls-hw-tx-offload)"
	mid=$(ktx_snap)
	if ktx_finish_paused; then
		ktap_pass "offload switched off mid-transfer: sha256sum's hash at b"
	else
		ktap_fail "offload switched off mid-transfer: sha256sum's hash at b"
	fi
	after=$(ktx_snap)
	ktap_check "offload switched off mid-transfer: device kept encrypting that socket" \
		encrypted_after "offload off" "$mid" "$after"
else
	ktx_abort_paused
	ktap_fail "offload switched off mid-transfer: sha256sum's hash at b"
	ktap_fail "offload switched off mid-transfer: device kept encrypting that socket"
fi

# Device checksum switched off under an offloaded socket: the stack now
# checksums the plaintext, the driver has the device checksum the ciphertext.
if feature eth0 tls-hw-tx-offload on &&
   ktx_start_offloaded_paused "--expect-sha256 $(cat "$MID.sha256")" \
	"--send sendfile --file $MID" "$PAUSE" &&
   feature eth0 tx off; then
	ktap_diag "tx-checksumming now $(feature_state eth0 tx-checksumming)"
	mid=$(ktx_snap)
	if ktx_finish_paused; then
		ktap_pass "tx checksumming switched off mid-transfer: sha256sum's hash at b"
	else
		ktap_fail "tx checksumming switched off mid-transfer: sha256sum's hash at b"
	fi
	after=$(ktx_snap)
	csum_fixed() {
		n=$(delta tx_tls_csum_fixup "$mid" "$after")
		ktap_diag "tx_tls_csum_fixup +$n after the switch"
		[ "$n" -gt 0 ] && encrypted_after "tx off" "$mid" "$after"
	}
	ktap_check "tx checksumming off: device checksummed the ciphertext" csum_fixed
else
	ktx_abort_paused
	ktap_fail "tx checksumming switched off mid-transfer: sha256sum's hash at b"
	ktap_fail "tx checksumming off: device checksummed the ciphertext"
fi
feature eth0 tx on
feature eth0 tso on

ktap_check "every device context released after close" ktx_wait_idle 10
ktap_check "tx_tls_ctx == tx_tls_del" \
	test "$(counter eth0 tx_tls_ctx)" = "$(counter eth0 tx_tls_del)"
no_drops() {
	for c in tx_tls_drop_no_sync_data tx_tls_drop_orphan tx_tls_drop_dump_nomem \
		 tx_tls_ctx_err tx0_drops; do
		v=$(counter eth0 $c)
		[ "$v" = 0 ] || { fail_msg "$c = $v"; return 1; }
	done
}
ktap_check "no TLS frame dropped, no context refused" no_drops
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

rm -f "$BIG" "$BIG.sha256" "$MID" "$MID.sha256"
ktap_finish
