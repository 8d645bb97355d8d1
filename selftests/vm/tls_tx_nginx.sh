#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS TX device offload under a real server: nginx (OpenSSL 3 with kTLS,
# "ssl_conf_command Options KTLS", sendfile on) in netns a serves a 64 MiB
# random file over TLS 1.2 from eth0 (tls-hw-tx-offload on); curl in netns b
# fetches it, once with ECDHE-RSA-AES128-GCM-SHA256 and once with
# AES256-GCM-SHA384:
#
#  - curl got the file (sha256sum's hash) over the cipher it asked for;
#  - nginx sent it with SSL_sendfile, i.e. OpenSSL handed the socket to
#    kernel TLS (its debug log for connections from b);
#  - the socket was offloaded (TlsTxDevice in netns a) and the device
#    encrypted at least the file's size (tx_tls_encrypted_packets/bytes);
#  - with ethtool -K eth0 tls-hw-tx-offload off the same fetch works in
#    software kTLS (TlsTxSw) and the offload counters stay still;
#  - after nginx stops, every device context is released, nothing dropped,
#    no kernel warning.
#
# nginx runs from /tmp (the guest's /etc is read-only): its config, pid,
# logs and temp paths all live in $NGX_DIR.
#
# tools/tlsnic-vm --timeout 1200 -- selftests/vm/tls_tx_nginx.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../nginx_lib.sh"
require_vm

DATA=$NGX_DIR/www/data
GOT=/tmp/tls_tx_nginx.got
MIB64=$((64 * 1024 * 1024))

ktap_plan 14

# ngx_conf: nginx's configuration on stdout. Only what the test needs; TLS
# 1.2 only, the two ciphers curl asks for, kTLS through OpenSSL.
# debug_connection turns on debug logging for b's connections only, for
# nginx's "SSL_sendfile: N" lines (the Debian build has --with-debug).
ngx_conf() {
	cat <<EOF
user root;
worker_processes 1;
daemon on;
pid $NGX_PID;
error_log $NGX_LOG info;

events {
	worker_connections 64;
	debug_connection $ADDR_B;
}

http {
	access_log $NGX_DIR/access.log;
	client_body_temp_path $NGX_DIR/client_body;
	proxy_temp_path $NGX_DIR/proxy;
	fastcgi_temp_path $NGX_DIR/fastcgi;
	uwsgi_temp_path $NGX_DIR/uwsgi;
	scgi_temp_path $NGX_DIR/scgi;
	default_type application/octet-stream;
	sendfile on;
	keepalive_timeout 0;

	server {
		listen $ADDR_A:$NGX_PORT ssl;
		ssl_certificate $KTX_CERT;
		ssl_certificate_key $KTX_KEY;
		ssl_protocols TLSv1.2;
		ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384;
		ssl_conf_command Options KTLS;
		root $NGX_DIR/www;
	}
}
EOF
}

# fetch CIPHER: curl in netns b downloads the file over TLS 1.2 with CIPHER.
# Fails unless curl succeeds, negotiated TLS 1.2 and CIPHER, and got
# sha256sum's hash of the file. Remembers where nginx's log stood, so that
# sendfile_bytes sees this fetch only.
fetch() {
	FETCH_LOG_OFF=$(wc -c < "$NGX_LOG")
	rm -f "$GOT"
	ngx_curl b "$1" -o "$GOT" \
		-w 'curl: http %{http_code} bytes %{size_download} speed %{speed_download} B/s time %{time_total} s\n' \
		"https://$ADDR_A:$NGX_PORT/data" || return 1
	want=$(cat "$DATA.sha256")
	got=$(sha256sum < "$GOT" | cut -d' ' -f1)
	rm -f "$GOT"
	[ "$want" = "$got" ] || { fail_msg "sha256 differs: file $want, curl got $got"; return 1; }
	return 0
}

