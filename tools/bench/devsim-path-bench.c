// SPDX-License-Identifier: GPL-2.0
/*
 * devsim-path-bench: the whole devsim data path through virtio-user ports,
 * natively, against `openssl speed` on the same core.
 *
 *   devsim-path-bench --devsim BIN --out DIR [--cpu N] [--guest-cpu N]
 *                     [--mib N] [--reps N] [--quick] [--tso-payload BYTES]
 *
 * Starts tlsnic-devsim pinned to --cpu on two vhost-user sockets (one
 * wired pair) and plays both guests with DPDK's virtio-user PMD on
 * --guest-cpu: IDENTIFY (ABI v2), a TX context on port 0 and, for the
 * TX+RX mode, an RX context on port 1 for the same flow. Port 0's guest
 * posts TSO frames (44 x 1448 B of TLS records in the kernel's plaintext
 * form, TLS + TSO + CSUM metadata); the device copies them out of guest
 * memory, encrypts, segments, checksums, puts them on the wire, and port 1
 * verifies checksums, decrypts (TX+RX) and copies each segment into port
 * 1's guest RX ring. Every delivered byte is compared with what OpenSSL
 * says it must be (sealed records, or plaintext payloads between the
 * original headers and tags) and every segment's metadata checked, so a
 * broken path cannot look fast.
 *
 * Rate: Gbit/s of record plaintext per second of CPU time of devsim's data
 * thread (the devsim process's CPU clock; no other thread of it runs) from the first
 * frame posted to the last delivered. After each repetition `openssl
 * speed -evp CIPHER -bytes RECORD -seconds 1` runs pinned to the same
 * core; the ratio path / speed is taken within the repetition. The same
 * transfers are also rated per second of devsim's polls that did work
 * (path_*_work: dev.poll_work_ns of its stats file, rewritten on SIGUSR1),
 * without the empty polls and sleeps of a device waiting for its guests.
 * Writes
 * path.csv, path-samples.csv, path.json and path.txt to --out DIR, in
 * device.csv's columns (tlsnic-bench merges them into device.*).
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "bench-stream.h"
#include "tlsnic.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MSS		1448
#define TSO_SEGS	44
#define HDRS		(14 + 20 + 20)
#define ISN		0xfff00000U	/* sequence numbers wrap mid-run */
#define DATA_Q		0
#define CMD_Q		1
#define NB_DESC		256
#define BURST		32
#define MAX_REPS	20
#define WINDOW		24	/* TSO frames in flight: 1056 segments */
#define SPORT		40000
#define DPORT		443

static const size_t rec_sizes[] = { 1024, 4096, 16384 };
static const char *const cipher_names[] = { "aes-128-gcm", "aes-256-gcm" };
static const uint8_t saddr[4] = { 10, 77, 0, 1 }, daddr[4] = { 10, 77, 0, 2 };

static struct {
	const char *devsim, *out;
	int cpu, guest_cpu, reps;
	unsigned int mib;
	size_t tso_payload;	/* TCP payload bytes per TSO frame */
	bool quick;
} opt = { .cpu = -1, .guest_cpu = -1, .reps = 5, .mib = 256, .tso_payload = TSO_SEGS * MSS };
/* The largest IPv4 TSO frame: total length 65,535. */
#define TSO_PAYLOAD_MAX	(65535 - 20 - 20)

static char dir[] = "/tmp/devsim-path-bench.XXXXXX";
static char sock[2][128], stats[128];
static pid_t devsim_pid = -1;
static FILE *devsim_out;
static struct rte_mempool *pool, *big_pool;
static uint32_t next_tag = 1;

