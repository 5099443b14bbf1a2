/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-vssd: the guest side of Hyper-V's Backup (volume shadow copy)
 * integration component: freeze the guest's filesystems for the host's
 * snapshot, thaw them after, and never leave one frozen.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "conf-file.h"
#include "daemon.h"
#include "log.h"
#include "vss-freeze.h"
#include "vss-hooks.h"
#include "vss-proto.h"

#define DEFAULT_CONFIG SYSCONFDIR "/hv-daemons/vss.conf"
#define DEFAULT_HOOK_DIR SYSCONFDIR "/hv-daemons/vss-hooks.d"
#define DEFAULT_RUNTIME_DIR RUNSTATEDIR "/hv-vssd"
#define DEFAULT_THAW_TIMEOUT 60
#define MAX_THAW_TIMEOUT 900 /* the kernel's VSS_FREEZE_TIMEOUT: no host waits longer */
#define GUARD_SLACK_MS 2000  /* the freezer's guard thaws this long after the auto-thaw deadline */
#define DEFAULT_HOOK_TIMEOUT 30
#define MAX_HOOK_TIMEOUT 600
#define MAX_LIST 256
#define STR(x) STR_(x)
#define STR_(x) #x

static const uint32_t fw_versions[] = { VSS_FRAMEWORK_VERSION };
static const uint32_t svc_versions[] = { VSS_SERVICE_VERSION };

struct list {
	char *items[MAX_LIST];
	size_t n;
	bool from_command_line;
};

static struct list arg_include, arg_exclude;
static char *arg_hook_dir, *arg_runtime_dir;
static unsigned arg_thaw_timeout = DEFAULT_THAW_TIMEOUT, arg_hook_timeout = DEFAULT_HOOK_TIMEOUT;
static bool set_hook_dir, set_runtime_dir, set_thaw_timeout, set_hook_timeout;
static const char *arg_config;
static bool arg_recover_only;

static void help(void)
{
	printf("Usage: hv-vssd [OPTIONS]\n\n"
	       "Freezes the guest's filesystems when the Hyper-V host takes a backup or a\n"
	       "production checkpoint, and thaws them after.\n\n"
	       "      --include MOUNT         freeze exactly these mount points (repeatable;\n"
	       "                              default: every writable block-device filesystem\n"
	       "                              except vfat and loop-backed ones)\n"
	       "      --exclude MOUNT         never freeze this mount point (repeatable)\n"
	       "      --hook-dir DIR          freeze hooks (default " DEFAULT_HOOK_DIR ")\n"
	       "      --hook-timeout SEC      time each hook may take (default " STR(DEFAULT_HOOK_TIMEOUT)
	       ", at most " STR(MAX_HOOK_TIMEOUT) ")\n"
	       "      --thaw-timeout SEC      thaw by itself when THAW has not come this long\n"
	       "                              after FREEZE (default " STR(DEFAULT_THAW_TIMEOUT) ", at most "
	       STR(MAX_THAW_TIMEOUT) ")\n"
	       "      --runtime-dir DIR       where the list of frozen filesystems is kept while\n"
	       "                              frozen (default " DEFAULT_RUNTIME_DIR "; never frozen)\n"
	       "      --config FILE           configuration file (default " DEFAULT_CONFIG ")\n"
	       "      --recover               thaw what a killed instance left frozen (the marker\n"
	       "                              in the runtime directory), then exit\n");
	daemon_common_help(stdout);
	printf("\nSee hv-vssd(8).\n");
}

static int add_list(struct list *l, const char *value, const char *where, bool cli)
{
	char *copy;
	size_t n;

	if (!cli && l->from_command_line)
		return 0; /* the command line's list wins */
	if (cli && !l->from_command_line) {
		for (size_t i = 0; i < l->n; i++)
			free(l->items[i]);
		l->n = 0;
		l->from_command_line = true;
	}
	if (value[0] != '/')
		return log_error_errno(-EINVAL, "%s: '%s' is not an absolute mount point", where, value);
	if (l->n >= MAX_LIST)
		return log_error_errno(-E2BIG, "%s: more than %d mount points", where, MAX_LIST);
	copy = strdup(value);
	if (!copy)
		return log_error_errno(-ENOMEM, "out of memory");
	/* "/mnt/x/" is "/mnt/x". */
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	l->items[l->n++] = copy;
	return 0;
}

