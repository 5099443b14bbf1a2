/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "fcopy-sink.h"
#include "log.h"
#include "macro.h"

#define RECORD_NAME "pending"

struct fcopy_sink {
	struct fcopy_sink_config cfg;
	bool notify; /* NOTIFY_SOCKET is set: report progress in STATUS= */

	/* The open transfer. */
	int dfd;                       /* target directory */
	int fd;                        /* the temporary file */
	char tmp[64];                  /* its name when it has one, else "" */
	char dir[PATH_MAX];            /* resolved directory, for logs and the record */
	char name[NAME_MAX + 1];
	uint32_t flags;
	uint64_t hint, bytes, end;     /* declared size, bytes written, highest end */
	bool preallocated;
	int64_t t0;                    /* µs */
	int last_pct;
	int64_t last_notify; /* µs */
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool fcopy_path_inside(const char *dir, char *const *allow, size_t n_allow)
{
	for (size_t i = 0; i < n_allow; i++) {
		size_t n = strlen(allow[i]);

		if (strcmp(allow[i], "/") == 0)
			return true;
		if (strncmp(dir, allow[i], n) == 0 && (dir[n] == '\0' || dir[n] == '/'))
			return true;
	}
	return false;
}

/* Where fd really is, with every symlink resolved. */
static int fd_path(int fd, char *buf, size_t size)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The record of a named temporary file, so that a killed instance's is removed. */

static void record_set(struct fcopy_sink *s, const char *tmp)
{
	char path[PATH_MAX], new[PATH_MAX], line[PATH_MAX + 2];
	_cleanup_close_ int fd = -1;
	int n;

	if (!s->cfg.state_dir)
		return;
	snprintf(path, sizeof(path), "%s/" RECORD_NAME, s->cfg.state_dir);
	snprintf(new, sizeof(new), "%s/" RECORD_NAME ".new", s->cfg.state_dir);
	n = snprintf(line, sizeof(line), "%s/%s\n", strcmp(s->dir, "/") == 0 ? "" : s->dir, tmp);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(new, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) < 0 || rename(new, path) < 0)
		log_warning_errno(errno, "cannot record the temporary file in '%s' (%m); if the daemon "
			     "is killed now, '%s/%s' stays behind", s->cfg.state_dir, s->dir, tmp);
}

static void record_clear(struct fcopy_sink *s)
{
	char path[PATH_MAX];

	if (!s->cfg.state_dir)
		return;
	snprintf(path, sizeof(path), "%s/" RECORD_NAME, s->cfg.state_dir);
	if (unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(errno, "cannot remove '%s': %m", path);
}

static bool is_tmp_name(const char *base)
{
	size_t n = strlen(base), p = strlen(FCOPY_TMP_PREFIX), x = strlen(FCOPY_TMP_SUFFIX);

	return n > p + x && strncmp(base, FCOPY_TMP_PREFIX, p) == 0 &&
	       strcmp(base + n - x, FCOPY_TMP_SUFFIX) == 0 && !strchr(base, '/');
}

int fcopy_sink_recover(const char *state_dir)
{
	char path[PATH_MAX], line[PATH_MAX + 2];
	_cleanup_fclose_ FILE *f = NULL;
	struct stat st;
	char *base;
	size_t n;
	int r = 0;

	if (!state_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/" RECORD_NAME, state_dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : log_warning_errno(errno, "cannot read '%s': %m", path);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	n = strlen(line);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	base = strrchr(line, '/');
	/* Only ever a regular file with our own prefix: the record is not trusted further. */
	if (line[0] == '/' && base && is_tmp_name(base + 1) && lstat(line, &st) == 0 && S_ISREG(st.st_mode)) {
		if (unlink(line) == 0) {
			log_notice("removed '%s', left by an interrupted transfer", line);
			r = 1;
		} else {
			log_warning_errno(errno, "cannot remove '%s', left by an interrupted transfer: %m", line);
		}
	}
	if (unlink(path) < 0)
		log_warning_errno(errno, "cannot remove '%s': %m", path);
	return r;
}

/* ------------------------------------------------------------------------ */

static void gen_tmp_name(char *buf, size_t size)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint64_t)now_us() ^ ((uint64_t)getpid() << 32);
	snprintf(buf, size, FCOPY_TMP_PREFIX "%016" PRIx64 FCOPY_TMP_SUFFIX, v);
}

static void target_name(const struct fcopy_sink *s, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", strcmp(s->dir, "/") == 0 ? "" : s->dir, s->name);
}

