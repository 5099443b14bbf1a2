/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-vssd's freezer. Parsing, selection and order run on FAKE mountinfo
 * files and FAKE sysfs trees in a scratch directory: nothing real is ever
 * selected there. The real FIFREEZE/FITHAW tests (root only) freeze nothing
 * but ext4 images they loop-mount in their own scratch directory, through an
 * include list, and their teardown thaws (after checking the device number),
 * unmounts and removes everything whatever happened.
 */
#include "config.h"

#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vss-freeze.h"

static unsigned fail_thaws;

/* A vss_freeze_all running in a thread of its own (the guard tests); joined and freed by teardown. */
struct bg_freeze {
	struct vss_freezer *f;
	pthread_t thread;
	bool started;
	int r;
	bool done; /* under lock */
	pthread_mutex_t lock;
};
static struct bg_freeze bg = { .lock = PTHREAD_MUTEX_INITIALIZER };
static unsigned slow_freeze_nth, slow_freeze_ms, n_freezes_seen;
static const char *snap_marker;
static size_t n_snaps;

/* ---- scratch helpers -------------------------------------------------------- */

struct ctx {
	char tmp[PATH_MAX];
	char sys[PATH_MAX];       /* the fake sysfs root */
	char mountinfo[PATH_MAX]; /* the fake mountinfo */
	char run[PATH_MAX];       /* the marker's directory */
	char marker[PATH_MAX];

	/* Real mounts (root tests). */
	char img[2][PATH_MAX];
	char mnt[2][PATH_MAX];
	dev_t dev[2];
	bool mounted[2];
	char ram[PATH_MAX];
	bool ram_mounted;
	pid_t child[4];
	size_t n_child;
	int saved_stderr; /* >= 0: stderr is redirected, this is the original */
	bool btrfs;       /* mnt[0], mnt[1]: a btrfs and a subvolume of it */
};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	PATHF(buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	assert_true(mkdir(buf, 0755) == 0 || errno == EEXIST);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(c);
	PATHF(c->tmp, "%s/test-vss-freeze.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(c->tmp));
	PATHF(c->sys, "%s/sys", c->tmp);
	PATHF(c->mountinfo, "%s/mountinfo", c->tmp);
	PATHF(c->run, "%s/run", c->tmp);
	PATHF(c->marker, "%s/run/frozen", c->tmp);
	mkdir_p(c->sys);
	mkdir_p(c->run);
	c->saved_stderr = -1;
	*state = c;
	return 0;
}

/* FITHAW path only if it still is the filesystem we mounted there. */
static void thaw_if_ours(const char *path, dev_t dev)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_dev == dev)
		(void)ioctl(fd, FITHAW, 0);
	close(fd);
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fail_thaws = 0;
	slow_freeze_nth = slow_freeze_ms = n_freezes_seen = 0;
	snap_marker = NULL;
	n_snaps = 0;
	if (c->saved_stderr >= 0) {
		dup2(c->saved_stderr, STDERR_FILENO);
		close(c->saved_stderr);
	}
	/* A test failed with its freeze still running: let it end, then thaw through the freezer. */
	if (bg.started) {
		pthread_join(bg.thread, NULL);
		bg.started = false;
	}
	vss_freezer_free(bg.f);
	bg.f = NULL;
	bg.done = false;
	/* Thaw first: a writer blocked on a frozen filesystem cannot even be killed. */
	for (int i = 0; i < 2; i++)
		if (c->mounted[i])
			thaw_if_ours(c->mnt[i], c->dev[i]);
	for (size_t i = 0; i < c->n_child; i++) {
		kill(c->child[i], SIGKILL);
		waitpid(c->child[i], NULL, 0);
	}
	for (int i = 0; i < 2; i++)
		if (c->mounted[i] && umount2(c->mnt[i], 0) < 0)
			umount2(c->mnt[i], MNT_DETACH);
	if (c->ram_mounted)
		umount2(c->ram, MNT_DETACH);
	test_rm_rf(c->tmp);
	free(c);
	return 0;
}

/* ---- mountinfo parsing ------------------------------------------------------ */

static void parse(const char *text, struct vss_mount **m, size_t *n, size_t *bad)
{
	assert_int_equal(vss_mountinfo_parse(text, strlen(text), m, n, bad), 0);
}

static void test_parse_real(void **state)
{
	const char *text =
		"22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
		"27 1 254:3 / / rw,relatime shared:1 master:7 - ext4 /dev/vda3 rw,discard\n"
		"42 27 254:3 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda3 rw\n"
		"50 27 8:17 / /mnt/ro ro,relatime - xfs /dev/sdb1 rw\n"
		"51 27 8:18 / /mnt/sro rw,relatime - ext4 /dev/sdb2 ro,errors=remount-ro\n"
		"52 27 8:19 / /mnt/ok rw,relatime - ext4 /dev/sdb3 rw,errors=remount-ro,noroot\n"
		"53 27 259:1 / /boot/efi rw - vfat /dev/nvme0n1p1 rw,fmask=0077"; /* no final newline */
	struct vss_mount *m;
	size_t n, bad;

	(void)state;
	parse(text, &m, &n, &bad);
	assert_int_equal(n, 7);
	assert_int_equal(bad, 0);
	assert_string_equal(m[0].path, "/proc");
	assert_string_equal(m[0].fstype, "proc");
	assert_string_equal(m[0].source, "proc");
	assert_int_equal(m[0].major, 0);
	assert_int_equal(m[0].minor, 21);
	assert_string_equal(m[1].path, "/");
	assert_string_equal(m[1].source, "/dev/vda3");
	assert_int_equal(m[1].major, 254);
	assert_int_equal(m[1].minor, 3);
	assert_false(m[1].read_only);
	assert_string_equal(m[2].path, "/run/netns");
	assert_true(m[3].read_only);  /* per-mount */
	assert_true(m[4].read_only);  /* per-superblock */
	assert_false(m[5].read_only); /* "errors=remount-ro", "noroot" are not "ro" */
	assert_string_equal(m[6].path, "/boot/efi");
	assert_string_equal(m[6].fstype, "vfat");
	assert_int_equal(m[6].major, 259);
	vss_mounts_free(m, n);
}

