/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-kvpd's protocol logic (daemons/kvp/kvp-proto.c) over memory-only pools
 * and a fake environment: every operation, the statuses, the conversions,
 * and what a hostile host can send.
 *
 * Messages are built byte by byte from the offsets of kvp-wire.h and handed
 * over in a heap copy of exactly their length, so under ASan a handler that
 * reads or writes past the message fails the test.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-util.h"
#include "vmbus/vmbus.h"

#include "kvp-auto.h"
#include "kvp-proto.h"
#include "log.h"

/* ------------------------------------------------------------------------ */
/* Fake environment                                                          */
/* ------------------------------------------------------------------------ */

struct fake_env {
	struct kvp_ip_info last_set; /* what SET_IP_INFO passed on */
	struct kvp_ip_info last_get_in;
	int n_ip_get, n_ip_set;
	uint32_t ip_status; /* what ip_get/ip_set answer */
};

static int fake_auto_value(void *env, unsigned index, char *buf, size_t size)
{
	(void)env;
	if (index >= KVP_AUTO_COUNT)
		return -ENOENT;
	snprintf(buf, size, "value-%u-%s", index, kvp_auto_key(index));
	return 0;
}

static uint32_t fake_ip_get(void *env, const struct kvp_ip_info *in, struct kvp_ip_info *out)
{
	struct fake_env *e = env;

	e->n_ip_get++;
	e->last_get_in = *in;
	if (e->ip_status)
		return e->ip_status;
	snprintf(out->adapter_id, sizeof(out->adapter_id), "%s", in->adapter_id);
	out->addr_family = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6;
	out->dhcp_enabled = 1;
	snprintf(out->ip_addr, sizeof(out->ip_addr), "192.0.2.10;2001:db8::10");
	snprintf(out->sub_net, sizeof(out->sub_net), "255.255.255.0;/64");
	snprintf(out->gate_way, sizeof(out->gate_way), "192.0.2.1");
	snprintf(out->dns_addr, sizeof(out->dns_addr), "192.0.2.53");
	return VMBUS_HV_S_OK;
}

static uint32_t fake_ip_set(void *env, const struct kvp_ip_info *in)
{
	struct fake_env *e = env;

	e->n_ip_set++;
	e->last_set = *in;
	return e->ip_status;
}

static const struct kvp_env_ops fake_ops = {
	.auto_value = fake_auto_value,
	.ip_get = fake_ip_get,
	.ip_set = fake_ip_set,
};

struct ctx {
	struct kvp k;
	struct fake_env env;
	char dir[64]; /* for the file-backed tests, else "" */
};

static int setup_with(void **state, bool files)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct kvp_pools_config cfg = { .max_records = 4 };

	assert_non_null(c);
	if (files) {
		snprintf(c->dir, sizeof(c->dir), "/tmp/test-kvp-XXXXXX");
		assert_non_null(mkdtemp(c->dir));
		cfg.dir = c->dir;
	}
	assert_int_equal(kvp_pools_open(&cfg, &c->k.pools), 0);
	c->k.ops = &fake_ops;
	c->k.env = &c->env;
	*state = c;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

static int setup_files(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	kvp_pools_free(c->k.pools);
	if (c->dir[0])
		test_rm_rf(c->dir);
	free(c);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Message building                                                          */
/* ------------------------------------------------------------------------ */

/* A zeroed body of len bytes on the heap (exactly len: ASan sees overruns). */
static uint8_t *body_new(size_t len, unsigned op, unsigned pool)
{
	uint8_t *b = calloc(1, len ? len : 1);

	assert_non_null(b);
	if (len > KVP_OFF_OPERATION)
		b[KVP_OFF_OPERATION] = (uint8_t)op;
	if (len > KVP_OFF_POOL)
		b[KVP_OFF_POOL] = (uint8_t)pool;
	return b;
}

/* A UTF-8 string into a UTF-16 field; returns the size in bytes counting the NUL. */
static uint32_t put_str(uint8_t *field, size_t field_size, const char *s)
{
	int n = vmbus_utf8_to_utf16(s, strlen(s), field, field_size);

	assert_true(n >= 0);
	return 2 * ((uint32_t)n + 1);
}

/* The UTF-16 string of a reply field as UTF-8 (static buffer). */
static const char *get_str(const uint8_t *field, size_t field_size)
{
	static char out[4 * KVP_WIRE_VALUE_SIZE];

	assert_true(vmbus_utf16_to_utf8(field, field_size, out, sizeof(out)) >= 0);
	return out;
}

/* Copy a reply string out, failing the test if it does not fit. */
static void copy_out(char *out, size_t size, const char *s)
{
	size_t n = strlen(s);

	assert_true(n < size);
	memcpy(out, s, n + 1);
}

static uint32_t send_msg(struct ctx *c, uint8_t *b, size_t len)
{
	uint32_t st = kvp_message(&c->k, b, len);

	return st;
}

static uint32_t do_set_sz(struct ctx *c, unsigned pool, const char *key, const char *value)
{
	uint8_t *b = body_new(KVP_GETSET_LEN, KVP_OP_SET, pool), *d = b + KVP_GETSET_OFF_DATA;
	uint32_t st;

	put_le32(d + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, put_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, key));
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, put_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, value));
	st = send_msg(c, b, KVP_GETSET_LEN);
	free(b);
	return st;
}

