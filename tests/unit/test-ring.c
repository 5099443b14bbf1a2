/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ring layer (internal API). A producer view and a consumer view share one buffer,
 * as the two ends of a channel share a ring; the test plays a hostile peer by
 * writing the shared header and data directly.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>

#include "internal.h"
#include "test-util.h"

#define HDR 4096u
#define DSIZE 4096u

struct pair {
	uint8_t *mem;
	uint32_t dsize;
	struct hv_ring_header *hdr;
	uint8_t *data;
	struct vmbus_ring prod;
	struct vmbus_ring cons;
};

/* A fresh ring whose indices both start at start; data bytes 0xaa so padding shows. */
static void pair_init(struct pair *p, uint32_t dsize, uint32_t start)
{
	p->mem = aligned_alloc(4096, HDR + dsize);
	assert_non_null(p->mem);
	memset(p->mem, 0, HDR);
	memset(p->mem + HDR, 0xaa, dsize);
	p->dsize = dsize;
	p->hdr = (void *)p->mem;
	p->data = p->mem + HDR;
	vmbus_ring_header_reset(p->hdr);
	p->hdr->write_index = start;
	p->hdr->read_index = start;
	assert_int_equal(vmbus_ring_init(&p->prod, p->mem, HDR + dsize, HDR, true), 0);
	assert_int_equal(vmbus_ring_init(&p->cons, p->mem, HDR + dsize, HDR, false), 0);
	assert_int_equal(p->prod.dsize, dsize);
	assert_int_equal(p->prod.own_index, start);
	assert_int_equal(p->cons.own_index, start);
}

static void pair_free(struct pair *p)
{
	free(p->mem);
}

/* Bytes a packet with len payload bytes occupies on the ring. */
static uint32_t ring_bytes(size_t len)
{
	return (uint32_t)(16 + ALIGN8_UP(len) + 8);
}

