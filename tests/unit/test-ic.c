/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IC framing and version negotiation. Messages are built byte by byte here, not with
 * the library, so that the wire layout itself is checked. Buffers are malloc'ed at
 * exactly the message length: under ASan any read past it fails the test.
 */
#include "config.h"

#include <errno.h>

#include "test-util.h"
#include "vmbus/vmbus.h"

#define V(maj, min) VMBUS_IC_VERSION(maj, min)

/* Offsets in a negotiate message. */
#define OFF_MSGTYPE 12
#define OFF_MSGSIZE 18
#define OFF_STATUS 20
#define OFF_TID 24
#define OFF_FLAGS 25
#define OFF_FWCNT 28
#define OFF_SVCCNT 30
#define OFF_VERS 36
#define NEG_MIN 44

static void put_ver(uint8_t *p, uint32_t v)
{
	put_le16(p, VMBUS_IC_VERSION_MAJOR(v));
	put_le16(p + 2, VMBUS_IC_VERSION_MINOR(v));
}

static uint32_t get_ver(const uint8_t *p)
{
	return V(get_le16(p), get_le16(p + 2));
}

/*
 * A host NEGOTIATE request of exactly len bytes claiming cnt_fw/cnt_svc versions;
 * the nfw + nsvc given versions are written as far as they fit, the rest is 0xee.
 */
static uint8_t *make_neg(size_t len, uint16_t cnt_fw, uint16_t cnt_svc, const uint32_t *fw,
			 size_t nfw, const uint32_t *svc, size_t nsvc)
{
	uint8_t *m = malloc(len);
	size_t off = OFF_VERS;

	assert_non_null(m);
	memset(m, 0xee, len);
	if (len >= OFF_VERS) {
		put_le32(m, 0);
		put_le32(m + 4, (uint32_t)(len - 8));
		put_ver(m + 8, V(3, 0));
		put_le16(m + OFF_MSGTYPE, VMBUS_IC_MSGTYPE_NEGOTIATE);
		put_ver(m + 14, V(1, 0));
		put_le16(m + OFF_MSGSIZE, (uint16_t)(len - 28));
		put_le32(m + OFF_STATUS, 0);
		m[OFF_TID] = 0x42;
		m[OFF_FLAGS] = VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST;
		m[26] = m[27] = 0;
		put_le16(m + OFF_FWCNT, cnt_fw);
		put_le16(m + OFF_SVCCNT, cnt_svc);
		put_le32(m + 32, 0x5a5a5a5a);
	}
	for (size_t i = 0; i < nfw && off + 4 <= len; i++, off += 4)
		put_ver(m + off, fw[i]);
	for (size_t i = 0; i < nsvc && off + 4 <= len; i++, off += 4)
		put_ver(m + off, svc[i]);
	return m;
}

/* The fixed parts of every negotiate response. */
static void check_response(const uint8_t *m, uint32_t status, uint16_t cnt)
{
	assert_int_equal(get_le16(m + OFF_MSGTYPE), VMBUS_IC_MSGTYPE_NEGOTIATE);
	assert_int_equal(get_le16(m + OFF_MSGSIZE), 16);
	assert_int_equal(get_le32(m + OFF_STATUS), status);
	assert_int_equal(m[OFF_TID], 0x42);
	assert_int_equal(m[OFF_FLAGS], VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE);
	assert_int_equal(get_le16(m + OFF_FWCNT), cnt);
	assert_int_equal(get_le16(m + OFF_SVCCNT), cnt);
	/* The reserved word and the other header fields are left as they were. */
	assert_int_equal(get_le32(m + 32), 0x5a5a5a5a);
	assert_int_equal(get_ver(m + 8), V(3, 0));
	assert_int_equal(get_ver(m + 14), V(1, 0));
}

static void check_no_match(const uint8_t *m)
{
	check_response(m, VMBUS_HV_E_FAIL, 0);
	assert_int_equal(get_le32(m + OFF_VERS), 0);
	assert_int_equal(get_le32(m + OFF_VERS + 4), 0);
}

