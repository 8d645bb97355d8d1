// SPDX-License-Identifier: GPL-2.0
/*
 * tls-craft - hand-made TLS 1.2 AES-GCM records over plain TCP, and a
 * kernel TLS receiver for them: what a hostile peer puts on the wire.
 *
 *   tls-craft send --connect ADDR:PORT KEYS [--seed N] [--expect FILE] ITEM...
 *   tls-craft recv --listen ADDR:PORT KEYS [--save FILE]
 *   KEYS: [--cipher aes128gcm|aes256gcm] --key HEX --iv HEX (salt 4 bytes ||
 *         explicit nonce base 8 bytes) --seq N (number of the first record)
 *
 * The receiver keys its socket for kernel TLS RX (TCP_ULP "tls" +
 * SOL_TLS/TLS_RX), then writes one byte in plain TCP; the sender waits for
 * it, so every record arrives after the socket (and, with RX offload, the
 * device) holds the key. The sender seals records with OpenSSL (the oracle
 * the kernel and the device are checked against), sends each item (or each
 * part of it, see @OFF) once everything before it is acknowledged, so that
 * items do not share TCP segments, then closes.
 *
 * Items (LEN: plaintext bytes; the record's number is the next one):
 *   data:LEN         application data record (valid if LEN <= 16384)
 *   rec:TYPE:LEN     record of content type TYPE (valid if LEN <= 16384)
 *   ct:LEN tag:LEN nonce:LEN
 *                    data record with a ciphertext / tag / explicit nonce byte
 *                    flipped
 *   type:LEN         data record sealed as type 23 whose header says 22
 *   replay           the previous record again, byte for byte
 *   version:HHHH:LEN data record whose header (and AAD) says version 0xHHHH
 *   len:N[:BODY]     header of a data record saying length N, then BODY
 *                    (default N) random bytes: 0, short, over-long, or a
 *                    length that runs past the end of what is sent
 *   trunc:N          the first N bytes of a data record's header and nonce
 *   ITEM@OFF[,OFF..] send the item's bytes in parts cut at these offsets
 *
 * The sender prints one "craft-send: item=..." line per item and at the end
 * "craft-send: expect bytes=N sha256=HEX valid_wire=N items_before_bad=N":
 * the application data the receiver must get (the valid data records before
 * the first item that is not valid; also written to --expect FILE) and the
 * wire bytes of the valid records before it. The receiver prints each
 * non-data record ("craft-recv: record type=T len=N hex=..."), then
 * "craft-recv: data bytes=N sha256=HEX end=eof|EBADMSG|EMSGSIZE|EINVAL|..
 * after=eof|..": how its reads ended, and what a read after that returned
 * (eof: nothing more was delivered).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <linux/tls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define PROG "tls-craft"
#define HDR_LEN 5
#define NONCE_LEN 8
#define TAG_LEN 16
#define MAX_PLAIN 16384
#define MAX_ITEM (HDR_LEN + 65535 + 64)
#define MAX_PARTS 16
#define RT_HANDSHAKE 22
#define RT_DATA 23

struct keys {
	unsigned char key[32];
	size_t key_len;
	unsigned char iv[12];	/* salt || explicit nonce base */
	uint64_t seq;
	bool have_key, have_iv;
};

static struct keys k = { .key_len = 16 };
static const char *addr;
static unsigned int timeout_s = 60;
static uint64_t rng_state = 1;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static size_t unhex(unsigned char *out, size_t max, const char *in, const char *what)
{
	size_t n = strlen(in) / 2, i;

	if (strlen(in) % 2 || n > max)
		die("%s: '%s' is not at most %zu bytes of hex", what, in, max);
	for (i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(in + 2 * i, "%2x", &b) != 1)
			die("%s: '%s' is not hex", what, in);
		out[i] = b;
	}
	return n;
}

static void hex(char *out, const unsigned char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * len] = '\0';
}

