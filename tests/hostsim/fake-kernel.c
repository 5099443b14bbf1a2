/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake kernel of hv-hostsim --transport chardev (fake-kernel.h). It follows
 * drivers/hv/hv_kvp.c, hv_snapshot.c, hv_fcopy.c (before its removal in 6.10)
 * and hv_utils_transport.c, quirks included, so that what a daemon gets here
 * is what it gets on a real kernel:
 *
 *  - registration: KVP REGISTER1 (100) or REGISTER (4) in a whole hv_kvp_msg,
 *    answered with a whole hv_kvp_msg carrying the same operation and version
 *    "3.1"; VSS REGISTER1 (129) in a 12-byte hv_vss_msg, answered with the u32
 *    129 (REGISTER, 128: no answer); fcopy the int 1, answered with the u32 1
 *    (0: no answer). Anything else is refused (EINVAL).
 *  - one message in flight; the next goes out only once the daemon replied
 *    (or the kernel timed out: 30 s, VSS FREEZE 900 s, answered HV_E_FAIL) and
 *    read what was queued before.
 *  - replies: KVP at least sizeof(struct hv_kvp_msg), status in `error`; VSS
 *    exactly 12 bytes; fcopy exactly an int. Others are refused (EINVAL; the
 *    shim cannot fail the write, so they are counted and reported here).
 *  - the daemon closing the device answers what is outstanding HV_E_FAIL.
 *
 * Host requests wait for a registered daemon (the kernel would answer
 * HV_E_FAIL at once): the daemon under test starts after hv-hostsim does.
 * NEGOTIATE is answered by the kernel, daemon or not.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/hyperv.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../uio/asan-preload.h"
#include "fake-kernel.h"
#include "macro.h"

#define HV_UTIL_TIMEOUT_S 30
#define VSS_FREEZE_TIMEOUT_S (15 * 60)
#define HV_DRV_VERSION "3.1"
#define QUEUE_MAX 64
#define DAEMON_MSG_MAX 16384 /* larger than any kernel message; more is a protocol error */

enum kstate {
	K_INIT,   /* no daemon registered (HVUTIL_DEVICE_INIT) */
	K_READY,  /* registered, nothing outstanding */
	K_BUSY,   /* a host request is with the daemon (HVUTIL_USERSPACE_REQ) */
	K_INJECT, /* kernel_inject()'s message is with the daemon */
};

enum ksvc { SVC_KVP, SVC_VSS, SVC_FCOPY };

struct kmsg {
	uint8_t *buf;
	size_t len;
	uint64_t trans_id;
};

struct fake_kernel {
	enum ksvc svc;
	const char *name; /* hv_kvp, ... */
	char dir[PATH_MAX];
	char node[PATH_MAX];
	char sock[PATH_MAX];
	int listen_fd, conn_fd;
	enum kstate state;
	unsigned registrations, refused;
	int64_t deadline_ms; /* of the request with the daemon */
	struct kmsg queue[QUEUE_MAX]; /* host requests, not yet taken off the ring */
	size_t q_head, q_len, q_bytes;
	struct kmsg cur; /* with the daemon */
	struct kmsg answers[QUEUE_MAX];
	size_t a_head, a_len;
	uint8_t *out;    /* the last answer handed out */
	size_t register_reply_len;
	int (*on_register)(void *data);
	void *on_register_data;
	uint8_t *inject_reply;
	size_t inject_size, inject_len;
	bool inject_done;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* The kernel's UTF conversions (fs/nls/nls_base.c), bounded                 */
/* ------------------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/*
 * utf16s_to_utf8s(): up to in_units units of UTF-16LE, stopping at a NUL,
 * into at most maxout bytes. Lone surrogates are skipped, and so is a
 * character that no longer fits. Returns the bytes written (no NUL).
 */
static size_t k_utf16_to_utf8(const uint8_t *in, size_t in_units, uint8_t *out, size_t maxout)
{
	size_t o = 0;

	while (in_units > 0 && o < maxout) {
		uint32_t u = get16(in), v;
		uint8_t b[4];
		size_t n;

		if (!u)
			break;
		in += 2;
		in_units--;
		if (u < 0x80) {
			out[o++] = (uint8_t)u;
			continue;
		}
		if ((u & 0xf800) == 0xd800) {
			if (u & 0x400)
				continue; /* lone low surrogate */
			if (in_units == 0)
				break;
			v = get16(in);
			if ((v & 0xfc00) != 0xdc00)
				continue; /* lone high surrogate */
			u = 0x10000 + ((u & 0x3ff) << 10) + (v & 0x3ff);
			in += 2;
			in_units--;
		}
		if (u < 0x800) {
			b[0] = (uint8_t)(0xc0 | u >> 6);
			b[1] = (uint8_t)(0x80 | (u & 0x3f));
			n = 2;
		} else if (u < 0x10000) {
			b[0] = (uint8_t)(0xe0 | u >> 12);
			b[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
			b[2] = (uint8_t)(0x80 | (u & 0x3f));
			n = 3;
		} else {
			b[0] = (uint8_t)(0xf0 | u >> 18);
			b[1] = (uint8_t)(0x80 | ((u >> 12) & 0x3f));
			b[2] = (uint8_t)(0x80 | ((u >> 6) & 0x3f));
			b[3] = (uint8_t)(0x80 | (u & 0x3f));
			n = 4;
		}
		if (n > maxout - o)
			continue; /* does not fit: skipped, as the kernel does */
		memcpy(out + o, b, n);
		o += n;
	}
	return o;
}

/* One UTF-8 sequence at s (len bytes left): its length and *u, or -1 if invalid. */
static int utf8_one(const uint8_t *s, size_t len, uint32_t *u)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	uint32_t c;

	if (s[0] < 0xc0 || s[0] > 0xf4)
		return -1;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n > len)
		return -1;
	c = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c & 0xfffff800) == 0xd800)
		return -1;
	*u = c;
	return (int)n;
}

