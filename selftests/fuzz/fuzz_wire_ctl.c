// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: devsim's --wire-control parser (devsim/wire_ctl.c).
 * The input is the file's text.
 *
 * Checked: a text taken gives a configuration devsim accepts (every rate
 * a number in 0..100) with the base's seed; a text refused leaves the
 * output untouched and says why; the verdict does not depend on where the
 * text lies in memory (parsed twice, from two copies, the same).
 */
#include "fuzz_common.h"
#include "wire_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dsim_wire_cfg base = { .seed = 77 };
	struct dsim_wire_cfg a, b;
	char err_a[128], err_b[128];
	char *copy = malloc(size ? size : 1);
	int ra, rb;

	FZ_CHECK(copy, "malloc");
	memcpy(copy, data, size);
	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	err_a[0] = err_b[0] = '\0';
	ra = dsim_wire_ctl_parse((const char *)data, size, &base, &a, err_a, sizeof(err_a));
	rb = dsim_wire_ctl_parse(copy, size, &base, &b, err_b, sizeof(err_b));
	FZ_CHECK(ra == rb && !memcmp(&a, &b, sizeof(a)) && !strcmp(err_a, err_b),
		 "two parses of the same text differ");
	if (ra == 0) {
		FZ_CHECK(dsim_wire_cfg_check(&a) == 0, "invalid configuration taken");
		FZ_CHECK(a.seed == base.seed, "seed changed");
	} else {
		const uint8_t *p = (const uint8_t *)&a;
		size_t i;

		FZ_CHECK(ra == -EINVAL, "error %d", ra);
		FZ_CHECK(err_a[0], "refused without a reason");
		for (i = 0; i < sizeof(a); i++)
			FZ_CHECK(p[i] == 0xa5, "output written on refusal");
	}
	free(copy);
	return 0;
}
