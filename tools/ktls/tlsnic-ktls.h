/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-ktls: what its files share: options, the connection, the payload,
 * and one section of declarations per file (main.c describes the program).
 */
#ifndef TLSNIC_KTLS_H
#define TLSNIC_KTLS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/tls.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define PROG "tlsnic-ktls"
#define STREAM_MAGIC "TLSNKTL1"
#define STREAM_HDR_LEN 24
#define MAX_TRANSFERS 64
#define SHA256_LEN 32
#define IO_BUF_LEN (256 * 1024)
#define TLS_RT_CHANGE_CIPHER_SPEC 20
#define TLS_RT_ALERT 21
#define TLS_RT_HANDSHAKE 22
#define TLS_RT_APPLICATION_DATA 23
#define TLS_ALERT_CLOSE_NOTIFY 0
#define TLS_MAX_PLAIN 16384
/* Longest --read-ahead pause after our Finished (see stall_for_peer_data). */
#define READ_AHEAD_STALL_MS 15000
#define MAX_CTRL 8
#define CTRL_MAX_LEN 64

enum ktls_mode { KTLS_NONE, KTLS_OPENSSL, KTLS_SETSOCKOPT, KTLS_PLAIN };
enum send_method { SEND_WRITE, SEND_SEND, SEND_SENDFILE, SEND_SPLICE, SEND_MORE };
enum recv_method { RECV_DEFAULT, RECV_SSL, RECV_RECV, RECV_READ };
enum cipher { CIPHER_AES128GCM, CIPHER_AES256GCM };

/* A control record (--ctrl): sent through TLS_SET_RECORD_TYPE, or expected. */
struct ctrl_rec {
	unsigned char type;
	unsigned char data[CTRL_MAX_LEN];
	size_t len;
	uint64_t at;		/* received: application bytes read before it */
};

struct options {
	bool server;
	const char *addr;		/* --listen / --connect argument */
	int tls_version;		/* TLS1_2_VERSION or TLS1_3_VERSION */
	enum cipher cipher;
	enum ktls_mode ktls;
	enum send_method send;
	enum recv_method recv;
	bool tx, rx;			/* this end sends / receives */
	bool allow_no_ktls;
	bool read_ahead;
	bool zerocopy;			/* TLS_TX_ZEROCOPY_RO */
	bool parallel;
	bool verbose;
	bool no_hash;			/* --no-hash: a benchmark's data, not checked */
	bool print_keys;		/* --print-keys: the kernel's keys, in hex */
	const char *hold;		/* --hold DIR: stay alive, wiped, at the end */
	uint64_t bytes[MAX_TRANSFERS];	/* --bytes LIST */
	unsigned int ntransfers;
	bool bytes_set;
	const char *file;
	size_t chunk;
	unsigned char expect_sha256[MAX_TRANSFERS][SHA256_LEN];
	unsigned int nexpect;
	unsigned int count;
	unsigned int timeout_s;
	uint64_t seed;
	const char *cert_file, *key_file;
	const char *keylog_file;
	const char *tmpdir;
	uint64_t pause_after;		/* --pause-after: payload bytes before the pause */
	const char *barrier;		/* --barrier DIR: its reached and resume files */
	const char *save;		/* --save FILE: received payload, as it arrives */
	struct ctrl_rec ctrl[MAX_CTRL];	/* --ctrl: in the middle of every transfer */
	unsigned int nctrl;
	const char *start_file;		/* --start-file: keyed, wait for it */
};

struct payload_gen {
	uint64_t state;
	uint64_t word;		/* current output word ... */
	unsigned int avail;	/* ... and how many of its bytes are unused */
};

/* Record sequence number of one direction, counted from OpenSSL's msg callback. */
struct seq_track {
	bool active;	/* the application traffic keys are in use */
	uint64_t seq;	/* records protected with them so far */
};

