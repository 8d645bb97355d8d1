// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls - TLS client/server that moves data over Linux kernel TLS.
 *
 * The handshake is a real OpenSSL 3 handshake; afterwards the record layer
 * is handed to the kernel in one of three ways:
 *
 *   --ktls openssl     OpenSSL keys the socket itself (SSL_OP_ENABLE_KTLS);
 *                      data moves through SSL_write/SSL_read/SSL_sendfile.
 *   --ktls setsockopt  this program derives the traffic keys from the key log
 *                      (TLS1-PRF for TLS 1.2, HKDF-Expand-Label for TLS 1.3)
 *                      and sets TCP_ULP "tls" + SOL_TLS TLS_TX/TLS_RX itself,
 *                      with the record sequence numbers OpenSSL already used.
 *   --ktls none        plain SSL_read/SSL_write: the userspace oracle peer.
 *   --ktls plain       no TLS at all: plain TCP through the same code paths,
 *                      the baseline of tools/bench (both ends must say so).
 *
 * A connection carries one or more transfers per direction (--bytes LIST),
 * each framed as
 *   header  (24 bytes: "TLSNKTL1", be64 payload length, be32 index,
 *            be32 number of transfers this sender makes)
 *   payload (N bytes)
 *   trailer (32 bytes: SHA-256 of the payload)
 * and the receiver checks length and hash (and --expect-sha256 if given).
 * Both ends then exchange close_notify, so a truncated stream is an error.
 * Each finished transfer prints one line starting with "ktls: " on stdout.
 *
 * This file holds the command line; tlsnic-ktls.h lists the other files of
 * tools/ktls/, one concern each.
 */
#include "tlsnic-ktls.h"

const char *const ktls_mode_names[] = { "none", "openssl", "setsockopt", "plain" };
const char *const send_method_names[] = { "write", "send", "sendfile", "splice", "more" };
const char *const recv_method_names[] = { "default", "ssl", "recv", "read" };
const char *const cipher_names[] = { "aes128gcm", "aes256gcm" };

