// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic kTLS TX offload, transmit path.
 *
 * Frames of an offloaded socket go to the device with TLSNIC_TX_F_TLS and
 * the context handle; the device encrypts the records in them in place.
 * The driver tracks where the device's in-order stream state stands
 * (expected_seq). A frame that does not start there (a TCP retransmission,
 * or new data after a frame that never reached the device) also gets
 * TLSNIC_TX_F_TLS_RESYNC: the TCP sequence and number of the record that
 * holds its first payload byte.
 *
 * With that alone the device encrypts every byte that is not a tag byte,
 * since the AES-GCM keystream is addressable by position ("sparse"
 * resync). The record's bytes before the frame (the dump) go along only
 * when the device needs that record's GHASH: the frame carries tag bytes
 * of the record, or the frame moves the device's stream forward
 * (it ends after expected_seq) and a later in-order frame will carry them.
 * The dump is the record's own pages, referenced until the frame completes
 * from a slot of a per-queue pool sized like the ring, so xmit never
 * allocates for it.
 *
 * A retransmission of old data leaves expected_seq alone: the device
 * encrypts it aside and keeps its in-order state, so the next new frame
 * needs no resync.
 *
 * expected_seq moves when a frame is queued; if the device then drops the
 * frame, its stream stays behind. It says so with a TX_DROP event, and the
 * context's next new frame goes with resync info (and the dump) as if it
 * followed a gap, so TCP recovers the lost bytes by fast retransmit instead
 * of waiting for its retransmission timer (tls-offload.rst, "Segment drops").
 *
 * After a device reset (cmd.c) the device knows none of the contexts of
 * the old epoch, and a new context may carry an old one's handle: frames
 * of a lost context are encrypted by the kernel (tls_encrypt_skb(), the
 * fallback tls_device uses for frames routed elsewhere) and go out as
 * plain frames. Never marked, never plaintext.
 */
#include <linux/highmem.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/virtio.h>
#include <asm/unaligned.h>
#include <net/ip6_checksum.h>
#include <net/tcp.h>

#include "ktls.h"

static void tlsnic_ktls_stat_add(struct tlsnic_ktls_sq_stats *s,
				 u64_stats_t *ctr, u64 val)
{
	u64_stats_update_begin(&s->syncp);
	u64_stats_add(ctr, val);
	u64_stats_update_end(&s->syncp);
}

static struct tlsnic_ktls_sq_stats *tlsnic_ktls_sq(struct tlsnic_qp *qp)
{
	return &qp->priv->ktls->sq_stats[qp->index];
}

/**
 * tlsnic_ktls_tx_dumps_init - the dumps of every data TX queue
 * @priv: device, its virtqueues found
 *
 * One dump per descriptor of the queue's ring, so that a frame that needs
 * one never fails for memory in xmit. Returns 0 or -ENOMEM.
 */
int tlsnic_ktls_tx_dumps_init(struct tlsnic_priv *priv)
{
	unsigned int q, i, n;

	for (q = 0; q < TLSNIC_NUM_DATA_QP; q++) {
		struct tlsnic_ktls_dump_pool *pool = &priv->ktls->dumps[q];

		n = virtqueue_get_vring_size(priv->qp[q].svq);
		pool->slots = kvcalloc(n, sizeof(*pool->slots), GFP_KERNEL);
		if (!pool->slots) {
			tlsnic_ktls_tx_dumps_fini(priv);
			return -ENOMEM;
		}
		pool->free = NULL;
		for (i = 0; i < n; i++) {
			pool->slots[i].pool = pool;
			pool->slots[i].next_free = pool->free;
			pool->free = &pool->slots[i];
		}
	}
	return 0;
}

/* After the rings are emptied: every dump is back in its pool. */
void tlsnic_ktls_tx_dumps_fini(struct tlsnic_priv *priv)
{
	unsigned int q;

	for (q = 0; q < TLSNIC_NUM_DATA_QP; q++) {
		kvfree(priv->ktls->dumps[q].slots);
		priv->ktls->dumps[q].slots = NULL;
		priv->ktls->dumps[q].free = NULL;
	}
}

