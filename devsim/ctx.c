// SPDX-License-Identifier: GPL-2.0
/* tlsnic-devsim: the per-port TLS context table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

/* The compiler may not drop this even though the memory is not read again. */
static void ctx_wipe(struct dsim_ctx *ctx)
{
	explicit_bzero(ctx, sizeof(*ctx));
}

static uint32_t ctx_index(const struct dsim_ctx_table *t, const struct dsim_ctx *ctx)
{
	return (uint32_t)(ctx - t->slots);
}

int dsim_ctx_table_init(struct dsim_ctx_table *t, uint32_t max)
{
	uint32_t i;

	memset(t, 0, sizeof(*t));
	if (max > DSIM_MAX_CONTEXTS_LIMIT)
		return -EINVAL;
	/* calloc(0) may return NULL: keep one slot so pointers are valid. */
	t->slots = calloc(max ? max : 1, sizeof(*t->slots));
	t->free_ring = calloc(max ? max : 1, sizeof(*t->free_ring));
	if (!t->slots || !t->free_ring) {
		free(t->slots);
		free(t->free_ring);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	t->max = max;
	/* Slot 0 is handed out first. */
	for (i = 0; i < max; i++)
		t->free_ring[i] = i;
	t->free_head = 0;
	t->nr_free = max;
	return 0;
}

void dsim_ctx_table_fini(struct dsim_ctx_table *t)
{
	uint32_t i;

	if (!t->slots)
		return;
	for (i = 0; i < t->max; i++)
		ctx_wipe(&t->slots[i]);
	free(t->slots);
	free(t->free_ring);
	memset(t, 0, sizeof(*t));
}

struct dsim_ctx *dsim_ctx_alloc(struct dsim_ctx_table *t)
{
	struct dsim_ctx *ctx;
	uint32_t idx;

	if (!t->nr_free)
		return NULL;
	idx = t->free_ring[t->free_head];
	t->free_head = (t->free_head + 1) % t->max;
	t->nr_free--;
	ctx = &t->slots[idx];
	ctx->in_use = true;
	ctx->handle = idx | (uint32_t)ctx->gen << TLSNIC_HANDLE_INDEX_BITS;
	return ctx;
}

void dsim_ctx_free(struct dsim_ctx_table *t, struct dsim_ctx *ctx)
{
	uint16_t gen = (ctx->gen + 1) & DSIM_HANDLE_GEN_MASK;

	ctx_wipe(ctx);
	ctx->gen = gen;
	/* At the tail: every other free slot is reused before this one. */
	t->free_ring[(t->free_head + t->nr_free) % t->max] = ctx_index(t, ctx);
	t->nr_free++;
}

struct dsim_ctx *dsim_ctx_lookup(struct dsim_ctx_table *t, uint32_t handle)
{
	uint32_t idx = handle & TLSNIC_HANDLE_INDEX_MASK;
	struct dsim_ctx *ctx;

	if (idx >= t->max)
		return NULL;
	ctx = &t->slots[idx];
	if (!ctx->in_use || ctx->handle != handle)
		return NULL;
	return ctx;
}
