# Shared bats helpers: paths to the built programs, a scratch directory per test,
# and hv-hostsim runs that are bounded in time and always cleaned up.
# Load with:  load helpers

: "${top_builddir:?run through make check, or export top_builddir}"
: "${top_srcdir:=$top_builddir}"
: "${HV_TIMEOUT_FACTOR:=1}"

bats_lib=${BATS_LIB_PATH:-/usr/lib/bats}
load "$bats_lib/bats-support/load.bash"
load "$bats_lib/bats-assert/load.bash"

HOSTSIM="$top_builddir/tests/hostsim/hv-hostsim"
TESTGUEST="$top_builddir/tests/guest/hv-testguest"
FCOPYD="$top_builddir/daemons/hv-fcopyd"
KVPD="$top_builddir/daemons/hv-kvpd"
VSSD="$top_builddir/daemons/hv-vssd"
KVP="$top_builddir/daemons/hv-kvp"
KVP_TOOL="$top_builddir/tests/guest/kvp-tool"
NOTIFY_LISTEN="$top_builddir/tests/guest/notify-listen"
# libtool wrappers would re-link on first use; run the real binaries with the built library.
export LD_LIBRARY_PATH="$top_builddir/libvmbus/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for p in HOSTSIM TESTGUEST FCOPYD KVPD KVP VSSD; do
	d=$(dirname "${!p}") b=$(basename "${!p}")
	[ -x "$d/.libs/$b" ] && printf -v "$p" '%s' "$d/.libs/$b"
done

# The transport hv-hostsim gives the daemons: uio (the rings, "--channel fd:3,4,5")
# or chardev (hv-hostsim also plays the kernel's hv_utils driver: "--channel
# chardev:PATH" with fake-chardev.so preloaded). The same suites run over both:
# make check runs each daemon suite a second time with HV_HOSTSIM_TRANSPORT=chardev
# (tests/bats/chardev/*.cbats).
HV_TRANSPORT=${HV_HOSTSIM_TRANSPORT:-uio}
export HV_HOSTSIM_PRELOAD="${HV_HOSTSIM_PRELOAD:-$top_builddir/tests/uio/.libs/fake-chardev.so}"

# uio_only REASON / chardev_only REASON: skip a test that means something on one transport only.
uio_only() {
	[ "$HV_TRANSPORT" = uio ] || skip "uio only: $1"
}
chardev_only() {
	[ "$HV_TRANSPORT" = chardev ] || skip "chardev only: $1"
	[ -r "$HV_HOSTSIM_PRELOAD" ] || fail "fake-chardev.so not built: $HV_HOSTSIM_PRELOAD"
}

# Seconds, scaled for slow builds (sanitizers, valgrind).
scaled() { echo $(( $1 * HV_TIMEOUT_FACTOR )); }

# Every test gets its own scratch directory (removed by bats) and a pid file list.
hv_setup() {
	SCRATCH="$BATS_TEST_TMPDIR"
	HV_PGIDS="$SCRATCH/.pgids"
	: > "$HV_PGIDS"
}

# Kill whatever a test started, whatever happened to it; thaw what a test may
# have frozen (hv-vssd killed while frozen leaves its mounts frozen, and a
# frozen mount blocks every writer and the unmount); unmount what it mounted.
# The order matters: kill, thaw, unmount. Thawed in mount order (a mount that
# holds another's image first, so that the inner one's thaw can write through),
# unmounted in reverse.
hv_teardown() {
	local pg m
	[ -f "${HV_PGIDS:-}" ] || return 0
	while read -r pg; do
		[ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null || true
	done < "$HV_PGIDS"
	if [ -f "$SCRATCH/.mounts" ]; then
		while read -r m; do
			timeout 10 fsfreeze --unfreeze "$m" 2>/dev/null || true
		done < "$SCRATCH/.mounts"
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done < <(tac "$SCRATCH/.mounts")
	fi
}

# require_root REASON: skip (bats counts it as skipped) unless running as root.
require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: $1"
}

# loop_mount SIZE_MB DIR [FSTYPE [IMAGE]]: a fresh image (FSTYPE ext4, the
# default, or xfs, which needs 300 MB at least; sparse) loop-mounted on DIR
# (root only), thawed and unmounted by the teardown whatever happens. IMAGE is
# where the image lives (default $SCRATCH/.img-NAME; e.g. on another test mount).
loop_mount() {
	local fstype=${3:-ext4} img=${4:-$SCRATCH/.img-${2##*/}}
	require_root "loop-mounted filesystem"
	command -v "mkfs.$fstype" >/dev/null || skip "mkfs.$fstype not installed"
	mkdir -p "$2"
	truncate -s "${1}M" "$img"
	case $fstype in
	ext4) mkfs.ext4 -q -F -m 0 "$img" >/dev/null ;;
	xfs) mkfs.xfs -q -f "$img" >/dev/null ;;
	*) fail "loop_mount: no mkfs options for $fstype" ;;
	esac
	mount -o loop "$img" "$2" || skip "cannot loop-mount $fstype (no loop devices?)"
	echo "$2" >> "$SCRATCH/.mounts"
}

setup() { hv_setup; }
teardown() { hv_teardown; }

# hostsim ARGS... : run hv-hostsim in its own process group, bounded in time.
# Use as: run hostsim negotiate -- "$TESTGUEST"
hostsim() {
	local limit
	limit=$(scaled 60)
	setsid bash -c 'echo $$ >> "$1"; shift; exec timeout -k 5 "$@"' \
		hostsim "$HV_PGIDS" "$limit" "$HOSTSIM" "$@"
}

# notify_listen FILE: a notification socket for sd_notify(3); exports
# NOTIFY_SOCKET; every message lands in FILE, one per line. Killed by teardown.
notify_listen() {
	local sock="$SCRATCH/notify.sock"
	setsid bash -c 'echo $$ >> "$1"; exec "$2" "$3" "$4"' notify "$HV_PGIDS" \
		"$NOTIFY_LISTEN" "$sock" "$1" > "$SCRATCH/.notify-ready" &
	for _ in $(seq 100); do
		[ -s "$SCRATCH/.notify-ready" ] && break
		sleep 0.05
	done
	[ -s "$SCRATCH/.notify-ready" ] || fail "notify-listen did not start"
	export NOTIFY_SOCKET="$sock"
}
