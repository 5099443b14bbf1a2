/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVP pools: one uthash table per pool in memory, backed by the kernel
 * daemon's pool files (<dir>/.kvp_pool_0 ... _4: headerless 2560-byte records,
 * key[512] + value[2048], UTF-8, NUL-terminated, mode 0644).
 *
 * Cost: get/set/delete are O(1) in the pool size; enumerate by index is O(1).
 * The file is reread only when it changed (inotify on the directory, and a
 * stat signature for writers inotify cannot tell from us), never on every
 * request. Updates write only what changed: one record in place (modify, or
 * the last record moved into a deleted one's slot, then a truncate) or an
 * append, each fdatasync'd. No truncate-and-rewrite of the whole file.
 *
 * Locking: every read or write of a file holds both a BSD flock (cloud-init
 * appends to pool 1 under LOCK_EX) and a POSIX record lock on the whole file
 * (the kernel daemon and other tools use F_SETLKW); hv-kvpd and hv-kvp take
 * them in that order. Waiting for a lock is bounded: past it the operation
 * fails with -ETIMEDOUT (the daemon answers the host an error, never hangs).
 *
 * Tolerated in a file (logged, never a crash): a partial trailing record
 * (ignored; removed by our next write, so appends stay on record boundaries),
 * a field without a NUL (cut at its last byte), invalid UTF-8 (kept as bytes;
 * converters deal with it), empty keys (skipped), duplicate keys (the first
 * one is the one served; a delete removes all of them). Records not served
 * (empty keys, later copies) that a delete leaves at the end are dropped.
 *
 * A pool set opened with dir == NULL lives in memory only (unit tests, the
 * fuzzer, benchmarks).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvp-wire.h"

/* Keys and values in memory are UTF-8 C strings of at most these many bytes. */
#define KVP_KEY_MAX (KVP_POOL_KEY_SIZE - 1)     /* 511 */
#define KVP_VALUE_MAX (KVP_POOL_VALUE_SIZE - 1) /* 2047 */

#define KVP_DEFAULT_POOL_DIR "/var/lib/hyperv"
/* Records per pool beyond which SET of a new key fails (a 256 MB file). */
#define KVP_DEFAULT_MAX_RECORDS 100000
#define KVP_DEFAULT_LOCK_TIMEOUT_MS 5000

struct kvp_pools;

struct kvp_pools_config {
	const char *dir;        /* NULL: memory only */
	unsigned max_records;   /* 0: KVP_DEFAULT_MAX_RECORDS */
	int lock_timeout_ms;    /* 0: KVP_DEFAULT_LOCK_TIMEOUT_MS */
	bool read_only;         /* hv-kvp get/list: open O_RDONLY, never create */
	bool lazy;              /* open and load each pool at its first operation, not
				 * at open (missing files are still created then)
				 * (hv-kvp: a lock held on another pool costs nothing) */
};

/*
 * Open the five pools (creating the directory 0755 and missing files 0644
 * unless read_only) and load them. Returns 0 or a negative errno.
 */
int kvp_pools_open(const struct kvp_pools_config *cfg, struct kvp_pools **ret);
void kvp_pools_free(struct kvp_pools *p);

/*
 * The operations. pool < KVP_POOL_COUNT (else -EINVAL). Each first brings the
 * pool up to date with its file if another writer changed it.
 *
 * get: *ret_value points into the table, valid until the next call on p.
 *      Returns 0 or -ENOENT.
 * set: key 1..KVP_KEY_MAX bytes, value 0..KVP_VALUE_MAX bytes (else -EINVAL);
 *      an existing key's record is rewritten in place, a new one appended.
 *      Returns 0, -ENOSPC (the pool holds max_records), -ETIMEDOUT (lock),
 *      or the I/O error (-ENOSPC/-EDQUOT from the disk too).
 * delete: Returns 0, -ENOENT, -ETIMEDOUT, or the I/O error.
 * enumerate: record number index in file order. Returns 0 or -ENOENT past the end.
 */
int kvp_pool_get(struct kvp_pools *p, unsigned pool, const char *key, const char **ret_value);
int kvp_pool_set(struct kvp_pools *p, unsigned pool, const char *key, const char *value);
int kvp_pool_delete(struct kvp_pools *p, unsigned pool, const char *key);
int kvp_pool_enumerate(struct kvp_pools *p, unsigned pool, uint32_t index, const char **ret_key,
		       const char **ret_value);
/* Records in the pool (after bringing it up to date), or a negative errno. */
long kvp_pool_count(struct kvp_pools *p, unsigned pool);

/*
 * How many times the pool was (re)loaded from its file: for tests and
 * benchmarks, which check that an unchanged file is not reread.
 */
unsigned long kvp_pool_load_count(struct kvp_pools *p, unsigned pool);

/* ".kvp_pool_N" path of a pool in buf. */
int kvp_pool_path(const char *dir, unsigned pool, char *buf, size_t size);

/* Pool names for the command line: "external", "guest", "auto", "auto-external", "auto-internal". */
const char *kvp_pool_name(unsigned pool);
/* A name above, or a number 0-4. Returns the pool or -EINVAL. */
int kvp_pool_from_string(const char *s);

/*
 * Pure: split pool-file bytes into records. fn is called for each record
 * that has a non-empty key, with the key and value cut at their NUL (or at
 * the field's last byte when there is none) and flags saying what was wrong.
 * A partial trailing record is reported through *ret_trailing (its size in
 * bytes), not passed to fn. Returns the number of complete records, or what
 * fn returned if negative (stops there).
 */
enum {
	KVP_RECORD_KEY_UNTERMINATED = 1 << 0,
	KVP_RECORD_VALUE_UNTERMINATED = 1 << 1,
	KVP_RECORD_KEY_INVALID_UTF8 = 1 << 2,
	KVP_RECORD_VALUE_INVALID_UTF8 = 1 << 3,
	KVP_RECORD_EMPTY_KEY = 1 << 4, /* fn is not called for these */
};
typedef int (*kvp_record_fn)(void *userdata, size_t index, const char *key, size_t key_len,
			     const char *value, size_t value_len, unsigned flags);
long kvp_pool_parse(const uint8_t *buf, size_t len, kvp_record_fn fn, void *userdata,
		    size_t *ret_trailing);

/* Pure: true if s[0..len) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool kvp_utf8_valid(const char *s, size_t len);
