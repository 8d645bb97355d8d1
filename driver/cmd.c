// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic command channel: commands to the device on the TX queue of queue
 * pair TLSNIC_CMD_QP, completions and unsolicited events from it on the RX
 * queue of that pair.
 *
 * tlsnic_cmd_exec() runs one command at a time (callers may sleep), tags it
 * and waits for the reply with that tag. A reply that arrives after its
 * command timed out matches nothing and is dropped. Completions and events
 * are parsed in a NAPI context of their own, so event handlers run in
 * softirq context like the data path.
 */
#include <linux/completion.h>
#include <linux/slab.h>

#include "ktls.h"
#include "tlsnic_drv.h"

/* The command in flight; lives on the stack of tlsnic_cmd_exec(). */
struct tlsnic_cmd_wait {
	u32 tag;
	u8 opcode;
	void *reply;
	size_t reply_len;
	int err;
	struct completion done;
};

static int tlsnic_status_to_errno(u16 status)
{
	switch (status) {
	case TLSNIC_ST_OK:
		return 0;
	case TLSNIC_ST_BAD_MSG:
		return -EINVAL;
	case TLSNIC_ST_BAD_OPCODE:
	case TLSNIC_ST_UNSUPPORTED:
		return -EOPNOTSUPP;
	case TLSNIC_ST_NO_SPACE:
		return -ENOSPC;
	case TLSNIC_ST_BAD_HANDLE:
		return -ENOENT;
	default:
		return -EIO;
	}
}

/*
 * Unsolicited device events. The TLS RX offload will consume resync requests.
 * TX drops go to the TX offload.
 */
static void tlsnic_cmd_event(struct tlsnic_priv *priv, u8 opcode,
			     const void *body, u32 len)
{
	struct tlsnic_cmd_stats *stats = &priv->cmd.stats;

	switch (opcode) {
	case TLSNIC_EV_RX_RESYNC_REQ:
		if (len != sizeof(struct tlsnic_rx_resync_req)) {
			atomic64_inc(&stats->bad_msgs);
			return;
		}
		atomic64_inc(&stats->events);
		return;
	case TLSNIC_EV_TX_DROP:
		if (len != sizeof(struct tlsnic_tx_drop)) {
			atomic64_inc(&stats->bad_msgs);
			return;
		}
		atomic64_inc(&stats->events);
		tlsnic_ktls_tx_drop_event(priv, body);
		return;
	default:
		atomic64_inc(&stats->bad_msgs);
		return;
	}
}

static void tlsnic_cmd_reply(struct tlsnic_priv *priv,
			     const struct tlsnic_msg_hdr *hdr,
			     const void *body, u32 len)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	struct tlsnic_cmd_wait *wait;
	u16 status = le16_to_cpu(hdr->status);
	u32 tag = le32_to_cpu(hdr->tag);
	int err;

	spin_lock(&cmd->wait_lock);
	wait = cmd->wait;
	if (!wait || wait->tag != tag ||
	    wait->opcode != (hdr->opcode & ~TLSNIC_OP_REPLY)) {
		spin_unlock(&cmd->wait_lock);
		atomic64_inc(&cmd->stats.late_replies);
		return;
	}

	err = tlsnic_status_to_errno(status);
	if (!err) {
		/* A successful reply carries exactly the expected body. */
		if (len != wait->reply_len)
			err = -EPROTO;
		else if (len)
			memcpy(wait->reply, body, len);
	}
	wait->err = err;
	cmd->wait = NULL;
	/* @wait is gone once the waiter sees the completion. */
	complete(&wait->done);
	spin_unlock(&cmd->wait_lock);

	atomic64_inc(&cmd->stats.completed);
	if (err)
		atomic64_inc(&cmd->stats.errors);
}

/* Parse one message the device wrote into a command RX buffer. */
static void tlsnic_cmd_rx_msg(struct tlsnic_priv *priv, const u8 *buf,
			      unsigned int len)
{
	const struct tlsnic_msg_hdr *hdr;
	u32 body_len;

	if (len < TLSNIC_VNET_HDR_LEN + sizeof(*hdr))
		goto bad;
	hdr = (const void *)(buf + TLSNIC_VNET_HDR_LEN);
	len -= TLSNIC_VNET_HDR_LEN + sizeof(*hdr);
	body_len = le32_to_cpu(hdr->len);

	if (le32_to_cpu(hdr->magic) != TLSNIC_ABI_MAGIC ||
	    hdr->version != TLSNIC_ABI_VERSION || body_len > len)
		goto bad;

	if (hdr->opcode & TLSNIC_OP_REPLY) {
		tlsnic_cmd_reply(priv, hdr, hdr + 1, body_len);
		return;
	}
	/* Events carry tag 0; anything else (e.g. a peer's command) is junk. */
	if (!hdr->tag) {
		tlsnic_cmd_event(priv, hdr->opcode, hdr + 1, body_len);
		return;
	}
bad:
	atomic64_inc(&priv->cmd.stats.bad_msgs);
}

