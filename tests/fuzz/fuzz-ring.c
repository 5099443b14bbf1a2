/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: the consumer side of a ring whose shared memory a hostile
 * peer wrote, through the pure ring layer and through an fd channel.
 *
 * Input (little-endian):
 *   [0,4)   write_index        [4,8) read_index      [8,12) pending_send_sz
 *   [12]    flags (FL_*)       [13]  receive buffer: 0 = data size, else n * 8 bytes
 *   [14,16) a second write_index (in 8-byte units) the peer stores after the
 *           first packet (between peek and advance with FL_PEEK)
 *   [16,..) the data area from offset 0; the rest of it is zero
 *
 * Unless FL_RAW_INDEX is set, indices are folded into [0, DSIZE) and aligned
 * to 8, so that most runs get past index validation and reach the packets.
 *
 * 1. Pure ring: the header page and data area are one heap block of exactly
 *    HDR + DSIZE bytes and the receive buffer is exactly its size, so ASan
 *    reports any access outside them. vmbus_ring_peek/advance or
 *    vmbus_ring_read run until they return <= 0.
 * 2. Property: a producer writes packets made of the input into a ring whose
 *    indices come from the input; a consumer must read back exactly them.
 * 3. Channel: the same bytes are written raw into the host->guest ring of a
 *    memfd shared by a host and a guest fd channel; the guest receives with
 *    vmbus_channel_recv, then (on a fresh copy) with vmbus_channel_drain.
 *    With FL_VIA_HOST the host channel sends the packets instead, and the
 *    guest must receive them unchanged.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define HDR 4096u
#define DSIZE 8192u
#define RING_SIZE (HDR + DSIZE) /* per direction in the fd channel */
#define CTL_LEN 16u
/* Every packet takes 24 bytes at least: more receives than this means a loop. */
#define MAX_PACKETS (DSIZE / 24 + 2)

#define FL_RAW_INDEX 0x01u /* indices exactly as given */
#define FL_FEAT_PENDING 0x02u /* feature_bits: pending_send_sz honoured */
#define FL_MASKED 0x04u /* interrupt_mask set */
#define FL_PEEK 0x08u /* peek + advance instead of read */
#define FL_SCRIBBLE 0x10u /* peer stores the second write_index after one packet */
#define FL_STOP_DRAIN 0x20u /* the drain callback stops after one packet */
#define FL_VIA_HOST 0x40u /* channel part: the host channel sends the packets */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint32_t w, r, pending, w2;
	uint8_t flags;
	size_t buflen;
	const uint8_t *bytes; /* data area contents */
	size_t nbytes;
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t fold_index(const struct input *in, uint32_t v)
{
	return in->flags & FL_RAW_INDEX ? v : (v % DSIZE) & ~7u;
}

static void parse_input(const uint8_t *data, size_t size, struct input *in)
{
	uint8_t ctl[CTL_LEN] = { 0 };

	memcpy(ctl, data, size < CTL_LEN ? size : CTL_LEN);
	in->flags = ctl[12];
	in->w = fold_index(in, get_le32(ctl));
	in->r = fold_index(in, get_le32(ctl + 4));
	in->pending = get_le32(ctl + 8);
	in->w2 = fold_index(in, ((uint32_t)ctl[14] | (uint32_t)ctl[15] << 8) * 8u);
	in->buflen = ctl[13] ? (size_t)ctl[13] * 8 : DSIZE;
	in->bytes = size > CTL_LEN ? data + CTL_LEN : NULL;
	in->nbytes = size > CTL_LEN ? size - CTL_LEN : 0;
	if (in->nbytes > DSIZE)
		in->nbytes = DSIZE;
}

