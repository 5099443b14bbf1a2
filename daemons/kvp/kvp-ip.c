/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GET_IP_INFO and SET_IP_INFO (reference kvp-vss.md §4).
 *
 * Differences from the kernel's hv_kvp_daemon, on purpose:
 * - GET matches the MAC as a whole string, any case, ':' or '-'; the
 *   addresses are those of exactly that interface (strcmp, where the kernel's
 *   strncmp makes "eth1" also match "eth10"); the gateways are that
 *   interface's default routes only; the requested address family is honoured
 *   for addresses, gateways and DNS servers.
 * - Without the hook scripts, DNS servers and DHCP are read from the
 *   configuration of the network stack in use, and SET writes and applies a
 *   configuration for that stack.
 * - Every list is cut to its wire field by whole entries, with a log line.
 *
 * Which network stack is in use (hv-kvpd(8) quotes this rule):
 *   the configured one (--network-stack) if any; otherwise, looking under the
 *   network root, NetworkManager if /run/NetworkManager exists, else
 *   systemd-networkd if /run/systemd/netif exists, else ifupdown if
 *   /etc/network/interfaces exists, else none (addresses and default routes
 *   are set on the kernel directly with ip(8); DHCP is then not possible).
 *
 * Programs (hooks and stack tools) run with execve(), never through a shell,
 * stdin /dev/null, a bounded capture of their output, a timeout after which
 * their process group gets SIGKILL, and an environment of PATH only. A program
 * is done when it exits, whatever background children it leaves (those are
 * left alone). GET's hooks get 10 s each; one SET_IP_INFO gets 25 s for all
 * its programs together, each getting what remains. Interface names starting
 * with '-' are never used, and "--" or a keyword precedes names. That PATH
 * is the daemon's own (absolute entries only; /usr/sbin:/usr/bin:/sbin:/bin
 * when unset), and stack tools (nmcli, networkctl, ifup, ifdown, ip) are
 * searched in it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vmbus/vmbus.h>

#include "conf-file.h"
#include "kvp-ip-internal.h"
#include "kvp-ip.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"

#define DEFAULT_SCRIPTS_DIR "/usr/libexec/hypervkvpd"
#define HOOK_TIMEOUT_MS 10000
/* One SET_IP_INFO, all its programs together (the host gives up after about 30 s). */
#define SET_DEADLINE_MS 25000
#define RENDER_MAX 32768
#define CONFIG_HEADER "# Written by hv-kvpd from Hyper-V SET_IP_INFO\n"
#define MAX_CANDIDATES 16
/* Most names read from one directory (bounded memory; far above any real system). */
#define LIST_DIR_MAX 65536

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

/* A copy of untrusted text safe for a log line: non-printable bytes become '?'. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static const char *root_of(const struct kvp_ip_config *c)
{
	return c->config_root ? c->config_root : "";
}

/* Join root and an absolute path into buf; false if it does not fit. */
static bool rooted(char *buf, size_t size, const char *root, const char *fmt, ...) _printf_(4, 5);
static bool rooted(char *buf, size_t size, const char *root, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, size, "%s", root);
	if (n < 0 || (size_t)n >= size)
		return false;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	va_end(ap);
	return m >= 0 && (size_t)m < size - (size_t)n;
}

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Read the first line of a small file (newline removed); -errno. */
static int read_line_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ------------------------------------------------------------------------ */
/* Matching and parsing (pure)                                              */
/* ------------------------------------------------------------------------ */

int kvp_ip_stack_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	if (strcmp(name, "networkmanager") == 0 || strcmp(name, "NetworkManager") == 0)
		return KVP_IP_STACK_NETWORKMANAGER;
	if (strcmp(name, "networkd") == 0 || strcmp(name, "systemd-networkd") == 0)
		return KVP_IP_STACK_NETWORKD;
	if (strcmp(name, "ifupdown") == 0)
		return KVP_IP_STACK_IFUPDOWN;
	if (strcmp(name, "none") == 0)
		return KVP_IP_STACK_NONE;
	return -EINVAL;
}

const char *kvp_ip_stack_name(enum kvp_ip_stack s)
{
	switch (s) {
	case KVP_IP_STACK_NETWORKMANAGER:
		return "networkmanager";
	case KVP_IP_STACK_NETWORKD:
		return "networkd";
	case KVP_IP_STACK_IFUPDOWN:
		return "ifupdown";
	case KVP_IP_STACK_NONE:
		break;
	}
	return "none";
}

enum kvp_ip_stack kvp_ip_stack_detect(const struct kvp_ip_config *c)
{
	const char *root = root_of(c);
	char p[PATH_MAX];
	int s;

	if (c->stack && *c->stack && strcmp(c->stack, "auto") != 0) {
		s = kvp_ip_stack_from_name(c->stack);
		if (s >= 0)
			return (enum kvp_ip_stack)s;
		log_warning("unknown network stack '%s', detecting the one in use", c->stack);
	}
	if (rooted(p, sizeof(p), root, "/run/NetworkManager") && path_exists(p))
		return KVP_IP_STACK_NETWORKMANAGER;
	if (rooted(p, sizeof(p), root, "/run/systemd/netif") && path_exists(p))
		return KVP_IP_STACK_NETWORKD;
	if (rooted(p, sizeof(p), root, "/etc/network/interfaces") && path_exists(p))
		return KVP_IP_STACK_IFUPDOWN;
	return KVP_IP_STACK_NONE;
}

static bool is_mac_sep(char ch)
{
	return ch == ':' || ch == '-';
}

bool kvp_ip_mac_equal(const char *sysfs, const char *host)
{
	size_t n = strcspn(sysfs, "\n"), i;

	if (n == 0 || strlen(host) != n)
		return false;
	for (i = 0; i < n; i++) {
		if (is_mac_sep(sysfs[i]) && is_mac_sep(host[i]))
			continue;
		if (!isxdigit((unsigned char)sysfs[i]) ||
		    tolower((unsigned char)sysfs[i]) != tolower((unsigned char)host[i]))
			return false;
	}
	return true;
}

/* The GUID without braces or trailing newline: start and length. */
static void guid_core(const char *s, const char **start, size_t *len)
{
	size_t n = strcspn(s, "\n");

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r'))
		n--;
	if (n >= 2 && s[0] == '{' && s[n - 1] == '}') {
		s++;
		n -= 2;
	}
	*start = s;
	*len = n;
}

bool kvp_ip_guid_equal(const char *sysfs, const char *host)
{
	const char *a, *b;
	size_t na, nb;

	guid_core(sysfs, &a, &na);
	guid_core(host, &b, &nb);
	if (na != 36 || nb != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? a[i] != '-' || b[i] != '-'
			 : !isxdigit((unsigned char)a[i]) ||
				   tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
			return false;
	}
	return true;
}

bool kvp_ip_ifname_valid(const char *name)
{
	size_t n = strlen(name);

	/* A leading '-' would be taken for an option by ifup, networkctl, nmcli... */
	if (n == 0 || n > 15 || name[0] == '-' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '/' || ch <= 0x20 || ch >= 0x7f || ch == ':' || ch == '%')
			return false;
	}
	return true;
}

int kvp_ip_mask_bytes_to_prefix(const uint8_t *mask, size_t len)
{
	int prefix = 0;
	bool zero = false;

	for (size_t i = 0; i < len; i++) {
		for (int bit = 7; bit >= 0; bit--) {
			if (mask[i] & (1u << bit)) {
				if (zero)
					return -EINVAL;
				prefix++;
			} else {
				zero = true;
			}
		}
	}
	return prefix;
}

int kvp_ip_mask4_to_prefix(const char *mask)
{
	struct in_addr a;

	if (inet_pton(AF_INET, mask, &a) != 1)
		return -EINVAL;
	return kvp_ip_mask_bytes_to_prefix((const uint8_t *)&a.s_addr, 4);
}

void kvp_ip_prefix_to_mask4(unsigned prefix, char *buf, size_t size)
{
	uint32_t m = prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
	struct in_addr a = { .s_addr = htonl(m) };

	if (!inet_ntop(AF_INET, &a, buf, (socklen_t)size) && size > 0)
		buf[0] = '\0';
}

static int parse_decimal(const char *s, unsigned max)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return v <= max ? (int)v : -EINVAL;
}

int kvp_ip_parse_prefix(const char *entry, int family)
{
	unsigned max = family == AF_INET6 ? 128 : 32;

	if (entry[0] == '/')
		return parse_decimal(entry + 1, max);
	if (strchr(entry, '.'))
		return family == AF_INET ? kvp_ip_mask4_to_prefix(entry) : -EINVAL;
	if (strchr(entry, ':')) {
		struct in6_addr m;

		if (family != AF_INET6 || inet_pton(AF_INET6, entry, &m) != 1)
			return -EINVAL;
		return kvp_ip_mask_bytes_to_prefix(m.s6_addr, 16);
	}
	return parse_decimal(entry, max);
}

