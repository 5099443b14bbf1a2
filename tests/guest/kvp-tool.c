/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvp-tool: the OTHER writers and readers of a KVP pool file, imitated as
 * they behave (reference kvp-vss.md §5), for the pool-compatibility tests.
 *
 *   kvp-tool append FILE COUNT PREFIX
 *	cloud-init's HyperVKvpReportingHandler: for each record, open the file
 *	for appending, flock(LOCK_EX), write one 2560-byte NUL-padded record
 *	(key PREFIX<i>, value "append <i>"), close. No POSIX lock.
 *
 *   kvp-tool kernel-write [--stale] [--hold MS] [--mark FILE] FILE KEY=VALUE...
 *	hv_kvp_daemon handling a SET per pair (creating the file and its
 *	directory, 0644 and 0755, as its start-up does): under a POSIX write lock on the
 *	whole file (F_SETLKW), read every complete record, overwrite an existing
 *	key's value with the new one and its NUL (the old bytes after it stay, as
 *	in the daemon) or append a record, then truncate the file and rewrite
 *	every record. --stale fills a new record's unused bytes with garbage, as
 *	the daemon's uninitialised memory may; --hold sleeps MS milliseconds in
 *	the middle of the rewrite, with the lock held and half the records
 *	written; --mark creates FILE.locked once the lock for the rewrite is
 *	taken and FILE.done just before it is released.
 *
 *   kvp-tool kernel-read FILE
 *	hv_kvp_daemon's reader: the same lock, fread whole records (a partial
 *	trailing one is ignored), and print KEY=VALUE per record, each field
 *	taken as a C string cut at its NUL or at the field's end.
 *
 * Exit status 0, or 1 with a message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_SIZE 512
#define VALUE_SIZE 2048
#define RECORD_SIZE (KEY_SIZE + VALUE_SIZE)
/* The kernel daemon reads and grows its array in blocks of this many records. */
#define BLOCK_RECORDS 50

struct record {
	char key[KEY_SIZE];
	char value[VALUE_SIZE];
};

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "kvp-tool: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int append(const char *path, const char *count_s, const char *prefix)
{
	char *end;
	unsigned long count;

	errno = 0;
	count = strtoul(count_s, &end, 10);
	if (errno || *end || end == count_s) {
		fprintf(stderr, "kvp-tool: invalid COUNT '%s'\n", count_s);
		return 1;
	}
	for (unsigned long i = 0; i < count; i++) {
		struct record rec;
		int fd;

		memset(&rec, 0, sizeof(rec));
		/* struct.pack("512s2048s", ...): cut silently, NUL-padded. */
		snprintf(rec.key, sizeof(rec.key), "%s%lu", prefix, i);
		snprintf(rec.value, sizeof(rec.value), "append %lu", i);
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail("cannot open", path);
		if (flock(fd, LOCK_EX) < 0) {
			close(fd);
			return fail("cannot lock", path);
		}
		if (write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec)) {
			close(fd);
			return fail("cannot write", path);
		}
		close(fd); /* drops the flock */
	}
	return 0;
}

/* F_SETLKW write lock on the whole file, as kvp_acquire_lock() takes it. */
static int posix_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

	while (fcntl(fd, F_SETLKW, &fl) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Every complete record (fread in 50-record blocks); a partial trailing one is ignored. */
static struct record *read_records(const char *path, size_t *ret_n)
{
	struct record *recs = NULL;
	size_t n = 0, alloc = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n + BLOCK_RECORDS > alloc) {
			struct record *t = realloc(recs, (alloc + BLOCK_RECORDS) * sizeof(*recs));

			if (!t) {
				free(recs);
				fclose(f);
				return NULL;
			}
			recs = t;
			alloc += BLOCK_RECORDS;
		}
		got = fread(recs + n, sizeof(*recs), BLOCK_RECORDS, f);
		n += got;
		if (got < BLOCK_RECORDS)
			break;
	}
	if (ferror(f)) {
		free(recs);
		fclose(f);
		return NULL;
	}
	fclose(f); /* as in the daemon, this already drops the POSIX lock */
	*ret_n = n;
	if (!recs)
		recs = malloc(sizeof(*recs)); /* an empty file */
	return recs;
}

static void mark(const char *base, const char *suffix)
{
	char path[4096];
	FILE *f;

	if (!base)
		return;
	snprintf(path, sizeof(path), "%s%s", base, suffix);
	f = fopen(path, "we");
	if (f)
		fclose(f);
}

