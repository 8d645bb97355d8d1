// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the seed corpus of the devsim fuzz targets: valid inputs of every
 * kind each target takes (and a few classic invalid ones), so the fuzzers
 * start from the paths the driver uses, TLS included.
 *
 *   gen_corpus DIR    writes DIR/<target>/<seed name>
 *
 * The output is deterministic; the seeds are kept in the tree
 * (selftests/fuzz/corpus) and this program is how they were made.
 */
#include <sys/stat.h>

#include "fuzz_common.h"

#define OP_DRAIN	0x01
#define OP_FIX_HDR	0x02
#define OP_DELAY	0x04
#define OP_RECREATE	0x02
#define OP_NO_ENGINE	0x04
#define OP_ONE_BUFFER	0x08
#define OP_TX_FAIL	0x10

static const char *out_dir;
static uint8_t in[1 << 17];
static size_t in_len;

static void seed_write(const char *target, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(in, 1, in_len, f) != in_len || fclose(f)) {
		perror(path);
		exit(1);
	}
	in_len = 0;
}

/* ---- fuzz_cmd: command messages ---- */

static void cmd_chunk(uint8_t op, uint8_t opcode, uint32_t tag, const void *body,
		      uint32_t body_len)
{
	uint8_t msg[256];
	size_t len = fz_cmd_msg(msg, opcode, tag, body, body_len);

	in_len = fz_put_chunk(in, in_len, op, msg, len);
}

static void cmd_chunk_v(uint8_t version, uint8_t op, uint8_t opcode, uint32_t tag,
			const void *body, uint32_t body_len)
{
	uint8_t msg[256];
	size_t len = fz_cmd_msg_v(msg, version, opcode, tag, body, body_len);

	in_len = fz_put_chunk(in, in_len, op, msg, len);
}

