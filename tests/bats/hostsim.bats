#!/usr/bin/env bats
# hv-hostsim driving a libvmbus guest endpoint (hv-testguest) over real VMBus rings.

load helpers

@test "negotiation picks the guest's preferred version among those the host offers" {
	run hostsim negotiate -- "$TESTGUEST"
	assert_success
	assert_output --partial "host: offering framework 1.0,3.0, heartbeat 1.0,3.0"
	assert_output --partial "guest: chose framework 3.0, heartbeat 3.0"
	assert_output --partial "host: guest stopped cleanly"
}

@test "negotiation falls back to an older version when the host offers only that" {
	run hostsim --framework-versions 1.0 --service-versions 1.0 negotiate -- "$TESTGUEST"
	assert_success
	assert_output --partial "guest: chose framework 1.0, heartbeat 1.0"
}

@test "no common version: the guest refuses and hv-hostsim exits 1" {
	run hostsim --service-versions 9.9,8.0 negotiate -- "$TESTGUEST"
	assert_failure 1
	assert_output --partial "guest: refused every version offered (status HV_E_FAIL)"
}

@test "the guest's own version list is honoured in its preference order" {
	run hostsim negotiate -- "$TESTGUEST" --service-versions 1.0,3.0
	assert_success
	assert_output --partial "guest: chose framework 3.0, heartbeat 1.0"
}

@test "heartbeat: every request is answered with its sequence number plus one" {
	run hostsim heartbeat 5 -- "$TESTGUEST"
	assert_success
	for i in 1 2 3 4 5; do
		assert_output --partial "heartbeat $i: sent ${i}000, guest answered ${i}001, HV_S_OK"
	done
}

@test "-v prints each packet decoded, requests and responses with the same transaction id" {
	run hostsim -v heartbeat 1 -- "$TESTGUEST"
	assert_success
	assert_line "host -> guest  packet type 6, trans_id 1, 52 bytes"
	assert_line "guest -> host  packet type 6, trans_id 1, 56 bytes"
	assert_line --partial "IC NEGOTIATE framework 1.0 message 1.0 size 24 txid 1 flags TRANSACTION|REQUEST status HV_S_OK"
	assert_line --partial "IC NEGOTIATE framework 1.0 message 1.0 size 16 txid 1 flags TRANSACTION|RESPONSE status HV_S_OK"
	assert_line "    framework versions (1): 3.0"
	assert_line "    sequence number 1001"
}

@test "ring sizes of every kernel generation work: 16 KiB, 20 KiB, 68 KiB, 2 MiB" {
	for size in 16384 20480 69632 2097152; do
		run hostsim -r "$size" heartbeat 2 -- "$TESTGUEST"
		assert_success
		assert_output --partial "on a $size-byte ring pair"
		assert_output --partial "heartbeat 2: sent 2000, guest answered 2001"
	done
}

@test "a guest that never answers: exit 3 after the timeout" {
	run hostsim -t 1 negotiate -- sh -c 'exec sleep 30' sh
	assert_failure 3
	assert_output --partial "no answer from the guest within 1 s"
}

@test "a guest that exits: exit 3, reported at once" {
	run hostsim -t 30 negotiate -- sh -c 'exit 4' sh
	assert_failure 3
	assert_output --partial "the guest exited before answering"
	assert_output --partial "host: guest exited with status 4"
}

@test "hostile: a message shorter than the IC headers is dropped; the guest still negotiates" {
	run hostsim hostile short-message -- "$TESTGUEST"
	assert_success
	assert_output --partial "shorter than the IC headers, dropped"
	assert_output --partial "guest: chose framework 3.0, heartbeat 3.0"
}

@test "hostile: version counts of 65535 are refused without overreading; negotiation then works" {
	run hostsim hostile negotiate-overflow -- "$TESTGUEST"
	assert_success
	assert_output --partial "guest: refused it"
	assert_output --partial "guest: chose framework 3.0, heartbeat 3.0"
}

@test "hostile: a NEGOTIATE with no room for versions gets a refusal, not silence" {
	run hostsim -t 5 hostile short-negotiate -- "$TESTGUEST"
	assert_success
	assert_output --partial "host: NEGOTIATE of 36 bytes, without room for any version"
	assert_output --partial "guest: refused it"
	assert_output --partial "guest: chose framework 3.0, heartbeat 3.0"
}

@test "hostile: a descriptor larger than the ring stops the guest with an error, no crash" {
	run hostsim hostile bad-descriptor -- "$TESTGUEST"
	assert_success
	assert_output --partial "the host broke the ring protocol, exiting"
	assert_output --partial "guest: stopped with exit status 1 (as it should)"
}

@test "usage errors exit 2 without starting a guest" {
	run "$HOSTSIM" negotiate
	assert_failure 2
	run "$HOSTSIM" frobnicate -- "$TESTGUEST"
	assert_failure 2
	assert_output --partial "unknown command 'frobnicate'"
	run "$HOSTSIM" hostile nonsense -- "$TESTGUEST"
	assert_failure 2
	run "$HOSTSIM" heartbeat 0 -- "$TESTGUEST"
	assert_failure 2
	refute_output --partial "host: started"
	assert_output --partial "invalid COUNT '0'"
	run "$HOSTSIM" -r 12345 negotiate -- "$TESTGUEST"
	assert_failure 2
	assert_output --partial "--ring-size must be a multiple of 4096"
	run "$HOSTSIM" --service-versions 3 negotiate -- "$TESTGUEST"
	assert_failure 2
	run "$HOSTSIM" -s nosuch negotiate -- "$TESTGUEST"
	assert_failure 2
}
