// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of devsim/pipeline.c: every malformed TX request is refused
 * with its own counter and nothing reaches the wire; random requests,
 * TLS ones included, never crash the device nor put TLS plaintext on the
 * wire; RX checksum verification sets CSUM_OK exactly when it should.
 */
#include <endian.h>
#include <stddef.h>

#include "cmd.h"
#include "devsim_test.h"
#include "pipeline.h"
#include "tls_dev.h"
#include "wire_capture.h"

static uint8_t txbuf[sizeof(struct tlsnic_tx_meta) + 70000];
static uint8_t frame[70000];
static uint8_t payload[70000];
static struct dsim_port port;
static struct wire_capture cap;

#define CNT(name) offsetof(struct dsim_counters, name)

static uint64_t counter_at(size_t off)
{
	return *(const uint64_t *)((const char *)&port.cnt + off);
}

/* A valid request to start from: v4 TCP, checksum offload, 3000 bytes. */
struct tx_case_state {
	struct tlsnic_tx_meta m;
	struct frame_layout l;
	struct frame_spec s;
	size_t buf_len;		/* bytes of txbuf handed to the device */
	size_t frame_len;
};

enum mutation {
	M_SHORT, M_FLAG_UNKNOWN, M_TSO_NO_CSUM, M_RESYNC_NO_TLS, M_RESERVED0, M_RESERVED1,
	M_HANDLE_NO_TLS, M_DUMP_NO_RESYNC, M_DUMP_PAST_END, M_GSO_NO_TSO, M_MSS_NO_TSO,
	M_CSUM_FIELDS_NO_CSUM, M_RUNT, M_TOO_LONG, M_TSO_TOO_LONG, M_BAD_IHL,
	M_CSUM_IN_IP_HDR, M_CSUM_OFFSET_PAST_END, M_CSUM_START_PAST_END, M_TSO_GSO_V6_ON_V4,
	M_TSO_GSO_NONE, M_TSO_UDP, M_TSO_MSS_SMALL, M_TSO_MSS_HUGE, M_TSO_CSUM_OFFSET,
	M_TSO_NO_PAYLOAD, M_TLS_NO_ENGINE, M_FRAGMENT_CSUM, M_TLS_NO_CSUM,
};

static const struct {
	enum mutation mut;
	const char *name;
	size_t counter;
} tx_cases[] = {
	{ M_SHORT, "buffer shorter than meta", CNT(drop_meta_short) },
	{ M_FLAG_UNKNOWN, "unknown flag", CNT(drop_meta_flags) },
	{ M_TSO_NO_CSUM, "TSO without CSUM", CNT(drop_meta_flags) },
	{ M_RESYNC_NO_TLS, "TLS_RESYNC without TLS", CNT(drop_meta_flags) },
	{ M_TLS_NO_CSUM, "TLS without CSUM", CNT(drop_meta_flags) },
	{ M_RESERVED0, "reserved0 set", CNT(drop_meta_reserved) },
	{ M_RESERVED1, "reserved1 set", CNT(drop_meta_reserved) },
	{ M_HANDLE_NO_TLS, "handle without TLS", CNT(drop_meta_handle) },
	{ M_DUMP_NO_RESYNC, "dump without resync", CNT(drop_meta_dump) },
	{ M_DUMP_PAST_END, "dump past the buffer", CNT(drop_meta_dump) },
	{ M_GSO_NO_TSO, "gso_type without TSO", CNT(drop_meta_gso) },
	{ M_MSS_NO_TSO, "mss without TSO", CNT(drop_meta_gso) },
	{ M_CSUM_FIELDS_NO_CSUM, "csum fields without CSUM", CNT(drop_meta_csum) },
	{ M_RUNT, "frame shorter than Ethernet", CNT(drop_frame_len) },
	{ M_TOO_LONG, "frame over the MTU", CNT(drop_frame_len) },
	{ M_TSO_TOO_LONG, "TSO frame over max_tso_bytes", CNT(drop_frame_len) },
	{ M_BAD_IHL, "offload on a broken IP header", CNT(drop_bad_frame) },
	{ M_FRAGMENT_CSUM, "offload on an IP fragment", CNT(drop_bad_frame) },
	{ M_CSUM_IN_IP_HDR, "csum_start inside the IP header", CNT(drop_meta_csum) },
	{ M_CSUM_OFFSET_PAST_END, "csum field past the packet", CNT(drop_meta_csum) },
	{ M_CSUM_START_PAST_END, "csum_start past the packet", CNT(drop_meta_csum) },
	{ M_TSO_GSO_V6_ON_V4, "gso TCPV6 on IPv4", CNT(drop_meta_gso) },
	{ M_TSO_GSO_NONE, "TSO with gso NONE", CNT(drop_meta_gso) },
	{ M_TSO_UDP, "TSO on UDP", CNT(drop_meta_gso) },
	{ M_TSO_MSS_SMALL, "mss below minimum", CNT(drop_meta_gso) },
	{ M_TSO_MSS_HUGE, "segment over the MTU", CNT(drop_meta_gso) },
	{ M_TSO_CSUM_OFFSET, "TSO csum not at TCP check", CNT(drop_meta_csum) },
	{ M_TSO_NO_PAYLOAD, "TSO without payload", CNT(drop_meta_gso) },
	{ M_TLS_NO_ENGINE, "TLS without an engine", CNT(drop_tls_unsupported) },
};

