# tests/unit/core/ - one Check program per core module.
CORE_TEST_CFLAGS = $(TEST_CFLAGS)
CORE_TEST_LDADD = tests/lib/libtestutil.a core/libchatcore.a $(CHECK_LIBS)

check_PROGRAMS += tests/unit/core/test_buf
TESTS += tests/unit/core/test_buf
tests_unit_core_test_buf_SOURCES = tests/unit/core/test_buf.c
tests_unit_core_test_buf_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_buf_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_chat
TESTS += tests/unit/core/test_chat
tests_unit_core_test_chat_SOURCES = tests/unit/core/test_chat.c
tests_unit_core_test_chat_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_chat_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_dest
TESTS += tests/unit/core/test_dest
tests_unit_core_test_dest_SOURCES = tests/unit/core/test_dest.c
tests_unit_core_test_dest_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_dest_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_mediatype
TESTS += tests/unit/core/test_mediatype
tests_unit_core_test_mediatype_SOURCES = tests/unit/core/test_mediatype.c
tests_unit_core_test_mediatype_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_mediatype_LDADD = $(CORE_TEST_LDADD)

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

check_PROGRAMS += tests/unit/core/test_chatrow
TESTS += tests/unit/core/test_chatrow
tests_unit_core_test_chatrow_SOURCES = tests/unit/core/test_chatrow.c
tests_unit_core_test_chatrow_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_chatrow_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_chatmsg
TESTS += tests/unit/core/test_chatmsg
tests_unit_core_test_chatmsg_SOURCES = tests/unit/core/test_chatmsg.c
tests_unit_core_test_chatmsg_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_chatmsg_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_log
TESTS += tests/unit/core/test_log
tests_unit_core_test_log_SOURCES = tests/unit/core/test_log.c
tests_unit_core_test_log_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_log_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_origin
TESTS += tests/unit/core/test_origin
tests_unit_core_test_origin_SOURCES = tests/unit/core/test_origin.c
tests_unit_core_test_origin_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_origin_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_utf8
TESTS += tests/unit/core/test_utf8
tests_unit_core_test_utf8_SOURCES = tests/unit/core/test_utf8.c
tests_unit_core_test_utf8_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_utf8_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_hookmsg
TESTS += tests/unit/core/test_hookmsg
tests_unit_core_test_hookmsg_SOURCES = tests/unit/core/test_hookmsg.c
tests_unit_core_test_hookmsg_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_hookmsg_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_names
TESTS += tests/unit/core/test_names
tests_unit_core_test_names_SOURCES = tests/unit/core/test_names.c
tests_unit_core_test_names_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_names_LDADD = $(CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/core/test_heartbeat
TESTS += tests/unit/core/test_heartbeat
tests_unit_core_test_heartbeat_SOURCES = tests/unit/core/test_heartbeat.c
tests_unit_core_test_heartbeat_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_core_test_heartbeat_LDADD = $(CORE_TEST_LDADD)
