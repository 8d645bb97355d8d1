// SPDX-License-Identifier: GPL-2.0
/*
 * Keys leave no trace once a context is destroyed: after tls_rx_destroy()
 * and tls_tx_destroy(), the engine's context memory holds no byte of the
 * key, the GHASH key H = AES_K(0), the salt or the last record's nonce,
 * and every block the crypto library freed on the way (its cipher
 * contexts with their key schedules) was wiped before it went back to
 * the allocator. OpenSSL's allocations are routed through this test
 * (CRYPTO_set_mem_functions) so each block is inspected at free time.
 */
#include <endian.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "devsim_test.h"
#include "tls_rx.h"
#include "tls_tx.h"

#define REC_PLAIN	700
#define REC_LEN		(13 + REC_PLAIN + 16)
#define NREC		4
#define TCP_SEQ0	0xfffff000U
/* Windows this long are searched for: shorter runs match by chance. */
#define WINDOW		8

/* ---- OpenSSL's heap, watched --------------------------------------------- */

struct secrets {
	const uint8_t *p[4];
	size_t len[4];
	unsigned int n;
};

static struct {
	bool on;		/* inspect blocks when they are freed */
	struct secrets s;
	unsigned long freed;	/* blocks inspected */
	unsigned long dirty;	/* of those, holding a secret */
} watch;

/* Blocks carry their size in front; 16 bytes keep the alignment. */
#define HDR 16

static bool holds(const uint8_t *mem, size_t n, const struct secrets *s)
{
	for (unsigned int k = 0; k < s->n; k++)
		for (size_t o = 0; o + WINDOW <= s->len[k]; o++)
			for (size_t i = 0; i + WINDOW <= n; i++)
				if (!memcmp(mem + i, s->p[k] + o, WINDOW))
					return true;
	return false;
}

static void *watch_malloc(size_t n, const char *file, int line)
{
	uint8_t *b = malloc(HDR + n);

	(void)file;
	(void)line;
	if (!b)
		return NULL;
	memcpy(b, &n, sizeof(n));
	return b + HDR;
}

static void watch_free(void *p, const char *file, int line)
{
	uint8_t *b;
	size_t n;

	(void)file;
	(void)line;
	if (!p)
		return;
	b = (uint8_t *)p - HDR;
	memcpy(&n, b, sizeof(n));
	if (watch.on) {
		watch.freed++;
		if (holds(p, n, &watch.s))
			watch.dirty++;
	}
	free(b);
}

static void *watch_realloc(void *p, size_t n, const char *file, int line)
{
	uint8_t *q;
	size_t old;

	if (!p)
		return watch_malloc(n, file, line);
	if (!n) {
		watch_free(p, file, line);
		return NULL;
	}
	q = watch_malloc(n, file, line);
	if (!q)
		return NULL;
	memcpy(&old, (uint8_t *)p - HDR, sizeof(old));
	memcpy(q, p, old < n ? old : n);
	/* The old block goes back to the allocator: inspected like a free. */
	watch_free(p, file, line);
	return q;
}

/* ---- Records sealed by OpenSSL ------------------------------------------- */

struct stream {
	int key_len;
	uint8_t key[32], salt[4], iv[8];
	uint8_t h[16];			/* GHASH key: AES_K(0^128) */
	uint8_t last_nonce[8];
	uint8_t wire[NREC * REC_LEN];
};

