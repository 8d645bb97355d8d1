// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic command channel: commands to the device on the TX queue of queue
 * pair TLSNIC_CMD_QP, completions and unsolicited events from it on the RX
 * queue of that pair.
 *
 * tlsnic_cmd_exec() runs one command at a time (callers may sleep), tags it
 * and waits for the reply with that tag. Completions and events are parsed
 * in a NAPI context of their own, so event handlers run in softirq context
 * like the data path.
 *
 * Nothing that runs under rtnl waits for the device (invariant 10,
 * docs/invariants.md): CTX_DESTROY is posted, never waited for, from any context, and queued
 * here while the ring is full. A waited command that times out latches
 * "device not answering": later ones fail at once (kTLS stays in software)
 * until any message arrives from the device. A CTX_CREATE reply that comes
 * after its timeout names a context nobody owns: it is destroyed.
 *
 * A device that was reset under us (its backend restarted) answers
 * BAD_MSG to everything but IDENTIFY. The driver never sends a malformed
 * command, so BAD_MSG means exactly that: the epoch moves on (every handle
 * of the old one is dead, nothing names them to the device again),
 * queued destroys and resyncs are dropped, and a work item identifies the
 * device again once no frame naming an old handle is left on the rings
 * (tlsnic_ktls_dev_lost()). Nothing else identifies a device after probe,
 * so a reset device keeps answering BAD_MSG until then. When the link
 * comes back, and while the device is not answering, a probe asks whether
 * the device still knows us: CTX_DESTROY of TLSNIC_HANDLE_NONE is
 * BAD_HANDLE for the device we identified, BAD_MSG for a reset one.
 */
#include <linux/completion.h>
#include <linux/log2.h>
#include <linux/mm.h>
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
	u32 epoch;		/* when the reply came */
	struct completion done;
};

/*
 * Free command buffers the device has consumed; CTX_CREATE's carried a key.
 * Called with svq_lock.
 */
static void tlsnic_cmd_reclaim_tx(struct tlsnic_cmd_chan *cmd)
{
	unsigned int len;
	void *buf;

	while ((buf = virtqueue_get_buf(cmd->svq, &len)))
		kfree_sensitive(buf);
}

/* A command buffer: virtio-net header, message header, body. */
static u8 *tlsnic_cmd_build(struct tlsnic_cmd_chan *cmd, u8 opcode, u32 tag,
			    const void *body, size_t len, size_t *total,
			    gfp_t gfp)
{
	struct tlsnic_msg_hdr *hdr;
	u8 *buf;

	*total = TLSNIC_VNET_HDR_LEN + sizeof(*hdr) + len;
	buf = kzalloc(*total, gfp);
	if (!buf)
		return NULL;
	hdr = (void *)(buf + TLSNIC_VNET_HDR_LEN);
	hdr->magic = cpu_to_le32(TLSNIC_ABI_MAGIC);
	/* IDENTIFY is sent in the version every device parses. */
	hdr->version = opcode == TLSNIC_OP_IDENTIFY ? TLSNIC_ABI_VERSION_MIN :
			READ_ONCE(cmd->abi_version);
	hdr->opcode = opcode;
	hdr->tag = cpu_to_le32(tag);
	hdr->len = cpu_to_le32(len);
	if (len)
		memcpy(hdr + 1, body, len);
	return buf;
}

/*
 * Put a command on the ring that nobody waits for; its reply is only
 * counted. Never sleeps. Called with svq_lock; the caller kicks.
 */
