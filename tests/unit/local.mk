# tests/unit: cmocka tests of the pure libvmbus layers (ring, IC framing, UTF-16), of
# fd channels over a memfd, and of hv-fcopyd's protocol logic. Each program prints TAP
# (CMOCKA_MESSAGE_OUTPUT=TAP).
if HAVE_CMOCKA
unit_tests = \
	%reldir%/test-ring \
	%reldir%/test-ic \
	%reldir%/test-utf16 \
	%reldir%/test-channel \
	%reldir%/test-fcopy \
	%reldir%/test-fcopy-sink \
	%reldir%/test-kvp-pool \
	%reldir%/test-kvp \
	%reldir%/test-kvp-ip
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

# --wrap lets a test play the peer between drain's last empty check and its unmask,
# and during drain's busy poll.
%canon_reldir%_test_channel_SOURCES = %reldir%/test-channel.c %reldir%/test-util.h
%canon_reldir%_test_channel_CFLAGS = $(unit_cflags) -pthread
%canon_reldir%_test_channel_LDFLAGS = $(AM_LDFLAGS) -pthread -Wl,--wrap=vmbus_ring_unmask \
	-Wl,--wrap=vmbus_ring_bytes_to_read
%canon_reldir%_test_channel_LDADD = $(unit_ldadd)

# hv-fcopyd's pure part; libdaemon-common.la brings libvmbus.la (not the internal copy).
# -no-install: a real binary (rpath to the built library), not a libtool wrapper
# script, so that the aarch64 suite can run it under qemu-user.
%canon_reldir%_test_fcopy_SOURCES = %reldir%/test-fcopy.c %reldir%/test-util.h
%canon_reldir%_test_fcopy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/fcopy
%canon_reldir%_test_fcopy_CFLAGS = $(unit_cflags)
%canon_reldir%_test_fcopy_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_test_fcopy_LDADD = daemons/libfcopy-proto.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS) $(CMOCKA_LIBS)

# hv-fcopyd's file sink in a scratch directory (I/O, so not among the aarch64 pure tests).
%canon_reldir%_test_fcopy_sink_SOURCES = %reldir%/test-fcopy-sink.c %reldir%/test-util.h \
	daemons/fcopy/fcopy-sink.c
%canon_reldir%_test_fcopy_sink_CPPFLAGS = $(%canon_reldir%_test_fcopy_CPPFLAGS)
%canon_reldir%_test_fcopy_sink_CFLAGS = $(unit_cflags) $(LIBSYSTEMD_CFLAGS)
%canon_reldir%_test_fcopy_sink_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_test_fcopy_sink_LDADD = $(%canon_reldir%_test_fcopy_LDADD)

# hv-kvpd's protocol logic over memory-only pools and a fake environment.
%canon_reldir%_test_kvp_SOURCES = %reldir%/test-kvp.c %reldir%/test-util.h
%canon_reldir%_test_kvp_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/kvp
%canon_reldir%_test_kvp_CFLAGS = $(unit_cflags)
%canon_reldir%_test_kvp_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_test_kvp_LDADD = daemons/libkvp.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS) $(CMOCKA_LIBS)

# hv-kvpd's pool store on files in a scratch directory (I/O, so not among the aarch64
# pure tests); test_disk_full mounts a tiny tmpfs and skips when not root.
%canon_reldir%_test_kvp_pool_SOURCES = %reldir%/test-kvp-pool.c %reldir%/test-util.h
%canon_reldir%_test_kvp_pool_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/kvp
%canon_reldir%_test_kvp_pool_CFLAGS = $(unit_cflags)
# --wrap injects failed writes and syncs, no inotify, coarse timestamps, and counts warnings.
%canon_reldir%_test_kvp_pool_LDFLAGS = $(AM_LDFLAGS) -no-install -Wl,--wrap=pwrite \
	-Wl,--wrap=fdatasync -Wl,--wrap=fstat -Wl,--wrap=stat -Wl,--wrap=inotify_init1 \
	-Wl,--wrap=log_internal