static const EVP_CIPHER *gcm(int key_len)
{
	return key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

static bool stream_make(struct stream *s, int key_len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t zero[16] = { 0 };
	bool ok = c != NULL;
	int outl;

	s->key_len = key_len;
	test_fill_random(s->key, sizeof(s->key));
	test_fill_random(s->salt, sizeof(s->salt));
	test_fill_random(s->iv, sizeof(s->iv));
	/* H through ECB: the test's own context is freed before watching. */
	ok = ok && EVP_EncryptInit_ex(c, key_len == 16 ? EVP_aes_128_ecb() :
				      EVP_aes_256_ecb(), NULL, s->key, NULL) == 1 &&
	     EVP_EncryptUpdate(c, s->h, &outl, zero, 16) == 1;
	ok = ok && EVP_CIPHER_CTX_reset(c) == 1 &&
	     EVP_EncryptInit_ex(c, gcm(key_len), NULL, s->key, NULL) == 1;
	for (unsigned int i = 0; ok && i < NREC; i++) {
		uint8_t *r = s->wire + i * REC_LEN, iv[12], aad[13];
		uint64_t n, seq = htobe64(i);

		memcpy(&n, s->iv, 8);
		n = htobe64(be64toh(n) + i);
		memcpy(iv, s->salt, 4);
		memcpy(iv + 4, &n, 8);
		memcpy(s->last_nonce, &n, 8);
		r[0] = 23;
		r[1] = 3;
		r[2] = 3;
		ref_wr16(r + 3, REC_LEN - 5);
		memcpy(r + 5, &n, 8);
		test_fill_random(r + 13, REC_PLAIN);
		memcpy(aad, &seq, 8);
		memcpy(aad + 8, r, 3);
		ref_wr16(aad + 11, REC_PLAIN);
		ok = EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) == 1 &&
		     EVP_EncryptUpdate(c, NULL, &outl, aad, 13) == 1 &&
		     EVP_EncryptUpdate(c, r + 13, &outl, r + 13, REC_PLAIN) == 1 &&
		     EVP_EncryptFinal_ex(c, r + 13, &outl) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, r + 13 + REC_PLAIN) == 1;
	}
	EVP_CIPHER_CTX_free(c);
	return ok;
}

static void watch_start(const struct stream *s)
{
	watch.s = (struct secrets){
		.p = { s->key, s->h, s->salt, s->last_nonce },
		.len = { (size_t)s->key_len, 16, 4, 8 },
		.n = 4,
	};
	watch.freed = 0;
	watch.dirty = 0;
	watch.on = true;
}

/* ---- Tests ---------------------------------------------------------------- */

/*
 * The RX engine decrypts whole records (its cipher contexts then hold the
 * key schedule, H and the last record's IV), is destroyed, and leaves
 * nothing behind.
 */
static bool rx_engine_wiped(void)
{
	static struct tls_rx_ctx ctx;
	static struct stream s;

	for (int key_len = 16; key_len <= 32; key_len += 16) {
		struct tls_rx_params p = {
			.cipher = key_len == 16 ? TLS_REC_AES_GCM_128 : TLS_REC_AES_GCM_256,
			.rec_seq = 0,
			.tcp_seq = TCP_SEQ0,
		};
		struct tls_rx_result res;
		uint8_t seg[NREC * REC_LEN];
		unsigned long freed, dirty;

		CHECK(stream_make(&s, key_len), "sealing records");
		memcpy(p.key, s.key, sizeof(p.key));
		memcpy(p.salt, s.salt, sizeof(p.salt));
		memcpy(seg, s.wire, sizeof(seg));
		CHECK(!tls_rx_init(&ctx, &p), "tls_rx_init");
		explicit_bzero(&p, sizeof(p));
		CHECK(tls_rx_process(&ctx, TCP_SEQ0, seg, sizeof(seg), &res) >= 0 &&
		      res.decrypted && ctx.stats.records_ok == NREC,
		      "AES-%d: the records did not decrypt (%llu ok)", key_len * 8,
		      (unsigned long long)ctx.stats.records_ok);
		/* The engine's state held the secrets a moment ago: nonce, salt. */
		CHECK(holds((const uint8_t *)&ctx, sizeof(ctx), &(struct secrets){
			.p = { s.salt, s.last_nonce }, .len = { 4, 8 }, .n = 2 }),
		      "the live context holds neither salt nor nonce: nothing to check");

		watch_start(&s);
		tls_rx_destroy(&ctx);
		watch.on = false;
		freed = watch.freed;
		dirty = watch.dirty;
		CHECK(freed >= 2, "AES-%d: destroy freed %lu crypto blocks, expected the "
		      "cipher contexts", key_len * 8, freed);
		CHECK(!dirty, "AES-%d: %lu of %lu blocks freed by tls_rx_destroy() held key, "
		      "H, salt or nonce", key_len * 8, dirty, freed);
		CHECK(!holds((const uint8_t *)&ctx, sizeof(ctx), &watch.s),
		      "AES-%d: struct tls_rx_ctx holds a secret after destroy", key_len * 8);
		for (size_t i = 0; i < sizeof(ctx); i++)
			CHECK(!((const uint8_t *)&ctx)[i], "AES-%d: byte %zu of the destroyed "
			      "context is not wiped", key_len * 8, i);
	}
	return true;
}