static int set_seconds(unsigned *out, bool *set, const char *value, unsigned max, const char *where, bool cli)
{
	unsigned long v;

	if (!cli && *set)
		return 0;
	if (parse_unsigned(value, max, &v) < 0 || v == 0)
		return log_error_errno(-EINVAL, "%s: invalid number of seconds '%s' (1 to %u)", where, value, max);
	*out = (unsigned)v;
	*set = cli;
	return 0;
}

static int set_path(char **out, bool *set, const char *value, const char *where, bool cli)
{
	char *copy;

	if (!cli && *set)
		return 0;
	if (value[0] != '/')
		return log_error_errno(-EINVAL, "%s: '%s' is not an absolute path", where, value);
	copy = strdup(value);
	if (!copy)
		return log_error_errno(-ENOMEM, "out of memory");
	free(*out);
	*out = copy;
	*set = cli;
	return 0;
}

static int setting(const char *key, const char *value, const char *where, bool cli)
{
	if (strcmp(key, "include") == 0)
		return add_list(&arg_include, value, where, cli);
	if (strcmp(key, "exclude") == 0)
		return add_list(&arg_exclude, value, where, cli);
	if (strcmp(key, "hook-dir") == 0)
		return set_path(&arg_hook_dir, &set_hook_dir, value, where, cli);
	if (strcmp(key, "runtime-dir") == 0)
		return set_path(&arg_runtime_dir, &set_runtime_dir, value, where, cli);
	if (strcmp(key, "thaw-timeout") == 0)
		return set_seconds(&arg_thaw_timeout, &set_thaw_timeout, value, MAX_THAW_TIMEOUT, where, cli);
	if (strcmp(key, "hook-timeout") == 0)
		return set_seconds(&arg_hook_timeout, &set_hook_timeout, value, MAX_HOOK_TIMEOUT, where, cli);
	return log_error_errno(-EINVAL, "%s: unknown key '%s'", where, key);
}

static int config_setting(const char *key, const char *value, const char *where, void *userdata)
{
	(void)userdata;
	return setting(key, value, where, false);
}

/* The daemon's state around the freezer: hooks, the auto-thaw deadline. */
#define THAW_RETRY_USEC 1000000u

struct state {
	struct vss_freezer *freezer;
	struct vss_hooks hooks;
	const char *hook_arg;         /* what the hooks are owed once all is thawed */
	sd_event_source *deadline;    /* the auto-thaw deadline, while frozen */
	sd_event_source *retry;       /* a thaw failed for some filesystem: try again */
	sd_event_source *hooks_later; /* the hooks' "thaw", run once THAW is answered */
	bool auto_thawed; /* the deadline thawed: the next THAW is late, and fine */
	unsigned long n_auto_thaws;
};

/* The hooks' "thaw" (or "freeze-fail"), now, if still owed. */
static void run_thaw_hooks(struct state *s)
{
	s->hooks_later = sd_event_source_disable_unref(s->hooks_later);
	vss_hooks_end(&s->hooks, s->hook_arg ? s->hook_arg : "thaw");
	s->hook_arg = NULL;
}

static int on_hooks_later(sd_event_source *src, void *userdata)
{
	struct state *s = userdata;

	sd_event_source_ref(src);
	run_thaw_hooks(s);
	sd_event_source_unref(src);
	return 0;
}

static void status_thawed(const struct state *s)
{
	sd_notifyf(0, "STATUS=Thawed%s", s->n_auto_thaws ? " (the last freeze was ended by the auto-thaw deadline)" : "");
}

static uint32_t thaw(struct state *s, const char *why, const char *hook_arg, bool later);

static int on_retry(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct state *s = userdata;

	(void)usec;
	sd_event_source_ref(src);
	(void)thaw(s, "retrying a failed thaw", NULL, false);
	sd_event_source_unref(src);
	return 0;
}

