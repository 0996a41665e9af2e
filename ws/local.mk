# ws/ - chat-ws, the WebSocket sidecar (libwebsockets): a thin IO shell
# over libchat.
bin_PROGRAMS += ws/chat-ws
ws_chat_ws_SOURCES = \
	ws/main.c \
	ws/server.c ws/server.h ws/server_int.h \
	ws/conn.c ws/upgrade.c \
	ws/wsq.c ws/wsq.h
ws_chat_ws_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS)
ws_chat_ws_LDADD = $(CHATDB_LIBS) $(LWS_LIBS)
ws_chat_ws_LDFLAGS = $(AM_LDFLAGS) $(BUNDLE_RPATH)

# Unit tests of ws/'s pure parts (here, not in tests/unit/ws/local.mk, which
# Makefile.am does not include).
check_PROGRAMS += tests/unit/ws/test_wsq
TESTS += tests/unit/ws/test_wsq
tests_unit_ws_test_wsq_SOURCES = tests/unit/ws/test_wsq.c ws/wsq.c ws/wsq.h
tests_unit_ws_test_wsq_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/ws
tests_unit_ws_test_wsq_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_ws_test_wsq_LDADD = tests/lib/libtestutil.a core/libchatcore.a $(CHECK_LIBS)
