// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic receive path and the NAPI poll of a data queue pair.
 *
 * RX buffers come from a page_pool per queue: with VIRTIO_NET_F_MRG_RXBUF
 * two 2 KiB fragments of a page (a standard frame fits one, a jumbo frame
 * continues in num_buffers - 1 further buffers), without it whole pages.
 * A frame starts behind the virtio-net header (and struct tlsnic_rx_meta in
 * offload mode). The skb gets the frame's headers copied into its linear
 * part and the rest of the buffers as fragments, marked for recycling so
 * their pages return to the pool; only small frames are copied whole.
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <net/page_pool.h>

#include "ktls.h"
#include "tlsnic_drv.h"

static void tlsnic_rq_stats_inc(struct tlsnic_qp *qp, u64_stats_t *counter)
{
	u64_stats_update_begin(&qp->rq_stats.syncp);
	u64_stats_inc(counter);
	u64_stats_update_end(&qp->rq_stats.syncp);
}

/* Give a buffer back to the pool; @napi: from the queue's NAPI poll. */
static void tlsnic_rx_buf_put(struct tlsnic_qp *qp, void *buf, bool napi)
{
	page_pool_put_full_page(qp->page_pool, virt_to_head_page(buf), napi);
}

/* Give back the @n buffers the device used next (rest of a bad frame). */
static void tlsnic_rx_put_next(struct tlsnic_qp *qp, unsigned int n)
{
	unsigned int len;
	void *buf;

	while (n-- && (buf = virtqueue_get_buf(qp->rvq, &len)))
		tlsnic_rx_buf_put(qp, buf, true);
}

/* Drop a frame: its first buffer and the @extra buffers that follow it. */
static void tlsnic_rx_drop(struct tlsnic_qp *qp, void *buf, unsigned int extra)
{
	tlsnic_rx_buf_put(qp, buf, true);
	tlsnic_rx_put_next(qp, extra);
	tlsnic_rq_stats_inc(qp, &qp->rq_stats.drops);
}

/* Attach @len bytes at @buf + @off as the skb's next fragment. */
static void tlsnic_rx_attach(struct tlsnic_qp *qp, struct sk_buff *skb,
			     void *buf, unsigned int off, unsigned int len)
{
	struct page *page = virt_to_head_page(buf);

	skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, page,
			offset_in_page(buf) + off, len, qp->rx_buf_len);
}

/*
 * Append the frame's remaining buffers as fragments. On error the rest of
 * the frame's buffers are consumed and given back; the caller frees the
 * skb (which gives back those attached already).
 */
static int tlsnic_rx_add_frags(struct tlsnic_qp *qp, struct sk_buff *skb,
			       unsigned int nbufs)
{
	unsigned int i, len;
	void *buf;

	for (i = 1; i < nbufs; i++) {
		buf = virtqueue_get_buf(qp->rvq, &len);
		if (unlikely(!buf))
			return -EINVAL;	/* device claimed more buffers */
		if (unlikely(!len || len > qp->rx_buf_len ||
			     skb_shinfo(skb)->nr_frags >= MAX_SKB_FRAGS)) {
			tlsnic_rx_buf_put(qp, buf, true);
			tlsnic_rx_put_next(qp, nbufs - i - 1);
			return -EINVAL;
		}
		tlsnic_rx_attach(qp, skb, buf, 0, len);
	}
	return 0;
}

