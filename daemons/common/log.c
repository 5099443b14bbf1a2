/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"

static const char *prog = "hv-daemons";
static int max_level = LOG_INFO;
static bool to_journal;

/* Deferred lines (while filesystems are frozen): "<level>message\n", in order. */
#define DEFER_MAX 65536
static bool deferring;
static char defer_buf[DEFER_MAX];
static size_t defer_len;
static unsigned long defer_dropped;

/* One formatted line to stderr, or into the deferred buffer. */
static void emit(int level, const char *msg)
{
	if (deferring) {
		int n = snprintf(defer_buf + defer_len, DEFER_MAX - defer_len, "%d %s\n", level, msg);

		if (n < 0 || (size_t)n >= DEFER_MAX - defer_len) {
			defer_dropped++;
			return;
		}
		/* One line per message: a newline inside it would split it at flush time. */
		for (size_t i = defer_len; i + 1 < defer_len + (size_t)n; i++)
			if (defer_buf[i] == '\n')
				defer_buf[i] = ' ';
		defer_len += (size_t)n;
		return;
	}
	if (to_journal)
		fprintf(stderr, "<%d>%s\n", level, msg);
	else
		fprintf(stderr, "%s: %s\n", prog, msg);
}

void log_defer_begin(void)
{
	fflush(stderr);
	deferring = true;
}

void log_defer_end(void)
{
	size_t i = 0;

	if (!deferring)
		return;
	deferring = false;
	while (i < defer_len) {
		char *nl = memchr(defer_buf + i, '\n', defer_len - i), *sp;
		int level = (int)strtol(defer_buf + i, &sp, 10);

		*nl = '\0';
		emit(level, sp + 1);
		i = (size_t)(nl - defer_buf) + 1;
	}
	defer_len = 0;
	if (defer_dropped)
		emit(LOG_WARNING, "(more log lines were written while filesystems were frozen than could be kept)");
	defer_dropped = 0;
	fflush(stderr);
}

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
	emit(level, msg);
	errno = saved;
	return err;
}

void log_struct(int level, const char *const *fields, const char *fmt, ...)
{
	char msg[1024], prio[32], ident[64];
	struct iovec iov[16];
	size_t n = 0;
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!to_journal || deferring) {
		emit(level, msg); /* deferred: the fields are dropped, the line is kept */
		return;
	}
	snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
	snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", prog);
	memmove(msg + 8, msg, strnlen(msg, sizeof(msg) - 9) + 1);
	memcpy(msg, "MESSAGE=", 8);
	msg[sizeof(msg) - 1] = '\0';
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ ident, strlen(ident) };
	for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
		iov[n++] = (struct iovec){ (void *)fields[i], strlen(fields[i]) };
	/* The journal may be gone (shutdown): keep the line on stderr then. */
	if (sd_journal_sendv(iov, (int)n) < 0)
		fprintf(stderr, "<%d>%s\n", level, msg + 8);
}
