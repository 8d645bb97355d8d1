// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic ethtool operations. Feature toggles (-K) need no hook: the data
 * path reads dev->features per packet and the stack honours the rest.
 */
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/virtio_config.h>

#include "tlsnic_drv.h"

static void tlsnic_get_drvinfo(struct net_device *dev,
			       struct ethtool_drvinfo *info)
{
	struct tlsnic_priv *priv = netdev_priv(dev);

	strscpy(info->driver, TLSNIC_DRV_NAME, sizeof(info->driver));
	strscpy(info->version, TLSNIC_DRV_VERSION, sizeof(info->version));
	strscpy(info->bus_info, virtio_bus_name(priv->vdev),
		sizeof(info->bus_info));
	if (tlsnic_offload(priv))
		strscpy(info->fw_version, priv->info.fw_version,
			sizeof(info->fw_version));
	else
		strscpy(info->fw_version, "n/a (plain virtio-net)",
			sizeof(info->fw_version));
}

/* Ring sizes are fixed by the device when the queues are set up. */
static void tlsnic_get_ringparam(struct net_device *dev,
				 struct ethtool_ringparam *ring,
				 struct kernel_ethtool_ringparam *kring,
				 struct netlink_ext_ack *extack)
{
	struct tlsnic_priv *priv = netdev_priv(dev);

	ring->rx_max_pending = virtqueue_get_vring_size(priv->qp[0].rvq);
	ring->tx_max_pending = virtqueue_get_vring_size(priv->qp[0].svq);
	ring->rx_pending = ring->rx_max_pending;
	ring->tx_pending = ring->tx_max_pending;
}

static void tlsnic_get_channels(struct net_device *dev,
				struct ethtool_channels *ch)
{
	ch->max_combined = TLSNIC_NUM_DATA_QP;
	ch->combined_count = TLSNIC_NUM_DATA_QP;
}

static int tlsnic_get_link_ksettings(struct net_device *dev,
				     struct ethtool_link_ksettings *cmd)
{
	/* A simulated wire has no speed. */
	cmd->base.speed = SPEED_UNKNOWN;
	cmd->base.duplex = DUPLEX_FULL;
	cmd->base.port = PORT_OTHER;
	cmd->base.autoneg = AUTONEG_DISABLE;
	return 0;
}

static int tlsnic_get_sset_count(struct net_device *dev, int sset)
{
	switch (sset) {
	case ETH_SS_STATS:
		return tlsnic_stats_count(netdev_priv(dev));
	default:
		return -EOPNOTSUPP;
	}
}

static void tlsnic_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	if (sset == ETH_SS_STATS)
		tlsnic_stats_strings(netdev_priv(dev), data);
}

static void tlsnic_get_ethtool_stats(struct net_device *dev,
				     struct ethtool_stats *stats, u64 *data)
{
	tlsnic_stats_fill(netdev_priv(dev), data);
}

const struct ethtool_ops tlsnic_ethtool_ops = {
	.get_drvinfo		= tlsnic_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_link_ksettings	= tlsnic_get_link_ksettings,
	.get_ringparam		= tlsnic_get_ringparam,
	.get_channels		= tlsnic_get_channels,
	.get_sset_count		= tlsnic_get_sset_count,
	.get_strings		= tlsnic_get_strings,
	.get_ethtool_stats	= tlsnic_get_ethtool_stats,
};
