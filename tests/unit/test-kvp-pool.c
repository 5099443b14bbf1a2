/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVP pool store in a scratch directory: the file bytes after each
 * operation (the kernel daemon's format), other writers (raw records written
 * here with plain write(), as cloud-init does), hostile files, the record cap,
 * lock timeouts, read-only and memory-only sets. That an unchanged file is not
 * reread is checked with kvp_pool_load_count(). Failures and a poorer kernel
 * (no inotify, coarse timestamps) are injected through -Wl,--wrap (see
 * tests/unit/local.mk): the library's pwrite, fdatasync, fstat, stat,
 * inotify_init1 and log_internal come here first.
 */
#include "config.h"

#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvp-pool.h"
#include "log.h"

#define REC KVP_POOL_RECORD_SIZE

struct ctx {
	char tmp[PATH_MAX];
	char dir[PATH_MAX]; /* the pool directory, created by kvp_pools_open */
	mode_t umask;
	bool mounted;
};

struct kv {
	const char *key, *value;
};

/* ---- injection (all off unless a test sets it; reset by setup and teardown) ---- */

static struct {
	int short_write;       /* 1: the next pwrite writes 1000 bytes, the one after fails ENOSPC */
	bool fail_sync;        /* the next fdatasync fails with EIO */
	void (*after_sync)(void); /* runs once after the next fdatasync (a writer taking no lock) */
	bool coarse;           /* fstat/stat report mtime = ctime = fake_time */
	struct timespec fake_time;
	bool no_inotify;       /* inotify_init1 fails with EMFILE */
	unsigned warnings;     /* LOG_WARNING lines logged */
	char path[PATH_MAX];   /* for after_sync */
} inject;

ssize_t __real_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fstat(int fd, struct stat *st);
int __wrap_fstat(int fd, struct stat *st);
int __real_stat(const char *path, struct stat *st);
int __wrap_stat(const char *path, struct stat *st);
int __real_inotify_init1(int flags);
int __wrap_inotify_init1(int flags);
int __real_log_internal(int level, int err, const char *fmt, ...) _printf_(3, 4);
int __wrap_log_internal(int level, int err, const char *fmt, ...) _printf_(3, 4);

ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (inject.short_write == 1) {
		inject.short_write = 2; /* the disk fills up in the middle of a record */
		return __real_pwrite(fd, buf, len > 1000 ? 1000 : len, off);
	}
	if (inject.short_write == 2) {
		inject.short_write = 0;
		errno = ENOSPC;
		return -1;
	}
	return __real_pwrite(fd, buf, len, off);
}

int __wrap_fdatasync(int fd)
{
	void (*hook)(void) = inject.after_sync;
	int r;

	if (inject.fail_sync) {
		inject.fail_sync = false;
		errno = EIO;
		return -1;
	}
	r = __real_fdatasync(fd);
	inject.after_sync = NULL;
	if (hook)
		hook();
	return r;
}

static void fake_times(struct stat *st)
{
	if (inject.coarse)
		st->st_mtim = st->st_ctim = inject.fake_time;
}

int __wrap_fstat(int fd, struct stat *st)
{
	int r = __real_fstat(fd, st);

	if (r == 0)
		fake_times(st);
	return r;
}

int __wrap_stat(const char *path, struct stat *st)
{
	int r = __real_stat(path, st);

	if (r == 0)
		fake_times(st);
	return r;
}

int __wrap_inotify_init1(int flags)
{
	if (inject.no_inotify) {
		errno = EMFILE; /* fs.inotify.max_user_instances used up */
		return -1;
	}
	return __real_inotify_init1(flags);
}

int __wrap_log_internal(int level, int err, const char *fmt, ...)
{
	int saved = errno;
	char msg[1024];
	va_list ap;

	if (level == LOG_WARNING)
		inject.warnings++;
	errno = err > 0 ? err : err < 0 ? -err : saved; /* for %m */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errno = saved;
	return __real_log_internal(level, err, "%s", msg);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(c);
	memset(&inject, 0, sizeof(inject));
	PATHF(c->tmp, "%s/test-kvp-pool.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(c->tmp));
	PATHF(c->dir, "%s/hyperv", c->tmp);
	/* A strict umask: modes must come from the code, not from it. */
	c->umask = umask(077);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c->mounted)
		umount2(c->dir, MNT_DETACH);
	umask(c->umask);
	memset(&inject, 0, sizeof(inject));
	test_rm_rf(c->tmp);
	free(c);
	return 0;
}

static struct kvp_pools *open_pools(struct ctx *c, unsigned max_records, int timeout_ms,
				    bool read_only)
{
	struct kvp_pools_config cfg = {
		.dir = c->dir,
		.max_records = max_records,
		.lock_timeout_ms = timeout_ms,
		.read_only = read_only,
	};
	struct kvp_pools *p = NULL;

	assert_int_equal(kvp_pools_open(&cfg, &p), 0);
	assert_non_null(p);
	return p;
}

static void pool_path(struct ctx *c, unsigned pool, char *buf, size_t size)
{
	assert_int_equal(kvp_pool_path(c->dir, pool, buf, size), 0);
}

static void *read_all(const char *path, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*ret_len = (size_t)st.st_size;
	return buf;
}

static void make_record(uint8_t *rec, const char *key, const char *value)
{
	memset(rec, 0, REC);
	memcpy(rec, key, strlen(key));
	memcpy(rec + KVP_POOL_KEY_SIZE, value, strlen(value));
}

/* A write by another tool: under flock, like cloud-init, with plain write(). */
static void append_raw(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void append_kv(const char *path, const char *key, const char *value)
{
	uint8_t rec[REC];

	make_record(rec, key, value);
	append_raw(path, rec, REC);
}

/* The file holds exactly these records, each zero-padded, and is 0644. */
static void expect_file(const char *path, const struct kv *kv, size_t n)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t want[REC];
	struct stat st;
	size_t len;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	buf = read_all(path, &len);
	assert_int_equal(len, n * REC);
	for (size_t i = 0; i < n; i++) {
		make_record(want, kv[i].key, kv[i].value);
		if (memcmp(buf + i * REC, want, REC) != 0)
			fail_msg("record %zu of %s is not {\"%s\", \"%s\"} zero-padded", i, path,
				 kv[i].key, kv[i].value);
	}
}

/* Record i of the file is exactly {key, value} zero-padded. */
static void expect_record(const char *path, size_t i, const char *key, const char *value)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t want[REC];
	size_t len;

	buf = read_all(path, &len);
	assert_true(len >= (i + 1) * REC);
	make_record(want, key, value);
	assert_memory_equal(buf + i * REC, want, REC);
}

