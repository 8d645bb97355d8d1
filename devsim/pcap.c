// SPDX-License-Identifier: GPL-2.0
/* tlsnic-devsim: wire capture in the classic pcap format. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcap.h"

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec;
	uint32_t ts_usec;
	uint32_t incl_len;
	uint32_t orig_len;
};

_Static_assert(sizeof(struct pcap_file_hdr) == DSIM_PCAP_HDR_LEN, "pcap file header");
_Static_assert(sizeof(struct pcap_rec_hdr) == DSIM_PCAP_REC_HDR_LEN, "pcap record header");

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int dsim_pcap_open(struct dsim_pcap *pc, const char *path, int64_t clock_offset_ns)
{
	const struct pcap_file_hdr hdr = {
		.magic = DSIM_PCAP_MAGIC_US,
		.version_major = 2,
		.version_minor = 4,
		.snaplen = DSIM_PCAP_SNAPLEN,
		.linktype = DSIM_PCAP_LINKTYPE_ETH,
	};
	int ret;

	memset(pc, 0, sizeof(*pc));
	pc->clock_offset_ns = clock_offset_ns;
	pc->buf = malloc(DSIM_PCAP_BUF_SIZE);
	if (!pc->buf)
		return -ENOMEM;
	pc->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (pc->fd < 0) {
		ret = -errno;
		goto free_buf;
	}
	ret = write_all(pc->fd, (const uint8_t *)&hdr, sizeof(hdr));
	if (ret)
		goto close_fd;
	pc->good_off = sizeof(hdr);
	return 0;

close_fd:
	close(pc->fd);
free_buf:
	free(pc->buf);
	pc->buf = NULL;
	pc->fd = -1;
	return ret;
}

int dsim_pcap_flush(struct dsim_pcap *pc)
{
	unsigned int i;
	int ret;

	if (!pc->used)
		return 0;
	ret = write_all(pc->fd, pc->buf, pc->used);
	if (!ret) {
		pc->good_off += (off_t)pc->used;
		for (i = 0; i < DSIM_PCAP_MAX_SOURCES; i++)
			pc->captured[i] += pc->pending[i];
	} else {
		pc->err = -ret;
		for (i = 0; i < DSIM_PCAP_MAX_SOURCES; i++)
			pc->errors[i] += pc->pending[i];
		/* A partial record would make the rest of the file unreadable. */
		if (ftruncate(pc->fd, pc->good_off) || lseek(pc->fd, pc->good_off, SEEK_SET) < 0)
			pc->broken = true;
	}
	pc->used = 0;
	memset(pc->pending, 0, sizeof(pc->pending));
	return ret;
}

void dsim_pcap_write(struct dsim_pcap *pc, unsigned int src, uint64_t ts_ns,
		     const uint8_t *frame, uint32_t len)
{
	uint32_t incl = len < DSIM_PCAP_SNAPLEN ? len : DSIM_PCAP_SNAPLEN;
	struct pcap_rec_hdr rec;
	int64_t t;

	if (src >= DSIM_PCAP_MAX_SOURCES)
		src = DSIM_PCAP_MAX_SOURCES - 1;
	if (pc->used + sizeof(rec) + incl > DSIM_PCAP_BUF_SIZE)
		dsim_pcap_flush(pc);
	if (pc->broken) {
		pc->errors[src]++;
		return;
	}
	if (!pc->used)
		pc->oldest_ns = ts_ns;
	t = (int64_t)ts_ns + pc->clock_offset_ns;
	if (t < 0)
		t = 0;
	rec.ts_sec = (uint32_t)(t / 1000000000);
	rec.ts_usec = (uint32_t)(t % 1000000000 / 1000);
	rec.incl_len = incl;
	rec.orig_len = len;
	memcpy(pc->buf + pc->used, &rec, sizeof(rec));
	memcpy(pc->buf + pc->used + sizeof(rec), frame, incl);
	pc->used += sizeof(rec) + incl;
	pc->pending[src]++;
}

int dsim_pcap_close(struct dsim_pcap *pc)
{
	int ret = 0;

	if (!pc->buf)
		return 0;
	if (!pc->broken)
		ret = dsim_pcap_flush(pc);
	if (close(pc->fd) && !ret)
		ret = -errno;
	free(pc->buf);
	pc->buf = NULL;
	pc->fd = -1;
	return ret;
}