static void set_tso(struct tx_case_state *st, uint16_t mss)
{
	st->m.flags = htole16(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO);
	st->m.mss = htole16(mss);
	st->m.gso_type = st->s.family == 4 ? TLSNIC_GSO_TCPV4 : TLSNIC_GSO_TCPV6;
}

static void rebuild(struct tx_case_state *st)
{
	st->l = build_frame(frame, &st->s);
	st->frame_len = st->l.len;
	st->m.csum_start = htole16((uint16_t)st->l.l4);
	st->m.csum_offset = htole16(st->s.proto == 6 ? 16 : 6);
}

static void mutate(enum mutation mut, struct tx_case_state *st)
{
	uint16_t flags = le16toh(st->m.flags);

	switch (mut) {
	case M_SHORT:
		st->buf_len = sizeof(st->m) - 1;
		return;
	case M_FLAG_UNKNOWN:
		st->m.flags = htole16(flags | 0x100);
		break;
	case M_TSO_NO_CSUM:
		set_tso(st, 1000);
		st->m.flags = htole16(TLSNIC_TX_F_TSO);
		break;
	case M_RESYNC_NO_TLS:
		st->m.flags = htole16(flags | TLSNIC_TX_F_TLS_RESYNC);
		break;
	case M_TLS_NO_CSUM:
		st->m.flags = htole16(TLSNIC_TX_F_TLS);
		st->m.csum_start = st->m.csum_offset = 0;
		st->m.ctx_handle = htole32(0);
		break;
	case M_RESERVED0:
		st->m.reserved0 = 1;
		break;
	case M_RESERVED1:
		st->m.reserved1 = htole32(0x80000000);
		break;
	case M_HANDLE_NO_TLS:
		st->m.ctx_handle = htole32(0);
		break;
	case M_DUMP_NO_RESYNC:
		st->m.dump_len = htole16(16);
		break;
	case M_DUMP_PAST_END:
		st->m.flags = htole16(flags | TLSNIC_TX_F_TLS | TLSNIC_TX_F_TLS_RESYNC);
		st->m.ctx_handle = htole32(0);
		st->m.dump_len = htole16((uint16_t)(st->frame_len + 1));
		break;
	case M_GSO_NO_TSO:
		st->m.gso_type = TLSNIC_GSO_TCPV4;
		break;
	case M_MSS_NO_TSO:
		st->m.mss = htole16(1448);
		break;
	case M_CSUM_FIELDS_NO_CSUM:
		st->m.flags = 0;
		break;
	case M_RUNT:
		st->frame_len = 13;
		break;
	case M_TOO_LONG:
		st->s.payload_len = DSIM_MAX_FRAME - 53;	/* 54 bytes of headers */
		rebuild(st);
		break;
	case M_TSO_TOO_LONG:
		/* A valid IPv6 packet, padded past the largest TSO frame. */
		st->s.family = 6;
		st->s.payload_len = 60000;
		rebuild(st);
		set_tso(st, 1000);
		st->frame_len = DSIM_MAX_TSO_FRAME + 1;
		break;
	case M_BAD_IHL:
		frame[st->l.l3] = 0x44;
		break;
	case M_FRAGMENT_CSUM:
		ref_wr16(frame + st->l.l3 + 6, 0x2000);
		break;
	case M_CSUM_IN_IP_HDR:
		st->m.csum_start = htole16((uint16_t)(st->l.l4 - 4));
		break;
	case M_CSUM_OFFSET_PAST_END:
		st->m.csum_offset = htole16((uint16_t)(st->frame_len - st->l.l4 - 1));
		break;
	case M_CSUM_START_PAST_END:
		st->m.csum_start = htole16((uint16_t)st->frame_len);
		st->m.csum_offset = 0;
		break;
	case M_TSO_GSO_V6_ON_V4:
		set_tso(st, 1000);
		st->m.gso_type = TLSNIC_GSO_TCPV6;
		break;
	case M_TSO_GSO_NONE:
		set_tso(st, 1000);
		st->m.gso_type = TLSNIC_GSO_NONE;
		break;
	case M_TSO_UDP:
		st->s.proto = 17;
		rebuild(st);
		set_tso(st, 1000);
		break;
	case M_TSO_MSS_SMALL:
		set_tso(st, DSIM_MIN_MSS - 1);
		break;
	case M_TSO_MSS_HUGE:
		st->s.payload_len = 20000;
		rebuild(st);
		set_tso(st, (uint16_t)(DSIM_MAX_FRAME - st->l.payload + 1));
		break;
	case M_TSO_CSUM_OFFSET:
		set_tso(st, 1000);
		st->m.csum_offset = htole16(18);
		break;
	case M_TSO_NO_PAYLOAD:
		st->s.payload_len = 0;
		rebuild(st);
		set_tso(st, 1000);
		break;
	case M_TLS_NO_ENGINE:
		st->m.flags = htole16(flags | TLSNIC_TX_F_TLS);
		st->m.ctx_handle = htole32(0);
		break;
	}
	st->buf_len = sizeof(st->m) + st->frame_len;
}

