// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the command channel (devsim/cmd.c) and the context table
 * (devsim/ctx.c): replies, validation, handles and generations, key wiping.
 */
#include <endian.h>
#include <errno.h>

#include "cmd.h"
#include "devsim_test.h"
#include "tls_dev.h"
#include "tls_tx.h"

static struct dsim_port port;
/* The version the test driver speaks after IDENTIFY (make_msg headers). */
static uint8_t drv_version = TLSNIC_ABI_VERSION_MIN;

/* IDENTIFY, both ways, is version 1; the rest the negotiated version. */
static uint8_t msg_version(uint8_t opcode)
{
	return (opcode & ~TLSNIC_OP_REPLY) == TLSNIC_OP_IDENTIFY ? TLSNIC_ABI_VERSION_MIN :
								   drv_version;
}

struct reply {
	struct tlsnic_msg_hdr hdr;
	uint8_t body[DSIM_MSG_MAX];
	uint32_t body_len;
};

static size_t make_msg(uint8_t *buf, uint8_t opcode, uint32_t tag, const void *body,
		       uint32_t len)
{
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC),
		.version = msg_version(opcode),
		.opcode = opcode,
		.tag = htole32(tag),
		.len = htole32(len),
	};

	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	return sizeof(h) + len;
}

/* Takes the oldest queued message; false if none. */
static bool pop_reply(struct reply *r)
{
	const struct dsim_msg *m = dsim_msgq_peek(&port.msgq);

	if (!m)
		return false;
	memset(r, 0, sizeof(*r));
	memcpy(&r->hdr, m->data, sizeof(r->hdr));
	r->body_len = m->len - (uint32_t)sizeof(r->hdr);
	memcpy(r->body, m->data + sizeof(r->hdr), r->body_len);
	dsim_msgq_pop(&port.msgq);
	return true;
}

/* Sends a command and checks the reply's header; body left in r. */
static bool transact(uint8_t opcode, uint32_t tag, const void *body, uint32_t len,
		     uint16_t want_status, struct reply *r)
{
	uint8_t buf[256];
	size_t n = make_msg(buf, opcode, tag, body, len);

	CHECK(dsim_cmd_process(&port, buf, n) == 0, "opcode %#x not answered", opcode);
	CHECK(pop_reply(r), "no reply queued");
	CHECK(le32toh(r->hdr.magic) == TLSNIC_ABI_MAGIC && r->hdr.version == msg_version(opcode),
	      "reply header version %u", r->hdr.version);
	CHECK(r->hdr.opcode == (opcode | TLSNIC_OP_REPLY), "reply opcode %#x", r->hdr.opcode);
	CHECK(le32toh(r->hdr.tag) == tag, "tag %u want %u", le32toh(r->hdr.tag), tag);
	CHECK(le16toh(r->hdr.status) == want_status, "opcode %#x status %u want %u", opcode,
	      le16toh(r->hdr.status), want_status);
	CHECK(le32toh(r->hdr.len) == r->body_len, "len field %u, body %u",
	      le32toh(r->hdr.len), r->body_len);
	if (want_status != TLSNIC_ST_OK)
		CHECK(r->body_len == 0, "error reply with a body");
	CHECK(!dsim_msgq_peek(&port.msgq), "more than one reply");
	return true;
}

static bool reset_port(uint32_t max)
{
	dsim_port_fini(&port);
	drv_version = TLSNIC_ABI_VERSION_MIN;
	return dsim_port_init(&port, 3, max) == 0;
}

/* IDENTIFY as a driver speaking up to @v; the reply's body in @id. */
static bool negotiate(uint32_t v, struct tlsnic_identify *id)
{
	struct tlsnic_identify_cmd cmd = { .abi_version = htole32(v) };
	struct reply r;

	if (!transact(TLSNIC_OP_IDENTIFY, 0x1d, &cmd, sizeof(cmd), TLSNIC_ST_OK, &r))
		return false;
	CHECK(r.body_len == sizeof(*id), "identify body %u", r.body_len);
	memcpy(id, r.body, sizeof(*id));
	drv_version = (uint8_t)le32toh(id->abi_version);
	CHECK(port.abi_version == drv_version, "port speaks %u, answered %u",
	      port.abi_version, drv_version);
	return true;
}

