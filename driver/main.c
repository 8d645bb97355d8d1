// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic: a virtio-net device with a TLS offload engine.
 *
 * Probe finds the virtqueues, enables the second queue pair through the
 * virtio-net control queue and waits for the device to say HELLO on it;
 * only then does it ask the device to IDENTIFY itself. A device that
 * answers is driven in offload mode (tlsnic metadata on every frame,
 * offloads as reported); anything else is driven as a plain virtio-net NIC
 * on queue pair 0, and never saw a byte of the tlsnic protocol.
 */
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "ktls.h"
#include "tlsnic_drv.h"

/* Queue pairs we are prepared to instantiate to reach the control queue. */
#define TLSNIC_MAX_QUEUE_PAIRS	16
#define TLSNIC_CTRL_TIMEOUT_MS	2000

/* virtio-net control command; DMA-able, so never on the stack. */
struct tlsnic_ctrl_mq_buf {
	struct virtio_net_ctrl_hdr hdr;
	struct virtio_net_ctrl_mq mq;
	virtio_net_ctrl_ack status;
};

const char *tlsnic_mode_name(const struct tlsnic_priv *priv)
{
	return tlsnic_offload(priv) ? "tlsnic" : "plain";
}

/*
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET. The control queue is served by QEMU
 * itself, which enables the vhost-user rings of the pairs in use.
 */
int tlsnic_ctrl_set_queue_pairs(struct tlsnic_priv *priv, u16 pairs)
{
	struct virtqueue *vq = priv->ctrl_vq;
	struct scatterlist hdr_sg, mq_sg, status_sg, *sgs[3];
	struct tlsnic_ctrl_mq_buf *buf;
	unsigned long deadline;
	unsigned int len;
	void *done;
	int err;

	if (!vq)
		return -EOPNOTSUPP;
	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	buf->hdr.class = VIRTIO_NET_CTRL_MQ;
	buf->hdr.cmd = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	buf->mq.virtqueue_pairs = cpu_to_virtio16(priv->vdev, pairs);
	buf->status = VIRTIO_NET_ERR;

	sg_init_one(&hdr_sg, &buf->hdr, sizeof(buf->hdr));
	sg_init_one(&mq_sg, &buf->mq, sizeof(buf->mq));
	sg_init_one(&status_sg, &buf->status, sizeof(buf->status));
	sgs[0] = &hdr_sg;
	sgs[1] = &mq_sg;
	sgs[2] = &status_sg;

	err = virtqueue_add_sgs(vq, sgs, 2, 1, buf, GFP_KERNEL);
	if (err) {
		kfree(buf);
		return err;
	}
	if (!virtqueue_kick(vq))
		return -EIO;	/* broken device; buf is freed at teardown */

	deadline = jiffies + msecs_to_jiffies(TLSNIC_CTRL_TIMEOUT_MS);
	while (!(done = virtqueue_get_buf(vq, &len))) {
		if (virtqueue_is_broken(vq))
			return -EIO;
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;
		usleep_range(50, 200);
	}
	err = buf->status == VIRTIO_NET_OK ? 0 : -EIO;
	kfree(buf);
	return err;
}

