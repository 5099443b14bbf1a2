# tests/fuzz: libFuzzer targets, built only with configure CC=clang --enable-fuzzing.
# For coverage inside libvmbus too, configure with
#   CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" --enable-fuzzing --enable-sanitizers
# (what tests/fuzz/run-fuzzers.sh does); tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS runs them.
fuzz_corpus = \
	%reldir%/corpus/fuzz-fcopy/cancel-midway \
	%reldir%/corpus/fuzz-fcopy/lone-surrogate \
	%reldir%/corpus/fuzz-fcopy/names-cjk-emoji \
	%reldir%/corpus/fuzz-fcopy/oversize-write \
	%reldir%/corpus/fuzz-fcopy/restart \
	%reldir%/corpus/fuzz-fcopy/session \
	%reldir%/corpus/fuzz-fcopy/short-and-unknown \
	%reldir%/corpus/fuzz-fcopy/sink-failures \
	%reldir%/corpus/fuzz-fcopy/traversal \
	%reldir%/corpus/fuzz-fcopy/unterminated-name \
	%reldir%/corpus/fuzz-fcopy/write-before-start \
	%reldir%/corpus/fuzz-kvp-pool/dups-and-ops \
	%reldir%/corpus/fuzz-kvp-pool/hostile-records \
	%reldir%/corpus/fuzz-kvp-pool/ops-only \
	%reldir%/corpus/fuzz-kvp-pool/parse-fail \
	%reldir%/corpus/fuzz-negotiate/fcopy \
	%reldir%/corpus/fuzz-negotiate/heartbeat \
	%reldir%/corpus/fuzz-negotiate/kvp \
	%reldir%/corpus/fuzz-negotiate/kvp-padded \
	%reldir%/corpus/fuzz-negotiate/max-versions \
	%reldir%/corpus/fuzz-negotiate/no-match \
	%reldir%/corpus/fuzz-negotiate/short \
	%reldir%/corpus/fuzz-negotiate/too-many \
	%reldir%/corpus/fuzz-negotiate/truncated \
	%reldir%/corpus/fuzz-ring/bad-len8 \
	%reldir%/corpus/fuzz-ring/bad-offset8 \
	%reldir%/corpus/fuzz-ring/empty \
	%reldir%/corpus/fuzz-ring/fcopy-write-pending \
	%reldir%/corpus/fuzz-ring/negotiate \
	%reldir%/corpus/fuzz-ring/negotiate-peek-smallbuf \
	%reldir%/corpus/fuzz-ring/raw-unaligned-index \
	%reldir%/corpus/fuzz-ring/several \
	%reldir%/corpus/fuzz-ring/several-drain-stop \
	%reldir%/corpus/fuzz-ring/several-scribble \
	%reldir%/corpus/fuzz-ring/via-host \
	%reldir%/corpus/fuzz-ring/wrap \
	%reldir%/corpus/fuzz-utf16/ascii-utf16 \
	%reldir%/corpus/fuzz-utf16/ascii-utf8 \
	%reldir%/corpus/fuzz-utf16/astral-utf16 \
	%reldir%/corpus/fuzz-utf16/astral-utf8 \
	%reldir%/corpus/fuzz-utf16/field-520 \
	%reldir%/corpus/fuzz-utf16/lone-high \
	%reldir%/corpus/fuzz-utf16/lone-low \
	%reldir%/corpus/fuzz-utf16/multibyte-utf16 \
	%reldir%/corpus/fuzz-utf16/multibyte-utf8 \
	%reldir%/corpus/fuzz-utf16/odd-length \
	%reldir%/corpus/fuzz-utf16/overlong-utf8 \
	%reldir%/corpus/fuzz-utf16/surrogate-utf8
EXTRA_DIST += %reldir%/run-fuzzers.sh $(fuzz_corpus)

if ENABLE_FUZZING
fuzz_cflags = $(AM_CFLAGS) $(FUZZ_CFLAGS)
fuzz_ldflags = $(AM_LDFLAGS) $(FUZZ_CFLAGS)
fuzz_ldadd = libvmbus/libvmbus-internal.la

