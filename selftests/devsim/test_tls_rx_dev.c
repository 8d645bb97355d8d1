// SPDX-License-Identifier: GPL-2.0
/*
 * KTAP tests of TLS receive offload on a devsim port (ABI v2): contexts and
 * RX_RESYNC through the command channel (devsim/cmd.c), received frames
 * through the port's RX pipeline (dsim_rx_process(): checksums, then the
 * RX glue devsim/tls_rx_dev.c and the engine devsim/tls_rx.c).
 *
 * The oracle is OpenSSL: the records are made with one-shot EVP AES-GCM
 * (random explicit nonces, TLS 1.2 AAD), frames and checksums with the
 * reference builders of devsim_test.h. A frame delivered TLS_DECRYPTED must
 * hold OpenSSL's plaintext (headers, nonces and tags unchanged) and a TCP
 * checksum valid over it; any other frame must be byte for byte what came
 * off the wire.
 */
#include <endian.h>
#include <errno.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cmd.h"
#include "devsim_test.h"
#include "pipeline.h"
#include "port.h"
#include "tls_dev.h"
#include "tls_rx.h"
#include "wire.h"

#define ISN		0xffff8000U	/* sequence numbers wrap mid-stream */
#define REC_SEQ0	7
#define MAX_REC		64
#define STREAM_MAX	(128 * 1024)
#define FRAME_MAX	2048

static const size_t rec_plain[] = {
	3000, 100, 5000, 1, 16384, 700, 2000, 40, 9000, 1200,
	333, 4096, 64, 1500, 2500, 800, 7000, 100, 1000, 3000,
};

static struct dsim_port port;
static uint8_t drv_version = TLSNIC_ABI_VERSION_MIN;
static uint8_t key[32], salt[4];
static int cipher = TLSNIC_CIPHER_AES_GCM_256;

static uint8_t plain[STREAM_MAX];	/* what a decrypted frame holds */
static uint8_t wire[STREAM_MAX];	/* the records as OpenSSL made them */
static size_t stream_len;
static size_t rec_off[MAX_REC + 1];
static size_t nr_rec;

/* ---- the reference stream ------------------------------------------- */

static const size_t *rec_sizes = rec_plain;
static size_t rec_count = ARRAY_SIZE(rec_plain);

static bool make_stream(int ciph)
{
	const EVP_CIPHER *aead = ciph == TLSNIC_CIPHER_AES_GCM_128 ? EVP_aes_128_gcm() :
								      EVP_aes_256_gcm();
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t off = 0, i;
	bool ok = c && RAND_bytes(key, sizeof(key)) == 1 &&
		  RAND_bytes(salt, sizeof(salt)) == 1;

	cipher = ciph;
	for (i = 0; ok && i < rec_count && i < MAX_REC; i++) {
		size_t len = rec_sizes[i], clen = len + 24;
		uint8_t nonce[12], aad[13], *w = wire + off;
		uint64_t num = htobe64(REC_SEQ0 + i);
		int outl;

		rec_off[i] = off;
		w[0] = 23;
		w[1] = 3;
		w[2] = 3;
		w[3] = (uint8_t)(clen >> 8);
		w[4] = (uint8_t)clen;
		/* A TLS 1.2 peer may choose any explicit nonce. */
		ok = RAND_bytes(w + 5, 8) == 1 && RAND_bytes(plain + off + 13, (int)len) == 1;
		memcpy(nonce, salt, 4);
		memcpy(nonce + 4, w + 5, 8);
		memcpy(aad, &num, 8);
		memcpy(aad + 8, w, 3);
		aad[11] = (uint8_t)(len >> 8);
		aad[12] = (uint8_t)len;
		ok = ok && EVP_EncryptInit_ex(c, aead, NULL, key, nonce) == 1 &&
		     EVP_EncryptUpdate(c, NULL, &outl, aad, 13) == 1 &&
		     EVP_EncryptUpdate(c, w + 13, &outl, plain + off + 13, (int)len) == 1 &&
		     EVP_EncryptFinal_ex(c, w + 13 + len, &outl) == 1 &&
		     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, w + 13 + len) == 1;
		/* Decrypted records keep header, nonce and tag. */
		memcpy(plain + off, w, 13);
		memcpy(plain + off + 13 + len, w + 13 + len, 16);
		off += 5 + clen;
	}
	nr_rec = i;
	rec_off[nr_rec] = off;
	stream_len = off;
	EVP_CIPHER_CTX_free(c);
	return ok && off <= STREAM_MAX;
}

/* ---- the command channel -------------------------------------------- */

static uint32_t tag_seq = 1;

