#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian packages the way a distribution would: from the release
# tarball ("make dist", so a file missing from it fails here), with
# packaging/debian as debian/, "dpkg-buildpackage -b -us -uc" (which runs
# the test suite through dh_auto_test unless DEB_BUILD_OPTIONS has nocheck),
# then lintian. Prints TAP lines; exits non-zero if any check failed.
#
# Usage: scripts/build-deb.sh [--tarball FILE] OUTDIR
#   OUTDIR           receives the .deb, .changes and .buildinfo files
#   --tarball FILE   build from this tarball instead of running make dist
# Environment: JOBS (default nproc), DEB_BUILD_OPTIONS (passed on; nocheck
# skips the test suite), HV_DEB_WORKDIR (default _build/deb in the tree).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
tarball=
while [ $# -gt 0 ]; do
	case $1 in
	--tarball) [ $# -ge 2 ] || { echo "build-deb: --tarball needs a file" >&2; exit 2; }
		tarball=$(realpath "$2") || exit 2; shift 2 ;;
	-*) echo "build-deb: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--tarball FILE] OUTDIR" >&2; exit 2; }
mkdir -p "$1" && outdir=$(cd "$1" && pwd) || exit 2
work=${HV_DEB_WORKDIR:-$top/_build/deb}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# Show the end of a log, as TAP comments.
show() { tail -n "${2:-40}" "$1" | sed 's/^/# /'; }
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; exit $?; }

rm -rf "$work" && mkdir -p "$work/src" || { not_ok "work directory $work"; finish; }

# 1. The tarball.
if [ -z "$tarball" ]; then
	start=$SECONDS
	if { [ -x "$top/configure" ] || (cd "$top" && ./autogen.sh); } >"$work/dist.log" 2>&1 &&
	   mkdir -p "$work/dist" && cd "$work/dist" &&
	   "$top/configure" -q >>"$work/dist.log" 2>&1 &&
	   make -j"$jobs" dist >>"$work/dist.log" 2>&1; then
		tarball=$(ls "$work"/dist/hv-daemons-*.tar.xz 2>/dev/null | head -1)
	fi
	if [ -n "$tarball" ]; then
		ok "make dist: $(basename "$tarball") in $((SECONDS - start)) s"
	else
		show "$work/dist.log"; not_ok "make dist"; finish
	fi
fi

# 2. The source tree: the tarball unpacked, its packaging/debian as debian/.
cd "$work/src" || finish
if ! tar -xf "$tarball"; then
	not_ok "unpack $tarball"; finish
fi
srcdir=$(ls -d "$work"/src/hv-daemons-*/ 2>/dev/null | head -1)
srcdir=${srcdir%/}
if [ -z "$srcdir" ] || [ ! -f "$srcdir/packaging/debian/control" ]; then
	not_ok "the tarball carries packaging/debian"; finish
fi
cp -a "$srcdir/packaging/debian" "$srcdir/debian"
version=$(cd "$srcdir" && dpkg-parsechangelog -S Version)
upstream=${version%-*}
# The upstream tarball under Debian's name, for dpkg-source (-b never reads it).
ln -sf "$tarball" "$work/src/hv-daemons_$upstream.orig.tar.xz"
ok "the tarball carries packaging/debian: hv-daemons $version"

# 3. dpkg-buildpackage -b.
if ! (cd "$srcdir" && dpkg-checkbuilddeps) >"$work/builddeps.log" 2>&1; then
	show "$work/builddeps.log"
	not_ok "build dependencies installed (scripts/deps.sh installs them)"; finish
fi
case " ${DEB_BUILD_OPTIONS:-} " in
*" parallel="*) ;;
*) export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$jobs" ;;
esac
start=$SECONDS
(cd "$srcdir" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1
rc=$?
secs=$((SECONDS - start))
log_file=$work/build.log
case " $DEB_BUILD_OPTIONS " in
*" nocheck "*) suite="test suite skipped (nocheck)" ;;
*)	# automake's summary of the suite dh_auto_test ran.
	total=$(sed -n 's/^# TOTAL: *//p' "$log_file" | head -1)
	pass=$(sed -n 's/^# PASS: *//p' "$log_file" | head -1)
	skip=$(sed -n 's/^# SKIP: *//p' "$log_file" | head -1)
	suite="make check: ${total:-?} tests, ${pass:-?} passed, ${skip:-?} skipped" ;;