static struct tlsnic_ktls_dump *tlsnic_ktls_dump_get(struct tlsnic_qp *qp)
{
	struct tlsnic_ktls_dump_pool *pool = &qp->priv->ktls->dumps[qp->index];
	struct tlsnic_ktls_dump *dump = pool->free;

	if (likely(dump)) {
		pool->free = dump->next_free;
		dump->next_free = NULL;
		dump->nr_pages = 0;
	}
	return dump;
}

/* Under the TX lock of the queue the dump belongs to. */
static void tlsnic_ktls_dump_put(struct tlsnic_ktls_dump *dump)
{
	struct tlsnic_ktls_dump_pool *pool = dump->pool;

	while (dump->nr_pages)
		put_page(dump->pages[--dump->nr_pages]);
	dump->next_free = pool->free;
	pool->free = dump;
}

/*
 * Point @sg at the first @len bytes of @rec and reference their pages.
 * Called with the record list lock held, so the record cannot be freed.
 */
static int tlsnic_ktls_tx_dump(const struct tls_record_info *rec, u32 len,
			       struct tlsnic_ktls_dump *dump,
			       struct scatterlist *sg)
{
	unsigned int i, n;
	u32 left = len;

	for (n = 0; n < rec->num_frags && left; n++)
		left -= min_t(u32, skb_frag_size(&rec->frags[n]), left);
	/* The record is shorter than its own bytes before the frame? */
	if (WARN_ON_ONCE(left || !n))
		return -EINVAL;

	/* Only these entries: the frame's own follow them, so no end mark. */
	sg_init_table(sg, n);
	sg_unmark_end(&sg[n - 1]);
	for (i = 0; i < n; i++) {
		const skb_frag_t *frag = &rec->frags[i];
		u32 size = min_t(u32, skb_frag_size(frag), len);
		struct page *page = skb_frag_page(frag);

		get_page(page);
		dump->pages[i] = page;
		sg_set_page(&sg[i], page, size, skb_frag_off(frag));
		len -= size;
	}
	dump->nr_pages = n;
	return n;
}

/*
 * The frame at @seq is not where the device's stream is: describe the
 * record it starts in. Returns the number of dump entries put in @sg.
 */
static int tlsnic_ktls_tx_resync(struct tlsnic_qp *qp,
				 struct tlsnic_ktls_tx *ctx,
				 struct tls_context *tls_ctx,
				 struct sk_buff *skb, u32 seq, u32 datalen,
				 struct tlsnic_tx_meta *meta,
				 struct scatterlist *sg)
{
	struct tls_offload_context_tx *tx_ctx = tls_offload_ctx_tx(tls_ctx);
	struct tlsnic_ktls_skb_cb *cb = tlsnic_ktls_cb(skb);
	struct tlsnic_ktls_sq_stats *stats = tlsnic_ktls_sq(qp);
	u32 end = seq + datalen, rec_start, tag_start, off = 0;
	struct tlsnic_ktls_dump *dump = NULL;
	struct tls_record_info *rec;
	unsigned long flags;
	int nents = 0;
	u64 rec_sn;

	spin_lock_irqsave(&tx_ctx->lock, flags);
	rec = tls_get_record(tx_ctx, seq, &rec_sn);
	/*
	 * Offloaded bytes stay in a record until acked, and the stack never
	 * mixes them with bytes from before the offload (the start marker).
	 */
	if (unlikely(!rec || tls_record_is_start_marker(rec) ||
		     before(seq, tls_record_start_seq(rec)))) {
		nents = -ENODATA;
		goto out_unlock;
	}
	rec_start = tls_record_start_seq(rec);
	off = seq - rec_start;
	tag_start = rec->end_seq - tls_ctx->prot_info.tag_size;
	if (off && (after(end, tag_start) || after(end, ctx->expected_seq))) {
		/* Never empty while the ring has room for this frame. */
		dump = tlsnic_ktls_dump_get(qp);
		if (WARN_ON_ONCE(!dump)) {
			nents = -ENOMEM;
			goto out_unlock;
		}
		nents = tlsnic_ktls_tx_dump(rec, off, dump, sg);
		if (nents < 0) {
			tlsnic_ktls_dump_put(dump);
			dump = NULL;
		}
	}
out_unlock:
	spin_unlock_irqrestore(&tx_ctx->lock, flags);

