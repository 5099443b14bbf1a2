/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-hostsim hostile SCENARIO [DIR]: malformed traffic. Each scenario checks
 * that the guest survives it and still answers, or, where the ring itself is
 * broken, that it stops cleanly. A guest that does not answer never counts as
 * surviving.
 *
 * The scenarios are one table: the help text, the check of the command line
 * and the dispatch all come from it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake-kernel.h"
#include "commands.h"
#include "engine.h"
#include "fcopy-wire.h"
#include "kvp-wire.h"
#include "macro.h"
#include "vss-wire.h"

/* What DIR means to a scenario. */
enum dir_use {
	DIR_NONE,  /* no DIR */
	DIR_PATH,  /* the path_name of its START messages (default /tmp) */
	DIR_PROBE, /* if given, a valid START of PROBE_NAME there comes first */
	DIR_MOUNT, /* required: a mount of the test's own that the guest may freeze */
};

/* The transport a scenario needs. */
enum need {
	NEED_ANY,
	NEED_UIO,     /* it breaks the rings themselves */
	NEED_CHARDEV, /* it plays the kernel's side of the character device */
};

#define PROBE_NAME "hv-hostsim-probe"
#define DEFAULT_DIR "/tmp"

struct scenario {
	const char *name;
	const char *service; /* the version lists it negotiates with, NULL for any */
	enum dir_use dir;
	int (*run)(struct hostsim *h, const char *dir);
	const char *help;
	enum need need;
};

static const struct scenario *scenario;
static const char *scenario_dir;

/* ------------------------------------------------------------------------ */
/* Negotiation and ring scenarios                                            */
/* ------------------------------------------------------------------------ */

