# udev: the activation rules and the helper they run (hv-bind-uio), both with
# the install paths substituted at build time (make, not configure, so that
# `make libexecdir=...` and prefix overrides reach them).
udevrules_DATA = %reldir%/70-hv-daemons.rules
hvdaemonslibexecdir = $(libexecdir)/hv-daemons
hvdaemonslibexec_SCRIPTS = %reldir%/hv-bind-uio

EXTRA_DIST += %reldir%/70-hv-daemons.rules.in %reldir%/hv-bind-uio.in
CLEANFILES += %reldir%/70-hv-daemons.rules %reldir%/hv-bind-uio \
	%reldir%/70-hv-daemons.rules.tmp %reldir%/hv-bind-uio.tmp

udev_subst = $(SED) \
	-e 's|@hvbinduio@|$(hvdaemonslibexecdir)/hv-bind-uio|g' \
	-e 's|@sbindir@|$(sbindir)|g' \
	-e 's|@bindir@|$(bindir)|g'

%reldir%/70-hv-daemons.rules: %reldir%/70-hv-daemons.rules.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(udev_subst) $(srcdir)/%reldir%/70-hv-daemons.rules.in > $@.tmp && \
	mv -f $@.tmp $@

%reldir%/hv-bind-uio: %reldir%/hv-bind-uio.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(udev_subst) $(srcdir)/%reldir%/hv-bind-uio.in > $@.tmp && \
	chmod +x $@.tmp && mv -f $@.tmp $@
