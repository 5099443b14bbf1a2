#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# bench-vss.sh [BUILD_DIR [RUNS]]: hv-vssd's FREEZE and THAW latency as the
# host sees it (hv-hostsim, send to answer), for 1, 4 and 8 loop-mounted ext4
# images, next to the bare FIFREEZE/FITHAW time of the same mounts
# (tests/guest/freeze-time), medians of RUNS (default 7) runs each, and the
# overhead in %. Root only (skips otherwise). hv-vssd only ever gets --include
# of this script's own mounts; whatever happens, they are thawed and unmounted.
# Figures only; nothing is asserted.
set -eu
b=$(cd "${1:-.}" && pwd)
runs=${2:-7}
if [ "$(id -u)" -ne 0 ]; then
	echo "== hv-vssd: skipped (needs root for loop mounts and FIFREEZE)"
	exit 0
fi
for t in mkfs.ext4 losetup fsfreeze; do
	command -v "$t" >/dev/null || { echo "== hv-vssd: skipped ($t not installed)"; exit 0; }
done
export LD_LIBRARY_PATH="$b/libvmbus/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
hs="$b/tests/hostsim/.libs/hv-hostsim"
vd="$b/daemons/.libs/hv-vssd"
ft="$b/tests/guest/freeze-time"
[ -x "$hs" ] || hs="$b/tests/hostsim/hv-hostsim"
[ -x "$vd" ] || vd="$b/daemons/hv-vssd"

work=$(mktemp -d "${TMPDIR:-/tmp}/hv-bench-vss.XXXXXX")
mounts=""
cleanup() {
	# Thaw first (a frozen mount blocks its unmount), then unmount, newest first.
	for m in $mounts; do fsfreeze --unfreeze "$m" 2>/dev/null || true; done
	for m in $(printf '%s\n' $mounts | tac); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# median: of the numbers on standard input.
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

mkdir -p "$work/run"
echo "== hv-vssd: FREEZE/THAW latency through hv-hostsim vs bare FIFREEZE/FITHAW, median of $runs runs (ms)"
printf '%-7s %10s %10s %9s   %10s %10s %9s\n' mounts freeze bare overhead thaw bare overhead
for n in 1 4 8; do
	i=$(echo "$mounts" | wc -w)
	while [ "$i" -lt "$n" ]; do
		i=$((i + 1))
		mkdir -p "$work/m$i"
		truncate -s 32M "$work/img$i"
		mkfs.ext4 -q -F -m 0 "$work/img$i"
		mount -o loop "$work/img$i" "$work/m$i"
		mounts="$mounts $work/m$i"
		# Something to write back at each freeze.
		head -c 1048576 /dev/urandom > "$work/m$i/data"
	done
	inc=""
	for m in $mounts; do inc="$inc --include $m"; done
	: > "$work/batch"
	r=0
	while [ "$r" -lt "$runs" ]; do
		printf 'freeze\nthaw\nsleep 0.05\n' >> "$work/batch"
		r=$((r + 1))
	done
	# shellcheck disable=SC2086
	"$hs" vss batch -- "$vd" $inc --runtime-dir "$work/run" < "$work/batch" > "$work/out" 2>&1 ||
		{ echo "hv-hostsim failed:"; cat "$work/out"; exit 1; }
	fz=$(sed -n 's/^freeze: \([0-9.]*\) ms$/\1/p' "$work/out" | median)
	th=$(sed -n 's/^thaw: \([0-9.]*\) ms$/\1/p' "$work/out" | median)
	: > "$work/bare"
	r=0
	while [ "$r" -lt "$runs" ]; do
		# The same dirty state as the daemon meets: new data to write back.
		for m in $mounts; do head -c 1048576 /dev/urandom > "$m/data"; done
		# shellcheck disable=SC2086
		"$ft" $mounts >> "$work/bare"
		sleep 0.05
		r=$((r + 1))
	done
	bfz=$(awk '{ print $2 / 1000 }' "$work/bare" | median)
	bth=$(awk '{ print $4 / 1000 }' "$work/bare" | median)
	awk -v n="$n" -v f="$fz" -v bf="$bfz" -v t="$th" -v bt="$bth" 'BEGIN {
		printf "%-7s %10.3f %10.3f %8.1f%%   %10.3f %10.3f %8.1f%%\n", n, f, bf,
			(bf > 0 ? (f - bf) * 100 / bf : 0), t, bt, (bt > 0 ? (t - bt) * 100 / bt : 0) }'
done
