// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic kTLS offload, control path: struct tlsdev_ops, the TX device
 * contexts behind it and their lifetime, the feature bits and the TX
 * counters. RX contexts and resync live in ktls_rx.c.
 *
 * tls_dev_add() creates a TX context on the device with CTX_CREATE and
 * waits for the answer; any refusal (version, cipher, full table, no
 * answer, device gone) is returned so that the kernel keeps the socket in
 * software kTLS. tls_dev_del() drops the kernel's reference; the device
 * context is destroyed when the last queued frame that names it has
 * completed. Destroying never waits for the device (tls_device_down()
 * calls tls_dev_del() under rtnl for every socket): CTX_DESTROY is posted
 * and the driver's copy freed at once; it holds no key.
 *
 * A device reset under a live driver (cmd.c) forgets every context: the
 * driver's copies stay with their sockets until tls_dev_del() but are
 * "lost" (their epoch is over). Their TX frames are encrypted by the
 * kernel's fallback and sent as plain frames, their RX records decrypted
 * by software kTLS, and nothing names their handles to the device again,
 * since a new context may have the same one. New sockets are offloaded
 * again once the device is identified anew.
 */
#include <linux/delay.h>
#include <linux/ethtool.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>

#include "ktls.h"

static int tlsnic_ktls_fill_crypto(const struct tlsnic_dev_info *info,
				   const struct tls_crypto_info *ci,
				   struct tlsnic_ctx_create *cc)
{
	const struct tls12_crypto_info_aes_gcm_128 *g128;
	const struct tls12_crypto_info_aes_gcm_256 *g256;

	if (ci->version != TLS_1_2_VERSION ||
	    !(info->tls_versions & BIT(TLSNIC_TLS_1_2)))
		return -EOPNOTSUPP;
	cc->tls_version = TLSNIC_TLS_1_2;

