// SPDX-License-Identifier: GPL-2.0
/* tlsnic-devsim: the simulated wire (fault injection and capture). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"
#include "frame.h"
#include "wire.h"

#define SPLITMIX_GAMMA	0x9e3779b97f4a7c15ULL

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, well distributed. */
static uint64_t wire_rand(struct dsim_wire *w)
{
	w->rng += SPLITMIX_GAMMA;
	return mix64(w->rng);
}

static uint64_t wire_rand_tls(struct dsim_wire *w)
{
	w->tls_rng += SPLITMIX_GAMMA;
	return mix64(w->tls_rng);
}

static bool pct_ok(double pct)
{
	return isfinite(pct) && pct >= 0.0 && pct <= 100.0;
}

int dsim_wire_cfg_check(const struct dsim_wire_cfg *cfg)
{
	if (!pct_ok(cfg->loss) || !pct_ok(cfg->reorder) || !pct_ok(cfg->dup) ||
	    !pct_ok(cfg->corrupt) || !pct_ok(cfg->tls_corrupt))
		return -EINVAL;
	return 0;
}

int dsim_wire_parse_pct(const char *s, double *out)
{
	size_t n = strlen(s);
	char *end;
	double v;

	/* strtod alone would take " 1", "1e1", "0x10", "inf" and "nan". */
	if (!n || strspn(s, "0123456789.") != n || strspn(s, ".") == n)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !pct_ok(v))
		return -EINVAL;
	*out = v;
	return 0;
}

/* The threshold a uniform 64-bit draw must stay below for pct percent. */
static uint64_t pct_threshold(double pct, bool *all)
{
	*all = pct >= 100.0;
	if (*all || pct <= 0.0)
		return 0;
	/* pct / 100 < 1: times 2^64 (exact, a power of two) still fits. */
	return (uint64_t)(pct / 100.0 * 18446744073709551616.0);
}

void dsim_wire_set_faults(struct dsim_wire *w, const struct dsim_wire_cfg *cfg)
{
	w->loss_thr = pct_threshold(cfg->loss, &w->loss_all);
	w->corrupt_thr = pct_threshold(cfg->corrupt, &w->corrupt_all);
	w->dup_thr = pct_threshold(cfg->dup, &w->dup_all);
	w->reorder_thr = pct_threshold(cfg->reorder, &w->reorder_all);
	w->tls_corrupt_thr = pct_threshold(cfg->tls_corrupt, &w->tls_corrupt_all);
	w->tls_corrupt = cfg->tls_corrupt > 0;
	w->faults = cfg->loss > 0 || cfg->corrupt > 0 || cfg->dup > 0 || cfg->reorder > 0 ||
		    w->tls_corrupt;
	w->corrupt_fix_csum = cfg->corrupt_fix_csum;
}

void dsim_wire_init(struct dsim_wire *w, const struct dsim_wire_cfg *cfg, unsigned int port,
		    struct dsim_counters *cnt, struct dsim_pcap *pcap)
{
	memset(w, 0, sizeof(*w));
	dsim_wire_set_faults(w, cfg);
	/* Each direction has its own stream, so neither perturbs the other. */
	w->rng = cfg->seed ^ mix64((uint64_t)port + 1);
	/* And --tls-corrupt its own: adding it leaves the other faults alone. */
	w->tls_rng = cfg->seed ^ mix64(((uint64_t)port + 1) ^ 0x746c732d636f7272ULL);
	w->cnt = cnt;
	w->pcap = pcap;
	w->pcap_src = port;
}

static bool hit(uint64_t r, uint64_t thr, bool all)
{
	return all || r < thr;
}

struct dsim_wire_decision dsim_wire_decide(struct dsim_wire *w)
{
	struct dsim_wire_decision d = { 0, 0 };
	uint64_t r_loss, r_corrupt, r_dup, r_reorder;

	/* Always five draws, so one fault's rate never shifts another's. */
	r_loss = wire_rand(w);
	r_corrupt = wire_rand(w);
	r_dup = wire_rand(w);
	r_reorder = wire_rand(w);
	d.where = wire_rand(w);
	if (hit(r_loss, w->loss_thr, w->loss_all))
		d.faults |= DSIM_WIRE_F_LOSS;
	if (hit(r_corrupt, w->corrupt_thr, w->corrupt_all))
		d.faults |= DSIM_WIRE_F_CORRUPT;
	if (hit(r_dup, w->dup_thr, w->dup_all))
		d.faults |= DSIM_WIRE_F_DUP;
	if (hit(r_reorder, w->reorder_thr, w->reorder_all))
		d.faults |= DSIM_WIRE_F_REORDER;
	return d;
}

