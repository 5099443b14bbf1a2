# bats end-to-end suites (bats-core + bats-support + bats-assert), one TAP case per test.
bats_suites = \
	%reldir%/cli.bats \
	%reldir%/fcopy.bats \
	%reldir%/hostsim.bats \
	%reldir%/kvp-pool.bats \
	%reldir%/kvp.bats \
	%reldir%/kvp-ip.bats \
	%reldir%/vss.bats \
	%reldir%/udev.bats
TESTS += $(bats_suites)
EXTRA_DIST += $(bats_suites) %reldir%/helpers.bash
# Stand-ins for network tools that record their arguments (kvp-ip.bats).
EXTRA_DIST += %reldir%/fake-bin/nmcli %reldir%/fake-bin/networkctl %reldir%/fake-bin/ifup \
	%reldir%/fake-bin/ifdown
# The daemon suites again over hv_utils' character device (hv-hostsim --transport
# chardev): each .cbats names its suite; chardev/run.sh runs it with
# HV_HOSTSIM_TRANSPORT=chardev. kvp-ip.bats stays on uio (see its header).
TEST_EXTENSIONS += .cbats
CBATS_LOG_DRIVER = $(LOG_DRIVER)
CBATS_LOG_COMPILER = env BATS='$(BATS)' $(SHELL) $(top_srcdir)/%reldir%/chardev/run.sh
bats_chardev_suites = \
	%reldir%/chardev/fcopy.cbats \
	%reldir%/chardev/kvp-pool.cbats \
	%reldir%/chardev/kvp.cbats \
	%reldir%/chardev/kvp-ip.cbats \
	%reldir%/chardev/vss.cbats
TESTS += $(bats_chardev_suites)
EXTRA_DIST += $(bats_chardev_suites) %reldir%/chardev/run.sh
