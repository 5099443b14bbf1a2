/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the LD_PRELOAD shims (fake-uio.so, fake-chardev.so) share: lazily
 * resolved pointers to the next definition of a libc function, and the
 * open() family turned into "open a fake node" for the paths the shim owns.
 *
 * Before including, define PRELOAD_NAME (for messages). Before expanding
 * PRELOAD_WRAP_OPENS(), define:
 *   static char *fake_node(int dirfd, const char *path, int flags);
 *       the real path of a fake node (malloc'ed), or NULL: not ours
 *   static int open_fake(char *real, int flags);
 *       open it (takes real), returning the fd or -1 with errno
 */
#pragma once

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#define _public_ __attribute__((visibility("default")))

/* Resolve a libc function once; the shim cannot work without it. */
static inline void *preload_next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, PRELOAD_NAME ": cannot resolve %s: %s\n", name, dlerror());
		abort();
	}
	return p;
}

/* Pointers to the next definition (libc, or the sanitizer's interceptor), resolved lazily. */
#define DEFINE_NEXT(ret, name, ...) static ret (*next_##name)(__VA_ARGS__)
#define NEXT(name)                                                                     \
	(*({                                                                           \
		if (!next_##name)                                                      \
			next_##name = (__typeof__(next_##name))preload_next_sym(#name); \
		&next_##name;                                                          \
	}))

DEFINE_NEXT(int, open, const char *, int, ...);
DEFINE_NEXT(int, open64, const char *, int, ...);
DEFINE_NEXT(int, openat, int, const char *, int, ...);
DEFINE_NEXT(int, openat64, int, const char *, int, ...);
DEFINE_NEXT(int, __open_2, const char *, int);
DEFINE_NEXT(int, __open64_2, const char *, int);
DEFINE_NEXT(int, __openat_2, int, const char *, int);
DEFINE_NEXT(int, __openat64_2, int, const char *, int);
DEFINE_NEXT(int, close, int);

static inline mode_t preload_mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

#define PRELOAD_WRAP_OPEN(name)                                      \
	_public_ int name(const char *path, int flags, ...);         \
	_public_ int name(const char *path, int flags, ...)          \
	{                                                            \
		char *real = fake_node(AT_FDCWD, path, flags);       \
		va_list ap;                                          \
		mode_t mode;                                         \
                                                                     \
		if (real)                                            \
			return open_fake(real, flags);               \
		va_start(ap, flags);                                 \
		mode = preload_mode_arg(flags, ap);                  \
		va_end(ap);                                          \
		return NEXT(name)(path, flags, mode);                \
	}

#define PRELOAD_WRAP_OPENAT(name)                                       \
	_public_ int name(int dirfd, const char *path, int flags, ...); \
	_public_ int name(int dirfd, const char *path, int flags, ...)  \
	{                                                               \
		char *real = fake_node(dirfd, path, flags);             \
		va_list ap;                                             \
		mode_t mode;                                            \
                                                                        \
		if (real)                                               \
			return open_fake(real, flags);                  \
		va_start(ap, flags);                                    \
		mode = preload_mode_arg(flags, ap);                     \
		va_end(ap);                                             \
		return NEXT(name)(dirfd, path, flags, mode);            \
	}

/* _FORTIFY_SOURCE entry points: no mode argument. */
#define PRELOAD_WRAP_OPEN_2(name)                              \
	_public_ int name(const char *path, int flags);        \
	_public_ int name(const char *path, int flags)         \
	{                                                      \
		char *real = fake_node(AT_FDCWD, path, flags); \
                                                               \
		if (real)                                      \
			return open_fake(real, flags);         \
		return NEXT(name)(path, flags);                \
	}

#define PRELOAD_WRAP_OPENAT_2(name)                                \
	_public_ int name(int dirfd, const char *path, int flags); \
	_public_ int name(int dirfd, const char *path, int flags)  \
	{                                                          \
		char *real = fake_node(dirfd, path, flags);        \
                                                                   \
		if (real)                                          \
			return open_fake(real, flags);             \
		return NEXT(name)(dirfd, path, flags);             \
	}

/* Every open entry point of glibc, 64-bit and fortified ones included. */
#define PRELOAD_WRAP_OPENS()                 \
	PRELOAD_WRAP_OPEN(open)              \
	PRELOAD_WRAP_OPEN(open64)            \
	PRELOAD_WRAP_OPENAT(openat)          \
	PRELOAD_WRAP_OPENAT(openat64)        \
	PRELOAD_WRAP_OPEN_2(__open_2)        \
	PRELOAD_WRAP_OPEN_2(__open64_2)      \
	PRELOAD_WRAP_OPENAT_2(__openat_2)    \
	PRELOAD_WRAP_OPENAT_2(__openat64_2)
