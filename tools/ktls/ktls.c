// SPDX-License-Identifier: GPL-2.0
/*
 * tlsnic-ktls: the kernel TLS socket API. Keying TLS_TX/TLS_RX from the key
 * log (--ktls setsockopt) or checking what OpenSSL keyed (--ktls openssl),
 * after taking what OpenSSL had buffered; records of any type sent and
 * received through the record type control messages.
 */
#include "tlsnic-ktls.h"

union ktls_crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
};

/* Traffic protection material of one direction. */
struct traffic_keys {
	unsigned char key[32];
	unsigned char iv[12];	/* TLS 1.2: 4-byte salt; TLS 1.3: full static IV */
};

static int tls12_key_block(struct conn *c, size_t key_len, const char *digest,
			   struct traffic_keys *client, struct traffic_keys *server)
{
	static const char label[] = "key expansion";
	unsigned char seed[sizeof(label) - 1 + 64], cr[32], block[2 * 32 + 2 * 4];
	size_t block_len = 2 * key_len + 2 * 4;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int ret = -1;

	EVP_KDF_free(kdf);
	if (!kctx) {
		conn_err(c, "OpenSSL has no TLS1-PRF KDF");
		return -1;
	}
	if (!c->have_master) {
		conn_err(c, "no CLIENT_RANDOM line from the key log callback");
		goto out;
	}
	if (SSL_get_client_random(c->ssl, cr, sizeof(cr)) != sizeof(cr) ||
	    memcmp(cr, c->client_random, sizeof(cr))) {
		conn_err(c, "key log client random does not match this connection");
		goto out;
	}
	/* RFC 5246 6.3: seed = "key expansion" + server_random + client_random */
	memcpy(seed, label, sizeof(label) - 1);
	SSL_get_server_random(c->ssl, seed + sizeof(label) - 1, 32);
	memcpy(seed + sizeof(label) - 1 + 32, cr, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, c->master,
						      sizeof(c->master));
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, block, block_len, params) != 1) {
		conn_err(c, "TLS1-PRF key expansion failed");
		goto out;
	}
	/* AEAD key block: client key, server key, client IV, server IV (no MAC keys) */
	memcpy(client->key, block, key_len);
	memcpy(server->key, block + key_len, key_len);
	memcpy(client->iv, block + 2 * key_len, 4);
	memcpy(server->iv, block + 2 * key_len + 4, 4);
	ret = 0;
out:
	OPENSSL_cleanse(block, sizeof(block));
	EVP_KDF_CTX_free(kctx);
	return ret;
}

/* RFC 8446 7.1 HKDF-Expand-Label(secret, label, "", len) */
static int hkdf_expand_label(struct conn *c, const char *digest, const unsigned char *secret,
			     size_t secret_len, const char *label, unsigned char *out,
			     size_t out_len)
{
	unsigned char info[2 + 1 + 6 + 32 + 1];
	size_t label_len = strlen(label), info_len = 0;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];
	int ret = -1;

	EVP_KDF_free(kdf);
	if (!kctx) {
		conn_err(c, "OpenSSL has no HKDF KDF");
		return -1;
	}
	info[info_len++] = out_len >> 8;
	info[info_len++] = out_len & 0xff;
	info[info_len++] = 6 + label_len;
	memcpy(info + info_len, "tls13 ", 6);
	info_len += 6;
	memcpy(info + info_len, label, label_len);
	info_len += label_len;
	info[info_len++] = 0;	/* empty context */
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret,
						      secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, info_len);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		ret = 0;
	else
		conn_err(c, "HKDF-Expand-Label(%s) failed", label);
	EVP_KDF_CTX_free(kctx);
	return ret;
}

static int tls13_traffic_keys(struct conn *c, size_t key_len, const char *digest,
			      const unsigned char *secret, size_t secret_len,
			      struct traffic_keys *k)
{
	if (!secret_len) {
		conn_err(c, "no *_TRAFFIC_SECRET_0 line from the key log callback");
		return -1;
	}
	if (hkdf_expand_label(c, digest, secret, secret_len, "key", k->key, key_len) ||
	    hkdf_expand_label(c, digest, secret, secret_len, "iv", k->iv, 12))
		return -1;
	return 0;
}