static void test_parse(void **state)
{
	static const uint8_t msg[32] = {
		0x01, 0x00, 0x00, 0x80, 0x34, 0x12, 0x00, 0x00, /* pipe: flags, msgsize */
		0x03, 0x00, 0x01, 0x00,                         /* framework 3.1 */
		0x07, 0x00,                                     /* FCOPY */
		0x01, 0x00, 0x02, 0x00,                         /* message 1.2 */
		0x04, 0x01,                                     /* icmsgsize 0x104 */
		0x05, 0x40, 0x00, 0x80,                         /* HV_E_FAIL */
		0x9c, 0x02, 0xcd, 0xab,                         /* tid, flags, reserved */
		0xff, 0xff, 0xff, 0xff,
	};
	struct vmbus_ic_header h, sentinel;

	assert_int_equal(vmbus_ic_parse(msg, sizeof(msg), &h), 0);
	assert_int_equal(h.pipe_flags, 0x80000001u);
	assert_int_equal(h.pipe_msgsize, 0x1234);
	assert_int_equal(h.framework_version, V(3, 1));
	assert_int_equal(h.message_version, V(1, 2));
	assert_int_equal(h.msgtype, VMBUS_IC_MSGTYPE_FCOPY);
	assert_int_equal(h.msgsize, 0x104);
	assert_int_equal(h.status, VMBUS_HV_E_FAIL);
	assert_int_equal(h.transaction_id, 0x9c);
	assert_int_equal(h.flags, VMBUS_IC_FLAG_REQUEST);
	assert_int_equal(h.body_len, 4);

	assert_int_equal(vmbus_ic_parse(msg, VMBUS_IC_HDR_LEN, &h), 0);
	assert_int_equal(h.body_len, 0);
	assert_int_equal(h.msgsize, 0x104); /* as the sender wrote it, not checked */

	memset(&sentinel, 0x77, sizeof(sentinel));
	h = sentinel;
	assert_int_equal(vmbus_ic_parse(msg, VMBUS_IC_HDR_LEN - 1, &h), -EBADMSG);
	assert_int_equal(vmbus_ic_parse(msg, 0, &h), -EBADMSG);
	assert_memory_equal(&h, &sentinel, sizeof(h));
	assert_int_equal(vmbus_ic_parse(NULL, 32, &h), -EINVAL);
	assert_int_equal(vmbus_ic_parse(msg, 32, NULL), -EINVAL);
}

static void test_build(void **state)
{
	uint8_t m[64], copy[64];
	struct vmbus_ic_header h;

	memset(m, 0xee, sizeof(m));
	assert_int_equal(vmbus_ic_build(m, sizeof(m), VMBUS_IC_MSGTYPE_FCOPY, V(1, 0), V(1, 1), 36,
					0x5a), 0);
	assert_int_equal(get_le32(m), 0);
	assert_int_equal(get_le32(m + 4), 20 + 36);
	assert_int_equal(get_ver(m + 8), V(1, 0));
	assert_int_equal(get_le16(m + OFF_MSGTYPE), VMBUS_IC_MSGTYPE_FCOPY);
	assert_int_equal(get_ver(m + 14), V(1, 1));
	assert_int_equal(get_le16(m + OFF_MSGSIZE), 36);
	assert_int_equal(get_le32(m + OFF_STATUS), 0);
	assert_int_equal(m[OFF_TID], 0x5a);
	assert_int_equal(m[OFF_FLAGS], VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST);
	assert_int_equal(m[26], 0);
	assert_int_equal(m[27], 0);
	for (size_t i = VMBUS_IC_HDR_LEN; i < sizeof(m); i++)
		assert_int_equal(m[i], 0xee);

	assert_int_equal(vmbus_ic_parse(m, sizeof(m), &h), 0);
	assert_int_equal(h.msgtype, VMBUS_IC_MSGTYPE_FCOPY);
	assert_int_equal(h.framework_version, V(1, 0));
	assert_int_equal(h.message_version, V(1, 1));
	assert_int_equal(h.msgsize, 36);
	assert_int_equal(h.body_len, 36);
	assert_int_equal(h.transaction_id, 0x5a);

	/* Too small for header + body: nothing written. */
	memset(m, 0xee, sizeof(m));
	memcpy(copy, m, sizeof(m));
	assert_int_equal(vmbus_ic_build(m, 63, VMBUS_IC_MSGTYPE_FCOPY, V(1, 0), V(1, 1), 36, 1),
			 -ENOBUFS);
	assert_int_equal(vmbus_ic_build(m, 27, VMBUS_IC_MSGTYPE_FCOPY, V(1, 0), V(1, 1), 0, 1),
			 -ENOBUFS);
	assert_memory_equal(m, copy, sizeof(m));
	assert_int_equal(vmbus_ic_build(m, 28, VMBUS_IC_MSGTYPE_HEARTBEAT, 0, 0, 0, 1), 0);
	assert_int_equal(get_le32(m + 4), 20);
	assert_int_equal(m[28], 0xee);
	assert_int_equal(vmbus_ic_build(NULL, 64, 0, 0, 0, 0, 0), -EINVAL);
}

