/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-hostsim: the host side of the Hyper-V Integration Component protocols,
 * so that guest daemons run and are tested without Hyper-V.
 *
 *   hv-hostsim [OPTIONS] COMMAND [ARGS] -- GUEST [GUEST-ARGS...]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine.h"
#include "macro.h"
#include "versions.h"

#define DEFAULT_RING_SIZE 16384u /* what Hyper-V gives IC channels: 3 data pages + header */

struct service_def {
	const char *name;
	uint16_t msgtype;
	/* The versions the simulated host offers: our assumption, not a capture of a real host. */
	uint32_t fw[4];
	size_t n_fw;
	uint32_t svc[6];
	size_t n_svc;
};

#define V VMBUS_IC_VERSION
static const struct service_def services[] = {
	{ "heartbeat", VMBUS_IC_MSGTYPE_HEARTBEAT, { V(1, 0), V(3, 0) }, 2, { V(1, 0), V(3, 0) }, 2 },
	{ "fcopy", VMBUS_IC_MSGTYPE_FCOPY, { V(1, 0), V(3, 0) }, 2, { V(1, 0), V(1, 1) }, 2 },
	{ "kvp", VMBUS_IC_MSGTYPE_KVPEXCHANGE, { V(1, 0), V(3, 0) }, 2,
	  { V(1, 0), V(3, 0), V(4, 0), V(5, 0) }, 4 },
	{ "vss", VMBUS_IC_MSGTYPE_VSS, { V(1, 0), V(3, 0) }, 2, { V(5, 0) }, 1 },
};
#undef V

static const struct service_def *arg_service = &services[0];
static bool arg_service_given;
static uint32_t arg_fw[VMBUS_IC_MAX_VERSIONS], arg_svc[VMBUS_IC_MAX_VERSIONS];
static int arg_n_fw = -1, arg_n_svc = -1;
static uint32_t arg_ring_size = DEFAULT_RING_SIZE;
static double arg_timeout = 10;
static int arg_busy_poll;
static int arg_verbose;
static bool arg_json;
static enum hostsim_transport arg_transport = HOSTSIM_TRANSPORT_UIO;
static FILE *json_out;

static int negotiate_parse(int argc, char **argv);
static int negotiate_run(struct hostsim *h);
static int heartbeat_parse(int argc, char **argv);
static int heartbeat_run(struct hostsim *h);

static const struct command {
	const char *name;
	const char *usage;
	const char *summary;
	const char *service; /* the service it speaks (implies -s), NULL for any */
	int (*parse)(int argc, char **argv);
	int (*run)(struct hostsim *h);
	void (*finish)(void); /* after the guest's end was reported, NULL for nothing */
} commands[] = {
	{ "negotiate", "negotiate", "negotiate versions and report the guest's choice", NULL,
	  negotiate_parse, negotiate_run, NULL },
	{ "heartbeat", "heartbeat [COUNT]", "negotiate, then exchange COUNT heartbeats (default 3)", NULL,
	  heartbeat_parse, heartbeat_run, NULL },
	{ "fcopy", "fcopy [FCOPY-OPTIONS] SOURCE DEST",
	  "copy SOURCE to DEST in the guest, like Copy-VMFile", "fcopy", fcopy_parse,
	  fcopy_run, fcopy_finish },
	{ "hostile", "hostile SCENARIO [DIR]", "send malformed traffic (scenarios below)", NULL,
	  hostile_parse, hostile_run, NULL },
	{ "idle", "idle SECONDS", "negotiate, then report what the guest costs while idle", NULL,
	  idle_parse, idle_run, NULL },
	{ "kvp", "kvp SUBCOMMAND [ARGS]", "Key-Value Pair requests (below)", "kvp", kvp_parse,
	  kvp_run, kvp_finish },
	{ "vss", "vss SUBCOMMAND [ARGS]", "Backup (VSS) requests: freeze, thaw (below)", "vss", vss_parse,
	  vss_run, vss_finish },
};

