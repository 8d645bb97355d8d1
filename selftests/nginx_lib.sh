# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the VM tests that run nginx (selftests/vm/tls_*_nginx.sh),
# sourced after lib.sh. The test defines ngx_conf, which prints nginx's
# configuration. nginx runs from /tmp (the guest's /etc is read-only): its
# config, pid, logs and temp paths all live in $NGX_DIR.

NGINX=/usr/sbin/nginx
NGX_DIR=/tmp/nginx
NGX_PORT=8443
NGX_LOG=$NGX_DIR/error.log
NGX_PID=$NGX_DIR/nginx.pid
# the netns nginx runs in
NGX_NS=a

# ngx_problems: nginx's own complaints (not its debug chatter) as diagnostics.
ngx_problems() {
	grep -E '\[(emerg|alert|crit|error|warn)\]' "$NGX_LOG" 2> /dev/null |
		tail -n 20 | sed 's/^/# nginx: /'
}

# ngx_start: nginx in netns NGX_NS with the configuration ngx_conf (the
# test's own function) prints, listening once it returns (it binds before
# daemonizing); waits for the pid file the daemon writes afterwards.
ngx_start() {
	if [ ! -x "$NGINX" ]; then
		fail_msg "$NGINX missing (nginx-light)"
		return 1
	fi
	rm -rf "$NGX_DIR"
	mkdir -p "$NGX_DIR/www" || return 1
	ngx_conf > "$NGX_DIR/nginx.conf" || return 1
	if ! ip netns exec "$NGX_NS" "$NGINX" -c "$NGX_DIR/nginx.conf" -p "$NGX_DIR/" \
		-e "$NGX_LOG" > "$NGX_DIR/start.out" 2>&1; then
		sed 's/^/# nginx: /' "$NGX_DIR/start.out"
		ngx_problems
		fail_msg "nginx did not start"
		return 1
	fi
	i=0
	while [ ! -s "$NGX_PID" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { fail_msg "nginx wrote no pid file"; return 1; }
		sleep 0.1
	done
	NGX_MASTER=$(cat "$NGX_PID")
	ktap_diag "nginx master pid $NGX_MASTER, in netns $NGX_NS"
	return 0
}

# ngx_stop: SIGQUIT (graceful) to the master from the pid file, then wait
# until it is gone.
ngx_stop() {
	[ -n "${NGX_MASTER:-}" ] || { fail_msg "nginx was not running"; return 1; }
	kill -QUIT "$NGX_MASTER" || { fail_msg "cannot signal nginx $NGX_MASTER"; return 1; }
	i=0
	while kill -0 "$NGX_MASTER" 2> /dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			kill -TERM "$NGX_MASTER"
			fail_msg "nginx $NGX_MASTER still running 10 s after SIGQUIT"
			return 1
		fi
		sleep 0.1
	done
	ngx_problems
	return 0
}

# ngx_curl NS CIPHER CURL_ARGS...: curl in netns NS over TLS 1.2 with
# CIPHER, its -w line as a diagnostic. Fails, with curl's complaints and
# nginx's, unless curl succeeds and reports TLSv1.2 with CIPHER.
ngx_curl() {
	_nc_ns=$1
	_nc_cipher=$2
	shift 2
	ip netns exec "$_nc_ns" curl -sS -v --fail --tlsv1.2 --tls-max 1.2 -k \
		--ciphers "$_nc_cipher" --max-time 900 "$@" \
		> "$NGX_DIR/curl.out" 2> "$NGX_DIR/curl.err"
	_nc_rc=$?
	sed 's/^/# /' "$NGX_DIR/curl.out"
	if [ $_nc_rc -ne 0 ]; then
		grep -v '^[<>{}*] ' "$NGX_DIR/curl.err" | sed 's/^/# curl: /'
		grep -E '^\* (SSL|TLS)' "$NGX_DIR/curl.err" | sed 's/^/# curl: /'
		ngx_problems
		fail_msg "curl exited with $_nc_rc"
		return 1
	fi
	if ! grep -qF "SSL connection using TLSv1.2 / $_nc_cipher" "$NGX_DIR/curl.err"; then
		grep '^\* SSL connection' "$NGX_DIR/curl.err" | sed 's/^/# curl: /'
		fail_msg "curl did not report TLSv1.2 with $_nc_cipher"
		return 1
	fi
}
