# tests/unit/db/ - one Check program per db module (shared state: SQLite
# outbox and sessions, the cross-process doorbell).
DB_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SQLITE_CFLAGS)
DB_TEST_LDADD = tests/lib/libtestutil.a $(CHATDB_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/db/test_chatdb
TESTS += tests/unit/db/test_chatdb
tests_unit_db_test_chatdb_SOURCES = tests/unit/db/test_chatdb.c tests/unit/db/forkutil.h
tests_unit_db_test_chatdb_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_chatdb_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_outbox
TESTS += tests/unit/db/test_outbox
tests_unit_db_test_outbox_SOURCES = tests/unit/db/test_outbox.c tests/unit/db/forkutil.h
tests_unit_db_test_outbox_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_outbox_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_session
TESTS += tests/unit/db/test_session
tests_unit_db_test_session_SOURCES = tests/unit/db/test_session.c tests/unit/db/forkutil.h
tests_unit_db_test_session_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_session_LDADD = $(DB_TEST_LDADD)

check_PROGRAMS += tests/unit/db/test_doorbell
TESTS += tests/unit/db/test_doorbell
tests_unit_db_test_doorbell_SOURCES = tests/unit/db/test_doorbell.c tests/unit/db/forkutil.h
tests_unit_db_test_doorbell_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_doorbell_LDADD = $(DB_TEST_LDADD)

# A quick run of the doorbell benchmark (bench/doorbell_latency -n 100).
TESTS += tests/unit/db/doorbell_bench_smoke.sh
dist_noinst_SCRIPTS += tests/unit/db/doorbell_bench_smoke.sh
