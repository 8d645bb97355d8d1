// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP tests of the devsim TLS RX engine (devsim/tls_rx.c) against
 * records made by OpenSSL's EVP AES-GCM with the TLS 1.2 layout (AAD =
 * seq_num || type || version || length, IV = salt || explicit nonce, a
 * random explicit nonce per record as any TLS 1.2 peer may send).
 *
 * Every segment the engine returns is checked byte for byte: marked
 * decrypted, it must be the records' plaintext form (header, nonce,
 * OpenSSL's plaintext, tag); not marked, it must be exactly the bytes that
 * came off the wire. Tests then say which segments must (not) be marked.
 *
 * Build: linked with devsim/tls_rec.c and tls_rx.c, -lcrypto.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../../uapi/tlsnic.h"
#include "../../devsim/tls_rx.h"
#include "devsim_test.h"

#define ISN		0xfffff000U	/* sequence numbers wrap mid-stream */
#define MSS		1448
#define MAX_RECS	256
#define HDR		5
#define PRE		13
#define TAG		16

struct stream {
	enum tls_rec_cipher cipher;
	size_t key_len;
	uint8_t key[32];
	uint8_t salt[4];
	uint64_t rec0;			/* number of the first record */
	size_t len;
	uint8_t *wire;			/* OpenSSL's records */
	uint8_t *plain;			/* plaintext form of the same */
	size_t nrec;
	size_t off[MAX_RECS + 1];	/* record starts; off[nrec] = len */
};

static enum tls_rec_cipher cur_cipher;	/* set by the runner */
static uint8_t seg[1 << 20];

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* One TLS 1.2 AES-GCM record by one-shot EVP: the oracle. */
static bool evp_record(const struct stream *s, uint64_t num, uint8_t type,
		       const uint8_t *nonce, const uint8_t *pt, size_t n,
		       uint8_t *out)
{
	const EVP_CIPHER *c = s->cipher == TLS_REC_AES_GCM_128 ?
			      EVP_aes_128_gcm() : EVP_aes_256_gcm();
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
	uint8_t iv[12], aad[13];
	int outl;
	bool ok;

	memcpy(iv, s->salt, 4);
	memcpy(iv + 4, nonce, 8);
	put_be64(aad, num);
	aad[8] = type;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;
	out[0] = type;
	out[1] = 3;
	out[2] = 3;
	out[3] = (uint8_t)((n + 24) >> 8);
	out[4] = (uint8_t)(n + 24);
	memcpy(out + HDR, nonce, 8);
	ok = e && EVP_EncryptInit_ex(e, c, NULL, s->key, iv) == 1 &&
	     EVP_EncryptUpdate(e, NULL, &outl, aad, 13) == 1 &&
	     EVP_EncryptUpdate(e, out + PRE, &outl, pt, (int)n) == 1 &&
	     EVP_EncryptFinal_ex(e, out + PRE + n, &outl) == 1 &&
	     EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_GET_TAG, TAG,
				 out + PRE + n) == 1;
	EVP_CIPHER_CTX_free(e);
	return ok;
}

/* Records of the given plaintext sizes, random content and nonces. */
static uint8_t type_override[MAX_RECS];	/* 0: the usual mix */

static bool stream_build(struct stream *s, const size_t *sizes, size_t n,
			 uint64_t rec0)
{
	size_t i, total = 0;

	memset(s, 0, sizeof(*s));
	s->cipher = cur_cipher;
	s->key_len = cur_cipher == TLS_REC_AES_GCM_128 ? 16 : 32;
	test_fill_random(s->key, s->key_len);
	test_fill_random(s->salt, 4);
	s->rec0 = rec0;
	for (i = 0; i < n; i++)
		total += sizes[i] + PRE + TAG;
	s->wire = malloc(total);
	s->plain = malloc(total);
	if (!s->wire || !s->plain || n > MAX_RECS)
		return false;
	for (i = 0; i < n; i++) {
		static const uint8_t types[] = { 23, 23, 23, 22, 23, 21, 23 };
		uint8_t *w = s->wire + s->len, nonce[8];
		uint8_t type = type_override[i] ? type_override[i] :
			       types[i % sizeof(types)];

		s->off[i] = s->len;
		test_fill_random(nonce, 8);
		test_fill_random(s->plain + s->len + PRE, sizes[i]);
		if (!evp_record(s, rec0 + i, type, nonce,
				s->plain + s->len + PRE, sizes[i], w))
			return false;
		memcpy(s->plain + s->len, w, PRE);
		memcpy(s->plain + s->len + PRE + sizes[i], w + PRE + sizes[i],
		       TAG);
		s->len += sizes[i] + PRE + TAG;
	}
	s->nrec = n;
	s->off[n] = s->len;
	return true;
}

static void stream_free(struct stream *s)
{
	free(s->wire);
	free(s->plain);
	s->wire = s->plain = NULL;
}

static bool rx_new(struct tls_rx_ctx *ctx, const struct stream *s,
		   size_t at_rec)
{
	struct tls_rx_params p = { .cipher = s->cipher };

	memcpy(p.key, s->key, s->key_len);
	memcpy(p.salt, s->salt, 4);
	p.rec_seq = s->rec0 + at_rec;
	p.tcp_seq = ISN + (uint32_t)s->off[at_rec];
	return tls_rx_init(ctx, &p) == 0;
}

/*
 * Feed stream bytes [a, b) as one segment and check the bytes against
 * the oracle: plaintext form if marked, the wire bytes if not.
 */
static bool feed(struct tls_rx_ctx *ctx, const struct stream *s, size_t a,
		 size_t b, struct tls_rx_result *res)
{
	int ret;

	memcpy(seg, s->wire + a, b - a);
	ret = tls_rx_process(ctx, ISN + (uint32_t)a, seg, b - a, res);
	CHECK(ret == 0, "process [%zu,%zu) = %d", a, b, ret);
	if (res->decrypted)
		CHECK(!memcmp(seg, s->plain + a, b - a),
		      "segment [%zu,%zu) marked but not OpenSSL's plaintext",
		      a, b);
	else
		CHECK(!memcmp(seg, s->wire + a, b - a),
		      "segment [%zu,%zu) not marked but altered", a, b);
	return true;
}

