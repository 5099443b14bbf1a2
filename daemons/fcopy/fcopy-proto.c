/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <vmbus/vmbus.h>

#include "fcopy-proto.h"
#include "log.h"

const char *fcopy_op_name(uint32_t op)
{
	switch (op) {
	case FCOPY_OP_START:
		return "START_FILE_COPY";
	case FCOPY_OP_WRITE:
		return "WRITE_TO_FILE";
	case FCOPY_OP_COMPLETE:
		return "COMPLETE_FCOPY";
	case FCOPY_OP_CANCEL:
		return "CANCEL_FCOPY";
	default:
		return "unknown operation";
	}
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A W_MAX_PATH field: strict UTF-16, and its NUL must be inside the field. */
static int decode_name(const uint8_t *field, char *out, size_t size, const char **ret_why,
		       const char *what_invalid, const char *what_unterminated)
{
	int r;
	bool nul = false;

	for (size_t i = 0; i < FCOPY_W_MAX_PATH; i++)
		if (field[2 * i] == 0 && field[2 * i + 1] == 0) {
			nul = true;
			break;
		}
	if (!nul) {
		*ret_why = what_unterminated;
		return -EINVAL;
	}
	r = vmbus_utf16_to_utf8(field, 2 * FCOPY_W_MAX_PATH, out, size);
	if (r < 0) {
		*ret_why = what_invalid;
		return r;
	}
	return 0;
}

/* hv_do_fcopy: the same layout on the ring and from the kernel. */
static uint32_t decode_write(const uint8_t *body, size_t len, struct fcopy_request *req, const char **ret_why)
{
	if (len < FCOPY_OFF_DATA) {
		*ret_why = "WRITE_TO_FILE message is truncated";
		return VMBUS_HV_E_FAIL;
	}
	req->offset = le64(body + FCOPY_OFF_OFFSET);
	req->size = le32(body + FCOPY_OFF_SIZE);
	if (req->size > FCOPY_DATA_FRAGMENT) {
		*ret_why = "WRITE_TO_FILE size exceeds the 6144-byte fragment";
		return VMBUS_HV_E_FAIL;
	}
	if (req->size > len - FCOPY_OFF_DATA) {
		*ret_why = "WRITE_TO_FILE size runs past the end of the message";
		return VMBUS_HV_E_FAIL;
	}
	/* off_t is signed: the end of the write must stay below 2^63. */
	if (req->offset > (uint64_t)INT64_MAX - req->size) {
		*ret_why = "WRITE_TO_FILE offset + size overflows";
		return VMBUS_HV_E_FAIL;
	}
	req->data = body + FCOPY_OFF_DATA;
	return VMBUS_HV_S_OK;
}

uint32_t fcopy_decode(const uint8_t *body, size_t len, struct fcopy_request *req, const char **ret_why)
{
	*ret_why = NULL;
	req->data = NULL;
	req->size = 0;
	if (len < 4) {
		*ret_why = "message too short to hold an operation";
		return VMBUS_HV_E_FAIL;
	}
	req->op = le32(body + FCOPY_OFF_OPERATION);

	switch (req->op) {
	case FCOPY_OP_START:
		if (len < FCOPY_START_LEN) {
			*ret_why = "START_FILE_COPY message is truncated";
			return VMBUS_HV_E_FAIL;
		}
		if (decode_name(body + FCOPY_OFF_FILE_NAME, req->name, sizeof(req->name), ret_why,
				"file name is not valid UTF-16", "file name has no terminating NUL") < 0 ||
		    decode_name(body + FCOPY_OFF_PATH_NAME, req->path, sizeof(req->path), ret_why,
				"path name is not valid UTF-16", "path name has no terminating NUL") < 0)
			return VMBUS_HV_E_FAIL;
		req->flags = le32(body + FCOPY_OFF_COPY_FLAGS);
		req->file_size = le64(body + FCOPY_OFF_FILE_SIZE);
		return VMBUS_HV_S_OK;

	case FCOPY_OP_WRITE:
		return decode_write(body, len, req, ret_why);

	default:
		/* COMPLETE and CANCEL carry nothing beyond the operation; unknown ones are refused later. */
		return VMBUS_HV_S_OK;
	}
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int fcopy_target(const char *path, const char *name, char *dir, size_t dir_size, const char **ret_why)
{
	size_t n = 0, name_len = strlen(name);
	const char *p = path;

	*ret_why = NULL;
	if (name_len == 0) {
		*ret_why = "the file name is empty";
		return -EINVAL;
	}
	if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		*ret_why = "the file name contains '/' or is '.' or '..'";
		return -EINVAL;
	}
	if (name_len > NAME_MAX) {
		*ret_why = "the file name is longer than NAME_MAX";
		return -ENAMETOOLONG;
	}
	if (path[0] != '/') {
		*ret_why = "the path is not absolute";
		return -EINVAL;
	}
	if (dir_size < 2) {
		*ret_why = "no room for the directory";
		return -ENAMETOOLONG;
	}
	/* Windows names never hold C0 controls; here they could only forge log lines. */
	if (has_control(path)) {
		*ret_why = "the path contains a control character";
		return -EINVAL;
	}
	if (has_control(name)) {
		*ret_why = "the file name contains a control character";
		return -EINVAL;
	}

	while (*p) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p = end;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			*ret_why = "the path contains a '..' component";
			return -EINVAL;
		}
		if (len > NAME_MAX) {
			*ret_why = "a path component is longer than NAME_MAX";
			return -ENAMETOOLONG;
		}
		if (n + 1 + len + 1 > dir_size) {
			*ret_why = "the path is longer than PATH_MAX";
			return -ENAMETOOLONG;
		}
		dir[n++] = '/';
		memcpy(dir + n, p, len);
		n += len;
		p = end;
	}
	if (n == 0)
		dir[n++] = '/';
	dir[n] = '\0';
	/* dir + '/' + name + NUL must fit in PATH_MAX (the root needs no extra '/'). */
	if ((n == 1 ? 1 : n + 1) + name_len + 1 > PATH_MAX) {
		*ret_why = "the path is longer than PATH_MAX";
		return -ENAMETOOLONG;
	}
	return 0;
}

