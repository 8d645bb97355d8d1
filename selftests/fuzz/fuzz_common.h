/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the devsim libFuzzer targets and the seed generator: the input
 * format, a port set up as tlsnic-devsim sets one up (TLS TX engine and
 * contexts created through the command channel), an independent checksum
 * oracle and a frame builder.
 *
 * Inputs of the stateful targets (fuzz_cmd, fuzz_tx_meta) are a sequence of
 * chunks, each "op (1 byte) | len (2 bytes, little endian) | len bytes"; a
 * chunk cut short by the end of the input takes what is left. The op bits
 * are target-specific harness actions (drain the message queue, ...), so
 * one input mixes valid and random messages and the state they leave.
 */
#ifndef DSIM_FUZZ_COMMON_H
#define DSIM_FUZZ_COMMON_H

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsnic.h"

#define FZ_CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "invariant broken at %s:%d: %s: ", \
				__FILE__, __LINE__, #cond);		\
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			abort();					\
		}							\
	} while (0)

#define FZ_CHUNK_HDR	3

struct fz_reader {
	const uint8_t *p;
	size_t left;
};

/* The next chunk, or false at the end of the input. */
static inline bool fz_next_chunk(struct fz_reader *r, uint8_t *op,
				 const uint8_t **data, size_t *len)
{
	size_t want;

	if (r->left < FZ_CHUNK_HDR)
		return false;
	*op = r->p[0];
	want = r->p[1] | (size_t)r->p[2] << 8;
	r->p += FZ_CHUNK_HDR;
	r->left -= FZ_CHUNK_HDR;
	*len = want < r->left ? want : r->left;
	*data = r->p;
	r->p += *len;
	r->left -= *len;
	return true;
}

/* Appends a chunk to out (for the seed generator); returns the new length. */
static inline size_t fz_put_chunk(uint8_t *out, size_t at, uint8_t op,
				  const void *data, size_t len)
{
	out[at] = op;
	out[at + 1] = (uint8_t)len;
	out[at + 2] = (uint8_t)(len >> 8);
	memcpy(out + at + FZ_CHUNK_HDR, data, len);
	return at + FZ_CHUNK_HDR + len;
}

/*
 * RFC 1071 ones' complement sum, written here rather than taken from
 * devsim/csum.c so the checks do not trust the code under test.
 */
static inline uint32_t fz_sum(uint32_t sum, const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Whether the L4 checksum over [l4, l4 + l4_len) verifies. */
static inline bool fz_l4_sum_ok(const uint8_t *l3, bool v6, uint8_t proto,
				const uint8_t *l4, uint32_t l4_len)
{
	uint8_t ph[4] = { 0, proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len };
	uint32_t sum;

	if (v6)
		sum = fz_sum(0, l3 + 8, 32);
	else
		sum = fz_sum(0, l3 + 12, 8);
	sum = fz_sum(sum, ph, sizeof(ph));
	if (v6 && l4_len >> 16)
		sum = fz_sum(sum, (const uint8_t []){ 0, (uint8_t)(l4_len >> 16) }, 2);
	return fz_sum(sum, l4, l4_len) == 0xffff;
}

/* The harness's TLS TX contexts (TLS 1.2, created in this order). */
#define FZ_CTX_V4_TCP_SEQ	1000u
#define FZ_CTX_V6_TCP_SEQ	70000u
#define FZ_SPORT		40000
#define FZ_DPORT		443

static inline void fz_ctx_create_body(struct tlsnic_ctx_create *c, bool v6)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->dir = TLSNIC_DIR_TX;
	c->tls_version = TLSNIC_TLS_1_2;
	c->cipher = v6 ? TLSNIC_CIPHER_AES_GCM_256 : TLSNIC_CIPHER_AES_GCM_128;
	c->family = v6 ? 6 : 4;
	memset(c->key, 0x11, sizeof(c->key));
	memset(c->salt, 0x22, sizeof(c->salt));
	for (i = 0; i < 8; i++)
		c->iv[i] = (uint8_t)(i + 1);
	c->rec_seq[7] = v6 ? 5 : 0;
	c->tcp_seq = htole32(v6 ? FZ_CTX_V6_TCP_SEQ : FZ_CTX_V4_TCP_SEQ);
	if (v6) {
		memcpy(c->saddr, (const uint8_t [16]){ 0xfd, 0, [15] = 1 }, 16);
		memcpy(c->daddr, (const uint8_t [16]){ 0xfd, 0, [15] = 2 }, 16);
	} else {
		memcpy(c->saddr, (const uint8_t [4]){ 10, 0, 0, 1 }, 4);
		memcpy(c->daddr, (const uint8_t [4]){ 10, 0, 0, 2 }, 4);
	}
	c->sport = htobe16(FZ_SPORT);
	c->dport = htobe16(FZ_DPORT);
}

