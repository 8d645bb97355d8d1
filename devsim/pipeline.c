// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: per-port TX and RX pipelines.
 *
 * Everything in a guest TX buffer is untrusted (invariant 5,
 * docs/invariants.md): the metadata is checked field by field before any
 * offset in it is used, and each refusal has its own counter so a driver
 * bug is easy to spot.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "csum.h"
#include "pipeline.h"
#include "tso.h"

#define TX_F_KNOWN	(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS | \
			 TLSNIC_TX_F_TLS_RESYNC)
#define TCP_CSUM_OFF	16
#define MIN_U32(a, b)	((uint32_t)((a) < (b) ? (a) : (b)))

static int tx_drop(uint64_t *counter)
{
	(*counter)++;
	return -EINVAL;
}

/* Decodes and checks the fields of the metadata that need no frame. */
static int tx_meta_check(struct dsim_port *p, const uint8_t *buf, size_t len,
			 struct dsim_tx_req *req)
{
	struct tlsnic_tx_meta m;
	int i;

	if (len < sizeof(m))
		return tx_drop(&p->cnt.drop_meta_short);
	memcpy(&m, buf, sizeof(m));
	req->flags = le16toh(m.flags);
	req->csum_start = le16toh(m.csum_start);
	req->csum_offset = le16toh(m.csum_offset);
	req->mss = le16toh(m.mss);
	req->gso_type = m.gso_type;
	req->dump_len = le16toh(m.dump_len);
	req->ctx_handle = le32toh(m.ctx_handle);
	req->rec_tcp_seq = le32toh(m.rec_tcp_seq);
	req->rec_seq = 0;
	for (i = 0; i < 8; i++)
		req->rec_seq = req->rec_seq << 8 | m.rec_seq[i];
	req->dump = buf + sizeof(m);

	if (req->flags & ~TX_F_KNOWN)
		return tx_drop(&p->cnt.drop_meta_flags);
	/*
	 * TSO and TLS change the payload, so they need the checksum done after
	 * them (CHECKSUM_PARTIAL, as the kernel always sends such frames);
	 * resync data only makes sense with TLS.
	 */
	if ((req->flags & (TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS)) && !(req->flags & TLSNIC_TX_F_CSUM))
		return tx_drop(&p->cnt.drop_meta_flags);
	if ((req->flags & TLSNIC_TX_F_TLS_RESYNC) && !(req->flags & TLSNIC_TX_F_TLS))
		return tx_drop(&p->cnt.drop_meta_flags);
	if (m.reserved0 || m.reserved1)
		return tx_drop(&p->cnt.drop_meta_reserved);
	if (!(req->flags & TLSNIC_TX_F_TLS) && req->ctx_handle != TLSNIC_HANDLE_NONE)
		return tx_drop(&p->cnt.drop_meta_handle);
	if (req->dump_len && !(req->flags & TLSNIC_TX_F_TLS_RESYNC))
		return tx_drop(&p->cnt.drop_meta_dump);
	if (req->dump_len > DSIM_MAX_DUMP_LEN || req->dump_len > len - sizeof(m))
		return tx_drop(&p->cnt.drop_meta_dump);
	if (!(req->flags & TLSNIC_TX_F_TSO) && (req->gso_type != TLSNIC_GSO_NONE || req->mss))
		return tx_drop(&p->cnt.drop_meta_gso);
	if (!(req->flags & TLSNIC_TX_F_CSUM) && (req->csum_start || req->csum_offset))
		return tx_drop(&p->cnt.drop_meta_csum);
	return 0;
}

/* CHECKSUM_PARTIAL semantics: the range must lie inside the L4 data. */
static int tx_csum_check(struct dsim_port *p, const struct dsim_tx_req *req,
			 const struct dsim_frame_info *fi, size_t flen)
{
	uint32_t end = fi->l3 != DSIM_L3_NONE ? fi->l3_end : flen;
	uint32_t min_start = fi->l3 != DSIM_L3_NONE ? fi->l3_off + fi->l3_hlen : fi->l3_off;

	if (req->csum_start < min_start || req->csum_start >= end ||
	    req->csum_offset + 2u > end - req->csum_start)
		return tx_drop(&p->cnt.drop_meta_csum);
	return 0;
}

static int tx_tso_check(struct dsim_port *p, const struct dsim_tx_req *req,
			const struct dsim_frame_info *fi)
{
	uint8_t want = fi->l3 == DSIM_L3_IPV4 ? TLSNIC_GSO_TCPV4 :
		       fi->l3 == DSIM_L3_IPV6 ? TLSNIC_GSO_TCPV6 : TLSNIC_GSO_NONE;
	uint32_t hdr_len = fi->l4_off + fi->l4_hlen;

	if (want == TLSNIC_GSO_NONE || req->gso_type != want ||
	    fi->l4_proto != DSIM_IPPROTO_TCP)
		return tx_drop(&p->cnt.drop_meta_gso);
	if (req->mss < DSIM_MIN_MSS || hdr_len + req->mss > DSIM_MAX_FRAME ||
	    fi->l3_end == hdr_len)
		return tx_drop(&p->cnt.drop_meta_gso);
	if (req->csum_start != fi->l4_off || req->csum_offset != TCP_CSUM_OFF)
		return tx_drop(&p->cnt.drop_meta_csum);
	return 0;
}

