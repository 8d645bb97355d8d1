// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of devsim/wire.c (fault injection) and devsim/pcap.c (capture).
 *
 * Faults: the same seed gives the same decisions, rates stay within five
 * standard deviations over many frames, reordering never loses or
 * duplicates a frame, corruption flips exactly one payload bit and the RX
 * pipeline then refuses CSUM_OK. Capture: files are read back by readers
 * that share no code with devsim, python3's struct module byte for byte
 * and tshark (frame lengths, TCP sequence numbers, checksum verdicts).
 */
#include <errno.h>
#include <fcntl.h>
#include <endian.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devsim_test.h"
#include "pipeline.h"
#include "wire.h"

/* ---- frames and a sink standing in for the glue ----------------------- */

struct tpkt {
	uint32_t id;
	uint32_t len;
	uint8_t data[];
};

#define LOG_MAX 600000

struct sink {
	uint32_t *ids;		/* delivery order */
	size_t n;
	size_t dropped;
	size_t clones;
	bool fail_clones;
	struct dsim_wire_ops ops;
};

static void sink_deliver(void *arg, const struct dsim_wire_pkt *pkt)
{
	struct sink *s = arg;
	struct tpkt *t = pkt->handle;

	if (s->n < LOG_MAX)
		s->ids[s->n++] = t->id;
	free(t);
}

static void sink_drop(void *arg, const struct dsim_wire_pkt *pkt)
{
	struct sink *s = arg;

	s->dropped++;
	free(pkt->handle);
}

static int sink_clone(void *arg, const struct dsim_wire_pkt *pkt, struct dsim_wire_pkt *copy)
{
	const struct tpkt *t = pkt->handle;
	struct sink *s = arg;
	struct tpkt *c;

	if (s->fail_clones)
		return -ENOMEM;
	c = malloc(sizeof(*c) + t->len);
	if (!c)
		return -ENOMEM;
	memcpy(c, t, sizeof(*c) + t->len);
	copy->handle = c;
	copy->data = c->data;
	copy->len = c->len;
	s->clones++;
	return 0;
}

static void sink_init(struct sink *s)
{
	memset(s, 0, sizeof(*s));
	s->ids = calloc(LOG_MAX, sizeof(*s->ids));
	s->ops.deliver = sink_deliver;
	s->ops.drop = sink_drop;
	s->ops.clone = sink_clone;
	s->ops.arg = s;
}

static void sink_fini(struct sink *s)
{
	free(s->ids);
	s->ids = NULL;
}

/* A valid IPv4 TCP frame whose sequence number is its id. */
static struct dsim_wire_pkt make_pkt(uint32_t id, size_t payload_len)
{
	static uint8_t payload[9000], buf[9200];
	struct frame_spec spec = {
		.family = 4, .proto = 6, .seq = id, .tcp_flags = 0x18,
		.payload = payload, .payload_len = payload_len,
	};
	struct frame_layout l;
	struct dsim_wire_pkt pkt;
	struct tpkt *t;

	memset(payload, (int)(id & 0xff), payload_len);
	l = build_frame(buf, &spec);
	t = malloc(sizeof(*t) + l.len);
	t->id = id;
	t->len = (uint32_t)l.len;
	memcpy(t->data, buf, l.len);
	pkt.handle = t;
	pkt.data = t->data;
	pkt.len = t->len;
	return pkt;
}

static struct dsim_wire_cfg cfg_of(double loss, double reorder, double dup, double corrupt,
				   uint64_t seed)
{
	struct dsim_wire_cfg c = {
		.loss = loss, .reorder = reorder, .dup = dup, .corrupt = corrupt, .seed = seed,
	};

	return c;
}

/* Sends n frames through a wire; the clock advances 1 us per frame. */
static void send_frames(struct dsim_wire *w, struct sink *s, uint32_t n, size_t payload)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct dsim_wire_pkt pkt = make_pkt(i, payload);

		dsim_wire_xmit(w, &pkt, 1000000000ULL + i * 1000ULL, &s->ops);
	}
}

/* ---- option parsing ------------------------------------------------- */

