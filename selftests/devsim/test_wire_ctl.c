// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of devsim/wire_ctl.c (--wire-control) and of changing a
 * running wire's faults (dsim_wire_set_faults).
 *
 * The parser takes exactly the documented lines and refuses every other
 * one without touching the configuration it was given; the poller reads a
 * file once per version (a rename, a rewrite of another size, a new mtime),
 * reports a bad version once, keeps quiet without a file and reads a file
 * that comes back. A running wire given new rates applies them from the
 * next frame, with its fault stream and held frames carried over.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devsim_test.h"
#include "wire.h"
#include "wire_ctl.h"

static const struct dsim_wire_cfg base = { .seed = 42 };

static bool parse(const char *text, struct dsim_wire_cfg *out, char *err, size_t n)
{
	return dsim_wire_ctl_parse(text, strlen(text), &base, out, err, n) == 0;
}

static bool test_parse_full(void)
{
	struct dsim_wire_cfg c;
	char err[128];

	CHECK(parse("# a comment\n\nloss 1\nreorder 0.1\n  dup\t5  \ncorrupt 100\n"
		    "tls-corrupt 0.5\ncorrupt-fix-csum 1\n", &c, err, sizeof(err)),
	      "refused: %s", err);
	CHECK(c.loss == 1.0 && c.reorder == 0.1 && c.dup == 5.0 && c.corrupt == 100.0 &&
	      c.tls_corrupt == 0.5 && c.corrupt_fix_csum && c.seed == 42,
	      "loss %g reorder %g dup %g corrupt %g tls %g fix %d seed %llu", c.loss, c.reorder,
	      c.dup, c.corrupt, c.tls_corrupt, c.corrupt_fix_csum, (unsigned long long)c.seed);
	/* CRLF line ends and no final newline. */
	CHECK(parse("loss 2\r\nreorder 3", &c, err, sizeof(err)), "refused: %s", err);
	CHECK(c.loss == 2.0 && c.reorder == 3.0, "loss %g reorder %g", c.loss, c.reorder);
	return true;
}

static bool test_parse_unnamed_is_zero(void)
{
	struct dsim_wire_cfg c;
	char err[128];

	memset(&c, 0xff, sizeof(c));
	CHECK(parse("", &c, err, sizeof(err)), "empty file refused: %s", err);
	CHECK(c.loss == 0 && c.reorder == 0 && c.dup == 0 && c.corrupt == 0 &&
	      c.tls_corrupt == 0 && !c.corrupt_fix_csum && c.seed == 42, "not a perfect wire");
	CHECK(parse("dup 1\n", &c, err, sizeof(err)), "refused: %s", err);
	CHECK(c.dup == 1.0 && c.loss == 0 && c.reorder == 0 && c.corrupt == 0,
	      "only dup expected");
	return true;
}

static bool test_parse_refuses(void)
{
	static const char *const bad[] = {
		"loss\n", "loss 1 2\n", "loss -1\n", "loss 101\n", "loss 1e1\n", "loss nan\n",
		"loss inf\n", "loss 0x10\n", "loss .\n", "loss 1%\n", "Loss 1\n", "drop 1\n",
		"loss 1\nloss 2\n", "corrupt-fix-csum 2\n", "corrupt-fix-csum on\n",
		"loss 1\nreorder\n", "duplicate 1\n", "loss 0000000000000000000000000000000001\n",
		"a-very-long-key-that-is-longer-than-any-key 1\n", "loss 1 # comment\n",
	};
	struct dsim_wire_cfg c;
	char err[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&c, 0x5a, sizeof(c));
		err[0] = '\0';
		CHECK(!parse(bad[i], &c, err, sizeof(err)), "took '%s'", bad[i]);
		CHECK(!strncmp(err, "line ", 5), "no line number for '%s': '%s'", bad[i], err);
		CHECK(((unsigned char *)&c)[0] == 0x5a, "out written for '%s'", bad[i]);
	}
	/* The line number is the bad line's. */
	CHECK(!parse("loss 1\n\n# x\nreorder x\n", &c, err, sizeof(err)), "took it");
	CHECK(!strncmp(err, "line 4:", 7), "err '%s'", err);
	/* A NUL byte, and a file too long. */
	CHECK(dsim_wire_ctl_parse("loss 1\0\n", 8, &base, &c, err, sizeof(err)) == -EINVAL,
	      "took a NUL byte");
	{
		size_t n = DSIM_WIRE_CTL_MAX_LEN + 1;
		char *big = malloc(n);

		CHECK(big, "malloc");
		memset(big, '\n', n);
		CHECK(dsim_wire_ctl_parse(big, n, &base, &c, err, sizeof(err)) == -EINVAL,
		      "took %zu bytes", n);
		CHECK(dsim_wire_ctl_parse(big, n - 1, &base, &c, err, sizeof(err)) == 0,
		      "refused %zu blank lines: %s", n - 1, err);
		free(big);
	}
	return true;
}