static int tlsnic_find_vqs(struct tlsnic_priv *priv)
{
	struct virtio_device *vdev = priv->vdev;
	bool ctrl = virtio_has_feature(vdev, VIRTIO_NET_F_CTRL_VQ);
	bool mq = ctrl && virtio_has_feature(vdev, VIRTIO_NET_F_MQ);
	unsigned int pairs = 1, nvqs, i;
	vq_callback_t **callbacks;
	const char **names;
	int err = -ENOMEM;

	if (mq) {
		pairs = virtio_cread16(vdev,
				       offsetof(struct virtio_net_config,
						max_virtqueue_pairs));
		if (pairs < 1 || pairs > TLSNIC_MAX_QUEUE_PAIRS) {
			/* The control queue follows all pairs: out of reach. */
			dev_info(&vdev->dev,
				 "device offers %u queue pairs, using one\n",
				 pairs);
			pairs = 1;
			ctrl = false;
		}
	}
	priv->max_pairs = pairs;
	nvqs = 2 * pairs + ctrl;

	priv->vqs = kcalloc(nvqs, sizeof(*priv->vqs), GFP_KERNEL);
	callbacks = kcalloc(nvqs, sizeof(*callbacks), GFP_KERNEL);
	names = kcalloc(nvqs, sizeof(*names), GFP_KERNEL);
	if (!priv->vqs || !callbacks || !names)
		goto out;

	/* Pairs beyond the command pair are created only to reach ctrl. */
	for (i = 0; i < 2 * pairs; i++)
		names[i] = "unused";
	names[0] = "rx0";
	callbacks[0] = tlsnic_rx_done;
	names[1] = "tx0";
	callbacks[1] = tlsnic_tx_done;
	if (pairs >= TLSNIC_NUM_QP) {
		names[2 * TLSNIC_CMD_QP] = "cmd-rx";
		callbacks[2 * TLSNIC_CMD_QP] = tlsnic_cmd_rx_done;
		names[2 * TLSNIC_CMD_QP + 1] = "cmd-tx";
	}
	if (ctrl)
		names[nvqs - 1] = "control";

	err = virtio_find_vqs(vdev, nvqs, priv->vqs, callbacks, names, NULL);
	if (err)
		goto out;
	priv->nvqs = nvqs;

	priv->qp[0].rvq = priv->vqs[0];
	priv->qp[0].svq = priv->vqs[1];
	if (pairs >= TLSNIC_NUM_QP && ctrl) {
		priv->cmd.rvq = priv->vqs[2 * TLSNIC_CMD_QP];
		priv->cmd.svq = priv->vqs[2 * TLSNIC_CMD_QP + 1];
	}
	if (ctrl)
		priv->ctrl_vq = priv->vqs[nvqs - 1];
	/* The command TX queue is reclaimed synchronously: no interrupts. */
	if (priv->cmd.svq)
		virtqueue_disable_cb(priv->cmd.svq);

	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		err = tlsnic_rx_pool_create(&priv->qp[i]);
		if (err) {
			while (i--)
				tlsnic_rx_pool_destroy(&priv->qp[i]);
			vdev->config->del_vqs(vdev);
			priv->nvqs = 0;
			goto out;
		}
	}
out:
	kfree(names);
	kfree(callbacks);
	if (err) {
		kfree(priv->vqs);
		priv->vqs = NULL;
	}
	return err;
}

/* Free every buffer still posted and the vqs. Device must be reset. */
static void tlsnic_del_vqs(struct tlsnic_priv *priv)
{
	unsigned int i;
	void *buf;

	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		tlsnic_tx_free_unused(&priv->qp[i]);
		tlsnic_rx_free_unused(&priv->qp[i]);
		tlsnic_rx_pool_destroy(&priv->qp[i]);
	}
	tlsnic_cmd_free_unused(priv);
	if (priv->ctrl_vq)
		while ((buf = virtqueue_detach_unused_buf(priv->ctrl_vq)))
			kfree(buf);
	priv->vdev->config->del_vqs(priv->vdev);
	kfree(priv->vqs);
	priv->vqs = NULL;
}

/*
 * Decide between offload and plain mode. Returns a negative errno only
 * for local failures; a device that does not answer is just plain.
 */
static int tlsnic_detect(struct tlsnic_priv *priv, const char **why)
{
	int err;

	priv->mode = TLSNIC_MODE_PLAIN;
	if (!priv->cmd.rvq) {
		*why = "no second queue pair";
		return 0;
	}
	err = tlsnic_ctrl_set_queue_pairs(priv, TLSNIC_NUM_QP);
	if (err) {
		*why = "cannot enable the command queue pair";
		return 0;
	}
	err = tlsnic_cmd_start(priv);
	if (err)
		return err;

	/* A plain backend would forward a command as a frame: none before HELLO. */
	err = tlsnic_cmd_wait_hello(priv, TLSNIC_HELLO_TIMEOUT_MS);
	if (err) {
		*why = "no HELLO from the device";
		goto plain;
	}
	err = tlsnic_cmd_identify(priv, &priv->info);
	if (!err) {
		priv->mode = TLSNIC_MODE_OFFLOAD;
		return 0;
	}
	*why = err == -ETIMEDOUT ? "no IDENTIFY reply" : "bad IDENTIFY reply";
plain:
	/* Not a tlsnic: pure virtio-net semantics, pair 0 only. */
	tlsnic_cmd_stop(priv);
	if (tlsnic_ctrl_set_queue_pairs(priv, 1))
		dev_warn(&priv->vdev->dev,
			 "cannot disable the second queue pair\n");
	return 0;
}

