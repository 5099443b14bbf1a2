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
