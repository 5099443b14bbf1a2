/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-hostsim idle SECONDS: what a guest costs when the host has nothing to
 * say. Negotiate, then leave the channel alone and compare the guest's context
 * switches and memory (from /proc) before and after. The host does not touch
 * the guest meanwhile: it only waits on the guest's pidfd, which also notices
 * a guest that dies.
 *
 * Every context switch of a sleeping thread is the end of one wakeup: the
 * thread ran and blocked again. So the counts are read only while no thread
 * of the guest is runnable, before and after; otherwise the guest, still
 * busy with the NEGOTIATE it just answered, would be charged one switch for
 * going to sleep after the first reading.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "engine.h"
#include "macro.h"

#define IDLE_MIN_S 1
#define IDLE_MAX_S 86400
/* Settling: a reading counts once two in a row, 1 ms apart, show every thread asleep. */
#define SETTLE_STEP_NS 1000000L
#define SETTLE_MAX_STEPS 100

static double arg_seconds;

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* One thread's context switches, voluntary + involuntary. */
struct task {
	long tid;
	uint64_t switches;
};

/* One reading of the guest's /proc files. */
struct sample {
	struct task *tasks;
	size_t n_tasks;
	uint64_t total;   /* switches of all tasks */
	bool runnable;    /* some thread was running or runnable */
	uint64_t rss_kib; /* VmRSS */
	uint64_t hwm_kib; /* VmHWM: the peak of VmRSS */
	uint64_t anon_kib; /* RssAnon: the part that is the guest's own memory */
};

/* What one /proc status file says, of the lines idle needs. */
struct status {
	char state; /* first letter of "State:", 0 if absent */
	uint64_t voluntary, nonvoluntary, rss_kib, hwm_kib, anon_kib;
	unsigned found; /* bit per numeric field below found */
};

static const struct {
	const char *key;
	size_t offset;
} status_fields[] = {
	{ "voluntary_ctxt_switches:", offsetof(struct status, voluntary) },
	{ "nonvoluntary_ctxt_switches:", offsetof(struct status, nonvoluntary) },
	{ "VmRSS:", offsetof(struct status, rss_kib) },
	{ "VmHWM:", offsetof(struct status, hwm_kib) },
	{ "RssAnon:", offsetof(struct status, anon_kib) },
};
#define FOUND_SWITCHES 0x3u
#define FOUND_MEMORY 0x1cu

void idle_help(void)
{
	printf("idle SECONDS: SECONDS is %d to %d, fractions allowed. Prints \"guest: idle S s:\n"
	       "N wakeups, RSS K KiB (peak P KiB, anonymous A KiB)\"; N counts the guest's\n"
	       "context switches in all its threads while idle; A is the part of K that is\n"
	       "not shared library or file pages. Exit 0 if the guest negotiated\n"
	       "and stayed alive, 3 if it did not answer or died.\n",
	       IDLE_MIN_S, IDLE_MAX_S);
}

int idle_parse(int argc, char **argv)
{
	char *end;

	if (argc != 2) {
		fprintf(stderr, "hv-hostsim: idle needs SECONDS\n");
		return -EINVAL;
	}
	/* Digits and one decimal point only: no sign, exponent, hexadecimal, inf or nan. */
	errno = 0;
	arg_seconds = strtod(argv[1], &end);
	if (!isdigit((unsigned char)argv[1][0]) || argv[1][strspn(argv[1], "0123456789.")] ||
	    errno || *end || arg_seconds < IDLE_MIN_S || arg_seconds > IDLE_MAX_S) {
		fprintf(stderr, "hv-hostsim: invalid SECONDS '%s' (%d to %d, e.g. 10 or 2.5)\n",
			argv[1], IDLE_MIN_S, IDLE_MAX_S);
		return -EINVAL;
	}
	return 0;
}

/* Read the wanted lines of the status file at path. Returns 0, or -errno (-ENOENT: gone). */
static int read_status(const char *path, struct status *ret)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	struct status st = { 0 };
	size_t size = 0;

	if (!f)
		return errno == ESRCH ? -ENOENT : -errno;
	while (getline(&line, &size, f) > 0) {
		if (strncmp(line, "State:", 6) == 0) {
			st.state = line[6 + strspn(line + 6, " \t")];
			continue;
		}
		for (size_t i = 0; i < ELEMENTSOF(status_fields); i++) {
			size_t n = strlen(status_fields[i].key);

			if (strncmp(line, status_fields[i].key, n) == 0) {
				uint64_t v = strtoull(line + n, NULL, 10);

				memcpy((uint8_t *)&st + status_fields[i].offset, &v, sizeof(v));
				st.found |= 1u << i;
				break;
			}
		}
	}
	/* A read error of a task that ended in the meantime reads as the end of the file. */
	if (ferror(f))
		return errno == ESRCH ? -ENOENT : -EIO;
	*ret = st;
	return 0;
}

static void sample_clear(struct sample *s)
{
	free(s->tasks);
	*s = (struct sample){ 0 };
}

/*
 * Read the guest's memory from /proc/PID/status and every thread's context
 * switches and state from /proc/PID/task/TID/status. A thread that ends
 * while this reads is left out. Returns 0, -ENOENT (the guest is gone), -errno.
 */