static int tlsnic_cmd_post_rx(struct tlsnic_cmd_chan *cmd, void *buf, gfp_t gfp)
{
	struct scatterlist sg;

	sg_init_one(&sg, buf, TLSNIC_CMD_BUF_SIZE);
	return virtqueue_add_inbuf(cmd->rvq, &sg, 1, buf, gfp);
}

static int tlsnic_cmd_poll(struct napi_struct *napi, int budget)
{
	struct tlsnic_cmd_chan *cmd = container_of(napi, struct tlsnic_cmd_chan,
						   napi);
	struct tlsnic_priv *priv = container_of(cmd, struct tlsnic_priv, cmd);
	struct virtio_net_hdr_mrg_rxbuf *vhdr;
	unsigned int len, nbufs;
	int done = 0;
	void *buf;

	while (done < budget && (buf = virtqueue_get_buf(cmd->rvq, &len))) {
		done++;
		vhdr = buf;
		nbufs = 1;
		if (priv->mergeable && len >= TLSNIC_VNET_HDR_LEN)
			nbufs = virtio16_to_cpu(priv->vdev, vhdr->num_buffers);

		if (nbufs == 1) {
			tlsnic_cmd_rx_msg(priv, buf, len);
		} else {
			/* Messages fit one buffer; a longer one is invalid. */
			atomic64_inc(&cmd->stats.bad_msgs);
			while (--nbufs > 0) {
				void *extra = virtqueue_get_buf(cmd->rvq, &len);

				if (!extra)
					break;
				if (tlsnic_cmd_post_rx(cmd, extra, GFP_ATOMIC))
					kfree(extra);
			}
		}
		/* Same buffer back: the ring never shrinks. */
		if (tlsnic_cmd_post_rx(cmd, buf, GFP_ATOMIC))
			kfree(buf);
	}
	if (done)
		virtqueue_kick(cmd->rvq);

	if (done < budget && napi_complete_done(napi, done) &&
	    !virtqueue_enable_cb(cmd->rvq) && napi_schedule_prep(napi)) {
		virtqueue_disable_cb(cmd->rvq);
		__napi_schedule(napi);
	}
	return done;
}

void tlsnic_cmd_rx_done(struct virtqueue *vq)
{
	struct tlsnic_priv *priv = vq->vdev->priv;

	virtqueue_disable_cb(vq);
	napi_schedule(&priv->cmd.napi);
}

/* Free command buffers the device has consumed. Called with cmd->lock. */
static void tlsnic_cmd_reclaim_tx(struct tlsnic_cmd_chan *cmd)
{
	unsigned int len;
	void *buf;

	while ((buf = virtqueue_get_buf(cmd->svq, &len)))
		kfree(buf);
}

/**
 * tlsnic_cmd_exec - run one device command and wait for its reply
 * @priv: device
 * @opcode: TLSNIC_OP_*
 * @body: command body, @len bytes
 * @len: body length
 * @reply: where the reply body goes
 * @reply_len: exact size of the reply body expected on success
 * @timeout_ms: how long to wait for the reply
 *
 * May sleep. Commands are serialised. Returns 0, a negative errno mapped
 * from the device status, -EPROTO for a malformed reply, -ETIMEDOUT, or
 * -ENODEV when the command channel is not (or no longer) available.
 */
int tlsnic_cmd_exec(struct tlsnic_priv *priv, u8 opcode,
		    const void *body, size_t len,
		    void *reply, size_t reply_len, unsigned int timeout_ms)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	struct tlsnic_cmd_wait wait = {
		.opcode = opcode,
		.reply = reply,
		.reply_len = reply_len,
	};
	struct tlsnic_msg_hdr *hdr;
	struct scatterlist sg;
	size_t total;
	u8 *buf;
	int err;

	might_sleep();
	if (len > TLSNIC_CMD_MAX_BODY || reply_len > TLSNIC_CMD_MAX_BODY)
		return -EMSGSIZE;

	total = TLSNIC_VNET_HDR_LEN + sizeof(*hdr) + len;
	buf = kzalloc(total, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	hdr = (void *)(buf + TLSNIC_VNET_HDR_LEN);
	if (len)
		memcpy(hdr + 1, body, len);
	init_completion(&wait.done);

	mutex_lock(&cmd->lock);
	if (!cmd->svq || !cmd->napi_enabled) {
		err = -ENODEV;
		goto err_unlock;
	}
	tlsnic_cmd_reclaim_tx(cmd);

	/* Tag 0 is reserved for events. */
	if (!++cmd->last_tag)
		cmd->last_tag = 1;
	wait.tag = cmd->last_tag;
	hdr->magic = cpu_to_le32(TLSNIC_ABI_MAGIC);
	hdr->version = TLSNIC_ABI_VERSION;
	hdr->opcode = opcode;
	hdr->tag = cpu_to_le32(wait.tag);
	hdr->len = cpu_to_le32(len);

	spin_lock_bh(&cmd->wait_lock);
	cmd->wait = &wait;
	spin_unlock_bh(&cmd->wait_lock);

	sg_init_one(&sg, buf, total);
	err = virtqueue_add_outbuf(cmd->svq, &sg, 1, buf, GFP_KERNEL);
	if (err) {
		/* Ring full of commands the device never consumed. */
		spin_lock_bh(&cmd->wait_lock);
		cmd->wait = NULL;
		spin_unlock_bh(&cmd->wait_lock);
		atomic64_inc(&cmd->stats.errors);
		goto err_unlock;
	}
	buf = NULL;	/* owned by the ring until reclaimed */
	virtqueue_kick(cmd->svq);
	atomic64_inc(&cmd->stats.sent);

	wait_for_completion_timeout(&wait.done, msecs_to_jiffies(timeout_ms));

	spin_lock_bh(&cmd->wait_lock);
	if (cmd->wait == &wait) {
		/* No reply: forget the tag so a late one is ignored. */
		cmd->wait = NULL;
		wait.err = -ETIMEDOUT;
		atomic64_inc(&cmd->stats.timeouts);
	}
	spin_unlock_bh(&cmd->wait_lock);
	err = wait.err;

err_unlock:
	mutex_unlock(&cmd->lock);
	kfree(buf);
	return err;
}