static void test_set_response(void **state)
{
	uint8_t m[40], copy[40];

	pattern_fill(m, sizeof(m), 3);
	memcpy(copy, m, sizeof(m));
	assert_int_equal(vmbus_ic_set_response(m, sizeof(m), VMBUS_HV_ERROR_DISK_FULL), 0);
	assert_int_equal(get_le32(m + OFF_STATUS), 0x80070070u);
	assert_int_equal(m[OFF_FLAGS], VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE);
	/* Everything else, the transaction id included, is kept. */
	assert_memory_equal(m, copy, OFF_STATUS);
	assert_int_equal(m[OFF_TID], copy[OFF_TID]);
	assert_memory_equal(m + 26, copy + 26, sizeof(m) - 26);

	memcpy(m, copy, sizeof(m));
	assert_int_equal(vmbus_ic_set_response(m, VMBUS_IC_HDR_LEN - 1, 0), -EBADMSG);
	assert_memory_equal(m, copy, sizeof(m));
	assert_int_equal(vmbus_ic_set_response(m, VMBUS_IC_HDR_LEN, VMBUS_HV_S_OK), 0);
	assert_int_equal(get_le32(m + OFF_STATUS), 0);
	assert_int_equal(vmbus_ic_set_response(NULL, 40, 0), -EINVAL);
}

static void test_negotiate_match(void **state)
{
	const uint32_t our_fw[] = { V(3, 0), V(1, 0) }, host_fw[] = { V(1, 0), V(3, 0) };
	const uint32_t our_svc[] = { V(4, 0), V(3, 0), V(1, 0) }, host_svc[] = { V(1, 0), V(3, 0) };
	size_t len = NEG_MIN + 4 * 2;
	uint32_t fw = 0, svc = 0;
	uint8_t *m;

	/* Our preference order wins, not the host's. */
	m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 2, our_svc, 3, &fw, &svc), 1);
	assert_int_equal(fw, V(3, 0));
	assert_int_equal(svc, V(3, 0));
	check_response(m, VMBUS_HV_S_OK, 1);
	/* On the wire: major then minor, 16 bits each, little-endian. */
	assert_int_equal(m[OFF_VERS], 3);
	assert_int_equal(m[OFF_VERS + 1], 0);
	assert_int_equal(get_le16(m + OFF_VERS + 2), 0);
	assert_int_equal(get_ver(m + OFF_VERS + 4), V(3, 0));
	free(m);

	/* Reversed: we prefer 1.0 now. Return pointers are optional. */
	{
		const uint32_t fw2[] = { V(1, 0), V(3, 0) }, svc2[] = { V(1, 0) };

		m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
		assert_int_equal(vmbus_ic_negotiate(m, len, fw2, 2, svc2, 1, NULL, NULL), 1);
		assert_int_equal(get_ver(m + OFF_VERS), V(1, 0));
		assert_int_equal(get_ver(m + OFF_VERS + 4), V(1, 0));
		free(m);
	}

	/* Our favourite is not offered: the next one we list that the host has. */
	{
		const uint32_t fw3[] = { V(4, 0), V(2, 0), V(1, 0) }, svc3[] = { V(5, 0), V(3, 0) };

		m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
		assert_int_equal(vmbus_ic_negotiate(m, len, fw3, 3, svc3, 2, &fw, &svc), 1);
		assert_int_equal(fw, V(1, 0));
		assert_int_equal(svc, V(3, 0));
		assert_int_equal(get_ver(m + OFF_VERS), V(1, 0));
		assert_int_equal(get_ver(m + OFF_VERS + 4), V(3, 0));
		free(m);
	}

	/* Minors must match exactly: 3.2 is not offered, 3.1 is. */
	{
		const uint32_t sfw[] = { V(3, 0) };
		const uint32_t ssvc[] = { V(3, 2), V(3, 1), V(3, 0), V(1, 0) };
		const uint32_t hsvc[] = { V(3, 0), V(3, 1), V(3, 3) };

		len = NEG_MIN + 4 * 2;
		m = make_neg(len, 1, 3, sfw, 1, hsvc, 3);
		assert_int_equal(vmbus_ic_negotiate(m, len, sfw, 1, ssvc, 4, &fw, &svc), 1);
		assert_int_equal(svc, V(3, 1));
		assert_int_equal(get_le16(m + OFF_VERS + 4), 3);
		assert_int_equal(get_le16(m + OFF_VERS + 6), 1);
		free(m);
	}

	/* The exact minimum: 1 + 1 versions in 44 bytes. */
	{
		const uint32_t one[] = { V(3, 0) }, svc1[] = { V(1, 1) };

		m = make_neg(NEG_MIN, 1, 1, one, 1, svc1, 1);
		assert_int_equal(vmbus_ic_negotiate(m, NEG_MIN, one, 1, svc1, 1, &fw, &svc), 1);
		assert_int_equal(fw, V(3, 0));
		assert_int_equal(svc, V(1, 1));
		check_response(m, VMBUS_HV_S_OK, 1);
		free(m);
	}
}