int kvp_ip_parse_addr(const char *entry, struct kvp_ip_addr *ret)
{
	struct kvp_ip_addr a = { 0 };

	if (inet_pton(AF_INET, entry, &a.a.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, entry, &a.a.v6) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	if (!inet_ntop(a.family, &a.a, a.text, sizeof(a.text)))
		return -EINVAL;
	*ret = a;
	return 0;
}

int kvp_ip_split(const char *list, char (*items)[KVP_IP_ENTRY_SIZE], size_t max, char *bad, size_t bad_size)
{
	const char *p = list;
	size_t n = 0;

	for (;;) {
		const char *e = strchr(p, ';');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *s = p;

		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
				   s[len - 1] == '\n'))
			len--;
		if (len > 0) {
			if (len >= KVP_IP_ENTRY_SIZE) {
				if (bad_size > 0) {
					size_t k = len < bad_size - 1 ? len : bad_size - 1;

					memcpy(bad, s, k);
					bad[k] = '\0';
				}
				return -EINVAL;
			}
			if (n >= max)
				return -E2BIG;
			memcpy(items[n], s, len);
			items[n][len] = '\0';
			n++;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return (int)n;
}

/* Split one field; logs and returns -1 on failure. */
static int split_field(const char *field, const char *list, char (*items)[KVP_IP_ENTRY_SIZE])
{
	char bad[KVP_IP_ENTRY_SIZE + 8], pr[sizeof(bad)];
	int n;

	n = kvp_ip_split(list, items, KVP_IP_MAX_ENTRIES, bad, sizeof(bad));
	if (n == -E2BIG)
		log_error("SET_IP_INFO: %s has more than %d entries", field, KVP_IP_MAX_ENTRIES);
	else if (n < 0)
		log_error("SET_IP_INFO: %s entry '%s...' is too long to be an address", field,
			  printable(bad, pr, sizeof(pr)));
	return n < 0 ? -1 : n;
}

static int parse_addr_field(const char *field, const char *list, struct kvp_ip_addr *out)
{
	char items[KVP_IP_MAX_ENTRIES][KVP_IP_ENTRY_SIZE], pr[KVP_IP_ENTRY_SIZE];
	int n = split_field(field, list, items);

	for (int i = 0; i < n; i++) {
		if (kvp_ip_parse_addr(items[i], &out[i]) < 0) {
			log_error("SET_IP_INFO: %s entry '%s' is not an IPv4 or IPv6 address", field,
				  printable(items[i], pr, sizeof(pr)));
			return -1;
		}
	}
	return n;
}

/*
 * sub_net pairs with ip_addr by position, one entry per address, so the
 * counts must be equal (a host that sends fewer or more masks than
 * addresses sent something we cannot interpret: HV_INVALIDARG, nothing
 * applied). An IPv4 address takes a contiguous dotted mask, "NN" or "/NN";
 * an IPv6 address "NN", "/NN" or a contiguous mask in address form
 * ("ffff:ffff:ffff:ffff::").
 */
uint32_t kvp_ip_parse_request(const struct kvp_ip_info *in, struct kvp_ip_request *r)
{
	char masks[KVP_IP_MAX_ENTRIES][KVP_IP_ENTRY_SIZE], pr[KVP_IP_ENTRY_SIZE];
	int n, m, g, d;

	r->dhcp = in->dhcp_enabled != 0;
	r->n_addr = r->n_gw = r->n_dns = 0;
	n = parse_addr_field("ip_addr", in->ip_addr, r->addr);
	if (n < 0)
		return VMBUS_HV_INVALIDARG;
	m = split_field("sub_net", in->sub_net, masks);
	if (m < 0)
		return VMBUS_HV_INVALIDARG;
	if (m != n) {
		log_error("SET_IP_INFO: sub_net has %d entries for %d addresses in ip_addr", m, n);
		return VMBUS_HV_INVALIDARG;
	}
	for (int i = 0; i < n; i++) {
		int p = kvp_ip_parse_prefix(masks[i], r->addr[i].family);

		if (p < 0) {
			log_error("SET_IP_INFO: sub_net entry '%s' is not a valid %s mask or prefix length "
				  "for %s",
				  printable(masks[i], pr, sizeof(pr)),
				  r->addr[i].family == AF_INET ? "IPv4" : "IPv6", r->addr[i].text);
			return VMBUS_HV_INVALIDARG;
		}
		r->prefix[i] = (unsigned)p;
	}
	g = parse_addr_field("gate_way", in->gate_way, r->gw);
	if (g < 0)
		return VMBUS_HV_INVALIDARG;
	d = parse_addr_field("dns_addr", in->dns_addr, r->dns);
	if (d < 0)
		return VMBUS_HV_INVALIDARG;
	r->n_addr = (size_t)n;
	r->n_gw = (size_t)g;
	r->n_dns = (size_t)d;
	return VMBUS_HV_S_OK;
}

bool kvp_ip_list_fits(const char *buf, size_t cap, const char *entry)
{
	size_t len = strlen(buf);

	return len + (len > 0) + strlen(entry) <= cap;
}

int kvp_ip_list_add(char *buf, size_t cap, const char *entry)
{
	size_t len = strlen(buf), n = strlen(entry);

	if (!kvp_ip_list_fits(buf, cap, entry))
		return -ENOSPC;
	if (len > 0)
		buf[len++] = ';';
	memcpy(buf + len, entry, n + 1);
	return 0;
}

/* Does the list already hold entry? */
static bool list_has(const char *list, const char *entry)
{
	size_t n = strlen(entry);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ";");

		if (len == n && strncmp(p, entry, n) == 0)
			return true;
		p += len;
		if (*p == ';')
			p++;
	}
	return false;
}

/* ------------------------------------------------------------------------ */
/* Routes (pure, on /proc/net text)                                         */
/* ------------------------------------------------------------------------ */

/* Add a gateway once; count it in *dropped once when it does not fit. */
static void add_gateway(char *list, size_t cap, const char *text, char *seen, size_t seen_cap, int *dropped)
{
	if (list_has(list, text) || list_has(seen, text))
		return;
	if (kvp_ip_list_add(list, cap, text) < 0) {
		(void)kvp_ip_list_add(seen, seen_cap, text);
		(*dropped)++;
	}
}

#define RTF_UP_ 0x1
#define RTF_GATEWAY_ 0x2

/* Returns the number of gateways dropped for space. */
int kvp_ip_routes4(FILE *f, const char *ifname, char *list, size_t cap)
{
	char line[512], name[32], seen[1024] = "";
	unsigned long dst, gw, flags, mask;
	int dropped = 0;

	while (fgets(line, sizeof(line), f)) {
		struct in_addr a;
		char text[INET_ADDRSTRLEN];

		/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... (hex, as in memory) */
		if (sscanf(line, "%31s %lx %lx %lx %*d %*d %*d %lx", name, &dst, &gw, &flags, &mask) != 5)
			continue;
		if (strcmp(name, ifname) != 0 || dst != 0 || mask != 0 || !(flags & RTF_UP_) ||
		    !(flags & RTF_GATEWAY_) || gw == 0)
			continue;
		a.s_addr = (uint32_t)gw;
		if (inet_ntop(AF_INET, &a, text, sizeof(text)))
			add_gateway(list, cap, text, seen, sizeof(seen) - 1, &dropped);
	}
	return dropped;
}

