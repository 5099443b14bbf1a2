/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the uio tests that re-exec themselves under an LD_PRELOAD library. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A preload library comes before the ASan runtime in the library list, which
 * ASan refuses unless told otherwise. make check exports this already; this
 * makes a test run by hand behave the same. No-op without ASan.
 */
static inline void asan_allow_preload(void)
{
#if defined(__SANITIZE_ADDRESS__)
	const char *o = getenv("ASAN_OPTIONS");
	char *opts;

	if (o && strstr(o, "verify_asan_link_order"))
		return;
	if (asprintf(&opts, "%s%sverify_asan_link_order=0", o ? o : "", o && *o ? ":" : "") < 0)
		exit(EXIT_FAILURE);
	setenv("ASAN_OPTIONS", opts, 1);
	free(opts);
#endif
}
