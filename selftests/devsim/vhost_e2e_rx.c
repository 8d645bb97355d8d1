// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_e2e_rx: TLS RX offload (ABI v2) through the real device.
 *
 * The guests of ports 0 and 1 speak v2 and use the command channel as the
 * driver does: CTX_CREATE for the flow as port 1 receives it (key, salt,
 * record number, TCP sequence of a record header), RX_RESYNC answering
 * the request in a frame's metadata with its id, CTX_DESTROY. Port 0
 * sends TLS 1.2 AES-GCM records sealed by OpenSSL's EVP (the oracle: no
 * devsim code builds or checks a record) in plain TCP frames, and port 1's
 * RX metadata and bytes are checked frame by frame against the ABI
 * (docs/device-interface.md, section 5): a decrypted frame holds OpenSSL's
 * plaintext with header, nonce and tag unchanged and a checksum valid over
 * it; any other frame is exactly what was sent. The last case has port 0
 * encrypt (TLS TX, TSO) and port 1 decrypt the same flow; the wire
 * capture devsim writes (--pcap) is decrypted with OpenSSL on its own.
 * Every case checks the port's rx_tls_* counters in the stats file.
 */
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "devsim_test.h"
#include "tlsnic.h"
#include "vhost_e2e.h"

#define TLS_HDR		5
#define TLS_NONCE	8
#define TLS_TAG		16
#define TLS_OVERHEAD	(TLS_HDR + TLS_NONCE + TLS_TAG)
#define TLS_APP_DATA	23
#define TLS_PORT	443

#define STREAM_MAX	(64 * 1024)
#define MAX_RECS	32
#define MAX_FRAMES	128
#define FRAME_MAX	2048

/* The peer side of a flow: 10.77.0.1 / fd00:77::1 (devsim_test.h), sport. */
struct e2e_flow {
	int family;
	uint16_t sport;
};

struct e2e_keys {
	uint8_t cipher;		/* enum tlsnic_cipher */
	uint8_t key[32];
	uint8_t salt[4];
	uint8_t iv[8];		/* TX: explicit nonce of the first record */
	uint64_t first_rec;	/* number of the record at tcp_seq */
	uint32_t tcp_seq;	/* TCP sequence of the first record header */
};

/* A stream of records as the peer sends them, and what decryption gives. */
struct tls_stream {
	size_t len;
	unsigned int nrec;
	size_t start[MAX_RECS + 1];	/* record headers; start[nrec] = len */
	uint8_t wire[STREAM_MAX];	/* sealed records */
	uint8_t clear[STREAM_MAX];	/* the same, payloads in plaintext */
	uint8_t plain[STREAM_MAX];	/* application data alone */
	size_t plain_len;
};

/* One frame sent by port 0 and what port 1's guest got for it. */
struct rx_frame {
	struct tlsnic_rx_meta meta;
	uint16_t flags;
	struct frame_layout l;
	uint8_t sent[FRAME_MAX];
	uint8_t got[FRAME_MAX];
};

/* ---- OpenSSL: the record oracle --------------------------------------- */

static size_t key_len(const struct e2e_keys *k)
{
	return k->cipher == TLSNIC_CIPHER_AES_GCM_128 ? 16 : 32;
}

static const EVP_CIPHER *gcm(const struct e2e_keys *k)
{
	return k->cipher == TLSNIC_CIPHER_AES_GCM_128 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

/* TLS 1.2 GCM: nonce = salt || explicit nonce, AAD = seq || type || 3.3 || length. */
static void record_iv_aad(const struct e2e_keys *k, uint64_t num, const uint8_t *nonce,
			  size_t plen, uint8_t iv[12], uint8_t aad[13])
{
	int i;

	memcpy(iv, k->salt, 4);
	memcpy(iv + 4, nonce, TLS_NONCE);
	for (i = 0; i < 8; i++)
		aad[i] = (uint8_t)(num >> (56 - 8 * i));
	aad[8] = TLS_APP_DATA;
	aad[9] = 3;
	aad[10] = 3;
	ref_wr16(aad + 11, (uint16_t)plen);
}

/* Seals record @num of @plen bytes into @rec (plen + TLS_OVERHEAD bytes). */
static bool seal_record(const struct e2e_keys *k, uint64_t num, const uint8_t *nonce,
			const uint8_t *pt, size_t plen, uint8_t *rec)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t iv[12], aad[13];
	int n, ok;

	record_iv_aad(k, num, nonce, plen, iv, aad);
	rec[0] = TLS_APP_DATA;
	rec[1] = 3;
	rec[2] = 3;
	ref_wr16(rec + 3, (uint16_t)(TLS_NONCE + plen + TLS_TAG));
	memcpy(rec + TLS_HDR, nonce, TLS_NONCE);
	ok = c && EVP_EncryptInit_ex(c, gcm(k), NULL, k->key, iv) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, aad, sizeof(aad)) == 1 &&
	     EVP_EncryptUpdate(c, rec + TLS_HDR + TLS_NONCE, &n, pt, (int)plen) == 1 &&
	     EVP_EncryptFinal_ex(c, rec + TLS_HDR + TLS_NONCE + plen, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TLS_TAG,
				 rec + TLS_HDR + TLS_NONCE + plen) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/* Opens record @num (@rlen bytes with header): true if its tag verifies. */
