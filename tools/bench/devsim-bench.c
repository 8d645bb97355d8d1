// SPDX-License-Identifier: GPL-2.0
/*
 * devsim-bench: the device against its limit, natively, on one core.
 *
 * For AES-GCM-128/256 and 1, 4 and 16 KiB records it measures, in Gbit/s
 * of record plaintext:
 *   tx_engine    tls_tx_process() on the stream in MSS-sized segments
 *   tx_pipeline  dsim_tx_process(): guest TX buffers of 44-segment TSO
 *                frames (metadata check, TLS, TSO to MSS, checksums), the
 *                device path minus virtio
 *   rx_engine    tls_rx_process() on the stream in MSS-sized segments
 *   openssl_enc  EVP AES-GCM seal of each record (IV, 13-byte AAD, data,
 *   openssl_dec  tag), the limit: what OpenSSL does with the same records
 * each engine next to OpenSSL measured on the same core in the same
 * repetition, as a ratio. Also CTX_CREATE + CTX_DESTROY pairs per second
 * through the pure command code, and memory per context with 65,536 live
 * TX contexts on a port (in a child process, so RSS starts clean).
 *
 * Every measurement checks its own output on its first pass (records equal
 * to OpenSSL's, every segment decrypted, every frame sent): a bench that
 * measured an error path would stop, not report.
 *
 * Time is the thread's CPU time. Writes device.csv (summary),
 * device-samples.csv, device.json and device.txt to --out DIR.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bench-stream.h"
#include "cmd.h"
#include "pipeline.h"
#include "port.h"
#include "tls_dev.h"
#include "tls_rx.h"
#include "tls_tx.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MSS		1448
#define TSO_SEGS	44
#define HDRS		(14 + 20 + 20)
#define ISN		0xfff00000U	/* sequence numbers wrap mid-run */
#define PASS_BYTES	(1U << 20)	/* stream bytes per pass, about */
#define MAX_REPS	50
#define NR_CTX		65536

static const size_t rec_sizes[] = { 1024, 4096, 16384 };
static const enum tls_rec_cipher ciphers[] = { TLS_REC_AES_GCM_128, TLS_REC_AES_GCM_256 };
static const uint8_t saddr[4] = { 10, 77, 0, 1 }, daddr[4] = { 10, 77, 0, 2 };

static struct {
	const char *out;
	double secs;
	int reps;
	int cpu;
	size_t seg;	/* segment size the engines are given */
	bool quick;
} opt = { .secs = 0.4, .reps = 5, .cpu = -1, .seg = MSS };

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "devsim-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/*
 * CPU time of this thread: on a shared machine the time the thread waited
 * for its core is not the engine's (openssl speed, too, divides by CPU
 * time unless -elapsed).
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *cipher_name(enum tls_rec_cipher c)
{
	return c == TLS_REC_AES_GCM_128 ? "aes-128-gcm" : "aes-256-gcm";
}

static size_t key_len(enum tls_rec_cipher c)
{
	return c == TLS_REC_AES_GCM_128 ? 16 : 32;
}

/* ---- The record stream of one pass (bench-stream.c) ------------------- */

static enum tls_rec_cipher rec_cipher(const struct bench_stream *s)
{
	return s->aes256 ? TLS_REC_AES_GCM_256 : TLS_REC_AES_GCM_128;
}

static EVP_CIPHER_CTX *evp_new(const struct bench_stream *s, bool enc)
{
	EVP_CIPHER_CTX *c = bench_evp_new(s, enc);

	if (!c)
		die("EVP setup failed");
	return c;
}

static void stream_make(struct bench_stream *s, enum tls_rec_cipher cipher, size_t rec_plain)
{
	if (bench_stream_make(s, cipher == TLS_REC_AES_GCM_256, rec_plain, PASS_BYTES))
		die("cannot make the record stream");
}

static size_t seg_len(const struct bench_stream *s, size_t off)
{
	return s->len - off < opt.seg ? s->len - off : opt.seg;
}

/* ---- One pass of each measurement ------------------------------------ */

