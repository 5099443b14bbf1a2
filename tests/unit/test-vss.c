/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-vssd's protocol logic (daemons/vss/vss-proto.c) with a recording fake
 * freezer, and its freeze hooks (vss-hooks.c) with real scripts in a scratch
 * directory: order, arguments, failures, timeouts, skipped names, a clean
 * environment.
 *
 * Messages are heap copies of exactly their length, so under ASan a handler
 * that touches a byte past the message fails the test.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test-util.h"
#include "vmbus/vmbus.h"

#include "log.h"
#include "vss-hooks.h"
#include "vss-proto.h"

/* ------------------------------------------------------------------------ */
/* Protocol                                                                  */
/* ------------------------------------------------------------------------ */

struct fake {
	int freezes, thaws;
	uint32_t freeze_status, thaw_status;
};

static uint32_t fake_freeze(void *userdata)
{
	struct fake *f = userdata;

	f->freezes++;
	return f->freeze_status;
}

static uint32_t fake_thaw(void *userdata)
{
	struct fake *f = userdata;

	f->thaws++;
	return f->thaw_status;
}

static const struct vss_ops fake_ops = { .freeze = fake_freeze, .thaw = fake_thaw };

/* Send op in a body of len bytes (filled with a pattern: the handler must not care). */
static uint32_t send_op(struct vss *v, unsigned op, size_t len, uint8_t **ret_body)
{
	uint8_t *b = malloc(len ? len : 1);
	uint32_t st;

	assert_non_null(b);
	pattern_fill(b, len, op + len);
	if (len)
		b[VSS_OFF_OPERATION] = (uint8_t)op;
	st = vss_message(v, b, len);
	if (ret_body)
		*ret_body = b;
	else
		free(b);
	return st;
}

static void test_simple_ops(void **state)
{
	struct fake f = { 0 };
	struct vss v = { .ops = &fake_ops, .userdata = &f };
	static const unsigned ops[] = { VSS_OP_CREATE, VSS_OP_DELETE, VSS_OP_BU_COMPLETE, VSS_OP_AUTO_RECOVER };
	static const size_t sizes[] = { 1, 8, VSS_MSG_LEN, 100, VSS_FREEZE_HOST_LEN, VSS_AUTO_RECOVER_HOST_LEN };

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(ops); i++)
		for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
			uint8_t *b, *copy = malloc(sizes[s]);

			assert_non_null(copy);
			assert_int_equal(send_op(&v, ops[i], sizes[s], &b), VMBUS_HV_S_OK);
			/* Nothing in the body changes: the reply echoes it. */
			pattern_fill(copy, sizes[s], ops[i] + sizes[s]);
			copy[0] = (uint8_t)ops[i];
			assert_memory_equal(b, copy, sizes[s]);
			free(b);
			free(copy);
		}
	assert_int_equal(f.freezes + f.thaws, 0);
}

static void test_hot_backup_and_dm_info(void **state)
{
	struct fake f = { 0 };
	struct vss v = { .ops = &fake_ops, .userdata = &f };
	uint8_t *b;

	(void)state;
	assert_int_equal(send_op(&v, VSS_OP_HOT_BACKUP, VSS_MSG_LEN, &b), VMBUS_HV_S_OK);
	assert_int_equal(get_le32(b + VSS_OFF_FLAGS), VSS_HBU_NO_AUTO_RECOVERY);
	assert_int_equal(b[VSS_OFF_OPERATION], VSS_OP_HOT_BACKUP); /* the header is left as it was */
	free(b);
	assert_int_equal(send_op(&v, VSS_OP_HOT_BACKUP, 4096, &b), VMBUS_HV_S_OK);
	assert_int_equal(get_le32(b + VSS_OFF_FLAGS), VSS_HBU_NO_AUTO_RECOVERY);
	free(b);
	assert_int_equal(send_op(&v, VSS_OP_GET_DM_INFO, VSS_MSG_LEN, &b), VMBUS_HV_S_OK);
	assert_int_equal(get_le32(b + VSS_OFF_FLAGS), 0);
	free(b);
	/* Too short to carry the flags: refused, not written past the end. */
	for (size_t len = 1; len < VSS_MSG_LEN; len++) {
		assert_int_equal(send_op(&v, VSS_OP_HOT_BACKUP, len, NULL), VMBUS_HV_E_FAIL);
		assert_int_equal(send_op(&v, VSS_OP_GET_DM_INFO, len, NULL), VMBUS_HV_E_FAIL);
	}
	assert_int_equal(send_op(&v, 0, 0, NULL), VMBUS_HV_E_FAIL);
}

