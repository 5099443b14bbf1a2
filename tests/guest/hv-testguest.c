/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-testguest: a guest endpoint built on libvmbus and the daemon skeleton,
 * for the demonstration and the harness tests. It serves the Heartbeat IC
 * (the host sends a sequence number, the guest answers it plus one), or, with
 * --msgtype, negotiates any version lists and answers other messages with
 * --status.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "versions.h"

/* The Heartbeat IC body (include/linux/hyperv.h: struct heartbeat_msg_data). */
struct heartbeat_msg {
	uint64_t seq_num;
	uint32_t reserved[8];
} __attribute__((packed));

static uint32_t arg_fw[VMBUS_IC_MAX_VERSIONS] = { VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0) };
static uint32_t arg_svc[VMBUS_IC_MAX_VERSIONS] = { VMBUS_IC_VERSION(3, 0), VMBUS_IC_VERSION(1, 0) };
static size_t arg_n_fw = 2, arg_n_svc = 2;
static int arg_msgtype = VMBUS_IC_MSGTYPE_HEARTBEAT;
static uint32_t arg_status = VMBUS_HV_S_OK;

static void help(void)
{
	printf("Usage: hv-testguest [OPTIONS]\n\n"
	       "A libvmbus guest endpoint: Heartbeat IC by default.\n\n"
	       "      --framework-versions LIST  versions to accept, preference order (default 3.0,1.0)\n"
	       "      --service-versions LIST    (default 3.0,1.0)\n"
	       "      --msgtype N                serve IC message type N instead of Heartbeat (1)\n"
	       "      --status HEX               status for messages of another service (default 0)\n");
	daemon_common_help(stdout);
}

static uint32_t handle(struct ic_service *svc, const struct vmbus_ic_header *hdr, uint8_t *msg,
		       size_t len)
{
	struct heartbeat_msg hb;

	if (hdr->msgtype != VMBUS_IC_MSGTYPE_HEARTBEAT)
		return arg_status;
	if (len < VMBUS_IC_HDR_LEN + sizeof(hb.seq_num)) {
		log_warning("heartbeat: %zu-byte message too short", len);
		return VMBUS_HV_E_FAIL;
	}
	memcpy(&hb.seq_num, msg + VMBUS_IC_HDR_LEN, sizeof(hb.seq_num));
	log_debug("heartbeat %llu", (unsigned long long)hb.seq_num);
	hb.seq_num++;
	memcpy(msg + VMBUS_IC_HDR_LEN, &hb.seq_num, sizeof(hb.seq_num));
	return VMBUS_HV_S_OK;
}

static int run(int argc, char **argv)
{
	static const struct option options[] = {
		DAEMON_COMMON_OPTIONS,
		{ "framework-versions", required_argument, NULL, 'F' },
		{ "service-versions", required_argument, NULL, 'S' },
		{ "msgtype", required_argument, NULL, 'M' },
		{ "status", required_argument, NULL, 'T' },
		{}
	};
	struct daemon_common c = { .program = "hv-testguest", .class_guid = VMBUS_CLASS_HEARTBEAT };
	struct ic_service svc = { .name = "testguest", .handler = handle };
	struct vmbus_channel *ch = NULL;
	char *end;
	int opt, r;

	log_setup("hv-testguest");
	while ((opt = getopt_long(argc, argv, DAEMON_COMMON_SHORTOPTS, options, NULL)) >= 0) {
		r = daemon_common_option(&c, opt, optarg, help);
		if (r == 2)
			return 0;
		if (r == 1)
			continue;
		switch (opt) {
		case 'F':
		case 'S':
			r = ic_versions_parse(optarg, opt == 'F' ? arg_fw : arg_svc, VMBUS_IC_MAX_VERSIONS);
			if (r < 0)
				return log_error_errno(r, "Invalid version list '%s'", optarg);
			*(opt == 'F' ? &arg_n_fw : &arg_n_svc) = (size_t)r;
			break;
		case 'M':
			errno = 0;
			arg_msgtype = (int)strtol(optarg, &end, 0);
			if (errno || *end || arg_msgtype < 0 || arg_msgtype > 0xffff)
				return log_error_errno(-EINVAL, "Invalid --msgtype '%s'", optarg);
			break;
		case 'T':
			errno = 0;
			arg_status = (uint32_t)strtoul(optarg, &end, 16);
			if (errno || *end)
				return log_error_errno(-EINVAL, "Invalid --status '%s'", optarg);
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "Unexpected argument '%s'", argv[optind]);

	svc.msgtype = (uint16_t)arg_msgtype;
	svc.fw = arg_fw;
	svc.n_fw = arg_n_fw;
	svc.svc = arg_svc;
	svc.n_svc = arg_n_svc;
	r = daemon_open_channel(&c, &ch);
	if (r < 0)
		return r;
	r = daemon_run(&c, ch, &svc);
	vmbus_channel_close(ch);
	return r;
}

int main(int argc, char **argv)
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
