# man: scdoc sources of the man pages, and the lint test of the generated pages.
#
# The generated pages are distributed (dist_man_MANS), so a build from the
# tarball without scdoc (or with --disable-manpages) installs them as shipped.
# With scdoc, a page is regenerated when its source is newer. In a VPATH build
# from the tarball the shipped page is found in $(srcdir) and is up to date, so
# make leaves the (possibly read-only) source tree alone; if it must rebuild a
# page, GNU make writes the new one into the build tree, never into $(srcdir).

man_scdoc_pages = \
	%reldir%/libvmbus.3 \
	%reldir%/hv-hostsim.1 \
	%reldir%/hv-fcopyd.8 \
	%reldir%/hv-kvpd.8 \
	%reldir%/hv-vssd.8 \
	%reldir%/hv-kvp.1 \
	%reldir%/hv-daemons.7

dist_man_MANS += $(man_scdoc_pages)

EXTRA_DIST += \
	%reldir%/libvmbus.3.scd \
	%reldir%/hv-hostsim.1.scd \
	%reldir%/hv-fcopyd.8.scd \
	%reldir%/hv-kvpd.8.scd \
	%reldir%/hv-vssd.8.scd \
	%reldir%/hv-kvp.1.scd \
	%reldir%/hv-daemons.7.scd \
	%reldir%/check-man.sh

TESTS += %reldir%/check-man.sh

# Left behind only by an interrupted build.
CLEANFILES += %reldir%/*.tmp %reldir%/*.tmp2

if HAVE_SCDOC
AM_V_SCDOC = $(man__v_SCDOC_@AM_V@)
man__v_SCDOC_ = $(man__v_SCDOC_@AM_DEFAULT_V@)
man__v_SCDOC_0 = @echo "  SCDOC   " $@;
man__v_SCDOC_1 =

# Placeholders a page source may use for configure-dependent values. ('' keeps
# config.status from substituting @PACKAGE_VERSION@ in this Makefile itself.)
man_subst = $(SED) \
	-e 's|@SYSCONFDIR@|$(sysconfdir)|g' \
	-e 's|@LOCALSTATEDIR@|$(localstatedir)|g' \
	-e 's|@RUNSTATEDIR@|$(runstatedir)|g' \
	-e 's|@PACKAGE''_VERSION@|$(PACKAGE_VERSION)|g'

# scdoc emits a paragraph macro (.P) right before and after each section
# heading and at the end of indented blocks, which mandoc -T lint reports as
# "skipping paragraph macro". Drop the redundant ones and move one that ends
# an indented block behind its .RE; neither man(1) nor mandoc renders the
# page any differently.
man_tidy = '\
	/^\.P$$/ { if (!sh) held = 1; next }; \
	/^\.RE$$/ { print; next }; \
	/^\.S[HS] / { held = 0; sh = 1; print; next }; \
	{ if (held) print ".P"; held = 0; sh = 0; print }'

# Through temporary files rather than a pipe, so that a failing step fails the
# rule (a pipeline's status is its last command's) and leaves no partial page.
man_scdoc = \
	$(MKDIR_P) '$(@D)' && \
	$(man_subst) '$<' > '$@.tmp' && \
	$(SCDOC) < '$@.tmp' > '$@.tmp2' && \
	$(AWK) $(man_tidy) '$@.tmp2' > '$@.tmp' && \
	rm -f '$@.tmp2' && \
	mv -f '$@.tmp' '$@' || { rm -f '$@.tmp' '$@.tmp2'; exit 1; }
else !HAVE_SCDOC
# Without scdoc, a shipped page is used as it is, even if its source is newer.
AM_V_SCDOC = @
man_scdoc = \
	if test -f '$@' || test -f '$(srcdir)/$@'; then \
	  echo "warning: $< is newer than the page made from it, but scdoc is not" \
	       "available: the page is used as it is." >&2; \
	else \
	  echo "error: $@ is missing and scdoc was not found (or" \
	       "--disable-manpages was given): install scdoc and run configure" \
	       "again, or build from a release tarball, which ships the pages." >&2; \
	  exit 1; \
	fi
endif !HAVE_SCDOC

%reldir%/libvmbus.3: %reldir%/libvmbus.3.scd
	$(AM_V_SCDOC)$(man_scdoc)

%reldir%/hv-hostsim.1: %reldir%/hv-hostsim.1.scd
	$(AM_V_SCDOC)$(man_scdoc)

%reldir%/hv-fcopyd.8: %reldir%/hv-fcopyd.8.scd
	$(AM_V_SCDOC)$(man_scdoc)

%reldir%/hv-kvpd.8: %reldir%/hv-kvpd.8.scd
	$(AM_V_SCDOC)$(man_scdoc)

%reldir%/hv-vssd.8: %reldir%/hv-vssd.8.scd
	$(AM_V_SCDOC)$(man_scdoc)

%reldir%/hv-kvp.1: %reldir%/hv-kvp.1.scd
	$(AM_V_SCDOC)$(man_scdoc)

# A VPATH build that regenerated a shipped page leaves it in the build tree;
# distclean removes it there (an in-tree build keeps the shipped page).
distclean-local: man-distclean-local
man-distclean-local:
	$(AM_V_at)if test '$(srcdir)' != .; then rm -f $(man_scdoc_pages); fi
.PHONY: man-distclean-local

%reldir%/hv-daemons.7: %reldir%/hv-daemons.7.scd
	$(AM_V_SCDOC)$(man_scdoc)
