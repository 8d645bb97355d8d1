// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: vhost-user ports.
 *
 * One rte_vhost server socket per port. The vhost-user message thread calls
 * new_device/destroy_device/vring_state_changed; the data-path thread polls.
 * They share only a few atomics per port, and destroy_device waits (QSBR
 * RCU) until the data path has let go of the device before rte_vhost frees
 * it. Port state (contexts, counters, queued messages) is touched by the
 * data-path thread alone: a device reset is requested by the message thread
 * and carried out by the data path before it next looks at the port.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_vhost.h>

#include "cmd.h"
#include "pipeline.h"
#include "pcap.h"
#include "tls_dev.h"
#include "vhost.h"
#include "wire.h"

/* rte_vhost vring ids of the two queue pairs (uapi/tlsnic.h). */
#define VRING_DATA_RX	0	/* device -> guest frames */
#define VRING_DATA_TX	1	/* guest -> device frames */
#define VRING_CMD_RX	2	/* completions and events */
#define VRING_CMD_TX	3	/* commands */
#define VRING_MASK(q)	(1U << (q))

#define BURST		32
#define DATA_THREAD_ID	0

/*
 * The device's RX packet buffer, in frames: what the wire delivers while the
 * guest has no RX buffers posted waits here. While a port's buffer is above
 * RX_PAUSE_THRESH its peer stops taking TX buffers from its guest, as with
 * 802.3x pause frames, so a bursty TSO sender does not lose segments; but a
 * guest that stops draining for RX_STALL_MS loses that protection and the
 * wire drops (rx_no_buffer) instead of stalling the other guest forever.
 */
#define RX_BACKLOG	2048	/* power of two */
#define RX_PAUSE_THRESH	256
#define RX_STALL_MS	20

/*
 * Buffers are per port, so a guest that stops draining can only use up what
 * its peer sends it, never another pair's buffers. Each port has:
 *
 * - a pool of small mbufs for its dequeued TX buffers, the frames it builds
 *   (TSO segments, replies) and its commands. rte_vhost attaches an external
 *   buffer (EXTBUF, freed with the mbuf) to a dequeued TX buffer that does
 *   not fit, so a small frame (an ACK) takes a small buffer, a TSO frame a
 *   linear buffer of its size for the time it is processed; past 64 KiB
 *   (buf_len is 16 bits) it is chained: a TSO frame is then encrypted and
 *   segmented in place in the chain (vport_tx_chained()), anything else
 *   flattened in a scratch buffer.
 *   The pool holds the peer's whole RX backlog and what is on the wire, so
 *   the port's own TX and commands keep going when the peer stalls.
 * - a pool of frame-sized mbufs for the larger frames it builds or copies
 *   (jumbo frames); a frame in an external buffer is copied into a pooled
 *   one before it goes on the wire, so no guest-sized buffer waits in a
 *   backlog.
 *
 * EAL memory is sized for the ports (vport_eal_mem_mb()).
 */
#define SMALL_BUF_SIZE	RTE_MBUF_DEFAULT_BUF_SIZE
#define FRAME_BUF_SIZE	(RTE_PKTMBUF_HEADROOM + DSIM_MAX_FRAME)
#define POOL_CACHE	32
/* A TX buffer rte_vhost chains (past 64 KiB) takes this many small mbufs. */
#define CHAIN_SEGS	((DSIM_MAX_TX_BUF + RTE_MBUF_DEFAULT_DATAROOM - 1) / \
			 RTE_MBUF_DEFAULT_DATAROOM)
#define SMALL_POOL_SIZE	4095
#define FRAME_POOL_SIZE	511
/* EAL memory beyond the pools: rte_vhost, external TX buffers, rings. */
#define EAL_MEM_BASE_MB	32

/* Offloads the device does not do through the virtio-net header. */
#define VIRTIO_OFFLOAD_FEATURES						\
	(1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |	\
	 1ULL << VIRTIO_NET_F_GUEST_TSO4 | 1ULL << VIRTIO_NET_F_GUEST_TSO6 | \
	 1ULL << VIRTIO_NET_F_GUEST_ECN | 1ULL << VIRTIO_NET_F_GUEST_UFO | \
	 1ULL << VIRTIO_NET_F_HOST_TSO4 | 1ULL << VIRTIO_NET_F_HOST_TSO6 | \
	 1ULL << VIRTIO_NET_F_HOST_ECN | 1ULL << VIRTIO_NET_F_HOST_UFO)

struct vport {
	struct dsim_port dp;		/* data-path thread only */
	char path[PATH_MAX];
	struct vport *peer;
	struct rte_mempool *pool;	/* small mbufs (see SMALL_POOL_SIZE) */
	struct rte_mempool *frame_pool;	/* mbufs for a whole frame */
	bool registered;
	/* Shared with the vhost-user message thread (__atomic). */
	int vid;			/* -1: no device */
	uint32_t running;		/* device usable by the data path */
	uint32_t vrings_enabled;	/* VRING_MASK() bits */
	uint32_t reset_req;		/* bumped by destroy_device */
	uint32_t hello_req;		/* bumped when the command RX ring is enabled */
	uint64_t started, stopped;
	/* Data-path thread only. */
	uint32_t reset_done;
	uint32_t hello_done;
	uint32_t notify_off;		/* vrings we asked the guest not to kick */
	uint8_t *scratch;		/* DSIM_MAX_TX_BUF bytes */
	struct rte_mbuf **backlog;	/* RX_BACKLOG frames with rx meta */
	uint32_t bl_head, bl_tail;
	uint32_t bl_queued;		/* added since the last vport_rx_kick() */
	uint64_t bl_progress_tsc;	/* last time the guest took a frame */
	struct dsim_wire wire;		/* from this port to its peer */
	struct dsim_wire_ops wire_ops;
};

