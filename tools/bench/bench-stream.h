/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A TLS 1.2 AES-GCM record stream and what the device must make of it,
 * computed with OpenSSL: the oracle of devsim-bench and devsim-path-bench.
 */
#ifndef BENCH_STREAM_H
#define BENCH_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct bench_stream {
	bool aes256;
	size_t rec_plain;	/* plaintext bytes per record */
	size_t rec_len;		/* record bytes on the wire */
	unsigned int nrec;
	size_t len;
	uint8_t key[32], salt[4], iv[8];
	uint8_t *plain;		/* kernel plaintext form: header, IV, data, tag space (TX input) */
	uint8_t *wire;		/* records sealed by OpenSSL (TX output, RX input) */
	uint8_t *rx_out;	/* wire with plaintext data, header and tag kept (RX output) */
	uint8_t *work;		/* scratch of len bytes */
};

/* Whole records of rec_plain bytes, about bytes in all; random key and data. */
int bench_stream_make(struct bench_stream *s, bool aes256, size_t rec_plain, size_t bytes);
void bench_stream_free(struct bench_stream *s);

/* AES-GCM of the stream's cipher keyed with its key, for bench_evp_record(). */
EVP_CIPHER_CTX *bench_evp_new(const struct bench_stream *s, bool enc);
/* Seals or opens record i of buf (laid out as the stream) in place. */
bool bench_evp_record(const struct bench_stream *s, EVP_CIPHER_CTX *c, bool enc,
		      uint8_t *buf, unsigned int i);

#endif /* BENCH_STREAM_H */
