/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic devsim: the TLS RX engine (tls_rx.h) plugged into a port (ABI v2).
 *
 * An RX context (CTX_CREATE, dir RX, on a port that negotiated v2) gets a
 * struct tls_rx_ctx in dsim_ctx.engine and a place in the port's flow hash
 * (ctx.h), keyed by the flow as received: source = the peer. A second
 * context for a flow is refused (EXISTS). For every received TCP frame of
 * such a flow the glue:
 *
 *   - puts the context's handle in the RX metadata;
 *   - delivers a frame whose IP or TCP checksum failed as it came, without
 *     CSUM_OK, and does not show it to the engine (rx_tls_csum_bad): it
 *     never reached the socket, TCP resends it;
 *   - runs the engine on the TCP payload; a decrypted frame gets its TCP
 *     checksum rewritten over the plaintext and CSUM_OK | TLS_DECRYPTED; a
 *     resync candidate becomes TLS_RESYNC_REQ with resync_seq (the header's
 *     first byte) and resync_id.
 *
 * RX_RESYNC is taken only for the request the engine has open, same id
 * and same sequence (STALE otherwise); the engine refuses a record number
 * that contradicts what it verified (REFUSED). docs/tls-rx-offload.md,
 * "Device glue", has the details; counters are the rx_tls_* ones of
 * counters.h. Everything runs on the data-path thread.
 */
#ifndef TLSNIC_DEVSIM_TLS_RX_DEV_H
#define TLSNIC_DEVSIM_TLS_RX_DEV_H

#include <stdint.h>

#include "port.h"

/* dsim_tls_ops pieces for RX contexts (tls_dev.c combines them with TX). */
int tls_rx_dev_ctx_init(struct dsim_port *p, struct dsim_ctx *ctx);
void tls_rx_dev_ctx_release(struct dsim_port *p, struct dsim_ctx *ctx);
void tls_rx_dev_rx(struct dsim_port *p, uint8_t *frame, uint32_t len,
		   const struct dsim_frame_info *fi, struct tlsnic_rx_meta *meta);
uint16_t tls_rx_dev_resync(struct dsim_port *p, struct dsim_ctx *ctx,
			   uint32_t tcp_seq, uint64_t rec_seq, uint32_t resync_id);

#endif /* TLSNIC_DEVSIM_TLS_RX_DEV_H */
