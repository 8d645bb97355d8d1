// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-devsim: the simulated tlsnic device.
 *
 * Options, EAL start-up, signals, the data-path loop and counter output.
 * See the --help text for the command line; stdout carries only the ready
 * line and the final counters, everything else goes to stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#include "ctx.h"
#include "tls_dev.h"
#include "vhost.h"
#include "wire.h"
#include "wire_ctl.h"

#define MAX_PORTS		16

/*
 * The host has few cores and QEMU TCG needs them: after a run of empty
 * polls, sleep, doubling from 1 us up to IDLE_SLEEP_MAX_US, which bounds the
 * latency an idle device adds. With no guest connected nothing can arrive
 * on a ring, so the device naps longer.
 */
#define IDLE_SPIN_POLLS		256
#define IDLE_SLEEP_MAX_US	200
#define NO_GUEST_SLEEP_US	1000

struct options {
	const char *paths[MAX_PORTS];
	unsigned int nr_ports;
	uint32_t max_contexts;
	const char *stats_file;
	uint32_t cmd_delay_ms;
	const char *cmd_stall_file;
	struct dsim_wire_cfg wire;
	const char *pcap_file;
	const char *wire_control;
	bool tls_tx;
	bool tls_rx;
	double tls_tx_fail;
	bool verbose;
};

static volatile sig_atomic_t quit, stats_now;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_now = 1;
	else
		quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tlsnic-devsim --socket PATH [--socket PATH]... [options]\n"
		"  --socket PATH       vhost-user server socket of the next port; ports\n"
		"                      2k and 2k+1 are wired to each other\n"
		"  --max-contexts N    TLS contexts per port (default %u, max %u)\n"
		"  --stats-file FILE   rewrite FILE with the counters once a second,\n"
		"                      and at once on SIGUSR1\n"
		"  --cmd-delay-ms N    hold every reply to a context command back N ms\n"
		"                      (IDENTIFY is answered at once; cmd_delayed)\n"
		"  --cmd-stall-file PATH\n"
		"                      while PATH exists, take no command and send no\n"
		"                      reply or event; commands wait on the ring and are\n"
		"                      answered in order once PATH is removed (cmd_stalls)\n"
		"  --no-tls-tx         no TLS TX engine: TLS_TX not advertised, the\n"
		"                      driver keeps kTLS in software (by default the\n"
		"                      device offers every offload it has)\n"
		"  --tls-tx            ignored, for compatibility (TLS TX is on unless\n"
		"                      --no-tls-tx)\n"
		"  --no-tls-rx         no TLS RX engine: TLS_RX not advertised (v2\n"
		"                      drivers), RX contexts refused\n"
		"  --tls-tx-fail PCT   the TLS TX engine fails (drops, counts in\n"
		"                      tx_tls_drop_injected, reports) PCT %% of the TLS\n"
		"                      frames that arrive in order; seeded by --seed\n"
		"  --verbose           log vring and connection details\n"
		"  --help              this text\n"
		"The wire between two ports (after the sender's segmentation, encryption\n"
		"and checksums, before the receiver's RX processing); PCT is a percentage\n"
		"0..100 per frame, fractions allowed (0.5):\n"
		"  --loss PCT          drop frames (wire_lost)\n"
		"  --reorder PCT       hold frames back until %d later frames went by, or\n"
		"                      %llu us (wire_reordered: held frames overtaken)\n"
		"  --dup PCT           deliver frames twice (wire_duplicated)\n"
		"  --corrupt PCT       flip one bit of a frame's TCP/UDP payload, leaving\n"
		"                      the checksum wrong (wire_corrupted)\n"
		"  --corrupt-fix-csum  corrupt with a matching checksum (undetectable)\n"
		"  --tls-corrupt PCT   flip one bit of the TLS record that starts a TCP\n"
		"                      frame's payload (ciphertext or tag) and fix the\n"
		"                      TCP checksum, as an attacker on the path would:\n"
		"                      PCT %% of such frames (wire_tls_corrupted)\n"
		"  --seed N            fault stream seed (default 1); the same seed and\n"
		"                      frame sequence give the same faults\n"
		"  --pcap FILE         write every frame the wire delivers, after the\n"
		"                      faults, to FILE (pcap, Ethernet, microseconds),\n"
		"                      flushed every %llu ms and on exit (wire_captured)\n"
		"  --wire-control FILE read the wire's faults from FILE at start and\n"
		"                      whenever it changes (looked at once a second), in\n"
		"                      place of the options above but --seed; lines\n"
		"                      'loss|reorder|dup|corrupt|tls-corrupt PCT' and\n"
		"                      'corrupt-fix-csum 0|1', '#' comments; what the\n"
		"                      file does not name is 0. A version is applied\n"
		"                      whole to both directions (wire_config_changes) or,\n"
		"                      with a bad line, not at all (wire_control_errors,\n"
		"                      message); replace the file with rename(2)\n"
		"On SIGINT/SIGTERM: prints 'port<N>.<counter> <value>' lines, exits 0.\n",
		DSIM_MAX_CONTEXTS_DEFAULT, DSIM_MAX_CONTEXTS_LIMIT, DSIM_WIRE_REORDER_DEPTH,
		DSIM_WIRE_REORDER_MAX_NS / 1000, DSIM_PCAP_FLUSH_NS / 1000000);
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_pct(const char *opt, const char *arg, double *out)
{
	if (dsim_wire_parse_pct(arg, out)) {
		fprintf(stderr, "tlsnic-devsim: --%s wants a percentage 0..100 (e.g. 0.5), not '%s'\n",
			opt, arg);
		return -1;
	}
	return 0;
}