static int put_pkt(struct vmbus_ring *r, uint64_t trans_id, const void *payload, size_t len,
		   bool *sig)
{
	struct vmpacket_descriptor d = {
		.type = VMBUS_PKT_DATA_INBAND,
		.offset8 = 2,
		.len8 = (uint16_t)((16 + ALIGN8_UP(len)) / 8),
		.flags = 0,
		.trans_id = trans_id,
	};
	struct iovec iov[2] = {
		{ .iov_base = &d, .iov_len = sizeof(d) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};

	return vmbus_ring_write(r, iov, 2, sig);
}

/* Write a packet of len pattern bytes (seed = trans_id); must succeed. */
static bool put_pattern(struct vmbus_ring *r, uint64_t seed, size_t len)
{
	uint8_t *buf = malloc(len + 1);
	bool sig = true;

	assert_non_null(buf);
	pattern_fill(buf, len, seed);
	assert_int_equal(put_pkt(r, seed, buf, len, &sig), 0);
	free(buf);
	return sig;
}

/* Check a packet copied out of the ring: descriptor, payload, zero padding. */
static void check_pkt(const uint8_t *buf, size_t ret_len, uint64_t seed, size_t len)
{
	struct vmpacket_descriptor d;

	assert_int_equal(ret_len, 16 + ALIGN8_UP(len));
	memcpy(&d, buf, sizeof(d));
	assert_int_equal(d.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(d.offset8, 2);
	assert_int_equal(d.len8, (16 + ALIGN8_UP(len)) / 8);
	assert_int_equal(d.flags, 0);
	assert_int_equal(d.trans_id, seed);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[16 + i], pattern_byte(seed, i));
	for (size_t i = len; i < ALIGN8_UP(len); i++)
		assert_int_equal(buf[16 + i], 0);
}

/* Read one packet and check it. Returns the consumer's signal decision. */
static bool get_pattern(struct vmbus_ring *r, uint64_t seed, size_t len)
{
	size_t cap = 16 + ALIGN8_UP(len), got = 0;
	uint8_t *buf = malloc(cap);
	bool sig = true;

	assert_non_null(buf);
	assert_int_equal(vmbus_ring_read(r, buf, cap, &got, &sig), 1);
	check_pkt(buf, got, seed, len);
	free(buf);
	return sig;
}

static void test_init_args(void **state)
{
	struct vmbus_ring r;
	struct pair p;
	uint8_t *mem = aligned_alloc(4096, 2 * 4096);

	assert_non_null(mem);
	memset(mem, 0, 2 * 4096);
	assert_int_equal(vmbus_ring_init(NULL, mem, 8192, HDR, true), -EINVAL);
	assert_int_equal(vmbus_ring_init(&r, NULL, 8192, HDR, true), -EINVAL);
	assert_int_equal(vmbus_ring_init(&r, mem, 8192, 2048, true), -EINVAL);
	assert_int_equal(vmbus_ring_init(&r, mem, 4096, HDR, true), -EINVAL);
	assert_int_equal(vmbus_ring_init(&r, mem, 8188, HDR, true), -EINVAL);
	/* Checked before anything is read: the pointer is never dereferenced. */
	assert_int_equal(vmbus_ring_init(&r, mem, HDR + VMBUS_RING_SIZE_MAX + 8, HDR, true),
			 -EINVAL);
	assert_int_equal(vmbus_ring_init(&r, mem, 8192, HDR, true), 0);
	assert_int_equal(r.dsize, 4096);
	assert_ptr_equal(r.data, mem + HDR);
	free(mem);

	/* Resumes from the published index, which must be valid. */
	pair_init(&p, DSIZE, 1024);
	p.hdr->write_index = 12;
	assert_int_equal(vmbus_ring_init(&r, p.mem, HDR + DSIZE, HDR, true), -EPROTO);
	p.hdr->write_index = DSIZE;
	assert_int_equal(vmbus_ring_init(&r, p.mem, HDR + DSIZE, HDR, true), -EPROTO);
	p.hdr->read_index = DSIZE + 8;
	assert_int_equal(vmbus_ring_init(&r, p.mem, HDR + DSIZE, HDR, false), -EPROTO);
	p.hdr->read_index = 2048;
	assert_int_equal(vmbus_ring_init(&r, p.mem, HDR + DSIZE, HDR, false), 0);
	assert_int_equal(r.own_index, 2048);

	/* Direction checks. */
	{
		uint8_t buf[64];
		size_t len;
		bool sig;

		assert_int_equal(put_pkt(&p.cons, 1, "x", 1, &sig), -EINVAL);
		assert_int_equal(vmbus_ring_read(&p.prod, buf, sizeof(buf), &len, &sig), -EINVAL);
		assert_int_equal(vmbus_ring_peek(&p.prod, buf, sizeof(buf), &len), -EINVAL);
		assert_int_equal(vmbus_ring_advance(&p.prod, 32, &sig), -EINVAL);
		assert_int_equal(vmbus_ring_advance(&p.cons, 12, &sig), -EINVAL);
	}
	pair_free(&p);
}

/* Every payload size 0..700 in random order, several packets in flight, many wraps. */
static void test_round_trip_sizes(void **state)
{
	enum { QMAX = 256, N = 3000 };
	struct {
		uint64_t seed;
		size_t len;
	} q[QMAX];
	size_t head = 0, tail = 0, used = 0, moved = 0;
	uint32_t rnd = 0x12345678;
	struct pair p;

	pair_init(&p, DSIZE, 0);
	for (uint64_t seq = 1; seq <= N; seq++) {
		size_t len = seq <= 701 ? (size_t)(seq - 1) : test_rand(&rnd) % 701;
		uint8_t *buf = malloc(len + 1);
		bool sig;
		int r;

		assert_non_null(buf);
		pattern_fill(buf, len, seq);
		/* Make room by consuming the oldest packets. */
		while ((r = put_pkt(&p.prod, seq, buf, len, &sig)) == -EAGAIN) {
			assert_true(head != tail);
			get_pattern(&p.cons, q[tail].seed, q[tail].len);
			used -= ring_bytes(q[tail].len);
			tail = (tail + 1) % QMAX;
		}
		assert_int_equal(r, 0);
		free(buf);
		q[head].seed = seq;
		q[head].len = len;
		head = (head + 1) % QMAX;
		used += ring_bytes(len);
		moved += ring_bytes(len);
		assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), used);
		assert_int_equal(vmbus_ring_bytes_to_read(&p.prod), used);
		assert_true(used < DSIZE);
		/* Consume now and then so that the ring is not always nearly full. */
		if (test_rand(&rnd) % 3 == 0 && head != tail) {
			get_pattern(&p.cons, q[tail].seed, q[tail].len);
			used -= ring_bytes(q[tail].len);
			tail = (tail + 1) % QMAX;
		}
	}
	while (head != tail) {
		get_pattern(&p.cons, q[tail].seed, q[tail].len);
		tail = (tail + 1) % QMAX;
	}
	{
		uint8_t buf[16];
		size_t len = 0;
		bool sig = true;

		assert_int_equal(vmbus_ring_read(&p.cons, buf, sizeof(buf), &len, &sig), 0);
		assert_false(sig);
	}
	assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), 0);
	assert_int_equal(p.hdr->read_index, p.hdr->write_index);
	assert_true(moved > 50 * DSIZE);
	pair_free(&p);
}

