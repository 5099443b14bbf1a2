/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMBus wire formats: ring header, packet descriptor, pipe and IC headers.
 * Little-endian, packed, as in include/linux/hyperv.h. Only the ring header
 * fields that both sides touch concurrently are atomics.
 */
#pragma once

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One direction's ring header. It occupies one page; the peer sees 4 KiB of it. */
struct hv_ring_header {
	_Atomic uint32_t write_index;     /* producer's byte offset into data */
	_Atomic uint32_t read_index;      /* consumer's byte offset into data */
	_Atomic uint32_t interrupt_mask;  /* set by the consumer: 1 = don't interrupt me */
	_Atomic uint32_t pending_send_sz; /* set by a blocked producer: bytes it needs */
	uint32_t reserved1[12];
	_Atomic uint32_t feature_bits;    /* bit 0: pending_send_sz is honoured */
};
static_assert(sizeof(_Atomic uint32_t) == 4, "atomic u32 must be plain-sized");
static_assert(offsetof(struct hv_ring_header, read_index) == 0x04, "layout");
static_assert(offsetof(struct hv_ring_header, interrupt_mask) == 0x08, "layout");
static_assert(offsetof(struct hv_ring_header, pending_send_sz) == 0x0c, "layout");
static_assert(offsetof(struct hv_ring_header, feature_bits) == 0x40, "layout");

#define HV_RING_FEAT_PENDING_SEND_SZ 0x1u
#define HV_RING_HEADER_MIN 4096u

struct vmpacket_descriptor {
	uint16_t type;
	uint16_t offset8; /* header length in 8-byte units */
	uint16_t len8;    /* total packet length in 8-byte units */
	uint16_t flags;
	uint64_t trans_id;
} __attribute__((packed));
static_assert(sizeof(struct vmpacket_descriptor) == 16, "descriptor is 16 bytes");

#define HV_PKT_TRAILER 8u

struct vmbuspipe_hdr {
	uint32_t flags;
	uint32_t msgsize;
} __attribute__((packed));
static_assert(sizeof(struct vmbuspipe_hdr) == 8, "pipe header is 8 bytes");

struct ic_version {
	uint16_t major;
	uint16_t minor;
} __attribute__((packed));

struct icmsg_hdr {
	struct ic_version icverframe;
	uint16_t icmsgtype;
	struct ic_version icvermsg;
	uint16_t icmsgsize;
	uint32_t status;
	uint8_t ictransaction_id;
	uint8_t icflags;
	uint8_t reserved[2];
} __attribute__((packed));
static_assert(sizeof(struct icmsg_hdr) == 20, "icmsg header is 20 bytes");
static_assert(offsetof(struct icmsg_hdr, status) == 12, "layout");

struct icmsg_negotiate {
	uint16_t icframe_vercnt;
	uint16_t icmsg_vercnt;
	uint32_t reserved;
	struct ic_version icversion_data[]; /* framework versions, then service versions */
} __attribute__((packed));
static_assert(sizeof(struct icmsg_negotiate) == 8, "negotiate header is 8 bytes");

#define IC_HDR_LEN (sizeof(struct vmbuspipe_hdr) + sizeof(struct icmsg_hdr)) /* 28 */
static_assert(IC_HDR_LEN == 28, "ICMSG_HDR is 28");