/* What the store serves, in enumerate order. */
static void expect_pool(struct kvp_pools *p, unsigned pool, const struct kv *kv, size_t n)
{
	const char *k, *v;

	assert_int_equal(kvp_pool_count(p, pool), (long)n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(kvp_pool_enumerate(p, pool, (uint32_t)i, &k, &v), 0);
		assert_string_equal(k, kv[i].key);
		assert_string_equal(v, kv[i].value);
		assert_int_equal(kvp_pool_get(p, pool, kv[i].key, &v), 0);
		assert_string_equal(v, kv[i].value);
	}
	assert_int_equal(kvp_pool_enumerate(p, pool, (uint32_t)n, &k, &v), -ENOENT);
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* ---- pure parts ---- */

static void test_names(void **state)
{
	static const char *const names[] = { "external", "guest", "auto", "auto-external",
					     "auto-internal" };
	char buf[64], digit[2] = "0";

	(void)state;
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		assert_string_equal(kvp_pool_name(i), names[i]);
		assert_int_equal(kvp_pool_from_string(names[i]), (int)i);
		digit[0] = (char)('0' + i);
		assert_int_equal(kvp_pool_from_string(digit), (int)i);
	}
	assert_null(kvp_pool_name(KVP_POOL_COUNT));
	assert_int_equal(kvp_pool_from_string("5"), -EINVAL);
	assert_int_equal(kvp_pool_from_string("01"), -EINVAL);
	assert_int_equal(kvp_pool_from_string(""), -EINVAL);
	assert_int_equal(kvp_pool_from_string("Guest"), -EINVAL);
	assert_int_equal(kvp_pool_from_string(NULL), -EINVAL);

	assert_int_equal(kvp_pool_path("/var/lib/hyperv", 3, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/hyperv/.kvp_pool_3");
	assert_int_equal(kvp_pool_path("/var/lib/hyperv", 5, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kvp_pool_path("/var/lib/hyperv", 0, buf, 27), -ENAMETOOLONG);
	assert_int_equal(kvp_pool_path("/var/lib/hyperv", 0, buf, 28), 0);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(kvp_utf8_valid("", 0));
	assert_true(kvp_utf8_valid("plain ascii", 11));
	assert_true(kvp_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
	assert_true(kvp_utf8_valid("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	assert_false(kvp_utf8_valid("\xff", 1));
	assert_false(kvp_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(kvp_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	assert_false(kvp_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(kvp_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(kvp_utf8_valid("\xc3", 1));             /* truncated */
	assert_false(kvp_utf8_valid("\xe2\x82", 2));
	assert_false(kvp_utf8_valid("a\x80", 2));            /* lone continuation */
	/* The length bounds the check: the bytes past it are not looked at. */
	assert_true(kvp_utf8_valid("ok\xff", 2));
}

struct seen {
	size_t n;
	size_t index[8];
	size_t key_len[8], value_len[8];
	unsigned flags[8];
	int fail_at;
};

static int seen_fn(void *userdata, size_t index, const char *key, size_t key_len,
		   const char *value, size_t value_len, unsigned flags)
{
	struct seen *s = userdata;

	(void)key;
	(void)value;
	if ((int)s->n == s->fail_at)
		return -EBADMSG;
	assert_true(s->n < 8);
	s->index[s->n] = index;
	s->key_len[s->n] = key_len;
	s->value_len[s->n] = value_len;
	s->flags[s->n] = flags;
	s->n++;
	return 0;
}

static void test_parse(void **state)
{
	uint8_t *buf = calloc(4, REC);
	struct seen s = { .fail_at = -1 };
	size_t trailing = 99;

	(void)state;
	assert_non_null(buf);
	make_record(buf, "a", "1");
	/* record 1: empty key */
	memset(buf + 2 * REC, 'k', KVP_POOL_KEY_SIZE); /* key and value without a NUL */
	memset(buf + 2 * REC + KVP_POOL_KEY_SIZE, 'v', KVP_POOL_VALUE_SIZE);
	make_record(buf + 3 * REC, "\xff", "\xc0\xaf");
	assert_int_equal(kvp_pool_parse(buf, 4 * REC - 1, seen_fn, &s, &trailing), 3);
	assert_int_equal(trailing, REC - 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.index[0], 0);
	assert_int_equal(s.key_len[0], 1);
	assert_int_equal(s.flags[0], 0);
	assert_int_equal(s.index[1], 2);
	assert_int_equal(s.key_len[1], 511);
	assert_int_equal(s.value_len[1], 2047);
	assert_int_equal(s.flags[1], KVP_RECORD_KEY_UNTERMINATED | KVP_RECORD_VALUE_UNTERMINATED);

	s = (struct seen){ .fail_at = -1 };
	assert_int_equal(kvp_pool_parse(buf, 4 * REC, seen_fn, &s, &trailing), 4);
	assert_int_equal(trailing, 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.index[2], 3);
	assert_int_equal(s.flags[2], KVP_RECORD_KEY_INVALID_UTF8 | KVP_RECORD_VALUE_INVALID_UTF8);

	/* fn's error stops the walk and is returned. */
	s = (struct seen){ .fail_at = 1 };
	assert_int_equal(kvp_pool_parse(buf, 4 * REC, seen_fn, &s, NULL), -EBADMSG);
	assert_int_equal(s.n, 1);

	s = (struct seen){ .fail_at = -1 };
	assert_int_equal(kvp_pool_parse(buf, 10, seen_fn, &s, &trailing), 0);
	assert_int_equal(trailing, 10);
	assert_int_equal(s.n, 0);
	free(buf);
}

/* ---- the store on files ---- */

static void test_roundtrip_all_pools(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 0, 0, false);
	char path[PATH_MAX];
	const char *v;
	struct stat st;

	assert_int_equal(stat(c->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++) {
		char key[32], value[32];

		pool_path(c, pool, path, sizeof(path));
		expect_file(path, NULL, 0);
		snprintf(key, sizeof(key), "key-%u", pool);
		snprintf(value, sizeof(value), "value of pool %u", pool);
		assert_int_equal(kvp_pool_set(p, pool, key, value), 0);
		assert_int_equal(kvp_pool_set(p, pool, "empty", ""), 0);
		{
			const struct kv kv[] = { { key, value }, { "empty", "" } };

			expect_file(path, kv, 2);
			expect_pool(p, pool, kv, 2);
		}
		assert_int_equal(kvp_pool_delete(p, pool, key), 0);
		assert_int_equal(kvp_pool_get(p, pool, key, &v), -ENOENT);
		assert_int_equal(kvp_pool_delete(p, pool, key), -ENOENT);
		{
			const struct kv kv[] = { { "empty", "" } };

			expect_file(path, kv, 1);
			expect_pool(p, pool, kv, 1);
		}
	}
	/* Pools are separate. */
	assert_int_equal(kvp_pool_get(p, 0, "key-1", &v), -ENOENT);
	kvp_pools_free(p);

	/* A second instance reads what the first wrote. */
	p = open_pools(c, 0, 0, false);
	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++) {
		assert_int_equal(kvp_pool_get(p, pool, "empty", &v), 0);
		assert_string_equal(v, "");
		assert_int_equal(kvp_pool_count(p, pool), 1);
	}
	kvp_pools_free(p);
}

static void test_limits(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 0, 0, false);
	char key[KVP_POOL_KEY_SIZE + 1], value[KVP_POOL_VALUE_SIZE + 1], path[PATH_MAX];
	const char *v;

	memset(key, 'k', sizeof(key));
	memset(value, 'v', sizeof(value));
	key[KVP_KEY_MAX] = '\0';
	value[KVP_VALUE_MAX] = '\0';
	assert_int_equal(kvp_pool_set(p, 1, key, value), 0);
	pool_path(c, 1, path, sizeof(path));
	{
		const struct kv kv[] = { { key, value } };

		expect_file(path, kv, 1);
		expect_pool(p, 1, kv, 1);
	}
	key[KVP_KEY_MAX] = 'k';
	key[KVP_POOL_KEY_SIZE] = '\0';
	assert_int_equal(kvp_pool_set(p, 1, key, "x"), -EINVAL);
	assert_int_equal(kvp_pool_get(p, 1, key, &v), -ENOENT);
	value[KVP_VALUE_MAX] = 'v';
	value[KVP_POOL_VALUE_SIZE] = '\0';
	assert_int_equal(kvp_pool_set(p, 1, "k", value), -EINVAL);
	assert_int_equal(kvp_pool_set(p, 1, "", "x"), -EINVAL);
	assert_int_equal(kvp_pool_set(p, KVP_POOL_COUNT, "k", "x"), -EINVAL);
	assert_int_equal(kvp_pool_get(p, KVP_POOL_COUNT, "k", &v), -EINVAL);
	assert_int_equal(kvp_pool_count(p, KVP_POOL_COUNT), -EINVAL);
	assert_int_equal(kvp_pool_count(p, 1), 1);
	kvp_pools_free(p);
}

/* Modify rewrites one record in place: same size, the others untouched. */
static void test_modify_in_place(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 0, 0, false);
	_cleanup_free_ uint8_t *before = NULL, *after = NULL;
	char path[PATH_MAX], big[1500];
	size_t len_before, len_after;

	pool_path(c, 0, path, sizeof(path));
	assert_int_equal(kvp_pool_set(p, 0, "a", "1"), 0);
	assert_int_equal(kvp_pool_set(p, 0, "b", "a fairly long value that will shrink"), 0);
	assert_int_equal(kvp_pool_set(p, 0, "c", "3"), 0);
	before = read_all(path, &len_before);

	/* Shorter: the old value's tail must be zeroed, not left behind. */
	assert_int_equal(kvp_pool_set(p, 0, "b", "short"), 0);
	after = read_all(path, &len_after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, REC);
	assert_memory_equal(after + 2 * REC, before + 2 * REC, REC);
	{
		const struct kv kv[] = { { "a", "1" }, { "b", "short" }, { "c", "3" } };

		expect_file(path, kv, 3);
		expect_pool(p, 0, kv, 3);
	}
	/* Longer than anything the record held so far. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(kvp_pool_set(p, 0, "a", big), 0);
	assert_int_equal(kvp_pool_set(p, 0, "c", ""), 0);
	{
		const struct kv kv[] = { { "a", big }, { "b", "short" }, { "c", "" } };

		expect_file(path, kv, 3);
		expect_pool(p, 0, kv, 3);
	}
	kvp_pools_free(p);
}

/* Delete moves the last record into the hole, then truncates. */
static void test_delete_moves_last(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 0, 0, false);
	char path[PATH_MAX];

	pool_path(c, 1, path, sizeof(path));
	assert_int_equal(kvp_pool_set(p, 1, "a", "1"), 0);
	assert_int_equal(kvp_pool_set(p, 1, "b", "2"), 0);
	assert_int_equal(kvp_pool_set(p, 1, "c", "3"), 0);
	assert_int_equal(kvp_pool_set(p, 1, "d", "4"), 0);
	assert_int_equal(kvp_pool_delete(p, 1, "b"), 0);
	{
		const struct kv kv[] = { { "a", "1" }, { "d", "4" }, { "c", "3" } };

		expect_file(path, kv, 3);
		expect_pool(p, 1, kv, 3);
	}
	/* The hole is the last slot: only a truncate. */
	assert_int_equal(kvp_pool_delete(p, 1, "c"), 0);
	{
		const struct kv kv[] = { { "a", "1" }, { "d", "4" } };

		expect_file(path, kv, 2);
		expect_pool(p, 1, kv, 2);
	}
	assert_int_equal(kvp_pool_delete(p, 1, "a"), 0);
	assert_int_equal(kvp_pool_delete(p, 1, "d"), 0);
	expect_file(path, NULL, 0);
	expect_pool(p, 1, NULL, 0);
	/* Nothing reread: our own writes are not someone else's. */
	assert_int_equal(kvp_pool_load_count(p, 1), 1);
	kvp_pools_free(p);
}

/* Another writer's changes are seen; an unchanged file is not reread. */
static void test_other_writers(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 0, 0, false);
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *v;
	int fd;

	pool_path(c, 1, path, sizeof(path));
	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++)
		assert_int_equal(kvp_pool_load_count(p, pool), 1);
	assert_int_equal(kvp_pool_set(p, 1, "ours", "1"), 0);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(kvp_pool_get(p, 1, "ours", &v), 0);
		assert_int_equal(kvp_pool_count(p, 1), 1);
		assert_int_equal(kvp_pool_set(p, 1, "ours", i % 2 ? "1" : "2"), 0);
	}
	assert_int_equal(kvp_pool_load_count(p, 1), 1);

	/* cloud-init appends under flock. */
	append_kv(path, "theirs", "2");
	{
		const struct kv kv[] = { { "ours", "1" }, { "theirs", "2" } };

		expect_pool(p, 1, kv, 2);
	}
	assert_int_equal(kvp_pool_load_count(p, 1), 2);
	/* And our next append goes after theirs. */
	assert_int_equal(kvp_pool_set(p, 1, "after", "3"), 0);
	{
		const struct kv kv[] = { { "ours", "1" }, { "theirs", "2" }, { "after", "3" } };

		expect_file(path, kv, 3);
		expect_pool(p, 1, kv, 3);
	}
	assert_int_equal(kvp_pool_load_count(p, 1), 2);
	/* Other pools were never reread. */
	assert_int_equal(kvp_pool_load_count(p, 0), 1);

	/* cloud-init's once-per-boot truncation (no lock). */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	expect_pool(p, 1, NULL, 0);
	assert_int_equal(kvp_pool_load_count(p, 1), 3);

	/* Replaced by rename: a new inode. */
	PATHF(tmp, "%s/new-pool", c->tmp);
	append_kv(tmp, "renamed", "r");
	assert_int_equal(rename(tmp, path), 0);
	{
		const struct kv kv[] = { { "renamed", "r" } };

		expect_pool(p, 1, kv, 1);
		assert_int_equal(kvp_pool_set(p, 1, "x", "y"), 0);
	}
	{
		const struct kv kv[] = { { "renamed", "r" }, { "x", "y" } };

		expect_file(path, kv, 2);
	}
	/* Deleted: an empty pool; the next set creates the file again, 0644. */
	assert_int_equal(unlink(path), 0);
	expect_pool(p, 1, NULL, 0);
	assert_int_equal(kvp_pool_set(p, 1, "back", "b"), 0);
	{
		const struct kv kv[] = { { "back", "b" } };

		expect_file(path, kv, 1);
	}
	kvp_pools_free(p);
}

/* A partial trailing record is ignored, then overwritten by our append. */
static void test_partial_trailing(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	char path[PATH_MAX];
	uint8_t rec[REC];

	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 0, path, sizeof(path));
	append_kv(path, "a", "1");
	make_record(rec, "partial", "cut");
	append_raw(path, rec, 1000);
	p = open_pools(c, 0, 0, false);
	{
		const struct kv kv[] = { { "a", "1" } };

		expect_pool(p, 0, kv, 1);
	}
	assert_int_equal(kvp_pool_set(p, 0, "b", "2"), 0);
	{
		const struct kv kv[] = { { "a", "1" }, { "b", "2" } };

		expect_file(path, kv, 2);
		expect_pool(p, 0, kv, 2);
	}
	/* Another writer leaves a partial record behind; a delete drops it with the truncate. */
	append_raw(path, rec, 10);
	assert_int_equal(kvp_pool_delete(p, 0, "a"), 0);
	{
		const struct kv kv[] = { { "b", "2" } };

		expect_file(path, kv, 1);
		expect_pool(p, 0, kv, 1);
	}
	kvp_pools_free(p);
}

/* Fields without a NUL are cut at their last byte; invalid UTF-8 is kept as it is. */
static void test_hostile_fields(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	char path[PATH_MAX], key[KVP_KEY_MAX + 1], value[KVP_VALUE_MAX + 1];
	_cleanup_free_ uint8_t *before = NULL, *after = NULL;
	size_t len_before, len_after;
	uint8_t rec[REC];
	const char *k, *v;

	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 3, path, sizeof(path));
	memset(rec, 'K', KVP_POOL_KEY_SIZE);
	memset(rec + KVP_POOL_KEY_SIZE, 'V', KVP_POOL_VALUE_SIZE);
	append_raw(path, rec, REC);
	/* Stale bytes after the NUL (the kernel daemon leaves them): not part of the value. */
	make_record(rec, "stale", "new");
	memcpy(rec + KVP_POOL_KEY_SIZE + 4, "old-tail", 8);
	memcpy(rec + 6, "junk", 4);
	append_raw(path, rec, REC);
	append_kv(path, "bad\xff\xfe", "\xc0\xaf\xed\xa0\x80");
	before = read_all(path, &len_before);
	p = open_pools(c, 0, 0, false);

	memset(key, 'K', KVP_KEY_MAX);
	key[KVP_KEY_MAX] = '\0';
	memset(value, 'V', KVP_VALUE_MAX);
	value[KVP_VALUE_MAX] = '\0';
	assert_int_equal(kvp_pool_count(p, 3), 3);
	assert_int_equal(kvp_pool_enumerate(p, 3, 0, &k, &v), 0);
	assert_string_equal(k, key);
	assert_string_equal(v, value);
	assert_int_equal(kvp_pool_get(p, 3, "stale", &v), 0);
	assert_string_equal(v, "new");
	assert_int_equal(kvp_pool_get(p, 3, "bad\xff\xfe", &v), 0);
	assert_string_equal(v, "\xc0\xaf\xed\xa0\x80");
	/* Served under the cut key, and rewritten with a NUL when modified. */
	assert_int_equal(kvp_pool_set(p, 3, key, "fixed"), 0);
	expect_record(path, 0, key, "fixed");
	/* The other records keep their bytes, stale tails included. */
	after = read_all(path, &len_after);
	assert_int_equal(len_after, 3 * REC);
	assert_memory_equal(after + REC, before + REC, 2 * REC);
	kvp_pools_free(p);
}

/* Records with an empty key are skipped (and moved like any other on delete). */
static void test_empty_keys(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	char path[PATH_MAX];
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	uint8_t rec[REC];

	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 1, path, sizeof(path));
	append_kv(path, "a", "1");
	make_record(rec, "", "orphan value");
	append_raw(path, rec, REC);
	append_kv(path, "b", "2");
	p = open_pools(c, 0, 0, false);
	{
		const struct kv kv[] = { { "a", "1" }, { "b", "2" } };

		expect_pool(p, 1, kv, 2);
	}
	assert_int_equal(kvp_pool_set(p, 1, "c", "3"), 0);
	{
		const struct kv kv[] = { { "a", "1" }, { "b", "2" }, { "c", "3" } };

		expect_pool(p, 1, kv, 3);
	}
	/* [a, -, b, c] -> [c, -, b]: the empty-key record stays where it is. */
	assert_int_equal(kvp_pool_delete(p, 1, "a"), 0);
	{
		const struct kv kv[] = { { "c", "3" }, { "b", "2" } };

		expect_pool(p, 1, kv, 2);
	}
	buf = read_all(path, &len);
	assert_int_equal(len, 3 * REC);
	make_record(rec, "", "orphan value");
	assert_memory_equal(buf + REC, rec, REC);
	/* Appends keep enumerate in file order past the unserved slot: [c, -, b, d, e] */
	assert_int_equal(kvp_pool_set(p, 1, "d", "4"), 0);
	assert_int_equal(kvp_pool_set(p, 1, "e", "5"), 0);
	{
		const struct kv kv[] = { { "c", "3" }, { "b", "2" }, { "d", "4" }, { "e", "5" } };

		expect_pool(p, 1, kv, 4);
	}
	/* [c, -, b, d, e] -> [e, -, b, d] -> [e, -, b] */
	assert_int_equal(kvp_pool_delete(p, 1, "c"), 0);
	assert_int_equal(kvp_pool_delete(p, 1, "d"), 0);
	{
		const struct kv kv[] = { { "e", "5" }, { "b", "2" } };

		expect_pool(p, 1, kv, 2);
	}
	/* [e, -, b] -> [e]: once at the end, it goes with the truncate. */
	assert_int_equal(kvp_pool_delete(p, 1, "b"), 0);
	{
		const struct kv kv[] = { { "e", "5" } };

		expect_pool(p, 1, kv, 1);
		expect_file(path, kv, 1);
	}
	assert_int_equal(kvp_pool_load_count(p, 1), 1);
	kvp_pools_free(p);

	/* Unserved records that end up at the end go too: [e, -, -, x] -> [x] -> [] */
	append_kv(path, "", "one");
	append_kv(path, "", "two");
	p = open_pools(c, 0, 0, false);
	assert_int_equal(kvp_pool_set(p, 1, "x", "1"), 0);
	assert_int_equal(kvp_pool_delete(p, 1, "e"), 0);
	assert_int_equal(kvp_pool_delete(p, 1, "x"), 0);
	expect_file(path, NULL, 0);
	expect_pool(p, 1, NULL, 0);
	kvp_pools_free(p);
}

/* Duplicates: the first copy is served; set leaves one copy, delete removes all. */
static void test_duplicates(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	char path[PATH_MAX], path2[PATH_MAX];
	const char *v;

	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 1, path, sizeof(path));
	append_kv(path, "k", "first");
	append_kv(path, "x", "1");
	append_kv(path, "k", "second");
	append_kv(path, "y", "2");
	append_kv(path, "k", "third");
	pool_path(c, 2, path2, sizeof(path2));
	append_kv(path2, "d", "1");
	append_kv(path2, "e", "2");
	append_kv(path2, "d", "3");
	append_kv(path2, "f", "4");
	p = open_pools(c, 0, 0, false);
	{
		const struct kv kv[] = { { "k", "first" }, { "x", "1" }, { "y", "2" } };

		expect_pool(p, 1, kv, 3);
	}
	/* [k, x, k, y, k]: the first rewritten in place, the later copies gone. */
	assert_int_equal(kvp_pool_set(p, 1, "k", "new"), 0);
	{
		const struct kv kv[] = { { "k", "new" }, { "x", "1" }, { "y", "2" } };

		expect_file(path, kv, 3);
		expect_pool(p, 1, kv, 3);
	}
	/* Now an ordinary key again. */
	assert_int_equal(kvp_pool_set(p, 1, "k", "newer"), 0);
	assert_int_equal(kvp_pool_get(p, 1, "k", &v), 0);
	assert_string_equal(v, "newer");

	/* [d, e, d, f] -> delete d: [f, e] */
	assert_int_equal(kvp_pool_delete(p, 2, "d"), 0);
	{
		const struct kv kv[] = { { "f", "4" }, { "e", "2" } };

		expect_file(path2, kv, 2);
		expect_pool(p, 2, kv, 2);
	}
	assert_int_equal(kvp_pool_get(p, 2, "d", &v), -ENOENT);
	kvp_pools_free(p);
}