static void fill_crypto_info(union ktls_crypto_info *ci, size_t *ci_len, int tls_version,
			     size_t key_len, const struct traffic_keys *k, uint64_t seq)
{
	unsigned char seq_be[8];
	/* the 4-byte salt is shared by TLS 1.2 (fixed IV) and TLS 1.3 (IV prefix) */
	unsigned char *key, *salt, *iv, *rec_seq;

	memset(ci, 0, sizeof(*ci));
	put_be64(seq_be, seq);
	ci->info.version = tls_version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	if (key_len == 16) {
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		key = ci->gcm128.key;
		salt = ci->gcm128.salt;
		iv = ci->gcm128.iv;
		rec_seq = ci->gcm128.rec_seq;
		*ci_len = sizeof(ci->gcm128);
	} else {
		ci->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		key = ci->gcm256.key;
		salt = ci->gcm256.salt;
		iv = ci->gcm256.iv;
		rec_seq = ci->gcm256.rec_seq;
		*ci_len = sizeof(ci->gcm256);
	}
	memcpy(key, k->key, key_len);
	memcpy(salt, k->iv, 4);
	if (tls_version == TLS1_3_VERSION)
		memcpy(iv, k->iv + 4, 8);
	else
		/*
		 * TLS 1.2 explicit nonce: the kernel sends iv and increments it
		 * per record; starting at the sequence number keeps nonces unique
		 * for this key (RFC 5288 3). On RX the kernel reads it from the record.
		 */
		memcpy(iv, seq_be, 8);
	memcpy(rec_seq, seq_be, 8);
}

/*
 * Hand the data OpenSSL already pulled off the socket to the application
 * before the kernel takes over RX. Without read-ahead OpenSSL stops at a
 * record boundary and nothing is pending; with it, whole or partial records
 * may sit in OpenSSL's buffer. Decrypt them through OpenSSL (reading the
 * rest of a partial record exactly, read-ahead off) and keep the plaintext
 * as the start of the stream; the msg callback counts them in rd.seq.
 */
static int drain_openssl_rx(struct conn *c)
{
	int flags = fcntl(c->fd, F_GETFL);
	int ret = 0;

	SSL_set_read_ahead(c->ssl, 0);
	if (!SSL_has_pending(c->ssl))
		return 0;
	fcntl(c->fd, F_SETFL, flags | O_NONBLOCK);
	while (SSL_has_pending(c->ssl)) {
		unsigned char tmp[16384];
		int n = SSL_read(c->ssl, tmp, sizeof(tmp));

		if (n > 0) {
			unsigned char *p = realloc(c->pre, c->pre_len + n);

			if (!p) {
				conn_err(c, "out of memory");
				ret = -1;
				break;
			}
			c->pre = p;
			memcpy(c->pre + c->pre_len, tmp, n);
			c->pre_len += n;
			continue;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_READ: {
			/* rest of a partial record is still in flight */
			struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

			if (!SSL_has_pending(c->ssl))
				break;
			if (poll(&pfd, 1, c->o->timeout_s * 1000) <= 0) {
				conn_err(c, "timed out completing a record buffered by OpenSSL");
				ret = -1;
			}
			break;
		}
		case SSL_ERROR_ZERO_RETURN:
			c->peer_closed = true;
			break;
		default:
			ssl_errors(c, "SSL_read (draining before kTLS RX)", n);
			ret = -1;
		}
		if (ret || c->peer_closed)
			break;
	}
	fcntl(c->fd, F_SETFL, flags);
	c->prebuffered = c->pre_len;
	conn_dbg(c, "took %zu plaintext bytes from OpenSSL's buffer before kTLS RX",
		 c->pre_len);
	return ret;
}

/*
 * --print-keys: the AES keys the kernel got, in hex only (a test searches
 * memory for the raw bytes, which this leaves nowhere else).
 */
