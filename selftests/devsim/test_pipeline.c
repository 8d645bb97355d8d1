// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of devsim/pipeline.c: every malformed TX request is refused
 * with its own counter and nothing reaches the wire; RX checksum
 * verification sets CSUM_OK exactly when it should.
 */
#include <endian.h>
#include <stddef.h>

#include "devsim_test.h"
#include "pipeline.h"
#include "wire_capture.h"

static uint8_t txbuf[sizeof(struct tlsnic_tx_meta) + 70000];
static uint8_t frame[70000];
static uint8_t payload[70000];
static struct dsim_port port;
static struct wire_capture cap;

#define CNT(name) offsetof(struct dsim_counters, name)

static uint64_t counter_at(size_t off)
{
	return *(const uint64_t *)((const char *)&port.cnt + off);
}

/* A valid request to start from: v4 TCP, checksum offload, 3000 bytes. */
struct tx_case_state {
	struct tlsnic_tx_meta m;
	struct frame_layout l;
	struct frame_spec s;
	size_t buf_len;		/* bytes of txbuf handed to the device */
	size_t frame_len;
};

enum mutation {
	M_SHORT, M_FLAG_UNKNOWN, M_TSO_NO_CSUM, M_RESYNC_NO_TLS, M_RESERVED0, M_RESERVED1,
	M_HANDLE_NO_TLS, M_DUMP_NO_RESYNC, M_DUMP_PAST_END, M_GSO_NO_TSO, M_MSS_NO_TSO,
	M_CSUM_FIELDS_NO_CSUM, M_RUNT, M_TOO_LONG, M_TSO_TOO_LONG, M_BAD_IHL,
	M_CSUM_IN_IP_HDR, M_CSUM_OFFSET_PAST_END, M_CSUM_START_PAST_END, M_TSO_GSO_V6_ON_V4,
	M_TSO_GSO_NONE, M_TSO_UDP, M_TSO_MSS_SMALL, M_TSO_MSS_HUGE, M_TSO_CSUM_OFFSET,
	M_TSO_NO_PAYLOAD, M_TLS_NO_ENGINE, M_FRAGMENT_CSUM, M_TLS_NO_CSUM,
};

static const struct {
	enum mutation mut;
	const char *name;
	size_t counter;
} tx_cases[] = {
	{ M_SHORT, "buffer shorter than meta", CNT(drop_meta_short) },
	{ M_FLAG_UNKNOWN, "unknown flag", CNT(drop_meta_flags) },
	{ M_TSO_NO_CSUM, "TSO without CSUM", CNT(drop_meta_flags) },
	{ M_RESYNC_NO_TLS, "TLS_RESYNC without TLS", CNT(drop_meta_flags) },
	{ M_TLS_NO_CSUM, "TLS without CSUM", CNT(drop_meta_flags) },
	{ M_RESERVED0, "reserved0 set", CNT(drop_meta_reserved) },
	{ M_RESERVED1, "reserved1 set", CNT(drop_meta_reserved) },
	{ M_HANDLE_NO_TLS, "handle without TLS", CNT(drop_meta_handle) },
	{ M_DUMP_NO_RESYNC, "dump without resync", CNT(drop_meta_dump) },
	{ M_DUMP_PAST_END, "dump past the buffer", CNT(drop_meta_dump) },
	{ M_GSO_NO_TSO, "gso_type without TSO", CNT(drop_meta_gso) },
	{ M_MSS_NO_TSO, "mss without TSO", CNT(drop_meta_gso) },
	{ M_CSUM_FIELDS_NO_CSUM, "csum fields without CSUM", CNT(drop_meta_csum) },
	{ M_RUNT, "frame shorter than Ethernet", CNT(drop_frame_len) },
	{ M_TOO_LONG, "frame over the MTU", CNT(drop_frame_len) },
	{ M_TSO_TOO_LONG, "TSO frame over max_tso_bytes", CNT(drop_frame_len) },
	{ M_BAD_IHL, "offload on a broken IP header", CNT(drop_bad_frame) },
	{ M_FRAGMENT_CSUM, "offload on an IP fragment", CNT(drop_bad_frame) },
	{ M_CSUM_IN_IP_HDR, "csum_start inside the IP header", CNT(drop_meta_csum) },
	{ M_CSUM_OFFSET_PAST_END, "csum field past the packet", CNT(drop_meta_csum) },
	{ M_CSUM_START_PAST_END, "csum_start past the packet", CNT(drop_meta_csum) },
	{ M_TSO_GSO_V6_ON_V4, "gso TCPV6 on IPv4", CNT(drop_meta_gso) },
	{ M_TSO_GSO_NONE, "TSO with gso NONE", CNT(drop_meta_gso) },
	{ M_TSO_UDP, "TSO on UDP", CNT(drop_meta_gso) },
	{ M_TSO_MSS_SMALL, "mss below minimum", CNT(drop_meta_gso) },
	{ M_TSO_MSS_HUGE, "segment over the MTU", CNT(drop_meta_gso) },
	{ M_TSO_CSUM_OFFSET, "TSO csum not at TCP check", CNT(drop_meta_csum) },
	{ M_TSO_NO_PAYLOAD, "TSO without payload", CNT(drop_meta_gso) },
	{ M_TLS_NO_ENGINE, "TLS without an engine", CNT(drop_tls_unsupported) },
};

