# hv-hostsim: the simulated Hyper-V host (installed: it is a product).
bin_PROGRAMS += %reldir%/hv-hostsim
%canon_reldir%_hv_hostsim_SOURCES = \
	%reldir%/engine.c \
	%reldir%/engine.h \
	%reldir%/hv-hostsim.c \
	%reldir%/print.c
%canon_reldir%_hv_hostsim_CPPFLAGS = $(daemon_cppflags)
%canon_reldir%_hv_hostsim_LDADD = daemons/libdaemon-common.la libvmbus/libvmbus.la