struct options opt = {
	.tls_version = TLS1_2_VERSION,
	.cipher = CIPHER_AES128GCM,
	.ktls = KTLS_SETSOCKOPT,
	.send = SEND_WRITE,
	.recv = RECV_DEFAULT,
	.bytes = { 1024 * 1024 },
	.ntransfers = 1,
	.count = 1,
	.timeout_s = 30,
	.seed = 1,
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --listen ADDR:PORT | --connect ADDR:PORT [options]\n"
"\n"
"TLS client/server moving data over Linux kernel TLS, checked by SHA-256.\n"
"\n"
"  --listen ADDR:PORT      server (port 0: any, printed on stderr)\n"
"  --connect ADDR:PORT     client (retries until the server listens, up to --timeout)\n"
"  --tls 1.2|1.3           protocol version (default 1.2)\n"
"  --cipher aes128gcm|aes256gcm\n"
"                          ECDHE-RSA-AES128-GCM-SHA256 / ECDHE-RSA-AES256-GCM-SHA384\n"
"                          (TLS 1.3: TLS_AES_128_GCM_SHA256 / TLS_AES_256_GCM_SHA384)\n"
"  --ktls openssl|setsockopt|none|plain\n"
"                          who keys kernel TLS (default setsockopt; none = userspace TLS;\n"
"                          plain = no TLS, plain TCP, both ends)\n"
"  --allow-no-ktls         with --ktls openssl: go on if OpenSSL did not enable kTLS\n"
"  --dir tx|rx|both        what this end does (default: client tx, server rx);\n"
"                          both = client sends first, then the server\n"
"  --send write|send|sendfile|splice|more\n"
"                          sender method (default write; more = send(MSG_MORE) chunks)\n"
"  --recv ssl|recv|read    receiver method (default: recv for setsockopt, else ssl)\n"
"  --bytes N[,N...]        payload size(s), K/M/G suffixes (default 1M): one transfer\n"
"                          per entry on the same connection; receiver: expected sizes\n"
"  --file PATH             send this file instead of generated data\n"
"  --chunk N               write/send/more chunk size (default 64K; more: 4000)\n"
"  --seed N                seed of the generated data (default 1, + connection number)\n"
"  --expect-sha256 HEX[,HEX...]\n"
"                          receiver: also compare transfer i with the i-th hash\n"
"  --count N               connections (default 1), one after another\n"
"  --parallel              run the --count connections at the same time; the client\n"
"                          keys all of them before any data moves\n"
"  --cert PEM --key PEM    server certificate (default: throw-away self-signed RSA)\n"
"  --keylog FILE           append an SSLKEYLOGFILE\n"
"  --read-ahead            let OpenSSL read ahead during the handshake, and after our\n"
"                          Finished wait (up to %d ms) for the peer's data, so that\n"
"                          OpenSSL buffers records the kernel must not lose: tests the\n"
"                          hand-over to kTLS RX (see prebuffered= in the result)\n"
"  --zerocopy-sendfile     set TLS_TX_ZEROCOPY_RO on kTLS TX sockets (device offload\n"
"                          sends sendfile pages without copying them)\n"
"  --timeout S             per-operation timeout (default 30)\n"
"  --tmpdir DIR            for the temporary sendfile/splice payload (default $TMPDIR or /tmp)\n"
"  --pause-after N --barrier DIR\n"
"                          sender: after N payload bytes (counted over\n"
"                          its transfers, N < their sum) create DIR/reached (holding N),\n"
"                          wait up to --timeout for DIR/resume, print \"pause: conn=..\n"
"                          sent=N resumed\", send the rest: a test acts on a connection\n"
"                          that is provably mid-transfer; with --count N --parallel\n"
"                          every connection pauses, creating DIR/reached.ID, and the\n"
"                          last one DIR/reached\n"
"  --no-hash               benchmark: send one buffer over and over (or the file as it is)\n"
"                          and announce a zero SHA-256; the receiver hashes and checks\n"
"                          nothing (both ends; for CPU cost, not for correctness)\n"
"  --save FILE             receiver, one connection: write every payload byte to FILE\n"
"                          as it is read, before any check (what the application\n"
"                          was given before an error)\n"
"  --print-keys            --ktls setsockopt: print the keys given to the kernel, one line\n"
"                          \"ktls-key: conn=N dir=tx|rx key=HEX\" each\n"
"  --hold DIR              at the end, with every socket closed and every TLS object freed,\n"
"                          create DIR/held and wait (up to an hour) for DIR/release: a test\n"
"                          inspects memory while this process is alive\n"
"  --ctrl TYPE:HEX[,TYPE:HEX...]\n"
"                          sender (kernel TLS TX): after half of each transfer's payload,\n"
"                          send these records (e.g. 21:015a, a warning alert) with\n"
"                          TLS_SET_RECORD_TYPE; receiver: expect exactly them there\n"
"                          (TLS 1.2; --ktls none: alerts only, as OpenSSL reports them)\n"
"  --start-file PATH       every connection, once keyed, waits (up to --timeout) for\n"
"                          PATH to exist before it moves data: connections of several\n"
"                          processes are provably keyed at the same time\n"
"  -v, --verbose\n"
"\n"
"Each transfer prints: ktls: role=.. dir=tx|rx bytes=N sha256=HEX ktls_tx=0|1 ktls_rx=0|1\n"
"mbps=.. conn=.. mode=.. tls=.. cipher=.. method=.. prebuffered=N ctrl_records=N\n"
"ssl_records=N ssl_max_record=N (TLS 1.2 data records OpenSSL read, largest plaintext) secs=..\n"
"result=ok|mismatch. Exit status 0 only if every transfer and shutdown succeeded.\n",
		READ_AHEAD_STALL_MS);
}

