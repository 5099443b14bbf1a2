/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by libvmbus, the daemons and the tools (systemd/kmod idioms). */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _must_check_ __attribute__((warn_unused_result))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define ALIGN8_UP(x) (((x) + 7u) & ~(size_t)7u)

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) _tp_ = (p);   \
		(p) = NULL;                 \
		_tp_;                       \
	})
#define TAKE_FD(fd)                 \
	({                          \
		int _tf_ = (fd);    \
		(fd) = -1;          \
		_tf_;               \
	})

/* Public-API argument check: returns r (a negative errno) when expr is false. */
#define assert_return(expr, r)              \
	do {                                \
		if (__builtin_expect(!(expr), 0)) \
			return (r);         \
	} while (0)
