/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost_e2e: what the case files share. vhost_e2e.c starts devsim, plays
 * the guests through DPDK's virtio-user ports and runs every case;
 * vhost_e2e_rx.c holds the TLS RX offload (ABI v2) cases. The helpers
 * take no DPDK types, so a case file needs no DPDK header.
 */
#ifndef VHOST_E2E_H
#define VHOST_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_DESC		256
#define DATA_Q		0
#define CMD_Q		1
#define NR_PORTS	4

struct tlsnic_identify;

/* devsim's --pcap file: every frame the wires delivered, before RX. */
extern char pcap_path[128];

uint64_t now_ms(void);

/* Counter "port<N>.<name>" from devsim's --stats-file, -1 if absent. */
long long stat_value(unsigned int port, const char *name);
bool stat_reaches_ms(unsigned int port, const char *name, long long want,
		     unsigned int ms);
bool stat_reaches(unsigned int port, const char *name, long long want);
/* Waits until the stats file shows all the device did before the call. */
bool stats_fresh(void);

bool send_buf(uint16_t port, uint16_t q, const void *data, size_t len);
unsigned int recv_bufs(uint16_t port, uint16_t q, uint8_t **bufs, size_t *lens,
		       unsigned int max, unsigned int ms);
void free_bufs(uint8_t **bufs, unsigned int n);
bool nothing_arrives(uint16_t port, const char *what);

/*
 * One command, one reply: returns the reply status (-1: no valid reply,
 * -2: OK with a body of the wrong size), body copied out. The header
 * carries the version the port negotiated at its last IDENTIFY.
 */
int command(uint16_t port, uint8_t opcode, const void *body, uint32_t len,
	    void *reply_body, uint32_t reply_len);
/* IDENTIFY offering @abi; the port speaks what the reply says from then on. */
int identify_abi(uint16_t port, uint32_t abi, struct tlsnic_identify *id);

/* tlsnic_tx_meta (no TLS, ctx_handle NONE) followed by @frame, into @buf. */
size_t with_meta(uint8_t *buf, uint16_t flags, uint16_t csum_start, uint16_t mss,
		 uint8_t gso, const uint8_t *frame, size_t flen);

/* vhost_e2e_rx.c */
bool tls_rx_identify_v2(void);
bool tls_rx_decrypts(void);
bool tls_rx_tampered_record(void);
bool tls_rx_resync_after_hole(void);
bool tls_rx_foreign_handle_refused(void);
bool tls_tx_into_rx(void);

#endif /* VHOST_E2E_H */
