#!/usr/bin/env bash
# serve.sh - starts the whole stack: a front server (lighttpd, or Apache with
# mod_fcgid or mod_proxy_fcgi) with this project's configuration, chat.fcgi
# behind it, and the chat-ws WebSocket sidecar, all on one origin.
#
#   conf/serve.sh [--front lighttpd|apache|apache-fcgid|apache-proxy-fcgi]
#                 [--port N] [--bind ADDR] [--var DIR] [--builddir DIR]
#                 [--test-services] [--mongodb-uri URI] [--origins LIST] [--daemon]
#   conf/serve.sh --stop --var DIR
#
# Without --daemon it runs in the foreground until Ctrl-C and stops
# everything it started.  With --daemon it returns once the front server
# answers, leaving the PIDs in DIR/run/pids (for --stop and for tests).
# MONGODB_URI, SOCKJS_TEST_SERVICES=1 and CHAT_ORIGINS (the allowed
# Origins, comma-separated; default *) in the environment work as the
# options do.  Everything it writes goes below --var (default: var/ in the
# build directory).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
front=lighttpd port=8080 bind=127.0.0.1 var= builddir= daemon=0 stop=0
test_services=${SOCKJS_TEST_SERVICES:-0}
mongodb_uri=${MONGODB_URI:-}
origins=${CHAT_ORIGINS:-*}
fcgi_procs=${FCGI_PROCS:-2}
ws_port= fcgi_port=

die() { echo "serve.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--front) front=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--bind) bind=$2; shift 2 ;;
	--var) var=$2; shift 2 ;;
	--builddir) builddir=$2; shift 2 ;;
	--ws-port) ws_port=$2; shift 2 ;;
	--test-services) test_services=1; shift ;;
	--mongodb-uri) mongodb_uri=$2; shift 2 ;;
	--origins) origins=$2; shift 2 ;;
	--daemon) daemon=1; shift ;;
	--stop) stop=1; shift ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[ -n "$builddir" ] || builddir=$(pwd)
builddir=$(cd "$builddir" && pwd)
[ -n "$var" ] || var=$builddir/var
mkdir -p "$var"
var=$(cd "$var" && pwd)
run=$var/run

stop_all() {
	[ -f "$run/pids" ] || return 0
	# Newest first: the front server before the programs behind it.
	tac "$run/pids" | while read -r pid name; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	tac "$run/pids" | while read -r pid name; do
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -f "$run/pids"
}
if [ "$stop" = 1 ]; then stop_all; exit 0; fi

case $front in
lighttpd|apache-fcgid|apache-proxy-fcgi) ;;
apache) front=apache-fcgid ;;
*) die "--front must be lighttpd, apache (mod_fcgid), apache-fcgid or apache-proxy-fcgi" ;;
esac
fcgi=$builddir/fcgi/chat.fcgi
ws=$builddir/ws/chat-ws
[ -x "$fcgi" ] || die "$fcgi not built: run make first"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
[ -n "$ws_port" ] || ws_port=$(free_port)
[ -n "$fcgi_port" ] || fcgi_port=$(free_port)

stop_all
rm -rf "$run" && mkdir -p "$run/fcgid"
prefixes=chat
[ "$test_services" = 1 ] && prefixes="chat|echo|close|disabled_websocket_echo|cookie_needed_echo"
websocket=0
[ -x "$ws" ] && websocket=1
store_uri="sqlite:$var/history.db"
[ -n "$mongodb_uri" ] && store_uri=$mongodb_uri

cat >"$run/chat.conf" <<CONF
# written by conf/serve.sh; see docs/configuration.md
db_path = $var/chat.db
bell_path = $var/chat.bell
store_uri = "$store_uri"
prefix = /chat
sockjs_url = /js/sockjs.min.js
ws_port = $ws_port
websocket = $websocket
test_services = $test_services
origins = "$origins"
CONF