	switch (ci->cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		if (!(info->ciphers & BIT(TLSNIC_CIPHER_AES_GCM_128)))
			return -EOPNOTSUPP;
		g128 = container_of(ci, struct tls12_crypto_info_aes_gcm_128,
				    info);
		cc->cipher = TLSNIC_CIPHER_AES_GCM_128;
		memcpy(cc->key, g128->key, sizeof(g128->key));
		memcpy(cc->salt, g128->salt, sizeof(cc->salt));
		memcpy(cc->iv, g128->iv, sizeof(cc->iv));
		memcpy(cc->rec_seq, g128->rec_seq, sizeof(cc->rec_seq));
		return 0;
	case TLS_CIPHER_AES_GCM_256:
		if (!(info->ciphers & BIT(TLSNIC_CIPHER_AES_GCM_256)))
			return -EOPNOTSUPP;
		g256 = container_of(ci, struct tls12_crypto_info_aes_gcm_256,
				    info);
		cc->cipher = TLSNIC_CIPHER_AES_GCM_256;
		memcpy(cc->key, g256->key, sizeof(g256->key));
		memcpy(cc->salt, g256->salt, sizeof(cc->salt));
		memcpy(cc->iv, g256->iv, sizeof(cc->iv));
		memcpy(cc->rec_seq, g256->rec_seq, sizeof(cc->rec_seq));
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/*
 * The flow as the device sees it on the wire: leaving this host for TX
 * (source = local), arriving for RX (source = the peer).
 */
static int tlsnic_ktls_fill_flow(struct sock *sk, enum tlsnic_dir dir,
				 struct tlsnic_ctx_create *cc)
{
	const struct inet_sock *inet = inet_sk(sk);
	bool rx = dir == TLSNIC_DIR_RX;
	__be32 *local = rx ? cc->daddr : cc->saddr;
	__be32 *peer = rx ? cc->saddr : cc->daddr;

	cc->sport = rx ? inet->inet_dport : inet->inet_sport;
	cc->dport = rx ? inet->inet_sport : inet->inet_dport;
	switch (sk->sk_family) {
	case AF_INET:
		break;
#if IS_ENABLED(CONFIG_IPV6)
	case AF_INET6:
		/* A v4-mapped peer is reached with IPv4 frames. */
		if (ipv6_addr_v4mapped(&sk->sk_v6_daddr))
			break;
		cc->family = 6;
		memcpy(local, &sk->sk_v6_rcv_saddr, sizeof(cc->saddr));
		memcpy(peer, &sk->sk_v6_daddr, sizeof(cc->daddr));
		return 0;
#endif
	default:
		return -EOPNOTSUPP;
	}
	cc->family = 4;
	local[0] = inet->inet_saddr;
	peer[0] = inet->inet_daddr;
	return 0;
}

/*
 * CTX_CREATE for one direction of @sk's flow, waiting for the device's
 * handle. Process context. The key travels in a heap buffer, not on the
 * stack, so that its one copy is wiped in one known place.
 */
int tlsnic_ktls_ctx_create(struct tlsnic_priv *priv, struct sock *sk,
			   enum tlsnic_dir dir,
			   const struct tls_crypto_info *crypto_info,
			   u32 tcp_seq, u32 *handle, u32 *epoch)
{
	struct tlsnic_ctx_create *cc;
	struct tlsnic_ctx_ref ref;
	int err;

	/* A reset device is not given contexts before it is identified. */
	if (READ_ONCE(priv->cmd.dev_lost))
		return -ENODEV;
	cc = kzalloc(sizeof(*cc), GFP_KERNEL);
	if (!cc)
		return -ENOMEM;
	cc->dir = dir;
	cc->tcp_seq = cpu_to_le32(tcp_seq);
	err = tlsnic_ktls_fill_flow(sk, dir, cc);
	if (!err)
		err = tlsnic_ktls_fill_crypto(&priv->info, crypto_info, cc);
	if (!err)
		err = tlsnic_cmd_exec_epoch(priv, TLSNIC_OP_CTX_CREATE, cc,
					    sizeof(*cc), &ref, sizeof(ref),
					    TLSNIC_KTLS_CMD_TIMEOUT_MS, epoch);
	kfree_sensitive(cc);
	if (!err)
		*handle = le32_to_cpu(ref.handle);
	return err;
}

/*
 * Post CTX_DESTROY for @handle without waiting; counts in @err_counter and
 * warns once if it cannot be sent. Any context.
 */
void tlsnic_ktls_ctx_destroy(struct tlsnic_priv *priv, u32 handle, u32 epoch,
			     atomic64_t *err_counter)
{
	int err = tlsnic_cmd_ctx_destroy(priv, handle, epoch);

	/*
	 * Without a command channel, or with the handle of an earlier epoch,
	 * the device was reset: nothing to undo.
	 */
	if (err && err != -ENODEV) {
		atomic64_inc(err_counter);
		netdev_warn_once(priv->netdev,
				 "TLS context 0x%x not destroyed on the device: %d\n",
				 handle, err);
	}
}

static void tlsnic_ktls_count_add_err(struct tlsnic_ktls *ktls, int err)
{
	atomic64_inc(&ktls->ctx_err);
	switch (err) {
	case -EOPNOTSUPP:
		atomic64_inc(&ktls->ctx_unsupported);
		break;
	case -ENOSPC:
		atomic64_inc(&ktls->ctx_no_space);
		break;
	case -ETIMEDOUT:
		atomic64_inc(&ktls->ctx_timeout);
		break;
	case -ENODEV:
		atomic64_inc(&ktls->ctx_no_dev);
		break;
	}
}

/*
 * Device events find the context by handle from now on. Without the entry
 * (no memory) offload still works; only the device's drop reports are
 * ignored, and TCP's own recovery resyncs the device.
 */
static void tlsnic_ktls_tx_publish(struct tlsnic_ktls *ktls,
				   struct tlsnic_ktls_tx *ctx)
{
	int err;

	err = xa_err(xa_store_irq(&ktls->tx_handles,
				  ctx->handle & TLSNIC_HANDLE_INDEX_MASK, ctx,
				  GFP_KERNEL));
	if (err)
		netdev_warn_once(ktls->priv->netdev,
				 "TLS context 0x%x: device drop reports ignored: %d\n",
				 ctx->handle, err);
}

/*
 * Before the device may reuse the slot; the entry may be a newer context's.
 * Any context: erasing allocates nothing.
 */
static void tlsnic_ktls_tx_unpublish(struct tlsnic_ktls *ktls,
				     struct tlsnic_ktls_tx *ctx)
{
	unsigned long flags;

	xa_lock_irqsave(&ktls->tx_handles, flags);
	__xa_cmpxchg(&ktls->tx_handles, ctx->handle & TLSNIC_HANDLE_INDEX_MASK,
		     ctx, NULL, 0);
	xa_unlock_irqrestore(&ktls->tx_handles, flags);
}

static int tlsnic_ktls_tx_add(struct tlsnic_ktls *ktls, struct sock *sk,
			      struct tls_crypto_info *crypto_info,
			      u32 start_offload_tcp_sn)
{
	struct tlsnic_priv *priv = ktls->priv;
	struct tlsnic_ktls_tx *ctx;
	int err;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	err = ctx ? tlsnic_ktls_ctx_create(priv, sk, TLSNIC_DIR_TX, crypto_info,
					   start_offload_tcp_sn, &ctx->handle,
					   &ctx->epoch) :
		    -ENOMEM;
	if (err)
		goto err_free;

	ctx->ktls = ktls;
	/* The kernel starts the offloaded stream on a record boundary here. */
	ctx->expected_seq = start_offload_tcp_sn;
	refcount_set(&ctx->refs, 1);
	tlsnic_ktls_tx_publish(ktls, ctx);
	*tlsnic_ktls_tx_slot(tls_get_ctx(sk)) = ctx;

	atomic64_inc(&ktls->ctx_add);
	atomic_inc(&ktls->active);
	return 0;

err_free:
	kfree(ctx);
	tlsnic_ktls_count_add_err(ktls, err);
	netdev_dbg(priv->netdev, "TLS TX offload refused (%d): software kTLS\n",
		   err);
	return err;
}

/*
 * Have the device forget @ctx, without waiting for it, then free it. Any
 * context, including TX completion in NAPI or netpoll.
 */
static void tlsnic_ktls_tx_destroy(struct tlsnic_ktls *ktls,
				   struct tlsnic_ktls_tx *ctx)
{
	tlsnic_ktls_tx_unpublish(ktls, ctx);
	tlsnic_ktls_ctx_destroy(ktls->priv, ctx->handle, ctx->epoch,
				&ktls->del_err);
	atomic64_inc(&ktls->ctx_del);
	atomic_dec(&ktls->active);
	/* A device event may be looking at it (tlsnic_ktls_tx_drop_event()). */
	kfree_rcu(ctx, rcu);
}

/* Drop a reference; the last one destroys the context. Any context. */
void tlsnic_ktls_tx_put(struct tlsnic_ktls_tx *ctx)
{
	if (refcount_dec_and_test(&ctx->refs))
		tlsnic_ktls_tx_destroy(ctx->ktls, ctx);
}

/*
 * Device events and frames name contexts by handle: take the lost ones
 * out of the tables so that a new context with the same handle is not
 * taken for them. Counts what it takes out.
 */
static void tlsnic_ktls_unpublish_lost(struct tlsnic_ktls *ktls, u32 epoch)
{
	struct tlsnic_ktls_tx *tx;
	struct tlsnic_ktls_rx *rx;
	unsigned long index;

	/* Entries are freed after a grace period once out of the tables. */
	rcu_read_lock();
	xa_for_each(&ktls->tx_handles, index, tx) {
		if (tx->epoch == epoch)
			continue;
		if (xa_cmpxchg_irq(&ktls->tx_handles, index, tx, NULL, 0) == tx)
			atomic64_inc(&ktls->ctx_lost);
	}
	xa_for_each(&ktls->rx_handles, index, rx) {
		if (rx->epoch == epoch)
			continue;
		if (xa_cmpxchg(&ktls->rx_handles, index, rx, NULL, 0) == rx)
			atomic64_inc(&ktls->rx_stats.lost);
	}
	rcu_read_unlock();
}

/**
 * tlsnic_ktls_dev_lost - the device forgot every context (cmd.c)
 * @priv: device; the command channel's epoch has moved on
 *
 * Process context, not under rtnl; sleeps. Takes the lost contexts out of
 * the handle tables, then waits until no frame that names one of them is
 * left on the TX ring: the device must not see an old handle once it
 * hands out new ones. Returns false if the ring did not drain (the device
 * is not taking frames, or the command channel stops): the caller tries
 * again later.
 */
bool tlsnic_ktls_dev_lost(struct tlsnic_priv *priv)
{
	struct tlsnic_ktls *ktls = priv->ktls;
	unsigned int i;

	if (!ktls)
		return true;
	tlsnic_ktls_unpublish_lost(ktls, tlsnic_cmd_epoch(priv));
	/* An xmit that saw the old epoch has counted its frame after this. */
	netif_tx_lock_bh(priv->netdev);
	netif_tx_unlock_bh(priv->netdev);
	for (i = 0; atomic_read(&ktls->tx_queued); i++) {
		/* Not taking frames, or the driver is going away. */
		if (i >= 500 || !READ_ONCE(priv->cmd.posting))
			return false;
		msleep(20);
	}
	return true;
}

static int tlsnic_ktls_dev_add(struct net_device *netdev, struct sock *sk,
			       enum tls_offload_ctx_dir direction,
			       struct tls_crypto_info *crypto_info,
			       u32 start_offload_tcp_sn)
{
	struct tlsnic_priv *priv = netdev_priv(netdev);
	struct tlsnic_ktls *ktls = priv->ktls;

	switch (direction) {
	case TLS_OFFLOAD_CTX_DIR_TX:
		if (!ktls->tx)
			break;
		return tlsnic_ktls_tx_add(ktls, sk, crypto_info,
					  start_offload_tcp_sn);
	case TLS_OFFLOAD_CTX_DIR_RX:
		if (!ktls->rx)
			break;
		return tlsnic_ktls_rx_add(ktls, sk, crypto_info,
					  start_offload_tcp_sn);
	}
	/* The feature is not advertised: the core should not have asked. */
	tlsnic_ktls_count_add_err(ktls, -EOPNOTSUPP);
	return -EOPNOTSUPP;
}

/*
 * Process context: the TLS core's destruct work, or tls_device_down() on
 * NETDEV_DOWN under rtnl, which may leave frames on a ring NAPI no longer
 * reaps. Never waits for the device.
 */
static void tlsnic_ktls_dev_del(struct net_device *netdev,
				struct tls_context *tls_ctx,
				enum tls_offload_ctx_dir direction)
{
	struct tlsnic_priv *priv = netdev_priv(netdev);
	struct tlsnic_ktls_tx **slot, *ctx;

	if (direction == TLS_OFFLOAD_CTX_DIR_RX) {
		tlsnic_ktls_rx_del(priv->ktls, tls_ctx);
		return;
	}
	slot = tlsnic_ktls_tx_slot(tls_ctx);
	ctx = *slot;
	*slot = NULL;
	if (WARN_ON_ONCE(!ctx))
		return;

	if (refcount_dec_and_test(&ctx->refs)) {
		tlsnic_ktls_tx_destroy(priv->ktls, ctx);
		return;
	}
	/* The last queued frame's completion destroys it. */
	atomic64_inc(&priv->ktls->del_deferred);
}

/*
 * RX: the kernel found the record header the device asked about (softirq
 * or process context, under rcu_read_lock). TX resync is in-band in the
 * transmit metadata (ktls_tx.c): the driver never asks the core for one.
 */
static int tlsnic_ktls_dev_resync(struct net_device *netdev, struct sock *sk,
				  u32 seq, u8 *rcd_sn,
				  enum tls_offload_ctx_dir direction)
{
	struct tlsnic_priv *priv = netdev_priv(netdev);

	if (direction != TLS_OFFLOAD_CTX_DIR_RX)
		return -EOPNOTSUPP;
	tlsnic_ktls_rx_resync(priv->ktls, sk, seq, rcd_sn);
	return 0;
}

static const struct tlsdev_ops tlsnic_tlsdev_ops = {
	.tls_dev_add	= tlsnic_ktls_dev_add,
	.tls_dev_del	= tlsnic_ktls_dev_del,
	.tls_dev_resync	= tlsnic_ktls_dev_resync,
};

/*
 * TLS TX needs the device's engine, TLS 1.2 with an AES-GCM key size the
 * kernel offloads, and the device's checksum after encryption.
 */
static bool tlsnic_ktls_tx_capable(const struct tlsnic_priv *priv)
{
	const struct tlsnic_dev_info *info = &priv->info;

	return tlsnic_offload(priv) &&
	       (info->caps & TLSNIC_CAP_TLS_TX) &&
	       (info->caps & TLSNIC_CAP_CSUM) &&
	       (info->tls_versions & BIT(TLSNIC_TLS_1_2)) &&
	       (info->ciphers & (BIT(TLSNIC_CIPHER_AES_GCM_128) |
				 BIT(TLSNIC_CIPHER_AES_GCM_256)));
}

/*
 * TLS RX needs ABI v2 (RX contexts by flow, resync requests in the receive
 * metadata, RX_RESYNC), the device's engine and resync mode, and verified
 * receive checksums (the kernel turns TLS RX off without them).
 */
static bool tlsnic_ktls_rx_capable(const struct tlsnic_priv *priv)
{
	const struct tlsnic_dev_info *info = &priv->info;

	return tlsnic_offload(priv) && info->abi_version >= 2 &&
	       (info->caps & TLSNIC_CAP_TLS_RX) &&
	       (info->caps & TLSNIC_CAP_RX_RESYNC_REQ) &&
	       (info->caps & TLSNIC_CAP_RX_CSUM) &&
	       (info->tls_versions & BIT(TLSNIC_TLS_1_2)) &&
	       (info->ciphers & (BIT(TLSNIC_CIPHER_AES_GCM_128) |
				 BIT(TLSNIC_CIPHER_AES_GCM_256)));
}

/* At probe, after IDENTIFY and before the netdev features are set. */
void tlsnic_ktls_init(struct tlsnic_priv *priv)
{
	bool tx = tlsnic_ktls_tx_capable(priv);
	bool rx = tlsnic_ktls_rx_capable(priv);
	struct tlsnic_ktls *ktls;
	unsigned int i;

	if (!tx && !rx)
		return;
	ktls = kzalloc(sizeof(*ktls), GFP_KERNEL);
	if (!ktls) {
		dev_warn(&priv->vdev->dev, "no memory for TLS offload state\n");
		return;
	}
	if (tlsnic_cmd_destroy_init(priv, priv->info.max_contexts)) {
		dev_warn(&priv->vdev->dev, "no memory for TLS offload state\n");
		kfree(ktls);
		return;
	}
	ktls->priv = priv;
	ktls->tx = tx;
	ktls->rx = rx;
	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		u64_stats_init(&ktls->sq_stats[i].syncp);
		u64_stats_init(&ktls->rq_stats[i].syncp);
	}
	xa_init_flags(&ktls->tx_handles, XA_FLAGS_LOCK_IRQ);
	xa_init(&ktls->rx_handles);
	priv->ktls = ktls;
	if (tx && tlsnic_ktls_tx_dumps_init(priv)) {
		dev_warn(&priv->vdev->dev, "no memory for TLS TX resync dumps\n");
		ktls->tx = false;
	}
	priv->netdev->tlsdev_ops = &tlsnic_tlsdev_ops;
}

/*
 * After the netdev is unregistered (tls_device_down() released every
 * socket) and the rings are emptied (every frame's reference dropped).
 */
void tlsnic_ktls_cleanup(struct tlsnic_priv *priv)
{
	struct tlsnic_ktls *ktls = priv->ktls;
	int leaked;

	if (!ktls)
		return;
	tlsnic_cmd_destroy_fini(priv);
	leaked = atomic_read(&ktls->active) +
		 atomic_read(&ktls->rx_stats.active);
	if (leaked)
		dev_err(&priv->vdev->dev,
			"%d TLS contexts still referenced at removal\n", leaked);
	tlsnic_ktls_tx_dumps_fini(priv);
	priv->ktls = NULL;
	xa_destroy(&ktls->tx_handles);
	xa_destroy(&ktls->rx_handles);
	kfree(ktls);
}

/*
 * NETIF_F_HW_TLS_TX rides on the device checksum: it encrypts first.
 * NETIF_F_HW_TLS_RX on the receive checksum: the core requires it.
 */
netdev_features_t tlsnic_ktls_features(const struct tlsnic_priv *priv,
				       netdev_features_t hw)
{
	netdev_features_t features = 0;

	if (!priv->ktls)
		return 0;
	if (priv->ktls->tx && (hw & NETIF_F_HW_CSUM))
		features |= NETIF_F_HW_TLS_TX;
	if (priv->ktls->rx && (hw & NETIF_F_RXCSUM))
		features |= NETIF_F_HW_TLS_RX;
	return features;
}

/* ---- ethtool -S ------------------------------------------------------ */

struct tlsnic_ktls_stat_desc {
	char name[ETH_GSTRING_LEN];
	size_t offset;
};

#define TLSNIC_KTLS_SQ_STAT(str, field) \
	{ str, offsetof(struct tlsnic_ktls_sq_stats, field) }
#define TLSNIC_KTLS_STAT(str, field) \
	{ str, offsetof(struct tlsnic_ktls, field) }

/* Summed over the data queues; mlx5's names where the meaning matches. */
static const struct tlsnic_ktls_stat_desc tlsnic_ktls_sq_desc[] = {
	TLSNIC_KTLS_SQ_STAT("tx_tls_encrypted_packets", encrypted_packets),
	TLSNIC_KTLS_SQ_STAT("tx_tls_encrypted_bytes", encrypted_bytes),
	TLSNIC_KTLS_SQ_STAT("tx_tls_ooo", ooo),
	TLSNIC_KTLS_SQ_STAT("tx_tls_resync_bytes", resync_bytes),
	TLSNIC_KTLS_SQ_STAT("tx_tls_dump_packets", dump_packets),
	TLSNIC_KTLS_SQ_STAT("tx_tls_dump_bytes", dump_bytes),
	TLSNIC_KTLS_SQ_STAT("tx_tls_skip_no_sync_data", skip_no_sync_data),
	TLSNIC_KTLS_SQ_STAT("tx_tls_drop_no_sync_data", drop_no_sync_data),
	TLSNIC_KTLS_SQ_STAT("tx_tls_drop_dump_nomem", drop_dump_nomem),
	TLSNIC_KTLS_SQ_STAT("tx_tls_drop_orphan", drop_orphan),
	TLSNIC_KTLS_SQ_STAT("tx_tls_csum_fixup", csum_fixup),
	TLSNIC_KTLS_SQ_STAT("tx_tls_drop_resync", drop_resync),
	TLSNIC_KTLS_SQ_STAT("tx_tls_sw_fallback", sw_fallback),
	TLSNIC_KTLS_SQ_STAT("tx_tls_sw_fallback_bytes", sw_fallback_bytes),
	TLSNIC_KTLS_SQ_STAT("tx_tls_drop_sw_fallback", drop_sw_fallback),
};

/* atomic64_t counters of struct tlsnic_ktls. */
static const struct tlsnic_ktls_stat_desc tlsnic_ktls_desc[] = {
	TLSNIC_KTLS_STAT("tx_tls_ctx", ctx_add),
	TLSNIC_KTLS_STAT("tx_tls_del", ctx_del),
	TLSNIC_KTLS_STAT("tx_tls_ctx_err", ctx_err),
	TLSNIC_KTLS_STAT("tx_tls_ctx_unsupported", ctx_unsupported),
	TLSNIC_KTLS_STAT("tx_tls_ctx_no_space", ctx_no_space),
	TLSNIC_KTLS_STAT("tx_tls_ctx_timeout", ctx_timeout),
	TLSNIC_KTLS_STAT("tx_tls_ctx_no_dev", ctx_no_dev),
	TLSNIC_KTLS_STAT("tx_tls_del_deferred", del_deferred),
	TLSNIC_KTLS_STAT("tx_tls_del_err", del_err),
	TLSNIC_KTLS_STAT("tx_tls_drop_event", drop_event),
	TLSNIC_KTLS_STAT("tx_tls_drop_event_stale", drop_event_stale),
	TLSNIC_KTLS_STAT("tx_tls_ctx_lost", ctx_lost),
};

/* Gauges after the counters. */
#define TLSNIC_KTLS_NUM_GAUGES	2

int tlsnic_ktls_stats_count(const struct tlsnic_priv *priv)
{
	if (!priv->ktls)
		return 0;
	return ARRAY_SIZE(tlsnic_ktls_sq_desc) + ARRAY_SIZE(tlsnic_ktls_desc) +
	       TLSNIC_KTLS_NUM_GAUGES + tlsnic_ktls_rx_stats_count(priv);
}

void tlsnic_ktls_stats_strings(const struct tlsnic_priv *priv, u8 **data)
{
	unsigned int i;

	if (!priv->ktls)
		return;
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_sq_desc); i++)
		ethtool_sprintf(data, "%s", tlsnic_ktls_sq_desc[i].name);
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_desc); i++)
		ethtool_sprintf(data, "%s", tlsnic_ktls_desc[i].name);
	ethtool_sprintf(data, "tx_tls_ctx_active");
	ethtool_sprintf(data, "tx_tls_del_pending");
	tlsnic_ktls_rx_stats_strings(priv, data);
}

