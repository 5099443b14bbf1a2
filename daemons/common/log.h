/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Daemon logging: stderr, with <N> priority prefixes when it is the journal. */
#pragma once

#include <errno.h>
#include <syslog.h>

#include "macro.h"

void log_setup(const char *program);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Logs (errno = -err while formatting, so %m works) and returns err, negative. */
int log_internal(int level, int err, const char *fmt, ...) _printf_(3, 4);

/*
 * One log line with structured fields ("KEY=value" strings, NULL-terminated):
 * sent to the journal with them when stderr is the journal, else printed.
 */
void log_struct(int level, const char *const *fields, const char *fmt, ...) _printf_(3, 4);

/*
 * While filesystems are frozen nothing may be written that could block on
 * them: between begin and end, log lines are kept in memory (64 KiB; later
 * ones are counted and dropped) and written out, in order, at end.
 */
void log_defer_begin(void);
void log_defer_end(void);

#define log_full_errno(level, err, ...) log_internal((level), (err), __VA_ARGS__)
#define log_debug(...) (void)log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) (void)log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) (void)log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) (void)log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) (void)log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(err, ...) log_internal(LOG_WARNING, (err), __VA_ARGS__)
#define log_error_errno(err, ...) log_internal(LOG_ERR, (err), __VA_ARGS__)
#define log_debug_errno(err, ...) log_internal(LOG_DEBUG, (err), __VA_ARGS__)
