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

static inline size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The in-order state moved (at most a frame): move the reference along. */
static void tls_tx_ref_follow(struct tls_tx_ctx *ctx)
{
	if (ctx->main.valid)
		tls_rec_ref_follow(&ctx->st, ctx->main.seq);
}

static int tls_tx_feed(struct tls_tx_ctx *ctx, struct tls_rec_cursor *cur,
		       const uint8_t *in, uint8_t *out, size_t len)
{
	return tls_rec_feed(&ctx->st, cur, in, out, len, false);
}

/* Feed the frame in place, leaving its first @skip bytes alone. */
static int tls_tx_feed_iov(struct tls_tx_ctx *ctx, struct tls_rec_cursor *cur,
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
static int tls_tx_feed_dump(struct tls_tx_ctx *ctx, struct tls_rec_cursor *cur,
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
static bool tls_tx_main_matches(const struct tls_rec_cursor *m,
				const struct tls_tx_resync *rs)
{
	if (m->rec_len && m->seq - m->rec_start == m->rec_len)
		return rs->rec_tcp_seq == m->seq &&
		       rs->rec_seq == m->rec_num + 1;
	return rs->rec_tcp_seq == m->rec_start && rs->rec_seq == m->rec_num;
}

static void tls_tx_cursor_swap(struct tls_rec_cursor *a,
			       struct tls_rec_cursor *b)
{
	struct tls_rec_cursor t = *a;

	*a = *b;
	*b = t;
}

static int tls_tx_resync_process(struct tls_tx_ctx *ctx, uint32_t tcp_seq,
				 size_t len, const struct iovec *iov,
				 unsigned int iovcnt, size_t skip,
				 const struct tls_tx_resync *rs)
{
	struct tls_rec_cursor *m = &ctx->main, *cur = &ctx->scratch;
	int64_t rec_off = tls_rec_stream_off(&ctx->st, rs->rec_tcp_seq);
	uint32_t off = tcp_seq - rs->rec_tcp_seq;
	uint32_t end = tcp_seq + (uint32_t)len;
	unsigned int flags = TLS_TX_R_OOO;
	bool preserve, use_dump, first_rec, at_start;
	int ret;

	if (rec_off < 0 || seq_after(rs->rec_tcp_seq, tcp_seq) ||
	    off >= TLS_TX_MAX_REC_LEN || rs->rec_seq < ctx->st.rec_seq0)
		return -EINVAL;
	/* The first record, and only it, starts at the first record's seq. */
	first_rec = rs->rec_seq == ctx->st.rec_seq0;
	at_start = rec_off == 0;
	if (first_rec != at_start)
		return -EINVAL;
	if (rs->dump_len && (rs->dump_len != off || !rs->dump))
		return -EMSGSIZE;
	/* Invariant 8: never trust info that contradicts what was seen. */
	if (!tls_rec_hist_agrees(&ctx->st, rs->rec_seq, rec_off, 0))
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
		uint32_t rec_len = tls_rec_hist_len(&ctx->st, rs->rec_seq,
						   rs->rec_tcp_seq);

		/* No tag byte in the frame: the keystream is enough. */
		if (rec_len && off + len <= rec_len - TLS_TX_TAG_LEN)
			use_dump = false;
	}

	if (use_dump) {
		tls_rec_cursor_place(&ctx->st, cur, rs->rec_tcp_seq, rs->rec_seq, 0,
				    true);
		ret = tls_tx_feed_dump(ctx, cur, rs->dump, rs->dump_len);
		if (ret)
			return ret;
		flags |= TLS_TX_R_DUMP;
	} else {
		/* At the record start the whole record passes: full GHASH. */
		tls_rec_cursor_place(&ctx->st, cur, rs->rec_tcp_seq, rs->rec_seq, off,
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
	tls_rec_hist_note(&ctx->st, rs->rec_seq, rec_off, 0);

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
	stream_off = tls_rec_stream_off(&ctx->st, tcp_seq);
	if (stream_off < 0) {
		if (ctx->st.ref_off > TLS_TX_BYPASS_WINDOW)
			return -EINVAL;
		skip = (size_t)-stream_off;
		if (skip >= len)
			return TLS_TX_R_BYPASS;
		tcp_seq = ctx->st.start_seq;
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
	int ret;

	memset(ctx, 0, sizeof(*ctx));
	if (p->cipher != TLS_TX_AES_GCM_128 && p->cipher != TLS_TX_AES_GCM_256)
		return -EINVAL;
	ret = tls_rec_stream_init(&ctx->st, TLS_REC_ENCRYPT,
				  (enum tls_rec_cipher)p->cipher, p->key,
				  p->salt, p->iv, p->rec_seq, p->tcp_seq);
	if (ret)
		goto err;
	if (tls_rec_cursor_init(&ctx->st, &ctx->main, p->key) ||
	    tls_rec_cursor_init(&ctx->st, &ctx->scratch, p->key))
		goto err;
	tls_rec_cursor_place(&ctx->st, &ctx->main, p->tcp_seq, p->rec_seq, 0,
			     true);
	ctx->live = true;
	return 0;

err:
	tls_tx_destroy(ctx);
	return -ENOMEM;
}

int tls_tx_init_from_create(struct tls_tx_ctx *ctx,
			    const struct tlsnic_ctx_create *cc)
{
	enum tls_rec_cipher cipher;
	struct tls_tx_params p;
	size_t key_len;
	int ret;

	ret = tls_rec_from_create(cc, TLSNIC_DIR_TX, &cipher, &key_len,
				  &p.rec_seq, &p.tcp_seq);
	if (ret)
		return ret;
	p.cipher = (enum tls_tx_cipher)cipher;
	memset(p.key, 0, sizeof(p.key));
	memcpy(p.key, cc->key, key_len);
	memcpy(p.salt, cc->salt, sizeof(p.salt));
	memcpy(p.iv, cc->iv, sizeof(p.iv));

	ret = tls_tx_init(ctx, &p);
	OPENSSL_cleanse(&p, sizeof(p));
	return ret;
}

void tls_tx_destroy(struct tls_tx_ctx *ctx)
{
	tls_rec_cursor_destroy(&ctx->main);
	tls_rec_cursor_destroy(&ctx->scratch);
	tls_rec_stream_destroy(&ctx->st);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
}
