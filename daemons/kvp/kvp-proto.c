/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <endian.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <vmbus/vmbus.h>

#include "kvp-auto.h"
#include "kvp-proto.h"
#include "log.h"

/* Lossy conversions towards the host are logged this many times at warning level, then at debug. */
#define LOSSY_WARNINGS 20

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

struct codec;

/* A request being handled: what the log lines need, and the transport's codec. */
struct req {
	struct kvp *k;
	const struct codec *c;
	unsigned op, pool;
	size_t len;
	char opname[16];
};

/*
 * What differs between the ring (Hyper-V's own message, UTF-16) and the
 * kernel's /dev/vmbus/hv_kvp (struct hv_kvp_msg, UTF-8, already converted by
 * hv_utils): the string fields, where the IP block starts, where the kernel
 * looks for a GET answer, and whether SET's value_type means anything. The
 * operations below are the same code for both.
 */
struct codec {
	/* A string field from the peer into out: as get_string() (below) does. */
	int (*get_string)(const uint8_t *field, size_t size, size_t field_size, char *out, size_t out_size,
			  const char **why);
	/* A UTF-8 string into a field for the peer; returns the value for its size field. */
	uint32_t (*put_string)(struct req *r, uint8_t *field, size_t field_size, const char *s, const char *what,
			       const char *key);
	size_t ip_base;   /* added to the KVP_IP_OFF_* offsets */
	size_t get_reply; /* where the exchange value of a GET answer starts */
	bool typed;       /* SET's value_type is the host's (ring), or 0 with a text value (kernel) */
};

/* Refuse a request: a log line saying why, and the status to answer. */
_printf_(3, 4) static uint32_t refuse(struct req *r, uint32_t status, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	r->k->n_failed++;
	log_warning("kvp: %s on pool %u refused (%s): %s", r->opname, r->pool,
		    vmbus_ic_status_name(status) ?: "error", why);
	return status;
}

/*
 * A UTF-16 string from the host: size bytes at field (size already checked to
 * lie within the field and the message). The string ends at its NUL unit;
 * without one, size delimits it, unless it fills the whole field (then it is
 * unterminated). Converted to UTF-8 into out (out_size, NUL included).
 * Returns 0, or a negative errno with *why set.
 */
static int get_string(const uint8_t *field, size_t size, size_t field_size, char *out, size_t out_size,
		      const char **why)
{
	bool nul = false;
	int r;

	if (size % 2) {
		*why = "odd byte count for a UTF-16 string";
		return -EINVAL;
	}
	for (size_t i = 0; i + 1 < size; i += 2)
		if (field[i] == 0 && field[i + 1] == 0) {
			nul = true;
			break;
		}
	if (!nul && size == field_size) {
		*why = "the string fills its field without a terminating NUL";
		return -EINVAL;
	}
	r = vmbus_utf16_to_utf8(field, size, out, out_size);
	if (r == -EILSEQ) {
		*why = "invalid UTF-16 (an unpaired surrogate)";
		return r;
	}
	if (r == -ENAMETOOLONG) {
		*why = "longer than the pool file can hold in UTF-8";
		return r;
	}
	if (r < 0) {
		*why = "cannot convert";
		return r;
	}
	return r;
}

/* An exchange value's key: key_size at data + KVP_VAL_OFF_KEY_SIZE, the key after it. */
static uint32_t get_key(struct req *r, const uint8_t *size_field, const uint8_t *key_field, char *key)
{
	uint32_t key_size = get_u32(size_field);
	const char *why;
	int n;

	if (key_size == 0 || key_size > KVP_WIRE_KEY_SIZE)
		return refuse(r, VMBUS_HV_E_FAIL, "key_size %" PRIu32 " is not within 2..%d", key_size,
			      KVP_WIRE_KEY_SIZE);
	n = r->c->get_string(key_field, key_size, KVP_WIRE_KEY_SIZE, key, KVP_KEY_MAX + 1, &why);
	if (n < 0)
		return refuse(r, VMBUS_HV_E_FAIL, "key: %s", why);
	if (n == 0)
		return refuse(r, VMBUS_HV_E_FAIL, "empty key");
	return VMBUS_HV_S_OK;
}

