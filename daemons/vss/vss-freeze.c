/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-vssd's freezer: which filesystems, in which order, FIFREEZE/FITHAW, and
 * the marker a restarted daemon uses to thaw what a killed one left frozen.
 *
 * Between the first FIFREEZE and the last FITHAW nothing here may block on a
 * frozen filesystem: no log line except through the deferred log, no write,
 * no fsync. Reading (open of a directory, fstat, ioctl) never blocks on a
 * frozen superblock; only writers wait in sb_start_write().
 *
 * The frozen filesystems' directory fds are kept open until they are thawed:
 * FITHAW then reaches the very superblock FIFREEZE froze, even if something
 * is mounted over the path meanwhile (and a frozen one cannot be unmounted
 * under us).
 *
 * The guard: with a deadline set (vss_freezer_set_deadline), a thread of its
 * own FITHAWs whatever is still frozen when the deadline, counted from the
 * first FIFREEZE, passes, whatever the caller's thread is doing (blocked in
 * another FIFREEZE, or its event loop stuck). f->lock protects everything the
 * guard touches (the frozen list, its fds, the flags, the marker rewrite);
 * the caller's thread holds it in every call here except around FIFREEZE
 * itself, which may block for long. The guard never logs (the log module is
 * single-threaded and may be deferring): it records what it did and the
 * caller's thread logs that at its next call.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>

#include "log.h"
#include "macro.h"
#include "vss-freeze.h"

#define MOUNTINFO_MAX (16u << 20) /* bytes of mountinfo read */
#define MOUNTS_MAX 65536u         /* mounts parsed; more lines are counted as bad */
#define MARKER_MAX (1u << 20)     /* bytes of marker read */
#define SYSFS_ATTR_MAX 4096u      /* a sysfs attribute (PATH_MAX for backing_file) */
#define SLAVES_DEPTH_MAX 16u      /* device-mapper/md stacking followed this deep */
#define SUMMARY_MAX 2048u         /* the mount list in a log line */

struct frozen {
	char *path;
	dev_t dev; /* st_dev of the mount point (what the marker lists) */
	int fd;    /* open while frozen, for FITHAW */
};

struct vss_freezer {
	char **include, **exclude;
	size_t n_include, n_exclude;
	char *mountinfo, *sysfs_root, *marker;

	bool frozen;
	struct frozen *fz; /* frozen by us, in freeze order */
	size_t n_fz;
	char **busy; /* FIFREEZE said EBUSY: frozen by someone else, left alone */
	size_t n_busy;
	struct timespec t_frozen;

	/* The guard; everything below and above (but the config) under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* CLOCK_MONOTONIC: wakes the guard */
	pthread_t guard;
	bool guard_started;
	bool guard_quit;       /* vss_freezer_free: the guard exits */
	unsigned deadline_ms;  /* 0: no guard */
	bool armed;            /* the guard's deadline runs (first FIFREEZE until all thawed) */
	struct timespec t_deadline;
	struct frozen pending; /* its FIFREEZE is running (pending.path set while it may) */
	bool in_progress;
	bool guard_fired;      /* this freeze's deadline passed: the guard thawed */
	bool guard_logged;     /* ... and the caller's thread has logged it */
	bool guard_report;     /* for vss_freezer_take_guard_thawed */
	size_t guard_thawed, guard_failed;
	int guard_err, guard_marker_err;
};

/* ---- small helpers -------------------------------------------------------- */

static bool dev_is(dev_t d, unsigned major, unsigned minor)
{
	return major(d) == major && minor(d) == minor;
}

/* Reads at most max bytes of a file, NUL-terminated. -EFBIG when longer. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > max)
				return -EFBIG;
			cap = cap ? cap * 2 : 4096;
			if (cap > max + 1)
				cap = max + 1;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/*
 * Decodes the kernel's octal escapes (mangle(): "\040" space, "\011" tab,
 * "\012" newline, "\134" backslash; any "\ooo" up to \377 is accepted) of
 * [s, s + len) into a new string. A NUL, raw or decoded, makes the field
 * unusable: NULL with *oom false.
 */
static char *unescape(const char *s, size_t len, bool *oom)
{
	char *r = malloc(len + 1), *o = r;

	*oom = !r;
	if (!r)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    is_octal(s[i + 2]) && is_octal(s[i + 3])) {
			c = (unsigned char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
			i += 3;
		}
		if (c == '\0') {
			free(r);
			return NULL;
		}
		*o++ = (char)c;
	}
	*o = '\0';
	return r;
}

/* The mountinfo way: space, tab, newline, backslash and other control bytes as \ooo. */
static char *escape(const char *s)
{
	size_t len = strlen(s);
	char *r = malloc(len * 4 + 1), *o = r;

	if (!r)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= ' ' || *p == '\\' || *p == 0x7f) {
			*o++ = '\\';
			*o++ = (char)('0' + (*p >> 6));
			*o++ = (char)('0' + ((*p >> 3) & 7));
			*o++ = (char)('0' + (*p & 7));
		} else
			*o++ = (char)*p;
	}
	*o = '\0';
	return r;
}

/* "MAJ:MIN" in [s, s + len), decimal, no overflow. */
static bool parse_devnum(const char *s, size_t len, unsigned *ret_major, unsigned *ret_minor)
{
	unsigned v[2] = { 0, 0 };
	size_t i = 0;

	for (int k = 0; k < 2; k++) {
		size_t start = i;

		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (v[k] > (UINT_MAX - 9) / 10)
				return false;
			v[k] = v[k] * 10 + (unsigned)(s[i] - '0');
		}
		if (i == start)
			return false;
		if (k == 0) {
			if (i >= len || s[i] != ':')
				return false;
			i++;
		}
	}
	if (i != len)
		return false;
	*ret_major = v[0];
	*ret_minor = v[1];
	return true;
}

static bool all_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "ro" among the comma-separated options in [s, s + len). */
static bool opts_ro(const char *s, size_t len)
{
	size_t i = 0;

	while (i <= len) {
		size_t j = i;

		while (j < len && s[j] != ',')
			j++;
		if (j - i == 2 && s[i] == 'r' && s[i + 1] == 'o')
			return true;
		i = j + 1;
	}
	return false;
}

static void mount_done(struct vss_mount *m)
{
	free(m->path);
	free(m->source);
	free(m->fstype);
}

void vss_mounts_free(struct vss_mount *m, size_t n)
{
	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		mount_done(&m[i]);
	free(m);
}

/* ---- mountinfo ------------------------------------------------------------ */

struct field {
	const char *s;
	size_t len;
};

/* Next space-separated field of [*p, end); false at the end of the line. */
static bool next_field(const char **p, const char *end, struct field *f)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	if (s == end)
		return false;
	f->s = s;
	while (s < end && *s != ' ')
		s++;
	f->len = (size_t)(s - f->s);
	*p = s;
	return true;
}

/*
 * One line: "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE
 * SOURCE SUPEROPTS". 1: parsed into *m; 0: malformed; -ENOMEM.
 */
