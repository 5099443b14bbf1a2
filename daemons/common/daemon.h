/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The skeleton every hv-daemons service shares: open the channel, run an
 * sd-event loop with the channel as an io source and SIGTERM/SIGINT handled in
 * the loop, drain every packet on each interrupt, report readiness.
 */
#pragma once

#include <stdio.h>
#include <vmbus/vmbus.h>

#include "chardev.h"
#include "ic-service.h"

/* Options every daemon accepts. */
struct daemon_common {
	const char *program;
	const char *class_guid; /* for discovery when no --channel */
	const char *channel;    /* --channel SPEC */
	const char *sysfs_root; /* --sysfs-root */
	const char *dev_root;   /* --dev-root */
	/* The kernel's hv_utils device: <dev-root>/vmbus/NAME is looked for when no uio device is bound. */
	const char *chardev_name;             /* "hv_kvp", "hv_vss", "hv_fcopy" */
	const struct chardev_ops *chardev_ops; /* NULL: the service has no chardev transport */
	void *chardev_userdata;
};

/* getopt_long entries for the common options; option values >= 0x100 are reserved here. */
#define DAEMON_COMMON_OPTIONS                                                 \
	{ "channel", required_argument, NULL, DAEMON_OPT_CHANNEL },          \
	{ "sysfs-root", required_argument, NULL, DAEMON_OPT_SYSFS_ROOT },    \
	{ "dev-root", required_argument, NULL, DAEMON_OPT_DEV_ROOT },        \
	{ "no-daemon", no_argument, NULL, 'n' },                             \
	{ "verbose", no_argument, NULL, 'v' },                               \
	{ "help", no_argument, NULL, 'h' },                                  \
	{ "version", no_argument, NULL, 'V' }
#define DAEMON_COMMON_SHORTOPTS "nvhV"
enum {
	DAEMON_OPT_CHANNEL = 0x100,
	DAEMON_OPT_SYSFS_ROOT,
	DAEMON_OPT_DEV_ROOT,
};

/* Help text for the common options, for each daemon's --help. */
void daemon_common_help(FILE *f);

/*
 * Handle one common option. Returns 1 if handled, 0 if not a common option,
 * and for -h/-V prints and returns 2 (the caller exits successfully).
 */
int daemon_common_option(struct daemon_common *c, int opt, const char *arg, void (*help)(void));

/* Open the channel from --channel, or discover the uio device for the class. */
int daemon_open_channel(const struct daemon_common *c, struct vmbus_channel **ret);

/*
 * Run the loop until SIGTERM/SIGINT (returns 0), or a channel error (returns it:
 * -EIO when the host rescinded the device, -EPROTO on a ring violation).
 */
int daemon_run(const struct daemon_common *c, struct vmbus_channel *ch, struct ic_service *svc);

/*
 * The transport a daemon serves: a VMBus channel (uio_hv_generic, or the fd
 * channel of a simulator) or the kernel's hv_utils character device.
 */
struct daemon_transport {
	struct vmbus_channel *ch; /* uio: or fd: */
	struct chardev *cd;       /* chardev: */
	char desc[4200];          /* "chardev /dev/vmbus/hv_kvp", "uio /dev/uio3", "fd 3,4,5" */
};

/*
 * Open the transport --channel names: fd:R,I,D, uio:PATH, class:GUID,
 * chardev:PATH (open and register), or dev:PATH (PATH resolved: a uio node
 * is uio:, anything else chardev:). Without --channel: the uio device bound
 * for the class, else <dev-root>/vmbus/<chardev_name>, else an error saying
 * where it looked and how to bind. Logs "transport: ..." on success.
 * Returns 0 or a negative errno (logged).
 */
int daemon_open(const struct daemon_common *c, struct daemon_transport *t);

/*
 * Serve t until SIGTERM/SIGINT (returns 0) or a fatal transport error
 * (returns it): the channel as daemon_run() does, or the character device one
 * message at a time, reopening it after a read or write error. READY=1 and
 * STATUS=Serving <svc> over <desc>.
 */
int daemon_serve(const struct daemon_common *c, struct daemon_transport *t, struct ic_service *svc);

/* Close whatever is open. */
void daemon_close(struct daemon_transport *t);
