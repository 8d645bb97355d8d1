// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: Internet checksum.
 *
 * The device computes checksums over every segment it sends or receives.
 * The portable loop adds 32-bit big-endian words into a 64-bit accumulator;
 * end-around carries are folded once at the end (RFC 1071, section 2(B) and
 * 4.1). Where the CPU has AVX2, the bulk of a buffer is summed 32 bytes at
 * a time as 32-bit words in the host's order into 64-bit lanes: a ones'
 * complement sum does not depend on byte order once folded to 16 bits, up
 * to a swap of its two bytes (RFC 1071, section 2(B)).
 */
#include <stdbool.h>
#include <string.h>

#include "csum.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CSUM_AVX2	1
#endif

static uint64_t csum_fold64(uint64_t s)
{
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return s;
}

#ifdef CSUM_AVX2
/* Sum of the host-order 32-bit words of len (a multiple of 32) bytes. */
__attribute__((target("avx2")))
static uint64_t csum_avx2(const uint8_t *p, size_t len)
{
	const __m256i zero = _mm256_setzero_si256();
	__m256i lo = zero, hi = zero;
	uint64_t lanes[4];

	/* Each lane takes at most 2^32 words before it could overflow. */
	for (; len; p += 32, len -= 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)p);

		lo = _mm256_add_epi64(lo, _mm256_unpacklo_epi32(v, zero));
		hi = _mm256_add_epi64(hi, _mm256_unpackhi_epi32(v, zero));
	}
	_mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(lo, hi));
	return csum_fold64(csum_fold64(lanes[0]) + csum_fold64(lanes[1]) +
			  csum_fold64(lanes[2]) + csum_fold64(lanes[3]));
}

static bool csum_use_avx2(void)
{
	static int use = -1;

	if (use < 0)
		use = __builtin_cpu_supports("avx2") ? 1 : 0;
	return use;
}
#endif

uint32_t dsim_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;

#ifdef CSUM_AVX2
	if (len >= 256 && csum_use_avx2()) {
		size_t bulk = len & ~(size_t)31;
		uint64_t h = csum_avx2(p, bulk);
		uint16_t f;

		h = (h & 0xffff) + (h >> 16);
		h = (h & 0xffff) + (h >> 16);
		h = (h & 0xffff) + (h >> 16);
		f = (uint16_t)h;
		/* x86 is little-endian: the big-endian sum is this one swapped. */
		s += (uint16_t)(f << 8 | f >> 8);
		p += bulk;
		len -= bulk;
	}
#endif
	while (len >= 32) {
		s += dsim_get_be32(p) + (uint64_t)dsim_get_be32(p + 4);
		s += dsim_get_be32(p + 8) + (uint64_t)dsim_get_be32(p + 12);
		s += dsim_get_be32(p + 16) + (uint64_t)dsim_get_be32(p + 20);
		s += dsim_get_be32(p + 24) + (uint64_t)dsim_get_be32(p + 28);
		p += 32;
		len -= 32;
	}
	while (len >= 4) {
		s += dsim_get_be32(p);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		s += dsim_get_be16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	return (uint32_t)csum_fold64(s);
}

uint16_t dsim_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t dsim_csum_pseudo_v4(const uint8_t saddr[4], const uint8_t daddr[4],
			     uint8_t proto, uint32_t l4_len)
{
	uint64_t s;

	s = dsim_csum_add(0, saddr, 4);
	s += dsim_csum_add(0, daddr, 4);
	s += (l4_len >> 16) + (l4_len & 0xffff) + proto;
	return (uint32_t)csum_fold64(s);
}

uint32_t dsim_csum_pseudo_v6(const uint8_t saddr[16], const uint8_t daddr[16],
			     uint8_t proto, uint32_t l4_len)
{
	uint64_t s;

	s = dsim_csum_add(0, saddr, 16);
	s += dsim_csum_add(0, daddr, 16);
	s += (l4_len >> 16) + (l4_len & 0xffff) + proto;
	return (uint32_t)csum_fold64(s);
}
