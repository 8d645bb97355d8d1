// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP tests of the TLS TX engine plugged into a devsim port
 * (devsim/tls_dev.c): contexts made through the command channel, guest TX
 * buffers (tlsnic_tx_meta | dump | frame) through dsim_tx_process(), and
 * what reaches the wire checked against one-shot EVP AES-GCM records and
 * TCP checksums. Whatever is refused must send nothing (invariant 1,
 * docs/invariants.md), and is reported to the driver with one TX_DROP event
 * per context until the driver resyncs; --tls-tx-fail's injected failures are seeded.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cmd.h"
#include "csum.h"
#include "pipeline.h"
#include "port.h"
#include "tls_dev.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define ETH_LEN		14
#define IP_LEN		20
#define TCP_LEN		20
#define HDRS		(ETH_LEN + IP_LEN + TCP_LEN)
#define ISN		0xfffff000U	/* sequence numbers wrap mid-stream */
#define MSS		1400
#define MAX_OUT		128

static const size_t rec_plain[] = { 3000, 100, 5000, 1, 16384 };

static uint8_t key[32], salt[4], iv[8];
static const uint8_t saddr[4] = { 10, 77, 0, 1 }, daddr[4] = { 10, 77, 0, 2 };
static const uint16_t sport = 40000, dport = 443;

static uint8_t plain[64 * 1024];	/* kernel plaintext form */
static uint8_t wire[64 * 1024];		/* records encrypted by EVP */
static size_t stream_len;
static size_t rec_off[ARRAY_SIZE(rec_plain)];

/* What the pipeline sent, frame by frame. */
static struct {
	uint8_t frame[DSIM_MAX_FRAME];
	size_t len;
} out_frames[MAX_OUT];
static unsigned int n_out;
static uint8_t out_pool[DSIM_MAX_FRAME];

static uint8_t txbuf[DSIM_MAX_TX_BUF];

static struct dsim_port port;

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint8_t *out_alloc(void *arg, size_t len)
{
	(void)arg;
	return len <= sizeof(out_pool) ? out_pool : NULL;
}

static void out_send(void *arg, uint8_t *frame, size_t len)
{
	(void)arg;
	if (n_out < MAX_OUT && len <= sizeof(out_frames[0].frame)) {
		memcpy(out_frames[n_out].frame, frame, len);
		out_frames[n_out].len = len;
	}
	n_out++;
}

static const struct dsim_tx_out tx_out = {
	.alloc = out_alloc,
	.send = out_send,
};

/* Records made with one-shot EVP, the reference for this test. */
static bool make_stream(void)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t off = 0;
	bool ok = c;

	for (size_t i = 0; ok && i < ARRAY_SIZE(rec_plain); i++) {
		size_t len = rec_plain[i], clen = len + 24;
		uint8_t nonce[12], aad[13], *r = plain + off;
		uint64_t num = 5 + i, n = be64toh(*(uint64_t *)iv) + i;
		int outl;

		rec_off[i] = off;
		r[0] = 23;
		r[1] = 3;
		r[2] = 3;
		r[3] = (uint8_t)(clen >> 8);
		r[4] = (uint8_t)clen;
		n = htobe64(n);
		memcpy(r + 5, &n, 8);
		if (RAND_bytes(r + 13, (int)len) != 1)
			ok = false;
		memset(r + 13 + len, 0x5a, 16);
		memcpy(wire + off, r, 13);
		memcpy(nonce, salt, 4);
		memcpy(nonce + 4, r + 5, 8);
		num = htobe64(num);
		memcpy(aad, &num, 8);
		memcpy(aad + 8, r, 3);
		aad[11] = (uint8_t)(len >> 8);
		aad[12] = (uint8_t)len;
		ok = ok && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key,
					      nonce) == 1 &&
		     EVP_EncryptUpdate(c, NULL, &outl, aad, 13) == 1 &&
		     EVP_EncryptUpdate(c, wire + off + 13, &outl, r + 13,
				       (int)len) == 1 &&
		     EVP_EncryptFinal_ex(c, wire + off + 13 + len, &outl) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
					 wire + off + 13 + len) == 1;
		off += 5 + clen;
	}
	stream_len = off;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

static uint32_t tag_seq = 1;

