// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic devsim: TLS 1.2 AES-GCM transmit record engine.
 * See tls_tx.h for the caller contract and the resync model.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../uapi/tlsnic.h"
#include "tls_tx.h"

#define TLS_TX_VERSION_MAJOR	3
#define TLS_TX_VERSION_MINOR	3	/* TLS 1.2 */
#define TLS_TX_AAD_LEN		13
#define TLS_TX_GCM_IV_LEN	(TLS_TX_SALT_LEN + TLS_TX_NONCE_LEN)
#define TLS_TX_BLOCK		16
/* The first GCM payload block uses counter 2 (J0 has counter 1). */
#define TLS_TX_CTR_FIRST	2
/* Frames and dumps are at most 64 KiB; this bounds seq arithmetic. */
#define TLS_TX_MAX_FRAME	(1U << 20)

static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return seq_before(b, a);
}

/* 64-bit stream offset of @seq from the first record (negative: before). */
static int64_t tls_tx_stream_off(const struct tls_tx_ctx *ctx, uint32_t seq)
{
	return (int64_t)ctx->ref_off + (int32_t)(seq - ctx->ref_seq);
}

/* The in-order state moved (at most a frame): move the reference along. */
static void tls_tx_ref_follow(struct tls_tx_ctx *ctx)
{
	int64_t off = tls_tx_stream_off(ctx, ctx->main.seq);

	if (ctx->main.valid && off > (int64_t)ctx->ref_off) {
		ctx->ref_off = (uint64_t)off;
		ctx->ref_seq = ctx->main.seq;
	}
}

static inline size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

/* Explicit nonce of record @rec_num: kTLS advances it with the number. */
static void tls_tx_nonce(const struct tls_tx_ctx *ctx, uint64_t rec_num,
			 uint8_t *nonce)
{
	put_be64(nonce, get_be64(ctx->iv0) + (rec_num - ctx->rec_seq0));
}

/* Can @n whole records fill exactly @gap bytes? */
static bool tls_tx_gap_fits(uint64_t n, int64_t gap)
{
	uint64_t lo, hi;

	if (gap < 0 || __builtin_mul_overflow(n, TLS_TX_MIN_REC_LEN, &lo))
		return false;
	if (__builtin_mul_overflow(n, TLS_TX_MAX_REC_LEN, &hi))
		hi = UINT64_MAX;
	return lo <= (uint64_t)gap && (uint64_t)gap <= hi;
}

/*
 * Can record @num start at stream position @off (@len long, 0: unknown)
 * given known record @k? Same number: same start. Otherwise the records
 * between the two must fill the bytes between them exactly, which also
 * keeps either start out of the other record.
 */
static bool tls_tx_rec_agrees(const struct tls_tx_rec_info *k, uint64_t num,
			      int64_t off, uint32_t len)
{
	if (k->rec_num == num)
		return k->rec_off == off &&
		       (!len || !k->rec_len || len == k->rec_len);
	if (k->rec_num < num) {
		if (k->rec_len)
			return tls_tx_gap_fits(num - k->rec_num - 1,
					       off - (k->rec_off + k->rec_len));
		return tls_tx_gap_fits(num - k->rec_num, off - k->rec_off);
	}
	if (len)
		return tls_tx_gap_fits(k->rec_num - num - 1,
				       k->rec_off - (off + len));
	return tls_tx_gap_fits(k->rec_num - num, k->rec_off - off);
}

/* Does "record @num starts at @off" agree with everything known? */
static bool tls_tx_hist_agrees(const struct tls_tx_ctx *ctx, uint64_t num,
			       int64_t off, uint32_t len)
{
	/* The context's first record is known from CTX_CREATE. */
	const struct tls_tx_rec_info first = {
		.used = true, .rec_num = ctx->rec_seq0, .rec_off = 0,
	};
	const struct tls_tx_rec_info *prev;
	unsigned int i;

	/*
	 * The next record in order: nothing after it is known and it starts
	 * where its known predecessor ends. Every remembered record agrees
	 * with that one, so with this one too (the gaps add up).
	 */
	prev = &ctx->hist[(num - 1) % TLS_TX_HISTORY];
	if (ctx->hist_any && num == ctx->hist_top + 1 && prev->used &&
	    prev->rec_num == num - 1 && prev->rec_len &&
	    prev->rec_off + prev->rec_len == off)
		return true;

	if (!tls_tx_rec_agrees(&first, num, off, len))
		return false;
	for (i = 0; i < TLS_TX_HISTORY; i++)
		if (ctx->hist[i].used &&
		    !tls_tx_rec_agrees(&ctx->hist[i], num, off, len))
			return false;
	return true;
}

