/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: an IC message as the host sends it (the packet payload).
 *
 * Each call works on a heap copy of exactly the input length, so ASan reports
 * any access past it. vmbus_ic_parse decodes the headers;
 * vmbus_ic_negotiate answers with the version lists of KVP, fcopy and an empty
 * list; vmbus_ic_negotiate_result reads the answer back. The outcome is checked
 * against a plain model of the negotiation run on the original bytes, and
 * nothing outside the 36 bytes a response rewrites may change.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NEG_DATA (VMBUS_IC_HDR_LEN + 8)

static const uint32_t kvp_fw[] = { VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0) };
static const uint32_t kvp_svc[] = { VMBUS_IC_VERSION(4, 0), VMBUS_IC_VERSION(3, 0),
				    VMBUS_IC_VERSION(1, 0) };
static const uint32_t fcopy_fw[] = { VMBUS_IC_VERSION(3, 0) };
static const uint32_t fcopy_svc[] = { VMBUS_IC_VERSION(1, 1) };

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t wire_version(const uint8_t *p)
{
	return VMBUS_IC_VERSION(get_le16(p), get_le16(p + 2));
}

static uint8_t *dup_exact(const uint8_t *data, size_t size)
{
	/* malloc(0) may return NULL; keep one byte so the pointer is valid. */
	uint8_t *m = malloc(size ? size : 1);

	if (!m)
		abort();
	if (size)
		memcpy(m, data, size);
	return m;
}

/* The reference: first of ours the host lists, in our order; -1 for no match. */
static int model_pick(const uint8_t *m, size_t len, const uint32_t *ours, size_t n_ours,
		      size_t first, size_t count, uint32_t *ret)
{
	for (size_t i = 0; i < n_ours; i++)
		for (size_t k = first; k < first + count; k++)
			if (NEG_DATA + 4 * (k + 1) <= len &&
			    wire_version(m + NEG_DATA + 4 * k) == ours[i]) {
				*ret = ours[i];
				return 0;
			}
	return -1;
}

static void check_parse(const uint8_t *data, size_t size)
{
	uint8_t *m = dup_exact(data, size);
	struct vmbus_ic_header h;
	int e = vmbus_ic_parse(m, size, &h);

	if (size < VMBUS_IC_HDR_LEN) {
		if (e != -EBADMSG)
			abort();
	} else if (e != 0 || h.body_len != size - VMBUS_IC_HDR_LEN ||
		   h.pipe_msgsize != get_le32(data + 4) ||
		   h.framework_version != wire_version(data + 8) ||
		   h.msgtype != get_le16(data + 12) ||
		   h.message_version != wire_version(data + 14) ||
		   h.msgsize != get_le16(data + 18) || h.status != get_le32(data + 20) ||
		   h.transaction_id != data[24] || h.flags != data[25]) {
		abort();
	}
	/* vmbus_ic_parse only reads. */
	if (size && memcmp(m, data, size) != 0)
		abort();
	free(m);
}

static void check_negotiate(const uint8_t *data, size_t size, const uint32_t *fw, size_t n_fw,
			    const uint32_t *svc, size_t n_svc)
{
	uint8_t *m = dup_exact(data, size);
	uint32_t got_fw = 0, got_svc = 0, res_fw = 0, res_svc = 0, want_fw = 0, want_svc = 0;
	int e, want, res;

	e = vmbus_ic_negotiate(m, size, fw, n_fw, svc, n_svc, &got_fw, &got_svc);
	if (size < NEG_DATA) {
		if (e != -EBADMSG || (size && memcmp(m, data, size) != 0))
			abort();
		if (vmbus_ic_negotiate_result(m, size, &res_fw, &res_svc) != -EBADMSG)
			abort();
		free(m);
		return;
	}
	if (size < NEG_DATA + 8) {
		/* A header but no room for two versions: a refusal inside the buffer. */
		if (e != 0 || get_le16(m + VMBUS_IC_HDR_LEN) != 0 ||
		    get_le16(m + VMBUS_IC_HDR_LEN + 2) != 0 || get_le16(m + 18) != 8 ||
		    get_le32(m + 20) != VMBUS_HV_E_FAIL ||
		    m[25] != (VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE))
			abort();
		for (size_t i = 0; i < size; i++) {
			bool may_change = (i >= 18 && i < 24) || i == 25 ||
					  (i >= VMBUS_IC_HDR_LEN && i < NEG_DATA);

			if (!may_change && m[i] != data[i])
				abort();
		}
		if (vmbus_ic_negotiate_result(m, size, &res_fw, &res_svc) != 0)
			abort();
		free(m);
		return;
	}

	/* The model, on the original bytes. */
	want = 0;
	{
		size_t nf = get_le16(data + VMBUS_IC_HDR_LEN),
		       ns = get_le16(data + VMBUS_IC_HDR_LEN + 2);

		if (nf <= VMBUS_IC_MAX_VERSIONS && ns <= VMBUS_IC_MAX_VERSIONS &&
		    NEG_DATA + 4 * (nf + ns) <= size &&
		    model_pick(data, size, fw, n_fw, 0, nf, &want_fw) == 0 &&
		    model_pick(data, size, svc, n_svc, nf, ns, &want_svc) == 0)
			want = 1;
	}
	if (e != want || (want && (got_fw != want_fw || got_svc != want_svc)))
		abort();

	/* A well formed response: counts, versions, icmsgsize 16, status, response flags. */
	if (get_le16(m + VMBUS_IC_HDR_LEN) != want || get_le16(m + VMBUS_IC_HDR_LEN + 2) != want ||
	    get_le16(m + 18) != 16 ||
	    get_le32(m + 20) != (want ? VMBUS_HV_S_OK : VMBUS_HV_E_FAIL) ||
	    m[25] != (VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE))
		abort();
	/* Only icmsgsize, status, icflags and the negotiate header + two versions change. */
	for (size_t i = 0; i < size; i++) {
		bool may_change = (i >= 18 && i < 24) || i == 25 ||
				  (i >= VMBUS_IC_HDR_LEN && i < NEG_DATA + 8);

		if (!may_change && m[i] != data[i])
			abort();
	}

	res = vmbus_ic_negotiate_result(m, size, &res_fw, &res_svc);
	if (res != want || (want && (res_fw != want_fw || res_svc != want_svc)))
		abort();
	free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_negotiate(data, size, kvp_fw, ELEMENTSOF(kvp_fw), kvp_svc, ELEMENTSOF(kvp_svc));
	check_negotiate(data, size, fcopy_fw, ELEMENTSOF(fcopy_fw), fcopy_svc,
			ELEMENTSOF(fcopy_svc));
	check_negotiate(data, size, NULL, 0, kvp_svc, ELEMENTSOF(kvp_svc));
	return 0;
}