/* Sends one command, returns the reply status; @body_out gets the body. */
static int command(uint8_t op, const void *body, uint32_t len, void *reply,
		   uint32_t reply_len)
{
	uint8_t msg[DSIM_CMD_MAX_LEN];
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC),
		.version = TLSNIC_ABI_VERSION_MIN,
		.opcode = op,
		.tag = htole32(tag_seq++),
		.len = htole32(len),
	};
	const struct dsim_msg *m;
	struct tlsnic_msg_hdr rh;
	int status;

	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), body, len);
	if (dsim_cmd_process(&port, msg, sizeof(h) + len))
		return -1;
	m = dsim_msgq_peek(&port.msgq);
	if (!m)
		return -1;
	memcpy(&rh, m->data, sizeof(rh));
	status = le16toh(rh.status);
	if (reply && status == TLSNIC_ST_OK && le32toh(rh.len) == reply_len)
		memcpy(reply, m->data + sizeof(rh), reply_len);
	dsim_msgq_pop(&port.msgq);
	return status;
}

static int ctx_create(uint8_t dir, uint32_t *handle)
{
	struct tlsnic_ctx_create c;
	struct tlsnic_ctx_ref ref;
	int st;

	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.tls_version = TLSNIC_TLS_1_2;
	c.cipher = TLSNIC_CIPHER_AES_GCM_256;
	c.family = 4;
	memcpy(c.key, key, 32);
	memcpy(c.salt, salt, 4);
	memcpy(c.iv, iv, 8);
	c.rec_seq[7] = 5;
	c.tcp_seq = htole32(ISN);
	memcpy(c.saddr, saddr, 4);
	memcpy(c.daddr, daddr, 4);
	c.sport = htobe16(sport);
	c.dport = htobe16(dport);
	st = command(TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref, sizeof(ref));
	*handle = le32toh(ref.handle);
	return st;
}

static int ctx_destroy(uint32_t handle)
{
	struct tlsnic_ctx_ref ref = { .handle = htole32(handle) };

	return command(TLSNIC_OP_CTX_DESTROY, &ref, sizeof(ref), NULL, 0);
}

struct frame_opts {
	uint32_t handle;
	bool tso;
	bool resync;
	bool dump;		/* with resync: record bytes before the frame */
	int32_t rec_shift;	/* with resync: added to the record's start */
	uint16_t dport;		/* 0: the context's */
	bool pieces;		/* as a chained buffer: dsim_tx_process_sg() */
};

/* Index of the record holding stream byte @off. */
static size_t rec_at(size_t off)
{
	size_t i = ARRAY_SIZE(rec_plain) - 1;

	while (rec_off[i] > off)
		i--;
	return i;
}

/*
 * Builds the guest TX buffer for stream bytes [off, off + len) and runs it
 * through the pipeline. Returns dsim_tx_process()'s result.
 */