static void notify_status(struct fcopy_sink *s, bool force)
{
	int pct;

	if (!s->notify)
		return;
	if (s->fd < 0) {
		sd_notify(0, "STATUS=Idle, waiting for the host");
		return;
	}
	pct = s->hint ? (int)(s->bytes >= s->hint ? 100 : s->bytes * 100 / s->hint) : -1;
	/* At most one update per percent, and one a second when the size is unknown. */
	if (!force && (pct >= 0 ? pct == s->last_pct : now_us() - s->last_notify < 1000000))
		return;
	s->last_pct = pct;
	s->last_notify = now_us();
	if (pct >= 0)
		sd_notifyf(0, "STATUS=Receiving %s: %d%%", s->name, pct);
	else
		sd_notifyf(0, "STATUS=Receiving %s: %" PRIu64 " bytes", s->name, s->bytes);
}

/* The one line per transfer, with fields for the journal. */
static void log_end(struct fcopy_sink *s, int level, const char *result)
{
	char target[PATH_MAX + NAME_MAX + 2], f_target[sizeof(target) + 32], f_bytes[64], f_secs[64],
		f_rate[64], f_result[256];
	double secs = (double)(now_us() - s->t0) / 1e6;
	double rate = secs > 0 ? (double)s->bytes / 1e6 / secs : 0;
	const char *fields[] = { f_target, f_bytes, f_secs, f_rate, f_result, NULL };

	target_name(s, target, sizeof(target));
	snprintf(f_target, sizeof(f_target), "HV_FCOPY_TARGET=%s", target);
	snprintf(f_bytes, sizeof(f_bytes), "HV_FCOPY_BYTES=%" PRIu64, s->bytes);
	snprintf(f_secs, sizeof(f_secs), "HV_FCOPY_SECONDS=%.3f", secs);
	snprintf(f_rate, sizeof(f_rate), "HV_FCOPY_MBPS=%.1f", rate);
	snprintf(f_result, sizeof(f_result), "HV_FCOPY_RESULT=%s", result);
	log_struct(level, fields, "%s: %" PRIu64 " bytes in %.3f s (%.1f MB/s): %s", target, s->bytes,
		   secs, rate, result);
}

/* Close the transfer; removes the temporary file unless it was linked into place. */
static void cleanup(struct fcopy_sink *s)
{
	if (s->tmp[0]) {
		if (unlinkat(s->dfd, s->tmp, 0) < 0 && errno != ENOENT)
			log_warning_errno(errno, "cannot remove the temporary file '%s/%s': %m", s->dir, s->tmp);
		s->tmp[0] = '\0';
		record_clear(s);
	}
	if (s->fd >= 0)
		close(s->fd);
	if (s->dfd >= 0)
		close(s->dfd);
	s->fd = s->dfd = -1;
	notify_status(s, true);
}

static uint32_t fail(struct fcopy_sink *s, uint32_t status, const char *result)
{
	log_end(s, LOG_ERR, result);
	cleanup(s);
	return status;
}

static uint32_t errno_status(int err)
{
	return err == ENOSPC || err == EDQUOT ? VMBUS_HV_ERROR_DISK_FULL : VMBUS_HV_E_FAIL;
}

static bool allowed(struct fcopy_sink *s, int dfd, const char *what)
{
	char real[PATH_MAX];
	int r;

	if (s->cfg.n_allow == 0)
		return true;
	r = fd_path(dfd, real, sizeof(real));
	if (r < 0) {
		log_error_errno(r, "cannot tell where %s is (%m), refusing: --allow is in force", what);
		return false;
	}
	if (fcopy_path_inside(real, s->cfg.allow, s->cfg.n_allow))
		return true;
	log_error("refusing %s: '%s' is outside every --allow directory", what, real);
	return false;
}

/* Open dir component by component, creating what is missing when the host asked for it. */
static int open_dir(struct fcopy_sink *s, const char *dir, bool create)
{
	_cleanup_close_ int dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char sofar[PATH_MAX] = "";
	const char *p = dir;

	if (dfd < 0)
		return log_error_errno(errno, "cannot open '/': %m");
	while (*p) {
		char comp[NAME_MAX + 1];
		const char *end;
		size_t len;
		int nfd;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		memcpy(comp, p, len); /* fcopy_target bounded each component by NAME_MAX */
		comp[len] = '\0';
		strncat(sofar, "/", sizeof(sofar) - strlen(sofar) - 1);
		strncat(sofar, comp, sizeof(sofar) - strlen(sofar) - 1);
		p = end;

		nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT) {
			if (!create)
				return log_error_errno(-ENOENT, "directory '%s' does not exist and the host did "
							"not ask to create it (CREATE_PATH)", sofar);
			if (!allowed(s, dfd, "creating a directory there"))
				return -EPERM;
			if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST)
				return log_error_errno(errno, "cannot create directory '%s': %m", sofar);
			log_info("created directory '%s'", sofar);
			nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		if (nfd < 0)
			return log_error_errno(errno, "cannot open directory '%s': %m", sofar);
		close(dfd);
		dfd = nfd;
	}
	if (!allowed(s, dfd, "the target directory"))
		return -EPERM;
	return TAKE_FD(dfd);
}

