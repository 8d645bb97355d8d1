// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_e2e: end-to-end test of tlsnic-devsim without a VM.
 *
 *   vhost_e2e DEVSIM_BINARY
 *
 * Starts the device on two vhost-user sockets and plays both guests with
 * DPDK's virtio-user PMD (ports 0 and 1, two queue pairs each, like the
 * tlsnic driver): IDENTIFY and context commands on queue pair 1, frames with
 * tlsnic metadata on queue pair 0. What arrives on the other port is checked
 * with the naive reference checksum of devsim_test.h, and the device's own
 * counters (--stats-file, then its exit output) must agree. Prints KTAP.
 */
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "devsim_test.h"
#include "tlsnic.h"

#define NB_DESC		256
#define DATA_Q		0
#define CMD_Q		1

static char dir[] = "/tmp/vhost_e2e.XXXXXX";
static char sock[2][128], stats_path[128];
static pid_t devsim_pid = -1;
static FILE *devsim_out;
static struct rte_mempool *pool, *big_pool;
static uint32_t next_tag = 1;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Starts devsim and waits for its ready line. */
static int start_devsim(const char *bin)
{
	char line[256];
	int fds[2];

	if (!mkdtemp(dir) || pipe(fds))
		return -1;
	snprintf(sock[0], sizeof(sock[0]), "%s/p0.sock", dir);
	snprintf(sock[1], sizeof(sock[1]), "%s/p1.sock", dir);
	snprintf(stats_path, sizeof(stats_path), "%s/stats", dir);
	devsim_pid = fork();
	if (devsim_pid < 0)
		return -1;
	if (devsim_pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, "--socket", sock[0], "--socket", sock[1], "--max-contexts", "4",
		      "--stats-file", stats_path, (char *)NULL);
		perror(bin);
		_exit(127);
	}
	close(fds[1]);
	devsim_out = fdopen(fds[0], "r");
	while (fgets(line, sizeof(line), devsim_out))
		if (!strcmp(line, "tlsnic-devsim: ready\n"))
			return 0;
	return -1;
}

/* Reads counter "port<N>.<name>" from the stats file devsim rewrites. */
static long long stat_value(unsigned int port, const char *name)
{
	char key[128], line[256];
	long long v = -1;
	FILE *f;

	snprintf(key, sizeof(key), "port%u.%s ", port, name);
	f = fopen(stats_path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atoll(line + strlen(key));
	fclose(f);
	return v;
}

/* Waits until the stats file shows the counter at want (up to 3 s). */
static bool stat_reaches(unsigned int port, const char *name, long long want)
{
	uint64_t end = now_ms() + 3000;
	long long v;

	do {
		v = stat_value(port, name);
		if (v == want)
			return true;
		usleep(100000);
	} while (now_ms() < end);
	printf("# port%u.%s is %lld, want %lld\n", port, name, v, want);
	return false;
}

static int setup_port(uint16_t port)
{
	struct rte_eth_conf conf;
	uint16_t q;

	memset(&conf, 0, sizeof(conf));
	conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (rte_eth_dev_configure(port, 2, 2, &conf))
		return -1;
	for (q = 0; q < 2; q++)
		if (rte_eth_rx_queue_setup(port, q, NB_DESC, SOCKET_ID_ANY, NULL, pool) ||
		    rte_eth_tx_queue_setup(port, q, NB_DESC, SOCKET_ID_ANY, NULL))
			return -1;
	return rte_eth_dev_start(port);
}

static bool send_buf(uint16_t port, uint16_t q, const void *data, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(len > 2000 ? big_pool : pool);
	char *p;

	CHECK(m, "no mbuf");
	p = rte_pktmbuf_append(m, (uint16_t)len);
	CHECK(p, "mbuf too small for %zu", len);
	memcpy(p, data, len);
	CHECK(rte_eth_tx_burst(port, q, &m, 1) == 1, "tx_burst refused");
	return true;
}

/* Receives up to max buffers within ms milliseconds, flattened. */
static unsigned int recv_bufs(uint16_t port, uint16_t q, uint8_t **bufs, size_t *lens,
			      unsigned int max, unsigned int ms)
{
	uint64_t end = now_ms() + ms;
	unsigned int n = 0, i, got;
	struct rte_mbuf *pkts[32];

	while (n < max && now_ms() < end) {
		got = rte_eth_rx_burst(port, q, pkts, 32);
		for (i = 0; i < got; i++) {
			uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);

			if (n < max) {
				bufs[n] = malloc(len ? len : 1);
				memcpy(bufs[n], rte_pktmbuf_read(pkts[i], 0, len, bufs[n]), len);
				lens[n++] = len;
			}
			rte_pktmbuf_free(pkts[i]);
		}
		if (!got)
			usleep(200);
	}
	return n;
}

