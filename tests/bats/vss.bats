#!/usr/bin/env bats
# hv-vssd end to end: hv-hostsim plays the Hyper-V host's backup (VSS) requests,
# the real daemon freezes and thaws loop-mounted images this suite creates.
#
# SAFETY: "/" is this machine's only real filesystem, and freezing it hangs the
# machine. Every hv-vssd here runs with --include of test mounts only (the
# guest() helper refuses anything else), and the teardown (helpers.bash) thaws
# every test mount whatever happened. A writer blocked on a frozen filesystem
# cannot be killed (not even by SIGKILL) until the thaw: writers run in the
# background and report through files in $SCRATCH, which is never frozen.

load helpers

# The HOT_BACKUP flags the host sees. hv_utils (hv_snapshot.c) sets
# VSS_HBU_NO_AUTO_RECOVERY only if byte 0 of the daemon's reply, which `error`
# overlays, is VSS_OP_HOT_BACKUP: never with HV_S_OK, so 0 over the character device.
if [ "$HV_TRANSPORT" = chardev ]; then
	HOT_BACKUP_FLAGS="0x0"
else
	HOT_BACKUP_FLAGS="0x5 (VSS_HBU_NO_AUTO_RECOVERY)"
fi

bats_require_minimum_version 1.5.0

setup() {
	hv_setup
	require_root "freezes loop-mounted filesystems"
	command -v fsfreeze >/dev/null || skip "fsfreeze (util-linux) not installed"
	RT="$SCRATCH/run"
	MNT="$SCRATCH/mnt"
	INCLUDE=()
	DAEMON_ARGS=()
}

# The guest command line: hv-vssd with --include of each mount in INCLUDE (all
# under $SCRATCH: anything else fails the test before a guest starts).
guest() {
	local m args=()
	[ "${#INCLUDE[@]}" -gt 0 ] || { echo "guest: no --include: refusing to start hv-vssd" >&2; return 1; }
	for m in "${INCLUDE[@]}"; do
		case $m in
		"$SCRATCH"/*) args+=(--include "$m") ;;
		*) echo "guest: $m is not a test mount: refusing" >&2; return 1 ;;
		esac
	done
	echo "$VSSD" "${args[@]}" --runtime-dir "$RT" "${DAEMON_ARGS[@]}"
}

# vss SUBCOMMAND ARGS...: one session of hv-hostsim vss with hv-vssd.
vss() {
	local g
	g=$(guest) || fail "bad guest command line"
	run hostsim vss "$@" -- $g
}

# start_batch NAME < LINES: a vss batch session in the background; its output
# (the daemon's log too) goes to $SCRATCH/NAME.out, its exit status to NAME.rc.
start_batch() {
	local g
	g=$(guest) || fail "bad guest command line"
	cat > "$SCRATCH/$1.in"
	# (errexit is on in tests: the status is taken without letting it end the subshell.)
	( rc=0
	  hostsim vss batch --keep-going -- $g < "$SCRATCH/$1.in" > "$SCRATCH/$1.out" 2>&1 || rc=$?
	  echo "$rc" > "$SCRATCH/$1.rc" ) 3>&- &
}

# wait_batch NAME: until the session has ended (bounded); $output and $status are its.
wait_batch() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ -s "$SCRATCH/$1.rc" ] && break
		sleep 0.1
	done
	[ -s "$SCRATCH/$1.rc" ] || fail "the batch session $1 did not end: $(cat "$SCRATCH/$1.out")"
	output=$(cat "$SCRATCH/$1.out")
	status=$(cat "$SCRATCH/$1.rc")
}

# wait_line NAME PATTERN [SECONDS]: until a line of NAME.out matches the grep -E PATTERN.
wait_line() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		grep -qE -- "$2" "$SCRATCH/$1.out" 2>/dev/null && return 0
		[ -s "$SCRATCH/$1.rc" ] && break
		sleep 0.1
	done
	cat "$SCRATCH/$1.out" >&2
	fail "no line matching '$2' in the output of $1"
}

# writer NAME DIR: in the background, create a file in DIR and sync it; done
# (or failed) is recorded in $SCRATCH/NAME.done / NAME.failed.
writer() {
	( if touch "$2/w-$1" && sync -f "$2/w-$1"; then : > "$SCRATCH/$1.done"; else : > "$SCRATCH/$1.failed"; fi ) \
		< /dev/null > /dev/null 2>&1 3>&- &
}

# assert_blocked NAME...: each writer is still blocked after a second.
assert_blocked() {
	local w
	sleep 1
	for w in "$@"; do
		[ ! -e "$SCRATCH/$w.done" ] && [ ! -e "$SCRATCH/$w.failed" ] ||
			fail "writer $w completed on a filesystem that should be frozen"
	done
}

# assert_written NAME... [--seconds N]: each writer completed with success within N s (default 10).
assert_written() {
	local w i
	for w in "$@"; do
		for ((i = 0; i < 100; i++)); do
			[ -e "$SCRATCH/$w.done" ] || [ -e "$SCRATCH/$w.failed" ] && break
			sleep 0.1
		done
		[ -e "$SCRATCH/$w.done" ] || fail "writer $w did not complete (filesystem still frozen?)"
	done
}

# The pid of the daemon of a session, from hv-hostsim's "started" line.
guest_pid() {
	sed -n "s/^host: started .* (pid \([0-9]*\)).*/\1/p" "$SCRATCH/$1.out" | head -1
}