static int short_message(struct hostsim *h, const char *dir)
{
	static const uint8_t junk[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	uint32_t fw, svc;

	printf("host: sending a %zu-byte message (shorter than the IC headers)\n", sizeof(junk));
	if (hostsim_send_raw(h, junk, sizeof(junk)) < 0)
		return HOSTSIM_EXIT_NOANSWER;
	return host_negotiate(h, &fw, &svc);
}

/* Send a crafted NEGOTIATE; the guest must refuse it, then negotiate normally. */
static int bad_negotiate(struct hostsim *h, const uint8_t *msg, size_t len)
{
	const uint8_t *resp;
	uint32_t fw, svc;
	size_t n;
	int r;

	r = hostsim_transact(h, msg, len, &resp, &n);
	if (r < 0)
		return host_no_answer(r);
	r = vmbus_ic_negotiate_result(resp, n, &fw, &svc);
	printf("guest: %s\n", r == 0 ? "refused it" : r > 0 ? "accepted it" : "answered garbage");
	if (r != 0)
		return HOSTSIM_EXIT_REFUSED;
	return host_negotiate(h, &fw, &svc);
}

static int negotiate_overflow(struct hostsim *h, const char *dir)
{
	uint8_t msg[VMBUS_IC_HDR_LEN + 16] = { 0 };
	uint16_t cnt[2] = { 0xffff, 0xffff };

	printf("host: NEGOTIATE claiming 65535 + 65535 versions in a %zu-byte message\n", sizeof(msg));
	vmbus_ic_build(msg, sizeof(msg), VMBUS_IC_MSGTYPE_NEGOTIATE, VMBUS_IC_VERSION(3, 0),
		       VMBUS_IC_VERSION(3, 0), 16, h->next_ic_txid++);
	memcpy(msg + VMBUS_IC_HDR_LEN, cnt, sizeof(cnt));
	return bad_negotiate(h, msg, sizeof(msg));
}

static int short_negotiate(struct hostsim *h, const char *dir)
{
	/* Negotiate header, no version entries: the guest must refuse, not stay silent. */
	uint8_t msg[VMBUS_IC_HDR_LEN + 8] = { 0 };

	printf("host: NEGOTIATE of %zu bytes, without room for any version\n", sizeof(msg));
	vmbus_ic_build(msg, sizeof(msg), VMBUS_IC_MSGTYPE_NEGOTIATE, VMBUS_IC_VERSION(3, 0),
		       VMBUS_IC_VERSION(3, 0), 8, h->next_ic_txid++);
	return bad_negotiate(h, msg, sizeof(msg));
}

/*
 * Publish write_index on the host->guest ring behind the library's back and
 * interrupt the guest, which must detect the broken ring and exit by itself
 * with a non-zero status within the timeout.
 */
static int break_ring(struct hostsim *h, uint32_t write_index)
{
	uint8_t *ring = h->map + h->ring_size; /* host -> guest ring; write_index at offset 0 */

	__atomic_store_n((uint32_t *)(void *)ring, write_index, __ATOMIC_RELEASE);
	vmbus_channel_signal(h->ch);
	h->end_reported = true;
	if (!hostsim_wait_exit(h, h->timeout_ms)) {
		fprintf(stderr, "hv-hostsim: the guest did not stop on a broken ring\n");
		return HOSTSIM_EXIT_REFUSED;
	}
	if (WIFEXITED(h->guest_status) && WEXITSTATUS(h->guest_status) != 0) {
		printf("guest: stopped with exit status %d (as it should)\n", WEXITSTATUS(h->guest_status));
		return HOSTSIM_EXIT_OK;
	}
	fprintf(stderr, "hv-hostsim: the guest ended with wait status 0x%x\n", h->guest_status);
	return HOSTSIM_EXIT_REFUSED;
}

static int bad_descriptor(struct hostsim *h, const char *dir)
{
	/* A packet whose len8 claims more than the ring holds. */
	struct hv_desc {
		uint16_t type, offset8, len8, flags;
		uint64_t trans_id;
	} d = { VMBUS_PKT_DATA_INBAND, 2, 0xffff, 0, 1 };
	uint8_t *data = h->map + h->ring_size + 4096; /* the data area, after the header page */

	printf("host: publishing a descriptor with len8 = 65535\n");
	memcpy(data, &d, sizeof(d));
	memset(data + sizeof(d), 0, 8);
	return break_ring(h, 16 + 8);
}

static int bad_write_index(struct hostsim *h, const char *dir)
{
	printf("host: publishing write_index 4 (not a multiple of 8)\n");
	return break_ring(h, 4);
}

/* ------------------------------------------------------------------------ */
/* File Copy scenarios                                                       */
/* ------------------------------------------------------------------------ */

struct probe {
	struct hostsim *h;
	uint32_t fw, svc;
	const char *dir; /* where probe_open() opens a transfer, or NULL */
	unsigned n_bad, n_accepted;
};

/* One of the fcopy messages below: room for the largest, a WRITE. */
typedef uint8_t fcopy_msg[VMBUS_IC_HDR_LEN + FCOPY_WRITE_LEN];

/* START of name in dir into msg (flags OVER_WRITE, size 0). Returns 0 or -errno. */
static int build_start(struct probe *p, uint8_t *msg, const char *dir, const char *name)
{
	int r;

	fcopy_msg_init(p->h, msg, p->fw, p->svc, FCOPY_OP_START, FCOPY_START_LEN);
	/* Names, flags and size: nothing of the stack may reach the guest (name may be NULL). */
	memset(msg + VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN, 0, FCOPY_START_LEN - FCOPY_HDR_LEN);
	r = fcopy_put_name(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_PATH_NAME, dir, strlen(dir));
	if (r >= 0 && name)
		r = fcopy_put_name(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_FILE_NAME, name, strlen(name));
	if (r < 0)
		/* hostile_parse() checked DIR: only a bug gets here. */
		return r;
	fcopy_put_start(msg, FCOPY_FLAG_OVER_WRITE, 0);
	return 0;
}

/* A full-length WRITE (data zero); the headers claim the whole structure. */
static void build_write(struct probe *p, uint8_t *msg, uint64_t offset, uint32_t size)
{
	fcopy_msg_init(p->h, msg, p->fw, p->svc, FCOPY_OP_WRITE, FCOPY_WRITE_LEN);
	fcopy_put_write(msg, offset, size);
	memset(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_DATA, 0, FCOPY_DATA_FRAGMENT);
}

/* Send msg and return the guest's status in *ret_status; 0 or an exit status. */
static int probe_exchange(struct probe *p, const uint8_t *msg, size_t len, uint32_t *ret_status)
{
	struct vmbus_ic_header hdr;
	const uint8_t *resp;
	size_t n;
	int r;

	r = hostsim_transact(p->h, msg, len, &resp, &n);
	if (r < 0)
		return host_no_answer(r);
	if (vmbus_ic_parse(resp, n, &hdr) < 0) {
		fprintf(stderr, "hv-hostsim: malformed answer (%zu bytes)\n", n);
		return HOSTSIM_EXIT_NOANSWER;
	}
	*ret_status = hdr.status;
	return 0;
}

/* Negotiate the fcopy versions; probe_dir is for probe_open(). Returns an exit status. */
static int probe_begin(struct probe *p, struct hostsim *h, const char *probe_dir)
{
	*p = (struct probe){ .h = h, .dir = probe_dir };
	return host_negotiate(h, &p->fw, &p->svc);
}

/*
 * With a DIR, open a transfer there as a real host would, so that the bad
 * message after it meets an open file (a guest may well drop the transfer on
 * each bad message). Returns 0 or an exit status.
 */
static int probe_open(struct probe *p)
{
	fcopy_msg msg;
	uint32_t status;
	int r;

	if (!p->dir)
		return 0;
	if (build_start(p, msg, p->dir, PROBE_NAME) < 0)
		return HOSTSIM_EXIT_USAGE;
	printf("host: START_FILE_COPY of '%s' in '%s', so that a transfer is open\n", PROBE_NAME, p->dir);
	r = probe_exchange(p, msg, VMBUS_IC_HDR_LEN + FCOPY_START_LEN, &status);
	if (r)
		return r;
	if (status != VMBUS_HV_S_OK) {
		printf("guest: START_FILE_COPY failed: %s (0x%08x)\n", host_status_name(status), status);
		fprintf(stderr, "hv-hostsim: no transfer open in '%s': nothing to test\n", p->dir);
		return HOSTSIM_EXIT_REFUSED;
	}
	printf("guest: accepted it\n");
	return 0;
}

/* Send one bad message, which the guest must answer with an error. Returns 0 or an exit status. */
static int probe_bad(struct probe *p, const uint8_t *msg, size_t len, const char *what)
{
	uint32_t status;
	int r;

	printf("host: %s\n", what);
	r = probe_exchange(p, msg, len, &status);
	if (r)
		return r;
	p->n_bad++;
	if (status == VMBUS_HV_S_OK) {
		p->n_accepted++;
		printf("guest: accepted it (HV_S_OK)\n");
	} else {
		printf("guest: refused it (%s)\n", host_status_name(status));
	}
	return 0;
}

/* CANCEL_FCOPY: the guest must still answer. Then judge. */
static int probe_end(struct probe *p)
{
	uint8_t msg[VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN];
	uint32_t status;
	int r;

	printf("host: CANCEL_FCOPY, which the guest must still answer\n");
	fcopy_msg_init(p->h, msg, p->fw, p->svc, FCOPY_OP_CANCEL, FCOPY_HDR_LEN);
	r = probe_exchange(p, msg, sizeof(msg), &status);
	if (r)
		return r;
	printf("guest: answered CANCEL_FCOPY with %s\n", host_status_name(status));
	if (p->n_accepted) {
		fprintf(stderr, "hv-hostsim: the guest accepted %u of %u malformed messages\n",
			p->n_accepted, p->n_bad);
		return HOSTSIM_EXIT_REFUSED;
	}
	printf("host: the guest refused all %u malformed messages and still answers\n", p->n_bad);
	return HOSTSIM_EXIT_OK;
}

static int fcopy_write_before_start(struct hostsim *h, const char *dir)
{
	struct probe p;
	fcopy_msg msg;
	int r;

	r = probe_begin(&p, h, NULL);
	if (r)
		return r;
	build_write(&p, msg, 0, 10);
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + FCOPY_WRITE_LEN,
		      "WRITE_TO_FILE of 10 bytes at offset 0, without START_FILE_COPY");
	if (r)
		return r;
	fcopy_msg_init(h, msg, p.fw, p.svc, FCOPY_OP_COMPLETE, FCOPY_HDR_LEN);
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN,
		      "COMPLETE_FCOPY, without START_FILE_COPY");
	if (r)
		return r;
	return probe_end(&p);
}

