/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmbus_uio_find(): discovery of a class's uio device through libudev, in an
 * umockdev testbed.
 *
 * Started by make check, the test writes an umockdev device description (the
 * umockdev-record text format) and runs itself again under umockdev-run,
 * whose preload library shows libudev the testbed's /sys and /dev. The
 * description has, on the vmbus bus:
 *   - the fcopy device (class 34d14be3-...) bound to uio_hv_generic, uio0; its
 *     node is a regular file of map0/size bytes, so it can be opened and mapped;
 *   - a decoy, Heartbeat (57164f39-...) on uio_hv_generic, uio1, whose
 *     instance sorts first, so the first uio device is the wrong one;
 *   - KVP (a9a0f4e7-...) bound to hv_utils: a vmbus device with no uio child;
 *   - a device with a malformed class_id, uio3;
 * and uio2, a platform device on uio_pdrv_genirq, not on vmbus.
 *
 * The libumockdev testbed API would need its pkg-config flags from configure;
 * umockdev-run needs nothing but the program. Without umockdev-run (configure
 * did not find it) the test is skipped; if it is there and fails, the test fails.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "asan-preload.h"
#include "vmbus/vmbus.h"

#define VMBUS_DIR "/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00"
#define INST_FCOPY "f5bee29c-1741-4aad-a4c2-8fdedb46dcc2"
#define INST_DECOY "0a8c6f1e-8d3b-4b8e-9c0a-6f3e1d2b4c5a"
#define INST_KVP "242ff919-07db-4180-9c2e-b86cb68c8c55"
#define INST_BAD "9b3c7d0e-1f2a-4b5c-8d6e-7f8091a2b3c4"
#define SENTINEL ((char *)"untouched")

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Map 0 of the fcopy device: 16 KiB rings on 4 KiB pages. */
static size_t map0_size(void)
{
	return 8 * page_size();
}

static void vmbus_device(FILE *m, const char *inst, const char *class_id, const char *driver,
			 int relid)
{
	fprintf(m,
		"P: " VMBUS_DIR "/%s\n"
		"E: DRIVER=%s\n"
		"E: SUBSYSTEM=vmbus\n"
		"A: class_id=%s\n"
		"A: device_id={%s}\n"
		"A: id=%d\n"
		"L: driver=../../../../../bus/vmbus/drivers/%s\n\n",
		inst, driver, class_id, inst, relid, driver);
}

/* A uio device below a vmbus device: the uio record, then its parent's. */
static void uio_device(FILE *m, const char *inst, const char *uio, int minor, bool node_content)
{
	fprintf(m,
		"P: " VMBUS_DIR "/%s/uio/%s\n"
		"N: %s",
		inst, uio, uio);
	if (node_content) {
		fputc('=', m);
		for (size_t i = 0; i < map0_size(); i++)
			fputs("00", m);
	}
	fprintf(m,
		"\n"
		"E: DEVNAME=/dev/%s\n"
		"E: MAJOR=240\n"
		"E: MINOR=%d\n"
		"E: SUBSYSTEM=uio\n"
		"A: name=uio_hv_generic\n"
		"A: version=0.02.1\n"
		"A: event=0\n"
		"A: maps/map0/name=txrx_rings\n"
		"A: maps/map0/addr=0x0\n"
		"A: maps/map0/offset=0x0\n"
		"A: maps/map0/size=0x%016zx\n\n",
		uio, minor, map0_size());
}

