#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# udev activation: udev/70-hv-daemons.rules evaluated by udev's own rule engine
# (`udevadm test` on umockdev testbeds), and udev/hv-bind-uio run against a
# fake sysfs tree whose "kernel" (two FIFO readers) unbinds and probes.

load helpers

RULES="$top_builddir/udev/70-hv-daemons.rules"
BIND_UIO="$top_builddir/udev/hv-bind-uio"

# Class GUIDs (include/linux/hyperv.h) and the well-known instances.
FCOPY_CLASS=34d14be3-dee4-41c8-9ae7-6b174977c192 FCOPY_INST=eb765408-105f-49b6-b4aa-c123b64d17d4
KVP_CLASS=a9a0f4e7-5a45-4d96-b827-8a841e8c03e6 KVP_INST=242ff919-07db-4180-9c2e-b86cb68c8c55
VSS_CLASS=35fa2e29-ea23-4236-96ae-3a6ebacba440 VSS_INST=2450ee40-33bf-4fbd-892e-9fb06e9214cf
HB_CLASS=57164f39-9115-4e78-ab55-382f3bd5422d HB_INST=fd149e91-82e0-4a7d-afa6-2a4166cbd7c0
NIC_CLASS=f8615163-df3e-46c5-913f-f2d2f965ed0e NIC_INST=6f0ea8c6-4a5f-4d1b-a1a7-4c2b7e9b9f10

VMBUS_PARENT=/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00

# --- udevadm test on a umockdev testbed ------------------------------------

# Run in a private mount namespace: /run (udev's database, /run/udev/rules.d)
# and /dev are fresh tmpfs, and the system's rule directories are empty, so
# `udevadm test` reads only our rules file and writes nothing outside.
udev_sandbox='
set -e
rules=$1; shift
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/udev/rules.d /run/.empty /run/.dev
cp "$rules" /run/udev/rules.d/
for d in /usr/lib/udev/rules.d /lib/udev/rules.d /etc/udev/rules.d /usr/local/lib/udev/rules.d; do
	if [ -d "$d" ]; then mount --bind /run/.empty "$d"; fi
done
mount -t tmpfs -o mode=755 tmpfs /run/.dev
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9; do
	IFS=: read -r name major minor <<< "$n"
	mknod -m 666 "/run/.dev/$name" c "$major" "$minor"
