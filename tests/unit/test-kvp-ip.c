/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure parts of hv-kvpd's GET_IP_INFO / SET_IP_INFO (daemons/kvp/kvp-ip.c):
 * MAC and GUID matching, list parsing and validation of what the host sends,
 * mask <-> prefix, fitting reply lists to their wire fields, the route tables
 * of /proc/net, each network stack's configuration as read for GET, and the
 * files rendered for SET. File texts are fed through fmemopen(). And
 * spawn_run(), with real programs (/bin/sh): exit status, background
 * children, timeouts, SIGCHLD ignored, no pidfd_open().
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test-util.h"
#include "vmbus/vmbus.h"

#include "kvp-ip-internal.h"
#include "spawn.h"

static FILE *text(const char *s)
{
	FILE *f = fmemopen((void *)s, strlen(s), "r");

	assert_non_null(f);
	return f;
}

/* ------------------------------------------------------------------------ */

static void test_mac_equal(void **state)
{
	(void)state;
	/* sysfs is lowercase with a newline; the host sends uppercase. */
	assert_true(kvp_ip_mac_equal("00:15:5d:01:02:03\n", "00:15:5D:01:02:03"));
	assert_true(kvp_ip_mac_equal("00:15:5d:01:02:03", "00:15:5d:01:02:03"));
	assert_true(kvp_ip_mac_equal("00:15:5d:0a:0b:0c\n", "00-15-5D-0A-0B-0C"));
	/* Whole string only: no prefix, no suffix, no other byte. */
	assert_false(kvp_ip_mac_equal("00:15:5d:01:02:03\n", "00:15:5D:01:02:0"));
	assert_false(kvp_ip_mac_equal("00:15:5d:01:02:03\n", "00:15:5D:01:02:030"));
	assert_false(kvp_ip_mac_equal("00:15:5d:01:02:03\n", "00:15:5D:01:02:04"));
	assert_false(kvp_ip_mac_equal("00:15:5d:01:02:03\n", "00:15:5D:01:02:03 "));
	assert_false(kvp_ip_mac_equal("00:15:5d:01:02:03\n", "00155D:01:02:03::"));
	assert_false(kvp_ip_mac_equal("00:15:5d:01:02:03\n", ""));
	assert_false(kvp_ip_mac_equal("\n", ""));
	assert_false(kvp_ip_mac_equal("00:15:5d:01:02:03\n", "00:15:5D:01:02:03\n"));
}

static void test_guid_equal(void **state)
{
	const char *sys = "{f8615163-df3e-46c5-913f-f2d2f965ed0e}\n";

	(void)state;
	assert_true(kvp_ip_guid_equal(sys, "{F8615163-DF3E-46C5-913F-F2D2F965ED0E}"));
	assert_true(kvp_ip_guid_equal(sys, "F8615163-DF3E-46C5-913F-F2D2F965ED0E"));
	assert_true(kvp_ip_guid_equal("f8615163-df3e-46c5-913f-f2d2f965ed0e", "{f8615163-df3e-46c5-913f-f2d2f965ed0e}"));
	assert_false(kvp_ip_guid_equal(sys, "{F8615163-DF3E-46C5-913F-F2D2F965ED0F}"));
	assert_false(kvp_ip_guid_equal(sys, "{F8615163-DF3E-46C5-913F-F2D2F965ED0}"));
	assert_false(kvp_ip_guid_equal(sys, "{F8615163-DF3E-46C5-913F-F2D2F965ED0E"));
	assert_false(kvp_ip_guid_equal(sys, "F8615163DF3E46C5913FF2D2F965ED0E"));
	assert_false(kvp_ip_guid_equal(sys, ""));
	assert_false(kvp_ip_guid_equal("{zz615163-df3e-46c5-913f-f2d2f965ed0e}", "{zz615163-df3e-46c5-913f-f2d2f965ed0e}"));
}

static void test_ifname_valid(void **state)
{
	(void)state;
	assert_true(kvp_ip_ifname_valid("eth0"));
	assert_true(kvp_ip_ifname_valid("enP1234s1"));
	assert_true(kvp_ip_ifname_valid("abcdefghijklmno")); /* 15 bytes */
	assert_false(kvp_ip_ifname_valid("abcdefghijklmnop"));
	assert_false(kvp_ip_ifname_valid(""));
	assert_false(kvp_ip_ifname_valid("."));
	assert_false(kvp_ip_ifname_valid(".."));
	assert_false(kvp_ip_ifname_valid("../etc"));
	assert_false(kvp_ip_ifname_valid("a/b"));
	assert_false(kvp_ip_ifname_valid("eth 0"));
	assert_false(kvp_ip_ifname_valid("eth0\n"));
	/* Never something a tool would take for an option ("ifdown -a"). */
	assert_false(kvp_ip_ifname_valid("-a"));
	assert_false(kvp_ip_ifname_valid("-"));
	assert_false(kvp_ip_ifname_valid("--help"));
	assert_true(kvp_ip_ifname_valid("br-lan"));
}

