#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks the RPM packages that scripts/build-rpm.sh OUTDIR built: the split
# (every file in the package it belongs to, none in two), that the programs
# the units start and the helper the udev rules run are in the package at
# the path they name, that every unit is started by a rule, what the
# scriptlets do on install, upgrade and removal (run against stand-ins for
# systemctl and udevadm), that the programs run from an extracted tree, that
# the -devel package builds a program, and (as root) that erasing the
# packages from a scratch rpm root leaves the KVP pools in /var/lib/hyperv.
# Works in OUTDIR/test-rpm. Prints TAP; exits non-zero if a check fails.
#
# Usage: scripts/test-rpm.sh OUTDIR
set -u
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 OUTDIR (the directory given to scripts/build-rpm.sh)" >&2
	exit 2
fi
out=$(cd "$1" && pwd)
work="$out/test-rpm"
rm -rf "$work" && mkdir -p "$work" || exit 2

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check DESCRIPTION PROBLEMS: ok when PROBLEMS is empty, else not ok with
# each line of PROBLEMS as a diagnostic.
check() {
	if [ -z "$2" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '%s\n' "${2%$'\n'}" | sed 's/^/#   /'
	fi
}
finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
	exit $?
}

# rpmq -qp opens (and would create) an rpm database: one of our own, not root's.
rpmq() { rpm --dbpath "$work/rpmdb" "$@"; }

for tool in rpm rpm2cpio cpio; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		not_ok "$tool is installed"
		finish
	fi
done

