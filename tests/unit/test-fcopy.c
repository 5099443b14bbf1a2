/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-fcopyd's protocol logic (daemons/fcopy/fcopy-proto.c): decoding a File
 * Copy message body, validating the target, and the transfer state machine.
 *
 * Messages are built byte by byte from the offsets of fcopy-wire.h, names as
 * UTF-16LE units, and handed over in a heap copy of exactly their length, so
 * under ASan a decoder that reads past the message fails the test. The state
 * machine drives an in-memory sink that records its calls, keeps the bytes,
 * and can be told to fail start, write or complete with a given status.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <syslog.h>

#include "test-util.h"
#include "vmbus/vmbus.h"

#include "fcopy-proto.h"
#include "log.h"

/* ------------------------------------------------------------------------ */
/* The in-memory sink                                                        */
/* ------------------------------------------------------------------------ */

enum sink_call { CALL_START = 1, CALL_WRITE, CALL_COMPLETE, CALL_ABORT };

struct mem_sink {
	/* What start/write/complete answer (VMBUS_HV_S_OK unless a test says otherwise). */
	uint32_t start_status, write_status, complete_status;
	/* Every call, in order. */
	enum sink_call calls[64];
	size_t n_calls;
	/* The last start's arguments. */
	char dir[PATH_MAX];
	char name[FCOPY_NAME_UTF8_MAX];
	uint32_t flags;
	uint64_t size_hint;
	/* The last write's arguments. */
	uint64_t offset;
	uint32_t size;
	/* The file: bytes at their offsets, len the end of the furthest write. */
	uint8_t data[4 * FCOPY_DATA_FRAGMENT];
	size_t len;
	bool open;
	/* What the last completed transfer held. */
	uint8_t done[4 * FCOPY_DATA_FRAGMENT];
	size_t done_len;
	char why[128];
};

static void record(struct mem_sink *s, enum sink_call c)
{
	assert_true(s->n_calls < ELEMENTSOF(s->calls));
	s->calls[s->n_calls++] = c;
}

static uint32_t sink_start(void *sink, const char *dir, const char *name, uint32_t flags,
			   uint64_t size_hint)
{
	struct mem_sink *s = sink;

	record(s, CALL_START);
	/* The state machine never starts over an open transfer: it aborts it first. */
	assert_false(s->open);
	assert_true(strlen(dir) < sizeof(s->dir));
	assert_true(strlen(name) < sizeof(s->name));
	strcpy(s->dir, dir);
	strcpy(s->name, name);
	s->flags = flags;
	s->size_hint = size_hint;
	if (s->start_status != VMBUS_HV_S_OK)
		return s->start_status;
	s->open = true;
	s->len = 0;
	memset(s->data, 0, sizeof(s->data));
	return VMBUS_HV_S_OK;
}

static uint32_t sink_write(void *sink, uint64_t offset, const void *data, uint32_t size)
{
	struct mem_sink *s = sink;

	record(s, CALL_WRITE);
	assert_true(s->open);
	s->offset = offset;
	s->size = size;
	if (s->write_status != VMBUS_HV_S_OK)
		return s->write_status;
	/* Far offsets are only recorded; the tests that keep bytes stay in the buffer. */
	if (offset <= sizeof(s->data) && size <= sizeof(s->data) - offset) {
		if (size)
			memcpy(s->data + offset, data, size);
		if (offset + size > s->len)
			s->len = (size_t)(offset + size);
	}
	return VMBUS_HV_S_OK;
}

static uint32_t sink_complete(void *sink)
{
	struct mem_sink *s = sink;

	record(s, CALL_COMPLETE);
	assert_true(s->open);
	s->open = false;
	if (s->complete_status != VMBUS_HV_S_OK)
		return s->complete_status;
	memcpy(s->done, s->data, s->len);
	s->done_len = s->len;
	return VMBUS_HV_S_OK;
}

