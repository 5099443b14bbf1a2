#!/usr/bin/env bats
# KVP pool files: the hv-kvp command line, compatibility with the other writers
# and readers of the same files (the kernel's hv_kvp_daemon, cloud-init, hv-kvpd
# through hv-hostsim), concurrency, damaged files and lock timeouts.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	hv_setup
	DIR="$SCRATCH/pools"
	PERM_DIR=
}

teardown() {
	hv_teardown
	[ -z "$PERM_DIR" ] || rm -rf "$PERM_DIR"
}

# kvp ARGS...: hv-kvp on the test's pool directory.
kvp() {
	"$KVP" --pool-dir "$DIR" "$@"
}

pool_file() {
	echo "$DIR/.kvp_pool_$1"
}

# The exact, ordered list of keys in a pool through hv-kvp (keys without '=').
keys() {
	kvp list --pool "$1" | cut -d= -f1
}

# check_records FILE: the size is a whole number of 2560-byte records and, in
# every record, the bytes after each field's NUL are zero. Prints the bad ones.
check_records() {
	local size
	size=$(stat -c %s "$1")
	[ $((size % 2560)) -eq 0 ] || { echo "size $size is not a multiple of 2560"; return 1; }
	[ "$size" -eq 0 ] && return 0
	od -An -v -tu1 -w2560 "$1" | awk '
		function field(from, to,   i, end) {
			end = 0
			for (i = from; i <= to; i++) {
				if (!end && $i == 0) end = i
				else if (end && $i != 0) return "byte " i - from " after the NUL is " $i
			}
			return end ? "" : "no NUL"
		}
		{
			k = field(1, 512); v = field(513, 2560)
			if (k != "" || v != "") { print "record " NR - 1 ": key " k ", value " v; bad = 1 }
		}
		END { exit bad }'
}

# hv-kvpd and the hostsim kvp commands are written in parallel with this suite.
require_kvp_host() {
	"$KVPD" --version >/dev/null 2>&1 || skip "hv-kvpd is not built yet (placeholder)"
	"$HOSTSIM" --help 2>/dev/null | grep -q 'kvp' && "$HOSTSIM" --help 2>/dev/null | grep -q 'enumerate' ||
		skip "hv-hostsim has no kvp get/enumerate commands yet"
}

# background NAME CMD...: run CMD in its own process group, killed by the teardown.
background() {
	local name=$1
	shift
	setsid bash -c 'echo $$ >> "$1"; shift; exec "$@"' bg "$HV_PGIDS" "$@" \
		> "$SCRATCH/$name.out" 2> "$SCRATCH/$name.err" &
}

wait_for_file() {
	for _ in $(seq $((100 * $(scaled 1)))); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	fail "$1 did not appear"
}

# --- the command line -------------------------------------------------------