/* Frames on their way from one port's TX to its peer's RX. */
struct wire_batch {
	struct vport *vp;
	struct rte_mbuf *src;		/* TX buffer being processed, if linear */
	bool src_used;			/* src went on the wire itself */
	struct rte_mbuf *pending;	/* allocated, being filled by the pipeline */
	unsigned int n;
	struct rte_mbuf *pkts[BURST];
};

static struct vport *vports;
static unsigned int nr_vports;
static bool verbose;
/*
 * Where the data thread's CPU time goes: polls that moved something and
 * polls that found nothing to do (with the idle sleeps between them), so a
 * throughput can be divided by the time the device worked rather than the
 * time it spun waiting. The thread's CPU clock, not the TSC: time the thread
 * spent preempted on a shared host is nobody's work.
 */
static struct {
	uint64_t work_ns, idle_ns;
	uint64_t work_polls, idle_polls;
	uint64_t last_ns;		/* thread CPU clock after the last poll */
	uint64_t printed;		/* times the counters were printed */
} poll_acct;
/*
 * A port's small pool outlasts its peer's backlog: frames parked there and
 * on the wire, a burst of chained TX buffers, the frames being built and
 * the lcore cache. The frame pool outlasts the backlog that pauses TX.
 */
_Static_assert(SMALL_POOL_SIZE >= RX_BACKLOG + DSIM_WIRE_HOLD_MAX + BURST * CHAIN_SEGS +
	       4 * BURST + 1 + POOL_CACHE * 3 / 2, "small pool outlasts the backlog");
_Static_assert(FRAME_POOL_SIZE >= RX_PAUSE_THRESH + DSIM_WIRE_HOLD_MAX + 2 * BURST + 1 +
	       POOL_CACHE * 3 / 2, "frame pool outlasts a paused backlog");
_Static_assert(FRAME_BUF_SIZE <= UINT16_MAX, "mbuf buf_len is 16 bits");

static struct rte_rcu_qsbr *rcu;
static uint64_t rx_stall_cycles;
/* --cmd-stall-file: looked at every CMD_STALL_CHECK_NS. */
#define CMD_STALL_CHECK_NS	10000000ULL
static const char *cmd_stall_path;
static uint64_t cmd_stall_next_ns;
static bool cmd_delayed;		/* --cmd-delay-ms: commands need the clock */
static struct dsim_pcap capture;
static const char *capture_path;
static bool capturing;
static int capture_err_reported;

/* The socket path names the port; valid for any vid with a connection. */
static struct vport *vport_of(int vid)
{
	char path[PATH_MAX];
	unsigned int i;

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) < 0)
		return NULL;
	for (i = 0; i < nr_vports; i++)
		if (!strcmp(vports[i].path, path))
			return &vports[i];
	return NULL;
}

/* ---- vhost-user message thread --------------------------------------- */

static int new_device(int vid)
{
	struct vport *vp = vport_of(vid);
	uint64_t features = 0;

	if (!vp) {
		fprintf(stderr, "tlsnic-devsim: new device %d on an unknown socket\n", vid);
		return -1;
	}
	rte_vhost_get_negotiated_features(vid, &features);
	__atomic_store_n(&vp->vid, vid, __ATOMIC_RELEASE);
	__atomic_store_n(&vp->running, 1, __ATOMIC_RELEASE);
	/*
	 * A reset (destroy_device) since the command ring was enabled threw
	 * away the HELLO of that enable; a guest that does not enable the
	 * ring again still gets one. Bumped after running: the data path
	 * sees the reset first (vport_poll_ports).
	 */
	if (__atomic_load_n(&vp->vrings_enabled, __ATOMIC_ACQUIRE) & VRING_MASK(VRING_CMD_RX))
		__atomic_fetch_add(&vp->hello_req, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&vp->started, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "tlsnic-devsim: port%u: device up (vid %d, features 0x%" PRIx64 ")\n",
		vp->dp.id, vid, features);
	return 0;
}

static void destroy_device(int vid)
{
	struct vport *vp = vport_of(vid);

	if (!vp)
		return;
	__atomic_store_n(&vp->running, 0, __ATOMIC_RELEASE);
	/* rte_vhost frees the rings when we return: wait out the data path. */
	rte_rcu_qsbr_synchronize(rcu, RTE_QSBR_THRID_INVALID);
	__atomic_store_n(&vp->vid, -1, __ATOMIC_RELEASE);
	/* The data path wipes the contexts before it next touches the port. */
	__atomic_fetch_add(&vp->reset_req, 1, __ATOMIC_RELEASE);
	__atomic_fetch_add(&vp->stopped, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "tlsnic-devsim: port%u: device down (vid %d)\n", vp->dp.id, vid);
}

static int vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	struct vport *vp = vport_of(vid);
	uint32_t bit;

	/* Queue pairs past the second one are not part of the device. */
	if (!vp || queue_id > VRING_CMD_TX)
		return 0;
	bit = VRING_MASK(queue_id);
	if (enable)
		__atomic_fetch_or(&vp->vrings_enabled, bit, __ATOMIC_RELEASE);
	/* The driver waits for HELLO before it sends a command. */
	if (enable && queue_id == VRING_CMD_RX)
		__atomic_fetch_add(&vp->hello_req, 1, __ATOMIC_RELEASE);
	if (!enable)
		__atomic_fetch_and(&vp->vrings_enabled, ~bit, __ATOMIC_RELEASE);
	if (verbose)
		fprintf(stderr, "tlsnic-devsim: port%u: vring %u %s\n", vp->dp.id, queue_id,
			enable ? "enabled" : "disabled");
	return 0;
}

