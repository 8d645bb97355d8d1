// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic receive path and the NAPI poll of a data queue pair.
 *
 * The RX ring holds whole pages. A frame starts in one page behind the
 * virtio-net header (and struct tlsnic_rx_meta in offload mode) and, with
 * VIRTIO_NET_F_MRG_RXBUF, continues in num_buffers - 1 further pages. The
 * skb gets the frame's headers copied into its linear part and the rest of
 * the pages as fragments, so only small frames are copied whole.
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>

#include "ktls.h"
#include "tlsnic_drv.h"

static void tlsnic_rq_stats_inc(struct tlsnic_qp *qp, u64_stats_t *counter)
{
	u64_stats_update_begin(&qp->rq_stats.syncp);
	u64_stats_inc(counter);
	u64_stats_update_end(&qp->rq_stats.syncp);
}

/* Drop a frame: its first page and the @extra pages that follow it. */
static void tlsnic_rx_drop(struct tlsnic_qp *qp, struct page *page,
			   unsigned int extra)
{
	unsigned int len;

	put_page(page);
	while (extra--) {
		page = virtqueue_get_buf(qp->rvq, &len);
		if (!page)
			break;
		put_page(page);
	}
	tlsnic_rq_stats_inc(qp, &qp->rq_stats.drops);
}

/*
 * Append the frame's remaining pages as fragments. On error the rest of
 * the frame's pages are consumed and freed; the caller frees the skb.
 */
static int tlsnic_rx_add_frags(struct tlsnic_qp *qp, struct sk_buff *skb,
			       unsigned int nbufs)
{
	unsigned int i, len;
	struct page *page;

	for (i = 1; i < nbufs; i++) {
		page = virtqueue_get_buf(qp->rvq, &len);
		if (unlikely(!page))
			return -EINVAL;	/* device claimed more buffers */
		if (unlikely(len > PAGE_SIZE ||
			     skb_shinfo(skb)->nr_frags >= MAX_SKB_FRAGS)) {
			put_page(page);
			while (++i < nbufs) {
				page = virtqueue_get_buf(qp->rvq, &len);
				if (!page)
					break;
				put_page(page);
			}
			return -EINVAL;
		}
		skb_add_rx_frag(skb, skb_shinfo(skb)->nr_frags, page, 0, len,
				PAGE_SIZE);
	}
	return 0;
}

static void tlsnic_rx_frame(struct tlsnic_qp *qp, struct page *page,
			    unsigned int len)
{
	struct tlsnic_priv *priv = qp->priv;
	struct net_device *dev = priv->netdev;
	struct tlsnic_rq_stats *stats = &qp->rq_stats;
	const struct virtio_net_hdr_mrg_rxbuf *vhdr = page_address(page);
	unsigned int hdr_len = priv->rx_hdr_len;
	unsigned int nbufs = 1, first_len, copy;
	struct tlsnic_rx_meta meta = {};
	struct sk_buff *skb;
	bool csum_ok = false;
	u16 flags = 0;
	u8 *frame;

	if (unlikely(len < TLSNIC_VNET_HDR_LEN || len > PAGE_SIZE))
		goto bad;
	if (priv->mergeable)
		nbufs = virtio16_to_cpu(priv->vdev, vhdr->num_buffers);
	if (unlikely(!nbufs || nbufs > MAX_SKB_FRAGS + 1 ||
		     len < hdr_len + ETH_HLEN)) {
		tlsnic_rq_stats_inc(qp, &stats->bad_frames);
		tlsnic_rx_drop(qp, page, nbufs ? nbufs - 1 : 0);
		return;
	}

	if (tlsnic_offload(priv)) {
		/* A copy: the page goes once a small frame is copied out. */
		memcpy(&meta, vhdr + 1, sizeof(meta));
		flags = le16_to_cpu(meta.flags);
		csum_ok = flags & TLSNIC_RX_F_CSUM_OK;
	}
	frame = (u8 *)page_address(page) + hdr_len;
	first_len = len - hdr_len;

	if (nbufs == 1 && first_len <= TLSNIC_RX_COPYBREAK)
		copy = first_len;
	else
		copy = eth_get_headlen(dev, frame,
				       min(first_len, TLSNIC_RX_COPYBREAK));

	skb = napi_alloc_skb(&qp->napi, TLSNIC_RX_COPYBREAK);
	if (unlikely(!skb)) {
		tlsnic_rq_stats_inc(qp, &stats->alloc_fail);
		tlsnic_rx_drop(qp, page, nbufs - 1);
		return;
	}
	skb_put_data(skb, frame, copy);
	if (copy < first_len)
		skb_add_rx_frag(skb, 0, page, hdr_len + copy, first_len - copy,
				PAGE_SIZE);
	else
		put_page(page);

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
	tlsnic_rx_drop(qp, page, 0);
}

/* Fill the RX ring with pages. Returns false if an allocation failed. */
bool tlsnic_rx_refill(struct tlsnic_qp *qp, gfp_t gfp)
{
	struct scatterlist sg;
	struct page *page;
	bool added = false;
	bool ok = true;

	while (qp->rvq->num_free) {
		page = alloc_page(gfp | __GFP_NOWARN);
		if (!page) {
			ok = false;
			break;
		}
		sg_init_table(&sg, 1);
		sg_set_page(&sg, page, PAGE_SIZE, 0);
		if (virtqueue_add_inbuf(qp->rvq, &sg, 1, page, gfp)) {
			put_page(page);
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
	struct page *page;
	int done = 0;

	while (done < budget && (page = virtqueue_get_buf(qp->rvq, &len))) {
		tlsnic_rx_frame(qp, page, len);
		done++;
	}
	if (qp->rvq->num_free && !tlsnic_rx_refill(qp, GFP_ATOMIC))
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

/* Free the pages still posted. Device must be reset. */
void tlsnic_rx_free_unused(struct tlsnic_qp *qp)
{
	struct page *page;

	while ((page = virtqueue_detach_unused_buf(qp->rvq)))
		put_page(page);
}