static int parse_line(const char *s, const char *end, struct vss_mount *m)
{
	struct field f[6], fstype, source, superopts, opt;
	bool oom;

	if (memchr(s, '\0', (size_t)(end - s)))
		return 0;
	for (size_t i = 0; i < ELEMENTSOF(f); i++)
		if (!next_field(&s, end, &f[i]))
			return 0;
	/* Optional fields (shared:N master:N propagate_from:N unbindable), up to a lone "-". */
	for (;;) {
		if (!next_field(&s, end, &opt))
			return 0;
		if (opt.len == 1 && opt.s[0] == '-')
			break;
	}
	if (!next_field(&s, end, &fstype) || !next_field(&s, end, &source) ||
	    !next_field(&s, end, &superopts))
		return 0;
	/* Fields a later kernel may append are ignored. */
	if (!all_digits(f[0].s, f[0].len) || !all_digits(f[1].s, f[1].len))
		return 0;

	*m = (struct vss_mount){ 0 };
	for (size_t i = 0; i < f[0].len; i++) {
		if (m->id > (INT_MAX - 9) / 10)
			return 0;
		m->id = m->id * 10 + (f[0].s[i] - '0');
	}
	if (!parse_devnum(f[2].s, f[2].len, &m->major, &m->minor))
		return 0;
	if (f[4].s[0] != '/')
		return 0;
	m->path = unescape(f[4].s, f[4].len, &oom);
	if (!m->path)
		goto bad;
	m->source = unescape(source.s, source.len, &oom);
	if (!m->source)
		goto bad;
	m->fstype = unescape(fstype.s, fstype.len, &oom);
	if (!m->fstype)
		goto bad;
	m->read_only = opts_ro(f[5].s, f[5].len) || opts_ro(superopts.s, superopts.len);
	return 1;
bad:
	mount_done(m);
	return oom ? -ENOMEM : 0;
}

int vss_mountinfo_parse(const char *text, size_t len, struct vss_mount **ret, size_t *ret_n, size_t *ret_bad)
{
	struct vss_mount *m = NULL;
	size_t n = 0, cap = 0, bad = 0;
	const char *p = text, *end = text + len;

	assert_return(text || len == 0, -EINVAL);
	assert_return(ret && ret_n, -EINVAL);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		struct vss_mount one;
		int r;

		if (le == p) { /* empty line */
			p = le + 1;
			continue;
		}
		if (n >= MOUNTS_MAX) {
			bad++;
			p = nl ? nl + 1 : end;
			continue;
		}
		r = parse_line(p, le, &one);
		if (r < 0) {
			vss_mounts_free(m, n);
			return r;
		}
		if (r == 0)
			bad++;
		else {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 32;
				struct vss_mount *nm = realloc(m, nc * sizeof(*m));

				if (!nm) {
					mount_done(&one);
					vss_mounts_free(m, n);
					return -ENOMEM;
				}
				m = nm;
				cap = nc;
			}
			m[n++] = one;
		}
		p = nl ? nl + 1 : end;
	}
	*ret = m;
	*ret_n = n;
	if (ret_bad)
		*ret_bad = bad;
	return 0;
}

/* ---- sysfs: loop devices and their stacking ------------------------------- */

struct walk {
	const char *sysfs;
	bool loop;        /* a loop device was met */
	char **backing;   /* loop/backing_file of each loop device met */
	size_t n_backing;
	bool want_backing;
	bool oom;
};