static void free_bufs(uint8_t **bufs, unsigned int n)
{
	while (n--)
		free(bufs[n]);
}

/* One command, one reply: returns the reply status, body copied out. */
static int command(uint16_t port, uint8_t opcode, const void *body, uint32_t len,
		   void *reply_body, uint32_t reply_len)
{
	uint8_t msg[256], *bufs[4];
	struct tlsnic_msg_hdr h = {
		.magic = htole32(TLSNIC_ABI_MAGIC),
		.version = TLSNIC_ABI_VERSION,
		.opcode = opcode,
		.tag = htole32(next_tag),
		.len = htole32(len),
	};
	size_t lens[4];
	unsigned int n;
	int status = -1;

	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), body, len);
	if (!send_buf(port, CMD_Q, msg, sizeof(h) + len))
		return -1;
	n = recv_bufs(port, CMD_Q, bufs, lens, 1, 1000);
	if (n == 1 && lens[0] >= sizeof(h)) {
		memcpy(&h, bufs[0], sizeof(h));
		if (le32toh(h.tag) == next_tag && h.opcode == (opcode | TLSNIC_OP_REPLY) &&
		    le32toh(h.len) == lens[0] - sizeof(h)) {
			status = le16toh(h.status);
			if (reply_body && le32toh(h.len) == reply_len)
				memcpy(reply_body, bufs[0] + sizeof(h), reply_len);
			else if (reply_body && status == TLSNIC_ST_OK)
				status = -2;
		}
	}
	free_bufs(bufs, n);
	next_tag++;
	return status;
}

static bool identify(void)
{
	struct tlsnic_identify_cmd cmd = { .abi_version = htole32(1) };
	struct tlsnic_identify id;
	uint16_t port;

	for (port = 0; port < 2; port++) {
		CHECK(command(port, TLSNIC_OP_IDENTIFY, &cmd, sizeof(cmd), &id, sizeof(id)) ==
		      TLSNIC_ST_OK, "port %u: no IDENTIFY reply", port);
		CHECK(le16toh(id.port) == port && le32toh(id.max_contexts) == 4 &&
		      (le32toh(id.caps) & TLSNIC_CAP_TSO), "port %u: identify body", port);
	}
	return stat_reaches(0, "cmd_identify", 1) && stat_reaches(1, "cmd_replies", 1);
}

static bool contexts(void)
{
	struct tlsnic_ctx_create c;
	struct tlsnic_ctx_ref ref[5];
	int i;

	memset(&c, 0, sizeof(c));
	c.dir = TLSNIC_DIR_TX;
	c.cipher = TLSNIC_CIPHER_AES_GCM_128;
	c.family = 4;
	for (i = 0; i < 4; i++)
		CHECK(command(0, TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref[i], sizeof(ref[i])) ==
		      TLSNIC_ST_OK, "create %d", i);
	CHECK(command(0, TLSNIC_OP_CTX_CREATE, &c, sizeof(c), &ref[4], sizeof(ref[4])) ==
	      TLSNIC_ST_NO_SPACE, "fifth create");
	for (i = 0; i < 4; i++)
		CHECK(command(0, TLSNIC_OP_CTX_DESTROY, &ref[i], sizeof(ref[i]), NULL, 0) ==
		      TLSNIC_ST_OK, "destroy %d", i);
	CHECK(command(0, TLSNIC_OP_CTX_DESTROY, &ref[0], sizeof(ref[0]), NULL, 0) ==
	      TLSNIC_ST_BAD_HANDLE, "stale destroy");
	return stat_reaches(0, "ctx_created", 4) && stat_reaches(0, "ctx_active", 0);
}

