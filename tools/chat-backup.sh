#!/bin/sh
# chat-backup.sh - a consistent backup of a live chat server (docs/backup.md),
# kept for scripts that call it: the backup itself is `chatctl backup`
# (ctl/cmd_store.c, db/admin.c: SQLite's online backup API, chat.db first, then
# the history; mongodump for MongoDB), which this runs.
#
# Usage: tools/chat-backup.sh [--config FILE | --db PATH [--store URI]] DEST_DIR
#
# chatctl is $CHATCTL, else the build tree's ($top_builddir/ctl/chatctl, or
# ../ctl/chatctl next to this script in an in-tree build), else the one on
# PATH (make install, the .deb).
# Exit status: 0 done, 1 a copy failed, 2 bad usage.
set -u

usage() {
	echo "usage: $0 [--config FILE | --db PATH [--store URI]] DEST_DIR" >&2
	exit 2
}

cfg= db= store=
while [ $# -gt 0 ]; do
	case $1 in
	--config) [ $# -ge 2 ] || usage; cfg=$2; shift 2 ;;
	--db) [ $# -ge 2 ] || usage; db=$2; shift 2 ;;
	--store) [ $# -ge 2 ] || usage; store=$2; shift 2 ;;
	-h|--help|--*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
dest=$1
[ -n "$cfg" ] || [ -n "$db" ] || usage

here=$(cd "$(dirname "$0")" && pwd)
ctl=${CHATCTL:-}
for c in "${top_builddir:-}/ctl/chatctl" "$here/../ctl/chatctl"; do
	if [ -z "$ctl" ] && [ -x "$c" ]; then ctl=$c; fi
done
[ -n "$ctl" ] || ctl=$(command -v chatctl) || {
	echo "chat-backup: chatctl not found (build it, make install, or set CHATCTL)" >&2
	exit 1
}

# Later options win in chatctl: --db and --store over the file's.
set --
[ -z "$cfg" ] || set -- "$@" -c "$cfg"
[ -z "$db" ] || set -- "$@" "--db_path=$db"
[ -z "$store" ] || set -- "$@" "--store_uri=$store"
"$ctl" "$@" backup "$dest"
case $? in
0) exit 0 ;;
2) exit 2 ;;
*) exit 1 ;;
esac