	if (nents < 0) {
		tlsnic_ktls_stat_add(stats, nents == -ENOMEM ?
				     &stats->drop_dump_nomem :
				     &stats->drop_no_sync_data, 1);
		return nents;
	}

	meta->flags |= cpu_to_le16(TLSNIC_TX_F_TLS_RESYNC);
	meta->rec_tcp_seq = cpu_to_le32(rec_start);
	put_unaligned_be64(rec_sn, meta->rec_seq);
	cb->resync = true;
	if (dump) {
		/* A record is at most 2^14 + 2048 + 5 bytes. */
		meta->dump_len = cpu_to_le16(off);
		cb->dump = dump;
		cb->dump_len = off;
	}
	return nents;
}

/*
 * The stack checksummed the plaintext (device checksum turned off after
 * the socket was offloaded): seed the pseudo-header sum and let the device
 * checksum the ciphertext, as it must for every encrypted frame.
 */
static void tlsnic_ktls_tx_csum(struct sk_buff *skb,
				struct tlsnic_tx_meta *meta)
{
	unsigned int tcp_len = skb->len - skb_transport_offset(skb);
	struct tcphdr *th = tcp_hdr(skb);

	if (ip_hdr(skb)->version == 4)
		th->check = ~tcp_v4_check(tcp_len, ip_hdr(skb)->saddr,
					  ip_hdr(skb)->daddr, 0);
	else
		th->check = ~tcp_v6_check(tcp_len, &ipv6_hdr(skb)->saddr,
					  &ipv6_hdr(skb)->daddr, 0);
	meta->flags |= cpu_to_le16(TLSNIC_TX_F_CSUM);
	meta->csum_start = cpu_to_le16(skb_transport_offset(skb));
	meta->csum_offset = cpu_to_le16(offsetof(struct tcphdr, check));
}

/**
 * tlsnic_ktls_tx_prepare - tag a frame of an offloaded socket
 * @qp: data queue pair, TX lock held
 * @skb: the frame; its header is writable (skb_cow_head done)
 * @meta: the frame's metadata, already filled for checksum and TSO
 * @sg: where dump entries go, between the metadata and the frame
 *
 * Returns the number of dump entries written to @sg (0 for most frames,
 * and for every frame that is not offloaded TLS), or a negative errno if
 * the frame must be dropped: it carries offloaded bytes the device could
 * not encrypt, and plaintext must never reach the wire in their place.
 */
int tlsnic_ktls_tx_prepare(struct tlsnic_qp *qp, struct sk_buff *skb,
			   struct tlsnic_tx_meta *meta, struct scatterlist *sg)
{
	struct tlsnic_ktls_skb_cb *cb = tlsnic_ktls_cb(skb);
	struct tlsnic_priv *priv = qp->priv;
	struct tls_context *tls_ctx;
	struct tlsnic_ktls_tx *ctx;
	struct net_device *tls_dev;
	u32 seq, datalen, drop_gen;
	int nents = 0;

	/* expected_seq is serialised by the one data TX queue's lock. */
	BUILD_BUG_ON(TLSNIC_NUM_DATA_QP != 1);

	if (!priv->ktls)
		return 0;
	if (unlikely(!skb->sk)) {
		/*
		 * Plaintext meant for the device, but without its socket the
		 * context is unknown: a delaying qdisc (netem) orphans such
		 * skbs. Sending it would put plaintext on the wire.
		 */
		if (unlikely(skb->decrypted)) {
			tlsnic_ktls_stat_add(tlsnic_ktls_sq(qp),
					     &tlsnic_ktls_sq(qp)->drop_orphan, 1);
			netdev_warn_once(priv->netdev,
					 "dropping TLS offload frames orphaned by a qdisc (netem delay?)\n");
			return -ENOTCONN;
		}
		return 0;
	}
	if (!tls_is_sk_tx_device_offloaded(skb->sk))
		return 0;
	tls_ctx = tls_get_ctx(skb->sk);
	tls_dev = rcu_dereference_bh(tls_ctx->netdev);
	/* Offloaded elsewhere: tls_validate_xmit_skb() encrypted it already. */
	if (unlikely(tls_dev && tls_dev != priv->netdev))
		return 0;

