/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-devsim: one device port, as the pure engine sees it.
 *
 * Everything here is plain C on byte buffers: the DPDK glue (vhost.c) owns a
 * struct dsim_port per vhost-user socket and feeds it guest buffers, wire
 * frames and commands. All of it runs on the data-path thread.
 */
#ifndef DSIM_PORT_H
#define DSIM_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "counters.h"
#include "ctx.h"
#include "frame.h"
#include "tlsnic.h"

#define DSIM_FW_VERSION		"devsim-0.1"

/* Largest IP packet the wire carries without segmentation. */
#define DSIM_MAX_MTU		9216
#define DSIM_MAX_VLAN_TAGS	2
#define DSIM_MAX_FRAME		(DSIM_ETH_HLEN + DSIM_MAX_VLAN_TAGS * DSIM_VLAN_HLEN + DSIM_MAX_MTU)
/* Largest TSO frame: an IPv6 header plus a 64 KiB payload length. */
#define DSIM_MAX_TSO_FRAME	(DSIM_ETH_HLEN + DSIM_MAX_VLAN_TAGS * DSIM_VLAN_HLEN + \
				 DSIM_IPV6_HLEN + 65535)
/* Smaller segments are refused: the driver segments those in software. */
#define DSIM_MIN_MSS		TLSNIC_TSO_MIN_MSS
/* Record bytes before the frame (TLS resync): a full TLS 1.2 record. */
#define DSIM_MAX_DUMP_LEN	(5 + 16384 + 2048)
/* Largest guest TX buffer after the virtio-net header. */
#define DSIM_MAX_TX_BUF		(sizeof(struct tlsnic_tx_meta) + DSIM_MAX_DUMP_LEN + \
				 DSIM_MAX_TSO_FRAME)

/* Device-to-driver messages (replies and events) wait here for RX buffers. */
#define DSIM_MSG_MAX		128
#define DSIM_MSGQ_LEN		256	/* power of two */

struct dsim_msg {
	uint32_t len;
	uint64_t due_ns;	/* not sent before this time (--cmd-delay-ms) */
	uint8_t data[DSIM_MSG_MAX];
};

struct dsim_msgq {
	uint32_t head;		/* next to send */
	uint32_t tail;		/* next free */
	/*
	 * ABI version in the header of the messages queued from now on (the
	 * port's negotiated one); IDENTIFY replies always carry version 1.
	 */
	uint8_t version;
	struct dsim_msg slots[DSIM_MSGQ_LEN];
};

struct dsim_port;
struct dsim_tx_req;

/*
 * The TLS engine plugs in here (devsim/tls_*.c). With no engine, TLS is not
 * advertised and a frame asking for encryption is dropped, never sent in
 * plaintext.
 */
struct dsim_tls_ops {
	/* TLSNIC_CAP_TLS_TX, _TX_DROP_EVENT, _TLS_RX, _RX_RESYNC_REQ */
	uint32_t caps;
	/*
	 * After CTX_CREATE was validated; non-zero refuses it: -EEXIST with
	 * EXISTS (an RX context for the flow exists), else UNSUPPORTED.
	 */
	int (*ctx_init)(struct dsim_port *p, struct dsim_ctx *ctx);
	/* Before the slot is wiped: release ctx->engine. */
	void (*ctx_release)(struct dsim_port *p, struct dsim_ctx *ctx);
	/* Encrypts the frame in place before checksum/TSO; < 0 drops it. */
	int (*tx)(struct dsim_port *p, const struct dsim_tx_req *req,
		  uint8_t *frame, uint32_t len, const struct dsim_frame_info *fi);
	/*
	 * The same for a frame whose headers are in frame and whose TCP
	 * payload is in pieces (a chained buffer): pay holds exactly fi's
	 * payload. Optional: without it such frames are linearised first.
	 */
	int (*tx_sg)(struct dsim_port *p, const struct dsim_tx_req *req,
		     const uint8_t *frame, const struct dsim_frame_info *fi,
		     const struct iovec *pay, unsigned int pay_cnt);
	/*
	 * Decrypts a received TCP frame (headers parsed, checksums verified:
	 * meta holds CSUM_OK or not) in place and updates meta.
	 */
	void (*rx)(struct dsim_port *p, uint8_t *frame, uint32_t len,
		   const struct dsim_frame_info *fi, struct tlsnic_rx_meta *meta);
	/*
	 * v2 RX_RESYNC for RX context ctx: returns the completion status
	 * (OK, STALE, REFUSED, BAD_HANDLE).
	 */
	uint16_t (*rx_resync)(struct dsim_port *p, struct dsim_ctx *ctx,
			      uint32_t tcp_seq, uint64_t rec_seq,
			      uint32_t resync_id);
};

