// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the RX path for a frame from the wire,
 * dsim_rx_process() (devsim/pipeline.c), on a fresh port with the TLS TX
 * and RX engines plugged in, a v2 driver and an RX context on each of the
 * harness's two flows (IPv4 and IPv6, first record at TCP seq 1, where the
 * seed frames start). The input is one frame, in a buffer of exactly its
 * size.
 *
 * Checked: exactly one of rx_csum_ok / rx_csum_bad / rx_csum_none counts
 * the frame; CSUM_OK is set exactly when the frame is IP, its IPv4 header
 * sum (if v4) and its TCP/UDP sum verify by an independent computation
 * (TLS never changes that); the metadata's reserved fields are zero, the
 * resync fields set only with TLS_RESYNC_REQ (and its id never 0), the
 * handle one of the two contexts' or none; a frame not marked decrypted is
 * delivered unchanged; a decrypted one had a good checksum, changed only
 * in its TCP payload and checksum, and its checksum verifies over it.
 */
#include "fuzz_port.h"
#include "csum.h"
#include "pipeline.h"

static struct dsim_port port;
static uint32_t rx_handle[2];

/* One command in the version the port speaks; the reply's status. */
static int fz_command(uint8_t opcode, const void *body, uint32_t len, void *reply,
		      uint32_t reply_len)
{
	uint8_t msg[DSIM_CMD_MAX_LEN];
	const struct dsim_msg *m;
	struct tlsnic_msg_hdr h;
	size_t n;

	n = fz_cmd_msg_v(msg, opcode == TLSNIC_OP_IDENTIFY ? TLSNIC_ABI_VERSION_MIN :
			 port.abi_version, opcode, 9, body, len);
	FZ_CHECK(dsim_cmd_process(&port, msg, n) == 0, "command %#x not answered", opcode);
	m = dsim_msgq_peek(&port.msgq);
	memcpy(&h, m->data, sizeof(h));
	if (!h.status && reply)
		memcpy(reply, m->data + sizeof(h), reply_len);
	dsim_msgq_pop(&port.msgq);
	return le16toh(h.status);
}

static void rx_setup(void)
{
	struct tlsnic_identify_cmd idc = { .abi_version = htole32(2) };
	struct tlsnic_identify id;
	struct tlsnic_ctx_create c;
	struct tlsnic_ctx_ref ref;
	int v6;

	fz_port_setup(&port, false);
	port.tls = &tls_dev_ops;
	FZ_CHECK(fz_command(TLSNIC_OP_IDENTIFY, &idc, sizeof(idc), &id, sizeof(id)) == 0 &&
		 port.abi_version == 2, "v2 not negotiated");
	for (v6 = 0; v6 < 2; v6++) {
		fz_ctx_create_body(&c, v6);
		c.dir = TLSNIC_DIR_RX;
		c.tcp_seq = htole32(1);
		FZ_CHECK(fz_command(TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref, sizeof(ref)) == 0,
			 "RX context refused");
		rx_handle[v6] = le32toh(ref.handle);
	}
}