static bool parse_pct_values(void)
{
	static const struct {
		const char *s;
		double v;
	} good[] = { { "0", 0 }, { "1", 1 }, { "0.5", 0.5 }, { "100", 100 },
		     { "100.0", 100 }, { ".25", 0.25 }, { "7.", 7 } };
	static const char *const bad[] = {
		"", "-1", "100.1", "101", "abc", "1e1", "0x10", "inf", "nan", " 1", "1 ",
		"1%", ".", "..", "1.2.3", "+1",
	};
	size_t i;
	double v;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		CHECK(dsim_wire_parse_pct(good[i].s, &v) == 0, "'%s' refused", good[i].s);
		CHECK(v == good[i].v, "'%s' parsed as %g", good[i].s, v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(dsim_wire_parse_pct(bad[i], &v) == -EINVAL, "'%s' accepted", bad[i]);
	return true;
}

static bool cfg_check_ranges(void)
{
	struct dsim_wire_cfg c = cfg_of(0, 0, 0, 0, 1);

	CHECK(dsim_wire_cfg_check(&c) == 0, "all zero refused");
	c = cfg_of(100, 100, 100, 100, 1);
	CHECK(dsim_wire_cfg_check(&c) == 0, "all 100 refused");
	c = cfg_of(0, 100.5, 0, 0, 1);
	CHECK(dsim_wire_cfg_check(&c) == -EINVAL, "reorder 100.5 accepted");
	c = cfg_of(0, 0, -0.1, 0, 1);
	CHECK(dsim_wire_cfg_check(&c) == -EINVAL, "dup -0.1 accepted");
	c = cfg_of(0, 0, 0, NAN, 1);
	CHECK(dsim_wire_cfg_check(&c) == -EINVAL, "corrupt NaN accepted");
	return true;
}

/* ---- decisions ------------------------------------------------------- */

static struct dsim_counters cnt_a, cnt_b;

static bool same_seed_same_decisions(void)
{
	struct dsim_wire_cfg c = cfg_of(3, 2, 1, 0.5, 42);
	struct dsim_wire a, b;
	uint32_t i, differ = 0, faults = 0;

	dsim_wire_init(&a, &c, 0, &cnt_a, NULL);
	dsim_wire_init(&b, &c, 0, &cnt_b, NULL);
	for (i = 0; i < 100000; i++) {
		struct dsim_wire_decision da = dsim_wire_decide(&a);
		struct dsim_wire_decision db = dsim_wire_decide(&b);

		CHECK(da.faults == db.faults && da.where == db.where, "frame %u differs", i);
		faults += da.faults != 0;
	}
	CHECK(faults > 0, "no faults at all");

	/* Another seed, or the other port, is another stream. */
	c.seed = 43;
	dsim_wire_init(&b, &c, 0, &cnt_b, NULL);
	dsim_wire_init(&a, &c, 1, &cnt_a, NULL);
	c.seed = 42;
	{
		struct dsim_wire ref;

		dsim_wire_init(&ref, &c, 0, &cnt_a, NULL);
		for (i = 0; i < 1000; i++) {
			struct dsim_wire_decision dr = dsim_wire_decide(&ref);
			struct dsim_wire_decision db = dsim_wire_decide(&b);
			struct dsim_wire_decision da = dsim_wire_decide(&a);

			differ += dr.where != db.where;
			differ += dr.where != da.where;
		}
	}
	CHECK(differ == 2000, "streams overlap (%u of 2000 draws differ)", differ);
	return true;
}

/* Each fault has its own draw: changing one rate leaves the others alone. */
static bool rates_are_independent(void)
{
	struct dsim_wire_cfg c1 = cfg_of(2, 2, 0, 0, 7), c2 = cfg_of(2, 2, 60, 30, 7);
	struct dsim_wire a, b;
	uint32_t i;

	dsim_wire_init(&a, &c1, 0, &cnt_a, NULL);
	dsim_wire_init(&b, &c2, 0, &cnt_b, NULL);
	for (i = 0; i < 50000; i++) {
		uint32_t fa = dsim_wire_decide(&a).faults;
		uint32_t fb = dsim_wire_decide(&b).faults;
		uint32_t m = DSIM_WIRE_F_LOSS | DSIM_WIRE_F_REORDER;

		CHECK((fa & m) == (fb & m), "frame %u: loss/reorder changed with dup rate", i);
	}
	return true;
}

/* Hits of each fault over n frames at pct: within 5 sigma of n*p. */
static bool rate_ok(double pct, uint32_t n, uint64_t seed)
{
	struct dsim_wire_cfg c = cfg_of(pct, pct, pct, pct, seed);
	uint32_t hits[4] = { 0 }, i, k;
	double p = pct / 100, mean = n * p, var = n * p * (1 - p);
	struct dsim_wire w;

	dsim_wire_init(&w, &c, 0, &cnt_a, NULL);
	for (i = 0; i < n; i++) {
		uint32_t f = dsim_wire_decide(&w).faults;

		for (k = 0; k < 4; k++)
			hits[k] += !!(f & (1U << k));
	}
	for (k = 0; k < 4; k++) {
		if (pct == 0 || pct == 100) {
			CHECK(hits[k] == (pct == 0 ? 0 : n), "pct %g fault %u: %u hits", pct, k,
			      hits[k]);
			continue;
		}
		/* |hits - mean| <= 5 sigma, without libm. */
		CHECK((hits[k] - mean) * (hits[k] - mean) <= 25 * var,
		      "pct %g fault %u: %u hits, expected %.0f (variance %.0f)", pct, k, hits[k],
		      mean, var);
	}
	return true;
}

static bool rates_within_bounds(void)
{
	static const double pcts[] = { 0, 0.01, 0.5, 1, 5, 33.3, 50, 99.9, 100 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pcts); i++)
		if (!rate_ok(pcts[i], 400000, 1000 + i))
			return false;
	return true;
}

/* ---- the wire with frames -------------------------------------------- */

