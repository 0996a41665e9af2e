# tests/fuzz/ - one libFuzzer target per parser, each with a committed
# corpus in tests/fuzz/corpus/NAME/.
#
# Without --enable-fuzzing every target is linked with standalone.c and run
# by `make check`, replaying its corpus.  With --enable-fuzzing (CC=clang)
# the same sources link with libFuzzer; .ci/run fuzzes each for a bounded
# time:  tests/fuzz/fuzz_NAME -max_total_time=60 $(srcdir)/tests/fuzz/corpus/NAME
#
# To add a target NAME: write tests/fuzz/fuzz_NAME.c defining
# LLVMFuzzerTestOneInput, add a corpus directory, and append a block like
# the fuzz_dest one below (FUZZ_TARGETS += ..., SOURCES, CPPFLAGS, LDADD).
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run-fuzzers.sh tests/fuzz/fuzz.h

if FUZZING
FUZZ_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests/fuzz -fsanitize=fuzzer
FUZZ_LINKFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
FUZZ_MAIN =
else
FUZZ_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests/fuzz
FUZZ_LINKFLAGS = $(AM_LDFLAGS)
FUZZ_MAIN = tests/fuzz/standalone.c
endif
FUZZ_TARGETS =

FUZZ_TARGETS += tests/fuzz/fuzz_dest
tests_fuzz_fuzz_dest_SOURCES = tests/fuzz/fuzz_dest.c $(FUZZ_MAIN)
tests_fuzz_fuzz_dest_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/dest"'
tests_fuzz_fuzz_dest_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_dest_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_dest_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_stomp
tests_fuzz_fuzz_stomp_SOURCES = tests/fuzz/fuzz_stomp.c $(FUZZ_MAIN)
tests_fuzz_fuzz_stomp_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/stomp"'
tests_fuzz_fuzz_stomp_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_stomp_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_stomp_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_json
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c $(FUZZ_MAIN)
tests_fuzz_fuzz_json_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/json"'
tests_fuzz_fuzz_json_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_json_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_json_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_route
tests_fuzz_fuzz_route_SOURCES = tests/fuzz/fuzz_route.c $(FUZZ_MAIN)
tests_fuzz_fuzz_route_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/route"'
tests_fuzz_fuzz_route_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_route_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_route_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_chatmsg
tests_fuzz_fuzz_chatmsg_SOURCES = tests/fuzz/fuzz_chatmsg.c $(FUZZ_MAIN)
tests_fuzz_fuzz_chatmsg_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/chatmsg"'
tests_fuzz_fuzz_chatmsg_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_chatmsg_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_chatmsg_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_chatobj
tests_fuzz_fuzz_chatobj_SOURCES = tests/fuzz/fuzz_chatobj.c $(FUZZ_MAIN)
tests_fuzz_fuzz_chatobj_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/chatobj"'
tests_fuzz_fuzz_chatobj_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_chatobj_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_chatobj_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_hook
tests_fuzz_fuzz_hook_SOURCES = tests/fuzz/fuzz_hook.c $(FUZZ_MAIN)
tests_fuzz_fuzz_hook_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/hook"'
tests_fuzz_fuzz_hook_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_hook_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_hook_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_log
tests_fuzz_fuzz_log_SOURCES = tests/fuzz/fuzz_log.c $(FUZZ_MAIN)
tests_fuzz_fuzz_log_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/log"'
tests_fuzz_fuzz_log_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_log_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_log_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_origin
tests_fuzz_fuzz_origin_SOURCES = tests/fuzz/fuzz_origin.c $(FUZZ_MAIN)
tests_fuzz_fuzz_origin_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/origin"'
tests_fuzz_fuzz_origin_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_origin_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_origin_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_names
tests_fuzz_fuzz_names_SOURCES = tests/fuzz/fuzz_names.c $(FUZZ_MAIN)
tests_fuzz_fuzz_names_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/names"'
tests_fuzz_fuzz_names_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_names_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_names_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_chatrow
tests_fuzz_fuzz_chatrow_SOURCES = tests/fuzz/fuzz_chatrow.c $(FUZZ_MAIN)
tests_fuzz_fuzz_chatrow_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/chatrow"'
tests_fuzz_fuzz_chatrow_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_chatrow_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_chatrow_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_clusterwire
tests_fuzz_fuzz_clusterwire_SOURCES = tests/fuzz/fuzz_clusterwire.c $(FUZZ_MAIN)
tests_fuzz_fuzz_clusterwire_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/clusterwire"'
tests_fuzz_fuzz_clusterwire_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_clusterwire_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_clusterwire_LDADD = core/libchatcore.a

FUZZ_TARGETS += tests/fuzz/fuzz_mediatype
tests_fuzz_fuzz_mediatype_SOURCES = tests/fuzz/fuzz_mediatype.c $(FUZZ_MAIN)
tests_fuzz_fuzz_mediatype_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS='"$(abs_top_srcdir)/tests/fuzz/corpus/mediatype"'
tests_fuzz_fuzz_mediatype_CFLAGS = $(FUZZ_CFLAGS)
tests_fuzz_fuzz_mediatype_LDFLAGS = $(FUZZ_LINKFLAGS)
tests_fuzz_fuzz_mediatype_LDADD = core/libchatcore.a
