/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A struct dsim_tx_out for tests: every frame the pipeline sends is copied
 * into its own exactly-sized heap buffer (so ASan catches overruns), and
 * allocation can be made to fail after a number of buffers.
 */
#ifndef WIRE_CAPTURE_H
#define WIRE_CAPTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "port.h"

#define CAPTURE_MAX	2048

struct wire_capture {
	unsigned int n;			/* frames sent */
	uint8_t *frames[CAPTURE_MAX];
	size_t lens[CAPTURE_MAX];
	unsigned int allocs;		/* buffers handed out */
	unsigned int alloc_limit;	/* 0: unlimited */
	uint8_t *pending;		/* last buffer handed out */
	unsigned int bad_sends;		/* sends of memory we did not hand out */
	const uint8_t *src;		/* TX buffer: in-place sends come from it */
	size_t src_len;
	struct dsim_tx_out out;
};

static inline uint8_t *capture_alloc(void *arg, size_t len)
{
	struct wire_capture *c = arg;

	if (c->alloc_limit && c->allocs == c->alloc_limit)
		return NULL;
	free(c->pending);
	c->pending = malloc(len);
	c->allocs++;
	return c->pending;
}

static inline void capture_send(void *arg, uint8_t *frame, size_t len)
{
	struct wire_capture *c = arg;
	int own = c->pending && frame == c->pending;
	int in_src = frame >= c->src && frame + len <= c->src + c->src_len;

	if ((!own && !in_src) || c->n == CAPTURE_MAX) {
		c->bad_sends++;
		return;
	}
	c->frames[c->n] = malloc(len ? len : 1);
	memcpy(c->frames[c->n], frame, len);
	c->lens[c->n++] = len;
	if (own) {
		free(c->pending);
		c->pending = NULL;
	}
}

static inline void capture_init(struct wire_capture *c, const uint8_t *src, size_t src_len)
{
	memset(c, 0, sizeof(*c));
	c->src = src;
	c->src_len = src_len;
	c->out.alloc = capture_alloc;
	c->out.send = capture_send;
	c->out.arg = c;
}

static inline void capture_free(struct wire_capture *c)
{
	unsigned int i;

	for (i = 0; i < c->n; i++)
		free(c->frames[i]);
	free(c->pending);
	c->n = 0;
	c->pending = NULL;
}

#endif /* WIRE_CAPTURE_H */
