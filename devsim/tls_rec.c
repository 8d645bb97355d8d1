// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic devsim: TLS 1.2 AES-GCM record cursor for both directions.
 * See tls_rec.h.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../uapi/tlsnic.h"
#include "tls_rec.h"

#define TLS_REC_AAD_LEN		13
#define TLS_REC_GCM_IV_LEN	(TLS_REC_SALT_LEN + TLS_REC_NONCE_LEN)
#define TLS_REC_BLOCK		16
/* The first GCM payload block uses counter 2 (J0 has counter 1). */
#define TLS_REC_CTR_FIRST	2

/* struct tls_rec_aead is never defined: it stands for an EVP context. */
static inline EVP_CIPHER_CTX *evp(struct tls_rec_aead *a)
{
	return (EVP_CIPHER_CTX *)a;
}

static inline size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

/* ---- record history -------------------------------------------------- */

/* Can @n whole records fill exactly @gap bytes? */
static bool tls_rec_gap_fits(uint64_t n, int64_t gap)
{
	uint64_t lo, hi;

	if (gap < 0 || __builtin_mul_overflow(n, TLS_REC_MIN_REC_LEN, &lo))
		return false;
	if (__builtin_mul_overflow(n, TLS_REC_MAX_REC_LEN, &hi))
		hi = UINT64_MAX;
	return lo <= (uint64_t)gap && (uint64_t)gap <= hi;
}

/*
 * Can record @num start at stream position @off (@len long, 0: unknown)
 * given known record @k? Same number: same start. Otherwise the records
 * between the two must fill the bytes between them exactly, which also
 * keeps either start out of the other record.
 */
static bool tls_rec_agrees(const struct tls_rec_info *k, uint64_t num,
			   int64_t off, uint32_t len)
{
	if (k->rec_num == num)
		return k->rec_off == off &&
		       (!len || !k->rec_len || len == k->rec_len);
	if (k->rec_num < num) {
		if (k->rec_len)
			return tls_rec_gap_fits(num - k->rec_num - 1,
						off - (k->rec_off + k->rec_len));
		return tls_rec_gap_fits(num - k->rec_num, off - k->rec_off);
	}
	if (len)
		return tls_rec_gap_fits(k->rec_num - num - 1,
					k->rec_off - (off + len));
	return tls_rec_gap_fits(k->rec_num - num, k->rec_off - off);
}

bool tls_rec_hist_agrees(const struct tls_rec_stream *s, uint64_t num,
			 int64_t off, uint32_t len)
{
	/* The context's first record is known from CTX_CREATE. */
	const struct tls_rec_info first = {
		.used = true, .rec_num = s->rec_seq0, .rec_off = 0,
	};
	const struct tls_rec_info *prev;
	unsigned int i;

	/*
	 * The next record in order: nothing after it is known and it starts
	 * where its known predecessor ends. Every remembered record agrees
	 * with that one, so with this one too (the gaps add up).
	 */
	prev = &s->hist[(num - 1) % TLS_REC_HISTORY];
	if (s->hist_any && num == s->hist_top + 1 && prev->used &&
	    prev->rec_num == num - 1 && prev->rec_len &&
	    prev->rec_off + prev->rec_len == off)
		return true;

	if (!tls_rec_agrees(&first, num, off, len))
		return false;
	for (i = 0; i < TLS_REC_HISTORY; i++)
		if (s->hist[i].used &&
		    !tls_rec_agrees(&s->hist[i], num, off, len))
			return false;
	return true;
}

int tls_rec_from_create(const struct tlsnic_ctx_create *cc, unsigned int dir,
			enum tls_rec_cipher *cipher, size_t *key_len,
			uint64_t *rec_seq, uint32_t *tcp_seq)
{
	if (cc->dir != dir || cc->tls_version != TLSNIC_TLS_1_2)
		return -EOPNOTSUPP;
	switch (cc->cipher) {
	case TLSNIC_CIPHER_AES_GCM_128:
		*cipher = TLS_REC_AES_GCM_128;
		*key_len = 16;
		break;
	case TLSNIC_CIPHER_AES_GCM_256:
		*cipher = TLS_REC_AES_GCM_256;
		*key_len = 32;
		break;
	default:
		return -EOPNOTSUPP;
	}
	*rec_seq = get_be64(cc->rec_seq);
	*tcp_seq = le32toh(cc->tcp_seq);
	return 0;
}