static int hex_bytes(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

int kvp_ip_routes6(FILE *f, const char *ifname, char *list, size_t cap)
{
	char line[512], dst[40], src[40], hop[40], name[32], seen[1024] = "";
	unsigned dplen, splen;
	unsigned long metric, refcnt, use, flags;
	int dropped = 0;

	while (fgets(line, sizeof(line), f)) {
		struct in6_addr d, g;
		char text[INET6_ADDRSTRLEN];

		if (sscanf(line, "%32s %x %32s %x %32s %lx %lx %lx %lx %31s", dst, &dplen, src, &splen, hop,
			   &metric, &refcnt, &use, &flags, name) != 10)
			continue;
		if (strcmp(name, ifname) != 0 || dplen != 0 || !(flags & RTF_GATEWAY_) ||
		    strlen(dst) != 32 || strlen(hop) != 32 || hex_bytes(dst, d.s6_addr, 16) < 0 ||
		    hex_bytes(hop, g.s6_addr, 16) < 0 || !IN6_IS_ADDR_UNSPECIFIED(&d) ||
		    IN6_IS_ADDR_UNSPECIFIED(&g))
			continue;
		if (inet_ntop(AF_INET6, &g, text, sizeof(text)))
			add_gateway(list, cap, text, seen, sizeof(seen) - 1, &dropped);
	}
	return dropped;
}

/* ------------------------------------------------------------------------ */
/* Stack configuration readers (pure, on file text)                         */
/* ------------------------------------------------------------------------ */

void kvp_ip_info_add_dns(struct kvp_ip_stack_info *info, const char *text)
{
	char buf[KVP_IP_ENTRY_SIZE];
	struct kvp_ip_addr a;
	size_t n = strcspn(text, "%#");

	if (n == 0 || n >= sizeof(buf) || info->n_dns >= KVP_IP_MAX_ENTRIES)
		return;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (kvp_ip_parse_addr(buf, &a) < 0)
		return;
	for (size_t i = 0; i < info->n_dns; i++)
		if (strcmp(info->dns[i], a.text) == 0)
			return;
	snprintf(info->dns[info->n_dns++], sizeof(info->dns[0]), "%s", a.text);
}

/* Add every address in a list separated by any of seps. */
static void add_dns_list(struct kvp_ip_stack_info *info, char *list, const char *seps)
{
	char *save = NULL;

	for (char *t = strtok_r(list, seps, &save); t; t = strtok_r(NULL, seps, &save))
		kvp_ip_info_add_dns(info, t);
}

/* "[section]" → section name in sec (lowercased not needed: keys are case-sensitive). */
static bool section_line(const char *s, char *sec, size_t size)
{
	size_t n = strlen(s);

	if (n < 2 || s[0] != '[' || s[n - 1] != ']')
		return false;
	snprintf(sec, size, "%.*s", (int)(n - 2), s + 1);
	return true;
}

/* Split "key=value" (spaces around both stripped); false for other lines. */
static bool key_value(char *s, char **key, char **value)
{
	char *eq = strchr(s, '=');

	if (!eq || eq == s)
		return false;
	*eq = '\0';
	*key = conf_strip(s);
	*value = conf_strip(eq + 1);
	return true;
}

/*
 * A NetworkManager keyfile. It describes the interface when its
 * [connection] interface-name= is ifname, or its [ethernet] mac-address= is
 * the interface's MAC (and no interface-name says otherwise).
 */
bool kvp_ip_nm_keyfile_read(FILE *f, const char *ifname, const char *mac, struct kvp_ip_stack_info *info)
{
	char line[1024], sec[64] = "", *key, *value;
	char dns4[512] = "", dns6[512] = "";
	bool name_match = false, name_other = false, mac_match = false, auto4 = false, auto6 = false;

	while (fgets(line, sizeof(line), f)) {
		char *s = conf_strip(line);

		if (*s == '#' || *s == ';' || *s == '\0' || section_line(s, sec, sizeof(sec)))
			continue;
		if (!key_value(s, &key, &value))
			continue;
		if (strcmp(sec, "connection") == 0 && strcmp(key, "interface-name") == 0) {
			if (strcmp(value, ifname) == 0)
				name_match = true;
			else
				name_other = true;
		} else if ((strcmp(sec, "ethernet") == 0 || strcmp(sec, "802-3-ethernet") == 0) &&
			   strcmp(key, "mac-address") == 0) {
			mac_match = mac && kvp_ip_mac_equal(value, mac);
		} else if (strcmp(sec, "ipv4") == 0 && strcmp(key, "method") == 0) {
			auto4 = strcmp(value, "auto") == 0;
		} else if (strcmp(sec, "ipv6") == 0 && strcmp(key, "method") == 0) {
			auto6 = strcmp(value, "dhcp") == 0;
		} else if (strcmp(sec, "ipv4") == 0 && strcmp(key, "dns") == 0) {
			snprintf(dns4, sizeof(dns4), "%s", value);
		} else if (strcmp(sec, "ipv6") == 0 && strcmp(key, "dns") == 0) {
			snprintf(dns6, sizeof(dns6), "%s", value);
		}
	}
	if (!name_match && (name_other || !mac_match))
		return false;
	info->found = true;
	info->dhcp = auto4 || auto6;
	add_dns_list(info, dns4, ";, ");
	add_dns_list(info, dns6, ";, ");
	return true;
}

/* One condition of a [Match] section, over all its assignments. */
struct match_cond {
	bool set;      /* some non-empty assignment since the last reset */
	bool positive; /* some assignment without "!" */
	bool hit;      /* one of the entries without "!" matched */
	bool excluded; /* one of the entries of a "!" assignment matched */
};

/*
 * One assignment of a space-separated list of fnmatch() globs (or MAC
 * addresses when mac is set), "!" in front inverting it. The assignments of a
 * key add up: the value must match one positive entry (if there are any) and
 * no inverted one; an empty assignment resets the key.
 */
static void match_cond_add(struct match_cond *m, char *list, const char *value, bool mac)
{
	bool invert = false, hit = false;
	char *save = NULL;

	list = conf_strip(list);
	if (*list == '\0') {
		*m = (struct match_cond){ 0 };
		return;
	}
	if (*list == '!') {
		invert = true;
		list++;
	}
	for (char *t = strtok_r(list, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		if (value && (mac ? kvp_ip_mac_equal(t, value) : fnmatch(t, value, 0) == 0))
			hit = true;
	m->set = true;
	if (invert) {
		m->excluded = m->excluded || hit;
	} else {
		m->positive = true;
		m->hit = m->hit || hit;
	}
}

static bool match_cond_ok(const struct match_cond *m)
{
	return !m->set || ((!m->positive || m->hit) && !m->excluded);
}

/*
 * A systemd.network file applies when every condition of its [Match]
 * section holds. We understand Name= (globs) and MACAddress= /
 * PermanentMACAddress=; any other condition (Type=, Driver=, Path=, ...)
 * makes us skip the file, since we cannot evaluate it. A file without any
 * condition (no or an empty [Match]) is ignored, as networkd ignores it.
 */
bool kvp_ip_networkd_matches(FILE *f, const char *ifname, const char *mac)
{
	char line[1024], sec[64] = "", *key, *value;
	struct match_cond name = { 0 }, addr = { 0 }, perm = { 0 };
	bool unknown = false;

	while (fgets(line, sizeof(line), f)) {
		char *s = conf_strip(line);

		if (*s == '#' || *s == ';' || *s == '\0' || section_line(s, sec, sizeof(sec)))
			continue;
		if (strcmp(sec, "Match") != 0 || !key_value(s, &key, &value))
			continue;
		if (strcmp(key, "Name") == 0)
			match_cond_add(&name, value, ifname, false);
		else if (strcmp(key, "MACAddress") == 0)
			match_cond_add(&addr, value, mac, true);
		else if (strcmp(key, "PermanentMACAddress") == 0)
			match_cond_add(&perm, value, mac, true); /* the current MAC stands in */
		else if (*value != '\0')
			unknown = true;
	}
	return !unknown && (name.set || addr.set || perm.set) && match_cond_ok(&name) && match_cond_ok(&addr) &&
	       match_cond_ok(&perm);
}

void kvp_ip_networkd_read(FILE *f, struct kvp_ip_stack_info *info)
{
	char line[1024], sec[64] = "", *key, *value;

	info->found = true;
	while (fgets(line, sizeof(line), f)) {
		char *s = conf_strip(line);

		if (*s == '#' || *s == ';' || *s == '\0' || section_line(s, sec, sizeof(sec)))
			continue;
		if (strcmp(sec, "Network") != 0 || !key_value(s, &key, &value))
			continue;
		if (strcmp(key, "DHCP") == 0)
			info->dhcp = strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
				     strcmp(value, "ipv4") == 0 || strcmp(value, "ipv6") == 0 ||
				     strcmp(value, "both") == 0 || strcmp(value, "1") == 0 ||
				     strcmp(value, "on") == 0;
		else if (strcmp(key, "DNS") == 0)
			add_dns_list(info, value, " \t");
	}
}

/* networkd's runtime state of a link (/run/systemd/netif/links/IFINDEX). */
void kvp_ip_networkd_state_read(FILE *f, struct kvp_ip_stack_info *info, char *network_file, size_t size)
{
	char line[2048], *key, *value;

	if (size > 0)
		network_file[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!key_value(line, &key, &value))
			continue;
		if (strcmp(key, "DNS") == 0) {
			info->found = true;
			add_dns_list(info, value, " \t");
		} else if (strcmp(key, "NETWORK_FILE") == 0 && size > 0) {
			snprintf(network_file, size, "%s", value);
		}
	}
}

static bool ifupdown_top_keyword(const char *w)
{
	static const char *const kw[] = { "iface", "auto", "mapping", "source", "source-directory",
					  "rename", "no-auto-down", "no-scripts" };

	if (strncmp(w, "allow-", 6) == 0)
		return true;
	for (size_t i = 0; i < ELEMENTSOF(kw); i++)
		if (strcmp(w, kw[i]) == 0)
			return true;
	return false;
}

/* /etc/network/interfaces: "iface IF inet dhcp" and dns-nameservers in IF's stanzas. */
void kvp_ip_ifupdown_read(FILE *f, const char *ifname, struct kvp_ip_stack_info *info)
{
	char line[1024];
	bool in = false;

	while (fgets(line, sizeof(line), f)) {
		char *s = conf_strip(line), *save = NULL, *w, *rest;

		if (*s == '#' || *s == '\0')
			continue;
		w = strtok_r(s, " \t", &save);
		if (!w)
			continue;
		if (ifupdown_top_keyword(w)) {
			char *name, *fam, *method;

			in = false;
			if (strcmp(w, "iface") != 0)
				continue;
			name = strtok_r(NULL, " \t", &save);
			fam = strtok_r(NULL, " \t", &save);
			method = strtok_r(NULL, " \t", &save);
			if (!name || strcmp(name, ifname) != 0)
				continue;
			in = true;
			info->found = true;
			if (fam && method && (strcmp(fam, "inet") == 0 || strcmp(fam, "inet6") == 0) &&
			    strcmp(method, "dhcp") == 0)
				info->dhcp = true;
			continue;
		}
		if (in && strcmp(w, "dns-nameservers") == 0) {
			rest = strtok_r(NULL, "", &save);
			if (rest)
				add_dns_list(info, rest, " \t");
		}
	}
}

void kvp_ip_resolv_read(FILE *f, struct kvp_ip_stack_info *info)
{
	char line[1024];

	while (fgets(line, sizeof(line), f)) {
		char *s = conf_strip(line), *save = NULL, *w = strtok_r(s, " \t", &save), *a;

		if (!w || strcmp(w, "nameserver") != 0)
			continue;
		a = strtok_r(NULL, " \t", &save);
		if (a)
			kvp_ip_info_add_dns(info, a);
	}
}

/* ------------------------------------------------------------------------ */
/* Renderers (pure)                                                         */
/* ------------------------------------------------------------------------ */

struct out {
	char *buf;
	size_t size, len;
	bool overflow;
};

static void put(struct out *o, const char *fmt, ...) _printf_(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = true;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
}

static int out_done(struct out *o)
{
	return o->overflow ? -ENOSPC : 0;
}

void kvp_ip_expand6(const struct in6_addr *a, char *buf, size_t size)
{
	const uint8_t *b = a->s6_addr;

	snprintf(buf, size, "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

static size_t count_family(const struct kvp_ip_addr *a, size_t n, int family)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += a[i].family == family;
	return k;
}

/* The kernel daemon's ifcfg-IF (§4.2.2), for hv_set_ifconfig. */
int kvp_ip_render_ifcfg(const struct kvp_ip_request *r, char *buf, size_t size)
{
	struct out o = { buf, size, 0, false };
	unsigned n4 = 0, n6 = 0;
	char mask[16], ex[40];

	buf[0] = '\0';
	put(&o, "HWADDR=%s\nDEVICE=%s\nBOOTPROTO=%s\n", r->mac, r->ifname, r->dhcp ? "dhcp" : "none");
	for (size_t i = 0; i < r->n_addr; i++) {
		const struct kvp_ip_addr *a = &r->addr[i];

		if (a->family == AF_INET) {
			kvp_ip_prefix_to_mask4(r->prefix[i], mask, sizeof(mask));
			put(&o, "IPADDR%u=%s\nNETMASK%u=%s\n", n4, a->text, n4, mask);
			n4++;
		} else {
			kvp_ip_expand6(&a->a.v6, ex, sizeof(ex));
			if (n6 == 0)
				put(&o, "IPV6ADDR=%s\nIPV6NETMASK=%u\n", ex, r->prefix[i]);
			else
				put(&o, "IPV6ADDR_%u=%s\nIPV6NETMASK_%u=%u\n", n6, ex, n6, r->prefix[i]);
			n6++;
		}
	}
	n4 = n6 = 0;
	for (size_t i = 0; i < r->n_gw; i++) {
		const struct kvp_ip_addr *g = &r->gw[i];

		if (g->family == AF_INET) {
			if (n4 == 0)
				put(&o, "GATEWAY=%s\n", g->text);
			else
				put(&o, "GATEWAY%u=%s\n", n4, g->text);
			n4++;
		} else {
			if (n6 == 0)
				put(&o, "IPV6_DEFAULTGW=%s\n", g->text);
			else
				put(&o, "IPV6_DEFAULTGW_%u=%s\n", n6, g->text);
			n6++;
		}
	}
	for (size_t i = 0; i < r->n_dns; i++)
		put(&o, "DNS%zu=%s\n", i + 1, r->dns[i].text);
	return out_done(&o);
}

/* One family's [ipv4]/[ipv6] section of a keyfile. */
static void nm_family(struct out *o, const struct kvp_ip_request *r, int family, bool hook)
{
	size_t na = count_family(r->addr, r->n_addr, family);
	unsigned k = 1;
	const char *method;
	bool first;

	if (family == AF_INET)
		method = r->dhcp ? "auto" : na > 0 ? "manual" : "disabled";
	else
		method = na > 0 ? "manual" : "auto";
	put(o, "\n[%s]\nmethod=%s\n", family == AF_INET ? "ipv4" : "ipv6", method);
	for (size_t i = 0; i < r->n_addr; i++)
		if (r->addr[i].family == family)
			put(o, "address%u=%s/%u\n", k++, r->addr[i].text, r->prefix[i]);
	if (hook) {
		/* The kernel daemon's format: every gateway and server, comma-joined. */
		first = true;
		for (size_t i = 0; i < r->n_gw; i++)
			if (r->gw[i].family == family) {
				put(o, "%s%s", first ? "gateway=" : ",", r->gw[i].text);
				first = false;
			}
		if (!first)
			put(o, "\n");
		first = true;
		for (size_t i = 0; i < r->n_dns; i++)
			if (r->dns[i].family == family) {
				put(o, "%s%s", first ? "dns=" : ",", r->dns[i].text);
				first = false;
			}
		if (!first)
			put(o, "\n");
		return;
	}
	/* NetworkManager takes one gateway per family; the others become default routes. */
	first = true;
	k = 1;
	for (size_t i = 0; i < r->n_gw; i++) {
		if (r->gw[i].family != family)
			continue;
		if (first)
			put(o, "gateway=%s\n", r->gw[i].text);
		else
			put(o, "route%u=%s,%s\n", k++, family == AF_INET ? "0.0.0.0/0" : "::/0", r->gw[i].text);
		first = false;
	}
	first = true;
	for (size_t i = 0; i < r->n_dns; i++)
		if (r->dns[i].family == family) {
			put(o, "%s%s;", first ? "dns=" : "", r->dns[i].text);
			first = false;
		}
	if (!first)
		put(o, "\n");
}

int kvp_ip_render_nm(const struct kvp_ip_request *r, bool hook, char *buf, size_t size)
{
	struct out o = { buf, size, 0, false };

	buf[0] = '\0';
	if (hook)
		put(&o, "[connection]\ninterface-name=%s\ntype=ethernet\n", r->ifname);
	else
		put(&o, CONFIG_HEADER "[connection]\nid=hv-%s\ntype=ethernet\ninterface-name=%s\n"
			"autoconnect=true\n", r->ifname, r->ifname);
	put(&o, "\n[ethernet]\nmac-address=%s\n", r->mac);
	nm_family(&o, r, AF_INET, hook);
	nm_family(&o, r, AF_INET6, hook);
	return out_done(&o);
}

int kvp_ip_render_networkd(const struct kvp_ip_request *r, char *buf, size_t size)
{
	struct out o = { buf, size, 0, false };

	buf[0] = '\0';
	put(&o, CONFIG_HEADER "[Match]\nName=%s\n\n[Network]\nDHCP=%s\n", r->ifname, r->dhcp ? "yes" : "no");
	for (size_t i = 0; i < r->n_addr; i++)
		put(&o, "Address=%s/%u\n", r->addr[i].text, r->prefix[i]);
	for (size_t i = 0; i < r->n_gw; i++)
		put(&o, "Gateway=%s\n", r->gw[i].text);
	for (size_t i = 0; i < r->n_dns; i++)
		put(&o, "DNS=%s\n", r->dns[i].text);
	return out_done(&o);
}

/* One "iface IF FAMILY static" stanza per address; the first carries gateway and DNS. */
static void ifupdown_family(struct out *o, const struct kvp_ip_request *r, int family, bool *dns_done)
{
	const char *fam = family == AF_INET ? "inet" : "inet6";
	bool first = true;

	for (size_t i = 0; i < r->n_addr; i++) {
		if (r->addr[i].family != family)
			continue;
		put(o, "\niface %s %s static\n\taddress %s/%u\n", r->ifname, fam, r->addr[i].text, r->prefix[i]);
		if (first) {
			for (size_t g = 0; g < r->n_gw; g++)
				if (r->gw[g].family == family) {
					put(o, "\tgateway %s\n", r->gw[g].text);
					break;
				}
			if (!*dns_done && r->n_dns > 0) {
				put(o, "\tdns-nameservers");
				for (size_t d = 0; d < r->n_dns; d++)
					put(o, " %s", r->dns[d].text);
				put(o, "\n");
				*dns_done = true;
			}
		}
		first = false;
	}
}

/*
 * ifupdown: with DHCP, "inet dhcp" (static IPv4 addresses are then not
 * written: ifupdown cannot combine both methods in one family); IPv6
 * addresses in "inet6 static" stanzas. ifupdown takes one gateway per
 * stanza, so only the first gateway of each family is used.
 */
int kvp_ip_render_ifupdown(const struct kvp_ip_request *r, char *buf, size_t size)
{
	struct out o = { buf, size, 0, false };
	bool dns_done = false;

	buf[0] = '\0';
	put(&o, CONFIG_HEADER "auto %s\n", r->ifname);
	if (r->dhcp) {
		put(&o, "\niface %s inet dhcp\n", r->ifname);
		if (r->n_dns > 0) {
			put(&o, "\tdns-nameservers");
			for (size_t d = 0; d < r->n_dns; d++)
				put(&o, " %s", r->dns[d].text);
			put(&o, "\n");
			dns_done = true;
		}
	} else {
		ifupdown_family(&o, r, AF_INET, &dns_done);
	}
	ifupdown_family(&o, r, AF_INET6, &dns_done);
	if (!r->dhcp && r->n_addr == 0) {
		put(&o, "\niface %s inet manual\n", r->ifname);
		if (!dns_done && r->n_dns > 0) {
			put(&o, "\tdns-nameservers");
			for (size_t d = 0; d < r->n_dns; d++)
				put(&o, " %s", r->dns[d].text);
			put(&o, "\n");
		}
	}
	return out_done(&o);
}

/* ------------------------------------------------------------------------ */
/* Running programs                                                         */
/* ------------------------------------------------------------------------ */

/* The captured output on one line, for a log message. */
static const char *one_line(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = ch == '\n' || ch == '\t' ? ' ' : ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	while (i > 0 && buf[i - 1] == ' ')
		i--;
	buf[i] = '\0';
	return buf;
}

/* Run a tool; 0 if it exited 0, else -1 (-ETIME: timed out) after a log line naming what it did. */
static int run_logged(const char *path, const char *const argv[], int timeout_ms, bool quiet_failure)
{
	struct spawn_result *res = malloc(sizeof(*res));
	char cmd[256] = "", line[512];
	size_t len = 0;
	int r;

	if (!res)
		return log_error_errno(-ENOMEM, "out of memory");
	for (size_t i = 0; argv[i]; i++) {
		int n = snprintf(cmd + len, sizeof(cmd) - len, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(cmd) - len)
			break;
		len += (size_t)n;
	}
	r = spawn_run(path, argv, timeout_ms, true, res);
	if (r < 0) {
		free(res);
		return -1;
	}
	if (res->timed_out)
		log_error("'%s' did not finish within %.1f s and was killed", cmd, timeout_ms / 1000.0);
	else if (res->status != 0 && !quiet_failure)
		log_error("'%s' failed (exit status %d)%s%s", cmd, res->status, res->len ? ": " : "",
			  one_line(res->out, line, sizeof(line)));
	else if (res->status != 0)
		log_notice("'%s' failed (exit status %d), ignoring%s%s", cmd, res->status,
			   res->len ? ": " : "", one_line(res->out, line, sizeof(line)));
	else
		log_debug("'%s' succeeded", cmd);
	r = res->timed_out ? -ETIME : res->status != 0 ? -1 : 0;
	free(res);
	return r;
}

/* <scripts_dir>/name, if it is an executable regular file. */
static bool hook_path(const struct kvp_ip_config *c, const char *name, char *buf, size_t size)
{
	const char *dir = c->scripts_dir && *c->scripts_dir ? c->scripts_dir : DEFAULT_SCRIPTS_DIR;
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n > 0 && (size_t)n < size && spawn_is_executable(buf);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

/* A regular file opened for reading (never a FIFO or device), or NULL. */
static FILE *open_regular(const char *path)
{
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "re"))) {
		close(fd);
		return NULL;
	}
	return f;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* dir/name replaced atomically by content (temporary file, fsync, rename), with mode. */
static int write_file_atomic(const char *dir, const char *name, const char *content, mode_t mode)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len = strlen(content), done = 0;
	_cleanup_close_ int fd = -1, dfd = -1;
	int r, n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
		return log_error_errno(-ENAMETOOLONG, "path too long: '%s/%s'", dir, name);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create '%s': %m", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(-errno, "cannot create a temporary file in '%s': %m", dir);
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto fail;
	}
	while (done < len) {
		ssize_t k = write(fd, content + done, len - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			goto fail;
		}
		done += (size_t)k;
	}
	if (fsync(fd) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
fail:
	unlink(tmp);
	return log_error_errno(r, "cannot write '%s': %m", path);
}

/* Sorted names in dir (no dotfiles) ending in suffix (NULL: any). Caller frees. */
static char **list_dir(const char *dir, const char *suffix, size_t *ret_n)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	*ret_n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0;
		char **nn;

		if (e->d_name[0] == '.' || len <= sl || (suffix && strcmp(e->d_name + len - sl, suffix) != 0))
			continue;
		if (n >= LIST_DIR_MAX) {
			log_warning("'%s' holds more than %d entries; ignoring the rest", dir, LIST_DIR_MAX);
			break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(e->d_name);
		if (!names[n])
			break;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	*ret_n = n;
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ------------------------------------------------------------------------ */
/* GET_IP_INFO                                                              */
/* ------------------------------------------------------------------------ */

static const char *sysfs_of(const struct kvp_ip_config *c)
{
	return c->sysfs_root && *c->sysfs_root ? c->sysfs_root : "/sys";
}

/* <sysfs>/class/net/IF/file, first line. */
static int read_if_attr(const struct kvp_ip_config *c, const char *ifname, const char *file, char *buf,
			size_t size)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s/class/net/%s/%s", sysfs_of(c), ifname, file);

	if (n < 0 || (size_t)n >= sizeof(p))
		return -ENAMETOOLONG;
	return read_line_file(p, buf, size);
}

/* Is ifname a loopback interface (sysfs flags has IFF_LOOPBACK)? */
static bool is_loopback(const struct kvp_ip_config *c, const char *ifname)
{
	char value[32], *end;
	unsigned long flags;

	if (read_if_attr(c, ifname, "flags", value, sizeof(value)) < 0)
		return false;
	errno = 0;
	flags = strtoul(value, &end, 16);
	return errno == 0 && end != value && (flags & IFF_LOOPBACK);
}

/* Interfaces (valid names only, never loopback, sorted) whose attribute satisfies match. */
static size_t find_interfaces(const struct kvp_ip_config *c, const char *attr,
			      bool (*match)(const char *, const char *), const char *want,
			      char (*names)[IF_NAMESIZE], size_t max)
{
	char dir[PATH_MAX], value[128], pr[64];
	size_t n_all, n = 0;
	char **all;

	snprintf(dir, sizeof(dir), "%s/class/net", sysfs_of(c));
	all = list_dir(dir, NULL, &n_all);
	for (size_t i = 0; i < n_all && n < max; i++) {
		if (!kvp_ip_ifname_valid(all[i])) {
			log_warning("ignoring the interface name '%s' in '%s': not usable in a path or as a "
				    "program's argument", printable(all[i], pr, sizeof(pr)), dir);
			continue;
		}
		if (read_if_attr(c, all[i], attr, value, sizeof(value)) < 0 || !match(value, want) ||
		    is_loopback(c, all[i]))
			continue;
		snprintf(names[n++], IF_NAMESIZE, "%s", all[i]);
	}
	free_names(all, n_all);
	return n;
}

static unsigned family_bit(int family)
{
	return family == AF_INET ? KVP_ADDR_FAMILY_IPV4 : family == AF_INET6 ? KVP_ADDR_FAMILY_IPV6 : 0;
}

/*
 * The addresses of exactly ifname (strcmp, not a prefix) of the wanted
 * families; with out, appended to its lists (an address and its mask both
 * fit or neither is written). Returns how many there are.
 */
static int collect_addrs(struct ifaddrs *list, const char *ifname, unsigned want, struct kvp_ip_info *out,
			 int *dropped)
{
	int count = 0;

	for (struct ifaddrs *a = list; a; a = a->ifa_next) {
		char text[INET6_ADDRSTRLEN], mask[INET6_ADDRSTRLEN + 1];
		int family, p;

		if (!a->ifa_addr || !a->ifa_name || strcmp(a->ifa_name, ifname) != 0 ||
		    (a->ifa_flags & IFF_LOOPBACK))
			continue;
		family = a->ifa_addr->sa_family;
		if (!(family_bit(family) & want))
			continue;
		count++;
		if (!out)
			continue;
		if (family == AF_INET) {
			const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)a->ifa_addr;
			const struct sockaddr_in *m = (const struct sockaddr_in *)(const void *)a->ifa_netmask;

			inet_ntop(AF_INET, &s->sin_addr, text, sizeof(text));
			if (m)
				inet_ntop(AF_INET, &m->sin_addr, mask, sizeof(mask));
			else
				snprintf(mask, sizeof(mask), "255.255.255.255");
		} else {
			const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)a->ifa_addr;
			const struct sockaddr_in6 *m = (const struct sockaddr_in6 *)(const void *)a->ifa_netmask;

			inet_ntop(AF_INET6, &s->sin6_addr, text, sizeof(text));
			p = m ? kvp_ip_mask_bytes_to_prefix(m->sin6_addr.s6_addr, 16) : 128;
			snprintf(mask, sizeof(mask), "/%d", p < 0 ? 128 : p);
		}
		if (!kvp_ip_list_fits(out->ip_addr, KVP_IP_ADDR_CHARS, text) ||
		    !kvp_ip_list_fits(out->sub_net, KVP_IP_SUB_NET_CHARS, mask)) {
			(*dropped)++;
			continue;
		}
		kvp_ip_list_add(out->ip_addr, KVP_IP_ADDR_CHARS, text);
		kvp_ip_list_add(out->sub_net, KVP_IP_SUB_NET_CHARS, mask);
		out->addr_family |= (uint8_t)family_bit(family);
	}
	return count;
}

