// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the guest TX buffer, tlsnic_tx_meta | dump | frame,
 * through dsim_tx_process() (devsim/pipeline.c) on a port with the TLS TX
 * engine and two TX contexts (handle 0: IPv4, AES-GCM-128, first record at
 * TCP sequence FZ_CTX_V4_TCP_SEQ; handle 1: IPv6, AES-GCM-256). Every flag,
 * TLS and resync included, is the input's: nothing is masked.
 *
 * Each chunk of the input (fuzz_common.h) is one TX buffer; the contexts'
 * stream state carries over from one to the next. Op bits:
 *   0x01  drain the message queue first (TX_DROP events)
 *   0x02  destroy context 0 and create it again (its old handle is stale)
 *   0x04  this buffer meets a port without a TLS engine
 *   0x08  this buffer's TSO gets one device buffer, no more
 *   0x10  from here on, --tls-tx-fail 50 (injected drops of in-order frames)
 *
 * Checked after every buffer: a refused buffer sends nothing, counts
 * exactly one drop reason and queues at most one TX_DROP event (TLS only);
 * an accepted one counts none (but the segments it had no buffer for,
 * each in drop_no_mbuf), sends as many frames as it says, each
 * between an Ethernet header and DSIM_MAX_FRAME bytes; a TLS frame sent was
 * either encrypted or passed as pre-offload data; TSO segments parse, carry
 * correct IPv4 and L4 checksums (independent oracle), at most mss payload
 * bytes each, in sequence, and together exactly the frame's payload.
 */
#include "fuzz_port.h"
#include "csum.h"
#include "pipeline.h"

#define OP_DRAIN	0x01
#define OP_RECREATE	0x02
#define OP_NO_ENGINE	0x04
#define OP_ONE_BUFFER	0x08
#define OP_TX_FAIL	0x10

#define MAX_OUT		2048

struct out_state {
	unsigned int max_alloc;
	uint8_t *alloced[MAX_OUT];
	unsigned int nr_alloced;
	uint8_t *sent[MAX_OUT];
	size_t sent_len[MAX_OUT];
	unsigned int nr_sent;
};

static struct dsim_port port;
static struct out_state out_st;
/* FUZZ_VERBOSE=1: one line per buffer, to see what a corpus input does. */
static bool verbose;

static uint8_t *out_alloc(void *arg, size_t len)
{
	struct out_state *o = arg;
	uint8_t *b;

	if (o->nr_alloced == o->max_alloc)
		return NULL;
	/* Exact size: a write past the segment is an ASan report. */
	b = malloc(len ? len : 1);
	FZ_CHECK(b, "malloc");
	o->alloced[o->nr_alloced++] = b;
	return b;
}

static void out_send(void *arg, uint8_t *frame, size_t len)
{
	struct out_state *o = arg;

	FZ_CHECK(o->nr_sent < MAX_OUT, "too many frames sent");
	o->sent[o->nr_sent] = frame;
	o->sent_len[o->nr_sent++] = len;
}

static void out_reset(struct out_state *o)
{
	while (o->nr_alloced)
		free(o->alloced[--o->nr_alloced]);
	o->nr_sent = 0;
}

static uint64_t drops(const struct dsim_port *p)
{
	const struct tls_dev_counters *t = tls_dev_counters(p->id);
	const struct dsim_counters *c = &p->cnt;

	return c->drop_meta_short + c->drop_meta_flags + c->drop_meta_reserved +
	       c->drop_meta_dump + c->drop_meta_csum + c->drop_meta_gso +
	       c->drop_meta_handle + c->drop_frame_len + c->drop_bad_frame +
	       c->drop_tls_unsupported + c->drop_no_mbuf + c->drop_no_peer +
	       c->drop_chained + t->tx_tls_drop_bad_handle + t->tx_tls_drop_not_tcp +
	       t->tx_tls_drop_no_sync_data + t->tx_tls_drop_dump_len +
	       t->tx_tls_drop_bad_record + t->tx_tls_drop_resync_info +
	       t->tx_tls_drop_resync_conflict + t->tx_tls_drop_error +
	       t->tx_tls_drop_injected;
}

