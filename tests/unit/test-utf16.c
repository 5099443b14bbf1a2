/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Strict UTF-16LE <-> UTF-8. Inputs and outputs are malloc'ed at exactly their size,
 * so under ASan a conversion that reads or writes one byte too far fails.
 */
#include "config.h"

#include <errno.h>

#include "test-util.h"
#include "vmbus/vmbus.h"

/* n UTF-16 units as a little-endian byte field, malloc'ed at exactly 2n (+ extra) bytes. */
static uint8_t *field(const uint16_t *u, size_t n, size_t extra)
{
	uint8_t *f = malloc(2 * n + extra + 1);

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		put_le16(f + 2 * i, u[i]);
	memset(f + 2 * n, 'x', extra);
	return f;
}

/* Convert n units (no NUL added) into a dst of exactly dst_size bytes. */
static int to8(const uint16_t *u, size_t n, char *out, size_t dst_size)
{
	uint8_t *f = field(u, n, 0);
	char *dst = malloc(dst_size);
	int r;

	assert_non_null(dst);
	r = vmbus_utf16_to_utf8(f, 2 * n, dst, dst_size);
	if (r >= 0) {
		assert_int_equal(dst[r], '\0');
		assert_int_equal(strlen(dst), (size_t)r);
		memcpy(out, dst, (size_t)r + 1);
	}
	free(dst);
	free(f);
	return r;
}

static void check8(const uint16_t *u, size_t n, const char *expect)
{
	char out[64];

	assert_int_equal(to8(u, n, out, sizeof(out)), strlen(expect));
	assert_string_equal(out, expect);
	/* The same field with a NUL unit and junk after it converts the same. */
	{
		uint16_t v[40];

		assert_true(n + 3 <= 40);
		if (n)
			memcpy(v, u, n * sizeof(*u));
		v[n] = 0;
		v[n + 1] = 0xdc00;
		v[n + 2] = 'z';
		assert_int_equal(to8(v, n + 3, out, sizeof(out)), strlen(expect));
		assert_string_equal(out, expect);
	}
}

static void test_to8_bmp(void **state)
{
	static const uint16_t ascii[] = { 'h', 'e', 'l', 'l', 'o' };
	static const uint16_t e_acute[] = { 0x00e9 };
	static const uint16_t euro[] = { 0x20ac };
	static const uint16_t cjk[] = { 0x4e2d, 0x6587, '.', 't', 'x', 't' };
	static const uint16_t edges[] = {
		0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff,
	};

	check8(ascii, 5, "hello");
	check8(e_acute, 1, "\xc3\xa9");
	check8(euro, 1, "\xe2\x82\xac");
	check8(cjk, 6, "\xe4\xb8\xad\xe6\x96\x87.txt");
	check8(edges, 8, "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd"
			 "\xef\xbf\xbf");
	check8(NULL, 0, "");
	{
		char out[4] = "zzz";

		assert_int_equal(vmbus_utf16_to_utf8(NULL, 0, out, sizeof(out)), 0);
		assert_int_equal(out[0], '\0');
	}
}

static void test_to8_surrogates(void **state)
{
	static const uint16_t grin[] = { 0xd83d, 0xde00 };
	static const uint16_t first[] = { 0xd800, 0xdc00 };
	static const uint16_t last[] = { 0xdbff, 0xdfff };
	static const uint16_t mixed[] = { 'a', 0xd83d, 0xde00, 0x00e9, 0xd800, 0xdc00, 'b' };

	check8(grin, 2, "\xf0\x9f\x98\x80");
	check8(first, 2, "\xf0\x90\x80\x80");
	check8(last, 2, "\xf4\x8f\xbf\xbf");
	check8(mixed, 7, "a\xf0\x9f\x98\x80\xc3\xa9\xf0\x90\x80\x80" "b");
}

