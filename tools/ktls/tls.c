// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: OpenSSL. The SSL_CTX (with a throw-away self-signed
 * certificate), and the callbacks that capture the key log, count record
 * sequence numbers for the kernel and hold reads for --read-ahead.
 */
#include "tlsnic-ktls.h"

SSL_CTX *ssl_ctx;
int keylog_fd = -1;
int conn_ex_index = -1;

static struct conn *ssl_conn(const SSL *ssl)
{
	return SSL_get_ex_data(ssl, conn_ex_index);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct conn *c = ssl_conn(ssl);
	char label[64], cr[65], secret[2 * EVP_MAX_MD_SIZE + 1];
	size_t len;

	if (keylog_fd >= 0) {
		/* one write(2) per line on an O_APPEND fd: safe across threads and processes */
		size_t n = strlen(line);
		char *l = malloc(n + 1);

		if (l) {
			memcpy(l, line, n);
			l[n] = '\n';
			if (write(keylog_fd, l, n + 1) != (ssize_t)(n + 1))
				conn_err(c, "writing the key log: %s", strerror(errno));
			free(l);
		}
	}
	if (!c || sscanf(line, "%63s %64s %128s", label, cr, secret) != 3)
		return;
	len = strlen(secret) / 2;
	if (!strcmp(label, "CLIENT_RANDOM") && len == sizeof(c->master)) {
		if (!unhex(c->client_random, 32, cr) && !unhex(c->master, len, secret))
			c->have_master = true;
	} else if (!strcmp(label, "CLIENT_TRAFFIC_SECRET_0") && len <= EVP_MAX_MD_SIZE) {
		if (!unhex(c->c_secret, len, secret))
			c->c_secret_len = len;
	} else if (!strcmp(label, "SERVER_TRAFFIC_SECRET_0") && len <= EVP_MAX_MD_SIZE) {
		if (!unhex(c->s_secret, len, secret))
			c->s_secret_len = len;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
}

/*
 * Records OpenSSL reads after the handshake (--ktls none): the size of
 * each TLS 1.2 data record (ciphertext length - explicit nonce - tag) and
 * the alerts, for --ctrl.
 */
static void ssl_rx_record_cb(struct conn *c, int content_type, const unsigned char *p,
			     size_t len)
{
	if (content_type == SSL3_RT_HEADER && len >= 5 && p[0] == TLS_RT_APPLICATION_DATA &&
	    c->rd.active && SSL_version(c->ssl) != TLS1_3_VERSION) {
		uint64_t plain = ((size_t)p[3] << 8 | p[4]) - 24;

		c->ssl_records++;
		if (plain > c->ssl_max_record)
			c->ssl_max_record = plain;
	} else if (content_type == SSL3_RT_ALERT && len == 2 && p[1] != TLS_ALERT_CLOSE_NOTIFY &&
		   c->o->nctrl) {
		ctrl_seen(c, TLS_RT_ALERT, p, len);
	}
}

/*
 * OpenSSL has no API for the record sequence numbers, and the kernel must
 * continue exactly where OpenSSL stopped. Count records from the msg
 * callback, which reports every record header read or written:
 *  - TLS 1.2: the records after the ChangeCipherSpec record use the new
 *    keys, starting at sequence 0 (the Finished record).
 *  - TLS 1.3: a direction switches to the application traffic keys right
 *    after the Finished message it carries (peer's for read, ours for write);
 *    records after that (e.g. the server's NewSessionTickets) count.
 * Header callbacks for a record come before the messages inside it.
 */
static void msg_cb(int write_p, int version, int content_type, const void *buf,
		   size_t len, SSL *ssl, void *arg)
{
	struct conn *c = ssl_conn(ssl);
	struct seq_track *t;
	const unsigned char *p = buf;

	(void)version;
	(void)arg;
	if (!c || !len)
		return;
	t = write_p ? &c->wr : &c->rd;
	if (!write_p)
		ssl_rx_record_cb(c, content_type, p, len);
	if (content_type == SSL3_RT_HEADER) {
		if (SSL_version(ssl) != TLS1_3_VERSION && p[0] == TLS_RT_CHANGE_CIPHER_SPEC) {
			t->active = true;
			t->seq = 0;
		} else if (t->active) {
			t->seq++;
		}
		return;
	}
	if (content_type == SSL3_RT_HANDSHAKE && p[0] == SSL3_MT_FINISHED) {
		if (SSL_version(ssl) == TLS1_3_VERSION) {
			t->active = true;
			t->seq = 0;
		}
		if (write_p && c->o->read_ahead)
			c->stall_before_read = true;
	}
}

/*
 * --read-ahead: before the first socket read after our Finished went out
 * (the handshake flight is flushed by then), wait until the peer's last
 * handshake records and then its first data are queued: until the receive
 * queue has grown past what arrived first and stopped growing, or for
 * READ_AHEAD_STALL_MS. OpenSSL then reads them in one go and holds records
 * the kernel must not lose or see twice.
 */
static void stall_for_peer_data(struct conn *c)
{
	double start = now_s();
	int queued = 0, prev = 0, first = 0;

	while (now_s() - start < READ_AHEAD_STALL_MS / 1000.0) {
		usleep(50 * 1000);
		if (ioctl(c->fd, FIONREAD, &queued) < 0)
			break;
		if (!first)
			first = queued;
		else if (queued > first && queued == prev)
			break;
		prev = queued;
	}
	conn_dbg(c, "read-ahead: %d bytes queued before OpenSSL reads", queued);
}

long rbio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
	     int ret, size_t *processed)
{
	struct conn *c = (struct conn *)BIO_get_callback_arg(b);

	(void)argp;
	(void)len;
	(void)argi;
	(void)argl;
	(void)processed;
	if (oper == BIO_CB_READ && c && c->stall_before_read) {
		c->stall_before_read = false;
		stall_for_peer_data(c);
	}
	return ret;
}