/* One pass over the stream: returns the seconds of timed work. */
static double pass_tx_engine(struct bench_stream *s, bool verify)
{
	struct tls_tx_params p = { .cipher = (enum tls_tx_cipher)rec_cipher(s),
				   .rec_seq = 0, .tcp_seq = ISN };
	struct tls_tx_ctx ctx;
	double t0, t;

	memcpy(p.key, s->key, sizeof(s->key));
	memcpy(p.salt, s->salt, 4);
	memcpy(p.iv, s->iv, 8);
	memcpy(s->work, s->plain, s->len);
	if (tls_tx_init(&ctx, &p))
		die("tls_tx_init failed");
	t0 = now();
	for (size_t off = 0; off < s->len; off += opt.seg) {
		int ret = tls_tx_process(&ctx, ISN + (uint32_t)off, s->work + off,
					 seg_len(s, off), NULL);

		if (ret < 0)
			die("tls_tx_process: %s", strerror(-ret));
	}
	t = now() - t0;
	tls_tx_destroy(&ctx);
	if (verify && memcmp(s->work, s->wire, s->len))
		die("TX engine output differs from OpenSSL's records");
	return t;
}

static double pass_rx_engine(struct bench_stream *s, bool verify)
{
	struct tls_rx_params p = { .cipher = rec_cipher(s), .rec_seq = 0, .tcp_seq = ISN };
	struct tls_rx_result res;
	struct tls_rx_ctx ctx;
	bool all = true;
	double t0, t;

	memcpy(p.key, s->key, sizeof(s->key));
	memcpy(p.salt, s->salt, 4);
	memcpy(s->work, s->wire, s->len);
	if (tls_rx_init(&ctx, &p))
		die("tls_rx_init failed");
	t0 = now();
	for (size_t off = 0; off < s->len; off += opt.seg) {
		int ret = tls_rx_process(&ctx, ISN + (uint32_t)off, s->work + off,
					 seg_len(s, off), &res);

		if (ret < 0)
			die("tls_rx_process: %s", strerror(-ret));
		all &= res.decrypted;
	}
	t = now() - t0;
	tls_rx_destroy(&ctx);
	if (!all)
		die("RX engine left a segment undecrypted");
	if (verify && memcmp(s->work, s->rx_out, s->len))
		die("RX engine output differs from the plaintext");
	return t;
}

/* OpenSSL on the same records: key schedule kept, as the engine keeps it. */
static double pass_openssl(struct bench_stream *s, EVP_CIPHER_CTX *c, bool enc, bool verify)
{
	double t0, t;

	memcpy(s->work, enc ? s->plain : s->wire, s->len);
	t0 = now();
	for (unsigned int i = 0; i < s->nrec; i++)
		if (!bench_evp_record(s, c, enc, s->work, i))
			die("EVP %s failed", enc ? "seal" : "open");
	t = now() - t0;
	if (verify && memcmp(s->work, enc ? s->wire : s->rx_out, s->len))
		die("EVP output differs from the reference");
	return t;
}

/* ---- The device path: a port, the command channel, TSO frames ------- */

static uint32_t cmd_tag = 1;

/* One command through the pure command code; returns the reply status. */
static int command(struct dsim_port *p, uint8_t op, const void *body, uint32_t len,
		   void *reply, uint32_t reply_len)
{
	uint8_t msg[DSIM_CMD_MAX_LEN];
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC),
		.version = TLSNIC_ABI_VERSION_MIN,
		.opcode = op,
		.tag = htole32(cmd_tag++),
		.len = htole32(len),
	};
	const struct dsim_msg *m;
	struct tlsnic_msg_hdr rh;
	int status;

	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), body, len);
	if (dsim_cmd_process(p, msg, sizeof(h) + len))
		return -1;
	m = dsim_msgq_peek(&p->msgq);
	if (!m)
		return -1;
	memcpy(&rh, m->data, sizeof(rh));
	status = le16toh(rh.status);
	if (reply && status == TLSNIC_ST_OK && le32toh(rh.len) == reply_len)
		memcpy(reply, m->data + sizeof(rh), reply_len);
	dsim_msgq_pop(&p->msgq);
	return status;
}

static void create_body(struct tlsnic_ctx_create *c, const struct bench_stream *s,
			enum tls_rec_cipher cipher)
{
	memset(c, 0, sizeof(*c));
	c->dir = TLSNIC_DIR_TX;
	c->tls_version = TLSNIC_TLS_1_2;
	c->cipher = cipher == TLS_REC_AES_GCM_128 ? TLSNIC_CIPHER_AES_GCM_128 :
						     TLSNIC_CIPHER_AES_GCM_256;
	c->family = 4;
	if (s) {
		memcpy(c->key, s->key, key_len(cipher));
		memcpy(c->salt, s->salt, 4);
		memcpy(c->iv, s->iv, 8);
	} else {
		memset(c->key, 0x42, sizeof(c->key));
	}
	c->tcp_seq = htole32(ISN);
	memcpy(c->saddr, saddr, 4);
	memcpy(c->daddr, daddr, 4);
	c->sport = htobe16(40000);
	c->dport = htobe16(443);
}