# --- The packages ----------------------------------------------------------
packages="hv-daemons libvmbus libvmbus-devel hv-daemons-tools"
declare -A rpmfile
problems=""
for p in $packages; do
	for f in "$out"/rpmbuild/RPMS/*/"$p"-[0-9]*.rpm; do
		[ -f "$f" ] || continue
		[ "$(rpmq -qp --qf '%{NAME}' "$f" 2>/dev/null)" = "$p" ] && rpmfile[$p]=$f
	done
	[ -n "${rpmfile[$p]:-}" ] || problems+="no $p-*.rpm under $out/rpmbuild/RPMS"$'\n'
done
check "the four packages were built: $packages" "$problems"
[ -z "$problems" ] || finish
evr=$(rpmq -qp --qf '%{VERSION}-%{RELEASE}' "${rpmfile[hv-daemons]}")
version=$(rpmq -qp --qf '%{VERSION}' "${rpmfile[hv-daemons]}")
problems=""
for p in $packages; do
	e=$(rpmq -qp --qf '%{VERSION}-%{RELEASE}' "${rpmfile[$p]}")
	[ "$e" = "$evr" ] || problems+="$p is $e, hv-daemons $evr"$'\n'
done
check "all four are version $evr" "$problems"

# Files (not directories) of each package, without rpm's build-id links.
for p in $packages; do
	rpmq -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "${rpmfile[$p]}" >"$work/$p.modes"
	grep -v '^d' "$work/$p.modes" | cut -d' ' -f2- | grep -v '^/usr/lib/\.build-id/' | sort >"$work/$p.files"
done

# --- The split ---------------------------------------------------------------
dup=$(cat "$work"/*.files | sort | uniq -d)
check "no file is in two packages" "$dup"

# Where each file belongs (extended regular expressions). %{_sbindir} may be
# /usr/bin (merged sbin), %{_libdir} /usr/lib or /usr/lib64, unit and rules
# directories with or without /usr, man pages compressed or not.
man='(\.gz|\.bz2|\.xz|\.zst)?'
declare -A expect
expect[hv-daemons]="
^/usr/s?bin/hv-fcopyd\$
^/usr/s?bin/hv-kvpd\$
^/usr/s?bin/hv-vssd\$
^/usr/bin/hv-kvp\$
^(/usr)?/lib/systemd/system/hv-fcopyd\.service\$
^(/usr)?/lib/systemd/system/hv-kvpd\.service\$
^(/usr)?/lib/systemd/system/hv-vssd\.service\$
^(/usr)?/lib/udev/rules\.d/70-hv-daemons\.rules\$
^/usr/libexec/hv-daemons/hv-bind-uio\$
^/usr/share/man/man1/hv-kvp\.1$man\$
^/usr/share/man/man7/hv-daemons\.7$man\$
^/usr/share/man/man8/hv-fcopyd\.8$man\$
^/usr/share/man/man8/hv-kvpd\.8$man\$
^/usr/share/man/man8/hv-vssd\.8$man\$
^/usr/share/doc/hv-daemons(-[^/]*)?/README\.md\$
"
expect[libvmbus]="
^/usr/lib(64)?/libvmbus\.so\.1\$
^/usr/lib(64)?/libvmbus\.so\.1\.[0-9]+\.[0-9]+\$
"
expect[libvmbus-devel]="
^/usr/include/vmbus/vmbus\.h\$
^/usr/lib(64)?/libvmbus\.so\$
^/usr/lib(64)?/pkgconfig/libvmbus\.pc\$
^/usr/share/man/man3/libvmbus\.3$man\$
"
expect[hv-daemons-tools]="
^/usr/bin/hv-hostsim\$
^/usr/share/man/man1/hv-hostsim\.1$man\$
"
for p in $packages; do
	patterns=${expect[$p]}
	problems=""
	while IFS= read -r re; do
		[ -n "$re" ] || continue
		c=$(grep -cE "$re" "$work/$p.files")
		[ "$c" -eq 1 ] || problems+="$c files match $re"$'\n'
	done <<<"$patterns"
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		matched=no
		while IFS= read -r re; do
			[ -n "$re" ] && [[ $f =~ $re ]] && matched=yes && break
		done <<<"$patterns"
		[ "$matched" = yes ] || problems+="$f does not belong in $p"$'\n'
	done <"$work/$p.files"
	check "$p holds exactly its files ($(wc -l <"$work/$p.files") files)" "$problems"
done

# rpmbuild fails on an installed file that no package lists; the spec must keep
# that, and the build must have checked.
problems=""
grep -q '_unpackaged_files_terminate_build' "$out/rpmbuild/SPECS/hv-daemons.spec" &&
	problems+="the spec changes _unpackaged_files_terminate_build"$'\n'
grep -q 'Checking for unpackaged file' "$out/rpmbuild.log" ||
	problems+="rpmbuild.log shows no check for unpackaged files"$'\n'
grep -q 'Installed (but unpackaged)' "$out/rpmbuild.log" &&
	problems+="$(grep -A20 'Installed (but unpackaged)' "$out/rpmbuild.log")"$'\n'
check "no installed file is left unpackaged, and rpmbuild checked" "$problems"

# --- Dependencies ----------------------------------------------------------------
problems=""
conflicts=$(rpmq -qp --conflicts "${rpmfile[hv-daemons]}" | awk '{ print $1 }')
for c in hyperv-daemons hypervkvpd hypervvssd hypervfcopyd; do
	grep -qx "$c" <<<"$conflicts" || problems+="hv-daemons does not conflict with $c"$'\n'
done
check "hv-daemons conflicts with Fedora's and RHEL's hyperv-daemons, hypervkvpd, hypervvssd, hypervfcopyd" "$problems"
problems=""
for p in hv-daemons libvmbus-devel hv-daemons-tools; do
	rpmq -qp --requires "${rpmfile[$p]}" | grep -qE "^libvmbus(\([^)]*\))? = $evr\$" ||
		problems+="$p does not require libvmbus = $evr"$'\n'
done
check "hv-daemons, libvmbus-devel and hv-daemons-tools require libvmbus of the same build" "$problems"

# --- Extracted tree ---------------------------------------------------------
root="$work/root"
mkdir -p "$root"
problems=""
for p in $packages; do
	(cd "$root" && rpm2cpio "${rpmfile[$p]}" | cpio -idm --quiet) 2>>"$work/cpio.err" ||
		problems+="rpm2cpio | cpio failed for $p: $(cat "$work/cpio.err")"$'\n'
done
check "rpm2cpio | cpio extracts the four packages" "$problems"

in_pkg() { grep -qxF "$2" "$work/$1.files"; }
units=$(grep -E '/lib/systemd/system/[^/]+\.service$' "$work/hv-daemons.files")
rules=$(grep -E '/lib/udev/rules\.d/[^/]+\.rules$' "$work/hv-daemons.files")

# Every program a unit runs (ExecStart=, ExecStartPre= ...) is in hv-daemons,
# at that absolute path, and executable.
problems=""
count=0
for u in $units; do
	while IFS= read -r cmd; do
		# Drop the prefixes systemd allows before the path (-, @, :, +, !).
		cmd=${cmd#*=}
		cmd=$(sed -E 's/^[-@:+!]+//' <<<"$cmd" | awk '{ print $1 }')
		count=$((count + 1))
		case $cmd in
		/*) ;;
		*) problems+="$(basename "$u"): $cmd is not an absolute path"$'\n'; continue ;;
		esac
		in_pkg hv-daemons "$cmd" || problems+="$(basename "$u") runs $cmd, which hv-daemons does not hold"$'\n'
		[ -x "$root$cmd" ] || problems+="$(basename "$u") runs $cmd, not executable in the package"$'\n'
	done < <(grep -E '^Exec[A-Za-z]*=' "$root$u")
	grep -qE '^ExecStart=' "$root$u" || problems+="$(basename "$u") has no ExecStart="$'\n'
done
[ -n "$units" ] || problems+="hv-daemons holds no unit"$'\n'
check "every program the units run is in hv-daemons at that path ($count commands in $(wc -w <<<"$units") units)" "$problems"

# Every program a rule runs is in hv-daemons; every unit a rule wants exists,
# and every unit is wanted by a rule (activation needs no enabling).
problems=""
count=0
wanted=""
for r in $rules; do
	# RUN+="prog args", RUN{program}+=, PROGRAM==, IMPORT{program}=.
	while IFS= read -r prog; do
		count=$((count + 1))
		case $prog in
		/*) path=$prog ;;
		*) path=$(grep -E "^(/usr)?/lib/udev/$prog\$" "$work/hv-daemons.files" | head -1) ;;
		esac
		if [ -z "$path" ] || ! in_pkg hv-daemons "$path"; then
			problems+="$(basename "$r") runs $prog, which hv-daemons does not hold"$'\n'
		elif [ ! -x "$root$path" ]; then
			problems+="$(basename "$r") runs $prog, not executable in the package"$'\n'
		fi
	done < <(grep -oE '(RUN(\{program\})?\+?=|PROGRAM==|IMPORT\{program\}=)"[^"]*"' "$root$r" |
		sed -E 's/^[^"]*"//; s/"$//' | awk '{ print $1 }')
	# ENV{SYSTEMD_WANTS}="..." with $env{VAR} expanded to each value the file
	# gives ENV{VAR}.
	while IFS= read -r want; do
		todo=$want
		while [[ $todo =~ \$env\{([A-Za-z0-9_]+)\} ]]; do
			var=${BASH_REMATCH[1]}
			next=""
			# shellcheck disable=SC2013 # the values are words
			for v in $(grep -oE "ENV\{$var\}=\"[^\"]*\"" "$root$r" | sed -E 's/^[^"]*"//; s/"$//' | sort -u); do
				for t in $todo; do
					next+=" ${t//\$env\{$var\}/$v}"
				done
			done
			todo=$next
			[ -n "$todo" ] || { problems+="$(basename "$r"): no value for \$env{$var}"$'\n'; break; }
		done
		wanted+=" $todo"
	done < <(grep -oE 'ENV\{SYSTEMD_WANTS\}\+?="[^"]*"' "$root$r" | sed -E 's/^[^"]*"//; s/"$//')
done
for w in $wanted; do
	grep -qE "/lib/systemd/system/$w\$" <<<"$units" ||
		problems+="a rule wants $w, which hv-daemons does not hold"$'\n'
done
for u in $units; do
	grep -qw "$(basename "$u")" <<<"$wanted" ||
		problems+="no rule wants $(basename "$u"): it would never start"$'\n'
done
[ -n "$rules" ] || problems+="hv-daemons holds no udev rules"$'\n'
[ "$count" -gt 0 ] || problems+="the rules run no program"$'\n'
check "the rules' programs ($count) are in hv-daemons; they want exactly its units:$(tr ' ' '\n' <<<"$wanted" | sort -u | tr '\n' ' ' | sed 's/ $//')" "$problems"

# The programs run from the extracted tree, against the extracted libvmbus.
libdir=$(dirname "$(grep -E '/libvmbus\.so\.1$' "$work/libvmbus.files")")
problems=""
progs=$(grep -E '^/usr/s?bin/' "$work/hv-daemons.files" "$work/hv-daemons-tools.files" | cut -d: -f2-)
for prog in $progs; do
	# A program that links libvmbus (hv-kvp does not) must find the packaged one.
	lib=$(LD_LIBRARY_PATH="$root$libdir" ldd "$root$prog" 2>&1 | awk '$1 == "libvmbus.so.1" { print $3 }')
	case $prog in */hv-fcopyd) [ -n "$lib" ] || problems+="$prog does not link libvmbus.so.1"$'\n' ;; esac
	[ -z "$lib" ] || [ "$lib" = "$root$libdir/libvmbus.so.1" ] ||
		problems+="$prog loads libvmbus.so.1 from '$lib', not from the package"$'\n'
	v=$(LD_LIBRARY_PATH="$root$libdir" "$root$prog" --version 2>&1)
	rc=$?
	[ $rc -eq 0 ] && grep -qF "$version" <<<"$v" ||
		problems+="$prog --version: exit $rc, '$v' (expected $version)"$'\n'