static void sink_abort(void *sink, const char *why)
{
	struct mem_sink *s = sink;

	record(s, CALL_ABORT);
	assert_true(s->open);
	assert_non_null(why);
	s->open = false;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static const struct fcopy_sink_ops mem_sink_ops = {
	.start = sink_start,
	.write = sink_write,
	.complete = sink_complete,
	.abort = sink_abort,
};

/* Each test gets a zeroed sink and a fresh state machine on it. */
struct ctx {
	struct mem_sink sink;
	struct fcopy f;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->f.ops = &mem_sink_ops;
	c->f.sink = &c->sink;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void assert_calls_(const struct mem_sink *s, const enum sink_call *want, size_t n)
{
	assert_int_equal(s->n_calls, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s->calls[i], want[i]);
}
#define assert_calls(s, ...)                                                   \
	assert_calls_((s), (const enum sink_call[]){ __VA_ARGS__ },            \
		      sizeof((const enum sink_call[]){ __VA_ARGS__ }) / sizeof(enum sink_call))

static void assert_counters(const struct fcopy *f, unsigned long started, unsigned long completed,
			    unsigned long aborted, unsigned long refused)
{
	assert_int_equal(f->n_started, started);
	assert_int_equal(f->n_completed, completed);
	assert_int_equal(f->n_aborted, aborted);
	assert_int_equal(f->n_refused, refused);
}

/* ------------------------------------------------------------------------ */
/* Building messages                                                         */
/* ------------------------------------------------------------------------ */

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/*
 * A W_MAX_PATH field: n units, then a NUL unit if there is room, then stale
 * bytes (a lone surrogate among them) that must never be looked at.
 */
static void put_units(uint8_t *field, const uint16_t *u, size_t n)
{
	assert_true(n <= FCOPY_W_MAX_PATH);
	for (size_t i = n; i < FCOPY_W_MAX_PATH; i++)
		put_le16(field + 2 * i, (i & 1) ? 0xdc00 : 'Z');
	for (size_t i = 0; i < n; i++)
		put_le16(field + 2 * i, u[i]);
	if (n < FCOPY_W_MAX_PATH)
		put_le16(field + 2 * n, 0);
}

static void put_ascii(uint8_t *field, const char *s)
{
	uint16_t u[FCOPY_W_MAX_PATH];
	size_t n = strlen(s);

	assert_true(n < FCOPY_W_MAX_PATH);
	for (size_t i = 0; i < n; i++)
		u[i] = (uint8_t)s[i];
	put_units(field, u, n);
}

/* A START_FILE_COPY body (FCOPY_START_LEN bytes) with ASCII names. */
static void build_start(uint8_t *m, const char *path, const char *name, uint32_t flags,
			uint64_t size)
{
	pattern_fill(m, FCOPY_START_LEN, 0x5e); /* service ids and anything unset: junk */
	put_le32(m + FCOPY_OFF_OPERATION, FCOPY_OP_START);
	put_ascii(m + FCOPY_OFF_FILE_NAME, name);
	put_ascii(m + FCOPY_OFF_PATH_NAME, path);
	put_le32(m + FCOPY_OFF_COPY_FLAGS, flags);
	put_le64(m + FCOPY_OFF_FILE_SIZE, size);
}

/* A WRITE_TO_FILE body claiming size, with data_len bytes of pattern seed; returns its length. */
static size_t build_write(uint8_t *m, uint64_t offset, uint32_t size, size_t data_len,
			  uint64_t seed)
{
	assert_true(data_len <= FCOPY_DATA_FRAGMENT + 16);
	pattern_fill(m, FCOPY_OFF_DATA, 0x77);
	put_le32(m + FCOPY_OFF_OPERATION, FCOPY_OP_WRITE);
	put_le64(m + FCOPY_OFF_OFFSET, offset);
	put_le32(m + FCOPY_OFF_SIZE, size);
	pattern_fill(m + FCOPY_OFF_DATA, data_len, seed);
	return FCOPY_OFF_DATA + data_len;
}

/* An operation with just the fcopy header (36 bytes), as the host sends COMPLETE/CANCEL. */
static size_t build_op(uint8_t *m, uint32_t op)
{
	pattern_fill(m, FCOPY_HDR_LEN, op);
	put_le32(m + FCOPY_OFF_OPERATION, op);
	return FCOPY_HDR_LEN;
}

static uint8_t *dup_exact(const uint8_t *m, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	if (len)
		memcpy(b, m, len);
	return b;
}

/*
 * fcopy_decode on an exact-size copy of m. On success a WRITE's data must
 * point into that copy at FCOPY_OFF_DATA; it is translated back into m.
 */
static uint32_t decode(const uint8_t *m, size_t len, struct fcopy_request *req,
		       const char **ret_why)
{
	uint8_t *b = dup_exact(m, len);
	uint32_t status;

	memset(req, 0x5a, sizeof(*req));
	status = fcopy_decode(b, len, req, ret_why);
	if (status == VMBUS_HV_S_OK) {
		assert_null(*ret_why);
		if (req->op == FCOPY_OP_WRITE) {
			assert_ptr_equal(req->data, b + FCOPY_OFF_DATA);
			req->data = m + FCOPY_OFF_DATA;
		}
	} else {
		assert_int_equal(status, VMBUS_HV_E_FAIL);
		assert_non_null(*ret_why);
	}
	free(b);
	return status;
}

static uint32_t decode_fails(const uint8_t *m, size_t len)
{
	struct fcopy_request req;
	const char *why;

	return decode(m, len, &req, &why);
}

/* fcopy_message on an exact-size copy of m. */
static uint32_t send_msg(struct fcopy *f, const uint8_t *m, size_t len)
{
	uint8_t *b = dup_exact(m, len);
	uint32_t status = fcopy_message(f, b, len);

	free(b);
	return status;
}

static uint32_t send_start(struct fcopy *f, const char *path, const char *name, uint32_t flags,
			   uint64_t size)
{
	uint8_t m[FCOPY_START_LEN];

	build_start(m, path, name, flags, size);
	return send_msg(f, m, sizeof(m));
}

static uint32_t send_write(struct fcopy *f, uint64_t offset, uint32_t size, uint64_t seed)
{
	static uint8_t m[FCOPY_WRITE_LEN];

	return send_msg(f, m, build_write(m, offset, size, size, seed));
}

static uint32_t send_op(struct fcopy *f, uint32_t op)
{
	uint8_t m[FCOPY_HDR_LEN];

	return send_msg(f, m, build_op(m, op));
}

/* ------------------------------------------------------------------------ */
/* fcopy_decode                                                              */
/* ------------------------------------------------------------------------ */

static void test_decode_start_fields(void **state)
{
	uint8_t m[FCOPY_START_LEN + 8];
	struct fcopy_request req;
	const char *why;

	build_start(m, "/var/tmp/in", "report.txt", FCOPY_FLAG_OVER_WRITE | FCOPY_FLAG_CREATE_PATH,
		    0x1122334455667788ull);
	/* Each field where fcopy-wire.h says, little-endian. */
	assert_int_equal(m[FCOPY_OFF_FILE_NAME], 'r');
	assert_int_equal(m[FCOPY_OFF_FILE_NAME + 1], 0);
	assert_int_equal(m[FCOPY_OFF_PATH_NAME], '/');
	assert_int_equal(m[FCOPY_OFF_COPY_FLAGS], 0x03);
	assert_int_equal(m[FCOPY_OFF_FILE_SIZE], 0x88);
	assert_int_equal(m[FCOPY_OFF_FILE_SIZE + 7], 0x11);

	assert_int_equal(decode(m, FCOPY_START_LEN, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.op, FCOPY_OP_START);
	assert_string_equal(req.name, "report.txt");
	assert_string_equal(req.path, "/var/tmp/in");
	assert_int_equal(req.flags, FCOPY_FLAG_OVER_WRITE | FCOPY_FLAG_CREATE_PATH);
	assert_true(req.file_size == 0x1122334455667788ull);
	assert_null(req.data);
	assert_int_equal(req.size, 0);

	/* Any flags are passed on as they are; a longer (padded) body is fine. */
	put_le32(m + FCOPY_OFF_COPY_FLAGS, 0xfffffff0u);
	put_le64(m + FCOPY_OFF_FILE_SIZE, UINT64_MAX);
	memset(m + FCOPY_START_LEN, 0, 8);
	assert_int_equal(decode(m, sizeof(m), &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.flags, 0xfffffff0u);
	assert_true(req.file_size == UINT64_MAX);
	assert_string_equal(req.name, "report.txt");

	/* Empty names decode (fcopy_target refuses them later). */
	build_start(m, "", "", 0, 0);
	assert_int_equal(decode(m, FCOPY_START_LEN, &req, &why), VMBUS_HV_S_OK);
	assert_string_equal(req.name, "");
	assert_string_equal(req.path, "");
}

/* A START whose name field holds n units (and path "/p"); decode it. */
static uint32_t decode_name16(const uint16_t *u, size_t n, struct fcopy_request *req)
{
	uint8_t m[FCOPY_START_LEN];
	const char *why;

	build_start(m, "/p", "x", 0, 0);
	put_units(m + FCOPY_OFF_FILE_NAME, u, n);
	return decode(m, sizeof(m), req, &why);
}

/* The same units as the path field (name "x"). */
static uint32_t decode_path16(const uint16_t *u, size_t n, struct fcopy_request *req)
{
	uint8_t m[FCOPY_START_LEN];
	const char *why;

	build_start(m, "/p", "x", 0, 0);
	put_units(m + FCOPY_OFF_PATH_NAME, u, n);
	return decode(m, sizeof(m), req, &why);
}

static void test_decode_start_names_utf16(void **state)
{
	static const struct {
		uint16_t u[8];
		size_t n;
		const char *utf8;
	} names[] = {
		{ { 'a', '.', 't', 'x', 't' }, 5, "a.txt" },
		/* café */
		{ { 'c', 'a', 'f', 0x00e9 }, 4, "caf\xc3\xa9" },
		/* 文件.doc */
		{ { 0x6587, 0x4ef6, '.', 'd', 'o', 'c' }, 6, "\xe6\x96\x87\xe4\xbb\xb6.doc" },
		/* U+1F600 as a surrogate pair */
		{ { 0xd83d, 0xde00, '.', 'p', 'n', 'g' }, 6, "\xf0\x9f\x98\x80.png" },
		/* U+10FFFF, the last code point */
		{ { 0xdbff, 0xdfff }, 2, "\xf4\x8f\xbf\xbf" },
	};
	struct fcopy_request req;

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		assert_int_equal(decode_name16(names[i].u, names[i].n, &req), VMBUS_HV_S_OK);
		assert_string_equal(req.name, names[i].utf8);
		assert_string_equal(req.path, "/p");
		assert_int_equal(decode_path16(names[i].u, names[i].n, &req), VMBUS_HV_S_OK);
		assert_string_equal(req.path, names[i].utf8);
		assert_string_equal(req.name, "x");
	}
}

static void test_decode_start_bad_utf16(void **state)
{
	static const struct {
		uint16_t u[4];
		size_t n;
	} bad[] = {
		{ { 0xd83d }, 1 },              /* lone high, then the NUL */
		{ { 'a', 0xd83d, 'b' }, 3 },    /* high, then not a low */
		{ { 0xde00 }, 1 },              /* lone low */
		{ { 'a', 0xdc00, 'b' }, 3 },
		{ { 0xde00, 0xd83d }, 2 },      /* a pair the wrong way round */
	};
	struct fcopy_request req;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		assert_int_equal(decode_name16(bad[i].u, bad[i].n, &req), VMBUS_HV_E_FAIL);
		assert_int_equal(decode_path16(bad[i].u, bad[i].n, &req), VMBUS_HV_E_FAIL);
	}
}

static void test_decode_start_name_length(void **state)
{
	uint16_t u[FCOPY_W_MAX_PATH];
	struct fcopy_request req;

	/* 260 units and no NUL anywhere in the field: refused, in either field. */
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i++)
		u[i] = 'a' + (uint16_t)(i % 26);
	assert_int_equal(decode_name16(u, FCOPY_W_MAX_PATH, &req), VMBUS_HV_E_FAIL);
	assert_int_equal(decode_path16(u, FCOPY_W_MAX_PATH, &req), VMBUS_HV_E_FAIL);

	/* 259 units and the NUL in the last unit: accepted, all 259 kept. */
	assert_int_equal(decode_name16(u, FCOPY_W_MAX_PATH - 1, &req), VMBUS_HV_S_OK);
	assert_int_equal(strlen(req.name), FCOPY_W_MAX_PATH - 1);
	assert_memory_equal(req.name, "abcdefghijklmnopqrstuvwxyz", 26);
	assert_int_equal(req.name[258], 'a' + 258 % 26);
	assert_int_equal(decode_path16(u, FCOPY_W_MAX_PATH - 1, &req), VMBUS_HV_S_OK);
	assert_int_equal(strlen(req.path), FCOPY_W_MAX_PATH - 1);

	/* 259 three-byte characters: 777 bytes, the most a field can decode to. */
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i++)
		u[i] = 0x6587;
	assert_int_equal(decode_name16(u, FCOPY_W_MAX_PATH - 1, &req), VMBUS_HV_S_OK);
	assert_int_equal(strlen(req.name), FCOPY_NAME_UTF8_MAX - 1);
	assert_memory_equal(req.name + FCOPY_NAME_UTF8_MAX - 4, "\xe6\x96\x87", 3);
	assert_int_equal(decode_path16(u, FCOPY_W_MAX_PATH - 1, &req), VMBUS_HV_S_OK);
	assert_int_equal(strlen(req.path), FCOPY_NAME_UTF8_MAX - 1);
	assert_int_equal(decode_name16(u, FCOPY_W_MAX_PATH, &req), VMBUS_HV_E_FAIL);

	/*
	 * Surrogate pairs: 129 of them + NUL decode to 516 bytes. A high half as the
	 * 259th unit has the NUL for its partner: refused. 130 pairs fill the field
	 * and leave no room for the NUL: refused.
	 */
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i += 2) {
		u[i] = 0xd83d;
		u[i + 1] = 0xde00;
	}
	assert_int_equal(decode_name16(u, FCOPY_W_MAX_PATH - 2, &req), VMBUS_HV_S_OK);
	assert_int_equal(strlen(req.name), 4 * (FCOPY_W_MAX_PATH - 2) / 2);
	assert_memory_equal(req.name, "\xf0\x9f\x98\x80", 4);
	assert_int_equal(decode_name16(u, FCOPY_W_MAX_PATH - 1, &req), VMBUS_HV_E_FAIL);
	assert_int_equal(decode_name16(u, FCOPY_W_MAX_PATH, &req), VMBUS_HV_E_FAIL);
}

