/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which filesystems hv-vssd freezes, in which order, and the freezing itself
 * (FIFREEZE/FITHAW), with the marker that lets a restarted daemon thaw what a
 * killed one left frozen.
 *
 * Selection (by default, like the kernel's hv_vss_daemon): mounts whose
 * source is a block device (the source starts with "/dev/", and mountinfo
 * shows a real device number, or the source node is a block device: btrfs
 * shows an anonymous 0:N per subvolume);
 * skipped: read-only mounts, vfat, loop-backed devices (the device is a loop
 * device, or sits on one through its sysfs "slaves", recursively). Each
 * superblock once (bind mounts and btrfs subvolumes share one: the same
 * MAJ:MIN in mountinfo, although each btrfs subvolume stat()s to a device of
 * its own).
 * With an include list, exactly the included mount points are selected
 * (loop-backed or not), except read-only ones (nothing can be written to
 * them: they stay untouched); the exclude list removes mount points either
 * way.
 * The filesystem holding the marker's directory (its whole superblock) is
 * never selected, with a warning: the backup will not include it.
 *
 * Order: a filesystem is frozen before any filesystem its backing store lives
 * on (a loop device's backing file, recursively through loop-on-loop and
 * through filesystems that are not selected themselves), then
 * deeper mount points before the ones they are mounted on, "/" last; thaw is
 * exactly the reverse of what was frozen.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vss_mount {
	char *path;    /* mount point, unescaped (mountinfo's \040 etc. decoded) */
	char *source;  /* mount source, unescaped */
	char *fstype;
	unsigned major, minor; /* st_dev of the superblock, from mountinfo */
	bool read_only;        /* "ro" in the per-mount or per-superblock options */
	int id;                /* mountinfo's mount ID (statx's stx_mnt_id) */
	/*
	 * Set by vss_select for the mounts it returns: st_dev of the mount
	 * point as stat() sees it. It differs from major:minor on btrfs (each
	 * subvolume has its own anonymous device, the superblock's 0:N shows
	 * in mountinfo only). have_dev false: the mount point could not be
	 * stat()ed (freezing it then fails).
	 */
	dev_t dev;
	bool have_dev;
};

/*
 * Pure: parse /proc/self/mountinfo text. Fills a newly allocated array (free
 * with vss_mounts_free). Malformed lines are skipped (counted in *ret_bad).
 * Returns 0 or -ENOMEM.
 */
int vss_mountinfo_parse(const char *text, size_t len, struct vss_mount **ret, size_t *ret_n, size_t *ret_bad);
void vss_mounts_free(struct vss_mount *m, size_t n);

struct vss_config {
	char *const *include; /* mount points; NULL/0: the default selection */
	size_t n_include;
	char *const *exclude;
	size_t n_exclude;
	const char *mountinfo;  /* NULL: /proc/self/mountinfo */
	const char *sysfs_root; /* NULL: /sys */
	const char *marker;     /* the marker file (in a runtime directory never frozen) */
};

/*
 * The selection in freeze order (newly allocated; free with vss_mounts_free).
 * A mount in the include list that is not mounted is an error (-ENOENT, with
 * a log line), so that a typo never silently freezes less than asked.
 */
int vss_select(const struct vss_config *c, struct vss_mount **ret, size_t *ret_n);

struct vss_freezer;

int vss_freezer_new(const struct vss_config *c, struct vss_freezer **ret);
void vss_freezer_free(struct vss_freezer *f);

/*
 * Select and freeze in order. The marker ("MAJ:MIN PATH" lines, MAJ:MIN the
 * st_dev the mount point PATH stat()s to, PATH escaped like mountinfo) is
 * rewritten before each FIFREEZE to list what we froze so far plus the one
 * about to be frozen, and after the last one to list exactly what we froze.
 * Before FIFREEZE, the mount point must still stat() to the device recorded
 * at selection (and, against the real mountinfo, have the same mount ID),
 * else -ESTALE. FIFREEZE answering EBUSY (frozen by someone else) is not a
 * failure: that one is left out (of the count, the marker, the thaw).
 * Nothing is logged between the first FIFREEZE and the last FITHAW other
 * than through the deferred log (log_defer_begin/end in log.h). On a failure
 * part-way, everything already frozen is thawed in reverse order, the marker
 * removed, and the mount and error logged; returns that negative errno. If
 * some of that roll-back could not be thawed, those stay frozen and held as
 * by vss_thaw_all's failure (vss_freezer_frozen true: call vss_thaw_all to
 * retry). Frozen already: returns 0 without doing anything. Returns the
 * number of filesystems frozen.
 */
int vss_freeze_all(struct vss_freezer *f);

/*
 * Thaw what vss_freeze_all froze, in reverse order (FITHAW answering EINVAL,
 * not frozen, is not a failure), then remove the marker and write out the
 * deferred log. Not frozen: returns 0. On a failure, goes on with the others
 * and returns the first error; the ones that failed stay held (fd open), the
 * freezer stays frozen (vss_freezer_count: those left), the marker lists only
 * them, and the log stays deferred (bounded; overflow is counted): the next
 * vss_thaw_all retries exactly those.
 */
int vss_thaw_all(struct vss_freezer *f);

/*
 * The guard (an addition against long-blocking FIFREEZE, F3): with msec > 0,
 * the first FIFREEZE of each vss_freeze_all starts a deadline of msec
 * milliseconds, enforced by a thread of the freezer's own (started on first
 * use, joined by vss_freezer_free), independently of the caller's thread:
 * if the deadline passes while anything is frozen, the guard FITHAWs
 * everything frozen so far in reverse order (through the kept fds, so even
 * while the caller is still blocked in a FIFREEZE of another filesystem),
 * drops it and removes the marker when nothing is left (it lists a FIFREEZE
 * still running until that returns). The guard never logs; the caller's
 * thread logs what it did at its next call into the freezer.
 * A vss_freeze_all that was still running then thaws what it froze after
 * that point too and returns -ETIMEDOUT. A thaw (vss_thaw_all, the
 * roll-back) ends the deadline; after the guard thawed everything,
 * vss_thaw_all does nothing and returns 0 (it retries what the guard could
 * not thaw). 0 (the default): no guard. Takes effect at the next freeze.
 * The freezer's functions may only be called from one thread at a time.
 */
void vss_freezer_set_deadline(struct vss_freezer *f, unsigned msec);

/*
 * True once after the guard thawed everything of a completed freeze
 * (vss_freeze_all had returned success): the caller logs it and answers the
 * late THAW with success. A guard firing during vss_freeze_all is reported by
 * its -ETIMEDOUT instead.
 */
bool vss_freezer_take_guard_thawed(struct vss_freezer *f);

bool vss_freezer_frozen(const struct vss_freezer *f);
/* The frozen mount points, in freeze order, while frozen (for STATUS= and logs). */
size_t vss_freezer_count(const struct vss_freezer *f);

/*
 * At startup: if the marker exists, a previous instance was killed while
 * frozen: FITHAW every mount point it lists that still stat()s to the listed
 * MAJ:MIN (EINVAL is fine), log each, remove the marker. Returns the number thawed, 0 without a marker, or a negative
 * errno if something listed could not be thawed (the marker is then kept).
 */
int vss_recover(const char *marker);