/* Packets that start k bytes before the end of the data area and wrap. */
static void test_wrap_every_offset(void **state)
{
	for (uint32_t k = 8; k <= 64; k += 8) {
		for (size_t len = 0; len <= 72; len++) {
			uint32_t start = DSIZE - k, plen = (uint32_t)(16 + ALIGN8_UP(len));
			uint32_t end = (start + plen + 8) % DSIZE;
			uint8_t raw[16 + 80 + 8], buf[16 + 80];
			uint64_t seed = (uint64_t)k << 8 | len, trailer;
			size_t got = 0;
			struct pair p;
			bool sig;

			pair_init(&p, DSIZE, start);
			assert_true(put_pattern(&p.prod, seed, len));
			assert_int_equal(p.hdr->write_index, end);
			assert_int_equal(p.prod.own_index, end);
			assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), plen + 8);

			/* The bytes as laid out in shared memory, gathered across the wrap. */
			for (uint32_t i = 0; i < plen + 8; i++)
				raw[i] = p.data[(start + i) % DSIZE];
			check_pkt(raw, plen, seed, len);
			memcpy(&trailer, raw + plen, 8);
			assert_int_equal(trailer, (uint64_t)start << 32);
			/* Nothing past the trailer was touched. */
			assert_int_equal(p.data[end], 0xaa);
			assert_int_equal(p.data[(start + DSIZE - 1) % DSIZE], 0xaa);

			memset(buf, 0, sizeof(buf));
			assert_int_equal(vmbus_ring_read(&p.cons, buf, sizeof(buf), &got, &sig), 1);
			check_pkt(buf, got, seed, len);
			assert_false(sig);
			assert_int_equal(p.hdr->read_index, end);
			assert_int_equal(p.cons.own_index, end);
			assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), 0);
			pair_free(&p);
		}
	}
}

static void test_exact_fit(void **state)
{
	static uint8_t big[DSIZE];
	struct pair p;
	bool sig;

	/* Empty ring: free == DSIZE, so a total of DSIZE - 8 is the largest that fits. */
	pair_init(&p, DSIZE, 512);
	assert_int_equal(ring_bytes(DSIZE - 32), DSIZE - 8);
	assert_true(put_pattern(&p.prod, 1, DSIZE - 32));
	assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), DSIZE - 8);
	assert_int_equal(p.hdr->write_index, 512 - 8);
	assert_int_equal(p.hdr->pending_send_sz, 0);
	/* Now 8 bytes are free: even an empty packet (24 bytes) is refused. */
	assert_int_equal(put_pkt(&p.prod, 2, NULL, 0, &sig), -EAGAIN);
	assert_int_equal(p.hdr->pending_send_sz, 24);
	/* That read took the producer from short to fitting. */
	assert_true(get_pattern(&p.cons, 1, DSIZE - 32));
	pair_free(&p);

	/* Non-empty ring with free == total: refused, the ring would become full. */
	pair_init(&p, DSIZE, 0);
	assert_true(put_pattern(&p.prod, 1, 16)); /* 40 bytes */
	memset(big, 0x5c, sizeof(big));
	for (size_t len = 4025; len <= 4032; len++) {
		p.hdr->pending_send_sz = 0;
		assert_int_equal(ring_bytes(len), DSIZE - 40);
		assert_int_equal(put_pkt(&p.prod, 2, big, len, &sig), -EAGAIN);
		assert_int_equal(p.hdr->pending_send_sz, DSIZE - 40);
		/* Nothing was written or published. */
		assert_int_equal(p.hdr->write_index, 40);
		assert_int_equal(p.prod.own_index, 40);
		assert_int_equal(p.data[40], 0xaa);
		assert_int_equal(p.data[DSIZE - 1], 0xaa);
	}
	/* One step smaller fits, leaves exactly 8 bytes free and clears pending_send_sz. */
	assert_int_equal(ring_bytes(4024), DSIZE - 48);
	assert_false(put_pattern(&p.prod, 3, 4024));
	assert_int_equal(p.hdr->pending_send_sz, 0);
	assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), DSIZE - 8);
	assert_int_equal(p.hdr->write_index, DSIZE - 8);
	assert_false(get_pattern(&p.cons, 1, 16));
	assert_false(get_pattern(&p.cons, 3, 4024));
	assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), 0);
	pair_free(&p);
}

