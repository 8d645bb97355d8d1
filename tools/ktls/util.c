// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: messages (errors, warnings, debug, OpenSSL's error queue),
 * the clock, hex and big-endian helpers.
 */
#include "tlsnic-ktls.h"

pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

void __attribute__((format(printf, 2, 3)))
conn_err(const struct conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&out_lock);
	if (c)
		fprintf(stderr, PROG ": conn %u: error: %s\n", c->id, msg);
	else
		fprintf(stderr, PROG ": error: %s\n", msg);
	pthread_mutex_unlock(&out_lock);
}

void __attribute__((format(printf, 2, 3)))
conn_warn(const struct conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&out_lock);
	fprintf(stderr, PROG ": conn %u: warning: %s\n", c->id, msg);
	pthread_mutex_unlock(&out_lock);
}

void __attribute__((format(printf, 2, 3)))
conn_dbg(const struct conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!opt.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&out_lock);
	fprintf(stderr, PROG ": conn %u: %s\n", c ? c->id : 0, msg);
	pthread_mutex_unlock(&out_lock);
}

void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(2);
}

/* Print and clear OpenSSL's error queue after a failed call. */
void ssl_errors(const struct conn *c, const char *what, int ret)
{
	int err = c->ssl ? SSL_get_error(c->ssl, ret) : SSL_ERROR_SSL;
	unsigned long e;
	char buf[256];

	if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
		conn_err(c, "%s: timed out after %u s waiting for the peer", what,
			 c->o->timeout_s);
	else if (err == SSL_ERROR_SYSCALL && errno)
		conn_err(c, "%s: %s", what, strerror(errno));
	else if (err == SSL_ERROR_SYSCALL)
		conn_err(c, "%s: peer closed the connection", what);
	else if (err == SSL_ERROR_ZERO_RETURN)
		conn_err(c, "%s: peer sent close_notify", what);
	else
		conn_err(c, "%s failed (SSL error %d)", what, err);
	while ((e = ERR_get_error())) {
		ERR_error_string_n(e, buf, sizeof(buf));
		conn_err(c, "  %s", buf);
	}
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void hex(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int unhex(unsigned char *out, size_t len, const char *in)
{
	size_t i;

	if (strlen(in) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned int v;

		if (sscanf(in + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return 0;
}

void put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}
