/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The File Copy (fcopy) IC message layout, as Hyper-V sends it on the ring
 * (include/uapi/linux/hyperv.h: hv_fcopy_hdr, hv_start_fcopy, hv_do_fcopy).
 * Offsets are from the start of the IC message body, i.e. after the 28-byte
 * pipe + IC headers. Fields are little-endian; decode with memcpy, never by
 * casting, since nothing guarantees the alignment of a received body.
 *
 * Shared by hv-fcopyd (decoder) and hv-hostsim (encoder).
 */
#pragma once

#include <stdint.h>

/* hv_fcopy_hdr: u32 operation; u8 service_id0[16]; u8 service_id1[16] (unused). */
#define FCOPY_OFF_OPERATION 0
#define FCOPY_HDR_LEN 36

/* Operations (enum hv_fcopy_op). */
enum fcopy_operation {
	FCOPY_OP_START = 0,    /* START_FILE_COPY */
	FCOPY_OP_WRITE = 1,    /* WRITE_TO_FILE */
	FCOPY_OP_COMPLETE = 2, /* COMPLETE_FCOPY */
	FCOPY_OP_CANCEL = 3,   /* CANCEL_FCOPY */
};

/* hv_start_fcopy: names are UTF-16LE, W_MAX_PATH units including the NUL. */
#define FCOPY_W_MAX_PATH 260
#define FCOPY_OFF_FILE_NAME 36   /* u16[260] */
#define FCOPY_OFF_PATH_NAME 556  /* u16[260] */
#define FCOPY_OFF_COPY_FLAGS 1076 /* u32 */
#define FCOPY_OFF_FILE_SIZE 1080 /* u64 */
#define FCOPY_START_LEN 1088

/* copy_flags */
#define FCOPY_FLAG_OVER_WRITE 0x1u
#define FCOPY_FLAG_CREATE_PATH 0x2u

/* hv_do_fcopy: u32 pad; u64 offset; u32 size; u8 data[6144]. */
#define FCOPY_OFF_OFFSET 40 /* u64 */
#define FCOPY_OFF_SIZE 48   /* u32 */
#define FCOPY_OFF_DATA 52
#define FCOPY_DATA_FRAGMENT 6144
#define FCOPY_WRITE_LEN (FCOPY_OFF_DATA + FCOPY_DATA_FRAGMENT) /* 6196 */

/* Versions the guest accepts (reference §3.1: fcopy framework 3.0, service 1.1). */
#define FCOPY_FRAMEWORK_VERSION VMBUS_IC_VERSION(3, 0)
#define FCOPY_SERVICE_VERSION VMBUS_IC_VERSION(1, 1)

/*
 * The kernel's /dev/vmbus/hv_fcopy (hv_utils, kernels before 6.10), host-endian:
 * START as struct hv_start_fcopy (FCOPY_START_LEN bytes, the names UTF-8, at
 * most W_MAX_PATH - 1 bytes each, in the u16[260] fields); WRITE as struct
 * hv_do_fcopy (FCOPY_WRITE_LEN bytes, as on the ring); every other operation
 * as the ring message from hv_fcopy_hdr on, of the ring packet's length
 * (variable). The answer is a 4-byte int status. Registration: the daemon
 * writes the int FCOPY_KVERSION, the kernel answers a 4-byte u32 version.
 */
#define FCOPY_KVERSION 1          /* FCOPY_CURRENT_VERSION */
#define FCOPY_KNAME_FIELD 520     /* u16 file_name[260], holding UTF-8 bytes */
#define FCOPY_KMSG_MAX 8192       /* the kernel's receive buffer: the longest "other" message */
#define FCOPY_KREPLY_LEN 4
