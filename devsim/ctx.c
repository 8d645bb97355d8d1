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

#define FLOW_NONE	UINT32_MAX

static size_t flow_alen(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

/* FNV-1a over the flow's bytes, then a final mix for the low bits. */
static uint32_t flow_hash(uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
			  uint16_t sport, uint16_t dport)
{
	const uint8_t ports[4] = { sport >> 8, sport & 0xff, dport >> 8, dport & 0xff };
	size_t alen = flow_alen(family), i;
	uint32_t h = 2166136261u ^ family;

	for (i = 0; i < alen; i++)
		h = (h ^ saddr[i]) * 16777619u;
	for (i = 0; i < alen; i++)
		h = (h ^ daddr[i]) * 16777619u;
	for (i = 0; i < sizeof(ports); i++)
		h = (h ^ ports[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x7feb352du;
	return h ^ (h >> 15);
}

static bool flow_equal(const struct dsim_ctx *c, const struct dsim_flow *f)
{
	size_t alen = flow_alen(f->family);

	return c->family == f->family && c->sport == f->sport && c->dport == f->dport &&
	       !memcmp(c->saddr, f->saddr, alen) && !memcmp(c->daddr, f->daddr, alen);
}

static uint32_t *flow_bucket(struct dsim_ctx_table *t, const struct dsim_ctx *c)
{
	return &t->flow_buckets[flow_hash(c->family, c->saddr, c->daddr, c->sport,
					  c->dport) & t->flow_mask];
}

static void flow_del(struct dsim_ctx_table *t, struct dsim_ctx *ctx)
{
	uint32_t *link = flow_bucket(t, ctx), idx = ctx_index(t, ctx);

	while (*link != FLOW_NONE) {
		if (*link == idx) {
			*link = ctx->flow_next;
			ctx->flow_hashed = false;
			t->nr_flows--;
			return;
		}
		link = &t->slots[*link].flow_next;
	}
}

int dsim_ctx_flow_add(struct dsim_ctx_table *t, struct dsim_ctx *ctx)
{
	struct dsim_flow f;
	uint32_t *b;

	f.family = ctx->family;
	memcpy(f.saddr, ctx->saddr, sizeof(f.saddr));
	memcpy(f.daddr, ctx->daddr, sizeof(f.daddr));
	f.sport = ctx->sport;
	f.dport = ctx->dport;
	if (dsim_ctx_flow_find(t, &f))
		return -EEXIST;
	b = flow_bucket(t, ctx);
	ctx->flow_next = *b;
	ctx->flow_hashed = true;
	*b = ctx_index(t, ctx);
	t->nr_flows++;
	return 0;
}

struct dsim_ctx *dsim_ctx_flow_find(struct dsim_ctx_table *t, const struct dsim_flow *f)
{
	uint32_t i;

	if (!t->nr_flows || (f->family != 4 && f->family != 6))
		return NULL;
	i = t->flow_buckets[flow_hash(f->family, f->saddr, f->daddr, f->sport, f->dport) &
			    t->flow_mask];
	while (i != FLOW_NONE) {
		struct dsim_ctx *c = &t->slots[i];

		if (flow_equal(c, f))
			return c;
		i = c->flow_next;
	}
	return NULL;
}

int dsim_ctx_table_init(struct dsim_ctx_table *t, uint32_t max)
{
	uint32_t i, nb = 1;

	memset(t, 0, sizeof(*t));
	if (max > DSIM_MAX_CONTEXTS_LIMIT)
		return -EINVAL;
	while (nb < max)
		nb <<= 1;
	/* calloc(0) may return NULL: keep one slot so pointers are valid. */
	t->slots = calloc(max ? max : 1, sizeof(*t->slots));
	t->free_ring = calloc(max ? max : 1, sizeof(*t->free_ring));
	t->flow_buckets = malloc(nb * sizeof(*t->flow_buckets));
	if (!t->slots || !t->free_ring || !t->flow_buckets) {
		free(t->slots);
		free(t->free_ring);
		free(t->flow_buckets);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	for (i = 0; i < nb; i++)
		t->flow_buckets[i] = FLOW_NONE;
	t->flow_mask = nb - 1;
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
	free(t->flow_buckets);
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

	if (ctx->flow_hashed)
		flow_del(t, ctx);
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
