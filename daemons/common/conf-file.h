/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemons' configuration files (/etc/hv-daemons/NAME.conf): "KEY = VALUE"
 * lines, blanks and '#' comments ignored. Each daemon says what a key means.
 */
#pragma once

#include <stdbool.h>

/*
 * Called per setting; where is "FILE:LINE" for messages. Returns 0, or a
 * negative errno after logging why (parsing stops).
 */
typedef int (*config_fn)(const char *key, const char *value, const char *where, void *userdata);

/*
 * Read path. A missing file is fine unless must_exist (the user named it).
 * Returns 0, or a negative errno (logged).
 */
int config_parse_file(const char *path, bool must_exist, config_fn fn, void *userdata);

/* A decimal number in 0..max. Returns 0 or -EINVAL. */
int parse_unsigned(const char *s, unsigned long max, unsigned long *ret);

/* Drop leading blanks and trailing blanks and line ends, in place. */
char *conf_strip(char *s);