static bool identify(void)
{
	struct tlsnic_identify_cmd cmd = { .abi_version = htole32(1) };
	struct tlsnic_identify id;
	struct reply r;

	CHECK(reset_port(77), "init");
	if (!transact(TLSNIC_OP_IDENTIFY, 0xabcdef01, &cmd, sizeof(cmd), TLSNIC_ST_OK, &r))
		return false;
	CHECK(r.body_len == sizeof(id), "body %u", r.body_len);
	memcpy(&id, r.body, sizeof(id));
	CHECK(le32toh(id.abi_version) == 1, "abi");
	CHECK(le32toh(id.caps) == (TLSNIC_CAP_CSUM | TLSNIC_CAP_TSO | TLSNIC_CAP_RX_CSUM),
	      "caps %#x (no TLS without an engine)", le32toh(id.caps));
	CHECK(le32toh(id.tls_versions) == 1U << TLSNIC_TLS_1_2, "versions");
	CHECK(le32toh(id.ciphers) == (1U << TLSNIC_CIPHER_AES_GCM_128 |
				       1U << TLSNIC_CIPHER_AES_GCM_256), "ciphers");
	CHECK(le32toh(id.max_contexts) == 77 && le16toh(id.port) == 3, "contexts/port");
	CHECK(le32toh(id.max_tso_bytes) >= 65535 + 14 + 20, "max_tso_bytes %u",
	      le32toh(id.max_tso_bytes));
	CHECK(!strncmp(id.fw_version, "devsim-", 7) &&
	      memchr(id.fw_version, 0, sizeof(id.fw_version)), "fw_version");
	CHECK(port.cnt.cmd_identify == 1 && port.cnt.cmd_rx == 1 && !port.cnt.cmd_err, "counters");

	CHECK(!id.data_qps, "v1 data_qps %u", le16toh(id.data_qps));

	/* A newer driver is answered with version 2; a version 0 one is refused. */
	cmd.abi_version = htole32(7);
	if (!transact(TLSNIC_OP_IDENTIFY, 2, &cmd, sizeof(cmd), TLSNIC_ST_OK, &r))
		return false;
	memcpy(&id, r.body, sizeof(id));
	CHECK(le32toh(id.abi_version) == 2 && le16toh(id.data_qps) == 1, "v2 answer");
	CHECK(le32toh(id.caps) == (TLSNIC_CAP_CSUM | TLSNIC_CAP_TSO | TLSNIC_CAP_RX_CSUM),
	      "v2 caps %#x without an engine", le32toh(id.caps));
	drv_version = 2;
	cmd.abi_version = 0;
	if (!transact(TLSNIC_OP_IDENTIFY, 3, &cmd, sizeof(cmd), TLSNIC_ST_UNSUPPORTED, &r))
		return false;
	cmd.abi_version = htole32(1);
	cmd.reserved = 1;
	if (!transact(TLSNIC_OP_IDENTIFY, 4, &cmd, sizeof(cmd), TLSNIC_ST_BAD_MSG, &r))
		return false;
	if (!transact(TLSNIC_OP_IDENTIFY, 5, &cmd, sizeof(cmd) - 1, TLSNIC_ST_BAD_MSG, &r))
		return false;
	CHECK(port.cnt.cmd_err == 3, "cmd_err %llu", (unsigned long long)port.cnt.cmd_err);
	return true;
}

/*
 * A readable but bad header is answered BAD_MSG with its tag; a message too
 * short for a header, or a reply, gets nothing. All count in cmd_bad.
 */
static bool bad_headers(void)
{
	struct tlsnic_identify_cmd cmd = { .abi_version = htole32(1) };
	struct tlsnic_msg_hdr *h;
	struct reply r;
	uint8_t buf[256];
	size_t n, i;
	int ret;

	CHECK(reset_port(4), "init");
	for (i = 0; i < 8; i++) {
		bool answered = i != 0 && i != 3;

		n = make_msg(buf, TLSNIC_OP_IDENTIFY, (uint32_t)(900 + i), &cmd, sizeof(cmd));
		h = (struct tlsnic_msg_hdr *)buf;
		switch (i) {
		case 0: n = sizeof(*h) - 1; break;			/* short */
		case 1: h->magic ^= htole32(1); break;			/* magic */
		case 2: h->version = 2; break;				/* version */
		case 3: h->opcode |= TLSNIC_OP_REPLY; break;		/* a reply */
		case 4: h->status = htole16(1); break;			/* status set */
		case 5: h->len = htole32(sizeof(cmd) + 1); break;	/* len > buffer */
		case 6: n -= 1; break;					/* len < header */
		case 7: h->len = htole32(0xffffffff); break;		/* huge */
		}
		ret = dsim_cmd_process(&port, buf, n);
		CHECK(ret == (answered ? 0 : -EINVAL), "case %zu: ret %d", i, ret);
		CHECK(port.cnt.cmd_bad == i + 1, "case %zu: cmd_bad", i);
		CHECK(port.cnt.cmd_identify == 0, "case %zu: executed", i);
		if (!answered) {
			CHECK(!dsim_msgq_peek(&port.msgq), "case %zu answered", i);
			continue;
		}
		CHECK(pop_reply(&r) && !dsim_msgq_peek(&port.msgq), "case %zu: one reply", i);
		CHECK(le32toh(r.hdr.magic) == TLSNIC_ABI_MAGIC &&
		      r.hdr.version == TLSNIC_ABI_VERSION_MIN &&
		      r.hdr.opcode == (TLSNIC_OP_IDENTIFY | TLSNIC_OP_REPLY) &&
		      le16toh(r.hdr.status) == TLSNIC_ST_BAD_MSG &&
		      le32toh(r.hdr.tag) == 900 + i && r.body_len == 0 && r.hdr.len == 0,
		      "case %zu: reply", i);
	}
	return true;
}