/* Whether the device must set CSUM_OK, by the headers and our own sums. */
static bool csum_ok_expected(const uint8_t *f, size_t len)
{
	struct dsim_frame_info fi;
	const uint8_t *l3;
	bool v6;

	if (dsim_frame_parse(f, len, &fi) != DSIM_FRAME_OK || fi.l3 == DSIM_L3_NONE ||
	    fi.fragment)
		return false;
	l3 = f + fi.l3_off;
	v6 = fi.l3 == DSIM_L3_IPV6;
	if (!v6 && fz_sum(0, l3, fi.l3_hlen) != 0xffff)
		return false;
	if (fi.l4_proto == DSIM_IPPROTO_UDP && !v6 && !dsim_get_be16(f + fi.l4_off + 6))
		return false;	/* no UDP checksum: nothing at L4 was checked */
	if (fi.l4_proto != DSIM_IPPROTO_TCP && fi.l4_proto != DSIM_IPPROTO_UDP)
		return false;
	return fz_l4_sum_ok(l3, v6, fi.l4_proto, f + fi.l4_off, fi.l3_end - fi.l4_off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ok, bad, none;
	struct tlsnic_rx_meta meta;
	struct dsim_frame_info fi;
	uint32_t handle;
	uint16_t flags;
	uint8_t *f;
	bool want;

	rx_setup();
	f = malloc(size ? size : 1);
	FZ_CHECK(f, "malloc");
	memcpy(f, data, size);
	ok = port.cnt.rx_csum_ok;
	bad = port.cnt.rx_csum_bad;
	none = port.cnt.rx_csum_none;
	want = csum_ok_expected(data, size);
	memset(&meta, 0xa5, sizeof(meta));

	dsim_rx_process(&port, f, size, &meta);

	FZ_CHECK(port.cnt.rx_csum_ok + port.cnt.rx_csum_bad + port.cnt.rx_csum_none ==
		 ok + bad + none + 1, "frame counted %llu times",
		 (unsigned long long)(port.cnt.rx_csum_ok + port.cnt.rx_csum_bad +
				      port.cnt.rx_csum_none - ok - bad - none));
	FZ_CHECK(!!(le16toh(meta.flags) & TLSNIC_RX_F_CSUM_OK) == want,
		 "CSUM_OK %d, independent sums say %d",
		 !!(le16toh(meta.flags) & TLSNIC_RX_F_CSUM_OK), want);
	FZ_CHECK((port.cnt.rx_csum_ok == ok + 1) == want, "rx_csum_ok");
	flags = le16toh(meta.flags);
	handle = le32toh(meta.ctx_handle);
	FZ_CHECK(!meta.reserved0, "reserved");
	FZ_CHECK(!(flags & ~(TLSNIC_RX_F_CSUM_OK | TLSNIC_RX_F_TLS_DECRYPTED |
			     TLSNIC_RX_F_TLS_RESYNC_REQ)), "unknown RX flags %#x", flags);
	FZ_CHECK((flags & TLSNIC_RX_F_TLS_RESYNC_REQ) ? meta.resync_id != 0 :
		 !meta.resync_seq && !meta.resync_id, "resync fields, flags %#x", flags);
	FZ_CHECK(handle == TLSNIC_HANDLE_NONE || handle == rx_handle[0] ||
		 handle == rx_handle[1], "handle %#x", handle);
	FZ_CHECK(!(flags & (TLSNIC_RX_F_TLS_DECRYPTED | TLSNIC_RX_F_TLS_RESYNC_REQ)) ||
		 (want && handle != TLSNIC_HANDLE_NONE), "TLS result for a frame with a bad "
		 "checksum or no context: flags %#x", flags);
	if (!(flags & TLSNIC_RX_F_TLS_DECRYPTED)) {
		FZ_CHECK(!memcmp(f, data, size), "frame changed but not marked decrypted");
	} else {
		uint32_t pay;

		FZ_CHECK(dsim_frame_parse(data, size, &fi) == DSIM_FRAME_OK &&
			 fi.l4_proto == DSIM_IPPROTO_TCP, "decrypted: not TCP");
		pay = fi.l4_off + fi.l4_hlen;
		FZ_CHECK(!memcmp(f, data, fi.l4_off + 16) &&
			 !memcmp(f + fi.l4_off + 18, data + fi.l4_off + 18,
				 pay - fi.l4_off - 18) &&
			 !memcmp(f + fi.l3_end, data + fi.l3_end, size - fi.l3_end),
			 "decrypted: headers or padding changed");
		FZ_CHECK(fz_l4_sum_ok(f + fi.l3_off, fi.l3 == DSIM_L3_IPV6, DSIM_IPPROTO_TCP,
				      f + fi.l4_off, fi.l3_end - fi.l4_off),
			 "decrypted: TCP checksum does not verify over the plaintext");
	}
	free(f);
	dsim_port_fini(&port);
	return 0;
}