/* A sysfs attribute, trailing newline dropped; NULL when unreadable. */
static char *read_attr(const char *path)
{
	char *buf;
	size_t len;

	if (read_file(path, SYSFS_ATTR_MAX, &buf, &len) < 0)
		return NULL;
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (strlen(buf) != len) { /* a NUL inside */
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The device number of the slave named X: <sysfs>/class/block/X/dev, then
 * <sysfs>/block/X/dev, then the slaves entry itself (a link to the device).
 */
static bool slave_devnum(const char *sysfs, const char *slaves, const char *name, unsigned *maj,
			 unsigned *min)
{
	char path[PATH_MAX];

	for (int i = 0; i < 3; i++) {
		_cleanup_free_ char *v = NULL;
		int k;

		if (i == 0)
			k = snprintf(path, sizeof(path), "%s/class/block/%s/dev", sysfs, name);
		else if (i == 1)
			k = snprintf(path, sizeof(path), "%s/block/%s/dev", sysfs, name);
		else
			k = snprintf(path, sizeof(path), "%s/%s/dev", slaves, name);
		if (k < 0 || (size_t)k >= sizeof(path))
			continue;
		v = read_attr(path);
		if (v && parse_devnum(v, strlen(v), maj, min))
			return true;
	}
	return false;
}

/*
 * Visits MAJ:MIN and, through <sysfs>/dev/block/MAJ:MIN/slaves, every device
 * it sits on (device-mapper, md), recursively: notes loop devices and their
 * backing files.
 */
static void dev_walk(struct walk *w, unsigned maj, unsigned min, unsigned depth)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct stat st;
	DIR *d;
	struct dirent *de;

	if (depth > SLAVES_DEPTH_MAX)
		return;
	if ((size_t)snprintf(dir, sizeof(dir), "%s/dev/block/%u:%u", w->sysfs, maj, min) >= sizeof(dir))
		return;
	if ((size_t)snprintf(path, sizeof(path), "%s/loop", dir) < sizeof(path) && stat(path, &st) == 0) {
		w->loop = true;
		if (w->want_backing &&
		    (size_t)snprintf(path, sizeof(path), "%s/loop/backing_file", dir) < sizeof(path)) {
			char *b = read_attr(path);
			char **nb;

			if (b && *b) {
				nb = realloc(w->backing, (w->n_backing + 1) * sizeof(*nb));
				if (nb) {
					w->backing = nb;
					w->backing[w->n_backing++] = b;
					b = NULL;
				} else
					w->oom = true;
			}
			free(b);
		}
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/slaves", dir) >= sizeof(path))
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned smaj, smin;

		if (de->d_name[0] == '.')
			continue;
		if (!slave_devnum(w->sysfs, path, de->d_name, &smaj, &smin)) {
			log_debug("vss: cannot read the device number of %s/%s, ignored", path, de->d_name);
			continue;
		}
		dev_walk(w, smaj, smin, depth + 1);
		if (w->loop && !w->want_backing)
			break;
	}
	closedir(d);
}

static void walk_done(struct walk *w)
{
	for (size_t i = 0; i < w->n_backing; i++)
		free(w->backing[i]);
	free(w->backing);
}

static bool loop_backed(const char *sysfs, unsigned maj, unsigned min)
{
	struct walk w = { .sysfs = sysfs };

	dev_walk(&w, maj, min, 0);
	return w.loop;
}

/* ---- selection ------------------------------------------------------------- */

/* A mount point as given by the user, trailing and doubled slashes dropped. */
static char *normalise(const char *p)
{
	char *r = strdup(p), *o = r;

	if (!r)
		return NULL;
	for (const char *s = p; *s; s++)
		if (!(*s == '/' && o > r && o[-1] == '/'))
			*o++ = *s;
	while (o - r > 1 && o[-1] == '/')
		o--;
	*o = '\0';
	return r;
}

static size_t path_depth(const char *p)
{
	size_t n = 0;

	for (; *p; p++)
		if (*p != '/' && (p[1] == '/' || p[1] == '\0'))
			n++;
	return n;
}

/* The mount that holds path by name: the longest mount point that is a prefix. */
static ssize_t mount_by_prefix(const struct vss_mount *all, size_t n_all, const char *path)
{
	ssize_t best = -1;
	size_t best_len = 0;

	for (size_t i = 0; i < n_all; i++) {
		size_t l = strlen(all[i].path);

		if (strcmp(all[i].path, "/") == 0)
			l = 0;
		else if (strncmp(path, all[i].path, l) != 0 || (path[l] != '/' && path[l] != '\0'))
			continue;
		if (best < 0 || l >= best_len) { /* >=: the later of equal ones is on top */
			best = (ssize_t)i;
			best_len = l;
		}
	}
	return best;
}

static bool same_dev(const struct vss_mount *a, const struct vss_mount *b)
{
	return a->major == b->major && a->minor == b->minor;
}

/*
 * The block device under a mount: mountinfo's MAJ:MIN, except for
 * filesystems that show an anonymous device there (btrfs: 0:N per
 * filesystem), where the source device node tells. Returns false when the
 * source is not a block device.
 */
static bool block_device(const struct vss_mount *m, unsigned *maj, unsigned *min)
{
	struct stat st;

	if (strncmp(m->source, "/dev/", 5) != 0)
		return false;
	if (m->major != 0) {
		*maj = m->major;
		*min = m->minor;
		return true;
	}
	if (stat(m->source, &st) < 0 || !S_ISBLK(st.st_mode))
		return false;
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
	return true;
}

/*
 * Every mount of mountinfo, with what the selection learns about them: the
 * superblock each belongs to (the first mount with its MAJ:MIN) and, on
 * demand, the st_dev its mount point stat()s to.
 */
struct mounts {
	const struct vss_mount *all;
	size_t n;
	const char *sysfs;
	size_t *sb;         /* index of the first mount of the same superblock */
	dev_t *dev;         /* stat() of the mount point, when state is 1 */
	signed char *state; /* 0: not tried yet, 1: dev is valid, -1: stat() failed */
};

struct sb_key {
	unsigned major, minor;
	size_t i;
};

static int sb_key_cmp(const void *a, const void *b)
{
	const struct sb_key *x = a, *y = b;

	if (x->major != y->major)
		return x->major < y->major ? -1 : 1;
	if (x->minor != y->minor)
		return x->minor < y->minor ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void mounts_done(struct mounts *ms)
{
	free(ms->sb);
	free(ms->dev);
	free(ms->state);
}

static int mounts_init(struct mounts *ms, const struct vss_mount *all, size_t n, const char *sysfs)
{
	_cleanup_free_ struct sb_key *k = NULL;

	*ms = (struct mounts){ .all = all, .n = n, .sysfs = sysfs };
	ms->sb = calloc(n ? n : 1, sizeof(*ms->sb));
	ms->dev = calloc(n ? n : 1, sizeof(*ms->dev));
	ms->state = calloc(n ? n : 1, sizeof(*ms->state));
	k = calloc(n ? n : 1, sizeof(*k));
	if (!ms->sb || !ms->dev || !ms->state || !k)
		return -ENOMEM; /* the caller's mounts_done frees */
	for (size_t i = 0; i < n; i++)
		k[i] = (struct sb_key){ all[i].major, all[i].minor, i };
	qsort(k, n, sizeof(*k), sb_key_cmp);
	for (size_t i = 0; i < n; i++)
		ms->sb[k[i].i] = i > 0 && k[i - 1].major == k[i].major && k[i - 1].minor == k[i].minor ?
					 ms->sb[k[i - 1].i] :
					 k[i].i;
	return 0;
}

/* st_dev of mount i's mount point, as stat() sees it (cached). */
static bool mount_dev(struct mounts *ms, size_t i, dev_t *ret)
{
	if (ms->state[i] == 0) {
		struct stat st;

		if (stat(ms->all[i].path, &st) == 0) {
			ms->dev[i] = st.st_dev;
			ms->state[i] = 1;
		} else
			ms->state[i] = -1;
	}
	if (ms->state[i] < 0)
		return false;
	*ret = ms->dev[i];
	return true;
}

/*
 * The mount whose filesystem a st_dev (of a file, a directory) belongs to:
 * one whose mountinfo MAJ:MIN is that number, else (btrfs subvolumes: each
 * has its own anonymous device) one whose mount point stat()s to it. Only
 * mounts of block devices are stat()ed for that, never a network filesystem
 * that could hang. -1: none.
 */
static ssize_t mount_of_dev(struct mounts *ms, dev_t d)
{
	for (size_t i = 0; i < ms->n; i++)
		if (dev_is(d, ms->all[i].major, ms->all[i].minor))
			return (ssize_t)i;
	for (size_t i = 0; i < ms->n; i++) {
		unsigned maj, min;
		dev_t md;

		if (block_device(&ms->all[i], &maj, &min) && mount_dev(ms, i, &md) && md == d)
			return (ssize_t)i;
	}
	return -1;
}

/* The mount holding a loop device's backing file: by its st_dev, else (deleted, not visible here) by name. */
static ssize_t backing_holder(struct mounts *ms, const char *backing)
{
	struct stat st;

	if (stat(backing, &st) == 0)
		return mount_of_dev(ms, st.st_dev);
	return mount_by_prefix(ms->all, ms->n, backing);
}

struct edge {
	size_t from, to; /* from is frozen before to */
};

static int edge_add(struct edge **e, size_t *n_e, size_t from, size_t to)
{
	struct edge *ne = realloc(*e, (*n_e + 1) * sizeof(**e));

	if (!ne)
		return -ENOMEM;
	*e = ne;
	(*e)[(*n_e)++] = (struct edge){ from, to };
	return 0;
}

/*
 * "Superblock a's block device sits on a loop device whose backing file is
 * on superblock b", for every superblock of a block device in mountinfo
 * (selected or not), as edges between superblocks (first-mount indices).
 */
static int backing_edges(struct mounts *ms, struct edge **ret, size_t *ret_n)
{
	_cleanup_free_ bool *walked = calloc(ms->n ? ms->n : 1, sizeof(*walked));
	struct edge *e = NULL;
	size_t n_e = 0;

	if (!walked)
		return -ENOMEM;
	for (size_t i = 0; i < ms->n; i++) {
		struct walk w = { .sysfs = ms->sysfs, .want_backing = true };
		unsigned maj, min;
		size_t a = ms->sb[i];

		if (walked[a] || !block_device(&ms->all[i], &maj, &min))
			continue;
		walked[a] = true;
		dev_walk(&w, maj, min, 0);
		for (size_t b = 0; b < w.n_backing && !w.oom; b++) {
			ssize_t h = backing_holder(ms, w.backing[b]);

			if (h < 0 || ms->sb[h] == a)
				continue;
			if (edge_add(&e, &n_e, a, ms->sb[h]) < 0)
				w.oom = true;
			else
				log_debug("vss: %s is backed by %s on %s", ms->all[i].path, w.backing[b],
					  ms->all[h].path);
		}
		if (w.oom) {
			walk_done(&w);
			free(e);
			return -ENOMEM;
		}
		walk_done(&w);
	}
	*ret = e;
	*ret_n = n_e;
	return 0;
}

/*
 * Freeze order of the selection sel[0..n) (indices into ms->all, one per
 * superblock):
 *  1. a filesystem on a loop device (or on something stacked on one) comes
 *     before the filesystem holding the backing file, followed transitively
 *     through every mount, selected or not (A in an image on B, B in an
 *     image on C: A before C even when B is not frozen): freezing the lower
 *     one first would block the upper one's writeback to its image, so the
 *     upper one could never finish its FIFREEZE sync;
 *  2. among the ones that constraint leaves free, deeper mount points (more
 *     path components) first, so "/" (0 components) is last; ties keep
 *     mountinfo order.
 * Kahn's algorithm; the constraints come from sysfs and cannot form a cycle,
 * but if they did, the rest is placed by rule 2 alone, with a warning.
 */
static int order(struct mounts *ms, size_t *sel, size_t n)
{
	const struct vss_mount *all = ms->all;
	_cleanup_free_ struct edge *sbe = NULL, *e = NULL;
	_cleanup_free_ size_t *indeg = NULL, *out = NULL, *pos = NULL, *stack = NULL;
	_cleanup_free_ bool *done = NULL, *seen = NULL;
	size_t n_sbe = 0, n_e = 0, n_out = 0;
	int r;

	indeg = calloc(n ? n : 1, sizeof(*indeg));
	out = calloc(n ? n : 1, sizeof(*out));
	done = calloc(n ? n : 1, sizeof(*done));
	pos = calloc(ms->n ? ms->n : 1, sizeof(*pos));     /* superblock -> 1 + position in sel, or 0 */
	seen = calloc(ms->n ? ms->n : 1, sizeof(*seen));
	stack = calloc(ms->n ? ms->n : 1, sizeof(*stack)); /* also the list of seen ones, to reset */
	if (!indeg || !out || !done || !pos || !seen || !stack)
		return -ENOMEM;
	if (n > 1) {
		r = backing_edges(ms, &sbe, &n_sbe);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++)
		pos[ms->sb[sel[i]]] = i + 1;

	/* Every superblock reachable from a selected one's, reduced to the selection. */
	for (size_t i = 0; i < n && n_sbe > 0; i++) {
		size_t top = 0, n_seen = 0, start = ms->sb[sel[i]];

		seen[start] = true;
		stack[n_seen++] = start;
		while (top < n_seen) {
			size_t v = stack[top++];

			for (size_t k = 0; k < n_sbe; k++) {
				size_t t = sbe[k].to;

				if (sbe[k].from != v || seen[t])
					continue;
				seen[t] = true;
				stack[n_seen++] = t;
				if (pos[t] == 0)
					continue;
				if (edge_add(&e, &n_e, i, pos[t] - 1) < 0)
					return -ENOMEM;
				indeg[pos[t] - 1]++;
				log_debug("vss: %s sits on a file on %s: frozen before it", all[sel[i]].path,
					  all[sel[pos[t] - 1]].path);
			}
		}
		for (size_t k = 0; k < n_seen; k++)
			seen[stack[k]] = false;
	}

	while (n_out < n) {
		ssize_t best = -1;
		bool forced = false;

		for (int pass = 0; pass < 2 && best < 0; pass++) {
			for (size_t i = 0; i < n; i++) {
				if (done[i] || (pass == 0 && indeg[i] > 0))
					continue;
				if (best < 0 ||
				    path_depth(all[sel[i]].path) > path_depth(all[sel[best]].path))
					best = (ssize_t)i;
			}
			forced = pass == 1;
		}
		if (forced)
			log_warning("vss: the loop-device constraints form a cycle at %s, ignored",
				    all[sel[best]].path);
		done[best] = true;
		out[n_out++] = sel[best];
		for (size_t k = 0; k < n_e; k++)
			if (e[k].from == (size_t)best && indeg[e[k].to] > 0)
				indeg[e[k].to]--;
	}
	memcpy(sel, out, n * sizeof(*sel));
	return 0;
}

static int mount_copy(struct vss_mount *dst, const struct vss_mount *src)
{
	*dst = *src;
	dst->path = strdup(src->path);
	dst->source = strdup(src->source);
	dst->fstype = strdup(src->fstype);
	if (!dst->path || !dst->source || !dst->fstype) {
		mount_done(dst);
		return -ENOMEM;
	}
	return 0;
}

/* Why the default selection leaves a mount out; NULL: it is selected. */
static const char *default_skip(const struct vss_mount *m, const char *sysfs)
{
	unsigned maj, min;

	if (!block_device(m, &maj, &min))
		return "not a block device";
	if (m->read_only)
		return "read-only";
	/*
	 * The kernel's daemon skips vfat only (the EFI system partition: FAT
	 * has no freeze support worth the name); msdos and exfat are left to
	 * FIFREEZE, like it does.
	 */
	if (strcmp(m->fstype, "vfat") == 0)
		return "vfat";
	if (loop_backed(sysfs, maj, min))
		return "loop-backed (its backing file is backed up with its own filesystem)";
	return NULL;
}

int vss_select(const struct vss_config *c, struct vss_mount **ret, size_t *ret_n)
{
	const char *mi = c->mountinfo ? c->mountinfo : "/proc/self/mountinfo";
	const char *sysfs = c->sysfs_root ? c->sysfs_root : "/sys";
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ bool *chosen = NULL, *excluded = NULL;
	_cleanup_free_ size_t *sel = NULL;
	struct vss_mount *all = NULL, *res = NULL;
	struct mounts ms = { 0 };
	size_t n_all = 0, bad = 0, len, n_sel = 0;
	bool have_marker_dev = false, have_marker_mnt = false;
	dev_t marker_dev = 0;
	uint64_t marker_mnt = 0;
	ssize_t marker_mount = -1;
	int r;

	assert_return(c && ret && ret_n, -EINVAL);
	assert_return(c->n_include == 0 || c->include, -EINVAL);
	assert_return(c->n_exclude == 0 || c->exclude, -EINVAL);

	if (c->marker) {
		_cleanup_free_ char *dir = strdup(c->marker);
		char *slash;
		struct stat st;

		if (!dir)
			return -ENOMEM;
		slash = strrchr(dir, '/');
		if (!slash)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &st) < 0)
			return log_error_errno(-errno, "vss: cannot stat the marker's directory %s: %m", dir);
		marker_dev = st.st_dev;
		have_marker_dev = true;
		/* Mount IDs mean something against our own mountinfo only. */
		if (!c->mountinfo) {
			struct statx stx;

			if (statx(AT_FDCWD, dir, 0, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID)) {
				marker_mnt = stx.stx_mnt_id;
				have_marker_mnt = true;
			}
		}
	}

	r = read_file(mi, MOUNTINFO_MAX, &text, &len);
	if (r < 0)
		return log_error_errno(r, "vss: cannot read %s: %m", mi);
	r = vss_mountinfo_parse(text, len, &all, &n_all, &bad);
	if (r < 0)
		return r;
	if (bad)
		log_warning("vss: %s: %zu malformed lines ignored", mi, bad);
	r = mounts_init(&ms, all, n_all, sysfs);
	if (r < 0)
		goto out;

	/*
	 * The marker's filesystem (its superblock: every btrfs subvolume of it)
	 * is never frozen: the marker is written while the others are frozen.
	 */
	for (size_t i = 0; i < n_all && have_marker_mnt; i++)
		if ((uint64_t)all[i].id == marker_mnt)
			marker_mount = (ssize_t)i;
	if (marker_mount < 0 && have_marker_dev)
		marker_mount = mount_of_dev(&ms, marker_dev);

	chosen = calloc(n_all ? n_all : 1, sizeof(*chosen));
	excluded = calloc(n_all ? n_all : 1, sizeof(*excluded));
	sel = calloc(n_all ? n_all : 1, sizeof(*sel));
	if (!chosen || !excluded || !sel) {
		r = -ENOMEM;
		goto out;
	}

	/*
	 * Exclusion is by superblock: freezing another mount of an excluded
	 * one (a bind mount) would freeze it all the same.
	 */
	for (size_t k = 0; k < c->n_exclude; k++) {
		_cleanup_free_ char *p = normalise(c->exclude[k]);
		bool found = false;

		if (!p) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n_all; i++)
			if (strcmp(all[i].path, p) == 0) {
				found = true;
				excluded[ms.sb[i]] = true;
			}
		if (!found)
			log_info("vss: excluded mount point %s is not mounted, ignored", p);
	}

	if (c->n_include > 0) {
		/* Exactly these; a mount point mounted several times: the last one is visible. */
		for (size_t k = 0; k < c->n_include; k++) {
			_cleanup_free_ char *p = normalise(c->include[k]);
			ssize_t last = -1;

			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			for (size_t i = 0; i < n_all; i++)
				if (strcmp(all[i].path, p) == 0)
					last = (ssize_t)i;
			if (last < 0) {
				r = log_error_errno(-ENOENT, "vss: included mount point %s is not mounted", p);
				goto out;
			}
			/* Nothing can be written to it: freezing it gains nothing and it stays usable. */
			if (all[last].read_only) {
				log_info("vss: included mount point %s is read-only, not frozen", p);
				continue;
			}
			chosen[last] = true;
		}
	} else {
		for (size_t i = 0; i < n_all; i++) {
			const char *why = default_skip(&all[i], sysfs);

			/* Mounted over later: its path leads to the other one, so it cannot be reached. */
			for (size_t j = i + 1; j < n_all && !why; j++)
				if (strcmp(all[i].path, all[j].path) == 0)
					why = "hidden by a later mount on the same mount point";

			if (why)
				log_debug("vss: %s: %s, not frozen", all[i].path, why);
			else
				chosen[i] = true;
		}
	}

	for (size_t i = 0; i < n_all; i++) {
		bool dup = false;

		if (!chosen[i])
			continue;
		if (excluded[ms.sb[i]]) {
			log_info("vss: %s is excluded, not frozen", all[i].path);
			continue;
		}
		if (marker_mount >= 0 && same_dev(&all[marker_mount], &all[i])) {
			log_warning("vss: %s is the filesystem of the runtime directory (the marker %s): it is NOT "
				    "frozen and the host's backup will not include it consistently; put the runtime "
				    "directory on a tmpfs such as /run",
				    all[i].path, c->marker);
			continue;
		}
		/* Each superblock once: its first mount. */
		for (size_t k = 0; k < n_sel && !dup; k++)
			dup = same_dev(&all[sel[k]], &all[i]);
		if (dup) {
			log_debug("vss: %s is another mount of a filesystem already selected", all[i].path);
			continue;
		}
		sel[n_sel++] = i;
	}

	r = order(&ms, sel, n_sel);
	if (r < 0)
		goto out;
	res = calloc(n_sel ? n_sel : 1, sizeof(*res));
	if (!res) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n_sel; k++) {
		r = mount_copy(&res[k], &all[sel[k]]);
		if (r < 0) {
			vss_mounts_free(res, k);
			goto out;
		}
		/* What FIFREEZE's pre-check, the marker and vss_recover compare with. */
		res[k].have_dev = mount_dev(&ms, sel[k], &res[k].dev);
	}
	*ret = res;
	*ret_n = n_sel;
	r = 0;
