/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvmbus: Hyper-V VMBus channels from Linux userspace.
 *
 * Error convention: every function that can fail returns an int, >= 0 on
 * success and a negative errno on failure. Output parameters (ret_*) are
 * written only on success. Functions never abort on peer data: a peer that
 * breaks the ring protocol gets -EPROTO, and the channel is then "broken":
 * every later ring operation returns -EPROTO too.
 *
 * The library is silent: it logs nothing unless a debug callback is set with
 * vmbus_set_log_fn() or LIBVMBUS_LOG=debug is in the environment (then to stderr).
 *
 * Thread safety: a channel is not locked; use it from one thread at a time.
 * Distinct channels are independent.
 */
#ifndef VMBUS_VMBUS_H
#define VMBUS_VMBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Wire constants                                                            */
/* ------------------------------------------------------------------------ */

/* VMBus packet types (vmpacket_descriptor.type). ICs use VMBUS_PKT_DATA_INBAND. */
#define VMBUS_PKT_DATA_INBAND 6
#define VMBUS_PKT_COMP 11
/* vmpacket_descriptor.flags */
#define VMBUS_PKT_FLAG_COMPLETION_REQUESTED 1

/* IC message types (icmsg_hdr.icmsgtype). */
#define VMBUS_IC_MSGTYPE_NEGOTIATE 0
#define VMBUS_IC_MSGTYPE_HEARTBEAT 1
#define VMBUS_IC_MSGTYPE_KVPEXCHANGE 2
#define VMBUS_IC_MSGTYPE_SHUTDOWN 3
#define VMBUS_IC_MSGTYPE_TIMESYNC 4
#define VMBUS_IC_MSGTYPE_VSS 5
#define VMBUS_IC_MSGTYPE_FCOPY 7

/* IC header flags (icmsg_hdr.icflags). */
#define VMBUS_IC_FLAG_TRANSACTION 0x1
#define VMBUS_IC_FLAG_REQUEST 0x2
#define VMBUS_IC_FLAG_RESPONSE 0x4

/* IC status codes (HRESULTs) carried in icmsg_hdr.status. */
#define VMBUS_HV_S_OK 0x00000000u
#define VMBUS_HV_E_FAIL 0x80004005u
#define VMBUS_HV_S_CONT 0x80070103u
#define VMBUS_HV_ERROR_NOT_SUPPORTED 0x80070032u
#define VMBUS_HV_ERROR_MACHINE_LOCKED 0x800704F7u
#define VMBUS_HV_ERROR_DEVICE_NOT_CONNECTED 0x8007048Fu
#define VMBUS_HV_INVALIDARG 0x80070057u
#define VMBUS_HV_GUID_NOTFOUND 0x80041002u
#define VMBUS_HV_ERROR_ALREADY_EXISTS 0x80070050u
#define VMBUS_HV_ERROR_DISK_FULL 0x80070070u

/* Length of vmbuspipe_hdr (8) + icmsg_hdr (20): where an IC message body starts. */
#define VMBUS_IC_HDR_LEN 28
/* Most versions either side may list in a negotiate message. */
#define VMBUS_IC_MAX_VERSIONS 100

/*
 * An IC version as a number, the kernel's notation: major in the high 16 bits.
 * (On the wire each version is two little-endian u16, major first.)
 */
#define VMBUS_IC_VERSION(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | ((minor) & 0xffffu)))
#define VMBUS_IC_VERSION_MAJOR(v) ((uint16_t)((v) >> 16))
#define VMBUS_IC_VERSION_MINOR(v) ((uint16_t)((v) & 0xffffu))

/* Class GUIDs of the services hv-daemons serves. */
#define VMBUS_CLASS_FCOPY "34d14be3-dee4-41c8-9ae7-6b174977c192"
#define VMBUS_CLASS_KVP "a9a0f4e7-5a45-4d96-b827-8a841e8c03e6"
#define VMBUS_CLASS_VSS "35fa2e29-ea23-4236-96ae-3a6ebacba440"
#define VMBUS_CLASS_HEARTBEAT "57164f39-9115-4e78-ab55-382f3bd5422d"