static void help(void)
{
	printf("Usage: hv-hostsim [OPTIONS] COMMAND [ARGS] -- GUEST [GUEST-ARGS...]\n\n"
	       "Plays the Hyper-V host for a guest daemon over a simulated VMBus channel.\n"
	       "GUEST is started with \"--channel fd:3,4,5\" appended (see libvmbus(3)).\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
		if (strlen(commands[i].usage) <= 22)
			printf("  %-22s  %s\n", commands[i].usage, commands[i].summary);
		else
			printf("  %s\n  %-22s  %s\n", commands[i].usage, "", commands[i].summary);
	}
	printf("\nOptions (before COMMAND):\n"
	       "  -s, --service NAME             heartbeat, fcopy, kvp or vss (default heartbeat):\n"
	       "                                 the version lists the host offers\n"
	       "      --framework-versions LIST  framework versions to offer, e.g. 3.0,1.0\n"
	       "      --service-versions LIST    service versions to offer\n"
	       "  -r, --ring-size BYTES          ring size per direction (default %u)\n"
	       "  -t, --timeout SECONDS          wait this long for each answer (default 10)\n"
	       "      --busy-poll USEC           before sleeping for the guest, check for its\n"
	       "                                 signal without blocking this long (default 0)\n"
	       "      --transport uio|chardev    uio (default): the guest gets the rings,\n"
	       "                                 \"--channel fd:3,4,5\"; chardev: hv-hostsim\n"
	       "                                 also plays the kernel's hv_utils driver and\n"
	       "                                 the guest gets a fake /dev/vmbus/hv_kvp\n"
	       "                                 (hv_vss, hv_fcopy): \"--channel chardev:PATH\",\n"
	       "                                 with $HV_HOSTSIM_PRELOAD (fake-chardev.so)\n"
	       "                                 preloaded; default $HV_HOSTSIM_TRANSPORT\n"
	       "  -v, --verbose                  print every packet\n"
	       "      --json                     kvp, vss: print JSON on standard output, and\n"
	       "                                 everything else on standard error\n"
	       "  -h, --help                     show this help\n"
	       "  -V, --version                  show the version\n\n",
	       DEFAULT_RING_SIZE);
	fcopy_help();
	printf("\n");
	hostile_help();
	printf("\n");
	idle_help();
	printf("\n");
	kvp_help();
	printf("\n");
	vss_help();
	printf("\nExit status: 0 the guest answered success, 1 it answered an error or refused,\n"
	       "2 usage error, 3 no valid answer (timeout, guest exited, protocol violation);\n"
	       "fcopy also: 1 the guest answered HV_E_FAIL or another error status not below,\n"
	       "4 it answered HV_ERROR_ALREADY_EXISTS, 5 HV_ERROR_DISK_FULL, 6 the copy was\n"
	       "cancelled (reading SOURCE failed, SIGINT/SIGTERM, or fault injection);\n"
	       "kvp also: 1 the guest answered an error status, 3 also for an answer that\n"
	       "does not decode, 7 get, delete or enumerate --index was answered HV_S_CONT\n"
	       "(no such key or index);\n"
	       "vss: 1 the guest answered an error status (any request of check, FREEZE or\n"
	       "THAW of backup), 3 also when a batch's wait PATH timed out.\n");
}

static const struct service_def *find_service(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(services); i++)
		if (strcmp(services[i].name, name) == 0)
			return &services[i];
	return NULL;
}

int host_use_service(const char *name, const char *command)
{
	const struct service_def *svc = find_service(name);

	if (arg_service_given && arg_service != svc) {
		fprintf(stderr, "hv-hostsim: %s speaks the %s service, not %s (-s)\n", command, name,
			arg_service->name);
		return -EINVAL;
	}
	arg_service = svc;
	return 0;
}

int host_check_packet_fits(size_t len, const char *command)
{
	/* fd channel rings (libvmbus(3)): a 4096-byte header page, then the data. */
	uint32_t data = arg_ring_size - 4096;
	/* Descriptor, payload padded to 8, trailer; a ring is never filled completely. */
	size_t need = 16 + ALIGN8_UP(len) + 8;

	if (need < data)
		return 0;
	fprintf(stderr, "hv-hostsim: %s needs %zu bytes of ring for one packet, more than a %u-byte "
		"ring holds: use --ring-size %zu or more\n", command, need, arg_ring_size,
		(need + 1 + 4095) / 4096 * 4096 + 4096);
	return -EINVAL;
}

