#!/bin/sh
# The demonstration: build hv-daemons, then watch a simulated Hyper-V host
# (hv-hostsim) drive a guest endpoint built on libvmbus over real VMBus ring
# buffers: version negotiation, then heartbeat packets, each packet decoded.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/_build/demo"

"$top/scripts/deps.sh"
cd "$top"
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" -q
make -j"$(nproc)" -s >/dev/null

export LD_LIBRARY_PATH="$build/libvmbus/.libs"
cat <<'EOT'

=== hv-daemons demonstration ==================================================
hv-hostsim plays the Hyper-V host. It creates a VMBus ring pair in shared
memory (the layout uio_hv_generic gives a guest) and two eventfd doorbells,
starts the guest endpoint with --channel fd:3,4,5, negotiates the
Integration Component versions, then exchanges heartbeat packets. Lines
starting "host" and "guest" are what each side sent, decoded; lines
starting "hv-testguest:" are the guest's own log.
===============================================================================

EOT
"$build/tests/hostsim/.libs/hv-hostsim" -v heartbeat 3 -- "$build/tests/guest/.libs/hv-testguest" 2>&1
