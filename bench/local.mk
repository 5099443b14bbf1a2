# bench: ring throughput/latency benchmark. "make bench" builds and runs it (figures only).
noinst_PROGRAMS += %reldir%/bench-ring
%canon_reldir%_bench_ring_SOURCES = %reldir%/bench-ring.c
%canon_reldir%_bench_ring_LDADD = libvmbus/libvmbus-internal.la

bench: %reldir%/bench-ring$(EXEEXT)
	%reldir%/bench-ring$(EXEEXT)
.PHONY: bench