static void test_parse_escapes(void **state)
{
	const char *text = "60 27 7:1 / /mnt/a\\040b\\011c\\012d\\134e rw - ext4 /dev/disk\\040x rw\n"
			   "61 27 7:2 / /mnt/\\134\\134\\040 rw - fuse.my\\040fs /dev/y rw\n"
			   "62 27 7:3 / /mnt/x\\0 rw - ext4 /dev/z\\9 rw\n"    /* incomplete escapes stay */
			   "63 27 7:4 / /mnt/nul\\000x rw - ext4 /dev/n rw\n"; /* decodes to NUL: bad */
	struct vss_mount *m;
	size_t n, bad;

	(void)state;
	parse(text, &m, &n, &bad);
	assert_int_equal(n, 3);
	assert_int_equal(bad, 1);
	assert_string_equal(m[0].path, "/mnt/a b\tc\nd\\e");
	assert_string_equal(m[0].source, "/dev/disk x");
	assert_string_equal(m[1].path, "/mnt/\\\\ ");
	assert_string_equal(m[1].fstype, "fuse.my fs");
	assert_string_equal(m[2].path, "/mnt/x\\0");
	assert_string_equal(m[2].source, "/dev/z\\9");
	vss_mounts_free(m, n);
}

static void test_parse_garbage(void **state)
{
	const char *text = "garbage\n"
			   "1 2 8:1 / /x rw\n"                               /* no separator */
			   "1 2 8:1 / /x rw shared:1 - ext4\n"               /* truncated */
			   "1 2 8:1 / /x rw - ext4 /dev/sda\n"               /* no super options */
			   "a 2 8:1 / /x rw - ext4 /dev/sda rw\n"            /* id */
			   "1 2 8:x / /x rw - ext4 /dev/sda rw\n"            /* minor */
			   "1 2 8 / /x rw - ext4 /dev/sda rw\n"              /* no colon */
			   "1 2 99999999999:1 / /x rw - ext4 /dev/sda rw\n"  /* overflow */
			   "1 2 8:1 / relative rw - ext4 /dev/sda rw\n"      /* not absolute */
			   "\n"                                              /* empty: not counted */
			   "1 2 8:1 / /ok rw - ext4 /dev/sda rw extra\n"     /* extra fields ignored */
			   "1 2 8:2 / /ok2  rw  -  ext4 /dev/sdb rw\n";      /* doubled spaces */
	const char nul[] = "1 2 8:1 / /a\0b rw - ext4 /dev/sda rw\n1 2 8:3 / /c rw - ext4 /dev/sdc rw\n";
	struct vss_mount *m;
	size_t n, bad;

	(void)state;
	parse(text, &m, &n, &bad);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 9);
	assert_string_equal(m[0].path, "/ok");
	assert_string_equal(m[1].path, "/ok2");
	vss_mounts_free(m, n);

	assert_int_equal(vss_mountinfo_parse(nul, sizeof(nul) - 1, &m, &n, &bad), 0);
	assert_int_equal(n, 1);
	assert_int_equal(bad, 1);
	assert_string_equal(m[0].path, "/c");
	vss_mounts_free(m, n);

	assert_int_equal(vss_mountinfo_parse("", 0, &m, &n, &bad), 0);
	assert_int_equal(n, 0);
	assert_int_equal(bad, 0);
	vss_mounts_free(m, n);
}

/* Random bytes and shuffled pieces of real lines: no crash, every line accounted for. */
static void test_parse_random(void **state)
{
	static const char *const pieces[] = { "1", " ", "8:1", "/", "/mnt", "\\040", "\\", "\\1",
					      "-", "ext4", "/dev/sda", "rw", "ro", "shared:1", "\n", ":",
					      "\\777", "\\000", "\t" };
	uint32_t seed = 0x1234567u;
	char buf[600];

	(void)state;
	for (int iter = 0; iter < 4000; iter++) {
		size_t len = test_rand(&seed) % 512, o = 0, lines = 1, n, bad;
		struct vss_mount *m;

		while (o < len) {
			if (test_rand(&seed) % 3 == 0) {
				buf[o++] = (char)test_rand(&seed);
			} else {
				const char *p = pieces[test_rand(&seed) % ELEMENTSOF(pieces)];
				size_t l = strlen(p);

				if (o + l > len)
					break;
				memcpy(buf + o, p, l);
				o += l;
			}
		}
		for (size_t i = 0; i < o; i++)
			lines += buf[i] == '\n';
		assert_int_equal(vss_mountinfo_parse(buf, o, &m, &n, &bad), 0);
		assert_true(n + bad <= lines);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(m[i].path[0], '/');
			assert_non_null(m[i].source);
			assert_non_null(m[i].fstype);
		}
		vss_mounts_free(m, n);
	}
}

/* ---- fake sysfs and selection ------------------------------------------------ */

/* <sys>/dev/block/DEV, a loop device when backing is not NULL. */
static void fake_dev(struct ctx *c, const char *dev, const char *backing)
{
	char p[PATH_MAX];

	PATHF(p, "%s/dev/block/%s", c->sys, dev);
	mkdir_p(p);
	if (backing) {
		PATHF(p, "%s/dev/block/%s/loop", c->sys, dev);
		mkdir_p(p);
		PATHF(p, "%s/dev/block/%s/loop/backing_file", c->sys, dev);
		write_text(p, backing);
	}
}

/* DEV sits on the device NAME (number SDEV), found under <sys>/class/block or <sys>/block. */
static void fake_slave(struct ctx *c, const char *dev, const char *name, const char *sdev, bool class)
{
	char p[PATH_MAX], v[64];

	PATHF(p, "%s/dev/block/%s/slaves/%s", c->sys, dev, name);
	mkdir_p(p);
	PATHF(p, "%s/%s/%s", c->sys, class ? "class/block" : "block", name);
	mkdir_p(p);
	PATHF(p, "%s/%s/%s/dev", c->sys, class ? "class/block" : "block", name);
	PATHF(v, "%s\n", sdev);
	write_text(p, v);
}

/* The selection's mount points, space-separated, in freeze order. */
static int select_str(struct ctx *c, const char *const *inc, size_t n_inc, const char *const *exc,
		      size_t n_exc, bool marker, char *out, size_t size)
{
	struct vss_config cfg = {
		.include = (char *const *)inc,
		.n_include = n_inc,
		.exclude = (char *const *)exc,
		.n_exclude = n_exc,
		.mountinfo = c->mountinfo,
		.sysfs_root = c->sys,
		.marker = marker ? c->marker : NULL,
	};
	struct vss_mount *m = NULL;
	size_t n = 0, o = 0;
	int r = vss_select(&cfg, &m, &n);

	out[0] = '\0';
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		int k = snprintf(out + o, size - o, "%s%s", i ? " " : "", m[i].path);

		assert_true(k > 0 && (size_t)k < size - o);
		o += (size_t)k;
	}
	vss_mounts_free(m, n);
	return (int)n;
}

