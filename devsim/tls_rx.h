/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic devsim: TLS 1.2 AES-GCM receive record engine.
 *
 * Per RX context the engine is given the TCP payload of each received
 * segment of the flow, in arrival order, with its TCP sequence number. In
 * sequence it decrypts the records in place across segments (the record
 * cursor of tls_rec.h: explicit nonce read from each header, AAD =
 * seq_num || type || version || plaintext length, GHASH over the
 * ciphertext, tag compared in constant time) and says per segment what the
 * frame's RX metadata would say. docs/tls-rx-offload.md has the design,
 * the state machine and the counters.
 *
 * "Decrypted" (struct tls_rx_result.decrypted) means every byte of the
 * segment was processed from the start of its record: payload bytes are
 * plaintext, header and tag bytes unchanged, and every tag that ends in
 * the segment verified. Earlier segments of a record are marked before its
 * tag is seen. Any other segment is left exactly as it came: bytes the
 * engine decrypted in it before it knew (a tag that failed, an invalid
 * header, a record that begins mid-segment after a resync) are encrypted
 * back from the AES-CTR keystream, which is addressable by position.
 *
 * Out of sequence (a gap, or new bytes overlapping seen ones) the engine
 * stops marking and searches the following segments for a plausible
 * record header (type 20..24, version 3.3, length 24..16384 + 256, and the
 * records after it in the same segment plausible too). It reports the
 * first as a resync candidate and follows records from it without
 * touching them until the driver confirms its record number with
 * tls_rx_confirm() (what the kernel's tls_dev_resync gives); decryption
 * resumes at the next record that begins after the confirmation. A
 * segment entirely before the expected position (a duplicate, a
 * retransmission, bytes before the context's start) is left alone and does
 * not disturb the state.
 *
 * Sequence numbers here are those of the record header's first byte; the
 * kernel's resync API uses the header's last byte (+ TLS_HEADER_SIZE - 1):
 * the device glue converts.
 *
 * Single-threaded per context; no allocation on the data path. The payload
 * is one contiguous buffer.
 */
#ifndef TLSNIC_DEVSIM_TLS_RX_H
#define TLSNIC_DEVSIM_TLS_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_rec.h"

/* Resync search: the plausible header lengths (TLSCiphertext.length). */
#define TLS_RX_SEARCH_MIN_LEN	(TLS_REC_NONCE_LEN + TLS_REC_TAG_LEN)
#define TLS_RX_SEARCH_MAX_LEN	(16384 + 256)
/* Records followed unconfirmed before the candidate is asked for again. */
#define TLS_RX_RETRY_RECORDS	32
/* Largest segment accepted (bounds seq arithmetic). */
#define TLS_RX_MAX_SEG		(1U << 20)

/* Key material and stream position the kernel gives at context creation. */
struct tls_rx_params {
	enum tls_rec_cipher cipher;
	uint8_t key[TLS_REC_MAX_KEY_LEN];	/* 16 or 32 bytes used */
	uint8_t salt[TLS_REC_SALT_LEN];		/* implicit nonce */
	uint64_t rec_seq;		/* number of the record at tcp_seq */
	uint32_t tcp_seq;		/* TCP seq of a record header */
};

enum tls_rx_state {
	TLS_RX_SYNC,	/* record number known: decrypting (or resuming) */
	TLS_RX_SEARCH,	/* position lost: looking for a header */
	TLS_RX_TRACK,	/* following a candidate, waiting for confirmation */
};

/* struct tls_rx_result.flags */
#define TLS_RX_R_OOO		(1U << 0)	/* not at the expected seq */
#define TLS_RX_R_OLD		(1U << 1)	/* entirely before it: ignored */
#define TLS_RX_R_AUTH_FAIL	(1U << 2)	/* a tag in it did not verify */
#define TLS_RX_R_BAD_RECORD	(1U << 3)	/* invalid header: sync lost */
#define TLS_RX_R_RESTORED	(1U << 4)	/* decrypted bytes given back */

/* What the segment's RX metadata would say. */
struct tls_rx_result {
	bool decrypted;
	bool resync_req;	/* a resync candidate header starts in it */
	uint32_t resync_seq;	/* TCP seq of the candidate's first byte */
	uint32_t resync_id;	/* new for each request, never 0 */
	uint64_t resync_pos;	/* its 64-bit stream position */
	unsigned int flags;	/* TLS_RX_R_* */
};

struct tls_rx_stats {
	uint64_t decrypted_packets;	/* segments marked decrypted */
	uint64_t decrypted_bytes;	/* their payload bytes */
	uint64_t records_ok;		/* tags verified */
	uint64_t auth_fail;		/* tags that did not verify */
	uint64_t bad_record;		/* invalid header in sequence */
	uint64_t ooo;			/* segments not at the expected seq */
	uint64_t old;			/* of those, entirely before it */
	uint64_t restored;		/* segments given back as they came */
	uint64_t resync_req;		/* candidates reported */
	uint64_t resync_confirmed;
	uint64_t resync_refused;	/* stale or contradicting confirms */
	uint64_t track_lost;		/* candidates dropped unconfirmed */
};

struct tls_rx_ctx {
	bool live;
	enum tls_rx_state state;
	struct tls_rec_stream st;
	/*
	 * SYNC: at the next expected byte (full: decrypting). TRACK: records
	 * counted from 0 at the candidate (num_known false).
	 */
	struct tls_rec_cursor cur;
	uint32_t cand_seq;	/* TRACK: the candidate header */
	uint32_t resync_id;	/* id of the last request reported (0: none) */
	uint32_t cand_len;	/* its record length */
	/* SEARCH: last bytes searched, for a header split across segments */
	uint8_t carry[TLS_REC_HDR_LEN - 1];
	uint8_t carry_len;
	uint32_t carry_end;	/* TCP seq just after them */
	struct tls_rx_stats stats;
};

struct tlsnic_ctx_create;

/* Control path: set up @ctx (allocates). Returns 0, -EINVAL or -ENOMEM. */
int tls_rx_init(struct tls_rx_ctx *ctx, const struct tls_rx_params *p);

/* Same from a CTX_CREATE body (TLSNIC_DIR_RX, TLS 1.2, AES-GCM-128/256). */
int tls_rx_init_from_create(struct tls_rx_ctx *ctx,
			    const struct tlsnic_ctx_create *cc);

/* Free and wipe all key material and state. */
void tls_rx_destroy(struct tls_rx_ctx *ctx);

/*
 * Data path: one received segment's TCP payload, decrypted in place when
 * @res->decrypted says so, otherwise left as it came. Returns 0, or
 * -EINVAL (bad arguments) / -EIO (crypto library failure; the segment is
 * left as it came and the position is lost).
 */
int tls_rx_process(struct tls_rx_ctx *ctx, uint32_t tcp_seq,
		   uint8_t *payload, size_t len, struct tls_rx_result *res);

/*
 * The driver confirms that the record whose header starts at @hdr_seq has
 * number @rec_num. Refused (counted) with -ESTALE if it is not the current
 * candidate, -EILSEQ if it contradicts the context's first record or the
 * records seen, -ERANGE if a record number would wrap.
 */
int tls_rx_confirm(struct tls_rx_ctx *ctx, uint32_t hdr_seq, uint64_t rec_num);

#endif /* TLSNIC_DEVSIM_TLS_RX_H */