/* The same for the TX engine, after it encrypted records. */
static bool tx_engine_wiped(void)
{
	static struct tls_tx_ctx ctx;
	static struct stream s;

	for (int key_len = 16; key_len <= 32; key_len += 16) {
		struct tls_tx_params p = {
			.cipher = key_len == 16 ? TLS_TX_AES_GCM_128 : TLS_TX_AES_GCM_256,
			.rec_seq = 0,
			.tcp_seq = TCP_SEQ0,
		};
		uint8_t seg[NREC * REC_LEN];
		unsigned long freed, dirty;

		CHECK(stream_make(&s, key_len), "sealing records");
		memcpy(p.key, s.key, sizeof(p.key));
		memcpy(p.salt, s.salt, sizeof(p.salt));
		memcpy(p.iv, s.iv, sizeof(p.iv));
		/* The kernel's form: plaintext payload, tag space. */
		memcpy(seg, s.wire, sizeof(seg));
		CHECK(!tls_tx_init(&ctx, &p), "tls_tx_init");
		explicit_bzero(&p, sizeof(p));
		{
			/* Decrypting the oracle's records back gives the input. */
			static struct tls_rx_ctx rx;
			struct tls_rx_params rp = { .cipher = key_len == 16 ?
				TLS_REC_AES_GCM_128 : TLS_REC_AES_GCM_256, .tcp_seq = TCP_SEQ0 };
			struct tls_rx_result res;

			memcpy(rp.key, s.key, sizeof(rp.key));
			memcpy(rp.salt, s.salt, sizeof(rp.salt));
			CHECK(!tls_rx_init(&rx, &rp) &&
			      tls_rx_process(&rx, TCP_SEQ0, seg, sizeof(seg), &res) >= 0 &&
			      res.decrypted, "making the plaintext");
			tls_rx_destroy(&rx);
			explicit_bzero(&rp, sizeof(rp));
		}
		for (unsigned int i = 0; i < NREC; i++)
			memset(seg + i * REC_LEN + 13 + REC_PLAIN, 0, 16);
		CHECK(tls_tx_process(&ctx, TCP_SEQ0, seg, sizeof(seg), NULL) >= 0 &&
		      !memcmp(seg, s.wire, sizeof(seg)),
		      "AES-%d: TX output differs from OpenSSL's records", key_len * 8);

		watch_start(&s);
		tls_tx_destroy(&ctx);
		watch.on = false;
		freed = watch.freed;
		dirty = watch.dirty;
		CHECK(freed >= 2, "AES-%d: destroy freed %lu crypto blocks, expected the "
		      "cipher contexts", key_len * 8, freed);
		CHECK(!dirty, "AES-%d: %lu of %lu blocks freed by tls_tx_destroy() held key, "
		      "H, salt or nonce", key_len * 8, dirty, freed);
		for (size_t i = 0; i < sizeof(ctx); i++)
			CHECK(!((const uint8_t *)&ctx)[i], "AES-%d: byte %zu of the destroyed "
			      "context is not wiped", key_len * 8, i);
	}
	return true;
}

/* The inspection itself works: a block freed with the key is seen. */
static bool watch_sees_a_key(void)
{
	static struct stream s;
	uint8_t *b;

	CHECK(stream_make(&s, 16), "sealing records");
	b = OPENSSL_malloc(64);
	CHECK(b, "OPENSSL_malloc");
	memset(b, 0, 64);
	memcpy(b + 21, s.h, 16);
	watch_start(&s);
	OPENSSL_free(b);
	watch.on = false;
	CHECK(watch.freed == 1 && watch.dirty == 1, "freed %lu, dirty %lu", watch.freed,
	      watch.dirty);
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "watch_sees_a_key", watch_sees_a_key },
		{ "rx_engine_wiped", rx_engine_wiped },
		{ "tx_engine_wiped", tx_engine_wiped },
	};

	/* Before OpenSSL allocates anything. */
	if (!CRYPTO_set_mem_functions(watch_malloc, watch_realloc, watch_free)) {
		printf("# CRYPTO_set_mem_functions failed: OpenSSL allocated already\n");
		return 1;
	}
	return run_tests(tests, ARRAY_SIZE(tests));
}