static const char *const SEL_MOUNTINFO =
	"1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"2 1 0:5 / /proc rw - proc proc rw\n"
	"3 1 0:20 / /run rw,nosuid shared:5 - tmpfs tmpfs rw\n"
	"4 1 8:2 / /ro ro,relatime - ext4 /dev/sda2 rw\n"
	"5 1 8:3 / /ro2 rw,relatime - ext4 /dev/sda3 ro\n"
	"6 1 8:4 / /boot/efi rw - vfat /dev/sda4 rw\n"
	"7 1 7:0 / /img rw - ext4 /dev/loop0 rw\n"
	"8 1 253:0 / /dmloop rw - ext4 /dev/mapper/onloop rw\n"
	"9 1 253:1 / /dm rw - xfs /dev/mapper/plain rw\n"
	"10 1 253:2 / /dmdm rw - xfs /dev/mapper/ondm rw\n"
	"11 1 8:5 / /srv rw - ext4 /dev/sda5 rw\n"
	"12 1 8:5 /data /srv2 rw - ext4 /dev/sda5 rw\n"
	"13 1 0:40 / /nfs rw - nfs server:/x rw\n"
	"14 1 0:41 / /weird rw - ext4 /dev/fake rw\n"
	"15 1 8:6 / /mnt rw - ext4 /dev/sda6 rw\n"
	"16 15 8:7 / /mnt rw - ext4 /dev/sda7 rw\n";

static void sel_tree(struct ctx *c)
{
	write_text(c->mountinfo, SEL_MOUNTINFO);
	fake_dev(c, "8:1", NULL);
	fake_dev(c, "7:0", "/images/a.img\n");
	fake_dev(c, "253:0", NULL);
	fake_slave(c, "253:0", "loop0", "7:0", true); /* dm on a loop device */
	fake_dev(c, "253:1", NULL);
	fake_slave(c, "253:1", "sda3", "8:3", true); /* dm on a disk */
	fake_dev(c, "8:3", NULL);
	fake_dev(c, "253:2", NULL);
	fake_slave(c, "253:2", "dm-0", "253:0", false); /* dm on dm on loop, via <sys>/block */
}

static void test_select_default(void **state)
{
	struct ctx *c = *state;
	char out[1024];

	sel_tree(c);
	/*
	 * Skipped: proc, tmpfs, nfs and the 0:41 "/dev/" source (not block
	 * devices), ro and ro2 (read-only), vfat, loop, dm on loop, dm on dm on
	 * loop, srv2 (the same superblock as srv), the first /mnt (hidden by
	 * the second: its path leads to the other superblock).
	 */
	assert_int_equal(select_str(c, NULL, 0, NULL, 0, false, out, sizeof(out)), 4);
	assert_string_equal(out, "/dm /srv /mnt /");
}

static void test_select_exclude(void **state)
{
	struct ctx *c = *state;
	const char *const ex1[] = { "/srv/", "/nothere" };
	const char *const ex2[] = { "/srv2" }; /* a bind mount: its superblock goes */
	const char *const ex3[] = { "//dm//" };
	char out[1024];

	sel_tree(c);
	assert_int_equal(select_str(c, NULL, 0, ex1, 2, false, out, sizeof(out)), 3);
	assert_string_equal(out, "/dm /mnt /");
	assert_int_equal(select_str(c, NULL, 0, ex2, 1, false, out, sizeof(out)), 3);
	assert_string_equal(out, "/dm /mnt /");
	assert_int_equal(select_str(c, NULL, 0, ex3, 1, false, out, sizeof(out)), 3);
	assert_string_equal(out, "/srv /mnt /");
}

static void test_select_include(void **state)
{
	struct ctx *c = *state;
	const char *const inc[] = { "/img/", "/run", "/dmloop" };
	const char *const inc_bind[] = { "/srv2", "/srv" };
	const char *const inc_typo[] = { "/srv", "/srvv" };
	const char *const inc_mnt[] = { "/mnt" };
	const char *const exc[] = { "/run" };
	struct vss_config cfg = { .include = (char *const *)inc_mnt, .n_include = 1 };
	struct vss_mount *m;
	size_t n;
	char out[1024];

	sel_tree(c);
	/* Exactly these, loop-backed or not; equal depth: mountinfo order. */
	assert_int_equal(select_str(c, inc, 3, NULL, 0, false, out, sizeof(out)), 3);
	assert_string_equal(out, "/run /img /dmloop");
	assert_int_equal(select_str(c, inc, 3, exc, 1, false, out, sizeof(out)), 2);
	assert_string_equal(out, "/img /dmloop");
	/* Two mounts of one superblock: once, the first in mountinfo order. */
	assert_int_equal(select_str(c, inc_bind, 2, NULL, 0, false, out, sizeof(out)), 1);
	assert_string_equal(out, "/srv");
	/* A typo is an error, never a smaller freeze. */
	assert_int_equal(select_str(c, inc_typo, 2, NULL, 0, false, out, sizeof(out)), -ENOENT);

	/* Mounted twice on /mnt: the visible one is the last. */
	cfg.mountinfo = c->mountinfo;
	cfg.sysfs_root = c->sys;
	assert_int_equal(vss_select(&cfg, &m, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].path, "/mnt");
	assert_int_equal(m[0].major, 8);
	assert_int_equal(m[0].minor, 7);
	vss_mounts_free(m, n);
}

static void test_select_marker(void **state)
{
	struct ctx *c = *state;
	const char *const inc[] = { "/markerfs", "/other" };
	struct stat st;
	char text[512], out[1024];

	/* A fake mount with the device number of the marker's real directory. */
	assert_int_equal(stat(c->run, &st), 0);
	PATHF(text,
	      "1 0 %u:%u / /markerfs rw - ext4 /dev/m rw\n"
	      "2 1 %u:%u / /other rw - ext4 /dev/o rw\n",
	      major(st.st_dev), minor(st.st_dev), major(st.st_dev) + 1, minor(st.st_dev));
	write_text(c->mountinfo, text);
	assert_int_equal(select_str(c, inc, 2, NULL, 0, true, out, sizeof(out)), 1);
	assert_string_equal(out, "/other");
	/* Without a marker, it would have been selected. */
	assert_int_equal(select_str(c, inc, 2, NULL, 0, false, out, sizeof(out)), 2);
	assert_string_equal(out, "/markerfs /other");
}

/* ---- order -------------------------------------------------------------------- */

static void test_order_nested(void **state)
{
	struct ctx *c = *state;
	char out[1024];

	write_text(c->mountinfo, "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
				 "2 1 8:2 / /home rw - ext4 /dev/sda2 rw\n"
				 "3 2 8:3 / /home/user/data rw - ext4 /dev/sda3 rw\n"
				 "4 1 8:4 / /boot rw - ext4 /dev/sda4 rw\n"
				 "5 3 8:5 / /home/user/data/x/y rw - ext4 /dev/sda5 rw\n");
	assert_int_equal(select_str(c, NULL, 0, NULL, 0, false, out, sizeof(out)), 5);
	assert_string_equal(out, "/home/user/data/x/y /home/user/data /home /boot /");
}