/* GET: status; the value (UTF-8) into out when found. */
static uint32_t do_get(struct ctx *c, unsigned pool, const char *key, char *out, size_t size)
{
	uint8_t *b = body_new(KVP_GETSET_LEN, KVP_OP_GET, pool), *d = b + KVP_GETSET_OFF_DATA;
	uint32_t st;

	put_le32(d + KVP_VAL_OFF_KEY_SIZE, put_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, key));
	st = send_msg(c, b, KVP_GETSET_LEN);
	if (st == VMBUS_HV_S_OK && out) {
		const char *v = get_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE);
		size_t units = 0;

		while (get_le16(d + KVP_VAL_OFF_VALUE + 2 * units))
			units++;
		assert_int_equal(get_le32(d + KVP_VAL_OFF_TYPE), KVP_REG_SZ);
		assert_int_equal(get_le32(d + KVP_VAL_OFF_VALUE_SIZE), 2 * (units + 1));
		copy_out(out, size, v);
	}
	free(b);
	return st;
}

static uint32_t do_delete(struct ctx *c, unsigned pool, const char *key)
{
	uint8_t *b = body_new(KVP_DEL_LEN, KVP_OP_DELETE, pool);
	uint32_t st;

	put_le32(b + KVP_DEL_OFF_KEY_SIZE, put_str(b + KVP_DEL_OFF_KEY, KVP_WIRE_KEY_SIZE, key));
	st = send_msg(c, b, KVP_DEL_LEN);
	free(b);
	return st;
}

/* ENUMERATE index: status; key and value (UTF-8) on success. */
static uint32_t do_enum(struct ctx *c, unsigned pool, uint32_t index, char *key, size_t ksize, char *value,
			size_t vsize)
{
	uint8_t *b = body_new(KVP_ENUM_LEN, KVP_OP_ENUMERATE, pool), *d = b + KVP_ENUM_OFF_DATA;
	uint32_t st;

	put_le32(b + KVP_ENUM_OFF_INDEX, index);
	st = send_msg(c, b, KVP_ENUM_LEN);
	if (st == VMBUS_HV_S_OK) {
		size_t ku = 0, vu = 0;

		while (get_le16(d + KVP_VAL_OFF_KEY + 2 * ku))
			ku++;
		while (get_le16(d + KVP_VAL_OFF_VALUE + 2 * vu))
			vu++;
		assert_int_equal(get_le32(d + KVP_VAL_OFF_TYPE), KVP_REG_SZ);
		assert_int_equal(get_le32(d + KVP_VAL_OFF_KEY_SIZE), 2 * (ku + 1));
		assert_int_equal(get_le32(d + KVP_VAL_OFF_VALUE_SIZE), 2 * (vu + 1));
		copy_out(key, ksize, get_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE));
		copy_out(value, vsize, get_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE));
	}
	free(b);
	return st;
}

/* ------------------------------------------------------------------------ */
/* GET / SET / DELETE                                                        */
/* ------------------------------------------------------------------------ */

