#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Switching RX features under a live RX-offloaded connection, a (software
# kTLS TX) -> b (eth1, tls-hw-rx-offload on), 16 MiB per connection. The
# sender is held after 4 MiB (tlsnic-ktls --pause-after) while the device
# context is live and has decrypted packets of the socket; the switch
# happens then, and the sender sends the other 12 MiB after it:
#
#  - ethtool -K eth1 tls-hw-rx-offload off: b still gets the sender's
#    SHA-256 (the socket goes on, whatever the driver does with its
#    context); a socket made after the switch is software kTLS RX
#    (TlsRxSw), no RX context created;
#  - ethtool -K eth1 rx off (the kernel drops tls-hw-rx-offload with it,
#    NETIF_F_HW_TLS_RX depends on NETIF_F_RXCSUM): b still gets the
#    sender's SHA-256; the device goes on decrypting the live socket's
#    frames, which now go up without a verified checksum, and b's TCP
#    found no checksum error in them (Tcp InCsumErrors): the checksum the
#    device rewrote is valid for the plaintext;
#  - decrypted packets moved before each switch, the sender really paused
#    and sent after it; what the device decrypted after it is printed;
#  - every RX context released after close, no RX error, no kernel warning.
#
# tools/tlsnic-vm --timeout 1200 -- selftests/vm/tls_rx_switch.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
require_vm

PAUSE=$((4 * 1024 * 1024))

ktap_plan 10

ktap_check "setup: eth1 offloads TLS RX, a sends with software kTLS" krx_setup

# moved_before WHAT BEFORE MID AFTER: the device decrypted packets of the
# socket before the switch; what it decrypted after it, as a diagnostic.
moved_before() {
	pk=$(delta rx_tls_decrypted_packets "$2" "$3")
	ktap_diag "$1: before the switch the device decrypted $pk packets;" \
		"after it $(delta rx_tls_decrypted_packets "$3" "$4") packets," \
		"$(delta rx_tls_decrypted_bytes "$3" "$4") bytes"
	[ "$pk" -gt 0 ]
}

# switched_live WHAT FEATURE: a 16 MiB connection held after 4 MiB with a
# live RX context, `ethtool -K eth1 FEATURE off` while it is held, then the
# rest. Reports the hash and moved_before checks; sets BEFORE, MID, AFTER,
# and LIVE when the switch happened under a live offloaded socket.
switched_live() {
	BEFORE=$(krx_snap)
	LIVE=
	if krx_start_offloaded_paused "--bytes 16M" "--bytes 16M" "$PAUSE" &&
	   feature eth1 "$2" off; then
		ktap_diag "$1: tls-hw-rx-offload now $(feature_state eth1 tls-hw-rx-offload)," \
			"rx-checksumming $(feature_state eth1 rx-checksumming)"
		MID=$(krx_snap)
		LIVE=1
		ktap_check "$1: sha256 equal at b, 12 MiB sent after the switch" ktx_finish_paused
		AFTER=$(krx_snap)
		ktap_check "$1: device decrypted packets of the socket before the switch" \
			moved_before "$1" "$BEFORE" "$MID" "$AFTER"
	else
		ktx_abort_paused
		ktap_fail "$1: sha256 equal at b, 12 MiB sent after the switch"
		ktap_fail "$1: device decrypted packets of the socket before the switch"
		MID=$BEFORE
		AFTER=$(krx_snap)
	fi
}

what="tls-hw-rx-offload off mid-transfer"
switched_live "$what" tls-hw-rx-offload
new_socket() {
	before=$(krx_snap)
	ktx_run "--bytes 1,16385,1M" "--bytes 1,16385,1M" || return 1
	after=$(krx_snap)
	krx_software "new socket" "$before" "$after"
}
ktap_check "$what: a new socket after it is software kTLS RX, sha256 equal at b" new_socket

what="rx checksumming off mid-transfer"
csum_before=$(snmp b Tcp InCsumErrors)
if feature eth1 rx on && feature eth1 tls-hw-rx-offload on; then
	switched_live "$what" rx
else
	ktap_fail "$what: sha256 equal at b, 12 MiB sent after the switch"
	ktap_fail "$what: device decrypted packets of the socket before the switch"
fi
csum_after=$(snmp b Tcp InCsumErrors)
# The driver hands decrypted frames up as CHECKSUM_NONE now: the kernel
# sums what the device rewrote.
csum_checked() {
	[ -n "$LIVE" ] || return 1
	pk=$(delta rx_tls_decrypted_packets "$MID" "$AFTER")
	ktap_diag "$what: InCsumErrors +$((csum_after - csum_before)), $pk decrypted packets checksummed by the kernel"
	[ "$pk" -gt 0 ] || { fail_msg "the device decrypted nothing after the switch"; return 1; }
	[ "$csum_after" -eq "$csum_before" ]
}
ktap_check "$what: the kernel verified the checksums of decrypted frames (no InCsumErrors)" \
	csum_checked
feature eth1 rx on

ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "no RX TLS error on eth1" krx_no_errors
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

ktap_finish