static void test_cap(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 3, 0, false);
	char path[PATH_MAX];

	pool_path(c, 0, path, sizeof(path));
	assert_int_equal(kvp_pool_set(p, 0, "a", "1"), 0);
	assert_int_equal(kvp_pool_set(p, 0, "b", "2"), 0);
	assert_int_equal(kvp_pool_set(p, 0, "c", "3"), 0);
	assert_int_equal(kvp_pool_set(p, 0, "d", "4"), -ENOSPC);
	assert_int_equal(kvp_pool_set(p, 0, "b", "modified"), 0);
	{
		const struct kv kv[] = { { "a", "1" }, { "b", "modified" }, { "c", "3" } };

		expect_file(path, kv, 3);
		expect_pool(p, 0, kv, 3);
	}
	assert_int_equal(kvp_pool_delete(p, 0, "a"), 0);
	assert_int_equal(kvp_pool_set(p, 0, "d", "4"), 0);
	kvp_pools_free(p);

	/* A file over the cap: the first records are served, the file is left whole. */
	pool_path(c, 4, path, sizeof(path));
	append_kv(path, "r0", "0");
	append_kv(path, "r1", "1");
	append_kv(path, "r2", "2");
	append_kv(path, "r3", "3");
	append_kv(path, "r4", "4");
	p = open_pools(c, 3, 0, false);
	{
		const struct kv kv[] = { { "r0", "0" }, { "r1", "1" }, { "r2", "2" } };
		const struct kv file[] = { { "r0", "0" }, { "r1", "1" }, { "r2", "2" },
					   { "r3", "3" }, { "r4", "4" } };

		expect_pool(p, 4, kv, 3);
		expect_file(path, file, 5);
		assert_int_equal(kvp_pool_set(p, 4, "new", "x"), -ENOSPC);
		expect_file(path, file, 5);
	}
	assert_int_equal(kvp_pool_set(p, 4, "r1", "one"), 0);
	{
		const struct kv kv[] = { { "r0", "0" }, { "r1", "one" }, { "r2", "2" } };
		const struct kv file[] = { { "r0", "0" }, { "r1", "one" }, { "r2", "2" },
					   { "r3", "3" }, { "r4", "4" } };

		expect_pool(p, 4, kv, 3);
		expect_file(path, file, 5);
	}
	/* Delete: the file's last record (not loaded) fills the hole. */
	assert_int_equal(kvp_pool_delete(p, 4, "r0"), 0);
	{
		const struct kv kv[] = { { "r4", "4" }, { "r1", "one" }, { "r2", "2" } };
		const struct kv file[] = { { "r4", "4" }, { "r1", "one" }, { "r2", "2" },
					   { "r3", "3" } };

		expect_pool(p, 4, kv, 3);
		expect_file(path, file, 4);
	}
	kvp_pools_free(p);
}