/* Random bytes never crash the parser, and whatever it takes is valid. */
static bool test_parse_random(void)
{
	static const char alphabet[] = "lossreordupcrt-fix01234567.89 \t\n#\r";
	struct dsim_wire_cfg c;
	char text[64], err[128];
	unsigned int i, j, took = 0;

	for (i = 0; i < 200000; i++) {
		size_t n = test_rand() % sizeof(text);

		for (j = 0; j < n; j++)
			text[j] = alphabet[test_rand() % (sizeof(alphabet) - 1)];
		if (dsim_wire_ctl_parse(text, n, &base, &c, err, sizeof(err)) == 0) {
			CHECK(dsim_wire_cfg_check(&c) == 0, "took an invalid config");
			took++;
		}
	}
	printf("# %u of 200000 random texts parsed\n", took);
	return true;
}

/* ---- the file ---------------------------------------------------------- */

static char dir[64];

static bool put(const char *path, const char *text)
{
	char tmp[128];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return false;
	fputs(text, f);
	return fclose(f) == 0 && rename(tmp, path) == 0;
}

static bool test_poll_versions(void)
{
	struct dsim_wire_ctl ctl;
	struct dsim_wire_cfg c;
	char path[128], err[128];
	struct timespec ts[2];

	snprintf(path, sizeof(path), "%s/control", dir);
	dsim_wire_ctl_init(&ctl, path);
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_SAME,
	      "no file: not SAME");
	CHECK(put(path, "loss 1\n"), "write");
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_NEW,
	      "first version not NEW: %s", err);
	CHECK(c.loss == 1.0, "loss %g", c.loss);
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_SAME,
	      "same version read twice");
	/* Replaced by rename with the same text: a new version (new inode). */
	CHECK(put(path, "loss 1\n"), "write");
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_NEW,
	      "renamed version not NEW");
	/* Rewritten in place, same size, new mtime. */
	{
		int fd = open(path, O_WRONLY);

		CHECK(fd >= 0 && pwrite(fd, "loss 3\n", 7, 0) == 7, "rewrite");
		ts[0].tv_sec = 1;
		ts[0].tv_nsec = 0;
		ts[1] = ts[0];
		CHECK(futimens(fd, ts) == 0, "futimens");
		close(fd);
	}
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_NEW,
	      "new mtime not NEW");
	CHECK(c.loss == 3.0, "loss %g", c.loss);
	/* A bad version: reported once, the last good one is not re-read. */
	CHECK(put(path, "loss 1\nreorder lots\n"), "write");
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == -EINVAL,
	      "bad version not refused");
	CHECK(strstr(err, "line 2"), "err '%s'", err);
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_SAME,
	      "bad version reported twice");
	/* Gone, then back with the text of before: read again. */
	CHECK(unlink(path) == 0, "unlink");
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_SAME,
	      "no file: not SAME");
	CHECK(put(path, "reorder 2\n"), "write");
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_NEW,
	      "file back not NEW");
	CHECK(c.reorder == 2.0 && c.loss == 0, "reorder %g loss %g", c.reorder, c.loss);
	/* Not a regular file: an error, once. */
	CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0, "mkdir");
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == -EINVAL,
	      "directory taken");
	CHECK(dsim_wire_ctl_poll(&ctl, &base, &c, err, sizeof(err)) == DSIM_WIRE_CTL_SAME,
	      "directory reported twice");
	CHECK(rmdir(path) == 0, "rmdir");
	return true;
}