/* Record index whose header starts at @off, or -1. */
static long rec_at(const struct stream *s, size_t off)
{
	for (size_t i = 0; i < s->nrec; i++)
		if (s->off[i] == off)
			return (long)i;
	return -1;
}

static const size_t mixed_sizes[] = {
	1, 15, 16, 17, 100, 1000, 0, 300, 31, 2,
};

/* ---- the oracle itself ------------------------------------------------- */

static bool test_oracle_records_open(void)
{
	struct stream s;
	bool ok = stream_build(&s, mixed_sizes, ARRAY_SIZE(mixed_sizes), 7);
	const EVP_CIPHER *c = cur_cipher == TLS_REC_AES_GCM_128 ?
			      EVP_aes_128_gcm() : EVP_aes_256_gcm();

	/* Decrypt each record independently: OpenSSL agrees with itself. */
	for (size_t i = 0; ok && i < s.nrec; i++) {
		EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
		const uint8_t *r = s.wire + s.off[i];
		size_t n = s.off[i + 1] - s.off[i] - PRE - TAG;
		uint8_t iv[12], aad[13], out[1024], tag[16];
		int outl;

		memcpy(iv, s.salt, 4);
		memcpy(iv + 4, r + HDR, 8);
		put_be64(aad, s.rec0 + i);
		memcpy(aad + 8, r, 3);
		aad[11] = (uint8_t)(n >> 8);
		aad[12] = (uint8_t)n;
		memcpy(tag, r + PRE + n, 16);
		ok = e && EVP_DecryptInit_ex(e, c, NULL, s.key, iv) == 1 &&
		     EVP_DecryptUpdate(e, NULL, &outl, aad, 13) == 1 &&
		     EVP_DecryptUpdate(e, out, &outl, r + PRE, (int)n) == 1 &&
		     EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
		     EVP_DecryptFinal_ex(e, out + n, &outl) == 1 &&
		     !memcmp(out, s.plain + s.off[i] + PRE, n);
		EVP_CIPHER_CTX_free(e);
	}
	stream_free(&s);
	return ok;
}

/* ---- in sequence ------------------------------------------------------- */

static bool test_one_segment(void)
{
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct stream s;
	bool ok;

	CHECK(stream_build(&s, mixed_sizes, ARRAY_SIZE(mixed_sizes), 1000),
	      "build");
	CHECK(rx_new(&ctx, &s, 0), "init");
	ok = feed(&ctx, &s, 0, s.len, &res);
	ok = ok && res.decrypted && ctx.stats.records_ok == s.nrec &&
	     ctx.stats.decrypted_packets == 1 &&
	     ctx.stats.decrypted_bytes == s.len && !ctx.stats.auth_fail;
	tls_rx_destroy(&ctx);
	stream_free(&s);
	return ok;
}

/* Every cut into two segments: headers split at every byte, tags too. */
static bool test_every_two_segment_split(void)
{
	struct tls_rx_result r1, r2;
	struct tls_rx_ctx ctx;
	struct stream s;
	bool ok = true;

	CHECK(stream_build(&s, mixed_sizes, ARRAY_SIZE(mixed_sizes), 5),
	      "build");
	for (size_t c = 1; ok && c < s.len; c++) {
		CHECK(rx_new(&ctx, &s, 0), "init");
		ok = feed(&ctx, &s, 0, c, &r1) && feed(&ctx, &s, c, s.len, &r2);
		if (ok && (!r1.decrypted || !r2.decrypted ||
			   ctx.stats.records_ok != s.nrec)) {
			printf("# cut at %zu: marked %d %d, tags %llu\n", c,
			       r1.decrypted, r2.decrypted,
			       (unsigned long long)ctx.stats.records_ok);
			ok = false;
		}
		tls_rx_destroy(&ctx);
	}
	stream_free(&s);
	return ok;
}

/* Three segments: one cut in a record's header/nonce, one in its tag. */
static bool test_header_and_tag_cuts(void)
{
	struct tls_rx_result r[3];
	struct tls_rx_ctx ctx;
	struct stream s;
	bool ok = true;
	size_t rs, re;

	CHECK(stream_build(&s, mixed_sizes, ARRAY_SIZE(mixed_sizes), 5),
	      "build");
	rs = s.off[5];
	re = s.off[6];
	for (size_t c1 = rs - 2; ok && c1 <= rs + PRE + 1; c1++) {
		for (size_t c2 = re - TAG - 2; ok && c2 <= re + 1; c2++) {
			CHECK(rx_new(&ctx, &s, 0), "init");
			ok = feed(&ctx, &s, 0, c1, &r[0]) &&
			     feed(&ctx, &s, c1, c2, &r[1]) &&
			     feed(&ctx, &s, c2, s.len, &r[2]) &&
			     r[0].decrypted && r[1].decrypted &&
			     r[2].decrypted &&
			     ctx.stats.records_ok == s.nrec;
			if (!ok)
				printf("# cuts %zu %zu\n", c1, c2);
			tls_rx_destroy(&ctx);
		}
	}
	stream_free(&s);
	return ok;
}

/* Random segment sizes, 1 byte to several records per segment. */
static bool test_random_segments(void)
{
	size_t sizes[64];
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct stream s;
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		sizes[i] = test_rand() % 3000;
	CHECK(stream_build(&s, sizes, ARRAY_SIZE(sizes), 1ULL << 40), "build");
	for (int iter = 0; ok && iter < 50; iter++) {
		size_t a = 0, nseg = 0;

		CHECK(rx_new(&ctx, &s, 0), "init");
		while (ok && a < s.len) {
			size_t n = iter % 2 ? 1 + test_rand() % 64 :
					      1 + test_rand() % 9000;
			size_t b = a + n < s.len ? a + n : s.len;

			ok = feed(&ctx, &s, a, b, &res) && res.decrypted;
			a = b;
			nseg++;
		}
		ok = ok && ctx.stats.records_ok == s.nrec &&
		     ctx.stats.decrypted_packets == nseg;
		tls_rx_destroy(&ctx);
	}
	stream_free(&s);
	return ok;
}

/* ---- loss, reorder, duplicates ----------------------------------------- */

static const size_t loss_sizes[] = {
	1000, 3000, 200, 5000, 16384, 100, 2500, 700, 4000, 16000, 1, 3000,
	1200, 800, 9000, 100, 300, 5000, 2000, 1500, 600, 4000, 333, 2222,
};

