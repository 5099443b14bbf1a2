#!/usr/bin/env bats
# hv-kvpd end to end: hv-hostsim plays the Hyper-V host's KVP requests, the real
# daemon answers from its pool files (the kernel daemon's 2560-byte records).

load helpers

bats_require_minimum_version 1.5.0

setup() {
	hv_setup
	POOLS="$SCRATCH/pools"
	DAEMON_ARGS=()
	# A fixed os-release, so that OSName and OSMajorVersion are known here.
	printf 'PRETTY_NAME="Test OS 42"\nNAME="Test \\"Quoted\\" OS"\nVERSION_ID="42.1"\n' \
		> "$SCRATCH/os-release"
}

guest() {
	echo "$KVPD" --pool-dir "$POOLS" --os-release "$SCRATCH/os-release" "${DAEMON_ARGS[@]}"
}

# kvp SUBCOMMAND ARGS...: one session of hv-hostsim kvp with hv-kvpd on $POOLS.
kvp() {
	run hostsim kvp "$@" -- $(guest)
}

# kvp_json SUBCOMMAND ARGS...: the same with --json; $output is standard output only.
kvp_json() {
	run --separate-stderr hostsim --json kvp "$@" -- $(guest)
}

# kvp_batch [--keep-going] < LINES: one session for every line of standard input.
kvp_batch() {
	run hostsim kvp batch "$@" -- $(guest)
}

# The bytes of a record as the kernel daemon writes it: key and value NUL-padded to 512/2048.
record() {
	local klen vlen
	klen=$(printf '%s' "$1" | wc -c)
	vlen=$(printf '%s' "$2" | wc -c)
	printf '%s' "$1"
	head -c $((512 - klen)) /dev/zero
	printf '%s' "$2"
	head -c $((2048 - vlen)) /dev/zero
}

# assert_record POOL INDEX KEY VALUE: record INDEX of the pool file holds KEY and VALUE,
# each followed by its NUL (the bytes after the NUL are not specified).
assert_record() {
	local file="$POOLS/.kvp_pool_$1" off=$(($2 * 2560)) klen vlen
	klen=$(printf '%s' "$3" | wc -c)
	vlen=$(printf '%s' "$4" | wc -c)
	cmp -n $((klen + 1)) -i "$off:0" "$file" <(printf '%s\0' "$3") ||
		fail "record $2 of pool $1: the key is not '$3'"
	cmp -n $((vlen + 1)) -i "$((off + 512)):0" "$file" <(printf '%s\0' "$4") ||
		fail "record $2 of pool $1: the value is not '$4'"
}

assert_records() {
	assert_equal "$(stat -c %s "$POOLS/.kvp_pool_$1")" $(($2 * 2560))
}

# A string of N copies of S.
repeat() {
	local out="" i
	for ((i = 0; i < $1; i++)); do out+=$2; done
	printf '%s' "$out"
}

@test "version negotiation: 4.0 with the default host, 3.0 when the host offers only 3.0 and 1.0" {
	run hostsim -s kvp negotiate -- $(guest)
	assert_success
	assert_output --partial "host: offering framework 1.0,3.0, kvp 1.0,3.0,4.0,5.0"
	assert_output --partial "guest: chose framework 3.0, kvp 4.0"
	run hostsim -s kvp --service-versions 3.0,1.0 negotiate -- $(guest)
	assert_success
	assert_output --partial "guest: chose framework 3.0, kvp 3.0"
	# And the requests work at 3.0 too.
	run hostsim --service-versions 3.0,1.0 kvp set k v -- $(guest)
	assert_success
	assert_record 1 0 k v
}

