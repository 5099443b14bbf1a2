# Daemons: a shared skeleton (convenience library) and, per issue, each service.
daemon_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common
noinst_LTLIBRARIES += %reldir%/libdaemon-common.la
%canon_reldir%_libdaemon_common_la_SOURCES = \
	%reldir%/common/conf-file.c \
	%reldir%/common/conf-file.h \
	%reldir%/common/daemon.c \
	%reldir%/common/daemon.h \
	%reldir%/common/ic-service.c \
	%reldir%/common/ic-service.h \
	%reldir%/common/log.c \
	%reldir%/common/log.h \
	%reldir%/common/spawn.c \
	%reldir%/common/spawn.h \
	%reldir%/common/versions.c \
	%reldir%/common/versions.h
%canon_reldir%_libdaemon_common_la_CPPFLAGS = $(daemon_cppflags)
%canon_reldir%_libdaemon_common_la_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS)
%canon_reldir%_libdaemon_common_la_LIBADD = libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# hv-fcopyd: the pure protocol logic (unit tests and the fuzzer link it too), then the daemon.
noinst_LTLIBRARIES += %reldir%/libfcopy-proto.la
%canon_reldir%_libfcopy_proto_la_SOURCES = \
	%reldir%/fcopy/fcopy-proto.c \
	%reldir%/fcopy/fcopy-proto.h \
	%reldir%/fcopy/fcopy-wire.h
%canon_reldir%_libfcopy_proto_la_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/fcopy
%canon_reldir%_libfcopy_proto_la_LIBADD = %reldir%/libdaemon-common.la

sbin_PROGRAMS += %reldir%/hv-fcopyd
%canon_reldir%_hv_fcopyd_SOURCES = \
	%reldir%/fcopy/hv-fcopyd.c \
	%reldir%/fcopy/fcopy-sink.c \
	%reldir%/fcopy/fcopy-sink.h
%canon_reldir%_hv_fcopyd_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/fcopy
%canon_reldir%_hv_fcopyd_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS)
%canon_reldir%_hv_fcopyd_LDADD = %reldir%/libfcopy-proto.la %reldir%/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# hv-kvpd and hv-kvp: the KVP logic and pool store (unit tests, fuzzers, the
# benchmark and the command-line client link it), then the two programs.
noinst_LTLIBRARIES += %reldir%/libkvp.la
%canon_reldir%_libkvp_la_SOURCES = \
	%reldir%/kvp/kvp-wire.h \
	%reldir%/kvp/kvp-proto.c \
	%reldir%/kvp/kvp-proto.h \
	%reldir%/kvp/kvp-pool.c \
	%reldir%/kvp/kvp-pool.h \
	%reldir%/kvp/kvp-auto.c \
	%reldir%/kvp/kvp-auto.h \
	%reldir%/kvp/kvp-ip.c \
	%reldir%/kvp/kvp-ip.h \
	%reldir%/kvp/kvp-ip-internal.h
%canon_reldir%_libkvp_la_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/kvp
%canon_reldir%_libkvp_la_LIBADD = %reldir%/libdaemon-common.la

sbin_PROGRAMS += %reldir%/hv-kvpd
%canon_reldir%_hv_kvpd_SOURCES = %reldir%/kvp/hv-kvpd.c
%canon_reldir%_hv_kvpd_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/kvp
%canon_reldir%_hv_kvpd_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS)
%canon_reldir%_hv_kvpd_LDADD = %reldir%/libkvp.la %reldir%/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

bin_PROGRAMS += %reldir%/hv-kvp
%canon_reldir%_hv_kvp_SOURCES = %reldir%/kvp/hv-kvp.c
%canon_reldir%_hv_kvp_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/kvp
%canon_reldir%_hv_kvp_LDADD = %reldir%/libkvp.la %reldir%/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# hv-vssd: the VSS logic, freezer and hooks (unit tests and the fuzzer link it), then the daemon.
noinst_LTLIBRARIES += %reldir%/libvss.la
%canon_reldir%_libvss_la_SOURCES = \
	%reldir%/vss/vss-wire.h \
	%reldir%/vss/vss-proto.c \
	%reldir%/vss/vss-proto.h \
	%reldir%/vss/vss-freeze.c \
	%reldir%/vss/vss-freeze.h \
	%reldir%/vss/vss-hooks.c \
	%reldir%/vss/vss-hooks.h
%canon_reldir%_libvss_la_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/vss
%canon_reldir%_libvss_la_LIBADD = %reldir%/libdaemon-common.la

sbin_PROGRAMS += %reldir%/hv-vssd
%canon_reldir%_hv_vssd_SOURCES = %reldir%/vss/hv-vssd.c
%canon_reldir%_hv_vssd_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/vss
%canon_reldir%_hv_vssd_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS)
%canon_reldir%_hv_vssd_LDADD = %reldir%/libvss.la %reldir%/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# libvss's freezer runs a guard thread (pthreads); -lpthread propagates to whatever links libvss.
%canon_reldir%_libvss_la_CFLAGS = $(AM_CFLAGS) -pthread
%canon_reldir%_libvss_la_LIBADD += -lpthread
%canon_reldir%_hv_vssd_LDFLAGS = $(AM_LDFLAGS) -pthread

# The kernel's hv_utils character devices (/dev/vmbus/hv_kvp, hv_vss, hv_fcopy): the transport before 6.10.
%canon_reldir%_libdaemon_common_la_SOURCES += %reldir%/common/chardev.c %reldir%/common/chardev.h