static void test_emsgsize(void **state)
{
	static uint8_t big[2 * DSIZE];
	struct vmpacket_descriptor d = { .type = 6, .offset8 = 2 };
	struct iovec iov[3];
	struct pair p;
	bool sig;

	pair_init(&p, DSIZE, 0);
	/* total == DSIZE can never fit, even in an empty ring. */
	assert_int_equal(ring_bytes(DSIZE - 24), DSIZE);
	assert_int_equal(put_pkt(&p.prod, 1, big, DSIZE - 24, &sig), -EMSGSIZE);
	assert_int_equal(put_pkt(&p.prod, 1, big, DSIZE - 31, &sig), -EMSGSIZE);
	assert_int_equal(put_pkt(&p.prod, 1, big, DSIZE, &sig), -EMSGSIZE);
	assert_int_equal(put_pkt(&p.prod, 1, big, 2 * DSIZE, &sig), -EMSGSIZE);
	/* Lengths that would overflow a size_t sum. */
	iov[0] = (struct iovec){ .iov_base = &d, .iov_len = sizeof(d) };
	iov[1] = (struct iovec){ .iov_base = big, .iov_len = SIZE_MAX };
	iov[2] = (struct iovec){ .iov_base = big, .iov_len = 64 };
	assert_int_equal(vmbus_ring_write(&p.prod, iov, 3, &sig), -EMSGSIZE);
	iov[1].iov_len = DSIZE - 8;
	iov[2].iov_len = DSIZE - 8;
	assert_int_equal(vmbus_ring_write(&p.prod, iov, 3, &sig), -EMSGSIZE);
	/* -EMSGSIZE asks for nothing and writes nothing. */
	assert_int_equal(p.hdr->pending_send_sz, 0);
	assert_int_equal(p.hdr->write_index, 0);
	assert_int_equal(p.data[0], 0xaa);
	assert_int_equal(p.prod.error, 0);
	/* The ring still works. */
	assert_true(put_pattern(&p.prod, 7, 100));
	assert_false(get_pattern(&p.cons, 7, 100));
	pair_free(&p);
}

static void test_signal_write(void **state)
{
	struct pair p;

	pair_init(&p, DSIZE, 4000);
	/* Empty -> non-empty signals, non-empty -> more does not. */
	assert_true(put_pattern(&p.prod, 1, 10));
	assert_false(put_pattern(&p.prod, 2, 10));
	assert_false(get_pattern(&p.cons, 1, 10));
	/* Still one packet in the ring. */
	assert_false(put_pattern(&p.prod, 3, 10));
	assert_false(get_pattern(&p.cons, 2, 10));
	assert_false(get_pattern(&p.cons, 3, 10));
	assert_true(put_pattern(&p.prod, 4, 0));
	assert_false(get_pattern(&p.cons, 4, 0));

	/* A masked consumer gets no signal, even on empty -> non-empty. */
	vmbus_ring_mask(&p.cons);
	assert_int_equal(p.hdr->interrupt_mask, 1);
	assert_false(put_pattern(&p.prod, 5, 1));
	assert_false(put_pattern(&p.prod, 6, 1));
	/* Unmasking reports what is waiting, because no signal will come for it. */
	assert_int_equal(vmbus_ring_unmask(&p.cons), 2 * ring_bytes(1));
	assert_int_equal(p.hdr->interrupt_mask, 0);
	assert_false(get_pattern(&p.cons, 5, 1));
	assert_false(get_pattern(&p.cons, 6, 1));
	assert_int_equal(vmbus_ring_unmask(&p.cons), 0);
	assert_true(put_pattern(&p.prod, 7, 1));

	/* Any non-zero mask means masked. */
	assert_false(get_pattern(&p.cons, 7, 1));
	p.hdr->interrupt_mask = 0x80000000u;
	assert_false(put_pattern(&p.prod, 8, 1));
	pair_free(&p);
}