noinst_PROGRAMS += \
	%reldir%/fuzz-ring \
	%reldir%/fuzz-negotiate \
	%reldir%/fuzz-utf16 \
	%reldir%/fuzz-fcopy \
	%reldir%/fuzz-kvp-pool \
	%reldir%/fuzz-kvp \
	%reldir%/make-seeds

%canon_reldir%_fuzz_ring_SOURCES = %reldir%/fuzz-ring.c
%canon_reldir%_fuzz_ring_CFLAGS = $(fuzz_cflags)
%canon_reldir%_fuzz_ring_LDFLAGS = $(fuzz_ldflags)
%canon_reldir%_fuzz_ring_LDADD = $(fuzz_ldadd)

%canon_reldir%_fuzz_negotiate_SOURCES = %reldir%/fuzz-negotiate.c
%canon_reldir%_fuzz_negotiate_CFLAGS = $(fuzz_cflags)
%canon_reldir%_fuzz_negotiate_LDFLAGS = $(fuzz_ldflags)
%canon_reldir%_fuzz_negotiate_LDADD = $(fuzz_ldadd)

%canon_reldir%_fuzz_utf16_SOURCES = %reldir%/fuzz-utf16.c
%canon_reldir%_fuzz_utf16_CFLAGS = $(fuzz_cflags)
%canon_reldir%_fuzz_utf16_LDFLAGS = $(fuzz_ldflags)
%canon_reldir%_fuzz_utf16_LDADD = $(fuzz_ldadd)

# hv-fcopyd's message handler. libdaemon-common.la brings the shared libvmbus.la, so
# the internal copy is not linked too; -no-install gives a binary, not a libtool wrapper.
%canon_reldir%_fuzz_fcopy_SOURCES = %reldir%/fuzz-fcopy.c
%canon_reldir%_fuzz_fcopy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/fcopy
%canon_reldir%_fuzz_fcopy_CFLAGS = $(fuzz_cflags)
%canon_reldir%_fuzz_fcopy_LDFLAGS = $(fuzz_ldflags) -no-install
%canon_reldir%_fuzz_fcopy_LDADD = daemons/libfcopy-proto.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# hv-kvpd's message handler over memory-only pools (libkvp.la, as for fuzz-fcopy).
%canon_reldir%_fuzz_kvp_SOURCES = %reldir%/fuzz-kvp.c
%canon_reldir%_fuzz_kvp_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/kvp
%canon_reldir%_fuzz_kvp_CFLAGS = $(fuzz_cflags)
%canon_reldir%_fuzz_kvp_LDFLAGS = $(fuzz_ldflags) -no-install
%canon_reldir%_fuzz_kvp_LDADD = daemons/libkvp.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# hv-kvpd's pool store: kvp_pool_parse and a memory-only pool set against a model.
%canon_reldir%_fuzz_kvp_pool_SOURCES = %reldir%/fuzz-kvp-pool.c
%canon_reldir%_fuzz_kvp_pool_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/kvp
%canon_reldir%_fuzz_kvp_pool_CFLAGS = $(fuzz_cflags)
%canon_reldir%_fuzz_kvp_pool_LDFLAGS = $(fuzz_ldflags) -no-install
%canon_reldir%_fuzz_kvp_pool_LDADD = daemons/libkvp.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# Seed generator (an ordinary program): "make fuzz-seeds" rewrites the committed corpus.
%canon_reldir%_make_seeds_SOURCES = %reldir%/make-seeds.c
%canon_reldir%_make_seeds_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/fcopy
%canon_reldir%_make_seeds_LDADD = $(fuzz_ldadd)

fuzz-seeds: %reldir%/make-seeds$(EXEEXT)
	$(AM_V_GEN)%reldir%/make-seeds$(EXEEXT) $(srcdir)/%reldir%/corpus
endif

