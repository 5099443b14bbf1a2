/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMBus ring buffers: pure logic over a header and a data area; no syscalls.
 *
 * The host can rewrite shared memory at any time. So: our own index is kept
 * privately and only ever published; the peer's index is loaded once per
 * operation (acquire) and validated; a packet is copied out of the ring before
 * any of it is interpreted, and its descriptor is taken from that copy.
 *
 * Signalling (include/linux/hyperv.h, drivers/hv/ring_buffer.c): a producer
 * signals only when the ring went from empty to non-empty and the consumer has
 * not set interrupt_mask (Windows hosts treat unexpected interrupts as a
 * possible denial of service). A consumer signals a blocked producer only when
 * the producer advertised pending_send_sz, was short of it before this read,
 * and has enough room now.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

#define load_acq(p) atomic_load_explicit((p), memory_order_acquire)
#define load_rlx(p) atomic_load_explicit((p), memory_order_relaxed)
#define store_rel(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define store_rlx(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define full_fence() atomic_thread_fence(memory_order_seq_cst)

static int ring_fail(struct vmbus_ring *r, int err)
{
	if (r->error == 0) {
		r->error = err;
		vmbus_debug("ring %p broken: %s", (void *)r, strerror(-err));
	}
	return r->error;
}

static bool index_valid(const struct vmbus_ring *r, uint32_t idx)
{
	return idx < r->dsize && (idx & 7u) == 0;
}

static uint32_t bytes_used(uint32_t dsize, uint32_t w, uint32_t rd)
{
	return w >= rd ? w - rd : dsize - rd + w;
}

/* Load and validate the index the peer owns. */
static int peer_index(struct vmbus_ring *r, uint32_t *ret)
{
	uint32_t v = load_acq(r->producer ? &r->hdr->read_index : &r->hdr->write_index);

	if (!index_valid(r, v))
		return ring_fail(r, -EPROTO);
	*ret = v;
	return 0;
}

void vmbus_ring_header_reset(struct hv_ring_header *h)
{
	store_rlx(&h->write_index, 0);
	store_rlx(&h->read_index, 0);
	store_rlx(&h->interrupt_mask, 0);
	store_rlx(&h->pending_send_sz, 0);
	memset(h->reserved1, 0, sizeof(h->reserved1));
	store_rel(&h->feature_bits, HV_RING_FEAT_PENDING_SEND_SZ);
}

int vmbus_ring_init(struct vmbus_ring *r, void *base, size_t total, size_t hdr_size, bool producer)
{
	size_t dsize;
	uint32_t idx;

	if (!r || !base || hdr_size < HV_RING_HEADER_MIN || total <= hdr_size)
		return -EINVAL;
	dsize = total - hdr_size;
	if (dsize % 8 || dsize > VMBUS_RING_SIZE_MAX)
		return -EINVAL;

	*r = (struct vmbus_ring){
		.hdr = base,
		.data = (uint8_t *)base + hdr_size,
		.dsize = (uint32_t)dsize,
		.producer = producer,
	};
	/* Resume from the published index (0 on a freshly opened channel). */
	idx = load_acq(producer ? &r->hdr->write_index : &r->hdr->read_index);
	if (!index_valid(r, idx))
		return -EPROTO;
	r->own_index = idx;
	return 0;
}

int vmbus_ring_bytes_to_read(struct vmbus_ring *r)
{
	uint32_t peer = 0;
	int e;

	if (r->error)
		return r->error;
	e = peer_index(r, &peer);
	if (e < 0)
		return e;
	return (int)(r->producer ? bytes_used(r->dsize, r->own_index, peer)
				 : bytes_used(r->dsize, peer, r->own_index));
}

/* Copy len bytes into the data area at off, splitting at the end. Returns the new offset. */
static uint32_t copy_to_ring(struct vmbus_ring *r, uint32_t off, const void *src, size_t len)
{
	size_t first = r->dsize - off;

	if (len < first) {
		memcpy(r->data + off, src, len);
		return off + (uint32_t)len;
	}
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const uint8_t *)src + first, len - first);
	return (uint32_t)(len - first);
}

static uint32_t copy_from_ring(const struct vmbus_ring *r, uint32_t off, void *dst, size_t len)
{
	size_t first = r->dsize - off;

	if (len < first) {
		memcpy(dst, r->data + off, len);
		return off + (uint32_t)len;
	}
	memcpy(dst, r->data + off, first);
	memcpy((uint8_t *)dst + first, r->data, len - first);
	return (uint32_t)(len - first);
}

static int space_for(struct vmbus_ring *r, size_t total, uint32_t *ret_rd)
{
	uint32_t rd = 0;
	int e = peer_index(r, &rd);

	if (e < 0)
		return e;
	*ret_rd = rd;
	/* Never fill the ring completely: read == write means empty. */
	return r->dsize - bytes_used(r->dsize, r->own_index, rd) > total;
}

