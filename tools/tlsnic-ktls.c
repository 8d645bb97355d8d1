// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls - TLS client/server that moves data over Linux kernel TLS.
 *
 * The handshake is a real OpenSSL 3 handshake; afterwards the record layer
 * is handed to the kernel in one of three ways:
 *
 *   --ktls openssl     OpenSSL keys the socket itself (SSL_OP_ENABLE_KTLS);
 *                      data moves through SSL_write/SSL_read/SSL_sendfile.
 *   --ktls setsockopt  this program derives the traffic keys from the key log
 *                      (TLS1-PRF for TLS 1.2, HKDF-Expand-Label for TLS 1.3)
 *                      and sets TCP_ULP "tls" + SOL_TLS TLS_TX/TLS_RX itself,
 *                      with the record sequence numbers OpenSSL already used.
 *   --ktls none        plain SSL_read/SSL_write: the userspace oracle peer.
 *   --ktls plain       no TLS at all: plain TCP through the same code paths,
 *                      the baseline of tools/bench (both ends must say so).
 *
 * A connection carries one or more transfers per direction (--bytes LIST),
 * each framed as
 *   header  (24 bytes: "TLSNKTL1", be64 payload length, be32 index,
 *            be32 number of transfers this sender makes)
 *   payload (N bytes)
 *   trailer (32 bytes: SHA-256 of the payload)
 * and the receiver checks length and hash (and --expect-sha256 if given).
 * Both ends then exchange close_notify, so a truncated stream is an error.
 * Each finished transfer prints one line starting with "ktls: " on stdout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/tls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define PROG "tlsnic-ktls"
#define STREAM_MAGIC "TLSNKTL1"
#define STREAM_HDR_LEN 24
#define MAX_TRANSFERS 64
#define SHA256_LEN 32
#define IO_BUF_LEN (256 * 1024)
#define TLS_RT_CHANGE_CIPHER_SPEC 20
#define TLS_RT_ALERT 21
#define TLS_RT_HANDSHAKE 22
#define TLS_RT_APPLICATION_DATA 23
#define TLS_ALERT_CLOSE_NOTIFY 0
#define TLS_MAX_PLAIN 16384
/* Longest --read-ahead pause after our Finished (see stall_for_peer_data). */
#define READ_AHEAD_STALL_MS 15000
#define MAX_CTRL 8
#define CTRL_MAX_LEN 64

enum ktls_mode { KTLS_NONE, KTLS_OPENSSL, KTLS_SETSOCKOPT, KTLS_PLAIN };
enum send_method { SEND_WRITE, SEND_SEND, SEND_SENDFILE, SEND_SPLICE, SEND_MORE };
enum recv_method { RECV_DEFAULT, RECV_SSL, RECV_RECV, RECV_READ };
enum cipher { CIPHER_AES128GCM, CIPHER_AES256GCM };

static const char *const ktls_mode_names[] = { "none", "openssl", "setsockopt", "plain" };
static const char *const send_method_names[] = { "write", "send", "sendfile", "splice", "more" };
static const char *const recv_method_names[] = { "default", "ssl", "recv", "read" };
static const char *const cipher_names[] = { "aes128gcm", "aes256gcm" };

/* A control record (--ctrl): sent through TLS_SET_RECORD_TYPE, or expected. */
struct ctrl_rec {
	unsigned char type;
	unsigned char data[CTRL_MAX_LEN];
	size_t len;
	uint64_t at;		/* received: application bytes read before it */
};

struct options {
	bool server;
	const char *addr;		/* --listen / --connect argument */
	int tls_version;		/* TLS1_2_VERSION or TLS1_3_VERSION */
	enum cipher cipher;
	enum ktls_mode ktls;
	enum send_method send;
	enum recv_method recv;
	bool tx, rx;			/* this end sends / receives */
	bool allow_no_ktls;
	bool read_ahead;
	bool zerocopy;			/* TLS_TX_ZEROCOPY_RO */
	bool parallel;
	bool verbose;
	bool no_hash;			/* --no-hash: a benchmark's data, not checked */
	bool print_keys;		/* --print-keys: the kernel's keys, in hex */
	const char *hold;		/* --hold DIR: stay alive, wiped, at the end */
	uint64_t bytes[MAX_TRANSFERS];	/* --bytes LIST */
	unsigned int ntransfers;
	bool bytes_set;
	const char *file;
	size_t chunk;
	unsigned char expect_sha256[MAX_TRANSFERS][SHA256_LEN];
	unsigned int nexpect;
	unsigned int count;
	unsigned int timeout_s;
	uint64_t seed;
	const char *cert_file, *key_file;
	const char *keylog_file;
	const char *tmpdir;
	uint64_t pause_after;		/* --pause-after: payload bytes before the pause */
	const char *barrier;		/* --barrier DIR: its reached and resume files */
	const char *save;		/* --save FILE: received payload, as it arrives */
	struct ctrl_rec ctrl[MAX_CTRL];	/* --ctrl: in the middle of every transfer */
	unsigned int nctrl;
	const char *start_file;		/* --start-file: keyed, wait for it */
};

struct payload_gen {
	uint64_t state;
	uint64_t word;		/* current output word ... */
	unsigned int avail;	/* ... and how many of its bytes are unused */
};

/* Record sequence number of one direction, counted from OpenSSL's msg callback. */
struct seq_track {
	bool active;	/* the application traffic keys are in use */
	uint64_t seq;	/* records protected with them so far */
};

struct conn {
	const struct options *o;
	unsigned int id;
	int fd;
	SSL *ssl;
	bool ktls_tx, ktls_rx;		/* the kernel owns this direction */
	struct seq_track rd, wr;
	/* key log lines captured for --ktls setsockopt */
	unsigned char client_random[32];
	unsigned char master[48];
	bool have_master;
	unsigned char c_secret[EVP_MAX_MD_SIZE], s_secret[EVP_MAX_MD_SIZE];
	size_t c_secret_len, s_secret_len;
	/* plaintext OpenSSL had decrypted before the kernel took over RX */
	unsigned char *pre;
	size_t pre_len, pre_off, prebuffered;
	uint64_t ctrl_records;		/* non-data records seen on kTLS RX */
	struct payload_gen gen;		/* generated data, continuous over transfers */
	bool peer_closed;
	bool stall_before_read;		/* --read-ahead: our Finished was written */
	unsigned char *buf;		/* IO_BUF_LEN scratch */
	unsigned char *rec;		/* TLS_MAX_PLAIN: one whole record from kTLS RX */
	uint64_t payload_sent;		/* payload bytes sent, over all transfers */
	bool paused;			/* --pause-after done */
	uint64_t rx_app;		/* application bytes conn_read() returned */
	struct ctrl_rec seen[MAX_CTRL];	/* --ctrl records of this transfer */
	unsigned int nseen;
	uint64_t ssl_records, ssl_max_record;	/* data records OpenSSL read */
};

static struct options opt = {
	.tls_version = TLS1_2_VERSION,
	.cipher = CIPHER_AES128GCM,
	.ktls = KTLS_SETSOCKOPT,
	.send = SEND_WRITE,
	.recv = RECV_DEFAULT,
	.bytes = { 1024 * 1024 },
	.ntransfers = 1,
	.count = 1,
	.timeout_s = 30,
	.seed = 1,
};

static SSL_CTX *ssl_ctx;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int keylog_fd = -1;
static int save_fd = -1;

static void __attribute__((format(printf, 2, 3)))
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

static void __attribute__((format(printf, 2, 3)))
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

static void __attribute__((format(printf, 2, 3)))
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