static void abort_open(struct fcopy *f, const char *why)
{
	if (!f->open)
		return;
	f->ops->abort(f->sink, why);
	f->open = false;
	f->n_aborted++;
}

void fcopy_abort(struct fcopy *f, const char *why)
{
	abort_open(f, why);
}

/* Handle what a decoder made of a message: the request, or its refusal. */
static uint32_t handle_decoded(struct fcopy *f, const struct fcopy_request *req, size_t len, uint32_t status,
			       const char *why)
{
	if (status == VMBUS_HV_S_OK)
		return fcopy_handle(f, req);
	f->n_refused++;
	log_error("refusing a %zu-byte %s: %s", len, len >= 4 ? fcopy_op_name(req->op) : "message", why);
	/* A lost fragment ruins the file; a new START means the old transfer is over either way. */
	if (len >= 4 && req->op == FCOPY_OP_WRITE)
		abort_open(f, "a fragment could not be decoded");
	else if (len >= 4 && req->op == FCOPY_OP_START)
		abort_open(f, "a new START_FILE_COPY arrived");
	return status;
}

uint32_t fcopy_message(struct fcopy *f, const uint8_t *body, size_t len)
{
	struct fcopy_request req;
	const char *why;
	uint32_t status;

	status = fcopy_decode(body, len, &req, &why);
	return handle_decoded(f, &req, len, status, why);
}

/* A name from hv_utils: UTF-8 bytes, NUL-terminated inside the u16[260] field. */
static int decode_kernel_name(const uint8_t *field, char *out, size_t size, const char **ret_why,
			      const char *what_invalid, const char *what_unterminated)
{
	const uint8_t *nul = memchr(field, 0, FCOPY_KNAME_FIELD);
	size_t len;

	if (!nul) {
		*ret_why = what_unterminated;
		return -EINVAL;
	}
	len = (size_t)(nul - field);
	if (len >= size || !vmbus_utf8_valid((const char *)field, len)) {
		*ret_why = what_invalid;
		return -EILSEQ;
	}
	memcpy(out, field, len);
	out[len] = '\0';
	return 0;
}

uint32_t fcopy_decode_kernel(const uint8_t *msg, size_t len, struct fcopy_request *req, const char **ret_why)
{
	*ret_why = NULL;
	req->data = NULL;
	req->size = 0;
	if (len < 4) {
		*ret_why = "message too short to hold an operation";
		return VMBUS_HV_E_FAIL;
	}
	memcpy(&req->op, msg + FCOPY_OFF_OPERATION, sizeof(req->op));
	if (len > FCOPY_KMSG_MAX) {
		*ret_why = "message longer than the kernel ever sends";
		return VMBUS_HV_E_FAIL;
	}

	switch (req->op) {
	case FCOPY_OP_START:
		if (len != FCOPY_START_LEN) {
			*ret_why = "START_FILE_COPY message is not the 1088 bytes of struct hv_start_fcopy";
			return VMBUS_HV_E_FAIL;
		}
		if (decode_kernel_name(msg + FCOPY_OFF_FILE_NAME, req->name, sizeof(req->name), ret_why,
				       "file name is not valid UTF-8", "file name has no terminating NUL") < 0 ||
		    decode_kernel_name(msg + FCOPY_OFF_PATH_NAME, req->path, sizeof(req->path), ret_why,
				       "path name is not valid UTF-8", "path name has no terminating NUL") < 0)
			return VMBUS_HV_E_FAIL;
		memcpy(&req->flags, msg + FCOPY_OFF_COPY_FLAGS, sizeof(req->flags));
		memcpy(&req->file_size, msg + FCOPY_OFF_FILE_SIZE, sizeof(req->file_size));
		return VMBUS_HV_S_OK;

	case FCOPY_OP_WRITE:
		if (len != FCOPY_WRITE_LEN) {
			*ret_why = "WRITE_TO_FILE message is not the 6196 bytes of struct hv_do_fcopy";
			return VMBUS_HV_E_FAIL;
		}
		return decode_write(msg, len, req, ret_why);

	default:
		return VMBUS_HV_S_OK;
	}
}