static void test_freeze_thaw(void **state)
{
	struct fake f = { 0 };
	struct vss v = { .ops = &fake_ops, .userdata = &f };

	(void)state;
	assert_int_equal(send_op(&v, VSS_OP_FREEZE, VSS_FREEZE_HOST_LEN, NULL), VMBUS_HV_S_OK);
	assert_int_equal(f.freezes, 1);
	assert_int_equal(send_op(&v, VSS_OP_THAW, VSS_MSG_LEN, NULL), VMBUS_HV_S_OK);
	assert_int_equal(f.thaws, 1);
	/* The freezer's answer is the host's. */
	f.freeze_status = VMBUS_HV_E_FAIL;
	assert_int_equal(send_op(&v, VSS_OP_FREEZE, 1, NULL), VMBUS_HV_E_FAIL);
	f.thaw_status = VMBUS_HV_E_FAIL;
	assert_int_equal(send_op(&v, VSS_OP_THAW, 1, NULL), VMBUS_HV_E_FAIL);
	assert_int_equal(v.n_freeze, 2);
	assert_int_equal(v.n_thaw, 2);
	/* No freezer at all: refused, never a crash. */
	v.ops = NULL;
	assert_int_equal(send_op(&v, VSS_OP_FREEZE, VSS_MSG_LEN, NULL), VMBUS_HV_E_FAIL);
}

static void test_unknown_ops(void **state)
{
	struct fake f = { 0 };
	struct vss v = { .ops = &fake_ops, .userdata = &f };

	(void)state;
	for (unsigned op = VSS_OP_COUNT; op < 256; op++)
		assert_int_equal(send_op(&v, op, VSS_MSG_LEN, NULL), VMBUS_HV_ERROR_NOT_SUPPORTED);
	/* The legacy daemon registration codes are not host operations. */
	assert_int_equal(send_op(&v, 128, VSS_MSG_LEN, NULL), VMBUS_HV_ERROR_NOT_SUPPORTED);
	assert_int_equal(send_op(&v, 129, 1, NULL), VMBUS_HV_ERROR_NOT_SUPPORTED);
	assert_int_equal(f.freezes + f.thaws, 0);
	assert_null(vss_op_name(VSS_OP_COUNT));
	assert_string_equal(vss_op_name(VSS_OP_FREEZE), "FREEZE");
}

/* ------------------------------------------------------------------------ */
/* Hooks                                                                     */
/* ------------------------------------------------------------------------ */

struct hctx {
	char dir[PATH_MAX];   /* scratch */
	char hooks[PATH_MAX]; /* the hook directory */
	char log[PATH_MAX];   /* every hook appends "NAME ARG" here */
};

