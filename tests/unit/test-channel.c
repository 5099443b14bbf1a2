/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd channels: a host and a guest channel over one memfd from vmbus_fd_ring_create()
 * and two eventfds. The test keeps its own mapping of the memfd to look at the wire,
 * and its own copies of the eventfds to count signals (read non-blocking: the value
 * is the number of 8-byte writes since the last read).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "test-util.h"

struct fix {
	size_t size;  /* S: bytes per direction */
	uint8_t *map; /* the test's view of both rings */
	int g2h;      /* the guest signals the host here */
	int h2g;
	struct vmbus_channel *guest;
	struct vmbus_channel *host;
};

static struct hv_ring_header *hdr_of(struct fix *f, int ring)
{
	return (void *)(f->map + (size_t)ring * f->size);
}

static uint8_t *data_of(struct fix *f, int ring)
{
	return f->map + (size_t)ring * f->size + 4096;
}

/* Signals pending on an eventfd, consumed. */
static uint64_t signals(int efd)
{
	uint64_t v = 0;
	ssize_t n = read(efd, &v, sizeof(v));

	if (n < 0) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	assert_int_equal(n, sizeof(v));
	return v;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static int fix_setup_size(void **state, size_t size)
{
	struct fix *f = calloc(1, sizeof(*f));
	int ring_fd = -1, dup_fd;

	assert_non_null(f);
	f->size = size;
	assert_int_equal(vmbus_fd_ring_create((uint32_t)size, &ring_fd), 0);
	f->map = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
	assert_true(f->map != MAP_FAILED);
	f->g2h = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->h2g = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(f->g2h >= 0 && f->h2g >= 0);

	dup_fd = fcntl(ring_fd, F_DUPFD_CLOEXEC, 3);
	assert_int_equal(vmbus_channel_open_fd(dup_fd, fcntl(f->g2h, F_DUPFD_CLOEXEC, 3),
					       fcntl(f->h2g, F_DUPFD_CLOEXEC, 3), VMBUS_SIDE_HOST,
					       &f->host), 0);
	/* The ring fd is the channel's now, and closed: the mapping keeps the memory. */
	assert_false(fd_is_open(dup_fd));
	assert_int_equal(vmbus_channel_open_fd(ring_fd, fcntl(f->h2g, F_DUPFD_CLOEXEC, 3),
					       fcntl(f->g2h, F_DUPFD_CLOEXEC, 3), VMBUS_SIDE_GUEST,
					       &f->guest), 0);
	assert_false(fd_is_open(ring_fd));
	*state = f;
	return 0;
}

static int fix_setup(void **state)
{
	return fix_setup_size(state, 16384);
}

static int fix_setup_small(void **state)
{
	return fix_setup_size(state, VMBUS_RING_SIZE_MIN);
}

static int fix_setup_large(void **state)
{
	return fix_setup_size(state, 1024 * 1024);
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	assert_null(vmbus_channel_close(f->guest));
	assert_null(vmbus_channel_close(f->host));
	munmap(f->map, 2 * f->size);
	close(f->g2h);
	close(f->h2g);
	free(f);
	return 0;
}

static void test_ring_create(void **state)
{
	int fd = -1;
	struct stat st;
	uint8_t *map;

	assert_int_equal(vmbus_fd_ring_create(4096, &fd), -EINVAL);
	assert_int_equal(vmbus_fd_ring_create(8192 + 8, &fd), -EINVAL);
	assert_int_equal(vmbus_fd_ring_create(VMBUS_RING_SIZE_MAX + 4096, &fd), -EINVAL);
	assert_int_equal(vmbus_fd_ring_create(0, &fd), -EINVAL);
	assert_int_equal(vmbus_fd_ring_create(8192, NULL), -EINVAL);
	assert_int_equal(fd, -1);

	assert_int_equal(vmbus_fd_ring_create(VMBUS_RING_SIZE_MAX, &fd), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 2 * VMBUS_RING_SIZE_MAX);
	close(fd);

	assert_int_equal(vmbus_fd_ring_create(12288, &fd), 0);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 2 * 12288);
	map = mmap(NULL, 2 * 12288, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	for (int ring = 0; ring < 2; ring++) {
		const uint8_t *h = map + ring * 12288;

		assert_int_equal(get_le32(h + 0x00), 0);    /* write_index */
		assert_int_equal(get_le32(h + 0x04), 0);    /* read_index */
		assert_int_equal(get_le32(h + 0x08), 0);    /* interrupt_mask */
		assert_int_equal(get_le32(h + 0x0c), 0);    /* pending_send_sz */
		assert_int_equal(get_le32(h + 0x40), 1);    /* feature_bits */
	}
	munmap(map, 2 * 12288);
	close(fd);
}

static void test_accessors(void **state)
{
	struct fix *f = *state;
	int gfd = vmbus_channel_get_fd(f->guest), hfd = vmbus_channel_get_fd(f->host);

	assert_int_equal(vmbus_channel_get_data_size(f->guest), 16384 - 4096);
	assert_int_equal(vmbus_channel_get_data_size(f->host), 16384 - 4096);
	/* The pollable fd is the channel's own copy of the irq eventfd. */
	assert_true(gfd > 2 && hfd > 2 && gfd != hfd);
	assert_true(gfd != f->h2g && hfd != f->g2h);
	assert_int_equal(vmbus_channel_signal(f->host), 0);
	assert_int_equal(signals(f->h2g), 1);
	assert_int_equal(vmbus_channel_signal(f->guest), 0);
	assert_int_equal(vmbus_channel_ack(f->host), 1);
	assert_int_equal(vmbus_channel_ack(f->host), 0);
	assert_int_equal(vmbus_channel_wait(f->host, 0), 0);
	assert_int_equal(vmbus_channel_signal(f->guest), 0);
	assert_int_equal(vmbus_channel_wait(f->host, 1000), 1);
	assert_int_equal(signals(f->g2h), 0);

	assert_int_equal(vmbus_channel_get_fd(NULL), -EINVAL);
	assert_int_equal(vmbus_channel_get_data_size(NULL), -EINVAL);
	assert_int_equal(vmbus_channel_ack(NULL), -EINVAL);
	assert_int_equal(vmbus_channel_signal(NULL), -EINVAL);
	assert_int_equal(vmbus_channel_wait(NULL, 0), -EINVAL);
	assert_int_equal(vmbus_channel_wait(f->host, -2), -EINVAL);
	assert_int_equal(vmbus_channel_mask(NULL), -EINVAL);
	assert_int_equal(vmbus_channel_unmask(NULL), -EINVAL);
	assert_null(vmbus_channel_close(NULL));
}

static void test_send_recv(void **state)
{
	struct fix *f = *state;
	struct hv_ring_header *h0 = hdr_of(f, 0);
	uint8_t *d0 = data_of(f, 0);
	struct vmbus_packet pkt;
	uint8_t msg[13], buf[64];
	uint64_t trailer;

	memset(d0, 0xaa, 256);
	pattern_fill(msg, sizeof(msg), 1);
	assert_int_equal(vmbus_channel_send(f->guest, VMBUS_PKT_DATA_INBAND,
					    VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
					    0x1122334455667788ull, msg, sizeof(msg)), 0);

	/* On the wire, in ring 0 (guest -> host): descriptor, payload, zero pad, trailer. */
	assert_int_equal(get_le16(d0 + 0), VMBUS_PKT_DATA_INBAND);
	assert_int_equal(get_le16(d0 + 2), 2);
	assert_int_equal(get_le16(d0 + 4), 4);
	assert_int_equal(get_le16(d0 + 6), VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
	assert_int_equal(get_le32(d0 + 8), 0x55667788);
	assert_int_equal(get_le32(d0 + 12), 0x11223344);
	assert_memory_equal(d0 + 16, msg, sizeof(msg));
	assert_int_equal(d0[29], 0);
	assert_int_equal(d0[30], 0);
	assert_int_equal(d0[31], 0);
	memcpy(&trailer, d0 + 32, 8);
	assert_int_equal(trailer, 0);
	assert_int_equal(d0[40], 0xaa);
	assert_int_equal(h0->write_index, 40);
	assert_int_equal(hdr_of(f, 1)->write_index, 0);

	/* A second packet's trailer names where it started. */
	assert_int_equal(vmbus_channel_send(f->guest, 11, 0, 2, "12345678", 8), 0);
	memcpy(&trailer, d0 + 40 + 24, 8);
	assert_int_equal(trailer, 40ull << 32);
	assert_int_equal(h0->write_index, 72);

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(pkt.flags, VMBUS_PKT_FLAG_COMPLETION_REQUESTED);
	assert_int_equal(pkt.trans_id, 0x1122334455667788ull);
	/* The wire only knows 8-byte units: the padding comes along as zeros. */
	assert_int_equal(pkt.len, 16);
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_int_equal(buf[13], 0);
	assert_int_equal(buf[15], 0);
	assert_int_equal(buf[16], 0xee);
	assert_int_equal(h0->read_index, 40);

	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.type, 11);
	assert_int_equal(pkt.flags, 0);
	assert_int_equal(pkt.trans_id, 2);
	assert_int_equal(pkt.len, 8);
	assert_memory_equal(buf, "12345678", 8);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 0);

	/* The response echoes the transaction id, on ring 1. */
	assert_int_equal(vmbus_channel_send(f->host, VMBUS_PKT_DATA_INBAND, 0,
					    0x1122334455667788ull, "response", 8), 0);
	assert_int_equal(hdr_of(f, 1)->write_index, 32);
	assert_int_equal(vmbus_channel_recv(f->guest, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.trans_id, 0x1122334455667788ull);
	assert_int_equal(pkt.len, 8);
	assert_memory_equal(buf, "response", 8);
	assert_int_equal(vmbus_channel_recv(f->guest, buf, sizeof(buf), &pkt), 0);

	/* Empty payloads, NULL data. */
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 3, NULL, 0), 0);
	assert_int_equal(vmbus_channel_recv(f->host, NULL, 0, &pkt), 1);
	assert_int_equal(pkt.len, 0);
	assert_int_equal(pkt.trans_id, 3);

	assert_int_equal(vmbus_channel_send(NULL, 6, 0, 0, "x", 1), -EINVAL);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 0, NULL, 1), -EINVAL);
	assert_int_equal(vmbus_channel_recv(NULL, buf, sizeof(buf), &pkt), -EINVAL);
	assert_int_equal(vmbus_channel_recv(f->host, NULL, 8, &pkt), -EINVAL);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), NULL), -EINVAL);
}