/* Image B's backing file lives on A: B before A, whatever the depths. */
static void test_order_stacked(void **state)
{
	struct ctx *c = *state;
	const char *const inc[] = { "/x/y/a", "/b" };
	char out[1024];

	write_text(c->mountinfo, "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
				 "2 1 8:2 / /x/y/a rw - ext4 /dev/sda2 rw\n"
				 "3 1 7:1 / /b rw - ext4 /dev/loop1 rw\n");
	/* Not there: found by name (the longest mount point that is a prefix). */
	fake_dev(c, "7:1", "/x/y/a/images/b.img\n");
	assert_int_equal(select_str(c, inc, 2, NULL, 0, false, out, sizeof(out)), 2);
	assert_string_equal(out, "/b /x/y/a");
}

/* Found by the backing file's st_dev, which beats the name. */
static void test_order_stacked_stat(void **state)
{
	struct ctx *c = *state;
	const char *const inc[] = { "/deep/er/holder", "/b", "/b/img" };
	char img[PATH_MAX], text[1024], backing[PATH_MAX + 2], out[1024];
	struct stat st;

	PATHF(img, "%s/b.img", c->tmp);
	write_text(img, "");
	assert_int_equal(stat(img, &st), 0);
	/* "/b" is the longest prefix of nothing; the holder is known by its number only. */
	PATHF(text,
	      "1 0 %u:%u / /deep/er/holder rw - ext4 /dev/h rw\n"
	      "2 1 7:1 / /b rw - ext4 /dev/loop1 rw\n"
	      "3 2 7:2 / /b/img rw - ext4 /dev/loop2 rw\n",
	      major(st.st_dev), minor(st.st_dev));
	write_text(c->mountinfo, text);
	PATHF(backing, "%s\n", img);
	fake_dev(c, "7:1", backing);
	assert_int_equal(select_str(c, inc, 3, NULL, 0, false, out, sizeof(out)), 3);
	/* /b must precede the holder; /b/img (deeper, free) goes first. */
	assert_string_equal(out, "/b/img /b /deep/er/holder");
}

/* C's file on B, B's on A: C, B, A, against the depth order A, B, C. */
static void test_order_chain(void **state)
{
	struct ctx *c = *state;
	const char *const inc[] = { "/a/b/c/d", "/a/b", "/z" };
	char out[1024];

	write_text(c->mountinfo, "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
				 "2 1 7:0 / /a/b/c/d rw - ext4 /dev/loop0 rw\n"
				 "3 1 7:1 / /a/b rw - ext4 /dev/loop1 rw\n"
				 "4 1 253:5 / /z rw - ext4 /dev/mapper/c rw\n");
	fake_dev(c, "7:0", "/rootimg/a.img\n");
	fake_dev(c, "7:1", "/a/b/c/d/b.img\n");
	fake_dev(c, "253:5", NULL);
	fake_dev(c, "7:2", "/a/b/c.img (deleted)\n");
	fake_slave(c, "253:5", "loop2", "7:2", true); /* C is dm on a loop device */
	assert_int_equal(select_str(c, inc, 3, NULL, 0, false, out, sizeof(out)), 3);
	assert_string_equal(out, "/z /a/b /a/b/c/d");
}

/*
 * A's image is on B, B's image is on C; B is not selected: A still goes
 * before C (the constraint is followed through every mount), against the
 * depth order that puts the deeper C first.
 */
static void test_order_transitive(void **state)
{
	struct ctx *c = *state;
	const char *const inc[] = { "/a", "/x/y/c" };
	char out[1024];

	write_text(c->mountinfo, "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
				 "2 1 7:1 / /a rw - ext4 /dev/loop1 rw\n"
				 "3 1 7:2 / /b rw - ext4 /dev/loop2 rw\n"
				 "4 1 8:3 / /x/y/c rw - ext4 /dev/sda3 rw\n");
	fake_dev(c, "7:1", "/b/a.img\n");
	fake_dev(c, "7:2", "/x/y/c/b.img\n");
	assert_int_equal(select_str(c, inc, 2, NULL, 0, false, out, sizeof(out)), 2);
	assert_string_equal(out, "/a /x/y/c");

	/* The link through B broken (its image elsewhere): depth order again. */
	fake_dev(c, "7:2", "/elsewhere/b.img\n");
	assert_int_equal(select_str(c, inc, 2, NULL, 0, false, out, sizeof(out)), 2);
	assert_string_equal(out, "/x/y/c /a");
}

/* ---- marker ------------------------------------------------------------------- */

/* Entries that do not match are skipped; nothing is thawed; the marker goes. */
static void test_recover_mismatch(void **state)
{
	struct ctx *c = *state;
	char dir[PATH_MAX], text[4096];
	struct stat st;

	PATHF(dir, "%s/a b\t\\x", c->tmp);
	mkdir_p(dir);
	assert_int_equal(stat(dir, &st), 0);
	PATHF(text,
	      "%u:%u %s/a\\040b\\011\\134x\n"  /* exists, wrong number */
	      "7:99 %s/not\\040there\n"        /* missing */
	      "garbage\n"
	      "1:2\n"
	      "1:2 relative\n"
	      "99999999999:1 /\n"
	      "\n",
	      major(st.st_dev) + 1, minor(st.st_dev), c->tmp, c->tmp);
	write_text(c->marker, text);
	assert_int_equal(vss_recover(c->marker), 0);
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_int_equal(errno, ENOENT);

	/* No marker: nothing to do. */
	assert_int_equal(vss_recover(c->marker), 0);
}

/* A marker larger than any real one is refused and kept. */
static void test_recover_huge(void **state)
{
	struct ctx *c = *state;
	FILE *f = fopen(c->marker, "we");

	assert_non_null(f);
	for (int i = 0; i < 200000; i++)
		fputs("1:1 /nonexistent/path\n", f);
	assert_int_equal(fclose(f), 0);
	assert_true(vss_recover(c->marker) < 0);
	assert_int_equal(access(c->marker, F_OK), 0);
}

/* ---- real freezing (root) ------------------------------------------------------ */

/*
 * ioctl is wrapped (-Wl,--wrap=ioctl, for this test program only): the next
 * fail_thaws FITHAW calls fail with EIO without reaching the kernel, and
 * with snap_marker set every FIFREEZE first copies the marker's content, so
 * that a test sees what a kill at that instant would leave behind. With
 * slow_freeze_ms set, the slow_freeze_nth FIFREEZE (counted from when it was
 * set) sleeps that long before reaching the kernel: a FIFREEZE that blocks.
 */
int __wrap_ioctl(int fd, unsigned long req, ...);
int __real_ioctl(int fd, unsigned long req, ...);

