// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic devsim: TLS 1.2 AES-GCM receive record engine.
 * See tls_rx.h and docs/tls-rx-offload.md.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../uapi/tlsnic.h"
#include "tls_rx.h"

/* The reference follows segments at most this far ahead in one step. */
#define TLS_RX_REF_STEP		(1LL << 30)

static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Forward only, and not by a wild jump (the segment is not checked yet). */
static void tls_rx_ref_follow(struct tls_rx_ctx *ctx, uint32_t end)
{
	int64_t off = tls_rec_stream_off(&ctx->st, end);

	if (off - (int64_t)ctx->st.ref_off <= TLS_RX_REF_STEP)
		tls_rec_ref_follow(&ctx->st, end);
}

static bool tls_rx_plausible(const uint8_t *h)
{
	uint32_t clen = (uint32_t)h[3] << 8 | h[4];

	return h[1] == TLS_REC_VERSION_MAJOR &&
	       h[2] == TLS_REC_VERSION_MINOR && h[0] >= 20 && h[0] <= 24 &&
	       clen >= TLS_RX_SEARCH_MIN_LEN && clen <= TLS_RX_SEARCH_MAX_LEN;
}

static void tls_rx_report(struct tls_rx_ctx *ctx, struct tls_rx_result *res)
{
	ctx->stats.resync_req++;
	/* The driver echoes it: an answer to an older request is stale. */
	if (!++ctx->resync_id)
		ctx->resync_id = 1;
	res->resync_req = true;
	res->resync_seq = ctx->cand_seq;
	res->resync_id = ctx->resync_id;
	res->resync_pos = (uint64_t)tls_rec_stream_off(&ctx->st, ctx->cand_seq);
}

/*
 * Follow records from a header at @hdr_seq: @npre of its bytes in @pre
 * (the end of the previous segment), then all of @buf. Bytes are only
 * read (a cursor of unknown record number writes nothing).
 */
static bool tls_rx_try(struct tls_rx_ctx *ctx, struct tls_rec_cursor *t,
		       uint32_t hdr_seq, const uint8_t *pre, size_t npre,
		       uint8_t *buf, size_t len)
{
	uint8_t tmp[TLS_REC_HDR_LEN];

	*t = ctx->cur;
	tls_rec_cursor_place(&ctx->st, t, hdr_seq, 0, 0, false);
	t->num_known = false;
	t->rec_len = 0;
	if (npre) {
		memcpy(tmp, pre, npre);
		if (tls_rec_feed(&ctx->st, t, tmp, tmp, npre, false))
			return false;
	}
	return !tls_rec_feed(&ctx->st, t, buf, buf, len, false);
}

static void tls_rx_found(struct tls_rx_ctx *ctx, const struct tls_rec_cursor *t,
			 uint32_t hdr_seq, const uint8_t *hdr,
			 struct tls_rx_result *res)
{
	ctx->cur = *t;
	ctx->state = TLS_RX_TRACK;
	ctx->carry_len = 0;
	ctx->cand_seq = hdr_seq;
	ctx->cand_len = TLS_REC_HDR_LEN + ((uint32_t)hdr[3] << 8 | hdr[4]);
	tls_rx_report(ctx, res);
}

/*
 * Look for a resync candidate in @buf (TCP seq @seq), only at stream
 * positions at or after @from_off: a header there whose record, and every
 * record after it in the segment, look valid. A header may begin in the
 * last bytes searched before, if they end where @buf begins. Found:
 * follow it (TRACK).
 */
static void tls_rx_search(struct tls_rx_ctx *ctx, uint32_t seq,
			  uint8_t *buf, size_t len, int64_t from_off,
			  struct tls_rx_result *res)
{
	int64_t pos = tls_rec_stream_off(&ctx->st, seq);
	struct tls_rec_cursor t;
	size_t p = 0, k, j;

	ctx->state = TLS_RX_SEARCH;
	ctx->cur.valid = false;
	/* Records before the context's start are the kernel's business. */
	if (from_off < 0)
		from_off = 0;
	if (pos < from_off) {
		if ((uint64_t)(from_off - pos) >= len)
			return;
		p = (size_t)(from_off - pos);
	}

	/* A header split between the previous segment and this one. */
	k = ctx->carry_len;
	if (k && ctx->carry_end == seq + (uint32_t)p) {
		uint8_t w[2 * TLS_REC_HDR_LEN];

		memcpy(w, ctx->carry, k);
		memcpy(w + k, buf + p, len - p < TLS_REC_HDR_LEN ?
					len - p : TLS_REC_HDR_LEN);
		for (j = k; j >= 1; j--) {
			const uint8_t *h = w + (k - j);

			if (len - p < TLS_REC_HDR_LEN - j ||
			    !tls_rx_plausible(h) ||
			    !tls_rx_try(ctx, &t, seq + (uint32_t)p - (uint32_t)j,
					h, j, buf + p, len - p))
				continue;
			tls_rx_found(ctx, &t, seq + (uint32_t)p - (uint32_t)j,
				     h, res);
			return;
		}
	}