	datalen = skb->len - skb_tcp_all_headers(skb);
	if (!datalen)
		return 0;
	/*
	 * Bytes queued before the key was installed (handshake): as is. So
	 * is what the kernel encrypted for a lost context.
	 */
	if (!skb->decrypted) {
		if (!cb->sw_encrypted)
			tlsnic_ktls_stat_add(tlsnic_ktls_sq(qp),
					     &tlsnic_ktls_sq(qp)->skip_no_sync_data, 1);
		return 0;
	}
	ctx = *tlsnic_ktls_tx_slot(tls_ctx);
	if (WARN_ON_ONCE(!ctx))
		return -ENODEV;

	cb->resync = false;
	cb->drop_resync = false;
	cb->dump_len = 0;
	seq = ntohl(tcp_hdr(skb)->seq);
	drop_gen = READ_ONCE(ctx->drop_gen);
	if (unlikely(seq != ctx->expected_seq || drop_gen != ctx->drop_gen_done)) {
		nents = tlsnic_ktls_tx_resync(qp, ctx, tls_ctx, skb, seq,
					      datalen, meta, sg);
		if (nents < 0)
			return nents;
		/* Only a frame that moves the device's stream answers a drop. */
		if (drop_gen != ctx->drop_gen_done &&
		    after(seq + datalen, ctx->expected_seq)) {
			cb->drop_resync = true;
			cb->drop_gen = drop_gen;
		}
	}
	if (unlikely(skb->ip_summed != CHECKSUM_PARTIAL)) {
		tlsnic_ktls_tx_csum(skb, meta);
		tlsnic_ktls_stat_add(tlsnic_ktls_sq(qp),
				     &tlsnic_ktls_sq(qp)->csum_fixup, 1);
	}
	meta->flags |= cpu_to_le16(TLSNIC_TX_F_TLS);
	meta->ctx_handle = cpu_to_le32(ctx->handle);

	refcount_inc(&ctx->refs);
	cb->ctx = ctx;
	cb->end_seq = seq + datalen;
	cb->datalen = datalen;
	return nents;
}

/*
 * The frame is on the ring: the device will see it, so its stream moves.
 * A retransmission of old data does not move it back.
 */
void tlsnic_ktls_tx_queued(struct tlsnic_qp *qp, struct sk_buff *skb)
{
	struct tlsnic_ktls_skb_cb *cb = tlsnic_ktls_cb(skb);
	struct tlsnic_ktls_sq_stats *s;
	struct tlsnic_ktls_tx *ctx = cb->ctx;

	if (!ctx)
		return;
	/* The device sees its handle until the frame completes. */
	cb->queued = true;
	atomic_inc(&qp->priv->ktls->tx_queued);
	if (after(cb->end_seq, ctx->expected_seq))
		ctx->expected_seq = cb->end_seq;
	/* An event newer than cb->drop_gen still asks for a resync. */
	if (cb->drop_resync)
		ctx->drop_gen_done = cb->drop_gen;

	s = tlsnic_ktls_sq(qp);
	u64_stats_update_begin(&s->syncp);
	u64_stats_add(&s->encrypted_packets,
		      skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1);
	u64_stats_add(&s->encrypted_bytes, cb->datalen);
	if (cb->resync) {
		u64_stats_inc(&s->ooo);
		u64_stats_add(&s->resync_bytes, cb->datalen);
	}
	if (cb->dump) {
		u64_stats_inc(&s->dump_packets);
		u64_stats_add(&s->dump_bytes, cb->dump_len);
	}
	if (cb->drop_resync)
		u64_stats_inc(&s->drop_resync);
	u64_stats_update_end(&s->syncp);
}

/*
 * The device is done with the frame (or it was never queued). Under the
 * queue's TX lock, or with the device reset and the queue stopped.
 */