static void __attribute__((noreturn, format(printf, 1, 2)))
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
static void ssl_errors(const struct conn *c, const char *what, int ret)
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hex(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int unhex(unsigned char *out, size_t len, const char *in)
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

static void put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ---------------------------------------------------------------------- */
/* Payload: a deterministic pseudo-random stream (incompressible) or a file */

static void gen_init(struct payload_gen *g, uint64_t seed)
{
	/* splitmix64 of the seed so seed 0 and small seeds still mix */
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	g->state = (z ^ (z >> 31)) | 1;
	g->avail = 0;
}

/* xorshift64*, byte-exact: any chunking of the stream gives the same bytes */
static void gen_fill(struct payload_gen *g, unsigned char *p, size_t len)
{
	while (len) {
		size_t n;

		if (!g->avail) {
			uint64_t x = g->state;

			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			g->state = x;
			g->word = x * 0x2545f4914f6cdd1dULL;
			g->avail = 8;
		}
		n = len < g->avail ? len : g->avail;
		memcpy(p, (unsigned char *)&g->word + 8 - g->avail, n);
		g->avail -= n;
		p += n;
		len -= n;
	}
}

/*
 * The data a sender moves. For sendfile/splice it needs a file: either
 * --file, or the generated stream written to an unlinked temporary file.
 */
struct payload {
	uint64_t len;
	unsigned char sha256[SHA256_LEN];
	int fd;				/* -1: generate on the fly */
	EVP_MD_CTX *md;			/* on the fly: hashed as generated */
};

static int payload_hash_fd(struct conn *c, struct payload *p)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t left = p->len;
	off_t off = 0;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto fail;
	while (left) {
		size_t want = left < IO_BUF_LEN ? left : IO_BUF_LEN;
		ssize_t n = pread(p->fd, c->buf, want, off);

		if (n <= 0) {
			conn_err(c, "reading %s: %s", c->o->file ? c->o->file : "payload file",
				 n < 0 ? strerror(errno) : "file shrank");
			goto fail;
		}
		EVP_DigestUpdate(md, c->buf, n);
		off += n;
		left -= n;
	}
	EVP_DigestFinal_ex(md, p->sha256, NULL);
	EVP_MD_CTX_free(md);
	return 0;
fail:
	EVP_MD_CTX_free(md);
	return -1;
}

static int payload_tmpfile(struct conn *c, struct payload *p)
{
	const char *dir = c->o->tmpdir ? c->o->tmpdir :
			  getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	uint64_t left = p->len;
	char path[PATH_MAX];

	p->fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (p->fd < 0) {
		/* O_TMPFILE is not supported by every filesystem (e.g. 9p) */
		snprintf(path, sizeof(path), "%s/" PROG ".XXXXXX", dir);
		p->fd = mkstemp(path);
		if (p->fd < 0) {
			conn_err(c, "cannot create a temporary file in %s: %s", dir,
				 strerror(errno));
			return -1;
		}
		unlink(path);
	}
	while (left) {
		size_t n = left < IO_BUF_LEN ? left : IO_BUF_LEN;

		gen_fill(&c->gen, c->buf, n);
		if (write(p->fd, c->buf, n) != (ssize_t)n) {
			conn_err(c, "writing the temporary payload file in %s: %s", dir,
				 strerror(errno));
			return -1;
		}
		left -= n;
	}
	return 0;
}

static int payload_open(struct conn *c, struct payload *p, unsigned int idx)
{
	const struct options *o = c->o;
	bool need_file = o->send == SEND_SENDFILE || o->send == SEND_SPLICE;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (o->file) {
		struct stat st;

		p->fd = open(o->file, O_RDONLY);
		if (p->fd < 0 || fstat(p->fd, &st) < 0) {
			conn_err(c, "cannot open %s: %s", o->file, strerror(errno));
			return -1;
		}
		p->len = st.st_size;
		return o->no_hash ? 0 : payload_hash_fd(c, p);
	}
	p->len = o->bytes[idx];
	if (need_file) {
		if (payload_tmpfile(c, p) < 0)
			return -1;
		return o->no_hash ? 0 : payload_hash_fd(c, p);
	}
	if (o->no_hash)
		return 0;
	/*
	 * Generated on the fly: hashed as it is generated, so that sending
	 * starts at once (the trailer goes after the payload anyway); a long
	 * stream hashed up front kept the receiver waiting for minutes.
	 */
	p->md = EVP_MD_CTX_new();
	if (!p->md || !EVP_DigestInit_ex(p->md, EVP_sha256(), NULL)) {
		conn_err(c, "SHA-256 unavailable");
		return -1;
	}
	return 0;
}

static void payload_close(struct payload *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	EVP_MD_CTX_free(p->md);
	p->md = NULL;
}

/* ---------------------------------------------------------------------- */
/* OpenSSL callbacks: key log and record sequence tracking */

static int conn_ex_index = -1;

static struct conn *ssl_conn(const SSL *ssl)
{
	return SSL_get_ex_data(ssl, conn_ex_index);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct conn *c = ssl_conn(ssl);
	char label[64], cr[65], secret[2 * EVP_MAX_MD_SIZE + 1];
	size_t len;

	if (keylog_fd >= 0) {
		/* one write(2) per line on an O_APPEND fd: safe across threads and processes */
		size_t n = strlen(line);
		char *l = malloc(n + 1);

		if (l) {
			memcpy(l, line, n);
			l[n] = '\n';
			if (write(keylog_fd, l, n + 1) != (ssize_t)(n + 1))
				conn_err(c, "writing the key log: %s", strerror(errno));
			free(l);
		}
	}
	if (!c || sscanf(line, "%63s %64s %128s", label, cr, secret) != 3)
		return;
	len = strlen(secret) / 2;
	if (!strcmp(label, "CLIENT_RANDOM") && len == sizeof(c->master)) {
		if (!unhex(c->client_random, 32, cr) && !unhex(c->master, len, secret))
			c->have_master = true;
	} else if (!strcmp(label, "CLIENT_TRAFFIC_SECRET_0") && len <= EVP_MAX_MD_SIZE) {
		if (!unhex(c->c_secret, len, secret))
			c->c_secret_len = len;
	} else if (!strcmp(label, "SERVER_TRAFFIC_SECRET_0") && len <= EVP_MAX_MD_SIZE) {
		if (!unhex(c->s_secret, len, secret))
			c->s_secret_len = len;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
}

/* A --ctrl record arrived (an alert OpenSSL read, or any type on kTLS RX). */
static void ctrl_seen(struct conn *c, unsigned char type, const unsigned char *p, size_t len)
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
 * Records OpenSSL reads after the handshake (--ktls none): the size of
 * each TLS 1.2 data record (ciphertext length - explicit nonce - tag) and
 * the alerts, for --ctrl.
 */
static void ssl_rx_record_cb(struct conn *c, int content_type, const unsigned char *p,
			     size_t len)
{
	if (content_type == SSL3_RT_HEADER && len >= 5 && p[0] == TLS_RT_APPLICATION_DATA &&
	    c->rd.active && SSL_version(c->ssl) != TLS1_3_VERSION) {
		uint64_t plain = ((size_t)p[3] << 8 | p[4]) - 24;

		c->ssl_records++;
		if (plain > c->ssl_max_record)
			c->ssl_max_record = plain;
	} else if (content_type == SSL3_RT_ALERT && len == 2 && p[1] != TLS_ALERT_CLOSE_NOTIFY &&
		   c->o->nctrl) {
		ctrl_seen(c, TLS_RT_ALERT, p, len);
	}
}

/*
 * OpenSSL has no API for the record sequence numbers, and the kernel must
 * continue exactly where OpenSSL stopped. Count records from the msg
 * callback, which reports every record header read or written:
 *  - TLS 1.2: the records after the ChangeCipherSpec record use the new
 *    keys, starting at sequence 0 (the Finished record).
 *  - TLS 1.3: a direction switches to the application traffic keys right
 *    after the Finished message it carries (peer's for read, ours for write);
 *    records after that (e.g. the server's NewSessionTickets) count.
 * Header callbacks for a record come before the messages inside it.
 */
static void msg_cb(int write_p, int version, int content_type, const void *buf,
		   size_t len, SSL *ssl, void *arg)
{
	struct conn *c = ssl_conn(ssl);
	struct seq_track *t;
	const unsigned char *p = buf;

	(void)version;
	(void)arg;
	if (!c || !len)
		return;
	t = write_p ? &c->wr : &c->rd;
	if (!write_p)
		ssl_rx_record_cb(c, content_type, p, len);
	if (content_type == SSL3_RT_HEADER) {
		if (SSL_version(ssl) != TLS1_3_VERSION && p[0] == TLS_RT_CHANGE_CIPHER_SPEC) {
			t->active = true;
			t->seq = 0;
		} else if (t->active) {
			t->seq++;
		}
		return;
	}
	if (content_type == SSL3_RT_HANDSHAKE && p[0] == SSL3_MT_FINISHED) {
		if (SSL_version(ssl) == TLS1_3_VERSION) {
			t->active = true;
			t->seq = 0;
		}
		if (write_p && c->o->read_ahead)
			c->stall_before_read = true;
	}
}

/*
 * --read-ahead: before the first socket read after our Finished went out
 * (the handshake flight is flushed by then), wait until the peer's last
 * handshake records and then its first data are queued: until the receive
 * queue has grown past what arrived first and stopped growing, or for
 * READ_AHEAD_STALL_MS. OpenSSL then reads them in one go and holds records
 * the kernel must not lose or see twice.
 */
static void stall_for_peer_data(struct conn *c)
{
	double start = now_s();
	int queued = 0, prev = 0, first = 0;

	while (now_s() - start < READ_AHEAD_STALL_MS / 1000.0) {
		usleep(50 * 1000);
		if (ioctl(c->fd, FIONREAD, &queued) < 0)
			break;
		if (!first)
			first = queued;
		else if (queued > first && queued == prev)
			break;
		prev = queued;
	}
	conn_dbg(c, "read-ahead: %d bytes queued before OpenSSL reads", queued);
}

static long rbio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
		    int ret, size_t *processed)
{
	struct conn *c = (struct conn *)BIO_get_callback_arg(b);

	(void)argp;
	(void)len;
	(void)argi;
	(void)argl;
	(void)processed;
	if (oper == BIO_CB_READ && c && c->stall_before_read) {
		c->stall_before_read = false;
		stall_for_peer_data(c);
	}
	return ret;
}