static bool tx_validation_table(void)
{
	size_t i, j;

	test_fill_random(payload, sizeof(payload));
	for (i = 0; i < ARRAY_SIZE(tx_cases); i++) {
		struct tx_case_state st;
		struct dsim_counters before;
		int ret;

		memset(&st, 0, sizeof(st));
		st.s = (struct frame_spec){ .family = 4, .proto = 6, .tcp_flags = 0x10,
					    .payload = payload, .payload_len = 3000 };
		st.m.flags = htole16(TLSNIC_TX_F_CSUM);
		st.m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
		rebuild(&st);
		mutate(tx_cases[i].mut, &st);
		memcpy(txbuf, &st.m, sizeof(st.m));
		memcpy(txbuf + sizeof(st.m), frame, st.frame_len);

		before = port.cnt;
		capture_init(&cap, txbuf, st.buf_len);
		ret = dsim_tx_process(&port, txbuf, st.buf_len, &cap.out);
		CHECK(ret < 0 && cap.n == 0, "%s: ret %d, %u frames sent", tx_cases[i].name,
		      ret, cap.n);
		/* Exactly the expected counter moved, and by one. */
		for (j = 0; j < dsim_counters_num(); j++) {
			uint64_t d = dsim_counter_value(&port.cnt, j) -
				     dsim_counter_value(&before, j);
			size_t off = j * sizeof(uint64_t);

			CHECK(d == (off == tx_cases[i].counter), "%s: %s moved by %llu",
			      tx_cases[i].name, dsim_counter_name(j), (unsigned long long)d);
		}
		capture_free(&cap);
	}
	CHECK(counter_at(CNT(tx_packets)) == 0, "something was sent");
	return true;
}

/* The untouched base request of the table is accepted. */
static bool tx_base_case_passes(void)
{
	struct frame_spec s = { .family = 4, .proto = 6, .tcp_flags = 0x10,
				.payload = payload, .payload_len = 3000 };
	struct frame_layout l = build_frame(frame, &s);
	struct tlsnic_tx_meta m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.flags = htole16(TLSNIC_TX_F_CSUM);
	m.csum_start = htole16((uint16_t)l.l4);
	m.csum_offset = htole16(16);
	m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
	memcpy(txbuf, &m, sizeof(m));
	memcpy(txbuf + sizeof(m), frame, l.len);
	len = sizeof(m) + l.len;
	capture_init(&cap, txbuf, len);
	CHECK(dsim_tx_process(&port, txbuf, len, &cap.out) == 1 && cap.n == 1, "refused");
	capture_free(&cap);
	return true;
}

/* Non-IP and even broken IP frames pass when no offload is asked. */
static bool tx_no_offload_passes_anything(void)
{
	struct tlsnic_tx_meta m;
	static const size_t lens[] = { 14, 60, 1514, DSIM_MAX_FRAME };
	size_t i;

	memset(&m, 0, sizeof(m));
	m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		memcpy(txbuf, &m, sizeof(m));
		test_fill_random(txbuf + sizeof(m), lens[i]);
		txbuf[sizeof(m) + 12] = 0x08;	/* claims IPv4, random header */
		txbuf[sizeof(m) + 13] = 0x00;
		capture_init(&cap, txbuf, sizeof(m) + lens[i]);
		CHECK(dsim_tx_process(&port, txbuf, sizeof(m) + lens[i], &cap.out) == 1 &&
		      cap.n == 1 && cap.lens[0] == lens[i], "len %zu", lens[i]);
		capture_free(&cap);
	}
	return true;
}