/*
 * A (120) + B (120) + filler leave 64 bytes free; a producer blocks on a packet of
 * 184 bytes. Reading A leaves exactly 184 free (not enough: the ring would be full),
 * reading B makes it fit.
 */
static void setup_blocked(struct pair *p, uint32_t start)
{
	static const uint8_t payload[184 - 24];
	bool sig;

	pair_init(p, DSIZE, start);
	assert_true(put_pattern(&p->prod, 1, 96));
	assert_false(put_pattern(&p->prod, 2, 96));
	assert_false(put_pattern(&p->prod, 3, DSIZE - 240 - 64 - 24));
	assert_int_equal(vmbus_ring_bytes_to_read(&p->cons), DSIZE - 64);
	assert_int_equal(put_pkt(&p->prod, 5, payload, sizeof(payload), &sig), -EAGAIN);
	assert_int_equal(p->hdr->pending_send_sz, 184);
}

static void test_signal_read_pending(void **state)
{
	static uint8_t payload[160];
	struct pair p;
	bool sig;

	for (uint32_t start = 0; start < DSIZE; start += 1016) {
		setup_blocked(&p, start);
		/* Free after == pending: still short, no signal. */
		assert_false(get_pattern(&p.cons, 1, 96));
		/* Short before this read and fits now: signal, once. */
		assert_true(get_pattern(&p.cons, 2, 96));
		assert_int_equal(p.hdr->pending_send_sz, 184);
		assert_false(get_pattern(&p.cons, 3, DSIZE - 240 - 64 - 24));
		/* The producer retries, succeeds and withdraws its request. */
		assert_int_equal(put_pkt(&p.prod, 5, payload, sizeof(payload), &sig), 0);
		assert_true(sig);
		assert_int_equal(p.hdr->pending_send_sz, 0);
		pair_free(&p);
	}

	/* peek + advance decide like read does. */
	setup_blocked(&p, 0);
	{
		uint8_t buf[DSIZE];
		size_t len;

		assert_int_equal(vmbus_ring_peek(&p.cons, buf, sizeof(buf), &len), 1);
		assert_int_equal(len, 16 + 96);
		assert_int_equal(vmbus_ring_advance(&p.cons, len, &sig), 0);
		assert_false(sig);
		assert_int_equal(vmbus_ring_peek(&p.cons, buf, sizeof(buf), &len), 1);
		assert_int_equal(vmbus_ring_advance(&p.cons, len, &sig), 0);
		assert_true(sig);
	}
	pair_free(&p);
}

static void test_signal_read_no_pending(void **state)
{
	struct pair p;

	/* pending_send_sz 0: the producer asked for nothing. */
	setup_blocked(&p, 2048);
	p.hdr->pending_send_sz = 0;
	assert_false(get_pattern(&p.cons, 1, 96));
	assert_false(get_pattern(&p.cons, 2, 96));
	assert_false(get_pattern(&p.cons, 3, DSIZE - 240 - 64 - 24));
	pair_free(&p);

	/* feature_bits bit 0 clear: pending_send_sz is not honoured (an old host). */
	setup_blocked(&p, 2048);
	p.hdr->feature_bits = 0xfffffffeu;
	assert_false(get_pattern(&p.cons, 1, 96));
	assert_false(get_pattern(&p.cons, 2, 96));
	assert_false(get_pattern(&p.cons, 3, DSIZE - 240 - 64 - 24));
	pair_free(&p);

	/* A producer that already had room when it asked is not signalled either. */
	pair_init(&p, DSIZE, 0);
	put_pattern(&p.prod, 1, 96);
	p.hdr->pending_send_sz = 8;
	assert_false(get_pattern(&p.cons, 1, 96));
	pair_free(&p);
}

