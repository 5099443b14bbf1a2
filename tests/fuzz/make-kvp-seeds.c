/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the seed corpus of fuzz-kvp: make-kvp-seeds DIR creates DIR/fuzz-kvp.
 * A seed is what fuzz-kvp.c reads: KVP message bodies (the bytes after the
 * 28-byte IC headers, as hv-kvpd's kvp_message() receives them), each after
 * its 2-byte little-endian length. Most seeds are one message: valid requests
 * of every operation as a host sends them (the whole 7432-byte hv_kvp_msg, or
 * the IP message, laid out as in kvp-wire.h), and hostile ones; "session" is
 * a SET, GET, ENUMERATE and DELETE in a row. The seeds are committed
 * (tests/fuzz/corpus/fuzz-kvp); rerun this only to change them, with
 * "make fuzz-seeds" in a --enable-fuzzing build, and update EXTRA_DIST.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "kvp-wire.h"

static const char *out_dir;
static uint8_t body[KVP_MSG_MAX_LEN];
static uint8_t seq[8 * (2 + KVP_MSG_MAX_LEN)];
static size_t seq_len;

/* Append the first len bytes of body to the session. */
static void seq_add(size_t len)
{
	if (seq_len + 2 + len > sizeof(seq))
		abort();
	seq[seq_len] = (uint8_t)len;
	seq[seq_len + 1] = (uint8_t)(len >> 8);
	memcpy(seq + seq_len + 2, body, len);
	seq_len += 2 + len;
}

/* Write the session (plus the first len bytes of body, if len) as a seed, and start a new one. */
static int write_seed(const char *name, size_t len)
{
	char path[4096];
	int fd, r = 0;

	if (len)
		seq_add(len);

	snprintf(path, sizeof(path), "%s/fuzz-kvp", out_dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/fuzz-kvp/%s", out_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, seq, seq_len) != (ssize_t)seq_len)
		r = -EIO;
	close(fd);
	seq_len = 0;
	return r;
}

static void put32(size_t off, uint32_t v)
{
	memcpy(body + off, &v, sizeof(v));
}

/* A UTF-16LE string at off; returns its size in bytes counting the NUL. */
static uint32_t put_str(size_t off, size_t field, const char *s)
{
	int n = vmbus_utf8_to_utf16(s, strlen(s), body + off, field);

	if (n < 0)
		abort();
	return 2 * (uint32_t)n + 2;
}

static void start(uint8_t op, uint8_t pool)
{
	memset(body, 0, sizeof(body));
	body[KVP_OFF_OPERATION] = op;
	body[KVP_OFF_POOL] = pool;
}

/* GET or SET of key (and a REG_SZ value) at the exchange value of the body. */
static void getset(uint8_t op, uint8_t pool, const char *key, const char *value)
{
	size_t d = KVP_GETSET_OFF_DATA;

	start(op, pool);
	put32(d + KVP_VAL_OFF_TYPE, KVP_REG_SZ);
	put32(d + KVP_VAL_OFF_KEY_SIZE, put_str(d + KVP_VAL_OFF_KEY, KVP_WIRE_KEY_SIZE, key));
	if (value)
		put32(d + KVP_VAL_OFF_VALUE_SIZE,
		      put_str(d + KVP_VAL_OFF_VALUE, KVP_WIRE_VALUE_SIZE, value));
}

int main(int argc, char *argv[])
{
	size_t d = KVP_GETSET_OFF_DATA;
	uint64_t u64 = UINT64_MAX;
	int r = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: make-kvp-seeds DIR\n");
		return 2;
	}
	out_dir = argv[1];

	getset(KVP_OP_GET, KVP_POOL_GUEST, "VirtualMachineName", NULL);
	r = r < 0 ? r : write_seed("get", KVP_MSG_MAX_LEN);
	getset(KVP_OP_GET, KVP_POOL_AUTO, "OSName", NULL);
	r = r < 0 ? r : write_seed("get-auto", KVP_MSG_MAX_LEN);
	getset(KVP_OP_SET, KVP_POOL_EXTERNAL, "Grüße-報告-📦", "Wert ✓ 値-😀");
	r = r < 0 ? r : write_seed("set-sz", KVP_MSG_MAX_LEN);

	getset(KVP_OP_SET, KVP_POOL_GUEST, "Grüße-報告-📦", "Wert ✓ 値-😀");
	seq_add(KVP_MSG_MAX_LEN);
	getset(KVP_OP_GET, KVP_POOL_GUEST, "Grüße-報告-📦", NULL);
	seq_add(KVP_MSG_MAX_LEN);
	start(KVP_OP_ENUMERATE, KVP_POOL_GUEST);
	seq_add(KVP_MSG_MAX_LEN);
	start(KVP_OP_DELETE, KVP_POOL_GUEST);
	put32(KVP_DEL_OFF_KEY_SIZE, put_str(KVP_DEL_OFF_KEY, KVP_WIRE_KEY_SIZE, "Grüße-報告-📦"));
	r = r < 0 ? r : write_seed("session", KVP_MSG_MAX_LEN);
	getset(KVP_OP_SET, KVP_POOL_GUEST, "u32", NULL);
	put32(d + KVP_VAL_OFF_TYPE, KVP_REG_U32);
	put32(d + KVP_VAL_OFF_VALUE_SIZE, 4);
	put32(d + KVP_VAL_OFF_VALUE, UINT32_MAX);
	r = r < 0 ? r : write_seed("set-u32", KVP_MSG_MAX_LEN);
	getset(KVP_OP_SET, KVP_POOL_AUTO_EXTERNAL, "u64", NULL);
	put32(d + KVP_VAL_OFF_TYPE, KVP_REG_U64);
	put32(d + KVP_VAL_OFF_VALUE_SIZE, 8);
	memcpy(body + d + KVP_VAL_OFF_VALUE, &u64, sizeof(u64));
	r = r < 0 ? r : write_seed("set-u64", KVP_MSG_MAX_LEN);
	/* Only the operation's own structure, as --short sends it. */
	getset(KVP_OP_SET, KVP_POOL_AUTO_INTERNAL, "short", "value");
	r = r < 0 ? r : write_seed("set-short", KVP_GETSET_LEN);

	start(KVP_OP_DELETE, KVP_POOL_GUEST);
	put32(KVP_DEL_OFF_KEY_SIZE, put_str(KVP_DEL_OFF_KEY, KVP_WIRE_KEY_SIZE, "VirtualMachineName"));
	r = r < 0 ? r : write_seed("delete", KVP_MSG_MAX_LEN);

	start(KVP_OP_ENUMERATE, KVP_POOL_AUTO);
	put32(KVP_ENUM_OFF_INDEX, 4);
	r = r < 0 ? r : write_seed("enumerate-auto", KVP_MSG_MAX_LEN);
	start(KVP_OP_ENUMERATE, KVP_POOL_GUEST);
	r = r < 0 ? r : write_seed("enumerate", KVP_ENUM_LEN);

	start(KVP_OP_GET_IP_INFO, 0);
	put_str(KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE, "00:15:5D:AA:BB:CC");
	body[KVP_IP_OFF_ADDR_FAMILY] = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6;
	r = r < 0 ? r : write_seed("get-ip-info", KVP_IP_LEN);
	start(KVP_OP_SET_IP_INFO, 0);
	put_str(KVP_IP_OFF_ADAPTER_ID, KVP_IP_ADAPTER_ID_SIZE, "{f5bdf2bd-5a6c-4f1c-a1ec-21b63ad6b4a5}");
	body[KVP_IP_OFF_ADDR_FAMILY] = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6;
	put_str(KVP_IP_OFF_IP_ADDR, KVP_IP_ADDR_SIZE, "192.0.2.10;2001:db8::10");
	put_str(KVP_IP_OFF_SUB_NET, KVP_IP_SUB_NET_SIZE, "255.255.255.0;64");
	put_str(KVP_IP_OFF_GATE_WAY, KVP_IP_GATE_WAY_SIZE, "192.0.2.1;2001:db8::1");
	put_str(KVP_IP_OFF_DNS_ADDR, KVP_IP_DNS_ADDR_SIZE, "192.0.2.53;2001:db8::53");
	r = r < 0 ? r : write_seed("set-ip-info", KVP_IP_LEN);

	/* Hostile: what hv-hostsim's kvp-* scenarios send. */
	getset(KVP_OP_SET, 7, "k", "v");
	r = r < 0 ? r : write_seed("pool-7", KVP_MSG_MAX_LEN);
	start(KVP_OP_ENUMERATE, KVP_POOL_AUTO);
	put32(KVP_ENUM_OFF_INDEX, UINT32_MAX);
	r = r < 0 ? r : write_seed("index-max", KVP_MSG_MAX_LEN);
	getset(KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	put32(d + KVP_VAL_OFF_KEY_SIZE, 100000);
	put32(d + KVP_VAL_OFF_VALUE_SIZE, 100000);
	r = r < 0 ? r : write_seed("sizes-100000", KVP_MSG_MAX_LEN);
	getset(KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	for (size_t i = 0; i < KVP_WIRE_KEY_SIZE; i += 2)
		body[d + KVP_VAL_OFF_KEY + i] = 'A'; /* the high bytes stay 0 */
	put32(d + KVP_VAL_OFF_KEY_SIZE, KVP_WIRE_KEY_SIZE);
	r = r < 0 ? r : write_seed("unterminated-key", KVP_MSG_MAX_LEN);
	getset(KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	body[d + KVP_VAL_OFF_KEY] = 0x00;
	body[d + KVP_VAL_OFF_KEY + 1] = 0xd8; /* a lone high surrogate, then 'x', NUL */
	body[d + KVP_VAL_OFF_KEY + 2] = 'x';
	put32(d + KVP_VAL_OFF_KEY_SIZE, 6);
	r = r < 0 ? r : write_seed("lone-surrogate", KVP_MSG_MAX_LEN);
	getset(KVP_OP_SET, KVP_POOL_GUEST, "k", "v");
	put32(d + KVP_VAL_OFF_TYPE, 3);
	r = r < 0 ? r : write_seed("bad-value-type", KVP_MSG_MAX_LEN);
	start(9, KVP_POOL_GUEST);
	r = r < 0 ? r : write_seed("unknown-op", KVP_MSG_MAX_LEN);
	getset(KVP_OP_GET, KVP_POOL_GUEST, "k", NULL);
	r = r < 0 ? r : write_seed("short-get", 10);
	start(KVP_OP_GET_IP_INFO, 0);
	for (size_t i = 0; i < KVP_IP_ADAPTER_ID_SIZE; i += 2)
		body[KVP_IP_OFF_ADAPTER_ID + i] = 'A';
	r = r < 0 ? r : write_seed("ip-unterminated", KVP_IP_LEN);

	if (r < 0) {
		fprintf(stderr, "make-kvp-seeds: cannot write to %s: %s\n", out_dir, strerror(-r));
		return 1;
	}
	return 0;
}
