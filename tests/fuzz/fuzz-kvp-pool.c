/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the KVP pool store (kvp-pool.c).
 *
 * Input: a 2-byte little-endian length L, then L bytes of pool file (fewer if
 * the input is shorter), then an operation stream.
 *
 * The file bytes go, in a heap copy of exactly their length, to
 * kvp_pool_parse(), which must report L / 2560 records and L % 2560 trailing
 * bytes and hand fn only records with a non-empty key, in increasing index
 * order, with key_len 1..511 and value_len <= 2047, the lengths being where
 * the field's first NUL is (or 511/2047 with the UNTERMINATED flag when there
 * is none), and the UTF-8 flags agreeing with kvp_utf8_valid(). fn fails on
 * cue (index 3 when L's top bit is set), and that error must come back.
 *
 * The operation stream drives a memory-only pool set (max_records 1..8 from
 * the first byte) and a reference model that keeps each pool as an array in
 * file order, deleting by moving the last record into the hole. Each
 * operation is op, pool (0..5; 5 is out of range), key selector, value
 * length, then the bytes it needs: set, delete, get, enumerate and count must
 * return what the model says, with the same strings, in the same order.
 *
 * The same operation stream, read a second way, also drives a pool set on
 * files (a scratch directory, on tmpfs when there is one): it first builds a
 * pool file of a few records with repeating and empty keys (duplicates,
 * unserved slots) and maybe a partial trailing record, opens it with a
 * record cap of 1..12 (files over the cap happen), then sets, deletes and
 * gets. After each set or delete a fresh read-only pool set on the same files must
 * serve exactly what the live one does (memory agrees with the file: no copy
 * of a key moved in front of the served one, enumerate in file order); after
 * a successful set the value is served, after a delete the key is gone, and
 * after any successful write the file is whole records.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "kvp-pool.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(expr)                     \
	do {                            \
		if (!(expr))            \
			abort();        \
	} while (0)

#define MODEL_MAX 8

struct model_rec {
	char key[KVP_POOL_KEY_SIZE + 8];
	char value[KVP_POOL_VALUE_SIZE + 8];
};

struct model {
	struct model_rec recs[KVP_POOL_COUNT][MODEL_MAX];
	unsigned n[KVP_POOL_COUNT];
	unsigned max;
};

struct parse_check {
	const uint8_t *buf;
	long last_index;
	size_t calls;
	size_t fail_index;
};

static int parse_fn(void *userdata, size_t index, const char *key, size_t key_len,
		    const char *value, size_t value_len, unsigned flags)
{
	struct parse_check *pc = userdata;
	const uint8_t *rec = pc->buf + index * KVP_POOL_RECORD_SIZE;
	const uint8_t *knul = memchr(rec, 0, KVP_POOL_KEY_SIZE);
	const uint8_t *vnul = memchr(rec + KVP_POOL_KEY_SIZE, 0, KVP_POOL_VALUE_SIZE);

	check((long)index > pc->last_index);
	pc->last_index = (long)index;
	pc->calls++;
	check((const uint8_t *)key == rec);
	check((const uint8_t *)value == rec + KVP_POOL_KEY_SIZE);
	check(key_len >= 1 && key_len <= KVP_KEY_MAX);
	check(value_len <= KVP_VALUE_MAX);
	check(key_len == (knul ? (size_t)(knul - rec) : KVP_KEY_MAX));
	check(value_len == (vnul ? (size_t)(vnul - rec - KVP_POOL_KEY_SIZE) : KVP_VALUE_MAX));
	check(!!(flags & KVP_RECORD_KEY_UNTERMINATED) == !knul);
	check(!!(flags & KVP_RECORD_VALUE_UNTERMINATED) == !vnul);
	check(!!(flags & KVP_RECORD_KEY_INVALID_UTF8) == !kvp_utf8_valid(key, key_len));
	check(!!(flags & KVP_RECORD_VALUE_INVALID_UTF8) == !kvp_utf8_valid(value, value_len));
	check(!(flags & KVP_RECORD_EMPTY_KEY));
	if (index == pc->fail_index)
		return -EBADMSG;
	return 0;
}

static void fuzz_parse(const uint8_t *data, size_t len, bool fail)
{
	uint8_t *buf = malloc(len ? len : 1);
	struct parse_check pc = { .last_index = -1, .fail_index = fail ? 3 : (size_t)-1 };
	size_t trailing = (size_t)-1, n = len / KVP_POOL_RECORD_SIZE, nonempty = 0, upto;
	bool fails;
	long r;

	check(buf);
	memcpy(buf, data, len);
	pc.buf = buf;
	r = kvp_pool_parse(buf, len, parse_fn, &pc, &trailing);
	check(trailing == len % KVP_POOL_RECORD_SIZE);
	/* fn stops the walk only if record 3 exists and has a key. */
	fails = fail && n > 3 && buf[3 * KVP_POOL_RECORD_SIZE] != 0;
	upto = fails ? 4 : n;
	for (size_t i = 0; i < upto; i++)
		if (buf[i * KVP_POOL_RECORD_SIZE] != 0)
			nonempty++;
	check(pc.calls == nonempty);
	check(r == (fails ? -EBADMSG : (long)n));
	free(buf);
}

struct stream {
	const uint8_t *p;
	size_t left;
};

static uint8_t next(struct stream *s)
{
	if (s->left == 0)
		return 0;
	s->left--;
	return *s->p++;
}

/* A key: usually one of a few short names (so that keys repeat), sometimes raw bytes. */
static void make_key(struct stream *s, char *key, size_t size)
{
	uint8_t sel = next(s);
	size_t len;

	if (sel < 0xe0) {
		snprintf(key, size, "k%u", sel % 12u);
		return;
	}
	/* Up to 520 bytes: too long, empty (a NUL first) and invalid UTF-8 happen. */
	len = (size_t)next(s) << 8;
	len = (len | next(s)) % 521;
	for (size_t i = 0; i < len && i + 1 < size; i++)
		key[i] = (char)next(s);
	key[len < size ? len : size - 1] = '\0';
}

static void make_value(struct stream *s, char *value, size_t size)
{
	size_t len = (size_t)next(s) * 9; /* 0..2295: over 2047 sometimes */
	uint8_t seed = next(s);

	if (len >= size)
		len = size - 1;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = (uint8_t)(seed + i * 7 % 251 + 1);

		value[i] = (char)(b ? b : 'z'); /* never NUL */
	}
	value[len] = '\0';
	if (seed == 0xff && len > 0)
		value[len / 2] = '\0'; /* a shorter C string */
}