static void cmd_seeds(void)
{
	struct tlsnic_identify_cmd id = { .abi_version = htole32(TLSNIC_ABI_VERSION_MIN) };
	struct tlsnic_ctx_ref ref = { 0 };
	struct tlsnic_rx_resync rs = { 0 };
	struct tlsnic_ctx_create c;
	uint8_t msg[256];
	size_t len;
	int i;

	cmd_chunk(0, TLSNIC_OP_IDENTIFY, 1, &id, sizeof(id));
	seed_write("fuzz_cmd", "identify");

	/* A fresh harness port has contexts 0 and 1: the next one is 2. */
	fz_ctx_create_body(&c, false);
	cmd_chunk(0, TLSNIC_OP_CTX_CREATE, 2, &c, sizeof(c));
	ref.handle = htole32(2);
	cmd_chunk(0, TLSNIC_OP_CTX_DESTROY, 3, &ref, sizeof(ref));
	cmd_chunk(0, TLSNIC_OP_CTX_DESTROY, 4, &ref, sizeof(ref));
	ref.handle = htole32(0);
	cmd_chunk(OP_DRAIN, TLSNIC_OP_CTX_DESTROY, 5, &ref, sizeof(ref));
	seed_write("fuzz_cmd", "create_destroy");

	fz_ctx_create_body(&c, true);
	cmd_chunk(0, TLSNIC_OP_CTX_CREATE, 6, &c, sizeof(c));
	c.dir = TLSNIC_DIR_RX;
	cmd_chunk(0, TLSNIC_OP_CTX_CREATE, 7, &c, sizeof(c));
	c.dir = TLSNIC_DIR_TX;
	c.cipher = 9;
	cmd_chunk(0, TLSNIC_OP_CTX_CREATE, 8, &c, sizeof(c));
	rs.handle = htole32(1);
	rs.tcp_seq = htole32(1234);
	cmd_chunk(0, TLSNIC_OP_RX_RESYNC, 9, &rs, sizeof(rs));
	seed_write("fuzz_cmd", "create_v6_rx_resync");

	/*
	 * A v2 driver: RX contexts (one per flow), RX_RESYNC with no request
	 * open, a v1 header after the negotiation.
	 */
	id.abi_version = htole32(2);
	cmd_chunk(0, TLSNIC_OP_IDENTIFY, 40, &id, sizeof(id));
	id.abi_version = htole32(TLSNIC_ABI_VERSION_MIN);
	fz_ctx_create_body(&c, false);
	c.dir = TLSNIC_DIR_RX;
	cmd_chunk_v(2, 0, TLSNIC_OP_CTX_CREATE, 41, &c, sizeof(c));
	cmd_chunk_v(2, 0, TLSNIC_OP_CTX_CREATE, 42, &c, sizeof(c));
	fz_ctx_create_body(&c, true);
	c.dir = TLSNIC_DIR_RX;
	cmd_chunk_v(2, 0, TLSNIC_OP_CTX_CREATE, 43, &c, sizeof(c));
	memset(&rs, 0, sizeof(rs));
	rs.handle = htole32(2);
	rs.tcp_seq = htole32(1234);
	rs.resync_id = htole32(1);
	cmd_chunk_v(2, 0, TLSNIC_OP_RX_RESYNC, 44, &rs, sizeof(rs));
	ref.handle = htole32(2);
	cmd_chunk_v(2, 0, TLSNIC_OP_CTX_DESTROY, 45, &ref, sizeof(ref));
	cmd_chunk(0, TLSNIC_OP_CTX_DESTROY, 46, &ref, sizeof(ref));
	seed_write("fuzz_cmd", "v2_rx_contexts");

	/* Fill every context slot, then one more. */
	fz_ctx_create_body(&c, false);
	for (i = 0; i < 8; i++)
		cmd_chunk(0, TLSNIC_OP_CTX_CREATE, 10 + i, &c, sizeof(c));
	seed_write("fuzz_cmd", "table_full");

	/* Messages the device drops or answers BAD_MSG / BAD_OPCODE. */
	len = fz_cmd_msg(msg, TLSNIC_OP_IDENTIFY, 20, &id, sizeof(id));
	in_len = fz_put_chunk(in, in_len, 0, msg, 10);
	msg[5] |= TLSNIC_OP_REPLY;
	in_len = fz_put_chunk(in, in_len, 0, msg, len);
	msg[5] = 0x33;
	in_len = fz_put_chunk(in, in_len, 0, msg, len);
	msg[0] ^= 1;
	in_len = fz_put_chunk(in, in_len, 0, msg, len);
	in_len = fz_put_chunk(in, in_len, OP_FIX_HDR, msg, len);
	len = fz_cmd_msg(msg, TLSNIC_OP_CTX_CREATE, 21, &c, sizeof(c));
	msg[len] = 0;
	in_len = fz_put_chunk(in, in_len, OP_FIX_HDR, msg, len + 1);
	seed_write("fuzz_cmd", "bad_messages");

	/* More commands than reply slots, context ones too, then drained. */
	for (i = 0; i < 260; i++)
		cmd_chunk(0, TLSNIC_OP_IDENTIFY, 100 + i, &id, sizeof(id));
	cmd_chunk(0, TLSNIC_OP_CTX_CREATE, 90, &c, sizeof(c));
	ref.handle = htole32(0);
	cmd_chunk(0, TLSNIC_OP_CTX_DESTROY, 91, &ref, sizeof(ref));
	cmd_chunk(OP_DRAIN, TLSNIC_OP_IDENTIFY, 99, &id, sizeof(id));
	seed_write("fuzz_cmd", "queue_full");

	/* Delayed replies (--cmd-delay-ms), IDENTIFY at once. */
	ref.handle = htole32(1);
	cmd_chunk(OP_DELAY, TLSNIC_OP_CTX_DESTROY, 30, &ref, sizeof(ref));
	cmd_chunk(0, TLSNIC_OP_IDENTIFY, 31, &id, sizeof(id));
	cmd_chunk(OP_DRAIN, TLSNIC_OP_IDENTIFY, 32, &id, sizeof(id));
	cmd_chunk(OP_DELAY | OP_DRAIN, TLSNIC_OP_IDENTIFY, 33, &id, sizeof(id));
	seed_write("fuzz_cmd", "delayed");
}

/* ---- fuzz_tx_meta: guest TX buffers ---- */

struct tx_spec {
	uint16_t flags;
	uint16_t mss;
	uint32_t handle;
	bool v6, vlan;
	uint32_t seq;
	uint32_t rec_tcp_seq;	/* resync */
	uint64_t rec_seq;
	const uint8_t *dump;
	uint16_t dump_len;
};