static void check_broken(struct pair *p)
{
	uint8_t buf[256];
	size_t len = 12345;
	bool sig;

	assert_int_equal(vmbus_ring_peek(&p->cons, buf, sizeof(buf), &len), -EPROTO);
	assert_int_equal(vmbus_ring_read(&p->cons, buf, sizeof(buf), &len, &sig), -EPROTO);
	assert_int_equal(vmbus_ring_advance(&p->cons, 32, &sig), -EPROTO);
	assert_int_equal(vmbus_ring_bytes_to_read(&p->cons), -EPROTO);
	assert_int_equal(vmbus_ring_unmask(&p->cons), -EPROTO);
	assert_int_equal(len, 12345);
}

static void test_corrupt_write_index(void **state)
{
	static const uint32_t bad[] = {
		DSIZE, DSIZE + 8, 12, 4, DSIZE - 1, 0xfffffff8u, 0xffffffffu,
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct pair p;

		pair_init(&p, DSIZE, 256);
		put_pattern(&p.prod, 1, 10);
		p.hdr->write_index = bad[i];
		check_broken(&p);
		/* Repairing the index does not repair the ring. */
		p.hdr->write_index = p.prod.own_index;
		check_broken(&p);
		assert_int_equal(p.hdr->read_index, 256);
		assert_int_equal(p.cons.own_index, 256);
		pair_free(&p);
	}
}

static void test_corrupt_read_index(void **state)
{
	static const uint32_t bad[] = { DSIZE, DSIZE + 8, 12, 4, DSIZE - 1, 0xffffffffu };

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct pair p;
		bool sig = true;

		pair_init(&p, DSIZE, 256);
		p.hdr->read_index = bad[i];
		assert_int_equal(put_pkt(&p.prod, 1, "abc", 3, &sig), -EPROTO);
		assert_int_equal(vmbus_ring_bytes_to_read(&p.prod), -EPROTO);
		p.hdr->read_index = 256;
		assert_int_equal(put_pkt(&p.prod, 1, "abc", 3, &sig), -EPROTO);
		assert_int_equal(p.prod.error, -EPROTO);
		/* Nothing was written or published. */
		assert_int_equal(p.hdr->write_index, 256);
		assert_int_equal(p.data[256], 0xaa);
		pair_free(&p);
	}
}

/* Our own published index is never read back: a peer scribbling on it changes nothing. */
static void test_own_index_private(void **state)
{
	struct pair p;

	pair_init(&p, DSIZE, 0);
	put_pattern(&p.prod, 1, 20);
	p.hdr->write_index = 0x1234567u; /* the consumer would reject this... */
	put_pattern(&p.prod, 2, 20);     /* ...but the producer republishes its own */
	assert_int_equal(p.hdr->write_index, 2 * ring_bytes(20));
	get_pattern(&p.cons, 1, 20);
	p.hdr->read_index = 4000; /* the producer would now see a nearly full ring */
	get_pattern(&p.cons, 2, 20);
	assert_int_equal(p.hdr->read_index, 2 * ring_bytes(20));
	assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), 0);
	pair_free(&p);
}

struct bad_desc {
	uint16_t offset8, len8;
	uint32_t avail; /* write_index with read_index 0 */
	int expect;
};

static void test_corrupt_descriptor(void **state)
{
	static const struct bad_desc cases[] = {
		{ 1, 3, 32, -EPROTO },     /* header shorter than a descriptor */
		{ 0, 3, 32, -EPROTO },
		{ 3, 2, 32, -EPROTO },     /* header longer than the packet */
		{ 4, 4, 40, 1 },           /* header == packet is fine */
		{ 2, 4, 32, -EPROTO },     /* no room for the trailer */
		{ 2, 4, 40, 1 },           /* exactly the packet and its trailer */
		{ 2, 5, 40, -EPROTO },     /* packet runs past the published data */
		{ 2, 0xffff, 40, -EPROTO },
		{ 2, 2, 16, -EPROTO },     /* fewer than 24 bytes published */
		{ 2, 2, 8, -EPROTO },
		{ 2, 2, 24, 1 },           /* the smallest packet */
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const struct bad_desc *c = &cases[i];
		struct vmpacket_descriptor d = {
			.type = 6, .offset8 = c->offset8, .len8 = c->len8, .trans_id = 99,
		};
		uint8_t buf[1024];
		size_t len = 0;
		struct pair p;
		bool sig;

		pair_init(&p, DSIZE, 0);
		memcpy(p.data, &d, sizeof(d));
		p.hdr->write_index = c->avail;
		assert_int_equal(vmbus_ring_read(&p.cons, buf, sizeof(buf), &len, &sig), c->expect);
		if (c->expect < 0) {
			assert_int_equal(p.hdr->read_index, 0);
			/* A good packet behind a bad descriptor is not read either. */
			put_pattern(&p.prod, 1, 8);
			assert_int_equal(vmbus_ring_read(&p.cons, buf, sizeof(buf), &len, &sig),
					 -EPROTO);
		} else {
			assert_int_equal(len, c->len8 * 8u);
			assert_int_equal(p.hdr->read_index, c->len8 * 8u + 8);
			assert_memory_equal(buf, &d, sizeof(d));
		}
		pair_free(&p);
	}
}