static int fcopy_oversize_write(struct hostsim *h, const char *dir)
{
	struct probe p;
	fcopy_msg msg;
	int r;

	r = probe_begin(&p, h, dir);
	if (!r)
		r = probe_open(&p);
	if (r)
		return r;
	build_write(&p, msg, 0, FCOPY_DATA_FRAGMENT + 1);
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + FCOPY_WRITE_LEN,
		      "WRITE_TO_FILE with size 6145 (more than the 6144-byte data field)");
	if (r)
		return r;
	r = probe_open(&p);
	if (r)
		return r;
	/* The headers claim the whole structure; the packet ends 50 bytes into the data. */
	build_write(&p, msg, 0, 100);
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + FCOPY_OFF_DATA + 50,
		      "WRITE_TO_FILE with size 100 in a packet with 50 bytes of data");
	if (r)
		return r;
	return probe_end(&p);
}

static int fcopy_offset_overflow(struct hostsim *h, const char *dir)
{
	struct probe p;
	fcopy_msg msg;
	int r;

	r = probe_begin(&p, h, dir);
	if (!r)
		r = probe_open(&p);
	if (r)
		return r;
	build_write(&p, msg, 0xFFFFFFFFFFFFFF00ull, FCOPY_DATA_FRAGMENT);
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + FCOPY_WRITE_LEN,
		      "WRITE_TO_FILE of 6144 bytes at offset 0xFFFFFFFFFFFFFF00 (the end overflows)");
	if (r)
		return r;
	return probe_end(&p);
}

static int fcopy_unterminated_name(struct hostsim *h, const char *dir)
{
	uint8_t *name;
	struct probe p;
	fcopy_msg msg;
	int r;

	r = probe_begin(&p, h, NULL);
	if (r)
		return r;
	if (build_start(&p, msg, dir, NULL) < 0)
		return HOSTSIM_EXIT_USAGE;
	name = msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_FILE_NAME;
	for (int i = 0; i < FCOPY_W_MAX_PATH; i++) {
		name[2 * i] = 'A';
		name[2 * i + 1] = 0;
	}
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + FCOPY_START_LEN,
		      "START_FILE_COPY with a file name of 260 'A' and no NUL");
	if (r)
		return r;
	return probe_end(&p);
}

static int fcopy_invalid_utf16(struct hostsim *h, const char *dir)
{
	static const uint8_t lone_surrogate[] = { 0x00, 0xd8, 'x', 0, 0, 0 }; /* U+D800 'x' NUL */
	struct probe p;
	fcopy_msg msg;
	int r;

	r = probe_begin(&p, h, NULL);
	if (r)
		return r;
	if (build_start(&p, msg, dir, NULL) < 0)
		return HOSTSIM_EXIT_USAGE;
	memcpy(msg + VMBUS_IC_HDR_LEN + FCOPY_OFF_FILE_NAME, lone_surrogate, sizeof(lone_surrogate));
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + FCOPY_START_LEN,
		      "START_FILE_COPY with a file name of a lone surrogate (0xD800) and 'x'");
	if (r)
		return r;
	return probe_end(&p);
}

static int fcopy_truncated_start(struct hostsim *h, const char *dir)
{
	struct probe p;
	fcopy_msg msg;
	int r;

	r = probe_begin(&p, h, NULL);
	if (r)
		return r;
	if (build_start(&p, msg, dir, PROBE_NAME) < 0)
		return HOSTSIM_EXIT_USAGE;
	/* The headers claim the whole structure; the packet ends in the path name. */
	r = probe_bad(&p, msg, VMBUS_IC_HDR_LEN + 600,
		      "START_FILE_COPY cut to 628 bytes (1116 with the whole structure)");
	if (r)
		return r;
	return probe_end(&p);
}

static int fcopy_unknown_op(struct hostsim *h, const char *dir)
{
	uint8_t msg[VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN];
	struct probe p;
	int r;

	r = probe_begin(&p, h, NULL);
	if (r)
		return r;
	fcopy_msg_init(h, msg, p.fw, p.svc, 9, FCOPY_HDR_LEN);
	r = probe_bad(&p, msg, sizeof(msg), "fcopy message with operation 9");
	if (r)
		return r;
	return probe_end(&p);
}

/* ------------------------------------------------------------------------ */
/* Key-Value Pair scenarios                                                  */
/* ------------------------------------------------------------------------ */

#define KVP_MSG_LEN (VMBUS_IC_HDR_LEN + KVP_MSG_MAX_LEN)
#define KVP_PROBE_KEY "hv-hostsim-probe"

typedef uint8_t kvp_msg[KVP_MSG_LEN];

struct kvp_probe {
	struct hostsim *h;
	uint32_t fw, svc;
	unsigned n_bad, n_dropped;
};

/* A zeroed KVP message of body_len bytes (at most the whole hv_kvp_msg); returns its IC txid. */
static uint8_t kvp_msg_init(struct kvp_probe *p, uint8_t *msg, uint8_t op, uint8_t pool,
			    uint16_t body_len)
{
	uint8_t txid = p->h->next_ic_txid++;

	memset(msg, 0, KVP_MSG_LEN);
	vmbus_ic_build(msg, KVP_MSG_LEN, VMBUS_IC_MSGTYPE_KVPEXCHANGE, p->fw, p->svc, body_len, txid);
	msg[VMBUS_IC_HDR_LEN + KVP_OFF_OPERATION] = op;
	msg[VMBUS_IC_HDR_LEN + KVP_OFF_POOL] = pool;
	return txid;
}

static void kvp_put32(uint8_t *msg, size_t body_off, uint32_t v)
{
	memcpy(msg + VMBUS_IC_HDR_LEN + body_off, &v, sizeof(v));
}

/* GET, SET: the exchange value of the body; a REG_SZ key and value, sizes as a host computes them. */
static uint8_t kvp_getset(struct kvp_probe *p, uint8_t *msg, uint8_t op, uint8_t pool,
			  const char *key, const char *value)
{
	uint8_t *d = msg + VMBUS_IC_HDR_LEN + KVP_GETSET_OFF_DATA;
	uint8_t txid = kvp_msg_init(p, msg, op, pool, KVP_MSG_MAX_LEN);
	uint32_t key_size = 0, value_size = 0;

	/* Short constant strings: they always fit. */
	kvp_encode(key, d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, false, &key_size);
	if (value)
		kvp_encode(value, d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, false, &value_size);
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, key_size);
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE_SIZE, value_size);
	return txid;
}

static int kvp_probe_begin(struct kvp_probe *p, struct hostsim *h)
{
	*p = (struct kvp_probe){ .h = h };
	return host_negotiate(h, &p->fw, &p->svc);
}

