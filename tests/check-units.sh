#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd units as "make install" installs them: "systemd-analyze verify"
# passes for each (with --root at the DESTDIR, so the ExecStart= binaries
# checked are the ones just installed, not the host's), the exposure score of
# "systemd-analyze security --offline=yes" is within the unit's target, and
# the device the unit binds to is the one its --channel dev: names.
# TAP output; the scores are printed as comments.
# CHECK_UNITS_DESTDIR=DIR checks an existing install tree instead of running
# make install (to see the test fail on a unit changed by hand).
set -u
: "${top_srcdir:?top_srcdir must be set (make check exports it)}"
top_builddir=${top_builddir:-.}

# unit:threshold (the exposure times ten: 30 is 3.0)
units="hv-kvpd:30 hv-fcopyd:35 hv-vssd:45"

if ! command -v systemd-analyze > /dev/null 2>&1; then
	echo "1..0 # SKIP systemd-analyze is not installed"
	exit 0
fi

t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
if [ -n "${CHECK_UNITS_DESTDIR:-}" ]; then
	root=$CHECK_UNITS_DESTDIR
else
	root=$t/root
	if ! ${MAKE:-make} -s -C "$top_builddir" install DESTDIR="$root" > "$t/install.log" 2>&1; then
		echo "1..1"
		echo "not ok 1 - make install DESTDIR=... failed"
		sed 's/^/# /' "$t/install.log"
		exit 0
	fi
fi

# The units' default dependencies (sysinit.target, ...) are looked up under
# --root too: give that root the host's own system units.
for d in /usr/lib/systemd/system /lib/systemd/system; do
	if [ -d "$d" ] && [ ! -e "$root$d/sysinit.target" ]; then
		mkdir -p "$root$d" && cp -R "$d/." "$root$d/"
		break
	fi
done

echo "1..9"
n=0
for entry in $units; do
	unit=${entry%:*}.service limit=${entry#*:}
	file=$(find "$root" -path '*/systemd/system/'"$unit" -type f | head -n 1)
	if [ -z "$file" ]; then
		for k in 1 2 3; do
			n=$((n + 1))
			echo "not ok $n - $unit: not installed under \$(systemdsystemunitdir)"
		done
		continue
	fi

	# With --root, a unit is looked up by name in the root's unit path:
	# add the directory it was installed to (a prefix such as distcheck's
	# is not in the default path), as seen inside the root.
	dir=${file%/*}
	export SYSTEMD_UNIT_PATH="${dir#"$root"}:"

	n=$((n + 1))
	if systemd-analyze verify --man=no --root="$root" "$file" > "$t/out" 2>&1 && [ ! -s "$t/out" ]; then
		echo "ok $n - $unit: systemd-analyze verify is clean"
	else
		echo "not ok $n - $unit: systemd-analyze verify reports problems"
		sed 's/^/# /' "$t/out"
	fi

	n=$((n + 1))
	systemd-analyze security --offline=yes --root="$root" --threshold="$limit" "$file" > "$t/out" 2>&1
	rc=$?
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$t/out")
	want=$((limit / 10)).$((limit % 10))
	if [ $rc -eq 0 ] && [ -n "$score" ]; then
		echo "ok $n - $unit: exposure $score <= $want"
	else
		echo "not ok $n - $unit: exposure ${score:-unknown} above $want (status $rc)"
		grep -v '^  *$' "$t/out" | grep -v '✓' | sed 's/^/# /'
	fi

	# ExecStart=... --channel dev:PATH and BindsTo=/After= PATH's device unit.
	n=$((n + 1))
	dev=$(sed -n 's/^ExecStart=.*--channel dev:\([^ ]*\).*/\1/p' "$file")
	if [ -z "$dev" ]; then
		echo "not ok $n - $unit: ExecStart= has no --channel dev:PATH"
		continue
	fi
	devunit=$(systemd-escape --path --suffix=device "$dev")
	binds=$(sed -n 's/^BindsTo=//p' "$file" | tr '\n' ' ')
	after=$(sed -n 's/^After=//p' "$file" | tr '\n' ' ')
	case " $binds " in *" $devunit "*) b=yes ;; *) b=no ;; esac
	case " $after " in *" $devunit "*) a=yes ;; *) a=no ;; esac
	if [ $b = yes ] && [ $a = yes ]; then
		echo "ok $n - $unit: bound to and after $devunit, the device of --channel dev:$dev"
	else
		echo "not ok $n - $unit: --channel dev:$dev, but BindsTo=$binds After=$after (want $devunit in both)"
	fi
done
exit 0