/* Command channel faults: a slow or hung device firmware. */
enum { OPT_CMD_DELAY_MS = 512, OPT_CMD_STALL_FILE };
/* Wire faults changed at run time. */
enum { OPT_WIRE_CONTROL = 768 };

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SOCKET = 256, OPT_MAX_CONTEXTS, OPT_STATS_FILE, OPT_TLS_TX, OPT_VERBOSE,
		OPT_HELP, OPT_LOSS, OPT_REORDER, OPT_DUP, OPT_CORRUPT, OPT_CORRUPT_FIX_CSUM,
		OPT_SEED, OPT_PCAP, OPT_NO_TLS_TX, OPT_TLS_TX_FAIL, OPT_NO_TLS_RX, OPT_TLS_CORRUPT
	};
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "max-contexts", required_argument, NULL, OPT_MAX_CONTEXTS },
		{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
		{ "cmd-delay-ms", required_argument, NULL, OPT_CMD_DELAY_MS },
		{ "cmd-stall-file", required_argument, NULL, OPT_CMD_STALL_FILE },
		{ "tls-tx", no_argument, NULL, OPT_TLS_TX },
		{ "no-tls-tx", no_argument, NULL, OPT_NO_TLS_TX },
		{ "tls-tx-fail", required_argument, NULL, OPT_TLS_TX_FAIL },
		{ "no-tls-rx", no_argument, NULL, OPT_NO_TLS_RX },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "loss", required_argument, NULL, OPT_LOSS },
		{ "reorder", required_argument, NULL, OPT_REORDER },
		{ "dup", required_argument, NULL, OPT_DUP },
		{ "corrupt", required_argument, NULL, OPT_CORRUPT },
		{ "corrupt-fix-csum", no_argument, NULL, OPT_CORRUPT_FIX_CSUM },
		{ "tls-corrupt", required_argument, NULL, OPT_TLS_CORRUPT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "pcap", required_argument, NULL, OPT_PCAP },
		{ "wire-control", required_argument, NULL, OPT_WIRE_CONTROL },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->max_contexts = DSIM_MAX_CONTEXTS_DEFAULT;
	o->wire.seed = 1;
	o->tls_tx = true;
	o->tls_rx = true;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET:
			if (o->nr_ports == MAX_PORTS) {
				fprintf(stderr, "tlsnic-devsim: at most %d ports\n", MAX_PORTS);
				return -1;
			}
			if (!optarg[0] || strlen(optarg) >= PATH_MAX) {
				fprintf(stderr, "tlsnic-devsim: bad socket path\n");
				return -1;
			}
			o->paths[o->nr_ports++] = optarg;
			break;
		case OPT_MAX_CONTEXTS:
			if (parse_u32(optarg, DSIM_MAX_CONTEXTS_LIMIT, &o->max_contexts)) {
				fprintf(stderr, "tlsnic-devsim: --max-contexts wants 0..%u\n",
					DSIM_MAX_CONTEXTS_LIMIT);
				return -1;
			}
			break;
		case OPT_STATS_FILE:
			o->stats_file = optarg;
			break;
		case OPT_CMD_DELAY_MS:
			if (parse_u32(optarg, 3600000, &o->cmd_delay_ms)) {
				fprintf(stderr, "tlsnic-devsim: --cmd-delay-ms wants 0..3600000\n");
				return -1;
			}
			break;
		case OPT_CMD_STALL_FILE:
			if (!optarg[0]) {
				fprintf(stderr, "tlsnic-devsim: --cmd-stall-file wants a path\n");
				return -1;
			}
			o->cmd_stall_file = optarg;
			break;
		case OPT_TLS_TX:
			/* Once needed to turn TLS TX on; on by default now. */
			break;
		case OPT_NO_TLS_TX:
			o->tls_tx = false;
			break;
		case OPT_NO_TLS_RX:
			o->tls_rx = false;
			break;
		case OPT_TLS_TX_FAIL:
			if (parse_pct("tls-tx-fail", optarg, &o->tls_tx_fail))
				return -1;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case OPT_LOSS:
			if (parse_pct("loss", optarg, &o->wire.loss))
				return -1;
			break;
		case OPT_REORDER:
			if (parse_pct("reorder", optarg, &o->wire.reorder))
				return -1;
			break;
		case OPT_DUP:
			if (parse_pct("dup", optarg, &o->wire.dup))
				return -1;
			break;
		case OPT_CORRUPT:
			if (parse_pct("corrupt", optarg, &o->wire.corrupt))
				return -1;
			break;
		case OPT_CORRUPT_FIX_CSUM:
			o->wire.corrupt_fix_csum = true;
			break;
		case OPT_TLS_CORRUPT:
			if (parse_pct("tls-corrupt", optarg, &o->wire.tls_corrupt))
				return -1;
			break;
		case OPT_SEED:
			if (parse_u64(optarg, &o->wire.seed)) {
				fprintf(stderr,
					"tlsnic-devsim: --seed wants an unsigned 64-bit integer, not '%s'\n",
					optarg);
				return -1;
			}
			break;
		case OPT_PCAP:
			if (!optarg[0]) {
				fprintf(stderr, "tlsnic-devsim: --pcap wants a file name\n");
				return -1;
			}
			o->pcap_file = optarg;
			break;
		case OPT_WIRE_CONTROL:
			if (!optarg[0]) {
				fprintf(stderr, "tlsnic-devsim: --wire-control wants a file name\n");
				return -1;
			}
			o->wire_control = optarg;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tlsnic-devsim: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->nr_ports) {
		usage(stderr);
		return -1;
	}
	/* After the loop: --seed may come after --tls-tx-fail. */
	return tls_dev_set_tx_fail(o->tls_tx_fail, o->wire.seed);
}

