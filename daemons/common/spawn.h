/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running helper programs from a daemon (hv-kvpd's network hooks and tools,
 * hv-vssd's freeze hooks): no shell, a clean environment, bounded output and
 * time, the whole process group killed at the deadline, always reaped.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What spawn_run() saw of one program. */
#define SPAWN_OUTPUT_MAX 4096
struct spawn_result {
	char out[SPAWN_OUTPUT_MAX]; /* the first bytes of stdout (and stderr if merged), NUL-terminated */
	size_t len;
	int status;     /* exit status; -1 when killed by a signal or the timeout, or not known */
	bool timed_out; /* still running at the timeout: its process group was killed */
};

/*
 * Run path (argv, environment PATH only, stdin /dev/null) for at most
 * timeout_ms; see spawn.c. 0 with res filled, or a negative errno (logged)
 * when it could not be started.
 */
int spawn_run(const char *path, const char *const argv[], int timeout_ms, bool merge_stderr,
	      struct spawn_result *res);

/* The daemon's PATH, or a default when it has none. */
const char *spawn_search_path(void);
/* A regular file we may execute. */
bool spawn_is_executable(const char *path);
/* name in the PATH (absolute directories only) into buf. */
bool spawn_find_tool(const char *name, char *buf, size_t size);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t spawn_now_ms(void);