/* xorshift64*: the data is reproducible from --seed, not secret */
static void fill(unsigned char *p, size_t len)
{
	while (len--) {
		rng_state ^= rng_state >> 12;
		rng_state ^= rng_state << 25;
		rng_state ^= rng_state >> 27;
		*p++ = (rng_state * 0x2545f4914f6cdd1dULL) >> 56;
	}
}

static int parse_addr(const char *arg, bool passive, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	const char *colon = strrchr(arg, ':');
	struct addrinfo *res;
	char host[256];
	size_t hlen;

	if (!colon || !colon[1] || (hlen = colon - arg) >= sizeof(host))
		return -1;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	if (passive)
		hints.ai_flags |= AI_PASSIVE;
	if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res))
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = timeout_s };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---------------------------------------------------------------------- */
/* Sealing */

/*
 * One TLS 1.2 AES-GCM record: header (type, version, length), explicit
 * nonce, ciphertext, tag, for record number @seq. AAD = seq || type ||
 * version || plaintext length (RFC 5246 6.2.3.3), IV = salt || nonce.
 */
static size_t seal(unsigned char *out, unsigned int type, unsigned int version, uint64_t seq,
		   const unsigned char *plain, size_t len)
{
	const EVP_CIPHER *cipher = k.key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char iv[12], aad[13];
	size_t clen = NONCE_LEN + len + TAG_LEN;
	int n;

	out[0] = type;
	put_be(out + 1, version, 2);
	put_be(out + 3, clen, 2);
	/* explicit nonce: the base plus the record number, as kTLS TX counts */
	put_be(out + HDR_LEN, get_be(k.iv + 4, 8) + seq, 8);
	memcpy(iv, k.iv, 4);
	memcpy(iv + 4, out + HDR_LEN, 8);
	put_be(aad, seq, 8);
	aad[8] = type;
	put_be(aad + 9, version, 2);
	put_be(aad + 11, len, 2);
	if (!ctx || !EVP_EncryptInit_ex(ctx, cipher, NULL, k.key, iv) ||
	    !EVP_EncryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) ||
	    !EVP_EncryptUpdate(ctx, out + HDR_LEN + NONCE_LEN, &n, plain, len) ||
	    !EVP_EncryptFinal_ex(ctx, out + HDR_LEN + NONCE_LEN + len, &n) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
				 out + HDR_LEN + NONCE_LEN + len))
		die("AES-GCM failed");
	EVP_CIPHER_CTX_free(ctx);
	return HDR_LEN + clen;
}

/* ---------------------------------------------------------------------- */
/* send */

struct item {
	unsigned char *wire;
	size_t len;
	bool valid;		/* a record the kernel must deliver */
	bool data;		/* ... of application data */
	unsigned char *plain;	/* its plaintext */
	size_t plain_len;
	size_t cut[MAX_PARTS];	/* part boundaries (@OFF) */
	unsigned int ncut;
};

/*
 * Build one item from its text into @it. @prev is the previous record
 * sent (for replay).
 */
