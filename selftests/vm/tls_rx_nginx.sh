#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# TLS RX device offload under a real server: nginx (OpenSSL 3 with kTLS,
# "ssl_conf_command Options KTLS") in netns b takes a 64 MiB upload (WebDAV
# PUT, stored as a file) over TLS 1.2 on eth1 (tls-hw-rx-offload on); curl
# in netns a sends it, once with ECDHE-RSA-AES128-GCM-SHA256 and once with
# ECDHE-RSA-AES256-GCM-SHA384 (eth0 TLS TX offload off: curl's OpenSSL
# encrypts in userspace anyway):
#
#  - curl's PUT succeeded over the cipher it asked for, and the file nginx
#    stored has sha256sum's hash of what curl sent;
#  - OpenSSL in nginx handed RX to the kernel and the kernel to the device:
#    one RX-offloaded socket in netns b (TlsRxDevice +1, TlsRxSw +0), no
#    decrypt error, and the device decrypted at least 90% of the upload
#    (rx_tls_decrypted_bytes);
#  - with ethtool -K eth1 tls-hw-rx-offload off the same upload works in
#    software kTLS RX (TlsRxSw), the offload counters still;
#  - after nginx stops, every RX context is released, no RX error, no
#    kernel warning.
#
# tools/tlsnic-vm --timeout 1200 -- selftests/vm/tls_rx_nginx.sh
# tlsnic-vm-args: --timeout 1200

. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../ktls_tx_lib.sh"
. "$(dirname "$0")/../ktls_rx_lib.sh"
. "$(dirname "$0")/../nginx_lib.sh"
require_vm

NGX_NS=b
DATA=/tmp/tls_rx_nginx.data
MIB64=$((64 * 1024 * 1024))

ktap_plan 12

# ngx_conf: TLS 1.2 only, the two ciphers curl asks for, kTLS through
# OpenSSL, PUT into $NGX_DIR/www/up (bodies go to a temp file first, then
# are renamed there).
ngx_conf() {
	cat <<EOF
user root;
worker_processes 1;
daemon on;
pid $NGX_PID;
error_log $NGX_LOG info;

events {
	worker_connections 64;
}

http {
	access_log $NGX_DIR/access.log;
	client_body_temp_path $NGX_DIR/client_body;
	proxy_temp_path $NGX_DIR/proxy;
	fastcgi_temp_path $NGX_DIR/fastcgi;
	uwsgi_temp_path $NGX_DIR/uwsgi;
	scgi_temp_path $NGX_DIR/scgi;
	keepalive_timeout 0;
	client_max_body_size 0;

	server {
		listen $ADDR_B:$NGX_PORT ssl;
		ssl_certificate $KTX_CERT;
		ssl_certificate_key $KTX_KEY;
		ssl_protocols TLSv1.2;
		ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;
		ssl_conf_command Options KTLS;
		root $NGX_DIR/www;

		location /up/ {
			dav_methods PUT;
			create_full_put_path on;
		}
	}
}
EOF
}

# upload CIPHER NAME: curl in netns a PUTs the file as up/NAME over TLS 1.2
# with CIPHER. Fails unless curl succeeds, negotiated TLS 1.2 and CIPHER,
# and nginx stored sha256sum's hash of the file.
upload() {
	ngx_curl a "$1" -T "$DATA" -o /dev/null \
		-w 'curl: http %{http_code} bytes %{size_upload} speed %{speed_upload} B/s time %{time_total} s\n' \
		"https://$ADDR_B:$NGX_PORT/up/$2" || return 1
	want=$(cat "$DATA.sha256")
	got=$(sha256sum < "$NGX_DIR/www/up/$2" | cut -d' ' -f1)
	rm -f "$NGX_DIR/www/up/$2"
	[ "$want" = "$got" ] || { fail_msg "sha256 differs: file $want, nginx stored $got"; return 1; }
}

setup_ok=1
krx_setup || setup_ok=
if make_data "$DATA" 64 && ngx_start && [ -n "$setup_ok" ]; then
	ktap_pass "setup: eth1 offloads TLS RX, nginx takes PUTs on $ADDR_B:$NGX_PORT"
else
	ktap_fail "setup: eth1 offloads TLS RX, nginx takes PUTs on $ADDR_B:$NGX_PORT"
fi

n=0
for cipher in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384; do
	n=$((n + 1))
	before=$(krx_snap)
	ktap_check "$cipher: nginx stored curl's 64 MiB upload intact" upload "$cipher" "data$n"
	after=$(krx_snap)
	ktap_check "$cipher: RX offloaded, device decrypted >= 90% of the upload" \
		krx_offloaded "$cipher" "$before" "$after" $((MIB64 * 9 / 10))
done

ktap_check "ethtool -K eth1 tls-hw-rx-offload on -> off" krx_switch_off
before=$(krx_snap)
ktap_check "offload off: nginx stored the upload intact" upload ECDHE-RSA-AES128-GCM-SHA256 data-sw
after=$(krx_snap)
ktap_check "offload off: software kTLS RX, offload counters still" \
	krx_software "offload off" "$before" "$after"

ktap_check "nginx stopped" ngx_stop
ktap_check "every RX context released after close" krx_wait_idle 10
ktap_check "no RX TLS error on eth1" krx_no_errors
ktap_check "no kernel warning, no driver error" ktx_dmesg_clean

rm -rf "$NGX_DIR/www" "$DATA" "$DATA.sha256"
ktap_finish