static uint32_t sink_start(void *userdata, const char *dir, const char *name, uint32_t flags,
			   uint64_t hint)
{
	struct fcopy_sink *s = userdata;
	struct statvfs vfs;
	struct stat st;
	int r;

	s->flags = flags;
	s->hint = hint;
	s->bytes = s->end = 0;
	s->preallocated = false;
	s->tmp[0] = '\0';
	s->t0 = now_us();
	s->last_pct = -2;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->dir, sizeof(s->dir), "%s", dir);

	s->dfd = open_dir(s, dir, flags & FCOPY_FLAG_CREATE_PATH);
	if (s->dfd < 0) {
		s->dfd = -1;
		return fail(s, VMBUS_HV_E_FAIL, "refused: bad target directory");
	}
	if (fd_path(s->dfd, s->dir, sizeof(s->dir)) < 0)
		snprintf(s->dir, sizeof(s->dir), "%s", dir);

	if (fstatat(s->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			log_error("'%s/%s' is a directory", strcmp(s->dir, "/") ? s->dir : "", name);
			return fail(s, VMBUS_HV_E_FAIL, "refused: the target is a directory");
		}
		if (!(flags & FCOPY_FLAG_OVER_WRITE))
			return fail(s, VMBUS_HV_ERROR_ALREADY_EXISTS,
				    "refused: the file exists and the host did not ask to overwrite it");
	} else if (errno != ENOENT) {
		log_error_errno(errno, "cannot look at '%s/%s': %m", s->dir, name);
		return fail(s, VMBUS_HV_E_FAIL, "refused: cannot look at the target");
	}

	if (!s->cfg.no_tmpfile) {
		s->fd = openat(s->dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, s->cfg.mode);
		if (s->fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
			r = errno;
			log_error_errno(r, "cannot create a file in '%s': %m", s->dir);
			return fail(s, errno_status(r), "refused: cannot create the file");
		}
	}
	if (s->fd < 0) {
		gen_tmp_name(s->tmp, sizeof(s->tmp));
		record_set(s, s->tmp);
		s->fd = openat(s->dfd, s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			       s->cfg.mode);
		if (s->fd < 0) {
			r = errno;
			log_error_errno(r, "cannot create '%s/%s': %m", s->dir, s->tmp);
			s->tmp[0] = '\0';
			record_clear(s);
			return fail(s, errno_status(r), "refused: cannot create the file");
		}
	}
	/* The mode is ours to choose, not the umask's. */
	if (fchmod(s->fd, s->cfg.mode) < 0)
		log_warning_errno(errno, "cannot set mode %04o on the new file, ignoring: %m", s->cfg.mode);

	/* The size is the host's hint: fail now if it cannot fit, rather than gigabytes later. */
	if (hint > 0 && fstatvfs(s->fd, &vfs) == 0 && vfs.f_frsize > 0) {
		uint64_t blocks = geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;

		if (hint / vfs.f_frsize >= blocks) {
			log_error("'%s' needs %" PRIu64 " bytes, '%s' has %" PRIu64 " free", name, hint,
				  s->dir, blocks * vfs.f_frsize);
			return fail(s, VMBUS_HV_ERROR_DISK_FULL, "refused: not enough free space");
		}
	}
	if (hint > 0 && hint <= INT64_MAX) {
		if (fallocate(s->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)hint) == 0) {
			s->preallocated = true;
		} else if (errno == ENOSPC || errno == EDQUOT) {
			log_error_errno(errno, "cannot reserve %" PRIu64 " bytes for '%s': %m", hint, name);
			return fail(s, VMBUS_HV_ERROR_DISK_FULL, "refused: not enough free space");
		} else {
			log_debug_errno(errno, "no preallocation in '%s' (%m), continuing", s->dir);
		}
	}
	log_info("receiving '%s' into '%s' (%" PRIu64 " bytes declared%s%s)", name, s->dir, hint,
		 flags & FCOPY_FLAG_OVER_WRITE ? ", overwrite" : "",
		 flags & FCOPY_FLAG_CREATE_PATH ? ", create path" : "");
	notify_status(s, true);
	return VMBUS_HV_S_OK;
}

