#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every long option a program's --help prints is documented in its man page
# (as *--option*), and every option the man page documents is in --help.
# TAP output, one line per program. Words in --help that are not options of
# the program itself (hv-hostsim names the guest's --channel) are listed below.
set -u
: "${top_srcdir:?top_srcdir must be set (make check exports it)}"
top_builddir=${top_builddir:-.}
export LD_LIBRARY_PATH="$top_builddir/libvmbus/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

programs="daemons/hv-fcopyd:8 daemons/hv-kvpd:8 daemons/hv-vssd:8 daemons/hv-kvp:1 tests/hostsim/hv-hostsim:1"
# program:option pairs that --help mentions but that are not the program's own.
not_own="hv-hostsim:--channel"

t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
echo "1..5"
n=0
for entry in $programs; do
	n=$((n + 1))
	path=${entry%:*} sec=${entry#*:} name=${path##*/}
	bin="$top_builddir/${path%/*}/.libs/$name"
	[ -x "$bin" ] || bin="$top_builddir/$path"
	page="$top_srcdir/man/$name.$sec.scd"
	if ! "$bin" --help > "$t/help" 2>&1; then
		echo "not ok $n - $name: --help failed"; continue
	fi
	grep -oE -- '--[a-z][a-z0-9-]+' "$t/help" | sort -u > "$t/h"
	for x in $not_own; do
		[ "${x%%:*}" = "$name" ] && grep -vxF -- "${x#*:}" "$t/h" > "$t/h2" && mv "$t/h2" "$t/h"
	done
	grep -oE -- '\*--[a-z][a-z0-9-]+\*' "$page" | tr -d '*' | sort -u > "$t/m"
	comm -23 "$t/h" "$t/m" > "$t/only-help"
	comm -13 "$t/h" "$t/m" > "$t/only-man"
	if [ -s "$t/only-help" ] || [ -s "$t/only-man" ]; then
		echo "not ok $n - $name: --help and $name($sec) differ"
		sed 's/^/# in --help only: /' "$t/only-help"
		sed 's/^/# in the man page only: /' "$t/only-man"
	else
		echo "ok $n - $name: --help and $name($sec) document the same $(wc -l < "$t/h") options"
	fi
done