/* No faults configured: frames pass in order, and nothing is drawn. */
static bool perfect_wire_passes_everything(void)
{
	struct dsim_wire_cfg c = cfg_of(0, 0, 0, 0, 1);
	struct dsim_counters cnt = { 0 };
	struct dsim_wire w;
	struct sink s;
	uint32_t i;
	uint64_t rng;

	sink_init(&s);
	dsim_wire_init(&w, &c, 0, &cnt, NULL);
	rng = w.rng;
	send_frames(&w, &s, 1000, 100);
	CHECK(s.n == 1000 && s.dropped == 0 && s.clones == 0, "n %zu dropped %zu", s.n,
	      s.dropped);
	for (i = 0; i < 1000; i++)
		CHECK(s.ids[i] == i, "position %u holds frame %u", i, s.ids[i]);
	CHECK(w.rng == rng, "the stream moved without faults");
	sink_fini(&s);
	return true;
}

/*
 * Loss and duplication: every frame arrives (dup: twice) or was lost, and
 * the counters say so; the same run again gives the same delivery log.
 */
static bool loss_and_dup_accounting(void)
{
	struct dsim_wire_cfg c = cfg_of(5, 0, 5, 0, 99);
	static uint8_t seen[100000];
	struct dsim_counters cnt = { 0 }, cnt2 = { 0 };
	struct dsim_wire w;
	struct sink s, s2;
	uint32_t i, n = 100000, twice = 0, never = 0;

	sink_init(&s);
	dsim_wire_init(&w, &c, 0, &cnt, NULL);
	send_frames(&w, &s, n, 64);
	CHECK(dsim_wire_held_count(&w) == 0, "held frames without reorder");
	CHECK(s.dropped == cnt.wire_lost, "dropped %zu, wire_lost %lu", s.dropped,
	      (unsigned long)cnt.wire_lost);
	CHECK(s.clones == cnt.wire_duplicated, "clones %zu", s.clones);
	CHECK(s.n == n - cnt.wire_lost + cnt.wire_duplicated, "delivered %zu", s.n);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < s.n; i++) {
		CHECK(s.ids[i] < n, "bogus id");
		CHECK(seen[s.ids[i]] < 2, "frame %u three times", s.ids[i]);
		seen[s.ids[i]]++;
		/* A duplicate follows its original at once; order is kept. */
		CHECK(i == 0 || s.ids[i] >= s.ids[i - 1], "order broken at %u", i);
	}
	for (i = 0; i < n; i++) {
		twice += seen[i] == 2;
		never += seen[i] == 0;
	}
	CHECK(twice == cnt.wire_duplicated && never == cnt.wire_lost,
	      "twice %u never %u", twice, never);
	CHECK(cnt.wire_lost > 4000 && cnt.wire_duplicated > 4000, "rates far off");

	sink_init(&s2);
	dsim_wire_init(&w, &c, 0, &cnt2, NULL);
	send_frames(&w, &s2, n, 64);
	CHECK(s2.n == s.n && !memcmp(s.ids, s2.ids, s.n * sizeof(*s.ids)),
	      "same seed, different delivery");
	sink_fini(&s);
	sink_fini(&s2);
	return true;
}

static bool dup_without_memory_is_counted(void)
{
	struct dsim_wire_cfg c = cfg_of(0, 0, 100, 0, 5);
	struct dsim_counters cnt = { 0 };
	struct dsim_wire w;
	struct sink s;

	sink_init(&s);
	s.fail_clones = true;
	dsim_wire_init(&w, &c, 0, &cnt, NULL);
	send_frames(&w, &s, 100, 64);
	CHECK(s.n == 100 && cnt.wire_dup_failed == 100 && cnt.wire_duplicated == 0,
	      "n %zu failed %lu", s.n, (unsigned long)cnt.wire_dup_failed);
	sink_fini(&s);
	return true;
}

/* Frames that arrived after a frame sent later than them. */
static uint64_t count_overtaken(const uint32_t *ids, size_t n)
{
	uint64_t late = 0;
	uint32_t max = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i && ids[i] < max)
			late++;
		if (!i || ids[i] > max)
			max = ids[i];
	}
	return late;
}

static bool reorder_never_loses(void)
{
	static const double pcts[] = { 1, 10, 50, 100 };
	static uint8_t seen[200000];
	size_t k;

	for (k = 0; k < ARRAY_SIZE(pcts); k++) {
		struct dsim_wire_cfg c = cfg_of(0, pcts[k], 0, 0, 3 + k);
		struct dsim_counters cnt = { 0 };
		uint32_t i, n = 200000;
		struct dsim_wire w;
		struct sink s;
		uint64_t late;

		sink_init(&s);
		dsim_wire_init(&w, &c, 0, &cnt, NULL);
		send_frames(&w, &s, n, 64);
		CHECK(dsim_wire_held_count(&w) <= DSIM_WIRE_HOLD_MAX, "hold overflow");
		dsim_wire_release_all(&w, 2000000000ULL, &s.ops);
		CHECK(s.n == n && s.dropped == 0, "pct %g: %zu of %u delivered", pcts[k], s.n, n);
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < n; i++) {
			CHECK(!seen[s.ids[i]], "pct %g: frame %u twice", pcts[k], s.ids[i]);
			seen[s.ids[i]] = 1;
		}
		late = count_overtaken(s.ids, s.n);
		CHECK(late == cnt.wire_reordered, "pct %g: %lu frames late, wire_reordered %lu",
		      pcts[k], (unsigned long)late, (unsigned long)cnt.wire_reordered);
		/* At 100% every frame is held and none can overtake another. */
		if (pcts[k] < 100)
			CHECK(late > 0, "pct %g: nothing reordered", pcts[k]);
		else
			CHECK(late == 0, "pct 100: frames overtaken");
		/* A held frame waits for DEPTH frames, or the hold fills up. */
		for (i = 0; i < n; i++) {
			uint32_t behind = s.ids[i] > i ? s.ids[i] - i : i - s.ids[i];

			CHECK(behind <= DSIM_WIRE_HOLD_MAX + DSIM_WIRE_REORDER_DEPTH,
			      "pct %g: frame %u delivered %u places off", pcts[k], s.ids[i],
			      behind);
		}
		sink_fini(&s);
	}
	return true;
}

