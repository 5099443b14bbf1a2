/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hv_utils character-device transport: each service's kernel messages
 * (struct hv_kvp_msg, hv_vss_msg, hv_start_fcopy/hv_do_fcopy) decoded into
 * the same handlers as the ring's, answered as the kernel expects, refused
 * cleanly when malformed; the registration messages; and chardev.c's
 * read/answer/reopen logic over socketpair(AF_UNIX, SOCK_SEQPACKET), which
 * keeps message boundaries as the kernel's read()/write() do.
 *
 * Kernel messages are handed over in heap buffers of exactly the size the
 * daemon reads into, so under ASan a codec that runs past them fails.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test-util.h"
#include "test-chardev-uapi.h"
#include "vmbus/vmbus.h"

#include "chardev.h"
#include "fcopy-proto.h"
#include "kvp-auto.h"
#include "kvp-proto.h"
#include "log.h"
#include "vss-proto.h"

static uint32_t get_ne32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put_ne32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* ------------------------------------------------------------------------ */
/* Layouts: our constants against the kernel's uapi header                   */
/* ------------------------------------------------------------------------ */

static void test_layouts(void **state)
{
	struct uapi_layout u;

	(void)state;
	uapi_layout(&u);
	assert_int_equal(u.kvp_msg, KVP_MSG_MAX_LEN);
	assert_true(KVP_KMSG_BUF >= KVP_MSG_MAX_LEN);
	assert_int_equal(u.kvp_error, KVP_KMSG_OFF_ERROR);
	assert_int_equal(u.kvp_version, KVP_KMSG_OFF_VERSION);
	/* GET/SET/DELETE/ENUMERATE: the ring's offsets. */
	assert_int_equal(u.kvp_set_key_size, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE);
	assert_int_equal(u.kvp_set_value_size, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE_SIZE);
	assert_int_equal(u.kvp_set_key, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY);
	assert_int_equal(u.kvp_set_value, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE);
	assert_int_equal(u.kvp_delete_key_size, KVP_DEL_OFF_KEY_SIZE);
	assert_int_equal(u.kvp_delete_key, KVP_DEL_OFF_KEY);
	assert_int_equal(u.kvp_enum_index, KVP_ENUM_OFF_INDEX);
	assert_int_equal(u.kvp_enum_key, KVP_ENUM_OFF_DATA + KVP_VAL_OFF_KEY);
	assert_int_equal(u.kvp_enum_value, KVP_ENUM_OFF_DATA + KVP_VAL_OFF_VALUE);
	/* The IP block: 2 bytes further than on the ring. */
	assert_int_equal(u.kvp_ip_adapter_id, KVP_KMSG_IP_BASE + KVP_IP_OFF_ADAPTER_ID);
	assert_int_equal(u.kvp_ip_addr_family, KVP_KMSG_IP_BASE + KVP_IP_OFF_ADDR_FAMILY);
	assert_int_equal(u.kvp_ip_dhcp_enabled, KVP_KMSG_IP_BASE + KVP_IP_OFF_DHCP_ENABLED);
	assert_int_equal(u.kvp_ip_ip_addr, KVP_KMSG_IP_BASE + KVP_IP_OFF_IP_ADDR);
	assert_int_equal(u.kvp_ip_sub_net, KVP_KMSG_IP_BASE + KVP_IP_OFF_SUB_NET);
	assert_int_equal(u.kvp_ip_gate_way, KVP_KMSG_IP_BASE + KVP_IP_OFF_GATE_WAY);
	assert_int_equal(u.kvp_ip_dns_addr, KVP_KMSG_IP_BASE + KVP_IP_OFF_DNS_ADDR);
	assert_int_equal(u.kvp_op_register1, KVP_OP_REGISTER1);
	assert_int_equal(u.vss_msg, VSS_MSG_LEN);
	assert_int_equal(u.vss_op_register1, VSS_OP_REGISTER1);
	assert_int_equal(u.fcopy_start, FCOPY_START_LEN);
	assert_int_equal(u.fcopy_do, FCOPY_WRITE_LEN);
	assert_int_equal(u.fcopy_file_name, FCOPY_OFF_FILE_NAME);
	assert_int_equal(u.fcopy_path_name, FCOPY_OFF_PATH_NAME);
	assert_int_equal(u.fcopy_name_field, FCOPY_KNAME_FIELD);
	assert_int_equal(u.fcopy_copy_flags, FCOPY_OFF_COPY_FLAGS);
	assert_int_equal(u.fcopy_file_size, FCOPY_OFF_FILE_SIZE);
	assert_int_equal(u.fcopy_current_version, FCOPY_KVERSION);
}

/* ------------------------------------------------------------------------ */
/* KVP                                                                       */
/* ------------------------------------------------------------------------ */

struct kvp_env {
	struct kvp_ip_info last_set, last_get_in;
	int n_ip_get, n_ip_set;
};

static int env_auto_value(void *env, unsigned index, char *buf, size_t size)
{
	(void)env;
	if (index >= KVP_AUTO_COUNT)
		return -ENOENT;
	snprintf(buf, size, "auto-%u", index);
	return 0;
}

static uint32_t env_ip_get(void *env, const struct kvp_ip_info *in, struct kvp_ip_info *out)
{
	struct kvp_env *e = env;

	e->n_ip_get++;
	e->last_get_in = *in;
	snprintf(out->adapter_id, sizeof(out->adapter_id), "%s", in->adapter_id);
	out->addr_family = KVP_ADDR_FAMILY_IPV4;
	out->dhcp_enabled = 1;
	snprintf(out->ip_addr, sizeof(out->ip_addr), "192.0.2.10");
	snprintf(out->sub_net, sizeof(out->sub_net), "255.255.255.0");
	snprintf(out->gate_way, sizeof(out->gate_way), "192.0.2.1");
	snprintf(out->dns_addr, sizeof(out->dns_addr), "192.0.2.53;192.0.2.54");
	return VMBUS_HV_S_OK;
}

static uint32_t env_ip_set(void *env, const struct kvp_ip_info *in)
{
	struct kvp_env *e = env;

	e->n_ip_set++;
	e->last_set = *in;
	return VMBUS_HV_S_OK;
}

