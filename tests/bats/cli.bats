#!/usr/bin/env bats
# Command-line behaviour users of a distribution package expect.

load helpers

@test "hv-hostsim --help and --version" {
	run "$HOSTSIM" --help
	assert_success
	assert_output --partial "Usage: hv-hostsim [OPTIONS] COMMAND [ARGS] -- GUEST [GUEST-ARGS...]"
	assert_output --partial "--channel fd:3,4,5"
	run "$HOSTSIM" --version
	assert_success
	assert_output --regexp '^hv-hostsim [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "hv-hostsim rejects an unknown option with exit 2" {
	run "$HOSTSIM" --frobnicate negotiate -- true
	assert_failure 2
}

@test "guest endpoint: --help, --version, and a clear error for a bad --channel" {
	run "$TESTGUEST" --help
	assert_success
	assert_output --partial "--channel SPEC"
	run "$TESTGUEST" --version
	assert_success
	run "$TESTGUEST" --channel fd:1,2
	assert_failure
	assert_output --partial "Invalid --channel 'fd:1,2'"
	run "$TESTGUEST" --channel bogus
	assert_failure
}

@test "guest endpoint: fds that are not a ring pair are refused" {
	# fd 3 is an empty file: no rings in it.
	run "$TESTGUEST" --channel fd:3,4,5 3<"$BATS_TEST_FILENAME" 4</dev/null 5</dev/null
	assert_failure
	assert_output --partial "Invalid --channel 'fd:3,4,5'"
}

@test "guest endpoint: without --channel and no uio device, it says what to bind" {
	run "$TESTGUEST" --sysfs-root "$SCRATCH" --dev-root "$SCRATCH"
	assert_failure
	assert_output --partial "No uio device bound to uio_hv_generic for class 57164f39-9115-4e78-ab55-382f3bd5422d"
}