static int tlsnic_cmd_post_locked(struct tlsnic_cmd_chan *cmd, u8 opcode,
				  const void *body, size_t len)
{
	struct scatterlist sg;
	size_t total;
	u32 tag;
	u8 *buf;
	int err;

	if (!cmd->posting)
		return -ENODEV;
	tlsnic_cmd_reclaim_tx(cmd);
	if (!cmd->svq->num_free)
		return -ENOSPC;
	tag = TLSNIC_CMD_TAG_POSTED | (++cmd->last_posted_tag &
				       ~TLSNIC_CMD_TAG_POSTED);
	buf = tlsnic_cmd_build(cmd, opcode, tag, body, len, &total,
			       GFP_ATOMIC);
	if (!buf)
		return -ENOMEM;
	sg_init_one(&sg, buf, total);
	err = virtqueue_add_outbuf(cmd->svq, &sg, 1, buf, GFP_ATOMIC);
	if (err) {
		kfree_sensitive(buf);
		return err;
	}
	atomic64_inc(&cmd->stats.posted);
	return 0;
}

/*
 * Post the queued CTX_DESTROYs the ring has room for. What does not fit
 * waits for the next reply (the device consumed something) or destroy.
 */
static void tlsnic_cmd_flush_destroys_locked(struct tlsnic_cmd_chan *cmd)
{
	unsigned int mask = cmd->destroy_size - 1;
	bool posted = false;
	int err;

	while (cmd->destroy_head != cmd->destroy_tail) {
		struct tlsnic_ctx_ref ref = {
			.handle = cpu_to_le32(cmd->destroy_handles[cmd->destroy_head & mask]),
		};

		err = tlsnic_cmd_post_locked(cmd, TLSNIC_OP_CTX_DESTROY, &ref,
					     sizeof(ref));
		if (err)
			break;
		cmd->destroy_head++;
		posted = true;
	}
	if (posted)
		virtqueue_kick(cmd->svq);
}

/* Post the queued RX_RESYNCs the ring has room for, after the destroys. */
static void tlsnic_cmd_flush_resyncs_locked(struct tlsnic_cmd_chan *cmd)
{
	bool posted = false;

	while (cmd->destroy_head == cmd->destroy_tail &&
	       cmd->resync_head != cmd->resync_tail) {
		const struct tlsnic_rx_resync *rr =
			&cmd->resyncs[cmd->resync_head % TLSNIC_CMD_PENDING_RESYNC];

		if (tlsnic_cmd_post_locked(cmd, TLSNIC_OP_RX_RESYNC, rr,
					   sizeof(*rr)))
			break;
		cmd->resync_head++;
		posted = true;
	}
	if (posted)
		virtqueue_kick(cmd->svq);
}

/*
 * The device answered, so it took commands off the ring: free them now (a
 * CTX_CREATE's key does not wait for the next command) and post what
 * waited for room.
 */
static void tlsnic_cmd_tx_reap(struct tlsnic_cmd_chan *cmd)
{
	unsigned long flags;

	spin_lock_irqsave(&cmd->svq_lock, flags);
	tlsnic_cmd_reclaim_tx(cmd);
	if (cmd->destroy_head != cmd->destroy_tail)
		tlsnic_cmd_flush_destroys_locked(cmd);
	if (cmd->resync_head != cmd->resync_tail)
		tlsnic_cmd_flush_resyncs_locked(cmd);
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
}

/**
 * tlsnic_cmd_rx_resync - post RX_RESYNC, without waiting for the device
 * @priv: device
 * @rr: the command body
 * @epoch: the device epoch of the context it names
 *
 * Any context, never sleeps (the kernel calls tls_dev_resync in softirq).
 * The completion is counted by tlsnic_ktls_rx_resync_done(). Returns 0
 * when posted, 1 when queued for ring space, -ENODEV when the command
 * channel is down, -ENOSPC when the queue is full too (the device asks
 * again), or another negative errno when the post failed. @epoch is the
 * context's: a handle of an earlier epoch is not sent (-ENODEV).
 */
