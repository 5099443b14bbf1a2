/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-uio.so: an LD_PRELOAD shim that turns a regular file into a
 * uio_hv_generic device node (kmod testsuite style).
 *
 * A file whose name is uioN and that has a listening AF_UNIX SOCK_SEQPACKET
 * socket beside it, "<file>.sock", is a fake device node. Opening it returns a
 * socket connected to that listener: the test that owns the listener plays
 * the kernel and the host. The fd keeps real socket semantics (poll, blocking,
 * O_NONBLOCK, EINTR), and the shim adds what drivers/uio/uio.c does:
 *
 *  - mmap at offset 0 (map 0, "txrx_rings") maps the regular file; its length
 *    may not exceed the file rounded up to pages (-EINVAL, as uio_mmap). Other
 *    maps (int_page, monitor_page) are not emulated: -EINVAL.
 *  - read/pread of exactly 4 bytes waits for an interrupt: the peer sends the
 *    32-bit event count as one 4-byte message. Counts that queued up meanwhile
 *    are folded into one read returning the latest, as the kernel returns the
 *    current count once. Any other size is -EINVAL; O_NONBLOCK gives -EAGAIN.
 *  - write/pwrite of exactly 4 bytes (irq_state) reaches the peer as one
 *    4-byte message; other sizes are -EINVAL. If the peer does not keep up,
 *    further writes are folded (the host's event flag is a level, not a count).
 *  - Once the peer has closed its end (the host rescinded the channel), read
 *    and write fail with -EIO, pending counts or not, and poll reports POLLHUP.
 *    A .sock without a listener makes open fail with -ENODEV.
 *
 * Everything else passes through. Not emulated: fstat (shows a socket, not a
 * character device), dup'ed fds (raw socket), the mask side effects of
 * hv_uio_irqcontrol on the ring header.
 */
#include "config.h"

/* Define both open and open64 (and mmap/mmap64) with their own types, and not fortified. */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PRELOAD_NAME "fake-uio"
#include "preload.h"

#define FAKE_FD_MAX 1024
#define UIO_SIZE 4 /* read and write move exactly one s32 */

/* Fake fds: the backing file of map 0 and the access mode it was opened with. */
static struct {
	char *path;
	int accmode;
} fakes[FAKE_FD_MAX];
static pthread_mutex_t fakes_lock = PTHREAD_MUTEX_INITIALIZER;

DEFINE_NEXT(void *, mmap, void *, size_t, int, int, int, off_t);
DEFINE_NEXT(void *, mmap64, void *, size_t, int, int, int, off64_t);

/* Marker the test looks up to make sure it runs with the shim preloaded. */
_public_ int fake_uio_loaded(void);
_public_ int fake_uio_loaded(void)
{
	return 1;
}

static bool is_fake(int fd)
{
	bool r;

	if (fd < 0 || fd >= FAKE_FD_MAX)
		return false;
	pthread_mutex_lock(&fakes_lock);
	r = fakes[fd].path != NULL;
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static void forget(int fd)
{
	if (fd < 0 || fd >= FAKE_FD_MAX)
		return;
	pthread_mutex_lock(&fakes_lock);
	free(fakes[fd].path);
	fakes[fd].path = NULL;
	pthread_mutex_unlock(&fakes_lock);
}

static bool is_uio_name(const char *s)
{
	if (strncmp(s, "uio", 3) != 0 || !s[3])
		return false;
	for (s += 3; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* If dirfd/path names a fake uioN node, its canonical path (malloc'ed); NULL: not ours. */
static char *fake_node(int dirfd, const char *path, int flags)
{
	return preload_fake_node(dirfd, path, flags, is_uio_name);
}

static int open_fake(char *real, int flags)
{
	int fd = preload_open_socket(real, flags, FAKE_FD_MAX);

	if (fd < 0) {
		free(real);
		return -1;
	}
	pthread_mutex_lock(&fakes_lock);
	free(fakes[fd].path);
	fakes[fd].path = real;
	fakes[fd].accmode = flags & O_ACCMODE;
	pthread_mutex_unlock(&fakes_lock);
	return fd;
}

PRELOAD_WRAP_OPENS()

_public_ int close(int fd)
{
	forget(fd);
	return NEXT(close)(fd);
}

/* The peer closed its end: the host rescinded the device. */
static bool rescinded(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

static ssize_t fake_read(int fd, void *buf, size_t count)
{
	uint32_t v, newer;
	ssize_t n;

	if (count != UIO_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if (rescinded(fd)) {
		errno = EIO;
		return -1;
	}
	/* Blocks or not as the fd's O_NONBLOCK says, like uio_read. */
	n = recv(fd, &v, sizeof(v), MSG_TRUNC);
	if (n < 0)
		return -1;
	if (n == 0) {
		errno = EIO;
		return -1;
	}
	if (n != UIO_SIZE) {
		fprintf(stderr, "fake-uio: the test sent a %zd-byte interrupt, not 4\n", n);
		abort();
	}
	/* The kernel returns the current count once, however many interrupts came. */
	while (recv(fd, &newer, sizeof(newer), MSG_DONTWAIT | MSG_TRUNC) == UIO_SIZE)
		v = newer;
	memcpy(buf, &v, sizeof(v));
	return UIO_SIZE;
}

static ssize_t fake_write(int fd, const void *buf, size_t count)
{
	if (count != UIO_SIZE) {
		errno = EINVAL;
		return -1;
	}
	if (rescinded(fd)) {
		errno = EIO;
		return -1;
	}
	if (send(fd, buf, UIO_SIZE, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* The peer has signals queued already: this one folds into them. */
		if (errno == EAGAIN)
			return UIO_SIZE;
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			errno = EIO;
		return -1;
	}
	return UIO_SIZE;
}

PRELOAD_WRAP_RW()

/* Map 0 of a fake node is its backing file. */
static void *fake_mmap(int fd, void *addr, size_t len, int prot, int flags, off64_t off)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char path[PATH_MAX];
	int accmode, bfd, saved;
	struct stat st;
	void *p;

	pthread_mutex_lock(&fakes_lock);
	snprintf(path, sizeof(path), "%s", fakes[fd].path ? fakes[fd].path : "");
	accmode = fakes[fd].accmode;
	pthread_mutex_unlock(&fakes_lock);

	/* Map K is selected by offset K * page size; only map 0 exists here. */
	if (off != 0 || len == 0) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	/* Like any file: a write-only fd cannot be mapped. */
	if (accmode == O_WRONLY) {
		errno = EACCES;
		return MAP_FAILED;
	}
	bfd = NEXT(open)(path, (accmode == O_RDONLY ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (bfd < 0)
		return MAP_FAILED;
	if (fstat(bfd, &st) < 0)
		goto fail;
	/* uio_mmap: asking for more pages than the map has is -EINVAL. */
	if ((len + page - 1) / page > ((size_t)st.st_size + page - 1) / page) {
		errno = EINVAL;
		goto fail;
	}
	p = NEXT(mmap64)(addr, len, prot, flags, bfd, 0);
	saved = errno;
	NEXT(close)(bfd);
	errno = saved;
	return p;
fail:
	saved = errno;
	NEXT(close)(bfd);
	errno = saved;
	return MAP_FAILED;
}

_public_ void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!(flags & MAP_ANONYMOUS) && is_fake(fd))
		return fake_mmap(fd, addr, len, prot, flags, off);
	return NEXT(mmap)(addr, len, prot, flags, fd, off);
}

_public_ void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	if (!(flags & MAP_ANONYMOUS) && is_fake(fd))
		return fake_mmap(fd, addr, len, prot, flags, off);
	return NEXT(mmap64)(addr, len, prot, flags, fd, off);
}
