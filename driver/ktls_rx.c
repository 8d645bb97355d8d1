// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic kTLS RX offload (ABI v2): RX contexts, the receive metadata of
 * their frames and resync (docs/tls-rx-offload.md, "Driver").
 *
 * tls_dev_add(RX) creates a device context for the flow as it arrives
 * (source = the peer) at the socket's next unread byte and publishes it in
 * ktls->rx_handles, so that NAPI finds it from a frame's ctx_handle.
 * tls_dev_del(RX) unpublishes it, waits for NAPI to be done with it, then
 * posts CTX_DESTROY without waiting for the device.
 *
 * Frames come up marked TLS_DECRYPTED (skb->decrypted) or as they came off
 * the wire. Resync is TLS_OFFLOAD_SYNC_TYPE_DRIVER_REQ with the request
 * in-band: the frame in which the device found a candidate header carries
 * (resync_seq, resync_id); NAPI stores them in the context and hands the
 * request to the kernel before the frame goes up. When the kernel's
 * parser reaches that header it calls tls_dev_resync() (softirq, under
 * rcu_read_lock) with the record number; the driver posts RX_RESYNC and
 * counts the device's answer when its completion arrives.
 */
#include <linux/ethtool.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/inet_sock.h>

#include "ktls.h"

/*
 * The ABI names a record header by the TCP sequence of its first byte;
 * Linux's RX resync API (tls_offload_rx_resync_request(), tls_dev_resync)
 * by its last, TLS_HEADER_SIZE - 1 bytes later. Both conversions are here.
 */
static __be32 tlsnic_ktls_rx_seq_to_kernel(u32 dev_seq)
{
	return htonl(dev_seq + TLS_HEADER_SIZE - 1);
}

static u32 tlsnic_ktls_rx_seq_from_kernel(u32 kernel_seq)
{
	return kernel_seq - (TLS_HEADER_SIZE - 1);
}

/* An open request in one word, so NAPI and tls_dev_resync agree on it. */
static s64 tlsnic_ktls_rx_req(u32 dev_seq, u32 resync_id)
{
	return (s64)(((u64)resync_id << 32) | dev_seq);
}

static void tlsnic_ktls_rx_unpublish(struct tlsnic_ktls *ktls,
				     struct tlsnic_ktls_rx *ctx)
{
	xa_cmpxchg(&ktls->rx_handles, ctx->handle & TLSNIC_HANDLE_INDEX_MASK,
		   ctx, NULL, 0);
}

/* Process context, socket locked; any failure leaves it in software. */
int tlsnic_ktls_rx_add(struct tlsnic_ktls *ktls, struct sock *sk,
		       struct tls_crypto_info *crypto_info,
		       u32 start_offload_tcp_sn)
{
	struct tlsnic_priv *priv = ktls->priv;
	struct tlsnic_ktls_rx *ctx;
	int err;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	/* copied_seq: the next record header the socket will read. */
	err = ctx ? tlsnic_ktls_ctx_create(priv, sk, TLSNIC_DIR_RX, crypto_info,
					   start_offload_tcp_sn, &ctx->handle,
					   &ctx->epoch) :
		    -ENOMEM;
	if (err)
		goto err_free;

	ctx->ktls = ktls;
	ctx->sk = sk;
	atomic64_set(&ctx->resync_req, (s64)TLSNIC_KTLS_RX_REQ_NONE);
	tls_offload_rx_resync_set_type(sk, TLS_OFFLOAD_SYNC_TYPE_DRIVER_REQ);
	*tlsnic_ktls_rx_slot(tls_get_ctx(sk)) = ctx;

	/* Without the entry resync requests could never reach the socket. */
	err = xa_insert(&ktls->rx_handles,
			ctx->handle & TLSNIC_HANDLE_INDEX_MASK, ctx, GFP_KERNEL);
	if (err) {
		*tlsnic_ktls_rx_slot(tls_get_ctx(sk)) = NULL;
		tlsnic_cmd_ctx_destroy(priv, ctx->handle, ctx->epoch);
		goto err_free;
	}

	atomic64_inc(&ktls->rx_stats.ctx);
	atomic_inc(&ktls->rx_stats.active);
	return 0;

err_free:
	kfree(ctx);
	atomic64_inc(&ktls->rx_stats.err);
	netdev_dbg(priv->netdev, "TLS RX offload refused (%d): software kTLS\n",
		   err);
	return err;
}