/* Another holder of either lock: -ETIMEDOUT within the bound, never a hang. */
static void locked_by(struct ctx *c, int kind)
{
	struct kvp_pools *p = open_pools(c, 0, 200, false);
	char path[PATH_MAX];
	struct timespec t0;
	const char *v;
	pid_t child = -1;
	int fd, pipefd[2];
	long ms;

	pool_path(c, 1, path, sizeof(path));
	assert_int_equal(kvp_pool_set(p, 1, "k", "v"), 0);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	if (kind == 0) {
		assert_int_equal(flock(fd, LOCK_EX), 0);
	} else if (kind == 1) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	} else {
		/* The kernel daemon: a classic POSIX lock, held by another process. */
		char ch;

		assert_int_equal(pipe(pipefd), 0);
		child = fork();
		assert_true(child >= 0);
		if (child == 0) {
			struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

			if (fcntl(fd, F_SETLK, &fl) < 0)
				_exit(1);
			(void)!write(pipefd[1], "x", 1);
			alarm(10); /* never outlives a failed test for long */
			pause();
			_exit(0);
		}
		assert_int_equal(read(pipefd[0], &ch, 1), 1);
	}

	/* Nothing changed: served from memory, no lock needed. */
	assert_int_equal(kvp_pool_get(p, 1, "k", &v), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(kvp_pool_set(p, 1, "k", "w"), -ETIMEDOUT);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 190 && ms < 2000);
	assert_int_equal(kvp_pool_delete(p, 1, "k"), -ETIMEDOUT);

	/* A change to reload while the file is locked. */
	assert_int_equal(futimens(fd, NULL), 0);
	assert_int_equal(kvp_pool_get(p, 1, "k", &v), -ETIMEDOUT);

	if (child > 0) {
		int status;

		kill(child, SIGTERM);
		assert_int_equal(waitpid(child, &status, 0), child);
		close(pipefd[0]);
		close(pipefd[1]);
	}
	close(fd); /* drops flock and OFD locks */
	assert_int_equal(kvp_pool_get(p, 1, "k", &v), 0);
	assert_string_equal(v, "v");
	assert_int_equal(kvp_pool_set(p, 1, "k", "w"), 0);
	{
		const struct kv kv[] = { { "k", "w" } };

		expect_file(path, kv, 1);
	}
	kvp_pools_free(p);
}