# Mounts: two ext4, one xfs.
three_mounts() {
	loop_mount 32 "$MNT/e1"
	loop_mount 32 "$MNT/e2"
	loop_mount 300 "$MNT/x" xfs
}

@test "HOT_BACKUP answers flags 0x5; GET_DM_INFO, CREATE, BU_COMPLETE, DELETE answer S_OK" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	vss hot-backup
	assert_success
	assert_output --partial "guest: HOT_BACKUP answered HV_S_OK"
	assert_output --partial "hot-backup flags: $HOT_BACKUP_FLAGS"
	vss check
	assert_success
	for op in GET_DM_INFO HOT_BACKUP CREATE BU_COMPLETE DELETE; do
		assert_output --partial "guest: $op answered HV_S_OK"
	done
	# The session checked the guest's answers; nothing was frozen for them.
	[ ! -e "$RT/frozen" ]
}

@test "FREEZE blocks writers on ext4 and xfs until THAW releases them" {
	three_mounts
	INCLUDE=("$MNT/e1" "$MNT/e2" "$MNT/x")
	printf 'freeze\nwait %s\nthaw\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered HV_S_OK"
	# While frozen: the marker lists every frozen mount.
	[ -f "$RT/frozen" ] || fail "no marker $RT/frozen while frozen"
	for m in "${INCLUDE[@]}"; do grep -qF "$m" "$RT/frozen" || fail "marker lacks $m"; done
	writer w1 "$MNT/e1"
	writer w2 "$MNT/e2"
	writer wx "$MNT/x"
	assert_blocked w1 w2 wx
	touch "$SCRATCH/go"
	wait_batch b
	assert_success
	assert_output --partial "guest: THAW answered HV_S_OK"
	assert_output --regexp "thaw: [0-9.]+ ms"
	assert_written w1 w2 wx
	[ ! -e "$RT/frozen" ] || fail "the marker is still there after THAW"
}

@test "vss backup: freeze and thaw timings, writable afterwards; --json" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	vss backup --hold 0.3
	assert_success
	assert_output --regexp "freeze: [0-9.]+ ms"
	assert_output --regexp "hold: [0-9.]+ ms"
	assert_output --regexp "total: [0-9.]+ ms"
	writer w "$MNT/e1"
	assert_written w
	run --separate-stderr hostsim --json vss backup --hold 0 -- $(guest)
	assert_success
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["freeze"]["status"]=="HV_S_OK" and d["thaw"]["status"]=="HV_S_OK" and d["hot_backup"]["flags"]==int(sys.argv[2],0) and d["freeze_ms"]>0, d' "$output" "${HOT_BACKUP_FLAGS%% *}"
}