/* The stack's view of ifname: DHCP and DNS servers, from its configuration files. */
static void stack_info(const struct kvp_ip_config *c, enum kvp_ip_stack st, const char *ifname,
		       const char *mac, struct kvp_ip_stack_info *info)
{
	const char *root = root_of(c);
	char p[PATH_MAX];
	char **names;
	size_t n;
	FILE *f;

	switch (st) {
	case KVP_IP_STACK_NETWORKMANAGER: {
		static const char *const dirs[] = { "/etc/NetworkManager/system-connections",
						    "/run/NetworkManager/system-connections" };

		/*
		 * Which profile describes the interface: our own hv-IF (written and
		 * activated by SET_IP_INFO, so it is the one in use) when it exists and
		 * matches; otherwise the first keyfile, in name order, /etc before /run,
		 * whose interface-name (or, without one, mac-address) matches.
		 */
		if (rooted(p, sizeof(p), root, "%s/hv-%s.nmconnection", dirs[0], ifname) && (f = open_regular(p))) {
			if (kvp_ip_nm_keyfile_read(f, ifname, mac, info))
				log_debug("GET_IP_INFO: %s is configured by '%s'", ifname, p);
			fclose(f);
		}
		for (size_t d = 0; d < ELEMENTSOF(dirs) && !info->found; d++) {
			char dir[PATH_MAX];

			if (!rooted(dir, sizeof(dir), root, "%s", dirs[d]))
				continue;
			names = list_dir(dir, ".nmconnection", &n);
			for (size_t i = 0; i < n && !info->found; i++) {
				if (!rooted(p, sizeof(p), dir, "/%s", names[i]) || !(f = open_regular(p)))
					continue;
				if (kvp_ip_nm_keyfile_read(f, ifname, mac, info))
					log_debug("GET_IP_INFO: %s is configured by '%s'", ifname, p);
				fclose(f);
			}
			free_names(names, n);
		}
		break;
	}
	case KVP_IP_STACK_NETWORKD: {
		static const char *const dirs[] = { "/etc/systemd/network", "/run/systemd/network",
						    "/usr/lib/systemd/network" };
		char idx[32], network_file[PATH_MAX] = "", *chosen = NULL;
		char **all[ELEMENTSOF(dirs)];
		size_t nall[ELEMENTSOF(dirs)];

		/* The runtime state first: the servers in use and the file networkd chose. */
		if (read_if_attr(c, ifname, "ifindex", idx, sizeof(idx)) == 0 &&
		    strspn(idx, "0123456789") == strlen(idx) && *idx &&
		    rooted(p, sizeof(p), root, "/run/systemd/netif/links/%s", idx) && (f = open_regular(p))) {
			kvp_ip_networkd_state_read(f, info, network_file, sizeof(network_file));
			fclose(f);
		}
		if (network_file[0] == '/' && rooted(p, sizeof(p), root, "%s", network_file) &&
		    (f = open_regular(p))) {
			kvp_ip_networkd_read(f, info);
			fclose(f);
			break;
		}
		/* Otherwise the first file, in the order of names, whose [Match] applies;
		 * a name in /etc hides the same name in /run, which hides /usr/lib. */
		for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
			char dir[PATH_MAX];

			all[d] = NULL;
			nall[d] = 0;
			if (rooted(dir, sizeof(dir), root, "%s", dirs[d]))
				all[d] = list_dir(dir, ".network", &nall[d]);
		}
		for (;;) {
			size_t best_d = 0, best_i = 0;
			bool any = false;

			/* The smallest name not yet tried, from the highest-priority directory. */
			for (size_t d = 0; d < ELEMENTSOF(dirs); d++)
				for (size_t i = 0; i < nall[d]; i++) {
					if (!all[d][i])
						continue;
					if (!any || strcmp(all[d][i], all[best_d][best_i]) < 0) {
						best_d = d;
						best_i = i;
						any = true;
					}
					break;
				}
			if (!any)
				break;
			chosen = all[best_d][best_i];
			if (rooted(p, sizeof(p), root, "%s/%s", dirs[best_d], chosen) && (f = open_regular(p))) {
				bool m = kvp_ip_networkd_matches(f, ifname, mac);

				if (m) {
					rewind(f);
					kvp_ip_networkd_read(f, info);
					log_debug("GET_IP_INFO: %s is configured by '%s'", ifname, p);
				}
				fclose(f);
				if (m)
					break;
			}
			/* Mark this name as tried in every directory. */
			for (size_t d = 0; d < ELEMENTSOF(dirs); d++)
				for (size_t i = 0; i < nall[d]; i++)
					if (all[d][i] && all[d][i] != chosen && strcmp(all[d][i], chosen) == 0) {
						free(all[d][i]);
						all[d][i] = NULL;
					}
			free(all[best_d][best_i]);
			all[best_d][best_i] = NULL;
		}
		for (size_t d = 0; d < ELEMENTSOF(dirs); d++)
			free_names(all[d], nall[d]);
		break;
	}
	case KVP_IP_STACK_IFUPDOWN: {
		char dir[PATH_MAX];

		if (rooted(p, sizeof(p), root, "/etc/network/interfaces") && (f = open_regular(p))) {
			kvp_ip_ifupdown_read(f, ifname, info);
			fclose(f);
		}
		if (!rooted(dir, sizeof(dir), root, "/etc/network/interfaces.d"))
			break;
		names = list_dir(dir, NULL, &n);
		for (size_t i = 0; i < n; i++) {
			if (!rooted(p, sizeof(p), dir, "/%s", names[i]) || !(f = open_regular(p)))
				continue;
			kvp_ip_ifupdown_read(f, ifname, info);
			fclose(f);
		}
		free_names(names, n);
		break;
	}
	case KVP_IP_STACK_NONE:
		break;
	}
	if (info->n_dns == 0 && rooted(p, sizeof(p), root, "/etc/resolv.conf") && (f = open_regular(p))) {
		kvp_ip_resolv_read(f, info);
		fclose(f);
	}
}

