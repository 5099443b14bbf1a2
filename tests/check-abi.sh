#!/bin/sh
# The shared library exports exactly the symbols of libvmbus.sym, all in a
# version node, and each is documented in the public header and in libvmbus(3).
# TAP output.
set -u
lib="$top_builddir/libvmbus/.libs/libvmbus.so.1"
sym="$top_srcdir/libvmbus/libvmbus.sym"
hdr="$top_srcdir/libvmbus/vmbus/vmbus.h"
man="$top_srcdir/man/libvmbus.3.scd"
echo "1..4"
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT

nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" { print $3 }' | sort > "$t/exported"
grep -E '^\s+vmbus_[a-z0-9_]+;' "$sym" | tr -d ' \t;' | sort > "$t/listed"
sed 's/@.*//' "$t/exported" | sort -u > "$t/exported-names"
if diff -u "$t/listed" "$t/exported-names" > "$t/diff"; then
	echo "ok 1 - exported symbols match libvmbus.sym"
else
	echo "not ok 1 - exported symbols differ from libvmbus.sym"; sed 's/^/# /' "$t/diff"
fi
if grep -v '@@LIBVMBUS_' "$t/exported" | grep -v '^LIBVMBUS_' > "$t/unversioned"; then
	echo "not ok 2 - unversioned exports"; sed 's/^/# /' "$t/unversioned"
else
	echo "ok 2 - every export carries a LIBVMBUS_ version"
fi
missing=""
for s in $(cat "$t/listed"); do
	grep -q "^ \* $s - " "$hdr" || missing="$missing $s"
done
if [ -z "$missing" ]; then echo "ok 3 - every export has a doc block in vmbus.h"
else echo "not ok 3 - undocumented in vmbus.h:$missing"; fi
missing=""
for s in $(cat "$t/listed"); do
	grep -q "$s" "$man" || missing="$missing $s"
done
if [ -z "$missing" ]; then echo "ok 4 - every export is described in libvmbus(3)"
else echo "not ok 4 - missing from libvmbus.3.scd:$missing"; fi
