/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <vmbus/vmbus.h>

#include "log.h"
#include "vss-proto.h"

static void put_u32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

/* The answer carries flags: the message must hold them. */
static uint32_t set_flags(struct vss *v, uint8_t *body, size_t len, uint32_t flags, const char *op)
{
	if (len < VSS_MSG_LEN) {
		v->n_refused++;
		log_warning("vss: %s in a %zu-byte message, shorter than its %d bytes, refused", op, len,
			    VSS_MSG_LEN);
		return VMBUS_HV_E_FAIL;
	}
	put_u32(body + VSS_OFF_FLAGS, flags);
	return VMBUS_HV_S_OK;
}

uint32_t vss_message(struct vss *v, uint8_t *body, size_t len)
{
	unsigned op;
	uint32_t st;

	v->n_requests++;
	if (len < 1) {
		v->n_refused++;
		log_warning("vss: empty message, refused");
		return VMBUS_HV_E_FAIL;
	}
	op = body[VSS_OFF_OPERATION];
	switch (op) {
	case VSS_OP_CREATE:
	case VSS_OP_DELETE:
	case VSS_OP_BU_COMPLETE:
	case VSS_OP_AUTO_RECOVER:
		/* The kernel answers these itself, with success. */
		log_debug("vss: %s", vss_op_name(op));
		return VMBUS_HV_S_OK;
	case VSS_OP_GET_DM_INFO:
		return set_flags(v, body, len, 0, "GET_DM_INFO");
	case VSS_OP_HOT_BACKUP:
		/* The flag the kernel means to set (its daemon's reply loses it: reference §7.1). */
		log_info("vss: HOT_BACKUP: answering that auto-recovery is not supported");
		return set_flags(v, body, len, VSS_HBU_NO_AUTO_RECOVERY, "HOT_BACKUP");
	case VSS_OP_FREEZE:
		v->n_freeze++;
		st = v->ops && v->ops->freeze ? v->ops->freeze(v->userdata) : VMBUS_HV_E_FAIL;
		if (st != VMBUS_HV_S_OK)
			v->n_refused++;
		return st;
	case VSS_OP_THAW:
		v->n_thaw++;
		st = v->ops && v->ops->thaw ? v->ops->thaw(v->userdata) : VMBUS_HV_E_FAIL;
		if (st != VMBUS_HV_S_OK)
			v->n_refused++;
		return st;
	default:
		v->n_refused++;
		log_warning("vss: unknown operation %u (%zu bytes), answered HV_ERROR_NOT_SUPPORTED", op, len);
		return VMBUS_HV_ERROR_NOT_SUPPORTED;
	}
}

uint32_t vss_kernel_message(struct vss *v, uint8_t *msg, size_t len)
{
	uint32_t st;

	if (len != VSS_MSG_LEN) {
		v->n_requests++;
		v->n_refused++;
		log_warning("vss: %zu-byte message from the kernel, not the %d bytes of struct hv_vss_msg: refused",
			    len, VSS_MSG_LEN);
		memset(msg, 0, VSS_MSG_LEN);
		st = VMBUS_HV_E_FAIL;
	} else {
		st = vss_message(v, msg, len);
	}
	/* The status goes in `error`, over vss_hdr, in the kernel's byte order. */
	memcpy(msg + VSS_KMSG_OFF_ERROR, &st, sizeof(st));
	return st;
}

size_t vss_kernel_register(uint8_t *msg)
{
	memset(msg, 0, VSS_MSG_LEN);
	msg[VSS_OFF_OPERATION] = VSS_OP_REGISTER1;
	return VSS_MSG_LEN;
}

int vss_kernel_register_reply(const uint8_t *msg, size_t len, uint32_t *ret_version)
{
	if (len != VSS_KREGISTER_REPLY_LEN)
		return log_error_errno(-EPROTO, "vss: invalid version negotiation: the kernel answered the "
				       "registration with %zu bytes, not %d", len, VSS_KREGISTER_REPLY_LEN);
	memcpy(ret_version, msg, sizeof(*ret_version));
	return 0;
}

static size_t cd_register(void *userdata, uint8_t *buf)
{
	(void)userdata;
	return vss_kernel_register(buf);
}

static int cd_register_reply(void *userdata, const uint8_t *msg, size_t len)
{
	uint32_t version = 0;
	int r;

	(void)userdata;
	r = vss_kernel_register_reply(msg, len, &version);
	if (r >= 0)
		log_info("vss: the kernel's VSS driver answered the registration (version %" PRIu32 ")", version);
	return r;
}

static size_t cd_message(void *userdata, uint8_t *buf, size_t len)
{
	(void)vss_kernel_message(userdata, buf, len);
	return VSS_MSG_LEN;
}

const struct chardev_ops vss_chardev_ops = {
	.name = "vss",
	.max_msg = VSS_KMSG_BUF,
	.register_msg = cd_register,
	.register_reply = cd_register_reply,
	.message = cd_message,
};
