/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Channel layer: packet framing, receive/drain, masking and the signalling rules. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"

int vmbus_channel_new(void *map, size_t map_len, size_t ring_size, size_t hdr_size, bool tx_first,
		      const struct vmbus_backend_ops *ops, struct vmbus_channel **ret)
{
	struct vmbus_channel *ch;
	uint8_t *base = map;
	int e;

	if (!map || map_len < 2 * ring_size || !ops || !ret)
		return -EINVAL;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->ops = ops;
	ch->map = map;
	ch->map_len = map_len;
	ch->wait_fd = ch->signal_fd = -1;
	e = vmbus_ring_init(&ch->tx, tx_first ? base : base + ring_size, ring_size, hdr_size, true);
	if (e >= 0)
		e = vmbus_ring_init(&ch->rx, tx_first ? base + ring_size : base, ring_size, hdr_size,
				    false);
	if (e >= 0) {
		ch->rxbuf = malloc(ch->rx.dsize);
		if (!ch->rxbuf)
			e = -ENOMEM;
	}
	if (e < 0) {
		free(ch);
		return e;
	}
	*ret = ch;
	return 0;
}

VMBUS_EXPORT struct vmbus_channel *vmbus_channel_close(struct vmbus_channel *ch)
{
	if (!ch)
		return NULL;
	if (ch->ops && ch->ops->close)
		ch->ops->close(ch);
	if (ch->map)
		munmap(ch->map, ch->map_len);
	free(ch->rxbuf);
	free(ch);
	return NULL;
}

VMBUS_EXPORT int vmbus_channel_get_fd(struct vmbus_channel *ch)
{
	assert_return(ch, -EINVAL);
	return ch->wait_fd;
}

VMBUS_EXPORT int vmbus_channel_get_data_size(struct vmbus_channel *ch)
{
	assert_return(ch, -EINVAL);
	return (int)ch->rx.dsize;
}

VMBUS_EXPORT int vmbus_channel_ack(struct vmbus_channel *ch)
{
	assert_return(ch, -EINVAL);
	if (ch->rescinded)
		return -EIO;
	return ch->ops->ack(ch);
}

VMBUS_EXPORT int vmbus_channel_signal(struct vmbus_channel *ch)
{
	assert_return(ch, -EINVAL);
	if (ch->rescinded)
		return -EIO;
	return ch->ops->signal(ch);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

VMBUS_EXPORT int vmbus_channel_wait(struct vmbus_channel *ch, int timeout_ms)
{
	int64_t deadline;

	assert_return(ch, -EINVAL);
	assert_return(timeout_ms >= -1, -EINVAL);
	deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = { .fd = ch->wait_fd, .events = POLLIN };
		int left = -1, r;

		if (deadline >= 0) {
			int64_t d = deadline - now_ms();
			left = d < 0 ? 0 : (int)d;
		}
		r = poll(&p, 1, left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r > 0) {
			r = vmbus_channel_ack(ch);
			if (r != 0)
				return r;
		}
		if (deadline >= 0 && now_ms() >= deadline)
			return 0;
	}
}

/* A ring the peer broke breaks the whole channel (vmbus.h): both directions report it. */
static int channel_error(const struct vmbus_channel *ch)
{
	return ch->tx.error ? ch->tx.error : ch->rx.error;
}

VMBUS_EXPORT int vmbus_channel_mask(struct vmbus_channel *ch)
{
	assert_return(ch, -EINVAL);
	vmbus_ring_mask(&ch->rx);
	return 0;
}

VMBUS_EXPORT int vmbus_channel_unmask(struct vmbus_channel *ch)
{
	int r;

	assert_return(ch, -EINVAL);
	r = channel_error(ch);
	if (r < 0)
		return r;
	r = vmbus_ring_unmask(&ch->rx);
	if (r < 0)
		return r;
	return r > 0;
}

VMBUS_EXPORT int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
				    uint64_t trans_id, const void *data, size_t len)
{
	struct vmpacket_descriptor desc;
	struct iovec iov[2];
	size_t pkt_len;
	bool signal;
	int r;

	assert_return(ch, -EINVAL);
	assert_return(data || len == 0, -EINVAL);
	if (ch->rescinded)
		return -EIO;
	r = channel_error(ch);
	if (r < 0)
		return r;
	pkt_len = sizeof(desc) + ALIGN8_UP(len);
	if (len > ch->tx.dsize || pkt_len / 8 > UINT16_MAX)
		return -EMSGSIZE;
	desc = (struct vmpacket_descriptor){
		.type = type,
		.offset8 = sizeof(desc) / 8,
		.len8 = (uint16_t)(pkt_len / 8),
		.flags = flags,
		.trans_id = trans_id,
	};
	iov[0] = (struct iovec){ .iov_base = &desc, .iov_len = sizeof(desc) };
	iov[1] = (struct iovec){ .iov_base = (void *)data, .iov_len = len };
	r = vmbus_ring_write(&ch->tx, iov, 2, &signal);
	if (r < 0)
		return r;
	if (signal)
		return vmbus_channel_signal(ch);
	return 0;
}