done
mkdir /run/.dev/pts
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /run/.dev/pts
ln -s pts/ptmx /run/.dev/ptmx
mount --move /run/.dev /dev
rc=0
"$@" || rc=$?
# The database udev wrote for the device (S: links, L: link priority, G: tags).
for f in /run/udev/data/*; do
	[ -f "$f" ] && sed "s|^|db: |" "$f" >&2
done
exit "$rc"
'

require_udevadm() {
	require_root "udevadm test in a private mount namespace"
	local p
	for p in udevadm umockdev-run unshare; do
		command -v "$p" >/dev/null || skip "$p not installed (scripts/deps.sh)"
	done
	[ -f "$RULES" ] || fail "$RULES not built"
}

# vmbus_record CLASS INSTANCE DRIVER [uio]: an umockdev-record description of a
# VMBus device (DRIVER "" = unbound), with its uio child if asked.
vmbus_record() {
	local path="$VMBUS_PARENT/$2"
	if [ "${4:-}" = uio ]; then
		printf 'P: %s/uio/uio0\nN: uio0\nE: DEVNAME=/dev/uio0\nE: MAJOR=243\nE: MINOR=0\n' "$path"
		printf 'E: SUBSYSTEM=uio\nA: name=%s\nA: dev=243:0\n\n' "$2"
	fi
	printf 'P: %s\n' "$path"
	if [ -n "$3" ]; then
		printf 'E: DRIVER=%s\nL: driver=../../../../../../bus/vmbus/drivers/%s\n' "$3" "$3"
	fi
	printf 'E: SUBSYSTEM=vmbus\nA: class_id={%s}\nA: device_id={%s}\n\n' "$1" "$2"
	printf 'P: %s\nE: SUBSYSTEM=acpi\n\n' "$VMBUS_PARENT"
}

# misc_record NAME: hv_utils' character device NAME (hv_kvp ...).
misc_record() {
	printf 'P: /devices/virtual/misc/vmbus!%s\nN: vmbus/%s\nE: DEVNAME=/dev/vmbus/%s\n' "$1" "$1" "$1"
	printf 'E: MAJOR=10\nE: MINOR=123\nE: SUBSYSTEM=misc\nA: dev=10:123\n\n'
}

# udev_test RECORD-FILE ACTION SYSPATH: `udevadm test` of our rules only; sets
# $output (the properties and run: lines it prints on stdout).
udev_test() {
	status=0
	output=$(unshare --mount --propagation private bash -c "$udev_sandbox" sandbox "$RULES" \
		umockdev-run -d "$1" -- udevadm test --action="$2" "/sys$3" 2> "$SCRATCH/udevadm.err") ||
		status=$?
	mapfile -t lines <<< "$output"
	if [ "$status" -ne 0 ]; then
		cat "$SCRATCH/udevadm.err" >&2
		fail "udevadm test exited $status"
	fi
	# The rule file really was read, and only it.
	grep -q "^Reading rules file: /run/udev/rules.d/70-hv-daemons.rules$" "$SCRATCH/udevadm.err" ||
		fail "udevadm test did not read our rules file"
	[ "$(grep -c '^Reading rules file:' "$SCRATCH/udevadm.err")" -eq 1 ] ||
		fail "udevadm test read other rules files"
}

# The activation a uio or misc device must get for service SVC.
assert_named() {
	assert_line "DEVLINKS=/dev/vmbus/hv-$1"
	assert_line --regexp '^TAGS=(.*:)?systemd:'
	assert_line "SYSTEMD_WANTS=hv-$1d.service"
	refute_line --partial 'run:'
}

assert_untouched() {
	refute_line --partial DEVLINKS=
	refute_line --partial SYSTEMD_WANTS=
	refute_line --regexp '^TAGS=.*systemd'
	refute_line --partial 'run:'
}

# The path RUN names is where `make install` puts the helper.
@test "udev: the rule runs the installed hv-bind-uio" {
	local dest="$SCRATCH/dest" helper
	helper=$(sed -n 's/^RUN+="\([^ ]*\) \$kernel"$/\1/p' "$RULES")
	[ -n "$helper" ] || fail "no RUN+=\"... \$kernel\" in $RULES"
	case $helper in /*/hv-daemons/hv-bind-uio) ;; *) fail "RUN names '$helper'" ;; esac
	make -s -C "$top_builddir" DESTDIR="$dest" install-udevrulesDATA install-hvdaemonslibexecSCRIPTS >&2
	[ -x "$dest$helper" ] || fail "$dest$helper not installed"
	cmp "$dest$helper" "$BIND_UIO"
	# The rules file, byte for byte as tested below, in a udev rules directory.
	run find "$dest" -name 70-hv-daemons.rules
	assert_output --regexp '^/.*/udev/rules\.d/70-hv-daemons\.rules$'
	cmp "$output" "$RULES"
}

@test "udev: adding a fcopy, KVP or VSS VMBus device runs hv-bind-uio with its instance" {
	require_udevadm
	local svc class inst
	for svc in FCOPY KVP VSS; do
		class=${svc}_CLASS inst=${svc}_INST
		vmbus_record "${!class}" "${!inst}" "" > "$SCRATCH/dev.umockdev"
		udev_test "$SCRATCH/dev.umockdev" add "$VMBUS_PARENT/${!inst}"
		assert_line --regexp "^run: '/[^ ]*/hv-daemons/hv-bind-uio ${!inst}'\$"
		[ "$(grep -c '^run:' <<< "$output")" -eq 1 ] || fail "more than one run: line"
		refute_line --partial SYSTEMD_WANTS=
		# `udevadm trigger` (a "change") on a running guest does the same.
		udev_test "$SCRATCH/dev.umockdev" change "$VMBUS_PARENT/${!inst}"
		assert_line --regexp "^run: '/[^ ]*/hv-daemons/hv-bind-uio ${!inst}'\$"
	done
}