/*
 * Feed MSS segments from index @first up to (not including) @last,
 * skipping @drop (SIZE_MAX: none). Confirms every candidate with the
 * oracle's record number, after @delay further segments. Counts marked
 * segments in @marked; the last segment's result in @last_res.
 */
struct run {
	size_t drop;
	size_t base;	/* stream offset of the context's first record */
	int delay;
	size_t marked;
	size_t marked_after_confirm;
	size_t confirms;
	bool pending;
	uint32_t pend_seq;
	uint64_t pend_num;
	int pend_wait;
	struct tls_rx_result last_res;
};

static bool run_segments(struct tls_rx_ctx *ctx, const struct stream *s,
			 size_t first, size_t last, struct run *r)
{
	for (size_t i = first; i < last; i++) {
		size_t a = i * MSS, b = a + MSS < s->len ? a + MSS : s->len;
		struct tls_rx_result res;

		if (i == r->drop)
			continue;
		if (!feed(ctx, s, a, b, &res))
			return false;
		r->last_res = res;
		r->marked += res.decrypted;
		r->marked_after_confirm += res.decrypted && r->confirms;
		if (res.resync_req) {
			long k = rec_at(s, res.resync_seq - ISN);

			CHECK(k >= 0, "candidate at %u is no record header",
			      res.resync_seq - ISN);
			CHECK(res.resync_pos == s->off[k] - r->base,
			      "candidate position %llu, header at %zu",
			      (unsigned long long)res.resync_pos, s->off[k]);
			CHECK(res.resync_seq - ISN >= a &&
			      res.resync_seq - ISN < b,
			      "candidate outside its segment");
			r->pending = true;
			r->pend_seq = res.resync_seq;
			r->pend_num = s->rec0 + (uint64_t)k;
			r->pend_wait = r->delay;
		}
		if (r->pending && r->pend_wait-- <= 0) {
			int ret = tls_rx_confirm(ctx, r->pend_seq, r->pend_num);

			CHECK(ret == 0, "confirm = %d", ret);
			r->pending = false;
			r->confirms++;
		}
	}
	return true;
}

static size_t nsegs(const struct stream *s)
{
	return (s->len + MSS - 1) / MSS;
}

static bool test_lost_segment_resync(void)
{
	struct stream s;
	bool ok = true;

	CHECK(stream_build(&s, loss_sizes, ARRAY_SIZE(loss_sizes), 77),
	      "build");
	for (int delay = 0; ok && delay < 4; delay++) {
		for (size_t drop = 1; ok && drop < nsegs(&s) - 12; drop += 3) {
			struct run r = { .drop = drop, .delay = delay };
			struct tls_rx_ctx ctx;

			CHECK(rx_new(&ctx, &s, 0), "init");
			ok = run_segments(&ctx, &s, 0, nsegs(&s), &r);
			/* Before the loss everything is marked. */
			ok = ok && r.marked - r.marked_after_confirm == drop;
			ok = ok && r.confirms >= 1 && r.marked_after_confirm > 0 &&
			     r.last_res.decrypted &&
			     ctx.stats.resync_confirmed == r.confirms &&
			     ctx.stats.resync_req >= 1 && !ctx.stats.auth_fail &&
			     ctx.stats.ooo == 1;
			if (!ok)
				printf("# drop %zu delay %d: marked %zu/%zu confirms %zu last %d\n",
				       drop, delay, r.marked,
				       r.marked_after_confirm, r.confirms,
				       r.last_res.decrypted);
			tls_rx_destroy(&ctx);
		}
	}
	stream_free(&s);
	return ok;
}

/* Two segments swapped; a segment sent twice; a partial overlap. */
static bool test_reorder_dup(void)
{
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct run r = { .drop = SIZE_MAX };
	struct stream s;
	size_t n, k = 6;
	bool ok;

	CHECK(stream_build(&s, loss_sizes, ARRAY_SIZE(loss_sizes), 77),
	      "build");
	n = nsegs(&s);

	/* Duplicates and overlaps: not marked, unchanged, sync kept. */
	CHECK(rx_new(&ctx, &s, 0), "init");
	ok = run_segments(&ctx, &s, 0, k, &r);
	ok = ok && feed(&ctx, &s, (k - 1) * MSS, k * MSS, &res) &&
	     !res.decrypted && (res.flags & TLS_RX_R_OLD);
	ok = ok && feed(&ctx, &s, (k - 1) * MSS + 100, k * MSS + 500, &res) &&
	     !res.decrypted && !(res.flags & TLS_RX_R_OLD);
	ok = ok && feed(&ctx, &s, k * MSS + 500, (k + 1) * MSS, &res) &&
	     res.decrypted;
	ok = ok && run_segments(&ctx, &s, k + 1, n, &r) &&
	     r.marked == n - 1 && !r.confirms && !ctx.stats.resync_req &&
	     ctx.stats.records_ok == s.nrec && ctx.stats.old == 1 &&
	     ctx.stats.ooo == 2;
	tls_rx_destroy(&ctx);
	CHECK(ok, "duplicates: marked %zu of %zu, old %llu", r.marked, n - 1,
	      (unsigned long long)ctx.stats.old);

	/* Swapped: k + 1 before k. */
	memset(&r, 0, sizeof(r));
	r.drop = SIZE_MAX;
	CHECK(rx_new(&ctx, &s, 0), "init");
	ok = run_segments(&ctx, &s, 0, k, &r) &&
	     run_segments(&ctx, &s, k + 1, k + 2, &r) &&
	     run_segments(&ctx, &s, k, k + 1, &r) &&
	     run_segments(&ctx, &s, k + 2, n, &r);
	ok = ok && r.marked - r.marked_after_confirm == k && r.confirms &&
	     r.marked_after_confirm &&
	     r.last_res.decrypted && !ctx.stats.auth_fail;
	tls_rx_destroy(&ctx);
	stream_free(&s);
	CHECK(ok, "swapped: marked %zu, after confirm %zu", r.marked,
	      r.marked_after_confirm);
	return true;
}

/*
 * A random network: segments of random size, lost, duplicated, swapped
 * and retransmitted with overlap; every candidate confirmed with the
 * oracle's number 0 to 2 segments later. Every segment must come out as
 * OpenSSL's plaintext (marked) or as sent, no confirmation may be refused
 * as contradicting, and offload must keep coming back.
 */