static void test_decode_start_truncated(void **state)
{
	uint8_t m[FCOPY_START_LEN];
	struct fcopy_request req;
	const char *why;
	static const size_t lens[] = {
		FCOPY_START_LEN - 1, FCOPY_OFF_FILE_SIZE, FCOPY_OFF_COPY_FLAGS, FCOPY_OFF_PATH_NAME,
		FCOPY_OFF_FILE_NAME, 4,
	};

	build_start(m, "/tmp", "f", 0, 1);
	for (size_t i = 0; i < ELEMENTSOF(lens); i++)
		assert_int_equal(decode_fails(m, lens[i]), VMBUS_HV_E_FAIL);
	assert_int_equal(decode(m, FCOPY_START_LEN, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.file_size, 1);
}

static void test_decode_write(void **state)
{
	static uint8_t m[FCOPY_WRITE_LEN + 8];
	struct fcopy_request req;
	const char *why;
	size_t len;

	/* A full fragment. */
	len = build_write(m, 0x0102030405060708ull, FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT, 9);
	assert_int_equal(len, FCOPY_WRITE_LEN);
	assert_int_equal(m[FCOPY_OFF_OFFSET], 0x08);
	assert_int_equal(m[FCOPY_OFF_SIZE + 1], FCOPY_DATA_FRAGMENT >> 8);
	assert_int_equal(decode(m, len, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.op, FCOPY_OP_WRITE);
	assert_true(req.offset == 0x0102030405060708ull);
	assert_int_equal(req.size, FCOPY_DATA_FRAGMENT);
	assert_ptr_equal(req.data, m + FCOPY_OFF_DATA);

	/* A short fragment in a full-size message (the rest of data[] is padding). */
	build_write(m, 12, 100, FCOPY_DATA_FRAGMENT, 10);
	assert_int_equal(decode(m, FCOPY_WRITE_LEN, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.size, 100);
	assert_int_equal(req.offset, 12);
	/* ... and in a message cut right after it, and padded past 6196. */
	assert_int_equal(decode(m, FCOPY_OFF_DATA + 100, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(decode(m, sizeof(m), &req, &why), VMBUS_HV_S_OK);

	/* Nothing to write: fine, from a 52-byte message. */
	len = build_write(m, 0, 0, 0, 0);
	assert_int_equal(decode(m, len, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.size, 0);

	/* One byte over the fragment, even with the bytes there. */
	len = build_write(m, 0, FCOPY_DATA_FRAGMENT + 1, FCOPY_DATA_FRAGMENT + 1, 11);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
	build_write(m, 0, UINT32_MAX, 0, 0);
	assert_int_equal(decode_fails(m, FCOPY_WRITE_LEN), VMBUS_HV_E_FAIL);

	/* A size that runs past the end of the message. */
	len = build_write(m, 0, 100, 99, 12);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
	len = build_write(m, 0, 1, 0, 0);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
	len = build_write(m, 0, FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT - 1, 13);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);

	/* Too short for the header fields. */
	build_write(m, 0, 0, 0, 0);
	for (len = 4; len < FCOPY_OFF_DATA; len++)
		assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
}

static void test_decode_write_offset_limits(void **state)
{
	static uint8_t m[FCOPY_WRITE_LEN];
	struct fcopy_request req;
	const char *why;
	size_t len;

	/* offset + size == INT64_MAX: the last byte an off_t can address. */
	len = build_write(m, (uint64_t)INT64_MAX - 10, 10, 10, 1);
	assert_int_equal(decode(m, len, &req, &why), VMBUS_HV_S_OK);
	assert_true(req.offset == (uint64_t)INT64_MAX - 10);
	len = build_write(m, (uint64_t)INT64_MAX - FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT,
			  FCOPY_DATA_FRAGMENT, 2);
	assert_int_equal(decode(m, len, &req, &why), VMBUS_HV_S_OK);
	len = build_write(m, (uint64_t)INT64_MAX, 0, 0, 0);
	assert_int_equal(decode(m, len, &req, &why), VMBUS_HV_S_OK);

	/* One more and it overflows. */
	len = build_write(m, (uint64_t)INT64_MAX - 9, 10, 10, 3);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
	len = build_write(m, (uint64_t)INT64_MAX + 1, 0, 0, 0);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
	len = build_write(m, UINT64_MAX, 1, 1, 4);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
	len = build_write(m, UINT64_MAX - FCOPY_DATA_FRAGMENT + 1, FCOPY_DATA_FRAGMENT,
			  FCOPY_DATA_FRAGMENT, 5);
	assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
}

static void test_decode_short_and_plain_ops(void **state)
{
	uint8_t m[FCOPY_HDR_LEN];
	struct fcopy_request req;
	const char *why;

	/* Fewer than 4 bytes cannot hold an operation, whatever they are. */
	for (uint32_t op = FCOPY_OP_START; op <= FCOPY_OP_CANCEL; op++) {
		build_op(m, op);
		for (size_t len = 0; len < 4; len++)
			assert_int_equal(decode_fails(m, len), VMBUS_HV_E_FAIL);
	}

	/* COMPLETE and CANCEL carry nothing else: 4 bytes are enough. */
	build_op(m, FCOPY_OP_COMPLETE);
	assert_int_equal(decode(m, 4, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.op, FCOPY_OP_COMPLETE);
	assert_null(req.data);
	assert_int_equal(decode(m, FCOPY_HDR_LEN, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.op, FCOPY_OP_COMPLETE);
	build_op(m, FCOPY_OP_CANCEL);
	assert_int_equal(decode(m, 4, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.op, FCOPY_OP_CANCEL);

	/* The operation is little-endian: 0x01000000 is not WRITE. */
	put_le32(m, 0x01000000u);
	assert_int_equal(decode(m, 4, &req, &why), VMBUS_HV_S_OK);
	assert_int_equal(req.op, 0x01000000u);
}

static void test_decode_unknown_op(void **state)
{
	struct ctx *c = *state;
	static const uint32_t ops[] = { 4, 0x100, 0x80000000u, UINT32_MAX };
	uint8_t m[FCOPY_HDR_LEN];
	struct fcopy_request req;
	const char *why;

	for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
		build_op(m, ops[i]);
		/* It decodes, op set ... */
		assert_int_equal(decode(m, 4, &req, &why), VMBUS_HV_S_OK);
		assert_int_equal(req.op, ops[i]);
		/* ... and is refused, without the sink hearing of it. */
		assert_int_equal(fcopy_handle(&c->f, &req), VMBUS_HV_E_FAIL);
		assert_int_equal(send_msg(&c->f, m, sizeof(m)), VMBUS_HV_E_FAIL);
	}
	assert_int_equal(c->sink.n_calls, 0);
	assert_counters(&c->f, 0, 0, 0, 2 * ELEMENTSOF(ops));
	assert_string_equal(fcopy_op_name(4), "unknown operation");
	assert_string_equal(fcopy_op_name(FCOPY_OP_WRITE), "WRITE_TO_FILE");
}

/* ------------------------------------------------------------------------ */
/* fcopy_target                                                              */
/* ------------------------------------------------------------------------ */

/* fcopy_target into a PATH_MAX buffer; on success dir must equal want. */
static int target(const char *path, const char *name, const char *want)
{
	char dir[PATH_MAX];
	const char *why = "unset";
	int r;

	memset(dir, 'q', sizeof(dir));
	r = fcopy_target(path, name, dir, sizeof(dir), &why);
	if (r == 0) {
		assert_null(why);
		assert_non_null(want);
		assert_string_equal(dir, want);
	} else {
		assert_true(r == -EINVAL || r == -ENAMETOOLONG);
		assert_non_null(why);
	}
	return r;
}

static void test_target_normalise(void **state)
{
	assert_int_equal(target("/", "f", "/"), 0);
	assert_int_equal(target("//", "f", "/"), 0);
	assert_int_equal(target("/././/.", "f", "/"), 0);
	assert_int_equal(target("/tmp", "f", "/tmp"), 0);
	assert_int_equal(target("/tmp/", "f", "/tmp"), 0);
	assert_int_equal(target("//a/./b//", "f", "/a/b"), 0);
	assert_int_equal(target("/a/.b/c./.../b..", "f", "/a/.b/c./.../b.."), 0);
	assert_int_equal(target("/\xe6\x96\x87/ /x", "f", "/\xe6\x96\x87/ /x"), 0);

	/* Not absolute. */
	assert_int_equal(target("tmp", "f", NULL), -EINVAL);
	assert_int_equal(target("", "f", NULL), -EINVAL);
	assert_int_equal(target("./tmp", "f", NULL), -EINVAL);
	assert_int_equal(target("C:\\Users", "f", NULL), -EINVAL);
	assert_int_equal(target(" /tmp", "f", NULL), -EINVAL);
}

static void test_target_dotdot(void **state)
{
	static const char *const bad[] = {
		"/..", "/../", "/a/..", "/a/../", "/a/../b", "/../a", "//..//a", "/a/./../b",
		"/a/b/c/../../..",
	};
	static const char *const good[][2] = {
		{ "/a/..b", "/a/..b" },
		{ "/a/b..", "/a/b.." },
		{ "/...", "/..." },
		{ "/a/..b/c", "/a/..b/c" },
		{ "/.a/.", "/.a" },
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(target(bad[i], "f", NULL), -EINVAL);
	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		assert_int_equal(target(good[i][0], "f", good[i][1]), 0);
}

static void test_target_name(void **state)
{
	char name[NAME_MAX + 2];

	assert_int_equal(target("/tmp", "", NULL), -EINVAL);
	assert_int_equal(target("/tmp", ".", NULL), -EINVAL);
	assert_int_equal(target("/tmp", "..", NULL), -EINVAL);
	assert_int_equal(target("/tmp", "a/b", NULL), -EINVAL);
	assert_int_equal(target("/tmp", "/", NULL), -EINVAL);
	assert_int_equal(target("/tmp", "/etc/passwd", NULL), -EINVAL);
	assert_int_equal(target("/tmp", "../x", NULL), -EINVAL);
	assert_int_equal(target("/tmp", "x/", NULL), -EINVAL);
	assert_int_equal(target("/tmp", "...", "/tmp"), 0);
	assert_int_equal(target("/tmp", ".hidden", "/tmp"), 0);
	assert_int_equal(target("/tmp", "..x", "/tmp"), 0);
	assert_int_equal(target("/tmp", "a\\b", "/tmp"), 0);

	/* NAME_MAX bytes is the limit (bytes, not characters). */
	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';
	assert_int_equal(target("/tmp", name, "/tmp"), 0);
	assert_int_equal(target("/", name, "/"), 0);
	name[NAME_MAX] = 'n';
	name[NAME_MAX + 1] = '\0';
	assert_int_equal(target("/tmp", name, NULL), -ENAMETOOLONG);
	/* 85 three-byte characters = 255 bytes; one more is 258. */
	for (size_t i = 0; i < 85; i++)
		memcpy(name + 3 * i, "\xe6\x96\x87", 3);
	name[255] = '\0';
	assert_int_equal(target("/tmp", name, "/tmp"), 0);
}

/* "/" then n components of len bytes each ('a' + index), then "/" + last bytes if last > 0. */
static char *long_path(size_t n, size_t len, size_t last)
{
	char *p = malloc(n * (len + 1) + last + 2), *q = p;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		*q++ = '/';
		memset(q, 'a' + (int)(i % 26), len);
		q += len;
	}
	if (last) {
		*q++ = '/';
		memset(q, 'z', last);
		q += last;
	}
	*q = '\0';
	return p;
}

static void test_target_path_max(void **state)
{
	char name[NAME_MAX + 1], *p, *want;

	memset(name, 'n', NAME_MAX);
	name[NAME_MAX] = '\0';

	/* A component longer than NAME_MAX. */
	p = long_path(1, NAME_MAX + 1, 0);
	assert_int_equal(target(p, "f", NULL), -ENAMETOOLONG);
	free(p);
	p = long_path(1, NAME_MAX, 0);
	assert_int_equal(target(p, "f", p), 0);
	free(p);

	/* 17 components of 255 bytes: 4352 bytes of directory, more than PATH_MAX. */
	p = long_path(17, NAME_MAX, 0);
	assert_int_equal(target(p, "f", NULL), -ENAMETOOLONG);
	free(p);
	/* The same with "." and empty components between them, which do not count. */
	{
		char *q = malloc(17 * (NAME_MAX + 4) + 1), *w = q;

		assert_non_null(q);
		for (size_t i = 0; i < 17; i++) {
			memcpy(w, "/.//", 4);
			w += 4;
			memset(w, 'a' + (int)(i % 26), NAME_MAX);
			w += NAME_MAX;
		}
		*w = '\0';
		assert_int_equal(target(q, "f", NULL), -ENAMETOOLONG);
		/* 15 of them normalise to 15 * 256 = 3840 bytes. */
		q[15 * (NAME_MAX + 4)] = '\0';
		want = long_path(15, NAME_MAX, 0);
		assert_int_equal(target(q, "f", want), 0);
		free(want);
		free(q);
	}

	/*
	 * dir + '/' + name + NUL == PATH_MAX: 14 * 256 + 255 = 3839 bytes of
	 * directory, then "/" and a 255-byte name, then the NUL: 4096.
	 */
	assert_int_equal(PATH_MAX, 4096);
	p = long_path(14, NAME_MAX, NAME_MAX - 1);
	assert_int_equal(strlen(p) + 1 + strlen(name) + 1, PATH_MAX);
	assert_int_equal(target(p, name, p), 0);
	/* With trailing slashes and dots it is the same directory. */
	want = malloc(strlen(p) + 8);
	assert_non_null(want);
	strcpy(want, p);
	strcat(want, "/./");
	assert_int_equal(target(want, name, p), 0);
	free(want);
	/* One byte more, in the name or in the directory: refused. */
	name[NAME_MAX - 1] = '\0';
	assert_int_equal(target(p, name, p), 0);
	free(p);
	name[NAME_MAX - 1] = 'n';
	p = long_path(14, NAME_MAX, NAME_MAX);
	assert_int_equal(strlen(p) + 1 + strlen(name) + 1, PATH_MAX + 1);
	assert_int_equal(target(p, name, NULL), -ENAMETOOLONG);
	/* ... while a shorter name still fits there. */
	name[NAME_MAX - 1] = '\0';
	assert_int_equal(target(p, name, p), 0);
	free(p);
}

static void test_target_dir_size(void **state)
{
	char dir[16];
	const char *why;

	/* The directory must fit dir_size with its NUL. */
	assert_int_equal(fcopy_target("/abc/de", "f", dir, 8, &why), 0);
	assert_string_equal(dir, "/abc/de");
	assert_int_equal(fcopy_target("/abc/def", "f", dir, 8, &why), -ENAMETOOLONG);
	assert_int_equal(fcopy_target("/", "f", dir, 2, &why), 0);
	assert_string_equal(dir, "/");
	assert_int_equal(fcopy_target("/a", "f", dir, 2, &why), -ENAMETOOLONG);
	assert_int_equal(fcopy_target("/a", "f", dir, 3, &why), 0);
	assert_string_equal(dir, "/a");
}

/* ------------------------------------------------------------------------ */
/* The state machine                                                         */
/* ------------------------------------------------------------------------ */

static void test_sm_nothing_open(void **state)
{
	struct ctx *c = *state;
	struct fcopy_request req = {
		.op = FCOPY_OP_WRITE,
		.size = 1,
		.data = (const uint8_t *)"x",
	};

	assert_int_equal(send_write(&c->f, 0, 10, 1), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_int_equal(fcopy_handle(&c->f, &req), VMBUS_HV_E_FAIL);
	req.op = FCOPY_OP_COMPLETE;
	assert_int_equal(fcopy_handle(&c->f, &req), VMBUS_HV_E_FAIL);
	assert_int_equal(c->sink.n_calls, 0);
	assert_false(c->f.open);
	assert_counters(&c->f, 0, 0, 0, 4);
}

static void test_sm_transfer(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;
	uint8_t want[3 * FCOPY_DATA_FRAGMENT];

	assert_int_equal(send_start(&c->f, "//home/./user//in/", "data.bin", FCOPY_FLAG_CREATE_PATH,
				    sizeof(want) - 100),
			 VMBUS_HV_S_OK);
	assert_true(c->f.open);
	assert_string_equal(s->dir, "/home/user/in");
	assert_string_equal(s->name, "data.bin");
	assert_int_equal(s->flags, FCOPY_FLAG_CREATE_PATH);
	assert_int_equal(s->size_hint, sizeof(want) - 100);

	pattern_fill(want, FCOPY_DATA_FRAGMENT, 1);
	pattern_fill(want + FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT, 2);
	pattern_fill(want + 2 * FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT - 100, 3);
	assert_int_equal(send_write(&c->f, 0, FCOPY_DATA_FRAGMENT, 1), VMBUS_HV_S_OK);
	assert_int_equal(s->offset, 0);
	assert_int_equal(s->size, FCOPY_DATA_FRAGMENT);
	assert_int_equal(send_write(&c->f, FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT, 2),
			 VMBUS_HV_S_OK);
	assert_int_equal(s->offset, FCOPY_DATA_FRAGMENT);
	assert_int_equal(send_write(&c->f, 2 * FCOPY_DATA_FRAGMENT, FCOPY_DATA_FRAGMENT - 100, 3),
			 VMBUS_HV_S_OK);
	assert_int_equal(s->offset, 2 * FCOPY_DATA_FRAGMENT);
	assert_int_equal(s->size, FCOPY_DATA_FRAGMENT - 100);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_S_OK);
	assert_false(c->f.open);

	assert_calls(s, CALL_START, CALL_WRITE, CALL_WRITE, CALL_WRITE, CALL_COMPLETE);
	assert_int_equal(s->done_len, sizeof(want) - 100);
	assert_memory_equal(s->done, want, sizeof(want) - 100);
	assert_counters(&c->f, 1, 1, 0, 0);

	/* Done: a second COMPLETE or a WRITE finds nothing open. */
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_int_equal(send_write(&c->f, 0, 1, 4), VMBUS_HV_E_FAIL);
	assert_int_equal(s->n_calls, 5);
	assert_counters(&c->f, 1, 1, 0, 2);

	/* The next transfer: an empty file to "/", out-of-order writes are the sink's business. */
	assert_int_equal(send_start(&c->f, "/", "empty", FCOPY_FLAG_OVER_WRITE, 0), VMBUS_HV_S_OK);
	assert_string_equal(s->dir, "/");
	assert_int_equal(s->flags, FCOPY_FLAG_OVER_WRITE);
	assert_int_equal(s->size_hint, 0);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_S_OK);
	assert_int_equal(s->done_len, 0);
	assert_counters(&c->f, 2, 2, 0, 2);
}

static void test_sm_utf16_names(void **state)
{
	struct ctx *c = *state;
	/* path "/srv/文件", name "é😀.txt" */
	static const uint16_t path[] = { '/', 's', 'r', 'v', '/', 0x6587, 0x4ef6 };
	static const uint16_t name[] = { 0x00e9, 0xd83d, 0xde00, '.', 't', 'x', 't' };
	uint8_t m[FCOPY_START_LEN];

	build_start(m, "/x", "x", 0, 42);
	put_units(m + FCOPY_OFF_PATH_NAME, path, ELEMENTSOF(path));

	/* The name cut after a lone high surrogate: refused before the sink. */
	put_units(m + FCOPY_OFF_FILE_NAME, name, 2);
	assert_int_equal(send_msg(&c->f, m, sizeof(m)), VMBUS_HV_E_FAIL);
	assert_int_equal(c->sink.n_calls, 0);
	assert_false(c->f.open);
	assert_counters(&c->f, 0, 0, 0, 1);

	put_units(m + FCOPY_OFF_FILE_NAME, name, ELEMENTSOF(name));
	assert_int_equal(send_msg(&c->f, m, sizeof(m)), VMBUS_HV_S_OK);
	assert_string_equal(c->sink.dir, "/srv/\xe6\x96\x87\xe4\xbb\xb6");
	assert_string_equal(c->sink.name, "\xc3\xa9\xf0\x9f\x98\x80.txt");
	assert_int_equal(c->sink.size_hint, 42);
	assert_calls(&c->sink, CALL_START);
	assert_counters(&c->f, 1, 0, 0, 1);
}

static void test_sm_start_while_open(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;

	assert_int_equal(send_start(&c->f, "/a", "one", 0, 10), VMBUS_HV_S_OK);
	assert_int_equal(send_write(&c->f, 0, 10, 1), VMBUS_HV_S_OK);
	/* A second START: the first transfer is aborted before the new one starts. */
	assert_int_equal(send_start(&c->f, "/b", "two", 0, 20), VMBUS_HV_S_OK);
	assert_calls(s, CALL_START, CALL_WRITE, CALL_ABORT, CALL_START);
	assert_string_equal(s->dir, "/b");
	assert_string_equal(s->name, "two");
	assert_true(c->f.open);
	assert_counters(&c->f, 2, 0, 1, 0);
	assert_int_equal(send_write(&c->f, 0, 20, 2), VMBUS_HV_S_OK);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_S_OK);
	assert_int_equal(s->done_len, 20);
	assert_counters(&c->f, 2, 1, 1, 0);

	/* A START with a bad target still ends the open transfer, and starts nothing. */
	s->n_calls = 0;
	assert_int_equal(send_start(&c->f, "/c", "three", 0, 0), VMBUS_HV_S_OK);
	assert_int_equal(send_start(&c->f, "/c/../etc", "passwd", 0, 0), VMBUS_HV_E_FAIL);
	assert_calls(s, CALL_START, CALL_ABORT);
	assert_false(c->f.open);
	assert_int_equal(send_write(&c->f, 0, 1, 3), VMBUS_HV_E_FAIL);
	assert_int_equal(s->n_calls, 2);
	assert_counters(&c->f, 3, 1, 2, 2);

	/* A refused start after the abort: nothing open either. */
	s->n_calls = 0;
	assert_int_equal(send_start(&c->f, "/d", "four", 0, 0), VMBUS_HV_S_OK);
	s->start_status = VMBUS_HV_ERROR_ALREADY_EXISTS;
	assert_int_equal(send_start(&c->f, "/d", "four", 0, 0), VMBUS_HV_ERROR_ALREADY_EXISTS);
	assert_calls(s, CALL_START, CALL_ABORT, CALL_START);
	assert_false(c->f.open);
}

static void test_sm_write_failure(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;

	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
	assert_int_equal(send_write(&c->f, 0, 100, 1), VMBUS_HV_S_OK);
	s->write_status = VMBUS_HV_ERROR_DISK_FULL;
	assert_int_equal(send_write(&c->f, 100, 100, 2), VMBUS_HV_ERROR_DISK_FULL);
	/* The file is worthless now: dropped, not completed with a hole. */
	assert_calls(s, CALL_START, CALL_WRITE, CALL_WRITE, CALL_ABORT);
	assert_false(c->f.open);
	assert_false(s->open);
	assert_counters(&c->f, 1, 0, 1, 0);

	s->write_status = VMBUS_HV_S_OK;
	assert_int_equal(send_write(&c->f, 200, 100, 3), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_int_equal(s->n_calls, 4);
	assert_int_equal(s->done_len, 0);
	assert_counters(&c->f, 1, 0, 1, 2);

	/* Any failure status is passed through as it is. */
	assert_int_equal(send_start(&c->f, "/a", "g", 0, 0), VMBUS_HV_S_OK);
	s->write_status = VMBUS_HV_E_FAIL;
	assert_int_equal(send_write(&c->f, 0, 1, 4), VMBUS_HV_E_FAIL);
	assert_false(c->f.open);
	assert_int_equal(s->calls[s->n_calls - 1], CALL_ABORT);
}

static void test_sm_start_refused(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;

	s->start_status = VMBUS_HV_ERROR_ALREADY_EXISTS;
	assert_int_equal(send_start(&c->f, "/a", "exists", 0, 0), VMBUS_HV_ERROR_ALREADY_EXISTS);
	assert_false(c->f.open);
	assert_counters(&c->f, 0, 0, 0, 1);
	/* Nothing open: WRITE, COMPLETE and CANCEL never reach the sink. */
	assert_int_equal(send_write(&c->f, 0, 10, 1), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, FCOPY_OP_CANCEL), VMBUS_HV_S_OK);
	assert_calls(s, CALL_START);

	s->start_status = VMBUS_HV_E_FAIL;
	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_E_FAIL);
	assert_false(c->f.open);
	s->start_status = VMBUS_HV_S_OK;
	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
	assert_true(c->f.open);
	assert_calls(s, CALL_START, CALL_START, CALL_START);
	assert_counters(&c->f, 1, 0, 0, 4);
}

static void test_sm_bad_target_not_started(void **state)
{
	struct ctx *c = *state;
	static const char *const bad[][2] = {
		{ "/tmp/../etc", "passwd" }, { "/..", "x" }, { "relative", "x" },
		{ "/tmp", ".." },            { "/tmp", "." }, { "/tmp", "" },
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(send_start(&c->f, bad[i][0], bad[i][1], 0, 0), VMBUS_HV_E_FAIL);
	assert_int_equal(c->sink.n_calls, 0);
	assert_false(c->f.open);
	assert_counters(&c->f, 0, 0, 0, ELEMENTSOF(bad));
}

static void test_sm_cancel(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;

	/* Nothing open: success, and the sink is not touched. */
	assert_int_equal(send_op(&c->f, FCOPY_OP_CANCEL), VMBUS_HV_S_OK);
	assert_int_equal(s->n_calls, 0);
	assert_counters(&c->f, 0, 0, 0, 0);

	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
	assert_int_equal(send_write(&c->f, 0, 100, 1), VMBUS_HV_S_OK);
	assert_int_equal(send_op(&c->f, FCOPY_OP_CANCEL), VMBUS_HV_S_OK);
	assert_calls(s, CALL_START, CALL_WRITE, CALL_ABORT);
	assert_false(c->f.open);
	assert_int_equal(s->done_len, 0);
	assert_counters(&c->f, 1, 0, 1, 0);

	/* Cancelled: the rest of the transfer is refused; a second CANCEL is still fine. */
	assert_int_equal(send_write(&c->f, 100, 100, 2), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, FCOPY_OP_CANCEL), VMBUS_HV_S_OK);
	assert_int_equal(s->n_calls, 3);
	assert_counters(&c->f, 1, 0, 1, 2);

	/* A 4-byte CANCEL works the same. */
	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
	{
		uint8_t m[4];

		put_le32(m, FCOPY_OP_CANCEL);
		assert_int_equal(send_msg(&c->f, m, 4), VMBUS_HV_S_OK);
	}
	assert_false(c->f.open);
	assert_counters(&c->f, 2, 0, 2, 2);
}

static void test_sm_complete_failure(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;

	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
	s->complete_status = VMBUS_HV_ERROR_DISK_FULL;
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_ERROR_DISK_FULL);
	/* The transfer is over whatever complete answered: no abort after it. */
	assert_false(c->f.open);
	assert_calls(s, CALL_START, CALL_COMPLETE);
	assert_counters(&c->f, 1, 0, 1, 0);
	assert_int_equal(send_op(&c->f, FCOPY_OP_CANCEL), VMBUS_HV_S_OK);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_int_equal(s->n_calls, 2);
}

static void test_message_bad_write_aborts(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;
	static uint8_t m[FCOPY_WRITE_LEN + 1];
	static const struct {
		uint64_t offset;
		uint32_t size;
		size_t data_len;
	} bad[] = {
		{ 0, FCOPY_DATA_FRAGMENT + 1, FCOPY_DATA_FRAGMENT + 1 }, /* oversize */
		{ 0, 200, 100 },                                         /* past the message */
		{ (uint64_t)INT64_MAX, 1, 1 },                           /* offset overflow */
		{ 0, 0, 0 },                                             /* cut before data */
	};
	size_t len;

	/* Undecodable WRITEs with nothing open: refused, the sink never hears of them. */
	len = build_write(m, 0, FCOPY_DATA_FRAGMENT + 1, FCOPY_DATA_FRAGMENT + 1, 1);
	assert_int_equal(send_msg(&c->f, m, len), VMBUS_HV_E_FAIL);
	assert_int_equal(send_msg(&c->f, m, FCOPY_OFF_DATA - 1), VMBUS_HV_E_FAIL);
	assert_int_equal(s->n_calls, 0);
	assert_counters(&c->f, 0, 0, 0, 2);

	/* While open: the fragment is lost, so the transfer is aborted. */
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		s->n_calls = 0;
		assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
		assert_int_equal(send_write(&c->f, 0, 10, 2), VMBUS_HV_S_OK);
		len = build_write(m, bad[i].offset, bad[i].size, bad[i].data_len, 3);
		if (bad[i].data_len == 0)
			len = FCOPY_OFF_SIZE;
		assert_int_equal(send_msg(&c->f, m, len), VMBUS_HV_E_FAIL);
		assert_calls(s, CALL_START, CALL_WRITE, CALL_ABORT);
		assert_false(c->f.open);
		assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
		assert_int_equal(s->n_calls, 3);
	}
	assert_counters(&c->f, ELEMENTSOF(bad), 0, ELEMENTSOF(bad), 2 + 2 * ELEMENTSOF(bad));

	/* A message too short to name its operation, or an unknown one, leaves it open. */
	s->n_calls = 0;
	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
	put_le32(m, FCOPY_OP_WRITE);
	assert_int_equal(send_msg(&c->f, m, 3), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, 7), VMBUS_HV_E_FAIL);
	assert_true(c->f.open);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_S_OK);
	assert_calls(s, CALL_START, CALL_COMPLETE);
}

