/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hv-hostsim kvp: the host side of the Key-Value Pair Exchange IC, as Hyper-V
 * uses it (reference kvp-vss.md §1-3): GET, SET, DELETE and ENUMERATE on the
 * five pools, GET_IP_INFO and SET_IP_INFO. Strings are typed in UTF-8 and sent
 * as UTF-16LE with their sizes in bytes counting the NUL, as the host computes
 * them; raw overrides of the size and type fields test the guest's limits.
 *
 * Every request is checked before the guest starts (batch reads all of its
 * standard input first). The answers are checked as a host would: same length,
 * a response, the IC transaction id echoed; then decoded, printed as text or,
 * with --json, as one JSON document per request.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "engine.h"
#include "kvp-wire.h"
#include "macro.h"

#define KVP_MAX_MSG_LEN (VMBUS_IC_HDR_LEN + KVP_MSG_MAX_LEN)
#define BATCH_MAX_LINE 65536
#define BATCH_MAX_REQUESTS 100000

enum req_kind { REQ_GET, REQ_SET, REQ_DELETE, REQ_ENUMERATE, REQ_IP_INFO, REQ_SET_IP, REQ_SLEEP };

static const struct {
	const char *name;
	uint8_t op;
} kinds[] = {
	[REQ_GET] = { "get", KVP_OP_GET },
	[REQ_SET] = { "set", KVP_OP_SET },
	[REQ_DELETE] = { "delete", KVP_OP_DELETE },
	[REQ_ENUMERATE] = { "enumerate", KVP_OP_ENUMERATE },
	[REQ_IP_INFO] = { "ip-info", KVP_OP_GET_IP_INFO },
	[REQ_SET_IP] = { "set-ip", KVP_OP_SET_IP_INFO },
	[REQ_SLEEP] = { "sleep", 0 }, /* batch only: no message */
};

struct kvp_req {
	enum req_kind kind;
	uint8_t pool;
	int type;              /* set: KVP_REG_SZ, _U32, _U64: how VALUE is encoded */
	int64_t key_size;      /* raw overrides, -1: computed */
	int64_t value_size;
	int64_t value_type;
	bool has_index;
	uint32_t index;
	bool short_msg;        /* only the op's own structure, not the whole hv_kvp_msg */
	uint8_t family;
	bool dhcp;
	const char *key, *value; /* UTF-8; key is the MAC or GUID for the IP ops */
	const char *ip, *subnet, *gateway, *dns;
	uint64_t number;       /* set --type u32/u64: VALUE */
	double seconds;        /* sleep */
};

static struct kvp_req *reqs;
static size_t n_reqs;
static bool batch, keep_going;
static char **batch_lines; /* owned: the requests point into them */
static size_t n_batch_lines;

void kvp_help(void)
{
	printf("kvp SUBCOMMAND (implies -s kvp; P is external, guest, auto, auto-external,\n"
	       "auto-internal or 0-255, default guest):\n"
	       "  get [--pool P] KEY                 print the value\n"
	       "  set [--pool P] [--type sz|u32|u64] KEY VALUE\n"
	       "  delete [--pool P] KEY\n"
	       "  enumerate [--pool P] [--index N]   every record (walk 0, 1, ... until\n"
	       "                                     HV_S_CONT), or the one at index N\n"
	       "  ip-info [--family ipv4|ipv6|both] MAC\n"
	       "  set-ip [--dhcp] [--family F] [--ip LIST] [--subnet LIST] [--gateway LIST]\n"
	       "         [--dns LIST] GUID           LISTs are ';'-separated\n"
	       "  batch [--keep-going]               the lines of standard input, each a\n"
	       "                                     subcommand or \"sleep SECONDS\", in one\n"
	       "                                     session\n"
	       "  raw fields, for testing the guest: --key-size N (get, set, delete),\n"
	       "  --value-size N, --value-type N (get, set); --short (any): send only the\n"
	       "  operation's own structure, not the whole 7432-byte hv_kvp_msg\n");
}

const char *kvp_op_text(unsigned op, char *buf, size_t size)
{
	if (kvp_op_name(op))
		return kvp_op_name(op);
	snprintf(buf, size, "operation %u", op);
	return buf;
}