static void test_to8_unpaired(void **state)
{
	static const struct {
		uint16_t u[4];
		size_t n;
	} bad[] = {
		{ { 0xd83d, 'a' }, 2 },          /* high then not low */
		{ { 0xd83d, 0 }, 2 },            /* high then NUL */
		{ { 0xd83d, 0xd83d, 0xde00 }, 3 }, /* high then high */
		{ { 0xdc00 }, 1 },               /* low alone */
		{ { 'a', 0xdfff, 'b' }, 3 },
		{ { 0xd800, 0xdc00, 0xdc00 }, 3 }, /* low after a complete pair */
		{ { 'a', 0xd83d }, 2 },          /* high at the end of the field */
		{ { 0xdbff }, 1 },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(to8(bad[i].u, bad[i].n, out, sizeof(out)), -EILSEQ);

	/* High at the end of the field, the pair's low half just past it in memory. */
	{
		static const uint16_t u[] = { 'a', 0xd83d, 0xde00 };
		uint8_t *f = field(u, 3, 0);

		assert_int_equal(vmbus_utf16_to_utf8(f, 4, out, sizeof(out)), -EILSEQ);
		assert_int_equal(vmbus_utf16_to_utf8(f, 5, out, sizeof(out)), -EILSEQ);
		assert_int_equal(vmbus_utf16_to_utf8(f, 6, out, sizeof(out)), 5);
		free(f);
	}
}

static void test_to8_odd_bytes(void **state)
{
	char out[16];
	uint8_t *f;

	/* "ab", NUL, then an odd byte: the NUL comes first, so it is fine. */
	f = malloc(7);
	assert_non_null(f);
	memcpy(f, "a\0b\0\0\0x", 7);
	assert_int_equal(vmbus_utf16_to_utf8(f, 7, out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	/* Without the NUL the odd byte is half a unit. */
	assert_int_equal(vmbus_utf16_to_utf8(f, 5, out, sizeof(out)), -EILSEQ);
	assert_int_equal(vmbus_utf16_to_utf8(f, 1, out, sizeof(out)), -EILSEQ);
	assert_int_equal(vmbus_utf16_to_utf8(f, 4, out, sizeof(out)), 2);
	assert_int_equal(vmbus_utf16_to_utf8(f, 6, out, sizeof(out)), 2);
	free(f);

	/* A 1-byte field holding a NUL byte is still half a unit. */
	f = malloc(1);
	assert_non_null(f);
	f[0] = 0;
	assert_int_equal(vmbus_utf16_to_utf8(f, 1, out, sizeof(out)), -EILSEQ);
	free(f);

	/* Even field, unit NUL then an odd byte that is never reached. */
	f = malloc(3);
	assert_non_null(f);
	memcpy(f, "\0\0\xff", 3);
	assert_int_equal(vmbus_utf16_to_utf8(f, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	free(f);
}

static void test_to8_no_nul(void **state)
{
	static const uint16_t u[] = { 'a', 'b', 'c', 'd' };
	uint8_t *f = field(u, 4, 0); /* exactly 8 bytes, no NUL anywhere */
	char out[16];

	assert_int_equal(vmbus_utf16_to_utf8(f, 8, out, sizeof(out)), 4);
	assert_string_equal(out, "abcd");
	/* Bounded by src_bytes, not by a NUL. */
	assert_int_equal(vmbus_utf16_to_utf8(f, 4, out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	free(f);
}

static void test_to8_dst_size(void **state)
{
	static const uint16_t abc[] = { 'a', 'b', 'c' };
	static const uint16_t euro[] = { 'a', 0x20ac };
	static const uint16_t grin[] = { 0xd83d, 0xde00 };
	char out[16];

	assert_int_equal(to8(abc, 3, out, 4), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(to8(abc, 3, out, 3), -ENAMETOOLONG);
	assert_int_equal(to8(abc, 3, out, 1), -ENAMETOOLONG);
	assert_int_equal(to8(euro, 2, out, 5), 4);
	assert_int_equal(to8(euro, 2, out, 4), -ENAMETOOLONG);
	assert_int_equal(to8(grin, 2, out, 5), 4);
	assert_int_equal(to8(grin, 2, out, 4), -ENAMETOOLONG);
	assert_int_equal(to8(NULL, 0, out, 1), 0);

	assert_int_equal(vmbus_utf16_to_utf8("a\0", 2, out, 0), -EINVAL);
	assert_int_equal(vmbus_utf16_to_utf8("a\0", 2, NULL, 4), -EINVAL);
	assert_int_equal(vmbus_utf16_to_utf8(NULL, 2, out, 4), -EINVAL);
}

/* Convert UTF-8 into a dst field of exactly dst_bytes; copy the units out. */
static int to16(const char *s, size_t len, uint16_t *out, size_t dst_bytes)
{
	uint8_t *dst = malloc(dst_bytes);
	int r;

	assert_non_null(dst);
	memset(dst, 0xee, dst_bytes);
	r = vmbus_utf8_to_utf16(s, len, dst, dst_bytes);
	if (r >= 0) {
		assert_true(2 * (size_t)r + 2 <= dst_bytes);
		for (int i = 0; i <= r; i++)
			out[i] = get_le16(dst + 2 * i);
		assert_int_equal(out[r], 0);
	}
	free(dst);
	return r;
}

static void check16(const char *s, const uint16_t *expect, size_t n)
{
	uint16_t out[64];

	assert_int_equal(to16(s, strlen(s), out, sizeof(out)), n);
	assert_memory_equal(out, expect, n * sizeof(*out));
	/* src_len past the NUL: stops at the NUL. */
	assert_int_equal(to16(s, strlen(s) + 1, out, sizeof(out)), n);
	/* Exactly big enough: n units and the NUL. */
	assert_int_equal(to16(s, strlen(s), out, 2 * n + 2), n);
	assert_memory_equal(out, expect, n * sizeof(*out));
}

static void test_to16_valid(void **state)
{
	static const uint16_t hello[] = { 'h', 'e', 'l', 'l', 'o' };
	static const uint16_t mix[] = { 0x00e9, 0x20ac, 0x4e2d, 0x6587 };
	static const uint16_t astral[] = { 'a', 0xd83d, 0xde00, 0xd800, 0xdc00, 0xdbff, 0xdfff };
	static const uint16_t edges[] = { 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff };

	check16("hello", hello, 5);
	check16("\xc3\xa9\xe2\x82\xac\xe4\xb8\xad\xe6\x96\x87", mix, 4);
	check16("a\xf0\x9f\x98\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", astral, 7);
	check16("\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", edges, 7);
	check16("", hello, 0);
	{
		uint16_t out[8];

		/* Bounded by src_len, NUL or not. */
		assert_int_equal(to16("abcdef", 3, out, sizeof(out)), 3);
		assert_int_equal(out[2], 'c');
		assert_int_equal(to16("ab\0cd", 5, out, sizeof(out)), 2);
		assert_int_equal(to16(NULL, 0, out, 2), 0);
	}
}

static void test_to16_invalid(void **state)
{
	static const char *const bad[] = {
		"\xc0\x80",         /* overlong NUL */
		"\xc1\xbf",         /* overlong 0x7f */
		"\xe0\x80\x80",     /* overlong 3-byte */
		"\xe0\x9f\xbf",     /* overlong 0x7ff */
		"\xf0\x80\x80\x80", /* overlong 4-byte */
		"\xf0\x8f\xbf\xbf", /* overlong 0xffff */
		"\xed\xa0\x80",     /* U+D800 */
		"\xed\xbf\xbf",     /* U+DFFF */
		"\xed\xa0\xbd\xed\xb8\x80", /* CESU-8 pair */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf5\x80\x80\x80",
		"\xf7\xbf\xbf\xbf",
		"\xff",
		"\xfe",
		"\x80",             /* lone continuation */
		"a\xbf",
		"\xc3",             /* truncated */
		"\xe2\x82",
		"\xf0\x9f\x98",
		"\xc3(",            /* bad continuation */
		"\xe2(\xac",
		"\xf0\x9f(\x80",
		"ok\xc3",
	};
	uint16_t out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(to16(bad[i], strlen(bad[i]), out, sizeof(out)), -EILSEQ);

	/* Truncated by src_len or by a NUL inside the sequence. */
	assert_int_equal(to16("\xe2\x82\xac", 2, out, sizeof(out)), -EILSEQ);
	assert_int_equal(to16("\xf0\x9f\x98\x80", 3, out, sizeof(out)), -EILSEQ);
	assert_int_equal(to16("\xe2\x00\xac", 3, out, sizeof(out)), -EILSEQ);
	assert_int_equal(to16("\xf0\x9f\x00\x80", 4, out, sizeof(out)), -EILSEQ);
	/* The input is exactly src_len bytes: reading the 4th byte would be an overflow. */
	{
		char *s = malloc(3);

		assert_non_null(s);
		memcpy(s, "\xf0\x9f\x98", 3);
		assert_int_equal(to16(s, 3, out, sizeof(out)), -EILSEQ);
		memcpy(s, "ab\xc3", 3);
		assert_int_equal(to16(s, 3, out, sizeof(out)), -EILSEQ);
		memcpy(s, "abc", 3);
		assert_int_equal(to16(s, 3, out, sizeof(out)), 3);
		free(s);
	}
}

static void test_to16_dst_size(void **state)
{
	uint16_t out[16];

	/* Three units + NUL need 8 bytes. */
	assert_int_equal(to16("abc", 3, out, 8), 3);
	assert_int_equal(to16("abc", 3, out, 7), -ENAMETOOLONG);
	assert_int_equal(to16("abc", 3, out, 6), -ENAMETOOLONG);
	/* A pair is never split: "a" + pair + NUL need 8 bytes. */
	assert_int_equal(to16("a\xf0\x9f\x98\x80", 5, out, 8), 3);
	assert_int_equal(out[1], 0xd83d);
	assert_int_equal(out[2], 0xde00);
	assert_int_equal(to16("a\xf0\x9f\x98\x80", 5, out, 6), -ENAMETOOLONG);
	assert_int_equal(to16("a\xf0\x9f\x98\x80", 5, out, 4), -ENAMETOOLONG);
	assert_int_equal(to16("", 0, out, 2), 0);
	assert_int_equal(to16("a", 1, out, 2), -ENAMETOOLONG);

	assert_int_equal(vmbus_utf8_to_utf16("a", 1, out, 1), -EINVAL);
	assert_int_equal(vmbus_utf8_to_utf16("a", 1, out, 0), -EINVAL);
	assert_int_equal(vmbus_utf8_to_utf16("a", 1, NULL, 8), -EINVAL);
	assert_int_equal(vmbus_utf8_to_utf16(NULL, 1, out, 8), -EINVAL);
}

/* Reference encoders, written independently of the library's. */
static size_t enc8(uint32_t cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 + (cp >> 6));
		b[1] = (char)(0x80 + (cp % 64));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 + (cp >> 12));
		b[1] = (char)(0x80 + (cp >> 6) % 64);
		b[2] = (char)(0x80 + cp % 64);
		return 3;
	}
	b[0] = (char)(0xf0 + (cp >> 18));
	b[1] = (char)(0x80 + (cp >> 12) % 64);
	b[2] = (char)(0x80 + (cp >> 6) % 64);
	b[3] = (char)(0x80 + cp % 64);
	return 4;
}

/* Every scalar value, one at a time, both directions, against the reference encoders. */
static void test_round_trip_all(void **state)
{
	for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
		char s[5] = { 0 }, back[8];
		uint8_t u[8];
		size_t n, units;

		if (cp == 0xd800)
			cp = 0xe000;
		n = enc8(cp, s);
		units = cp >= 0x10000 ? 2 : 1;
		if (vmbus_utf8_to_utf16(s, n, u, sizeof(u)) != (int)units)
			fail_msg("U+%04X: utf8 -> utf16 failed", cp);
		if (units == 1) {
			if (get_le16(u) != cp)
				fail_msg("U+%04X: wrong unit %04X", cp, get_le16(u));
		} else if (get_le16(u) != 0xd800 + ((cp - 0x10000) >> 10) ||
			   get_le16(u + 2) != 0xdc00 + ((cp - 0x10000) & 0x3ff)) {
			fail_msg("U+%04X: wrong pair %04X %04X", cp, get_le16(u), get_le16(u + 2));
		}
		if (get_le16(u + 2 * units) != 0)
			fail_msg("U+%04X: no NUL unit", cp);
		if (vmbus_utf16_to_utf8(u, 2 * units, back, sizeof(back)) != (int)n ||
		    memcmp(back, s, n + 1) != 0)
			fail_msg("U+%04X: utf16 -> utf8 differs", cp);
	}
}

static void test_round_trip_names(void **state)
{
	static const char *const names[] = {
		"report.docx",
		"\xc3\xa9t\xc3\xa9 2024 \xe2\x82\xac.txt",
		"\xe4\xb8\xad\xe6\x96\x87\xe6\x96\x87\xe4\xbb\xb6\xe5\x90\x8d",
		"\xf0\x9f\x98\x80\xf0\x9f\x98\x81 smile \xf4\x8f\xbf\xbf",
		"C:\\Windows\\Temp\\a b\tc",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t u[128];
		char back[128];
		int units, n;

		units = vmbus_utf8_to_utf16(names[i], strlen(names[i]), u, sizeof(u));
		assert_true(units > 0);
		/* Through a field sized exactly (units + NUL) and one without its NUL. */
		n = vmbus_utf16_to_utf8(u, 2 * (size_t)units + 2, back, strlen(names[i]) + 1);
		assert_int_equal(n, strlen(names[i]));
		assert_string_equal(back, names[i]);
		n = vmbus_utf16_to_utf8(u, 2 * (size_t)units, back, sizeof(back));
		assert_int_equal(n, strlen(names[i]));
		assert_string_equal(back, names[i]);
		assert_int_equal(vmbus_utf16_to_utf8(u, 2 * (size_t)units, back, strlen(names[i])),
				 -ENAMETOOLONG);
	}
}

/* Lossy: invalid bytes become U+FFFD one each, the rest converts as the strict function does. */
static void test_to16_lossy(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const uint16_t out[8];
		unsigned flags;
	} cases[] = {
		{ "abc", 3, { 'a', 'b', 'c' }, 0 },
		{ "a\xffz", 3, { 'a', 0xfffd, 'z' }, VMBUS_UTF_REPLACED },
		{ "\xc0\xaf", 2, { 0xfffd, 0xfffd }, VMBUS_UTF_REPLACED },         /* overlong '/' */
		{ "\xed\xa0\x80", 3, { 0xfffd, 0xfffd, 0xfffd }, VMBUS_UTF_REPLACED }, /* encoded surrogate */
		{ "x\xe6\x97", 3, { 'x', 0xfffd, 0xfffd }, VMBUS_UTF_REPLACED },  /* truncated sequence */
		{ "\xf0\x9f\x93\xa6", 4, { 0xd83d, 0xdce6 }, 0 },                 /* astral: a pair */
		{ "ab\0cd", 5, { 'a', 'b' }, 0 },                                   /* stops at NUL */
	};
	uint8_t field[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned flags = 99;
		size_t n = 0;
		int r;

		while (n < 8 && cases[i].out[n])
			n++;
		memset(field, 0xaa, sizeof(field));
		r = vmbus_utf8_to_utf16_lossy(cases[i].in, cases[i].len, field, sizeof(field), &flags);
		assert_int_equal(r, (int)n);
		assert_int_equal(flags, cases[i].flags);
		for (size_t u = 0; u < n; u++)
			assert_int_equal(get_le16(field + 2 * u), cases[i].out[u]);
		assert_int_equal(get_le16(field + 2 * n), 0);
		assert_int_equal(vmbus_utf8_valid(cases[i].in, cases[i].len), cases[i].flags == 0);
	}
}

/* Lossy: what does not fit is cut before the first character that would not, pairs never split. */
static void test_to16_lossy_cut(void **state)
{
	uint8_t field[8]; /* 3 units + NUL */
	unsigned flags;

	(void)state;
	assert_int_equal(vmbus_utf8_to_utf16_lossy("abcd", 4, field, sizeof(field), &flags), 3);
	assert_int_equal(flags, VMBUS_UTF_TRUNCATED);
	assert_int_equal(get_le16(field + 6), 0);
	/* "ab" + an astral character: the pair does not fit in the one unit left. */
	assert_int_equal(vmbus_utf8_to_utf16_lossy("ab\xf0\x9f\x93\xa6", 6, field, sizeof(field), &flags), 2);
	assert_int_equal(flags, VMBUS_UTF_TRUNCATED);
	assert_int_equal(get_le16(field + 2), 'b');
	assert_int_equal(get_le16(field + 4), 0);
	assert_int_equal(vmbus_utf8_to_utf16_lossy("\xff\xff\xff\xff", 4, field, sizeof(field), &flags), 3);
	assert_int_equal(flags, VMBUS_UTF_REPLACED | VMBUS_UTF_TRUNCATED);
	assert_int_equal(vmbus_utf8_to_utf16_lossy("x", 1, field, 1, NULL), -EINVAL);
	assert_int_equal(vmbus_utf8_to_utf16_lossy("", 0, field, 2, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to8_bmp),
		cmocka_unit_test(test_to8_surrogates),
		cmocka_unit_test(test_to8_unpaired),
		cmocka_unit_test(test_to8_odd_bytes),
		cmocka_unit_test(test_to8_no_nul),
		cmocka_unit_test(test_to8_dst_size),
		cmocka_unit_test(test_to16_valid),
		cmocka_unit_test(test_to16_invalid),
		cmocka_unit_test(test_to16_dst_size),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_round_trip_names),
		cmocka_unit_test(test_to16_lossy),
		cmocka_unit_test(test_to16_lossy_cut),
	};

	return cmocka_run_group_tests_name("utf16", tests, NULL, NULL);
}