void __tlsnic_ktls_tx_release(struct sk_buff *skb)
{
	struct tlsnic_ktls_skb_cb *cb = tlsnic_ktls_cb(skb);
	struct tlsnic_ktls_dump *dump = cb->dump;
	struct tlsnic_ktls_tx *ctx = cb->ctx;

	if (dump) {
		tlsnic_ktls_dump_put(dump);
		cb->dump = NULL;
	}
	if (cb->queued) {
		cb->queued = false;
		atomic_dec(&ctx->ktls->tx_queued);
	}
	cb->ctx = NULL;
	tlsnic_ktls_tx_put(ctx);
}

/**
 * tlsnic_ktls_tx_sw_fallback - encrypt a frame of a lost context in software
 * @qp: data queue pair, TX lock held
 * @skb: the frame, before anything of xmit touched it but its cb
 *
 * A frame of an offloaded socket whose device context a device reset
 * forgot (its epoch is over) is encrypted by the kernel's TLS fallback,
 * which finds the record and key in the socket's TLS context, and goes
 * out as a plain frame. Returns the frame to send (@skb for every other
 * frame), or NULL if it was dropped: @skb is freed then, and TCP sends
 * the bytes again.
 */
struct sk_buff *tlsnic_ktls_tx_sw_fallback(struct tlsnic_qp *qp,
					   struct sk_buff *skb)
{
	struct tlsnic_priv *priv = qp->priv;
	struct tlsnic_ktls_sq_stats *stats;
	struct tls_context *tls_ctx;
	struct tlsnic_ktls_tx *ctx;
	struct sk_buff *nskb;
	u32 datalen;

	if (!priv->ktls || !skb->sk || !skb->decrypted ||
	    !tls_is_sk_tx_device_offloaded(skb->sk))
		return skb;
	tls_ctx = tls_get_ctx(skb->sk);
	if (rcu_dereference_bh(tls_ctx->netdev) != priv->netdev)
		return skb;
	ctx = *tlsnic_ktls_tx_slot(tls_ctx);
	if (likely(!ctx || ctx->epoch == tlsnic_cmd_epoch(priv)))
		return skb;

	stats = tlsnic_ktls_sq(qp);
	datalen = skb->len - skb_tcp_all_headers(skb);
	nskb = tls_encrypt_skb(skb);
	if (unlikely(!nskb)) {
		tlsnic_ktls_stat_add(stats, &stats->drop_sw_fallback, 1);
		return NULL;
	}
	/* Ciphertext now: nothing for the device to do but checksum it. */
	nskb->decrypted = 0;
	tlsnic_ktls_tx_skb_init(nskb);
	tlsnic_ktls_cb(nskb)->sw_encrypted = true;
	u64_stats_update_begin(&stats->syncp);
	u64_stats_inc(&stats->sw_fallback);
	u64_stats_add(&stats->sw_fallback_bytes, datalen);
	u64_stats_update_end(&stats->syncp);
	return nskb;
}

/**
 * tlsnic_ktls_tx_drop_event - the device dropped a frame of a TX context
 * @priv: device
 * @ev: the event's body, length checked
 *
 * Runs in the command channel's NAPI, concurrently with xmit and with the
 * context's destruction: the context is looked up under RCU and must carry
 * the event's whole handle, so an event about a closed connection, or
 * about an earlier user of the slot, touches nothing.
 */
void tlsnic_ktls_tx_drop_event(struct tlsnic_priv *priv,
			       const struct tlsnic_tx_drop *ev)
{
	struct tlsnic_ktls *ktls = priv->ktls;
	u32 handle = le32_to_cpu(ev->handle);
	struct tlsnic_ktls_tx *ctx;

	if (!ktls)
		return;
	rcu_read_lock();
	ctx = xa_load(&ktls->tx_handles, handle & TLSNIC_HANDLE_INDEX_MASK);
	if (ctx && ctx->handle == handle) {
		/* The only writer; xmit compares it with drop_gen_done. */
		WRITE_ONCE(ctx->drop_gen, ctx->drop_gen + 1);
		atomic64_inc(&ktls->drop_event);
	} else {
		atomic64_inc(&ktls->drop_event_stale);
	}
	rcu_read_unlock();
}
