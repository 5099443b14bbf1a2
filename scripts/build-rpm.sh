#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the RPM packages the way a distribution would: "make dist", then
# rpmbuild -bb of the spec shipped in that tarball, with the test suite in
# %check. Everything goes under OUTDIR: OUTDIR/dist (the configured tree that
# made the tarball), OUTDIR/rpmbuild (rpm's _topdir: SOURCES, SPECS, BUILD,
# BUILDROOT, RPMS, and an rpm database of its own instead of root's) and
# OUTDIR/rpmbuild.log. scripts/test-rpm.sh OUTDIR checks the packages.
# Prints TAP; exits non-zero if a step fails.
#
# On Debian, rpm has no database of the build dependencies (they come from
# Debian's packages, see scripts/deps.sh), so rpmbuild runs with --nodeps: the
# BuildRequires are not checked, the build and %check show whether they are
# met. The systemd and udev rpm macros that Debian's rpm lacks are defined by
# the spec itself as fallbacks. Environment: JOBS (default 2), RPMBUILD_ARGS
# (more rpmbuild options; "--without check" skips the suite, and says so).
#
# Usage: scripts/build-rpm.sh OUTDIR
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
if ! mkdir -p "$1" || ! out=$(cd "$1" && pwd); then
	echo "build-rpm: cannot create $1" >&2
	exit 2
fi

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# Shows the end of a log as TAP diagnostics.
diag_tail() { tail -n "${2:-40}" "$1" | sed 's/^/# /'; }
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}

for tool in rpmbuild rpm tar make; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		not_ok "$tool is installed (scripts/deps.sh installs it)"
		finish
	fi
done

# 1. The release tarball, from a fresh configured tree.
rm -rf "$out/dist" "$out/rpmbuild" "$out/rpmbuild.log"
mkdir -p "$out/dist"
t0=$SECONDS
if ! { [ -x "$top/configure" ] || (cd "$top" && ./autogen.sh); } >"$out/dist/autogen.log" 2>&1; then
	diag_tail "$out/dist/autogen.log"
	not_ok "autogen.sh"
	finish
fi
if (cd "$out/dist" && "$top/configure" -q && make -j"$jobs" dist) >"$out/dist/dist.log" 2>&1; then
	version=$(sed -n 's/^PACKAGE_VERSION = //p' "$out/dist/Makefile")
	tarball="$out/dist/hv-daemons-$version.tar.xz"
fi
if [ -z "${tarball:-}" ] || [ ! -f "$tarball" ]; then
	diag_tail "$out/dist/dist.log"
	not_ok "make dist"
	finish
fi
ok "make dist: $(basename "$tarball") ($((SECONDS - t0)) s)"

# 2. The spec as the tarball ships it, with the version filled in.
topdir="$out/rpmbuild"
mkdir -p "$topdir/SOURCES" "$topdir/SPECS" "$topdir/tmp"
cp "$tarball" "$topdir/SOURCES/"
spec="$topdir/SPECS/hv-daemons.spec"
if ! tar -xOJf "$tarball" "hv-daemons-$version/packaging/rpm/hv-daemons.spec" >"$spec" 2>/dev/null; then
	not_ok "the tarball ships packaging/rpm/hv-daemons.spec"
	finish
fi
if ! grep -qx "Version: *$version" "$spec"; then
	grep -n '^Version:' "$spec" | sed 's/^/# /'
	not_ok "the shipped spec has Version: $version"
	finish
fi
ok "the tarball ships packaging/rpm/hv-daemons.spec with Version: $version"

# 3. rpmbuild -bb, %check included; nothing outside OUTDIR.
t0=$SECONDS
# shellcheck disable=SC2086 # RPMBUILD_ARGS: several options
if rpmbuild -bb --nodeps \
	--define "_topdir $topdir" \
	--define "_tmppath $topdir/tmp" \
	--dbpath "$topdir/rpmdb" \
	--define "_smp_mflags -j$jobs" \
	${RPMBUILD_ARGS:-} \
	"$spec" >"$out/rpmbuild.log" 2>&1; then
	ok "rpmbuild -bb --nodeps ${RPMBUILD_ARGS:+$RPMBUILD_ARGS }($((SECONDS - t0)) s)"
else
	# What failed (tests in %check, a file in %files), then the end of the log.
	grep -E '^(FAIL|ERROR): |File not found|Installed \(but unpackaged\)|^error: ' "$out/rpmbuild.log" |
		sort -u | head -30 | sed 's/^/# /'
	diag_tail "$out/rpmbuild.log" 15
	not_ok "rpmbuild -bb --nodeps ($((SECONDS - t0)) s, log: $out/rpmbuild.log)"
	finish
fi

# 4. The suite really ran in %check, and passed.
if [[ " ${RPMBUILD_ARGS:-} " == *" --without check "* ]]; then
	n=$((n + 1)); echo "ok $n - %check ran the test suite # SKIP RPMBUILD_ARGS has --without check"
elif grep -q '^# PASS: *[1-9]' "$out/rpmbuild.log" && grep -q '^# FAIL: *0$' "$out/rpmbuild.log" &&
	grep -q '^+ .*make .*check' "$out/rpmbuild.log"; then
	ok "%check ran the test suite: $(grep -m1 '^# TOTAL:' "$out/rpmbuild.log" | sed 's/^# //'),\
 $(grep -m1 '^# PASS:' "$out/rpmbuild.log" | sed 's/^# //'), $(grep -m1 '^# SKIP:' "$out/rpmbuild.log" | sed 's/^# //')"
else
	not_ok "%check ran the test suite (no automake summary in $out/rpmbuild.log)"
fi

# 5. The four binary packages.
for p in hv-daemons hv-daemons-tools libvmbus libvmbus-devel; do
	f=$(find "$topdir/RPMS" -name "$p-$version-*.rpm" | head -1)
	if [ -n "$f" ]; then
		ok "built ${f#"$out"/} ($(du -k "$f" | cut -f1) KiB)"
	else
		not_ok "built $p-$version-*.rpm"
	fi
done
finish
