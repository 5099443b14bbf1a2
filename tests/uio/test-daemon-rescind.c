/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The real hv-fcopyd on a fake uio_hv_generic device, rescinded in the middle
 * of a transfer.
 *
 * The fixture is laid out as test-uio's: a sysfs tree (class/uio/uio0 with
 * name and maps/map0/size) and a device node dev/uio0 that is a regular file
 * holding both rings, with the listening socket dev/uio0.sock beside it. Only
 * the daemon runs with fake-uio.so preloaded (this test needs no shim, so it
 * does not re-execute itself), and its open() of the node connects to that
 * socket; this test accepts the connection and plays the host: it maps the
 * node itself and drives the rings with libvmbus's own channel code (the
 * host side of the pair, signalling through the socket as fake-uio.c
 * describes). It negotiates, starts a copy, sends one fragment, then closes
 * its end of the socket: the host rescinded the device, and the daemon's next
 * read or write of its fd fails with EIO.
 *
 * The daemon must then say so, abort the open transfer (nothing under the
 * target name, no temporary file, no record of one) and exit with status 1.
 * Run twice: with the O_TMPFILE the daemon normally writes to, and with the
 * hidden named file it falls back to where O_TMPFILE is missing.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "asan-preload.h"
#include "uio-fixture.h"
#include "fcopy-sink.h"
#include "fcopy-wire.h"
#include "internal.h"

#define FAKE_UIO_SO FAKE_UIO_DIR "/" LT_OBJDIR "fake-uio.so"
/* The libtool wrapper would re-link on first use, under our LD_PRELOAD: run the real binary. */
#define FCOPYD_WRAPPER FCOPYD_DIR "/hv-fcopyd"
#define FCOPYD_REAL FCOPYD_DIR "/" LT_OBJDIR "hv-fcopyd"
#define LIBVMBUS_LIBS LIBVMBUS_DIR "/" LT_OBJDIR
#define VMBUS_INSTANCE "f8b3781b-1e82-4818-a1c3-63d806ec15bb"
#define FILE_NAME "rescinded.bin"
#define FRAGMENT 4000u

static unsigned timeout_factor = 1;

struct rig {
	bool named_tmpfile; /* HV_FCOPYD_NO_TMPFILE=1: the hidden named file */
	bool passed;
	char root[PATH_MAX]; /* temporary directory, symlinks resolved */
	char sysfs[PATH_MAX];
	char node[PATH_MAX];
	char target[PATH_MAX]; /* where the host copies to */
	char state[PATH_MAX];  /* --state-dir */
	char config[PATH_MAX]; /* an empty --config, so /etc is not read */
	char log[PATH_MAX];    /* the daemon's stdout and stderr */
	int listen_fd;         /* dev/uio0.sock */
	int host_fd;           /* accepted: the host end of the daemon's uio fd */
	struct vmbus_channel *host; /* the host side of the rings in dev/uio0 */
	pid_t pid;                  /* hv-fcopyd, until reaped */
	int pidfd;
	uint8_t txid;      /* IC transaction id of the next request */
	uint64_t trans_id; /* VMBus transaction id of the last request */
};

/* ---- fixture ---------------------------------------------------------- */

/* Ring size per direction: 16 KiB, as the fcopy device has on 4 KiB pages. */
static size_t ring_size(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return 4 * page > 16384 ? 4 * page : 16384;
}