static void gen_self_signed(EVP_PKEY **pkey_out, X509 **cert_out)
{
	EVP_PKEY *pkey = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	X509_NAME *name;

	if (!pkey || !x)
		die("cannot generate an RSA key");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)PROG, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, pkey, EVP_sha256()))
		die("cannot self-sign the certificate");
	*pkey_out = pkey;
	*cert_out = x;
}

void setup_ssl_ctx(void)
{
	const struct options *o = &opt;
	static const char *const tls12_ciphers[] = {
		[CIPHER_AES128GCM] = "ECDHE-RSA-AES128-GCM-SHA256",
		[CIPHER_AES256GCM] = "ECDHE-RSA-AES256-GCM-SHA384",
	};
	static const char *const tls13_suites[] = {
		[CIPHER_AES128GCM] = "TLS_AES_128_GCM_SHA256",
		[CIPHER_AES256GCM] = "TLS_AES_256_GCM_SHA384",
	};

	ssl_ctx = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
	if (!ssl_ctx)
		die("SSL_CTX_new failed");
	if (!SSL_CTX_set_min_proto_version(ssl_ctx, o->tls_version) ||
	    !SSL_CTX_set_max_proto_version(ssl_ctx, o->tls_version))
		die("cannot pin the TLS version");
	if (!SSL_CTX_set_cipher_list(ssl_ctx, tls12_ciphers[o->cipher]) ||
	    !SSL_CTX_set_ciphersuites(ssl_ctx, tls13_suites[o->cipher]))
		die("cannot select cipher %s", cipher_names[o->cipher]);
	/* kTLS has no compression and no renegotiation */
	SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (o->ktls == KTLS_OPENSSL)
		SSL_CTX_set_options(ssl_ctx, SSL_OP_ENABLE_KTLS);
	SSL_CTX_set_keylog_callback(ssl_ctx, keylog_cb);
	SSL_CTX_set_msg_callback(ssl_ctx, msg_cb);
	SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);

	if (!o->server)
		return;
	if (o->cert_file || o->key_file) {
		if (!o->cert_file || !o->key_file)
			die("--cert and --key go together");
		if (SSL_CTX_use_certificate_chain_file(ssl_ctx, o->cert_file) != 1)
			die("cannot load certificate %s", o->cert_file);
		if (SSL_CTX_use_PrivateKey_file(ssl_ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
			die("cannot load private key %s", o->key_file);
	} else {
		EVP_PKEY *pkey;
		X509 *cert;

		gen_self_signed(&pkey, &cert);
		if (SSL_CTX_use_certificate(ssl_ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey(ssl_ctx, pkey) != 1)
			die("cannot use the generated certificate");
		X509_free(cert);
		EVP_PKEY_free(pkey);
	}
	if (SSL_CTX_check_private_key(ssl_ctx) != 1)
		die("certificate and private key do not match");
}