/* The L4 checksum after frame[pos] changed from old (RFC 1624, eqn. 3). */
static void l4_csum_fix(uint8_t *frame, const struct dsim_frame_info *fi, uint32_t pos,
			uint8_t old)
{
	uint32_t csum_off = fi->l4_off + (fi->l4_proto == DSIM_IPPROTO_TCP ? 16 : 6);
	uint16_t hc = dsim_get_be16(frame + csum_off), m_old, m_new;
	uint32_t sum;

	/* IPv4 UDP without a checksum: nothing to keep consistent. */
	if (fi->l4_proto == DSIM_IPPROTO_UDP && fi->l3 == DSIM_L3_IPV4 && hc == 0)
		return;
	/* The sum runs over 16-bit words from the L4 header on. */
	if ((pos - fi->l4_off) % 2 == 0) {
		m_old = (uint16_t)(old << 8);
		m_new = (uint16_t)(frame[pos] << 8);
	} else {
		m_old = old;
		m_new = frame[pos];
	}
	/* HC' = ~(~HC + ~m + m') */
	sum = (uint16_t)~hc + (uint32_t)(uint16_t)~m_old + m_new;
	hc = dsim_csum_finish(sum);
	if (fi->l4_proto == DSIM_IPPROTO_UDP && hc == 0)
		hc = 0xffff;
	dsim_put_be16(frame + csum_off, hc);
}

int dsim_wire_corrupt(uint8_t *frame, uint32_t len, uint64_t where, bool fix_csum)
{
	struct dsim_frame_info fi;
	uint32_t payload, plen, pos;
	uint8_t old;

	if (dsim_frame_parse(frame, len, &fi) != DSIM_FRAME_OK || fi.fragment ||
	    (fi.l4_proto != DSIM_IPPROTO_TCP && fi.l4_proto != DSIM_IPPROTO_UDP))
		return -1;
	payload = fi.l4_off + fi.l4_hlen;
	if (payload >= fi.l3_end)
		return -1;
	plen = fi.l3_end - payload;
	pos = payload + (uint32_t)((where >> 3) % plen);
	old = frame[pos];
	frame[pos] ^= (uint8_t)(1U << (where & 7));
	if (fix_csum)
		l4_csum_fix(frame, &fi, pos, old);
	return (int)pos;
}

/* TLS 1.2 record header (type, 3.3, length) and explicit nonce. */
#define TLS_HDR_LEN		5
#define TLS_NONCE_END		13
#define TLS_MIN_REC_LEN		24
#define TLS_MAX_REC_LEN		(16384 + 256)

/*
 * A TCP frame whose payload begins with a plausible TLS 1.2 header; its
 * payload offset and the bytes of that record in the frame.
 */
static bool tls_record_start(const uint8_t *frame, uint32_t len, struct dsim_frame_info *fi,
			     uint32_t *payload, uint32_t *rec_in_frame)
{
	const uint8_t *h;
	uint32_t plen, rlen;

	if (dsim_frame_parse(frame, len, fi) != DSIM_FRAME_OK || fi->fragment ||
	    fi->l4_proto != DSIM_IPPROTO_TCP)
		return false;
	*payload = fi->l4_off + fi->l4_hlen;
	if (*payload + TLS_HDR_LEN > fi->l3_end)
		return false;
	h = frame + *payload;
	plen = fi->l3_end - *payload;
	rlen = (uint32_t)h[3] << 8 | h[4];
	if (h[0] < 20 || h[0] > 24 || h[1] != 3 || h[2] != 3 || rlen < TLS_MIN_REC_LEN ||
	    rlen > TLS_MAX_REC_LEN)
		return false;
	*rec_in_frame = plen < TLS_HDR_LEN + rlen ? plen : TLS_HDR_LEN + rlen;
	/* Nothing of the record past its nonce in the frame: nothing to hit. */
	return *rec_in_frame > TLS_NONCE_END;
}

bool dsim_wire_tls_candidate(const uint8_t *frame, uint32_t len)
{
	struct dsim_frame_info fi;
	uint32_t payload, rec;

	return tls_record_start(frame, len, &fi, &payload, &rec);
}

int dsim_wire_tls_corrupt(uint8_t *frame, uint32_t len, uint64_t where)
{
	struct dsim_frame_info fi;
	uint32_t payload, rec, pos;
	uint8_t old;

	if (!tls_record_start(frame, len, &fi, &payload, &rec))
		return -1;
	pos = payload + TLS_NONCE_END + (uint32_t)((where >> 3) % (rec - TLS_NONCE_END));
	old = frame[pos];
	frame[pos] ^= (uint8_t)(1U << (where & 7));
	l4_csum_fix(frame, &fi, pos, old);
	return (int)pos;
}