/*
 * Random metadata in front of random frames on a port without a TLS
 * engine: no crash, no overrun, and no TLS request reaches the wire.
 */
static bool tx_fuzz(void)
{
	struct frame_spec s = { .family = 4, .proto = 6, .payload = payload };
	unsigned int tls_reqs = 0;
	int i;

	for (i = 0; i < 100000; i++) {
		struct tlsnic_tx_meta m;
		struct frame_layout l;
		size_t len;
		uint8_t *buf;

		s.family = i & 1 ? 4 : 6;
		s.proto = i & 2 ? 6 : 17;
		s.payload_len = test_rand() % 3000;
		l = build_frame(frame, &s);
		test_fill_random((uint8_t *)&m, sizeof(m));
		if (i & 4) {	/* plausible values, so deeper code runs */
			m.flags &= htole16(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS |
					   TLSNIC_TX_F_TLS_RESYNC);
			m.reserved0 = 0;
			m.reserved1 = 0;
			m.dump_len = 0;
			if (!(le16toh(m.flags) & TLSNIC_TX_F_TLS))
				m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
			m.gso_type &= 3;
			m.csum_start = htole16((uint16_t)(l.l4 + (test_rand() % 3) - 1));
			m.csum_offset = htole16((uint16_t)(test_rand() % 20));
		}
		len = sizeof(m) + l.len - (test_rand() % 4 == 0 ? test_rand() % l.len : 0);
		buf = malloc(len);	/* exact size: ASan sees any overrun */
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), frame, len - sizeof(m));
		capture_init(&cap, buf, len);
		dsim_tx_process(&port, buf, len, &cap.out);
		CHECK(!cap.bad_sends, "sent memory outside the buffer");
		/* This port has no TLS engine: a TLS request never leaves. */
		CHECK(!(le16toh(m.flags) & TLSNIC_TX_F_TLS) || !cap.n,
		      "#%d: TLS request sent without an engine", i);
		tls_reqs += !!(le16toh(m.flags) & TLSNIC_TX_F_TLS);
		capture_free(&cap);
		free(buf);
	}
	CHECK(tls_reqs > 10000 && counter_at(CNT(drop_tls_unsupported)) > 0,
	      "%u TLS requests, %llu refused for want of an engine", tls_reqs,
	      (unsigned long long)counter_at(CNT(drop_tls_unsupported)));
	return true;
}

/* ---- Random TLS requests -------------------------------------------- */

/*
 * A port with the TLS TX engine and a few contexts, and the plaintext TLS
 * stream they describe: records of TLS_PLAIN_REC bytes of payload from
 * stream offset TLS_PRE on (TCP seq TLS_SEQ0 + offset); what comes before
 * is not TLS. Any payload byte of a record that leaves the device equal
 * to the plaintext at its stream position, in a run, is a leak.
 */
#define TLS_PORT_ID	1
#define TLS_SEQ0	0x7ffff000U	/* the stream crosses 2^31 */
#define TLS_PRE		4096
#define TLS_PLAIN_REC	1000
#define TLS_REC_LEN	(13 + TLS_PLAIN_REC + 16)
#define TLS_NREC	200
#define TLS_STREAM	(TLS_PRE + TLS_NREC * TLS_REC_LEN)
#define TLS_LEAK_RUN	6	/* random ciphertext: 2^-48 per position */
#define TLS_NCTX	4

static struct dsim_port tls_port;
static uint8_t tls_stream[TLS_STREAM];
static uint32_t tls_handles[TLS_NCTX + 2];	/* live, then destroyed ones */
static uint32_t tls_cmd_tag = 1;

static int tls_command(uint8_t op, const void *body, uint32_t len, void *reply,
		       uint32_t reply_len)
{
	uint8_t msg[DSIM_CMD_MAX_LEN];
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC),
		.version = TLSNIC_ABI_VERSION_MIN,
		.opcode = op,
		.tag = htole32(tls_cmd_tag++),
		.len = htole32(len),
	};
	const struct dsim_msg *m;
	struct tlsnic_msg_hdr rh;
	int status;

	/* TX_DROP events queued by the traffic: not what is asked here. */
	while (dsim_msgq_peek(&tls_port.msgq))
		dsim_msgq_pop(&tls_port.msgq);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), body, len);
	if (dsim_cmd_process(&tls_port, msg, sizeof(h) + len))
		return -1;
	m = dsim_msgq_peek(&tls_port.msgq);
	if (!m)
		return -1;
	memcpy(&rh, m->data, sizeof(rh));
	status = le16toh(rh.status);
	if (reply && status == TLSNIC_ST_OK && le32toh(rh.len) == reply_len)
		memcpy(reply, m->data + sizeof(rh), reply_len);
	dsim_msgq_pop(&tls_port.msgq);
	return status;
}