static char snaps[4][4 * PATH_MAX];

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == FITHAW && fail_thaws > 0) {
		fail_thaws--;
		errno = EIO;
		return -1;
	}
	if (req == FIFREEZE && snap_marker && n_snaps < ELEMENTSOF(snaps)) {
		FILE *f = fopen(snap_marker, "re");
		size_t len = 0;

		if (f) {
			len = fread(snaps[n_snaps], 1, sizeof(snaps[0]) - 1, f);
			fclose(f);
		}
		snaps[n_snaps++][len] = '\0';
	}
	if (req == FIFREEZE && slow_freeze_ms && ++n_freezes_seen == slow_freeze_nth)
		usleep(slow_freeze_ms * 1000u);
	return __real_ioctl(fd, req, arg);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Two ext4 images loop-mounted in the scratch directory; the second's name is hostile. */
static void real_setup(struct ctx *c)
{
	static const char *const names[2] = { "ma", "m b\t\\x\ny" };

	if (geteuid() != 0)
		skip();
	for (int i = 0; i < 2; i++) {
		struct stat st;

		PATHF(c->img[i], "%s/img%d", c->tmp, i);
		PATHF(c->mnt[i], "%s/%s", c->tmp, names[i]);
		assert_int_equal(mkdir(c->mnt[i], 0755), 0);
		setenv("VSS_IMG", c->img[i], 1);
		setenv("VSS_MNT", c->mnt[i], 1);
		if (run("truncate -s 16M \"$VSS_IMG\" && mkfs.ext4 -q -F \"$VSS_IMG\" >/dev/null 2>&1") != 0)
			skip();
		if (run("mount -o loop \"$VSS_IMG\" \"$VSS_MNT\" 2>/dev/null") != 0)
			skip();
		c->mounted[i] = true;
		assert_int_equal(stat(c->mnt[i], &st), 0);
		c->dev[i] = st.st_dev;
		assert_int_equal(major(st.st_dev) != 0, 1);
	}
}

static struct vss_freezer *real_freezer(struct ctx *c, const char *const *inc, size_t n)
{
	struct vss_config cfg = {
		.include = (char *const *)inc,
		.n_include = n,
		.marker = c->marker,
	};
	struct vss_freezer *f = NULL;

	assert_true(n > 0); /* never the default selection here */
	assert_int_equal(vss_freezer_new(&cfg, &f), 0);
	return f;
}

/* A child that creates and fsyncs a file in dir. */
static pid_t writer(struct ctx *c, const char *dir)
{
	char path[PATH_MAX];
	pid_t pid;

	PATHF(path, "%s/written-%zu", dir, c->n_child);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) < 0)
			_exit(1);
		_exit(0);
	}
	c->child[c->n_child++] = pid;
	return pid;
}

/* "MAJ:MIN PATH" marker lines of mnt[a] (and mnt[b] if b >= 0); the second real mount's name escaped. */
static void mount_lines(struct ctx *c, char *buf, size_t size, int a, int b)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int k = 0; k < 2; k++) {
		int i = k ? b : a, n;

		if (i < 0)
			continue;
		if (i == 1 && c->btrfs)
			n = snprintf(buf + o, size - o, "%u:%u %s/sub\\040vol\n", major(c->dev[1]), minor(c->dev[1]),
				     c->tmp);
		else if (i == 1)
			n = snprintf(buf + o, size - o, "%u:%u %s/m\\040b\\011\\134x\\012y\n", major(c->dev[1]),
				     minor(c->dev[1]), c->tmp);
		else
			n = snprintf(buf + o, size - o, "%u:%u %s\n", major(c->dev[i]), minor(c->dev[i]), c->mnt[i]);
		assert_true(n > 0 && (size_t)n < size - o);
		o += (size_t)n;
	}
}

/* Whether pid exits (successfully) within ms. */
static bool exits_within(struct ctx *c, pid_t pid, int ms)
{
	for (int t = 0; t <= ms; t += 10) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			for (size_t i = 0; i < c->n_child; i++)
				if (c->child[i] == pid)
					c->child[i] = c->child[--c->n_child];
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			return true;
		}
		usleep(10000);
	}
	return false;
}

/* Whether path is frozen now: FITHAW answers 0 (and thaws it) or EINVAL. */
static bool was_frozen(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	assert_true(fd >= 0);
	r = ioctl(fd, FITHAW, 0);
	if (r < 0)
		assert_int_equal(errno, EINVAL);
	close(fd);
	return r == 0;
}