/* Lay the input over one ring (header page + data area) as the peer would. */
static void write_ring(const struct input *in, uint8_t *base)
{
	struct hv_ring_header *h = (struct hv_ring_header *)(void *)base;

	memset(base, 0, HDR + DSIZE);
	vmbus_ring_header_reset(h);
	atomic_store(&h->write_index, in->w);
	atomic_store(&h->read_index, in->r);
	atomic_store(&h->pending_send_sz, in->pending);
	atomic_store(&h->interrupt_mask, in->flags & FL_MASKED ? 1u : 0u);
	atomic_store(&h->feature_bits,
		     in->flags & FL_FEAT_PENDING ? HV_RING_FEAT_PENDING_SEND_SZ : 0u);
	if (in->nbytes)
		memcpy(base + HDR, in->bytes, in->nbytes);
}

/* A returned packet must be whole and well formed, whatever the peer wrote. */
static void check_packet(const void *buf, size_t len, size_t buflen)
{
	struct vmpacket_descriptor d;

	if (len > buflen || len % 8 || len < sizeof(d))
		abort();
	memcpy(&d, buf, sizeof(d));
	if ((size_t)d.len8 * 8 != len || d.offset8 < 2 || d.offset8 > d.len8)
		abort();
}

/* Part 1: the pure consumer over a heap ring of exactly HDR + DSIZE bytes. */
static void fuzz_pure_consumer(const struct input *in)
{
	_cleanup_free_ uint8_t *mem = malloc(HDR + DSIZE);
	_cleanup_free_ uint8_t *buf = malloc(in->buflen);
	struct hv_ring_header *hdr = (struct hv_ring_header *)(void *)mem;
	struct vmbus_ring r;
	bool scribbled = false;

	if (!mem || !buf)
		abort();
	write_ring(in, mem);
	if (vmbus_ring_init(&r, mem, HDR + DSIZE, HDR, false) < 0)
		return;
	for (unsigned n = 0;; n++) {
		size_t len = 0;
		bool sig = false;
		int e;

		if (n > MAX_PACKETS)
			abort();
		if (in->flags & FL_PEEK) {
			e = vmbus_ring_peek(&r, buf, in->buflen, &len);
			if (e > 0) {
				check_packet(buf, len, in->buflen);
				/* The peer may move its index between our peek and advance. */
				if ((in->flags & FL_SCRIBBLE) && !scribbled) {
					atomic_store(&hdr->write_index, in->w2);
					scribbled = true;
				}
				e = vmbus_ring_advance(&r, len, &sig);
				if (e == 0)
					e = 1;
			}
		} else {
			e = vmbus_ring_read(&r, buf, in->buflen, &len, &sig);
			if (e > 0)
				check_packet(buf, len, in->buflen);
		}
		if (e == -EMSGSIZE && len <= in->buflen)
			abort(); /* "too small" must come with the size needed */
		if (e <= 0)
			break;
		if ((in->flags & FL_SCRIBBLE) && !scribbled) {
			atomic_store(&hdr->write_index, in->w2);
			scribbled = true;
		}
	}
	/* Once broken, the ring stays broken. */
	if (r.error && vmbus_ring_bytes_to_read(&r) != r.error)
		abort();
	(void)vmbus_ring_unmask(&r);
}