static void cleanup(void)
{
	if (devsim_pid > 0) {
		kill(devsim_pid, SIGKILL);
		waitpid(devsim_pid, NULL, 0);
		devsim_pid = -1;
	}
	unlink(sock[0]);
	unlink(sock[1]);
	unlink(stats);
	rmdir(dir);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "devsim-path-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cleanup();
	exit(1);
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * CPU time of the devsim process: its data thread (the main thread's poll
 * loop) is the only one that runs during a transfer; vhost-user's control
 * threads sleep. The process clock is exact, where schedstat is a tick old.
 */
static double devsim_cpu(void)
{
	struct timespec ts;
	clockid_t clk;

	if (clock_getcpuclockid(devsim_pid, &clk) || clock_gettime(clk, &ts))
		die("cannot read devsim's CPU clock");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A "dev.<name> <value>" line of devsim's stats file; -1 if not there. */
static long long stats_value(const char *name)
{
	char line[256], key[128];
	long long v, found = -1;
	FILE *f = fopen(stats, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "dev.%127s %lld", key, &v) == 2 && !strcmp(key, name))
			found = v;
	fclose(f);
	return found;
}

/*
 * Seconds devsim's data thread spent in polls that moved something
 * (dev.poll_work_ns): its CPU time without the empty polls it spins
 * through while it waits for the guests. SIGUSR1 makes devsim rewrite its
 * stats file at once; wait for the rewrite that follows the signal.
 */
static double devsim_work(void)
{
	long long seen = stats_value("counters_printed"), now, ns;
	double end = wall() + 5;

	if (kill(devsim_pid, SIGUSR1))
		die("cannot signal devsim: %s", strerror(errno));
	do {
		now = stats_value("counters_printed");
		ns = stats_value("poll_work_ns");
		if (now > seen && ns >= 0)
			return (double)ns / 1e9;
		usleep(100);
	} while (wall() < end);
	die("devsim did not rewrite %s on SIGUSR1", stats);
	return 0;
}

/* ---- The device and the guests ---------------------------------------- */

static void start_devsim(void)
{
	char line[256];
	int fds[2];

	if (!mkdtemp(dir) || pipe(fds))
		die("mkdtemp/pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		snprintf(sock[i], sizeof(sock[i]), "%s/p%d.sock", dir, i);
	snprintf(stats, sizeof(stats), "%s/stats", dir);
	devsim_pid = fork();
	if (devsim_pid < 0)
		die("fork: %s", strerror(errno));
	if (devsim_pid == 0) {
		cpu_set_t set;

		/* devsim's one lcore takes the CPUs it is allowed: this one. */
		CPU_ZERO(&set);
		CPU_SET(opt.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			_exit(126);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(opt.devsim, opt.devsim, "--socket", sock[0], "--socket", sock[1],
		      "--stats-file", stats, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	devsim_out = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), devsim_out))
		if (!strcmp(line, "tlsnic-devsim: ready\n"))
			return;
	die("%s did not start", opt.devsim);
}

static void setup_port(uint16_t port)
{
	struct rte_eth_conf conf;

	memset(&conf, 0, sizeof(conf));
	conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (rte_eth_dev_configure(port, 2, 2, &conf))
		die("port %u: configure", port);
	for (uint16_t q = 0; q < 2; q++)
		if (rte_eth_rx_queue_setup(port, q, NB_DESC, SOCKET_ID_ANY, NULL, pool) ||
		    rte_eth_tx_queue_setup(port, q, NB_DESC, SOCKET_ID_ANY, NULL))
			die("port %u: queue %u", port, q);
	if (rte_eth_dev_start(port))
		die("port %u: start", port);
}

/* One command on the command queue pair, one reply: returns its status. */
static int command(uint16_t port, uint8_t opcode, uint8_t version, const void *body,
		   uint32_t len, void *reply, uint32_t reply_len)
{
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC), .version = version, .opcode = opcode,
		.tag = htole32(next_tag), .len = htole32(len),
	};
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	double end = wall() + 2;
	uint8_t *p;
	int status = -1;

	if (!m || !(p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(sizeof(h) + len))))
		die("no mbuf for a command");
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), body, len);
	if (rte_eth_tx_burst(port, CMD_Q, &m, 1) != 1)
		die("port %u: command not queued", port);
	while (status == -1 && wall() < end) {
		if (rte_eth_rx_burst(port, CMD_Q, &m, 1) != 1)
			continue;
		p = rte_pktmbuf_mtod(m, uint8_t *);
		if (m->data_len >= sizeof(h)) {
			memcpy(&h, p, sizeof(h));
			if (le32toh(h.tag) == next_tag && h.opcode == (opcode | TLSNIC_OP_REPLY)) {
				status = le16toh(h.status);
				if (reply && le32toh(h.len) == reply_len &&
				    m->data_len >= sizeof(h) + reply_len)
					memcpy(reply, p + sizeof(h), reply_len);
				else if (reply && status == TLSNIC_ST_OK)
					status = -2;
			}
		}
		rte_pktmbuf_free(m);
	}
	next_tag++;
	return status;
}