static void test_signals(void **state)
{
	struct fix *f = *state;
	struct vmbus_packet pkt;
	uint8_t buf[64];

	/* Exactly one signal for empty -> non-empty, none while non-empty. */
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, "a", 1), 0);
	assert_int_equal(signals(f->g2h), 1);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 2, "b", 1), 0);
	assert_int_equal(signals(f->g2h), 0);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 3, "c", 1), 0);
	assert_int_equal(signals(f->g2h), 0);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.trans_id, 3);
	/* The guest was never short of room: the host's reads do not signal it. */
	assert_int_equal(signals(f->h2g), 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 4, "d", 1), 0);
	assert_int_equal(signals(f->g2h), 1);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);

	/* The host masks its receive ring (ring 0): no signal, even into an empty ring. */
	assert_int_equal(vmbus_channel_mask(f->host), 0);
	assert_int_equal(hdr_of(f, 0)->interrupt_mask, 1);
	assert_int_equal(hdr_of(f, 1)->interrupt_mask, 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 5, "e", 1), 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 6, "f", 1), 0);
	assert_int_equal(signals(f->g2h), 0);
	/* Unmasking says that packets wait: no signal will come for them. */
	assert_int_equal(vmbus_channel_unmask(f->host), 1);
	assert_int_equal(hdr_of(f, 0)->interrupt_mask, 0);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.trans_id, 5);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(vmbus_channel_unmask(f->host), 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 7, "g", 1), 0);
	assert_int_equal(signals(f->g2h), 1);

	/* The other direction is independent. */
	assert_int_equal(vmbus_channel_send(f->host, 6, 0, 8, "h", 1), 0);
	assert_int_equal(signals(f->h2g), 1);
	assert_int_equal(signals(f->g2h), 0);
}