/* Some filesystem is still frozen after a thaw failed: try again every second, loudly. */
static void arm_retry(struct state *s)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	uint64_t now;

	sd_notifyf(0, "STATUS=Thaw failed: %zu filesystem(s) still frozen; retrying every second",
		   vss_freezer_count(s->freezer));
	if (sd_event_default(&e) < 0 || sd_event_now(e, CLOCK_MONOTONIC, &now) < 0)
		return;
	if (s->retry) {
		(void)sd_event_source_set_time(s->retry, now + THAW_RETRY_USEC);
		(void)sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
		return;
	}
	if (sd_event_add_time(e, &s->retry, CLOCK_MONOTONIC, now + THAW_RETRY_USEC, 0, on_retry, s) < 0)
		log_error("vss: cannot schedule another thaw attempt; the next THAW or restart will retry");
}

/*
 * Thaw everything frozen. Once nothing is frozen any more, the hooks get
 * what they are owed ("thaw", or "freeze-fail" when a freeze is being
 * undone): at once, or, with later, after the host's THAW was answered (a
 * slow hook must not make the host's THAW time out). While some filesystem
 * stays frozen (its FITHAW failed), the thaw is retried every second and the
 * hooks wait: one of them could write to it. Returns a VMBUS_HV_* status.
 */
static uint32_t thaw(struct state *s, const char *why, const char *hook_arg, bool later)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	int r = 0;

	s->deadline = sd_event_source_disable_unref(s->deadline);
	if (hook_arg)
		s->hook_arg = hook_arg;
	if (vss_freezer_frozen(s->freezer)) {
		r = vss_thaw_all(s->freezer);
		if (r < 0)
			log_error_errno(r, "vss: thaw (%s) failed for some filesystem: %m", why);
		else
			log_info("vss: thawed (%s)", why);
		if (vss_freezer_frozen(s->freezer)) {
			arm_retry(s);
			return VMBUS_HV_E_FAIL;
		}
		status_thawed(s);
	}
	/* Nothing frozen (also after the freezer's guard thawed): core dumps are harmless again. */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	s->retry = sd_event_source_disable_unref(s->retry);
	if (s->hooks.n) {
		if (later && !s->hooks_later && sd_event_default(&e) >= 0 &&
		    sd_event_add_defer(e, &s->hooks_later, on_hooks_later, s) >= 0)
			return r < 0 ? VMBUS_HV_E_FAIL : VMBUS_HV_S_OK;
		run_thaw_hooks(s);
	}
	return r < 0 ? VMBUS_HV_E_FAIL : VMBUS_HV_S_OK;
}

static int on_deadline(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct state *s = userdata;

	(void)usec;
	if (vss_freezer_take_guard_thawed(s->freezer))
		log_error("vss: the freezer's guard had already thawed everything: this loop was blocked past the "
			  "auto-thaw deadline");
	/* thaw() drops the source, which is this one: keep it alive until we return. */
	sd_event_source_ref(src);
	(void)thaw(s, "auto-thaw deadline", "thaw", false);
	sd_event_source_unref(src);
	s->auto_thawed = true;
	s->n_auto_thaws++;
	log_error("vss: THAW did not come within %u s after FREEZE: every filesystem was thawed by the "
		  "deadline; the host's backup may not be consistent (see --thaw-timeout)", arg_thaw_timeout);
	if (!vss_freezer_frozen(s->freezer))
		status_thawed(s);
	return 0;
}

/* A signal that ends the daemon is waiting (blocked) for the loop. */
static bool stop_pending(void)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return false;
	return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1 ||
	       sigismember(&pending, SIGHUP) == 1 || sigismember(&pending, SIGQUIT) == 1;
}

