/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the kernel-side (hv_utils character device) decoders of
 * all three daemons: kvp_kernel_message, vss_kernel_message,
 * fcopy_kernel_message, and the three registration-answer checks.
 *
 * The input's first byte picks the service (0 KVP, 1 VSS, 2 fcopy, by its
 * value modulo 3); the rest is a sequence of kernel messages, each a 2-byte
 * little-endian length followed by that many bytes (the last one takes what
 * is left). Each message sits at the start of a heap buffer of exactly the
 * size the daemon reads into (so ASan sees any overrun), the rest zero, and
 * is also handed to the service's registration-answer check. Checked after
 * each message:
 *  - the status is the one written where the kernel reads it (`error` for
 *    KVP and VSS) and, for a message of the wrong size, HV_E_FAIL;
 *  - a successful KVP GET/ENUMERATE answer has its key and value
 *    NUL-terminated inside their fields (the kernel strlen()s them);
 *  - the VSS freezer is called only for 12-byte FREEZE/THAW messages;
 *  - the fcopy state machine only opens a transfer on a START of exactly
 *    the kernel's size, and writes only within the message;
 *  - a registration answer is accepted only at the kernel's size.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "vmbus/vmbus.h"

#include "fcopy-proto.h"
#include "kvp-auto.h"
#include "kvp-proto.h"
#include "log.h"
#include "vss-proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(expr)              \
	do {                     \
		if (!(expr))     \
			abort(); \
	} while (0)

static uint32_t get_ne32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* KVP environment: generated AUTO values, IP information that always answers. */
static int env_auto_value(void *env, unsigned index, char *buf, size_t size)
{
	(void)env;
	if (index >= KVP_AUTO_COUNT)
		return -1;
	memset(buf, 'a' + (int)index, size - 1);
	buf[size - 1] = '\0';
	return 0;
}

static uint32_t env_ip_get(void *env, const struct kvp_ip_info *in, struct kvp_ip_info *out)
{
	(void)env;
	memcpy(out->adapter_id, in->adapter_id, sizeof(out->adapter_id));
	memset(out->ip_addr, '1', sizeof(out->ip_addr) - 1);
	out->ip_addr[sizeof(out->ip_addr) - 1] = '\0';
	return VMBUS_HV_S_OK;
}

static uint32_t env_ip_set(void *env, const struct kvp_ip_info *in)
{
	(void)env;
	(void)in;
	return VMBUS_HV_S_OK;
}

static const struct kvp_env_ops env_ops = { env_auto_value, env_ip_get, env_ip_set };

/* VSS: a freezer that counts. */
struct vfake {
	unsigned calls;
};

static uint32_t v_freeze(void *userdata)
{
	((struct vfake *)userdata)->calls++;
	return VMBUS_HV_S_OK;
}

static uint32_t v_thaw(void *userdata)
{
	((struct vfake *)userdata)->calls++;
	return VMBUS_HV_S_OK;
}

static const struct vss_ops vss_ops = { v_freeze, v_thaw };

/* fcopy: a sink that checks what reaches it. */
struct fsink {
	const uint8_t *msg;
	size_t len;
	unsigned starts;
};

static uint32_t f_start(void *sink, const char *dir, const char *name, uint32_t flags, uint64_t hint)
{
	struct fsink *s = sink;

	(void)flags;
	(void)hint;
	check(s->len == FCOPY_START_LEN && dir[0] == '/' && name[0] && !strchr(name, '/'));
	s->starts++;
	return VMBUS_HV_S_OK;
}

static uint32_t f_write(void *sink, uint64_t offset, const void *data, uint32_t size)
{
	struct fsink *s = sink;
	const uint8_t *d = data;

	(void)offset;
	check(s->len == FCOPY_WRITE_LEN && size <= FCOPY_DATA_FRAGMENT);
	check(d >= s->msg && d + size <= s->msg + s->len);
	return VMBUS_HV_S_OK;
}

static uint32_t f_complete(void *sink)
{
	(void)sink;
	return VMBUS_HV_S_OK;
}