static void test_negotiate_no_match(void **state)
{
	const uint32_t host_fw[] = { V(1, 0), V(3, 0) }, host_svc[] = { V(1, 0), V(3, 0) };
	const uint32_t our_fw[] = { V(3, 0) }, bad_fw[] = { V(2, 0), V(3, 1) };
	const uint32_t our_svc[] = { V(3, 0) }, bad_svc[] = { V(4, 0), V(0, 0) };
	size_t len = NEG_MIN + 8;
	uint32_t fw = 0x1111, svc = 0x2222;
	uint8_t *m;

	/* Framework matches, service does not: the whole negotiation fails. */
	m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, bad_svc, 2, &fw, &svc), 0);
	check_no_match(m);
	assert_int_equal(fw, 0x1111);
	assert_int_equal(svc, 0x2222);
	free(m);

	m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
	assert_int_equal(vmbus_ic_negotiate(m, len, bad_fw, 2, our_svc, 1, &fw, &svc), 0);
	check_no_match(m);
	free(m);

	/* We offer nothing. */
	m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
	assert_int_equal(vmbus_ic_negotiate(m, len, NULL, 0, our_svc, 1, &fw, &svc), 0);
	check_no_match(m);
	free(m);
	m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, NULL, 0, &fw, &svc), 0);
	check_no_match(m);
	assert_int_equal(fw, 0x1111);
	free(m);

	/* A service version listed among the host's framework versions does not count. */
	{
		const uint32_t hfw[] = { V(3, 0), V(5, 0) }, hsvc[] = { V(1, 0) };
		const uint32_t want[] = { V(5, 0) };

		m = make_neg(len, 2, 1, hfw, 2, hsvc, 1);
		assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, want, 1, &fw, &svc), 0);
		check_no_match(m);
		free(m);
	}

	/* Bad arguments write nothing. */
	m = make_neg(len, 2, 2, host_fw, 2, host_svc, 2);
	assert_int_equal(vmbus_ic_negotiate(NULL, len, our_fw, 1, our_svc, 1, NULL, NULL), -EINVAL);
	assert_int_equal(vmbus_ic_negotiate(m, len, NULL, 1, our_svc, 1, NULL, NULL), -EINVAL);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, NULL, 1, NULL, NULL), -EINVAL);
	assert_int_equal(m[OFF_FLAGS], VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST);
	free(m);
}