out:
	mounts_done(&ms);
	vss_mounts_free(all, n_all);
	return r;
}

/* ---- the marker ------------------------------------------------------------ */

/*
 * The marker lists what this instance may have frozen, one "MAJ:MIN PATH"
 * line per filesystem: MAJ:MIN is the st_dev of the mount point PATH as
 * stat() sees it (not mountinfo's number: on btrfs that is the superblock's
 * 0:N, while every subvolume stat()s to a device of its own), PATH escaped
 * the mountinfo way. vss_recover thaws PATH only if it still stat()s to
 * MAJ:MIN.
 *
 * Its life while freezing: before each FIFREEZE it is rewritten to list what
 * is frozen by us so far plus the one about to be frozen; after the last
 * one, exactly what we froze (not the ones answering EBUSY: frozen by
 * someone else, theirs to thaw). So a kill at any instant leaves a marker
 * that covers everything we froze. The price: killed between a FIFREEZE
 * answering EBUSY and the next rewrite, the marker still lists that one
 * filesystem, and recovery thaws a freeze another party made. That window
 * is a few system calls wide and concerns one filesystem; the other way
 * round (listing a filesystem only after its FIFREEZE) a kill in the window
 * would leave a filesystem frozen for good, which is worse.
 *
 * Atomically replaced (a temporary file renamed over it): a reader sees the
 * old list or the new one. It lives in the runtime directory, never frozen
 * by us (its filesystem is kept out of the selection).
 */
