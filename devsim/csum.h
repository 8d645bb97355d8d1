/* SPDX-License-Identifier: GPL-2.0 */
/* tlsnic-devsim: Internet checksum (RFC 1071) helpers. */
#ifndef DSIM_CSUM_H
#define DSIM_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Adds the 16-bit big-endian words of buf to sum (an odd trailing byte is
 * padded with zero) and returns the unfolded 32-bit sum. Sums of separate
 * pieces can be added together only if every piece but the last has an
 * even length.
 */
uint32_t dsim_csum_add(uint32_t sum, const void *buf, size_t len);

/* Folds a 32-bit sum to 16 bits; the result is not inverted. */
uint16_t dsim_csum_fold(uint32_t sum);

/* ~fold(sum): the value stored in a checksum field, host order. */
static inline uint16_t dsim_csum_finish(uint32_t sum)
{
	return (uint16_t)~dsim_csum_fold(sum);
}

/* Pseudo-header sums (RFC 793/768 for IPv4, RFC 8200 8.1 for IPv6). */
uint32_t dsim_csum_pseudo_v4(const uint8_t saddr[4], const uint8_t daddr[4],
			     uint8_t proto, uint32_t l4_len);
uint32_t dsim_csum_pseudo_v6(const uint8_t saddr[16], const uint8_t daddr[16],
			     uint8_t proto, uint32_t l4_len);

/* Reads/writes a big-endian 16-bit field at any alignment. */
static inline uint16_t dsim_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void dsim_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint32_t dsim_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void dsim_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

#endif /* DSIM_CSUM_H */
