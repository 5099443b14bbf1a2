/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chardev.h"
#include "log.h"

struct chardev {
	char *path;
	const struct chardev_ops *ops;
	void *userdata;
	int fd;
	int timeout_ms;
	unsigned long n_reopens;
	uint8_t *buf; /* ops->max_msg bytes */
};

int chardev_get_fd(const struct chardev *cd)
{
	return cd->fd;
}

const char *chardev_get_path(const struct chardev *cd)
{
	return cd->path;
}

unsigned long chardev_get_reopens(const struct chardev *cd)
{
	return cd->n_reopens;
}

static int open_device(struct chardev *cd)
{
	int fd;

	if (cd->ops->open)
		fd = cd->ops->open(cd->userdata, cd->path);
	else
		fd = open(cd->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cd->ops->open ? fd : -errno;
	cd->fd = fd;
	return 0;
}

static ssize_t read_msg(int fd, uint8_t *buf, size_t size)
{
	ssize_t n;

	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* A whole message in one write, as the kernel takes it; a short write is an error. */
static int write_msg(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/* The handshake: our registration, then the kernel's answer within the timeout. */
static int register_device(struct chardev *cd)
{
	struct pollfd p = { .fd = cd->fd, .events = POLLIN };
	size_t len = cd->ops->register_msg(cd->userdata, cd->buf);
	ssize_t n;
	int r;

	r = write_msg(cd->fd, cd->buf, len);
	if (r < 0)
		return log_error_errno(r, "%s: cannot register with '%s' (a %zu-byte write): %m", cd->ops->name,
				       cd->path, len);
	do
		r = poll(&p, 1, cd->timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return log_error_errno(-errno, "%s: waiting for '%s': %m", cd->ops->name, cd->path);
	if (r == 0)
		return log_error_errno(-ETIMEDOUT, "%s: the kernel did not answer the registration on '%s' within "
				       "%d ms", cd->ops->name, cd->path, cd->timeout_ms);
	n = read_msg(cd->fd, cd->buf, cd->ops->max_msg);
	if (n == 0)
		n = -EIO;
	if (n < 0)
		return log_error_errno((int)n, "%s: cannot read the registration answer from '%s': %m", cd->ops->name,
				       cd->path);
	r = cd->ops->register_reply(cd->userdata, cd->buf, (size_t)n);
	if (r < 0)
		return log_error_errno(r, "%s: registration with '%s' failed", cd->ops->name, cd->path);
	return 0;
}

int chardev_open(const char *path, const struct chardev_ops *ops, void *userdata, int timeout_ms,
		 struct chardev **ret)
{
	struct chardev *cd;
	int r;

	if (!path || !ops || !ops->register_msg || !ops->register_reply || !ops->message || ops->max_msg == 0)
		return -EINVAL;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return log_error_errno(-ENOMEM, "out of memory");
	cd->fd = -1;
	cd->ops = ops;
	cd->userdata = userdata;
	cd->timeout_ms = timeout_ms;
	cd->path = strdup(path);
	cd->buf = calloc(1, ops->max_msg);
	if (!cd->path || !cd->buf) {
		chardev_free(cd);
		return log_error_errno(-ENOMEM, "out of memory");
	}
	r = open_device(cd);
	if (r < 0) {
		log_error_errno(r, "%s: cannot open '%s': %m", ops->name, path);
		chardev_free(cd);
		return r;
	}
	r = register_device(cd);
	if (r < 0) {
		chardev_free(cd);
		return r;
	}
	log_info("%s: registered with the kernel on '%s'", ops->name, path);
	*ret = cd;
	return 0;
}

/*
 * After a read or write error (the kernel does this around hibernation, and
 * any close resets its state): close, let the service settle (hv-vssd thaws),
 * open and register again.
 */
static int reopen(struct chardev *cd, const char *why)
{
	int r;

	log_warning("%s: %s on '%s': reopening it and registering again", cd->ops->name, why, cd->path);
	if (cd->fd >= 0)
		close(cd->fd);
	cd->fd = -1;
	if (cd->ops->reset) {
		r = cd->ops->reset(cd->userdata, why);
		if (r < 0)
			return log_error_errno(r, "%s: cannot go on after the %s: %m", cd->ops->name, why);
	}
	r = open_device(cd);
	if (r < 0)
		return log_error_errno(r, "%s: cannot reopen '%s': %m", cd->ops->name, cd->path);
	r = register_device(cd);
	if (r < 0)
		return r;
	cd->n_reopens++;
	log_info("%s: reopened '%s' and registered again (%s)", cd->ops->name, cd->path, why);
	return 1;
}

int chardev_process(struct chardev *cd)
{
	char why[128];
	ssize_t n;
	size_t len;
	int r;

	if (cd->fd < 0)
		return reopen(cd, "no open device");
	n = read_msg(cd->fd, cd->buf, cd->ops->max_msg);
	if (n == -EAGAIN)
		return 0; /* woken with nothing queued */
	if (n <= 0) {
		snprintf(why, sizeof(why), "read error (%s)",
			 n == 0 ? "end of file" : n == -EINVAL ? "a message longer than expected, or EINVAL"
							      : strerror((int)-n));
		return reopen(cd, why);
	}
	len = cd->ops->message(cd->userdata, cd->buf, (size_t)n);
	if (len == 0 || len > cd->ops->max_msg)
		return reopen(cd, "no answer to a message");
	r = write_msg(cd->fd, cd->buf, len);
	if (r < 0) {
		snprintf(why, sizeof(why), "write error (%s)", r == -EIO ? "EIO or a short write" : strerror(-r));
		return reopen(cd, why);
	}
	return 0;
}

struct chardev *chardev_free(struct chardev *cd)
{
	if (!cd)
		return NULL;
	if (cd->fd >= 0)
		close(cd->fd);
	free(cd->path);
	free(cd->buf);
	free(cd);
	return NULL;
}
