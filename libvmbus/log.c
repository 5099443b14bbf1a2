/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library is silent unless asked: a callback, or LIBVMBUS_LOG=debug for stderr. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static vmbus_log_fn log_fn;
static void *log_userdata;

VMBUS_EXPORT void vmbus_set_log_fn(vmbus_log_fn fn, void *userdata)
{
	log_fn = fn;
	log_userdata = userdata;
}

void vmbus_log(int priority, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log_fn) {
		const char *e = secure_getenv("LIBVMBUS_LOG");

		if (!e || strcmp(e, "debug") != 0)
			return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_fn)
		log_fn(priority, msg, log_userdata);
	else
		fprintf(stderr, "<%d>libvmbus: %s\n", priority, msg);
}
