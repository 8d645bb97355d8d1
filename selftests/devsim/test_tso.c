// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of devsim TX offloads (tso.c and the checksum path of
 * pipeline.c): every segment is checked field by field and its checksums
 * with the naive reference, and the segments must reassemble the payload.
 */
#include <endian.h>

#include "devsim_test.h"
#include "pipeline.h"
#include "wire_capture.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_ECE 0x40
#define TCP_CWR 0x80

static uint8_t txbuf[sizeof(struct tlsnic_tx_meta) + 70000];
static uint8_t payload[70000];
static struct dsim_port port;
static struct wire_capture cap;

/* Lays out meta | frame in txbuf; returns the buffer length. */
static size_t tx_buf(uint16_t flags, uint16_t csum_start, uint16_t csum_offset, uint16_t mss,
		     uint8_t gso_type, const uint8_t *frame, size_t flen)
{
	struct tlsnic_tx_meta m;

	memset(&m, 0, sizeof(m));
	m.flags = htole16(flags);
	m.csum_start = htole16(csum_start);
	m.csum_offset = htole16(csum_offset);
	m.mss = htole16(mss);
	m.gso_type = gso_type;
	m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
	memcpy(txbuf, &m, sizeof(m));
	memmove(txbuf + sizeof(m), frame, flen);
	return sizeof(m) + flen;
}

static bool reset_port(void)
{
	dsim_port_fini(&port);
	return dsim_port_init(&port, 0, 16) == 0;
}

/* Segments one frame and checks everything about the result. */
static bool tso_one(const struct frame_spec *spec, uint16_t mss)
{
	static uint8_t frame[70000];
	struct frame_layout l = build_frame(frame, spec);
	size_t hdr_len = l.payload, nsegs, i, off = 0, len;
	uint8_t in_flags = spec->tcp_flags;
	const char *fam = spec->family == 4 ? "v4" : "v6";
	int ret;

	/* The device must not trust the checksum field on TSO frames. */
	ref_wr16(frame + l.l4 + 16, 0xdead);
	len = tx_buf(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO, (uint16_t)l.l4, 16, mss,
		     spec->family == 4 ? TLSNIC_GSO_TCPV4 : TLSNIC_GSO_TCPV6, frame, l.len);
	capture_init(&cap, txbuf, len);
	ret = dsim_tx_process(&port, txbuf, len, &cap.out);
	nsegs = (spec->payload_len + mss - 1) / mss;
	CHECK(ret == (int)nsegs && cap.n == nsegs && !cap.bad_sends,
	      "%s payload %zu mss %u: ret %d, %u frames, want %zu", fam, spec->payload_len,
	      mss, ret, cap.n, nsegs);

	for (i = 0; i < nsegs; i++, off += mss) {
		const uint8_t *s = cap.frames[i];
		size_t seg_len = spec->payload_len - off < mss ? spec->payload_len - off : mss;
		uint8_t want_flags = in_flags;
		const uint8_t *ip = s + l.l3, *th = s + l.l4;

		CHECK(cap.lens[i] == hdr_len + seg_len, "seg %zu len %zu want %zu", i,
		      cap.lens[i], hdr_len + seg_len);
		/* Ethernet and VLAN headers, addresses, ports: copied verbatim. */
		CHECK(!memcmp(s, frame, l.l3), "seg %zu L2 header", i);
		CHECK(!memcmp(th, frame + l.l4, 4), "seg %zu ports", i);
		CHECK(ref_rd32(th + 8) == ref_rd32(frame + l.l4 + 8), "seg %zu ack", i);
		CHECK(!memcmp(th + 20, frame + l.l4 + 20, l.payload - l.l4 - 20),
		      "seg %zu tcp options", i);
		if (spec->family == 4) {
			CHECK(ref_rd16(ip + 2) == l.payload - l.l3 + seg_len, "seg %zu tot_len", i);
			CHECK(ref_rd16(ip + 4) == (uint16_t)(spec->ip_id + i), "seg %zu id %u",
			      i, ref_rd16(ip + 4));
			CHECK(ref_rd16(ip + 6) == 0x4000 && ip[9] == 6, "seg %zu flags/proto", i);
			CHECK(!memcmp(ip + 12, frame + l.l3 + 12, 8), "seg %zu addresses", i);
			CHECK(ref_sum(0, ip, l.ip_hlen) == 0xffff, "seg %zu ip checksum", i);
		} else {
			CHECK(ref_rd16(ip + 4) == l.payload - l.l3 - 40 + seg_len,
			      "seg %zu payload_len", i);
			CHECK(!memcmp(ip + 6, frame + l.l3 + 6, l.ip_hlen - 6),
			      "seg %zu v6 header", i);
		}
		CHECK(ref_rd32(th + 4) == (uint32_t)(spec->seq + off), "seg %zu seq %u want %u", i,
		      ref_rd32(th + 4), (uint32_t)(spec->seq + off));
		if (i + 1 < nsegs)
			want_flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i > 0)
			want_flags &= (uint8_t)~TCP_CWR;
		CHECK(th[13] == want_flags, "seg %zu flags %02x want %02x", i, th[13], want_flags);
		CHECK(ref_l4_ok(s, &l, spec->family, 6, cap.lens[i] - l.l4),
		      "%s seg %zu/%zu tcp checksum", fam, i, nsegs);
		CHECK(!memcmp(s + hdr_len, spec->payload + off, seg_len), "seg %zu payload", i);
	}
	capture_free(&cap);
	return true;
}