static const struct kvp_env_ops env_ops = {
	.auto_value = env_auto_value,
	.ip_get = env_ip_get,
	.ip_set = env_ip_set,
};

struct kctx {
	struct kvp k; /* first: chardev userdata for the kvp ops */
	struct kvp_env env;
};

static int kvp_setup(void **state)
{
	struct kctx *c = calloc(1, sizeof(*c));
	struct kvp_pools_config cfg = { .max_records = 8 };

	assert_non_null(c);
	assert_int_equal(kvp_pools_open(&cfg, &c->k.pools), 0);
	c->k.ops = &env_ops;
	c->k.env = &c->env;
	*state = c;
	return 0;
}

static int kvp_teardown(void **state)
{
	struct kctx *c = *state;

	kvp_pools_free(c->k.pools);
	free(c);
	return 0;
}

/* A zeroed kernel message (the kernel kzalloc()s it) in the daemon's read buffer. */
static uint8_t *kmsg_new(unsigned op, unsigned pool)
{
	uint8_t *m = calloc(1, KVP_KMSG_BUF);

	assert_non_null(m);
	m[KVP_OFF_OPERATION] = (uint8_t)op;
	m[KVP_OFF_POOL] = (uint8_t)pool;
	return m;
}

/* A UTF-8 string the way hv_utils writes it: bytes, NUL, size counting the NUL. */
static void kput_str(uint8_t *m, size_t size_off, size_t str_off, const char *s)
{
	memcpy(m + str_off, s, strlen(s) + 1);
	if (size_off != (size_t)-1)
		put_ne32(m + size_off, (uint32_t)strlen(s) + 1);
}

static uint32_t ksend(struct kctx *c, uint8_t *m, size_t len)
{
	uint32_t st = kvp_kernel_message(&c->k, m, len);

	/* The status is always in `error`, where the kernel reads it. */
	assert_int_equal(get_ne32(m + KVP_KMSG_OFF_ERROR), st);
	return st;
}

static uint32_t kset(struct kctx *c, unsigned pool, const char *key, const char *value)
{
	uint8_t *m = kmsg_new(KVP_OP_SET, pool);
	uint32_t st;

	/* value_type stays 0: the kernel never copies it. */
	kput_str(m, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY, key);
	kput_str(m, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE_SIZE, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE, value);
	st = ksend(c, m, KVP_MSG_MAX_LEN);
	free(m);
	return st;
}

/* GET over the chardev: the value where the kernel reads it (the ENUMERATE layout, @532). */
static uint32_t kget(struct kctx *c, unsigned pool, const char *key, char *out, size_t size)
{
	uint8_t *m = kmsg_new(KVP_OP_GET, pool);
	uint32_t st;

	kput_str(m, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY, key);
	st = ksend(c, m, KVP_MSG_MAX_LEN);
	if (st == VMBUS_HV_S_OK) {
		const uint8_t *v = m + KVP_ENUM_OFF_DATA + KVP_VAL_OFF_VALUE;

		assert_non_null(memchr(v, 0, KVP_WIRE_VALUE_SIZE));
		snprintf(out, size, "%s", (const char *)v);
	}
	free(m);
	return st;
}

/* The ring's SET and GET (UTF-16), for "the same pool effect". */
static uint32_t rset(struct kctx *c, unsigned pool, const char *key, const char *value)
{
	uint8_t *b = calloc(1, KVP_GETSET_LEN), *d = b + KVP_GETSET_OFF_DATA;
	uint32_t st;
	int n;

	assert_non_null(b);
	b[KVP_OFF_OPERATION] = KVP_OP_SET;
	b[KVP_OFF_POOL] = (uint8_t)pool;
	put_le32(d + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	n = vmbus_utf8_to_utf16(key, strlen(key), d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, 2 * ((uint32_t)n + 1));
	n = vmbus_utf8_to_utf16(value, strlen(value), d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE);
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, 2 * ((uint32_t)n + 1));
	st = kvp_message(&c->k, b, KVP_GETSET_LEN);
	free(b);
	return st;
}

static void test_kvp_set_get_delete(void **state)
{
	struct kctx *c = *state;
	const char *v;
	char out[KVP_POOL_VALUE_SIZE];
	uint8_t *m;

	/* A kernel SET lands in the pool the ring serves, and the other way round. */
	assert_int_equal(kset(c, KVP_POOL_EXTERNAL, "Key-ü", "value €1"), VMBUS_HV_S_OK);
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_EXTERNAL, "Key-ü", &v), 0);
	assert_string_equal(v, "value €1");
	assert_int_equal(rset(c, KVP_POOL_GUEST, "ring-key", "ring value"), VMBUS_HV_S_OK);
	assert_int_equal(kget(c, KVP_POOL_GUEST, "ring-key", out, sizeof(out)), VMBUS_HV_S_OK);
	assert_string_equal(out, "ring value");
	assert_int_equal(kget(c, KVP_POOL_EXTERNAL, "Key-ü", out, sizeof(out)), VMBUS_HV_S_OK);
	assert_string_equal(out, "value €1");

	/* REG_U32 as hv_utils passes it: decimal text, value_type 0. */
	assert_int_equal(kset(c, KVP_POOL_EXTERNAL, "number", "4294967295"), VMBUS_HV_S_OK);
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_EXTERNAL, "number", &v), 0);
	assert_string_equal(v, "4294967295");

	/* An empty string is a value (value_size 1)... */
	assert_int_equal(kset(c, KVP_POOL_EXTERNAL, "empty", ""), VMBUS_HV_S_OK);
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_EXTERNAL, "empty", &v), 0);
	assert_string_equal(v, "");
	/* ...value_size 0 is what hv_utils sends for a type it does not know: refused, as on the ring. */
	m = kmsg_new(KVP_OP_SET, KVP_POOL_EXTERNAL);
	kput_str(m, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY, "typeless");
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_EXTERNAL, "typeless", &v), -ENOENT);

	/* No such key: HV_S_CONT. */
	assert_int_equal(kget(c, KVP_POOL_EXTERNAL, "missing", out, sizeof(out)), VMBUS_HV_S_CONT);

	/* DELETE, then again. */
	for (int i = 0; i < 2; i++) {
		m = kmsg_new(KVP_OP_DELETE, KVP_POOL_EXTERNAL);
		kput_str(m, KVP_DEL_OFF_KEY_SIZE, KVP_DEL_OFF_KEY, "Key-ü");
		assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), i == 0 ? VMBUS_HV_S_OK : VMBUS_HV_S_CONT);
		free(m);
	}
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_EXTERNAL, "Key-ü", &v), -ENOENT);
}