# sendfile_bytes MIN: nginx's SSL_sendfile calls since the last fetch
# started moved at least MIN bytes (they log what each call returned).
sendfile_bytes() {
	n=$(tail -c +$((FETCH_LOG_OFF + 1)) "$NGX_LOG" |
		sed -n 's/.* SSL_sendfile: \([0-9][0-9]*\)$/\1/p' |
		awk '{ s += $1; c++ } END { printf "%d %d\n", c, s }')
	calls=${n% *}
	bytes=${n#* }
	ktap_diag "nginx: $calls SSL_sendfile calls, $bytes bytes"
	[ "$bytes" -ge "$1" ] ||
		{ fail_msg "nginx sent $bytes bytes with SSL_sendfile, expected >= $1 (no kTLS?)"; return 1; }
}

# software BEFORE AFTER: one socket in software kTLS, the offload counters
# still.
software() {
	dev=$(delta TlsTxDevice "$1" "$2")
	sw=$(delta TlsTxSw "$1" "$2")
	pk=$(delta tx_tls_encrypted_packets "$1" "$2")
	by=$(delta tx_tls_encrypted_bytes "$1" "$2")
	ctx=$(delta tx_tls_ctx "$1" "$2")
	ktap_diag "offload off: TlsTxDevice +$dev TlsTxSw +$sw tx_tls_encrypted_packets +$pk bytes +$by tx_tls_ctx +$ctx"
	[ "$dev" -eq 0 ] && [ "$sw" -eq 1 ] ||
		{ fail_msg "expected one software kTLS socket, no offloaded one"; return 1; }
	[ "$pk" -eq 0 ] && [ "$by" -eq 0 ] && [ "$ctx" -eq 0 ] ||
		{ fail_msg "offload counters moved with the offload off"; return 1; }
}

# ktx_setup: the throw-away certificate, offload on eth0 (off on eth1), one
# warm-up kTLS connection.
if ktx_setup && mkdir -p "$NGX_DIR/www" && make_data /tmp/tls_tx_nginx.data 64 &&
   ngx_start && mv /tmp/tls_tx_nginx.data "$DATA" &&
   mv /tmp/tls_tx_nginx.data.sha256 "$DATA.sha256"; then
	ktap_pass "setup: eth0 offloads TLS TX, nginx serves a 64 MiB file on $ADDR_A:$NGX_PORT"
else
	ktap_fail "setup: eth0 offloads TLS TX, nginx serves a 64 MiB file on $ADDR_A:$NGX_PORT"
fi

for cipher in ECDHE-RSA-AES128-GCM-SHA256 AES256-GCM-SHA384; do
	before=$(ktx_snap)
	ktap_check "$cipher: curl got the 64 MiB file over TLS 1.2" fetch "$cipher"
	after=$(ktx_snap)
	ktap_check "$cipher: nginx sent it with SSL_sendfile (kTLS)" sendfile_bytes "$MIB64"
	ktap_check "$cipher: offloaded, device encrypted the file" \
		ktx_offloaded "$cipher" "$before" "$after" "$MIB64"
done

ktap_check "ethtool -K eth0 tls-hw-tx-offload off" feature eth0 tls-hw-tx-offload off
before=$(ktx_snap)
if fetch ECDHE-RSA-AES128-GCM-SHA256 && sendfile_bytes "$MIB64"; then
	ktap_pass "offload off: curl got the file, nginx used SSL_sendfile"
else
	ktap_fail "offload off: curl got the file, nginx used SSL_sendfile"
fi
after=$(ktx_snap)
ktap_check "offload off: software kTLS, offload counters still" software "$before" "$after"

ktap_check "nginx stopped" ngx_stop
ktap_check "every device context released after close" ktx_wait_idle 10
no_drops() {
	ktx_no_drops || return 1
	[ "$(counter eth0 tx_tls_ctx)" = "$(counter eth0 tx_tls_del)" ] ||
		{ fail_msg "tx_tls_ctx $(counter eth0 tx_tls_ctx) != tx_tls_del $(counter eth0 tx_tls_del)"; return 1; }
}
ktap_check "no TLS frame dropped, no context refused or leaked" no_drops
ktap_check "no kernel warning" ktx_dmesg_clean

rm -rf "$NGX_DIR/www" "$GOT"
ktap_finish
