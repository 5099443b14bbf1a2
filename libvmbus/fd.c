/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd transport: a shared-memory ring pair plus two eventfds, for host
 * simulators and tests. Layout (libvmbus(3)): the memory holds 2*S bytes,
 * [0,S) the guest->host ring and [S,2S) the host->guest ring, each a 4096-byte
 * header followed by S-4096 data bytes, as uio_hv_generic's map 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define FD_RING_HEADER 4096u

static int fd_ack(struct vmbus_channel *ch)
{
	uint64_t v;

	for (;;) {
		ssize_t n = read(ch->wait_fd, &v, sizeof(v));

		if (n == sizeof(v))
			return 1;
		if (n >= 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
}

static int fd_signal(struct vmbus_channel *ch)
{
	uint64_t one = 1;

	for (;;) {
		ssize_t n = write(ch->signal_fd, &one, sizeof(one));

		if (n == sizeof(one))
			return 0;
		if (n >= 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		/* A counter at its maximum means the peer has a wake-up pending anyway. */
		if (errno == EAGAIN)
			return 0;
		return -errno;
	}
}

static void fd_close(struct vmbus_channel *ch)
{
	if (ch->wait_fd >= 0)
		close(ch->wait_fd);
	if (ch->signal_fd >= 0)
		close(ch->signal_fd);
}

static const struct vmbus_backend_ops fd_ops = {
	.ack = fd_ack,
	.signal = fd_signal,
	.close = fd_close,
};

static int check_ring_size(uint64_t s)
{
	if (s < VMBUS_RING_SIZE_MIN || s > VMBUS_RING_SIZE_MAX || s % FD_RING_HEADER)
		return -EINVAL;
	return 0;
}

VMBUS_EXPORT int vmbus_channel_open_fd(int ring_fd, int irq_fd, int signal_fd, int side,
				       struct vmbus_channel **ret)
{
	struct vmbus_channel *ch;
	struct stat st;
	void *map;
	int fl, r;

	assert_return(ring_fd >= 0 && irq_fd >= 0 && signal_fd >= 0, -EBADF);
	assert_return(ring_fd != irq_fd && ring_fd != signal_fd && irq_fd != signal_fd, -EINVAL);
	assert_return(side == VMBUS_SIDE_GUEST || side == VMBUS_SIDE_HOST, -EINVAL);
	assert_return(ret, -EINVAL);

	if (fstat(ring_fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size % 2 || check_ring_size((uint64_t)st.st_size / 2) < 0)
		return -EINVAL;
	if (fcntl(signal_fd, F_GETFD) < 0)
		return -errno;
	fl = fcntl(irq_fd, F_GETFL);
	if (fl < 0)
		return -errno;

	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, ring_fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	r = vmbus_channel_new(map, (size_t)st.st_size, (size_t)st.st_size / 2, FD_RING_HEADER,
			      side == VMBUS_SIDE_GUEST, &fd_ops, &ch);
	if (r < 0) {
		munmap(map, (size_t)st.st_size);
		return r;
	}
	/* Only now, so that a failed open leaves the caller's fd as it was. */
	if (!(fl & O_NONBLOCK) && fcntl(irq_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		vmbus_channel_close(ch);
		return r;
	}
	ch->side = side;
	ch->wait_fd = irq_fd;
	ch->signal_fd = signal_fd;
	/* The mapping keeps the memory alive; the fd is not needed any more. */
	close(ring_fd);
	*ret = ch;
	return 0;
}

VMBUS_EXPORT int vmbus_fd_ring_create(uint32_t ring_size, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	void *map;

	assert_return(check_ring_size(ring_size) == 0, -EINVAL);
	assert_return(ret_fd, -EINVAL);
	fd = memfd_create("vmbus-ring", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, 2 * (off_t)ring_size) < 0)
		return -errno;
	map = mmap(NULL, 2 * (size_t)ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	vmbus_ring_header_reset(map);
	vmbus_ring_header_reset((void *)((uintptr_t)map + ring_size));
	munmap(map, 2 * (size_t)ring_size);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int parse_fd(const char *s, char **end)
{
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, end, 10);
	if (errno || v > 65535)
		return -EINVAL;
	return (int)v;
}

int vmbus_parse_fd_spec(const char *s, int fds[3])
{
	char *end;

	for (int i = 0; i < 3; i++) {
		int fd = parse_fd(s, &end);

		if (fd < 0 || *end != (i < 2 ? ',' : '\0'))
			return -EINVAL;
		fds[i] = fd;
		s = end + 1;
	}
	return 0;
}

VMBUS_EXPORT int vmbus_channel_open_spec(const char *spec, const char *sysfs_root,
					 const char *dev_root, struct vmbus_channel **ret)
{
	assert_return(spec && ret, -EINVAL);

	if (strncmp(spec, "fd:", 3) == 0) {
		int fds[3];

		if (vmbus_parse_fd_spec(spec + 3, fds) < 0)
			return -EINVAL;
		return vmbus_channel_open_fd(fds[0], fds[1], fds[2], VMBUS_SIDE_GUEST, ret);
	}
	if (strncmp(spec, "uio:", 4) == 0) {
		if (spec[4] == '\0')
			return -EINVAL;
		return vmbus_channel_open_uio(spec + 4, sysfs_root, ret);
	}
	if (strncmp(spec, "class:", 6) == 0) {
		_cleanup_free_ char *path = NULL;
		int r = vmbus_uio_find(spec + 6, dev_root, &path);

		if (r < 0)
			return r;
		return vmbus_channel_open_uio(path, sysfs_root, ret);
	}
	return -EINVAL;
}
