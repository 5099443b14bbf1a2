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
# libtool wrappers would re-link on first use; run the real binaries with the built library.
export LD_LIBRARY_PATH="$top_builddir/libvmbus/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for p in HOSTSIM TESTGUEST; do
	d=$(dirname "${!p}") b=$(basename "${!p}")
	[ -x "$d/.libs/$b" ] && printf -v "$p" '%s' "$d/.libs/$b"
done

# Seconds, scaled for slow builds (sanitizers, valgrind).
scaled() { echo $(( $1 * HV_TIMEOUT_FACTOR )); }

# Every test gets its own scratch directory (removed by bats) and a pid file list.
hv_setup() {
	SCRATCH="$BATS_TEST_TMPDIR"
	HV_PGIDS="$SCRATCH/.pgids"
	: > "$HV_PGIDS"
}

# Kill whatever a test started, whatever happened to it.
hv_teardown() {
	local pg
	[ -f "${HV_PGIDS:-}" ] || return 0
	while read -r pg; do
		[ -n "$pg" ] && kill -KILL -- "-$pg" 2>/dev/null || true
	done < "$HV_PGIDS"
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