/*
 * Ask the device what it is. Any failure means the backend is not a tlsnic
 * device (or not one we understand) and the caller falls back to plain mode.
 */
int tlsnic_cmd_identify(struct tlsnic_priv *priv, struct tlsnic_dev_info *info)
{
	struct tlsnic_identify_cmd req = {
		.abi_version = cpu_to_le32(TLSNIC_ABI_VERSION),
	};
	struct tlsnic_identify id;
	int err;

	err = tlsnic_cmd_exec(priv, TLSNIC_OP_IDENTIFY, &req, sizeof(req),
			      &id, sizeof(id), TLSNIC_IDENTIFY_TIMEOUT_MS);
	if (err)
		return err;

	info->abi_version = le32_to_cpu(id.abi_version);
	if (info->abi_version != TLSNIC_ABI_VERSION) {
		dev_warn(&priv->vdev->dev, "device speaks ABI %u, driver %u\n",
			 info->abi_version, TLSNIC_ABI_VERSION);
		return -EPROTONOSUPPORT;
	}
	info->caps = le32_to_cpu(id.caps);
	info->tls_versions = le32_to_cpu(id.tls_versions);
	info->ciphers = le32_to_cpu(id.ciphers);
	info->max_contexts = le32_to_cpu(id.max_contexts);
	info->max_tso_bytes = le32_to_cpu(id.max_tso_bytes);
	info->port = le16_to_cpu(id.port);
	/* The device promises a NUL; do not rely on it. */
	strscpy(info->fw_version, id.fw_version, sizeof(info->fw_version));
	return 0;
}

/* Set up the command channel's software state; vqs are already found. */
void tlsnic_cmd_init(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;

	mutex_init(&cmd->lock);
	spin_lock_init(&cmd->wait_lock);
	atomic64_set(&cmd->stats.sent, 0);
	atomic64_set(&cmd->stats.completed, 0);
	atomic64_set(&cmd->stats.errors, 0);
	atomic64_set(&cmd->stats.timeouts, 0);
	atomic64_set(&cmd->stats.bad_msgs, 0);
	atomic64_set(&cmd->stats.late_replies, 0);
	atomic64_set(&cmd->stats.events, 0);
	if (cmd->rvq)
		netif_napi_add(priv->netdev, &cmd->napi, tlsnic_cmd_poll);
}

/* Post completion buffers and start parsing them. Device must be ready. */
int tlsnic_cmd_start(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned int i, n;
	void *buf;
	int err;

	n = min_t(unsigned int, TLSNIC_CMD_RX_BUFS,
		  virtqueue_get_vring_size(cmd->rvq));
	for (i = 0; i < n; i++) {
		buf = kmalloc(TLSNIC_CMD_BUF_SIZE, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		err = tlsnic_cmd_post_rx(cmd, buf, GFP_KERNEL);
		if (err) {
			kfree(buf);
			return err;
		}
	}
	virtqueue_kick(cmd->rvq);

	mutex_lock(&cmd->lock);
	napi_enable(&cmd->napi);
	cmd->napi_enabled = true;
	mutex_unlock(&cmd->lock);
	/* Catch anything that completed before NAPI was enabled. */
	local_bh_disable();
	napi_schedule(&cmd->napi);
	local_bh_enable();
	return 0;
}

/* Stop command processing; after this tlsnic_cmd_exec() fails with -ENODEV. */
void tlsnic_cmd_stop(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;

	mutex_lock(&cmd->lock);
	if (cmd->napi_enabled) {
		napi_disable(&cmd->napi);
		cmd->napi_enabled = false;
	}
	mutex_unlock(&cmd->lock);
}

/* Free every buffer still on the command queues. Device must be reset. */
void tlsnic_cmd_free_unused(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	void *buf;

	if (cmd->svq)
		while ((buf = virtqueue_detach_unused_buf(cmd->svq)))
			kfree(buf);
	if (cmd->rvq)
		while ((buf = virtqueue_detach_unused_buf(cmd->rvq)))
			kfree(buf);
}