#define NET_SEGS	4096

static bool test_random_network(void)
{
	static size_t seg_a[NET_SEGS], seg_b[NET_SEGS];
	size_t sizes[200];
	struct stream s;
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		sizes[i] = test_rand() % 6000;
	CHECK(stream_build(&s, sizes, ARRAY_SIZE(sizes), 3), "build");
	for (int iter = 0; ok && iter < 20; iter++) {
		size_t nseg = 0, a = 0, marked = 0, confirms = 0;
		struct tls_rx_result res;
		struct tls_rx_ctx ctx;
		bool pending = false;
		uint32_t pseq = 0;
		uint64_t pnum = 0;
		int wait = 0, ret;

		while (a < s.len && nseg + 3 < NET_SEGS) {
			size_t b = a + 1 + test_rand() % 2000;
			unsigned int r = test_rand() % 100;

			b = b < s.len ? b : s.len;
			if (r < 3) {
				/* lost */
			} else if (r < 6) {
				seg_a[nseg] = a;
				seg_b[nseg++] = b;
				seg_a[nseg] = a;
				seg_b[nseg++] = b;
			} else if (r < 9 && b < s.len) {
				size_t c = b + 1 + test_rand() % 2000;

				c = c < s.len ? c : s.len;
				seg_a[nseg] = b;
				seg_b[nseg++] = c;
				seg_a[nseg] = a;
				seg_b[nseg++] = b;
				b = c;
			} else if (r < 12) {
				size_t back = test_rand() % 700;

				seg_a[nseg] = a > back ? a - back : 0;
				seg_b[nseg++] = b;
			} else {
				seg_a[nseg] = a;
				seg_b[nseg++] = b;
			}
			a = b;
		}
		CHECK(rx_new(&ctx, &s, 0), "init");
		for (size_t i = 0; ok && i < nseg; i++) {
			ok = feed(&ctx, &s, seg_a[i], seg_b[i], &res);
			marked += res.decrypted;
			if (ok && res.resync_req) {
				long k = rec_at(&s, res.resync_seq - ISN);

				ok = k >= 0;
				pending = true;
				pseq = res.resync_seq;
				pnum = s.rec0 + (uint64_t)k;
				wait = (int)(test_rand() % 3);
			}
			if (ok && pending && wait-- <= 0) {
				ret = tls_rx_confirm(&ctx, pseq, pnum);
				ok = ret == 0 || ret == -ESTALE;
				confirms += !ret;
				pending = false;
			}
		}
		ok = ok && !ctx.stats.auth_fail && !ctx.stats.bad_record &&
		     confirms > 0 && marked > nseg / 3;
		if (!ok)
			printf("# iter %d: %zu segments, %zu marked, %zu confirms, auth_fail %llu bad %llu\n",
			       iter, nseg, marked, confirms,
			       (unsigned long long)ctx.stats.auth_fail,
			       (unsigned long long)ctx.stats.bad_record);
		tls_rx_destroy(&ctx);
	}
	stream_free(&s);
	return ok;
}

/* ---- forgeries ----------------------------------------------------------- */

enum forge { FORGE_CIPHERTEXT, FORGE_TAG, FORGE_LEN_SHORT, FORGE_LEN_BAD,
	     FORGE_LEN_ZERO, FORGE_VERSION, FORGE_NONCE, FORGE_TYPE };

/*
 * The plaintext form of record [rs, re) as the engine makes it from a
 * forged explicit nonce: the ciphertext XOR the keystream of that IV (GCM
 * counter mode; the tag is not checked here).
 */
static bool forged_nonce_plain(struct stream *s, size_t rs, size_t re)
{
	const EVP_CIPHER *c = s->cipher == TLS_REC_AES_GCM_128 ?
			      EVP_aes_128_gcm() : EVP_aes_256_gcm();
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
	uint8_t iv[12];
	int outl;
	bool ok;

	memcpy(iv, s->salt, 4);
	memcpy(iv + 4, s->wire + rs + HDR, 8);
	ok = e && EVP_DecryptInit_ex(e, c, NULL, s->key, iv) == 1 &&
	     EVP_DecryptUpdate(e, s->plain + rs + PRE, &outl, s->wire + rs + PRE,
			       (int)(re - rs - PRE - TAG)) == 1;
	memcpy(s->plain + rs + HDR, s->wire + rs + HDR, 8);
	EVP_CIPHER_CTX_free(e);
	return ok;
}

/*
 * One byte of record 4 changed as an attacker on the path would; the
 * segment holding the end of that record as its header now says is never
 * marked and comes out as it went in; records after it still decrypt
 * (ciphertext, tag) or the engine resyncs (header).
 */
