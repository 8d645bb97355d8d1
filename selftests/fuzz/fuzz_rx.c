// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the RX path for a frame from the wire,
 * dsim_rx_process() (devsim/pipeline.c), on a fresh port with the TLS
 * engine plugged in (no context: the TX engine refuses RX ones). The input
 * is one frame, in a buffer of exactly its size.
 *
 * Checked: exactly one of rx_csum_ok / rx_csum_bad / rx_csum_none counts
 * the frame; CSUM_OK is set exactly when the frame is IP, its IPv4 header
 * sum (if v4) and its TCP/UDP sum verify by an independent computation; the
 * metadata's reserved fields are zero; with no RX TLS engine, nothing is
 * marked decrypted and the frame is delivered unchanged.
 */
#include "fuzz_port.h"
#include "csum.h"
#include "pipeline.h"

static struct dsim_port port;

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
	uint8_t *f;
	bool want;

	fz_port_setup(&port, false);
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
	FZ_CHECK(!meta.reserved0 && !meta.resync_seq && !meta.resync_id, "reserved");
	FZ_CHECK(!(le16toh(meta.flags) & ~(TLSNIC_RX_F_CSUM_OK | TLSNIC_RX_F_TLS_DECRYPTED)),
		 "unknown RX flags %#x", le16toh(meta.flags));
	if (!port.tls->rx) {
		FZ_CHECK(!(le16toh(meta.flags) & TLSNIC_RX_F_TLS_DECRYPTED) &&
			 le32toh(meta.ctx_handle) == TLSNIC_HANDLE_NONE,
			 "decrypted without an RX engine");
		FZ_CHECK(!memcmp(f, data, size), "frame changed without an RX engine");
	}
	free(f);
	dsim_port_fini(&port);
	return 0;
}