/* Host counts: 0, the maximum, one over, and absurd. */
static void test_negotiate_host_counts(void **state)
{
	uint32_t host[202], fw = 0, svc = 0;
	const uint32_t our_fw[] = { V(3, 0) }, our_svc[] = { V(7, 7) };
	size_t len;
	uint8_t *m;

	/* 100 + 100, ours last in each list: accepted when they fit in the packet. */
	for (size_t i = 0; i < 202; i++)
		host[i] = V(100 + i, 1);
	host[99] = V(3, 0);
	host[199] = V(7, 7);
	len = OFF_VERS + 200 * 4;
	m = make_neg(len, 100, 100, host, 200, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, &fw, &svc), 1);
	assert_int_equal(fw, V(3, 0));
	assert_int_equal(svc, V(7, 7));
	check_response(m, VMBUS_HV_S_OK, 1);
	free(m);

	/* One byte short of the claimed versions: no match. */
	len = OFF_VERS + 200 * 4 - 1;
	m = make_neg(len, 100, 100, host, 200, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);

	/* 101 framework versions, all present in the packet: over the limit. */
	host[0] = V(3, 0);
	host[101] = V(7, 7);
	len = OFF_VERS + 102 * 4;
	m = make_neg(len, 101, 1, host, 102, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);
	host[1] = V(7, 7);
	len = OFF_VERS + 102 * 4;
	m = make_neg(len, 1, 101, host, 102, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);
	/* The same first entries with sane counts do match: the limit was the reason. */
	m = make_neg(len, 1, 101, host, 102, NULL, 0);
	put_le16(m + OFF_SVCCNT, 100);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 1);
	free(m);

	/* 65535 each in a minimal packet: nothing past len is read. */
	len = NEG_MIN;
	m = make_neg(len, 65535, 65535, host, 2, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);
	len = 64;
	m = make_neg(len, 65535, 1, host, 7, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);
	m = make_neg(len, 1, 65535, host, 7, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);

	/* Host offers nothing. */
	len = NEG_MIN;
	m = make_neg(len, 0, 0, host, 2, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);
	m = make_neg(len, 1, 0, host, 2, NULL, 0);
	assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
	check_no_match(m);
	free(m);
}

static void test_negotiate_truncated(void **state)
{
	const uint32_t host[] = { V(3, 0), V(7, 7), V(1, 0), V(1, 1) };
	const uint32_t our_fw[] = { V(3, 0) }, our_svc[] = { V(7, 7) };

	/* No negotiate header: -EBADMSG and not a byte changed. */
	for (size_t len = 0; len < OFF_VERS; len++) {
		uint8_t *m = make_neg(len ? len : 1, 1, 1, host, 2, NULL, 0), *copy;

		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, m, len ? len : 1);
		assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL),
				 -EBADMSG);
		assert_memory_equal(m, copy, len ? len : 1);
		free(copy);
		free(m);
	}

	/*
	 * A header but no room for two versions: a refusal written inside the buffer
	 * (counts 0/0, icmsgsize 8, HV_E_FAIL, response flags), nothing after the
	 * negotiate header touched, and the host side reads it as refused.
	 */
	for (size_t len = OFF_VERS; len < NEG_MIN; len++) {
		uint8_t *m = make_neg(len, 1, 1, host, 2, NULL, 0), *copy = malloc(len);
		uint32_t rfw = 0xdead, rsvc = 0xbeef;
		uint32_t status;
		uint16_t cnt[2], msgsize;

		assert_non_null(copy);
		memcpy(copy, m, len);
		assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, our_svc, 1, NULL, NULL), 0);
		memcpy(cnt, m + VMBUS_IC_HDR_LEN, sizeof(cnt));
		memcpy(&msgsize, m + 18, sizeof(msgsize));
		memcpy(&status, m + 20, sizeof(status));
		assert_int_equal(cnt[0], 0);
		assert_int_equal(cnt[1], 0);
		assert_int_equal(msgsize, 8);
		assert_int_equal(status, VMBUS_HV_E_FAIL);
		assert_int_equal(m[25], VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE);
		assert_memory_equal(m + OFF_VERS, copy + OFF_VERS, len - OFF_VERS);
		assert_memory_equal(m, copy, 18);
		assert_int_equal(vmbus_ic_negotiate_result(m, len, &rfw, &rsvc), 0);
		assert_int_equal(rfw, 0xdead);
		free(copy);
		free(m);
	}

	/*
	 * Counts 2/2 need 52 bytes. Shorter: no match, even from 48 bytes on, where the
	 * versions we want (3.0 and 1.0) are inside the buffer.
	 */
	for (size_t len = NEG_MIN; len <= OFF_VERS + 16; len++) {
		uint8_t *m = make_neg(len, 2, 2, host, 4, NULL, 0);
		const uint32_t svc[] = { V(1, 0) };
		int expect = len == OFF_VERS + 16;

		assert_int_equal(vmbus_ic_negotiate(m, len, our_fw, 1, svc, 1, NULL, NULL), expect);
		if (expect)
			check_response(m, VMBUS_HV_S_OK, 1);
		else
			check_no_match(m);
		free(m);
	}
}