@test "order: a stacked image before the mount holding it, deeper first; thaw in reverse" {
	loop_mount 64 "$MNT/outer"
	loop_mount 300 "$MNT/x" xfs
	loop_mount 16 "$MNT/stacked" ext4 "$MNT/outer/stacked.img"
	INCLUDE=("$MNT/outer" "$MNT/x" "$MNT/stacked")
	vss backup --hold 0
	assert_success
	froze=$(sed -n 's/.*vss: froze [0-9]* filesystems: //p' <<< "$output")
	thawed=$(sed -n 's/.*vss: thawed [0-9]* of [0-9]* filesystems[^:]*: //p' <<< "$output")
	[ -n "$froze" ] && [ -n "$thawed" ] || fail "no freeze/thaw summary in the daemon's log"
	IFS=', ' read -r -a f <<< "$froze"
	IFS=', ' read -r -a t <<< "$thawed"
	assert_equal "${#f[@]}" 3
	pos() { local i; for i in "${!f[@]}"; do [ "${f[$i]}" = "$1" ] && echo "$i"; done; }
	[ "$(pos "$MNT/stacked")" -lt "$(pos "$MNT/outer")" ] ||
		fail "froze $froze: the stacked image must come before $MNT/outer"
	assert_equal "${t[*]}" "$(for ((i = ${#f[@]} - 1; i >= 0; i--)); do printf '%s ' "${f[$i]}"; done | sed 's/ $//')"
	# Nothing is logged while frozen: both summaries come after FREEZE's answer... and the
	# freeze summary only once the filesystems are thawed.
	[[ "$output" == *"guest: FREEZE answered HV_S_OK"*"vss: froze"* ]] || fail "logged before the FREEZE answer"
}

@test "excluded and read-only mounts are untouched while the others are frozen" {
	loop_mount 32 "$MNT/in"
	loop_mount 32 "$MNT/ex"
	loop_mount 32 "$MNT/ro"
	mount -o remount,ro "$MNT/ro"
	INCLUDE=("$MNT/in" "$MNT/ex" "$MNT/ro")
	DAEMON_ARGS=(--exclude "$MNT/ex")
	printf 'freeze\nwait %s\nthaw\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered"
	writer win "$MNT/in"
	writer wex "$MNT/ex"
	# On a read-only mount touch fails at once (EROFS), unless it is frozen: then it blocks.
	( timeout 5 touch "$MNT/ro/w" || :; : > "$SCRATCH/wro.returned" ) < /dev/null > /dev/null 2>&1 3>&- &
	assert_blocked win
	assert_written wex
	[ -e "$SCRATCH/wro.returned" ] || fail "a writer on the read-only mount blocked: it was frozen"
	touch "$SCRATCH/go"
	wait_batch b
	assert_success
	assert_written win
}

@test "a filesystem that cannot be frozen (ramfs): HV_E_FAIL, everything thawed" {
	loop_mount 32 "$MNT/e1"
	mkdir -p "$MNT/ram" "$MNT/e2"
	mount -t ramfs ramfs "$MNT/ram"
	echo "$MNT/ram" >> "$SCRATCH/.mounts"
	loop_mount 32 "$MNT/e2"
	# Check first that FIFREEZE really fails on ramfs here.
	run fsfreeze --freeze "$MNT/ram"
	[ "$status" -ne 0 ] || { fsfreeze --unfreeze "$MNT/ram"; skip "ramfs can be frozen on this kernel"; }
	INCLUDE=("$MNT/e1" "$MNT/ram" "$MNT/e2")
	printf 'freeze\nwait %s\nthaw\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered"
	grep -q "guest: FREEZE answered HV_E_FAIL" "$SCRATCH/b.out" || fail "$(cat "$SCRATCH/b.out")"
	# Still in the session (the daemon alive): every ext4 mount is writable.
	writer w1 "$MNT/e1"
	writer w2 "$MNT/e2"
	assert_written w1 w2
	[ ! -e "$RT/frozen" ] || fail "marker left after a failed freeze"
	touch "$SCRATCH/go"
	wait_batch b
	assert_failure 1
	assert_output --partial "guest: THAW answered HV_S_OK"
	assert_output --partial "$MNT/ram"
}