static uint32_t kenum(struct kctx *c, unsigned pool, uint32_t index, char *key, char *value)
{
	uint8_t *m = kmsg_new(KVP_OP_ENUMERATE, pool);
	uint32_t st;

	put_ne32(m + KVP_ENUM_OFF_INDEX, index);
	st = ksend(c, m, KVP_MSG_MAX_LEN);
	if (st == VMBUS_HV_S_OK) {
		const uint8_t *k = m + KVP_ENUM_OFF_DATA + KVP_VAL_OFF_KEY;
		const uint8_t *v = m + KVP_ENUM_OFF_DATA + KVP_VAL_OFF_VALUE;

		/* The kernel strlen()s both: NUL inside their fields. */
		assert_non_null(memchr(k, 0, KVP_WIRE_KEY_SIZE));
		assert_non_null(memchr(v, 0, KVP_WIRE_VALUE_SIZE));
		strcpy(key, (const char *)k);
		strcpy(value, (const char *)v);
		assert_int_equal(get_ne32(m + KVP_ENUM_OFF_DATA + KVP_VAL_OFF_KEY_SIZE), strlen(key) + 1);
		assert_int_equal(get_ne32(m + KVP_ENUM_OFF_DATA + KVP_VAL_OFF_VALUE_SIZE), strlen(value) + 1);
	}
	free(m);
	return st;
}

static void test_kvp_enumerate(void **state)
{
	struct kctx *c = *state;
	char key[KVP_POOL_KEY_SIZE], value[KVP_POOL_VALUE_SIZE];
	char big[KVP_POOL_VALUE_SIZE];

	assert_int_equal(kset(c, KVP_POOL_GUEST, "a", "1"), VMBUS_HV_S_OK);
	assert_int_equal(rset(c, KVP_POOL_GUEST, "b", "2"), VMBUS_HV_S_OK);
	assert_int_equal(kenum(c, KVP_POOL_GUEST, 0, key, value), VMBUS_HV_S_OK);
	assert_string_equal(key, "a");
	assert_string_equal(value, "1");
	assert_int_equal(kenum(c, KVP_POOL_GUEST, 1, key, value), VMBUS_HV_S_OK);
	assert_string_equal(key, "b");
	assert_string_equal(value, "2");
	assert_int_equal(kenum(c, KVP_POOL_GUEST, 2, key, value), VMBUS_HV_S_CONT);

	/* The AUTO pool is generated. */
	assert_int_equal(kenum(c, KVP_POOL_AUTO, 1, key, value), VMBUS_HV_S_OK);
	assert_string_equal(key, kvp_auto_key(1));
	assert_string_equal(value, "auto-1");
	assert_int_equal(kenum(c, KVP_POOL_AUTO, KVP_AUTO_COUNT, key, value), VMBUS_HV_S_CONT);

	/* The longest value a pool holds (2047 bytes) fits, NUL included. */
	memset(big, 'x', KVP_VALUE_MAX);
	big[KVP_VALUE_MAX] = '\0';
	assert_int_equal(kvp_pool_set(c->k.pools, KVP_POOL_GUEST, "big", big), 0);
	assert_int_equal(kenum(c, KVP_POOL_GUEST, 2, key, value), VMBUS_HV_S_OK);
	assert_string_equal(key, "big");
	/* The ring carries at most 1023 units; the same cut reaches the host either way. */
	assert_int_equal(strlen(value), KVP_WIRE_VALUE_SIZE / 2 - 1);
	assert_true(c->k.n_converted_lossy > 0);
}

static void test_kvp_ip(void **state)
{
	struct kctx *c = *state;
	uint8_t *m = kmsg_new(KVP_OP_GET_IP_INFO, 0);
	const size_t base = KVP_KMSG_IP_BASE;

	kput_str(m, (size_t)-1, base + KVP_IP_OFF_ADAPTER_ID, "00:15:5D:00:00:01");
	m[base + KVP_IP_OFF_ADDR_FAMILY] = KVP_ADDR_FAMILY_IPV4;
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_S_OK);
	assert_int_equal(c->env.n_ip_get, 1);
	assert_string_equal(c->env.last_get_in.adapter_id, "00:15:5D:00:00:01");
	assert_int_equal(c->env.last_get_in.addr_family, KVP_ADDR_FAMILY_IPV4);
	assert_string_equal((const char *)m + base + KVP_IP_OFF_IP_ADDR, "192.0.2.10");
	assert_string_equal((const char *)m + base + KVP_IP_OFF_SUB_NET, "255.255.255.0");
	assert_string_equal((const char *)m + base + KVP_IP_OFF_GATE_WAY, "192.0.2.1");
	assert_string_equal((const char *)m + base + KVP_IP_OFF_DNS_ADDR, "192.0.2.53;192.0.2.54");
	assert_string_equal((const char *)m + base + KVP_IP_OFF_ADAPTER_ID, "00:15:5D:00:00:01");
	assert_int_equal(m[base + KVP_IP_OFF_DHCP_ENABLED], 1);
	free(m);

	m = kmsg_new(KVP_OP_SET_IP_INFO, 0);
	kput_str(m, (size_t)-1, base + KVP_IP_OFF_ADAPTER_ID, "{0123-abcd}");
	kput_str(m, (size_t)-1, base + KVP_IP_OFF_IP_ADDR, "192.0.2.20;2001:db8::20");
	kput_str(m, (size_t)-1, base + KVP_IP_OFF_SUB_NET, "255.255.255.0;64");
	kput_str(m, (size_t)-1, base + KVP_IP_OFF_GATE_WAY, "192.0.2.1");
	kput_str(m, (size_t)-1, base + KVP_IP_OFF_DNS_ADDR, "192.0.2.53");
	m[base + KVP_IP_OFF_ADDR_FAMILY] = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6;
	m[base + KVP_IP_OFF_DHCP_ENABLED] = 0;
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_S_OK);
	assert_int_equal(c->env.n_ip_set, 1);
	assert_string_equal(c->env.last_set.adapter_id, "{0123-abcd}");
	assert_string_equal(c->env.last_set.ip_addr, "192.0.2.20;2001:db8::20");
	assert_string_equal(c->env.last_set.sub_net, "255.255.255.0;64");
	assert_string_equal(c->env.last_set.gate_way, "192.0.2.1");
	assert_string_equal(c->env.last_set.dns_addr, "192.0.2.53");
	assert_int_equal(c->env.last_set.addr_family, 3);
	free(m);
}