static void tlsnic_rx_frame(struct tlsnic_qp *qp, void *buf, unsigned int len)
{
	struct tlsnic_priv *priv = qp->priv;
	struct net_device *dev = priv->netdev;
	struct tlsnic_rq_stats *stats = &qp->rq_stats;
	const struct virtio_net_hdr_mrg_rxbuf *vhdr = buf;
	unsigned int hdr_len = priv->rx_hdr_len;
	unsigned int nbufs = 1, first_len, copy;
	struct tlsnic_rx_meta meta = {};
	struct sk_buff *skb;
	bool csum_ok = false;
	u16 flags = 0;
	u8 *frame;

	if (unlikely(len < TLSNIC_VNET_HDR_LEN || len > qp->rx_buf_len))
		goto bad;
	if (priv->mergeable)
		nbufs = virtio16_to_cpu(priv->vdev, vhdr->num_buffers);
	if (unlikely(!nbufs || nbufs > MAX_SKB_FRAGS + 1 ||
		     len < hdr_len + ETH_HLEN)) {
		tlsnic_rq_stats_inc(qp, &stats->bad_frames);
		tlsnic_rx_drop(qp, buf, nbufs ? nbufs - 1 : 0);
		return;
	}

	if (tlsnic_offload(priv)) {
		/* A copy: the buffer goes once a small frame is copied out. */
		memcpy(&meta, vhdr + 1, sizeof(meta));
		flags = le16_to_cpu(meta.flags);
		csum_ok = flags & TLSNIC_RX_F_CSUM_OK;
	}
	frame = (u8 *)buf + hdr_len;
	first_len = len - hdr_len;

	if (nbufs == 1 && first_len <= TLSNIC_RX_COPYBREAK)
		copy = first_len;
	else
		copy = eth_get_headlen(dev, frame,
				       min(first_len, TLSNIC_RX_COPYBREAK));

	skb = napi_alloc_skb(&qp->napi, TLSNIC_RX_COPYBREAK);
	if (unlikely(!skb)) {
		tlsnic_rq_stats_inc(qp, &stats->alloc_fail);
		tlsnic_rx_drop(qp, buf, nbufs - 1);
		return;
	}
	skb_mark_for_recycle(skb);
	skb_put_data(skb, frame, copy);
	if (copy < first_len)
		tlsnic_rx_attach(qp, skb, buf, hdr_len + copy, first_len - copy);
	else
		tlsnic_rx_buf_put(qp, buf, true);

	if (nbufs > 1 && unlikely(tlsnic_rx_add_frags(qp, skb, nbufs))) {
		dev_kfree_skb_any(skb);
		tlsnic_rq_stats_inc(qp, &stats->bad_frames);
		tlsnic_rq_stats_inc(qp, &stats->drops);
		return;
	}

	/*
	 * CSUM_OK of a decrypted frame: the device verified it as it came and
	 * rewrote the sum over the plaintext, so CHECKSUM_NONE (the stack sums
	 * it again) is right too; never CHECKSUM_COMPLETE.
	 */
	u64_stats_update_begin(&stats->syncp);
	if (csum_ok && (dev->features & NETIF_F_RXCSUM)) {
		skb->ip_summed = CHECKSUM_UNNECESSARY;
		u64_stats_inc(&stats->csum_unnecessary);
	} else {
		skb_checksum_none_assert(skb);
		u64_stats_inc(&stats->csum_none);
	}
	u64_stats_inc(&stats->packets);
	u64_stats_add(&stats->bytes, skb->len);
	u64_stats_update_end(&stats->syncp);

	skb_record_rx_queue(skb, qp->index);
	skb->protocol = eth_type_trans(skb, dev);
	/* skb->decrypted and resync requests reach the stack before GRO. */
	if (flags & (TLSNIC_RX_F_TLS_DECRYPTED | TLSNIC_RX_F_TLS_RESYNC_REQ))
		tlsnic_ktls_rx_frame(qp, skb, &meta);
	napi_gro_receive(&qp->napi, skb);
	return;

bad:
	tlsnic_rq_stats_inc(qp, &stats->bad_frames);
	tlsnic_rx_drop(qp, buf, 0);
}

/*
 * Fill the RX ring with buffers from the pool. Returns false if an
 * allocation failed. NAPI context, or the refill work with NAPI disabled:
 * the pool's fragment allocator is not reentrant.
 */
bool tlsnic_rx_refill(struct tlsnic_qp *qp, gfp_t gfp)
{
	struct scatterlist sg;
	unsigned int offset;
	struct page *page;
	bool added = false;
	bool ok = true;
	void *buf;

	sg_init_table(&sg, 1);
	while (qp->rvq->num_free) {
		page = page_pool_alloc_frag(qp->page_pool, &offset,
					    qp->rx_buf_len, gfp | __GFP_NOWARN);
		if (!page) {
			ok = false;
			break;
		}
		buf = page_address(page) + offset;
		sg_set_buf(&sg, buf, qp->rx_buf_len);
		if (virtqueue_add_inbuf(qp->rvq, &sg, 1, buf, gfp)) {
			page_pool_put_full_page(qp->page_pool, page, false);
			ok = false;
			break;
		}
		added = true;
	}
	if (added)
		virtqueue_kick(qp->rvq);
	if (!ok)
		tlsnic_rq_stats_inc(qp, &qp->rq_stats.alloc_fail);
	return ok;
}

