/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvmbus private interfaces: the pure ring layer and the channel backends. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hv-wire.h"
#include "macro.h"
#include "vmbus/vmbus.h"

#define VMBUS_EXPORT __attribute__((visibility("default")))

/* ---- ring.c: pure ring-buffer logic on (header, data, size); no syscalls ---- */

/*
 * One direction of a channel, seen from one side. The side either produces
 * (writes packets, owns write_index) or consumes (reads packets, owns read_index).
 * Our own index lives in a private copy: the peer can scribble on shared memory,
 * so what we publish is never read back.
 */
struct vmbus_ring {
	struct hv_ring_header *hdr;
	uint8_t *data;
	uint32_t dsize;     /* data bytes, multiple of 8 */
	uint32_t own_index; /* write_index if producer, read_index if consumer */
	int error;          /* < 0 once the ring is broken */
	bool producer;
};

/* hdr_size: bytes reserved for the header (one page). total: header + data. */
int vmbus_ring_init(struct vmbus_ring *r, void *base, size_t total, size_t hdr_size, bool producer);
/* Initialise a fresh header (host side of an fd channel): indices 0, feature bits 1. */
void vmbus_ring_header_reset(struct hv_ring_header *h);

/* Bytes in use (written and not yet read), from validated indices. */
int vmbus_ring_bytes_to_read(struct vmbus_ring *r);

/*
 * Producer: write one packet made of iov[0..n) (descriptor + payload), padding to 8
 * and the trailer. On success *ret_signal says whether the consumer must be signalled.
 * -EAGAIN: does not fit now (pending_send_sz set); -EMSGSIZE: can never fit.
 */
int vmbus_ring_write(struct vmbus_ring *r, const struct iovec *iov, int n, bool *ret_signal);

/*
 * Consumer: copy one whole packet (descriptor included) into buf.
 * Returns 1 and *ret_len = packet bytes (len8 * 8), 0 if empty, -EMSGSIZE if buflen is
 * too small (nothing consumed; *ret_len = bytes needed), -EPROTO if the ring is
 * inconsistent (ring broken). *ret_signal says whether a blocked producer must be signalled.
 */
int vmbus_ring_read(struct vmbus_ring *r, void *buf, size_t buflen, size_t *ret_len,
		    bool *ret_signal);

/* Consumer, in two steps: copy the next packet out (validated) without consuming it... */
int vmbus_ring_peek(struct vmbus_ring *r, void *buf, size_t buflen, size_t *ret_len);
/* ...then consume pkt_len bytes (as returned by peek) plus the trailer. */
int vmbus_ring_advance(struct vmbus_ring *r, size_t pkt_len, bool *ret_signal);

/* Consumer: set or clear our interrupt mask. Clearing returns bytes_to_read after a full fence. */
void vmbus_ring_mask(struct vmbus_ring *r);
int vmbus_ring_unmask(struct vmbus_ring *r);

/* ---- channel.c ---- */

struct vmbus_backend_ops {
	/* Consume pending interrupts without blocking: 1 = had one, 0 = none. */
	int (*ack)(struct vmbus_channel *ch);
	/* Signal the peer. */
	int (*signal)(struct vmbus_channel *ch);
	/* Release backend resources (fds, mapping). */
	void (*close)(struct vmbus_channel *ch);
};

struct vmbus_channel {
	const struct vmbus_backend_ops *ops;
	struct vmbus_ring tx; /* we produce */
	struct vmbus_ring rx; /* we consume */
	void *map;
	size_t map_len;
	int wait_fd;   /* pollable: uio fd or irq eventfd */
	int signal_fd; /* uio fd or signal eventfd */
	int side;
	uint8_t *rxbuf; /* private copy of one packet, rx.dsize bytes */
	bool rescinded;
	int64_t busy_poll_ns; /* drain: spin this long on an empty ring before sleeping */
};

/* Allocate a channel over a mapping of 2*ring_size bytes. tx_first: our TX ring is first. */
int vmbus_channel_new(void *map, size_t map_len, size_t ring_size, size_t hdr_size, bool tx_first,
		      const struct vmbus_backend_ops *ops, struct vmbus_channel **ret);

/* ---- fd.c / uio.c ---- */
/* "R,I,D" -> three fds. */
int vmbus_parse_fd_spec(const char *s, int fds[3]);
/* Normalise a class GUID ("{ABC...}" or "abc...") to 36 lower-case chars + NUL. */
int vmbus_guid_normalize(const char *in, char out[37]);

/* ---- log.c ---- */
void vmbus_log(int priority, const char *fmt, ...) _printf_(2, 3);
#define vmbus_debug(...) vmbus_log(7, __VA_ARGS__)
