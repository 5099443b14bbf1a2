#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Lint every generated man page with mandoc: any message at level warning or
# above fails that page. One page per scdoc source in man/; a page is taken from
# the build tree, or from the source tree when it was shipped there (tarball).
# TAP output, one line per page.
set -u
: "${top_srcdir:?top_srcdir must be set (make check exports it)}"
top_builddir=${top_builddir:-.}

pages=""
for src in "$top_srcdir"/man/*.scd; do
	[ -e "$src" ] || continue
	name=${src##*/}
	pages="$pages ${name%.scd}"
done
set -- $pages
if [ $# -eq 0 ]; then
	echo "1..0 # SKIP no scdoc sources in $top_srcdir/man"
	exit 0
fi
if ! command -v mandoc > /dev/null 2>&1; then
	echo "1..0 # SKIP mandoc is not installed"
	exit 0
fi

echo "1..$#"
n=0
for page in "$@"; do
	n=$((n + 1))
	if [ -f "$top_builddir/man/$page" ]; then
		file="$top_builddir/man/$page"
	elif [ -f "$top_srcdir/man/$page" ]; then
		file="$top_srcdir/man/$page"
	else
		echo "not ok $n - $page: not generated (neither in the build nor the source tree)"
		continue
	fi
	out=$(mandoc -T lint -W warning "$file" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -z "$out" ]; then
		echo "ok $n - $page: mandoc -T lint -W warning is clean"
	else
		echo "not ok $n - $page: mandoc -T lint reports problems (status $rc)"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
exit 0