@test "set, get, delete and enumerate work on pools 0, 1, 3 and 4, each in its own file" {
	for p in 0 1 3 4; do
		kvp set --pool "$p" "key$p" "value$p"
		assert_success
		kvp set --pool "$p" "other$p" "second$p"
		assert_success
	done
	for p in 0 1 3 4; do
		assert_records "$p" 2
		assert_record "$p" 0 "key$p" "value$p"
		assert_record "$p" 1 "other$p" "second$p"
		kvp get --pool "$p" "key$p"
		assert_success
		assert_line "value$p"
		kvp enumerate --pool "$p"
		assert_success
		assert_line "0: key$p = value$p"
		assert_line "1: other$p = second$p"
		refute_line --partial "2: "
		kvp delete --pool "$p" "key$p"
		assert_success
		assert_records "$p" 1
		assert_record "$p" 0 "other$p" "second$p"
		kvp get --pool "$p" "key$p"
		assert_failure 7
		assert_output --partial "hv-hostsim: kvp get: the guest answered HV_S_CONT (no such key)"
	done
	# Pool names are the same pools as their numbers.
	kvp get --pool external other0
	assert_success
	assert_line second0
	kvp get --pool auto-internal other4
	assert_success
	assert_line second4
	kvp get --pool auto-external other3
	assert_success
	assert_line second3
	# The default pool is guest (1).
	kvp get other1
	assert_success
	assert_line second1
}

@test "a missing key: get, delete and enumerate --index answer HV_S_CONT (exit 7); an empty enumerate is success" {
	kvp get nothing
	assert_failure 7
	kvp delete nothing
	assert_failure 7
	assert_output --partial "hv-hostsim: kvp delete: the guest answered HV_S_CONT (no such key)"
	kvp enumerate --index 0
	assert_failure 7
	assert_output --partial "hv-hostsim: kvp enumerate: the guest answered HV_S_CONT"
	kvp enumerate
	assert_success
	refute_line --regexp '^[0-9]+: '
}

@test "set of an existing key modifies its record in place; enumerate --index reads one record" {
	kvp_batch <<-EOF
		set a 1
		set b 2
		set c 3
		set b two
	EOF
	assert_success
	assert_records 1 3
	assert_record 1 1 b two
	kvp enumerate --index 1
	assert_success
	assert_line "1: b = two"
	refute_line "0: a = 1"
}

@test "AUTO pool: enumerate gives the ten generated keys in order, with the system's values" {
	DAEMON_ARGS=(--integration-version 7.5)
	kvp enumerate --pool auto
	assert_success
	local keys
	keys=$(printf '%s\n' "$output" | sed -n 's/^\([0-9]*\): \([A-Za-z0-9]*\) = .*/\1 \2/p')
	assert_equal "$keys" "0 FullyQualifiedDomainName
1 IntegrationServicesVersion
2 NetworkAddressIPv4
3 NetworkAddressIPv6
4 OSBuildNumber
5 OSName
6 OSMajorVersion
7 OSMinorVersion
8 OSVersion
9 ProcessorArchitecture"
	assert_line "1: IntegrationServicesVersion = 7.5"
	assert_line "4: OSBuildNumber = $(uname -r)"
	assert_line "5: OSName = Test \"Quoted\" OS"
	assert_line "6: OSMajorVersion = 42.1"
	assert_line "7: OSMinorVersion = "
	assert_line "8: OSVersion = $(uname -r | cut -d- -f1)"
	assert_line "9: ProcessorArchitecture = $(uname -m)"
	# Past the end: HV_S_CONT.
	kvp enumerate --pool 2 --index 10
	assert_failure 7
	# The default IntegrationServicesVersion is what the kernel reports.
	DAEMON_ARGS=()
	kvp enumerate --pool auto --index 1
	assert_success
	assert_line "1: IntegrationServicesVersion = 3.1"
}

@test "AUTO pool: get of a generated key, and set/get/delete of other keys in its file" {
	kvp get --pool auto ProcessorArchitecture
	assert_success
	assert_line "$(uname -m)"
	kvp set --pool auto mine here
	assert_success
	assert_record 2 0 mine here
	kvp get --pool auto mine
	assert_success
	assert_line here
	# Enumerate stays the generated list.
	kvp enumerate --pool auto
	assert_success
	refute_output --partial "mine"
	kvp delete --pool auto mine
	assert_success
	assert_records 2 0
}

@test "non-ASCII and astral keys and values round-trip, and are UTF-8 in the pool file" {
	local key="Grüße-報告-📦" value="Wert ✓ 値-😀-𝄞 ünd mehr"
	kvp set "$key" "$value"
	assert_success
	assert_records 1 1
	assert_record 1 0 "$key" "$value"
	kvp get "$key"
	assert_success
	assert_line "$value"
	kvp enumerate
	assert_success
	assert_line "0: $key = $value"
	# A key that differs only in one character is another key.
	kvp get "Grüße-報告-📧"
	assert_failure 7
}

