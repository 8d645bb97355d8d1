/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-devsim: the per-port data path on plain byte buffers.
 *
 * TX: guest buffer (tlsnic_tx_meta | dump | frame) -> validate -> TLS
 * (engine hook) -> TSO or checksum -> wire. RX: wire frame -> verify
 * checksums -> TLS (engine hook) -> tlsnic_rx_meta for the guest.
 */
#ifndef DSIM_PIPELINE_H
#define DSIM_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "port.h"

/* A validated tlsnic_tx_meta in host order, as the TLS engine sees it. */
struct dsim_tx_req {
	uint16_t flags;		/* TLSNIC_TX_F_* */
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t mss;
	uint8_t gso_type;	/* enum tlsnic_gso_type */
	uint16_t dump_len;
	uint32_t ctx_handle;
	uint32_t rec_tcp_seq;
	uint64_t rec_seq;
	const uint8_t *dump;	/* dump_len bytes, before the frame */
};

/*
 * Processes one guest TX buffer. Frames for the wire go to out (counted in
 * tx_packets/tx_bytes). Returns the number of frames sent, or a negative
 * errno when the buffer was dropped (counted per reason). The buffer is
 * modified (checksums, encryption) and may be sent in place.
 */
int dsim_tx_process(struct dsim_port *p, uint8_t *buf, size_t len,
		    const struct dsim_tx_out *out);

/*
 * The same for a buffer in pieces (a chained guest buffer): head holds its
 * first head_len bytes (metadata, dump and frame headers; writable), rest
 * the following ones, len bytes in all. A TSO frame whose headers are in
 * the head is encrypted in place in the pieces and segmented from them,
 * with no copy of the whole. Returns -EAGAIN, having counted nothing, for
 * a buffer that must be linearised and given to dsim_tx_process() instead.
 */
int dsim_tx_process_sg(struct dsim_port *p, uint8_t *head, size_t head_len,
		       const struct iovec *rest, unsigned int rest_cnt, size_t len,
		       const struct dsim_tx_out *out);

/*
 * Processes a frame arriving from the wire for the guest of port p: fills
 * meta (rx_csum_* counters). The frame may be modified in place (TLS
 * decryption). Every frame is delivered: a bad checksum is the guest's to
 * see, as on a real NIC.
 */
void dsim_rx_process(struct dsim_port *p, uint8_t *frame, size_t len,
		     struct tlsnic_rx_meta *meta);

/* Puts one frame on the wire through out, counting it. */
static inline void dsim_wire_send(struct dsim_port *p, const struct dsim_tx_out *out,
				  uint8_t *frame, size_t len)
{
	p->cnt.tx_packets++;
	p->cnt.tx_bytes += len;
	out->send(out->arg, frame, len);
}

#endif /* DSIM_PIPELINE_H */
