# ctl/ - chatctl, the host's admin command: a thin shell over libchat.
bin_PROGRAMS += ctl/chatctl
ctl_chatctl_SOURCES = ctl/main.c
ctl_chatctl_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
ctl_chatctl_LDADD = $(CHATDB_LIBS)
dist_man_MANS = ctl/chatctl.1 fcgi/chat.fcgi.8 ws/chat-ws.8