static void log_lossy(struct req *r, unsigned flags, const char *what, const char *key)
{
	if (!flags)
		return;
	r->k->n_converted_lossy++;
	log_full_errno(r->k->n_converted_lossy <= LOSSY_WARNINGS ? LOG_WARNING : LOG_DEBUG, 0,
		       "kvp: %s of '%.64s' in pool %u reaches the host %s%s%s", what, key, r->pool,
		       flags & VMBUS_UTF_REPLACED ? "with invalid UTF-8 replaced by U+FFFD" : "",
		       flags == (VMBUS_UTF_REPLACED | VMBUS_UTF_TRUNCATED) ? " and " : "",
		       flags & VMBUS_UTF_TRUNCATED ? "cut to fit its field" : "");
}

/*
 * A UTF-8 string from a pool (or generated) into a UTF-16 field for the host;
 * what cannot be carried is replaced or cut, and logged. Returns the field's
 * size in bytes, counting the NUL.
 */
static uint32_t put_string(struct req *r, uint8_t *field, size_t field_size, const char *s, const char *what,
			   const char *key)
{
	unsigned flags;
	int n;

	memset(field, 0, field_size);
	n = vmbus_utf8_to_utf16_lossy(s, strlen(s), field, field_size, &flags);
	if (n < 0)
		return 2;
	log_lossy(r, flags, what, key);
	return 2 * ((uint32_t)n + 1);
}

