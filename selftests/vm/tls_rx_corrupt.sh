#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS RX device offload against an attacker on the path: devsim flips one
# byte inside a TLS record's ciphertext or tag in 5% of the frames that
# start with a TLS 1.2 record header, and fixes the TCP checksum
# (--tls-corrupt 5, fixed --seed). a sends a 64 MiB file with software kTLS
# TX; b receives on eth1 with tls-hw-rx-offload on and writes every byte
# the kernel gave it to a file as it reads (tlsnic-ktls --save):
#
#  - b's read fails with EBADMSG (the record's tag does not verify): the
#    forged record is never delivered as plaintext;
#  - what b read before the error is a prefix of the file (cmp), and not
#    empty: the records before the forged one were delivered intact;
#  - the kernel counted the failure (TlsDecryptError in netns b) on a
#    socket that took RX offload, whose packets the device decrypted before;
#  - devsim changed frames on the wire (wire_tls_corrupted) and its RX
#    engine saw a tag fail (rx_tls_auth_fail): it handed that record up as
#    it came, for the kernel to reject;
#  - every RX context released after close, no kernel warning.
#
# A corrupted handshake record fails the handshake instead, and a forged
# first record leaves nothing before the error to compare; such a
# connection proves nothing here and is tried again (at most 3 times).
#
# tools/tlsnic-vm --timeout 1200 --devsim-args '--tls-corrupt 5 --seed 5 --stats-file @RUN@/devsim.stats' -- selftests/vm/tls_rx_corrupt.sh
# tlsnic-vm-args: --timeout 1200 --devsim-args '--tls-corrupt 5 --seed 5 --stats-file @RUN@/devsim.stats'

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../wire_lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

DATA=/tmp/tls_rx_corrupt.data
SAVE=/tmp/tls_rx_corrupt.save

ktap_plan 7

# The warm-up connection may itself meet a forged record: setup without it.
setup() {
	ktx_prepare && make_data "$DATA" 64 || return 1
	feature eth0 tls-hw-tx-offload off && krx_offer eth1
}
ktap_check "setup: eth1 offloads TLS RX, a sends with software kTLS, 64 MiB file" setup

# attempt: one connection; sets OUTCOME to ebadmsg, handshake, empty,
# clean or other.
attempt() {
	rm -f "$SAVE"
	ktx_start "--expect-sha256 $(cat "$DATA.sha256") --save $SAVE" \
		"--send sendfile --file $DATA"
	wait "$KTX_CPID"
	wait "$KTX_SPID"
	sst=$?
	if [ $sst -eq 0 ]; then
		OUTCOME=clean
	elif grep -q 'TLS handshake' "$KTX_OUT.s.err" "$KTX_OUT.c.err"; then
		OUTCOME=handshake
	elif grep -q '(EBADMSG)' "$KTX_OUT.s.err"; then
		if [ -s "$SAVE" ]; then OUTCOME=ebadmsg; else OUTCOME=empty; fi
	else
		OUTCOME=other
	fi
	ktap_diag "connection $try: receiver exit $sst, $OUTCOME, $(stat -c %s "$SAVE" 2> /dev/null || echo 0) bytes read"
	sed 's/^/# server: /' "$KTX_OUT.s.err"
}

before=$(krx_snap)
dev_before=$(devsim_stats)
try=1
while :; do
	attempt
	case $OUTCOME in
	handshake|empty) [ $try -lt 3 ] || break ;;
	*) break ;;
	esac
	try=$((try + 1))
done
after=$(krx_snap)
dev_after=$(devsim_stats)

ktap_check "b's read failed with EBADMSG" test "$OUTCOME" = ebadmsg

prefix() {
	n=$(stat -c %s "$SAVE") || return 1
	ktap_diag "b read $n bytes before the error"
	[ "$n" -gt 0 ] || { fail_msg "nothing read before the error"; return 1; }
	cmp -n "$n" "$SAVE" "$DATA" || { fail_msg "what b read is not the file's first $n bytes"; return 1; }
}
ktap_check "what b read before the error is a prefix of the file" prefix

counted() {
	dev=$(delta TlsRxDevice "$before" "$after")
	sw=$(delta TlsRxSw "$before" "$after")
	err=$(delta TlsDecryptError "$before" "$after")
	pk=$(delta rx_tls_decrypted_packets "$before" "$after")
	ktap_diag "TlsRxDevice +$dev TlsRxSw +$sw TlsDecryptError +$err rx_tls_decrypted_packets +$pk ($try connections)"
	[ "$err" -gt 0 ] || { fail_msg "TlsDecryptError did not move"; return 1; }
	[ "$dev" -eq "$try" ] && [ "$sw" -eq 0 ] && [ "$pk" -gt 0 ] ||
		{ fail_msg "the connections were not RX-offloaded, or nothing was decrypted"; return 1; }
}
ktap_check "TlsDecryptError moved on an RX-offloaded socket" counted

devsim_view() {
	[ -n "$dev_before" ] && [ -n "$dev_after" ] || return 1
	cor=$(delta port0.wire_tls_corrupted "$dev_before" "$dev_after")
	auth=$(delta port1.rx_tls_auth_fail "$dev_before" "$dev_after")
	ktap_diag "devsim port0.wire_tls_corrupted +$cor port1.rx_tls_auth_fail +$auth" \
		"port1.rx_tls_decrypted_packets +$(delta port1.rx_tls_decrypted_packets "$dev_before" "$dev_after")" \
		"port1.rx_tls_restored +$(delta port1.rx_tls_restored "$dev_before" "$dev_after")"
	[ "$cor" -gt 0 ] || { fail_msg "devsim corrupted no frame a sent"; return 1; }
	[ "$auth" -gt 0 ] || { fail_msg "devsim's RX engine saw no tag fail"; return 1; }
}
ktap_check "devsim forged records and its RX engine saw their tags fail" devsim_view

ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean
rm -f "$DATA" "$DATA.sha256" "$SAVE"

ktap_finish
