// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP tests of the devsim TLS TX engine (devsim/tls_tx.c), byte for byte
 * against records written by OpenSSL's own TLS 1.2 stack.
 *
 * Each suite does an in-memory TLS 1.2 handshake between two SSL objects,
 * exports the client's record keys (master secret + TLS1-PRF key
 * expansion), SSL_writes known data and captures the records. The engine is
 * then fed the "kernel plaintext form" of the same stream (header and
 * explicit nonce from the real record, plaintext, junk tag space) in every
 * way the network stack can cut it, and must produce OpenSSL's bytes.
 *
 * Build: linked with devsim/tls_tx.c, -lssl -lcrypto.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../uapi/tlsnic.h"
#include "../../devsim/tls_tx.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_RECS	32
#define STREAM_MAX	(64 * 1024)
/* Stream starts just below 2^32 so that TCP sequence numbers wrap. */
#define STREAM_ISN	0xffffa000U
#define PRE_LEN		64	/* bytes sent before the first TLS record */
#define MSS		1448

struct rec {
	size_t off;		/* in the stream */
	size_t len;		/* header to tag */
	uint64_t num;
};

struct suite {
	const char *name;
	const char *ciphers;
	const char *prf_digest;
	enum tls_tx_cipher cipher;
	size_t key_len;
	bool ready;		/* setup worked, records authenticated */
	uint8_t key[32];
	uint8_t salt[4];
	uint8_t plain[STREAM_MAX];	/* kernel plaintext form */
	uint8_t wire[STREAM_MAX];	/* OpenSSL's records */
	size_t len;
	struct rec recs[MAX_RECS];
	unsigned int nrecs;
};

static struct suite suites[] = {
	{
		.name = "aes128",
		.ciphers = "ECDHE-RSA-AES128-GCM-SHA256",
		.prf_digest = "SHA256",
		.cipher = TLS_TX_AES_GCM_128,
		.key_len = 16,
	},
	{
		.name = "aes256",
		.ciphers = "ECDHE-RSA-AES256-GCM-SHA384",
		.prf_digest = "SHA384",
		.cipher = TLS_TX_AES_GCM_256,
		.key_len = 32,
	},
};

/* Application data written by the client, one record each. */
static const size_t write_sizes[] = {
	1, 15, 16, 17, 100, 1000, 4096, 16384, 3000, 31, 1448, 2,
};

static EVP_PKEY *server_key;
static X509 *server_cert;
static uint8_t scratch[STREAM_MAX];

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: reproducible, seeded per test. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t rng_range(size_t lo, size_t hi)
{
	return lo + rng() % (hi - lo + 1);
}

static void openssl_diag(void)
{
	unsigned long e;

	while ((e = ERR_get_error()))
		diag("openssl: %s", ERR_error_string(e, NULL));
}

/* ---- OpenSSL oracle ------------------------------------------------- */

static bool make_server_identity(void)
{
	X509_NAME *name;

	server_key = EVP_RSA_gen(2048);
	server_cert = X509_new();
	if (!server_key || !server_cert)
		return false;
	name = X509_get_subject_name(server_cert);
	if (!X509_set_version(server_cert, 2) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(server_cert), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(server_cert), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(server_cert), 3600) ||
	    !X509_set_pubkey(server_cert, server_key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"tlsnic-test",
					-1, -1, 0) ||
	    !X509_set_issuer_name(server_cert, name) ||
	    !X509_sign(server_cert, server_key, EVP_sha256()))
		return false;
	return true;
}

static void pump(BIO *from, BIO *to)
{
	char buf[4096];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0)
		BIO_write(to, buf, n);
}

static SSL_CTX *make_ssl_ctx(const struct suite *s, bool server)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() :
				 TLS_client_method());

	if (!c)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(c, s->ciphers) ||
	    (server && (!SSL_CTX_use_certificate(c, server_cert) ||
			!SSL_CTX_use_PrivateKey(c, server_key)))) {
		SSL_CTX_free(c);
		return NULL;
	}
	return c;
}

/* Client key block: TLS1-PRF(master, "key expansion", server || client). */
static bool export_client_keys(struct suite *s, SSL *client)
{
	uint8_t ms[SSL_MAX_MASTER_KEY_LENGTH], seed[13 + 64], kb[2 * 32 + 8];
	size_t ms_len, kb_len = 2 * s->key_len + 8;
	EVP_KDF_CTX *kctx = NULL;
	EVP_KDF *kdf;
	OSSL_PARAM params[4];
	bool ok = false;

	ms_len = SSL_SESSION_get_master_key(SSL_get_session(client), ms,
					    sizeof(ms));
	memcpy(seed, "key expansion", 13);
	SSL_get_server_random(client, seed + 13, 32);
	SSL_get_client_random(client, seed + 13 + 32, 32);

	kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	if (kdf)
		kctx = EVP_KDF_CTX_new(kdf);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)s->prf_digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
						      ms, ms_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED,
						      seed, sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	if (kctx && ms_len && EVP_KDF_derive(kctx, kb, kb_len, params) == 1) {
		/* No MAC keys for AEAD: client key, server key, client IV. */
		memcpy(s->key, kb, s->key_len);
		memcpy(s->salt, kb + 2 * s->key_len, 4);
		ok = true;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(ms, sizeof(ms));
	OPENSSL_cleanse(kb, sizeof(kb));
	return ok;
}

/* One-shot GCM with EVP: the reference for records built here. */
static bool gcm_oneshot(const struct suite *s, bool enc, const uint8_t *hdr,
			uint64_t num, const uint8_t *in, size_t len,
			uint8_t *out, uint8_t *tag)
{
	const EVP_CIPHER *c = s->key_len == 16 ? EVP_aes_128_gcm() :
						 EVP_aes_256_gcm();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint8_t iv[12], aad[13];
	int outl;
	bool ok;

	memcpy(iv, s->salt, 4);
	memcpy(iv + 4, hdr + 5, 8);
	for (int i = 0; i < 8; i++)
		aad[i] = (uint8_t)(num >> (56 - 8 * i));
	memcpy(aad + 8, hdr, 3);
	aad[11] = (uint8_t)(len >> 8);
	aad[12] = (uint8_t)len;

	ok = ctx && EVP_CipherInit_ex(ctx, c, NULL, s->key, iv, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &outl, aad, 13) == 1 &&
	     (!len || EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
					 tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &outl) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
					 tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok;
}

/*
 * Handshake, write the data, capture the client's records, check that the
 * exported keys open every one of them (and recover the data), and build
 * the kernel plaintext form of the stream.
 */
static bool setup_suite(struct suite *s)
{
	BIO *cr = BIO_new(BIO_s_mem()), *cw = BIO_new(BIO_s_mem());
	BIO *sr = BIO_new(BIO_s_mem()), *sw = BIO_new(BIO_s_mem());
	SSL_CTX *cctx = make_ssl_ctx(s, false), *sctx = make_ssl_ctx(s, true);
	SSL *client = NULL, *server = NULL;
	uint8_t data[16384];
	uint64_t num = 1;	/* client Finished was record 0 */
	size_t off, i;
	bool ok = false;
	int n;

	if (!cr || !cw || !sr || !sw || !cctx || !sctx)
		goto out;
	client = SSL_new(cctx);
	server = SSL_new(sctx);
	if (!client || !server)
		goto out;
	SSL_set_bio(client, cr, cw);
	SSL_set_bio(server, sr, sw);
	/* The SSLs own the BIOs now. */
	cr = NULL;
	cw = NULL;
	sr = NULL;
	sw = NULL;
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);

	for (i = 0; i < 50; i++) {
		SSL_do_handshake(client);
		SSL_do_handshake(server);
		pump(SSL_get_wbio(client), SSL_get_rbio(server));
		pump(SSL_get_wbio(server), SSL_get_rbio(client));
		if (SSL_is_init_finished(client) && SSL_is_init_finished(server))
			break;
	}
	if (!SSL_is_init_finished(client) || SSL_version(client) != TLS1_2_VERSION) {
		diag("%s: TLS 1.2 handshake failed", s->name);
		goto out;
	}
	if (!export_client_keys(s, client)) {
		diag("%s: key export failed", s->name);
		goto out;
	}

	/* Data the driver had sent before kTLS: never touched by the device. */
	for (off = 0; off < PRE_LEN; off++)
		s->plain[off] = (uint8_t)(0x40 + off);
	memcpy(s->wire, s->plain, PRE_LEN);
	for (i = 0; i < ARRAY_SIZE(write_sizes); i++) {
		for (size_t j = 0; j < write_sizes[i]; j++)
			data[j] = (uint8_t)rng();
		if (SSL_write(client, data, (int)write_sizes[i]) !=
		    (int)write_sizes[i])
			goto out;
	}
	/* close_notify: an encrypted alert record (type 21). */
	SSL_shutdown(client);
	n = BIO_read(SSL_get_wbio(client), s->wire + PRE_LEN,
		     (int)(sizeof(s->wire) - PRE_LEN));
	if (n <= 0 || BIO_ctrl_pending(SSL_get_wbio(client)))
		goto out;
	s->len = PRE_LEN + (size_t)n;

	for (off = PRE_LEN; off < s->len; num++) {
		const uint8_t *r = s->wire + off;
		size_t clen, plen;
		struct rec *rc;

		if (s->nrecs == MAX_RECS || s->len - off < 5)
			goto out;
		clen = (size_t)r[3] << 8 | r[4];
		if (clen < 24 || s->len - off < 5 + clen)
			goto out;
		plen = clen - 24;
		rc = &s->recs[s->nrecs++];
		rc->off = off;
		rc->len = 5 + clen;
		rc->num = num;
		memcpy(s->plain + off, r, 13);
		if (!gcm_oneshot(s, false, r, num, r + 13, plen,
				 s->plain + off + 13, (uint8_t *)r + 13 + plen)) {
			diag("%s: record %u fails to open with exported keys",
			     s->name, s->nrecs - 1);
			goto out;
		}
		/* Junk where the kernel leaves tag space. */
		memset(s->plain + off + 13 + plen, 0xa5, 16);
		off += rc->len;
	}
	ok = s->nrecs == ARRAY_SIZE(write_sizes) + 1 &&
	     s->wire[s->recs[s->nrecs - 1].off] == 21;
	if (!ok)
		diag("%s: unexpected record layout (%u records)", s->name,
		     s->nrecs);