static void f_abort(void *sink, const char *why)
{
	(void)sink;
	(void)why;
}

static const struct fcopy_sink_ops fcopy_ops = { f_start, f_write, f_complete, f_abort };

static struct kvp_pools *pools;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct kvp_pools_config cfg = { .max_records = 16 };

	(void)argc;
	(void)argv;
	log_set_max_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_EMERG);
	if (kvp_pools_open(&cfg, &pools) < 0)
		abort();
	return 0;
}

static void one_kvp(struct kvp *k, uint8_t *m, size_t len)
{
	unsigned op = len ? m[KVP_OFF_OPERATION] : 0;
	char version[64];
	uint32_t st;

	if (kvp_kernel_register_reply(m, len, version, sizeof(version)) == 0)
		check(len == KVP_MSG_MAX_LEN && m[KVP_OFF_OPERATION] == KVP_OP_REGISTER1 && strlen(version) < 64);
	st = kvp_kernel_message(k, m, len);
	check(get_ne32(m + KVP_KMSG_OFF_ERROR) == st);
	if (len != KVP_MSG_MAX_LEN)
		check(st == VMBUS_HV_E_FAIL);
	if (st == VMBUS_HV_S_OK && (op == KVP_OP_GET || op == KVP_OP_ENUMERATE)) {
		check(memchr(m + KVP_ENUM_OFF_DATA + KVP_VAL_OFF_VALUE, 0, KVP_WIRE_VALUE_SIZE));
		if (op == KVP_OP_ENUMERATE)
			check(memchr(m + KVP_ENUM_OFF_DATA + KVP_VAL_OFF_KEY, 0, KVP_WIRE_KEY_SIZE));
	}
}

static void one_vss(struct vss *v, struct vfake *f, uint8_t *m, size_t len)
{
	unsigned op = len ? m[VSS_OFF_OPERATION] : 0, calls = f->calls;
	uint32_t version, st;

	if (vss_kernel_register_reply(m, len, &version) == 0)
		check(len == 4);
	st = vss_kernel_message(v, m, len);
	check(get_ne32(m + VSS_KMSG_OFF_ERROR) == st);
	if (len != VSS_MSG_LEN)
		check(st == VMBUS_HV_E_FAIL && f->calls == calls);
	else if (op != VSS_OP_FREEZE && op != VSS_OP_THAW)
		check(f->calls == calls);
}

static void one_fcopy(struct fcopy *fc, struct fsink *s, uint8_t *m, size_t len)
{
	unsigned starts = s->starts;
	uint32_t version, op = len >= 4 ? get_ne32(m) : 0xffffffffu;

	if (fcopy_kernel_register_reply(m, len, &version) == 0)
		check(len == 4);
	s->msg = m;
	s->len = len;
	(void)fcopy_kernel_message(fc, m, len);
	if (op != FCOPY_OP_START)
		check(s->starts == starts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvp k = { .pools = pools, .ops = &env_ops };
	struct vfake vf = { 0 };
	struct vss v = { .ops = &vss_ops, .userdata = &vf };
	struct fsink fs = { 0 };
	struct fcopy fc = { .ops = &fcopy_ops, .sink = &fs };
	static const size_t bufsize[] = { KVP_KMSG_BUF, VSS_KMSG_BUF, FCOPY_KMSG_MAX };
	unsigned service;

	if (size < 1)
		return 0;
	service = data[0] % 3;
	data++;
	size--;
	while (size > 0) {
		size_t len = size;
		uint8_t *m;

		if (size >= 2) {
			len = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
			if (len > size)
				len = size;
		}
		/* The daemon's read() never returns more than its buffer. */
		if (len > bufsize[service])
			len = bufsize[service];
		m = calloc(1, bufsize[service]);
		if (!m)
			abort();
		memcpy(m, data, len);
		if (service == 0)
			one_kvp(&k, m, len);
		else if (service == 1)
			one_vss(&v, &vf, m, len);
		else
			one_fcopy(&fc, &fs, m, len);
		free(m);
		data += len;
		size -= len;
	}
	fcopy_abort(&fc, "end of input");
	return 0;
}