static void test_mask_prefix(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(kvp_ip_mask4_to_prefix("255.255.255.0"), 24);
	assert_int_equal(kvp_ip_mask4_to_prefix("255.255.255.255"), 32);
	assert_int_equal(kvp_ip_mask4_to_prefix("0.0.0.0"), 0);
	assert_int_equal(kvp_ip_mask4_to_prefix("255.255.240.0"), 20);
	assert_int_equal(kvp_ip_mask4_to_prefix("128.0.0.0"), 1);
	assert_int_equal(kvp_ip_mask4_to_prefix("255.0.255.0"), -EINVAL);
	assert_int_equal(kvp_ip_mask4_to_prefix("255.255.255.1"), -EINVAL);
	assert_int_equal(kvp_ip_mask4_to_prefix("0.255.255.255"), -EINVAL);
	assert_int_equal(kvp_ip_mask4_to_prefix("255.255.255"), -EINVAL);
	assert_int_equal(kvp_ip_mask4_to_prefix("garbage"), -EINVAL);
	/* Every prefix round-trips. */
	for (unsigned p = 0; p <= 32; p++) {
		kvp_ip_prefix_to_mask4(p, buf, sizeof(buf));
		assert_int_equal(kvp_ip_mask4_to_prefix(buf), (int)p);
	}
	kvp_ip_prefix_to_mask4(22, buf, sizeof(buf));
	assert_string_equal(buf, "255.255.252.0");
	{
		uint8_t m6[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
		uint8_t bad[16] = { 0xff, 0x00, 0xff };

		assert_int_equal(kvp_ip_mask_bytes_to_prefix(m6, 16), 71);
		assert_int_equal(kvp_ip_mask_bytes_to_prefix(bad, 16), -EINVAL);
	}
}

static void test_parse_prefix(void **state)
{
	(void)state;
	assert_int_equal(kvp_ip_parse_prefix("255.255.255.0", AF_INET), 24);
	assert_int_equal(kvp_ip_parse_prefix("24", AF_INET), 24);
	assert_int_equal(kvp_ip_parse_prefix("/24", AF_INET), 24);
	assert_int_equal(kvp_ip_parse_prefix("/32", AF_INET), 32);
	assert_int_equal(kvp_ip_parse_prefix("/33", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("33", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("255.0.255.0", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("/64", AF_INET6), 64);
	assert_int_equal(kvp_ip_parse_prefix("64", AF_INET6), 64);
	assert_int_equal(kvp_ip_parse_prefix("/128", AF_INET6), 128);
	assert_int_equal(kvp_ip_parse_prefix("/129", AF_INET6), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("255.255.255.0", AF_INET6), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("/", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("-1", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("+24", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("24x", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("0024", AF_INET), -EINVAL);
	/* IPv6 masks in address form, when contiguous; never for IPv4. */
	assert_int_equal(kvp_ip_parse_prefix("ffff:ffff:ffff:ffff::", AF_INET6), 64);
	assert_int_equal(kvp_ip_parse_prefix("FFFF:FFFF:FFFF:FF00::", AF_INET6), 56);
	assert_int_equal(kvp_ip_parse_prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6), 128);
	assert_int_equal(kvp_ip_parse_prefix("::", AF_INET6), 0);
	assert_int_equal(kvp_ip_parse_prefix("ffff::ffff", AF_INET6), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("ffff:ffff:ffff:fffe:8000::", AF_INET6), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("ffff:ffff::", AF_INET), -EINVAL);
	assert_int_equal(kvp_ip_parse_prefix("ffff:fffg::", AF_INET6), -EINVAL);
}

static void test_parse_addr(void **state)
{
	struct kvp_ip_addr a;

	(void)state;
	assert_int_equal(kvp_ip_parse_addr("192.168.1.10", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(a.text, "192.168.1.10");
	assert_int_equal(kvp_ip_parse_addr("2001:DB8:0:0:0:0:0:1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(a.text, "2001:db8::1"); /* canonical form */
	assert_int_equal(kvp_ip_parse_addr("::", &a), 0);
	assert_int_equal(kvp_ip_parse_addr("::ffff:10.0.0.1", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_int_equal(kvp_ip_parse_addr("1.2.3.4/33", &a), -EINVAL);
	assert_int_equal(kvp_ip_parse_addr("1.2.3.4/24", &a), -EINVAL);
	assert_int_equal(kvp_ip_parse_addr("1.2.3", &a), -EINVAL);
	assert_int_equal(kvp_ip_parse_addr("256.1.1.1", &a), -EINVAL);
	assert_int_equal(kvp_ip_parse_addr("fe80::1%eth0", &a), -EINVAL);
	assert_int_equal(kvp_ip_parse_addr("2001:db8:::1", &a), -EINVAL);
	assert_int_equal(kvp_ip_parse_addr("host.example", &a), -EINVAL);
	assert_int_equal(kvp_ip_parse_addr("", &a), -EINVAL);
}

static void test_split(void **state)
{
	static char items[KVP_IP_MAX_ENTRIES][KVP_IP_ENTRY_SIZE];
	char bad[16], *big;
	size_t len;

	(void)state;
	assert_int_equal(kvp_ip_split("", items, KVP_IP_MAX_ENTRIES, bad, sizeof(bad)), 0);
	assert_int_equal(kvp_ip_split(" ; ;;  ;", items, KVP_IP_MAX_ENTRIES, bad, sizeof(bad)), 0);
	assert_int_equal(kvp_ip_split("  10.0.0.1;  10.0.0.2 ;;10.0.0.3;", items, KVP_IP_MAX_ENTRIES, bad,
				      sizeof(bad)), 3);
	assert_string_equal(items[0], "10.0.0.1");
	assert_string_equal(items[1], "10.0.0.2");
	assert_string_equal(items[2], "10.0.0.3");
	/* An entry that cannot be an address: refused, its start reported. */
	assert_int_equal(kvp_ip_split("1.1.1.1;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				      items, KVP_IP_MAX_ENTRIES, bad, sizeof(bad)),
			 -EINVAL);
	assert_string_equal(bad, "xxxxxxxxxxxxxxx");
	/* Exactly the maximum, then one more; then 1000. */
	big = malloc(1000 * 16);
	assert_non_null(big);
	len = 0;
	for (int i = 0; i < KVP_IP_MAX_ENTRIES; i++)
		len += (size_t)sprintf(big + len, "10.0.%d.%d;", i / 256, i % 256);
	assert_int_equal(kvp_ip_split(big, items, KVP_IP_MAX_ENTRIES, bad, sizeof(bad)), KVP_IP_MAX_ENTRIES);
	assert_string_equal(items[KVP_IP_MAX_ENTRIES - 1], "10.0.0.63");
	sprintf(big + len, "10.9.9.9");
	assert_int_equal(kvp_ip_split(big, items, KVP_IP_MAX_ENTRIES, bad, sizeof(bad)), -E2BIG);
	len = 0;
	for (int i = 0; i < 1000; i++)
		len += (size_t)sprintf(big + len, "%s10.1.%d.%d", i ? ";" : "", i / 256, i % 256);
	assert_int_equal(kvp_ip_split(big, items, KVP_IP_MAX_ENTRIES, bad, sizeof(bad)), -E2BIG);
	free(big);
}

static void set_fields(struct kvp_ip_info *in, const char *ip, const char *mask, const char *gw, const char *dns)
{
	memset(in, 0, sizeof(*in));
	snprintf(in->ip_addr, sizeof(in->ip_addr), "%s", ip);
	snprintf(in->sub_net, sizeof(in->sub_net), "%s", mask);
	snprintf(in->gate_way, sizeof(in->gate_way), "%s", gw);
	snprintf(in->dns_addr, sizeof(in->dns_addr), "%s", dns);
}

static void test_parse_request(void **state)
{
	struct kvp_ip_request *r = calloc(1, sizeof(*r));
	struct kvp_ip_info in;

	(void)state;
	assert_non_null(r);
	set_fields(&in, "10.1.2.3; 2001:db8::5;10.1.3.4", "255.255.255.0;/64;16", " 10.1.2.1;fe80::1",
		   "10.0.0.53; 2001:4860:4860::8888");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_S_OK);
	assert_int_equal(r->n_addr, 3);
	assert_string_equal(r->addr[0].text, "10.1.2.3");
	assert_int_equal(r->prefix[0], 24);
	assert_int_equal(r->addr[1].family, AF_INET6);
	assert_int_equal(r->prefix[1], 64);
	assert_int_equal(r->prefix[2], 16);
	assert_int_equal(r->n_gw, 2);
	assert_string_equal(r->gw[1].text, "fe80::1");
	assert_int_equal(r->n_dns, 2);
	assert_false(r->dhcp);
	/* An IPv6 mask in address form pairs with its address like "/NN". */
	set_fields(&in, "10.1.2.3;2001:db8::5", "24;ffff:ffff:ffff:ff80::", "", "");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_S_OK);
	assert_int_equal(r->n_addr, 2);
	assert_int_equal(r->prefix[1], 57);

	/* DHCP alone, everything else empty. */
	set_fields(&in, "", "", "", "");
	in.dhcp_enabled = 1;
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_S_OK);
	assert_true(r->dhcp);
	assert_int_equal(r->n_addr + r->n_gw + r->n_dns, 0);

	/* Hostile or malformed: each is HV_INVALIDARG. */
	set_fields(&in, "1.2.3.4/33", "24", "", "");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "1.2.3.4", "255.0.255.0", "", "");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "1.2.3.4", "/33", "", "");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "2001:db8::1", "255.255.255.0", "", "");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "1.2.3.4;1.2.3.5", "24", "", ""); /* fewer masks */
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "1.2.3.4", "24;24", "", ""); /* more masks */
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "", "24", "", "");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "1.2.3.4", "24", "gateway", "");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "1.2.3.4", "24", "1.2.3.1", "8.8.8.8;\x01\xff;");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	set_fields(&in, "1.2.3.4", "24", "1.2.3.1", "8.8.8.8 8.8.4.4");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_INVALIDARG);
	free(r);
}

static void test_list_fit(void **state)
{
	char buf[16 + 1] = "";

	(void)state;
	assert_int_equal(kvp_ip_list_add(buf, 16, "1.2.3.4"), 0);
	assert_string_equal(buf, "1.2.3.4");
	assert_int_equal(kvp_ip_list_add(buf, 16, "5.6.7.8"), 0); /* 15 characters */
	assert_string_equal(buf, "1.2.3.4;5.6.7.8");
	assert_int_equal(kvp_ip_list_add(buf, 16, "9"), -ENOSPC); /* would be 17 */
	assert_string_equal(buf, "1.2.3.4;5.6.7.8");
	assert_true(kvp_ip_list_fits("", 7, "1.2.3.4"));
	assert_false(kvp_ip_list_fits("", 6, "1.2.3.4"));
}

static const char route4[] =
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	"eth10\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	"eth1\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	"eth1\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	"eth1\t00000000\t0200000A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
	"eth1\t00000000\t0200000A\t0003\t0\t0\t300\t00000000\t0\t0\t0\n"
	"eth1\t0000000A\t0300000A\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n";

static const char route6[] =
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"fe800000000000000000000000000001 00000400 00000001 00000000 00000003    eth1\n"
	"00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	"fe800000000000000000000000000099 00000400 00000001 00000000 00000003   eth10\n"
	"20010db8000000000000000000000000 40 00000000000000000000000000000000 00 "
	"00000000000000000000000000000000 00000100 00000001 00000000 00000001    eth1\n"
	"20010db8000100000000000000000000 40 00000000000000000000000000000000 00 "
	"fe800000000000000000000000000002 00000400 00000001 00000000 00000003    eth1\n";

static void test_routes(void **state)
{
	char list[KVP_IP_GATE_WAY_CHARS + 1] = "";
	FILE *f;

	(void)state;
	/* Only eth1's default routes, once each; not eth10's, not other destinations. */
	f = text(route4);
	assert_int_equal(kvp_ip_routes4(f, "eth1", list, KVP_IP_GATE_WAY_CHARS), 0);
	fclose(f);
	assert_string_equal(list, "10.0.0.1;10.0.0.2");
	f = text(route6);
	assert_int_equal(kvp_ip_routes6(f, "eth1", list, KVP_IP_GATE_WAY_CHARS), 0);
	fclose(f);
	assert_string_equal(list, "10.0.0.1;10.0.0.2;fe80::1");
	list[0] = '\0';
	f = text(route4);
	kvp_ip_routes4(f, "eth10", list, KVP_IP_GATE_WAY_CHARS);
	fclose(f);
	assert_string_equal(list, "192.168.1.1");
	/* No room: whole entries dropped and counted. */
	list[0] = '\0';
	f = text(route4);
	assert_int_equal(kvp_ip_routes4(f, "eth1", list, 10), 1);
	fclose(f);
	assert_string_equal(list, "10.0.0.1");
	/* Garbage lines are skipped. */
	list[0] = '\0';
	f = text("eth1 zz 11 22\n\n\xff\xfe\neth1\n");
	assert_int_equal(kvp_ip_routes4(f, "eth1", list, KVP_IP_GATE_WAY_CHARS), 0);
	fclose(f);
	assert_string_equal(list, "");
}

static void test_nm_keyfile(void **state)
{
	struct kvp_ip_stack_info info;
	FILE *f;
	const char *byname = "[connection]\nid=x\ninterface-name=eth1\n\n[ipv4]\nmethod=auto\n"
			     "dns=10.0.0.53;10.0.0.54;\n\n[ipv6]\nmethod=auto\ndns=2001:db8::53;\n";
	const char *bymac = "[connection]\nid=y\n[ethernet]\nmac-address=00:15:5D:AA:BB:CC\n"
			    "[ipv4]\nmethod=manual\naddress1=10.1.1.1/24\ndns=1.1.1.1\n";
	const char *other = "[connection]\ninterface-name=eth10\n[ethernet]\nmac-address=00:15:5D:AA:BB:CC\n"
			    "[ipv4]\nmethod=auto\n";

	(void)state;
	memset(&info, 0, sizeof(info));
	f = text(byname);
	assert_true(kvp_ip_nm_keyfile_read(f, "eth1", "00:15:5D:01:02:03", &info));
	fclose(f);
	assert_true(info.dhcp);
	assert_int_equal(info.n_dns, 3);
	assert_string_equal(info.dns[0], "10.0.0.53");
	assert_string_equal(info.dns[2], "2001:db8::53");

	memset(&info, 0, sizeof(info));
	f = text(bymac);
	assert_true(kvp_ip_nm_keyfile_read(f, "eth1", "00:15:5d:aa:bb:cc", &info));
	fclose(f);
	assert_false(info.dhcp);
	assert_int_equal(info.n_dns, 1);

	/* Another interface's profile (even with our MAC) does not describe ours. */
	memset(&info, 0, sizeof(info));
	f = text(other);
	assert_false(kvp_ip_nm_keyfile_read(f, "eth1", "00:15:5D:AA:BB:CC", &info));
	fclose(f);
	assert_false(info.found);
	f = text(byname);
	assert_false(kvp_ip_nm_keyfile_read(f, "eth10", "00:15:5D:AA:BB:CC", &info));
	fclose(f);
}

static void test_networkd(void **state)
{
	struct kvp_ip_stack_info info;
	char nf[256];
	FILE *f;

	(void)state;
	f = text("[Match]\nName=eth*\n\n[Network]\nDHCP=ipv4\nDNS=10.0.0.53 10.0.0.54\nDNS=2001:db8::53\n");
	assert_true(kvp_ip_networkd_matches(f, "eth1", "00:15:5D:01:02:03"));
	rewind(f);
	assert_false(kvp_ip_networkd_matches(f, "en0", "00:15:5D:01:02:03"));
	rewind(f);
	memset(&info, 0, sizeof(info));
	kvp_ip_networkd_read(f, &info);
	fclose(f);
	assert_true(info.dhcp);
	assert_int_equal(info.n_dns, 3);
	assert_string_equal(info.dns[2], "2001:db8::53");

	f = text("[Match]\nMACAddress=00:15:5d:01:02:03 00:15:5d:01:02:04\n[Network]\nDHCP=no\n");
	assert_true(kvp_ip_networkd_matches(f, "whatever", "00:15:5D:01:02:04"));
	rewind(f);
	assert_false(kvp_ip_networkd_matches(f, "whatever", "00:15:5D:01:02:05"));
	rewind(f);
	memset(&info, 0, sizeof(info));
	kvp_ip_networkd_read(f, &info);
	fclose(f);
	assert_false(info.dhcp);

	/* Both conditions must hold; an unknown one makes the file not ours; "!" inverts. */
	f = text("[Match]\nName=eth1\nMACAddress=00:15:5d:99:99:99\n");
	assert_false(kvp_ip_networkd_matches(f, "eth1", "00:15:5D:01:02:03"));
	fclose(f);
	f = text("[Match]\nName=eth1\nType=wlan\n");
	assert_false(kvp_ip_networkd_matches(f, "eth1", "00:15:5D:01:02:03"));
	fclose(f);
	f = text("[Match]\nName=!eth1 lo\n");
	assert_false(kvp_ip_networkd_matches(f, "eth1", NULL));
	rewind(f);
	assert_true(kvp_ip_networkd_matches(f, "eth10", NULL));
	fclose(f);
	/* Assignments add up: one positive entry must match, no inverted one. */
	f = text("[Match]\nName=eth0\nName=eth1\n");
	assert_true(kvp_ip_networkd_matches(f, "eth1", NULL));
	rewind(f);
	assert_false(kvp_ip_networkd_matches(f, "eth2", NULL));
	fclose(f);
	f = text("[Match]\nName=eth*\nName=!eth1\n");
	assert_false(kvp_ip_networkd_matches(f, "eth1", NULL));
	rewind(f);
	assert_true(kvp_ip_networkd_matches(f, "eth2", NULL));
	fclose(f);
	/* No condition at all: networkd ignores the file, and so do we. */
	f = text("[Match]\n\n[Network]\nDHCP=yes\n");
	assert_false(kvp_ip_networkd_matches(f, "eth1", "00:15:5D:01:02:03"));
	fclose(f);
	f = text("[Network]\nDHCP=yes\n");
	assert_false(kvp_ip_networkd_matches(f, "eth1", "00:15:5D:01:02:03"));
	fclose(f);
	/* An empty assignment resets the condition, leaving none. */
	f = text("[Match]\nName=eth1\nName=\n");
	assert_false(kvp_ip_networkd_matches(f, "eth1", "00:15:5D:01:02:03"));
	fclose(f);
	f = text("[Match]\nName=eth9\nName=\nMACAddress=00:15:5d:01:02:03\n");
	assert_true(kvp_ip_networkd_matches(f, "eth1", "00:15:5D:01:02:03"));
	fclose(f);

	f = text("# This is private data. Do not parse.\nADMIN_STATE=configured\n"
		 "NETWORK_FILE=/etc/systemd/network/50-x.network\nDNS=10.9.9.9 10.9.9.8\n");
	memset(&info, 0, sizeof(info));
	kvp_ip_networkd_state_read(f, &info, nf, sizeof(nf));
	fclose(f);
	assert_string_equal(nf, "/etc/systemd/network/50-x.network");
	assert_int_equal(info.n_dns, 2);
	assert_string_equal(info.dns[1], "10.9.9.8");
}

static void test_ifupdown(void **state)
{
	const char *ifs = "auto lo\niface lo inet loopback\n\n"
			  "iface eth10 inet dhcp\n\tdns-nameservers 10.10.10.10\n\n"
			  "auto eth1\niface eth1 inet static\n\taddress 10.0.0.5/24\n"
			  "\tdns-nameservers 10.0.0.53 10.0.0.54 # comment-free\n"
			  "iface eth1 inet6 dhcp\n"
			  "auto eth2\n\tdns-nameservers 9.9.9.9\n";
	struct kvp_ip_stack_info info;
	FILE *f;

	(void)state;
	memset(&info, 0, sizeof(info));
	f = text(ifs);
	kvp_ip_ifupdown_read(f, "eth1", &info);
	fclose(f);
	assert_true(info.found);
	assert_true(info.dhcp); /* inet6 dhcp */
	assert_int_equal(info.n_dns, 2);
	assert_string_equal(info.dns[0], "10.0.0.53");
	assert_string_equal(info.dns[1], "10.0.0.54");

	memset(&info, 0, sizeof(info));
	f = text(ifs);
	kvp_ip_ifupdown_read(f, "eth10", &info);
	fclose(f);
	assert_true(info.dhcp);
	assert_int_equal(info.n_dns, 1);
	assert_string_equal(info.dns[0], "10.10.10.10");

	memset(&info, 0, sizeof(info));
	f = text(ifs);
	kvp_ip_ifupdown_read(f, "eth2", &info);
	fclose(f);
	assert_false(info.found);
	assert_int_equal(info.n_dns, 0);
}

static void test_resolv(void **state)
{
	struct kvp_ip_stack_info info;
	FILE *f;

	(void)state;
	memset(&info, 0, sizeof(info));
	f = text("# comment\nsearch example.com\nnameserver 10.0.0.53\nnameserver   fe80::1%eth1\n"
		 "nameserver bogus\nnameserver 10.0.0.53\noptions edns0\n");
	kvp_ip_resolv_read(f, &info);
	fclose(f);
	assert_int_equal(info.n_dns, 2);
	assert_string_equal(info.dns[0], "10.0.0.53");
	assert_string_equal(info.dns[1], "fe80::1");
}

static struct kvp_ip_request *sample_request(void)
{
	struct kvp_ip_request *r = calloc(1, sizeof(*r));
	struct kvp_ip_info in;

	assert_non_null(r);
	set_fields(&in, "10.1.2.3;2001:db8::5;10.1.3.4;2001:db8:1::6", "255.255.255.0;64;/16;/48",
		   "10.1.2.1;10.1.2.254;2001:db8::1", "10.0.0.53;2001:db8::53");
	assert_int_equal(kvp_ip_parse_request(&in, r), VMBUS_HV_S_OK);
	snprintf(r->ifname, sizeof(r->ifname), "eth1");
	snprintf(r->mac, sizeof(r->mac), "00:15:5D:01:02:03");
	return r;
}

static void test_render_ifcfg(void **state)
{
	struct kvp_ip_request *r = sample_request();
	char buf[4096];

	(void)state;
	assert_int_equal(kvp_ip_render_ifcfg(r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "HWADDR=00:15:5D:01:02:03\n"
				 "DEVICE=eth1\n"
				 "BOOTPROTO=none\n"
				 "IPADDR0=10.1.2.3\nNETMASK0=255.255.255.0\n"
				 "IPV6ADDR=2001:0db8:0000:0000:0000:0000:0000:0005\nIPV6NETMASK=64\n"
				 "IPADDR1=10.1.3.4\nNETMASK1=255.255.0.0\n"
				 "IPV6ADDR_1=2001:0db8:0001:0000:0000:0000:0000:0006\nIPV6NETMASK_1=48\n"
				 "GATEWAY=10.1.2.1\nGATEWAY1=10.1.2.254\n"
				 "IPV6_DEFAULTGW=2001:db8::1\n"
				 "DNS1=10.0.0.53\nDNS2=2001:db8::53\n");
	r->dhcp = true;
	assert_int_equal(kvp_ip_render_ifcfg(r, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\nBOOTPROTO=dhcp\n"));
	/* Too small a buffer is an error, never a cut file. */
	assert_int_equal(kvp_ip_render_ifcfg(r, buf, 100), -ENOSPC);
	free(r);
}

static void test_render_nm(void **state)
{
	struct kvp_ip_request *r = sample_request();
	char buf[4096];

	(void)state;
	assert_int_equal(kvp_ip_render_nm(r, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "# Written by hv-kvpd from Hyper-V SET_IP_INFO\n"
				 "[connection]\nid=hv-eth1\ntype=ethernet\ninterface-name=eth1\nautoconnect=true\n"
				 "\n[ethernet]\nmac-address=00:15:5D:01:02:03\n"
				 "\n[ipv4]\nmethod=manual\naddress1=10.1.2.3/24\naddress2=10.1.3.4/16\n"
				 "gateway=10.1.2.1\nroute1=0.0.0.0/0,10.1.2.254\ndns=10.0.0.53;\n"
				 "\n[ipv6]\nmethod=manual\naddress1=2001:db8::5/64\naddress2=2001:db8:1::6/48\n"
				 "gateway=2001:db8::1\ndns=2001:db8::53;\n");
	/* The kernel daemon's IF.nmconnection for hv_set_ifconfig: comma-joined lists. */
	assert_int_equal(kvp_ip_render_nm(r, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "[connection]\ninterface-name=eth1\ntype=ethernet\n"
				 "\n[ethernet]\nmac-address=00:15:5D:01:02:03\n"
				 "\n[ipv4]\nmethod=manual\naddress1=10.1.2.3/24\naddress2=10.1.3.4/16\n"
				 "gateway=10.1.2.1,10.1.2.254\ndns=10.0.0.53\n"
				 "\n[ipv6]\nmethod=manual\naddress1=2001:db8::5/64\naddress2=2001:db8:1::6/48\n"
				 "gateway=2001:db8::1\ndns=2001:db8::53\n");
	/* DHCP without addresses: IPv4 auto, IPv6 auto. No addresses, no DHCP: IPv4 disabled. */
	r->n_addr = r->n_gw = r->n_dns = 0;
	r->dhcp = true;
	assert_int_equal(kvp_ip_render_nm(r, false, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "[ipv4]\nmethod=auto\n"));
	assert_non_null(strstr(buf, "[ipv6]\nmethod=auto\n"));
	r->dhcp = false;
	assert_int_equal(kvp_ip_render_nm(r, false, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "[ipv4]\nmethod=disabled\n"));
	assert_int_equal(kvp_ip_render_nm(r, false, buf, 64), -ENOSPC);
	free(r);
}

static void test_render_networkd_ifupdown(void **state)
{
	struct kvp_ip_request *r = sample_request();
	char buf[4096];

	(void)state;
	assert_int_equal(kvp_ip_render_networkd(r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "# Written by hv-kvpd from Hyper-V SET_IP_INFO\n"
				 "[Match]\nName=eth1\n\n[Network]\nDHCP=no\n"
				 "Address=10.1.2.3/24\nAddress=2001:db8::5/64\nAddress=10.1.3.4/16\n"
				 "Address=2001:db8:1::6/48\n"
				 "Gateway=10.1.2.1\nGateway=10.1.2.254\nGateway=2001:db8::1\n"
				 "DNS=10.0.0.53\nDNS=2001:db8::53\n");
	assert_int_equal(kvp_ip_render_ifupdown(r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "# Written by hv-kvpd from Hyper-V SET_IP_INFO\n"
				 "auto eth1\n"
				 "\niface eth1 inet static\n\taddress 10.1.2.3/24\n\tgateway 10.1.2.1\n"
				 "\tdns-nameservers 10.0.0.53 2001:db8::53\n"
				 "\niface eth1 inet static\n\taddress 10.1.3.4/16\n"
				 "\niface eth1 inet6 static\n\taddress 2001:db8::5/64\n\tgateway 2001:db8::1\n"
				 "\niface eth1 inet6 static\n\taddress 2001:db8:1::6/48\n");
	/* What we write, the GET reader reads back. */
	{
		struct kvp_ip_stack_info info;
		FILE *f;

		r->dhcp = true;
		assert_int_equal(kvp_ip_render_ifupdown(r, buf, sizeof(buf)), 0);
		assert_null(strstr(buf, "10.1.2.3"));
		memset(&info, 0, sizeof(info));
		f = text(buf);
		kvp_ip_ifupdown_read(f, "eth1", &info);
		fclose(f);
		assert_true(info.dhcp);
		assert_int_equal(info.n_dns, 2);

		assert_int_equal(kvp_ip_render_networkd(r, buf, sizeof(buf)), 0);
		memset(&info, 0, sizeof(info));
		f = text(buf);
		assert_true(kvp_ip_networkd_matches(f, "eth1", NULL));
		rewind(f);
		kvp_ip_networkd_read(f, &info);
		fclose(f);
		assert_true(info.dhcp);
		assert_int_equal(info.n_dns, 2);

		assert_int_equal(kvp_ip_render_nm(r, false, buf, sizeof(buf)), 0);
		memset(&info, 0, sizeof(info));
		f = text(buf);
		assert_true(kvp_ip_nm_keyfile_read(f, "eth1", NULL, &info));
		fclose(f);
		assert_true(info.dhcp);
		assert_int_equal(info.n_dns, 2);
	}
	r->dhcp = false;
	r->n_addr = 0;
	assert_int_equal(kvp_ip_render_ifupdown(r, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "iface eth1 inet manual\n\tdns-nameservers 10.0.0.53 2001:db8::53\n"));
	free(r);
}

/* Detection under a scratch root, in the documented order. */
static void test_stack_detect(void **state)
{
	char root[] = "/tmp/test-kvp-ip.XXXXXX", p[256];
	struct kvp_ip_config c = { .config_root = root };

	(void)state;
	assert_non_null(mkdtemp(root));
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_NONE);
	snprintf(p, sizeof(p), "%s/etc", root), assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/network", root), assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/etc/network/interfaces", root);
	fclose(fopen(p, "w"));
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_IFUPDOWN);
	snprintf(p, sizeof(p), "%s/run", root), assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/run/systemd", root), assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/run/systemd/netif", root), assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_NETWORKD);
	snprintf(p, sizeof(p), "%s/run/NetworkManager", root), assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_NETWORKMANAGER);
	/* The configured stack wins; "auto" and unknown names detect. */
	c.stack = "ifupdown";
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_IFUPDOWN);
	c.stack = "none";
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_NONE);
	c.stack = "auto";
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_NETWORKMANAGER);
	c.stack = "bogus";
	assert_int_equal(kvp_ip_stack_detect(&c), KVP_IP_STACK_NETWORKMANAGER);
	assert_int_equal(kvp_ip_stack_from_name("networkd"), KVP_IP_STACK_NETWORKD);
	assert_int_equal(kvp_ip_stack_from_name("wicked"), -EINVAL);

	snprintf(p, sizeof(p), "rm -rf '%s'", root);
	assert_int_equal(system(p), 0);
}

