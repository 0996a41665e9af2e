#!/bin/sh
# chat-backup.sh - a consistent backup of a live chat server (docs/backup.md).
#
# Usage: tools/chat-backup.sh [--config FILE | --db PATH [--store URI]] DEST_DIR
#
# Copies chat.db to DEST_DIR/chat.db with SQLite's online backup API
# (sqlite3 ".backup"), then the history: a SQLite store ("sqlite:PATH") to
# DEST_DIR/history.db the same way, a MongoDB store with mongodump into
# DEST_DIR/mongodump (when mongodump is installed; otherwise it says what
# to run).  Writers go on meanwhile; each copy is one consistent snapshot.
#
# chat.db is copied FIRST on purpose: the history copy taken after it holds
# every message chat.db's relay cursor says is copied (and perhaps more,
# which the relay copies again as a no-op), and on start the ids continue
# above the history's highest.  The other order could restore a cursor past
# messages the history copy lacks.
#
# --config FILE reads db_path and store_uri from a chat.conf (run/chat.conf
# of conf/serve.sh); otherwise --db and --store say where they are.
# Exit status: 0 done, 1 a copy failed, 2 bad usage.
set -u

usage() {
	echo "usage: $0 [--config FILE | --db PATH [--store URI]] DEST_DIR" >&2
	exit 2
}

die() {
	echo "chat-backup: $*" >&2
	exit 1
}

# The value of option $1 in chat.conf $2 ("name = value", value maybe quoted).
conf_value() {
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$2" | tail -n 1 |
		sed 's/^"\(.*\)"[[:space:]]*$/\1/'
}

db= store= config=
while [ $# -gt 0 ]; do
	case $1 in
	--config) [ $# -ge 2 ] || usage; config=$2; shift 2 ;;
	--db) [ $# -ge 2 ] || usage; db=$2; shift 2 ;;
	--store) [ $# -ge 2 ] || usage; store=$2; shift 2 ;;
	-h|--help) usage ;;
	--*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
dest=$1
if [ -n "$config" ]; then
	[ -r "$config" ] || die "cannot read $config"
	[ -n "$db" ] || db=$(conf_value db_path "$config")
	[ -n "$store" ] || store=$(conf_value store_uri "$config")
fi
[ -n "$db" ] || usage
[ -f "$db" ] || die "no chat.db at $db"
command -v sqlite3 >/dev/null 2>&1 || die "the sqlite3 shell is missing (Debian: apt-get install sqlite3)"
mkdir -p "$dest" || die "cannot create $dest"
for f in chat.db history.db; do
	[ -e "$dest/$f" ] && die "$dest/$f exists: back up into an empty directory"
done

# A path for sqlite3's dot-command: double quotes, backslashes doubled.
quoted() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

backup() {
	# -bail: stop at the first error; .timeout: wait for writers' locks.
	sqlite3 -bail "$1" ".timeout 5000" ".backup $(quoted "$2")" ||
		die "backing up $1 failed"
	[ "$(sqlite3 "$2" 'PRAGMA integrity_check')" = ok ] || die "the copy $2 is not sound"
	echo "chat-backup: $1 -> $2"
}

backup "$db" "$dest/chat.db"
case $store in
sqlite:*)
	backup "${store#sqlite:}" "$dest/history.db"
	;;
mongodb://*|mongodb+srv://*)
	if command -v mongodump >/dev/null 2>&1; then
		mongodump --quiet --uri="$store" --out="$dest/mongodump" || die "mongodump failed"
		echo "chat-backup: $store -> $dest/mongodump"
	else
		echo "chat-backup: MongoDB history: run now (mongodump is not installed here):" >&2
		echo "  mongodump --uri='$store' --out='$dest/mongodump'" >&2
	fi
	;;
'')
	echo "chat-backup: no store given: only chat.db was copied" >&2
	;;
*)
	die "unknown store URI $store"
	;;
esac