/* Finishes the L4 sum the stack started (pseudo-header already in place). */
static void tx_csum_fill(uint8_t *frame, const struct dsim_tx_req *req,
			 const struct dsim_frame_info *fi, size_t flen)
{
	uint32_t end = fi->l3 != DSIM_L3_NONE ? fi->l3_end : flen;
	uint16_t csum;

	csum = dsim_csum_finish(dsim_csum_add(0, frame + req->csum_start,
					      end - req->csum_start));
	if (fi->l4_proto == DSIM_IPPROTO_UDP && req->csum_start == fi->l4_off && csum == 0)
		csum = 0xffff;
	dsim_put_be16(frame + req->csum_start + req->csum_offset, csum);
}

int dsim_tx_process(struct dsim_port *p, uint8_t *buf, size_t len,
		    const struct dsim_tx_out *out)
{
	struct dsim_frame_info fi;
	struct dsim_tx_req req;
	enum dsim_frame_err ferr;
	uint8_t *frame;
	size_t flen;
	int ret;

	ret = tx_meta_check(p, buf, len, &req);
	if (ret)
		return ret;
	frame = buf + sizeof(struct tlsnic_tx_meta) + req.dump_len;
	flen = len - sizeof(struct tlsnic_tx_meta) - req.dump_len;
	if (flen < DSIM_ETH_HLEN ||
	    flen > ((req.flags & TLSNIC_TX_F_TSO) ? DSIM_MAX_TSO_FRAME : DSIM_MAX_FRAME))
		return tx_drop(&p->cnt.drop_frame_len);

	/* Without offloads the device sends whatever it is given, like a NIC. */
	if (!(req.flags & TLSNIC_TX_F_CSUM)) {
		dsim_wire_send(p, out, frame, flen);
		return 1;
	}
	ferr = dsim_frame_parse(frame, flen, &fi);
	if (ferr != DSIM_FRAME_OK || fi.fragment)
		return tx_drop(&p->cnt.drop_bad_frame);
	ret = tx_csum_check(p, &req, &fi, flen);
	if (!ret && (req.flags & TLSNIC_TX_F_TSO))
		ret = tx_tso_check(p, &req, &fi);
	if (ret)
		return ret;

	if (req.flags & TLSNIC_TX_F_TLS) {
		/* Never plaintext on the wire for a frame marked for offload. */
		if (!p->tls || !p->tls->tx)
			return tx_drop(&p->cnt.drop_tls_unsupported);
		ret = p->tls->tx(p, &req, frame, (uint32_t)flen, &fi);
		if (ret)
			return ret;
	}

	if (req.flags & TLSNIC_TX_F_TSO) {
		ret = dsim_tso_segment(p, frame, &fi, req.mss, out);
		return ret ? ret : -ENOBUFS;
	}
	tx_csum_fill(frame, &req, &fi, flen);
	p->cnt.tx_csum++;
	dsim_wire_send(p, out, frame, flen);
	return 1;
}

/* Pieces of a chained TX buffer after its head: at most this many. */
#define TX_SG_MAX	64