static void build_item(struct item *it, const char *text, const struct item *prev)
{
	static unsigned char plain[MAX_ITEM];
	char name[32], *at;
	char spec[256];
	unsigned long a = 0, b = 0;
	int nf;

	if (strlen(text) >= sizeof(spec))
		die("item '%s' too long", text);
	strcpy(spec, text);
	memset(it, 0, sizeof(*it));
	at = strchr(spec, '@');
	if (at) {
		char *tok, *save = NULL;

		*at++ = '\0';
		for (tok = strtok_r(at, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (it->ncut == MAX_PARTS - 1)
				die("item '%s': too many cuts", text);
			it->cut[it->ncut++] = strtoul(tok, NULL, 0);
		}
	}
	it->wire = malloc(MAX_ITEM);
	if (!it->wire)
		die("out of memory");
	nf = sscanf(spec, "%31[a-z]:%lu:%lu", name, &a, &b);
	if (nf >= 1 && !strcmp(name, "version"))
		nf = sscanf(spec, "%31[a-z]:%lx:%lu", name, &a, &b);
	if (nf < 1)
		die("bad item '%s'", text);
	if (!strcmp(name, "replay") && nf == 1) {
		if (!prev || !prev->len)
			die("replay: no record before it");
		memcpy(it->wire, prev->wire, prev->len);
		it->len = prev->len;
		k.seq++;	/* it takes the place of a record */
		return;
	}
	if (!strcmp(name, "trunc") && nf == 2) {
		if (a >= HDR_LEN + NONCE_LEN)
			die("trunc:N needs N < %d", HDR_LEN + NONCE_LEN);
		fill(plain, 16);
		seal(it->wire, RT_DATA, 0x0303, k.seq++, plain, 16);
		it->len = a;
		return;
	}
	if (!strcmp(name, "len") && (nf == 2 || nf == 3)) {
		if (a > 65535 || (nf == 3 && b > a))
			die("len:N[:BODY] needs BODY <= N <= 65535");
		it->wire[0] = RT_DATA;
		put_be(it->wire + 1, 0x0303, 2);
		put_be(it->wire + 3, a, 2);
		fill(it->wire + HDR_LEN, nf == 3 ? b : a);
		it->len = HDR_LEN + (nf == 3 ? b : a);
		k.seq++;
		return;
	}
	if (!strcmp(name, "rec") && nf == 3) {
		if (a > 255 || b > 65535 - NONCE_LEN - TAG_LEN)
			die("rec:TYPE:LEN out of range");
		it->plain_len = b;
		fill(plain, b);
		it->len = seal(it->wire, a, 0x0303, k.seq++, plain, b);
		it->valid = b <= MAX_PLAIN;
		it->data = a == RT_DATA;
	} else if (!strcmp(name, "version") && nf == 3) {
		if (a > 0xffff || b > 65535 - NONCE_LEN - TAG_LEN)
			die("version:HHHH:LEN out of range");
		fill(plain, b);
		it->len = seal(it->wire, RT_DATA, a, k.seq++, plain, b);
		return;
	} else if (nf == 2 && a <= 65535 - NONCE_LEN - TAG_LEN &&
		   (!strcmp(name, "data") || !strcmp(name, "ct") || !strcmp(name, "tag") ||
		    !strcmp(name, "nonce") || !strcmp(name, "type"))) {
		bool forged = strcmp(name, "data");

		if (forged && (a == 0 && !strcmp(name, "ct")))
			die("ct:LEN needs LEN > 0");
		it->plain_len = a;
		fill(plain, a);
		it->len = seal(it->wire, RT_DATA, 0x0303, k.seq++, plain, a);
		it->valid = !forged && a <= MAX_PLAIN;
		it->data = true;
		if (!strcmp(name, "ct"))
			it->wire[HDR_LEN + NONCE_LEN + a / 2] ^= 0x40;
		else if (!strcmp(name, "tag"))
			it->wire[it->len - 1] ^= 0x01;
		else if (!strcmp(name, "nonce"))
			it->wire[HDR_LEN + 3] ^= 0x10;
		else if (!strcmp(name, "type"))
			it->wire[0] = RT_HANDSHAKE;
	} else {
		die("bad item '%s'", text);
	}
	if (it->valid) {
		it->plain = malloc(it->plain_len ? it->plain_len : 1);
		if (!it->plain)
			die("out of memory");
		memcpy(it->plain, plain, it->plain_len);
	}
}

/* Until the peer acknowledged everything written (SIOCOUTQ: unacked + unsent). */
static void wait_acked(int fd)
{
	double deadline = now_s() + timeout_s;
	int outq;

	for (;;) {
		if (ioctl(fd, SIOCOUTQ, &outq) < 0)
			die("SIOCOUTQ: %s", strerror(errno));
		if (!outq)
			return;
		if (now_s() > deadline)
			die("%d bytes not acknowledged after %u s", outq, timeout_s);
		usleep(1000);
	}
}

/* Returns false once the peer is gone (it may close after a bad record). */
static bool send_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		if (n <= 0)
			die("send: %s", n ? strerror(errno) : "no progress");
		p += n;
		len -= n;
	}
	return true;
}