static bool tls_ctx_create(int family, uint32_t *handle)
{
	struct tlsnic_ctx_create c = {
		.dir = TLSNIC_DIR_TX,
		.tls_version = TLSNIC_TLS_1_2,
		.cipher = TLSNIC_CIPHER_AES_GCM_128,
		.family = (uint8_t)family,
		.tcp_seq = htole32(TLS_SEQ0 + TLS_PRE),
		.sport = htobe16(40000),
		.dport = htobe16(443),
	};
	struct tlsnic_ctx_ref ref = { 0 };

	test_fill_random(c.key, sizeof(c.key));
	test_fill_random(c.salt, sizeof(c.salt));
	memset(c.iv, 0, sizeof(c.iv));	/* the stream's nonces count from 0 */
	if (family == 4) {
		memcpy(c.saddr, test_src4, 4);
		memcpy(c.daddr, test_dst4, 4);
	} else {
		memcpy(c.saddr, test_src6, 16);
		memcpy(c.daddr, test_dst6, 16);
	}
	if (tls_command(TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref, sizeof(ref)) !=
	    TLSNIC_ST_OK)
		return false;
	*handle = le32toh(ref.handle);
	return true;
}

/* Records 0..TLS_NREC-1 in the kernel's plaintext form, tag space zero. */
static void tls_stream_make(void)
{
	unsigned int r;

	test_fill_random(tls_stream, TLS_PRE);
	for (r = 0; r < TLS_NREC; r++) {
		uint8_t *rec = tls_stream + TLS_PRE + r * TLS_REC_LEN;

		rec[0] = 23;
		rec[1] = 3;
		rec[2] = 3;
		ref_wr16(rec + 3, TLS_REC_LEN - 5);
		memset(rec + 5, 0, 8);
		ref_wr32(rec + 9, r);	/* explicit nonce: iv 0 + record number */
		test_fill_random(rec + 13, TLS_PLAIN_REC);
		memset(rec + 13 + TLS_PLAIN_REC, 0, 16);
	}
}

static bool tls_ctx_destroy(uint32_t handle)
{
	struct tlsnic_ctx_ref ref = { .handle = htole32(handle) };

	return tls_command(TLSNIC_OP_CTX_DESTROY, &ref, sizeof(ref), NULL, 0) ==
	       TLSNIC_ST_OK;
}

/* Context @c starts over with a new handle; its old one joins the stale. */
static bool tls_ctx_renew(unsigned int c)
{
	uint32_t old = tls_handles[c];

	if (!tls_ctx_destroy(old) || !tls_ctx_create(c & 1 ? 6 : 4, &tls_handles[c]))
		return false;
	tls_handles[TLS_NCTX + (test_rand() & 1)] = old;
	return true;
}

static bool tls_setup(void)
{
	unsigned int i;

	if (dsim_port_init(&tls_port, TLS_PORT_ID, 16))
		return false;
	dsim_port_set_version(&tls_port, TLSNIC_ABI_VERSION_MIN);	/* identified */
	tls_port.tls = &tls_dev_tx_ops;
	tls_dev_counters_reset(TLS_PORT_ID);
	tls_stream_make();
	/* Two contexts destroyed: their handles are stale from then on. */
	for (i = 0; i < TLS_NCTX + 2; i++)
		if (!tls_ctx_create(i & 1 ? 6 : 4, &tls_handles[i]))
			return false;
	for (i = TLS_NCTX; i < TLS_NCTX + 2; i++)
		if (!tls_ctx_destroy(tls_handles[i]))
			return false;
	return true;
}

/* Is stream offset @off payload of a record (not header, not tag)? */
static bool tls_is_plain(int64_t off)
{
	int64_t in;

	if (off < TLS_PRE || off >= TLS_STREAM)
		return false;
	in = (off - TLS_PRE) % TLS_REC_LEN;
	return in >= 13 && in < 13 + TLS_PLAIN_REC;
}

/* The longest run of record plaintext at its own stream position in @f. */
static size_t tls_leak_run(const uint8_t *f, size_t len, const struct frame_layout *l)
{
	size_t j, run = 0, worst = 0;
	uint32_t seq;

	if (len < l->l4 + 8 || len <= l->payload)
		return 0;
	seq = ref_rd32(f + l->l4 + 4);
	for (j = l->payload; j < len; j++) {
		int64_t off = (int32_t)(seq + (uint32_t)(j - l->payload) - TLS_SEQ0);

		if (tls_is_plain(off) && f[j] == tls_stream[off])
			run++;
		else
			run = 0;
		if (run > worst)
			worst = run;
	}
	return worst;
}

