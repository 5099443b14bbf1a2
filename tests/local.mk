# Tests: cmocka units, the fake uio device, bats end-to-end suites, fuzz targets.
TEST_EXTENSIONS = .bats
# cmocka prints TAP with CMOCKA_MESSAGE_OUTPUT=TAP; bats with --tap. Every case counts.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
BATS_LOG_DRIVER = $(LOG_DRIVER)
BATS_LOG_COMPILER = $(BATS) --tap
AM_TESTS_ENVIRONMENT = \
	export CMOCKA_MESSAGE_OUTPUT=TAP; \
	export top_srcdir='$(abs_top_srcdir)'; \
	export top_builddir='$(abs_top_builddir)'; \
	export HV_TIMEOUT_FACTOR="$${HV_TIMEOUT_FACTOR:-1}"; \
	export ASAN_OPTIONS="$${ASAN_OPTIONS:-verify_asan_link_order=0:detect_leaks=1}"; \
	export UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}";

unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
unit_ldadd = libvmbus/libvmbus-internal.la $(CMOCKA_LIBS)

include %reldir%/unit/local.mk
include %reldir%/uio/local.mk
include %reldir%/hostsim/local.mk
include %reldir%/guest/local.mk
include %reldir%/bats/local.mk
include %reldir%/fuzz/local.mk

TESTS += %reldir%/check-abi.sh %reldir%/check-help-man.sh
EXTRA_DIST += %reldir%/check-abi.sh %reldir%/check-help-man.sh

TESTS += %reldir%/check-units.sh
EXTRA_DIST += %reldir%/check-units.sh
