/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file sink: where hv-fcopyd's transfers land. Data goes to an anonymous
 * O_TMPFILE in the target directory (or a hidden, uniquely named file where
 * the filesystem lacks O_TMPFILE) and appears under its name only at
 * COMPLETE, after fsync, in one link or rename. Nothing partial is ever
 * visible under the target name.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fcopy-proto.h"

/* Prefix and suffix of the hidden temporary names; nothing else is ever removed by recovery. */
#define FCOPY_TMP_PREFIX ".hv-fcopyd-"
#define FCOPY_TMP_SUFFIX ".tmp"

struct fcopy_sink_config {
	mode_t mode;            /* mode of copied files (default 0644) */
	char **allow;           /* resolved allowed directories; none: any absolute path */
	size_t n_allow;
	const char *state_dir;  /* records a named temporary file while it exists; NULL: none */
	bool no_tmpfile;        /* always use a named temporary file (testing the fallback) */
};

struct fcopy_sink;

extern const struct fcopy_sink_ops fcopy_file_sink_ops;

int fcopy_sink_new(const struct fcopy_sink_config *cfg, struct fcopy_sink **ret);
struct fcopy_sink *fcopy_sink_free(struct fcopy_sink *s);

/*
 * Remove the named temporary file a killed instance left behind, as recorded
 * in state_dir. Returns 1 if one was removed, 0 if none, negative on error.
 */
int fcopy_sink_recover(const char *state_dir);

/* True when dir (resolved) is one of allow[] or beneath one. */
bool fcopy_path_inside(const char *dir, char *const *allow, size_t n_allow);