static size_t with_meta(uint8_t *buf, uint16_t flags, uint16_t csum_start, uint16_t mss,
			uint8_t gso, const uint8_t *frame, size_t flen)
{
	struct tlsnic_tx_meta m;

	memset(&m, 0, sizeof(m));
	m.flags = htole16(flags);
	if (flags & TLSNIC_TX_F_CSUM) {
		m.csum_start = htole16(csum_start);
		m.csum_offset = htole16(16);
	}
	m.mss = htole16(mss);
	m.gso_type = gso;
	m.ctx_handle = htole32(TLSNIC_HANDLE_NONE);
	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), frame, flen);
	return sizeof(m) + flen;
}

/* A 40000-byte TSO frame in each direction, v4 and v6, reassembled. */
static bool tso_across_the_wire(void)
{
	static uint8_t payload[40000], frame[41000], txb[42000], got[40000];
	static uint8_t *bufs[64];
	size_t lens[64];
	int fam, from;

	test_fill_random(payload, sizeof(payload));
	for (fam = 4; fam <= 6; fam += 2)
		for (from = 0; from < 2; from++) {
			struct frame_spec s = { .family = fam, .proto = 6, .tcp_flags = 0x18,
						.seq = 1000, .payload = payload,
						.payload_len = sizeof(payload) };
			struct frame_layout l = build_frame(frame, &s);
			unsigned int n, i, want = (sizeof(payload) + 1447) / 1448;
			size_t off = 0, len;

			len = with_meta(txb, TLSNIC_TX_F_CSUM | TLSNIC_TX_F_TSO, (uint16_t)l.l4,
					1448, fam == 4 ? TLSNIC_GSO_TCPV4 : TLSNIC_GSO_TCPV6,
					frame, l.len);
			if (!send_buf((uint16_t)from, DATA_Q, txb, len))
				return false;
			n = recv_bufs((uint16_t)!from, DATA_Q, bufs, lens, 64, 2000);
			CHECK(n == want, "v%d from %d: %u segments, want %u", fam, from, n, want);
			for (i = 0; i < n; i++) {
				struct tlsnic_rx_meta meta;
				const uint8_t *f = bufs[i] + sizeof(meta);
				size_t flen = lens[i] - sizeof(meta);

				memcpy(&meta, bufs[i], sizeof(meta));
				CHECK(le16toh(meta.flags) == TLSNIC_RX_F_CSUM_OK, "seg %u flags", i);
				CHECK(ref_l4_ok(f, &l, fam, 6, flen - l.l4), "seg %u checksum", i);
				CHECK(ref_rd32(f + l.l4 + 4) == 1000 + off, "seg %u seq", i);
				CHECK(off + flen - l.payload <= sizeof(got), "too much data");
				memcpy(got + off, f + l.payload, flen - l.payload);
				off += flen - l.payload;
			}
			CHECK(off == sizeof(payload) && !memcmp(got, payload, off), "payload");
			free_bufs(bufs, n);
		}
	return stat_reaches(0, "tx_tso_frames", 2) && stat_reaches(1, "rx_csum_ok", 2 * 28);
}

/* A malformed request never reaches the wire and is counted. */
static bool bad_meta_dropped(void)
{
	uint8_t frame[200], txb[300], *bufs[1];
	struct frame_spec s = { .family = 4, .proto = 6, .payload_len = 0 };
	struct frame_layout l = build_frame(frame, &s);
	size_t len = with_meta(txb, TLSNIC_TX_F_CSUM | 0x40, (uint16_t)l.l4, 0, 0, frame, l.len);
	size_t lens[1];

	if (!send_buf(0, DATA_Q, txb, len))
		return false;
	CHECK(recv_bufs(1, DATA_Q, bufs, lens, 1, 300) == 0, "bad frame delivered");
	return stat_reaches(0, "drop_meta_flags", 1);
}