void tls_rec_hist_note(struct tls_rec_stream *s, uint64_t num, int64_t off,
		       uint32_t len)
{
	struct tls_rec_info *ri = &s->hist[num % TLS_REC_HISTORY];

	if (!s->hist_any || num > s->hist_top) {
		s->hist_any = true;
		s->hist_top = num;
	}
	if (ri->used && ri->rec_num > num)
		return;
	if (ri->used && ri->rec_num == num) {
		/* Checked to agree: only the length can be new. */
		if (len)
			ri->rec_len = len;
		return;
	}
	ri->used = true;
	ri->rec_num = num;
	ri->rec_off = off;
	ri->rec_len = len;
}

uint32_t tls_rec_hist_len(const struct tls_rec_stream *s, uint64_t rec_num,
			  uint32_t rec_start)
{
	const struct tls_rec_info *ri = &s->hist[rec_num % TLS_REC_HISTORY];

	if (ri->used && ri->rec_num == rec_num &&
	    ri->rec_off == tls_rec_stream_off(s, rec_start))
		return ri->rec_len;
	return 0;
}

/* ---- cursor ----------------------------------------------------------- */

/* Explicit nonce of record @rec_num: kTLS advances it with the number. */
static void tls_rec_tx_nonce(const struct tls_rec_stream *s, uint64_t rec_num,
			     uint8_t *nonce)
{
	put_be64(nonce, get_be64(s->iv0) + (rec_num - s->rec_seq0));
}

void tls_rec_cursor_place(const struct tls_rec_stream *s,
			  struct tls_rec_cursor *cur, uint32_t rec_start,
			  uint64_t rec_num, uint32_t off, bool full)
{
	cur->valid = true;
	cur->full = full;
	cur->num_known = true;
	cur->rec_start = rec_start;
	cur->rec_num = rec_num;
	cur->seq = rec_start + off;
	cur->rec_len = tls_rec_hist_len(s, rec_num, rec_start);
	cur->hdr_lo = (uint8_t)(off < TLS_REC_PREPEND_LEN ? off :
					       TLS_REC_PREPEND_LEN);
	if (s->dir == TLS_REC_ENCRYPT)
		tls_rec_tx_nonce(s, rec_num, cur->nonce);
}

static int tls_rec_next_record(const struct tls_rec_stream *s,
			       struct tls_rec_cursor *cur)
{
	bool known = cur->num_known;

	if (cur->rec_num == UINT64_MAX)
		return -ERANGE;
	/*
	 * A record that begins in the stream is seen whole: GHASH is known,
	 * if its number (so its AAD) is.
	 */
	tls_rec_cursor_place(s, cur, cur->rec_start + cur->rec_len,
			     cur->rec_num + 1, 0, known);
	if (!known) {
		cur->num_known = false;
		cur->rec_len = 0;
	}
	return 0;
}

/* TX: the payload is done, compute the tag. */
static int tls_rec_gcm_tag(struct tls_rec_cursor *cur)
{
	uint8_t dummy[TLS_REC_BLOCK];
	int outl;

	if (EVP_EncryptFinal_ex(evp(cur->gcm), dummy, &outl) != 1 || outl != 0)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(evp(cur->gcm), EVP_CTRL_GCM_GET_TAG,
				TLS_REC_TAG_LEN, cur->tag) != 1)
		return -EIO;
	return 0;
}

/*
 * RX: the whole tag arrived. OpenSSL's GCM finish compares it with the
 * computed one in constant time (CRYPTO_memcmp); a decrypting context
 * never hands out the computed tag.
 */
static void tls_rec_gcm_verify(struct tls_rec_stream *s,
			       struct tls_rec_cursor *cur)
{
	uint8_t dummy[TLS_REC_BLOCK];
	int outl;

