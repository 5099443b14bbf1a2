/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-kvp: the cost of hv-kvpd's GET, SET and ENUMERATE against pool size,
 * next to the kernel daemon's way of doing the same.
 *
 *   bench-kvp [DIR]     pool files go in a fresh directory under DIR
 *                       (default /dev/shm, so that the figures are the
 *                       daemons' CPU cost, not the disk's; pass a directory
 *                       on a disk to see fdatasync)
 *
 * For pools of 100, 10 000 and 100 000 records (written in the kernel's
 * format first):
 *  - hv-kvpd: whole KVP message bodies through kvp_message() on file-backed
 *    pools (kvp-pool.c), UTF-16 conversions included. GET of random existing
 *    keys; SET of random existing keys to a new value (one record rewritten
 *    in place, fdatasync'd); ENUMERATE of every index in order ("all" is the
 *    whole walk a host does).
 *  - kernel way, a baseline written here from the reference's description
 *    of hv_kvp_daemon (§5.1, §2.4): before every operation, take an fcntl lock,
 *    reopen the file and read every record in 50-record blocks; GET and SET
 *    scan linearly for the key; SET then truncates and rewrites the whole
 *    file; ENUMERATE copies record[index]. No UTF-16 work is counted for it
 *    (the kernel does that part), so the comparison favours the baseline.
 *    Where the baseline would take minutes (ENUMERATE-all of large pools),
 *    it is timed on a sample of indices spread over the pool and the total
 *    is extrapolated; the output says so.
 *
 * Figures only: nothing here asserts on time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmbus/vmbus.h"

#include "kvp-proto.h"
#include "log.h"

#define POOL 1
#define BLOCK 50 /* records per read, as the kernel daemon */
#define TARGET_NS 300000000LL /* time each measurement about this long */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint32_t rnd_state = 2463534242u;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void key_of(char *buf, size_t size, unsigned i)
{
	/* Keys shaped like cloud-init's: long, sharing a prefix. */
	snprintf(buf, size, "CLOUD_INIT|1700000000|start|init-network/config-%08u|%08x", i, i * 2654435761u);
}