static void test_abort(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;

	/* Nothing open: a no-op. */
	fcopy_abort(&c->f, "exiting");
	assert_int_equal(s->n_calls, 0);
	assert_counters(&c->f, 0, 0, 0, 0);

	assert_int_equal(send_start(&c->f, "/a", "f", 0, 0), VMBUS_HV_S_OK);
	assert_int_equal(send_write(&c->f, 0, 10, 1), VMBUS_HV_S_OK);
	fcopy_abort(&c->f, "exiting");
	assert_calls(s, CALL_START, CALL_WRITE, CALL_ABORT);
	assert_string_equal(s->why, "exiting");
	assert_false(c->f.open);
	assert_counters(&c->f, 1, 0, 1, 0);
	/* Only once. */
	fcopy_abort(&c->f, "again");
	assert_int_equal(s->n_calls, 3);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_counters(&c->f, 1, 0, 1, 1);
}

/* An undecodable START still ends the open transfer: later WRITEs must not land in it. */
static void test_message_bad_start_aborts(void **state)
{
	struct ctx *c = *state;
	struct mem_sink *s = &c->sink;
	uint8_t m[FCOPY_START_LEN];

	assert_int_equal(send_start(&c->f, "/a", "one", 0, 0), VMBUS_HV_S_OK);
	assert_int_equal(send_write(&c->f, 0, 10, 1), VMBUS_HV_S_OK);
	build_start(m, "/b", "two", 0, 0);
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i++) { /* a name field without its NUL */
		m[FCOPY_OFF_FILE_NAME + 2 * i] = 'x';
		m[FCOPY_OFF_FILE_NAME + 2 * i + 1] = 0;
	}
	assert_int_equal(send_msg(&c->f, m, sizeof(m)), VMBUS_HV_E_FAIL);
	assert_false(c->f.open);
	assert_calls(s, CALL_START, CALL_WRITE, CALL_ABORT);
	assert_int_equal(send_write(&c->f, 10, 10, 2), VMBUS_HV_E_FAIL);
	assert_int_equal(send_op(&c->f, FCOPY_OP_COMPLETE), VMBUS_HV_E_FAIL);
	assert_int_equal(s->n_calls, 3);

	/* A truncated START too. */
	assert_int_equal(send_start(&c->f, "/a", "one", 0, 0), VMBUS_HV_S_OK);
	build_start(m, "/b", "two", 0, 0);
	assert_int_equal(send_msg(&c->f, m, FCOPY_START_LEN - 1), VMBUS_HV_E_FAIL);
	assert_false(c->f.open);
}

