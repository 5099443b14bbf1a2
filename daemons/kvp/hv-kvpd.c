/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-kvpd: the guest side of Hyper-V's Key-Value Pair Exchange integration
 * component, speaking the protocol on the ring itself: pools in the kernel
 * daemon's files, the AUTO pool generated, IP information reported and set.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "conf-file.h"
#include "daemon.h"
#include "kvp-auto.h"
#include "kvp-ip.h"
#include "kvp-pool.h"
#include "kvp-proto.h"
#include "log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/hv-daemons/kvp.conf"
#define DEFAULT_SCRIPTS_DIR "/usr/libexec/hypervkvpd"
#define MAX_RECORDS_LIMIT 10000000ul
#define STR(x) STR_(x)
#define STR_(x) #x

static const uint32_t fw_versions[] = { KVP_FRAMEWORK_VERSIONS };
static const uint32_t svc_versions[] = { KVP_SERVICE_VERSIONS };

enum setting {
	SET_POOL_DIR,
	SET_MAX_RECORDS,
	SET_INTEGRATION_VERSION,
	SET_OS_RELEASE,
	SET_SCRIPTS_DIR,
	SET_NETWORK_ROOT,
	SET_NETWORK_STACK,
	_SET_COUNT,
};

/* Names in kvp.conf are the long options' names. */
static const char *const setting_names[_SET_COUNT] = {
	[SET_POOL_DIR] = "pool-dir",
	[SET_MAX_RECORDS] = "max-records",
	[SET_INTEGRATION_VERSION] = "integration-version",
	[SET_OS_RELEASE] = "os-release",
	[SET_SCRIPTS_DIR] = "scripts-dir",
	[SET_NETWORK_ROOT] = "network-root",
	[SET_NETWORK_STACK] = "network-stack",
};

static char *settings[_SET_COUNT];
static bool from_command_line[_SET_COUNT];
static const char *arg_config;

static void help(void)
{
	printf("Usage: hv-kvpd [OPTIONS]\n\n"
	       "Answers the Hyper-V host's key-value pair requests from the pools in\n"
	       "POOL-DIR/.kvp_pool_0 ... _4 (the kernel daemon's files).\n\n"
	       "      --pool-dir DIR             pool files (default " KVP_DEFAULT_POOL_DIR ")\n"
	       "      --max-records N            records per pool beyond which SET of a new key\n"
	       "                                 fails (default " STR(KVP_DEFAULT_MAX_RECORDS) ")\n"
	       "      --integration-version S    IntegrationServicesVersion in the AUTO pool\n"
	       "                                 (default " KVP_DEFAULT_IS_VERSION ", what the kernel reports)\n"
	       "      --os-release FILE          read OSName and OSMajorVersion from FILE\n"
	       "                                 (default /etc/os-release, /usr/lib/os-release)\n"
	       "      --scripts-dir DIR          where hv_get_dns_info, hv_get_dhcp_info and\n"
	       "                                 hv_set_ifconfig are looked for\n"
	       "                                 (default " DEFAULT_SCRIPTS_DIR ")\n"
	       "      --network-root DIR         read and write network configuration under DIR\n"
	       "                                 instead of / (for tests)\n"
	       "      --network-stack NAME       networkmanager, networkd, ifupdown, none or\n"
	       "                                 auto (default: detect the one in use)\n"
	       "      --config FILE              configuration file (default " DEFAULT_CONFIG ")\n");
	daemon_common_help(stdout);
	printf("\nSee hv-kvpd(8).\n");
}