static void test_lock_flock(void **state)
{
	locked_by(*state, 0);
}

static void test_lock_ofd(void **state)
{
	locked_by(*state, 1);
}

static void test_lock_posix_other_process(void **state)
{
	locked_by(*state, 2);
}

/* Lazy opening (hv-kvp): a lock held on one pool costs nothing to a command on another. */
static void test_lazy(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools_config cfg = { .dir = c->dir, .lock_timeout_ms = 1000, .lazy = true };
	struct kvp_pools *p = open_pools(c, 0, 0, false), *q = NULL;
	char path[PATH_MAX];
	struct timespec t0;
	const char *v;
	int fd;

	assert_int_equal(kvp_pool_set(p, 1, "busy", "1"), 0);
	assert_int_equal(kvp_pool_set(p, 3, "free", "3"), 0);
	kvp_pools_free(p);
	pool_path(c, 1, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(kvp_pools_open(&cfg, &q), 0);
	assert_int_equal(kvp_pool_load_count(q, 1), 0); /* nothing read yet */
	assert_int_equal(kvp_pool_get(q, 3, "free", &v), 0);
	assert_string_equal(v, "3");
	assert_true(elapsed_ms(&t0) < 500);
	assert_int_equal(kvp_pool_load_count(q, 1), 0);
	/* The locked pool itself still waits, then times out. */
	assert_int_equal(kvp_pool_get(q, 1, "busy", &v), -ETIMEDOUT);
	close(fd);
	assert_int_equal(kvp_pool_get(q, 1, "busy", &v), 0);
	assert_string_equal(v, "1");
	kvp_pools_free(q);
}

static void test_read_only(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 0, 0, true);
	char path[PATH_MAX];
	const char *v;

	/* Missing directory: empty pools, nothing created. */
	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++)
		expect_pool(p, pool, NULL, 0);
	assert_int_equal(access(c->dir, F_OK), -1);
	assert_int_equal(kvp_pool_set(p, 0, "k", "v"), -EROFS);
	assert_int_equal(kvp_pool_delete(p, 0, "k"), -EROFS);
	assert_int_equal(access(c->dir, F_OK), -1);

	/* The file appears later: seen. */
	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 3, path, sizeof(path));
	append_kv(path, "HostName", "host1");
	assert_int_equal(kvp_pool_get(p, 3, "HostName", &v), 0);
	assert_string_equal(v, "host1");
	/* A read-only file is fine. */
	assert_int_equal(chmod(path, 0444), 0);
	kvp_pools_free(p);
	p = open_pools(c, 0, 0, true);
	assert_int_equal(kvp_pool_count(p, 3), 1);
	assert_int_equal(kvp_pool_count(p, 0), 0);
	assert_int_equal(access(c->dir, F_OK), 0);
	kvp_pools_free(p);
	pool_path(c, 0, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_memory_only(void **state)
{
	struct kvp_pools_config cfg = { .max_records = 2 };
	struct kvp_pools *p = NULL;
	const char *v;

	(void)state;
	assert_int_equal(kvp_pools_open(&cfg, &p), 0);
	assert_int_equal(kvp_pool_set(p, 2, "a", "1"), 0);
	assert_int_equal(kvp_pool_set(p, 2, "b", "2"), 0);
	assert_int_equal(kvp_pool_set(p, 2, "c", "3"), -ENOSPC);
	assert_int_equal(kvp_pool_set(p, 2, "a", "one"), 0);
	{
		const struct kv kv[] = { { "a", "one" }, { "b", "2" } };

		expect_pool(p, 2, kv, 2);
	}
	assert_int_equal(kvp_pool_delete(p, 2, "a"), 0);
	{
		const struct kv kv[] = { { "b", "2" } };

		expect_pool(p, 2, kv, 1);
	}
	assert_int_equal(kvp_pool_get(p, 0, "b", &v), -ENOENT);
	assert_int_equal(kvp_pool_load_count(p, 2), 0);
	kvp_pools_free(p);
}

/* A full disk: -ENOSPC, memory still what the file holds. Needs root (a tmpfs). */
static void test_disk_full(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	char path[PATH_MAX], value[2000];
	const char *v;
	int r = 0;
	long n;

	if (geteuid() != 0)
		skip();
	assert_int_equal(mkdir(c->dir, 0755), 0);
	if (mount("tmpfs", c->dir, "tmpfs", 0, "size=64k,mode=0755") < 0)
		skip();
	c->mounted = true;
	p = open_pools(c, 0, 0, false);
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	pool_path(c, 0, path, sizeof(path));
	for (n = 0; n < 100; n++) {
		char key[16];

		snprintf(key, sizeof(key), "k%ld", n);
		r = kvp_pool_set(p, 0, key, value);
		if (r < 0)
			break;
	}
	assert_int_equal(r, -ENOSPC);
	assert_true(n > 0);
	/* The failed key is not served; everything written before is. */
	assert_int_equal(kvp_pool_count(p, 0), n);
	{
		char key[16];

		snprintf(key, sizeof(key), "k%ld", n);
		assert_int_equal(kvp_pool_get(p, 0, key, &v), -ENOENT);
	}
	assert_int_equal(kvp_pool_get(p, 0, "k0", &v), 0);
	/* Modify in place needs no new space. */
	assert_int_equal(kvp_pool_set(p, 0, "k0", "small"), 0);
	assert_int_equal(kvp_pool_get(p, 0, "k0", &v), 0);
	assert_string_equal(v, "small");
	/* Delete frees a slot; the partial record the failed append left is dropped. */
	assert_int_equal(kvp_pool_delete(p, 0, "k1"), 0);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, (n - 1) * REC);
	}
	kvp_pools_free(p);
}