	for (j = p; j + TLS_REC_HDR_LEN <= len; j++) {
		if (!tls_rx_plausible(buf + j) ||
		    !tls_rx_try(ctx, &t, seq + (uint32_t)j, NULL, 0, buf + j,
				len - j))
			continue;
		tls_rx_found(ctx, &t, seq + (uint32_t)j, buf + j, res);
		return;
	}

	/* Keep the tail: the next segment may complete a header. */
	k = len - p < sizeof(ctx->carry) ? len - p : sizeof(ctx->carry);
	memcpy(ctx->carry, buf + len - k, k);
	ctx->carry_len = (uint8_t)k;
	ctx->carry_end = seq + (uint32_t)len;
}

/* Give back what tls_rec_feed() from @snap decrypted in @buf[0, @n). */
static int tls_rx_undo(struct tls_rx_ctx *ctx,
		       const struct tls_rec_cursor *snap, uint8_t *buf,
		       size_t n)
{
	struct tls_rec_cursor u = *snap;

	return tls_rec_feed(&ctx->st, &u, buf, buf, n, true);
}

/*
 * TRACK: after TLS_RX_RETRY_RECORDS unconfirmed records, ask again for a
 * record whose header starts in this segment (the kernel may have missed
 * or dropped the first request).
 */
static void tls_rx_track_retry(struct tls_rx_ctx *ctx, uint32_t seq,
			       size_t len, struct tls_rx_result *res)
{
	struct tls_rec_cursor *c = &ctx->cur;

	if (c->rec_num < TLS_RX_RETRY_RECORDS ||
	    (uint32_t)(c->rec_start - seq) >= len ||
	    c->seq - c->rec_start < TLS_REC_HDR_LEN || !c->rec_len)
		return;
	ctx->cand_seq = c->rec_start;
	ctx->cand_len = c->rec_len;
	c->rec_num = 0;
	tls_rx_report(ctx, res);
}

/*
 * The cursor is at @buf[skip]: run the rest of the segment through it.
 * Marked only if nothing was skipped and every byte was decrypted with
 * every tag verified; otherwise whatever was decrypted is given back.
 */
static int tls_rx_in_seq(struct tls_rx_ctx *ctx, uint32_t seq, uint8_t *buf,
			 size_t len, size_t skip, struct tls_rx_result *res)
{
	struct tls_rec_cursor snap = ctx->cur;
	uint64_t ok0 = ctx->st.tags_ok, bad0 = ctx->st.tags_bad;
	uint8_t *p = buf + skip;
	size_t n = len - skip;
	uint64_t bad;
	int ret;

	ret = tls_rec_feed(&ctx->st, &ctx->cur, p, p, n, false);
	bad = ctx->st.tags_bad - bad0;
	ctx->stats.records_ok += ctx->st.tags_ok - ok0;
	ctx->stats.auth_fail += bad;
	if (bad)
		res->flags |= TLS_RX_R_AUTH_FAIL;

	if (ret) {
		size_t done = ctx->cur.seq - snap.seq;
		bool any = snap.full || ctx->cur.full;	/* GCM ran on bytes */
		int uret = any && done ? tls_rx_undo(ctx, &snap, p, done) : 0;

		if (any) {
			res->flags |= TLS_RX_R_RESTORED;
			ctx->stats.restored++;
		}
		res->flags |= TLS_RX_R_BAD_RECORD;
		ctx->stats.bad_record++;
		if (ctx->state == TLS_RX_TRACK)
			ctx->stats.track_lost++;
		ctx->state = TLS_RX_SEARCH;
		ctx->cur.valid = false;
		if (ret == -EIO || uret)
			return -EIO;
		/* The header that failed may be garbage: search past it. */
		tls_rx_search(ctx, snap.seq + (uint32_t)done + 1, p + done + 1,
			      n - done - 1, 0, res);
		return 0;
	}

	if (skip == 0 && snap.full && !bad) {
		res->decrypted = true;
		ctx->stats.decrypted_packets++;
		ctx->stats.decrypted_bytes += len;
	} else if (snap.full || ctx->cur.full) {
		ret = tls_rx_undo(ctx, &snap, p, n);
		if (ret) {
			ctx->state = TLS_RX_SEARCH;
			ctx->cur.valid = false;
			return -EIO;
		}
		res->flags |= TLS_RX_R_RESTORED;
		ctx->stats.restored++;
	}
	if (ctx->state == TLS_RX_TRACK)
		tls_rx_track_retry(ctx, seq, len, res);
	return 0;
}