/*
 * One lcore that may run on any CPU we are allowed: pinning it would fight
 * QEMU for a core the scheduler could balance.
 */
static int build_lcores_arg(char *buf, size_t size)
{
	cpu_set_t set;
	size_t off;
	int cpu, n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	off = (size_t)snprintf(buf, size, "--lcores=0@(");
	for (cpu = 0; cpu < CPU_SETSIZE && off < size; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		n = snprintf(buf + off, size - off, "%s%d", buf[off - 1] == '(' ? "" : ",", cpu);
		off += (size_t)n;
	}
	if (off + 2 > size)
		return -ENOSPC;
	strcpy(buf + off, ")");
	return 0;
}

/*
 * With --no-huge, DPDK 22.11 forces the legacy memory model, which it refuses
 * to combine with --in-memory; --no-shconf gives the same independence
 * between instances (no shared config, no IPC socket) and a per-process
 * prefix keeps the runtime directories apart. Without --in-memory, -m sets
 * the memory (64 MB otherwise).
 */
static int eal_init(const char *prog, bool verbose, unsigned int nr_ports)
{
	static char lcores[4096], prefix[64], mem[32];
	char *eal_argv[] = {
		(char *)prog, lcores, "--no-huge", "--no-pci", "--no-shconf", prefix,
		"-m", mem, "--no-telemetry",
		verbose ? "--log-level=7" : "--log-level=4", NULL
	};
	int ret;

	snprintf(prefix, sizeof(prefix), "--file-prefix=tlsnic-devsim-%d", (int)getpid());
	/* Each port has its own mbuf pools (vhost.c). */
	snprintf(mem, sizeof(mem), "%u", vport_eal_mem_mb(nr_ports));
	ret = build_lcores_arg(lcores, sizeof(lcores));
	if (ret) {
		fprintf(stderr, "tlsnic-devsim: cannot read CPU affinity: %s\n", strerror(-ret));
		return ret;
	}
	/* EAL logs to stdout by default; stdout is for the ready line. */
	rte_openlog_stream(stderr);
	ret = rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv);
	if (ret < 0) {
		fprintf(stderr, "tlsnic-devsim: EAL init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* The runtime directory is per process (prefix): leave nothing behind. */
static void eal_cleanup(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(dir);
}

/* Writes the counters to a temporary file and renames it into place. */
static void write_stats_file(const char *path)
{
	char tmp[PATH_MAX];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return;
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "tlsnic-devsim: %s: %s\n", tmp, strerror(errno));
		return;
	}
	ok = vport_print_counters(f) == 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path)) {
		fprintf(stderr, "tlsnic-devsim: cannot write %s\n", path);
		unlink(tmp);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct dsim_wire_ctl wire_ctl;

/* A new version of the --wire-control file goes to the wire, or is refused. */
static void wire_control_poll(const struct options *o)
{
	struct dsim_wire_cfg cfg;
	char err[160];
	int ret;

	ret = dsim_wire_ctl_poll(&wire_ctl, &o->wire, &cfg, err, sizeof(err));
	if (ret == DSIM_WIRE_CTL_SAME)
		return;
	if (ret < 0) {
		fprintf(stderr, "tlsnic-devsim: %s: %s; wire unchanged (wire_control_errors)\n",
			o->wire_control, err);
		vport_wire_control_error();
		return;
	}
	vport_wire_set_faults(&cfg);
	fprintf(stderr,
		"tlsnic-devsim: %s: wire: loss %g%% reorder %g%% dup %g%% corrupt %g%%%s tls-corrupt %g%%\n",
		o->wire_control, cfg.loss, cfg.reorder, cfg.dup, cfg.corrupt,
		cfg.corrupt_fix_csum ? " (fixed checksums)" : "", cfg.tls_corrupt);
}

static void run(const struct options *o)
{
	uint64_t next_stats = now_ns() + 1000000000u;
	unsigned int idle = 0, sleep_us = 1;
	struct timespec ts;

	vport_thread_online();
	/* A control file there at start replaces the command line's rates. */
	if (o->wire_control) {
		dsim_wire_ctl_init(&wire_ctl, o->wire_control);
		wire_control_poll(o);
	}
	while (!quit) {
		if (vport_poll()) {
			idle = 0;
			sleep_us = 1;
		} else if (++idle >= IDLE_SPIN_POLLS) {
			ts.tv_sec = 0;
			ts.tv_nsec = (vport_any_running() ? sleep_us : NO_GUEST_SLEEP_US) * 1000L;
			nanosleep(&ts, NULL);
			if (sleep_us < IDLE_SLEEP_MAX_US)
				sleep_us = sleep_us * 2 < IDLE_SLEEP_MAX_US ?
					   sleep_us * 2 : IDLE_SLEEP_MAX_US;
		}
		/* The clock is cheap (vDSO) but not free: look every 1024 passes. */
		if ((o->stats_file || o->wire_control) &&
		    (stats_now || (!(idle & 1023) && now_ns() >= next_stats))) {
			stats_now = 0;
			/* Before the counters: they show what was applied. */
			if (o->wire_control)
				wire_control_poll(o);
			if (o->stats_file) {
				/* Counters of captured frames move when the file is written. */
				vport_capture_flush();
				write_stats_file(o->stats_file);
			}
			next_stats = now_ns() + 1000000000u;
		}
	}
	vport_thread_offline();
}

int main(int argc, char **argv)
{
	struct vport_config cfg;
	struct sigaction sa;
	struct options o;
	int ret;

	if (parse_options(argc, argv, &o))
		return 2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* A guest going away mid-write must not kill the device. */
	signal(SIGPIPE, SIG_IGN);
	/* Short idle sleeps are only short with a small timer slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL);

	if (eal_init(argv[0], o.verbose, o.nr_ports))
		return 1;

	cfg.paths = o.paths;
	cfg.nr_ports = o.nr_ports;
	cfg.max_contexts = o.max_contexts;
	cfg.cmd_delay_ms = o.cmd_delay_ms;
	cfg.cmd_stall_path = o.cmd_stall_file;
	cfg.tls_tx = o.tls_tx;
	cfg.tls_rx = o.tls_rx;
	cfg.verbose = o.verbose;
	cfg.wire = &o.wire;
	cfg.pcap_path = o.pcap_file;
	ret = vport_setup(&cfg);
	if (!ret)
		ret = vport_start();
	if (ret) {
		fprintf(stderr, "tlsnic-devsim: setup failed: %s\n", strerror(-ret));
		vport_stop();
		vport_free();
		eal_cleanup();
		return 1;
	}
	printf("tlsnic-devsim: ready\n");
	fflush(stdout);

	run(&o);

	vport_stop();
	if (o.stats_file)
		write_stats_file(o.stats_file);
	ret = vport_print_counters(stdout) ? 1 : 0;
	fflush(stdout);
	vport_free();
	eal_cleanup();
	return ret;
}