/* ---------------------------------------------------------------------- */
/* SSL_CTX setup, with a throw-away self-signed certificate */

static void gen_self_signed(EVP_PKEY **pkey_out, X509 **cert_out)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509_NAME *name;

	if (!pkey || !x)
		die("cannot generate an RSA key");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)PROG, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, pkey, EVP_sha256()))
		die("cannot self-sign the certificate");
	*pkey_out = pkey;
	*cert_out = x;
}

static void setup_ssl_ctx(void)
{
	const struct options *o = &opt;
	static const char *const tls12_ciphers[] = {
		[CIPHER_AES128GCM] = "ECDHE-RSA-AES128-GCM-SHA256",
		[CIPHER_AES256GCM] = "ECDHE-RSA-AES256-GCM-SHA384",
	};
	static const char *const tls13_suites[] = {
		[CIPHER_AES128GCM] = "TLS_AES_128_GCM_SHA256",
		[CIPHER_AES256GCM] = "TLS_AES_256_GCM_SHA384",
	};

	ssl_ctx = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
	if (!ssl_ctx)
		die("SSL_CTX_new failed");
	if (!SSL_CTX_set_min_proto_version(ssl_ctx, o->tls_version) ||
	    !SSL_CTX_set_max_proto_version(ssl_ctx, o->tls_version))
		die("cannot pin the TLS version");
	if (!SSL_CTX_set_cipher_list(ssl_ctx, tls12_ciphers[o->cipher]) ||
	    !SSL_CTX_set_ciphersuites(ssl_ctx, tls13_suites[o->cipher]))
		die("cannot select cipher %s", cipher_names[o->cipher]);
	/* kTLS has no compression and no renegotiation */
	SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (o->ktls == KTLS_OPENSSL)
		SSL_CTX_set_options(ssl_ctx, SSL_OP_ENABLE_KTLS);
	SSL_CTX_set_keylog_callback(ssl_ctx, keylog_cb);
	SSL_CTX_set_msg_callback(ssl_ctx, msg_cb);
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);

	if (!o->server)
		return;
	if (o->cert_file || o->key_file) {
		if (!o->cert_file || !o->key_file)
			die("--cert and --key go together");
		if (SSL_CTX_use_certificate_chain_file(ssl_ctx, o->cert_file) != 1)
			die("cannot load certificate %s", o->cert_file);
		if (SSL_CTX_use_PrivateKey_file(ssl_ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
			die("cannot load private key %s", o->key_file);
	} else {
		EVP_PKEY *pkey;
		X509 *cert;

		gen_self_signed(&pkey, &cert);
		if (SSL_CTX_use_certificate(ssl_ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey(ssl_ctx, pkey) != 1)
			die("cannot use the generated certificate");
		X509_free(cert);
		EVP_PKEY_free(pkey);
	}
	if (SSL_CTX_check_private_key(ssl_ctx) != 1)
		die("certificate and private key do not match");
}

/* ---------------------------------------------------------------------- */
/* Keying the kernel (--ktls setsockopt) */

union ktls_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
};

/* Traffic protection material of one direction. */
struct traffic_keys {
	unsigned char key[32];
	unsigned char iv[12];	/* TLS 1.2: 4-byte salt; TLS 1.3: full static IV */
};

static int tls12_key_block(struct conn *c, size_t key_len, const char *digest,
			   struct traffic_keys *client, struct traffic_keys *server)
{
	static const char label[] = "key expansion";
	unsigned char seed[sizeof(label) - 1 + 64], cr[32], block[2 * 32 + 2 * 4];
	size_t block_len = 2 * key_len + 2 * 4;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int ret = -1;

	EVP_KDF_free(kdf);
	if (!kctx) {
		conn_err(c, "OpenSSL has no TLS1-PRF KDF");
		return -1;
	}
	if (!c->have_master) {
		conn_err(c, "no CLIENT_RANDOM line from the key log callback");
		goto out;
	}
	if (SSL_get_client_random(c->ssl, cr, sizeof(cr)) != sizeof(cr) ||
	    memcmp(cr, c->client_random, sizeof(cr))) {
		conn_err(c, "key log client random does not match this connection");
		goto out;
	}
	/* RFC 5246 6.3: seed = "key expansion" + server_random + client_random */
	memcpy(seed, label, sizeof(label) - 1);
	SSL_get_server_random(c->ssl, seed + sizeof(label) - 1, 32);
	memcpy(seed + sizeof(label) - 1 + 32, cr, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, c->master,
						      sizeof(c->master));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, block, block_len, params) != 1) {
		conn_err(c, "TLS1-PRF key expansion failed");
		goto out;
	}
	/* AEAD key block: client key, server key, client IV, server IV (no MAC keys) */
	memcpy(client->key, block, key_len);
	memcpy(server->key, block + key_len, key_len);
	memcpy(client->iv, block + 2 * key_len, 4);
	memcpy(server->iv, block + 2 * key_len + 4, 4);
	ret = 0;
out:
	OPENSSL_cleanse(block, sizeof(block));
	EVP_KDF_CTX_free(kctx);
	return ret;
}

/* RFC 8446 7.1 HKDF-Expand-Label(secret, label, "", len) */
static int hkdf_expand_label(struct conn *c, const char *digest, const unsigned char *secret,
			     size_t secret_len, const char *label, unsigned char *out,
			     size_t out_len)
{
	unsigned char info[2 + 1 + 6 + 32 + 1];
	size_t label_len = strlen(label), info_len = 0;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];
	int ret = -1;

	EVP_KDF_free(kdf);
	if (!kctx) {
		conn_err(c, "OpenSSL has no HKDF KDF");
		return -1;
	}
	info[info_len++] = out_len >> 8;
	info[info_len++] = out_len & 0xff;
	info[info_len++] = 6 + label_len;
	memcpy(info + info_len, "tls13 ", 6);
	info_len += 6;
	memcpy(info + info_len, label, label_len);
	info_len += label_len;
	info[info_len++] = 0;	/* empty context */
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
						      secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, info_len);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		ret = 0;
	else
		conn_err(c, "HKDF-Expand-Label(%s) failed", label);
	EVP_KDF_CTX_free(kctx);
	return ret;
}

