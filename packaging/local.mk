# packaging: the distributions' packaging, shipped in the tarball so that a
# package can be built from it (scripts/build-deb.sh builds the .debs from
# the tarball made by "make dist", which proves the list below complete).

# Debian: copied to debian/ for a build.
EXTRA_DIST += \
	%reldir%/debian/changelog \
	%reldir%/debian/control \
	%reldir%/debian/copyright \
	%reldir%/debian/rules \
	%reldir%/debian/source/format \
	%reldir%/debian/not-installed \
	%reldir%/debian/libvmbus1.symbols \
	%reldir%/debian/libvmbus1.install \
	%reldir%/debian/libvmbus1.lintian-overrides \
	%reldir%/debian/libvmbus-dev.install \
	%reldir%/debian/libvmbus-dev.lintian-overrides \
	%reldir%/debian/hv-daemons.install \
	%reldir%/debian/hv-daemons.lintian-overrides \
	%reldir%/debian/hv-daemons.postinst \
	%reldir%/debian/hv-daemons.prerm \
	%reldir%/debian/hv-daemons.postrm \
	%reldir%/debian/hv-daemons-tools.install \
	%reldir%/debian/hv-daemons-tools.lintian-overrides \
	scripts/build-deb.sh \
	scripts/test-deb.sh

# RPM: hv-daemons.spec is made by configure (the version) and shipped too, so
# that "rpmbuild -ta" works on the tarball.
EXTRA_DIST += \
	%reldir%/rpm/hv-daemons.spec.in \
	%reldir%/rpm/hv-daemons.spec \
	scripts/build-rpm.sh \
	scripts/test-rpm.sh
