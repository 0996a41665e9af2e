# fcgi/ - chat.fcgi, the FastCGI program: a thin IO shell over libchat.
bin_PROGRAMS += fcgi/chat.fcgi
fcgi_chat_fcgi_SOURCES = \
	fcgi/main.c $(START_SOURCES) \
	fcgi/handler.c fcgi/handler.h \
	fcgi/transport.c fcgi/transport.h fcgi/transport_int.h fcgi/transport_recv.c \
	fcgi/heldbeat.c fcgi/heldbeat.h \
	fcgi/http.c fcgi/http.h \
	fcgi/httpreq.c fcgi/httpreq.h \
	fcgi/api.c fcgi/api.h fcgi/api_int.h \
	fcgi/api_users.c fcgi/api_rooms.c fcgi/api_keyed.c
fcgi_chat_fcgi_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
fcgi_chat_fcgi_LDADD = $(CHATDB_LIBS) $(FCGI_LIBS)
fcgi_chat_fcgi_LDFLAGS = $(AM_LDFLAGS) $(BUNDLE_RPATH)