/* A failed append leaves nothing behind: not the key, not a partial record. */
static void test_failed_append(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p = open_pools(c, 0, 0, false), *q;
	char path[PATH_MAX];
	uint8_t rec[REC];
	const char *v;

	pool_path(c, 1, path, sizeof(path));
	assert_int_equal(kvp_pool_set(p, 1, "A", "a"), 0);
	assert_int_equal(kvp_pool_set(p, 1, "B", "b"), 0);
	/* The disk fills up in the middle of the record. */
	inject.short_write = 1;
	assert_int_equal(kvp_pool_set(p, 1, "C", "c"), -ENOSPC);
	{
		const struct kv kv[] = { { "A", "a" }, { "B", "b" } };

		expect_file(path, kv, 2);
		expect_pool(p, 1, kv, 2);
	}
	/* Space is back; cloud-init's O_APPEND lands on a record boundary. */
	append_kv(path, "CLOUD_INIT", "report");
	{
		const struct kv kv[] = { { "A", "a" }, { "B", "b" }, { "CLOUD_INIT", "report" } };

		expect_file(path, kv, 3);
		expect_pool(p, 1, kv, 3);
	}
	/* The sync fails: the record is taken out again, the host's error is true. */
	inject.fail_sync = true;
	assert_int_equal(kvp_pool_set(p, 1, "D", "d"), -EIO);
	{
		const struct kv kv[] = { { "A", "a" }, { "B", "b" }, { "CLOUD_INIT", "report" } };

		expect_file(path, kv, 3);
		expect_pool(p, 1, kv, 3);
		q = open_pools(c, 0, 0, true);
		expect_pool(q, 1, kv, 3);
		assert_int_equal(kvp_pool_get(q, 1, "D", &v), -ENOENT);
		kvp_pools_free(q);
	}

	/* A partial record another writer left is removed by our next write, even a modify. */
	make_record(rec, "torn", "x");
	append_raw(path, rec, 100);
	assert_int_equal(kvp_pool_set(p, 1, "A", "a2"), 0);
	append_kv(path, "CLOUD_INIT2", "r2");
	{
		const struct kv kv[] = { { "A", "a2" }, { "B", "b" }, { "CLOUD_INIT", "report" },
					 { "CLOUD_INIT2", "r2" } };

		expect_file(path, kv, 4);
		expect_pool(p, 1, kv, 4);
	}
	kvp_pools_free(p);
}