/* --hold DIR: announce DIR/held, then wait for DIR/release. */
static void hold(const char *dir)
{
	char held[PATH_MAX], release[PATH_MAX];
	unsigned int i;
	int fd;

	snprintf(held, sizeof(held), "%s/held", dir);
	snprintf(release, sizeof(release), "%s/release", dir);
	fflush(stdout);
	fd = open(held, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot create %s: %s", held, strerror(errno));
	close(fd);
	for (i = 0; i < 36000 && access(release, F_OK); i++)
		usleep(100000);
}

static int lookup(const char *arg, const char *const *names, int n, const char *what)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return i;
	die("invalid %s '%s'", what, arg);
}

static uint64_t parse_size(const char *arg, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || arg[0] == '-')
		die("invalid %s '%s'", what, arg);
	switch (*end) {
	case 'k': case 'K':
		v <<= 10, end++;
		break;
	case 'm': case 'M':
		v <<= 20, end++;
		break;
	case 'g': case 'G':
		v <<= 30, end++;
		break;
	}
	if (*end)
		die("invalid %s '%s'", what, arg);
	return v;
}

/* A comma-separated list of sizes or of SHA-256 hashes; returns its length. */
static unsigned int parse_list(const char *arg, const char *what, uint64_t *sizes,
			       unsigned char (*hashes)[SHA256_LEN])
{
	char *copy = strdup(arg), *save = NULL, *tok;
	unsigned int n = 0;

	if (!copy)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_TRANSFERS)
			die("%s: at most %d entries", what, MAX_TRANSFERS);
		if (sizes)
			sizes[n] = parse_size(tok, what);
		else if (unhex(hashes[n], SHA256_LEN, tok))
			die("%s: '%s' is not 64 hex digits", what, tok);
		n++;
	}
	free(copy);
	if (!n)
		die("%s: empty list", what);
	return n;
}

/* --ctrl TYPE:HEX[,TYPE:HEX...] */
static void parse_ctrl(const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	if (!copy)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct ctrl_rec *r = &opt.ctrl[opt.nctrl];
		char *colon = strchr(tok, ':');
		unsigned long type = strtoul(tok, NULL, 10);

		if (opt.nctrl == MAX_CTRL)
			die("--ctrl: at most %d records", MAX_CTRL);
		r->len = colon ? strlen(colon + 1) / 2 : 0;
		if (!colon || type > 255 || type == TLS_RT_APPLICATION_DATA || !r->len ||
		    r->len > CTRL_MAX_LEN || unhex(r->data, r->len, colon + 1))
			die("--ctrl: '%s' is not TYPE:HEX (a non-data type, 1..%d bytes)", tok,
			    CTRL_MAX_LEN);
		r->type = type;
		opt.nctrl++;
	}
	free(copy);
}

