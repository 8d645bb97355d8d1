/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause */
/*
 * tlsnic device ABI, version 2 (a device or driver may also speak version 1).
 *
 * Shared by the driver (driver/) and the device (devsim/). The datasheet,
 * docs/device-interface.md, is the reference for every structure and rule
 * here; this header only gives them names and sizes.
 *
 * Transport: a virtio-net device (VIRTIO_ID_NET) with two queue pairs.
 * Queue pair 0 carries frames, queue pair 1 carries commands (driver to
 * device, on its TX queue) and completions and events (device to driver,
 * on its RX queue). Every buffer still starts with a struct
 * virtio_net_hdr_mrg_rxbuf, which the driver leaves zeroed on transmit:
 * checksum, TSO and TLS requests travel in the tlsnic metadata instead.
 *
 * All multi-byte fields are little-endian unless typed __be, in which case
 * they are copied verbatim from or to the wire.
 */
#ifndef _UAPI_TLSNIC_H
#define _UAPI_TLSNIC_H

#include <linux/types.h>

#define TLSNIC_ABI_MAGIC	0x4e534c54	/* "TLSN" in memory order */
#define TLSNIC_ABI_VERSION	2	/* highest version defined here */
#define TLSNIC_ABI_VERSION_MIN	1	/* lowest; IDENTIFY's header carries it */

#define TLSNIC_DATA_QP		0	/* frames */
#define TLSNIC_CMD_QP		1	/* commands, completions, events */
#define TLSNIC_NUM_QP		2	/* with one data queue pair */

/*
 * v2: a device may offer more data queue pairs (tlsnic_identify.data_qps).
 * Data queue pair k is virtio queue pair 0 for k = 0 and k + 1 after that,
 * so the command queue pair stays at 1.
 */
static inline __u16 tlsnic_data_qp(__u16 k)
{
	return k ? k + 1 : TLSNIC_DATA_QP;
}

/* ---- Command channel ------------------------------------------------- */

/* Every message on the command queue pair starts with this header. */
struct tlsnic_msg_hdr {
	__le32 magic;		/* TLSNIC_ABI_MAGIC */
	__u8 version;		/* version in use; IDENTIFY: TLSNIC_ABI_VERSION_MIN */
	__u8 opcode;		/* enum tlsnic_opcode */
	__le16 status;		/* enum tlsnic_status; 0 in commands */
	__le32 tag;		/* chosen by the driver, echoed in the reply */
	__le32 len;		/* bytes of body after this header */
};

/* A reply carries the opcode of its command with TLSNIC_OP_REPLY set. */
#define TLSNIC_OP_REPLY		0x80

enum tlsnic_opcode {
	TLSNIC_OP_IDENTIFY	= 0x01,	/* body: tlsnic_identify_cmd */
	TLSNIC_OP_CTX_CREATE	= 0x02,	/* body: tlsnic_ctx_create */
	TLSNIC_OP_CTX_DESTROY	= 0x03,	/* body: tlsnic_ctx_ref */
	TLSNIC_OP_RX_RESYNC	= 0x04,	/* v2, body: tlsnic_rx_resync */

	/* Unsolicited events, device to driver (tag is 0). */
	TLSNIC_EV_RX_RESYNC_REQ	= 0x41,	/* v1 only, never sent: reserved */
	TLSNIC_EV_TX_DROP	= 0x42,	/* body: tlsnic_tx_drop */
	TLSNIC_EV_HELLO		= 0x43,	/* body: tlsnic_hello; header version 1 */
};

enum tlsnic_status {
	TLSNIC_ST_OK		= 0,
	TLSNIC_ST_BAD_MSG	= 1,	/* malformed header or body */
	TLSNIC_ST_BAD_OPCODE	= 2,	/* unknown opcode */
	TLSNIC_ST_UNSUPPORTED	= 3,	/* version, cipher or direction */
	TLSNIC_ST_NO_SPACE	= 4,	/* context table full */
	TLSNIC_ST_BAD_HANDLE	= 5,	/* unknown or stale context handle */
	TLSNIC_ST_STALE		= 6,	/* v2 RX_RESYNC: not the open request */
	TLSNIC_ST_REFUSED	= 7,	/* v2 RX_RESYNC: contradicts the stream */
	TLSNIC_ST_EXISTS	= 8,	/* v2 CTX_CREATE: flow has an RX context */
};

