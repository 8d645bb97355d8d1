// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic devsim: the TLS RX engine plugged into a port. See tls_rx_dev.h.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "csum.h"
#include "tls_rx.h"
#include "tls_rx_dev.h"

#define TCP_SEQ_OFF	4
#define TCP_CSUM_OFF	16

static void put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

int tls_rx_dev_ctx_init(struct dsim_port *p, struct dsim_ctx *ctx)
{
	struct tlsnic_ctx_create cc;
	struct tls_rx_ctx *rx;
	int ret;

	/* One context per flow: the frame's tuple is all that finds it. */
	ret = dsim_ctx_flow_add(&p->ctxs, ctx);
	if (ret)
		return ret;
	rx = calloc(1, sizeof(*rx));
	if (!rx)
		return -ENOMEM;	/* dsim_ctx_free() unhashes */
	memset(&cc, 0, sizeof(cc));
	cc.dir = ctx->dir;
	cc.tls_version = ctx->tls_version;
	cc.cipher = ctx->cipher;
	cc.family = ctx->family;
	memcpy(cc.key, ctx->key, sizeof(cc.key));
	memcpy(cc.salt, ctx->salt, sizeof(cc.salt));
	put_be64(cc.rec_seq, ctx->rec_seq);
	cc.tcp_seq = htole32(ctx->tcp_seq);
	ret = tls_rx_init_from_create(rx, &cc);
	OPENSSL_cleanse(&cc, sizeof(cc));
	if (ret) {
		free(rx);
		return ret;
	}
	ctx->engine = rx;
	p->cnt.rx_tls_ctx_created++;
	p->cnt.rx_tls_ctx_active++;
	return 0;
}

void tls_rx_dev_ctx_release(struct dsim_port *p, struct dsim_ctx *ctx)
{
	if (!ctx->engine)
		return;
	/* Invariant 6: key schedules and stream state wiped. */
	tls_rx_destroy(ctx->engine);
	free(ctx->engine);
	ctx->engine = NULL;
	p->cnt.rx_tls_ctx_destroyed++;
	p->cnt.rx_tls_ctx_active--;
}

/* The flow of a parsed TCP frame, as an RX context names it. */
static void frame_flow(const uint8_t *frame, const struct dsim_frame_info *fi,
		       struct dsim_flow *f)
{
	const uint8_t *l3 = frame + fi->l3_off, *l4 = frame + fi->l4_off;

	memset(f, 0, sizeof(*f));
	if (fi->l3 == DSIM_L3_IPV4) {
		f->family = 4;
		memcpy(f->saddr, l3 + 12, 4);
		memcpy(f->daddr, l3 + 16, 4);
	} else {
		f->family = 6;
		memcpy(f->saddr, l3 + 8, 16);
		memcpy(f->daddr, l3 + 24, 16);
	}
	f->sport = dsim_get_be16(l4);
	f->dport = dsim_get_be16(l4 + 2);
}

/* The TCP checksum over what the frame holds now (the plaintext). */
static void tcp_csum_rewrite(uint8_t *frame, const struct dsim_frame_info *fi)
{
	const uint8_t *l3 = frame + fi->l3_off;
	uint32_t l4_len = fi->l3_end - fi->l4_off;
	uint8_t *l4 = frame + fi->l4_off;
	uint32_t sum;

	if (fi->l3 == DSIM_L3_IPV4)
		sum = dsim_csum_pseudo_v4(l3 + 12, l3 + 16, DSIM_IPPROTO_TCP, l4_len);
	else
		sum = dsim_csum_pseudo_v6(l3 + 8, l3 + 24, DSIM_IPPROTO_TCP, l4_len);
	dsim_put_be16(l4 + TCP_CSUM_OFF, 0);
	dsim_put_be16(l4 + TCP_CSUM_OFF, dsim_csum_finish(dsim_csum_add(sum, l4, l4_len)));
}

