/* SPDX-License-Identifier: GPL-2.0 */
/* tlsnic-devsim: vhost-user ports (DPDK glue). */
#ifndef DSIM_VHOST_H
#define DSIM_VHOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "wire.h"

struct vport_config {
	const char *const *paths;	/* socket per port; port 2k wired to 2k+1 */
	unsigned int nr_ports;
	uint32_t max_contexts;
	bool tls_tx;			/* plug in the TLS TX engine (tls_dev.h) */
	bool tls_rx;			/* and the RX engine (tls_rx_dev.h) */
	bool verbose;
	const struct dsim_wire_cfg *wire;	/* faults; NULL: a perfect wire */
	const char *pcap_path;		/* capture every frame to it; or NULL */
	uint32_t cmd_delay_ms;		/* hold context command replies back */
	const char *cmd_stall_path;	/* while it exists, answer nothing; or NULL */
};

/* EAL memory (-m, MB) that nr_ports ports need: their pools and the rest. */
unsigned int vport_eal_mem_mb(unsigned int nr_ports);
/* Creates pools, ports and vhost-user servers; returns 0 or -errno. */
int vport_setup(const struct vport_config *cfg);
/* Starts listening on every socket. */
int vport_start(void);
/*
 * One pass of the data path over all ports. Returns how much work was done
 * (0 = idle). Called only from the data-path thread, which must have called
 * vport_thread_online() first.
 */
unsigned int vport_poll(void);
/* Whether any port has a guest device; for the idle policy. */
bool vport_any_running(void);
void vport_thread_online(void);
void vport_thread_offline(void);
/*
 * Stops the servers (connected devices are destroyed), releases frames
 * held on the wire and completes the capture file. Data path offline.
 */
void vport_stop(void);
/* Wipes every context and frees everything. */
void vport_free(void);
/*
 * Writes out the buffered part of the capture (the data path does so by
 * itself every DSIM_PCAP_FLUSH_NS). Data-path thread.
 */
void vport_capture_flush(void);
/*
 * Gives every port's wire cfg's fault rates (valid; dsim_wire_set_faults)
 * and counts wire_config_changes; or counts a refused wire_control_errors.
 * Data-path thread: the change falls between two frames.
 */
void vport_wire_set_faults(const struct dsim_wire_cfg *cfg);
void vport_wire_control_error(void);
/*
 * Prints every port's counters, then the data thread's time in polls that
 * did work and in empty ones (dev.poll_work_ns, dev.poll_idle_ns);
 * data-path thread (or after vport_stop).
 */
int vport_print_counters(FILE *f);

#endif /* DSIM_VHOST_H */