/* Ring of 8192 bytes: 4096 data. Three 1000-byte payloads (1024 each) leave 1024 free. */
static void test_pending_send(void **state)
{
	struct fix *f = *state;
	static uint8_t big[1000];
	struct vmbus_packet pkt;
	uint8_t buf[1024];

	for (uint64_t i = 1; i <= 3; i++)
		assert_int_equal(vmbus_channel_send(f->guest, 6, 0, i, big, sizeof(big)), 0);
	assert_int_equal(signals(f->g2h), 1);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 4, big, sizeof(big)), -EAGAIN);
	assert_int_equal(hdr_of(f, 0)->pending_send_sz, 1024);
	assert_int_equal(hdr_of(f, 0)->write_index, 3072);
	assert_int_equal(signals(f->g2h), 0);

	/* The first read makes room: the host signals the blocked guest, once. */
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(signals(f->h2g), 1);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(signals(f->h2g), 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 4, big, sizeof(big)), 0);
	assert_int_equal(hdr_of(f, 0)->pending_send_sz, 0);
	assert_int_equal(signals(f->g2h), 0); /* the ring was not empty */

	/* -EMSGSIZE: can never fit (total == data size), and asks for nothing. */
	{
		static uint8_t huge[4096];

		assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 5, huge, 4096 - 24), -EMSGSIZE);
		assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 5, huge, 4096), -EMSGSIZE);
		assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 5, huge, 4097), -EMSGSIZE);
		assert_int_equal(hdr_of(f, 0)->pending_send_sz, 0);
	}
}