	if (EVP_CIPHER_CTX_ctrl(evp(cur->gcm), EVP_CTRL_GCM_SET_TAG,
				TLS_REC_TAG_LEN, cur->tag) == 1 &&
	    EVP_DecryptFinal_ex(evp(cur->gcm), dummy, &outl) == 1) {
		s->tags_ok++;
		tls_rec_hist_note(s, cur->rec_num,
				  tls_rec_stream_off(s, cur->rec_start),
				  cur->rec_len);
	} else {
		s->tags_bad++;
	}
}

/* Header and nonce are complete: start GCM for this record. */
static int tls_rec_gcm_start(const struct tls_rec_stream *s,
			     struct tls_rec_cursor *cur)
{
	uint32_t plain_len = cur->rec_len - TLS_REC_PREPEND_LEN -
			     TLS_REC_TAG_LEN;
	uint8_t iv[TLS_REC_GCM_IV_LEN];
	uint8_t aad[TLS_REC_AAD_LEN];
	int outl, ret = 0;

	memcpy(iv, s->salt, TLS_REC_SALT_LEN);
	memcpy(iv + TLS_REC_SALT_LEN, cur->nonce, TLS_REC_NONCE_LEN);
	put_be64(aad, cur->rec_num);
	memcpy(aad + 8, cur->hdr, 3);		/* type, version */
	aad[11] = (uint8_t)(plain_len >> 8);
	aad[12] = (uint8_t)plain_len;

	if (EVP_CipherInit_ex(evp(cur->gcm), NULL, NULL, NULL, iv, -1) != 1 ||
	    EVP_CipherUpdate(evp(cur->gcm), NULL, &outl, aad,
			     sizeof(aad)) != 1)
		ret = -EIO;
	else if (!plain_len && s->dir == TLS_REC_ENCRYPT)
		ret = tls_rec_gcm_tag(cur);
	OPENSSL_cleanse(iv, sizeof(iv));
	return ret;
}

/*
 * Record header bytes [off, off + n) pass through unchanged; check them and
 * learn the record length (and on RX the nonce). A header seen only in part
 * (TX sparse resync) is checked for the part that is there.
 */
static int tls_rec_header(struct tls_rec_stream *s, struct tls_rec_cursor *cur,
			  uint32_t off, const uint8_t *in, size_t n, bool undo)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint32_t o = off + (uint32_t)i;
		uint8_t b = in[i];

		cur->hdr[o] = b;
		switch (o) {
		case 0:
			/* Any content type: the kernel sends what it is asked. */
			break;
		case 1:
			if (b != TLS_REC_VERSION_MAJOR)
				return -EBADMSG;
			break;
		case 2:
			if (b != TLS_REC_VERSION_MINOR)
				return -EBADMSG;
			break;
		case 3:
			break;
		case 4:
			if (cur->hdr_lo <= 3) {
				uint32_t clen = (cur->hdr[3] << 8) | b;

				if (clen < TLS_REC_NONCE_LEN + TLS_REC_TAG_LEN ||
				    clen > TLS_REC_MAX_CIPHERTEXT)
					return -EBADMSG;
				if (cur->rec_len &&
				    cur->rec_len != TLS_REC_HDR_LEN + clen)
					return -EBADMSG;
				cur->rec_len = TLS_REC_HDR_LEN + clen;
			}
			break;
		default:
			/* A TLS 1.2 peer may use any nonce; kTLS TX counts. */
			if (s->dir == TLS_REC_DECRYPT)
				cur->nonce[o - TLS_REC_HDR_LEN] = b;
			else if (b != cur->nonce[o - TLS_REC_HDR_LEN])
				return -EBADMSG;
			break;
		}
	}
	if (off + n < TLS_REC_PREPEND_LEN || undo)
		return 0;
	/*
	 * Only a header that passed every check is remembered, and only if
	 * its length agrees with the records known after it.
	 */
	if (cur->hdr_lo <= 3 && cur->num_known) {
		int64_t rec_off = tls_rec_stream_off(s, cur->rec_start);

		if (!tls_rec_hist_agrees(s, cur->rec_num, rec_off,
					 cur->rec_len))
			return -EILSEQ;
		/* RX headers come off the network: remembered once verified. */
		if (s->dir == TLS_REC_ENCRYPT)
			tls_rec_hist_note(s, cur->rec_num, rec_off,
					  cur->rec_len);
	}
	return cur->full ? tls_rec_gcm_start(s, cur) : 0;
}

