/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure parts of kvp-ip.c, exposed for the unit tests: list parsing and
 * validation, mask <-> prefix, MAC and GUID matching, route table parsing,
 * the readers of each network stack's configuration, and the renderers of the
 * files SET_IP_INFO writes, and the rendering; programs are run through spawn.h.
 * Nothing else here runs a program or touches the network.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "kvp-ip.h"

/* Most entries accepted in one SET_IP_INFO list (more is HV_INVALIDARG). */
#define KVP_IP_MAX_ENTRIES 64
/* Longest list entry accepted, NUL included (an IPv6 address with a scope, a mask). */
#define KVP_IP_ENTRY_SIZE 64

/* Characters of a reply list that fit its UTF-16 field, the NUL excluded (all ASCII). */
#define KVP_IP_ADDR_CHARS (KVP_IP_ADDR_SIZE / 2 - 1)         /* 1023 */
#define KVP_IP_SUB_NET_CHARS (KVP_IP_SUB_NET_SIZE / 2 - 1)   /* 1023 */
#define KVP_IP_GATE_WAY_CHARS (KVP_IP_GATE_WAY_SIZE / 2 - 1) /* 511 */
#define KVP_IP_DNS_ADDR_CHARS (KVP_IP_DNS_ADDR_SIZE / 2 - 1) /* 1023 */

enum kvp_ip_stack {
	KVP_IP_STACK_NONE,
	KVP_IP_STACK_NETWORKMANAGER,
	KVP_IP_STACK_NETWORKD,
	KVP_IP_STACK_IFUPDOWN,
};

struct kvp_ip_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
	char text[46]; /* canonical (inet_ntop), INET6_ADDRSTRLEN */
};

/* A parsed SET_IP_INFO request. addr[i] has the prefix length prefix[i]. */
struct kvp_ip_request {
	char ifname[16];
	char mac[32]; /* uppercase, ':'-separated, as sysfs shows it (uppercased) */
	bool dhcp;
	size_t n_addr, n_gw, n_dns;
	struct kvp_ip_addr addr[KVP_IP_MAX_ENTRIES];
	unsigned prefix[KVP_IP_MAX_ENTRIES];
	struct kvp_ip_addr gw[KVP_IP_MAX_ENTRIES];
	struct kvp_ip_addr dns[KVP_IP_MAX_ENTRIES];
};

/* "networkmanager", "networkd", "ifupdown", "none" → the stack; -EINVAL otherwise. */
int kvp_ip_stack_from_name(const char *name);
const char *kvp_ip_stack_name(enum kvp_ip_stack s);
/* The configured stack, else the one detected under config_root (see kvp-ip.c). */
enum kvp_ip_stack kvp_ip_stack_detect(const struct kvp_ip_config *c);

/* sysfs "address" (trailing newline allowed) against the host's MAC ('-' or ':'). */
bool kvp_ip_mac_equal(const char *sysfs, const char *host);
/* sysfs "device_id" against the host's GUID: any case, braces optional on either side. */
bool kvp_ip_guid_equal(const char *sysfs, const char *host);
/*
 * A name safe to put in a path and to pass to a tool: 1..15 bytes, no '/',
 * ':', '%' or whitespace, no leading '-', not "." or "..".
 */
bool kvp_ip_ifname_valid(const char *name);

/* Contiguous dotted IPv4 mask → prefix length; -EINVAL if not a contiguous mask. */
int kvp_ip_mask4_to_prefix(const char *mask);
/* Prefix length → dotted IPv4 mask (buf ≥ 16). */
void kvp_ip_prefix_to_mask4(unsigned prefix, char *buf, size_t size);
/* A netmask in network byte order (4 or 16 bytes) → its leading one bits; -EINVAL if not contiguous. */
int kvp_ip_mask_bytes_to_prefix(const uint8_t *mask, size_t len);