static void tx_chunk(uint8_t op, const struct tx_spec *s, const uint8_t *pay, size_t plen)
{
	static uint8_t buf[1 << 16];
	struct tlsnic_tx_meta m;
	size_t l4, flen;
	int i;

	memset(&m, 0, sizeof(m));
	flen = fz_tcp_frame(buf + sizeof(m) + s->dump_len, s->v6, s->vlan, s->seq, pay, plen);
	l4 = 14 + (s->vlan ? 4 : 0) + (s->v6 ? 40 : 20);
	m.flags = htole16(s->flags);
	if (s->flags & TLSNIC_TX_F_CSUM) {
		m.csum_start = htole16((uint16_t)l4);
		m.csum_offset = htole16(16);
	}
	if (s->flags & TLSNIC_TX_F_TSO) {
		m.mss = htole16(s->mss);
		m.gso_type = s->v6 ? TLSNIC_GSO_TCPV6 : TLSNIC_GSO_TCPV4;
	}
	m.ctx_handle = htole32(s->flags & TLSNIC_TX_F_TLS ? s->handle : TLSNIC_HANDLE_NONE);
	if (s->flags & TLSNIC_TX_F_TLS_RESYNC) {
		m.rec_tcp_seq = htole32(s->rec_tcp_seq);
		for (i = 0; i < 8; i++)
			m.rec_seq[i] = (uint8_t)(s->rec_seq >> (56 - 8 * i));
		m.dump_len = htole16(s->dump_len);
		if (s->dump_len)
			memcpy(buf + sizeof(m), s->dump, s->dump_len);
	}
	memcpy(buf, &m, sizeof(m));
	in_len = fz_put_chunk(in, in_len, op, buf, sizeof(m) + s->dump_len + flen);
}

/*
 * A TLS 1.2 record in the form the kernel hands it to the device: header,
 * explicit nonce (iv + n - first), plaintext, tag space. Returns its length.
 */
static size_t tls_record(uint8_t *r, uint64_t nonce_add, size_t plain_len)
{
	size_t clen = 8 + plain_len + 16;
	uint64_t nonce = 0x0102030405060708ULL + nonce_add;
	size_t i;

	r[0] = 23;
	r[1] = 3;
	r[2] = 3;
	r[3] = (uint8_t)(clen >> 8);
	r[4] = (uint8_t)clen;
	for (i = 0; i < 8; i++)
		r[5 + i] = (uint8_t)(nonce >> (56 - 8 * i));
	for (i = 0; i < plain_len; i++)
		r[13 + i] = (uint8_t)('a' + i % 26);
	memset(r + 13 + plain_len, 0, 16);
	return 5 + clen;
}