@test "auto-thaw: no THAW within --thaw-timeout 2: thawed by itself; the late THAW succeeds" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	DAEMON_ARGS=(--thaw-timeout 2)
	printf 'freeze\nwait %s\nthaw\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered HV_S_OK"
	start=$SECONDS
	writer w "$MNT/e1"
	sleep 0.5
	[ ! -e "$SCRATCH/w.done" ] || fail "writable right after FREEZE"
	assert_written w
	elapsed=$((SECONDS - start))
	[ "$elapsed" -le 6 ] || fail "thawed only after $elapsed s"
	[ ! -e "$RT/frozen" ] || fail "marker left after the auto-thaw"
	touch "$SCRATCH/go"
	wait_batch b
	assert_success
	assert_output --partial "guest: THAW answered HV_S_OK"
}

@test "SIGTERM while frozen: the daemon thaws, then exits 0" {
	three_mounts
	INCLUDE=("$MNT/e1" "$MNT/x")
	printf 'freeze\nwait %s\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered HV_S_OK"
	writer w1 "$MNT/e1"
	writer wx "$MNT/x"
	assert_blocked w1 wx
	pid=$(guest_pid b)
	[ -n "$pid" ] || fail "no guest pid"
	kill -TERM "$pid"
	assert_written w1 wx
	touch "$SCRATCH/go"
	wait_batch b
	assert_success
	# hv-hostsim reports a guest that exited non-zero or was killed; this one exited 0.
	assert_output --partial "host: guest stopped cleanly"
	assert_output --regexp "vss: thawed 2 of 2"
	[ ! -e "$RT/frozen" ]
}

@test "kill -9 while frozen: the marker lists the mounts; a restarted daemon thaws them" {
	loop_mount 32 "$MNT/e1"
	loop_mount 300 "$MNT/x" xfs
	INCLUDE=("$MNT/e1" "$MNT/x")
	printf 'freeze\nwait %s\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered HV_S_OK"
	pid=$(guest_pid b)
	[ -n "$pid" ] || fail "no guest pid"
	kill -KILL "$pid"
	touch "$SCRATCH/go"
	wait_batch b
	[ -f "$RT/frozen" ] || fail "no marker after kill -9"
	grep -qF "$MNT/e1" "$RT/frozen" && grep -qF "$MNT/x" "$RT/frozen" || fail "$(cat "$RT/frozen")"
	writer w1 "$MNT/e1"
	writer wx "$MNT/x"
	assert_blocked w1 wx
	vss check
	assert_success
	assert_written w1 wx
	[ ! -e "$RT/frozen" ] || fail "marker still there after the restart"
}

# hook NAME [BODY]: an executable hook that logs "$0 $1", then runs BODY.
hook() {
	mkdir -p "$SCRATCH/hooks"
	printf '#!/bin/sh\necho "${0##*/} $1" >> %s\n%s\n' "$SCRATCH/hooks.log" "${2:-}" > "$SCRATCH/hooks/$1"
	chmod +x "$SCRATCH/hooks/$1"
}