static bool bad_opcode(void)
{
	struct reply r;

	CHECK(reset_port(4), "init");
	if (!transact(0x7f, 11, NULL, 0, TLSNIC_ST_BAD_OPCODE, &r) ||
	    /* Events travel device to driver only. */
	    !transact(TLSNIC_EV_RX_RESYNC_REQ, 12, NULL, 0, TLSNIC_ST_BAD_OPCODE, &r))
		return false;
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

static struct tlsnic_ctx_create create_body(uint8_t dir, uint8_t cipher, uint8_t family)
{
	struct tlsnic_ctx_create c;
	int i;

	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.tls_version = TLSNIC_TLS_1_2;
	c.cipher = cipher;
	c.family = family;
	for (i = 0; i < 32; i++)
		c.key[i] = (uint8_t)(0xa0 + i);
	memcpy(c.salt, "SALT", 4);
	memcpy(c.iv, "IVIVIVIV", 8);
	c.rec_seq[7] = 5;
	c.tcp_seq = htole32(123456);
	c.saddr[0] = htobe32(0x0a4d0001);
	c.daddr[0] = htobe32(0x0a4d0002);
	c.sport = htobe16(40000);
	c.dport = htobe16(443);
	return c;
}

static struct tlsnic_ctx_create create_body_v(uint8_t dir)
{
	return create_body(dir, TLSNIC_CIPHER_AES_GCM_128, 4);
}

static bool create(struct tlsnic_ctx_create *c, uint16_t want, uint32_t *handle)
{
	struct tlsnic_ctx_ref ref;
	struct reply r;

	if (!transact(TLSNIC_OP_CTX_CREATE, 100, c, sizeof(*c), want, &r))
		return false;
	if (want != TLSNIC_ST_OK)
		return true;
	CHECK(r.body_len == sizeof(ref), "body %u", r.body_len);
	memcpy(&ref, r.body, sizeof(ref));
	CHECK(!ref.reserved, "reserved");
	*handle = le32toh(ref.handle);
	return true;
}

static bool destroy(uint32_t handle, uint16_t want)
{
	struct tlsnic_ctx_ref ref = { .handle = htole32(handle) };
	struct reply r;

	return transact(TLSNIC_OP_CTX_DESTROY, 200, &ref, sizeof(ref), want, &r);
}

static bool create_validation(void)
{
	struct tlsnic_ctx_create c;
	uint32_t h;
	struct reply r;

	CHECK(reset_port(4), "init");
	c = create_body(2, TLSNIC_CIPHER_AES_GCM_128, 4);
	if (!create(&c, TLSNIC_ST_UNSUPPORTED, &h))
		return false;
	c = create_body(TLSNIC_DIR_TX, 2, 4);
	if (!create(&c, TLSNIC_ST_UNSUPPORTED, &h))
		return false;
	c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 5);
	if (!create(&c, TLSNIC_ST_UNSUPPORTED, &h))
		return false;
	c = create_body(TLSNIC_DIR_RX, TLSNIC_CIPHER_AES_GCM_256, 6);
	c.tls_version = TLSNIC_TLS_1_3;
	if (!create(&c, TLSNIC_ST_UNSUPPORTED, &h))
		return false;
	if (!transact(TLSNIC_OP_CTX_CREATE, 5, &c, sizeof(c) - 1, TLSNIC_ST_BAD_MSG, &r))
		return false;
	CHECK(port.cnt.ctx_created == 0 && dsim_ctx_active(&port.ctxs) == 0, "no context");

	c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 4);
	if (!create(&c, TLSNIC_ST_OK, &h))
		return false;
	{
		struct dsim_ctx *ctx = dsim_ctx_lookup(&port.ctxs, h);

		CHECK(ctx && ctx->dir == TLSNIC_DIR_TX && ctx->key_len == 16, "stored ctx");
		/* The raw key is not kept: nothing needs it after the create. */
		CHECK(all_zero(ctx->key, sizeof(ctx->key)) &&
		      all_zero(ctx->salt, sizeof(ctx->salt)), "raw key kept");
		CHECK(!memcmp(ctx->iv, c.iv, 8) && ctx->rec_seq == 5 &&
		      ctx->tcp_seq == 123456 && ctx->sport == 40000 && ctx->dport == 443,
		      "stored fields");
		CHECK(ctx->saddr[0] == 10 && ctx->saddr[3] == 1 && ctx->daddr[3] == 2, "addrs");
	}
	return true;
}

/* Fill the table, get NO_SPACE, free one, get its slot back with a new handle. */
static bool create_until_full(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_RX, TLSNIC_CIPHER_AES_GCM_256, 6);
	uint32_t handles[8], h, again;
	size_t i, j;

	CHECK(reset_port(8), "init");
	for (i = 0; i < 8; i++) {
		if (!create(&c, TLSNIC_ST_OK, &handles[i]))
			return false;
		CHECK((handles[i] & TLSNIC_HANDLE_INDEX_MASK) < 8, "index");
		CHECK(handles[i] != TLSNIC_HANDLE_NONE, "NONE handed out");
		for (j = 0; j < i; j++)
			CHECK(handles[i] != handles[j], "duplicate handle");
	}
	if (!create(&c, TLSNIC_ST_NO_SPACE, &h))
		return false;
	CHECK(port.cnt.ctx_no_space == 1 && port.cnt.ctx_active == 8, "counters");
	if (!destroy(handles[3], TLSNIC_ST_OK) || !create(&c, TLSNIC_ST_OK, &again))
		return false;
	CHECK((again & TLSNIC_HANDLE_INDEX_MASK) == (handles[3] & TLSNIC_HANDLE_INDEX_MASK) &&
	      again != handles[3], "slot reused with a new generation: %#x vs %#x", again,
	      handles[3]);
	/* The old handle is stale now. */
	if (!destroy(handles[3], TLSNIC_ST_BAD_HANDLE))
		return false;
	CHECK(!dsim_ctx_lookup(&port.ctxs, handles[3]), "stale lookup");
	CHECK(dsim_ctx_lookup(&port.ctxs, again), "new lookup");
	return true;
}

/*
 * The version is per port and per driver: 1 until an IDENTIFY, the lower of
 * the driver's and 2 after it; TLS_RX (with its resync mode) only in v2 and
 * only with the RX engine; after negotiation a header with the other version
 * is BAD_MSG and executes nothing, while IDENTIFY stays version 1.
 */