static void tx_seeds(void)
{
	static uint8_t pay[20000];
	struct tx_spec s;
	size_t n, r1, r2;

	memset(pay, 'x', sizeof(pay));
	memset(&s, 0, sizeof(s));
	s.seq = 1;
	tx_chunk(0, &s, pay, 100);
	seed_write("fuzz_tx_meta", "plain");

	s.flags = TLSNIC_TX_F_CSUM;
	tx_chunk(0, &s, pay, 1000);
	s.v6 = s.vlan = true;
	tx_chunk(0, &s, pay, 1000);
	seed_write("fuzz_tx_meta", "csum_v4_v6vlan");

	s.flags = TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO;
	s.mss = 1000;
	s.v6 = s.vlan = false;
	tx_chunk(0, &s, pay, 3000);
	s.v6 = true;
	s.mss = 1440;
	tx_chunk(0, &s, pay, 4000);
	seed_write("fuzz_tx_meta", "tso_v4_v6");

	/* TLS in order on context 0: record 0 whole, record 1 over two frames. */
	memset(&s, 0, sizeof(s));
	s.flags = TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TLS;
	s.handle = 0;
	s.seq = FZ_CTX_V4_TCP_SEQ;
	r1 = tls_record(pay, 0, 100);
	r2 = tls_record(pay + r1, 1, 500);
	tx_chunk(0, &s, pay, r1);
	s.seq += (uint32_t)r1;
	tx_chunk(0, &s, pay + r1, 200);
	s.seq += 200;
	tx_chunk(0, &s, pay + r1 + 200, r2 - 200);
	seed_write("fuzz_tx_meta", "tls_v4_in_order");

	/* The same, then a retransmission of record 1's tail with a dump. */
	s.seq = FZ_CTX_V4_TCP_SEQ;
	tx_chunk(0, &s, pay, r1);
	s.seq += (uint32_t)r1;
	tx_chunk(0, &s, pay + r1, 200);
	s.seq += 200;
	tx_chunk(0, &s, pay + r1 + 200, r2 - 200);
	s.flags |= TLSNIC_TX_F_TLS_RESYNC;
	s.rec_tcp_seq = FZ_CTX_V4_TCP_SEQ + (uint32_t)r1;
	s.rec_seq = 1;
	s.dump = pay + r1;
	s.dump_len = 200;
	tx_chunk(0, &s, pay + r1 + 200, r2 - 200);
	/* And record 0 again without a dump (it is whole in the frame). */
	s.seq = FZ_CTX_V4_TCP_SEQ;
	s.rec_tcp_seq = s.seq;
	s.rec_seq = 0;
	s.dump_len = 0;
	tx_chunk(0, &s, pay, r1);
	seed_write("fuzz_tx_meta", "tls_v4_resync_dump");

	/* TLS and TSO together: one 3000-byte record cut by the device. */
	memset(&s, 0, sizeof(s));
	s.flags = TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS;
	s.mss = 1000;
	s.seq = FZ_CTX_V4_TCP_SEQ;
	n = tls_record(pay, 0, 3000);
	tx_chunk(0, &s, pay, n);
	seed_write("fuzz_tx_meta", "tls_tso_v4");

	/* Context 1 (IPv6, AES-GCM-256, first record number 5), VLAN. */
	memset(&s, 0, sizeof(s));
	s.flags = TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TLS;
	s.handle = 1;
	s.v6 = s.vlan = true;
	s.seq = FZ_CTX_V6_TCP_SEQ;
	r1 = tls_record(pay, 0, 16384);
	tx_chunk(0, &s, pay, 8000);
	s.seq += 8000;
	s.flags |= TLSNIC_TX_F_TSO;
	s.mss = 1200;
	tx_chunk(0, &s, pay + 8000, r1 - 8000);
	seed_write("fuzz_tx_meta", "tls_v6_vlan_tso");

	/* Frames out of order without resync info: dropped, TX_DROP event. */
	memset(&s, 0, sizeof(s));
	s.flags = TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TLS;
	s.seq = FZ_CTX_V4_TCP_SEQ + 5000;
	r1 = tls_record(pay, 0, 100);
	tx_chunk(0, &s, pay, r1);
	tx_chunk(0, &s, pay, r1);
	s.seq = FZ_CTX_V4_TCP_SEQ;
	tx_chunk(OP_DRAIN, &s, pay, r1);
	seed_write("fuzz_tx_meta", "tls_out_of_order");

	/* Context 0 destroyed and created again: old handle 0, new handle 2. */
	tx_chunk(OP_RECREATE, &s, pay, r1);
	s.handle = 2;
	tx_chunk(0, &s, pay, r1);
	seed_write("fuzz_tx_meta", "tls_stale_handle");

	/* No TLS engine; TSO with one device buffer; injected TLS drops. */
	memset(&s, 0, sizeof(s));
	s.flags = TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TLS;
	s.seq = FZ_CTX_V4_TCP_SEQ;
	tx_chunk(OP_NO_ENGINE, &s, pay, r1);
	s.flags |= TLSNIC_TX_F_TSO;
	s.mss = 100;
	n = tls_record(pay, 0, 1000);
	tx_chunk(OP_ONE_BUFFER, &s, pay, n);
	s.flags &= (uint16_t)~TLSNIC_TX_F_TSO;
	s.seq += (uint32_t)n;
	r1 = tls_record(pay, 1, 100);
	tx_chunk(OP_TX_FAIL, &s, pay, r1);
	tx_chunk(0, &s, pay, r1);
	seed_write("fuzz_tx_meta", "device_faults");
}

/* ---- fuzz_frame and fuzz_rx: frames from the wire ---- */

/* Turns the pseudo-header sum fz_tcp_frame() left into a full checksum. */
static void tcp_csum_finish(uint8_t *f, size_t len, size_t l4)
{
	uint16_t c;

	c = (uint16_t)~fz_sum(0, f + l4, len - l4);
	f[l4 + 16] = (uint8_t)(c >> 8);
	f[l4 + 17] = (uint8_t)c;
}

