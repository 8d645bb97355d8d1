// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic debugfs, for debugging and tests only, in
 * /sys/kernel/debug/tlsnic/<virtio device>/:
 *   info      mode, what IDENTIFY reported at probe, ring state
 *   identify  reading it runs IDENTIFY again through the command channel
 *             (exercises tlsnic_cmd_exec() from user space)
 *   tx_hold   1: sent frames are not reaped (they keep their skb, pages and
 *             TLS context references) until 0 and the next TX poll; for
 *             tests of what must outlive queued frames. NAPI polls busily
 *             meanwhile, and the TX watchdog fires if it lasts 5 s.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/virtio_config.h>

#include "tlsnic_drv.h"

static struct dentry *tlsnic_debugfs_root;

static int tlsnic_info_show(struct seq_file *m, void *unused)
{
	struct tlsnic_priv *priv = m->private;
	const struct tlsnic_dev_info *info = &priv->info;
	unsigned int i;

	seq_printf(m, "netdev: %s\n", netdev_name(priv->netdev));
	seq_printf(m, "mode: %s\n", tlsnic_mode_name(priv));
	seq_printf(m, "mergeable_rx: %d\n", priv->mergeable);
	seq_printf(m, "max_queue_pairs: %u\n", priv->max_pairs);
	seq_printf(m, "rx_hdr_len: %u\n", priv->rx_hdr_len);
	seq_printf(m, "tx_hdr_len: %u\n", priv->tx_hdr_len);
	if (tlsnic_offload(priv)) {
		seq_printf(m, "abi_version: %u\n", info->abi_version);
		seq_printf(m, "port: %u\n", info->port);
		seq_printf(m, "fw_version: %s\n", info->fw_version);
		seq_printf(m, "caps: 0x%x\n", info->caps);
		seq_printf(m, "tls_versions: 0x%x\n", info->tls_versions);
		seq_printf(m, "ciphers: 0x%x\n", info->ciphers);
		seq_printf(m, "max_contexts: %u\n", info->max_contexts);
		seq_printf(m, "max_tso_bytes: %u\n", info->max_tso_bytes);
	}
	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		const struct tlsnic_qp *qp = &priv->qp[i];

		seq_printf(m, "rx%u: size %u free %u\n", i,
			   virtqueue_get_vring_size(qp->rvq), qp->rvq->num_free);
		seq_printf(m, "tx%u: size %u free %u\n", i,
			   virtqueue_get_vring_size(qp->svq), qp->svq->num_free);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tlsnic_info);

static int tlsnic_identify_show(struct seq_file *m, void *unused)
{
	struct tlsnic_priv *priv = m->private;
	struct tlsnic_dev_info info;
	int err;

	err = tlsnic_cmd_identify(priv, &info);
	if (err)
		return err;
	seq_printf(m, "port %u fw %s caps 0x%x tls_versions 0x%x ciphers 0x%x max_contexts %u max_tso_bytes %u\n",
		   info.port, info.fw_version, info.caps, info.tls_versions,
		   info.ciphers, info.max_contexts, info.max_tso_bytes);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tlsnic_identify);

void tlsnic_debugfs_add(struct tlsnic_priv *priv)
{
	if (!tlsnic_debugfs_root)
		return;
	priv->debugfs = debugfs_create_dir(dev_name(&priv->vdev->dev),
					   tlsnic_debugfs_root);
	debugfs_create_file("info", 0400, priv->debugfs, priv,
			    &tlsnic_info_fops);
	debugfs_create_file("identify", 0400, priv->debugfs, priv,
			    &tlsnic_identify_fops);
	debugfs_create_bool("tx_hold", 0600, priv->debugfs, &priv->tx_hold);
}

void tlsnic_debugfs_del(struct tlsnic_priv *priv)
{
	debugfs_remove_recursive(priv->debugfs);
	priv->debugfs = NULL;
}

void tlsnic_debugfs_init(void)
{
	tlsnic_debugfs_root = debugfs_create_dir(TLSNIC_DRV_NAME, NULL);
	if (IS_ERR(tlsnic_debugfs_root))
		tlsnic_debugfs_root = NULL;
}

void tlsnic_debugfs_exit(void)
{
	debugfs_remove_recursive(tlsnic_debugfs_root);
}
