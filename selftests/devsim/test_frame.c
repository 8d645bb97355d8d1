// SPDX-License-Identifier: GPL-2.0
/* Unit tests of devsim/frame.c: header parsing, good and malformed frames. */
#include "devsim_test.h"
#include "frame.h"

static uint8_t frame[9300];
static uint8_t payload[9000];

/* Builds a valid frame, then lets a case damage it. */
struct parse_case {
	const char *what;
	struct frame_spec spec;
	void (*damage)(uint8_t *f, struct frame_layout *l);
	enum dsim_frame_err want;
};

static void no_damage(uint8_t *f, struct frame_layout *l)
{
	(void)f;
	(void)l;
}

static void runt(uint8_t *f, struct frame_layout *l)
{
	(void)f;
	l->len = 13;
}

static void ip_trunc(uint8_t *f, struct frame_layout *l)
{
	(void)f;
	l->len = l->l3 + 19;
}

static void v4_version(uint8_t *f, struct frame_layout *l)
{
	f[l->l3] = 0x65;
}

static void v4_ihl_small(uint8_t *f, struct frame_layout *l)
{
	f[l->l3] = 0x44;
}

static void v4_ihl_beyond_totlen(uint8_t *f, struct frame_layout *l)
{
	f[l->l3] = 0x4f;		/* 60 bytes */
	ref_wr16(f + l->l3 + 2, 40);
}

static void v4_totlen_beyond_frame(uint8_t *f, struct frame_layout *l)
{
	ref_wr16(f + l->l3 + 2, ref_rd16(f + l->l3 + 2) + 1);
}

static void v6_paylen_beyond_frame(uint8_t *f, struct frame_layout *l)
{
	ref_wr16(f + l->l3 + 4, ref_rd16(f + l->l3 + 4) + 1);
}

static void v6_jumbo(uint8_t *f, struct frame_layout *l)
{
	ref_wr16(f + l->l3 + 4, 0);
}

static void v6_version(uint8_t *f, struct frame_layout *l)
{
	f[l->l3] = 0x40;
}

static void tcp_doff_small(uint8_t *f, struct frame_layout *l)
{
	f[l->l4 + 12] = 0x40;
}

static void tcp_doff_beyond(uint8_t *f, struct frame_layout *l)
{
	f[l->l4 + 12] = 0xf0;		/* 60 bytes, packet has 20 + 10 */
}

static void l4_trunc(uint8_t *f, struct frame_layout *l)
{
	/* IP packet ends 10 bytes into the TCP header. */
	ref_wr16(f + l->l3 + 2, (uint16_t)(l->l4 - l->l3 + 10));
	ref_wr16(f + l->l3 + 10, 0);
}

static void udp_len(uint8_t *f, struct frame_layout *l)
{
	ref_wr16(f + l->l4 + 4, ref_rd16(f + l->l4 + 4) - 1);
}

static void v6_hbh_trunc(uint8_t *f, struct frame_layout *l)
{
	/* Hop-by-hop header claims 16 bytes; the payload is 8 + 20 + 0. */
	f[l->l3 + 41] = 3;		/* 32 bytes */
}

static void vlan_trunc(uint8_t *f, struct frame_layout *l)
{
	(void)f;
	l->len = 16;
}

static void three_vlans(uint8_t *f, struct frame_layout *l)
{
	/* Turn the ethertype after two tags into a third tag. */
	ref_wr16(f + 20, 0x8100);
	(void)l;
}

