#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Log compiler of the .cbats tests: each names a suite in tests/bats, which runs
# again with hv-hostsim playing the kernel's hv_utils character device
# (HV_HOSTSIM_TRANSPORT=chardev), so that one suite covers both transports.
set -eu
cbats=$1
suite=$(cat "$cbats")
case $suite in
*/* | '' ) echo "run.sh: bad suite name in $cbats" >&2; exit 99 ;;
esac
HV_HOSTSIM_TRANSPORT=chardev
export HV_HOSTSIM_TRANSPORT
exec ${BATS:-bats} --tap "$(dirname "$cbats")/../$suite"