/*
 * No inotify and a coarse clock (mtime and ctime the same across changes): a
 * same-size change by another process is invisible to the signature. Writes
 * check the slots they touch and reload instead of writing over another record.
 */
static void test_coarse_no_inotify(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *d, *cli;
	char path[PATH_MAX];
	const char *v;

	inject.no_inotify = true;
	inject.coarse = true; /* fake_time stays 1970: never within the racy window */
	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 1, path, sizeof(path));
	append_kv(path, "A", "a");
	append_kv(path, "B", "b");
	append_kv(path, "L", "l");
	d = open_pools(c, 0, 0, false);
	cli = open_pools(c, 0, 0, false);

	/* [A, B, L] -> [L, B] -> [L, B, N]: the same size. */
	assert_int_equal(kvp_pool_delete(cli, 1, "A"), 0);
	assert_int_equal(kvp_pool_set(cli, 1, "N", "n"), 0);
	/* d still thinks L is at slot 2, where N is now. */
	assert_int_equal(kvp_pool_set(d, 1, "L", "l2"), 0);
	{
		const struct kv kv[] = { { "L", "l2" }, { "B", "b" }, { "N", "n" } };

		expect_file(path, kv, 3);
		expect_pool(d, 1, kv, 3);
	}
	assert_int_equal(kvp_pool_load_count(d, 1), 2);

	/* A delete: d thinks the last record is N, the file's is M now. [M, B, N] -> ... */
	assert_int_equal(kvp_pool_delete(cli, 1, "L"), 0); /* [N, B] */
	assert_int_equal(kvp_pool_set(cli, 1, "M", "m"), 0); /* [N, B, M] */
	assert_int_equal(kvp_pool_delete(d, 1, "B"), 0);
	{
		const struct kv kv[] = { { "N", "n" }, { "M", "m" } };

		expect_file(path, kv, 2);
		expect_pool(d, 1, kv, 2);
	}
	assert_int_equal(kvp_pool_get(d, 1, "L", &v), -ENOENT);
	kvp_pools_free(cli);
	kvp_pools_free(d);
}

/*
 * No inotify: a signature taken within the clock's tick of the file's last
 * change is not trusted (a same-size change in that tick would not show).
 * Here the timestamps never move, and are "now" at first.
 */