static int sample_read(pid_t pid, struct sample *ret)
{
	_cleanup_(sample_clear) struct sample s = { 0 };
	_cleanup_(closedirp) DIR *d = NULL;
	struct status st;
	char path[64];
	size_t cap = 0;
	struct dirent *de;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = read_status(path, &st);
	if (r < 0)
		return r;
	/* A zombie has no memory lines: the guest has exited. */
	if ((st.found & FOUND_MEMORY) != FOUND_MEMORY)
		return -ENOENT;
	s.rss_kib = st.rss_kib;
	s.hwm_kib = st.hwm_kib;
	s.anon_kib = st.anon_kib;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/status", (int)pid, tid);
		r = read_status(path, &st);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if ((st.found & FOUND_SWITCHES) != FOUND_SWITCHES)
			return -EIO;
		if (s.n_tasks == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct task *t = reallocarray(s.tasks, ncap, sizeof(*t));

			if (!t)
				return -ENOMEM;
			s.tasks = t;
			cap = ncap;
		}
		s.tasks[s.n_tasks++] = (struct task){ tid, st.voluntary + st.nonvoluntary };
		s.total += st.voluntary + st.nonvoluntary;
		/* R: running or runnable; everything else (S, D, T, ...) is asleep or stopped. */
		if (st.state == 'R')
			s.runnable = true;
	}
	if (errno)
		return -errno;
	if (s.n_tasks == 0)
		return -ENOENT;
	*ret = s;
	s = (struct sample){ 0 };
	return 0;
}

/*
 * Read the guest once it is asleep: no thread runnable, and the counts the
 * same in two readings 1 ms apart. A guest that keeps running is read as it
 * is after SETTLE_MAX_STEPS steps (*ret_settled false). Returns as sample_read().
 */
static int sample_settled(pid_t pid, struct sample *ret, bool *ret_settled)
{
	_cleanup_(sample_clear) struct sample prev = { 0 };
	struct timespec step = { 0, SETTLE_STEP_NS };

	for (int i = 0;; i++) {
		struct sample s;
		int r = sample_read(pid, &s);

		if (r < 0)
			return r;
		if ((i > 0 && !s.runnable && !prev.runnable && s.total == prev.total) ||
		    i == SETTLE_MAX_STEPS) {
			*ret = s;
			*ret_settled = i < SETTLE_MAX_STEPS;
			return 0;
		}
		sample_clear(&prev);
		prev = s;
		nanosleep(&step, NULL);
	}
}

/* Context switches since before, per thread: a thread that ended cannot make it negative. */
static uint64_t switches_since(const struct sample *before, const struct sample *after)
{
	uint64_t n = 0;

	for (size_t i = 0; i < after->n_tasks; i++) {
		uint64_t base = 0;

		for (size_t j = 0; j < before->n_tasks; j++)
			if (before->tasks[j].tid == after->tasks[i].tid) {
				base = before->tasks[j].switches;
				break;
			}
		/* A thread born while idle counts from 0. */
		if (after->tasks[i].switches >= base)
			n += after->tasks[i].switches - base;
	}
	return n;
}

/* The guest could not be read: gone (it exited) or a local error. Returns the exit status. */
static int sample_failed(struct hostsim *h, int r, const char *when)
{
	if (r == -ENOENT || hostsim_wait_exit(h, 0)) {
		fprintf(stderr, "hv-hostsim: the guest exited %s\n", when);
		return HOSTSIM_EXIT_NOANSWER;
	}
	fprintf(stderr, "hv-hostsim: cannot read /proc/%d of the guest: %s\n", (int)h->pid,
		strerror(-r));
	return HOSTSIM_EXIT_NOANSWER;
}

int idle_run(struct hostsim *h)
{
	_cleanup_(sample_clear) struct sample before = { 0 }, after = { 0 };
	uint32_t fw, svc;
	bool settled;
	int r;

	r = host_negotiate(h, &fw, &svc);
	if (r != HOSTSIM_EXIT_OK)
		return r;
	r = sample_settled(h->pid, &before, &settled);
	if (r < 0)
		return sample_failed(h, r, "right after negotiating");
	if (!settled)
		printf("host: the guest still runs %d ms after negotiating; counting from now\n",
		       SETTLE_MAX_STEPS);
	printf("host: leaving the channel idle for %g s\n", arg_seconds);

	/* Only the pidfd: the guest must not be woken by the host, a death ends the wait. */
	if (hostsim_wait_exit(h, (int)(arg_seconds * 1000))) {
		fprintf(stderr, "hv-hostsim: the guest exited while idle\n");
		return HOSTSIM_EXIT_NOANSWER;
	}

	r = sample_settled(h->pid, &after, &settled);
	if (r < 0)
		return sample_failed(h, r, "at the end of the idle time");
	if (!settled)
		printf("host: the guest is running at the end of the idle time\n");
	printf("guest: idle %g s: %llu wakeups, RSS %llu KiB (peak %llu KiB, anonymous %llu KiB)\n",
	       arg_seconds, (unsigned long long)switches_since(&before, &after),
	       (unsigned long long)after.rss_kib, (unsigned long long)after.hwm_kib,
	       (unsigned long long)after.anon_kib);
	return HOSTSIM_EXIT_OK;
}
