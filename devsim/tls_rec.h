/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic devsim: TLS 1.2 AES-GCM record cursor, shared by the TX engine
 * (tls_tx.h, encrypts) and the RX engine (tls_rx.h, decrypts).
 *
 * A TLS byte stream is a run of records
 *
 *   5-byte header | 8-byte explicit nonce | payload | 16-byte tag
 *
 * cut into TCP segments in any way. A cursor follows the record boundaries
 * through the stream one segment at a time: it checks and learns each
 * header (also when split across segments), runs the payload through
 * AES-GCM (GHASH state kept across segments) and handles the tag: TX
 * writes it, RX collects it and verifies it when its last byte arrives.
 *
 * A stream (struct tls_rec_stream) holds what is per context and per
 * direction: the salt, the first record (number and TCP seq), the 64-bit
 * stream position (32-bit TCP seq unwrapped against a reference point that
 * follows the stream forward) and the record history used to refuse resync
 * information that contradicts what was seen. The direction decides the
 * explicit nonce (TX: derived from the record number and checked; RX: read
 * from each header) and what a cursor does when it does not hold the
 * record's GHASH state (TX: encrypt from the keystream, tag impossible;
 * RX: leave the bytes alone and only follow the records).
 *
 * Pure C; the crypto library stays behind this interface (OpenSSL 3 EVP in
 * tls_rec.c). Single-threaded per stream; no allocation on the data path.
 */
#ifndef TLSNIC_DEVSIM_TLS_REC_H
#define TLSNIC_DEVSIM_TLS_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_REC_HDR_LEN		5	/* type, version, length */
#define TLS_REC_NONCE_LEN	8	/* explicit nonce */
#define TLS_REC_PREPEND_LEN	(TLS_REC_HDR_LEN + TLS_REC_NONCE_LEN)
#define TLS_REC_TAG_LEN		16
#define TLS_REC_SALT_LEN	4
#define TLS_REC_MAX_KEY_LEN	32
/* TLSCiphertext.length limit of RFC 5246, 2^14 + 2048. */
#define TLS_REC_MAX_CIPHERTEXT	(16384 + 2048)
#define TLS_REC_MAX_REC_LEN	(TLS_REC_HDR_LEN + TLS_REC_MAX_CIPHERTEXT)
/* An empty record: header, nonce and tag. */
#define TLS_REC_MIN_REC_LEN	(TLS_REC_PREPEND_LEN + TLS_REC_TAG_LEN)
/* Records remembered for validating resync info. */
#define TLS_REC_HISTORY		64
#define TLS_REC_VERSION_MAJOR	3
#define TLS_REC_VERSION_MINOR	3	/* TLS 1.2 */

enum tls_rec_cipher {
	TLS_REC_AES_GCM_128,
	TLS_REC_AES_GCM_256,
};

enum tls_rec_dir {
	TLS_REC_ENCRYPT,	/* TX */
	TLS_REC_DECRYPT,	/* RX */
};

/* The crypto library's cipher context; opaque outside tls_rec.c. */
struct tls_rec_aead;

/*
 * Position in the record stream. In the header only so that engines can
 * embed it; only tls_rec.c and the engines touch the fields.
 */
struct tls_rec_cursor {
	bool valid;		/* position known */
	bool full;		/* gcm holds the record's GHASH up to seq */
	bool num_known;		/* rec_num is the record's real number */
	uint8_t hdr_lo;		/* first header offset held in hdr[] */
	uint32_t seq;		/* TCP seq of the next byte */
	uint32_t rec_start;	/* TCP seq of the current record's header */
	uint32_t rec_len;	/* header to tag inclusive; 0: not known yet */
	uint64_t rec_num;
	uint8_t hdr[TLS_REC_PREPEND_LEN];
	uint8_t nonce[TLS_REC_NONCE_LEN];
	/* TX: computed once the payload is done; RX: received bytes */
	uint8_t tag[TLS_REC_TAG_LEN];
	struct tls_rec_aead *gcm;
};

/* One remembered record. */
struct tls_rec_info {
	bool used;
	uint64_t rec_num;
	int64_t rec_off;	/* stream position of its header */
	uint32_t rec_len;	/* 0: header not seen (start from resync) */
};

struct tls_rec_stream {
	enum tls_rec_dir dir;
	enum tls_rec_cipher cipher;
	uint8_t salt[TLS_REC_SALT_LEN];
	uint8_t iv0[TLS_REC_NONCE_LEN];	/* TX: explicit nonce, 1st record */
	uint64_t rec_seq0;		/* number of the first record */
	uint32_t start_seq;		/* TCP seq of its header */
	/*
	 * 64-bit stream position: TCP seq ref_seq is ref_off bytes after
	 * start_seq. It follows the stream forward, so any seq within 2^31
	 * of it unwraps to the right 64-bit offset however long the
	 * connection has run.
	 */
	uint32_t ref_seq;
	uint64_t ref_off;
	struct tls_rec_aead *ctr;	/* AES-CTR: keystream by position */
	struct tls_rec_info hist[TLS_REC_HISTORY];
	bool hist_any;
	uint64_t hist_top;	/* highest record number ever remembered */
	/* RX: tags verified and failed, counted by tls_rec_feed() */
	uint64_t tags_ok;
	uint64_t tags_bad;
};