/* Fill an exchange value (data) with key and value as REG_SZ. */
static void put_value(struct req *r, uint8_t *data, const char *key, const char *value, bool with_key)
{
	uint32_t size;

	put_u32(data + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	if (with_key) {
		size = r->c->put_string(r, data + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, key, "the key", key);
		put_u32(data + KVP_VAL_OFF_KEY_SIZE, size);
	}
	size = r->c->put_string(r, data + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, value, "the value", key);
	put_u32(data + KVP_VAL_OFF_VALUE_SIZE, size);
}

static uint32_t need(struct req *r, size_t len)
{
	if (r->len < len)
		return refuse(r, VMBUS_HV_E_FAIL, "the %zu-byte message is shorter than its %zu-byte structure",
			      r->len, len);
	return VMBUS_HV_S_OK;
}

static uint32_t pool_error(struct req *r, int err, const char *key)
{
	if (err == -ENOSPC)
		return refuse(r, VMBUS_HV_E_FAIL, "'%.64s': the pool is full (see --max-records) or the disk is",
			      key);
	if (err == -ETIMEDOUT)
		return refuse(r, VMBUS_HV_E_FAIL, "'%.64s': the pool file stayed locked by another program", key);
	return refuse(r, VMBUS_HV_E_FAIL, "'%.64s': %s", key, strerror(-err));
}

static uint32_t do_get(struct req *r, uint8_t *body)
{
	uint8_t *data = body + KVP_GETSET_OFF_DATA;
	char key[KVP_KEY_MAX + 1], generated[KVP_POOL_VALUE_SIZE];
	const char *value;
	uint32_t st;
	int idx, e;

	if ((st = need(r, KVP_GETSET_LEN)) || (st = get_key(r, data + KVP_VAL_OFF_KEY_SIZE, data + KVP_VAL_OFF_KEY, key)))
		return st;
	idx = r->pool == KVP_POOL_AUTO ? kvp_auto_find(key) : -1;
	if (idx >= 0 && r->k->ops && r->k->ops->auto_value &&
	    r->k->ops->auto_value(r->k->env, (unsigned)idx, generated, sizeof(generated)) == 0) {
		value = generated;
	} else {
		e = kvp_pool_get(r->k->pools, r->pool, key, &value);
		if (e == -ENOENT) {
			log_debug("kvp: GET '%.64s' in pool %u: no such key", key, r->pool);
			return VMBUS_HV_S_CONT;
		}
		if (e < 0)
			return pool_error(r, e, key);
	}
	put_value(r, body + r->c->get_reply, key, value, false);
	return VMBUS_HV_S_OK;
}

static uint32_t do_set(struct req *r, uint8_t *body)
{
	uint8_t *data = body + KVP_GETSET_OFF_DATA;
	char key[KVP_KEY_MAX + 1], value[KVP_VALUE_MAX + 1];
	uint32_t st, type, value_size;
	const char *why;
	int e, n;

	/* The key and the value's own fields must have arrived. */
	if ((st = need(r, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE)) ||
	    (st = get_key(r, data + KVP_VAL_OFF_KEY_SIZE, data + KVP_VAL_OFF_KEY, key)))
		return st;
	/* hv_utils formatted numbers as text already and passes no value_type (0). */
	type = r->c->typed ? get_u32(data + KVP_VAL_OFF_TYPE) : KVP_REG_SZ;
	value_size = get_u32(data + KVP_VAL_OFF_VALUE_SIZE);
	/* Its value_size counts the NUL: 0 means a host value type it did not convert, as the ring refuses. */
	if (!r->c->typed && value_size == 0)
		return refuse(r, VMBUS_HV_E_FAIL, "'%.64s': no value (a value type other than REG_SZ, REG_U32 "
			      "and REG_U64)", key);
	switch (type) {
	case KVP_REG_SZ:
		if (value_size > KVP_WIRE_VALUE_SIZE)
			return refuse(r, VMBUS_HV_E_FAIL, "'%.64s': value_size %" PRIu32 " is over %d", key,
				      value_size, KVP_WIRE_VALUE_SIZE);
		if ((st = need(r, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE + value_size)))
			return st;
		n = r->c->get_string(data + KVP_VAL_OFF_VALUE, value_size, KVP_WIRE_VALUE_SIZE, value,
				     sizeof(value), &why);
		if (n < 0)
			return refuse(r, VMBUS_HV_E_FAIL, "'%.64s': value: %s", key, why);
		break;
	case KVP_REG_U32:
		if ((st = need(r, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE + 4)))
			return st;
		snprintf(value, sizeof(value), "%" PRIu32, get_u32(data + KVP_VAL_OFF_VALUE));
		break;
	case KVP_REG_U64:
		if ((st = need(r, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE + 8)))
			return st;
		snprintf(value, sizeof(value), "%" PRIu64, get_u64(data + KVP_VAL_OFF_VALUE));
		break;
	default:
		return refuse(r, VMBUS_HV_E_FAIL, "'%.64s': value type %" PRIu32 " (REG_SZ 1, REG_U32 4 and "
			      "REG_U64 8 are supported)", key, type);
	}
	e = kvp_pool_set(r->k->pools, r->pool, key, value);
	if (e < 0)
		return pool_error(r, e, key);
	log_debug("kvp: SET '%.64s' in pool %u", key, r->pool);
	return VMBUS_HV_S_OK;
}

static uint32_t do_delete(struct req *r, uint8_t *body)
{
	char key[KVP_KEY_MAX + 1];
	uint32_t st, key_size;
	int e;

	if ((st = need(r, KVP_DEL_OFF_KEY)))
		return st;
	key_size = get_u32(body + KVP_DEL_OFF_KEY_SIZE);
	if (key_size <= KVP_WIRE_KEY_SIZE && (st = need(r, KVP_DEL_OFF_KEY + key_size)))
		return st;
	if ((st = get_key(r, body + KVP_DEL_OFF_KEY_SIZE, body + KVP_DEL_OFF_KEY, key)))
		return st;
	e = kvp_pool_delete(r->k->pools, r->pool, key);
	if (e == -ENOENT) {
		log_debug("kvp: DELETE '%.64s' in pool %u: no such key", key, r->pool);
		return VMBUS_HV_S_CONT;
	}
	if (e < 0)
		return pool_error(r, e, key);
	log_debug("kvp: DELETE '%.64s' in pool %u", key, r->pool);
	return VMBUS_HV_S_OK;
}

static uint32_t do_enumerate(struct req *r, uint8_t *body)
{
	uint8_t *data = body + KVP_ENUM_OFF_DATA;
	char generated[KVP_POOL_VALUE_SIZE];
	const char *key, *value;
	uint32_t st, index;
	int e;

	if ((st = need(r, KVP_ENUM_LEN)))
		return st;
	index = get_u32(body + KVP_ENUM_OFF_INDEX);
	if (r->pool == KVP_POOL_AUTO) {
		key = kvp_auto_key(index);
		if (!key)
			return VMBUS_HV_S_CONT;
		if (!r->k->ops || !r->k->ops->auto_value ||
		    r->k->ops->auto_value(r->k->env, index, generated, sizeof(generated)) < 0)
			generated[0] = '\0';
		value = generated;
	} else {
		e = kvp_pool_enumerate(r->k->pools, r->pool, index, &key, &value);
		if (e == -ENOENT)
			return VMBUS_HV_S_CONT;
		if (e < 0)
			return pool_error(r, e, "(enumerate)");
	}
	put_value(r, data, key, value, true);
	return VMBUS_HV_S_OK;
}

/* An IP field from the host into info (strictly: a bad string is an error). */
static uint32_t get_ip_field(struct req *r, const uint8_t *body, size_t off, size_t size, char *out,
			     size_t out_size, const char *name, uint32_t bad_status)
{
	const char *why;

	if (r->c->get_string(body + r->c->ip_base + off, size, size, out, out_size, &why) < 0)
		return refuse(r, bad_status, "%s: %s", name, why);
	return VMBUS_HV_S_OK;
}

static void put_ip_field(struct req *r, uint8_t *body, size_t off, size_t size, const char *s,
			 const char *name)
{
	(void)r->c->put_string(r, body + r->c->ip_base + off, size, s, name, "(IP information)");
}

static uint32_t do_ip(struct req *r, uint8_t *body)
{
	struct kvp_ip_info in = { 0 }, out = { 0 };
	uint32_t st;

	if ((st = need(r, r->c->ip_base + KVP_IP_LEN)))
		return st;
	if (r->op == KVP_OP_GET_IP_INFO) {
		if ((st = get_ip_field(r, body, KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE, in.adapter_id,
				       sizeof(in.adapter_id), "adapter_id", VMBUS_HV_E_FAIL)))
			return st;
		in.addr_family = body[r->c->ip_base + KVP_IP_OFF_ADDR_FAMILY];
		if (!r->k->ops || !r->k->ops->ip_get)
			return refuse(r, VMBUS_HV_E_FAIL, "IP information is not available here");
		st = r->k->ops->ip_get(r->k->env, &in, &out);
		if (st != VMBUS_HV_S_OK) {
			r->k->n_failed++;
			return st; /* kvp_ip_get() logged why */
		}
		put_ip_field(r, body, KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE,
			     out.adapter_id[0] ? out.adapter_id : in.adapter_id, "adapter_id");
		body[r->c->ip_base + KVP_IP_OFF_ADDR_FAMILY] = out.addr_family;
		body[r->c->ip_base + KVP_IP_OFF_DHCP_ENABLED] = out.dhcp_enabled;
		put_ip_field(r, body, KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE, out.ip_addr, "ip_addr");
		put_ip_field(r, body, KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE, out.sub_net, "sub_net");
		put_ip_field(r, body, KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE, out.gate_way, "gate_way");
		put_ip_field(r, body, KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE, out.dns_addr, "dns_addr");
		return VMBUS_HV_S_OK;
	}

	/* SET_IP_INFO: a string that is not one is an invalid argument, as an address that is not one. */
	if ((st = get_ip_field(r, body, KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE, in.adapter_id,
			       sizeof(in.adapter_id), "adapter_id", VMBUS_HV_INVALIDARG)) ||
	    (st = get_ip_field(r, body, KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE, in.ip_addr, sizeof(in.ip_addr),
			       "ip_addr", VMBUS_HV_INVALIDARG)) ||
	    (st = get_ip_field(r, body, KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE, in.sub_net, sizeof(in.sub_net),
			       "sub_net", VMBUS_HV_INVALIDARG)) ||
	    (st = get_ip_field(r, body, KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE, in.gate_way,
			       sizeof(in.gate_way), "gate_way", VMBUS_HV_INVALIDARG)) ||
	    (st = get_ip_field(r, body, KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE, in.dns_addr,
			       sizeof(in.dns_addr), "dns_addr", VMBUS_HV_INVALIDARG)))
		return st;
	in.addr_family = body[r->c->ip_base + KVP_IP_OFF_ADDR_FAMILY];
	in.dhcp_enabled = body[r->c->ip_base + KVP_IP_OFF_DHCP_ENABLED];
	if (!r->k->ops || !r->k->ops->ip_set)
		return refuse(r, VMBUS_HV_E_FAIL, "IP injection is not available here");
	st = r->k->ops->ip_set(r->k->env, &in);
	if (st != VMBUS_HV_S_OK)
		r->k->n_failed++;
	return st;
}

static uint32_t process(struct kvp *k, const struct codec *c, uint8_t *body, size_t len)
{
	struct req r = { .k = k, .c = c, .len = len };
	const char *name;

	k->n_requests++;
	if (len < 2) {
		k->n_failed++;
		log_warning("kvp: %zu-byte message has no operation and pool, refused", len);
		return VMBUS_HV_E_FAIL;
	}
	r.op = body[KVP_OFF_OPERATION];
	r.pool = body[KVP_OFF_POOL];
	name = kvp_op_name(r.op);
	if (name)
		snprintf(r.opname, sizeof(r.opname), "%s", name);
	else
		snprintf(r.opname, sizeof(r.opname), "operation %u", r.op);

	switch (r.op) {
	case KVP_OP_GET_IP_INFO:
	case KVP_OP_SET_IP_INFO:
		/* The pool byte means nothing for these. */
		return do_ip(&r, body);
	case KVP_OP_GET:
	case KVP_OP_SET:
	case KVP_OP_DELETE:
	case KVP_OP_ENUMERATE:
		if (r.pool >= KVP_POOL_COUNT)
			return refuse(&r, VMBUS_HV_E_FAIL, "there are pools 0 to %d only", KVP_POOL_COUNT - 1);
		break;
	default:
		return refuse(&r, VMBUS_HV_E_FAIL, "unknown operation");
	}
	switch (r.op) {
	case KVP_OP_GET:
		return do_get(&r, body);
	case KVP_OP_SET:
		return do_set(&r, body);
	case KVP_OP_DELETE:
		return do_delete(&r, body);
	default:
		return do_enumerate(&r, body);
	}
}

/* The ring: Hyper-V's message as it arrives, UTF-16 strings. */
static const struct codec ring_codec = {
	.get_string = get_string,
	.put_string = put_string,
	.ip_base = 0,
	.get_reply = KVP_GETSET_OFF_DATA,
	.typed = true,
};

uint32_t kvp_message(struct kvp *k, uint8_t *body, size_t len)
{
	return process(k, &ring_codec, body, len);
}

/*
 * A UTF-8 string field from hv_utils: it ends at its NUL; without one, size
 * delimits it unless it fills the whole field. It must be valid UTF-8 (the
 * kernel made it from UTF-16, so anything else is not from the kernel).
 */
static int get_utf8(const uint8_t *field, size_t size, size_t field_size, char *out, size_t out_size,
		    const char **why)
{
	const uint8_t *nul = memchr(field, 0, size);
	size_t len;

	if (nul) {
		len = (size_t)(nul - field);
	} else if (size == field_size) {
		*why = "the string fills its field without a terminating NUL";
		return -EINVAL;
	} else {
		len = size;
	}
	if (len >= out_size) {
		*why = "longer than the pool file can hold";
		return -ENAMETOOLONG;
	}
	if (!vmbus_utf8_valid((const char *)field, len)) {
		*why = "invalid UTF-8";
		return -EILSEQ;
	}
	memcpy(out, field, len);
	out[len] = '\0';
	return (int)len;
}

/*
 * A UTF-8 string into a field for hv_utils, NUL-terminated inside it (the
 * kernel strlen()s it). Invalid UTF-8 is replaced and an overlong string cut
 * exactly as towards the ring (through the same UTF-16 conversion), so that
 * the host sees the same text over either transport. Returns strlen + 1.
 */
static uint32_t put_utf8(struct req *r, uint8_t *field, size_t field_size, const char *s, const char *what,
			 const char *key)
{
	uint8_t u16[KVP_WIRE_VALUE_SIZE];
	char out[3 * (KVP_WIRE_VALUE_SIZE / 2) + 1];
	unsigned flags = 0;
	size_t len;

	memset(field, 0, field_size);
	if (field_size > sizeof(u16) || vmbus_utf8_to_utf16_lossy(s, strlen(s), u16, field_size, &flags) < 0 ||
	    vmbus_utf16_to_utf8(u16, field_size, out, sizeof(out)) < 0)
		return 1;
	len = strlen(out);
	if (len >= field_size) {
		/* More bytes in UTF-8 than in UTF-16: cut before the character that does not fit. */
		len = field_size - 1;
		while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80)
			len--;
		flags |= VMBUS_UTF_TRUNCATED;
	}
	memcpy(field, out, len);
	log_lossy(r, flags, what, key);
	return (uint32_t)len + 1;
}