/* A held frame with nothing behind it leaves when its deadline passes. */
static bool reorder_deadline(void)
{
	struct dsim_wire_cfg c = cfg_of(0, 100, 0, 0, 1);
	struct dsim_counters cnt = { 0 };
	struct dsim_wire_pkt pkt;
	const uint64_t t0 = 5000000000ULL;
	struct dsim_wire w;
	struct sink s;

	sink_init(&s);
	dsim_wire_init(&w, &c, 0, &cnt, NULL);
	pkt = make_pkt(1, 10);
	dsim_wire_xmit(&w, &pkt, t0, &s.ops);
	CHECK(s.n == 0 && dsim_wire_held_count(&w) == 1, "not held");
	CHECK(dsim_wire_poll(&w, t0 + DSIM_WIRE_REORDER_MAX_NS - 1, &s.ops) == 0 && s.n == 0,
	      "released early");
	CHECK(dsim_wire_poll(&w, t0 + DSIM_WIRE_REORDER_MAX_NS, &s.ops) == 1 && s.n == 1,
	      "not released at its deadline");
	CHECK(cnt.wire_reordered == 0, "a frame nobody overtook counted as reordered");

	/* Held, then DEPTH frames overtake it: released right after them. */
	dsim_wire_init(&w, &c, 0, &cnt, NULL);
	pkt = make_pkt(2, 10);
	dsim_wire_xmit(&w, &pkt, t0, &s.ops);
	w.reorder_all = false;	/* reorder 0% from here on */
	send_frames(&w, &s, DSIM_WIRE_REORDER_DEPTH, 10);
	CHECK(s.n == 1 + DSIM_WIRE_REORDER_DEPTH + 1 && s.ids[s.n - 1] == 2,
	      "held frame not released after %d frames", DSIM_WIRE_REORDER_DEPTH);
	CHECK(cnt.wire_reordered == 1, "wire_reordered %lu", (unsigned long)cnt.wire_reordered);
	sink_fini(&s);
	return true;
}

/* ---- corruption ------------------------------------------------------ */

static size_t l4_len_of(const struct frame_layout *l)
{
	return l->len - l->l4;
}

/* Corrupts one frame of a kind; checks one bit moved and the checksum verdict. */
static bool corrupt_one(int family, uint8_t proto, size_t plen, bool fix)
{
	static uint8_t payload[3000], f[3200], orig[3200];
	struct frame_spec spec = {
		.family = family, .proto = proto, .seq = 1, .tcp_flags = 0x10,
		.payload = payload, .payload_len = plen,
	};
	uint64_t where = ((uint64_t)test_rand() << 32) | test_rand();
	struct frame_layout l;
	size_t j, diff = 0, at = 0, csum;
	int pos;

	test_fill_random(payload, plen);
	l = build_frame(f, &spec);
	csum = l.l4 + (proto == 6 ? 16 : 6);
	memcpy(orig, f, l.len);
	pos = dsim_wire_corrupt(f, (uint32_t)l.len, where, fix);
	CHECK(pos >= (int)l.payload && pos < (int)l.len, "offset %d outside the payload", pos);
	for (j = 0; j < l.len; j++) {
		uint8_t x = f[j] ^ orig[j];

		if (!x || (fix && j >= csum && j < csum + 2))
			continue;
		diff++;
		at = j;
		CHECK(!(x & (x - 1)), "more than one bit flipped");
	}
	CHECK(diff == 1 && at == (size_t)pos, "%zu bytes differ", diff);
	CHECK(ref_l4_ok(f, &l, family, proto, l4_len_of(&l)) == fix, "checksum %s",
	      fix ? "broken" : "still verifies");
	return true;
}

static bool corrupt_flips_one_payload_bit(void)
{
	static const struct {
		int family;
		uint8_t proto;
		size_t plen;
	} kinds[] = { { 4, 6, 1 }, { 4, 6, 1460 }, { 6, 6, 1001 }, { 4, 17, 3 },
		      { 6, 17, 2999 }, { 4, 6, 2 } };
	size_t k;
	int fix, i;

	for (k = 0; k < ARRAY_SIZE(kinds); k++)
		for (fix = 0; fix < 2; fix++)
			for (i = 0; i < 300; i++)
				CHECK(corrupt_one(kinds[k].family, kinds[k].proto, kinds[k].plen,
						  fix), "kind %zu fix %d", k, fix);
	return true;
}

