/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic devsim: TLS 1.2 AES-GCM transmit record engine.
 *
 * This is the device's autonomous (packet-based) TLS TX offload, the part
 * that a ConnectX-style NIC implements in hardware. The kernel (tls_device)
 * hands the device records in "plaintext form":
 *
 *   5-byte header | 8-byte explicit nonce | plaintext | 16 bytes of tag space
 *
 * split over TCP segments in any way. The engine follows the record
 * boundaries through the byte stream, encrypts the plaintext in place with
 * AES-GCM and writes the tag into the tag space. Header and nonce are left
 * as they are.
 *
 * Record tracking, GCM and the record history are the direction-neutral
 * cursor of tls_rec.h; this file adds what is TX's own: the in-order and
 * scratch cursors, resync info from the driver and the pre-offload bypass.
 * Pure C: no DPDK types, so it is unit-tested byte for byte against
 * OpenSSL's own TLS records (selftests/devsim/test_tls_tx.c).
 *
 * Caller contract (devsim pipeline, per frame flagged TLSNIC_TX_F_TLS):
 *
 *   After validating the frame and looking up the context by handle, call
 *   tls_tx_process() (or tls_tx_process_iov() for a chained mbuf) once on
 *   the TCP payload of the whole frame, before TSO segmentation and before
 *   checksums, with the frame's TCP sequence number. If the metadata has
 *   TLSNIC_TX_F_TLS_RESYNC, pass a struct tls_tx_resync filled from
 *   rec_tcp_seq, rec_seq and the dump (dump_len bytes that precede the frame
 *   in the TX buffer); otherwise pass NULL. The payload must be writable.
 *
 *   A negative return means the payload could not be encrypted correctly;
 *   it may have been partly overwritten and MUST be dropped (and counted),
 *   never sent. A non-negative return is a mask of TLS_TX_R_* flags.
 *
 * Out-of-order data (retransmissions, data after a local drop):
 *
 *   The driver gives the TCP sequence number and record number of the
 *   record that contains the first payload byte. Bytes that are not tag
 *   bytes are encrypted straight from the AES-CTR keystream of GCM, which is
 *   addressable by position, so no earlier record bytes are needed ("sparse"
 *   resync). A frame that carries tag bytes of that first record needs the
 *   GHASH of the whole record, so it must come with the record bytes from
 *   the record header up to the frame (the dump, plaintext form). Records
 *   that begin inside the frame need nothing extra.
 *
 *   Without a dump the engine must know where the record's tag starts:
 *   from the record header if the frame holds it, else from the lengths of
 *   the last TLS_TX_HISTORY records it has seen whole. With neither, it
 *   trusts the driver's word that the frame holds no tag byte (no dump) and
 *   refuses only frames longer than any record.
 *
 *   The keystream depends only on the record number and the offset in the
 *   record, so a record number placed at two different starts (or two
 *   numbers at one start) would encrypt different bytes with the same
 *   keystream. Before resync info is used it is checked against the record
 *   history: the first record and the last TLS_TX_HISTORY records the
 *   engine has seen or used (number, start as a 64-bit stream position,
 *   length once its header was seen). The same number must have the same
 *   start; no known record may contain the claimed start; the known record
 *   just before it must end there; and the records between it and any known
 *   record must fit the bytes between them (TLS_TX_MIN_REC_LEN to
 *   TLS_TX_MAX_REC_LEN each). Every record header seen is checked the same
 *   way. Only a newer record number replaces a history entry.
 *
 *   A retransmission that ends at or before the in-order position is
 *   encrypted on a scratch state: the in-order stream state is preserved,
 *   so the next new frame needs no resync. A resynced frame that reaches
 *   past the in-order position (a gap, or a frame after a drop) becomes the
 *   new in-order state.
 *
 * Nonce rule: the explicit nonce of record n must be iv + (n - rec_seq)
 * (mod 2^64, big-endian), iv and rec_seq being those of the first record,
 * as kTLS and OpenSSL produce them. The engine checks it on every record
 * header it sees and derives it when the header is not in the frame.
 *
 * Errors (negative errno):
 *   -ENODATA   no sync data: frame not at the in-order position and no
 *              resync info, or tag bytes to write without the GHASH state
 *              (resync without dump, or the in-order state lost it)
 *   -EMSGSIZE  dump_len is not exactly the record bytes before the frame
 *   -EBADMSG   a record header is invalid (version, length, nonce)
 *   -EINVAL    bad arguments or impossible resync info (record after the
 *              frame, before the first record, frame longer than a record
 *              it is said to lie in)
 *   -EILSEQ    resync info, or a record header, contradicts the record
 *              history (see above): using it would reuse keystream
 *   -ERANGE    record number would wrap
 *   -EIO       OpenSSL failure
 * After an error on the in-order path the in-order state is marked lost;
 * the driver's next resync (it sees the dropped frame's retransmission as
 * out of order) re-establishes it.
 *
 * Single-threaded per context; no allocation on the data path.
 */