out:
	if (!ok)
		openssl_diag();
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	BIO_free(cr);
	BIO_free(cw);
	BIO_free(sr);
	BIO_free(sw);
	OPENSSL_cleanse(data, sizeof(data));
	return ok;
}

/* ---- helpers ---------------------------------------------------------- */

static uint32_t seq_of(size_t off)
{
	return (uint32_t)(STREAM_ISN + off - PRE_LEN);
}

/* Record holding stream byte @off. */
static const struct rec *rec_at(const struct suite *s, size_t off)
{
	for (unsigned int i = 0; i < s->nrecs; i++)
		if (off >= s->recs[i].off && off < s->recs[i].off + s->recs[i].len)
			return &s->recs[i];
	return NULL;
}

/* Engine context whose first record is record @r. */
static bool ctx_at(const struct suite *s, struct tls_tx_ctx *ctx,
		   const struct rec *r)
{
	struct tls_tx_params p = { .cipher = s->cipher };
	int ret;

	memcpy(p.key, s->key, s->key_len);
	memcpy(p.salt, s->salt, 4);
	memcpy(p.iv, s->plain + r->off + 5, 8);
	p.rec_seq = r->num;
	p.tcp_seq = seq_of(r->off);
	ret = tls_tx_init(ctx, &p);
	OPENSSL_cleanse(&p, sizeof(p));
	if (ret)
		diag("tls_tx_init: %d", ret);
	return !ret;
}

static bool ctx_first(const struct suite *s, struct tls_tx_ctx *ctx)
{
	return ctx_at(s, ctx, &s->recs[0]);
}

/* Resync info for a frame starting at @off, with or without the dump. */
static void resync_for(const struct suite *s, size_t off, bool dump,
		       struct tls_tx_resync *rs)
{
	const struct rec *r = rec_at(s, off);

	rs->rec_tcp_seq = seq_of(r->off);
	rs->rec_seq = r->num;
	rs->dump = dump && off > r->off ? s->plain + r->off : NULL;
	rs->dump_len = dump ? off - r->off : 0;
}

/* Does [off, off + len) hold tag bytes of the record holding @off? */
static bool has_tag(const struct suite *s, size_t off, size_t len)
{
	const struct rec *r = rec_at(s, off);

	return off > r->off && off + len > r->off + r->len - 16;
}

static bool same(const char *what, const uint8_t *got, const uint8_t *exp,
		 size_t len, size_t base)
{
	for (size_t i = 0; i < len; i++) {
		if (got[i] != exp[i]) {
			diag("%s: stream byte %zu differs (0x%02x, want 0x%02x)",
			     what, base + i, got[i], exp[i]);
			return false;
		}
	}
	return true;
}

/*
 * Process stream bytes [off, off + len) of a copy of the plaintext form
 * into @buf (which mirrors the whole stream) and compare with the wire.
 */
static int run(const struct suite *s, struct tls_tx_ctx *ctx, uint8_t *buf,
	       size_t off, size_t len, const struct tls_tx_resync *rs)
{
	memcpy(buf + off, s->plain + off, len);
	return tls_tx_process(ctx, seq_of(off), buf + off, len, rs);
}

static bool expect_ret(const char *what, int got, int want)
{
	if (got == want)
		return true;
	diag("%s: returned %d, want %d", what, got, want);
	return false;
}

/* ---- tests on OpenSSL streams ------------------------------------------ */

static bool test_records_authenticate(struct suite *s)
{
	/* setup_suite() opened every record with the exported keys. */
	return s->ready;
}

static bool test_in_order_one_frame(struct suite *s)
{
	struct tls_tx_ctx ctx;
	size_t first = s->recs[0].off;
	int ret;
	bool ok;

	if (!ctx_first(s, &ctx))
		return false;
	ret = run(s, &ctx, scratch, first, s->len - first, NULL);
	ok = expect_ret("whole stream", ret, 0) &&
	     same("whole stream", scratch + first, s->wire + first,
		  s->len - first, first);
	tls_tx_destroy(&ctx);
	return ok;
}

static bool test_every_two_segment_split(struct suite *s)
{
	unsigned long splits = 0;

	for (unsigned int i = 0; i < s->nrecs; i++) {
		const struct rec *r = &s->recs[i];

		for (size_t k = 1; k < r->len; k++) {
			struct tls_tx_ctx ctx;
			int r1, r2;
			bool ok;

			if (!ctx_at(s, &ctx, r))
				return false;
			r1 = run(s, &ctx, scratch, r->off, k, NULL);
			r2 = run(s, &ctx, scratch, r->off + k, r->len - k, NULL);
			tls_tx_destroy(&ctx);
			ok = !r1 && !r2 &&
			     !memcmp(scratch + r->off, s->wire + r->off, r->len);
			if (!ok) {
				diag("record %u (%zu bytes) split at %zu: %d %d",
				     i, r->len, k, r1, r2);
				same("split", scratch + r->off, s->wire + r->off,
				     r->len, r->off);
				return false;
			}
			splits++;
		}
	}
	diag("%s: %lu splits checked", s->name, splits);
	return true;
}

/* Random segment sizes, small ones included so headers get cut. */
static size_t random_seg(void)
{
	switch (rng() % 4) {
	case 0:
		return rng_range(1, 14);
	case 1:
		return rng_range(1, MSS);
	case 2:
		return rng_range(MSS, 20000);
	default:
		return rng_range(1, 200);
	}
}

static bool test_random_multi_segment(struct suite *s)
{
	rng_state = 0x1234567;
	for (int iter = 0; iter < 300; iter++) {
		size_t off = s->recs[0].off;
		struct tls_tx_ctx ctx;

		if (!ctx_first(s, &ctx))
			return false;
		while (off < s->len) {
			size_t len = random_seg(), left, pos;
			struct iovec iov[4];
			unsigned int n = 0;
			int ret;

			if (len > s->len - off)
				len = s->len - off;
			memcpy(scratch + off, s->plain + off, len);
			/* The frame in up to 4 pieces (some empty), as an mbuf chain. */
			for (pos = off, left = len; left && n < 3; n++) {
				size_t piece = rng_range(0, left);

				iov[n].iov_base = scratch + pos;
				iov[n].iov_len = piece;
				pos += piece;
				left -= piece;
			}
			iov[n].iov_base = scratch + pos;
			iov[n++].iov_len = left;
			ret = tls_tx_process_iov(&ctx, seq_of(off), iov, n, NULL);
			if (ret) {
				diag("iter %d: frame at %zu+%zu: %d", iter, off,
				     len, ret);
				tls_tx_destroy(&ctx);
				return false;
			}
			off += len;
		}
		tls_tx_destroy(&ctx);
		if (!same("random split", scratch + s->recs[0].off,
			  s->wire + s->recs[0].off, s->len - s->recs[0].off,
			  s->recs[0].off)) {
			diag("iter %d", iter);
			return false;
		}
	}
	return true;
}

/*
 * Whole stream sent, then every offset of every record retransmitted as an
 * MSS-sized segment (which may run into the next records): sparse when no
 * tag byte of the first record is in it, else with the dump; without the
 * dump such a segment must be refused.
 */