static int command(uint8_t op, const void *body, uint32_t len, void *reply, uint32_t reply_len)
{
	uint8_t msg[DSIM_CMD_MAX_LEN];
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC),
		.version = op == TLSNIC_OP_IDENTIFY ? TLSNIC_ABI_VERSION_MIN : drv_version,
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

/* A fresh port with the TX and RX engines; a driver speaking up to @v. */
static bool port_setup(uint32_t v)
{
	struct tlsnic_identify_cmd cmd = { .abi_version = htole32(v) };
	struct tlsnic_identify id;

	dsim_port_fini(&port);
	CHECK(dsim_port_init(&port, 1, 8) == 0, "port init");
	port.tls = &tls_dev_ops;
	tls_dev_counters_reset(port.id);
	CHECK(command(TLSNIC_OP_IDENTIFY, &cmd, sizeof(cmd), &id, sizeof(id)) == 0, "identify");
	drv_version = (uint8_t)le32toh(id.abi_version);
	return true;
}

static struct tlsnic_ctx_create create_body(int family, uint32_t tcp_seq, uint64_t rec)
{
	struct tlsnic_ctx_create c;
	int i;

	memset(&c, 0, sizeof(c));
	c.dir = TLSNIC_DIR_RX;
	c.tls_version = TLSNIC_TLS_1_2;
	c.cipher = (uint8_t)cipher;
	c.family = (uint8_t)family;
	memcpy(c.key, key, sizeof(c.key));
	memcpy(c.salt, salt, sizeof(c.salt));
	for (i = 7; i >= 0; i--, rec >>= 8)
		c.rec_seq[i] = (uint8_t)rec;
	c.tcp_seq = htole32(tcp_seq);
	/* The flow as received: the peer (build_frame's source) first. */
	memcpy(c.saddr, family == 4 ? test_src4 : test_src6, family == 4 ? 4 : 16);
	memcpy(c.daddr, family == 4 ? test_dst4 : test_dst6, family == 4 ? 4 : 16);
	c.sport = htobe16(40000);
	c.dport = htobe16(443);
	return c;
}

static int rx_create(int family, uint32_t *handle)
{
	struct tlsnic_ctx_create c = create_body(family, ISN, REC_SEQ0);
	struct tlsnic_ctx_ref ref;
	int st;

	memset(&ref, 0, sizeof(ref));
	st = command(TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref, sizeof(ref));
	explicit_bzero(&c, sizeof(c));
	*handle = le32toh(ref.handle);
	return st;
}

static int rx_destroy(uint32_t handle)
{
	struct tlsnic_ctx_ref ref = { .handle = htole32(handle) };

	return command(TLSNIC_OP_CTX_DESTROY, &ref, sizeof(ref), NULL, 0);
}

static int rx_resync(uint32_t handle, uint32_t tcp_seq, uint64_t rec, uint32_t id)
{
	struct tlsnic_rx_resync rs;
	int i;

	memset(&rs, 0, sizeof(rs));
	rs.handle = htole32(handle);
	rs.tcp_seq = htole32(tcp_seq);
	for (i = 7; i >= 0; i--, rec >>= 8)
		rs.rec_seq[i] = (uint8_t)rec;
	rs.resync_id = htole32(id);
	return command(TLSNIC_OP_RX_RESYNC, &rs, sizeof(rs), NULL, 0);
}

/* ---- frames ------------------------------------------------------------ */

struct rx_out {
	uint8_t frame[FRAME_MAX];
	struct frame_layout l;
	struct tlsnic_rx_meta meta;
	uint16_t flags;
};

/*
 * Stream bytes [off, off + len) of the wire in a frame of @family, through
 * the port's RX pipeline. @bad_csum: the TCP checksum is off by one.
 */
static void rx_frame(int family, size_t off, size_t len, bool bad_csum, struct rx_out *o)
{
	struct frame_spec s = {
		.family = family,
		.proto = 6,
		.seq = (uint32_t)(ISN + off),
		.tcp_flags = 0x18,
		.payload = wire + off,
		.payload_len = len,
	};

	o->l = build_frame(o->frame, &s);
	if (bad_csum)
		o->frame[o->l.l4 + 16] ^= 1;
	dsim_rx_process(&port, o->frame, o->l.len, &o->meta);
	o->flags = le16toh(o->meta.flags);
}

/*
 * The frame as delivered: decrypted means OpenSSL's plaintext and a TCP
 * checksum valid over it, anything else the wire's bytes.
 */
