/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kvp-auto.h"
#include "log.h"
#include "macro.h"

/* The resolver may be slow; its answer is reused this long unless the host name changed. */
#define FQDN_CACHE_SECONDS 30
#define OS_RELEASE_MAX 65536

static const char *const keys[KVP_AUTO_COUNT] = {
	[KVP_AUTO_FQDN] = "FullyQualifiedDomainName",
	[KVP_AUTO_INTEGRATION_SERVICES_VERSION] = "IntegrationServicesVersion",
	[KVP_AUTO_NETWORK_ADDRESS_IPV4] = "NetworkAddressIPv4",
	[KVP_AUTO_NETWORK_ADDRESS_IPV6] = "NetworkAddressIPv6",
	[KVP_AUTO_OS_BUILD_NUMBER] = "OSBuildNumber",
	[KVP_AUTO_OS_NAME] = "OSName",
	[KVP_AUTO_OS_MAJOR_VERSION] = "OSMajorVersion",
	[KVP_AUTO_OS_MINOR_VERSION] = "OSMinorVersion",
	[KVP_AUTO_OS_VERSION] = "OSVersion",
	[KVP_AUTO_PROCESSOR_ARCHITECTURE] = "ProcessorArchitecture",
};

const char *kvp_auto_key(unsigned index)
{
	return index < KVP_AUTO_COUNT ? keys[index] : NULL;
}

int kvp_auto_find(const char *key)
{
	for (unsigned i = 0; i < KVP_AUTO_COUNT; i++)
		if (strcmp(keys[i], key) == 0)
			return (int)i;
	return -1;
}

/* One shell-style value: "quoted", 'quoted' or bare, with \ escapes in double quotes. */
static void unquote(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;
	char q = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!q && (c == '"' || c == '\'')) {
			q = c;
			continue;
		}
		if (q && c == q) {
			q = 0;
			continue;
		}
		if (q == '"' && c == '\\' && i + 1 < len && strchr("\"\\$`", s[i + 1]))
			c = s[++i];
		else if (!q && c == '\\' && i + 1 < len)
			c = s[++i];
		else if (!q && (c == ' ' || c == '\t' || c == '#'))
			break;
		if (o + 1 < size)
			out[o++] = c;
	}
	out[o] = '\0';
}

int kvp_os_release_parse(const char *text, size_t len, char *name, size_t name_size, char *version,
			 size_t version_size)
{
	size_t i = 0;

	if (name_size)
		name[0] = '\0';
	if (version_size)
		version[0] = '\0';
	while (i < len) {
		const char *line = text + i, *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;

		i += n + 1;
		while (n && (*line == ' ' || *line == '\t')) {
			line++;
			n--;
		}
		if (n > 5 && memcmp(line, "NAME=", 5) == 0)
			unquote(line + 5, n - 5, name, name_size);
		else if (n > 11 && memcmp(line, "VERSION_ID=", 11) == 0)
			unquote(line + 11, n - 11, version, version_size);
	}
	return 0;
}

static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void os_release(const struct kvp_auto_config *c, char *name, size_t name_size, char *version,
		       size_t version_size)
{
	static const char *const defaults[] = { "/etc/os-release", "/usr/lib/os-release" };
	char buf[OS_RELEASE_MAX];
	ssize_t n = -ENOENT;

	if (c && c->os_release) {
		n = read_small_file(c->os_release, buf, sizeof(buf));
	} else {
		for (size_t i = 0; i < ELEMENTSOF(defaults) && n < 0; i++)
			n = read_small_file(defaults[i], buf, sizeof(buf));
	}
	if (n < 0) {
		name[0] = version[0] = '\0';
		return;
	}
	kvp_os_release_parse(buf, (size_t)n, name, name_size, version, version_size);
}

/* Append s to buf (';' between entries) if it fits whole. */
static bool append_entry(char *buf, size_t size, const char *s)
{
	size_t used = strlen(buf), n = strlen(s);

	if (used + (used ? 1 : 0) + n + 1 > size)
		return false;
	if (used)
		buf[used++] = ';';
	memcpy(buf + used, s, n + 1);
	return true;
}