int kvp_encode(const char *s, uint8_t *field, size_t field_size, bool allow_full, uint32_t *ret_size)
{
	uint8_t tmp[KVP_IP_ADDR_SIZE + 4];
	size_t bytes;
	int n;

	if (field_size + 4 > sizeof(tmp))
		return -EINVAL;
	n = vmbus_utf8_to_utf16(s, strlen(s), tmp, field_size + 4);
	if (n < 0)
		return n;
	bytes = 2 * (size_t)n;
	/* The whole field without its NUL only where the size field says so. */
	if (bytes > field_size || (bytes == field_size && !allow_full))
		return -ENAMETOOLONG;
	memcpy(field, tmp, bytes + 2 <= field_size ? bytes + 2 : field_size);
	if (ret_size)
		*ret_size = (uint32_t)bytes + 2;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Command line                                                              */
/* ------------------------------------------------------------------------ */

static int parse_number(const char *opt, const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (s[0] >= '0' && s[0] <= '9') {
		v = strtoull(s, &end, 10);
		if (!errno && !*end && v <= max) {
			*ret = v;
			return 0;
		}
	}
	fprintf(stderr, "hv-hostsim: kvp: invalid %s '%s' (0 to %" PRIu64 ")\n", opt, s, max);
	return -EINVAL;
}

static int parse_pool(const char *s, uint8_t *ret)
{
	static const char *const names[] = { "external", "guest", "auto", "auto-external",
					     "auto-internal" };
	uint64_t v;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (uint8_t)i;
			return 0;
		}
	if (s[0] < '0' || s[0] > '9') {
		fprintf(stderr, "hv-hostsim: kvp: unknown pool '%s' (external, guest, auto, "
			"auto-external, auto-internal or 0-255)\n", s);
		return -EINVAL;
	}
	if (parse_number("--pool", s, 255, &v) < 0)
		return -EINVAL;
	*ret = (uint8_t)v;
	return 0;
}

static int parse_family(const char *s, uint8_t *ret)
{
	if (strcmp(s, "ipv4") == 0)
		*ret = KVP_ADDR_FAMILY_IPV4;
	else if (strcmp(s, "ipv6") == 0)
		*ret = KVP_ADDR_FAMILY_IPV6;
	else if (strcmp(s, "both") == 0)
		*ret = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6;
	else {
		fprintf(stderr, "hv-hostsim: kvp: invalid --family '%s' (ipv4, ipv6, both)\n", s);
		return -EINVAL;
	}
	return 0;
}

/* Check that s fits field as UTF-16 (see kvp_encode). */
static int check_field(const char *cmd, const char *what, const char *s, size_t field_size,
		       bool allow_full)
{
	uint8_t field[KVP_IP_ADDR_SIZE];
	int r = kvp_encode(s, field, field_size, allow_full, NULL);

	if (r == -ENAMETOOLONG)
		fprintf(stderr, "hv-hostsim: kvp %s: %s does not fit in %zu UTF-16 units\n", cmd, what,
			allow_full ? field_size / 2 : field_size / 2 - 1);
	else if (r < 0)
		fprintf(stderr, "hv-hostsim: kvp %s: %s is not valid UTF-8\n", cmd, what);
	return r;
}

enum {
	OPT_POOL = 0x100, OPT_TYPE, OPT_KEY_SIZE, OPT_VALUE_SIZE, OPT_VALUE_TYPE, OPT_INDEX,
	OPT_SHORT, OPT_FAMILY, OPT_DHCP, OPT_IP, OPT_SUBNET, OPT_GATEWAY, OPT_DNS,
};

/* Which subcommands take an option: a mask of 1 << REQ_*. */
static unsigned option_kinds(int opt)
{
	switch (opt) {
	case OPT_POOL:
		return 1u << REQ_GET | 1u << REQ_SET | 1u << REQ_DELETE | 1u << REQ_ENUMERATE;
	case OPT_TYPE:
		return 1u << REQ_SET;
	case OPT_KEY_SIZE:
		return 1u << REQ_GET | 1u << REQ_SET | 1u << REQ_DELETE;
	case OPT_VALUE_SIZE:
	case OPT_VALUE_TYPE:
		return 1u << REQ_GET | 1u << REQ_SET;
	case OPT_INDEX:
		return 1u << REQ_ENUMERATE;
	case OPT_SHORT:
		return ~0u;
	case OPT_FAMILY:
		return 1u << REQ_IP_INFO | 1u << REQ_SET_IP;
	default:
		return 1u << REQ_SET_IP;
	}
}