static size_t max_payload(const struct frame_spec *s)
{
	size_t tcp = 20 + (size_t)s->tcp_opt_len;

	if (s->family == 4)
		return 65535 - (20 + (size_t)s->ip_opt_len) - tcp;
	return 65535 - (s->v6_hbh ? 8 : 0) - tcp;
}

static bool tso_matrix(void)
{
	static const size_t sizes[] = { 1, 63, 64, 65, 100, 1447, 1448, 1449, 2896, 4097,
					9000, 20000, 65535 };
	static const uint16_t msses[] = { 64, 100, 536, 1448, 1460, 8960 };
	uint64_t frames = 0, segs = 0;
	size_t si, mi;
	int fam, vl, opt, topt;

	test_fill_random(payload, sizeof(payload));
	for (fam = 4; fam <= 6; fam += 2)
	for (vl = 0; vl <= 1; vl++)
	for (opt = 0; opt <= 1; opt++)
	for (topt = 0; topt <= 12; topt += 12)
	for (si = 0; si < ARRAY_SIZE(sizes); si++)
	for (mi = 0; mi < ARRAY_SIZE(msses); mi++) {
		struct frame_spec s = {
			.family = fam, .proto = 6, .vlans = vl,
			.ip_opt_len = fam == 4 && opt ? 8 : 0,
			.v6_hbh = fam == 6 && opt, .tcp_opt_len = topt,
			.seq = 0xfffff000u + (uint32_t)si * 7,	/* wraps inside big frames */
			.tcp_flags = TCP_ACK | TCP_PSH | TCP_FIN | TCP_CWR | TCP_ECE,
			.ip_id = (uint16_t)(0xfff0 + mi),	/* wraps too */
			.payload = payload,
		};

		s.payload_len = sizes[si] < max_payload(&s) ? sizes[si] : max_payload(&s);
		if (!tso_one(&s, msses[mi]))
			return false;
		frames++;
		segs += (s.payload_len + msses[mi] - 1) / msses[mi];
	}
	CHECK(port.cnt.tx_tso_frames == frames && port.cnt.tx_tso_segments == segs &&
	      port.cnt.tx_packets == segs, "counters %llu/%llu/%llu want %llu/%llu",
	      (unsigned long long)port.cnt.tx_tso_frames,
	      (unsigned long long)port.cnt.tx_tso_segments,
	      (unsigned long long)port.cnt.tx_packets, (unsigned long long)frames,
	      (unsigned long long)segs);
	return true;
}

/* Without FIN/PSH/CWR in the input none may appear in the output. */
static bool tso_plain_flags(void)
{
	struct frame_spec s = { .family = 4, .proto = 6, .tcp_flags = TCP_ACK,
				.payload = payload, .payload_len = 5000 };

	test_fill_random(payload, sizeof(payload));
	return tso_one(&s, 1000);
}

/* When buffers run out mid-frame, the rest is dropped and counted. */
static bool tso_out_of_buffers(void)
{
	static uint8_t frame[20000];
	struct frame_spec s = { .family = 6, .proto = 6, .tcp_flags = TCP_ACK,
				.payload = payload, .payload_len = 10000 };
	struct frame_layout l = build_frame(frame, &s);
	size_t len;
	int ret;

	CHECK(reset_port(), "port init");
	len = tx_buf(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO, (uint16_t)l.l4, 16, 1000,
		     TLSNIC_GSO_TCPV6, frame, l.len);
	capture_init(&cap, txbuf, len);
	cap.alloc_limit = 4;
	ret = dsim_tx_process(&port, txbuf, len, &cap.out);
	CHECK(ret == 4 && cap.n == 4, "ret %d n %u", ret, cap.n);
	CHECK(port.cnt.drop_no_mbuf == 6 && port.cnt.tx_packets == 4, "drop_no_mbuf %llu",
	      (unsigned long long)port.cnt.drop_no_mbuf);
	capture_free(&cap);

	/* No buffer at all: the frame is reported as not sent. */
	capture_init(&cap, txbuf, len);
	cap.alloc_limit = 1;
	cap.allocs = 1;
	ret = dsim_tx_process(&port, txbuf, len, &cap.out);
	CHECK(ret < 0 && cap.n == 0 && port.cnt.drop_no_mbuf == 16, "ret %d", ret);
	capture_free(&cap);
	return true;
}

