/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Freeze hooks, the way qemu-guest-agent and open-vm-tools let applications
 * (databases) flush before a snapshot and resume after: every executable in
 * the hook directory, in name order, runs with "freeze" before filesystems are
 * frozen; in reverse order with "thaw" after they are thawed, or with
 * "freeze-fail" when the freeze failed. Backup and package-manager leftovers
 * (*~, *.dpkg-old, *.rpmnew, ...) and hidden files are skipped. Hooks run
 * with a clean environment (PATH only), stdin from /dev/null, their output
 * logged, each bounded by a timeout (spawn.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct vss_hooks {
	char **paths; /* the hooks that ran "freeze", in name order */
	size_t n;
	int timeout_ms;
};

/* Pure: whether a directory entry name is skipped (hidden, backup or package leftover). */
bool vss_hook_name_skipped(const char *name);

/*
 * Run every hook in dir with "freeze", in name order, each within
 * timeout_ms. A missing directory means no hooks. If one fails (non-zero
 * exit, killed, timed out, cannot start), the hooks that ran (it included)
 * get "freeze-fail" in reverse order, and -EIO is returned with a log line
 * naming it. On success h remembers the hooks for vss_hooks_end().
 */
int vss_hooks_freeze(struct vss_hooks *h, const char *dir, int timeout_ms);

/*
 * After the filesystems were thawed ("thaw") or failed to freeze
 * ("freeze-fail"): run the remembered hooks with arg in reverse order, then
 * forget them. Failures are logged; they change nothing any more.
 */
void vss_hooks_end(struct vss_hooks *h, const char *arg);