static void test_set_get_delete_every_pool(void **state)
{
	struct ctx *c = *state;
	char v[4096], key[32], val[32];

	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++) {
		snprintf(key, sizeof(key), "key-%u", pool);
		snprintf(val, sizeof(val), "value in pool %u", pool);
		assert_int_equal(do_get(c, pool, key, v, sizeof(v)), VMBUS_HV_S_CONT);
		assert_int_equal(do_set_sz(c, pool, key, val), VMBUS_HV_S_OK);
		assert_int_equal(do_get(c, pool, key, v, sizeof(v)), VMBUS_HV_S_OK);
		assert_string_equal(v, val);
		/* Other pools do not see it. */
		assert_int_equal(do_get(c, (pool + 1) % KVP_POOL_COUNT, key, v, sizeof(v)), VMBUS_HV_S_CONT);
		/* Modify. */
		assert_int_equal(do_set_sz(c, pool, key, "second"), VMBUS_HV_S_OK);
		assert_int_equal(do_get(c, pool, key, v, sizeof(v)), VMBUS_HV_S_OK);
		assert_string_equal(v, "second");
		assert_int_equal(do_delete(c, pool, key), VMBUS_HV_S_OK);
		assert_int_equal(do_get(c, pool, key, v, sizeof(v)), VMBUS_HV_S_CONT);
		assert_int_equal(do_delete(c, pool, key), VMBUS_HV_S_CONT);
	}
}

static void test_non_ascii_and_astral(void **state)
{
	struct ctx *c = *state;
	const char *key = "Grüße-報告-📦", *value = "naïve 🎉 日本語 \xf0\x9f\x98\x80";
	const char *stored;
	char v[4096];

	assert_int_equal(do_set_sz(c, KVP_POOL_GUEST, key, value), VMBUS_HV_S_OK);
	assert_int_equal(kvp_pool_get(c->k.pools, KVP_POOL_GUEST, key, &stored), 0);
	assert_string_equal(stored, value); /* stored as UTF-8 */
	assert_int_equal(do_get(c, KVP_POOL_GUEST, key, v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(v, value);
}

static void test_empty_value(void **state)
{
	struct ctx *c = *state;
	char v[16] = "x";

	assert_int_equal(do_set_sz(c, 0, "empty", ""), VMBUS_HV_S_OK);
	assert_int_equal(do_get(c, 0, "empty", v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(v, "");
}

static uint32_t set_int(struct ctx *c, const char *key, uint32_t type, uint64_t value, uint32_t value_size)
{
	uint8_t *b = body_new(KVP_GETSET_LEN, KVP_OP_SET, 0), *d = b + KVP_GETSET_OFF_DATA;
	uint32_t st;

	put_le32(d + KVP_VAL_OFF_TYPE, type);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, put_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, key));
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, value_size);
	for (int i = 0; i < 8; i++)
		d[KVP_VAL_OFF_VALUE + i] = (uint8_t)(value >> (8 * i));
	st = send_msg(c, b, KVP_GETSET_LEN);
	free(b);
	return st;
}

static void test_reg_u32_u64(void **state)
{
	struct ctx *c = *state;
	const char *stored;

	assert_int_equal(set_int(c, "u32", KVP_REG_U32, 4294967295u, 4), VMBUS_HV_S_OK);
	assert_int_equal(kvp_pool_get(c->k.pools, 0, "u32", &stored), 0);
	assert_string_equal(stored, "4294967295");
	/* Only the low 4 bytes count for REG_U32. */
	assert_int_equal(set_int(c, "u32b", KVP_REG_U32, 0xffffffff00000007ull, 4), VMBUS_HV_S_OK);
	assert_int_equal(kvp_pool_get(c->k.pools, 0, "u32b", &stored), 0);
	assert_string_equal(stored, "7");
	assert_int_equal(set_int(c, "u64", KVP_REG_U64, 18446744073709551615ull, 8), VMBUS_HV_S_OK);
	assert_int_equal(kvp_pool_get(c->k.pools, 0, "u64", &stored), 0);
	assert_string_equal(stored, "18446744073709551615");
	/* Unknown types are refused and store nothing. */
	assert_int_equal(set_int(c, "bad", 3, 1, 4), VMBUS_HV_E_FAIL);
	assert_int_equal(set_int(c, "bad", 0, 1, 4), VMBUS_HV_E_FAIL);
	assert_int_equal(set_int(c, "bad", 11, 1, 8), VMBUS_HV_E_FAIL);
	assert_int_equal(kvp_pool_get(c->k.pools, 0, "bad", &stored), -ENOENT);
}

/* A key or value of n copies of the UTF-8 character ch. */
static char *repeat(const char *ch, size_t n)
{
	size_t l = strlen(ch);
	char *s = malloc(n * l + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * l, ch, l);
	s[n * l] = '\0';
	return s;
}

static void test_limits(void **state)
{
	struct ctx *c = *state;
	char *k255 = repeat("k", 255), *v1023 = repeat("v", 1023), *cjk = repeat("報", 255);
	char v[4096];
	uint8_t *b;
	uint8_t *d;

	/* The largest key and value the wire carries: 255 and 1023 units plus the NUL. */
	assert_int_equal(do_set_sz(c, 1, k255, v1023), VMBUS_HV_S_OK);
	assert_int_equal(do_get(c, 1, k255, v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(v, v1023);

	/* 255 CJK units are 765 UTF-8 bytes: more than a pool record's key holds. Refused, not cut. */
	assert_int_equal(do_set_sz(c, 1, cjk, "x"), VMBUS_HV_E_FAIL);
	assert_int_equal(kvp_pool_count(c->k.pools, 1), 1);

	/* A key filling all 256 units of its field has no NUL: refused. */
	b = body_new(KVP_GETSET_LEN, KVP_OP_SET, 1);
	d = b + KVP_GETSET_OFF_DATA;
	put_le32(d + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	for (int i = 0; i < KVP_WIRE_KEY_SIZE; i += 2)
		put_le16(d + KVP_VAL_OFF_KEY + i, 'a');
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, KVP_WIRE_KEY_SIZE);
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, put_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, "x"));
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	/* Same for a value filling its 1024 units. */
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, put_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, "k"));
	for (int i = 0; i < KVP_WIRE_VALUE_SIZE; i += 2)
		put_le16(d + KVP_VAL_OFF_VALUE + i, 'b');
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, KVP_WIRE_VALUE_SIZE);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	/* Sizes over the fields. */
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, KVP_WIRE_VALUE_SIZE + 2);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, 100000);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, 4);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, 0);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, KVP_WIRE_KEY_SIZE + 2);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, 100000);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, 3); /* odd */
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	/* An empty key. */
	put_le16(d + KVP_VAL_OFF_KEY, 0);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, 2);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(kvp_pool_count(c->k.pools, 1), 1);
	free(b);
	free(k255);
	free(v1023);
	free(cjk);
}

