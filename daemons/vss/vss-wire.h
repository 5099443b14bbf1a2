/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Volume Shadow Copy (VSS, "Backup") IC message layout as Hyper-V sends
 * it on the ring (include/uapi/linux/hyperv.h: hv_vss_msg; reference
 * kvp-vss.md §7). Offsets are from the start of the IC message body, after
 * the 28-byte pipe + IC headers. Host messages carry more than the 12 bytes
 * of hv_vss_msg (FREEZE about 6 KiB of LUN data, AUTO_RECOVER up to about
 * 12 KiB); the reply echoes the whole message with the status set.
 *
 * Shared by hv-vssd (decoder), hv-hostsim (encoder) and the fuzzer.
 */
#pragma once

#include <stdint.h>

/* hv_vss_hdr: u8 operation; u8 reserved[7]. Then union { vss_cf; dm_info }: u32 flags. */
#define VSS_OFF_OPERATION 0
#define VSS_OFF_FLAGS 8
#define VSS_MSG_LEN 12 /* sizeof(struct hv_vss_msg) */

enum vss_operation {
	VSS_OP_CREATE = 0,
	VSS_OP_DELETE = 1,
	VSS_OP_HOT_BACKUP = 2,
	VSS_OP_GET_DM_INFO = 3,
	VSS_OP_BU_COMPLETE = 4,
	VSS_OP_FREEZE = 5,
	VSS_OP_THAW = 6,
	VSS_OP_AUTO_RECOVER = 7,
	VSS_OP_COUNT = 8,
};

/* vss_cf.flags in the HOT_BACKUP answer: the guest does not support auto-recovery. */
#define VSS_HBU_NO_AUTO_RECOVERY 0x00000005u

/* Sizes a host sends (reference §7.1): FREEZE with LUN data, AUTO_RECOVER. */
#define VSS_FREEZE_HOST_LEN 6260
#define VSS_AUTO_RECOVER_HOST_LEN 12500

/* Versions (reference §7.1): framework 3.0; VSS service 5.0 only. */
#define VSS_FRAMEWORK_VERSION VMBUS_IC_VERSION(3, 0)
#define VSS_SERVICE_VERSION VMBUS_IC_VERSION(5, 0)

/* "CREATE", ..., or NULL for an operation the protocol does not define. */
static inline const char *vss_op_name(unsigned op)
{
	static const char *const names[VSS_OP_COUNT] = {
		[VSS_OP_CREATE] = "CREATE",
		[VSS_OP_DELETE] = "DELETE",
		[VSS_OP_HOT_BACKUP] = "HOT_BACKUP",
		[VSS_OP_GET_DM_INFO] = "GET_DM_INFO",
		[VSS_OP_BU_COMPLETE] = "BU_COMPLETE",
		[VSS_OP_FREEZE] = "FREEZE",
		[VSS_OP_THAW] = "THAW",
		[VSS_OP_AUTO_RECOVER] = "AUTO_RECOVER",
	};

	return op < VSS_OP_COUNT ? names[op] : NULL;
}

/*
 * The kernel's /dev/vmbus/hv_vss (hv_utils): struct hv_vss_msg, 12 bytes each
 * way, host-endian; only FREEZE, THAW and HOT_BACKUP reach the daemon. The
 * daemon registers with REGISTER1 and the kernel answers a 4-byte u32 (129).
 * The answer's status is the u32 `error` at 0 (over vss_hdr).
 */
#define VSS_OP_REGISTER1 129
#define VSS_KMSG_OFF_ERROR 0
#define VSS_KREGISTER_REPLY_LEN 4
