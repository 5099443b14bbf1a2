#!/usr/bin/env bats
# hv-fcopyd end to end: hv-hostsim plays Copy-VMFile, the real daemon writes files.

load helpers

setup() {
	hv_setup
	DAEMON_ARGS=()
	mkdir -p "$SCRATCH/src" "$SCRATCH/dst" "$SCRATCH/state"
}

# copy [FCOPY-OPTIONS] SOURCE DEST: one Copy-VMFile transfer to hv-fcopyd.
copy() {
	run hostsim fcopy "$@" -- "$FCOPYD" --state-dir "$SCRATCH/state" "${DAEMON_ARGS[@]}"
}

# mkfile NAME BYTES: a source file of pseudo-random bytes.
mkfile() {
	head -c "$2" /dev/urandom > "$SCRATCH/src/$1"
}

# The exact directory listing (hidden files too), one name per line, sorted.
listing() {
	(cd "$1" && LC_ALL=C ls -A | LC_ALL=C sort)
}

assert_same() {
	cmp "$1" "$2" || fail "$2 differs from $1"
}

@test "copies of 0, 1, 6143, 6144, 6145, 12287, 12288 and 12289 bytes are byte-identical" {
	for n in 0 1 6143 6144 6145 12287 12288 12289; do
		mkfile "f$n" "$n"
		copy "$SCRATCH/src/f$n" "$SCRATCH/dst/"
		assert_success
		assert_output --partial "copied f$n: $n bytes"
		assert_same "$SCRATCH/src/f$n" "$SCRATCH/dst/f$n"
	done
	# Nothing else appeared: no temporary files.
	assert_equal "$(listing "$SCRATCH/dst")" "$(listing "$SCRATCH/src")"
}

@test "a 256 MiB copy is byte-identical, one transaction at a time and pipelined" {
	mkfile big $((256 * 1024 * 1024))
	copy "$SCRATCH/src/big" "$SCRATCH/dst/"
	assert_success
	assert_same "$SCRATCH/src/big" "$SCRATCH/dst/big"
	copy --pipeline 4 --overwrite "$SCRATCH/src/big" "$SCRATCH/dst/big2"
	assert_success
	assert_same "$SCRATCH/src/big" "$SCRATCH/dst/big2"
}

@test "names in ASCII, Latin-1, CJK and emoji (astral plane) arrive as the same UTF-8" {
	for name in "plain.txt" "café-été Ñandú.txt" "文件-ファイル-파일.txt" "📦 box-😀.bin"; do
		printf 'content of %s\n' "$name" > "$SCRATCH/src/$name"
		copy "$SCRATCH/src/$name" "$SCRATCH/dst/"
		assert_success
		assert_same "$SCRATCH/src/$name" "$SCRATCH/dst/$name"
	done
	assert_equal "$(listing "$SCRATCH/dst")" "$(listing "$SCRATCH/src")"
}

@test "the destination name may differ from the source's, and '.' path components are ignored" {
	mkfile a 100
	copy "$SCRATCH/src/a" "$SCRATCH/./dst/./renamed.bin"
	assert_success
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/renamed.bin"
}

@test "files get mode 0644 by default and --mode otherwise, whatever the umask" {
	mkfile a 10
	copy "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_success
	assert_equal "$(stat -c %a "$SCRATCH/dst/a")" 644
	DAEMON_ARGS=(--mode 0600)
	copy "$SCRATCH/src/a" "$SCRATCH/dst/b"
	assert_success
	assert_equal "$(stat -c %a "$SCRATCH/dst/b")" 600
}

@test "create-path creates every missing directory, the last one included, mode 0755" {
	mkfile a 10
	copy --create-path "$SCRATCH/src/a" "$SCRATCH/dst/new/deeper/last/"
	assert_success
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/new/deeper/last/a"
	assert_equal "$(stat -c %a "$SCRATCH/dst/new/deeper/last")" 755
}

@test "without create-path a missing directory fails with HV_E_FAIL and a log line, nothing created" {
	mkfile a 10
	copy "$SCRATCH/src/a" "$SCRATCH/dst/missing/"
	assert_failure 1
	assert_output --partial "0x80004005"
	assert_output --regexp "directory '[^']*/dst/missing' does not exist"
	assert_equal "$(listing "$SCRATCH/dst")" ""
}

@test "an existing file without overwrite: 0x80070050 (exit 4), the file untouched" {
	mkfile a 100
	echo old > "$SCRATCH/dst/a"
	copy "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_failure 4
	assert_output --partial "0x80070050"
	assert_equal "$(cat "$SCRATCH/dst/a")" old
	assert_equal "$(listing "$SCRATCH/dst")" "a"
}