@test "hooks run in name order for freeze, reverse for thaw; backup files are skipped" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	hook 20-b
	hook 10-a
	hook 30-c
	hook '30-c~'
	hook 40-d.dpkg-old
	hook 50-e.dpkg-dist
	DAEMON_ARGS=(--hook-dir "$SCRATCH/hooks")
	vss backup --hold 0
	assert_success
	run cat "$SCRATCH/hooks.log"
	assert_output "$(printf '%s\n' '10-a freeze' '20-b freeze' '30-c freeze' '30-c thaw' '20-b thaw' '10-a thaw')"
}

@test "a failing hook fails the FREEZE: nothing frozen, freeze-fail in reverse for the hooks that ran" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	hook 10-a
	hook 20-b 'exit 1'
	hook 30-c
	DAEMON_ARGS=(--hook-dir "$SCRATCH/hooks")
	printf 'freeze\nwait %s\nthaw\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered"
	grep -q "guest: FREEZE answered HV_E_FAIL" "$SCRATCH/b.out" || fail "$(cat "$SCRATCH/b.out")"
	writer w "$MNT/e1"
	assert_written w
	touch "$SCRATCH/go"
	wait_batch b
	assert_failure 1
	run cat "$SCRATCH/hooks.log"
	assert_line --index 0 '10-a freeze'
	assert_line --index 1 '20-b freeze'
	refute_line --partial '30-c'
	# freeze-fail: in reverse, ending with the first hook.
	assert_equal "${lines[-1]}" '10-a freeze-fail'
	refute_line --partial ' thaw'
}

@test "a hook that times out (--hook-timeout 1) fails the FREEZE within seconds" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	hook 10-slow 'sleep 30'
	DAEMON_ARGS=(--hook-dir "$SCRATCH/hooks" --hook-timeout 1)
	start=$SECONDS
	vss freeze
	elapsed=$((SECONDS - start))
	assert_failure 1
	assert_output --partial "guest: FREEZE answered HV_E_FAIL"
	[ "$elapsed" -le 8 ] || fail "FREEZE took $elapsed s"
	writer w "$MNT/e1"
	assert_written w
}

@test "FREEZE while frozen and THAW while thawed succeed" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	printf 'thaw\nfreeze\nfreeze\nwait %s\nthaw\nthaw\n' "$SCRATCH/go" | start_batch b
	wait_line b "host: waiting for"
	writer w "$MNT/e1"
	assert_blocked w
	touch "$SCRATCH/go"
	wait_batch b
	assert_success
	[ "$(grep -c 'guest: FREEZE answered HV_S_OK' <<< "$output")" -eq 2 ]
	[ "$(grep -c 'guest: THAW answered HV_S_OK' <<< "$output")" -eq 3 ]
	assert_written w
}

@test "hostile VSS messages: unknown operations, truncated and oversized bodies, THAW unfrozen" {
	uio_only "on the character device the kernel answers or drops all of these itself"
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	for s in vss-unknown-op vss-truncated vss-oversize vss-thaw-unfrozen; do
		run hostsim hostile "$s" -- $(guest)
		[ "$status" -eq 0 ] || fail "scenario $s: exit $status: $output"
		assert_output --partial "still answers"
	done
	run hostsim hostile vss-unknown-op -- $(guest)
	assert_output --partial "HV_ERROR_NOT_SUPPORTED"
}

@test "AUTO_RECOVER as a host sends it (12500 bytes) needs a larger ring, then answers S_OK" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	vss raw 7 --size 12500
	assert_failure 2
	assert_output --partial "--ring-size 20480"
	run hostsim --ring-size 20480 vss raw 7 --size 12500 -- $(guest)
	assert_success
	assert_output --partial "guest: AUTO_RECOVER answered HV_S_OK"
}