/* Never logs (the guard thread calls it): returns a negative errno. */
static int marker_write_quiet(const char *marker, const struct frozen *fz, size_t n, const struct frozen *extra)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.XXXXXX", marker) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		goto fail;
	}
	for (size_t i = 0; i < n + !!extra; i++) {
		const struct frozen *z = i < n ? &fz[i] : extra;
		_cleanup_free_ char *e = escape(z->path);

		if (!e) {
			r = -ENOMEM;
			goto fail;
		}
		fprintf(f, "%u:%u %s\n", major(z->dev), minor(z->dev), e);
	}
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0) {
		r = errno ? -errno : -EIO;
		goto fail;
	}
	if (fclose(TAKE_PTR(f)) != 0) {
		r = -errno;
		goto fail;
	}
	if (rename(tmp, marker) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	unlink(tmp);
	return r;
}

static int marker_write(const char *marker, const struct frozen *fz, size_t n, const struct frozen *extra)
{
	int r = marker_write_quiet(marker, fz, n, extra);

	if (r < 0)
		return log_error_errno(r, "vss: cannot write the marker %s: %m", marker);
	return 0;
}

static void marker_remove(const char *marker)
{
	if (marker && unlink(marker) < 0 && errno != ENOENT)
		log_warning_errno(-errno, "vss: cannot remove the marker %s: %m", marker);
}