static uint64_t port_drops(const struct dsim_port *p)
{
	uint64_t sum = 0;
	unsigned int j;

	for (j = 0; j < dsim_counters_num(); j++)
		if (!strncmp(dsim_counter_name(j), "drop_", 5))
			sum += dsim_counter_value(&p->cnt, j);
	return sum;
}

static uint64_t tls_drops(void)
{
	const struct tls_dev_counters *t = tls_dev_counters(TLS_PORT_ID);

	return t->tx_tls_drop_bad_handle + t->tx_tls_drop_not_tcp +
	       t->tx_tls_drop_no_sync_data + t->tx_tls_drop_dump_len +
	       t->tx_tls_drop_bad_record + t->tx_tls_drop_resync_info +
	       t->tx_tls_drop_resync_conflict + t->tx_tls_drop_error +
	       t->tx_tls_drop_injected;
}

/* Random fields, with plausible values half of the time. */
static void tls_random_meta(struct tlsnic_tx_meta *m, const struct frame_layout *l,
			    int family, uint32_t seq, int i)
{
	static const uint16_t mss[] = { 536, 1000, 1448, 1460 };
	uint32_t r = test_rand();

	test_fill_random((uint8_t *)m, sizeof(*m));
	if (i & 4)
		return;
	m->flags &= htole16(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS |
			    TLSNIC_TX_F_TLS_RESYNC);
	if (r & 1)
		m->flags |= htole16(TLSNIC_TX_F_TLS | TLSNIC_TX_F_CSUM);
	m->reserved0 = 0;
	m->reserved1 = 0;
	m->csum_start = htole16((uint16_t)l->l4);
	m->csum_offset = htole16(16);
	if (le16toh(m->flags) & TLSNIC_TX_F_TSO) {
		m->gso_type = family == 4 ? TLSNIC_GSO_TCPV4 : TLSNIC_GSO_TCPV6;
		m->mss = htole16(mss[(r >> 1) & 3]);
	} else {
		m->gso_type = TLSNIC_GSO_NONE;
		m->mss = 0;
	}
	switch ((r >> 3) & 7) {
	case 0:
		m->ctx_handle = htole32(TLSNIC_HANDLE_NONE);
		break;
	case 1:		/* destroyed */
		m->ctx_handle = htole32(tls_handles[TLS_NCTX + ((r >> 6) & 1)]);
		break;
	case 2:		/* a live context's index with another generation */
		m->ctx_handle = htole32(tls_handles[(r >> 6) % TLS_NCTX] +
					(1U << TLSNIC_HANDLE_INDEX_BITS));
		break;
	case 3:		/* random */
		break;
	default:
		m->ctx_handle = htole32(tls_handles[(r >> 6) % TLS_NCTX]);
		break;
	}
	if (!(le16toh(m->flags) & TLSNIC_TX_F_TLS_RESYNC)) {
		m->dump_len = 0;
		return;
	}
	/* Resync info near the truth: a record start, or a bit off. */
	{
		uint32_t rec = (r >> 9) % TLS_NREC;
		uint32_t rec_seq = TLS_SEQ0 + TLS_PRE + rec * TLS_REC_LEN;

		if ((r >> 16) & 1)
			rec_seq += (uint32_t)((r >> 17) % 40) - 20;
		m->rec_tcp_seq = htole32(rec_seq);
		memset(m->rec_seq, 0, sizeof(m->rec_seq));
		m->rec_seq[7] = (uint8_t)(rec + ((r >> 23) & 1));
		m->dump_len = seq - rec_seq < 3000 && (r >> 24) & 1 ?
			      htole16((uint16_t)(seq - rec_seq)) : 0;
	}
}

/*
 * Random metadata, TLS flags and handles included (live, destroyed, wrong
 * generation, random), in front of frames that carry the TLS stream at a
 * random or an in-order position: the device sends or drops each, never
 * crashes, never overruns, never sends a TLS record's plaintext, and
 * counts what it drops.
 */