static bool check_out(const struct rx_out *o, int family, size_t off, size_t len,
		      uint32_t handle)
{
	bool dec = o->flags & TLSNIC_RX_F_TLS_DECRYPTED;
	const uint8_t *want = dec ? plain + off : wire + off;

	CHECK(!memcmp(o->frame + o->l.payload, want, len),
	      "frame at %zu+%zu (%s): payload is not %s", off, len,
	      dec ? "decrypted" : "as is", dec ? "the plaintext" : "the wire's");
	CHECK(ref_l4_ok(o->frame, &o->l, family, 6, o->l.len - o->l.l4),
	      "frame at %zu: TCP checksum does not verify over what it holds", off);
	CHECK(!dec || (o->flags & TLSNIC_RX_F_CSUM_OK), "DECRYPTED without CSUM_OK");
	CHECK(le32toh(o->meta.ctx_handle) == handle, "ctx_handle %#x want %#x",
	      le32toh(o->meta.ctx_handle), handle);
	CHECK(!o->meta.reserved0, "reserved0");
	CHECK((o->flags & TLSNIC_RX_F_TLS_RESYNC_REQ) ||
	      (!o->meta.resync_seq && !o->meta.resync_id), "resync fields without request");
	return true;
}

/* Which record holds stream byte @off. */
static size_t rec_at(size_t off)
{
	size_t i = nr_rec - 1;

	while (rec_off[i] > off)
		i--;
	return i;
}

/* ---- tests ------------------------------------------------------------ */

/*
 * In order, frames of random sizes (headers and tags split anywhere):
 * every frame decrypted, equal to OpenSSL's plaintext, checksum rewritten;
 * counters add up.
 */
static bool in_order(int family, int ciph)
{
	struct rx_out o;
	size_t off = 0, frames = 0;
	uint32_t h;

	CHECK(make_stream(ciph), "records");
	if (!port_setup(2))
		return false;
	CHECK(rx_create(family, &h) == TLSNIC_ST_OK, "create");
	while (off < stream_len) {
		size_t len = 1 + test_rand() % 1448;

		if (len > stream_len - off)
			len = stream_len - off;
		rx_frame(family, off, len, false, &o);
		if (!check_out(&o, family, off, len, h))
			return false;
		CHECK(o.flags == (TLSNIC_RX_F_CSUM_OK | TLSNIC_RX_F_TLS_DECRYPTED),
		      "frame at %zu: flags %#x", off, o.flags);
		off += len;
		frames++;
	}
	CHECK(port.cnt.rx_tls_decrypted_packets == frames &&
	      port.cnt.rx_tls_decrypted_bytes == stream_len &&
	      port.cnt.rx_tls_records_ok == nr_rec && !port.cnt.rx_tls_auth_fail &&
	      !port.cnt.rx_tls_ooo && !port.cnt.rx_tls_resync_req,
	      "counters: packets %llu/%zu bytes %llu/%zu records %llu/%zu",
	      (unsigned long long)port.cnt.rx_tls_decrypted_packets, frames,
	      (unsigned long long)port.cnt.rx_tls_decrypted_bytes, stream_len,
	      (unsigned long long)port.cnt.rx_tls_records_ok, nr_rec);
	/* A pure ACK of the flow: handle, nothing else. */
	rx_frame(family, stream_len, 0, false, &o);
	CHECK(o.flags == TLSNIC_RX_F_CSUM_OK && le32toh(o.meta.ctx_handle) == h, "ACK");
	return true;
}

static bool in_order_v4_gcm128(void)
{
	return in_order(4, TLSNIC_CIPHER_AES_GCM_128);
}

static bool in_order_v4_gcm256(void)
{
	return in_order(4, TLSNIC_CIPHER_AES_GCM_256);
}

static bool in_order_v6_gcm128(void)
{
	return in_order(6, TLSNIC_CIPHER_AES_GCM_128);
}

static bool in_order_v6_gcm256(void)
{
	return in_order(6, TLSNIC_CIPHER_AES_GCM_256);
}

/*
 * A frame whose checksum fails is delivered as it came, without CSUM_OK,
 * and the engine never sees it: the same bytes with a good checksum right
 * after are decrypted in sequence, with no out-of-order counted.
 */
