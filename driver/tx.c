// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic transmit path.
 *
 * Every frame goes out as one descriptor chain: a header in the skb's
 * headroom (zeroed virtio-net header, plus struct tlsnic_tx_meta in offload
 * mode), then the skb's linear part and fragments as separate entries. The
 * device reads them in place; completed skbs are freed from NAPI.
 */
#include <linux/if_vlan.h>
#include <linux/netdevice.h>

#include "ktls.h"
#include "tlsnic_drv.h"

static void tlsnic_sq_stats_drop(struct tlsnic_qp *qp)
{
	u64_stats_update_begin(&qp->sq_stats.syncp);
	u64_stats_inc(&qp->sq_stats.drops);
	u64_stats_update_end(&qp->sq_stats.syncp);
}

/*
 * Describe the checksum and segmentation the device must do. Offsets are
 * relative to the Ethernet header, which is skb->data here.
 */
static int tlsnic_tx_fill_meta(struct sk_buff *skb, struct tlsnic_tx_meta *meta)
{
	u16 flags = 0;

	meta->ctx_handle = cpu_to_le32(TLSNIC_HANDLE_NONE);

	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		flags |= TLSNIC_TX_F_CSUM;
		meta->csum_start = cpu_to_le16(skb_checksum_start_offset(skb));
		meta->csum_offset = cpu_to_le16(skb->csum_offset);
	}

	if (skb_is_gso(skb)) {
		unsigned int gso_type = skb_shinfo(skb)->gso_type;

		if (gso_type & SKB_GSO_TCPV4)
			meta->gso_type = TLSNIC_GSO_TCPV4;
		else if (gso_type & SKB_GSO_TCPV6)
			meta->gso_type = TLSNIC_GSO_TCPV6;
		else
			return -EPROTONOSUPPORT;
		flags |= TLSNIC_TX_F_TSO;
		meta->mss = cpu_to_le16(skb_shinfo(skb)->gso_size);
	}

	meta->flags = cpu_to_le16(flags);
	return 0;
}

static void tlsnic_tx_count(struct tlsnic_qp *qp, const struct sk_buff *skb)
{
	struct tlsnic_sq_stats *stats = &qp->sq_stats;

	u64_stats_update_begin(&stats->syncp);
	if (skb_is_gso(skb)) {
		u64_stats_add(&stats->packets, skb_shinfo(skb)->gso_segs);
		u64_stats_inc(&stats->tso_packets);
		u64_stats_add(&stats->tso_bytes, skb->len);
	} else {
		u64_stats_inc(&stats->packets);
	}
	u64_stats_add(&stats->bytes, skb->len);
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		u64_stats_inc(&stats->csum_partial);
	u64_stats_update_end(&stats->syncp);
}

static void tlsnic_tx_kick(struct tlsnic_qp *qp)
{
	if (virtqueue_kick_prepare(qp->svq))
		virtqueue_notify(qp->svq);
}

netdev_tx_t tlsnic_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct tlsnic_priv *priv = netdev_priv(dev);
	unsigned int q = skb_get_queue_mapping(skb);
	struct tlsnic_qp *qp = &priv->qp[q];
	struct netdev_queue *txq = netdev_get_tx_queue(dev, q);
	unsigned int hdr_len = priv->tx_hdr_len;
	struct tlsnic_tx_meta *meta;
	int nents, ndump = 0, err;
	bool stop = false;
	u8 *hdr;

	tlsnic_ktls_tx_skb_init(skb);
	/*
	 * A context a device reset forgot: the kernel encrypts. Only after a
	 * reset (epoch > 0) can a frame name one; until then one load.
	 */
	if (tlsnic_offload(priv) && unlikely(tlsnic_cmd_epoch(priv))) {
		skb = tlsnic_ktls_tx_sw_fallback(qp, skb);
		if (unlikely(!skb)) {
			tlsnic_sq_stats_drop(qp);
			tlsnic_tx_kick(qp);
			return NETDEV_TX_OK;
		}
	}
	/* The header goes in the headroom, which must be ours to write. */
	if (skb_cow_head(skb, hdr_len))
		goto drop;
	hdr = skb->data - hdr_len;
	memset(hdr, 0, hdr_len);
	/*
	 * Initialise only the entries this frame uses, piece by piece: the
	 * header here, the dump entries in tlsnic_ktls_tx_prepare(), the
	 * skb's before skb_to_sgvec(), which marks the end. sg_set_buf() and
	 * sg_set_page() keep an entry's end mark, so no piece may be skipped.
	 */
	sg_init_table(qp->sg, 1);
	sg_unmark_end(&qp->sg[0]);
	sg_set_buf(&qp->sg[0], hdr, hdr_len);
	if (tlsnic_offload(priv)) {
		meta = (void *)(hdr + TLSNIC_VNET_HDR_LEN);
		if (tlsnic_tx_fill_meta(skb, meta))
			goto drop;
		/* kTLS: context handle, resync info, dump entries after hdr. */
		ndump = tlsnic_ktls_tx_prepare(qp, skb, meta, qp->sg + 1);
		if (unlikely(ndump < 0))
			goto drop;
	}

	/* No frag_list (no NETIF_F_FRAGLIST): linear part and fragments. */
	sg_init_table(qp->sg + 1 + ndump, 1 + skb_shinfo(skb)->nr_frags);
	nents = skb_to_sgvec(skb, qp->sg + 1 + ndump, 0, skb->len);
	if (unlikely(nents < 0))
		goto drop;

	err = virtqueue_add_outbuf(qp->svq, qp->sg, 1 + ndump + nents, skb,
				   GFP_ATOMIC);
	if (unlikely(err)) {
		/* Only after a stop/start with a full ring: wait for NAPI. */
		netif_tx_stop_queue(txq);
		u64_stats_update_begin(&qp->sq_stats.syncp);
		u64_stats_inc(&qp->sq_stats.stops);
		u64_stats_update_end(&qp->sq_stats.syncp);
		goto drop;
	}
	tlsnic_ktls_tx_queued(qp, skb);
	tlsnic_tx_count(qp, skb);
	skb_tx_timestamp(skb);

	/* Stop while a worst-case skb might not fit; NAPI wakes us. */
	if (qp->svq->num_free < TLSNIC_TX_MAX_SG) {
		netif_tx_stop_queue(txq);
		u64_stats_update_begin(&qp->sq_stats.syncp);
		u64_stats_inc(&qp->sq_stats.stops);
		u64_stats_update_end(&qp->sq_stats.syncp);
		stop = true;
	}

	if (__netdev_tx_sent_queue(txq, skb->len, netdev_xmit_more()) || stop)
		tlsnic_tx_kick(qp);
	return NETDEV_TX_OK;