/* Remember record @num at @off; an older record never evicts a newer one. */
static void tls_tx_hist_note(struct tls_tx_ctx *ctx, uint64_t num,
			     int64_t off, uint32_t len)
{
	struct tls_tx_rec_info *ri = &ctx->hist[num % TLS_TX_HISTORY];

	if (!ctx->hist_any || num > ctx->hist_top) {
		ctx->hist_any = true;
		ctx->hist_top = num;
	}
	if (ri->used && ri->rec_num > num)
		return;
	if (ri->used && ri->rec_num == num) {
		/* Checked to agree: only the length can be new. */
		if (len)
			ri->rec_len = len;
		return;
	}
	ri->used = true;
	ri->rec_num = num;
	ri->rec_off = off;
	ri->rec_len = len;
}

static uint32_t tls_tx_hist_len(const struct tls_tx_ctx *ctx,
				uint64_t rec_num, uint32_t rec_start)
{
	const struct tls_tx_rec_info *ri =
		&ctx->hist[rec_num % TLS_TX_HISTORY];

	if (ri->used && ri->rec_num == rec_num &&
	    ri->rec_off == tls_tx_stream_off(ctx, rec_start))
		return ri->rec_len;
	return 0;
}

/* Put @cur at byte @off of record @rec_num that starts at @rec_start. */
static void tls_tx_cursor_place(struct tls_tx_ctx *ctx,
				struct tls_tx_cursor *cur, uint32_t rec_start,
				uint64_t rec_num, uint32_t off, bool full)
{
	cur->valid = true;
	cur->full = full;
	cur->rec_start = rec_start;
	cur->rec_num = rec_num;
	cur->seq = rec_start + off;
	cur->rec_len = tls_tx_hist_len(ctx, rec_num, rec_start);
	cur->hdr_lo = (uint8_t)(off < TLS_TX_PREPEND_LEN ? off :
					       TLS_TX_PREPEND_LEN);
	tls_tx_nonce(ctx, rec_num, cur->nonce);
}

static int tls_tx_next_record(struct tls_tx_ctx *ctx,
			      struct tls_tx_cursor *cur)
{
	if (cur->rec_num == UINT64_MAX)
		return -ERANGE;
	/* A record that begins in the stream is seen whole: GHASH is known. */
	tls_tx_cursor_place(ctx, cur, cur->rec_start + cur->rec_len,
			    cur->rec_num + 1, 0, true);
	return 0;
}

static int tls_tx_gcm_finish(struct tls_tx_cursor *cur)
{
	uint8_t dummy[TLS_TX_BLOCK];
	int outl;

	if (EVP_EncryptFinal_ex(cur->gcm, dummy, &outl) != 1 || outl != 0)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(cur->gcm, EVP_CTRL_GCM_GET_TAG, TLS_TX_TAG_LEN,
				cur->tag) != 1)
		return -EIO;
	return 0;
}

/* Header and nonce are complete: start GCM for this record. */
static int tls_tx_gcm_start(const struct tls_tx_ctx *ctx,
			    struct tls_tx_cursor *cur)
{
	uint32_t plain_len = cur->rec_len - TLS_TX_PREPEND_LEN - TLS_TX_TAG_LEN;
	uint8_t iv[TLS_TX_GCM_IV_LEN];
	uint8_t aad[TLS_TX_AAD_LEN];
	int outl, ret = 0;

	memcpy(iv, ctx->salt, TLS_TX_SALT_LEN);
	memcpy(iv + TLS_TX_SALT_LEN, cur->nonce, TLS_TX_NONCE_LEN);
	put_be64(aad, cur->rec_num);
	memcpy(aad + 8, cur->hdr, 3);		/* type, version */
	aad[11] = (uint8_t)(plain_len >> 8);
	aad[12] = (uint8_t)plain_len;