/*
 * Send one bad message (len bytes, IC txid bad_txid), then at once a valid
 * GET of KVP_PROBE_KEY in the guest pool, without waiting: a guest may answer
 * the bad message with an error status (or, with want_status, exactly that
 * status) or drop it, but must answer the GET with HV_S_OK or HV_S_CONT.
 * Returns 0 or an exit status.
 */
static int kvp_probe_bad(struct kvp_probe *p, const uint8_t *bad, size_t len, uint8_t bad_txid,
			 uint32_t want_status, const char *what)
{
	static kvp_msg get;
	uint64_t bad_id, get_id = 0;
	bool get_sent = false, bad_answered = false;
	uint8_t get_txid;
	int r;

	printf("host: %s\n", what);
	r = hostsim_send(p->h, bad, len, &bad_id);
	if (r < 0)
		return host_no_answer(r);
	p->n_bad++;
	get_txid = kvp_getset(p, get, KVP_OP_GET, KVP_POOL_GUEST, KVP_PROBE_KEY, NULL);
	for (;;) {
		const uint8_t *resp;
		uint32_t status;
		uint64_t id;
		size_t n;

		if (!get_sent) {
			r = hostsim_send(p->h, get, KVP_MSG_LEN, &get_id);
			/* -EAGAIN: no room yet, and an answer waits: take it first. */
			if (r < 0 && r != -EAGAIN)
				return host_no_answer(r);
			get_sent = r == 0;
			if (get_sent)
				continue;
		}
		r = hostsim_receive(p->h, &resp, &n, &id);
		if (r < 0)
			return host_no_answer(r);
		if (id == bad_id && !bad_answered) {
			if (kvp_check_reply(resp, n, len, bad_txid, &status) < 0)
				return HOSTSIM_EXIT_NOANSWER;
			bad_answered = true;
			if (status == VMBUS_HV_S_OK) {
				printf("guest: accepted it (HV_S_OK)\n");
				return HOSTSIM_EXIT_REFUSED;
			}
			printf("guest: refused it (%s)\n", host_status_name(status));
			if (want_status && status != want_status) {
				fprintf(stderr, "hv-hostsim: the guest should have answered %s\n",
					host_status_name(want_status));
				return HOSTSIM_EXIT_REFUSED;
			}
		} else if (get_sent && id == get_id) {
			if (kvp_check_reply(resp, n, KVP_MSG_LEN, get_txid, &status) < 0)
				return HOSTSIM_EXIT_NOANSWER;
			if (!bad_answered) {
				p->n_dropped++;
				printf("guest: dropped it without an answer\n");
			}
			if (status != VMBUS_HV_S_OK && status != VMBUS_HV_S_CONT) {
				printf("guest: answered the valid GET after it with %s\n",
				       host_status_name(status));
				return HOSTSIM_EXIT_REFUSED;
			}
			printf("guest: answered a valid GET after it (%s)\n", host_status_name(status));
			return 0;
		} else {
			fprintf(stderr, "hv-hostsim: answer with transaction id %llu, which no request has\n",
				(unsigned long long)id);
			return HOSTSIM_EXIT_NOANSWER;
		}
	}
}

static int kvp_probe_end(struct kvp_probe *p)
{
	printf("host: the guest refused or dropped all %u malformed messages (%u dropped) and "
	       "still answers\n", p->n_bad, p->n_dropped);
	return HOSTSIM_EXIT_OK;
}

static int kvp_pool_7(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_SET, 7, "k", "v");
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "SET of k = v in pool 7");
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_GET, 7, "k", NULL);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "GET of k in pool 7");
	if (r)
		return r;
	txid = kvp_msg_init(&p, msg, KVP_OP_ENUMERATE, 7, KVP_MSG_MAX_LEN);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "ENUMERATE of index 0 in pool 7");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_index_max(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	for (uint8_t pool = 0; pool < KVP_POOL_COUNT; pool++) {
		char what[80];

		txid = kvp_msg_init(&p, msg, KVP_OP_ENUMERATE, pool, KVP_MSG_MAX_LEN);
		kvp_put32(msg, KVP_ENUM_OFF_INDEX, UINT32_MAX);
		snprintf(what, sizeof(what), "ENUMERATE of index 4294967295 in pool %u", pool);
		r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, VMBUS_HV_S_CONT, what);
		if (r)
			return r;
	}
	return kvp_probe_end(&p);
}

