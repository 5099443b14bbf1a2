/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's own layouts (<linux/hyperv.h>), in a file of their own: its
 * names (KVP_OP_GET, W_MAX_PATH, ...) clash with the daemons' wire headers.
 * test-chardev compares these figures with the daemons' constants.
 */
#include "config.h"

#include <stddef.h>
#include <linux/hyperv.h>

#include "test-chardev-uapi.h"

void uapi_layout(struct uapi_layout *u)
{
	u->kvp_msg = sizeof(struct hv_kvp_msg);
	u->kvp_error = offsetof(struct hv_kvp_msg, error);
	u->kvp_version = offsetof(struct hv_kvp_msg, body.kvp_register.version);
	u->kvp_set_key_size = offsetof(struct hv_kvp_msg, body.kvp_set.data.key_size);
	u->kvp_set_value_size = offsetof(struct hv_kvp_msg, body.kvp_set.data.value_size);
	u->kvp_set_key = offsetof(struct hv_kvp_msg, body.kvp_set.data.key);
	u->kvp_set_value = offsetof(struct hv_kvp_msg, body.kvp_set.data.value);
	u->kvp_delete_key_size = offsetof(struct hv_kvp_msg, body.kvp_delete.key_size);
	u->kvp_delete_key = offsetof(struct hv_kvp_msg, body.kvp_delete.key);
	u->kvp_enum_index = offsetof(struct hv_kvp_msg, body.kvp_enum_data.index);
	u->kvp_enum_key = offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.key);
	u->kvp_enum_value = offsetof(struct hv_kvp_msg, body.kvp_enum_data.data.value);
	u->kvp_ip_adapter_id = offsetof(struct hv_kvp_msg, body.kvp_ip_val.adapter_id);
	u->kvp_ip_addr_family = offsetof(struct hv_kvp_msg, body.kvp_ip_val.addr_family);
	u->kvp_ip_dhcp_enabled = offsetof(struct hv_kvp_msg, body.kvp_ip_val.dhcp_enabled);
	u->kvp_ip_ip_addr = offsetof(struct hv_kvp_msg, body.kvp_ip_val.ip_addr);
	u->kvp_ip_sub_net = offsetof(struct hv_kvp_msg, body.kvp_ip_val.sub_net);
	u->kvp_ip_gate_way = offsetof(struct hv_kvp_msg, body.kvp_ip_val.gate_way);
	u->kvp_ip_dns_addr = offsetof(struct hv_kvp_msg, body.kvp_ip_val.dns_addr);
	u->kvp_op_register1 = KVP_OP_REGISTER1;
	u->vss_msg = sizeof(struct hv_vss_msg);
	u->vss_op_register1 = VSS_OP_REGISTER1;
	u->fcopy_start = sizeof(struct hv_start_fcopy);
	u->fcopy_do = sizeof(struct hv_do_fcopy);
	u->fcopy_file_name = offsetof(struct hv_start_fcopy, file_name);
	u->fcopy_path_name = offsetof(struct hv_start_fcopy, path_name);
	u->fcopy_name_field = sizeof(((struct hv_start_fcopy *)0)->file_name);
	u->fcopy_copy_flags = offsetof(struct hv_start_fcopy, copy_flags);
	u->fcopy_file_size = offsetof(struct hv_start_fcopy, file_size);
	u->fcopy_current_version = FCOPY_CURRENT_VERSION;
}