/* Keystream-only en/decryption of payload bytes [pos, pos + n). */
static int tls_rec_ctr(struct tls_rec_stream *s,
		       const struct tls_rec_cursor *cur, uint32_t pos,
		       const uint8_t *in, uint8_t *out, size_t n)
{
	static const uint8_t zero[TLS_REC_BLOCK];
	uint8_t ctr[TLS_REC_BLOCK], skip[TLS_REC_BLOCK];
	EVP_CIPHER_CTX *c = evp(s->ctr);
	int outl, ret = 0;

	memcpy(ctr, s->salt, TLS_REC_SALT_LEN);
	memcpy(ctr + TLS_REC_SALT_LEN, cur->nonce, TLS_REC_NONCE_LEN);
	put_be32(ctr + TLS_REC_GCM_IV_LEN, TLS_REC_CTR_FIRST + pos / TLS_REC_BLOCK);

	if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, ctr) != 1)
		ret = -EIO;
	else if (pos % TLS_REC_BLOCK &&
		 EVP_EncryptUpdate(c, skip, &outl, zero,
				   pos % TLS_REC_BLOCK) != 1)
		ret = -EIO;
	else if (EVP_EncryptUpdate(c, out, &outl, in, (int)n) != 1 ||
		 (size_t)outl != n)
		ret = -EIO;
	OPENSSL_cleanse(skip, sizeof(skip));
	return ret;
}

/* Payload bytes [off, off + n) of the record, @off from the header. */
static int tls_rec_payload(struct tls_rec_stream *s, struct tls_rec_cursor *cur,
			   uint32_t off, uint32_t pay_end, const uint8_t *in,
			   uint8_t *out, size_t n, bool undo)
{
	int outl;

	if (cur->full && !undo) {
		if (s->dir == TLS_REC_ENCRYPT) {
			if (EVP_EncryptUpdate(evp(cur->gcm), out, &outl, in,
					      (int)n) != 1 || (size_t)outl != n)
				return -EIO;
			return off + n == pay_end ? tls_rec_gcm_tag(cur) : 0;
		}
		if (EVP_DecryptUpdate(evp(cur->gcm), out, &outl, in,
				      (int)n) != 1 || (size_t)outl != n)
			return -EIO;
		return 0;
	}
	/* TX sparse resync, or RX giving back what it decrypted. */
	if (cur->full || s->dir == TLS_REC_ENCRYPT)
		return tls_rec_ctr(s, cur, off - TLS_REC_PREPEND_LEN, in, out, n);
	/* RX without the record's start: follow it, leave it alone. */
	if (out != in)
		memcpy(out, in, n);
	return 0;
}

/* Tag bytes [tag_off, tag_off + n). */
static int tls_rec_tag(struct tls_rec_stream *s, struct tls_rec_cursor *cur,
		       uint32_t tag_off, const uint8_t *in, uint8_t *out,
		       size_t n, bool undo)
{
	if (s->dir == TLS_REC_ENCRYPT) {
		if (!cur->full)
			return -ENODATA;
		memcpy(out, cur->tag + tag_off, n);
		return 0;
	}
	if (cur->full && !undo) {
		memcpy(cur->tag + tag_off, in, n);
		if (tag_off + n == TLS_REC_TAG_LEN)
			tls_rec_gcm_verify(s, cur);
	}
	if (out != in)
		memcpy(out, in, n);
	return 0;
}

