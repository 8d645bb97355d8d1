// SPDX-License-Identifier: GPL-2.0
/*
 * The record stream of the benches (bench-stream.h): records in the form
 * the kernel hands a TLS TX offload, sealed and opened by OpenSSL.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "bench-stream.h"

static void rec_nonce(const struct bench_stream *s, unsigned int i, uint8_t nonce[12])
{
	uint64_t n;

	memcpy(&n, s->iv, 8);
	n = htobe64(be64toh(n) + i);
	memcpy(nonce, s->salt, 4);
	memcpy(nonce + 4, &n, 8);
}

static void rec_aad(const struct bench_stream *s, unsigned int i, uint8_t aad[13])
{
	uint64_t seq = htobe64(i);

	memcpy(aad, &seq, 8);
	aad[8] = 23;
	aad[9] = 3;
	aad[10] = 3;
	aad[11] = (uint8_t)(s->rec_plain >> 8);
	aad[12] = (uint8_t)s->rec_plain;
}

bool bench_evp_record(const struct bench_stream *s, EVP_CIPHER_CTX *c, bool enc,
		      uint8_t *buf, unsigned int i)
{
	uint8_t *r = buf + (size_t)i * s->rec_len;
	uint8_t *data = r + 13, *tag = data + s->rec_plain;
	uint8_t nonce[12], aad[13];
	int outl;

	rec_nonce(s, i, nonce);
	rec_aad(s, i, aad);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &outl, aad, 13) != 1 ||
	    EVP_CipherUpdate(c, data, &outl, data, (int)s->rec_plain) != 1)
		return false;
	if (enc)
		return EVP_CipherFinal_ex(c, tag, &outl) == 1 &&
		       EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
	return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
	       EVP_CipherFinal_ex(c, tag, &outl) == 1;
}

EVP_CIPHER_CTX *bench_evp_new(const struct bench_stream *s, bool enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c && EVP_CipherInit_ex(c, s->aes256 ? EVP_aes_256_gcm() : EVP_aes_128_gcm(),
				   NULL, s->key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(c);
		c = NULL;
	}
	return c;
}

int bench_stream_make(struct bench_stream *s, bool aes256, size_t rec_plain, size_t bytes)
{
	EVP_CIPHER_CTX *c;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->aes256 = aes256;
	s->rec_plain = rec_plain;
	s->rec_len = 13 + rec_plain + 16;
	s->nrec = (unsigned int)(bytes / s->rec_len);
	s->len = (size_t)s->nrec * s->rec_len;
	s->plain = malloc(s->len);
	s->wire = malloc(s->len);
	s->rx_out = malloc(s->len);
	s->work = malloc(s->len);
	if (!s->nrec || !s->plain || !s->wire || !s->rx_out || !s->work)
		goto err_free;
	if (RAND_bytes(s->key, sizeof(s->key)) != 1 || RAND_bytes(s->salt, 4) != 1 ||
	    RAND_bytes(s->iv, 8) != 1 || RAND_bytes(s->plain, (int)s->len) != 1)
		goto err_free;
	for (i = 0; i < s->nrec; i++) {
		uint8_t *r = s->plain + (size_t)i * s->rec_len, nonce[12];
		size_t clen = s->rec_len - 5;

		r[0] = 23;
		r[1] = 3;
		r[2] = 3;
		r[3] = (uint8_t)(clen >> 8);
		r[4] = (uint8_t)clen;
		rec_nonce(s, i, nonce);
		memcpy(r + 5, nonce + 4, 8);
		memset(r + 13 + rec_plain, 0, 16);	/* tag space */
	}
	memcpy(s->wire, s->plain, s->len);
	c = bench_evp_new(s, true);
	if (!c)
		goto err_free;
	for (i = 0; i < s->nrec; i++)
		if (!bench_evp_record(s, c, true, s->wire, i))
			break;
	EVP_CIPHER_CTX_free(c);
	if (i < s->nrec)
		goto err_free;
	/* What RX gives: payload in plaintext, header and tag as they came. */
	memcpy(s->rx_out, s->wire, s->len);
	for (i = 0; i < s->nrec; i++) {
		size_t off = (size_t)i * s->rec_len + 13;

		memcpy(s->rx_out + off, s->plain + off, rec_plain);
	}
	return 0;

err_free:
	bench_stream_free(s);
	return -1;
}

void bench_stream_free(struct bench_stream *s)
{
	free(s->plain);
	free(s->wire);
	free(s->rx_out);
	free(s->work);
	s->plain = s->wire = s->rx_out = s->work = NULL;
}