static int tls13_traffic_keys(struct conn *c, size_t key_len, const char *digest,
			      const unsigned char *secret, size_t secret_len,
			      struct traffic_keys *k)
{
	if (!secret_len) {
		conn_err(c, "no *_TRAFFIC_SECRET_0 line from the key log callback");
		return -1;
	}
	if (hkdf_expand_label(c, digest, secret, secret_len, "key", k->key, key_len) ||
	    hkdf_expand_label(c, digest, secret, secret_len, "iv", k->iv, 12))
		return -1;
	return 0;
}

static void fill_crypto_info(union ktls_crypto_info *ci, size_t *ci_len, int tls_version,
			     size_t key_len, const struct traffic_keys *k, uint64_t seq)
{
	unsigned char seq_be[8];
	/* the 4-byte salt is shared by TLS 1.2 (fixed IV) and TLS 1.3 (IV prefix) */
	unsigned char *key, *salt, *iv, *rec_seq;

	memset(ci, 0, sizeof(*ci));
	put_be64(seq_be, seq);
	ci->info.version = tls_version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	if (key_len == 16) {
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		key = ci->gcm128.key;
		salt = ci->gcm128.salt;
		iv = ci->gcm128.iv;
		rec_seq = ci->gcm128.rec_seq;
		*ci_len = sizeof(ci->gcm128);
	} else {
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		key = ci->gcm256.key;
		salt = ci->gcm256.salt;
		iv = ci->gcm256.iv;
		rec_seq = ci->gcm256.rec_seq;
		*ci_len = sizeof(ci->gcm256);
	}
	memcpy(key, k->key, key_len);
	memcpy(salt, k->iv, 4);
	if (tls_version == TLS1_3_VERSION)
		memcpy(iv, k->iv + 4, 8);
	else
		/*
		 * TLS 1.2 explicit nonce: the kernel sends iv and increments it
		 * per record; starting at the sequence number keeps nonces unique
		 * for this key (RFC 5288 3). On RX the kernel reads it from the record.
		 */
		memcpy(iv, seq_be, 8);
	memcpy(rec_seq, seq_be, 8);
}

/*
 * Hand the data OpenSSL already pulled off the socket to the application
 * before the kernel takes over RX. Without read-ahead OpenSSL stops at a
 * record boundary and nothing is pending; with it, whole or partial records
 * may sit in OpenSSL's buffer. Decrypt them through OpenSSL (reading the
 * rest of a partial record exactly, read-ahead off) and keep the plaintext
 * as the start of the stream; the msg callback counts them in rd.seq.
 */
static int drain_openssl_rx(struct conn *c)
{
	int flags = fcntl(c->fd, F_GETFL);
	int ret = 0;

	SSL_set_read_ahead(c->ssl, 0);
	if (!SSL_has_pending(c->ssl))
		return 0;
	fcntl(c->fd, F_SETFL, flags | O_NONBLOCK);
	while (SSL_has_pending(c->ssl)) {
		unsigned char tmp[16384];
		int n = SSL_read(c->ssl, tmp, sizeof(tmp));

		if (n > 0) {
			unsigned char *p = realloc(c->pre, c->pre_len + n);

			if (!p) {
				conn_err(c, "out of memory");
				ret = -1;
				break;
			}
			c->pre = p;
			memcpy(c->pre + c->pre_len, tmp, n);
			c->pre_len += n;
			continue;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_READ: {
			/* rest of a partial record is still in flight */
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

			if (!SSL_has_pending(c->ssl))
				break;
			if (poll(&pfd, 1, c->o->timeout_s * 1000) <= 0) {
				conn_err(c, "timed out completing a record buffered by OpenSSL");
				ret = -1;
			}
			break;
		}
		case SSL_ERROR_ZERO_RETURN:
			c->peer_closed = true;
			break;
		default:
			ssl_errors(c, "SSL_read (draining before kTLS RX)", n);
			ret = -1;
		}
		if (ret || c->peer_closed)
			break;
	}
	fcntl(c->fd, F_SETFL, flags);
	c->prebuffered = c->pre_len;
	conn_dbg(c, "took %zu plaintext bytes from OpenSSL's buffer before kTLS RX",
		 c->pre_len);
	return ret;
}

/*
 * --print-keys: the AES keys the kernel got, in hex only (a test searches
 * memory for the raw bytes, which this leaves nowhere else).
 */
static void print_keys(const struct conn *c, const struct traffic_keys *txk,
		       const struct traffic_keys *rxk, size_t key_len)
{
	char txh[65], rxh[65];

	hex(txh, txk->key, key_len);
	hex(rxh, rxk->key, key_len);
	printf("ktls-key: conn=%u dir=tx key=%s\nktls-key: conn=%u dir=rx key=%s\n",
	       c->id, txh, c->id, rxh);
	fflush(stdout);
	OPENSSL_cleanse(txh, sizeof(txh));
	OPENSSL_cleanse(rxh, sizeof(rxh));
}