static const struct rte_vhost_device_ops vport_ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.vring_state_changed = vring_state_changed,
};

/* ---- data path: wire ------------------------------------------------- */

static uint32_t vport_enabled(struct vport *vp)
{
	return __atomic_load_n(&vp->vrings_enabled, __ATOMIC_ACQUIRE);
}

static uint32_t backlog_count(const struct vport *vp)
{
	return vp->bl_tail - vp->bl_head;
}

/* Moves waiting frames into the guest's RX ring while it has room. */
static unsigned int vport_rx_drain(struct vport *vp, int vid)
{
	struct rte_mbuf *pkts[BURST];
	unsigned int i, n, sent, total = 0;
	uint64_t bytes;

	while ((n = RTE_MIN(backlog_count(vp), (uint32_t)BURST)) != 0) {
		for (i = 0; i < n; i++)
			pkts[i] = vp->backlog[(vp->bl_head + i) % RX_BACKLOG];
		sent = rte_vhost_enqueue_burst(vid, VRING_DATA_RX, pkts, (uint16_t)n);
		if (!sent)
			break;
		bytes = 0;
		for (i = 0; i < sent; i++)
			bytes += pkts[i]->data_len - sizeof(struct tlsnic_rx_meta);
		vp->dp.cnt.rx_packets += sent;
		vp->dp.cnt.rx_bytes += bytes;
		/* rte_vhost copied what it took; the mbufs are still ours. */
		rte_pktmbuf_free_bulk(pkts, sent);
		vp->bl_head += sent;
		vp->bl_progress_tsc = rte_rdtsc();
		total += sent;
		if (sent < n)
			break;
	}
	return total;
}

static void vport_rx_flush_backlog(struct vport *vp)
{
	while (backlog_count(vp)) {
		rte_pktmbuf_free(vp->backlog[vp->bl_head % RX_BACKLOG]);
		vp->bl_head++;
		vp->dp.cnt.rx_flushed++;
	}
}

/* A congested peer pauses our TX, unless it stopped draining altogether. */
static bool vport_peer_paused(struct vport *vp)
{
	struct vport *peer = vp->peer;

	if (!peer || backlog_count(peer) < RX_PAUSE_THRESH ||
	    !__atomic_load_n(&peer->running, __ATOMIC_ACQUIRE))
		return false;
	return rte_rdtsc() - peer->bl_progress_tsc < rx_stall_cycles;
}

/* The wire's clock: monotonic, for reorder deadlines and capture stamps. */
static uint64_t wire_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool vport_can_receive(struct vport *vp)
{
	return vp && __atomic_load_n(&vp->running, __ATOMIC_ACQUIRE) &&
	       (vport_enabled(vp) & VRING_MASK(VRING_DATA_RX));
}

/*
 * A frame off the wire (struct dsim_wire_ops.deliver): the peer's RX
 * pipeline, then its RX packet buffer; vport_rx_kick() passes it on.
 */
static void wire_deliver(void *arg, const struct dsim_wire_pkt *pkt)
{
	struct vport *vp = arg, *peer = vp->peer;
	struct rte_mbuf *m = pkt->handle;
	struct tlsnic_rx_meta meta, *hdr;

	/* A frame held back on the wire may outlive the peer's guest. */
	if (!vport_can_receive(peer)) {
		vp->dp.cnt.drop_no_peer++;
		rte_pktmbuf_free(m);
		return;
	}
	if (!backlog_count(peer))
		peer->bl_progress_tsc = rte_rdtsc();
	dsim_rx_process(&peer->dp, pkt->data, pkt->len, &meta);
	/* Every mbuf here has the default headroom or more. */
	hdr = (struct tlsnic_rx_meta *)rte_pktmbuf_prepend(m, sizeof(meta));
	memcpy(hdr, &meta, sizeof(meta));
	if (backlog_count(peer) == RX_BACKLOG) {
		peer->dp.cnt.rx_no_buffer++;
		rte_pktmbuf_free(m);
		return;
	}
	peer->backlog[peer->bl_tail++ % RX_BACKLOG] = m;
	peer->bl_queued++;
}

static void wire_drop(void *arg, const struct dsim_wire_pkt *pkt)
{
	(void)arg;
	rte_pktmbuf_free(pkt->handle);
}

/* A buffer for a frame port vp sends: from its own pools only. */
static struct rte_mbuf *frame_mbuf_alloc(struct vport *vp, size_t len)
{
	struct rte_mempool *pool;
	struct rte_mbuf *m;

	pool = len <= SMALL_BUF_SIZE - RTE_PKTMBUF_HEADROOM ? vp->pool : vp->frame_pool;
	m = rte_pktmbuf_alloc(pool);
	if (!m && pool == vp->pool)
		m = rte_pktmbuf_alloc(vp->frame_pool);
	if (!m || rte_pktmbuf_tailroom(m) < len) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

static int wire_clone(void *arg, const struct dsim_wire_pkt *pkt, struct dsim_wire_pkt *copy)
{
	struct rte_mbuf *m = frame_mbuf_alloc(arg, pkt->len);

	if (!m)
		return -ENOMEM;
	copy->handle = m;
	copy->data = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)pkt->len);
	copy->len = pkt->len;
	memcpy(copy->data, pkt->data, pkt->len);
	return 0;
}

/* Moves what the wire delivered to a port on into its guest. */
static void vport_rx_kick(struct vport *vp)
{
	uint32_t queued = vp->bl_queued;

	if (!queued)
		return;
	vp->bl_queued = 0;
	vport_rx_drain(vp, __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE));
	/* The oldest go first: what is left of these has to wait. */
	vp->dp.cnt.rx_backlogged += RTE_MIN(queued, backlog_count(vp));
}

