// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: transfers: the framing (header, payload, SHA-256 trailer),
 * the receiver's checks, --pause-after and --ctrl in the middle of the
 * payload, one result line each, and the close_notify exchange.
 */
#include "tlsnic-ktls.h"

int save_fd = -1;

static void print_result(struct conn *c, const char *dir, unsigned int idx, uint64_t bytes,
			 const unsigned char *sha, double secs, const char *result)
{
	char shahex[2 * SHA256_LEN + 1];
	double mbps = secs > 0 ? bytes * 8 / secs / 1e6 : 0;

	hex(shahex, sha, SHA256_LEN);
	pthread_mutex_lock(&out_lock);
	printf("ktls: role=%s dir=%s bytes=%" PRIu64 " sha256=%s ktls_tx=%d ktls_rx=%d "
	       "mbps=%.1f conn=%u xfer=%u mode=%s tls=%s cipher=%s method=%s prebuffered=%zu "
	       "ctrl_records=%" PRIu64 " ssl_records=%" PRIu64 " ssl_max_record=%" PRIu64
	       " secs=%.3f result=%s\n",
	       c->o->server ? "server" : "client", dir, bytes, shahex, c->ktls_tx, c->ktls_rx,
	       mbps, c->id, idx, ktls_mode_names[c->o->ktls],
	       !c->ssl ? "none" : SSL_version(c->ssl) == TLS1_3_VERSION ? "1.3" : "1.2",
	       cipher_names[c->o->cipher],
	       !strcmp(dir, "tx") ? send_method_names[c->o->send] :
				    recv_method_names[conn_recv_method(c)],
	       c->prebuffered, c->ctrl_records, c->ssl_records, c->ssl_max_record, secs, result);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* Create DIR/NAME holding the pause point, atomically (rename). */
static int barrier_mark(struct conn *c, const char *name)
{
	const struct options *o = c->o;
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", o->barrier, name);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", o->barrier, name);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%" PRIu64 "\n", o->pause_after) < 0 || fclose(f) ||
	    rename(tmp, path)) {
		conn_err(c, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * --pause-after BYTES --barrier DIR: BYTES of payload are in the socket.
 * Create DIR/reached (holding BYTES), then wait for DIR/resume, so that a
 * test can act on a connection that is provably mid-transfer. With
 * --count N --parallel each connection creates DIR/reached.ID when it
 * pauses, and the last of them DIR/reached: all N are held then.
 */
static int pause_at_barrier(struct conn *c)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static unsigned int npaused;
	const struct options *o = c->o;
	char resume[PATH_MAX], name[32];
	double t0 = now_s();
	bool all = true;

	c->paused = true;
	if (o->count > 1) {
		snprintf(name, sizeof(name), "reached.%u", c->id);
		if (barrier_mark(c, name))
			return -1;
		pthread_mutex_lock(&lock);
		all = ++npaused == o->count;
		pthread_mutex_unlock(&lock);
	}
	if (all && barrier_mark(c, "reached"))
		return -1;
	snprintf(resume, sizeof(resume), "%s/resume", o->barrier);
	while (access(resume, F_OK)) {
		if (now_s() - t0 > o->timeout_s) {
			conn_err(c, "paused after %" PRIu64 " bytes: no %s within %u s",
				 o->pause_after, resume, o->timeout_s);
			return -1;
		}
		usleep(10000);
	}
	pthread_mutex_lock(&out_lock);
	printf("pause: conn=%u sent=%" PRIu64 " resumed\n", c->id, o->pause_after);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	return 0;
}

/* Transfer idx of this end's --bytes list. */
static int transfer_send(struct conn *c, unsigned int idx)
{
	const struct options *o = c->o;
	unsigned char hdr[STREAM_HDR_LEN];
	struct payload p;
	double t0;
	int r;

	if (payload_open(c, &p, idx) < 0) {
		payload_close(&p);
		return -1;
	}
	memcpy(hdr, STREAM_MAGIC, 8);
	put_be64(hdr + 8, p.len);
	put_be32(hdr + 16, idx);
	put_be32(hdr + 20, o->ntransfers);
	t0 = now_s();
	r = conn_write_all(c, hdr, sizeof(hdr), o->send == SEND_MORE ? MSG_MORE : 0);
	if (!r && (p.len || o->nctrl)) {
		/* stops in the payload: --pause-after, and --ctrl at its middle */
		uint64_t pause = UINT64_MAX, mid = o->nctrl ? p.len / 2 : UINT64_MAX, off = 0;
		unsigned int i;

		if (o->barrier && !c->paused && o->pause_after - c->payload_sent < p.len)
			pause = o->pause_after - c->payload_sent;
		while (!r && (off < p.len || mid != UINT64_MAX)) {
			uint64_t stop = pause < mid ? pause : mid;

			if (stop == UINT64_MAX)
				stop = p.len;
			r = send_payload(c, &p, off, stop - off);
			off = stop;
			if (!r && stop == mid) {
				for (i = 0; !r && i < o->nctrl; i++)
					r = ktls_send_record(c, o->ctrl[i].type, o->ctrl[i].data,
							     o->ctrl[i].len);
				mid = UINT64_MAX;
			} else if (!r && stop == pause) {
				r = pause_at_barrier(c);
				pause = UINT64_MAX;
			}
		}
		c->payload_sent += p.len;
	}
	if (!r && p.md)
		EVP_DigestFinal_ex(p.md, p.sha256, NULL);
	if (!r)
		r = conn_write_all(c, p.sha256, SHA256_LEN, 0);
	if (!r)
		print_result(c, "tx", idx, p.len, p.sha256, now_s() - t0, "ok");
	payload_close(&p);
	return r;
}

/*
 * --ctrl on a receiving end: exactly these records (type and bytes) came
 * in this transfer, all after @at application bytes of the connection (the
 * middle of the payload, where the sender put them).
 */
static int ctrl_check(struct conn *c, unsigned int idx, uint64_t at)
{
	const struct options *o = c->o;
	unsigned int i;

	if (c->nseen != o->nctrl) {
		conn_err(c, "transfer %u: %u control records, --ctrl lists %u", idx, c->nseen,
			 o->nctrl);
		return -1;
	}
	for (i = 0; i < o->nctrl; i++) {
		const struct ctrl_rec *e = &o->ctrl[i], *g = &c->seen[i];

		if (g->type != e->type || g->len != e->len || memcmp(g->data, e->data, e->len) ||
		    g->at != at) {
			conn_err(c, "transfer %u: control record %u: type %u, %zu bytes after %"
				 PRIu64 " bytes; expected type %u, %zu bytes after %" PRIu64
				 "%s", idx, i, g->type, g->len, g->at, e->type, e->len, at,
				 g->type == e->type && g->len == e->len &&
				 memcmp(g->data, e->data, e->len) ? " (content differs)" : "");
			return -1;
		}
	}
	return 0;
}

/*
 * Receive the peer's next transfer, expected to be number idx. *more is
 * set when the peer announced further transfers.
 */
static int transfer_recv(struct conn *c, unsigned int idx, bool *more)
{
	const struct options *o = c->o;
	unsigned char hdr[STREAM_HDR_LEN], sha[SHA256_LEN], announced[SHA256_LEN];
	char a[2 * SHA256_LEN + 1], b[2 * SHA256_LEN + 1];
	uint32_t peer_idx, peer_total;
	EVP_MD_CTX *md;
	uint64_t len, left, start;
	double t0;
	bool ok = true;

	*more = false;
	start = c->rx_app;
	c->nseen = 0;
	if (conn_read_full(c, hdr, sizeof(hdr), "stream header"))
		return -1;
	t0 = now_s();
	if (memcmp(hdr, STREAM_MAGIC, 8)) {
		conn_err(c, "bad stream header (is the peer " PROG " with the opposite --dir?)");
		return -1;
	}
	len = get_be64(hdr + 8);
	peer_idx = get_be32(hdr + 16);
	peer_total = get_be32(hdr + 20);
	if (peer_idx != idx || peer_idx >= peer_total) {
		conn_err(c, "bad stream header: transfer %u of %u, expected number %u",
			 peer_idx, peer_total, idx);
		return -1;
	}
	*more = peer_idx + 1 < peer_total;
	md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		conn_err(c, "SHA-256 unavailable");
		return -1;
	}
	for (left = len; left;) {
		ssize_t n = conn_read(c, c->buf, left < IO_BUF_LEN ? left : IO_BUF_LEN);

		if (n <= 0) {
			if (n == 0)
				conn_err(c, "short transfer: peer closed after %" PRIu64
					 " of %" PRIu64 " bytes", len - left, len);
			EVP_MD_CTX_free(md);
			return -1;
		}
		if (!o->no_hash)
			EVP_DigestUpdate(md, c->buf, n);
		if (save_fd >= 0 && write(save_fd, c->buf, n) != n) {
			conn_err(c, "writing %s: %s", o->save, strerror(errno));
			EVP_MD_CTX_free(md);
			return -1;
		}
		left -= n;
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	if (conn_read_full(c, announced, sizeof(announced), "SHA-256 trailer"))
		return -1;

	hex(a, sha, SHA256_LEN);
	if (o->no_hash) {
		/* --no-hash: the sender announced zeros; nothing to compare */
		memset(sha, 0, SHA256_LEN);
	} else if (memcmp(sha, announced, SHA256_LEN)) {
		hex(b, announced, SHA256_LEN);
		conn_err(c, "transfer %u: SHA-256 mismatch: received data hashes to %s, "
			 "sender announced %s", idx, a, b);
		ok = false;
	}
	if (o->nexpect) {
		if (idx >= o->nexpect) {
			conn_err(c, "transfer %u: no --expect-sha256 for it", idx);
			ok = false;
		} else if (memcmp(sha, o->expect_sha256[idx], SHA256_LEN)) {
			hex(b, o->expect_sha256[idx], SHA256_LEN);
			conn_err(c, "transfer %u: SHA-256 mismatch: received %s, --expect-sha256 %s",
				 idx, a, b);
			ok = false;
		}
	}
	if (o->nctrl && ctrl_check(c, idx, start + STREAM_HDR_LEN + len / 2))
		ok = false;
	/* with --dir both, --bytes is what this end sends */
	if (o->bytes_set && !o->tx) {
		if (peer_total != o->ntransfers) {
			conn_err(c, "peer makes %u transfers, --bytes lists %u", peer_total,
				 o->ntransfers);
			ok = false;
		} else if (len != o->bytes[idx]) {
			conn_err(c, "transfer %u: length mismatch: peer sent %" PRIu64
				 " bytes, --bytes %" PRIu64, idx, len, o->bytes[idx]);
			ok = false;
		}
	}
	print_result(c, "rx", idx, len, sha, now_s() - t0, ok ? "ok" : "mismatch");
	return ok ? 0 : -1;
}

/*
 * All transfers of a connection. With --dir both they alternate, the
 * client's first: round i is "client sends its i-th, server sends its i-th",
 * each side skipping its part once its list (or the peer's) is exhausted.
 */
int run_transfers(struct conn *c)
{
	const struct options *o = c->o;
	unsigned int sent = 0, received = 0;
	bool peer_more = o->rx;

	while ((o->tx && sent < o->ntransfers) || peer_more) {
		bool send_now = o->tx && sent < o->ntransfers;

		if (o->server && peer_more) {
			if (transfer_recv(c, received++, &peer_more))
				return -1;
		}
		if (send_now) {
			if (transfer_send(c, sent++))
				return -1;
		}
		if (!o->server && peer_more) {
			if (transfer_recv(c, received++, &peer_more))
				return -1;
		}
	}
	if (o->barrier && o->tx && !c->paused) {
		conn_err(c, "--pause-after %" PRIu64 ": only %" PRIu64 " payload bytes to send",
			 o->pause_after, c->payload_sent);
		return -1;
	}
	return 0;
}

/* Send our close_notify. */
static int conn_send_close_notify(struct conn *c)
{
	static const unsigned char alert[2] = { 1 /* warning */, TLS_ALERT_CLOSE_NOTIFY };
	int r;

	if (c->o->ktls == KTLS_PLAIN) {
		/* plain TCP: our FIN stands for close_notify */
		if (shutdown(c->fd, SHUT_WR) < 0) {
			conn_err(c, "shutdown: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (!c->ktls_tx || c->o->ktls == KTLS_OPENSSL) {
		/* OpenSSL (with or without kTLS TX) writes the alert itself */
		r = SSL_shutdown(c->ssl);
		if (r < 0) {
			ssl_errors(c, "SSL_shutdown", r);
			return -1;
		}
		return 0;
	}
	/* the kernel owns the sequence numbers: send the alert record through it */
	return ktls_send_record(c, TLS_RT_ALERT, alert, sizeof(alert));
}

/*
 * Orderly end: both sides send close_notify and read until the peer's, so
 * nothing is left unread (which would make close() send a RST) and a
 * truncated stream is detected.
 */
int conn_shutdown(struct conn *c)
{
	ssize_t n;

	if (conn_send_close_notify(c))
		return -1;
	n = conn_read(c, c->buf, IO_BUF_LEN);
	if (n > 0)
		conn_err(c, "peer sent %zd unexpected bytes after the transfer "
			 "(both ends --dir tx?)", n);
	else if (n < 0)
		conn_err(c, "no close_notify from the peer (did it fail? see its output)");
	return n ? -1 : 0;
}
