// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: the command channel.
 *
 * Every message with a readable header gets exactly one reply carrying its
 * tag (docs/device-interface.md): a bad magic, version, status or length is
 * counted in cmd_bad and answered BAD_MSG. Only a message too short for a
 * header, or one that is itself a reply (answering it could start a loop
 * with a peer that echoes), is counted and dropped. Error replies carry a
 * status and no body.
 *
 * IDENTIFY negotiates the ABI version per port: its header always carries
 * version 1, its body the driver's highest; the port then speaks the lower
 * of that and TLSNIC_ABI_VERSION, and any later message whose header names
 * another version is BAD_MSG. Until the first IDENTIFY (and after a device
 * reset) a port speaks v1. A v1 driver gets v1: no TLS_RX, no RX contexts,
 * no RX_RESYNC.
 *
 * Two faults of a device whose firmware is slow or hung, for testing the
 * driver's control path: every reply to a context command may be held back
 * for cmd_delay_ns (IDENTIFY is answered at once, so the device is still
 * found), and while cmd_stalled the device takes no command and sends
 * nothing; commands wait on the ring and are answered, in order, after.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "cmd.h"

static int cmd_reply(struct dsim_port *p, const struct tlsnic_msg_hdr *req,
		     uint16_t status, const void *body, uint32_t body_len)
{
	int ret;

	uint64_t due = 0;

	if (status != TLSNIC_ST_OK) {
		p->cnt.cmd_err++;
		body_len = 0;
	}
	if (p->cmd_delay_ns && req->opcode != TLSNIC_OP_IDENTIFY)
		due = p->cmd_now_ns + p->cmd_delay_ns;
	ret = dsim_msgq_push_at(&p->msgq, req->opcode | TLSNIC_OP_REPLY, status,
				le32toh(req->tag), body, body_len, due);
	if (ret)
		p->cnt.cmd_no_buffer++;
	else if (due)
		p->cnt.cmd_delayed++;
	return ret;
}

void dsim_cmd_identify_body(const struct dsim_port *p, struct tlsnic_identify *id)
{
	uint32_t caps = TLSNIC_CAP_CSUM | TLSNIC_CAP_TSO | TLSNIC_CAP_RX_CSUM;

	if (p->tls)
		caps |= p->tls->caps & (TLSNIC_CAP_TLS_TX | TLSNIC_CAP_TLS_RX |
					 TLSNIC_CAP_TX_DROP_EVENT | TLSNIC_CAP_RX_RESYNC_REQ);
	/* RX offload is v2 (RX metadata, RX_RESYNC), and needs a resync mode. */
	if (p->abi_version < 2 || !(caps & TLSNIC_CAP_RX_RESYNC_REQ))
		caps &= ~(TLSNIC_CAP_TLS_RX | TLSNIC_CAP_RX_RESYNC_REQ);
	memset(id, 0, sizeof(*id));
	id->abi_version = htole32(p->abi_version);
	if (p->abi_version >= 2)
		id->data_qps = htole16(1);
	id->caps = htole32(caps);
	id->tls_versions = htole32(1U << TLSNIC_TLS_1_2);
	id->ciphers = htole32(1U << TLSNIC_CIPHER_AES_GCM_128 | 1U << TLSNIC_CIPHER_AES_GCM_256);
	id->max_contexts = htole32(p->ctxs.max);
	id->max_tso_bytes = htole32(DSIM_MAX_TSO_FRAME);
	id->port = htole16((uint16_t)p->id);
	strncpy(id->fw_version, DSIM_FW_VERSION, sizeof(id->fw_version) - 1);
}

static int cmd_identify(struct dsim_port *p, const struct tlsnic_msg_hdr *hdr,
			const uint8_t *body, uint32_t len)
{
	struct tlsnic_identify_cmd cmd;
	struct tlsnic_identify id;

	p->cnt.cmd_identify++;
	if (len != sizeof(cmd))
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	memcpy(&cmd, body, sizeof(cmd));
	if (cmd.reserved)
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	/* The driver names the highest version it speaks. */
	if (le32toh(cmd.abi_version) < TLSNIC_ABI_VERSION_MIN)
		return cmd_reply(p, hdr, TLSNIC_ST_UNSUPPORTED, NULL, 0);
	dsim_port_set_version(p, le32toh(cmd.abi_version) < TLSNIC_ABI_VERSION ?
			      (uint8_t)le32toh(cmd.abi_version) : TLSNIC_ABI_VERSION);
	dsim_cmd_identify_body(p, &id);
	return cmd_reply(p, hdr, TLSNIC_ST_OK, &id, sizeof(id));
}

