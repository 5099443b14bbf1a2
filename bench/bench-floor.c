/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-floor: the two-process eventfd round-trip floor for fcopy-sized
 * messages, what no VMBus transport on this machine can beat.
 *
 *   bench-floor [BYTES [MESSAGE-SIZE]]   defaults: 268435456 and 6196
 *
 * A parent and a forked child share one memory page pair. For each message
 * the parent copies MESSAGE-SIZE bytes into shared memory and writes an
 * eventfd; the child reads its eventfd, copies the message out, copies an
 * answer of the same size back and writes the parent's eventfd; the parent
 * reads it and copies the answer out. That is one fcopy transaction without
 * ring bookkeeping, file I/O or protocol: the floor for a transfer of BYTES
 * in 6144-byte fragments sent one at a time.
 *
 * Prints the round-trip time and the floor's time and MB/s (10^6 bytes) for
 * BYTES. Figures only.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAGMENT 6144u

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wait_fd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		perror("bench-floor: read eventfd");
		exit(EXIT_FAILURE);
	}
}

static void kick(int fd)
{
	uint64_t v = 1;

	if (write(fd, &v, sizeof(v)) != sizeof(v)) {
		perror("bench-floor: write eventfd");
		exit(EXIT_FAILURE);
	}
}

int main(int argc, char **argv)
{
	uint64_t bytes = argc > 1 ? strtoull(argv[1], NULL, 0) : 256ull << 20;
	size_t msg = argc > 2 ? strtoul(argv[2], NULL, 0) : FRAGMENT + 52;
	uint64_t n = (bytes + FRAGMENT - 1) / FRAGMENT;
	int to_child = eventfd(0, EFD_CLOEXEC), to_parent = eventfd(0, EFD_CLOEXEC);
	uint8_t *shm, *local;
	int64_t t0, t1;
	pid_t pid;
	int status;

	if (msg == 0 || msg > 1u << 20 || n == 0) {
		fprintf(stderr, "usage: bench-floor [BYTES [MESSAGE-SIZE <= 1 MiB]]\n");
		return EXIT_FAILURE;
	}
	shm = mmap(NULL, 2 * msg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	local = malloc(msg);
	if (shm == MAP_FAILED || !local || to_child < 0 || to_parent < 0) {
		perror("bench-floor: setup");
		return EXIT_FAILURE;
	}
	memset(local, 0x5a, msg);

	pid = fork();
	if (pid < 0) {
		perror("bench-floor: fork");
		return EXIT_FAILURE;
	}
	if (pid == 0) {
		for (uint64_t i = 0; i < n; i++) {
			wait_fd(to_child);
			memcpy(local, shm, msg);
			local[0] ^= 1;
			memcpy(shm + msg, local, msg);
			kick(to_parent);
		}
		_exit(0);
	}

	t0 = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		local[1] = (uint8_t)i;
		memcpy(shm, local, msg);
		kick(to_child);
		wait_fd(to_parent);
		memcpy(local, shm + msg, msg);
	}
	t1 = now_ns();
	waitpid(pid, &status, 0);

	printf("floor: %llu round trips of %zu-byte messages between two processes (eventfd + shared memory)\n",
	       (unsigned long long)n, msg);
	printf("floor: %.2f us per round trip; %llu bytes in %.3f s = %.1f MB/s\n",
	       (double)(t1 - t0) / 1e3 / (double)n, (unsigned long long)bytes, (double)(t1 - t0) / 1e9,
	       (double)bytes / 1e6 / ((double)(t1 - t0) / 1e9));
	return EXIT_SUCCESS;
}