int vss_recover(const char *marker)
{
	_cleanup_free_ char *text = NULL;
	size_t len, thawed = 0;
	const char *p, *end;
	int r, first_err = 0;

	assert_return(marker, -EINVAL);
	r = read_file(marker, MARKER_MAX, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return log_error_errno(r, "vss: cannot read the marker %s: %m", marker);

	/* Filesystems may be frozen: keep log lines in memory until they are thawed. */
	log_defer_begin();
	log_warning("vss: %s exists: a previous instance was stopped while filesystems were frozen, thawing them",
		    marker);
	for (p = text, end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(le - p));
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -1;
		unsigned maj, min;
		struct stat st;
		bool oom = false;

		if (le == p)
			goto next;
		if (!sp || !parse_devnum(p, (size_t)(sp - p), &maj, &min) ||
		    !(path = unescape(sp + 1, (size_t)(le - sp - 1), &oom)) || path[0] != '/') {
			if (!path && oom && sp) {
				if (!first_err)
					first_err = -ENOMEM;
			} else
				log_warning("vss: %s: malformed line ignored", marker);
			goto next;
		}
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			log_warning_errno(-errno, "vss: %s (listed in the marker): %m, skipped", path);
			goto next;
		}
		/* MAJ:MIN is what the mount point stat()ed to when it was frozen. */
		if (fstat(fd, &st) < 0 || !dev_is(st.st_dev, maj, min)) {
			log_warning("vss: %s is no longer the filesystem %u:%u the marker lists, skipped", path,
				    maj, min);
			goto next;
		}
		if (ioctl(fd, FITHAW, 0) == 0) {
			thawed++;
			log_notice("vss: thawed %s (%u:%u), left frozen by a previous instance", path, maj, min);
		} else if (errno == EINVAL)
			log_info("vss: %s (%u:%u) was not frozen", path, maj, min);
		else {
			r = log_error_errno(-errno, "vss: cannot thaw %s (%u:%u): %m", path, maj, min);
			if (!first_err)
				first_err = r;
		}
next:
		p = nl ? nl + 1 : end;
	}
	log_defer_end();
	if (first_err < 0) {
		log_error("vss: keeping the marker %s: not everything it lists could be thawed", marker);
		return first_err;
	}
	marker_remove(marker);
	return (int)thawed;
}

/* ---- the freezer ----------------------------------------------------------- */

static char **strv_copy(char *const *v, size_t n)
{
	char **r = calloc(n ? n : 1, sizeof(*r));

	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(r[i] = strdup(v[i]))) {
			while (i > 0)
				free(r[--i]);
			free(r);
			return NULL;
		}
	return r;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool strdup_opt(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return !s || *dst;
}

int vss_freezer_new(const struct vss_config *c, struct vss_freezer **ret)
{
	struct vss_freezer *f;

	assert_return(c && ret, -EINVAL);
	assert_return(c->n_include == 0 || c->include, -EINVAL);
	assert_return(c->n_exclude == 0 || c->exclude, -EINVAL);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	{
		pthread_condattr_t ca;
		int k = pthread_condattr_init(&ca);

		if (k == 0) {
			k = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			if (k == 0)
				k = pthread_cond_init(&f->cond, &ca);
			pthread_condattr_destroy(&ca);
		}
		if (k == 0 && (k = pthread_mutex_init(&f->lock, NULL)) != 0)
			pthread_cond_destroy(&f->cond);
		if (k != 0) {
			free(f);
			return -k;
		}
	}
	f->pending.fd = -1;
	f->include = strv_copy(c->include, c->n_include);
	f->n_include = c->n_include;
	f->exclude = strv_copy(c->exclude, c->n_exclude);
	f->n_exclude = c->n_exclude;
	if (!f->include || !f->exclude || !strdup_opt(&f->mountinfo, c->mountinfo) ||
	    !strdup_opt(&f->sysfs_root, c->sysfs_root) || !strdup_opt(&f->marker, c->marker)) {
		vss_freezer_free(f);
		return -ENOMEM;
	}
	*ret = f;
	return 0;
}

static void fz_clear(struct vss_freezer *f)
{
	for (size_t i = 0; i < f->n_fz; i++) {
		if (f->fz[i].fd >= 0)
			close(f->fz[i].fd);
		free(f->fz[i].path);
	}
	free(f->fz);
	f->fz = NULL;
	f->n_fz = 0;
	strv_free(f->busy, f->n_busy);
	f->busy = NULL;
	f->n_busy = 0;
}

void vss_freezer_free(struct vss_freezer *f)
{
	if (!f)
		return;
	if (f->guard_started) {
		pthread_mutex_lock(&f->lock);
		f->guard_quit = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		(void)pthread_join(f->guard, NULL);
		f->guard_started = false;
	}
	/*
	 * Never leave the guest frozen behind a freed object. What cannot be
	 * thawed even now stays listed in the marker for the next start's
	 * vss_recover (and the log stays deferred: writing it could block).
	 * Not frozen, this only logs what the guard did, if it did anything.
	 */
	(void)vss_thaw_all(f);
	fz_clear(f);
	free(f->pending.path);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	strv_free(f->include, f->n_include);
	strv_free(f->exclude, f->n_exclude);
	free(f->mountinfo);
	free(f->sysfs_root);
	free(f->marker);
	free(f);
}

/* The queries take a const freezer, but the lock is not const. */
static struct vss_freezer *unconst(const struct vss_freezer *f)
{
	return (struct vss_freezer *)(uintptr_t)f;
}

bool vss_freezer_frozen(const struct vss_freezer *f)
{
	struct vss_freezer *m = unconst(f);
	bool r;

	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	r = m->frozen;
	pthread_mutex_unlock(&m->lock);
	return r;
}