static uint16_t ctx_create_check(const struct tlsnic_ctx_create *c)
{
	if (c->dir != TLSNIC_DIR_TX && c->dir != TLSNIC_DIR_RX)
		return TLSNIC_ST_UNSUPPORTED;
	if (c->tls_version != TLSNIC_TLS_1_2)
		return TLSNIC_ST_UNSUPPORTED;
	if (c->cipher != TLSNIC_CIPHER_AES_GCM_128 && c->cipher != TLSNIC_CIPHER_AES_GCM_256)
		return TLSNIC_ST_UNSUPPORTED;
	if (c->family != 4 && c->family != 6)
		return TLSNIC_ST_UNSUPPORTED;
	return TLSNIC_ST_OK;
}

static void ctx_fill(struct dsim_ctx *ctx, const struct tlsnic_ctx_create *c)
{
	size_t alen = c->family == 4 ? 4 : 16;
	uint64_t rec_seq = 0;
	int i;

	ctx->dir = c->dir;
	ctx->tls_version = c->tls_version;
	ctx->cipher = c->cipher;
	ctx->family = c->family;
	ctx->key_len = c->cipher == TLSNIC_CIPHER_AES_GCM_128 ? 16 : 32;
	memcpy(ctx->key, c->key, ctx->key_len);
	memcpy(ctx->salt, c->salt, sizeof(ctx->salt));
	memcpy(ctx->iv, c->iv, sizeof(ctx->iv));
	for (i = 0; i < 8; i++)
		rec_seq = rec_seq << 8 | c->rec_seq[i];
	ctx->rec_seq = rec_seq;
	ctx->tcp_seq = le32toh(c->tcp_seq);
	/* Addresses and ports are network order in the ABI: kept as bytes. */
	memcpy(ctx->saddr, c->saddr, alen);
	memcpy(ctx->daddr, c->daddr, alen);
	ctx->sport = be16toh(c->sport);
	ctx->dport = be16toh(c->dport);
}

static int cmd_ctx_create(struct dsim_port *p, const struct tlsnic_msg_hdr *hdr,
			  const uint8_t *body, uint32_t len)
{
	struct tlsnic_ctx_create c;
	struct tlsnic_ctx_ref ref;
	struct dsim_ctx *ctx;
	uint16_t status;
	int ret;

	p->cnt.cmd_ctx_create++;
	if (len != sizeof(c))
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	memcpy(&c, body, sizeof(c));
	status = ctx_create_check(&c);
	if (status != TLSNIC_ST_OK)
		goto out_wipe;
	ctx = dsim_ctx_alloc(&p->ctxs);
	if (!ctx) {
		p->cnt.ctx_no_space++;
		status = TLSNIC_ST_NO_SPACE;
		goto out_wipe;
	}
	ctx_fill(ctx, &c);
	ret = p->tls && p->tls->ctx_init ? p->tls->ctx_init(p, ctx) : 0;
	/*
	 * Invariant 6: the engine's key schedule is all that needs the key;
	 * the raw key and salt do not stay for the context's life.
	 */
	explicit_bzero(ctx->key, sizeof(ctx->key));
	explicit_bzero(ctx->salt, sizeof(ctx->salt));
	if (ret) {
		dsim_ctx_free(&p->ctxs, ctx);
		status = ret == -EEXIST ? TLSNIC_ST_EXISTS : TLSNIC_ST_UNSUPPORTED;
		goto out_wipe;
	}
	p->cnt.ctx_created++;
	p->cnt.ctx_active = dsim_ctx_active(&p->ctxs);
	memset(&ref, 0, sizeof(ref));
	ref.handle = htole32(ctx->handle);
	ret = cmd_reply(p, hdr, TLSNIC_ST_OK, &ref, sizeof(ref));
	explicit_bzero(&c, sizeof(c));
	return ret;

out_wipe:
	/* The key also sits in this stack copy. */
	explicit_bzero(&c, sizeof(c));
	return cmd_reply(p, hdr, status, NULL, 0);
}

static int cmd_ctx_destroy(struct dsim_port *p, const struct tlsnic_msg_hdr *hdr,
			   const uint8_t *body, uint32_t len)
{
	struct tlsnic_ctx_ref ref;
	struct dsim_ctx *ctx;

	p->cnt.cmd_ctx_destroy++;
	if (len != sizeof(ref))
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	memcpy(&ref, body, sizeof(ref));
	if (ref.reserved)
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	ctx = dsim_ctx_lookup(&p->ctxs, le32toh(ref.handle));
	if (!ctx)
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_HANDLE, NULL, 0);
	dsim_port_ctx_destroy(p, ctx);
	p->cnt.ctx_destroyed++;
	return cmd_reply(p, hdr, TLSNIC_ST_OK, NULL, 0);
}