/* class/uio/uio0 -> the device directory under the VMBus device, as on Hyper-V. */
static void fake_sysfs(struct rig *g, size_t map_size)
{
	char dev[PATH_MAX], p[PATH_MAX], target[PATH_MAX], size[32];

	pathf(target, "../../devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/%s/uio/uio0",
	      VMBUS_INSTANCE);
	pathf(dev, "%s/class/uio/%s", g->sysfs, target);
	pathf(p, "%s/maps/map0", dev);
	mkdir_p(p);
	pathf(p, "%s/class/uio", g->sysfs);
	mkdir_p(p);
	pathf(p, "%s/class/uio/uio0", g->sysfs);
	assert_int_equal(symlink(target, p), 0);
	pathf(p, "%s/name", dev);
	write_file(p, "uio_hv_generic\n");
	pathf(p, "%s/version", dev);
	write_file(p, "0.02.1\n");
	pathf(p, "%s/maps/map0/name", dev);
	write_file(p, "txrx_rings\n");
	/* As uio prints it (%pa). */
	snprintf(size, sizeof(size), "0x%016zx\n", map_size);
	pathf(p, "%s/maps/map0/size", dev);
	write_file(p, size);
}

/* ---- the host end of the channel --------------------------------------- */

/* The daemon's 4-byte writes to its fd arrive here, one message each. */
static int host_ack(struct vmbus_channel *ch)
{
	uint32_t v;

	for (;;) {
		ssize_t n = recv(ch->wait_fd, &v, sizeof(v), MSG_DONTWAIT | MSG_TRUNC);

		if (n == sizeof(v))
			return 1;
		if (n == 0)
			return -EIO; /* the daemon closed its fd: it exited */
		if (n > 0)
			return -EPROTO;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : -errno;
	}
}

/* The device's event count: fake-uio hands the daemon the latest one. */
static uint32_t irq_count;