@test "size limits: a key of 255 UTF-16 units and a value of 1023 succeed, one more unit fails" {
	uio_only "the daemon's own UTF-16 field limits; hv_utils converts and caps (values at 1022 units) itself"
	local k255 v1023 k256 v1024 astral
	k255=$(repeat 255 k)
	v1023=$(repeat 1023 v)
	k256=$(repeat 256 k)
	v1024=$(repeat 1024 v)
	kvp set "$k255" "$v1023"
	assert_success
	assert_record 1 0 "$k255" "$v1023"
	kvp get "$k255"
	assert_success
	assert_line "$v1023"
	# 256 units do not fit the 512-byte key field with a NUL: key_size 514.
	kvp set "$k256" x
	assert_failure 1
	assert_output --partial "HV_E_FAIL"
	kvp set k "$v1024"
	assert_failure 1
	kvp get "$k256"
	assert_failure 1
	assert_records 1 1
	# Astral characters count two units each: 127 of them and one more unit is 255 units.
	astral="$(repeat 127 📦)a"
	kvp set "$astral" "$(repeat 511 😀)x"
	assert_success
	assert_record 1 1 "$astral" "$(repeat 511 😀)x"
	kvp set "$astral" "$(repeat 512 😀)"
	assert_failure 1
	assert_record 1 1 "$astral" "$(repeat 511 😀)x"
}

@test "REG_U32 and REG_U64 values are stored as decimal text and read back as strings" {
	kvp set --type u32 u32max 4294967295
	assert_success
	kvp set --type u64 u64max 18446744073709551615
	assert_success
	kvp set --type u32 zero 0
	assert_success
	assert_record 1 0 u32max 4294967295
	assert_record 1 1 u64max 18446744073709551615
	assert_record 1 2 zero 0
	kvp_json get u64max
	assert_success
	assert_equal "$(jq -r .value <<< "$output")" 18446744073709551615
	assert_equal "$(jq -r .value_type <<< "$output")" 1
	# A type the guest does not know is refused, and nothing is stored. (hv_utils
	# passes such a SET on with an empty value_size 0, which must be refused too.)
	kvp set --value-type 3 bad 12
	assert_failure 1
	assert_records 1 3
}

@test "the record cap: the fourth new key fails with --max-records 3, modifying still works" {
	DAEMON_ARGS=(--max-records 3)
	kvp_batch <<-EOF
		set a 1
		set b 2
		set c 3
	EOF
	assert_success
	kvp set d 4
	assert_failure 1
	assert_output --partial "hv-hostsim: kvp set: the guest answered HV_E_FAIL"
	assert_records 1 3
	kvp set b changed
	assert_success
	assert_records 1 3
	assert_record 1 1 b changed
	kvp delete a
	assert_success
	kvp set d 4
	assert_success
	kvp get d
	assert_line 4
}

@test "a record appended to the file by another process is seen by the next GET of the running daemon" {
	mkdir -p "$POOLS"
	# Written before the daemon starts.
	record early one > "$POOLS/.kvp_pool_1"
	kvp get early
	assert_success
	assert_line one
	# Written while the daemon runs: the batch sets a key, sleeps, then reads.
	printf 'set first 1\nsleep 2\nget late\nenumerate\n' > "$SCRATCH/batch"
	hostsim kvp batch -- $(guest) < "$SCRATCH/batch" > "$SCRATCH/out" 2>&1 &
	local pid=$! i
	for i in $(seq 100); do
		[ "$(stat -c %s "$POOLS/.kvp_pool_1")" -ge 5120 ] && break
		sleep 0.05
	done
	assert_record 1 1 first 1
	record late "written by cloud-init" >> "$POOLS/.kvp_pool_1"
	wait "$pid" || fail "hv-hostsim failed: $(cat "$SCRATCH/out")"
	run cat "$SCRATCH/out"
	assert_line "written by cloud-init"
	assert_line "2: late = written by cloud-init"
	assert_records 1 3
}