static int send_range(size_t off, size_t len, const struct frame_opts *o)
{
	struct tlsnic_tx_meta m;
	size_t dump_len = 0, r = rec_at(off), flen = HDRS + len;
	uint8_t *f, *ip, *tcp;
	uint32_t sum;

	memset(&m, 0, sizeof(m));
	m.flags = TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TLS;
	m.csum_start = htole16(ETH_LEN + IP_LEN);
	m.csum_offset = htole16(16);
	m.ctx_handle = htole32(o->handle);
	if (o->tso) {
		m.flags |= TLSNIC_TX_F_TSO;
		m.mss = htole16(MSS);
		m.gso_type = TLSNIC_GSO_TCPV4;
	}
	if (o->resync) {
		m.flags |= TLSNIC_TX_F_TLS_RESYNC;
		m.rec_tcp_seq = htole32((uint32_t)(ISN + rec_off[r]) +
					(uint32_t)o->rec_shift);
		m.rec_seq[7] = (uint8_t)(5 + r);
		if (o->dump)
			dump_len = off - rec_off[r];
		m.dump_len = htole16((uint16_t)dump_len);
	}
	m.flags = htole16(m.flags);
	memcpy(txbuf, &m, sizeof(m));
	memcpy(txbuf + sizeof(m), plain + rec_off[r], dump_len);

	f = txbuf + sizeof(m) + dump_len;
	memset(f, 0, HDRS);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", ETH_LEN);
	ip = f + ETH_LEN;
	ip[0] = 0x45;
	dsim_put_be16(ip + 2, (uint16_t)(flen - ETH_LEN));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, saddr, 4);
	memcpy(ip + 16, daddr, 4);
	dsim_put_be16(ip + 10, dsim_csum_finish(dsim_csum_add(0, ip, IP_LEN)));
	tcp = ip + IP_LEN;
	dsim_put_be16(tcp, sport);
	dsim_put_be16(tcp + 2, o->dport ? o->dport : dport);
	dsim_put_be32(tcp + 4, (uint32_t)(ISN + off));
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	dsim_put_be16(tcp + 14, 65535);
	/* CHECKSUM_PARTIAL: the stack leaves the pseudo-header sum. */
	sum = dsim_csum_pseudo_v4(saddr, daddr, 6, (uint32_t)(TCP_LEN + len));
	dsim_put_be16(tcp + 16, dsim_csum_fold(sum));
	memcpy(f + HDRS, plain + off, len);

	n_out = 0;
	if (o->pieces) {
		/* Pieces of odd sizes: records' headers and tags split too. */
		static const size_t sizes[] = { 1000, 3, 777, 1448, 5, 4096, 13 };
		size_t total = sizeof(m) + dump_len + flen, at, head;
		struct iovec iov[64];
		unsigned int n = 0;
		int ret;

		head = sizeof(m) + dump_len + HDRS + 37;
		for (at = head; at < total && n < ARRAY_SIZE(iov); n++) {
			size_t k = sizes[n % ARRAY_SIZE(sizes)];

			iov[n].iov_base = txbuf + at;
			iov[n].iov_len = k < total - at ? k : total - at;
			at += iov[n].iov_len;
		}
		if (at != total)
			return -E2BIG;
		ret = dsim_tx_process_sg(&port, txbuf, head, iov, n, total, &tx_out);
		/* Taken the way of a chained buffer, not sent back to linearise. */
		return ret == -EAGAIN ? -ENOTSUP : ret;
	}
	return dsim_tx_process(&port, txbuf, sizeof(m) + dump_len + flen,
			       &tx_out);
}

/* Every frame sent: good checksums; payload equals the reference. */
static bool check_sent(size_t off, size_t len)
{
	size_t pos = off;

	if (n_out > MAX_OUT)
		return false;
	for (unsigned int i = 0; i < n_out; i++) {
		const uint8_t *f = out_frames[i].frame, *tcp = f + HDRS - TCP_LEN;
		size_t plen = out_frames[i].len - HDRS;
		uint32_t sum;

		sum = dsim_csum_pseudo_v4(saddr, daddr, 6,
					  (uint32_t)(TCP_LEN + plen));
		if (dsim_csum_fold(dsim_csum_add(sum, tcp, TCP_LEN + plen)) !=
		    0xffff) {
			diag("frame %u: bad TCP checksum", i);
			return false;
		}
		if (dsim_get_be32(tcp + 4) != (uint32_t)(ISN + pos) ||
		    memcmp(f + HDRS, wire + pos, plen)) {
			diag("frame %u: payload at %zu is not the record bytes",
			     i, pos);
			return false;
		}
		pos += plen;
	}
	if (pos != off + len) {
		diag("sent %zu bytes, want %zu", pos - off, len);
		return false;
	}
	return true;
}

static const struct tls_dev_counters *cnt(void)
{
	return tls_dev_counters(port.id);
}

static bool expect(const char *what, bool cond)
{
	if (!cond)
		diag("%s", what);
	return cond;
}

/* The next device-to-driver message is this TX_DROP event; takes it. */
static bool pop_drop_event(uint32_t h, uint32_t seq, uint8_t reason)
{
	const struct dsim_msg *m = dsim_msgq_peek(&port.msgq);
	struct tlsnic_msg_hdr rh;
	struct tlsnic_tx_drop ev;

	if (!m || m->len != sizeof(rh) + sizeof(ev)) {
		diag("no TX_DROP event");
		return false;
	}
	memcpy(&rh, m->data, sizeof(rh));
	memcpy(&ev, m->data + sizeof(rh), sizeof(ev));
	dsim_msgq_pop(&port.msgq);
	if (rh.opcode != TLSNIC_EV_TX_DROP || rh.tag || rh.status ||
	    le32toh(rh.len) != sizeof(ev) || le32toh(ev.handle) != h ||
	    le32toh(ev.tcp_seq) != seq || ev.reason != reason ||
	    ev.reserved[0] || ev.reserved[1] || ev.reserved[2]) {
		diag("event op 0x%x handle 0x%x seq 0x%x reason %u, want 0x%x 0x%x %u",
		     rh.opcode, le32toh(ev.handle), le32toh(ev.tcp_seq),
		     ev.reason, h, seq, reason);
		return false;
	}
	return true;
}

