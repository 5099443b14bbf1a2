/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-kvpd's protocol logic, free of I/O of its own: decode a KVP message body,
 * check every length, pool, index, type and string, do the kernel's part
 * (UTF-16 <-> UTF-8, REG_U32/U64 as decimal text, the statuses), act on the
 * pools, and write the reply into the body in place. The environment (AUTO
 * pool values, IP configuration) comes through ops, so unit tests and the
 * fuzzer drive this with fakes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "chardev.h"
#include "kvp-ip.h"
#include "kvp-pool.h"
#include "kvp-wire.h"

struct kvp_env_ops {
	/* kvp_auto_value() */
	int (*auto_value)(void *env, unsigned index, char *buf, size_t size);
	/* kvp_ip_get() / kvp_ip_set() */
	uint32_t (*ip_get)(void *env, const struct kvp_ip_info *in, struct kvp_ip_info *out);
	uint32_t (*ip_set)(void *env, const struct kvp_ip_info *in);
};

struct kvp {
	struct kvp_pools *pools;
	const struct kvp_env_ops *ops;
	void *env;
	/* Counters, for status and tests. */
	unsigned long n_requests, n_failed, n_converted_lossy;
};

/*
 * Handle one KVP message body (after the 28-byte IC headers), len bytes as
 * received; the reply is written into body (never past len). Returns the
 * status to answer (VMBUS_HV_S_OK, VMBUS_HV_S_CONT for "no such key" or
 * "index past the end", VMBUS_HV_E_FAIL, VMBUS_HV_INVALIDARG,
 * VMBUS_HV_GUID_NOTFOUND).
 */
uint32_t kvp_message(struct kvp *k, uint8_t *body, size_t len);

/*
 * The same for the kernel's /dev/vmbus/hv_kvp (hv_utils): msg is one struct
 * hv_kvp_msg as read (len bytes) in a buffer of at least KVP_MSG_MAX_LEN
 * bytes; UTF-8 strings, the IP block at 4. The reply, always KVP_MSG_MAX_LEN
 * bytes, is written into msg with the status in `error` (bytes 0-3); a
 * message of any other length is refused (HV_E_FAIL). Returns the status.
 */
uint32_t kvp_kernel_message(struct kvp *k, uint8_t *msg, size_t len);

/* The registration (REGISTER1) into msg (KVP_MSG_MAX_LEN bytes); returns its length. */
size_t kvp_kernel_register(uint8_t *msg);

/*
 * Check the kernel's answer to the registration (KVP_MSG_MAX_LEN bytes,
 * operation REGISTER1) and copy its version string. Returns 0 or -EPROTO
 * (logged).
 */
int kvp_kernel_register_reply(const uint8_t *msg, size_t len, char *version, size_t version_size);

/* Read buffer for the kernel's messages: more than the 7432 it sends, so a longer one is answered. */
#define KVP_KMSG_BUF 8192

/* hv-kvpd over /dev/vmbus/hv_kvp (chardev.h); userdata is the struct kvp. */
extern const struct chardev_ops kvp_chardev_ops;