/* Device capabilities (tlsnic_identify.caps). */
#define TLSNIC_CAP_CSUM		(1U << 0)	/* L4 checksum on transmit */
#define TLSNIC_CAP_TSO		(1U << 1)	/* TCP segmentation, v4 and v6 */
#define TLSNIC_CAP_RX_CSUM	(1U << 2)	/* verified checksum on receive */
#define TLSNIC_CAP_TLS_TX	(1U << 3)	/* inline TLS encryption */
#define TLSNIC_CAP_TLS_RX	(1U << 4)	/* inline TLS decryption */
#define TLSNIC_CAP_TX_DROP_EVENT (1U << 5)	/* reports TLS TX drops */
/*
 * v2: RX resync requests travel in the RX metadata of the frame holding
 * the candidate header (Linux TLS_OFFLOAD_SYNC_TYPE_DRIVER_REQ). A device
 * offers TLSNIC_CAP_TLS_RX only with a resync mode.
 */
#define TLSNIC_CAP_RX_RESYNC_REQ (1U << 6)

/* TLS versions (tlsnic_identify.tls_versions, bit = 1 << enum value). */
enum tlsnic_tls_version {
	TLSNIC_TLS_1_2		= 0,
	TLSNIC_TLS_1_3		= 1,
};

/* Ciphers (tlsnic_identify.ciphers, bit = 1 << enum value). */
enum tlsnic_cipher {
	TLSNIC_CIPHER_AES_GCM_128	= 0,
	TLSNIC_CIPHER_AES_GCM_256	= 1,
};

/*
 * The device announces itself with HELLO on the command queue pair whenever
 * the driver enables that pair, before the driver has sent anything there:
 * a driver sends no command to a backend that did not say HELLO (a plain
 * virtio-net backend would put it on the wire as a frame).
 */
struct tlsnic_hello {
	__le32 abi_version;	/* highest version the device speaks */
	__le32 reserved;
};

struct tlsnic_identify_cmd {
	__le32 abi_version;	/* highest version the driver speaks */
	__le32 reserved;
};

struct tlsnic_identify {
	__le32 abi_version;	/* version the device will speak */
	__le32 caps;		/* TLSNIC_CAP_* */
	__le32 tls_versions;	/* 1 << enum tlsnic_tls_version */
	__le32 ciphers;		/* 1 << enum tlsnic_cipher */
	__le32 max_contexts;	/* per port, both directions together */
	__le32 max_tso_bytes;	/* largest frame the device segments */
	__le16 port;		/* device port number */
	__le16 data_qps;	/* v2: data queue pairs (v1: 0, meaning 1) */
	char fw_version[20];	/* NUL-terminated */
};

enum tlsnic_dir {
	TLSNIC_DIR_TX		= 0,
	TLSNIC_DIR_RX		= 1,
};

/*
 * A context handle is an index in the device's table (low 20 bits) and the
 * generation of that slot (high 12 bits), so that a handle that outlived its
 * context is recognised and refused.
 */
#define TLSNIC_HANDLE_INDEX_BITS	20
#define TLSNIC_HANDLE_INDEX_MASK	((1U << TLSNIC_HANDLE_INDEX_BITS) - 1)
#define TLSNIC_HANDLE_NONE		0xffffffffU

struct tlsnic_ctx_create {
	__u8 dir;		/* enum tlsnic_dir */
	__u8 tls_version;	/* enum tlsnic_tls_version */
	__u8 cipher;		/* enum tlsnic_cipher */
	__u8 family;		/* 4 or 6 */
	__u8 key[32];		/* first 16 or 32 bytes used */
	__u8 salt[4];		/* implicit nonce part */
	__u8 iv[8];		/* TX: explicit nonce of the first record */
	__u8 rec_seq[8];	/* big-endian number of the first record */
	__le32 tcp_seq;		/* TCP sequence of the first record header */
	/*
	 * The flow, as the device sees it on the wire for this direction:
	 * for RX the peer's address and port are the source. RX contexts are
	 * found by this flow; one per flow.
	 */
	__be32 saddr[4];	/* IPv4 in saddr[0] */
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
};

/* Reply body of CTX_CREATE; command body of CTX_DESTROY. */
struct tlsnic_ctx_ref {
	__le32 handle;
	__le32 reserved;
};

