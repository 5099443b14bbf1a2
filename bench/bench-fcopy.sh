#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-fcopy.sh [BUILD_DIR [MIB]]: hv-fcopyd throughput and idle cost.
#
# - the floor: bench-floor's two-process eventfd round trip for 6 KiB messages,
#   times the number of fragments of the transfer;
# - MIB (default 256) MiB copied by hv-hostsim through a 20 KiB ring (16 KiB of
#   data per direction, as "20 KiB ring" is counted with the 4 KiB header),
#   one transaction at a time and with --pipeline 4, three runs each, to a
#   tmpfs (the page cache: COMPLETE's fsync costs nothing there), with the
#   simulated host sleeping for each signal and with it busy-polling;
# - hv-fcopyd idle for 10 s: wakeups and resident memory.
# Figures only; nothing is asserted.
set -eu
b=$(cd "${1:-.}" && pwd)
mib=${2:-256}
bytes=$((mib * 1024 * 1024))
export LD_LIBRARY_PATH="$b/libvmbus/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
hs="$b/tests/hostsim/.libs/hv-hostsim"
fd="$b/daemons/.libs/hv-fcopyd"
[ -x "$hs" ] || hs="$b/tests/hostsim/hv-hostsim"
[ -x "$fd" ] || fd="$b/daemons/hv-fcopyd"

base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/hv-bench-fcopy.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/dst" "$work/state"
head -c "$bytes" /dev/urandom > "$work/src"

echo "== hv-fcopyd: $mib MiB to $(df --output=fstype "$work" | tail -1) at $work"
"$b/bench/bench-floor" "$bytes"
# hv-fcopyd runs with its defaults (--busy-poll 100). The simulated host either
# sleeps until each signal (a host as slow to wake as this machine's scheduler)
# or polls for up to 300 us first (a host that answers at memory speed).
for hb in 0 300; do
	for p in 1 4; do
		for i in 1 2 3; do
			rm -f "$work/dst/src"
			"$hs" --busy-poll "$hb" -r 20480 fcopy --pipeline "$p" "$work/src" "$work/dst/" -- \
				"$fd" --state-dir "$work/state" 2>/dev/null |
				sed -n "s/^copied /host busy-poll $hb us, pipeline $p, run $i: copied /p"
			cmp -s "$work/src" "$work/dst/src" || echo "host busy-poll $hb, pipeline $p, run $i: COPY DIFFERS"
		done
	done
done
rm -f "$work/src" "$work/dst/src"
echo "== hv-fcopyd idle"
"$hs" -s fcopy idle 10 -- "$fd" --state-dir "$work/state" 2>/dev/null | grep '^guest: idle'
