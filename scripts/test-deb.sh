#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs the .deb files scripts/build-deb.sh made on this machine and
# checks what a guest relies on: the files are where the units and the udev
# rules expect them and where systemd and udev read them, the programs run
# from their installed paths, removal keeps the KVP pool data and purge
# deletes it. Prints TAP lines; exits non-zero if any check failed.
#
# Usage: scripts/test-deb.sh DIR-WITH-DEBS
#
# It changes the machine only for the test: any /var/lib/hyperv and
# /var/lib/hv-fcopyd content is moved aside first and put back afterwards,
# and the test packages are always purged at the end (also on failure or
# interruption). It refuses (skips) where it could disturb something: not
# root, Debian's hyperv-daemons or one of these packages already installed
# (or left with its configuration files), a KVP daemon running.
set -u
[ $# -eq 1 ] && [ -d "$1" ] || { echo "usage: $0 DIR-WITH-DEBS" >&2; exit 2; }
debdir=$(cd "$1" && pwd)

packages="hv-daemons hv-daemons-tools libvmbus-dev libvmbus1"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check DESCRIPTION COMMAND...: one TAP line for a command's status
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what"
		[ -n "$out" ] && printf '%s\n' "$out" | head -20 | sed 's/^/# /'
	fi
}
skip_all() { echo "1..1"; echo "ok 1 # SKIP $*"; exit 0; }
bail_out() { echo "1..$n"; echo "Bail out! $*"; exit 1; }

# dpkg, waiting (up to 5 minutes) while another dpkg or apt holds its lock.
dpkg_locked() {
	local out rc tries=0
	while :; do
		out=$(dpkg "$@" 2>&1)
		rc=$?
		if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q 'lock.*locked by another process\|is locked by another process' &&
		   [ $tries -lt 60 ]; then
			tries=$((tries + 1))
			sleep 5
			continue
		fi
		printf '%s\n' "$out"
		return $rc
	done
}

[ "$(id -u)" -eq 0 ] || skip_all "not root: installing packages needs root"
command -v dpkg >/dev/null || skip_all "no dpkg"

# dpkg's state of a package ("" when it is unknown to dpkg or fully purged).
pkg_state() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -v '^not-installed$'
}
for p in hyperv-daemons $packages; do
	s=$(pkg_state "$p")
	[ -z "$s" ] || skip_all "$p is already on this machine ($s): not touching it"
done
for d in hv-kvpd hv_kvp_daemon hypervkvpd; do
	! pgrep -x "$d" >/dev/null 2>&1 || skip_all "$d is running: its pools are not ours to move"
done

deb() { # the newest DIR/NAME_*.deb for this machine's architecture
	ls -1 "$debdir/$1"_*_"$(dpkg --print-architecture)".deb 2>/dev/null | sort -V | tail -1
}
debs=
for p in $packages; do
	f=$(deb "$p")
	[ -n "$f" ] || { echo "1..1"; echo "not ok 1 - $p .deb in $debdir"; exit 1; }
	debs="$debs $f"
done

# --- Save what is there; always restore it and purge the test packages. ------
saved=$(mktemp -d /var/lib/.hv-daemons-test-deb.XXXXXX) || exit 1
echo "# saving /var/lib/hyperv and /var/lib/hv-fcopyd (if any) in $saved"
for d in hyperv hv-fcopyd; do
	if [ -e "/var/lib/$d" ] || [ -L "/var/lib/$d" ]; then
		mv "/var/lib/$d" "$saved/$d" || { rmdir "$saved"; echo "1..1"; echo "not ok 1 - save /var/lib/$d"; exit 1; }
	fi
done
restore() {
	local p d
	for p in $packages; do
		[ -z "$(pkg_state "$p")" ] || dpkg_locked --purge "$p" >/dev/null 2>&1 ||
			echo "# WARNING: could not purge $p"
	done
	for d in hyperv hv-fcopyd; do
		rm -rf "/var/lib/$d"
		if [ -e "$saved/$d" ] || [ -L "$saved/$d" ]; then
			mv "$saved/$d" "/var/lib/$d" || echo "# WARNING: /var/lib/$d is still in $saved/$d"
		fi
	done
	rmdir "$saved" 2>/dev/null || true
}
trap restore EXIT
trap 'exit 130' INT TERM HUP