static const struct parse_case parse_cases[] = {
	{ "v4 tcp", { .family = 4, .proto = 6, .payload_len = 100 }, no_damage, DSIM_FRAME_OK },
	{ "v4 udp", { .family = 4, .proto = 17, .payload_len = 100 }, no_damage, DSIM_FRAME_OK },
	{ "v6 tcp", { .family = 6, .proto = 6, .payload_len = 100 }, no_damage, DSIM_FRAME_OK },
	{ "v6 hbh udp", { .family = 6, .proto = 17, .v6_hbh = 1, .payload_len = 10 },
	  no_damage, DSIM_FRAME_OK },
	{ "qinq v4 tcp opts", { .family = 4, .proto = 6, .vlans = 2, .ip_opt_len = 8,
	  .tcp_opt_len = 12, .payload_len = 1 }, no_damage, DSIM_FRAME_OK },
	{ "runt", { .family = 4, .proto = 6 }, runt, DSIM_FRAME_RUNT },
	{ "vlan cut", { .family = 4, .proto = 6, .vlans = 1 }, vlan_trunc, DSIM_FRAME_VLAN_TRUNC },
	{ "three vlans", { .family = 4, .proto = 6, .vlans = 2, .payload_len = 10 }, three_vlans,
	  DSIM_FRAME_VLAN_TRUNC },
	{ "v4 cut", { .family = 4, .proto = 6 }, ip_trunc, DSIM_FRAME_IP_TRUNC },
	{ "v6 cut", { .family = 6, .proto = 6 }, ip_trunc, DSIM_FRAME_IP_TRUNC },
	{ "v4 version", { .family = 4, .proto = 6 }, v4_version, DSIM_FRAME_IP_VERSION },
	{ "v6 version", { .family = 6, .proto = 6 }, v6_version, DSIM_FRAME_IP_VERSION },
	{ "v4 ihl < 5", { .family = 4, .proto = 6 }, v4_ihl_small, DSIM_FRAME_IP_HLEN },
	{ "v4 ihl > tot_len", { .family = 4, .proto = 6, .payload_len = 40 },
	  v4_ihl_beyond_totlen, DSIM_FRAME_IP_HLEN },
	{ "v4 tot_len > frame", { .family = 4, .proto = 6, .payload_len = 5 },
	  v4_totlen_beyond_frame, DSIM_FRAME_IP_LEN },
	{ "v6 payload_len > frame", { .family = 6, .proto = 6, .payload_len = 5 },
	  v6_paylen_beyond_frame, DSIM_FRAME_IP_LEN },
	{ "v6 jumbogram", { .family = 6, .proto = 6 }, v6_jumbo, DSIM_FRAME_IP_LEN },
	{ "v6 ext hdr cut", { .family = 6, .proto = 6, .v6_hbh = 1 }, v6_hbh_trunc,
	  DSIM_FRAME_EXTHDR },
	{ "tcp doff < 5", { .family = 4, .proto = 6, .payload_len = 10 }, tcp_doff_small,
	  DSIM_FRAME_TCP_DOFF },
	{ "tcp doff > packet", { .family = 6, .proto = 6, .payload_len = 10 }, tcp_doff_beyond,
	  DSIM_FRAME_TCP_DOFF },
	{ "tcp header cut", { .family = 4, .proto = 6, .payload_len = 10 }, l4_trunc,
	  DSIM_FRAME_L4_TRUNC },
	{ "udp length", { .family = 4, .proto = 17, .payload_len = 10 }, udp_len,
	  DSIM_FRAME_UDP_LEN },
};

static bool parse_table(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct frame_spec spec = c->spec;
		struct dsim_frame_info fi;
		struct frame_layout l;
		enum dsim_frame_err err;

		test_fill_random(payload, sizeof(payload));
		spec.payload = payload;
		memset(frame, 0, sizeof(frame));
		l = build_frame(frame, &spec);
		c->damage(frame, &l);
		err = dsim_frame_parse(frame, l.len, &fi);
		CHECK(err == c->want, "%s: got %d (%s), want %d (%s)", c->what, err,
		      dsim_frame_err_str(err), c->want, dsim_frame_err_str(c->want));
		if (err != DSIM_FRAME_OK)
			continue;
		CHECK(fi.l3 == spec.family && fi.vlans == spec.vlans, "%s: l3/vlans", c->what);
		CHECK(fi.l3_off == l.l3 && fi.l3_hlen == l.ip_hlen && fi.l4_off == l.l4,
		      "%s: offsets %u/%u/%u want %zu/%zu/%zu", c->what, fi.l3_off, fi.l3_hlen,
		      fi.l4_off, l.l3, l.ip_hlen, l.l4);
		CHECK(fi.l4_off + fi.l4_hlen == l.payload && fi.l3_end == l.len,
		      "%s: payload/end", c->what);
		CHECK(fi.l4_proto == spec.proto && !fi.fragment, "%s: proto", c->what);
	}
	return true;
}

