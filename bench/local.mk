# bench: benchmarks that print figures (never asserted on). "make bench" builds and runs them.
noinst_PROGRAMS += %reldir%/bench-ring %reldir%/bench-floor %reldir%/bench-kvp
%canon_reldir%_bench_ring_SOURCES = %reldir%/bench-ring.c
%canon_reldir%_bench_ring_LDADD = libvmbus/libvmbus-internal.la
%canon_reldir%_bench_floor_SOURCES = %reldir%/bench-floor.c
%canon_reldir%_bench_kvp_SOURCES = %reldir%/bench-kvp.c
%canon_reldir%_bench_kvp_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common -I$(top_srcdir)/daemons/kvp
%canon_reldir%_bench_kvp_LDADD = daemons/libkvp.la daemons/libdaemon-common.la libvmbus/libvmbus.la \
	$(LIBSYSTEMD_LIBS)
EXTRA_DIST += %reldir%/bench-fcopy.sh %reldir%/bench-vss.sh

bench: all
	%reldir%/bench-ring$(EXEEXT)
	$(srcdir)/%reldir%/bench-fcopy.sh $(abs_top_builddir)
	%reldir%/bench-kvp$(EXEEXT)
	$(srcdir)/%reldir%/bench-vss.sh $(abs_top_builddir)
.PHONY: bench