size_t vss_freezer_count(const struct vss_freezer *f)
{
	struct vss_freezer *m = unconst(f);
	size_t r;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	r = m->frozen ? m->n_fz : 0;
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* ---- the guard ------------------------------------------------------------- */

static bool deadline_passed(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/*
 * The guard thread, lock held: the deadline passed with something frozen (or
 * a FIFREEZE running). FITHAW everything frozen so far, in reverse order;
 * the marker then lists only what is left (and the FIFREEZE still running,
 * whose caller thaws it when it returns), or goes. No log line here.
 */
static void guard_thaw(struct vss_freezer *f)
{
	size_t kept = 0;
	int r;

	for (size_t i = f->n_fz; i-- > 0;) {
		struct frozen *z = &f->fz[i];

		if (z->fd < 0)
			continue;
		if (ioctl(z->fd, FITHAW, 0) == 0 || errno == EINVAL) {
			f->guard_thawed++;
			close(z->fd);
			z->fd = -1;
		} else {
			if (!f->guard_err)
				f->guard_err = -errno;
			f->guard_failed++;
		}
	}
	for (size_t i = 0; i < f->n_fz; i++) {
		if (f->fz[i].fd >= 0)
			f->fz[kept++] = f->fz[i];
		else
			free(f->fz[i].path);
	}
	f->n_fz = kept;
	if (f->marker) {
		if (f->n_fz == 0 && !f->in_progress) {
			if (unlink(f->marker) < 0 && errno != ENOENT && !f->guard_marker_err)
				f->guard_marker_err = -errno;
		} else {
			r = marker_write_quiet(f->marker, f->fz, f->n_fz, f->in_progress ? &f->pending : NULL);
			if (r < 0 && !f->guard_marker_err)
				f->guard_marker_err = r;
		}
	}
	if (f->n_fz == 0)
		f->frozen = false;
	f->guard_fired = true;
	f->guard_report = f->n_fz == 0;
}

static void *guard_main(void *arg)
{
	struct vss_freezer *f = arg;

	pthread_mutex_lock(&f->lock);
	while (!f->guard_quit) {
		if (!f->armed)
			(void)pthread_cond_wait(&f->cond, &f->lock);
		else if (!deadline_passed(&f->t_deadline))
			(void)pthread_cond_timedwait(&f->cond, &f->lock, &f->t_deadline);
		else {
			f->armed = false;
			if (f->n_fz > 0 || f->in_progress)
				guard_thaw(f);
		}
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* Lock held: the deadline starts now (the first FIFREEZE); the guard thread is started on first use. */
static int guard_arm(struct vss_freezer *f)
{
	if (f->deadline_ms == 0)
		return 0;
	if (!f->guard_started) {
		sigset_t all, old;
		int k;

		/* Signals are for the caller's thread (its event loop blocks them anyway). */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		k = pthread_create(&f->guard, NULL, guard_main, f);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (k != 0)
			return -k;
		f->guard_started = true;
	}
	clock_gettime(CLOCK_MONOTONIC, &f->t_deadline);
	f->t_deadline.tv_sec += f->deadline_ms / 1000;
	f->t_deadline.tv_nsec += (long)(f->deadline_ms % 1000) * 1000000L;
	if (f->t_deadline.tv_nsec >= 1000000000L) {
		f->t_deadline.tv_sec++;
		f->t_deadline.tv_nsec -= 1000000000L;
	}
	f->armed = true;
	pthread_cond_signal(&f->cond);
	return 0;
}

static void guard_disarm(struct vss_freezer *f)
{
	if (!f->armed)
		return;
	f->armed = false;
	pthread_cond_signal(&f->cond);
}

/*
 * The caller's thread, lock held, outside vss_freeze_all: log what the guard
 * did, once; nothing left frozen ends the freeze (the guard removed the
 * marker; the deferred log is written now).
 */
static void guard_settle(struct vss_freezer *f)
{
	if (!f->guard_fired || f->guard_logged)
		return;
	f->guard_logged = true;
	log_error("vss: the freezer's guard thawed %zu filesystem(s): still frozen %u ms after the first FIFREEZE",
		  f->guard_thawed, f->deadline_ms);
	if (f->guard_failed) {
		errno = -f->guard_err;
		log_error_errno(f->guard_err, "vss: the guard could not thaw %zu filesystem(s): %m; the next thaw "
			       "tries again", f->guard_failed);
	}
	if (f->guard_marker_err) {
		errno = -f->guard_marker_err;
		log_warning_errno(f->guard_marker_err, "vss: the guard could not update the marker %s: %m",
				  f->marker);
	}
	if (!f->frozen) {
		fz_clear(f);
		log_defer_end();
	}
}

void vss_freezer_set_deadline(struct vss_freezer *f, unsigned msec)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->deadline_ms = msec;
	if (msec == 0)
		guard_disarm(f);
	pthread_mutex_unlock(&f->lock);
}

bool vss_freezer_take_guard_thawed(struct vss_freezer *f)
{
	bool r;

	if (!f)
		return false;
	pthread_mutex_lock(&f->lock);
	guard_settle(f);
	r = f->guard_report;
	f->guard_report = false;
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* "a, b, c" of up to SUMMARY_MAX bytes, into buf. */
static void join_paths(char *buf, size_t size, const struct frozen *fz, size_t n, char *const *names,
		       size_t n_names, bool reverse)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t j = 0; j < n + n_names; j++) {
		size_t i = reverse && j < n ? n - 1 - j : j;
		const char *s = i < n ? fz[i].path : names[i - n];
		int k = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", s);

		if (k < 0 || (size_t)k >= size - o) {
			if (size > 4)
				strcpy(buf + size - 4, "...");
			return;
		}
		o += (size_t)k;
	}
}

/*
 * Thaws f->fz in reverse. The ones thawed (or found thawed: EINVAL) are
 * dropped, their fds closed; the ones whose FITHAW failed stay, in order,
 * fd open, for a later retry. Returns the first error; the errors are logged
 * (deferred when still deferring).
 */
static int thaw_list(struct vss_freezer *f, size_t *ret_thawed)
{
	size_t thawed = 0, kept = 0;
	int first_err = 0;

	for (size_t i = f->n_fz; i-- > 0;) {
		struct frozen *z = &f->fz[i];

		if (z->fd < 0)
			continue;
		if (ioctl(z->fd, FITHAW, 0) == 0)
			thawed++;
		else if (errno == EINVAL)
			log_info("vss: %s was thawed by someone else", z->path);
		else {
			int r = log_error_errno(-errno, "vss: THAW of %s failed: %m", z->path);

			if (!first_err)
				first_err = r;
			continue;
		}
		close(z->fd);
		z->fd = -1;
	}
	for (size_t i = 0; i < f->n_fz; i++) {
		if (f->fz[i].fd >= 0)
			f->fz[kept++] = f->fz[i];
		else
			free(f->fz[i].path);
	}
	f->n_fz = kept;
	if (ret_thawed)
		*ret_thawed = thawed;
	return first_err;
}

/*
 * After a thaw (or a freeze's roll-back): nothing left frozen ends the
 * freeze: the marker goes and the deferred log is written. Otherwise the
 * marker is rewritten to list only what is left (best effort: the old one
 * lists more, never less) and the log stays deferred, since writing it
 * could block on what is still frozen.
 */
static void after_thaw(struct vss_freezer *f)
{
	if (f->n_fz == 0) {
		marker_remove(f->marker);
		f->frozen = false;
		guard_disarm(f);
		log_defer_end();
		return;
	}
	f->frozen = true;
	if (f->marker)
		(void)marker_write(f->marker, f->fz, f->n_fz, NULL);
	log_error("vss: %zu filesystems could not be thawed; they stay listed in the marker %s and the next "
		  "thaw tries them again",
		  f->n_fz, f->marker ? f->marker : "(none)");
}

/* Whether fd still is the mount m was selected as: its stat() identity, and its mount ID when known. */
static bool still_the_mount(int fd, const struct vss_mount *m, bool check_id)
{
	struct stat st;

	if (!m->have_dev || fstat(fd, &st) < 0 || st.st_dev != m->dev)
		return false;
	if (check_id) {
		struct statx stx;

		if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID) &&
		    stx.stx_mnt_id != (uint64_t)m->id)
			return false;
	}
	return true;
}