/* Control characters could forge log lines; Windows names never contain them. */
static void test_target_control_chars(void **state)
{
	char dir[PATH_MAX];
	const char *why;

	(void)state;
	assert_int_equal(fcopy_target("/tmp", "a\nb", dir, sizeof(dir), &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(fcopy_target("/tmp\x1b[31m", "a", dir, sizeof(dir), &why), -EINVAL);
	assert_int_equal(fcopy_target("/tmp", "a\x7f", dir, sizeof(dir), &why), -EINVAL);
	assert_int_equal(fcopy_target("/tmp", "tab\there", dir, sizeof(dir), &why), -EINVAL);
	assert_int_equal(fcopy_target("/tmp", "caf\xc3\xa9 ok", dir, sizeof(dir), &why), 0);
	assert_int_equal(fcopy_target("/tmp", "x", dir, 1, &why), -ENAMETOOLONG);
	assert_non_null(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_start_fields),
		cmocka_unit_test(test_decode_start_names_utf16),
		cmocka_unit_test(test_decode_start_bad_utf16),
		cmocka_unit_test(test_decode_start_name_length),
		cmocka_unit_test(test_decode_start_truncated),
		cmocka_unit_test(test_decode_write),
		cmocka_unit_test(test_decode_write_offset_limits),
		cmocka_unit_test(test_decode_short_and_plain_ops),
		cmocka_unit_test_setup_teardown(test_decode_unknown_op, setup, teardown),
		cmocka_unit_test(test_target_normalise),
		cmocka_unit_test(test_target_dotdot),
		cmocka_unit_test(test_target_name),
		cmocka_unit_test(test_target_path_max),
		cmocka_unit_test(test_target_dir_size),
		cmocka_unit_test_setup_teardown(test_sm_nothing_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_utf16_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_start_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_write_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_start_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_bad_target_not_started, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sm_complete_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_bad_write_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_bad_start_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test(test_target_control_chars),
	};

	/* The refusals log; the TAP output is what counts. */
	log_set_max_level(LOG_EMERG);
	return cmocka_run_group_tests_name("fcopy", tests, NULL, NULL);
}