static void tlsnic_rx_schedule_refill(struct tlsnic_qp *qp, unsigned long delay)
{
	spin_lock_bh(&qp->refill_lock);
	if (qp->refill_enabled)
		schedule_delayed_work(&qp->refill_work, delay);
	spin_unlock_bh(&qp->refill_lock);
}

/* Allowed to (re)schedule the refill work only while the device is open. */
void tlsnic_rx_refill_enable(struct tlsnic_qp *qp, bool enable)
{
	spin_lock_bh(&qp->refill_lock);
	qp->refill_enabled = enable;
	spin_unlock_bh(&qp->refill_lock);
}

/*
 * NAPI could not allocate pages: retry from process context so an empty
 * ring (which raises no interrupts) still recovers.
 */
void tlsnic_rx_refill_work(struct work_struct *work)
{
	struct tlsnic_qp *qp = container_of(to_delayed_work(work),
					    struct tlsnic_qp, refill_work);
	bool ok;

	napi_disable(&qp->napi);
	ok = tlsnic_rx_refill(qp, GFP_KERNEL);
	napi_enable(&qp->napi);
	local_bh_disable();
	napi_schedule(&qp->napi);
	local_bh_enable();

	if (!ok)
		tlsnic_rx_schedule_refill(qp, HZ / 2);
}

static int tlsnic_rx_poll(struct tlsnic_qp *qp, int budget)
{
	unsigned int len;
	int done = 0;
	void *buf;

	while (done < budget && (buf = virtqueue_get_buf(qp->rvq, &len))) {
		tlsnic_rx_frame(qp, buf, len);
		done++;
	}
	/* Refill in batches (one kick each), not per frame. */
	if (qp->rvq->num_free >= qp->rx_refill_at &&
	    !tlsnic_rx_refill(qp, GFP_ATOMIC))
		tlsnic_rx_schedule_refill(qp, 0);
	return done;
}

int tlsnic_poll(struct napi_struct *napi, int budget)
{
	struct tlsnic_qp *qp = container_of(napi, struct tlsnic_qp, napi);
	bool tx_clean;
	int done;

	tx_clean = tlsnic_tx_clean(qp, budget);
	done = budget ? tlsnic_rx_poll(qp, budget) : 0;
	if (done >= budget)
		return done;
	/* TX completions nothing would signal: stay scheduled, poll again. */
	if (unlikely(!tx_clean))
		return budget;
	if (!napi_complete_done(napi, done))
		return done;

	/* The TX interrupt is armed already; re-arm RX, poll if work raced in. */
	if (!virtqueue_enable_cb(qp->rvq) && napi_schedule_prep(napi)) {
		virtqueue_disable_cb(qp->rvq);
		__napi_schedule(napi);
	}
	return done;
}

/* Completion interrupt of a data RX queue. */
void tlsnic_rx_done(struct virtqueue *vq)
{
	struct tlsnic_priv *priv = vq->vdev->priv;

	virtqueue_disable_cb(vq);
	napi_schedule(&priv->qp[vq->index / 2].napi);
}

/* Give back the buffers still posted. Device must be reset. */
void tlsnic_rx_free_unused(struct tlsnic_qp *qp)
{
	void *buf;

	while ((buf = virtqueue_detach_unused_buf(qp->rvq)))
		tlsnic_rx_buf_put(qp, buf, false);
}

/* The queue's buffer pool, sized like its ring. After the vqs exist. */
int tlsnic_rx_pool_create(struct tlsnic_qp *qp)
{
	struct page_pool_params pp = {
		.flags = PP_FLAG_PAGE_FRAG,
		.order = 0,
		.pool_size = virtqueue_get_vring_size(qp->rvq),
		.nid = NUMA_NO_NODE,
		.dev = &qp->priv->vdev->dev,
	};
	struct page_pool *pool;

	qp->rx_buf_len = qp->priv->mergeable ? TLSNIC_RX_FRAG_LEN : PAGE_SIZE;
	qp->rx_refill_at = max(1U, pp.pool_size / 2);
	pool = page_pool_create(&pp);
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	qp->page_pool = pool;
	return 0;
}

/* Pages still in skbs return to the kernel as those are freed. */
void tlsnic_rx_pool_destroy(struct tlsnic_qp *qp)
{
	page_pool_destroy(qp->page_pool);
	qp->page_pool = NULL;
}