static bool bad_checksum_untouched(void)
{
	struct rx_out o;
	uint32_t h;

	CHECK(make_stream(TLSNIC_CIPHER_AES_GCM_256), "records");
	if (!port_setup(2))
		return false;
	CHECK(rx_create(4, &h) == TLSNIC_ST_OK, "create");
	rx_frame(4, 0, 1000, false, &o);
	CHECK(o.flags & TLSNIC_RX_F_TLS_DECRYPTED, "first frame");
	rx_frame(4, 1000, 1000, true, &o);
	CHECK(!memcmp(o.frame + o.l.payload, wire + 1000, 1000), "bad frame changed");
	CHECK(!ref_l4_ok(o.frame, &o.l, 4, 6, o.l.len - o.l.l4), "checksum repaired");
	CHECK(o.flags == 0 && le32toh(o.meta.ctx_handle) == h && !o.meta.resync_id,
	      "bad frame: flags %#x", o.flags);
	CHECK(port.cnt.rx_tls_csum_bad == 1 && port.cnt.rx_csum_bad == 1, "csum counters");
	rx_frame(4, 1000, 1000, false, &o);
	if (!check_out(&o, 4, 1000, 1000, h))
		return false;
	CHECK(o.flags == (TLSNIC_RX_F_CSUM_OK | TLSNIC_RX_F_TLS_DECRYPTED),
	      "the good copy: flags %#x", o.flags);
	CHECK(!port.cnt.rx_tls_ooo && port.cnt.rx_tls_decrypted_packets == 2, "engine saw it");
	return true;
}

/*
 * After a loss the device asks for a resync in the metadata of the frame
 * where it finds the next header: TLS_RESYNC_REQ, resync_seq = that
 * header's first byte, a new resync_id. Answers with another id or another
 * sequence are STALE, a number that contradicts the context's first record
 * is REFUSED, all without effect; the right answer is OK and offload
 * resumes; a second answer is STALE.
 */
static bool gap_resync(int family)
{
	const size_t fl = 1000;
	size_t off, lost = 3 * fl, hdr_rec = 0, req_frames = 0, dec_after = 0;
	uint32_t h, req_seq = 0, req_id = 0;
	bool answered = false;
	struct rx_out o;

	CHECK(make_stream(TLSNIC_CIPHER_AES_GCM_128), "records");
	if (!port_setup(2))
		return false;
	CHECK(rx_create(family, &h) == TLSNIC_ST_OK, "create");
	/* The first header at or after the first frame past the loss. */
	hdr_rec = rec_at(lost + fl - 1) + 1;
	for (off = 0; off < stream_len; off += fl) {
		size_t len = stream_len - off < fl ? stream_len - off : fl;

		if (off == lost)
			continue;
		rx_frame(family, off, len, false, &o);
		if (!check_out(&o, family, off, len, h))
			return false;
		if (off < lost)
			CHECK(o.flags & TLSNIC_RX_F_TLS_DECRYPTED, "before the loss");
		if (o.flags & TLSNIC_RX_F_TLS_RESYNC_REQ) {
			req_frames++;
			CHECK(!answered, "request after the answer at %zu", off);
			req_seq = le32toh(o.meta.resync_seq);
			req_id = le32toh(o.meta.resync_id);
			/* Reported with the frame holding the header's last byte. */
			CHECK(req_seq == (uint32_t)(ISN + rec_off[hdr_rec]) &&
			      rec_off[hdr_rec] + 4 >= off && rec_off[hdr_rec] + 4 < off + len,
			      "request seq %#x in frame %zu, want record %zu at %#x", req_seq,
			      off, hdr_rec, (uint32_t)(ISN + rec_off[hdr_rec]));
			CHECK(req_id, "resync_id 0");
			CHECK(rx_resync(h, req_seq, REC_SEQ0 + hdr_rec, req_id + 1) ==
			      TLSNIC_ST_STALE, "other id");
			CHECK(rx_resync(h, req_seq + 1, REC_SEQ0 + hdr_rec, req_id) ==
			      TLSNIC_ST_STALE, "other sequence");
			CHECK(rx_resync(h, req_seq, REC_SEQ0, req_id) == TLSNIC_ST_REFUSED,
			      "first record's number elsewhere");
			CHECK(rx_resync(h ^ (1U << TLSNIC_HANDLE_INDEX_BITS), req_seq,
					REC_SEQ0 + hdr_rec, req_id) == TLSNIC_ST_BAD_HANDLE,
			      "stale handle");
			CHECK(rx_resync(h, req_seq, REC_SEQ0 + hdr_rec, req_id) == TLSNIC_ST_OK,
			      "the right answer");
			CHECK(rx_resync(h, req_seq, REC_SEQ0 + hdr_rec, req_id) ==
			      TLSNIC_ST_STALE, "second answer");
			answered = true;
			continue;
		}
		if (off > lost && !answered)
			CHECK(!(o.flags & TLSNIC_RX_F_TLS_DECRYPTED),
			      "decrypted at %zu before the resync", off);
		if (answered && (o.flags & TLSNIC_RX_F_TLS_DECRYPTED))
			dec_after++;
		/* Entirely in records after the one holding the answer's frame. */
		if (answered && rec_at(off) > hdr_rec + 1 && rec_at(off) == rec_at(off + len - 1))
			CHECK(o.flags & TLSNIC_RX_F_TLS_DECRYPTED, "not resumed at %zu", off);
	}
	CHECK(req_frames == 1 && answered && dec_after > 10, "requests %zu, resumed %zu",
	      req_frames, dec_after);
	CHECK(port.cnt.rx_tls_resync_req == 1 && port.cnt.rx_tls_resync_ok == 1 &&
	      port.cnt.rx_tls_resync_stale == 3 && port.cnt.rx_tls_resync_refused == 1 &&
	      port.cnt.rx_tls_ooo >= 1, "resync counters: ok %llu stale %llu refused %llu",
	      (unsigned long long)port.cnt.rx_tls_resync_ok,
	      (unsigned long long)port.cnt.rx_tls_resync_stale,
	      (unsigned long long)port.cnt.rx_tls_resync_refused);
	return true;
}