static bool version_negotiation(void)
{
	static const uint32_t tx_caps = TLSNIC_CAP_TLS_TX | TLSNIC_CAP_TX_DROP_EVENT;
	static const uint32_t rx_caps = TLSNIC_CAP_TLS_RX | TLSNIC_CAP_RX_RESYNC_REQ;
	static const uint32_t base = TLSNIC_CAP_CSUM | TLSNIC_CAP_TSO | TLSNIC_CAP_RX_CSUM;
	struct tlsnic_ctx_create c = create_body_v(TLSNIC_DIR_TX);
	struct tlsnic_identify id;
	struct reply r;
	uint8_t buf[256];
	size_t n;
	uint32_t h;

	/* v1 driver, TX and RX engines: v1 caps, v1 headers. */
	CHECK(reset_port(4), "init");
	port.tls = &tls_dev_ops;
	if (!negotiate(1, &id))
		return false;
	CHECK(le32toh(id.abi_version) == 1 && !id.data_qps, "v1 answer");
	CHECK(le32toh(id.caps) == (base | tx_caps), "v1 caps %#x", le32toh(id.caps));
	/* A v2 header from a v1 driver: refused (in v1), nothing created. */
	drv_version = 2;
	n = make_msg(buf, TLSNIC_OP_CTX_CREATE, 40, &c, sizeof(c));
	drv_version = 1;
	CHECK(dsim_cmd_process(&port, buf, n) == 0 && pop_reply(&r), "v2 header answered");
	CHECK(le16toh(r.hdr.status) == TLSNIC_ST_BAD_MSG && r.hdr.version == 1 &&
	      le32toh(r.hdr.tag) == 40, "v2 header in v1: status %u version %u",
	      le16toh(r.hdr.status), r.hdr.version);
	CHECK(port.cnt.ctx_created == 0 && port.cnt.cmd_bad == 1, "v2 header executed");
	if (!create(&c, TLSNIC_ST_OK, &h))
		return false;

	/* The same port, re-identified by a v2 driver. */
	if (!negotiate(2, &id))
		return false;
	CHECK(le32toh(id.abi_version) == 2 && le16toh(id.data_qps) == 1, "v2 answer");
	CHECK(le32toh(id.caps) == (base | tx_caps | rx_caps), "v2 caps %#x", le32toh(id.caps));
	drv_version = 1;
	n = make_msg(buf, TLSNIC_OP_CTX_DESTROY, 41, &(struct tlsnic_ctx_ref){
		.handle = htole32(h) }, sizeof(struct tlsnic_ctx_ref));
	CHECK(dsim_cmd_process(&port, buf, n) == 0 && pop_reply(&r), "v1 header answered");
	CHECK(le16toh(r.hdr.status) == TLSNIC_ST_BAD_MSG && r.hdr.version == 2 &&
	      le32toh(r.hdr.tag) == 41, "v1 header after v2: status %u version %u",
	      le16toh(r.hdr.status), r.hdr.version);
	CHECK(port.cnt.ctx_destroyed == 0 && dsim_ctx_lookup(&port.ctxs, h), "destroy executed");
	drv_version = 2;
	if (!destroy(h, TLSNIC_ST_OK))
		return false;
	/* IDENTIFY with a v2 header is malformed whatever was negotiated. */
	n = make_msg(buf, TLSNIC_OP_IDENTIFY, 42, &(struct tlsnic_identify_cmd){
		.abi_version = htole32(2) }, sizeof(struct tlsnic_identify_cmd));
	((struct tlsnic_msg_hdr *)buf)->version = 2;
	CHECK(dsim_cmd_process(&port, buf, n) == 0 && pop_reply(&r) &&
	      le16toh(r.hdr.status) == TLSNIC_ST_BAD_MSG && r.hdr.version == 1,
	      "IDENTIFY with version 2 in its header");

	/* TX engine only: no TLS_RX in v2 either; RX engine only: no TLS_TX. */
	port.tls = &tls_dev_tx_ops;
	if (!negotiate(2, &id))
		return false;
	CHECK(le32toh(id.caps) == (base | tx_caps), "TX-only v2 caps %#x", le32toh(id.caps));
	port.tls = &tls_dev_rx_ops;
	if (!negotiate(2, &id))
		return false;
	CHECK(le32toh(id.caps) == (base | rx_caps), "RX-only v2 caps %#x", le32toh(id.caps));

	/* A device reset forgets the driver: v1 again. */
	dsim_port_reset(&port);
	CHECK(port.abi_version == 1, "version survived a reset");
	port.tls = NULL;
	return true;
}

/*
 * RX contexts: refused to a v1 driver; in v2 one per flow (EXISTS for a
 * second, the reverse flow and the other family are other flows), and the
 * flow is free again once its context is destroyed.
 */
