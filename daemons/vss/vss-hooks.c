/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "spawn.h"
#include "vss-hooks.h"

#define MAX_HOOKS 256

static const char *const skipped_suffixes[] = {
	"~", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-tmp", ".dpkg-bak", ".ucf-old", ".ucf-new",
	".ucf-dist", ".rpmnew", ".rpmsave", ".rpmorig", ".orig", ".bak", ".swp", ".disabled",
};

bool vss_hook_name_skipped(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || name[0] == '.')
		return true;
	for (size_t i = 0; i < ELEMENTSOF(skipped_suffixes); i++) {
		size_t s = strlen(skipped_suffixes[i]);

		if (n > s && strcmp(name + n - s, skipped_suffixes[i]) == 0)
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* The hooks in dir, sorted by name. Returns the count or a negative errno. */
static long list_hooks(const char *dir, char ***ret)
{
	DIR *d = opendir(dir);
	char **list = NULL;
	size_t n = 0;
	struct dirent *de;

	*ret = NULL;
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return log_error_errno(errno, "vss: cannot read the hook directory '%s': %m", dir);
	}
	list = calloc(MAX_HOOKS, sizeof(*list));
	if (!list) {
		closedir(d);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		char path[4096];
		int m;

		if (vss_hook_name_skipped(de->d_name))
			continue;
		m = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (m < 0 || (size_t)m >= sizeof(path) || !spawn_is_executable(path)) {
			log_debug("vss: '%s' in the hook directory is not an executable file, skipped", de->d_name);
			continue;
		}
		if (n == MAX_HOOKS) {
			log_warning("vss: more than %d hooks in '%s': the rest are not run", MAX_HOOKS, dir);
			break;
		}
		list[n] = strdup(path);
		if (!list[n]) {
			closedir(d);
			free_list(list, n);
			return -ENOMEM;
		}
		n++;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), cmp_str);
	*ret = list;
	return (long)n;
}

/* Run one hook with arg; 0 on success, else -EIO after a log line. */
static int run_hook(const char *path, const char *arg, int timeout_ms)
{
	const char *argv[] = { path, arg, NULL };
	struct spawn_result *res = malloc(sizeof(*res));
	int64_t start = spawn_now_ms();
	int r;

	if (!res)
		return log_error_errno(-ENOMEM, "vss: out of memory");
	r = spawn_run(path, argv, timeout_ms, true, res);
	if (r < 0) {
		free(res);
		return -EIO; /* spawn_run logged why */
	}
	/* What the hook printed, one line, so an administrator sees why it failed. */
	for (char *c = res->out; *c; c++)
		if (*c == '\n')
			*c = *(c + 1) ? ' ' : '\0';
	if (res->timed_out)
		log_error("vss: hook '%s %s' did not finish within %d ms and was killed%s%s", path, arg,
			  timeout_ms, res->out[0] ? ": " : "", res->out);
	else if (res->status != 0)
		log_error("vss: hook '%s %s' failed (%s %d)%s%s", path, arg,
			  res->status < 0 ? "killed, status" : "exit status", res->status, res->out[0] ? ": " : "",
			  res->out);
	else
		log_info("vss: hook '%s %s' done in %lld ms%s%s", path, arg, (long long)(spawn_now_ms() - start),
			 res->out[0] ? ": " : "", res->out);
	r = res->timed_out || res->status != 0 ? -EIO : 0;
	free(res);
	return r;
}

int vss_hooks_freeze(struct vss_hooks *h, const char *dir, int timeout_ms)
{
	char **list;
	long n = dir ? list_hooks(dir, &list) : 0;

	h->paths = NULL;
	h->n = 0;
	h->timeout_ms = timeout_ms;
	if (n <= 0) {
		if (n == 0 && dir)
			free(list);
		return (int)n;
	}
	h->paths = list;
	for (long i = 0; i < n; i++) {
		h->n = (size_t)i + 1; /* it ran (or tried): it gets freeze-fail too */
		if (run_hook(list[i], "freeze", timeout_ms) < 0) {
			log_error("vss: hook '%s' failed to prepare for the freeze: the freeze is refused", list[i]);
			/* The hooks after it never ran; forget them. */
			for (long j = i + 1; j < n; j++)
				free(list[j]);
			vss_hooks_end(h, "freeze-fail");
			return -EIO;
		}
	}
	return 0;
}

void vss_hooks_end(struct vss_hooks *h, const char *arg)
{
	for (size_t i = h->n; i > 0; i--)
		(void)run_hook(h->paths[i - 1], arg, h->timeout_ms);
	for (size_t i = 0; i < h->n; i++)
		free(h->paths[i]);
	free(h->paths);
	h->paths = NULL;
	h->n = 0;
}
