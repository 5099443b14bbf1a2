/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

void daemon_common_help(FILE *f)
{
	fputs("      --channel SPEC      where the host's requests come from: uio:/dev/uioN\n"
	      "                          (uio_hv_generic), chardev:PATH (the kernel's hv_utils\n"
	      "                          device /dev/vmbus/hv_kvp, hv_vss or hv_fcopy), dev:PATH\n"
	      "                          (either one, by what PATH resolves to), class:GUID, or\n"
	      "                          fd:R,I,D (a simulator's fds, see libvmbus(3)); default:\n"
	      "                          the uio device bound for the service, else the hv_utils\n"
	      "                          device\n"
	      "      --sysfs-root DIR    sysfs mount point (default /sys)\n"
	      "      --dev-root DIR      device node directory (default /dev)\n"
	      "  -n, --no-daemon         accepted for compatibility; always runs in the foreground\n"
	      "  -v, --verbose           log debug messages\n"
	      "  -h, --help              show this help\n"
	      "  -V, --version           show the version\n",
	      f);
}

int daemon_common_option(struct daemon_common *c, int opt, const char *arg, void (*help)(void))
{
	switch (opt) {
	case DAEMON_OPT_CHANNEL:
		c->channel = arg;
		return 1;
	case DAEMON_OPT_SYSFS_ROOT:
		c->sysfs_root = arg;
		return 1;
	case DAEMON_OPT_DEV_ROOT:
		c->dev_root = arg;
		return 1;
	case 'n':
		return 1;
	case 'v':
		log_set_max_level(LOG_DEBUG);
		return 1;
	case 'h':
		help();
		return 2;
	case 'V':
		printf("%s %s\n", c->program, PACKAGE_VERSION);
		return 2;
	default:
		return 0;
	}
}

/* libvmbus's messages go through our log (so they are deferred when ours are). */
static void vmbus_log(int priority, const char *msg, void *userdata)
{
	(void)userdata;
	(void)log_internal(priority, 0, "libvmbus: %s", msg);
}

int daemon_open_channel(const struct daemon_common *c, struct vmbus_channel **ret)
{
	char spec[64];
	const char *s = c->channel;
	int r;

	if (log_get_max_level() >= LOG_DEBUG)
		vmbus_set_log_fn(vmbus_log, NULL);

	if (!s) {
		snprintf(spec, sizeof(spec), "class:%s", c->class_guid);
		s = spec;
	}
	r = vmbus_channel_open_spec(s, c->sysfs_root, c->dev_root, ret);
	if (r == -ENOENT && !c->channel)
		return log_error_errno(r,
				       "No uio device bound to uio_hv_generic for class %s. Bind it with: "
				       "echo %s > /sys/bus/vmbus/drivers/uio_hv_generic/new_id",
				       c->class_guid, c->class_guid);
	if (r == -EINVAL && c->channel)
		return log_error_errno(r, "Invalid --channel '%s' (or its ring sizes): %m", c->channel);
	if (r < 0)
		return log_error_errno(r, "Cannot open channel '%s': %m", s);
	log_info("channel %s open, %d-byte rings", s, vmbus_channel_get_data_size(*ret));
	return 0;
}

struct loop {
	struct vmbus_channel *ch;
	struct ic_service *svc;
	int error;
};

static int drain(struct loop *l, sd_event *e)
{
	int r = vmbus_channel_drain(l->ch, ic_service_packet, l->svc);

	if (r >= 0)
		return 0;
	if (r == -EIO)
		log_error("%s: the host removed the device (rescind), exiting", l->svc->name);
	else if (r == -EPROTO)
		log_error("%s: the host broke the ring protocol, exiting", l->svc->name);
	else
		log_error_errno(r, "%s: channel error: %m", l->svc->name);
	l->error = r;
	return sd_event_exit(e, r);
}

static int on_channel(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	return drain(userdata, sd_event_source_get_event(s));
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	log_info("received %s, exiting", strsignal((int)si->ssi_signo));
	sd_notify(0, "STOPPING=1");
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

/*
 * Every signal that would end the daemon by default ends it through the loop
 * instead, so that it can clean up (hv-vssd thaws); USR1/USR2 and PIPE are
 * ignored. Then the watchdog, if the service manager asks for one.
 */
static int loop_setup(sd_event *e)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, NULL);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGINT, on_signal, NULL);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGHUP, on_signal, NULL);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGQUIT, on_signal, NULL);
	if (r >= 0)
		r = sd_event_set_watchdog(e, 1);
	return r;
}