static bool forge_one(enum forge f, size_t seglen)
{
	static const size_t sizes[] = { 500, 700, 900, 3000, 2000, 1000,
					4000, 600, 5000, 100, 3000, 3000 };
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct run r = { .drop = SIZE_MAX };
	struct stream s;
	size_t rs, re, pos, tag_end, a;
	bool ok = true, tag_seg_seen = false;

	CHECK(stream_build(&s, sizes, ARRAY_SIZE(sizes), 3), "build");
	rs = s.off[4];
	re = s.off[5];
	tag_end = re;
	switch (f) {
	case FORGE_CIPHERTEXT:
		pos = rs + PRE + 777;
		s.wire[pos] ^= 0x20;
		s.plain[pos] ^= 0x20;	/* CTR: the plaintext byte flips */
		break;
	case FORGE_TAG:
		pos = re - 5;
		s.wire[pos] ^= 1;
		s.plain[pos] ^= 1;
		break;
	case FORGE_LEN_SHORT:
		pos = rs + 4;
		s.wire[pos] -= 1;	/* sizes[4] + 24 is even: no borrow */
		s.plain[pos] -= 1;
		/* The last payload byte is now the first tag byte. */
		s.plain[re - TAG - 1] = s.wire[re - TAG - 1];
		tag_end = re - 1;
		break;
	case FORGE_LEN_BAD:
		pos = rs + 3;
		s.wire[pos] |= 0x80;
		s.plain[pos] |= 0x80;
		tag_end = rs + 5;	/* found invalid at its last byte */
		break;
	case FORGE_LEN_ZERO:	/* below nonce + tag */
		s.wire[rs + 3] = s.wire[rs + 4] = 0;
		s.plain[rs + 3] = s.plain[rs + 4] = 0;
		tag_end = rs + 5;
		break;
	case FORGE_VERSION:	/* 3.1: refused at its minor byte */
		s.wire[rs + 2] = s.plain[rs + 2] = 1;
		tag_end = rs + 3;
		break;
	case FORGE_NONCE:	/* another keystream, and a tag that fails */
		s.wire[rs + HDR + 3] ^= 0x10;
		CHECK(forged_nonce_plain(&s, rs, re), "keystream");
		break;
	case FORGE_TYPE:	/* 23 -> 22: same keystream, the AAD differs */
		CHECK(s.wire[rs] == 23, "record 4 is application data");
		s.wire[rs] = s.plain[rs] = 22;
		break;
	}
	CHECK(rx_new(&ctx, &s, 0), "init");
	for (a = 0; ok && a < s.len; a += seglen) {
		size_t b = a + seglen < s.len ? a + seglen : s.len;

		ok = feed(&ctx, &s, a, b, &res);
		if (ok && a < tag_end && tag_end <= b) {
			tag_seg_seen = true;
			if (res.decrypted) {
				printf("# forged record's last segment marked\n");
				ok = false;
			}
		}
		if (ok && res.resync_req) {
			long k = rec_at(&s, res.resync_seq - ISN);

			ok = k >= 0 && !tls_rx_confirm(&ctx, res.resync_seq,
						       s.rec0 + (uint64_t)k);
			r.confirms++;
		}
		r.marked += res.decrypted;
		r.last_res = res;
	}
	ok = ok && tag_seg_seen;
	if (f == FORGE_CIPHERTEXT || f == FORGE_TAG || f == FORGE_NONCE || f == FORGE_TYPE)
		ok = ok && ctx.stats.auth_fail == 1 &&
		     ctx.stats.records_ok == s.nrec - 1 && !r.confirms;
	else
		ok = ok && ctx.stats.bad_record >= 1;
	/* Offload goes on after the forged record. */
	if (seglen < s.len)
		ok = ok && r.last_res.decrypted;
	if (!ok)
		printf("# forge %d seglen %zu: auth_fail %llu ok %llu bad %llu marked %zu confirms %zu\n",
		       f, seglen, (unsigned long long)ctx.stats.auth_fail,
		       (unsigned long long)ctx.stats.records_ok,
		       (unsigned long long)ctx.stats.bad_record, r.marked,
		       r.confirms);
	tls_rx_destroy(&ctx);
	stream_free(&s);
	return ok;
}

static bool test_forged(void)
{
	static const size_t seglens[] = { 100000, MSS, 1000, 777, 64, 7 };
	bool ok = true;

	for (int f = FORGE_CIPHERTEXT; f <= FORGE_LEN_BAD; f++)
		for (size_t i = 0; i < ARRAY_SIZE(seglens); i++)
			ok &= forge_one((enum forge)f, seglens[i]);
	return ok;
}

/*
 * What a hostile peer may also write (selftests/vm/tls_rx_hostile.sh does
 * it end to end): a header with length 0 or version 3.1 is refused where
 * it becomes invalid; a forged explicit nonce or content type makes the
 * tag fail. Either way that segment is not marked and offload goes on.
 */
static bool test_forged_header_fields(void)
{
	static const size_t seglens[] = { 100000, MSS, 777, 7 };
	bool ok = true;

	for (int f = FORGE_LEN_ZERO; f <= FORGE_TYPE; f++)
		for (size_t i = 0; i < ARRAY_SIZE(seglens); i++)
			ok &= forge_one((enum forge)f, seglens[i]);
	return ok;
}

/*
 * A peer that stops mid-record (in the header, the nonce, the payload or
 * the tag): the engine verified every complete record, counts no failure
 * and leaves nothing that is not the plaintext form (checked by feed()).
 */
static bool test_cut_short(void)
{
	static const size_t sizes[] = { 500, 700, 900, 3000, 2000, 1000 };
	static const size_t cuts[] = { 2, 9, 100, 2000 + PRE + 3 };
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct stream s;
	bool ok = true;

	CHECK(stream_build(&s, sizes, ARRAY_SIZE(sizes), 11), "build");
	for (size_t c = 0; ok && c < ARRAY_SIZE(cuts); c++) {
		size_t end = s.off[4] + cuts[c];

		CHECK(rx_new(&ctx, &s, 0), "init");
		for (size_t a = 0; ok && a < end; a += MSS)
			ok = feed(&ctx, &s, a, a + MSS < end ? a + MSS : end, &res);
		if (ok && (ctx.stats.records_ok != 4 || ctx.stats.auth_fail ||
			   ctx.stats.bad_record)) {
			printf("# cut at record 4 + %zu: ok %llu auth_fail %llu bad %llu\n",
			       cuts[c], (unsigned long long)ctx.stats.records_ok,
			       (unsigned long long)ctx.stats.auth_fail,
			       (unsigned long long)ctx.stats.bad_record);
			ok = false;
		}
		tls_rx_destroy(&ctx);
	}
	stream_free(&s);
	return ok;
}

/* ---- confirmations --------------------------------------------------------- */

