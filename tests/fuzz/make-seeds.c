/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the seed corpora of the fuzz targets: make-seeds DIR creates
 * DIR/fuzz-ring, DIR/fuzz-negotiate, DIR/fuzz-utf16 and DIR/fuzz-fcopy. The seeds are
 * committed (tests/fuzz/corpus); rerun this only to change them, with
 * "make fuzz-seeds" in a --enable-fuzzing build, and update EXTRA_DIST.
 *
 * Ring seeds are made by the library's own producer, so they start the fuzzer
 * from well formed packet chains: the 16-byte control block of fuzz-ring.c
 * followed by the data area. fcopy seeds are sessions as fuzz-fcopy.c reads
 * them: message bodies, each after its 2-byte little-endian length.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcopy-wire.h"
#include "internal.h"

#define HDR 4096u
#define DSIZE 8192u
#define CTL_LEN 16u

#define FL_RAW_INDEX 0x01u
#define FL_FEAT_PENDING 0x02u
#define FL_PEEK 0x08u
#define FL_SCRIBBLE 0x10u
#define FL_STOP_DRAIN 0x20u
#define FL_VIA_HOST 0x40u

static const char *out_dir;

static int write_seed(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		return -EIO;
	return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A ring for the producer, starting empty at byte offset start. */
struct seed_ring {
	uint8_t mem[HDR + DSIZE];
	struct vmbus_ring tx;
	uint32_t start;
};

static void seed_ring_init(struct seed_ring *s, uint32_t start)
{
	struct hv_ring_header *h = (struct hv_ring_header *)(void *)s->mem;

	memset(s->mem, 0, sizeof(s->mem));
	vmbus_ring_header_reset(h);
	atomic_store(&h->write_index, start);
	atomic_store(&h->read_index, start);
	s->start = start;
	if (vmbus_ring_init(&s->tx, s->mem, sizeof(s->mem), HDR, true) < 0)
		abort();
}

static int seed_ring_send(struct seed_ring *s, uint16_t type, uint64_t trans_id, const void *p,
			  size_t len)
{
	struct vmpacket_descriptor d = {
		.type = type,
		.offset8 = 2,
		.len8 = (uint16_t)((16 + ALIGN8_UP(len)) / 8),
		.trans_id = trans_id,
	};
	struct iovec iov[2] = { { &d, sizeof(d) }, { (void *)p, len } };
	bool sig;

	return vmbus_ring_write(&s->tx, iov, len ? 2 : 1, &sig);
}

/* Dump as a fuzz-ring input: control block, then the data area up to its last used byte. */
static int seed_ring_dump(struct seed_ring *s, const char *name, uint8_t flags, uint8_t bufsel,
			  uint32_t pending, uint16_t w2)
{
	static uint8_t out[CTL_LEN + DSIZE];
	const struct hv_ring_header *h = (const struct hv_ring_header *)(const void *)s->mem;
	uint32_t w = atomic_load(&h->write_index);
	size_t n = w > s->start ? w : DSIZE; /* wrapped: the whole area */

	memset(out, 0, sizeof(out));
	put_le32(out, w);
	put_le32(out + 4, s->start);
	put_le32(out + 8, pending);
	out[12] = flags;
	out[13] = bufsel;
	out[14] = (uint8_t)w2;
	out[15] = (uint8_t)(w2 >> 8);
	memcpy(out + CTL_LEN, s->mem + HDR, n);
	return write_seed("fuzz-ring", name, out, CTL_LEN + n);
}

static int ring_seeds(void)
{
	static struct seed_ring s;
	uint8_t msg[6196], ctl[CTL_LEN + 64];
	uint32_t fw[] = { VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0) };
	uint32_t svc[] = { VMBUS_IC_VERSION(4, 0), VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0) };
	int r, n;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);

	memset(ctl, 0, sizeof(ctl));
	r = write_seed("fuzz-ring", "empty", ctl, CTL_LEN);

	/* One KVP negotiate request, as the host sends it first. */
	seed_ring_init(&s, 0);
	n = vmbus_ic_negotiate_request(msg, sizeof(msg), fw, 2, svc, 3, 1);
	if (n < 0 || seed_ring_send(&s, VMBUS_PKT_DATA_INBAND, 1, msg, (size_t)n) < 0)
		abort();
	r = r < 0 ? r : seed_ring_dump(&s, "negotiate", 0, 0, 0, 0);
	r = r < 0 ? r : seed_ring_dump(&s, "negotiate-peek-smallbuf", FL_PEEK, 4, 0, 0);

	/* Several packets of odd sizes; the peer moves write_index back after one. */
	seed_ring_init(&s, 0);
	for (size_t len = 1; len < 400; len = len * 3 + 5)
		if (seed_ring_send(&s, VMBUS_PKT_DATA_INBAND, len, msg, len) < 0)
			abort();
	r = r < 0 ? r : seed_ring_dump(&s, "several", FL_PEEK, 0, 0, 0);
	r = r < 0 ? r : seed_ring_dump(&s, "several-scribble", FL_SCRIBBLE, 0, 0, 3);
	r = r < 0 ? r : seed_ring_dump(&s, "several-drain-stop", FL_STOP_DRAIN, 0, 0, 0);

	/* Packets that wrap around the end of the data area. */
	seed_ring_init(&s, DSIZE - 64);
	for (int i = 0; i < 4; i++)
		if (seed_ring_send(&s, VMBUS_PKT_COMP, (uint64_t)i, msg, 100) < 0)
			abort();
	r = r < 0 ? r : seed_ring_dump(&s, "wrap", 0, 0, 0, 0);

	/* An fcopy WRITE_TO_FILE message (6196 bytes) with a blocked producer waiting for room. */
	seed_ring_init(&s, 1024);
	if (seed_ring_send(&s, VMBUS_PKT_DATA_INBAND, 7, msg, sizeof(msg)) < 0)
		abort();
	r = r < 0 ? r : seed_ring_dump(&s, "fcopy-write-pending", FL_FEAT_PENDING, 0, 6220, 0);

	/* Hostile headers: offset8 < 2, len8 past the data, and an unaligned index. */
	memset(ctl, 0, sizeof(ctl));
	put_le32(ctl, 48);
	ctl[CTL_LEN] = VMBUS_PKT_DATA_INBAND;
	ctl[CTL_LEN + 2] = 1; /* offset8 */
	ctl[CTL_LEN + 4] = 4; /* len8 */
	r = r < 0 ? r : write_seed("fuzz-ring", "bad-offset8", ctl, sizeof(ctl));
	ctl[CTL_LEN + 2] = 2;
	ctl[CTL_LEN + 4] = 200;
	r = r < 0 ? r : write_seed("fuzz-ring", "bad-len8", ctl, sizeof(ctl));
	put_le32(ctl, 44);
	ctl[12] = FL_RAW_INDEX;
	r = r < 0 ? r : write_seed("fuzz-ring", "raw-unaligned-index", ctl, sizeof(ctl));

	/* Through the host channel: the data is cut into packets by its own bytes. */
	memset(ctl, 0, sizeof(ctl));
	ctl[12] = FL_VIA_HOST;
	for (size_t i = CTL_LEN; i < sizeof(ctl); i++)
		ctl[i] = (uint8_t)(i * 13);
	r = r < 0 ? r : write_seed("fuzz-ring", "via-host", ctl, sizeof(ctl));
	return r;
}

