/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic kTLS offload: what the control path (ktls.c), the transmit hot
 * path (ktls_tx.c), the receive side (ktls_rx.c) and the rest of the driver
 * share.
 *
 * One struct tlsnic_ktls_tx per offloaded socket mirrors a TX context on
 * the device. The kernel's TLS core holds one reference from tls_dev_add()
 * to tls_dev_del(); every skb queued with the context's handle holds one
 * more until its TX completion, so the device context is destroyed only
 * once no queued frame can name it (invariant 2, docs/invariants.md).
 *
 * Device events name a context by handle: ktls->tx_handles maps the handle's
 * index to the live context, looked up under RCU and checked against the
 * whole handle (generation), and contexts are freed after a grace period.
 */
#ifndef _TLSNIC_KTLS_H
#define _TLSNIC_KTLS_H

#include <linux/atomic.h>
#include <linux/refcount.h>
#include <linux/skbuff.h>
#include <linux/u64_stats_sync.h>
#include <linux/xarray.h>
#include <net/tls.h>

#include "tlsnic_drv.h"

/* How long CTX_CREATE may take before kTLS falls back to software. */
#define TLSNIC_KTLS_CMD_TIMEOUT_MS	2000

struct tlsnic_ktls;

/* Device TX context of one offloaded socket. */
struct tlsnic_ktls_tx {
	struct tlsnic_ktls *ktls;
	u32 handle;			/* device handle: index | generation */
	u32 epoch;			/* device epoch of @handle (cmd.c) */
	/*
	 * TCP sequence after the newest byte queued to the device, i.e. where
	 * the device's in-order stream state stands. Written by xmit only,
	 * under the TX queue lock (there is one data queue).
	 */
	u32 expected_seq;
	/*
	 * TX_DROP events: the device's stream is not at expected_seq. Bumped
	 * by the command channel's NAPI (the only writer); drop_gen_done is
	 * the last one a queued frame with resync info answered (xmit only).
	 */
	u32 drop_gen;
	u32 drop_gen_done;
	refcount_t refs;		/* kernel context + queued skbs */
	struct rcu_head rcu;		/* events may still look at it */
};

/*
 * Device RX context of one offloaded socket (ktls_rx.c). Published in
 * ktls->rx_handles from tls_dev_add() until tls_dev_del(), which waits for
 * NAPI (synchronize_net()) before it lets the socket go: a frame's handle
 * found under RCU gives a socket still in TLS_HW receive mode.
 */
struct tlsnic_ktls_rx {
	struct tlsnic_ktls *ktls;
	struct sock *sk;
	u32 handle;			/* device handle: index | generation */
	u32 epoch;			/* device epoch of @handle (cmd.c) */
	/*
	 * The device's open resync request, TLSNIC_KTLS_RX_REQ_NONE or
	 * (resync_id << 32 | header's first byte): NAPI stores it, the
	 * kernel's tls_dev_resync() takes it, in one atomic word.
	 */
	atomic64_t resync_req;
	struct rcu_head rcu;
};

#define TLSNIC_KTLS_RX_REQ_NONE		U64_MAX

/* Data path counters of one RX queue, written by its NAPI only. */
struct tlsnic_ktls_rq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t decrypted_packets;
	u64_stats_t decrypted_bytes;	/* TCP payload bytes */
	u64_stats_t resync_req_pkt;	/* frames with a RESYNC_REQ */
	u64_stats_t resync_req_start;	/* requests handed to the kernel */
	u64_stats_t resync_req_skip;	/* requests for no live context */
};

/* Data path counters of one TX queue, written under its TX lock. */
struct tlsnic_ktls_sq_stats {
	struct u64_stats_sync syncp;
	u64_stats_t encrypted_packets;	/* wire packets: TSO counts segments */
	u64_stats_t encrypted_bytes;	/* TCP payload bytes */
	u64_stats_t ooo;		/* frames sent with resync info */
	u64_stats_t resync_bytes;	/* their TCP payload bytes */
	u64_stats_t dump_packets;	/* resync frames with record bytes */
	u64_stats_t dump_bytes;		/* record bytes given as dump */
	u64_stats_t skip_no_sync_data;	/* bytes from before offload: as is */
	u64_stats_t drop_no_sync_data;	/* offloaded bytes with no record */
	u64_stats_t drop_dump_nomem;	/* no free dump slot (never expected) */
	u64_stats_t drop_orphan;	/* offloaded bytes without their socket */
	u64_stats_t csum_fixup;		/* stack checksummed: device redoes it */
	u64_stats_t drop_resync;	/* resync frames after a TX_DROP event */
	u64_stats_t sw_fallback;	/* frames of lost contexts: kernel encrypted */
	u64_stats_t sw_fallback_bytes;	/* their TCP payload bytes */
	u64_stats_t drop_sw_fallback;	/* ... the kernel could not encrypt */
};

