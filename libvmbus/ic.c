/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Integration Component framing: pipe + IC headers and version negotiation.
 * Pure: works on a caller's buffer, reads and writes only inside [msg, msg+len).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

static uint32_t ver_get(const struct ic_version *v)
{
	struct ic_version c;

	memcpy(&c, v, sizeof(c));
	return VMBUS_IC_VERSION(c.major, c.minor);
}

static void ver_put(struct ic_version *v, uint32_t ver)
{
	struct ic_version c = { .major = VMBUS_IC_VERSION_MAJOR(ver), .minor = VMBUS_IC_VERSION_MINOR(ver) };

	memcpy(v, &c, sizeof(c));
}

VMBUS_EXPORT int vmbus_ic_parse(const void *msg, size_t len, struct vmbus_ic_header *ret)
{
	struct vmbuspipe_hdr pipe;
	struct icmsg_hdr ic;

	assert_return(msg && ret, -EINVAL);
	if (len < IC_HDR_LEN)
		return -EBADMSG;
	memcpy(&pipe, msg, sizeof(pipe));
	memcpy(&ic, (const uint8_t *)msg + sizeof(pipe), sizeof(ic));
	*ret = (struct vmbus_ic_header){
		.pipe_flags = pipe.flags,
		.pipe_msgsize = pipe.msgsize,
		.framework_version = VMBUS_IC_VERSION(ic.icverframe.major, ic.icverframe.minor),
		.message_version = VMBUS_IC_VERSION(ic.icvermsg.major, ic.icvermsg.minor),
		.status = ic.status,
		.msgtype = ic.icmsgtype,
		.msgsize = ic.icmsgsize,
		.transaction_id = ic.ictransaction_id,
		.flags = ic.icflags,
		.body_len = (uint32_t)(len - IC_HDR_LEN > UINT32_MAX ? UINT32_MAX : len - IC_HDR_LEN),
	};
	return 0;
}

VMBUS_EXPORT int vmbus_ic_build(void *msg, size_t len, uint16_t msgtype, uint32_t framework_version,
				uint32_t message_version, uint16_t body_len, uint8_t transaction_id)
{
	struct vmbuspipe_hdr pipe;
	struct icmsg_hdr ic;

	assert_return(msg, -EINVAL);
	if (len < IC_HDR_LEN + (size_t)body_len)
		return -ENOBUFS;
	/* The kernel's hv_utils sends pipe flags 0 and msgsize = icmsg header + body. */
	pipe = (struct vmbuspipe_hdr){ .flags = 0, .msgsize = (uint32_t)sizeof(ic) + body_len };
	memset(&ic, 0, sizeof(ic));
	ver_put(&ic.icverframe, framework_version);
	ver_put(&ic.icvermsg, message_version);
	ic.icmsgtype = msgtype;
	ic.icmsgsize = body_len;
	ic.ictransaction_id = transaction_id;
	ic.icflags = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST;
	memcpy(msg, &pipe, sizeof(pipe));
	memcpy((uint8_t *)msg + sizeof(pipe), &ic, sizeof(ic));
	return 0;
}

VMBUS_EXPORT int vmbus_ic_set_response(void *msg, size_t len, uint32_t status)
{
	uint8_t *ic;
	uint8_t flags = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE;

	assert_return(msg, -EINVAL);
	if (len < IC_HDR_LEN)
		return -EBADMSG;
	ic = (uint8_t *)msg + sizeof(struct vmbuspipe_hdr);
	memcpy(ic + offsetof(struct icmsg_hdr, status), &status, sizeof(status));
	memcpy(ic + offsetof(struct icmsg_hdr, icflags), &flags, sizeof(flags));
	return 0;
}

/* Is ver among the n versions at v (unaligned wire entries)? */
static bool offers(const struct ic_version *v, size_t n, uint32_t ver)
{
	for (size_t i = 0; i < n; i++)
		if (ver_get(&v[i]) == ver)
			return true;
	return false;
}