static void test_negotiate_request_result(void **state)
{
	const uint32_t fw[] = { V(3, 0), V(1, 0) }, svc[] = { V(1, 1) };
	uint32_t our_svc[] = { V(1, 1) }, rfw = 0x1111, rsvc = 0x2222;
	struct vmbus_ic_header h;
	uint8_t buf[1024];
	uint8_t *m;
	int n;

	memset(buf, 0xee, sizeof(buf));
	n = vmbus_ic_negotiate_request(buf, sizeof(buf), fw, 2, svc, 1, 0x42);
	assert_int_equal(n, VMBUS_IC_HDR_LEN + 8 + 3 * 4);
	assert_int_equal(buf[n], 0xee);
	assert_int_equal(vmbus_ic_parse(buf, (size_t)n, &h), 0);
	assert_int_equal(h.msgtype, VMBUS_IC_MSGTYPE_NEGOTIATE);
	assert_int_equal(h.flags, VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_REQUEST);
	assert_int_equal(h.msgsize, 8 + 3 * 4);
	assert_int_equal(h.pipe_msgsize, 20 + 8 + 3 * 4);
	assert_int_equal(h.transaction_id, 0x42);
	assert_int_equal(h.status, 0);
	assert_int_equal(get_le16(buf + OFF_FWCNT), 2);
	assert_int_equal(get_le16(buf + OFF_SVCCNT), 1);
	assert_int_equal(get_le32(buf + 32), 0);
	assert_int_equal(get_ver(buf + OFF_VERS), V(3, 0));
	assert_int_equal(get_ver(buf + OFF_VERS + 4), V(1, 0));
	assert_int_equal(get_ver(buf + OFF_VERS + 8), V(1, 1));

	/* The guest answers in place (a copy of exactly n bytes), the host reads it. */
	m = malloc((size_t)n);
	assert_non_null(m);
	memcpy(m, buf, (size_t)n);
	assert_int_equal(vmbus_ic_negotiate(m, (size_t)n, fw + 1, 1, our_svc, 1, NULL, NULL), 1);
	assert_int_equal(vmbus_ic_negotiate_result(m, (size_t)n, &rfw, &rsvc), 1);
	assert_int_equal(rfw, V(1, 0));
	assert_int_equal(rsvc, V(1, 1));
	assert_int_equal(vmbus_ic_parse(m, (size_t)n, &h), 0);
	assert_int_equal(h.flags, VMBUS_IC_FLAG_TRANSACTION | VMBUS_IC_FLAG_RESPONSE);
	assert_int_equal(h.status, VMBUS_HV_S_OK);
	assert_int_equal(vmbus_ic_negotiate_result(m, (size_t)n, NULL, NULL), 1);

	/* Refused. */
	memcpy(m, buf, (size_t)n);
	our_svc[0] = V(2, 0);
	rfw = rsvc = 0x3333;
	assert_int_equal(vmbus_ic_negotiate(m, (size_t)n, fw, 2, our_svc, 1, NULL, NULL), 0);
	assert_int_equal(vmbus_ic_negotiate_result(m, (size_t)n, &rfw, &rsvc), 0);
	assert_int_equal(rfw, 0x3333);
	assert_int_equal(rsvc, 0x3333);
	/* Counts other than 1/1 are no acceptance, whatever the versions say. */
	memcpy(m, buf, (size_t)n);
	assert_int_equal(vmbus_ic_negotiate(m, (size_t)n, fw, 2, svc, 1, NULL, NULL), 1);
	put_le16(m + OFF_SVCCNT, 0);
	assert_int_equal(vmbus_ic_negotiate_result(m, (size_t)n, &rfw, &rsvc), 0);
	put_le16(m + OFF_SVCCNT, 1);
	put_le16(m + OFF_FWCNT, 2);
	assert_int_equal(vmbus_ic_negotiate_result(m, (size_t)n, &rfw, &rsvc), 0);
	assert_int_equal(rfw, 0x3333);
	/* The unanswered request (counts 2/1) is not an acceptance either. */
	assert_int_equal(vmbus_ic_negotiate_result(buf, (size_t)n, &rfw, &rsvc), 0);
	/* Too short: a refusal needs the negotiate header, an acceptance its two versions. */
	assert_int_equal(vmbus_ic_negotiate_result(m, OFF_VERS - 1, &rfw, &rsvc), -EBADMSG);
	assert_int_equal(vmbus_ic_negotiate_result(m, OFF_VERS, &rfw, &rsvc), 0);
	put_le16(m + OFF_FWCNT, 1);
	assert_int_equal(vmbus_ic_negotiate_result(m, NEG_MIN - 1, &rfw, &rsvc), -EBADMSG);
	assert_int_equal(vmbus_ic_negotiate_result(m, NEG_MIN, &rfw, &rsvc), 1);
	assert_int_equal(vmbus_ic_negotiate_result(NULL, 64, &rfw, &rsvc), -EINVAL);
	free(m);

	/* Sizes and limits. */
	{
		uint32_t many[VMBUS_IC_MAX_VERSIONS + 1] = { 0 };

		assert_int_equal(vmbus_ic_negotiate_request(buf, (size_t)n - 1, fw, 2, svc, 1, 1),
				 -ENOBUFS);
		assert_int_equal(vmbus_ic_negotiate_request(buf, sizeof(buf), many, 100, many, 100,
							    1), OFF_VERS + 800);
		assert_int_equal(vmbus_ic_negotiate_request(buf, sizeof(buf), many, 101, svc, 1, 1),
				 -EINVAL);
		assert_int_equal(vmbus_ic_negotiate_request(buf, sizeof(buf), fw, 2, many, 101, 1),
				 -EINVAL);
		assert_int_equal(vmbus_ic_negotiate_request(buf, sizeof(buf), NULL, 1, svc, 1, 1),
				 -EINVAL);
		assert_int_equal(vmbus_ic_negotiate_request(NULL, sizeof(buf), fw, 1, svc, 1, 1),
				 -EINVAL);
		/* No versions at all still makes a well-formed (if useless) request. */
		assert_int_equal(vmbus_ic_negotiate_request(buf, sizeof(buf), NULL, 0, NULL, 0, 1),
				 OFF_VERS);
		assert_int_equal(get_le16(buf + OFF_FWCNT), 0);
	}
}