static u64 tlsnic_ktls_sq_read(const struct tlsnic_ktls_sq_stats *s,
			       size_t offset)
{
	const u64_stats_t *v = (const void *)((const u8 *)s + offset);
	unsigned int start;
	u64 val;

	do {
		start = u64_stats_fetch_begin(&s->syncp);
		val = u64_stats_read(v);
	} while (u64_stats_fetch_retry(&s->syncp, start));
	return val;
}

/* Returns where the next counter goes. */
u64 *tlsnic_ktls_stats_fill(const struct tlsnic_priv *priv, u64 *data)
{
	const struct tlsnic_ktls *ktls = priv->ktls;
	unsigned int i, q;

	if (!ktls)
		return data;
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_sq_desc); i++) {
		u64 sum = 0;

		for (q = 0; q < TLSNIC_NUM_DATA_QP; q++)
			sum += tlsnic_ktls_sq_read(&ktls->sq_stats[q],
						   tlsnic_ktls_sq_desc[i].offset);
		*data++ = sum;
	}
	for (i = 0; i < ARRAY_SIZE(tlsnic_ktls_desc); i++)
		*data++ = atomic64_read((const atomic64_t *)
					((const u8 *)ktls +
					 tlsnic_ktls_desc[i].offset));
	*data++ = atomic_read(&ktls->active);
	/* CTX_DESTROYs waiting for room on the command ring. */
	*data++ = tlsnic_cmd_destroy_pending(priv);
	return tlsnic_ktls_rx_stats_fill(priv, data);
}