/* TSO output against the frame it was cut from (after TLS, in place). */
static void check_segments(const struct out_state *o, const uint8_t *frame, size_t flen,
			   uint16_t mss, uint64_t no_mbuf)
{
	struct dsim_frame_info fi, si;
	uint32_t hdr_len, pay_len, seq, done = 0;
	unsigned int i;

	FZ_CHECK(dsim_frame_parse(frame, flen, &fi) == DSIM_FRAME_OK, "TSO frame reparse");
	hdr_len = fi.l4_off + fi.l4_hlen;
	pay_len = fi.l3_end - hdr_len;
	seq = dsim_get_be32(frame + fi.l4_off + 4);
	FZ_CHECK(o->nr_sent + no_mbuf == (pay_len + mss - 1) / mss,
		 "%u segments (%llu without buffer) for %u bytes, mss %u", o->nr_sent,
		 (unsigned long long)no_mbuf, pay_len, mss);
	for (i = 0; i < o->nr_sent; i++) {
		const uint8_t *s = o->sent[i];
		size_t len = o->sent_len[i];
		uint32_t seg_pay;

		FZ_CHECK(dsim_frame_parse(s, len, &si) == DSIM_FRAME_OK && !si.fragment &&
			 si.l3 == fi.l3 && si.l4_proto == DSIM_IPPROTO_TCP &&
			 si.l4_off == fi.l4_off && si.l3_end == len, "segment %u unparseable", i);
		seg_pay = (uint32_t)len - hdr_len;
		FZ_CHECK(seg_pay >= 1 && seg_pay <= mss, "segment %u: %u bytes", i, seg_pay);
		FZ_CHECK(dsim_get_be32(s + si.l4_off + 4) == seq + done, "segment %u seq", i);
		FZ_CHECK(!memcmp(s + hdr_len, frame + hdr_len + done, seg_pay),
			 "segment %u payload", i);
		if (si.l3 == DSIM_L3_IPV4)
			FZ_CHECK(fz_sum(0, s + si.l3_off, si.l3_hlen) == 0xffff,
				 "segment %u IPv4 checksum", i);
		FZ_CHECK(fz_l4_sum_ok(s + si.l3_off, si.l3 == DSIM_L3_IPV6, DSIM_IPPROTO_TCP,
				      s + si.l4_off, (uint32_t)len - si.l4_off),
			 "segment %u TCP checksum", i);
		done += seg_pay;
	}
	FZ_CHECK(no_mbuf || done == pay_len, "segments carry %u of %u bytes", done, pay_len);
}

