#!/usr/bin/env bats
# hv-kvpd's GET_IP_INFO and SET_IP_INFO end to end: hv-hostsim plays the host,
# the real daemon runs in a fresh network namespace per test, with its network
# configuration root, pools and scripts under the test's scratch directory.
# Network tools (nmcli, networkctl, ifup, ifdown) are stand-ins that record
# their arguments (tests/bats/fake-bin); only the "none" stack runs the real
# ip(8), inside the namespace. The machine's own configuration is never read
# or written.

bats_require_minimum_version 1.5.0

load helpers

MAC1=00:15:5d:01:02:01
MAC10=00:15:5d:01:02:10
GUID1=f8615163-df3e-46c5-913f-f2d2f965ed01
GUID10=f8615163-df3e-46c5-913f-f2d2f965ed10

setup() {
	hv_setup
	require_root "network namespaces"
	command -v ip >/dev/null || skip "ip (iproute2) not installed"
	command -v jq >/dev/null || skip "jq not installed"
	NS="hvkvp-$$-$BATS_TEST_NUMBER"
	ip netns add "$NS" || skip "cannot create a network namespace"
	echo "$NS" > "$SCRATCH/.netns"
	ROOT="$SCRATCH/root"
	SCRIPTS="$SCRATCH/scripts"
	mkdir -p "$ROOT/etc" "$SCRATCH/pool" "$SCRIPTS" "$SCRATCH/sys/class/net" "$SCRATCH/bin"
	cp "$top_srcdir"/tests/bats/fake-bin/* "$SCRATCH/bin/"
	chmod 755 "$SCRATCH"/bin/*
	STACK=none
	ip -n "$NS" link set lo up
}

teardown() {
	hv_teardown
	# Background children the hooks and fake tools left on purpose (pids they recorded).
	for f in "$SCRATCH/bin/daemons" "$SCRATCH/daemons"; do
		[ -f "$f" ] || continue
		while read -r pid; do
			kill "$pid" 2>/dev/null || true
		done < "$f"
	done
	if [ -f "$SCRATCH/.netns" ]; then
		ip netns del "$(cat "$SCRATCH/.netns")" 2>/dev/null || true
	fi
}

# mkif NAME MAC GUID: an Ethernet interface in the namespace (dummy, or one
# end of a veth pair where the dummy driver is missing), up, and its fake
# sysfs entry (address, device/device_id) for SET_IP_INFO's GUID lookup.
mkif() {
	if ! ip -n "$NS" link add "$1" address "$2" type dummy 2>/dev/null; then
		ip -n "$NS" link add "$1" address "$2" type veth peer name "p$1"
		ip -n "$NS" link set "p$1" up
	fi
	ip -n "$NS" link set "$1" up
	mkdir -p "$SCRATCH/sys/class/net/$1/device"
	echo "$2" > "$SCRATCH/sys/class/net/$1/address"
	echo "{$3}" > "$SCRATCH/sys/class/net/$1/device/device_id"
}

# host ARGS...: hv-hostsim (in the namespace, fake tools first in PATH) driving hv-kvpd.
host() {
	local limit
	limit=$(scaled 60)
	run --separate-stderr setsid bash -c 'echo $$ >> "$1"; shift; exec timeout -k 5 "$@"' hostsim \
		"$HV_PGIDS" "$limit" ip netns exec "$NS" env PATH="$SCRATCH/bin:$PATH" HVKVP_SECRET=leak \
		"$HOSTSIM" -s kvp -t "$(scaled 40)" "$@" -- "$KVPD" --pool-dir "$SCRATCH/pool" --network-root "$ROOT" \
		--scripts-dir "$SCRIPTS" --network-stack "$STACK" --sysfs-root "$SCRATCH/sys"
}

# ip_info [--family F] MAC: GET_IP_INFO as JSON in $output. hv-kvpd's GET
# looks at the namespace's real sysfs, which "ip netns exec" mounts.
ip_info() {
	local limit
	limit=$(scaled 60)
	run --separate-stderr setsid bash -c 'echo $$ >> "$1"; shift; exec timeout -k 5 "$@"' hostsim \
		"$HV_PGIDS" "$limit" ip netns exec "$NS" env PATH="$SCRATCH/bin:$PATH" HVKVP_SECRET=leak \
		"$HOSTSIM" -s kvp -t "$(scaled 40)" --json kvp ip-info "$@" -- "$KVPD" --pool-dir "$SCRATCH/pool" \
		--network-root "$ROOT" --scripts-dir "$SCRIPTS" --network-stack "$STACK"
}

# field NAME: one JSON field of the last ip_info, lists joined with ';'.
field() {
	jq -r --arg f "$1" '.[$f] | if type == "array" then join(";") else tostring end' <<< "$output"
}

# mkif_bare NAME MAC: like mkif, but the interface gets no address at all
# (no IPv6 link-local either), as an SR-IOV VF beside its synthetic NIC.
mkif_bare() {
	if ! ip -n "$NS" link add "$1" address "$2" type dummy 2>/dev/null; then
		ip -n "$NS" link add "$1" address "$2" type veth peer name "p$1"
	fi
	ip -n "$NS" link set dev "$1" addrgenmode none
	ip -n "$NS" link set "$1" up
}

calls() {
	cat "$SCRATCH/bin/calls" 2>/dev/null || true
}

mode_of() {
	stat -c %a "$1"
}

two_interfaces() {
	mkif eth1 "$MAC1" "$GUID1"
	mkif eth10 "$MAC10" "$GUID10"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1
	ip -n "$NS" addr add 10.10.0.5/16 dev eth10
}

# ------------------------------------------------------------------------
# GET_IP_INFO

@test "GET: eth1's addresses only, never eth10's (no name-prefix match)" {
	two_interfaces
	ip -n "$NS" addr add 10.1.0.6/25 dev eth1
	ip_info --family ipv4 "${MAC1^^}"
	assert_success
	assert_equal "$(field adapter_id)" "${MAC1^^}"
	assert_equal "$(field ip_addr)" "10.1.0.5;10.1.0.6"
	assert_equal "$(field sub_net)" "255.255.255.0;255.255.255.128"
	assert_equal "$(field addr_family)" 1
	ip_info --family ipv4 "${MAC10^^}"
	assert_success
	assert_equal "$(field ip_addr)" "10.10.0.5"
	assert_equal "$(field sub_net)" "255.255.0.0"
}

@test "GET: IPv4 and IPv6, and the requested family is honoured" {
	mkif eth1 "$MAC1" "$GUID1"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1
	ip -n "$NS" addr add 2001:db8:1::5/64 dev eth1 nodad
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field addr_family)" 3
	assert_equal "$(jq -r '.ip_addr | index("10.1.0.5") != null' <<< "$output")" true
	assert_equal "$(jq -r '.ip_addr | index("2001:db8:1::5") != null' <<< "$output")" true
	# Each address has its mask at the same position: dotted for IPv4, "/NN" for IPv6.
	assert_equal "$(jq -r '.sub_net[.ip_addr | index("2001:db8:1::5")]' <<< "$output")" "/64"
	assert_equal "$(jq -r '.sub_net[.ip_addr | index("10.1.0.5")]' <<< "$output")" "255.255.255.0"
	ip_info --family ipv6 "${MAC1^^}"
	assert_success
	assert_equal "$(field addr_family)" 2
	refute_output --partial 10.1.0.5
	assert_output --partial 2001:db8:1::5
	ip_info --family ipv4 "${MAC1^^}"
	assert_success
	assert_equal "$(field addr_family)" 1
	assert_equal "$(field ip_addr)" "10.1.0.5"
}

@test "GET: only this interface's default gateways, IPv4 and IPv6" {
	two_interfaces
	ip -n "$NS" addr add 2001:db8:1::5/64 dev eth1 nodad
	ip -n "$NS" addr add 2001:db8:10::5/64 dev eth10 nodad
	ip -n "$NS" route add default via 10.1.0.1 dev eth1 metric 100
	ip -n "$NS" route add default via 10.10.0.1 dev eth10 metric 200
	ip -n "$NS" -6 route add default via 2001:db8:1::1 dev eth1 metric 100
	ip -n "$NS" -6 route add default via 2001:db8:10::1 dev eth10 metric 200
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field gate_way)" "10.1.0.1;2001:db8:1::1"
	ip_info "${MAC10^^}"
	assert_success
	assert_equal "$(field gate_way)" "10.10.0.1;2001:db8:10::1"
	ip_info --family ipv6 "${MAC10^^}"
	assert_equal "$(field gate_way)" "2001:db8:10::1"
}

@test "GET: a lowercase or '-'-separated MAC finds the interface; an unknown MAC is HV_E_FAIL" {
	mkif eth1 "$MAC1" "$GUID1"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1
	ip_info --family ipv4 "$MAC1"
	assert_success
	assert_equal "$(field ip_addr)" "10.1.0.5"
	ip_info --family ipv4 "${MAC1//:/-}"
	assert_success
	assert_equal "$(field ip_addr)" "10.1.0.5"
	ip_info 00:15:5D:01:02:99
	assert_failure 1
	[[ "$stderr" == *HV_E_FAIL* ]] || fail "no HV_E_FAIL in: $stderr"
	[[ "$stderr" == *"no network interface has the MAC address '00:15:5D:01:02:99'"* ]] ||
		fail "no log line in: $stderr"
	# A prefix of a real MAC is not a match either.
	ip_info "${MAC1:0:16}"
	assert_failure 1
}

@test "GET: DNS and DHCP from a NetworkManager keyfile matched by interface-name or MAC" {
	two_interfaces
	STACK=networkmanager
	d="$ROOT/etc/NetworkManager/system-connections"
	mkdir -p "$d"
	printf '[connection]\nid=a\ninterface-name=eth10\n[ipv4]\nmethod=manual\ndns=10.99.0.1;\n' > "$d/a.nmconnection"
	printf '[connection]\nid=b\ninterface-name=eth1\n[ipv4]\nmethod=auto\ndns=10.0.0.53;10.0.0.54;\n' \
		> "$d/b.nmconnection"
	printf 'nameserver 10.77.0.1\n' > "$ROOT/etc/resolv.conf"
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field dhcp_enabled)" true
	assert_equal "$(field dns_addr)" "10.0.0.53;10.0.0.54"
	ip_info "${MAC10^^}"
	assert_equal "$(field dhcp_enabled)" false
	assert_equal "$(field dns_addr)" "10.99.0.1"
	# By MAC, without interface-name.
	printf '[connection]\nid=b\n[ethernet]\nmac-address=%s\n[ipv4]\nmethod=auto\ndns=10.0.0.55;\n' \
		"${MAC1^^}" > "$d/b.nmconnection"
	ip_info "${MAC1^^}"
	assert_equal "$(field dhcp_enabled)" true
	assert_equal "$(field dns_addr)" "10.0.0.55"
}

@test "GET: DNS and DHCP from systemd-networkd .network files and its runtime state" {
	two_interfaces
	STACK=networkd
	mkdir -p "$ROOT/etc/systemd/network" "$ROOT/usr/lib/systemd/network" "$ROOT/run/systemd/netif/links"
	printf '[Match]\nName=eth10\n[Network]\nDNS=10.99.0.1\n' > "$ROOT/etc/systemd/network/05-ten.network"
	printf '[Match]\nName=eth1 eth2\n[Network]\nDHCP=ipv4\nDNS=10.0.0.53\nDNS=10.0.0.54\n' \
		> "$ROOT/usr/lib/systemd/network/10-one.network"
	printf '[Match]\nName=eth*\n[Network]\nDHCP=no\nDNS=10.66.0.1\n' > "$ROOT/etc/systemd/network/20-any.network"
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field dhcp_enabled)" true
	assert_equal "$(field dns_addr)" "10.0.0.53;10.0.0.54"
	ip_info "${MAC10^^}"
	assert_equal "$(field dhcp_enabled)" false
	assert_equal "$(field dns_addr)" "10.99.0.1"
	# The runtime state names the servers in use and the file networkd chose.
	idx=$(ip netns exec "$NS" cat /sys/class/net/eth1/ifindex)
	printf 'ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/20-any.network\nDNS=10.55.0.1\n' \
		> "$ROOT/run/systemd/netif/links/$idx"
	ip_info "${MAC1^^}"
	assert_equal "$(field dhcp_enabled)" false
	assert_equal "$(field dns_addr)" "10.55.0.1;10.66.0.1"
}

@test "GET: DNS and DHCP from ifupdown's interfaces and interfaces.d; resolv.conf as the fallback" {
	two_interfaces
	STACK=ifupdown
	mkdir -p "$ROOT/etc/network/interfaces.d"
	printf 'auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n' > "$ROOT/etc/network/interfaces"
	printf 'iface eth1 inet dhcp\n\tdns-nameservers 10.0.0.53 10.0.0.54\n' > "$ROOT/etc/network/interfaces.d/eth1"
	printf 'iface eth10 inet static\n\taddress 10.10.0.5/16\n' > "$ROOT/etc/network/interfaces.d/eth10"
	printf 'nameserver 10.77.0.1\nnameserver 2001:db8::77\n' > "$ROOT/etc/resolv.conf"
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field dhcp_enabled)" true
	assert_equal "$(field dns_addr)" "10.0.0.53;10.0.0.54"
	ip_info "${MAC10^^}"
	assert_equal "$(field dhcp_enabled)" false
	assert_equal "$(field dns_addr)" "10.77.0.1;2001:db8::77"
	ip_info --family ipv4 "${MAC10^^}"
	assert_equal "$(field dns_addr)" "10.77.0.1"
}

@test "GET: the hook scripts, given the interface name and a clean environment, decide DNS and DHCP" {
	two_interfaces
	STACK=networkmanager
	cat > "$SCRIPTS/hv_get_dns_info" <<-EOF
		#!/bin/sh
		env > "$SCRATCH/hook-env"
		echo "\$1" >> "$SCRATCH/hook-args"
		if [ "\$1" = eth1 ]; then echo 10.0.0.53; echo not-an-address; echo 2001:db8::53; else echo 10.99.0.1; fi
	EOF
	cat > "$SCRIPTS/hv_get_dhcp_info" <<-'EOF'
		#!/bin/sh
		if [ "$1" = eth1 ]; then echo Enabled; else echo Disabled; fi
	EOF
	chmod 755 "$SCRIPTS"/hv_get_*
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field dhcp_enabled)" true
	assert_equal "$(field dns_addr)" "10.0.0.53;2001:db8::53"
	[[ "$stderr" == *"not-an-address"* ]] || fail "the junk line was not logged: $stderr"
	ip_info "${MAC10^^}"
	assert_equal "$(field dhcp_enabled)" false
	assert_equal "$(field dns_addr)" "10.99.0.1"
	assert_equal "$(cat "$SCRATCH/hook-args")" "$(printf 'eth1\neth10')"
	# Only PATH came from the daemon (the shell adds PWD and the like itself).
	run grep -c HVKVP_SECRET "$SCRATCH/hook-env"
	assert_output 0
	grep -q "^PATH=$SCRATCH/bin:" "$SCRATCH/hook-env"
	# A hook that is not executable is not run: the stack's answer is used.
	chmod 644 "$SCRIPTS/hv_get_dhcp_info"
	ip_info "${MAC1^^}"
	assert_equal "$(field dhcp_enabled)" false
}

@test "GET: a hook that hangs is killed with its process group after 10 s; what it printed counts" {
	mkif eth1 "$MAC1" "$GUID1"
	cat > "$SCRIPTS/hv_get_dns_info" <<-EOF
		#!/bin/sh
		echo 10.0.0.53
		sleep 300 &
		echo \$! > "$SCRATCH/sleeper"
		wait
	EOF
	chmod 755 "$SCRIPTS/hv_get_dns_info"
	start=$(date +%s)
	ip_info "${MAC1^^}"
	assert_success
	elapsed=$(( $(date +%s) - start ))
	assert_equal "$(field dns_addr)" "10.0.0.53"
	[[ "$stderr" == *"timed out"* ]] || fail "no timeout logged: $stderr"
	[ "$elapsed" -ge 9 ] && [ "$elapsed" -lt "$(scaled 40)" ] || fail "answered after $elapsed s"
	# The hook's own child went with it (gone, or a zombie left to a non-reaping init).
	state=$(awk '{print $3}' "/proc/$(cat "$SCRATCH/sleeper")/stat" 2>/dev/null || true)
	[ -z "$state" ] || [ "$state" = Z ] || fail "the hook's child survived (state $state)"
}

@test "GET: an interface without any address is skipped; none left is HV_E_FAIL; loopback never matches" {
	mkif_bare eth1 "$MAC1"
	ip_info "${MAC1^^}"
	assert_failure 1
	[[ "$stderr" == *HV_E_FAIL* ]] || fail "$stderr"
	[[ "$stderr" == *"eth1, the interface with the MAC address '${MAC1^^}', has no IP address"* ]] ||
		fail "no log line: $stderr"
	# An SR-IOV VF (first in name order, no address) shares the MAC with the
	# synthetic NIC: the NIC is reported, even when it has no address of the
	# requested family (its DNS servers show which one was chosen).
	ip -n "$NS" link set eth1 name aaa
	mkif_bare eth1b "$MAC1"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1b
	STACK=networkmanager
	mkdir -p "$ROOT/etc/NetworkManager/system-connections"
	printf '[connection]\nid=b\ninterface-name=eth1b\n[ipv6]\nmethod=manual\ndns=2001:db8::53;\n' \
		> "$ROOT/etc/NetworkManager/system-connections/b.nmconnection"
	ip_info --family ipv6 "${MAC1^^}"
	assert_success
	assert_equal "$(field ip_addr)" ""
	assert_equal "$(field dns_addr)" "2001:db8::53"
	ip_info --family ipv4 "${MAC1^^}"
	assert_success
	assert_equal "$(field ip_addr)" "10.1.0.5"
	# lo (00:00:00:00:00:00, with 127.0.0.1 and ::1) is never the answer.
	ip_info 00:00:00:00:00:00
	assert_failure 1
	[[ "$stderr" == *"no network interface has the MAC address '00:00:00:00:00:00'"* ]] || fail "$stderr"
}

@test "GET: hooks that exit leaving a background child answer at once, with what they printed" {
	mkif eth1 "$MAC1" "$GUID1"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1
	cat > "$SCRIPTS/hv_get_dns_info" <<-EOF
		#!/bin/sh
		echo 10.0.0.53
		sleep 60 </dev/null 2>/dev/null &
		echo \$! >> "$SCRATCH/daemons"
		exit 0
	EOF
	cat > "$SCRIPTS/hv_get_dhcp_info" <<-EOF
		#!/bin/sh
		echo Enabled
		sleep 60 </dev/null 2>/dev/null &
		echo \$! >> "$SCRATCH/daemons"
		exit 0
	EOF
	chmod 755 "$SCRIPTS"/hv_get_*
	start=$(date +%s)
	ip_info "${MAC1^^}"
	assert_success
	elapsed=$(( $(date +%s) - start ))
	[ "$elapsed" -lt "$(scaled 5)" ] || fail "answered after $elapsed s"
	assert_equal "$(field dns_addr)" "10.0.0.53"
	assert_equal "$(field dhcp_enabled)" true
	[[ "$stderr" != *"timed out"* && "$stderr" != *failed* ]] || fail "a hook was taken as failed: $stderr"
	# Their children were left alone, as system() leaves them.
	while read -r pid; do
		kill -0 "$pid" || fail "the hook's background child $pid was killed"
	done < "$SCRATCH/daemons"
}

@test "GET through NetworkManager: our own hv-IF profile wins over one earlier in name order" {
	mkif eth1 "$MAC1" "$GUID1"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1
	STACK=networkmanager
	d="$ROOT/etc/NetworkManager/system-connections"
	mkdir -p "$d"
	printf '[connection]\nid=cloud-init eth1\n[ethernet]\nmac-address=%s\n[ipv4]\nmethod=auto\ndns=10.9.9.9;\n' \
		"${MAC1^^}" > "$d/cloud-init-eth1.nmconnection"
	chmod 600 "$d/cloud-init-eth1.nmconnection"
	ip_info "${MAC1^^}"
	assert_equal "$(field dhcp_enabled)" true
	assert_equal "$(field dns_addr)" "10.9.9.9"
	host kvp set-ip --ip "10.2.0.7" --subnet 24 --dns "10.0.0.53" "$GUID1"
	assert_success
	[ -f "$d/hv-eth1.nmconnection" ]
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field dhcp_enabled)" false
	assert_equal "$(field dns_addr)" "10.0.0.53"
	# An hv-IF profile that names another interface does not count.
	sed -i 's/^interface-name=eth1$/interface-name=eth9/' "$d/hv-eth1.nmconnection"
	ip_info "${MAC1^^}"
	assert_equal "$(field dns_addr)" "10.9.9.9"
}

@test "GET through systemd-networkd: a .network file without [Match] conditions matches nothing" {
	mkif eth1 "$MAC1" "$GUID1"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1
	STACK=networkd
	n="$ROOT/etc/systemd/network"
	mkdir -p "$n"
	printf '[Match]\n\n[Network]\nDHCP=yes\nDNS=10.66.0.1\n' > "$n/00-empty-match.network"
	printf '[Network]\nDHCP=yes\nDNS=10.66.0.2\n' > "$n/01-no-match.network"
	printf '[Match]\nName=\n[Network]\nDHCP=yes\nDNS=10.66.0.3\n' > "$n/02-reset.network"
	printf '[Match]\nMACAddress=%s\n[Network]\nDHCP=no\nDNS=10.0.0.53\n' "$MAC1" > "$n/10-one.network"
	ip_info "${MAC1^^}"
	assert_success
	assert_equal "$(field dhcp_enabled)" false
	assert_equal "$(field dns_addr)" "10.0.0.53"
}

# ------------------------------------------------------------------------
# SET_IP_INFO

@test "SET through NetworkManager: a 0600 keyfile, then nmcli reload and up" {
	two_interfaces
	STACK=networkmanager
	host kvp set-ip --ip "10.2.0.7;2001:db8:2::7" --subnet "255.255.255.0;/64" \
		--gateway "10.2.0.1;2001:db8:2::1" --dns "10.0.0.53" "{${GUID1^^}}"
	assert_success
	f="$ROOT/etc/NetworkManager/system-connections/hv-eth1.nmconnection"
	assert_equal "$(mode_of "$f")" 600
	run cat "$f"
	assert_line "# Written by hv-kvpd from Hyper-V SET_IP_INFO"
	assert_line "interface-name=eth1"
	assert_line "mac-address=${MAC1^^}"
	assert_line "address1=10.2.0.7/24"
	assert_line "address1=2001:db8:2::7/64"
	assert_line "gateway=10.2.0.1"
	assert_line "gateway=2001:db8:2::1"
	assert_line "dns=10.0.0.53;"
	assert_equal "$(calls)" "$(printf 'nmcli connection reload\nnmcli connection up id hv-eth1')"
	# Nothing else was written, and nothing is left behind.
	assert_equal "$(ls -A "$ROOT/etc/NetworkManager/system-connections")" "hv-eth1.nmconnection"
}

@test "SET through NetworkManager: a failing nmcli is HV_E_FAIL and the keyfile stays" {
	mkif eth1 "$MAC1" "$GUID1"
	STACK=networkmanager
	echo 4 > "$SCRATCH/bin/nmcli.status"
	host kvp set-ip --dhcp "$GUID1"
	assert_failure 1
	[[ "$stderr" == *HV_E_FAIL* ]] || fail "$stderr"
	[[ "$stderr" == *"stays in '$ROOT/etc/NetworkManager/system-connections/hv-eth1.nmconnection'"* ]] ||
		fail "the log does not say where the file is: $stderr"
	run cat "$ROOT/etc/NetworkManager/system-connections/hv-eth1.nmconnection"
	assert_line "method=auto"
	assert_equal "$(calls)" "nmcli connection reload"
}

@test "SET through systemd-networkd: a 0644 .network file, then networkctl reload and reconfigure" {
	two_interfaces
	STACK=networkd
	host kvp set-ip --ip "10.2.0.7; 10.2.1.7" --subnet "24;/16" --gateway "10.2.0.1" \
		--dns "10.0.0.53;10.0.0.54" "$GUID10"
	assert_success
	f="$ROOT/etc/systemd/network/10-hv-eth10.network"
	assert_equal "$(mode_of "$f")" 644
	assert_equal "$(cat "$f")" "$(printf '%s\n' "# Written by hv-kvpd from Hyper-V SET_IP_INFO" \
		"[Match]" "Name=eth10" "" "[Network]" "DHCP=no" "Address=10.2.0.7/24" "Address=10.2.1.7/16" \
		"Gateway=10.2.0.1" "DNS=10.0.0.53" "DNS=10.0.0.54")"
	assert_equal "$(calls)" "$(printf 'networkctl reload\nnetworkctl reconfigure -- eth10')"
}

@test "SET through ifupdown: interfaces.d/hv-IF, ifdown (failure tolerated) then ifup" {
	mkif eth1 "$MAC1" "$GUID1"
	STACK=ifupdown
	echo 1 > "$SCRATCH/bin/ifdown.status"
	host kvp set-ip --ip "10.2.0.7" --subnet "255.255.255.0" --gateway "10.2.0.1" --dns "10.0.0.53" "$GUID1"
	assert_success
	f="$ROOT/etc/network/interfaces.d/hv-eth1"
	run cat "$f"
	assert_line "auto eth1"
	assert_line "iface eth1 inet static"
	assert_line --regexp "^[[:space:]]+address 10.2.0.7/24$"
	assert_line --regexp "^[[:space:]]+gateway 10.2.0.1$"
	assert_line --regexp "^[[:space:]]+dns-nameservers 10.0.0.53$"
	assert_equal "$(calls)" "$(printf 'ifdown -- eth1\nifup -- eth1')"
	# A failing ifup is an error.
	echo 1 > "$SCRATCH/bin/ifup.status"
	host kvp set-ip --dhcp "$GUID1"
	assert_failure 1
	[[ "$stderr" == *HV_E_FAIL* ]] || fail "$stderr"
	grep -q "iface eth1 inet dhcp" "$f"
}

@test "SET with no network stack configures the interface itself: addresses and default routes" {
	two_interfaces
	ip -n "$NS" addr add 10.1.0.6/24 dev eth1
	ip -n "$NS" route add default via 10.10.0.1 dev eth10
	host kvp set-ip --ip "10.2.0.7;2001:db8:2::7" --subnet "255.255.255.0;64" \
		--gateway "10.2.0.1;2001:db8:2::1" "$GUID1"
	assert_success
	run ip -n "$NS" -4 -o addr show dev eth1
	assert_output --partial "inet 10.2.0.7/24"
	refute_output --partial "10.1.0.5"
	refute_output --partial "10.1.0.6"
	run ip -n "$NS" -6 -o addr show dev eth1 scope global
	assert_output --partial "inet6 2001:db8:2::7/64"
	run ip -n "$NS" -4 route show default
	assert_line --partial "default via 10.2.0.1 dev eth1"
	assert_line --partial "default via 10.10.0.1 dev eth10" # the other interface's, untouched
	run ip -n "$NS" -6 route show default
	assert_output --partial "default via 2001:db8:2::1 dev eth1"
	# No tool of another stack was run.
	assert_equal "$(calls)" ""
	# eth10 untouched.
	run ip -n "$NS" -4 -o addr show dev eth10
	assert_output --partial "inet 10.10.0.5/16"
}

@test "SET with no network stack: DHCP is HV_E_FAIL with a clear log line" {
	mkif eth1 "$MAC1" "$GUID1"
	ip -n "$NS" addr add 10.1.0.5/24 dev eth1
	host kvp set-ip --dhcp "$GUID1"
	assert_failure 1
	[[ "$stderr" == *HV_E_FAIL* ]] || fail "$stderr"
	[[ "$stderr" == *"DHCP requested for eth1, but no network stack"* ]] || fail "$stderr"
	run ip -n "$NS" -4 -o addr show dev eth1
	assert_output --partial "10.1.0.5/24"
}

@test "SET with the hv_set_ifconfig hook: it gets ifcfg-IF and IF.nmconnection (0600) and decides" {
	two_interfaces
	STACK=networkmanager
	cat > "$SCRIPTS/hv_set_ifconfig" <<-EOF
		#!/bin/sh
		printf '%s\n' "\$@" > "$SCRATCH/hook-args"
		stat -c %a "\$1" "\$2" > "$SCRATCH/hook-modes"
		cp "\$1" "\$2" "$SCRATCH/"
		exit \$(cat "$SCRATCH/hook-status" 2>/dev/null || echo 0)
	EOF
	chmod 755 "$SCRIPTS/hv_set_ifconfig"
	host kvp set-ip --ip "10.2.0.7;2001:db8:2::7" --subnet "255.255.255.0;64" \
		--gateway "10.2.0.1" --dns "10.0.0.53;10.0.0.54" "$GUID1"
	assert_success
	assert_equal "$(cat "$SCRATCH/hook-args")" "$(printf '%s\n' "$SCRATCH/pool/ifcfg-eth1" "$SCRATCH/pool/eth1.nmconnection")"
	assert_equal "$(cat "$SCRATCH/hook-modes")" "$(printf '600\n600')"
	assert_equal "$(cat "$SCRATCH/ifcfg-eth1")" "$(printf '%s\n' "HWADDR=${MAC1^^}" DEVICE=eth1 BOOTPROTO=none \
		IPADDR0=10.2.0.7 NETMASK0=255.255.255.0 IPV6ADDR=2001:0db8:0002:0000:0000:0000:0000:0007 \
		IPV6NETMASK=64 GATEWAY=10.2.0.1 DNS1=10.0.0.53 DNS2=10.0.0.54)"
	run cat "$SCRATCH/eth1.nmconnection"
	assert_line "interface-name=eth1"
	assert_line "mac-address=${MAC1^^}"
	assert_line "address1=10.2.0.7/24"
	assert_line "dns=10.0.0.53,10.0.0.54"
	# The stack was not used.
	assert_equal "$(calls)" ""
	[ ! -e "$ROOT/etc/NetworkManager/system-connections/hv-eth1.nmconnection" ]
	# Its exit status is the answer.
	echo 3 > "$SCRATCH/hook-status"
	host kvp set-ip --dhcp "$GUID1"
	assert_failure 1
	[[ "$stderr" == *HV_E_FAIL* ]] || fail "$stderr"
	grep -qx BOOTPROTO=dhcp "$SCRATCH/ifcfg-eth1"
}

@test "SET: malformed addresses are HV_INVALIDARG, an unknown GUID HV_GUID_NOTFOUND; nothing applied" {
	mkif eth1 "$MAC1" "$GUID1"
	STACK=networkd
	for args in "--ip 1.2.3.4/33 --subnet 24" "--ip 1.2.3.4 --subnet 255.0.255.0" \
		"--ip 1.2.3.4;1.2.3.5 --subnet 24" "--ip 1.2.3.4 --subnet 24 --gateway gw.example" \
		"--ip 2001:db8::1 --subnet 255.255.255.0" "--ip 1.2.3.4 --subnet 24 --dns 8.8.8.8,8.8.4.4"; do
		# shellcheck disable=SC2086
		host kvp set-ip $args "$GUID1"
		assert_failure 1
		[[ "$stderr" == *HV_INVALIDARG* ]] || fail "$args: $stderr"
		[[ "$stderr" == *"SET_IP_INFO: "* ]] || fail "$args: no log line naming the field: $stderr"
	done
	host kvp set-ip --ip "10.2.0.7" --subnet 24 "f8615163-df3e-46c5-913f-f2d2f965ed99"
	assert_failure 1
	[[ "$stderr" == *HV_GUID_NOTFOUND* ]] || fail "$stderr"
	[ ! -e "$ROOT/etc/systemd/network" ]
	assert_equal "$(calls)" ""
}

@test "SET through ifupdown: an ifup that leaves a DHCP client running succeeds at once" {
	mkif eth1 "$MAC1" "$GUID1"
	STACK=ifupdown
	echo 60 > "$SCRATCH/bin/ifup.daemon"
	start=$(date +%s)
	host kvp set-ip --dhcp "$GUID1"
	assert_success
	elapsed=$(( $(date +%s) - start ))
	[ "$elapsed" -lt "$(scaled 5)" ] || fail "answered after $elapsed s"
	[[ "$stderr" != *"did not finish"* ]] || fail "$stderr"
	assert_equal "$(calls)" "$(printf 'ifdown -- eth1\nifup -- eth1')"
	# The client was left running.
	kill -0 "$(cat "$SCRATCH/bin/daemons")" || fail "ifup's background child was killed"
}

@test "SET through ifupdown: another stanza for the interface is warned about, and left alone" {
	mkif eth1 "$MAC1" "$GUID1"
	STACK=ifupdown
	mkdir -p "$ROOT/etc/network/interfaces.d"
	printf 'auto lo\niface lo inet loopback\n\nauto eth1\niface eth1 inet dhcp\nsource /etc/network/interfaces.d/*\n' \
		> "$ROOT/etc/network/interfaces"
	printf 'iface eth1 inet6 auto\n' > "$ROOT/etc/network/interfaces.d/50-cloud-init"
	printf 'iface eth10 inet dhcp\n' > "$ROOT/etc/network/interfaces.d/60-other"
	cp "$ROOT/etc/network/interfaces" "$SCRATCH/interfaces.orig"
	host kvp set-ip --ip "10.2.0.7" --subnet 24 "$GUID1"
	assert_success
	[[ "$stderr" == *"'$ROOT/etc/network/interfaces' also configures eth1"* ]] || fail "$stderr"
	[[ "$stderr" == *"'$ROOT/etc/network/interfaces.d/50-cloud-init' also configures eth1"* ]] || fail "$stderr"
	[[ "$stderr" != *"60-other"* ]] || fail "$stderr"
	cmp "$ROOT/etc/network/interfaces" "$SCRATCH/interfaces.orig"
	# Our own file, there from the first SET, is not a conflict.
	rm "$ROOT/etc/network/interfaces.d/50-cloud-init"
	printf 'auto lo\niface lo inet loopback\n' > "$ROOT/etc/network/interfaces"
	host kvp set-ip --dhcp "$GUID1"
	assert_success
	[[ "$stderr" != *"also configures"* ]] || fail "$stderr"
}

@test "SET: an IPv6 mask in address form is taken when contiguous" {
	mkif eth1 "$MAC1" "$GUID1"
	STACK=networkd
	host kvp set-ip --ip "10.2.0.7;2001:db8:2::7" --subnet "255.255.255.0;ffff:ffff:ffff:ffff::" "$GUID1"
	assert_success
	run cat "$ROOT/etc/systemd/network/10-hv-eth1.network"
	assert_line "Address=10.2.0.7/24"
	assert_line "Address=2001:db8:2::7/64"
	host kvp set-ip --ip "2001:db8:2::7" --subnet "ffff::ffff" "$GUID1"
	assert_failure 1
	[[ "$stderr" == *HV_INVALIDARG* ]] || fail "$stderr"
}

@test "SET: an interface whose name starts with '-' is never passed to a tool" {
	STACK=ifupdown
	mkdir -p "$SCRATCH/sys/class/net/-a/device"
	echo "$MAC1" > "$SCRATCH/sys/class/net/-a/address"
	echo "{$GUID1}" > "$SCRATCH/sys/class/net/-a/device/device_id"
	host kvp set-ip --dhcp "$GUID1"
	assert_failure 1
	[[ "$stderr" == *HV_GUID_NOTFOUND* ]] || fail "$stderr"
	[[ "$stderr" == *"ignoring the interface name '-a'"* ]] || fail "$stderr"
	assert_equal "$(calls)" ""
	[ ! -e "$ROOT/etc/network/interfaces.d" ]
}

@test "SET: all its tools share one 25 s deadline, and the step that ran out of time is named" {
	mkif eth1 "$MAC1" "$GUID1"
	STACK=networkmanager
	echo 15 > "$SCRATCH/bin/nmcli.sleep"
	start=$(date +%s)
	host kvp set-ip --dhcp "$GUID1"
	assert_failure 1
	elapsed=$(( $(date +%s) - start ))
	[[ "$stderr" == *HV_E_FAIL* ]] || fail "$stderr"
	[[ "$stderr" == *"out of time (25 s for the whole request) while trying to activate the profile"* ]] ||
		fail "$stderr"
	[ "$elapsed" -ge 24 ] && [ "$elapsed" -lt 30 ] || fail "answered after $elapsed s"
	assert_equal "$(calls)" "$(printf 'nmcli connection reload\nnmcli connection up id hv-eth1')"
}