static bool corrupt_needs_a_payload(void)
{
	uint8_t f[200], orig[200];
	struct frame_spec spec = { .family = 4, .proto = 6, .seq = 1, .tcp_flags = 0x10 };
	struct frame_layout l = build_frame(f, &spec);
	static const uint8_t arp[60] = { [12] = 0x08, [13] = 0x06 };

	memcpy(orig, f, l.len);
	CHECK(dsim_wire_corrupt(f, (uint32_t)l.len, 12345, false) == -1, "pure ACK corrupted");
	CHECK(!memcmp(f, orig, l.len), "pure ACK modified");
	memcpy(f, arp, sizeof(arp));
	CHECK(dsim_wire_corrupt(f, sizeof(arp), 12345, false) == -1, "ARP corrupted");
	CHECK(!memcmp(f, arp, sizeof(arp)), "ARP modified");
	return true;
}

/*
 * The receiving port's RX pipeline sees what the wire delivers: corrupted
 * frames get no CSUM_OK and count in rx_csum_bad; with fixed checksums
 * they verify as good.
 */
static struct dsim_port rx_port;

static void rx_deliver(void *arg, const struct dsim_wire_pkt *pkt)
{
	struct tlsnic_rx_meta meta;
	uint32_t *csum_ok = arg;

	dsim_rx_process(&rx_port, pkt->data, pkt->len, &meta);
	*csum_ok += !!(le16toh(meta.flags) & TLSNIC_RX_F_CSUM_OK);
	free(pkt->handle);
}

static bool corrupt_frames_fail_rx_csum(void)
{
	struct dsim_wire_cfg c = cfg_of(0, 0, 0, 100, 11);
	struct dsim_wire_ops ops = { .deliver = rx_deliver };
	struct dsim_counters cnt;
	struct dsim_wire w;
	uint32_t csum_ok;
	int fix;

	ops.arg = &csum_ok;
	for (fix = 0; fix < 2; fix++) {
		uint32_t i;

		memset(&cnt, 0, sizeof(cnt));
		csum_ok = 0;
		CHECK(dsim_port_init(&rx_port, 1, 4) == 0, "port init");
		c.corrupt_fix_csum = fix;
		dsim_wire_init(&w, &c, 0, &cnt, NULL);
		for (i = 0; i < 200; i++) {
			struct dsim_wire_pkt pkt = make_pkt(i, 1 + i * 7);

			dsim_wire_xmit(&w, &pkt, 1000 + i, &ops);
		}
		CHECK(cnt.wire_corrupted == 200, "wire_corrupted %lu",
		      (unsigned long)cnt.wire_corrupted);
		CHECK(csum_ok == (fix ? 200u : 0), "fix %d: %u frames with CSUM_OK", fix, csum_ok);
		CHECK(rx_port.cnt.rx_csum_bad == (fix ? 0 : 200u) &&
		      rx_port.cnt.rx_csum_ok == (fix ? 200u : 0),
		      "fix %d: rx_csum_bad %lu rx_csum_ok %lu", fix,
		      (unsigned long)rx_port.cnt.rx_csum_bad,
		      (unsigned long)rx_port.cnt.rx_csum_ok);
		dsim_port_fini(&rx_port);
	}
	return true;
}

/* ---- capture: independent readers ------------------------------------ */

/*
 * python3 reading the file with struct: one line per record,
 * "sec usec incl orig hex", after a header line "hdr magic maj min snap link".
 */
static const char py_reader[] =
	"import struct, sys\n"
	"d = open(sys.argv[1], 'rb').read()\n"
	"magic, = struct.unpack_from('<I', d, 0)\n"
	"e = '<' if magic == 0xa1b2c3d4 else '>'\n"
	"m, ma, mi, tz, sf, snap, link = struct.unpack_from(e + 'IHHiIII', d, 0)\n"
	"print('hdr %x %d %d %d %d' % (m, ma, mi, snap, link))\n"
	"off = 24\n"
	"while off < len(d):\n"
	"    if off + 16 > len(d): print('truncated'); break\n"
	"    s, us, incl, orig = struct.unpack_from(e + 'IIII', d, off)\n"
	"    off += 16\n"
	"    if off + incl > len(d): print('truncated'); break\n"
	"    print(s, us, incl, orig, d[off:off + incl].hex())\n"
	"    off += incl\n";