static bool test_wrong_confirm_refused(void)
{
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct run r = { .drop = SIZE_MAX };
	struct stream s;
	size_t i, n;
	long k = -1;
	bool ok;

	CHECK(stream_build(&s, loss_sizes, ARRAY_SIZE(loss_sizes), 500),
	      "build");
	n = nsegs(&s);
	CHECK(rx_new(&ctx, &s, 0), "init");
	CHECK(tls_rx_confirm(&ctx, ISN, s.rec0) == -ESTALE,
	      "confirm with nothing asked");
	ok = run_segments(&ctx, &s, 0, 5, &r);
	for (i = 6; ok && i < n && k < 0; i++) {
		ok = feed(&ctx, &s, i * MSS,
			  (i + 1) * MSS < s.len ? (i + 1) * MSS : s.len, &res);
		if (res.resync_req)
			k = rec_at(&s, res.resync_seq - ISN);
	}
	CHECK(ok && k > 0, "no candidate");
	/* A number seen elsewhere, one before the first record, off by 1 seq */
	CHECK(tls_rx_confirm(&ctx, res.resync_seq, s.rec0 + 1) == -EILSEQ,
	      "record 1 moved");
	CHECK(tls_rx_confirm(&ctx, res.resync_seq, s.rec0 - 1) == -EILSEQ,
	      "before the first record");
	CHECK(tls_rx_confirm(&ctx, res.resync_seq, s.rec0) == -EILSEQ,
	      "first record elsewhere");
	CHECK(tls_rx_confirm(&ctx, res.resync_seq + 1, s.rec0 + k) == -ESTALE,
	      "wrong seq");
	/* Records before it are known: 1000 more cannot fit the gap. */
	CHECK(tls_rx_confirm(&ctx, res.resync_seq, s.rec0 + k + 1000) ==
	      -EILSEQ, "too far");
	CHECK(ctx.stats.resync_refused == 6 && !ctx.stats.resync_confirmed,
	      "refused %llu", (unsigned long long)ctx.stats.resync_refused);
	/* Still waiting: the right one is taken and offload resumes. */
	CHECK(tls_rx_confirm(&ctx, res.resync_seq, s.rec0 + k) == 0, "right");
	r.confirms = 1;
	ok = run_segments(&ctx, &s, i, n, &r) && r.last_res.decrypted &&
	     ctx.stats.resync_confirmed == 1;
	CHECK(tls_rx_confirm(&ctx, res.resync_seq, s.rec0 + k) == -ESTALE,
	      "twice");
	tls_rx_destroy(&ctx);
	stream_free(&s);
	return ok;
}

/*
 * A wrong number that fits every record seen cannot be refused: the AAD
 * is then wrong, so no tag verifies and no segment carrying a tag is
 * marked; the plaintext of marked segments is still right (the nonce
 * comes from each header).
 */
static bool test_undetectable_wrong_confirm(void)
{
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct stream s;
	size_t i, n, tagged_marked = 0;
	long k = -1;
	bool ok = true;

	CHECK(stream_build(&s, loss_sizes, ARRAY_SIZE(loss_sizes), 500),
	      "build");
	n = nsegs(&s);
	CHECK(rx_new(&ctx, &s, 0), "init");
	for (i = 0; ok && i < n; i++) {
		size_t a = i * MSS, b = a + MSS < s.len ? a + MSS : s.len;

		if (i == 3)
			continue;
		ok = feed(&ctx, &s, a, b, &res);
		if (ok && res.resync_req && k < 0) {
			k = rec_at(&s, res.resync_seq - ISN);
			ok = tls_rx_confirm(&ctx, res.resync_seq,
					    s.rec0 + k + 1) == 0;
		}
		if (ok && k > 0 && res.decrypted)
			for (size_t j = (size_t)k; j < s.nrec; j++)
				tagged_marked += s.off[j + 1] > a &&
						 s.off[j + 1] <= b;
	}
	ok = ok && k > 0 && !tagged_marked && ctx.stats.auth_fail > 0;
	tls_rx_destroy(&ctx);
	stream_free(&s);
	return ok;
}

/*
 * The search takes only types 20..24 and lengths up to 16384 + 256 (valid
 * records otherwise, decrypted in sequence): after a loss the candidate
 * is the first record after them.
 */
static bool test_search_plausible_only(void)
{
	static const size_t sizes[] = { 3000, 3000, 3000, 400, 16700, 500,
					2000, 2000, 3000, 1000 };
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct stream s;
	size_t a;
	long first = -1;
	bool ok;

	type_override[3] = 99;
	ok = stream_build(&s, sizes, ARRAY_SIZE(sizes), 9);
	type_override[3] = 0;
	CHECK(ok, "build");
	CHECK(rx_new(&ctx, &s, 0), "init");
	ok = feed(&ctx, &s, 0, s.len, &res) && res.decrypted &&
	     ctx.stats.records_ok == s.nrec;
	tls_rx_destroy(&ctx);
	CHECK(ok, "in sequence");

	/* Lose the bytes just before record 3. */
	CHECK(rx_new(&ctx, &s, 0), "init");
	ok = feed(&ctx, &s, 0, s.off[3] - 10, &res);
	for (a = s.off[3] - 2; ok && a < s.len && first < 0; a += 64) {
		size_t b = a + 64 < s.len ? a + 64 : s.len;

		ok = feed(&ctx, &s, a, b, &res);
		if (res.resync_req)
			first = rec_at(&s, res.resync_seq - ISN);
	}
	tls_rx_destroy(&ctx);
	stream_free(&s);
	CHECK(ok && first == 5, "first candidate: record %ld", first);
	return true;
}

/*
 * After a loss, the next header split across two segments after each of
 * its first 4 bytes is found (not the one after it), reported with the
 * segment completing it, and offload resumes.
 */
static bool test_search_split_header(void)
{
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct run r = { .drop = SIZE_MAX };
	struct stream s;
	bool ok = true;
	size_t h, j;

	CHECK(stream_build(&s, loss_sizes, ARRAY_SIZE(loss_sizes), 21),
	      "build");
	h = s.off[5];
	for (j = 1; ok && j < HDR; j++) {
		CHECK(rx_new(&ctx, &s, 0), "init");
		ok = feed(&ctx, &s, 0, s.off[4] + 100, &res) && res.decrypted;
		ok = ok && feed(&ctx, &s, s.off[4] + 200, h + j, &res) &&
		     !res.resync_req && !res.decrypted;
		ok = ok && feed(&ctx, &s, h + j, h + j + 1000, &res) &&
		     res.resync_req && res.resync_seq == (uint32_t)(ISN + h) &&
		     res.resync_pos == h;
		ok = ok && !tls_rx_confirm(&ctx, ISN + (uint32_t)h, s.rec0 + 5);
		memset(&r, 0, sizeof(r));
		r.drop = SIZE_MAX;
		r.confirms = 1;
		/* Then on in MSS segments from the next MSS boundary. */
		ok = ok && feed(&ctx, &s, h + j + 1000,
				((h + j + 1000) / MSS + 1) * MSS, &res) &&
		     run_segments(&ctx, &s, (h + j + 1000) / MSS + 1,
				  nsegs(&s), &r) &&
		     r.marked_after_confirm && r.last_res.decrypted;
		if (!ok)
			printf("# header split after %zu bytes\n", j);
		tls_rx_destroy(&ctx);
	}
	stream_free(&s);
	return ok;
}