static int negotiate_seeds(void)
{
	uint8_t m[VMBUS_IC_HDR_LEN + 8 + 4 * 200 + 8];
	uint32_t v[VMBUS_IC_MAX_VERSIONS + 1];
	uint32_t fw[] = { VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0) };
	uint32_t kvp[] = { VMBUS_IC_VERSION(4, 0), VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0) };
	uint32_t fcopy[] = { VMBUS_IC_VERSION(1, 1) };
	uint32_t none[] = { VMBUS_IC_VERSION(9, 9) };
	int n, r;

	for (size_t i = 0; i < ELEMENTSOF(v); i++)
		v[i] = VMBUS_IC_VERSION(i % 7, i % 3);

	n = vmbus_ic_negotiate_request(m, sizeof(m), fw, 2, kvp, 3, 1);
	r = write_seed("fuzz-negotiate", "kvp", m, (size_t)n);
	/* As it comes off the ring: padded to 8 bytes. */
	memset(m + n, 0, 8);
	r = r < 0 ? r : write_seed("fuzz-negotiate", "kvp-padded", m, ALIGN8_UP((size_t)n));
	n = vmbus_ic_negotiate_request(m, sizeof(m), fw, 1, fcopy, 1, 2);
	r = r < 0 ? r : write_seed("fuzz-negotiate", "fcopy", m, (size_t)n);
	n = vmbus_ic_negotiate_request(m, sizeof(m), fw + 1, 1, none, 1, 3);
	r = r < 0 ? r : write_seed("fuzz-negotiate", "no-match", m, (size_t)n);
	n = vmbus_ic_negotiate_request(m, sizeof(m), v, VMBUS_IC_MAX_VERSIONS, v,
				       VMBUS_IC_MAX_VERSIONS, 4);
	r = r < 0 ? r : write_seed("fuzz-negotiate", "max-versions", m, (size_t)n);
	/* Counts that claim more than the message holds, and more than the limit. */
	n = vmbus_ic_negotiate_request(m, sizeof(m), fw, 2, kvp, 3, 5);
	r = r < 0 ? r : write_seed("fuzz-negotiate", "truncated", m, (size_t)n - 4);
	m[VMBUS_IC_HDR_LEN] = VMBUS_IC_MAX_VERSIONS + 1;
	r = r < 0 ? r : write_seed("fuzz-negotiate", "too-many", m, (size_t)n);
	r = r < 0 ? r : write_seed("fuzz-negotiate", "short", m, VMBUS_IC_HDR_LEN + 4);
	/* A heartbeat request: not a negotiate at all. */
	if (vmbus_ic_build(m, sizeof(m), VMBUS_IC_MSGTYPE_HEARTBEAT, fw[0], fw[0], 8, 6) < 0)
		abort();
	memset(m + VMBUS_IC_HDR_LEN, 0, 8);
	r = r < 0 ? r : write_seed("fuzz-negotiate", "heartbeat", m, VMBUS_IC_HDR_LEN + 8);
	return r;
}