#define NEG_OFF IC_HDR_LEN
#define NEG_DATA (NEG_OFF + sizeof(struct icmsg_negotiate))

VMBUS_EXPORT int vmbus_ic_negotiate(void *msg, size_t len, const uint32_t *fw, size_t n_fw,
				    const uint32_t *svc, size_t n_svc, uint32_t *ret_fw,
				    uint32_t *ret_svc)
{
	uint8_t *m = msg;
	struct icmsg_negotiate neg;
	const struct ic_version *host;
	uint32_t chosen_fw = 0, chosen_svc = 0;
	uint16_t cnt[2] = { 0, 0 }, msgsize = 16;
	bool match = false;
	uint8_t *ic;

	assert_return(msg, -EINVAL);
	assert_return(fw || n_fw == 0, -EINVAL);
	assert_return(svc || n_svc == 0, -EINVAL);
	/* Without a negotiate header there is nothing to answer in. */
	if (len < NEG_DATA)
		return -EBADMSG;

	memcpy(&neg, m + NEG_OFF, sizeof(neg));
	ic = m + sizeof(struct vmbuspipe_hdr);
	if (len < NEG_DATA + 2 * sizeof(struct ic_version)) {
		/* No room for the two chosen versions: refuse, inside the buffer, rather than stay silent. */
		msgsize = sizeof(neg);
		neg.icframe_vercnt = neg.icmsg_vercnt = 0;
		memcpy(m + NEG_OFF, &neg, sizeof(neg));
		memcpy(ic + offsetof(struct icmsg_hdr, icmsgsize), &msgsize, sizeof(msgsize));
		vmbus_ic_set_response(msg, len, VMBUS_HV_E_FAIL);
		return 0;
	}

	host = (const struct ic_version *)(m + NEG_DATA);
	if (neg.icframe_vercnt <= VMBUS_IC_MAX_VERSIONS && neg.icmsg_vercnt <= VMBUS_IC_MAX_VERSIONS &&
	    NEG_DATA + ((size_t)neg.icframe_vercnt + neg.icmsg_vercnt) * sizeof(struct ic_version) <= len) {
		size_t i, j;

		for (i = 0; i < n_fw && !offers(host, neg.icframe_vercnt, fw[i]); i++)
			;
		for (j = 0; j < n_svc && !offers(host + neg.icframe_vercnt, neg.icmsg_vercnt, svc[j]); j++)
			;
		if (i < n_fw && j < n_svc) {
			chosen_fw = fw[i];
			chosen_svc = svc[j];
			match = true;
		}
	}

	/* Rewrite in place: counts, then the chosen pair (zeros when refused). */
	if (match)
		cnt[0] = cnt[1] = 1;
	neg.icframe_vercnt = cnt[0];
	neg.icmsg_vercnt = cnt[1];
	memcpy(m + NEG_OFF, &neg, sizeof(neg));
	ver_put((struct ic_version *)(m + NEG_DATA), chosen_fw);
	ver_put((struct ic_version *)(m + NEG_DATA) + 1, chosen_svc);
	memcpy(ic + offsetof(struct icmsg_hdr, icmsgsize), &msgsize, sizeof(msgsize));
	vmbus_ic_set_response(msg, len, match ? VMBUS_HV_S_OK : VMBUS_HV_E_FAIL);
	if (match) {
		if (ret_fw)
			*ret_fw = chosen_fw;
		if (ret_svc)
			*ret_svc = chosen_svc;
	}
	return match;
}