static bool gap_resync_v4(void)
{
	return gap_resync(4);
}

static bool gap_resync_v6(void)
{
	return gap_resync(6);
}

/*
 * A request nobody answers is asked again 32 records later with a new id:
 * the old id is STALE from then on, the new one is taken.
 */
static bool unanswered_request_repeated(void)
{
	static size_t small[60];
	uint32_t h, seq[4], id[4];
	size_t off, n = 0, i, fl = 500;
	struct rx_out o;
	bool ok;

	for (i = 0; i < ARRAY_SIZE(small); i++)
		small[i] = 150 + 7 * i;
	rec_sizes = small;
	rec_count = ARRAY_SIZE(small);
	ok = make_stream(TLSNIC_CIPHER_AES_GCM_128);
	rec_sizes = rec_plain;
	rec_count = ARRAY_SIZE(rec_plain);
	CHECK(ok, "records");
	if (!port_setup(2))
		return false;
	CHECK(rx_create(6, &h) == TLSNIC_ST_OK, "create");
	for (off = 0; off < stream_len; off += fl) {
		size_t len = stream_len - off < fl ? stream_len - off : fl;

		if (off == 2 * fl)
			continue;		/* lost */
		rx_frame(6, off, len, false, &o);
		if (!check_out(&o, 6, off, len, h))
			return false;
		if (!(o.flags & TLSNIC_RX_F_TLS_RESYNC_REQ))
			continue;
		CHECK(n < ARRAY_SIZE(seq), "too many requests");
		seq[n] = le32toh(o.meta.resync_seq);
		id[n] = le32toh(o.meta.resync_id);
		CHECK(!n || id[n] != id[n - 1], "same id for a new request");
		CHECK(!n || seq[n] != seq[n - 1], "same header asked for again");
		n++;
		if (n == 2)
			break;
	}
	CHECK(n == 2, "%zu requests", n);
	for (i = 0; i < nr_rec && rec_off[i] != seq[1] - ISN; i++)
		;
	CHECK(i < nr_rec, "second request %#x is no record header", seq[1]);
	CHECK(rx_resync(h, seq[0], REC_SEQ0 + rec_at(seq[0] - ISN), id[0]) ==
	      TLSNIC_ST_STALE, "answer to the first request");
	CHECK(rx_resync(h, seq[1], REC_SEQ0 + i, id[1]) == TLSNIC_ST_OK, "answer");
	for (off += fl; off < stream_len; off += fl) {
		size_t len = stream_len - off < fl ? stream_len - off : fl;

		rx_frame(6, off, len, false, &o);
		if (!check_out(&o, 6, off, len, h))
			return false;
		if (rec_at(off) > i + 1 && rec_at(off) == rec_at(off + len - 1))
			CHECK(o.flags & TLSNIC_RX_F_TLS_DECRYPTED, "not resumed at %zu", off);
	}
	CHECK(port.cnt.rx_tls_resync_req == 2 && port.cnt.rx_tls_resync_ok == 1 &&
	      port.cnt.rx_tls_resync_stale == 1, "counters");
	return true;
}

/* Does any 8-byte piece of @k appear in [mem, mem + n)? */
static bool holds_key(const void *mem, size_t n, const uint8_t *k, size_t klen)
{
	const uint8_t *p = mem;

	for (size_t j = 0; j + 8 <= klen; j++)
		for (size_t i = 0; i + 8 <= n; i++)
			if (!memcmp(p + i, k + j, 8))
				return true;
	return false;
}

/*
 * One RX context per flow (EXISTS), the raw key kept nowhere, and after a
 * destroy the flow is nobody's: its frames pass untouched with no handle,
 * and a new context may take it.
 */