static int check_setting(enum setting s, const char *value, const char *where)
{
	unsigned long v;

	switch (s) {
	case SET_MAX_RECORDS:
		if (parse_unsigned(value, MAX_RECORDS_LIMIT, &v) < 0 || v == 0)
			return log_error_errno(-EINVAL, "%s: invalid max-records '%s' (1 to %lu)", where, value,
					       MAX_RECORDS_LIMIT);
		return 0;
	case SET_NETWORK_STACK:
		if (strcmp(value, "networkmanager") && strcmp(value, "networkd") && strcmp(value, "ifupdown") &&
		    strcmp(value, "none") && strcmp(value, "auto"))
			return log_error_errno(-EINVAL, "%s: unknown network stack '%s' (networkmanager, networkd, "
					       "ifupdown, none or auto)", where, value);
		return 0;
	case SET_INTEGRATION_VERSION:
		if (strlen(value) > 255)
			return log_error_errno(-EINVAL, "%s: integration-version is too long", where);
		return 0;
	default:
		if (value[0] != '/' && s != SET_NETWORK_ROOT)
			return log_error_errno(-EINVAL, "%s: %s must be an absolute path", where, setting_names[s]);
		return 0;
	}
}

static int set(enum setting s, const char *value, const char *where, bool cli)
{
	char *copy;
	int r;

	if (!cli && from_command_line[s])
		return 0; /* the command line wins */
	r = check_setting(s, value, where);
	if (r < 0)
		return r;
	copy = strdup(value);
	if (!copy)
		return log_error_errno(-ENOMEM, "out of memory");
	free(settings[s]);
	settings[s] = copy;
	from_command_line[s] = cli;
	return 0;
}

static int config_setting(const char *key, const char *value, const char *where, void *userdata)
{
	(void)userdata;
	for (int s = 0; s < _SET_COUNT; s++)
		if (strcmp(key, setting_names[s]) == 0)
			return set((enum setting)s, value, where, false);
	return log_error_errno(-EINVAL, "%s: unknown key '%s'", where, key);
}

/* The environment of the protocol logic: the real system. */
struct env {
	struct kvp_auto_config auto_cfg;
	struct kvp_ip_config ip_cfg;
};

static int env_auto_value(void *userdata, unsigned index, char *buf, size_t size)
{
	struct env *e = userdata;

	return kvp_auto_value(&e->auto_cfg, index, buf, size);
}

static uint32_t env_ip_get(void *userdata, const struct kvp_ip_info *in, struct kvp_ip_info *out)
{
	struct env *e = userdata;

	return kvp_ip_get(&e->ip_cfg, in, out);
}

static uint32_t env_ip_set(void *userdata, const struct kvp_ip_info *in)
{
	struct env *e = userdata;

	return kvp_ip_set(&e->ip_cfg, in);
}

static const struct kvp_env_ops env_ops = {
	.auto_value = env_auto_value,
	.ip_get = env_ip_get,
	.ip_set = env_ip_set,
};

static uint32_t handle(struct ic_service *svc, const struct vmbus_ic_header *hdr, uint8_t *msg, size_t len)
{
	(void)hdr;
	/* ic_service_process() checked len >= VMBUS_IC_HDR_LEN. */
	return kvp_message(svc->userdata, msg + VMBUS_IC_HDR_LEN, len - VMBUS_IC_HDR_LEN);
}

