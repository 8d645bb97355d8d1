// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: the data a sender moves: a deterministic pseudo-random
 * stream (incompressible) or a file, and its SHA-256.
 */
#include "tlsnic-ktls.h"

void gen_init(struct payload_gen *g, uint64_t seed)
{
	/* splitmix64 of the seed so seed 0 and small seeds still mix */
	uint64_t z = seed + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	g->state = (z ^ (z >> 31)) | 1;
	g->avail = 0;
}

/* xorshift64*, byte-exact: any chunking of the stream gives the same bytes */
void gen_fill(struct payload_gen *g, unsigned char *p, size_t len)
{
	while (len) {
		size_t n;

		if (!g->avail) {
			uint64_t x = g->state;

			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			g->state = x;
			g->word = x * 0x2545f4914f6cdd1dULL;
			g->avail = 8;
		}
		n = len < g->avail ? len : g->avail;
		memcpy(p, (unsigned char *)&g->word + 8 - g->avail, n);
		g->avail -= n;
		p += n;
		len -= n;
	}
}

static int payload_hash_fd(struct conn *c, struct payload *p)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t left = p->len;
	off_t off = 0;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto fail;
	while (left) {
		size_t want = left < IO_BUF_LEN ? left : IO_BUF_LEN;
		ssize_t n = pread(p->fd, c->buf, want, off);

		if (n <= 0) {
			conn_err(c, "reading %s: %s", c->o->file ? c->o->file : "payload file",
				 n < 0 ? strerror(errno) : "file shrank");
			goto fail;
		}
		EVP_DigestUpdate(md, c->buf, n);
		off += n;
		left -= n;
	}
	EVP_DigestFinal_ex(md, p->sha256, NULL);
	EVP_MD_CTX_free(md);
	return 0;
fail:
	EVP_MD_CTX_free(md);
	return -1;
}

static int payload_tmpfile(struct conn *c, struct payload *p)
{
	const char *dir = c->o->tmpdir ? c->o->tmpdir :
			  getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	uint64_t left = p->len;
	char path[PATH_MAX];

	p->fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (p->fd < 0) {
		/* O_TMPFILE is not supported by every filesystem (e.g. 9p) */
		snprintf(path, sizeof(path), "%s/" PROG ".XXXXXX", dir);
		p->fd = mkstemp(path);
		if (p->fd < 0) {
			conn_err(c, "cannot create a temporary file in %s: %s", dir,
				 strerror(errno));
			return -1;
		}
		unlink(path);
	}
	while (left) {
		size_t n = left < IO_BUF_LEN ? left : IO_BUF_LEN;

		gen_fill(&c->gen, c->buf, n);
		if (write(p->fd, c->buf, n) != (ssize_t)n) {
			conn_err(c, "writing the temporary payload file in %s: %s", dir,
				 strerror(errno));
			return -1;
		}
		left -= n;
	}
	return 0;
}

int payload_open(struct conn *c, struct payload *p, unsigned int idx)
{
	const struct options *o = c->o;
	bool need_file = o->send == SEND_SENDFILE || o->send == SEND_SPLICE;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (o->file) {
		struct stat st;

		p->fd = open(o->file, O_RDONLY);
		if (p->fd < 0 || fstat(p->fd, &st) < 0) {
			conn_err(c, "cannot open %s: %s", o->file, strerror(errno));
			return -1;
		}
		p->len = st.st_size;
		return o->no_hash ? 0 : payload_hash_fd(c, p);
	}
	p->len = o->bytes[idx];
	if (need_file) {
		if (payload_tmpfile(c, p) < 0)
			return -1;
		return o->no_hash ? 0 : payload_hash_fd(c, p);
	}
	if (o->no_hash)
		return 0;
	/*
	 * Generated on the fly: hashed as it is generated, so that sending
	 * starts at once (the trailer goes after the payload anyway); a long
	 * stream hashed up front kept the receiver waiting for minutes.
	 */
	p->md = EVP_MD_CTX_new();
	if (!p->md || !EVP_DigestInit_ex(p->md, EVP_sha256(), NULL)) {
		conn_err(c, "SHA-256 unavailable");
		return -1;
	}
	return 0;
}

void payload_close(struct payload *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	EVP_MD_CTX_free(p->md);
	p->md = NULL;
}