static int ctx_create(struct dsim_port *p, const struct tlsnic_ctx_create *c,
		      uint32_t *handle)
{
	struct tlsnic_ctx_ref ref = { 0 };
	int st = command(p, TLSNIC_OP_CTX_CREATE, c, sizeof(*c), &ref, sizeof(ref));

	*handle = le32toh(ref.handle);
	return st;
}

static int ctx_destroy(struct dsim_port *p, uint32_t handle)
{
	struct tlsnic_ctx_ref ref = { .handle = htole32(handle) };

	return command(p, TLSNIC_OP_CTX_DESTROY, &ref, sizeof(ref), NULL, 0);
}

static void port_open(struct dsim_port *p, uint32_t max)
{
	if (dsim_port_init(p, 0, max))
		die("dsim_port_init failed");
	dsim_port_set_version(p, TLSNIC_ABI_VERSION_MIN);	/* identified, v1 */
	p->tls = &tls_dev_tx_ops;
	tls_dev_counters_reset(0);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Guest TX buffers of one pass: metadata | Ethernet/IPv4/TCP | payload. */
struct txbufs {
	unsigned int n;
	uint8_t **pristine, **work;
	size_t *len;
	uint8_t *seen;		/* stream bytes as they reached the wire */
	bool verify;
	uint64_t frames;
	uint8_t seg[DSIM_MAX_FRAME];
};

static void txbufs_make(struct txbufs *b, const struct bench_stream *s, uint32_t handle)
{
	size_t step = (size_t)TSO_SEGS * MSS;

	memset(b, 0, sizeof(*b));
	b->n = (unsigned int)((s->len + step - 1) / step);
	b->pristine = calloc(b->n, sizeof(*b->pristine));
	b->work = calloc(b->n, sizeof(*b->work));
	b->len = calloc(b->n, sizeof(*b->len));
	b->seen = malloc(s->len);
	if (!b->pristine || !b->work || !b->len || !b->seen)
		die("out of memory");
	for (unsigned int i = 0; i < b->n; i++) {
		size_t off = i * step, pl = s->len - off < step ? s->len - off : step;
		struct tlsnic_tx_meta m = {
			.flags = htole16(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS),
			.csum_start = htole16(14 + 20),
			.csum_offset = htole16(16),
			.mss = htole16(MSS),
			.gso_type = TLSNIC_GSO_TCPV4,
			.ctx_handle = htole32(handle),
		};
		uint8_t *f;

		b->len[i] = sizeof(m) + HDRS + pl;
		b->pristine[i] = calloc(1, b->len[i]);
		b->work[i] = malloc(b->len[i]);
		if (!b->pristine[i] || !b->work[i])
			die("out of memory");
		memcpy(b->pristine[i], &m, sizeof(m));
		f = b->pristine[i] + sizeof(m);
		memcpy(f, "\x52\x54\x00\x74\x6c\x01\x52\x54\x00\x74\x6c\x00\x08\x00", 14);
		f[14] = 0x45;
		put16(f + 16, (uint16_t)(20 + 20 + pl));
		put16(f + 20, 0x4000);
		f[22] = 64;
		f[23] = 6;
		memcpy(f + 26, saddr, 4);
		memcpy(f + 30, daddr, 4);
		put16(f + 34, 40000);
		put16(f + 36, 443);
		put32(f + 38, ISN + (uint32_t)off);
		f[46] = 5 << 4;
		f[47] = 0x18;
		put16(f + 48, 65535);
		/* The TCP checksum field would hold the pseudo-header sum. */
		memcpy(f + HDRS, s->plain + off, pl);
	}
}

static void txbufs_free(struct txbufs *b)
{
	for (unsigned int i = 0; i < b->n; i++) {
		free(b->pristine[i]);
		free(b->work[i]);
	}
	free(b->pristine);
	free(b->work);
	free(b->len);
	free(b->seen);
}

static uint8_t *out_alloc(void *arg, size_t len)
{
	struct txbufs *b = arg;

	return len <= sizeof(b->seg) ? b->seg : NULL;
}

static void out_send(void *arg, uint8_t *frame, size_t len)
{
	struct txbufs *b = arg;
	uint32_t seq;

	b->frames++;
	if (!b->verify || len < HDRS)
		return;
	seq = (uint32_t)frame[38] << 24 | (uint32_t)frame[39] << 16 |
	      (uint32_t)frame[40] << 8 | frame[41];
	memcpy(b->seen + (uint32_t)(seq - ISN), frame + HDRS, len - HDRS);
}

struct pipeline {
	struct dsim_port port;
	struct tlsnic_ctx_create cc;
	struct txbufs bufs;
};

static void pipeline_open(struct pipeline *pl, struct bench_stream *s)
{
	port_open(&pl->port, 16);
	create_body(&pl->cc, s, rec_cipher(s));
	txbufs_make(&pl->bufs, s, TLSNIC_HANDLE_NONE);
}

static void pipeline_close(struct pipeline *pl)
{
	txbufs_free(&pl->bufs);
	dsim_port_fini(&pl->port);
}

/* A new context per pass (untimed), then the pass's TSO frames. */
static double pass_tx_pipeline(struct bench_stream *s, struct pipeline *pl, bool verify)
{
	struct txbufs *b = &pl->bufs;
	struct dsim_tx_out out = { .alloc = out_alloc, .send = out_send, .arg = b };
	uint64_t want = (s->len + MSS - 1) / MSS;
	uint32_t handle, le;
	double t0, t;

	if (ctx_create(&pl->port, &pl->cc, &handle) != TLSNIC_ST_OK)
		die("CTX_CREATE failed");
	le = htole32(handle);
	for (unsigned int i = 0; i < b->n; i++) {
		memcpy(b->work[i], b->pristine[i], b->len[i]);
		memcpy(b->work[i] + offsetof(struct tlsnic_tx_meta, ctx_handle), &le, 4);
	}
	b->verify = verify;
	b->frames = 0;
	t0 = now();
	for (unsigned int i = 0; i < b->n; i++) {
		int ret = dsim_tx_process(&pl->port, b->work[i], b->len[i], &out);

		if (ret < 0)
			die("dsim_tx_process: %s", strerror(-ret));
	}
	t = now() - t0;
	if (ctx_destroy(&pl->port, handle) != TLSNIC_ST_OK)
		die("CTX_DESTROY failed");
	if (b->frames != want)
		die("pipeline sent %llu frames, not %llu",
		    (unsigned long long)b->frames, (unsigned long long)want);
	if (verify && memcmp(b->seen, s->wire, s->len))
		die("pipeline put other bytes on the wire than OpenSSL's records");
	return t;
}

enum { M_OPENSSL_ENC, M_OPENSSL_DEC, M_TX_ENGINE, M_RX_ENGINE, M_TX_PIPELINE, M_NR };

/*
 * All five rates of one cipher and record size, their passes taken in turn
 * (round robin, under a millisecond each) until each has opt.secs of timed
 * work: a load that comes and goes on a shared machine hits the engines
 * and OpenSSL alike, so their ratio holds.
 */
static void measure_rates(struct bench_stream *s, double gbit[M_NR])
{
	EVP_CIPHER_CTX *enc = evp_new(s, true), *dec = evp_new(s, false);
	struct pipeline *pl = malloc(sizeof(*pl));
	double busy[M_NR] = { 0 };
	uint64_t passes = 0;
	bool done;

	if (!pl)
		die("out of memory");
	pipeline_open(pl, s);
	do {
		bool v = !passes;

		busy[M_OPENSSL_ENC] += pass_openssl(s, enc, true, v);
		busy[M_TX_ENGINE] += pass_tx_engine(s, v);
		busy[M_TX_PIPELINE] += pass_tx_pipeline(s, pl, v);
		busy[M_OPENSSL_DEC] += pass_openssl(s, dec, false, v);
		busy[M_RX_ENGINE] += pass_rx_engine(s, v);
		passes++;
		done = true;
		for (int m = 0; m < M_NR; m++)
			done &= busy[m] >= opt.secs;
	} while (!done);
	for (int m = 0; m < M_NR; m++)
		gbit[m] = (double)passes * s->nrec * s->rec_plain * 8 / busy[m] / 1e9;
	pipeline_close(pl);
	free(pl);
	EVP_CIPHER_CTX_free(enc);
	EVP_CIPHER_CTX_free(dec);
}

/* CTX_CREATE + CTX_DESTROY pairs per second, each answered OK. */
static double measure_ctx_rate(enum tls_rec_cipher cipher)
{
	struct tlsnic_ctx_create cc;
	struct dsim_port port;
	uint64_t pairs = 0;
	double t0, t;

	port_open(&port, NR_CTX);
	create_body(&cc, NULL, cipher);
	t0 = now();
	do {
		for (int i = 0; i < 256; i++) {
			uint32_t h;

			if (ctx_create(&port, &cc, &h) != TLSNIC_ST_OK ||
			    ctx_destroy(&port, h) != TLSNIC_ST_OK)
				die("context create/destroy failed");
		}
		pairs += 256;
		t = now() - t0;
	} while (t < opt.secs);
	if (port.cnt.ctx_created != pairs || port.cnt.ctx_destroyed != pairs)
		die("context counters disagree");
	dsim_port_fini(&port);
	return (double)pairs / t;
}

/* ---- Memory per context, in a child for a clean RSS ------------------ */

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
		die("cannot read /proc/self/statm");
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

struct mem_result {
	double rss_per_ctx;
	double heap_per_ctx;
	double rx_heap_per_ctx;
};

static void mem_child(enum tls_rec_cipher cipher, struct mem_result *m)
{
	struct tlsnic_ctx_create cc;
	struct tls_rx_params rp = { .cipher = cipher, .tcp_seq = ISN };
	struct tls_rx_ctx **rx;
	struct dsim_port port;
	long rss0;
	size_t heap0;
	uint32_t h;

	/* Warm OpenSSL's lazy state so it is not counted per context. */
	port_open(&port, 1);
	create_body(&cc, NULL, cipher);
	if (ctx_create(&port, &cc, &h) != TLSNIC_ST_OK)
		die("CTX_CREATE failed");
	dsim_port_fini(&port);

	rss0 = rss_bytes();
	heap0 = heap_bytes();
	port_open(&port, NR_CTX);
	for (unsigned int i = 0; i < NR_CTX; i++)
		if (ctx_create(&port, &cc, &h) != TLSNIC_ST_OK)
			die("CTX_CREATE %u of %u failed", i + 1, NR_CTX);
	if (ctx_create(&port, &cc, &h) != TLSNIC_ST_NO_SPACE)
		die("context %u was not refused NO_SPACE", NR_CTX + 1);
	if (port.cnt.ctx_active != NR_CTX)
		die("%llu contexts active, not %u",
		    (unsigned long long)port.cnt.ctx_active, NR_CTX);
	m->rss_per_ctx = (double)(rss_bytes() - rss0) / NR_CTX;
	m->heap_per_ctx = (double)(heap_bytes() - heap0) / NR_CTX;
	dsim_port_fini(&port);

	/* The RX engine's state, as a port would hold it per RX context. */
	memset(rp.key, 0x42, sizeof(rp.key));
	rx = calloc(NR_CTX, sizeof(*rx));
	if (!rx)
		die("out of memory");
	heap0 = heap_bytes();
	for (unsigned int i = 0; i < NR_CTX; i++) {
		rx[i] = malloc(sizeof(*rx[i]));
		if (!rx[i] || tls_rx_init(rx[i], &rp))
			die("tls_rx_init %u failed", i);
	}
	m->rx_heap_per_ctx = (double)(heap_bytes() - heap0) / NR_CTX;
	for (unsigned int i = 0; i < NR_CTX; i++) {
		tls_rx_destroy(rx[i]);
		free(rx[i]);
	}
	free(rx);
}

static void measure_mem(enum tls_rec_cipher cipher, struct mem_result *m)
{
	int fd[2], st;
	pid_t pid;

	fflush(NULL);
	if (pipe(fd))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		close(fd[0]);
		mem_child(cipher, m);
		if (write(fd[1], m, sizeof(*m)) != sizeof(*m))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], m, sizeof(*m)) != sizeof(*m))
		die("memory measurement failed");
	close(fd[0]);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("memory measurement child failed");
}

