# core/ - IO-free protocol code: pure functions over byte buffers.
# Its include path is core/ alone, so that it cannot reach the layers above.
noinst_LIBRARIES += core/libchatcore.a
core_libchatcore_a_CPPFLAGS = -I$(top_srcdir)/core -I$(top_builddir)
core_libchatcore_a_SOURCES = \
	core/chat.c core/chat.h \
	core/buf.c core/buf.h \
	core/dest.c core/dest.h \
	core/mediatype.c core/mediatype.h \
	core/options.c core/options.h \
	core/logline.c core/logline.h \
	core/stomp.c core/stomp.h core/stomp_int.h \
	core/stomp_write.c \
	core/heartbeat.c core/heartbeat.h \
	core/json.c core/json.h core/json_int.h \
	core/json_object.c \
	core/sockjs.c core/sockjs.h \
	core/route.c core/route.h \
	core/chatmsg.c core/chatmsg.h \
	core/origin.c core/origin.h \
	core/utf8.c core/utf8.h \
	core/jtok.c core/jtok.h \
	core/hookmsg.c core/hookmsg.h \
	core/names.c core/names.h \
	core/clusterwire.c core/clusterwire.h \
	core/chatrow.c core/chatrow.h
