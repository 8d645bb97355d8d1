/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-devsim: the simulated wire between two ports.
 *
 * One struct dsim_wire per direction (per sending port) sits after the TX
 * pipeline (segmentation, encryption, checksums) and before the peer's RX
 * pipeline. It injects faults and feeds the capture:
 *
 *   loss     the frame is freed (wire_lost)
 *   corrupt  one bit of the L4 payload is flipped (wire_corrupted); the L4
 *            checksum is left stale unless fix_csum, so the receiver sees a
 *            bad checksum. Frames without L4 payload are never corrupted.
 *   dup      a copy is delivered just before the frame (wire_duplicated)
 *   tls-corrupt  a TCP frame whose payload starts with a plausible TLS 1.2
 *            record header (type 20..24, version 3.3, length 24..16640)
 *            gets one bit of that record's ciphertext or tag (payload
 *            offset 13 or more, inside the frame and the record) flipped
 *            and its TCP checksum fixed, as an attacker on the path would
 *            (wire_tls_corrupted). Its own random stream, two draws per
 *            such frame, so the other faults stay the same.
 *   reorder  the frame is held back until DSIM_WIRE_REORDER_DEPTH more
 *            frames have been delivered, or DSIM_WIRE_REORDER_MAX_NS
 *            passed; wire_reordered counts held frames that arrive after a
 *            frame sent later than them. Held frames are never lost.
 *
 * Decisions come from a splitmix64 stream seeded from (seed, port): every
 * frame draws the same number of values whatever happens to it, so the
 * faults applied to the n-th frame a port sends depend only on the seed,
 * the port and the rates, not on timing or on the other direction.
 *
 * The capture sees frames as the receiver gets them: after the faults, in
 * delivery order (lost frames absent, duplicates twice, corrupted bytes).
 *
 * Frames are opaque to the wire (struct dsim_wire_pkt): the glue frees,
 * copies and delivers them through struct dsim_wire_ops. No DPDK here.
 */
#ifndef DSIM_WIRE_H
#define DSIM_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "counters.h"
#include "pcap.h"

#define DSIM_WIRE_HOLD_MAX		64	/* frames held for reordering */
#define DSIM_WIRE_REORDER_DEPTH		3	/* frames that overtake a held one */
#define DSIM_WIRE_REORDER_MAX_NS	1000000ULL

struct dsim_wire_cfg {
	double loss;		/* percent, 0..100 */
	double reorder;
	double dup;
	double corrupt;
	double tls_corrupt;	/* percent of frames starting a TLS record */
	uint64_t seed;
	bool corrupt_fix_csum;	/* corrupt, but fix the L4 checksum */
};

/* A frame on the wire: the glue's handle (e.g. an mbuf) and its bytes. */
struct dsim_wire_pkt {
	void *handle;
	uint8_t *data;
	uint32_t len;
};

struct dsim_wire_ops {
	/* Hands a frame to the receiving port; it is the glue's again. */
	void (*deliver)(void *arg, const struct dsim_wire_pkt *pkt);
	/* Frees a frame the wire lost. */
	void (*drop)(void *arg, const struct dsim_wire_pkt *pkt);
	/* Fills copy with a copy of pkt; returns 0, or < 0 (no memory). */
	int (*clone)(void *arg, const struct dsim_wire_pkt *pkt, struct dsim_wire_pkt *copy);
	void *arg;
};

/* What happens to one frame (dsim_wire_decide()). */
#define DSIM_WIRE_F_LOSS	(1U << 0)
#define DSIM_WIRE_F_CORRUPT	(1U << 1)
#define DSIM_WIRE_F_DUP		(1U << 2)
#define DSIM_WIRE_F_REORDER	(1U << 3)

struct dsim_wire_decision {
	uint32_t faults;	/* DSIM_WIRE_F_* */
	uint64_t where;		/* picks the corrupted bit */
};

struct dsim_wire_held {
	struct dsim_wire_pkt pkt;
	uint64_t seq;		/* its place in the sending order */
	uint64_t mark;		/* frames delivered when it was held */
	uint64_t deadline_ns;
};