static void notify_ready(const char *name, const char *desc)
{
	if (desc)
		sd_notifyf(0, "READY=1\nSTATUS=Serving %s over %s", name, desc);
	else
		sd_notifyf(0, "READY=1\nSTATUS=Serving %s", name);
	log_info("%s: ready", name);
}

static int run_channel(struct vmbus_channel *ch, struct ic_service *svc, const char *desc)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	struct loop l = { .ch = ch, .svc = svc };
	int r;

	r = sd_event_default(&e);
	if (r < 0)
		return log_error_errno(r, "Cannot create the event loop: %m");
	r = loop_setup(e);
	if (r >= 0)
		r = sd_event_add_io(e, NULL, vmbus_channel_get_fd(ch), EPOLLIN, on_channel, &l);
	if (r < 0)
		return log_error_errno(r, "Cannot set up the event loop: %m");

	/* The host may have queued a message before we started: unmask and look now. */
	r = drain(&l, e);
	if (l.error)
		return l.error;
	notify_ready(svc->name, desc);
	r = sd_event_loop(e);
	if (l.error)
		return l.error;
	return r < 0 ? log_error_errno(r, "Event loop failed: %m") : 0;
}

int daemon_run(const struct daemon_common *c, struct vmbus_channel *ch, struct ic_service *svc)
{
	(void)c;
	return run_channel(ch, svc, NULL);
}

struct cd_loop {
	struct chardev *cd;
	sd_event_source *src;
	int error;
};

static int on_chardev(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static int watch_chardev(struct cd_loop *l, sd_event *e)
{
	/*
	 * A new source, never sd_event_source_set_io_fd(): the reopened device
	 * may well have the old fd's number, and the old registration went with
	 * the old file.
	 */
	l->src = sd_event_source_disable_unref(l->src);
	return sd_event_add_io(e, &l->src, chardev_get_fd(l->cd), EPOLLIN, on_chardev, l);
}

static int on_chardev(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cd_loop *l = userdata;
	sd_event *e = sd_event_source_get_event(s);
	int r;

	(void)fd;
	(void)revents;
	r = chardev_process(l->cd);
	if (r == 1) {
		sd_event_source_ref(s); /* dropped by watch_chardev(), while it runs */
		r = watch_chardev(l, e);
		sd_event_source_unref(s);
		if (r < 0)
			log_error_errno(r, "Cannot watch the reopened device: %m");
	}
	if (r < 0) {
		l->error = r;
		return sd_event_exit(e, r);
	}
	return 0;
}

static int run_chardev(struct chardev *cd, const char *name, const char *desc)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	struct cd_loop l = { .cd = cd };
	int r;

	r = sd_event_default(&e);
	if (r < 0)
		return log_error_errno(r, "Cannot create the event loop: %m");
	r = loop_setup(e);
	if (r >= 0)
		r = watch_chardev(&l, e);
	if (r < 0)
		return log_error_errno(r, "Cannot set up the event loop: %m");
	notify_ready(name, desc);
	r = sd_event_loop(e);
	l.src = sd_event_source_disable_unref(l.src);
	if (l.error)
		return l.error;
	return r < 0 ? log_error_errno(r, "Event loop failed: %m") : 0;
}

int daemon_serve(const struct daemon_common *c, struct daemon_transport *t, struct ic_service *svc)
{
	(void)c;
	if (t->cd)
		return run_chardev(t->cd, svc->name, t->desc);
	return run_channel(t->ch, svc, t->desc);
}

void daemon_close(struct daemon_transport *t)
{
	t->cd = chardev_free(t->cd);
	t->ch = vmbus_channel_close(t->ch);
}

static int open_chardev(const struct daemon_common *c, const char *path, struct daemon_transport *t)
{
	int r;

	if (!c->chardev_ops)
		return log_error_errno(-EOPNOTSUPP, "%s has no character-device transport", c->program);
	r = chardev_open(path, c->chardev_ops, c->chardev_userdata, CHARDEV_REGISTER_TIMEOUT_MS, &t->cd);
	if (r < 0)
		return r; /* logged */
	snprintf(t->desc, sizeof(t->desc), "chardev %s", path);
	log_info("transport: chardev %s (hv_utils)", path);
	return 0;
}

static int open_uio(const struct daemon_common *c, const char *path, struct daemon_transport *t)
{
	int r;

	r = vmbus_channel_open_uio(path, c->sysfs_root, &t->ch);
	if (r < 0)
		return log_error_errno(r, "Cannot open the uio device '%s': %m", path);
	snprintf(t->desc, sizeof(t->desc), "uio %s", path);
	log_info("transport: uio %s (uio_hv_generic), %d-byte rings", path, vmbus_channel_get_data_size(t->ch));
	return 0;
}

