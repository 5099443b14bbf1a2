/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Sizes and offsets of the kernel's hv_utils messages, from <linux/hyperv.h>. */
#pragma once

#include <stddef.h>

struct uapi_layout {
	size_t kvp_msg, kvp_error, kvp_version;
	size_t kvp_set_key_size, kvp_set_value_size, kvp_set_key, kvp_set_value;
	size_t kvp_delete_key_size, kvp_delete_key;
	size_t kvp_enum_index, kvp_enum_key, kvp_enum_value;
	size_t kvp_ip_adapter_id, kvp_ip_addr_family, kvp_ip_dhcp_enabled, kvp_ip_ip_addr, kvp_ip_sub_net,
		kvp_ip_gate_way, kvp_ip_dns_addr;
	size_t kvp_op_register1;
	size_t vss_msg, vss_op_register1;
	size_t fcopy_start, fcopy_do, fcopy_file_name, fcopy_path_name, fcopy_name_field, fcopy_copy_flags,
		fcopy_file_size, fcopy_current_version;
};

void uapi_layout(struct uapi_layout *u);