/*
 * Wake a producer that waited for room. The packet is already consumed: a failure
 * here must not lose it, so it is not returned; a rescinded device reports -EIO on
 * the next call anyway.
 */
static void signal_after_read(struct vmbus_channel *ch)
{
	int r = vmbus_channel_signal(ch);

	if (r < 0)
		vmbus_debug("cannot signal the producer after a read: %s", strerror(-r));
}

/* Receive into the channel's private buffer. Returns 1, 0 (empty) or -errno. */
static int recv_private(struct vmbus_channel *ch, struct vmbus_packet *pkt, uint8_t **payload)
{
	const struct vmpacket_descriptor *desc = (const void *)ch->rxbuf;
	size_t len;
	bool signal;
	int r;

	r = vmbus_ring_read(&ch->rx, ch->rxbuf, ch->rx.dsize, &len, &signal);
	if (r <= 0)
		/* A valid packet always fits in the data size: -EMSGSIZE is a lie about len8. */
		return r == -EMSGSIZE ? -EPROTO : r;
	*pkt = (struct vmbus_packet){
		.type = desc->type,
		.flags = desc->flags,
		.len = (uint32_t)(len - (size_t)desc->offset8 * 8),
		.trans_id = desc->trans_id,
	};
	*payload = ch->rxbuf + (size_t)desc->offset8 * 8;
	if (signal)
		signal_after_read(ch);
	return 1;
}

VMBUS_EXPORT int vmbus_channel_recv(struct vmbus_channel *ch, void *buf, size_t buflen,
				    struct vmbus_packet *ret_pkt)
{
	const struct vmpacket_descriptor *desc;
	size_t len, payload_len;
	bool signal;
	int r;

	assert_return(ch, -EINVAL);
	assert_return(buf || buflen == 0, -EINVAL);
	assert_return(ret_pkt, -EINVAL);
	r = channel_error(ch);
	if (r < 0)
		return r;
	desc = (const void *)ch->rxbuf;
	r = vmbus_ring_peek(&ch->rx, ch->rxbuf, ch->rx.dsize, &len);
	if (r <= 0)
		return r == -EMSGSIZE ? -EPROTO : r;
	payload_len = len - (size_t)desc->offset8 * 8;
	if (payload_len > buflen) {
		ret_pkt->len = (uint32_t)payload_len;
		return -EMSGSIZE;
	}
	/* buf may be NULL for an empty payload; memcpy must not see it. */
	if (payload_len)
		memcpy(buf, ch->rxbuf + (size_t)desc->offset8 * 8, payload_len);
	*ret_pkt = (struct vmbus_packet){
		.type = desc->type,
		.flags = desc->flags,
		.len = (uint32_t)payload_len,
		.trans_id = desc->trans_id,
	};
	r = vmbus_ring_advance(&ch->rx, len, &signal);
	if (r < 0)
		return r;
	if (signal)
		signal_after_read(ch);
	return 1;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spin (interrupts still masked) until the peer writes or the budget runs out. */
static bool busy_poll(struct vmbus_channel *ch)
{
	int64_t deadline;

	if (ch->busy_poll_ns <= 0)
		return false;
	deadline = mono_ns() + ch->busy_poll_ns;
	for (;;) {
		for (int i = 0; i < 64; i++) {
			if (vmbus_ring_bytes_to_read(&ch->rx) != 0)
				return true; /* data, or an error recv will report */
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
		if (mono_ns() >= deadline)
			return false;
	}
}

VMBUS_EXPORT int vmbus_channel_set_busy_poll(struct vmbus_channel *ch, unsigned int usec)
{
	assert_return(ch, -EINVAL);
	assert_return(usec <= 1000000, -EINVAL);
	ch->busy_poll_ns = (int64_t)usec * 1000;
	return 0;
}

VMBUS_EXPORT int vmbus_channel_drain(struct vmbus_channel *ch, vmbus_packet_fn fn, void *userdata)
{
	int n = 0, r;

	assert_return(ch, -EINVAL);
	assert_return(fn, -EINVAL);
	r = channel_error(ch);
	if (r < 0)
		return r;
	r = vmbus_channel_ack(ch);
	if (r < 0)
		return r;
	for (;;) {
		vmbus_ring_mask(&ch->rx);
		for (;;) {
			struct vmbus_packet pkt;
			uint8_t *payload;

			r = recv_private(ch, &pkt, &payload);
			if (r < 0)
				return r;
			if (r == 0 && busy_poll(ch))
				continue;
			if (r == 0)
				break;
			n++;
			r = fn(ch, &pkt, payload, userdata);
			if (r < 0) {
				/* Leave interrupts on so that the rest is not stranded. */
				vmbus_ring_unmask(&ch->rx);
				return r;
			}
		}
		r = vmbus_channel_unmask(ch);
		if (r < 0)
			return r;
		if (r == 0)
			return n;
	}
}