/* Every malformed kernel message: HV_E_FAIL in `error`, counted, nothing stored, no overrun (ASan). */
static void test_kvp_refused(void **state)
{
	struct kctx *c = *state;
	static const size_t bad_len[] = { 0, 1, 4, KVP_GETSET_LEN, KVP_MSG_MAX_LEN - 1, KVP_MSG_MAX_LEN + 1,
					  KVP_KMSG_BUF };
	static const uint32_t bad_key_size[] = { 0, KVP_WIRE_KEY_SIZE + 1, 0xffffffffu };
	const size_t ks = KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, ko = KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY;
	const size_t vs = KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE_SIZE, vo = KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE;
	unsigned long failed = c->k.n_failed;
	const char *v;
	uint8_t *m;

	for (size_t i = 0; i < ELEMENTSOF(bad_len); i++) {
		m = kmsg_new(KVP_OP_SET, KVP_POOL_EXTERNAL);
		kput_str(m, ks, ko, "k");
		kput_str(m, vs, vo, "v");
		assert_int_equal(ksend(c, m, bad_len[i]), VMBUS_HV_E_FAIL);
		/* The answer carries nothing but the status. */
		for (size_t j = 4; j < KVP_MSG_MAX_LEN; j++)
			assert_int_equal(m[j], 0);
		free(m);
	}
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_EXTERNAL, "k", &v), -ENOENT);

	/* An unterminated key filling its field. */
	m = kmsg_new(KVP_OP_SET, KVP_POOL_EXTERNAL);
	memset(m + ko, 'k', KVP_WIRE_KEY_SIZE);
	put_ne32(m + ks, KVP_WIRE_KEY_SIZE);
	kput_str(m, vs, vo, "v");
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	/* An unterminated value filling its field. */
	m = kmsg_new(KVP_OP_SET, KVP_POOL_EXTERNAL);
	kput_str(m, ks, ko, "k");
	memset(m + vo, 'v', KVP_WIRE_VALUE_SIZE);
	put_ne32(m + vs, KVP_WIRE_VALUE_SIZE);
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	/* Sizes out of range: 0, past the field. */
	for (size_t i = 0; i < ELEMENTSOF(bad_key_size); i++) {
		m = kmsg_new(KVP_OP_GET, KVP_POOL_EXTERNAL);
		kput_str(m, ks, ko, "k");
		put_ne32(m + ks, bad_key_size[i]);
		assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
		free(m);
	}
	m = kmsg_new(KVP_OP_SET, KVP_POOL_EXTERNAL);
	kput_str(m, ks, ko, "k");
	kput_str(m, vs, vo, "v");
	put_ne32(m + vs, KVP_WIRE_VALUE_SIZE + 1);
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	/* Not UTF-8 (the kernel only ever writes its own conversion). */
	m = kmsg_new(KVP_OP_SET, KVP_POOL_EXTERNAL);
	kput_str(m, ks, ko, "bad\xff");
	kput_str(m, vs, vo, "v");
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	/* Empty key, pool out of range, unknown operation. */
	m = kmsg_new(KVP_OP_SET, KVP_POOL_EXTERNAL);
	kput_str(m, ks, ko, "");
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	m = kmsg_new(KVP_OP_SET, KVP_POOL_COUNT);
	kput_str(m, ks, ko, "k");
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	m = kmsg_new(KVP_OP_REGISTER1, 0);
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	/* An IP field without its NUL. */
	m = kmsg_new(KVP_OP_GET_IP_INFO, 0);
	memset(m + KVP_KMSG_IP_BASE + KVP_IP_OFF_ADAPTER_ID, 'a', KVP_IP_ADAPTER_ID_SIZE);
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
	free(m);
	m = kmsg_new(KVP_OP_SET_IP_INFO, 0);
	kput_str(m, (size_t)-1, KVP_KMSG_IP_BASE + KVP_IP_OFF_ADAPTER_ID, "{guid}");
	memset(m + KVP_KMSG_IP_BASE + KVP_IP_OFF_DNS_ADDR, '1', KVP_IP_DNS_ADDR_SIZE);
	assert_int_equal(ksend(c, m, KVP_MSG_MAX_LEN), VMBUS_HV_INVALIDARG);
	free(m);
	assert_int_equal(c->env.n_ip_get + c->env.n_ip_set, 0);
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_EXTERNAL, "k", &v), -ENOENT);
	assert_true(c->k.n_failed - failed >= ELEMENTSOF(bad_len) + 11);
}

static void test_kvp_register(void **state)
{
	uint8_t *m = calloc(1, KVP_KMSG_BUF);
	char version[64];

	(void)state;
	assert_non_null(m);
	memset(m, 0xaa, KVP_KMSG_BUF);
	assert_int_equal(kvp_kernel_register(m), KVP_MSG_MAX_LEN);
	assert_int_equal(m[KVP_OFF_OPERATION], KVP_OP_REGISTER1);
	for (size_t i = 1; i < KVP_MSG_MAX_LEN; i++)
		assert_int_equal(m[i], 0);

	/* The kernel's answer: operation REGISTER1, version "3.1". */
	memcpy(m + KVP_KMSG_OFF_VERSION, "3.1", 4);
	assert_int_equal(kvp_kernel_register_reply(m, KVP_MSG_MAX_LEN, version, sizeof(version)), 0);
	assert_string_equal(version, "3.1");
	assert_int_equal(kvp_kernel_register_reply(m, 4, version, sizeof(version)), -EPROTO);
	assert_int_equal(kvp_kernel_register_reply(m, KVP_MSG_MAX_LEN + 1, version, sizeof(version)), -EPROTO);
	m[KVP_OFF_OPERATION] = 4; /* the legacy REGISTER */
	assert_int_equal(kvp_kernel_register_reply(m, KVP_MSG_MAX_LEN, version, sizeof(version)), -EPROTO);
	free(m);
}

