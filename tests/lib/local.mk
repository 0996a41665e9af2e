# tests/lib/ - helpers shared by C unit tests (Check runner glue).
check_LIBRARIES = tests/lib/libtestutil.a
tests_lib_libtestutil_a_SOURCES = tests/lib/testutil.c tests/lib/testutil.h
tests_lib_libtestutil_a_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
