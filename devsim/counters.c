// SPDX-License-Identifier: GPL-2.0
/* tlsnic-devsim: per-port counters, naming and printing. */
#include <inttypes.h>
#include <stddef.h>

#include "counters.h"

static const char *const dsim_counter_names[] = {
#define DSIM_COUNTER_NAME(name) #name,
	DSIM_COUNTERS(DSIM_COUNTER_NAME)
#undef DSIM_COUNTER_NAME
};

static const size_t dsim_counter_offsets[] = {
#define DSIM_COUNTER_OFFSET(name) offsetof(struct dsim_counters, name),
	DSIM_COUNTERS(DSIM_COUNTER_OFFSET)
#undef DSIM_COUNTER_OFFSET
};

#define DSIM_NUM_COUNTERS (sizeof(dsim_counter_names) / sizeof(dsim_counter_names[0]))

_Static_assert(DSIM_NUM_COUNTERS * sizeof(uint64_t) == sizeof(struct dsim_counters),
	       "every counter is a uint64_t in the list");

unsigned int dsim_counters_num(void)
{
	return DSIM_NUM_COUNTERS;
}

const char *dsim_counter_name(unsigned int i)
{
	return i < DSIM_NUM_COUNTERS ? dsim_counter_names[i] : NULL;
}

uint64_t dsim_counter_value(const struct dsim_counters *c, unsigned int i)
{
	if (i >= DSIM_NUM_COUNTERS)
		return 0;
	return *(const uint64_t *)((const char *)c + dsim_counter_offsets[i]);
}

int dsim_counters_print(FILE *f, unsigned int port, const struct dsim_counters *c)
{
	unsigned int i;

	for (i = 0; i < DSIM_NUM_COUNTERS; i++)
		if (fprintf(f, "port%u.%s %" PRIu64 "\n", port, dsim_counter_names[i],
			    dsim_counter_value(c, i)) < 0)
			return -1;
	return 0;
}