static int utf16_seeds(void)
{
	static const char *texts[][2] = {
		{ "ascii", "C:\\Users\\Administrator\\file.txt" },
		/* "Grüße файл 文件" */
		{ "multibyte", "Gr\xc3\xbc\xc3\x9f\x65 "
			       "\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb \xe6\x96\x87\xe4\xbb\xb6" },
		{ "astral", "emoji \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf" },
	};
	static const uint8_t lone_high[] = { 'a', 0, 0x3d, 0xd8, 'b', 0 };
	static const uint8_t lone_low[] = { 0x00, 0xdc, 'x', 0 };
	static const uint8_t odd[] = { 'a', 0, 'b' };
	static const uint8_t overlong[] = { 0xc0, 0xaf, 0xe0, 0x80, 0xaf };
	static const uint8_t surrogate[] = { 0xed, 0xa0, 0x80 }; /* U+D800 in UTF-8 */
	uint8_t field[520]; /* fcopy's 260-unit path field */
	int n, r = 0;

	for (size_t i = 0; i < ELEMENTSOF(texts) && r >= 0; i++) {
		char name[64];

		n = vmbus_utf8_to_utf16(texts[i][1], strlen(texts[i][1]), field, sizeof(field));
		if (n < 0)
			abort();
		snprintf(name, sizeof(name), "%s-utf16", texts[i][0]);
		r = write_seed("fuzz-utf16", name, field, 2 * (size_t)n + 2);
		snprintf(name, sizeof(name), "%s-utf8", texts[i][0]);
		r = r < 0 ? r : write_seed("fuzz-utf16", name, texts[i][1], strlen(texts[i][1]));
	}
	/* A whole fixed-size field: name, NUL, then stale bytes. */
	memset(field, 0xee, sizeof(field));
	n = vmbus_utf8_to_utf16(texts[0][1], strlen(texts[0][1]), field, sizeof(field));
	r = r < 0 ? r : write_seed("fuzz-utf16", "field-520", field, sizeof(field));
	r = r < 0 ? r : write_seed("fuzz-utf16", "lone-high", lone_high, sizeof(lone_high));
	r = r < 0 ? r : write_seed("fuzz-utf16", "lone-low", lone_low, sizeof(lone_low));
	r = r < 0 ? r : write_seed("fuzz-utf16", "odd-length", odd, sizeof(odd));
	r = r < 0 ? r : write_seed("fuzz-utf16", "overlong-utf8", overlong, sizeof(overlong));
	r = r < 0 ? r : write_seed("fuzz-utf16", "surrogate-utf8", surrogate, sizeof(surrogate));
	return r;
}