@test "overwrite replaces an existing file" {
	mkfile a 50000
	echo old > "$SCRATCH/dst/a"
	copy --overwrite "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_success
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/a"
	assert_equal "$(listing "$SCRATCH/dst")" "a"
}

@test "a directory is never replaced, even with overwrite" {
	mkfile a 10
	mkdir "$SCRATCH/dst/a"
	copy --overwrite "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_failure 1
	[ -d "$SCRATCH/dst/a" ]
}

@test "a symlink as the final component is replaced, never written through" {
	mkfile a 1000
	echo victim > "$SCRATCH/victim"
	ln -s "$SCRATCH/victim" "$SCRATCH/dst/link"
	copy "$SCRATCH/src/a" "$SCRATCH/dst/link"
	assert_failure 4
	copy --overwrite "$SCRATCH/src/a" "$SCRATCH/dst/link"
	assert_success
	[ ! -L "$SCRATCH/dst/link" ]
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/link"
	assert_equal "$(cat "$SCRATCH/victim")" victim
}

@test "path traversal, relative paths and bad names are refused and write nothing" {
	mkfile a 10
	mkdir -p "$SCRATCH/dst/sub"
	for dest in "$SCRATCH/dst/sub/../" "$SCRATCH/dst/sub/../x" "$SCRATCH/dst/.." \
		"relative/dir/" "$SCRATCH/dst/." "$SCRATCH/dst/sub/.."; do
		copy --create-path "$SCRATCH/src/a" "$dest"
		assert_failure 1
		assert_output --partial "0x80004005"
	done
	assert_equal "$(listing "$SCRATCH/dst")" "sub"
	assert_equal "$(listing "$SCRATCH/dst/sub")" ""
	assert_equal "$(listing "$SCRATCH")" "$(printf '%s\n' .pgids dst src state | LC_ALL=C sort)"
}

@test "--allow: targets outside are refused, no directory created outside, symlinks resolved" {
	mkfile a 10
	mkdir -p "$SCRATCH/ok" "$SCRATCH/no"
	ln -s "$SCRATCH/no" "$SCRATCH/ok/escape"
	DAEMON_ARGS=(--allow "$SCRATCH/ok")
	copy --create-path "$SCRATCH/src/a" "$SCRATCH/ok/sub/"
	assert_success
	assert_same "$SCRATCH/src/a" "$SCRATCH/ok/sub/a"
	copy "$SCRATCH/src/a" "$SCRATCH/no/"
	assert_failure 1
	copy --create-path "$SCRATCH/src/a" "$SCRATCH/no/new/"
	assert_failure 1
	[ ! -e "$SCRATCH/no/new" ]
	copy "$SCRATCH/src/a" "$SCRATCH/ok/escape/"
	assert_failure 1
	assert_output --partial "outside every --allow directory"
	assert_equal "$(listing "$SCRATCH/no")" ""
}

@test "the allow list can come from the configuration file" {
	mkfile a 10
	mkdir -p "$SCRATCH/ok"
	printf '# test\nallow = %s\nmode = 0640\n' "$SCRATCH/ok" > "$SCRATCH/fcopy.conf"
	DAEMON_ARGS=(--config "$SCRATCH/fcopy.conf")
	copy "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_failure 1
	copy "$SCRATCH/src/a" "$SCRATCH/ok/"
	assert_success
	assert_equal "$(stat -c %a "$SCRATCH/ok/a")" 640
}

@test "cancel mid-way: no file under the target name, an old file intact, nothing left" {
	mkfile big $((4 * 1024 * 1024))
	copy --cancel-after 1000000 "$SCRATCH/src/big" "$SCRATCH/dst/"
	assert_failure 6
	assert_equal "$(listing "$SCRATCH/dst")" ""
	echo old > "$SCRATCH/dst/big"
	copy --overwrite --cancel-after 1000000 "$SCRATCH/src/big" "$SCRATCH/dst/"
	assert_failure 6
	assert_equal "$(cat "$SCRATCH/dst/big")" old
	assert_equal "$(listing "$SCRATCH/dst")" "big"
}

@test "SIGTERM mid-copy: the transfer is dropped, the old file intact, nothing partial" {
	mkfile big $((4 * 1024 * 1024))
	echo old > "$SCRATCH/dst/big"
	copy --overwrite --term-guest-after 1000000 "$SCRATCH/src/big" "$SCRATCH/dst/"
	assert_failure 6
	assert_output --partial "aborted: the daemon is stopping"
	assert_equal "$(cat "$SCRATCH/dst/big")" old
	assert_equal "$(listing "$SCRATCH/dst")" "big"
}

