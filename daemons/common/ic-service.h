/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An Integration Component service on a channel: negotiation, framing and the
 * reply are common; each service supplies the message handler.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <vmbus/vmbus.h>

struct ic_service;

/*
 * Handle one service message in place. msg/len is the whole IC message (pipe +
 * IC headers + body), a private copy; the handler may rewrite the body, and
 * returns the IC status to send back (VMBUS_HV_*).
 */
typedef uint32_t (*ic_handler_fn)(struct ic_service *svc, const struct vmbus_ic_header *hdr,
				  uint8_t *msg, size_t len);

struct ic_service {
	const char *name;        /* for logs, e.g. "fcopy" */
	uint16_t msgtype;        /* VMBUS_IC_MSGTYPE_* this service handles */
	const uint32_t *fw;      /* framework versions, preference order */
	size_t n_fw;
	const uint32_t *svc;     /* service versions, preference order */
	size_t n_svc;
	ic_handler_fn handler;
	void *userdata;

	/* State, filled in as the host talks to us. */
	uint32_t fw_version;  /* 0 until negotiated */
	uint32_t svc_version; /* 0 until negotiated */
	unsigned long n_requests;
	unsigned long n_rejected;
};

/* vmbus_packet_fn for vmbus_channel_drain(); userdata is the struct ic_service. */
int ic_service_packet(struct vmbus_channel *ch, const struct vmbus_packet *pkt, void *payload,
		      void *userdata);

/* Pure part: handle one IC message in place. Returns bytes to send back (0: drop). */
size_t ic_service_process(struct ic_service *s, uint8_t *msg, size_t len);