drop:
	tlsnic_sq_stats_drop(qp);
	tlsnic_ktls_tx_release(skb);
	dev_kfree_skb_any(skb);
	/* Flush what xmit_more batching may have left unkicked. */
	tlsnic_tx_kick(qp);
	return NETDEV_TX_OK;
}

/* Never hand the device a TSO frame it cannot segment. */
netdev_features_t tlsnic_features_check(struct sk_buff *skb,
					struct net_device *dev,
					netdev_features_t features)
{
	struct tlsnic_priv *priv = netdev_priv(dev);

	features = vlan_features_check(skb, features);
	if (skb_is_gso(skb) &&
	    (skb->len > priv->max_tso_bytes ||
	     skb_shinfo(skb)->gso_size < TLSNIC_TSO_MIN_MSS))
		features &= ~NETIF_F_GSO_MASK;
	return features;
}

/**
 * tlsnic_tx_clean - free what the device has sent and wake the queue
 * @qp: data queue pair, from its NAPI poll
 * @budget: the poll's budget (0 from netpoll)
 *
 * Takes the TX lock once, and only if xmit does not hold it. The
 * completion interrupt is re-armed with virtqueue_enable_cb_delayed(): it
 * fires once most of what is queued now has been sent, not per frame.
 *
 * Returns false if the queue may hold completions nothing will signal:
 * xmit held the lock (the interrupt may be off since the last one), or
 * the tx_hold test knob is set. The caller must then poll again instead
 * of completing NAPI.
 */
bool tlsnic_tx_clean(struct tlsnic_qp *qp, int budget)
{
	struct net_device *dev = qp->priv->netdev;
	struct netdev_queue *txq = netdev_get_tx_queue(dev, qp->index);
	unsigned int len, pkts = 0, bytes = 0;
	struct sk_buff *skb;

	if (!__netif_tx_trylock(txq))
		return false;
	/* Test knob (debugfs tx_hold): what a queued frame keeps alive. */
	if (unlikely(READ_ONCE(qp->priv->tx_hold))) {
		__netif_tx_unlock(txq);
		return false;
	}
	do {
		virtqueue_disable_cb(qp->svq);
		while ((skb = virtqueue_get_buf(qp->svq, &len))) {
			pkts++;
			bytes += skb->len;
			tlsnic_ktls_tx_release(skb);
			napi_consume_skb(skb, budget);
		}
	} while (unlikely(!virtqueue_enable_cb_delayed(qp->svq)));
	if (pkts)
		netdev_tx_completed_queue(txq, pkts, bytes);

	if (netif_tx_queue_stopped(txq) &&
	    qp->svq->num_free >= TLSNIC_TX_MAX_SG) {
		netif_tx_wake_queue(txq);
		u64_stats_update_begin(&qp->sq_stats.syncp);
		u64_stats_inc(&qp->sq_stats.wakes);
		u64_stats_update_end(&qp->sq_stats.syncp);
	}
	__netif_tx_unlock(txq);
	return true;
}

/* Completion interrupt of a data TX queue. */
void tlsnic_tx_done(struct virtqueue *vq)
{
	struct tlsnic_priv *priv = vq->vdev->priv;
	struct tlsnic_qp *qp = &priv->qp[vq->index / 2];

	virtqueue_disable_cb(vq);
	napi_schedule(&qp->napi);
}

/* Free skbs the device never completed. Device must be reset. */
void tlsnic_tx_free_unused(struct tlsnic_qp *qp)
{
	struct sk_buff *skb;

	while ((skb = virtqueue_detach_unused_buf(qp->svq))) {
		tlsnic_ktls_tx_release(skb);
		dev_kfree_skb(skb);
	}
	netdev_tx_reset_queue(netdev_get_tx_queue(qp->priv->netdev,
						  qp->index));
}
