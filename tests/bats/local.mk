# bats end-to-end suites (bats-core + bats-support + bats-assert), one TAP case per test.
bats_suites = \
	%reldir%/cli.bats \
	%reldir%/fcopy.bats \
	%reldir%/hostsim.bats
TESTS += $(bats_suites)
EXTRA_DIST += $(bats_suites) %reldir%/helpers.bash
