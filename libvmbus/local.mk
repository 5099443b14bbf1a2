# libvmbus: the shared library, and an internal convenience copy for unit tests.
libvmbus_sources = \
	%reldir%/channel.c \
	%reldir%/fd.c \
	%reldir%/hv-wire.h \
	%reldir%/ic.c \
	%reldir%/internal.h \
	%reldir%/log.c \
	%reldir%/macro.h \
	%reldir%/ring.c \
	%reldir%/uio.c \
	%reldir%/utf16.c

noinst_LTLIBRARIES += %reldir%/libvmbus-internal.la
%canon_reldir%_libvmbus_internal_la_SOURCES = $(libvmbus_sources)
%canon_reldir%_libvmbus_internal_la_CFLAGS = $(AM_CFLAGS) $(LIBUDEV_CFLAGS)
%canon_reldir%_libvmbus_internal_la_LIBADD = $(LIBUDEV_LIBS)

lib_LTLIBRARIES += %reldir%/libvmbus.la
%canon_reldir%_libvmbus_la_SOURCES = $(libvmbus_sources)
%canon_reldir%_libvmbus_la_CFLAGS = $(AM_CFLAGS) $(LIBUDEV_CFLAGS)
%canon_reldir%_libvmbus_la_LIBADD = $(LIBUDEV_LIBS)
%canon_reldir%_libvmbus_la_LDFLAGS = $(AM_LDFLAGS) \
	-version-info $(LIBVMBUS_CURRENT):$(LIBVMBUS_REVISION):$(LIBVMBUS_AGE) \
	-Wl,--version-script=$(top_srcdir)/%reldir%/libvmbus.sym
%canon_reldir%_libvmbus_la_DEPENDENCIES = %reldir%/libvmbus.sym

vmbusincludedir = $(includedir)/vmbus
vmbusinclude_HEADERS = %reldir%/vmbus/vmbus.h

pkgconfig_DATA += %reldir%/libvmbus.pc
EXTRA_DIST += %reldir%/libvmbus.sym %reldir%/libvmbus.pc.in
DISTCLEANFILES += %reldir%/libvmbus.pc
