/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: strict UTF-16LE <-> UTF-8, both directions.
 *
 * The input is taken once as a UTF-16LE field and once as UTF-8 text, each in
 * a heap copy of exactly its length; outputs are heap buffers of exactly the
 * size given to the converter, so ASan reports any access outside them.
 * Properties (abort on violation):
 *  - a successful conversion converts back to the same units / bytes;
 *  - the output fits exactly its reported length plus the terminator, and one
 *    byte (unit) less is -ENAMETOOLONG;
 *  - a buffer too small never fails with another error than -ENAMETOOLONG.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

static void *dup_exact(const uint8_t *data, size_t size)
{
	void *p = xmalloc(size);

	if (size)
		memcpy(p, data, size);
	return p;
}

/* Units of a UTF-16LE field before its first NUL unit (or its end). */
static size_t utf16_units(const uint8_t *s, size_t bytes)
{
	size_t i;

	for (i = 0; i + 1 < bytes; i += 2)
		if (s[i] == 0 && s[i + 1] == 0)
			break;
	return i / 2;
}

static void utf16_direction(const uint8_t *data, size_t size)
{
	uint8_t *src = dup_exact(data, size);
	size_t units = utf16_units(src, size), cap = 3 * (size / 2) + 1;
	char *u8 = xmalloc(cap), *exact;
	uint8_t *back;
	int n, m;

	n = vmbus_utf16_to_utf8(src, size, u8, cap);
	if (n < 0) {
		/* With room for the worst case, only invalid input can fail. */
		if (n != -EILSEQ)
			abort();
		goto out;
	}
	if ((size_t)n >= cap || u8[n] != '\0' || memchr(u8, 0, (size_t)n))
		abort();

	/* Exactly n + 1 bytes is enough, and gives the same bytes; n is not. */
	exact = xmalloc((size_t)n + 1);
	if (vmbus_utf16_to_utf8(src, size, exact, (size_t)n + 1) != n ||
	    memcmp(exact, u8, (size_t)n + 1))
		abort();
	free(exact);
	if (n > 0) {
		exact = xmalloc((size_t)n);
		if (vmbus_utf16_to_utf8(src, size, exact, (size_t)n) != -ENAMETOOLONG)
			abort();
		free(exact);
	}

	/* Round trip: the same units, into exactly units + 1 units. */
	back = xmalloc(2 * (units + 1));
	m = vmbus_utf8_to_utf16(u8, (size_t)n, back, 2 * (units + 1));
	if (m < 0 || (size_t)m != units || memcmp(back, src, 2 * units) || back[2 * units] ||
	    back[2 * units + 1])
		abort();
	free(back);
out:
	free(u8);
	free(src);
}

static void utf8_direction(const uint8_t *data, size_t size)
{
	char *src = dup_exact(data, size);
	size_t text = strnlen(src, size), cap = 2 * (size + 1);
	uint8_t *u16 = xmalloc(cap), *exact;
	char *back;
	int n, m;

	n = vmbus_utf8_to_utf16(src, size, u16, cap);
	if (n < 0) {
		if (n != -EILSEQ)
			abort();
		goto out;
	}
	if ((size_t)n > size || u16[2 * n] || u16[2 * n + 1] ||
	    utf16_units(u16, 2 * (size_t)n) != (size_t)n)
		abort();

	/* Exactly n + 1 units is enough; n units is not. */
	exact = xmalloc(2 * ((size_t)n + 1));
	if (vmbus_utf8_to_utf16(src, size, exact, 2 * ((size_t)n + 1)) != n ||
	    memcmp(exact, u16, 2 * ((size_t)n + 1)))
		abort();
	free(exact);
	if (n > 0) {
		exact = xmalloc(2 * (size_t)n);
		if (vmbus_utf8_to_utf16(src, size, exact, 2 * (size_t)n) != -ENAMETOOLONG)
			abort();
		free(exact);
	}

	/* Round trip: the same text, from a field without a terminator, into exactly text + 1. */
	back = xmalloc(text + 1);
	m = vmbus_utf16_to_utf8(u16, 2 * (size_t)n, back, text + 1);
	if (m < 0 || (size_t)m != text || memcmp(back, src, text) || back[text])
		abort();
	free(back);
out:
	free(u16);
	free(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	utf16_direction(data, size);
	utf8_direction(data, size);
	return 0;
}