static int connect_retry(void)
{
	struct sockaddr_storage ss;
	double deadline = now_s() + timeout_s;
	socklen_t sslen;
	int fd, one = 1;

	if (parse_addr(addr, false, &ss, &sslen))
		die("invalid address '%s' (ADDR:PORT)", addr);
	for (;;) {
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		set_timeouts(fd);
		if (!connect(fd, (struct sockaddr *)&ss, sslen))
			break;
		if (errno != ECONNREFUSED || now_s() > deadline)
			die("connect to %s: %s", addr, strerror(errno));
		close(fd);
		usleep(100 * 1000);
	}
	/* every write leaves at once: items do not share segments */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int do_send(int nitems, char **items, const char *expect_file)
{
	unsigned char digest[32], ready;
	char shahex[65];
	struct item *it = calloc(nitems, sizeof(*it));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t expect = 0, valid_wire = 0, valid_wire_after = 0;
	char ctrl[16 + 2 * 64 + 1];
	FILE *ef = NULL;
	bool bad_seen = false, peer_gone = false;
	int fd, i, before_bad = 0;
	unsigned int d;

	if (!it || !md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		die("out of memory");
	if (expect_file && !(ef = fopen(expect_file, "w")))
		die("cannot create %s: %s", expect_file, strerror(errno));
	for (i = 0; i < nitems; i++)
		build_item(&it[i], items[i], i ? &it[i - 1] : NULL);

	fd = connect_retry();
	/* the receiver's socket holds the key once this byte arrives */
	if (recv(fd, &ready, 1, MSG_WAITALL) != 1)
		die("no ready byte from the receiver: %s", strerror(errno));

	for (i = 0; i < nitems; i++) {
		size_t off = 0;

		if (!it[i].valid)
			bad_seen = true;
		if (!bad_seen) {
			before_bad++;
			valid_wire += it[i].len;
			if (it[i].data) {
				EVP_DigestUpdate(md, it[i].plain, it[i].plain_len);
				expect += it[i].plain_len;
				if (ef && fwrite(it[i].plain, 1, it[i].plain_len, ef) !=
					  it[i].plain_len)
					die("writing %s", expect_file);
			}
		}
		for (d = 0; d <= it[i].ncut && !peer_gone; d++) {
			size_t end = d < it[i].ncut ? it[i].cut[d] : it[i].len;

			if (end < off || end > it[i].len)
				die("item '%s': cut %zu outside 0..%zu or not increasing",
				    items[i], end, it[i].len);
			peer_gone = !send_all(fd, it[i].wire + off, end - off);
			if (!peer_gone)
				wait_acked(fd);
			off = end;
		}
		ctrl[0] = '\0';
		if (it[i].valid && !it[i].data && it[i].plain_len <= 64) {
			/* what the receiver must see: type and content */
			snprintf(ctrl, sizeof(ctrl), " ctrl=%u:", it[i].wire[0]);
			hex(ctrl + strlen(ctrl), it[i].plain, it[i].plain_len);
		}
		if (bad_seen && it[i].valid)
			valid_wire_after += it[i].len;
		printf("craft-send: item=%d spec=%s wire=%zu valid=%d%s%s\n", i, items[i],
		       it[i].len, it[i].valid, ctrl, peer_gone ? " peer_gone=1" : "");
	}
	if (ef && fclose(ef))
		die("writing %s", expect_file);
	EVP_DigestFinal_ex(md, digest, NULL);
	EVP_MD_CTX_free(md);
	hex(shahex, digest, 32);
	printf("craft-send: expect bytes=%" PRIu64 " sha256=%s valid_wire=%" PRIu64
	       " valid_wire_after=%" PRIu64 " items_before_bad=%d\n", expect, shahex,
	       valid_wire, valid_wire_after, before_bad);
	fflush(stdout);

	/* FIN, then wait for the receiver to close: it has read what it will */
	shutdown(fd, SHUT_WR);
	while (recv(fd, &ready, 1, 0) > 0)
		;
	close(fd);
	for (i = 0; i < nitems; i++) {
		free(it[i].wire);
		free(it[i].plain);
	}
	free(it);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* recv */

static void key_socket(int fd)
{
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
	} ci;
	unsigned char seq_be[8];
	size_t len;

	memset(&ci, 0, sizeof(ci));
	put_be(seq_be, k.seq, 8);
	if (k.key_len == 16) {
		ci.g128.info.version = TLS_1_2_VERSION;
		ci.g128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(ci.g128.key, k.key, 16);
		memcpy(ci.g128.salt, k.iv, 4);
		memcpy(ci.g128.iv, k.iv + 4, 8);
		memcpy(ci.g128.rec_seq, seq_be, 8);
		len = sizeof(ci.g128);
	} else {
		ci.g256.info.version = TLS_1_2_VERSION;
		ci.g256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci.g256.key, k.key, 32);
		memcpy(ci.g256.salt, k.iv, 4);
		memcpy(ci.g256.iv, k.iv + 4, 8);
		memcpy(ci.g256.rec_seq, seq_be, 8);
		len = sizeof(ci.g256);
	}
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0)
		die("setsockopt(TCP_ULP, \"tls\"): %s", strerror(errno));
	if (setsockopt(fd, SOL_TLS, TLS_RX, &ci, len) < 0)
		die("setsockopt(SOL_TLS, TLS_RX): %s", strerror(errno));
	OPENSSL_cleanse(&ci, sizeof(ci));
}