/* Puts a batch of frames on the wire to the peer port. */
static void wire_flush(struct wire_batch *wb)
{
	struct vport *vp = wb->vp;
	unsigned int i, n = wb->n;
	uint64_t now = 0;

	if (!n)
		return;
	wb->n = 0;
	if (!vport_can_receive(vp->peer)) {
		vp->dp.cnt.drop_no_peer += n;
		rte_pktmbuf_free_bulk(wb->pkts, n);
		return;
	}
	if (vp->wire.faults || vp->wire.pcap)
		now = wire_now_ns();
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = wb->pkts[i];
		const struct dsim_wire_pkt pkt = {
			.handle = m,
			.data = rte_pktmbuf_mtod(m, uint8_t *),
			.len = m->data_len,
		};

		dsim_wire_xmit(&vp->wire, &pkt, now, &vp->wire_ops);
	}
	vport_rx_kick(vp->peer);
}

static void wire_queue(struct wire_batch *wb, struct rte_mbuf *m)
{
	wb->pkts[wb->n++] = m;
	if (wb->n == BURST)
		wire_flush(wb);
}

static uint8_t *wire_alloc(void *arg, size_t len)
{
	struct wire_batch *wb = arg;
	struct rte_mbuf *m = frame_mbuf_alloc(wb->vp, len);

	if (!m)
		return NULL;
	/* The pipeline builds one frame at a time: alloc, fill, send. */
	rte_pktmbuf_free(wb->pending);
	wb->pending = m;
	return rte_pktmbuf_mtod(m, uint8_t *);
}

static void wire_send(void *arg, uint8_t *frame, size_t len)
{
	struct wire_batch *wb = arg;
	struct rte_mbuf *m = wb->pending;
	uint8_t *base;

	if (m && frame == rte_pktmbuf_mtod(m, uint8_t *)) {
		wb->pending = NULL;
		m->data_len = (uint16_t)len;
		m->pkt_len = (uint32_t)len;
		wire_queue(wb, m);
		return;
	}
	/*
	 * Sent in place: trim the TX buffer to the frame, keep the mbuf. Not
	 * an external buffer: that is sized for the guest's buffer and must
	 * not wait in the peer's backlog.
	 */
	m = wb->src;
	base = m ? rte_pktmbuf_mtod(m, uint8_t *) : NULL;
	if (m && !wb->src_used && !RTE_MBUF_HAS_EXTBUF(m) && frame >= base &&
	    frame + len <= base + m->data_len) {
		rte_pktmbuf_adj(m, (uint16_t)(frame - base));
		rte_pktmbuf_trim(m, (uint16_t)(m->data_len - len));
		wb->src_used = true;
		wire_queue(wb, m);
		return;
	}
	/* In the scratch buffer (chained TX buffer) or an external one: copy. */
	base = wire_alloc(arg, len);
	if (!base) {
		wb->vp->dp.cnt.drop_no_mbuf++;
		return;
	}
	memcpy(base, frame, len);
	wire_send(arg, base, len);
}

/* ---- data path: polling ---------------------------------------------- */

/* A polling device does not need the guest's kicks: spare it the exits. */
static void vport_quiet_guest(struct vport *vp, int vid, uint32_t enabled)
{
	static const uint16_t polled[] = { VRING_DATA_TX, VRING_CMD_TX };
	unsigned int i;

	for (i = 0; i < RTE_DIM(polled); i++) {
		uint32_t bit = VRING_MASK(polled[i]);

		if (!(enabled & bit))
			vp->notify_off &= ~bit;
		else if (!(vp->notify_off & bit) &&
			 !rte_vhost_enable_guest_notification(vid, polled[i], 0))
			vp->notify_off |= bit;
	}
}

/*
 * Free mbufs of a port's pool, looked at on every poll:
 * rte_mempool_avail_count() walks the cache of every possible lcore
 * (RTE_MAX_LCORE), but only the data thread, the one lcore, has a cache.
 * With ring-based pool ops (DPDK's default) the rest is the ring's count.
 */
static unsigned int pool_free_count(struct rte_mempool *mp)
{
	const struct rte_mempool_ops *ops = rte_mempool_get_ops(mp->ops_index);
	struct rte_mempool_cache *c;

	if (strncmp(ops->name, "ring_", 5))
		return rte_mempool_avail_count(mp);
	c = rte_mempool_default_cache(mp, rte_lcore_id());
	return rte_ring_count(mp->pool_data) + (c ? c->len : 0);
}

/*
 * Bytes of a chained TX buffer's frame read into the scratch buffer with
 * its metadata and dump: enough for any Ethernet/VLAN/IP/TCP headers the
 * device offloads on; frames with more go the linear way.
 */
#define TX_HEAD_FRAME	512
#define TX_CHAIN_MAX	64

/*
 * A TX buffer rte_vhost chained (past 64 KiB, a TSO frame): its head
 * (metadata, dump, headers) is read into the scratch buffer, the rest
 * stays in the mbufs, encrypted in place and segmented from there.
 * Returns -EAGAIN if it must be linearised.
 */