VMBUS_EXPORT int vmbus_ic_negotiate_request(void *msg, size_t len, const uint32_t *fw, size_t n_fw,
					    const uint32_t *svc, size_t n_svc,
					    uint8_t transaction_id)
{
	struct icmsg_negotiate neg = { 0 };
	struct ic_version *v;
	size_t need;
	int r;

	assert_return(msg, -EINVAL);
	assert_return(fw || n_fw == 0, -EINVAL);
	assert_return(svc || n_svc == 0, -EINVAL);
	assert_return(n_fw <= VMBUS_IC_MAX_VERSIONS && n_svc <= VMBUS_IC_MAX_VERSIONS, -EINVAL);
	need = NEG_DATA + (n_fw + n_svc) * sizeof(struct ic_version);
	if (len < need)
		return -ENOBUFS;
	r = vmbus_ic_build(msg, len, VMBUS_IC_MSGTYPE_NEGOTIATE, n_fw ? fw[0] : 0, n_svc ? svc[0] : 0,
			   (uint16_t)(need - IC_HDR_LEN), transaction_id);
	if (r < 0)
		return r;
	neg.icframe_vercnt = (uint16_t)n_fw;
	neg.icmsg_vercnt = (uint16_t)n_svc;
	memcpy((uint8_t *)msg + NEG_OFF, &neg, sizeof(neg));
	v = (struct ic_version *)((uint8_t *)msg + NEG_DATA);
	for (size_t i = 0; i < n_fw; i++)
		ver_put(v++, fw[i]);
	for (size_t i = 0; i < n_svc; i++)
		ver_put(v++, svc[i]);
	return (int)need;
}

VMBUS_EXPORT int vmbus_ic_negotiate_result(const void *msg, size_t len, uint32_t *ret_fw,
					   uint32_t *ret_svc)
{
	const uint8_t *m = msg;
	struct icmsg_negotiate neg;

	assert_return(msg, -EINVAL);
	if (len < NEG_DATA)
		return -EBADMSG;
	memcpy(&neg, m + NEG_OFF, sizeof(neg));
	if (neg.icframe_vercnt != 1 || neg.icmsg_vercnt != 1)
		return 0;
	/* An acceptance must carry the two versions it names. */
	if (len < NEG_DATA + 2 * sizeof(struct ic_version))
		return -EBADMSG;
	if (ret_fw)
		*ret_fw = ver_get((const struct ic_version *)(m + NEG_DATA));
	if (ret_svc)
		*ret_svc = ver_get((const struct ic_version *)(m + NEG_DATA) + 1);
	return 1;
}

VMBUS_EXPORT const char *vmbus_ic_status_name(uint32_t status)
{
	switch (status) {
	case VMBUS_HV_S_OK: return "HV_S_OK";
	case VMBUS_HV_E_FAIL: return "HV_E_FAIL";
	case VMBUS_HV_S_CONT: return "HV_S_CONT";
	case VMBUS_HV_ERROR_NOT_SUPPORTED: return "HV_ERROR_NOT_SUPPORTED";
	case VMBUS_HV_ERROR_MACHINE_LOCKED: return "HV_ERROR_MACHINE_LOCKED";
	case VMBUS_HV_ERROR_DEVICE_NOT_CONNECTED: return "HV_ERROR_DEVICE_NOT_CONNECTED";
	case VMBUS_HV_INVALIDARG: return "HV_INVALIDARG";
	case VMBUS_HV_GUID_NOTFOUND: return "HV_GUID_NOTFOUND";
	case VMBUS_HV_ERROR_ALREADY_EXISTS: return "HV_ERROR_ALREADY_EXISTS";
	case VMBUS_HV_ERROR_DISK_FULL: return "HV_ERROR_DISK_FULL";
	default: return NULL;
	}
}

VMBUS_EXPORT const char *vmbus_ic_msgtype_name(uint16_t msgtype)
{
	switch (msgtype) {
	case VMBUS_IC_MSGTYPE_NEGOTIATE: return "NEGOTIATE";
	case VMBUS_IC_MSGTYPE_HEARTBEAT: return "HEARTBEAT";
	case VMBUS_IC_MSGTYPE_KVPEXCHANGE: return "KVPEXCHANGE";
	case VMBUS_IC_MSGTYPE_SHUTDOWN: return "SHUTDOWN";
	case VMBUS_IC_MSGTYPE_TIMESYNC: return "TIMESYNC";
	case VMBUS_IC_MSGTYPE_VSS: return "VSS";
	case VMBUS_IC_MSGTYPE_FCOPY: return "FCOPY";
	default: return NULL;
	}
}
