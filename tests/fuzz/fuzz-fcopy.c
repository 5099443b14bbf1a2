/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: hv-fcopyd's File Copy message handler (fcopy_message).
 *
 * The input is a sequence of fcopy message bodies, each a 2-byte
 * little-endian length followed by that many bytes (the last one takes what
 * is left). Every body goes, in a heap copy of exactly its length so ASan sees
 * any overread, to fcopy_message() on one struct fcopy per input, whose sink
 * checks what the state machine asks of it and aborts on a violation:
 *  - start: nothing open; dir absolute and normalised (no empty, "." or ".."
 *    component, no trailing '/' except "/"), name non-empty, without '/', not
 *    "." or "..", at most NAME_MAX bytes; both valid UTF-8; dir + '/' + name
 *    fits PATH_MAX; and, read from the raw UTF-16 fields of the START being
 *    handled, both NUL-terminated, the path absolute without a ".." component,
 *    the name neither "." nor ".." nor holding a '/';
 *  - write: a transfer open, size <= 6144, offset + size <= INT64_MAX, the
 *    data inside the current body;
 *  - complete, abort: a transfer open.
 * After each message the handler's view (open, counters) must match the
 * sink's, and WRITE/COMPLETE with nothing open, CANCEL, unknown operations and
 * messages too short for an operation must get the documented answer.
 *
 * The sink fails on cue from the input, so the failure paths run too: start
 * with ALREADY_EXISTS when copy_flags has 0x80, with E_FAIL when it has 0x40;
 * write with DISK_FULL at offsets whose low 16 bits are 0xd15c; complete with
 * DISK_FULL when the transfer's size hint ends in 0xfa11.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "vmbus/vmbus.h"

#include "fcopy-proto.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SINK_FAIL_START_EXISTS 0x80u
#define SINK_FAIL_START 0x40u
#define SINK_FAIL_WRITE_OFFSET 0xd15cu
#define SINK_FAIL_COMPLETE_HINT 0xfa11u

struct check_sink {
	bool open;
	uint64_t size_hint;
	/* The body being handled. */
	const uint8_t *body;
	size_t len;
	/* Calls during the current message. */
	unsigned starts, writes, completes, aborts;
	unsigned long n_open_ok; /* successful starts, over the whole input */
	volatile uint8_t sum; /* every written byte is read */
};

#define check(expr)                     \
	do {                            \
		if (!(expr))            \
			abort();        \
	} while (0)

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned c = *s, n, cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3fu);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

/* "/" or "/a/b": absolute, no empty, "." or ".." component, none over NAME_MAX. */
static bool dir_normalised(const char *dir)
{
	const char *p = dir;

	if (dir[0] != '/')
		return false;
	if (strcmp(dir, "/") == 0)
		return true;
	while (*p) {
		const char *c = p + 1, *end;
		size_t len;

		if (*p != '/')
			return false;
		end = strchrnul(c, '/');
		len = (size_t)(end - c);
		if (len == 0 || len > NAME_MAX || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		p = end;
	}
	return true;
}

static uint16_t unit(const uint8_t *field, size_t i)
{
	return (uint16_t)(field[2 * i] | field[2 * i + 1] << 8);
}

/*
 * A W_MAX_PATH field as the host sent it, split on '/' units: false if it has
 * no NUL, if absolute is set and it does not start with '/', if a component
 * is ".." (or "." when dot is set), or if it holds a '/' and slash is not set.
 */
static bool raw_field_ok(const uint8_t *field, bool absolute, bool slash, bool dot)
{
	size_t comp = 0;
	bool dots = true;

	if (absolute && unit(field, 0) != '/')
		return false;
	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i++) {
		uint16_t u = unit(field, i);

		if (u == 0 || u == '/') {
			if (dots && (comp == 2 || (dot && comp == 1)))
				return false;
			if (u == 0)
				return true;
			if (!slash)
				return false;
			comp = 0;
			dots = true;
			continue;
		}
		comp++;
		if (u != '.')
			dots = false;
	}
	return false;
}

static uint32_t sink_start(void *sink, const char *dir, const char *name, uint32_t flags,
			   uint64_t size_hint)
{
	struct check_sink *s = sink;
	size_t dir_len = strlen(dir), name_len = strlen(name);

	s->starts++;
	/* Never two starts without an abort or complete in between. */
	check(!s->open);
	check(dir_len < PATH_MAX && dir_normalised(dir) && utf8_valid(dir));
	check(name_len > 0 && name_len <= NAME_MAX && !strchr(name, '/') &&
	      strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && utf8_valid(name));
	check((dir_len == 1 ? 1 : dir_len + 1) + name_len + 1 <= PATH_MAX);
	/* What the host sent, independently of the decoder. */
	check(s->len >= FCOPY_START_LEN);
	check(raw_field_ok(s->body + FCOPY_OFF_PATH_NAME, true, true, false));
	check(raw_field_ok(s->body + FCOPY_OFF_FILE_NAME, false, false, true));
	if (flags & SINK_FAIL_START_EXISTS)
		return VMBUS_HV_ERROR_ALREADY_EXISTS;
	if (flags & SINK_FAIL_START)
		return VMBUS_HV_E_FAIL;
	s->open = true;
	s->size_hint = size_hint;
	s->n_open_ok++;
	return VMBUS_HV_S_OK;
}

