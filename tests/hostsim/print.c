/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Readable packets for hv-hostsim -v: one line per packet, then its decoded body. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine.h"
#include "fcopy-wire.h"
#include "kvp-wire.h"
#include "vss-wire.h"

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

static uint32_t kvp_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* An exchange value (GET, SET, ENUMERATE): types, sizes, key and value as far as they decode. */
static void print_kvp_value(const uint8_t *d)
{
	char key[3 * KVP_WIRE_KEY_SIZE / 2 + 1], value[3 * KVP_WIRE_VALUE_SIZE / 2 + 1];
	uint32_t type = kvp_get32(d + KVP_VAL_OFF_TYPE);
	uint32_t ks = kvp_get32(d + KVP_VAL_OFF_KEY_SIZE), vs = kvp_get32(d + KVP_VAL_OFF_VALUE_SIZE);

	printf(" value_type %u key_size %u value_size %u", type, ks, vs);
	if (kvp_decode_key(ks, d + KVP_VAL_OFF_KEY, key, sizeof(key)) < 0)
		printf(" key <not valid UTF-16 within key_size>");
	else
		printf(" key '%s'", key);
	if (kvp_decode_value(type, vs, d + KVP_VAL_OFF_VALUE, value, sizeof(value)) < 0)
		printf(" value <not valid UTF-16 within value_size>");
	else
		printf(" value '%s'", value);
}

static void print_kvp_ip_field(const char *what, const uint8_t *field, size_t size)
{
	char text[3 * KVP_IP_ADDR_SIZE / 2 + 1];

	if (vmbus_utf16_to_utf8(field, size, text, sizeof(text)) < 0)
		printf(" %s <not valid UTF-16>", what);
	else if (text[0])
		printf(" %s '%s'", what, text);
}

/* The KVP body: operation, pool and, as far as the message holds them, its fields. */
static void print_kvp(const uint8_t *b, size_t len)
{
	char buf[32];

	if (len < 2) {
		printf("    (no KVP header)\n");
		return;
	}
	printf("    %s pool %u", kvp_op_text(b[KVP_OFF_OPERATION], buf, sizeof(buf)), b[KVP_OFF_POOL]);
	switch (b[KVP_OFF_OPERATION]) {
	case KVP_OP_GET:
	case KVP_OP_SET:
		if (len >= KVP_GETSET_LEN)
			print_kvp_value(b + KVP_GETSET_OFF_DATA);
		break;
	case KVP_OP_DELETE:
		if (len >= KVP_DEL_LEN) {
			char key[3 * KVP_WIRE_KEY_SIZE / 2 + 1];
			uint32_t ks = kvp_get32(b + KVP_DEL_OFF_KEY_SIZE);

			printf(" key_size %u", ks);
			if (kvp_decode_key(ks, b + KVP_DEL_OFF_KEY, key, sizeof(key)) < 0)
				printf(" key <not valid UTF-16 within key_size>");
			else
				printf(" key '%s'", key);
		}
		break;
	case KVP_OP_ENUMERATE:
		if (len >= KVP_ENUM_LEN) {
			printf(" index %u", kvp_get32(b + KVP_ENUM_OFF_INDEX));
			print_kvp_value(b + KVP_ENUM_OFF_DATA);
		}
		break;
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		if (len >= KVP_IP_LEN) {
			print_kvp_ip_field("adapter_id", b + KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE);
			printf(" addr_family %u dhcp_enabled %u", b[KVP_IP_OFF_ADDR_FAMILY],
			       b[KVP_IP_OFF_DHCP_ENABLED]);
			print_kvp_ip_field("ip_addr", b + KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE);
			print_kvp_ip_field("sub_net", b + KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE);
			print_kvp_ip_field("gate_way", b + KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE);
			print_kvp_ip_field("dns_addr", b + KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE);
		}
		break;
	}
	printf("\n");
}

/* The VSS body: operation and, if the message holds hv_vss_msg, the flags. */
static void print_vss(const uint8_t *b, size_t len)
{
	char buf[32];
	uint32_t flags;

	if (len < 1) {
		printf("    (no VSS header: body of %zu bytes)\n", len);
		return;
	}
	printf("    %s", vss_op_text(b[VSS_OFF_OPERATION], buf, sizeof(buf)));
	if (len >= VSS_MSG_LEN) {
		memcpy(&flags, b + VSS_OFF_FLAGS, sizeof(flags));
		printf(" flags 0x%x", flags);
	}
	printf(" (body of %zu bytes)\n", len);
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
	} else if (h.msgtype == VMBUS_IC_MSGTYPE_KVPEXCHANGE) {
		print_kvp(msg + VMBUS_IC_HDR_LEN, h.body_len);
	} else if (h.msgtype == VMBUS_IC_MSGTYPE_VSS) {
		/* The body is what icmsgsize says, at most what arrived (the ring pads to 8). */
		print_vss(msg + VMBUS_IC_HDR_LEN, h.msgsize < h.body_len ? h.msgsize : h.body_len);
	}
	fflush(stdout);
}