/* Runs argv with stdout into a malloc'd buffer; returns the exit status. */
static int run_output(char *const argv[], char **out)
{
	size_t cap = 1 << 20, len = 0;
	int pfd[2], status;
	char *buf;
	pid_t pid;
	ssize_t r;

	*out = NULL;
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(pfd[1], 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		close(pfd[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	buf = malloc(cap + 1);
	while ((r = read(pfd[0], buf + len, cap - len)) > 0) {
		len += (size_t)r;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(pfd[0]);
	buf[len] = 0;
	*out = buf;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool tool_exists(const char *name)
{
	char *const argv[] = { (char *)"sh", (char *)"-c", NULL, NULL };
	char cmd[128], *out;
	int rc;

	snprintf(cmd, sizeof(cmd), "command -v %s", name);
	((char **)argv)[2] = cmd;
	rc = run_output(argv, &out);
	free(out);
	return rc == 0;
}

struct rec {
	uint32_t sec, usec, incl, orig;
	uint8_t *data;
};

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Parses the python reader's output; returns the number of records or -1. */
static int read_capture(const char *path, struct rec *recs, int max)
{
	char *const argv[] = { (char *)"python3", (char *)"-c", (char *)py_reader,
			       (char *)path, NULL };
	unsigned int magic, maj, min, snap, link;
	char *out, *line, *save = NULL;
	int n = -1;

	if (run_output(argv, &out) != 0)
		goto out;
	line = strtok_r(out, "\n", &save);
	if (!line || sscanf(line, "hdr %x %u %u %u %u", &magic, &maj, &min, &snap, &link) != 5 ||
	    magic != 0xa1b2c3d4 || maj != 2 || min != 4 || snap != 65535 || link != 1) {
		printf("# bad pcap header: %s\n", line ? line : "(none)");
		goto out;
	}
	n = 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		struct rec *r = &recs[n];
		int consumed;
		uint32_t j;

		if (n == max || sscanf(line, "%u %u %u %u %n", &r->sec, &r->usec, &r->incl,
				       &r->orig, &consumed) != 4) {
			printf("# unexpected reader line: %.60s\n", line);
			n = -1;
			break;
		}
		if (strlen(line + consumed) != 2 * (size_t)r->incl) {
			printf("# record %d: %zu hex digits for %u bytes\n", n,
			       strlen(line + consumed), r->incl);
			n = -1;
			break;
		}
		r->data = malloc(r->incl + 1);
		for (j = 0; j < r->incl; j++)
			r->data[j] = (uint8_t)(hexval(line[consumed + 2 * j]) << 4 |
					       hexval(line[consumed + 2 * j + 1]));
		n++;
	}
out:
	free(out);
	return n;
}

static void free_recs(struct rec *recs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(recs[i].data);
}

static void tmp_path(char *buf, size_t size, const char *what)
{
	const char *dir = getenv("TMPDIR");

	snprintf(buf, size, "%s/tlsnic-test-wire-%d-%s.pcap", dir && *dir ? dir : "/tmp",
		 (int)getpid(), what);
}

#define MAX_RECS 4096
static struct rec recs[MAX_RECS];

/* Frames of many kinds and sizes, with their timestamps, read back exactly. */
static bool pcap_roundtrip(void)
{
	static uint8_t frames[300][9100], payload[9000];
	static size_t lens[300];
	static uint64_t ts[300];
	const int64_t offset = 1700000000LL * 1000000000LL;
	struct dsim_pcap pc;
	char path[256];
	int i, n;

	tmp_path(path, sizeof(path), "roundtrip");
	CHECK(dsim_pcap_open(&pc, path, offset) == 0, "open %s", path);
	for (i = 0; i < 300; i++) {
		struct frame_spec spec = {
			.family = i % 3 ? 4 : 6, .proto = i % 5 ? 6 : 17, .vlans = i % 7 == 0,
			.seq = (uint32_t)i * 1000, .tcp_flags = 0x18,
			.payload = payload, .payload_len = test_rand() % 9000,
		};

		test_fill_random(payload, spec.payload_len);
		lens[i] = build_frame(frames[i], &spec).len;
		ts[i] = 1000000ULL * (uint64_t)i + test_rand() % 1000000;
		dsim_pcap_write(&pc, (unsigned int)i % 2, ts[i], frames[i], (uint32_t)lens[i]);
	}
	/* A runt is captured as it is, too. */
	dsim_pcap_write(&pc, 0, ts[299] + 1, frames[0], 10);
	CHECK(dsim_pcap_close(&pc) == 0, "close");
	CHECK(pc.captured[0] == 151 && pc.captured[1] == 150 && !pc.errors[0] && !pc.errors[1],
	      "captured %lu/%lu", (unsigned long)pc.captured[0], (unsigned long)pc.captured[1]);

	n = read_capture(path, recs, MAX_RECS);
	CHECK(n == 301, "python read %d records", n);
	for (i = 0; i < 301; i++) {
		uint64_t t = (uint64_t)offset + (i < 300 ? ts[i] : ts[299] + 1);
		size_t len = i < 300 ? lens[i] : 10;
		const uint8_t *f = i < 300 ? frames[i] : frames[0];

		CHECK(recs[i].sec == t / 1000000000 && recs[i].usec == t % 1000000000 / 1000,
		      "record %d: time %u.%06u", i, recs[i].sec, recs[i].usec);
		CHECK(recs[i].incl == len && recs[i].orig == len, "record %d: length", i);
		CHECK(!memcmp(recs[i].data, f, len), "record %d: bytes differ", i);
	}
	free_recs(recs, n);

	/* tshark, a reader that knows the protocols, agrees. */
	if (tool_exists("tshark")) {
		char *const argv[] = { (char *)"tshark", (char *)"-r", path, (char *)"-T",
				       (char *)"fields", (char *)"-e", (char *)"frame.len",
				       (char *)"-e", (char *)"tcp.seq_raw", NULL };
		char *out, *line, *save = NULL;
		int rc = run_output(argv, &out);

		CHECK(rc == 0, "tshark failed (%d)", rc);
		for (i = 0, line = strtok_r(out, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save), i++) {
			unsigned long flen, seq;
			int got = sscanf(line, "%lu %lu", &flen, &seq);

			CHECK(i < 301, "tshark: too many frames");
			CHECK(got >= 1 && flen == (i < 300 ? lens[i] : 10),
			      "tshark frame %d: %s", i, line);
			if (i < 300 && i % 5)
				CHECK(got == 2 && seq == (unsigned long)i * 1000,
				      "tshark frame %d seq: %s", i, line);
		}
		free(out);
		CHECK(i == 301, "tshark saw %d frames", i);
	} else {
		printf("# tshark not installed: only python3 read the capture\n");
	}
	unlink(path);
	return true;
}

/* Frames over the snaplen are cut, with their original length kept. */
static bool pcap_snaplen(void)
{
	static uint8_t big[70000];
	struct dsim_pcap pc;
	char path[256];
	int n;

	tmp_path(path, sizeof(path), "snaplen");
	test_fill_random(big, sizeof(big));
	CHECK(dsim_pcap_open(&pc, path, 0) == 0, "open");
	dsim_pcap_write(&pc, 0, 1, big, sizeof(big));
	dsim_pcap_write(&pc, 0, 2, big, 65535);
	CHECK(dsim_pcap_close(&pc) == 0, "close");
	n = read_capture(path, recs, MAX_RECS);
	CHECK(n == 2, "%d records", n);
	CHECK(recs[0].incl == 65535 && recs[0].orig == 70000, "incl %u orig %u", recs[0].incl,
	      recs[0].orig);
	CHECK(recs[1].incl == 65535 && recs[1].orig == 65535, "second record");
	CHECK(!memcmp(recs[0].data, big, 65535), "bytes");
	free_recs(recs, n);
	unlink(path);
	return true;
}

/* Buffered records reach the file when due, before close: a killed run keeps them. */
static bool pcap_flush_policy(void)
{
	uint8_t f[64] = { 0 };
	struct dsim_pcap pc;
	struct stat st;
	char path[256];

	tmp_path(path, sizeof(path), "flush");
	CHECK(dsim_pcap_open(&pc, path, 0) == 0, "open");
	CHECK(stat(path, &st) == 0 && st.st_size == DSIM_PCAP_HDR_LEN,
	      "header not written at open");
	CHECK(!dsim_pcap_flush_due(&pc, 1ULL << 40), "flush due with nothing buffered");
	dsim_pcap_write(&pc, 3, 1000, f, sizeof(f));
	CHECK(!dsim_pcap_flush_due(&pc, 1000 + DSIM_PCAP_FLUSH_NS - 1), "due too early");
	CHECK(dsim_pcap_flush_due(&pc, 1000 + DSIM_PCAP_FLUSH_NS), "not due");
	CHECK(pc.captured[3] == 0, "counted before it was written");
	CHECK(dsim_pcap_flush(&pc) == 0, "flush");
	CHECK(stat(path, &st) == 0 &&
	      st.st_size == DSIM_PCAP_HDR_LEN + DSIM_PCAP_REC_HDR_LEN + sizeof(f), "size %ld",
	      (long)st.st_size);
	CHECK(pc.captured[3] == 1, "captured %lu", (unsigned long)pc.captured[3]);
	/* A full buffer goes out by itself. */
	{
		static uint8_t big[9000];
		uint32_t i, per = DSIM_PCAP_REC_HDR_LEN + sizeof(big);

		for (i = 0; i < DSIM_PCAP_BUF_SIZE / per + 1; i++)
			dsim_pcap_write(&pc, 0, 2000 + i, big, sizeof(big));
		CHECK(stat(path, &st) == 0 && st.st_size > (off_t)(DSIM_PCAP_HDR_LEN + per),
		      "full buffer not written");
		CHECK(pc.captured[0] > 0, "no frames counted after the buffer filled");
	}
	CHECK(dsim_pcap_close(&pc) == 0, "close");
	unlink(path);
	CHECK(dsim_pcap_open(&pc, "/nonexistent-dir/x.pcap", 0) == -ENOENT, "open error");
	return true;
}

/*
 * Write errors (file size limit): frames are counted as errors, never as
 * captured, and the file is cut back to whole records. In a child, since
 * RLIMIT_FSIZE would apply to our stdout too.
 */
static bool pcap_write_errors(void)
{
	char path[256];
	int status, n, i;
	pid_t pid;

	tmp_path(path, sizeof(path), "fsize");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct rlimit rl = { 20000, 20000 };
		static uint8_t f[1000];
		struct dsim_pcap pc;
		uint64_t cap, err;
		int code = 0;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) || dsim_pcap_open(&pc, path, 0))
			_exit(10);
		for (i = 0; i < 100; i++) {
			dsim_pcap_write(&pc, 1, (uint64_t)i, f, sizeof(f));
			/* Small flushes: some fit below the limit, then they fail. */
			if (i % 4 == 3 && dsim_pcap_flush(&pc) && pc.err != EFBIG)
				code = 11;
		}
		dsim_pcap_close(&pc);
		cap = pc.captured[1];
		err = pc.errors[1];
		if (cap + err != 100 || cap == 0 || err == 0 || pc.broken)
			code = 12;
		/* Exit code = frames captured (known < 20000 / 1016). */
		_exit(code ? code : 100 + (int)cap);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status), "child died");
	CHECK(WEXITSTATUS(status) > 100, "child failed with %d", WEXITSTATUS(status));
	n = read_capture(path, recs, MAX_RECS);
	CHECK(n == WEXITSTATUS(status) - 100, "file holds %d records, %d captured", n,
	      WEXITSTATUS(status) - 100);
	for (i = 0; i < n; i++)
		CHECK(recs[i].incl == 1000, "record %d cut", i);
	free_recs(recs, n);
	unlink(path);
	return true;
}

