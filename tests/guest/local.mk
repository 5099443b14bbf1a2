# hv-testguest: a libvmbus guest endpoint (Heartbeat IC) for the demo and the harness.
noinst_PROGRAMS += %reldir%/hv-testguest
%canon_reldir%_hv_testguest_SOURCES = %reldir%/hv-testguest.c
%canon_reldir%_hv_testguest_CPPFLAGS = $(daemon_cppflags)
%canon_reldir%_hv_testguest_LDADD = daemons/libdaemon-common.la libvmbus/libvmbus.la $(LIBSYSTEMD_LIBS)

# notify-listen: a stand-in for systemd's notification socket, to test sd_notify messages.
noinst_PROGRAMS += %reldir%/notify-listen
%canon_reldir%_notify_listen_SOURCES = %reldir%/notify-listen.c

# kvp-tool: the other writers and readers of KVP pool files (cloud-init, the kernel's daemon).
noinst_PROGRAMS += %reldir%/kvp-tool
%canon_reldir%_kvp_tool_SOURCES = %reldir%/kvp-tool.c

# freeze-time: bare FIFREEZE/FITHAW timing of given mounts (bench-vss.sh).
noinst_PROGRAMS += %reldir%/freeze-time
%canon_reldir%_freeze_time_SOURCES = %reldir%/freeze-time.c