# --- Install ----------------------------------------------------------------
# shellcheck disable=SC2086
check "dpkg -i:$(for f in $debs; do printf ' %s' "${f##*/}"; done)" dpkg_locked -i $debs
for p in $packages; do
	[ "$(pkg_state "$p")" = installed ] || bail_out "$p is not installed: nothing else can be checked"
done

# The installed file of a package whose path matches a pattern.
pkg_file() { dpkg -L "$1" 2>/dev/null | grep -E "$2" | head -1; }

# --- systemd: the units are where systemd reads them, and what they run is there.
unit_paths=$(systemd-analyze unit-paths 2>/dev/null)
for svc in hv-fcopyd hv-kvpd hv-vssd; do
	unit=$(pkg_file hv-daemons "/$svc\\.service\$")
	if [ -z "$unit" ]; then
		not_ok "$svc.service is in hv-daemons"
		continue
	fi
	if printf '%s\n' "$unit_paths" | grep -qx "$(dirname "$unit")" &&
	   state=$(systemctl --root=/ is-enabled "$svc.service" 2>&1); then
		ok "$unit: in systemd's unit path, systemctl finds it ($state)"
	else
		not_ok "$unit: in systemd's unit path ($(systemd-analyze unit-paths 2>&1 | tr '\n' ' ')), systemctl finds it (${state:-})"
	fi
	exec_start=$(sed -n 's/^ExecStart=[-@:+!]*//p' "$unit" | head -1)
	bin=${exec_start%% *}
	if [ -n "$bin" ] && [ -x "$bin" ] && dpkg -S "$bin" 2>/dev/null | grep -q '^hv-daemons:'; then
		ok "$svc.service ExecStart $bin is installed and executable"
	else
		not_ok "$svc.service ExecStart '${bin}' is installed by hv-daemons and executable"
	fi
	# PID 1 is not necessarily systemd here (containers), so systemctl cat
	# cannot be used; verify loads the installed unit the same way offline
	# (and checks that its executable exists).
	check "systemd-analyze verify $unit" systemd-analyze verify "$unit"
done

# --- udev: the rules are where udev reads them, and what they run is there.
rules=$(pkg_file hv-daemons '/rules\.d/70-hv-daemons\.rules$')
case $rules in
/lib/udev/rules.d/*|/usr/lib/udev/rules.d/*)
	ok "$rules: in a directory udev reads" ;;
*)	not_ok "70-hv-daemons.rules in /lib/udev/rules.d or /usr/lib/udev/rules.d (found: '${rules}')" ;;
esac
if [ -n "$rules" ]; then
	progs=$(grep -v '^[[:space:]]*#' "$rules" | grep -oE '(RUN|PROGRAM|IMPORT\{program\})[^=]*\+?="[^" ]+' |
		sed 's/.*="//' | sort -u)
	if [ -z "$progs" ]; then
		not_ok "70-hv-daemons.rules runs a helper (no RUN/PROGRAM found)"
	fi
	for prog in $progs; do
		case $prog in
		/*) if [ -x "$prog" ] && dpkg -S "$prog" 2>/dev/null | grep -q '^hv-daemons:'; then
				ok "udev rule's helper $prog is installed and executable"
			else
				not_ok "udev rule's helper $prog is installed by hv-daemons and executable"
			fi ;;
		*)	not_ok "udev rule's program '$prog' has an absolute path" ;;
		esac
	done
fi

# --- The programs run from their installed paths.
version=$(dpkg-query -W -f='${Version}' hv-daemons)
upstream=${version#*:}
upstream=${upstream%-*}
for prog in /usr/sbin/hv-fcopyd /usr/sbin/hv-kvpd /usr/sbin/hv-vssd /usr/bin/hv-kvp /usr/bin/hv-hostsim; do
	out=$("$prog" --version 2>&1)
	if [ "$out" = "${prog##*/} $upstream" ]; then
		ok "$prog --version: $out"
	else
		not_ok "$prog --version prints '${prog##*/} $upstream' (got: $out)"
	fi