const char *host_status_name(uint32_t status)
{
	const char *name = vmbus_ic_status_name(status);

	return name ? name : "unknown status";
}

FILE *host_json(void)
{
	return json_out;
}

/*
 * The answer to an IC request of msgtype: the length sent (or padded to 8
 * bytes, as the guest received it), flagged as a response, the request's IC
 * transaction id. 0 with its status, or -EBADMSG after saying why.
 */
int host_check_reply(const uint8_t *resp, size_t n, size_t sent, uint16_t msgtype, uint8_t txid,
		     uint32_t *ret_status)
{
	struct vmbus_ic_header hdr;

	/* The guest receives the request padded to 8 bytes and may answer with either length. */
	if (n != sent && n != ALIGN8_UP(sent)) {
		fprintf(stderr, "hv-hostsim: the guest answered with %zu bytes to a %zu-byte request\n", n,
			sent);
		return -EBADMSG;
	}
	if (vmbus_ic_parse(resp, n, &hdr) < 0 || hdr.msgtype != msgtype) {
		fprintf(stderr, "hv-hostsim: malformed answer (%zu bytes)\n", n);
		return -EBADMSG;
	}
	if (!(hdr.flags & VMBUS_IC_FLAG_RESPONSE) || (hdr.flags & VMBUS_IC_FLAG_REQUEST)) {
		fprintf(stderr, "hv-hostsim: the answer is not flagged as a response (flags 0x%x)\n",
			hdr.flags);
		return -EBADMSG;
	}
	if (hdr.transaction_id != txid) {
		fprintf(stderr, "hv-hostsim: the answer carries IC transaction id %u, the request %u\n",
			hdr.transaction_id, txid);
		return -EBADMSG;
	}
	*ret_status = hdr.status;
	return 0;
}

int host_batch_read_line(const char *command, size_t lineno, size_t max, char **ret)
{
	char *line = malloc(max + 2);
	size_t len;

	*ret = NULL;
	if (!line) {
		fprintf(stderr, "hv-hostsim: out of memory\n");
		return -ENOMEM;
	}
	if (!fgets(line, (int)max + 2, stdin)) {
		free(line);
		return 0;
	}
	len = strlen(line);
	if (len > max && line[len - 1] != '\n') {
		fprintf(stderr, "hv-hostsim: %s: line %zu is longer than %zu bytes\n", command, lineno, max);
		free(line);
		return -EINVAL;
	}
	*ret = line;
	return 1;
}

int host_no_answer(int r)
{
	switch (r) {
	case -ETIMEDOUT:
		fprintf(stderr, "hv-hostsim: no answer from the guest within %g s\n", arg_timeout);
		break;
	case -ECHILD:
		fprintf(stderr, "hv-hostsim: the guest exited before answering\n");
		break;
	case -EPROTO:
		fprintf(stderr, "hv-hostsim: the guest broke the ring protocol\n");
		break;
	case -EINTR:
		fprintf(stderr, "hv-hostsim: interrupted while waiting for the guest\n");
		break;
	default:
		fprintf(stderr, "hv-hostsim: channel error: %s\n", strerror(-r));
	}
	return HOSTSIM_EXIT_NOANSWER;
}

static void fmt_versions(const uint32_t *v, size_t n, char *buf, size_t size)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && pos < size; i++) {
		char one[16];

		pos += (size_t)snprintf(buf + pos, size - pos, "%s%s", i ? "," : "",
					ic_version_format(v[i], one, sizeof(one)));
	}
}