/* Part 2: what a producer writes at any valid position reads back unchanged. */
static void fuzz_roundtrip(const struct input *in)
{
	_cleanup_free_ uint8_t *mem = malloc(HDR + DSIZE);
	_cleanup_free_ uint8_t *buf = malloc(DSIZE);
	struct hv_ring_header *h;
	struct vmbus_ring tx, rx;
	size_t lens[64], used = 0, npkt = 0;
	uint32_t start;

	if (!mem || !buf)
		abort();
	h = (struct hv_ring_header *)(void *)mem;
	memset(mem, 0, HDR + DSIZE);
	vmbus_ring_header_reset(h);
	/* An empty ring that starts anywhere (folded, so always valid). */
	start = (in->w % DSIZE) & ~7u;
	atomic_store(&h->write_index, start);
	atomic_store(&h->read_index, start);
	atomic_store(&h->interrupt_mask, in->flags & FL_MASKED ? 1u : 0u);
	if (vmbus_ring_init(&tx, mem, HDR + DSIZE, HDR, true) < 0 ||
	    vmbus_ring_init(&rx, mem, HDR + DSIZE, HDR, false) < 0)
		abort();

	/* Payload lengths come from the input bytes; payloads are the input itself. */
	for (size_t i = 0; i < in->nbytes && npkt < ELEMENTSOF(lens); i++) {
		struct vmpacket_descriptor d = { .type = VMBUS_PKT_DATA_INBAND, .offset8 = 2 };
		size_t len = (size_t)in->bytes[i] * 5 % (in->nbytes + 1);
		struct iovec iov[2];
		bool sig;
		int e;

		d.len8 = (uint16_t)((sizeof(d) + ALIGN8_UP(len)) / 8);
		d.trans_id = npkt;
		iov[0] = (struct iovec){ .iov_base = &d, .iov_len = sizeof(d) };
		iov[1] = (struct iovec){ .iov_base = (void *)in->bytes, .iov_len = len };
		e = vmbus_ring_write(&tx, iov, len ? 2 : 1, &sig);
		if (e == -EAGAIN)
			break;
		if (e == -EMSGSIZE && ALIGN8_UP(sizeof(d) + len) + HV_PKT_TRAILER >= DSIZE)
			continue; /* can never fit: right to refuse */
		if (e < 0)
			abort();
		/* Signal only on empty -> non-empty, and only if the consumer has not masked. */
		if (sig != (npkt == 0 && !(in->flags & FL_MASKED)))
			abort();
		used += ALIGN8_UP(sizeof(d) + len) + HV_PKT_TRAILER;
		if (used >= DSIZE)
			abort(); /* the producer must never fill the ring */
		lens[npkt++] = len;
	}
	for (size_t k = 0; k < npkt; k++) {
		struct vmpacket_descriptor d;
		size_t len = 0;
		bool sig;

		if (vmbus_ring_read(&rx, buf, DSIZE, &len, &sig) != 1)
			abort();
		memcpy(&d, buf, sizeof(d));
		if (len != sizeof(d) + ALIGN8_UP(lens[k]) || d.trans_id != k ||
		    memcmp(buf + sizeof(d), in->bytes, lens[k]) != 0)
			abort();
	}
	if (vmbus_ring_bytes_to_read(&rx) != 0)
		abort();
}

/* Part 3: an fd channel pair over one memfd, set up once. */
static struct {
	int ring_fd, ev_h2g, ev_g2h;
	uint8_t *map; /* our own view of both rings */
} pair = { -1, -1, -1, NULL };

static void pair_setup(void)
{
	if (pair.map)
		return;
	if (vmbus_fd_ring_create(RING_SIZE, &pair.ring_fd) < 0)
		abort();
	pair.ev_h2g = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pair.ev_g2h = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pair.ev_h2g < 0 || pair.ev_g2h < 0)
		abort();
	pair.map = mmap(NULL, 2 * RING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, pair.ring_fd, 0);
	if (pair.map == MAP_FAILED)
		abort();
}

static int pair_open(int side, struct vmbus_channel **ret)
{
	int fds[3], e;

	/* The channel owns what it is given: hand it duplicates. */
	fds[0] = dup(pair.ring_fd);
	fds[1] = dup(side == VMBUS_SIDE_GUEST ? pair.ev_h2g : pair.ev_g2h);
	fds[2] = dup(side == VMBUS_SIDE_GUEST ? pair.ev_g2h : pair.ev_h2g);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
		abort();
	e = vmbus_channel_open_fd(fds[0], fds[1], fds[2], side, ret);
	if (e < 0)
		for (int i = 0; i < 3; i++)
			close(fds[i]);
	return e;
}

/* Fresh guest->host ring, and the input laid over the host->guest ring. */
static void pair_reset(const struct input *in)
{
	memset(pair.map, 0, RING_SIZE);
	vmbus_ring_header_reset((struct hv_ring_header *)(void *)pair.map);
	write_ring(in, pair.map + RING_SIZE);
}