struct conn {
	const struct options *o;
	unsigned int id;
	int fd;
	SSL *ssl;
	bool ktls_tx, ktls_rx;		/* the kernel owns this direction */
	struct seq_track rd, wr;
	/* key log lines captured for --ktls setsockopt */
	unsigned char client_random[32];
	unsigned char master[48];
	bool have_master;
	unsigned char c_secret[EVP_MAX_MD_SIZE], s_secret[EVP_MAX_MD_SIZE];
	size_t c_secret_len, s_secret_len;
	/* plaintext OpenSSL had decrypted before the kernel took over RX */
	unsigned char *pre;
	size_t pre_len, pre_off, prebuffered;
	uint64_t ctrl_records;		/* non-data records seen on kTLS RX */
	struct payload_gen gen;		/* generated data, continuous over transfers */
	bool peer_closed;
	bool stall_before_read;		/* --read-ahead: our Finished was written */
	unsigned char *buf;		/* IO_BUF_LEN scratch */
	unsigned char *rec;		/* TLS_MAX_PLAIN: one whole record from kTLS RX */
	uint64_t payload_sent;		/* payload bytes sent, over all transfers */
	bool paused;			/* --pause-after done */
	uint64_t rx_app;		/* application bytes conn_read() returned */
	struct ctrl_rec seen[MAX_CTRL];	/* --ctrl records of this transfer */
	unsigned int nseen;
	uint64_t ssl_records, ssl_max_record;	/* data records OpenSSL read */
};

/*
 * The data a sender moves. For sendfile/splice it needs a file: either
 * --file, or the generated stream written to an unlinked temporary file.
 */
struct payload {
	uint64_t len;
	unsigned char sha256[SHA256_LEN];
	int fd;				/* -1: generate on the fly */
	EVP_MD_CTX *md;			/* on the fly: hashed as generated */
};

/* main.c: the command line */
extern struct options opt;
extern const char *const ktls_mode_names[];
extern const char *const send_method_names[];
extern const char *const recv_method_names[];
extern const char *const cipher_names[];

/* util.c: messages, clock, hex, byte order */
extern pthread_mutex_t out_lock;
void __attribute__((format(printf, 2, 3)))
conn_err(const struct conn *c, const char *fmt, ...);
void __attribute__((format(printf, 2, 3)))
conn_warn(const struct conn *c, const char *fmt, ...);
void __attribute__((format(printf, 2, 3)))
conn_dbg(const struct conn *c, const char *fmt, ...);
void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...);
void ssl_errors(const struct conn *c, const char *what, int ret);
double now_s(void);
void hex(char *out, const unsigned char *in, size_t len);
int unhex(unsigned char *out, size_t len, const char *in);
void put_be64(unsigned char *p, uint64_t v);
void put_be32(unsigned char *p, uint32_t v);
uint32_t get_be32(const unsigned char *p);
uint64_t get_be64(const unsigned char *p);

/* payload.c: generated or file data */
void gen_init(struct payload_gen *g, uint64_t seed);
void gen_fill(struct payload_gen *g, unsigned char *p, size_t len);
int payload_open(struct conn *c, struct payload *p, unsigned int idx);
void payload_close(struct payload *p);

/* tls.c: OpenSSL */
extern SSL_CTX *ssl_ctx;
extern int keylog_fd;
extern int conn_ex_index;
long rbio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
	     int ret, size_t *processed);
void setup_ssl_ctx(void);

/* ktls.c: the kernel TLS socket API */
int ktls_setsockopt(struct conn *c);
int ktls_check_openssl(struct conn *c);
ssize_t ktls_recvmsg(struct conn *c, void *buf, size_t len, unsigned char *type);
int ktls_send_record(struct conn *c, unsigned char type, const void *p, size_t len);

/* recv.c: the receive path */
enum recv_method conn_recv_method(const struct conn *c);
void ctrl_seen(struct conn *c, unsigned char type, const unsigned char *p, size_t len);
ssize_t conn_read(struct conn *c, void *buf, size_t len);
int conn_read_full(struct conn *c, void *buf, size_t len, const char *what);

/* send.c: the send path */
int conn_write_all(struct conn *c, const void *buf, size_t len, int flags);
int send_payload(struct conn *c, struct payload *p, off_t off, uint64_t len);

/* xfer.c: transfers */
extern int save_fd;
int run_transfers(struct conn *c);
int conn_shutdown(struct conn *c);

/* conn.c: connections */
extern struct sockaddr_storage peer_addr;
extern socklen_t peer_addr_len;
int parse_addr(const char *arg, struct sockaddr_storage *ss, socklen_t *len);
int run(void);

#endif
