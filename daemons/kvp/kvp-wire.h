/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Key-Value Pair (KVP) IC message layout as Hyper-V sends it on the ring
 * (include/uapi/linux/hyperv.h: hv_kvp_msg, hv_kvp_ip_msg; reference
 * kvp-vss.md §1). Offsets are from the start of the IC message body, after the
 * 28-byte pipe + IC headers. Fields are little-endian; strings are UTF-16LE
 * with sizes in bytes counting the NUL. Decode with memcpy, never by casting.
 *
 * The host may send fewer bytes than the full structure (the kernel does not
 * check the length against sizeof(struct hv_kvp_msg), since the body is a
 * union); every field read or written must lie within what arrived.
 *
 * Shared by hv-kvpd (decoder), hv-hostsim (encoder) and the fuzzers.
 */
#pragma once

#include <stdint.h>

/* hv_kvp_hdr: u8 operation; u8 pool; u16 pad. */
#define KVP_OFF_OPERATION 0
#define KVP_OFF_POOL 1
#define KVP_HDR_LEN 4

enum kvp_operation {
	KVP_OP_GET = 0,
	KVP_OP_SET = 1,
	KVP_OP_DELETE = 2,
	KVP_OP_ENUMERATE = 3,
	KVP_OP_GET_IP_INFO = 4,
	KVP_OP_SET_IP_INFO = 5,
	KVP_OP_COUNT = 6,
};

/* "GET", ..., or NULL for an operation the protocol does not define. */
static inline const char *kvp_op_name(unsigned op)
{
	static const char *const names[KVP_OP_COUNT] = {
		[KVP_OP_GET] = "GET",
		[KVP_OP_SET] = "SET",
		[KVP_OP_DELETE] = "DELETE",
		[KVP_OP_ENUMERATE] = "ENUMERATE",
		[KVP_OP_GET_IP_INFO] = "GET_IP_INFO",
		[KVP_OP_SET_IP_INFO] = "SET_IP_INFO",
	};

	return op < KVP_OP_COUNT ? names[op] : NULL;
}

enum kvp_pool_id {
	KVP_POOL_EXTERNAL = 0,
	KVP_POOL_GUEST = 1,
	KVP_POOL_AUTO = 2,
	KVP_POOL_AUTO_EXTERNAL = 3,
	KVP_POOL_AUTO_INTERNAL = 4,
	KVP_POOL_COUNT = 5,
};

/* Value types (Windows registry types). */
#define KVP_REG_SZ 1
#define KVP_REG_U32 4
#define KVP_REG_U64 8

/* Field sizes in bytes, counting the NUL: 256 / 1024 UTF-16 units on the wire. */
#define KVP_WIRE_KEY_SIZE 512
#define KVP_WIRE_VALUE_SIZE 2048

/*
 * hv_kvp_exchg_msg_value: u32 value_type; u32 key_size; u32 value_size;
 * u16 key[256]; union { u16 value[1024]; u32 value_u32; u64 value_u64; }.
 * Relative offsets within it:
 */
#define KVP_VAL_OFF_TYPE 0
#define KVP_VAL_OFF_KEY_SIZE 4
#define KVP_VAL_OFF_VALUE_SIZE 8
#define KVP_VAL_OFF_KEY 12
#define KVP_VAL_OFF_VALUE 524
#define KVP_VAL_LEN 2572

/* GET and SET: the exchange value right after the header. */
#define KVP_GETSET_OFF_DATA KVP_HDR_LEN /* 4: key @16, value @528 */
#define KVP_GETSET_LEN (KVP_HDR_LEN + KVP_VAL_LEN) /* 2576 */

/* ENUMERATE: u32 index; then the exchange value. */
#define KVP_ENUM_OFF_INDEX 4
#define KVP_ENUM_OFF_DATA 8 /* key @20, value @532 */
#define KVP_ENUM_LEN (KVP_ENUM_OFF_DATA + KVP_VAL_LEN) /* 2580 */

/* DELETE: u32 key_size; u16 key[256]. */
#define KVP_DEL_OFF_KEY_SIZE 4
#define KVP_DEL_OFF_KEY 8
#define KVP_DEL_LEN (KVP_DEL_OFF_KEY + KVP_WIRE_KEY_SIZE) /* 520 */

/*
 * GET_IP_INFO / SET_IP_INFO: hv_kvp_ip_msg, u8 operation; u8 pool; then
 * hv_kvp_ipaddr_value with no padding (so adapter_id is at 2, not 4).
 * Sizes in bytes; the fields are UTF-16LE, ';'-separated lists.
 */
#define KVP_IP_OFF_ADAPTER_ID 2
#define KVP_IP_ADAPTER_ID_SIZE 256 /* 128 units */
#define KVP_IP_OFF_ADDR_FAMILY 258
#define KVP_IP_OFF_DHCP_ENABLED 259
#define KVP_IP_OFF_IP_ADDR 260
#define KVP_IP_ADDR_SIZE 2048 /* 1024 units */
#define KVP_IP_OFF_SUB_NET 2308
#define KVP_IP_SUB_NET_SIZE 2048
#define KVP_IP_OFF_GATE_WAY 4356
#define KVP_IP_GATE_WAY_SIZE 1024 /* 512 units */
#define KVP_IP_OFF_DNS_ADDR 5380
#define KVP_IP_DNS_ADDR_SIZE 2048
#define KVP_IP_LEN 7428

/* addr_family bits */
#define KVP_ADDR_FAMILY_NONE 0
#define KVP_ADDR_FAMILY_IPV4 1
#define KVP_ADDR_FAMILY_IPV6 2

/* The largest message the kernel's daemon exchanges (struct hv_kvp_msg). */
#define KVP_MSG_MAX_LEN 7432

/* Pool files (the kernel daemon's format): headerless records, UTF-8, NUL-terminated. */
#define KVP_POOL_KEY_SIZE 512
#define KVP_POOL_VALUE_SIZE 2048
#define KVP_POOL_RECORD_SIZE (KVP_POOL_KEY_SIZE + KVP_POOL_VALUE_SIZE) /* 2560 */

/* Versions, preference order (reference §3): framework 3.0, 1.0; service 4.0, 3.0, 1.0. */
#define KVP_FRAMEWORK_VERSIONS VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0)
#define KVP_SERVICE_VERSIONS VMBUS_IC_VERSION(4, 0), VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0)

/*
 * The kernel's /dev/vmbus/hv_kvp (hv_utils, before uio_hv_generic can carry
 * KVP): one struct hv_kvp_msg (KVP_MSG_MAX_LEN bytes) each way, host-endian,
 * strings UTF-8 (NUL-terminated, sizes counting the NUL). Same offsets as the
 * ring for GET/SET/DELETE/ENUMERATE; the IP block sits after the 4-byte
 * kvp_hdr, 2 bytes further than on the ring. The answer's status is the u32
 * `error` over kvp_hdr. Checked against <linux/hyperv.h> by test-chardev.
 */
#define KVP_OP_REGISTER1 100
#define KVP_KMSG_OFF_ERROR 0
#define KVP_KMSG_OFF_VERSION 4 /* body.kvp_register.version[512] */
#define KVP_KMSG_IP_BASE 2     /* added to KVP_IP_OFF_*: adapter_id @4, ip_addr @262 */