static void write_pool(const char *path, unsigned n)
{
	uint8_t rec[KVP_POOL_RECORD_SIZE];
	FILE *f = fopen(path, "we");

	if (!f) {
		perror(path);
		exit(1);
	}
	for (unsigned i = 0; i < n; i++) {
		memset(rec, 0, sizeof(rec));
		key_of((char *)rec, KVP_POOL_KEY_SIZE, i);
		snprintf((char *)rec + KVP_POOL_KEY_SIZE, KVP_POOL_VALUE_SIZE,
			 "{\"name\":\"init-network/config-%u\",\"type\":\"start\",\"ts\":\"2026-11-23T00:00:00Z\","
			 "\"msg\":\"running config module %u\"}", i, i);
		if (fwrite(rec, sizeof(rec), 1, f) != 1) {
			perror(path);
			exit(1);
		}
	}
	if (fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ------------------------------------------------------------------------ */
/* The kernel daemon's way                                                   */
/* ------------------------------------------------------------------------ */

struct krec {
	char key[KVP_POOL_KEY_SIZE];
	char value[KVP_POOL_VALUE_SIZE];
};

struct kpool {
	const char *path;
	int fd; /* opened once, for the lock */
	struct krec *recs;
	size_t n, alloc;
};

static void k_lock(struct kpool *p, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };

	if (fcntl(p->fd, F_SETLKW, &fl) < 0) {
		perror("fcntl");
		exit(1);
	}
}

/* kvp_update_mem_state(): reopen, read everything in 50-record blocks. */
static void k_reread(struct kpool *p)
{
	FILE *f;
	size_t got;

	k_lock(p, F_WRLCK);
	f = fopen(p->path, "re");
	if (!f) {
		perror(p->path);
		exit(1);
	}
	p->n = 0;
	for (;;) {
		if (p->n + BLOCK > p->alloc) {
			p->alloc += BLOCK;
			p->recs = realloc(p->recs, p->alloc * sizeof(*p->recs));
			if (!p->recs)
				exit(1);
		}
		got = fread(p->recs + p->n, sizeof(struct krec), BLOCK, f);
		p->n += got;
		if (got < BLOCK)
			break;
	}
	fclose(f);
	k_lock(p, F_UNLCK);
}

/* kvp_update_file(): truncate and write every record. */
static void k_rewrite(struct kpool *p)
{
	FILE *f;

	k_lock(p, F_WRLCK);
	f = fopen(p->path, "we");
	if (!f || fwrite(p->recs, sizeof(struct krec), p->n, f) != p->n || fclose(f) != 0) {
		perror(p->path);
		exit(1);
	}
	k_lock(p, F_UNLCK);
}

static size_t k_find(struct kpool *p, const char *key)
{
	size_t ks = strlen(key) + 1;

	for (size_t i = 0; i < p->n; i++)
		if (memcmp(p->recs[i].key, key, ks) == 0)
			return i;
	return SIZE_MAX;
}

static void k_get(struct kpool *p, const char *key, char *out)
{
	size_t i;

	k_reread(p);
	i = k_find(p, key);
	if (i == SIZE_MAX) {
		fprintf(stderr, "baseline: key not found\n");
		exit(1);
	}
	memcpy(out, p->recs[i].value, KVP_POOL_VALUE_SIZE);
}

static void k_set(struct kpool *p, const char *key, const char *value)
{
	size_t i;

	k_reread(p);
	i = k_find(p, key);
	if (i == SIZE_MAX) {
		fprintf(stderr, "baseline: key not found\n");
		exit(1);
	}
	memcpy(p->recs[i].value, value, strlen(value) + 1);
	k_rewrite(p);
}

static void k_enumerate(struct kpool *p, uint32_t index, char *key, char *value)
{
	k_reread(p);
	if (index >= p->n) {
		fprintf(stderr, "baseline: index past the end\n");
		exit(1);
	}
	memcpy(key, p->recs[index].key, KVP_POOL_KEY_SIZE);
	memcpy(value, p->recs[index].value, KVP_POOL_VALUE_SIZE);
}

/* ------------------------------------------------------------------------ */
/* hv-kvpd                                                                   */
/* ------------------------------------------------------------------------ */

static uint8_t body[KVP_MSG_MAX_LEN];

static void msg_key(uint8_t *size_field, uint8_t *field, const char *key)
{
	int n = vmbus_utf8_to_utf16(key, strlen(key), field, KVP_WIRE_KEY_SIZE);
	uint32_t size = 2 * ((uint32_t)n + 1);

	memcpy(size_field, &size, 4);
}

static void h_get(struct kvp *k, const char *key)
{
	uint8_t *d = body + KVP_GETSET_OFF_DATA;

	memset(body, 0, KVP_GETSET_LEN);
	body[KVP_OFF_OPERATION] = KVP_OP_GET;
	body[KVP_OFF_POOL] = POOL;
	msg_key(d + KVP_VAL_OFF_KEY_SIZE, d + KVP_VAL_OFF_KEY, key);
	if (kvp_message(k, body, KVP_GETSET_LEN) != VMBUS_HV_S_OK) {
		fprintf(stderr, "hv-kvpd: GET failed\n");
		exit(1);
	}
}

static void h_set(struct kvp *k, const char *key, const char *value)
{
	uint8_t *d = body + KVP_GETSET_OFF_DATA;
	uint32_t type = KVP_REG_SZ, size;
	int n;

	memset(body, 0, KVP_GETSET_LEN);
	body[KVP_OFF_OPERATION] = KVP_OP_SET;
	body[KVP_OFF_POOL] = POOL;
	memcpy(d + KVP_VAL_OFF_TYPE, &type, 4);
	msg_key(d + KVP_VAL_OFF_KEY_SIZE, d + KVP_VAL_OFF_KEY, key);
	n = vmbus_utf8_to_utf16(value, strlen(value), d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE);
	size = 2 * ((uint32_t)n + 1);
	memcpy(d + KVP_VAL_OFF_VALUE_SIZE, &size, 4);
	if (kvp_message(k, body, KVP_GETSET_LEN) != VMBUS_HV_S_OK) {
		fprintf(stderr, "hv-kvpd: SET failed\n");
		exit(1);
	}
}

static void h_enumerate(struct kvp *k, uint32_t index)
{
	memset(body, 0, KVP_ENUM_LEN);
	body[KVP_OFF_OPERATION] = KVP_OP_ENUMERATE;
	body[KVP_OFF_POOL] = POOL;
	memcpy(body + KVP_ENUM_OFF_INDEX, &index, 4);
	if (kvp_message(k, body, KVP_ENUM_LEN) != VMBUS_HV_S_OK) {
		fprintf(stderr, "hv-kvpd: ENUMERATE failed\n");
		exit(1);
	}
}

/* ------------------------------------------------------------------------ */

enum op { OP_GET, OP_SET, OP_ENUM };

/* Runs op until about TARGET_NS passed (at least min_ops, at most max_ops); returns ns per op. */
static double measure(enum op op, bool kernel, struct kvp *k, struct kpool *kp, unsigned n, long max_ops)
{
	char key[KVP_POOL_KEY_SIZE], value[KVP_POOL_VALUE_SIZE], out_k[KVP_POOL_KEY_SIZE];
	int64_t start = now_ns(), t;
	long ops = 0;
	uint32_t idx = 0;

	do {
		unsigned i = rnd() % n;

		key_of(key, sizeof(key), i);
		switch (op) {
		case OP_GET:
			if (kernel)
				k_get(kp, key, value);
			else
				h_get(k, key);
			break;
		case OP_SET:
			snprintf(value, sizeof(value), "{\"v\":%u,\"n\":%ld}", i, ops);
			if (kernel)
				k_set(kp, key, value);
			else
				h_set(k, key, value);
			break;
		case OP_ENUM:
			/* In order, as a host walks; the baseline samples spread indices. */
			idx = kernel ? (uint32_t)(((uint64_t)ops * 7919u) % n) : (uint32_t)(ops % n);
			if (kernel)
				k_enumerate(kp, idx, out_k, value);
			else
				h_enumerate(k, idx);
			break;
		}
		ops++;
		t = now_ns();
	} while ((t - start < TARGET_NS || ops < 5) && ops < max_ops);
	return (double)(t - start) / (double)ops;
}

static void print_cost(const char *what, double ns)
{
	if (ns >= 1e6)
		printf("  %-36s %10.2f ms/op\n", what, ns / 1e6);
	else
		printf("  %-36s %10.2f us/op\n", what, ns / 1e3);
}

int main(int argc, char **argv)
{
	static const unsigned sizes[] = { 100, 10000, 100000 };
	const char *base = argc > 1 ? argv[1] : "/dev/shm";
	char dir[4096], path[4200];

	log_set_max_level(LOG_ERR);
	snprintf(dir, sizeof(dir), "%s/bench-kvp-XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	printf("bench-kvp: pools in %s; records of %d bytes; hv-kvpd through kvp_message(),\n"
	       "the kernel way reread + linear scan (+ full rewrite for SET)\n", dir, KVP_POOL_RECORD_SIZE);

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned n = sizes[s];
		struct kvp_pools_config cfg = { .dir = dir, .max_records = 200000 };
		struct kvp k = { 0 };
		struct kpool kp = { .path = path };
		double h_get_ns, h_set_ns, h_enum_ns, k_get_ns, k_set_ns, k_enum_ns;
		int64_t t0;

		kvp_pool_path(dir, POOL, path, sizeof(path));
		write_pool(path, n);
		t0 = now_ns();
		if (kvp_pools_open(&cfg, &k.pools) < 0) {
			fprintf(stderr, "cannot open the pools\n");
			return 1;
		}
		printf("\n%u records (file %.1f MB; hv-kvpd loads it in %.1f ms)\n", n,
		       (double)n * KVP_POOL_RECORD_SIZE / 1e6, (double)(now_ns() - t0) / 1e6);
		kp.fd = open(path, O_RDWR | O_CLOEXEC);
		if (kp.fd < 0) {
			perror(path);
			return 1;
		}

		h_get_ns = measure(OP_GET, false, &k, NULL, n, 10000000);
		h_set_ns = measure(OP_SET, false, &k, NULL, n, 10000000);
		h_enum_ns = measure(OP_ENUM, false, &k, NULL, n, 10000000);
		k_get_ns = measure(OP_GET, true, NULL, &kp, n, n >= 100000 ? 20 : 100000);
		k_set_ns = measure(OP_SET, true, NULL, &kp, n, n >= 100000 ? 10 : 100000);
		k_enum_ns = measure(OP_ENUM, true, NULL, &kp, n, n >= 100000 ? 20 : 100000);

		print_cost("GET        hv-kvpd", h_get_ns);
		print_cost("GET        kernel way", k_get_ns);
		printf("  %-36s %10.0fx\n", "GET        speed-up", k_get_ns / h_get_ns);
		print_cost("SET        hv-kvpd (with fdatasync)", h_set_ns);
		print_cost("SET        kernel way (no fsync)", k_set_ns);
		printf("  %-36s %10.0fx\n", "SET        speed-up", k_set_ns / h_set_ns);
		print_cost("ENUMERATE  hv-kvpd, per index", h_enum_ns);
		print_cost("ENUMERATE  kernel way, per index", k_enum_ns);
		printf("  %-36s %10.3f s (per-index cost x N)\n", "ENUMERATE-all hv-kvpd", h_enum_ns * n / 1e9);
		printf("  %-36s %10.3f s (per-index cost x N)\n", "ENUMERATE-all kernel way", k_enum_ns * n / 1e9);
		printf("  %-36s %10.0fx\n", "ENUMERATE  speed-up", k_enum_ns / h_enum_ns);

		close(kp.fd);
		free(kp.recs);
		kvp_pools_free(k.pools);
		unlink(path);
	}
	for (unsigned p = 0; p < KVP_POOL_COUNT; p++) {
		kvp_pool_path(dir, p, path, sizeof(path));
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
