/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Strict UTF-16LE <-> UTF-8 for bounded wire fields. Nothing is ever
 * replaced: a name that does not convert exactly is refused.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

static int put_utf8(char *dst, size_t size, size_t *pos, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	/* Keep room for the NUL. */
	if (size - *pos <= n)
		return -ENAMETOOLONG;
	memcpy(dst + *pos, b, n);
	*pos += n;
	return 0;
}

VMBUS_EXPORT int vmbus_utf16_to_utf8(const void *src, size_t src_bytes, char *dst, size_t dst_size)
{
	const uint8_t *s = src;
	size_t units = src_bytes / 2, pos = 0;

	assert_return(src || src_bytes == 0, -EINVAL);
	assert_return(dst && dst_size > 0, -EINVAL);
	assert_return(dst_size <= INT32_MAX, -EINVAL);

	for (size_t i = 0;; i++) {
		uint32_t u, cp;
		int r;

		if (i == units) {
			/* Field ends without a NUL: a final odd byte is half a unit. */
			if (src_bytes % 2)
				return -EILSEQ;
			break;
		}
		u = (uint32_t)s[2 * i] | (uint32_t)s[2 * i + 1] << 8;
		if (u == 0)
			break;
		if (u >= 0xdc00 && u <= 0xdfff)
			return -EILSEQ; /* low surrogate first */
		if (u >= 0xd800 && u <= 0xdbff) {
			uint32_t lo;

			if (i + 1 == units)
				return -EILSEQ;
			lo = (uint32_t)s[2 * i + 2] | (uint32_t)s[2 * i + 3] << 8;
			if (lo < 0xdc00 || lo > 0xdfff)
				return -EILSEQ;
			cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i++;
		} else {
			cp = u;
		}
		r = put_utf8(dst, dst_size, &pos, cp);
		if (r < 0)
			return r;
	}
	dst[pos] = '\0';
	return (int)pos;
}

/* Decode one UTF-8 sequence at s[0..n); returns its length or -EILSEQ. */
static int get_utf8(const uint8_t *s, size_t n, uint32_t *ret)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80) {
		*ret = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return -EILSEQ;
	}
	if (n < len)
		return -EILSEQ;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -EILSEQ;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -EILSEQ;
	*ret = cp;
	return (int)len;
}

static int put_unit(uint8_t *d, size_t units_max, size_t *pos, uint32_t u)
{
	if (*pos >= units_max)
		return -ENAMETOOLONG;
	d[2 * *pos] = (uint8_t)(u & 0xff);
	d[2 * *pos + 1] = (uint8_t)(u >> 8);
	(*pos)++;
	return 0;
}

VMBUS_EXPORT int vmbus_utf8_to_utf16(const char *src, size_t src_len, void *dst, size_t dst_bytes)
{
	const uint8_t *s = (const uint8_t *)src;
	uint8_t *d = dst;
	size_t units_max, pos = 0, i = 0;

	assert_return(src || src_len == 0, -EINVAL);
	assert_return(dst && dst_bytes >= 2, -EINVAL);
	assert_return(dst_bytes / 2 <= INT32_MAX, -EINVAL);
	units_max = dst_bytes / 2 - 1; /* the last unit is for the NUL */

	while (i < src_len && s[i]) {
		size_t n = src_len - i;
		const uint8_t *nul = memchr(s + i, 0, n < 4 ? n : 4);
		uint32_t cp;
		int r, len;

		if (nul)
			n = (size_t)(nul - (s + i));
		len = get_utf8(s + i, n, &cp);
		if (len < 0)
			return len;
		i += (size_t)len;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (pos + 2 > units_max)
				return -ENAMETOOLONG;
			put_unit(d, units_max, &pos, 0xd800 | cp >> 10);
			r = put_unit(d, units_max, &pos, 0xdc00 | (cp & 0x3ff));
		} else {
			r = put_unit(d, units_max, &pos, cp);
		}
		if (r < 0)
			return r;
	}
	d[2 * pos] = 0;
	d[2 * pos + 1] = 0;
	return (int)pos;
}

VMBUS_EXPORT int vmbus_utf8_to_utf16_lossy(const char *src, size_t src_len, void *dst, size_t dst_bytes,
					   unsigned int *ret_flags)
{
	const uint8_t *s = (const uint8_t *)src;
	uint8_t *d = dst;
	size_t units_max, pos = 0, i = 0;
	unsigned int flags = 0;

	assert_return(src || src_len == 0, -EINVAL);
	assert_return(dst && dst_bytes >= 2, -EINVAL);
	assert_return(dst_bytes / 2 <= INT32_MAX, -EINVAL);
	units_max = dst_bytes / 2 - 1;

	while (i < src_len && s[i]) {
		size_t n = src_len - i;
		const uint8_t *nul = memchr(s + i, 0, n < 4 ? n : 4);
		uint32_t cp;
		int len;

		if (nul)
			n = (size_t)(nul - (s + i));
		len = get_utf8(s + i, n, &cp);
		if (len < 0) {
			cp = 0xfffd; /* one replacement per byte that starts no valid sequence */
			len = 1;
			flags |= VMBUS_UTF_REPLACED;
		}
		if (pos + (cp >= 0x10000 ? 2 : 1) > units_max) {
			flags |= VMBUS_UTF_TRUNCATED;
			break;
		}
		i += (size_t)len;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			put_unit(d, units_max, &pos, 0xd800 | cp >> 10);
			put_unit(d, units_max, &pos, 0xdc00 | (cp & 0x3ff));
		} else {
			put_unit(d, units_max, &pos, cp);
		}
	}
	d[2 * pos] = 0;
	d[2 * pos + 1] = 0;
	if (ret_flags)
		*ret_flags = flags;
	return (int)pos;
}

VMBUS_EXPORT bool vmbus_utf8_valid(const char *s, size_t len)
{
	size_t i = 0;

	assert_return(s || len == 0, false);
	while (i < len) {
		uint32_t cp;
		int r = get_utf8((const uint8_t *)s + i, len - i, &cp);

		if (r < 0)
			return false;
		i += (size_t)r;
	}
	return true;
}