/* One subcommand: argv[0] is its name. Returns 0 or -EINVAL (reported). */
static int parse_request(int argc, char **argv, struct kvp_req *q)
{
	static const struct option options[] = {
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "key-size", required_argument, NULL, OPT_KEY_SIZE },
		{ "value-size", required_argument, NULL, OPT_VALUE_SIZE },
		{ "value-type", required_argument, NULL, OPT_VALUE_TYPE },
		{ "index", required_argument, NULL, OPT_INDEX },
		{ "short", no_argument, NULL, OPT_SHORT },
		{ "family", required_argument, NULL, OPT_FAMILY },
		{ "dhcp", no_argument, NULL, OPT_DHCP },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "subnet", required_argument, NULL, OPT_SUBNET },
		{ "gateway", required_argument, NULL, OPT_GATEWAY },
		{ "dns", required_argument, NULL, OPT_DNS },
		{}
	};
	static const int n_args[] = {
		[REQ_GET] = 1, [REQ_SET] = 2, [REQ_DELETE] = 1, [REQ_ENUMERATE] = 0,
		[REQ_IP_INFO] = 1, [REQ_SET_IP] = 1,
	};
	const char *cmd = argv[0];
	bool family_given = false;
	size_t k;
	uint64_t v;
	int opt;

	for (k = 0; k < ELEMENTSOF(kinds) && strcmp(kinds[k].name, cmd) != 0; k++)
		;
	if (k == REQ_SLEEP && batch) {
		char *end;

		*q = (struct kvp_req){ .kind = REQ_SLEEP };
		errno = 0;
		q->seconds = argc == 2 && argv[1][0] >= '0' && argv[1][0] <= '9' ? strtod(argv[1], &end) : -1;
		if (argc != 2 || errno || *end || !(q->seconds >= 0 && q->seconds <= 3600)) {
			fprintf(stderr, "hv-hostsim: kvp batch: sleep needs SECONDS (0 to 3600)\n");
			return -EINVAL;
		}
		return 0;
	}
	if (k >= REQ_SLEEP) {
		fprintf(stderr, "hv-hostsim: kvp: unknown subcommand '%s' (get, set, delete, enumerate, "
			"ip-info, set-ip%s)\n", cmd, batch ? "" : ", batch");
		return -EINVAL;
	}
	*q = (struct kvp_req){ .kind = (enum req_kind)k, .pool = KVP_POOL_GUEST, .type = KVP_REG_SZ,
			       .key_size = -1, .value_size = -1, .value_type = -1,
			       .family = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6 };
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		if (opt == '?' || opt == ':') {
			fprintf(stderr, "hv-hostsim: kvp %s: unknown option or missing value: '%s'\n", cmd,
				argv[optind - 1]);
			return -EINVAL;
		}
		if (!(option_kinds(opt) & 1u << q->kind)) {
			fprintf(stderr, "hv-hostsim: kvp %s: no option '%s' for %s\n", cmd,
				argv[optind - 1], cmd);
			return -EINVAL;
		}
		switch (opt) {
		case OPT_POOL:
			if (parse_pool(optarg, &q->pool) < 0)
				return -EINVAL;
			break;
		case OPT_TYPE:
			if (strcmp(optarg, "sz") == 0)
				q->type = KVP_REG_SZ;
			else if (strcmp(optarg, "u32") == 0)
				q->type = KVP_REG_U32;
			else if (strcmp(optarg, "u64") == 0)
				q->type = KVP_REG_U64;
			else {
				fprintf(stderr, "hv-hostsim: kvp set: invalid --type '%s' (sz, u32, u64)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_KEY_SIZE:
		case OPT_VALUE_SIZE:
		case OPT_VALUE_TYPE:
			if (parse_number(argv[optind - 1], optarg, UINT32_MAX, &v) < 0)
				return -EINVAL;
			*(opt == OPT_KEY_SIZE ? &q->key_size : opt == OPT_VALUE_SIZE ? &q->value_size
										 : &q->value_type) = (int64_t)v;
			break;
		case OPT_INDEX:
			if (parse_number("--index", optarg, UINT32_MAX, &v) < 0)
				return -EINVAL;
			q->has_index = true;
			q->index = (uint32_t)v;
			break;
		case OPT_SHORT:
			q->short_msg = true;
			break;
		case OPT_FAMILY:
			if (parse_family(optarg, &q->family) < 0)
				return -EINVAL;
			family_given = true;
			break;
		case OPT_DHCP:
			q->dhcp = true;
			break;
		case OPT_IP:
			q->ip = optarg;
			break;
		case OPT_SUBNET:
			q->subnet = optarg;
			break;
		case OPT_GATEWAY:
			q->gateway = optarg;
			break;
		case OPT_DNS:
			q->dns = optarg;
			break;
		}
	}
	if (argc - optind != n_args[q->kind]) {
		fprintf(stderr, "hv-hostsim: kvp %s needs %s\n", cmd,
			q->kind == REQ_SET ? "KEY and VALUE" : q->kind == REQ_ENUMERATE ? "no arguments"
			: q->kind == REQ_IP_INFO ? "MAC" : q->kind == REQ_SET_IP ? "GUID" : "KEY");
		return -EINVAL;
	}
	q->key = n_args[q->kind] ? argv[optind] : NULL;
	q->value = q->kind == REQ_SET ? argv[optind + 1] : NULL;

	switch (q->kind) {
	case REQ_SET:
		if (q->type != KVP_REG_SZ) {
			if (parse_number("VALUE", q->value, q->type == KVP_REG_U32 ? UINT32_MAX : UINT64_MAX,
					 &q->number) < 0)
				return -EINVAL;
		} else if (check_field(cmd, "VALUE", q->value, KVP_WIRE_VALUE_SIZE, true) < 0) {
			return -EINVAL;
		}
		/* fall through */
	case REQ_GET:
	case REQ_DELETE:
		return check_field(cmd, "KEY", q->key, KVP_WIRE_KEY_SIZE, true) < 0 ? -EINVAL : 0;
	case REQ_ENUMERATE:
	case REQ_SLEEP:
		return 0;
	case REQ_IP_INFO:
		return check_field(cmd, "MAC", q->key, KVP_IP_ADAPTER_ID_SIZE, false) < 0 ? -EINVAL : 0;
	case REQ_SET_IP:
		if (!family_given)
			q->family = KVP_ADDR_FAMILY_IPV4;
		if (check_field(cmd, "GUID", q->key, KVP_IP_ADAPTER_ID_SIZE, false) < 0 ||
		    (q->ip && check_field(cmd, "--ip", q->ip, KVP_IP_ADDR_SIZE, false) < 0) ||
		    (q->subnet && check_field(cmd, "--subnet", q->subnet, KVP_IP_SUB_NET_SIZE, false) < 0) ||
		    (q->gateway && check_field(cmd, "--gateway", q->gateway, KVP_IP_GATE_WAY_SIZE, false) < 0) ||
		    (q->dns && check_field(cmd, "--dns", q->dns, KVP_IP_DNS_ADDR_SIZE, false) < 0))
			return -EINVAL;
		return 0;
	}
	return 0;
}

