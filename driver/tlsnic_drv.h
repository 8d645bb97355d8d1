/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic: virtio-net based NIC with a TLS offload engine.
 *
 * Driver-internal declarations shared by the files of the module. The
 * device ABI (command channel, per-packet metadata) is ../uapi/tlsnic.h.
 */
#ifndef _TLSNIC_DRV_H
#define _TLSNIC_DRV_H

#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/u64_stats_sync.h>
#include <linux/virtio.h>
#include <linux/virtio_net.h>
#include <linux/workqueue.h>

#include "../uapi/tlsnic.h"

#define TLSNIC_DRV_NAME		"tlsnic"
#define TLSNIC_DRV_VERSION	"0.1.0"

/* Data queue pairs exposed as netdev queues (pair 0 only, see uapi). */
#define TLSNIC_NUM_DATA_QP	1

#define TLSNIC_VNET_HDR_LEN	sizeof(struct virtio_net_hdr_mrg_rxbuf)

#define TLSNIC_MIN_MTU		68
#define TLSNIC_MAX_MTU		9000

/* Record fragments a kTLS resync may put between metadata and frame. */
#define TLSNIC_KTLS_MAX_DUMP_SG	MAX_SKB_FRAGS

/* Descriptors one skb may need: header, dump, linear part, every fragment. */
#define TLSNIC_TX_MAX_SG	(MAX_SKB_FRAGS + 2 + TLSNIC_KTLS_MAX_DUMP_SG)

/* Frames up to this size are copied whole into the skb head. */
#define TLSNIC_RX_COPYBREAK	256
/* RX buffer with VIRTIO_NET_F_MRG_RXBUF: two per page; a page without. */
#define TLSNIC_RX_FRAG_LEN	2048

/* Command channel. */
#define TLSNIC_CMD_BUF_SIZE	512
#define TLSNIC_CMD_MAX_BODY	(TLSNIC_CMD_BUF_SIZE - TLSNIC_VNET_HDR_LEN - \
				 sizeof(struct tlsnic_msg_hdr))
#define TLSNIC_CMD_RX_BUFS	32
#define TLSNIC_IDENTIFY_TIMEOUT_MS	1000
/* How long probe waits for the device's HELLO before it calls it plain. */
#define TLSNIC_HELLO_TIMEOUT_MS	1000
/* Tags with this bit name posted commands: nobody waits for their reply. */
#define TLSNIC_CMD_TAG_POSTED	BIT(31)
/* While the device is not answering, a probe at most this often. */
#define TLSNIC_CMD_PROBE_MS	5000
/* A reset device: retry IDENTIFY this often until it answers. */
#define TLSNIC_CMD_RESET_RETRY_MS	1000
/* Pending CTX_DESTROY handles the driver keeps at most. */
#define TLSNIC_CMD_MAX_PENDING_DESTROY	65536
/* RX_RESYNCs waiting for ring space; beyond, the device asks again. */
#define TLSNIC_CMD_PENDING_RESYNC	64

enum tlsnic_mode {
	TLSNIC_MODE_PLAIN,	/* backend is not a tlsnic device */
	TLSNIC_MODE_OFFLOAD,	/* IDENTIFY answered: tlsnic metadata in use */
};

/* What IDENTIFY reported, in CPU byte order. */
struct tlsnic_dev_info {
	u32 abi_version;
	u32 caps;		/* TLSNIC_CAP_* */
	u32 tls_versions;
	u32 ciphers;
	u32 max_contexts;
	u32 max_tso_bytes;
	u16 port;
	char fw_version[sizeof_field(struct tlsnic_identify, fw_version)];
};

/* Written by NAPI only. */
struct tlsnic_rq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t packets;
	u64_stats_t bytes;
	u64_stats_t drops;		/* every frame not handed to the stack */
	u64_stats_t bad_frames;		/* runt, bad num_buffers, oversized */
	u64_stats_t alloc_fail;		/* skb or refill page allocation failed */
	u64_stats_t csum_unnecessary;
	u64_stats_t csum_none;
};

/* Written under the netdev TX queue lock (xmit and TX reclaim). */
struct tlsnic_sq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t packets;		/* wire packets: TSO counts its segments */
	u64_stats_t bytes;
	u64_stats_t drops;
	u64_stats_t stops;
	u64_stats_t wakes;
	u64_stats_t csum_partial;
	u64_stats_t tso_packets;
	u64_stats_t tso_bytes;
};

struct page_pool;

/* One data queue pair: one NAPI context serves both directions. */
struct tlsnic_qp {
	struct tlsnic_priv *priv;
	unsigned int index;
	struct virtqueue *rvq;
	struct virtqueue *svq;
	struct napi_struct napi;

	/* TX, under the netdev TX queue lock. */
	struct scatterlist sg[TLSNIC_TX_MAX_SG];
	struct tlsnic_sq_stats sq_stats;

