/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-devsim: per-port counters.
 *
 * One X-macro list gives the field names, the printed names and their order,
 * so a counter cannot be added to the struct and forgotten in the output.
 * All counters of a port are written by the data-path thread only.
 */
#ifndef DSIM_COUNTERS_H
#define DSIM_COUNTERS_H

#include <stdint.h>
#include <stdio.h>

#define DSIM_COUNTERS(C)						\
	/* Frames put on the wire by this port (after segmentation). */	\
	C(tx_packets)							\
	C(tx_bytes)							\
	C(tx_csum)		/* L4 checksum filled (non-TSO) */	\
	C(tx_tso_frames)	/* TSO requests from the guest */	\
	C(tx_tso_segments)	/* segments they produced */		\
	C(tx_linearized)	/* chained TX buffers copied flat */	\
	/* Guest TX buffers refused, one counter per reason. */		\
	C(drop_meta_short)	/* shorter than tlsnic_tx_meta */	\
	C(drop_meta_flags)	/* unknown or inconsistent flags */	\
	C(drop_meta_reserved)	/* reserved field not zero */		\
	C(drop_meta_dump)	/* bad dump_len */			\
	C(drop_meta_csum)	/* csum_start/csum_offset invalid */	\
	C(drop_meta_gso)	/* gso_type/mss invalid for the frame */ \
	C(drop_meta_handle)	/* ctx_handle set without TLS */	\
	C(drop_frame_len)	/* runt or over-long frame */		\
	C(drop_bad_frame)	/* offload asked, headers unusable */	\
	C(drop_tls_unsupported)	/* TLS asked, no TLS engine */		\
	C(drop_no_mbuf)		/* device buffer pool exhausted */	\
	C(drop_no_peer)		/* wire peer not connected */		\
	C(drop_chained)		/* chained buffer too long to flatten */ \
	/* Frames received from the wire and delivered to the guest. */	\
	C(rx_packets)							\
	C(rx_bytes)							\
	C(rx_csum_ok)							\
	C(rx_csum_bad)							\
	C(rx_csum_none)							\
	C(rx_no_buffer)		/* guest RX ring and device buffer full */ \
	C(rx_backlogged)	/* frames that waited for guest buffers */ \
	C(rx_flushed)		/* waiting frames lost when the guest left */ \
	C(tx_paused)		/* TX polls held back: peer congested */ \
	C(tx_pool_empty)	/* TX polls held back: port's mbufs used up */ \
	/* The wire from this port to its peer (wire.h), faults and capture. */ \
	C(wire_lost)							\
	C(wire_reordered)	/* held back and overtaken */		\
	C(wire_duplicated)						\
	C(wire_dup_failed)	/* no device buffer for the copy */	\
	C(wire_corrupted)						\
	C(wire_tls_corrupted)	/* TLS records changed (--tls-corrupt) */ \
	C(wire_captured)	/* frames written to the --pcap file */	\
	C(wire_capture_errors)	/* frames lost to capture write errors */ \
	C(wire_config_changes)	/* --wire-control versions applied */	\
	C(wire_control_errors)	/* --wire-control versions refused */	\
	/* Command channel. */						\
	C(cmd_rx)		/* messages taken from the guest */	\
	C(cmd_bad)		/* unusable header: ignored */		\
	C(cmd_err)		/* answered with a non-OK status */	\
	C(cmd_identify)							\
	C(cmd_ctx_create)						\
	C(cmd_ctx_destroy)						\
	C(cmd_rx_resync)						\
	C(cmd_replies)		/* replies delivered to the guest */	\
	C(cmd_no_buffer)	/* reply lost: no device buffer */	\
	C(cmd_delayed)		/* replies held back (--cmd-delay-ms) */ \
	C(cmd_stalls)		/* times replies were withheld (stall file) */ \
	C(ev_sent)		/* events delivered to the guest */	\
	C(ev_dropped)		/* events lost: queue full */		\
	C(ctx_created)							\
	C(ctx_destroyed)						\
	C(ctx_no_space)							\
	C(ctx_active)		/* gauge */				\
	C(ctx_wiped_on_reset)	/* contexts freed by a device reset */	\
	/* TLS receive (v2, tls_rx_dev.c): frames of flows with an RX context. */ \
	C(rx_tls_ctx_created)						\
	C(rx_tls_ctx_destroyed)						\
	C(rx_tls_ctx_active)	/* gauge */				\
	C(rx_tls_decrypted_packets)	/* delivered TLS_DECRYPTED */	\
	C(rx_tls_decrypted_bytes)	/* their TCP payload bytes */	\
	C(rx_tls_records_ok)	/* record tags verified */		\
	C(rx_tls_auth_fail)	/* record tags that failed */		\
	C(rx_tls_bad_record)	/* invalid header in sequence: sync lost */ \
	C(rx_tls_ooo)		/* frames not where the stream stood */	\
	C(rx_tls_restored)	/* frames given back as they came */	\
	C(rx_tls_csum_bad)	/* bad checksum: delivered, engine untouched */ \
	C(rx_tls_resync_req)	/* frames with TLS_RESYNC_REQ */	\
	C(rx_tls_resync_ok)	/* RX_RESYNC answered OK */		\
	C(rx_tls_resync_stale)	/* RX_RESYNC answered STALE */		\
	C(rx_tls_resync_refused)	/* RX_RESYNC answered REFUSED */	\
	/* vhost-user connection life cycle. */				\
	C(dev_started)							\
	C(dev_stopped)

struct dsim_counters {
#define DSIM_COUNTER_FIELD(name) uint64_t name;
	DSIM_COUNTERS(DSIM_COUNTER_FIELD)
#undef DSIM_COUNTER_FIELD
};

/* Number of counters, and the name of counter i (NULL past the end). */
unsigned int dsim_counters_num(void);
const char *dsim_counter_name(unsigned int i);
uint64_t dsim_counter_value(const struct dsim_counters *c, unsigned int i);

/* Prints "port<N>.<name> <value>" lines; returns a negative value on error. */
int dsim_counters_print(FILE *f, unsigned int port, const struct dsim_counters *c);

#endif /* DSIM_COUNTERS_H */
