# bench: benchmarks that print figures (never asserted on). "make bench" builds and runs them.
noinst_PROGRAMS += %reldir%/bench-ring %reldir%/bench-floor
%canon_reldir%_bench_ring_SOURCES = %reldir%/bench-ring.c
%canon_reldir%_bench_ring_LDADD = libvmbus/libvmbus-internal.la
%canon_reldir%_bench_floor_SOURCES = %reldir%/bench-floor.c
EXTRA_DIST += %reldir%/bench-fcopy.sh

bench: all
	%reldir%/bench-ring$(EXEEXT)
	$(srcdir)/%reldir%/bench-fcopy.sh $(abs_top_builddir)
.PHONY: bench