	if (EVP_EncryptInit_ex(cur->gcm, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(cur->gcm, NULL, &outl, aad, sizeof(aad)) != 1)
		ret = -EIO;
	else if (!plain_len)
		ret = tls_tx_gcm_finish(cur);
	OPENSSL_cleanse(iv, sizeof(iv));
	return ret;
}

/*
 * Record header bytes [off, off + n) pass through unchanged; check them and
 * learn the record length. A header seen only in part (sparse resync) is
 * checked for the part that is there.
 */
static int tls_tx_header(struct tls_tx_ctx *ctx, struct tls_tx_cursor *cur,
			 uint32_t off, const uint8_t *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t o = off + (uint32_t)i;
		uint8_t b = in[i];

		cur->hdr[o] = b;
		switch (o) {
		case 0:
			/* Any content type: the kernel sends what it is asked. */
			break;
		case 1:
			if (b != TLS_TX_VERSION_MAJOR)
				return -EBADMSG;
			break;
		case 2:
			if (b != TLS_TX_VERSION_MINOR)
				return -EBADMSG;
			break;
		case 3:
			break;
		case 4:
			if (cur->hdr_lo <= 3) {
				uint32_t clen = (cur->hdr[3] << 8) | b;

				if (clen < TLS_TX_NONCE_LEN + TLS_TX_TAG_LEN ||
				    clen > TLS_TX_MAX_CIPHERTEXT)
					return -EBADMSG;
				if (cur->rec_len &&
				    cur->rec_len != TLS_TX_HDR_LEN + clen)
					return -EBADMSG;
				cur->rec_len = TLS_TX_HDR_LEN + clen;
			}
			break;
		default:
			if (b != cur->nonce[o - TLS_TX_HDR_LEN])
				return -EBADMSG;
			break;
		}
	}
	if (off + n < TLS_TX_PREPEND_LEN)
		return 0;
	/*
	 * Only a header that passed every check is remembered, and only if
	 * its length agrees with the records known after it.
	 */
	if (cur->hdr_lo <= 3) {
		int64_t rec_off = tls_tx_stream_off(ctx, cur->rec_start);

		if (!tls_tx_hist_agrees(ctx, cur->rec_num, rec_off,
					cur->rec_len))
			return -EILSEQ;
		tls_tx_hist_note(ctx, cur->rec_num, rec_off, cur->rec_len);
	}
	return cur->full ? tls_tx_gcm_start(ctx, cur) : 0;
}

/* Keystream-only encryption of payload bytes [pos, pos + n). */
static int tls_tx_ctr(struct tls_tx_ctx *ctx, const struct tls_tx_cursor *cur,
		      uint32_t pos, const uint8_t *in, uint8_t *out, size_t n)
{
	static const uint8_t zero[TLS_TX_BLOCK];
	uint8_t ctr[TLS_TX_BLOCK], skip[TLS_TX_BLOCK];
	int outl, ret = 0;

	memcpy(ctr, ctx->salt, TLS_TX_SALT_LEN);
	memcpy(ctr + TLS_TX_SALT_LEN, cur->nonce, TLS_TX_NONCE_LEN);
	put_be32(ctr + TLS_TX_GCM_IV_LEN, TLS_TX_CTR_FIRST + pos / TLS_TX_BLOCK);

	if (EVP_EncryptInit_ex(ctx->ctr, NULL, NULL, NULL, ctr) != 1)
		ret = -EIO;
	else if (pos % TLS_TX_BLOCK &&
		 EVP_EncryptUpdate(ctx->ctr, skip, &outl, zero,
				   pos % TLS_TX_BLOCK) != 1)
		ret = -EIO;
	else if (EVP_EncryptUpdate(ctx->ctr, out, &outl, in, (int)n) != 1 ||
		 (size_t)outl != n)
		ret = -EIO;
	OPENSSL_cleanse(skip, sizeof(skip));
	return ret;
}

/*
 * Run @len stream bytes through @cur: header bytes are checked and copied,
 * payload encrypted, tag bytes written. @out may equal @in.
 */