/* ------------------------------------------------------------------------ */
/* VSS                                                                       */
/* ------------------------------------------------------------------------ */

struct vfake {
	struct vss v; /* first: chardev userdata for the vss ops */
	int n_freeze, n_thaw, n_reset, n_open;
	uint32_t status;
	bool frozen;
	int reset_result;
	int next_fd; /* what the open hook hands out (-errno: fails) */
};

static uint32_t vfake_freeze(void *userdata)
{
	struct vfake *f = userdata;

	f->n_freeze++;
	if (f->status == VMBUS_HV_S_OK)
		f->frozen = true;
	return f->status;
}

static uint32_t vfake_thaw(void *userdata)
{
	struct vfake *f = userdata;

	f->n_thaw++;
	f->frozen = false;
	return f->status;
}

static const struct vss_ops vfake_ops = { .freeze = vfake_freeze, .thaw = vfake_thaw };

static void vfake_init(struct vfake *f)
{
	memset(f, 0, sizeof(*f));
	f->v.ops = &vfake_ops;
	f->v.userdata = f;
	f->next_fd = -ENODEV;
}

static uint32_t vsend(struct vfake *f, unsigned op, size_t len, uint8_t *out)
{
	uint8_t *m = calloc(1, VSS_KMSG_BUF);
	uint32_t st;

	assert_non_null(m);
	m[VSS_OFF_OPERATION] = (uint8_t)op;
	st = vss_kernel_message(&f->v, m, len);
	assert_int_equal(get_ne32(m + VSS_KMSG_OFF_ERROR), st);
	if (out)
		memcpy(out, m, VSS_MSG_LEN);
	free(m);
	return st;
}

static void test_vss_messages(void **state)
{
	static const size_t bad[] = { 0, 1, VSS_MSG_LEN - 1, VSS_MSG_LEN + 1, VSS_KMSG_BUF };
	struct vfake f;
	uint8_t out[VSS_MSG_LEN];

	(void)state;
	vfake_init(&f);
	assert_int_equal(vsend(&f, VSS_OP_FREEZE, VSS_MSG_LEN, NULL), VMBUS_HV_S_OK);
	assert_int_equal(f.n_freeze, 1);
	assert_true(f.frozen);
	assert_int_equal(vsend(&f, VSS_OP_THAW, VSS_MSG_LEN, NULL), VMBUS_HV_S_OK);
	assert_int_equal(f.n_thaw, 1);
	f.status = VMBUS_HV_E_FAIL;
	assert_int_equal(vsend(&f, VSS_OP_FREEZE, VSS_MSG_LEN, out), VMBUS_HV_E_FAIL);
	assert_int_equal(get_ne32(out), VMBUS_HV_E_FAIL);
	f.status = VMBUS_HV_S_OK;
	assert_int_equal(vsend(&f, VSS_OP_HOT_BACKUP, VSS_MSG_LEN, out), VMBUS_HV_S_OK);
	assert_int_equal(get_ne32(out), 0);

	/* Any other size: refused, the freezer untouched. */
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(vsend(&f, VSS_OP_FREEZE, bad[i], NULL), VMBUS_HV_E_FAIL);
	assert_int_equal(f.n_freeze, 2);
	assert_false(f.frozen);
}

static void test_vss_register(void **state)
{
	uint8_t m[VSS_KMSG_BUF];
	uint32_t version = 0;

	(void)state;
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(vss_kernel_register(m), VSS_MSG_LEN);
	assert_int_equal(m[VSS_OFF_OPERATION], VSS_OP_REGISTER1);
	for (size_t i = 1; i < VSS_MSG_LEN; i++)
		assert_int_equal(m[i], 0);
	put_ne32(m, VSS_OP_REGISTER1);
	assert_int_equal(vss_kernel_register_reply(m, 4, &version), 0);
	assert_int_equal(version, VSS_OP_REGISTER1);
	assert_int_equal(vss_kernel_register_reply(m, VSS_MSG_LEN, &version), -EPROTO);
	assert_int_equal(vss_kernel_register_reply(m, 3, &version), -EPROTO);
}

/* ------------------------------------------------------------------------ */
/* fcopy                                                                     */
/* ------------------------------------------------------------------------ */

struct fsink {
	struct fcopy f; /* first: chardev userdata for the fcopy ops */
	char dir[PATH_MAX], name[NAME_MAX + 1];
	uint32_t flags;
	uint64_t size_hint;
	int n_start, n_write, n_complete, n_abort;
	uint64_t bytes, last_offset;
	int next_fd;
	int n_open;
};

static uint32_t fs_start(void *sink, const char *dir, const char *name, uint32_t flags, uint64_t size_hint)
{
	struct fsink *s = sink;

	s->n_start++;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->flags = flags;
	s->size_hint = size_hint;
	return VMBUS_HV_S_OK;
}

static uint32_t fs_write(void *sink, uint64_t offset, const void *data, uint32_t size)
{
	struct fsink *s = sink;
	const uint8_t *d = data;

	for (uint32_t i = 0; i < size; i++)
		assert_int_equal(d[i], pattern_byte(offset, i));
	s->n_write++;
	s->bytes += size;
	s->last_offset = offset;
	return VMBUS_HV_S_OK;
}

static uint32_t fs_complete(void *sink)
{
	((struct fsink *)sink)->n_complete++;
	return VMBUS_HV_S_OK;
}

static void fs_abort(void *sink, const char *why)
{
	(void)why;
	((struct fsink *)sink)->n_abort++;
}

static const struct fcopy_sink_ops fs_ops = {
	.start = fs_start, .write = fs_write, .complete = fs_complete, .abort = fs_abort,
};

static void fsink_init(struct fsink *s)
{
	memset(s, 0, sizeof(*s));
	s->f.ops = &fs_ops;
	s->f.sink = s;
	s->next_fd = -ENODEV;
}