%canon_reldir%_test_kvp_pool_LDADD = daemons/libkvp.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS) $(CMOCKA_LIBS)
# hv-kvpd's GET_IP_INFO/SET_IP_INFO pure parts: list parsing, masks, matching,
# stack configuration readers and renderers (file texts through fmemopen).
%canon_reldir%_test_kvp_ip_SOURCES = %reldir%/test-kvp-ip.c %reldir%/test-util.h
%canon_reldir%_test_kvp_ip_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/kvp
%canon_reldir%_test_kvp_ip_CFLAGS = $(unit_cflags)
%canon_reldir%_test_kvp_ip_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_test_kvp_ip_LDADD = daemons/libkvp.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS) $(CMOCKA_LIBS)
endif

# hv-vssd's protocol logic (a fake freezer) and its freeze hooks (real scripts).
if HAVE_CMOCKA
vss_unit_tests = %reldir%/test-vss
check_PROGRAMS += $(vss_unit_tests)
TESTS += $(vss_unit_tests)
%canon_reldir%_test_vss_SOURCES = %reldir%/test-vss.c %reldir%/test-util.h
%canon_reldir%_test_vss_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/vss
%canon_reldir%_test_vss_CFLAGS = $(unit_cflags)
%canon_reldir%_test_vss_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_test_vss_LDADD = daemons/libvss.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS) $(CMOCKA_LIBS)
endif

# hv-vssd's freezer: mountinfo parsing, selection and order over fake mountinfo and
# sysfs trees, the marker, and (root only) real FIFREEZE/FITHAW on loop-mounted images.
if HAVE_CMOCKA
check_PROGRAMS += %reldir%/test-vss-freeze
TESTS += %reldir%/test-vss-freeze
%canon_reldir%_test_vss_freeze_SOURCES = %reldir%/test-vss-freeze.c %reldir%/test-util.h
%canon_reldir%_test_vss_freeze_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/vss
%canon_reldir%_test_vss_freeze_CFLAGS = $(unit_cflags)
%canon_reldir%_test_vss_freeze_LDFLAGS = $(AM_LDFLAGS) -no-install
%canon_reldir%_test_vss_freeze_LDADD = daemons/libvss.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS) $(CMOCKA_LIBS)
endif

# test-vss-freeze injects FITHAW failures and watches the marker at each FIFREEZE.
if HAVE_CMOCKA
%canon_reldir%_test_vss_freeze_LDFLAGS += -Wl,--wrap=ioctl
endif

# The freezer's guard thread: test-vss-freeze blocks FIFREEZE from the wrapped ioctl.
if HAVE_CMOCKA
%canon_reldir%_test_vss_freeze_CFLAGS += -pthread
%canon_reldir%_test_vss_freeze_LDFLAGS += -pthread
%canon_reldir%_test_vss_LDFLAGS += -pthread
endif

# The hv_utils character-device transport: each service's kernel codec, the registration
# messages, and chardev.c's read/answer/reopen logic over SOCK_SEQPACKET socketpairs.
if HAVE_CMOCKA
check_PROGRAMS += %reldir%/test-chardev
TESTS += %reldir%/test-chardev
%canon_reldir%_test_chardev_SOURCES = %reldir%/test-chardev.c %reldir%/test-chardev-uapi.c \
	%reldir%/test-chardev-uapi.h %reldir%/test-util.h
%canon_reldir%_test_chardev_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/kvp -I$(top_srcdir)/daemons/vss -I$(top_srcdir)/daemons/fcopy
%canon_reldir%_test_chardev_CFLAGS = $(unit_cflags) -pthread
%canon_reldir%_test_chardev_LDFLAGS = $(AM_LDFLAGS) -no-install -pthread
%canon_reldir%_test_chardev_LDADD = daemons/libkvp.la daemons/libvss.la daemons/libfcopy-proto.la \
	daemons/libdaemon-common.la libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS) $(CMOCKA_LIBS)
endif