static bool duplicate_and_destroy(void)
{
	struct rx_out o;
	uint32_t h, h2;

	CHECK(make_stream(TLSNIC_CIPHER_AES_GCM_256), "records");
	if (!port_setup(2))
		return false;
	CHECK(rx_create(4, &h) == TLSNIC_ST_OK, "create");
	CHECK(rx_create(4, &h2) == TLSNIC_ST_EXISTS, "second context for the flow");
	CHECK(port.cnt.ctx_active == 1 && port.cnt.rx_tls_ctx_created == 1, "counters");
	CHECK(!holds_key(port.ctxs.slots, port.ctxs.max * sizeof(*port.ctxs.slots), key, 32),
	      "raw key in the context table");
	rx_frame(4, 0, 500, false, &o);
	CHECK(o.flags & TLSNIC_RX_F_TLS_DECRYPTED, "decrypted before the destroy");
	CHECK(rx_destroy(h) == TLSNIC_ST_OK, "destroy");
	CHECK(port.cnt.rx_tls_ctx_destroyed == 1 && port.cnt.rx_tls_ctx_active == 0 &&
	      port.ctxs.nr_flows == 0, "destroy counters");
	rx_frame(4, 500, 500, false, &o);
	CHECK(o.flags == TLSNIC_RX_F_CSUM_OK &&
	      le32toh(o.meta.ctx_handle) == TLSNIC_HANDLE_NONE &&
	      !memcmp(o.frame + o.l.payload, wire + 500, 500), "frame after the destroy");
	CHECK(rx_resync(h, ISN, REC_SEQ0, 1) == TLSNIC_ST_BAD_HANDLE, "resync after destroy");
	CHECK(rx_create(4, &h2) == TLSNIC_ST_OK && h2 != h, "flow free again");
	return true;
}

/*
 * A v1 driver: no RX contexts, and the RX metadata it gets is v1's for
 * every frame (no handle, resync fields 0).
 */
static bool v1_driver(void)
{
	struct rx_out o;
	uint32_t h;

	CHECK(make_stream(TLSNIC_CIPHER_AES_GCM_256), "records");
	if (!port_setup(1))
		return false;
	CHECK(drv_version == 1, "version %u", drv_version);
	CHECK(rx_create(4, &h) == TLSNIC_ST_UNSUPPORTED, "RX context for v1");
	rx_frame(4, 0, 1000, false, &o);
	CHECK(o.flags == TLSNIC_RX_F_CSUM_OK &&
	      le32toh(o.meta.ctx_handle) == TLSNIC_HANDLE_NONE && !o.meta.resync_seq &&
	      !o.meta.resync_id && !memcmp(o.frame + o.l.payload, wire, 1000), "v1 metadata");
	return true;
}

/* A context created behind the data: frames before it pass untouched. */
static bool context_behind_data(void)
{
	struct tlsnic_ctx_create c;
	struct tlsnic_ctx_ref ref;
	struct rx_out o;
	size_t r = 5, off;
	uint32_t h;

	CHECK(make_stream(TLSNIC_CIPHER_AES_GCM_256), "records");
	if (!port_setup(2))
		return false;
	c = create_body(4, (uint32_t)(ISN + rec_off[r]), REC_SEQ0 + r);
	CHECK(command(TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref, sizeof(ref)) == 0, "create");
	h = le32toh(ref.handle);
	/* Retransmissions of bytes the socket already has. */
	rx_frame(4, 0, 1000, false, &o);
	CHECK(o.flags == TLSNIC_RX_F_CSUM_OK && check_out(&o, 4, 0, 1000, h), "before");
	for (off = rec_off[r]; off < rec_off[r + 3]; off += 700) {
		size_t len = rec_off[r + 3] - off < 700 ? rec_off[r + 3] - off : 700;

		rx_frame(4, off, len, false, &o);
		if (!check_out(&o, 4, off, len, h))
			return false;
		CHECK(o.flags & TLSNIC_RX_F_TLS_DECRYPTED, "not decrypted at %zu", off);
	}
	return true;
}

/* ---- --tls-corrupt ---------------------------------------------------- */

static struct {
	uint8_t frame[FRAME_MAX];
	uint32_t len;
	unsigned int n;
} delivered;

static void cap_deliver(void *arg, const struct dsim_wire_pkt *pkt)
{
	(void)arg;
	if (pkt->len <= sizeof(delivered.frame)) {
		memcpy(delivered.frame, pkt->data, pkt->len);
		delivered.len = pkt->len;
	}
	delivered.n++;
}