/* IDENTIFY: header version 1, body the highest this bench speaks (2). */
static void identify(uint16_t port)
{
	struct tlsnic_identify_cmd cmd = { .abi_version = htole32(TLSNIC_ABI_VERSION) };
	struct tlsnic_identify id;
	uint32_t need = TLSNIC_CAP_TSO | TLSNIC_CAP_CSUM | TLSNIC_CAP_TLS_TX | TLSNIC_CAP_TLS_RX;

	if (command(port, TLSNIC_OP_IDENTIFY, TLSNIC_ABI_VERSION_MIN, &cmd, sizeof(cmd), &id,
		    sizeof(id)) != TLSNIC_ST_OK)
		die("port %u: IDENTIFY failed", port);
	if (le32toh(id.abi_version) != 2 || (le32toh(id.caps) & need) != need)
		die("port %u: ABI %u caps %#x: not a v2 device with TSO and TLS TX/RX", port,
		    le32toh(id.abi_version), le32toh(id.caps));
}

static uint32_t ctx_create(uint16_t port, uint8_t dir_, const struct bench_stream *s)
{
	struct tlsnic_ctx_create c;
	struct tlsnic_ctx_ref ref;

	memset(&c, 0, sizeof(c));
	c.dir = dir_;
	c.tls_version = TLSNIC_TLS_1_2;
	c.cipher = s->aes256 ? TLSNIC_CIPHER_AES_GCM_256 : TLSNIC_CIPHER_AES_GCM_128;
	c.family = 4;
	memcpy(c.key, s->key, s->aes256 ? 32 : 16);
	memcpy(c.salt, s->salt, 4);
	memcpy(c.iv, s->iv, 8);
	c.tcp_seq = htole32(ISN);
	memcpy(&c.saddr[0], saddr, 4);
	memcpy(&c.daddr[0], daddr, 4);
	c.sport = htobe16(SPORT);
	c.dport = htobe16(DPORT);
	if (command(port, TLSNIC_OP_CTX_CREATE, TLSNIC_ABI_VERSION, &c, sizeof(c), &ref,
		    sizeof(ref)) != TLSNIC_ST_OK)
		die("port %u: CTX_CREATE %s failed", port, dir_ == TLSNIC_DIR_TX ? "TX" : "RX");
	explicit_bzero(&c, sizeof(c));
	return le32toh(ref.handle);
}

static void ctx_destroy(uint16_t port, uint32_t handle)
{
	struct tlsnic_ctx_ref ref = { .handle = htole32(handle) };

	if (command(port, TLSNIC_OP_CTX_DESTROY, TLSNIC_ABI_VERSION, &ref, sizeof(ref),
		    NULL, 0) != TLSNIC_ST_OK)
		die("port %u: CTX_DESTROY failed", port);
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

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The guest TX buffer of the TSO frame at stream offset off. */
static struct rte_mbuf *tso_frame(const struct bench_stream *s, size_t off, uint32_t handle)
{
	size_t step = opt.tso_payload, pl = s->len - off < step ? s->len - off : step;
	struct tlsnic_tx_meta m = {
		.flags = htole16(TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO | TLSNIC_TX_F_TLS),
		.csum_start = htole16(14 + 20),
		.csum_offset = htole16(16),
		.mss = htole16(MSS),
		.gso_type = TLSNIC_GSO_TCPV4,
		.ctx_handle = htole32(handle),
	};
	struct rte_mbuf *mb = rte_pktmbuf_alloc(big_pool), *tail = NULL;
	size_t room = mb ? rte_pktmbuf_tailroom(mb) : 0, first;
	uint8_t *f;

	if (!mb)
		return NULL;
	/* Past one mbuf (--tso-payload): the rest of the payload in a second. */
	first = sizeof(m) + HDRS + pl <= room ? pl : room - sizeof(m) - HDRS;
	if (first < pl) {
		tail = rte_pktmbuf_alloc(big_pool);
		if (!tail) {
			rte_pktmbuf_free(mb);
			return NULL;
		}
		memcpy(rte_pktmbuf_append(tail, (uint16_t)(pl - first)), s->plain + off + first,
		       pl - first);
	}
	f = (uint8_t *)rte_pktmbuf_append(mb, (uint16_t)(sizeof(m) + HDRS + first));
	if (!f)
		die("TSO frame does not fit an mbuf");
	memcpy(f, &m, sizeof(m));
	f += sizeof(m);
	memset(f, 0, HDRS);
	memcpy(f, "\x52\x54\x00\x74\x6c\x01\x52\x54\x00\x74\x6c\x00\x08\x00", 14);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(20 + 20 + pl));
	put16(f + 20, 0x4000);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, saddr, 4);
	memcpy(f + 30, daddr, 4);
	put16(f + 34, SPORT);
	put16(f + 36, DPORT);
	put32(f + 38, ISN + (uint32_t)off);
	f[46] = 5 << 4;
	f[47] = 0x18;
	put16(f + 48, 65535);
	memcpy(f + HDRS, s->plain + off, first);
	if (tail && rte_pktmbuf_chain(mb, tail))
		die("cannot chain a TSO frame");
	return mb;
}

