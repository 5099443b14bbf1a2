#!/bin/sh
# Installs what hv-daemons needs to build and test, from Debian's packages.
# Usage: scripts/deps.sh [--check]   (--check: only report what is missing)
set -eu

PACKAGES="
autoconf automake libtool make gcc libc6-dev pkg-config xz-utils
libsystemd-dev libudev-dev uthash-dev
libcmocka-dev bats bats-support bats-assert umockdev libumockdev-dev
clang libclang-rt-14-dev
scdoc mandoc util-linux procps
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: all build and test dependencies are installed"
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
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
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
