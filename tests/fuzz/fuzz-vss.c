/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: hv-vssd's VSS message handler (vss_message).
 *
 * The input is a sequence of VSS message bodies, each a 2-byte little-endian
 * length followed by that many bytes (the last one takes what is left), each
 * handed over in a heap copy of exactly its length. A fake freezer tracks the
 * frozen state and fails on cue (a FREEZE body whose byte 1 is 0xfa). Checked
 * after each message:
 *  - the status is one the handler documents, and the one its operation
 *    calls for: NOT_SUPPORTED exactly for operations 8-255, HV_E_FAIL for an
 *    empty body or a short HOT_BACKUP/GET_DM_INFO, the freezer's answer for
 *    FREEZE/THAW, success for the rest;
 *  - only HOT_BACKUP and GET_DM_INFO change the body, and only bytes 8-11,
 *    to 0x5 and 0;
 *  - the freezer is called exactly for FREEZE and THAW.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "vmbus/vmbus.h"

#include "log.h"
#include "vss-proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(expr)              \
	do {                     \
		if (!(expr))     \
			abort(); \
	} while (0)

struct fake {
	bool frozen, fail_next;
	unsigned calls;
};

static uint32_t fake_freeze(void *userdata)
{
	struct fake *f = userdata;

	f->calls++;
	if (f->fail_next)
		return VMBUS_HV_E_FAIL;
	f->frozen = true;
	return VMBUS_HV_S_OK;
}

static uint32_t fake_thaw(void *userdata)
{
	struct fake *f = userdata;

	f->calls++;
	f->frozen = false;
	return VMBUS_HV_S_OK;
}

static const struct vss_ops ops = { .freeze = fake_freeze, .thaw = fake_thaw };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_max_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_EMERG);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake f = { 0 };
	struct vss v = { .ops = &ops, .userdata = &f };

	while (size > 0) {
		size_t len = size;
		uint8_t *body, *orig;
		unsigned op, calls = f.calls;
		uint32_t st;

		if (size >= 2) {
			len = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
			if (len > size)
				len = size;
		}
		body = malloc(len ? len : 1);
		orig = malloc(len ? len : 1);
		if (!body || !orig)
			abort();
		memcpy(body, data, len);
		memcpy(orig, data, len);
		op = len ? body[0] : 256;
		f.fail_next = len > 1 && body[1] == 0xfa;
		st = vss_message(&v, body, len);

		if (len == 0) {
			check(st == VMBUS_HV_E_FAIL);
		} else if (op >= VSS_OP_COUNT) {
			check(st == VMBUS_HV_ERROR_NOT_SUPPORTED);
		} else if (op == VSS_OP_HOT_BACKUP || op == VSS_OP_GET_DM_INFO) {
			if (len < VSS_MSG_LEN) {
				check(st == VMBUS_HV_E_FAIL);
			} else {
				uint32_t want = op == VSS_OP_HOT_BACKUP ? VSS_HBU_NO_AUTO_RECOVERY : 0;

				check(st == VMBUS_HV_S_OK);
				check(body[8] == (uint8_t)want && body[9] == 0 && body[10] == 0 && body[11] == 0);
				memcpy(body + 8, orig + 8, 4);
			}
		} else if (op == VSS_OP_FREEZE) {
			check(f.calls == calls + 1);
			check(st == (f.fail_next ? VMBUS_HV_E_FAIL : VMBUS_HV_S_OK));
		} else if (op == VSS_OP_THAW) {
			check(f.calls == calls + 1 && !f.frozen && st == VMBUS_HV_S_OK);
		} else {
			check(st == VMBUS_HV_S_OK);
		}
		if (op != VSS_OP_FREEZE && op != VSS_OP_THAW)
			check(f.calls == calls);
		check(memcmp(body, orig, len) == 0);
		free(body);
		free(orig);
		data += len;
		size -= len;
	}
	return 0;
}