/* ---- a running wire ----------------------------------------------------- */

struct tsink {
	unsigned int delivered, dropped;
};

static void ts_deliver(void *arg, const struct dsim_wire_pkt *pkt)
{
	(void)pkt;
	((struct tsink *)arg)->delivered++;
}

static void ts_drop(void *arg, const struct dsim_wire_pkt *pkt)
{
	(void)pkt;
	((struct tsink *)arg)->dropped++;
}

static int ts_clone(void *arg, const struct dsim_wire_pkt *pkt, struct dsim_wire_pkt *copy)
{
	(void)arg;
	*copy = *pkt;
	return 0;
}

static bool test_set_faults_running(void)
{
	static uint8_t frame[64];
	struct dsim_wire_cfg cfg = { .seed = 7 }, all_loss = { .loss = 100 };
	struct dsim_wire_cfg hold = { .reorder = 100 };
	struct dsim_counters cnt;
	struct dsim_wire w, fresh;
	struct tsink sink = { 0, 0 };
	struct dsim_wire_ops ops = { ts_deliver, ts_drop, ts_clone, &sink };
	struct dsim_wire_pkt pkt = { frame, frame, sizeof(frame) };
	unsigned int i;

	memset(&cnt, 0, sizeof(cnt));
	dsim_wire_init(&w, &cfg, 0, &cnt, NULL);
	for (i = 0; i < 10; i++)
		dsim_wire_xmit(&w, &pkt, 0, &ops);
	CHECK(sink.delivered == 10 && !cnt.wire_lost, "perfect wire lost frames");
	dsim_wire_set_faults(&w, &all_loss);
	for (i = 0; i < 10; i++)
		dsim_wire_xmit(&w, &pkt, 0, &ops);
	CHECK(sink.dropped == 10 && cnt.wire_lost == 10, "100%% loss: %u dropped", sink.dropped);
	/* Frames held for reordering stay held when reordering stops. */
	dsim_wire_set_faults(&w, &hold);
	dsim_wire_xmit(&w, &pkt, 0, &ops);
	CHECK(dsim_wire_held_count(&w) == 1, "not held");
	dsim_wire_set_faults(&w, &cfg);
	CHECK(!w.faults && dsim_wire_held_count(&w) == 1, "held frame lost on change");
	CHECK(dsim_wire_poll(&w, DSIM_WIRE_REORDER_MAX_NS, &ops) == 1, "held frame not released");
	CHECK(sink.delivered == 11 && cnt.wire_lost == 10, "delivered %u", sink.delivered);
	/* The stream carried on: not restarted from the seed. */
	dsim_wire_init(&fresh, &all_loss, 0, &cnt, NULL);
	CHECK(fresh.rng != w.rng, "fault stream restarted");
	return true;
}

int main(void)
{
	static const struct test_case tests[] = {
		{ "parse: every key, comments, blanks, CRLF", test_parse_full },
		{ "parse: what the file does not name is 0", test_parse_unnamed_is_zero },
		{ "parse: bad lines refused with their line number, config untouched",
		  test_parse_refuses },
		{ "parse: random text never crashes, what is taken is valid", test_parse_random },
		{ "poll: once per version, bad versions once, file gone and back",
		  test_poll_versions },
		{ "set_faults: a running wire changes rates, keeps its stream and held frames",
		  test_set_faults_running },
	};
	int ret;

	snprintf(dir, sizeof(dir), "/tmp/test_wire_ctl.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	ret = run_tests(tests, ARRAY_SIZE(tests));
	rmdir(dir);
	return ret;
}