static void test_invalid_utf16(void **state)
{
	struct ctx *c = *state;
	uint8_t *b = body_new(KVP_GETSET_LEN, KVP_OP_SET, 0), *d = b + KVP_GETSET_OFF_DATA;

	put_le32(d + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	put_le16(d + KVP_VAL_OFF_KEY, 'a');
	put_le16(d + KVP_VAL_OFF_KEY + 2, 0xd800); /* lone high surrogate */
	put_le16(d + KVP_VAL_OFF_KEY + 4, 'b');
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, 8);
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, put_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, "x"));
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	/* In the value. */
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, put_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, "k"));
	put_le16(d + KVP_VAL_OFF_VALUE, 0xdc00);
	assert_int_equal(send_msg(c, b, KVP_GETSET_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(kvp_pool_count(c->k.pools, 0), 0);
	free(b);
}

static void test_bad_pool_and_op(void **state)
{
	struct ctx *c = *state;

	for (unsigned pool = KVP_POOL_COUNT; pool < 256; pool += 50) {
		char v[16];

		assert_int_equal(do_set_sz(c, pool, "k", "v"), VMBUS_HV_E_FAIL);
		assert_int_equal(do_get(c, pool, "k", v, sizeof(v)), VMBUS_HV_E_FAIL);
		assert_int_equal(do_delete(c, pool, "k"), VMBUS_HV_E_FAIL);
	}
	assert_int_equal(do_set_sz(c, 7, "k", "v"), VMBUS_HV_E_FAIL);
	for (unsigned op = KVP_OP_COUNT; op < 256; op += 7) {
		uint8_t *b = body_new(KVP_MSG_MAX_LEN, op, 0);

		assert_int_equal(send_msg(c, b, KVP_MSG_MAX_LEN), VMBUS_HV_E_FAIL);
		free(b);
	}
	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++)
		assert_int_equal(kvp_pool_count(c->k.pools, pool), 0);
}

/*
 * Every operation at every length short of what it needs: an error, never an
 * access past the message. GET, ENUMERATE and the IP operations need their
 * whole structure (the answer is written into it); DELETE needs its key and
 * SET its key and value as far as their sizes say, since the kernel does not
 * require a host to send the whole union.
 */
