/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench-ring: throughput and latency of libvmbus rings over the fd transport.
 *
 *   bench-ring [SECONDS]    time per measurement, default 1 (the whole run is
 *                           about 12 times that)
 *
 * (a) one process: vmbus_channel_send on the host side of an fd channel pair,
 *     vmbus_channel_recv on the guest side; "batched" fills the ring and then
 *     empties it, "1 in flight" alternates one send and one receive.
 * (b) two processes: the parent (host) sends 6196-byte messages (an fcopy
 *     WRITE_TO_FILE: 6144 data + 52 header bytes), the forked child (guest)
 *     echoes each one with vmbus_channel_wait + recv + send. Round trips are
 *     timed one message at a time; one-way MB/s comes from a stream that keeps
 *     the ring full (each message crosses the ring twice; the figure is per
 *     direction).
 * (c) plain memcpy of the same messages into a ring-sized buffer.
 *
 * MB = 10^6 bytes of payload. Figures only: nothing here asserts on time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmbus/vmbus.h"

#define SMALL_MSG 64u
#define FCOPY_MSG (6144u + 52u)
#define RING_16K (16u * 1024u)
#define RING_256K (256u * 1024u)
#define WARMUP_NS 100000000LL /* 0.1 s before each measurement */
#define WAIT_MS 5000 /* a peer silent this long is dead */
#define TRANS_QUIT UINT64_MAX
#define MAX_SAMPLES 1000000u

static double arg_seconds = 1.0;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static _Noreturn void die(const char *what, int r)
{
	fprintf(stderr, "bench-ring: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(EXIT_FAILURE);
}

struct pair {
	struct vmbus_channel *host, *guest;
};

/* Both ends of an fd channel: host irq = guest signal, and the other way round. */
static void pair_open(uint32_t ring_size, struct pair *p)
{
	int ring = -1, ring2, h2g, g2h, h2g2, g2h2, r;

	r = vmbus_fd_ring_create(ring_size, &ring);
	if (r < 0)
		die("vmbus_fd_ring_create", r);
	h2g = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g2h = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h2g < 0 || g2h < 0)
		die("eventfd", errno);
	/* Each channel owns the fds it is given: the guest gets duplicates. */
	ring2 = fcntl(ring, F_DUPFD_CLOEXEC, 3);
	h2g2 = fcntl(h2g, F_DUPFD_CLOEXEC, 3);
	g2h2 = fcntl(g2h, F_DUPFD_CLOEXEC, 3);
	if (ring2 < 0 || h2g2 < 0 || g2h2 < 0)
		die("fcntl(F_DUPFD_CLOEXEC)", errno);
	r = vmbus_channel_open_fd(ring, g2h, h2g, VMBUS_SIDE_HOST, &p->host);
	if (r < 0)
		die("vmbus_channel_open_fd(host)", r);
	r = vmbus_channel_open_fd(ring2, h2g2, g2h2, VMBUS_SIDE_GUEST, &p->guest);
	if (r < 0)
		die("vmbus_channel_open_fd(guest)", r);
}

static void pair_close(struct pair *p)
{
	p->host = vmbus_channel_close(p->host);
	p->guest = vmbus_channel_close(p->guest);
}

static uint8_t *make_payload(size_t len)
{
	uint8_t *b = malloc(len);

	if (!b)
		die("malloc", ENOMEM);
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 31 + 7);
	return b;
}

static double mb_per_s(double bytes, int64_t ns)
{
	return bytes / 1e6 / ((double)ns / 1e9);
}

static void print_row(const char *ring, size_t len, const char *pattern, uint64_t n, int64_t ns)
{
	printf("  %-8s %7zu B  %-12s %12.0f %10.1f\n", ring, len, pattern,
	       (double)n / ((double)ns / 1e9), mb_per_s((double)n * (double)len, ns));
}

/* Receive one packet on ch, which must be there. */
static void recv_one(struct vmbus_channel *ch, uint8_t *buf, size_t cap)
{
	struct vmbus_packet pkt;
	int r = vmbus_channel_recv(ch, buf, cap, &pkt);

	if (r != 1)
		die("vmbus_channel_recv", r == 0 ? EPROTO : r);
}