# fuzz-kvp's seeds: sessions of KVP message bodies (tests/fuzz/make-kvp-seeds.c writes them).
fuzz_corpus += \
	%reldir%/corpus/fuzz-kvp/bad-value-type \
	%reldir%/corpus/fuzz-kvp/delete \
	%reldir%/corpus/fuzz-kvp/enumerate \
	%reldir%/corpus/fuzz-kvp/enumerate-auto \
	%reldir%/corpus/fuzz-kvp/get \
	%reldir%/corpus/fuzz-kvp/get-auto \
	%reldir%/corpus/fuzz-kvp/get-ip-info \
	%reldir%/corpus/fuzz-kvp/index-max \
	%reldir%/corpus/fuzz-kvp/ip-unterminated \
	%reldir%/corpus/fuzz-kvp/lone-surrogate \
	%reldir%/corpus/fuzz-kvp/pool-7 \
	%reldir%/corpus/fuzz-kvp/session \
	%reldir%/corpus/fuzz-kvp/set-ip-info \
	%reldir%/corpus/fuzz-kvp/set-short \
	%reldir%/corpus/fuzz-kvp/set-sz \
	%reldir%/corpus/fuzz-kvp/set-u32 \
	%reldir%/corpus/fuzz-kvp/set-u64 \
	%reldir%/corpus/fuzz-kvp/short-get \
	%reldir%/corpus/fuzz-kvp/sizes-100000 \
	%reldir%/corpus/fuzz-kvp/unknown-op \
	%reldir%/corpus/fuzz-kvp/unterminated-key

if ENABLE_FUZZING
noinst_PROGRAMS += %reldir%/make-kvp-seeds
%canon_reldir%_make_kvp_seeds_SOURCES = %reldir%/make-kvp-seeds.c
%canon_reldir%_make_kvp_seeds_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/kvp
%canon_reldir%_make_kvp_seeds_LDADD = $(fuzz_ldadd)

fuzz-kvp-seeds: %reldir%/make-kvp-seeds$(EXEEXT)
	$(AM_V_GEN)%reldir%/make-kvp-seeds$(EXEEXT) $(srcdir)/%reldir%/corpus
endif

# hv-vssd's message handler with a fake freezer.
fuzz_corpus += \
	%reldir%/corpus/fuzz-vss/auto-recover \
	%reldir%/corpus/fuzz-vss/backup-sequence \
	%reldir%/corpus/fuzz-vss/freeze-fails \
	%reldir%/corpus/fuzz-vss/short-and-unknown
if ENABLE_FUZZING
noinst_PROGRAMS += %reldir%/fuzz-vss
%canon_reldir%_fuzz_vss_SOURCES = %reldir%/fuzz-vss.c
%canon_reldir%_fuzz_vss_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/vss
%canon_reldir%_fuzz_vss_CFLAGS = $(fuzz_cflags)
%canon_reldir%_fuzz_vss_LDFLAGS = $(fuzz_ldflags) -no-install
%canon_reldir%_fuzz_vss_LDADD = daemons/libvss.la daemons/libdaemon-common.la \
	libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)
endif

# The kernel-side (hv_utils character device) decoders of the three daemons.
fuzz_corpus += \
	%reldir%/corpus/fuzz-chardev/fcopy-session \
	%reldir%/corpus/fuzz-chardev/kvp-ip-auto \
	%reldir%/corpus/fuzz-chardev/kvp-session \
	%reldir%/corpus/fuzz-chardev/kvp-unterminated-short \
	%reldir%/corpus/fuzz-chardev/vss-session
if ENABLE_FUZZING
noinst_PROGRAMS += %reldir%/fuzz-chardev
%canon_reldir%_fuzz_chardev_SOURCES = %reldir%/fuzz-chardev.c
%canon_reldir%_fuzz_chardev_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/daemons/common \
	-I$(top_srcdir)/daemons/kvp -I$(top_srcdir)/daemons/vss -I$(top_srcdir)/daemons/fcopy
%canon_reldir%_fuzz_chardev_CFLAGS = $(fuzz_cflags) -pthread
%canon_reldir%_fuzz_chardev_LDFLAGS = $(fuzz_ldflags) -no-install -pthread
%canon_reldir%_fuzz_chardev_LDADD = daemons/libkvp.la daemons/libvss.la daemons/libfcopy-proto.la \
	daemons/libdaemon-common.la libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)
endif