static bool no_message(void)
{
	return expect("unexpected device message", !dsim_msgq_count(&port.msgq));
}

/* ---- tests --------------------------------------------------------------- */

static uint32_t handle;

static bool test_identify_caps(void)
{
	struct tlsnic_identify id;

	dsim_cmd_identify_body(&port, &id);
	return le32toh(id.caps) & TLSNIC_CAP_TLS_TX &&
	       le32toh(id.caps) & TLSNIC_CAP_TX_DROP_EVENT &&
	       !(le32toh(id.caps) & TLSNIC_CAP_TLS_RX);
}

static bool test_rx_context_refused(void)
{
	uint64_t before = cnt()->tls_ctx_rx_refused;
	uint32_t h;

	return ctx_create(TLSNIC_DIR_RX, &h) == TLSNIC_ST_UNSUPPORTED &&
	       cnt()->tls_ctx_rx_refused == before + 1;
}

static bool test_tx_context_created(void)
{
	return ctx_create(TLSNIC_DIR_TX, &handle) == TLSNIC_ST_OK &&
	       cnt()->tls_ctx_tx_init == 1;
}

/* The first two records and a part of the third in one TSO frame. */
static bool test_tso_in_order(void)
{
	struct frame_opts o = { .handle = handle, .tso = true };
	size_t len = rec_off[2] + 2000;
	int ret = send_range(0, len, &o);

	return expect("TSO frame refused", ret > 0) &&
	       expect("segments", n_out == (len + MSS - 1) / MSS) &&
	       check_sent(0, len) &&
	       expect("counted", cnt()->tx_tls_encrypted_packets == 1 &&
		      cnt()->tx_tls_encrypted_bytes == len);
}

/* A frame after a gap with no resync info: dropped, nothing sent. */
static bool test_gap_without_resync_dropped(void)
{
	struct frame_opts o = { .handle = handle };
	size_t off = rec_off[2] + 4000;
	int ret = send_range(off, 500, &o);

	return expect("accepted", ret < 0) && expect("sent", n_out == 0) &&
	       expect("counted", cnt()->tx_tls_drop_no_sync_data == 1) &&
	       pop_drop_event(handle, (uint32_t)(ISN + off),
			      TLSNIC_TX_DROP_NO_SYNC) && no_message();
}

/* A retransmission without the dump (sparse), then with tag bytes + dump. */
static bool test_retransmissions(void)
{
	struct frame_opts sparse = { .handle = handle, .resync = true };
	struct frame_opts dump = { .handle = handle, .resync = true,
				   .dump = true };
	size_t tag_at = rec_off[1] + 13 + 100;	/* record 1's tag */
	bool ok = true;

	ok &= expect("sparse", send_range(rec_off[0] + 700, 1000, &sparse) == 1 &&
		     check_sent(rec_off[0] + 700, 1000));
	ok &= expect("tag without dump kept off the wire",
		     send_range(tag_at - 50, 60, &sparse) < 0 && n_out == 0);
	ok &= expect("with dump", send_range(tag_at - 50, 60, &dump) == 1 &&
		     check_sent(tag_at - 50, 60));
	ok &= expect("counted", cnt()->tx_tls_ooo == 2 &&
		     cnt()->tx_tls_dump_packets == 1 &&
		     cnt()->tx_tls_dump_bytes == tag_at - 50 - rec_off[1] &&
		     cnt()->tx_tls_resync_preserved == 2);
	/* The refused one came with resync info: reported again. */
	ok &= pop_drop_event(handle, (uint32_t)(ISN + tag_at - 50),
			     TLSNIC_TX_DROP_NO_SYNC) && no_message();
	return ok;
}

/*
 * The in-order stream goes on where it was, without any resync, in a
 * chained buffer: encrypted in place in its pieces, segmented from them.
 */
static bool test_in_order_continues(void)
{
	struct frame_opts o = { .handle = handle, .tso = true, .pieces = true };
	size_t off = rec_off[2] + 2000, len = rec_off[4] + 3000 - off;

	return expect("refused", send_range(off, len, &o) > 0) &&
	       check_sent(off, len);
}

/*
 * NAT on the path rewrites addresses and ports: the handle, not the tuple,
 * selects the key. A frame whose tuple is not the context's is encrypted
 * and counted.
 */
