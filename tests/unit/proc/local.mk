# tests/unit/proc/ - process plumbing: option loading and the logger.
check_PROGRAMS += tests/unit/proc/test_optload
TESTS += tests/unit/proc/test_optload
tests_unit_proc_test_optload_SOURCES = tests/unit/proc/test_optload.c
tests_unit_proc_test_optload_CFLAGS = $(TEST_CFLAGS)
tests_unit_proc_test_optload_LDADD = tests/lib/libtestutil.a $(CHATPROC_LIBS) $(CHECK_LIBS)
