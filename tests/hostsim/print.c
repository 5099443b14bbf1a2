/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Readable packets for hv-hostsim -v: one line per packet, then its decoded body. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine.h"
#include "fcopy-wire.h"

static void print_flags(uint8_t f)
{
	const char *sep = "";

	if (f & VMBUS_IC_FLAG_TRANSACTION) {
		printf("%sTRANSACTION", sep);
		sep = "|";
	}
	if (f & VMBUS_IC_FLAG_REQUEST) {
		printf("%sREQUEST", sep);
		sep = "|";
	}
	if (f & VMBUS_IC_FLAG_RESPONSE) {
		printf("%sRESPONSE", sep);
		sep = "|";
	}
	if (f & ~(VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST | VMBUS_IC_FLAG_RESPONSE))
		printf("%s0x%x", sep, f);
	if (!f)
		printf("0");
}

static void print_versions(const uint8_t *v, size_t n, size_t avail)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t mm[2];

		if ((i + 1) * 4 > avail) {
			printf(" <truncated>");
			return;
		}
		memcpy(mm, v + i * 4, sizeof(mm));
		printf(" %u.%u", mm[0], mm[1]);
	}
}

static void print_name(const char *what, const uint8_t *field)
{
	char name[3 * FCOPY_W_MAX_PATH];

	if (vmbus_utf16_to_utf8(field, 2 * FCOPY_W_MAX_PATH, name, sizeof(name)) < 0)
		printf(" %s <not valid UTF-16>", what);
	else
		printf(" %s '%s'", what, name);
}

/* The fcopy body: operation and, as far as the message holds them, its fields. */
static void print_fcopy(const uint8_t *b, size_t len)
{
	uint32_t op, flags, size;
	uint64_t v;
	char buf[32];

	if (len < FCOPY_HDR_LEN)
		return;
	memcpy(&op, b + FCOPY_OFF_OPERATION, sizeof(op));
	printf("    %s", fcopy_op_name(op, buf, sizeof(buf)));
	if (op == FCOPY_OP_START && len >= FCOPY_START_LEN) {
		print_name("path", b + FCOPY_OFF_PATH_NAME);
		print_name("file", b + FCOPY_OFF_FILE_NAME);
		memcpy(&flags, b + FCOPY_OFF_COPY_FLAGS, sizeof(flags));
		memcpy(&v, b + FCOPY_OFF_FILE_SIZE, sizeof(v));
		printf(" flags 0x%x size %llu", flags, (unsigned long long)v);
	} else if (op == FCOPY_OP_WRITE && len >= FCOPY_OFF_DATA) {
		memcpy(&v, b + FCOPY_OFF_OFFSET, sizeof(v));
		memcpy(&size, b + FCOPY_OFF_SIZE, sizeof(size));
		printf(" offset %llu size %u", (unsigned long long)v, size);
	}
	printf("\n");
}

void hostsim_print_packet(const char *dir, const struct vmbus_packet *pkt, const uint8_t *msg,
			  size_t len)
{
	struct vmbus_ic_header h;
	const char *name, *status;

	printf("%s  packet type %u, trans_id %llu, %zu bytes\n", dir, pkt->type,
	       (unsigned long long)pkt->trans_id, len);
	if (vmbus_ic_parse(msg, len, &h) < 0) {
		printf("    (shorter than the %d-byte IC headers)\n", VMBUS_IC_HDR_LEN);
		return;
	}
	name = vmbus_ic_msgtype_name(h.msgtype);
	status = vmbus_ic_status_name(h.status);
	printf("    IC %s", name ? name : "?");
	if (!name)
		printf("(%u)", h.msgtype);
	printf(" framework %u.%u message %u.%u size %u txid %u flags ",
	       VMBUS_IC_VERSION_MAJOR(h.framework_version), VMBUS_IC_VERSION_MINOR(h.framework_version),
	       VMBUS_IC_VERSION_MAJOR(h.message_version), VMBUS_IC_VERSION_MINOR(h.message_version),
	       h.msgsize, h.transaction_id);
	print_flags(h.flags);
	if (status)
		printf(" status %s\n", status);
	else
		printf(" status 0x%08x\n", h.status);

	if (h.msgtype == VMBUS_IC_MSGTYPE_NEGOTIATE && h.body_len >= 8) {
		const uint8_t *b = msg + VMBUS_IC_HDR_LEN;
		uint16_t cnt[2];

		memcpy(cnt, b, sizeof(cnt));
		printf("    framework versions (%u):", cnt[0]);
		print_versions(b + 8, cnt[0], h.body_len - 8);
		printf("\n    service versions (%u):", cnt[1]);
		if ((size_t)cnt[0] * 4 <= h.body_len - 8)
			print_versions(b + 8 + (size_t)cnt[0] * 4, cnt[1], h.body_len - 8 - (size_t)cnt[0] * 4);
		printf("\n");
	} else if (h.msgtype == VMBUS_IC_MSGTYPE_HEARTBEAT && h.body_len >= 8) {
		uint64_t seq;

		memcpy(&seq, msg + VMBUS_IC_HDR_LEN, sizeof(seq));
		printf("    sequence number %llu\n", (unsigned long long)seq);
	} else if (h.msgtype == VMBUS_IC_MSGTYPE_FCOPY) {
		print_fcopy(msg + VMBUS_IC_HDR_LEN, h.body_len);
	}
	fflush(stdout);
}
