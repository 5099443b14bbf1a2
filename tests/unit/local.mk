# tests/unit: cmocka tests of the pure libvmbus layers (ring, IC framing, UTF-16) and of
# fd channels over a memfd. Each program prints TAP (CMOCKA_MESSAGE_OUTPUT=TAP).
if HAVE_CMOCKA
unit_tests = \
	%reldir%/test-ring \
	%reldir%/test-ic \
	%reldir%/test-utf16 \
	%reldir%/test-channel
check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

%canon_reldir%_test_ring_SOURCES = %reldir%/test-ring.c %reldir%/test-util.h
%canon_reldir%_test_ring_CFLAGS = $(unit_cflags)
%canon_reldir%_test_ring_LDADD = $(unit_ldadd)

%canon_reldir%_test_ic_SOURCES = %reldir%/test-ic.c %reldir%/test-util.h
%canon_reldir%_test_ic_CFLAGS = $(unit_cflags)
%canon_reldir%_test_ic_LDADD = $(unit_ldadd)

%canon_reldir%_test_utf16_SOURCES = %reldir%/test-utf16.c %reldir%/test-util.h
%canon_reldir%_test_utf16_CFLAGS = $(unit_cflags)
%canon_reldir%_test_utf16_LDADD = $(unit_ldadd)

# --wrap lets a test play the peer between drain's last empty check and its unmask.
%canon_reldir%_test_channel_SOURCES = %reldir%/test-channel.c %reldir%/test-util.h
%canon_reldir%_test_channel_CFLAGS = $(unit_cflags) -pthread
%canon_reldir%_test_channel_LDFLAGS = $(AM_LDFLAGS) -pthread -Wl,--wrap=vmbus_ring_unmask
%canon_reldir%_test_channel_LDADD = $(unit_ldadd)
endif