@test "batch: one session; stops at the first failure, or goes on with --keep-going" {
	kvp_batch <<-EOF
		# comments and empty lines are skipped

		set one 1
		get missing
		set two 2
	EOF
	assert_failure 7
	assert_equal "$(grep -c 'host: started' <<< "$output")" 1
	assert_records 1 1
	kvp_batch --keep-going <<-EOF
		get missing
		set two 2
		get two
	EOF
	assert_failure 7
	assert_line 2
	assert_records 1 2
	# A bad line is a usage error before the guest starts.
	kvp_batch <<-EOF
		set a 1
		frobnicate
	EOF
	assert_failure 2
	assert_output --partial "line 2"
	refute_output --partial "host: started"
}

@test "--json: get, set, delete and enumerate print JSON, strings escaped" {
	local key=$'quote" back\\ tab\t' value=$'line\nbreak \x01 ü'
	kvp_json set "$key" "$value"
	assert_success
	assert_output '{"status":"HV_S_OK"}'
	kvp_json get "$key"
	assert_success
	assert_equal "$(jq -c . <<< "$output")" "$(jq -nc --arg k "$key" --arg v "$value" \
		'{pool:1,key:$k,value_type:1,value:$v,status:"HV_S_OK"}')"
	# Control characters as \u00XX.
	assert_output --partial 'tab\u0009"'
	assert_output --partial 'line\u000abreak \u0001 ü'
	kvp_json enumerate
	assert_success
	assert_equal "$(jq -c . <<< "$output")" "$(jq -nc --arg k "$key" --arg v "$value" \
		'[{index:0,key:$k,value:$v}]')"
	kvp_json get missing
	assert_failure 7
	assert_equal "$(jq -r .status <<< "$output")" HV_S_CONT
	kvp_json enumerate --pool auto
	assert_success
	assert_equal "$(jq -r '.[9].value' <<< "$output")" "$(uname -m)"
	assert_equal "$(jq length <<< "$output")" 10
	kvp_json delete "$key"
	assert_success
	assert_output '{"status":"HV_S_OK"}'
	# JSON is for kvp only.
	run hostsim --json negotiate -- $(guest)
	assert_failure 2
}

@test "-v decodes the KVP requests and answers" {
	run hostsim -v kvp set --pool 3 vkey vvalue -- $(guest)
	assert_success
	assert_line "    SET pool 3 value_type 1 key_size 10 value_size 14 key 'vkey' value 'vvalue'"
	assert_line --regexp "guest -> host  packet type 6, trans_id 2, 746[04] bytes"
	run hostsim -v kvp get --pool 3 vkey -- $(guest)
	assert_success
	assert_line "    GET pool 3 value_type 1 key_size 10 value_size 0 key 'vkey' value ''"
	assert_line "    GET pool 3 value_type 1 key_size 10 value_size 14 key 'vkey' value 'vvalue'"
}

@test "--short sends only the operation's structure, and the guest answers it the same" {
	kvp set --short k v
	assert_success
	run hostsim -v kvp batch -- $(guest) <<-EOF
		get --short k
		enumerate --short
		delete --short k
	EOF
	assert_success
	assert_line "host -> guest  packet type 6, trans_id 2, 2604 bytes"
	assert_line "host -> guest  packet type 6, trans_id 3, 2608 bytes"
	assert_line "host -> guest  packet type 6, trans_id 5, 548 bytes"
	assert_records 1 0
}

@test "ip-info: the MAC of an interface gives its addresses; an unknown MAC HV_E_FAIL" {
	require_root "a network namespace with a veth interface"
	command -v unshare >/dev/null || skip "unshare not installed"
	mkdir -p "$POOLS"
	# A network namespace of our own, with its own sysfs for the daemon's MAC lookup.
	run timeout -k 5 "$(scaled 60)" unshare --net --mount bash -c '
		set -e
		mount -t sysfs sysfs /sys
		ip link add hvtest0 type veth peer name hvtest1
		ip link set hvtest0 address 00:15:5d:aa:bb:cc up
		ip addr add 192.0.2.77/24 dev hvtest0
		"$1" --json kvp ip-info --family ipv4 00:15:5D:AA:BB:CC -- "$2" --pool-dir "$3" \
			--network-stack none 2>/dev/null
	' sh "$HOSTSIM" "$KVPD" "$POOLS"
	assert_success
	assert_equal "$(jq -r .adapter_id <<< "$output")" "00:15:5D:AA:BB:CC"
	assert_equal "$(jq -c .ip_addr <<< "$output")" '["192.0.2.77"]'
	assert_equal "$(jq -c .sub_net <<< "$output")" '["255.255.255.0"]'
	assert_equal "$(jq -r '.addr_family' <<< "$output")" 1
	kvp ip-info 00:15:5D:00:00:00
	assert_failure 1
	assert_output --partial "HV_E_FAIL"
}