/* Interrupt the daemon: one 4-byte message with the new event count. */
static int host_signal(struct vmbus_channel *ch)
{
	irq_count++;
	if (send(ch->signal_fd, &irq_count, sizeof(irq_count), MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    sizeof(irq_count))
		return 0;
	/* Interrupts already queued: this one folds into them, as the kernel's count does. */
	return errno == EAGAIN ? 0 : -errno;
}

static void host_close(struct vmbus_channel *ch)
{
	(void)ch; /* the rig owns the socket */
}

static const struct vmbus_backend_ops host_ops = {
	.ack = host_ack,
	.signal = host_signal,
	.close = host_close,
};

/*
 * dev/uio0: 2 * S bytes, both ring headers fresh (indices 0, feature_bits 1),
 * as uio_hv_generic hands them over. The host maps the file itself and
 * produces into [S, 2S), consumes [0, S).
 */
static void fake_node(struct rig *g)
{
	size_t S = ring_size(), page = (size_t)sysconf(_SC_PAGESIZE);
	char dir[PATH_MAX];
	uint8_t *map;
	int fd;

	pathf(dir, "%s/dev", g->root);
	mkdir_p(dir);
	pathf(g->node, "%s/uio0", dir);
	fd = open(g->node, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(2 * S)), 0);
	map = mmap(NULL, 2 * S, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	close(fd);
	vmbus_ring_header_reset((struct hv_ring_header *)(void *)map);
	vmbus_ring_header_reset((struct hv_ring_header *)(void *)(map + S));
	if (vmbus_channel_new(map, 2 * S, S, page, false, &host_ops, &g->host) < 0) {
		munmap(map, 2 * S);
		fail_msg("cannot set up the host side of the rings");
	}
	g->host->side = VMBUS_SIDE_HOST;
	g->listen_fd = listen_beside(g->node);
}

static int timeout_ms(int seconds)
{
	return seconds * 1000 * (int)timeout_factor;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Take the connection the daemon's open() of dev/uio0 made. */
static void host_accept(struct rig *g)
{
	struct pollfd p[2] = {
		{ .fd = g->listen_fd, .events = POLLIN },
		{ .fd = g->pidfd, .events = POLLIN },
	};
	int r = poll(p, 2, timeout_ms(10));

	assert_true(r >= 0);
	if (p[1].revents)
		fail_msg("hv-fcopyd exited before it opened %s", g->node);
	if (r == 0)
		fail_msg("hv-fcopyd did not open %s within %d ms", g->node, timeout_ms(10));
	g->host_fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(g->host_fd >= 0);
	g->host->wait_fd = g->host->signal_fd = g->host_fd;
}

/* The host rescinds the channel: uio_hv_generic's fd now fails with EIO. */
static void host_rescind(struct rig *g)
{
	assert_int_equal(close(g->host_fd), 0);
	g->host_fd = g->host->wait_fd = g->host->signal_fd = -1;
}

/* Send one IC request and wait for the answer (same transaction id); returns its length. */
static size_t transact(struct rig *g, const void *msg, size_t len, void *resp, size_t resp_size)
{
	int64_t deadline = now_ms() + timeout_ms(10);
	uint64_t tid = ++g->trans_id;
	struct vmbus_packet pkt;
	int r;

	assert_int_equal(vmbus_channel_send(g->host, VMBUS_PKT_DATA_INBAND, 0, tid, msg, len), 0);
	for (;;) {
		int64_t left;

		r = vmbus_channel_recv(g->host, resp, resp_size, &pkt);
		assert_true(r >= 0);
		if (r == 1)
			break;
		left = deadline - now_ms();
		if (left <= 0)
			fail_msg("no answer from hv-fcopyd within %d ms", timeout_ms(10));
		r = vmbus_channel_wait(g->host, (int)left);
		if (r == -EIO)
			fail_msg("hv-fcopyd closed the device instead of answering");
		assert_true(r >= 0);
	}
	assert_int_equal(pkt.type, VMBUS_PKT_DATA_INBAND);
	assert_int_equal(pkt.trans_id, tid);
	/* The answer is the request rewritten in place, padded to 8 bytes on the ring. */
	assert_int_equal(pkt.len, (len + 7) & ~(size_t)7);
	return pkt.len;
}

static uint32_t ic_status(const void *resp, size_t len, uint16_t msgtype)
{
	struct vmbus_ic_header h;

	assert_int_equal(vmbus_ic_parse(resp, len, &h), 0);
	assert_int_equal(h.msgtype, msgtype);
	assert_true(h.flags & VMBUS_IC_FLAG_RESPONSE);
	return h.status;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static const uint32_t fw_version = VMBUS_IC_VERSION(3, 0);
static const uint32_t svc_version = VMBUS_IC_VERSION(1, 1);

static void host_negotiate(struct rig *g)
{
	uint8_t msg[64], resp[64];
	uint32_t fw = 0, svc = 0;
	size_t len;
	int n;

	n = vmbus_ic_negotiate_request(msg, sizeof(msg), &fw_version, 1, &svc_version, 1,
				       g->txid++);
	assert_true(n > 0);
	len = transact(g, msg, (size_t)n, resp, sizeof(resp));
	assert_int_equal(vmbus_ic_negotiate_result(resp, len, &fw, &svc), 1);
	assert_int_equal(fw, fw_version);
	assert_int_equal(svc, svc_version);
}

/* START_FILE_COPY of FILE_NAME into the target directory, 4 fragments declared. */
static uint32_t host_start(struct rig *g)
{
	uint8_t msg[VMBUS_IC_HDR_LEN + FCOPY_START_LEN] = { 0 }, resp[sizeof(msg) + 8];
	uint8_t *body = msg + VMBUS_IC_HDR_LEN;
	size_t len;

	assert_int_equal(vmbus_ic_build(msg, sizeof(msg), VMBUS_IC_MSGTYPE_FCOPY, fw_version,
					svc_version, FCOPY_START_LEN, g->txid++),
			 0);
	put32(body + FCOPY_OFF_OPERATION, FCOPY_OP_START);
	assert_true(vmbus_utf8_to_utf16(FILE_NAME, strlen(FILE_NAME), body + FCOPY_OFF_FILE_NAME,
					2 * FCOPY_W_MAX_PATH) > 0);
	assert_true(vmbus_utf8_to_utf16(g->target, strlen(g->target), body + FCOPY_OFF_PATH_NAME,
					2 * FCOPY_W_MAX_PATH) > 0);
	put32(body + FCOPY_OFF_COPY_FLAGS, 0);
	put64(body + FCOPY_OFF_FILE_SIZE, 4 * FRAGMENT);
	len = transact(g, msg, sizeof(msg), resp, sizeof(resp));
	return ic_status(resp, len, VMBUS_IC_MSGTYPE_FCOPY);
}

/* One WRITE_TO_FILE of FRAGMENT bytes at offset 0, in a full-size message as Hyper-V sends. */
static uint32_t host_write(struct rig *g)
{
	size_t size = VMBUS_IC_HDR_LEN + FCOPY_WRITE_LEN;
	uint8_t *msg = calloc(1, size), *resp = calloc(1, size + 8), *body;
	uint32_t status;
	size_t len;

	assert_non_null(msg);
	assert_non_null(resp);
	assert_int_equal(vmbus_ic_build(msg, size, VMBUS_IC_MSGTYPE_FCOPY, fw_version, svc_version,
					FCOPY_WRITE_LEN, g->txid++),
			 0);
	body = msg + VMBUS_IC_HDR_LEN;
	put32(body + FCOPY_OFF_OPERATION, FCOPY_OP_WRITE);
	put64(body + FCOPY_OFF_OFFSET, 0);
	put32(body + FCOPY_OFF_SIZE, FRAGMENT);
	for (size_t i = 0; i < FRAGMENT; i++)
		body[FCOPY_OFF_DATA + i] = (uint8_t)(i * 7 + 1);
	len = transact(g, msg, size, resp, size + 8);
	status = ic_status(resp, len, VMBUS_IC_MSGTYPE_FCOPY);
	free(msg);
	free(resp);
	return status;
}

/* ---- the daemon -------------------------------------------------------- */

static void append_env(const char *name, const char *first)
{
	const char *old = getenv(name);
	char *v;

	if (asprintf(&v, "%s%s%s", first, old && *old ? ":" : "", old ? old : "") < 0)
		_exit(127);
	setenv(name, v, 1);
	free(v);
}

/* In the child: hv-fcopyd on the fake node, fake-uio.so preloaded, output to the log. */
static void __attribute__((noreturn)) exec_daemon(const struct rig *g, pid_t parent)
{
	const char *exe = access(FCOPYD_REAL, X_OK) == 0 ? FCOPYD_REAL : FCOPYD_WRAPPER;
	static const char *const drop[] = { "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
					     "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID",
					     "HV_FCOPYD_NO_TMPFILE" };
	char channel[PATH_MAX + 8];
	int fd;

	/* Never outlive the test, whatever happens to it (a failed assertion, the alarm). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	fd = open(g->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		_exit(127);
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		unsetenv(drop[i]);
	if (g->named_tmpfile)
		setenv("HV_FCOPYD_NO_TMPFILE", "1", 1);
	append_env("LD_PRELOAD", FAKE_UIO_SO);
	append_env("LD_LIBRARY_PATH", LIBVMBUS_LIBS);
	asan_allow_preload();
	snprintf(channel, sizeof(channel), "uio:%s", g->node);
	execl(exe, "hv-fcopyd", "-v", "--channel", channel, "--sysfs-root", g->sysfs, "--state-dir",
	      g->state, "--config", g->config, (char *)NULL);
	fprintf(stderr, "test-daemon-rescind: cannot run %s: %s\n", exe, strerror(errno));
	_exit(127);
}

static void start_daemon(struct rig *g)
{
	pid_t parent = getpid();

	if (access(FAKE_UIO_SO, R_OK) < 0)
		fail_msg("%s: %s (make check builds it)", FAKE_UIO_SO, strerror(errno));
	if (access(FCOPYD_REAL, X_OK) < 0 && access(FCOPYD_WRAPPER, X_OK) < 0)
		fail_msg("%s: %s (make builds it)", FCOPYD_WRAPPER, strerror(errno));
	fflush(stdout);
	fflush(stderr);
	g->pid = fork();
	assert_true(g->pid >= 0);
	if (g->pid == 0)
		exec_daemon(g, parent);
	g->pidfd = (int)syscall(SYS_pidfd_open, g->pid, 0);
	assert_true(g->pidfd >= 0);
}

static bool daemon_running(const struct rig *g)
{
	struct pollfd p = { .fd = g->pidfd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* Wait for the daemon to exit; returns its wait status. */
static int wait_daemon(struct rig *g, int ms)
{
	struct pollfd p = { .fd = g->pidfd, .events = POLLIN };
	int status, r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	assert_true(r >= 0);
	if (r == 0)
		fail_msg("hv-fcopyd still runs %d ms after the rescind", ms);
	assert_int_equal(waitpid(g->pid, &status, 0), g->pid);
	g->pid = 0;
	return status;
}

/* Does the daemon hold a file open in dir? (The transfer's file, named or O_TMPFILE.) */
static bool daemon_holds_file_in(const struct rig *g, const char *dir, bool *ret_anonymous)
{
	char fds[64], link[PATH_MAX + 16], target[PATH_MAX + 16];
	size_t n = strlen(dir);
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(fds, sizeof(fds), "/proc/%d/fd", (int)g->pid);
	d = opendir(fds);
	assert_non_null(d);
	while (!found && (de = readdir(d))) {
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", fds, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, dir, n) == 0 && target[n] == '/') {
			found = true;
			/* An O_TMPFILE has no name: "<dir>/#<inode> (deleted)". */
			*ret_anonymous = len > 10 && strcmp(target + len - 10, " (deleted)") == 0;
		}
	}
	closedir(d);
	return found;
}

/* Entries in dir (but . and ..); the first one's name in first if any. */
static int dir_entries(const char *dir, char *first, size_t size)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0 && first)
			snprintf(first, size, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

static char *read_log(const struct rig *g)
{
	FILE *f = fopen(g->log, "re");
	char *buf = NULL;
	size_t size = 0;

	if (!f)
		return strdup("");
	if (getdelim(&buf, &size, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

/* A line of the log containing both strings, or NULL. */
static bool log_has_line(const char *log, const char *a, const char *b)
{
	for (const char *p = log; *p;) {
		const char *end = strchrnul(p, '\n');
		size_t n = (size_t)(end - p);
		char *line = strndup(p, n);
		bool hit;

		assert_non_null(line);
		hit = strstr(line, a) && strstr(line, b);
		free(line);
		if (hit)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* ---- setup and teardown ------------------------------------------------ */

struct variant {
	bool named_tmpfile;
};

static int rig_setup(void **state)
{
	const struct variant *v = *state;
	const char *tmp = getenv("TMPDIR");
	struct rig *g = calloc(1, sizeof(*g));
	char dir[PATH_MAX];

	assert_non_null(g);
	*state = g;
	g->named_tmpfile = v->named_tmpfile;
	g->listen_fd = g->host_fd = g->pidfd = -1;
	pathf(dir, "%s/test-daemon-rescind.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	/* Resolved, to compare with the daemon's /proc/PID/fd links. */
	assert_non_null(realpath(dir, g->root));
	pathf(g->sysfs, "%s/sys", g->root);
	pathf(g->target, "%s/target", g->root);
	pathf(g->state, "%s/state", g->root);
	pathf(g->config, "%s/fcopy.conf", g->root);
	pathf(g->log, "%s/hv-fcopyd.log", g->root);
	mkdir_p(g->target);
	write_file(g->config, "# empty: no --allow, default mode\n");
	fake_sysfs(g, 2 * ring_size());
	fake_node(g);
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static int rig_teardown(void **state)
{
	struct rig *g = *state;

	if (!g)
		return 0;
	/* A test that failed half-way leaves the daemon running: it goes now. */
	if (g->pid > 0) {
		kill(g->pid, SIGKILL);
		waitpid(g->pid, NULL, 0);
	}
	if (!g->passed) {
		char *log = read_log(g);

		for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
			printf("# hv-fcopyd| %s\n", line);
		free(log);
	}
	if (g->pidfd >= 0)
		close(g->pidfd);
	if (g->host_fd >= 0)
		close(g->host_fd);
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	vmbus_channel_close(g->host);
	nftw(g->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(g);
	return 0;
}

/* ---- the test ---------------------------------------------------------- */

/* Can the target directory's filesystem make an O_TMPFILE at all? */
static bool have_tmpfile(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void rescind_during_transfer(struct rig *g)
{
	bool anonymous = false, tmpfile = !g->named_tmpfile && have_tmpfile(g->target);
	char name[NAME_MAX + 1] = "", path[PATH_MAX];
	struct stat st;
	char *log;
	int status;

	start_daemon(g);
	host_accept(g);

	/* A transfer under way: negotiated, started, one fragment written. */
	host_negotiate(g);
	assert_int_equal(host_start(g), VMBUS_HV_S_OK);
	assert_int_equal(host_write(g), VMBUS_HV_S_OK);
	assert_true(daemon_running(g));
	assert_true(daemon_holds_file_in(g, g->target, &anonymous));
	if (g->named_tmpfile) {
		/* The hidden file is there, and recorded in the state directory. */
		assert_int_equal(dir_entries(g->target, name, sizeof(name)), 1);
		assert_int_equal(strncmp(name, FCOPY_TMP_PREFIX, strlen(FCOPY_TMP_PREFIX)), 0);
		assert_false(anonymous);
		pathf(path, "%s/pending", g->state);
		assert_int_equal(stat(path, &st), 0);
	} else if (tmpfile) {
		/* Nothing to see in the directory: the data is in an O_TMPFILE. */
		assert_true(anonymous);
		assert_int_equal(dir_entries(g->target, NULL, 0), 0);
	} else {
		print_message("# no O_TMPFILE in %s: hv-fcopyd fell back to a named file\n",
			      g->target);
	}

	/* The host takes the device away. */
	host_rescind(g);
	status = wait_daemon(g, timeout_ms(10));

	/* Exit status 1: the failure it is, not a crash and not a clean stop. */
	if (WIFSIGNALED(status))
		fail_msg("hv-fcopyd was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);

	/* It said why, and that the transfer was aborted for that reason. */
	log = read_log(g);
	assert_non_null(strstr(log, "rescind"));
	assert_true(log_has_line(log, FILE_NAME, "aborted: the host removed the device"));
	free(log);

	/* Nothing left: no file under the target name, no temporary file, no record. */
	name[0] = '\0';
	if (dir_entries(g->target, name, sizeof(name)) != 0)
		fail_msg("'%s' left in the target directory", name);
	pathf(path, "%s/pending", g->state);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	g->passed = true;
}

static void test_rescind_o_tmpfile(void **state)
{
	rescind_during_transfer(*state);
}

static void test_rescind_named_tmpfile(void **state)
{
	rescind_during_transfer(*state);
}

int main(void)
{
	static const struct variant tmpfile = { .named_tmpfile = false };
	static const struct variant named = { .named_tmpfile = true };
	const char *factor = getenv("HV_TIMEOUT_FACTOR");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_rescind_o_tmpfile, rig_setup,
							 rig_teardown, (void *)&tmpfile),
		cmocka_unit_test_prestate_setup_teardown(test_rescind_named_tmpfile, rig_setup,
							 rig_teardown, (void *)&named),
	};

	if (factor && atoi(factor) > 0)
		timeout_factor = (unsigned)atoi(factor);
	/* A hang is a failure, not a stuck "make check"; the daemon dies with us. */
	alarm(60u * timeout_factor);
	return cmocka_run_group_tests_name("daemon-rescind", tests, NULL, NULL);
}
