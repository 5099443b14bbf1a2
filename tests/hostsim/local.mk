# hv-hostsim: the simulated Hyper-V host (installed: it is a product).
bin_PROGRAMS += %reldir%/hv-hostsim
%canon_reldir%_hv_hostsim_SOURCES = \
	%reldir%/commands.h \
	%reldir%/engine.c \
	%reldir%/engine.h \
	%reldir%/fake-kernel.c \
	%reldir%/fake-kernel.h \
	%reldir%/fcopy.c \
	%reldir%/hostile.c \
	%reldir%/hv-hostsim.c \
	%reldir%/idle.c \
	%reldir%/kvp.c \
	%reldir%/print.c \
	%reldir%/vss.c
%canon_reldir%_hv_hostsim_CPPFLAGS = $(daemon_cppflags) -I$(top_srcdir)/daemons/fcopy \
	-I$(top_srcdir)/daemons/kvp -I$(top_srcdir)/daemons/vss
%canon_reldir%_hv_hostsim_LDADD = daemons/libdaemon-common.la libvmbus/libvmbus.la