int tlsnic_cmd_rx_resync(struct tlsnic_priv *priv,
			 const struct tlsnic_rx_resync *rr, u32 epoch)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned long flags;
	int err;

	spin_lock_irqsave(&cmd->svq_lock, flags);
	if (!cmd->posting || epoch != cmd->epoch) {
		err = -ENODEV;
		goto out;
	}
	/* Behind what already waits for room, in order. */
	if (cmd->destroy_head == cmd->destroy_tail &&
	    cmd->resync_head == cmd->resync_tail) {
		err = tlsnic_cmd_post_locked(cmd, TLSNIC_OP_RX_RESYNC, rr,
					     sizeof(*rr));
		if (!err)
			virtqueue_kick(cmd->svq);
		if (err != -ENOSPC)
			goto out;
	}
	if (cmd->resync_tail - cmd->resync_head >= TLSNIC_CMD_PENDING_RESYNC) {
		atomic64_inc(&cmd->stats.resync_dropped);
		err = -ENOSPC;
		goto out;
	}
	cmd->resyncs[cmd->resync_tail++ % TLSNIC_CMD_PENDING_RESYNC] = *rr;
	err = 1;
out:
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	return err;
}

/**
 * tlsnic_cmd_ctx_destroy - have the device destroy a context, without waiting
 * @priv: device
 * @handle: the context's handle
 * @epoch: the device epoch the handle belongs to
 *
 * Any context, never sleeps: CTX_DESTROY goes on the ring now, or as soon
 * as it has room. Returns 0 when it is posted or queued, -ENODEV when the
 * command channel is down or the handle is of an earlier epoch (the
 * device reset forgot every context: the handle may name a new one now),
 * or -ENOSPC when the queue is full (counted in destroy_dropped).
 */
int tlsnic_cmd_ctx_destroy(struct tlsnic_priv *priv, u32 handle, u32 epoch)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned long flags;
	int err = 0;

	spin_lock_irqsave(&cmd->svq_lock, flags);
	if (!cmd->posting || epoch != cmd->epoch) {
		err = -ENODEV;
	} else if (cmd->destroy_tail - cmd->destroy_head >= cmd->destroy_size) {
		atomic64_inc(&cmd->stats.destroy_dropped);
		err = -ENOSPC;
	} else {
		cmd->destroy_handles[cmd->destroy_tail++ &
				     (cmd->destroy_size - 1)] = handle;
		tlsnic_cmd_flush_destroys_locked(cmd);
	}
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	return err;
}

/* CTX_DESTROYs waiting for ring space (a gauge for ethtool -S). */
unsigned int tlsnic_cmd_destroy_pending(const struct tlsnic_priv *priv)
{
	return READ_ONCE(priv->cmd.destroy_tail) -
	       READ_ONCE(priv->cmd.destroy_head);
}

/*
 * Forget the queued destroys (and resyncs): the device is (being) reset.
 * svq_lock held.
 */
static void tlsnic_cmd_drop_destroys_locked(struct tlsnic_cmd_chan *cmd)
{
	atomic64_add(cmd->destroy_tail - cmd->destroy_head,
		     &cmd->stats.destroy_dropped);
	cmd->destroy_head = cmd->destroy_tail;
	atomic64_add(cmd->resync_tail - cmd->resync_head,
		     &cmd->stats.resync_dropped);
	cmd->resync_head = cmd->resync_tail;
}

/*
 * The destroy queue holds every context the device can have: it is sized
 * by the device's table, so a live handle always finds room.
 */
int tlsnic_cmd_destroy_init(struct tlsnic_priv *priv, u32 max_contexts)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned int size;
	unsigned long flags;
	u32 *handles;

	size = roundup_pow_of_two(clamp_t(u32, max_contexts, 1,
					  TLSNIC_CMD_MAX_PENDING_DESTROY));
	handles = kvcalloc(size, sizeof(*handles), GFP_KERNEL);
	if (!handles)
		return -ENOMEM;
	spin_lock_irqsave(&cmd->svq_lock, flags);
	cmd->destroy_handles = handles;
	cmd->destroy_size = size;
	cmd->destroy_head = 0;
	cmd->destroy_tail = 0;
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	return 0;
}

