/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: hv-kvpd's KVP message handler (kvp_message).
 *
 * The input is a sequence of KVP message bodies, each a 2-byte little-endian
 * length followed by that many bytes (the last one takes what is left). Every
 * body goes, in a heap copy of exactly its length so ASan sees any overread or
 * overwrite, to kvp_message() on one set of memory-only pools per input (a
 * cap of 8 records per pool) and a fake environment. Checked after each one:
 *  - the status is one the handler documents;
 *  - a GET or ENUMERATE answered HV_S_OK carries REG_SZ, sizes that count
 *    the NUL (2 * (units + 1)) and a NUL inside each field; on ENUMERATE of
 *    pool 2 the key is the generated one for that index;
 *  - an operation on a pool above 4, or an unknown one, is refused;
 *  - what the pools hold is what a host could have put there: every pool at
 *    most 8 records, keys 1..511 bytes, values at most 2047, all valid UTF-8;
 *  - the environment sees only NUL-terminated, valid UTF-8 IP fields.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "vmbus/vmbus.h"

#include "kvp-auto.h"
#include "kvp-proto.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 8

#define check(expr)              \
	do {                     \
		if (!(expr))     \
			abort(); \
	} while (0)

static void check_str(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	check(n < size);
	check(vmbus_utf8_valid(s, n));
}

static void check_info(const struct kvp_ip_info *in)
{
	check_str(in->adapter_id, sizeof(in->adapter_id));
	check_str(in->ip_addr, sizeof(in->ip_addr));
	check_str(in->sub_net, sizeof(in->sub_net));
	check_str(in->gate_way, sizeof(in->gate_way));
	check_str(in->dns_addr, sizeof(in->dns_addr));
}

static int env_auto(void *env, unsigned index, char *buf, size_t size)
{
	(void)env;
	if (index >= KVP_AUTO_COUNT)
		return -2;
	/* A value that needs cutting and replacing: 3000 bytes, one invalid. */
	memset(buf, 'v', size - 1);
	buf[size - 1] = '\0';
	if (index == 3)
		buf[10] = (char)0xff;
	return 0;
}

static uint32_t env_ip_get(void *env, const struct kvp_ip_info *in, struct kvp_ip_info *out)
{
	(void)env;
	check_str(in->adapter_id, sizeof(in->adapter_id));
	if (in->adapter_id[0] == 'F')
		return VMBUS_HV_E_FAIL;
	/* Lists longer than the fields carry. */
	memset(out->ip_addr, '1', sizeof(out->ip_addr) - 1);
	memset(out->dns_addr, '2', sizeof(out->dns_addr) - 1);
	strcpy(out->sub_net, "255.255.255.0");
	return VMBUS_HV_S_OK;
}

static uint32_t env_ip_set(void *env, const struct kvp_ip_info *in)
{
	(void)env;
	check_info(in);
	return in->dhcp_enabled ? VMBUS_HV_GUID_NOTFOUND : VMBUS_HV_S_OK;
}

static const struct kvp_env_ops ops = {
	.auto_value = env_auto,
	.ip_get = env_ip_get,
	.ip_set = env_ip_set,
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A UTF-16 reply field: NUL inside, size field = 2 * (units + 1). */
static void check_field(const uint8_t *field, size_t field_size, uint32_t size)
{
	size_t units = 0;

	while (units < field_size / 2 && (field[2 * units] | field[2 * units + 1]))
		units++;
	check(units < field_size / 2);
	check(size == 2 * (units + 1));
}

static void check_reply(const uint8_t *b, size_t len, uint32_t st)
{
	unsigned op = b[KVP_OFF_OPERATION], pool = b[KVP_OFF_POOL];
	const uint8_t *d;

	check(st == VMBUS_HV_S_OK || st == VMBUS_HV_S_CONT || st == VMBUS_HV_E_FAIL ||
	      st == VMBUS_HV_INVALIDARG || st == VMBUS_HV_GUID_NOTFOUND);
	if (op >= KVP_OP_COUNT || (op <= KVP_OP_ENUMERATE && pool >= KVP_POOL_COUNT))
		check(st != VMBUS_HV_S_OK);
	if (st != VMBUS_HV_S_OK)
		return;
	if (op == KVP_OP_GET) {
		check(len >= KVP_GETSET_LEN);
		d = b + KVP_GETSET_OFF_DATA;
		check(get32(d + KVP_VAL_OFF_TYPE) == KVP_REG_SZ);
		check_field(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, get32(d + KVP_VAL_OFF_VALUE_SIZE));
	} else if (op == KVP_OP_ENUMERATE) {
		check(len >= KVP_ENUM_LEN);
		d = b + KVP_ENUM_OFF_DATA;
		check(get32(d + KVP_VAL_OFF_TYPE) == KVP_REG_SZ);
		check_field(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, get32(d + KVP_VAL_OFF_KEY_SIZE));
		check_field(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, get32(d + KVP_VAL_OFF_VALUE_SIZE));
		if (pool == KVP_POOL_AUTO) {
			char key[64];

			check(get32(b + KVP_ENUM_OFF_INDEX) < KVP_AUTO_COUNT);
			check(vmbus_utf16_to_utf8(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, key, sizeof(key)) >= 0);
			check(strcmp(key, kvp_auto_key(get32(b + KVP_ENUM_OFF_INDEX))) == 0);
		}
	} else if (op == KVP_OP_GET_IP_INFO) {
		check(len >= KVP_IP_LEN);
	}
}

static void check_pools(struct kvp_pools *pools)
{
	for (unsigned p = 0; p < KVP_POOL_COUNT; p++) {
		long n = kvp_pool_count(pools, p);

		check(n >= 0 && n <= CAP);
		for (uint32_t i = 0; i < (uint32_t)n; i++) {
			const char *k, *v;

			check(kvp_pool_enumerate(pools, p, i, &k, &v) == 0);
			check(strlen(k) >= 1 && strlen(k) <= KVP_KEY_MAX);
			check(strlen(v) <= KVP_VALUE_MAX);
			check(vmbus_utf8_valid(k, strlen(k)) && vmbus_utf8_valid(v, strlen(v)));
		}
		check(kvp_pool_enumerate(pools, p, (uint32_t)n, &(const char *){ NULL }, &(const char *){ NULL }) ==
		      -ENOENT);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_max_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_EMERG);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kvp_pools_config cfg = { .max_records = CAP };
	struct kvp k = { .ops = &ops };

	if (kvp_pools_open(&cfg, &k.pools) < 0)
		abort();
	while (size > 0) {
		size_t len = size;
		uint8_t *body;
		uint32_t st;

		if (size >= 2) {
			len = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
			if (len > size)
				len = size;
		}
		body = malloc(len ? len : 1);
		if (!body)
			abort();
		memcpy(body, data, len);
		st = kvp_message(&k, body, len);
		if (len >= 2)
			check_reply(body, len, st);
		free(body);
		data += len;
		size -= len;
		check_pools(k.pools);
	}
	kvp_pools_free(k.pools);
	return 0;
}
