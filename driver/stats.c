// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic counters: ndo_get_stats64 and the ethtool -S tables.
 *
 * ethtool -S lists per-queue counters (rx0_packets, tx0_drops, ...), then
 * device-wide ones: offload counters summed over the data queues and the
 * command channel's counters. Names follow mlx5 where the meaning matches.
 */
#include <linux/ethtool.h>
#include <linux/netdevice.h>

#include "ktls.h"
#include "tlsnic_drv.h"

struct tlsnic_stat_desc {
	char name[ETH_GSTRING_LEN];
	size_t offset;
};

#define TLSNIC_RQ_STAT(str, field) \
	{ str, offsetof(struct tlsnic_rq_stats, field) }
#define TLSNIC_SQ_STAT(str, field) \
	{ str, offsetof(struct tlsnic_sq_stats, field) }
#define TLSNIC_CMD_STAT(str, field) \
	{ str, offsetof(struct tlsnic_cmd_stats, field) }

/* Per queue, printed as rx<N>_<name> / tx<N>_<name>. */
static const struct tlsnic_stat_desc tlsnic_rq_desc[] = {
	TLSNIC_RQ_STAT("packets", packets),
	TLSNIC_RQ_STAT("bytes", bytes),
	TLSNIC_RQ_STAT("drops", drops),
	TLSNIC_RQ_STAT("bad_frames", bad_frames),
	TLSNIC_RQ_STAT("alloc_fail", alloc_fail),
};

static const struct tlsnic_stat_desc tlsnic_sq_desc[] = {
	TLSNIC_SQ_STAT("packets", packets),
	TLSNIC_SQ_STAT("bytes", bytes),
	TLSNIC_SQ_STAT("drops", drops),
	TLSNIC_SQ_STAT("stops", stops),
	TLSNIC_SQ_STAT("wakes", wakes),
};

/* Device-wide, summed over the data queues. */
static const struct tlsnic_stat_desc tlsnic_dev_rq_desc[] = {
	TLSNIC_RQ_STAT("rx_csum_unnecessary", csum_unnecessary),
	TLSNIC_RQ_STAT("rx_csum_none", csum_none),
};

static const struct tlsnic_stat_desc tlsnic_dev_sq_desc[] = {
	TLSNIC_SQ_STAT("tx_csum_partial", csum_partial),
	TLSNIC_SQ_STAT("tx_tso_packets", tso_packets),
	TLSNIC_SQ_STAT("tx_tso_bytes", tso_bytes),
};

static const struct tlsnic_stat_desc tlsnic_cmd_desc[] = {
	TLSNIC_CMD_STAT("cmd_sent", sent),
	TLSNIC_CMD_STAT("cmd_completed", completed),
	TLSNIC_CMD_STAT("cmd_errors", errors),
	TLSNIC_CMD_STAT("cmd_timeouts", timeouts),
	TLSNIC_CMD_STAT("cmd_bad_msgs", bad_msgs),
	TLSNIC_CMD_STAT("cmd_late_replies", late_replies),
	TLSNIC_CMD_STAT("cmd_posted", posted),
	TLSNIC_CMD_STAT("cmd_posted_done", posted_done),
	TLSNIC_CMD_STAT("cmd_posted_errors", posted_errors),
	TLSNIC_CMD_STAT("cmd_dev_unresponsive", dev_unresponsive),
	TLSNIC_CMD_STAT("cmd_fail_fast", fail_fast),
	TLSNIC_CMD_STAT("cmd_late_ctx_destroyed", late_ctx_destroyed),
	TLSNIC_CMD_STAT("cmd_destroy_dropped", destroy_dropped),
	TLSNIC_CMD_STAT("cmd_resync_dropped", resync_dropped),
	TLSNIC_CMD_STAT("cmd_events", events),
	TLSNIC_CMD_STAT("cmd_dev_checks", dev_checks),
	TLSNIC_CMD_STAT("dev_resets", dev_resets),
	TLSNIC_CMD_STAT("dev_reidentified", dev_reidentified),
	TLSNIC_CMD_STAT("cmd_hellos", hellos),
};

#define TLSNIC_NUM_RQ_STATS	ARRAY_SIZE(tlsnic_rq_desc)
#define TLSNIC_NUM_SQ_STATS	ARRAY_SIZE(tlsnic_sq_desc)
#define TLSNIC_NUM_DEV_STATS	(ARRAY_SIZE(tlsnic_dev_rq_desc) + \
				 ARRAY_SIZE(tlsnic_dev_sq_desc) + \
				 ARRAY_SIZE(tlsnic_cmd_desc) + 1)

static u64 tlsnic_stat_read(const void *base, size_t offset)
{
	return u64_stats_read((const u64_stats_t *)((const u8 *)base + offset));
}

/* Consistent copy of a queue's counters, field by field in @out. */
static void tlsnic_rq_snapshot(const struct tlsnic_qp *qp,
			       struct tlsnic_rq_stats *out)
{
	const struct tlsnic_rq_stats *s = &qp->rq_stats;
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&s->syncp);
		u64_stats_set(&out->packets, u64_stats_read(&s->packets));
		u64_stats_set(&out->bytes, u64_stats_read(&s->bytes));
		u64_stats_set(&out->drops, u64_stats_read(&s->drops));
		u64_stats_set(&out->bad_frames, u64_stats_read(&s->bad_frames));
		u64_stats_set(&out->alloc_fail, u64_stats_read(&s->alloc_fail));
		u64_stats_set(&out->csum_unnecessary,
			      u64_stats_read(&s->csum_unnecessary));
		u64_stats_set(&out->csum_none, u64_stats_read(&s->csum_none));
	} while (u64_stats_fetch_retry(&s->syncp, start));
}