static void set_tso(struct tx_case_state *st, uint16_t mss)
{
	st->m.flags = htole16(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO);
	st->m.mss = htole16(mss);
	st->m.gso_type = st->s.family == 4 ? TLSNIC_GSO_TCPV4 : TLSNIC_GSO_TCPV6;
}

static void rebuild(struct tx_case_state *st)
{
	st->l = build_frame(frame, &st->s);
	st->frame_len = st->l.len;
	st->m.csum_start = htole16((uint16_t)st->l.l4);
	st->m.csum_offset = htole16(st->s.proto == 6 ? 16 : 6);
}

static void mutate(enum mutation mut, struct tx_case_state *st)
{
	uint16_t flags = le16toh(st->m.flags);

	switch (mut) {
	case M_SHORT:
		st->buf_len = sizeof(st->m) - 1;
		return;
	case M_FLAG_UNKNOWN:
		st->m.flags = htole16(flags | 0x100);
		break;
	case M_TSO_NO_CSUM:
		set_tso(st, 1000);
		st->m.flags = htole16(TLSNIC_TX_F_TSO);
		break;
	case M_RESYNC_NO_TLS:
		st->m.flags = htole16(flags | TLSNIC_TX_F_TLS_RESYNC);
		break;
	case M_TLS_NO_CSUM:
		st->m.flags = htole16(TLSNIC_TX_F_TLS);
		st->m.csum_start = st->m.csum_offset = 0;
		st->m.ctx_handle = htole32(0);
		break;
	case M_RESERVED0:
		st->m.reserved0 = 1;
		break;
	case M_RESERVED1:
		st->m.reserved1 = htole32(0x80000000);
		break;
	case M_HANDLE_NO_TLS:
		st->m.ctx_handle = htole32(0);
		break;
	case M_DUMP_NO_RESYNC:
		st->m.dump_len = htole16(16);
		break;
	case M_DUMP_PAST_END:
		st->m.flags = htole16(flags | TLSNIC_TX_F_TLS | TLSNIC_TX_F_TLS_RESYNC);
		st->m.ctx_handle = htole32(0);
		st->m.dump_len = htole16((uint16_t)(st->frame_len + 1));
		break;
	case M_GSO_NO_TSO:
		st->m.gso_type = TLSNIC_GSO_TCPV4;
		break;
	case M_MSS_NO_TSO:
		st->m.mss = htole16(1448);
		break;
	case M_CSUM_FIELDS_NO_CSUM:
		st->m.flags = 0;
		break;
	case M_RUNT:
		st->frame_len = 13;
		break;
	case M_TOO_LONG:
		st->s.payload_len = DSIM_MAX_FRAME - 53;	/* 54 bytes of headers */
		rebuild(st);
		break;
	case M_TSO_TOO_LONG:
		/* A valid IPv6 packet, padded past the largest TSO frame. */
		st->s.family = 6;
		st->s.payload_len = 60000;
		rebuild(st);
		set_tso(st, 1000);
		st->frame_len = DSIM_MAX_TSO_FRAME + 1;
		break;
	case M_BAD_IHL:
		frame[st->l.l3] = 0x44;
		break;
	case M_FRAGMENT_CSUM:
		ref_wr16(frame + st->l.l3 + 6, 0x2000);
		break;
	case M_CSUM_IN_IP_HDR:
		st->m.csum_start = htole16((uint16_t)(st->l.l4 - 4));
		break;
	case M_CSUM_OFFSET_PAST_END:
		st->m.csum_offset = htole16((uint16_t)(st->frame_len - st->l.l4 - 1));
		break;
	case M_CSUM_START_PAST_END:
		st->m.csum_start = htole16((uint16_t)st->frame_len);
		st->m.csum_offset = 0;
		break;
	case M_TSO_GSO_V6_ON_V4:
		set_tso(st, 1000);
		st->m.gso_type = TLSNIC_GSO_TCPV6;
		break;
	case M_TSO_GSO_NONE:
		set_tso(st, 1000);
		st->m.gso_type = TLSNIC_GSO_NONE;
		break;
	case M_TSO_UDP:
		st->s.proto = 17;
		rebuild(st);
		set_tso(st, 1000);
		break;
	case M_TSO_MSS_SMALL:
		set_tso(st, DSIM_MIN_MSS - 1);
		break;
	case M_TSO_MSS_HUGE:
		st->s.payload_len = 20000;
		rebuild(st);
		set_tso(st, (uint16_t)(DSIM_MAX_FRAME - st->l.payload + 1));
		break;
	case M_TSO_CSUM_OFFSET:
		set_tso(st, 1000);
		st->m.csum_offset = htole16(18);
		break;
	case M_TSO_NO_PAYLOAD:
		st->s.payload_len = 0;
		rebuild(st);
		set_tso(st, 1000);
		break;
	case M_TLS_NO_ENGINE:
		st->m.flags = htole16(flags | TLSNIC_TX_F_TLS);
		st->m.ctx_handle = htole32(0);
		break;
	}
	st->buf_len = sizeof(st->m) + st->frame_len;
}