/*
 * Checks one delivered segment against the expected stream at or after
 * byte at (the wire keeps order; a segment can only be missing, when the
 * guest was kept off its CPU longer than the device's RX buffer lasts).
 * Returns the stream offset just past its payload.
 */
static size_t check_segment(struct rte_mbuf *m, const uint8_t *want, const uint8_t *wire,
			    size_t len, size_t at, bool rx_ctx, uint32_t rx_handle)
{
	uint8_t buf[2048];
	const uint8_t *p;
	struct tlsnic_rx_meta meta;
	uint32_t plen = rte_pktmbuf_pkt_len(m);
	uint16_t flags, want_flags = TLSNIC_RX_F_CSUM_OK;
	size_t pl, off;

	if (plen > sizeof(buf) || plen < sizeof(meta) + HDRS)
		die("delivered a %u-byte buffer", plen);
	p = rte_pktmbuf_read(m, 0, plen, buf);
	memcpy(&meta, p, sizeof(meta));
	p += sizeof(meta);
	pl = plen - sizeof(meta) - HDRS;
	off = get32(p + 38) - ISN;
	flags = le16toh(meta.flags);
	if (rx_ctx)
		want_flags |= TLSNIC_RX_F_TLS_DECRYPTED;
	if (off < at || off > len)
		die("segment with sequence %#x after stream byte %zu", get32(p + 38), at);
	/* After a gap RX is out of sequence: not decrypted, as it should be. */
	if (flags != want_flags && !(off > at && flags == TLSNIC_RX_F_CSUM_OK))
		die("segment at stream byte %zu: RX flags %#x, want %#x", off, flags,
		    want_flags);
	if (rx_ctx && flags == want_flags && le32toh(meta.ctx_handle) != rx_handle)
		die("segment at stream byte %zu: RX context %#x, want %#x", off,
		    le32toh(meta.ctx_handle), rx_handle);
	/* Not decrypted after a gap: the records as sealed. */
	if (flags != want_flags)
		want = wire;
	if (pl == 0 || pl > MSS || off + pl > len || memcmp(p + HDRS, want + off, pl))
		die("segment at stream byte %zu (%zu bytes): payload differs from %s", off, pl,
		    rx_ctx ? "the plaintext records" : "OpenSSL's records");
	return off + pl;
}

struct result {
	double gbit, gbit_work, cpu_s, work_s, wall_s;
	bool lost;
};

/*
 * Sends the whole stream port 0 -> port 1 and checks every byte delivered.
 * A transfer that lost segments is reported so, and measured again.
 */
static struct result transfer(const struct bench_stream *s, bool rx_ctx)
{
	uint32_t tx_handle = ctx_create(0, TLSNIC_DIR_TX, s);
	uint32_t rx_handle = rx_ctx ? ctx_create(1, TLSNIC_DIR_RX, s) : 0;
	const uint8_t *want = rx_ctx ? s->rx_out : s->wire;
	size_t step = opt.tso_payload, sent = 0, got = 0;
	struct rte_mbuf *pkts[BURST];
	double cpu0, work0, wall0, last_rx;
	struct result r = { .lost = false };