/* "uioN" with <sysfs-root>/class/uio/uioN present: a uio node. */
static bool is_uio_node(const struct daemon_common *c, const char *path)
{
	const char *base = strrchr(path, '/');
	char sys[PATH_MAX];
	struct stat st;

	base = base ? base + 1 : path;
	if (strncmp(base, "uio", 3) != 0 || !base[3] || strspn(base + 3, "0123456789") != strlen(base + 3))
		return false;
	if ((size_t)snprintf(sys, sizeof(sys), "%s/class/uio/%s", c->sysfs_root ? c->sysfs_root : "/sys", base) >=
	    sizeof(sys))
		return false;
	return stat(sys, &st) == 0;
}

int daemon_open(const struct daemon_common *c, struct daemon_transport *t)
{
	const char *s = c->channel;
	char path[PATH_MAX];
	char *uio = NULL;
	int r;

	*t = (struct daemon_transport){ 0 };
	if (log_get_max_level() >= LOG_DEBUG)
		vmbus_set_log_fn(vmbus_log, NULL);

	if (s && strncmp(s, "chardev:", 8) == 0) {
		if (!s[8])
			return log_error_errno(-EINVAL, "Invalid --channel '%s': no path", s);
		return open_chardev(c, s + 8, t);
	}
	if (s && strncmp(s, "dev:", 4) == 0) {
		if (!s[4])
			return log_error_errno(-EINVAL, "Invalid --channel '%s': no path", s);
		if (!realpath(s + 4, path))
			return log_error_errno(-errno, "Cannot resolve '%s' (--channel %s): %m", s + 4, s);
		if (is_uio_node(c, path))
			return open_uio(c, path, t);
		return open_chardev(c, path, t);
	}
	if (s && strncmp(s, "uio:", 4) == 0 && s[4])
		return open_uio(c, s + 4, t);
	if (s && strncmp(s, "class:", 6) != 0) {
		/* fd:R,I,D and whatever libvmbus makes of the rest. */
		r = vmbus_channel_open_spec(s, c->sysfs_root, c->dev_root, &t->ch);
		if (r == -EINVAL)
			return log_error_errno(r, "Invalid --channel '%s' (or its ring sizes): %m", s);
		if (r < 0)
			return log_error_errno(r, "Cannot open channel '%s': %m", s);
		snprintf(t->desc, sizeof(t->desc), "%s", s);
		if (strncmp(s, "fd:", 3) == 0) {
			snprintf(t->desc, sizeof(t->desc), "fd %s", s + 3);
			log_info("transport: fd %s (simulator), %d-byte rings", s + 3,
				 vmbus_channel_get_data_size(t->ch));
		} else {
			log_info("transport: %s, %d-byte rings", s, vmbus_channel_get_data_size(t->ch));
		}
		return 0;
	}

	/* class:GUID, or nothing: the uio device bound for the class. */
	r = vmbus_uio_find(s ? s + 6 : c->class_guid, c->dev_root, &uio);
	if (r >= 0) {
		r = open_uio(c, uio, t);
		free(uio);
		return r;
	}
	if (s)
		return log_error_errno(r, "Cannot find a uio device for --channel '%s': %m", s);
	if (r != -ENOENT)
		return log_error_errno(r, "Cannot look for the uio device of class %s: %m", c->class_guid);
	if (c->chardev_name) {
		if ((size_t)snprintf(path, sizeof(path), "%s/vmbus/%s", c->dev_root ? c->dev_root : "/dev",
				     c->chardev_name) >= sizeof(path))
			return log_error_errno(-ENAMETOOLONG, "--dev-root is too long");
		if (access(path, F_OK) == 0)
			return open_chardev(c, path, t);
		return log_error_errno(-ENOENT,
				       "Neither a uio device bound to uio_hv_generic for class %s nor the hv_utils "
				       "device '%s' exists. On Linux 6.10 and later bind the uio driver: echo %s > "
				       "/sys/bus/vmbus/drivers/uio_hv_generic/new_id (or driver_override); on older "
				       "kernels load hv_utils (modprobe hv_utils)",
				       c->class_guid, path, c->class_guid);
	}
	return log_error_errno(r,
			       "No uio device bound to uio_hv_generic for class %s. Bind it with: "
			       "echo %s > /sys/bus/vmbus/drivers/uio_hv_generic/new_id",
			       c->class_guid, c->class_guid);
}