	/* RX, NAPI only (or the refill work with NAPI disabled). */
	struct page_pool *page_pool;	/* the RX buffers' pages */
	unsigned int rx_buf_len;	/* bytes per posted buffer */
	unsigned int rx_refill_at;	/* refill once this many slots free */
	struct tlsnic_rq_stats rq_stats;
	struct delayed_work refill_work;
	spinlock_t refill_lock;		/* protects refill_enabled */
	bool refill_enabled;
};

struct tlsnic_cmd_stats {
	atomic64_t sent;
	atomic64_t completed;		/* replies matched to a command */
	atomic64_t errors;		/* device status != OK, bad reply body */
	atomic64_t timeouts;
	atomic64_t bad_msgs;		/* invalid messages from the device */
	atomic64_t late_replies;	/* replies to no command in flight */
	atomic64_t posted;		/* commands sent without a waiter */
	atomic64_t posted_done;		/* replies to them */
	atomic64_t posted_errors;	/* ... with a status other than OK */
	atomic64_t dev_unresponsive;	/* times a timeout latched "not answering" */
	atomic64_t fail_fast;		/* commands refused while latched */
	atomic64_t late_ctx_destroyed;	/* late CTX_CREATE: handle destroyed */
	atomic64_t destroy_dropped;	/* CTX_DESTROY never sent (reset, full) */
	atomic64_t resync_dropped;	/* RX_RESYNC never sent (reset, full) */
	atomic64_t events;
	atomic64_t dev_checks;		/* "do you still know us?" probes */
	atomic64_t dev_resets;		/* device found reset: state lost */
	atomic64_t dev_reidentified;	/* ... and identified again */
	atomic64_t hellos;		/* HELLO announcements of the device */
};

struct tlsnic_cmd_wait;
struct tlsnic_ktls;

/* Command channel on queue pair TLSNIC_CMD_QP. */
struct tlsnic_cmd_chan {
	struct virtqueue *rvq;		/* completions and events */
	struct virtqueue *svq;		/* commands */
	struct napi_struct napi;
	bool napi_enabled;		/* under @lock; false: exec gets -ENODEV */

	/* Version in message headers: 1 until IDENTIFY negotiated another. */
	u8 abi_version;

	struct mutex lock;		/* serialises waited commands */
	u32 last_tag;			/* of waited commands, under @lock */

	spinlock_t wait_lock;		/* protects @wait */
	struct tlsnic_cmd_wait *wait;	/* the command in flight, if any */

	/*
	 * Adding to and reclaiming from svq, posted commands and the queue of
	 * CTX_DESTROYs waiting for ring space. Taken with irqsave: contexts
	 * are released from TX completion, which netpoll runs with IRQs off.
	 */
	spinlock_t svq_lock;
	bool posting;			/* channel up: posts may go to svq */
	u32 last_posted_tag;
	u32 *destroy_handles;		/* ring of handles to destroy */
	unsigned int destroy_size;	/* power of two, 0: no ring */
	unsigned int destroy_head, destroy_tail;
	/* RX_RESYNCs waiting for ring space, after the destroys. */
	struct tlsnic_rx_resync resyncs[TLSNIC_CMD_PENDING_RESYNC];
	unsigned int resync_head, resync_tail;

	/*
	 * A waited command timed out: the device is taken as not answering
	 * until any message arrives from it. Meanwhile waited commands fail
	 * at once and a posted IDENTIFY probes it now and then.
	 */
	bool unresponsive;
	struct delayed_work probe_work;

	/*
	 * Device reset under a live driver (backend restarted): it answers
	 * BAD_MSG to anything but IDENTIFY and knows none of our handles.
	 * @epoch counts the resets found; a handle is valid only in the epoch
	 * it was created in. Both change under svq_lock (read locklessly on
	 * the data path); @reset_work identifies the device again.
	 */
	u32 epoch;
	bool dev_lost;
	struct delayed_work reset_work;
	/* The device said HELLO since the channel was started. */
	struct completion hello;

	struct tlsnic_cmd_stats stats;
};

struct tlsnic_priv {
	struct net_device *netdev;
	struct virtio_device *vdev;

	enum tlsnic_mode mode;
	struct tlsnic_dev_info info;

	bool mergeable;			/* VIRTIO_NET_F_MRG_RXBUF */
	u16 max_pairs;			/* device's max_virtqueue_pairs */
	unsigned int rx_hdr_len;	/* virtio hdr + tlsnic_rx_meta (offload) */
	unsigned int tx_hdr_len;	/* virtio hdr + tlsnic_tx_meta (offload) */
	unsigned int max_tso_bytes;	/* 0: no TSO */