/* RX control path counters (any context: tls_dev_resync is softirq). */
struct tlsnic_ktls_rx_stats {
	atomic64_t ctx;			/* RX contexts created on the device */
	atomic64_t del;			/* released */
	atomic64_t resync_req_end;	/* tls_dev_resync matching the request */
	atomic64_t resync_res_ok;	/* RX_RESYNC answered OK */
	atomic64_t resync_res_retry;	/* RX_RESYNC queued: ring full */
	atomic64_t resync_res_skip;	/* no match, or STALE / REFUSED */
	atomic64_t err;			/* RX tls_dev_add failures, other errors */
	atomic64_t lost;		/* RX contexts a device reset forgot */
	atomic_t active;		/* RX contexts the driver holds now */
};

/* Resync dump: the record pages referenced by a queued frame. */
struct tlsnic_ktls_dump {
	struct tlsnic_ktls_dump_pool *pool;
	struct tlsnic_ktls_dump *next_free;
	unsigned int nr_pages;
	struct page *pages[MAX_SKB_FRAGS];
};

/*
 * The dumps of one TX queue, under its TX lock: one per ring descriptor,
 * allocated at probe. A queued frame holds at most one and at least one
 * descriptor, so a frame that needs a dump always finds one free.
 */
struct tlsnic_ktls_dump_pool {
	struct tlsnic_ktls_dump *slots;
	struct tlsnic_ktls_dump *free;
};

/* kTLS state of one tlsnic device; exists only if it can offload TLS. */
struct tlsnic_ktls {
	struct tlsnic_priv *priv;
	bool tx;			/* TLS TX offload possible */
	bool rx;			/* TLS RX offload possible (ABI v2) */
	struct tlsnic_ktls_sq_stats sq_stats[TLSNIC_NUM_DATA_QP];
	struct tlsnic_ktls_rq_stats rq_stats[TLSNIC_NUM_DATA_QP];
	struct tlsnic_ktls_rx_stats rx_stats;
	struct tlsnic_ktls_dump_pool dumps[TLSNIC_NUM_DATA_QP];

	/* Control path counters. */
	atomic64_t ctx_add;		/* contexts created on the device */
	atomic64_t ctx_del;		/* contexts released */
	atomic64_t ctx_err;		/* tls_dev_add failures, any reason */
	atomic64_t ctx_unsupported;	/* version, cipher, family */
	atomic64_t ctx_no_space;	/* device table full */
	atomic64_t ctx_timeout;		/* device did not answer */
	atomic64_t ctx_no_dev;		/* command channel gone */
	atomic64_t del_deferred;	/* tls_dev_del with frames queued */
	atomic64_t del_err;		/* CTX_DESTROY could not be queued */
	atomic_t active;		/* contexts the driver holds now */
	atomic64_t drop_event;		/* TX_DROP events for a live context */
	atomic64_t drop_event_stale;	/* ... for none (closed since) */
	atomic64_t ctx_lost;		/* TX contexts a device reset forgot */
	/* Frames on the TX rings naming a context (xmit to completion). */
	atomic_t tx_queued;

	/*
	 * Handle index -> live TX context, for device events. Entries go in
	 * process context and out from any context (the last reference may
	 * drop in NAPI or netpoll): the xarray's lock is IRQ-safe.
	 */
	struct xarray tx_handles;
	/* Handle index -> live RX context, for the receive metadata. */
	struct xarray rx_handles;
};

/*
 * What xmit keeps in skb->cb between tlsnic_ktls_tx_prepare() and the
 * frame's completion. The driver owns skb->cb once ndo_start_xmit runs.
 */
struct tlsnic_ktls_skb_cb {
	struct tlsnic_ktls_tx *ctx;	/* holds a reference, or NULL */
	struct tlsnic_ktls_dump *dump;	/* page references, or NULL */
	u32 end_seq;			/* TCP seq after the frame's payload */
	u32 datalen;			/* TCP payload bytes */
	u32 drop_gen;			/* with drop_resync: the event answered */
	u16 dump_len;
	bool resync;
	bool drop_resync;		/* resync info because of a TX_DROP */
	bool queued;			/* counted in ktls->tx_queued */
	bool sw_encrypted;		/* the kernel encrypted it (lost context) */
};

static inline struct tlsnic_ktls_skb_cb *tlsnic_ktls_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct tlsnic_ktls_skb_cb) >
		     sizeof_field(struct sk_buff, cb));
	return (struct tlsnic_ktls_skb_cb *)skb->cb;
}