@test "hv-kvp --help and --version; every option is in the man page" {
	run "$KVP" --help
	assert_success
	assert_output --partial "Usage: hv-kvp [OPTIONS] get KEY"
	assert_output --partial "Exit status: 0 success; 1 no such key (get, delete); 2 usage error"
	assert_output --partial "3 the pool could not be read or written"
	run "$KVP" --version
	assert_success
	assert_output --regexp '^hv-kvp [0-9]+\.[0-9]+\.[0-9]+$'
	for opt in $("$KVP" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "\*$opt\*" "$top_srcdir/man/hv-kvp.1.scd" || fail "$opt is not in hv-kvp.1.scd"
	done
	for env in HV_KVP_LOCK_TIMEOUT_MS HV_KVP_MAX_RECORDS; do
		grep -q "$env" "$top_srcdir/man/hv-kvp.1.scd" || fail "$env is not documented"
	done
}

@test "set, get, list and delete work on every writable pool, by name and by number, each in its own file" {
	local names=(external guest auto auto-external auto-internal) n
	for n in 0 1 3 4; do
		run kvp set --pool "${names[n]}" "key-$n" "value of $n"
		assert_success
		assert_output ""
	done
	for n in 0 1 3 4; do
		run kvp get --pool "$n" "key-$n"
		assert_success
		assert_output "value of $n"
		run kvp list --pool "${names[n]}"
		assert_success
		assert_output "key-$n=value of $n"
		# The record is in that pool's file and in no other.
		run "$KVP_TOOL" kernel-read "$(pool_file "$n")"
		assert_output "key-$n=value of $n"
	done
	# set replaces, list keeps the file order.
	kvp set --pool external key-0 "new value"
	kvp set --pool external other x
	run kvp list --pool 0
	assert_output $'key-0=new value\nother=x'
	for n in 0 1 3 4; do
		run kvp delete --pool "$n" "key-$n"
		assert_success
		run kvp get --pool "${names[n]}" "key-$n"
		assert_failure 1
		assert_output --partial "no key 'key-$n' in pool ${names[n]}"
		run kvp delete --pool "$n" "key-$n"
		assert_failure 1
	done
	run kvp list --pool external
	assert_output "other=x"
	# The daemon's five files, with its modes.
	for n in 0 1 2 3 4; do
		assert_equal "$(stat -c %a "$(pool_file "$n")")" 644
	done
	assert_equal "$(stat -c %a "$DIR")" 755
}

@test "the default pool is guest, options go anywhere, '--' ends them" {
	"$KVP" set k1 v1 --pool-dir "$DIR"
	run kvp get --pool guest k1
	assert_output v1
	run "$KVP" get k1 --pool 1 --pool-dir "$DIR" --json
	assert_output '{"pool":"guest","key":"k1","value":"v1"}'
	run kvp set -- -dash -value
	assert_success
	run kvp get -- -dash
	assert_output -- "-value"
}

@test "--pool auto: the ten generated values, in the kernel daemon's order; set and delete refused" {
	run "$KVP" --pool-dir "$DIR" --pool auto list
	assert_success
	assert_equal "$(printf '%s\n' "$output" | cut -d= -f1 | tr '\n' ' ')" \
		"FullyQualifiedDomainName IntegrationServicesVersion NetworkAddressIPv4 NetworkAddressIPv6 OSBuildNumber OSName OSMajorVersion OSMinorVersion OSVersion ProcessorArchitecture "
	assert_line "OSBuildNumber=$(uname -r)"
	assert_line "ProcessorArchitecture=$(uname -m)"
	run kvp --pool 2 get OSVersion
	assert_success
	assert_output "$(uname -r | cut -d- -f1)"
	run kvp --pool auto --json get ProcessorArchitecture
	assert_output "{\"pool\":\"auto\",\"key\":\"ProcessorArchitecture\",\"value\":\"$(uname -m)\"}"
	run kvp --pool auto get NoSuchKey
	assert_failure 1
	run kvp --pool auto set OSName Plan9
	assert_failure 2
	assert_output --partial "the auto pool is generated by hv-kvpd"
	run kvp --pool 2 delete OSName
	assert_failure 2
	# Reading the generated pool needs no pool directory and creates none.
	[ ! -e "$DIR" ] || fail "$DIR was created"
}

@test "--json: get and list with every character JSON must escape, U+FFFD for bytes that are not UTF-8" {
	kvp set 'q"uote' 'back\slash'
	printf 'tab\there\ncontrol\001\037end\n' | kvp set 'ctl' -
	kvp set 'café 😀' '文件'
	run kvp --json get 'q"uote'
	assert_output '{"pool":"guest","key":"q\"uote","value":"back\\slash"}'
	run kvp --json get ctl
	assert_output '{"pool":"guest","key":"ctl","value":"tab\there\ncontrol\u0001\u001fend"}'
	run kvp list --json
	assert_success
	assert_output '[{"key":"q\"uote","value":"back\\slash"},{"key":"ctl","value":"tab\there\ncontrol\u0001\u001fend"},{"key":"café 😀","value":"文件"}]'
	if command -v jq >/dev/null; then
		assert_equal "$(kvp list --json | jq -r '.[2].key')" 'café 😀'
		assert_equal "$(kvp list --json | jq -r '.[1].value')" "$(printf 'tab\there\ncontrol\001\037end')"
	fi
	# Bytes another writer left that are not UTF-8: raw in plain output, U+FFFD in JSON.
	"$KVP_TOOL" kernel-write "$(pool_file 3)" $'bad\xffkey=v\xc3(\xed\xa0\x80x'
	run kvp --pool 3 list --json
	assert_output '[{"key":"bad\ufffdkey","value":"v\ufffd(\ufffd\ufffd\ufffdx"}]'
	run kvp --pool 3 list
	assert_output $'bad\xffkey=v\xc3(\xed\xa0\x80x'
	# An empty list is an empty array.
	run kvp --pool 4 list --json
	assert_output '[]'
}

@test "exit statuses: 1 no such key, 2 usage errors, each with a one-line message" {
	kvp set present yes
	run kvp get absent
	assert_failure 1
	run --separate-stderr kvp get absent
	assert_equal "$output" ""
	run kvp delete absent
	assert_failure 1
	local bad
	for bad in "--frobnicate list" "" "frobnicate" "get" "get a b" "set k" "set k v w" "delete" \
		"list x" "--pool 5 list" "--pool guests list" "--pool -1 list" "--pool" "get --pool auto"; do
		run kvp $bad
		assert_failure 2
		assert_output --partial "hv-kvp"
	done
	run kvp set "" value
	assert_failure 2
	assert_output --partial "invalid key"
	run kvp get ""
	assert_failure 2
	# Nothing changed.
	run kvp list
	assert_output "present=yes"
}

@test "exit status 3: a pool directory that cannot be created, a file the user may not write" {
	run "$KVP" --pool-dir /dev/null/pools set k v
	assert_failure 3
	assert_output "hv-kvp: cannot write /dev/null/pools/.kvp_pool_1: Not a directory"
	run "$KVP" --pool-dir /dev/null/pools list
	assert_failure 3
	assert_output --partial "hv-kvp: cannot read /dev/null/pools/.kvp_pool_1"

	require_root "to run hv-kvp as another user"
	# A directory every user can reach (the test's own may not be).
	PERM_DIR=$(mktemp -d /tmp/hv-kvp-perm.XXXXXX)
	chmod 0755 "$PERM_DIR"
	DIR="$PERM_DIR/pools"
	kvp set k v
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$KVP" ||
		skip "user 65534 cannot run $KVP here"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$KVP" --pool-dir "$DIR" set k other
	assert_failure 3
	assert_output "hv-kvp: cannot write $DIR/.kvp_pool_1: Permission denied"
	# Reading a 0644 pool needs no write permission.
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$KVP" --pool-dir "$DIR" get k
	assert_success
	assert_output v
}

@test "exit status 3: a full disk, and a pool at its record cap" {
	loop_mount 2 "$SCRATCH/mnt"
	DIR="$SCRATCH/mnt/pools"
	kvp set first 1
	# Every block, down to the last small one.
	dd if=/dev/zero of="$SCRATCH/mnt/fill" bs=64k 2>/dev/null || true
	dd if=/dev/zero of="$SCRATCH/mnt/fill2" bs=1k 2>/dev/null || true
	sync
	run kvp set second 2
	assert_failure 3
	assert_output "hv-kvp: cannot write $DIR/.kvp_pool_1: No space left on device"
	rm -f "$SCRATCH/mnt/fill" "$SCRATCH/mnt/fill2"
	run kvp list
	assert_output "first=1"
	check_records "$(pool_file 1)"

	DIR="$SCRATCH/capped"
	export HV_KVP_MAX_RECORDS=3
	kvp set a 1
	kvp set b 2
	kvp set c 3
	run kvp set d 4
	assert_failure 3
	assert_output "hv-kvp: cannot write $DIR/.kvp_pool_1: the pool is full (3 records)"
	# A key already there can still change, and a delete makes room.
	run kvp set a 11
	assert_success
	kvp delete b
	run kvp set d 4
	assert_success
	assert_equal "$(keys 1 | LC_ALL=C sort | tr '\n' ' ')" "a c d "
}

@test "a missing pool directory: get finds nothing, list is empty, nothing is created" {
	run kvp get k
	assert_failure 1
	run kvp list
	assert_success
	assert_output ""
	run kvp list --json --pool external
	assert_success
	assert_output "[]"
	[ ! -e "$DIR" ] || fail "$DIR was created"
	# An existing directory without the pool file: the same, and still nothing created.
	mkdir "$DIR"
	run kvp get --pool 3 k
	assert_failure 1
	run kvp list --pool 3
	assert_success
	assert_output ""
	assert_equal "$(ls -A "$DIR")" ""
}

@test "UTF-8 keys and values (Latin-1, CJK, astral plane) round-trip byte for byte" {
	local k v
	local -a pairs=("café" "Ñandú été" "文件-ファイル" "파일 값" "📦 box" "😀 emoji 🏳️‍🌈" "ascii" "𝄞𝄞𝄞")
	for ((i = 0; i < ${#pairs[@]}; i += 2)); do
		kvp set "${pairs[i]}" "${pairs[i + 1]}"
	done
	for ((i = 0; i < ${#pairs[@]}; i += 2)); do
		run kvp get "${pairs[i]}"
		assert_success
		assert_output "${pairs[i + 1]}"
	done
	# The kernel's reader sees the same bytes.
	run "$KVP_TOOL" kernel-read "$(pool_file 1)"
	assert_output "$(printf '%s=%s\n' "${pairs[@]}")"
}

@test "limits: keys of 511 bytes and values of 2047 are stored, 512 and 2048 refused; host-truncation warnings" {
	local k511 k512 v2047 v2048
	k511=$(printf 'k%.0s' {1..511})
	k512=${k511}k
	v2047=$(printf 'v%.0s' {1..2047})
	v2048=${v2047}v
	run --separate-stderr kvp set "$k511" "$v2047"
	assert_success
	run kvp get "$k511"
	assert_output "$v2047"
	run kvp set "$k512" x
	assert_failure 2
	assert_output --partial "invalid key"
	run kvp set short "$v2048"
	assert_failure 2
	assert_output --partial "invalid value"
	run kvp get "$k512"
	assert_failure 2
	# Multi-byte characters count in bytes: 255 'é' + 'x' = 511 bytes is fine, 256 'é' = 512 is not.
	run kvp set "$(printf 'é%.0s' {1..255})x" ok
	assert_success
	run kvp set "$(printf 'é%.0s' {1..256})" no
	assert_failure 2
	# From standard input: one trailing newline does not count.
	run bash -c 'printf "%s\n" "$1" | "$2" --pool-dir "$3" set stdin -' _ "$v2047" "$KVP" "$DIR"
	assert_success
	assert_equal "$(kvp get stdin)" "$v2047"
	run bash -c 'printf "%s" "$1" | "$2" --pool-dir "$3" set stdin -' _ "$v2048" "$KVP" "$DIR"
	assert_failure 2
	printf 'two\n\n' | kvp set stdin -
	assert_equal "$(kvp --json get stdin)" '{"pool":"guest","key":"stdin","value":"two\n"}'
	run bash -c 'printf "a\0b" | "$1" --pool-dir "$2" set nul -' _ "$KVP" "$DIR"
	assert_failure 2
	assert_output --partial "NUL"
	# Not UTF-8: refused, not altered.
	run kvp set $'bad\xff' v
	assert_failure 2
	run kvp set k $'\xc0\xaf'
	assert_failure 2
	run kvp set k $'\xed\xa0\x80'
	assert_failure 2

	# The host sees 255 UTF-16 units of a key and 1023 of a value; an astral character is two.
	run --separate-stderr kvp set "$(printf 'k%.0s' {1..255})" v
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr kvp set "$(printf 'k%.0s' {1..256})" v
	assert_success
	assert_equal "$stderr" "hv-kvp: warning: the key is 256 UTF-16 units long; the host reads at most 255 of them"
	run --separate-stderr kvp set w "$(printf 'v%.0s' {1..1021})😀"
	assert_success
	assert_equal "$stderr" ""
	run --separate-stderr kvp set w "$(printf 'v%.0s' {1..1022})😀"
	assert_success
	assert_equal "$stderr" "hv-kvp: warning: the value is 1024 UTF-16 units long; the host reads at most 1023 of them"
	# Stored whole all the same.
	assert_equal "$(kvp get w)" "$(printf 'v%.0s' {1..1022})😀"
}

# --- compatibility with the other readers and writers -------------------------

@test "pools the kernel daemon wrote (stale bytes after the NULs included) are read by hv-kvp" {
	"$KVP_TOOL" kernel-write "$(pool_file 0)" a=1 b=hello c=
	# The kernel daemon copies a new value over the old one and leaves the rest.
	"$KVP_TOOL" kernel-write --stale "$(pool_file 0)" b=hi d=new 'e=é 😀'
	run kvp list --pool external
	assert_success
	assert_output $'a=1\nb=hi\nc=\nd=new\ne=é 😀'
	run kvp get --pool 0 b
	assert_output hi
	# ... and hv-kvp's changes are what the kernel daemon then reads.
	kvp set --pool 0 b "a longer value"
	kvp delete --pool 0 a
	kvp set --pool 0 f 6
	run "$KVP_TOOL" kernel-read "$(pool_file 0)"
	assert_output "$(kvp list --pool 0)"
	assert_equal "$(keys 0 | LC_ALL=C sort | tr '\n' ' ')" "b c d e f "
	assert_equal "$(kvp get --pool 0 b)" "a longer value"
}

@test "files hv-kvp writes: n*2560 bytes, 0644 whatever the umask, zero padding, read back identically by the kernel's reader" {
	umask 077
	kvp set k1 "value one"
	kvp set k2 "a rather long value that will be shortened"
	kvp set k2 short
	kvp set k3 "third"
	kvp set 'k=4' 'x=y'
	kvp delete k1
	kvp set k5 ""
	assert_equal "$(stat -c %a "$(pool_file 1)")" 644
	assert_equal "$(stat -c %s "$(pool_file 1)")" $((4 * 2560))
	run check_records "$(pool_file 1)"
	assert_success
	run "$KVP_TOOL" kernel-read "$(pool_file 1)"
	assert_output "$(kvp list)"
	assert_equal "$(kvp list | LC_ALL=C sort)" "$(printf 'k2=short\nk3=third\nk5=\nk=4=x=y')"
	# The other pools exist, empty.
	for n in 0 2 3 4; do
		assert_equal "$(stat -c %s "$(pool_file "$n")")" 0
	done
}

@test "hv-kvpd serves what the kernel daemon and hv-kvp wrote: hostsim kvp get and enumerate" {
	require_kvp_host
	"$KVP_TOOL" kernel-write "$(pool_file 0)" kernel=written 'utf=é 😀'
	kvp set --pool external cli "from hv-kvp"
	run hostsim -s kvp kvp get --pool external kernel -- "$KVPD" --pool-dir "$DIR"
	assert_success
	assert_output --partial "written"
	run hostsim -s kvp kvp get --pool 0 utf -- "$KVPD" --pool-dir "$DIR"
	assert_success
	assert_output --partial "é 😀"
	run hostsim -s kvp kvp enumerate --pool external -- "$KVPD" --pool-dir "$DIR"
	assert_success
	assert_line --partial "0: kernel = written"
	assert_line --partial "1: utf = é 😀"
	assert_line --partial "2: cli = from hv-kvp"
}

# --- concurrency ---------------------------------------------------------------

@test "10000 cloud-init appends while hv-kvp sets and deletes: no record lost, none doubled" {
	local i n=10000 f present=0
	f=$(pool_file 1)
	kvp set seed 0
	background append "$KVP_TOOL" append "$f" "$n" ci-
	for ((i = 0; i < 150; i++)); do
		kvp set "cli-$((i % 50))" "round $i" || fail "set cli-$((i % 50)) failed"
		if ((i % 3 == 0)); then
			kvp delete "cli-$((i % 50))" || fail "delete cli-$((i % 50)) failed"
		fi
	done
	wait
	[ ! -s "$SCRATCH/append.err" ] || fail "append: $(cat "$SCRATCH/append.err")"
	run check_records "$f"
	assert_success
	keys 1 > "$SCRATCH/keys"
	# Every appended key exactly once.
	assert_equal "$(grep -c '^ci-' "$SCRATCH/keys")" "$n"
	assert_equal "$(grep '^ci-' "$SCRATCH/keys" | LC_ALL=C sort | uniq -d)" ""
	for i in 0 1 4999 9999; do
		assert_equal "$(kvp get "ci-$i")" "append $i"
	done
	# Every CLI key in its final state: rounds 100..149 set cli-0..49 last; i % 3 == 0 deleted it.
	for ((i = 100; i < 150; i++)); do
		if ((i % 3 == 0)); then
			run kvp get "cli-$((i % 50))"
			assert_failure 1
		else
			assert_equal "$(kvp get "cli-$((i % 50))")" "round $i"
			present=$((present + 1))
		fi
	done
	assert_equal "$(grep -c '^cli-' "$SCRATCH/keys")" "$present"
	assert_equal "$(kvp get seed)" 0
	# The kernel's reader agrees.
	assert_equal "$("$KVP_TOOL" kernel-read "$f")" "$(kvp list)"
}

@test "cloud-init appends, hv-kvp and the host through hv-kvpd at once on pool 1: every key in its final state" {
	require_kvp_host
	"$HOSTSIM" --help 2>/dev/null | grep -q 'batch' || skip "hv-hostsim has no kvp batch command yet"
	local i n=10000 f
	f=$(pool_file 1)
	kvp set seed 0
	for ((i = 0; i < 200; i++)); do
		echo "set --pool 1 host-$((i % 40)) h$i"
		((i % 4 == 0)) && echo "delete --pool 1 host-$((i % 40))"
	done > "$SCRATCH/batch"
	background append "$KVP_TOOL" append "$f" "$n" ci-
	hostsim -s kvp kvp batch -- "$KVPD" --pool-dir "$DIR" < "$SCRATCH/batch" > "$SCRATCH/host.out" 2>&1 &
	local host=$!
	for ((i = 0; i < 100; i++)); do
		kvp set "cli-$((i % 20))" "c$i" || fail "set failed"
	done
	wait "$host" || fail "hv-hostsim kvp batch failed: $(cat "$SCRATCH/host.out")"
	wait
	keys 1 > "$SCRATCH/keys"
	assert_equal "$(grep -c '^ci-' "$SCRATCH/keys")" "$n"
	assert_equal "$(LC_ALL=C sort "$SCRATCH/keys" | uniq -d)" ""
	for ((i = 160; i < 200; i++)); do
		if ((i % 4 == 0)); then
			run kvp get "host-$((i % 40))"
			assert_failure 1
		else
			assert_equal "$(kvp get "host-$((i % 40))")" "h$i"
		fi
	done
	for ((i = 80; i < 100; i++)); do
		assert_equal "$(kvp get "cli-$((i % 20))")" "c$i"
	done
}

@test "hv-kvp set waits for the kernel daemon's POSIX lock and never sees its half-written file" {
	local f args=() i
	f=$(pool_file 1)
	for i in $(seq 20); do
		args+=("kernel-$i=value $i")
	done
	kvp set before 1
	background kwrite "$KVP_TOOL" kernel-write --hold "$((1000 * $(scaled 1)))" --mark "$SCRATCH/kw" "$f" "${args[@]}"
	wait_for_file "$SCRATCH/kw.locked"
	run kvp set during 2
	assert_success
	# The kernel writer had finished its rewrite when hv-kvp's set returned.
	[ -e "$SCRATCH/kw.done" ] || fail "hv-kvp set returned while the kernel writer held its lock"
	wait
	run kvp list
	assert_equal "${#lines[@]}" 22
	assert_equal "${lines[0]}" "before=1"
	assert_equal "${lines[1]}" "kernel-1=value 1"
	assert_equal "${lines[20]}" "kernel-20=value 20"
	assert_equal "${lines[21]}" "during=2"
	run check_records "$f"
	assert_success
}

# --- damaged files ----------------------------------------------------------------

@test "damaged files: partial record, field without NUL, invalid UTF-8, zero records, empty file" {
	local f k512 v2048
	f=$(pool_file 1)
	"$KVP_TOOL" kernel-write "$f" first=1 $'bad\xfe=\xff\xff' last=3
	head -c 2560 /dev/zero >> "$f"
	k512=$(printf 'K%.0s' {1..512})
	v2048=$(printf 'V%.0s' {1..2048})
	printf '%s%s' "$k512" "$v2048" >> "$f"
	head -c 2560 /dev/zero >> "$f"
	printf 'partial=record' >> "$f"
	run kvp list
	assert_success
	assert_line --index 0 "first=1"
	assert_line --index 1 $'bad\xfe=\xff\xff'
	assert_line --index 2 "last=3"
	assert_line --index 3 --regexp '^K{511,512}=V{2047,2048}$'
	assert_equal "${#lines[@]}" 4
	run kvp list --json
	assert_success
	assert_output --partial '{"key":"bad\ufffd","value":"\ufffd\ufffd"}'
	run kvp get last
	assert_output 3
	# A set appends after the complete records: the partial one is gone, nothing else moved.
	kvp set new value
	assert_equal "$(stat -c %s "$f")" $((7 * 2560))
	run kvp list
	assert_line --index 4 "new=value"
	assert_equal "${#lines[@]}" 5
	run "$KVP_TOOL" kernel-read "$f"
	assert_line "new=value"
	assert_line "first=1"
	# An empty file is an empty pool.
	: > "$(pool_file 3)"
	run kvp list --pool 3
	assert_success
	assert_output ""
	kvp set --pool 3 k v
	assert_equal "$(stat -c %s "$(pool_file 3)")" 2560
	run check_records "$(pool_file 3)"
	assert_success
	# A file of zero records only: nothing listed, a set adds one.
	head -c $((3 * 2560)) /dev/zero > "$(pool_file 4)"
	run kvp list --pool 4
	assert_success
	assert_output ""
	kvp set --pool 4 k v
	run kvp list --pool 4
	assert_output "k=v"
}

# --- locks ----------------------------------------------------------------------------

@test "a writer holding flock (as cloud-init does): hv-kvp set and get fail with exit 3 within the bound" {
	local f start elapsed
	kvp set k v
	f=$(pool_file 1)
	background holder flock "$f" sleep 60
	for _ in $(seq 100); do
		flock -n "$f" true || break
		sleep 0.05
	done
	! flock -n "$f" true || fail "the lock holder did not start"
	export HV_KVP_LOCK_TIMEOUT_MS=300
	start=$(date +%s%N)
	run kvp set k other
	elapsed=$((($(date +%s%N) - start) / 1000000))
	assert_failure 3
	assert_output "hv-kvp: cannot write $f: another process held its lock for more than 300 ms"
	[ "$elapsed" -ge 300 ] || fail "gave up after $elapsed ms, before the 300 ms bound"
	[ "$elapsed" -lt $((3000 * $(scaled 1))) ] || fail "took $elapsed ms for a 300 ms bound"
	run kvp get k
	assert_failure 3
	assert_output "hv-kvp: cannot read $f: another process held its lock for more than 300 ms"
	# Once the holder is gone, it works, and the value was not changed meanwhile.
	hv_teardown
	: > "$HV_PGIDS"
	run kvp get k
	assert_success
	assert_output v
}

@test "a writer holding the POSIX lock (as the kernel daemon does) past the bound: exit 3" {
	local f
	f=$(pool_file 1)
	kvp set k v
	background kwrite "$KVP_TOOL" kernel-write --hold 30000 --mark "$SCRATCH/kw" "$f" a=1 b=2
	wait_for_file "$SCRATCH/kw.locked"
	HV_KVP_LOCK_TIMEOUT_MS=200 run kvp set k other
	assert_failure 3
	assert_output "hv-kvp: cannot write $f: another process held its lock for more than 200 ms"
	# --verbose adds what the pool store saw.
	HV_KVP_LOCK_TIMEOUT_MS=200 run kvp --verbose get k
	assert_failure 3
	[ "${#lines[@]}" -ge 2 ] || fail "--verbose added nothing to: $output"
}