static void cap_drop(void *arg, const struct dsim_wire_pkt *pkt)
{
	(void)arg;
	(void)pkt;
}

static int cap_clone(void *arg, const struct dsim_wire_pkt *pkt, struct dsim_wire_pkt *copy)
{
	(void)arg;
	(void)pkt;
	(void)copy;
	return -ENOMEM;
}

static uint8_t wire_bad[STREAM_MAX], plain_bad[STREAM_MAX];

/*
 * --tls-corrupt on the wire, then the receiver: only frames that start a
 * record are touched, in exactly one bit at payload offset 13 or more
 * inside the record, and their TCP checksum still verifies (so the frame
 * reaches TLS). The receiver then never marks the frame carrying a
 * corrupted record's tag, delivers it as it came, counts the failed tag,
 * and decrypts the following records again; marked bytes are what
 * AES-GCM gives for the changed ciphertext (counter mode: the same bit).
 */
static bool tls_corrupt(void)
{
	static const struct dsim_wire_ops ops = {
		.deliver = cap_deliver, .drop = cap_drop, .clone = cap_clone,
	};
	struct dsim_wire_cfg cfg = { .tls_corrupt = 50, .seed = 11 };
	static struct dsim_counters sender;
	bool bad_rec[MAX_REC] = { false };
	size_t r, off, nbad = 0, resumed = 0;
	uint8_t orig[FRAME_MAX];
	struct dsim_wire w;
	struct rx_out o;
	uint32_t h;

	CHECK(make_stream(TLSNIC_CIPHER_AES_GCM_256), "records");
	if (!port_setup(2))
		return false;
	CHECK(rx_create(4, &h) == TLSNIC_ST_OK, "create");
	memset(&sender, 0, sizeof(sender));
	CHECK(dsim_wire_cfg_check(&cfg) == 0, "cfg");
	dsim_wire_init(&w, &cfg, 0, &sender, NULL);
	memcpy(wire_bad, wire, stream_len);
	memcpy(plain_bad, plain, stream_len);
	for (r = 0; r < nr_rec; r++) {
		for (off = rec_off[r]; off < rec_off[r + 1]; off += 1400) {
			size_t len = rec_off[r + 1] - off < 1400 ? rec_off[r + 1] - off : 1400;
			struct frame_spec s = {
				.family = 4, .proto = 6, .seq = (uint32_t)(ISN + off),
				.tcp_flags = 0x18, .payload = wire + off, .payload_len = len,
			};
			struct dsim_wire_pkt pkt = { .data = o.frame };
			size_t i, diff = 0, at = 0;

			o.l = build_frame(o.frame, &s);
			memcpy(orig, o.frame, o.l.len);
			pkt.len = (uint32_t)o.l.len;
			delivered.n = 0;
			dsim_wire_xmit(&w, &pkt, 0, &ops);
			CHECK(delivered.n == 1 && delivered.len == o.l.len, "frame not delivered");
			CHECK(dsim_wire_held_count(&w) == 0, "held");
			memcpy(o.frame, delivered.frame, delivered.len);
			for (i = 0; i < len; i++) {
				if (o.frame[o.l.payload + i] != wire[off + i]) {
					diff++;
					at = i;
				}
			}
			/* Headers: only the TCP checksum may have changed. */
			CHECK(!memcmp(o.frame, orig, o.l.l4 + 16) &&
			      !memcmp(o.frame + o.l.l4 + 18, orig + o.l.l4 + 18,
				      o.l.payload - o.l.l4 - 18), "headers changed");
			CHECK(ref_l4_ok(o.frame, &o.l, 4, 6, o.l.len - o.l.l4),
			      "frame at %zu: TCP checksum not fixed", off);
			if (off != rec_off[r]) {
				CHECK(!diff, "frame at %zu changed, not a record start", off);
			} else if (diff) {
				uint8_t x = o.frame[o.l.payload + at] ^ wire[off + at];

				CHECK(diff == 1 && at >= 13 && at < len && (x & (x - 1)) == 0,
				      "record %zu: %zu bytes changed, at %zu, xor %#x", r, diff,
				      at, x);
				bad_rec[r] = true;
				nbad++;
				wire_bad[off + at] ^= x;
				plain_bad[off + at] ^= x;
			}
			dsim_rx_process(&port, o.frame, o.l.len, &o.meta);
			o.flags = le16toh(o.meta.flags);
			if (o.flags & TLSNIC_RX_F_TLS_DECRYPTED) {
				CHECK(!memcmp(o.frame + o.l.payload, plain_bad + off, len),
				      "frame at %zu: not AES-GCM's plaintext", off);
				CHECK(off + len < rec_off[r + 1] || !bad_rec[r],
				      "record %zu: tag frame of a corrupted record marked", r);
				resumed += r > 0 && bad_rec[r - 1] && off + len == rec_off[r + 1];
			} else {
				CHECK(!memcmp(o.frame + o.l.payload, wire_bad + off, len),
				      "frame at %zu: not as it came", off);
				CHECK(bad_rec[r], "record %zu not corrupted, frame at %zu not marked",
				      r, off);
			}
			CHECK(ref_l4_ok(o.frame, &o.l, 4, 6, o.l.len - o.l.l4),
			      "frame at %zu: delivered checksum", off);
		}
	}
	CHECK(nbad > 2 && nbad < nr_rec - 2, "%zu of %zu records corrupted", nbad, nr_rec);
	CHECK(sender.wire_tls_corrupted == nbad, "wire_tls_corrupted %llu, changed %zu",
	      (unsigned long long)sender.wire_tls_corrupted, nbad);
	CHECK(port.cnt.rx_tls_auth_fail == nbad && port.cnt.rx_tls_records_ok == nr_rec - nbad,
	      "auth_fail %llu records_ok %llu",
	      (unsigned long long)port.cnt.rx_tls_auth_fail,
	      (unsigned long long)port.cnt.rx_tls_records_ok);
	CHECK(resumed >= 1, "no record after a corrupted one decrypted");
	return true;
}