/* The largest packet a descriptor can describe is 65535 8-byte units. */
static void test_len8_limit(void **state)
{
	struct fix *f = *state;
	size_t max = 65535 * 8 - 16;
	struct vmbus_packet pkt;
	uint8_t *buf = malloc(max + 8);

	assert_non_null(buf);
	pattern_fill(buf, max + 8, 4);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, buf, max + 1), -EMSGSIZE);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, buf, max + 8), -EMSGSIZE);
	assert_int_equal(hdr_of(f, 0)->write_index, 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, buf, max), 0);
	memset(buf, 0, max + 8);
	assert_int_equal(vmbus_channel_recv(f->host, buf, max, &pkt), 1);
	assert_int_equal(pkt.len, max);
	for (size_t i = 0; i < max; i++)
		if (buf[i] != pattern_byte(4, i))
			fail_msg("byte %zu differs", i);
	free(buf);
}

static void test_recv_emsgsize(void **state)
{
	struct fix *f = *state;
	struct vmbus_packet pkt;
	uint8_t msg[100], buf[128];

	pattern_fill(msg, sizeof(msg), 9);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 77, msg, sizeof(msg)), 0);
	memset(&pkt, 0, sizeof(pkt));
	assert_int_equal(vmbus_channel_recv(f->host, buf, 103, &pkt), -EMSGSIZE);
	assert_int_equal(pkt.len, 104);
	pkt.len = 0;
	assert_int_equal(vmbus_channel_recv(f->host, NULL, 0, &pkt), -EMSGSIZE);
	assert_int_equal(pkt.len, 104);
	/* The packet stays: nothing consumed, nobody signalled. */
	assert_int_equal(hdr_of(f, 0)->read_index, 0);
	assert_int_equal(signals(f->h2g), 0);
	assert_int_equal(vmbus_channel_recv(f->host, buf, 104, &pkt), 1);
	assert_int_equal(pkt.len, 104);
	assert_int_equal(pkt.trans_id, 77);
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_int_equal(hdr_of(f, 0)->read_index, 128);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 0);
}

struct seen {
	int n;
	uint64_t ids[16];
	uint32_t lens[16];
	uint32_t mask[16];
	int stop_at; /* return -ECANCELED from this call (1-based), 0 never */
	struct fix *f;
};

static int on_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt, void *payload,
		     void *userdata)
{
	struct seen *s = userdata;
	uint8_t *p = payload;

	assert_true(s->n < 16);
	s->ids[s->n] = pkt->trans_id;
	s->lens[s->n] = pkt->len;
	s->mask[s->n] = hdr_of(s->f, 0)->interrupt_mask;
	for (uint32_t i = 0; i < pkt->len; i++)
		assert_int_equal(p[i], pattern_byte(pkt->trans_id, i));
	/* The payload is a private, writable copy. */
	memset(payload, 0x5f, pkt->len);
	s->n++;
	return s->n == s->stop_at ? -ECANCELED : 0;
}

