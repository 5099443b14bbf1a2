# tests/uio: the uio transport against a fake uio_hv_generic node.
#  test-uio       open/map/interrupt/signal/rescind over fixture sysfs trees; the node is
#                 faked by fake-uio.so (LD_PRELOAD, kmod testsuite style), which the test
#                 preloads by re-executing itself.
#  test-uio-find  discovery by class GUID through libudev, in an umockdev testbed (the test
#                 re-runs itself under umockdev-run; TAP skip only if umockdev-run is absent).
#  test-daemon-rescind  the real hv-fcopyd on a fake node (fake-uio.so preloaded into it),
#                 rescinded in the middle of a transfer: it must abort the transfer and
#                 exit 1. Runs the built daemon, so it comes after "all".
if HAVE_CMOCKA
check_LTLIBRARIES += %reldir%/fake-uio.la
%canon_reldir%_fake_uio_la_SOURCES = %reldir%/fake-uio.c %reldir%/preload.h
%canon_reldir%_fake_uio_la_CFLAGS = $(AM_CFLAGS) -pthread
%canon_reldir%_fake_uio_la_LDFLAGS = $(AM_LDFLAGS) -pthread -module -avoid-version -rpath /nowhere -shared
%canon_reldir%_fake_uio_la_LIBADD = -ldl

uio_tests = %reldir%/test-uio %reldir%/test-uio-find %reldir%/test-daemon-rescind
check_PROGRAMS += $(uio_tests)
TESTS += $(uio_tests)

%canon_reldir%_test_uio_SOURCES = %reldir%/test-uio.c %reldir%/asan-preload.h %reldir%/uio-fixture.h
%canon_reldir%_test_uio_CPPFLAGS = $(AM_CPPFLAGS) -DFAKE_UIO_DIR=\"$(abs_top_builddir)/%reldir%\"
%canon_reldir%_test_uio_CFLAGS = $(unit_cflags) -pthread
%canon_reldir%_test_uio_LDFLAGS = $(AM_LDFLAGS) -pthread
%canon_reldir%_test_uio_LDADD = $(unit_ldadd) -ldl

%canon_reldir%_test_uio_find_SOURCES = %reldir%/test-uio-find.c %reldir%/asan-preload.h
%canon_reldir%_test_uio_find_CPPFLAGS = $(AM_CPPFLAGS) -DUMOCKDEV_RUN=\"$(UMOCKDEV_RUN)\"
%canon_reldir%_test_uio_find_CFLAGS = $(unit_cflags)
%canon_reldir%_test_uio_find_LDADD = $(unit_ldadd)

%canon_reldir%_test_daemon_rescind_SOURCES = %reldir%/test-daemon-rescind.c %reldir%/asan-preload.h %reldir%/uio-fixture.h
%canon_reldir%_test_daemon_rescind_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/fcopy -I$(top_srcdir)/daemons/common \
	-DFAKE_UIO_DIR=\"$(abs_top_builddir)/%reldir%\" \
	-DFCOPYD_DIR=\"$(abs_top_builddir)/daemons\" \
	-DLIBVMBUS_DIR=\"$(abs_top_builddir)/libvmbus\"
%canon_reldir%_test_daemon_rescind_CFLAGS = $(unit_cflags)
%canon_reldir%_test_daemon_rescind_LDADD = $(unit_ldadd)
endif

# fake-chardev.so: hv_utils' character devices (/dev/vmbus/hv_kvp, ...) faked over a
# SOCK_SEQPACKET listener, preloaded into the daemons by hv-hostsim --transport chardev
# (the bats suites' second run).
check_LTLIBRARIES += %reldir%/fake-chardev.la
%canon_reldir%_fake_chardev_la_SOURCES = %reldir%/fake-chardev.c %reldir%/preload.h
%canon_reldir%_fake_chardev_la_CFLAGS = $(AM_CFLAGS) -pthread
%canon_reldir%_fake_chardev_la_LDFLAGS = $(AM_LDFLAGS) -pthread -module -avoid-version -rpath /nowhere -shared
%canon_reldir%_fake_chardev_la_LIBADD = -ldl
