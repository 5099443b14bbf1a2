/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file sink of hv-fcopyd, driven directly in a scratch directory: the
 * moments the protocol cannot pin down from outside, such as a file that
 * appears under the target name while a transfer is open.
 */
#include "config.h"

#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "fcopy-sink.h"
#include "log.h"

/* snprintf into a path buffer, failing the test if it does not fit. */

struct ctx {
	char dir[PATH_MAX];
	char state[PATH_MAX];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(c);
	PATHF(c->dir, "%s/test-fcopy-sink.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(c->dir));
	PATHF(c->state, "%s/.state", c->dir);
	assert_int_equal(mkdir(c->state, 0700), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	test_rm_rf(c->dir);
	free(c);
	return 0;
}

static struct fcopy_sink *new_sink(struct ctx *c, bool no_tmpfile)
{
	struct fcopy_sink_config cfg = { .mode = 0644, .state_dir = c->state, .no_tmpfile = no_tmpfile };
	struct fcopy_sink *s;

	assert_int_equal(fcopy_sink_new(&cfg, &s), 0);
	return s;
}

static void put(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void assert_content(const char *path, const char *content)
{
	char buf[256] = "";
	FILE *f = fopen(path, "re");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(buf, content);
}

/* Entries in dir other than ".state": the target only, never a temporary file. */
static int count_entries(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".state"))
			n++;
	closedir(d);
	return n;
}

static void appeared_meanwhile(void **state, bool no_tmpfile)
{
	struct ctx *c = *state;
	struct fcopy_sink *s = new_sink(c, no_tmpfile);
	const struct fcopy_sink_ops *ops = &fcopy_file_sink_ops;
	char target[PATH_MAX];

	PATHF(target, "%s/t.txt", c->dir);
	assert_int_equal(ops->start(s, c->dir, "t.txt", 0, 3), VMBUS_HV_S_OK);
	assert_int_equal(ops->write(s, 0, "new", 3), VMBUS_HV_S_OK);
	/* Someone else creates the name while the transfer is open. */
	put(target, "theirs");
	assert_int_equal(ops->complete(s), VMBUS_HV_ERROR_ALREADY_EXISTS);
	assert_content(target, "theirs");
	assert_int_equal(count_entries(c->dir), 1);

	/* With OVER_WRITE the same race replaces it, whole, at COMPLETE only. */
	assert_int_equal(ops->start(s, c->dir, "u.txt", FCOPY_FLAG_OVER_WRITE, 3), VMBUS_HV_S_OK);
	assert_int_equal(ops->write(s, 0, "new", 3), VMBUS_HV_S_OK);
	PATHF(target, "%s/u.txt", c->dir);
	put(target, "theirs");
	assert_content(target, "theirs");
	assert_int_equal(ops->complete(s), VMBUS_HV_S_OK);
	assert_content(target, "new");
	assert_int_equal(count_entries(c->dir), 2);
	fcopy_sink_free(s);
}

static void test_appeared_meanwhile_tmpfile(void **state)
{
	appeared_meanwhile(state, false);
}

static void test_appeared_meanwhile_named(void **state)
{
	appeared_meanwhile(state, true);
}

/* Abort (CANCEL, SIGTERM, device loss): the old file stays, nothing else is left. */
static void aborted(void **state, bool no_tmpfile)
{
	struct ctx *c = *state;
	struct fcopy_sink *s = new_sink(c, no_tmpfile);
	const struct fcopy_sink_ops *ops = &fcopy_file_sink_ops;
	char target[PATH_MAX], record[PATH_MAX];

	PATHF(target, "%s/old.txt", c->dir);
	PATHF(record, "%s/pending", c->state);
	put(target, "old");
	assert_int_equal(ops->start(s, c->dir, "old.txt", FCOPY_FLAG_OVER_WRITE, 100), VMBUS_HV_S_OK);
	assert_int_equal(ops->write(s, 0, "partial", 7), VMBUS_HV_S_OK);
	assert_int_equal(count_entries(c->dir), no_tmpfile ? 2 : 1);
	assert_int_equal(access(record, F_OK) == 0, no_tmpfile);
	ops->abort(s, "test");
	assert_content(target, "old");
	assert_int_equal(count_entries(c->dir), 1);
	assert_int_equal(access(record, F_OK), -1);
	fcopy_sink_free(s);
}

static void test_abort_tmpfile(void **state)
{
	aborted(state, false);
}

static void test_abort_named(void **state)
{
	aborted(state, true);
}

/* The record names a file of ours only: recovery never removes anything else. */
static void test_recover_only_our_files(void **state)
{
	struct ctx *c = *state;
	char record[PATH_MAX], victim[PATH_MAX], ours[PATH_MAX];

	PATHF(record, "%s/pending", c->state);
	PATHF(victim, "%s/precious", c->dir);
	PATHF(ours, "%s/" FCOPY_TMP_PREFIX "0123456789abcdef" FCOPY_TMP_SUFFIX, c->dir);
	put(victim, "keep");
	put(record, victim);
	assert_int_equal(fcopy_sink_recover(c->state), 0);
	assert_content(victim, "keep");
	assert_int_equal(access(record, F_OK), -1);

	put(ours, "left by a killed instance");
	put(record, ours);
	assert_int_equal(fcopy_sink_recover(c->state), 1);
	assert_int_equal(access(ours, F_OK), -1);
	assert_int_equal(fcopy_sink_recover(c->state), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_appeared_meanwhile_tmpfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appeared_meanwhile_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_tmpfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_only_our_files, setup, teardown),
	};

	log_set_max_level(LOG_EMERG);
	return cmocka_run_group_tests_name("fcopy-sink", tests, NULL, NULL);
}
