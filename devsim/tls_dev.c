// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic devsim: the TLS TX engine plugged into a port (struct dsim_tls_ops).
 */
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "csum.h"
#include "pipeline.h"
#include "tls_dev.h"
#include "tls_rx_dev.h"
#include "tls_tx.h"

/*
 * The port struct has no room for engine state, so the TLS counters live
 * here, indexed by port id. Only the data-path thread writes them.
 */
static struct tls_dev_counters tls_dev_cnt[TLS_DEV_MAX_PORTS];

static struct tls_dev_counters *port_cnt(const struct dsim_port *p)
{
	return p->id < TLS_DEV_MAX_PORTS ? &tls_dev_cnt[p->id] : NULL;
}

const struct tls_dev_counters *tls_dev_counters(unsigned int port)
{
	return port < TLS_DEV_MAX_PORTS ? &tls_dev_cnt[port] : NULL;
}

void tls_dev_counters_reset(unsigned int port)
{
	if (port < TLS_DEV_MAX_PORTS)
		memset(&tls_dev_cnt[port], 0, sizeof(tls_dev_cnt[port]));
}

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const tls_dev_counter_names[] = {
#define TLS_DEV_COUNTER_NAME(name) #name,
	TLS_DEV_COUNTERS(TLS_DEV_COUNTER_NAME)
#undef TLS_DEV_COUNTER_NAME
};

/* The struct is the list above, all uint64_t, in order. */
_Static_assert(sizeof(struct tls_dev_counters) ==
	       ARRAY_SIZE(tls_dev_counter_names) * sizeof(uint64_t),
	       "tls_dev_counters is not a plain u64 list");

int tls_dev_counters_print(FILE *f, unsigned int port)
{
	const struct tls_dev_counters *c = tls_dev_counters(port);
	uint64_t v[sizeof(*c) / sizeof(uint64_t)];
	size_t i;

	if (!c)
		return -EINVAL;
	memcpy(v, c, sizeof(v));
	for (i = 0; i < ARRAY_SIZE(v); i++)
		if (fprintf(f, "port%u.%s %llu\n", port,
			    tls_dev_counter_names[i],
			    (unsigned long long)v[i]) < 0)
			return -EIO;
	return 0;
}

static int tls_dev_ctx_init(struct dsim_port *p, struct dsim_ctx *ctx)
{
	struct tls_dev_counters *c = port_cnt(p);
	struct tls_tx_params prm;
	struct tls_tx_ctx *tx;
	int ret;

	if (!c)
		return -ERANGE;
	if (ctx->dir == TLSNIC_DIR_RX) {
		/* RX offload speaks v2 (metadata, RX_RESYNC): not to a v1 driver. */
		if (!(p->tls->caps & TLSNIC_CAP_TLS_RX) || p->abi_version < 2) {
			c->tls_ctx_rx_refused++;
			return -EOPNOTSUPP;
		}
		ret = tls_rx_dev_ctx_init(p, ctx);
		if (ret && ret != -EEXIST)
			c->tls_ctx_init_failed++;
		return ret;
	}
	if (ctx->dir != TLSNIC_DIR_TX || !(p->tls->caps & TLSNIC_CAP_TLS_TX)) {
		c->tls_ctx_init_failed++;
		return -EOPNOTSUPP;
	}
	switch (ctx->cipher) {
	case TLSNIC_CIPHER_AES_GCM_128:
		prm.cipher = TLS_TX_AES_GCM_128;
		break;
	case TLSNIC_CIPHER_AES_GCM_256:
		prm.cipher = TLS_TX_AES_GCM_256;
		break;
	default:
		c->tls_ctx_init_failed++;
		return -EOPNOTSUPP;
	}
	if (ctx->key_len > sizeof(prm.key)) {
		c->tls_ctx_init_failed++;
		return -EINVAL;
	}
	tx = calloc(1, sizeof(*tx));
	if (!tx) {
		c->tls_ctx_init_failed++;
		return -ENOMEM;
	}
	memset(prm.key, 0, sizeof(prm.key));
	memcpy(prm.key, ctx->key, ctx->key_len);
	memcpy(prm.salt, ctx->salt, sizeof(prm.salt));
	memcpy(prm.iv, ctx->iv, sizeof(prm.iv));
	prm.rec_seq = ctx->rec_seq;
	prm.tcp_seq = ctx->tcp_seq;
	ret = tls_tx_init(tx, &prm);
	OPENSSL_cleanse(&prm, sizeof(prm));
	if (ret) {
		free(tx);
		c->tls_ctx_init_failed++;
		return ret;
	}
	ctx->engine = tx;
	c->tls_ctx_tx_init++;
	return 0;
}

