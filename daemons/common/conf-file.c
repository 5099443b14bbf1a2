/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-file.h"
#include "log.h"

char *conf_strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int config_parse_file(const char *path, bool must_exist, config_fn fn, void *userdata)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[PATH_MAX + 64], where[PATH_MAX + 32];
	unsigned n = 0;
	int r;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return log_error_errno(errno, "cannot read '%s': %m", path);
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *value, *eq;

		n++;
		snprintf(where, sizeof(where), "%s:%u", path, n);
		if (!strchr(line, '\n') && !feof(f))
			return log_error_errno(-EINVAL, "%s: line too long", where);
		key = conf_strip(line);
		if (*key == '#' || *key == '\0')
			continue;
		eq = strchr(key, '=');
		if (!eq)
			return log_error_errno(-EINVAL, "%s: expected KEY = VALUE", where);
		*eq = '\0';
		key = conf_strip(key);
		value = conf_strip(eq + 1);
		r = fn(key, value, where, userdata);
		if (r < 0)
			return r;
	}
	if (ferror(f))
		return log_error_errno(-EIO, "cannot read '%s'", path);
	return 0;
}

int parse_unsigned(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}