/*
 * (a) One process. batched: send until the ring is full, then receive them all.
 * One round; returns packets moved.
 */
static uint64_t local_round(struct pair *p, const uint8_t *msg, size_t len, uint8_t *buf,
			    size_t cap, bool batched)
{
	uint64_t n = 0;
	int r;

	if (!batched) {
		r = vmbus_channel_send(p->host, VMBUS_PKT_DATA_INBAND, 0, 0, msg, len);
		if (r < 0)
			die("vmbus_channel_send", r);
		recv_one(p->guest, buf, cap);
		return 1;
	}
	while ((r = vmbus_channel_send(p->host, VMBUS_PKT_DATA_INBAND, 0, n, msg, len)) == 0)
		n++;
	if (r != -EAGAIN)
		die("vmbus_channel_send", r);
	for (uint64_t i = 0; i < n; i++)
		recv_one(p->guest, buf, cap);
	return n;
}

static void bench_local(uint32_t ring_size, const char *ring_name, size_t len, bool batched)
{
	struct pair p;
	uint8_t *msg = make_payload(len), *buf;
	size_t cap;
	uint64_t n = 0;
	int64_t t0, t, end;

	pair_open(ring_size, &p);
	cap = (size_t)vmbus_channel_get_data_size(p.guest);
	buf = malloc(cap);
	if (!buf)
		die("malloc", ENOMEM);
	for (end = now_ns() + WARMUP_NS; now_ns() < end;)
		local_round(&p, msg, len, buf, cap, batched);
	t0 = now_ns();
	end = t0 + (int64_t)(arg_seconds * 1e9);
	do {
		for (int i = 0; i < 64; i++)
			n += local_round(&p, msg, len, buf, cap, batched);
		t = now_ns();
	} while (t < end);
	print_row(ring_name, len, batched ? "batched" : "1 in flight", n, t - t0);
	pair_close(&p);
	free(buf);
	free(msg);
}

/* (b) The child: echo every message until TRANS_QUIT; never returns. */
static _Noreturn void echo_child(struct vmbus_channel *g)
{
	size_t cap = (size_t)vmbus_channel_get_data_size(g);
	uint8_t *buf = malloc(cap);
	struct vmbus_packet pkt;
	int r;

	if (!buf)
		die("malloc", ENOMEM);
	for (;;) {
		r = vmbus_channel_recv(g, buf, cap, &pkt);
		if (r < 0)
			die("child: vmbus_channel_recv", r);
		if (r == 0) {
			r = vmbus_channel_wait(g, WAIT_MS);
			if (r < 0)
				die("child: vmbus_channel_wait", r);
			if (r == 0 && getppid() == 1)
				_exit(EXIT_FAILURE); /* the parent is gone */
			continue;
		}
		if (pkt.trans_id == TRANS_QUIT)
			_exit(EXIT_SUCCESS);
		for (;;) {
			r = vmbus_channel_send(g, pkt.type, 0, pkt.trans_id, buf, pkt.len);
			if (r != -EAGAIN)
				break;
			r = vmbus_channel_wait(g, WAIT_MS);
			if (r < 0)
				die("child: vmbus_channel_wait", r);
		}
		if (r < 0)
			die("child: vmbus_channel_send", r);
	}
}

/* Parent: wait for the next packet from the child (or for room). */
static void parent_wait(struct vmbus_channel *h)
{
	int r = vmbus_channel_wait(h, WAIT_MS);

	if (r < 0)
		die("vmbus_channel_wait", r);
	if (r == 0)
		die("the echo child stopped answering", ETIMEDOUT);
}