/*
 * One sub_net entry for an address of the given family: a dotted contiguous
 * mask (IPv4 only), a contiguous mask in IPv6 address form (IPv6 only), "NN"
 * or "/NN". Returns the prefix length or -EINVAL.
 */
int kvp_ip_parse_prefix(const char *entry, int family);
/* One address (inet_pton of either family); 0 or -EINVAL. */
int kvp_ip_parse_addr(const char *entry, struct kvp_ip_addr *ret);

/*
 * Split a ';'-separated list: leading spaces (and trailing blanks) stripped,
 * empty entries ignored. Each entry is copied into items[i]. Returns the
 * count, -E2BIG for more than max entries, or -EINVAL for an entry longer
 * than KVP_IP_ENTRY_SIZE - 1 bytes (its start is copied into bad).
 */
int kvp_ip_split(const char *list, char (*items)[KVP_IP_ENTRY_SIZE], size_t max, char *bad, size_t bad_size);

/*
 * SET_IP_INFO fields → request (ifname and mac are left to the caller).
 * Returns VMBUS_HV_S_OK or VMBUS_HV_INVALIDARG after logging the field and entry.
 */
uint32_t kvp_ip_parse_request(const struct kvp_ip_info *in, struct kvp_ip_request *r);

/*
 * Append entry to a ';'-separated list of at most cap characters (buf holds
 * cap + 1). -ENOSPC (list unchanged) when it does not fit.
 */
int kvp_ip_list_add(char *buf, size_t cap, const char *entry);
/* Does entry (plus its separator) fit? */
bool kvp_ip_list_fits(const char *buf, size_t cap, const char *entry);

/*
 * Default gateways of ifname from /proc/net/route (IPv4) and
 * /proc/net/ipv6_route (IPv6) text, appended to list. Returns the number of
 * gateways that did not fit (dropped).
 */
int kvp_ip_routes4(FILE *f, const char *ifname, char *list, size_t cap);
int kvp_ip_routes6(FILE *f, const char *ifname, char *list, size_t cap);

/* What a stack's configuration says about one interface. */
struct kvp_ip_stack_info {
	bool found;   /* some configuration matched the interface */
	bool dhcp;
	size_t n_dns;
	char dns[KVP_IP_MAX_ENTRIES][46];
};

/* Add an address (validated, %scope and duplicates dropped) to info->dns. */
void kvp_ip_info_add_dns(struct kvp_ip_stack_info *info, const char *text);

/* Readers of one file's text; ifname/mac describe the interface (mac any case). */
bool kvp_ip_nm_keyfile_read(FILE *f, const char *ifname, const char *mac, struct kvp_ip_stack_info *info);
bool kvp_ip_networkd_matches(FILE *f, const char *ifname, const char *mac);
void kvp_ip_networkd_read(FILE *f, struct kvp_ip_stack_info *info);
void kvp_ip_networkd_state_read(FILE *f, struct kvp_ip_stack_info *info, char *network_file, size_t size);
void kvp_ip_ifupdown_read(FILE *f, const char *ifname, struct kvp_ip_stack_info *info);
void kvp_ip_resolv_read(FILE *f, struct kvp_ip_stack_info *info);

/*
 * Renderers: the whole file into buf. 0, or -ENOSPC when buf is too small.
 * kvp_ip_render_nm(): hook = true for the kernel daemon's IF.nmconnection
 * (for hv_set_ifconfig), false for our own hv-IF profile.
 */
int kvp_ip_render_ifcfg(const struct kvp_ip_request *r, char *buf, size_t size);
int kvp_ip_render_nm(const struct kvp_ip_request *r, bool hook, char *buf, size_t size);
int kvp_ip_render_networkd(const struct kvp_ip_request *r, char *buf, size_t size);
int kvp_ip_render_ifupdown(const struct kvp_ip_request *r, char *buf, size_t size);

/* IPv6 address in 8 groups of 4 hex digits (the ifcfg format); buf ≥ 40. */
void kvp_ip_expand6(const struct in6_addr *a, char *buf, size_t size);