static bool tx_tls_fuzz(void)
{
	const struct tls_dev_counters *t = tls_dev_counters(TLS_PORT_ID);
	struct frame_spec s = { .proto = 6, .tcp_flags = 0x18 };
	uint32_t next[TLS_NCTX];
	uint64_t tls_sent = 0, tls_dropped = 0;
	int i;

	for (i = 0; i < TLS_NCTX; i++)
		next[i] = TLS_PRE;
	for (i = 0; i < 100000; i++) {
		struct tlsnic_tx_meta m;
		struct frame_layout l;
		uint64_t drops;
		unsigned int k, c = test_rand() % TLS_NCTX;
		size_t off, plen, len, dump = 0;
		bool tls;
		uint8_t *buf;
		int ret;

		s.family = c & 1 ? 6 : 4;
		plen = 1 + test_rand() % 6000;
		/* In order for context c half of the time, else anywhere. */
		off = i & 8 ? next[c] : test_rand() % TLS_STREAM;
		if (off + plen > TLS_STREAM) {
			/* Context c is at the end: a new one, the old one stale. */
			if (!tls_ctx_renew(c))
				return false;
			off = TLS_PRE;
			next[c] = TLS_PRE;
		}
		s.seq = TLS_SEQ0 + (uint32_t)off;
		s.payload = tls_stream + off;
		s.payload_len = plen;
		l = build_frame(frame, &s);
		tls_random_meta(&m, &l, s.family, s.seq, i);
		if (i & 8 && !(i & 4)) {
			m.ctx_handle = htole32(tls_handles[c]);
			m.flags &= htole16((uint16_t)~TLSNIC_TX_F_TLS_RESYNC);
			m.dump_len = 0;
		}
		tls = le16toh(m.flags) & TLSNIC_TX_F_TLS;
		if (le16toh(m.flags) & TLSNIC_TX_F_TLS_RESYNC)
			dump = le16toh(m.dump_len);
		len = sizeof(m) + dump + l.len;
		if (test_rand() % 8 == 0)
			len -= test_rand() % (l.len + dump);
		buf = malloc(len);	/* exact size: ASan sees any overrun */
		memcpy(buf, &m, sizeof(m));
		/* The dump: the stream bytes before the frame, where there are. */
		for (k = 0; k < dump && sizeof(m) + k < len; k++)
			buf[sizeof(m) + k] = off + k >= dump ? tls_stream[off + k - dump] : 0;
		if (len > sizeof(m) + dump)
			memcpy(buf + sizeof(m) + dump, frame, len - sizeof(m) - dump);
		drops = port_drops(&tls_port) + tls_drops();
		capture_init(&cap, buf, len);
		ret = dsim_tx_process(&tls_port, buf, len, &cap.out);
		CHECK(!cap.bad_sends, "#%d: sent memory outside the buffer", i);
		CHECK(ret < 0 ? cap.n == 0 : (unsigned int)ret == cap.n,
		      "#%d: returned %d, sent %u", i, ret, cap.n);
		CHECK(ret >= 0 || port_drops(&tls_port) + tls_drops() == drops + 1,
		      "#%d: dropped (%d) but %llu drop counters moved", i, ret,
		      (unsigned long long)(port_drops(&tls_port) + tls_drops() - drops));
		for (k = 0; tls && k < cap.n; k++) {
			size_t run = tls_leak_run(cap.frames[k], cap.lens[k], &l);

			CHECK(run < TLS_LEAK_RUN, "#%d: frame %u of a TLS request carries "
			      "%zu plaintext bytes (flags %#x, handle %#x, seq %#x)", i, k,
			      run, le16toh(m.flags), le32toh(m.ctx_handle), s.seq);
		}
		if (tls) {
			tls_sent += ret > 0;
			tls_dropped += ret < 0;
		}
		if (ret > 0 && tls && m.ctx_handle == htole32(tls_handles[c]) &&
		    off == next[c])
			next[c] += plen;
		capture_free(&cap);
		free(buf);
	}
	/* Both outcomes happened, through the engine. */
	CHECK(tls_sent > 1000 && tls_dropped > 1000 && t->tx_tls_encrypted_packets > 1000 &&
	      t->tx_tls_drop_bad_handle > 100,
	      "TLS requests sent %llu, dropped %llu, encrypted %llu, bad handle %llu",
	      (unsigned long long)tls_sent, (unsigned long long)tls_dropped,
	      (unsigned long long)t->tx_tls_encrypted_packets,
	      (unsigned long long)t->tx_tls_drop_bad_handle);
	printf("# TLS requests: %llu sent, %llu dropped; encrypted %llu, ooo %llu, "
	       "bad handle %llu, bad record %llu, no sync data %llu\n",
	       (unsigned long long)tls_sent, (unsigned long long)tls_dropped,
	       (unsigned long long)t->tx_tls_encrypted_packets,
	       (unsigned long long)t->tx_tls_ooo,
	       (unsigned long long)t->tx_tls_drop_bad_handle,
	       (unsigned long long)t->tx_tls_drop_bad_record,
	       (unsigned long long)t->tx_tls_drop_no_sync_data);
	return true;
}

/* ---- RX -------------------------------------------------------------- */