/* ------------------------------------------------------------------------ */
/* Channels                                                                  */
/* ------------------------------------------------------------------------ */

struct vmbus_channel;

/* The side of a channel: the guest produces into ring 0 and consumes ring 1. */
#define VMBUS_SIDE_GUEST 0
#define VMBUS_SIDE_HOST 1

/* Smallest per-direction ring size (one 4 KiB header page + one data page). */
#define VMBUS_RING_SIZE_MIN 8192u
/* Largest per-direction ring size the library accepts (2 MiB, the kernel's largest). */
#define VMBUS_RING_SIZE_MAX (2u * 1024u * 1024u)

/**
 * vmbus_channel_open_uio - open a channel on a uio_hv_generic device node
 * @dev_path: e.g. "/dev/uio0" (a symlink to it is fine)
 * @sysfs_root: root of sysfs, NULL for "/sys"
 * @ret: receives the channel
 *
 * Reads <sysfs_root>/class/uio/uioN/name (must be "uio_hv_generic") and
 * maps/map0/size (both rings: half per direction), opens the node O_RDWR,
 * maps map 0 and takes ring headers one system page long. The receive ring is
 * unmasked on open (kernels before 6.18 open it masked); call
 * vmbus_channel_drain() once after opening, for anything queued before.
 *
 * Returns: 0, or -ENODEV (not a uio_hv_generic device), -EINVAL (bad map size),
 * -EPROTO (an index in the rings is already invalid), -ENOMEM, or the errno of
 * open/mmap.
 */
int vmbus_channel_open_uio(const char *dev_path, const char *sysfs_root, struct vmbus_channel **ret);

/**
 * vmbus_uio_find - find the uio device node bound to a VMBus class
 * @class_guid: class GUID, with or without braces, any case
 * @dev_root: directory of device nodes, NULL for "/dev"
 * @ret_path: receives a malloc'ed "<dev_root>/uioN"
 *
 * Enumerates uio devices with libudev and picks the one whose parent on the
 * "vmbus" bus has this class_id.
 *
 * Returns: 0, -ENOENT if there is none, -EINVAL for a malformed GUID.
 */
int vmbus_uio_find(const char *class_guid, const char *dev_root, char **ret_path);

/**
 * vmbus_channel_open_fd - open a channel on inherited file descriptors
 * @ring_fd: shared memory of 2*S bytes: [0,S) guest->host ring, [S,2S) host->guest
 * @irq_fd: eventfd this side waits on (the peer writes an 8-byte 1 to interrupt)
 * @signal_fd: eventfd this side writes (8-byte 1) to signal the peer
 * @side: VMBUS_SIDE_GUEST or VMBUS_SIDE_HOST
 * @ret: receives the channel
 *
 * Each ring is a 4096-byte header followed by S-4096 data bytes; S is the
 * fstat size of @ring_fd divided by two and must be a multiple of 4096 between
 * VMBUS_RING_SIZE_MIN and VMBUS_RING_SIZE_MAX. The channel takes ownership of
 * the three fds on success only. The host side is the one that initialises
 * ring headers (see vmbus_fd_ring_create()).
 *
 * Returns: 0, -EBADF, -EINVAL (sizes, side), -EPROTO (an index in the rings is
 * already invalid), -ENOMEM, or the errno of fstat/mmap.
 */
int vmbus_channel_open_fd(int ring_fd, int irq_fd, int signal_fd, int side,
			  struct vmbus_channel **ret);

/**
 * vmbus_channel_open_spec - open a channel from a textual specification
 * @spec: "fd:R,I,D" (decimal fds, guest side), "uio:PATH", or "class:GUID"
 *        (discover the uio device for that class with vmbus_uio_find())
 * @sysfs_root: root of sysfs, NULL for "/sys"
 * @dev_root: root of device nodes, NULL for "/dev"
 * @ret: receives the channel
 *
 * Returns: 0, -EINVAL for a malformed spec, or what the chosen opener returns.
 */