static void frame_seed(const char *name, const uint8_t *f, size_t len)
{
	memcpy(in, f, len);
	in_len = len;
	seed_write("fuzz_frame", name);
	memcpy(in, f, len);
	in_len = len;
	seed_write("fuzz_rx", name);
}

static void frame_seeds(void)
{
	static const uint8_t arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1,
					 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1 };
	uint8_t pay[600], f[2048];
	size_t len;
	uint16_t c;

	memset(pay, 'p', sizeof(pay));
	len = fz_tcp_frame(f, false, false, 1, pay, 100);
	tcp_csum_finish(f, len, 34);
	frame_seed("tcp_v4", f, len);
	memset(f + len, 0, 20);
	frame_seed("tcp_v4_padded", f, len + 20);

	len = fz_tcp_frame(f, true, true, 1, pay, 600);
	tcp_csum_finish(f, len, 58);
	frame_seed("tcp_v6_vlan", f, len);

	/* QinQ, IPv4 fragment. */
	len = fz_tcp_frame(f + 4, false, true, 1, pay, 64) + 4;
	memmove(f, f + 4, 12);
	f[12] = 0x88;
	f[13] = 0xa8;
	f[14] = 0;
	f[15] = 7;
	f[22 + 6] = 0x20;	/* more fragments */
	f[22 + 10] = f[22 + 11] = 0;
	c = (uint16_t)~fz_sum(0, f + 22, 20);
	f[22 + 10] = (uint8_t)(c >> 8);
	f[22 + 11] = (uint8_t)c;
	frame_seed("qinq_v4_fragment", f, len);

	/* IPv4 UDP with and without a checksum. */
	len = fz_tcp_frame(f, false, false, 1, pay, 12);
	f[23] = 17;
	f[24] = f[25] = 0;
	c = (uint16_t)~fz_sum(0, f + 14, 20);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	f[38] = 0;
	f[39] = 20;	/* UDP length: 8 + 12 */
	f[40] = f[41] = 0;
	frame_seed("udp_v4_no_csum", f, 54);
	f[40] = 0x12;
	f[41] = 0x34;
	frame_seed("udp_v4_bad_csum", f, 54);

	/* IPv6 with a hop-by-hop header before TCP. */
	len = fz_tcp_frame(f, true, false, 1, pay, 40);
	memmove(f + 62, f + 54, len - 54);
	f[20] = 0;		/* next header: hop-by-hop */
	f[54] = 6;		/* then TCP */
	memset(f + 55, 0, 7);
	f[19] = (uint8_t)(f[19] + 8);
	frame_seed("tcp_v6_hopopts", f, len + 8);

	frame_seed("arp", arp, sizeof(arp));

	/*
	 * TLS records at the RX contexts' start (seq 1): a record that goes
	 * on past the frame (decrypted before its tag is seen) and a whole
	 * small one (its tag fails: given back), then a plausible header.
	 */
	memset(pay, 0x5c, sizeof(pay));
	memcpy(pay, (const uint8_t []){ 23, 3, 3, 0x03, 0xe8 }, 5);
	len = fz_tcp_frame(f, false, false, 1, pay, 300);
	tcp_csum_finish(f, len, 34);
	frame_seed("tls_record_start_v4", f, len);
	memcpy(pay, (const uint8_t []){ 23, 3, 3, 0, 40 }, 5);
	memcpy(pay + 45, (const uint8_t []){ 21, 3, 3, 0, 30 }, 5);
	len = fz_tcp_frame(f, true, false, 1, pay, 120);
	tcp_csum_finish(f, len, 54);
	frame_seed("tls_records_v6", f, len);
}

/* ---- fuzz_wire_ctl: --wire-control files ---- */

static void text_seed(const char *name, const char *text)
{
	in_len = strlen(text);
	memcpy(in, text, in_len);
	seed_write("fuzz_wire_ctl", name);
}

static void wire_ctl_seeds(void)
{
	text_seed("all_keys", "# every key\nloss 1\nreorder 0.1\ndup 5\ncorrupt 100\n"
		  "tls-corrupt 0.5\ncorrupt-fix-csum 1\n");
	text_seed("empty", "");
	text_seed("crlf_blanks", "\r\n  loss\t2\r\n\n# x\r\nreorder 3");
	text_seed("bad_value", "loss 1\nreorder lots\n");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	cmd_seeds();
	tx_seeds();
	frame_seeds();
	wire_ctl_seeds();
	return 0;
}
