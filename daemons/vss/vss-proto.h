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

#include "chardev.h"
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

/*
 * The same for the kernel's /dev/vmbus/hv_vss: msg is one hv_vss_msg as read
 * (len bytes) in a buffer of at least VSS_MSG_LEN bytes. The answer, always
 * VSS_MSG_LEN bytes, is written into msg with the status in `error`; a message
 * of any other length is refused (HV_E_FAIL). Returns the status.
 */
uint32_t vss_kernel_message(struct vss *v, uint8_t *msg, size_t len);

/* The registration (REGISTER1) into msg (VSS_MSG_LEN bytes); returns its length. */
size_t vss_kernel_register(uint8_t *msg);

/* Check the kernel's answer to it (a 4-byte version). Returns 0 or -EPROTO (logged). */
int vss_kernel_register_reply(const uint8_t *msg, size_t len, uint32_t *ret_version);

/* Read buffer for the kernel's messages: more than its 12 bytes, so a longer one is answered. */
#define VSS_KMSG_BUF 64

/*
 * hv-vssd over /dev/vmbus/hv_vss (chardev.h); userdata is the struct vss.
 * Without reset: hv-vssd adds its own (thaw before the device is reopened).
 */
extern const struct chardev_ops vss_chardev_ops;