static void make_parent(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	(void)mkdir(dir, 0755);
}

static int kernel_write(int argc, char **argv)
{
	struct record *recs;
	const char *path, *mark_base = NULL;
	size_t n = 0, half;
	long hold_ms = 0;
	bool stale = false;
	FILE *f;
	int fd, i;

	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--stale") == 0) {
			stale = true;
		} else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc) {
			hold_ms = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--mark") == 0 && i + 1 < argc) {
			mark_base = argv[++i];
		} else {
			fprintf(stderr, "kvp-tool: unknown option '%s'\n", argv[i]);
			return 1;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "kvp-tool: kernel-write needs FILE\n");
		return 1;
	}
	path = argv[i++];

	/* kvp_init(): the pool directory (0755) if missing, then O_RDWR | O_CREAT, 0644. */
	make_parent(path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("cannot open", path);
	if (posix_lock(fd, F_WRLCK) < 0)
		return fail("cannot lock", path);
	recs = read_records(path, &n);
	if (!recs)
		return fail("cannot read", path);
	/* read_records()' fclose dropped the lock; the daemon takes it again to write. */
	if (posix_lock(fd, F_WRLCK) < 0)
		return fail("cannot lock", path);
	mark(mark_base, ".locked");

	for (; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t klen, vlen, j;

		if (!eq || eq == argv[i]) {
			fprintf(stderr, "kvp-tool: expected KEY=VALUE, not '%s'\n", argv[i]);
			return 1;
		}
		klen = (size_t)(eq - argv[i]);
		vlen = strlen(eq + 1);
		if (klen >= KEY_SIZE || vlen >= VALUE_SIZE) {
			fprintf(stderr, "kvp-tool: key or value too long in '%s'\n", argv[i]);
			return 1;
		}
		/* memcmp over key_size bytes, the NUL included: exact match. */
		for (j = 0; j < n; j++)
			if (memcmp(recs[j].key, argv[i], klen) == 0 && recs[j].key[klen] == '\0')
				break;
		if (j == n) {
			struct record *t = realloc(recs, (n + 1) * sizeof(*recs));

			if (!t)
				return fail("out of memory for", path);
			recs = t;
			memset(&recs[n], stale ? 0xa5 : 0, sizeof(*recs));
			memcpy(recs[n].key, argv[i], klen);
			recs[n].key[klen] = '\0';
			n++;
		}
		/* value_size bytes (the NUL included) over the old value; the rest stays. */
		memcpy(recs[j].value, eq + 1, vlen + 1);
	}

	/* kvp_update_file(): truncate and rewrite everything. */
	f = fopen(path, "we");
	if (!f)
		return fail("cannot open", path);
	half = n / 2;
	if (fwrite(recs, sizeof(*recs), half, f) != half || fflush(f) != 0)
		return fail("cannot write", path);
	if (hold_ms > 0) {
		struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (fwrite(recs + half, sizeof(*recs), n - half, f) != n - half || fflush(f) != 0)
		return fail("cannot write", path);
	mark(mark_base, ".done");
	if (fclose(f) != 0)
		return fail("cannot write", path);
	posix_lock(fd, F_UNLCK);
	close(fd);
	free(recs);
	return 0;
}

static int kernel_read(const char *path)
{
	struct record *recs;
	size_t n = 0;
	int fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("cannot open", path);
	if (posix_lock(fd, F_WRLCK) < 0)
		return fail("cannot lock", path);
	recs = read_records(path, &n);
	if (!recs)
		return fail("cannot read", path);
	for (size_t i = 0; i < n; i++) {
		fwrite(recs[i].key, 1, strnlen(recs[i].key, KEY_SIZE), stdout);
		putchar('=');
		fwrite(recs[i].value, 1, strnlen(recs[i].value, VALUE_SIZE), stdout);
		putchar('\n');
	}
	free(recs);
	close(fd);
	if (fflush(stdout) != 0)
		return fail("cannot write", "standard output");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "append") == 0)
		return append(argv[2], argv[3], argv[4]);
	if (argc >= 3 && strcmp(argv[1], "kernel-write") == 0)
		return kernel_write(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "kernel-read") == 0)
		return kernel_read(argv[2]);
	fprintf(stderr, "Usage: kvp-tool append FILE COUNT PREFIX\n"
			"       kvp-tool kernel-write [--stale] [--hold MS] [--mark FILE] FILE KEY=VALUE...\n"
			"       kvp-tool kernel-read FILE\n");
	return 1;
}