static uint32_t op_freeze(void *userdata)
{
	struct state *s = userdata;
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	uint64_t now;
	int r;

	/* The guard thawed the last freeze and no THAW came: settle it (hooks owed) first. */
	if (vss_freezer_take_guard_thawed(s->freezer)) {
		log_error("vss: the freezer's guard thawed the last freeze (its THAW never came and the auto-thaw "
			  "deadline was missed)");
		(void)thaw(s, "the freezer's guard", "thaw", false);
		s->n_auto_thaws++;
	}
	if (vss_freezer_frozen(s->freezer)) {
		if (s->retry) {
			/* What is still frozen is what a thaw could not thaw: not a snapshot state. */
			if (thaw(s, "FREEZE while an earlier thaw is incomplete", NULL, false) != VMBUS_HV_S_OK) {
				log_error("vss: FREEZE refused: %zu filesystem(s) could not be thawed since the last "
					  "backup", vss_freezer_count(s->freezer));
				return VMBUS_HV_E_FAIL;
			}
		} else {
			log_info("vss: FREEZE while frozen: nothing more to do");
			return VMBUS_HV_S_OK;
		}
	}
	/* The previous thaw's hooks first, if a FREEZE came right behind its THAW. */
	if (s->hooks_later)
		run_thaw_hooks(s);
	s->auto_thawed = false;
	r = vss_hooks_freeze(&s->hooks, arg_hook_dir, (int)arg_hook_timeout * 1000);
	if (r < 0) {
		status_thawed(s);
		return VMBUS_HV_E_FAIL;
	}
	/*
	 * A stop request that came while the hooks ran (the signal waits,
	 * blocked, for the loop): do not freeze only to thaw at once, after the
	 * host was told it worked.
	 */
	if (stop_pending()) {
		log_warning("vss: stopping: FREEZE refused");
		vss_hooks_end(&s->hooks, "freeze-fail");
		return VMBUS_HV_E_FAIL;
	}
	/* No core dump while frozen: writing it could block on a frozen filesystem. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	r = vss_freeze_all(s->freezer);
	if (r < 0) {
		s->hook_arg = "freeze-fail";
		if (vss_freezer_frozen(s->freezer)) {
			/* The rollback could not thaw everything: keep trying; the hooks wait. */
			arm_retry(s);
			return VMBUS_HV_E_FAIL;
		}
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		run_thaw_hooks(s);
		status_thawed(s);
		return VMBUS_HV_E_FAIL;
	}
	/* The loop is the one daemon_serve() runs (sd_event_default() is per thread). */
	r = sd_event_default(&e);
	if (r >= 0)
		r = sd_event_now(e, CLOCK_MONOTONIC, &now);
	if (r >= 0)
		r = sd_event_add_time(e, &s->deadline, CLOCK_MONOTONIC, now + (uint64_t)arg_thaw_timeout * 1000000u,
				      0, on_deadline, s);
	if (r < 0) {
		/* Without the deadline a lost THAW would leave the guest frozen: refuse instead. */
		(void)thaw(s, "the auto-thaw deadline could not be set", "freeze-fail", false);
		return VMBUS_HV_E_FAIL;
	}
	sd_notifyf(0, "STATUS=Frozen: %zu filesystem(s); thawed by itself in %u s without THAW",
		   vss_freezer_count(s->freezer), arg_thaw_timeout);
	return VMBUS_HV_S_OK;
}

static uint32_t op_thaw(void *userdata)
{
	struct state *s = userdata;

	/* The freezer's guard thawed everything (this loop was blocked past the deadline): an auto-thaw. */
	if (vss_freezer_take_guard_thawed(s->freezer)) {
		log_error("vss: THAW did not come within %u s after FREEZE, and the auto-thaw deadline was missed: "
			  "the freezer's guard thawed every filesystem; the host's backup may not be consistent",
			  arg_thaw_timeout);
		(void)thaw(s, "the freezer's guard", "thaw", true);
		s->auto_thawed = true;
		s->n_auto_thaws++;
		status_thawed(s);
	}
	if (!vss_freezer_frozen(s->freezer)) {
		if (s->auto_thawed)
			log_warning("vss: THAW after the auto-thaw deadline had already thawed everything: answered "
				    "success");
		else
			log_info("vss: THAW while thawed: nothing to do");
		s->auto_thawed = false;
		return VMBUS_HV_S_OK;
	}
	return thaw(s, "THAW from the host", "thaw", true);
}

static const struct vss_ops ops = {
	.freeze = op_freeze,
	.thaw = op_thaw,
};