static int vport_tx_chained(struct vport *vp, struct rte_mbuf *m,
			    const struct dsim_tx_out *out)
{
	uint32_t len = rte_pktmbuf_pkt_len(m), head_len, off;
	struct iovec rest[TX_CHAIN_MAX];
	struct tlsnic_tx_meta meta, copy;
	const void *mp;
	unsigned int n = 0;
	uint8_t *head;

	mp = rte_pktmbuf_read(m, 0, sizeof(meta), &copy);
	if (!mp)
		return -EAGAIN;
	memcpy(&meta, mp, sizeof(meta));
	head_len = RTE_MIN(len, (uint32_t)(sizeof(meta) + RTE_MIN(le16toh(meta.dump_len),
								 DSIM_MAX_DUMP_LEN) + TX_HEAD_FRAME));
	head = (uint8_t *)rte_pktmbuf_read(m, 0, head_len, vp->scratch);
	/* In the first mbuf itself: then the rest starts right after it. */
	for (off = 0; m && n < TX_CHAIN_MAX; m = m->next) {
		uint32_t seg_end = off + m->data_len;

		if (seg_end > head_len && m->data_len) {
			uint32_t skip = off < head_len ? head_len - off : 0;

			rest[n].iov_base = rte_pktmbuf_mtod_offset(m, uint8_t *, skip);
			rest[n++].iov_len = m->data_len - skip;
		}
		off = seg_end;
	}
	if (m)
		return -EAGAIN;
	return dsim_tx_process_sg(&vp->dp, head, head_len, rest, n, len, out);
}

static unsigned int vport_poll_tx(struct vport *vp, int vid)
{
	struct wire_batch wb = { .vp = vp };
	const struct dsim_tx_out out = {
		.alloc = wire_alloc,
		.send = wire_send,
		.arg = &wb,
	};
	struct rte_mbuf *pkts[BURST];
	unsigned int i, n;

	/* Guest buffers stay in its ring until the port has mbufs again. */
	if (pool_free_count(vp->pool) < BURST) {
		vp->dp.cnt.tx_pool_empty++;
		return 0;
	}
	n = rte_vhost_dequeue_burst(vid, VRING_DATA_TX, vp->pool, pkts, BURST);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t len = rte_pktmbuf_pkt_len(m);
		uint8_t *buf;

		wb.src = NULL;
		wb.src_used = false;
		if (m->nb_segs == 1) {
			buf = rte_pktmbuf_mtod(m, uint8_t *);
			wb.src = m;
		} else if (len <= DSIM_MAX_TX_BUF) {
			if (vport_tx_chained(vp, m, &out) != -EAGAIN) {
				rte_pktmbuf_free(m);
				continue;
			}
			buf = (uint8_t *)rte_pktmbuf_read(m, 0, len, vp->scratch);
			vp->dp.cnt.tx_linearized++;
		} else {
			vp->dp.cnt.drop_chained++;
			rte_pktmbuf_free(m);
			continue;
		}
		dsim_tx_process(&vp->dp, buf, len, &out);
		if (!wb.src_used)
			rte_pktmbuf_free(m);
	}
	rte_pktmbuf_free(wb.pending);
	wire_flush(&wb);
	return n;
}

/*
 * Sends the queued replies and events that are due while the guest has
 * command RX buffers.
 */
static unsigned int vport_send_msgs(struct vport *vp, int vid, uint64_t now)
{
	struct dsim_msgq *q = &vp->dp.msgq;
	struct rte_mbuf *pkts[BURST];
	unsigned int i, n, sent;

	n = dsim_cmd_msgs_ready(&vp->dp, now, BURST);
	for (i = 0; i < n; i++) {
		const struct dsim_msg *msg = &q->slots[(q->head + i) % DSIM_MSGQ_LEN];
		char *data;

		pkts[i] = rte_pktmbuf_alloc(vp->pool);
		if (!pkts[i])
			break;
		data = rte_pktmbuf_append(pkts[i], (uint16_t)msg->len);
		memcpy(data, msg->data, msg->len);
	}
	n = i;
	if (!n)
		return 0;
	sent = rte_vhost_enqueue_burst(vid, VRING_CMD_RX, pkts, (uint16_t)n);
	for (i = 0; i < sent; i++) {
		const struct dsim_msg *msg = dsim_msgq_peek(q);
		const struct tlsnic_msg_hdr *hdr = (const void *)msg->data;

		if (hdr->opcode & TLSNIC_OP_REPLY)
			vp->dp.cnt.cmd_replies++;
		else
			vp->dp.cnt.ev_sent++;
		dsim_msgq_pop(q);
	}
	rte_pktmbuf_free_bulk(pkts, n);
	return sent;
}

static unsigned int vport_poll_cmd(struct vport *vp, int vid, uint32_t enabled)
{
	uint8_t flat[DSIM_CMD_MAX_LEN];
	struct rte_mbuf *pkts[BURST], *seg;
	unsigned int i, n, work = 0;
	uint64_t now = 0;
	uint32_t budget;

	/* Without --cmd-delay-ms every message is due at once (due_ns 0). */
	if (cmd_delayed && dsim_msgq_count(&vp->dp.msgq))
		now = wire_now_ns();
	if (enabled & VRING_MASK(VRING_CMD_RX))
		work += vport_send_msgs(vp, vid, now);
	if (!(enabled & VRING_MASK(VRING_CMD_TX)))
		return work;
	/*
	 * Commands stay in the guest's ring until there is room to answer,
	 * and while the device is stalled.
	 */
	budget = RTE_MIN(dsim_cmd_budget(&vp->dp), (uint32_t)BURST);
	if (!budget)
		return work;
	n = rte_vhost_dequeue_burst(vid, VRING_CMD_TX, vp->pool, pkts, (uint16_t)budget);
	if (n && cmd_delayed)
		now = wire_now_ns();
	for (i = 0; i < n; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);
		const uint8_t *msg;

		/* Too long to be valid: its header is enough for the answer. */
		msg = rte_pktmbuf_read(pkts[i], 0, RTE_MIN(len, (uint32_t)sizeof(flat)), flat);
		dsim_cmd_process_at(&vp->dp, msg, len, now);
	}
	/* CTX_CREATE carries a key: leave no copy in pooled buffers. */
	for (i = 0; i < n; i++)
		for (seg = pkts[i]; seg; seg = seg->next)
			explicit_bzero(rte_pktmbuf_mtod(seg, void *), seg->data_len);
	explicit_bzero(flat, sizeof(flat));
	rte_pktmbuf_free_bulk(pkts, n);
	work += n;
	if (n && (enabled & VRING_MASK(VRING_CMD_RX)))
		work += vport_send_msgs(vp, vid, now);
	return work;
}