/*
 * Set up @s (allocates the keystream context; the key is not kept, only
 * OpenSSL's key schedule holds it). @iv0 is used by TX only and may be
 * NULL for RX. Returns 0, -EINVAL (unknown cipher) or -ENOMEM.
 */
int tls_rec_stream_init(struct tls_rec_stream *s, enum tls_rec_dir dir,
			enum tls_rec_cipher cipher, const uint8_t *key,
			const uint8_t *salt, const uint8_t *iv0,
			uint64_t rec_seq0, uint32_t tcp_seq);

/* Free what the stream allocated and wipe it. */
void tls_rec_stream_destroy(struct tls_rec_stream *s);

struct tlsnic_ctx_create;

/*
 * What a CTX_CREATE body says that both directions use: the cipher, its
 * key length, the first record's number and TCP seq. -EOPNOTSUPP unless it
 * is for direction @dir (enum tlsnic_dir), TLS 1.2 and AES-GCM-128/256.
 */
int tls_rec_from_create(const struct tlsnic_ctx_create *cc, unsigned int dir,
			enum tls_rec_cipher *cipher, size_t *key_len,
			uint64_t *rec_seq, uint32_t *tcp_seq);

/* Give @cur its own GCM context with @key (-ENOMEM, -EIO). */
int tls_rec_cursor_init(const struct tls_rec_stream *s,
			struct tls_rec_cursor *cur, const uint8_t *key);

/* Free the cursor's GCM context and wipe the cursor. */
void tls_rec_cursor_destroy(struct tls_rec_cursor *cur);

/* 64-bit stream offset of @seq from the first record (negative: before). */
static inline int64_t tls_rec_stream_off(const struct tls_rec_stream *s,
					 uint32_t seq)
{
	return (int64_t)s->ref_off + (int32_t)(seq - s->ref_seq);
}

/* The stream reached @seq (at most 2^31 ahead): move the reference along. */
static inline void tls_rec_ref_follow(struct tls_rec_stream *s, uint32_t seq)
{
	int64_t off = tls_rec_stream_off(s, seq);

	if (off > (int64_t)s->ref_off) {
		s->ref_off = (uint64_t)off;
		s->ref_seq = seq;
	}
}

/*
 * Does "record @num starts at stream position @off, @len long (0:
 * unknown)" agree with the first record and the remembered ones? The same
 * number must have the same start, and the records between it and any
 * known record must fill the bytes between them (TLS_REC_MIN_REC_LEN to
 * TLS_REC_MAX_REC_LEN each).
 */
bool tls_rec_hist_agrees(const struct tls_rec_stream *s, uint64_t num,
			 int64_t off, uint32_t len);

/* Remember record @num at @off; an older record never evicts a newer one. */
void tls_rec_hist_note(struct tls_rec_stream *s, uint64_t num, int64_t off,
		       uint32_t len);

/* Length of record @rec_num if remembered as starting at @rec_start. */
uint32_t tls_rec_hist_len(const struct tls_rec_stream *s, uint64_t rec_num,
			  uint32_t rec_start);

/*
 * Put @cur at byte @off of record @rec_num that starts at TCP seq
 * @rec_start. @full: the cursor will see the record from its header, so
 * it can run GCM (TX also needs @off == 0 then). The record number is
 * known; RX clears num_known afterwards to follow records of unknown
 * number.
 */
void tls_rec_cursor_place(const struct tls_rec_stream *s,
			  struct tls_rec_cursor *cur, uint32_t rec_start,
			  uint64_t rec_num, uint32_t off, bool full);

/*
 * Run @len stream bytes through @cur, from @in to @out (may be equal):
 * header bytes are checked and copied, payload and tag as described at
 * the top. With @undo (RX only) the bytes a run with the same cursor
 * decrypted are encrypted back from the keystream, everything else passes
 * unchanged: how RX gives a segment back exactly as it came.
 *
 * A failing RX tag is not an error: it is counted in s->tags_bad and the
 * cursor goes on with the next record. On error cur->seq is the start of
 * the piece that failed; the bytes before it were processed.
 *
 * Errors: -EBADMSG invalid header (version, length, TX nonce), -EILSEQ a
 * header contradicts the record history, -ENODATA (TX) a tag to write
 * without the GHASH state, -EINVAL beyond the end of any record it could
 * be in, -ERANGE record number would wrap, -EIO crypto library failure.
 */
int tls_rec_feed(struct tls_rec_stream *s, struct tls_rec_cursor *cur,
		 const uint8_t *in, uint8_t *out, size_t len, bool undo);

#endif /* TLSNIC_DEVSIM_TLS_REC_H */