/* The driver_state area of the socket's TLS TX offload context. */
static inline struct tlsnic_ktls_tx **
tlsnic_ktls_tx_slot(struct tls_context *tls_ctx)
{
	BUILD_BUG_ON(sizeof(struct tlsnic_ktls_tx *) > TLS_DRIVER_STATE_SIZE_TX);
	return __tls_driver_ctx(tls_ctx, TLS_OFFLOAD_CTX_DIR_TX);
}

/* The driver_state area of the socket's TLS RX offload context. */
static inline struct tlsnic_ktls_rx **
tlsnic_ktls_rx_slot(struct tls_context *tls_ctx)
{
	BUILD_BUG_ON(sizeof(struct tlsnic_ktls_rx *) > TLS_DRIVER_STATE_SIZE_RX);
	return __tls_driver_ctx(tls_ctx, TLS_OFFLOAD_CTX_DIR_RX);
}

/* ktls.c: control path. */
void tlsnic_ktls_init(struct tlsnic_priv *priv);
void tlsnic_ktls_cleanup(struct tlsnic_priv *priv);
netdev_features_t tlsnic_ktls_features(const struct tlsnic_priv *priv,
				       netdev_features_t hw);
void tlsnic_ktls_tx_put(struct tlsnic_ktls_tx *ctx);
int tlsnic_ktls_stats_count(const struct tlsnic_priv *priv);
void tlsnic_ktls_stats_strings(const struct tlsnic_priv *priv, u8 **data);
u64 *tlsnic_ktls_stats_fill(const struct tlsnic_priv *priv, u64 *data);

/* ktls_tx.c: transmit path, see the hook order in tx.c. */
int tlsnic_ktls_tx_prepare(struct tlsnic_qp *qp, struct sk_buff *skb,
			   struct tlsnic_tx_meta *meta, struct scatterlist *sg);
void tlsnic_ktls_tx_queued(struct tlsnic_qp *qp, struct sk_buff *skb);
void __tlsnic_ktls_tx_release(struct sk_buff *skb);
int tlsnic_ktls_tx_dumps_init(struct tlsnic_priv *priv);
void tlsnic_ktls_tx_dumps_fini(struct tlsnic_priv *priv);
void tlsnic_ktls_tx_drop_event(struct tlsnic_priv *priv,
			       const struct tlsnic_tx_drop *ev);
struct sk_buff *tlsnic_ktls_tx_sw_fallback(struct tlsnic_qp *qp,
					   struct sk_buff *skb);

/* ktls_rx.c: receive side. */
int tlsnic_ktls_rx_add(struct tlsnic_ktls *ktls, struct sock *sk,
		       struct tls_crypto_info *crypto_info,
		       u32 start_offload_tcp_sn);
void tlsnic_ktls_rx_del(struct tlsnic_ktls *ktls, struct tls_context *tls_ctx);
void tlsnic_ktls_rx_resync(struct tlsnic_ktls *ktls, struct sock *sk,
			   u32 seq, const u8 *rcd_sn);
void tlsnic_ktls_rx_resync_done(struct tlsnic_priv *priv, u16 status);
void tlsnic_ktls_rx_frame(struct tlsnic_qp *qp, struct sk_buff *skb,
			  const struct tlsnic_rx_meta *meta);
int tlsnic_ktls_rx_stats_count(const struct tlsnic_priv *priv);
void tlsnic_ktls_rx_stats_strings(const struct tlsnic_priv *priv, u8 **data);
u64 *tlsnic_ktls_rx_stats_fill(const struct tlsnic_priv *priv, u64 *data);

/* ktls.c, for both directions: device contexts of a socket's flow. */
int tlsnic_ktls_ctx_create(struct tlsnic_priv *priv, struct sock *sk,
			   enum tlsnic_dir dir,
			   const struct tls_crypto_info *crypto_info,
			   u32 tcp_seq, u32 *handle, u32 *epoch);
void tlsnic_ktls_ctx_destroy(struct tlsnic_priv *priv, u32 handle, u32 epoch,
			     atomic64_t *err_counter);
bool tlsnic_ktls_dev_lost(struct tlsnic_priv *priv);

/* First thing in xmit: nothing to release yet, whatever cb held. */
static inline void tlsnic_ktls_tx_skb_init(struct sk_buff *skb)
{
	struct tlsnic_ktls_skb_cb *cb = tlsnic_ktls_cb(skb);

	cb->ctx = NULL;
	cb->dump = NULL;
	cb->queued = false;
	cb->sw_encrypted = false;
}

/* Before freeing an skb that went through xmit: completion or drop. */
static inline void tlsnic_ktls_tx_release(struct sk_buff *skb)
{
	if (unlikely(tlsnic_ktls_cb(skb)->ctx))
		__tlsnic_ktls_tx_release(skb);
}

#endif /* _TLSNIC_KTLS_H */
