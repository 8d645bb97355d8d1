// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: the receive path: SSL_read, or recv/read/recvmsg on kTLS RX,
 * with the control records that arrive between the data.
 */
#include "tlsnic-ktls.h"

/* The receive path this connection uses: SSL_read, or raw syscalls on kTLS. */
enum recv_method conn_recv_method(const struct conn *c)
{
	if (c->o->recv != RECV_DEFAULT)
		return c->o->recv;
	return c->o->ktls == KTLS_SETSOCKOPT || c->o->ktls == KTLS_PLAIN ? RECV_RECV : RECV_SSL;
}

/* A --ctrl record arrived (an alert OpenSSL read, or any type on kTLS RX). */
void ctrl_seen(struct conn *c, unsigned char type, const unsigned char *p, size_t len)
{
	struct ctrl_rec *r;

	if (c->nseen >= MAX_CTRL) {
		c->nseen = MAX_CTRL + 1;	/* more than expected: the check reports it */
		return;
	}
	r = &c->seen[c->nseen++];
	r->type = type;
	r->len = len;
	memcpy(r->data, p, len < CTRL_MAX_LEN ? len : CTRL_MAX_LEN);
	r->at = c->rx_app;
}

/*
 * A non-data record arrived on kTLS RX. Returns 1 to keep reading, 0 on
 * close_notify, -1 on anything fatal.
 */
static int handle_ctrl_record(struct conn *c, unsigned char type, const unsigned char *p,
			      ssize_t len)
{
	c->ctrl_records++;
	if (c->o->nctrl && !(type == TLS_RT_ALERT && len == 2 &&
			     p[1] == TLS_ALERT_CLOSE_NOTIFY)) {
		ctrl_seen(c, type, p, len);
		return 1;
	}
	switch (type) {
	case TLS_RT_ALERT:
		if (len == 2 && p[1] == TLS_ALERT_CLOSE_NOTIFY) {
			c->peer_closed = true;
			return 0;
		}
		if (len == 2)
			conn_err(c, "peer sent TLS alert level %u description %u", p[0], p[1]);
		else
			conn_err(c, "malformed alert record (%zd bytes)", len);
		return -1;
	case TLS_RT_HANDSHAKE: {
		/*
		 * TLS 1.3 servers send NewSessionTickets after the handshake; the
		 * client may take over RX before reading them. Tickets are
		 * optional to use, so skipping them is correct. Anything else
		 * (KeyUpdate) cannot be followed by the kernel.
		 */
		ssize_t off = 0;

		while (SSL_version(c->ssl) == TLS1_3_VERSION && off + 4 <= len &&
		       p[off] == SSL3_MT_NEWSESSION_TICKET) {
			size_t mlen = (size_t)p[off + 1] << 16 | p[off + 2] << 8 | p[off + 3];

			if (mlen > (size_t)(len - off - 4))
				break;
			conn_dbg(c, "skipped a NewSessionTicket (%zu bytes) on kTLS RX", mlen);
			off += 4 + mlen;
		}
		if (off == len && len)
			return 1;
		conn_err(c, "unexpected handshake message type %u on kTLS RX%s",
			 off < len ? p[off] : 0,
			 off < len && p[off] == SSL3_MT_KEY_UPDATE ?
				" (KeyUpdate is not supported)" : "");
		return -1;
	}
	default:
		conn_err(c, "unexpected TLS record type %u (%zd bytes) on kTLS RX", type, len);
		return -1;
	}
}

static void report_recv_errno(struct conn *c, const char *what)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		conn_err(c, "%s: timed out after %u s waiting for the peer", what,
			 c->o->timeout_s);
	else if (errno == EBADMSG)
		conn_err(c, "%s: record failed authentication (EBADMSG)", what);
	else if (errno == EMSGSIZE)
		conn_err(c, "%s: record too large (EMSGSIZE)", what);
	else
		conn_err(c, "%s: %s", what, strerror(errno));
}

/* Keep plaintext for the next conn_read() (only called when none is kept). */
static int stash(struct conn *c, const unsigned char *p, size_t len)
{
	unsigned char *n = realloc(c->pre, len);

	if (!n) {
		conn_err(c, "out of memory");
		return -1;
	}
	memcpy(n, p, len);
	c->pre = n;
	c->pre_len = len;
	c->pre_off = 0;
	return 0;
}

/*
 * Read up to len bytes of application data. Returns the byte count, 0 after
 * the peer's close_notify, -1 on error (reported).
 */
static ssize_t conn_read_raw(struct conn *c, void *buf, size_t len)
{
	enum recv_method m = conn_recv_method(c);
	unsigned char type;
	ssize_t n;
	int r;

	if (c->pre_off < c->pre_len) {
		n = c->pre_len - c->pre_off;
		if ((size_t)n > len)
			n = len;
		memcpy(buf, c->pre + c->pre_off, n);
		c->pre_off += n;
		return n;
	}
	if (c->peer_closed)
		return 0;
	if (c->o->ktls == KTLS_PLAIN) {
		do
			n = m == RECV_READ ? read(c->fd, buf, len) : recv(c->fd, buf, len, 0);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			report_recv_errno(c, m == RECV_READ ? "read" : "recv");
		c->peer_closed = n == 0;
		return n;
	}
	if (m == RECV_SSL) {
		n = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : len);
		if (n > 0)
			return n;
		if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN) {
			c->peer_closed = true;
			return 0;
		}
		ssl_errors(c, "SSL_read", n);
		return -1;
	}
	for (;;) {
		if (m == RECV_READ) {
			n = read(c->fd, buf, len);
			type = TLS_RT_APPLICATION_DATA;
			/* read(2) cannot return a control record: fetch it with recvmsg */
			if (n < 0 && errno == EIO)
				n = ktls_recvmsg(c, c->rec, TLS_MAX_PLAIN, &type);
		} else if (len < TLS_MAX_PLAIN) {
			/*
			 * A short buffer would split a control record (e.g. a
			 * NewSessionTicket) across calls: take whole records and
			 * keep the data the caller has no room for.
			 */
			n = ktls_recvmsg(c, c->rec, TLS_MAX_PLAIN, &type);
			if (n > 0 && type == TLS_RT_APPLICATION_DATA && (size_t)n > len) {
				if (stash(c, c->rec + len, n - len))
					return -1;
				n = len;
			}
			if (n > 0 && type == TLS_RT_APPLICATION_DATA)
				memcpy(buf, c->rec, n);
		} else {
			n = ktls_recvmsg(c, buf, len, &type);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			report_recv_errno(c, m == RECV_READ ? "read" : "recvmsg");
			return -1;
		}
		if (type == TLS_RT_APPLICATION_DATA) {
			if (n == 0) {
				conn_err(c, "peer closed TCP without close_notify");
				return -1;
			}
			return n;
		}
		r = handle_ctrl_record(c, type, m == RECV_READ || len < TLS_MAX_PLAIN ?
				       c->rec : buf, n);
		if (r <= 0)
			return r;
	}
}

ssize_t conn_read(struct conn *c, void *buf, size_t len)
{
	ssize_t n = conn_read_raw(c, buf, len);

	if (n > 0)
		c->rx_app += n;
	return n;
}

/* Read exactly len bytes; -1 (reported) on error or early close. */
int conn_read_full(struct conn *c, void *buf, size_t len, const char *what)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = conn_read(c, p, len);

		if (n < 0)
			return -1;
		if (n == 0) {
			conn_err(c, "peer closed the stream in the middle of the %s", what);
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}