static int tls_tx_feed(struct tls_tx_ctx *ctx, struct tls_tx_cursor *cur,
		       const uint8_t *in, uint8_t *out, size_t len)
{
	int ret;

	while (len) {
		uint32_t off = cur->seq - cur->rec_start;
		uint32_t pay_end;
		size_t n;

		if (cur->rec_len && off > cur->rec_len)
			return -EINVAL;
		if (cur->rec_len && off == cur->rec_len) {
			ret = tls_tx_next_record(ctx, cur);
			if (ret)
				return ret;
			continue;
		}

		pay_end = (cur->rec_len ? cur->rec_len : TLS_TX_MAX_REC_LEN) -
			  TLS_TX_TAG_LEN;
		if (off < TLS_TX_PREPEND_LEN) {
			n = min_sz(len, TLS_TX_PREPEND_LEN - off);
			ret = tls_tx_header(ctx, cur, off, in, n);
			if (ret)
				return ret;
			if (out != in)
				memcpy(out, in, n);
		} else if (off < pay_end) {
			n = min_sz(len, pay_end - off);
			if (cur->full) {
				int outl;

				if (EVP_EncryptUpdate(cur->gcm, out, &outl, in,
						      (int)n) != 1 ||
				    (size_t)outl != n)
					return -EIO;
				if (off + n == pay_end) {
					ret = tls_tx_gcm_finish(cur);
					if (ret)
						return ret;
				}
			} else {
				ret = tls_tx_ctr(ctx, cur,
						 off - TLS_TX_PREPEND_LEN, in,
						 out, n);
				if (ret)
					return ret;
			}
		} else {
			uint32_t tag_off = off - pay_end;

			/* Longer than any record it could lie in. */
			if (!cur->rec_len)
				return -EINVAL;
			if (!cur->full)
				return -ENODATA;
			n = min_sz(len, TLS_TX_TAG_LEN - tag_off);
			memcpy(out, cur->tag + tag_off, n);
		}
		in += n;
		out += n;
		len -= n;
		cur->seq += (uint32_t)n;
	}
	return 0;
}

/* Feed the frame in place, leaving its first @skip bytes alone. */
static int tls_tx_feed_iov(struct tls_tx_ctx *ctx, struct tls_tx_cursor *cur,
			   const struct iovec *iov, unsigned int iovcnt,
			   size_t skip)
{
	unsigned int i;
	int ret;

	for (i = 0; i < iovcnt; i++) {
		uint8_t *base = iov[i].iov_base;
		size_t n = iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		base += skip;
		n -= skip;
		skip = 0;
		ret = tls_tx_feed(ctx, cur, base, base, n);
		if (ret)
			return ret;
	}
	return 0;
}

/* GHASH the dump through a bounce buffer; the dump itself stays const. */
static int tls_tx_feed_dump(struct tls_tx_ctx *ctx, struct tls_tx_cursor *cur,
			    const uint8_t *dump, size_t len)
{
	uint8_t bounce[2048];
	int ret = 0;

	while (len && !ret) {
		size_t n = min_sz(len, sizeof(bounce));

		ret = tls_tx_feed(ctx, cur, dump, bounce, n);
		dump += n;
		len -= n;
	}
	OPENSSL_cleanse(bounce, sizeof(bounce));
	return ret;
}

/* Does @rs describe the record that holds the in-order position? */
static bool tls_tx_main_matches(const struct tls_tx_cursor *m,
				const struct tls_tx_resync *rs)
{
	if (m->rec_len && m->seq - m->rec_start == m->rec_len)
		return rs->rec_tcp_seq == m->seq &&
		       rs->rec_seq == m->rec_num + 1;
	return rs->rec_tcp_seq == m->rec_start && rs->rec_seq == m->rec_num;
}

static void tls_tx_cursor_swap(struct tls_tx_cursor *a,
			       struct tls_tx_cursor *b)
{
	struct tls_tx_cursor t = *a;

	*a = *b;
	*b = t;
}