#ifndef TLSNIC_DEVSIM_TLS_TX_H
#define TLSNIC_DEVSIM_TLS_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tls_rec.h"

#define TLS_TX_HDR_LEN		TLS_REC_HDR_LEN
#define TLS_TX_NONCE_LEN	TLS_REC_NONCE_LEN
#define TLS_TX_PREPEND_LEN	TLS_REC_PREPEND_LEN
#define TLS_TX_TAG_LEN		TLS_REC_TAG_LEN
#define TLS_TX_SALT_LEN		TLS_REC_SALT_LEN
#define TLS_TX_MAX_KEY_LEN	TLS_REC_MAX_KEY_LEN
#define TLS_TX_MAX_CIPHERTEXT	TLS_REC_MAX_CIPHERTEXT
#define TLS_TX_MAX_REC_LEN	TLS_REC_MAX_REC_LEN
#define TLS_TX_MIN_REC_LEN	TLS_REC_MIN_REC_LEN
#define TLS_TX_HISTORY		TLS_REC_HISTORY
/* How far into the stream pre-offload bytes may still be retransmitted. */
#define TLS_TX_BYPASS_WINDOW	(1ULL << 30)

enum tls_tx_cipher {
	TLS_TX_AES_GCM_128 = TLS_REC_AES_GCM_128,
	TLS_TX_AES_GCM_256 = TLS_REC_AES_GCM_256,
};

/* Key material and stream position of the first offloaded record. */
struct tls_tx_params {
	enum tls_tx_cipher cipher;
	uint8_t key[TLS_TX_MAX_KEY_LEN];	/* 16 or 32 bytes used */
	uint8_t salt[TLS_TX_SALT_LEN];		/* implicit nonce */
	uint8_t iv[TLS_TX_NONCE_LEN];		/* explicit nonce, first record */
	uint64_t rec_seq;			/* number of the first record */
	uint32_t tcp_seq;			/* TCP seq of its header */
};

/* Resync info that comes with an out-of-order frame. */
struct tls_tx_resync {
	/* TCP seq of the header of the record holding the frame's 1st byte */
	uint32_t rec_tcp_seq;
	uint64_t rec_seq;	/* that record's number */
	const uint8_t *dump;	/* that record's bytes before the frame */
	size_t dump_len;	/* 0: no dump */
};

/* tls_tx_process() result flags. */
/*
 * Entirely before the first record: untouched, send as is. Only possible
 * while the stream is within TLS_TX_BYPASS_WINDOW of its start; later, a
 * frame that would unwrap before the start is refused (-EINVAL).
 */
#define TLS_TX_R_BYPASS		(1U << 0)
/* Resync info was used. */
#define TLS_TX_R_OOO		(1U << 1)
/* The dump was fed to GHASH (tag bytes in the frame). */
#define TLS_TX_R_DUMP		(1U << 2)
/* The in-order state now continues after this frame. */
#define TLS_TX_R_REBASED	(1U << 3)
/* A retransmission; the in-order state was left untouched. */
#define TLS_TX_R_PRESERVED	(1U << 4)

/* Engine state per TX context (see tls_rec.h for the cursor). */
struct tls_tx_ctx {
	bool live;
	struct tls_rec_stream st;
	struct tls_rec_cursor main;	/* in-order stream */
	struct tls_rec_cursor scratch;	/* retransmissions, resync */
};

struct tlsnic_ctx_create;

/*
 * Control path: set up @ctx (allocates the EVP contexts). The caller's copy
 * of the key is not kept (only OpenSSL's key schedules hold it); wipe it
 * after the call. Returns 0, -EINVAL (unknown cipher) or -ENOMEM.
 */
int tls_tx_init(struct tls_tx_ctx *ctx, const struct tls_tx_params *p);

/*
 * Same from a CTX_CREATE command body (dir must be TLSNIC_DIR_TX, TLS 1.2,
 * AES-GCM-128/256): -EOPNOTSUPP for anything else.
 */
int tls_tx_init_from_create(struct tls_tx_ctx *ctx,
			    const struct tlsnic_ctx_create *cc);

/* Free the EVP contexts and wipe all key material and state in @ctx. */
void tls_tx_destroy(struct tls_tx_ctx *ctx);

/* Data path, see the caller contract above. */
int tls_tx_process(struct tls_tx_ctx *ctx, uint32_t tcp_seq,
		   uint8_t *payload, size_t len,
		   const struct tls_tx_resync *rs);

int tls_tx_process_iov(struct tls_tx_ctx *ctx, uint32_t tcp_seq,
		       const struct iovec *iov, unsigned int iovcnt,
		       const struct tls_tx_resync *rs);

/* TCP seq of the next in-order byte, for debugging; false if lost. */
bool tls_tx_next_seq(const struct tls_tx_ctx *ctx, uint32_t *seq);

#endif /* TLSNIC_DEVSIM_TLS_TX_H */
