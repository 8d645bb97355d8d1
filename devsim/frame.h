/* SPDX-License-Identifier: GPL-2.0 */
/* tlsnic-devsim: Ethernet / VLAN / IPv4 / IPv6 / TCP / UDP header parsing. */
#ifndef DSIM_FRAME_H
#define DSIM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define DSIM_ETH_HLEN		14
#define DSIM_VLAN_HLEN		4
#define DSIM_ETH_P_IPV4		0x0800
#define DSIM_ETH_P_IPV6		0x86dd
#define DSIM_ETH_P_8021Q	0x8100
#define DSIM_ETH_P_8021AD	0x88a8
#define DSIM_IPV4_MIN_HLEN	20
#define DSIM_IPV6_HLEN		40
#define DSIM_TCP_MIN_HLEN	20
#define DSIM_UDP_HLEN		8
#define DSIM_IPPROTO_TCP	6
#define DSIM_IPPROTO_UDP	17

/* TCP flags byte (offset 13 in the TCP header). */
#define DSIM_TCP_FIN	0x01
#define DSIM_TCP_SYN	0x02
#define DSIM_TCP_RST	0x04
#define DSIM_TCP_PSH	0x08
#define DSIM_TCP_ACK	0x10
#define DSIM_TCP_URG	0x20
#define DSIM_TCP_ECE	0x40
#define DSIM_TCP_CWR	0x80

enum dsim_l3 {
	DSIM_L3_NONE = 0,	/* not IP: passed through untouched */
	DSIM_L3_IPV4 = 4,
	DSIM_L3_IPV6 = 6,
};

struct dsim_frame_info {
	uint32_t l3_off;	/* IP header, after Ethernet and VLAN tags */
	uint32_t l3_hlen;	/* IPv4 IHL*4; IPv6 40 + extension headers */
	uint32_t l3_end;	/* end of the IP packet (Ethernet padding follows) */
	uint32_t l4_off;	/* L4 header; valid when l4_proto != 0 */
	uint32_t l4_hlen;	/* TCP doff*4, UDP 8, 0 for other protocols */
	uint16_t ethertype;	/* innermost */
	uint8_t l3;		/* enum dsim_l3 */
	uint8_t vlans;		/* number of VLAN tags */
	uint8_t ip_proto;	/* protocol in the (last) IP header */
	uint8_t l4_proto;	/* ip_proto when its header was reached, else 0 */
	uint8_t fragment;	/* IP fragment: L4 not parsed */
};

enum dsim_frame_err {
	DSIM_FRAME_OK = 0,
	DSIM_FRAME_RUNT,	/* shorter than an Ethernet header */
	DSIM_FRAME_VLAN_TRUNC,	/* VLAN tag cut short, or too many tags */
	DSIM_FRAME_IP_TRUNC,	/* IP header beyond the frame */
	DSIM_FRAME_IP_VERSION,	/* version does not match the ethertype */
	DSIM_FRAME_IP_HLEN,	/* IPv4 IHL < 5 or beyond the packet */
	DSIM_FRAME_IP_LEN,	/* total/payload length beyond the frame */
	DSIM_FRAME_EXTHDR,	/* IPv6 extension header chain malformed */
	DSIM_FRAME_L4_TRUNC,	/* TCP/UDP header beyond the IP packet */
	DSIM_FRAME_TCP_DOFF,	/* TCP data offset < 5 or beyond the packet */
	DSIM_FRAME_UDP_LEN,	/* UDP length disagrees with the IP packet */
	DSIM_FRAME_NUM_ERR
};

/*
 * Parses the headers of an Ethernet frame. Returns DSIM_FRAME_OK and fills
 * fi, or the reason the headers are unusable. A frame that is not IPv4/IPv6
 * parses fine with fi->l3 == DSIM_L3_NONE.
 */
enum dsim_frame_err dsim_frame_parse(const uint8_t *frame, size_t len,
				     struct dsim_frame_info *fi);

const char *dsim_frame_err_str(enum dsim_frame_err err);

#endif /* DSIM_FRAME_H */