static uint8_t *fstart_new(const char *path, const char *name, uint32_t flags)
{
	uint8_t *m = calloc(1, FCOPY_KMSG_MAX);

	assert_non_null(m);
	put_ne32(m + FCOPY_OFF_OPERATION, FCOPY_OP_START);
	memcpy(m + FCOPY_OFF_FILE_NAME, name, strlen(name));
	memcpy(m + FCOPY_OFF_PATH_NAME, path, strlen(path));
	put_ne32(m + FCOPY_OFF_COPY_FLAGS, flags);
	return m;
}

static uint8_t *fwrite_new(uint64_t offset, uint32_t size)
{
	uint8_t *m = calloc(1, FCOPY_KMSG_MAX);

	assert_non_null(m);
	put_ne32(m + FCOPY_OFF_OPERATION, FCOPY_OP_WRITE);
	memcpy(m + FCOPY_OFF_OFFSET, &offset, sizeof(offset));
	put_ne32(m + FCOPY_OFF_SIZE, size);
	for (uint32_t i = 0; i < size && i < FCOPY_DATA_FRAGMENT; i++)
		m[FCOPY_OFF_DATA + i] = pattern_byte(offset, i);
	return m;
}

static uint32_t fsend(struct fsink *s, uint8_t *m, size_t len)
{
	uint32_t st = fcopy_kernel_message(&s->f, m, len);

	free(m);
	return st;
}

static uint8_t *fop_new(uint32_t op)
{
	uint8_t *m = calloc(1, FCOPY_KMSG_MAX);

	assert_non_null(m);
	put_ne32(m + FCOPY_OFF_OPERATION, op);
	return m;
}

static void test_fcopy_transfer(void **state)
{
	struct fsink s;

	(void)state;
	fsink_init(&s);
	assert_int_equal(fsend(&s, fstart_new("/srv/in/", "ré.txt", FCOPY_FLAG_OVER_WRITE), FCOPY_START_LEN),
			 VMBUS_HV_S_OK);
	assert_int_equal(s.n_start, 1);
	assert_string_equal(s.dir, "/srv/in");
	assert_string_equal(s.name, "ré.txt");
	assert_int_equal(s.flags, FCOPY_FLAG_OVER_WRITE);
	assert_int_equal(fsend(&s, fwrite_new(0, FCOPY_DATA_FRAGMENT), FCOPY_WRITE_LEN), VMBUS_HV_S_OK);
	assert_int_equal(fsend(&s, fwrite_new(FCOPY_DATA_FRAGMENT, 100), FCOPY_WRITE_LEN), VMBUS_HV_S_OK);
	assert_int_equal(s.bytes, FCOPY_DATA_FRAGMENT + 100);
	/* COMPLETE as hv_utils passes it: the ring packet's length, 28 bytes more than its 36. */
	assert_int_equal(fsend(&s, fop_new(FCOPY_OP_COMPLETE), 28 + FCOPY_HDR_LEN), VMBUS_HV_S_OK);
	assert_int_equal(s.n_complete, 1);

	/* The fake CANCEL at hibernation (36 bytes) drops an open transfer. */
	assert_int_equal(fsend(&s, fstart_new("/srv", "b", 0), FCOPY_START_LEN), VMBUS_HV_S_OK);
	assert_int_equal(fsend(&s, fop_new(FCOPY_OP_CANCEL), FCOPY_HDR_LEN), VMBUS_HV_S_OK);
	assert_int_equal(s.n_abort, 1);
	assert_false(s.f.open);
	/* An unknown operation: refused by the shared handler. */
	assert_int_equal(fsend(&s, fop_new(9), FCOPY_HDR_LEN), VMBUS_HV_E_FAIL);
}