	work0 = devsim_work();
	cpu0 = devsim_cpu();
	wall0 = last_rx = wall();
	while (got < s->len) {
		unsigned int n = 0, i, done;

		/*
		 * At most WINDOW frames' segments in flight: fewer than the
		 * device's RX buffer holds, so a guest kept off its CPU
		 * (past devsim's RX_STALL_MS) cannot make it drop.
		 */
		while (sent + n * step < s->len && sent + n * step < got + WINDOW * step &&
		       n < BURST) {
			pkts[n] = tso_frame(s, sent + n * step, tx_handle);
			if (!pkts[n])
				break;
			n++;
		}
		done = n ? rte_eth_tx_burst(0, DATA_Q, pkts, (uint16_t)n) : 0;
		for (i = done; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
		sent += done * step;
		if (sent > s->len)
			sent = s->len;
		n = rte_eth_rx_burst(1, DATA_Q, pkts, BURST);
		for (i = 0; i < n; i++) {
			size_t end = check_segment(pkts[i], want, s->wire, s->len, got, rx_ctx, rx_handle);

			/* Short segments end a TSO frame or the stream. */
			r.lost |= end - got > MSS ||
				  (end - got < MSS && end != s->len && end % step);
			got = end;
			rte_pktmbuf_free(pkts[i]);
		}
		if (n) {
			last_rx = wall();
		} else if (wall() - last_rx > 2) {
			if (sent < s->len || !got)
				die("stalled: %zu of %zu bytes delivered", got, s->len);
			r.lost = true;	/* the last segments */
			break;
		}
	}
	r.cpu_s = devsim_cpu() - cpu0;
	r.wall_s = wall() - wall0;
	r.work_s = devsim_work() - work0;
	r.gbit = (double)s->nrec * (double)s->rec_plain * 8 / r.cpu_s / 1e9;
	r.gbit_work = (double)s->nrec * (double)s->rec_plain * 8 / r.work_s / 1e9;
	/* Nothing may come back on port 0's data queue. */
	if (rte_eth_rx_burst(0, DATA_Q, pkts, BURST))
		die("frames came back on port 0");
	if (rx_ctx)
		ctx_destroy(1, rx_handle);
	ctx_destroy(0, tx_handle);
	return r;
}

/* `openssl speed -evp` on devsim's core, in Gbit/s. */
static double openssl_speed(const char *cipher, size_t bytes)
{
	char nbytes[16], line[512];
	double kb = -1;
	int fds[2], status;
	pid_t pid;
	FILE *f;

	snprintf(nbytes, sizeof(nbytes), "%zu", bytes);
	if (pipe(fds))
		die("pipe");
	pid = fork();
	if (pid == 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(opt.cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		execlp("openssl", "openssl", "speed", "-evp", cipher, "-bytes", nbytes,
		       "-seconds", "1", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), f)) {
		double v;
		char name[32];

		if (sscanf(line, "%31s %lfk", name, &v) == 2 && !strncasecmp(name, "AES-", 4))
			kb = v;
	}
	fclose(f);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("openssl speed -evp %s -bytes %s failed", cipher, nbytes);
	if (kb <= 0)
		die("no rate in the output of openssl speed -evp %s", cipher);
	return kb * 1000 * 8 / 1e9;
}

/* ---- Results ---------------------------------------------------------- */

/* path_*_work: the same transfers per second of polls that did work. */
enum { M_TX, M_TXRX, M_TX_WORK, M_TXRX_WORK, M_SPEED, NR_METRICS };
static const char *const metric_names[] = { "path_tx", "path_txrx", "path_tx_work",
					    "path_txrx_work", "openssl_speed" };
#define NR_PATH		M_SPEED		/* metrics with a ratio to openssl speed */

struct point {
	double v[NR_METRICS][MAX_REPS];
	double cpu[2][MAX_REPS], work[2][MAX_REPS], wallt[2][MAX_REPS];
};

static struct point points[2][ARRAY_SIZE(rec_sizes)];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double med, min, max;
};

static struct stat3 stat3(const double *v, int n)
{
	double t[MAX_REPS];

	memcpy(t, v, sizeof(*v) * (size_t)n);
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	return (struct stat3){ n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2, t[0],
			       t[n - 1] };
}

