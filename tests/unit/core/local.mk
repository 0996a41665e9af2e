# tests/unit/core/ - one Check program per core module.
CORE_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
CORE_TEST_LDADD = tests/lib/libtestutil.a core/libchatcore.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/core/test_buf
TESTS += tests/unit/core/test_buf
tests_unit_core_test_buf_SOURCES = tests/unit/core/test_buf.c
tests_unit_core_test_buf_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_buf_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_dest
TESTS += tests/unit/core/test_dest
tests_unit_core_test_dest_SOURCES = tests/unit/core/test_dest.c
tests_unit_core_test_dest_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_dest_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_options
TESTS += tests/unit/core/test_options
tests_unit_core_test_options_SOURCES = tests/unit/core/test_options.c
tests_unit_core_test_options_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_options_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_stomp
TESTS += tests/unit/core/test_stomp
tests_unit_core_test_stomp_SOURCES = tests/unit/core/test_stomp.c
tests_unit_core_test_stomp_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_stomp_LDADD = $(CORE_TEST_LDADD)

TESTS += tests/unit/core/reference.sh
EXTRA_DIST += tests/unit/core/reference.sh