static int tls_tx_resync_process(struct tls_tx_ctx *ctx, uint32_t tcp_seq,
				 size_t len, const struct iovec *iov,
				 unsigned int iovcnt, size_t skip,
				 const struct tls_tx_resync *rs)
{
	struct tls_tx_cursor *m = &ctx->main, *cur = &ctx->scratch;
	int64_t rec_off = tls_tx_stream_off(ctx, rs->rec_tcp_seq);
	uint32_t off = tcp_seq - rs->rec_tcp_seq;
	uint32_t end = tcp_seq + (uint32_t)len;
	unsigned int flags = TLS_TX_R_OOO;
	bool preserve, use_dump, first_rec, at_start;
	int ret;

	if (rec_off < 0 || seq_after(rs->rec_tcp_seq, tcp_seq) ||
	    off >= TLS_TX_MAX_REC_LEN || rs->rec_seq < ctx->rec_seq0)
		return -EINVAL;
	/* The first record, and only it, starts at the first record's seq. */
	first_rec = rs->rec_seq == ctx->rec_seq0;
	at_start = rec_off == 0;
	if (first_rec != at_start)
		return -EINVAL;
	if (rs->dump_len && (rs->dump_len != off || !rs->dump))
		return -EMSGSIZE;
	/* Invariant 8: never trust info that contradicts what was seen. */
	if (!tls_tx_hist_agrees(ctx, rs->rec_seq, rec_off, 0))
		return -EILSEQ;

	/* Resync info that agrees with the in-order state: nothing to redo. */
	if (m->valid && tcp_seq == m->seq && tls_tx_main_matches(m, rs) &&
	    (m->full || !rs->dump_len)) {
		ret = tls_tx_feed_iov(ctx, m, iov, iovcnt, skip);
		if (ret)
			m->valid = false;
		tls_tx_ref_follow(ctx);
		return ret;
	}

	/* Entirely old data: encrypt it aside, keep the in-order state. */
	preserve = m->valid && !seq_after(end, m->seq);

	use_dump = rs->dump_len > 0;
	if (use_dump && preserve) {
		uint32_t rec_len = tls_tx_hist_len(ctx, rs->rec_seq,
						   rs->rec_tcp_seq);

		/* No tag byte in the frame: the keystream is enough. */
		if (rec_len && off + len <= rec_len - TLS_TX_TAG_LEN)
			use_dump = false;
	}

	if (use_dump) {
		tls_tx_cursor_place(ctx, cur, rs->rec_tcp_seq, rs->rec_seq, 0,
				    true);
		ret = tls_tx_feed_dump(ctx, cur, rs->dump, rs->dump_len);
		if (ret)
			return ret;
		flags |= TLS_TX_R_DUMP;
	} else {
		/* At the record start the whole record passes: full GHASH. */
		tls_tx_cursor_place(ctx, cur, rs->rec_tcp_seq, rs->rec_seq, off,
				    off == 0);
	}
	/* The frame must start inside the record the driver named. */
	if (cur->rec_num != rs->rec_seq ||
	    (cur->rec_len && cur->seq - cur->rec_start >= cur->rec_len))
		return -EINVAL;

	/* On error the in-order state is intact: only scratch was used. */
	ret = tls_tx_feed_iov(ctx, cur, iov, iovcnt, skip);
	if (ret)
		return ret;
	/* Its keystream is on the wire now: that record starts there. */
	tls_tx_hist_note(ctx, rs->rec_seq, rec_off, 0);

	if (preserve)
		return flags | TLS_TX_R_PRESERVED;

	/* New data after a gap or a drop: continue from this frame. */
	tls_tx_cursor_swap(m, cur);
	/* Without the record length the tag position would be unknown. */
	if (!m->rec_len && m->seq - m->rec_start >= TLS_TX_HDR_LEN)
		m->valid = false;
	tls_tx_ref_follow(ctx);
	return flags | TLS_TX_R_REBASED;
}

int tls_tx_process_iov(struct tls_tx_ctx *ctx, uint32_t tcp_seq,
		       const struct iovec *iov, unsigned int iovcnt,
		       const struct tls_tx_resync *rs)
{
	size_t len = 0, skip = 0;
	int64_t stream_off;
	unsigned int i;
	int ret;

	if (!ctx || !ctx->live || (iovcnt && !iov))
		return -EINVAL;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len && !iov[i].iov_base)
			return -EINVAL;
		len += iov[i].iov_len;
		if (len > TLS_TX_MAX_FRAME)
			return -EINVAL;
	}

	/*
	 * Data sent before the first offloaded record was never TLS. The
	 * comparison is on the 64-bit stream position: after 2^31 bytes a
	 * 32-bit one would call every frame "before the start".
	 */
	stream_off = tls_tx_stream_off(ctx, tcp_seq);
	if (stream_off < 0) {
		if (ctx->ref_off > TLS_TX_BYPASS_WINDOW)
			return -EINVAL;
		skip = (size_t)-stream_off;
		if (skip >= len)
			return TLS_TX_R_BYPASS;
		tcp_seq = ctx->start_seq;
		len -= skip;
	}
	if (!len)
		return TLS_TX_R_BYPASS;

	if (rs)
		return tls_tx_resync_process(ctx, tcp_seq, len, iov, iovcnt,
					     skip, rs);

	if (!ctx->main.valid || tcp_seq != ctx->main.seq)
		return -ENODATA;
	ret = tls_tx_feed_iov(ctx, &ctx->main, iov, iovcnt, skip);
	if (ret)
		ctx->main.valid = false;
	tls_tx_ref_follow(ctx);
	return ret;
}