static void test_buffer_too_small(void **state)
{
	uint8_t buf[256];
	size_t len = 0;
	struct pair p;
	bool sig = true;

	pair_init(&p, DSIZE, DSIZE - 48); /* the packet wraps */
	put_pattern(&p.prod, 5, 100);     /* 120 + 8 bytes */
	for (size_t small = 0; small < 120; small += 17) {
		len = 0;
		assert_int_equal(vmbus_ring_read(&p.cons, buf, small, &len, &sig), -EMSGSIZE);
		assert_int_equal(len, 120);
		assert_false(sig);
		len = 0;
		assert_int_equal(vmbus_ring_peek(&p.cons, buf, small, &len), -EMSGSIZE);
		assert_int_equal(len, 120);
	}
	assert_int_equal(vmbus_ring_read(&p.cons, buf, 119, &len, &sig), -EMSGSIZE);
	/* Nothing consumed, the ring is not broken. */
	assert_int_equal(p.cons.own_index, DSIZE - 48);
	assert_int_equal(p.hdr->read_index, DSIZE - 48);
	assert_int_equal(p.cons.error, 0);
	assert_int_equal(vmbus_ring_bytes_to_read(&p.cons), 128);
	/* An exact buffer works. */
	assert_int_equal(vmbus_ring_read(&p.cons, buf, 120, &len, &sig), 1);
	check_pkt(buf, len, 5, 100);
	assert_int_equal(p.hdr->read_index, 80);
	pair_free(&p);
}

static void test_copy_before_parse(void **state)
{
	uint8_t buf[256], copy[256];
	size_t len = 0, len2 = 0;
	struct pair p;
	bool sig;

	pair_init(&p, DSIZE, DSIZE - 24);
	put_pattern(&p.prod, 9, 77);
	put_pattern(&p.prod, 10, 3);
	assert_int_equal(vmbus_ring_peek(&p.cons, buf, sizeof(buf), &len), 1);
	check_pkt(buf, len, 9, 77);
	memcpy(copy, buf, sizeof(buf));
	/* The peer rewrites the whole data area, descriptor included. */
	memset(p.data, 0x55, DSIZE);
	assert_memory_equal(buf, copy, sizeof(buf));
	check_pkt(buf, len, 9, 77);
	/* Advancing uses our length, not the rewritten descriptor. */
	assert_int_equal(vmbus_ring_advance(&p.cons, len, &sig), 0);
	assert_int_equal(p.hdr->read_index, (DSIZE - 24 + ring_bytes(77)) % DSIZE);
	/* The second packet is now garbage whose len8 runs past the published data. */
	assert_int_equal(vmbus_ring_peek(&p.cons, buf, sizeof(buf), &len2), -EPROTO);
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_round_trip_sizes),
		cmocka_unit_test(test_wrap_every_offset),
		cmocka_unit_test(test_exact_fit),
		cmocka_unit_test(test_emsgsize),
		cmocka_unit_test(test_signal_write),
		cmocka_unit_test(test_signal_read_pending),
		cmocka_unit_test(test_signal_read_no_pending),
		cmocka_unit_test(test_corrupt_write_index),
		cmocka_unit_test(test_corrupt_read_index),
		cmocka_unit_test(test_own_index_private),
		cmocka_unit_test(test_corrupt_descriptor),
		cmocka_unit_test(test_buffer_too_small),
		cmocka_unit_test(test_copy_before_parse),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