static bool tx_validation_table(void)
{
	size_t i, j;

	test_fill_random(payload, sizeof(payload));
	for (i = 0; i < ARRAY_SIZE(tx_cases); i++) {
		struct tx_case_state st;
		struct dsim_counters before;
		int ret;

		memset(&st, 0, sizeof(st));
		st.s = (struct frame_spec){ .family = 4, .proto = 6, .tcp_flags = 0x10,
					    .payload = payload, .payload_len = 3000 };
		st.m.flags = htole16(TLSNIC_TX_F_CSUM);
		st.m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
		rebuild(&st);
		mutate(tx_cases[i].mut, &st);
		memcpy(txbuf, &st.m, sizeof(st.m));
		memcpy(txbuf + sizeof(st.m), frame, st.frame_len);

		before = port.cnt;
		capture_init(&cap, txbuf, st.buf_len);
		ret = dsim_tx_process(&port, txbuf, st.buf_len, &cap.out);
		CHECK(ret < 0 && cap.n == 0, "%s: ret %d, %u frames sent", tx_cases[i].name,
		      ret, cap.n);
		/* Exactly the expected counter moved, and by one. */
		for (j = 0; j < dsim_counters_num(); j++) {
			uint64_t d = dsim_counter_value(&port.cnt, j) -
				     dsim_counter_value(&before, j);
			size_t off = j * sizeof(uint64_t);

			CHECK(d == (off == tx_cases[i].counter), "%s: %s moved by %llu",
			      tx_cases[i].name, dsim_counter_name(j), (unsigned long long)d);
		}
		capture_free(&cap);
	}
	CHECK(counter_at(CNT(tx_packets)) == 0, "something was sent");
	return true;
}

