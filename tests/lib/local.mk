# tests/lib/ - helpers shared by C unit tests (Check runner glue).
check_LIBRARIES = tests/lib/libtestutil.a
tests_lib_libtestutil_a_SOURCES = tests/lib/testutil.c tests/lib/testutil.h
tests_lib_libtestutil_a_CFLAGS = $(TEST_CFLAGS)
# What every Check test program compiles with: Check, and tests/lib's
# headers (which the programs do not see).
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests/lib
EXTRA_DIST += tests/lib/nocheck/check.h