static int ktls_setsockopt(struct conn *c)
{
	const struct options *o = c->o;
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	int version = SSL_version(c->ssl);
	struct traffic_keys ck, sk, *txk, *rxk;
	union ktls_crypto_info ci;
	const char *digest;
	size_t key_len, ci_len;
	int ret = -1, i;

	memset(&ck, 0, sizeof(ck));
	memset(&sk, 0, sizeof(sk));
	switch (SSL_CIPHER_get_id(cipher) & 0xffff) {
	case 0xc02f:	/* ECDHE-RSA-AES128-GCM-SHA256 */
	case 0x1301:	/* TLS_AES_128_GCM_SHA256 */
		key_len = 16;
		digest = "SHA256";
		break;
	case 0xc030:	/* ECDHE-RSA-AES256-GCM-SHA384 */
	case 0x1302:	/* TLS_AES_256_GCM_SHA384 */
		key_len = 32;
		digest = "SHA384";
		break;
	default:
		conn_err(c, "negotiated cipher %s is not AES-GCM: kTLS keying not implemented",
			 SSL_CIPHER_get_name(cipher));
		return -1;
	}
	if (!c->rd.active || !c->wr.active) {
		conn_err(c, "record sequence tracking missed the key change (rd %d wr %d)",
			 c->rd.active, c->wr.active);
		return -1;
	}
	if (drain_openssl_rx(c))
		return -1;

	if (version == TLS1_3_VERSION) {
		if (tls13_traffic_keys(c, key_len, digest, c->c_secret, c->c_secret_len, &ck) ||
		    tls13_traffic_keys(c, key_len, digest, c->s_secret, c->s_secret_len, &sk))
			goto out;
	} else if (tls12_key_block(c, key_len, digest, &ck, &sk)) {
		goto out;
	}
	txk = o->server ? &sk : &ck;
	rxk = o->server ? &ck : &sk;
	conn_dbg(c, "keying kernel TLS: %s %s, tx seq %" PRIu64 ", rx seq %" PRIu64,
		 SSL_get_version(c->ssl), SSL_CIPHER_get_name(cipher), c->wr.seq, c->rd.seq);

	if (setsockopt(c->fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0) {
		conn_err(c, "setsockopt(TCP_ULP, \"tls\"): %s%s", strerror(errno),
			 errno == ENOENT ? " (kernel without the tls module?)" : "");
		goto out;
	}
	/*
	 * --ctrl keys RX first: in 6.1 keying RX replaces the socket's
	 * push_pending_record with software kTLS's even when TX is on the
	 * device, and a control record then joins the data record MSG_MORE
	 * left open (docs/reliability.md).
	 */
	for (i = 0; i < 2; i++) {
		bool tx = (i == 0) != (o->nctrl > 0);

		fill_crypto_info(&ci, &ci_len, version, key_len, tx ? txk : rxk,
				 tx ? c->wr.seq : c->rd.seq);
		if (setsockopt(c->fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &ci, ci_len) < 0) {
			conn_err(c, "setsockopt(SOL_TLS, %s): %s", tx ? "TLS_TX" : "TLS_RX",
				 strerror(errno));
			goto out;
		}
		*(tx ? &c->ktls_tx : &c->ktls_rx) = true;
	}
	if (o->print_keys)
		print_keys(c, txk, rxk, key_len);
	ret = 0;
out:
	OPENSSL_cleanse(&ci, sizeof(ci));
	OPENSSL_cleanse(&ck, sizeof(ck));
	OPENSSL_cleanse(&sk, sizeof(sk));
	OPENSSL_cleanse(c->master, sizeof(c->master));
	OPENSSL_cleanse(c->c_secret, sizeof(c->c_secret));
	OPENSSL_cleanse(c->s_secret, sizeof(c->s_secret));
	return ret;
}

/* Whether the kernel has crypto state for TLS_TX/TLS_RX on this socket. */
static bool kernel_tls_keyed(int fd, int optname)
{
	/* header only: the kernel then copies no key material */
	struct tls_crypto_info info = { 0 };
	socklen_t len = sizeof(info);

	return getsockopt(fd, SOL_TLS, optname, &info, &len) == 0 && info.version;
}

/* The receive path this connection uses: SSL_read, or raw syscalls on kTLS. */
static enum recv_method conn_recv_method(const struct conn *c)
{
	if (c->o->recv != RECV_DEFAULT)
		return c->o->recv;
	return c->o->ktls == KTLS_SETSOCKOPT || c->o->ktls == KTLS_PLAIN ? RECV_RECV : RECV_SSL;
}

/* --ktls openssl: check that OpenSSL handed the directions we use to the kernel. */
static int ktls_check_openssl(struct conn *c)
{
	const struct options *o = c->o;
	bool bio_tx = BIO_get_ktls_send(SSL_get_wbio(c->ssl));
	bool bio_rx = BIO_get_ktls_recv(SSL_get_rbio(c->ssl));
	void (*report)(const struct conn *, const char *, ...) =
		o->allow_no_ktls ? conn_warn : conn_err;
	bool fail = false;

	c->ktls_tx = kernel_tls_keyed(c->fd, TLS_TX);
	c->ktls_rx = kernel_tls_keyed(c->fd, TLS_RX);
	if (bio_tx != c->ktls_tx || bio_rx != c->ktls_rx) {
		conn_err(c, "OpenSSL says kTLS tx=%d rx=%d but the kernel says tx=%d rx=%d",
			 bio_tx, bio_rx, c->ktls_tx, c->ktls_rx);
		return -1;
	}
	if (o->tx && !c->ktls_tx) {
		report(c, "OpenSSL did not enable kTLS TX (%s %s)%s", SSL_get_version(c->ssl),
		       SSL_get_cipher_name(c->ssl),
		       o->allow_no_ktls ? "; continuing (--allow-no-ktls)" : "");
		fail = true;
	}
	if (o->rx && !c->ktls_rx) {
		report(c, "OpenSSL did not enable kTLS RX (%s %s)%s%s", SSL_get_version(c->ssl),
		       SSL_get_cipher_name(c->ssl),
		       SSL_version(c->ssl) == TLS1_3_VERSION ?
				" - OpenSSL 3.0 implements kTLS RX for TLS 1.2 only" : "",
		       o->allow_no_ktls ? "; continuing (--allow-no-ktls)" : "");
		fail = true;
	}
	if (fail && !o->allow_no_ktls)
		return -1;
	if (o->tx && !c->ktls_tx && o->send == SEND_SENDFILE) {
		conn_err(c, "SSL_sendfile needs kTLS TX, which OpenSSL did not enable");
		return -1;
	}
	if (o->rx && conn_recv_method(c) != RECV_SSL) {
		/* raw recv()/read() beside OpenSSL: only on kTLS, after its buffer */
		if (!c->ktls_rx) {
			conn_err(c, "--recv %s needs kTLS RX, which OpenSSL did not enable",
				 recv_method_names[o->recv]);
			return -1;
		}
		return drain_openssl_rx(c);
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Receiving */

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

/* recvmsg() with the record type control message. */
static ssize_t ktls_recvmsg(struct conn *c, void *buf, size_t len, unsigned char *type)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	n = recvmsg(c->fd, &msg, 0);
	*type = TLS_RT_APPLICATION_DATA;
	if (n < 0)
		return n;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
		*type = *(unsigned char *)CMSG_DATA(cmsg);
	return n;
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

static ssize_t conn_read(struct conn *c, void *buf, size_t len)
{
	ssize_t n = conn_read_raw(c, buf, len);

	if (n > 0)
		c->rx_app += n;
	return n;
}

/* Read exactly len bytes; -1 (reported) on error or early close. */
static int conn_read_full(struct conn *c, void *buf, size_t len, const char *what)
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

/* ---------------------------------------------------------------------- */
/* Sending */

/* Control path writes (header, trailer) and SSL_write data. */
static int conn_write_all(struct conn *c, const void *buf, size_t len, int flags)
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

/* One record of this type on kernel TLS TX (TLS_SET_RECORD_TYPE), whole. */
static int ktls_send_record(struct conn *c, unsigned char type, const void *p, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	if (!c->ktls_tx) {
		conn_err(c, "a record of type %u needs kernel TLS TX", type);
		return -1;
	}
	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cmsg) = type;
	msg.msg_controllen = cmsg->cmsg_len;
	if (sendmsg(c->fd, &msg, MSG_NOSIGNAL) != (ssize_t)len) {
		conn_err(c, "sending a record of type %u: %s", type, strerror(errno));
		return -1;
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

/* ---------------------------------------------------------------------- */
/* Transfers */

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

static int send_payload(struct conn *c, struct payload *p, off_t off, uint64_t len)
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
static int run_transfers(struct conn *c)
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
static int conn_shutdown(struct conn *c)
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

/* ---------------------------------------------------------------------- */
/* Connections */

static int conn_handshake(struct conn *c)
{
	int r;

	if (c->o->ktls == KTLS_PLAIN)
		return 0;
	c->ssl = SSL_new(ssl_ctx);
	if (!c->ssl || !SSL_set_ex_data(c->ssl, conn_ex_index, c) ||
	    !SSL_set_fd(c->ssl, c->fd)) {
		conn_err(c, "cannot create the SSL object");
		return -1;
	}
	if (c->o->read_ahead) {
		SSL_set_read_ahead(c->ssl, 1);
		BIO_set_callback_ex(SSL_get_rbio(c->ssl), rbio_cb);
		BIO_set_callback_arg(SSL_get_rbio(c->ssl), (char *)c);
	}
	r = c->o->server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
	if (r != 1) {
		ssl_errors(c, c->o->server ? "TLS handshake (SSL_accept)" :
					     "TLS handshake (SSL_connect)", r);
		return -1;
	}
	conn_dbg(c, "handshake done: %s %s", SSL_get_version(c->ssl),
		 SSL_get_cipher_name(c->ssl));
	if (c->o->read_ahead)
		BIO_set_callback_ex(SSL_get_rbio(c->ssl), NULL);

	switch (c->o->ktls) {
	case KTLS_SETSOCKOPT:
		r = ktls_setsockopt(c);
		break;
	case KTLS_OPENSSL:
		r = ktls_check_openssl(c);
		break;
	case KTLS_NONE:
	case KTLS_PLAIN:
		return 0;
	}
	if (r || !c->o->zerocopy || !c->ktls_tx)
		return r;
	/*
	 * The file must not change while it is being sent: the kernel may then
	 * transmit page contents that differ from what it authenticated.
	 */
	r = 1;
	if (setsockopt(c->fd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &r, sizeof(r)) < 0) {
		conn_err(c, "setsockopt(SOL_TLS, TLS_TX_ZEROCOPY_RO): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void set_timeouts(int fd, unsigned int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * A barrier for --parallel clients: every connection is keyed before any
 * transfer starts, so N kernel TLS contexts exist at the same time.
 * Failed connections arrive too, so nobody waits for them.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int waiting;
} keyed_barrier = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void barrier_arrive(void)
{
	pthread_mutex_lock(&keyed_barrier.lock);
	if (++keyed_barrier.waiting >= opt.count)
		pthread_cond_broadcast(&keyed_barrier.cond);
	while (keyed_barrier.waiting < opt.count)
		pthread_cond_wait(&keyed_barrier.cond, &keyed_barrier.lock);
	pthread_mutex_unlock(&keyed_barrier.lock);
}

/*
 * --start-file PATH: a keyed connection moves no data before PATH exists,
 * so a test holds connections of several processes keyed at once.
 */
static int wait_start_file(struct conn *c)
{
	double deadline = now_s() + opt.timeout_s;

	while (access(opt.start_file, F_OK)) {
		if (now_s() > deadline) {
			conn_err(c, "no %s within %u s", opt.start_file, opt.timeout_s);
			return -1;
		}
		/* Seldom: a hundred waiting connections must not load the host. */
		usleep(200 * 1000);
	}
	return 0;
}

/* One connection from handshake to close; the fd is consumed. */
static int run_conn(unsigned int id, int fd)
{
	struct conn c = { .o = &opt, .id = id, .fd = fd };
	int ret = -1, r;

	gen_init(&c.gen, opt.seed + id);
	c.buf = malloc(IO_BUF_LEN);
	c.rec = malloc(TLS_MAX_PLAIN);
	if (c.buf && opt.no_hash)	/* one buffer of data, sent over and over */
		gen_fill(&c.gen, c.buf, IO_BUF_LEN);
	if (!c.buf || !c.rec) {
		conn_err(&c, "out of memory");
		if (!opt.server && opt.parallel)
			barrier_arrive();
		free(c.buf);
		free(c.rec);
		close(fd);
		return -1;
	}
	set_timeouts(fd, opt.timeout_s);
	r = conn_handshake(&c);
	if (!opt.server && opt.parallel)
		barrier_arrive();
	if (!r && opt.start_file)
		r = wait_start_file(&c);
	if (r)
		goto out;

	if (run_transfers(&c))
		goto out;
	if (conn_shutdown(&c))
		goto out;
	ret = 0;
out:
	if (c.ssl)
		SSL_free(c.ssl);
	close(fd);
	if (c.pre)
		OPENSSL_clear_free(c.pre, c.pre_len);
	free(c.buf);
	free(c.rec);
	return ret;
}

struct conn_thread {
	pthread_t tid;
	unsigned int id;
	int fd;		/* server: accepted socket; client: -1 (connects itself) */
	int ret;
};

static int parse_addr(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(arg, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	size_t hlen;
	int r;

	if (!colon || !colon[1])
		return -1;
	hlen = colon - arg;
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	if (opt.server)
		hints.ai_flags |= AI_PASSIVE;
	r = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (r) {
		fprintf(stderr, PROG ": error: %s: %s\n", arg, gai_strerror(r));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static struct sockaddr_storage peer_addr;
static socklen_t peer_addr_len;

/* Connect, retrying while the server is not listening yet (up to --timeout). */
static int client_connect(unsigned int id)
{
	double deadline = now_s() + opt.timeout_s;
	int fd, err;

	for (;;) {
		fd = socket(peer_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fprintf(stderr, PROG ": conn %u: error: socket: %s\n", id, strerror(errno));
			return -1;
		}
		set_timeouts(fd, opt.timeout_s);
		if (!connect(fd, (struct sockaddr *)&peer_addr, peer_addr_len))
			return fd;
		err = errno;
		close(fd);
		if ((err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH &&
		     err != EAGAIN && err != EINPROGRESS && err != ETIMEDOUT) ||
		    now_s() > deadline) {
			fprintf(stderr, PROG ": conn %u: error: connect to %s: %s\n", id,
				opt.addr, strerror(err));
			return -1;
		}
		usleep(100 * 1000);
	}
}

static void *conn_thread_main(void *arg)
{
	struct conn_thread *t = arg;

	if (t->fd < 0)
		t->fd = client_connect(t->id);
	if (t->fd < 0) {
		if (!opt.server && opt.parallel)
			barrier_arrive();
		t->ret = -1;
		return NULL;
	}
	t->ret = run_conn(t->id, t->fd);
	return NULL;
}

static int accept_one(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int r = poll(&pfd, 1, opt.timeout_s * 1000);
	int fd;

	if (r == 0) {
		fprintf(stderr, PROG ": error: no connection on %s within %u s\n", opt.addr,
			opt.timeout_s);
		return -1;
	}
	fd = r > 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	if (fd < 0)
		fprintf(stderr, PROG ": error: accept: %s\n", strerror(errno));
	return fd;
}

static int run(void)
{
	struct conn_thread *t = calloc(opt.count, sizeof(*t));
	unsigned int n = opt.count, started, i;
	int lfd = -1, failed = 0;

	if (!t)
		die("out of memory");
	if (opt.server) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char host[NI_MAXHOST], port[NI_MAXSERV];
		int one = 1;

		lfd = socket(peer_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			die("socket: %s", strerror(errno));
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&peer_addr, peer_addr_len) < 0)
			die("bind %s: %s", opt.addr, strerror(errno));
		if (listen(lfd, opt.count < 128 ? 128 : opt.count) < 0)
			die("listen: %s", strerror(errno));
		getsockname(lfd, (struct sockaddr *)&ss, &len);
		getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		fprintf(stderr, PROG ": listening on %s:%s\n", host, port);
	}
	for (i = 0; i < n; i++) {
		t[i].id = i;
		t[i].fd = -1;
		if (opt.server) {
			t[i].fd = accept_one(lfd);
			if (t[i].fd < 0) {
				/* connections never accepted count as failed */
				failed += n - i;
				break;
			}
		}
		if (opt.parallel) {
			if (pthread_create(&t[i].tid, NULL, conn_thread_main, &t[i]))
				die("pthread_create failed");
		} else {
			conn_thread_main(&t[i]);
		}
	}
	started = i;
	for (i = 0; i < started; i++) {
		if (opt.parallel)
			pthread_join(t[i].tid, NULL);
		if (t[i].ret)
			failed++;
	}
	if (lfd >= 0)
		close(lfd);
	free(t);
	return failed;
}

/* ---------------------------------------------------------------------- */
/* Command line */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --listen ADDR:PORT | --connect ADDR:PORT [options]\n"
"\n"
"TLS client/server moving data over Linux kernel TLS, checked by SHA-256.\n"
"\n"
"  --listen ADDR:PORT      server (port 0: any, printed on stderr)\n"
"  --connect ADDR:PORT     client (retries until the server listens, up to --timeout)\n"
"  --tls 1.2|1.3           protocol version (default 1.2)\n"
"  --cipher aes128gcm|aes256gcm\n"
"                          ECDHE-RSA-AES128-GCM-SHA256 / ECDHE-RSA-AES256-GCM-SHA384\n"
"                          (TLS 1.3: TLS_AES_128_GCM_SHA256 / TLS_AES_256_GCM_SHA384)\n"
"  --ktls openssl|setsockopt|none|plain\n"
"                          who keys kernel TLS (default setsockopt; none = userspace TLS;\n"
"                          plain = no TLS, plain TCP, both ends)\n"
"  --allow-no-ktls         with --ktls openssl: go on if OpenSSL did not enable kTLS\n"
"  --dir tx|rx|both        what this end does (default: client tx, server rx);\n"
"                          both = client sends first, then the server\n"
"  --send write|send|sendfile|splice|more\n"
"                          sender method (default write; more = send(MSG_MORE) chunks)\n"
"  --recv ssl|recv|read    receiver method (default: recv for setsockopt, else ssl)\n"
"  --bytes N[,N...]        payload size(s), K/M/G suffixes (default 1M): one transfer\n"
"                          per entry on the same connection; receiver: expected sizes\n"
"  --file PATH             send this file instead of generated data\n"
"  --chunk N               write/send/more chunk size (default 64K; more: 4000)\n"
"  --seed N                seed of the generated data (default 1, + connection number)\n"
"  --expect-sha256 HEX[,HEX...]\n"
"                          receiver: also compare transfer i with the i-th hash\n"
"  --count N               connections (default 1), one after another\n"
"  --parallel              run the --count connections at the same time; the client\n"
"                          keys all of them before any data moves\n"
"  --cert PEM --key PEM    server certificate (default: throw-away self-signed RSA)\n"
"  --keylog FILE           append an SSLKEYLOGFILE\n"
"  --read-ahead            let OpenSSL read ahead during the handshake, and after our\n"
"                          Finished wait (up to %d ms) for the peer's data, so that\n"
"                          OpenSSL buffers records the kernel must not lose: tests the\n"
"                          hand-over to kTLS RX (see prebuffered= in the result)\n"
"  --zerocopy-sendfile     set TLS_TX_ZEROCOPY_RO on kTLS TX sockets (device offload\n"
"                          sends sendfile pages without copying them)\n"
"  --timeout S             per-operation timeout (default 30)\n"
"  --tmpdir DIR            for the temporary sendfile/splice payload (default $TMPDIR or /tmp)\n"
"  --pause-after N --barrier DIR\n"
"                          sender: after N payload bytes (counted over\n"
"                          its transfers, N < their sum) create DIR/reached (holding N),\n"
"                          wait up to --timeout for DIR/resume, print \"pause: conn=..\n"
"                          sent=N resumed\", send the rest: a test acts on a connection\n"
"                          that is provably mid-transfer; with --count N --parallel\n"
"                          every connection pauses, creating DIR/reached.ID, and the\n"
"                          last one DIR/reached\n"
"  --no-hash               benchmark: send one buffer over and over (or the file as it is)\n"
"                          and announce a zero SHA-256; the receiver hashes and checks\n"
"                          nothing (both ends; for CPU cost, not for correctness)\n"
"  --save FILE             receiver, one connection: write every payload byte to FILE\n"
"                          as it is read, before any check (what the application\n"
"                          was given before an error)\n"
"  --print-keys            --ktls setsockopt: print the keys given to the kernel, one line\n"
"                          \"ktls-key: conn=N dir=tx|rx key=HEX\" each\n"
"  --hold DIR              at the end, with every socket closed and every TLS object freed,\n"
"                          create DIR/held and wait (up to an hour) for DIR/release: a test\n"
"                          inspects memory while this process is alive\n"
"  --ctrl TYPE:HEX[,TYPE:HEX...]\n"
"                          sender (kernel TLS TX): after half of each transfer's payload,\n"
"                          send these records (e.g. 21:015a, a warning alert) with\n"
"                          TLS_SET_RECORD_TYPE; receiver: expect exactly them there\n"
"                          (TLS 1.2; --ktls none: alerts only, as OpenSSL reports them)\n"
"  --start-file PATH       every connection, once keyed, waits (up to --timeout) for\n"
"                          PATH to exist before it moves data: connections of several\n"
"                          processes are provably keyed at the same time\n"
"  -v, --verbose\n"
"\n"
"Each transfer prints: ktls: role=.. dir=tx|rx bytes=N sha256=HEX ktls_tx=0|1 ktls_rx=0|1\n"
"mbps=.. conn=.. mode=.. tls=.. cipher=.. method=.. prebuffered=N ctrl_records=N\n"
"ssl_records=N ssl_max_record=N (TLS 1.2 data records OpenSSL read, largest plaintext) secs=..\n"
"result=ok|mismatch. Exit status 0 only if every transfer and shutdown succeeded.\n",
		READ_AHEAD_STALL_MS);
}

/* --hold DIR: announce DIR/held, then wait for DIR/release. */
static void hold(const char *dir)
{
	char held[PATH_MAX], release[PATH_MAX];
	unsigned int i;
	int fd;

	snprintf(held, sizeof(held), "%s/held", dir);
	snprintf(release, sizeof(release), "%s/release", dir);
	fflush(stdout);
	fd = open(held, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot create %s: %s", held, strerror(errno));
	close(fd);
	for (i = 0; i < 36000 && access(release, F_OK); i++)
		usleep(100000);
}

static int lookup(const char *arg, const char *const *names, int n, const char *what)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return i;
	die("invalid %s '%s'", what, arg);
}

static uint64_t parse_size(const char *arg, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || arg[0] == '-')
		die("invalid %s '%s'", what, arg);
	switch (*end) {
	case 'k': case 'K':
		v <<= 10, end++;
		break;
	case 'm': case 'M':
		v <<= 20, end++;
		break;
	case 'g': case 'G':
		v <<= 30, end++;
		break;
	}
	if (*end)
		die("invalid %s '%s'", what, arg);
	return v;
}

/* A comma-separated list of sizes or of SHA-256 hashes; returns its length. */
static unsigned int parse_list(const char *arg, const char *what, uint64_t *sizes,
			       unsigned char (*hashes)[SHA256_LEN])
{
	char *copy = strdup(arg), *save = NULL, *tok;
	unsigned int n = 0;

	if (!copy)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_TRANSFERS)
			die("%s: at most %d entries", what, MAX_TRANSFERS);
		if (sizes)
			sizes[n] = parse_size(tok, what);
		else if (unhex(hashes[n], SHA256_LEN, tok))
			die("%s: '%s' is not 64 hex digits", what, tok);
		n++;
	}
	free(copy);
	if (!n)
		die("%s: empty list", what);
	return n;
}

/* --ctrl TYPE:HEX[,TYPE:HEX...] */
static void parse_ctrl(const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (!copy)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct ctrl_rec *r = &opt.ctrl[opt.nctrl];
		char *colon = strchr(tok, ':');
		unsigned long type = strtoul(tok, NULL, 10);

		if (opt.nctrl == MAX_CTRL)
			die("--ctrl: at most %d records", MAX_CTRL);
		r->len = colon ? strlen(colon + 1) / 2 : 0;
		if (!colon || type > 255 || type == TLS_RT_APPLICATION_DATA || !r->len ||
		    r->len > CTRL_MAX_LEN || unhex(r->data, r->len, colon + 1))
			die("--ctrl: '%s' is not TYPE:HEX (a non-data type, 1..%d bytes)", tok,
			    CTRL_MAX_LEN);
		r->type = type;
		opt.nctrl++;
	}
	free(copy);
}

int main(int argc, char **argv)
{
	enum { O_TLS = 256, O_CIPHER, O_KTLS, O_ALLOW, O_DIR, O_SEND, O_RECV, O_BYTES,
	       O_FILE, O_CHUNK, O_SEED, O_EXPECT, O_COUNT, O_PARALLEL, O_CERT, O_KEY,
	       O_KEYLOG, O_READAHEAD, O_ZEROCOPY, O_TIMEOUT, O_TMPDIR, O_LISTEN, O_CONNECT,
	       O_PAUSE_AFTER, O_BARRIER, O_NO_HASH, O_SAVE, O_PRINT_KEYS, O_HOLD, O_CTRL,
	       O_START_FILE };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "connect", required_argument, NULL, O_CONNECT },
		{ "tls", required_argument, NULL, O_TLS },
		{ "cipher", required_argument, NULL, O_CIPHER },
		{ "ktls", required_argument, NULL, O_KTLS },
		{ "allow-no-ktls", no_argument, NULL, O_ALLOW },
		{ "dir", required_argument, NULL, O_DIR },
		{ "send", required_argument, NULL, O_SEND },
		{ "recv", required_argument, NULL, O_RECV },
		{ "bytes", required_argument, NULL, O_BYTES },
		{ "file", required_argument, NULL, O_FILE },
		{ "chunk", required_argument, NULL, O_CHUNK },
		{ "seed", required_argument, NULL, O_SEED },
		{ "expect-sha256", required_argument, NULL, O_EXPECT },
		{ "count", required_argument, NULL, O_COUNT },
		{ "parallel", no_argument, NULL, O_PARALLEL },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "keylog", required_argument, NULL, O_KEYLOG },
		{ "read-ahead", no_argument, NULL, O_READAHEAD },
		{ "zerocopy-sendfile", no_argument, NULL, O_ZEROCOPY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "tmpdir", required_argument, NULL, O_TMPDIR },
		{ "pause-after", required_argument, NULL, O_PAUSE_AFTER },
		{ "barrier", required_argument, NULL, O_BARRIER },
		{ "no-hash", no_argument, NULL, O_NO_HASH },
		{ "save", required_argument, NULL, O_SAVE },
		{ "print-keys", no_argument, NULL, O_PRINT_KEYS },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "ctrl", required_argument, NULL, O_CTRL },
		{ "start-file", required_argument, NULL, O_START_FILE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	bool have_role = false, pause_set = false;
	unsigned int count;
	int c, failed;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
		case O_CONNECT:
			if (have_role)
				die("give exactly one of --listen and --connect");
			have_role = true;
			opt.server = c == O_LISTEN;
			opt.addr = optarg;
			break;
		case O_TLS:
			if (!strcmp(optarg, "1.2"))
				opt.tls_version = TLS1_2_VERSION;
			else if (!strcmp(optarg, "1.3"))
				opt.tls_version = TLS1_3_VERSION;
			else
				die("invalid --tls '%s' (1.2 or 1.3)", optarg);
			break;
		case O_CIPHER:
			opt.cipher = lookup(optarg, cipher_names, 2, "--cipher");
			break;
		case O_KTLS:
			opt.ktls = lookup(optarg, ktls_mode_names, 4, "--ktls");
			break;
		case O_ALLOW:
			opt.allow_no_ktls = true;
			break;
		case O_DIR:
			dir = optarg;
			break;
		case O_SEND:
			opt.send = lookup(optarg, send_method_names, 5, "--send");
			break;
		case O_RECV:
			opt.recv = lookup(optarg, recv_method_names, 4, "--recv");
			if (opt.recv == RECV_DEFAULT)
				die("invalid --recv 'default'");
			break;
		case O_BYTES:
			opt.ntransfers = parse_list(optarg, "--bytes", opt.bytes, NULL);
			opt.bytes_set = true;
			break;
		case O_FILE:
			opt.file = optarg;
			break;
		case O_CHUNK:
			opt.chunk = parse_size(optarg, "--chunk");
			if (!opt.chunk || opt.chunk > IO_BUF_LEN)
				die("--chunk must be 1..%d", IO_BUF_LEN);
			break;
		case O_SEED:
			opt.seed = parse_size(optarg, "--seed");
			break;
		case O_EXPECT:
			opt.nexpect = parse_list(optarg, "--expect-sha256", NULL,
						 opt.expect_sha256);
			break;
		case O_COUNT:
			opt.count = parse_size(optarg, "--count");
			if (!opt.count || opt.count > 100000)
				die("--count must be 1..100000");
			break;
		case O_PARALLEL:
			opt.parallel = true;
			break;
		case O_CERT:
			opt.cert_file = optarg;
			break;
		case O_KEY:
			opt.key_file = optarg;
			break;
		case O_KEYLOG:
			opt.keylog_file = optarg;
			break;
		case O_READAHEAD:
			opt.read_ahead = true;
			break;
		case O_ZEROCOPY:
			opt.zerocopy = true;
			break;
		case O_TIMEOUT:
			opt.timeout_s = parse_size(optarg, "--timeout");
			if (!opt.timeout_s)
				die("--timeout must be at least 1");
			break;
		case O_TMPDIR:
			opt.tmpdir = optarg;
			break;
		case O_PAUSE_AFTER:
			opt.pause_after = parse_size(optarg, "--pause-after");
			pause_set = true;
			break;
		case O_BARRIER:
			opt.barrier = optarg;
			break;
		case O_NO_HASH:
			opt.no_hash = true;
			break;
		case O_SAVE:
			opt.save = optarg;
			break;
		case O_PRINT_KEYS:
			opt.print_keys = true;
			break;
		case O_HOLD:
			opt.hold = optarg;
			break;
		case O_CTRL:
			parse_ctrl(optarg);
			break;
		case O_START_FILE:
			opt.start_file = optarg;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !have_role) {
		usage(stderr);
		return 2;
	}
	if (!dir)
		dir = opt.server ? "rx" : "tx";
	opt.tx = !strcmp(dir, "tx") || !strcmp(dir, "both");
	opt.rx = !strcmp(dir, "rx") || !strcmp(dir, "both");
	if (!opt.tx && !opt.rx)
		die("invalid --dir '%s' (tx, rx or both)", dir);
	if (opt.file && opt.tx && opt.bytes_set)
		die("--file and --bytes exclude each other when sending");
	if (opt.tx && opt.ktls == KTLS_NONE && opt.send != SEND_WRITE)
		die("--send %s needs kernel TLS; with --ktls none only --send write (SSL_write)",
		    send_method_names[opt.send]);
	if (opt.rx && opt.ktls == KTLS_NONE && opt.recv != RECV_DEFAULT && opt.recv != RECV_SSL)
		die("--recv %s needs kernel TLS; with --ktls none only --recv ssl",
		    recv_method_names[opt.recv]);
	if (opt.rx && opt.ktls == KTLS_SETSOCKOPT && opt.recv == RECV_SSL)
		die("--recv ssl cannot read a socket keyed with --ktls setsockopt");
	if (opt.tx && opt.ktls == KTLS_OPENSSL && opt.allow_no_ktls && opt.send != SEND_WRITE &&
	    opt.send != SEND_SENDFILE)
		die("--send %s bypasses OpenSSL and so cannot be combined with --allow-no-ktls",
		    send_method_names[opt.send]);
	if (opt.nctrl && opt.tx && opt.ktls != KTLS_SETSOCKOPT && opt.ktls != KTLS_OPENSSL)
		die("--ctrl sends through kernel TLS TX (--ktls setsockopt or openssl)");
	for (c = 0; opt.rx && opt.ktls == KTLS_NONE && c < (int)opt.nctrl; c++)
		if (opt.ctrl[c].type != TLS_RT_ALERT || opt.ctrl[c].len != 2)
			die("--ctrl with --ktls none: OpenSSL reports alerts only (21:LLDD)");
	if (opt.no_hash && opt.nexpect)
		die("--no-hash and --expect-sha256 exclude each other");
	if (pause_set != !!opt.barrier)
		die("--pause-after and --barrier go together");
	if (opt.barrier && (!opt.tx || (opt.count != 1 && !opt.parallel)))
		die("--pause-after needs a sending end (--dir tx or both) and --count 1 or --parallel");
	if (opt.save && (!opt.rx || opt.count != 1))
		die("--save needs a receiving end (--dir rx or both) and --count 1");
	if (opt.print_keys && opt.ktls != KTLS_SETSOCKOPT)
		die("--print-keys needs --ktls setsockopt");
	if (parse_addr(opt.addr, &peer_addr, &peer_addr_len))
		die("invalid address '%s' (ADDR:PORT)", opt.addr);

	signal(SIGPIPE, SIG_IGN);
	if (opt.keylog_file) {
		keylog_fd = open(opt.keylog_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (keylog_fd < 0)
			die("cannot open key log %s: %s", opt.keylog_file, strerror(errno));
	}
	if (opt.save) {
		save_fd = open(opt.save, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (save_fd < 0)
			die("cannot create %s: %s", opt.save, strerror(errno));
	}
	conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	setup_ssl_ctx();

	count = opt.count;
	failed = run();
	SSL_CTX_free(ssl_ctx);
	if (keylog_fd >= 0)
		close(keylog_fd);
	if (save_fd >= 0)
		close(save_fd);
	if (failed)
		fprintf(stderr, PROG ": %d of %u connection(s) failed\n", failed, count);
	if (opt.hold)
		hold(opt.hold);
	return failed ? 1 : 0;
}