/*
 * A candidate the kernel never confirms (its request lost) is asked for
 * again, at a header TLS_RX_RETRY_RECORDS records later; confirming that
 * one resumes offload, the old one is stale.
 */
static bool test_request_again(void)
{
	size_t sizes[80];
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct stream s;
	uint32_t first_seq = 0;
	size_t a, reqs = 0, marked = 0;
	long k2 = -1;
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		sizes[i] = 100 + test_rand() % 400;
	CHECK(stream_build(&s, sizes, ARRAY_SIZE(sizes), 1), "build");
	CHECK(rx_new(&ctx, &s, 0), "init");
	for (a = 0; ok && a < s.len; a += 1000) {
		size_t b = a + 1000 < s.len ? a + 1000 : s.len;

		if (a == 2000)
			continue;
		ok = feed(&ctx, &s, a, b, &res);
		marked += res.decrypted && k2 >= 0;
		if (!res.resync_req)
			continue;
		if (++reqs == 1) {
			first_seq = res.resync_seq;
			continue;
		}
		k2 = rec_at(&s, res.resync_seq - ISN);
		ok = k2 > 0 &&
		     tls_rx_confirm(&ctx, first_seq, 1 + (uint64_t)k2) ==
		     -ESTALE &&
		     !tls_rx_confirm(&ctx, res.resync_seq, 1 + (uint64_t)k2);
	}
	tls_rx_destroy(&ctx);
	stream_free(&s);
	CHECK(ok && reqs == 2 && marked > 0 && k2 >= TLS_RX_RETRY_RECORDS,
	      "requests %zu, second at record %ld, marked %zu", reqs, k2,
	      marked);
	return true;
}

/* ---- context start -------------------------------------------------------- */

/*
 * The kernel creates the context at record 3 while records up to 8 have
 * already arrived: bytes before record 3 are never touched, a segment
 * straddling its start is left as it came but keeps the position, and
 * data from after the start resyncs.
 */
static bool test_context_start(void)
{
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	struct run r = { .drop = SIZE_MAX };
	struct stream s;
	size_t st, n;
	bool ok;

	CHECK(stream_build(&s, loss_sizes, ARRAY_SIZE(loss_sizes), 40), "build");
	n = nsegs(&s);
	st = s.off[3];

	/* Before the start, then straddling it, then in sequence. */
	CHECK(rx_new(&ctx, &s, 3), "init");
	ok = feed(&ctx, &s, 0, st - 100, &res) && !res.decrypted &&
	     (res.flags & TLS_RX_R_OLD);
	ok = ok && feed(&ctx, &s, st - 100, st + 50, &res) && !res.decrypted;
	ok = ok && feed(&ctx, &s, st + 50, st + 3000, &res) && res.decrypted;
	tls_rx_destroy(&ctx);
	CHECK(ok, "straddling start");

	/* Created behind: the first segment seen is far after the start. */
	CHECK(rx_new(&ctx, &s, 3), "init");
	r.delay = 1;
	r.base = st;
	ok = run_segments(&ctx, &s, (s.off[8] + 10) / MSS, n, &r) &&
	     r.confirms == 1 && r.marked_after_confirm && r.last_res.decrypted;
	tls_rx_destroy(&ctx);
	CHECK(ok, "behind: confirms %zu marked %zu", r.confirms, r.marked);

	/* Straddling the start: never marked, asks for nothing. */
	CHECK(rx_new(&ctx, &s, 8), "init");
	ok = feed(&ctx, &s, s.off[1] + 7, s.off[8] + 20, &res) &&
	     !res.resync_req && !res.decrypted;
	tls_rx_destroy(&ctx);
	stream_free(&s);
	return ok;
}

/* ---- 64-bit stream position ------------------------------------------------- */

/*
 * Records of one length, record n at stream position n * REC. Windows of
 * a few records, each reached by a jump of less than 2^30 bytes (loss:
 * search, candidate, confirm), decrypted and compared, two of them
 * straddling 2^31 and 2^32. The reported candidate positions must be the
 * 64-bit ones, the confirmations accepted against the history.
 */
#define LONG_PLAIN	16000
#define LONG_REC	(LONG_PLAIN + PRE + TAG)
#define LONG_WIN	6

static bool long_window(struct tls_rx_ctx *ctx, struct stream *s,
			uint64_t from, uint64_t rec0, size_t *marked)
{
	static uint8_t pt[LONG_PLAIN];
	uint64_t first = from / LONG_REC;
	size_t len = LONG_WIN * LONG_REC, a;
	bool confirmed = false;

	/* s->wire/plain hold records first .. first + LONG_WIN - 1. */
	for (size_t i = 0; i < LONG_WIN; i++) {
		uint8_t nonce[8], *w = s->wire + i * LONG_REC;
		uint64_t num = first + i;

		put_be64(nonce, num * 0x9e3779b97f4a7c15ULL);
		memset(pt, (int)(num * 13), sizeof(pt));
		pt[0] = (uint8_t)(num >> 32);
		CHECK(evp_record(s, rec0 + num, 23, nonce, pt, LONG_PLAIN, w),
		      "evp");
		memcpy(s->plain + i * LONG_REC, w, LONG_REC);
		memcpy(s->plain + i * LONG_REC + PRE, pt, LONG_PLAIN);
	}
	/* Segments of the window, from a point inside its first record. */
	for (a = from - first * LONG_REC; a < len; a += MSS) {
		uint64_t pos = first * LONG_REC + a;
		size_t b = a + MSS < len ? a + MSS : len;
		struct tls_rx_result res;
		int ret;

		memcpy(seg, s->wire + a, b - a);
		ret = tls_rx_process(ctx, ISN + (uint32_t)pos, seg, b - a,
				     &res);
		CHECK(ret == 0, "process");
		CHECK(!memcmp(seg, (res.decrypted ? s->plain : s->wire) + a,
			      b - a), "bytes at %llu",
		      (unsigned long long)pos);
		*marked += res.decrypted;
		if (res.resync_req) {
			uint64_t k = res.resync_pos / LONG_REC;

			CHECK(res.resync_pos % LONG_REC == 0 &&
			      res.resync_pos >= pos &&
			      res.resync_pos < pos + (b - a) &&
			      (uint32_t)(ISN + res.resync_pos) ==
			      res.resync_seq,
			      "candidate at %llu in segment at %llu",
			      (unsigned long long)res.resync_pos,
			      (unsigned long long)pos);
			CHECK(!tls_rx_confirm(ctx, res.resync_seq, rec0 + k),
			      "confirm at %llu refused",
			      (unsigned long long)res.resync_pos);
			confirmed = true;
		}
	}
	CHECK(confirmed, "no resync in the window at %llu",
	      (unsigned long long)from);
	return true;
}

