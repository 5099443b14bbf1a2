/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-kvp: read and publish Hyper-V KVP items from guest scripts, through the
 * same pool files and locks as hv-kvpd (and the kernel's hv_kvp_daemon), so it
 * works whether a daemon runs or not.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvp-auto.h"
#include "kvp-pool.h"
#include "log.h"

/* Exit statuses (documented in --help and hv-kvp(1)). */
enum {
	EXIT_NO_KEY = 1,
	EXIT_USAGE = 2,
	EXIT_POOL = 3,
};

/* What the host can carry, in UTF-16 units without the NUL (256 and 1024 with it). */
#define HOST_KEY_UNITS 255
#define HOST_VALUE_UNITS 1023

static const char *arg_pool_dir = KVP_DEFAULT_POOL_DIR;
static bool arg_json;
static int arg_pool = KVP_POOL_GUEST;

static void help(void)
{
	printf("Usage: hv-kvp [OPTIONS] get KEY\n"
	       "       hv-kvp [OPTIONS] set KEY VALUE     (VALUE '-': read it from standard input)\n"
	       "       hv-kvp [OPTIONS] delete KEY\n"
	       "       hv-kvp [OPTIONS] list\n\n"
	       "Reads and writes the Hyper-V KVP pools the host exchanges with this guest.\n\n"
	       "      --pool POOL         external, guest, auto, auto-external, auto-internal,\n"
	       "                          or 0-4 (default guest); auto is read-only\n"
	       "      --pool-dir DIR      where the pool files are (default " KVP_DEFAULT_POOL_DIR ")\n"
	       "      --json              print get and list results as JSON\n"
	       "  -v, --verbose           also show what the pool store reports (damaged\n"
	       "                          records, lock waits)\n"
	       "  -h, --help              show this help\n"
	       "  -V, --version           show the version\n\n"
	       "list prints KEY=VALUE lines; keys may contain '=' and values newlines:\n"
	       "use --json when that matters.\n\n"
	       "Exit status: 0 success; 1 no such key (get, delete); 2 usage error (bad\n"
	       "option, pool, key or value); 3 the pool could not be read or written.\n\n"
	       "See hv-kvp(1).\n");
}

_printf_(1, 2) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hv-kvp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'hv-kvp --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Length of the valid UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	/* The second byte's range excludes overlongs, surrogates and values above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* UTF-16 units of valid UTF-8 text: 2 for a character outside the BMP, else 1. */
static size_t utf16_units(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t units = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(u + i, len - i);

		if (n == 0)
			n = 1;
		units += n == 4 ? 2 : 1;
		i += n;
	}
	return units;
}

/* A JSON string: escapes as RFC 8259 requires; bytes that are not UTF-8 become U+FFFD. */
static void json_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);

	putchar('"');
	for (size_t i = 0; i < len;) {
		unsigned char c = u[i];
		size_t n = utf8_seq(u + i, len - i);

		if (n == 0) {
			fputs("\\ufffd", stdout);
			i++;
			continue;
		}
		if (n > 1) {
			fwrite(u + i, 1, n, stdout);
			i += n;
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\b':
			fputs("\\b", stdout);
			break;
		case '\f':
			fputs("\\f", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (c < 0x20)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
		i++;
	}
	putchar('"');
}

static void print_get(const char *key, const char *value)
{
	if (!arg_json) {
		printf("%s\n", value);
		return;
	}
	printf("{\"pool\":\"%s\",\"key\":", kvp_pool_name((unsigned)arg_pool));
	json_string(key);
	fputs(",\"value\":", stdout);
	json_string(value);
	fputs("}\n", stdout);
}

/* One item of a list; n is its position (0 first). */
static void print_item(size_t n, const char *key, const char *value)
{
	if (!arg_json) {
		printf("%s=%s\n", key, value);
		return;
	}
	fputs(n ? ",{\"key\":" : "{\"key\":", stdout);
	json_string(key);
	fputs(",\"value\":", stdout);
	json_string(value);
	putchar('}');
}

static int check_key(const char *key, bool warn)
{
	size_t len = strlen(key);

	if (len == 0 || len > KVP_KEY_MAX)
		return usage_error("invalid key: it must be 1 to %d bytes long (this one has %zu)",
				   KVP_KEY_MAX, len);
	if (!kvp_utf8_valid(key, len))
		return usage_error("invalid key '%s': not valid UTF-8", key);
	if (warn && utf16_units(key, len) > HOST_KEY_UNITS)
		fprintf(stderr, "hv-kvp: warning: the key is %zu UTF-16 units long; the host reads at "
			"most %d of them\n", utf16_units(key, len), HOST_KEY_UNITS);
	return 0;
}

static int check_value(const char *value)
{
	size_t len = strlen(value);

	if (len > KVP_VALUE_MAX)
		return usage_error("invalid value: it must be at most %d bytes long (this one has %zu)",
				   KVP_VALUE_MAX, len);
	if (!kvp_utf8_valid(value, len))
		return usage_error("invalid value: not valid UTF-8");
	if (utf16_units(value, len) > HOST_VALUE_UNITS)
		fprintf(stderr, "hv-kvp: warning: the value is %zu UTF-16 units long; the host reads at "
			"most %d of them\n", utf16_units(value, len), HOST_VALUE_UNITS);
	return 0;
}

/*
 * VALUE "-": standard input, at most KVP_VALUE_MAX bytes once one trailing
 * newline is removed. Returns 0, or an exit status.
 */
static int read_value_stdin(char *buf, size_t size)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(STDIN_FILENO, buf + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "hv-kvp: cannot read the value from standard input: %s\n",
				strerror(errno));
			return EXIT_USAGE;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > KVP_VALUE_MAX)
		return usage_error("invalid value: standard input has more than %d bytes",
				   KVP_VALUE_MAX);
	if (memchr(buf, '\0', n))
		return usage_error("invalid value: standard input contains a NUL byte");
	buf[n] = '\0';
	return 0;
}

