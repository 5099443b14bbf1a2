#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run each libFuzzer target (libvmbus, hv-fcopyd's handler) for a while and report in TAP.
#
#   tests/fuzz/run-fuzzers.sh BUILD_DIR [SECONDS]     (SECONDS per target, default 30)
#
# BUILD_DIR without a Makefile is configured here the way fuzzing needs:
#
#   configure CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" \
#             --enable-fuzzing --enable-sanitizers
#
# -fsanitize=fuzzer-no-link puts coverage instrumentation into libvmbus itself,
# not only into the fuzz targets; without it libFuzzer sees only the harness
# (cov about a third as high) and mutates blind. --enable-sanitizers builds the
# library with ASan + UBSan (-fno-sanitize-recover) and drops -Wl,--no-undefined,
# which a shared library built with ASan cannot link with; passing
# -fsanitize=address in CFLAGS instead fails to link libvmbus.so for that reason.
# An existing BUILD_DIR is used as configured (it needs --enable-fuzzing).
#
# Each target runs on a temporary copy of its committed corpus
# (tests/fuzz/corpus/<target>; never modified). A crash, leak, timeout or
# failed property check leaves the reproducer under
# BUILD_DIR/tests/fuzz/artifacts/<target>/ and its path is printed; replay it
# with BUILD_DIR/tests/fuzz/<target> PATH. Exit status: 0 if every target ran
# clean, 1 otherwise.
set -u

usage() {
	echo "usage: $0 BUILD_DIR [SECONDS]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	usage
fi
build=$1
secs=${2:-30}
case $secs in '' | *[!0-9]*) usage ;; esac
srcdir=$(cd "$(dirname "$0")/../.." && pwd) || exit 1

# target:max_len. fuzz-ring: 16-byte control block + 8192-byte data area;
# fuzz-negotiate: 36 + 4 * 200 versions is the largest meaningful message;
# fuzz-fcopy: a START and three full 6196-byte WRITEs and a COMPLETE, length-prefixed.
# fuzz-kvp: a couple of full 7432-byte messages (two IP messages are 7428 each), length-prefixed.
# fuzz-kvp-pool: a 2-byte length, up to 6 pool records, then the operation stream.
# fuzz-vss: length-prefixed VSS bodies; a host AUTO_RECOVER is 12500 bytes.
# fuzz-chardev: a service byte, then length-prefixed kernel messages (up to four 7432-byte KVP ones).
targets="fuzz-ring:8208 fuzz-negotiate:1024 fuzz-utf16:1024 fuzz-fcopy:20480 fuzz-kvp:16384 fuzz-kvp-pool:16384 fuzz-vss:16384 fuzz-chardev:32768"

if [ ! -f "$build/Makefile" ]; then
	mkdir -p "$build" && build=$(cd "$build" && pwd) || exit 1
	(cd "$build" && "$srcdir/configure" -q CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" \
		--enable-fuzzing --enable-sanitizers) >"$build/run-fuzzers-configure.log" 2>&1 || {
		echo "Bail out! configure failed, see $build/run-fuzzers-configure.log"
		exit 1
	}
fi
build=$(cd "$build" && pwd) || exit 1
progs=
for t in $targets; do
	progs="$progs tests/fuzz/${t%%:*}"
done
# shellcheck disable=SC2086
make -C "$build" -j2 $progs >"$build/run-fuzzers-make.log" 2>&1 || {
	echo "Bail out! building the fuzz targets failed (configured with --enable-fuzzing?)," \
		"see $build/run-fuzzers-make.log"
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/hv-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# UBSan aborts on the first report so that libFuzzer records it as a crash.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"

count=0
for t in $targets; do
	count=$((count + 1))
done
echo "1..$count"
n=0
failed=0
for spec in $targets; do
	t=${spec%%:*}
	max_len=${spec#*:}
	n=$((n + 1))
	corpus=$work/$t
	artifacts=$build/tests/fuzz/artifacts/$t
	log=$work/$t.log
	mkdir -p "$corpus" "$artifacts" || exit 1
	cp "$srcdir/tests/fuzz/corpus/$t/"* "$corpus/" || exit 1

	"$build/tests/fuzz/$t" -max_len="$max_len" -max_total_time="$secs" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
	rc=$?

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)

	if [ "$rc" -eq 0 ] && [ -z "$repro" ]; then
		echo "ok $n - $t (${runs:-0} runs, cov ${cov:-?})"
		continue
	fi
	failed=1
	echo "not ok $n - $t (${runs:-0} runs, cov ${cov:-?}, exit $rc)"
	if [ -n "$repro" ]; then
		echo "# reproducer: $repro"
		echo "# replay: $build/tests/fuzz/$t $repro"
	fi
	cp "$log" "$artifacts/last.log" 2>/dev/null && echo "# log: $artifacts/last.log"
	# The report, and the stack frames in our sources (not libFuzzer's or libc's).
	grep -E 'ERROR|SUMMARY|#[0-9]+ 0x.* in .*\.c:[0-9]+' "$log" |
		grep -vE 'fuzzer::|/nptl/|/stdlib/|/csu/|/sysdeps/' | head -n 20 | sed 's/^/# /'
done
exit $failed