struct drain_ctx {
	unsigned n;
	bool stop;
};

static int on_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt, void *payload,
		     void *userdata)
{
	struct drain_ctx *c = userdata;

	if (pkt->len > DSIZE)
		abort();
	/* The payload is a private, writable copy: all of it. */
	memset(payload, 0xa5, pkt->len);
	if (++c->n > MAX_PACKETS)
		abort();
	return c->stop ? -ECANCELED : 0;
}

static void fuzz_channel_raw(const struct input *in)
{
	struct vmbus_channel *g = NULL;
	_cleanup_free_ uint8_t *buf = malloc(in->buflen);
	struct drain_ctx ctx = { .stop = in->flags & FL_STOP_DRAIN };
	struct vmbus_packet pkt;
	int e;

	if (!buf)
		abort();
	pair_reset(in);
	if (pair_open(VMBUS_SIDE_GUEST, &g) < 0)
		return;
	for (unsigned n = 0; (e = vmbus_channel_recv(g, buf, in->buflen, &pkt)) > 0; n++)
		if (pkt.len > in->buflen || n > MAX_PACKETS)
			abort();
	if (e == -EMSGSIZE && pkt.len <= in->buflen)
		abort();
	g = vmbus_channel_close(g);

	pair_reset(in);
	if (pair_open(VMBUS_SIDE_GUEST, &g) < 0)
		abort(); /* it opened a moment ago */
	e = vmbus_channel_drain(g, on_packet, &ctx);
	if (e >= 0 && (unsigned)e != ctx.n)
		abort();
	vmbus_channel_close(g);
}

static void fuzz_channel_via_host(const struct input *in)
{
	struct vmbus_channel *h = NULL, *g = NULL;
	_cleanup_free_ uint8_t *buf = malloc(DSIZE);
	size_t off = 0, sent_off[32], sent_len[32], nsent = 0;
	struct vmbus_packet pkt;

	if (!buf)
		abort();
	memset(pair.map, 0, 2 * RING_SIZE);
	vmbus_ring_header_reset((struct hv_ring_header *)(void *)pair.map);
	vmbus_ring_header_reset((struct hv_ring_header *)(void *)(pair.map + RING_SIZE));
	if (pair_open(VMBUS_SIDE_HOST, &h) < 0 || pair_open(VMBUS_SIDE_GUEST, &g) < 0)
		abort();
	/* The host sends the input in chunks; each chunk's first byte sets its length. */
	while (off < in->nbytes && nsent < ELEMENTSOF(sent_off)) {
		const uint8_t *chunk = in->bytes + off;
		size_t len = chunk[0] * 9u % (in->nbytes - off + 1);
		int e = vmbus_channel_send(h, VMBUS_PKT_DATA_INBAND, 0, nsent, chunk, len);

		if (e == -EAGAIN)
			break;
		if (e < 0 && !(e == -EMSGSIZE && ALIGN8_UP(len) + 16 + HV_PKT_TRAILER >= DSIZE))
			abort();
		if (e == 0) {
			sent_off[nsent] = off;
			sent_len[nsent++] = len;
		}
		off += len ? len : 1;
	}
	for (size_t k = 0; k < nsent; k++)
		if (vmbus_channel_recv(g, buf, DSIZE, &pkt) != 1 || pkt.trans_id != k ||
		    pkt.type != VMBUS_PKT_DATA_INBAND || pkt.len != ALIGN8_UP(sent_len[k]) ||
		    memcmp(buf, in->bytes + sent_off[k], sent_len[k]) != 0)
			abort();
	if (vmbus_channel_recv(g, buf, DSIZE, &pkt) != 0)
		abort();
	vmbus_channel_close(g);
	vmbus_channel_close(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;

	parse_input(data, size, &in);
	fuzz_pure_consumer(&in);
	fuzz_roundtrip(&in);
	pair_setup();
	if (in.flags & FL_VIA_HOST)
		fuzz_channel_via_host(&in);
	else
		fuzz_channel_raw(&in);
	return 0;
}
