/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-fcopyd's protocol logic, free of I/O: decode a File Copy message into a
 * request with UTF-8 names and checked sizes, validate the target, and run the
 * transfer state machine. What happens to the bytes is up to a sink (the file
 * sink in fcopy-sink.c, an in-memory one in the unit tests and the fuzzer).
 *
 * The request is transport-neutral: a decoder for the kernel's hv_fcopy
 * character device (names already UTF-8) fills the same struct and reaches
 * the same fcopy_handle().
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chardev.h"
#include "fcopy-wire.h"

/* 259 UTF-16 units at most (the field holds the NUL), 3 UTF-8 bytes per unit at most. */
#define FCOPY_NAME_UTF8_MAX (3 * (FCOPY_W_MAX_PATH - 1) + 1)

struct fcopy_request {
	uint32_t op; /* enum fcopy_operation, or anything the host sent */
	/* START */
	char name[FCOPY_NAME_UTF8_MAX];
	char path[FCOPY_NAME_UTF8_MAX];
	uint32_t flags;
	uint64_t file_size; /* the host's hint */
	/* WRITE: size <= FCOPY_DATA_FRAGMENT, offset + size <= INT64_MAX, data within the message */
	uint64_t offset;
	uint32_t size;
	const uint8_t *data;
};

/*
 * Decode the body of an fcopy IC message (after the 28-byte headers) as it
 * comes off the ring. Returns 0, or the status to answer (VMBUS_HV_E_FAIL)
 * with *ret_why saying what was wrong. An unknown operation decodes (op set)
 * and is refused by fcopy_handle().
 */
uint32_t fcopy_decode(const uint8_t *body, size_t len, struct fcopy_request *req, const char **ret_why);

/*
 * The same for one message from the kernel's /dev/vmbus/hv_fcopy: START must
 * be exactly FCOPY_START_LEN bytes (names UTF-8, NUL-terminated inside their
 * fields), WRITE exactly FCOPY_WRITE_LEN, any other operation 4 to
 * FCOPY_KMSG_MAX bytes.
 */
uint32_t fcopy_decode_kernel(const uint8_t *msg, size_t len, struct fcopy_request *req, const char **ret_why);

/*
 * Build the target directory from the host's path: it must be absolute;
 * empty and "." components are dropped, ".." is refused. The name must be
 * non-empty, not "." or "..", without '/', at most NAME_MAX bytes, and
 * dir + "/" + name must fit in PATH_MAX. Writes the normalised directory
 * ("/" or "/a/b") to dir. Returns 0 or -EINVAL/-ENAMETOOLONG with *ret_why.
 */
int fcopy_target(const char *path, const char *name, char *dir, size_t dir_size, const char **ret_why);

/* What the state machine asks of the place bytes go. Each returns a VMBUS_HV_* status. */
struct fcopy_sink_ops {
	/* dir is normalised (fcopy_target); flags are the host's copy_flags. */
	uint32_t (*start)(void *sink, const char *dir, const char *name, uint32_t flags, uint64_t size_hint);
	uint32_t (*write)(void *sink, uint64_t offset, const void *data, uint32_t size);
	/* Make the file visible under its name; the transfer is over whatever it returns. */
	uint32_t (*complete)(void *sink);
	/* Drop the transfer: nothing under the target name changes, nothing is left behind. */
	void (*abort)(void *sink, const char *why);
};

struct fcopy {
	const struct fcopy_sink_ops *ops;
	void *sink;
	bool open; /* a transfer is open: START succeeded, no COMPLETE/CANCEL yet */
	/* Counters, for status and tests. */
	unsigned long n_started, n_completed, n_aborted, n_refused;
};

/* Handle one decoded request; returns the status to answer. */
uint32_t fcopy_handle(struct fcopy *f, const struct fcopy_request *req);

/*
 * Decode (fcopy_decode) and handle one message body from the ring. A WRITE
 * that cannot be decoded while a transfer is open aborts it: its data is lost.
 */
uint32_t fcopy_message(struct fcopy *f, const uint8_t *body, size_t len);

/*
 * Decode (fcopy_decode_kernel) and handle one message from the kernel's
 * character device; the answer is the returned status as a 4-byte int.
 */
uint32_t fcopy_kernel_message(struct fcopy *f, const uint8_t *msg, size_t len);

/* The registration (the int FCOPY_KVERSION) into msg (4 bytes); returns its length. */
size_t fcopy_kernel_register(uint8_t *msg);

/* Check the kernel's answer to it (a 4-byte version). Returns 0 or -EPROTO (logged). */
int fcopy_kernel_register_reply(const uint8_t *msg, size_t len, uint32_t *ret_version);

/* Abort an open transfer (SIGTERM, device loss, exit). No-op when none is open. */
void fcopy_abort(struct fcopy *f, const char *why);

const char *fcopy_op_name(uint32_t op);

/*
 * hv-fcopyd over /dev/vmbus/hv_fcopy (chardev.h); userdata is the struct
 * fcopy. Its reset aborts an open transfer (the kernel answered it HV_E_FAIL).
 */
extern const struct chardev_ops fcopy_chardev_ops;
