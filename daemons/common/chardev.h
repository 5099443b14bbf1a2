/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel's hv_utils character devices (/dev/vmbus/hv_kvp, hv_vss,
 * hv_fcopy): the transport on kernels where hv_utils, not uio_hv_generic,
 * owns the Integration Component channel. hv_utils negotiates with the host
 * and converts each request into its own message; the daemon registers,
 * then reads one message, answers it, and so on: one message in flight.
 *
 * This file is the I/O only. What a message means and how to answer it is
 * the service's (pure) business, through struct chardev_ops.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct chardev_ops {
	const char *name; /* "kvp", for logs */
	/* Read buffer: the longest message the kernel can send (a longer one is a read error). */
	size_t max_msg;
	/* The registration message into buf (max_msg bytes). Returns its length. */
	size_t (*register_msg)(void *userdata, uint8_t *buf);
	/* The kernel's answer to it. Returns 0, or a negative errno (logged by the callee). */
	int (*register_reply)(void *userdata, const uint8_t *msg, size_t len);
	/*
	 * Handle one message of len bytes in buf (max_msg bytes), writing the
	 * answer into buf. Returns the answer's length (> 0, <= max_msg).
	 */
	size_t (*message)(void *userdata, uint8_t *buf, size_t len);
	/*
	 * Optional: the device is about to be reopened after an error (hv-vssd
	 * thaws here). Returns 0, or a negative errno to give up instead.
	 */
	int (*reset)(void *userdata, const char *why);
	/* Optional (tests): open the device; returns an fd or a negative errno. Default: open(2). */
	int (*open)(void *userdata, const char *path);
};

struct chardev;

/* How long the kernel may take to answer the registration. */
#define CHARDEV_REGISTER_TIMEOUT_MS 10000

/*
 * Open path and register (write the registration, wait up to timeout_ms for
 * the answer). Returns 0, or a negative errno (logged): the errno of open,
 * -ETIMEDOUT, -EPROTO (a wrong answer), ...
 */
int chardev_open(const char *path, const struct chardev_ops *ops, void *userdata, int timeout_ms,
		 struct chardev **ret);

/* The fd to wait on (readable: a message is queued). Changes when the device is reopened. */
int chardev_get_fd(const struct chardev *cd);
const char *chardev_get_path(const struct chardev *cd);
unsigned long chardev_get_reopens(const struct chardev *cd);

/*
 * Read one message, have it handled, write the answer. A read or write error
 * (a 0-byte read, a short write, EIO, EINVAL after hibernation, ...) closes
 * the device, calls ops->reset, reopens and registers again. Returns 0
 * (handled, or nothing was queued), 1 (the device was reopened: wait on the
 * new fd), or a negative errno (logged) when reset, reopening or the new
 * registration failed: the daemon should exit.
 */
int chardev_process(struct chardev *cd);

/* Close and free; NULL is fine. Returns NULL. */
struct chardev *chardev_free(struct chardev *cd);