/* What the engine counted for this frame goes to the port's counters. */
static void count_frame(struct dsim_counters *c, const struct tls_rx_stats *a,
			const struct tls_rx_stats *b)
{
	c->rx_tls_decrypted_packets += b->decrypted_packets - a->decrypted_packets;
	c->rx_tls_decrypted_bytes += b->decrypted_bytes - a->decrypted_bytes;
	c->rx_tls_records_ok += b->records_ok - a->records_ok;
	c->rx_tls_auth_fail += b->auth_fail - a->auth_fail;
	c->rx_tls_bad_record += b->bad_record - a->bad_record;
	c->rx_tls_ooo += b->ooo - a->ooo;
	c->rx_tls_restored += b->restored - a->restored;
}

void tls_rx_dev_rx(struct dsim_port *p, uint8_t *frame, uint32_t len,
		   const struct dsim_frame_info *fi, struct tlsnic_rx_meta *meta)
{
	uint32_t pay_off = fi->l4_off + fi->l4_hlen, pay_len, seq;
	struct tls_rx_stats before;
	struct tls_rx_result res;
	struct tls_rx_ctx *rx;
	struct dsim_flow flow;
	struct dsim_ctx *ctx;
	uint16_t flags;
	int ret;

	/* A v1 driver gets v1 metadata; no RX context, nothing to do. */
	if (p->abi_version < 2 || !p->ctxs.nr_flows)
		return;
	if (fi->l4_proto != DSIM_IPPROTO_TCP || fi->fragment ||
	    (fi->l3 != DSIM_L3_IPV4 && fi->l3 != DSIM_L3_IPV6) ||
	    pay_off > fi->l3_end || fi->l3_end > len)
		return;
	frame_flow(frame, fi, &flow);
	ctx = dsim_ctx_flow_find(&p->ctxs, &flow);
	if (!ctx || !ctx->engine)
		return;
	meta->ctx_handle = htole32(ctx->handle);
	flags = le16toh(meta->flags);
	if (!(flags & TLSNIC_RX_F_CSUM_OK)) {
		/* Not what the peer sent: TCP drops it, the stream never saw it. */
		p->cnt.rx_tls_csum_bad++;
		return;
	}
	pay_len = fi->l3_end - pay_off;
	if (!pay_len)
		return;
	rx = ctx->engine;
	seq = dsim_get_be32(frame + fi->l4_off + TCP_SEQ_OFF);
	before = rx->stats;
	ret = tls_rx_process(rx, seq, frame + pay_off, pay_len, &res);
	count_frame(&p->cnt, &before, &rx->stats);
	if (ret) {
		/* Crypto library failure: frame as it came, position lost. */
		p->cnt.rx_tls_bad_record++;
		return;
	}
	if (res.decrypted) {
		tcp_csum_rewrite(frame, fi);
		flags |= TLSNIC_RX_F_TLS_DECRYPTED;
	}
	if (res.resync_req) {
		flags |= TLSNIC_RX_F_TLS_RESYNC_REQ;
		meta->resync_seq = htole32(res.resync_seq);
		meta->resync_id = htole32(res.resync_id);
		p->cnt.rx_tls_resync_req++;
	}
	meta->flags = htole16(flags);
}

uint16_t tls_rx_dev_resync(struct dsim_port *p, struct dsim_ctx *ctx,
			   uint32_t tcp_seq, uint64_t rec_seq, uint32_t resync_id)
{
	struct tls_rx_ctx *rx = ctx->engine;
	int ret;

	if (!rx || ctx->dir != TLSNIC_DIR_RX)
		return TLSNIC_ST_BAD_HANDLE;
	/* Only the open request: same id (the engine checks the sequence). */
	if (rx->state != TLS_RX_TRACK || resync_id != rx->resync_id) {
		rx->stats.resync_refused++;
		p->cnt.rx_tls_resync_stale++;
		return TLSNIC_ST_STALE;
	}
	ret = tls_rx_confirm(rx, tcp_seq, rec_seq);
	if (!ret) {
		p->cnt.rx_tls_resync_ok++;
		return TLSNIC_ST_OK;
	}
	if (ret == -ESTALE) {
		p->cnt.rx_tls_resync_stale++;
		return TLSNIC_ST_STALE;
	}
	p->cnt.rx_tls_resync_refused++;
	return TLSNIC_ST_REFUSED;
}