@test "a stop request while the freeze hooks run refuses the FREEZE: nothing frozen, freeze-fail run" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	# The hook asks its parent, the daemon, to stop (as systemctl stop would) and returns.
	hook 10-stop '[ "$1" = freeze ] && kill -TERM $PPID; exit 0'
	DAEMON_ARGS=(--hook-dir "$SCRATCH/hooks")
	vss freeze
	assert_output --partial "FREEZE answered HV_E_FAIL"
	assert_output --partial "stopping: FREEZE refused"
	run cat "$SCRATCH/hooks.log"
	assert_output "$(printf '%s\n' '10-stop freeze' '10-stop freeze-fail')"
	[ ! -e "$RT/frozen" ] || fail "a marker was written: something was frozen"
	writer w1 "$MNT/e1"
	assert_written w1
}

@test "THAW is answered before the thaw hooks finish; the hooks still run" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	hook 10-slow '[ "$1" = thaw ] && { sleep 3; : > "'"$SCRATCH"'/thaw-done"; }; exit 0'
	DAEMON_ARGS=(--hook-dir "$SCRATCH/hooks")
	printf 'freeze\nthaw\nwait %s\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: THAW answered HV_S_OK"
	# Answered while the slow hook is still running.
	[ ! -e "$SCRATCH/thaw-done" ] || fail "THAW was answered only after the thaw hook finished"
	writer w1 "$MNT/e1"
	assert_written w1
	for ((i = 0; i < 100; i++)); do [ -e "$SCRATCH/thaw-done" ] && break; sleep 0.1; done
	[ -e "$SCRATCH/thaw-done" ] || fail "the thaw hook never finished"
	touch "$SCRATCH/go"
	wait_batch b
	assert_success
	run cat "$SCRATCH/hooks.log"
	assert_output "$(printf '%s\n' '10-slow freeze' '10-slow thaw')"
}

@test "hv-vssd --recover thaws what a killed instance left frozen, then exits" {
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	printf 'freeze\nwait %s\n' "$SCRATCH/go" | start_batch b
	wait_line b "guest: FREEZE answered HV_S_OK"
	pid=$(guest_pid b)
	[ -n "$pid" ] || fail "no guest pid"
	kill -KILL "$pid"
	touch "$SCRATCH/go"
	wait_batch b
	[ -f "$RT/frozen" ] || fail "no marker after kill -9"
	writer w1 "$MNT/e1"
	assert_blocked w1
	run timeout 20 "$VSSD" --recover --runtime-dir "$RT"
	assert_success
	assert_output --partial "left frozen"
	assert_written w1
	[ ! -e "$RT/frozen" ] || fail "marker still there after --recover"
}

@test "chardev: registration (VSS_OP_REGISTER1, answered 129); a wrong-size answer makes the daemon exit 1" {
	chardev_only "the hv_utils registration handshake"
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	vss hot-backup
	assert_success
	assert_output --partial "kernel: daemon registered on hv_vss (VSS_OP_REGISTER1)"
	run hostsim -s vss hostile chardev-register-size -- $(guest)
	assert_success
	assert_output --partial "guest: stopped with exit status 1"
}

@test "chardev: a VSS message of 8 bytes gets an error, nothing is frozen; the daemon still answers" {
	chardev_only "kernel message sizes"
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	run hostsim -s vss hostile chardev-msg-size -- $(guest)
	assert_success
	assert_output --partial "guest: refused it"
	writer w "$MNT/e1"
	assert_written w
}

@test "chardev: a read error: the daemon reopens, registers again, answers" {
	chardev_only "reopen after a read error"
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	run hostsim -s vss hostile chardev-read-error -- $(guest)
	assert_success
	assert_equal "$(grep -c "kernel: daemon registered on hv_vss" <<< "$output")" 2
}

@test "chardev: a reset while frozen: the daemon thaws before it registers again" {
	chardev_only "VSS thaw before reopen"
	loop_mount 32 "$MNT/e1"
	INCLUDE=("$MNT/e1")
	run hostsim -s vss hostile chardev-vss-reset-frozen "$MNT/e1" -- $(guest)
	assert_success
	assert_output --partial "is thawed as the daemon registers again"
	writer w "$MNT/e1"
	assert_written w
}
