# core/ - IO-free protocol code: pure functions over byte buffers.
noinst_LIBRARIES += core/libchatcore.a
core_libchatcore_a_SOURCES = \
	core/chat.c core/chat.h \
	core/buf.c core/buf.h \
	core/json.c core/json.h \
	core/sockjs.c core/sockjs.h \
	core/route.c core/route.h