static int model_find(struct model *m, unsigned pool, const char *key)
{
	for (unsigned i = 0; i < m->n[pool]; i++)
		if (strcmp(m->recs[pool][i].key, key) == 0)
			return (int)i;
	return -1;
}

static void check_pool(struct kvp_pools *p, struct model *m, unsigned pool)
{
	const char *k, *v;

	check(kvp_pool_count(p, pool) == (long)m->n[pool]);
	for (unsigned i = 0; i < m->n[pool]; i++) {
		check(kvp_pool_enumerate(p, pool, i, &k, &v) == 0);
		check(strcmp(k, m->recs[pool][i].key) == 0);
		check(strcmp(v, m->recs[pool][i].value) == 0);
	}
	check(kvp_pool_enumerate(p, pool, m->n[pool], &k, &v) == -ENOENT);
}

static void fuzz_ops(struct stream *s)
{
	struct kvp_pools_config cfg = { .max_records = 1 + next(s) % MODEL_MAX };
	struct model *m = calloc(1, sizeof(*m));
	char *key = malloc(KVP_POOL_KEY_SIZE + 16), *value = malloc(KVP_POOL_VALUE_SIZE + 256);
	struct kvp_pools *p = NULL;
	unsigned ops = 0;

	check(m && key && value);
	m->max = cfg.max_records;
	check(kvp_pools_open(&cfg, &p) == 0);
	while (s->left > 0 && ops++ < 2000) {
		uint8_t op = next(s) % 5;
		unsigned pool = next(s) % (KVP_POOL_COUNT + 1);
		bool bad_pool = pool >= KVP_POOL_COUNT;
		size_t klen;
		const char *k, *v;
		int r, i;

		make_key(s, key, KVP_POOL_KEY_SIZE + 16);
		klen = strlen(key);
		i = bad_pool ? -1 : model_find(m, pool, key);
		switch (op) {
		case 0: /* set */
			make_value(s, value, KVP_POOL_VALUE_SIZE + 256);
			r = kvp_pool_set(p, pool, key, value);
			if (bad_pool || klen == 0 || klen > KVP_KEY_MAX ||
			    strlen(value) > KVP_VALUE_MAX) {
				check(r == -EINVAL);
			} else if (i >= 0) {
				check(r == 0);
				strcpy(m->recs[pool][i].value, value);
			} else if (m->n[pool] >= m->max) {
				check(r == -ENOSPC);
			} else {
				check(r == 0);
				strcpy(m->recs[pool][m->n[pool]].key, key);
				strcpy(m->recs[pool][m->n[pool]].value, value);
				m->n[pool]++;
			}
			break;
		case 1: /* delete */
			r = kvp_pool_delete(p, pool, key);
			if (bad_pool) {
				check(r == -EINVAL);
			} else if (i < 0) {
				check(r == -ENOENT);
			} else {
				check(r == 0);
				m->n[pool]--;
				if ((unsigned)i != m->n[pool])
					m->recs[pool][i] = m->recs[pool][m->n[pool]];
			}
			break;
		case 2: /* get */
			r = kvp_pool_get(p, pool, key, &v);
			if (bad_pool) {
				check(r == -EINVAL);
			} else if (i < 0) {
				check(r == -ENOENT);
			} else {
				check(r == 0);
				check(strcmp(v, m->recs[pool][i].value) == 0);
			}
			break;
		case 3: /* enumerate one index */
			r = kvp_pool_enumerate(p, pool, (uint32_t)(klen % 10), &k, &v);
			if (bad_pool) {
				check(r == -EINVAL);
			} else if (klen % 10 >= m->n[pool]) {
				check(r == -ENOENT);
			} else {
				check(r == 0);
				check(strcmp(k, m->recs[pool][klen % 10].key) == 0);
				check(strcmp(v, m->recs[pool][klen % 10].value) == 0);
			}
			break;
		default: /* the whole pool */
			if (bad_pool)
				check(kvp_pool_count(p, pool) == -EINVAL);
			else
				check_pool(p, m, pool);
			break;
		}
	}
	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++)
		check_pool(p, m, pool);
	kvp_pools_free(p);
	free(m);
	free(key);
	free(value);
}

