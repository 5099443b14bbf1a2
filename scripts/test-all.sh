#!/bin/bash
# Runs every suite: the warning-clean build's unit and bats tests, the same
# under AddressSanitizer + UndefinedBehaviorSanitizer, the fuzz smoke runs,
# make distcheck, and the Debian and RPM packages. Ends with one line "N passed, N failed, N skipped".
# Environment: FUZZ_SECONDS (default 30 per target), JOBS (default nproc).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-30}
pass=0 fail=0 skip=0

"$top/scripts/deps.sh" || exit 1
cross=yes
"$top/scripts/deps.sh" --with-cross || cross=no
cd "$top" && ./autogen.sh >/dev/null 2>&1 || { echo "autogen.sh failed"; echo "0 passed, 1 failed"; exit 1; }

# Add the counts of an automake test-suite.log to the totals.
count_log() {
	local log=$1 p f s
	p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
	s=$(sed -n 's/^# SKIP: *//p' "$log" | head -1)
	f=0
	for k in FAIL XPASS ERROR; do
		f=$((f + $(sed -n "s/^# $k: *//p" "$log" | head -1)))
	done
	p=$((p + $(sed -n 's/^# XFAIL: *//p' "$log" | head -1)))
	echo "  $log: $p passed, $f failed, $s skipped"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

step_failed() {
	echo "FAILED: $1"
	fail=$((fail + 1))
}

# suite NAME BUILD-DIR CONFIGURE-ARGS...: configure, build, make check, count.
suite() {
	local name=$1 dir=$2
	shift 2
	echo "=== $name ($dir)"
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || { step_failed "$name: build dir"; return; }
	if ! "$top/configure" -q "$@" >configure.out 2>&1; then
		cat configure.out; step_failed "$name: configure"; return
	fi
	if ! make -j"$jobs" >build.out 2>&1; then
		tail -40 build.out; step_failed "$name: build"; return
	fi
	eval "make -j\"\$jobs\" check ${CHECK_ARGS:-}" >check.out 2>&1
	local rc=$?
	if [ ! -f test-suite.log ]; then
		tail -40 check.out; step_failed "$name: make check produced no test-suite.log"; return
	fi
	count_log "$dir/test-suite.log"
	if [ $rc -ne 0 ]; then
		# Show what failed, and make sure a non-zero make check is never lost.
		grep -E '^(FAIL|ERROR|XPASS)' check.out | head -50
		sed -n '/^FAIL\|^ERROR/,/^$/p' test-suite.log | head -200
		grep -qE '^# (FAIL|ERROR|XPASS): *[1-9]' test-suite.log || step_failed "$name: make check exit $rc"
	fi
}

suite "unit + bats (gcc, -Werror)" "$top/_build/main" --enable-werror
HV_TIMEOUT_FACTOR=4 suite "unit + bats under ASan + UBSan" "$top/_build/asan" --enable-werror --enable-sanitizers

# The pure layers (ring, channel, IC, UTF-16, fcopy, KVP and VSS protocols) on aarch64: Debian's cross compiler,
# the tests run under qemu-user. Memory ordering bugs hidden by x86 show here.
aarch64_tests="tests/unit/test-ring tests/unit/test-ic tests/unit/test-utf16 tests/unit/test-channel tests/unit/test-fcopy tests/unit/test-kvp tests/unit/test-vss"
if [ "$cross" = yes ]; then
	PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig \
	CHECK_ARGS="TESTS='$aarch64_tests' LOG_COMPILER=qemu-aarch64-static" \
		suite "unit tests on aarch64 (cross gcc + qemu-user)" "$top/_build/aarch64" \
		--host=aarch64-linux-gnu --enable-werror
else
	echo "=== aarch64: skipped (cross packages missing and not root to install them)"
	skip=$((skip + 1))
fi

echo "=== fuzz smoke runs ($fuzz_seconds s per target)"
fuzz_out=$("$top/tests/fuzz/run-fuzzers.sh" "$top/_build/fuzz" "$fuzz_seconds" 2>&1)
fuzz_rc=$?
echo "$fuzz_out" | grep -E '^(ok|not ok|1\.\.|#)' || true
fp=$(echo "$fuzz_out" | grep -c '^ok ')
ff=$(echo "$fuzz_out" | grep -c '^not ok ')
echo "  fuzz: $fp passed, $ff failed"
pass=$((pass + fp)) fail=$((fail + ff))
if [ $fuzz_rc -ne 0 ] && [ "$ff" -eq 0 ]; then
	echo "$fuzz_out" | tail -30
	step_failed "fuzz: run-fuzzers.sh exit $fuzz_rc"
fi

echo "=== make distcheck"
if [ -f "$top/_build/main/Makefile" ] && (cd "$top/_build/main" && make -j"$jobs" distcheck >distcheck.out 2>&1); then
	echo "  distcheck: passed"
	pass=$((pass + 1))
else
	tail -40 "$top/_build/main/distcheck.out" 2>/dev/null
	step_failed "make distcheck"
fi

# A TAP-printing script: its ok / not ok / "# SKIP" lines go into the totals;
# a non-zero exit with no failed line still counts as a failure.
tap_step() {
	local name=$1 out rc p f s
	shift
	echo "=== $name"
	out=$("$@" 2>&1)
	rc=$?
	echo "$out" | grep -E '^(ok|not ok|1\.\.|#)' || true
	s=$(echo "$out" | grep -cE '^ok .*# (SKIP|skip)')
	p=$(( $(echo "$out" | grep -c '^ok ') - s ))
	f=$(echo "$out" | grep -c '^not ok ')
	echo "  $name: $p passed, $f failed, $s skipped"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$out" | tail -30
		step_failed "$name: exit $rc"
	fi
	return $rc
}

# The Debian and RPM packages, each built from the release tarball with the
# test suite run inside the build; the .debs are then installed on this
# machine, checked and purged again (root only; the script restores any
# /var/lib/hyperv it found).
tap_step "Debian packages (dpkg-buildpackage -b, lintian)" \
	"$top/scripts/build-deb.sh" "$top/_build/debs" &&
	tap_step "Debian packages installed" "$top/scripts/test-deb.sh" "$top/_build/debs"
tap_step "RPM packages (rpmbuild -bb)" "$top/scripts/build-rpm.sh" "$top/_build/rpm" &&
	tap_step "RPM packages checked" "$top/scripts/test-rpm.sh" "$top/_build/rpm"

echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