/* ------------------------------------------------------------------------ */
/* spawn_run() with real programs                                           */
/* ------------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run "/bin/sh -c script"; returns the milliseconds it took. */
static int64_t run_sh(const char *script, int timeout_ms, struct spawn_result *res)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	int64_t start = mono_ms();

	assert_int_equal(spawn_run("/bin/sh", argv, timeout_ms, false, res), 0);
	return mono_ms() - start;
}

/* The state letter of /proc/PID/stat, or 0 when there is no such process. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The "pipe:[N]" that /proc/PID/fd/FD names, in buf. */
static bool fd_link(pid_t pid, int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, buf, size - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* Does this process hold an fd on the object target names (e.g. "pipe:[123]")? */
static bool self_holds(const char *target)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	bool found = false;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char buf[128];

		if (e->d_name[0] != '.' && fd_link(getpid(), atoi(e->d_name), buf, sizeof(buf)) &&
		    strcmp(buf, target) == 0)
			found = true;
	}
	closedir(d);
	return found;
}

static void test_run_status(void **state)
{
	struct spawn_result *res = calloc(1, sizeof(*res));

	(void)state;
	assert_non_null(res);
	run_sh("echo one; echo two; exit 3", 5000, res);
	assert_int_equal(res->status, 3);
	assert_false(res->timed_out);
	assert_string_equal(res->out, "one\ntwo\n");
	run_sh("kill -9 $$", 5000, res);
	assert_int_equal(res->status, -1);
	assert_false(res->timed_out);
	/* Output beyond the buffer is read and dropped; the program still finishes. */
	run_sh("i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done", 5000, res);
	assert_int_equal(res->status, 0);
	assert_int_equal(res->len, SPAWN_OUTPUT_MAX - 1);
	assert_int_equal(strlen(res->out), SPAWN_OUTPUT_MAX - 1);
	free(res);
}