/* The untouched base request of the table is accepted. */
static bool tx_base_case_passes(void)
{
	struct frame_spec s = { .family = 4, .proto = 6, .tcp_flags = 0x10,
				.payload = payload, .payload_len = 3000 };
	struct frame_layout l = build_frame(frame, &s);
	struct tlsnic_tx_meta m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.flags = htole16(TLSNIC_TX_F_CSUM);
	m.csum_start = htole16((uint16_t)l.l4);
	m.csum_offset = htole16(16);
	m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
	memcpy(txbuf, &m, sizeof(m));
	memcpy(txbuf + sizeof(m), frame, l.len);
	len = sizeof(m) + l.len;
	capture_init(&cap, txbuf, len);
	CHECK(dsim_tx_process(&port, txbuf, len, &cap.out) == 1 && cap.n == 1, "refused");
	capture_free(&cap);
	return true;
}

/* Non-IP and even broken IP frames pass when no offload is asked. */
static bool tx_no_offload_passes_anything(void)
{
	struct tlsnic_tx_meta m;
	static const size_t lens[] = { 14, 60, 1514, DSIM_MAX_FRAME };
	size_t i;

	memset(&m, 0, sizeof(m));
	m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		memcpy(txbuf, &m, sizeof(m));
		test_fill_random(txbuf + sizeof(m), lens[i]);
		txbuf[sizeof(m) + 12] = 0x08;	/* claims IPv4, random header */
		txbuf[sizeof(m) + 13] = 0x00;
		capture_init(&cap, txbuf, sizeof(m) + lens[i]);
		CHECK(dsim_tx_process(&port, txbuf, sizeof(m) + lens[i], &cap.out) == 1 &&
		      cap.n == 1 && cap.lens[0] == lens[i], "len %zu", lens[i]);
		capture_free(&cap);
	}
	return true;
}

/* Random metadata in front of random frames: no crash, no overrun. */
static bool tx_fuzz(void)
{
	struct frame_spec s = { .family = 4, .proto = 6, .payload = payload };
	int i;

	for (i = 0; i < 100000; i++) {
		struct tlsnic_tx_meta m;
		struct frame_layout l;
		size_t len;
		uint8_t *buf;

		s.family = i & 1 ? 4 : 6;
		s.proto = i & 2 ? 6 : 17;
		s.payload_len = test_rand() % 3000;
		l = build_frame(frame, &s);
		test_fill_random((uint8_t *)&m, sizeof(m));
		if (i & 4) {	/* plausible values, so deeper code runs */
			m.flags &= htole16(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO);
			m.reserved0 = 0;
			m.reserved1 = 0;
			m.dump_len = 0;
			m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
			m.gso_type &= 3;
			m.csum_start = htole16((uint16_t)(l.l4 + (test_rand() % 3) - 1));
			m.csum_offset = htole16((uint16_t)(test_rand() % 20));
		}
		len = sizeof(m) + l.len - (test_rand() % 4 == 0 ? test_rand() % l.len : 0);
		buf = malloc(len);	/* exact size: ASan sees any overrun */
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), frame, len - sizeof(m));
		capture_init(&cap, buf, len);
		dsim_tx_process(&port, buf, len, &cap.out);
		CHECK(!cap.bad_sends, "sent memory outside the buffer");
		capture_free(&cap);
		free(buf);
	}
	return true;
}

/* ---- RX -------------------------------------------------------------- */

static bool rx_expect(const char *what, uint8_t *f, size_t len, bool ok, size_t counter)
{
	struct tlsnic_rx_meta meta;
	struct dsim_counters before = port.cnt;
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, f, len);
	dsim_rx_process(&port, copy, len, &meta);
	free(copy);
	CHECK(!!(le16toh(meta.flags) & TLSNIC_RX_F_CSUM_OK) == ok, "%s: flags %#x", what,
	      le16toh(meta.flags));
	CHECK(!(le16toh(meta.flags) & TLSNIC_RX_F_TLS_DECRYPTED) &&
	      le32toh(meta.ctx_handle) == TLSNIC_HANDLE_NONE && !meta.reserved0 &&
	      !meta.resync_seq && !meta.resync_id, "%s: other meta fields", what);
	CHECK(counter_at(counter) == *(const uint64_t *)((const char *)&before + counter) + 1,
	      "%s: counter", what);
	CHECK(port.cnt.rx_csum_ok + port.cnt.rx_csum_bad + port.cnt.rx_csum_none ==
	      before.rx_csum_ok + before.rx_csum_bad + before.rx_csum_none + 1,
	      "%s: one verdict per frame", what);
	return true;
}