done
[ -n "$progs" ] || problems+="no programs in the packages"$'\n'
fcopyd=$(grep -E '/hv-fcopyd$' "$work/hv-daemons.files")
check "hv-fcopyd --version (and $(($(wc -w <<<"$progs") - 1)) more programs) run from the extracted tree with its libvmbus" "$problems"

# libvmbus-devel: its pkg-config file and header build a program that links
# the package's libvmbus.
problems=""
if command -v cc >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1; then
	pc="PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root$libdir/pkgconfig"
	flags=$(env PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_LIBDIR="$root$libdir/pkgconfig" \
		pkg-config --cflags --libs libvmbus 2>&1) || problems+="$pc pkg-config libvmbus: $flags"$'\n'
	cat >"$work/use-libvmbus.c" <<-'EOT'
	#include <vmbus/vmbus.h>
	int main(void)
	{
		/* Any exported function: the link must resolve it in libvmbus.so. */
		return vmbus_channel_close(NULL) == NULL ? 0 : 1;
	}
	EOT
	if [ -z "$problems" ]; then
		# shellcheck disable=SC2086
		cc -o "$work/use-libvmbus" "$work/use-libvmbus.c" $flags >"$work/cc.out" 2>&1 ||
			problems+="cc with \"$flags\": $(cat "$work/cc.out")"$'\n'
	fi
	if [ -z "$problems" ]; then
		LD_LIBRARY_PATH="$root$libdir" "$work/use-libvmbus" || problems+="the program built against libvmbus-devel fails"$'\n'
	fi
	check "libvmbus-devel's header and libvmbus.pc build and link a program against the packaged libvmbus" "$problems"