/*
 * The kernel's /dev/vmbus/hv_kvp: struct hv_kvp_msg, UTF-8 strings; the IP
 * block after the 4-byte kvp_hdr (2 bytes further than on the ring); the
 * kernel reads a GET answer's value where an ENUMERATE answer has it.
 */
static const struct codec kernel_codec = {
	.get_string = get_utf8,
	.put_string = put_utf8,
	.ip_base = KVP_KMSG_IP_BASE,
	.get_reply = KVP_ENUM_OFF_DATA,
	.typed = false,
};

uint32_t kvp_kernel_message(struct kvp *k, uint8_t *msg, size_t len)
{
	uint32_t st;

	if (len != KVP_MSG_MAX_LEN) {
		k->n_requests++;
		k->n_failed++;
		log_warning("kvp: %zu-byte message from the kernel, not the %d bytes of struct hv_kvp_msg: "
			    "refused", len, KVP_MSG_MAX_LEN);
		memset(msg, 0, KVP_MSG_MAX_LEN);
		st = VMBUS_HV_E_FAIL;
	} else {
		st = process(k, &kernel_codec, msg, len);
	}
	/* The status goes in `error`, over kvp_hdr, in the kernel's byte order. */
	memcpy(msg + KVP_KMSG_OFF_ERROR, &st, sizeof(st));
	return st;
}