static bool test_other_tuple_encrypted(void)
{
	struct frame_opts o = { .handle = handle, .dport = 444 };
	size_t off = rec_off[4] + 3000;

	return expect("other tuple refused", send_range(off, 100, &o) == 1) &&
	       check_sent(off, 100) &&
	       expect("counted", cnt()->tx_tls_flow_mismatch == 1);
}

static bool test_unknown_handle_dropped(void)
{
	struct frame_opts o = { .handle = handle ^ 0x3 };

	return expect("accepted", send_range(rec_off[4] + 3100, 100, &o) < 0 &&
		      n_out == 0 && cnt()->tx_tls_drop_bad_handle == 1);
}

static bool test_rest_in_order(void)
{
	struct frame_opts o = { .handle = handle, .tso = true };
	size_t off = rec_off[4] + 3100;

	return expect("refused", send_range(off, stream_len - off, &o) > 0) &&
	       check_sent(off, stream_len - off);
}

/*
 * Invariant 8: a retransmission whose resync info puts a record the device
 * has seen 16 bytes late would reuse that record's keystream on other
 * bytes: dropped, nothing sent, counted apart from impossible info.
 */
static bool test_resync_conflict_dropped(void)
{
	struct frame_opts bad = { .handle = handle, .resync = true,
				  .rec_shift = 16 };
	struct frame_opts good = { .handle = handle, .resync = true };
	size_t off = rec_off[2] + 3000;
	uint64_t info = cnt()->tx_tls_drop_resync_info;

	return expect("contradicting info accepted",
		      send_range(off, 100, &bad) < 0 && n_out == 0) &&
	       expect("counted", cnt()->tx_tls_drop_resync_conflict == 1 &&
		      cnt()->tx_tls_drop_resync_info == info) &&
	       pop_drop_event(handle, (uint32_t)(ISN + off),
			      TLSNIC_TX_DROP_RESYNC_INFO) && no_message() &&
	       expect("right info refused",
		      send_range(off, 100, &good) == 1) &&
	       check_sent(off, 100);
}

/* Invariant 2: a destroyed context's handle no longer encrypts. */
static bool test_stale_handle_dropped(void)
{
	struct frame_opts o = { .handle = handle, .resync = true,
				.dump = true };
	uint64_t before = cnt()->tx_tls_drop_bad_handle;

	return expect("destroy", ctx_destroy(handle) == TLSNIC_ST_OK) &&
	       expect("stale handle accepted",
		      send_range(rec_off[0], 200, &o) < 0 && n_out == 0 &&
		      cnt()->tx_tls_drop_bad_handle == before + 1);
}

static bool test_counters_print(void)
{
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	bool ok;

	if (!f)
		return false;
	ok = tls_dev_counters_print(f, port.id) == 0;
	fclose(f);
	return ok && strstr(buf, "port0.tx_tls_encrypted_packets 7\n") &&
	       strstr(buf, "port0.tx_tls_drop_resync_conflict 1\n") &&
	       strstr(buf, "port0.tx_tls_flow_mismatch 1\n");
}

/* ---- device drops reported to the driver -------------------------------- */

static uint32_t handle2;

/*
 * A failed in-order frame leaves the stream behind the driver's: reported
 * once, with the frame's sequence; every later drop of the context is
 * coalesced until the driver sends resync info, after which the stream
 * continues and the next drop is reported again.
 */
