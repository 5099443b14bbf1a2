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