int vmbus_channel_open_spec(const char *spec, const char *sysfs_root, const char *dev_root,
			    struct vmbus_channel **ret);

/**
 * vmbus_fd_ring_create - create the shared memory of an fd channel (host side)
 * @ring_size: bytes per direction (S), a multiple of 4096 in
 *             [VMBUS_RING_SIZE_MIN, VMBUS_RING_SIZE_MAX]
 * @ret_fd: receives a memfd of 2*S bytes, close-on-exec, both headers
 *          initialised (indices 0, masks 0, feature_bits 1)
 *
 * Returns: 0, -EINVAL, or the errno of memfd_create/ftruncate/mmap.
 */
int vmbus_fd_ring_create(uint32_t ring_size, int *ret_fd);

/**
 * vmbus_channel_close - unmap and close a channel
 * Returns: NULL. Accepts NULL.
 */
struct vmbus_channel *vmbus_channel_close(struct vmbus_channel *ch);

/**
 * vmbus_channel_get_fd - the pollable fd that becomes readable on an interrupt
 * Returns: the fd (owned by the channel), or -EINVAL.
 */
int vmbus_channel_get_fd(struct vmbus_channel *ch);

/**
 * vmbus_channel_get_data_size - bytes of data area per direction
 * Returns: the data size (ring size minus header), or -EINVAL.
 */
int vmbus_channel_get_data_size(struct vmbus_channel *ch);

/**
 * vmbus_channel_ack - consume pending interrupts without blocking
 *
 * Returns: 1 if an interrupt was pending, 0 if none, -EIO if the device was
 * rescinded (uio read failed with EIO; the channel cannot be used any more),
 * or another negative errno.
 */
int vmbus_channel_ack(struct vmbus_channel *ch);

/**
 * vmbus_channel_wait - wait for an interrupt
 * @timeout_ms: -1 waits forever
 *
 * EINTR and spurious wake-ups are retried within the timeout.
 *
 * Returns: 1 on an interrupt, 0 on timeout, -EIO on rescind, or a negative errno.
 */
int vmbus_channel_wait(struct vmbus_channel *ch, int timeout_ms);

/**
 * vmbus_channel_signal - signal the peer unconditionally
 *
 * Normally not needed: vmbus_channel_send() and the receive functions signal
 * when the protocol requires it. On uio this is the 4-byte write of 1, which
 * also unmasks this side's interrupts.
 *
 * Returns: 0 or a negative errno (-EIO once the device was rescinded).
 */
int vmbus_channel_signal(struct vmbus_channel *ch);

/* Description of a received packet. */
struct vmbus_packet {
	uint16_t type;     /* VMBUS_PKT_* */
	uint16_t flags;    /* VMBUS_PKT_FLAG_* */
	uint32_t len;      /* payload bytes after the descriptor header, including the
			    * sender's padding to 8 bytes (a 52-byte message arrives as 56) */
	uint64_t trans_id; /* echo it in the response */
};

/**
 * vmbus_channel_send - write one packet and signal the peer if needed
 * @type: VMBUS_PKT_DATA_INBAND for IC messages
 * @flags: descriptor flags
 * @trans_id: transaction id; a response echoes the request's
 * @data, @len: payload; padded to 8 bytes on the ring
 *
 * The peer is signalled only when the ring went from empty to non-empty and
 * the peer has not masked interrupts. If the packet does not fit now, the
 * producer's pending_send_sz is set so that the peer signals once it has made
 * room, and -EAGAIN is returned: wait for an interrupt and retry.
 *
 * Returns: 0, -EAGAIN (ring full), -EMSGSIZE (can never fit in this ring, or the
 * packet exceeds the descriptor's 65535 8-byte units), -EPROTO (broken
 * channel), -EIO (rescinded), -EINVAL.
 */