static char file_dir[64];

static void remove_files(void)
{
	char path[128];

	for (unsigned pool = 0; pool < KVP_POOL_COUNT; pool++)
		if (kvp_pool_path(file_dir, pool, path, sizeof(path)) == 0)
			(void)unlink(path);
}

static void remove_dir(void)
{
	remove_files();
	(void)rmdir(file_dir);
}

/* The live pool and a fresh reader of its file serve the same records, in the same order. */
static void check_same(struct kvp_pools *live, unsigned pool)
{
	struct kvp_pools_config cfg = { .dir = file_dir, .read_only = true, .max_records = 1000 };
	struct kvp_pools *fresh = NULL;
	const char *k1, *v1, *k2, *v2;
	long n = kvp_pool_count(live, pool);

	check(n >= 0);
	check(kvp_pools_open(&cfg, &fresh) == 0);
	/* The fresh reader has no cap: compare only what the live one serves (it may hold fewer). */
	check(kvp_pool_count(fresh, pool) >= n);
	for (long i = 0; i < n; i++) {
		check(kvp_pool_enumerate(live, pool, (uint32_t)i, &k1, &v1) == 0);
		check(kvp_pool_enumerate(fresh, pool, (uint32_t)i, &k2, &v2) == 0);
		check(strcmp(k1, k2) == 0);
		check(strcmp(v1, v2) == 0);
		check(kvp_pool_get(fresh, pool, k1, &v2) == 0);
		check(strcmp(v1, v2) == 0);
	}
	check(kvp_pool_enumerate(live, pool, (uint32_t)n, &k1, &v1) == -ENOENT);
	kvp_pools_free(fresh);
}