/*
 * A program that exits leaving a background child on its stdout (ifup
 * starting a DHCP client) has finished: its status is reported at once, the
 * child is left alone, and our end of the pipe is closed.
 */
static void test_run_background_child(void **state)
{
	struct spawn_result *res = calloc(1, sizeof(*res));
	char link[128];
	int64_t ms;
	pid_t child;

	(void)state;
	assert_non_null(res);
	ms = run_sh("echo hi; sleep 60 </dev/null 2>/dev/null & echo $!; exit 0", 5000, res);
	assert_false(res->timed_out);
	assert_int_equal(res->status, 0);
	assert_true(ms < 2000);
	assert_int_equal(strncmp(res->out, "hi\n", 3), 0);
	child = (pid_t)atoi(res->out + 3);
	assert_true(child > 1);
	assert_int_not_equal(proc_state(child), 0);
	assert_int_not_equal(proc_state(child), 'Z');
	assert_true(fd_link(child, 1, link, sizeof(link)));
	assert_int_equal(strncmp(link, "pipe:", 5), 0);
	kill(child, SIGKILL);
	assert_false(self_holds(link));
	/* The same with a failing exit status. */
	ms = run_sh("sleep 60 </dev/null 2>/dev/null & echo $!; exit 4", 5000, res);
	child = (pid_t)atoi(res->out);
	assert_true(child > 1);
	kill(child, SIGKILL);
	assert_false(res->timed_out);
	assert_int_equal(res->status, 4);
	assert_true(ms < 2000);
	free(res);
}

