// SPDX-License-Identifier: GPL-2.0
/*
 * tcpxfer: move one file over one TCP connection and report the rate.
 *
 *   tcpxfer recv [-t SECS] PORT FILE        accept one connection, write it to FILE
 *   tcpxfer send [-t SECS] HOST PORT FILE   connect and send FILE with sendfile()
 *
 * The VM tests use it between the guest's netns a and b; they compare the
 * files with sha256sum, so this tool only moves bytes and never judges them.
 * The sender retries the connection until the timeout (the receiver may not
 * listen yet) and measures from connect until the receiver has closed, i.e.
 * until every byte was delivered. Every socket operation is bounded by the
 * timeout so a stalled data path fails the test instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "tcpxfer";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		die("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO): %s", strerror(errno));
}

static int parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		die("bad port '%s'", s);
	return (int)v;
}

static void report(const char *what, unsigned long long bytes, double secs)
{
	if (secs <= 0)
		secs = 1e-9;
	printf("%s: %s %llu bytes in %.3f s (%.1f MB/s)\n", prog, what, bytes,
	       secs, bytes / secs / 1e6);
	fflush(stdout);
}

static int do_recv(int timeout, const char *port_s, const char *path)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	unsigned long long total = 0;
	int one = 1, zero = 0;
	static char buf[1 << 18];
	int lfd, fd, out;
	double t0;

	sa.sin6_port = htons(parse_port(port_s));
	sa.sin6_addr = in6addr_any;

	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		die("open %s: %s", path, strerror(errno));

	/* Dual-stack listener so the tests may use IPv4 or IPv6 addresses. */
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket: %s", strerror(errno));
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		die("setsockopt: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind port %s: %s", port_s, strerror(errno));
	if (listen(lfd, 1))
		die("listen: %s", strerror(errno));
	/* accept() honours SO_RCVTIMEO: give up if no sender shows up. */
	set_timeouts(lfd, timeout);

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: %s", errno == EAGAIN ? "no connection before timeout" :
		    strerror(errno));
	close(lfd);
	set_timeouts(fd, timeout);

	t0 = now();
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		ssize_t off = 0;

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read after %llu bytes: %s", total,
			    errno == EAGAIN ? "stalled (timeout)" : strerror(errno));
		}
		while (off < n) {
			ssize_t w = write(out, buf + off, n - off);

			if (w < 0)
				die("write %s: %s", path, strerror(errno));
			off += w;
		}
		total += n;
	}
	if (close(out))
		die("close %s: %s", path, strerror(errno));
	report("received", total, now() - t0);
	/* Closing tells the sender everything arrived (it waits for EOF). */
	close(fd);
	return 0;
}

static int connect_retry(const char *host, const char *port_s, int timeout)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	double deadline = now() + timeout;
	struct addrinfo *ai;
	int err;

	parse_port(port_s);
	err = getaddrinfo(host, port_s, &hints, &ai);
	if (err)
		die("%s: %s", host, gai_strerror(err));

	for (;;) {
		int fd = socket(ai->ai_family, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		set_timeouts(fd, timeout);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			freeaddrinfo(ai);
			return fd;
		}
		err = errno;
		close(fd);
		/* Refused: the receiver is not listening yet; anything else is fatal. */
		if (err != ECONNREFUSED || now() > deadline)
			die("connect %s port %s: %s", host, port_s, strerror(err));
		usleep(50 * 1000);
	}
}

static int do_send(int timeout, const char *host, const char *port_s,
		   const char *path)
{
	unsigned long long total = 0;
	struct stat st;
	off_t off = 0;
	char c;
	double t0;
	int in, fd;
	ssize_t n;

	in = open(path, O_RDONLY);
	if (in < 0)
		die("open %s: %s", path, strerror(errno));
	if (fstat(in, &st))
		die("stat %s: %s", path, strerror(errno));

	fd = connect_retry(host, port_s, timeout);
	t0 = now();
	while (off < st.st_size) {
		n = sendfile(fd, in, &off, st.st_size - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("sendfile after %lld bytes: %s", (long long)off,
			    errno == EAGAIN ? "stalled (timeout)" : strerror(errno));
		}
		if (n == 0)
			die("%s shrank while sending", path);
		total += n;
	}
	if (shutdown(fd, SHUT_WR))
		die("shutdown: %s", strerror(errno));
	/* The receiver closes once it has read everything. */
	n = read(fd, &c, 1);
	if (n < 0)
		die("waiting for the receiver to finish: %s",
		    errno == EAGAIN ? "timeout" : strerror(errno));
	if (n > 0)
		die("receiver sent data");
	report("sent", total, now() - t0);
	close(fd);
	close(in);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s recv [-t SECS] PORT FILE\n"
		"       %s send [-t SECS] HOST PORT FILE\n"
		"  -t SECS  give up after SECS without progress (default 60)\n",
		prog, prog);
	exit(2);
}

int main(int argc, char **argv)
{
	int timeout = 60;
	const char *mode;
	int opt;

	if (argc < 2)
		usage();
	mode = argv[1];
	argc--;
	argv++;
	while ((opt = getopt(argc, argv, "t:")) != -1) {
		switch (opt) {
		case 't':
			timeout = atoi(optarg);
			if (timeout <= 0)
				die("bad timeout '%s'", optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (!strcmp(mode, "recv") && argc == 2)
		return do_recv(timeout, argv[0], argv[1]);
	if (!strcmp(mode, "send") && argc == 3)
		return do_send(timeout, argv[0], argv[1], argv[2]);
	usage();
	return 2;
}