static FILE *out_file(const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", opt.out, name);
	f = fopen(path, "w");
	if (!f)
		die("%s: %s", path, strerror(errno));
	return f;
}

static void write_results(void)
{
	FILE *csv = out_file("path.csv"), *smp = out_file("path-samples.csv");
	FILE *js = out_file("path.json"), *txt = out_file("path.txt");
	const char *sep = "";
	int n = opt.reps;

	fprintf(csv, "metric,cipher,record_bytes,unit,median,min,max,reps,reference,"
		"ratio_median,ratio_min,ratio_max\n");
	fprintf(smp, "metric,cipher,record_bytes,rep,value,unit,reference,ratio\n");
	fprintf(js, "{\"params\": {\"mib\": %u, \"reps\": %d, \"devsim_cpu\": %d, "
		"\"guest_cpu\": %d, \"mss\": %d, \"tso_segments\": %zu, \"tso_payload\": %zu},\n"
		" \"results\": [\n", opt.mib, n, opt.cpu, opt.guest_cpu, MSS,
		(opt.tso_payload + MSS - 1) / MSS, opt.tso_payload);
	fprintf(txt, "\nWhole data path through virtio-user ports (devsim on CPU %d, guests on "
		"CPU %d; %u MiB per point, %d reps),\nGbit/s of record plaintext per CPU second "
		"of devsim's data thread; ratio to openssl speed -evp at the record size\n"
		"%-11s %6s  %22s  %18s  %22s  %18s  %20s\n", opt.cpu, opt.guest_cpu, opt.mib, n,
		"cipher", "record", "TX only", "ratio", "TX+RX", "ratio", "openssl speed");
	for (int c = 0; c < 2; c++)
		for (size_t r = 0; r < ARRAY_SIZE(rec_sizes); r++) {
			struct point *p = &points[c][r];
			struct stat3 st[NR_METRICS], rt[NR_PATH];
			double ratio[NR_PATH][MAX_REPS];

			for (int m = 0; m < NR_METRICS; m++)
				st[m] = stat3(p->v[m], n);
			for (int m = 0; m < NR_PATH; m++) {
				for (int i = 0; i < n; i++)
					ratio[m][i] = p->v[m][i] / p->v[M_SPEED][i];
				rt[m] = stat3(ratio[m], n);
			}
			for (int m = 0; m < NR_METRICS; m++) {
				bool ref = m != M_SPEED;

				fprintf(csv, "%s,%s,%zu,Gbit/s,%.4f,%.4f,%.4f,%d,%s,", metric_names[m],
					cipher_names[c], rec_sizes[r], st[m].med, st[m].min,
					st[m].max, n, ref ? "openssl_speed" : "");
				if (ref)
					fprintf(csv, "%.4f,%.4f,%.4f\n", rt[m].med, rt[m].min,
						rt[m].max);
				else
					fprintf(csv, ",,\n");
				fprintf(js, "%s  {\"metric\": \"%s\", \"cipher\": \"%s\", "
					"\"record_bytes\": %zu, \"unit\": \"Gbit/s\", \"median\": "
					"%.4f, \"min\": %.4f, \"max\": %.4f, \"samples\": [", sep,
					metric_names[m], cipher_names[c], rec_sizes[r], st[m].med,
					st[m].min, st[m].max);
				sep = ",\n";
				for (int i = 0; i < n; i++) {
					fprintf(smp, "%s,%s,%zu,%d,%.4f,Gbit/s,%s,", metric_names[m],
						cipher_names[c], rec_sizes[r], i + 1, p->v[m][i],
						ref ? "openssl_speed" : "");
					if (ref)
						fprintf(smp, "%.4f\n", ratio[m][i]);
					else
						fprintf(smp, "\n");
					fprintf(js, "%s%.4f", i ? ", " : "", p->v[m][i]);
				}
				fprintf(js, "]");
				if (ref) {
					fprintf(js, ", \"reference\": \"openssl_speed\", \"ratio\": "
						"{\"median\": %.4f, \"min\": %.4f, \"max\": %.4f}, "
						"\"devsim_cpu_s\": [", rt[m].med, rt[m].min, rt[m].max);
					for (int i = 0; i < n; i++)
						fprintf(js, "%s%.4f", i ? ", " : "", p->cpu[m % 2][i]);
					fprintf(js, "], \"devsim_work_s\": [");
					for (int i = 0; i < n; i++)
						fprintf(js, "%s%.4f", i ? ", " : "", p->work[m % 2][i]);
					fprintf(js, "], \"wall_s\": [");
					for (int i = 0; i < n; i++)
						fprintf(js, "%s%.4f", i ? ", " : "", p->wallt[m % 2][i]);
					fprintf(js, "]}");
				} else {
					fprintf(js, ", \"reference\": null, \"ratio\": null}");
				}
			}
			fprintf(txt, "%-11s %5zuK  %6.2f [%6.2f-%6.2f]  %5.2fx [%4.2f-%4.2f]  "
				"%6.2f [%6.2f-%6.2f]  %5.2fx [%4.2f-%4.2f]  %6.2f [%5.2f-%5.2f]\n",
				cipher_names[c], rec_sizes[r] / 1024, st[M_TX].med, st[M_TX].min,
				st[M_TX].max, rt[0].med, rt[0].min, rt[0].max, st[M_TXRX].med,
				st[M_TXRX].min, st[M_TXRX].max, rt[1].med, rt[1].min, rt[1].max,
				st[M_SPEED].med, st[M_SPEED].min, st[M_SPEED].max);
		}
	fprintf(txt, "\nThe same transfers per second of devsim's polls that did work (without "
		"the empty polls\nit spins through and the sleeps while it waits for the guests)\n"
		"%-11s %6s  %22s  %18s  %22s  %18s\n", "cipher", "record", "TX only", "ratio",
		"TX+RX", "ratio");
	for (int c = 0; c < 2; c++)
		for (size_t r = 0; r < ARRAY_SIZE(rec_sizes); r++) {
			struct point *p = &points[c][r];
			struct stat3 st[2], rt[2];
			double ratio[2][MAX_REPS];

			for (int m = 0; m < 2; m++) {
				st[m] = stat3(p->v[M_TX_WORK + m], n);
				for (int i = 0; i < n; i++)
					ratio[m][i] = p->v[M_TX_WORK + m][i] / p->v[M_SPEED][i];
				rt[m] = stat3(ratio[m], n);
			}
			fprintf(txt, "%-11s %5zuK  %6.2f [%6.2f-%6.2f]  %5.2fx [%4.2f-%4.2f]  "
				"%6.2f [%6.2f-%6.2f]  %5.2fx [%4.2f-%4.2f]\n", cipher_names[c],
				rec_sizes[r] / 1024, st[0].med, st[0].min, st[0].max, rt[0].med,
				rt[0].min, rt[0].max, st[1].med, st[1].min, st[1].max, rt[1].med,
				rt[1].min, rt[1].max);
		}
	fprintf(js, "\n]}\n");
	fclose(csv);
	fclose(smp);
	fclose(js);
	fclose(txt);
}