static bool open_record(const struct e2e_keys *k, uint64_t num, const uint8_t *rec,
			size_t rlen, uint8_t *pt)
{
	EVP_CIPHER_CTX *c;
	size_t plen = rlen - TLS_OVERHEAD;
	uint8_t iv[12], aad[13], tag[TLS_TAG];
	int n, ok;

	if (rlen < TLS_OVERHEAD || rec[1] != 3 || rec[2] != 3 ||
	    ref_rd16(rec + 3) != rlen - TLS_HDR)
		return false;
	record_iv_aad(k, num, rec + TLS_HDR, plen, iv, aad);
	aad[8] = rec[0];
	memcpy(tag, rec + rlen - TLS_TAG, TLS_TAG);
	c = EVP_CIPHER_CTX_new();
	ok = c && EVP_DecryptInit_ex(c, gcm(k), NULL, k->key, iv) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, aad, sizeof(aad)) == 1 &&
	     EVP_DecryptUpdate(c, pt, &n, rec + TLS_HDR + TLS_NONCE, (int)plen) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TLS_TAG, tag) == 1 &&
	     EVP_DecryptFinal_ex(c, pt + plen, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

/*
 * Records of random plaintext, @plens[i] bytes each, numbered from
 * k->first_rec. Explicit nonces are random (an RX peer may use any) or,
 * for TX, k->iv plus the record's index, as Linux kTLS writes them.
 */
static bool make_stream(struct tls_stream *s, const struct e2e_keys *k, const size_t *plens,
			unsigned int nrec, bool nonce_from_iv)
{
	size_t off = 0, poff = 0;
	unsigned int i;

	CHECK(nrec <= MAX_RECS, "%u records", nrec);
	for (i = 0; i < nrec; i++) {
		size_t rlen = plens[i] + TLS_OVERHEAD;
		uint8_t nonce[TLS_NONCE];
		uint64_t n = 0;
		int b;

		CHECK(off + rlen <= STREAM_MAX, "stream too long");
		if (nonce_from_iv) {
			for (b = 0; b < TLS_NONCE; b++)
				n = n << 8 | k->iv[b];
			n += i;
			for (b = 0; b < TLS_NONCE; b++)
				nonce[b] = (uint8_t)(n >> (56 - 8 * b));
		} else {
			test_fill_random(nonce, sizeof(nonce));
		}
		test_fill_random(s->plain + poff, plens[i]);
		CHECK(seal_record(k, k->first_rec + i, nonce, s->plain + poff, plens[i],
				  s->wire + off), "OpenSSL could not seal record %u", i);
		memcpy(s->clear + off, s->wire + off, rlen);
		memcpy(s->clear + off + TLS_HDR + TLS_NONCE, s->plain + poff, plens[i]);
		s->start[i] = off;
		off += rlen;
		poff += plens[i];
	}
	s->start[nrec] = off;
	s->len = off;
	s->nrec = nrec;
	s->plain_len = poff;
	return true;
}

/* Application data of every record of @stream (the clear form), in order. */
static bool payloads_equal(const struct tls_stream *s, const uint8_t *stream)
{
	size_t poff = 0;
	unsigned int i;

	for (i = 0; i < s->nrec; i++) {
		size_t plen = s->start[i + 1] - s->start[i] - TLS_OVERHEAD;

		CHECK(!memcmp(stream + s->start[i] + TLS_HDR + TLS_NONCE, s->plain + poff, plen),
		      "record %u: payload is not the plaintext", i);
		poff += plen;
	}
	return true;
}

/* ---- frames and contexts ---------------------------------------------- */

static void tcp_csum_fix(uint8_t *frame, const struct frame_layout *l, int family)
{
	const uint8_t *ip = frame + l->l3;
	uint32_t l4_len = (uint32_t)(l->len - l->l4);
	uint16_t sum;

	ref_wr16(frame + l->l4 + 16, 0);
	sum = family == 4 ? ref_pseudo_sum(4, ip + 12, ip + 16, 6, l4_len) :
			    ref_pseudo_sum(6, ip + 8, ip + 24, 6, l4_len);
	ref_wr16(frame + l->l4 + 16, (uint16_t)~ref_sum(sum, frame + l->l4, l4_len));
}

/* A TCP frame of @f carrying @len bytes at sequence @seq, checksums right. */
static struct frame_layout flow_frame(uint8_t *frame, const struct e2e_flow *f, uint32_t seq,
				      const uint8_t *payload, size_t len)
{
	struct frame_spec s = { .family = f->family, .proto = 6, .tcp_flags = 0x10,
				.seq = seq, .payload = payload, .payload_len = len };
	struct frame_layout l = build_frame(frame, &s);

	ref_wr16(frame + l.l4, f->sport);
	ref_wr16(frame + l.l4 + 2, TLS_PORT);
	tcp_csum_fix(frame, &l, f->family);
	return l;
}

static struct tlsnic_ctx_create ctx_body(uint8_t dir, const struct e2e_keys *k,
					 const struct e2e_flow *f)
{
	struct tlsnic_ctx_create c;
	int i;

	memset(&c, 0, sizeof(c));
	c.dir = dir;
	c.tls_version = TLSNIC_TLS_1_2;
	c.cipher = k->cipher;
	c.family = (uint8_t)f->family;
	memcpy(c.key, k->key, key_len(k));
	memcpy(c.salt, k->salt, sizeof(c.salt));
	memcpy(c.iv, k->iv, sizeof(c.iv));
	for (i = 0; i < 8; i++)
		c.rec_seq[i] = (uint8_t)(k->first_rec >> (56 - 8 * i));
	c.tcp_seq = htole32(k->tcp_seq);
	/* Both directions name the peer of port 1 as the source. */
	memcpy(c.saddr, f->family == 4 ? test_src4 : test_src6, f->family == 4 ? 4 : 16);
	memcpy(c.daddr, f->family == 4 ? test_dst4 : test_dst6, f->family == 4 ? 4 : 16);
	c.sport = htobe16(f->sport);
	c.dport = htobe16(TLS_PORT);
	return c;
}

/*
 * Contexts created and not destroyed yet: a case that fails half-way
 * leaves none behind for the next (finish_case()).
 */
static struct {
	uint16_t port;
	uint32_t handle;
} live[8];
static unsigned int nr_live;

/* CTX_CREATE on @port; returns the status, the handle in *handle. */
static int ctx_create(uint16_t port, uint8_t dir, const struct e2e_keys *k,
		      const struct e2e_flow *f, uint32_t *handle)
{
	struct tlsnic_ctx_create c = ctx_body(dir, k, f);
	struct tlsnic_ctx_ref ref = { 0 };
	int st = command(port, TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref, sizeof(ref));

	explicit_bzero(&c, sizeof(c));
	*handle = le32toh(ref.handle);
	if (st == TLSNIC_ST_OK && nr_live < ARRAY_SIZE(live)) {
		live[nr_live].port = port;
		live[nr_live++].handle = *handle;
	}
	return st;
}

static int ctx_destroy(uint16_t port, uint32_t handle)
{
	struct tlsnic_ctx_ref ref = { .handle = htole32(handle) };
	int st = command(port, TLSNIC_OP_CTX_DESTROY, &ref, sizeof(ref), NULL, 0);
	unsigned int i;

	for (i = 0; st == TLSNIC_ST_OK && i < nr_live; i++)
		if (live[i].port == port && live[i].handle == handle)
			live[i] = live[--nr_live];
	return st;
}

/* Destroys what a failed case left, drops its frames; passes @ok through. */
static bool finish_case(bool ok)
{
	uint8_t *bufs[64];
	size_t lens[64];
	uint16_t port;

	for (port = 0; !ok && port < 2; port++)
		free_bufs(bufs, recv_bufs(port, DATA_Q, bufs, lens, 64, 300));
	while (nr_live) {
		if (ctx_destroy(live[0].port, live[0].handle) != TLSNIC_ST_OK) {
			printf("# cannot destroy context %#x of port %u\n", live[0].handle,
			       live[0].port);
			live[0] = live[--nr_live];
		}
	}
	return ok;
}

/* RX_RESYNC as the driver sends it: header's first byte, number, request id. */
static int rx_resync(uint16_t port, uint32_t handle, uint32_t tcp_seq, uint64_t rec,
		     uint32_t id)
{
	struct tlsnic_rx_resync rs;
	int i;

	memset(&rs, 0, sizeof(rs));
	rs.handle = htole32(handle);
	rs.tcp_seq = htole32(tcp_seq);
	for (i = 0; i < 8; i++)
		rs.rec_seq[i] = (uint8_t)(rec >> (56 - 8 * i));
	rs.resync_id = htole32(id);
	return command(port, TLSNIC_OP_RX_RESYNC, &rs, sizeof(rs), NULL, 0);
}

/*
 * Sends stream bytes [off, off + len) from port 0 as one TCP frame (no
 * offload), with the byte at stream offset @tamper flipped (and the
 * checksum made right again) unless it is -1, and receives it on port 1.
 * Whatever the device did, the checksum must be right over what arrived
 * and the headers unchanged.
 */
static bool rx_exchange(const struct e2e_flow *f, const struct e2e_keys *k,
			const struct tls_stream *s, size_t off, size_t len, long tamper,
			struct rx_frame *r)
{
	uint8_t txb[FRAME_MAX + 64], *bufs[1];
	size_t lens[1];
	unsigned int n;
	bool ok;

	r->l = flow_frame(r->sent, f, k->tcp_seq + (uint32_t)off, s->wire + off, len);
	if (tamper >= 0) {
		r->sent[r->l.payload + (size_t)tamper - off] ^= 0x04;
		tcp_csum_fix(r->sent, &r->l, f->family);
	}
	if (!send_buf(0, DATA_Q, txb, with_meta(txb, 0, 0, 0, 0, r->sent, r->l.len)))
		return false;
	n = recv_bufs(1, DATA_Q, bufs, lens, 1, 5000);
	CHECK(n == 1, "frame at stream offset %zu not delivered", off);
	ok = lens[0] == sizeof(r->meta) + r->l.len;
	if (ok) {
		memcpy(&r->meta, bufs[0], sizeof(r->meta));
		memcpy(r->got, bufs[0] + sizeof(r->meta), r->l.len);
	}
	free_bufs(bufs, n);
	CHECK(ok, "frame at %zu: %zu bytes delivered for %zu", off, lens[0], r->l.len);
	r->flags = le16toh(r->meta.flags);
	CHECK(ref_l4_ok(r->got, &r->l, f->family, 6, r->l.len - r->l.l4),
	      "frame at %zu: TCP checksum wrong over the bytes delivered", off);
	CHECK(!memcmp(r->got, r->sent, r->l.l4 + 16) &&
	      !memcmp(r->got + r->l.l4 + 18, r->sent + r->l.l4 + 18, r->l.payload - r->l.l4 - 18),
	      "frame at %zu: headers changed", off);
	return true;
}

/* Decrypted per the ABI: OpenSSL's plaintext, header/nonce/tag unchanged. */
static bool decrypted(const struct rx_frame *r, const struct tls_stream *s, size_t off,
		      size_t len, uint32_t handle)
{
	CHECK(r->flags == (TLSNIC_RX_F_CSUM_OK | TLSNIC_RX_F_TLS_DECRYPTED),
	      "frame at %zu: flags %#x, want CSUM_OK | TLS_DECRYPTED", off, r->flags);
	CHECK(le32toh(r->meta.ctx_handle) == handle && !r->meta.resync_seq &&
	      !r->meta.resync_id, "frame at %zu: handle %#x (want %#x), resync %u/%u", off,
	      le32toh(r->meta.ctx_handle), handle, le32toh(r->meta.resync_seq),
	      le32toh(r->meta.resync_id));
	CHECK(!memcmp(r->got + r->l.payload, s->clear + off, len),
	      "frame at %zu: payload is not OpenSSL's plaintext form", off);
	return true;
}

/* Not decrypted: delivered byte for byte as it was sent (checksum good). */
static bool as_sent(const struct rx_frame *r, size_t off, uint32_t handle)
{
	CHECK(r->flags == TLSNIC_RX_F_CSUM_OK, "frame at %zu: flags %#x, want CSUM_OK alone",
	      off, r->flags);
	CHECK(le32toh(r->meta.ctx_handle) == handle && !r->meta.resync_seq &&
	      !r->meta.resync_id, "frame at %zu: handle %#x (want %#x), resync %u/%u", off,
	      le32toh(r->meta.ctx_handle), handle, le32toh(r->meta.resync_seq),
	      le32toh(r->meta.resync_id));
	CHECK(!memcmp(r->got, r->sent, r->l.len), "frame at %zu: changed", off);
	return true;
}

/* ---- counters --------------------------------------------------------- */

enum {
	C_DEC_PKTS, C_DEC_BYTES, C_REC_OK, C_AUTH_FAIL, C_BAD_REC, C_RS_REQ, C_RS_OK,
	C_RS_STALE, C_RS_REFUSED, C_CREATED, C_DESTROYED, C_ACTIVE, C_CSUM_BAD, NR_C
};

static const char *const rx_counter[NR_C] = {
	[C_DEC_PKTS] = "rx_tls_decrypted_packets", [C_DEC_BYTES] = "rx_tls_decrypted_bytes",
	[C_REC_OK] = "rx_tls_records_ok", [C_AUTH_FAIL] = "rx_tls_auth_fail",
	[C_BAD_REC] = "rx_tls_bad_record", [C_RS_REQ] = "rx_tls_resync_req",
	[C_RS_OK] = "rx_tls_resync_ok", [C_RS_STALE] = "rx_tls_resync_stale",
	[C_RS_REFUSED] = "rx_tls_resync_refused", [C_CREATED] = "rx_tls_ctx_created",
	[C_DESTROYED] = "rx_tls_ctx_destroyed", [C_ACTIVE] = "rx_tls_ctx_active",
	[C_CSUM_BAD] = "rx_tls_csum_bad",
};

static bool rx_counters(uint16_t port, long long *v)
{
	int i;

	for (i = 0; i < NR_C; i++) {
		v[i] = stat_value(port, rx_counter[i]);
		CHECK(v[i] >= 0, "port%u.%s missing", port, rx_counter[i]);
	}
	return true;
}

/* Every rx_tls_* counter of @port at before + delta (the others: unchanged). */
static bool rx_counters_moved(uint16_t port, const long long *before, const long long *delta)
{
	int i;

	for (i = 0; i < NR_C; i++)
		if (!stat_reaches(port, rx_counter[i], before[i] + delta[i]))
			return false;
	return true;
}

static void fill_keys(struct e2e_keys *k, uint8_t cipher, uint64_t first_rec, uint32_t tcp_seq)
{
	memset(k, 0, sizeof(*k));
	k->cipher = cipher;
	test_fill_random(k->key, key_len(k));
	test_fill_random(k->salt, sizeof(k->salt));
	test_fill_random(k->iv, sizeof(k->iv));
	k->first_rec = first_rec;
	k->tcp_seq = tcp_seq;
}

/* Cuts @s into frames of the sizes in @cuts (repeated); returns how many. */
static unsigned int cut_frames(const struct tls_stream *s, const size_t *cuts, size_t ncuts,
			       size_t *foff, size_t *flen)
{
	unsigned int n = 0;
	size_t off = 0;

	while (off < s->len && n < MAX_FRAMES) {
		size_t len = cuts[n % ncuts];

		if (len > s->len - off)
			len = s->len - off;
		foff[n] = off;
		flen[n++] = len;
		off += len;
	}
	return n;
}

/* ---- cases ------------------------------------------------------------ */

static const struct e2e_flow rx_flow = { .family = 4, .sport = 41000 };

/*
 * A v1 driver gets no RX offload: RX CTX_CREATE is UNSUPPORTED, RX_RESYNC
 * an unknown opcode. Ports 0 and 1 then IDENTIFY with v2 and are offered
 * TLS_RX with RX_RESYNC_REQ; the rest of this file speaks v2 there.
 */
static bool tls_rx_identify_v2_body(void)
{
	struct tlsnic_identify id;
	struct e2e_keys k;
	uint32_t handle;
	uint16_t port;

	fill_keys(&k, TLSNIC_CIPHER_AES_GCM_128, 1, 1);
	CHECK(ctx_create(1, TLSNIC_DIR_RX, &k, &rx_flow, &handle) == TLSNIC_ST_UNSUPPORTED,
	      "v1: RX CTX_CREATE not refused");
	CHECK(rx_resync(1, 0, 1, 1, 1) == TLSNIC_ST_BAD_OPCODE, "v1: RX_RESYNC taken");
	for (port = 0; port < 2; port++) {
		CHECK(identify_abi(port, TLSNIC_ABI_VERSION, &id) == TLSNIC_ST_OK,
		      "port %u: IDENTIFY v2", port);
		CHECK(le32toh(id.abi_version) == 2 && le16toh(id.data_qps) == 1 &&
		      (le32toh(id.caps) & (TLSNIC_CAP_TLS_RX | TLSNIC_CAP_RX_RESYNC_REQ)) ==
		      (TLSNIC_CAP_TLS_RX | TLSNIC_CAP_RX_RESYNC_REQ),
		      "port %u: v%u, caps %#x, %u data queue pairs", port,
		      le32toh(id.abi_version), le32toh(id.caps), le16toh(id.data_qps));
	}
	return true;
}

/*
 * An RX context on port 1 and ten records from port 0 (sizes 1 to 16,384
 * bytes, TCP sequence wrapping, headers and tags cut across frames): every
 * frame arrives CSUM_OK | TLS_DECRYPTED with the context's handle, holds
 * OpenSSL's plaintext with header, nonce and tag unchanged and a checksum
 * right over it; the records' payloads are the plaintext. After
 * CTX_DESTROY the flow's frames arrive as sent with no handle, and the
 * handle is refused.
 */
static bool tls_rx_decrypts_body(void)
{
	static const size_t plens[] = { 1, 100, 1400, 3000, 64, 16384, 2000, 700, 500, 1200 };
	static const size_t cuts[] = { 1448, 1000, 7, 1448, 300, 1448, 13, 900, 3 };
	static struct tls_stream s;
	static uint8_t got[STREAM_MAX];
	static struct rx_frame r;
	long long c0[NR_C], d[NR_C] = { 0 };
	size_t foff[MAX_FRAMES], flen[MAX_FRAMES];
	unsigned int n, i;
	struct e2e_keys k;
	uint32_t handle, second;

	fill_keys(&k, TLSNIC_CIPHER_AES_GCM_128, 1000, 0xffffd000);
	if (!make_stream(&s, &k, plens, ARRAY_SIZE(plens), false) || !rx_counters(1, c0))
		return false;
	n = cut_frames(&s, cuts, ARRAY_SIZE(cuts), foff, flen);
	CHECK(ctx_create(1, TLSNIC_DIR_RX, &k, &rx_flow, &handle) == TLSNIC_ST_OK, "create");
	CHECK(ctx_create(1, TLSNIC_DIR_RX, &k, &rx_flow, &second) == TLSNIC_ST_EXISTS,
	      "a second RX context for the flow");
	d[C_CREATED] = 1;
	d[C_ACTIVE] = 1;
	if (!rx_counters_moved(1, c0, d))
		return false;
	for (i = 0; i < n; i++) {
		if (!rx_exchange(&rx_flow, &k, &s, foff[i], flen[i], -1, &r) ||
		    !decrypted(&r, &s, foff[i], flen[i], handle))
			return false;
		memcpy(got + foff[i], r.got + r.l.payload, flen[i]);
	}
	CHECK(!memcmp(got, s.clear, s.len), "stream");
	if (!payloads_equal(&s, got))
		return false;
	d[C_DEC_PKTS] = n;
	d[C_DEC_BYTES] = (long long)s.len;
	d[C_REC_OK] = s.nrec;
	if (!rx_counters_moved(1, c0, d))
		return false;
	printf("# %u records in %u frames decrypted by the device\n", s.nrec, n);

	CHECK(ctx_destroy(1, handle) == TLSNIC_ST_OK, "destroy");
	d[C_DESTROYED] = 1;
	d[C_ACTIVE] = 0;
	if (!rx_counters_moved(1, c0, d))
		return false;
	/* The first record again, and the next frame: nobody decrypts them now. */
	for (i = 0; i < 2; i++)
		if (!rx_exchange(&rx_flow, &k, &s, foff[i], flen[i], -1, &r) ||
		    !as_sent(&r, foff[i], TLSNIC_HANDLE_NONE))
			return false;
	CHECK(ctx_destroy(1, handle) == TLSNIC_ST_BAD_HANDLE, "destroyed twice");
	CHECK(rx_resync(1, handle, k.tcp_seq, k.first_rec, 1) == TLSNIC_ST_BAD_HANDLE,
	      "RX_RESYNC for a destroyed context");
	return rx_counters_moved(1, c0, d);
}

/*
 * One ciphertext byte changed (TCP checksum made right, so the frame
 * reaches the engine): the frame with the record's tag is not decrypted
 * and arrives as sent; frames before it in the same record are decrypted
 * (the tag decides only for the frame carrying its last byte); the next
 * record decrypts again. AES-GCM-256.
 */
static bool tls_rx_tampered_record_body(void)
{
	/* Records 1 and 4 are tampered with; 4 is cut in two frames. */
	static const size_t plens[] = { 500, 800, 300, 1000, 1900, 600 };
	static struct tls_stream s;
	static struct rx_frame r;
	long long c0[NR_C], d[NR_C] = { 0 };
	struct e2e_keys k;
	uint32_t handle;
	unsigned int i;

	fill_keys(&k, TLSNIC_CIPHER_AES_GCM_256, 77, 123456789);
	if (!make_stream(&s, &k, plens, ARRAY_SIZE(plens), false) || !rx_counters(1, c0))
		return false;
	CHECK(ctx_create(1, TLSNIC_DIR_RX, &k, &rx_flow, &handle) == TLSNIC_ST_OK, "create");
	for (i = 0; i < s.nrec; i++) {
		size_t off = s.start[i], len = s.start[i + 1] - off, first = len;
		bool tampered = i == 1 || i == 4;

		if (i == 4) {
			first = 1200;
			if (!rx_exchange(&rx_flow, &k, &s, off, first, -1, &r) ||
			    !decrypted(&r, &s, off, first, handle))
				return false;
			off += first;
			len -= first;
		}
		if (!rx_exchange(&rx_flow, &k, &s, off, len, tampered ? (long)(off + 100) : -1,
				 &r))
			return false;
		if (tampered ? !as_sent(&r, off, handle) : !decrypted(&r, &s, off, len, handle))
			return false;
	}
	d[C_CREATED] = 1;
	d[C_ACTIVE] = 1;
	d[C_DEC_PKTS] = 5;
	d[C_DEC_BYTES] = (long long)(s.len - (s.start[2] - s.start[1]) -
				     (s.start[5] - s.start[4] - 1200));
	d[C_REC_OK] = 4;
	d[C_AUTH_FAIL] = 2;
	if (!rx_counters_moved(1, c0, d))
		return false;
	CHECK(ctx_destroy(1, handle) == TLSNIC_ST_OK, "destroy");
	d[C_DESTROYED] = 1;
	d[C_ACTIVE] = 0;
	return rx_counters_moved(1, c0, d);
}

/* Cuts the frame holding stream offset @at (not its first byte) in two there. */
static void split_frame(size_t *foff, size_t *flen, unsigned int *n, size_t at)
{
	unsigned int i, j;

	for (i = 0; i < *n && *n < MAX_FRAMES; i++) {
		if (at <= foff[i] || at >= foff[i] + flen[i])
			continue;
		for (j = *n; j > i + 1; j--) {
			foff[j] = foff[j - 1];
			flen[j] = flen[j - 1];
		}
		foff[i + 1] = at;
		flen[i + 1] = foff[i] + flen[i] - at;
		flen[i] = at - foff[i];
		(*n)++;
		return;
	}
}

/*
 * A frame of the flow never arrives. The device stops decrypting, finds
 * the next record header in the frames after the hole and asks for a
 * resync in the metadata of the frame holding the header's last byte,
 * nowhere else. Wrong answers change nothing (another id or sequence:
 * STALE; a number below the context's first record: REFUSED); the driver's
 * answer (resync_seq, that record's number, resync_id) is OK, a second one
 * STALE. Decryption resumes at the next record header after the answer:
 * frames from there on are decrypted, every one before it arrives as sent.
 * Twice: the header whole in a frame, and cut across two (the request
 * comes with the frame that completes it).
 */
/* Frame @hole never arrives; with @split, the next header is cut after 2 bytes. */
static bool resync_after_hole(unsigned int hole, bool split)
{
	static const size_t plens[] = { 900, 2500, 300, 1200, 4000, 150, 2200, 800, 1000,
					3000, 600, 1700, 400, 2000 };
	static const size_t cuts[] = { 1200, 1448, 600, 1448, 1000 };
	static struct tls_stream s;
	static struct rx_frame r;
	long long c0[NR_C], d[NR_C] = { 0 };
	size_t foff[MAX_FRAMES], flen[MAX_FRAMES], hole_end, req_end, resume = 0, dec_bytes = 0;
	unsigned int n, i, cand, req = 0, dec = 0, rec_ok = 0, after = 0;
	struct e2e_keys k;
	uint32_t handle, id, seq;

	fill_keys(&k, TLSNIC_CIPHER_AES_GCM_128, 5000, 0x7ffffc00);
	if (!make_stream(&s, &k, plens, ARRAY_SIZE(plens), false) || !rx_counters(1, c0))
		return false;
	n = cut_frames(&s, cuts, ARRAY_SIZE(cuts), foff, flen);
	/* The first header wholly after the hole, and the frame with its end. */
	hole_end = foff[hole + 1];
	for (cand = 0; cand < s.nrec && s.start[cand] < hole_end; cand++)
		;
	CHECK(cand < s.nrec, "no record after the hole");
	if (split) {
		split_frame(foff, flen, &n, s.start[cand]);
		split_frame(foff, flen, &n, s.start[cand] + 2);
	}
	for (i = hole + 1; i < n; i++)
		if (foff[i] + flen[i] > s.start[cand] + TLS_HDR - 1) {
			req = i;
			break;
		}
	CHECK(req, "no frame holds the candidate's header");
	req_end = foff[req] + flen[req];
	for (i = 0; i <= s.nrec; i++)
		if (s.start[i] >= req_end) {
			resume = s.start[i];
			break;
		}
	CHECK(i < s.nrec, "nothing to decrypt after the resync");
	printf("# hole: frame %u at %zu; candidate record %u at %zu, header in frame%s %u; "
	       "decryption resumes at %zu\n", hole, foff[hole], cand, s.start[cand],
	       split ? "s (split) ending in" : "", req, resume);

	CHECK(ctx_create(1, TLSNIC_DIR_RX, &k, &rx_flow, &handle) == TLSNIC_ST_OK, "create");
	for (i = 0; i < n; i++) {
		if (i == hole)
			continue;
		if (!rx_exchange(&rx_flow, &k, &s, foff[i], flen[i], -1, &r))
			return false;
		if (i < hole || foff[i] >= resume) {
			if (!decrypted(&r, &s, foff[i], flen[i], handle))
				return false;
			dec++;
			dec_bytes += flen[i];
			after += i > hole;
		} else if (i != req) {
			if (!as_sent(&r, foff[i], handle))
				return false;
		}
		if (i != req)
			continue;
		/* The request: only here, and for the candidate's first byte. */
		seq = k.tcp_seq + (uint32_t)s.start[cand];
		id = le32toh(r.meta.resync_id);
		CHECK(r.flags == (TLSNIC_RX_F_CSUM_OK | TLSNIC_RX_F_TLS_RESYNC_REQ) &&
		      le32toh(r.meta.ctx_handle) == handle && le32toh(r.meta.resync_seq) == seq &&
		      id, "frame %u: flags %#x handle %#x resync_seq %#x (want %#x) id %u", i,
		      r.flags, le32toh(r.meta.ctx_handle), le32toh(r.meta.resync_seq), seq, id);
		CHECK(!memcmp(r.got, r.sent, r.l.len), "frame %u: changed", i);
		CHECK(rx_resync(1, handle, seq, k.first_rec + cand, id + 1) == TLSNIC_ST_STALE,
		      "answer with another id");
		CHECK(rx_resync(1, handle, seq + 1, k.first_rec + cand, id) == TLSNIC_ST_STALE,
		      "answer for another sequence");
		CHECK(rx_resync(1, handle, seq, k.first_rec - 1, id) == TLSNIC_ST_REFUSED,
		      "answer below the first record");
		CHECK(rx_resync(1, handle, seq, k.first_rec + cand, id) == TLSNIC_ST_OK,
		      "the driver's answer");
		CHECK(rx_resync(1, handle, seq, k.first_rec + cand, id) == TLSNIC_ST_STALE,
		      "a second answer");
	}
	CHECK(after >= 3, "only %u frames decrypted after the resync", after);
	/* Records wholly before the hole, and those from the resume point. */
	for (i = 0; i < s.nrec; i++)
		rec_ok += s.start[i + 1] <= foff[hole] || s.start[i] >= resume;
	d[C_CREATED] = 1;
	d[C_ACTIVE] = 1;
	d[C_DEC_PKTS] = dec;
	d[C_DEC_BYTES] = (long long)dec_bytes;
	d[C_REC_OK] = rec_ok;
	d[C_RS_REQ] = 1;
	d[C_RS_OK] = 1;
	d[C_RS_STALE] = 3;
	d[C_RS_REFUSED] = 1;
	if (!rx_counters_moved(1, c0, d))
		return false;
	CHECK(ctx_destroy(1, handle) == TLSNIC_ST_OK, "destroy");
	d[C_DESTROYED] = 1;
	d[C_ACTIVE] = 0;
	return rx_counters_moved(1, c0, d);
}

/*
 * An RX context of port 0, for the very flow port 1 receives, means
 * nothing on port 1: its handle is refused there (RX_RESYNC, CTX_DESTROY:
 * BAD_HANDLE, counted in cmd_err; in a TLS frame: dropped, counted in
 * tx_tls_drop_bad_handle, nothing on the wire) and port 1 delivers the
 * flow's records as sent, with no handle. Port 0's context is untouched.
 */
static bool tls_rx_foreign_handle_refused_body(void)
{
	static const size_t plens[] = { 400 };
	static struct tls_stream s;
	static struct rx_frame r;
	long long c0[NR_C], p0[NR_C], d[NR_C] = { 0 };
	long long err = stat_value(1, "cmd_err"), rs = stat_value(1, "cmd_rx_resync");
	long long drops = stat_value(1, "tx_tls_drop_bad_handle");
	uint8_t frame[FRAME_MAX], txb[FRAME_MAX + 64];
	struct frame_layout l;
	struct tlsnic_tx_meta m;
	struct e2e_keys k;
	uint32_t handle;
	size_t len;

	CHECK(err >= 0 && rs >= 0 && drops >= 0, "port 1 counters");
	fill_keys(&k, TLSNIC_CIPHER_AES_GCM_128, 0, 1000);
	if (!make_stream(&s, &k, plens, ARRAY_SIZE(plens), false) || !rx_counters(1, c0) ||
	    !rx_counters(0, p0))
		return false;
	CHECK(ctx_create(0, TLSNIC_DIR_RX, &k, &rx_flow, &handle) == TLSNIC_ST_OK,
	      "create on port 0");
	CHECK(rx_resync(1, handle, k.tcp_seq, k.first_rec, 1) == TLSNIC_ST_BAD_HANDLE,
	      "port 0's handle %#x resynced on port 1", handle);
	CHECK(ctx_destroy(1, handle) == TLSNIC_ST_BAD_HANDLE,
	      "port 0's handle %#x destroyed on port 1", handle);
	if (!stat_reaches(1, "cmd_err", err + 2) || !stat_reaches(1, "cmd_rx_resync", rs + 1))
		return false;

	/* As a TX handle on port 1: the frame goes nowhere. */
	l = flow_frame(frame, &rx_flow, k.tcp_seq, s.clear, s.len);
	len = with_meta(txb, TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TLS, (uint16_t)l.l4, 0,
			TLSNIC_GSO_NONE, frame, l.len);
	memcpy(&m, txb, sizeof(m));
	m.ctx_handle = htole32(handle);
	memcpy(txb, &m, sizeof(m));
	if (!send_buf(1, DATA_Q, txb, len) || !nothing_arrives(0, "port 0's RX handle on port 1") ||
	    !stat_reaches(1, "tx_tls_drop_bad_handle", drops + 1))
		return false;

	/* Port 1 has no context for the flow: its frames arrive as sent. */
	if (!rx_exchange(&rx_flow, &k, &s, 0, s.len, -1, &r) ||
	    !as_sent(&r, 0, TLSNIC_HANDLE_NONE) || !rx_counters_moved(1, c0, d))
		return false;

	d[C_CREATED] = 1;
	d[C_ACTIVE] = 1;
	if (!rx_counters_moved(0, p0, d))
		return false;
	CHECK(ctx_destroy(0, handle) == TLSNIC_ST_OK, "destroy on port 0");
	d[C_DESTROYED] = 1;
	d[C_ACTIVE] = 0;
	return rx_counters_moved(0, p0, d);
}

/* ---- TLS TX into TLS RX ----------------------------------------------- */

#define TX_MSS		1448

/*
 * Reassembles from devsim's capture the TCP payload of every frame of
 * flow @f, as offsets from @tcp_seq; counts them in *frames. True once
 * all of [0, len) is there.
 */
static bool pcap_stream(const struct e2e_flow *f, uint32_t tcp_seq, uint8_t *buf, size_t len,
			unsigned int *frames)
{
	static uint8_t have[STREAM_MAX], pkt[65536 + 16];
	uint32_t hdr[6], rec[4];
	size_t got = 0, i;
	FILE *p = fopen(pcap_path, "r");
	bool ok;

	*frames = 0;
	if (!p)
		return false;
	memset(have, 0, sizeof(have));
	ok = fread(hdr, sizeof(hdr), 1, p) == 1 && hdr[0] == 0xa1b2c3d4 && hdr[5] == 1;
	while (ok && fread(rec, sizeof(rec), 1, p) == 1) {
		const uint8_t *ip = pkt + 14, *th;
		size_t l4, plen, off;
		uint32_t seq;

		if (rec[2] > sizeof(pkt) || fread(pkt, rec[2], 1, p) != 1)
			break;
		if (f->family == 4 && ref_rd16(pkt + 12) == 0x0800 && ip[9] == 6 &&
		    !memcmp(ip + 12, test_src4, 4)) {
			l4 = 14 + (size_t)(ip[0] & 15) * 4;
			plen = 14 + (size_t)ref_rd16(ip + 2);
		} else if (f->family == 6 && ref_rd16(pkt + 12) == 0x86dd && ip[6] == 6 &&
			   !memcmp(ip + 8, test_src6, 16)) {
			l4 = 14 + 40;
			plen = l4 + ref_rd16(ip + 4);
		} else {
			continue;
		}
		th = pkt + l4;
		if (plen > rec[2] || ref_rd16(th) != f->sport)
			continue;
		seq = ref_rd32(th + 4);
		off = (uint32_t)(seq - tcp_seq);
		l4 += (size_t)(th[12] >> 4) * 4;
		plen -= l4;
		if (off > len || plen > len - off)
			continue;
		memcpy(buf + off, pkt + l4, plen);
		memset(have + off, 1, plen);
		(*frames)++;
	}
	fclose(p);
	for (i = 0; i < len; i++)
		got += have[i];
	return ok && got == len;
}

/*
 * One segment of a TSO frame at stream offset @off, as port 1 delivered
 * it: decrypted with the RX context's handle, checksum right, OpenSSL's
 * plaintext form. Its payload goes to @got.
 */
static bool tso_segment_ok(const uint8_t *buf, size_t len, const struct frame_layout *l,
			   const struct tls_stream *s, const struct e2e_keys *k, int fam,
			   uint32_t rx, size_t off, uint8_t *got)
{
	struct tlsnic_rx_meta meta;
	const uint8_t *sf = buf + sizeof(meta);
	size_t flen = len - sizeof(meta), plen = flen - l->payload;

	CHECK(len > sizeof(meta) + l->payload && off + plen <= s->len &&
	      ref_rd32(sf + l->l4 + 4) == k->tcp_seq + (uint32_t)off,
	      "v%d segment at %zu: %zu bytes, seq %#x", fam, off, len, ref_rd32(sf + l->l4 + 4));
	memcpy(&meta, buf, sizeof(meta));
	CHECK(le16toh(meta.flags) == (TLSNIC_RX_F_CSUM_OK | TLSNIC_RX_F_TLS_DECRYPTED) &&
	      le32toh(meta.ctx_handle) == rx, "v%d segment at %zu: flags %#x handle %#x", fam,
	      off, le16toh(meta.flags), le32toh(meta.ctx_handle));
	CHECK(ref_l4_ok(sf, l, fam, 6, flen - l->l4), "v%d segment at %zu: checksum", fam, off);
	memcpy(got + off, sf + l->payload, plen);
	CHECK(!memcmp(sf + l->payload, s->clear + off, plen),
	      "v%d segment at %zu: not OpenSSL's plaintext form", fam, off);
	return true;
}

/*
 * Port 0 offloads TLS TX (TSO, records in the kernel's plaintext form, tag
 * room zeroed) into port 1's RX context for the same flow, v4 with
 * AES-GCM-128 and v6 with AES-GCM-256, one record across the two TSO
 * frames: every segment arrives decrypted, equal to OpenSSL's plaintext
 * form (so the tags the device wrote are OpenSSL's), and the records'
 * payloads are the input. Independently, the wire capture decrypts with
 * OpenSSL to the input, record by record.
 */
static bool tls_tx_into_rx_body(void)
{
	static const size_t plens[] = { 1, 1000, 4000, 16384, 300, 7000, 2500, 9000 };
	static uint8_t txin[STREAM_MAX], got[STREAM_MAX], wire[STREAM_MAX], pt[STREAM_MAX];
	static uint8_t frame[66000], txb[66100], *bufs[64];
	static struct tls_stream s;
	size_t lens[64];
	int fam;

	for (fam = 4; fam <= 6; fam += 2) {
		const struct e2e_flow f = { .family = fam, .sport = (uint16_t)(42000 + fam) };
		long long c0[NR_C], d[NR_C] = { 0 };
		size_t cut[3], poff = 0;
		unsigned int seg = 0, t, i, frames;
		bool rx_ok = true;
		uint32_t tx, rx;
		uint64_t end;
		struct e2e_keys k;

		fill_keys(&k, fam == 4 ? TLSNIC_CIPHER_AES_GCM_128 : TLSNIC_CIPHER_AES_GCM_256,
			  (uint64_t)fam << 32, 0xfffff000u + (uint32_t)fam);
		if (!make_stream(&s, &k, plens, ARRAY_SIZE(plens), true) || !rx_counters(1, c0))
			return false;
		memset(got, 0, sizeof(got));
		/* What kTLS hands the device: plaintext form, tag room zeroed. */
		memcpy(txin, s.clear, s.len);
		for (i = 0; i < s.nrec; i++)
			memset(txin + s.start[i + 1] - TLS_TAG, 0, TLS_TAG);
		CHECK(ctx_create(1, TLSNIC_DIR_RX, &k, &f, &rx) == TLSNIC_ST_OK, "v%d: RX", fam);
		CHECK(ctx_create(0, TLSNIC_DIR_TX, &k, &f, &tx) == TLSNIC_ST_OK, "v%d: TX", fam);
		cut[0] = 0;
		cut[1] = s.start[4] - 1000;	/* inside record 3 */
		cut[2] = s.len;
		for (t = 0; t < 2; t++) {
			size_t off = cut[t], len = cut[t + 1] - cut[t], tlen;
			struct frame_layout l = flow_frame(frame, &f, k.tcp_seq + (uint32_t)off,
							   txin + off, len);
			unsigned int n, want = (unsigned int)((len + TX_MSS - 1) / TX_MSS);
			struct tlsnic_tx_meta m;

			tlen = with_meta(txb, TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS,
					 (uint16_t)l.l4, TX_MSS,
					 fam == 4 ? TLSNIC_GSO_TCPV4 : TLSNIC_GSO_TCPV6,
					 frame, l.len);
			memcpy(&m, txb, sizeof(m));
			m.ctx_handle = htole32(tx);
			memcpy(txb, &m, sizeof(m));
			if (!send_buf(0, DATA_Q, txb, tlen))
				return false;
			n = recv_bufs(1, DATA_Q, bufs, lens, want, 5000);
			for (i = 0; i < n; i++)
				rx_ok &= tso_segment_ok(bufs[i], lens[i], &l, &s, &k, fam, rx,
							off + (size_t)i * TX_MSS, got);
			free_bufs(bufs, n);
			CHECK(n == want, "v%d TSO frame %u: %u segments, want %u", fam, t, n, want);
			seg += n;
		}

		/* The wire first: the other oracle must hold on its own. */
		end = now_ms() + 5000;
		while (!pcap_stream(&f, k.tcp_seq, wire, s.len, &frames) && now_ms() < end)
			usleep(100000);
		CHECK(frames == seg, "v%d: %u frames of the flow captured, %u received", fam,
		      frames, seg);
		for (i = 0; i < s.nrec; i++) {
			size_t rlen = s.start[i + 1] - s.start[i];

			CHECK(open_record(&k, k.first_rec + i, wire + s.start[i], rlen, pt + poff),
			      "v%d: OpenSSL cannot open captured record %u", fam, i);
			poff += rlen - TLS_OVERHEAD;
		}
		CHECK(poff == s.plain_len && !memcmp(pt, s.plain, poff),
		      "v%d: the capture does not decrypt to the input", fam);
		printf("# v%d: the capture decrypts with OpenSSL to the input\n", fam);

		CHECK(rx_ok, "v%d: port 1 did not deliver every segment decrypted", fam);
		CHECK(!memcmp(got, s.clear, s.len), "v%d: stream", fam);
		if (!payloads_equal(&s, got))
			return false;
		d[C_DEC_PKTS] = seg;
		d[C_DEC_BYTES] = (long long)s.len;
		d[C_REC_OK] = s.nrec;
		d[C_CREATED] = 1;
		d[C_ACTIVE] = 1;
		if (!rx_counters_moved(1, c0, d))
			return false;
		printf("# v%d: %u records, %u segments: device TX -> wire -> device RX\n", fam,
		       s.nrec, seg);

		CHECK(ctx_destroy(0, tx) == TLSNIC_ST_OK && ctx_destroy(1, rx) == TLSNIC_ST_OK,
		      "v%d: destroy", fam);
		d[C_DESTROYED] = 1;
		d[C_ACTIVE] = 0;
		if (!rx_counters_moved(1, c0, d))
			return false;
	}
	return true;
}

bool tls_rx_identify_v2(void)
{
	return finish_case(tls_rx_identify_v2_body());
}

bool tls_rx_decrypts(void)
{
	return stats_fresh() && finish_case(tls_rx_decrypts_body());
}

bool tls_rx_tampered_record(void)
{
	return stats_fresh() && finish_case(tls_rx_tampered_record_body());
}

bool tls_rx_resync_after_hole(void)
{
	return stats_fresh() && finish_case(resync_after_hole(6, false)) && stats_fresh() &&
	       finish_case(resync_after_hole(10, true));
}

bool tls_rx_foreign_handle_refused(void)
{
	return stats_fresh() && finish_case(tls_rx_foreign_handle_refused_body());
}

bool tls_tx_into_rx(void)
{
	return stats_fresh() && finish_case(tls_tx_into_rx_body());
}
