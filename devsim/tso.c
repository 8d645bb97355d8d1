// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: TCP segmentation offload.
 *
 * Segment rules follow what Linux's software GSO (tcp_gso_segment) produces,
 * so a receiver cannot tell device segmentation from the kernel's: IPv4 id
 * incremented per segment, FIN and PSH only on the last segment, CWR only on
 * the first.
 */
#include <string.h>
#include <sys/uio.h>

#include "csum.h"
#include "pipeline.h"
#include "tso.h"

#define TCP_SEQ_OFF	4
#define TCP_FLAGS_OFF	13
#define TCP_CSUM_OFF	16
#define UDP_CSUM_OFF	6

void dsim_ipv4_csum_fill(uint8_t *frame, const struct dsim_frame_info *fi)
{
	uint8_t *ip = frame + fi->l3_off;

	dsim_put_be16(ip + 10, 0);
	dsim_put_be16(ip + 10, dsim_csum_finish(dsim_csum_add(0, ip, fi->l3_hlen)));
}

void dsim_l4_csum_fill(uint8_t *frame, const struct dsim_frame_info *fi)
{
	uint32_t l4_len = fi->l3_end - fi->l4_off;
	uint8_t *l3 = frame + fi->l3_off;
	uint8_t *l4 = frame + fi->l4_off;
	uint32_t off = fi->l4_proto == DSIM_IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF;
	uint32_t sum;
	uint16_t csum;

	dsim_put_be16(l4 + off, 0);
	if (fi->l3 == DSIM_L3_IPV4)
		sum = dsim_csum_pseudo_v4(l3 + 12, l3 + 16, fi->l4_proto, l4_len);
	else
		sum = dsim_csum_pseudo_v6(l3 + 8, l3 + 24, fi->l4_proto, l4_len);
	csum = dsim_csum_finish(dsim_csum_add(sum, l4, l4_len));
	/* In UDP a zero checksum means "none": send its other form. */
	if (fi->l4_proto == DSIM_IPPROTO_UDP && csum == 0)
		csum = 0xffff;
	dsim_put_be16(l4 + off, csum);
}

/* Copies n payload bytes from piece *it, offset *off, on; moves both on. */
static void iov_gather(uint8_t *dst, const struct iovec **it, size_t *off, size_t n)
{
	while (n) {
		const struct iovec *v = *it;
		size_t k = v->iov_len - *off;

		if (k > n)
			k = n;
		memcpy(dst, (const uint8_t *)v->iov_base + *off, k);
		dst += k;
		n -= k;
		*off += k;
		if (*off == v->iov_len) {
			(*it)++;
			*off = 0;
		}
	}
}

int dsim_tso_segment_iov(struct dsim_port *p, const uint8_t *frame,
			 const struct dsim_frame_info *fi, uint16_t mss,
			 const struct iovec *pay, unsigned int pay_cnt,
			 const struct dsim_tx_out *out)
{
	uint32_t hdr_len = fi->l4_off + fi->l4_hlen;
	uint32_t payload_len = fi->l3_end - hdr_len;
	uint32_t nr_segs = (payload_len + mss - 1) / mss;
	const uint8_t *tcp = frame + fi->l4_off;
	uint32_t seq = dsim_get_be32(tcp + TCP_SEQ_OFF);
	uint16_t ip_id = dsim_get_be16(frame + fi->l3_off + 4);
	uint8_t flags = tcp[TCP_FLAGS_OFF];
	struct dsim_frame_info sfi = *fi;
	const struct iovec *it = pay;
	size_t it_off = 0;
	uint32_t i, off = 0;

	/* Empty pieces first: the gather never stops on one. */
	while (it < pay + pay_cnt && !it->iov_len)
		it++;
	p->cnt.tx_tso_frames++;
	for (i = 0; i < nr_segs; i++, off += mss) {
		uint32_t seg_len = payload_len - off < mss ? payload_len - off : mss;
		uint8_t *seg = out->alloc(out->arg, hdr_len + seg_len);
		uint8_t *l3, *th;

		if (!seg) {
			p->cnt.drop_no_mbuf += nr_segs - i;
			return (int)i;
		}
		memcpy(seg, frame, hdr_len);
		iov_gather(seg + hdr_len, &it, &it_off, seg_len);
		l3 = seg + fi->l3_off;
		th = seg + fi->l4_off;
		sfi.l3_end = hdr_len + seg_len;
		if (fi->l3 == DSIM_L3_IPV4) {
			dsim_put_be16(l3 + 2, (uint16_t)(sfi.l3_end - fi->l3_off));
			dsim_put_be16(l3 + 4, (uint16_t)(ip_id + i));
			dsim_ipv4_csum_fill(seg, &sfi);
		} else {
			dsim_put_be16(l3 + 4, (uint16_t)(sfi.l3_end - fi->l3_off - DSIM_IPV6_HLEN));
		}
		dsim_put_be32(th + TCP_SEQ_OFF, seq + off);
		th[TCP_FLAGS_OFF] = flags;
		if (i + 1 < nr_segs)
			th[TCP_FLAGS_OFF] &= (uint8_t)~(DSIM_TCP_FIN | DSIM_TCP_PSH);
		if (i > 0)
			th[TCP_FLAGS_OFF] &= (uint8_t)~DSIM_TCP_CWR;
		dsim_l4_csum_fill(seg, &sfi);
		p->cnt.tx_tso_segments++;
		dsim_wire_send(p, out, seg, sfi.l3_end);
	}
	return (int)nr_segs;
}

int dsim_tso_segment(struct dsim_port *p, const uint8_t *frame,
		     const struct dsim_frame_info *fi, uint16_t mss,
		     const struct dsim_tx_out *out)
{
	uint32_t hdr_len = fi->l4_off + fi->l4_hlen;
	const struct iovec pay = {
		.iov_base = (void *)(frame + hdr_len),
		.iov_len = fi->l3_end - hdr_len,
	};

	return dsim_tso_segment_iov(p, frame, fi, mss, &pay, 1, out);
}
