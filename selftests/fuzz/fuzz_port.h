/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A devsim port for the fuzz targets, set up as tlsnic-devsim sets one up:
 * the TLS TX engine plugged in and, when asked, the harness's two TX
 * contexts created through the command channel (handles 0 and 1 on a
 * fresh port). Every input starts from a fresh port, so a crash reproduces
 * from its input alone.
 */
#ifndef DSIM_FUZZ_PORT_H
#define DSIM_FUZZ_PORT_H

#include "cmd.h"
#include "fuzz_common.h"
#include "port.h"
#include "tls_dev.h"

#define FZ_MAX_CONTEXTS	8

static inline void fz_drain(struct dsim_port *p)
{
	while (dsim_msgq_count(&p->msgq))
		dsim_msgq_pop(&p->msgq);
}

/* Creates one harness context; returns its handle. */
static inline uint32_t fz_ctx_create(struct dsim_port *p, bool v6)
{
	uint8_t msg[DSIM_CMD_MAX_LEN];
	struct tlsnic_ctx_create c;
	struct tlsnic_msg_hdr h;
	struct tlsnic_ctx_ref ref;
	const struct dsim_msg *m;
	size_t len;

	fz_ctx_create_body(&c, v6);
	len = fz_cmd_msg(msg, TLSNIC_OP_CTX_CREATE, 7, &c, sizeof(c));
	FZ_CHECK(dsim_msgq_space(&p->msgq), "no room for the reply");
	FZ_CHECK(dsim_cmd_process(p, msg, len) == 0, "CTX_CREATE not answered");
	m = &p->msgq.slots[(p->msgq.tail - 1) % DSIM_MSGQ_LEN];
	memcpy(&h, m->data, sizeof(h));
	FZ_CHECK(h.status == 0 && m->len == sizeof(h) + sizeof(ref),
		 "harness CTX_CREATE refused: status %u", le16toh(h.status));
	memcpy(&ref, m->data + sizeof(h), sizeof(ref));
	return le32toh(ref.handle);
}

static inline void fz_port_setup(struct dsim_port *p, bool with_contexts)
{
	FZ_CHECK(dsim_port_init(p, 0, FZ_MAX_CONTEXTS) == 0, "port init");
	dsim_port_set_version(p, TLSNIC_ABI_VERSION_MIN);	/* identified, v1 */
	p->tls = &tls_dev_tx_ops;
	tls_dev_counters_reset(p->id);
	if (with_contexts) {
		FZ_CHECK(fz_ctx_create(p, false) == 0, "first handle not 0");
		FZ_CHECK(fz_ctx_create(p, true) == 1, "second handle not 1");
		fz_drain(p);
	}
}

#endif /* DSIM_FUZZ_PORT_H */
