/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-fcopyd: the guest side of Hyper-V's Guest Service Interface, the File
 * Copy integration component that PowerShell Copy-VMFile talks to.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "conf-file.h"
#include "daemon.h"
#include "fcopy-proto.h"
#include "fcopy-sink.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/hv-daemons/fcopy.conf"
#define DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/hv-fcopyd"
#define MAX_ALLOW 64
/* Long enough for the host's next fragment to arrive without a wake-up on either side. */
#define DEFAULT_BUSY_POLL_US 100
#define STR(x) STR_(x)
#define STR_(x) #x

static const uint32_t fw_versions[] = { FCOPY_FRAMEWORK_VERSION };
static const uint32_t svc_versions[] = { FCOPY_SERVICE_VERSION };

static char *arg_allow[MAX_ALLOW];
static size_t arg_n_allow;
static mode_t arg_mode = 0644;
static bool arg_mode_set;
static const char *arg_config;
static const char *arg_state_dir = DEFAULT_STATE_DIR;
static unsigned arg_busy_poll = DEFAULT_BUSY_POLL_US;

static void help(void)
{
	printf("Usage: hv-fcopyd [OPTIONS]\n\n"
	       "Receives files the Hyper-V host sends with Copy-VMFile.\n\n"
	       "      --allow DIR         accept only targets inside DIR (repeatable; default: any\n"
	       "                          absolute path, as Hyper-V intends)\n"
	       "      --mode OCTAL        mode of received files (default 0644)\n"
	       "      --config FILE       configuration file (default " DEFAULT_CONFIG ")\n"
	       "      --state-dir DIR     where an interrupted transfer is recorded\n"
	       "                          (default " DEFAULT_STATE_DIR ")\n"
	       "      --busy-poll USEC    after a message, watch the ring this long before\n"
	       "                          sleeping (default " STR(DEFAULT_BUSY_POLL_US) "; 0: never)\n");
	daemon_common_help(stdout);
	printf("\nSee hv-fcopyd(8).\n");
}

static int parse_mode(const char *s, mode_t *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 07777)
		return -EINVAL;
	*ret = (mode_t)v;
	return 0;
}

static int add_allow(const char *dir, const char *where)
{
	char *real;

	if (arg_n_allow >= MAX_ALLOW)
		return log_error_errno(-E2BIG, "%s: more than %d allowed directories", where, MAX_ALLOW);
	if (dir[0] != '/')
		return log_error_errno(-EINVAL, "%s: allowed directory '%s' is not absolute", where, dir);
	real = realpath(dir, NULL);
	if (!real)
		return log_error_errno(errno, "%s: allowed directory '%s': %m", where, dir);
	arg_allow[arg_n_allow++] = real;
	return 0;
}

/* Keys of fcopy.conf: allow (repeatable), mode. */
static int config_setting(const char *key, const char *value, const char *where, void *userdata)
{
	(void)userdata;
	if (strcmp(key, "allow") == 0)
		return add_allow(value, where);
	if (strcmp(key, "mode") == 0) {
		if (arg_mode_set)
			return 0; /* the command line wins */
		if (parse_mode(value, &arg_mode) < 0)
			return log_error_errno(-EINVAL, "%s: invalid mode '%s'", where, value);
		return 0;
	}
	return log_error_errno(-EINVAL, "%s: unknown key '%s'", where, key);
}

static uint32_t handle(struct ic_service *svc, const struct vmbus_ic_header *hdr, uint8_t *msg, size_t len)
{
	(void)hdr;
	/* ic_service_process() checked len >= VMBUS_IC_HDR_LEN. */
	return fcopy_message(svc->userdata, msg + VMBUS_IC_HDR_LEN, len - VMBUS_IC_HDR_LEN);
}