int main(int argc, char **argv)
{
	enum { O_TLS = 256, O_CIPHER, O_KTLS, O_ALLOW, O_DIR, O_SEND, O_RECV, O_BYTES,
	       O_FILE, O_CHUNK, O_SEED, O_EXPECT, O_COUNT, O_PARALLEL, O_CERT, O_KEY,
	       O_KEYLOG, O_READAHEAD, O_ZEROCOPY, O_TIMEOUT, O_TMPDIR, O_LISTEN, O_CONNECT,
	       O_PAUSE_AFTER, O_BARRIER, O_NO_HASH, O_SAVE, O_PRINT_KEYS, O_HOLD, O_CTRL,
	       O_START_FILE };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "connect", required_argument, NULL, O_CONNECT },
		{ "tls", required_argument, NULL, O_TLS },
		{ "cipher", required_argument, NULL, O_CIPHER },
		{ "ktls", required_argument, NULL, O_KTLS },
		{ "allow-no-ktls", no_argument, NULL, O_ALLOW },
		{ "dir", required_argument, NULL, O_DIR },
		{ "send", required_argument, NULL, O_SEND },
		{ "recv", required_argument, NULL, O_RECV },
		{ "bytes", required_argument, NULL, O_BYTES },
		{ "file", required_argument, NULL, O_FILE },
		{ "chunk", required_argument, NULL, O_CHUNK },
		{ "seed", required_argument, NULL, O_SEED },
		{ "expect-sha256", required_argument, NULL, O_EXPECT },
		{ "count", required_argument, NULL, O_COUNT },
		{ "parallel", no_argument, NULL, O_PARALLEL },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "keylog", required_argument, NULL, O_KEYLOG },
		{ "read-ahead", no_argument, NULL, O_READAHEAD },
		{ "zerocopy-sendfile", no_argument, NULL, O_ZEROCOPY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "tmpdir", required_argument, NULL, O_TMPDIR },
		{ "pause-after", required_argument, NULL, O_PAUSE_AFTER },
		{ "barrier", required_argument, NULL, O_BARRIER },
		{ "no-hash", no_argument, NULL, O_NO_HASH },
		{ "save", required_argument, NULL, O_SAVE },
		{ "print-keys", no_argument, NULL, O_PRINT_KEYS },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "ctrl", required_argument, NULL, O_CTRL },
		{ "start-file", required_argument, NULL, O_START_FILE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	bool have_role = false, pause_set = false;
	unsigned int count;
	int c, failed;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
		case O_CONNECT:
			if (have_role)
				die("give exactly one of --listen and --connect");
			have_role = true;
			opt.server = c == O_LISTEN;
			opt.addr = optarg;
			break;
		case O_TLS:
			if (!strcmp(optarg, "1.2"))
				opt.tls_version = TLS1_2_VERSION;
			else if (!strcmp(optarg, "1.3"))
				opt.tls_version = TLS1_3_VERSION;
			else
				die("invalid --tls '%s' (1.2 or 1.3)", optarg);
			break;
		case O_CIPHER:
			opt.cipher = lookup(optarg, cipher_names, 2, "--cipher");
			break;
		case O_KTLS:
			opt.ktls = lookup(optarg, ktls_mode_names, 4, "--ktls");
			break;
		case O_ALLOW:
			opt.allow_no_ktls = true;
			break;
		case O_DIR:
			dir = optarg;
			break;
		case O_SEND:
			opt.send = lookup(optarg, send_method_names, 5, "--send");
			break;
		case O_RECV:
			opt.recv = lookup(optarg, recv_method_names, 4, "--recv");
			if (opt.recv == RECV_DEFAULT)
				die("invalid --recv 'default'");
			break;
		case O_BYTES:
			opt.ntransfers = parse_list(optarg, "--bytes", opt.bytes, NULL);
			opt.bytes_set = true;
			break;
		case O_FILE:
			opt.file = optarg;
			break;
		case O_CHUNK:
			opt.chunk = parse_size(optarg, "--chunk");
			if (!opt.chunk || opt.chunk > IO_BUF_LEN)
				die("--chunk must be 1..%d", IO_BUF_LEN);
			break;
		case O_SEED:
			opt.seed = parse_size(optarg, "--seed");
			break;
		case O_EXPECT:
			opt.nexpect = parse_list(optarg, "--expect-sha256", NULL,
						 opt.expect_sha256);
			break;
		case O_COUNT:
			opt.count = parse_size(optarg, "--count");
			if (!opt.count || opt.count > 100000)
				die("--count must be 1..100000");
			break;
		case O_PARALLEL:
			opt.parallel = true;
			break;
		case O_CERT:
			opt.cert_file = optarg;
			break;
		case O_KEY:
			opt.key_file = optarg;
			break;
		case O_KEYLOG:
			opt.keylog_file = optarg;
			break;
		case O_READAHEAD:
			opt.read_ahead = true;
			break;
		case O_ZEROCOPY:
			opt.zerocopy = true;
			break;
		case O_TIMEOUT:
			opt.timeout_s = parse_size(optarg, "--timeout");
			if (!opt.timeout_s)
				die("--timeout must be at least 1");
			break;
		case O_TMPDIR:
			opt.tmpdir = optarg;
			break;
		case O_PAUSE_AFTER:
			opt.pause_after = parse_size(optarg, "--pause-after");
			pause_set = true;
			break;
		case O_BARRIER:
			opt.barrier = optarg;
			break;
		case O_NO_HASH:
			opt.no_hash = true;
			break;
		case O_SAVE:
			opt.save = optarg;
			break;
		case O_PRINT_KEYS:
			opt.print_keys = true;
			break;
		case O_HOLD:
			opt.hold = optarg;
			break;
		case O_CTRL:
			parse_ctrl(optarg);
			break;
		case O_START_FILE:
			opt.start_file = optarg;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !have_role) {
		usage(stderr);
		return 2;
	}
	if (!dir)
		dir = opt.server ? "rx" : "tx";
	opt.tx = !strcmp(dir, "tx") || !strcmp(dir, "both");
	opt.rx = !strcmp(dir, "rx") || !strcmp(dir, "both");
	if (!opt.tx && !opt.rx)
		die("invalid --dir '%s' (tx, rx or both)", dir);
	if (opt.file && opt.tx && opt.bytes_set)
		die("--file and --bytes exclude each other when sending");
	if (opt.tx && opt.ktls == KTLS_NONE && opt.send != SEND_WRITE)
		die("--send %s needs kernel TLS; with --ktls none only --send write (SSL_write)",
		    send_method_names[opt.send]);
	if (opt.rx && opt.ktls == KTLS_NONE && opt.recv != RECV_DEFAULT && opt.recv != RECV_SSL)
		die("--recv %s needs kernel TLS; with --ktls none only --recv ssl",
		    recv_method_names[opt.recv]);
	if (opt.rx && opt.ktls == KTLS_SETSOCKOPT && opt.recv == RECV_SSL)
		die("--recv ssl cannot read a socket keyed with --ktls setsockopt");
	if (opt.tx && opt.ktls == KTLS_OPENSSL && opt.allow_no_ktls && opt.send != SEND_WRITE &&
	    opt.send != SEND_SENDFILE)
		die("--send %s bypasses OpenSSL and so cannot be combined with --allow-no-ktls",
		    send_method_names[opt.send]);
	if (opt.nctrl && opt.tx && opt.ktls != KTLS_SETSOCKOPT && opt.ktls != KTLS_OPENSSL)
		die("--ctrl sends through kernel TLS TX (--ktls setsockopt or openssl)");
	for (c = 0; opt.rx && opt.ktls == KTLS_NONE && c < (int)opt.nctrl; c++)
		if (opt.ctrl[c].type != TLS_RT_ALERT || opt.ctrl[c].len != 2)
			die("--ctrl with --ktls none: OpenSSL reports alerts only (21:LLDD)");
	if (opt.no_hash && opt.nexpect)
		die("--no-hash and --expect-sha256 exclude each other");
	if (pause_set != !!opt.barrier)
		die("--pause-after and --barrier go together");
	if (opt.barrier && (!opt.tx || (opt.count != 1 && !opt.parallel)))
		die("--pause-after needs a sending end (--dir tx or both) and --count 1 or --parallel");
	if (opt.save && (!opt.rx || opt.count != 1))
		die("--save needs a receiving end (--dir rx or both) and --count 1");
	if (opt.print_keys && opt.ktls != KTLS_SETSOCKOPT)
		die("--print-keys needs --ktls setsockopt");
	if (parse_addr(opt.addr, &peer_addr, &peer_addr_len))
		die("invalid address '%s' (ADDR:PORT)", opt.addr);

	signal(SIGPIPE, SIG_IGN);
	if (opt.keylog_file) {
		keylog_fd = open(opt.keylog_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (keylog_fd < 0)
			die("cannot open key log %s: %s", opt.keylog_file, strerror(errno));
	}
	if (opt.save) {
		save_fd = open(opt.save, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (save_fd < 0)
			die("cannot create %s: %s", opt.save, strerror(errno));
	}
	conn_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	setup_ssl_ctx();

	count = opt.count;
	failed = run();
	SSL_CTX_free(ssl_ctx);
	if (keylog_fd >= 0)
		close(keylog_fd);
	if (save_fd >= 0)
		close(save_fd);
	if (failed)
		fprintf(stderr, PROG ": %d of %u connection(s) failed\n", failed, count);
	if (opt.hold)
		hold(opt.hold);
	return failed ? 1 : 0;
}