static void tlsnic_apply_mode(struct tlsnic_priv *priv)
{
	priv->rx_hdr_len = TLSNIC_VNET_HDR_LEN;
	priv->tx_hdr_len = TLSNIC_VNET_HDR_LEN;
	priv->max_tso_bytes = 0;
	if (!tlsnic_offload(priv))
		return;

	priv->rx_hdr_len += sizeof(struct tlsnic_rx_meta);
	priv->tx_hdr_len += sizeof(struct tlsnic_tx_meta);
	/* A TSO limit below one full frame makes TSO useless. */
	if (priv->info.max_tso_bytes >= ETH_FRAME_LEN)
		priv->max_tso_bytes = min_t(u32, priv->info.max_tso_bytes,
					    GSO_LEGACY_MAX_SIZE);
}

static void tlsnic_log_mode(struct tlsnic_priv *priv, const char *why)
{
	const struct tlsnic_dev_info *info = &priv->info;
	static const char * const cap_names[] = {
		"csum", "tso", "rx-csum", "tls-tx", "tls-rx", "tx-drop-event",
		"rx-resync-req",
	};
	char caps[96] = "";
	unsigned int i;

	if (!tlsnic_offload(priv)) {
		netdev_info(priv->netdev,
			    "plain virtio-net mode (%s), no offloads\n", why);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (info->caps & BIT(i))
			snprintf(caps + strlen(caps), sizeof(caps) - strlen(caps),
				 "%s%s", caps[0] ? "," : "", cap_names[i]);
	netdev_info(priv->netdev,
		    "tlsnic mode: ABI v%u port %u fw %s caps %s tls-versions 0x%x ciphers 0x%x contexts %u max-tso %u\n",
		    info->abi_version, info->port, info->fw_version,
		    caps[0] ? caps : "none",
		    info->tls_versions, info->ciphers, info->max_contexts,
		    info->max_tso_bytes);
}

static void tlsnic_config_work(struct work_struct *work)
{
	struct tlsnic_priv *priv = container_of(work, struct tlsnic_priv,
						config_work);

	tlsnic_update_link(priv);
	/*
	 * A vhost-user backend that went away and came back takes the link
	 * down and up (maybe both before we look): ask whether the device
	 * still knows us, or was reset and forgot our contexts (cmd.c).
	 */
	if (netif_carrier_ok(priv->netdev))
		tlsnic_cmd_check_device(priv);
}

/* Called by the virtio core only between the end of probe and remove. */
static void tlsnic_config_changed(struct virtio_device *vdev)
{
	struct tlsnic_priv *priv = vdev->priv;

	schedule_work(&priv->config_work);
}

static int tlsnic_validate(struct virtio_device *vdev)
{
	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(&vdev->dev, "device does not offer VIRTIO_F_VERSION_1\n");
		return -ENODEV;
	}
	if (!vdev->config->get) {
		dev_err(&vdev->dev, "config space is not readable\n");
		return -EINVAL;
	}
	if (virtio_has_feature(vdev, VIRTIO_NET_F_MTU) &&
	    virtio_cread16(vdev, offsetof(struct virtio_net_config, mtu)) <
	    TLSNIC_MIN_MTU)
		__virtio_clear_bit(vdev, VIRTIO_NET_F_MTU);
	return 0;
}