/* ---- Results ---------------------------------------------------------- */

struct point {
	const char *metric;
	const char *cipher;
	size_t rec;
	const char *unit;
	const char *ref;	/* metric it is a ratio to, or NULL */
	int n;
	double v[MAX_REPS];
	double ratio[MAX_REPS];
};

static struct point points[64];
static unsigned int npoints;

static struct point *point(const char *metric, const char *cipher, size_t rec,
			   const char *unit, const char *ref)
{
	for (unsigned int i = 0; i < npoints; i++)
		if (!strcmp(points[i].metric, metric) && !strcmp(points[i].cipher, cipher) &&
		    points[i].rec == rec)
			return &points[i];
	if (npoints == ARRAY_SIZE(points))
		die("too many points");
	points[npoints] = (struct point){ .metric = metric, .cipher = cipher, .rec = rec,
					  .unit = unit, .ref = ref };
	return &points[npoints++];
}

static void add(const char *metric, const char *cipher, size_t rec, const char *unit,
		double v, const char *ref, double ref_v)
{
	struct point *p = point(metric, cipher, rec, unit, ref);

	if (!isfinite(v) || v <= 0)
		die("%s %s %zu: measured %g", metric, cipher, rec, v);
	p->v[p->n] = v;
	p->ratio[p->n] = ref ? v / ref_v : 0;
	p->n++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double med, min, max;
};