else
	skip "libvmbus-devel builds a program" "no cc or pkg-config"
fi

# --- Scriptlets ---------------------------------------------------------------
rpmq -qp --scripts "${rpmfile[hv-daemons]}" >"$work/scripts.txt"
# scriptlet NAME: the body of one scriptlet of hv-daemons.
scriptlet() {
	awk -v want="$1" '
		/^[a-z]+ (scriptlet|program) \(using / { on = ($1 == want); next }
		on { print }' "$work/scripts.txt"
}
unitnames=$(for u in $units; do basename "$u"; done)
problems=""
for s in postinstall preuninstall postuninstall; do
	body=$(scriptlet $s)
	for u in $unitnames; do
		grep -qw "$u" <<<"$body" || problems+="the $s scriptlet does not name $u"$'\n'
	done
done
grep -qE 'udevadm control --reload|systemd-update-helper' <<<"$(scriptlet postuninstall)" ||
	problems+="the postuninstall scriptlet does not reload the udev rules"$'\n'
grep -qE 'udevadm trigger .*--subsystem-match=vmbus' <<<"$(scriptlet posttrans)" ||
	problems+="the posttrans scriptlet does not replay the VMBus devices"$'\n'
check "the scriptlets name the units (%systemd_post, %systemd_preun, %systemd_postun_with_restart) and udev" "$problems"

# Run each scriptlet the way rpm would ($1: 1 install, 2 upgrade, 0 removal),
# with systemctl and udevadm replaced by stand-ins that log their arguments
# and /run and /sys redirected to scratch copies (a running udevd and systemd,
# a VMBus), so that nothing on this machine is touched.
if grep -q 'systemd-update-helper' "$work/scripts.txt"; then
	skip "the scriptlets' actions on install, upgrade and removal" \
		"the distribution's macros call systemd-update-helper; checked where rpm has no such macros"
else
	fake="$work/fake"
	mkdir -p "$fake/bin" "$fake/run/systemd/system" "$fake/run/udev" "$fake/sys/bus/vmbus"
	for t in systemctl udevadm; do
		printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$t" "$fake" >"$fake/bin/$t"
		chmod +x "$fake/bin/$t"
	done
	# run NAME ARG: the calls a scriptlet makes.
	run() {
		: >"$fake/calls"
		scriptlet "$1" | sed "s|/run/|$fake/run/|g; s|/sys/|$fake/sys/|g" >"$fake/$1.sh"
		PATH="$fake/bin:$PATH" sh "$fake/$1.sh" "$2" >/dev/null 2>&1
		cat "$fake/calls"
	}
	all_units() { for u in $unitnames; do grep -qE "^systemctl .*$1.* $u( |\$)|^systemctl .*$1.* .* $u( |\$)" <<<"$2" || return 1; done; }
	problems=""
	c=$(run postinstall 1)
	all_units preset "$c" || problems+="install: postinstall does not preset the units: $c"$'\n'
	c=$(run postinstall 2)
	grep -q preset <<<"$c" && problems+="upgrade: postinstall presets the units again: $c"$'\n'
	c=$(run preuninstall 0)
	all_units 'disable --now' "$c" || problems+="removal: preuninstall does not stop and disable the units: $c"$'\n'
	c=$(run preuninstall 1)
	grep -qE 'disable|stop' <<<"$c" && problems+="upgrade: preuninstall stops the units: $c"$'\n'
	c=$(run postuninstall 1)
	all_units try-restart "$c" || problems+="upgrade: postuninstall does not restart the running units: $c"$'\n'
	grep -q 'udevadm control --reload' <<<"$c" || problems+="upgrade: postuninstall does not reload the udev rules: $c"$'\n'
	c=$(run postuninstall 0)
	grep -q restart <<<"$c" && problems+="removal: postuninstall restarts the units: $c"$'\n'
	c=$(run posttrans 0)
	grep -q 'systemctl daemon-reload' <<<"$c" || problems+="posttrans does not reload systemd: $c"$'\n'
	grep -q 'udevadm control --reload' <<<"$c" || problems+="posttrans does not reload the udev rules: $c"$'\n'
	grep -qE 'udevadm trigger .*--subsystem-match=vmbus.*--action=add|udevadm trigger .*--action=add.*--subsystem-match=vmbus' <<<"$c" ||
		problems+="posttrans does not replay add for the VMBus devices: $c"$'\n'
	grep -qE 'udevadm trigger .*--subsystem-match=uio' <<<"$c" ||
		problems+="posttrans does not replay the uio devices (already bound ones start their daemon): $c"$'\n'
	# The reload must come before the trigger, or the new rules miss the events.
	[ "$(grep -n 'udevadm control' <<<"$c" | head -1 | cut -d: -f1)" -lt "$(grep -n 'udevadm trigger' <<<"$c" | head -1 | cut -d: -f1)" ] 2>/dev/null ||
		problems+="posttrans triggers before it reloads the rules: $c"$'\n'
	rm -rf "$fake/sys/bus/vmbus"
	c=$(run posttrans 0)
	grep -q 'udevadm trigger' <<<"$c" && problems+="posttrans replays devices where there is no VMBus: $c"$'\n'
	rm -rf "$fake/run/udev" "$fake/run/systemd"
	mkdir -p "$fake/sys/bus/vmbus"
	c=$(run posttrans 0)
	[ -z "$c" ] || problems+="posttrans without a running udevd and systemd still calls them: $c"$'\n'
	check "the scriptlets preset on install, restart on upgrade, stop on removal, and replay the devices" "$problems"
fi

# --- Install and erase in a scratch rpm root ---------------------------------------
# Files only (--noscripts: the scratch root has no shell), --nodeps: nothing
# else is installed there. The units' state directories (StateDirectory=,
# made by systemd) belong to hv-daemons, and what the daemons keep there,
# the KVP pools above all, must survive "rpm -e".
statedirs=$(for u in $units; do sed -n 's/^StateDirectory=//p' "$root$u"; done | tr ' ' '\n' | sed '/^$/d' | sort -u)
if [ "$(id -u)" -ne 0 ]; then
	skip "rpm -e keeps the KVP pools in /var/lib/hyperv" "needs root (rpm --root chroots)"
else
	inst="$work/instroot"
	rpmi() { rpm --root "$inst" --dbpath /var/lib/rpm "$@"; }
	mkdir -p "$inst"
	problems=""
	if ! rpmi --initdb >"$work/rpm-i.out" 2>&1 ||
		! rpmi -i --nodeps --noscripts --notriggers "${rpmfile[@]}" >>"$work/rpm-i.out" 2>&1; then
		problems+="rpm -i into $inst failed: $(cat "$work/rpm-i.out")"$'\n'
	else
		[ -x "$inst$fcopyd" ] || problems+="rpm -i did not install $fcopyd"$'\n'
		grep -qx hyperv <<<"$statedirs" || problems+="hv-kvpd.service has no StateDirectory=hyperv"$'\n'
		for d in $statedirs; do
			owner=$(rpmi -qf "/var/lib/$d" 2>&1)
			[ "${owner%%-[0-9]*}" = hv-daemons ] || problems+="/var/lib/$d is owned by '$owner', not hv-daemons"$'\n'
			mkdir -p "$inst/var/lib/$d"
			echo "state of $d" >"$inst/var/lib/$d/kept"
		done
		for i in 0 1 2 3 4; do
			printf 'pool %s of the guest\n' "$i" >"$inst/var/lib/hyperv/.kvp_pool_$i"
		done
		# shellcheck disable=SC2086 # one argument per package
		rpmi -e --nodeps --noscripts --notriggers $packages >"$work/rpm-e.out" 2>&1 ||
			problems+="rpm -e failed: $(cat "$work/rpm-e.out")"$'\n'
		left=$(rpmi -qa 2>/dev/null)
		[ -z "$left" ] || problems+="still installed after rpm -e: $left"$'\n'
		[ ! -e "$inst$fcopyd" ] || problems+="rpm -e left $fcopyd"$'\n'
		for i in 0 1 2 3 4; do
			[ "$(cat "$inst/var/lib/hyperv/.kvp_pool_$i" 2>/dev/null)" = "pool $i of the guest" ] ||
				problems+="rpm -e removed or changed /var/lib/hyperv/.kvp_pool_$i"$'\n'
		done
		for d in $statedirs; do
			[ "$(cat "$inst/var/lib/$d/kept" 2>/dev/null)" = "state of $d" ] ||
				problems+="rpm -e removed or changed /var/lib/$d/kept"$'\n'
		done
	fi
	check "rpm -i into a scratch root; rpm -e removes the files, keeps the KVP pools and the state in /var/lib/{$(tr '\n' , <<<"$statedirs" | sed 's/,$//')}" "$problems"
fi

finish