static uint32_t sink_write(void *sink, uint64_t offset, const void *data, uint32_t size)
{
	struct check_sink *s = sink;
	const uint8_t *d = data;

	s->writes++;
	check(s->open);
	check(size <= FCOPY_DATA_FRAGMENT);
	check(offset <= (uint64_t)INT64_MAX - size);
	/* The data lies within the body being handled. */
	check(d && d >= s->body && (size_t)(d - s->body) <= s->len &&
	      size <= s->len - (size_t)(d - s->body));
	for (uint32_t i = 0; i < size; i++)
		s->sum ^= d[i];
	if ((offset & 0xffff) == SINK_FAIL_WRITE_OFFSET)
		return VMBUS_HV_ERROR_DISK_FULL;
	return VMBUS_HV_S_OK;
}

static uint32_t sink_complete(void *sink)
{
	struct check_sink *s = sink;

	s->completes++;
	check(s->open);
	s->open = false;
	if ((s->size_hint & 0xffff) == SINK_FAIL_COMPLETE_HINT)
		return VMBUS_HV_ERROR_DISK_FULL;
	return VMBUS_HV_S_OK;
}

static void sink_abort(void *sink, const char *why)
{
	struct check_sink *s = sink;

	s->aborts++;
	check(s->open);
	check(why && why[0]);
	s->open = false;
}

static const struct fcopy_sink_ops check_sink_ops = {
	.start = sink_start,
	.write = sink_write,
	.complete = sink_complete,
	.abort = sink_abort,
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The handler and the sink agree on what is open and what happened to it. */
static void check_books(const struct fcopy *f, const struct check_sink *s)
{
	check(f->open == s->open);
	check(f->n_started == s->n_open_ok);
	check(f->n_started == f->n_completed + f->n_aborted + (f->open ? 1 : 0));
}

static void handle_one(struct fcopy *f, struct check_sink *s, const uint8_t *data, size_t len)
{
	uint8_t *body = malloc(len ? len : 1);
	bool was_open = f->open;
	unsigned long refused = f->n_refused;
	uint32_t status, op;

	if (!body)
		abort();
	if (len)
		memcpy(body, data, len);
	s->body = body;
	s->len = len;
	s->starts = s->writes = s->completes = s->aborts = 0;

	status = fcopy_message(f, body, len);
	check_books(f, s);
	/* Only START opens; START, COMPLETE and CANCEL take no more than one step each. */
	check(s->starts <= 1 && s->writes <= 1 && s->completes <= 1 && s->aborts <= 1);
	check(!(s->completes && s->aborts));
	if (f->open && !was_open)
		check(s->starts == 1);

	if (len < 4) {
		/* Too short to name an operation: refused, nothing touched. */
		check(status == VMBUS_HV_E_FAIL && f->n_refused == refused + 1);
		check(s->starts + s->writes + s->completes + s->aborts == 0);
		check(f->open == was_open);
		goto out;
	}
	op = get_le32(data);
	switch (op) {
	case FCOPY_OP_START:
		/* Whatever happens to it, only the new transfer can be open afterwards. */
		check(s->writes == 0 && s->completes == 0);
		if (status == VMBUS_HV_S_OK)
			check(f->open && s->starts == 1 && s->aborts == (was_open ? 1 : 0));
		break;
	case FCOPY_OP_WRITE:
		check(s->starts == 0 && s->completes == 0);
		if (!was_open)
			check(status == VMBUS_HV_E_FAIL && s->writes == 0 && s->aborts == 0);
		/* A WRITE that fails, to decode or in the sink, ends the transfer. */
		if (was_open && status != VMBUS_HV_S_OK)
			check(!f->open && s->aborts == 1);
		if (status == VMBUS_HV_S_OK)
			check(f->open && s->writes == 1);
		break;
	case FCOPY_OP_COMPLETE:
		check(s->starts == 0 && s->writes == 0 && s->aborts == 0 && !f->open);
		check(was_open ? s->completes == 1 : (status == VMBUS_HV_E_FAIL && !s->completes));
		break;
	case FCOPY_OP_CANCEL:
		check(status == VMBUS_HV_S_OK && !f->open);
		check(s->starts == 0 && s->writes == 0 && s->completes == 0);
		check(s->aborts == (was_open ? 1 : 0));
		break;
	default:
		check(status == VMBUS_HV_E_FAIL && f->open == was_open);
		check(s->starts + s->writes + s->completes + s->aborts == 0);
		break;
	}
out:
	s->body = NULL;
	s->len = 0;
	free(body);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The refusals would log every run. */
	log_set_max_level(LOG_EMERG);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct check_sink s = { 0 };
	struct fcopy f = { .ops = &check_sink_ops, .sink = &s };

	while (size >= 2) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		handle_one(&f, &s, data, len);
		data += len;
		size -= len;
	}
	/* As on exit: whatever is open is dropped, once. */
	s.aborts = 0;
	fcopy_abort(&f, "end of input");
	check(!f.open && !s.open && s.aborts <= 1);
	check_books(&f, &s);
	fcopy_abort(&f, "end of input");
	check(s.aborts <= 1);
	return 0;
}