/*
 * Process context: the socket's close, or tls_device_down() under rtnl.
 * Never waits for the device; waits for NAPI, which may be handing the
 * socket a resync request from this context.
 */
void tlsnic_ktls_rx_del(struct tlsnic_ktls *ktls, struct tls_context *tls_ctx)
{
	struct tlsnic_ktls_rx **slot = tlsnic_ktls_rx_slot(tls_ctx);
	struct tlsnic_ktls_rx *ctx = *slot;

	might_sleep();
	WRITE_ONCE(*slot, NULL);
	if (WARN_ON_ONCE(!ctx))
		return;

	tlsnic_ktls_rx_unpublish(ktls, ctx);
	synchronize_net();

	tlsnic_ktls_ctx_destroy(ktls->priv, ctx->handle, ctx->epoch,
				&ktls->rx_stats.err);
	atomic64_inc(&ktls->rx_stats.del);
	atomic_dec(&ktls->rx_stats.active);
	/* It holds no key: the device wipes its copy on CTX_DESTROY. */
	kfree_rcu(ctx, rcu);
}

/*
 * tls_dev_resync(RX): the kernel's parser reached a record header it was
 * asked about; @seq is the header's last byte, @rcd_sn the record number.
 * Softirq or process context, under rcu_read_lock: never sleeps, never
 * waits for the device.
 */
void tlsnic_ktls_rx_resync(struct tlsnic_ktls *ktls, struct sock *sk,
			   u32 seq, const u8 *rcd_sn)
{
	struct tlsnic_ktls_rx_stats *stats = &ktls->rx_stats;
	u32 dev_seq = tlsnic_ktls_rx_seq_from_kernel(seq);
	struct tlsnic_rx_resync rr = {};
	struct tlsnic_ktls_rx *ctx;
	s64 req;
	int err;

	ctx = READ_ONCE(*tlsnic_ktls_rx_slot(tls_get_ctx(sk)));
	/* A device reset forgot it: software kTLS decrypts from now on. */
	if (!ctx || ctx->epoch != tlsnic_cmd_epoch(ktls->priv)) {
		atomic64_inc(&stats->resync_res_skip);
		return;
	}
	/* Only the open request, and only once. */
	req = atomic64_read(&ctx->resync_req);
	if ((u64)req == TLSNIC_KTLS_RX_REQ_NONE || (u32)req != dev_seq ||
	    !atomic64_try_cmpxchg(&ctx->resync_req, &req,
				  (s64)TLSNIC_KTLS_RX_REQ_NONE)) {
		atomic64_inc(&stats->resync_res_skip);
		return;
	}
	atomic64_inc(&stats->resync_req_end);

	rr.handle = cpu_to_le32(ctx->handle);
	rr.tcp_seq = cpu_to_le32(dev_seq);
	memcpy(rr.rec_seq, rcd_sn, sizeof(rr.rec_seq));
	rr.resync_id = cpu_to_le32((u64)req >> 32);
	err = tlsnic_cmd_rx_resync(ktls->priv, &rr, ctx->epoch);
	if (err > 0)
		atomic64_inc(&stats->resync_res_retry);
	else if (err == -ENODEV && ctx->epoch != tlsnic_cmd_epoch(ktls->priv))
		atomic64_inc(&stats->resync_res_skip);
	else if (err)
		/* Not sent: the device asks again after a while. */
		atomic64_inc(&stats->err);
}

/* Completion of a posted RX_RESYNC, from the command channel's NAPI. */
void tlsnic_ktls_rx_resync_done(struct tlsnic_priv *priv, u16 status)
{
	struct tlsnic_ktls *ktls = priv->ktls;

	if (!ktls)
		return;
	switch (status) {
	case TLSNIC_ST_OK:
		atomic64_inc(&ktls->rx_stats.resync_res_ok);
		break;
	case TLSNIC_ST_STALE:
	case TLSNIC_ST_REFUSED:
		atomic64_inc(&ktls->rx_stats.resync_res_skip);
		break;
	default:
		/* BAD_HANDLE: the context was destroyed meanwhile. */
		atomic64_inc(&ktls->rx_stats.err);
		break;
	}
}