static void tlsnic_sq_snapshot(const struct tlsnic_qp *qp,
			       struct tlsnic_sq_stats *out)
{
	const struct tlsnic_sq_stats *s = &qp->sq_stats;
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&s->syncp);
		u64_stats_set(&out->packets, u64_stats_read(&s->packets));
		u64_stats_set(&out->bytes, u64_stats_read(&s->bytes));
		u64_stats_set(&out->drops, u64_stats_read(&s->drops));
		u64_stats_set(&out->stops, u64_stats_read(&s->stops));
		u64_stats_set(&out->wakes, u64_stats_read(&s->wakes));
		u64_stats_set(&out->csum_partial,
			      u64_stats_read(&s->csum_partial));
		u64_stats_set(&out->tso_packets, u64_stats_read(&s->tso_packets));
		u64_stats_set(&out->tso_bytes, u64_stats_read(&s->tso_bytes));
	} while (u64_stats_fetch_retry(&s->syncp, start));
}

void tlsnic_get_stats64(struct net_device *dev,
			struct rtnl_link_stats64 *stats)
{
	struct tlsnic_priv *priv = netdev_priv(dev);
	struct tlsnic_rq_stats rq;
	struct tlsnic_sq_stats sq;
	unsigned int i;

	for (i = 0; i < TLSNIC_NUM_DATA_QP; i++) {
		tlsnic_rq_snapshot(&priv->qp[i], &rq);
		tlsnic_sq_snapshot(&priv->qp[i], &sq);
		stats->rx_packets += u64_stats_read(&rq.packets);
		stats->rx_bytes += u64_stats_read(&rq.bytes);
		stats->rx_dropped += u64_stats_read(&rq.drops);
		stats->rx_errors += u64_stats_read(&rq.bad_frames);
		stats->rx_length_errors += u64_stats_read(&rq.bad_frames);
		stats->tx_packets += u64_stats_read(&sq.packets);
		stats->tx_bytes += u64_stats_read(&sq.bytes);
		stats->tx_dropped += u64_stats_read(&sq.drops);
	}
}

int tlsnic_stats_count(const struct tlsnic_priv *priv)
{
	return TLSNIC_NUM_DATA_QP * (TLSNIC_NUM_RQ_STATS + TLSNIC_NUM_SQ_STATS) +
	       TLSNIC_NUM_DEV_STATS + tlsnic_ktls_stats_count(priv);
}

void tlsnic_stats_strings(const struct tlsnic_priv *priv, u8 *data)
{
	unsigned int q, i;

	for (q = 0; q < TLSNIC_NUM_DATA_QP; q++) {
		for (i = 0; i < TLSNIC_NUM_RQ_STATS; i++)
			ethtool_sprintf(&data, "rx%u_%s", q,
					tlsnic_rq_desc[i].name);
		for (i = 0; i < TLSNIC_NUM_SQ_STATS; i++)
			ethtool_sprintf(&data, "tx%u_%s", q,
					tlsnic_sq_desc[i].name);
	}
	for (i = 0; i < ARRAY_SIZE(tlsnic_dev_rq_desc); i++)
		ethtool_sprintf(&data, "%s", tlsnic_dev_rq_desc[i].name);
	for (i = 0; i < ARRAY_SIZE(tlsnic_dev_sq_desc); i++)
		ethtool_sprintf(&data, "%s", tlsnic_dev_sq_desc[i].name);
	for (i = 0; i < ARRAY_SIZE(tlsnic_cmd_desc); i++)
		ethtool_sprintf(&data, "%s", tlsnic_cmd_desc[i].name);
	ethtool_sprintf(&data, "tx_timeouts");
	tlsnic_ktls_stats_strings(priv, &data);
}

void tlsnic_stats_fill(const struct tlsnic_priv *priv, u64 *data)
{
	u64 dev_rq[ARRAY_SIZE(tlsnic_dev_rq_desc)] = {};
	u64 dev_sq[ARRAY_SIZE(tlsnic_dev_sq_desc)] = {};
	struct tlsnic_rq_stats rq;
	struct tlsnic_sq_stats sq;
	unsigned int q, i;

	for (q = 0; q < TLSNIC_NUM_DATA_QP; q++) {
		tlsnic_rq_snapshot(&priv->qp[q], &rq);
		tlsnic_sq_snapshot(&priv->qp[q], &sq);
		for (i = 0; i < TLSNIC_NUM_RQ_STATS; i++)
			*data++ = tlsnic_stat_read(&rq, tlsnic_rq_desc[i].offset);
		for (i = 0; i < TLSNIC_NUM_SQ_STATS; i++)
			*data++ = tlsnic_stat_read(&sq, tlsnic_sq_desc[i].offset);
		for (i = 0; i < ARRAY_SIZE(dev_rq); i++)
			dev_rq[i] += tlsnic_stat_read(&rq,
						      tlsnic_dev_rq_desc[i].offset);
		for (i = 0; i < ARRAY_SIZE(dev_sq); i++)
			dev_sq[i] += tlsnic_stat_read(&sq,
						      tlsnic_dev_sq_desc[i].offset);
	}
	for (i = 0; i < ARRAY_SIZE(dev_rq); i++)
		*data++ = dev_rq[i];
	for (i = 0; i < ARRAY_SIZE(dev_sq); i++)
		*data++ = dev_sq[i];
	for (i = 0; i < ARRAY_SIZE(tlsnic_cmd_desc); i++)
		*data++ = atomic64_read((const atomic64_t *)
					((const u8 *)&priv->cmd.stats +
					 tlsnic_cmd_desc[i].offset));
	*data++ = atomic64_read(&priv->tx_timeouts);
	tlsnic_ktls_stats_fill(priv, data);
}