static bool test_retransmit_every_offset(struct suite *s)
{
	size_t first = s->recs[0].off;
	unsigned long sparse = 0, dumped = 0, refused = 0;
	struct tls_tx_ctx ctx;
	uint32_t next;
	bool ok = true;

	if (!ctx_first(s, &ctx))
		return false;
	if (run(s, &ctx, scratch, first, s->len - first, NULL))
		ok = false;

	for (size_t off = first; ok && off < s->len; off++) {
		size_t len = s->len - off < MSS ? s->len - off : MSS;
		bool tag = has_tag(s, off, len);
		struct tls_tx_resync rs;
		int ret;

		resync_for(s, off, false, &rs);
		ret = run(s, &ctx, scratch, off, len, &rs);
		if (tag) {
			ok = expect_ret("tag bytes, no dump", ret, -ENODATA);
			refused++;
		} else {
			ok = expect_ret("sparse", ret,
					TLS_TX_R_OOO | TLS_TX_R_PRESERVED) &&
			     same("sparse", scratch + off, s->wire + off, len,
				  off);
			sparse++;
		}
		if (!ok)
			break;

		/* With the dump; it is only fed to GHASH when needed. */
		resync_for(s, off, true, &rs);
		ret = run(s, &ctx, scratch, off, len, &rs);
		ok = expect_ret("with dump", ret,
				TLS_TX_R_OOO | TLS_TX_R_PRESERVED |
				(tag ? TLS_TX_R_DUMP : 0)) &&
		     same("with dump", scratch + off, s->wire + off, len, off);
		dumped += tag;
	}
	if (!ok)
		diag("%s: failed after %lu sparse, %lu dump, %lu refused",
		     s->name, sparse, dumped, refused);
	else
		diag("%s: %lu sparse, %lu with dump, %lu refused without",
		     s->name, sparse, dumped, refused);
	ok = ok && tls_tx_next_seq(&ctx, &next) && next == seq_of(s->len);
	tls_tx_destroy(&ctx);
	return ok;
}

/*
 * In-order frames interleaved with retransmissions of random earlier
 * ranges: the in-order stream must come out right without any resync.
 */
static bool test_in_order_after_retransmit(struct suite *s)
{
	static uint8_t rtx[STREAM_MAX];
	size_t first = s->recs[0].off;

	rng_state = 0xabcdef;
	for (int iter = 0; iter < 100; iter++) {
		size_t off = first;
		struct tls_tx_ctx ctx;
		unsigned int n_rtx = 0;

		if (!ctx_first(s, &ctx))
			return false;
		while (off < s->len) {
			size_t len = random_seg();
			size_t r_off, r_len;
			struct tls_tx_resync rs;
			int ret;

			if (len > s->len - off)
				len = s->len - off;
			ret = run(s, &ctx, scratch, off, len, NULL);
			if (ret) {
				diag("iter %d: in-order %zu+%zu: %d", iter,
				     off, len, ret);
				goto fail;
			}
			off += len;

			/* Retransmit something already sent. */
			r_off = rng_range(first, off - 1);
			r_len = rng_range(1, off - r_off);
			if (r_len > 3 * MSS)
				r_len = 3 * MSS;
			resync_for(s, r_off, has_tag(s, r_off, r_len), &rs);
			ret = run(s, &ctx, rtx, r_off, r_len, &rs);
			if (!(ret & TLS_TX_R_PRESERVED) || ret < 0 ||
			    !same("retransmission", rtx + r_off,
				  s->wire + r_off, r_len, r_off)) {
				diag("iter %d: retransmit %zu+%zu: %d", iter,
				     r_off, r_len, ret);
				goto fail;
			}
			n_rtx++;
		}
		tls_tx_destroy(&ctx);
		if (!same("in-order after retransmissions", scratch + first,
			  s->wire + first, s->len - first, first))
			return false;
		continue;
fail:
		tls_tx_destroy(&ctx);
		return false;
	}
	return true;
}

/*
 * A frame the device never saw (local drop): the next frame comes with
 * resync info and becomes the in-order state. A sparse rebase cannot write
 * the record's tag later: that frame is refused until it comes again with
 * the dump.
 */
