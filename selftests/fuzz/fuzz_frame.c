// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: devsim's frame header parser (devsim/frame.c). The
 * input is one Ethernet frame, in a buffer of exactly its size.
 *
 * Checked: every offset and length the parser hands to the checksum, TSO
 * and TLS code lies inside the frame and agrees with the headers it came
 * from (IP lengths, TCP data offset, UDP length); the result depends only
 * on the bytes up to the end of the IP packet (cutting the Ethernet padding
 * changes nothing); every error has a name.
 */
#include "fuzz_common.h"
#include "csum.h"
#include "frame.h"

static void check_ok(const uint8_t *f, size_t len, const struct dsim_frame_info *fi)
{
	FZ_CHECK(len >= DSIM_ETH_HLEN, "runt accepted");
	FZ_CHECK(fi->vlans <= 2 && fi->l3_off == DSIM_ETH_HLEN + fi->vlans * DSIM_VLAN_HLEN,
		 "l3_off %u with %u tags", fi->l3_off, fi->vlans);
	FZ_CHECK(fi->ethertype == dsim_get_be16(f + fi->l3_off - 2), "ethertype");
	FZ_CHECK(fi->l3_end <= len, "l3_end %u past %zu", fi->l3_end, len);
	if (fi->l3 == DSIM_L3_NONE) {
		FZ_CHECK(fi->ethertype != DSIM_ETH_P_IPV4 && fi->ethertype != DSIM_ETH_P_IPV6,
			 "IP frame parsed as not IP");
		FZ_CHECK(!fi->l4_proto && !fi->fragment && fi->l3_end == len, "non-IP with L3 info");
		return;
	}
	FZ_CHECK(fi->l3_off + fi->l3_hlen <= fi->l3_end, "IP header past the packet");
	if (fi->l3 == DSIM_L3_IPV4) {
		FZ_CHECK(fi->ethertype == DSIM_ETH_P_IPV4 && f[fi->l3_off] >> 4 == 4, "v4");
		FZ_CHECK(fi->l3_hlen == (f[fi->l3_off] & 15) * 4u && fi->l3_hlen >= 20, "IHL");
		FZ_CHECK(fi->l3_end - fi->l3_off == dsim_get_be16(f + fi->l3_off + 2), "tot_len");
		FZ_CHECK(fi->ip_proto == f[fi->l3_off + 9], "protocol");
	} else {
		FZ_CHECK(fi->l3 == DSIM_L3_IPV6 && fi->ethertype == DSIM_ETH_P_IPV6 &&
			 f[fi->l3_off] >> 4 == 6, "v6");
		FZ_CHECK(fi->l3_hlen >= DSIM_IPV6_HLEN && fi->l3_hlen % 4 == 0, "v6 hlen %u",
			 fi->l3_hlen);
		FZ_CHECK(fi->l3_end - fi->l3_off ==
			 DSIM_IPV6_HLEN + dsim_get_be16(f + fi->l3_off + 4), "payload length");
	}
	if (fi->fragment) {
		FZ_CHECK(!fi->l4_proto, "fragment with L4 parsed");
		return;
	}
	FZ_CHECK(fi->l4_proto == fi->ip_proto, "l4_proto %u ip_proto %u", fi->l4_proto,
		 fi->ip_proto);
	FZ_CHECK(fi->l4_off == fi->l3_off + fi->l3_hlen, "l4_off");
	FZ_CHECK(fi->l4_off + fi->l4_hlen <= fi->l3_end, "L4 header past the packet");
	if (fi->l4_proto == DSIM_IPPROTO_TCP)
		FZ_CHECK(fi->l4_hlen == (f[fi->l4_off + 12] >> 4) * 4u && fi->l4_hlen >= 20,
			 "TCP doff");
	else if (fi->l4_proto == DSIM_IPPROTO_UDP)
		FZ_CHECK(fi->l4_hlen == 8 &&
			 dsim_get_be16(f + fi->l4_off + 4) == fi->l3_end - fi->l4_off, "UDP len");
	else
		FZ_CHECK(fi->l4_hlen == 0, "L4 hlen for proto %u", fi->l4_proto);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsim_frame_info fi, fi2;
	enum dsim_frame_err err, err2;
	uint8_t *f = malloc(size ? size : 1);

	FZ_CHECK(f, "malloc");
	memcpy(f, data, size);
	err = dsim_frame_parse(f, size, &fi);
	FZ_CHECK((unsigned int)err < DSIM_FRAME_NUM_ERR && dsim_frame_err_str(err) &&
		 strcmp(dsim_frame_err_str(err), "?"), "error %d has no name", err);
	FZ_CHECK(!memcmp(f, data, size), "parser wrote to the frame");
	if (err == DSIM_FRAME_OK) {
		check_ok(f, size, &fi);
		/* Without the padding after the IP packet: the same answer. */
		err2 = dsim_frame_parse(f, fi.l3_end, &fi2);
		FZ_CHECK(err2 == DSIM_FRAME_OK && (fi.l3 == DSIM_L3_NONE ||
			 !memcmp(&fi, &fi2, sizeof(fi))), "padding changed the parse (%d)", err2);
	}
	free(f);
	return 0;
}
