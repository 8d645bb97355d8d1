/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tlsnic-devsim: wire capture in the classic pcap format.
 *
 * LINKTYPE_ETHERNET, microsecond timestamps, snaplen 65535, host byte order
 * (readers recognise it by the magic). Records are gathered in a buffer and
 * written with write(2) when it fills and whenever the caller flushes (the
 * data path does every DSIM_PCAP_FLUSH_NS), so a killed run still leaves a
 * readable file that ends on a record boundary: a failed write is cut off
 * again (ftruncate) to the last complete flush.
 *
 * Frames are accounted per source (the sending port): "captured" counts
 * frames that reached the file, "errors" frames lost to a write error or
 * to a broken file. Both move when a flush completes.
 */
#ifndef DSIM_PCAP_H
#define DSIM_PCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define DSIM_PCAP_MAGIC_US	0xa1b2c3d4U
#define DSIM_PCAP_SNAPLEN	65535U
#define DSIM_PCAP_LINKTYPE_ETH	1U
#define DSIM_PCAP_HDR_LEN	24U
#define DSIM_PCAP_REC_HDR_LEN	16U
#define DSIM_PCAP_BUF_SIZE	(256U * 1024U)
#define DSIM_PCAP_MAX_SOURCES	16U
/* How long a captured frame may sit in the buffer. */
#define DSIM_PCAP_FLUSH_NS	200000000ULL

struct dsim_pcap {
	int fd;
	bool broken;		/* the file could not be repaired: stop writing */
	int err;		/* errno of the last failure, 0 if none */
	int64_t clock_offset_ns; /* added to timestamps: caller clock -> UTC */
	off_t good_off;		/* file length after the last complete flush */
	uint64_t oldest_ns;	/* timestamp of the oldest buffered record */
	size_t used;
	uint8_t *buf;		/* DSIM_PCAP_BUF_SIZE */
	uint32_t pending[DSIM_PCAP_MAX_SOURCES];	/* frames in buf */
	uint64_t captured[DSIM_PCAP_MAX_SOURCES];
	uint64_t errors[DSIM_PCAP_MAX_SOURCES];
};

/*
 * Creates (truncates) path and writes the file header at once, so that
 * even a capture of nothing is a valid file. clock_offset_ns converts the
 * timestamps given to dsim_pcap_write() to nanoseconds since the epoch.
 * Returns 0 or -errno.
 */
int dsim_pcap_open(struct dsim_pcap *pc, const char *path, int64_t clock_offset_ns);

/*
 * Appends a frame (cut to the snaplen) from source src, timestamped ts_ns
 * on the caller's clock. May flush; failures are accounted, not returned.
 */
void dsim_pcap_write(struct dsim_pcap *pc, unsigned int src, uint64_t ts_ns,
		     const uint8_t *frame, uint32_t len);

/* Whether buffered records are older than DSIM_PCAP_FLUSH_NS at now_ns. */
static inline bool dsim_pcap_flush_due(const struct dsim_pcap *pc, uint64_t now_ns)
{
	return pc->used && now_ns - pc->oldest_ns >= DSIM_PCAP_FLUSH_NS;
}

/* Writes the buffer out. Returns 0, or -errno when frames were lost. */
int dsim_pcap_flush(struct dsim_pcap *pc);

/* Flushes and closes. Returns 0 or -errno (of the flush or close). */
int dsim_pcap_close(struct dsim_pcap *pc);

#endif /* DSIM_PCAP_H */