static bool rx_contexts(void)
{
	struct tlsnic_ctx_create c = create_body_v(TLSNIC_DIR_RX), rev, v6;
	const struct tls_dev_counters *tc;
	struct tlsnic_identify id;
	uint32_t h, h2, h3, h4;

	CHECK(reset_port(8), "init");
	port.tls = &tls_dev_ops;
	tls_dev_counters_reset(port.id);
	if (!create(&c, TLSNIC_ST_UNSUPPORTED, &h))
		return false;
	tc = tls_dev_counters(port.id);
	CHECK(tc->tls_ctx_rx_refused == 1, "v1 RX refusal not counted");
	if (!negotiate(2, &id) || !create(&c, TLSNIC_ST_OK, &h) ||
	    !create(&c, TLSNIC_ST_EXISTS, &h2))
		return false;
	CHECK(port.cnt.ctx_active == 1 && port.cnt.rx_tls_ctx_active == 1 &&
	      port.cnt.rx_tls_ctx_created == 1, "counters after EXISTS");
	rev = c;
	memcpy(rev.saddr, c.daddr, sizeof(rev.saddr));
	memcpy(rev.daddr, c.saddr, sizeof(rev.daddr));
	rev.sport = c.dport;
	rev.dport = c.sport;
	v6 = c;
	v6.family = 6;
	if (!create(&rev, TLSNIC_ST_OK, &h2) || !create(&v6, TLSNIC_ST_OK, &h3))
		return false;
	/* A TX context of the same flow is no RX context. */
	c.dir = TLSNIC_DIR_TX;
	if (!create(&c, TLSNIC_ST_OK, &h4))
		return false;
	c.dir = TLSNIC_DIR_RX;
	if (!destroy(h, TLSNIC_ST_OK) || !create(&c, TLSNIC_ST_OK, &h))
		return false;
	CHECK(port.cnt.rx_tls_ctx_created == 4 && port.cnt.rx_tls_ctx_destroyed == 1 &&
	      port.cnt.rx_tls_ctx_active == 3 && port.ctxs.nr_flows == 3, "RX counters");
	dsim_port_reset(&port);
	CHECK(port.cnt.rx_tls_ctx_active == 0 && port.ctxs.nr_flows == 0 &&
	      port.cnt.rx_tls_ctx_destroyed == 4, "reset left RX contexts");
	port.tls = NULL;
	return true;
}

static bool destroy_errors(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 4);
	struct tlsnic_ctx_ref ref;
	struct reply r;
	uint32_t h;

	CHECK(reset_port(4), "init");
	if (!destroy(0, TLSNIC_ST_BAD_HANDLE) ||
	    !destroy(TLSNIC_HANDLE_NONE, TLSNIC_ST_BAD_HANDLE) ||
	    !destroy(1000, TLSNIC_ST_BAD_HANDLE) || !create(&c, TLSNIC_ST_OK, &h) ||
	    !destroy(h ^ (1U << TLSNIC_HANDLE_INDEX_BITS), TLSNIC_ST_BAD_HANDLE))
		return false;
	ref.handle = htole32(h);
	ref.reserved = htole32(1);
	if (!transact(TLSNIC_OP_CTX_DESTROY, 1, &ref, sizeof(ref), TLSNIC_ST_BAD_MSG, &r) ||
	    !transact(TLSNIC_OP_CTX_DESTROY, 1, &ref, 4, TLSNIC_ST_BAD_MSG, &r))
		return false;
	if (!destroy(h, TLSNIC_ST_OK) || !destroy(h, TLSNIC_ST_BAD_HANDLE))
		return false;
	CHECK(port.cnt.ctx_created == 1 && port.cnt.ctx_destroyed == 1 &&
	      port.cnt.ctx_active == 0, "counters");
	return true;
}

/*
 * With a single slot, a handle comes back after all 4096 generations were
 * used: the generation is 12 bits. Bigger tables spread the reuse (below).
 */
static bool generations(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 4);
	uint32_t first, h = 0;
	int i;

	CHECK(reset_port(1), "init");
	if (!create(&c, TLSNIC_ST_OK, &first) || !destroy(first, TLSNIC_ST_OK))
		return false;
	for (i = 1; i < 4096; i++) {
		if (!create(&c, TLSNIC_ST_OK, &h) || !destroy(h, TLSNIC_ST_OK))
			return false;
		CHECK(h != first, "handle repeated after %d cycles", i);
	}
	if (!create(&c, TLSNIC_ST_OK, &h))
		return false;
	CHECK(h == first, "generation did not wrap to the first handle");
	return true;
}

/*
 * Connection after connection (create, destroy), with some contexts alive
 * all along: a destroyed context's handle must never resolve again over
 * 3 x 4096 connections, nor be handed out again. With a last-in-first-out
 * free list the same slot took every connection and its 12-bit generation
 * wrapped after 4096 of them.
 */
static bool stale_handle_churn(uint32_t max, uint32_t live)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 4);
	uint32_t stale[4], h, i, k;

	CHECK(reset_port(max), "init %u", max);
	for (k = 0; k < live; k++)
		if (!create(&c, TLSNIC_ST_OK, &h))
			return false;
	for (k = 0; k < ARRAY_SIZE(stale); k++)
		if (!create(&c, TLSNIC_ST_OK, &stale[k]))
			return false;
	for (k = 0; k < ARRAY_SIZE(stale); k++)
		if (!destroy(stale[k], TLSNIC_ST_OK))
			return false;
	for (i = 0; i < 3 * 4096; i++) {
		if (!create(&c, TLSNIC_ST_OK, &h))
			return false;
		for (k = 0; k < ARRAY_SIZE(stale); k++) {
			CHECK(h != stale[k] && !dsim_ctx_lookup(&port.ctxs, stale[k]),
			      "table of %u: stale handle %#x back after %u connections",
			      max, stale[k], i + 1);
			if (!destroy(stale[k], TLSNIC_ST_BAD_HANDLE))
				return false;
		}
		if (!destroy(h, TLSNIC_ST_OK))
			return false;
	}
	CHECK(dsim_ctx_active(&port.ctxs) == live, "active %u", dsim_ctx_active(&port.ctxs));
	return true;
}

