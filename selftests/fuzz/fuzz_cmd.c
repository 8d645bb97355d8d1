// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: devsim's command parser (devsim/cmd.c).
 *
 * Each chunk of the input (fuzz_common.h) is one driver-to-device message
 * on a port with the TLS TX and RX engines and two live TX contexts. Op
 * bits:
 *   0x01  drain the reply queue first (else it fills and ENOSPC is reached)
 *   0x02  make the header valid (magic, version, status, length) so the
 *         body parsers are reached, whatever the opcode and body; the
 *         version is 1 for IDENTIFY, else the one the port negotiated
 *   0x04  toggle the reply delay (--cmd-delay-ms)
 *
 * Checked after every message: exactly one reply, with the command's opcode
 * and tag, or none for exactly the messages the device must drop; error
 * replies carry no body; OK replies have the opcode's body; a created
 * context resolves, a destroyed one no longer does; the context counters
 * add up; replies carry the negotiated version (IDENTIFY's 1); RX contexts
 * have engine state and are exactly the flow hash's entries; no key or salt
 * bytes stay in the context table.
 */
#include "fuzz_port.h"

#define OP_DRAIN	0x01
#define OP_FIX_HDR	0x02
#define OP_DELAY	0x04

static struct dsim_port port;

static void check_table(const struct dsim_port *p)
{
	static const uint8_t zero[32];
	uint32_t i, rx = 0;

	FZ_CHECK(p->cnt.ctx_active == dsim_ctx_active(&p->ctxs), "ctx_active gauge");
	FZ_CHECK(p->cnt.ctx_created - p->cnt.ctx_destroyed == p->cnt.ctx_active,
		 "created %llu destroyed %llu active %llu",
		 (unsigned long long)p->cnt.ctx_created,
		 (unsigned long long)p->cnt.ctx_destroyed,
		 (unsigned long long)p->cnt.ctx_active);
	for (i = 0; i < p->ctxs.max; i++) {
		const struct dsim_ctx *c = &p->ctxs.slots[i];

		FZ_CHECK(!memcmp(c->key, zero, sizeof(c->key)) &&
			 !memcmp(c->salt, zero, sizeof(c->salt)), "key left in slot %u", i);
		FZ_CHECK(c->in_use || !c->engine, "free slot %u keeps engine state", i);
		/* A device without TLS_RX answers RX contexts UNSUPPORTED. */
		FZ_CHECK(!c->in_use || c->dir == TLSNIC_DIR_TX ||
			 (p->tls->caps & TLSNIC_CAP_TLS_RX), "RX context in slot %u", i);
		FZ_CHECK(!c->in_use || c->dir != TLSNIC_DIR_TX || c->engine,
			 "TX context %u without engine state", i);
		FZ_CHECK(!c->in_use || c->dir != TLSNIC_DIR_RX || (c->engine && c->flow_hashed),
			 "RX context %u without engine state or flow", i);
		FZ_CHECK(c->in_use || !c->flow_hashed, "free slot %u in the flow hash", i);
		rx += c->in_use && c->dir == TLSNIC_DIR_RX;
	}
	FZ_CHECK(p->ctxs.nr_flows == rx && p->cnt.rx_tls_ctx_active == rx,
		 "flows %u, RX contexts %u", p->ctxs.nr_flows, rx);
}

static uint32_t ok_body_len(uint8_t opcode)
{
	switch (opcode) {
	case TLSNIC_OP_IDENTIFY:
		return sizeof(struct tlsnic_identify);
	case TLSNIC_OP_CTX_CREATE:
		return sizeof(struct tlsnic_ctx_ref);
	default:
		return 0;
	}
}

static void one_command(struct dsim_port *p, uint8_t op, const uint8_t *data, size_t len,
			uint64_t now)
{
	uint64_t created = p->cnt.ctx_created, destroyed = p->cnt.ctx_destroyed;
	uint64_t rx = p->cnt.cmd_rx, err = p->cnt.cmd_err;
	uint32_t count = dsim_msgq_count(&p->msgq);
	struct tlsnic_msg_hdr req, rep;
	const struct dsim_msg *m;
	uint32_t destroy_handle = TLSNIC_HANDLE_NONE;
	uint8_t *msg;
	int ret;

	/* An exact-size copy: a read past the message is an ASan report. */
	msg = malloc(len ? len : 1);
	FZ_CHECK(msg, "malloc");
	memcpy(msg, data, len);
	if ((op & OP_FIX_HDR) && len >= sizeof(req)) {
		memcpy(&req, msg, sizeof(req));
		req.magic = htole32(TLSNIC_ABI_MAGIC);
		req.opcode &= (uint8_t)~TLSNIC_OP_REPLY;
		req.version = req.opcode == TLSNIC_OP_IDENTIFY ? TLSNIC_ABI_VERSION_MIN :
								  p->abi_version;
		req.status = 0;
		req.len = htole32((uint32_t)(len - sizeof(req)));
		memcpy(msg, &req, sizeof(req));
	}
	memset(&req, 0, sizeof(req));
	if (len >= sizeof(req))
		memcpy(&req, msg, sizeof(req));
	if (req.opcode == TLSNIC_OP_CTX_DESTROY && len >= sizeof(req) + 4)
		destroy_handle = msg[sizeof(req)] | (uint32_t)msg[sizeof(req) + 1] << 8 |
				 (uint32_t)msg[sizeof(req) + 2] << 16 |
				 (uint32_t)msg[sizeof(req) + 3] << 24;

	ret = dsim_cmd_process_at(p, msg, len, now);
	free(msg);

	FZ_CHECK(p->cnt.cmd_rx == rx + 1, "cmd_rx not counted");
	if (len < sizeof(req) || (req.opcode & TLSNIC_OP_REPLY)) {
		FZ_CHECK(ret == -EINVAL && dsim_msgq_count(&p->msgq) == count,
			 "unanswerable message answered (ret %d)", ret);
		return;
	}
	if (count == DSIM_MSGQ_LEN) {
		FZ_CHECK(ret == -ENOSPC && dsim_msgq_count(&p->msgq) == count &&
			 p->cnt.ctx_created == created && p->cnt.ctx_destroyed == destroyed,
			 "command executed without room for its reply (ret %d)", ret);
		return;
	}
	FZ_CHECK(ret == 0 && dsim_msgq_count(&p->msgq) == count + 1,
		 "message not answered once (ret %d)", ret);

	m = &p->msgq.slots[(p->msgq.tail - 1) % DSIM_MSGQ_LEN];
	FZ_CHECK(m->len >= sizeof(rep) && m->len <= DSIM_MSG_MAX, "reply length %u", m->len);
	memcpy(&rep, m->data, sizeof(rep));
	FZ_CHECK(le32toh(rep.magic) == TLSNIC_ABI_MAGIC &&
		 rep.version == (req.opcode == TLSNIC_OP_IDENTIFY ? TLSNIC_ABI_VERSION_MIN :
				 p->abi_version), "reply header version %u", rep.version);
	FZ_CHECK(rep.opcode == (req.opcode | TLSNIC_OP_REPLY) && rep.tag == req.tag,
		 "reply opcode %#x tag %#x for %#x %#x", rep.opcode, le32toh(rep.tag),
		 req.opcode, le32toh(req.tag));
	FZ_CHECK(le32toh(rep.len) == m->len - sizeof(rep), "reply len field");
	FZ_CHECK(m->due_ns == (p->cmd_delay_ns && req.opcode != TLSNIC_OP_IDENTIFY ?
			       now + p->cmd_delay_ns : 0), "reply due time");
	if (rep.status) {
		FZ_CHECK(rep.len == 0, "error reply with a body");
		FZ_CHECK(p->cnt.cmd_err == err + 1, "error reply not counted");
		FZ_CHECK(p->cnt.ctx_created == created && p->cnt.ctx_destroyed == destroyed,
			 "refused command changed the context table");
		return;
	}
	FZ_CHECK(p->cnt.cmd_err == err, "OK reply counted as error");
	FZ_CHECK(le32toh(rep.len) == ok_body_len(req.opcode), "OK reply body length %u",
		 le32toh(rep.len));
	switch (req.opcode) {
	case TLSNIC_OP_CTX_CREATE: {
		struct tlsnic_ctx_ref ref;

		memcpy(&ref, m->data + sizeof(rep), sizeof(ref));
		FZ_CHECK(p->cnt.ctx_created == created + 1, "create not counted");
		FZ_CHECK(dsim_ctx_lookup(&p->ctxs, le32toh(ref.handle)), "new handle unknown");
		FZ_CHECK(!ref.reserved, "reply reserved field");
		break;
	}
	case TLSNIC_OP_CTX_DESTROY:
		FZ_CHECK(p->cnt.ctx_destroyed == destroyed + 1, "destroy not counted");
		FZ_CHECK(!dsim_ctx_lookup(&p->ctxs, le32toh(destroy_handle)),
			 "destroyed handle still resolves");
		break;
	case TLSNIC_OP_IDENTIFY:
	case TLSNIC_OP_RX_RESYNC:
		FZ_CHECK(p->cnt.ctx_created == created && p->cnt.ctx_destroyed == destroyed,
			 "context table changed");
		break;
	default:
		FZ_CHECK(0, "unknown opcode %#x answered OK", req.opcode);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r = { data, size };
	const uint8_t *chunk;
	uint64_t now = 0;
	size_t len;
	uint8_t op;

	fz_port_setup(&port, true);
	/* RX contexts and RX_RESYNC too, once an input negotiates v2. */
	port.tls = &tls_dev_ops;
	while (fz_next_chunk(&r, &op, &chunk, &len)) {
		now += 500;
		if (op & OP_DRAIN) {
			uint32_t n = dsim_cmd_msgs_ready(&port, now, DSIM_MSGQ_LEN);

			FZ_CHECK(n <= dsim_msgq_count(&port.msgq), "more ready than queued");
			while (n--)
				dsim_msgq_pop(&port.msgq);
		}
		if (op & OP_DELAY)
			port.cmd_delay_ns = port.cmd_delay_ns ? 0 : 1000;
		one_command(&port, op, chunk, len, now);
		check_table(&port);
	}
	FZ_CHECK(dsim_cmd_msgs_ready(&port, UINT64_MAX, DSIM_MSGQ_LEN) ==
		 dsim_msgq_count(&port.msgq), "a reply is never due");
	dsim_port_fini(&port);
	return 0;
}
