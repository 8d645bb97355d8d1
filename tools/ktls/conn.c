// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: connections: sockets, one thread each with --parallel, and
 * a connection from handshake through keying and transfers to close.
 */
#include "tlsnic-ktls.h"

static int conn_handshake(struct conn *c)
{
	int r;

	if (c->o->ktls == KTLS_PLAIN)
		return 0;
	c->ssl = SSL_new(ssl_ctx);
	if (!c->ssl || !SSL_set_ex_data(c->ssl, conn_ex_index, c) ||
	    !SSL_set_fd(c->ssl, c->fd)) {
		conn_err(c, "cannot create the SSL object");
		return -1;
	}
	if (c->o->read_ahead) {
		SSL_set_read_ahead(c->ssl, 1);
		BIO_set_callback_ex(SSL_get_rbio(c->ssl), rbio_cb);
		BIO_set_callback_arg(SSL_get_rbio(c->ssl), (char *)c);
	}
	r = c->o->server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
	if (r != 1) {
		ssl_errors(c, c->o->server ? "TLS handshake (SSL_accept)" :
					     "TLS handshake (SSL_connect)", r);
		return -1;
	}
	conn_dbg(c, "handshake done: %s %s", SSL_get_version(c->ssl),
		 SSL_get_cipher_name(c->ssl));
	if (c->o->read_ahead)
		BIO_set_callback_ex(SSL_get_rbio(c->ssl), NULL);

	switch (c->o->ktls) {
	case KTLS_SETSOCKOPT:
		r = ktls_setsockopt(c);
		break;
	case KTLS_OPENSSL:
		r = ktls_check_openssl(c);
		break;
	case KTLS_NONE:
	case KTLS_PLAIN:
		return 0;
	}
	if (r || !c->o->zerocopy || !c->ktls_tx)
		return r;
	/*
	 * The file must not change while it is being sent: the kernel may then
	 * transmit page contents that differ from what it authenticated.
	 */
	r = 1;
	if (setsockopt(c->fd, SOL_TLS, TLS_TX_ZEROCOPY_RO, &r, sizeof(r)) < 0) {
		conn_err(c, "setsockopt(SOL_TLS, TLS_TX_ZEROCOPY_RO): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void set_timeouts(int fd, unsigned int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * A barrier for --parallel clients: every connection is keyed before any
 * transfer starts, so N kernel TLS contexts exist at the same time.
 * Failed connections arrive too, so nobody waits for them.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int waiting;
} keyed_barrier = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

static void barrier_arrive(void)
{
	pthread_mutex_lock(&keyed_barrier.lock);
	if (++keyed_barrier.waiting >= opt.count)
		pthread_cond_broadcast(&keyed_barrier.cond);
	while (keyed_barrier.waiting < opt.count)
		pthread_cond_wait(&keyed_barrier.cond, &keyed_barrier.lock);
	pthread_mutex_unlock(&keyed_barrier.lock);
}

/*
 * --start-file PATH: a keyed connection moves no data before PATH exists,
 * so a test holds connections of several processes keyed at once.
 */
static int wait_start_file(struct conn *c)
{
	double deadline = now_s() + opt.timeout_s;

	while (access(opt.start_file, F_OK)) {
		if (now_s() > deadline) {
			conn_err(c, "no %s within %u s", opt.start_file, opt.timeout_s);
			return -1;
		}
		/* Seldom: a hundred waiting connections must not load the host. */
		usleep(200 * 1000);
	}
	return 0;
}

/* One connection from handshake to close; the fd is consumed. */
static int run_conn(unsigned int id, int fd)
{
	struct conn c = { .o = &opt, .id = id, .fd = fd };
	int ret = -1, r;

	gen_init(&c.gen, opt.seed + id);
	c.buf = malloc(IO_BUF_LEN);
	c.rec = malloc(TLS_MAX_PLAIN);
	if (c.buf && opt.no_hash)	/* one buffer of data, sent over and over */
		gen_fill(&c.gen, c.buf, IO_BUF_LEN);
	if (!c.buf || !c.rec) {
		conn_err(&c, "out of memory");
		if (!opt.server && opt.parallel)
			barrier_arrive();
		free(c.buf);
		free(c.rec);
		close(fd);
		return -1;
	}
	set_timeouts(fd, opt.timeout_s);
	r = conn_handshake(&c);
	if (!opt.server && opt.parallel)
		barrier_arrive();
	if (!r && opt.start_file)
		r = wait_start_file(&c);
	if (r)
		goto out;

	if (run_transfers(&c))
		goto out;
	if (conn_shutdown(&c))
		goto out;
	ret = 0;
out:
	if (c.ssl)
		SSL_free(c.ssl);
	close(fd);
	if (c.pre)
		OPENSSL_clear_free(c.pre, c.pre_len);
	free(c.buf);
	free(c.rec);
	return ret;
}

struct conn_thread {
	pthread_t tid;
	unsigned int id;
	int fd;		/* server: accepted socket; client: -1 (connects itself) */
	int ret;
};

int parse_addr(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(arg, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	size_t hlen;
	int r;

	if (!colon || !colon[1])
		return -1;
	hlen = colon - arg;
	if (hlen >= sizeof(host))
		return -1;
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	if (opt.server)
		hints.ai_flags |= AI_PASSIVE;
	r = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (r) {
		fprintf(stderr, PROG ": error: %s: %s\n", arg, gai_strerror(r));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

struct sockaddr_storage peer_addr;
socklen_t peer_addr_len;

/* Connect, retrying while the server is not listening yet (up to --timeout). */
static int client_connect(unsigned int id)
{
	double deadline = now_s() + opt.timeout_s;
	int fd, err;

	for (;;) {
		fd = socket(peer_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fprintf(stderr, PROG ": conn %u: error: socket: %s\n", id, strerror(errno));
			return -1;
		}
		set_timeouts(fd, opt.timeout_s);
		if (!connect(fd, (struct sockaddr *)&peer_addr, peer_addr_len))
			return fd;
		err = errno;
		close(fd);
		if ((err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH &&
		     err != EAGAIN && err != EINPROGRESS && err != ETIMEDOUT) ||
		    now_s() > deadline) {
			fprintf(stderr, PROG ": conn %u: error: connect to %s: %s\n", id,
				opt.addr, strerror(err));
			return -1;
		}
		usleep(100 * 1000);
	}
}

static void *conn_thread_main(void *arg)
{
	struct conn_thread *t = arg;

	if (t->fd < 0)
		t->fd = client_connect(t->id);
	if (t->fd < 0) {
		if (!opt.server && opt.parallel)
			barrier_arrive();
		t->ret = -1;
		return NULL;
	}
	t->ret = run_conn(t->id, t->fd);
	return NULL;
}

static int accept_one(int lfd)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int r = poll(&pfd, 1, opt.timeout_s * 1000);
	int fd;

	if (r == 0) {
		fprintf(stderr, PROG ": error: no connection on %s within %u s\n", opt.addr,
			opt.timeout_s);
		return -1;
	}
	fd = r > 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	if (fd < 0)
		fprintf(stderr, PROG ": error: accept: %s\n", strerror(errno));
	return fd;
}

int run(void)
{
	struct conn_thread *t = calloc(opt.count, sizeof(*t));
	unsigned int n = opt.count, started, i;
	int lfd = -1, failed = 0;

	if (!t)
		die("out of memory");
	if (opt.server) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char host[NI_MAXHOST], port[NI_MAXSERV];
		int one = 1;

		lfd = socket(peer_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			die("socket: %s", strerror(errno));
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, (struct sockaddr *)&peer_addr, peer_addr_len) < 0)
			die("bind %s: %s", opt.addr, strerror(errno));
		if (listen(lfd, opt.count < 128 ? 128 : opt.count) < 0)
			die("listen: %s", strerror(errno));
		getsockname(lfd, (struct sockaddr *)&ss, &len);
		getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		fprintf(stderr, PROG ": listening on %s:%s\n", host, port);
	}
	for (i = 0; i < n; i++) {
		t[i].id = i;
		t[i].fd = -1;
		if (opt.server) {
			t[i].fd = accept_one(lfd);
			if (t[i].fd < 0) {
				/* connections never accepted count as failed */
				failed += n - i;
				break;
			}
		}
		if (opt.parallel) {
			if (pthread_create(&t[i].tid, NULL, conn_thread_main, &t[i]))
				die("pthread_create failed");
		} else {
			conn_thread_main(&t[i]);
		}
	}
	started = i;
	for (i = 0; i < started; i++) {
		if (opt.parallel)
			pthread_join(t[i].tid, NULL);
		if (t[i].ret)
			failed++;
	}
	if (lfd >= 0)
		close(lfd);
	free(t);
	return failed;
}