static bool stale_handles_small_table(void)
{
	return stale_handle_churn(8, 2);
}

static bool stale_handles_large_table(void)
{
	return stale_handle_churn(DSIM_MAX_CONTEXTS_DEFAULT, 10);
}

/* Does any 8-byte piece of @key appear in [p, p + n)? */
static bool holds_key(const void *mem, size_t n, const uint8_t *key, size_t key_len)
{
	const uint8_t *p = mem;

	for (size_t k = 0; k + 8 <= key_len; k++)
		for (size_t i = 0; i + 8 <= n; i++)
			if (!memcmp(p + i, key + k, 8))
				return true;
	return false;
}

/*
 * The raw key and salt are in no byte of the context table (nor of the
 * engine's context, with the TLS TX engine plugged in) once the create is
 * answered, and after the destroy: only the key schedule keeps the key.
 */
static bool raw_key_not_kept(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_256, 4);
	const struct tls_dev_counters *tc;
	bool ok = true;

	for (int engine = 0; ok && engine < 2; engine++) {
		const struct dsim_ctx *ctx;
		uint32_t h, other;

		CHECK(reset_port(4), "init");
		if (engine) {
			port.tls = &tls_dev_tx_ops;
			tls_dev_counters_reset(port.id);
		}
		test_fill_random(c.key, sizeof(c.key));
		test_fill_random(c.salt, sizeof(c.salt));
		CHECK(!holds_key(port.ctxs.slots, 4 * sizeof(*port.ctxs.slots), c.key, 32),
		      "key in the table before the create");
		if (!create(&c, TLSNIC_ST_OK, &h))
			ok = false;
		ctx = ok ? dsim_ctx_lookup(&port.ctxs, h) : NULL;
		ok = ok && ctx && (!engine || ctx->engine);
		tc = tls_dev_counters(port.id);
		ok = ok && (!engine || tc->tls_ctx_tx_init == 1);
		if (ok && (holds_key(port.ctxs.slots, 4 * sizeof(*port.ctxs.slots), c.key, 32) ||
			   holds_key(port.ctxs.slots, 4 * sizeof(*port.ctxs.slots), c.salt, 4))) {
			printf("# engine %d: raw key in the context table after the create\n", engine);
			ok = false;
		}
		if (ok && engine && holds_key(ctx->engine, sizeof(struct tls_tx_ctx), c.key, 32)) {
			printf("# raw key in the engine context\n");
			ok = false;
		}
		/* A second context and a destroy: still nowhere. */
		ok = ok && create(&c, TLSNIC_ST_OK, &other) && destroy(h, TLSNIC_ST_OK);
		if (ok && holds_key(port.ctxs.slots, 4 * sizeof(*port.ctxs.slots), c.key, 32)) {
			printf("# engine %d: raw key in the context table after a destroy\n", engine);
			ok = false;
		}
		ok = ok && destroy(other, TLSNIC_ST_OK);
		port.tls = NULL;
	}
	explicit_bzero(&c, sizeof(c));
	return ok;
}

/* Destroy and device reset leave no key material in the table. */
static bool keys_wiped(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_256, 4);
	uint32_t h1, h2, i;

	CHECK(reset_port(4), "init");
	if (!create(&c, TLSNIC_ST_OK, &h1) || !create(&c, TLSNIC_ST_OK, &h2))
		return false;
	CHECK(!all_zero(port.ctxs.slots[h1 & TLSNIC_HANDLE_INDEX_MASK].iv, 8), "iv stored");
	if (!destroy(h1, TLSNIC_ST_OK))
		return false;
	CHECK(all_zero(port.ctxs.slots[h1 & TLSNIC_HANDLE_INDEX_MASK].key, 32) &&
	      all_zero(port.ctxs.slots[h1 & TLSNIC_HANDLE_INDEX_MASK].salt, 4) &&
	      all_zero(port.ctxs.slots[h1 & TLSNIC_HANDLE_INDEX_MASK].iv, 8),
	      "key left after destroy");

	dsim_port_reset(&port);
	for (i = 0; i < port.ctxs.max; i++)
		CHECK(all_zero(port.ctxs.slots[i].key, 32) && !port.ctxs.slots[i].in_use,
		      "slot %u after reset", i);
	CHECK(port.cnt.ctx_wiped_on_reset == 1 && port.cnt.ctx_active == 0, "reset counters");
	CHECK(!dsim_ctx_lookup(&port.ctxs, h2), "handle survived a reset");
	return true;
}

/*
 * RX_RESYNC at the command level (the resync itself is in test_tls_dev.c):
 * v2 only, body checked, only RX contexts with engine state, and with no
 * request open it is STALE and changes nothing.
 */