int dsim_tx_process_sg(struct dsim_port *p, uint8_t *head, size_t head_len,
		       const struct iovec *rest, unsigned int rest_cnt, size_t len,
		       const struct dsim_tx_out *out)
{
	struct iovec pay[TX_SG_MAX + 1];
	struct dsim_frame_info fi;
	struct dsim_tx_req req;
	uint32_t hdr_len, want, got;
	size_t flen, in_head;
	unsigned int i, n = 0;
	uint8_t *frame;
	int ret;

	if (head_len > len || rest_cnt > TX_SG_MAX)
		return -EAGAIN;
	ret = tx_meta_check(p, head, len, &req);
	if (ret)
		return ret;
	/* The dump, the headers and what else the head holds. */
	if (sizeof(struct tlsnic_tx_meta) + req.dump_len + DSIM_ETH_HLEN > head_len)
		return -EAGAIN;
	frame = head + sizeof(struct tlsnic_tx_meta) + req.dump_len;
	flen = len - sizeof(struct tlsnic_tx_meta) - req.dump_len;
	in_head = head_len - sizeof(struct tlsnic_tx_meta) - req.dump_len;
	if (flen > ((req.flags & TLSNIC_TX_F_TSO) ? DSIM_MAX_TSO_FRAME : DSIM_MAX_FRAME))
		return tx_drop(&p->cnt.drop_frame_len);
	/* Only TSO frames are this long; the rest goes the linear way. */
	if (!(req.flags & TLSNIC_TX_F_TSO) ||
	    ((req.flags & TLSNIC_TX_F_TLS) && (!p->tls || !p->tls->tx_sg)))
		return -EAGAIN;
	/*
	 * The parser reads headers in order, so one that ends inside the
	 * head read nothing past it; anything else is parsed linearised.
	 */
	if (dsim_frame_parse(frame, flen, &fi) != DSIM_FRAME_OK || fi.fragment ||
	    fi.l4_proto != DSIM_IPPROTO_TCP)
		return -EAGAIN;
	hdr_len = fi.l4_off + fi.l4_hlen;
	if (hdr_len > in_head)
		return -EAGAIN;
	ret = tx_csum_check(p, &req, &fi, flen);
	if (!ret)
		ret = tx_tso_check(p, &req, &fi);
	if (ret)
		return ret;

	/* The TCP payload: the rest of the head, then the pieces. */
	want = fi.l3_end - hdr_len;
	got = 0;
	if (in_head > hdr_len) {
		pay[n].iov_base = frame + hdr_len;
		pay[n].iov_len = MIN_U32(in_head - hdr_len, want);
		got += (uint32_t)pay[n++].iov_len;
	}
	for (i = 0; i < rest_cnt && got < want; i++) {
		pay[n].iov_base = rest[i].iov_base;
		pay[n].iov_len = MIN_U32(rest[i].iov_len, want - got);
		got += (uint32_t)pay[n++].iov_len;
	}
	if (got != want)
		return tx_drop(&p->cnt.drop_frame_len);

	if (req.flags & TLSNIC_TX_F_TLS) {
		ret = p->tls->tx_sg(p, &req, frame, &fi, pay, n);
		if (ret)
			return ret;
	}
	ret = dsim_tso_segment_iov(p, frame, &fi, req.mss, pay, n, out);
	return ret ? ret : -ENOBUFS;
}

/* Returns 1 if the sum over an L4 packet with its pseudo-header verifies. */
static int rx_l4_csum_ok(const uint8_t *frame, const struct dsim_frame_info *fi)
{
	uint32_t l4_len = fi->l3_end - fi->l4_off;
	const uint8_t *l3 = frame + fi->l3_off;
	uint32_t sum;

	if (fi->l3 == DSIM_L3_IPV4)
		sum = dsim_csum_pseudo_v4(l3 + 12, l3 + 16, fi->l4_proto, l4_len);
	else
		sum = dsim_csum_pseudo_v6(l3 + 8, l3 + 24, fi->l4_proto, l4_len);
	return dsim_csum_fold(dsim_csum_add(sum, frame + fi->l4_off, l4_len)) == 0xffff;
}

/*
 * CSUM_OK means every checksum present is right and an L4 checksum was
 * among them: the driver turns it into CHECKSUM_UNNECESSARY, which claims
 * exactly that.
 */
static void rx_csum(struct dsim_port *p, const uint8_t *frame, size_t len,
		    struct tlsnic_rx_meta *meta, struct dsim_frame_info *fi)
{
	enum dsim_frame_err err = dsim_frame_parse(frame, len, fi);
	int l4_checked = 0;

	if (err != DSIM_FRAME_OK) {
		/* Unparseable IP is damaged IP; anything else is just not IP. */
		if (fi->ethertype == DSIM_ETH_P_IPV4 || fi->ethertype == DSIM_ETH_P_IPV6)
			p->cnt.rx_csum_bad++;
		else
			p->cnt.rx_csum_none++;
		return;
	}
	if (fi->l3 == DSIM_L3_IPV4 &&
	    dsim_csum_fold(dsim_csum_add(0, frame + fi->l3_off, fi->l3_hlen)) != 0xffff)
		goto bad;
	if (fi->l4_proto == DSIM_IPPROTO_TCP ||
	    (fi->l4_proto == DSIM_IPPROTO_UDP &&
	     /* IPv4 UDP may go without a checksum; IPv6 UDP may not. */
	     (fi->l3 == DSIM_L3_IPV6 || dsim_get_be16(frame + fi->l4_off + 6) != 0))) {
		if (!rx_l4_csum_ok(frame, fi))
			goto bad;
		l4_checked = 1;
	}
	if (l4_checked) {
		meta->flags |= htole16(TLSNIC_RX_F_CSUM_OK);
		p->cnt.rx_csum_ok++;
	} else {
		p->cnt.rx_csum_none++;
	}
	return;
bad:
	p->cnt.rx_csum_bad++;
}

void dsim_rx_process(struct dsim_port *p, uint8_t *frame, size_t len,
		     struct tlsnic_rx_meta *meta)
{
	struct dsim_frame_info fi;

	memset(meta, 0, sizeof(*meta));
	meta->ctx_handle = htole32(TLSNIC_HANDLE_NONE);
	rx_csum(p, frame, len, meta, &fi);
	if (p->tls && p->tls->rx && fi.l4_proto == DSIM_IPPROTO_TCP)
		p->tls->rx(p, frame, (uint32_t)len, &fi, meta);
}
