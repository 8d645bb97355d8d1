# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the TLS RX offload VM tests (selftests/vm/tls_rx_*.sh), sourced
# after lib.sh and ktls_tx_lib.sh (whose ktx_* functions run the
# connections: server in b, client in a). Here b's eth1 is the offloading
# receiver (tls-hw-rx-offload on) and a sends with software kTLS
# (tls-hw-tx-offload off on eth0), so that only RX is offloaded. Every
# receiver is keyed through the kernel's kTLS API (tlsnic-ktls --ktls
# setsockopt or OpenSSL's SSL_OP_ENABLE_KTLS); the kernel picks the device.
#
# The oracle is the sender's SHA-256 (and sha256sum's): the device's
# decryption is checked by the data arriving intact, its use by
# /proc/net/tls_stat (TlsRxDevice, the kernel's own count of RX-offloaded
# sockets) and the driver's ethtool counters. On a device or driver without
# RX offload, tls-hw-rx-offload is "off [fixed]" or missing, TlsRxDevice
# stays 0 and the rx_tls_* counters do not exist: every offload check fails.

# krx_offer DEV: DEV offers tls-hw-rx-offload and it is on now.
krx_offer() {
	_ko_state=$(ip netns exec "$(ns_of "$1")" ethtool -k "$1" |
		sed -n 's/^tls-hw-rx-offload: //p')
	case "$_ko_state" in
	""|*fixed*)
		fail_msg "$1 does not offer tls-hw-rx-offload (${_ko_state:-no such feature}): device or driver without TLS RX offload"
		return 1 ;;
	esac
	feature "$1" tls-hw-rx-offload on || return 1
	[ "$(feature_state "$1" tls-hw-rx-offload)" = on ] ||
		{ fail_msg "cannot turn tls-hw-rx-offload on for $1"; return 1; }
}

# krx_setup: certificate, TLS RX offload on eth1, TLS TX offload off on
# eth0 (and eth1: b only receives), one warm-up connection.
# Everything is done even when a step fails, so that the rest of a test
# still runs its connections (and fails its offload checks) on a NIC
# without RX offload.
krx_setup() {
	ktx_prepare || return 1
	_ks_ok=0
	krx_offer eth1 || _ks_ok=1
	for _ks_dev in eth0 eth1; do
		feature $_ks_dev tls-hw-tx-offload off || _ks_ok=1
	done
	ktx_warm_up || _ks_ok=1
	return $_ks_ok
}

# krx_snap: eth1's counters and netns b's tls_stat as "name value" lines,
# for lib.sh's delta.
krx_snap() {
	stats eth1
	ip netns exec b cat /proc/net/tls_stat 2> /dev/null | awk '{ print $1, $2 }'
}

# krx_offloaded WHAT BEFORE AFTER MIN_BYTES: between two krx_snap
# snapshots exactly one socket of netns b took RX offload (none in
# software), the device decrypted packets of it, at least MIN_BYTES of TCP
# payload, and the kernel authenticated every record (TlsDecryptError
# still).
krx_offloaded() {
	_ro_dev=$(delta TlsRxDevice "$2" "$3")
	_ro_sw=$(delta TlsRxSw "$2" "$3")
	_ro_err=$(delta TlsDecryptError "$2" "$3")
	_ro_pk=$(delta rx_tls_decrypted_packets "$2" "$3")
	_ro_by=$(delta rx_tls_decrypted_bytes "$2" "$3")
	ktap_diag "$1: TlsRxDevice +$_ro_dev TlsRxSw +$_ro_sw TlsDecryptError +$_ro_err rx_tls_decrypted_packets +$_ro_pk bytes +$_ro_by"
	[ "$_ro_dev" -eq 1 ] && [ "$_ro_sw" -eq 0 ] ||
		{ fail_msg "expected one RX-offloaded socket in b, no software one"; return 1; }
	[ "$_ro_err" -eq 0 ] || { fail_msg "TlsDecryptError moved"; return 1; }
	[ "$_ro_pk" -gt 0 ] && [ "$_ro_by" -ge "$4" ] ||
		{ fail_msg "device decrypted $_ro_by bytes in $_ro_pk packets, expected >= $4 bytes"; return 1; }
}

# krx_switch_off: eth1's tls-hw-rx-offload was on and is off now.
krx_switch_off() {
	[ "$(feature_state eth1 tls-hw-rx-offload)" = on ] ||
		{ fail_msg "tls-hw-rx-offload was not on"; return 1; }
	feature eth1 tls-hw-rx-offload off &&
		[ "$(feature_state eth1 tls-hw-rx-offload)" = off ]
}