/* --cmd-stall-file: every port withholds replies while the file exists. */
static void vport_cmd_stall_tick(void)
{
	uint64_t now;
	unsigned int i;
	bool stalled;

	if (!cmd_stall_path)
		return;
	now = wire_now_ns();
	if (now < cmd_stall_next_ns)
		return;
	cmd_stall_next_ns = now + CMD_STALL_CHECK_NS;
	stalled = access(cmd_stall_path, F_OK) == 0;
	for (i = 0; i < nr_vports; i++) {
		if (stalled != vports[i].dp.cmd_stalled && verbose)
			fprintf(stderr, "tlsnic-devsim: port%u: commands %s\n", vports[i].dp.id,
				stalled ? "stalled" : "answered again");
		dsim_cmd_set_stalled(&vports[i].dp, stalled);
	}
}

/* Capture totals move when a flush completes; ports show them as counters. */
static void capture_sync_counters(void)
{
	unsigned int i;

	for (i = 0; i < nr_vports && i < DSIM_PCAP_MAX_SOURCES; i++) {
		vports[i].dp.cnt.wire_captured = capture.captured[i];
		vports[i].dp.cnt.wire_capture_errors = capture.errors[i];
	}
}

static void capture_report(void)
{
	/* Once per distinct failure: a full disk must not flood the log. */
	if (!capture.err || capture.err == capture_err_reported)
		return;
	capture_err_reported = capture.err;
	fprintf(stderr, "tlsnic-devsim: capture %s: write failed: %s%s (wire_capture_errors)\n",
		capture_path, strerror(capture.err),
		capture.broken ? ", cannot cut the file back, capture stopped" : "");
}

void vport_capture_flush(void)
{
	if (!capturing)
		return;
	dsim_pcap_flush(&capture);
	capture_report();
	capture_sync_counters();
}

/* Time-driven wire work: reordered frames due out, a capture due to disk. */
static unsigned int vport_wire_tick(void)
{
	unsigned int i, n, work = 0;
	bool held = false;
	uint64_t now;

	for (i = 0; i < nr_vports; i++)
		held |= dsim_wire_held_count(&vports[i].wire) != 0;
	if (!held && !(capturing && capture.used))
		return 0;
	now = wire_now_ns();
	for (i = 0; i < nr_vports && held; i++) {
		struct vport *vp = &vports[i];

		n = dsim_wire_poll(&vp->wire, now, &vp->wire_ops);
		if (n && vp->peer)
			vport_rx_kick(vp->peer);
		work += n;
	}
	if (capturing && dsim_pcap_flush_due(&capture, now))
		vport_capture_flush();
	return work;
}

void vport_wire_set_faults(const struct dsim_wire_cfg *cfg)
{
	unsigned int i;

	for (i = 0; i < nr_vports; i++) {
		dsim_wire_set_faults(&vports[i].wire, cfg);
		vports[i].dp.cnt.wire_config_changes++;
	}
}

void vport_wire_control_error(void)
{
	unsigned int i;

	for (i = 0; i < nr_vports; i++)
		vports[i].dp.cnt.wire_control_errors++;
}

static unsigned int vport_poll_ports(void)
{
	unsigned int i, work = 0;

	rte_rcu_qsbr_quiescent(rcu, DATA_THREAD_ID);
	vport_cmd_stall_tick();
	for (i = 0; i < nr_vports; i++) {
		struct vport *vp = &vports[i];
		uint32_t running, req, hello, enabled;
		int vid;

		/*
		 * running first: a reset requested before it was set is seen;
		 * hello before reset_req: the reset that preceded an enable is.
		 */
		running = __atomic_load_n(&vp->running, __ATOMIC_ACQUIRE);
		hello = __atomic_load_n(&vp->hello_req, __ATOMIC_ACQUIRE);
		req = __atomic_load_n(&vp->reset_req, __ATOMIC_ACQUIRE);
		if (req != vp->reset_done) {
			vport_rx_flush_backlog(vp);
			dsim_port_reset(&vp->dp);
			vp->notify_off = 0;
			vp->reset_done = req;
		}
		if (hello != vp->hello_done) {
			dsim_port_hello(&vp->dp);
			vp->hello_done = hello;
		}
		if (!running)
			continue;
		vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
		enabled = vport_enabled(vp);
		vport_quiet_guest(vp, vid, enabled);
		if (backlog_count(vp) && (enabled & VRING_MASK(VRING_DATA_RX)))
			work += vport_rx_drain(vp, vid);
		work += vport_poll_cmd(vp, vid, enabled);
		if (!(enabled & VRING_MASK(VRING_DATA_TX)))
			continue;
		if (vport_peer_paused(vp))
			vp->dp.cnt.tx_paused++;
		else
			work += vport_poll_tx(vp, vid);
	}
	return work + vport_wire_tick();
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * One clock read per poll: what the thread spent since the previous poll
 * ended (this poll, and a sleep or a stats write before it) goes to work
 * or idle by what this poll found.
 */
unsigned int vport_poll(void)
{
	unsigned int work = vport_poll_ports();
	uint64_t now = thread_cpu_ns(), dt = now - poll_acct.last_ns;

	if (!poll_acct.last_ns)
		dt = 0;
	poll_acct.last_ns = now;
	if (work) {
		poll_acct.work_ns += dt;
		poll_acct.work_polls++;
	} else {
		poll_acct.idle_ns += dt;
		poll_acct.idle_polls++;
	}
	return work;
}

bool vport_any_running(void)
{
	unsigned int i;

	for (i = 0; i < nr_vports; i++)
		if (__atomic_load_n(&vports[i].running, __ATOMIC_RELAXED))
			return true;
	return false;
}

void vport_thread_online(void)
{
	rte_rcu_qsbr_thread_online(rcu, DATA_THREAD_ID);
}

void vport_thread_offline(void)
{
	rte_rcu_qsbr_thread_offline(rcu, DATA_THREAD_ID);
}

/* ---- setup and teardown ---------------------------------------------- */

/* A socket file left by an earlier run would make bind() fail. */
static int remove_stale_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "tlsnic-devsim: %s exists and is not a socket\n", path);
		return -EEXIST;
	}
	return unlink(path) < 0 ? -errno : 0;
}

