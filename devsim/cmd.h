/* SPDX-License-Identifier: GPL-2.0 */
/* tlsnic-devsim: the command channel (queue pair 1). */
#ifndef DSIM_CMD_H
#define DSIM_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"

/* Largest command the device accepts (header + the biggest body). */
#define DSIM_CMD_MAX_LEN	(sizeof(struct tlsnic_msg_hdr) + sizeof(struct tlsnic_ctx_create))

/*
 * Handles one message from the driver's command queue and queues the reply
 * on p->msgq. Returns 0 when a reply was queued (whatever its status),
 * -EINVAL when the message was dropped unanswered (shorter than a header,
 * or a reply: counted in cmd_bad) and -ENOSPC when the reply queue was full
 * (counted in cmd_no_buffer; the command was not executed). Callers keep a
 * free slot per command they take from the guest. Only the first
 * DSIM_CMD_MAX_LEN bytes of msg are read: a longer message needs no more
 * than that in memory and is answered BAD_MSG.
 */
int dsim_cmd_process(struct dsim_port *p, const uint8_t *msg, size_t len);

/*
 * The same at time now_ns (any monotonic clock, the one given to
 * dsim_cmd_msgs_ready()): with p->cmd_delay_ns set, the reply to a context
 * command is not sent before now_ns + cmd_delay_ns (counted in cmd_delayed).
 */
int dsim_cmd_process_at(struct dsim_port *p, const uint8_t *msg, size_t len, uint64_t now_ns);

/*
 * A stalled device takes no commands and sends no messages until it is
 * unstalled; it then answers what waited, in order. Counts cmd_stalls.
 */
void dsim_cmd_set_stalled(struct dsim_port *p, bool stalled);

/* How many commands the port may take now (room for their replies). */
uint32_t dsim_cmd_budget(const struct dsim_port *p);

/* How many queued messages, from the head, may be sent at now_ns (<= max). */
uint32_t dsim_cmd_msgs_ready(const struct dsim_port *p, uint64_t now_ns, uint32_t max);

/* The IDENTIFY reply body this port gives. */
void dsim_cmd_identify_body(const struct dsim_port *p, struct tlsnic_identify *id);

#endif /* DSIM_CMD_H */
