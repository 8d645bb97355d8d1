/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-devsim: the per-port TLS context table.
 *
 * Contexts live in a fixed array allocated when the port is created; the
 * data path never allocates. A handle is the slot index plus the slot's
 * generation (uapi/tlsnic.h), bumped every time the slot is freed, so a
 * handle that outlived its context no longer resolves. Free slots are
 * reused oldest first (a FIFO), so a slot comes back only after every other
 * free slot did: a handle repeats after 2^12 uses of its slot, that is
 * after about 2^12 times the table size connections, not 2^12.
 *
 * RX contexts are also found by flow (family, addresses, ports as received)
 * through a chained hash over the same slots: buckets sized with the table,
 * the chain links in the slots, so adding and finding allocate nothing.
 */
#ifndef DSIM_CTX_H
#define DSIM_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "tlsnic.h"

#define DSIM_MAX_CONTEXTS_DEFAULT	1024
/* Bounded so a table is at most a few tens of MB; far below 1 << 20. */
#define DSIM_MAX_CONTEXTS_LIMIT		65536
#define DSIM_HANDLE_GEN_BITS		(32 - TLSNIC_HANDLE_INDEX_BITS)
#define DSIM_HANDLE_GEN_MASK		((1U << DSIM_HANDLE_GEN_BITS) - 1)

struct dsim_ctx {
	bool in_use;
	uint8_t dir;		/* enum tlsnic_dir */
	uint8_t tls_version;	/* enum tlsnic_tls_version */
	uint8_t cipher;		/* enum tlsnic_cipher */
	uint8_t family;		/* 4 or 6 */
	uint8_t key_len;	/* 16 or 32 */
	uint16_t gen;		/* generation of this slot, in the handle */
	uint32_t handle;
	/* Raw key and salt: for dsim_tls_ops.ctx_init only, wiped after it. */
	uint8_t key[32];
	uint8_t salt[4];
	uint8_t iv[8];
	uint64_t rec_seq;	/* number of the record starting at tcp_seq */
	uint32_t tcp_seq;	/* TCP sequence of that record's header */
	/* Flow as seen on the wire in this direction, network byte order. */
	uint8_t saddr[16];	/* IPv4 in the first 4 bytes, rest zero */
	uint8_t daddr[16];
	uint16_t sport;		/* host order */
	uint16_t dport;
	/* In the flow hash (RX contexts with an engine); next in the chain. */
	bool flow_hashed;
	uint32_t flow_next;
	/* A TX_DROP event went out; none until a frame with resync info. */
	bool tx_drop_reported;
	/* State owned by the TLS engine (dsim_tls_ops), NULL otherwise. */
	void *engine;
};

struct dsim_ctx_table {
	struct dsim_ctx *slots;
	uint32_t *free_ring;	/* indices of free slots, oldest first */
	uint32_t free_head;	/* ring position of the oldest free slot */
	uint32_t nr_free;
	uint32_t max;
	uint32_t *flow_buckets;	/* first slot index of each chain, or NONE */
	uint32_t flow_mask;	/* buckets - 1 (a power of two) */
	uint32_t nr_flows;	/* contexts in the flow hash */
};

/* A received frame's flow: addresses in network order, as in dsim_ctx. */
struct dsim_flow {
	uint8_t family;		/* 4 or 6 */
	uint8_t saddr[16];	/* IPv4 in the first 4 bytes, rest zero */
	uint8_t daddr[16];
	uint16_t sport;		/* host order */
	uint16_t dport;
};

/* Returns 0 or -ENOMEM / -EINVAL (max above DSIM_MAX_CONTEXTS_LIMIT). */
int dsim_ctx_table_init(struct dsim_ctx_table *t, uint32_t max);
/* Wipes and frees everything. */
void dsim_ctx_table_fini(struct dsim_ctx_table *t);

/*
 * Takes the free slot freed longest ago (zeroed but for its generation), or
 * NULL when full.
 */
struct dsim_ctx *dsim_ctx_alloc(struct dsim_ctx_table *t);
/* Wipes the slot (key included), bumps its generation, frees it. */
void dsim_ctx_free(struct dsim_ctx_table *t, struct dsim_ctx *ctx);
/* The context the handle names, or NULL if unknown or stale. */
struct dsim_ctx *dsim_ctx_lookup(struct dsim_ctx_table *t, uint32_t handle);

/*
 * Adds ctx to the flow hash under its own flow (family, saddr, daddr,
 * sport, dport). Returns 0, or -EEXIST when another context has that flow.
 * dsim_ctx_free() takes it out again.
 */
int dsim_ctx_flow_add(struct dsim_ctx_table *t, struct dsim_ctx *ctx);
/* The hashed context of a flow, or NULL. No allocation: data path. */
struct dsim_ctx *dsim_ctx_flow_find(struct dsim_ctx_table *t, const struct dsim_flow *f);

static inline uint32_t dsim_ctx_active(const struct dsim_ctx_table *t)
{
	return t->max - t->nr_free;
}

#endif /* DSIM_CTX_H */