/* Thaw what a previous instance left frozen, as its marker in dir lists. */
static int recover(const char *dir)
{
	char marker[4096];
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "cannot create the runtime directory '%s': %m", dir);
	if ((size_t)snprintf(marker, sizeof(marker), "%s/frozen", dir) >= sizeof(marker))
		return log_error_errno(-ENAMETOOLONG, "runtime directory path too long");
	r = vss_recover(marker);
	if (r < 0)
		return log_error_errno(r, "vss: could not thaw everything a previous instance left frozen (listed "
				       "in '%s'): %m", marker);
	if (r > 0)
		log_warning("vss: thawed %d filesystem(s) a previous instance left frozen", r);
	return 0;
}

static uint32_t handle(struct ic_service *svc, const struct vmbus_ic_header *hdr, uint8_t *msg, size_t len)
{
	(void)hdr;
	/*
	 * Bounded by the packet, as the kernel's hv_utils does, not by the
	 * host's icmsgsize: the packet is padded to 8 bytes, so a body of fewer
	 * than 4 bytes arrives padded with zeros.
	 */
	return vss_message(svc->userdata, msg + VMBUS_IC_HDR_LEN, len - VMBUS_IC_HDR_LEN);
}

/*
 * The character device is about to be reopened (a read or write error: the
 * kernel does this around hibernation, after a fake THAW): never go on
 * frozen. A thaw that fails ends the daemon (it retries on its way out).
 */
static int chardev_reset(void *userdata, const char *why)
{
	struct vss *v = userdata;
	struct state *s = v->userdata;

	if (thaw(s, why, "thaw", false) != VMBUS_HV_S_OK || vss_freezer_frozen(s->freezer))
		return log_error_errno(-EIO, "vss: cannot thaw before reopening the device");
	return 0;
}