/* An fcopy session: message bodies, each after its 2-byte little-endian length. */
struct fcopy_seq {
	uint8_t buf[20480];
	size_t len;
};

static void seq_add(struct fcopy_seq *q, const uint8_t *body, size_t len)
{
	if (len > 0xffff || q->len + 2 + len > sizeof(q->buf))
		abort();
	q->buf[q->len++] = (uint8_t)len;
	q->buf[q->len++] = (uint8_t)(len >> 8);
	memcpy(q->buf + q->len, body, len);
	q->len += len;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* A W_MAX_PATH field from UTF-8, NUL-terminated, zeros after. */
static void put_name(uint8_t *field, const char *utf8)
{
	memset(field, 0, 2 * FCOPY_W_MAX_PATH);
	if (vmbus_utf8_to_utf16(utf8, strlen(utf8), field, 2 * FCOPY_W_MAX_PATH) < 0)
		abort();
}

/* A W_MAX_PATH field of n raw units (lone surrogates allowed), then NUL if there is room. */
static void put_units(uint8_t *field, const uint16_t *u, size_t n)
{
	memset(field, 0, 2 * FCOPY_W_MAX_PATH);
	for (size_t i = 0; i < n && i < FCOPY_W_MAX_PATH; i++) {
		field[2 * i] = (uint8_t)u[i];
		field[2 * i + 1] = (uint8_t)(u[i] >> 8);
	}
}

static void start_body(uint8_t *m, const char *path, const char *name, uint32_t flags,
		       uint64_t size)
{
	memset(m, 0, FCOPY_START_LEN);
	put_le32(m + FCOPY_OFF_OPERATION, FCOPY_OP_START);
	put_name(m + FCOPY_OFF_FILE_NAME, name);
	put_name(m + FCOPY_OFF_PATH_NAME, path);
	put_le32(m + FCOPY_OFF_COPY_FLAGS, flags);
	put_le64(m + FCOPY_OFF_FILE_SIZE, size);
}

static void seq_start(struct fcopy_seq *q, const char *path, const char *name, uint32_t flags,
		      uint64_t size)
{
	uint8_t m[FCOPY_START_LEN];

	start_body(m, path, name, flags, size);
	seq_add(q, m, sizeof(m));
}

/* A WRITE claiming size bytes at offset, in a body carrying data_len bytes of data. */
static void seq_write(struct fcopy_seq *q, uint64_t offset, uint32_t size, size_t data_len)
{
	static uint8_t m[FCOPY_WRITE_LEN + 8];

	if (data_len > sizeof(m) - FCOPY_OFF_DATA)
		abort();
	memset(m, 0, FCOPY_OFF_DATA);
	put_le32(m + FCOPY_OFF_OPERATION, FCOPY_OP_WRITE);
	put_le64(m + FCOPY_OFF_OFFSET, offset);
	put_le32(m + FCOPY_OFF_SIZE, size);
	for (size_t i = 0; i < data_len; i++)
		m[FCOPY_OFF_DATA + i] = (uint8_t)(offset + i * 7 + 1);
	seq_add(q, m, FCOPY_OFF_DATA + data_len);
}

/* An operation alone: the 36-byte fcopy header, or just its first len bytes. */
static void seq_op(struct fcopy_seq *q, uint32_t op, size_t len)
{
	uint8_t m[FCOPY_HDR_LEN];

	memset(m, 0, sizeof(m));
	put_le32(m + FCOPY_OFF_OPERATION, op);
	seq_add(q, m, len);
}

static int fcopy_seeds(void)
{
	static struct fcopy_seq q;
	/* Names the fuzzer's sink fails on (see fuzz-fcopy.c). */
	const uint32_t fail_exists = 0x80, fail_start = 0x40;
	const uint64_t fail_write_offset = 0xd15c, fail_complete_hint = 0xfa11;
	const uint32_t both = FCOPY_FLAG_OVER_WRITE | FCOPY_FLAG_CREATE_PATH;
	uint8_t m[FCOPY_START_LEN];
	uint16_t u[FCOPY_W_MAX_PATH];
	char name[FCOPY_W_MAX_PATH + 1];
	int r;

	/* A whole copy as Hyper-V sends it: every WRITE body is the full 6196 bytes. */
	q.len = 0;
	seq_start(&q, "/tmp/fcopy/", "report.txt", both, 2 * FCOPY_DATA_FRAGMENT + 100);
	seq_write(&q, 0, FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT);
	seq_write(&q, FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT);
	seq_write(&q, 2 * FCOPY_DATA_FRAGMENT, 100, FCOPY_DATA_FRAGMENT);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = write_seed("fuzz-fcopy", "session", q.buf, q.len);

	/* CJK, Latin-1 and an astral-plane emoji (a surrogate pair) in both names. */
	q.len = 0;
	seq_start(&q, "/srv/\xe6\x96\x87\xe4\xbb\xb6/\xe3\x83\x87\xe3\x83\xbc\xe3\x82\xbf",
		  "\xf0\x9f\x98\x80 \xe6\x8a\xa5\xe5\x91\x8a caf\xc3\xa9.txt",
		  FCOPY_FLAG_CREATE_PATH, 5);
	seq_write(&q, 0, 5, 5);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "names-cjk-emoji", q.buf, q.len);

	/* Ways out of the target directory, then a messy but harmless path. */
	q.len = 0;
	seq_start(&q, "/tmp/../etc", "passwd", both, 10);
	seq_write(&q, 0, 10, 10);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	seq_start(&q, "/tmp", "..", both, 0);
	seq_start(&q, "/tmp", ".", both, 0);
	seq_start(&q, "/tmp", "../../etc/shadow", both, 0);
	seq_start(&q, "tmp/relative", "x", both, 0);
	seq_start(&q, "/a/..", "x", both, 0);
	seq_start(&q, "//a/./b//..b/", "ok", both, 0);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "traversal", q.buf, q.len);

	/* WRITEs that cannot be decoded, each while a transfer is open. */
	q.len = 0;
	seq_start(&q, "/tmp", "a", 0, 0);
	seq_write(&q, 0, FCOPY_DATA_FRAGMENT + 1, FCOPY_DATA_FRAGMENT + 1);
	seq_start(&q, "/tmp", "b", 0, 0);
	seq_write(&q, 0, 200, 100);
	seq_start(&q, "/tmp", "c", 0, 0);
	seq_write(&q, (uint64_t)INT64_MAX, 1, 1);
	seq_start(&q, "/tmp", "d", 0, 0);
	seq_write(&q, (uint64_t)INT64_MAX - FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT,
		  FCOPY_DATA_FRAGMENT);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "oversize-write", q.buf, q.len);

	q.len = 0;
	seq_write(&q, 0, 10, 10);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	seq_start(&q, "/tmp", "late", FCOPY_FLAG_OVER_WRITE, 10);
	seq_write(&q, 0, 10, 10);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "write-before-start", q.buf, q.len);

	q.len = 0;
	seq_op(&q, FCOPY_OP_CANCEL, FCOPY_HDR_LEN);
	seq_start(&q, "/tmp", "cancelled", 0, 3 * FCOPY_DATA_FRAGMENT);
	seq_write(&q, 0, FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT);
	seq_op(&q, FCOPY_OP_CANCEL, FCOPY_HDR_LEN);
	seq_write(&q, FCOPY_DATA_FRAGMENT, 10, 10);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	seq_op(&q, FCOPY_OP_CANCEL, 4);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "cancel-midway", q.buf, q.len);

	/* A name field of 260 units without NUL, then the path field; once while open. */
	q.len = 0;
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i++)
		u[i] = (uint16_t)('a' + i % 26);
	start_body(m, "/tmp", "x", 0, 0);
	put_units(m + FCOPY_OFF_FILE_NAME, u, FCOPY_W_MAX_PATH);
	seq_add(&q, m, sizeof(m));
	/* The path: absolute, short components, fine but for the missing NUL. */
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i += 100)
		u[i] = '/';
	start_body(m, "/tmp", "x", 0, 0);
	put_units(m + FCOPY_OFF_PATH_NAME, u, FCOPY_W_MAX_PATH);
	seq_add(&q, m, sizeof(m));
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i++)
		u[i] = (uint16_t)('a' + i % 26);
	seq_start(&q, "/tmp", "open", 0, 0);
	start_body(m, "/tmp", "x", 0, 0);
	put_units(m + FCOPY_OFF_FILE_NAME, u, FCOPY_W_MAX_PATH);
	seq_add(&q, m, sizeof(m));
	seq_write(&q, 0, 1, 1);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	/* 259 units and the NUL: the longest name; too long for NAME_MAX, so refused later. */
	start_body(m, "/tmp", "x", 0, 0);
	put_units(m + FCOPY_OFF_FILE_NAME, u, FCOPY_W_MAX_PATH - 1);
	seq_add(&q, m, sizeof(m));
	r = r < 0 ? r : write_seed("fuzz-fcopy", "unterminated-name", q.buf, q.len);

	/* Lone high and low surrogates, in the name and in the path. */
	q.len = 0;
	u[0] = 'a';
	u[1] = 0xd83d;
	u[2] = 'b';
	start_body(m, "/tmp", "x", 0, 0);
	put_units(m + FCOPY_OFF_FILE_NAME, u, 3);
	seq_add(&q, m, sizeof(m));
	u[0] = '/';
	u[1] = 0xdc00;
	start_body(m, "/tmp", "x", 0, 0);
	put_units(m + FCOPY_OFF_PATH_NAME, u, 2);
	seq_add(&q, m, sizeof(m));
	u[1] = 0xd83d;
	u[2] = 0xde00;
	start_body(m, "/tmp", "x", 0, 0);
	put_units(m + FCOPY_OFF_PATH_NAME, u, 3);
	seq_add(&q, m, sizeof(m));
	r = r < 0 ? r : write_seed("fuzz-fcopy", "lone-surrogate", q.buf, q.len);

	/* A START while a transfer is open, and the longest names that pass. */
	q.len = 0;
	seq_start(&q, "/tmp", "first", 0, 10);
	seq_write(&q, 0, 10, 10);
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	seq_start(&q, "/", name, 0, 20);
	seq_write(&q, 0, 20, 20);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "restart", q.buf, q.len);

	/* The sink's cues: a refused start, a failed write, a failed complete. */
	q.len = 0;
	seq_start(&q, "/tmp", "exists", fail_exists, 0);
	seq_start(&q, "/tmp", "fails", fail_start, 0);
	seq_start(&q, "/tmp", "disk-full", 0, 0);
	seq_write(&q, fail_write_offset, 10, 10);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	seq_start(&q, "/tmp", "no-room-at-the-end", 0, fail_complete_hint);
	seq_write(&q, 0, 10, 10);
	seq_op(&q, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "sink-failures", q.buf, q.len);

	/* Bodies too short for an operation, unknown operations, a bare COMPLETE. */
	q.len = 0;
	seq_start(&q, "/tmp", "f", 0, 0);
	for (size_t len = 0; len < 4; len++)
		seq_op(&q, FCOPY_OP_COMPLETE, len);
	seq_op(&q, 4, FCOPY_HDR_LEN);
	seq_op(&q, UINT32_MAX, 4);
	seq_op(&q, FCOPY_OP_COMPLETE, 4);
	r = r < 0 ? r : write_seed("fuzz-fcopy", "short-and-unknown", q.buf, q.len);
	return r;
}

int main(int argc, char *argv[])
{
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return EXIT_FAILURE;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mkdir \"%s\": %m\n", out_dir);
		return EXIT_FAILURE;
	}
	r = ring_seeds();
	if (r >= 0)
		r = negotiate_seeds();
	if (r >= 0)
		r = utf16_seeds();
	if (r >= 0)
		r = fcopy_seeds();
	if (r < 0) {
		fprintf(stderr, "writing seeds under \"%s\": %s\n", out_dir, strerror(-r));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