/*
 * CHECKSUM_PARTIAL: the stack leaves the pseudo-header sum in the checksum
 * field, the device sums from csum_start to the end and stores it.
 */
static bool csum_one(int family, uint8_t proto, int vlans, size_t plen, bool force_zero)
{
	static uint8_t frame[10000];
	struct frame_spec s = { .family = family, .proto = proto, .vlans = vlans,
				.tcp_flags = TCP_ACK, .payload = payload, .payload_len = plen };
	struct frame_layout l = build_frame(frame, &s);
	size_t l4_len = l.len - l.l4, len;
	uint16_t off = proto == 6 ? 16 : 6;
	const uint8_t *ip = frame + l.l3;
	uint16_t pseudo;
	int ret;

	pseudo = family == 4 ? ref_pseudo_sum(4, ip + 12, ip + 16, proto, (uint32_t)l4_len) :
			       ref_pseudo_sum(6, ip + 8, ip + 24, proto, (uint32_t)l4_len);
	if (force_zero) {
		/* Pick two payload bytes so that the final checksum is 0. */
		uint16_t sum;

		ref_wr16(frame + l.payload, 0);
		ref_wr16(frame + l.l4 + off, 0);
		sum = ref_sum(pseudo, frame + l.l4, l4_len);
		ref_wr16(frame + l.payload, (uint16_t)(0xffff - sum));
	}
	ref_wr16(frame + l.l4 + off, pseudo);
	len = tx_buf(TLSNIC_TX_F_CSUM, (uint16_t)l.l4, off, 0, TLSNIC_GSO_NONE, frame, l.len);
	capture_init(&cap, txbuf, len);
	ret = dsim_tx_process(&port, txbuf, len, &cap.out);
	CHECK(ret == 1 && cap.n == 1 && cap.lens[0] == l.len && !cap.bad_sends,
	      "ret %d n %u", ret, cap.n);
	CHECK(ref_l4_ok(cap.frames[0], &l, family, proto, l4_len), "v%d proto %u len %zu",
	      family, proto, plen);
	if (force_zero)
		CHECK(ref_rd16(cap.frames[0] + l.l4 + off) == 0xffff, "UDP zero not sent as ffff");
	/* Only the checksum field may change. */
	CHECK(!memcmp(cap.frames[0], frame, l.l4 + off) &&
	      !memcmp(cap.frames[0] + l.l4 + off + 2, frame + l.l4 + off + 2,
		      l.len - l.l4 - off - 2), "bytes besides the checksum changed");
	capture_free(&cap);
	return true;
}

static bool csum_partial(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 17, 100, 1400, 1471, 8000 };
	uint64_t before;
	size_t i;
	int vlans;

	CHECK(reset_port(), "port init");
	before = port.cnt.tx_csum;
	test_fill_random(payload, sizeof(payload));
	for (vlans = 0; vlans <= 2; vlans++)
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			if (!csum_one(4, 6, vlans, sizes[i], false) ||
			    !csum_one(6, 6, vlans, sizes[i], false) ||
			    !csum_one(4, 17, vlans, sizes[i], false) ||
			    !csum_one(6, 17, vlans, sizes[i], false))
				return false;
		}
	CHECK(port.cnt.tx_csum - before == 3 * ARRAY_SIZE(sizes) * 4, "tx_csum %llu",
	      (unsigned long long)port.cnt.tx_csum);
	return true;
}

static bool csum_udp_zero(void)
{
	test_fill_random(payload, sizeof(payload));
	return csum_one(6, 17, 0, 50, true) && csum_one(4, 17, 1, 51, true);
}

/* A frame without offload flags leaves the device untouched. */
static bool no_offload_untouched(void)
{
	static uint8_t frame[2000];
	struct frame_spec s = { .family = 4, .proto = 6, .tcp_flags = TCP_ACK,
				.payload = payload, .payload_len = 1000 };
	struct frame_layout l = build_frame(frame, &s);
	size_t len;

	ref_wr16(frame + l.l4 + 16, 0x1234);	/* wrong on purpose: not ours to fix */
	len = tx_buf(0, 0, 0, 0, TLSNIC_GSO_NONE, frame, l.len);
	capture_init(&cap, txbuf, len);
	CHECK(dsim_tx_process(&port, txbuf, len, &cap.out) == 1 && cap.n == 1, "sent");
	CHECK(cap.lens[0] == l.len && !memcmp(cap.frames[0], frame, l.len), "modified");
	capture_free(&cap);
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "tso_matrix", tso_matrix },
		{ "tso_plain_flags", tso_plain_flags },
		{ "tso_out_of_buffers", tso_out_of_buffers },
		{ "csum_partial", csum_partial },
		{ "csum_udp_zero", csum_udp_zero },
		{ "no_offload_untouched", no_offload_untouched },
	};
	int ret;

	if (dsim_port_init(&port, 0, 16))
		return 1;
	ret = run_tests(tests, ARRAY_SIZE(tests));
	dsim_port_fini(&port);
	return ret;
}
