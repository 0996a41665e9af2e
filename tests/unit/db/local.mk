# tests/unit/db/ - one Check program per db module, against real databases
# (SQLite outbox and sessions, the cross-process doorbell, both stores).
DB_TEST_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS) $(MONGOC_CFLAGS)
DB_TEST_LDADD = tests/lib/libtestutil.a $(CHATDB_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/db/test_chatdb
TESTS += tests/unit/db/test_chatdb
tests_unit_db_test_chatdb_SOURCES = tests/unit/db/test_chatdb.c tests/unit/db/forkutil.h
tests_unit_db_test_chatdb_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_chatdb_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_outbox
TESTS += tests/unit/db/test_outbox
tests_unit_db_test_outbox_SOURCES = tests/unit/db/test_outbox.c tests/unit/db/forkutil.h \
	tests/unit/db/tmpdb.h
tests_unit_db_test_outbox_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_outbox_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_session
TESTS += tests/unit/db/test_session
tests_unit_db_test_session_SOURCES = tests/unit/db/test_session.c tests/unit/db/forkutil.h \
	tests/unit/db/tmpdb.h
tests_unit_db_test_session_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_session_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_queue
TESTS += tests/unit/db/test_queue
tests_unit_db_test_queue_SOURCES = tests/unit/db/test_queue.c tests/unit/db/tmpdb.h
tests_unit_db_test_queue_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_queue_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_authlimit
TESTS += tests/unit/db/test_authlimit
tests_unit_db_test_authlimit_SOURCES = tests/unit/db/test_authlimit.c tests/unit/db/tmpdb.h
tests_unit_db_test_authlimit_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_authlimit_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_ratelimit
TESTS += tests/unit/db/test_ratelimit
tests_unit_db_test_ratelimit_SOURCES = tests/unit/db/test_ratelimit.c tests/unit/db/tmpdb.h
tests_unit_db_test_ratelimit_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_ratelimit_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_doorbell
TESTS += tests/unit/db/test_doorbell
tests_unit_db_test_doorbell_SOURCES = tests/unit/db/test_doorbell.c tests/unit/db/forkutil.h
tests_unit_db_test_doorbell_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_doorbell_LDADD = $(DB_TEST_LDADD)

# A quick run of the doorbell benchmark (bench/doorbell_latency -n 100).
TESTS += tests/unit/db/doorbell_bench_smoke.sh
dist_noinst_SCRIPTS += tests/unit/db/doorbell_bench_smoke.sh

# The store: one suite (store_suite.c), one program per backend.
STORE_SUITE = tests/unit/db/store_suite.c tests/unit/db/store_suite.h

check_PROGRAMS += tests/unit/db/test_store_sqlite
TESTS += tests/unit/db/test_store_sqlite
tests_unit_db_test_store_sqlite_SOURCES = tests/unit/db/test_store_sqlite.c $(STORE_SUITE)
tests_unit_db_test_store_sqlite_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_store_sqlite_LDADD = $(DB_TEST_LDADD)

# MongoDB tests are TAP tests with the extension .mongo: automake runs them
# through with-ferretdb.sh, which provides MONGODB_URI (FerretDB, or the
# server the environment names) and SKIPs without a fixture.
# Without --with-mongo, none of them is built.
TEST_EXTENSIONS += .mongo
MONGO_LOG_DRIVER = $(LOG_DRIVER)
MONGO_LOG_COMPILER = $(top_srcdir)/tests/fixtures/ferretdb/with-ferretdb.sh --tap
if HAVE_MONGO
check_PROGRAMS += tests/unit/db/test_store.mongo
TESTS += tests/unit/db/test_store.mongo
tests_unit_db_test_store_mongo_SOURCES = tests/unit/db/test_store_mongo.c $(STORE_SUITE)
tests_unit_db_test_store_mongo_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_store_mongo_LDADD = $(DB_TEST_LDADD)
endif

# Driving the chat service (sessions, send, collect) and a temp chat.db,
# shared by the broker and chat application tests.
BROKERUTIL = tests/unit/db/brokerutil.c tests/unit/db/brokerutil.h tests/unit/db/tmpdb.h

check_PROGRAMS += tests/unit/db/test_broker
TESTS += tests/unit/db/test_broker
tests_unit_db_test_broker_SOURCES = tests/unit/db/test_broker.c $(BROKERUTIL)
tests_unit_db_test_broker_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_broker_LDADD = $(DB_TEST_LDADD)

# The per-process dispatcher (fan-out index, lagging sessions, acks).
check_PROGRAMS += tests/unit/db/test_dispatch
TESTS += tests/unit/db/test_dispatch
tests_unit_db_test_dispatch_SOURCES = tests/unit/db/test_dispatch.c $(BROKERUTIL)
tests_unit_db_test_dispatch_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_dispatch_LDADD = $(DB_TEST_LDADD)

# The chat application (users, rooms, presence, history, resume, relay)
# against each store backend; the MongoDB one also stops and restarts a
# FerretDB fixture mid-test.
check_PROGRAMS += tests/unit/db/test_chatapp_sqlite
TESTS += tests/unit/db/test_chatapp_sqlite
tests_unit_db_test_chatapp_sqlite_SOURCES = tests/unit/db/test_chatapp.c $(BROKERUTIL)
tests_unit_db_test_chatapp_sqlite_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_chatapp_sqlite_LDADD = $(DB_TEST_LDADD)

if HAVE_MONGO
check_PROGRAMS += tests/unit/db/test_chatapp.mongo
TESTS += tests/unit/db/test_chatapp.mongo
tests_unit_db_test_chatapp_mongo_SOURCES = tests/unit/db/test_chatapp.c $(BROKERUTIL)
tests_unit_db_test_chatapp_mongo_CFLAGS = $(DB_TEST_CFLAGS) -DCHATAPP_MONGO
tests_unit_db_test_chatapp_mongo_LDADD = $(DB_TEST_LDADD)
endif

check_PROGRAMS += tests/unit/db/test_hook
TESTS += tests/unit/db/test_hook
tests_unit_db_test_hook_SOURCES = tests/unit/db/test_hook.c
tests_unit_db_test_hook_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_hook_LDADD = $(DB_TEST_LDADD)

# Metrics of every process summed in chat.db (db/metrics.c).
check_PROGRAMS += tests/unit/db/test_metrics
TESTS += tests/unit/db/test_metrics
tests_unit_db_test_metrics_SOURCES = tests/unit/db/test_metrics.c $(BROKERUTIL)
tests_unit_db_test_metrics_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_metrics_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_admin
TESTS += tests/unit/db/test_admin
tests_unit_db_test_admin_SOURCES = tests/unit/db/test_admin.c tests/unit/db/forkutil.h \
	tests/unit/db/tmpdb.h
tests_unit_db_test_admin_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_admin_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_cluster
TESTS += tests/unit/db/test_cluster
tests_unit_db_test_cluster_SOURCES = tests/unit/db/test_cluster.c tests/unit/db/tmpdb.h
tests_unit_db_test_cluster_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_cluster_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_chatroom
TESTS += tests/unit/db/test_chatroom
tests_unit_db_test_chatroom_SOURCES = tests/unit/db/test_chatroom.c tests/unit/db/tmpdb.h
tests_unit_db_test_chatroom_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_chatroom_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_heartbeat
TESTS += tests/unit/db/test_heartbeat
tests_unit_db_test_heartbeat_SOURCES = tests/unit/db/test_heartbeat.c $(BROKERUTIL)
tests_unit_db_test_heartbeat_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_heartbeat_LDADD = $(DB_TEST_LDADD)