static bool rx_checksums(void)
{
	struct frame_spec s = { .proto = 6, .tcp_flags = 0x10, .payload = payload };
	struct frame_layout l;
	int fam, proto;
	uint8_t arp[60];

	test_fill_random(payload, sizeof(payload));
	for (fam = 4; fam <= 6; fam += 2)
		for (proto = 6; proto <= 17; proto += 11) {
			s.family = fam;
			s.proto = (uint8_t)proto;
			s.vlans = proto == 17;
			s.payload_len = 999;
			l = build_frame(frame, &s);
			if (!rx_expect("good", frame, l.len, true, CNT(rx_csum_ok)))
				return false;
			/* Ethernet padding does not disturb the verdict. */
			memset(frame + l.len, 0x5a, 16);
			if (!rx_expect("padded", frame, l.len + 16, true, CNT(rx_csum_ok)))
				return false;
			frame[l.payload + 500] ^= 0x04;
			if (!rx_expect("payload bit flip", frame, l.len, false, CNT(rx_csum_bad)))
				return false;
			frame[l.payload + 500] ^= 0x04;
			frame[l.l4 + 1] ^= 0x80;
			if (!rx_expect("port bit flip", frame, l.len, false, CNT(rx_csum_bad)))
				return false;
			frame[l.l4 + 1] ^= 0x80;
			if (fam == 4) {
				frame[l.l3 + 8] ^= 1;	/* TTL: only the IP sum covers it */
				if (!rx_expect("ip header", frame, l.len, false, CNT(rx_csum_bad)))
					return false;
				frame[l.l3 + 8] ^= 1;
			}
			/* A truncated IP packet is damaged, not "not IP". */
			if (!rx_expect("truncated", frame, l.l4 + 4, false, CNT(rx_csum_bad)))
				return false;
		}

	/* UDP without checksum: allowed in IPv4 (nothing verified), not in IPv6. */
	s.proto = 17;
	s.vlans = 0;
	s.family = 4;
	l = build_frame(frame, &s);
	ref_wr16(frame + l.l4 + 6, 0);
	if (!rx_expect("v4 udp no csum", frame, l.len, false, CNT(rx_csum_none)))
		return false;
	s.family = 6;
	l = build_frame(frame, &s);
	ref_wr16(frame + l.l4 + 6, 0);
	if (!rx_expect("v6 udp zero csum", frame, l.len, false, CNT(rx_csum_bad)))
		return false;

	/* A fragment's L4 cannot be verified. */
	s.family = 4;
	s.proto = 6;
	l = build_frame(frame, &s);
	ref_wr16(frame + l.l3 + 6, 0x2000);
	ref_wr16(frame + l.l3 + 10, 0);
	ref_wr16(frame + l.l3 + 10, (uint16_t)~ref_sum(0, frame + l.l3, 20));
	if (!rx_expect("fragment", frame, l.len, false, CNT(rx_csum_none)))
		return false;

	memset(arp, 0, sizeof(arp));
	arp[12] = 0x08;
	arp[13] = 0x06;
	return rx_expect("arp", arp, sizeof(arp), false, CNT(rx_csum_none));
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "tx_validation_table", tx_validation_table },
		{ "tx_base_case_passes", tx_base_case_passes },
		{ "tx_no_offload_passes_anything", tx_no_offload_passes_anything },
		{ "tx_fuzz", tx_fuzz },
		{ "rx_checksums", rx_checksums },
	};
	int ret;

	if (dsim_port_init(&port, 0, 16))
		return 1;
	ret = run_tests(tests, ARRAY_SIZE(tests));
	dsim_port_fini(&port);
	return ret;
}
