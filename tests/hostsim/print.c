/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Readable packets for hv-hostsim -v: one line per packet, then its decoded body. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "engine.h"

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
	}
	fflush(stdout);
}