/*
 * The same seed gives the same corruption; frames that start no record
 * (and non-TLS payloads) are never changed, at 100%.
 */
static bool tls_corrupt_seeded(void)
{
	static const struct dsim_wire_ops ops = {
		.deliver = cap_deliver, .drop = cap_drop, .clone = cap_clone,
	};
	struct dsim_wire_cfg cfg = { .tls_corrupt = 100, .seed = 3 };
	static struct dsim_counters c1;
	uint8_t first[FRAME_MAX], f[FRAME_MAX];
	struct frame_layout l;
	struct dsim_wire w;
	int run, k;

	CHECK(make_stream(TLSNIC_CIPHER_AES_GCM_128), "records");
	for (run = 0; run < 2; run++) {
		dsim_wire_init(&w, &cfg, 1, &c1, NULL);
		for (k = 0; k < 3; k++) {
			/* A record start, a frame inside a record, plain text. */
			static const uint8_t text[64] = "GET / HTTP/1.1\r\nHost: tlsnic\r\n";
			size_t off = k == 0 ? rec_off[2] : rec_off[2] + 100;
			struct frame_spec s = {
				.family = 6, .proto = 6, .seq = 1,
				.payload = k == 2 ? text : wire + off, .payload_len = 64,
			};
			struct dsim_wire_pkt pkt = { .data = f };

			l = build_frame(f, &s);
			pkt.len = (uint32_t)l.len;
			dsim_wire_xmit(&w, &pkt, 0, &ops);
			CHECK(ref_l4_ok(delivered.frame, &l, 6, 6, l.len - l.l4), "checksum");
			if (k == 0 && run == 0)
				memcpy(first, delivered.frame, l.len);
			else if (k == 0)
				CHECK(!memcmp(first, delivered.frame, l.len), "not reproducible");
			CHECK((k == 0) == !!memcmp(delivered.frame + l.payload, s.payload, 64),
			      "frame %d: changed or not (want %d)", k, k == 0);
		}
	}
	CHECK(c1.wire_tls_corrupted == 2, "wire_tls_corrupted %llu",
	      (unsigned long long)c1.wire_tls_corrupted);
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "in_order_v4_gcm128", in_order_v4_gcm128 },
		{ "in_order_v4_gcm256", in_order_v4_gcm256 },
		{ "in_order_v6_gcm128", in_order_v6_gcm128 },
		{ "in_order_v6_gcm256", in_order_v6_gcm256 },
		{ "bad_checksum_untouched", bad_checksum_untouched },
		{ "gap_resync_v4", gap_resync_v4 },
		{ "gap_resync_v6", gap_resync_v6 },
		{ "unanswered_request_repeated", unanswered_request_repeated },
		{ "duplicate_and_destroy", duplicate_and_destroy },
		{ "v1_driver", v1_driver },
		{ "context_behind_data", context_behind_data },
		{ "tls_corrupt", tls_corrupt },
		{ "tls_corrupt_seeded", tls_corrupt_seeded },
	};
	int ret;

	if (dsim_port_init(&port, 1, 8))
		return 1;
	ret = run_tests(tests, ARRAY_SIZE(tests));
	dsim_port_fini(&port);
	return ret;
}
