# Daemons: a shared skeleton (convenience library) and, per issue, each service.
daemon_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common
noinst_LTLIBRARIES += %reldir%/libdaemon-common.la
%canon_reldir%_libdaemon_common_la_SOURCES = \
	%reldir%/common/daemon.c \
	%reldir%/common/daemon.h \
	%reldir%/common/ic-service.c \
	%reldir%/common/ic-service.h \
	%reldir%/common/log.c \
	%reldir%/common/log.h \
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