int tls_rx_process(struct tls_rx_ctx *ctx, uint32_t tcp_seq,
		   uint8_t *payload, size_t len, struct tls_rx_result *res)
{
	uint32_t end = tcp_seq + (uint32_t)len;
	int ret = 0;

	if (!ctx || !ctx->live || !res || (len && !payload) ||
	    len > TLS_RX_MAX_SEG)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	if (!len)
		return 0;

	if (ctx->state != TLS_RX_SEARCH) {
		uint32_t next = ctx->cur.seq;

		if (tcp_seq == next)
			goto in_seq;
		res->flags |= TLS_RX_R_OOO;
		ctx->stats.ooo++;
		if (!seq_before(next, end)) {
			/* No new byte: the state stays valid. */
			res->flags |= TLS_RX_R_OLD;
			ctx->stats.old++;
			return 0;
		}
		if (seq_before(tcp_seq, next)) {
			ret = tls_rx_in_seq(ctx, tcp_seq, payload, len,
					    next - tcp_seq, res);
			goto out;
		}
		/* A gap: position lost. */
		if (ctx->state == TLS_RX_TRACK)
			ctx->stats.track_lost++;
		ctx->state = TLS_RX_SEARCH;
		ctx->cur.valid = false;
	}
	/* Search only new bytes, and never before the context's start. */
	tls_rx_search(ctx, tcp_seq, payload, len, (int64_t)ctx->st.ref_off,
		      res);
	goto out;

in_seq:
	ret = tls_rx_in_seq(ctx, tcp_seq, payload, len, 0, res);
out:
	tls_rx_ref_follow(ctx, end);
	return ret;
}

int tls_rx_confirm(struct tls_rx_ctx *ctx, uint32_t hdr_seq, uint64_t rec_num)
{
	struct tls_rec_cursor *c = &ctx->cur;
	int64_t off, cur_off;
	uint64_t cur_num;

	if (!ctx || !ctx->live)
		return -EINVAL;
	if (ctx->state != TLS_RX_TRACK || hdr_seq != ctx->cand_seq) {
		ctx->stats.resync_refused++;
		return -ESTALE;
	}
	off = tls_rec_stream_off(&ctx->st, hdr_seq);
	cur_off = tls_rec_stream_off(&ctx->st, c->rec_start);
	if (__builtin_add_overflow(rec_num, c->rec_num, &cur_num)) {
		ctx->stats.resync_refused++;
		return -ERANGE;
	}
	/* The first record, and only it, starts at the context's start. */
	if (off < 0 || rec_num < ctx->st.rec_seq0 ||
	    (rec_num == ctx->st.rec_seq0) != (off == 0) ||
	    !tls_rec_hist_agrees(&ctx->st, rec_num, off, ctx->cand_len) ||
	    !tls_rec_hist_agrees(&ctx->st, cur_num, cur_off, c->rec_len)) {
		ctx->stats.resync_refused++;
		return -EILSEQ;
	}
	/* Not remembered: only verified records are (tls_rec.c). */
	c->rec_num = cur_num;
	c->num_known = true;
	/* Decrypt from the next record header on. */
	c->full = c->seq == c->rec_start;
	ctx->state = TLS_RX_SYNC;
	ctx->stats.resync_confirmed++;
	return 0;
}

int tls_rx_init(struct tls_rx_ctx *ctx, const struct tls_rx_params *p)
{
	int ret;

	memset(ctx, 0, sizeof(*ctx));
	ret = tls_rec_stream_init(&ctx->st, TLS_REC_DECRYPT, p->cipher, p->key,
				  p->salt, NULL, p->rec_seq, p->tcp_seq);
	if (ret)
		return ret;
	ret = tls_rec_cursor_init(&ctx->st, &ctx->cur, p->key);
	if (ret) {
		tls_rx_destroy(ctx);
		return ret == -EIO ? -ENOMEM : ret;
	}
	/* The record at tcp_seq is known: in sequence from there. */
	tls_rec_cursor_place(&ctx->st, &ctx->cur, p->tcp_seq, p->rec_seq, 0,
			     true);
	ctx->state = TLS_RX_SYNC;
	ctx->live = true;
	return 0;
}

int tls_rx_init_from_create(struct tls_rx_ctx *ctx,
			    const struct tlsnic_ctx_create *cc)
{
	struct tls_rx_params p;
	size_t key_len;
	int ret;

	ret = tls_rec_from_create(cc, TLSNIC_DIR_RX, &p.cipher, &key_len,
				  &p.rec_seq, &p.tcp_seq);
	if (ret)
		return ret;
	memset(p.key, 0, sizeof(p.key));
	memcpy(p.key, cc->key, key_len);
	memcpy(p.salt, cc->salt, sizeof(p.salt));

	ret = tls_rx_init(ctx, &p);
	OPENSSL_cleanse(&p, sizeof(p));
	return ret;
}

void tls_rx_destroy(struct tls_rx_ctx *ctx)
{
	tls_rec_cursor_destroy(&ctx->cur);
	tls_rec_stream_destroy(&ctx->st);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
}