static void tls_dev_ctx_release(struct dsim_port *p, struct dsim_ctx *ctx)
{
	if (ctx->dir == TLSNIC_DIR_RX) {
		tls_rx_dev_ctx_release(p, ctx);
		return;
	}
	if (!ctx->engine)
		return;
	/* Wipes the key schedules and the stream state. */
	tls_tx_destroy(ctx->engine);
	free(ctx->engine);
	ctx->engine = NULL;
}

/*
 * The tuple the driver gave at CTX_CREATE, for information only: with NAT
 * on the path the frame's tuple differs, and TX must work all the same.
 */
static bool tls_dev_flow_matches(const struct dsim_ctx *ctx,
				 const uint8_t *frame,
				 const struct dsim_frame_info *fi)
{
	const uint8_t *l3 = frame + fi->l3_off, *l4 = frame + fi->l4_off;

	if (ctx->family == 4) {
		if (fi->l3 != DSIM_L3_IPV4 || memcmp(l3 + 12, ctx->saddr, 4) ||
		    memcmp(l3 + 16, ctx->daddr, 4))
			return false;
	} else {
		if (fi->l3 != DSIM_L3_IPV6 || memcmp(l3 + 8, ctx->saddr, 16) ||
		    memcmp(l3 + 24, ctx->daddr, 16))
			return false;
	}
	return dsim_get_be16(l4) == ctx->sport && dsim_get_be16(l4 + 2) == ctx->dport;
}

/* --tls-tx-fail: threshold of a uniform 64-bit draw, per-port streams. */
static struct {
	uint64_t thr;
	bool all;
	uint64_t rng[TLS_DEV_MAX_PORTS];
} tx_fail;

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int tls_dev_set_tx_fail(double pct, uint64_t seed)
{
	unsigned int i;

	if (!isfinite(pct) || pct < 0.0 || pct > 100.0)
		return -EINVAL;
	tx_fail.all = pct >= 100.0;
	/* pct / 100 < 1: times 2^64 (a power of two, exact) still fits. */
	tx_fail.thr = tx_fail.all ? 0 : (uint64_t)(pct / 100.0 * 18446744073709551616.0);
	for (i = 0; i < TLS_DEV_MAX_PORTS; i++) {
		/* Not the wire's stream for the same seed and port. */
		uint64_t s = seed ^ 0x746c732d74782d66ULL ^ i;

		tx_fail.rng[i] = splitmix64(&s);
	}
	return 0;
}

/* One draw per in-order frame, whatever the rate, keeps runs comparable. */
static bool tls_dev_inject_fail(const struct dsim_port *p, struct tls_tx_ctx *tx,
				uint32_t tcp_seq, const struct tls_tx_resync *rs)
{
	uint32_t next;
	uint64_t r;

	if (rs || (!tx_fail.thr && !tx_fail.all) || !tls_tx_next_seq(tx, &next) ||
	    next != tcp_seq)
		return false;
	r = splitmix64(&tx_fail.rng[p->id]);
	return tx_fail.all || r < tx_fail.thr;
}

