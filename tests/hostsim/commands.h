/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The commands of hv-hostsim (hv-hostsim.c: negotiate, heartbeat; fcopy.c;
 * hostile.c; idle.c; kvp.c; vss.c) and what they share. A command parses its own arguments
 * before the guest starts (argv[0] is the command's name; returns 0 or a
 * negative errno after printing why), then runs against the started guest and
 * returns an exit status (HOSTSIM_EXIT_*).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"

/* hv-hostsim.c */

/* Negotiate with the service's version lists; an exit status, the versions on success. */
int host_negotiate(struct hostsim *h, uint32_t *ret_fw, uint32_t *ret_svc);
/*
 * One line of a batch from stdin, at most max bytes, in a new buffer (*ret).
 * Returns 1, 0 at the end of input, or -EINVAL/-ENOMEM after saying why.
 */
int host_batch_read_line(const char *command, size_t lineno, size_t max, char **ret);
/* Check an IC answer: length, response flag, transaction id (see hv-hostsim.c). */
int host_check_reply(const uint8_t *resp, size_t n, size_t sent, uint16_t msgtype, uint8_t txid,
		     uint32_t *ret_status);
/* Report a failed exchange (a negative errno from the engine); returns HOSTSIM_EXIT_NOANSWER. */
int host_no_answer(int r);
/* A command that speaks one service: use its version lists unless -s chose another (-EINVAL). */
int host_use_service(const char *name, const char *command);
/*
 * A command that sends packets of up to len bytes of payload: check that the
 * rings (--ring-size) can hold one, before the guest starts (-EINVAL if not).
 */
int host_check_packet_fits(size_t len, const char *command);
/* "HV_E_FAIL", or "unknown status". */
const char *host_status_name(uint32_t status);
/*
 * With --json: the stream for JSON documents (the real standard output; the
 * progress lines then go to standard error). NULL without --json.
 */
FILE *host_json(void);

/* fcopy.c */

/* The longest fcopy message, a WRITE_TO_FILE (IC headers + struct hv_do_fcopy). */
#define FCOPY_MAX_MSG_LEN (VMBUS_IC_HDR_LEN + FCOPY_WRITE_LEN)

void fcopy_help(void);
int fcopy_parse(int argc, char **argv);
int fcopy_run(struct hostsim *h);
/* Print the summary line; after the guest's end was reported. */
void fcopy_finish(void);

/*
 * Message builders, shared with the hostile scenarios. fcopy_msg_init() writes
 * the IC headers (type FCOPY, the versions given, icmsgsize body_len, the next
 * IC transaction id, which it returns) and the fcopy header with this
 * operation; msg must hold VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN bytes at least.
 */
uint8_t fcopy_msg_init(struct hostsim *h, uint8_t *msg, uint32_t fw, uint32_t svc, uint32_t op,
		       uint16_t body_len);
/* START fields; msg holds VMBUS_IC_HDR_LEN + FCOPY_START_LEN bytes, names already in place. */
void fcopy_put_start(uint8_t *msg, uint32_t flags, uint64_t file_size);
/* A name field (FCOPY_W_MAX_PATH units) from UTF-8. Returns 0, -EILSEQ, -ENAMETOOLONG. */
int fcopy_put_name(uint8_t *field, const char *s, size_t len);
/* WRITE fields (not the data); msg holds VMBUS_IC_HDR_LEN + FCOPY_OFF_DATA bytes at least. */
void fcopy_put_write(uint8_t *msg, uint64_t offset, uint32_t size);
/* "START_FILE_COPY", ..., or "operation N" in buf. */
const char *fcopy_op_name(uint32_t op, char *buf, size_t size);

/* hostile.c */

void hostile_help(void);
int hostile_parse(int argc, char **argv);
int hostile_run(struct hostsim *h);

/* idle.c */

void idle_help(void);
int idle_parse(int argc, char **argv);
int idle_run(struct hostsim *h);

/* kvp.c */

void kvp_help(void);
int kvp_parse(int argc, char **argv);
int kvp_run(struct hostsim *h);
void kvp_finish(void);

/* Shared with the hostile scenarios and print.c. */
/* "GET", ..., or "operation N" in buf. */
const char *kvp_op_text(unsigned op, char *buf, size_t size);
/*
 * UTF-8 s into a UTF-16LE field (sizes in bytes) and, if ret_size, the size a
 * host sends (bytes + 2 for the NUL). With allow_full, a string of exactly
 * field_size / 2 units fills the field without its NUL (size field_size + 2).
 * Returns 0, -EILSEQ, -ENAMETOOLONG.
 */
int kvp_encode(const char *s, uint8_t *field, size_t field_size, bool allow_full, uint32_t *ret_size);
/*
 * Check a guest's answer (resp, n) to a sent-byte request with IC transaction
 * id txid: same length (or padded to 8), a KVP response, the id echoed.
 * Returns 0 with the status, or -EBADMSG (reported on stderr).
 */
int kvp_check_reply(const uint8_t *resp, size_t n, size_t sent, uint8_t txid, uint32_t *ret_status);
/*
 * A key or value field as UTF-8 (REG_U32/U64 values of size 4/8 as decimal):
 * size bytes at most. Returns 0, -EMSGSIZE (size past the field), -EILSEQ.
 */
int kvp_decode_key(uint32_t size, const uint8_t *field, char *buf, size_t bufsize);
int kvp_decode_value(uint32_t type, uint32_t size, const uint8_t *field, char *buf, size_t bufsize);

/* vss.c */

void vss_help(void);
int vss_parse(int argc, char **argv);
int vss_run(struct hostsim *h);
void vss_finish(void);

/* Shared with the hostile scenarios and print.c. */
/* "FREEZE", ..., or "operation N" in buf. */
const char *vss_op_text(unsigned op, char *buf, size_t size);

struct vss_answer {
	uint32_t status; /* the IC status of the answer */
	uint32_t flags;  /* vss_cf/dm_info flags of the answer, if has_flags */
	bool has_flags;  /* the body was long enough to hold them */
	double ms;       /* send to answer */
};

/*
 * Check a guest's answer (resp, n) to a sent-byte VSS request with IC
 * transaction id txid: same length (or padded to 8), a VSS response, the id
 * echoed. Returns 0 with the status, or -EBADMSG (reported on stderr).
 */
int vss_check_reply(const uint8_t *resp, size_t n, size_t sent, uint8_t txid, uint32_t *ret_status);
/*
 * Send operation op (the first byte of the body) in a zeroed body of body_len
 * bytes (at most 65535; 0 sends the IC headers alone) and check the answer.
 * Returns 0 with *ret filled, or an exit status (reported).
 */
int vss_transact(struct hostsim *h, uint32_t fw, uint32_t svc, unsigned op, size_t body_len,
		 struct vss_answer *ret);
