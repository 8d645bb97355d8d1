// SPDX-License-Identifier: GPL-2.0
/* tlsnic-devsim: --wire-control, the wire's faults changed at run time. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire_ctl.h"

#define KEY_MAX		32
#define VALUE_MAX	32

enum wire_ctl_key { K_LOSS, K_REORDER, K_DUP, K_CORRUPT, K_TLS_CORRUPT, K_FIX_CSUM, K_NUM };

static const char *const key_names[K_NUM] = {
	[K_LOSS] = "loss",
	[K_REORDER] = "reorder",
	[K_DUP] = "dup",
	[K_CORRUPT] = "corrupt",
	[K_TLS_CORRUPT] = "tls-corrupt",
	[K_FIX_CSUM] = "corrupt-fix-csum",
};

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Copies the next word of [*p, end) into buf; false if it does not fit. */
static bool next_word(const char **p, const char *end, char *buf, size_t size)
{
	size_t n = 0;

	while (*p < end && is_blank(**p))
		(*p)++;
	while (*p < end && !is_blank(**p)) {
		if (n + 1 >= size)
			return false;
		buf[n++] = *(*p)++;
	}
	buf[n] = '\0';
	return true;
}

static int lookup_key(const char *word)
{
	int k;

	for (k = 0; k < K_NUM; k++)
		if (!strcmp(word, key_names[k]))
			return k;
	return -1;
}

/* One line (no '\n'): 0 (set in cfg, or nothing), or -EINVAL with err. */
static int parse_line(const char *p, const char *end, unsigned int lineno, bool *named,
		      struct dsim_wire_cfg *cfg, char *err, size_t err_len)
{
	char key[KEY_MAX], value[VALUE_MAX], extra[2];
	double pct;
	int k;

	if (!next_word(&p, end, key, sizeof(key))) {
		set_err(err, err_len, "line %u: unknown key", lineno);
		return -EINVAL;
	}
	if (!key[0] || key[0] == '#')
		return 0;
	k = lookup_key(key);
	if (k < 0) {
		set_err(err, err_len, "line %u: unknown key '%s'", lineno, key);
		return -EINVAL;
	}
	if (named[k]) {
		set_err(err, err_len, "line %u: %s named twice", lineno, key);
		return -EINVAL;
	}
	if (!next_word(&p, end, value, sizeof(value)) || !value[0] ||
	    !next_word(&p, end, extra, sizeof(extra)) || extra[0]) {
		set_err(err, err_len, "line %u: want '%s VALUE'", lineno, key);
		return -EINVAL;
	}
	named[k] = true;
	if (k == K_FIX_CSUM) {
		if (strcmp(value, "0") && strcmp(value, "1")) {
			set_err(err, err_len, "line %u: %s wants 0 or 1, not '%s'", lineno, key,
				value);
			return -EINVAL;
		}
		cfg->corrupt_fix_csum = value[0] == '1';
		return 0;
	}
	if (dsim_wire_parse_pct(value, &pct)) {
		set_err(err, err_len, "line %u: %s wants a percentage 0..100, not '%s'", lineno,
			key, value);
		return -EINVAL;
	}
	switch (k) {
	case K_LOSS:
		cfg->loss = pct;
		break;
	case K_REORDER:
		cfg->reorder = pct;
		break;
	case K_DUP:
		cfg->dup = pct;
		break;
	case K_CORRUPT:
		cfg->corrupt = pct;
		break;
	default:
		cfg->tls_corrupt = pct;
		break;
	}
	return 0;
}

int dsim_wire_ctl_parse(const char *text, size_t len, const struct dsim_wire_cfg *base,
			struct dsim_wire_cfg *out, char *err, size_t err_len)
{
	const char *p = text, *end = text + len, *eol;
	bool named[K_NUM] = { false };
	struct dsim_wire_cfg cfg;
	unsigned int lineno = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = base->seed;
	if (len > DSIM_WIRE_CTL_MAX_LEN) {
		set_err(err, err_len, "longer than %d bytes", DSIM_WIRE_CTL_MAX_LEN);
		return -EINVAL;
	}
	if (memchr(text, '\0', len)) {
		set_err(err, err_len, "NUL byte in the file");
		return -EINVAL;
	}
	while (p < end) {
		lineno++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (parse_line(p, eol, lineno, named, &cfg, err, err_len))
			return -EINVAL;
		p = eol + 1;
	}
	*out = cfg;
	return 0;
}

void dsim_wire_ctl_init(struct dsim_wire_ctl *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
}

static bool same_version(const struct dsim_wire_ctl *c, const struct stat *st)
{
	return c->seen && c->dev == (uint64_t)st->st_dev && c->ino == (uint64_t)st->st_ino &&
	       c->size == (uint64_t)st->st_size && c->mtime.tv_sec == st->st_mtim.tv_sec &&
	       c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void remember(struct dsim_wire_ctl *c, const struct stat *st)
{
	c->seen = true;
	c->dev = (uint64_t)st->st_dev;
	c->ino = (uint64_t)st->st_ino;
	c->size = (uint64_t)st->st_size;
	c->mtime = st->st_mtim;
}

/* An error reaching the file: reported once until the file is readable. */
static int access_error(struct dsim_wire_ctl *c, int e, const char *what, char *err,
			size_t err_len)
{
	c->seen = false;
	if (c->access_err == e)
		return DSIM_WIRE_CTL_SAME;
	c->access_err = e;
	set_err(err, err_len, "%s: %s", what, strerror(e));
	return -e;
}

int dsim_wire_ctl_poll(struct dsim_wire_ctl *c, const struct dsim_wire_cfg *base,
		       struct dsim_wire_cfg *out, char *err, size_t err_len)
{
	char buf[DSIM_WIRE_CTL_MAX_LEN + 1];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	if (stat(c->path, &st)) {
		/* Gone: a file that comes back is read, whatever its times. */
		if (errno == ENOENT) {
			c->seen = false;
			c->access_err = 0;
			return DSIM_WIRE_CTL_SAME;
		}
		return access_error(c, errno, "stat", err, err_len);
	}
	if (same_version(c, &st))
		return DSIM_WIRE_CTL_SAME;
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return access_error(c, errno, "open", err, err_len);
	/* What was opened is the version read: remember its own identity. */
	if (fstat(fd, &st)) {
		ret = access_error(c, errno, "fstat", err, err_len);
		goto out;
	}
	c->access_err = 0;
	remember(c, &st);
	if (!S_ISREG(st.st_mode)) {
		set_err(err, err_len, "not a regular file");
		ret = -EINVAL;
		goto out;
	}
	do {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 || (n < 0 && errno == EINTR)) && len < sizeof(buf));
	if (n < 0) {
		ret = -errno;
		set_err(err, err_len, "read: %s", strerror(errno));
		goto out;
	}
	ret = dsim_wire_ctl_parse(buf, len, base, out, err, err_len);
	if (!ret)
		ret = DSIM_WIRE_CTL_NEW;
out:
	close(fd);
	return ret;
}
