/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The AUTO pool (2): guest intrinsic values, generated on request in the
 * kernel daemon's index order (reference kvp-vss.md §2.3).
 */
#pragma once

#include <stddef.h>

enum kvp_auto_index {
	KVP_AUTO_FQDN = 0,
	KVP_AUTO_INTEGRATION_SERVICES_VERSION,
	KVP_AUTO_NETWORK_ADDRESS_IPV4,
	KVP_AUTO_NETWORK_ADDRESS_IPV6,
	KVP_AUTO_OS_BUILD_NUMBER,
	KVP_AUTO_OS_NAME,
	KVP_AUTO_OS_MAJOR_VERSION,
	KVP_AUTO_OS_MINOR_VERSION,
	KVP_AUTO_OS_VERSION,
	KVP_AUTO_PROCESSOR_ARCHITECTURE,
	KVP_AUTO_COUNT,
};

/* What the kernel path reports as IntegrationServicesVersion (HV_DRV_VERSION). */
#define KVP_DEFAULT_IS_VERSION "3.1"

struct kvp_auto_config {
	const char *integration_version; /* NULL: KVP_DEFAULT_IS_VERSION */
	const char *os_release;          /* NULL: /etc/os-release, then /usr/lib/os-release */
};

/* "FullyQualifiedDomainName", ...; NULL past the end. */
const char *kvp_auto_key(unsigned index);
/* The index of a key (exact match), or -1. */
int kvp_auto_find(const char *key);

/*
 * The current value for index into buf (NUL-terminated, cut to fit). Host
 * name and addresses are looked up fresh (the FQDN at most every few seconds,
 * since the resolver may be slow). Returns 0, or -ENOENT past the end.
 */
int kvp_auto_value(const struct kvp_auto_config *c, unsigned index, char *buf, size_t size);

/*
 * Pure: from os-release text, the NAME= and VERSION_ID= values (quotes and
 * shell escapes removed) into name/version; an absent key leaves "". Returns 0.
 */
int kvp_os_release_parse(const char *text, size_t len, char *name, size_t name_size, char *version,
			 size_t version_size);