uint32_t fcopy_kernel_message(struct fcopy *f, const uint8_t *msg, size_t len)
{
	struct fcopy_request req = { 0 };
	const char *why;
	uint32_t status;

	status = fcopy_decode_kernel(msg, len, &req, &why);
	return handle_decoded(f, &req, len, status, why);
}

size_t fcopy_kernel_register(uint8_t *msg)
{
	int32_t v = FCOPY_KVERSION;

	memcpy(msg, &v, sizeof(v));
	return sizeof(v);
}

int fcopy_kernel_register_reply(const uint8_t *msg, size_t len, uint32_t *ret_version)
{
	if (len != FCOPY_KREPLY_LEN)
		return log_error_errno(-EPROTO, "fcopy: the kernel answered the registration with %zu bytes, not %d",
				       len, FCOPY_KREPLY_LEN);
	memcpy(ret_version, msg, sizeof(*ret_version));
	return 0;
}

uint32_t fcopy_handle(struct fcopy *f, const struct fcopy_request *req)
{
	char dir[PATH_MAX];
	const char *why;
	uint32_t status;

	switch (req->op) {
	case FCOPY_OP_START:
		/* Hyper-V never overlaps transfers; a new START means the old one is dead. */
		abort_open(f, "a new START_FILE_COPY arrived");
		if (fcopy_target(req->path, req->name, dir, sizeof(dir), &why) < 0) {
			f->n_refused++;
			log_error("refusing to copy '%s' to '%s': %s", req->name, req->path, why);
			return VMBUS_HV_E_FAIL;
		}
		status = f->ops->start(f->sink, dir, req->name, req->flags, req->file_size);
		if (status != VMBUS_HV_S_OK) {
			f->n_refused++;
			return status;
		}
		f->open = true;
		f->n_started++;
		return VMBUS_HV_S_OK;

	case FCOPY_OP_WRITE:
		if (!f->open) {
			f->n_refused++;
			log_warning("WRITE_TO_FILE with no transfer open, refused");
			return VMBUS_HV_E_FAIL;
		}
		status = f->ops->write(f->sink, req->offset, req->data, req->size);
		/* A lost fragment makes the file worthless: drop it rather than complete it with a hole. */
		if (status != VMBUS_HV_S_OK)
			abort_open(f, "a write failed");
		return status;

	case FCOPY_OP_COMPLETE:
		if (!f->open) {
			f->n_refused++;
			log_warning("COMPLETE_FCOPY with no transfer open, refused");
			return VMBUS_HV_E_FAIL;
		}
		f->open = false;
		status = f->ops->complete(f->sink);
		if (status == VMBUS_HV_S_OK)
			f->n_completed++;
		else
			f->n_aborted++;
		return status;

	case FCOPY_OP_CANCEL:
		/* Like the kernel's old daemon: success, whether or not anything was open. */
		abort_open(f, "cancelled by the host");
		return VMBUS_HV_S_OK;

	default:
		f->n_refused++;
		log_warning("unknown fcopy operation %u, refused", req->op);
		return VMBUS_HV_E_FAIL;
	}
}

static size_t cd_register(void *userdata, uint8_t *buf)
{
	(void)userdata;
	return fcopy_kernel_register(buf);
}

static int cd_register_reply(void *userdata, const uint8_t *msg, size_t len)
{
	uint32_t version = 0;
	int r;

	(void)userdata;
	r = fcopy_kernel_register_reply(msg, len, &version);
	if (r >= 0)
		log_info("fcopy: the kernel's fcopy driver answered the registration (version %" PRIu32 ")", version);
	return r;
}

static size_t cd_message(void *userdata, uint8_t *buf, size_t len)
{
	uint32_t status = fcopy_kernel_message(userdata, buf, len);

	memcpy(buf, &status, sizeof(status));
	return sizeof(status);
}

static int cd_reset(void *userdata, const char *why)
{
	/* The kernel answered the host HV_E_FAIL for whatever was outstanding: the transfer is lost. */
	fcopy_abort(userdata, why);
	return 0;
}

const struct chardev_ops fcopy_chardev_ops = {
	.name = "fcopy",
	.max_msg = FCOPY_KMSG_MAX,
	.register_msg = cd_register,
	.register_reply = cd_register_reply,
	.message = cd_message,
	.reset = cd_reset,
};
