#!/usr/bin/env bash
# check-format.sh - fails when a C file differs from what clang-format makes
# of it with the tree's .clang-format, and prints the diff.  The files are
# those tools/format-files lists (one path a line, '#' comments), so that
# formatting can be switched on as the tree is formatted; --all checks every
# tracked *.c and *.h.  Formatting a file: clang-format -i FILE.
set -euo pipefail
cd "${top_srcdir:-$(dirname "$0")/..}"

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
command -v "$CLANG_FORMAT" >/dev/null || {
	echo "check-format: $CLANG_FORMAT not found (apt-get install clang-format)" >&2
	exit 2
}

if [ "${1:-}" = --all ]; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tools/format-files)
fi

bad=0
n=0
for f in $files; do
	n=$((n + 1))
	if ! "$CLANG_FORMAT" --style=file "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" -; then
		bad=$((bad + 1))
	fi
done
if [ "$bad" != 0 ]; then
	echo "check-format: $bad of $n files differ from clang-format's output (diffs above);" \
	     "clang-format -i them" >&2
	exit 1
fi
echo "check-format: $n files formatted"