/* TCP payload bytes of a received frame; skb->data at the IP header. */
static unsigned int tlsnic_ktls_rx_payload_len(const struct sk_buff *skb)
{
	unsigned int off, l4_len;
	struct tcphdr _th;
	const struct tcphdr *th;

	switch (skb->protocol) {
	case htons(ETH_P_IP): {
		struct iphdr _iph;
		const struct iphdr *iph;

		iph = skb_header_pointer(skb, 0, sizeof(_iph), &_iph);
		if (!iph || iph->protocol != IPPROTO_TCP)
			return 0;
		off = iph->ihl * 4;
		if (ntohs(iph->tot_len) < off)
			return 0;
		l4_len = ntohs(iph->tot_len) - off;
		break;
	}
	case htons(ETH_P_IPV6): {
		struct ipv6hdr _ip6h;
		const struct ipv6hdr *ip6h;

		ip6h = skb_header_pointer(skb, 0, sizeof(_ip6h), &_ip6h);
		if (!ip6h || ip6h->nexthdr != IPPROTO_TCP)
			return 0;
		off = sizeof(*ip6h);
		l4_len = ntohs(ip6h->payload_len);
		break;
	}
	default:
		return 0;
	}
	th = skb_header_pointer(skb, off, sizeof(_th), &_th);
	if (!th || th->doff * 4 > l4_len)
		return 0;
	return l4_len - th->doff * 4;
}

/*
 * The device found a candidate record header in this frame: remember the
 * request and hand it to the kernel before the frame goes up, so the
 * parser cannot reach the header first. NAPI only.
 */
static bool tlsnic_ktls_rx_resync_request(struct tlsnic_ktls *ktls,
					  const struct tlsnic_rx_meta *meta)
{
	u32 handle = le32_to_cpu(meta->ctx_handle);
	u32 dev_seq = le32_to_cpu(meta->resync_seq);
	struct tlsnic_ktls_rx *ctx;
	bool started = false;

	if (handle == TLSNIC_HANDLE_NONE)
		return false;
	rcu_read_lock();
	ctx = xa_load(&ktls->rx_handles, handle & TLSNIC_HANDLE_INDEX_MASK);
	/*
	 * The whole handle: a reused slot is another connection. A lost
	 * context's entry is gone before the device is identified again.
	 */
	if (ctx && ctx->handle == handle) {
		atomic64_set(&ctx->resync_req,
			     tlsnic_ktls_rx_req(dev_seq,
						le32_to_cpu(meta->resync_id)));
		tls_offload_rx_resync_request(ctx->sk,
					      tlsnic_ktls_rx_seq_to_kernel(dev_seq));
		started = true;
	}
	rcu_read_unlock();
	return started;
}

/**
 * tlsnic_ktls_rx_frame - apply a frame's TLS receive metadata
 * @qp: the queue pair whose NAPI received it
 * @skb: the frame, after eth_type_trans(), before GRO
 * @meta: its metadata (a copy: the page may be gone)
 *
 * Called only for frames with TLS_DECRYPTED or TLS_RESYNC_REQ.
 */
void tlsnic_ktls_rx_frame(struct tlsnic_qp *qp, struct sk_buff *skb,
			  const struct tlsnic_rx_meta *meta)
{
	struct tlsnic_ktls *ktls = qp->priv->ktls;
	u16 flags = le16_to_cpu(meta->flags);
	struct tlsnic_ktls_rq_stats *stats;
	unsigned int payload = 0;
	bool req = false, started = false;

	/* A device that did not negotiate TLS RX has no business here. */
	if (unlikely(!ktls || !ktls->rx))
		return;
	stats = &ktls->rq_stats[qp->index];

	if (flags & TLSNIC_RX_F_TLS_DECRYPTED) {
		/* Before GRO: it merges only frames with the same mark. */
		skb->decrypted = 1;
		payload = tlsnic_ktls_rx_payload_len(skb);
	}
	if (flags & TLSNIC_RX_F_TLS_RESYNC_REQ) {
		req = true;
		started = tlsnic_ktls_rx_resync_request(ktls, meta);
	}

	u64_stats_update_begin(&stats->syncp);
	if (flags & TLSNIC_RX_F_TLS_DECRYPTED) {
		u64_stats_inc(&stats->decrypted_packets);
		u64_stats_add(&stats->decrypted_bytes, payload);
	}
	if (req) {
		u64_stats_inc(&stats->resync_req_pkt);
		if (started)
			u64_stats_inc(&stats->resync_req_start);
		else
			u64_stats_inc(&stats->resync_req_skip);
	}
	u64_stats_update_end(&stats->syncp);
}