/* A plain frame (no offload) arrives untouched, without CSUM_OK. */
static bool plain_frame(void)
{
	uint8_t arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 1, 2, 3,
			    0x08, 0x06 }, txb[100], *bufs[1];
	size_t lens[1], len = with_meta(txb, 0, 0, 0, 0, arp, sizeof(arp));
	struct tlsnic_rx_meta meta;

	if (!send_buf(1, DATA_Q, txb, len))
		return false;
	CHECK(recv_bufs(0, DATA_Q, bufs, lens, 1, 1000) == 1, "not delivered");
	memcpy(&meta, bufs[0], sizeof(meta));
	CHECK(lens[0] == sizeof(meta) + sizeof(arp) && !memcmp(bufs[0] + sizeof(meta), arp,
	      sizeof(arp)) && meta.flags == 0, "modified");
	free_bufs(bufs, 1);
	return true;
}

/* SIGTERM: exit 0 with the counters on stdout. */
static bool clean_exit(void)
{
	char line[256];
	int status, lines = 0, seen = 0;

	kill(devsim_pid, SIGTERM);
	while (fgets(line, sizeof(line), devsim_out)) {
		lines++;
		seen += !strcmp(line, "port0.tx_tso_segments 56\n");
	}
	CHECK(waitpid(devsim_pid, &status, 0) == devsim_pid, "waitpid");
	devsim_pid = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	CHECK(lines > 50 && seen == 1, "%d counter lines, tso line %s", lines,
	      seen ? "seen" : "missing");
	return true;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = {
		{ "identify", identify },
		{ "contexts", contexts },
		{ "tso_across_the_wire", tso_across_the_wire },
		{ "bad_meta_dropped", bad_meta_dropped },
		{ "plain_frame", plain_frame },
		{ "clean_exit", clean_exit },
	};
	char vdev0[200], vdev1[200], prefix[64], runtime_dir[256];
	char *eal_argv[] = { argv[0], "-l", "0", "--no-huge", "--no-pci", "--no-shconf",
			     prefix, "--no-telemetry", "--log-level=3", "--vdev", vdev0,
			     "--vdev", vdev1, NULL };
	int ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: vhost_e2e DEVSIM_BINARY\n");
		return 2;
	}
	/* virtio-user still talks to the socket after devsim exits. */
	signal(SIGPIPE, SIG_IGN);
	if (start_devsim(argv[1])) {
		fprintf(stderr, "vhost_e2e: cannot start %s\n", argv[1]);
		goto out;
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=vhost_e2e-%d", (int)getpid());
	snprintf(vdev0, sizeof(vdev0), "net_virtio_user0,path=%s,queues=2", sock[0]);
	snprintf(vdev1, sizeof(vdev1), "net_virtio_user1,path=%s,queues=2", sock[1]);
	rte_openlog_stream(stderr);
	if (rte_eal_init((int)ARRAY_SIZE(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "vhost_e2e: EAL init failed\n");
		goto out;
	}
	pool = rte_pktmbuf_pool_create("e2e", 4095, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	big_pool = rte_pktmbuf_pool_create("e2e_big", 63, 0, 0, UINT16_MAX, SOCKET_ID_ANY);
	if (!pool || !big_pool || rte_eth_dev_count_avail() != 2 || setup_port(0) ||
	    setup_port(1)) {
		fprintf(stderr, "vhost_e2e: cannot set up the virtio-user ports\n");
		goto out_eal;
	}
	ret = run_tests(tests, ARRAY_SIZE(tests));
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eth_dev_close(0);
	rte_eth_dev_close(1);
out_eal:
	/* The per-process runtime directory would outlive us. */
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(runtime_dir);
out:
	if (devsim_pid > 0) {
		kill(devsim_pid, SIGKILL);
		waitpid(devsim_pid, NULL, 0);
	}
	unlink(stats_path);
	rmdir(dir);
	return ret;
}