static void test_names(void **state)
{
	static const struct {
		uint32_t code;
		const char *name;
	} st[] = {
		{ 0x00000000u, "HV_S_OK" },
		{ 0x80004005u, "HV_E_FAIL" },
		{ 0x80070103u, "HV_S_CONT" },
		{ 0x80070032u, "HV_ERROR_NOT_SUPPORTED" },
		{ 0x800704F7u, "HV_ERROR_MACHINE_LOCKED" },
		{ 0x8007048Fu, "HV_ERROR_DEVICE_NOT_CONNECTED" },
		{ 0x80070057u, "HV_INVALIDARG" },
		{ 0x80041002u, "HV_GUID_NOTFOUND" },
		{ 0x80070050u, "HV_ERROR_ALREADY_EXISTS" },
		{ 0x80070070u, "HV_ERROR_DISK_FULL" },
	};
	static const char *const types[] = {
		"NEGOTIATE", "HEARTBEAT", "KVPEXCHANGE", "SHUTDOWN",
		"TIMESYNC", "VSS", NULL, "FCOPY",
	};

	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++)
		assert_string_equal(vmbus_ic_status_name(st[i].code), st[i].name);
	assert_null(vmbus_ic_status_name(1));
	assert_null(vmbus_ic_status_name(0x80004004u));
	assert_null(vmbus_ic_status_name(0xffffffffu));

	for (uint16_t t = 0; t < 8; t++) {
		if (types[t])
			assert_string_equal(vmbus_ic_msgtype_name(t), types[t]);
		else
			assert_null(vmbus_ic_msgtype_name(t));
	}
	assert_null(vmbus_ic_msgtype_name(8));
	assert_null(vmbus_ic_msgtype_name(0xffff));
	assert_int_equal(VMBUS_IC_MSGTYPE_FCOPY, 7);
	assert_int_equal(VMBUS_IC_VERSION(3, 2), 0x30002);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_set_response),
		cmocka_unit_test(test_negotiate_match),
		cmocka_unit_test(test_negotiate_no_match),
		cmocka_unit_test(test_negotiate_host_counts),
		cmocka_unit_test(test_negotiate_truncated),
		cmocka_unit_test(test_negotiate_request_result),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests_name("ic", tests, NULL, NULL);
}
