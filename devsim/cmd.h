/* SPDX-License-Identifier: GPL-2.0 */
/* tlsnic-devsim: the command channel (queue pair 1). */
#ifndef DSIM_CMD_H
#define DSIM_CMD_H

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

/* The IDENTIFY reply body this port gives. */
void dsim_cmd_identify_body(const struct dsim_port *p, struct tlsnic_identify *id);

#endif /* DSIM_CMD_H */
