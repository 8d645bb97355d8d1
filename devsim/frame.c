// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: frame header parsing.
 *
 * Every length used later by checksum, TSO and TLS code is checked here
 * against the frame, so those stages can index the headers without further
 * bounds checks.
 */
#include <string.h>

#include "csum.h"
#include "frame.h"

#define MAX_VLAN_TAGS		2
#define MAX_IPV6_EXTHDRS	8

#define IPV6_NH_HOPOPTS		0
#define IPV6_NH_ROUTING		43
#define IPV6_NH_FRAGMENT	44
#define IPV6_NH_AH		51
#define IPV6_NH_DSTOPTS		60

static enum dsim_frame_err parse_ipv4(const uint8_t *f, size_t len,
				      struct dsim_frame_info *fi)
{
	const uint8_t *ip = f + fi->l3_off;
	uint32_t hlen, tot_len;
	uint16_t frag;

	if (len - fi->l3_off < DSIM_IPV4_MIN_HLEN)
		return DSIM_FRAME_IP_TRUNC;
	if (ip[0] >> 4 != 4)
		return DSIM_FRAME_IP_VERSION;
	hlen = (ip[0] & 0x0f) * 4u;
	tot_len = dsim_get_be16(ip + 2);
	if (hlen < DSIM_IPV4_MIN_HLEN)
		return DSIM_FRAME_IP_HLEN;
	if (tot_len > len - fi->l3_off)
		return DSIM_FRAME_IP_LEN;
	if (hlen > tot_len)
		return DSIM_FRAME_IP_HLEN;
	fi->l3 = DSIM_L3_IPV4;
	fi->l3_hlen = hlen;
	fi->l3_end = fi->l3_off + tot_len;
	fi->ip_proto = ip[9];
	frag = dsim_get_be16(ip + 6);
	/* More-fragments flag or a fragment offset: L4 is not all here. */
	fi->fragment = (frag & 0x3fff) != 0;
	return DSIM_FRAME_OK;
}

static enum dsim_frame_err parse_ipv6(const uint8_t *f, size_t len,
				      struct dsim_frame_info *fi)
{
	const uint8_t *ip = f + fi->l3_off;
	uint32_t off, end, hl;
	uint8_t nh;
	int i;

	if (len - fi->l3_off < DSIM_IPV6_HLEN)
		return DSIM_FRAME_IP_TRUNC;
	if (ip[0] >> 4 != 6)
		return DSIM_FRAME_IP_VERSION;
	/* A zero payload length means a jumbogram, which no link here carries. */
	end = DSIM_IPV6_HLEN + dsim_get_be16(ip + 4);
	if (end == DSIM_IPV6_HLEN || end > len - fi->l3_off)
		return DSIM_FRAME_IP_LEN;
	fi->l3 = DSIM_L3_IPV6;
	fi->l3_end = fi->l3_off + end;

	nh = ip[6];
	off = DSIM_IPV6_HLEN;
	for (i = 0; i < MAX_IPV6_EXTHDRS; i++) {
		switch (nh) {
		case IPV6_NH_HOPOPTS:
		case IPV6_NH_ROUTING:
		case IPV6_NH_DSTOPTS:
			if (end - off < 8)
				return DSIM_FRAME_EXTHDR;
			hl = (ip[off + 1] + 1u) * 8;
			break;
		case IPV6_NH_AH:
			if (end - off < 8)
				return DSIM_FRAME_EXTHDR;
			hl = (ip[off + 1] + 2u) * 4;
			break;
		case IPV6_NH_FRAGMENT:
			if (end - off < 8)
				return DSIM_FRAME_EXTHDR;
			fi->fragment = 1;
			hl = 8;
			break;
		default:
			fi->ip_proto = nh;
			fi->l3_hlen = off;
			return DSIM_FRAME_OK;
		}
		if (hl > end - off)
			return DSIM_FRAME_EXTHDR;
		nh = ip[off];
		off += hl;
		if (fi->fragment) {
			fi->ip_proto = nh;
			fi->l3_hlen = off;
			return DSIM_FRAME_OK;
		}
	}
	return DSIM_FRAME_EXTHDR;
}