/*
 * The capture shows what the receiver got: after the faults and in delivery
 * order. tshark's own checksum check finds exactly the corrupted frames.
 */
static bool capture_after_faults(void)
{
	struct dsim_wire_cfg c = cfg_of(5, 5, 5, 5, 2024);
	struct dsim_counters cnt = { 0 };
	struct dsim_pcap pc;
	struct dsim_wire w;
	struct sink s;
	char path[256];
	static uint8_t bad_ids[2000];
	uint32_t i, bad = 0, bad_frames = 0;
	int n;

	tmp_path(path, sizeof(path), "faults");
	sink_init(&s);
	CHECK(dsim_pcap_open(&pc, path, 0) == 0, "open");
	dsim_wire_init(&w, &c, 0, &cnt, &pc);
	send_frames(&w, &s, 2000, 200);
	dsim_wire_release_all(&w, 1ULL << 40, &s.ops);
	CHECK(dsim_pcap_close(&pc) == 0, "close");
	CHECK(cnt.wire_lost && cnt.wire_reordered && cnt.wire_duplicated && cnt.wire_corrupted,
	      "some fault never happened");
	CHECK(pc.captured[0] == s.n, "captured %lu, delivered %zu", (unsigned long)pc.captured[0],
	      s.n);

	n = read_capture(path, recs, MAX_RECS);
	CHECK(n == (int)s.n, "%d records, %zu delivered", n, s.n);
	for (i = 0; i < s.n; i++) {
		struct frame_layout l;
		struct frame_spec spec = { .family = 4, .proto = 6, .tcp_flags = 0x18 };
		uint8_t want[400], pay[200];

		CHECK(ref_rd32(recs[i].data + 14 + 20 + 4) == s.ids[i],
		      "record %u is frame %u, delivered frame %u", i,
		      ref_rd32(recs[i].data + 14 + 20 + 4), s.ids[i]);
		memset(pay, (int)(s.ids[i] & 0xff), sizeof(pay));
		spec.seq = s.ids[i];
		spec.payload = pay;
		spec.payload_len = sizeof(pay);
		l = build_frame(want, &spec);
		CHECK(recs[i].incl == l.len, "length");
		if (memcmp(recs[i].data, want, l.len)) {
			bad++;
			/* A duplicate of a corrupted frame is corrupted too. */
			bad_frames += !bad_ids[s.ids[i]];
			bad_ids[s.ids[i]] = 1;
		}
	}
	CHECK(bad_frames == cnt.wire_corrupted,
	      "%u frames differ from what was sent, %lu corrupted", bad_frames,
	      (unsigned long)cnt.wire_corrupted);
	free_recs(recs, n);

	if (tool_exists("tshark")) {
		char *const argv[] = { (char *)"tshark", (char *)"-r", path, (char *)"-o",
				       (char *)"tcp.check_checksum:TRUE", (char *)"-Y",
				       (char *)"tcp.checksum.status == 0", (char *)"-T",
				       (char *)"fields", (char *)"-e", (char *)"frame.number",
				       NULL };
		char *out, *p;
		uint32_t lines = 0;

		CHECK(run_output(argv, &out) == 0, "tshark failed");
		for (p = out; *p; p++)
			lines += *p == '\n';
		free(out);
		CHECK(lines == bad, "tshark: %u bad checksums, %u corrupted records", lines, bad);
	}
	sink_fini(&s);
	unlink(path);
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "percentages parse strictly", parse_pct_values },
		{ "config rates are checked", cfg_check_ranges },
		{ "same seed, same decisions; other seed or port, other stream",
		  same_seed_same_decisions },
		{ "one fault's rate does not move another's decisions", rates_are_independent },
		{ "fault rates within 5 sigma over 400000 frames", rates_within_bounds },
		{ "a wire without faults passes every frame in order",
		  perfect_wire_passes_everything },
		{ "loss and dup are counted and reproducible", loss_and_dup_accounting },
		{ "dup without a buffer is counted", dup_without_memory_is_counted },
		{ "reorder never loses or repeats a frame", reorder_never_loses },
		{ "held frames leave after their deadline or DEPTH frames", reorder_deadline },
		{ "corrupt flips one payload bit, checksum stale or fixed",
		  corrupt_flips_one_payload_bit },
		{ "frames without L4 payload are not corrupted", corrupt_needs_a_payload },
		{ "corrupted frames get no CSUM_OK from the RX pipeline",
		  corrupt_frames_fail_rx_csum },
		{ "pcap read back by python3 and tshark", pcap_roundtrip },
		{ "pcap snaplen 65535", pcap_snaplen },
		{ "pcap flushes when due and when full", pcap_flush_policy },
		{ "pcap write errors counted, file cut to whole records", pcap_write_errors },
		{ "capture shows frames after the faults", capture_after_faults },
	};

	return run_tests(tests, ARRAY_SIZE(tests));
}