static int vport_register(struct vport *vp)
{
	int ret;

	ret = remove_stale_socket(vp->path);
	if (ret)
		return ret;
	if (rte_vhost_driver_register(vp->path, RTE_VHOST_USER_EXTBUF_SUPPORT)) {
		fprintf(stderr, "tlsnic-devsim: cannot register vhost-user socket %s\n", vp->path);
		return -EINVAL;
	}
	vp->registered = true;
	if (rte_vhost_driver_disable_features(vp->path, VIRTIO_OFFLOAD_FEATURES) ||
	    rte_vhost_driver_callback_register(vp->path, &vport_ops)) {
		fprintf(stderr, "tlsnic-devsim: cannot configure vhost-user socket %s\n", vp->path);
		return -EINVAL;
	}
	return 0;
}

/* Capture timestamps are taken on the monotonic clock; pcap wants UTC. */
static int64_t monotonic_to_utc_ns(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000 +
	       (real.tv_nsec - mono.tv_nsec);
}

static int capture_open(const char *path)
{
	int ret = dsim_pcap_open(&capture, path, monotonic_to_utc_ns());

	if (ret) {
		fprintf(stderr, "tlsnic-devsim: cannot create capture file %s: %s\n", path,
			strerror(-ret));
		return ret;
	}
	capture_path = path;
	capturing = true;
	return 0;
}

static void capture_close(void)
{
	int ret;

	if (!capturing)
		return;
	ret = dsim_pcap_close(&capture);
	capture_report();
	if (ret && ret != -capture.err)
		fprintf(stderr, "tlsnic-devsim: capture %s: %s\n", capture_path, strerror(-ret));
	capture_sync_counters();
	capturing = false;
}

/*
 * rte_pktmbuf_pool_create() without IOVA contiguity: the device copies with
 * the CPU, and with --no-huge's 4 KiB pages a contiguous 2 KiB mbuf would
 * take a page of its own.
 */
static struct rte_mempool *mbuf_pool_create(const char *name, unsigned int n,
					    uint16_t buf_size)
{
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = buf_size };
	struct rte_mempool *mp;

	mp = rte_mempool_create_empty(name, n, sizeof(struct rte_mbuf) + buf_size, POOL_CACHE,
				      sizeof(priv), SOCKET_ID_ANY, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (!mp)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL))
		goto err_free;
	rte_pktmbuf_pool_init(mp, &priv);
	if (rte_mempool_populate_default(mp) != (int)n)
		goto err_free;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;

err_free:
	rte_mempool_free(mp);
	return NULL;
}