static void test_drain(void **state)
{
	struct fix *f = *state;
	struct seen s = { .f = f };
	struct vmbus_packet pkt;
	uint8_t msg[64], buf[64];

	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), 0);
	assert_int_equal(s.n, 0);

	for (uint64_t i = 1; i <= 5; i++) {
		pattern_fill(msg, sizeof(msg), i);
		assert_int_equal(vmbus_channel_send(f->guest, 6, 0, i, msg, (size_t)i * 8), 0);
	}
	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), 5);
	assert_int_equal(s.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(s.ids[i], i + 1);
		assert_int_equal(s.lens[i], (i + 1) * 8);
		/* Handled with interrupts masked... */
		assert_int_equal(s.mask[i], 1);
	}
	/* ...and unmasked again, the interrupt consumed. */
	assert_int_equal(hdr_of(f, 0)->interrupt_mask, 0);
	assert_int_equal(signals(f->g2h), 0);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 6, NULL, 0), 0);
	assert_int_equal(signals(f->g2h), 1);
	s.n = 0;
	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), 1);
	assert_int_equal(s.ids[0], 6);

	/* A handler error stops the drain; the rest stays queued, interrupts stay on. */
	for (uint64_t i = 1; i <= 3; i++) {
		pattern_fill(msg, sizeof(msg), i);
		assert_int_equal(vmbus_channel_send(f->guest, 6, 0, i, msg, 8), 0);
	}
	s.n = 0;
	s.stop_at = 2;
	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), -ECANCELED);
	assert_int_equal(s.n, 2);
	assert_int_equal(hdr_of(f, 0)->interrupt_mask, 0);
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.trans_id, 3);

	assert_int_equal(vmbus_channel_drain(NULL, on_packet, &s), -EINVAL);
	assert_int_equal(vmbus_channel_drain(f->host, NULL, &s), -EINVAL);
}

/*
 * The peer sends after drain found the ring empty but before it unmasked: the ring is
 * masked, so no interrupt comes. Only drain's re-check after unmasking finds it.
 */
int __real_vmbus_ring_unmask(struct vmbus_ring *r);
int __wrap_vmbus_ring_unmask(struct vmbus_ring *r);

static struct {
	struct vmbus_channel *peer;
	bool armed;
	uint32_t mask_seen;
	int send_rc;
} inject;

int __wrap_vmbus_ring_unmask(struct vmbus_ring *r)
{
	if (inject.armed) {
		inject.armed = false;
		inject.mask_seen = r->hdr->interrupt_mask;
		inject.send_rc = vmbus_channel_send(inject.peer, 6, 0, 42, NULL, 0);
	}
	return __real_vmbus_ring_unmask(r);
}

static void test_drain_recheck(void **state)
{
	struct fix *f = *state;
	struct seen s = { .f = f };
	uint8_t msg[8];

	pattern_fill(msg, sizeof(msg), 1);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, msg, sizeof(msg)), 0);
	inject.peer = f->guest;
	inject.send_rc = 1;
	inject.mask_seen = 0;
	inject.armed = true;
	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), 2);
	assert_false(inject.armed);
	assert_int_equal(inject.send_rc, 0);
	assert_int_equal(inject.mask_seen, 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], 1);
	assert_int_equal(s.ids[1], 42);
	assert_int_equal(s.mask[1], 1);
	/* The late packet was sent into a masked ring: it never signalled. */
	assert_int_equal(signals(f->g2h), 0);
	assert_int_equal(hdr_of(f, 0)->interrupt_mask, 0);
	assert_int_equal(hdr_of(f, 0)->read_index, hdr_of(f, 0)->write_index);
}

/* The busy poll's look at the ring: the peer writes during the first one. */
int __real_vmbus_ring_bytes_to_read(struct vmbus_ring *r);
int __wrap_vmbus_ring_bytes_to_read(struct vmbus_ring *r);

static struct {
	struct vmbus_channel *peer;
	bool armed;
	int calls;
	uint32_t mask_seen;
} poll_inject;

int __wrap_vmbus_ring_bytes_to_read(struct vmbus_ring *r)
{
	poll_inject.calls++;
	if (poll_inject.armed) {
		poll_inject.armed = false;
		poll_inject.mask_seen = r->hdr->interrupt_mask;
		assert_int_equal(vmbus_channel_send(poll_inject.peer, 6, 0, 77, NULL, 0), 0);
	}
	return __real_vmbus_ring_bytes_to_read(r);
}

static void test_drain_busy_poll(void **state)
{
	struct fix *f = *state;
	struct seen s = { .f = f };

	/* Off (the default): drain never spins on the empty ring. */
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, NULL, 0), 0);
	poll_inject.calls = 0;
	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), 1);
	assert_int_equal(poll_inject.calls, 0);

	/* On: a packet the peer sends while drain watches is handled in the same call, */
	assert_int_equal(vmbus_channel_set_busy_poll(f->host, 1000), 0);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 2, NULL, 0), 0);
	s.n = 0;
	poll_inject.peer = f->guest;
	poll_inject.mask_seen = 0;
	poll_inject.armed = true;
	(void)signals(f->g2h);
	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), 2);
	assert_false(poll_inject.armed);
	assert_int_equal(s.ids[1], 77);
	/* with interrupts still masked, so the peer did not signal for it. */
	assert_int_equal(poll_inject.mask_seen, 1);
	assert_int_equal(s.mask[1], 1);
	assert_int_equal(signals(f->g2h), 0);
	assert_int_equal(hdr_of(f, 0)->interrupt_mask, 0);

	assert_int_equal(vmbus_channel_set_busy_poll(f->host, 1000001), -EINVAL);
	assert_int_equal(vmbus_channel_set_busy_poll(NULL, 1), -EINVAL);
	assert_int_equal(vmbus_channel_set_busy_poll(f->host, 0), 0);
}

