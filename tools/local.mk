# tools/ - the conventions that check themselves: no banned function (run by
# make check and CI), and the tree formatted by .clang-format (CI).
TESTS += tools/check-banned.sh
dist_noinst_SCRIPTS += tools/check-banned.sh tools/check-format.sh
EXTRA_DIST += .clang-format tools/format-files
