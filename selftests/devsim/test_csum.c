// SPDX-License-Identifier: GPL-2.0
/* Unit tests of devsim/csum.c against the naive RFC 1071 reference. */
#include "csum.h"
#include "devsim_test.h"

/* RFC 1071 section 3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
static bool rfc1071_example(void)
{
	static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	CHECK(dsim_csum_fold(dsim_csum_add(0, data, sizeof(data))) == 0xddf2,
	      "got %04x", dsim_csum_fold(dsim_csum_add(0, data, sizeof(data))));
	CHECK(ref_sum(0, data, sizeof(data)) == 0xddf2, "reference is broken");
	return true;
}

/* Every length 0..600 and every misalignment, random data and start sum. */
static bool all_lengths_and_alignments(void)
{
	uint8_t buf[640];
	size_t len, align;

	for (len = 0; len <= 600; len++) {
		for (align = 0; align < 8; align++) {
			uint16_t start = (uint16_t)test_rand();
			uint16_t got, want;

			test_fill_random(buf, sizeof(buf));
			got = dsim_csum_fold(dsim_csum_add(start, buf + align, len));
			want = ref_sum(start, buf + align, len);
			/* 0x0000 and 0xffff are the same number in ones' complement. */
			if (got == 0xffff && want == 0)
				got = 0;
			if (want == 0xffff && got == 0)
				want = 0;
			CHECK(got == want, "len %zu align %zu start %04x: %04x != %04x",
			      len, align, start, got, want);
		}
	}
	return true;
}

/* All-0xff data drives the carries hardest; long buffers test the 64-bit path. */
static bool carries_and_long_buffers(void)
{
	static uint8_t buf[70000];
	size_t lens[] = { 65535, 65536, 69999, 70000, 4096 + 3 };
	size_t i;

	memset(buf, 0xff, sizeof(buf));
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		CHECK(dsim_csum_fold(dsim_csum_add(0xffff, buf, lens[i])) ==
		      ref_sum(0xffff, buf, lens[i]), "len %zu", lens[i]);
	test_fill_random(buf, sizeof(buf));
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		CHECK(dsim_csum_fold(dsim_csum_add(0, buf, lens[i])) == ref_sum(0, buf, lens[i]),
		      "len %zu", lens[i]);
	return true;
}

/* Sums of pieces add up when every piece but the last is even. */
static bool split_sums(void)
{
	uint8_t buf[1500];
	int i;

	for (i = 0; i < 2000; i++) {
		size_t len = test_rand() % sizeof(buf);
		size_t cut = (test_rand() % (len + 1)) & ~(size_t)1;
		uint32_t s;

		test_fill_random(buf, len);
		s = dsim_csum_add(0, buf, cut);
		s = dsim_csum_add(s, buf + cut, len - cut);
		CHECK(dsim_csum_fold(s) == dsim_csum_fold(dsim_csum_add(0, buf, len)) ||
		      (dsim_csum_fold(s) ^ dsim_csum_fold(dsim_csum_add(0, buf, len))) == 0xffff,
		      "len %zu cut %zu", len, cut);
	}
	return true;
}

static bool pseudo_headers(void)
{
	uint8_t src[16], dst[16];
	int i;

	for (i = 0; i < 1000; i++) {
		uint32_t len = test_rand() % 70000;
		uint8_t proto = (uint8_t)test_rand();
		uint16_t got, want;

		test_fill_random(src, sizeof(src));
		test_fill_random(dst, sizeof(dst));
		got = dsim_csum_fold(dsim_csum_pseudo_v4(src, dst, proto, len & 0xffff));
		want = ref_pseudo_sum(4, src, dst, proto, len & 0xffff);
		CHECK(got == want || (got ^ want) == 0xffff, "v4 %04x != %04x", got, want);
		got = dsim_csum_fold(dsim_csum_pseudo_v6(src, dst, proto, len));
		want = ref_pseudo_sum(6, src, dst, proto, len);
		CHECK(got == want || (got ^ want) == 0xffff, "v6 %04x != %04x", got, want);
	}
	return true;
}

/* A buffer carrying its own checksum sums to 0xffff. */
static bool finish_verifies(void)
{
	uint8_t buf[257];
	int i;

	for (i = 0; i < 1000; i++) {
		size_t len = 2 + test_rand() % 255;
		uint16_t c;

		test_fill_random(buf, len);
		buf[0] = buf[1] = 0;
		c = dsim_csum_finish(dsim_csum_add(0, buf, len));
		buf[0] = (uint8_t)(c >> 8);
		buf[1] = (uint8_t)c;
		CHECK(ref_sum(0, buf, len) == 0xffff, "len %zu", len);
	}
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "rfc1071_example", rfc1071_example },
		{ "all_lengths_and_alignments", all_lengths_and_alignments },
		{ "carries_and_long_buffers", carries_and_long_buffers },
		{ "split_sums", split_sums },
		{ "pseudo_headers", pseudo_headers },
		{ "finish_verifies", finish_verifies },
	};

	return run_tests(tests, ARRAY_SIZE(tests));
}