void tlsnic_cmd_destroy_fini(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned long flags;
	u32 *handles;

	spin_lock_irqsave(&cmd->svq_lock, flags);
	tlsnic_cmd_drop_destroys_locked(cmd);
	handles = cmd->destroy_handles;
	cmd->destroy_handles = NULL;
	cmd->destroy_size = 0;
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	kvfree(handles);
}

/* A waited command timed out: noticed once, not per command. */
static void tlsnic_cmd_set_unresponsive(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;

	if (READ_ONCE(cmd->unresponsive))
		return;
	WRITE_ONCE(cmd->unresponsive, true);
	atomic64_inc(&cmd->stats.dev_unresponsive);
	dev_warn(&priv->vdev->dev,
		 "device not answering commands: TLS offload in software until it does\n");
	schedule_delayed_work(&cmd->probe_work,
			      msecs_to_jiffies(TLSNIC_CMD_PROBE_MS));
}

/*
 * Ask the device whether it still knows us, without waiting: a command
 * only an identified device takes. BAD_HANDLE: yes; BAD_MSG: it was reset
 * (tlsnic_cmd_reply()). Its reply, like any message, also ends the
 * "not answering" latch. Half the ring stays for destroys. Any context.
 */
void tlsnic_cmd_check_device(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	struct tlsnic_ctx_ref ref = {
		.handle = cpu_to_le32(TLSNIC_HANDLE_NONE),
	};
	unsigned long flags;

	if (!tlsnic_offload(priv))
		return;
	spin_lock_irqsave(&cmd->svq_lock, flags);
	if (cmd->posting && !cmd->dev_lost &&
	    cmd->svq->num_free > virtqueue_get_vring_size(cmd->svq) / 2 &&
	    !tlsnic_cmd_post_locked(cmd, TLSNIC_OP_CTX_DESTROY, &ref,
				    sizeof(ref))) {
		atomic64_inc(&cmd->stats.dev_checks);
		virtqueue_kick(cmd->svq);
	}
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
}

/*
 * While the device is taken as not answering, probe it now and then. Not
 * with IDENTIFY: a device reset meanwhile would take it, and then our old
 * handles, unnoticed.
 */
static void tlsnic_cmd_probe_work(struct work_struct *work)
{
	struct tlsnic_cmd_chan *cmd = container_of(to_delayed_work(work),
						   struct tlsnic_cmd_chan,
						   probe_work);
	struct tlsnic_priv *priv = container_of(cmd, struct tlsnic_priv, cmd);

	if (!READ_ONCE(cmd->unresponsive))
		return;
	tlsnic_cmd_check_device(priv);
	schedule_delayed_work(&cmd->probe_work,
			      msecs_to_jiffies(TLSNIC_CMD_PROBE_MS));
}

/*
 * The device answered BAD_MSG to a well-formed command: it was reset and
 * waits for IDENTIFY. Noticed once per reset, from the command channel's
 * NAPI. Handles of the old epoch are never sent again from here on:
 * drop those waiting for ring space (the ones already on the ring reach
 * the device before our IDENTIFY and get BAD_MSG too).
 */
static void tlsnic_cmd_device_lost(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned long flags;
	bool lost = false;

	spin_lock_irqsave(&cmd->svq_lock, flags);
	if (cmd->posting && !cmd->dev_lost) {
		cmd->dev_lost = true;
		WRITE_ONCE(cmd->epoch, cmd->epoch + 1);
		tlsnic_cmd_drop_destroys_locked(cmd);
		lost = true;
	}
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	if (!lost)
		return;
	atomic64_inc(&cmd->stats.dev_resets);
	dev_warn(&priv->vdev->dev,
		 "device was reset: its TLS contexts are gone, identifying it again\n");
	schedule_delayed_work(&cmd->reset_work, 0);
}