/* The marker's content, which must be: the mounts mnt[a] (and mnt[b] if b >= 0), in that order. */
static void marker_expect(struct ctx *c, int a, int b)
{
	char expect[3 * PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *m;

	mount_lines(c, expect, sizeof(expect), a, b);
	m = fopen(c->marker, "re");
	assert_non_null(m);
	if (getdelim(&text, &len, '\0', m) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(m);
	assert_string_equal(text, expect);
	free(text);
}

static void freeze_myself(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ioctl(fd, FIFREEZE, 0), 0);
	close(fd);
}

static void test_real_freeze_thaw(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	char expect[3 * PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *m;
	pid_t w0, w1;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	assert_int_equal(vss_freeze_all(f), 2);
	assert_true(vss_freezer_frozen(f));
	assert_int_equal(vss_freezer_count(f), 2);
	assert_int_equal(vss_freeze_all(f), 0); /* frozen already: nothing done */

	/* The marker lists both, the hostile name escaped; same depth: mount order. */
	PATHF(expect, "%u:%u %s\n%u:%u %s/m\\040b\\011\\134x\\012y\n", major(c->dev[0]), minor(c->dev[0]),
	      c->mnt[0], major(c->dev[1]), minor(c->dev[1]), c->tmp);
	m = fopen(c->marker, "re");
	assert_non_null(m);
	assert_true(getdelim(&text, &len, '\0', m) > 0);
	fclose(m);
	assert_string_equal(text, expect);
	free(text);

	w0 = writer(c, c->mnt[0]);
	w1 = writer(c, c->mnt[1]);
	assert_false(exits_within(c, w0, 300));
	assert_false(exits_within(c, w1, 0));

	assert_int_equal(vss_thaw_all(f), 0);
	assert_false(vss_freezer_frozen(f));
	assert_int_equal(vss_freezer_count(f), 0);
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_true(exits_within(c, w0, 10000));
	assert_true(exits_within(c, w1, 10000));
	assert_false(was_frozen(c->mnt[0]));
	assert_false(was_frozen(c->mnt[1]));
	assert_int_equal(vss_thaw_all(f), 0); /* not frozen: nothing */
	vss_freezer_free(f);
}

/* Frozen by someone else: counted out, and left frozen by the thaw. */
static void test_real_ebusy(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;

	real_setup(c);
	freeze_myself(c->mnt[1]);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	assert_int_equal(vss_freeze_all(f), 1);
	assert_int_equal(vss_freezer_count(f), 1);
	/* The marker lists only what we froze: recovery leaves the other party's freeze alone. */
	marker_expect(c, 0, -1);
	assert_int_equal(vss_thaw_all(f), 0);
	assert_false(was_frozen(c->mnt[0]));
	assert_true(was_frozen(c->mnt[1])); /* still ours to thaw: thawed now */
	vss_freezer_free(f);
}

/* A mount that cannot be frozen part-way: what was frozen is thawed, the error returned. */
static void test_real_failure(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	pid_t w;

	real_setup(c);
	PATHF(c->ram, "%s/ram", c->tmp);
	assert_int_equal(mkdir(c->ram, 0755), 0);
	if (mount("ramfs", c->ram, "ramfs", 0, NULL) < 0)
		skip();
	c->ram_mounted = true;
	{
		/* Same depth: mount order, so ma is frozen before ramfs fails. */
		const char *const inc[] = { c->ram, c->mnt[0] };

		f = real_freezer(c, inc, 2);
	}
	assert_int_equal(vss_freeze_all(f), -EOPNOTSUPP);
	assert_false(vss_freezer_frozen(f));
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_false(was_frozen(c->mnt[0]));
	w = writer(c, c->mnt[0]);
	assert_true(exits_within(c, w, 10000));
	assert_int_equal(vss_thaw_all(f), 0);
	vss_freezer_free(f);
}

/* A killed instance's marker, written by hand: what it lists is thawed. */
static void test_real_recover(void **state)
{
	struct ctx *c = *state;
	char text[4 * PATH_MAX];

	real_setup(c);
	freeze_myself(c->mnt[0]);
	PATHF(text,
	      "%u:%u %s/m\\040b\\011\\134x\\012y\n" /* not frozen: fine */
	      "%u:%u %s\n"
	      "%u:%u %s/m\\040b\\011\\134x\\012y\n", /* not the filesystem listed: skipped */
	      major(c->dev[1]), minor(c->dev[1]), c->tmp, major(c->dev[0]), minor(c->dev[0]), c->mnt[0],
	      major(c->dev[0]), minor(c->dev[0]), c->tmp);
	write_text(c->marker, text);
	assert_int_equal(vss_recover(c->marker), 1);
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_false(was_frozen(c->mnt[0]));
}

/* The freezer's own marker, hostile name included, read back by vss_recover. */
static void test_real_marker_roundtrip(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	pid_t w;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[1] };

		f = real_freezer(c, inc, 1);
	}
	assert_int_equal(vss_freeze_all(f), 1);
	w = writer(c, c->mnt[1]);
	assert_false(exits_within(c, w, 300));
	assert_int_equal(vss_recover(c->marker), 1); /* as a restarted daemon would */
	assert_true(exits_within(c, w, 10000));
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_int_equal(vss_thaw_all(f), 0); /* EINVAL: already thawed, fine */
	vss_freezer_free(f);
}

/* Freeing a frozen freezer thaws: never a guest left frozen behind an object. */
static void test_real_free_thaws(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0] };

		f = real_freezer(c, inc, 1);
	}
	assert_int_equal(vss_freeze_all(f), 1);
	vss_freezer_free(f);
	assert_false(was_frozen(c->mnt[0]));
	assert_int_equal(access(c->marker, F_OK), -1);
}

/*
 * Killed at any FIFREEZE, the marker must list everything frozen by us so
 * far plus the one being frozen; a filesystem that answered EBUSY (someone
 * else's freeze) is dropped from it at the next step.
 */
static void test_real_marker_steps(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	char expect[3 * PATH_MAX];

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	snap_marker = c->marker;
	assert_int_equal(vss_freeze_all(f), 2);
	assert_int_equal(n_snaps, 2);
	mount_lines(c, expect, sizeof(expect), 0, -1);
	assert_string_equal(snaps[0], expect);
	mount_lines(c, expect, sizeof(expect), 0, 1);
	assert_string_equal(snaps[1], expect);
	marker_expect(c, 0, 1);
	assert_int_equal(vss_thaw_all(f), 0);

	/* mnt[0] frozen by someone else: listed while its FIFREEZE runs, then gone. */
	snap_marker = NULL;
	n_snaps = 0;
	freeze_myself(c->mnt[0]);
	snap_marker = c->marker;
	assert_int_equal(vss_freeze_all(f), 1);
	assert_int_equal(n_snaps, 2);
	mount_lines(c, expect, sizeof(expect), 0, -1);
	assert_string_equal(snaps[0], expect);
	mount_lines(c, expect, sizeof(expect), 1, -1);
	assert_string_equal(snaps[1], expect);
	marker_expect(c, 1, -1);
	assert_int_equal(vss_thaw_all(f), 0);
	assert_true(was_frozen(c->mnt[0])); /* left alone by our thaw; thawed now */
	assert_false(was_frozen(c->mnt[1]));
	vss_freezer_free(f);
}