static bool test_injected_fail_reported_once(void)
{
	struct frame_opts in = { .handle = handle2 };
	struct frame_opts rs = { .handle = handle2, .resync = true, .dump = true };
	const struct tls_dev_counters *c = cnt();
	uint64_t inj = c->tx_tls_drop_injected, ev = c->tx_tls_drop_ev;
	uint64_t co = c->tx_tls_drop_ev_coalesced;
	uint64_t nsd = c->tx_tls_drop_no_sync_data;
	bool ok = true;

	ok &= expect("context", ctx_create(TLSNIC_DIR_TX, &handle2) == TLSNIC_ST_OK);
	in.handle = rs.handle = handle2;
	ok &= expect("fail knob", tls_dev_set_tx_fail(100, 1) == 0);
	ok &= expect("failed frame sent", send_range(0, 1000, &in) < 0 && n_out == 0);
	ok &= expect("injected counted", c->tx_tls_drop_injected == inj + 1);
	ok &= pop_drop_event(handle2, ISN, TLSNIC_TX_DROP_DEVICE);
	ok &= expect("fail knob off", tls_dev_set_tx_fail(0, 1) == 0);
	/* The driver has not heard yet: it carries on in order. */
	ok &= expect("frame after the drop sent",
		     send_range(1000, 500, &in) < 0 && n_out == 0);
	ok &= expect("coalesced", c->tx_tls_drop_ev_coalesced == co + 1 &&
		     c->tx_tls_drop_no_sync_data == nsd + 1) && no_message();
	/* The driver's answer: the next frame with its record's bytes. */
	ok &= expect("resync refused", send_range(1500, 700, &rs) == 1) &&
	      check_sent(1500, 700) && no_message();
	ok &= expect("retransmission refused", send_range(0, 1500, &rs) == 1) &&
	      check_sent(0, 1500);
	ok &= expect("in order after resync refused",
		     send_range(2200, 600, &in) == 1) && check_sent(2200, 600);
	/* Resync info seen: the next drop is news again. */
	ok &= expect("fail knob", tls_dev_set_tx_fail(100, 1) == 0);
	ok &= expect("second failure sent", send_range(2800, 100, &in) < 0 && n_out == 0);
	ok &= pop_drop_event(handle2, ISN + 2800, TLSNIC_TX_DROP_DEVICE) && no_message();
	ok &= expect("events counted", c->tx_tls_drop_ev == ev + 2 &&
		     c->tx_tls_drop_injected == inj + 2);
	/* Resync frames are never failed: the driver can always recover. */
	ok &= expect("resync frame failed", send_range(2800, 100, &rs) == 1) &&
	      check_sent(2800, 100);
	ok &= expect("fail knob off", tls_dev_set_tx_fail(0, 1) == 0);
	return ok;
}

/*
 * Events never take the slots command replies need: with the queue down to
 * its reserve, a drop is counted as lost and not latched, so the context's
 * next drop, once there is room, is reported.
 */
static bool test_event_queue_reserve(void)
{
	struct frame_opts in = { .handle = handle2 };
	const struct tls_dev_counters *c = cnt();
	uint64_t lost = c->tx_tls_drop_ev_lost, evd = port.cnt.ev_dropped;
	uint32_t filler = 0;
	bool ok = true;

	while (dsim_msgq_space(&port.msgq) > TLS_DEV_EV_RESERVE &&
	       !dsim_msgq_push(&port.msgq, TLSNIC_EV_RX_RESYNC_REQ, 0, 0, NULL, 0))
		filler++;
	ok &= expect("fail knob", tls_dev_set_tx_fail(100, 1) == 0);
	ok &= expect("dropped", send_range(2900, 100, &in) < 0 && n_out == 0);
	ok &= expect("lost counted", c->tx_tls_drop_ev_lost == lost + 1 &&
		     port.cnt.ev_dropped == evd + 1 &&
		     dsim_msgq_count(&port.msgq) == filler);
	while (dsim_msgq_count(&port.msgq))
		dsim_msgq_pop(&port.msgq);
	ok &= expect("dropped again", send_range(2900, 100, &in) < 0 && n_out == 0);
	ok &= pop_drop_event(handle2, ISN + 2900, TLSNIC_TX_DROP_DEVICE) && no_message();
	ok &= expect("fail knob off", tls_dev_set_tx_fail(0, 1) == 0);
	ok &= expect("destroy", ctx_destroy(handle2) == TLSNIC_ST_OK);
	return ok;
}

#define PATTERN_FRAMES	1000
#define PATTERN_LEN	20

/*
 * A fresh context fed PATTERN_FRAMES in-order frames with --tls-tx-fail
 * @pct and @seed; each failure is answered as the driver does, by sending
 * the frame again with resync info. @failed gets which ones failed.
 */
static int fail_pattern(double pct, uint64_t seed, bool *failed)
{
	struct frame_opts in = { 0 }, rs = { .resync = true, .dump = true };
	uint32_t h;
	int n = 0;

	if (ctx_create(TLSNIC_DIR_TX, &h) != TLSNIC_ST_OK ||
	    tls_dev_set_tx_fail(pct, seed))
		return -1;
	in.handle = rs.handle = h;
	for (size_t i = 0; i < PATTERN_FRAMES; i++) {
		size_t off = i * PATTERN_LEN;

		failed[i] = send_range(off, PATTERN_LEN, &in) < 0;
		if (failed[i]) {
			if (n_out || !pop_drop_event(h, (uint32_t)(ISN + off),
						     TLSNIC_TX_DROP_DEVICE) ||
			    send_range(off, PATTERN_LEN, &rs) != 1)
				return -1;
			n++;
		}
		if (!check_sent(off, PATTERN_LEN) || dsim_msgq_count(&port.msgq))
			return -1;
	}
	tls_dev_set_tx_fail(0, seed);
	return ctx_destroy(h) == TLSNIC_ST_OK ? n : -1;
}