/* Did the reset device keep what the driver and the netdev rely on? */
static bool tlsnic_cmd_same_device(const struct tlsnic_dev_info *a,
				   const struct tlsnic_dev_info *b)
{
	return a->abi_version == b->abi_version && a->caps == b->caps &&
	       a->tls_versions == b->tls_versions &&
	       a->ciphers == b->ciphers &&
	       a->max_contexts == b->max_contexts &&
	       a->max_tso_bytes == b->max_tso_bytes;
}

/*
 * Process context, never under rtnl. Once no frame naming an old handle
 * is left on the rings, IDENTIFY the device again; until then (and if it
 * does not answer) contexts are not created and offloaded sockets of the
 * old epoch are encrypted by the kernel (tlsnic_ktls_tx_sw_fallback()).
 */
static void tlsnic_cmd_reset_work(struct work_struct *work)
{
	struct tlsnic_cmd_chan *cmd = container_of(to_delayed_work(work),
						   struct tlsnic_cmd_chan,
						   reset_work);
	struct tlsnic_priv *priv = container_of(cmd, struct tlsnic_priv, cmd);
	struct tlsnic_dev_info info = {};
	unsigned long flags;
	int err;

	if (!READ_ONCE(cmd->dev_lost))
		return;
	if (!tlsnic_ktls_dev_lost(priv))
		goto retry;
	err = tlsnic_cmd_identify(priv, &info);
	if (err)
		goto retry;
	if (!tlsnic_cmd_same_device(&priv->info, &info)) {
		/* Features were set from the old answer: stay without TLS. */
		dev_warn(&priv->vdev->dev,
			 "device came back with other capabilities: TLS offload stays in software until the driver is reloaded\n");
		return;
	}
	spin_lock_irqsave(&cmd->svq_lock, flags);
	cmd->dev_lost = false;
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	atomic64_inc(&cmd->stats.dev_reidentified);
	netdev_info(priv->netdev,
		    "device identified again: TLS offload for new connections\n");
	return;
retry:
	schedule_delayed_work(&cmd->reset_work,
			      msecs_to_jiffies(TLSNIC_CMD_RESET_RETRY_MS));
}

/*
 * A reply nobody waits for. A successful CTX_CREATE among them means the
 * device made a context after the driver gave up on it: destroy it, or
 * every hiccup costs a slot of the device's table for good.
 */
static void tlsnic_cmd_late_reply(struct tlsnic_priv *priv,
				  const struct tlsnic_msg_hdr *hdr,
				  const void *body, u32 len)
{
	struct tlsnic_ctx_ref ref;

	atomic64_inc(&priv->cmd.stats.late_replies);
	if ((hdr->opcode & ~TLSNIC_OP_REPLY) != TLSNIC_OP_CTX_CREATE ||
	    le16_to_cpu(hdr->status) != TLSNIC_ST_OK || len != sizeof(ref))
		return;
	memcpy(&ref, body, sizeof(ref));
	/* Made by the device of this epoch: a reset one refuses CTX_CREATE. */
	if (!tlsnic_cmd_ctx_destroy(priv, le32_to_cpu(ref.handle),
				    tlsnic_cmd_epoch(priv)))
		atomic64_inc(&priv->cmd.stats.late_ctx_destroyed);
}

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
	case TLSNIC_ST_EXISTS:
		return -EEXIST;
	default:
		return -EIO;
	}
}

/*
 * Unsolicited device events: HELLO wakes probe, TX drops go to the TX
 * offload. (RX resync requests travel in the RX metadata, not here.)
 */