/* Still running at the timeout: killed with its process group, what it printed kept. */
static void test_run_timeout(void **state)
{
	struct spawn_result *res = calloc(1, sizeof(*res));
	int64_t ms;
	pid_t child;
	char st = 0;

	(void)state;
	assert_non_null(res);
	ms = run_sh("echo x; sleep 60 </dev/null 2>/dev/null & echo $!; wait", 300, res);
	assert_true(res->timed_out);
	assert_int_equal(res->status, -1);
	assert_true(ms >= 300 && ms < 3000);
	assert_int_equal(strncmp(res->out, "x\n", 2), 0);
	child = (pid_t)atoi(res->out + 2);
	assert_true(child > 1);
	for (int i = 0; i < 100; i++) {
		st = proc_state(child);
		if (st == 0 || st == 'Z')
			break;
		usleep(10000);
	}
	assert_true(st == 0 || st == 'Z');
	/* Stdout closed but still running: the timeout holds too. */
	ms = run_sh("exec >&-; exec sleep 60", 300, res);
	assert_true(res->timed_out);
	assert_true(ms >= 300 && ms < 3000);
	free(res);
}

/*
 * With SIGCHLD ignored the kernel reaps the program itself, so its status
 * cannot be known: that is a failure (and logged), never a success.
 */