/* DNS servers and DHCP from the hooks when they exist, else from the stack. */
static void dns_dhcp(const struct kvp_ip_config *c, const char *ifname, const char *mac,
		     struct kvp_ip_stack_info *info, bool *dhcp)
{
	char dns_hook[PATH_MAX], dhcp_hook[PATH_MAX], line[256];
	bool have_dns = hook_path(c, "hv_get_dns_info", dns_hook, sizeof(dns_hook));
	bool have_dhcp = hook_path(c, "hv_get_dhcp_info", dhcp_hook, sizeof(dhcp_hook));
	struct spawn_result *res;

	*dhcp = false;
	if (!have_dns || !have_dhcp) {
		struct kvp_ip_stack_info native = { 0 };

		stack_info(c, kvp_ip_stack_detect(c), ifname, mac, &native);
		if (!have_dns)
			*info = native;
		if (!have_dhcp)
			*dhcp = native.dhcp;
	}
	if (!have_dns && !have_dhcp)
		return;
	res = malloc(sizeof(*res));
	if (!res)
		return;
	if (have_dns) {
		const char *argv[] = { dns_hook, ifname, NULL };
		char *save = NULL;

		memset(info, 0, sizeof(*info));
		if (spawn_run(dns_hook, argv, HOOK_TIMEOUT_MS, false, res) == 0) {
			if (res->timed_out || res->status != 0)
				log_warning("'%s %s' %s; using what it printed", dns_hook, ifname,
					    res->timed_out ? "timed out" : "failed");
			for (char *t = strtok_r(res->out, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
				struct kvp_ip_addr a;
				char *s = conf_strip(t);

				if (*s == '\0')
					continue;
				kvp_ip_info_add_dns(info, s);
				if (kvp_ip_parse_addr(s, &a) < 0 && strchr(s, '%') == NULL)
					log_warning("'%s' printed '%s', not an address, ignoring", dns_hook,
						    printable(s, line, sizeof(line)));
			}
		}
	}
	if (have_dhcp) {
		const char *argv[] = { dhcp_hook, ifname, NULL };

		if (spawn_run(dhcp_hook, argv, HOOK_TIMEOUT_MS, false, res) == 0) {
			if (res->timed_out || res->status != 0)
				log_warning("'%s %s' %s", dhcp_hook, ifname, res->timed_out ? "timed out" : "failed");
			*dhcp = strncmp(res->out, "Enabled", 7) == 0;
		}
	}
	free(res);
}

static void upper(char *s)
{
	for (; *s; s++)
		*s = (char)toupper((unsigned char)*s);
}

uint32_t kvp_ip_get(const struct kvp_ip_config *c, const struct kvp_ip_info *in, struct kvp_ip_info *out)
{
	char names[MAX_CANDIDATES][IF_NAMESIZE], mac[64], pr[128];
	unsigned want = in->addr_family & (KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6);
	struct kvp_ip_stack_info *info = NULL;
	struct ifaddrs *ifa = NULL;
	int dropped = 0, gw_dropped = 0, dns_dropped = 0;
	size_t n, pick = 0;
	bool dhcp;
	FILE *f;

	memset(out, 0, sizeof(*out));
	snprintf(out->adapter_id, sizeof(out->adapter_id), "%s", in->adapter_id);
	if (want == 0)
		want = KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6;

	n = find_interfaces(c, "address", kvp_ip_mac_equal, in->adapter_id, names, ELEMENTSOF(names));
	if (n == 0) {
		log_error("GET_IP_INFO: no network interface has the MAC address '%s'",
			  printable(in->adapter_id, pr, sizeof(pr)));
		return VMBUS_HV_E_FAIL;
	}
	if (getifaddrs(&ifa) < 0) {
		log_error_errno(-errno, "GET_IP_INFO: cannot list the addresses: %m");
		return VMBUS_HV_E_FAIL;
	}
	/*
	 * Several interfaces with that MAC (an SR-IOV VF and its synthetic NIC):
	 * the first with an address of either family. An interface without any
	 * address is skipped; none left is HV_E_FAIL, as with the kernel daemon.
	 */
	for (pick = 0; pick < n; pick++)
		if (collect_addrs(ifa, names[pick], KVP_ADDR_FAMILY_IPV4 | KVP_ADDR_FAMILY_IPV6, NULL, NULL) > 0)
			break;
	if (pick == n) {
		freeifaddrs(ifa);
		if (n == 1)
			log_error("GET_IP_INFO: %s, the interface with the MAC address '%s', has no IP address",
				  names[0], printable(in->adapter_id, pr, sizeof(pr)));
		else
			log_error("GET_IP_INFO: none of the %zu interfaces with the MAC address '%s' (%s, ...) "
				  "has an IP address", n, printable(in->adapter_id, pr, sizeof(pr)), names[0]);
		return VMBUS_HV_E_FAIL;
	}
	if (n > 1)
		log_debug("GET_IP_INFO: %zu interfaces have the MAC address, reporting %s", n, names[pick]);
	collect_addrs(ifa, names[pick], want, out, &dropped);
	freeifaddrs(ifa);
	if (dropped > 0)
		log_warning("GET_IP_INFO: %s has %d more addresses than fit in the reply, left out", names[pick],
			    dropped);

	/* Default gateways of this interface only (this network namespace's tables). */
	if ((want & KVP_ADDR_FAMILY_IPV4) && (f = fopen("/proc/net/route", "re"))) {
		gw_dropped += kvp_ip_routes4(f, names[pick], out->gate_way, KVP_IP_GATE_WAY_CHARS);
		fclose(f);
	}
	if ((want & KVP_ADDR_FAMILY_IPV6) && (f = fopen("/proc/net/ipv6_route", "re"))) {
		gw_dropped += kvp_ip_routes6(f, names[pick], out->gate_way, KVP_IP_GATE_WAY_CHARS);
		fclose(f);
	}
	if (gw_dropped > 0)
		log_warning("GET_IP_INFO: %d gateways of %s do not fit in the reply, left out", gw_dropped,
			    names[pick]);

	info = calloc(1, sizeof(*info));
	if (!info)
		return VMBUS_HV_E_FAIL;
	if (read_if_attr(c, names[pick], "address", mac, sizeof(mac)) < 0)
		mac[0] = '\0';
	upper(mac);
	dns_dhcp(c, names[pick], mac, info, &dhcp);
	out->dhcp_enabled = dhcp;
	for (size_t i = 0; i < info->n_dns; i++) {
		struct kvp_ip_addr a;

		if (kvp_ip_parse_addr(info->dns[i], &a) < 0 || !(family_bit(a.family) & want))
			continue;
		if (kvp_ip_list_add(out->dns_addr, KVP_IP_DNS_ADDR_CHARS, a.text) < 0)
			dns_dropped++;
	}
	free(info);
	if (dns_dropped > 0)
		log_warning("GET_IP_INFO: %d DNS servers of %s do not fit in the reply, left out", dns_dropped,
			    names[pick]);
	return VMBUS_HV_S_OK;
}

/* ------------------------------------------------------------------------ */
/* SET_IP_INFO                                                              */
/* ------------------------------------------------------------------------ */

static bool guid_match(const char *sysfs, const char *host)
{
	return kvp_ip_guid_equal(sysfs, host);
}

/* Milliseconds left before deadline for the step what; 0 after a log line when none are. */
static int time_left(int64_t deadline, const char *what)
{
	int64_t left = deadline - spawn_now_ms();

	if (left <= 0) {
		log_error("SET_IP_INFO: out of time (%d s for the whole request) before it could %s",
			  SET_DEADLINE_MS / 1000, what);
		return 0;
	}
	return (int)left;
}

/* Run a program for what, with the time left before deadline; 0, -1 or -ETIME (logged). */
static int run_step(const char *what, const char *path, const char *const argv[], bool tolerate, int64_t deadline)
{
	int left = time_left(deadline, what), r;

	if (left == 0)
		return -ETIME;
	r = run_logged(path, argv, left, tolerate);
	if (r == -ETIME)
		log_error("SET_IP_INFO: out of time (%d s for the whole request) while trying to %s",
			  SET_DEADLINE_MS / 1000, what);
	return r;
}

/* Run a stack tool found in PATH (argv[0] is its name) within deadline. */
static int tool(const char *what, const char *const argv[], bool tolerate, int64_t deadline)
{
	char path[PATH_MAX];

	if (!spawn_find_tool(argv[0], path, sizeof(path))) {
		log_error("SET_IP_INFO: '%s' not found in PATH (%s), cannot %s", argv[0], spawn_search_path(), what);
		return -1;
	}
	return run_step(what, path, argv, tolerate, deadline);
}

/* The hook: the kernel daemon's two files in state_dir, then hv_set_ifconfig with their paths. */
static uint32_t set_with_hook(const struct kvp_ip_config *c, const struct kvp_ip_request *r, char *hook,
			      char *buf, int64_t deadline)
{
	const char *dir = c->state_dir && *c->state_dir ? c->state_dir : "/var/lib/hyperv";
	char ifcfg[PATH_MAX], nm[PATH_MAX], name[64];
	const char *argv[4] = { NULL };

	snprintf(name, sizeof(name), "ifcfg-%s", r->ifname);
	if (kvp_ip_render_ifcfg(r, buf, RENDER_MAX) < 0 || write_file_atomic(dir, name, buf, 0600) < 0)
		return VMBUS_HV_E_FAIL;
	snprintf(ifcfg, sizeof(ifcfg), "%s/%s", dir, name);
	snprintf(name, sizeof(name), "%s.nmconnection", r->ifname);
	if (kvp_ip_render_nm(r, true, buf, RENDER_MAX) < 0 || write_file_atomic(dir, name, buf, 0600) < 0)
		return VMBUS_HV_E_FAIL;
	snprintf(nm, sizeof(nm), "%s/%s", dir, name);
	argv[0] = hook;
	argv[1] = ifcfg;
	argv[2] = nm;
	if (run_step("run the hook", hook, argv, false, deadline) < 0) {
		log_error("SET_IP_INFO: '%s' did not configure %s", hook, r->ifname);
		return VMBUS_HV_E_FAIL;
	}
	log_info("SET_IP_INFO: %s configured by '%s'", r->ifname, hook);
	return VMBUS_HV_S_OK;
}

/* No stack: replace the kernel's addresses and default routes with ip(8). */
static uint32_t set_none(const struct kvp_ip_request *r, int64_t deadline)
{
	char ifname[IF_NAMESIZE], cidr[80];

	snprintf(ifname, sizeof(ifname), "%s", r->ifname);
	if (r->dhcp) {
		log_error("SET_IP_INFO: DHCP requested for %s, but no network stack is in use to run a DHCP "
			  "client (set --network-stack, or install a hv_set_ifconfig hook)", ifname);
		return VMBUS_HV_E_FAIL;
	}
	{
		const char *a1[] = { "ip", "-4", "addr", "flush", "dev", ifname, NULL };
		const char *a2[] = { "ip", "-6", "addr", "flush", "dev", ifname, "scope", "global", NULL };
		const char *a3[] = { "ip", "-4", "route", "flush", "dev", ifname, NULL };
		const char *a4[] = { "ip", "-6", "route", "flush", "dev", ifname, "proto", "static", NULL };
		const char *a5[] = { "ip", "link", "set", "dev", ifname, "up", NULL };

		if (tool("remove the old addresses", a1, false, deadline) < 0 ||
		    tool("remove the old addresses", a2, false, deadline) < 0 ||
		    tool("remove the old routes", a3, false, deadline) < 0 ||
		    tool("remove the old routes", a4, true, deadline) < 0 || tool("bring the link up", a5, false, deadline) < 0)
			goto fail;
	}
	for (size_t i = 0; i < r->n_addr; i++) {
		const char *a[] = { "ip", r->addr[i].family == AF_INET ? "-4" : "-6", "addr", "add", cidr, "dev",
			      ifname, NULL };

		snprintf(cidr, sizeof(cidr), "%s/%u", r->addr[i].text, r->prefix[i]);
		if (tool("add an address", a, false, deadline) < 0)
			goto fail;
	}
	for (size_t i = 0; i < r->n_gw; i++) {
		char gw[sizeof(r->gw[i].text)];
		const char *a[] = { "ip", r->gw[i].family == AF_INET ? "-4" : "-6", "route", "append", "default", "via",
			      gw, "dev", ifname, NULL };

		snprintf(gw, sizeof(gw), "%s", r->gw[i].text);
		if (tool("add a default route", a, false, deadline) < 0)
			goto fail;
	}
	if (r->n_dns > 0)
		log_notice("SET_IP_INFO: no network stack is in use; the DNS servers for %s are not applied",
			   ifname);
	log_info("SET_IP_INFO: %s configured directly (%zu addresses, %zu gateways)", ifname, r->n_addr,
		 r->n_gw);
	return VMBUS_HV_S_OK;
fail:
	log_error("SET_IP_INFO: configuring %s failed; it may be left partly configured", ifname);
	return VMBUS_HV_E_FAIL;
}

/* Does the ifupdown file at path have an "iface ifname" stanza? */
static bool ifupdown_file_has(const char *path, const char *ifname)
{
	struct kvp_ip_stack_info *info = calloc(1, sizeof(*info));
	bool found = false;
	FILE *f;

	if (!info)
		return false;
	if ((f = open_regular(path))) {
		kvp_ip_ifupdown_read(f, ifname, info);
		found = info->found;
		fclose(f);
	}
	free(info);
	return found;
}

/*
 * Our interfaces.d/hv-IF adds a stanza for IF; another one in
 * /etc/network/interfaces or interfaces.d makes ifupdown see both. Other
 * files are not ours to edit: warn, naming them.
 */
static void ifupdown_warn_others(const char *root, const char *dir, const char *ours, const char *ifname)
{
	char p[PATH_MAX];
	char **names;
	size_t n;

	if (rooted(p, sizeof(p), root, "/etc/network/interfaces") && ifupdown_file_has(p, ifname))
		log_warning("SET_IP_INFO: '%s' also configures %s; ifupdown sees both it and '%s/%s'", p, ifname,
			    dir, ours);
	names = list_dir(dir, NULL, &n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], ours) == 0)
			continue;
		if (rooted(p, sizeof(p), dir, "/%s", names[i]) && ifupdown_file_has(p, ifname))
			log_warning("SET_IP_INFO: '%s' also configures %s; ifupdown sees both it and '%s/%s'", p,
				    ifname, dir, ours);
	}
	free_names(names, n);
}

