/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <vmbus/vmbus.h>

#include "versions.h"

static int parse_u16(const char *s, char **end)
{
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, end, 10);
	if (errno || v > 0xffff)
		return -EINVAL;
	return (int)v;
}

int ic_versions_parse(const char *s, uint32_t *out, size_t max)
{
	size_t n = 0;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		int major = parse_u16(s, &end), minor;

		if (major < 0 || *end != '.')
			return -EINVAL;
		minor = parse_u16(end + 1, &end);
		if (minor < 0 || (*end != ',' && *end != '\0') || n == max)
			return -EINVAL;
		out[n++] = VMBUS_IC_VERSION(major, minor);
		if (*end == '\0')
			return (int)n;
		s = end + 1;
	}
}

char *ic_version_format(uint32_t v, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u", VMBUS_IC_VERSION_MAJOR(v), VMBUS_IC_VERSION_MINOR(v));
	return buf;
}