size_t kvp_kernel_register(uint8_t *msg)
{
	memset(msg, 0, KVP_MSG_MAX_LEN);
	msg[KVP_OFF_OPERATION] = KVP_OP_REGISTER1;
	return KVP_MSG_MAX_LEN;
}

int kvp_kernel_register_reply(const uint8_t *msg, size_t len, char *version, size_t version_size)
{
	const uint8_t *v = msg + KVP_KMSG_OFF_VERSION;
	size_t n = 0;

	if (len != KVP_MSG_MAX_LEN)
		return log_error_errno(-EPROTO, "kvp: the kernel answered the registration with %zu bytes, not %d",
				       len, KVP_MSG_MAX_LEN);
	if (msg[KVP_OFF_OPERATION] != KVP_OP_REGISTER1)
		return log_error_errno(-EPROTO, "kvp: the kernel answered the registration with operation %u, "
				       "not REGISTER1 (%d)", msg[KVP_OFF_OPERATION], KVP_OP_REGISTER1);
	/* The kernel's version string ("3.1"): printable ASCII only, for the log. */
	while (n + 1 < version_size && n < KVP_WIRE_KEY_SIZE && v[n] >= 0x20 && v[n] < 0x7f) {
		version[n] = (char)v[n];
		n++;
	}
	if (version_size)
		version[n] = '\0';
	return 0;
}

static size_t cd_register(void *userdata, uint8_t *buf)
{
	(void)userdata;
	return kvp_kernel_register(buf);
}

static int cd_register_reply(void *userdata, const uint8_t *msg, size_t len)
{
	char version[64];
	int r;

	(void)userdata;
	r = kvp_kernel_register_reply(msg, len, version, sizeof(version));
	if (r >= 0)
		log_info("kvp: the kernel's KVP driver answered the registration (version '%s')", version);
	return r;
}

static size_t cd_message(void *userdata, uint8_t *buf, size_t len)
{
	(void)kvp_kernel_message(userdata, buf, len);
	return KVP_MSG_MAX_LEN;
}

const struct chardev_ops kvp_chardev_ops = {
	.name = "kvp",
	.max_msg = KVP_KMSG_BUF,
	.register_msg = cd_register,
	.register_reply = cd_register_reply,
	.message = cd_message,
};