struct dsim_port {
	unsigned int id;
	struct dsim_counters cnt;
	struct dsim_ctx_table ctxs;
	const struct dsim_tls_ops *tls;
	/* ABI version IDENTIFY negotiated; 1 until then and after a reset. */
	uint8_t abi_version;
	/* An IDENTIFY was answered since start or reset: commands allowed. */
	bool identified;
	struct dsim_msgq msgq;
	/* Command channel faults (cmd.h): set by the glue. */
	uint64_t cmd_delay_ns;	/* context command replies wait this long */
	bool cmd_stalled;	/* take no commands, send no messages */
	uint64_t cmd_now_ns;	/* clock of the command being processed */
};

/* Where the TX pipeline puts the frames it sends on the wire. */
struct dsim_tx_out {
	/* A buffer for a frame of len bytes the pipeline builds, or NULL. */
	uint8_t *(*alloc)(void *arg, size_t len);
	/*
	 * Puts a frame on the wire: either a buffer from alloc() or a range
	 * of the TX buffer given to dsim_tx_process() (sent in place).
	 */
	void (*send)(void *arg, uint8_t *frame, size_t len);
	void *arg;
};

int dsim_port_init(struct dsim_port *p, unsigned int id, uint32_t max_contexts);
void dsim_port_fini(struct dsim_port *p);
/* Device reset (guest gone): destroys every context, drops queued messages. */
void dsim_port_reset(struct dsim_port *p);
/* Speaks ABI version v from now on (IDENTIFY). */
void dsim_port_set_version(struct dsim_port *p, uint8_t v);
/* Destroys one context, letting the TLS engine release its state first. */
void dsim_port_ctx_destroy(struct dsim_port *p, struct dsim_ctx *ctx);

/* Device-to-driver message queue. */
static inline uint32_t dsim_msgq_count(const struct dsim_msgq *q)
{
	return q->tail - q->head;
}

static inline uint32_t dsim_msgq_space(const struct dsim_msgq *q)
{
	return DSIM_MSGQ_LEN - dsim_msgq_count(q);
}

static inline const struct dsim_msg *dsim_msgq_peek(const struct dsim_msgq *q)
{
	return dsim_msgq_count(q) ? &q->slots[q->head % DSIM_MSGQ_LEN] : NULL;
}

static inline void dsim_msgq_pop(struct dsim_msgq *q)
{
	q->head++;
}

/*
 * Queues a message: header built here, body copied. Returns 0, or -ENOSPC
 * when the queue is full, -EINVAL when the body does not fit a slot.
 */
int dsim_msgq_push(struct dsim_msgq *q, uint8_t opcode, uint16_t status, uint32_t tag,
		   const void *body, uint32_t body_len);
/* The same, for a message that may not be sent before due_ns. */
int dsim_msgq_push_at(struct dsim_msgq *q, uint8_t opcode, uint16_t status, uint32_t tag,
		      const void *body, uint32_t body_len, uint64_t due_ns);

/* Queues an unsolicited event (tag 0), counting ev_dropped on failure. */
/*
 * Queues HELLO: the driver enabled the command queue pair and sends nothing
 * there until the device has announced itself.
 */
int dsim_port_hello(struct dsim_port *p);
int dsim_port_post_event(struct dsim_port *p, uint8_t opcode, const void *body,
			 uint32_t body_len);

#endif /* DSIM_PORT_H */