static int freeze_all_locked(struct vss_freezer *f)
{
	struct vss_config c;
	struct vss_mount *m = NULL;
	size_t n = 0;
	const char *failed = NULL;
	bool armed = false;
	int r, err = 0;

	guard_settle(f);
	if (f->frozen)
		return 0;
	f->guard_fired = f->guard_logged = f->guard_report = false;
	f->guard_thawed = f->guard_failed = 0;
	f->guard_err = f->guard_marker_err = 0;

	c = (struct vss_config){
		.include = f->include,
		.n_include = f->n_include,
		.exclude = f->exclude,
		.n_exclude = f->n_exclude,
		.mountinfo = f->mountinfo,
		.sysfs_root = f->sysfs_root,
		.marker = f->marker,
	};
	r = vss_select(&c, &m, &n);
	if (r < 0)
		return r;
	fz_clear(f);
	f->fz = calloc(n ? n : 1, sizeof(*f->fz));
	f->busy = calloc(n ? n : 1, sizeof(*f->busy));
	if (!f->fz || !f->busy) {
		r = -ENOMEM;
		goto out;
	}

	log_defer_begin();
	clock_gettime(CLOCK_MONOTONIC, &f->t_frozen);
	for (size_t i = 0; i < n; i++) {
		struct frozen *z = &f->pending;
		int fd, k, e;

		/* The guard's deadline passed (during an EBUSY FIFREEZE): stop here. */
		if (f->guard_fired) {
			err = -ETIMEDOUT;
			failed = m[i].path;
			break;
		}
		/* Everything the entry needs before FIFREEZE: nothing can fail after it. */
		*z = (struct frozen){ .path = strdup(m[i].path), .dev = m[i].dev, .fd = -1 };
		if (!z->path) {
			err = -ENOMEM;
			failed = m[i].path;
			break;
		}
		/* Listed before it is frozen: ours so far and this one. */
		if (f->marker) {
			err = marker_write(f->marker, f->fz, f->n_fz, z);
			if (err < 0) {
				failed = m[i].path;
				break;
			}
		}
		fd = open(m[i].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			err = -errno;
			failed = m[i].path;
			break;
		}
		/* Something else mounted there since the selection: never freeze blind. */
		if (!still_the_mount(fd, &m[i], !f->mountinfo)) {
			err = -ESTALE;
			failed = m[i].path;
			close(fd);
			break;
		}
		/* The guard's deadline counts from the first FIFREEZE. */
		if (!armed) {
			err = guard_arm(f);
			if (err < 0) {
				failed = m[i].path;
				close(fd);
				break;
			}
			armed = true;
		}
		/*
		 * FIFREEZE may block for long (it syncs; it waits for writers):
		 * the guard must be able to thaw the others meanwhile. It knows
		 * this one is in progress (it may become frozen after the guard
		 * looked): the guard keeps it in the marker, and we thaw it
		 * below if the guard fired meanwhile.
		 */
		f->in_progress = true;
		pthread_mutex_unlock(&f->lock);
		k = ioctl(fd, FIFREEZE, 0);
		e = errno;
		pthread_mutex_lock(&f->lock);
		f->in_progress = false;
		if (k < 0) {
			if (e == EBUSY) {
				/* Frozen by someone else (or through another mount): theirs to thaw. */
				f->busy[f->n_busy++] = TAKE_PTR(z->path);
				close(fd);
				continue;
			}
			err = -e;
			failed = m[i].path;
			close(fd);
			break;
		}
		z->fd = fd;
		f->fz[f->n_fz++] = *z;
		*z = (struct frozen){ .fd = -1 };
		/* The guard fired while this FIFREEZE ran: the roll-back below thaws this one too. */
		if (f->guard_fired) {
			err = -ETIMEDOUT;
			failed = m[i].path;
			break;
		}
	}
	free(f->pending.path); /* the entry being prepared when the loop ended, if any */
	f->pending.path = NULL;
	if (err == 0 && f->guard_fired) { /* cannot happen: the lock is held since the last FIFREEZE */
		err = -ETIMEDOUT;
		failed = n ? m[n - 1].path : "(none)";
	}

	if (err < 0) {
		size_t thawed = 0;
		int k;

		if (f->guard_fired) {
			/* Reported by this error, not by vss_freezer_take_guard_thawed. */
			f->guard_logged = true;
			f->guard_report = false;
			log_error("vss: FREEZE did not finish within %u ms (at %s): the freezer's guard thawed %zu "
				  "filesystem(s) frozen so far", f->deadline_ms, failed, f->guard_thawed);
			if (f->guard_failed) {
				errno = -f->guard_err;
				log_error_errno(f->guard_err, "vss: the guard could not thaw %zu filesystem(s): %m",
						f->guard_failed);
			}
			if (f->guard_marker_err) {
				errno = -f->guard_marker_err;
				log_warning_errno(f->guard_marker_err, "vss: the guard could not update the marker %s: %m",
						  f->marker);
			}
		}
		k = thaw_list(f, &thawed);
		errno = -err;
		log_error_errno(err, "vss: FREEZE of %s failed: %m; thawed %zu filesystems", failed, thawed);
		if (k < 0)
			log_error("vss: some filesystems could not be thawed: vss_thaw_all tries again");
		after_thaw(f);
		if (!f->frozen)
			fz_clear(f);
		r = err;
		goto out;
	}

	/* Exactly what we froze: the EBUSY ones are someone else's. */
	if (f->marker && f->n_busy > 0)
		(void)marker_write(f->marker, f->fz, f->n_fz, NULL);
	f->frozen = true;
	{
		char list[SUMMARY_MAX];

		join_paths(list, sizeof(list), f->fz, f->n_fz, NULL, 0, false);
		log_info("vss: froze %zu filesystems: %s", f->n_fz, f->n_fz ? list : "(none)");
	}
	r = (int)f->n_fz;
out:
	vss_mounts_free(m, n);
	return r;
}

int vss_freeze_all(struct vss_freezer *f)
{
	int r;

	assert_return(f, -EINVAL);
	pthread_mutex_lock(&f->lock);
	r = freeze_all_locked(f);
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int thaw_all_locked(struct vss_freezer *f)
{
	struct timespec now;
	char list[SUMMARY_MAX];
	size_t thawed = 0, n = 0;
	double secs;
	int r;

	/* The guard thawed everything already: nothing left to do. */
	guard_settle(f);
	if (!f->frozen)
		return 0;

	/* For the summary, before thaw_list drops the thawed ones. */
	n = f->n_fz;
	join_paths(list, sizeof(list), f->fz, f->n_fz, NULL, 0, true);
	r = thaw_list(f, &thawed);
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - f->t_frozen.tv_sec) + (double)(now.tv_nsec - f->t_frozen.tv_nsec) / 1e9;
	if (f->n_busy) {
		char busy[SUMMARY_MAX];

		join_paths(busy, sizeof(busy), NULL, 0, f->busy, f->n_busy, false);
		log_info("vss: left alone (already frozen by someone else when we froze): %s", busy);
	}
	log_info("vss: thawed %zu of %zu filesystems after %.3f s frozen, in this order: %s", thawed, n, secs,
		 n ? list : "(none)");
	/*
	 * Whatever could not be thawed stays frozen, listed in the marker, fd
	 * open: the next vss_thaw_all (or the next start's vss_recover) tries
	 * it again. The log stays deferred until everything is thawed.
	 */
	after_thaw(f);
	if (!f->frozen)
		fz_clear(f);
	return r;
}

int vss_thaw_all(struct vss_freezer *f)
{
	int r;

	assert_return(f, -EINVAL);
	pthread_mutex_lock(&f->lock);
	r = thaw_all_locked(f);
	pthread_mutex_unlock(&f->lock);
	return r;
}
