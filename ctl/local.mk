# ctl/ - chatctl, the host's admin command: a thin shell over libchat.
bin_PROGRAMS += ctl/chatctl
ctl_chatctl_SOURCES = ctl/main.c ctl/ctl.c ctl/ctl.h \
	ctl/cmd_status.c ctl/cmd_users.c ctl/cmd_rooms.c ctl/cmd_sessions.c ctl/cmd_store.c
ctl_chatctl_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
ctl_chatctl_LDADD = $(CHATDB_LIBS)
dist_man_MANS = ctl/chatctl.1 fcgi/chat.fcgi.8 ws/chat-ws.8