static void usage(void)
{
	fprintf(stderr, "usage: devsim-path-bench --devsim BIN --out DIR [--cpu N] "
		"[--guest-cpu N] [--mib N] [--reps N] [--quick] [--tso-payload BYTES]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "devsim", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "guest-cpu", required_argument, NULL, 'g' },
		{ "mib", required_argument, NULL, 'm' },
		{ "reps", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "tso-payload", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	char lcore[16], prefix[64], vdev[2][200], runtime_dir[256];
	char *eal_argv[] = { argv[0], "-l", lcore, "--no-huge", "--no-pci", "--no-shconf",
			     prefix, "-m", "512", "--no-telemetry", "--log-level=3",
			     "--vdev", vdev[0], "--vdev", vdev[1], NULL };
	bool reps_set = false, mib_set = false;
	cpu_set_t allowed;
	int o;

	while ((o = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (o) {
		case 'd': opt.devsim = optarg; break;
		case 'o': opt.out = optarg; break;
		case 'c': opt.cpu = atoi(optarg); break;
		case 'g': opt.guest_cpu = atoi(optarg); break;
		case 'm': opt.mib = (unsigned int)atoi(optarg); mib_set = true; break;
		case 'r': opt.reps = atoi(optarg); reps_set = true; break;
		case 'q': opt.quick = true; break;
		case 't': opt.tso_payload = (size_t)atol(optarg); break;
		default: usage();
		}
	}
	if (!opt.devsim || !opt.out || optind != argc)
		usage();
	if (opt.quick) {
		if (!mib_set)
			opt.mib = 32;
		if (!reps_set)
			opt.reps = 3;
	}
	if (opt.reps < 1 || opt.reps > MAX_REPS || opt.mib < 1 || opt.mib > 4096 ||
	    opt.tso_payload < MSS || opt.tso_payload > TSO_PAYLOAD_MAX)
		die("--reps 1..%d, --mib 1..4096, --tso-payload %d..%d", MAX_REPS, MSS,
		    TSO_PAYLOAD_MAX);
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		die("sched_getaffinity");
	if (opt.cpu < 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &allowed))
				opt.cpu = c;	/* the highest allowed */
	if (opt.guest_cpu < 0)
		for (int c = 0; c < CPU_SETSIZE && opt.guest_cpu < 0; c++)
			if (CPU_ISSET(c, &allowed) && c != opt.cpu)
				opt.guest_cpu = c;
	if (opt.guest_cpu < 0)
		opt.guest_cpu = opt.cpu;	/* one CPU: share it */

	/* virtio-user still talks to the sockets after devsim exits. */
	signal(SIGPIPE, SIG_IGN);
	start_devsim();
	snprintf(lcore, sizeof(lcore), "%d", opt.guest_cpu);
	snprintf(prefix, sizeof(prefix), "--file-prefix=devsim-path-bench-%d", (int)getpid());
	for (int i = 0; i < 2; i++)
		snprintf(vdev[i], sizeof(vdev[i]), "net_virtio_user%d,path=%s,queues=2", i,
			 sock[i]);
	rte_openlog_stream(stderr);
	if (rte_eal_init((int)ARRAY_SIZE(eal_argv) - 1, eal_argv) < 0)
		die("EAL init failed");
	/* Frames in flight: a TX ring of 64 KiB frames, RX rings of segments. */
	pool = rte_pktmbuf_pool_create("path", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	big_pool = rte_pktmbuf_pool_create("path_big", 511, 32, 0, UINT16_MAX, SOCKET_ID_ANY);
	if (!pool || !big_pool || rte_eth_dev_count_avail() != 2)
		die("cannot set up the virtio-user ports");
	setup_port(0);
	setup_port(1);
	identify(0);
	identify(1);

	for (int c = 0; c < 2; c++)
		for (size_t r = 0; r < ARRAY_SIZE(rec_sizes); r++) {
			struct point *p = &points[c][r];
			struct bench_stream s;

			if (bench_stream_make(&s, c == 1, rec_sizes[r], (size_t)opt.mib << 20))
				die("cannot make %u MiB of records", opt.mib);
			for (int i = 0; i < opt.reps; i++) {
				for (int m = 0; m < 2; m++) {
					struct result res = transfer(&s, m == M_TXRX);
					int tries = 1;

					while (res.lost && tries++ < 5) {
						fprintf(stderr, "devsim-path-bench: segments lost "
							"(the guest was off its CPU): again\n");
						res = transfer(&s, m == M_TXRX);
					}
					if (res.lost)
						die("segments lost in 5 transfers in a row");

					p->v[m][i] = res.gbit;
					p->v[M_TX_WORK + m][i] = res.gbit_work;
					p->cpu[m][i] = res.cpu_s;
					p->work[m][i] = res.work_s;
					p->wallt[m][i] = res.wall_s;
				}
				p->v[M_SPEED][i] = openssl_speed(cipher_names[c], rec_sizes[r]);
				fprintf(stderr, "devsim-path-bench: %s %5zu B rep %d: TX %.2f "
					"(working %.2f), TX+RX %.2f (working %.2f), openssl speed "
					"%.2f Gbit/s\n", cipher_names[c], rec_sizes[r], i + 1,
					p->v[M_TX][i], p->v[M_TX_WORK][i], p->v[M_TXRX][i],
					p->v[M_TXRX_WORK][i], p->v[M_SPEED][i]);
			}
			bench_stream_free(&s);
		}
	write_results();

	for (uint16_t i = 0; i < 2; i++) {
		rte_eth_dev_stop(i);
		rte_eth_dev_close(i);
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(runtime_dir);
	cleanup();
	return 0;
}