# krx_software WHAT BEFORE AFTER: one socket of netns b in software kTLS
# RX, no RX context created on eth1, nothing decrypted by it.
krx_software() {
	_rs_dev=$(delta TlsRxDevice "$2" "$3")
	_rs_sw=$(delta TlsRxSw "$2" "$3")
	_rs_pk=$(delta rx_tls_decrypted_packets "$2" "$3")
	_rs_ctx=$(delta rx_tls_ctx "$2" "$3")
	ktap_diag "$1: TlsRxDevice +$_rs_dev TlsRxSw +$_rs_sw rx_tls_decrypted_packets +$_rs_pk rx_tls_ctx +$_rs_ctx"
	[ "$_rs_dev" -eq 0 ] && [ "$_rs_sw" -eq 1 ] ||
		{ fail_msg "expected one software kTLS RX socket in b, no offloaded one"; return 1; }
	[ "$_rs_pk" -eq 0 ] && [ "$_rs_ctx" -eq 0 ] ||
		{ fail_msg "RX offload counters moved with the offload off"; return 1; }
}

# krx_live DEV: DEV's RX contexts created minus released (-1 without the
# counters).
krx_live() {
	_kl_c=$(counter "$1" rx_tls_ctx) && _kl_d=$(counter "$1" rx_tls_del) ||
		{ echo -1; return; }
	echo $((_kl_c - _kl_d))
}

# krx_wait_idle SECS [DEV]: until eth1 (or DEV) has released every RX
# context it created (sockets are destroyed asynchronously after close).
krx_wait_idle() {
	_kw_dev=${2:-eth1}
	counter "$_kw_dev" rx_tls_ctx > /dev/null ||
		{ fail_msg "no rx_tls_ctx counter on $_kw_dev"; return 1; }
	wait_until "$1" "$_kw_dev still has $(krx_live "$_kw_dev") RX contexts after $1 s" \
		test "$(krx_live "$_kw_dev")" = 0
}

# krx_no_errors [DEV]: eth1 (or DEV) counted no RX TLS error (failed
# tls_dev_add and the like) since boot.
krx_no_errors() {
	_kn_v=$(counter "${1:-eth1}" rx_tls_err) ||
		{ fail_msg "no rx_tls_err counter on ${1:-eth1}"; return 1; }
	[ "$_kn_v" = 0 ] || { fail_msg "rx_tls_err = $_kn_v"; return 1; }
}

# krx_start_offloaded_paused SERVER_ARGS CLIENT_ARGS BYTES: like
# ktx_start_offloaded_paused for the receiver: once no RX context is left,
# start the connection with the client (a) pausing after BYTES; the paused
# socket must then hold b's one live RX context and the device must have
# decrypted packets of it before the test acts.
krx_start_offloaded_paused() {
	krx_wait_idle 10 || return 1
	_kp_dec=$(counter eth1 rx_tls_decrypted_packets) ||
		{ fail_msg "no rx_tls_decrypted_packets counter on eth1"; return 1; }
	ktx_start_paused "$1" "$2" "$3" || return 1
	[ "$(krx_live eth1)" = 1 ] && [ "$(tls_stat b TlsCurrRxDevice)" = 1 ] ||
		{ fail_msg "no live RX offload under the paused socket (contexts $(krx_live eth1), TlsCurrRxDevice $(tls_stat b TlsCurrRxDevice))"; return 1; }
	wait_until 60 "the device decrypted nothing of the socket before its pause" \
		test "$(counter eth1 rx_tls_decrypted_packets)" -gt "$_kp_dec" || return 1
	ktap_diag "paused after $3 bytes, the device decrypted $(($(counter eth1 rx_tls_decrypted_packets) - _kp_dec)) packets so far"
}

# kboth_setup: TLS TX and RX offload on eth0 and eth1 (both ends offload
# both directions), the device warmed up and no context left live.
kboth_setup() {
	ktx_prepare && krx_offer eth0 && krx_offer eth1 || return 1
	for _kb_dev in eth0 eth1; do
		feature $_kb_dev tls-hw-tx-offload on || return 1
		[ "$(feature_state $_kb_dev tls-hw-tx-offload)" = on ] ||
			{ fail_msg "cannot turn tls-hw-tx-offload on for $_kb_dev"; return 1; }
	done
	ktx_warm_up && ktx_wait_idle 10 && krx_wait_idle 10 eth0 && krx_wait_idle 10 eth1
}

# kboth_snap: both ports' counters and both netns' tls_stat, "a." / "b."
# before each name (for delta).
kboth_snap() {
	stats eth0 | sed 's/^/a./'
	stats eth1 | sed 's/^/b./'
	for _kb_ns in a b; do
		ip netns exec $_kb_ns cat /proc/net/tls_stat | awk -v p=$_kb_ns. '{ print p $1, $2 }'
	done
}
