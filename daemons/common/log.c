/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static const char *prog = "hv-daemons";
static int max_level = LOG_INFO;
static bool to_journal;

void log_setup(const char *program)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	prog = program;
	/* systemd sets JOURNAL_STREAM=dev:ino when stderr is the journal. */
	if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
		to_journal = st.st_dev == dev && st.st_ino == ino;
}

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

int log_internal(int level, int err, const char *fmt, ...)
{
	int saved = errno;
	char msg[1024];
	va_list ap;

	if (err > 0)
		err = -err;
	if (level > max_level) {
		errno = saved;
		return err;
	}
	errno = err < 0 ? -err : saved;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (to_journal)
		fprintf(stderr, "<%d>%s\n", level, msg);
	else
		fprintf(stderr, "%s: %s\n", prog, msg);
	errno = saved;
	return err;
}