static uint32_t set_stack(const struct kvp_ip_config *c, enum kvp_ip_stack st, const struct kvp_ip_request *r,
			  char *buf, int64_t deadline)
{
	const char *root = root_of(c);
	char dir[PATH_MAX], name[64], ifname[IF_NAMESIZE], conn[32];
	mode_t mode = 0644;
	int k = -1;

	snprintf(ifname, sizeof(ifname), "%s", r->ifname);
	switch (st) {
	case KVP_IP_STACK_NETWORKMANAGER:
		/* NetworkManager ignores keyfiles readable by others. */
		mode = 0600;
		snprintf(name, sizeof(name), "hv-%s.nmconnection", ifname);
		if (!rooted(dir, sizeof(dir), root, "/etc/NetworkManager/system-connections"))
			return VMBUS_HV_E_FAIL;
		k = kvp_ip_render_nm(r, false, buf, RENDER_MAX);
		break;
	case KVP_IP_STACK_NETWORKD:
		snprintf(name, sizeof(name), "10-hv-%s.network", ifname);
		if (!rooted(dir, sizeof(dir), root, "/etc/systemd/network"))
			return VMBUS_HV_E_FAIL;
		k = kvp_ip_render_networkd(r, buf, RENDER_MAX);
		break;
	case KVP_IP_STACK_IFUPDOWN:
		snprintf(name, sizeof(name), "hv-%s", ifname);
		if (!rooted(dir, sizeof(dir), root, "/etc/network/interfaces.d"))
			return VMBUS_HV_E_FAIL;
		if (r->dhcp && count_family(r->addr, r->n_addr, AF_INET) > 0)
			log_notice("SET_IP_INFO: ifupdown cannot combine DHCP and static IPv4 addresses; %s gets "
				   "DHCP", ifname);
		ifupdown_warn_others(root, dir, name, ifname);
		k = kvp_ip_render_ifupdown(r, buf, RENDER_MAX);
		break;
	case KVP_IP_STACK_NONE:
		return set_none(r, deadline);
	}
	if (k < 0) {
		log_error("SET_IP_INFO: the configuration of %s is too large", ifname);
		return VMBUS_HV_E_FAIL;
	}
	if (write_file_atomic(dir, name, buf, mode) < 0)
		return VMBUS_HV_E_FAIL;
	log_info("SET_IP_INFO: wrote '%s/%s' for %s", dir, name, kvp_ip_stack_name(st));

	switch (st) {
	case KVP_IP_STACK_NETWORKMANAGER: {
		const char *a1[] = { "nmcli", "connection", "reload", NULL };
		const char *a2[] = { "nmcli", "connection", "up", "id", conn, NULL };

		snprintf(conn, sizeof(conn), "hv-%s", ifname);
		k = tool("reload NetworkManager's profiles", a1, false, deadline);
		if (k == 0)
			k = tool("activate the profile", a2, false, deadline);
		break;
	}
	case KVP_IP_STACK_NETWORKD: {
		const char *a1[] = { "networkctl", "reload", NULL };
		const char *a2[] = { "networkctl", "reconfigure", "--", ifname, NULL };

		k = tool("reload systemd-networkd", a1, false, deadline);
		if (k == 0)
			k = tool("reconfigure the interface", a2, false, deadline);
		break;
	}
	case KVP_IP_STACK_IFUPDOWN: {
		const char *a1[] = { "ifdown", "--", ifname, NULL };
		const char *a2[] = { "ifup", "--", ifname, NULL };

		(void)tool("take the interface down", a1, true, deadline);
		k = tool("bring the interface up", a2, false, deadline);
		break;
	}
	case KVP_IP_STACK_NONE:
		break;
	}
	if (k < 0) {
		log_error("SET_IP_INFO: applying the configuration of %s failed; it stays in '%s/%s'", ifname, dir,
			  name);
		return VMBUS_HV_E_FAIL;
	}
	log_info("SET_IP_INFO: %s configured through %s", ifname, kvp_ip_stack_name(st));
	return VMBUS_HV_S_OK;
}