static int hsetup(void **state)
{
	struct hctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(c);
	PATHF(c->dir, "%s/test-vss.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(c->dir));
	PATHF(c->hooks, "%s/hooks.d", c->dir);
	PATHF(c->log, "%s/log", c->dir);
	assert_int_equal(mkdir(c->hooks, 0755), 0);
	*state = c;
	return 0;
}

static int hteardown(void **state)
{
	struct hctx *c = *state;

	test_rm_rf(c->dir);
	free(c);
	return 0;
}

/* A hook script: logs its name and argument, then runs body (shell). */
static void add_hook(struct hctx *c, const char *name, const char *body, mode_t mode)
{
	char path[PATH_MAX * 2];
	FILE *f;

	PATHF(path, "%s/%s", c->hooks, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\necho \"%s $1\" >> '%s'\n%s\n", name, c->log, body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *read_log(struct hctx *c)
{
	static char buf[4096];
	int fd = open(c->log, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return strcpy(buf, "");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void test_hook_names(void **state)
{
	(void)state;
	assert_false(vss_hook_name_skipped("10-mysql"));
	assert_false(vss_hook_name_skipped("postgresql.sh"));
	assert_true(vss_hook_name_skipped(".hidden"));
	assert_true(vss_hook_name_skipped("10-mysql~"));
	assert_true(vss_hook_name_skipped("10-mysql.dpkg-old"));
	assert_true(vss_hook_name_skipped("10-mysql.dpkg-dist"));
	assert_true(vss_hook_name_skipped("10-mysql.rpmnew"));
	assert_true(vss_hook_name_skipped("10-mysql.rpmsave"));
	assert_true(vss_hook_name_skipped(""));
	assert_false(vss_hook_name_skipped("~x"));
}

static void test_hooks_order(void **state)
{
	struct hctx *c = *state;
	struct vss_hooks h;

	add_hook(c, "20-b", "exit 0", 0755);
	add_hook(c, "10-a", "exit 0", 0755);
	add_hook(c, "30-c", "exit 0", 0755);
	add_hook(c, "15-old.dpkg-old", "exit 1", 0755); /* skipped: would fail */
	add_hook(c, "16-backup~", "exit 1", 0755);
	add_hook(c, "17-not-executable", "exit 1", 0644);
	assert_int_equal(vss_hooks_freeze(&h, c->hooks, 5000), 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(read_log(c), "10-a freeze\n20-b freeze\n30-c freeze\n");
	vss_hooks_end(&h, "thaw");
	assert_string_equal(read_log(c), "10-a freeze\n20-b freeze\n30-c freeze\n30-c thaw\n20-b thaw\n10-a thaw\n");
	assert_int_equal(h.n, 0);
}

static void test_hooks_failure(void **state)
{
	struct hctx *c = *state;
	struct vss_hooks h;

	add_hook(c, "10-a", "exit 0", 0755);
	add_hook(c, "20-fails", "[ \"$1\" = freeze ] && exit 3; exit 0", 0755);
	add_hook(c, "30-never", "exit 0", 0755);
	assert_int_equal(vss_hooks_freeze(&h, c->hooks, 5000), -EIO);
	/* The ones that ran get freeze-fail, in reverse; the one after never ran. */
	assert_string_equal(read_log(c), "10-a freeze\n20-fails freeze\n20-fails freeze-fail\n10-a freeze-fail\n");
	assert_int_equal(h.n, 0);
}

static void test_hooks_timeout_and_env(void **state)
{
	struct hctx *c = *state;
	struct vss_hooks h;
	char env_file[PATH_MAX * 2], body[PATH_MAX * 3];
	struct timespec t0, t1;
	char *log;

	PATHF(env_file, "%s/env", c->dir);
	PATHF(body, "env > '%s'; exit 0", env_file);
	setenv("HV_TEST_SECRET", "leak", 1);
	add_hook(c, "10-env", body, 0755);
	add_hook(c, "20-sleeps", "[ \"$1\" = freeze ] && sleep 30; exit 0", 0755);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vss_hooks_freeze(&h, c->hooks, 500), -EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 10);
	log = read_log(c);
	assert_non_null(strstr(log, "20-sleeps freeze\n"));
	assert_non_null(strstr(log, "20-sleeps freeze-fail\n"));
	assert_non_null(strstr(log, "10-env freeze-fail\n"));
	/* A clean environment: PATH (and what the shell sets itself), nothing of ours. */
	{
		int fd = open(env_file, O_RDONLY | O_CLOEXEC);
		char buf[4096];
		ssize_t n;

		assert_true(fd >= 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_null(strstr(buf, "HV_TEST_SECRET"));
		assert_non_null(strstr(buf, "PATH="));
	}
	unsetenv("HV_TEST_SECRET");
}

static void test_hooks_missing_dir(void **state)
{
	struct hctx *c = *state;
	struct vss_hooks h;
	char missing[PATH_MAX * 2];

	PATHF(missing, "%s/nonexistent", c->dir);
	assert_int_equal(vss_hooks_freeze(&h, missing, 1000), 0);
	assert_int_equal(h.n, 0);
	vss_hooks_end(&h, "thaw");
	assert_int_equal(vss_hooks_freeze(&h, c->hooks, 1000), 0); /* empty */
	assert_int_equal(h.n, 0);
	vss_hooks_end(&h, "thaw");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_ops),
		cmocka_unit_test(test_hot_backup_and_dm_info),
		cmocka_unit_test(test_freeze_thaw),
		cmocka_unit_test(test_unknown_ops),
		cmocka_unit_test(test_hook_names),
		cmocka_unit_test_setup_teardown(test_hooks_order, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_hooks_failure, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_hooks_timeout_and_env, hsetup, hteardown),
		cmocka_unit_test_setup_teardown(test_hooks_missing_dir, hsetup, hteardown),
	};

	log_set_max_level(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_EMERG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
