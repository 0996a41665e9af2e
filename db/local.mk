# db/ - state shared by all processes (SQLite, MongoDB); the only code that
# touches a database.
noinst_LIBRARIES += db/libchatdb.a
db_libchatdb_a_SOURCES = \
	db/chatdb.c db/chatdb_schema.c db/chatdb.h db/chatdb_int.h \
	db/outbox.c db/outbox.h \
	db/session.c db/session_subs.c db/session.h \
	db/doorbell.c db/doorbell.h
db_libchatdb_a_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(MONGOC_CFLAGS) $(SODIUM_CFLAGS)
# What a program linking libchatdb.a must also link.
CHATDB_LIBS = db/libchatdb.a $(CHATPROC_LIBS) $(SQLITE_LIBS) $(MONGOC_LIBS) $(SODIUM_LIBS)

# The durable store (users, rooms, history): one interface, two backends;
# MongoDB's only --with-mongo (HAVE_MONGO; MONGOC_* hold libbson too).
db_libchatdb_a_SOURCES += \
	db/store.c db/store.h \
	db/store_sqlite.c
if HAVE_MONGO
db_libchatdb_a_SOURCES += db/store_mongo.c db/store_mongo_msg.c db/store_mongo_int.h
endif

# SockJS services (echo, close, chat) over the shared sessions.
db_libchatdb_a_SOURCES += db/service.c db/service.h \
	db/delivery.c db/delivery_render.c db/delivery.h db/delivery_int.h \
	db/dispatch.c db/dispatch_route.c db/dispatch_take.c db/dispatch.h db/dispatch_int.h \
	db/background.c db/background.h \
	db/metrics.c db/metrics.h

# The STOMP broker and the chat application's handlers (the chat service).
db_libchatdb_a_SOURCES += db/broker.c db/broker.h db/broker_int.h \
	db/broker_connect.c db/broker_subscribe.c db/broker_send.c db/broker_ack.c db/broker_ack.h \
	db/broker_tx.c db/broker_sweep.c db/broker_state.c db/broker_state.h \
	db/chatapp.c db/chatapp.h db/chatapp_room.c db/chatapp_dm.c db/chatapp_hook.c db/chatapp_history.c \
	db/queue.c db/queue.h db/hook.c db/hook.h

# Users' passwords and login tokens; rooms; the outbox -> store relay.
db_libchatdb_a_SOURCES += db/auth.c db/auth_ban.c db/auth.h db/authlimit.c db/authlimit.h db/ratelimit.c db/ratelimit.h db/chatroom.c db/chatroom_list.c db/chatroom.h db/chatroom_int.h db/relay.c db/relay.h db/dm.c db/dm.h

# What chatctl reads and copies (db/admin.h).
db_libchatdb_a_SOURCES += db/admin.c db/admin.h

# More than one machine: the STOMP broker relay to RabbitMQ.
db_libchatdb_a_SOURCES += db/cluster.c db/cluster.h db/cluster_int.h \
	db/cluster_rows.c db/cluster_forward.c db/cluster_intake.c db/cluster_hold.c \
	db/cluster_presence.c

# Named counters in chat.db (guest names; the cluster's id clock and marks).
db_libchatdb_a_SOURCES += db/counters.c db/counters.h