uint32_t kvp_ip_set(const struct kvp_ip_config *c, const struct kvp_ip_info *in)
{
	char names[2][IF_NAMESIZE], hook[PATH_MAX], pr[128];
	struct kvp_ip_request *r;
	int64_t deadline = spawn_now_ms() + SET_DEADLINE_MS;
	uint32_t status;
	char *buf;
	size_t n;

	n = find_interfaces(c, "device/device_id", guid_match, in->adapter_id, names, ELEMENTSOF(names));
	if (n == 0) {
		log_error("SET_IP_INFO: no network interface has the VMBus device GUID '%s'",
			  printable(in->adapter_id, pr, sizeof(pr)));
		return VMBUS_HV_GUID_NOTFOUND;
	}
	r = calloc(1, sizeof(*r));
	buf = malloc(RENDER_MAX);
	if (!r || !buf) {
		free(r);
		free(buf);
		log_error("SET_IP_INFO: out of memory");
		return VMBUS_HV_E_FAIL;
	}
	status = kvp_ip_parse_request(in, r);
	if (status != VMBUS_HV_S_OK)
		goto out;
	snprintf(r->ifname, sizeof(r->ifname), "%s", names[0]);
	if (read_if_attr(c, r->ifname, "address", r->mac, sizeof(r->mac)) < 0) {
		log_warning("SET_IP_INFO: cannot read the MAC address of %s", r->ifname);
		r->mac[0] = '\0';
	}
	upper(r->mac);
	log_info("SET_IP_INFO: %s: dhcp %s, %zu addresses, %zu gateways, %zu DNS servers", r->ifname,
		 r->dhcp ? "on" : "off", r->n_addr, r->n_gw, r->n_dns);
	if (hook_path(c, "hv_set_ifconfig", hook, sizeof(hook)))
		status = set_with_hook(c, r, hook, buf, deadline);
	else
		status = set_stack(c, kvp_ip_stack_detect(c), r, buf, deadline);
out:
	free(buf);
	free(r);
	return status;
}