/* A whole command message with header version @version. Returns its length. */
static inline size_t fz_cmd_msg_v(uint8_t *out, uint8_t version, uint8_t opcode, uint32_t tag,
				  const void *body, uint32_t body_len)
{
	struct tlsnic_msg_hdr h;

	memset(&h, 0, sizeof(h));
	h.magic = htole32(TLSNIC_ABI_MAGIC);
	h.version = version;
	h.opcode = opcode;
	h.tag = htole32(tag);
	h.len = htole32(body_len);
	memcpy(out, &h, sizeof(h));
	if (body_len)
		memcpy(out + sizeof(h), body, body_len);
	return sizeof(h) + body_len;
}

/* The same in version 1 (IDENTIFY, or a port that negotiated nothing). */
static inline size_t fz_cmd_msg(uint8_t *out, uint8_t opcode, uint32_t tag,
				const void *body, uint32_t body_len)
{
	return fz_cmd_msg_v(out, TLSNIC_ABI_VERSION_MIN, opcode, tag, body, body_len);
}

/*
 * An Ethernet / optional VLAN / IPv4 or IPv6 / TCP frame with the TCP
 * checksum field holding the pseudo-header sum, as the stack hands a
 * CHECKSUM_PARTIAL frame to the device. Returns the frame length.
 */
static inline size_t fz_tcp_frame(uint8_t *f, bool v6, bool vlan, uint32_t seq,
				  const uint8_t *payload, size_t plen)
{
	size_t l3 = 14 + (vlan ? 4 : 0), l4, tcp_len = 20 + plen;
	uint8_t ph[4];
	uint32_t sum;

	memset(f, 0, l3);
	memcpy(f, (const uint8_t []){ 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 }, 12);
	if (vlan) {
		f[12] = 0x81;
		f[14] = 0x00;
		f[15] = 0x05;
	}
	f[l3 - 2] = v6 ? 0x86 : 0x08;
	f[l3 - 1] = v6 ? 0xdd : 0x00;
	if (v6) {
		uint8_t *ip = f + l3;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		ip[4] = (uint8_t)(tcp_len >> 8);
		ip[5] = (uint8_t)tcp_len;
		ip[6] = 6;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[39] = 2;
		l4 = l3 + 40;
	} else {
		uint8_t *ip = f + l3;
		uint16_t c;

		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[2] = (uint8_t)((20 + tcp_len) >> 8);
		ip[3] = (uint8_t)(20 + tcp_len);
		ip[4] = 0x12;
		ip[6] = 0x40;	/* DF */
		ip[8] = 64;
		ip[9] = 6;
		memcpy(ip + 12, (const uint8_t []){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
		c = (uint16_t)~fz_sum(0, ip, 20);
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		l4 = l3 + 20;
	}
	memset(f + l4, 0, 20);
	f[l4] = FZ_SPORT >> 8;
	f[l4 + 1] = FZ_SPORT & 0xff;
	f[l4 + 2] = FZ_DPORT >> 8;
	f[l4 + 3] = FZ_DPORT & 0xff;
	f[l4 + 4] = (uint8_t)(seq >> 24);
	f[l4 + 5] = (uint8_t)(seq >> 16);
	f[l4 + 6] = (uint8_t)(seq >> 8);
	f[l4 + 7] = (uint8_t)seq;
	f[l4 + 12] = 5 << 4;
	f[l4 + 13] = 0x18;	/* PSH ACK */
	f[l4 + 14] = 0xff;
	memcpy(f + l4 + 20, payload, plen);
	ph[0] = 0;
	ph[1] = 6;
	ph[2] = (uint8_t)(tcp_len >> 8);
	ph[3] = (uint8_t)tcp_len;
	sum = fz_sum(fz_sum(0, f + l3 + (v6 ? 8 : 12), v6 ? 32 : 8), ph, 4);
	f[l4 + 16] = (uint8_t)(sum >> 8);
	f[l4 + 17] = (uint8_t)sum;
	return l4 + tcp_len;
}

#endif /* DSIM_FUZZ_COMMON_H */