@test "udev: upper-case class ids match too" {
	require_udevadm
	local upper
	upper=$(tr 'a-f' 'A-F' <<< "$KVP_CLASS")
	vmbus_record "$upper" "$KVP_INST" "" > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" add "$VMBUS_PARENT/$KVP_INST"
	assert_line --regexp "^run: '.*/hv-bind-uio $KVP_INST'\$"
}

# hv_utils holds KVP: the rule runs the helper, and the very command line udev
# would run takes the device from hv_utils (fake sysfs, see below).
@test "udev: a KVP device held by hv_utils: the command the rule runs rebinds it" {
	require_udevadm
	local cmd
	vmbus_record "$KVP_CLASS" "$KVP_INST" hv_utils > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" add "$VMBUS_PARENT/$KVP_INST"
	cmd=$(sed -n "s/^run: '\(.*\)'\$/\1/p" <<< "$output")
	[[ $cmd == */hv-bind-uio\ * ]] || fail "run: line '$cmd'"
	fake_sysfs "$KVP_CLASS" "$KVP_INST" hv_utils
	# shellcheck disable=SC2086 # the run: line is split as udev splits it
	set -- ${cmd#*/hv-bind-uio }
	HV_KERNEL_RELEASE=6.12.0 HV_SYSFS_ROOT="$SYS" run "$BIND_UIO" "$@"
	assert_success
	assert_equal "$(kernel_log)" "unbind hv_utils $KVP_INST
probe $KVP_INST -> uio_hv_generic"
	assert_equal "$(driver_of "$KVP_INST")" uio_hv_generic
}

@test "udev: a device already bound to uio_hv_generic is left alone" {
	require_udevadm
	local action
	vmbus_record "$FCOPY_CLASS" "$FCOPY_INST" uio_hv_generic > "$SCRATCH/dev.umockdev"
	for action in add change; do
		udev_test "$SCRATCH/dev.umockdev" "$action" "$VMBUS_PARENT/$FCOPY_INST"
		assert_line "DRIVER=uio_hv_generic"
		assert_untouched
	done
}

@test "udev: VMBus devices of other classes are left alone" {
	require_udevadm
	vmbus_record "$HB_CLASS" "$HB_INST" hv_utils > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" add "$VMBUS_PARENT/$HB_INST"
	assert_untouched
	# A NIC given to uio_hv_generic (DPDK) gets no name and starts nothing.
	vmbus_record "$NIC_CLASS" "$NIC_INST" uio_hv_generic uio > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" add "$VMBUS_PARENT/$NIC_INST/uio/uio0"
	assert_line "DEVNAME=/dev/uio0"
	assert_untouched
}

@test "udev: the uio device of fcopy, KVP and VSS gets its name, tag and service" {
	require_udevadm
	local svc class inst
	for svc in FCOPY KVP VSS; do
		class=${svc}_CLASS inst=${svc}_INST
		vmbus_record "${!class}" "${!inst}" uio_hv_generic uio > "$SCRATCH/dev.umockdev"
		udev_test "$SCRATCH/dev.umockdev" add "$VMBUS_PARENT/${!inst}/uio/uio0"
		assert_line "DEVNAME=/dev/uio0"
		assert_named "${svc,,}"
		# A "change" keeps them (udev drops links a change event does not re-add).
		udev_test "$SCRATCH/dev.umockdev" change "$VMBUS_PARENT/${!inst}/uio/uio0"
		assert_named "${svc,,}"
	done
}

@test "udev: hv_utils' character devices get the same names, tag and services" {
	require_udevadm
	local svc
	for svc in fcopy kvp vss; do
		misc_record "hv_$svc" > "$SCRATCH/dev.umockdev"
		udev_test "$SCRATCH/dev.umockdev" add "/devices/virtual/misc/vmbus!hv_$svc"
		assert_line "DEVNAME=/dev/vmbus/hv_$svc"
		assert_named "$svc"
	done
	misc_record hv_other > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" add "/devices/virtual/misc/vmbus!hv_other"
	assert_untouched
}

@test "udev: the uio device owns the name when both exist" {
	require_udevadm
	vmbus_record "$VSS_CLASS" "$VSS_INST" uio_hv_generic uio > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" add "$VMBUS_PARENT/$VSS_INST/uio/uio0"
	grep -qx "db: S:vmbus/hv-vss" "$SCRATCH/udevadm.err" || fail "no link in the udev database"
	grep -qx "db: L:10" "$SCRATCH/udevadm.err" || fail "no raised link priority for the uio device"
	misc_record hv_vss > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" add "/devices/virtual/misc/vmbus!hv_vss"
	grep -qx "db: S:vmbus/hv-vss" "$SCRATCH/udevadm.err" || fail "no link in the udev database"
	if grep -q "^db: L:" "$SCRATCH/udevadm.err"; then
		fail "the character device has a raised link priority"
	fi
}

@test "udev: remove runs nothing and names nothing" {
	require_udevadm
	vmbus_record "$KVP_CLASS" "$KVP_INST" hv_utils uio > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" remove "$VMBUS_PARENT/$KVP_INST"
	assert_line ACTION=remove
	assert_untouched
	udev_test "$SCRATCH/dev.umockdev" remove "$VMBUS_PARENT/$KVP_INST/uio/uio0"
	assert_line ACTION=remove
	assert_untouched
	misc_record hv_kvp > "$SCRATCH/dev.umockdev"
	udev_test "$SCRATCH/dev.umockdev" remove "/devices/virtual/misc/vmbus!hv_kvp"
	assert_untouched
}

# --- hv-bind-uio on a fake sysfs --------------------------------------------

# fake_sysfs CLASS INSTANCE DRIVER [no-uio]: $SYS with one VMBus device (DRIVER ""
# = unbound), hv_utils loaded, uio_hv_generic loaded unless "no-uio". The
# kernel's unbind and drivers_probe files are FIFOs read by a stand-in kernel
# that logs each request to $SYS/.klog and binds as the kernel would: to the
# driver_override if set, else to hv_utils for KVP and VSS; a driver named in
# $SYS/.refuse refuses every probe.
fake_sysfs() {
	SYS="$SCRATCH/sys"
	local dev="$SYS/bus/vmbus/devices/$2"
	mkdir -p "$dev" "$SYS/bus/vmbus/drivers/hv_utils"
	[ "${4:-}" = no-uio ] || mkdir -p "$SYS/bus/vmbus/drivers/uio_hv_generic"
	printf '{%s}\n' "$1" > "$dev/class_id"
	: > "$dev/driver_override"
	[ -n "$3" ] && ln -s "../../drivers/$3" "$dev/driver"
	: > "$SYS/.klog" && : > "$SYS/.refuse"
	mkfifo "$SYS/bus/vmbus/drivers/hv_utils/unbind" "$SYS/bus/vmbus/drivers_probe"
	(setsid bash -c 'echo $$ >> "$1"; exec 3<> "$2/bus/vmbus/drivers/hv_utils/unbind"
		while read -r i <&3; do
			d=$2/bus/vmbus/devices/$i
			if [ "$(readlink "$d/driver")" = ../../drivers/hv_utils ]; then
				echo "unbind hv_utils $i" >> "$2/.klog"; rm "$d/driver"
			else
				echo "unbind hv_utils $i: ENODEV" >> "$2/.klog"
			fi
		done' kernel-unbind "$HV_PGIDS" "$SYS" &)
	(setsid bash -c 'echo $$ >> "$1"; exec 3<> "$2/bus/vmbus/drivers_probe"
		while read -r i <&3; do
			d=$2/bus/vmbus/devices/$i
			if [ -L "$d/driver" ]; then
				echo "probe $i: already bound" >> "$2/.klog"; continue
			fi
			drv=$(cat "$d/driver_override")
			if [ -z "$drv" ]; then
				case $(cat "$d/class_id") in
				"{'"$KVP_CLASS"'}"|"{'"$VSS_CLASS"'}") drv=hv_utils ;;
				esac
			fi
			if [ -n "$drv" ] && [ -d "$2/bus/vmbus/drivers/$drv" ] &&
			   ! grep -qx "$drv" "$2/.refuse"; then
				ln -s "../../drivers/$drv" "$d/driver"
				echo "probe $i -> $drv" >> "$2/.klog"
			else
				echo "probe $i -> none" >> "$2/.klog"
			fi
		done' kernel-probe "$HV_PGIDS" "$SYS" &)
}

kernel_log() {
	cat "$SYS/.klog"
}

driver_of() {
	local l
	l=$(readlink "$SYS/bus/vmbus/devices/$1/driver") || return 0
	echo "${l##*/}"
}

override_of() {
	cat "$SYS/bus/vmbus/devices/$1/driver_override"
}

# bind_uio RELEASE ARGS...: the helper on kernel RELEASE and $SYS.
bind_uio() {
	local rel=$1
	shift
	HV_KERNEL_RELEASE=$rel HV_MODPROBE=false run "$BIND_UIO" --sysfs-root "$SYS" "$@"
}

@test "hv-bind-uio: before 6.10 nothing is rebound" {
	local rel svc class inst
	for rel in 6.1.0-25-amd64 6.9.12 5.15.0-1051-azure 4.18.0-553.el8_10.x86_64; do
		for svc in FCOPY KVP VSS; do
			class=${svc}_CLASS inst=${svc}_INST
			hv_teardown; hv_setup
			rm -rf "$SCRATCH/sys"
			fake_sysfs "${!class}" "${!inst}" hv_utils
			bind_uio "$rel" "${!inst}"
			assert_success
			assert_output --partial "kernel $rel is older than 6.10"
			assert_equal "$(kernel_log)" ""
			assert_equal "$(override_of "${!inst}")" ""
			assert_equal "$(driver_of "${!inst}")" hv_utils
		done
	done
}

@test "hv-bind-uio: an unbound fcopy device on 6.10+ gets driver_override and a probe" {
	local rel
	for rel in 6.10.0 6.18.44-fc-v445 7.0.1; do
		hv_teardown; hv_setup
		rm -rf "$SCRATCH/sys"
		fake_sysfs "$FCOPY_CLASS" "$FCOPY_INST" ""
		bind_uio "$rel" "$FCOPY_INST"
		assert_success
		assert_output --partial "bound to uio_hv_generic"
		assert_equal "$(override_of "$FCOPY_INST")" uio_hv_generic
		assert_equal "$(kernel_log)" "probe $FCOPY_INST -> uio_hv_generic"
		assert_equal "$(driver_of "$FCOPY_INST")" uio_hv_generic
	done
}

@test "hv-bind-uio: KVP and VSS held by hv_utils are unbound from it, then bound" {
	local svc class inst
	for svc in KVP VSS; do
		class=${svc}_CLASS inst=${svc}_INST
		hv_teardown; hv_setup
		rm -rf "$SCRATCH/sys"
		fake_sysfs "${!class}" "${!inst}" hv_utils
		HV_SYSFS_ROOT=$SYS HV_KERNEL_RELEASE=6.10.3 HV_MODPROBE=false run "$BIND_UIO" "${!inst}"
		assert_success
		assert_output --partial "taken from hv_utils"
		assert_equal "$(kernel_log)" "unbind hv_utils ${!inst}
probe ${!inst} -> uio_hv_generic"
		assert_equal "$(override_of "${!inst}")" uio_hv_generic
		assert_equal "$(driver_of "${!inst}")" uio_hv_generic
	done
}

@test "hv-bind-uio: a device already bound to uio_hv_generic: nothing written, twice" {
	fake_sysfs "$KVP_CLASS" "$KVP_INST" hv_utils
	bind_uio 6.12.1 "$KVP_INST"
	assert_success
	: > "$SYS/.klog"
	touch -d '2000-01-01' "$SYS/bus/vmbus/devices/$KVP_INST/driver_override"
	bind_uio 6.12.1 "$KVP_INST"
	assert_success
	assert_output ""
	assert_equal "$(kernel_log)" ""
	assert_equal "$(find "$SYS" -newer "$SYS/.refuse" -type f ! -name '.*')" ""
	assert_equal "$(driver_of "$KVP_INST")" uio_hv_generic
}

@test "hv-bind-uio: devices of other classes are never touched" {
	local drv
	for drv in hv_utils ""; do
		hv_teardown; hv_setup
		rm -rf "$SCRATCH/sys"
		fake_sysfs "$HB_CLASS" "$HB_INST" "$drv"
		bind_uio 6.12.1 "$HB_INST"
		assert_success
		assert_equal "$(kernel_log)" ""
		assert_equal "$(override_of "$HB_INST")" ""
		assert_equal "$(driver_of "$HB_INST")" "$drv"
	done
}

@test "hv-bind-uio: class ids in upper case are recognised" {
	fake_sysfs "$(tr 'a-f' 'A-F' <<< "$VSS_CLASS")" "$VSS_INST" ""
	bind_uio 6.10.0 "$VSS_INST"
	assert_success
	assert_equal "$(driver_of "$VSS_INST")" uio_hv_generic
}

@test "hv-bind-uio: loads uio_hv_generic when it is missing" {
	fake_sysfs "$FCOPY_CLASS" "$FCOPY_INST" "" no-uio
	cat > "$SCRATCH/modprobe" <<-EOF
	#!/bin/sh
	echo "modprobe \$*" >> "$SYS/.klog"
	mkdir "$SYS/bus/vmbus/drivers/\$1"
	EOF
	chmod +x "$SCRATCH/modprobe"
	HV_KERNEL_RELEASE=6.11.0 HV_MODPROBE="$SCRATCH/modprobe" run "$BIND_UIO" --sysfs-root "$SYS" "$FCOPY_INST"
	assert_success
	assert_equal "$(kernel_log)" "modprobe uio_hv_generic
probe $FCOPY_INST -> uio_hv_generic"
	assert_equal "$(driver_of "$FCOPY_INST")" uio_hv_generic
}

@test "hv-bind-uio: fails without touching the device when uio_hv_generic cannot load" {
	fake_sysfs "$KVP_CLASS" "$KVP_INST" hv_utils no-uio
	bind_uio 6.11.0 "$KVP_INST"
	assert_failure 1
	assert_output --partial "cannot load uio_hv_generic"
	assert_equal "$(kernel_log)" ""
	assert_equal "$(override_of "$KVP_INST")" ""
	assert_equal "$(driver_of "$KVP_INST")" hv_utils
}

@test "hv-bind-uio: when uio_hv_generic refuses, hv_utils gets the device back" {
	fake_sysfs "$KVP_CLASS" "$KVP_INST" hv_utils
	echo uio_hv_generic > "$SYS/.refuse"
	bind_uio 6.11.0 "$KVP_INST"
	assert_failure 1
	assert_output --partial "uio_hv_generic did not take the device"
	assert_equal "$(kernel_log)" "unbind hv_utils $KVP_INST
probe $KVP_INST -> none
probe $KVP_INST -> hv_utils"
	assert_equal "$(override_of "$KVP_INST")" ""
	assert_equal "$(driver_of "$KVP_INST")" hv_utils
}

@test "hv-bind-uio: rejects what is not an instance GUID" {
	fake_sysfs "$KVP_CLASS" "$KVP_INST" hv_utils
	local bad
	for bad in "" "../../../devices/$KVP_INST" "$KVP_INST/x" "${KVP_INST}0" "-x"; do
		bind_uio 6.12.0 "$bad"
		assert_failure 2
	done
	bind_uio 6.12.0 "$KVP_INST" extra
	assert_failure 2
	assert_equal "$(kernel_log)" ""
	assert_equal "$(driver_of "$KVP_INST")" hv_utils
}

@test "hv-bind-uio: an unreadable kernel release leaves the device alone" {
	fake_sysfs "$VSS_CLASS" "$VSS_INST" hv_utils
	bind_uio "bogus" "$VSS_INST"
	assert_success
	assert_output --partial "cannot read kernel release"
	assert_equal "$(kernel_log)" ""
	assert_equal "$(driver_of "$VSS_INST")" hv_utils
}
