/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-chardev.so: an LD_PRELOAD shim that turns a regular file into one of
 * hv_utils' character devices (/dev/vmbus/hv_kvp, hv_vss, hv_fcopy; the
 * kernel's drivers/hv/hv_utils_transport.c), so that a daemon speaks the
 * kernel's protocol to a test that plays the kernel (hv-hostsim --transport
 * chardev).
 *
 * A regular file PATH with a listening AF_UNIX SOCK_SEQPACKET socket beside
 * it, "PATH.sock", is a fake device node. Opening it returns a socket
 * connected to that listener; message boundaries are the kernel's one message
 * per read and per write. The fd keeps real socket semantics (poll, blocking,
 * O_NONBLOCK, EINTR), and the shim adds what hv_utils_transport does:
 *
 *  - read/pread with a buffer smaller than the queued message fails EINVAL and
 *    leaves the message queued (hvt_op_read); otherwise it returns exactly one
 *    message.
 *  - Once the peer has closed its end (the kernel reset the transport, as
 *    around hibernation), read and write fail EIO: a read error, which makes a
 *    daemon reopen the device and register again.
 *  - A .sock without a listener makes open fail ENODEV.
 *
 * Not emulated: a write the kernel would refuse (wrong size, no outstanding
 * request) succeeds here; the fake kernel reports it instead. fstat shows a
 * socket. Everything else passes through.
 */
#include "config.h"

/* Define both open and open64 with their own types, and not fortified. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define PRELOAD_NAME "fake-chardev"
#include "preload.h"

#define FAKE_FD_MAX 1024

static bool fakes[FAKE_FD_MAX];
static pthread_mutex_t fakes_lock = PTHREAD_MUTEX_INITIALIZER;


/* Marker a test can look up to make sure it runs with the shim preloaded. */
_public_ int fake_chardev_loaded(void);
_public_ int fake_chardev_loaded(void)
{
	return 1;
}

static bool is_fake(int fd)
{
	bool r;

	if (fd < 0 || fd >= FAKE_FD_MAX)
		return false;
	pthread_mutex_lock(&fakes_lock);
	r = fakes[fd];
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static void set_fake(int fd, bool on)
{
	if (fd < 0 || fd >= FAKE_FD_MAX)
		return;
	pthread_mutex_lock(&fakes_lock);
	fakes[fd] = on;
	pthread_mutex_unlock(&fakes_lock);
}

static char *fake_node(int dirfd, const char *path, int flags)
{
	return preload_fake_node(dirfd, path, flags, NULL);
}

static int open_fake(char *real, int flags)
{
	int fd = preload_open_socket(real, flags, FAKE_FD_MAX);

	free(real);
	if (fd >= 0)
		set_fake(fd, true);
	return fd;
}

PRELOAD_WRAP_OPENS()

_public_ int close(int fd)
{
	set_fake(fd, false);
	return NEXT(close)(fd);
}

/* One message, or EINVAL if it does not fit (it stays queued), or EIO once the kernel is gone. */
static ssize_t fake_read(int fd, void *buf, size_t count)
{
	ssize_t n;

	/* Blocks or not as the fd's O_NONBLOCK says; MSG_TRUNC: the real length. */
	n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	if (n < 0) {
		if (errno == ECONNRESET || errno == ENOTCONN)
			errno = EIO;
		return -1;
	}
	if (n == 0) {
		/* End of file: the kernel side closed (reset). The kernel never queues empty messages. */
		errno = EIO;
		return -1;
	}
	if ((size_t)n > count) {
		errno = EINVAL;
		return -1;
	}
	n = recv(fd, buf, count, MSG_DONTWAIT);
	if (n == 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static ssize_t fake_write(int fd, const void *buf, size_t count)
{
	ssize_t n = send(fd, buf, count, MSG_NOSIGNAL);

	if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN))
		errno = EIO;
	return n;
}

PRELOAD_WRAP_RW()