static void test_broken(void **state)
{
	struct fix *f = *state;
	struct seen s = { .f = f };
	struct vmbus_packet pkt;
	uint8_t buf[64];

	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, "abc", 3), 0);
	hdr_of(f, 0)->write_index = 13;
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), -EPROTO);
	hdr_of(f, 0)->write_index = 32;
	assert_int_equal(vmbus_channel_recv(f->host, buf, sizeof(buf), &pkt), -EPROTO);
	assert_int_equal(vmbus_channel_drain(f->host, on_packet, &s), -EPROTO);
	assert_int_equal(s.n, 0);
	assert_int_equal(vmbus_channel_unmask(f->host), -EPROTO);
	/* The whole channel is broken, its sending side too. */
	assert_int_equal(vmbus_channel_send(f->host, 6, 0, 1, "abc", 3), -EPROTO);
	assert_int_equal(hdr_of(f, 1)->write_index, 0);
	/* The guest's channel is another matter. */
	assert_int_equal(vmbus_channel_recv(f->guest, buf, sizeof(buf), &pkt), 0);

	/* A lying descriptor breaks it the same way. */
	put_le16(data_of(f, 1) + 4, 0x7fff); /* len8 */
	put_le16(data_of(f, 1) + 2, 2);      /* offset8 */
	hdr_of(f, 1)->write_index = 64;
	assert_int_equal(vmbus_channel_recv(f->guest, buf, sizeof(buf), &pkt), -EPROTO);
	assert_int_equal(vmbus_channel_send(f->guest, 6, 0, 1, "abc", 3), -EPROTO);
}

