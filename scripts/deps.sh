#!/bin/sh
# Installs what hv-daemons needs to build and test, from Debian's packages.
# Usage: scripts/deps.sh [--check] [--with-cross]
#   --check       only report what is missing
#   --with-cross  also what the aarch64 run of the unit tests needs: Debian's
#                 aarch64 cross compiler, qemu-user, and the arm64 (multiarch)
#                 -dev packages; adds the arm64 architecture to dpkg
set -eu
check=no cross=no
for a in "$@"; do
	case $a in
	--check) check=yes ;;
	--with-cross) cross=yes ;;
	*) echo "deps: unknown option $a" >&2; exit 2 ;;
	esac
done

PACKAGES="
autoconf automake libtool make gcc libc6-dev pkg-config xz-utils
libsystemd-dev libudev-dev uthash-dev
libcmocka-dev bats bats-support bats-assert umockdev libumockdev-dev
clang libclang-rt-14-dev
scdoc mandoc util-linux procps xfsprogs btrfs-progs
debhelper lintian rpm fakeroot
cpio
udev
dpkg-dev systemd
"
CROSS_PACKAGES="
gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
libcmocka-dev:arm64 libudev-dev:arm64 libsystemd-dev:arm64
"
[ "$cross" = yes ] && PACKAGES="$PACKAGES $CROSS_PACKAGES"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: all build and test dependencies are installed"
	exit 0
fi
if [ "$check" = yes ]; then
	echo "deps: missing:$missing"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
if [ "$cross" = yes ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
	dpkg --add-architecture arm64
fi
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