/* ---- ethtool -S ------------------------------------------------------ */

struct tlsnic_ktls_rx_stat_desc {
	char name[ETH_GSTRING_LEN];
	size_t offset;
};

#define TLSNIC_KTLS_RQ_STAT(str, field) \
	{ str, offsetof(struct tlsnic_ktls_rq_stats, field) }
#define TLSNIC_KTLS_RX_STAT(str, field) \
	{ str, offsetof(struct tlsnic_ktls_rx_stats, field) }

/* Summed over the data queues; mlx5's names and meanings. */
static const struct tlsnic_ktls_rx_stat_desc tlsnic_ktls_rq_desc[] = {
	TLSNIC_KTLS_RQ_STAT("rx_tls_decrypted_packets", decrypted_packets),
	TLSNIC_KTLS_RQ_STAT("rx_tls_decrypted_bytes", decrypted_bytes),
	TLSNIC_KTLS_RQ_STAT("rx_tls_resync_req_pkt", resync_req_pkt),
	TLSNIC_KTLS_RQ_STAT("rx_tls_resync_req_start", resync_req_start),
	TLSNIC_KTLS_RQ_STAT("rx_tls_resync_req_skip", resync_req_skip),
};

/* atomic64_t counters of struct tlsnic_ktls_rx_stats. */
static const struct tlsnic_ktls_rx_stat_desc tlsnic_ktls_rx_desc[] = {
	TLSNIC_KTLS_RX_STAT("rx_tls_ctx", ctx),
	TLSNIC_KTLS_RX_STAT("rx_tls_del", del),
	TLSNIC_KTLS_RX_STAT("rx_tls_resync_req_end", resync_req_end),
	TLSNIC_KTLS_RX_STAT("rx_tls_resync_res_ok", resync_res_ok),
	TLSNIC_KTLS_RX_STAT("rx_tls_resync_res_retry", resync_res_retry),
	TLSNIC_KTLS_RX_STAT("rx_tls_resync_res_skip", resync_res_skip),
	TLSNIC_KTLS_RX_STAT("rx_tls_err", err),
	TLSNIC_KTLS_RX_STAT("rx_tls_ctx_lost", lost),
};

int tlsnic_ktls_rx_stats_count(const struct tlsnic_priv *priv)
{
	if (!priv->ktls || !priv->ktls->rx)
		return 0;
	/* And the gauge rx_tls_ctx_active. */
	return ARRAY_SIZE(tlsnic_ktls_rq_desc) +
	       ARRAY_SIZE(tlsnic_ktls_rx_desc) + 1;
}

void tlsnic_ktls_rx_stats_strings(const struct tlsnic_priv *priv, u8 **data)
{
	unsigned int i;

	if (!priv->ktls || !priv->ktls->rx)
		return;
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_rq_desc); i++)
		ethtool_sprintf(data, "%s", tlsnic_ktls_rq_desc[i].name);
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_rx_desc); i++)
		ethtool_sprintf(data, "%s", tlsnic_ktls_rx_desc[i].name);
	ethtool_sprintf(data, "rx_tls_ctx_active");
}

static u64 tlsnic_ktls_rq_read(const struct tlsnic_ktls_rq_stats *s,
			       size_t offset)
{
	const u64_stats_t *v = (const void *)((const u8 *)s + offset);
	unsigned int start;
	u64 val;

	do {
		start = u64_stats_fetch_begin(&s->syncp);
		val = u64_stats_read(v);
	} while (u64_stats_fetch_retry(&s->syncp, start));
	return val;
}

/* Returns where the next counter goes. */
u64 *tlsnic_ktls_rx_stats_fill(const struct tlsnic_priv *priv, u64 *data)
{
	const struct tlsnic_ktls *ktls = priv->ktls;
	unsigned int i, q;

	if (!ktls || !ktls->rx)
		return data;
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_rq_desc); i++) {
		u64 sum = 0;

		for (q = 0; q < TLSNIC_NUM_DATA_QP; q++)
			sum += tlsnic_ktls_rq_read(&ktls->rq_stats[q],
						   tlsnic_ktls_rq_desc[i].offset);
		*data++ = sum;
	}
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_rx_desc); i++)
		*data++ = atomic64_read((const atomic64_t *)
					((const u8 *)&ktls->rx_stats +
					 tlsnic_ktls_rx_desc[i].offset));
	*data++ = atomic_read(&ktls->rx_stats.active);
	return data;
}
