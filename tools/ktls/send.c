// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: the send path: SSL_write, write/send (MSG_MORE), sendfile
 * (or SSL_sendfile) and splice.
 */
#include "tlsnic-ktls.h"

/* Control path writes (header, trailer) and SSL_write data. */
int conn_write_all(struct conn *c, const void *buf, size_t len, int flags)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n;

		if ((!c->ktls_tx || c->o->ktls == KTLS_OPENSSL) && c->o->ktls != KTLS_PLAIN) {
			size_t want = len > INT_MAX ? INT_MAX : len;

			n = SSL_write(c->ssl, p, want);
			if (n <= 0) {
				ssl_errors(c, "SSL_write", n);
				return -1;
			}
		} else {
			n = send(c->fd, p, len, flags | MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				conn_err(c, "send: %s", errno == EAGAIN ?
					 "timed out (peer not reading)" : strerror(errno));
				return -1;
			}
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int raw_write_all(struct conn *c, const unsigned char *p, size_t len, int flags,
			 bool use_write)
{
	while (len) {
		ssize_t n;

		if (use_write)
			n = write(c->fd, p, len);
		else
			n = send(c->fd, p, len, flags | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			conn_err(c, "%s: %s", use_write ? "write" : "send",
				 errno == EAGAIN ? "timed out (peer not reading)" :
				 strerror(errno));
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Payload bytes [off, off + len) from a generator (sequentially) or file, in
 * chunks, through write/send/MSG_MORE/SSL_write.
 */
static int send_buffered(struct conn *c, struct payload *p, off_t off, uint64_t len)
{
	const struct options *o = c->o;
	size_t chunk = o->chunk ? o->chunk : o->send == SEND_MORE ? 4000 : 65536;
	uint64_t left = len;

	if (chunk > IO_BUF_LEN)
		chunk = IO_BUF_LEN;
	while (left) {
		size_t n = left < chunk ? left : chunk;
		int r;

		if (p->fd >= 0) {
			ssize_t got = pread(p->fd, c->buf, n, off);

			if (got != (ssize_t)n) {
				conn_err(c, "reading the payload file: %s",
					 got < 0 ? strerror(errno) : "short read");
				return -1;
			}
		} else if (!o->no_hash) {
			gen_fill(&c->gen, c->buf, n);
			EVP_DigestUpdate(p->md, c->buf, n);
		}
		if (o->ktls != KTLS_SETSOCKOPT && o->send == SEND_WRITE)
			r = conn_write_all(c, c->buf, n, 0);
		else
			/* MSG_MORE on every chunk: the trailer ends the record */
			r = raw_write_all(c, c->buf, n, o->send == SEND_MORE ? MSG_MORE : 0,
					  o->send == SEND_WRITE);
		if (r)
			return -1;
		off += n;
		left -= n;
	}
	return 0;
}

static int send_sendfile(struct conn *c, struct payload *p, off_t off, uint64_t len)
{
	uint64_t left = len;

	while (left) {
		size_t want = left > (1U << 30) ? (1U << 30) : left;
		ssize_t n;

		if (c->o->ktls == KTLS_OPENSSL) {
			n = SSL_sendfile(c->ssl, p->fd, off, want, 0);
			if (n <= 0) {
				ssl_errors(c, "SSL_sendfile", n);
				return -1;
			}
			off += n;
		} else {
			n = sendfile(c->fd, p->fd, &off, want);	/* advances off */
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				conn_err(c, "sendfile: %s", n == 0 ? "no progress (file shrank?)" :
					 errno == EAGAIN ? "timed out (peer not reading)" :
					 strerror(errno));
				return -1;
			}
		}
		left -= n;
	}
	return 0;
}

static int send_splice(struct conn *c, struct payload *p, loff_t off, uint64_t len)
{
	uint64_t left = len;
	int pipefd[2];
	int ret = -1;

	if (pipe(pipefd) < 0) {
		conn_err(c, "pipe: %s", strerror(errno));
		return -1;
	}
	while (left) {
		size_t want = left > 65536 ? 65536 : left;
		ssize_t in = splice(p->fd, &off, pipefd[1], NULL, want, SPLICE_F_MOVE);

		if (in <= 0) {
			conn_err(c, "splice(file -> pipe): %s",
				 in ? strerror(errno) : "file shrank");
			goto out;
		}
		left -= in;
		while (in) {
			/* SPLICE_F_MORE lets kTLS fill records across calls, like MSG_MORE */
			ssize_t n = splice(pipefd[0], NULL, c->fd, NULL, in,
					   SPLICE_F_MOVE | (left ? SPLICE_F_MORE : 0));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				conn_err(c, "splice(pipe -> socket): %s",
					 n == 0 ? "no progress" : errno == EAGAIN ?
					 "timed out (peer not reading)" : strerror(errno));
				goto out;
			}
			in -= n;
		}
	}
	ret = 0;
out:
	close(pipefd[0]);
	close(pipefd[1]);
	return ret;
}

int send_payload(struct conn *c, struct payload *p, off_t off, uint64_t len)
{
	if (!len)
		return 0;
	switch (c->o->send) {
	case SEND_SENDFILE:
		return send_sendfile(c, p, off, len);
	case SEND_SPLICE:
		return send_splice(c, p, off, len);
	default:
		return send_buffered(c, p, off, len);
	}
}
