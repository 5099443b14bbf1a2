/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVP pool store (see kvp-pool.h for the contract).
 *
 * In memory, per pool: a uthash table key -> record, and order[], one entry
 * per complete record loaded from the file, in file order, so that
 * order[slot] is the record at byte offset slot * 2560 (NULL for a slot we do
 * not serve: an empty key, or a later copy of a duplicated key). Each record
 * knows its slot. That gives O(1) get/set/delete and, when no slot is NULL,
 * O(1) enumerate; with NULL slots enumerate goes through live[], the list of
 * the served slots: built (O(n)) at the first enumerate after a load, then
 * kept up to date in O(1) by appends and deletes.
 *
 * Freshness: an inotify watch on the directory (drained at the start of each
 * operation, never part of an event loop) and the stat signature of the file
 * (dev, ino, size, mtime, ctime) recorded after our own load or write, once
 * the file is checked to be the size memory says (a writer that takes no
 * lock, cloud-init's truncate, may land between our write and the unlock).
 * The file is reloaded only when one of them says so. Without inotify, a
 * signature taken within RACY_NS of its timestamps is not trusted (a same-size
 * change within the same clock tick would not show in it): the next operation
 * reloads.
 *
 * Writes touch only what changed: modify = one record in place, new key = an
 * append at n * 2560 (a partial trailing record truncated away first), delete =
 * the last record moved into the hole (read back from the file so its bytes
 * are kept as they are) and a truncate; records we do not serve (empty keys,
 * later copies of a key) that end up at the end are dropped with that
 * truncate, never moved in front of a served copy. Before writing where memory
 * says, O(1) checks that the file agrees: its size, and the key at each slot
 * written or moved; if not, the pool is reloaded and the operation retried
 * once (a same-size change that neither inotify nor a coarse mtime showed).
 * Memory is updated only after the write worked. A failed append is truncated
 * away again (the host is told it failed, and cloud-init's next O_APPEND must
 * land on a record boundary); after other failed writes the pool is reloaded
 * next time.
 *
 * Rare cases take a slow O(n) path that works on the file and then reloads
 * it, under the same locks:
 *  - duplicated keys: delete removes every copy; set rewrites the first copy
 *    in place and removes the later ones (last record into each hole), so the
 *    file is left with one copy and the key is back on the fast path;
 *  - delete in a file holding more records than max_records (only the first
 *    max_records are loaded, so the file's last record is not in memory).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvp-pool.h"
#include "log.h"
#include "macro.h"

/*
 * uthash: an allocation failure undoes the add (hh.tbl left NULL) instead of
 * exiting; and the hash is seeded per pool set, since the host chooses the
 * keys (no precomputed colliding keys turning the table into a list). The
 * macro is used only in table_add() and table_find(), where pl is in scope.
 */
#define HASH_NONFATAL_OOM 1
#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = key_hash((keyptr), (keylen), pl->hash_seed))
#include <uthash.h>

#define REC_SIZE ((off_t)KVP_POOL_RECORD_SIZE)
/* Records read per pread while loading (320 KiB). */
#define LOAD_CHUNK_RECORDS 128u
/* A record's value buffer grows in these steps, so that most modifies reuse it. */
#define VALUE_CAP_STEP 32u
/* A signature taken this close to its mtime/ctime may miss a change in the same tick. */
#define RACY_NS 10000000ll

struct kvp_record {
	UT_hash_handle hh;
	char *value; /* after the key's NUL, or on the heap once it outgrew that */
	uint32_t slot;
	uint16_t key_len;
	uint16_t value_len;
	uint16_t value_cap; /* bytes for the value, not counting its NUL */
	bool value_heap;
	bool has_dups; /* later copies of this key exist in the file */
	char key[];    /* key_len + 1 bytes, then value_cap + 1 */
};

struct file_sig {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

struct kvp_pool {
	char path[PATH_MAX];
	int fd; /* -1: memory only, or no file (read_only) */
	dev_t fd_dev;
	ino_t fd_ino;
	struct file_sig sig; /* after our last load or write */
	bool changed;        /* inotify saw another writer */
	bool stale;          /* memory may differ from the file (failed load or write) */
	bool racy;           /* sig was taken too soon after the file's last change to trust */

	struct kvp_record *table;
	struct kvp_record **order; /* n_slots entries */
	uint32_t n_slots, order_cap;
	uint32_t n_dead;     /* NULL entries in order[] */
	uint64_t file_slots; /* complete records in the file (>= n_slots when over the cap) */
	off_t trailing;      /* bytes of a partial trailing record */

	uint32_t *live; /* served slots in file order, when n_dead > 0 */
	uint32_t n_live, live_cap;
	bool live_dirty; /* live[] must be rebuilt before use */

	uint64_t hash_seed;
	unsigned long loads;
};

struct kvp_pools {
	char *dir;
	unsigned max_records;
	int lock_timeout_ms;
	bool read_only;
	int inotify_fd;
	int watch;
	struct kvp_pool pools[KVP_POOL_COUNT];
	uint8_t scratch[KVP_POOL_RECORD_SIZE];
	uint8_t keybuf[KVP_POOL_KEY_SIZE];
};

static const char *const pool_names[KVP_POOL_COUNT] = {
	[KVP_POOL_EXTERNAL] = "external",
	[KVP_POOL_GUEST] = "guest",
	[KVP_POOL_AUTO] = "auto",
	[KVP_POOL_AUTO_EXTERNAL] = "auto-external",
	[KVP_POOL_AUTO_INTERNAL] = "auto-internal",
};

/* ---- pure parts ---- */

bool kvp_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		unsigned n, lo = 0x80, hi = 0xbf;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* > U+10FFFF */
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (unsigned k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

struct record_view {
	const char *key, *value;
	size_t key_len, value_len;
	unsigned flags;
};

/* One 2560-byte record: fields cut at their NUL, or at their last byte. */
static void parse_record(const uint8_t *rec, struct record_view *v)
{
	const char *k = (const char *)rec, *val = (const char *)rec + KVP_POOL_KEY_SIZE;
	const char *nul;

	v->flags = 0;
	v->key = k;
	nul = memchr(k, 0, KVP_POOL_KEY_SIZE);
	if (nul) {
		v->key_len = (size_t)(nul - k);
	} else {
		v->key_len = KVP_KEY_MAX;
		v->flags |= KVP_RECORD_KEY_UNTERMINATED;
	}
	v->value = val;
	nul = memchr(val, 0, KVP_POOL_VALUE_SIZE);
	if (nul) {
		v->value_len = (size_t)(nul - val);
	} else {
		v->value_len = KVP_VALUE_MAX;
		v->flags |= KVP_RECORD_VALUE_UNTERMINATED;
	}
	if (v->key_len == 0)
		v->flags |= KVP_RECORD_EMPTY_KEY;
	if (!kvp_utf8_valid(v->key, v->key_len))
		v->flags |= KVP_RECORD_KEY_INVALID_UTF8;
	if (!kvp_utf8_valid(v->value, v->value_len))
		v->flags |= KVP_RECORD_VALUE_INVALID_UTF8;
}

long kvp_pool_parse(const uint8_t *buf, size_t len, kvp_record_fn fn, void *userdata,
		    size_t *ret_trailing)
{
	size_t n = len / KVP_POOL_RECORD_SIZE;

	if (ret_trailing)
		*ret_trailing = len % KVP_POOL_RECORD_SIZE;
	if (n > LONG_MAX)
		n = LONG_MAX;
	for (size_t i = 0; i < n; i++) {
		struct record_view v;
		int r;

		parse_record(buf + i * KVP_POOL_RECORD_SIZE, &v);
		if ((v.flags & KVP_RECORD_EMPTY_KEY) || !fn)
			continue;
		r = fn(userdata, i, v.key, v.key_len, v.value, v.value_len, v.flags);
		if (r < 0)
			return r;
	}
	return (long)n;
}

int kvp_pool_path(const char *dir, unsigned pool, char *buf, size_t size)
{
	int n;

	assert_return(dir && buf, -EINVAL);
	assert_return(pool < KVP_POOL_COUNT, -EINVAL);
	n = snprintf(buf, size, "%s/.kvp_pool_%u", dir, pool);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

const char *kvp_pool_name(unsigned pool)
{
	return pool < KVP_POOL_COUNT ? pool_names[pool] : NULL;
}

int kvp_pool_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++)
		if (strcmp(s, pool_names[i]) == 0)
			return (int)i;
	if (s[0] >= '0' && s[0] < '0' + KVP_POOL_COUNT && s[1] == '\0')
		return s[0] - '0';
	return -EINVAL;
}

/* ---- memory ---- */

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static unsigned key_hash(const void *key, size_t len, uint64_t seed)
{
	const uint8_t *b = key;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ull), w;

	for (; len >= 8; b += 8, len -= 8) {
		memcpy(&w, b, 8);
		h = mix64(h ^ w) + seed;
	}
	w = 0;
	memcpy(&w, b, len);
	h = mix64(h ^ w ^ seed);
	return (unsigned)(h ^ h >> 32);
}

static uint64_t random_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix64((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)getpid() ^
		     (uint64_t)(uintptr_t)&seed);
}

static size_t value_cap_for(size_t value_len)
{
	size_t cap = (value_len + VALUE_CAP_STEP) / VALUE_CAP_STEP * VALUE_CAP_STEP;

	return cap > KVP_VALUE_MAX ? KVP_VALUE_MAX : cap;
}

static struct kvp_record *record_new(const char *key, size_t key_len, const char *value,
				     size_t value_len)
{
	size_t cap = value_cap_for(value_len);
	struct kvp_record *rec;

	rec = malloc(sizeof(*rec) + key_len + 1 + cap + 1);
	if (!rec)
		return NULL;
	memset(&rec->hh, 0, sizeof(rec->hh));
	rec->key_len = (uint16_t)key_len;
	rec->value_len = (uint16_t)value_len;
	rec->value_cap = (uint16_t)cap;
	rec->value_heap = false;
	rec->has_dups = false;
	rec->slot = 0;
	memcpy(rec->key, key, key_len);
	rec->key[key_len] = '\0';
	rec->value = rec->key + key_len + 1;
	memcpy(rec->value, value, value_len);
	rec->value[value_len] = '\0';
	return rec;
}

static void record_free(struct kvp_record *rec)
{
	if (!rec)
		return;
	if (rec->value_heap)
		free(rec->value);
	free(rec);
}

static int table_add(struct kvp_pool *pl, struct kvp_record *rec)
{
	HASH_ADD_KEYPTR(hh, pl->table, rec->key, rec->key_len, rec);
	return rec->hh.tbl ? 0 : -ENOMEM;
}

static struct kvp_record *table_find(struct kvp_pool *pl, const char *key, size_t key_len)
{
	struct kvp_record *rec;

	HASH_FIND(hh, pl->table, key, key_len, rec);
	return rec;
}

static int order_reserve(struct kvp_pool *pl, uint32_t n)
{
	struct kvp_record **o;
	uint32_t cap;

	if (n <= pl->order_cap)
		return 0;
	cap = pl->order_cap ? pl->order_cap : 64;
	while (cap < n)
		cap = cap > UINT32_MAX / 2 ? n : cap * 2;
	o = realloc(pl->order, cap * sizeof(*o));
	if (!o)
		return -ENOMEM;
	pl->order = o;
	pl->order_cap = cap;
	return 0;
}

static void pool_clear(struct kvp_pool *pl)
{
	HASH_CLEAR(hh, pl->table);
	for (uint32_t i = 0; i < pl->n_slots; i++)
		record_free(pl->order[i]);
	pl->n_slots = 0;
	pl->n_dead = 0;
	pl->n_live = 0;
	pl->live_dirty = true;
	pl->file_slots = 0;
	pl->trailing = 0;
}

/* A served record appended at slot: live[] follows (amortized O(1)), or is rebuilt later. */
static void live_append(struct kvp_pool *pl, uint32_t slot)
{
	if (pl->live_dirty)
		return;
	if (pl->n_live == pl->live_cap) {
		uint32_t cap = pl->live_cap ? pl->live_cap * 2 : 64;
		uint32_t *l;

		if (pl->live_cap > UINT32_MAX / 2) {
			pl->live_dirty = true;
			return;
		}
		l = realloc(pl->live, (size_t)cap * sizeof(*l));
		if (!l) {
			pl->live_dirty = true; /* enumerate retries, and reports ENOMEM */
			return;
		}
		pl->live = l;
		pl->live_cap = cap;
	}
	pl->live[pl->n_live++] = slot;
}

/*
 * A delete removed the highest served slot from the file: either the deleted
 * record's own, or the last record's, moved into the deleted one's slot
 * (whose entry stays). Either way the last entry goes.
 */
static void live_pop(struct kvp_pool *pl)
{
	if (!pl->live_dirty && pl->n_live > 0)
		pl->n_live--;
}

static int live_rebuild(struct kvp_pool *pl)
{
	uint32_t n = pl->n_slots - pl->n_dead;

	if (n > pl->live_cap) {
		uint32_t *l = realloc(pl->live, (size_t)n * sizeof(*l));

		if (!l)
			return -ENOMEM;
		pl->live = l;
		pl->live_cap = n;
	}
	pl->n_live = 0;
	for (uint32_t i = 0; i < pl->n_slots && pl->n_live < n; i++)
		if (pl->order[i])
			pl->live[pl->n_live++] = i;
	pl->live_dirty = false;
	return 0;
}

/* ---- files: locks, signature, inotify ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)us * 1000 };

	nanosleep(&ts, NULL);
}

static int ofd_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

	return fcntl(fd, F_OFD_SETLK, &fl);
}

static void pool_unlock(struct kvp_pool *pl)
{
	(void)ofd_lock(pl->fd, F_UNLCK);
	(void)flock(pl->fd, LOCK_UN);
}

/*
 * flock first (what cloud-init takes), then an open-file-description record
 * lock on the whole file (conflicts with the kernel daemon's F_SETLKW, and is
 * not dropped when another fd of the file is closed). Polls, so the wait is
 * bounded by lock_timeout_ms.
 */
static int pool_lock(struct kvp_pools *p, struct kvp_pool *pl, bool exclusive)
{
	uint64_t deadline = now_ms() + (uint64_t)p->lock_timeout_ms;
	unsigned delay = 1000;
	bool have_flock = false;

	for (;;) {
		if (!have_flock) {
			if (flock(pl->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
				have_flock = true;
			else if (errno != EWOULDBLOCK && errno != EINTR)
				return log_error_errno(-errno, "Failed to lock \"%s\": %m", pl->path);
		}
		if (have_flock) {
			if (ofd_lock(pl->fd, exclusive ? F_WRLCK : F_RDLCK) == 0)
				return 0;
			if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
				int r = -errno;

				(void)flock(pl->fd, LOCK_UN);
				return log_error_errno(r, "Failed to lock \"%s\": %m", pl->path);
			}
		}
		if (now_ms() >= deadline)
			break;
		sleep_us(delay);
		if (delay < 20000)
			delay = delay * 2 > 20000 ? 20000 : delay * 2;
	}
	if (have_flock)
		(void)flock(pl->fd, LOCK_UN);
	log_error("\"%s\" is locked by another process (%s lock), gave up after %d ms", pl->path,
		  have_flock ? "record" : "flock", p->lock_timeout_ms);
	return -ETIMEDOUT;
}

static void sig_from_stat(struct file_sig *s, const struct stat *st)
{
	s->exists = true;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtim = st->st_mtim;
	s->ctim = st->st_ctim;
}

static bool sig_equal(const struct file_sig *a, const struct file_sig *b)
{
	if (a->exists != b->exists)
		return false;
	if (!a->exists)
		return true;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec &&
	       a->ctim.tv_sec == b->ctim.tv_sec && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static int path_sig(struct kvp_pool *pl, struct file_sig *s)
{
	struct stat st;

	if (stat(pl->path, &st) < 0) {
		if (errno != ENOENT)
			return -errno;
		s->exists = false;
		return 0;
	}
	sig_from_stat(s, &st);
	return 0;
}

static off_t expected_size(const struct kvp_pool *pl)
{
	return (off_t)pl->file_slots * REC_SIZE + pl->trailing;
}

/* ts is within RACY_NS of now, or after it. */
static bool ts_recent(const struct timespec *ts, const struct timespec *now)
{
	int64_t d;

	if (ts->tv_sec > now->tv_sec)
		return true;
	if (ts->tv_sec < now->tv_sec - 1)
		return false;
	d = (int64_t)(now->tv_sec - ts->tv_sec) * 1000000000ll + (now->tv_nsec - ts->tv_nsec);
	return d < RACY_NS;
}

/*
 * After our load or write, under the locks: the signature the next operation
 * compares with. Only if the file is the size memory says: otherwise a writer
 * that takes no lock got in (cloud-init truncates without one), and the pool
 * is reloaded next time instead of that change being taken for ours.
 */
static void pool_record_sig(struct kvp_pools *p, struct kvp_pool *pl)
{
	struct timespec now;
	struct stat st;

	if (pl->fd < 0 || fstat(pl->fd, &st) < 0 || st.st_size != expected_size(pl)) {
		pl->stale = true;
		return;
	}
	sig_from_stat(&pl->sig, &st);
	pl->racy = false;
	if (p->watch < 0 && clock_gettime(CLOCK_REALTIME, &now) == 0)
		pl->racy = ts_recent(&st.st_mtim, &now) || ts_recent(&st.st_ctim, &now);
}

/* Marks pools whose files changed; except_pool's events are ours and dropped. */
static void drain_inotify(struct kvp_pools *p, int except_pool)
{
	union {
		struct inotify_event ev;
		char buf[4096];
	} u;

	if (p->inotify_fd < 0)
		return;
	for (;;) {
		ssize_t n = read(p->inotify_fd, u.buf, sizeof(u.buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *ev = (const void *)(u.buf + off);
			unsigned pool;

			off += (ssize_t)sizeof(*ev) + ev->len;
			if (ev->mask & (IN_Q_OVERFLOW | IN_IGNORED)) {
				for (unsigned i = 0; i < KVP_POOL_COUNT; i++)
					p->pools[i].changed = true;
				if (ev->mask & IN_IGNORED)
					p->watch = -1; /* the directory went away: stat alone now */
				continue;
			}
			/* ".kvp_pool_N" exactly */
			if (ev->len < sizeof(".kvp_pool_0") ||
			    strncmp(ev->name, ".kvp_pool_", 10) != 0 || ev->name[11] != '\0' ||
			    ev->name[10] < '0' || ev->name[10] >= '0' + KVP_POOL_COUNT)
				continue;
			pool = (unsigned)(ev->name[10] - '0');
			if ((int)pool != except_pool)
				p->pools[pool].changed = true;
		}
	}
}

static int pool_close_file(struct kvp_pool *pl)
{
	if (pl->fd >= 0)
		close(pl->fd);
	pl->fd = -1;
	return 0;
}

/* Opens the pool file (creating it 0644 when create); -ENOENT if missing otherwise. */
static int pool_open_file(struct kvp_pools *p, struct kvp_pool *pl, bool create)
{
	int flags = (p->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	bool created = false;
	struct stat st;
	int fd;

	pool_close_file(pl);
	fd = open(pl->path, flags);
	if (fd < 0 && errno == ENOENT && create) {
		fd = open(pl->path, flags | O_CREAT | O_EXCL, 0644);
		if (fd >= 0)
			created = true;
		else if (errno == EEXIST)
			fd = open(pl->path, flags);
	}
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return -ENOENT;
		return log_error_errno(-errno, "Failed to open \"%s\": %m", pl->path);
	}
	if (created && fchmod(fd, 0644) < 0) {
		int r = -errno;

		close(fd);
		return log_error_errno(r, "Failed to set the mode of \"%s\": %m", pl->path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		log_error("\"%s\" is not a regular file", pl->path);
		return -EINVAL;
	}
	pl->fd = fd;
	pl->fd_dev = st.st_dev;
	pl->fd_ino = st.st_ino;
	return 0;
}

/* ---- loading ---- */

enum load_problem {
	LP_KEY_UNTERMINATED,
	LP_VALUE_UNTERMINATED,
	LP_KEY_UTF8,
	LP_VALUE_UTF8,
	LP_EMPTY_KEY,
	LP_DUPLICATE,
	LP_COUNT,
};

static const char *const load_problem_text[LP_COUNT] = {
	[LP_KEY_UNTERMINATED] = "a key without a NUL (cut at 511 bytes)",
	[LP_VALUE_UNTERMINATED] = "a value without a NUL (cut at 2047 bytes)",
	[LP_KEY_UTF8] = "a key that is not valid UTF-8 (kept as it is)",
	[LP_VALUE_UTF8] = "a value that is not valid UTF-8 (kept as it is)",
	[LP_EMPTY_KEY] = "an empty key (skipped)",
	[LP_DUPLICATE] = "a duplicate key (the first copy is served)",
};

struct load_stats {
	uint64_t count[LP_COUNT];
	uint64_t first[LP_COUNT];
};

static void note(struct load_stats *ls, enum load_problem k, uint64_t slot)
{
	if (ls->count[k]++ == 0)
		ls->first[k] = slot;
}

/* Adds the record at the next slot of order[] (capacity reserved by the caller). */
static int load_record(struct kvp_pool *pl, const uint8_t *bytes, struct load_stats *ls)
{
	uint32_t slot = pl->n_slots;
	struct record_view v;
	struct kvp_record *rec, *old;
	int r;

	parse_record(bytes, &v);
	if (v.flags & KVP_RECORD_KEY_UNTERMINATED)
		note(ls, LP_KEY_UNTERMINATED, slot);
	if (v.flags & KVP_RECORD_VALUE_UNTERMINATED)
		note(ls, LP_VALUE_UNTERMINATED, slot);
	if (v.flags & KVP_RECORD_KEY_INVALID_UTF8)
		note(ls, LP_KEY_UTF8, slot);
	if (v.flags & KVP_RECORD_VALUE_INVALID_UTF8)
		note(ls, LP_VALUE_UTF8, slot);

	if (v.flags & KVP_RECORD_EMPTY_KEY) {
		note(ls, LP_EMPTY_KEY, slot);
		rec = NULL;
	} else if ((old = table_find(pl, v.key, v.key_len))) {
		note(ls, LP_DUPLICATE, slot);
		old->has_dups = true;
		rec = NULL;
	} else {
		rec = record_new(v.key, v.key_len, v.value, v.value_len);
		if (!rec)
			return -ENOMEM;
		rec->slot = slot;
		r = table_add(pl, rec);
		if (r < 0) {
			record_free(rec);
			return r;
		}
	}
	pl->order[slot] = rec;
	pl->n_slots++;
	if (!rec)
		pl->n_dead++;
	return 0;
}

/*
 * Reads the file into memory. The caller holds the locks. report: log what is
 * wrong in the file (not after our own rewrite, which reported it already).
 */
static int pool_load_locked(struct kvp_pools *p, struct kvp_pool *pl, bool report)
{
	const size_t chunk = LOAD_CHUNK_RECORDS * KVP_POOL_RECORD_SIZE;
	_cleanup_free_ uint8_t *buf = NULL;
	struct load_stats ls = {};
	uint64_t want, ignored;
	struct stat st;
	int r;

	pool_clear(pl);
	pl->stale = true; /* until the load completes */
	pl->changed = false;
	pl->loads++;
	if (fstat(pl->fd, &st) < 0)
		return log_error_errno(-errno, "Failed to stat \"%s\": %m", pl->path);
	pl->file_slots = (uint64_t)st.st_size / KVP_POOL_RECORD_SIZE;
	pl->trailing = st.st_size % REC_SIZE;
	want = pl->file_slots < p->max_records ? pl->file_slots : p->max_records;
	if (want > 0) {
		r = order_reserve(pl, (uint32_t)want);
		if (r < 0)
			return log_error_errno(r, "Failed to load \"%s\": %m", pl->path);
		buf = malloc(want < LOAD_CHUNK_RECORDS ? want * KVP_POOL_RECORD_SIZE : chunk);
		if (!buf)
			return log_error_errno(-ENOMEM, "Failed to load \"%s\": %m", pl->path);
	}
	while (pl->n_slots < want) {
		uint64_t left = want - pl->n_slots;
		size_t len = left < LOAD_CHUNK_RECORDS ? (size_t)left * KVP_POOL_RECORD_SIZE : chunk;
		off_t off = (off_t)pl->n_slots * REC_SIZE;
		size_t got = 0;

		while (got < len) {
			ssize_t n = pread(pl->fd, buf + got, len - got, off + (off_t)got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return log_error_errno(-errno, "Failed to read \"%s\": %m", pl->path);
			if (n == 0)
				break;
			got += (size_t)n;
		}
		for (size_t i = 0; i + KVP_POOL_RECORD_SIZE <= got; i += KVP_POOL_RECORD_SIZE) {
			r = load_record(pl, buf + i, &ls);
			if (r < 0)
				return log_error_errno(r, "Failed to load \"%s\": %m", pl->path);
		}
		if (got < len) {
			/* Shrunk under us (a writer that takes no lock): take what is there. */
			pl->file_slots = pl->n_slots;
			pl->trailing = (off_t)(got % KVP_POOL_RECORD_SIZE);
			want = pl->n_slots;
			break;
		}
	}
	pl->stale = false;
	if (!report)
		return 0;
	for (unsigned k = 0; k < LP_COUNT; k++)
		if (ls.count[k] > 0)
			log_warning("\"%s\": record %" PRIu64 " has %s; %" PRIu64
				    " record(s) like that in this file",
				    pl->path, ls.first[k], load_problem_text[k], ls.count[k]);
	if (pl->trailing > 0)
		log_warning("\"%s\": record %" PRIu64 " is partial (%lld of %d bytes), ignored", pl->path,
			    pl->file_slots, (long long)pl->trailing, KVP_POOL_RECORD_SIZE);
	ignored = pl->file_slots - pl->n_slots;
	if (ignored > 0)
		log_warning("\"%s\" holds %" PRIu64 " records, more than the limit of %u: the last %" PRIu64
			    " are ignored (left in the file)",
			    pl->path, pl->file_slots, p->max_records, ignored);
	return 0;
}

/* ---- bringing a pool up to date ---- */

static void pool_set_missing(struct kvp_pool *pl)
{
	pool_close_file(pl);
	pool_clear(pl);
	pl->sig.exists = false;
	pl->changed = false;
	pl->stale = false;
}

/*
 * Drains inotify, and reloads the pool if its file changed. For a write, the
 * file is created if missing and left locked (exclusively) on success: the
 * caller writes, then calls pool_end_write().
 */
static int pool_begin(struct kvp_pools *p, struct kvp_pool *pl, bool write)
{
	struct file_sig now;
	int r;

	drain_inotify(p, -1);
	if (!p->dir)
		return 0;

	for (unsigned attempt = 0;; attempt++) {
		r = path_sig(pl, &now);
		if (r < 0)
			return log_error_errno(r, "Failed to stat \"%s\": %m", pl->path);
		if (!write && !pl->changed && !pl->stale && !pl->racy && sig_equal(&now, &pl->sig))
			return 0; /* the common case: nothing to do */

		if (!now.exists || pl->fd < 0 || now.dev != pl->fd_dev || now.ino != pl->fd_ino) {
			r = pool_open_file(p, pl, write);
			if (r == -ENOENT && !write) {
				pool_set_missing(pl);
				return 0;
			}
			if (r < 0) {
				pl->stale = true; /* the old fd is gone: never serve what it held */
				return r;
			}
		}

		r = pool_lock(p, pl, write);
		if (r < 0)
			return r;
		/* Replaced between our stat and the lock? Then lock the new file. */
		r = path_sig(pl, &now);
		if (r == 0 && now.exists && now.dev == pl->fd_dev && now.ino == pl->fd_ino)
			break;
		pool_unlock(pl);
		if (attempt >= 3) {
			log_error("\"%s\" keeps being replaced, giving up", pl->path);
			return -EBUSY;
		}
		pl->stale = true;
	}

	/* Events so far are other writers': their changes are in what we see now. */
	drain_inotify(p, -1);
	if (pl->changed || pl->stale || pl->racy || !sig_equal(&now, &pl->sig)) {
		r = pool_load_locked(p, pl, true);
		if (r < 0) {
			pool_unlock(pl);
			return r;
		}
	}
	if (!write) {
		pool_record_sig(p, pl);
		pool_unlock(pl);
	}
	return 0;
}

static void pool_end_write(struct kvp_pools *p, struct kvp_pool *pl)
{
	unsigned idx = (unsigned)(pl - p->pools);

	/*
	 * Cooperating writers are locked out: these events are ours. One that
	 * takes no lock is caught by the size check in pool_record_sig().
	 */
	drain_inotify(p, (int)idx);
	pool_record_sig(p, pl);
	pool_unlock(pl);
}

/* ---- writing ---- */

static int pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *b = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, b, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		b += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *b = buf;

	while (len > 0) {
		ssize_t n = pread(fd, b, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ESTALE; /* shrunk by a writer that takes no lock */
		b += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int fdatasync_retry(int fd)
{
	while (fdatasync(fd) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void build_record(uint8_t *buf, const char *key, size_t key_len, const char *value,
			 size_t value_len)
{
	memset(buf, 0, KVP_POOL_RECORD_SIZE);
	memcpy(buf, key, key_len);
	memcpy(buf + KVP_POOL_KEY_SIZE, value, value_len);
}

static int write_failed(struct kvp_pool *pl, int r, const char *what)
{
	pl->stale = true; /* memory is reloaded from the file next time */
	return log_error_errno(r, "Failed to %s \"%s\": %m", what, pl->path);
}

/* A read on the write path: -ESTALE (the file shrank under us) is retried, not logged. */
static int read_failed(struct kvp_pool *pl, int r)
{
	return r == -ESTALE ? r : write_failed(pl, r, "read");
}

/*
 * An append failed (a short write, then ENOSPC; or its sync): take the record
 * out again, so that the host's error answer is true, the key does not come
 * back at the next load, and the next O_APPEND (cloud-init's) lands on a
 * record boundary. Memory then still matches the file.
 */
static int append_failed(struct kvp_pool *pl, int r, const char *what, off_t end)
{
	log_error_errno(r, "Failed to %s \"%s\": %m", what, pl->path);
	if (ftruncate(pl->fd, end) < 0) {
		log_error_errno(-errno, "Failed to remove the failed append from \"%s\": %m",
				pl->path);
		pl->stale = true;
	}
	return r;
}

/*
 * A partial trailing record (a writer that failed or died mid-append) is
 * debris: cooperating writers cannot be mid-append while we hold both locks.
 * Removed before we write, so that appends, ours and cloud-init's O_APPEND,
 * land on a record boundary.
 */
static int drop_trailing(struct kvp_pool *pl)
{
	if (pl->trailing == 0)
		return 0;
	if (ftruncate(pl->fd, (off_t)pl->file_slots * REC_SIZE) < 0)
		return write_failed(pl, -errno, "truncate");
	log_info("\"%s\": removed a partial record of %lld bytes at its end", pl->path,
		 (long long)pl->trailing);
	pl->trailing = 0;
	return 0;
}

/* The length of the key field of a record in the file, cut like parse_record() does. */
static size_t key_field_len(const uint8_t *field)
{
	const uint8_t *nul = memchr(field, 0, KVP_POOL_KEY_SIZE);

	return nul ? (size_t)(nul - field) : KVP_KEY_MAX;
}

/*
 * Before writing where memory says (both locks held), O(1) checks that the
 * file agrees: a same-size change by another writer is invisible to the stat
 * signature when timestamps are coarse, and inotify may be unavailable.
 * check_size: the file is the size memory says. slot_agrees: the key at slot
 * is rec's, or for a slot memory does not serve (rec NULL) an empty key or a
 * later copy of a key served at an earlier slot. Mismatch: -ESTALE (the
 * caller reloads and retries once).
 */
static int check_size(struct kvp_pool *pl)
{
	struct stat st;

	if (fstat(pl->fd, &st) < 0)
		return log_error_errno(-errno, "Failed to stat \"%s\": %m", pl->path);
	return st.st_size == expected_size(pl) ? 0 : -ESTALE;
}

static bool slot_agrees(struct kvp_pool *pl, uint64_t slot, const struct kvp_record *rec,
			const char *key, size_t key_len)
{
	const struct kvp_record *first;

	if (rec)
		return key_len == rec->key_len && memcmp(key, rec->key, key_len) == 0;
	if (key_len == 0)
		return true;
	first = table_find(pl, key, key_len);
	return first && first->slot < slot;
}

static int verify_slot(struct kvp_pools *p, struct kvp_pool *pl, uint32_t slot,
		       const struct kvp_record *rec)
{
	int r;

	r = pread_full(pl->fd, p->keybuf, KVP_POOL_KEY_SIZE, (off_t)slot * REC_SIZE);
	if (r < 0)
		return read_failed(pl, r);
	if (!slot_agrees(pl, slot, rec, (const char *)p->keybuf, key_field_len(p->keybuf)))
		return -ESTALE;
	return 0;
}

/*
 * Slow path (duplicated keys, or a delete in a file over the cap): find every
 * copy of key in the whole file; for a set, rewrite the first and remove the
 * rest, for a delete (value NULL) remove all; then reload. Copies are removed
 * from the highest slot down, each replaced by the file's last record, which
 * therefore is never a copy of key. A last record we do not serve (an empty
 * key, or a later copy of another key) is dropped instead, never moved in
 * front of its served copy. The scan also checks memory against the file,
 * since memory says which records are served.
 */
static int pool_rewrite_slow(struct kvp_pools *p, struct kvp_pool *pl, const char *key,
			     size_t key_len, const char *value, size_t value_len)
{
	_cleanup_free_ uint64_t *slots = NULL;
	size_t n_slots = 0, cap = 0;
	uint64_t n = pl->file_slots;
	struct record_view v;
	int r;

	r = check_size(pl);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < n; i++) {
		r = pread_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE, (off_t)i * REC_SIZE);
		if (r < 0)
			return read_failed(pl, r);
		parse_record(p->scratch, &v);
		if (i < pl->n_slots && !slot_agrees(pl, i, pl->order[i], v.key, v.key_len))
			return -ESTALE;
		if (v.key_len != key_len || memcmp(v.key, key, key_len) != 0)
			continue;
		if (n_slots == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			uint64_t *s = realloc(slots, ncap * sizeof(*s));

			if (!s)
				return -ENOMEM;
			slots = s;
			cap = ncap;
		}
		slots[n_slots++] = i;
	}
	if (n_slots == 0)
		return -ENOENT;

	if (value) {
		build_record(p->scratch, key, key_len, value, value_len);
		r = pwrite_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE, (off_t)slots[0] * REC_SIZE);
		if (r < 0)
			return write_failed(pl, r, "write");
	}
	for (size_t i = n_slots; i-- > (value ? 1u : 0u);) {
		uint64_t hole = slots[i];

		for (;;) {
			uint64_t last = --n;
			struct kvp_record *served;

			if (last == hole)
				break;
			r = pread_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE, (off_t)last * REC_SIZE);
			if (r < 0)
				return read_failed(pl, r);
			parse_record(p->scratch, &v);
			if (v.key_len == 0)
				continue; /* not served: dropped */
			served = table_find(pl, v.key, v.key_len);
			if (served && served->slot != last)
				continue; /* a later copy: dropped */
			r = pwrite_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE, (off_t)hole * REC_SIZE);
			if (r < 0)
				return write_failed(pl, r, "write");
			/* Where the served copy is now (memory is reloaded below anyway). */
			if (served)
				served->slot = (uint32_t)hole;
			break;
		}
	}
	if ((n != pl->file_slots || pl->trailing > 0) && ftruncate(pl->fd, (off_t)n * REC_SIZE) < 0)
		return write_failed(pl, -errno, "truncate");
	r = fdatasync_retry(pl->fd);
	if (r < 0)
		return write_failed(pl, r, "sync");
	/* What is wrong in the file was reported when it was loaded. */
	return pool_load_locked(p, pl, false);
}

static int check_pool(struct kvp_pools *p, unsigned pool)
{
	assert_return(p, -EINVAL);
	assert_return(pool < KVP_POOL_COUNT, -EINVAL);
	return 0;
}

static int do_set(struct kvp_pools *p, struct kvp_pool *pl, const char *key, size_t key_len,
		  const char *value, size_t value_len)
{
	struct kvp_record *rec = table_find(pl, key, key_len);
	const char *what;
	off_t end;
	int r;

	if (rec && rec->has_dups && p->dir)
		return pool_rewrite_slow(p, pl, key, key_len, value, value_len);

	if (pl->fd >= 0) {
		r = check_size(pl);
		if (r == 0 && rec)
			r = verify_slot(p, pl, rec->slot, rec);
		if (r == 0)
			r = drop_trailing(pl);
		if (r < 0)
			return r;
	}

	if (rec) {
		char *nvalue = NULL;
		size_t ncap = 0;

		if (value_len > rec->value_cap) {
			/* Allocated before the write, swapped in after it worked. */
			ncap = value_cap_for(value_len);
			nvalue = malloc(ncap + 1);
			if (!nvalue)
				return -ENOMEM;
		}
		if (pl->fd >= 0) {
			build_record(p->scratch, key, key_len, value, value_len);
			r = pwrite_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE,
					(off_t)rec->slot * REC_SIZE);
			if (r == 0)
				r = fdatasync_retry(pl->fd);
			if (r < 0) {
				free(nvalue);
				return write_failed(pl, r, "write");
			}
		}
		if (nvalue) {
			if (rec->value_heap)
				free(rec->value);
			rec->value = nvalue;
			rec->value_cap = (uint16_t)ncap;
			rec->value_heap = true;
		}
		memcpy(rec->value, value, value_len);
		rec->value[value_len] = '\0';
		rec->value_len = (uint16_t)value_len;
		return 0;
	}

	if (pl->file_slots >= p->max_records || pl->n_slots >= p->max_records)
		return -ENOSPC;
	r = order_reserve(pl, pl->n_slots + 1);
	if (r < 0)
		return r;
	rec = record_new(key, key_len, value, value_len);
	if (!rec)
		return -ENOMEM;
	rec->slot = pl->n_slots;
	r = table_add(pl, rec);
	if (r < 0) {
		record_free(rec);
		return r;
	}
	if (pl->fd >= 0) {
		end = (off_t)pl->file_slots * REC_SIZE;
		build_record(p->scratch, key, key_len, value, value_len);
		what = "append to";
		r = pwrite_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE, end);
		if (r == 0) {
			what = "sync";
			r = fdatasync_retry(pl->fd);
		}
		if (r < 0) {
			HASH_DEL(pl->table, rec);
			record_free(rec);
			return append_failed(pl, r, what, end);
		}
	}
	pl->order[pl->n_slots++] = rec;
	live_append(pl, rec->slot);
	pl->file_slots++;
	return 0;
}

/*
 * A write found the file other than memory says (-ESTALE, nothing written
 * on the fast paths): reload under the same locks and retry once.
 */
static int retry_stale(struct kvp_pools *p, struct kvp_pool *pl, int r)
{
	if (r != -ESTALE)
		return r;
	log_debug("\"%s\" changed without our noticing, reloading it", pl->path);
	return pool_load_locked(p, pl, true);
}

static int give_up_stale(struct kvp_pool *pl, int r)
{
	if (r != -ESTALE)
		return r;
	pl->stale = true;
	return log_error_errno(-EBUSY, "\"%s\" keeps changing under us, giving up: %m", pl->path);
}

int kvp_pool_set(struct kvp_pools *p, unsigned pool, const char *key, const char *value)
{
	struct kvp_pool *pl;
	size_t key_len, value_len;
	int r;

	r = check_pool(p, pool);
	if (r < 0)
		return r;
	assert_return(key && value, -EINVAL);
	key_len = strnlen(key, KVP_POOL_KEY_SIZE);
	value_len = strnlen(value, KVP_POOL_VALUE_SIZE);
	assert_return(key_len >= 1 && key_len <= KVP_KEY_MAX, -EINVAL);
	assert_return(value_len <= KVP_VALUE_MAX, -EINVAL);
	if (p->read_only)
		return -EROFS;
	pl = &p->pools[pool];
	r = pool_begin(p, pl, true);
	if (r < 0)
		return r;
	r = do_set(p, pl, key, key_len, value, value_len);
	if (r == -ESTALE && retry_stale(p, pl, r) == 0)
		r = do_set(p, pl, key, key_len, value, value_len);
	r = give_up_stale(pl, r);
	if (p->dir)
		pool_end_write(p, pl);
	return r;
}

/*
 * Fast delete: the last record moves into the hole, then a truncate. Records
 * we do not serve (empty keys, later copies of a key) that are or end up at
 * the end are dropped with the truncate: never moved in front of a served
 * copy, and they do not linger (enumerate stays O(1) once they are gone).
 */
static int do_delete(struct kvp_pools *p, struct kvp_pool *pl, const char *key, size_t key_len)
{
	struct kvp_record *rec = table_find(pl, key, key_len), *moved;
	uint32_t slot, last, end;
	int r;

	if (!rec)
		return -ENOENT;
	if (p->dir && (rec->has_dups || pl->file_slots != pl->n_slots))
		return pool_rewrite_slow(p, pl, key, key_len, NULL, 0);

	slot = rec->slot;
	/* The last served record (order[slot] is one, so this stops there at the latest). */
	last = pl->n_slots - 1;
	while (!pl->order[last])
		last--;
	/* Records [0, end) remain: slot holds the moved record, or is gone if it was last. */
	end = last;
	while (end > 0 && end - 1 != slot && !pl->order[end - 1])
		end--;

	if (pl->fd >= 0) {
		r = check_size(pl);
		if (r == 0)
			r = verify_slot(p, pl, slot, rec);
		for (uint32_t i = end; r == 0 && i < pl->n_slots; i++)
			if (i != slot && i != last)
				r = verify_slot(p, pl, i, NULL);
		if (r < 0)
			return r;
		if (slot != last) {
			/* The last record's bytes as they are in the file. */
			r = pread_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE, (off_t)last * REC_SIZE);
			if (r < 0)
				return read_failed(pl, r);
			if (!slot_agrees(pl, last, pl->order[last], (const char *)p->scratch,
					 key_field_len(p->scratch)))
				return -ESTALE;
			r = pwrite_full(pl->fd, p->scratch, KVP_POOL_RECORD_SIZE, (off_t)slot * REC_SIZE);
			if (r < 0)
				return write_failed(pl, r, "write");
		}
		if (ftruncate(pl->fd, (off_t)end * REC_SIZE) < 0)
			return write_failed(pl, -errno, "truncate");
		r = fdatasync_retry(pl->fd);
		if (r < 0)
			return write_failed(pl, r, "sync");
	}
	if (slot != last) {
		moved = pl->order[last];
		pl->order[slot] = moved;
		moved->slot = slot;
	}
	live_pop(pl);
	/* Every slot removed but one (the deleted record's, or the moved one's) was not served. */
	pl->n_dead -= pl->n_slots - end - 1;
	pl->n_slots = end;
	pl->file_slots = end;
	pl->trailing = 0;
	HASH_DEL(pl->table, rec);
	record_free(rec);
	return 0;
}

int kvp_pool_delete(struct kvp_pools *p, unsigned pool, const char *key)
{
	struct kvp_pool *pl;
	size_t key_len;
	int r;

	r = check_pool(p, pool);
	if (r < 0)
		return r;
	assert_return(key, -EINVAL);
	key_len = strnlen(key, KVP_POOL_KEY_SIZE);
	if (key_len == 0 || key_len > KVP_KEY_MAX)
		return -ENOENT;
	if (p->read_only)
		return -EROFS;
	pl = &p->pools[pool];
	r = pool_begin(p, pl, true);
	if (r < 0)
		return r;
	r = do_delete(p, pl, key, key_len);
	if (r == -ESTALE && retry_stale(p, pl, r) == 0)
		r = do_delete(p, pl, key, key_len);
	r = give_up_stale(pl, r);
	if (p->dir)
		pool_end_write(p, pl);
	return r;
}

int kvp_pool_get(struct kvp_pools *p, unsigned pool, const char *key, const char **ret_value)
{
	struct kvp_record *rec;
	size_t key_len;
	int r;

	r = check_pool(p, pool);
	if (r < 0)
		return r;
	assert_return(key && ret_value, -EINVAL);
	r = pool_begin(p, &p->pools[pool], false);
	if (r < 0)
		return r;
	key_len = strnlen(key, KVP_POOL_KEY_SIZE);
	if (key_len == 0 || key_len > KVP_KEY_MAX)
		return -ENOENT;
	rec = table_find(&p->pools[pool], key, key_len);
	if (!rec)
		return -ENOENT;
	*ret_value = rec->value;
	return 0;
}

int kvp_pool_enumerate(struct kvp_pools *p, unsigned pool, uint32_t index, const char **ret_key,
		       const char **ret_value)
{
	struct kvp_pool *pl;
	struct kvp_record *rec;
	int r;

	r = check_pool(p, pool);
	if (r < 0)
		return r;
	assert_return(ret_key && ret_value, -EINVAL);
	pl = &p->pools[pool];
	r = pool_begin(p, pl, false);
	if (r < 0)
		return r;
	if (pl->n_dead == 0) {
		if (index >= pl->n_slots)
			return -ENOENT;
		rec = pl->order[index];
	} else {
		if (pl->live_dirty) {
			r = live_rebuild(pl);
			if (r < 0)
				return r;
		}
		if (index >= pl->n_live)
			return -ENOENT;
		rec = pl->order[pl->live[index]];
	}
	*ret_key = rec->key;
	*ret_value = rec->value;
	return 0;
}

long kvp_pool_count(struct kvp_pools *p, unsigned pool)
{
	int r;

	r = check_pool(p, pool);
	if (r < 0)
		return r;
	r = pool_begin(p, &p->pools[pool], false);
	if (r < 0)
		return r;
	return (long)HASH_COUNT(p->pools[pool].table);
}

unsigned long kvp_pool_load_count(struct kvp_pools *p, unsigned pool)
{
	if (!p || pool >= KVP_POOL_COUNT)
		return 0;
	return p->pools[pool].loads;
}

/* ---- open / free ---- */

static int make_dir(const char *dir)
{
	if (mkdir(dir, 0755) < 0) {
		if (errno == EEXIST)
			return 0;
		return log_error_errno(-errno, "Failed to create \"%s\": %m", dir);
	}
	/* Not left to the umask. */
	if (chmod(dir, 0755) < 0)
		return log_error_errno(-errno, "Failed to set the mode of \"%s\": %m", dir);
	return 0;
}

void kvp_pools_free(struct kvp_pools *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		struct kvp_pool *pl = &p->pools[i];

		pool_clear(pl);
		free(pl->order);
		free(pl->live);
		pool_close_file(pl);
	}
	if (p->inotify_fd >= 0)
		close(p->inotify_fd);
	free(p->dir);
	free(p);
}

int kvp_pools_open(const struct kvp_pools_config *cfg, struct kvp_pools **ret)
{
	struct kvp_pools *p;
	int r;

	assert_return(cfg && ret, -EINVAL);
	assert_return(cfg->lock_timeout_ms >= 0, -EINVAL);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->max_records = cfg->max_records ? cfg->max_records : KVP_DEFAULT_MAX_RECORDS;
	p->lock_timeout_ms = cfg->lock_timeout_ms ? cfg->lock_timeout_ms : KVP_DEFAULT_LOCK_TIMEOUT_MS;
	p->read_only = cfg->read_only;
	p->inotify_fd = -1;
	p->watch = -1;
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		p->pools[i].fd = -1;
		p->pools[i].hash_seed = random_seed();
	}
	if (!cfg->dir) {
		*ret = p;
		return 0;
	}

	p->dir = strdup(cfg->dir);
	if (!p->dir) {
		r = -ENOMEM;
		goto fail;
	}
	if (!p->read_only) {
		r = make_dir(p->dir);
		if (r < 0)
			goto fail;
	}
	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		r = kvp_pool_path(p->dir, i, p->pools[i].path, sizeof(p->pools[i].path));
		if (r < 0) {
			log_error_errno(r, "Pool directory \"%s\": %m", p->dir);
			goto fail;
		}
	}

	/* Without inotify (e.g. no instances left) the stat signature still works. */
	p->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->inotify_fd < 0)
		log_debug_errno(-errno, "inotify unavailable, relying on stat: %m");
	else {
		p->watch = inotify_add_watch(p->inotify_fd, p->dir,
					     IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_TO |
						     IN_MOVED_FROM | IN_ONLYDIR);
		if (p->watch < 0)
			log_debug_errno(-errno, "Cannot watch \"%s\", relying on stat: %m", p->dir);
	}

	for (unsigned i = 0; i < KVP_POOL_COUNT; i++) {
		struct kvp_pool *pl = &p->pools[i];

		pl->stale = true;
		if (cfg->lazy) {
			struct stat st;

			/* Existing files are opened at their first operation; missing ones created now. */
			if (!p->read_only && stat(pl->path, &st) < 0 && errno == ENOENT) {
				r = pool_open_file(p, pl, true);
				if (r < 0)
					goto fail;
			}
			continue;
		}
		if (!p->read_only) {
			r = pool_open_file(p, pl, true);
			if (r < 0)
				goto fail;
		}
		r = pool_begin(p, pl, false);
		if (r == -ETIMEDOUT)
			continue; /* locked for now: loaded by the first operation */
		if (r < 0)
			goto fail;
	}
	*ret = p;
	return 0;
fail:
	kvp_pools_free(p);
	return r;
}
