/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-vssd's protocol logic, free of I/O: decode a VSS message body, answer
 * every operation as the kernel's hv_utils does (no driver sits between the
 * ring and this daemon), and ask the freezer to freeze or thaw. The reply is
 * written into the body in place; the IC layer echoes the whole message, of
 * whatever length the host sent, with the status set.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vss-wire.h"

struct vss_ops {
	/* Freeze the selection (idempotent: frozen already → success). Returns a VMBUS_HV_* status. */
	uint32_t (*freeze)(void *userdata);
	/* Thaw what is frozen (idempotent). Returns a VMBUS_HV_* status. */
	uint32_t (*thaw)(void *userdata);
};

struct vss {
	const struct vss_ops *ops;
	void *userdata;
	/* Counters, for status and tests. */
	unsigned long n_requests, n_freeze, n_thaw, n_refused;
};

/*
 * Handle one VSS message body (after the 28-byte IC headers), len bytes as
 * received. Returns the status to answer: VMBUS_HV_S_OK, VMBUS_HV_E_FAIL
 * (a failed freeze or thaw, a message too short for its operation), or
 * VMBUS_HV_ERROR_NOT_SUPPORTED (an operation the protocol does not define).
 *
 *   CREATE, DELETE, BU_COMPLETE, AUTO_RECOVER: success, as the kernel answers.
 *   GET_DM_INFO: success with dm_info.flags = 0.
 *   HOT_BACKUP: success with vss_cf.flags = VSS_HBU_NO_AUTO_RECOVERY.
 *   FREEZE, THAW: ops->freeze / ops->thaw.
 */
uint32_t vss_message(struct vss *v, uint8_t *body, size_t len);
