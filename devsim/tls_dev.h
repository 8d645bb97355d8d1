/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic devsim: the TLS TX engine (tls_tx.h) plugged into a port.
 *
 * tls_dev_tx_ops is a struct dsim_tls_ops: set p->tls = &tls_dev_tx_ops
 * after dsim_port_init() to advertise TLSNIC_CAP_TLS_TX. tls_dev_ops adds
 * the RX engine (tls_rx_dev.h: TLSNIC_CAP_TLS_RX and RX_RESYNC_REQ, to a
 * v2 driver), tls_dev_rx_ops is RX alone. The TX part keeps one
 * struct tls_tx_ctx per TX context in dsim_ctx.engine, refuses RX contexts
 * when RX is not plugged in or the driver speaks v1 and, for each frame
 * flagged TLSNIC_TX_F_TLS, checks that the frame is TCP on the context's
 * flow and encrypts its payload in place. Every refusal is counted.
 *
 * A frame the engine refuses leaves the context's stream where it was; the
 * device reports it with a TLSNIC_EV_TX_DROP event so that the driver sends
 * the context's next frame with resync info instead of waiting for TCP to
 * retransmit. One event per context until a frame with resync info for it
 * arrives (a storm of drops is one event), and never into the last
 * TLS_DEV_EV_RESERVE slots of the message queue, which stay for command
 * replies; an event that finds no room is counted and the next drop of the
 * context tries again.
 */
#ifndef TLSNIC_DEVSIM_TLS_DEV_H
#define TLSNIC_DEVSIM_TLS_DEV_H

#include <stdint.h>
#include <stdio.h>

#include "port.h"

/* Names follow mlx5's kTLS counters where the meaning is the same. */
#define TLS_DEV_COUNTERS(C)						\
	C(tx_tls_encrypted_packets)	/* frames through the engine */	\
	C(tx_tls_encrypted_bytes)	/* their TCP payload bytes */	\
	C(tx_tls_ooo)			/* resync info was used */	\
	C(tx_tls_resync_preserved)	/* retransmission, state kept */ \
	C(tx_tls_resync_rebased)	/* state moved to the frame */	\
	C(tx_tls_dump_packets)		/* dump fed to GHASH */		\
	C(tx_tls_dump_bytes)						\
	C(tx_tls_skip_no_sync_data)	/* before 1st record: as is */	\
	C(tx_tls_drop_bad_handle)	/* unknown, stale or RX ctx */	\
	C(tx_tls_drop_not_tcp)						\
	C(tx_tls_flow_mismatch)	/* encrypted; tuple not CTX_CREATE's */	\
	C(tx_tls_drop_no_sync_data)	/* out of sync, no usable info */ \
	C(tx_tls_drop_dump_len)		/* dump is not record start..frame */ \
	C(tx_tls_drop_bad_record)	/* invalid record header */	\
	C(tx_tls_drop_resync_info)	/* impossible resync info */	\
	C(tx_tls_drop_resync_conflict)	/* contradicts record history */ \
	C(tx_tls_drop_error)		/* crypto library failure */	\
	C(tx_tls_drop_injected)		/* --tls-tx-fail: dropped, in order */ \
	C(tx_tls_drop_ev)		/* TX_DROP events queued */	\
	C(tx_tls_drop_ev_coalesced)	/* drop with an event outstanding */ \
	C(tx_tls_drop_ev_lost)		/* no room for the event: not sent */ \
	C(tls_ctx_tx_init)						\
	C(tls_ctx_rx_refused)						\
	C(tls_ctx_init_failed)

struct tls_dev_counters {
#define TLS_DEV_COUNTER_FIELD(name) uint64_t name;
	TLS_DEV_COUNTERS(TLS_DEV_COUNTER_FIELD)
#undef TLS_DEV_COUNTER_FIELD
};

/* Message queue slots TX_DROP events leave to command replies. */
#define TLS_DEV_EV_RESERVE	(DSIM_MSGQ_LEN / 4)

/* Ports with TLS counters; port ids at or above are refused contexts. */
#define TLS_DEV_MAX_PORTS	16

extern const struct dsim_tls_ops tls_dev_tx_ops;	/* TX only */
extern const struct dsim_tls_ops tls_dev_ops;		/* TX and RX */
extern const struct dsim_tls_ops tls_dev_rx_ops;	/* RX only */

/* The TLS counters of port @port, or NULL if out of range. */
const struct tls_dev_counters *tls_dev_counters(unsigned int port);

/* Prints "port<N>.<name> <value>" lines like dsim_counters_print(). */
int tls_dev_counters_print(FILE *f, unsigned int port);

/* Zeroes a port's TLS counters (a new port, or tests). */
void tls_dev_counters_reset(unsigned int port);

/*
 * Fault injection (--tls-tx-fail): drop @pct percent (0..100) of the TLS
 * frames that arrive in order (no resync info, at the context's stream
 * position), as a device that failed them would, leaving the stream state
 * untouched. Decisions come from a splitmix64 stream per port seeded from
 * @seed, one draw per in-order frame, so the n-th in-order TLS frame of a
 * port meets the same fate for the same seed. Returns -EINVAL for a bad
 * @pct. Call before traffic (and between tests).
 */
int tls_dev_set_tx_fail(double pct, uint64_t seed);

#endif /* TLSNIC_DEVSIM_TLS_DEV_H */
