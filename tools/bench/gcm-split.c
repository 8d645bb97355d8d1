// SPDX-License-Identifier: GPL-2.0
/*
 * gcm-split: what OpenSSL itself loses when a TLS record is sealed in
 * MSS-sized pieces, one EVP_EncryptUpdate() per piece, as a packet-based
 * engine must (each packet is encrypted before the next one arrives),
 * against the whole record in one call. No devsim code: the limit any
 * engine on EVP has at that granularity.
 *
 *   gcm-split [--cpu N] [--rounds N] [--piece BYTES]
 *
 * For AES-128-GCM and AES-256-GCM and 1, 4 and 16 KiB records, seals about
 * 1 MiB of records per pass (IV, 13-byte AAD, data, tag; key schedule
 * kept), whole and in pieces, alternating pass by pass; every pass's tags
 * and ciphertext must match between the two. Prints Gbit/s of plaintext
 * per CPU second of the thread and the ratio pieces / whole per round
 * (median, min-max over --rounds, default 7).
 */
#include <getopt.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#define ROUNDS_MAX	51
#define STREAM		(1 << 20)

static double thread_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Seals nrec records of rec bytes from in to out, piece bytes per update. */
static void seal(EVP_CIPHER_CTX *c, const uint8_t *in, uint8_t *out, uint8_t *tags,
		 size_t rec, size_t nrec, size_t piece)
{
	uint8_t iv[12] = { 1, 2, 3, 4 }, aad[13] = { 0 };
	int outl;

	for (size_t r = 0; r < nrec; r++) {
		iv[11] = (uint8_t)r;
		aad[7] = (uint8_t)r;
		aad[11] = (uint8_t)(rec >> 8);
		aad[12] = (uint8_t)rec;
		if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(c, NULL, &outl, aad, sizeof(aad)) != 1)
			exit(1);
		for (size_t off = 0; off < rec; off += piece) {
			int n = (int)(rec - off < piece ? rec - off : piece);

			if (EVP_EncryptUpdate(c, out + r * rec + off, &outl,
					      in + r * rec + off, n) != 1 || outl != n)
				exit(1);
		}
		if (EVP_EncryptFinal_ex(c, out, &outl) != 1 ||
		    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tags + r * 16) != 1)
			exit(1);
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "cpu", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "piece", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	static const size_t recs[] = { 1024, 4096, 16384 };
	int cpu = -1, rounds = 7, o;
	size_t piece = 1448;
	uint8_t key[32] = { 7 }, *in, *out[2], *tags[2];

	while ((o = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (o) {
		case 'c': cpu = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'p': piece = (size_t)atol(optarg); break;
		default:
			fprintf(stderr, "usage: gcm-split [--cpu N] [--rounds N] [--piece BYTES]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > ROUNDS_MAX || !piece) {
		fprintf(stderr, "gcm-split: --rounds 1..%d, --piece > 0\n", ROUNDS_MAX);
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	in = malloc(STREAM);
	out[0] = malloc(STREAM);
	out[1] = malloc(STREAM);
	tags[0] = malloc(STREAM / 1024 * 16);
	tags[1] = malloc(STREAM / 1024 * 16);
	if (!in || !out[0] || !out[1] || !tags[0] || !tags[1])
		return 1;
	for (size_t i = 0; i < STREAM; i++)
		in[i] = (uint8_t)(i * 131 + 7);
	printf("%-11s %6s %24s %24s %22s   (pieces of %zu B)\n", "cipher", "record",
	       "whole Gbit/s", "pieces Gbit/s", "pieces / whole", piece);
	for (int k = 0; k < 2; k++)
		for (size_t ri = 0; ri < sizeof(recs) / sizeof(recs[0]); ri++) {
			size_t rec = recs[ri], nrec = STREAM / rec;
			double v[2][ROUNDS_MAX], ratio[ROUNDS_MAX];
			EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

			if (!c || EVP_EncryptInit_ex(c, k ? EVP_aes_256_gcm() : EVP_aes_128_gcm(),
						     NULL, key, NULL) != 1)
				return 1;
			for (int r = 0; r < rounds; r++) {
				double t[2] = { 0, 0 };
				long passes = 0;

				/* Alternate pass by pass until each has 0.2 s. */
				while (t[0] < 0.2 || t[1] < 0.2) {
					for (int m = 0; m < 2; m++) {
						double t0 = thread_s();

						seal(c, in, out[m], tags[m], rec, nrec,
						     m ? piece : rec);
						t[m] += thread_s() - t0;
					}
					if (!passes++ && (memcmp(out[0], out[1], nrec * rec) ||
							  memcmp(tags[0], tags[1], nrec * 16))) {
						fprintf(stderr, "gcm-split: pieces differ\n");
						return 1;
					}
				}
				for (int m = 0; m < 2; m++)
					v[m][r] = (double)passes * (double)(nrec * rec) * 8 / t[m] / 1e9;
				ratio[r] = v[1][r] / v[0][r];
			}
			qsort(v[0], (size_t)rounds, sizeof(double), cmp);
			qsort(v[1], (size_t)rounds, sizeof(double), cmp);
			qsort(ratio, (size_t)rounds, sizeof(double), cmp);
			printf("%-11s %5zuK  %6.2f [%6.2f-%6.2f]  %6.2f [%6.2f-%6.2f]  %5.3fx "
			       "[%5.3f-%5.3f]\n", k ? "aes-256-gcm" : "aes-128-gcm", rec / 1024,
			       v[0][rounds / 2], v[0][0], v[0][rounds - 1], v[1][rounds / 2],
			       v[1][0], v[1][rounds - 1], ratio[rounds / 2], ratio[0],
			       ratio[rounds - 1]);
			EVP_CIPHER_CTX_free(c);
		}
	return 0;
}