/* Every address of one family on every interface but loopback, as the kernel daemon reports them. */
static void addresses(int family, char *buf, size_t size)
{
	struct ifaddrs *ifa_list, *ifa;
	unsigned dropped = 0;

	buf[0] = '\0';
	if (getifaddrs(&ifa_list) < 0) {
		log_warning_errno(errno, "kvp: cannot list network addresses: %m");
		return;
	}
	for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
		char addr[INET6_ADDRSTRLEN];
		const void *a;

		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != family || (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		if (family == AF_INET)
			a = &((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr;
		else
			a = &((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr;
		if (!inet_ntop(family, a, addr, sizeof(addr)))
			continue;
		if (!append_entry(buf, size, addr))
			dropped++;
	}
	freeifaddrs(ifa_list);
	if (dropped)
		log_warning("kvp: %u %s addresses do not fit in the %zu bytes of a value and are not reported",
			    dropped, family == AF_INET ? "IPv4" : "IPv6", size - 1);
}

static void fqdn(char *buf, size_t size)
{
	static char cached_host[256], cached_fqdn[1024];
	static struct timespec cached_at;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_CANONNAME }, *ai = NULL;
	char host[256] = "";
	struct timespec now;
	int r;

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (cached_host[0] && strcmp(host, cached_host) == 0 && now.tv_sec - cached_at.tv_sec < FQDN_CACHE_SECONDS) {
		snprintf(buf, size, "%s", cached_fqdn);
		return;
	}
	r = host[0] ? getaddrinfo(host, NULL, &hints, &ai) : EAI_NONAME;
	if (r == 0 && ai && ai->ai_canonname && ai->ai_canonname[0]) {
		snprintf(cached_fqdn, sizeof(cached_fqdn), "%s", ai->ai_canonname);
	} else {
		/* Better the bare host name than the kernel daemon's "getaddrinfo failed" text. */
		log_debug("kvp: no canonical name for '%s' (%s), reporting the host name", host,
			  r ? gai_strerror(r) : "none");
		snprintf(cached_fqdn, sizeof(cached_fqdn), "%s", host);
	}
	if (ai)
		freeaddrinfo(ai);
	snprintf(cached_host, sizeof(cached_host), "%s", host);
	cached_at = now;
	snprintf(buf, size, "%s", cached_fqdn);
}

int kvp_auto_value(const struct kvp_auto_config *c, unsigned index, char *buf, size_t size)
{
	struct utsname u;
	char name[256], version[256];

	if (index >= KVP_AUTO_COUNT)
		return -ENOENT;
	if (size == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (index == KVP_AUTO_OS_BUILD_NUMBER || index == KVP_AUTO_OS_VERSION ||
	    index == KVP_AUTO_PROCESSOR_ARCHITECTURE || index == KVP_AUTO_OS_NAME)
		if (uname(&u) < 0)
			memset(&u, 0, sizeof(u));

	switch (index) {
	case KVP_AUTO_FQDN:
		fqdn(buf, size);
		break;
	case KVP_AUTO_INTEGRATION_SERVICES_VERSION:
		snprintf(buf, size, "%s", c && c->integration_version ? c->integration_version : KVP_DEFAULT_IS_VERSION);
		break;
	case KVP_AUTO_NETWORK_ADDRESS_IPV4:
		addresses(AF_INET, buf, size);
		break;
	case KVP_AUTO_NETWORK_ADDRESS_IPV6:
		addresses(AF_INET6, buf, size);
		break;
	case KVP_AUTO_OS_BUILD_NUMBER:
		snprintf(buf, size, "%s", u.release);
		break;
	case KVP_AUTO_OS_NAME:
		os_release(c, name, sizeof(name), version, sizeof(version));
		snprintf(buf, size, "%s", name[0] ? name : u.sysname);
		break;
	case KVP_AUTO_OS_MAJOR_VERSION:
		os_release(c, name, sizeof(name), version, sizeof(version));
		snprintf(buf, size, "%s", version);
		break;
	case KVP_AUTO_OS_MINOR_VERSION:
		/* The kernel daemon fills this only from line 3 of SuSE-/redhat-release files. */
		break;
	case KVP_AUTO_OS_VERSION:
		snprintf(buf, size, "%.*s", (int)strcspn(u.release, "-"), u.release);
		break;
	case KVP_AUTO_PROCESSOR_ARCHITECTURE:
		snprintf(buf, size, "%s", u.machine);
		break;
	}
	return 0;
}