/* Receive one echo if there is one: 1, or 0 when the ring is empty. */
static int parent_try_recv(struct vmbus_channel *h, uint8_t *buf, size_t cap)
{
	struct vmbus_packet pkt;
	int r = vmbus_channel_recv(h, buf, cap, &pkt);

	if (r < 0)
		die("vmbus_channel_recv", r);
	return r;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* One message at a time: time each round trip. */
static void remote_rtt(struct vmbus_channel *h, const uint8_t *msg, uint8_t *buf, size_t cap,
		       const char *ring_name)
{
	int64_t *s = malloc(MAX_SAMPLES * sizeof(*s));
	int64_t t0, end, sum = 0;
	size_t n = 0;
	bool warm = false;

	if (!s)
		die("malloc", ENOMEM);
	t0 = now_ns();
	end = t0 + WARMUP_NS;
	for (;;) {
		int64_t a = now_ns(), b;
		int r = vmbus_channel_send(h, VMBUS_PKT_DATA_INBAND, 0, n, msg, FCOPY_MSG);

		if (r < 0)
			die("vmbus_channel_send", r);
		while (parent_try_recv(h, buf, cap) == 0)
			parent_wait(h);
		b = now_ns();
		if (!warm) {
			if (b >= end) {
				warm = true;
				end = b + (int64_t)(arg_seconds * 1e9);
			}
			continue;
		}
		s[n++] = b - a;
		sum += b - a;
		if (b >= end || n == MAX_SAMPLES)
			break;
	}
	qsort(s, n, sizeof(*s), cmp_i64);
	printf("  %-8s %7u B  %10zu  %9.1f  %9.1f  %9.1f\n", ring_name, FCOPY_MSG, n,
	       (double)sum / (double)n / 1e3, (double)s[n / 2] / 1e3,
	       (double)s[n * 99 / 100] / 1e3);
	free(s);
}

/* Keep the ring full: send while there is room, take echoes as they come. */
static void remote_stream(struct vmbus_channel *h, const uint8_t *msg, uint8_t *buf, size_t cap,
			  const char *ring_name)
{
	uint64_t sent = 0, echoed = 0, counted = 0;
	int64_t t0 = now_ns(), start = 0, end = t0 + WARMUP_NS, t = t0;
	bool warm = false, sending = true;

	for (unsigned loops = 0; sending || echoed < sent; loops++) {
		bool progress = false;

		if (sending) {
			int r = vmbus_channel_send(h, VMBUS_PKT_DATA_INBAND, 0, sent, msg,
						   FCOPY_MSG);

			if (r == 0) {
				sent++;
				progress = true;
			} else if (r != -EAGAIN) {
				die("vmbus_channel_send", r);
			}
		}
		if (parent_try_recv(h, buf, cap)) {
			echoed++;
			counted += warm;
			progress = true;
		}
		if (!progress)
			parent_wait(h);
		if (loops % 32 == 0 || !progress) {
			t = now_ns();
			if (!warm && t >= end) {
				warm = true;
				start = t;
				end = t + (int64_t)(arg_seconds * 1e9);
			} else if (warm && sending && t >= end) {
				sending = false;
			}
		}
	}
	t = now_ns();
	printf("  %-8s %7u B  %12.0f %10.1f\n", ring_name, FCOPY_MSG,
	       (double)counted / ((double)(t - start) / 1e9),
	       mb_per_s((double)counted * FCOPY_MSG, t - start));
}

/* Fork an echo child over a fresh pair and run one measurement against it. */
static void bench_remote(uint32_t ring_size, const char *ring_name, bool rtt)
{
	struct pair p;
	uint8_t *msg = make_payload(FCOPY_MSG), *buf;
	size_t cap;
	pid_t pid;
	int status, r;

	pair_open(ring_size, &p);
	cap = (size_t)vmbus_channel_get_data_size(p.host);
	buf = malloc(cap);
	if (!buf)
		die("malloc", ENOMEM);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		p.host = vmbus_channel_close(p.host);
		echo_child(p.guest);
	}
	p.guest = vmbus_channel_close(p.guest);

	if (rtt)
		remote_rtt(p.host, msg, buf, cap, ring_name);
	else
		remote_stream(p.host, msg, buf, cap, ring_name);

	/* Tell the child to exit. */
	while ((r = vmbus_channel_send(p.host, 0, 0, TRANS_QUIT, NULL, 0)) == -EAGAIN)
		parent_wait(p.host);
	if (r < 0)
		die("vmbus_channel_send", r);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid", errno);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != EXIT_SUCCESS)
		die("the echo child failed", EPROTO);
	pair_close(&p);
	free(buf);
	free(msg);
}

