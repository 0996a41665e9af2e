#!/usr/bin/env bash
# check-banned.sh - fails when the C sources (tests included) call a banned
# function (CONVENTIONS.md: no strcpy/sprintf/strcat): sprintf, vsprintf,
# strcpy, strcat, strncpy, gets, atoi, atol, atoll.  Use snprintf, memcpy with a
# length, chat_buf, and strtol/strtoll with their end pointer checked.
# Comments and string literals are not looked at.  Run by make check
# (TESTS) and CI; from the source tree or with top_srcdir set.
set -euo pipefail
cd "${top_srcdir:-$(dirname "$0")/..}"

BANNED='sprintf|vsprintf|strcpy|strcat|strncpy|gets|atoi|atol|atoll'
DIRS="core proc db fcgi ws ctl bench tests"

# Drops string and character literals, // comments and /* */ comments (also
# across lines), then reports each NAME( with its file and line.
# shellcheck disable=SC2086
files=$(find $DIRS -name node_modules -prune -o -name '*.[ch]' -print | LC_ALL=C sort)
# shellcheck disable=SC2086
found=$(awk -v re="(^|[^A-Za-z0-9_])(${BANNED})[ \t]*[(]" '
	FNR == 1 { incomment = 0 }
	{
		line = $0
		out = ""
		while (length(line) > 0) {
			if (incomment) {
				i = index(line, "*/")
				if (i == 0) { line = ""; break }
				line = substr(line, i + 2); incomment = 0
				continue
			}
			c = substr(line, 1, 1); c2 = substr(line, 1, 2)
			if (c2 == "/*") { incomment = 1; line = substr(line, 3); continue }
			if (c2 == "//") break
			if (c == "\"" || c == "\047") {
				q = c; line = substr(line, 2)
				while (length(line) > 0) {
					d = substr(line, 1, 1)
					if (d == "\\") { line = substr(line, 3); continue }
					line = substr(line, 2)
					if (d == q) break
				}
				out = out q q
				continue
			}
			out = out c; line = substr(line, 2)
		}
		if (out ~ re)
			printf "%s:%d: %s\n", FILENAME, FNR, $0
	}' $files)

if [ -n "$found" ]; then
	printf '%s\n' "$found"
	echo "check-banned: the lines above call a banned function ($BANNED);" \
	     "see tools/check-banned.sh for what to use instead" >&2
	exit 1
fi
echo "check-banned: no banned function in $DIRS"