int host_negotiate(struct hostsim *h, uint32_t *ret_fw, uint32_t *ret_svc)
{
	const uint32_t *fw = arg_n_fw >= 0 ? arg_fw : arg_service->fw;
	const uint32_t *svc = arg_n_svc >= 0 ? arg_svc : arg_service->svc;
	size_t n_fw = arg_n_fw >= 0 ? (size_t)arg_n_fw : arg_service->n_fw;
	size_t n_svc = arg_n_svc >= 0 ? (size_t)arg_n_svc : arg_service->n_svc;
	uint8_t msg[VMBUS_IC_HDR_LEN + 8 + 4 * 2 * VMBUS_IC_MAX_VERSIONS];
	char a[512], b[512], f[16], s[16];
	const uint8_t *resp;
	size_t len;
	int n, r;

	n = vmbus_ic_negotiate_request(msg, sizeof(msg), fw, n_fw, svc, n_svc, h->next_ic_txid++);
	if (n < 0)
		return host_no_answer(n);
	fmt_versions(fw, n_fw, a, sizeof(a));
	fmt_versions(svc, n_svc, b, sizeof(b));
	printf("host: offering framework %s, %s %s\n", a, arg_service->name, b);
	r = hostsim_transact(h, msg, (size_t)n, &resp, &len);
	if (r < 0)
		return host_no_answer(r);
	/* The guest sees the request padded to 8 bytes and answers with that length. */
	if (len != ALIGN8_UP((size_t)n))
		fprintf(stderr, "hv-hostsim: warning: response is %zu bytes, request was %d\n", len, n);
	r = vmbus_ic_negotiate_result(resp, len, ret_fw, ret_svc);
	if (r < 0) {
		fprintf(stderr, "hv-hostsim: malformed NEGOTIATE response (%zu bytes)\n", len);
		return HOSTSIM_EXIT_NOANSWER;
	}
	if (r == 0) {
		struct vmbus_ic_header hdr;
		const char *st = vmbus_ic_parse(resp, len, &hdr) == 0 ? vmbus_ic_status_name(hdr.status) : NULL;

		printf("guest: refused every version offered (status %s)\n", st ? st : "?");
		return HOSTSIM_EXIT_REFUSED;
	}
	printf("guest: chose framework %s, %s %s\n", ic_version_format(*ret_fw, f, sizeof(f)),
	       arg_service->name, ic_version_format(*ret_svc, s, sizeof(s)));
	return HOSTSIM_EXIT_OK;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static unsigned long heartbeat_count = 3;

static int negotiate_parse(int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, "hv-hostsim: wrong number of arguments for 'negotiate'\n");
		return -EINVAL;
	}
	return 0;
}

static int negotiate_run(struct hostsim *h)
{
	uint32_t fw, svc;

	return host_negotiate(h, &fw, &svc);
}

static int heartbeat_parse(int argc, char **argv)
{
	char *end;

	if (argc > 2) {
		fprintf(stderr, "hv-hostsim: wrong number of arguments for 'heartbeat'\n");
		return -EINVAL;
	}
	if (argc == 2) {
		errno = 0;
		heartbeat_count = strtoul(argv[1], &end, 10);
		if (errno || *end || heartbeat_count == 0 || heartbeat_count > 1000000) {
			fprintf(stderr, "hv-hostsim: invalid COUNT '%s' (1 to 1000000)\n", argv[1]);
			return -EINVAL;
		}
	}
	return 0;
}

static int heartbeat_run(struct hostsim *h)
{
	unsigned long count = heartbeat_count;
	uint32_t fw, svc;
	int r = host_negotiate(h, &fw, &svc);

	if (r != HOSTSIM_EXIT_OK)
		return r;
	for (unsigned long i = 1; i <= count; i++) {
		uint8_t msg[VMBUS_IC_HDR_LEN + 40] = { 0 };
		struct vmbus_ic_header hdr;
		uint64_t seq = 1000 * i, got;
		const uint8_t *resp;
		size_t len;
		int64_t t0;

		vmbus_ic_build(msg, sizeof(msg), VMBUS_IC_MSGTYPE_HEARTBEAT, fw, svc, 40, h->next_ic_txid++);
		memcpy(msg + VMBUS_IC_HDR_LEN, &seq, sizeof(seq));
		t0 = now_us();
		r = hostsim_transact(h, msg, sizeof(msg), &resp, &len);
		if (r < 0)
			return host_no_answer(r);
		if (vmbus_ic_parse(resp, len, &hdr) < 0 || hdr.body_len < sizeof(got)) {
			fprintf(stderr, "hv-hostsim: malformed HEARTBEAT response (%zu bytes)\n", len);
			return HOSTSIM_EXIT_NOANSWER;
		}
		memcpy(&got, resp + VMBUS_IC_HDR_LEN, sizeof(got));
		printf("heartbeat %lu: sent %llu, guest answered %llu, %s, %lld us\n", i,
		       (unsigned long long)seq, (unsigned long long)got,
		       vmbus_ic_status_name(hdr.status) ? vmbus_ic_status_name(hdr.status) : "unknown status",
		       (long long)(now_us() - t0));
		if (hdr.status != VMBUS_HV_S_OK || got != seq + 1)
			return HOSTSIM_EXIT_REFUSED;
	}
	return HOSTSIM_EXIT_OK;
}