static struct stats stats(const double *v, int n)
{
	double s[MAX_REPS];

	memcpy(s, v, sizeof(*v) * n);
	qsort(s, n, sizeof(*s), cmp_double);
	return (struct stats){
		.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2,
		.min = s[0], .max = s[n - 1],
	};
}

static FILE *out_file(const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", opt.out, name);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	return f;
}

static void out_close(FILE *f)
{
	if (ferror(f) || fclose(f))
		die("write error");
}

static char cpu_model[256] = "unknown";

static void read_cpu_model(void)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(cpu_model, sizeof(cpu_model), "%s", c + 2);
			cpu_model[strcspn(cpu_model, "\n\"\\")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}

static void write_results(double loadavg)
{
	FILE *csv = out_file("device.csv"), *raw = out_file("device-samples.csv");
	FILE *js = out_file("device.json"), *txt = out_file("device.txt");

	fprintf(csv, "metric,cipher,record_bytes,unit,median,min,max,reps,"
		"reference,ratio_median,ratio_min,ratio_max\n");
	fprintf(raw, "metric,cipher,record_bytes,rep,value,unit,reference,ratio\n");
	fprintf(js, "{\n  \"tool\": \"devsim-bench\",\n  \"quick\": %s,\n"
		"  \"machine\": {\"cpu_model\": \"%s\", \"online_cpus\": %ld, "
		"\"pinned_cpu\": %d, \"loadavg_1min_at_start\": %.2f, \"openssl\": \"%s\"},\n"
		"  \"params\": {\"seconds_per_sample\": %g, \"reps\": %d, \"mss\": %d, "
		"\"engine_segment\": %zu, \"tso_segments\": %d, \"contexts\": %d},\n  \"results\": [\n",
		opt.quick ? "true" : "false", cpu_model, sysconf(_SC_NPROCESSORS_ONLN),
		opt.cpu, loadavg, OpenSSL_version(OPENSSL_VERSION), opt.secs, opt.reps,
		MSS, opt.seg, TSO_SEGS, NR_CTX);
	for (unsigned int i = 0; i < npoints; i++) {
		const struct point *p = &points[i];
		struct stats s = stats(p->v, p->n), r = { 0 };

		if (p->ref)
			r = stats(p->ratio, p->n);
		fprintf(csv, "%s,%s,%zu,%s,%.6g,%.6g,%.6g,%d,", p->metric, p->cipher,
			p->rec, p->unit, s.med, s.min, s.max, p->n);
		if (p->ref)
			fprintf(csv, "%s,%.4f,%.4f,%.4f\n", p->ref, r.med, r.min, r.max);
		else
			fprintf(csv, ",,,\n");
		for (int k = 0; k < p->n; k++) {
			fprintf(raw, "%s,%s,%zu,%d,%.6g,%s,%s,", p->metric, p->cipher,
				p->rec, k + 1, p->v[k], p->unit, p->ref ? p->ref : "");
			if (p->ref)
				fprintf(raw, "%.4f\n", p->ratio[k]);
			else
				fprintf(raw, "\n");
		}
		fprintf(js, "    {\"metric\": \"%s\", \"cipher\": \"%s\", \"record_bytes\": %zu, "
			"\"unit\": \"%s\", \"median\": %.6g, \"min\": %.6g, \"max\": %.6g, "
			"\"samples\": [", p->metric, p->cipher, p->rec, p->unit, s.med, s.min,
			s.max);
		for (int k = 0; k < p->n; k++)
			fprintf(js, "%s%.6g", k ? ", " : "", p->v[k]);
		fprintf(js, "]");
		if (p->ref)
			fprintf(js, ", \"reference\": \"%s\", \"ratio\": {\"median\": %.4f, "
				"\"min\": %.4f, \"max\": %.4f}", p->ref, r.med, r.min, r.max);
		else
			fprintf(js, ", \"reference\": null, \"ratio\": null");
		fprintf(js, "}%s\n", i + 1 < npoints ? "," : "");
	}
	fprintf(js, "  ]\n}\n");

	fprintf(txt, "devsim against OpenSSL on one core (CPU %d: %s), %d reps of %gs,\n"
		"median [min-max]; Gbit/s of record plaintext per CPU second of the bench "
		"thread;\nratio = engine / OpenSSL in the same repetition\n\n",
		opt.cpu, cpu_model, opt.reps, opt.secs);
	fprintf(txt, "%-11s %6s  %-22s %-22s %-20s %-22s\n", "cipher", "record",
		"tx_engine", "tx_pipeline", "openssl_enc", "tx_engine/openssl");
	for (unsigned int i = 0; i < npoints; i++) {
		const struct point *p = &points[i];

		if (strcmp(p->metric, "tx_engine"))
			continue;
		const struct point *pl = point("tx_pipeline", p->cipher, p->rec, "", NULL);
		const struct point *os = point("openssl_enc", p->cipher, p->rec, "", NULL);
		struct stats a = stats(p->v, p->n), b = stats(pl->v, pl->n);
		struct stats c = stats(os->v, os->n), r = stats(p->ratio, p->n);
		struct stats rp = stats(pl->ratio, pl->n);

		fprintf(txt, "%-11s %5zuK  %5.2f [%5.2f-%5.2f]    %5.2f [%5.2f-%5.2f] %4.2fx  "
			"%5.2f [%5.2f-%5.2f]    %4.2fx [%4.2f-%4.2f]\n", p->cipher, p->rec / 1024,
			a.med, a.min, a.max, b.med, b.min, b.max, rp.med, c.med, c.min, c.max,
			r.med, r.min, r.max);
	}
	fprintf(txt, "\n%-11s %6s  %-22s %-20s %-22s\n", "cipher", "record", "rx_engine",
		"openssl_dec", "rx_engine/openssl");
	for (unsigned int i = 0; i < npoints; i++) {
		const struct point *p = &points[i];

		if (strcmp(p->metric, "rx_engine"))
			continue;
		const struct point *os = point("openssl_dec", p->cipher, p->rec, "", NULL);
		struct stats a = stats(p->v, p->n), c = stats(os->v, os->n);
		struct stats r = stats(p->ratio, p->n);

		fprintf(txt, "%-11s %5zuK  %5.2f [%5.2f-%5.2f]    %5.2f [%5.2f-%5.2f]    "
			"%4.2fx [%4.2f-%4.2f]\n", p->cipher, p->rec / 1024, a.med, a.min, a.max,
			c.med, c.min, c.max, r.med, r.min, r.max);
	}
	fprintf(txt, "\n%-11s  %-34s %-26s %-26s %-26s\n", "cipher",
		"ctx create+destroy /s", "bytes/TX ctx (RSS)", "bytes/TX ctx (heap)",
		"bytes/RX engine ctx (heap)");
	for (unsigned int c = 0; c < ARRAY_SIZE(ciphers); c++) {
		const char *cn = cipher_name(ciphers[c]);
		const struct point *cr = point("ctx_create_destroy", cn, 0, "", NULL);
		const struct point *mr = point("ctx_bytes_rss", cn, 0, "", NULL);
		const struct point *mh = point("ctx_bytes_heap", cn, 0, "", NULL);
		const struct point *rh = point("rx_ctx_bytes_heap", cn, 0, "", NULL);
		struct stats a = stats(cr->v, cr->n), b = stats(mr->v, mr->n);
		struct stats d = stats(mh->v, mh->n), e = stats(rh->v, rh->n);

		fprintf(txt, "%-11s  %8.0f [%8.0f-%8.0f]       %6.0f [%6.0f-%6.0f]   "
			"%6.0f [%6.0f-%6.0f]   %6.0f [%6.0f-%6.0f]\n", cn, a.med, a.min, a.max,
			b.med, b.min, b.max, d.med, d.min, d.max, e.med, e.min, e.max);
	}
	fprintf(txt, "\n%d live TX contexts per port (limit DSIM_MAX_CONTEXTS_LIMIT = %d); "
		"table slot %zu bytes.\n", NR_CTX, DSIM_MAX_CONTEXTS_LIMIT,
		sizeof(struct dsim_ctx) + sizeof(uint32_t));
	out_close(csv);
	out_close(raw);
	out_close(js);
	out_close(txt);
}