done
# (Compared as real paths: with the merged /usr, ldd says /lib/..., dpkg /usr/lib/...)
loaded=$(ldd /usr/sbin/hv-fcopyd 2>/dev/null | awk '$1 == "libvmbus.so.1" { print $3 }')
packaged=$(pkg_file libvmbus1 '/libvmbus\.so\.1$')
if [ -n "$loaded" ] && [ -n "$packaged" ] && [ "$(realpath "$loaded")" = "$(realpath "$packaged")" ]; then
	ok "hv-fcopyd loads the packaged $packaged"
else
	not_ok "hv-fcopyd loads the packaged libvmbus.so.1"
	ldd /usr/sbin/hv-fcopyd 2>&1 | sed 's/^/# /'
fi
missing=
for page in hv-daemons.7 hv-fcopyd.8 hv-kvpd.8 hv-vssd.8 hv-kvp.1 hv-hostsim.1 libvmbus.3; do
	sec=${page##*.}
	[ -f "/usr/share/man/man$sec/$page.gz" ] || missing="$missing $page"
done
if [ -z "$missing" ]; then
	ok "the 7 man pages are installed"
else
	not_ok "man pages missing:$missing"
fi

# libvmbus-dev: a program builds against the installed header, .pc and .so,
# and runs.
tmp=$(mktemp -d)
cat >"$tmp/t.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <vmbus/vmbus.h>
int main(void)
{
	return vmbus_utf8_valid("hv-daemons", strlen("hv-daemons")) ? 0 : 1;
}
EOF
if command -v cc >/dev/null && command -v pkg-config >/dev/null; then
	check "a program builds with pkg-config libvmbus ($(pkg-config --modversion libvmbus 2>&1)) and runs" \
		sh -c "cc -o '$tmp/t' '$tmp/t.c' \$(pkg-config --cflags --libs libvmbus) && '$tmp/t'"
else
	ok "a program builds with pkg-config libvmbus # SKIP no cc or pkg-config"
fi
rm -rf "$tmp"

# --- Reinstalling runs the upgrade path of the maintainer scripts.
# shellcheck disable=SC2086
check "dpkg -i again (upgrade path of the maintainer scripts)" dpkg_locked -i $debs

# --- Pool data survive removal, and only purge deletes them.
key="test-deb-$$"
check "hv-kvp set $key in the guest pool (/var/lib/hyperv)" /usr/bin/hv-kvp set "$key" kept
pool=$(grep -l -a -F "$key" /var/lib/hyperv/.kvp_pool_* 2>/dev/null | head -1)
[ -n "$pool" ] || bail_out "hv-kvp stored the key in no pool file under /var/lib/hyperv"
echo "not a pool" >/var/lib/hyperv/test-deb-other
check "dpkg -r $packages" dpkg_locked -r $packages
if [ -n "$pool" ] && grep -q -a -F "$key" "$pool" 2>/dev/null; then
	ok "after dpkg -r, $pool still holds the key"
else
	not_ok "after dpkg -r, the pool file still holds the key"
fi
check "dpkg --purge $packages" dpkg_locked --purge $packages
if [ -n "$pool" ] && [ ! -e "$pool" ]; then
	ok "after dpkg --purge, $pool is gone"
else
	not_ok "after dpkg --purge, the pool file is gone"
fi
# Purge deletes the pools, not whatever else someone keeps there.
if [ -f /var/lib/hyperv/test-deb-other ]; then
	ok "after dpkg --purge, a file that is no pool is left in /var/lib/hyperv"
else
	not_ok "after dpkg --purge, a file that is no pool is left in /var/lib/hyperv"
fi
for p in $packages; do
	[ -z "$(pkg_state "$p")" ] || not_ok "$p purged ($(pkg_state "$p"))"
done

echo "1..$n"
[ "$failed" -eq 0 ]