/* Ethernet padding after the IP packet is not part of it. */
static bool padding_excluded(void)
{
	struct frame_spec spec = { .family = 4, .proto = 6, .payload_len = 0 };
	struct dsim_frame_info fi;
	struct frame_layout l = build_frame(frame, &spec);

	memset(frame + l.len, 0xaa, 60 - l.len);
	CHECK(dsim_frame_parse(frame, 60, &fi) == DSIM_FRAME_OK, "parse");
	CHECK(fi.l3_end == l.len, "l3_end %u want %zu", fi.l3_end, l.len);
	return true;
}

static bool non_ip_passes(void)
{
	struct dsim_frame_info fi;
	uint8_t arp[42];

	memset(arp, 0, sizeof(arp));
	arp[12] = 0x08;
	arp[13] = 0x06;
	CHECK(dsim_frame_parse(arp, sizeof(arp), &fi) == DSIM_FRAME_OK, "arp");
	CHECK(fi.l3 == DSIM_L3_NONE && fi.l4_proto == 0 && fi.ethertype == 0x0806, "arp info");
	return true;
}

static bool fragments_stop_at_l3(void)
{
	struct frame_spec spec = { .family = 4, .proto = 6, .payload_len = 100 };
	struct dsim_frame_info fi;
	struct frame_layout l;

	spec.payload = payload;
	l = build_frame(frame, &spec);
	ref_wr16(frame + l.l3 + 6, 0x2000);	/* MF */
	CHECK(dsim_frame_parse(frame, l.len, &fi) == DSIM_FRAME_OK, "v4 MF");
	CHECK(fi.fragment && fi.l4_proto == 0 && fi.ip_proto == 6, "v4 MF info");
	ref_wr16(frame + l.l3 + 6, 0x0010);	/* offset 128 */
	CHECK(dsim_frame_parse(frame, l.len, &fi) == DSIM_FRAME_OK, "v4 offset");
	CHECK(fi.fragment && fi.l4_proto == 0, "v4 offset info");

	spec.family = 6;
	spec.v6_hbh = 1;
	l = build_frame(frame, &spec);
	frame[l.l3 + 6] = 44;			/* the extension is now a fragment header */
	CHECK(dsim_frame_parse(frame, l.len, &fi) == DSIM_FRAME_OK, "v6 frag");
	CHECK(fi.fragment && fi.l4_proto == 0 && fi.ip_proto == 6, "v6 frag info");
	return true;
}

/* Random bytes must never crash the parser or yield offsets past the end. */
static bool random_garbage(void)
{
	struct dsim_frame_info fi;
	int i;

	for (i = 0; i < 200000; i++) {
		size_t len = test_rand() % 200;
		uint8_t *f = malloc(len ? len : 1);	/* exact size: ASan sees overreads */

		test_fill_random(f, len);
		if (len > 13 && (i & 1)) {	/* half of them look like IP */
			f[12] = i & 2 ? 0x08 : 0x86;
			f[13] = i & 2 ? 0x00 : 0xdd;
			if (len > 14)
				f[14] = (uint8_t)((i & 2 ? 0x40 : 0x60) | (f[14] & 0x0f));
		}
		if (dsim_frame_parse(f, len, &fi) == DSIM_FRAME_OK) {
			CHECK(fi.l3_end <= len, "l3_end %u > %zu", fi.l3_end, len);
			CHECK(!fi.l4_proto || fi.l4_off + fi.l4_hlen <= fi.l3_end, "l4 past end");
		}
		free(f);
	}
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "parse_table", parse_table },
		{ "padding_excluded", padding_excluded },
		{ "non_ip_passes", non_ip_passes },
		{ "fragments_stop_at_l3", fragments_stop_at_l3 },
		{ "random_garbage", random_garbage },
	};

	return run_tests(tests, ARRAY_SIZE(tests));
}
