// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic net_device: open/stop, MTU, link state and the offload features
 * the device reported in IDENTIFY.
 */
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/virtio_config.h>

#include "ktls.h"
#include "tlsnic_drv.h"

static void tlsnic_napi_schedule(struct napi_struct *napi)
{
	/* Raise the softirq from a BH-disabled section, not process context. */
	local_bh_disable();
	napi_schedule(napi);
	local_bh_enable();
}

static int tlsnic_open(struct net_device *dev)
{
	struct tlsnic_priv *priv = netdev_priv(dev);
	unsigned int i;

	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		struct tlsnic_qp *qp = &priv->qp[i];

		bool filled = tlsnic_rx_refill(qp, GFP_KERNEL);

		napi_enable(&qp->napi);
		tlsnic_napi_schedule(&qp->napi);
		tlsnic_rx_refill_enable(qp, true);
		/* An empty ring gets no interrupts; the work retries. */
		if (!filled)
			schedule_delayed_work(&qp->refill_work, 0);
	}
	netif_tx_start_all_queues(dev);
	return 0;
}

static int tlsnic_stop(struct net_device *dev)
{
	struct tlsnic_priv *priv = netdev_priv(dev);
	unsigned int i;

	netif_tx_disable(dev);
	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		struct tlsnic_qp *qp = &priv->qp[i];

		/* The refill work disables NAPI itself: stop it first. */
		tlsnic_rx_refill_enable(qp, false);
		cancel_delayed_work_sync(&qp->refill_work);
		napi_disable(&qp->napi);
	}
	return 0;
}

/*
 * RX buffers chain (MRG_RXBUF) or are whole pages a max_mtu frame fits:
 * no ring rebuild needed.
 */
static int tlsnic_change_mtu(struct net_device *dev, int new_mtu)
{
	WRITE_ONCE(dev->mtu, new_mtu);
	return 0;
}

static void tlsnic_tx_timeout(struct net_device *dev, unsigned int txqueue)
{
	struct tlsnic_priv *priv = netdev_priv(dev);
	struct tlsnic_qp *qp = &priv->qp[txqueue];

	atomic64_inc(&priv->tx_timeouts);
	netdev_err(dev, "TX timeout on queue %u: %u descriptors free of %u\n",
		   txqueue, qp->svq->num_free,
		   virtqueue_get_vring_size(qp->svq));
}

static const struct net_device_ops tlsnic_netdev_ops = {
	.ndo_open		= tlsnic_open,
	.ndo_stop		= tlsnic_stop,
	.ndo_start_xmit		= tlsnic_start_xmit,
	.ndo_features_check	= tlsnic_features_check,
	.ndo_get_stats64	= tlsnic_get_stats64,
	.ndo_change_mtu		= tlsnic_change_mtu,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_tx_timeout		= tlsnic_tx_timeout,
};

/* Offloads are advertised only as far as the device reported them. */
static void tlsnic_netdev_features(struct tlsnic_priv *priv)
{
	struct net_device *dev = priv->netdev;
	u32 caps = priv->info.caps;
	netdev_features_t hw = 0;

	if (!tlsnic_offload(priv))
		return;

	if (caps & TLSNIC_CAP_CSUM) {
		hw |= NETIF_F_HW_CSUM | NETIF_F_SG;
		/* TSO needs the device to checksum the segments it makes. */
		if ((caps & TLSNIC_CAP_TSO) && priv->max_tso_bytes)
			hw |= NETIF_F_TSO | NETIF_F_TSO6;
	}
	if (caps & TLSNIC_CAP_RX_CSUM)
		hw |= NETIF_F_RXCSUM;
	hw |= tlsnic_ktls_features(priv, hw);

	dev->hw_features |= hw;
	dev->features |= hw;
	/* VLAN devices get checksumming; the device does not parse tags for TSO. */
	dev->vlan_features |= hw & (NETIF_F_HW_CSUM | NETIF_F_SG);
	if (hw & NETIF_F_TSO)
		netif_set_tso_max_size(dev, priv->max_tso_bytes);
}

void tlsnic_update_link(struct tlsnic_priv *priv)
{
	struct virtio_device *vdev = priv->vdev;
	bool up = true;
	u16 status;

	if (virtio_has_feature(vdev, VIRTIO_NET_F_STATUS)) {
		status = virtio_cread16(vdev, offsetof(struct virtio_net_config,
						       status));
		up = status & VIRTIO_NET_S_LINK_UP;
	}
	if (up == netif_carrier_ok(priv->netdev))
		return;
	if (up)
		netif_carrier_on(priv->netdev);
	else
		netif_carrier_off(priv->netdev);
	netdev_info(priv->netdev, "link %s\n", up ? "up" : "down");
}

static void tlsnic_set_mac(struct tlsnic_priv *priv)
{
	struct net_device *dev = priv->netdev;
	u8 addr[ETH_ALEN];

	if (virtio_has_feature(priv->vdev, VIRTIO_NET_F_MAC)) {
		virtio_cread_bytes(priv->vdev,
				   offsetof(struct virtio_net_config, mac),
				   addr, ETH_ALEN);
		if (is_valid_ether_addr(addr)) {
			eth_hw_addr_set(dev, addr);
			return;
		}
		dev_warn(&priv->vdev->dev, "device MAC %pM is invalid\n", addr);
	}
	eth_hw_addr_random(dev);
}

/* Set up the net_device once the mode is known, before registration. */
void tlsnic_netdev_init(struct tlsnic_priv *priv)
{
	struct net_device *dev = priv->netdev;
	struct virtio_device *vdev = priv->vdev;
	unsigned int max_frame;
	u16 mtu;

	dev->netdev_ops = &tlsnic_netdev_ops;
	dev->ethtool_ops = &tlsnic_ethtool_ops;
	dev->watchdog_timeo = 5 * HZ;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	dev->needed_headroom = priv->tx_hdr_len;
	tlsnic_set_mac(priv);

	dev->min_mtu = TLSNIC_MIN_MTU;
	dev->max_mtu = TLSNIC_MAX_MTU;
	if (!priv->mergeable) {
		/* Without MRG_RXBUF a frame must fit one page. */
		max_frame = PAGE_SIZE - priv->rx_hdr_len - VLAN_ETH_HLEN;
		dev->max_mtu = min(dev->max_mtu, max_frame);
	}
	if (virtio_has_feature(vdev, VIRTIO_NET_F_MTU)) {
		mtu = virtio_cread16(vdev, offsetof(struct virtio_net_config,
						    mtu));
		/* validate() cleared the feature if the value was unusable. */
		dev->max_mtu = min_t(unsigned int, dev->max_mtu, mtu);
	}
	dev->mtu = min_t(unsigned int, ETH_DATA_LEN, dev->max_mtu);

	tlsnic_netdev_features(priv);
	netif_carrier_off(dev);
}