int vmbus_ring_write(struct vmbus_ring *r, const struct iovec *iov, int n, bool *ret_signal)
{
	static const uint8_t zeros[8];
	size_t len = 0, total;
	uint32_t old_w, w, rd = 0;
	uint64_t trailer;
	int e;

	if (!r || !r->producer || (!iov && n) || n < 0 || !ret_signal)
		return -EINVAL;
	if (r->error)
		return r->error;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > r->dsize || (!iov[i].iov_base && iov[i].iov_len))
			return -EMSGSIZE;
		len += iov[i].iov_len;
	}
	if (len > r->dsize)
		return -EMSGSIZE;
	total = ALIGN8_UP(len) + HV_PKT_TRAILER;
	if (total >= r->dsize)
		return -EMSGSIZE;

	e = space_for(r, total, &rd);
	if (e < 0)
		return e;
	if (e == 0) {
		/*
		 * Ask the consumer to signal once this fits, then look again: it may
		 * have made room between our check and the store, and then it saw no
		 * pending_send_sz and will not signal.
		 */
		store_rlx(&r->hdr->pending_send_sz, (uint32_t)total);
		full_fence();
		e = space_for(r, total, &rd);
		if (e <= 0)
			return e < 0 ? e : -EAGAIN;
	}
	if (load_rlx(&r->hdr->pending_send_sz))
		store_rlx(&r->hdr->pending_send_sz, 0);

	old_w = w = r->own_index;
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len)
			w = copy_to_ring(r, w, iov[i].iov_base, iov[i].iov_len);
	if (ALIGN8_UP(len) != len)
		w = copy_to_ring(r, w, zeros, ALIGN8_UP(len) - len);
	trailer = (uint64_t)old_w << 32;
	w = copy_to_ring(r, w, &trailer, sizeof(trailer));

	/* Publish: the packet bytes are visible before the new index. */
	r->own_index = w;
	store_rel(&r->hdr->write_index, w);

	/* Signal on empty -> non-empty unless the consumer masked interrupts. */
	full_fence();
	if (load_rlx(&r->hdr->interrupt_mask)) {
		*ret_signal = false;
		return 0;
	}
	*ret_signal = load_acq(&r->hdr->read_index) == old_w;
	return 0;
}

int vmbus_ring_peek(struct vmbus_ring *r, void *buf, size_t buflen, size_t *ret_len)
{
	struct vmpacket_descriptor desc;
	uint32_t w = 0, rd, avail, off;
	size_t pkt_len;
	int e;

	if (!r || r->producer || !buf || !ret_len)
		return -EINVAL;
	if (r->error)
		return r->error;
	e = peer_index(r, &w);
	if (e < 0)
		return e;
	rd = r->own_index;
	avail = bytes_used(r->dsize, w, rd);
	if (avail == 0)
		return 0;
	/* Producers publish whole packets: a descriptor and a trailer at least. */
	if (avail < sizeof(desc) + HV_PKT_TRAILER)
		return ring_fail(r, -EPROTO);

	off = copy_from_ring(r, rd, &desc, sizeof(desc));
	if (desc.offset8 < 2 || desc.len8 < desc.offset8)
		return ring_fail(r, -EPROTO);
	pkt_len = (size_t)desc.len8 * 8;
	if (pkt_len + HV_PKT_TRAILER > avail)
		return ring_fail(r, -EPROTO);
	if (pkt_len > buflen) {
		*ret_len = pkt_len;
		return -EMSGSIZE;
	}
	/* Descriptor from our validated copy, the rest straight after it. */
	memcpy(buf, &desc, sizeof(desc));
	copy_from_ring(r, off, (uint8_t *)buf + sizeof(desc), pkt_len - sizeof(desc));
	*ret_len = pkt_len;
	return 1;
}

int vmbus_ring_advance(struct vmbus_ring *r, size_t pkt_len, bool *ret_signal)
{
	uint32_t pending, w, bytes_read, space;
	uint64_t next;

	if (!r || r->producer || !ret_signal || pkt_len % 8 || pkt_len > r->dsize)
		return -EINVAL;
	if (r->error)
		return r->error;
	*ret_signal = false;
	bytes_read = (uint32_t)pkt_len + HV_PKT_TRAILER;
	next = (uint64_t)r->own_index + bytes_read;
	if (next >= r->dsize)
		next -= r->dsize;
	r->own_index = (uint32_t)next;
	/* Our copies of the packet are done before the producer sees the room. */
	store_rel(&r->hdr->read_index, r->own_index);

	if (!(load_rlx(&r->hdr->feature_bits) & HV_RING_FEAT_PENDING_SEND_SZ))
		return 0;
	full_fence();
	pending = load_rlx(&r->hdr->pending_send_sz);
	if (pending == 0)
		return 0;
	w = load_acq(&r->hdr->write_index);
	if (!index_valid(r, w))
		return ring_fail(r, -EPROTO);
	space = r->dsize - bytes_used(r->dsize, w, r->own_index);
	/* Signal only if the producer was short before this read and fits now. */
	if (space < bytes_read || space - bytes_read > pending)
		return 0;
	*ret_signal = space > pending;
	return 0;
}

int vmbus_ring_read(struct vmbus_ring *r, void *buf, size_t buflen, size_t *ret_len,
		    bool *ret_signal)
{
	size_t len;
	int e;

	if (!ret_signal || !ret_len)
		return -EINVAL;
	*ret_signal = false;
	e = vmbus_ring_peek(r, buf, buflen, &len);
	if (e == -EMSGSIZE)
		*ret_len = len;
	if (e <= 0)
		return e;
	e = vmbus_ring_advance(r, len, ret_signal);
	if (e < 0)
		return e;
	*ret_len = len;
	return 1;
}

void vmbus_ring_mask(struct vmbus_ring *r)
{
	store_rlx(&r->hdr->interrupt_mask, 1);
	full_fence();
}

int vmbus_ring_unmask(struct vmbus_ring *r)
{
	store_rlx(&r->hdr->interrupt_mask, 0);
	/* The producer interrupts only on empty -> non-empty: look again after unmasking. */
	full_fence();
	return vmbus_ring_bytes_to_read(r);
}