static int parse_transport(const char *s, const char *what)
{
	if (strcmp(s, "uio") == 0)
		arg_transport = HOSTSIM_TRANSPORT_UIO;
	else if (strcmp(s, "chardev") == 0)
		arg_transport = HOSTSIM_TRANSPORT_CHARDEV;
	else {
		fprintf(stderr, "hv-hostsim: invalid %s '%s' (uio or chardev)\n", what, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option options[] = {
		{ "service", required_argument, NULL, 's' },
		{ "framework-versions", required_argument, NULL, 'F' },
		{ "service-versions", required_argument, NULL, 'S' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "busy-poll", required_argument, NULL, 'B' },
		{ "transport", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *env = getenv("HV_HOSTSIM_TRANSPORT");
	unsigned long v;
	char *end;
	int opt, n;

	if (env && *env && parse_transport(env, "HV_HOSTSIM_TRANSPORT") < 0)
		return -EINVAL;
	/* '+': stop at the first non-option, so guest options are left alone. */
	while ((opt = getopt_long(argc, argv, "+s:r:t:vhV", options, NULL)) >= 0) {
		switch (opt) {
		case 's':
			arg_service = find_service(optarg);
			arg_service_given = true;
			if (!arg_service) {
				fprintf(stderr, "hv-hostsim: unknown service '%s' (heartbeat, fcopy, kvp, vss)\n", optarg);
				return -EINVAL;
			}
			break;
		case 'F':
		case 'S':
			n = ic_versions_parse(optarg, opt == 'F' ? arg_fw : arg_svc, VMBUS_IC_MAX_VERSIONS);
			if (n < 0) {
				fprintf(stderr, "hv-hostsim: invalid version list '%s' (e.g. 3.0,1.0)\n", optarg);
				return -EINVAL;
			}
			*(opt == 'F' ? &arg_n_fw : &arg_n_svc) = n;
			break;
		case 'r':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || v < VMBUS_RING_SIZE_MIN || v > VMBUS_RING_SIZE_MAX || v % 4096) {
				fprintf(stderr, "hv-hostsim: --ring-size must be a multiple of 4096 in [%u, %u]\n",
					VMBUS_RING_SIZE_MIN, VMBUS_RING_SIZE_MAX);
				return -EINVAL;
			}
			arg_ring_size = (uint32_t)v;
			break;
		case 't':
			errno = 0;
			arg_timeout = strtod(optarg, &end);
			if (errno || *end || !(arg_timeout > 0) || arg_timeout > 86400) {
				fprintf(stderr, "hv-hostsim: invalid --timeout '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'B':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v > 1000000) {
				fprintf(stderr, "hv-hostsim: invalid --busy-poll '%s' (0 to 1000000 microseconds)\n",
					optarg);
				return -EINVAL;
			}
			arg_busy_poll = (int)v;
			break;
		case 'T':
			if (parse_transport(optarg, "--transport") < 0)
				return -EINVAL;
			break;
		case 'v':
			arg_verbose = 1;
			break;
		case 'J':
			arg_json = true;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("hv-hostsim %s\n", PACKAGE_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	}
	return 1;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct hostsim h = { 0 };
	char **guest = NULL;
	int r, status, ncmd;

	/* Line by line, so that a reader (or a pipe) sees progress as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = parse_args(argc, argv);
	if (r <= 0)
		return r == 0 ? EXIT_SUCCESS : HOSTSIM_EXIT_USAGE;
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			guest = argv + i + 1;
			argv[i] = NULL;
			break;
		}
	ncmd = 0;
	while (argv[optind + ncmd])
		ncmd++;
	if (ncmd == 0 || !guest || !guest[0]) {
		fprintf(stderr, "hv-hostsim: usage: hv-hostsim [OPTIONS] COMMAND [ARGS] -- GUEST [ARGS...]\n");
		return HOSTSIM_EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "hv-hostsim: unknown command '%s' (", argv[optind]);
		for (size_t i = 0; i < ELEMENTSOF(commands); i++)
			fprintf(stderr, "%s%s", i ? ", " : "", commands[i].name);
		fprintf(stderr, ")\n");
		return HOSTSIM_EXIT_USAGE;
	}
	if (cmd->service && host_use_service(cmd->service, cmd->name) < 0)
		return HOSTSIM_EXIT_USAGE;
	if (arg_json && cmd->parse != kvp_parse && cmd->parse != vss_parse) {
		fprintf(stderr, "hv-hostsim: --json is for the kvp and vss commands only\n");
		return HOSTSIM_EXIT_USAGE;
	}
	/* Everything is checked before the guest starts. */
	if (cmd->parse(ncmd, argv + optind) < 0)
		return HOSTSIM_EXIT_USAGE;
	if (arg_transport == HOSTSIM_TRANSPORT_CHARDEV && strcmp(arg_service->name, "heartbeat") == 0) {
		fprintf(stderr, "hv-hostsim: --transport chardev: the kernel has no character device "
			"for heartbeat (use -s fcopy, kvp or vss)\n");
		return HOSTSIM_EXIT_USAGE;
	}

	if (arg_json) {
		/* JSON alone on standard output; the progress lines (and the guest's) on stderr. */
		int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);

		json_out = fd < 0 ? NULL : fdopen(fd, "w");
		if (!json_out || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
			fprintf(stderr, "hv-hostsim: cannot set up --json output: %m\n");
			return HOSTSIM_EXIT_USAGE;
		}
		setvbuf(json_out, NULL, _IOLBF, 0);
	}
	h.verbose = arg_verbose;
	h.timeout_ms = (int)(arg_timeout * 1000);
	h.busy_poll_us = arg_busy_poll;
	h.transport = arg_transport;
	h.service = arg_service->name;
	r = hostsim_start(&h, arg_ring_size, guest);
	if (r < 0) {
		fprintf(stderr, "hv-hostsim: cannot set up the channel: %s\n", strerror(-r));
		hostsim_stop(&h);
		return HOSTSIM_EXIT_NOANSWER;
	}
	if (h.transport == HOSTSIM_TRANSPORT_CHARDEV)
		printf("host: started '%s' (pid %d) on a fake hv_utils %s character device\n", guest[0],
		       (int)h.pid, arg_service->name);
	else
		printf("host: started '%s' (pid %d) on a %u-byte ring pair\n", guest[0], (int)h.pid,
		       arg_ring_size);

	r = cmd->run(&h);

	status = hostsim_stop(&h);
	if (h.end_reported) {
		/* The command ended the guest itself and judged how. */
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) {
		/* Our own SIGTERM reached it before it installed its handler. */
		printf("host: guest terminated by SIGTERM\n");
	} else if (WIFSIGNALED(status)) {
		fprintf(stderr, "hv-hostsim: the guest was killed by signal %d\n", WTERMSIG(status));
		r = HOSTSIM_EXIT_NOANSWER;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		printf("host: guest exited with status %d\n", WEXITSTATUS(status));
		if (r == HOSTSIM_EXIT_OK)
			r = HOSTSIM_EXIT_NOANSWER;
	} else {
		printf("host: guest stopped cleanly\n");
	}
	if (cmd->finish)
		cmd->finish();
	if (json_out && fclose(json_out) != 0 && r == HOSTSIM_EXIT_OK) {
		fprintf(stderr, "hv-hostsim: cannot write the JSON output: %m\n");
		r = HOSTSIM_EXIT_NOANSWER;
	}
	return r;
}