static void test_run_sigchld_ignored(void **state)
{
	struct spawn_result *res = calloc(1, sizeof(*res));
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int64_t ms;

	(void)state;
	assert_non_null(res);
	assert_int_equal(sigaction(SIGCHLD, &ign, &old), 0);
	ms = run_sh("exit 3", 5000, res);
	assert_int_not_equal(res->status, 0);
	assert_false(res->timed_out);
	assert_true(ms < 3000);
	run_sh("exit 0", 5000, res);
	assert_int_not_equal(res->status, 0);
	assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
	free(res);
}

/*
 * Without pidfd_open() (ENOSYS under a seccomp filter, as in some
 * containers), run in a child process: exit, timeouts and background
 * children behave the same. Each check is a distinct exit code.
 */
static int no_pidfd_checks(void)
{
#ifdef SYS_pidfd_open
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
	struct spawn_result *res = calloc(1, sizeof(*res));
	const char *a1[] = { "/bin/sh", "-c", "echo hi; exit 5", NULL };
	const char *a2[] = { "/bin/sh", "-c", "exec >&-; exec sleep 60", NULL };
	const char *a3[] = { "/bin/sh", "-c", "sleep 60 </dev/null 2>/dev/null & echo $!; exit 0", NULL };
	const char *a4[] = { "/bin/sh", "-c", "exec >&-; sleep 0.3; exit 6", NULL };
	int64_t start;
	pid_t child;

	alarm(20); /* a hang fails the test instead of blocking it */
	if (!res)
		return 10;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return 11;
	if (syscall(SYS_pidfd_open, getpid(), 0) >= 0 || errno != ENOSYS)
		return 12;
	if (spawn_run("/bin/sh", a1, 5000, false, res) < 0 || res->status != 5 || strcmp(res->out, "hi\n") != 0)
		return 13;
	start = mono_ms();
	if (spawn_run("/bin/sh", a2, 300, false, res) < 0 || !res->timed_out || mono_ms() - start > 3000)
		return 14;
	start = mono_ms();
	if (spawn_run("/bin/sh", a3, 5000, false, res) < 0 || res->timed_out || res->status != 0 ||
	    mono_ms() - start > 2000)
		return 15;
	child = (pid_t)atoi(res->out);
	if (child <= 1)
		return 17;
	kill(child, SIGKILL);
	/* Stdout closed first, then a late exit: noticed when it happens, not at the timeout. */
	start = mono_ms();
	if (spawn_run("/bin/sh", a4, 5000, false, res) < 0 || res->timed_out || res->status != 6 ||
	    mono_ms() - start > 2000)
		return 16;
	free(res);
	return 0;
#else
	return 77;
#endif
}

static void test_run_no_pidfd(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(no_pidfd_checks());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_equal),
		cmocka_unit_test(test_guid_equal),
		cmocka_unit_test(test_ifname_valid),
		cmocka_unit_test(test_mask_prefix),
		cmocka_unit_test(test_parse_prefix),
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test(test_list_fit),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_nm_keyfile),
		cmocka_unit_test(test_networkd),
		cmocka_unit_test(test_ifupdown),
		cmocka_unit_test(test_resolv),
		cmocka_unit_test(test_render_ifcfg),
		cmocka_unit_test(test_render_nm),
		cmocka_unit_test(test_render_networkd_ifupdown),
		cmocka_unit_test(test_stack_detect),
		cmocka_unit_test(test_run_status),
		cmocka_unit_test(test_run_background_child),
		cmocka_unit_test(test_run_timeout),
		cmocka_unit_test(test_run_sigchld_ignored),
		cmocka_unit_test(test_run_no_pidfd),
	};

	return cmocka_run_group_tests_name("kvp-ip", tests, NULL, NULL);
}