static void test_racy_signature(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *d, *cli;
	unsigned long loads;
	const char *v;

	inject.no_inotify = true;
	inject.coarse = true;
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &inject.fake_time), 0);
	inject.fake_time.tv_sec += 1; /* stays recent however slow this runs */
	d = open_pools(c, 0, 0, false);
	cli = open_pools(c, 0, 0, false);
	assert_int_equal(kvp_pool_set(d, 1, "K", "1"), 0);
	/* In place, same size, same timestamps. */
	assert_int_equal(kvp_pool_set(cli, 1, "K", "2"), 0);
	assert_int_equal(kvp_pool_get(d, 1, "K", &v), 0);
	assert_string_equal(v, "2");

	/* Timestamps long past: trusted again, an unchanged file is not reread. */
	inject.fake_time.tv_sec = 1000000000;
	assert_int_equal(kvp_pool_get(d, 1, "K", &v), 0);
	loads = kvp_pool_load_count(d, 1);
	assert_int_equal(kvp_pool_get(d, 1, "K", &v), 0);
	assert_int_equal(kvp_pool_count(d, 1), 1);
	assert_int_equal(kvp_pool_load_count(d, 1), loads);
	kvp_pools_free(cli);
	kvp_pools_free(d);
}

static char trunc_path[PATH_MAX];

/* cloud-init's once-per-boot open("w"): no lock. */
static void truncate_unlocked(void)
{
	int fd = open(trunc_path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
}

/* An unlocked truncate landing between our write and our unlock is not taken for ours. */
static void test_truncate_during_write(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	const char *v;

	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 1, trunc_path, sizeof(trunc_path));
	append_kv(trunc_path, "A", "a");
	append_kv(trunc_path, "B", "b");
	append_kv(trunc_path, "C", "c");
	p = open_pools(c, 0, 0, false);
	inject.after_sync = truncate_unlocked;
	assert_int_equal(kvp_pool_set(p, 1, "D", "d"), 0);
	assert_null(inject.after_sync);
	expect_pool(p, 1, NULL, 0);
	assert_int_equal(kvp_pool_get(p, 1, "A", &v), -ENOENT);
	assert_int_equal(kvp_pool_set(p, 1, "E", "e"), 0);
	{
		const struct kv kv[] = { { "E", "e" } };

		expect_file(trunc_path, kv, 1);
		expect_pool(p, 1, kv, 1);
	}
	kvp_pools_free(p);
}

/* A fast delete never moves a later copy of a key in front of the served one. */
static void test_delete_keeps_served_copy(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	char path[PATH_MAX], path2[PATH_MAX];
	const char *v;

	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 0, path, sizeof(path));
	append_kv(path, "A", "a");
	append_kv(path, "K", "first");
	append_kv(path, "K", "second");
	/* And the slow path (D is duplicated): Y's copy is dropped, not moved. */
	pool_path(c, 2, path2, sizeof(path2));
	append_kv(path2, "D", "1");
	append_kv(path2, "X", "x");
	append_kv(path2, "Y", "first");
	append_kv(path2, "D", "2");
	append_kv(path2, "Y", "second");
	p = open_pools(c, 0, 0, false);

	assert_int_equal(kvp_pool_delete(p, 0, "A"), 0);
	{
		const struct kv kv[] = { { "K", "first" } };

		expect_file(path, kv, 1);
		expect_pool(p, 0, kv, 1);
	}
	/* Another writer's append makes us reload: still the same copy. */
	append_kv(path, "Z", "z");
	assert_int_equal(kvp_pool_get(p, 0, "K", &v), 0);
	assert_string_equal(v, "first");
	assert_int_equal(kvp_pool_load_count(p, 0), 2);

	assert_int_equal(kvp_pool_delete(p, 2, "D"), 0);
	{
		const struct kv kv[] = { { "Y", "first" }, { "X", "x" } };

		expect_file(path2, kv, 2);
		expect_pool(p, 2, kv, 2);
	}
	kvp_pools_free(p);
}

/*
 * hv-kvp opening the pools for writing, and closing them, is not a change:
 * the daemon does not reread its pools after `hv-kvp delete nosuchkey`.
 */
static void test_no_reload_after_noop(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools_config cfg = { .dir = c->dir };
	struct kvp_pools *d = open_pools(c, 0, 0, false), *q = NULL;
	const char *v;

	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++)
		assert_int_equal(kvp_pool_set(d, pool, "k", "v"), 0);
	for (int lazy = 0; lazy < 2; lazy++) {
		cfg.lazy = lazy;
		assert_int_equal(kvp_pools_open(&cfg, &q), 0);
		assert_int_equal(kvp_pool_delete(q, 1, "nosuchkey"), -ENOENT);
		assert_int_equal(kvp_pool_get(q, 1, "k", &v), 0);
		assert_int_equal(kvp_pool_load_count(q, 0), lazy ? 0 : 1);
		kvp_pools_free(q);
		for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++) {
			assert_int_equal(kvp_pool_get(d, pool, "k", &v), 0);
			assert_int_equal(kvp_pool_load_count(d, pool), 1);
		}
	}
	kvp_pools_free(d);
}

/* What is wrong in a file is logged when it is loaded, not again after our own rewrite. */
static void test_warnings_once(void **state)
{
	struct ctx *c = *state;
	struct kvp_pools *p;
	char path[PATH_MAX];
	unsigned warnings;

	assert_int_equal(mkdir(c->dir, 0755), 0);
	pool_path(c, 1, path, sizeof(path));
	append_kv(path, "", "orphan");
	append_kv(path, "k", "1");
	append_kv(path, "x", "2");
	append_kv(path, "k", "3");
	p = open_pools(c, 0, 0, false);
	warnings = inject.warnings;
	assert_true(warnings >= 2); /* the empty key, the duplicate */
	assert_int_equal(kvp_pool_set(p, 1, "k", "new"), 0); /* the slow path, then a reload */
	{
		const struct kv kv[] = { { "k", "new" }, { "x", "2" } };

		expect_pool(p, 1, kv, 2);
	}
	assert_int_equal(kvp_pool_load_count(p, 1), 2);
	assert_int_equal(inject.warnings, warnings);
	kvp_pools_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_roundtrip_all_pools, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modify_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_moves_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_trailing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_flock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_ofd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_posix_other_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test(test_memory_only),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coarse_no_inotify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racy_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_during_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_keeps_served_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_reload_after_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warnings_once, setup, teardown),
	};

	log_set_max_level(LOG_EMERG);
	return cmocka_run_group_tests_name("kvp-pool", tests, NULL, NULL);
}