@test "kill -9 mid-copy: the old file intact, nothing partial, nothing left" {
	mkfile big $((4 * 1024 * 1024))
	echo old > "$SCRATCH/dst/big"
	copy --overwrite --kill-guest-after 1000000 "$SCRATCH/src/big" "$SCRATCH/dst/"
	assert_failure 6
	assert_output --partial "killed by signal 9"
	assert_equal "$(cat "$SCRATCH/dst/big")" old
	assert_equal "$(listing "$SCRATCH/dst")" "big"
}

@test "kill -9 with a named temporary file (no O_TMPFILE): the next start removes it" {
	export HV_FCOPYD_NO_TMPFILE=1
	mkfile big $((4 * 1024 * 1024))
	echo old > "$SCRATCH/dst/big"
	copy --overwrite --kill-guest-after 1000000 "$SCRATCH/src/big" "$SCRATCH/dst/"
	assert_failure 6
	assert_equal "$(cat "$SCRATCH/dst/big")" old
	# The killed instance could not clean up: its hidden file is there...
	run bash -c "ls -A '$SCRATCH/dst' | grep -c '^\.hv-fcopyd-.*\.tmp$'"
	assert_output 1
	# ...until the daemon starts again.
	run hostsim -s fcopy negotiate -- "$FCOPYD" --state-dir "$SCRATCH/state"
	assert_success
	assert_output --partial "left by an interrupted transfer"
	assert_equal "$(listing "$SCRATCH/dst")" "big"
	assert_equal "$(listing "$SCRATCH/state")" ""
}

@test "without O_TMPFILE copies still land whole, overwrite included, and leave nothing" {
	export HV_FCOPYD_NO_TMPFILE=1
	mkfile a 20000
	copy "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_success
	echo old > "$SCRATCH/dst/b"
	copy --overwrite "$SCRATCH/src/a" "$SCRATCH/dst/b"
	assert_success
	copy "$SCRATCH/src/a" "$SCRATCH/dst/b"
	assert_failure 4
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/a"
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/b"
	assert_equal "$(listing "$SCRATCH/dst")" "$(printf 'a\nb')"
}

@test "disk full at START: a declared size that cannot fit fails at once with 0x80070070" {
	loop_mount 16 "$SCRATCH/mnt"
	before=$(listing "$SCRATCH/mnt")
	mkfile big $((64 * 1024 * 1024))
	copy "$SCRATCH/src/big" "$SCRATCH/mnt/"
	assert_failure 5
	assert_output --partial "0x80070070"
	assert_output --partial "refused: not enough free space"
	assert_equal "$(listing "$SCRATCH/mnt")" "$before"
}

@test "disk full during WRITE (size understated): 0x80070070, nothing left, space given back" {
	loop_mount 16 "$SCRATCH/mnt"
	before=$(listing "$SCRATCH/mnt")
	free_before=$(df --output=avail -B1 "$SCRATCH/mnt" | tail -1)
	mkfile big $((32 * 1024 * 1024))
	copy --declare-size 4096 "$SCRATCH/src/big" "$SCRATCH/mnt/"
	assert_failure 5
	assert_output --partial "0x80070070"
	assert_equal "$(listing "$SCRATCH/mnt")" "$before"
	sync
	assert_equal "$(df --output=avail -B1 "$SCRATCH/mnt" | tail -1)" "$free_before"
}

@test "a file may grow past its declared size" {
	mkfile a 20000
	copy --declare-size 100 "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_success
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/a"
}

@test "a file shorter than declared is not padded" {
	mkfile a 20000
	copy --declare-size 1000000 "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_success
	assert_same "$SCRATCH/src/a" "$SCRATCH/dst/a"
}

@test "hostile fcopy traffic gets error statuses; the daemon survives and writes nothing" {
	local scenarios=(fcopy-write-before-start fcopy-oversize-write fcopy-offset-overflow
		fcopy-unterminated-name fcopy-invalid-utf16 fcopy-unknown-op)
	# On the character device the kernel reads a short START as a whole one (past
	# its end): the daemon cannot see the truncation there.
	[ "$HV_TRANSPORT" = uio ] && scenarios+=(fcopy-truncated-start)
	cd "$SCRATCH/dst"
	for s in "${scenarios[@]}"; do
		run hostsim -s fcopy hostile "$s" -- "$FCOPYD" --state-dir "$SCRATCH/state"
		assert_success
		assert_output --partial "host: guest stopped cleanly"
	done
	assert_equal "$(listing "$SCRATCH/dst")" ""
}