static const char *errname(int e)
{
	switch (e) {
	case EBADMSG: return "EBADMSG";
	case EMSGSIZE: return "EMSGSIZE";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "timeout";
	case ECONNRESET: return "ECONNRESET";
	case EIO: return "EIO";
	default: return "other";
	}
}

/*
 * One recvmsg with the record type. Returns the byte count (0: EOF) or
 * -errno.
 */
static ssize_t recv_record(int fd, unsigned char *buf, size_t len, unsigned char *type)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	do
		n = recvmsg(fd, &msg, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*type = RT_DATA;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
		*type = *CMSG_DATA(cmsg);
	return n;
}

/*
 * Until the sender's FIN arrived, so that it could send everything before
 * this end closes (a close with unread data resets the connection).
 */
static void wait_fin(int fd)
{
	double deadline = now_s() + timeout_s;
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	while (now_s() < deadline) {
		if (poll(&p, 1, 100) > 0 && (p.revents & (POLLRDHUP | POLLHUP)))
			return;
		/* a pending socket error makes poll return at once */
		if (p.revents & POLLERR)
			usleep(1000);
	}
	fprintf(stderr, PROG ": no FIN from the sender within %u s\n", timeout_s);
}

static int do_recv(const char *save_file)
{
	static unsigned char buf[65536];
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned char digest[32], type;
	char shahex[65], end[32], after[64];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t total = 0, after_data = 0;
	int lfd, fd, one = 1, i;
	FILE *sf = NULL;
	ssize_t n;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		die("out of memory");
	if (parse_addr(addr, true, &ss, &sslen))
		die("invalid address '%s' (ADDR:PORT)", addr);
	if (save_file && !(sf = fopen(save_file, "w")))
		die("cannot create %s: %s", save_file, strerror(errno));
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sslen) < 0 || listen(lfd, 1) < 0)
		die("bind/listen %s: %s", addr, strerror(errno));
	fprintf(stderr, PROG ": listening on %s\n", addr);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	close(lfd);
	set_timeouts(fd);
	key_socket(fd);
	if (send(fd, "R", 1, MSG_NOSIGNAL) != 1)
		die("sending the ready byte: %s", strerror(errno));

	for (;;) {
		n = recv_record(fd, buf, sizeof(buf), &type);
		if (n <= 0)
			break;
		if (type != RT_DATA) {
			char h[2 * 64 + 1];

			hex(h, buf, n < 64 ? n : 64);
			printf("craft-recv: record type=%u len=%zd hex=%s%s\n", type, n, h,
			       n > 64 ? "..." : "");
			continue;
		}
		EVP_DigestUpdate(md, buf, n);
		if (sf && fwrite(buf, 1, n, sf) != (size_t)n)
			die("writing %s", save_file);
		total += n;
	}
	snprintf(end, sizeof(end), "%s", n == 0 ? "eof" : errname(-n));
	if (n < 0 && !strcmp(end, "other"))
		snprintf(end, sizeof(end), "errno%zd", -n);
	/*
	 * What reads after the end give: nothing more may be delivered. The
	 * kernel may report a decryption error again on each read; EOF ends.
	 */
	after[0] = '\0';
	for (i = 0; n != 0 && i < 4; i++) {
		ssize_t r = recv_record(fd, buf, sizeof(buf), &type);

		if (r > 0)
			after_data += r;
		if (!after[0] || r > 0)
			snprintf(after, sizeof(after), "%s", r > 0 ? "data" :
				 r == 0 ? "eof" : errname(-r));
		if (r == 0)
			break;
	}
	if (!after[0])
		snprintf(after, sizeof(after), "eof");
	wait_fin(fd);
	EVP_DigestFinal_ex(md, digest, NULL);
	EVP_MD_CTX_free(md);
	hex(shahex, digest, 32);
	printf("craft-recv: data bytes=%" PRIu64 " sha256=%s end=%s after=%s after_data=%" PRIu64
	       "\n", total, shahex, end, after, after_data);
	if (sf && fclose(sf))
		die("writing %s", save_file);
	close(fd);
	return 0;
}

/* ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " send --connect ADDR:PORT KEYS [--seed N] [--expect FILE] ITEM...\n"
"       " PROG " recv --listen ADDR:PORT KEYS [--save FILE]\n"
"KEYS:  [--cipher aes128gcm|aes256gcm] --key HEX --iv HEX(12 bytes) [--seq N]\n"
"       [--timeout S]\n"
"ITEM:  data:LEN rec:TYPE:LEN ct:LEN tag:LEN nonce:LEN type:LEN replay\n"
"       version:HHHH:LEN len:N[:BODY] trunc:N, each optionally @OFF[,OFF...]\n"
"See the header of tools/tls-craft.c.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "cipher", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'k' },
		{ "iv", required_argument, NULL, 'i' },
		{ "seq", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "expect", required_argument, NULL, 'e' },
		{ "save", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *expect_file = NULL, *save_file = NULL, *mode;
	size_t key_bytes = 0;
	bool sending;
	int c;

	if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
		usage(argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	mode = argv[1];
	sending = !strcmp(mode, "send");
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 'l':
			if ((c == 'c') != sending)
				die("%s takes --%s", mode, sending ? "connect" : "listen");
			addr = optarg;
			break;
		case 'C':
			if (!strcmp(optarg, "aes128gcm"))
				k.key_len = 16;
			else if (!strcmp(optarg, "aes256gcm"))
				k.key_len = 32;
			else
				die("invalid --cipher '%s'", optarg);
			break;
		case 'k':
			key_bytes = unhex(k.key, sizeof(k.key), optarg, "--key");
			k.have_key = true;
			break;
		case 'i':
			if (unhex(k.iv, sizeof(k.iv), optarg, "--iv") != sizeof(k.iv))
				die("--iv: 12 bytes (salt || explicit nonce)");
			k.have_iv = true;
			break;
		case 's':
			k.seq = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			rng_state = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'e':
			expect_file = optarg;
			break;
		case 'o':
			save_file = optarg;
			break;
		case 't':
			timeout_s = strtoul(optarg, NULL, 0);
			if (!timeout_s)
				die("--timeout must be at least 1");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!addr || !k.have_key || !k.have_iv)
		die("%s needs --%s, --key and --iv", mode, sending ? "connect" : "listen");
	if (key_bytes != k.key_len)
		die("--key has %zu bytes, --cipher needs %zu", key_bytes, k.key_len);
	if (sending) {
		if (optind == argc)
			die("send: no items");
		return do_send(argc - optind, argv + optind, expect_file);
	}
	if (optind != argc)
		die("recv takes no items");
	return do_recv(save_file);
}
