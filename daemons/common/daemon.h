/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The skeleton every hv-daemons service shares: open the channel, run an
 * sd-event loop with the channel as an io source and SIGTERM/SIGINT handled in
 * the loop, drain every packet on each interrupt, report readiness.
 */
#pragma once

#include <stdio.h>
#include <vmbus/vmbus.h>

#include "ic-service.h"

/* Options every daemon accepts. */
struct daemon_common {
	const char *program;
	const char *class_guid; /* for discovery when no --channel */
	const char *channel;    /* --channel SPEC */
	const char *sysfs_root; /* --sysfs-root */
	const char *dev_root;   /* --dev-root */
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