static void file_key(struct stream *s, char *key)
{
	uint8_t sel = next(s) % 8;

	if (sel == 7)
		key[0] = '\0'; /* an empty key: not served */
	else
		snprintf(key, 8, "k%u", sel);
}

static void fuzz_file(struct stream *s)
{
	struct kvp_pools_config cfg = { .dir = file_dir, .max_records = 1 + next(s) % 12 };
	unsigned pool = next(s) % KVP_POOL_COUNT, n_recs = next(s) % 11, ops = 0;
	uint8_t rec[KVP_POOL_RECORD_SIZE];
	char key[8], value[16], path[128];
	struct kvp_pools *p = NULL;
	FILE *f;

	remove_files();
	check(kvp_pool_path(file_dir, pool, path, sizeof(path)) == 0);
	f = fopen(path, "we");
	check(f);
	for (unsigned i = 0; i < n_recs; i++) {
		memset(rec, 0, sizeof(rec));
		file_key(s, key);
		memcpy(rec, key, strlen(key));
		snprintf((char *)rec + KVP_POOL_KEY_SIZE, 16, "v%u", i);
		check(fwrite(rec, sizeof(rec), 1, f) == 1);
	}
	if (next(s) % 4 == 0) /* a partial record at the end */
		check(fwrite(rec, 1 + next(s) % 200, 1, f) == 1);
	check(fclose(f) == 0);

	check(kvp_pools_open(&cfg, &p) == 0);
	check_same(p, pool);
	while (s->left > 0 && ops++ < 24) {
		uint8_t op = next(s) % 3;
		const char *v;
		struct stat st;
		int r;

		file_key(s, key);
		if (!key[0])
			snprintf(key, sizeof(key), "new");
		switch (op) {
		case 0:
			snprintf(value, sizeof(value), "s%u", next(s));
			r = kvp_pool_set(p, pool, key, value);
			check(r == 0 || r == -ENOSPC);
			if (r == 0) {
				check(kvp_pool_get(p, pool, key, &v) == 0);
				check(strcmp(v, value) == 0);
				check(stat(path, &st) == 0 && st.st_size % KVP_POOL_RECORD_SIZE == 0);
			}
			break;
		case 1:
			r = kvp_pool_delete(p, pool, key);
			check(r == 0 || r == -ENOENT);
			check(kvp_pool_get(p, pool, key, &v) == -ENOENT);
			if (r == 0)
				check(stat(path, &st) == 0 && st.st_size % KVP_POOL_RECORD_SIZE == 0);
			break;
		default:
			r = kvp_pool_get(p, pool, key, &v);
			check(r == 0 || r == -ENOENT);
			break;
		}
		if (op < 2)
			check_same(p, pool);
	}
	kvp_pools_free(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	(void)argc;
	(void)argv;
	log_set_max_level(LOG_EMERG);
	snprintf(file_dir, sizeof(file_dir), "%s/fuzz-kvp-pool.XXXXXX", base);
	check(mkdtemp(file_dir));
	atexit(remove_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream s;
	size_t len;
	bool fail;

	if (size < 2)
		return 0;
	len = (size_t)data[0] | ((size_t)data[1] & 0x7f) << 8;
	fail = data[1] & 0x80;
	if (len > size - 2)
		len = size - 2;
	fuzz_parse(data + 2, len, fail);
	s = (struct stream){ .p = data + 2 + len, .left = size - 2 - len };
	fuzz_ops(&s);
	s = (struct stream){ .p = data + 2 + len, .left = size - 2 - len };
	fuzz_file(&s);
	return 0;
}
