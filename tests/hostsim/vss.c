/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-hostsim vss: the host side of the Volume Shadow Copy (Backup) IC, as
 * Hyper-V uses it around a backup (reference kvp-vss.md §7): HOT_BACKUP and
 * the other cheap checks, FREEZE (with the host's LUN data: a 6260-byte
 * body), the hold while the host takes its snapshot, THAW. Every answer is
 * checked as a host would (same length, a response, the IC transaction id
 * echoed) and timed from send to answer.
 *
 * batch runs the lines of standard input in one session, so that a test can
 * keep the guest frozen while it looks at the filesystems ("wait PATH" holds
 * the session until the test says so).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine.h"
#include "macro.h"
#include "vss-wire.h"

#define VSS_MAX_BODY 65535u /* icmsgsize is 16 bits */
#define BATCH_MAX_LINE 4096
#define BATCH_MAX_REQUESTS 10000
#define BATCH_MAX_ARGS 8
#define WAIT_DEFAULT_S 60.0

enum req_kind { REQ_FREEZE, REQ_THAW, REQ_HOT_BACKUP, REQ_CHECK, REQ_BACKUP, REQ_RAW, REQ_SLEEP, REQ_WAIT };

static const char *const kind_names[] = {
	[REQ_FREEZE] = "freeze", [REQ_THAW] = "thaw", [REQ_HOT_BACKUP] = "hot-backup",
	[REQ_CHECK] = "check", [REQ_BACKUP] = "backup", [REQ_RAW] = "raw",
	[REQ_SLEEP] = "sleep", [REQ_WAIT] = "wait",
};

struct vss_req {
	enum req_kind kind;
	unsigned op;       /* raw */
	size_t size;       /* body bytes: freeze, raw */
	double seconds;    /* backup --hold, sleep, wait */
	const char *path;  /* wait */
};

static struct vss_req *reqs;
static size_t n_reqs;
static bool batch, keep_going;
static char **batch_lines;
static size_t n_batch_lines;