	struct tlsnic_qp qp[TLSNIC_NUM_DATA_QP];
	struct tlsnic_cmd_chan cmd;

	struct virtqueue *ctrl_vq;	/* virtio-net control queue, may be NULL */
	struct virtqueue **vqs;
	unsigned int nvqs;

	struct work_struct config_work;
	atomic64_t tx_timeouts;

	struct tlsnic_ktls *ktls;	/* TLS TX offload (ktls.c), or NULL */
	bool tx_hold;			/* debugfs: completions stay on the ring */

	struct dentry *debugfs;
};

static inline bool tlsnic_offload(const struct tlsnic_priv *priv)
{
	return priv->mode == TLSNIC_MODE_OFFLOAD;
}

/* main.c */
const char *tlsnic_mode_name(const struct tlsnic_priv *priv);
int tlsnic_ctrl_set_queue_pairs(struct tlsnic_priv *priv, u16 pairs);

/* netdev.c */
void tlsnic_netdev_init(struct tlsnic_priv *priv);
void tlsnic_update_link(struct tlsnic_priv *priv);

/* rx.c */
int tlsnic_poll(struct napi_struct *napi, int budget);
bool tlsnic_rx_refill(struct tlsnic_qp *qp, gfp_t gfp);
void tlsnic_rx_refill_work(struct work_struct *work);
void tlsnic_rx_refill_enable(struct tlsnic_qp *qp, bool enable);
void tlsnic_rx_done(struct virtqueue *vq);
void tlsnic_rx_free_unused(struct tlsnic_qp *qp);
int tlsnic_rx_pool_create(struct tlsnic_qp *qp);
void tlsnic_rx_pool_destroy(struct tlsnic_qp *qp);

/* tx.c */
netdev_tx_t tlsnic_start_xmit(struct sk_buff *skb, struct net_device *dev);
netdev_features_t tlsnic_features_check(struct sk_buff *skb,
					struct net_device *dev,
					netdev_features_t features);
bool tlsnic_tx_clean(struct tlsnic_qp *qp, int budget);
void tlsnic_tx_done(struct virtqueue *vq);
void tlsnic_tx_free_unused(struct tlsnic_qp *qp);

/* cmd.c */
void tlsnic_cmd_init(struct tlsnic_priv *priv);
int tlsnic_cmd_start(struct tlsnic_priv *priv);
int tlsnic_cmd_wait_hello(struct tlsnic_priv *priv, unsigned int timeout_ms);
void tlsnic_cmd_stop(struct tlsnic_priv *priv);
void tlsnic_cmd_free_unused(struct tlsnic_priv *priv);
void tlsnic_cmd_rx_done(struct virtqueue *vq);
int tlsnic_cmd_exec(struct tlsnic_priv *priv, u8 opcode,
		    const void *body, size_t len,
		    void *reply, size_t reply_len, unsigned int timeout_ms);
int tlsnic_cmd_exec_epoch(struct tlsnic_priv *priv, u8 opcode,
			  const void *body, size_t len,
			  void *reply, size_t reply_len, unsigned int timeout_ms,
			  u32 *epoch);
int tlsnic_cmd_identify(struct tlsnic_priv *priv, struct tlsnic_dev_info *info);
int tlsnic_cmd_destroy_init(struct tlsnic_priv *priv, u32 max_contexts);
void tlsnic_cmd_destroy_fini(struct tlsnic_priv *priv);
int tlsnic_cmd_ctx_destroy(struct tlsnic_priv *priv, u32 handle, u32 epoch);
unsigned int tlsnic_cmd_destroy_pending(const struct tlsnic_priv *priv);
int tlsnic_cmd_rx_resync(struct tlsnic_priv *priv,
			 const struct tlsnic_rx_resync *rr, u32 epoch);
void tlsnic_cmd_check_device(struct tlsnic_priv *priv);

/* The device epoch handles created now belong to (see tlsnic_cmd_chan). */
static inline u32 tlsnic_cmd_epoch(const struct tlsnic_priv *priv)
{
	return READ_ONCE(priv->cmd.epoch);
}

/* ethtool.c */
extern const struct ethtool_ops tlsnic_ethtool_ops;

/* stats.c */
void tlsnic_get_stats64(struct net_device *dev,
			struct rtnl_link_stats64 *stats);
int tlsnic_stats_count(const struct tlsnic_priv *priv);
void tlsnic_stats_strings(const struct tlsnic_priv *priv, u8 *data);
void tlsnic_stats_fill(const struct tlsnic_priv *priv, u64 *data);

/* debugfs.c */
void tlsnic_debugfs_init(void);
void tlsnic_debugfs_exit(void);
void tlsnic_debugfs_add(struct tlsnic_priv *priv);
void tlsnic_debugfs_del(struct tlsnic_priv *priv);

#endif /* _TLSNIC_DRV_H */