static bool rx_resync(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_RX, TLSNIC_CIPHER_AES_GCM_128, 4);
	struct tlsnic_identify id;
	struct tlsnic_rx_resync rs;
	uint32_t rx, tx;
	struct reply r;

	CHECK(reset_port(4), "init");
	port.tls = &tls_dev_ops;
	memset(&rs, 0, sizeof(rs));
	/* A v1 driver has no such command. */
	if (!transact(TLSNIC_OP_RX_RESYNC, 6, &rs, sizeof(rs), TLSNIC_ST_BAD_OPCODE, &r))
		return false;
	if (!negotiate(2, &id) || !create(&c, TLSNIC_ST_OK, &rx))
		return false;
	c.dir = TLSNIC_DIR_TX;
	if (!create(&c, TLSNIC_ST_OK, &tx))
		return false;
	rs.handle = htole32(rx);
	rs.tcp_seq = htole32(0xfeedf00d);
	rs.rec_seq[0] = 0x01;
	rs.rec_seq[7] = 0x02;
	rs.resync_id = htole32(1);
	if (!transact(TLSNIC_OP_RX_RESYNC, 7, &rs, sizeof(rs), TLSNIC_ST_STALE, &r))
		return false;
	CHECK(port.cnt.rx_tls_resync_stale == 1 && !port.cnt.rx_tls_resync_ok, "counters");
	rs.reserved = htole32(1);
	if (!transact(TLSNIC_OP_RX_RESYNC, 8, &rs, sizeof(rs), TLSNIC_ST_BAD_MSG, &r))
		return false;
	rs.reserved = 0;
	rs.handle = htole32(tx);		/* only RX contexts resync this way */
	if (!transact(TLSNIC_OP_RX_RESYNC, 8, &rs, sizeof(rs), TLSNIC_ST_BAD_HANDLE, &r))
		return false;
	rs.handle = htole32(rx + (1U << TLSNIC_HANDLE_INDEX_BITS));
	if (!transact(TLSNIC_OP_RX_RESYNC, 9, &rs, sizeof(rs), TLSNIC_ST_BAD_HANDLE, &r))
		return false;
	{
		uint8_t longer[sizeof(rs) + 1] = { 0 };

		memcpy(longer, &rs, sizeof(rs));
		if (!transact(TLSNIC_OP_RX_RESYNC, 10, longer, sizeof(longer),
			      TLSNIC_ST_BAD_MSG, &r))
			return false;
	}
	/* The engine releases its contexts before it is unplugged. */
	dsim_port_reset(&port);
	port.tls = NULL;
	return true;
}

/* With the reply queue full a command is refused, not half-done. */
static bool reply_queue_full(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 4);
	uint8_t buf[256];
	uint32_t i;
	size_t n;

	CHECK(reset_port(DSIM_MSGQ_LEN + 10), "init");
	n = make_msg(buf, TLSNIC_OP_CTX_CREATE, 1, &c, sizeof(c));
	for (i = 0; i < DSIM_MSGQ_LEN; i++)
		CHECK(dsim_cmd_process(&port, buf, n) == 0, "command %u", i);
	CHECK(dsim_cmd_process(&port, buf, n) == -ENOSPC, "accepted with a full queue");
	CHECK(port.cnt.ctx_created == DSIM_MSGQ_LEN && port.cnt.cmd_no_buffer == 1,
	      "created %llu", (unsigned long long)port.cnt.ctx_created);
	/* An event cannot be queued either, and is counted. */
	CHECK(dsim_port_post_event(&port, TLSNIC_EV_RX_RESYNC_REQ, NULL, 0) == -ENOSPC &&
	      port.cnt.ev_dropped == 1, "event");
	dsim_port_reset(&port);
	CHECK(dsim_msgq_count(&port.msgq) == 0, "reset keeps replies for a gone driver");
	return true;
}

static bool events(void)
{
	struct tlsnic_tx_drop req = { .handle = htole32(5), .tcp_seq = htole32(77) };
	struct reply r;

	CHECK(reset_port(4), "init");
	CHECK(dsim_port_post_event(&port, TLSNIC_EV_TX_DROP, &req, sizeof(req)) == 0, "post");
	CHECK(pop_reply(&r), "queued");
	CHECK(r.hdr.opcode == TLSNIC_EV_TX_DROP && r.hdr.tag == 0 && r.hdr.status == 0 &&
	      le32toh(r.hdr.len) == sizeof(req) && !memcmp(r.body, &req, sizeof(req)), "event");
	return true;
}

/* A message longer than any command is answered from its header only. */
static bool overlong_message(void)
{
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC),
		.version = TLSNIC_ABI_VERSION_MIN,
		.opcode = TLSNIC_OP_CTX_CREATE,
		.tag = htole32(31),
		.len = htole32(5000),
	};
	uint8_t *buf = malloc(DSIM_CMD_MAX_LEN);	/* all the device may read */
	struct reply r;

	CHECK(reset_port(4), "init");
	memset(buf, 0, DSIM_CMD_MAX_LEN);
	memcpy(buf, &h, sizeof(h));
	CHECK(dsim_cmd_process(&port, buf, sizeof(h) + 5000) == 0, "not answered");
	free(buf);
	CHECK(pop_reply(&r) && le16toh(r.hdr.status) == TLSNIC_ST_BAD_MSG &&
	      le32toh(r.hdr.tag) == 31 && port.cnt.cmd_bad == 1 && port.cnt.ctx_created == 0,
	      "reply");
	return true;
}

/*
 * --cmd-delay-ms: replies to context commands wait, in order, until due;
 * IDENTIFY is not held back, and an event queued behind a held reply waits.
 */