static bool test_gap_rebase(struct suite *s)
{
	const struct rec *big = NULL;
	struct tls_tx_resync rs;
	struct tls_tx_ctx ctx;
	size_t a, b, c, d;
	uint32_t next;
	bool ok = true;

	for (unsigned int i = 0; i < s->nrecs; i++)
		if (s->recs[i].len > 16000)
			big = &s->recs[i];
	if (!big)
		return false;
	a = big->off + 1000;	/* in-order up to here */
	b = a + MSS;		/* [a, b) lost before the device */
	c = b + MSS;		/* [b, c) sent with sparse resync */
	d = big->off + big->len + 100;	/* [c, d) holds big's tag */

	if (!ctx_first(s, &ctx))
		return false;
	ok &= expect_ret("up to gap", run(s, &ctx, scratch, s->recs[0].off,
					  a - s->recs[0].off, NULL), 0);
	ok &= expect_ret("after gap, no resync",
			 run(s, &ctx, scratch, b, c - b, NULL), -ENODATA);
	resync_for(s, b, false, &rs);
	ok &= expect_ret("after gap, sparse resync",
			 run(s, &ctx, scratch, b, c - b, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_REBASED);
	ok &= tls_tx_next_seq(&ctx, &next) && next == seq_of(c);
	/* The lost frame, retransmitted: old data, state kept. */
	resync_for(s, a, false, &rs);
	ok &= expect_ret("lost frame", run(s, &ctx, scratch, a, b - a, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED);
	/* In order, but the record's GHASH was never seen: refused. */
	ok &= expect_ret("tag after sparse rebase",
			 run(s, &ctx, scratch, c, d - c, NULL), -ENODATA);
	ok &= !tls_tx_next_seq(&ctx, &next);
	/* The stack retransmits it with the dump: full state again. */
	resync_for(s, c, true, &rs);
	ok &= expect_ret("with dump", run(s, &ctx, scratch, c, d - c, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_DUMP | TLS_TX_R_REBASED);
	ok &= expect_ret("rest in order", run(s, &ctx, scratch, d, s->len - d,
					      NULL), 0);
	ok &= same("after gap", scratch + a, s->wire + a, s->len - a, a);
	tls_tx_destroy(&ctx);
	return ok;
}

/* Errors for missing or wrong sync data; the in-order state survives. */
static bool test_missing_sync_data(struct suite *s)
{
	static uint8_t junk[STREAM_MAX];
	const struct rec *r = &s->recs[7];	/* the 16384-byte write */
	size_t first = s->recs[0].off, mid = r->off + 5000;
	size_t tail = r->off + r->len - 8;	/* holds 8 tag bytes */
	struct tls_tx_resync rs;
	struct tls_tx_ctx ctx;
	uint32_t next;
	bool ok = true;

	if (r->len != 16384 + 29 || !ctx_first(s, &ctx))
		return false;
	ok &= expect_ret("in order", run(s, &ctx, scratch, first,
					 tail + 8 - first, NULL), 0);

	ok &= expect_ret("old data, no resync",
			 run(s, &ctx, junk, mid, 100, NULL), -ENODATA);
	resync_for(s, tail, false, &rs);
	ok &= expect_ret("tag, no dump", run(s, &ctx, junk, tail, 8, &rs),
			 -ENODATA);
	resync_for(s, tail, true, &rs);
	rs.dump_len--;
	ok &= expect_ret("dump short by one",
			 run(s, &ctx, junk, tail, 8, &rs), -EMSGSIZE);
	rs.dump_len += 2;
	ok &= expect_ret("dump long by one",
			 run(s, &ctx, junk, tail, 8, &rs), -EMSGSIZE);
	resync_for(s, mid, false, &rs);
	rs.rec_tcp_seq = seq_of(mid + 1);
	ok &= expect_ret("record after frame",
			 run(s, &ctx, junk, mid, 100, &rs), -EINVAL);
	resync_for(s, mid, false, &rs);
	rs.rec_seq = s->recs[0].num;
	ok &= expect_ret("first record number elsewhere",
			 run(s, &ctx, junk, mid, 100, &rs), -EINVAL);
	resync_for(s, mid, false, &rs);
	rs.rec_tcp_seq = seq_of(first) - 1;
	rs.rec_seq = s->recs[0].num - 1;
	ok &= expect_ret("record before the first",
			 run(s, &ctx, junk, mid, 100, &rs), -EINVAL);
	/* Said to be in record 0, but 5000 bytes beyond its 1-byte body. */
	rs.rec_tcp_seq = seq_of(first);
	rs.rec_seq = s->recs[0].num;
	ok &= expect_ret("frame far beyond a known record",
			 run(s, &ctx, junk, mid, 100, &rs), -EINVAL);
	/* A dump that runs past the end of the record it is said to be. */
	rs.dump = s->plain + first;
	rs.dump_len = mid - first;
	ok &= expect_ret("dump beyond its record",
			 run(s, &ctx, junk, mid, 100, &rs), -EINVAL);

	ok &= tls_tx_next_seq(&ctx, &next) && next == seq_of(tail + 8);
	ok &= expect_ret("rest in order", run(s, &ctx, scratch, tail + 8,
					      s->len - tail - 8, NULL), 0);
	ok &= same("after errors", scratch + first, s->wire + first,
		   s->len - first, first);
	tls_tx_destroy(&ctx);
	return ok;
}

/* A bad header is refused, and the in-order state is then lost. */
static bool test_bad_header(struct suite *s)
{
	static const struct {
		const char *what;
		unsigned int byte;
		uint8_t val;
	} bad[] = {
		{ "version 3.2", 2, 2 },
		{ "version 2.3", 1, 2 },
		{ "length > 2^14 + 2048", 3, 0x48 },
		{ "length < nonce + tag", 3, 0 },
		{ "explicit nonce", 12, 0 },
	};
	const struct rec *r = &s->recs[5];	/* 1000 bytes of data */
	bool ok = true;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tls_tx_resync rs;
		struct tls_tx_ctx ctx;
		uint32_t next;
		int ret;

		if (!ctx_first(s, &ctx))
			return false;
		ok &= expect_ret(bad[i].what, run(s, &ctx, scratch,
				 s->recs[0].off, r->off - s->recs[0].off,
				 NULL), 0);
		memcpy(scratch + r->off, s->plain + r->off, r->len);
		if (bad[i].byte == 12)
			scratch[r->off + 12] ^= 1;
		else if (bad[i].byte == 3)
			scratch[r->off + 4] = bad[i].val;
		else
			scratch[r->off + bad[i].byte] = bad[i].val;
		if (bad[i].byte == 3)
			scratch[r->off + 3] = bad[i].val;
		ret = tls_tx_process(&ctx, seq_of(r->off), scratch + r->off,
				     r->len, NULL);
		ok &= expect_ret(bad[i].what, ret, -EBADMSG);
		ok &= !tls_tx_next_seq(&ctx, &next);
		ok &= expect_ret("in order after loss",
				 run(s, &ctx, scratch, r->off + r->len, 10,
				     NULL), -ENODATA);
		/* Retransmitted intact with resync: back in business. */
		resync_for(s, r->off, false, &rs);
		ok &= expect_ret("retransmitted", run(s, &ctx, scratch, r->off,
				 r->len, &rs), TLS_TX_R_OOO | TLS_TX_R_REBASED);
		ok &= expect_ret("rest", run(s, &ctx, scratch, r->off + r->len,
				 s->len - r->off - r->len, NULL), 0);
		ok &= same(bad[i].what, scratch + r->off, s->wire + r->off,
			   s->len - r->off, r->off);
		tls_tx_destroy(&ctx);
	}
	return ok;
}

/* Bytes before the first offloaded record go out as they are. */
static bool test_pre_offload_bypass(struct suite *s)
{
	size_t first = s->recs[0].off;
	struct tls_tx_resync rs;
	struct tls_tx_ctx ctx;
	bool ok = true;

	if (!ctx_first(s, &ctx))
		return false;
	ok &= expect_ret("before first record", run(s, &ctx, scratch, 0,
			 first, NULL), TLS_TX_R_BYPASS);
	ok &= same("before first record", scratch, s->plain, first, 0);
	/* Straddling: the old bytes untouched, the record encrypted. */
	ok &= expect_ret("straddling", run(s, &ctx, scratch, 10,
			 first - 10 + 300, NULL), 0);
	ok &= expect_ret("rest", run(s, &ctx, scratch, first + 300,
				     s->len - first - 300, NULL), 0);
	ok &= same("stream", scratch, s->wire, s->len, 0);
	/* Retransmission of the same, with resync info for record 0. */
	resync_for(s, first, false, &rs);
	ok &= expect_ret("straddling retransmission",
			 run(s, &ctx, scratch, 20, first - 20 + 2000, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED);
	ok &= same("straddling retransmission", scratch, s->wire,
		   first + 2000, 0);
	ok &= expect_ret("empty frame", tls_tx_process(&ctx, seq_of(s->len),
			 scratch, 0, NULL), TLS_TX_R_BYPASS);
	tls_tx_destroy(&ctx);
	return ok;
}

/*
 * Garbage resync info, dumps and frame bytes for old data, under ASan in
 * make test: whatever is refused or accepted, nothing crashes and the
 * in-order stream, resumed afterwards, is still right.
 */
static bool test_garbage_retransmissions(struct suite *s)
{
	static uint8_t junk[STREAM_MAX], dump[TLS_TX_MAX_REC_LEN + 64];
	size_t first = s->recs[0].off, mid = s->recs[8].off + 100;
	unsigned int accepted = 0, refused = 0;
	struct tls_tx_ctx ctx;
	uint32_t next;
	bool ok;

	rng_state = 0x5eed;
	if (!ctx_first(s, &ctx))
		return false;
	ok = !run(s, &ctx, scratch, first, mid - first, NULL);
	for (int iter = 0; ok && iter < 20000; iter++) {
		size_t off = rng_range(0, mid - 1);
		size_t len = rng_range(1, mid - off);
		const struct rec *r = rec_at(s, off < first ? first : off);
		struct tls_tx_resync rs;
		int ret;

		/* Mostly plausible info with one thing wrong, or noise. */
		rs.rec_tcp_seq = seq_of(r->off);
		rs.rec_seq = r->num;
		switch (rng() % 6) {
		case 0:
			rs.rec_tcp_seq = (uint32_t)rng();
			break;
		case 1:
			rs.rec_seq = rng() % 3 ? r->num + rng() % 5 - 2 : rng();
			break;
		case 2:
			rs.rec_tcp_seq += (uint32_t)(rng() % 64) - 32;
			break;
		default:
			break;
		}
		rs.dump_len = rng() % 2 ? 0 : rng_range(0, sizeof(dump));
		if (rng() % 2 && off >= r->off && off - r->off <= sizeof(dump))
			rs.dump_len = off - r->off;
		for (size_t i = 0; i < rs.dump_len; i++)
			dump[i] = rng() % 2 ? (uint8_t)rng() :
				  s->plain[(r->off + i) % s->len];
		rs.dump = dump;
		memcpy(junk + off, s->plain + off, len);
		for (int k = (int)(rng() % 4); k > 0; k--)
			junk[off + rng() % len] = (uint8_t)rng();
		ret = tls_tx_process(&ctx, seq_of(off), junk + off, len,
				     rng() % 8 ? &rs : NULL);
		if (ret >= 0 && (ret & TLS_TX_R_REBASED)) {
			diag("old data moved the in-order state: %zu+%zu", off,
			     len);
			ok = false;
		}
		if (ret >= 0)
			accepted++;
		else
			refused++;
	}
	diag("%s: %u accepted, %u refused", s->name, accepted, refused);
	ok = ok && tls_tx_next_seq(&ctx, &next) && next == seq_of(mid) &&
	     !run(s, &ctx, scratch, mid, s->len - mid, NULL) &&
	     same("in order after garbage", scratch + first, s->wire + first,
		  s->len - first, first);
	tls_tx_destroy(&ctx);
	return ok;
}

/* Resync info that contradicts what the engine has seen. */
struct bad_claim {
	const char *what;
	size_t frame;		/* stream offset of a 100-byte frame */
	size_t start;		/* claimed record start */
	uint64_t num;		/* claimed record number */
};

/* @b is refused (-EILSEQ) and the frame's bytes are left as they were. */
static bool claim_refused(struct suite *s, struct tls_tx_ctx *ctx,
			  const struct bad_claim *b, uint8_t *junk)
{
	struct tls_tx_resync rs;
	bool ok;

	resync_for(s, b->frame, false, &rs);
	rs.rec_tcp_seq = seq_of(b->start);
	rs.rec_seq = b->num;
	memcpy(junk, s->plain + b->frame, 100);
	ok = expect_ret(b->what, tls_tx_process(ctx, seq_of(b->frame), junk,
						100, &rs), -EILSEQ);
	return same(b->what, junk, s->plain + b->frame, 100, b->frame) && ok;
}

/*
 * Invariant 8: resync info that contradicts the records the engine has
 * seen would encrypt other bytes with keystream already on the wire (the
 * keystream depends on the record number and the offset in the record
 * only). Each contradiction is refused, nothing is written, and the
 * in-order stream goes on right; right info for the same frames works.
 */
static bool test_resync_conflict(struct suite *s)
{
	static uint8_t junk[STREAM_MAX];
	const struct rec *r5 = &s->recs[5], *r7 = &s->recs[7];
	const struct rec *r8 = &s->recs[8];	/* not seen: after the gap */
	/* Records 0..4 seen before the gap. */
	size_t first = s->recs[0].off, sent = r5->off;
	const struct bad_claim bad[] = {
		{ "known number, later start", r7->off + 5000, r7->off + 16,
		  r7->num },
		{ "known number, earlier start", r7->off + 5000, r7->off - 32,
		  r7->num },
		{ "known start, next number", r7->off + 5000, r7->off,
		  r7->num + 1 },
		{ "known start, previous number", r7->off + 5000, r7->off,
		  r7->num - 1 },
		{ "start inside a known record, new number", r7->off + 5000,
		  r7->off + 100, s->recs[s->nrecs - 1].num + 1 },
		{ "not where the record before it ends", r5->off + 100,
		  r5->off + 1, r5->num },
		{ "gap too short for the records between", r8->off + 500,
		  r8->off, r8->num + 1000 },
		{ "gap too long for the records between", r8->off + 500,
		  r8->off, r5->num + 1 },
	};
	struct tls_tx_resync rs;
	struct tls_tx_ctx ctx;
	uint32_t next;
	bool ok = true;

	if (r7->len != 16384 + 29 || r8->off + 600 > s->len)
		return false;

	/* Records 0..7 seen in order, then retransmissions of record 7. */
	if (!ctx_first(s, &ctx))
		return false;
	ok &= expect_ret("in order", run(s, &ctx, scratch, first,
					 r8->off - first, NULL), 0);
	for (size_t i = 0; i < 5; i++)
		ok &= claim_refused(s, &ctx, &bad[i], junk);
	/* The right info for the same frame. */
	resync_for(s, r7->off + 5000, false, &rs);
	ok &= expect_ret("right info", run(s, &ctx, junk, r7->off + 5000, 100,
					   &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED);
	ok &= same("right info", junk + r7->off + 5000,
		   s->wire + r7->off + 5000, 100, r7->off + 5000);
	resync_for(s, r7->off + r7->len - 8, true, &rs);
	ok &= expect_ret("right info, dump", run(s, &ctx, junk,
			 r7->off + r7->len - 8, 8, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED | TLS_TX_R_DUMP);
	ok &= same("right info, dump", junk + r7->off + r7->len - 8,
		   s->wire + r7->off + r7->len - 8, 8, r7->off + r7->len - 8);
	ok &= tls_tx_next_seq(&ctx, &next) && next == seq_of(r8->off);
	ok &= expect_ret("rest in order", run(s, &ctx, scratch, r8->off,
					      s->len - r8->off, NULL), 0);
	ok &= same("after conflicts", scratch + first, s->wire + first,
		   s->len - first, first);
	tls_tx_destroy(&ctx);

	/* Records 0..4 seen, then frames after a gap (they would rebase). */
	if (!ctx_first(s, &ctx))
		return false;
	ok &= expect_ret("up to the gap", run(s, &ctx, scratch, first,
					      sent - first, NULL), 0);
	for (size_t i = 5; i < ARRAY_SIZE(bad); i++) {
		ok &= claim_refused(s, &ctx, &bad[i], junk);
		ok &= tls_tx_next_seq(&ctx, &next) && next == seq_of(sent);
	}
	/* The driver's real info after the gap: accepted, OpenSSL's bytes. */
	resync_for(s, r8->off + 500, true, &rs);
	ok &= expect_ret("after the gap, right info", run(s, &ctx, scratch,
			 r8->off + 500, s->len - r8->off - 500, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_DUMP | TLS_TX_R_REBASED);
	ok &= same("after the gap", scratch + r8->off + 500,
		   s->wire + r8->off + 500, s->len - r8->off - 500,
		   r8->off + 500);
	tls_tx_destroy(&ctx);
	return ok;
}

/*
 * Random resync info, mostly wrong by a little, for retransmissions of the
 * real plaintext (with the real record bytes as dump when one is given):
 * whatever the engine accepts must come out as OpenSSL's bytes. Wrong info
 * that were used would encrypt the bytes with another position's keystream
 * and show up here as a difference.
 */
static bool test_wrong_info_never_used(struct suite *s)
{
	static uint8_t buf[STREAM_MAX];
	size_t first = s->recs[0].off, mid = s->recs[8].off + 100;
	unsigned int right = 0, wrong_refused = 0, other = 0;
	struct tls_tx_ctx ctx;
	uint32_t next;
	bool ok;

	rng_state = 0x77aa;
	if (!ctx_first(s, &ctx))
		return false;
	ok = !run(s, &ctx, scratch, first, mid - first, NULL);
	for (int iter = 0; ok && iter < 20000; iter++) {
		size_t off = rng_range(first, mid - 1);
		size_t len = rng_range(1, mid - off < 3 * MSS ? mid - off : 3 * MSS);
		const struct rec *r = rec_at(s, off);
		const struct rec *o = &s->recs[rng() % 9];
		size_t start = r->off;
		uint64_t num = r->num;
		struct tls_tx_resync rs;
		bool correct;
		int ret;

		switch (rng() % 5) {
		case 0:		/* start off by a little */
			start += rng_range(0, 128) - 64;
			break;
		case 1:		/* number off by a little */
			num += rng_range(0, 6) - 3;
			break;
		case 2:		/* another record's start and number */
			start = o->off;
			num = o->num;
			break;
		case 3:		/* another record's start, this number */
			start = o->off;
			break;
		default:
			break;
		}
		correct = start == r->off && num == r->num;
		if (start > off || start < first) {
			other++;
			continue;
		}
		rs.rec_tcp_seq = seq_of(start);
		rs.rec_seq = num;
		rs.dump = NULL;
		rs.dump_len = 0;
		if (rng() % 2 && off > start) {
			rs.dump = s->plain + start;
			rs.dump_len = off - start;
		}
		memcpy(buf + off, s->plain + off, len);
		ret = tls_tx_process(&ctx, seq_of(off), buf + off, len, &rs);
		if (ret >= 0 && memcmp(buf + off, s->wire + off, len)) {
			diag("iter %d: %zu+%zu, record at %zu #%llu said to be at %zu #%llu: accepted (%d), wrong bytes",
			     iter, off, len, r->off, (unsigned long long)r->num,
			     start, (unsigned long long)num, ret);
			ok = false;
		}
		if (correct && ret < 0 && (rs.dump_len || !has_tag(s, off, len))) {
			diag("iter %d: right info refused: %d", iter, ret);
			ok = false;
		}
		if (correct)
			right++;
		else if (ret < 0)
			wrong_refused++;
	}
	diag("%s: %u right, %u wrong refused, %u not tried", s->name, right,
	     wrong_refused, other);
	ok = ok && tls_tx_next_seq(&ctx, &next) && next == seq_of(mid) &&
	     !run(s, &ctx, scratch, mid, s->len - mid, NULL) &&
	     same("in order after", scratch + first, s->wire + first,
		  s->len - first, first);
	tls_tx_destroy(&ctx);
	return ok;
}

/* ---- tests without OpenSSL streams ------------------------------------- */

/* A record with no plaintext (tag only), against one-shot EVP. */
static bool test_empty_record(void)
{
	struct suite *s = &suites[0];
	uint8_t rec[29], exp[29], tag[16];
	bool ok = true;

	memcpy(rec, "\x17\x03\x03\x00\x18\x00\x00\x00\x00\x00\x00\x01\x00", 13);
	memset(rec + 13, 0xa5, 16);
	memcpy(exp, rec, 13);
	if (!s->ready || !gcm_oneshot(s, true, rec, 7, NULL, 0, exp + 13, tag))
		return false;
	memcpy(exp + 13, tag, 16);

	for (size_t k = 0; k <= sizeof(rec); k++) {
		struct tls_tx_params p = { .cipher = s->cipher, .rec_seq = 7,
					   .tcp_seq = 1000 };
		struct tls_tx_ctx ctx;
		uint8_t buf[29];

		memcpy(p.key, s->key, s->key_len);
		memcpy(p.salt, s->salt, 4);
		memcpy(p.iv, rec + 5, 8);
		memcpy(buf, rec, sizeof(buf));
		if (tls_tx_init(&ctx, &p))
			return false;
		ok &= expect_ret("first part", tls_tx_process(&ctx, 1000, buf, k,
				 NULL), k ? 0 : TLS_TX_R_BYPASS);
		ok &= expect_ret("second part", tls_tx_process(&ctx,
				 1000 + (uint32_t)k, buf + k, sizeof(buf) - k,
				 NULL), k == sizeof(buf) ? TLS_TX_R_BYPASS : 0);
		ok &= same("empty record", buf, exp, sizeof(buf), 0);
		tls_tx_destroy(&ctx);
	}
	return ok;
}

/* tls_tx_init_from_create() reads a CTX_CREATE body like tls_tx_init(). */
static bool test_init_from_create(void)
{
	struct suite *s = &suites[1];
	const struct rec *r = &s->recs[4];
	struct tlsnic_ctx_create cc;
	struct tls_tx_ctx ctx;
	bool ok = true;

	memset(&cc, 0, sizeof(cc));
	cc.dir = TLSNIC_DIR_TX;
	cc.tls_version = TLSNIC_TLS_1_2;
	cc.cipher = TLSNIC_CIPHER_AES_GCM_256;
	cc.family = 4;
	memcpy(cc.key, s->key, 32);
	memcpy(cc.salt, s->salt, 4);
	memcpy(cc.iv, s->plain + r->off + 5, 8);
	for (int i = 0; i < 8; i++)
		cc.rec_seq[i] = (uint8_t)(r->num >> (56 - 8 * i));
	cc.tcp_seq = htole32(seq_of(r->off));

	if (!s->ready || tls_tx_init_from_create(&ctx, &cc))
		return false;
	ok &= expect_ret("record", run(s, &ctx, scratch, r->off, r->len, NULL),
			 0);
	ok &= same("from create", scratch + r->off, s->wire + r->off, r->len,
		   r->off);
	tls_tx_destroy(&ctx);

	cc.dir = TLSNIC_DIR_RX;
	ok &= expect_ret("rx dir", tls_tx_init_from_create(&ctx, &cc),
			 -EOPNOTSUPP);
	cc.dir = TLSNIC_DIR_TX;
	cc.tls_version = TLSNIC_TLS_1_3;
	ok &= expect_ret("tls 1.3", tls_tx_init_from_create(&ctx, &cc),
			 -EOPNOTSUPP);
	cc.tls_version = TLSNIC_TLS_1_2;
	cc.cipher = 7;
	ok &= expect_ret("cipher 7", tls_tx_init_from_create(&ctx, &cc),
			 -EOPNOTSUPP);
	OPENSSL_cleanse(&cc, sizeof(cc));
	return ok;
}

/*
 * Key wiping. OpenSSL's allocator is hooked: while armed, every block is
 * tracked and every freed block scanned for the key. The key must show up
 * in live blocks (the key schedules, which start with the raw key) and in
 * no block freed by destroy; the struct itself must be wiped.
 */
#define TRACK_MAX	128
static struct {
	bool armed;
	uint8_t pattern[16];
	unsigned int freed_hits;
	void *live[TRACK_MAX];
	unsigned int nlive;
} mem;

#define MEM_HDR 16

static bool block_has_key(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + sizeof(mem.pattern) <= n; i++)
		if (!memcmp(p + i, mem.pattern, sizeof(mem.pattern)))
			return true;
	return false;
}

static void *mem_malloc(size_t n, const char *file, int line)
{
	uint8_t *p = malloc(n + MEM_HDR);

	(void)file;
	(void)line;
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	if (mem.armed && mem.nlive < TRACK_MAX)
		mem.live[mem.nlive++] = p + MEM_HDR;
	return p + MEM_HDR;
}

static void mem_free(void *ptr, const char *file, int line)
{
	uint8_t *p = ptr;
	size_t n;

	(void)file;
	(void)line;
	if (!p)
		return;
	memcpy(&n, p - MEM_HDR, sizeof(n));
	if (mem.armed) {
		if (block_has_key(p, n))
			mem.freed_hits++;
		for (unsigned int i = 0; i < mem.nlive; i++)
			if (mem.live[i] == p)
				mem.live[i] = mem.live[--mem.nlive];
	}
	free(p - MEM_HDR);
}

/* Move and scan, so that a block moved by realloc is checked too. */
static void *mem_realloc(void *ptr, size_t n, const char *file, int line)
{
	uint8_t *np;
	size_t old;

	if (!ptr)
		return mem_malloc(n, file, line);
	np = mem_malloc(n, file, line);
	if (!np)
		return NULL;
	memcpy(&old, (uint8_t *)ptr - MEM_HDR, sizeof(old));
	memcpy(np, ptr, old < n ? old : n);
	mem_free(ptr, file, line);
	return np;
}

static bool test_keys_wiped(void)
{
	static const uint8_t zero[sizeof(struct tls_tx_ctx)];
	struct tls_tx_params p = { .cipher = TLS_TX_AES_GCM_256,
				   .tcp_seq = 1 };
	struct tls_tx_ctx ctx;
	uint8_t rec[13 + 100 + 16] = "\x17\x03\x03\x00\x7c";
	unsigned int live_hits = 0;
	uint8_t *probe;
	bool ok = true;

	if (RAND_bytes(p.key, 32) != 1 || RAND_bytes(p.salt, 4) != 1)
		return false;
	memcpy(mem.pattern, p.key, sizeof(mem.pattern));

	/* The scanner must see a key in a freed block. */
	mem.armed = true;
	mem.freed_hits = 0;
	probe = OPENSSL_malloc(64);
	if (!probe)
		return false;
	memcpy(probe + 7, p.key, 32);
	OPENSSL_free(probe);
	if (mem.freed_hits != 1) {
		diag("scanner missed a key in a freed block");
		ok = false;
	}

	mem.freed_hits = 0;
	mem.nlive = 0;
	if (tls_tx_init(&ctx, &p)) {
		mem.armed = false;
		return false;
	}
	OPENSSL_cleanse(&p, sizeof(p));
	ok &= !block_has_key((const uint8_t *)&ctx, sizeof(ctx));
	ok &= expect_ret("record", tls_tx_process(&ctx, 1, rec, sizeof(rec),
						  NULL), 0);
	for (unsigned int i = 0; i < mem.nlive; i++) {
		size_t n;

		memcpy(&n, (uint8_t *)mem.live[i] - MEM_HDR, sizeof(n));
		live_hits += block_has_key(mem.live[i], n);
	}
	/* Two GCM key schedules and one CTR: the scan would notice them. */
	if (live_hits < 3) {
		diag("key schedules not found in live blocks (%u)", live_hits);
		ok = false;
	}
	tls_tx_destroy(&ctx);
	mem.armed = false;
	if (mem.freed_hits) {
		diag("%u freed blocks still held the key", mem.freed_hits);
		ok = false;
	}
	if (memcmp(&ctx, zero, sizeof(ctx))) {
		diag("context not wiped");
		ok = false;
	}
	OPENSSL_cleanse(mem.pattern, sizeof(mem.pattern));
	return ok;
}

/*
 * A retransmitted old header must not evict a newer record from the
 * history: more records than TLS_TX_HISTORY, then records 2..4 again
 * (their slots are those of records 66..68), then resync info that puts
 * record 67 7 bytes late. Its neighbours 65 and 69 alone would allow that
 * (one record of 136 bytes before it, two of 251 after), so only the
 * history entries of 66..68 can refuse it. Retransmissions, sparse and
 * with the dump, of old and recent records stay equal to one-shot EVP.
 */
#define HIST_NREC	(TLS_TX_HISTORY + 16)
#define HIST_ISN	0xfffff000U
#define HIST_REC0	1000

static size_t hist_plain_len(unsigned int i)
{
	return 50 + (i * 37) % 200;
}

static bool test_history_kept(void)
{
	static uint8_t plain[HIST_NREC * 300], wire[HIST_NREC * 300],
		       buf[HIST_NREC * 300];
	const struct suite *s = &suites[0];
	struct tls_tx_params p = { .cipher = s->cipher, .rec_seq = HIST_REC0,
				   .tcp_seq = HIST_ISN };
	size_t off[HIST_NREC + 1], len;
	struct tls_tx_resync rs;
	struct tls_tx_ctx ctx;
	bool ok = s->ready;
	unsigned int i;
	uint32_t next;

	/* Records in plaintext form, and their encryption by one-shot EVP. */
	off[0] = 0;
	for (i = 0; ok && i < HIST_NREC; i++) {
		uint8_t *r = plain + off[i];
		size_t plen = hist_plain_len(i);

		r[0] = 23;
		r[1] = 3;
		r[2] = 3;
		r[3] = (uint8_t)((plen + 24) >> 8);
		r[4] = (uint8_t)(plen + 24);
		for (int k = 0; k < 8; k++)
			r[5 + k] = (uint8_t)((0x1122334455667700ULL + i) >>
					     (56 - 8 * k));
		for (size_t k = 0; k < plen; k++)
			r[13 + k] = (uint8_t)(i * 7 + k);
		memset(r + 13 + plen, 0xa5, 16);
		memcpy(wire + off[i], r, 13);
		ok = gcm_oneshot(s, true, r, HIST_REC0 + i, r + 13, plen,
				 wire + off[i] + 13, wire + off[i] + 13 + plen);
		off[i + 1] = off[i] + 13 + plen + 16;
	}
	len = off[HIST_NREC];
	if (!ok)
		return false;
	memcpy(p.key, s->key, s->key_len);
	memcpy(p.salt, s->salt, 4);
	memcpy(p.iv, plain + 5, 8);
	if (tls_tx_init(&ctx, &p))
		return false;
	memcpy(buf, plain, len);
	ok &= expect_ret("in order", tls_tx_process(&ctx, HIST_ISN, buf, len,
						    NULL), 0);
	ok &= same("in order", buf, wire, len, 0);

	/* Records 2..4 retransmitted whole, header included. */
	rs.rec_tcp_seq = HIST_ISN + (uint32_t)off[2];
	rs.rec_seq = HIST_REC0 + 2;
	rs.dump = NULL;
	rs.dump_len = 0;
	memcpy(buf, plain + off[2], off[5] - off[2]);
	ok &= expect_ret("records 2..4 again", tls_tx_process(&ctx,
			 rs.rec_tcp_seq, buf, off[5] - off[2], &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED);
	ok &= same("records 2..4 again", buf, wire + off[2], off[5] - off[2],
		   off[2]);

	/* Record 67 said to start 7 bytes late. */
	rs.rec_tcp_seq = HIST_ISN + (uint32_t)off[67] + 7;
	rs.rec_seq = HIST_REC0 + 67;
	memcpy(buf, plain + off[67] + 30, 20);
	ok &= expect_ret("record 67 moved", tls_tx_process(&ctx,
			 HIST_ISN + (uint32_t)off[67] + 30, buf, 20, &rs),
			 -EILSEQ);
	ok &= same("record 67 moved", buf, plain + off[67] + 30, 20, 0);

	/* The right info: sparse for 67 and 3, with the dump for 3's tag. */
	rs.rec_tcp_seq = HIST_ISN + (uint32_t)off[67];
	memcpy(buf, plain + off[67] + 30, 20);
	ok &= expect_ret("record 67", tls_tx_process(&ctx,
			 HIST_ISN + (uint32_t)off[67] + 30, buf, 20, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED);
	ok &= same("record 67", buf, wire + off[67] + 30, 20, 0);
	rs.rec_tcp_seq = HIST_ISN + (uint32_t)off[3];
	rs.rec_seq = HIST_REC0 + 3;
	memcpy(buf, plain + off[3] + 20, 30);
	ok &= expect_ret("record 3, sparse", tls_tx_process(&ctx,
			 HIST_ISN + (uint32_t)off[3] + 20, buf, 30, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED);
	ok &= same("record 3, sparse", buf, wire + off[3] + 20, 30, 0);
	rs.dump = plain + off[3];
	rs.dump_len = off[4] - 10 - off[3];
	memcpy(buf, plain + off[4] - 10, 10);
	ok &= expect_ret("record 3, tag with dump", tls_tx_process(&ctx,
			 HIST_ISN + (uint32_t)off[4] - 10, buf, 10, &rs),
			 TLS_TX_R_OOO | TLS_TX_R_PRESERVED | TLS_TX_R_DUMP);
	ok &= same("record 3, tag with dump", buf, wire + off[4] - 10, 10, 0);
	ok &= tls_tx_next_seq(&ctx, &next) && next == HIST_ISN + (uint32_t)len;
	tls_tx_destroy(&ctx);
	return ok;
}

/* CPU time, like openssl speed: the build machine is shared. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Engine throughput: 64 MiB of 16 KiB records in 64 KiB (TSO-sized)
 * frames, next to plain EVP AES-GCM on the same buffer for scale, then
 * retransmission rates. No time limit is asserted; the last record must
 * authenticate with one-shot EVP and retransmissions match it.
 */
static bool test_throughput(void)
{
	enum { REC_PLAIN = 16384, REC = REC_PLAIN + 29, NREC = 4096,
	       FRAME = 65536, NRTX = 20000 };
	struct suite *s = &suites[0];
	size_t total = (size_t)REC * NREC, off;
	struct tls_tx_params p = { .cipher = s->cipher, .tcp_seq = 77 };
	uint8_t *buf = malloc(total), *last = malloc(REC);
	EVP_CIPHER_CTX *evp = EVP_CIPHER_CTX_new();
	double t0, t_engine, t_evp, t_sparse, t_dump;
	uint8_t tag[16], out[REC_PLAIN + 16], seg[MSS];
	struct tls_tx_resync rs;
	struct tls_tx_ctx ctx;
	bool ok = buf && last && evp && s->ready;
	int outl;

	if (!ok)
		goto out;
	memcpy(p.key, s->key, s->key_len);
	memcpy(p.salt, s->salt, 4);
	for (uint64_t n = 0; n < NREC; n++) {
		uint8_t *r = buf + n * REC;

		memcpy(r, "\x17\x03\x03", 3);
		r[3] = (REC - 5) >> 8;
		r[4] = (REC - 5) & 0xff;
		for (int i = 0; i < 8; i++)
			r[5 + i] = (uint8_t)(n >> (56 - 8 * i));
		memset(r + 13, (int)n, REC_PLAIN + 16);
	}
	memcpy(last, buf + (NREC - 1) * REC, REC);
	if (tls_tx_init(&ctx, &p)) {
		ok = false;
		goto out;
	}
	t0 = now_s();
	for (off = 0; off < total && ok; off += FRAME) {
		size_t len = total - off < FRAME ? total - off : FRAME;

		ok = !tls_tx_process(&ctx, 77 + (uint32_t)off, buf + off, len,
				     NULL);
	}
	t_engine = now_s() - t0;

	/*
	 * Retransmissions of MSS-sized pieces of the last record: sparse
	 * (no tag byte) and tail ones with the dump, both checked against
	 * what the in-order pass wrote.
	 */
	rs.rec_tcp_seq = 77 + (uint32_t)((NREC - 1) * REC);
	rs.rec_seq = NREC - 1;
	t0 = now_s();
	for (int i = 0; i < NRTX && ok; i++) {
		size_t at = 13 + (size_t)i * 7 % (REC_PLAIN - MSS);

		memcpy(seg, last + at, MSS);
		rs.dump = NULL;
		rs.dump_len = 0;
		ok = tls_tx_process(&ctx, rs.rec_tcp_seq + (uint32_t)at, seg,
				    MSS, &rs) >= 0 &&
		     !memcmp(seg, buf + (NREC - 1) * REC + at, MSS);
	}
	t_sparse = now_s() - t0;
	t0 = now_s();
	for (int i = 0; i < NRTX / 10 && ok; i++) {
		size_t at = REC - MSS;

		memcpy(seg, last + at, MSS);
		rs.dump = last;
		rs.dump_len = at;
		ok = tls_tx_process(&ctx, rs.rec_tcp_seq + (uint32_t)at, seg,
				    MSS, &rs) >= 0 &&
		     !memcmp(seg, buf + (NREC - 1) * REC + at, MSS);
	}
	t_dump = now_s() - t0;
	tls_tx_destroy(&ctx);

	/* Reference: one-shot EVP per record, in place over the same buffer. */
	memcpy(out, buf + (NREC - 1) * REC + 13, REC_PLAIN + 16);
	t0 = now_s();
	EVP_EncryptInit_ex(evp, EVP_aes_128_gcm(), NULL, s->key, NULL);
	for (int n = 0; n < NREC; n++) {
		uint8_t iv[12] = { 0 }, *r = buf + (size_t)n * REC;

		EVP_EncryptInit_ex(evp, NULL, NULL, NULL, iv);
		EVP_EncryptUpdate(evp, NULL, &outl, r, 13);
		EVP_EncryptUpdate(evp, r + 13, &outl, r + 13, REC_PLAIN);
		EVP_EncryptFinal_ex(evp, tag, &outl);
		EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_GCM_GET_TAG, 16, r + 13 + REC_PLAIN);
	}
	t_evp = now_s() - t0;
	memcpy(buf + (NREC - 1) * REC + 13, out, REC_PLAIN + 16);

	/* Check the last record decrypts and authenticates. */
	ok = ok && gcm_oneshot(s, false, last, NREC - 1,
			       buf + (NREC - 1) * REC + 13, REC_PLAIN, out,
			       buf + (NREC - 1) * REC + 13 + REC_PLAIN) &&
	     !memcmp(out, last + 13, REC_PLAIN);
	diag("engine AES-128-GCM in-order: %.0f MB/s per CPU s (64 KiB frames, 16 KiB records)",
	     (double)total / t_engine / 1e6);
	diag("plain EVP AES-128-GCM, same records: %.0f MB/s per CPU s",
	     (double)NREC * REC_PLAIN / t_evp / 1e6);
	diag("sparse retransmission (%d B, no dump): %.0f MB/s, %.0f k/s",
	     MSS, (double)NRTX * MSS / t_sparse / 1e6, NRTX / t_sparse / 1e3);
	diag("tail retransmission (%d B + %d B dump): %.0f k/s",
	     MSS, REC - MSS, NRTX / 10 / t_dump / 1e3);
out:
	free(buf);
	free(last);
	EVP_CIPHER_CTX_free(evp);
	return ok;
}

/* ---- runner ------------------------------------------------------------ */

struct suite_test {
	const char *name;
	bool (*fn)(struct suite *s);
};

static const struct suite_test suite_tests[] = {
	{ "openssl_records_authenticate", test_records_authenticate },
	{ "in_order_one_frame", test_in_order_one_frame },
	{ "every_two_segment_split", test_every_two_segment_split },
	{ "random_multi_segment_splits", test_random_multi_segment },
	{ "retransmit_every_offset", test_retransmit_every_offset },
	{ "in_order_after_retransmit", test_in_order_after_retransmit },
	{ "gap_rebase", test_gap_rebase },
	{ "missing_sync_data", test_missing_sync_data },
	{ "bad_header", test_bad_header },
	{ "pre_offload_bypass", test_pre_offload_bypass },
	{ "garbage_retransmissions", test_garbage_retransmissions },
	{ "resync_conflict_refused", test_resync_conflict },
	{ "wrong_info_never_used", test_wrong_info_never_used },
};

/*
 * One in-order stream past 2^31 and 2^32 bytes of offloaded data, records
 * of 16 KiB, each record one frame. Records within LONG_CHECK of either
 * point are authenticated by OpenSSL's AES-GCM (EVP decrypt with the tag);
 * around each point a record already sent is retransmitted with resync
 * info and must come out identical while the in-order state is kept.
 */
#define LONG_PLAIN	16384
#define LONG_REC	(TLS_TX_PREPEND_LEN + LONG_PLAIN + TLS_TX_TAG_LEN)
#define LONG_CHECK	(256 * 1024)
#define LONG_ISN	0x89abcdefU

static const uint8_t long_key[16] = "0123456789abcdef";
static const uint8_t long_salt[4] = { 1, 2, 3, 4 };
static const uint8_t long_iv[8] = { 0, 0, 0, 0, 0, 0, 0x10, 0 };

static void long_record(uint8_t *rec, uint64_t n)
{
	uint64_t nonce = htobe64(be64toh(*(const uint64_t *)long_iv) + n);

	rec[0] = 23;
	rec[1] = 3;
	rec[2] = 3;
	rec[3] = (LONG_REC - TLS_TX_HDR_LEN) >> 8;
	rec[4] = (uint8_t)(LONG_REC - TLS_TX_HDR_LEN);
	memcpy(rec + TLS_TX_HDR_LEN, &nonce, 8);
	memset(rec + TLS_TX_PREPEND_LEN, (int)(n & 0xff), LONG_PLAIN);
	memcpy(rec + TLS_TX_PREPEND_LEN, &n, sizeof(n));
	memset(rec + LONG_REC - TLS_TX_TAG_LEN, 0, TLS_TX_TAG_LEN);
}

/* OpenSSL authenticates the @n-th record (number @rec_seq); plaintext must match. */
static bool long_verify(const uint8_t *rec, uint64_t n, uint64_t rec_seq)
{
	uint8_t iv[12], aad[13], plain[LONG_PLAIN], want[LONG_REC];
	uint64_t be = htobe64(rec_seq);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl, ok;

	memcpy(iv, long_salt, 4);
	memcpy(iv + 4, rec + TLS_TX_HDR_LEN, 8);
	memcpy(aad, &be, 8);
	memcpy(aad + 8, rec, 3);
	aad[11] = LONG_PLAIN >> 8;
	aad[12] = (uint8_t)LONG_PLAIN;
	ok = c && EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, long_key, iv) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &outl, aad, sizeof(aad)) == 1 &&
	     EVP_DecryptUpdate(c, plain, &outl, rec + TLS_TX_PREPEND_LEN,
			       LONG_PLAIN) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TLS_TX_TAG_LEN,
				 (void *)(rec + LONG_REC - TLS_TX_TAG_LEN)) == 1 &&
	     EVP_DecryptFinal_ex(c, plain + outl, &outl) == 1;
	EVP_CIPHER_CTX_free(c);
	long_record(want, n);
	if (!ok) {
		diag("record %llu does not authenticate", (unsigned long long)n);
		return false;
	}
	return same("record plaintext", plain, want + TLS_TX_PREPEND_LEN,
		    LONG_PLAIN, 0);
}

static bool test_stream_past_4g(void)
{
	static uint8_t rec[LONG_REC], again[LONG_REC], first[LONG_REC];
	const uint64_t marks[] = { 1ULL << 31, 1ULL << 32 };
	const uint64_t total = (1ULL << 32) + 2 * LONG_CHECK;
	struct tls_tx_params p = { .cipher = TLS_TX_AES_GCM_128,
				   .rec_seq = 7, .tcp_seq = LONG_ISN };
	struct tls_tx_resync rs = { 0 };
	struct tls_tx_ctx ctx;
	unsigned int checked = 0, retrans = 0;
	bool ok = true;
	uint64_t n, off;

	memcpy(p.key, long_key, sizeof(long_key));
	memcpy(p.salt, long_salt, sizeof(long_salt));
	memcpy(p.iv, long_iv, sizeof(long_iv));
	if (tls_tx_init(&ctx, &p))
		return false;

	for (n = 0, off = 0; ok && off < total; n++, off += LONG_REC) {
		uint32_t seq = LONG_ISN + (uint32_t)off;
		bool near = false;
		int ret;

		for (size_t i = 0; i < ARRAY_SIZE(marks); i++)
			near |= off + LONG_CHECK > marks[i] &&
				off < marks[i] + LONG_CHECK;
		long_record(rec, n);
		ret = tls_tx_process(&ctx, seq, rec, LONG_REC, NULL);
		if (ret != 0) {
			diag("record %llu at stream offset %llu: ret %d",
			     (unsigned long long)n, (unsigned long long)off, ret);
			ok = false;
			break;
		}
		if (!near)
			continue;
		ok = long_verify(rec, n, n + 7);
		checked++;
		if (!(off >= marks[0] && off < marks[0] + LONG_REC) &&
		    !(off >= marks[1] && off < marks[1] + LONG_REC))
			continue;
		/* The first record past a mark: retransmit it at once. */
		memcpy(first, rec, LONG_REC);
		long_record(again, n);
		rs.rec_tcp_seq = seq;
		rs.rec_seq = n + 7;
		ret = tls_tx_process(&ctx, seq, again, LONG_REC, &rs);
		ok = ok && expect_ret("retransmission past the mark", ret,
				      TLS_TX_R_OOO | TLS_TX_R_PRESERVED) &&
		     same("retransmitted record", again, first, LONG_REC, 0);
		retrans++;
	}
	tls_tx_destroy(&ctx);
	if (ok && (checked < 2 * (LONG_CHECK / LONG_REC) || retrans != 2)) {
		diag("checked %u records, %u retransmissions", checked, retrans);
		ok = false;
	}
	return ok;
}

/*
 * The kernel sends whatever content type an application asks for
 * (TLS_SET_RECORD_TYPE): every type byte is encrypted, the type in the AAD.
 */
static bool test_any_record_type(void)
{
	static uint8_t rec[LONG_REC];
	struct tls_tx_params p = { .cipher = TLS_TX_AES_GCM_128,
				   .rec_seq = 3, .tcp_seq = LONG_ISN };
	bool ok = true;

	memcpy(p.key, long_key, sizeof(long_key));
	memcpy(p.salt, long_salt, sizeof(long_salt));
	memcpy(p.iv, long_iv, sizeof(long_iv));
	for (unsigned int type = 0; ok && type < 256; type++) {
		struct tls_tx_ctx ctx;
		int ret;

		if (tls_tx_init(&ctx, &p))
			return false;
		long_record(rec, 0);
		rec[0] = (uint8_t)type;
		ret = tls_tx_process(&ctx, LONG_ISN, rec, LONG_REC, NULL);
		tls_tx_destroy(&ctx);
		if (ret != 0) {
			diag("content type %u: ret %d", type, ret);
			return false;
		}
		ok = rec[0] == type && long_verify(rec, 0, 3);
	}
	return ok;
}

struct plain_test {
	const char *name;
	bool (*fn)(void);
};

static const struct plain_test plain_tests[] = {
	{ "empty_record", test_empty_record },
	{ "init_from_create", test_init_from_create },
	{ "keys_wiped_after_destroy", test_keys_wiped },
	{ "history_kept_from_old_headers", test_history_kept },
	{ "throughput", test_throughput },
	{ "stream_past_2g_and_4g", test_stream_past_4g },
	{ "any_record_type", test_any_record_type },
};

int main(void)
{
	unsigned int n = 0, failed = 0;

	/* Before OpenSSL allocates anything, for test_keys_wiped(). */
	if (!CRYPTO_set_mem_functions(mem_malloc, mem_realloc, mem_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
		return 1;
	}

	printf("TAP version 13\n");
	printf("1..%zu\n", ARRAY_SIZE(suites) * ARRAY_SIZE(suite_tests) +
	       ARRAY_SIZE(plain_tests));
	if (!make_server_identity()) {
		diag("cannot make a server key and certificate");
		openssl_diag();
	}
	for (size_t i = 0; i < ARRAY_SIZE(suites); i++)
		suites[i].ready = server_cert && setup_suite(&suites[i]);

	for (size_t i = 0; i < ARRAY_SIZE(suites); i++) {
		for (size_t t = 0; t < ARRAY_SIZE(suite_tests); t++) {
			bool ok = suites[i].ready &&
				  suite_tests[t].fn(&suites[i]);

			failed += !ok;
			printf("%sok %u - %s_%s\n", ok ? "" : "not ", ++n,
			       suite_tests[t].name, suites[i].name);
			fflush(stdout);
		}
	}
	for (size_t t = 0; t < ARRAY_SIZE(plain_tests); t++) {
		bool ok = plain_tests[t].fn();

		failed += !ok;
		printf("%sok %u - %s\n", ok ? "" : "not ", ++n,
		       plain_tests[t].name);
		fflush(stdout);
	}
	X509_free(server_cert);
	EVP_PKEY_free(server_key);
	diag("%u passed, %u failed", n - failed, failed);
	return failed ? 1 : 0;
}
