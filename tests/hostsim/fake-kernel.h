/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-hostsim --transport chardev: the fake kernel. hv-hostsim plays both the
 * host and the kernel's hv_utils side (drivers/hv/hv_kvp.c, hv_snapshot.c,
 * hv_fcopy.c over hv_utils_transport.c): the guest daemon is started with
 * fake-chardev.so preloaded and "--channel chardev:DIR/hv_kvp" (hv_vss,
 * hv_fcopy), where DIR/hv_kvp is a regular file beside a SOCK_SEQPACKET
 * listener DIR/hv_kvp.sock. The fake kernel answers NEGOTIATE itself with the
 * kernel's version lists, takes the host's IC messages one at a time, turns
 * each into the kernel's message for the daemon (UTF-16 to UTF-8, numbers as
 * text), waits for the daemon's reply (the kernel's timeouts) and turns it back
 * into the IC answer. The engine (engine.c) calls it where the uio transport
 * uses the rings, so every command works over either transport.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* The fake kernel's half of the engine (see engine.h for the contracts). */
int kernel_start(struct hostsim *h, const char *service, char **argv);
int kernel_send(struct hostsim *h, const void *msg, size_t len, uint64_t *ret_trans_id);
int kernel_receive(struct hostsim *h, const uint8_t **ret_msg, size_t *ret_len,
		   uint64_t *ret_trans_id);
/* Wait up to timeout_ms for the guest to exit, serving the device meanwhile: 1 if it did. */
int kernel_wait_exit(struct hostsim *h, int timeout_ms);
/* Before the guest is stopped: wait (bounded) until it registered at least once. */
void kernel_settle(struct hostsim *h);
void kernel_stop(struct hostsim *h);

/* For the chardev-* hostile scenarios. */

/* Answer the next registration with len bytes (0: the kernel's own size). */
void kernel_set_register_reply_len(struct hostsim *h, size_t len);
/* The registration reply the kernel sends for this service, in bytes (0 for none). */
size_t kernel_register_reply_len(struct hostsim *h);
/* Called when a daemon registers, before the kernel answers; its result is kept. */
void kernel_set_on_register(struct hostsim *h, int (*fn)(void *data), void *data);
/* Registrations accepted so far. */
unsigned kernel_registrations(struct hostsim *h);
/* Wait until n registrations were accepted. Returns 0, -ETIMEDOUT, -ECHILD, -EINTR. */
int kernel_wait_registered(struct hostsim *h, unsigned n);
/*
 * Hand the daemon msg (len bytes) as the kernel would a request, outside any
 * host transaction, and wait for its reply (copied to reply, at most
 * reply_size bytes; *ret_len gets the length it wrote). Returns 0, -ETIMEDOUT,
 * -ECHILD, -EINTR, -ECONNRESET (the daemon closed the device).
 */
int kernel_inject(struct hostsim *h, const void *msg, size_t len, void *reply, size_t reply_size,
		  size_t *ret_len);
/* Reset the transport as around hibernation: the daemon's next read fails (EIO). */
void kernel_reset(struct hostsim *h);
/* Writes the kernel refused (EINVAL) so far: wrong size, nothing outstanding, bad registration. */
unsigned kernel_refused_writes(struct hostsim *h);
