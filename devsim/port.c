// SPDX-License-Identifier: GPL-2.0
/* tlsnic-devsim: port life cycle and the device-to-driver message queue. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "port.h"

int dsim_port_init(struct dsim_port *p, unsigned int id, uint32_t max_contexts)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	dsim_port_set_version(p, TLSNIC_ABI_VERSION_MIN);
	p->identified = false;
	return dsim_ctx_table_init(&p->ctxs, max_contexts);
}

void dsim_port_fini(struct dsim_port *p)
{
	dsim_port_reset(p);
	dsim_ctx_table_fini(&p->ctxs);
}

void dsim_port_set_version(struct dsim_port *p, uint8_t v)
{
	p->abi_version = v;
	p->msgq.version = v;
	p->identified = true;
}

void dsim_port_ctx_destroy(struct dsim_port *p, struct dsim_ctx *ctx)
{
	if (p->tls && p->tls->ctx_release)
		p->tls->ctx_release(p, ctx);
	dsim_ctx_free(&p->ctxs, ctx);
	p->cnt.ctx_active = dsim_ctx_active(&p->ctxs);
}

void dsim_port_reset(struct dsim_port *p)
{
	uint32_t i;

	for (i = 0; i < p->ctxs.max; i++) {
		if (!p->ctxs.slots[i].in_use)
			continue;
		dsim_port_ctx_destroy(p, &p->ctxs.slots[i]);
		p->cnt.ctx_wiped_on_reset++;
	}
	/* Replies to a driver that is gone must not reach its successor. */
	p->msgq.head = 0;
	p->msgq.tail = 0;
	/* The next driver negotiates afresh, and must identify first. */
	dsim_port_set_version(p, TLSNIC_ABI_VERSION_MIN);
	p->identified = false;
}

int dsim_msgq_push(struct dsim_msgq *q, uint8_t opcode, uint16_t status, uint32_t tag,
		   const void *body, uint32_t body_len)
{
	return dsim_msgq_push_at(q, opcode, status, tag, body, body_len, 0);
}

int dsim_msgq_push_at(struct dsim_msgq *q, uint8_t opcode, uint16_t status, uint32_t tag,
		      const void *body, uint32_t body_len, uint64_t due_ns)
{
	struct tlsnic_msg_hdr hdr;
	struct dsim_msg *m;

	if (body_len > DSIM_MSG_MAX - sizeof(hdr))
		return -EINVAL;
	if (!dsim_msgq_space(q))
		return -ENOSPC;
	m = &q->slots[q->tail % DSIM_MSGQ_LEN];
	hdr.magic = htole32(TLSNIC_ABI_MAGIC);
	/* IDENTIFY and HELLO are parsed before a version is agreed: version 1. */
	hdr.version = opcode == (TLSNIC_OP_IDENTIFY | TLSNIC_OP_REPLY) ||
		      opcode == TLSNIC_EV_HELLO || !q->version ?
		      TLSNIC_ABI_VERSION_MIN : q->version;
	hdr.opcode = opcode;
	hdr.status = htole16(status);
	hdr.tag = htole32(tag);
	hdr.len = htole32(body_len);
	memcpy(m->data, &hdr, sizeof(hdr));
	if (body_len)
		memcpy(m->data + sizeof(hdr), body, body_len);
	m->len = sizeof(hdr) + body_len;
	m->due_ns = due_ns;
	q->tail++;
	return 0;
}

int dsim_port_hello(struct dsim_port *p)
{
	struct tlsnic_hello hello = { .abi_version = htole32(TLSNIC_ABI_VERSION) };

	return dsim_port_post_event(p, TLSNIC_EV_HELLO, &hello, sizeof(hello));
}

int dsim_port_post_event(struct dsim_port *p, uint8_t opcode, const void *body,
			 uint32_t body_len)
{
	int ret = dsim_msgq_push(&p->msgq, opcode, TLSNIC_ST_OK, 0, body, body_len);

	if (ret)
		p->cnt.ev_dropped++;
	return ret;
}
