/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "macro.h"
#include "spawn.h"

#define DEFAULT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
/* After a program exits, how long what is still coming through its pipe is read. */
#define RUN_DRAIN_MS 100
/* Without a pidfd, how often a program's exit is checked. */
#define RUN_POLL_MS 20
/* How long a program killed at its timeout is waited for. */
#define RUN_REAP_MS 2000

const char *spawn_search_path(void)
{
	const char *p = getenv("PATH");

	return p && *p ? p : DEFAULT_PATH;
}

bool spawn_is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* name in the daemon's PATH (absolute directories only) → buf. */
bool spawn_find_tool(const char *name, char *buf, size_t size)
{
	const char *p = spawn_search_path();

	while (*p) {
		size_t n = strcspn(p, ":");
		int m;

		if (n > 0 && p[0] == '/') {
			m = snprintf(buf, size, "%.*s/%s", (int)n, p, name);
			if (m > 0 && (size_t)m < size && spawn_is_executable(buf))
				return true;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

int64_t spawn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _noreturn_ void child_exec(const char *path, const char *const argv[], char *const envp[], int null_fd,
				  int out_fd, bool merge_stderr)
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	/* Only async-signal-safe calls here. */
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    (merge_stderr && dup2(out_fd, STDERR_FILENO) < 0))
		_exit(127);
	/* Nothing of ours (channel fds, pool files) reaches the program. */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
#endif
		for (int fd = 3; fd < 65536; fd++)
			(void)close(fd);
	execve(path, (char *const *)argv, envp);
	_exit(127);
}

/*
 * Reap pid if it has exited: 1 (status filled), 0 (still running), or -1
 * when its status cannot be had (ECHILD: SIGCHLD is ignored, so the kernel
 * reaped it already), after a log line.
 */
static int reap_nohang(pid_t pid, const char *path, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return 1;
		if (w == 0)
			return 0;
		if (errno == EINTR)
			continue;
		log_error_errno(-errno, "cannot get the exit status of '%s'%s: %m", path,
				errno == ECHILD ? " (SIGCHLD is ignored?), counting it as failed" : "");
		return -1;
	}
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* Read what the pipe holds into res (the excess is discarded); false at EOF or on an error. */
static bool read_output(int fd, struct spawn_result *res)
{
	char tmp[1024];
	ssize_t k = read(fd, tmp, sizeof(tmp));

	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (k <= 0)
		return false;
	if (res->len + 1 < sizeof(res->out)) {
		size_t room = sizeof(res->out) - 1 - res->len;
		size_t c = (size_t)k < room ? (size_t)k : room;

		memcpy(res->out + res->len, tmp, c);
		res->len += c;
	}
	return true;
}

/*
 * Run path with argv, environment PATH only, stdin /dev/null, stdout (and
 * stderr when merge_stderr; else it is the daemon's) captured into res->out,
 * the rest read and discarded.
 *
 * The program's own exit ends the run: what its output pipe already holds (or
 * receives within RUN_DRAIN_MS) is read, then our end is closed, so a
 * background child it left holding the pipe (ifup's DHCP client, "sleep &")
 * neither delays nor fails it, and is left alone, as system() would. Only a
 * program still running at timeout_ms is a timeout: its process group is
 * killed (before it is reaped, so the group id cannot have been reused) and
 * it is reaped. Without pidfd_open() (old kernel, seccomp) its exit is polled
 * every RUN_POLL_MS. Returns 0 (res filled) or a negative errno when it could
 * not be started.
 */
int spawn_run(const char *path, const char *const argv[], int timeout_ms, bool merge_stderr,
	       struct spawn_result *res)
{
	char env_path[4096];
	char *envp[] = { env_path, NULL };
	_cleanup_close_ int null_fd = -1, rd = -1, pidfd = -1;
	int pipefd[2], status = 0, n;
	bool eof = false, exited = false, wait_failed = false, pid_ready = false;
	int64_t deadline, drain_end = 0, last_ping;
	uint64_t watchdog_usec = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	n = snprintf(env_path, sizeof(env_path), "PATH=%s", spawn_search_path());
	if (n < 0 || (size_t)n >= sizeof(env_path))
		snprintf(env_path, sizeof(env_path), "PATH=%s", DEFAULT_PATH);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return log_error_errno(-errno, "cannot open /dev/null: %m");
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return log_error_errno(-errno, "cannot create a pipe: %m");
	rd = pipefd[0];
	pid = fork();
	if (pid < 0) {
		int r = -errno;

		close(pipefd[1]);
		return log_error_errno(r, "cannot fork to run '%s': %m", path);
	}
	if (pid == 0)
		child_exec(path, argv, envp, null_fd, pipefd[1], merge_stderr);
	close(pipefd[1]);
	setpgid(pid, pid);
	(void)fcntl(rd, F_SETFL, O_NONBLOCK);
	pidfd = open_pidfd(pid);

	deadline = spawn_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	if (sd_watchdog_enabled(0, &watchdog_usec) <= 0)
		watchdog_usec = 0;
	last_ping = spawn_now_ms();
	for (;;) {
		struct pollfd p[2];
		int64_t now, wait;
		nfds_t np = 0;
		int r;

		if (!exited && (pidfd < 0 || pid_ready)) {
			r = reap_nohang(pid, path, &status);
			pid_ready = false;
			if (r != 0) {
				exited = true;
				wait_failed = r < 0;
				drain_end = spawn_now_ms() + RUN_DRAIN_MS;
			}
		}
		now = spawn_now_ms();
		if (exited && (eof || now >= drain_end))
			break;
		if (!exited && now >= deadline) {
			res->timed_out = true;
			break;
		}
		wait = exited ? drain_end - now : deadline - now;
		if (!exited && pidfd < 0 && wait > RUN_POLL_MS)
			wait = RUN_POLL_MS;
		/*
		 * The daemon's loop is not running meanwhile: keep systemd's
		 * watchdog fed (the program is bounded by its own timeout).
		 */
		if (watchdog_usec) {
			if (now - last_ping >= (int64_t)(watchdog_usec / 2000)) {
				sd_notify(0, "WATCHDOG=1");
				last_ping = now;
			}
			if (wait > (int64_t)(watchdog_usec / 2000))
				wait = (int64_t)(watchdog_usec / 2000);
		}
		if (!eof)
			p[np++] = (struct pollfd){ .fd = rd, .events = POLLIN };
		if (!exited && pidfd >= 0)
			p[np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		r = poll(np > 0 ? p : NULL, np, (int)wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error_errno(-errno, "cannot wait for '%s': %m", path);
			if (!exited)
				res->timed_out = true;
			break;
		}
		for (nfds_t i = 0; i < np; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == pidfd)
				pid_ready = true;
			else if (!read_output(rd, res))
				eof = true;
		}
	}
	res->out[res->len] = '\0';
	if (!exited) {
		/* Still running: kill its group while the unreaped leader keeps the group id ours. */
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		for (int64_t end = spawn_now_ms() + RUN_REAP_MS;;) {
			int r = reap_nohang(pid, path, &status);

			if (r != 0)
				break;
			if (spawn_now_ms() >= end) {
				log_error("'%s' (pid %d) did not die after SIGKILL; not waiting for it", path,
					  (int)pid);
				break;
			}
			(void)poll(NULL, 0, 10);
		}
		res->status = -1;
	} else if (wait_failed) {
		res->status = -1;
	} else {
		res->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	}
	return 0;
}