static void headlines(void)
{
	printf("devsim-bench headlines (medians, ratios from the same repetition):\n");
	for (unsigned int c = 0; c < ARRAY_SIZE(ciphers); c++) {
		const char *cn = cipher_name(ciphers[c]);
		static const char *const m[] = { "tx_engine", "rx_engine", "tx_pipeline" };

		for (unsigned int k = 0; k < ARRAY_SIZE(m); k++) {
			const struct point *p = point(m[k], cn, 16384, "", NULL);
			struct stats r = stats(p->ratio, p->n);

			printf("  %s %-11s 16 KiB: %.2fx OpenSSL [%.2f-%.2f] (target: engine >= 0.9x)\n",
			       cn, m[k], r.med, r.min, r.max);
		}
		const struct point *cr = point("ctx_create_destroy", cn, 0, "", NULL);
		const struct point *mr = point("ctx_bytes_rss", cn, 0, "", NULL);

		printf("  %s context create+destroy: %.0f /s (target >= 100000)\n", cn,
		       stats(cr->v, cr->n).med);
		printf("  %s memory: %.0f bytes per live TX context with %d live\n", cn,
		       stats(mr->v, mr->n).med, NR_CTX);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: devsim-bench --out DIR [--quick] [--reps N] [--seconds S] "
		"[--cpu N] [--segment BYTES]\n"
		"  --segment: bytes per engine call (default the MSS, %d)\n", MSS);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "segment", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	double loadavg = 0;
	cpu_set_t set;
	FILE *f;
	int o;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'o': opt.out = optarg; break;
		case 'q': opt.quick = true; opt.secs = 0.005; opt.reps = 3; break;
		case 'r': opt.reps = atoi(optarg); break;
		case 's': opt.secs = atof(optarg); break;
		case 'c': opt.cpu = atoi(optarg); break;
		case 'g': opt.seg = strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (!opt.out || optind != argc || opt.reps < 1 || opt.reps > MAX_REPS ||
	    !(opt.secs > 0) || opt.seg < 1 || opt.seg > TLS_RX_MAX_SEG)
		usage();
	if (mkdir(opt.out, 0755) && errno != EEXIST)
		die("cannot create %s: %s", opt.out, strerror(errno));
	/* One core: every measurement and its OpenSSL reference on the same. */
	if (opt.cpu < 0)
		opt.cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(opt.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("cannot pin to CPU %d: %s", opt.cpu, strerror(errno));
	read_cpu_model();
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &loadavg) != 1)
			loadavg = 0;
		fclose(f);
	}

	for (int rep = 0; rep < opt.reps; rep++) {
		for (unsigned int c = 0; c < ARRAY_SIZE(ciphers); c++) {
			const char *cn = cipher_name(ciphers[c]);
			struct mem_result m;

			for (unsigned int k = 0; k < ARRAY_SIZE(rec_sizes); k++) {
				struct bench_stream s;
				double g[M_NR];

				stream_make(&s, ciphers[c], rec_sizes[k]);
				measure_rates(&s, g);
				add("openssl_enc", cn, s.rec_plain, "Gbit/s", g[M_OPENSSL_ENC],
				    NULL, 0);
				add("openssl_dec", cn, s.rec_plain, "Gbit/s", g[M_OPENSSL_DEC],
				    NULL, 0);
				add("tx_engine", cn, s.rec_plain, "Gbit/s", g[M_TX_ENGINE],
				    "openssl_enc", g[M_OPENSSL_ENC]);
				add("rx_engine", cn, s.rec_plain, "Gbit/s", g[M_RX_ENGINE],
				    "openssl_dec", g[M_OPENSSL_DEC]);
				add("tx_pipeline", cn, s.rec_plain, "Gbit/s", g[M_TX_PIPELINE],
				    "openssl_enc", g[M_OPENSSL_ENC]);
				bench_stream_free(&s);
			}
			add("ctx_create_destroy", cn, 0, "per_s", measure_ctx_rate(ciphers[c]),
			    NULL, 0);
			measure_mem(ciphers[c], &m);
			add("ctx_bytes_rss", cn, 0, "bytes", m.rss_per_ctx, NULL, 0);
			add("ctx_bytes_heap", cn, 0, "bytes", m.heap_per_ctx, NULL, 0);
			add("rx_ctx_bytes_heap", cn, 0, "bytes", m.rx_heap_per_ctx, NULL, 0);
		}
		fprintf(stderr, "devsim-bench: repetition %d of %d done\n", rep + 1, opt.reps);
	}
	write_results(loadavg);
	headlines();
	return 0;
}