static bool test_stream_past_4g(void)
{
	/* Steps below 2^30: the engine's reference may follow them. */
	static const uint64_t windows[] = {
		0, 1ULL << 29, 1ULL << 30, 3ULL << 29, (1ULL << 31) - 40000,
		5ULL << 29, 6ULL << 29, 7ULL << 29, (1ULL << 32) - 40000,
		9ULL << 29, 10ULL << 29,
	};
	struct tls_rx_ctx ctx;
	struct tls_rx_params p = { .cipher = cur_cipher, .tcp_seq = ISN,
				   .rec_seq = 5000 };
	struct stream s = { .cipher = cur_cipher };
	size_t marked = 0, prev_marked;
	bool ok = true;

	s.key_len = cur_cipher == TLS_REC_AES_GCM_128 ? 16 : 32;
	test_fill_random(s.key, s.key_len);
	test_fill_random(s.salt, 4);
	memcpy(p.key, s.key, s.key_len);
	memcpy(p.salt, s.salt, 4);
	s.wire = malloc(LONG_WIN * LONG_REC);
	s.plain = malloc(LONG_WIN * LONG_REC);
	CHECK(s.wire && s.plain && !tls_rx_init(&ctx, &p), "init");
	for (size_t w = 0; ok && w < ARRAY_SIZE(windows); w++) {
		/* The first window starts in sequence at 0. */
		uint64_t from = windows[w] + (w ? 777 : 0);

		prev_marked = marked;
		if (w == 0) {
			/* No resync at the start: feed it as a window anyway. */
			ok = tls_rx_confirm(&ctx, ISN, 5000) == -ESTALE;
			from = 1;	/* lose byte 0's segment: resync */
		}
		ok = ok && long_window(&ctx, &s, from, 5000, &marked);
		/* Every window decrypts records after its confirmation. */
		ok = ok && marked >= prev_marked + 30;
		if (!ok)
			printf("# window %zu at %llu: marked %zu\n", w,
			       (unsigned long long)from, marked - prev_marked);
	}
	ok = ok && !ctx.stats.auth_fail && ctx.stats.resync_refused == 1 &&
	     ctx.stats.records_ok >= 4 * ARRAY_SIZE(windows);
	tls_rx_destroy(&ctx);
	stream_free(&s);
	return ok;
}

/* ---- control path ------------------------------------------------------------ */

static bool test_init_from_create(void)
{
	struct tlsnic_ctx_create cc;
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	static struct tls_rx_ctx zero;
	struct stream s;
	bool ok;

	CHECK(stream_build(&s, mixed_sizes, ARRAY_SIZE(mixed_sizes),
			   0x0102030405060708ULL), "build");
	memset(&cc, 0, sizeof(cc));
	cc.dir = TLSNIC_DIR_TX;
	cc.tls_version = TLSNIC_TLS_1_2;
	cc.cipher = cur_cipher == TLS_REC_AES_GCM_128 ?
		    TLSNIC_CIPHER_AES_GCM_128 : TLSNIC_CIPHER_AES_GCM_256;
	memcpy(cc.key, s.key, s.key_len);
	memcpy(cc.salt, s.salt, 4);
	put_be64(cc.rec_seq, s.rec0);
	cc.tcp_seq = htole32(ISN);
	CHECK(tls_rx_init_from_create(&ctx, &cc) == -EOPNOTSUPP, "TX ctx");
	cc.dir = TLSNIC_DIR_RX;
	CHECK(tls_rx_init_from_create(&ctx, &cc) == 0, "RX ctx");
	ok = feed(&ctx, &s, 0, s.len, &res) && res.decrypted;
	tls_rx_destroy(&ctx);
	/* Key schedules freed, key material and state wiped. */
	ok = ok && !memcmp(&ctx, &zero, sizeof(ctx));
	stream_free(&s);
	return ok;
}

/* ---- runner -------------------------------------------------------------------- */

#define BOTH(fn)							\
	static bool fn##_128(void)					\
	{								\
		cur_cipher = TLS_REC_AES_GCM_128;			\
		return fn();						\
	}								\
	static bool fn##_256(void)					\
	{								\
		cur_cipher = TLS_REC_AES_GCM_256;			\
		return fn();						\
	}

BOTH(test_oracle_records_open)
BOTH(test_one_segment)
BOTH(test_every_two_segment_split)
BOTH(test_header_and_tag_cuts)
BOTH(test_random_segments)
BOTH(test_lost_segment_resync)
BOTH(test_reorder_dup)
BOTH(test_random_network)
BOTH(test_forged)
BOTH(test_forged_header_fields)
BOTH(test_cut_short)
BOTH(test_wrong_confirm_refused)
BOTH(test_undetectable_wrong_confirm)
BOTH(test_search_plausible_only)
BOTH(test_search_split_header)
BOTH(test_request_again)
BOTH(test_context_start)
BOTH(test_stream_past_4g)
BOTH(test_init_from_create)

#define CASES(fn) { #fn "_aes128", fn##_128 }, { #fn "_aes256", fn##_256 }

int main(void)
{
	static const struct test_case tests[] = {
		CASES(test_oracle_records_open),
		CASES(test_one_segment),
		CASES(test_every_two_segment_split),
		CASES(test_header_and_tag_cuts),
		CASES(test_random_segments),
		CASES(test_lost_segment_resync),
		CASES(test_reorder_dup),
		CASES(test_random_network),
		CASES(test_forged),
		CASES(test_forged_header_fields),
		CASES(test_cut_short),
		CASES(test_wrong_confirm_refused),
		CASES(test_undetectable_wrong_confirm),
		CASES(test_search_plausible_only),
		CASES(test_search_split_header),
		CASES(test_request_again),
		CASES(test_context_start),
		CASES(test_stream_past_4g),
		CASES(test_init_from_create),
	};

	return run_tests(tests, ARRAY_SIZE(tests));
}