static void print_keys(const struct conn *c, const struct traffic_keys *txk,
		       const struct traffic_keys *rxk, size_t key_len)
{
	char txh[65], rxh[65];

	hex(txh, txk->key, key_len);
	hex(rxh, rxk->key, key_len);
	printf("ktls-key: conn=%u dir=tx key=%s\nktls-key: conn=%u dir=rx key=%s\n",
	       c->id, txh, c->id, rxh);
	fflush(stdout);
	OPENSSL_cleanse(txh, sizeof(txh));
	OPENSSL_cleanse(rxh, sizeof(rxh));
}

int ktls_setsockopt(struct conn *c)
{
	const struct options *o = c->o;
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	int version = SSL_version(c->ssl);
	struct traffic_keys ck, sk, *txk, *rxk;
	union ktls_crypto_info ci;
	const char *digest;
	size_t key_len, ci_len;
	int ret = -1, i;

	memset(&ck, 0, sizeof(ck));
	memset(&sk, 0, sizeof(sk));
	switch (SSL_CIPHER_get_id(cipher) & 0xffff) {
	case 0xc02f:	/* ECDHE-RSA-AES128-GCM-SHA256 */
	case 0x1301:	/* TLS_AES_128_GCM_SHA256 */
		key_len = 16;
		digest = "SHA256";
		break;
	case 0xc030:	/* ECDHE-RSA-AES256-GCM-SHA384 */
	case 0x1302:	/* TLS_AES_256_GCM_SHA384 */
		key_len = 32;
		digest = "SHA384";
		break;
	default:
		conn_err(c, "negotiated cipher %s is not AES-GCM: kTLS keying not implemented",
			 SSL_CIPHER_get_name(cipher));
		return -1;
	}
	if (!c->rd.active || !c->wr.active) {
		conn_err(c, "record sequence tracking missed the key change (rd %d wr %d)",
			 c->rd.active, c->wr.active);
		return -1;
	}
	if (drain_openssl_rx(c))
		return -1;

	if (version == TLS1_3_VERSION) {
		if (tls13_traffic_keys(c, key_len, digest, c->c_secret, c->c_secret_len, &ck) ||
		    tls13_traffic_keys(c, key_len, digest, c->s_secret, c->s_secret_len, &sk))
			goto out;
	} else if (tls12_key_block(c, key_len, digest, &ck, &sk)) {
		goto out;
	}
	txk = o->server ? &sk : &ck;
	rxk = o->server ? &ck : &sk;
	conn_dbg(c, "keying kernel TLS: %s %s, tx seq %" PRIu64 ", rx seq %" PRIu64,
		 SSL_get_version(c->ssl), SSL_CIPHER_get_name(cipher), c->wr.seq, c->rd.seq);

	if (setsockopt(c->fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0) {
		conn_err(c, "setsockopt(TCP_ULP, \"tls\"): %s%s", strerror(errno),
			 errno == ENOENT ? " (kernel without the tls module?)" : "");
		goto out;
	}
	/*
	 * --ctrl keys RX first: in 6.1 keying RX replaces the socket's
	 * push_pending_record with software kTLS's even when TX is on the
	 * device, and a control record then joins the data record MSG_MORE
	 * left open (docs/reliability.md).
	 */
	for (i = 0; i < 2; i++) {
		bool tx = (i == 0) != (o->nctrl > 0);

		fill_crypto_info(&ci, &ci_len, version, key_len, tx ? txk : rxk,
				 tx ? c->wr.seq : c->rd.seq);
		if (setsockopt(c->fd, SOL_TLS, tx ? TLS_TX : TLS_RX, &ci, ci_len) < 0) {
			conn_err(c, "setsockopt(SOL_TLS, %s): %s", tx ? "TLS_TX" : "TLS_RX",
				 strerror(errno));
			goto out;
		}
		*(tx ? &c->ktls_tx : &c->ktls_rx) = true;
	}
	if (o->print_keys)
		print_keys(c, txk, rxk, key_len);
	ret = 0;
out:
	OPENSSL_cleanse(&ci, sizeof(ci));
	OPENSSL_cleanse(&ck, sizeof(ck));
	OPENSSL_cleanse(&sk, sizeof(sk));
	OPENSSL_cleanse(c->master, sizeof(c->master));
	OPENSSL_cleanse(c->c_secret, sizeof(c->c_secret));
	OPENSSL_cleanse(c->s_secret, sizeof(c->s_secret));
	return ret;
}

/* Whether the kernel has crypto state for TLS_TX/TLS_RX on this socket. */
static bool kernel_tls_keyed(int fd, int optname)
{
	/* header only: the kernel then copies no key material */
	struct tls_crypto_info info = { 0 };
	socklen_t len = sizeof(info);

	return getsockopt(fd, SOL_TLS, optname, &info, &len) == 0 && info.version;
}

/* --ktls openssl: check that OpenSSL handed the directions we use to the kernel. */
int ktls_check_openssl(struct conn *c)
{
	const struct options *o = c->o;
	bool bio_tx = BIO_get_ktls_send(SSL_get_wbio(c->ssl));
	bool bio_rx = BIO_get_ktls_recv(SSL_get_rbio(c->ssl));
	void (*report)(const struct conn *, const char *, ...) =
		o->allow_no_ktls ? conn_warn : conn_err;
	bool fail = false;

	c->ktls_tx = kernel_tls_keyed(c->fd, TLS_TX);
	c->ktls_rx = kernel_tls_keyed(c->fd, TLS_RX);
	if (bio_tx != c->ktls_tx || bio_rx != c->ktls_rx) {
		conn_err(c, "OpenSSL says kTLS tx=%d rx=%d but the kernel says tx=%d rx=%d",
			 bio_tx, bio_rx, c->ktls_tx, c->ktls_rx);
		return -1;
	}
	if (o->tx && !c->ktls_tx) {
		report(c, "OpenSSL did not enable kTLS TX (%s %s)%s", SSL_get_version(c->ssl),
		       SSL_get_cipher_name(c->ssl),
		       o->allow_no_ktls ? "; continuing (--allow-no-ktls)" : "");
		fail = true;
	}
	if (o->rx && !c->ktls_rx) {
		report(c, "OpenSSL did not enable kTLS RX (%s %s)%s%s", SSL_get_version(c->ssl),
		       SSL_get_cipher_name(c->ssl),
		       SSL_version(c->ssl) == TLS1_3_VERSION ?
				" - OpenSSL 3.0 implements kTLS RX for TLS 1.2 only" : "",
		       o->allow_no_ktls ? "; continuing (--allow-no-ktls)" : "");
		fail = true;
	}
	if (fail && !o->allow_no_ktls)
		return -1;
	if (o->tx && !c->ktls_tx && o->send == SEND_SENDFILE) {
		conn_err(c, "SSL_sendfile needs kTLS TX, which OpenSSL did not enable");
		return -1;
	}
	if (o->rx && conn_recv_method(c) != RECV_SSL) {
		/* raw recv()/read() beside OpenSSL: only on kTLS, after its buffer */
		if (!c->ktls_rx) {
			conn_err(c, "--recv %s needs kTLS RX, which OpenSSL did not enable",
				 recv_method_names[o->recv]);
			return -1;
		}
		return drain_openssl_rx(c);
	}
	return 0;
}

/* recvmsg() with the record type control message. */
ssize_t ktls_recvmsg(struct conn *c, void *buf, size_t len, unsigned char *type)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	n = recvmsg(c->fd, &msg, 0);
	*type = TLS_RT_APPLICATION_DATA;
	if (n < 0)
		return n;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_TLS && cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
		*type = *(unsigned char *)CMSG_DATA(cmsg);
	return n;
}

/* One record of this type on kernel TLS TX (TLS_SET_RECORD_TYPE), whole. */
int ktls_send_record(struct conn *c, unsigned char type, const void *p, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	if (!c->ktls_tx) {
		conn_err(c, "a record of type %u needs kernel TLS TX", type);
		return -1;
	}
	cmsg->cmsg_level = SOL_TLS;
	cmsg->cmsg_type = TLS_SET_RECORD_TYPE;
	cmsg->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*CMSG_DATA(cmsg) = type;
	msg.msg_controllen = cmsg->cmsg_len;
	if (sendmsg(c->fd, &msg, MSG_NOSIGNAL) != (ssize_t)len) {
		conn_err(c, "sending a record of type %u: %s", type, strerror(errno));
		return -1;
	}
	return 0;
}