static void test_short_messages(void **state)
{
	struct ctx *c = *state;
	const size_t set_min = KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE + 2; /* value "" as one NUL unit */
	static const struct {
		unsigned op;
		size_t min;
	} ops[] = {
		{ KVP_OP_GET, KVP_GETSET_LEN },
		{ KVP_OP_SET, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE + 2 },
		{ KVP_OP_DELETE, KVP_DEL_OFF_KEY + 4 },
		{ KVP_OP_ENUMERATE, KVP_ENUM_LEN },
		{ KVP_OP_GET_IP_INFO, KVP_IP_LEN },
		{ KVP_OP_SET_IP_INFO, KVP_IP_LEN },
	};
	uint8_t *b;

	assert_int_equal(do_set_sz(c, 0, "k", "v"), VMBUS_HV_S_OK);
	for (size_t i = 0; i < ELEMENTSOF(ops); i++)
		for (size_t len = 0; len < ops[i].min; len += (len < 64 ? 1 : 61)) {
			b = body_new(len, ops[i].op, 0);
			/* Sizes that would be valid if the message were long enough. */
			if (ops[i].op == KVP_OP_DELETE && len >= KVP_DEL_OFF_KEY) {
				put_le32(b + KVP_DEL_OFF_KEY_SIZE, 4);
				if (len >= KVP_DEL_OFF_KEY + 2)
					put_le16(b + KVP_DEL_OFF_KEY, 'k');
			} else if (ops[i].op <= KVP_OP_SET && len >= KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY + 4) {
				uint8_t *d = b + KVP_GETSET_OFF_DATA;

				put_le32(d + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
				put_le32(d + KVP_VAL_OFF_KEY_SIZE, 4);
				put_le16(d + KVP_VAL_OFF_KEY, 'k');
				if (len >= KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE)
					put_le32(d + KVP_VAL_OFF_VALUE_SIZE, 2);
			}
			assert_int_equal(send_msg(c, b, len), VMBUS_HV_E_FAIL);
			free(b);
		}
	/* At the minimum they work: a SET of "" on "k", then a DELETE of it. */
	b = body_new(set_min, KVP_OP_SET, 0);
	put_le32(b + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	put_le32(b + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, 4);
	put_le16(b + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY, 'k');
	put_le32(b + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE_SIZE, 2);
	assert_int_equal(send_msg(c, b, set_min), VMBUS_HV_S_OK);
	free(b);
	{
		const char *v;

		assert_int_equal(kvp_pool_get(c->k.pools, 0, "k", &v), 0);
		assert_string_equal(v, "");
	}
	b = body_new(KVP_DEL_OFF_KEY + 4, KVP_OP_DELETE, 0);
	put_le32(b + KVP_DEL_OFF_KEY_SIZE, 4);
	put_le16(b + KVP_DEL_OFF_KEY, 'k');
	assert_int_equal(send_msg(c, b, KVP_DEL_OFF_KEY + 4), VMBUS_HV_S_OK);
	free(b);
	assert_int_equal(kvp_pool_count(c->k.pools, 0), 0);
}

/* A host sending the full 7432-byte hv_kvp_msg for every operation. */
static void test_full_size_messages(void **state)
{
	struct ctx *c = *state;
	uint8_t *b = body_new(KVP_MSG_MAX_LEN, KVP_OP_SET, 2), *d = b + KVP_GETSET_OFF_DATA;

	put_le32(d + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	put_le32(d + KVP_VAL_OFF_KEY_SIZE, put_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, "big"));
	put_le32(d + KVP_VAL_OFF_VALUE_SIZE, put_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, "msg"));
	assert_int_equal(send_msg(c, b, KVP_MSG_MAX_LEN), VMBUS_HV_S_OK);
	b[KVP_OFF_OPERATION] = KVP_OP_GET;
	memset(d + KVP_VAL_OFF_VALUE, 0xee, KVP_WIRE_VALUE_SIZE);
	assert_int_equal(send_msg(c, b, KVP_MSG_MAX_LEN), VMBUS_HV_S_OK);
	assert_string_equal(get_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE), "msg");
	free(b);
}

/* ------------------------------------------------------------------------ */
/* ENUMERATE                                                                 */
/* ------------------------------------------------------------------------ */