static void test_fcopy_refused(void **state)
{
	struct fsink s;
	uint8_t *m;

	(void)state;
	fsink_init(&s);
	assert_int_equal(fsend(&s, fstart_new("/srv", "a", 0), FCOPY_START_LEN - 1), VMBUS_HV_E_FAIL);
	assert_int_equal(fsend(&s, fstart_new("/srv", "a", 0), FCOPY_START_LEN + 1), VMBUS_HV_E_FAIL);
	/* Names without a NUL in their field, or not UTF-8, or no valid target. */
	m = fstart_new("/srv", "a", 0);
	memset(m + FCOPY_OFF_FILE_NAME, 'n', FCOPY_KNAME_FIELD);
	assert_int_equal(fsend(&s, m, FCOPY_START_LEN), VMBUS_HV_E_FAIL);
	m = fstart_new("/srv", "a", 0);
	memset(m + FCOPY_OFF_PATH_NAME, '/', FCOPY_KNAME_FIELD);
	assert_int_equal(fsend(&s, m, FCOPY_START_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(fsend(&s, fstart_new("/srv", "bad\xc3", 0), FCOPY_START_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(fsend(&s, fstart_new("/srv/../etc", "passwd", 0), FCOPY_START_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(fsend(&s, fstart_new("srv", "a", 0), FCOPY_START_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(s.n_start, 0);

	assert_int_equal(fsend(&s, fstart_new("/srv", "a", 0), FCOPY_START_LEN), VMBUS_HV_S_OK);
	/* A WRITE of the wrong size, or past its fragment: refused, and the transfer with it. */
	assert_int_equal(fsend(&s, fwrite_new(0, 10), FCOPY_WRITE_LEN - 1), VMBUS_HV_E_FAIL);
	assert_false(s.f.open);
	assert_int_equal(s.n_abort, 1);
	assert_int_equal(fsend(&s, fstart_new("/srv", "a", 0), FCOPY_START_LEN), VMBUS_HV_S_OK);
	assert_int_equal(fsend(&s, fwrite_new(0, FCOPY_DATA_FRAGMENT + 1), FCOPY_WRITE_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(fsend(&s, fwrite_new(UINT64_MAX - 5, 10), FCOPY_WRITE_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(s.n_write, 0);
	/* No operation, or longer than the kernel's receive buffer. */
	assert_int_equal(fsend(&s, fop_new(FCOPY_OP_COMPLETE), 3), VMBUS_HV_E_FAIL);
	assert_int_equal(fcopy_kernel_message(&s.f, (uint8_t[FCOPY_KMSG_MAX + 1]){ FCOPY_OP_COMPLETE },
					      FCOPY_KMSG_MAX + 1),
			 VMBUS_HV_E_FAIL);
	assert_int_equal(s.n_complete, 0);
}

static void test_fcopy_register(void **state)
{
	uint8_t m[8];
	uint32_t version = 0;

	(void)state;
	assert_int_equal(fcopy_kernel_register(m), 4);
	assert_int_equal(get_ne32(m), FCOPY_KVERSION);
	assert_int_equal(fcopy_kernel_register_reply(m, 4, &version), 0);
	assert_int_equal(version, FCOPY_KVERSION);
	assert_int_equal(fcopy_kernel_register_reply(m, 0, &version), -EPROTO);
	assert_int_equal(fcopy_kernel_register_reply(m, 8, &version), -EPROTO);
}

/* ------------------------------------------------------------------------ */
/* chardev.c over SOCK_SEQPACKET socketpairs                                 */
/* ------------------------------------------------------------------------ */

/* A "kernel" end and a "device" end; the device end is what open() returns. */
static void pair(int *kernel, int *dev)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	*kernel = sv[0];
	*dev = sv[1];
}

static void kwrite(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

static ssize_t kread(int fd, void *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 2000), 1);
	return read(fd, buf, size);
}

/* A "kernel" that has already answered the VSS registration; returns its end. */
static int vss_kernel_ready(int *dev)
{
	uint32_t v = VSS_OP_REGISTER1;
	int k;

	pair(&k, dev);
	kwrite(k, &v, sizeof(v));
	return k;
}

static int vfake_open(void *userdata, const char *path)
{
	struct vfake *f = userdata;
	int fd = f->next_fd;

	(void)path;
	f->n_open++;
	f->next_fd = -ENODEV;
	return fd;
}

static int vfake_reset(void *userdata, const char *why)
{
	struct vfake *f = userdata;

	(void)why;
	f->n_reset++;
	/* As hv-vssd: thaw first; give up if that fails. */
	if (f->frozen)
		vfake_thaw(f);
	return f->reset_result;
}

static struct chardev_ops vss_test_ops(void)
{
	struct chardev_ops o = vss_chardev_ops;

	o.open = vfake_open;
	o.reset = vfake_reset;
	return o;
}

static void assert_registration(int k)
{
	uint8_t m[64];

	assert_int_equal(kread(k, m, sizeof(m)), VSS_MSG_LEN);
	assert_int_equal(m[VSS_OFF_OPERATION], VSS_OP_REGISTER1);
}

/* One request through the device: the answer's status. */
static uint32_t serve(struct chardev *cd, int k, unsigned op, size_t len)
{
	uint8_t m[64] = { 0 };

	m[VSS_OFF_OPERATION] = (uint8_t)op;
	kwrite(k, m, len);
	assert_int_equal(chardev_process(cd), 0);
	assert_int_equal(kread(k, m, sizeof(m)), VSS_MSG_LEN);
	return get_ne32(m);
}

static void test_chardev_register_serve(void **state)
{
	struct chardev_ops o = vss_test_ops();
	struct chardev *cd = NULL;
	struct vfake f;
	int k, dev;

	(void)state;
	vfake_init(&f);
	k = vss_kernel_ready(&dev);
	f.next_fd = dev;
	assert_int_equal(chardev_open("/dev/vmbus/hv_vss", &o, &f, 2000, &cd), 0);
	assert_int_equal(chardev_get_fd(cd), dev);
	assert_string_equal(chardev_get_path(cd), "/dev/vmbus/hv_vss");
	assert_registration(k);

	assert_int_equal(serve(cd, k, VSS_OP_FREEZE, VSS_MSG_LEN), VMBUS_HV_S_OK);
	assert_true(f.frozen);
	assert_int_equal(serve(cd, k, VSS_OP_THAW, VSS_MSG_LEN), VMBUS_HV_S_OK);
	assert_false(f.frozen);
	/* A message of the wrong size is answered with a failure, and the device stays. */
	assert_int_equal(serve(cd, k, VSS_OP_FREEZE, VSS_MSG_LEN + 1), VMBUS_HV_E_FAIL);
	assert_int_equal(serve(cd, k, VSS_OP_FREEZE, 3), VMBUS_HV_E_FAIL);
	assert_int_equal(f.n_freeze, 1);
	assert_int_equal(chardev_get_reopens(cd), 0);
	assert_int_equal(f.n_reset, 0);
	chardev_free(cd);
	close(k);
}

static void test_chardev_register_fails(void **state)
{
	struct chardev_ops o = vss_test_ops();
	struct chardev *cd = NULL;
	struct vfake f;
	uint8_t m[VSS_MSG_LEN] = { 0 };
	int k, dev;

	(void)state;
	vfake_init(&f);
	/* No answer at all: a timeout. */
	pair(&k, &dev);
	f.next_fd = dev;
	assert_int_equal(chardev_open("x", &o, &f, 100, &cd), -ETIMEDOUT);
	assert_null(cd);
	assert_registration(k);
	close(k);
	/* An answer of the wrong size ("invalid version negotiation"). */
	pair(&k, &dev);
	kwrite(k, m, sizeof(m));
	f.next_fd = dev;
	assert_int_equal(chardev_open("x", &o, &f, 2000, &cd), -EPROTO);
	close(k);
	/* The kernel goes away before answering. */
	pair(&k, &dev);
	close(k);
	f.next_fd = dev;
	assert_true(chardev_open("x", &o, &f, 2000, &cd) < 0);
	/* No device. */
	assert_int_equal(chardev_open("x", &o, &f, 2000, &cd), -ENODEV);
	assert_null(cd);
}

static void test_chardev_reopen(void **state)
{
	struct chardev_ops o = vss_test_ops();
	struct chardev *cd = NULL;
	struct vfake f;
	int k, dev, k2, dev2;

	(void)state;
	vfake_init(&f);
	k = vss_kernel_ready(&dev);
	f.next_fd = dev;
	assert_int_equal(chardev_open("/dev/vmbus/hv_vss", &o, &f, 2000, &cd), 0);
	assert_registration(k);
	assert_int_equal(serve(cd, k, VSS_OP_FREEZE, VSS_MSG_LEN), VMBUS_HV_S_OK);
	assert_true(f.frozen);

	/* The kernel resets the device (a read error): thaw, reopen, register again, serve on. */
	close(k);
	k2 = vss_kernel_ready(&dev2);
	f.next_fd = dev2;
	assert_int_equal(chardev_process(cd), 1);
	assert_int_equal(f.n_reset, 1);
	assert_false(f.frozen);
	assert_int_equal(f.n_thaw, 1);
	assert_int_equal(chardev_get_fd(cd), dev2);
	assert_int_equal(chardev_get_reopens(cd), 1);
	assert_registration(k2);
	assert_int_equal(serve(cd, k2, VSS_OP_FREEZE, VSS_MSG_LEN), VMBUS_HV_S_OK);

	/* A write error: the request was read, the answer cannot be written (the kernel closed meanwhile). */
	{
		uint8_t m[VSS_MSG_LEN] = { VSS_OP_THAW };
		int k3, dev3;

		kwrite(k2, m, sizeof(m));
		shutdown(k2, SHUT_RD);
		k3 = vss_kernel_ready(&dev3);
		f.next_fd = dev3;
		assert_int_equal(chardev_process(cd), 1);
		assert_int_equal(f.n_reset, 2);
		assert_int_equal(chardev_get_reopens(cd), 2);
		assert_registration(k3);
		close(k2);
		close(k3);
	}
	chardev_free(cd);
}

static void test_chardev_reopen_fails(void **state)
{
	struct chardev_ops o = vss_test_ops();
	struct chardev *cd = NULL;
	struct vfake f;
	int k, dev, k2, dev2;

	(void)state;
	vfake_init(&f);
	k = vss_kernel_ready(&dev);
	f.next_fd = dev;
	assert_int_equal(chardev_open("d", &o, &f, 2000, &cd), 0);
	assert_registration(k);
	assert_int_equal(serve(cd, k, VSS_OP_FREEZE, VSS_MSG_LEN), VMBUS_HV_S_OK);

	/* The thaw before reopening fails: give up without reopening. */
	close(k);
	f.reset_result = -EIO;
	k2 = vss_kernel_ready(&dev2);
	f.next_fd = dev2;
	f.n_open = 0;
	assert_int_equal(chardev_process(cd), -EIO);
	assert_int_equal(f.n_open, 0);
	assert_int_equal(f.n_thaw, 1);
	chardev_free(cd);
	close(k2);
	close(dev2);

	/* The device cannot be opened again: fatal. */
	vfake_init(&f);
	k = vss_kernel_ready(&dev);
	f.next_fd = dev;
	assert_int_equal(chardev_open("d", &o, &f, 2000, &cd), 0);
	close(k);
	assert_int_equal(chardev_process(cd), -ENODEV);
	assert_int_equal(f.n_open, 2);
	chardev_free(cd);
}

static int fsink_open(void *userdata, const char *path)
{
	struct fsink *s = userdata;
	int fd = s->next_fd;

	(void)path;
	s->n_open++;
	s->next_fd = -ENODEV;
	return fd;
}

/* fcopy over the device: the version handshake, a 4-byte answer, and a reset drops the transfer. */
static void test_chardev_fcopy(void **state)
{
	struct chardev_ops o = fcopy_chardev_ops;
	struct chardev *cd = NULL;
	struct fsink s;
	uint8_t *m, buf[16];
	uint32_t v = FCOPY_KVERSION;
	int k, dev, k2, dev2;

	(void)state;
	fsink_init(&s);
	o.open = fsink_open;
	pair(&k, &dev);
	kwrite(k, &v, sizeof(v));
	s.next_fd = dev;
	assert_int_equal(chardev_open("f", &o, &s, 2000, &cd), 0);
	assert_int_equal(kread(k, buf, sizeof(buf)), 4);
	assert_int_equal(get_ne32(buf), FCOPY_KVERSION);

	m = fstart_new("/srv", "x", 0);
	kwrite(k, m, FCOPY_START_LEN);
	free(m);
	assert_int_equal(chardev_process(cd), 0);
	assert_int_equal(kread(k, buf, sizeof(buf)), 4);
	assert_int_equal(get_ne32(buf), VMBUS_HV_S_OK);
	assert_true(s.f.open);
	m = fwrite_new(0, 10);
	kwrite(k, m, FCOPY_WRITE_LEN);
	free(m);
	assert_int_equal(chardev_process(cd), 0);
	assert_int_equal(kread(k, buf, sizeof(buf)), 4);
	assert_int_equal(get_ne32(buf), VMBUS_HV_S_OK);
	assert_int_equal(s.bytes, 10);

	/* The kernel resets: the open transfer is aborted before the device is reopened. */
	close(k);
	pair(&k2, &dev2);
	kwrite(k2, &v, sizeof(v));
	s.next_fd = dev2;
	assert_int_equal(chardev_process(cd), 1);
	assert_false(s.f.open);
	assert_int_equal(s.n_abort, 1);
	assert_int_equal(kread(k2, buf, sizeof(buf)), 4);
	chardev_free(cd);
	close(k2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test_setup_teardown(test_kvp_set_get_delete, kvp_setup, kvp_teardown),
		cmocka_unit_test_setup_teardown(test_kvp_enumerate, kvp_setup, kvp_teardown),
		cmocka_unit_test_setup_teardown(test_kvp_ip, kvp_setup, kvp_teardown),
		cmocka_unit_test_setup_teardown(test_kvp_refused, kvp_setup, kvp_teardown),
		cmocka_unit_test(test_kvp_register),
		cmocka_unit_test(test_vss_messages),
		cmocka_unit_test(test_vss_register),
		cmocka_unit_test(test_fcopy_transfer),
		cmocka_unit_test(test_fcopy_refused),
		cmocka_unit_test(test_fcopy_register),
		cmocka_unit_test(test_chardev_register_serve),
		cmocka_unit_test(test_chardev_register_fails),
		cmocka_unit_test(test_chardev_reopen),
		cmocka_unit_test(test_chardev_reopen_fails),
		cmocka_unit_test(test_chardev_fcopy),
	};

	signal(SIGPIPE, SIG_IGN); /* a write error is a test case, not a death */
	log_set_max_level(LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