static enum dsim_frame_err parse_l4(const uint8_t *f, struct dsim_frame_info *fi)
{
	uint32_t off = fi->l3_off + fi->l3_hlen;
	uint32_t avail = fi->l3_end - off;
	uint32_t hlen;

	switch (fi->ip_proto) {
	case DSIM_IPPROTO_TCP:
		if (avail < DSIM_TCP_MIN_HLEN)
			return DSIM_FRAME_L4_TRUNC;
		hlen = (f[off + 12] >> 4) * 4u;
		if (hlen < DSIM_TCP_MIN_HLEN || hlen > avail)
			return DSIM_FRAME_TCP_DOFF;
		break;
	case DSIM_IPPROTO_UDP:
		if (avail < DSIM_UDP_HLEN)
			return DSIM_FRAME_L4_TRUNC;
		if (dsim_get_be16(f + off + 4) != avail)
			return DSIM_FRAME_UDP_LEN;
		hlen = DSIM_UDP_HLEN;
		break;
	default:
		hlen = 0;
		break;
	}
	fi->l4_off = off;
	fi->l4_hlen = hlen;
	fi->l4_proto = fi->ip_proto;
	return DSIM_FRAME_OK;
}

enum dsim_frame_err dsim_frame_parse(const uint8_t *f, size_t len,
				     struct dsim_frame_info *fi)
{
	enum dsim_frame_err err;
	uint32_t off = DSIM_ETH_HLEN - 2;
	uint16_t type;

	memset(fi, 0, sizeof(*fi));
	if (len < DSIM_ETH_HLEN)
		return DSIM_FRAME_RUNT;
	type = dsim_get_be16(f + off);
	while (type == DSIM_ETH_P_8021Q || type == DSIM_ETH_P_8021AD) {
		if (fi->vlans == MAX_VLAN_TAGS || len < off + 2 + DSIM_VLAN_HLEN)
			return DSIM_FRAME_VLAN_TRUNC;
		fi->vlans++;
		off += DSIM_VLAN_HLEN;
		type = dsim_get_be16(f + off);
	}
	fi->ethertype = type;
	fi->l3_off = off + 2;
	fi->l3_end = len;

	if (type == DSIM_ETH_P_IPV4)
		err = parse_ipv4(f, len, fi);
	else if (type == DSIM_ETH_P_IPV6)
		err = parse_ipv6(f, len, fi);
	else
		return DSIM_FRAME_OK;
	if (err != DSIM_FRAME_OK || fi->fragment)
		return err;
	return parse_l4(f, fi);
}

const char *dsim_frame_err_str(enum dsim_frame_err err)
{
	static const char *const str[DSIM_FRAME_NUM_ERR] = {
		[DSIM_FRAME_OK] = "ok",
		[DSIM_FRAME_RUNT] = "runt frame",
		[DSIM_FRAME_VLAN_TRUNC] = "truncated VLAN tag",
		[DSIM_FRAME_IP_TRUNC] = "truncated IP header",
		[DSIM_FRAME_IP_VERSION] = "IP version mismatch",
		[DSIM_FRAME_IP_HLEN] = "bad IPv4 header length",
		[DSIM_FRAME_IP_LEN] = "bad IP length",
		[DSIM_FRAME_EXTHDR] = "bad IPv6 extension header",
		[DSIM_FRAME_L4_TRUNC] = "truncated L4 header",
		[DSIM_FRAME_TCP_DOFF] = "bad TCP data offset",
		[DSIM_FRAME_UDP_LEN] = "bad UDP length",
	};

	return (unsigned int)err < DSIM_FRAME_NUM_ERR ? str[err] : "?";
}
