#!/bin/sh
# reference.sh - docs/configuration.md is what `chat.fcgi --reference`
# prints from the option table (regenerate with `make docs`).
set -e
"$top_builddir/fcgi/chat.fcgi" --reference | diff -u "$top_srcdir/docs/configuration.md" - || {
	echo "docs/configuration.md is stale: run 'make docs'" >&2
	exit 1
}