int tls_rec_feed(struct tls_rec_stream *s, struct tls_rec_cursor *cur,
		 const uint8_t *in, uint8_t *out, size_t len, bool undo)
{
	int ret;

	while (len) {
		uint32_t off = cur->seq - cur->rec_start;
		uint32_t pay_end;
		size_t n;

		if (cur->rec_len && off > cur->rec_len)
			return -EINVAL;
		if (cur->rec_len && off == cur->rec_len) {
			ret = tls_rec_next_record(s, cur);
			if (ret)
				return ret;
			continue;
		}

		pay_end = (cur->rec_len ? cur->rec_len : TLS_REC_MAX_REC_LEN) -
			  TLS_REC_TAG_LEN;
		if (off < TLS_REC_PREPEND_LEN) {
			n = min_sz(len, TLS_REC_PREPEND_LEN - off);
			ret = tls_rec_header(s, cur, off, in, n, undo);
			if (ret)
				return ret;
			if (out != in)
				memcpy(out, in, n);
		} else if (off < pay_end) {
			n = min_sz(len, pay_end - off);
			ret = tls_rec_payload(s, cur, off, pay_end, in, out, n,
					      undo);
			if (ret)
				return ret;
		} else {
			uint32_t tag_off = off - pay_end;

			/* Longer than any record it could lie in. */
			if (!cur->rec_len)
				return -EINVAL;
			n = min_sz(len, TLS_REC_TAG_LEN - tag_off);
			ret = tls_rec_tag(s, cur, tag_off, in, out, n, undo);
			if (ret)
				return ret;
		}
		in += n;
		out += n;
		len -= n;
		cur->seq += (uint32_t)n;
	}
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

static const EVP_CIPHER *tls_rec_evp_gcm(enum tls_rec_cipher c)
{
	switch (c) {
	case TLS_REC_AES_GCM_128:
		return EVP_aes_128_gcm();
	case TLS_REC_AES_GCM_256:
		return EVP_aes_256_gcm();
	}
	return NULL;
}

int tls_rec_cursor_init(const struct tls_rec_stream *s,
			struct tls_rec_cursor *cur, const uint8_t *key)
{
	EVP_CIPHER_CTX *c;

	memset(cur, 0, sizeof(*cur));
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	cur->gcm = (struct tls_rec_aead *)c;
	/* The key schedule is set once; each record only sets a new IV. */
	if (EVP_CipherInit_ex(c, tls_rec_evp_gcm(s->cipher), NULL, key, NULL,
			      s->dir == TLS_REC_ENCRYPT) != 1) {
		tls_rec_cursor_destroy(cur);
		return -EIO;
	}
	return 0;
}

void tls_rec_cursor_destroy(struct tls_rec_cursor *cur)
{
	/* EVP_CIPHER_CTX_free() wipes the key schedule it held. */
	EVP_CIPHER_CTX_free(evp(cur->gcm));
	OPENSSL_cleanse(cur, sizeof(*cur));
}

int tls_rec_stream_init(struct tls_rec_stream *s, enum tls_rec_dir dir,
			enum tls_rec_cipher cipher, const uint8_t *key,
			const uint8_t *salt, const uint8_t *iv0,
			uint64_t rec_seq0, uint32_t tcp_seq)
{
	const EVP_CIPHER *ctr;
	EVP_CIPHER_CTX *c;

	memset(s, 0, sizeof(*s));
	switch (cipher) {
	case TLS_REC_AES_GCM_128:
		ctr = EVP_aes_128_ctr();
		break;
	case TLS_REC_AES_GCM_256:
		ctr = EVP_aes_256_ctr();
		break;
	default:
		return -EINVAL;
	}
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	s->ctr = (struct tls_rec_aead *)c;
	if (EVP_EncryptInit_ex(c, ctr, NULL, key, NULL) != 1) {
		tls_rec_stream_destroy(s);
		return -ENOMEM;
	}
	s->dir = dir;
	s->cipher = cipher;
	memcpy(s->salt, salt, sizeof(s->salt));
	if (iv0)
		memcpy(s->iv0, iv0, sizeof(s->iv0));
	s->rec_seq0 = rec_seq0;
	s->start_seq = tcp_seq;
	s->ref_seq = tcp_seq;
	s->ref_off = 0;
	return 0;
}

void tls_rec_stream_destroy(struct tls_rec_stream *s)
{
	EVP_CIPHER_CTX_free(evp(s->ctr));
	OPENSSL_cleanse(s, sizeof(*s));
}