/* The share is the one asked for, and the seed alone decides which. */
static bool test_fail_rate_seeded(void)
{
	static bool a[PATTERN_FRAMES], b[PATTERN_FRAMES], d[PATTERN_FRAMES];
	uint64_t inj = cnt()->tx_tls_drop_injected;
	int na, nb, nd;

	/* 10 % of 1000: 100, sigma 9.5; 60..140 is beyond 4 sigma. */
	na = fail_pattern(10, 7, a);
	nb = fail_pattern(10, 7, b);
	nd = fail_pattern(10, 8, d);
	diag("seed 7: %d of %d failed, again %d; seed 8: %d", na,
	     PATTERN_FRAMES, nb, nd);
	return expect("run", na >= 0 && nb >= 0 && nd >= 0) &&
	       expect("rate", na >= 60 && na <= 140 && nd >= 60 && nd <= 140) &&
	       expect("same seed, other frames", !memcmp(a, b, sizeof(a))) &&
	       expect("other seed, same frames", memcmp(a, d, sizeof(a)) != 0) &&
	       expect("counted", cnt()->tx_tls_drop_injected == inj + (uint64_t)(na + nb + nd));
}

static bool test_fail_pct_checked(void)
{
	return tls_dev_set_tx_fail(-1, 1) == -EINVAL &&
	       tls_dev_set_tx_fail(100.5, 1) == -EINVAL &&
	       tls_dev_set_tx_fail(0, 1) == 0;
}

static const struct {
	const char *name;
	bool (*fn)(void);
} tests[] = {
	{ "identify_advertises_tls_tx", test_identify_caps },
	{ "rx_context_refused", test_rx_context_refused },
	{ "tx_context_created", test_tx_context_created },
	{ "tso_frame_in_order", test_tso_in_order },
	{ "gap_without_resync_dropped", test_gap_without_resync_dropped },
	{ "retransmissions", test_retransmissions },
	{ "in_order_continues_in_pieces", test_in_order_continues },
	{ "other_tuple_encrypted", test_other_tuple_encrypted },
	{ "unknown_handle_dropped", test_unknown_handle_dropped },
	{ "rest_in_order", test_rest_in_order },
	{ "resync_conflict_dropped", test_resync_conflict_dropped },
	{ "stale_handle_dropped", test_stale_handle_dropped },
	{ "counters_print", test_counters_print },
	{ "injected_fail_reported_once", test_injected_fail_reported_once },
	{ "event_queue_reserve", test_event_queue_reserve },
	{ "fail_rate_seeded", test_fail_rate_seeded },
	{ "fail_pct_checked", test_fail_pct_checked },
};

int main(void)
{
	unsigned int failed = 0;
	bool ready;

	printf("TAP version 13\n1..%zu\n", ARRAY_SIZE(tests));
	ready = RAND_bytes(key, sizeof(key)) == 1 &&
		RAND_bytes(salt, sizeof(salt)) == 1 &&
		RAND_bytes(iv, sizeof(iv)) == 1 && make_stream() &&
		dsim_port_init(&port, 0, 4) == 0;
	if (!ready)
		diag("setup failed");
	else
		dsim_port_set_version(&port, TLSNIC_ABI_VERSION_MIN);	/* identified */
	port.tls = &tls_dev_tx_ops;
	tls_dev_counters_reset(port.id);

	/* The tests are steps of one connection: later ones need earlier. */
	for (size_t i = 0; i < ARRAY_SIZE(tests); i++) {
		bool ok = ready && tests[i].fn();

		failed += !ok;
		printf("%sok %zu - %s\n", ok ? "" : "not ", i + 1,
		       tests[i].name);
	}
	if (ready)
		dsim_port_fini(&port);
	diag("%zu passed, %u failed", ARRAY_SIZE(tests) - failed, failed);
	return failed ? 1 : 0;
}
