# tests/unit/fcgi/ - chat.fcgi's pure modules, each linked alone (with
# core/ for its buffers): no FastCGI library, no database.
check_PROGRAMS += tests/unit/fcgi/test_httpreq
TESTS += tests/unit/fcgi/test_httpreq
tests_unit_fcgi_test_httpreq_SOURCES = tests/unit/fcgi/test_httpreq.c fcgi/httpreq.c fcgi/httpreq.h
tests_unit_fcgi_test_httpreq_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_fcgi_test_httpreq_CFLAGS = $(TEST_CFLAGS)
tests_unit_fcgi_test_httpreq_LDADD = tests/lib/libtestutil.a core/libchatcore.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/fcgi/test_heldbeat
TESTS += tests/unit/fcgi/test_heldbeat
tests_unit_fcgi_test_heldbeat_SOURCES = tests/unit/fcgi/test_heldbeat.c fcgi/heldbeat.c fcgi/heldbeat.h
tests_unit_fcgi_test_heldbeat_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_fcgi_test_heldbeat_CFLAGS = $(TEST_CFLAGS)
tests_unit_fcgi_test_heldbeat_LDADD = tests/lib/libtestutil.a core/libchatcore.a $(CHECK_LIBS)