static int run(int argc, char **argv)
{
	enum { OPT_ALLOW = 0x200, OPT_MODE, OPT_CONFIG, OPT_STATE_DIR, OPT_BUSY_POLL };
	static const struct option options[] = {
		DAEMON_COMMON_OPTIONS,
		{ "allow", required_argument, NULL, OPT_ALLOW },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "busy-poll", required_argument, NULL, OPT_BUSY_POLL },
		{}
	};
	struct daemon_common c = { .program = "hv-fcopyd", .class_guid = VMBUS_CLASS_FCOPY };
	struct fcopy_sink_config cfg = { 0 };
	struct fcopy_sink *sink = NULL;
	struct fcopy f = { .ops = &fcopy_file_sink_ops };
	struct ic_service svc = {
		.name = "fcopy",
		.msgtype = VMBUS_IC_MSGTYPE_FCOPY,
		.fw = fw_versions,
		.n_fw = ELEMENTSOF(fw_versions),
		.svc = svc_versions,
		.n_svc = ELEMENTSOF(svc_versions),
		.handler = handle,
		.userdata = &f,
	};
	struct daemon_transport t;
	const char *e;
	int opt, r;

	log_setup("hv-fcopyd");
	while ((opt = getopt_long(argc, argv, DAEMON_COMMON_SHORTOPTS, options, NULL)) >= 0) {
		r = daemon_common_option(&c, opt, optarg, help);
		if (r == 2)
			return 0;
		if (r == 1)
			continue;
		switch (opt) {
		case OPT_ALLOW:
			r = add_allow(optarg, "--allow");
			if (r < 0)
				return r;
			break;
		case OPT_MODE:
			if (parse_mode(optarg, &arg_mode) < 0)
				return log_error_errno(-EINVAL, "invalid --mode '%s' (octal, e.g. 0644)", optarg);
			arg_mode_set = true;
			break;
		case OPT_CONFIG:
			arg_config = optarg;
			break;
		case OPT_STATE_DIR:
			arg_state_dir = optarg;
			break;
		case OPT_BUSY_POLL: {
			unsigned long v;

			if (parse_unsigned(optarg, 1000000, &v) < 0)
				return log_error_errno(-EINVAL, "invalid --busy-poll '%s' (0 to 1000000)", optarg);
			arg_busy_poll = (unsigned)v;
			break;
		}
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "unexpected argument '%s'", argv[optind]);
	r = config_parse_file(arg_config ? arg_config : DEFAULT_CONFIG, arg_config != NULL, config_setting, NULL);
	if (r < 0)
		return r;

	cfg.mode = arg_mode;
	cfg.allow = arg_allow;
	cfg.n_allow = arg_n_allow;
	e = secure_getenv("HV_FCOPYD_NO_TMPFILE");
	cfg.no_tmpfile = e && strcmp(e, "1") == 0;
	if (arg_state_dir && mkdir(arg_state_dir, 0700) < 0 && errno != EEXIST) {
		log_warning_errno(errno, "cannot create state directory '%s' (%m): a transfer interrupted "
				  "by a crash may leave a hidden temporary file", arg_state_dir);
		arg_state_dir = NULL;
	}
	cfg.state_dir = arg_state_dir;
	fcopy_sink_recover(arg_state_dir);
	for (size_t i = 0; i < arg_n_allow; i++)
		log_info("accepting files only inside '%s'", arg_allow[i]);

	r = fcopy_sink_new(&cfg, &sink);
	if (r < 0)
		return log_error_errno(r, "cannot set up: %m");
	f.sink = sink;
	c.chardev_name = "hv_fcopy";
	c.chardev_ops = &fcopy_chardev_ops;
	c.chardev_userdata = &f;
	r = daemon_open(&c, &t);
	/* Busy polling is for the ring; the character device blocks in read(). */
	if (r >= 0 && t.ch) {
		r = vmbus_channel_set_busy_poll(t.ch, arg_busy_poll);
		if (r < 0)
			daemon_close(&t);
	}
	if (r >= 0) {
		r = daemon_serve(&c, &t, &svc);
		sd_notify(0, "STOPPING=1");
		fcopy_abort(&f, r == -EIO ? "the host removed the device" : "the daemon is stopping");
		daemon_close(&t);
	}
	fcopy_sink_free(sink);
	for (size_t i = 0; i < arg_n_allow; i++)
		free(arg_allow[i]);
	return r;
}

int main(int argc, char **argv)
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