int vmbus_channel_send(struct vmbus_channel *ch, uint16_t type, uint16_t flags,
		       uint64_t trans_id, const void *data, size_t len);

/**
 * vmbus_channel_recv - take one packet off the receive ring
 * @buf, @buflen: receives the payload (bytes after the descriptor header)
 * @ret_pkt: receives type, flags, payload length and transaction id
 *
 * The packet is copied out of shared memory before it is returned, so the
 * peer cannot change it afterwards. If a producer was blocked and now fits,
 * it is signalled.
 *
 * Returns: 1 with a packet, 0 if the ring is empty, -EMSGSIZE if @buflen is too
 * small (the packet stays in the ring; @ret_pkt->len tells the size needed),
 * -EPROTO on a protocol violation (channel broken), -EINVAL.
 */
int vmbus_channel_recv(struct vmbus_channel *ch, void *buf, size_t buflen,
		       struct vmbus_packet *ret_pkt);

/* Called by vmbus_channel_drain() for each packet. Return < 0 to stop draining. */
typedef int (*vmbus_packet_fn)(struct vmbus_channel *ch, const struct vmbus_packet *pkt,
			       void *payload, void *userdata);

/**
 * vmbus_channel_drain - handle every pending packet, without losing a wake-up
 * @fn: called for each packet; the payload is a private copy, writable, valid
 *      until @fn returns
 *
 * Acknowledges the interrupt, masks interrupts, receives until the ring is
 * empty, unmasks, then checks the ring again and repeats if a packet arrived
 * meanwhile (the peer does not interrupt for a ring that was already non-empty).
 *
 * Returns: the number of packets handled, a negative errno from the ring or the
 * transport (-EPROTO, -EIO), or the first negative value @fn returned.
 */
int vmbus_channel_drain(struct vmbus_channel *ch, vmbus_packet_fn fn, void *userdata);

/**
 * vmbus_channel_mask - ask the peer not to interrupt (sets our receive ring's mask)
 * Returns: 0 or -EINVAL.
 */
int vmbus_channel_mask(struct vmbus_channel *ch);

/**
 * vmbus_channel_unmask - allow interrupts again, then re-check the ring
 *
 * Returns: 1 if packets are waiting (the peer will not interrupt for them:
 * receive them now), 0 if the ring is empty, or a negative errno.
 */
int vmbus_channel_unmask(struct vmbus_channel *ch);

/**
 * vmbus_channel_set_busy_poll - spin briefly on an empty ring before sleeping
 * @usec: how long vmbus_channel_drain() watches an empty receive ring, with
 *        interrupts still masked, before it unmasks and returns; 0 (the
 *        default) returns at once; at most 1000000
 *
 * A peer that answers within @usec costs no interrupt and no wake-up. An idle
 * channel costs nothing; a burst of traffic costs up to @usec of CPU after it.
 *
 * Returns: 0 or -EINVAL. Since: LIBVMBUS_1.1.
 */
int vmbus_channel_set_busy_poll(struct vmbus_channel *ch, unsigned int usec);

/* ------------------------------------------------------------------------ */
/* Integration Component messages (pure: bytes in, bytes out)                */
/* ------------------------------------------------------------------------ */

/* A decoded pipe + IC header. */
struct vmbus_ic_header {
	uint32_t pipe_flags;
	uint32_t pipe_msgsize;
	uint32_t framework_version; /* VMBUS_IC_VERSION() form */
	uint32_t message_version;   /* VMBUS_IC_VERSION() form */
	uint32_t status;
	uint16_t msgtype;
	uint16_t msgsize;  /* icmsgsize as the sender wrote it */
	uint8_t transaction_id;
	uint8_t flags;
	uint16_t reserved;
	uint32_t body_len; /* bytes available after the 28-byte headers */
};

/**
 * vmbus_ic_parse - decode the pipe and IC headers of a message
 * @msg, @len: the packet payload
 *
 * Returns: 0, or -EBADMSG if @len < VMBUS_IC_HDR_LEN, -EINVAL.
 */