@test "set-ip of an adapter GUID that does not exist: HV_GUID_NOTFOUND, nothing configured" {
	kvp set-ip --ip 192.0.2.10 --subnet 255.255.255.0 --gateway 192.0.2.1 --dns 192.0.2.53 \
		'{00000000-0000-0000-0000-000000000000}'
	assert_failure 1
	assert_output --partial "HV_GUID_NOTFOUND"
}

@test "every KVP hostile scenario: the guest refuses or drops it and still answers" {
	local s scenarios=(kvp-pool-7 kvp-index-max kvp-bad-value-type kvp-unknown-op)
	# The others hand the daemon raw UTF-16 fields and sizes; on the character
	# device the kernel decodes (and bounds) those itself.
	[ "$HV_TRANSPORT" = uio ] && scenarios+=(kvp-key-size-0 kvp-key-size-100000
		kvp-value-size-100000 kvp-unterminated-key kvp-invalid-utf16 kvp-short kvp-ip-unterminated)
	for s in "${scenarios[@]}"; do
		run hostsim hostile "$s" -- $(guest)
		assert_success
		assert_output --partial "still answers"
		assert_output --partial "host: guest stopped cleanly"
	done
	# Nothing was stored by any of them, and no pool beyond 4 appeared.
	assert_equal "$(cd "$POOLS" && ls -A | sort | tr '\n' ' ')" \
		".kvp_pool_0 .kvp_pool_1 .kvp_pool_2 .kvp_pool_3 .kvp_pool_4 "
	for p in 0 1 2 3 4; do
		assert_records "$p" 0
	done
}

@test "command-line mistakes are usage errors before the guest starts" {
	for args in "get" "set k" "get --pool 256 k" "get --pool nowhere k" "set --type u32 k 4294967296" \
		"set --type u64 k -1" "enumerate --index 4294967296" "get --index 1 k" "frob" \
		"set $(repeat 257 k) v" "ip-info --family ipv5 00:11:22:33:44:55"; do
		run hostsim kvp $args -- $(guest)
		assert_failure 2
		refute_output --partial "host: started"
	done
}

@test "chardev: registration (KVP_OP_REGISTER1, answered version 3.1); a wrong-size answer makes the daemon exit 1" {
	chardev_only "the hv_utils registration handshake"
	kvp enumerate --pool auto --index 1
	assert_success
	assert_output --partial "kernel: daemon registered on hv_kvp (KVP_OP_REGISTER1)"
	assert_output --partial "IntegrationServicesVersion = 3.1"
	run hostsim -s kvp hostile chardev-register-size -- $(guest)
	assert_success
	assert_output --partial "guest: stopped with exit status 1"
}

@test "chardev: a kernel message shorter than hv_kvp_msg gets an error; the daemon still answers" {
	chardev_only "kernel message sizes"
	run hostsim -s kvp hostile chardev-msg-size -- $(guest)
	assert_success
	assert_output --partial "guest: refused it"
	assert_output --partial "host: guest stopped cleanly"
}

@test "chardev: a read error (the kernel resets the device): the daemon reopens, registers again, answers" {
	chardev_only "reopen after a read error"
	run hostsim -s kvp hostile chardev-read-error -- $(guest)
	assert_success
	assert_output --partial "kernel: hv_kvp reset by the kernel"
	assert_equal "$(grep -c "kernel: daemon registered on hv_kvp" <<< "$output")" 2
	assert_output --partial "host: guest stopped cleanly"
}
