/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * freeze-time MOUNT...: the bare cost of freezing: FIFREEZE on each mount
 * point in the order given, then FITHAW in reverse, each phase timed, for
 * bench-vss.sh to set hv-vssd's figures against. Prints
 * "freeze_us N thaw_us M". Whatever fails, everything it froze is thawed.
 *
 * Only ever give it filesystems that are safe to freeze (never "/"): a frozen
 * filesystem blocks every writer, this program's own output included.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_MOUNTS 64

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	int fds[MAX_MOUNTS], n = argc - 1, frozen = 0, err = 0, i;
	long long t0, t_freeze, t_thaw;

	if (n < 1 || n > MAX_MOUNTS) {
		fprintf(stderr, "usage: freeze-time MOUNT... (1 to %d)\n", MAX_MOUNTS);
		return 2;
	}
	for (i = 0; i < n; i++) {
		fds[i] = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[i] < 0) {
			fprintf(stderr, "freeze-time: %s: %s\n", argv[i + 1], strerror(errno));
			while (i--)
				close(fds[i]);
			return 1;
		}
	}
	t0 = now_us();
	for (; frozen < n; frozen++)
		if (ioctl(fds[frozen], FIFREEZE, 0) < 0) {
			err = errno;
			break;
		}
	t_freeze = now_us() - t0;
	t0 = now_us();
	for (i = frozen - 1; i >= 0; i--)
		if (ioctl(fds[i], FITHAW, 0) < 0 && !err)
			err = errno;
	t_thaw = now_us() - t0;
	for (i = 0; i < n; i++)
		close(fds[i]);
	if (err) {
		fprintf(stderr, "freeze-time: %s: %s\n", argv[frozen < n ? frozen + 1 : 1], strerror(err));
		return 1;
	}
	printf("freeze_us %lld thaw_us %lld\n", t_freeze, t_thaw);
	return 0;
}
