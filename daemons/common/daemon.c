/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "daemon.h"
#include "log.h"

void daemon_common_help(FILE *f)
{
	fputs("      --channel SPEC      fd:R,I,D (inherited fds, see libvmbus(3)), uio:/dev/uioN,\n"
	      "                          or class:GUID; default: discover the uio device\n"
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

int daemon_run(const struct daemon_common *c, struct vmbus_channel *ch, struct ic_service *svc)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	struct loop l = { .ch = ch, .svc = svc };
	sigset_t mask;
	int r;

	r = sd_event_default(&e);
	if (r < 0)
		return log_error_errno(r, "Cannot create the event loop: %m");
	/*
	 * Every signal that would end the daemon by default ends it through the
	 * loop instead, so that it can clean up (hv-vssd thaws); USR1/USR2 and
	 * PIPE are ignored.
	 */
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
		r = sd_event_add_io(e, NULL, vmbus_channel_get_fd(ch), EPOLLIN, on_channel, &l);
	if (r >= 0)
		r = sd_event_set_watchdog(e, 1);
	if (r < 0)
		return log_error_errno(r, "Cannot set up the event loop: %m");

	/* The host may have queued a message before we started: unmask and look now. */
	r = drain(&l, e);
	if (l.error)
		return l.error;
	sd_notifyf(0, "READY=1\nSTATUS=Serving %s", svc->name);
	log_info("%s: ready", svc->name);
	r = sd_event_loop(e);
	if (l.error)
		return l.error;
	return r < 0 ? log_error_errno(r, "Event loop failed: %m") : 0;
}
