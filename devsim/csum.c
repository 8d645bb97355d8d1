// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: Internet checksum.
 *
 * The device computes checksums over whole TSO frames, so the inner loop
 * adds 32-bit big-endian words into a 64-bit accumulator; end-around carries
 * are folded once at the end (RFC 1071, section 2(B) and 4.1).
 */
#include "csum.h"

static uint64_t csum_fold64(uint64_t s)
{
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return s;
}

uint32_t dsim_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;

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