static void one_buffer(struct dsim_port *p, uint8_t op, const uint8_t *data, size_t len)
{
	const struct tls_dev_counters *t = tls_dev_counters(p->id);
	uint64_t drops0 = drops(p), tx_packets = p->cnt.tx_packets, no_mbuf;
	uint64_t enc = t->tx_tls_encrypted_packets, skip = t->tx_tls_skip_no_sync_data;
	uint32_t msgs = dsim_msgq_count(&p->msgq);
	const struct dsim_tx_out out = { out_alloc, out_send, &out_st };
	struct tlsnic_tx_meta m;
	uint16_t flags = 0, dump_len = 0;
	uint8_t *buf, *frame = NULL;
	size_t flen = 0;
	unsigned int i;
	int ret;

	buf = malloc(len ? len : 1);
	FZ_CHECK(buf, "malloc");
	memcpy(buf, data, len);
	if (len >= sizeof(m)) {
		memcpy(&m, buf, sizeof(m));
		flags = le16toh(m.flags);
		dump_len = le16toh(m.dump_len);
		if (dump_len <= len - sizeof(m)) {
			frame = buf + sizeof(m) + dump_len;
			flen = len - sizeof(m) - dump_len;
		}
	}

	out_st.max_alloc = op & OP_ONE_BUFFER ? 1 : MAX_OUT;
	if (op & OP_NO_ENGINE)
		p->tls = NULL;
	ret = dsim_tx_process(p, buf, len, &out);
	p->tls = &tls_dev_tx_ops;
	if (verbose)
		fprintf(stderr, "tx: %zu bytes, flags %#x: %d (encrypted %llu, passed %llu)\n",
			len, flags, ret, (unsigned long long)t->tx_tls_encrypted_packets,
			(unsigned long long)t->tx_tls_skip_no_sync_data);

	if (ret < 0) {
		FZ_CHECK(out_st.nr_sent == 0 && p->cnt.tx_packets == tx_packets,
			 "refused buffer (%d) sent %u frames", ret, out_st.nr_sent);
		FZ_CHECK(drops(p) == drops0 + 1, "refusal (%d) counted %llu times", ret,
			 (unsigned long long)(drops(p) - drops0));
		FZ_CHECK(dsim_msgq_count(&p->msgq) <= msgs + 1 &&
			 (dsim_msgq_count(&p->msgq) == msgs || (flags & TLSNIC_TX_F_TLS)),
			 "refusal queued %u messages", dsim_msgq_count(&p->msgq) - msgs);
		goto out;
	}
	FZ_CHECK(ret > 0 && (unsigned int)ret == out_st.nr_sent, "returned %d, sent %u",
		 ret, out_st.nr_sent);
	no_mbuf = drops(p) - drops0;
	FZ_CHECK(no_mbuf == 0 || (out_st.max_alloc < MAX_OUT && (flags & TLSNIC_TX_F_TSO)),
		 "accepted buffer counted as a drop");
	FZ_CHECK(p->cnt.tx_packets == tx_packets + (uint64_t)ret, "tx_packets");
	FZ_CHECK(dsim_msgq_count(&p->msgq) == msgs, "accepted buffer queued a message");
	FZ_CHECK(frame, "accepted a buffer with no frame");
	for (i = 0; i < out_st.nr_sent; i++) {
		const uint8_t *s = out_st.sent[i];
		size_t sl = out_st.sent_len[i];

		FZ_CHECK(sl >= DSIM_ETH_HLEN && sl <= DSIM_MAX_FRAME, "frame %u: %zu bytes", i, sl);
		/* In place (the frame itself) or a buffer from alloc(). */
		FZ_CHECK((s == frame && sl == flen) ||
			 (s >= frame + flen || s + sl <= buf), "frame %u overlaps the buffer", i);
	}
	if (flags & TLSNIC_TX_F_TLS)
		FZ_CHECK(t->tx_tls_encrypted_packets + t->tx_tls_skip_no_sync_data == enc + skip + 1,
			 "TLS frame sent neither encrypted nor as pre-offload data");
	if (flags & TLSNIC_TX_F_TSO)
		check_segments(&out_st, frame, flen, le16toh(m.mss), no_mbuf);
	else
		FZ_CHECK(ret == 1 && out_st.sent[0] == frame && out_st.sent_len[0] == flen,
			 "non-TSO buffer not sent in place");
out:
	out_reset(&out_st);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_reader r = { data, size };
	const uint8_t *chunk;
	uint32_t handle0 = 0;
	size_t len;
	uint8_t op;

	verbose = getenv("FUZZ_VERBOSE");
	fz_port_setup(&port, true);
	tls_dev_set_tx_fail(0, 0);
	while (fz_next_chunk(&r, &op, &chunk, &len)) {
		if (op & OP_DRAIN)
			fz_drain(&port);
		if (op & OP_RECREATE) {
			struct dsim_ctx *ctx = dsim_ctx_lookup(&port.ctxs, handle0);

			if (ctx)
				dsim_port_ctx_destroy(&port, ctx);
			fz_drain(&port);
			handle0 = fz_ctx_create(&port, false);
			fz_drain(&port);
		}
		if (op & OP_TX_FAIL)
			tls_dev_set_tx_fail(50, 1);
		one_buffer(&port, op, chunk, len);
	}
	tls_dev_set_tx_fail(0, 0);
	dsim_port_fini(&port);
	return 0;
}
