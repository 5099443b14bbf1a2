# bats end-to-end suites (bats-core + bats-support + bats-assert), one TAP case per test.
bats_suites = \
	%reldir%/cli.bats \
	%reldir%/fcopy.bats \
	%reldir%/hostsim.bats \
	%reldir%/kvp-pool.bats \
	%reldir%/kvp.bats \
	%reldir%/kvp-ip.bats \
	%reldir%/vss.bats
TESTS += $(bats_suites)
EXTRA_DIST += $(bats_suites) %reldir%/helpers.bash
# Stand-ins for network tools that record their arguments (kvp-ip.bats).
EXTRA_DIST += %reldir%/fake-bin/nmcli %reldir%/fake-bin/networkctl %reldir%/fake-bin/ifup \
	%reldir%/fake-bin/ifdown