static int run(int argc, char **argv)
{
	enum { OPT_CONFIG = 0x200, OPT_SETTING = 0x300 };
	static const struct option options[] = {
		DAEMON_COMMON_OPTIONS,
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "pool-dir", required_argument, NULL, OPT_SETTING + SET_POOL_DIR },
		{ "max-records", required_argument, NULL, OPT_SETTING + SET_MAX_RECORDS },
		{ "integration-version", required_argument, NULL, OPT_SETTING + SET_INTEGRATION_VERSION },
		{ "os-release", required_argument, NULL, OPT_SETTING + SET_OS_RELEASE },
		{ "scripts-dir", required_argument, NULL, OPT_SETTING + SET_SCRIPTS_DIR },
		{ "network-root", required_argument, NULL, OPT_SETTING + SET_NETWORK_ROOT },
		{ "network-stack", required_argument, NULL, OPT_SETTING + SET_NETWORK_STACK },
		{}
	};
	struct daemon_common c = { .program = "hv-kvpd", .class_guid = VMBUS_CLASS_KVP };
	struct kvp_pools_config pcfg = { 0 };
	struct kvp_pools *pools = NULL;
	struct env env = { 0 };
	struct kvp k = { .ops = &env_ops, .env = &env };
	struct ic_service svc = {
		.name = "kvp",
		.msgtype = VMBUS_IC_MSGTYPE_KVPEXCHANGE,
		.fw = fw_versions,
		.n_fw = ELEMENTSOF(fw_versions),
		.svc = svc_versions,
		.n_svc = ELEMENTSOF(svc_versions),
		.handler = handle,
		.userdata = &k,
	};
	struct daemon_transport t;
	int opt, r;

	log_setup("hv-kvpd");
	/* Helper programs are waited for: an inherited SIG_IGN would make waitpid() fail. */
	signal(SIGCHLD, SIG_DFL);
	while ((opt = getopt_long(argc, argv, DAEMON_COMMON_SHORTOPTS, options, NULL)) >= 0) {
		r = daemon_common_option(&c, opt, optarg, help);
		if (r == 2)
			return 0;
		if (r == 1)
			continue;
		if (opt == OPT_CONFIG) {
			arg_config = optarg;
		} else if (opt >= OPT_SETTING && opt < OPT_SETTING + _SET_COUNT) {
			char where[64];

			snprintf(where, sizeof(where), "--%s", setting_names[opt - OPT_SETTING]);
			r = set((enum setting)(opt - OPT_SETTING), optarg, where, true);
			if (r < 0)
				return r;
		} else {
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "unexpected argument '%s'", argv[optind]);
	r = config_parse_file(arg_config ? arg_config : DEFAULT_CONFIG, arg_config != NULL, config_setting, NULL);
	if (r < 0)
		return r;

	pcfg.dir = settings[SET_POOL_DIR] ? settings[SET_POOL_DIR] : KVP_DEFAULT_POOL_DIR;
	pcfg.max_records = settings[SET_MAX_RECORDS] ? (unsigned)strtoul(settings[SET_MAX_RECORDS], NULL, 10) : 0;
	env.auto_cfg.integration_version = settings[SET_INTEGRATION_VERSION];
	env.auto_cfg.os_release = settings[SET_OS_RELEASE];
	env.ip_cfg.sysfs_root = c.sysfs_root ? c.sysfs_root : "/sys";
	env.ip_cfg.config_root = settings[SET_NETWORK_ROOT];
	env.ip_cfg.state_dir = pcfg.dir;
	env.ip_cfg.scripts_dir = settings[SET_SCRIPTS_DIR] ? settings[SET_SCRIPTS_DIR] : DEFAULT_SCRIPTS_DIR;
	env.ip_cfg.stack = settings[SET_NETWORK_STACK] && strcmp(settings[SET_NETWORK_STACK], "auto")
				   ? settings[SET_NETWORK_STACK]
				   : NULL;

	/* The pools exist before READY=1: cloud-init, ordered after us, appends to pool 1. */
	r = kvp_pools_open(&pcfg, &pools);
	if (r < 0) {
		log_error_errno(r, "cannot open the pools in '%s': %m", pcfg.dir);
		goto out;
	}
	k.pools = pools;
	log_info("serving the pools in '%s'", pcfg.dir);

	c.chardev_name = "hv_kvp";
	c.chardev_ops = &kvp_chardev_ops;
	c.chardev_userdata = &k;
	r = daemon_open(&c, &t);
	if (r >= 0) {
		r = daemon_serve(&c, &t, &svc);
		sd_notify(0, "STOPPING=1");
		daemon_close(&t);
	}
out:
	kvp_pools_free(pools);
	for (int s = 0; s < _SET_COUNT; s++)
		free(settings[s]);
	return r;
}

int main(int argc, char **argv)
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