/* (c) memcpy of the same messages to consecutive 8-aligned places of a ring-sized area. */
static void bench_memcpy(size_t area, size_t len)
{
	uint8_t *msg = make_payload(len), *dst = malloc(area);
	volatile uint8_t sink;
	uint64_t n = 0;
	size_t off = 0, step = (len + 7) & ~(size_t)7;
	int64_t t0, t, end;
	bool warm = false;

	if (!dst)
		die("malloc", ENOMEM);
	memset(dst, 0, area);
	t0 = now_ns();
	end = t0 + WARMUP_NS;
	for (;;) {
		for (int i = 0; i < 256; i++) {
			if (off + len > area)
				off = 0;
			memcpy(dst + off, msg, len);
			off += step;
		}
		n += 256;
		t = now_ns();
		if (!warm && t >= end) {
			warm = true;
			n = 0;
			t0 = t;
			end = t + (int64_t)(arg_seconds * 1e9);
		} else if (warm && t >= end) {
			break;
		}
	}
	sink = dst[off / 2];
	(void)sink;
	printf("  %-8s %7zu B  %-12s %12.0f %10.1f\n", "-", len, "memcpy",
	       (double)n / ((double)(t - t0) / 1e9), mb_per_s((double)n * (double)len, t - t0));
	free(dst);
	free(msg);
}

int main(int argc, char *argv[])
{
	int64_t t0 = now_ns();

	if (argc > 2 || (argc == 2 && (arg_seconds = strtod(argv[1], NULL)) <= 0)) {
		fprintf(stderr, "usage: %s [SECONDS per measurement]\n", argv[0]);
		return EXIT_FAILURE;
	}
	printf("libvmbus ring benchmark: %.1f s per measurement after %.1f s of warm-up\n"
	       "(CLOCK_MONOTONIC; MB = 10^6 payload bytes; ring = bytes per direction,\n"
	       "its data area is 4096 bytes less)\n\n",
	       arg_seconds, WARMUP_NS / 1e9);

	printf("(a) one process, fd channel pair: host vmbus_channel_send -> guest recv\n");
	printf("  %-8s %9s  %-12s %12s %10s\n", "ring", "payload", "pattern", "packets/s", "MB/s");
	bench_local(RING_16K, "16 KiB", SMALL_MSG, true);
	bench_local(RING_16K, "16 KiB", FCOPY_MSG, true);
	bench_local(RING_256K, "256 KiB", SMALL_MSG, true);
	bench_local(RING_256K, "256 KiB", FCOPY_MSG, true);
	bench_local(RING_16K, "16 KiB", SMALL_MSG, false);
	bench_local(RING_16K, "16 KiB", FCOPY_MSG, false);

	printf("\n(b) two processes: the host sends, a forked guest echoes (wait + recv + send)\n");
	printf("  round trip, one message in flight (microseconds):\n");
	printf("  %-8s %9s  %10s  %9s  %9s  %9s\n", "ring", "payload", "messages", "mean", "p50",
	       "p99");
	bench_remote(RING_16K, "16 KiB", true);
	bench_remote(RING_256K, "256 KiB", true);
	printf("  stream, ring kept full (one-way: each message also comes back):\n");
	printf("  %-8s %9s  %12s %10s\n", "ring", "payload", "messages/s", "MB/s");
	bench_remote(RING_16K, "16 KiB", false);
	bench_remote(RING_256K, "256 KiB", false);

	printf("\n(c) plain memcpy of the same bytes, one copy per message (the ring path\n"
	       "    makes three: into the ring, out to the channel's private buffer, and\n"
	       "    into the caller's buffer)\n");
	printf("  %-8s %9s  %-12s %12s %10s\n", "ring", "payload", "pattern", "copies/s", "MB/s");
	bench_memcpy(RING_256K - 4096, SMALL_MSG);
	bench_memcpy(RING_256K - 4096, FCOPY_MSG);

	printf("\ntotal run time %.1f s\n", (double)(now_ns() - t0) / 1e9);
	return EXIT_SUCCESS;
}