/*
 * utf8s_to_utf16s(): the UTF-8 string s (at most len bytes, up to a NUL) into
 * at most maxout units of UTF-16LE (no NUL added). Returns the units written,
 * or -1 for invalid UTF-8.
 */
static int k_utf8_to_utf16(const uint8_t *s, size_t len, uint8_t *out, size_t maxout)
{
	size_t o = 0;

	while (len > 0 && o < maxout && *s) {
		uint32_t u;
		int n;

		if (*s < 0x80) {
			put16(out + 2 * o++, *s++);
			len--;
			continue;
		}
		n = utf8_one(s, len, &u);
		if (n < 0)
			return -1;
		s += n;
		len -= (size_t)n;
		if (u >= 0x10000) {
			if (maxout - o < 2)
				break;
			u -= 0x10000;
			put16(out + 2 * o++, (uint16_t)(0xd800 | ((u >> 10) & 0x3ff)));
			put16(out + 2 * o++, (uint16_t)(0xdc00 | (u & 0x3ff)));
		} else {
			put16(out + 2 * o++, (uint16_t)u);
		}
	}
	return (int)o;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* The host message's body copied into a zeroed buffer of size bytes (the kernel reads past short ones). */
static void body_copy(const struct kmsg *m, void *dst, size_t size)
{
	size_t body = m->len > VMBUS_IC_HDR_LEN ? m->len - VMBUS_IC_HDR_LEN : 0;

	memset(dst, 0, size);
	memcpy(dst, m->buf + VMBUS_IC_HDR_LEN, body < size ? body : size);
}

/* Write size bytes of body back into the answer, as far as the message reaches. */
static void body_store(struct kmsg *a, const void *src, size_t size)
{
	size_t body = a->len > VMBUS_IC_HDR_LEN ? a->len - VMBUS_IC_HDR_LEN : 0;

	memcpy(a->buf + VMBUS_IC_HDR_LEN, src, body < size ? body : size);
}

static size_t field_strlen(const void *p, size_t size)
{
	return strnlen(p, size);
}

static void kvp_to_daemon(const struct kmsg *m, struct hv_kvp_msg *out)
{
	static union {
		struct hv_kvp_msg kvp;
		struct hv_kvp_ip_msg ip;
	} in;
	struct hv_kvp_exchg_msg_value *d;
	uint32_t size;

	body_copy(m, &in, sizeof(in));
	memset(out, 0, sizeof(*out));
	out->kvp_hdr.operation = in.kvp.kvp_hdr.operation;
	out->kvp_hdr.pool = in.kvp.kvp_hdr.pool;
	switch (in.kvp.kvp_hdr.operation) {
	case KVP_OP_SET_IP_INFO:
		k_utf16_to_utf8((const uint8_t *)in.ip.kvp_ip_val.ip_addr, MAX_IP_ADDR_SIZE,
				(uint8_t *)out->body.kvp_ip_val.ip_addr, MAX_IP_ADDR_SIZE);
		k_utf16_to_utf8((const uint8_t *)in.ip.kvp_ip_val.sub_net, MAX_IP_ADDR_SIZE,
				(uint8_t *)out->body.kvp_ip_val.sub_net, MAX_IP_ADDR_SIZE);
		k_utf16_to_utf8((const uint8_t *)in.ip.kvp_ip_val.gate_way, MAX_GATEWAY_SIZE,
				(uint8_t *)out->body.kvp_ip_val.gate_way, MAX_GATEWAY_SIZE);
		k_utf16_to_utf8((const uint8_t *)in.ip.kvp_ip_val.dns_addr, MAX_IP_ADDR_SIZE,
				(uint8_t *)out->body.kvp_ip_val.dns_addr, MAX_IP_ADDR_SIZE);
		out->body.kvp_ip_val.dhcp_enabled = in.ip.kvp_ip_val.dhcp_enabled;
		/* fall through */
	case KVP_OP_GET_IP_INFO:
		k_utf16_to_utf8((const uint8_t *)in.ip.kvp_ip_val.adapter_id, MAX_ADAPTER_ID_SIZE,
				(uint8_t *)out->body.kvp_ip_val.adapter_id, MAX_ADAPTER_ID_SIZE);
		out->body.kvp_ip_val.addr_family = in.ip.kvp_ip_val.addr_family;
		break;
	case KVP_OP_SET:
		d = &in.kvp.body.kvp_set.data;
		switch (d->value_type) {
		case REG_SZ:
			/* The host's byte count is taken as a unit count; bounded by the field here. */
			size = d->value_size < HV_KVP_EXCHANGE_MAX_VALUE_SIZE / 2 ? d->value_size
										 : HV_KVP_EXCHANGE_MAX_VALUE_SIZE / 2;
			out->body.kvp_set.data.value_size =
				(uint32_t)k_utf16_to_utf8(d->value, size, out->body.kvp_set.data.value,
							  HV_KVP_EXCHANGE_MAX_VALUE_SIZE - 1) + 1;
			break;
		case REG_U32:
			out->body.kvp_set.data.value_size =
				(uint32_t)snprintf((char *)out->body.kvp_set.data.value,
						   HV_KVP_EXCHANGE_MAX_VALUE_SIZE, "%u",
						   d->value_u32) + 1;
			break;
		case REG_U64:
			out->body.kvp_set.data.value_size =
				(uint32_t)snprintf((char *)out->body.kvp_set.data.value,
						   HV_KVP_EXCHANGE_MAX_VALUE_SIZE, "%llu",
						   (unsigned long long)d->value_u64) + 1;
			break;
		}
		/* fall through - the key, as for GET */
	case KVP_OP_GET:
		d = &in.kvp.body.kvp_set.data;
		size = d->key_size < HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2 ? d->key_size
								      : HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2;
		out->body.kvp_set.data.key_size =
			(uint32_t)k_utf16_to_utf8(d->key, size, out->body.kvp_set.data.key,
						  HV_KVP_EXCHANGE_MAX_KEY_SIZE - 1) + 1;
		break;
	case KVP_OP_DELETE:
		size = in.kvp.body.kvp_delete.key_size < HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2
			       ? in.kvp.body.kvp_delete.key_size
			       : HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2;
		out->body.kvp_delete.key_size =
			(uint32_t)k_utf16_to_utf8(in.kvp.body.kvp_delete.key, size,
						  out->body.kvp_delete.key,
						  HV_KVP_EXCHANGE_MAX_KEY_SIZE - 1) + 1;
		break;
	case KVP_OP_ENUMERATE:
		out->body.kvp_enum_data.index = in.kvp.body.kvp_enum_data.index;
		break;
	}
}

/* kvp_respond_to_host(): the daemon's reply into the host's answer a. Returns the status. */
static uint32_t kvp_to_host(const struct hv_kvp_msg *r, struct kmsg *a)
{
	static union {
		struct hv_kvp_msg kvp;
		struct hv_kvp_ip_msg ip;
	} host;
	const struct hv_kvp_exchg_msg_value *dv = &r->body.kvp_enum_data.data;
	struct hv_kvp_exchg_msg_value *hv;
	uint32_t status = (uint32_t)r->error;
	int kl = 0, vl;

	if (status)
		return status;
	body_copy(a, &host, sizeof(host));
	switch (host.kvp.kvp_hdr.operation) {
	case KVP_OP_GET_IP_INFO: {
		const struct hv_kvp_ipaddr_value *in = &r->body.kvp_ip_val;
		struct hv_kvp_ipaddr_value *out = &host.ip.kvp_ip_val;

		if (k_utf8_to_utf16((const uint8_t *)in->ip_addr, field_strlen(in->ip_addr, sizeof(in->ip_addr)),
				    (uint8_t *)out->ip_addr, MAX_IP_ADDR_SIZE) < 0 ||
		    k_utf8_to_utf16((const uint8_t *)in->sub_net, field_strlen(in->sub_net, sizeof(in->sub_net)),
				    (uint8_t *)out->sub_net, MAX_IP_ADDR_SIZE) < 0 ||
		    k_utf8_to_utf16((const uint8_t *)in->gate_way, field_strlen(in->gate_way, sizeof(in->gate_way)),
				    (uint8_t *)out->gate_way, MAX_GATEWAY_SIZE) < 0 ||
		    k_utf8_to_utf16((const uint8_t *)in->dns_addr, field_strlen(in->dns_addr, sizeof(in->dns_addr)),
				    (uint8_t *)out->dns_addr, MAX_IP_ADDR_SIZE) < 0 ||
		    k_utf8_to_utf16((const uint8_t *)in->adapter_id,
				    field_strlen(in->adapter_id, sizeof(in->adapter_id)),
				    (uint8_t *)out->adapter_id, MAX_ADAPTER_ID_SIZE) < 0)
			return HV_E_FAIL;
		out->dhcp_enabled = in->dhcp_enabled;
		out->addr_family = in->addr_family;
		body_store(a, &host, sizeof(host));
		return 0;
	}
	case KVP_OP_SET_IP_INFO:
	case KVP_OP_SET:
	case KVP_OP_DELETE:
		return 0;
	case KVP_OP_GET:
		/* The value is read at the ENUMERATE offset of the reply, as the kernel does. */
		hv = &host.kvp.body.kvp_get.data;
		break;
	default:
		hv = &host.kvp.body.kvp_enum_data.data;
		kl = k_utf8_to_utf16(dv->key, field_strlen(dv->key, sizeof(dv->key)), hv->key,
				     HV_KVP_EXCHANGE_MAX_KEY_SIZE / 2 - 2);
		hv->key_size = (uint32_t)(2 * (kl + 1));
		break;
	}
	vl = k_utf8_to_utf16(dv->value, field_strlen(dv->value, sizeof(dv->value)), hv->value,
			     HV_KVP_EXCHANGE_MAX_VALUE_SIZE / 2 - 2);
	hv->value_size = (uint32_t)(2 * (vl + 1));
	hv->value_type = REG_SZ;
	body_store(a, &host, sizeof(host));
	return kl < 0 || vl < 0 ? HV_E_FAIL : 0;
}

static void fcopy_to_daemon(const struct kmsg *m, uint8_t *out, size_t *ret_len)
{
	static union {
		struct hv_fcopy_hdr hdr;
		struct hv_start_fcopy start;
		struct hv_do_fcopy write;
		uint8_t raw[8192];
	} in;
	struct hv_start_fcopy *s = (struct hv_start_fcopy *)out;

	body_copy(m, &in, sizeof(in));
	switch (in.hdr.operation) {
	case START_FILE_COPY:
		memset(s, 0, sizeof(*s));
		s->hdr.operation = in.hdr.operation;
		k_utf16_to_utf8((const uint8_t *)in.start.file_name, W_MAX_PATH, (uint8_t *)s->file_name,
				W_MAX_PATH - 1);
		k_utf16_to_utf8((const uint8_t *)in.start.path_name, W_MAX_PATH, (uint8_t *)s->path_name,
				W_MAX_PATH - 1);
		s->copy_flags = in.start.copy_flags;
		s->file_size = in.start.file_size;
		*ret_len = sizeof(*s);
		break;
	case WRITE_TO_FILE:
		memcpy(out, &in, sizeof(struct hv_do_fcopy));
		*ret_len = sizeof(struct hv_do_fcopy);
		break;
	default:
		/* The whole received length, from the fcopy header on: 28 bytes past the body. */
		*ret_len = ALIGN8_UP(m->len) < sizeof(in) ? ALIGN8_UP(m->len) : sizeof(in);
		memcpy(out, &in, *ret_len);
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* State machine                                                             */
/* ------------------------------------------------------------------------ */

static const char *svc_dev[] = { "hv_kvp", "hv_vss", "hv_fcopy" };

static void kmsg_free(struct kmsg *m)
{
	free(m->buf);
	*m = (struct kmsg){ 0 };
}

/* Queue the answer to m: m itself, rewritten, at the length the kernel received (padded to 8). */
static int answer(struct fake_kernel *k, struct kmsg *m, uint32_t status)
{
	size_t len = ALIGN8_UP(m->len);
	uint8_t *buf;

	if (k->a_len == QUEUE_MAX || !(buf = realloc(m->buf, len))) {
		kmsg_free(m);
		return -ENOBUFS;
	}
	memset(buf + m->len, 0, len - m->len);
	m->buf = buf;
	m->len = len;
	vmbus_ic_set_response(m->buf, m->len, status);
	k->answers[(k->a_head + k->a_len++) % QUEUE_MAX] = *m;
	*m = (struct kmsg){ 0 };
	return 0;
}

/* Send one message to the daemon; the kernel sends whole messages or nothing. */
static int to_daemon(struct fake_kernel *k, const void *msg, size_t len)
{
	if (k->conn_fd < 0)
		return -ENOTCONN;
	if (send(k->conn_fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		return -errno;
	return 0;
}

/* Whether the daemon read everything sent to it (hvt->outmsg is free again). */
static bool daemon_read_all(struct fake_kernel *k)
{
	int queued = 0;

	return k->conn_fd < 0 || ioctl(k->conn_fd, SIOCOUTQ, &queued) < 0 || queued == 0;
}

static void drop_daemon(struct hostsim *h, const char *why)
{
	struct fake_kernel *k = h->kernel;

	if (k->conn_fd < 0)
		return;
	close(k->conn_fd);
	k->conn_fd = -1;
	printf("kernel: %s %s\n", svc_dev[k->svc], why);
	/* hvt_reset -> on_reset: what is outstanding is answered HV_E_FAIL. */
	if (k->state == K_BUSY) {
		printf("kernel: answering the outstanding request HV_E_FAIL\n");
		answer(k, &k->cur, VMBUS_HV_E_FAIL);
	}
	if (k->state == K_INJECT)
		k->inject_done = true;
	k->state = K_INIT;
}

_printf_(2, 3) static void refuse(struct fake_kernel *k, const char *fmt, ...)
{
	va_list ap;

	k->refused++;
	printf("kernel: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": write refused (EINVAL)\n");
}

static void handle_register(struct hostsim *h, const uint8_t *msg, size_t n)
{
	struct fake_kernel *k = h->kernel;
	static struct hv_kvp_msg kreply;
	uint32_t v = 0, reply32 = 0;
	const void *reply = NULL;
	size_t reply_len = 0;
	const char *what;

	switch (k->svc) {
	case SVC_KVP:
		if (n < sizeof(struct hv_kvp_msg)) {
			refuse(k, "a %zu-byte registration, shorter than hv_kvp_msg", n);
			return;
		}
		if (msg[0] != KVP_OP_REGISTER1 && msg[0] != KVP_OP_REGISTER) {
			refuse(k, "registration with operation %u: incompatible daemon", msg[0]);
			return;
		}
		memset(&kreply, 0, sizeof(kreply));
		kreply.kvp_hdr.operation = msg[0];
		strcpy((char *)kreply.body.kvp_register.version, HV_DRV_VERSION);
		reply = &kreply;
		reply_len = sizeof(kreply);
		what = msg[0] == KVP_OP_REGISTER1 ? "KVP_OP_REGISTER1" : "KVP_OP_REGISTER";
		break;
	case SVC_VSS:
		if (n != sizeof(struct hv_vss_msg)) {
			refuse(k, "a %zu-byte VSS registration, not 12", n);
			return;
		}
		if (msg[0] != VSS_OP_REGISTER1 && msg[0] != VSS_OP_REGISTER) {
			refuse(k, "VSS registration with operation %u", msg[0]);
			return;
		}
		if (msg[0] == VSS_OP_REGISTER1) {
			reply32 = VSS_OP_REGISTER1;
			reply = &reply32;
			reply_len = sizeof(reply32);
		}
		what = msg[0] == VSS_OP_REGISTER1 ? "VSS_OP_REGISTER1" : "VSS_OP_REGISTER";
		break;
	default:
		if (n != sizeof(int)) {
			refuse(k, "a %zu-byte fcopy registration, not an int", n);
			return;
		}
		memcpy(&v, msg, sizeof(v));
		if (v != FCOPY_VERSION_0 && v != FCOPY_VERSION_1) {
			refuse(k, "fcopy registration with version %u", v);
			return;
		}
		if (v == FCOPY_VERSION_1) {
			reply32 = FCOPY_CURRENT_VERSION;
			reply = &reply32;
			reply_len = sizeof(reply32);
		}
		what = v ? "FCOPY_VERSION_1" : "FCOPY_VERSION_0";
		break;
	}
	k->registrations++;
	printf("kernel: daemon registered on %s (%s)\n", svc_dev[k->svc], what);
	if (k->on_register && k->on_register(k->on_register_data) < 0)
		printf("kernel: the registration check failed\n");
	if (reply && k->register_reply_len) {
		static uint8_t wrong[sizeof(struct hv_kvp_msg) * 2];

		printf("kernel: answering the registration with %zu bytes instead of %zu\n",
		       k->register_reply_len, reply_len);
		memset(wrong, 0, sizeof(wrong));
		memcpy(wrong, reply, reply_len < sizeof(wrong) ? reply_len : sizeof(wrong));
		reply = wrong;
		reply_len = k->register_reply_len < sizeof(wrong) ? k->register_reply_len : sizeof(wrong);
	}
	if (reply && to_daemon(k, reply, reply_len) < 0) {
		drop_daemon(h, "lost while registering");
		return;
	}
	k->state = K_READY;
}

static void handle_reply(struct hostsim *h, const uint8_t *msg, size_t n)
{
	struct fake_kernel *k = h->kernel;
	uint32_t status;
	int32_t v;

	switch (k->svc) {
	case SVC_KVP:
		if (n < sizeof(struct hv_kvp_msg)) {
			refuse(k, "a %zu-byte KVP reply, shorter than hv_kvp_msg", n);
			return;
		}
		break;
	case SVC_VSS:
		if (n != sizeof(struct hv_vss_msg)) {
			refuse(k, "a %zu-byte VSS reply, not 12", n);
			return;
		}
		break;
	default:
		if (n != sizeof(int)) {
			refuse(k, "a %zu-byte fcopy reply, not an int", n);
			return;
		}
		break;
	}
	if (k->state == K_INJECT) {
		k->inject_len = n < k->inject_size ? n : k->inject_size;
		memcpy(k->inject_reply, msg, k->inject_len);
		k->inject_done = true;
		k->state = K_READY;
		return;
	}
	switch (k->svc) {
	case SVC_KVP: {
		static struct hv_kvp_msg r;

		memcpy(&r, msg, sizeof(r));
		status = kvp_to_host(&r, &k->cur);
		break;
	}
	case SVC_VSS: {
		struct hv_vss_msg r;

		memcpy(&r, msg, sizeof(r));
		/* The kernel looks at the reply's operation byte, which `error` overlays. */
		if (r.vss_hdr.operation == VSS_OP_HOT_BACKUP && k->cur.len >= VMBUS_IC_HDR_LEN + 12) {
			uint32_t f = VSS_HBU_NO_AUTO_RECOVERY;

			memcpy(k->cur.buf + VMBUS_IC_HDR_LEN + 8, &f, sizeof(f));
		}
		status = (uint32_t)r.error;
		break;
	}
	default:
		memcpy(&v, msg, sizeof(v));
		status = (uint32_t)v;
		break;
	}
	answer(k, &k->cur, status);
	k->state = K_READY;
}

static void read_daemon(struct hostsim *h)
{
	struct fake_kernel *k = h->kernel;
	static uint8_t buf[DAEMON_MSG_MAX];
	ssize_t n;

	n = recv(k->conn_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		drop_daemon(h, "closed by the daemon (error)");
		return;
	}
	if (n == 0) {
		drop_daemon(h, "closed by the daemon");
		return;
	}
	if ((size_t)n > sizeof(buf)) {
		refuse(k, "a %zu-byte write, larger than any kernel message", (size_t)n);
		return;
	}
	if (h->verbose)
		printf("kernel: daemon wrote %zd bytes\n", n);
	switch (k->state) {
	case K_INIT:
		handle_register(h, buf, (size_t)n);
		break;
	case K_BUSY:
	case K_INJECT:
		handle_reply(h, buf, (size_t)n);
		break;
	default:
		refuse(k, "a %zu-byte write with no request outstanding", (size_t)n);
		break;
	}
}

/* Take the next host request off the "ring", if the kernel can. Returns 1 if it did something. */
static int take_request(struct hostsim *h)
{
	static const uint32_t fw_kvp[] = { UTIL_FW_VERSION, UTIL_WS2K8_FW_VERSION };
	static const uint32_t svc_kvp[] = { VMBUS_IC_VERSION(4, 0), VMBUS_IC_VERSION(3, 0),
					    VMBUS_IC_VERSION(1, 0) };
	static const uint32_t fw_one[] = { UTIL_FW_VERSION };
	static const uint32_t svc_vss[] = { VMBUS_IC_VERSION(5, 0) };
	static const uint32_t svc_fcopy[] = { VMBUS_IC_VERSION(1, 1) };
	struct fake_kernel *k = h->kernel;
	static uint8_t out[8192];
	struct vmbus_ic_header hdr;
	struct kmsg m;
	size_t out_len = 0;
	int timeout_s = HV_UTIL_TIMEOUT_S;

	if (k->q_len == 0 || k->state == K_BUSY || k->state == K_INJECT || k->a_len == QUEUE_MAX)
		return 0;
	m = k->queue[k->q_head];
	if (vmbus_ic_parse(m.buf, m.len, &hdr) == 0 && hdr.msgtype == VMBUS_IC_MSGTYPE_NEGOTIATE) {
		/* Answered by the kernel itself, daemon or not. */
	} else if (k->state != K_READY || !daemon_read_all(k)) {
		return 0; /* waits for a registered daemon that read what it was sent */
	}
	k->q_head = (k->q_head + 1) % QUEUE_MAX;
	k->q_len--;
	k->q_bytes -= ALIGN8_UP(m.len) + 24;
	if (m.len < VMBUS_IC_HDR_LEN) {
		printf("kernel: dropped a %zu-byte message (shorter than the IC headers)\n", m.len);
		kmsg_free(&m);
		return 1;
	}
	if (hdr.msgtype == VMBUS_IC_MSGTYPE_NEGOTIATE) {
		int r = k->svc == SVC_KVP ? vmbus_ic_negotiate(m.buf, m.len, fw_kvp, 2, svc_kvp, 3, NULL, NULL)
			: k->svc == SVC_VSS ? vmbus_ic_negotiate(m.buf, m.len, fw_one, 1, svc_vss, 1, NULL, NULL)
					    : vmbus_ic_negotiate(m.buf, m.len, fw_one, 1, svc_fcopy, 1, NULL, NULL);
		struct vmbus_ic_header done;

		if (r < 0) {
			printf("kernel: dropped a malformed NEGOTIATE\n");
			kmsg_free(&m);
			return 1;
		}
		vmbus_ic_parse(m.buf, m.len, &done);
		/* vmbus_ic_negotiate() wrote the response; answer() keeps its status. */
		answer(k, &m, done.status);
		return 1;
	}
	switch (k->svc) {
	case SVC_KVP:
		kvp_to_daemon(&m, (struct hv_kvp_msg *)out);
		out_len = sizeof(struct hv_kvp_msg);
		break;
	case SVC_VSS: {
		struct hv_vss_msg v = { 0 };
		uint8_t op;

		if (hdr.msgtype != VMBUS_IC_MSGTYPE_VSS || m.len < VMBUS_IC_HDR_LEN + sizeof(v)) {
			printf("kernel: dropped a %zu-byte VSS message (type %u; hv_vss_msg needs %zu)\n",
			       m.len, hdr.msgtype, VMBUS_IC_HDR_LEN + sizeof(v));
			kmsg_free(&m);
			return 1;
		}
		op = m.buf[VMBUS_IC_HDR_LEN];
		if (op != VSS_OP_FREEZE && op != VSS_OP_THAW && op != VSS_OP_HOT_BACKUP) {
			if (op == VSS_OP_GET_DM_INFO)
				memset(m.buf + VMBUS_IC_HDR_LEN + 8, 0, 4);
			answer(k, &m, 0);
			return 1;
		}
		v.vss_hdr.operation = op;
		memcpy(out, &v, sizeof(v));
		out_len = sizeof(v);
		if (op == VSS_OP_FREEZE)
			timeout_s = VSS_FREEZE_TIMEOUT_S;
		break;
	}
	default:
		fcopy_to_daemon(&m, out, &out_len);
		break;
	}
	k->cur = m;
	k->state = K_BUSY;
	k->deadline_ms = now_ms() + (int64_t)timeout_s * 1000;
	if (h->verbose)
		printf("kernel: %zu-byte message to the daemon\n", out_len);
	if (to_daemon(k, out, out_len) < 0)
		drop_daemon(h, "lost while sending a request");
	return 1;
}

enum want { WANT_ANSWER, WANT_ROOM, WANT_EXIT, WANT_REGISTERED, WANT_INJECT };

/*
 * Serve the device until what the caller wants is there, the guest exited
 * (-ECHILD), the deadline passed (-ETIMEDOUT) or an interrupt came (-EINTR).
 */
static int pump(struct hostsim *h, enum want want, uintptr_t arg, int64_t deadline)
{
	struct fake_kernel *k = h->kernel;

	for (;;) {
		struct pollfd p[4] = {
			{ .fd = k->listen_fd, .events = POLLIN },
			{ .fd = k->conn_fd, .events = POLLIN },
			{ .fd = h->guest_status >= 0 ? -1 : h->pidfd, .events = POLLIN },
			{ .fd = h->interrupt_fd, .events = POLLIN },
		};
		int64_t now, wait;
		int r, status;

		while (take_request(h) > 0)
			;
		switch (want) {
		case WANT_ANSWER:
			if (k->a_len > 0)
				return 0;
			break;
		case WANT_ROOM:
			if (k->q_bytes + arg < h->ring_size - 4096 && k->q_len < QUEUE_MAX)
				return 0;
			if (k->a_len > 0)
				return -EAGAIN;
			break;
		case WANT_EXIT:
			if (h->guest_status >= 0)
				return 0;
			break;
		case WANT_REGISTERED:
			/* As the kernel's on_read callback: registered once the daemon read the answer. */
			if (k->registrations >= arg && k->state == K_READY && daemon_read_all(k))
				return 0;
			break;
		case WANT_INJECT:
			if (k->inject_done)
				return 0;
			break;
		}
		if (h->guest_status >= 0 && k->conn_fd < 0)
			return -ECHILD;
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (k->state == K_BUSY && now >= k->deadline_ms) {
			printf("kernel: timeout waiting for the daemon to reply: HV_E_FAIL\n");
			answer(k, &k->cur, VMBUS_HV_E_FAIL);
			k->state = K_READY;
			continue;
		}
		wait = deadline - now;
		if (k->state == K_BUSY && k->deadline_ms - now < wait)
			wait = k->deadline_ms - now;
		if ((k->q_len > 0 || want == WANT_REGISTERED) && k->state == K_READY &&
		    !daemon_read_all(k) && wait > 5)
			wait = 5; /* the daemon has not read the last message yet */
		r = poll(p, ELEMENTSOF(p), wait > INT_MAX ? INT_MAX : (int)wait);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[3].revents & POLLIN)
			return -EINTR;
		if (p[1].revents)
			read_daemon(h);
		if (p[0].revents & POLLIN) {
			int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd >= 0 && k->conn_fd >= 0) {
				printf("kernel: a second open of %s refused (EBUSY)\n", svc_dev[k->svc]);
				close(fd);
			} else if (fd >= 0) {
				k->conn_fd = fd;
				k->state = K_INIT;
				if (h->verbose)
					printf("kernel: %s opened\n", svc_dev[k->svc]);
			}
		}
		if ((p[2].revents & POLLIN) && waitpid(h->pid, &status, WNOHANG) == h->pid)
			h->guest_status = status;
	}
}

/* ------------------------------------------------------------------------ */
/* The engine's side                                                         */
/* ------------------------------------------------------------------------ */

static _noreturn_ void exec_guest(char **argv, pid_t parent, const char *node)
{
	const char *shim = getenv("HV_HOSTSIM_PRELOAD"), *old = getenv("LD_PRELOAD");
	char *preload = NULL, *channel = NULL;

	hostsim_guest_setup(parent);
	/* A sanitizer build of the guest refuses a preload before its runtime unless told. */
	asan_allow_preload();
	if (asprintf(&preload, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", shim) < 0 ||
	    asprintf(&channel, "chardev:%s", node) < 0 || setenv("LD_PRELOAD", preload, 1) < 0)
		_exit(127);
	hostsim_guest_exec(argv, channel);
}

int kernel_start(struct hostsim *h, const char *service, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *shim = getenv("HV_HOSTSIM_PRELOAD");
	const char *tmp = getenv("TMPDIR");
	struct fake_kernel *k;
	pid_t parent = getpid();
	int fd;

	h->guest_status = -1;
	h->pidfd = -1;
	h->interrupt_fd = -1;
	if (!shim || !*shim || access(shim, R_OK) < 0) {
		fprintf(stderr, "hv-hostsim: --transport chardev needs HV_HOSTSIM_PRELOAD naming "
			"fake-chardev.so (tests/uio/.libs in the build tree)\n");
		return -ENOENT;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	h->kernel = k;
	k->listen_fd = k->conn_fd = -1;
	k->svc = strcmp(service, "kvp") == 0 ? SVC_KVP : strcmp(service, "vss") == 0 ? SVC_VSS : SVC_FCOPY;
	snprintf(k->dir, sizeof(k->dir), "%s/hv-hostsim.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(k->dir)) {
		k->dir[0] = '\0';
		return -errno;
	}
	if (snprintf(k->node, sizeof(k->node), "%s/%s", k->dir, svc_dev[k->svc]) >= (int)sizeof(k->node) ||
	    snprintf(k->sock, sizeof(k->sock), "%s.sock", k->node) >= (int)sizeof(k->sock) ||
	    strlen(k->sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, k->sock);
	fd = open(k->node, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	k->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (k->listen_fd < 0 || bind(k->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(k->listen_fd, 4) < 0)
		return -errno;
	h->buflen = 0;
	fflush(stdout);
	fflush(stderr);
	h->pid = fork();
	if (h->pid < 0)
		return -errno;
	if (h->pid == 0)
		exec_guest(argv, parent, k->node);
	(void)setpgid(h->pid, h->pid);
	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	if (h->pidfd < 0)
		return -errno;
	h->next_trans_id = 1;
	h->next_ic_txid = 1;
	return 0;
}

int kernel_send(struct hostsim *h, const void *msg, size_t len, uint64_t *ret_trans_id)
{
	struct fake_kernel *k = h->kernel;
	size_t need = ALIGN8_UP(len) + 24;
	struct kmsg m;
	int r;

	if (need >= h->ring_size - 4096)
		return -EMSGSIZE;
	r = pump(h, WANT_ROOM, need, now_ms() + h->timeout_ms);
	if (r < 0)
		return r;
	m.buf = malloc(len ? len : 1);
	if (!m.buf)
		return -ENOMEM;
	memcpy(m.buf, msg, len);
	m.len = len;
	m.trans_id = h->next_trans_id++;
	k->queue[(k->q_head + k->q_len++) % QUEUE_MAX] = m;
	k->q_bytes += need;
	if (h->verbose) {
		struct vmbus_packet pkt = { .type = VMBUS_PKT_DATA_INBAND, .len = (uint32_t)len,
					    .trans_id = m.trans_id };

		hostsim_print_packet("host -> guest", &pkt, msg, len);
	}
	if (ret_trans_id)
		*ret_trans_id = m.trans_id;
	/* The kernel looks at the ring at once: a NEGOTIATE is answered without waiting. */
	while (take_request(h) > 0)
		;
	return 0;
}

int kernel_receive(struct hostsim *h, const uint8_t **ret_msg, size_t *ret_len,
		   uint64_t *ret_trans_id)
{
	struct fake_kernel *k = h->kernel;
	struct kmsg a;
	int r;

	r = pump(h, WANT_ANSWER, 0, now_ms() + h->timeout_ms);
	if (r < 0)
		return r;
	a = k->answers[k->a_head];
	k->a_head = (k->a_head + 1) % QUEUE_MAX;
	k->a_len--;
	free(k->out);
	k->out = a.buf;
	if (h->verbose) {
		struct vmbus_packet pkt = { .type = VMBUS_PKT_DATA_INBAND, .len = (uint32_t)a.len,
					    .trans_id = a.trans_id };

		hostsim_print_packet("guest -> host", &pkt, a.buf, a.len);
	}
	*ret_msg = a.buf;
	*ret_len = a.len;
	if (ret_trans_id)
		*ret_trans_id = a.trans_id;
	return 0;
}

int kernel_wait_exit(struct hostsim *h, int timeout_ms)
{
	int r = pump(h, WANT_EXIT, 0, now_ms() + timeout_ms);

	return r == 0 || r == -ECHILD;
}

void kernel_settle(struct hostsim *h)
{
	/*
	 * The kernel answers NEGOTIATE without the daemon: before a command that
	 * needed nothing else stops the guest, let it finish starting (register),
	 * as it would have on the rings.
	 */
	if (h->kernel && h->guest_status < 0 && h->kernel->registrations == 0)
		(void)pump(h, WANT_REGISTERED, 1, now_ms() + h->timeout_ms);
}

void kernel_stop(struct hostsim *h)
{
	struct fake_kernel *k = h->kernel;

	if (!k)
		return;
	if (k->conn_fd >= 0)
		close(k->conn_fd);
	if (k->listen_fd >= 0)
		close(k->listen_fd);
	kmsg_free(&k->cur);
	while (k->q_len > 0) {
		kmsg_free(&k->queue[k->q_head]);
		k->q_head = (k->q_head + 1) % QUEUE_MAX;
		k->q_len--;
	}
	while (k->a_len > 0) {
		kmsg_free(&k->answers[k->a_head]);
		k->a_head = (k->a_head + 1) % QUEUE_MAX;
		k->a_len--;
	}
	free(k->out);
	if (k->dir[0]) {
		unlink(k->sock);
		unlink(k->node);
		rmdir(k->dir);
	}
	free(k);
	h->kernel = NULL;
}

void kernel_set_register_reply_len(struct hostsim *h, size_t len)
{
	h->kernel->register_reply_len = len;
}

size_t kernel_register_reply_len(struct hostsim *h)
{
	switch (h->kernel->svc) {
	case SVC_KVP:
		return sizeof(struct hv_kvp_msg);
	default:
		return sizeof(uint32_t);
	}
}

void kernel_set_on_register(struct hostsim *h, int (*fn)(void *data), void *data)
{
	h->kernel->on_register = fn;
	h->kernel->on_register_data = data;
}

unsigned kernel_registrations(struct hostsim *h)
{
	return h->kernel->registrations;
}

unsigned kernel_refused_writes(struct hostsim *h)
{
	return h->kernel->refused;
}

int kernel_wait_registered(struct hostsim *h, unsigned n)
{
	return pump(h, WANT_REGISTERED, n, now_ms() + h->timeout_ms);
}

int kernel_inject(struct hostsim *h, const void *msg, size_t len, void *reply, size_t reply_size,
		  size_t *ret_len)
{
	struct fake_kernel *k = h->kernel;
	int r;

	r = pump(h, WANT_REGISTERED, 1, now_ms() + h->timeout_ms);
	if (r < 0)
		return r;
	while (!daemon_read_all(k))
		usleep(1000);
	k->inject_reply = reply;
	k->inject_size = reply_size;
	k->inject_len = 0;
	k->inject_done = false;
	k->state = K_INJECT;
	if (to_daemon(k, msg, len) < 0) {
		drop_daemon(h, "lost while sending");
		return -ECONNRESET;
	}
	r = pump(h, WANT_INJECT, 0, now_ms() + h->timeout_ms);
	if (r < 0) {
		if (k->state == K_INJECT)
			k->state = K_READY;
		return r;
	}
	if (k->inject_len == 0 && k->state == K_INIT)
		return -ECONNRESET;
	*ret_len = k->inject_len;
	return 0;
}

void kernel_reset(struct hostsim *h)
{
	drop_daemon(h, "reset by the kernel (as around hibernation)");
}