static int lock_timeout_ms(void)
{
	const char *e = secure_getenv("HV_KVP_LOCK_TIMEOUT_MS");
	char *end;
	long v;

	if (!e || !*e)
		return 0;
	errno = 0;
	v = strtol(e, &end, 10);
	if (errno || *end || v < 1 || v > 3600000) {
		fprintf(stderr, "hv-kvp: ignoring HV_KVP_LOCK_TIMEOUT_MS='%s' (1 to 3600000)\n", e);
		return 0;
	}
	return (int)v;
}

static unsigned max_records(void)
{
	const char *e = secure_getenv("HV_KVP_MAX_RECORDS");
	char *end;
	unsigned long v;

	if (!e || !*e)
		return 0;
	errno = 0;
	v = strtoul(e, &end, 10);
	if (errno || *end || v < 1 || v > KVP_DEFAULT_MAX_RECORDS) {
		fprintf(stderr, "hv-kvp: ignoring HV_KVP_MAX_RECORDS='%s' (1 to %u)\n", e,
			KVP_DEFAULT_MAX_RECORDS);
		return 0;
	}
	return (unsigned)v;
}

/* The one-line error for a pool that could not be read or written; returns EXIT_POOL. */
static int pool_error(int r, bool writing, unsigned records_cap, int timeout_ms, struct kvp_pools *p)
{
	char path[4096];

	if (kvp_pool_path(arg_pool_dir, (unsigned)arg_pool, path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "%s", arg_pool_dir);
	if (r == -ETIMEDOUT)
		fprintf(stderr, "hv-kvp: cannot %s %s: another process held its lock for more than "
			"%d ms\n", writing ? "write" : "read", path,
			timeout_ms ? timeout_ms : KVP_DEFAULT_LOCK_TIMEOUT_MS);
	else if (r == -ENOSPC && p && kvp_pool_count(p, (unsigned)arg_pool) >= (long)records_cap)
		fprintf(stderr, "hv-kvp: cannot write %s: the pool is full (%u records)\n", path,
			records_cap);
	else
		fprintf(stderr, "hv-kvp: cannot %s %s: %s\n", writing ? "write" : "read", path,
			strerror(-r));
	return EXIT_POOL;
}

/* get and list on the AUTO pool: the values hv-kvpd generates for the host. */
static int run_auto(const char *cmd, const char *key)
{
	struct kvp_auto_config ac = { 0 };
	char value[KVP_POOL_VALUE_SIZE];
	size_t n = 0;
	int i;

	if (strcmp(cmd, "get") == 0) {
		i = kvp_auto_find(key);
		if (i < 0 || kvp_auto_value(&ac, (unsigned)i, value, sizeof(value)) < 0) {
			fprintf(stderr, "hv-kvp: no key '%s' in pool auto\n", key);
			return EXIT_NO_KEY;
		}
		print_get(key, value);
		return 0;
	}
	if (arg_json)
		putchar('[');
	for (unsigned idx = 0; idx < KVP_AUTO_COUNT; idx++) {
		const char *k = kvp_auto_key(idx);

		if (!k || kvp_auto_value(&ac, idx, value, sizeof(value)) < 0)
			continue;
		print_item(n++, k, value);
	}
	if (arg_json)
		fputs("]\n", stdout);
	return 0;
}

static int run_command(const char *cmd, char **args, int n_args)
{
	static const struct {
		const char *name;
		int n_args;
		bool writes;
	} commands[] = {
		{ "get", 1, false },
		{ "set", 2, true },
		{ "delete", 1, true },
		{ "list", 0, false },
	};
	struct kvp_pools_config cfg = {
		.dir = arg_pool_dir,
		.lock_timeout_ms = lock_timeout_ms(),
		.max_records = max_records(),
	};
	unsigned cap = cfg.max_records ? cfg.max_records : KVP_DEFAULT_MAX_RECORDS;
	char stdin_value[KVP_VALUE_MAX + 2];
	struct kvp_pools *p = NULL;
	const char *key = NULL, *value = NULL;
	size_t c;
	int r, status = 0;

	for (c = 0; c < ELEMENTSOF(commands); c++)
		if (strcmp(cmd, commands[c].name) == 0)
			break;
	if (c == ELEMENTSOF(commands))
		return usage_error("unknown command '%s' (get, set, delete, list)", cmd);
	if (n_args != commands[c].n_args)
		return usage_error(n_args < commands[c].n_args ? "too few arguments for %s"
							       : "too many arguments for %s", cmd);
	if (n_args >= 1) {
		key = args[0];
		r = check_key(key, n_args == 2);
		if (r)
			return r;
	}
	if (n_args >= 2) {
		value = args[1];
		if (strcmp(value, "-") == 0) {
			r = read_value_stdin(stdin_value, sizeof(stdin_value));
			if (r)
				return r;
			value = stdin_value;
		}
		r = check_value(value);
		if (r)
			return r;
	}

	if (arg_pool == KVP_POOL_AUTO) {
		if (commands[c].writes)
			return usage_error("%s: the auto pool is generated by hv-kvpd and cannot be "
					   "changed", cmd);
		return run_auto(cmd, key);
	}

	cfg.read_only = !commands[c].writes;
	cfg.lazy = true; /* only the pool this command uses is read */
	if (commands[c].writes)
		umask(022); /* the files and directory get the daemon's modes */
	r = kvp_pools_open(&cfg, &p);
	if (r == -ENOENT && cfg.read_only) {
		/* No pool directory or file yet: nothing was ever stored. */
		if (strcmp(cmd, "get") == 0) {
			fprintf(stderr, "hv-kvp: no key '%s' in pool %s\n", key,
				kvp_pool_name((unsigned)arg_pool));
			return EXIT_NO_KEY;
		}
		if (arg_json)
			fputs("[]\n", stdout);
		return 0;
	}
	if (r < 0)
		return pool_error(r, commands[c].writes, cap, cfg.lock_timeout_ms, NULL);

	if (strcmp(cmd, "get") == 0) {
		r = kvp_pool_get(p, (unsigned)arg_pool, key, &value);
		if (r == 0)
			print_get(key, value);
	} else if (strcmp(cmd, "set") == 0) {
		r = kvp_pool_set(p, (unsigned)arg_pool, key, value);
	} else if (strcmp(cmd, "delete") == 0) {
		r = kvp_pool_delete(p, (unsigned)arg_pool, key);
	} else {
		long count = kvp_pool_count(p, (unsigned)arg_pool);
		size_t n = 0;

		r = count < 0 ? (int)count : 0;
		if (r == 0 && arg_json)
			putchar('[');
		for (long i = 0; r == 0 && i < count; i++) {
			const char *k, *v;

			/* -ENOENT: the pool shrank meanwhile. */
			if (kvp_pool_enumerate(p, (unsigned)arg_pool, (uint32_t)i, &k, &v) < 0)
				break;
			print_item(n++, k, v);
		}
		if (r == 0 && arg_json)
			fputs("]\n", stdout);
	}

	if (r == -ENOENT) {
		fprintf(stderr, "hv-kvp: no key '%s' in pool %s\n", key, kvp_pool_name((unsigned)arg_pool));
		status = EXIT_NO_KEY;
	} else if (r == -EINVAL) {
		status = usage_error("%s: invalid key or value", cmd);
	} else if (r < 0) {
		status = pool_error(r, commands[c].writes, cap, cfg.lock_timeout_ms, p);
	}
	kvp_pools_free(p);
	return status;
}

static int run(int argc, char **argv)
{
	enum { OPT_POOL = 0x100, OPT_POOL_DIR, OPT_JSON };
	static const struct option options[] = {
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "pool-dir", required_argument, NULL, OPT_POOL_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int opt;

	/*
	 * The pool store logs what it finds (damaged records, lock waits) for the
	 * daemon's journal; a command prints one line per error of its own, so
	 * those are shown only with --verbose.
	 */
	log_setup("hv-kvp");
	log_set_max_level(LOG_CRIT);
	/* getopt's own messages name the program as the user knows it. */
	if (argc > 0)
		argv[0] = (char *)"hv-kvp";
	while ((opt = getopt_long(argc, argv, "vhV", options, NULL)) >= 0) {
		switch (opt) {
		case OPT_POOL:
			arg_pool = kvp_pool_from_string(optarg);
			if (arg_pool < 0)
				return usage_error("invalid pool '%s' (external, guest, auto, "
						   "auto-external, auto-internal, or 0-4)", optarg);
			break;
		case OPT_POOL_DIR:
			if (!*optarg)
				return usage_error("invalid --pool-dir '%s'", optarg);
			arg_pool_dir = optarg;
			break;
		case OPT_JSON:
			arg_json = true;
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("hv-kvp %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs("Try 'hv-kvp --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("missing command (get, set, delete, list)");
	return run_command(argv[optind], argv + optind + 1, argc - optind - 1);
}

int main(int argc, char **argv)
{
	int status = run(argc, argv);

	/* A full disk or a closed pipe on standard output is an error too. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (status == 0) {
			fprintf(stderr, "hv-kvp: cannot write to standard output: %s\n", strerror(errno));
			status = EXIT_POOL;
		}
	}
	return status;
}
