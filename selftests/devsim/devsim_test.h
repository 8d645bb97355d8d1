/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the native devsim unit tests: a KTAP runner, an
 * independent (deliberately naive) RFC 1071 checksum used as the oracle,
 * and builders for Ethernet/IPv4/IPv6/TCP/UDP test frames.
 *
 * The oracle never calls devsim code: a bug in devsim/csum.c cannot hide
 * itself by also being in the reference.
 */
#ifndef DEVSIM_TEST_H
#define DEVSIM_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- KTAP ------------------------------------------------------------ */

struct test_case {
	const char *name;
	bool (*fn)(void);
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Fails the current test with a diagnostic line, from any depth. */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("# %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);				\
			printf("\n");					\
			return false;					\
		}							\
	} while (0)

static inline int run_tests(const struct test_case *tests, size_t n)
{
	size_t i, failed = 0;

	printf("TAP version 13\n1..%zu\n", n);
	for (i = 0; i < n; i++) {
		bool ok = tests[i].fn();

		printf("%sok %zu - %s\n", ok ? "" : "not ", i + 1, tests[i].name);
		fflush(stdout);
		failed += !ok;
	}
	printf("# %zu passed, %zu failed\n", n - failed, failed);
	return failed ? 1 : 0;
}

/* Small deterministic PRNG (xorshift64*) so failures are reproducible. */
static uint64_t test_rng_state = 0x9e3779b97f4a7c15ULL;

static inline uint32_t test_rand(void)
{
	test_rng_state ^= test_rng_state >> 12;
	test_rng_state ^= test_rng_state << 25;
	test_rng_state ^= test_rng_state >> 27;
	return (uint32_t)((test_rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static inline void test_fill_random(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)test_rand();
}

/* ---- Reference checksum (RFC 1071, word by word) ---------------------- */

/* Ones' complement sum of big-endian 16-bit words, carry folded each step. */
static inline uint16_t ref_sum(uint16_t sum, const uint8_t *p, size_t len)
{
	uint32_t s = sum;
	size_t i;

	for (i = 0; i < len; i += 2) {
		uint16_t w = (uint16_t)(p[i] << 8);

		if (i + 1 < len)
			w |= p[i + 1];
		s += w;
		if (s > 0xffff)
			s = (s & 0xffff) + 1;
	}
	return (uint16_t)s;
}

static inline uint16_t ref_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void ref_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t ref_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void ref_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * Sum of the pseudo-header, built as the bytes RFC 793 / RFC 8200 draw:
 * IPv4: src, dst, zero, proto, length(16); IPv6: src, dst, length(32),
 * zero(24), next header.
 */
static inline uint16_t ref_pseudo_sum(int family, const uint8_t *src, const uint8_t *dst,
				      uint8_t proto, uint32_t l4_len)
{
	uint8_t ph[40];
	size_t n;

	memset(ph, 0, sizeof(ph));
	if (family == 4) {
		memcpy(ph, src, 4);
		memcpy(ph + 4, dst, 4);
		ph[9] = proto;
		ref_wr16(ph + 10, (uint16_t)l4_len);
		n = 12;
	} else {
		memcpy(ph, src, 16);
		memcpy(ph + 16, dst, 16);
		ref_wr32(ph + 32, l4_len);
		ph[39] = proto;
		n = 40;
	}
	return ref_sum(0, ph, n);
}

/* ---- Test frames ----------------------------------------------------- */

struct frame_spec {
	int family;		/* 4 or 6 */
	uint8_t proto;		/* 6 TCP, 17 UDP */
	int vlans;		/* 0..2 */
	int ip_opt_len;		/* IPv4 options (multiple of 4) */
	int v6_hbh;		/* IPv6: add an 8-byte hop-by-hop header */
	int tcp_opt_len;	/* multiple of 4 */
	uint32_t seq;
	uint8_t tcp_flags;
	uint16_t ip_id;
	const uint8_t *payload;
	size_t payload_len;
};

/* Offsets of the built frame. */
struct frame_layout {
	size_t len;
	size_t l3;
	size_t l4;
	size_t payload;
	size_t ip_hlen;		/* IPv4 header, or IPv6 header + extension */
};

static const uint8_t test_src4[4] = { 10, 77, 0, 1 };
static const uint8_t test_dst4[4] = { 10, 77, 0, 2 };
static const uint8_t test_src6[16] = { 0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t test_dst6[16] = { 0xfd, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/*
 * Writes a complete, valid frame with correct IPv4 header and L4 checksums
 * (from the reference). Returns its layout.
 */
static inline struct frame_layout build_frame(uint8_t *f, const struct frame_spec *s)
{
	static const uint8_t dmac[6] = { 0x52, 0x54, 0, 0x74, 0x6c, 1 };
	static const uint8_t smac[6] = { 0x52, 0x54, 0, 0x74, 0x6c, 0 };
	struct frame_layout l;
	size_t off = 12, l4_hlen, l4_len;
	const uint8_t *src, *dst;
	uint8_t *ip, *th;
	int i;

	memset(&l, 0, sizeof(l));
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	for (i = 0; i < s->vlans; i++) {
		ref_wr16(f + off, i == 0 && s->vlans == 2 ? 0x88a8 : 0x8100);
		ref_wr16(f + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	ref_wr16(f + off, s->family == 4 ? 0x0800 : 0x86dd);
	l.l3 = off + 2;
	ip = f + l.l3;
	l4_hlen = s->proto == 6 ? 20 + (size_t)s->tcp_opt_len : 8;
	l4_len = l4_hlen + s->payload_len;
	if (s->family == 4) {
		l.ip_hlen = 20 + (size_t)s->ip_opt_len;
		memset(ip, 0, l.ip_hlen);
		ip[0] = (uint8_t)(0x40 | (l.ip_hlen / 4));
		ref_wr16(ip + 2, (uint16_t)(l.ip_hlen + l4_len));
		ref_wr16(ip + 4, s->ip_id);
		ref_wr16(ip + 6, 0x4000);	/* DF */
		ip[8] = 64;
		ip[9] = s->proto;
		memcpy(ip + 12, test_src4, 4);
		memcpy(ip + 16, test_dst4, 4);
		for (i = 20; i < (int)l.ip_hlen; i++)
			ip[i] = 1;		/* NOP options */
		ref_wr16(ip + 10, (uint16_t)~ref_sum(0, ip, l.ip_hlen));
		src = test_src4;
		dst = test_dst4;
	} else {
		l.ip_hlen = 40 + (s->v6_hbh ? 8 : 0);
		memset(ip, 0, l.ip_hlen);
		ip[0] = 0x60;
		ref_wr16(ip + 4, (uint16_t)(l.ip_hlen - 40 + l4_len));
		ip[6] = s->v6_hbh ? 0 : s->proto;
		ip[7] = 64;
		memcpy(ip + 8, test_src6, 16);
		memcpy(ip + 24, test_dst6, 16);
		if (s->v6_hbh) {
			ip[40] = s->proto;	/* next header */
			ip[41] = 0;		/* 8 bytes */
			ip[42] = 1;		/* PadN, 4 bytes of padding */
			ip[43] = 4;
		}
		src = test_src6;
		dst = test_dst6;
	}
	l.l4 = l.l3 + l.ip_hlen;
	th = f + l.l4;
	memset(th, 0, l4_hlen);
	ref_wr16(th, 40000);
	ref_wr16(th + 2, 443);
	if (s->proto == 6) {
		ref_wr32(th + 4, s->seq);
		ref_wr32(th + 8, 0x01020304);
		th[12] = (uint8_t)((l4_hlen / 4) << 4);
		th[13] = s->tcp_flags;
		ref_wr16(th + 14, 65535);
		for (i = 20; i < (int)l4_hlen; i++)
			th[i] = 1;
	} else {
		ref_wr16(th + 4, (uint16_t)l4_len);
	}
	l.payload = l.l4 + l4_hlen;
	if (s->payload_len)
		memcpy(f + l.payload, s->payload, s->payload_len);
	l.len = l.payload + s->payload_len;
	{
		uint16_t sum = ref_pseudo_sum(s->family, src, dst, s->proto, (uint32_t)l4_len);
		uint16_t c = (uint16_t)~ref_sum(sum, th, l4_len);

		if (s->proto == 17 && c == 0)
			c = 0xffff;
		ref_wr16(th + (s->proto == 6 ? 16 : 6), c);
	}
	return l;
}

/* Verifies an L4 checksum of a frame against the reference. */
static inline bool ref_l4_ok(const uint8_t *f, const struct frame_layout *l, int family,
			     uint8_t proto, size_t l4_len)
{
	const uint8_t *ip = f + l->l3;
	uint16_t sum;

	if (family == 4)
		sum = ref_pseudo_sum(4, ip + 12, ip + 16, proto, (uint32_t)l4_len);
	else
		sum = ref_pseudo_sum(6, ip + 8, ip + 24, proto, (uint32_t)l4_len);
	return ref_sum(sum, f + l->l4, l4_len) == 0xffff;
}

#endif /* DEVSIM_TEST_H */
