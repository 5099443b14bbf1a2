/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * GET_IP_INFO and SET_IP_INFO: the guest's network configuration, reported to
 * the host by MAC address and injected by VMBus device GUID (reference
 * kvp-vss.md §4). The message handler (kvp-proto.c) converts the UTF-16
 * fields; this module sees UTF-8 and does the I/O.
 */
#pragma once

#include <stdint.h>

#include "kvp-wire.h"

/* The fields of hv_kvp_ipaddr_value as UTF-8 strings (3 bytes per UTF-16 unit at most). */
struct kvp_ip_info {
	char adapter_id[3 * (KVP_IP_ADAPTER_ID_SIZE / 2) + 1]; /* MAC (get) or {GUID} (set) */
	uint8_t addr_family; /* KVP_ADDR_FAMILY_* bits */
	uint8_t dhcp_enabled;
	char ip_addr[3 * (KVP_IP_ADDR_SIZE / 2) + 1];     /* "a;b;..." */
	char sub_net[3 * (KVP_IP_SUB_NET_SIZE / 2) + 1];  /* IPv4 dotted masks, IPv6 "/NN" */
	char gate_way[3 * (KVP_IP_GATE_WAY_SIZE / 2) + 1];
	char dns_addr[3 * (KVP_IP_DNS_ADDR_SIZE / 2) + 1];
};

struct kvp_ip_config {
	const char *sysfs_root;  /* "/sys" */
	const char *config_root; /* prefix for /etc and /run when reading or writing network
				  * configuration ("" or NULL: the real root) */
	const char *state_dir;   /* where ifcfg-IF and IF.nmconnection are written for the
				  * hook (the pool directory, /var/lib/hyperv) */
	const char *scripts_dir; /* hv_get_dns_info, hv_get_dhcp_info, hv_set_ifconfig;
				  * default /usr/libexec/hypervkvpd */
	const char *stack;       /* "networkmanager", "networkd", "ifupdown", "none",
				  * or NULL to detect the stack in use */
};

/*
 * GET_IP_INFO: in->adapter_id is the MAC (any case, ':'-separated);
 * in->addr_family is what the host asked for. Fills out (adapter_id echoed).
 * Returns VMBUS_HV_S_OK, or VMBUS_HV_E_FAIL when no interface has that MAC,
 * with a log line.
 */
uint32_t kvp_ip_get(const struct kvp_ip_config *c, const struct kvp_ip_info *in, struct kvp_ip_info *out);

/*
 * SET_IP_INFO: in->adapter_id is the VMBus device GUID of the NIC. Writes the
 * configuration for the network stack in use and applies it. Returns
 * VMBUS_HV_S_OK, VMBUS_HV_GUID_NOTFOUND (no such adapter), VMBUS_HV_INVALIDARG
 * (an address, mask or gateway that does not parse), VMBUS_HV_E_FAIL.
 */
uint32_t kvp_ip_set(const struct kvp_ip_config *c, const struct kvp_ip_info *in);
