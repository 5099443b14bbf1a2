# systemd: the three service units, started by udev (SYSTEMD_WANTS) when
# their device appears. @sbindir@ is substituted at build time, so that a
# prefix given to make (make install prefix=...) is the one the units name.

systemd_units = \
	%reldir%/hv-fcopyd.service \
	%reldir%/hv-kvpd.service \
	%reldir%/hv-vssd.service

systemdsystemunit_DATA = $(systemd_units)
CLEANFILES += $(systemd_units) %reldir%/*.service.tmp
EXTRA_DIST += $(systemd_units:=.in)

# ('' keeps config.status from substituting the placeholders in this Makefile.)
systemd_subst = $(SED) \
	-e 's|@sbindir''@|$(sbindir)|g' \
	-e 's|@libexecdir''@|$(libexecdir)|g' \
	-e 's|@sysconfdir''@|$(sysconfdir)|g' \
	-e 's|@localstatedir''@|$(localstatedir)|g'

systemd_gen = $(MKDIR_P) '$(@D)' && \
	$(systemd_subst) '$<' > '$@.tmp' && \
	mv -f '$@.tmp' '$@'

%reldir%/hv-fcopyd.service: %reldir%/hv-fcopyd.service.in Makefile
	$(AM_V_GEN)$(systemd_gen)

%reldir%/hv-kvpd.service: %reldir%/hv-kvpd.service.in Makefile
	$(AM_V_GEN)$(systemd_gen)

%reldir%/hv-vssd.service: %reldir%/hv-vssd.service.in Makefile
	$(AM_V_GEN)$(systemd_gen)