static int add_request(int argc, char **argv)
{
	struct kvp_req *n;

	if (n_reqs >= BATCH_MAX_REQUESTS) {
		fprintf(stderr, "hv-hostsim: kvp batch: more than %d requests\n", BATCH_MAX_REQUESTS);
		return -EINVAL;
	}
	n = realloc(reqs, (n_reqs + 1) * sizeof(*reqs));
	if (!n) {
		fprintf(stderr, "hv-hostsim: out of memory\n");
		return -ENOMEM;
	}
	reqs = n;
	if (parse_request(argc, argv, &reqs[n_reqs]) < 0)
		return -EINVAL;
	n_reqs++;
	return 0;
}

/* Split a line at whitespace into argv (the line is kept: the request points into it). */
static int batch_line(char *line, size_t lineno)
{
	char *argv[64], *save = NULL, *w;
	int argc = 0;

	for (w = strtok_r(line, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == (int)ELEMENTSOF(argv) - 1) {
			fprintf(stderr, "hv-hostsim: kvp batch: line %zu: too many words\n", lineno);
			return -EINVAL;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (argc == 0 || argv[0][0] == '#')
		return 0;
	if (add_request(argc, argv) < 0) {
		fprintf(stderr, "hv-hostsim: kvp batch: in line %zu of standard input\n", lineno);
		return -EINVAL;
	}
	return 0;
}

static int read_batch(void)
{
	size_t lineno = 0;

	for (;;) {
		char *line, **n;
		int r = host_batch_read_line("kvp batch", ++lineno, BATCH_MAX_LINE, &line);

		if (r < 0)
			return r;
		if (r == 0)
			break;
		n = realloc(batch_lines, (n_batch_lines + 1) * sizeof(*batch_lines));
		if (!n) {
			free(line);
			fprintf(stderr, "hv-hostsim: out of memory\n");
			return -ENOMEM;
		}
		batch_lines = n;
		batch_lines[n_batch_lines++] = line;
		if (batch_line(line, lineno) < 0)
			return -EINVAL;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "hv-hostsim: kvp batch: cannot read standard input: %m\n");
		return -EIO;
	}
	return 0;
}

int kvp_parse(int argc, char **argv)
{
	if (host_check_packet_fits(KVP_MAX_MSG_LEN, "kvp") < 0)
		return -EINVAL;
	if (argc < 2) {
		fprintf(stderr, "hv-hostsim: kvp needs a subcommand (get, set, delete, enumerate, "
			"ip-info, set-ip, batch)\n");
		return -EINVAL;
	}
	if (strcmp(argv[1], "batch") != 0)
		return add_request(argc - 1, argv + 1);
	batch = true;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--keep-going") != 0) {
			fprintf(stderr, "hv-hostsim: kvp batch: unknown argument '%s' (--keep-going)\n",
				argv[i]);
			return -EINVAL;
		}
		keep_going = true;
	}
	return read_batch();
}