static int run(int argc, char **argv)
{
	enum { OPT_CONFIG = 0x200, OPT_RECOVER, OPT_INCLUDE, OPT_EXCLUDE, OPT_HOOK_DIR, OPT_HOOK_TIMEOUT, OPT_THAW_TIMEOUT,
	       OPT_RUNTIME_DIR };
	static const struct option options[] = {
		DAEMON_COMMON_OPTIONS,
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "recover", no_argument, NULL, OPT_RECOVER },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "hook-dir", required_argument, NULL, OPT_HOOK_DIR },
		{ "hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT },
		{ "thaw-timeout", required_argument, NULL, OPT_THAW_TIMEOUT },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME_DIR },
		{}
	};
	static const char *const keys[] = {
		[OPT_INCLUDE - OPT_INCLUDE] = "include",           [OPT_EXCLUDE - OPT_INCLUDE] = "exclude",
		[OPT_HOOK_DIR - OPT_INCLUDE] = "hook-dir",         [OPT_HOOK_TIMEOUT - OPT_INCLUDE] = "hook-timeout",
		[OPT_THAW_TIMEOUT - OPT_INCLUDE] = "thaw-timeout", [OPT_RUNTIME_DIR - OPT_INCLUDE] = "runtime-dir",
	};
	struct daemon_common c = { .program = "hv-vssd", .class_guid = VMBUS_CLASS_VSS };
	struct state s = { 0 };
	struct vss v = { .ops = &ops, .userdata = &s };
	struct ic_service svc = {
		.name = "vss",
		.msgtype = VMBUS_IC_MSGTYPE_VSS,
		.fw = fw_versions,
		.n_fw = ELEMENTSOF(fw_versions),
		.svc = svc_versions,
		.n_svc = ELEMENTSOF(svc_versions),
		.handler = handle,
		.userdata = &v,
	};
	struct vss_config cfg = { 0 };
	struct chardev_ops cd_ops = vss_chardev_ops;
	struct daemon_transport t;
	char marker[4096];
	int opt, r;

	log_setup("hv-vssd");
	/* Hooks are waited for: an inherited SIG_IGN would make waitpid() fail. */
	signal(SIGCHLD, SIG_DFL);
	while ((opt = getopt_long(argc, argv, DAEMON_COMMON_SHORTOPTS, options, NULL)) >= 0) {
		r = daemon_common_option(&c, opt, optarg, help);
		if (r == 2)
			return 0;
		if (r == 1)
			continue;
		if (opt == OPT_CONFIG) {
			arg_config = optarg;
		} else if (opt == OPT_RECOVER) {
			arg_recover_only = true;
		} else if (opt >= OPT_INCLUDE && opt <= OPT_RUNTIME_DIR) {
			char where[64];

			snprintf(where, sizeof(where), "--%s", keys[opt - OPT_INCLUDE]);
			r = setting(keys[opt - OPT_INCLUDE], optarg, where, true);
			if (r < 0)
				return r;
		} else {
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_error_errno(-EINVAL, "unexpected argument '%s'", argv[optind]);

	/*
	 * First of all, before anything that can fail (the configuration file):
	 * a previous instance killed while frozen left the list of what to thaw.
	 */
	r = recover(arg_runtime_dir ? arg_runtime_dir : DEFAULT_RUNTIME_DIR);
	if (arg_recover_only)
		return r;

	r = config_parse_file(arg_config ? arg_config : DEFAULT_CONFIG, arg_config != NULL, config_setting, NULL);
	if (r < 0)
		return r;
	if (!arg_hook_dir && !(arg_hook_dir = strdup(DEFAULT_HOOK_DIR)))
		return -ENOMEM;
	if (!arg_runtime_dir) {
		if (!(arg_runtime_dir = strdup(DEFAULT_RUNTIME_DIR)))
			return -ENOMEM;
	} else if (!set_runtime_dir) {
		/* The configuration file named another runtime directory: its marker too. */
		(void)recover(arg_runtime_dir);
	}
	if ((size_t)snprintf(marker, sizeof(marker), "%s/frozen", arg_runtime_dir) >= sizeof(marker))
		return log_error_errno(-ENAMETOOLONG, "runtime directory path too long");

	cfg.include = arg_include.items;
	cfg.n_include = arg_include.n;
	cfg.exclude = arg_exclude.items;
	cfg.n_exclude = arg_exclude.n;
	cfg.sysfs_root = c.sysfs_root;
	cfg.marker = marker;
	r = vss_freezer_new(&cfg, &s.freezer);
	if (r < 0) {
		log_error_errno(r, "cannot set up: %m");
		goto out;
	}
	/* The backstop behind the auto-thaw deadline, in a thread of its own: thaws even if this loop is stuck. */
	vss_freezer_set_deadline(s.freezer, arg_thaw_timeout * 1000u + GUARD_SLACK_MS);
	for (size_t i = 0; i < arg_include.n; i++)
		log_info("vss: will freeze '%s'", arg_include.items[i]);
	for (size_t i = 0; i < arg_exclude.n; i++)
		log_info("vss: will never freeze '%s'", arg_exclude.items[i]);

	cd_ops.reset = chardev_reset;
	c.chardev_name = "hv_vss";
	c.chardev_ops = &cd_ops;
	c.chardev_userdata = &v;
	r = daemon_open(&c, &t);
	if (r >= 0) {
		r = daemon_serve(&c, &t, &svc);
		/* Whatever ended the loop (a signal, rescind, a channel error): never exit frozen. */
		(void)thaw(&s, r == -EIO ? "the host removed the device" : r < 0 ? "channel error" : "exiting",
			   "thaw", false);
		for (int i = 0; i < 10 && vss_freezer_frozen(s.freezer); i++) {
			usleep(200000);
			(void)thaw(&s, "exiting, retrying", NULL, false);
		}
		if (vss_freezer_frozen(s.freezer)) {
			log_error("vss: exiting with %zu filesystem(s) still frozen: the next start (or hv-vssd "
				  "--recover) thaws them from the marker", vss_freezer_count(s.freezer));
			if (r >= 0)
				r = -EIO;
		}
		s.retry = sd_event_source_disable_unref(s.retry);
		s.hooks_later = sd_event_source_disable_unref(s.hooks_later);
		sd_notify(0, "STOPPING=1");
		daemon_close(&t);
	}
out:
	/* Not frozen here: thaw() above ran, or nothing was ever frozen. */
	vss_freezer_free(s.freezer);
	for (size_t i = 0; i < arg_include.n; i++)
		free(arg_include.items[i]);
	for (size_t i = 0; i < arg_exclude.n; i++)
		free(arg_exclude.items[i]);
	free(arg_hook_dir);
	free(arg_runtime_dir);
	return r;
}

int main(int argc, char **argv)
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
