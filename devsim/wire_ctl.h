/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-devsim: --wire-control FILE, the wire's faults changed at run time.
 *
 * The file states the whole fault configuration of the wire (both
 * directions), one "KEY VALUE" per line:
 *
 *   loss PCT | reorder PCT | dup PCT | corrupt PCT | tls-corrupt PCT
 *   corrupt-fix-csum 0|1
 *
 * PCT as on the command line (0..100, fractions allowed). Blank lines and
 * lines starting with '#' are ignored; a key the file does not name is 0,
 * so an empty file is a perfect wire; a key named twice is an error. The
 * seed stays the command line's: the fault streams carry on.
 *
 * The data-path thread looks at the file once a second: when its identity,
 * size or modification time changed it reads it whole, and applies all of
 * it to both directions between two frames, or, if any line is bad, none
 * of it. Writers put the file in place with rename(2), so that a file is
 * never read half written. No DPDK here: the parser is unit-tested
 * (selftests/devsim/test_wire_ctl.c) and fuzzed.
 */
#ifndef DSIM_WIRE_CTL_H
#define DSIM_WIRE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "wire.h"

/* Longest file taken; a longer one is an error. */
#define DSIM_WIRE_CTL_MAX_LEN	4096

/*
 * Parses len bytes of text (no NUL needed) into out: base's seed, every
 * other field from the text (0 if not named). Returns 0, or -EINVAL with
 * out untouched and the first problem ("line N: ...") in err.
 */
int dsim_wire_ctl_parse(const char *text, size_t len, const struct dsim_wire_cfg *base,
			struct dsim_wire_cfg *out, char *err, size_t err_len);

/* The last version of the file looked at. */
struct dsim_wire_ctl {
	const char *path;
	bool seen;			/* a version was looked at */
	uint64_t dev, ino, size;
	struct timespec mtime;
	int access_err;			/* errno last reported reaching it */
};

enum {
	DSIM_WIRE_CTL_SAME = 0,		/* no new version (or no file) */
	DSIM_WIRE_CTL_NEW = 1,		/* a new, valid version is in out */
};

void dsim_wire_ctl_init(struct dsim_wire_ctl *c, const char *path);

/*
 * Looks at the file: DSIM_WIRE_CTL_NEW with the configuration in out when
 * a version not looked at before parses; DSIM_WIRE_CTL_SAME when nothing
 * changed or there is no file (the wire keeps what it has); -errno with
 * the reason in err when the new version cannot be read or does not parse.
 * Each bad version, and each failure to reach the file, is reported once.
 */
int dsim_wire_ctl_poll(struct dsim_wire_ctl *c, const struct dsim_wire_cfg *base,
		       struct dsim_wire_cfg *out, char *err, size_t err_len);

#endif /* DSIM_WIRE_CTL_H */