void kvp_finish(void)
{
	for (size_t i = 0; i < n_batch_lines; i++)
		free(batch_lines[i]);
	free(batch_lines);
	free(reqs);
	batch_lines = NULL;
	reqs = NULL;
	n_batch_lines = n_reqs = 0;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

struct session {
	struct hostsim *h;
	uint32_t fw, svc;
	uint8_t txid; /* the IC transaction id of the message in msg */
	uint8_t msg[KVP_MAX_MSG_LEN];
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t size_field(int64_t override, uint32_t computed)
{
	return override >= 0 ? (uint32_t)override : computed;
}

/* Build q (index: ENUMERATE's) into s->msg. Returns the message length. */
static size_t build(struct session *s, const struct kvp_req *q, uint32_t index)
{
	static const size_t own_len[] = {
		[REQ_GET] = KVP_GETSET_LEN, [REQ_SET] = KVP_GETSET_LEN, [REQ_DELETE] = KVP_DEL_LEN,
		[REQ_ENUMERATE] = KVP_ENUM_LEN, [REQ_IP_INFO] = KVP_IP_LEN, [REQ_SET_IP] = KVP_IP_LEN,
	};
	size_t body_len = q->short_msg || q->kind >= REQ_IP_INFO ? own_len[q->kind] : KVP_MSG_MAX_LEN;
	uint8_t *b = s->msg + VMBUS_IC_HDR_LEN, *d = b + KVP_GETSET_OFF_DATA;
	uint32_t key_size = 0, value_size = 0;

	memset(s->msg, 0, VMBUS_IC_HDR_LEN + body_len);
	s->txid = s->h->next_ic_txid++;
	vmbus_ic_build(s->msg, VMBUS_IC_HDR_LEN + body_len, VMBUS_IC_MSGTYPE_KVPEXCHANGE, s->fw, s->svc,
		       (uint16_t)body_len, s->txid);
	b[KVP_OFF_OPERATION] = kinds[q->kind].op;
	b[KVP_OFF_POOL] = q->pool;
	/* Every string was checked by parse_request(): encoding cannot fail here. */
	switch (q->kind) {
	case REQ_GET:
	case REQ_SET:
		kvp_encode(q->key, d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, true, &key_size);
		if (q->kind == REQ_SET && q->type == KVP_REG_SZ) {
			kvp_encode(q->value, d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, true, &value_size);
		} else if (q->kind == REQ_SET) {
			value_size = q->type == KVP_REG_U32 ? 4 : 8;
			if (q->type == KVP_REG_U32)
				put32(d + KVP_VAL_OFF_VALUE, (uint32_t)q->number);
			else
				memcpy(d + KVP_VAL_OFF_VALUE, &q->number, sizeof(q->number));
		}
		put32(d + KVP_VAL_OFF_TYPE, (uint32_t)(q->value_type >= 0 ? q->value_type : q->type));
		put32(d + KVP_VAL_OFF_KEY_SIZE, size_field(q->key_size, key_size));
		put32(d + KVP_VAL_OFF_VALUE_SIZE, size_field(q->value_size, value_size));
		break;
	case REQ_DELETE:
		kvp_encode(q->key, b + KVP_DEL_OFF_KEY, KVP_WIRE_KEY_SIZE, true, &key_size);
		put32(b + KVP_DEL_OFF_KEY_SIZE, size_field(q->key_size, key_size));
		break;
	case REQ_ENUMERATE:
		put32(b + KVP_ENUM_OFF_INDEX, index);
		break;
	case REQ_SET_IP:
		b[KVP_IP_OFF_DHCP_ENABLED] = q->dhcp;
		if (q->ip)
			kvp_encode(q->ip, b + KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE, false, NULL);
		if (q->subnet)
			kvp_encode(q->subnet, b + KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE, false, NULL);
		if (q->gateway)
			kvp_encode(q->gateway, b + KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE, false, NULL);
		if (q->dns)
			kvp_encode(q->dns, b + KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE, false, NULL);
		/* fall through */
	case REQ_IP_INFO:
		kvp_encode(q->key, b + KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE, false, NULL);
		b[KVP_IP_OFF_ADDR_FAMILY] = q->family;
		break;
	case REQ_SLEEP:
		break;
	}
	return VMBUS_IC_HDR_LEN + body_len;
}

int kvp_check_reply(const uint8_t *resp, size_t n, size_t sent, uint8_t txid, uint32_t *ret_status)
{
	return host_check_reply(resp, n, sent, VMBUS_IC_MSGTYPE_KVPEXCHANGE, txid, ret_status);
}

/* Send s->msg (len) and check the answer. Returns 0 with the body, or an exit status. */
static int exchange(struct session *s, size_t len, const uint8_t **ret_body, uint32_t *ret_status)
{
	const uint8_t *resp;
	size_t n;
	int r;

	r = hostsim_transact(s->h, s->msg, len, &resp, &n);
	if (r < 0)
		return host_no_answer(r);
	if (kvp_check_reply(resp, n, len, s->txid, ret_status) < 0)
		return HOSTSIM_EXIT_NOANSWER;
	*ret_body = resp + VMBUS_IC_HDR_LEN;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */
/* ------------------------------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A ';'-separated list as a JSON array, empty entries dropped. */
static void json_list(FILE *f, const char *s)
{
	const char *sep = "";

	fputc('[', f);
	while (*s) {
		size_t len = strcspn(s, ";");

		if (len) {
			char *item = strndup(s, len);

			fputs(sep, f);
			json_string(f, item ? item : "");
			free(item);
			sep = ",";
		}
		s += len;
		if (*s)
			s++;
	}
	fputc(']', f);
}

int kvp_decode_value(uint32_t type, uint32_t size, const uint8_t *field, char *buf, size_t bufsize)
{
	if (type == KVP_REG_U32 && size == 4) {
		snprintf(buf, bufsize, "%" PRIu32, get32(field));
		return 0;
	}
	if (type == KVP_REG_U64 && size == 8) {
		uint64_t v;

		memcpy(&v, field, sizeof(v));
		snprintf(buf, bufsize, "%" PRIu64, v);
		return 0;
	}
	if (size > KVP_WIRE_VALUE_SIZE)
		return -EMSGSIZE;
	if (size == 0) {
		buf[0] = '\0';
		return 0;
	}
	return vmbus_utf16_to_utf8(field, size, buf, bufsize) < 0 ? -EILSEQ : 0;
}

int kvp_decode_key(uint32_t size, const uint8_t *field, char *buf, size_t bufsize)
{
	if (size > KVP_WIRE_KEY_SIZE)
		return -EMSGSIZE;
	if (size == 0) {
		buf[0] = '\0';
		return 0;
	}
	return vmbus_utf16_to_utf8(field, size, buf, bufsize) < 0 ? -EILSEQ : 0;
}

static int bad_reply(const char *cmd, const char *what)
{
	fprintf(stderr, "hv-hostsim: kvp %s: protocol error: %s\n", cmd, what);
	return HOSTSIM_EXIT_NOANSWER;
}

static void print_status(const struct kvp_req *q, uint32_t status)
{
	FILE *j = host_json();

	if (!j)
		return;
	fprintf(j, "{\"status\":\"%s\"}\n", host_status_name(status));
}

/* An error status: say so; returns the exit status. */
static int refused(const struct kvp_req *q, uint32_t status)
{
	const char *cmd = kinds[q->kind].name;
	const char *why = NULL;

	if (status == VMBUS_HV_S_CONT) {
		if (q->kind == REQ_GET || q->kind == REQ_DELETE)
			why = "no such key";
		else if (q->kind == REQ_ENUMERATE)
			why = "no record at this index";
	}
	if (why)
		fprintf(stderr, "hv-hostsim: kvp %s: the guest answered HV_S_CONT (%s)\n", cmd, why);
	else
		fprintf(stderr, "hv-hostsim: kvp %s: the guest answered %s (0x%08x)\n", cmd,
			host_status_name(status), status);
	return why ? HOSTSIM_EXIT_NOT_FOUND : HOSTSIM_EXIT_REFUSED;
}

/* One ENUMERATE at index. Returns 0 (printed), an exit status, or -1 for HV_S_CONT. */
static int enumerate_one(struct session *s, const struct kvp_req *q, uint32_t index, bool first,
			 uint32_t *ret_status)
{
	char key[3 * KVP_WIRE_KEY_SIZE / 2 + 1], value[3 * KVP_WIRE_VALUE_SIZE / 2 + 1];
	const uint8_t *b, *d;
	size_t len = build(s, q, index);
	FILE *j = host_json();
	uint32_t status, type;
	int r;

	r = exchange(s, len, &b, &status);
	if (r)
		return r;
	*ret_status = status;
	if (status != VMBUS_HV_S_OK)
		return -1;
	d = b + KVP_ENUM_OFF_DATA;
	type = get32(d + KVP_VAL_OFF_TYPE);
	r = kvp_decode_key(get32(d + KVP_VAL_OFF_KEY_SIZE), d + KVP_VAL_OFF_KEY, key, sizeof(key));
	if (r < 0)
		return bad_reply("enumerate", r == -EMSGSIZE ? "key_size larger than the key field"
							     : "the key is not valid UTF-16");
	r = kvp_decode_value(type, get32(d + KVP_VAL_OFF_VALUE_SIZE), d + KVP_VAL_OFF_VALUE, value,
			     sizeof(value));
	if (r < 0)
		return bad_reply("enumerate", r == -EMSGSIZE ? "value_size larger than the value field"
							     : "the value is not valid UTF-16");
	if (j) {
		fprintf(j, "%s{\"index\":%" PRIu32 ",\"key\":", first ? "" : ",", index);
		json_string(j, key);
		fprintf(j, ",\"value\":");
		json_string(j, value);
		fprintf(j, "}");
	} else {
		printf("%" PRIu32 ": %s = %s\n", index, key, value);
	}
	return 0;
}

static int run_enumerate(struct session *s, const struct kvp_req *q)
{
	FILE *j = host_json();
	uint32_t status = 0, index = q->has_index ? q->index : 0;
	int r;

	if (j && !q->has_index)
		fputc('[', j);
	for (;; index++) {
		r = enumerate_one(s, q, index, q->has_index || index == 0, &status);
		if (r > 0 || q->has_index)
			break;
		if (r < 0)
			break;
		if (index == UINT32_MAX) {
			r = bad_reply("enumerate", "no HV_S_CONT after 2^32 records");
			break;
		}
	}
	if (j) {
		if (!q->has_index)
			fputc(']', j);
		else if (r != 0)
			fprintf(j, "{\"index\":%" PRIu32 ",\"status\":\"%s\"}", index,
				host_status_name(status));
		fputc('\n', j);
	}
	if (r > 0)
		return r;
	if (r < 0 && (q->has_index || status != VMBUS_HV_S_CONT))
		return refused(q, status);
	return HOSTSIM_EXIT_OK;
}

static int run_get(struct session *s, const struct kvp_req *q, const uint8_t *b, uint32_t status)
{
	char value[3 * KVP_WIRE_VALUE_SIZE / 2 + 1];
	const uint8_t *d = b + KVP_GETSET_OFF_DATA;
	FILE *j = host_json();
	uint32_t type = 0;
	int r;

	if (status == VMBUS_HV_S_OK) {
		type = get32(d + KVP_VAL_OFF_TYPE);
		r = kvp_decode_value(type, get32(d + KVP_VAL_OFF_VALUE_SIZE), d + KVP_VAL_OFF_VALUE,
				     value, sizeof(value));
		if (r < 0)
			return bad_reply("get", r == -EMSGSIZE ? "value_size larger than the value field"
							       : "the value is not valid UTF-16");
	}
	if (j) {
		fprintf(j, "{\"pool\":%u,\"key\":", q->pool);
		json_string(j, q->key);
		if (status == VMBUS_HV_S_OK) {
			fprintf(j, ",\"value_type\":%" PRIu32 ",\"value\":", type);
			json_string(j, value);
		}
		fprintf(j, ",\"status\":\"%s\"}\n", host_status_name(status));
	} else if (status == VMBUS_HV_S_OK) {
		printf("%s\n", value);
	}
	return status == VMBUS_HV_S_OK ? HOSTSIM_EXIT_OK : refused(q, status);
}

/* Copy a UTF-16 field of the IP message as UTF-8. */
static int ip_field(const uint8_t *b, size_t off, size_t size, char *buf, size_t bufsize)
{
	return vmbus_utf16_to_utf8(b + off, size, buf, bufsize) < 0 ? -EILSEQ : 0;
}

static int run_ip_info(const struct kvp_req *q, const uint8_t *b, uint32_t status)
{
	static const struct {
		const char *name;
		size_t off, size;
	} fields[] = {
		{ "adapter_id", KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE },
		{ "ip_addr", KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE },
		{ "sub_net", KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE },
		{ "gate_way", KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE },
		{ "dns_addr", KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE },
	};
	char text[ELEMENTSOF(fields)][3 * KVP_IP_ADDR_SIZE / 2 + 1];
	FILE *j = host_json();

	if (status != VMBUS_HV_S_OK) {
		print_status(q, status);
		return refused(q, status);
	}
	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		if (ip_field(b, fields[i].off, fields[i].size, text[i], sizeof(text[i])) < 0) {
			char what[64];

			snprintf(what, sizeof(what), "%s is not valid UTF-16", fields[i].name);
			return bad_reply("ip-info", what);
		}
	if (j) {
		fprintf(j, "{\"adapter_id\":");
		json_string(j, text[0]);
		fprintf(j, ",\"addr_family\":%u,\"dhcp_enabled\":%s", b[KVP_IP_OFF_ADDR_FAMILY],
			b[KVP_IP_OFF_DHCP_ENABLED] ? "true" : "false");
		for (size_t i = 1; i < ELEMENTSOF(fields); i++) {
			fprintf(j, ",\"%s\":", fields[i].name);
			json_list(j, text[i]);
		}
		fprintf(j, "}\n");
		return HOSTSIM_EXIT_OK;
	}
	printf("adapter_id: %s\n", text[0]);
	printf("addr_family: %u\n", b[KVP_IP_OFF_ADDR_FAMILY]);
	printf("dhcp_enabled: %s\n", b[KVP_IP_OFF_DHCP_ENABLED] ? "yes" : "no");
	for (size_t i = 1; i < ELEMENTSOF(fields); i++)
		printf("%s: %s\n", fields[i].name, text[i]);
	return HOSTSIM_EXIT_OK;
}

static int run_request(struct session *s, const struct kvp_req *q)
{
	const uint8_t *b;
	uint32_t status;
	size_t len;
	int r;

	if (q->kind == REQ_SLEEP) {
		struct timespec ts = { .tv_sec = (time_t)q->seconds,
				       .tv_nsec = (long)((q->seconds - (double)(time_t)q->seconds) * 1e9) };

		printf("host: sleeping %g s\n", q->seconds);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return HOSTSIM_EXIT_OK;
	}
	if (q->kind == REQ_ENUMERATE)
		return run_enumerate(s, q);
	len = build(s, q, 0);
	r = exchange(s, len, &b, &status);
	if (r)
		return r;
	switch (q->kind) {
	case REQ_GET:
		return run_get(s, q, b, status);
	case REQ_IP_INFO:
		return run_ip_info(q, b, status);
	default:
		print_status(q, status);
		return status == VMBUS_HV_S_OK ? HOSTSIM_EXIT_OK : refused(q, status);
	}
}

int kvp_run(struct hostsim *h)
{
	static struct session s;
	int r, first = HOSTSIM_EXIT_OK;

	s = (struct session){ .h = h };
	r = host_negotiate(h, &s.fw, &s.svc);
	if (r != HOSTSIM_EXIT_OK)
		return r;
	for (size_t i = 0; i < n_reqs; i++) {
		r = run_request(&s, &reqs[i]);
		if (r == HOSTSIM_EXIT_OK)
			continue;
		if (first == HOSTSIM_EXIT_OK)
			first = r;
		/* Without an answer the session is over, whatever --keep-going says. */
		if (!keep_going || r == HOSTSIM_EXIT_NOANSWER)
			break;
	}
	if (batch && first == HOSTSIM_EXIT_OK)
		printf("host: %zu requests answered with success\n", n_reqs);
	return first;
}