esac
if [ $rc -eq 0 ]; then
	ok "dpkg-buildpackage -b -us -uc in $secs s ($suite)"
else
	show "$log_file" 80
	not_ok "dpkg-buildpackage -b -us -uc (exit $rc after $secs s)"; finish
fi
case " $DEB_BUILD_OPTIONS " in
*" nocheck "*) ;;
*)	if [ -n "${total:-}" ] && [ "${total:-0}" -gt 0 ]; then
		ok "dh_auto_test ran the test suite"
	else
		not_ok "dh_auto_test ran the test suite (no automake summary in the log)"
	fi ;;
esac

# libvmbus1.symbols must match the library exactly (the build runs
# dpkg-gensymbols -c4); no warning either.
if grep -q 'dpkg-gensymbols: warning' "$log_file"; then
	grep -A20 'dpkg-gensymbols: warning' "$log_file" | sed 's/^/# /'
	not_ok "dpkg-gensymbols: no warning"
else
	ok "dpkg-gensymbols: no warning"
fi

changes=$(ls "$work"/src/hv-daemons_"${version#*:}"_*.changes 2>/dev/null | head -1)
debs=$(ls "$work"/src/*_"${version#*:}"_*.deb 2>/dev/null)
if [ -z "$changes" ] || [ -z "$debs" ]; then
	not_ok "the .changes and .deb files"; finish
fi
cp -f $debs "$changes" "$work"/src/*.buildinfo "$outdir"/

# 4. The packages' relations: the daemons depend on the library through its
# symbols file, and replace Debian's hyperv-daemons.
deb_of() { ls "$work"/src/"$1"_"${version#*:}"_*.deb 2>/dev/null | head -1; }
lib_deb=$(deb_of libvmbus1) daemons_deb=$(deb_of hv-daemons)
depends=$(dpkg-deb -f "$daemons_deb" Depends 2>/dev/null)
conflicts=$(dpkg-deb -f "$daemons_deb" Conflicts 2>/dev/null)
if dpkg-deb --ctrl-tarfile "$lib_deb" | tar -t 2>/dev/null | grep -qx './symbols' &&
   echo "$depends" | grep -q "libvmbus1 (>= $upstream)" &&
   echo "$conflicts" | grep -qw hyperv-daemons; then
	ok "libvmbus1 ships its symbols file; hv-daemons depends on libvmbus1 (>= $upstream) and conflicts with hyperv-daemons"
else
	echo "# Depends: $depends"; echo "# Conflicts: $conflicts"
	not_ok "libvmbus1 ships its symbols file; hv-daemons depends on libvmbus1 (>= $upstream) and conflicts with hyperv-daemons"
fi

# 5. lintian on the .changes (all its .debs): no error. Warnings are listed.
start=$SECONDS
# Overridden tags are shown too (O:), each override says why in its file.
lintian --fail-on error --display-info --show-overrides --color never "$changes" >"$work/lintian.log" 2>&1
rc=$?
errors=$(grep -c '^E: ' "$work/lintian.log")
warnings=$(grep -c '^W: ' "$work/lintian.log")
infos=$(grep -c '^I: ' "$work/lintian.log")
overridden=$(grep -c '^O: ' "$work/lintian.log")
sed 's/^/# /' "$work/lintian.log"
if [ $rc -eq 0 ] && [ "$errors" -eq 0 ]; then
	ok "lintian: $errors errors, $warnings warnings, $infos notes, $overridden overridden in $((SECONDS - start)) s"
else
	not_ok "lintian: $errors errors, $warnings warnings (exit $rc)"
fi

echo "# packages in $outdir:"
(cd "$outdir" && ls -1 -- *.deb *.changes) | sed 's/^/#   /'
finish