static int memfd_sized(off_t size)
{
	int fd = memfd_create("test-ring", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	return fd;
}

static void test_open_fd_args(void **state)
{
	static const off_t bad_sizes[] = {
		0, 1, 16385, 2 * 4096, 2 * (8192 + 8), 2 * (8192 + 2048),
		2 * ((off_t)VMBUS_RING_SIZE_MAX + 4096), 2 * 8192 + 8,
	};
	struct vmbus_channel *ch = NULL;
	int ring = memfd_sized(2 * 8192), a, b, closed;

	a = eventfd(0, EFD_CLOEXEC); /* blocking on purpose */
	b = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	closed = eventfd(0, EFD_CLOEXEC);
	assert_true(a >= 0 && b >= 0 && closed >= 0);
	close(closed);

	assert_int_equal(vmbus_channel_open_fd(-1, a, b, VMBUS_SIDE_GUEST, &ch), -EBADF);
	assert_int_equal(vmbus_channel_open_fd(ring, -1, b, VMBUS_SIDE_GUEST, &ch), -EBADF);
	assert_int_equal(vmbus_channel_open_fd(ring, a, -1, VMBUS_SIDE_GUEST, &ch), -EBADF);
	assert_int_equal(vmbus_channel_open_fd(closed, a, b, VMBUS_SIDE_GUEST, &ch), -EBADF);
	assert_int_equal(vmbus_channel_open_fd(ring, closed, b, VMBUS_SIDE_GUEST, &ch), -EBADF);
	assert_int_equal(vmbus_channel_open_fd(ring, a, closed, VMBUS_SIDE_GUEST, &ch), -EBADF);
	assert_int_equal(vmbus_channel_open_fd(ring, a, a, VMBUS_SIDE_GUEST, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_fd(ring, ring, b, VMBUS_SIDE_GUEST, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_fd(ring, a, ring, VMBUS_SIDE_GUEST, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_fd(ring, a, b, 2, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_fd(ring, a, b, -1, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_fd(ring, a, b, VMBUS_SIDE_GUEST, NULL), -EINVAL);
	/* An eventfd is no ring. */
	assert_int_equal(vmbus_channel_open_fd(b, a, ring, VMBUS_SIDE_GUEST, &ch), -EINVAL);

	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		int r = memfd_sized(bad_sizes[i]);

		if (vmbus_channel_open_fd(r, a, b, VMBUS_SIDE_HOST, &ch) != -EINVAL)
			fail_msg("size %lld accepted", (long long)bad_sizes[i]);
		assert_true(fd_is_open(r));
		close(r);
	}
	/* Failures leave every fd with the caller. */
	assert_null(ch);
	assert_true(fd_is_open(ring) && fd_is_open(a) && fd_is_open(b));

	/* A zeroed ring of the smallest size opens; the irq fd is made non-blocking. */
	assert_int_equal(vmbus_channel_open_fd(ring, dup(a), dup(b), VMBUS_SIDE_HOST, &ch), 0);
	assert_false(fd_is_open(ring));
	assert_int_equal(fcntl(a, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(vmbus_channel_ack(ch), 0);
	assert_int_equal(vmbus_channel_get_data_size(ch), 8192 - 4096);
	assert_null(vmbus_channel_close(ch));
	/* The channel closed its own copies only. */
	assert_true(fd_is_open(a) && fd_is_open(b));

	/* The largest. */
	ring = memfd_sized(2 * (off_t)VMBUS_RING_SIZE_MAX);
	assert_int_equal(vmbus_channel_open_fd(ring, dup(a), dup(b), VMBUS_SIDE_GUEST, &ch), 0);
	assert_int_equal(vmbus_channel_get_data_size(ch), VMBUS_RING_SIZE_MAX - 4096);
	vmbus_channel_close(ch);

	/* Published indices that are not valid cannot be resumed. */
	ring = memfd_sized(2 * 8192);
	assert_int_equal(pwrite(ring, "\x0c\0\0\0", 4, 0), 4); /* ring 0 write_index = 12 */
	assert_int_equal(vmbus_channel_open_fd(ring, a, b, VMBUS_SIDE_GUEST, &ch), -EPROTO);
	assert_true(fd_is_open(ring) && fd_is_open(a) && fd_is_open(b));
	close(ring);
	close(a);
	close(b);
}

static void test_parse_fd_spec(void **state)
{
	static const char *const bad[] = {
		"1,2", "a,b,c", "1,2,3,4", "", ",", "1,2,", ",1,2", "1,,2", " 1,2,3", "1, 2,3",
		"1,2,3 ", "-1,2,3", "+1,2,3", "1,2,0x3", "65536,1,2", "1,2,99999999999999999999",
		"1;2;3", "1,2,3,",
	};
	int fds[3] = { -7, -7, -7 };

	assert_int_equal(vmbus_parse_fd_spec("10,11,12", fds), 0);
	assert_int_equal(fds[0], 10);
	assert_int_equal(fds[1], 11);
	assert_int_equal(fds[2], 12);
	assert_int_equal(vmbus_parse_fd_spec("0,65535,007", fds), 0);
	assert_int_equal(fds[0], 0);
	assert_int_equal(fds[1], 65535);
	assert_int_equal(fds[2], 7);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vmbus_parse_fd_spec(bad[i], fds) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
}

static void test_open_spec(void **state)
{
	static const char *const bad[] = {
		"fd:1,2", "fd:a,b,c", "fd:1,2,3,4", "bogus", "fd:", "fd", "", "FD:1,2,3",
		"fd:1,2,", "fd: 1,2,3", "fd:-1,2,3", "fd:99999,1,2", "uio:", "fd:1,2,3\n",
	};
	struct vmbus_channel *ch = NULL, *host = NULL;
	struct vmbus_packet pkt;
	char spec[64], buf[16];
	int ring = -1, g2h, h2g, r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = vmbus_channel_open_spec(bad[i], NULL, NULL, &ch);
		if (r != -EINVAL)
			fail_msg("\"%s\": %d", bad[i], r);
	}
	assert_null(ch);
	assert_int_equal(vmbus_channel_open_spec(NULL, NULL, NULL, &ch), -EINVAL);
	assert_int_equal(vmbus_channel_open_spec("fd:3,4,5", NULL, NULL, NULL), -EINVAL);

	assert_int_equal(vmbus_fd_ring_create(8192, &ring), 0);
	g2h = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h2g = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(g2h >= 0 && h2g >= 0);
	assert_int_equal(vmbus_channel_open_fd(dup(ring), dup(g2h), dup(h2g), VMBUS_SIDE_HOST,
					       &host), 0);

	/* Well formed, but the fds are not open (or are one fd twice). */
	snprintf(spec, sizeof(spec), "fd:%d,%d,%d", ring, 65000, h2g);
	assert_int_equal(vmbus_channel_open_spec(spec, NULL, NULL, &ch), -EBADF);
	snprintf(spec, sizeof(spec), "fd:%d,%d,%d", ring, h2g, h2g);
	assert_int_equal(vmbus_channel_open_spec(spec, NULL, NULL, &ch), -EINVAL);
	snprintf(spec, sizeof(spec), "fd:%d,%d", ring, h2g);
	assert_int_equal(vmbus_channel_open_spec(spec, NULL, NULL, &ch), -EINVAL);
	assert_true(fd_is_open(ring) && fd_is_open(h2g));

	/* The real thing opens the guest side. */
	snprintf(spec, sizeof(spec), "fd:%d,%d,%d", ring, h2g, g2h);
	assert_int_equal(vmbus_channel_open_spec(spec, NULL, NULL, &ch), 0);
	assert_non_null(ch);
	assert_int_equal(vmbus_channel_send(host, 6, 0, 5, "to guest", 8), 0);
	assert_int_equal(vmbus_channel_wait(ch, 1000), 1);
	assert_int_equal(vmbus_channel_recv(ch, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.trans_id, 5);
	assert_memory_equal(buf, "to guest", 8);
	assert_int_equal(vmbus_channel_send(ch, 6, 0, 6, "to host.", 8), 0);
	assert_int_equal(vmbus_channel_recv(host, buf, sizeof(buf), &pkt), 1);
	assert_int_equal(pkt.trans_id, 6);
	vmbus_channel_close(ch);
	vmbus_channel_close(host);
}

/* A producer and a consumer thread: no wake-up may be lost, nothing reordered. */
enum { STRESS_N = 20000 };

struct stress {
	struct vmbus_channel *ch;
	_Atomic int err;
	uint64_t next;
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	uint8_t msg[300];

	for (uint64_t i = 1; i <= STRESS_N && !s->err; i++) {
		size_t len = (size_t)(i * 37 % sizeof(msg));
		int r;

		pattern_fill(msg, len, i);
		while ((r = vmbus_channel_send(s->ch, 6, 0, i, msg, len)) == -EAGAIN) {
			if (vmbus_channel_wait(s->ch, 5000) != 1) {
				s->err = -ETIMEDOUT;
				break;
			}
		}
		if (r < 0 && !s->err)
			s->err = r;
	}
	return NULL;
}

static int stress_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt, void *payload,
			 void *userdata)
{
	struct stress *s = userdata;
	const uint8_t *p = payload;
	size_t len = (size_t)(s->next * 37 % 300);

	if (pkt->trans_id != s->next || pkt->len != ALIGN8_UP(len))
		return -EBADMSG;
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(s->next, i))
			return -EBADMSG;
	s->next++;
	return 0;
}

static void test_stress_threads(void **state)
{
	struct fix *f = *state;
	struct stress prod = { .ch = f->guest }, cons = { .ch = f->host, .next = 1 };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, stress_producer, &prod), 0);
	while (cons.next <= STRESS_N && !cons.err) {
		int r = vmbus_channel_drain(f->host, stress_packet, &cons);

		if (r < 0) {
			cons.err = r;
			break;
		}
		if (cons.next > STRESS_N)
			break;
		if (vmbus_channel_wait(f->host, 5000) != 1)
			cons.err = -ETIMEDOUT;
	}
	if (cons.err)
		prod.err = cons.err; /* stop the producer */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(cons.err, 0);
	assert_int_equal(prod.err, 0);
	assert_int_equal(cons.next, STRESS_N + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_create),
		cmocka_unit_test_setup_teardown(test_accessors, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_send_recv, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_signals, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_pending_send, fix_setup_small, fix_teardown),
		cmocka_unit_test_setup_teardown(test_len8_limit, fix_setup_large, fix_teardown),
		cmocka_unit_test_setup_teardown(test_recv_emsgsize, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_drain, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_drain_recheck, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_drain_busy_poll, fix_setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_broken, fix_setup, fix_teardown),
		cmocka_unit_test(test_open_fd_args),
		cmocka_unit_test(test_parse_fd_spec),
		cmocka_unit_test(test_open_spec),
		cmocka_unit_test_setup_teardown(test_stress_threads, fix_setup_small, fix_teardown),
	};

	return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