int tls_tx_process(struct tls_tx_ctx *ctx, uint32_t tcp_seq,
		   uint8_t *payload, size_t len,
		   const struct tls_tx_resync *rs)
{
	struct iovec iov = { .iov_base = payload, .iov_len = len };

	return tls_tx_process_iov(ctx, tcp_seq, &iov, 1, rs);
}

bool tls_tx_next_seq(const struct tls_tx_ctx *ctx, uint32_t *seq)
{
	if (!ctx->live || !ctx->main.valid)
		return false;
	*seq = ctx->main.seq;
	return true;
}

int tls_tx_init(struct tls_tx_ctx *ctx, const struct tls_tx_params *p)
{
	const EVP_CIPHER *gcm, *ctr;

	memset(ctx, 0, sizeof(*ctx));
	switch (p->cipher) {
	case TLS_TX_AES_GCM_128:
		gcm = EVP_aes_128_gcm();
		ctr = EVP_aes_128_ctr();
		break;
	case TLS_TX_AES_GCM_256:
		gcm = EVP_aes_256_gcm();
		ctr = EVP_aes_256_ctr();
		break;
	default:
		return -EINVAL;
	}

	ctx->main.gcm = EVP_CIPHER_CTX_new();
	ctx->scratch.gcm = EVP_CIPHER_CTX_new();
	ctx->ctr = EVP_CIPHER_CTX_new();
	if (!ctx->main.gcm || !ctx->scratch.gcm || !ctx->ctr)
		goto err_free;
	/* Key schedules are set once; each record only sets a new IV. */
	if (EVP_EncryptInit_ex(ctx->main.gcm, gcm, NULL, p->key, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx->scratch.gcm, gcm, NULL, p->key, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx->ctr, ctr, NULL, p->key, NULL) != 1)
		goto err_free;

	ctx->cipher = p->cipher;
	memcpy(ctx->salt, p->salt, sizeof(ctx->salt));
	memcpy(ctx->iv0, p->iv, sizeof(ctx->iv0));
	ctx->rec_seq0 = p->rec_seq;
	ctx->start_seq = p->tcp_seq;
	ctx->ref_seq = p->tcp_seq;
	ctx->ref_off = 0;
	tls_tx_cursor_place(ctx, &ctx->main, p->tcp_seq, p->rec_seq, 0, true);
	ctx->live = true;
	return 0;

err_free:
	tls_tx_destroy(ctx);
	return -ENOMEM;
}

int tls_tx_init_from_create(struct tls_tx_ctx *ctx,
			    const struct tlsnic_ctx_create *cc)
{
	struct tls_tx_params p;
	size_t key_len;
	int ret;

	if (cc->dir != TLSNIC_DIR_TX || cc->tls_version != TLSNIC_TLS_1_2)
		return -EOPNOTSUPP;
	switch (cc->cipher) {
	case TLSNIC_CIPHER_AES_GCM_128:
		p.cipher = TLS_TX_AES_GCM_128;
		key_len = 16;
		break;
	case TLSNIC_CIPHER_AES_GCM_256:
		p.cipher = TLS_TX_AES_GCM_256;
		key_len = 32;
		break;
	default:
		return -EOPNOTSUPP;
	}
	memset(p.key, 0, sizeof(p.key));
	memcpy(p.key, cc->key, key_len);
	memcpy(p.salt, cc->salt, sizeof(p.salt));
	memcpy(p.iv, cc->iv, sizeof(p.iv));
	p.rec_seq = get_be64(cc->rec_seq);
	p.tcp_seq = le32toh(cc->tcp_seq);

	ret = tls_tx_init(ctx, &p);
	OPENSSL_cleanse(&p, sizeof(p));
	return ret;
}

void tls_tx_destroy(struct tls_tx_ctx *ctx)
{
	/* EVP_CIPHER_CTX_free() wipes the key schedules it held. */
	EVP_CIPHER_CTX_free(ctx->main.gcm);
	EVP_CIPHER_CTX_free(ctx->scratch.gcm);
	EVP_CIPHER_CTX_free(ctx->ctr);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
}
