# tests/unit/db/ - db/ modules against real databases.
DB_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SQLITE_CFLAGS) $(MONGOC_CFLAGS) $(BSON_CFLAGS)
DB_TEST_LDADD = tests/lib/libtestutil.a $(CHATDB_LIBS) $(CHECK_LIBS)

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
TEST_EXTENSIONS += .mongo
MONGO_LOG_DRIVER = $(LOG_DRIVER)
MONGO_LOG_COMPILER = $(top_srcdir)/tests/fixtures/ferretdb/with-ferretdb.sh --tap
check_PROGRAMS += tests/unit/db/test_store.mongo
TESTS += tests/unit/db/test_store.mongo
tests_unit_db_test_store_mongo_SOURCES = tests/unit/db/test_store_mongo.c $(STORE_SUITE)
tests_unit_db_test_store_mongo_CFLAGS = $(DB_TEST_CFLAGS)
tests_unit_db_test_store_mongo_LDADD = $(DB_TEST_LDADD)