static int cmd_rx_resync(struct dsim_port *p, const struct tlsnic_msg_hdr *hdr,
			 const uint8_t *body, uint32_t len)
{
	struct tlsnic_rx_resync rs;
	struct dsim_ctx *ctx;
	uint64_t rec_seq = 0;
	int i;

	p->cnt.cmd_rx_resync++;
	/* v2 only: a v1 driver has no RX contexts to resync. */
	if (p->abi_version < 2)
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_OPCODE, NULL, 0);
	if (len != sizeof(rs))
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	memcpy(&rs, body, sizeof(rs));
	if (rs.reserved)
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	ctx = dsim_ctx_lookup(&p->ctxs, le32toh(rs.handle));
	if (!ctx || ctx->dir != TLSNIC_DIR_RX || !p->tls || !p->tls->rx_resync)
		return cmd_reply(p, hdr, TLSNIC_ST_BAD_HANDLE, NULL, 0);
	for (i = 0; i < 8; i++)
		rec_seq = rec_seq << 8 | rs.rec_seq[i];
	return cmd_reply(p, hdr, p->tls->rx_resync(p, ctx, le32toh(rs.tcp_seq), rec_seq,
						   le32toh(rs.resync_id)), NULL, 0);
}

void dsim_cmd_set_stalled(struct dsim_port *p, bool stalled)
{
	if (stalled && !p->cmd_stalled)
		p->cnt.cmd_stalls++;
	p->cmd_stalled = stalled;
}

uint32_t dsim_cmd_budget(const struct dsim_port *p)
{
	return p->cmd_stalled ? 0 : dsim_msgq_space(&p->msgq);
}

uint32_t dsim_cmd_msgs_ready(const struct dsim_port *p, uint64_t now_ns, uint32_t max)
{
	const struct dsim_msgq *q = &p->msgq;
	uint32_t n = 0;

	if (p->cmd_stalled)
		return 0;
	/* In order: a held-back reply holds back what follows it. */
	while (n < max && n < dsim_msgq_count(q) &&
	       q->slots[(q->head + n) % DSIM_MSGQ_LEN].due_ns <= now_ns)
		n++;
	return n;
}

int dsim_cmd_process_at(struct dsim_port *p, const uint8_t *msg, size_t len, uint64_t now_ns)
{
	p->cmd_now_ns = now_ns;
	return dsim_cmd_process(p, msg, len);
}

int dsim_cmd_process(struct dsim_port *p, const uint8_t *msg, size_t len)
{
	struct tlsnic_msg_hdr hdr;
	const uint8_t *body;
	uint32_t body_len;

	p->cnt.cmd_rx++;
	if (len < sizeof(hdr)) {
		p->cnt.cmd_bad++;
		return -EINVAL;
	}
	memcpy(&hdr, msg, sizeof(hdr));
	if (hdr.opcode & TLSNIC_OP_REPLY) {
		p->cnt.cmd_bad++;
		return -EINVAL;
	}
	if (!dsim_msgq_space(&p->msgq)) {
		p->cnt.cmd_no_buffer++;
		return -ENOSPC;
	}
	body = msg + sizeof(hdr);
	body_len = le32toh(hdr.len);
	/*
	 * Nothing valid is that long: answer from the header alone. IDENTIFY
	 * is version 1 whatever was negotiated, everything else the port's.
	 */
	if (len > DSIM_CMD_MAX_LEN || le32toh(hdr.magic) != TLSNIC_ABI_MAGIC ||
	    hdr.version != (hdr.opcode == TLSNIC_OP_IDENTIFY ? TLSNIC_ABI_VERSION_MIN :
			    p->abi_version) ||
	    hdr.status || body_len != len - sizeof(hdr)) {
		p->cnt.cmd_bad++;
		return cmd_reply(p, &hdr, TLSNIC_ST_BAD_MSG, NULL, 0);
	}

	switch (hdr.opcode) {
	case TLSNIC_OP_IDENTIFY:
		return cmd_identify(p, &hdr, body, body_len);
	case TLSNIC_OP_CTX_CREATE:
		return cmd_ctx_create(p, &hdr, body, body_len);
	case TLSNIC_OP_CTX_DESTROY:
		return cmd_ctx_destroy(p, &hdr, body, body_len);
	case TLSNIC_OP_RX_RESYNC:
		return cmd_rx_resync(p, &hdr, body, body_len);
	default:
		return cmd_reply(p, &hdr, TLSNIC_ST_BAD_OPCODE, NULL, 0);
	}
}