static uint32_t sink_write(void *userdata, uint64_t offset, const void *data, uint32_t size)
{
	struct fcopy_sink *s = userdata;
	const uint8_t *p = data;
	size_t done = 0;

	while (done < size) {
		ssize_t n = pwrite(s->fd, p + done, size - done, (off_t)(offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			log_error_errno(err, "cannot write %" PRIu32 " bytes at offset %" PRIu64 " of '%s': %m",
					size, offset, s->name);
			return errno_status(err);
		}
		done += (size_t)n;
	}
	s->bytes += size;
	if (offset + size > s->end)
		s->end = offset + size;
	notify_status(s, false);
	return VMBUS_HV_S_OK;
}

/* Put the finished file in place: never a partial file, never through a symlink. */
static int link_into_place(struct fcopy_sink *s)
{
	bool replace = s->flags & FCOPY_FLAG_OVER_WRITE;
	char proc[64], tmp[64];
	int r;

	if (s->tmp[0]) {
		/* Named temporary file: one rename; without overwrite, one that refuses to replace. */
		if (replace)
			r = renameat(s->dfd, s->tmp, s->dfd, s->name);
		else {
			r = renameat2(s->dfd, s->tmp, s->dfd, s->name, RENAME_NOREPLACE);
			if (r < 0 && errno == EINVAL) {
				/* No RENAME_NOREPLACE here: a hard link refuses to replace too. */
				r = linkat(s->dfd, s->tmp, s->dfd, s->name, 0);
				if (r == 0)
					unlinkat(s->dfd, s->tmp, 0);
			}
		}
		if (r < 0)
			return -errno;
		s->tmp[0] = '\0';
		record_clear(s);
		return 0;
	}

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", s->fd);
	if (!replace) {
		r = linkat(AT_FDCWD, proc, s->dfd, s->name, AT_SYMLINK_FOLLOW);
		if (r < 0 && errno == ENOENT) /* no /proc: needs CAP_DAC_READ_SEARCH */
			r = linkat(s->fd, "", s->dfd, s->name, AT_EMPTY_PATH);
		return r < 0 ? -errno : 0;
	}
	/* Replace: link under a hidden name, then rename over the target in one step. */
	gen_tmp_name(tmp, sizeof(tmp));
	record_set(s, tmp);
	r = linkat(AT_FDCWD, proc, s->dfd, tmp, AT_SYMLINK_FOLLOW);
	if (r < 0 && errno == ENOENT)
		r = linkat(s->fd, "", s->dfd, tmp, AT_EMPTY_PATH);
	if (r == 0) {
		r = renameat(s->dfd, tmp, s->dfd, s->name);
		if (r < 0) {
			r = -errno;
			unlinkat(s->dfd, tmp, 0);
		}
	} else {
		r = -errno;
	}
	record_clear(s);
	return r;
}

static uint32_t sink_complete(void *userdata)
{
	struct fcopy_sink *s = userdata;
	int r;

	/* Give back what was reserved beyond what arrived. */
	if (s->preallocated && s->end < s->hint && ftruncate(s->fd, (off_t)s->end) < 0)
		log_debug_errno(errno, "cannot trim the reservation of '%s', ignoring: %m", s->name);
	if (fsync(s->fd) < 0) {
		r = errno;
		log_error_errno(r, "cannot write '%s' to disk: %m", s->name);
		return fail(s, errno_status(r), "failed: fsync");
	}
	r = link_into_place(s);
	if (r == -EEXIST)
		return fail(s, VMBUS_HV_ERROR_ALREADY_EXISTS,
			    "failed: the file appeared meanwhile and the host did not ask to overwrite it");
	if (r < 0) {
		log_error_errno(r, "cannot put '%s' in place in '%s': %m", s->name, s->dir);
		return fail(s, errno_status(-r), "failed: cannot put the file in place");
	}
	if (fsync(s->dfd) < 0)
		log_warning_errno(errno, "cannot flush directory '%s', ignoring: %m", s->dir);
	log_end(s, LOG_INFO, "done");
	cleanup(s);
	return VMBUS_HV_S_OK;
}

static void sink_abort(void *userdata, const char *why)
{
	struct fcopy_sink *s = userdata;
	char result[256];

	if (s->fd < 0)
		return;
	snprintf(result, sizeof(result), "aborted: %s", why);
	log_end(s, LOG_WARNING, result);
	cleanup(s);
}

const struct fcopy_sink_ops fcopy_file_sink_ops = {
	.start = sink_start,
	.write = sink_write,
	.complete = sink_complete,
	.abort = sink_abort,
};

int fcopy_sink_new(const struct fcopy_sink_config *cfg, struct fcopy_sink **ret)
{
	struct fcopy_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->fd = s->dfd = -1;
	s->notify = getenv("NOTIFY_SOCKET") != NULL;
	*ret = s;
	notify_status(s, true);
	return 0;
}

struct fcopy_sink *fcopy_sink_free(struct fcopy_sink *s)
{
	if (!s)
		return NULL;
	cleanup(s);
	free(s);
	return NULL;
}