static bool rx_expect(const char *what, uint8_t *f, size_t len, bool ok, size_t counter)
{
	struct tlsnic_rx_meta meta;
	struct dsim_counters before = port.cnt;
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, f, len);
	dsim_rx_process(&port, copy, len, &meta);
	free(copy);
	CHECK(!!(le16toh(meta.flags) & TLSNIC_RX_F_CSUM_OK) == ok, "%s: flags %#x", what,
	      le16toh(meta.flags));
	CHECK(!(le16toh(meta.flags) & TLSNIC_RX_F_TLS_DECRYPTED) &&
	      le32toh(meta.ctx_handle) == TLSNIC_HANDLE_NONE && !meta.reserved0 &&
	      !meta.resync_seq && !meta.resync_id, "%s: other meta fields", what);
	CHECK(counter_at(counter) == *(const uint64_t *)((const char *)&before + counter) + 1,
	      "%s: counter", what);
	CHECK(port.cnt.rx_csum_ok + port.cnt.rx_csum_bad + port.cnt.rx_csum_none ==
	      before.rx_csum_ok + before.rx_csum_bad + before.rx_csum_none + 1,
	      "%s: one verdict per frame", what);
	return true;
}

static bool rx_checksums(void)
{
	struct frame_spec s = { .proto = 6, .tcp_flags = 0x10, .payload = payload };
	struct frame_layout l;
	int fam, proto;
	uint8_t arp[60];

	test_fill_random(payload, sizeof(payload));
	for (fam = 4; fam <= 6; fam += 2)
		for (proto = 6; proto <= 17; proto += 11) {
			s.family = fam;
			s.proto = (uint8_t)proto;
			s.vlans = proto == 17;
			s.payload_len = 999;
			l = build_frame(frame, &s);
			if (!rx_expect("good", frame, l.len, true, CNT(rx_csum_ok)))
				return false;
			/* Ethernet padding does not disturb the verdict. */
			memset(frame + l.len, 0x5a, 16);
			if (!rx_expect("padded", frame, l.len + 16, true, CNT(rx_csum_ok)))
				return false;
			frame[l.payload + 500] ^= 0x04;
			if (!rx_expect("payload bit flip", frame, l.len, false, CNT(rx_csum_bad)))
				return false;
			frame[l.payload + 500] ^= 0x04;
			frame[l.l4 + 1] ^= 0x80;
			if (!rx_expect("port bit flip", frame, l.len, false, CNT(rx_csum_bad)))
				return false;
			frame[l.l4 + 1] ^= 0x80;
			if (fam == 4) {
				frame[l.l3 + 8] ^= 1;	/* TTL: only the IP sum covers it */
				if (!rx_expect("ip header", frame, l.len, false, CNT(rx_csum_bad)))
					return false;
				frame[l.l3 + 8] ^= 1;
			}
			/* A truncated IP packet is damaged, not "not IP". */
			if (!rx_expect("truncated", frame, l.l4 + 4, false, CNT(rx_csum_bad)))
				return false;
		}

	/* UDP without checksum: allowed in IPv4 (nothing verified), not in IPv6. */
	s.proto = 17;
	s.vlans = 0;
	s.family = 4;
	l = build_frame(frame, &s);
	ref_wr16(frame + l.l4 + 6, 0);
	if (!rx_expect("v4 udp no csum", frame, l.len, false, CNT(rx_csum_none)))
		return false;
	s.family = 6;
	l = build_frame(frame, &s);
	ref_wr16(frame + l.l4 + 6, 0);
	if (!rx_expect("v6 udp zero csum", frame, l.len, false, CNT(rx_csum_bad)))
		return false;

	/* A fragment's L4 cannot be verified. */
	s.family = 4;
	s.proto = 6;
	l = build_frame(frame, &s);
	ref_wr16(frame + l.l3 + 6, 0x2000);
	ref_wr16(frame + l.l3 + 10, 0);
	ref_wr16(frame + l.l3 + 10, (uint16_t)~ref_sum(0, frame + l.l3, 20));
	if (!rx_expect("fragment", frame, l.len, false, CNT(rx_csum_none)))
		return false;

	memset(arp, 0, sizeof(arp));
	arp[12] = 0x08;
	arp[13] = 0x06;
	return rx_expect("arp", arp, sizeof(arp), false, CNT(rx_csum_none));
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "tx_validation_table", tx_validation_table },
		{ "tx_base_case_passes", tx_base_case_passes },
		{ "tx_no_offload_passes_anything", tx_no_offload_passes_anything },
		{ "tx_fuzz", tx_fuzz },
		{ "tx_tls_fuzz", tx_tls_fuzz },
		{ "rx_checksums", rx_checksums },
	};
	int ret;

	if (dsim_port_init(&port, 0, 16) || !tls_setup())
		return 1;
	ret = run_tests(tests, ARRAY_SIZE(tests));
	dsim_port_fini(&tls_port);
	dsim_port_fini(&port);
	return ret;
}