void vss_help(void)
{
	printf("vss SUBCOMMAND (implies -s vss; sizes are of the VSS body, after the 28-byte\n"
	       "IC headers):\n"
	       "  freeze [--size N]          FREEZE, a body of N bytes (default %u, as a host\n"
	       "                             sends it with LUN data)\n"
	       "  thaw                       THAW\n"
	       "  hot-backup                 HOT_BACKUP; prints the flags the guest answered\n"
	       "                             (0x5 = VSS_HBU_NO_AUTO_RECOVERY)\n"
	       "  check                      GET_DM_INFO, HOT_BACKUP, CREATE, BU_COMPLETE and\n"
	       "                             DELETE, each status printed\n"
	       "  backup [--hold SECONDS]    a host's backup: HOT_BACKUP, FREEZE, hold (the\n"
	       "                             snapshot, default 1 s), THAW; prints the timings\n"
	       "  raw OP [--size N]          operation OP (0-255) with a body of N bytes\n"
	       "                             (default %u, 0-%u)\n"
	       "  batch [--keep-going]       the lines of standard input, each a subcommand,\n"
	       "                             \"sleep SECONDS\" or \"wait PATH [SECONDS]\" (hold\n"
	       "                             the session until PATH exists, default %g s), in\n"
	       "                             one session; words split at blanks, no quoting\n"
	       "  Each answer prints \"guest: OP answered STATUS\" and, for FREEZE and THAW,\n"
	       "  \"freeze: 12.345 ms\" (send to answer); --json prints one JSON object per\n"
	       "  subcommand instead. A body larger than the ring needs --ring-size: the\n"
	       "  default 16384-byte ring holds bodies up to 12228 bytes, so AUTO_RECOVER as\n"
	       "  a host sends it (raw 7 --size %u) needs --ring-size 20480 or more.\n",
	       VSS_FREEZE_HOST_LEN, VSS_MSG_LEN, VSS_MAX_BODY, WAIT_DEFAULT_S, VSS_AUTO_RECOVER_HOST_LEN);
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */
/* ------------------------------------------------------------------------ */

static int parse_size(const char *cmd, const char *s, size_t min, size_t *ret)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = s[0] >= '0' && s[0] <= '9' ? strtoul(s, &end, 10) : 0;
	if (s[0] < '0' || s[0] > '9' || errno || *end || v < min || v > VSS_MAX_BODY) {
		fprintf(stderr, "hv-hostsim: vss %s: invalid --size '%s' (%zu to %u)\n", cmd, s, min,
			VSS_MAX_BODY);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_seconds(const char *cmd, const char *what, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = s[0] >= '0' && s[0] <= '9' ? strtod(s, &end) : -1;
	if (s[0] < '0' || s[0] > '9' || errno || *end || !(v >= 0 && v <= 3600)) {
		fprintf(stderr, "hv-hostsim: vss %s: invalid %s '%s' (0 to 3600 seconds)\n", cmd, what, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* One subcommand: argv[0] is its name. Returns 0 or -EINVAL (reported). */
static int parse_request(int argc, char **argv, struct vss_req *q)
{
	static const struct option options[] = {
		{ "size", required_argument, NULL, 's' },
		{ "hold", required_argument, NULL, 'H' },
		{}
	};
	const char *cmd = argv[0];
	size_t k, n_pos;
	char **pos;
	int opt;

	for (k = 0; k < ELEMENTSOF(kind_names) && strcmp(kind_names[k], cmd) != 0; k++)
		;
	if (k >= ELEMENTSOF(kind_names) || (!batch && k >= REQ_SLEEP)) {
		fprintf(stderr, "hv-hostsim: vss: unknown subcommand '%s' (freeze, thaw, hot-backup, "
			"check, backup, raw%s)\n", cmd, batch ? ", sleep, wait" : ", batch");
		return -EINVAL;
	}
	*q = (struct vss_req){ .kind = (enum req_kind)k, .size = VSS_MSG_LEN, .seconds = 1 };
	if (k == REQ_FREEZE)
		q->size = VSS_FREEZE_HOST_LEN;
	optind = 0;
	opterr = 0;
	/* getopt permutes: options may come before or after OP and PATH. */
	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		if (opt == '?' || opt == ':') {
			fprintf(stderr, "hv-hostsim: vss %s: unknown option or missing value: '%s'\n", cmd,
				argv[optind - 1]);
			return -EINVAL;
		}
		if ((opt == 's' && k != REQ_FREEZE && k != REQ_RAW) || (opt == 'H' && k != REQ_BACKUP)) {
			fprintf(stderr, "hv-hostsim: vss %s: no option '%s' for %s\n", cmd, argv[optind - 1],
				cmd);
			return -EINVAL;
		}
		if (opt == 's' && parse_size(cmd, optarg, k == REQ_RAW ? 0 : 1, &q->size) < 0)
			return -EINVAL;
		if (opt == 'H' && parse_seconds(cmd, "--hold", optarg, &q->seconds) < 0)
			return -EINVAL;
	}
	pos = argv + optind;
	n_pos = (size_t)(argc - optind);
	switch (q->kind) {
	case REQ_RAW: {
		unsigned long v;
		char *end;

		if (n_pos != 1) {
			fprintf(stderr, "hv-hostsim: vss raw needs OP (0-255)\n");
			return -EINVAL;
		}
		errno = 0;
		v = pos[0][0] >= '0' && pos[0][0] <= '9' ? strtoul(pos[0], &end, 10) : 256;
		if (errno || v > 255 || *end) {
			fprintf(stderr, "hv-hostsim: vss raw: invalid OP '%s' (0-255)\n", pos[0]);
			return -EINVAL;
		}
		q->op = (unsigned)v;
		return 0;
	}
	case REQ_SLEEP:
		if (n_pos != 1) {
			fprintf(stderr, "hv-hostsim: vss batch: sleep needs SECONDS\n");
			return -EINVAL;
		}
		return parse_seconds(cmd, "SECONDS", pos[0], &q->seconds);
	case REQ_WAIT:
		if (n_pos < 1 || n_pos > 2 || !pos[0][0]) {
			fprintf(stderr, "hv-hostsim: vss batch: wait needs PATH [SECONDS]\n");
			return -EINVAL;
		}
		q->path = pos[0];
		q->seconds = WAIT_DEFAULT_S;
		return n_pos == 2 ? parse_seconds(cmd, "SECONDS", pos[1], &q->seconds) : 0;
	default:
		if (n_pos) {
			fprintf(stderr, "hv-hostsim: vss %s: unexpected argument '%s'\n", cmd, pos[0]);
			return -EINVAL;
		}
		return 0;
	}
}

static int add_request(int argc, char **argv)
{
	struct vss_req q, *n;

	if (parse_request(argc, argv, &q) < 0)
		return -EINVAL;
	if (n_reqs >= BATCH_MAX_REQUESTS) {
		fprintf(stderr, "hv-hostsim: vss batch: more than %d requests\n", BATCH_MAX_REQUESTS);
		return -EINVAL;
	}
	n = realloc(reqs, (n_reqs + 1) * sizeof(*reqs));
	if (!n) {
		fprintf(stderr, "hv-hostsim: out of memory\n");
		return -ENOMEM;
	}
	reqs = n;
	reqs[n_reqs++] = q;
	return 0;
}

static int read_batch(void)
{
	size_t lineno = 0;

	for (;;) {
		char *argv[BATCH_MAX_ARGS + 2], *line, *tok, *save, **nl;
		int argc = 0, r = host_batch_read_line("vss batch", ++lineno, BATCH_MAX_LINE, &line);

		if (r < 0)
			return r;
		if (r == 0)
			break;
		nl = realloc(batch_lines, (n_batch_lines + 1) * sizeof(*batch_lines));
		if (!nl) {
			free(line);
			fprintf(stderr, "hv-hostsim: out of memory\n");
			return -ENOMEM;
		}
		batch_lines = nl;
		batch_lines[n_batch_lines++] = line;
		for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
			if (argc == 0 && tok[0] == '#')
				break;
			if (argc > BATCH_MAX_ARGS) {
				fprintf(stderr, "hv-hostsim: vss batch: line %zu has too many words\n", lineno);
				return -EINVAL;
			}
			argv[argc++] = tok;
		}
		if (argc == 0)
			continue;
		if (strcmp(argv[0], "batch") == 0) {
			fprintf(stderr, "hv-hostsim: vss batch: line %zu: no batch in a batch\n", lineno);
			return -EINVAL;
		}
		argv[argc] = NULL;
		if (add_request(argc, argv) < 0) {
			fprintf(stderr, "hv-hostsim: vss batch: in line %zu\n", lineno);
			return -EINVAL;
		}
	}
	if (ferror(stdin)) {
		fprintf(stderr, "hv-hostsim: vss batch: cannot read standard input: %m\n");
		return -EIO;
	}
	return 0;
}

int vss_parse(int argc, char **argv)
{
	size_t largest = VSS_MSG_LEN;
	int r;

	if (argc < 2) {
		fprintf(stderr, "hv-hostsim: vss needs a subcommand (freeze, thaw, hot-backup, check, "
			"backup, raw, batch)\n");
		return -EINVAL;
	}
	if (strcmp(argv[1], "batch") != 0) {
		r = add_request(argc - 1, argv + 1);
	} else {
		batch = true;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--keep-going") != 0) {
				fprintf(stderr, "hv-hostsim: vss batch: unknown argument '%s' "
					"(--keep-going)\n", argv[i]);
				return -EINVAL;
			}
			keep_going = true;
		}
		r = read_batch();
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_reqs; i++)
		if (reqs[i].size > largest)
			largest = reqs[i].size;
	return host_check_packet_fits(VMBUS_IC_HDR_LEN + largest, "vss");
}

void vss_finish(void)
{
	for (size_t i = 0; i < n_batch_lines; i++)
		free(batch_lines[i]);
	free(batch_lines);
	free(reqs);
	batch_lines = NULL;
	reqs = NULL;
	n_batch_lines = n_reqs = 0;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

const char *vss_op_text(unsigned op, char *buf, size_t size)
{
	if (vss_op_name(op))
		return vss_op_name(op);
	snprintf(buf, size, "operation %u", op);
	return buf;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int vss_check_reply(const uint8_t *resp, size_t n, size_t sent, uint8_t txid, uint32_t *ret_status)
{
	return host_check_reply(resp, n, sent, VMBUS_IC_MSGTYPE_VSS, txid, ret_status);
}

int vss_transact(struct hostsim *h, uint32_t fw, uint32_t svc, unsigned op, size_t body_len,
		 struct vss_answer *ret)
{
	static uint8_t msg[VMBUS_IC_HDR_LEN + VSS_MAX_BODY];
	size_t len = VMBUS_IC_HDR_LEN + body_len;
	const uint8_t *resp;
	uint8_t txid;
	int64_t t0;
	size_t n;
	int r;

	if (body_len > VSS_MAX_BODY)
		return HOSTSIM_EXIT_USAGE;
	memset(msg, 0, len);
	txid = h->next_ic_txid++;
	vmbus_ic_build(msg, len, VMBUS_IC_MSGTYPE_VSS, fw, svc, (uint16_t)body_len, txid);
	if (body_len > VSS_OFF_OPERATION)
		msg[VMBUS_IC_HDR_LEN + VSS_OFF_OPERATION] = (uint8_t)op;
	*ret = (struct vss_answer){ 0 };
	t0 = now_ns();
	r = hostsim_transact(h, msg, len, &resp, &n);
	ret->ms = (double)(now_ns() - t0) / 1e6;
	if (r < 0)
		return host_no_answer(r);
	if (vss_check_reply(resp, n, len, txid, &ret->status) < 0)
		return HOSTSIM_EXIT_NOANSWER;
	if (body_len >= VSS_MSG_LEN) {
		memcpy(&ret->flags, resp + VMBUS_IC_HDR_LEN + VSS_OFF_FLAGS, sizeof(ret->flags));
		ret->has_flags = true;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */
/* ------------------------------------------------------------------------ */

struct session {
	struct hostsim *h;
	uint32_t fw, svc;
};

static void json_answer(FILE *j, const char *key, unsigned op, const struct vss_answer *a)
{
	char buf[32];

	if (key)
		fprintf(j, "\"%s\":", key);
	fprintf(j, "{\"op\":\"%s\",\"status\":\"%s\",\"status_code\":%" PRIu32 ",\"ms\":%.3f",
		vss_op_text(op, buf, sizeof(buf)), host_status_name(a->status), a->status, a->ms);
	if (op == VSS_OP_HOT_BACKUP && a->has_flags)
		fprintf(j, ",\"flags\":%" PRIu32, a->flags);
	fputc('}', j);
}

/* One operation: send, check, print the answer line. Returns 0 or an exit status. */
static int one(struct session *s, unsigned op, size_t body_len, struct vss_answer *a)
{
	char buf[32];
	int r;

	r = vss_transact(s->h, s->fw, s->svc, op, body_len, a);
	if (r)
		return r;
	printf("guest: %s answered %s (0x%08" PRIx32 ")\n", vss_op_text(op, buf, sizeof(buf)),
	       host_status_name(a->status), a->status);
	if (op == VSS_OP_HOT_BACKUP && a->status == VMBUS_HV_S_OK) {
		if (a->has_flags)
			printf("hot-backup flags: 0x%" PRIx32 "%s\n", a->flags,
			       a->flags == VSS_HBU_NO_AUTO_RECOVERY ? " (VSS_HBU_NO_AUTO_RECOVERY)" : "");
		else
			printf("hot-backup flags: none (body of %zu bytes)\n", body_len);
	}
	if (op == VSS_OP_FREEZE)
		printf("freeze: %.3f ms\n", a->ms);
	else if (op == VSS_OP_THAW)
		printf("thaw: %.3f ms\n", a->ms);
	return 0;
}

static int status_exit(const struct vss_answer *a)
{
	return a->status == VMBUS_HV_S_OK ? HOSTSIM_EXIT_OK : HOSTSIM_EXIT_REFUSED;
}

static void sleep_s(double seconds)
{
	struct timespec ts = { .tv_sec = (time_t)seconds,
			       .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_single(struct session *s, unsigned op, size_t size)
{
	struct vss_answer a;
	FILE *j = host_json();
	int r = one(s, op, size, &a);

	if (r)
		return r;
	if (j) {
		json_answer(j, NULL, op, &a);
		fputc('\n', j);
	}
	return status_exit(&a);
}

static int run_check(struct session *s)
{
	static const unsigned ops[] = { VSS_OP_GET_DM_INFO, VSS_OP_HOT_BACKUP, VSS_OP_CREATE,
					VSS_OP_BU_COMPLETE, VSS_OP_DELETE };
	struct vss_answer a[ELEMENTSOF(ops)];
	FILE *j = host_json();
	int r, result = HOSTSIM_EXIT_OK;

	for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
		r = one(s, ops[i], VSS_MSG_LEN, &a[i]);
		if (r)
			return r;
		if (a[i].status != VMBUS_HV_S_OK)
			result = HOSTSIM_EXIT_REFUSED;
	}
	if (j) {
		fprintf(j, "{\"check\":[");
		for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
			fputs(i ? "," : "", j);
			json_answer(j, NULL, ops[i], &a[i]);
		}
		fprintf(j, "]}\n");
	}
	if (result == HOSTSIM_EXIT_OK)
		printf("host: all %zu checks answered HV_S_OK\n", ELEMENTSOF(ops));
	return result;
}

static int run_backup(struct session *s, const struct vss_req *q)
{
	struct vss_answer hb = { 0 }, fz = { 0 }, th = { 0 };
	FILE *j = host_json();
	int64_t t0 = now_ns(), t_hold;
	double hold_ms = 0, total_ms;
	int r;

	r = one(s, VSS_OP_HOT_BACKUP, VSS_MSG_LEN, &hb);
	if (r)
		return r;
	if (hb.status != VMBUS_HV_S_OK) {
		fprintf(stderr, "hv-hostsim: vss backup: HOT_BACKUP failed: no backup\n");
		return HOSTSIM_EXIT_REFUSED;
	}
	r = one(s, VSS_OP_FREEZE, VSS_FREEZE_HOST_LEN, &fz);
	if (r)
		return r;
	if (fz.status == VMBUS_HV_S_OK) {
		printf("host: holding the freeze %g s (the snapshot)\n", q->seconds);
		t_hold = now_ns();
		sleep_s(q->seconds);
		hold_ms = (double)(now_ns() - t_hold) / 1e6;
		printf("hold: %.3f ms\n", hold_ms);
	} else {
		fprintf(stderr, "hv-hostsim: vss backup: FREEZE failed; THAW anyway, as a host does\n");
	}
	r = one(s, VSS_OP_THAW, VSS_MSG_LEN, &th);
	if (r)
		return r;
	total_ms = (double)(now_ns() - t0) / 1e6;
	printf("total: %.3f ms\n", total_ms);
	if (j) {
		fputc('{', j);
		json_answer(j, "hot_backup", VSS_OP_HOT_BACKUP, &hb);
		fputc(',', j);
		json_answer(j, "freeze", VSS_OP_FREEZE, &fz);
		fputc(',', j);
		json_answer(j, "thaw", VSS_OP_THAW, &th);
		fprintf(j, ",\"freeze_ms\":%.3f,\"hold_ms\":%.3f,\"thaw_ms\":%.3f,\"total_ms\":%.3f}\n",
			fz.ms, hold_ms, th.ms, total_ms);
	}
	return fz.status != VMBUS_HV_S_OK ? HOSTSIM_EXIT_REFUSED : status_exit(&th);
}

static int run_wait(const struct vss_req *q)
{
	int64_t deadline = now_ns() + (int64_t)(q->seconds * 1e9);

	printf("host: waiting for %s\n", q->path);
	while (access(q->path, F_OK) < 0) {
		if (now_ns() >= deadline) {
			fprintf(stderr, "hv-hostsim: vss batch: %s did not appear within %g s\n", q->path,
				q->seconds);
			return HOSTSIM_EXIT_NOANSWER;
		}
		sleep_s(0.01);
	}
	printf("host: %s is there\n", q->path);
	return HOSTSIM_EXIT_OK;
}

static int run_request(struct session *s, const struct vss_req *q)
{
	switch (q->kind) {
	case REQ_FREEZE:
		return run_single(s, VSS_OP_FREEZE, q->size);
	case REQ_THAW:
		return run_single(s, VSS_OP_THAW, VSS_MSG_LEN);
	case REQ_HOT_BACKUP:
		return run_single(s, VSS_OP_HOT_BACKUP, VSS_MSG_LEN);
	case REQ_RAW:
		return run_single(s, q->op, q->size);
	case REQ_CHECK:
		return run_check(s);
	case REQ_BACKUP:
		return run_backup(s, q);
	case REQ_SLEEP:
		printf("host: sleeping %g s\n", q->seconds);
		sleep_s(q->seconds);
		return HOSTSIM_EXIT_OK;
	case REQ_WAIT:
		return run_wait(q);
	}
	return HOSTSIM_EXIT_USAGE;
}

int vss_run(struct hostsim *h)
{
	struct session s = { .h = h };
	int r, first = HOSTSIM_EXIT_OK;

	r = host_negotiate(h, &s.fw, &s.svc);
	if (r != HOSTSIM_EXIT_OK)
		return r;
	for (size_t i = 0; i < n_reqs; i++) {
		r = run_request(&s, &reqs[i]);
		if (r == HOSTSIM_EXIT_OK)
			continue;
		if (first == HOSTSIM_EXIT_OK)
			first = r;
		/* Without an answer the session is over, whatever --keep-going says. */
		if (!keep_going || r == HOSTSIM_EXIT_NOANSWER)
			break;
	}
	if (batch && first == HOSTSIM_EXIT_OK)
		printf("host: %zu requests answered with success\n", n_reqs);
	return first;
}