static int kvp_key_size_0(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, 0);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "SET of k = v with key_size 0");
	if (r)
		return r;
	txid = kvp_msg_init(&p, msg, KVP_OP_DELETE, KVP_POOL_GUEST, KVP_MSG_MAX_LEN);
	kvp_encode("k", msg + VMBUS_IC_HDR_LEN + KVP_DEL_OFF_KEY, KVP_WIRE_KEY_SIZE, false, NULL);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "DELETE of k with key_size 0");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_key_size_100000(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, 100000);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "SET of k = v with key_size 100000");
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_GET, KVP_POOL_GUEST, "k", NULL);
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, 100000);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "GET of k with key_size 100000");
	if (r)
		return r;
	txid = kvp_msg_init(&p, msg, KVP_OP_DELETE, KVP_POOL_GUEST, KVP_MSG_MAX_LEN);
	kvp_encode("k", msg + VMBUS_IC_HDR_LEN + KVP_DEL_OFF_KEY, KVP_WIRE_KEY_SIZE, false, NULL);
	kvp_put32(msg, KVP_DEL_OFF_KEY_SIZE, 100000);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "DELETE of k with key_size 100000");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_value_size_100000(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_VALUE_SIZE, 100000);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "SET of k = v with value_size 100000");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_unterminated_key(struct hostsim *h, const char *dir)
{
	uint8_t *key;
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	key = msg + VMBUS_IC_HDR_LEN + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY;
	for (int i = 0; i < KVP_WIRE_KEY_SIZE / 2; i++) {
		key[2 * i] = 'A';
		key[2 * i + 1] = 0;
	}
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, KVP_WIRE_KEY_SIZE);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0,
			  "SET with a key of 256 'A' and no NUL, key_size 512");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_invalid_utf16(struct hostsim *h, const char *dir)
{
	static const uint8_t lone_surrogate[] = { 0x00, 0xd8, 'x', 0, 0, 0 }; /* U+D800 'x' NUL */
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	memcpy(msg + VMBUS_IC_HDR_LEN + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY, lone_surrogate,
	       sizeof(lone_surrogate));
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, sizeof(lone_surrogate));
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0,
			  "SET with a key of a lone surrogate (0xD800) and 'x'");
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_GET, KVP_POOL_GUEST, "k", NULL);
	memcpy(msg + VMBUS_IC_HDR_LEN + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY, lone_surrogate,
	       sizeof(lone_surrogate));
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE, sizeof(lone_surrogate));
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0,
			  "GET with a key of a lone surrogate (0xD800) and 'x'");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_bad_value_type(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_getset(&p, msg, KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_TYPE, 3);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "SET of k = v with value_type 3 (REG_BINARY)");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_unknown_op(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_msg_init(&p, msg, 9, KVP_POOL_GUEST, KVP_MSG_MAX_LEN);
	r = kvp_probe_bad(&p, msg, KVP_MSG_LEN, txid, 0, "KVP message with operation 9");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_short(struct hostsim *h, const char *dir)
{
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	/* Header, then the first 6 bytes of the exchange value: value_type and half of key_size. */
	txid = kvp_msg_init(&p, msg, KVP_OP_GET, KVP_POOL_GUEST, 10);
	kvp_put32(msg, KVP_GETSET_OFF_DATA + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	msg[VMBUS_IC_HDR_LEN + KVP_GETSET_OFF_DATA + KVP_VAL_OFF_KEY_SIZE] = 4;
	r = kvp_probe_bad(&p, msg, VMBUS_IC_HDR_LEN + 10, txid, 0, "GET with a body of 10 bytes");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

static int kvp_ip_unterminated(struct hostsim *h, const char *dir)
{
	uint8_t *id;
	struct kvp_probe p;
	static kvp_msg msg;
	uint8_t txid;
	int r;

	r = kvp_probe_begin(&p, h);
	if (r)
		return r;
	txid = kvp_msg_init(&p, msg, KVP_OP_GET_IP_INFO, KVP_POOL_EXTERNAL, KVP_IP_LEN);
	id = msg + VMBUS_IC_HDR_LEN + KVP_IP_OFF_ADAPTER_ID;
	for (int i = 0; i < KVP_IP_ADAPTER_ID_SIZE / 2; i++) {
		id[2 * i] = 'A';
		id[2 * i + 1] = 0;
	}
	msg[VMBUS_IC_HDR_LEN + KVP_IP_OFF_ADDR_FAMILY] = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6;
	r = kvp_probe_bad(&p, msg, VMBUS_IC_HDR_LEN + KVP_IP_LEN, txid, 0,
			  "GET_IP_INFO with an adapter_id of 128 'A' and no NUL");
	if (r)
		return r;
	return kvp_probe_end(&p);
}

/* ------------------------------------------------------------------------ */
/* Backup (VSS) scenarios                                                    */
/* ------------------------------------------------------------------------ */

#define VSS_OVERSIZE_LEN 8000

struct vss_probe {
	struct hostsim *h;
	uint32_t fw, svc;
	unsigned n_sent;
};

static int vss_probe_begin(struct vss_probe *p, struct hostsim *h)
{
	*p = (struct vss_probe){ .h = h };
	return host_negotiate(h, &p->fw, &p->svc);
}

/*
 * Send op in a body of len bytes; the guest must answer it (same length, the
 * id echoed) with want (or, with want 0 and any_error, any error status).
 * Returns 0 or an exit status.
 */
static int vss_probe(struct vss_probe *p, unsigned op, size_t len, bool any_error, uint32_t want,
		     const char *what)
{
	struct vss_answer a;
	int r;

	printf("host: %s\n", what);
	r = vss_transact(p->h, p->fw, p->svc, op, len, &a);
	if (r)
		return r;
	p->n_sent++;
	printf("guest: answered %s (0x%08x)\n", host_status_name(a.status), a.status);
	if (any_error ? a.status == VMBUS_HV_S_OK : a.status != want) {
		fprintf(stderr, "hv-hostsim: the guest should have answered %s\n",
			any_error ? "an error status" : host_status_name(want));
		return HOSTSIM_EXIT_REFUSED;
	}
	return 0;
}

/* A valid GET_DM_INFO after the odd messages: the guest must still answer it HV_S_OK. */
static int vss_probe_end(struct vss_probe *p)
{
	int r = vss_probe(p, VSS_OP_GET_DM_INFO, VSS_MSG_LEN, false, VMBUS_HV_S_OK,
			  "a valid GET_DM_INFO, which the guest must still answer");

	if (r)
		return r;
	printf("host: the guest answered all %u odd messages as expected and still answers\n",
	       p->n_sent - 1);
	return HOSTSIM_EXIT_OK;
}

static int vss_unknown_op(struct hostsim *h, const char *dir)
{
	struct vss_probe p;
	int r;

	r = vss_probe_begin(&p, h);
	if (!r)
		r = vss_probe(&p, VSS_OP_COUNT, VSS_MSG_LEN, false, VMBUS_HV_ERROR_NOT_SUPPORTED,
			      "VSS message with operation 8 (VSS_OP_COUNT, not an operation)");
	if (!r)
		r = vss_probe(&p, 200, VSS_MSG_LEN, false, VMBUS_HV_ERROR_NOT_SUPPORTED,
			      "VSS message with operation 200");
	return r ? r : vss_probe_end(&p);
}

static int vss_truncated(struct hostsim *h, const char *dir)
{
	static const unsigned ops[] = { VSS_OP_HOT_BACKUP, VSS_OP_GET_DM_INFO };
	struct vss_probe p;
	int r;

	r = vss_probe_begin(&p, h);
	for (size_t i = 0; !r && i < ELEMENTSOF(ops); i++)
		/*
		 * 1 and 4 bytes: the operation byte is there, the flags are not. (A
		 * 0-byte body cannot be sent: the packet's padding to 8 bytes gives
		 * the guest 4 zero bytes, a CREATE, which is answered S_OK.)
		 */
		for (size_t len = 1; !r && len <= 4; len += 3) {
			char what[80];

			snprintf(what, sizeof(what), "%s with a body of %zu bytes (hv_vss_msg is %d)",
				 vss_op_name(ops[i]), len, VSS_MSG_LEN);
			r = vss_probe(&p, ops[i], len, true, 0, what);
		}
	return r ? r : vss_probe_end(&p);
}

static int vss_oversize(struct hostsim *h, const char *dir)
{
	struct vss_probe p;
	int r;

	r = vss_probe_begin(&p, h);
	if (!r)
		r = vss_probe(&p, VSS_OP_CREATE, VSS_OVERSIZE_LEN, false, VMBUS_HV_S_OK,
			      "CREATE with a body of 8000 bytes (the whole message echoed)");
	return r ? r : vss_probe_end(&p);
}

static int vss_thaw_unfrozen(struct hostsim *h, const char *dir)
{
	struct vss_probe p;
	int r;

	r = vss_probe_begin(&p, h);
	for (int i = 0; !r && i < 2; i++)
		r = vss_probe(&p, VSS_OP_THAW, VSS_MSG_LEN, false, VMBUS_HV_S_OK,
			      i ? "THAW again" : "THAW without a FREEZE");
	return r ? r : vss_probe_end(&p);
}

/* ------------------------------------------------------------------------ */
/* Character device (kernel side) scenarios: --transport chardev             */
/* ------------------------------------------------------------------------ */

#define CD_KVP_MSG_LEN 7432 /* sizeof(struct hv_kvp_msg) */
#define CD_VSS_MSG_LEN 12   /* sizeof(struct hv_vss_msg) */

/*
 * A valid kernel message for the service of h, which the daemon must answer:
 * KVP ENUMERATE of the auto pool, index 0; VSS HOT_BACKUP; fcopy CANCEL_FCOPY
 * (64 bytes, as the kernel sends it). Its length.
 */
static size_t cd_valid_msg(struct hostsim *h, uint8_t *msg)
{
	memset(msg, 0, CD_KVP_MSG_LEN);
	if (strcmp(h->service, "kvp") == 0) {
		msg[0] = KVP_OP_ENUMERATE;
		msg[1] = KVP_POOL_AUTO;
		return CD_KVP_MSG_LEN;
	}
	if (strcmp(h->service, "vss") == 0) {
		msg[0] = VSS_OP_HOT_BACKUP;
		return CD_VSS_MSG_LEN;
	}
	msg[0] = FCOPY_OP_CANCEL;
	return VMBUS_IC_HDR_LEN + FCOPY_HDR_LEN;
}

/* The daemon's status in a reply of n bytes (the first 4 bytes for all three). */
static int32_t cd_status(const uint8_t *reply)
{
	int32_t v;

	memcpy(&v, reply, sizeof(v));
	return v;
}

/* Hand the daemon msg; it must answer with the size the kernel accepts. Returns 0 or an exit status. */
static int cd_exchange(struct hostsim *h, const uint8_t *msg, size_t len, int32_t *ret_status)
{
	static uint8_t reply[2 * CD_KVP_MSG_LEN];
	size_t want = strcmp(h->service, "kvp") == 0 ? CD_KVP_MSG_LEN
		      : strcmp(h->service, "vss") == 0 ? CD_VSS_MSG_LEN : sizeof(int32_t);
	unsigned refused = kernel_refused_writes(h);
	size_t n = 0;
	int r;

	r = kernel_inject(h, msg, len, reply, sizeof(reply), &n);
	if (r == -ECONNRESET) {
		fprintf(stderr, "hv-hostsim: the daemon closed the device instead of answering\n");
		return HOSTSIM_EXIT_NOANSWER;
	}
	if (r < 0)
		return host_no_answer(r);
	if (kernel_refused_writes(h) != refused || n < want || (want != CD_KVP_MSG_LEN && n != want)) {
		fprintf(stderr, "hv-hostsim: the daemon answered with %zu bytes, the kernel takes %s%zu\n",
			n, want == CD_KVP_MSG_LEN ? "at least " : "", want);
		return HOSTSIM_EXIT_NOANSWER;
	}
	*ret_status = cd_status(reply);
	return 0;
}

/* The daemon must answer a valid message. Returns 0 or an exit status. */
static int cd_alive(struct hostsim *h, const char *when)
{
	static uint8_t msg[CD_KVP_MSG_LEN];
	size_t len = cd_valid_msg(h, msg);
	int32_t status;
	int r;

	printf("kernel: a valid %zu-byte message %s\n", len, when);
	r = cd_exchange(h, msg, len, &status);
	if (r)
		return r;
	printf("guest: answered it (status 0x%08x)\n", (uint32_t)status);
	return 0;
}

static int cd_register_size(struct hostsim *h, const char *dir)
{
	size_t right = kernel_register_reply_len(h);
	size_t wrong = right == CD_KVP_MSG_LEN ? CD_KVP_MSG_LEN / 2 : CD_VSS_MSG_LEN;

	printf("kernel: will answer the registration with %zu bytes (the kernel sends %zu)\n", wrong,
	       right);
	kernel_set_register_reply_len(h, wrong);
	h->end_reported = true;
	if (!hostsim_wait_exit(h, h->timeout_ms)) {
		fprintf(stderr, "hv-hostsim: the guest did not stop on a wrong-size registration reply\n");
		return HOSTSIM_EXIT_REFUSED;
	}
	if (kernel_registrations(h) == 0) {
		fprintf(stderr, "hv-hostsim: the guest never registered\n");
		return HOSTSIM_EXIT_REFUSED;
	}
	if (WIFEXITED(h->guest_status) && WEXITSTATUS(h->guest_status) != 0) {
		printf("guest: stopped with exit status %d (as it should)\n", WEXITSTATUS(h->guest_status));
		return HOSTSIM_EXIT_OK;
	}
	fprintf(stderr, "hv-hostsim: the guest ended with wait status 0x%x\n", h->guest_status);
	return HOSTSIM_EXIT_REFUSED;
}

static int cd_msg_size(struct hostsim *h, const char *dir)
{
	static uint8_t msg[CD_KVP_MSG_LEN];
	size_t len;
	int32_t status;
	int r;

	len = cd_valid_msg(h, msg);
	/* KVP and fcopy: far shorter than the operation's structure; VSS: 8 bytes of 12. */
	len = strcmp(h->service, "kvp") == 0 ? 100 : strcmp(h->service, "vss") == 0 ? 8 : 100;
	if (strcmp(h->service, "vss") == 0)
		msg[0] = VSS_OP_THAW;
	else if (strcmp(h->service, "fcopy") == 0)
		msg[0] = FCOPY_OP_WRITE;
	printf("kernel: a %zu-byte message with operation %u, too short for it\n", len, msg[0]);
	r = cd_exchange(h, msg, len, &status);
	if (r)
		return r;
	if (status == 0) {
		printf("guest: accepted it (status 0)\n");
		return HOSTSIM_EXIT_REFUSED;
	}
	printf("guest: refused it (status 0x%08x)\n", (uint32_t)status);
	r = cd_alive(h, "after it");
	return r ? r : HOSTSIM_EXIT_OK;
}

static int cd_read_error(struct hostsim *h, const char *dir)
{
	int r;

	r = cd_alive(h, "before the reset");
	if (r)
		return r;
	kernel_reset(h);
	r = kernel_wait_registered(h, 2);
	if (r < 0) {
		fprintf(stderr, "hv-hostsim: the guest did not open the device and register again\n");
		return host_no_answer(r);
	}
	r = cd_alive(h, "after the daemon registered again");
	return r ? r : HOSTSIM_EXIT_OK;
}

/*
 * Whether dir's filesystem is frozen: FIFREEZE fails EBUSY on a frozen one. An
 * unfrozen one is thawed again at once (dir is the test's own mount). Returns
 * 1, 0, or -errno.
 */
static int cd_frozen(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, FIFREEZE, 0) == 0) {
		r = ioctl(fd, FITHAW, 0) == 0 ? 0 : -errno;
	} else {
		r = errno == EBUSY ? 1 : -errno;
	}
	close(fd);
	return r;
}

static int cd_frozen_at_register = -1;

static int cd_check_thawed(void *data)
{
	cd_frozen_at_register = cd_frozen(data);
	printf("kernel: %s is %s as the daemon registers again\n", (const char *)data,
	       cd_frozen_at_register == 0 ? "thawed" : cd_frozen_at_register > 0 ? "STILL FROZEN"
										: "unknown");
	return cd_frozen_at_register == 0 ? 0 : -1;
}

static int cd_vss_reset_frozen(struct hostsim *h, const char *dir)
{
	struct vss_answer a;
	uint32_t fw, svc;
	int r;

	r = host_negotiate(h, &fw, &svc);
	if (r)
		return r;
	printf("host: FREEZE\n");
	r = vss_transact(h, fw, svc, VSS_OP_FREEZE, VSS_MSG_LEN, &a);
	if (r)
		return r;
	if (a.status != VMBUS_HV_S_OK || cd_frozen(dir) != 1) {
		fprintf(stderr, "hv-hostsim: FREEZE answered 0x%08x, and %s is %s: nothing to test\n",
			a.status, dir, cd_frozen(dir) == 1 ? "frozen" : "not frozen");
		return HOSTSIM_EXIT_REFUSED;
	}
	printf("guest: froze %s\n", dir);
	kernel_set_on_register(h, cd_check_thawed, (void *)dir);
	kernel_reset(h);
	r = kernel_wait_registered(h, 2);
	if (r < 0) {
		fprintf(stderr, "hv-hostsim: the guest did not open the device and register again\n");
		return host_no_answer(r);
	}
	if (cd_frozen_at_register != 0) {
		fprintf(stderr, "hv-hostsim: the guest registered again before it thawed %s\n", dir);
		return HOSTSIM_EXIT_REFUSED;
	}
	printf("host: THAW\n");
	r = vss_transact(h, fw, svc, VSS_OP_THAW, VSS_MSG_LEN, &a);
	if (r)
		return r;
	printf("guest: answered THAW with %s\n", host_status_name(a.status));
	return a.status == VMBUS_HV_S_OK ? HOSTSIM_EXIT_OK : HOSTSIM_EXIT_REFUSED;
}

static const struct scenario scenarios[] = {
	{ "short-message", NULL, DIR_NONE, short_message,
	  "a message shorter than the IC headers" },
	{ "short-negotiate", NULL, DIR_NONE, short_negotiate,
	  "NEGOTIATE without room for versions" },
	{ "negotiate-overflow", NULL, DIR_NONE, negotiate_overflow,
	  "NEGOTIATE claiming 65535 + 65535 versions" },
	{ "bad-descriptor", NULL, DIR_NONE, bad_descriptor,
	  "a packet larger than the ring (must exit != 0)", NEED_UIO },
	{ "bad-write-index", NULL, DIR_NONE, bad_write_index,
	  "a write_index not 8-aligned (must exit != 0)", NEED_UIO },
	{ "fcopy-write-before-start", "fcopy", DIR_NONE, fcopy_write_before_start,
	  "WRITE and COMPLETE without START" },
	{ "fcopy-oversize-write", "fcopy", DIR_PROBE, fcopy_oversize_write,
	  "WRITE sizes past the data field, the packet" },
	{ "fcopy-offset-overflow", "fcopy", DIR_PROBE, fcopy_offset_overflow,
	  "WRITE whose offset + size overflows" },
	{ "fcopy-unterminated-name", "fcopy", DIR_PATH, fcopy_unterminated_name,
	  "START, 260-unit file name without NUL" },
	{ "fcopy-invalid-utf16", "fcopy", DIR_PATH, fcopy_invalid_utf16,
	  "START, lone surrogate in the file name" },
	{ "fcopy-truncated-start", "fcopy", DIR_PATH, fcopy_truncated_start,
	  "START cut to 628 bytes" },
	{ "fcopy-unknown-op", "fcopy", DIR_NONE, fcopy_unknown_op,
	  "fcopy message with operation 9" },
	{ "kvp-pool-7", "kvp", DIR_NONE, kvp_pool_7,
	  "SET, GET and ENUMERATE in pool 7" },
	{ "kvp-index-max", "kvp", DIR_NONE, kvp_index_max,
	  "ENUMERATE index 2^32-1, pools 0-4 (HV_S_CONT)" },
	{ "kvp-key-size-0", "kvp", DIR_NONE, kvp_key_size_0,
	  "SET and DELETE with key_size 0" },
	{ "kvp-key-size-100000", "kvp", DIR_NONE, kvp_key_size_100000,
	  "SET, GET and DELETE with key_size 100000" },
	{ "kvp-value-size-100000", "kvp", DIR_NONE, kvp_value_size_100000,
	  "SET with value_size 100000" },
	{ "kvp-unterminated-key", "kvp", DIR_NONE, kvp_unterminated_key,
	  "SET, 256-unit key without NUL" },
	{ "kvp-invalid-utf16", "kvp", DIR_NONE, kvp_invalid_utf16,
	  "SET and GET, lone surrogate in the key" },
	{ "kvp-bad-value-type", "kvp", DIR_NONE, kvp_bad_value_type,
	  "SET with value_type 3" },
	{ "kvp-unknown-op", "kvp", DIR_NONE, kvp_unknown_op,
	  "KVP message with operation 9" },
	{ "kvp-short", "kvp", DIR_NONE, kvp_short,
	  "GET with a 10-byte body" },
	{ "kvp-ip-unterminated", "kvp", DIR_NONE, kvp_ip_unterminated,
	  "GET_IP_INFO, adapter_id without NUL" },
	{ "vss-unknown-op", "vss", DIR_NONE, vss_unknown_op,
	  "operations 8 and 200 (HV_ERROR_NOT_SUPPORTED)" },
	{ "vss-truncated", "vss", DIR_NONE, vss_truncated,
	  "HOT_BACKUP, GET_DM_INFO: 1, 4-byte bodies" },
	{ "vss-oversize", "vss", DIR_NONE, vss_oversize,
	  "CREATE with an 8000-byte body (HV_S_OK)" },
	{ "vss-thaw-unfrozen", "vss", DIR_NONE, vss_thaw_unfrozen,
	  "THAW twice without FREEZE (HV_S_OK)" },
	{ "chardev-register-size", NULL, DIR_NONE, cd_register_size,
	  "registration answer of the wrong size (must exit != 0)", NEED_CHARDEV },
	{ "chardev-msg-size", NULL, DIR_NONE, cd_msg_size,
	  "a message too short for its operation", NEED_CHARDEV },
	{ "chardev-read-error", NULL, DIR_NONE, cd_read_error,
	  "reset: the daemon must reopen, register again", NEED_CHARDEV },
	{ "chardev-vss-reset-frozen", "vss", DIR_MOUNT, cd_vss_reset_frozen,
	  "reset while frozen: thaw before registering", NEED_CHARDEV },
};

void hostile_help(void)
{
	printf("hostile SCENARIO [DIR]: the guest must survive and keep answering (exit 0),\n"
	       "not accept the malformed message (else 1), not die or hang (else 3); where\n"
	       "marked \"must exit != 0\", it must instead exit with a non-zero status by\n"
	       "itself within the timeout (else 1). The fcopy-* scenarios imply -s fcopy;\n"
	       "each malformed message must get an error status, then CANCEL_FCOPY an\n"
	       "answer. (P): DIR is the path of the STARTs (default " DEFAULT_DIR "). (O): with\n"
	       "DIR, a valid START of " PROBE_NAME " in DIR opens a transfer before each\n"
	       "bad WRITE. The kvp-* scenarios imply -s kvp; each malformed message must\n"
	       "get an error status (or no answer), and a valid GET sent right after it an\n"
	       "answer. The vss-* scenarios imply -s vss; each message must get exactly the\n"
	       "status named (or any error status), then a valid GET_DM_INFO HV_S_OK.\n"
	       "The chardev-* scenarios need --transport chardev and -s fcopy, kvp or vss:\n"
	       "hv-hostsim plays the kernel's side and checks the daemon's; after a bad\n"
	       "message or a reset the daemon must still answer a valid one. (M): DIR is\n"
	       "a mount of the test's own that the guest freezes (required). The ring\n"
	       "scenarios bad-* need --transport uio.\n"
	       "SCENARIO is one of:\n");
	for (size_t i = 0; i < ELEMENTSOF(scenarios); i++)
		printf("  %-24s %s %s\n", scenarios[i].name,
		       scenarios[i].dir == DIR_PATH    ? "(P)"
		       : scenarios[i].dir == DIR_PROBE ? "(O)"
		       : scenarios[i].dir == DIR_MOUNT ? "(M)"
						       : "   ",
		       scenarios[i].help);
}

int hostile_parse(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "hv-hostsim: wrong number of arguments for 'hostile'\n");
		return -EINVAL;
	}
	for (size_t i = 0; i < ELEMENTSOF(scenarios) && !scenario; i++)
		if (strcmp(scenarios[i].name, argv[1]) == 0)
			scenario = &scenarios[i];
	if (!scenario) {
		fprintf(stderr, "hv-hostsim: unknown scenario '%s' (see --help)\n", argv[1]);
		return -EINVAL;
	}
	if (argc == 3 && scenario->dir == DIR_NONE) {
		fprintf(stderr, "hv-hostsim: scenario '%s' takes no DIR\n", scenario->name);
		return -EINVAL;
	}
	if (argc == 2 && scenario->dir == DIR_MOUNT) {
		fprintf(stderr, "hv-hostsim: scenario '%s' needs DIR\n", scenario->name);
		return -EINVAL;
	}
	scenario_dir = argc == 3 ? argv[2] : scenario->dir == DIR_PATH ? DEFAULT_DIR : NULL;
	if (scenario_dir) {
		uint8_t field[2 * FCOPY_W_MAX_PATH];
		int r = fcopy_put_name(field, scenario_dir, strlen(scenario_dir));

		if (r < 0) {
			fprintf(stderr, "hv-hostsim: DIR '%s' %s\n", scenario_dir,
				r == -ENAMETOOLONG ? "does not fit in a path_name field" : "is not valid UTF-8");
			return -EINVAL;
		}
	}
	if (scenario->service && host_use_service(scenario->service, scenario->name) < 0)
		return -EINVAL;
	/*
	 * The fcopy scenarios send up to a whole WRITE_TO_FILE, the kvp ones a
	 * whole hv_kvp_msg, the vss ones up to vss-oversize's 8000-byte body.
	 */
	if (scenario->service &&
	    host_check_packet_fits(strcmp(scenario->service, "kvp") == 0   ? KVP_MSG_LEN
				   : strcmp(scenario->service, "vss") == 0 ? VMBUS_IC_HDR_LEN + VSS_OVERSIZE_LEN
									   : FCOPY_MAX_MSG_LEN,
				   scenario->name) < 0)
		return -EINVAL;
	return 0;
}

int hostile_run(struct hostsim *h)
{
	if (scenario->need == NEED_UIO && h->transport != HOSTSIM_TRANSPORT_UIO) {
		fprintf(stderr, "hv-hostsim: scenario '%s' needs --transport uio\n", scenario->name);
		return HOSTSIM_EXIT_USAGE;
	}
	if (scenario->need == NEED_CHARDEV && h->transport != HOSTSIM_TRANSPORT_CHARDEV) {
		fprintf(stderr, "hv-hostsim: scenario '%s' needs --transport chardev\n", scenario->name);
		return HOSTSIM_EXIT_USAGE;
	}
	return scenario->run(h, scenario_dir);
}