static char *description(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	uio_device(m, INST_DECOY, "uio1", 1, false);
	vmbus_device(m, INST_DECOY, "{57164f39-9115-4e78-ab55-382f3bd5422d}", "uio_hv_generic", 9);
	uio_device(m, INST_FCOPY, "uio0", 0, true);
	vmbus_device(m, INST_FCOPY, "{34d14be3-dee4-41c8-9ae7-6b174977c192}", "uio_hv_generic", 14);
	vmbus_device(m, INST_KVP, "{a9a0f4e7-5a45-4d96-b827-8a841e8c03e6}", "hv_utils", 13);
	uio_device(m, INST_BAD, "uio3", 3, false);
	vmbus_device(m, INST_BAD, "{not-a-guid}", "uio_hv_generic", 20);
	fprintf(m,
		"P: /devices/platform/uio_pdrv_genirq.0/uio/uio2\n"
		"N: uio2\n"
		"E: DEVNAME=/dev/uio2\n"
		"E: MAJOR=240\n"
		"E: MINOR=2\n"
		"E: SUBSYSTEM=uio\n"
		"A: name=uio_pdrv_genirq\n"
		"A: maps/map0/size=0x1000\n\n"
		"P: /devices/platform/uio_pdrv_genirq.0\n"
		"E: DRIVER=uio_pdrv_genirq\n"
		"E: SUBSYSTEM=platform\n"
		"A: driver_override=(null)\n");
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Outside a testbed: run this program again inside one. Never returns. */
static void run_in_testbed(void)
{
	const char *umockdev_run = UMOCKDEV_RUN, *tmp = getenv("TMPDIR");
	char file[4096], self[4096], *desc;
	int fd, status;
	ssize_t n;
	size_t len;
	pid_t pid;

	if (strcmp(umockdev_run, "no") == 0 || access(umockdev_run, X_OK) < 0) {
		printf("1..0 # SKIP umockdev-run not found (%s); install umockdev\n", umockdev_run);
		exit(EXIT_SUCCESS);
	}
	/* Our own path: /proc/self/exe would be umockdev-run's by then. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		printf("Bail out! /proc/self/exe: %s\n", strerror(errno));
		exit(EXIT_FAILURE);
	}
	self[n] = '\0';
	desc = description();
	snprintf(file, sizeof(file), "%s/test-uio-find.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(file);
	if (!desc || fd < 0) {
		printf("Bail out! cannot write the device description: %s\n", strerror(errno));
		exit(EXIT_FAILURE);
	}
	len = strlen(desc);
	if (write(fd, desc, len) != (ssize_t)len || close(fd) < 0) {
		printf("Bail out! %s: %s\n", file, strerror(errno));
		unlink(file);
		exit(EXIT_FAILURE);
	}
	free(desc);

	asan_allow_preload();
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(umockdev_run, "umockdev-run", "--device", file, "--", self, (char *)NULL);
		printf("Bail out! %s: %s\n", umockdev_run, strerror(errno));
		_exit(EXIT_FAILURE);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		printf("Bail out! running %s: %s\n", umockdev_run, strerror(errno));
		unlink(file);
		exit(EXIT_FAILURE);
	}
	unlink(file);
	if (WIFSIGNALED(status)) {
		printf("Bail out! killed by signal %d\n", WTERMSIG(status));
		exit(EXIT_FAILURE);
	}
	exit(WEXITSTATUS(status));
}

/* ---- tests (inside the testbed) ----------------------------------------- */

static void expect_path(const char *guid, const char *dev_root, const char *want)
{
	char *p = SENTINEL;

	assert_int_equal(vmbus_uio_find(guid, dev_root, &p), 0);
	assert_string_equal(p, want);
	free(p);
}

static void expect_error(const char *guid, int err)
{
	char *p = SENTINEL;

	assert_int_equal(vmbus_uio_find(guid, "/devroot", &p), err);
	/* Output parameters are written only on success. */
	assert_ptr_equal(p, SENTINEL);
}

static void test_testbed(void **state)
{
	(void)state;
	/* The testbed is what the other cases look at. */
	assert_non_null(getenv("UMOCKDEV_DIR"));
	assert_int_equal(access("/sys/class/uio/uio0/maps/map0/size", R_OK), 0);
	assert_int_equal(access("/sys/bus/vmbus/devices/" INST_FCOPY "/class_id", R_OK), 0);
}

static void test_find_by_class(void **state)
{
	(void)state;
	expect_path(VMBUS_CLASS_FCOPY, "/devroot", "/devroot/uio0");
	/* Not the first uio device: the one whose vmbus parent has the class. */
	expect_path(VMBUS_CLASS_HEARTBEAT, "/devroot", "/devroot/uio1");
}

static void test_find_braces_and_case(void **state)
{
	(void)state;
	expect_path("{34d14be3-dee4-41c8-9ae7-6b174977c192}", "/devroot", "/devroot/uio0");
	expect_path("34D14BE3-DEE4-41C8-9AE7-6B174977C192", "/devroot", "/devroot/uio0");
	expect_path("{34D14BE3-dee4-41C8-9ae7-6B174977C192}", "/devroot", "/devroot/uio0");
}

static void test_find_default_dev_root(void **state)
{
	(void)state;
	expect_path(VMBUS_CLASS_FCOPY, NULL, "/dev/uio0");
}

static void test_find_unknown(void **state)
{
	(void)state;
	/* KVP is on vmbus but has no uio device; VSS is not there at all. */
	expect_error(VMBUS_CLASS_KVP, -ENOENT);
	expect_error(VMBUS_CLASS_VSS, -ENOENT);
	expect_error("00000000-0000-0000-0000-000000000000", -ENOENT);
}

static void test_find_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"34d14be3",
		"34d14be3-dee4-41c8-9ae7-6b174977c19",
		"34d14be3-dee4-41c8-9ae7-6b174977c1920",
		"{34d14be3-dee4-41c8-9ae7-6b174977c192",
		"34d14be3-dee4-41c8-9ae7-6b174977c192}",
		"[34d14be3-dee4-41c8-9ae7-6b174977c192]",
		"34d14be3xdee4-41c8-9ae7-6b174977c192",
		"34d14be3-dee4-41c8-9ae7-6b174977c19g",
		"34d14be3dee441c89ae76b174977c192",
		" 34d14be3-dee4-41c8-9ae7-6b174977c192",
		"{not-a-guid}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i], -EINVAL);
}

static void test_find_args(void **state)
{
	char *p = SENTINEL;

	(void)state;
	assert_int_equal(vmbus_uio_find(NULL, NULL, &p), -EINVAL);
	assert_int_equal(vmbus_uio_find(VMBUS_CLASS_FCOPY, NULL, NULL), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
}

static void test_open_spec_class(void **state)
{
	struct vmbus_channel *ch = NULL;

	(void)state;
	/* Discovery, then the default /sys and /dev, as a daemon does it. */
	assert_int_equal(vmbus_channel_open_spec("class:{34D14BE3-DEE4-41C8-9AE7-6B174977C192}",
						 NULL, NULL, &ch),
			 0);
	assert_non_null(ch);
	assert_int_equal(vmbus_channel_get_data_size(ch), (int)(map0_size() / 2 - page_size()));
	assert_true(vmbus_channel_get_fd(ch) >= 0);
	vmbus_channel_close(ch);
	ch = NULL;

	assert_int_equal(vmbus_channel_open_spec("class:" VMBUS_CLASS_KVP, NULL, NULL, &ch), -ENOENT);
	assert_int_equal(vmbus_channel_open_spec("class:nonsense", NULL, NULL, &ch), -EINVAL);
	assert_null(ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_testbed),
		cmocka_unit_test(test_find_by_class),
		cmocka_unit_test(test_find_braces_and_case),
		cmocka_unit_test(test_find_default_dev_root),
		cmocka_unit_test(test_find_unknown),
		cmocka_unit_test(test_find_malformed),
		cmocka_unit_test(test_find_args),
		cmocka_unit_test(test_open_spec_class),
	};

	if (!getenv("UMOCKDEV_DIR"))
		run_in_testbed();
	return cmocka_run_group_tests_name("uio-find", tests, NULL, NULL);
}