@test "broken ring indices or descriptors: the daemon stops cleanly, no crash" {
	uio_only "the rings are the kernel's business on the character device"
	for s in bad-descriptor bad-write-index; do
		run hostsim -s fcopy hostile "$s" -- "$FCOPYD" --state-dir "$SCRATCH/state"
		assert_success
		assert_output --partial "guest: stopped with exit status 1"
	done
}

@test "truncated IC header: dropped, the daemon still negotiates" {
	run hostsim -s fcopy hostile short-message -- "$FCOPYD" --state-dir "$SCRATCH/state"
	assert_success
	assert_output --partial "guest: chose framework 3.0, fcopy 1.1"
}

@test "hv-fcopyd negotiates framework 3.0 and File Copy 1.1" {
	run hostsim -s fcopy negotiate -- "$FCOPYD" --state-dir "$SCRATCH/state"
	assert_success
	assert_output --partial "guest: chose framework 3.0, fcopy 1.1"
	run hostsim -s fcopy --service-versions 1.0 negotiate -- "$FCOPYD" --state-dir "$SCRATCH/state"
	assert_failure 1
}

@test "one log line per transfer with name, bytes, seconds, rate and result" {
	mkfile a 30000
	copy "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_success
	assert_output --regexp "hv-fcopyd: [^ ]*/dst/a: 30000 bytes in [0-9.]+ s \([0-9.]+ MB/s\): done"
}

@test "hv-fcopyd: --help, --version, bad options and a missing --allow directory" {
	run "$FCOPYD" --help
	assert_success
	assert_output --partial "--allow DIR"
	run "$FCOPYD" --version
	assert_success
	assert_output --regexp "^hv-fcopyd [0-9]"
	run "$FCOPYD" --bogus
	assert_failure 1
	run "$FCOPYD" --allow "$SCRATCH/does-not-exist" --channel fd:3,4,5
	assert_failure 1
	assert_output --partial "does-not-exist"
	run "$FCOPYD" --mode 99 --channel fd:3,4,5
	assert_failure 1
	assert_output --partial "invalid --mode"
}

@test "systemd notifications: READY=1, idle and progress STATUS=, STOPPING=1" {
	notify_listen "$SCRATCH/notify.log"
	mkfile big $((1024 * 1024))
	copy "$SCRATCH/src/big" "$SCRATCH/dst/"
	assert_success
	run cat "$SCRATCH/notify.log"
	assert_line "READY=1"
	assert_line "STATUS=Receiving big: 0%"
	assert_line "STATUS=Receiving big: 50%"
	assert_line "STATUS=Receiving big: 100%"
	assert_line "STATUS=Idle, waiting for the host"
	assert_line "STOPPING=1"
}

@test "chardev: registration (FCOPY_VERSION_1, answered 1); a wrong-size answer makes the daemon exit 1" {
	chardev_only "the hv_utils registration handshake"
	mkfile a 100
	copy "$SCRATCH/src/a" "$SCRATCH/dst/"
	assert_success
	assert_output --partial "kernel: daemon registered on hv_fcopy (FCOPY_VERSION_1)"
	assert_output --partial "transport: chardev "
	run hostsim -s fcopy hostile chardev-register-size -- "$FCOPYD" --state-dir "$SCRATCH/state"
	assert_success
	assert_output --partial "guest: stopped with exit status 1"
}

@test "chardev: a kernel message too short for its operation gets an error; the daemon still answers" {
	chardev_only "kernel message sizes"
	cd "$SCRATCH/dst"
	run hostsim -s fcopy hostile chardev-msg-size -- "$FCOPYD" --state-dir "$SCRATCH/state"
	assert_success
	assert_output --partial "guest: refused it"
	assert_output --partial "host: guest stopped cleanly"
	assert_equal "$(listing "$SCRATCH/dst")" ""
}

@test "chardev: a read error (the kernel resets the device): the daemon reopens, registers again, answers" {
	chardev_only "reopen after a read error"
	run hostsim -s fcopy hostile chardev-read-error -- "$FCOPYD" --state-dir "$SCRATCH/state"
	assert_success
	assert_output --partial "kernel: hv_fcopy reset by the kernel"
	assert_equal "$(grep -c "kernel: daemon registered on hv_fcopy" <<< "$output")" 2
	assert_output --partial "host: guest stopped cleanly"
}