struct dsim_wire {
	/* A fault hits when a 64-bit draw is below its threshold. */
	uint64_t loss_thr, corrupt_thr, dup_thr, reorder_thr;
	bool loss_all, corrupt_all, dup_all, reorder_all;	/* 100% */
	bool faults;		/* any rate above 0 */
	bool corrupt_fix_csum;
	uint64_t tls_corrupt_thr;
	bool tls_corrupt_all, tls_corrupt;
	uint64_t rng;
	uint64_t tls_rng;	/* --tls-corrupt's own stream */
	uint64_t sent;		/* frames put on the wire (sequence numbers) */
	uint64_t delivered;	/* frames handed to the receiver */
	uint64_t max_seq;	/* highest sequence number delivered, plus one */
	uint32_t held_head, held_tail;
	struct dsim_wire_held held[DSIM_WIRE_HOLD_MAX];
	struct dsim_counters *cnt;	/* the sending port's */
	struct dsim_pcap *pcap;		/* NULL: no capture */
	unsigned int pcap_src;
};

/* Returns 0 if every rate is a number in 0..100, else -EINVAL. */
int dsim_wire_cfg_check(const struct dsim_wire_cfg *cfg);

/*
 * Parses a rate in percent ("1", "0.5", "100"). Returns 0, or -EINVAL for
 * anything but a plain finite number in 0..100.
 */
int dsim_wire_parse_pct(const char *s, double *out);

/*
 * Sets up the wire of sending port `port`; counters go to cnt, captured
 * frames to pcap (may be NULL) as source `port`. cfg must be valid.
 */
void dsim_wire_init(struct dsim_wire *w, const struct dsim_wire_cfg *cfg, unsigned int port,
		    struct dsim_counters *cnt, struct dsim_pcap *pcap);

/*
 * Changes the rates and corrupt_fix_csum of a running wire to cfg's (valid);
 * the seed is not used: the streams, held frames and counters carry on.
 * Frames already held for reordering leave as they would have.
 */
void dsim_wire_set_faults(struct dsim_wire *w, const struct dsim_wire_cfg *cfg);

/* Draws the fate of the next frame (advances the stream by one frame). */
struct dsim_wire_decision dsim_wire_decide(struct dsim_wire *w);

/*
 * Flips one bit, chosen by where, of the L4 payload of an Ethernet frame
 * (TCP or UDP over IPv4/IPv6, not a fragment); with fix_csum the L4
 * checksum is adjusted to match (RFC 1624), otherwise it no longer
 * verifies. Returns the offset of the flipped byte, or -1 when the frame
 * has no L4 payload (left untouched).
 */
int dsim_wire_corrupt(uint8_t *frame, uint32_t len, uint64_t where, bool fix_csum);

/*
 * --tls-corrupt on one frame: if it is TCP (not a fragment) and its payload
 * starts with a plausible TLS 1.2 header, changes one byte of that record
 * at payload offset 13 or more (within the frame and the record), chosen
 * by where, and fixes the TCP checksum. Returns the frame offset of the
 * changed byte, or -1 when the frame is no such frame (left untouched).
 */
int dsim_wire_tls_corrupt(uint8_t *frame, uint32_t len, uint64_t where);

/* Whether the frame is one --tls-corrupt may change (the test above). */
bool dsim_wire_tls_candidate(const uint8_t *frame, uint32_t len);

/* Puts one frame on the wire at now_ns (monotonic). */
void dsim_wire_xmit(struct dsim_wire *w, const struct dsim_wire_pkt *pkt, uint64_t now_ns,
		    const struct dsim_wire_ops *ops);

/* Releases held frames whose time is up. Returns how many. */
unsigned int dsim_wire_poll(struct dsim_wire *w, uint64_t now_ns,
			    const struct dsim_wire_ops *ops);

/* Delivers every held frame (shutdown). Returns how many. */
unsigned int dsim_wire_release_all(struct dsim_wire *w, uint64_t now_ns,
				   const struct dsim_wire_ops *ops);

static inline uint32_t dsim_wire_held_count(const struct dsim_wire *w)
{
	return w->held_tail - w->held_head;
}

#endif /* DSIM_WIRE_H */