user_line= group_line= as_user=
if [ "$(id -u)" = 0 ] && [ "$front" != lighttpd ]; then
	# Apache drops root for its workers (and mod_fcgid's chat.fcgi): let
	# that account use the state directory, and run chat-ws as it too, or
	# the files chat-ws creates first (chat.db, chat.bell) lock chat.fcgi out.
	user_line="User www-data" group_line="Group www-data"
	chown -R www-data:www-data "$var"
	as_user="setpriv --reuid=www-data --regid=www-data --init-groups"
fi

render() {
	sed -e "s|@BIND@|$bind|g" -e "s|@PORT@|$port|g" -e "s|@WWW@|$src/www|g" \
	    -e "s|@RUN@|$run|g" -e "s|@FCGI@|$fcgi|g" -e "s|@FCGI_DIR@|$(dirname "$fcgi")|g" \
	    -e "s|@FCGI_PROCS@|$fcgi_procs|g" -e "s|@FCGI_PORT@|$fcgi_port|g" \
	    -e "s|@CHAT_CONFIG@|$run/chat.conf|g" -e "s|@WS_PORT@|$ws_port|g" \
	    -e "s/@PREFIXES@/$prefixes/g" -e "s|@MODULES@|/usr/lib/apache2/modules|g" \
	    -e "s|@USER_LINE@|$user_line|g" -e "s|@GROUP_LINE@|$group_line|g" "$1" >"$2"
}

started() { echo "$1 $2" >>"$run/pids"; }
trap 'stop_all' INT TERM
[ "$daemon" = 1 ] || trap 'stop_all' EXIT

if [ "$websocket" = 1 ]; then
	# shellcheck disable=SC2086
	CHAT_CONFIG=$run/chat.conf $as_user "$ws" --ws_listen 127.0.0.1 >>"$run/chat-ws.log" 2>&1 &
	started $! chat-ws
fi
case $front in
lighttpd)
	command -v lighttpd >/dev/null || PATH=$PATH:/usr/sbin
	render "$src/conf/lighttpd.conf.in" "$run/lighttpd.conf"
	lighttpd -tt -f "$run/lighttpd.conf" >/dev/null || die "lighttpd rejected $run/lighttpd.conf"
	lighttpd -D -f "$run/lighttpd.conf" >>"$run/lighttpd.log" 2>&1 &
	started $! lighttpd
	;;
apache-fcgid|apache-proxy-fcgi)
	command -v apache2 >/dev/null || PATH=$PATH:/usr/sbin
	if [ "$front" = apache-proxy-fcgi ]; then
		# shellcheck disable=SC2086
		CHAT_CONFIG=$run/chat.conf $as_user "$fcgi" --fcgi_listen "127.0.0.1:$fcgi_port" \
			>>"$run/chat.fcgi.log" 2>&1 &
		started $! chat.fcgi
	fi
	render "$src/conf/$front.conf.in" "$run/apache.conf"
	apache2 -t -f "$run/apache.conf" >/dev/null 2>&1 ||
		{ apache2 -t -f "$run/apache.conf"; die "apache2 rejected $run/apache.conf"; }
	apache2 -f "$run/apache.conf" -DFOREGROUND >>"$run/apache.log" 2>&1 &
	started $! apache2
	;;
esac

# The front server is ready when it answers the greeting.
url="http://$bind:$port/chat"
for _ in $(seq 200); do
	if curl -fsS -m 5 -o /dev/null "$url" 2>/dev/null; then break; fi
	tail -n +1 "$run/pids" | while read -r pid name; do
		kill -0 "$pid" 2>/dev/null || { echo "serve.sh: $name exited; see $run/" >&2; exit 1; }
	done || { stop_all; exit 1; }
	sleep 0.05
done
curl -fsS -m 5 -o /dev/null "$url" || { stop_all; die "no answer from $url; logs in $run/"; }
echo "ready: http://$bind:$port/ ($front, state in $var)"
if [ "$daemon" = 1 ]; then exit 0; fi
wait