static void tlsnic_cmd_event(struct tlsnic_priv *priv, u8 opcode,
			     const void *body, u32 len)
{
	struct tlsnic_cmd_stats *stats = &priv->cmd.stats;

	switch (opcode) {
	case TLSNIC_EV_HELLO:
		if (len != sizeof(struct tlsnic_hello)) {
			atomic64_inc(&stats->bad_msgs);
			return;
		}
		atomic64_inc(&stats->hellos);
		complete_all(&priv->cmd.hello);
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

	/* Only a reset device refuses what this driver builds. */
	if (status == TLSNIC_ST_BAD_MSG &&
	    (hdr->opcode & ~TLSNIC_OP_REPLY) != TLSNIC_OP_IDENTIFY)
		tlsnic_cmd_device_lost(priv);

	if (tag & TLSNIC_CMD_TAG_POSTED) {
		atomic64_inc(&cmd->stats.posted_done);
		if (status != TLSNIC_ST_OK)
			atomic64_inc(&cmd->stats.posted_errors);
		if ((hdr->opcode & ~TLSNIC_OP_REPLY) == TLSNIC_OP_RX_RESYNC)
			tlsnic_ktls_rx_resync_done(priv, status);
		return;
	}

	spin_lock(&cmd->wait_lock);
	wait = cmd->wait;
	if (!wait || wait->tag != tag ||
	    wait->opcode != (hdr->opcode & ~TLSNIC_OP_REPLY)) {
		spin_unlock(&cmd->wait_lock);
		tlsnic_cmd_late_reply(priv, hdr, body, len);
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
	wait->epoch = READ_ONCE(cmd->epoch);
	cmd->wait = NULL;
	/* @wait is gone once the waiter sees the completion. */
	complete(&wait->done);
	spin_unlock(&cmd->wait_lock);

	atomic64_inc(&cmd->stats.completed);
	if (err)
		atomic64_inc(&cmd->stats.errors);
}

/*
 * Messages carry the negotiated version. An IDENTIFY reply may carry
 * either version: the device answers in the one it is about to speak.
 * So may BAD_MSG: a device reset since speaks version 1 until it is
 * identified again, and that answer is how the driver finds out.
 * HELLO comes before any negotiation: always version 1.
 */
static bool tlsnic_cmd_version_ok(const struct tlsnic_cmd_chan *cmd,
				  const struct tlsnic_msg_hdr *hdr)
{
	if (hdr->version == READ_ONCE(cmd->abi_version))
		return true;
	if ((hdr->opcode & TLSNIC_OP_REPLY) &&
	    le16_to_cpu(hdr->status) == TLSNIC_ST_BAD_MSG &&
	    hdr->version == TLSNIC_ABI_VERSION_MIN)
		return true;
	if (hdr->opcode == TLSNIC_EV_HELLO)
		return hdr->version == TLSNIC_ABI_VERSION_MIN;
	return hdr->opcode == (TLSNIC_OP_IDENTIFY | TLSNIC_OP_REPLY) &&
	       hdr->version >= TLSNIC_ABI_VERSION_MIN &&
	       hdr->version <= TLSNIC_ABI_VERSION;
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
	    !tlsnic_cmd_version_ok(&priv->cmd, hdr) || body_len > len)
		goto bad;

	/* Whatever it says, the device is answering again. */
	if (READ_ONCE(priv->cmd.unresponsive)) {
		WRITE_ONCE(priv->cmd.unresponsive, false);
		netdev_info(priv->netdev, "device answers commands again\n");
	}

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
	if (done) {
		virtqueue_kick(cmd->rvq);
		tlsnic_cmd_tx_reap(cmd);
	}

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
 * from the device status, -EPROTO for a malformed reply, -ETIMEDOUT when no
 * reply came in time or, at once, while the device is not answering, or
 * -ENODEV when the command channel is not (or no longer) available.
 */
int tlsnic_cmd_exec(struct tlsnic_priv *priv, u8 opcode,
		    const void *body, size_t len,
		    void *reply, size_t reply_len, unsigned int timeout_ms)
{
	return tlsnic_cmd_exec_epoch(priv, opcode, body, len, reply, reply_len,
				     timeout_ms, NULL);
}

/*
 * tlsnic_cmd_exec(), and the device epoch when the reply came in @epoch
 * (if not NULL, on success): a handle it returns belongs to that epoch.
 */
int tlsnic_cmd_exec_epoch(struct tlsnic_priv *priv, u8 opcode,
			  const void *body, size_t len,
			  void *reply, size_t reply_len, unsigned int timeout_ms,
			  u32 *epoch)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	struct tlsnic_cmd_wait wait = {
		.opcode = opcode,
		.reply = reply,
		.reply_len = reply_len,
	};
	struct scatterlist sg;
	unsigned long flags;
	size_t total;
	u8 *buf = NULL;
	int err;

	might_sleep();
	if (len > TLSNIC_CMD_MAX_BODY || reply_len > TLSNIC_CMD_MAX_BODY)
		return -EMSGSIZE;
	/* Fail fast, and do not queue behind a command that will time out. */
	if (READ_ONCE(cmd->unresponsive))
		goto fail_fast;
	init_completion(&wait.done);

	mutex_lock(&cmd->lock);
	if (!cmd->svq || !cmd->napi_enabled) {
		err = -ENODEV;
		goto err_unlock;
	}
	/* The command before ours may have timed out while we waited. */
	if (READ_ONCE(cmd->unresponsive)) {
		mutex_unlock(&cmd->lock);
		goto fail_fast;
	}

	/* Tag 0 is reserved for events, the top bit for posted commands. */
	cmd->last_tag = (cmd->last_tag + 1) & ~TLSNIC_CMD_TAG_POSTED;
	if (!cmd->last_tag)
		cmd->last_tag = 1;
	wait.tag = cmd->last_tag;
	buf = tlsnic_cmd_build(cmd, opcode, wait.tag, body, len, &total,
			       GFP_KERNEL);
	if (!buf) {
		err = -ENOMEM;
		goto err_unlock;
	}

	spin_lock_bh(&cmd->wait_lock);
	cmd->wait = &wait;
	spin_unlock_bh(&cmd->wait_lock);

	sg_init_one(&sg, buf, total);
	spin_lock_irqsave(&cmd->svq_lock, flags);
	tlsnic_cmd_reclaim_tx(cmd);
	err = virtqueue_add_outbuf(cmd->svq, &sg, 1, buf, GFP_ATOMIC);
	if (!err)
		virtqueue_kick(cmd->svq);
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	if (err) {
		/* Ring full of commands the device never consumed. */
		spin_lock_bh(&cmd->wait_lock);
		cmd->wait = NULL;
		spin_unlock_bh(&cmd->wait_lock);
		atomic64_inc(&cmd->stats.errors);
		goto err_unlock;
	}
	buf = NULL;	/* owned by the ring until reclaimed */
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
	if (err == -ETIMEDOUT)
		tlsnic_cmd_set_unresponsive(priv);
	if (!err && epoch)
		*epoch = wait.epoch;

err_unlock:
	mutex_unlock(&cmd->lock);
	kfree_sensitive(buf);
	return err;

fail_fast:
	atomic64_inc(&cmd->stats.fail_fast);
	return -ETIMEDOUT;
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
	if (info->abi_version < TLSNIC_ABI_VERSION_MIN ||
	    info->abi_version > TLSNIC_ABI_VERSION) {
		dev_warn(&priv->vdev->dev,
			 "device speaks ABI %u, driver %u to %u\n",
			 info->abi_version, TLSNIC_ABI_VERSION_MIN,
			 TLSNIC_ABI_VERSION);
		return -EPROTONOSUPPORT;
	}
	/* Every later message, both ways, carries the negotiated version. */
	WRITE_ONCE(priv->cmd.abi_version, info->abi_version);
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
	cmd->abi_version = TLSNIC_ABI_VERSION_MIN;
	spin_lock_init(&cmd->wait_lock);
	spin_lock_init(&cmd->svq_lock);
	INIT_DELAYED_WORK(&cmd->probe_work, tlsnic_cmd_probe_work);
	INIT_DELAYED_WORK(&cmd->reset_work, tlsnic_cmd_reset_work);
	atomic64_set(&cmd->stats.sent, 0);
	atomic64_set(&cmd->stats.completed, 0);
	atomic64_set(&cmd->stats.errors, 0);
	atomic64_set(&cmd->stats.timeouts, 0);
	atomic64_set(&cmd->stats.bad_msgs, 0);
	atomic64_set(&cmd->stats.late_replies, 0);
	atomic64_set(&cmd->stats.posted, 0);
	atomic64_set(&cmd->stats.posted_done, 0);
	atomic64_set(&cmd->stats.posted_errors, 0);
	atomic64_set(&cmd->stats.dev_unresponsive, 0);
	atomic64_set(&cmd->stats.fail_fast, 0);
	atomic64_set(&cmd->stats.late_ctx_destroyed, 0);
	atomic64_set(&cmd->stats.destroy_dropped, 0);
	atomic64_set(&cmd->stats.resync_dropped, 0);
	atomic64_set(&cmd->stats.events, 0);
	atomic64_set(&cmd->stats.dev_checks, 0);
	atomic64_set(&cmd->stats.dev_resets, 0);
	atomic64_set(&cmd->stats.dev_reidentified, 0);
	atomic64_set(&cmd->stats.hellos, 0);
	init_completion(&cmd->hello);
	if (cmd->rvq)
		netif_napi_add(priv->netdev, &cmd->napi, tlsnic_cmd_poll);
}

/* Post completion buffers and start parsing them. Device must be ready. */
int tlsnic_cmd_start(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned long flags;
	unsigned int i, n;
	void *buf;
	int err;

	reinit_completion(&cmd->hello);
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
	WRITE_ONCE(cmd->unresponsive, false);
	mutex_unlock(&cmd->lock);
	spin_lock_irqsave(&cmd->svq_lock, flags);
	cmd->posting = true;
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	/* Catch anything that completed before NAPI was enabled. */
	local_bh_disable();
	napi_schedule(&cmd->napi);
	local_bh_enable();
	return 0;
}

/**
 * tlsnic_cmd_wait_hello - wait for the device to announce itself
 * @priv: device
 * @timeout_ms: how long to wait
 *
 * The command channel must be started. Nothing is sent: a backend that is
 * not a tlsnic device never says HELLO, and must never see a command.
 * Returns 0 once HELLO arrived, -ETIMEDOUT if it did not in time.
 */
int tlsnic_cmd_wait_hello(struct tlsnic_priv *priv, unsigned int timeout_ms)
{
	if (!wait_for_completion_timeout(&priv->cmd.hello,
					 msecs_to_jiffies(timeout_ms)))
		return -ETIMEDOUT;
	return 0;
}

/*
 * Stop command processing; after this tlsnic_cmd_exec() fails with -ENODEV
 * and nothing is posted. Queued destroys are dropped: the device is reset
 * next, which forgets its contexts.
 */
void tlsnic_cmd_stop(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	unsigned long flags;

	mutex_lock(&cmd->lock);
	if (cmd->napi_enabled) {
		napi_disable(&cmd->napi);
		cmd->napi_enabled = false;
	}
	mutex_unlock(&cmd->lock);
	spin_lock_irqsave(&cmd->svq_lock, flags);
	cmd->posting = false;
	tlsnic_cmd_drop_destroys_locked(cmd);
	spin_unlock_irqrestore(&cmd->svq_lock, flags);
	cancel_delayed_work_sync(&cmd->probe_work);
	cancel_delayed_work_sync(&cmd->reset_work);
}

/* Free every buffer still on the command queues. Device must be reset. */
void tlsnic_cmd_free_unused(struct tlsnic_priv *priv)
{
	struct tlsnic_cmd_chan *cmd = &priv->cmd;
	void *buf;

	/* Command buffers may hold a key (CTX_CREATE). */
	if (cmd->svq)
		while ((buf = virtqueue_detach_unused_buf(cmd->svq)))
			kfree_sensitive(buf);
	if (cmd->rvq)
		while ((buf = virtqueue_detach_unused_buf(cmd->rvq)))
			kfree(buf);
}