/* stderr into a file of the scratch directory (restored by the teardown); its path in buf. */
static void stderr_to_file(struct ctx *c, char *buf, size_t size)
{
	int fd;

	assert_true((size_t)snprintf(buf, size, "%s/stderr", c->tmp) < size);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	c->saved_stderr = dup(STDERR_FILENO);
	assert_true(c->saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;

	fflush(stderr);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/*
 * A FITHAW that fails is retried: that filesystem stays frozen, listed in
 * the marker alone, fd open; the freezer stays "frozen"; the log stays
 * deferred (nothing reaches stderr) until everything is thawed.
 */
static void test_real_thaw_retry(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	char log[PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *l;
	pid_t w0, w1;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	assert_int_equal(vss_freeze_all(f), 2);
	w0 = writer(c, c->mnt[0]);
	w1 = writer(c, c->mnt[1]);
	assert_false(exits_within(c, w0, 300));
	stderr_to_file(c, log, sizeof(log));

	fail_thaws = 1; /* the first FITHAW: mnt[1]'s (thaw goes in reverse) */
	assert_int_equal(vss_thaw_all(f), -EIO);
	assert_true(vss_freezer_frozen(f));
	assert_int_equal(vss_freezer_count(f), 1);
	marker_expect(c, 1, -1);
	assert_true(exits_within(c, w0, 10000));
	assert_false(exits_within(c, w1, 300));
	assert_int_equal(file_size(log), 0);
	assert_int_equal(vss_freeze_all(f), 0); /* still frozen: nothing done */

	assert_int_equal(vss_thaw_all(f), 0);
	assert_false(vss_freezer_frozen(f));
	assert_int_equal(vss_freezer_count(f), 0);
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_true(exits_within(c, w1, 10000));
	l = fopen(log, "re");
	assert_non_null(l);
	assert_true(getdelim(&text, &len, '\0', l) > 0);
	fclose(l);
	assert_non_null(strstr(text, "THAW of"));
	assert_non_null(strstr(text, "Input/output error"));
	free(text);
	assert_false(was_frozen(c->mnt[0]));
	assert_false(was_frozen(c->mnt[1]));
	assert_int_equal(vss_thaw_all(f), 0);
	vss_freezer_free(f);
}

/* A freeze failing part-way whose roll-back FITHAW fails: kept frozen for vss_thaw_all. */
static void test_real_rollback_retry(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;

	real_setup(c);
	PATHF(c->ram, "%s/ram", c->tmp);
	assert_int_equal(mkdir(c->ram, 0755), 0);
	if (mount("ramfs", c->ram, "ramfs", 0, NULL) < 0)
		skip();
	c->ram_mounted = true;
	{
		const char *const inc[] = { c->ram, c->mnt[0] };

		f = real_freezer(c, inc, 2);
	}
	fail_thaws = 1;
	assert_int_equal(vss_freeze_all(f), -EOPNOTSUPP);
	assert_true(vss_freezer_frozen(f));
	assert_int_equal(vss_freezer_count(f), 1);
	marker_expect(c, 0, -1);
	assert_int_equal(vss_thaw_all(f), 0);
	assert_false(vss_freezer_frozen(f));
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_false(was_frozen(c->mnt[0]));
	vss_freezer_free(f);
}

/*
 * A btrfs image mounted twice: its top level and a subvolume. mountinfo
 * shows one 0:N for both, stat() a different anonymous device for each.
 */
static void btrfs_setup(struct ctx *c)
{
	char run_dir[PATH_MAX];

	if (geteuid() != 0)
		skip();
	c->btrfs = true;
	PATHF(c->img[0], "%s/btrfs.img", c->tmp);
	PATHF(c->mnt[0], "%s/top", c->tmp);
	PATHF(c->mnt[1], "%s/sub vol", c->tmp);
	assert_int_equal(mkdir(c->mnt[0], 0755), 0);
	assert_int_equal(mkdir(c->mnt[1], 0755), 0);
	setenv("VSS_IMG", c->img[0], 1);
	setenv("VSS_MNT", c->mnt[0], 1);
	setenv("VSS_MNT2", c->mnt[1], 1);
	if (run("truncate -s 256M \"$VSS_IMG\" && mkfs.btrfs -q -f \"$VSS_IMG\" >/dev/null 2>&1") != 0)
		skip();
	if (run("mount -o loop \"$VSS_IMG\" \"$VSS_MNT\" 2>/dev/null") != 0)
		skip();
	c->mounted[0] = true;
	assert_int_equal(run("btrfs -q subvolume create \"$VSS_MNT/sv\" >/dev/null"), 0);
	assert_int_equal(run("mount -o subvol=sv \"$(findmnt -nro SOURCE --mountpoint \"$VSS_MNT\")\" "
			     "\"$VSS_MNT2\""),
			 0);
	c->mounted[1] = true;
	for (int i = 0; i < 2; i++) {
		struct stat st;

		assert_int_equal(stat(c->mnt[i], &st), 0);
		c->dev[i] = st.st_dev;
	}
	assert_true(c->dev[0] != c->dev[1]);
	PATHF(run_dir, "%s/run", c->mnt[1]);
	assert_int_equal(mkdir(run_dir, 0755), 0);
}

static void test_real_btrfs(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	pid_t w0, w1;

	btrfs_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	/* One superblock: frozen once, through the top level; listed by its stat() device. */
	assert_int_equal(vss_freeze_all(f), 1);
	assert_int_equal(vss_freezer_count(f), 1);
	marker_expect(c, 0, -1);
	w0 = writer(c, c->mnt[0]);
	w1 = writer(c, c->mnt[1]);
	assert_false(exits_within(c, w0, 300));
	assert_false(exits_within(c, w1, 0));
	assert_int_equal(vss_thaw_all(f), 0);
	assert_true(exits_within(c, w0, 10000));
	assert_true(exits_within(c, w1, 10000));
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_false(was_frozen(c->mnt[0]));

	/* Killed while frozen: a restarted daemon's vss_recover thaws it. */
	assert_int_equal(vss_freeze_all(f), 1);
	w1 = writer(c, c->mnt[1]);
	assert_false(exits_within(c, w1, 300));
	assert_int_equal(vss_recover(c->marker), 1);
	assert_true(exits_within(c, w1, 10000));
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_int_equal(vss_thaw_all(f), 0); /* EINVAL: already thawed, fine */
	vss_freezer_free(f);

	/* Included through the subvolume only: frozen through it. */
	{
		const char *const inc[] = { c->mnt[1] };

		f = real_freezer(c, inc, 1);
	}
	assert_int_equal(vss_freeze_all(f), 1);
	marker_expect(c, 1, -1);
	w0 = writer(c, c->mnt[0]);
	assert_false(exits_within(c, w0, 300));
	assert_int_equal(vss_thaw_all(f), 0);
	assert_true(exits_within(c, w0, 10000));
	vss_freezer_free(f);
}

/* The marker on one subvolume keeps the whole btrfs (every subvolume) out. */
static void test_real_btrfs_marker_fs(void **state)
{
	struct ctx *c = *state;
	char marker[PATH_MAX];
	const char *inc[] = { NULL };
	struct vss_config cfg = { .include = (char *const *)inc, .n_include = 1, .marker = marker };
	struct vss_mount *m = NULL;
	size_t n = 99;

	btrfs_setup(c);
	PATHF(marker, "%s/run/frozen", c->mnt[1]);
	inc[0] = c->mnt[0];
	assert_int_equal(vss_select(&cfg, &m, &n), 0);
	assert_int_equal(n, 0);
	vss_mounts_free(m, n);
	/* The marker elsewhere: selected, with the mount point's own device. */
	cfg.marker = c->marker;
	assert_int_equal(vss_select(&cfg, &m, &n), 0);
	assert_int_equal(n, 1);
	assert_true(m[0].have_dev);
	assert_true(m[0].dev == c->dev[0]);
	assert_int_equal(m[0].major, 0);
	vss_mounts_free(m, n);
}

/* ---- the guard (root) -------------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}


static void *bg_freeze_main(void *arg)
{
	struct bg_freeze *b = arg;
	int r = vss_freeze_all(b->f);

	pthread_mutex_lock(&b->lock);
	b->r = r;
	b->done = true;
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static bool bg_done(struct bg_freeze *b)
{
	bool d;

	pthread_mutex_lock(&b->lock);
	d = b->done;
	pthread_mutex_unlock(&b->lock);
	return d;
}

/*
 * The 2nd FIFREEZE blocks for 3 s; the guard's deadline is 500 ms: the first
 * filesystem is thawed while the caller is still blocked, and once the
 * blocked FIFREEZE returns vss_freeze_all thaws that one too and fails.
 */
static void test_guard_blocked_freeze(void **state)
{
	struct ctx *c = *state;
	struct bg_freeze *b = &bg;
	pid_t w0, w1;
	long t0;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		b->f = real_freezer(c, inc, 2);
	}
	vss_freezer_set_deadline(b->f, 500);
	slow_freeze_nth = 2;
	slow_freeze_ms = 3000;
	t0 = now_ms();
	assert_int_equal(pthread_create(&b->thread, NULL, bg_freeze_main, b), 0);
	b->started = true;
	usleep(100 * 1000);
	w0 = writer(c, c->mnt[0]);
	assert_false(exits_within(c, w0, 250)); /* mnt[0] is frozen */
	/* The guard thaws mnt[0] at ~500 ms, the 2nd FIFREEZE still "blocked". */
	assert_true(exits_within(c, w0, 1500));
	assert_true(now_ms() - t0 >= 450);
	assert_false(bg_done(b));
	/* The marker keeps only the one whose FIFREEZE still runs. */
	marker_expect(c, 1, -1);
	assert_int_equal(pthread_join(b->thread, NULL), 0);
	b->started = false;
	assert_true(now_ms() - t0 >= 3000);
	assert_int_equal(b->r, -ETIMEDOUT);
	assert_false(vss_freezer_frozen(b->f));
	assert_int_equal(vss_freezer_count(b->f), 0);
	assert_int_equal(access(c->marker, F_OK), -1);
	w0 = writer(c, c->mnt[0]);
	w1 = writer(c, c->mnt[1]);
	assert_true(exits_within(c, w0, 10000));
	assert_true(exits_within(c, w1, 10000));
	assert_false(was_frozen(c->mnt[0]));
	assert_false(was_frozen(c->mnt[1]));
	assert_false(vss_freezer_take_guard_thawed(b->f)); /* reported by the -ETIMEDOUT */
	assert_int_equal(vss_thaw_all(b->f), 0);
	vss_freezer_free(b->f);
	b->f = NULL;
}

/* Frozen, and nobody thaws (the caller's thread idle): the guard thaws everything at the deadline. */
static void test_guard_idle(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	pid_t w0, w1;
	long t0;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	vss_freezer_set_deadline(f, 500);
	t0 = now_ms();
	assert_int_equal(vss_freeze_all(f), 2);
	w0 = writer(c, c->mnt[0]);
	w1 = writer(c, c->mnt[1]);
	assert_false(exits_within(c, w0, 250));
	assert_true(exits_within(c, w0, 2000));
	assert_true(exits_within(c, w1, 2000));
	assert_true(now_ms() - t0 >= 450);
	assert_int_equal(access(c->marker, F_OK), -1);
	assert_false(vss_freezer_frozen(f));
	assert_int_equal(vss_freezer_count(f), 0);
	assert_true(vss_freezer_take_guard_thawed(f));
	assert_false(vss_freezer_take_guard_thawed(f)); /* once */
	assert_int_equal(vss_thaw_all(f), 0);
	assert_false(was_frozen(c->mnt[0]));
	assert_false(was_frozen(c->mnt[1]));
	vss_freezer_free(f);
}

/* Thawed in time: the guard never fires, and the next freeze gets a deadline of its own. */
static void test_guard_thaw_in_time(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	pid_t w0;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	vss_freezer_set_deadline(f, 500);
	assert_int_equal(vss_freeze_all(f), 2);
	assert_int_equal(vss_thaw_all(f), 0);
	usleep(800 * 1000);
	assert_false(vss_freezer_take_guard_thawed(f));

	/* A new freeze: nothing left over from the first deadline thaws it early. */
	assert_int_equal(vss_freeze_all(f), 2);
	w0 = writer(c, c->mnt[0]);
	assert_false(exits_within(c, w0, 300));
	assert_int_equal(vss_thaw_all(f), 0);
	assert_true(exits_within(c, w0, 10000));
	usleep(500 * 1000);
	assert_false(vss_freezer_take_guard_thawed(f));
	assert_false(was_frozen(c->mnt[0]));
	assert_false(was_frozen(c->mnt[1]));
	vss_freezer_free(f);
}

/* Freed while the guard waits (frozen, or idle after a thaw): it joins at once, and free thaws. */
static void test_guard_free(void **state)
{
	struct ctx *c = *state;
	struct vss_freezer *f;
	long t0;

	real_setup(c);
	{
		const char *const inc[] = { c->mnt[0], c->mnt[1] };

		f = real_freezer(c, inc, 2);
	}
	vss_freezer_set_deadline(f, 60000);
	assert_int_equal(vss_freeze_all(f), 2);
	t0 = now_ms();
	vss_freezer_free(f);
	assert_true(now_ms() - t0 < 1000);
	assert_false(was_frozen(c->mnt[0]));
	assert_false(was_frozen(c->mnt[1]));
	assert_int_equal(access(c->marker, F_OK), -1);

	{
		const char *const inc[] = { c->mnt[0] };

		f = real_freezer(c, inc, 1);
	}
	vss_freezer_set_deadline(f, 60000);
	assert_int_equal(vss_freeze_all(f), 1);
	assert_int_equal(vss_thaw_all(f), 0);
	t0 = now_ms();
	vss_freezer_free(f);
	assert_true(now_ms() - t0 < 1000);
	assert_false(was_frozen(c->mnt[0]));
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parse_real),
		T(test_parse_escapes),
		T(test_parse_garbage),
		T(test_parse_random),
		T(test_select_default),
		T(test_select_exclude),
		T(test_select_include),
		T(test_select_marker),
		T(test_order_nested),
		T(test_order_stacked),
		T(test_order_stacked_stat),
		T(test_order_chain),
		T(test_order_transitive),
		T(test_recover_mismatch),
		T(test_recover_huge),
		T(test_real_freeze_thaw),
		T(test_real_ebusy),
		T(test_real_failure),
		T(test_real_recover),
		T(test_real_marker_roundtrip),
		T(test_real_free_thaws),
		T(test_real_marker_steps),
		T(test_real_thaw_retry),
		T(test_real_rollback_retry),
		T(test_real_btrfs),
		T(test_real_btrfs_marker_fs),
		T(test_guard_blocked_freeze),
		T(test_guard_idle),
		T(test_guard_thaw_in_time),
		T(test_guard_free),
	};

	log_setup("test-vss-freeze");
	log_set_max_level(LOG_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
