# tests/unit/core/ - one Check program per core module.
CORE_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
CORE_TEST_LDADD = tests/lib/libtestutil.a core/libchatcore.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/core/test_buf
TESTS += tests/unit/core/test_buf
tests_unit_core_test_buf_SOURCES = tests/unit/core/test_buf.c
tests_unit_core_test_buf_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_buf_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_json
TESTS += tests/unit/core/test_json
tests_unit_core_test_json_SOURCES = tests/unit/core/test_json.c
tests_unit_core_test_json_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_json_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_sockjs
TESTS += tests/unit/core/test_sockjs
tests_unit_core_test_sockjs_SOURCES = tests/unit/core/test_sockjs.c
tests_unit_core_test_sockjs_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_sockjs_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_route
TESTS += tests/unit/core/test_route
tests_unit_core_test_route_SOURCES = tests/unit/core/test_route.c
tests_unit_core_test_route_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_route_LDADD = $(CORE_TEST_LDADD)
