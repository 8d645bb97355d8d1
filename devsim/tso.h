/* SPDX-License-Identifier: GPL-2.0 */
/* tlsnic-devsim: TCP segmentation offload. */
#ifndef DSIM_TSO_H
#define DSIM_TSO_H

#include <stdint.h>
#include <sys/uio.h>

#include "frame.h"
#include "port.h"

/*
 * Splits the TCP payload of a parsed IPv4/IPv6 TCP frame into segments of
 * mss bytes (the last may be shorter) and sends each through out: headers
 * copied, IPv4 total length/id/header checksum or IPv6 payload length,
 * TCP sequence and flags fixed, full TCP checksum computed per segment.
 * The caller has validated fi (TCP, not a fragment), mss and the sizes.
 * Returns the number of segments sent; when out->alloc fails the remaining
 * segments are dropped and counted in drop_no_mbuf.
 */
int dsim_tso_segment(struct dsim_port *p, const uint8_t *frame,
		     const struct dsim_frame_info *fi, uint16_t mss,
		     const struct dsim_tx_out *out);

/*
 * The same with the payload in pieces (a chained TX buffer, encrypted in
 * place): pay holds at least fi's payload length, in order; the headers
 * are frame's. Each segment is gathered from the pieces.
 */
int dsim_tso_segment_iov(struct dsim_port *p, const uint8_t *frame,
			 const struct dsim_frame_info *fi, uint16_t mss,
			 const struct iovec *pay, unsigned int pay_cnt,
			 const struct dsim_tx_out *out);

/*
 * Computes and stores the full TCP or UDP checksum of a parsed frame
 * (pseudo-header included), ignoring what the checksum field held.
 */
void dsim_l4_csum_fill(uint8_t *frame, const struct dsim_frame_info *fi);

/* Recomputes the IPv4 header checksum. */
void dsim_ipv4_csum_fill(uint8_t *frame, const struct dsim_frame_info *fi);

#endif /* DSIM_TSO_H */