static int tlsnic_probe(struct virtio_device *vdev)
{
	const char *why = "";
	struct tlsnic_priv *priv;
	struct net_device *dev;
	unsigned int i;
	int err;

	dev = alloc_etherdev_mq(sizeof(*priv), TLSNIC_NUM_DATA_QP);
	if (!dev)
		return -ENOMEM;
	SET_NETDEV_DEV(dev, &vdev->dev);
	priv = netdev_priv(dev);
	priv->netdev = dev;
	priv->vdev = vdev;
	priv->mergeable = virtio_has_feature(vdev, VIRTIO_NET_F_MRG_RXBUF);
	atomic64_set(&priv->tx_timeouts, 0);
	INIT_WORK(&priv->config_work, tlsnic_config_work);
	vdev->priv = priv;

	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		struct tlsnic_qp *qp = &priv->qp[i];

		qp->priv = priv;
		qp->index = i;
		u64_stats_init(&qp->rq_stats.syncp);
		u64_stats_init(&qp->sq_stats.syncp);
		spin_lock_init(&qp->refill_lock);
		INIT_DELAYED_WORK(&qp->refill_work, tlsnic_rx_refill_work);
	}

	err = tlsnic_find_vqs(priv);
	if (err) {
		dev_err(&vdev->dev, "cannot set up virtqueues: %d\n", err);
		goto err_free_netdev;
	}
	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++)
		netif_napi_add(dev, &priv->qp[i].napi, tlsnic_poll);
	tlsnic_cmd_init(priv);

	virtio_device_ready(vdev);

	err = tlsnic_detect(priv, &why);
	if (err) {
		dev_err(&vdev->dev, "command channel setup failed: %d\n", err);
		goto err_reset;
	}
	tlsnic_apply_mode(priv);
	tlsnic_ktls_init(priv);
	tlsnic_netdev_init(priv);

	err = register_netdev(dev);
	if (err) {
		dev_err(&vdev->dev, "cannot register netdev: %d\n", err);
		goto err_reset;
	}
	tlsnic_update_link(priv);
	tlsnic_log_mode(priv, why);
	tlsnic_debugfs_add(priv);
	return 0;

err_reset:
	tlsnic_cmd_stop(priv);
	virtio_reset_device(vdev);
	tlsnic_del_vqs(priv);
	tlsnic_ktls_cleanup(priv);
err_free_netdev:
	free_netdev(dev);
	return err;
}

static void tlsnic_remove(struct virtio_device *vdev)
{
	struct tlsnic_priv *priv = vdev->priv;

	tlsnic_debugfs_del(priv);
	/* The core stopped config interrupts before calling us. */
	cancel_work_sync(&priv->config_work);
	/* Stops the data path: NAPI off, refill work cancelled. */
	unregister_netdev(priv->netdev);
	tlsnic_cmd_stop(priv);

	virtio_reset_device(vdev);
	tlsnic_del_vqs(priv);
	/* Every frame is freed: destroy the contexts they kept alive. */
	tlsnic_ktls_cleanup(priv);
	free_netdev(priv->netdev);
}

static const struct virtio_device_id tlsnic_id_table[] = {
	{ VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, tlsnic_id_table);

/* No virtio checksum or GSO bits: the tlsnic metadata carries those. */
static const unsigned int tlsnic_features[] = {
	VIRTIO_NET_F_MAC,
	VIRTIO_NET_F_MTU,
	VIRTIO_NET_F_STATUS,
	VIRTIO_NET_F_MRG_RXBUF,
	VIRTIO_NET_F_CTRL_VQ,
	VIRTIO_NET_F_MQ,
};

static struct virtio_driver tlsnic_driver = {
	.driver.name		= KBUILD_MODNAME,
	.driver.owner		= THIS_MODULE,
	.id_table		= tlsnic_id_table,
	.feature_table		= tlsnic_features,
	.feature_table_size	= ARRAY_SIZE(tlsnic_features),
	.validate		= tlsnic_validate,
	.probe			= tlsnic_probe,
	.remove			= tlsnic_remove,
	.config_changed		= tlsnic_config_changed,
};

static int __init tlsnic_init(void)
{
	int err;

	tlsnic_debugfs_init();
	err = register_virtio_driver(&tlsnic_driver);
	if (err)
		tlsnic_debugfs_exit();
	return err;
}
module_init(tlsnic_init);

static void __exit tlsnic_exit(void)
{
	unregister_virtio_driver(&tlsnic_driver);
	tlsnic_debugfs_exit();
}
module_exit(tlsnic_exit);

MODULE_DESCRIPTION("tlsnic: virtio-net NIC with TLS offload");
MODULE_LICENSE("GPL");
MODULE_VERSION(TLSNIC_DRV_VERSION);