int vmbus_ic_parse(const void *msg, size_t len, struct vmbus_ic_header *ret);

/**
 * vmbus_ic_build - write pipe and IC headers for a request
 * @msg, @len: buffer; the body follows at VMBUS_IC_HDR_LEN
 * @msgtype, @framework_version, @message_version: IC header fields
 * @body_len: value for icmsgsize and (plus 20) the pipe msgsize
 * @transaction_id: ictransaction_id
 *
 * Flags are TRANSACTION|REQUEST, status 0. Bytes past the headers are untouched.
 *
 * Returns: 0, -ENOBUFS if @len < VMBUS_IC_HDR_LEN + @body_len, -EINVAL.
 */
int vmbus_ic_build(void *msg, size_t len, uint16_t msgtype, uint32_t framework_version,
		   uint32_t message_version, uint16_t body_len, uint8_t transaction_id);

/**
 * vmbus_ic_set_response - turn a received request into its response, in place
 *
 * Sets icflags to TRANSACTION|RESPONSE and the status. The response is sent
 * with the same length as the request.
 *
 * Returns: 0, -EBADMSG if @len < VMBUS_IC_HDR_LEN, -EINVAL.
 */
int vmbus_ic_set_response(void *msg, size_t len, uint32_t status);

/**
 * vmbus_ic_negotiate - answer a NEGOTIATE request in place
 * @msg, @len: the request; rewritten as the response (same length)
 * @fw, @n_fw: our framework versions, in preference order
 * @svc, @n_svc: our service versions, in preference order
 * @ret_fw, @ret_svc: optional, receive the chosen versions on a match
 *
 * Picks the first of our framework versions that the host also lists, then
 * the first of our service versions the host lists. On a match the response
 * carries counts 1/1, the two chosen versions, icmsgsize 16 and status S_OK.
 * Otherwise counts 0/0 and status HV_E_FAIL. Host counts above
 * VMBUS_IC_MAX_VERSIONS, or versions that run past @len, are no match; so is a
 * message with a negotiate header but no room for the two version slots
 * (36 to 43 bytes: answered with counts 0/0 and icmsgsize 8, nothing past the
 * header written). The response is always well formed; nothing outside
 * @msg[0..@len) is touched.
 *
 * Returns: 1 on a match, 0 on no match (response still written), -EBADMSG if
 * the message has no negotiate header (under 36 bytes; nothing written),
 * -EINVAL for bad arguments.
 */
int vmbus_ic_negotiate(void *msg, size_t len, const uint32_t *fw, size_t n_fw,
		       const uint32_t *svc, size_t n_svc, uint32_t *ret_fw, uint32_t *ret_svc);

/**
 * vmbus_ic_negotiate_request - build a host's NEGOTIATE request
 * @msg, @len: buffer; needs VMBUS_IC_HDR_LEN + 8 + 4 * (@n_fw + @n_svc) bytes
 * @fw, @n_fw, @svc, @n_svc: versions the host offers (each count <= VMBUS_IC_MAX_VERSIONS)
 * @transaction_id: ictransaction_id
 *
 * Returns: the message length, -ENOBUFS, -EINVAL.
 */
int vmbus_ic_negotiate_request(void *msg, size_t len, const uint32_t *fw, size_t n_fw,
			       const uint32_t *svc, size_t n_svc, uint8_t transaction_id);

/**
 * vmbus_ic_negotiate_result - read a guest's NEGOTIATE response
 * @ret_fw, @ret_svc: receive the chosen versions when the guest accepted
 *
 * Returns: 1 if the guest chose a framework and a service version, 0 if it
 * refused (counts not 1/1), -EBADMSG if the response is malformed (under 36
 * bytes, or counts 1/1 without the two versions).
 */
int vmbus_ic_negotiate_result(const void *msg, size_t len, uint32_t *ret_fw, uint32_t *ret_svc);