static void test_enumerate_pool(void **state)
{
	struct ctx *c = *state;
	char k[1024], v[4096];

	assert_int_equal(do_enum(c, 3, 0, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_CONT);
	assert_int_equal(do_set_sz(c, 3, "VirtualMachineName", "vm1"), VMBUS_HV_S_OK);
	assert_int_equal(do_set_sz(c, 3, "HostName", "host.example"), VMBUS_HV_S_OK);
	assert_int_equal(do_set_sz(c, 3, "Ünïcode", "✓"), VMBUS_HV_S_OK);
	assert_int_equal(do_enum(c, 3, 0, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(k, "VirtualMachineName");
	assert_string_equal(v, "vm1");
	assert_int_equal(do_enum(c, 3, 1, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(k, "HostName");
	assert_string_equal(v, "host.example");
	assert_int_equal(do_enum(c, 3, 2, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(k, "Ünïcode");
	assert_string_equal(v, "✓");
	assert_int_equal(do_enum(c, 3, 3, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_CONT);
	assert_int_equal(do_enum(c, 3, UINT32_MAX, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_CONT);
}

static void test_enumerate_auto(void **state)
{
	struct ctx *c = *state;
	static const char *const expected[] = {
		"FullyQualifiedDomainName", "IntegrationServicesVersion", "NetworkAddressIPv4",
		"NetworkAddressIPv6",       "OSBuildNumber",              "OSName",
		"OSMajorVersion",           "OSMinorVersion",             "OSVersion",
		"ProcessorArchitecture",
	};
	char k[1024], v[4096], want[128];

	/* A record in the AUTO pool's file does not change what ENUMERATE of pool 2 reports. */
	assert_int_equal(do_set_sz(c, KVP_POOL_AUTO, "file-key", "file-value"), VMBUS_HV_S_OK);
	for (uint32_t i = 0; i < ELEMENTSOF(expected); i++) {
		assert_int_equal(do_enum(c, KVP_POOL_AUTO, i, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
		assert_string_equal(k, expected[i]);
		snprintf(want, sizeof(want), "value-%u-%s", i, expected[i]);
		assert_string_equal(v, want);
	}
	assert_int_equal(do_enum(c, KVP_POOL_AUTO, 10, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_CONT);
	/* GET of a generated key answers the generated value; other keys come from the file. */
	assert_int_equal(do_get(c, KVP_POOL_AUTO, "OSName", v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(v, "value-5-OSName");
	assert_int_equal(do_get(c, KVP_POOL_AUTO, "file-key", v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(v, "file-value");
}

/* Writes one raw record (key and value bytes as given) at the end of a pool file. */
static void append_raw(const char *dir, unsigned pool, const void *key, size_t klen, const void *val, size_t vlen)
{
	uint8_t rec[KVP_POOL_RECORD_SIZE] = { 0 };
	char path[128];
	int fd;

	assert_true(klen <= KVP_POOL_KEY_SIZE && vlen <= KVP_POOL_VALUE_SIZE);
	memcpy(rec, key, klen);
	memcpy(rec + KVP_POOL_KEY_SIZE, val, vlen);
	kvp_pool_path(dir, pool, path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rec, sizeof(rec)), (ssize_t)sizeof(rec));
	close(fd);
}

/*
 * Records other programs wrote: invalid UTF-8 reaches the host with U+FFFD and
 * does not hide the records after it; a value longer than the wire carries is
 * cut at a character boundary.
 */
static void test_enumerate_unclean_records(void **state)
{
	struct ctx *c = *state;
	char k[1024], v[8192], *longv = repeat("é", 1100); /* 1100 units, 2200 bytes: too long for a record */
	char *longa = repeat("a", 2047);

	append_raw(c->dir, 1, "bad\xff" "key", 7, "val\xc3", 4);
	append_raw(c->dir, 1, "after", 5, "fine", 4);
	append_raw(c->dir, 1, "long", 4, longa, 2047);
	append_raw(c->dir, 1, "accents", 7, longv, 2046); /* 1023 × é: fits exactly */
	assert_int_equal(do_enum(c, 1, 0, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(k, "bad\xef\xbf\xbdkey");
	assert_string_equal(v, "val\xef\xbf\xbd");
	assert_int_equal(do_enum(c, 1, 1, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(k, "after");
	assert_string_equal(v, "fine");
	assert_int_equal(do_enum(c, 1, 2, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
	assert_string_equal(k, "long");
	assert_int_equal(strlen(v), 1023); /* all the wire holds */
	assert_int_equal(do_enum(c, 1, 3, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_OK);
	assert_int_equal(strlen(v), 2 * 1023);
	assert_int_equal(do_enum(c, 1, 4, k, sizeof(k), v, sizeof(v)), VMBUS_HV_S_CONT);
	assert_true(c->k.n_converted_lossy >= 3);
	free(longv);
	free(longa);
}

/* ------------------------------------------------------------------------ */
/* IP information                                                            */
/* ------------------------------------------------------------------------ */

static void test_get_ip_info(void **state)
{
	struct ctx *c = *state;
	uint8_t *b = body_new(KVP_IP_LEN, KVP_OP_GET_IP_INFO, 0);

	put_str(b + KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE, "00:15:5D:01:02:03");
	b[KVP_IP_OFF_ADDR_FAMILY] = KVP_ADDR_FAMILY_IPV4;
	assert_int_equal(send_msg(c, b, KVP_IP_LEN), VMBUS_HV_S_OK);
	assert_int_equal(c->env.n_ip_get, 1);
	assert_string_equal(c->env.last_get_in.adapter_id, "00:15:5D:01:02:03");
	assert_int_equal(c->env.last_get_in.addr_family, KVP_ADDR_FAMILY_IPV4);
	assert_string_equal(get_str(b + KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE), "00:15:5D:01:02:03");
	assert_int_equal(b[KVP_IP_OFF_ADDR_FAMILY], 3);
	assert_int_equal(b[KVP_IP_OFF_DHCP_ENABLED], 1);
	assert_string_equal(get_str(b + KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE), "192.0.2.10;2001:db8::10");
	assert_string_equal(get_str(b + KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE), "255.255.255.0;/64");
	assert_string_equal(get_str(b + KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE), "192.0.2.1");
	assert_string_equal(get_str(b + KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE), "192.0.2.53");

	/* The environment's error passes through. */
	c->env.ip_status = VMBUS_HV_E_FAIL;
	assert_int_equal(send_msg(c, b, KVP_IP_LEN), VMBUS_HV_E_FAIL);

	/* An adapter id without a NUL in its field never reaches the environment. */
	c->env.ip_status = 0;
	for (int i = 0; i < KVP_IP_ADAPTER_ID_SIZE; i += 2)
		put_le16(b + KVP_IP_OFF_ADAPTER_ID + i, 'A');
	assert_int_equal(send_msg(c, b, KVP_IP_LEN), VMBUS_HV_E_FAIL);
	assert_int_equal(c->env.n_ip_get, 2);
	free(b);
}

static void test_set_ip_info(void **state)
{
	struct ctx *c = *state;
	uint8_t *b = body_new(KVP_IP_LEN, KVP_OP_SET_IP_INFO, 0);

	put_str(b + KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE, "{f8615163-df3e-46c5-913f-f2d2f965ed0e}");
	b[KVP_IP_OFF_ADDR_FAMILY] = KVP_ADDR_FAMILY_IPV4;
	b[KVP_IP_OFF_DHCP_ENABLED] = 0;
	put_str(b + KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE, "10.0.0.5;10.0.0.6");
	put_str(b + KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE, "255.255.255.0;255.255.0.0");
	put_str(b + KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE, "10.0.0.1");
	put_str(b + KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE, "10.0.0.53;10.0.0.54");
	assert_int_equal(send_msg(c, b, KVP_IP_LEN), VMBUS_HV_S_OK);
	assert_int_equal(c->env.n_ip_set, 1);
	assert_string_equal(c->env.last_set.adapter_id, "{f8615163-df3e-46c5-913f-f2d2f965ed0e}");
	assert_string_equal(c->env.last_set.ip_addr, "10.0.0.5;10.0.0.6");
	assert_string_equal(c->env.last_set.sub_net, "255.255.255.0;255.255.0.0");
	assert_string_equal(c->env.last_set.gate_way, "10.0.0.1");
	assert_string_equal(c->env.last_set.dns_addr, "10.0.0.53;10.0.0.54");
	assert_int_equal(c->env.last_set.addr_family, KVP_ADDR_FAMILY_IPV4);

	c->env.ip_status = VMBUS_HV_GUID_NOTFOUND;
	assert_int_equal(send_msg(c, b, KVP_IP_LEN), VMBUS_HV_GUID_NOTFOUND);

	/* Strings that are not UTF-16 are invalid arguments; the environment never sees them. */
	c->env.ip_status = 0;
	put_le16(b + KVP_IP_OFF_IP_ADDR, 0xd800);
	assert_int_equal(send_msg(c, b, KVP_IP_LEN), VMBUS_HV_INVALIDARG);
	put_str(b + KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE, "10.0.0.5");
	for (int i = 0; i < KVP_IP_DNS_ADDR_SIZE; i += 2)
		put_le16(b + KVP_IP_OFF_DNS_ADDR + i, '1');
	assert_int_equal(send_msg(c, b, KVP_IP_LEN), VMBUS_HV_INVALIDARG);
	assert_int_equal(c->env.n_ip_set, 2);
	free(b);
}

/* ------------------------------------------------------------------------ */
/* os-release                                                                */
/* ------------------------------------------------------------------------ */

static void test_os_release_parse(void **state)
{
	static const char text[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
				   "NAME=\"Debian GNU/Linux\"\n"
				   "VERSION_ID=\"12\"\n"
				   "ID=debian\n";
	static const char quoted[] = "  NAME='Some \"OS\"'\nVERSION_ID=22.04 # comment\n"
				     "NAME_EXTRA=x\nX_NAME=y\n";
	static const char escaped[] = "NAME=\"A \\\"quoted\\\" \\$name\"\nVERSION_ID=\"1\"";
	char name[64], version[16];

	(void)state;
	kvp_os_release_parse(text, sizeof(text) - 1, name, sizeof(name), version, sizeof(version));
	assert_string_equal(name, "Debian GNU/Linux");
	assert_string_equal(version, "12");
	kvp_os_release_parse(quoted, sizeof(quoted) - 1, name, sizeof(name), version, sizeof(version));
	assert_string_equal(name, "Some \"OS\"");
	assert_string_equal(version, "22.04");
	kvp_os_release_parse(escaped, sizeof(escaped) - 1, name, sizeof(name), version, sizeof(version));
	assert_string_equal(name, "A \"quoted\" $name");
	assert_string_equal(version, "1");
	kvp_os_release_parse("ID=x\n", 5, name, sizeof(name), version, sizeof(version));
	assert_string_equal(name, "");
	assert_string_equal(version, "");
	/* Cut to the buffer, never past it. */
	kvp_os_release_parse(text, sizeof(text) - 1, name, 4, version, 2);
	assert_string_equal(name, "Deb");
	assert_string_equal(version, "1");
	assert_int_equal(kvp_auto_find("OSVersion"), KVP_AUTO_OS_VERSION);
	assert_int_equal(kvp_auto_find("osversion"), -1);
	assert_null(kvp_auto_key(KVP_AUTO_COUNT));
}

static void test_auto_values_real(void **state)
{
	struct kvp_auto_config cfg = { .integration_version = "9.9" };
	char buf[KVP_POOL_VALUE_SIZE];

	(void)state;
	assert_int_equal(kvp_auto_value(&cfg, KVP_AUTO_INTEGRATION_SERVICES_VERSION, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "9.9");
	assert_int_equal(kvp_auto_value(NULL, KVP_AUTO_INTEGRATION_SERVICES_VERSION, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "3.1");
	assert_int_equal(kvp_auto_value(NULL, KVP_AUTO_COUNT, buf, sizeof(buf)), -ENOENT);
	for (unsigned i = 0; i < KVP_AUTO_COUNT; i++)
		assert_int_equal(kvp_auto_value(NULL, i, buf, sizeof(buf)), 0);
	/* OSVersion is OSBuildNumber cut at its first '-'. */
	{
		char build[KVP_POOL_VALUE_SIZE];

		assert_int_equal(kvp_auto_value(NULL, KVP_AUTO_OS_BUILD_NUMBER, build, sizeof(build)), 0);
		assert_int_equal(kvp_auto_value(NULL, KVP_AUTO_OS_VERSION, buf, sizeof(buf)), 0);
		assert_true(strlen(buf) > 0);
		assert_memory_equal(buf, build, strlen(buf));
		assert_true(build[strlen(buf)] == '\0' || build[strlen(buf)] == '-');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get_delete_every_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_ascii_and_astral, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reg_u32_u64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_pool_and_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_size_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumerate_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumerate_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enumerate_unclean_records, setup_files, teardown),
		cmocka_unit_test_setup_teardown(test_get_ip_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_ip_info, setup, teardown),
		cmocka_unit_test(test_os_release_parse),
		cmocka_unit_test(test_auto_values_real),
	};

	log_set_max_level(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
