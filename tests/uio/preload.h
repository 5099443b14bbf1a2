/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the LD_PRELOAD shims (fake-uio.so, fake-chardev.so) share: lazily
 * resolved pointers to the next definition of a libc function, and the
 * open() family turned into "open a fake node" for the paths the shim owns.
 *
 * A fake node is a regular file with a listening AF_UNIX SOCK_SEQPACKET
 * socket beside it, "<file>.sock"; opening it connects to that listener.
 *
 * Before including, define PRELOAD_NAME (for messages). Before expanding
 * PRELOAD_WRAP_OPENS(), define:
 *   static char *fake_node(int dirfd, const char *path, int flags);
 *       the real path of a fake node (malloc'ed), or NULL: not ours
 *   static int open_fake(char *real, int flags);
 *       open it (takes real), returning the fd or -1 with errno
 * and before expanding PRELOAD_WRAP_RW():
 *   static bool is_fake(int fd);
 *   static ssize_t fake_read(int fd, void *buf, size_t count);
 *   static ssize_t fake_write(int fd, const void *buf, size_t count);
 */
#pragma once

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

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
DEFINE_NEXT(ssize_t, read, int, void *, size_t);
DEFINE_NEXT(ssize_t, write, int, const void *, size_t);
DEFINE_NEXT(ssize_t, pread, int, void *, size_t, off_t);
DEFINE_NEXT(ssize_t, pread64, int, void *, size_t, off64_t);
DEFINE_NEXT(ssize_t, pwrite, int, const void *, size_t, off_t);
DEFINE_NEXT(ssize_t, pwrite64, int, const void *, size_t, off64_t);
DEFINE_NEXT(ssize_t, __read_chk, int, void *, size_t, size_t);
DEFINE_NEXT(ssize_t, __pread_chk, int, void *, size_t, off_t, size_t);
DEFINE_NEXT(ssize_t, __pread64_chk, int, void *, size_t, off64_t, size_t);

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

/*
 * If dirfd/path names a fake node whose file name name_ok() accepts (NULL:
 * any), its canonical path (malloc'ed). NULL means "not ours": the real open
 * sees the path.
 */
static inline char *preload_fake_node(int dirfd, const char *path, int flags,
				      bool (*name_ok)(const char *base))
{
	char buf[PATH_MAX + 32], sock[PATH_MAX + 8], *real;
	const char *base;
	struct stat st;

	if (!path || (flags & (O_PATH | O_DIRECTORY)))
		return NULL;
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		if (snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s", dirfd, path) >= (int)sizeof(buf))
			return NULL;
		path = buf;
	}
	real = realpath(path, NULL);
	if (!real)
		return NULL;
	base = strrchr(real, '/');
	base = base ? base + 1 : real;
	if ((name_ok && !name_ok(base)) || stat(real, &st) < 0 || !S_ISREG(st.st_mode) ||
	    snprintf(sock, sizeof(sock), "%s.sock", real) >= (int)sizeof(sock) ||
	    stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		free(real);
		return NULL;
	}
	return real;
}

/* Connect fd to "<real>.sock"; through /proc/self/fd if the path is too long for sun_path. */
static inline int preload_connect_node(int fd, const char *real)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *slash = strrchr(real, '/');
	char dir[PATH_MAX];
	int n, r, saved, dfd = -1;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.sock", real);
	if (n >= (int)sizeof(sa.sun_path)) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - real), real);
		dfd = NEXT(open)(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -1;
		n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s.sock", dfd,
			     slash + 1);
		if (n >= (int)sizeof(sa.sun_path)) {
			NEXT(close)(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	saved = errno;
	if (dfd >= 0)
		NEXT(close)(dfd);
	errno = saved;
	/* No listener (any more): the driver is not there. */
	if (r < 0 && (errno == ECONNREFUSED || errno == ENOENT))
		errno = ENODEV;
	return r;
}

/*
 * A SOCK_SEQPACKET socket connected to the fake node real, with the open
 * flags' CLOEXEC and NONBLOCK; fds at or above fd_max are refused (EMFILE),
 * since the shim tracks fakes in a table of that size. -1 with errno on failure.
 */
static inline int preload_open_socket(const char *real, int flags, int fd_max)
{
	int fd, saved, type = SOCK_SEQPACKET;

	if (flags & O_CLOEXEC)
		type |= SOCK_CLOEXEC;
	if (flags & O_NONBLOCK)
		type |= SOCK_NONBLOCK;
	fd = socket(AF_UNIX, type, 0);
	if (fd < 0)
		return -1;
	if (fd >= fd_max)
		errno = EMFILE;
	else if (preload_connect_node(fd, real) == 0)
		return fd;
	saved = errno;
	NEXT(close)(fd);
	errno = saved;
	return -1;
}

/*
 * read/write and their positioned and fortified forms on a fake fd go to
 * fake_read/fake_write. Both drivers ignore the file offset, so pread and
 * pwrite behave as read and write; an overflowing fortified count still goes
 * to libc to abort.
 */
#define PRELOAD_WRAP_PREAD(name, off_type)                                    \
	_public_ ssize_t name(int fd, void *buf, size_t count, off_type off); \
	_public_ ssize_t name(int fd, void *buf, size_t count, off_type off)  \
	{                                                                     \
		if (is_fake(fd))                                              \
			return fake_read(fd, buf, count);                     \
		return NEXT(name)(fd, buf, count, off);                       \
	}

#define PRELOAD_WRAP_PWRITE(name, off_type)                                         \
	_public_ ssize_t name(int fd, const void *buf, size_t count, off_type off); \
	_public_ ssize_t name(int fd, const void *buf, size_t count, off_type off)  \
	{                                                                           \
		if (is_fake(fd))                                                    \
			return fake_write(fd, buf, count);                          \
		return NEXT(name)(fd, buf, count, off);                             \
	}

#define PRELOAD_WRAP_PREAD_CHK(name, off_type)                                               \
	_public_ ssize_t name(int fd, void *buf, size_t count, off_type off, size_t buflen); \
	_public_ ssize_t name(int fd, void *buf, size_t count, off_type off, size_t buflen)  \
	{                                                                                    \
		if (is_fake(fd) && count <= buflen)                                          \
			return fake_read(fd, buf, count);                                    \
		return NEXT(name)(fd, buf, count, off, buflen);                              \
	}

#define PRELOAD_WRAP_RW()                                                         \
	_public_ ssize_t read(int fd, void *buf, size_t count)                    \
	{                                                                         \
		if (is_fake(fd))                                                  \
			return fake_read(fd, buf, count);                         \
		return NEXT(read)(fd, buf, count);                                \
	}                                                                         \
	_public_ ssize_t write(int fd, const void *buf, size_t count)             \
	{                                                                         \
		if (is_fake(fd))                                                  \
			return fake_write(fd, buf, count);                        \
		return NEXT(write)(fd, buf, count);                               \
	}                                                                         \
	PRELOAD_WRAP_PREAD(pread, off_t)                                          \
	PRELOAD_WRAP_PREAD(pread64, off64_t)                                      \
	PRELOAD_WRAP_PWRITE(pwrite, off_t)                                        \
	PRELOAD_WRAP_PWRITE(pwrite64, off64_t)                                    \
	_public_ ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen); \
	_public_ ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)  \
	{                                                                         \
		if (is_fake(fd) && count <= buflen)                               \
			return fake_read(fd, buf, count);                         \
		return NEXT(__read_chk)(fd, buf, count, buflen);                  \
	}                                                                         \
	PRELOAD_WRAP_PREAD_CHK(__pread_chk, off_t)                                \
	PRELOAD_WRAP_PREAD_CHK(__pread64_chk, off64_t)