/**
 * vmbus_ic_status_name - the symbolic name of an IC status code
 * Returns: a static string such as "HV_E_FAIL", or NULL if unknown.
 */
const char *vmbus_ic_status_name(uint32_t status);

/**
 * vmbus_ic_msgtype_name - the symbolic name of an IC message type
 * Returns: a static string such as "NEGOTIATE", or NULL if unknown.
 */
const char *vmbus_ic_msgtype_name(uint16_t msgtype);

/* ------------------------------------------------------------------------ */
/* UTF-16LE <-> UTF-8 (strict; pure)                                         */
/* ------------------------------------------------------------------------ */

/**
 * vmbus_utf16_to_utf8 - convert a bounded UTF-16LE field to UTF-8
 * @src, @src_bytes: the field (little-endian, any alignment); conversion stops
 *                   at a NUL unit or at the end of the field, whichever comes first
 * @dst, @dst_size: output, always NUL-terminated on success
 *
 * Surrogate pairs become 4-byte sequences. An unpaired surrogate, or a final
 * odd byte reached before any NUL, is an error; nothing is ever replaced.
 *
 * Returns: bytes written (without the NUL), -EILSEQ (invalid UTF-16),
 * -ENAMETOOLONG (does not fit in @dst_size with its NUL), -EINVAL.
 */
int vmbus_utf16_to_utf8(const void *src, size_t src_bytes, char *dst, size_t dst_size);

/**
 * vmbus_utf8_to_utf16 - convert UTF-8 to a bounded UTF-16LE field
 * @src, @src_len: input; stops at a NUL byte or after @src_len bytes
 * @dst, @dst_bytes: output field (any alignment); a NUL unit is always written
 *
 * Overlong forms, encoded surrogates, code points above U+10FFFF and
 * truncated sequences are errors.
 *
 * Returns: UTF-16 units written (without the NUL), -EILSEQ, -ENAMETOOLONG, -EINVAL.
 */
int vmbus_utf8_to_utf16(const char *src, size_t src_len, void *dst, size_t dst_bytes);

/* Flags from vmbus_utf8_to_utf16_lossy(). */
#define VMBUS_UTF_REPLACED 0x1u  /* an invalid sequence became U+FFFD */
#define VMBUS_UTF_TRUNCATED 0x2u /* the input did not fit and was cut */

/**
 * vmbus_utf8_to_utf16_lossy - convert UTF-8 to a bounded UTF-16LE field, whatever it holds
 * @src, @src_len: input; stops at a NUL byte or after @src_len bytes
 * @dst, @dst_bytes: output field (any alignment); a NUL unit is always written
 * @ret_flags: (optional) VMBUS_UTF_REPLACED and/or VMBUS_UTF_TRUNCATED
 *
 * For data that must reach the host even when it is not clean (pool records
 * written by other programs): each byte that starts no valid UTF-8 sequence
 * becomes U+FFFD, and input that does not fit is cut before the first
 * character that would not (a surrogate pair is never split).
 *
 * Returns: UTF-16 units written (without the NUL), or -EINVAL.
 */
int vmbus_utf8_to_utf16_lossy(const char *src, size_t src_len, void *dst, size_t dst_bytes,
			      unsigned int *ret_flags);

/**
 * vmbus_utf8_valid - whether @len bytes at @s are valid UTF-8
 *
 * The same rules as vmbus_utf8_to_utf16(): no overlong forms, encoded
 * surrogates or code points above U+10FFFF; a NUL byte is valid.
 */
bool vmbus_utf8_valid(const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

/* priority is a syslog priority (LOG_ERR ... LOG_DEBUG). */
typedef void (*vmbus_log_fn)(int priority, const char *msg, void *userdata);

/**
 * vmbus_set_log_fn - route the library's debug messages
 * @fn: NULL restores the default (stderr only when LIBVMBUS_LOG=debug)
 */
void vmbus_set_log_fn(vmbus_log_fn fn, void *userdata);

#ifdef __cplusplus
}
#endif

#endif