/*
 * v2: the driver answers a resync request (TLSNIC_RX_F_TLS_RESYNC_REQ): the
 * record whose header starts at tcp_seq has number rec_seq. Sequence
 * numbers in this ABI are those of a header's first byte; Linux's RX
 * resync API uses its last (+ 4).
 */
struct tlsnic_rx_resync {
	__le32 handle;
	__le32 tcp_seq;		/* TCP sequence of the header's first byte */
	__u8 rec_seq[8];	/* big-endian number of that record */
	__le32 resync_id;	/* of the request answered */
	__le32 reserved;
};

/* Why the device dropped a TLS frame (tlsnic_tx_drop.reason). */
enum tlsnic_tx_drop_reason {
	TLSNIC_TX_DROP_NO_SYNC		= 0,	/* not where the stream stands */
	TLSNIC_TX_DROP_DUMP		= 1,	/* dump is not record start..frame */
	TLSNIC_TX_DROP_BAD_RECORD	= 2,	/* invalid record header */
	TLSNIC_TX_DROP_RESYNC_INFO	= 3,	/* resync info refused */
	TLSNIC_TX_DROP_DEVICE		= 4,	/* device fault */
};

/*
 * The device dropped a frame of a TLS TX context: its stream state stays
 * where it was, so the driver sends the context's next frame with resync
 * information. At most one per context until the device sees such a frame.
 */
struct tlsnic_tx_drop {
	__le32 handle;
	__le32 tcp_seq;		/* TCP sequence of the dropped frame */
	__u8 reason;		/* enum tlsnic_tx_drop_reason */
	__u8 reserved[3];
};

/* ---- Data path metadata ---------------------------------------------- */

/*
 * On the data TX queue, after the virtio-net header: struct tlsnic_tx_meta,
 * then dump_len bytes of record plaintext (TLS resync only), then the
 * Ethernet frame.
 */
#define TLSNIC_TX_F_CSUM	(1U << 0)	/* fill in the L4 checksum */
#define TLSNIC_TX_F_TSO		(1U << 1)	/* segment to mss */
#define TLSNIC_TX_F_TLS		(1U << 2)	/* encrypt with ctx_handle */
#define TLSNIC_TX_F_TLS_RESYNC	(1U << 3)	/* rec_tcp_seq/rec_seq valid */

enum tlsnic_gso_type {
	TLSNIC_GSO_NONE		= 0,
	TLSNIC_GSO_TCPV4	= 1,
	TLSNIC_GSO_TCPV6	= 2,
};

/* Smallest TSO mss the device accepts; smaller ones are segmented by the host. */
#define TLSNIC_TSO_MIN_MSS	64

struct tlsnic_tx_meta {
	__le16 flags;		/* TLSNIC_TX_F_* */
	__le16 csum_start;	/* frame offset where the L4 sum starts */
	__le16 csum_offset;	/* where the sum goes, from csum_start */
	__le16 mss;		/* TSO: payload bytes per segment */
	__u8 gso_type;		/* enum tlsnic_gso_type */
	__u8 reserved0;
	__le16 dump_len;	/* record bytes before the frame (resync) */
	__le32 ctx_handle;	/* TLS: context, else TLSNIC_HANDLE_NONE */
	__le32 rec_tcp_seq;	/* resync: TCP seq of the record header */
	__u8 rec_seq[8];	/* resync: big-endian record number */
	__le32 reserved1;
};

/* On the data RX queue, after the virtio-net header, before the frame. */
#define TLSNIC_RX_F_CSUM_OK		(1U << 0)	/* L3/L4 checksums good */
#define TLSNIC_RX_F_TLS_DECRYPTED	(1U << 1)	/* TLS payload is plaintext */
#define TLSNIC_RX_F_TLS_RESYNC_REQ	(1U << 2)	/* v2: resync_* valid */

struct tlsnic_rx_meta {
	__le16 flags;		/* TLSNIC_RX_F_* */
	__le16 reserved0;
	__le32 ctx_handle;	/* v2: RX context of the flow, or HANDLE_NONE */
	__le32 resync_seq;	/* RESYNC_REQ: candidate header's first byte */
	__le32 resync_id;	/* RESYNC_REQ: echoed in RX_RESYNC */
};

#endif /* _UAPI_TLSNIC_H */