static bool delayed_replies(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 4);
	struct tlsnic_identify_cmd id = { .abi_version = htole32(1) };
	struct reply r;
	uint8_t buf[256];
	size_t n;

	CHECK(reset_port(4), "init");
	port.cmd_delay_ns = 3000;
	n = make_msg(buf, TLSNIC_OP_IDENTIFY, 1, &id, sizeof(id));
	CHECK(dsim_cmd_process_at(&port, buf, n, 1000) == 0, "identify");
	CHECK(dsim_cmd_msgs_ready(&port, 1000, 32) == 1, "identify held back");
	CHECK(pop_reply(&r) && le32toh(r.hdr.tag) == 1, "identify reply");

	n = make_msg(buf, TLSNIC_OP_CTX_CREATE, 2, &c, sizeof(c));
	CHECK(dsim_cmd_process_at(&port, buf, n, 1000) == 0, "create");
	/* The context exists now; only its reply waits. */
	CHECK(port.cnt.ctx_created == 1 && port.cnt.ctx_active == 1, "created");
	CHECK(dsim_port_post_event(&port, TLSNIC_EV_RX_RESYNC_REQ, NULL, 0) == 0, "event");
	CHECK(dsim_cmd_msgs_ready(&port, 1000, 32) == 0, "sent at once");
	CHECK(dsim_cmd_msgs_ready(&port, 3999, 32) == 0, "sent early");
	CHECK(dsim_cmd_msgs_ready(&port, 4000, 32) == 2, "reply and event not due");
	CHECK(dsim_cmd_msgs_ready(&port, 4000, 1) == 1, "max ignored");
	CHECK(pop_reply(&r) && le32toh(r.hdr.tag) == 2 &&
	      le16toh(r.hdr.status) == TLSNIC_ST_OK, "create reply");
	CHECK(port.cnt.cmd_delayed == 1, "cmd_delayed %llu",
	      (unsigned long long)port.cnt.cmd_delayed);
	port.cmd_delay_ns = 0;
	return true;
}

/* --cmd-stall-file: nothing taken, nothing sent, until unstalled. */
static bool stalled(void)
{
	struct tlsnic_ctx_create c = create_body(TLSNIC_DIR_TX, TLSNIC_CIPHER_AES_GCM_128, 4);
	struct reply r;
	uint8_t buf[256];
	size_t n;

	CHECK(reset_port(4), "init");
	n = make_msg(buf, TLSNIC_OP_CTX_CREATE, 5, &c, sizeof(c));
	CHECK(dsim_cmd_process(&port, buf, n) == 0, "create");
	dsim_cmd_set_stalled(&port, true);
	dsim_cmd_set_stalled(&port, true);
	CHECK(port.cnt.cmd_stalls == 1, "cmd_stalls %llu", (unsigned long long)port.cnt.cmd_stalls);
	CHECK(dsim_cmd_budget(&port) == 0, "takes commands while stalled");
	CHECK(dsim_cmd_msgs_ready(&port, 0, 32) == 0, "answers while stalled");
	dsim_cmd_set_stalled(&port, false);
	CHECK(dsim_cmd_budget(&port) == DSIM_MSGQ_LEN - 1, "budget");
	CHECK(dsim_cmd_msgs_ready(&port, 0, 32) == 1, "reply withheld after the stall");
	CHECK(pop_reply(&r) && le32toh(r.hdr.tag) == 5, "reply");
	return true;
}

/* Random messages: never a crash, never more than one reply each. */
static bool fuzz(void)
{
	uint8_t buf[DSIM_CMD_MAX_LEN];
	struct reply r;
	int i;

	CHECK(reset_port(16), "init");
	for (i = 0; i < 200000; i++) {
		size_t n = test_rand() % sizeof(buf);
		uint8_t *copy;
		int ret;

		test_fill_random(buf, n);
		if (i & 1 && n >= sizeof(struct tlsnic_msg_hdr)) {
			struct tlsnic_msg_hdr *h = (struct tlsnic_msg_hdr *)buf;

			h->magic = htole32(TLSNIC_ABI_MAGIC);
			h->version = 1;
			h->opcode &= 7;
			h->status = 0;
			h->len = htole32((uint32_t)(n - sizeof(*h)));
		}
		copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		ret = dsim_cmd_process(&port, copy, n);
		free(copy);
		CHECK(ret == 0 || ret == -EINVAL, "ret %d", ret);
		CHECK(ret == 0 || n < sizeof(struct tlsnic_msg_hdr) || (buf[5] & TLSNIC_OP_REPLY),
		      "readable header dropped");
		CHECK(dsim_msgq_count(&port.msgq) == (ret == 0), "replies %u",
		      dsim_msgq_count(&port.msgq));
		pop_reply(&r);
	}
	CHECK(port.cnt.ctx_active == dsim_ctx_active(&port.ctxs), "ctx_active");
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "identify", identify },
		{ "version_negotiation", version_negotiation },
		{ "rx_contexts", rx_contexts },
		{ "bad_headers", bad_headers },
		{ "bad_opcode", bad_opcode },
		{ "create_validation", create_validation },
		{ "create_until_full", create_until_full },
		{ "destroy_errors", destroy_errors },
		{ "generations", generations },
		{ "stale_handles_small_table", stale_handles_small_table },
		{ "stale_handles_large_table", stale_handles_large_table },
		{ "raw_key_not_kept", raw_key_not_kept },
		{ "keys_wiped", keys_wiped },
		{ "rx_resync", rx_resync },
		{ "reply_queue_full", reply_queue_full },
		{ "events", events },
		{ "overlong_message", overlong_message },
		{ "delayed_replies", delayed_replies },
		{ "stalled", stalled },
		{ "fuzz", fuzz },
	};
	int ret;

	if (dsim_port_init(&port, 3, 4))
		return 1;
	ret = run_tests(tests, ARRAY_SIZE(tests));
	dsim_port_fini(&port);
	return ret;
}
