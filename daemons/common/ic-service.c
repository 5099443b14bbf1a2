/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ic-service.h"
#include "log.h"
#include "versions.h"

/* How many one-second waits for ring space before a response is given up. */
#define IC_SEND_RETRIES 30

size_t ic_service_process(struct ic_service *s, uint8_t *msg, size_t len)
{
	struct vmbus_ic_header hdr;
	uint32_t status;
	int r;

	if (vmbus_ic_parse(msg, len, &hdr) < 0) {
		s->n_rejected++;
		log_warning("%s: %zu-byte message is shorter than the IC headers, dropped", s->name, len);
		return 0;
	}
	s->n_requests++;

	if (hdr.msgtype == VMBUS_IC_MSGTYPE_NEGOTIATE) {
		char fw[16], svc[16];

		r = vmbus_ic_negotiate(msg, len, s->fw, s->n_fw, s->svc, s->n_svc, &s->fw_version,
				       &s->svc_version);
		if (r < 0) {
			s->n_rejected++;
			log_warning("%s: malformed NEGOTIATE (%zu bytes), dropped", s->name, len);
			return 0;
		}
		if (r == 0) {
			log_warning("%s: host offers no version we support, refused", s->name);
			return len;
		}
		ic_version_format(s->fw_version, fw, sizeof(fw));
		ic_version_format(s->svc_version, svc, sizeof(svc));
		log_info("%s: negotiated framework %s, service %s", s->name, fw, svc);
		return len;
	}

	if (hdr.msgtype != s->msgtype) {
		s->n_rejected++;
		log_warning("%s: unexpected IC message type %u, answered HV_ERROR_NOT_SUPPORTED", s->name,
			    hdr.msgtype);
		status = VMBUS_HV_ERROR_NOT_SUPPORTED;
	} else if (s->svc_version == 0) {
		/* Hyper-V always negotiates first; answer anyway rather than hang the host. */
		log_warning("%s: message before negotiation, handled with the newest version", s->name);
		status = s->handler(s, &hdr, msg, len);
	} else {
		status = s->handler(s, &hdr, msg, len);
	}
	vmbus_ic_set_response(msg, len, status);
	return len;
}

int ic_service_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt, void *payload,
		      void *userdata)
{
	struct ic_service *s = userdata;
	size_t n;
	int r;

	if (pkt->type != VMBUS_PKT_DATA_INBAND) {
		s->n_rejected++;
		log_warning("%s: ignoring VMBus packet of type %u", s->name, pkt->type);
		return 0;
	}
	n = ic_service_process(s, payload, pkt->len);
	if (n == 0)
		return 0;
	/* A response echoes the request's transaction id and length. */
	for (int tries = 0;; tries++) {
		r = vmbus_channel_send(ch, VMBUS_PKT_DATA_INBAND, 0, pkt->trans_id, payload, n);
		if (r != -EAGAIN || tries >= IC_SEND_RETRIES)
			break;
		/* Ring full: pending_send_sz is set, the host signals once it made room. */
		r = vmbus_channel_wait(ch, 1000);
		if (r < 0)
			break;
	}
	if (r < 0)
		return log_error_errno(r, "%s: cannot send the response: %m", s->name);
	return 0;
}