static uint8_t tls_dev_drop_reason(int err)
{
	switch (err) {
	case -ENODATA:
		return TLSNIC_TX_DROP_NO_SYNC;
	case -EMSGSIZE:
		return TLSNIC_TX_DROP_DUMP;
	case -EBADMSG:
		return TLSNIC_TX_DROP_BAD_RECORD;
	case -EINVAL:
	case -EILSEQ:
		return TLSNIC_TX_DROP_RESYNC_INFO;
	default:
		return TLSNIC_TX_DROP_DEVICE;
	}
}

/* Tells the driver its view of the context's stream is wrong (tls_dev.h). */
static void tls_dev_report_drop(struct dsim_port *p, struct tls_dev_counters *c,
				struct dsim_ctx *ctx, uint32_t tcp_seq, int err)
{
	struct tlsnic_tx_drop ev;

	if (ctx->tx_drop_reported) {
		c->tx_tls_drop_ev_coalesced++;
		return;
	}
	if (dsim_msgq_space(&p->msgq) <= TLS_DEV_EV_RESERVE) {
		c->tx_tls_drop_ev_lost++;
		p->cnt.ev_dropped++;
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.handle = htole32(ctx->handle);
	ev.tcp_seq = htole32(tcp_seq);
	ev.reason = tls_dev_drop_reason(err);
	if (dsim_port_post_event(p, TLSNIC_EV_TX_DROP, &ev, sizeof(ev))) {
		c->tx_tls_drop_ev_lost++;
		return;
	}
	ctx->tx_drop_reported = true;
	c->tx_tls_drop_ev++;
}

/* The one place a TLS frame the engine refused is counted and reported. */
static int tls_dev_count_err(struct dsim_port *p, struct tls_dev_counters *c,
			     struct dsim_ctx *ctx, uint32_t tcp_seq, int err)
{
	switch (err) {
	case -ENODATA:
		c->tx_tls_drop_no_sync_data++;
		break;
	case -EMSGSIZE:
		c->tx_tls_drop_dump_len++;
		break;
	case -EBADMSG:
		c->tx_tls_drop_bad_record++;
		break;
	case -EINVAL:
		c->tx_tls_drop_resync_info++;
		break;
	case -EILSEQ:
		c->tx_tls_drop_resync_conflict++;
		break;
	case -ECANCELED:
		c->tx_tls_drop_injected++;
		break;
	default:
		c->tx_tls_drop_error++;
		break;
	}
	tls_dev_report_drop(p, c, ctx, tcp_seq, err);
	return err;
}

/*
 * The headers are in frame (checked against len, the whole frame's
 * length); the payload in pay, pay_cnt pieces.
 */
static int tls_dev_tx_iov(struct dsim_port *p, const struct dsim_tx_req *req,
			  const uint8_t *frame, uint32_t len,
			  const struct dsim_frame_info *fi,
			  const struct iovec *pay, unsigned int pay_cnt)
{
	struct tls_dev_counters *c = port_cnt(p);
	struct tls_tx_resync rs, *rsp = NULL;
	uint32_t pay_off, pay_len, tcp_seq;
	struct dsim_ctx *ctx;
	int ret;

	if (!c)
		return -ERANGE;
	ctx = dsim_ctx_lookup(&p->ctxs, req->ctx_handle);
	if (!ctx || ctx->dir != TLSNIC_DIR_TX || !ctx->engine) {
		c->tx_tls_drop_bad_handle++;
		return -ENOENT;
	}
	if (fi->l4_proto != DSIM_IPPROTO_TCP || fi->fragment) {
		c->tx_tls_drop_not_tcp++;
		return -EPROTO;
	}
	if (!tls_dev_flow_matches(ctx, frame, fi))
		c->tx_tls_flow_mismatch++;
	pay_off = fi->l4_off + fi->l4_hlen;
	if (pay_off > fi->l3_end || fi->l3_end > len) {
		c->tx_tls_drop_not_tcp++;
		return -EPROTO;
	}
	pay_len = fi->l3_end - pay_off;

	if (req->flags & TLSNIC_TX_F_TLS_RESYNC) {
		rs.rec_tcp_seq = req->rec_tcp_seq;
		rs.rec_seq = req->rec_seq;
		rs.dump = req->dump_len ? req->dump : NULL;
		rs.dump_len = req->dump_len;
		rsp = &rs;
		/* The driver resyncs: the next drop is news again. */
		ctx->tx_drop_reported = false;
	}

	tcp_seq = dsim_get_be32(frame + fi->l4_off + 4);
	if (tls_dev_inject_fail(p, ctx->engine, tcp_seq, rsp))
		return tls_dev_count_err(p, c, ctx, tcp_seq, -ECANCELED);
	ret = tls_tx_process_iov(ctx->engine, tcp_seq, pay, pay_cnt, rsp);
	if (ret < 0)
		return tls_dev_count_err(p, c, ctx, tcp_seq, ret);
	if (ret & TLS_TX_R_BYPASS) {
		c->tx_tls_skip_no_sync_data++;
		return 0;
	}
	c->tx_tls_encrypted_packets++;
	c->tx_tls_encrypted_bytes += pay_len;
	if (ret & TLS_TX_R_OOO)
		c->tx_tls_ooo++;
	if (ret & TLS_TX_R_PRESERVED)
		c->tx_tls_resync_preserved++;
	if (ret & TLS_TX_R_REBASED)
		c->tx_tls_resync_rebased++;
	if (ret & TLS_TX_R_DUMP) {
		c->tx_tls_dump_packets++;
		c->tx_tls_dump_bytes += req->dump_len;
	}
	return 0;
}

static int tls_dev_tx(struct dsim_port *p, const struct dsim_tx_req *req,
		      uint8_t *frame, uint32_t len,
		      const struct dsim_frame_info *fi)
{
	uint32_t pay_off = fi->l4_off + fi->l4_hlen;
	struct iovec pay = { .iov_base = frame + pay_off };

	/* Checked again below, with the counter. */
	if (pay_off <= fi->l3_end)
		pay.iov_len = fi->l3_end - pay_off;
	return tls_dev_tx_iov(p, req, frame, len, fi, &pay, 1);
}

static int tls_dev_tx_sg(struct dsim_port *p, const struct dsim_tx_req *req,
			 const uint8_t *frame, const struct dsim_frame_info *fi,
			 const struct iovec *pay, unsigned int pay_cnt)
{
	return tls_dev_tx_iov(p, req, frame, fi->l3_end, fi, pay, pay_cnt);
}

const struct dsim_tls_ops tls_dev_tx_ops = {
	.caps = TLSNIC_CAP_TLS_TX | TLSNIC_CAP_TX_DROP_EVENT,
	.ctx_init = tls_dev_ctx_init,
	.ctx_release = tls_dev_ctx_release,
	.tx = tls_dev_tx,
	.tx_sg = tls_dev_tx_sg,
};

const struct dsim_tls_ops tls_dev_ops = {
	.caps = TLSNIC_CAP_TLS_TX | TLSNIC_CAP_TX_DROP_EVENT | TLSNIC_CAP_TLS_RX |
		TLSNIC_CAP_RX_RESYNC_REQ,
	.ctx_init = tls_dev_ctx_init,
	.ctx_release = tls_dev_ctx_release,
	.tx = tls_dev_tx,
	.tx_sg = tls_dev_tx_sg,
	.rx = tls_rx_dev_rx,
	.rx_resync = tls_rx_dev_resync,
};

const struct dsim_tls_ops tls_dev_rx_ops = {
	.caps = TLSNIC_CAP_TLS_RX | TLSNIC_CAP_RX_RESYNC_REQ,
	.ctx_init = tls_dev_ctx_init,
	.ctx_release = tls_dev_ctx_release,
	.rx = tls_rx_dev_rx,
	.rx_resync = tls_rx_dev_resync,
};