static void wire_deliver(struct dsim_wire *w, const struct dsim_wire_pkt *pkt, uint64_t seq,
			 uint64_t now_ns, const struct dsim_wire_ops *ops)
{
	if (w->pcap)
		dsim_pcap_write(w->pcap, w->pcap_src, now_ns, pkt->data, pkt->len);
	w->delivered++;
	if (seq + 1 > w->max_seq)
		w->max_seq = seq + 1;
	ops->deliver(ops->arg, pkt);
}

static void wire_release_head(struct dsim_wire *w, uint64_t now_ns,
			      const struct dsim_wire_ops *ops)
{
	struct dsim_wire_held *h = &w->held[w->held_head++ % DSIM_WIRE_HOLD_MAX];

	/* Overtaken: a frame sent after it got there first. */
	if (w->max_seq > h->seq + 1)
		w->cnt->wire_reordered++;
	wire_deliver(w, &h->pkt, h->seq, now_ns, ops);
}

/* Held frames leave in order: marks and deadlines only grow along the queue. */
static unsigned int wire_release_due(struct dsim_wire *w, uint64_t now_ns,
				     const struct dsim_wire_ops *ops)
{
	unsigned int n = 0;

	while (dsim_wire_held_count(w)) {
		const struct dsim_wire_held *h = &w->held[w->held_head % DSIM_WIRE_HOLD_MAX];

		if (w->delivered < h->mark + DSIM_WIRE_REORDER_DEPTH && now_ns < h->deadline_ns)
			break;
		wire_release_head(w, now_ns, ops);
		n++;
	}
	return n;
}

static void wire_hold(struct dsim_wire *w, const struct dsim_wire_pkt *pkt, uint64_t seq,
		      uint64_t now_ns, const struct dsim_wire_ops *ops)
{
	struct dsim_wire_held *h;

	/* Full: the oldest goes now, so a frame is delayed, never lost. */
	if (dsim_wire_held_count(w) == DSIM_WIRE_HOLD_MAX)
		wire_release_head(w, now_ns, ops);
	h = &w->held[w->held_tail++ % DSIM_WIRE_HOLD_MAX];
	h->pkt = *pkt;
	h->seq = seq;
	h->mark = w->delivered;
	h->deadline_ns = now_ns + DSIM_WIRE_REORDER_MAX_NS;
}

void dsim_wire_xmit(struct dsim_wire *w, const struct dsim_wire_pkt *pkt, uint64_t now_ns,
		    const struct dsim_wire_ops *ops)
{
	uint64_t seq = w->sent++;
	struct dsim_wire_decision d;
	struct dsim_wire_pkt copy;

	if (!w->faults) {
		wire_deliver(w, pkt, seq, now_ns, ops);
		return;
	}
	d = dsim_wire_decide(w);
	if (d.faults & DSIM_WIRE_F_LOSS) {
		w->cnt->wire_lost++;
		ops->drop(ops->arg, pkt);
		wire_release_due(w, now_ns, ops);
		return;
	}
	/* Two draws per TLS record start, whatever the rate. */
	if (w->tls_corrupt && dsim_wire_tls_candidate(pkt->data, pkt->len)) {
		uint64_t r = wire_rand_tls(w), where = wire_rand_tls(w);

		if (hit(r, w->tls_corrupt_thr, w->tls_corrupt_all) &&
		    dsim_wire_tls_corrupt(pkt->data, pkt->len, where) >= 0)
			w->cnt->wire_tls_corrupted++;
	}
	if ((d.faults & DSIM_WIRE_F_CORRUPT) &&
	    dsim_wire_corrupt(pkt->data, pkt->len, d.where, w->corrupt_fix_csum) >= 0)
		w->cnt->wire_corrupted++;
	if (d.faults & DSIM_WIRE_F_DUP) {
		if (ops->clone(ops->arg, pkt, &copy)) {
			w->cnt->wire_dup_failed++;
		} else {
			w->cnt->wire_duplicated++;
			wire_deliver(w, &copy, seq, now_ns, ops);
		}
	}
	if (d.faults & DSIM_WIRE_F_REORDER)
		wire_hold(w, pkt, seq, now_ns, ops);
	else
		wire_deliver(w, pkt, seq, now_ns, ops);
	wire_release_due(w, now_ns, ops);
}

unsigned int dsim_wire_poll(struct dsim_wire *w, uint64_t now_ns,
			    const struct dsim_wire_ops *ops)
{
	return dsim_wire_held_count(w) ? wire_release_due(w, now_ns, ops) : 0;
}

unsigned int dsim_wire_release_all(struct dsim_wire *w, uint64_t now_ns,
				   const struct dsim_wire_ops *ops)
{
	unsigned int n = 0;

	while (dsim_wire_held_count(w)) {
		wire_release_head(w, now_ns, ops);
		n++;
	}
	return n;
}