static int vport_pools_create(struct vport *vp)
{
	char name[RTE_MEMPOOL_NAMESIZE];

	snprintf(name, sizeof(name), "dsim_p%u", vp->dp.id);
	vp->pool = mbuf_pool_create(name, SMALL_POOL_SIZE, SMALL_BUF_SIZE);
	snprintf(name, sizeof(name), "dsim_f%u", vp->dp.id);
	vp->frame_pool = mbuf_pool_create(name, FRAME_POOL_SIZE, FRAME_BUF_SIZE);
	if (!vp->pool || !vp->frame_pool) {
		fprintf(stderr, "tlsnic-devsim: port%u: cannot create mbuf pools: %s\n",
			vp->dp.id, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

static size_t pool_bytes(unsigned int n, unsigned int buf_size)
{
	uint32_t elt = (uint32_t)(sizeof(struct rte_mbuf) + buf_size);

	/* Objects, the ring, the pool with its per-lcore caches, slack. */
	return (size_t)n * rte_mempool_calc_obj_size(elt, 0, NULL) +
	       (size_t)rte_align32pow2(n + 1) * sizeof(void *) + (512 << 10);
}

unsigned int vport_eal_mem_mb(unsigned int nr_ports)
{
	size_t per_port = pool_bytes(SMALL_POOL_SIZE, SMALL_BUF_SIZE) +
			  pool_bytes(FRAME_POOL_SIZE, FRAME_BUF_SIZE);

	return EAL_MEM_BASE_MB + (unsigned int)((nr_ports * per_port + (1 << 20) - 1) >> 20);
}

int vport_setup(const struct vport_config *cfg)
{
	static const struct dsim_wire_cfg no_faults;
	const struct dsim_wire_cfg *wcfg = cfg->wire ? cfg->wire : &no_faults;
	unsigned int i;
	size_t sz;
	int ret;

	verbose = cfg->verbose;
	cmd_stall_path = cfg->cmd_stall_path;
	cmd_delayed = cfg->cmd_delay_ms != 0;
	if (dsim_wire_cfg_check(wcfg))
		return -EINVAL;
	if (cfg->pcap_path) {
		ret = capture_open(cfg->pcap_path);
		if (ret)
			return ret;
	}
	rx_stall_cycles = rte_get_tsc_hz() / 1000 * RX_STALL_MS;
	sz = rte_rcu_qsbr_get_memsize(1);
	rcu = rte_zmalloc("dsim_rcu", sz, RTE_CACHE_LINE_SIZE);
	if (!rcu || rte_rcu_qsbr_init(rcu, 1) || rte_rcu_qsbr_thread_register(rcu, DATA_THREAD_ID))
		return -ENOMEM;

	vports = calloc(cfg->nr_ports, sizeof(*vports));
	if (!vports)
		return -ENOMEM;
	nr_vports = cfg->nr_ports;
	for (i = 0; i < nr_vports; i++) {
		struct vport *vp = &vports[i];

		vp->vid = -1;
		ret = dsim_port_init(&vp->dp, i, cfg->max_contexts);
		if (ret)
			return ret;
		tls_dev_counters_reset(i);
		if (cfg->tls_tx)
			vp->dp.tls = cfg->tls_rx ? &tls_dev_ops : &tls_dev_tx_ops;
		else if (cfg->tls_rx)
			vp->dp.tls = &tls_dev_rx_ops;
		vp->dp.cmd_delay_ns = (uint64_t)cfg->cmd_delay_ms * 1000000u;
		ret = vport_pools_create(vp);
		if (ret)
			return ret;
		vp->scratch = malloc(DSIM_MAX_TX_BUF);
		vp->backlog = calloc(RX_BACKLOG, sizeof(*vp->backlog));
		if (!vp->scratch || !vp->backlog)
			return -ENOMEM;
		if (strlen(cfg->paths[i]) >= sizeof(vp->path))
			return -ENAMETOOLONG;
		strcpy(vp->path, cfg->paths[i]);
		vp->peer = (i ^ 1) < nr_vports ? &vports[i ^ 1] : NULL;
		dsim_wire_init(&vp->wire, wcfg, i, &vp->dp.cnt, capturing ? &capture : NULL);
		vp->wire_ops.deliver = wire_deliver;
		vp->wire_ops.drop = wire_drop;
		vp->wire_ops.clone = wire_clone;
		vp->wire_ops.arg = vp;
	}
	if (verbose && wcfg != &no_faults)
		fprintf(stderr,
			"tlsnic-devsim: wire: loss %g%% reorder %g%% dup %g%% corrupt %g%%%s tls-corrupt %g%% seed %" PRIu64 "\n",
			wcfg->loss, wcfg->reorder, wcfg->dup, wcfg->corrupt,
			wcfg->corrupt_fix_csum ? " (fixed checksums)" : "", wcfg->tls_corrupt,
			wcfg->seed);
	for (i = 0; i < nr_vports; i++) {
		ret = vport_register(&vports[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int vport_start(void)
{
	unsigned int i;

	for (i = 0; i < nr_vports; i++) {
		if (rte_vhost_driver_start(vports[i].path)) {
			fprintf(stderr, "tlsnic-devsim: cannot listen on %s\n", vports[i].path);
			return -EINVAL;
		}
	}
	return 0;
}

void vport_stop(void)
{
	unsigned int i;

	for (i = 0; i < nr_vports; i++) {
		struct vport *vp = &vports[i];

		if (vp->registered) {
			/* Connected devices are destroyed here (destroy_device). */
			if (rte_vhost_driver_unregister(vp->path))
				fprintf(stderr, "tlsnic-devsim: cannot unregister %s\n", vp->path);
			unlink(vp->path);
			vp->registered = false;
		}
	}
	/*
	 * Frames still held back on the wire are delivered (to peers that are
	 * gone: drop_no_peer) rather than vanish uncounted; then the capture
	 * is complete.
	 */
	if (vports) {
		uint64_t now = wire_now_ns();

		for (i = 0; i < nr_vports; i++)
			dsim_wire_release_all(&vports[i].wire, now, &vports[i].wire_ops);
	}
	capture_close();
}

void vport_free(void)
{
	unsigned int i;

	for (i = 0; i < nr_vports; i++) {
		if (vports[i].backlog)
			vport_rx_flush_backlog(&vports[i]);
		dsim_port_fini(&vports[i].dp);
		free(vports[i].scratch);
		free(vports[i].backlog);
		rte_mempool_free(vports[i].pool);
		rte_mempool_free(vports[i].frame_pool);
	}
	free(vports);
	vports = NULL;
	nr_vports = 0;
	capture_close();
	rte_free(rcu);
}

/* The data thread's own lines: "dev.<name> <value>". */
static int vport_print_poll_acct(FILE *f)
{
	poll_acct.printed++;
	return fprintf(f, "dev.poll_work_ns %" PRIu64 "\ndev.poll_idle_ns %" PRIu64 "\n"
		       "dev.polls_work %" PRIu64 "\ndev.polls_idle %" PRIu64 "\n"
		       "dev.counters_printed %" PRIu64 "\n",
		       poll_acct.work_ns, poll_acct.idle_ns,
		       poll_acct.work_polls, poll_acct.idle_polls, poll_acct.printed) < 0 ? -1 : 0;
}

int vport_print_counters(FILE *f)
{
	unsigned int i;

	if (capturing)
		capture_sync_counters();
	for (i = 0; i < nr_vports; i++) {
		struct vport *vp = &vports[i];

		vp->dp.cnt.dev_started = __atomic_load_n(&vp->started, __ATOMIC_RELAXED);
		vp->dp.cnt.dev_stopped = __atomic_load_n(&vp->stopped, __ATOMIC_RELAXED);
		if (dsim_counters_print(f, vp->dp.id, &vp->dp.cnt) < 0 ||
		    tls_dev_counters_print(f, vp->dp.id) < 0)
			return -1;
	}
	return vport_print_poll_acct(f);
}
