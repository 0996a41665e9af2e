#!/usr/bin/env bash
# serve.sh - starts the whole stack: a front server (lighttpd, or Apache with
# mod_fcgid or mod_proxy_fcgi; or chat.fcgi as plain CGI under lighttpd
# mod_cgi or Apache mod_cgid) with this project's configuration, chat.fcgi
# behind it, and the chat-ws WebSocket sidecar, all on one origin.
#
#   conf/serve.sh [--front lighttpd|apache|apache-fcgid|apache-proxy-fcgi|lighttpd-cgi|apache-cgid]
#                 [--port N] [--bind ADDR] [--var DIR] [--builddir DIR | --bindir DIR]
#                 [--test-services] [--mongodb-uri URI] [--origins LIST] [--daemon]
#                 [--endpoints LIST] [--app-prefixes LIST] [--broker-prefixes LIST]
#                 [--user-prefix P] [--sockjs-url URL] [--set OPTION=VALUE]...
#   conf/serve.sh --stop --var DIR
#
# Without --daemon it runs in the foreground until Ctrl-C and stops
# everything it started.  With --daemon it returns once the front server
# answers, leaving the PIDs in DIR/run/pids (for --stop and for tests);
# --stop also ends the chat.fcgi processes the front server spawned.  A
# start that fails stops what it started.  chat-ws runs under a supervisor
# (this script, "chat-ws-supervisor" in the pid file) that restarts it when
# it exits, after 0.25 s doubling to 30 s while it keeps dying within 30 s
# of its start, and keeps its line in the pid file current; TERM to the
# supervisor (or --stop) stops both (docs/supervision.md).
# MONGODB_URI, SOCKJS_TEST_SERVICES=1,
# CHAT_ORIGINS (the allowed Origins, comma-separated; default *),
# FCGI_PROCS (lighttpd's chat.fcgi processes), FCGID_MAX_PROCS (mod_fcgid's,
# one held request each), PROXY_IDLE_TIMEOUT (the front server's idle
# timeout in seconds, @IDLE_TIMEOUT@ in its configuration; default 60, as
# shipped: tests lower it), LIGHTTPD and APACHE2 in the environment are
# honoured.  --endpoints (comma-separated SockJS paths, default /chat) is
# also routed by the front server's configuration; --app-prefixes,
# --broker-prefixes, --user-prefix and --sockjs-url set those options
# (a Spring tutorial's "/pub" + "/sub" at "/stomp/chat": --endpoints
# /stomp/chat --app-prefixes /pub --broker-prefixes /sub).
# --set adds an option of docs/configuration.md to chat.conf.
# Everything it writes goes below --var (default: var/ in the build dir).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
front=lighttpd port=8080 bind=127.0.0.1 var= builddir= bindir= daemon=0 stop=0
test_services=${SOCKJS_TEST_SERVICES:-0}
mongodb_uri=${MONGODB_URI:-}
origins=${CHAT_ORIGINS:-*}
fcgi_procs=${FCGI_PROCS:-2}
fcgid_max_procs=${FCGID_MAX_PROCS:-64}
idle_timeout=${PROXY_IDLE_TIMEOUT:-60}
case $idle_timeout in ''|*[!0-9]*) echo "serve.sh: PROXY_IDLE_TIMEOUT must be a number of seconds" >&2; exit 2 ;; esac
ws_port= fcgi_port= extra_options= supervise=
endpoints=${CHAT_ENDPOINTS:-/chat} sockjs_url=${CHAT_SOCKJS_URL:-/js/sockjs.min.js}
app_prefixes=${CHAT_APP_PREFIXES:-/app} broker_prefixes=${CHAT_BROKER_PREFIXES:-/topic,/queue}
user_prefix=${CHAT_USER_PREFIX:-/user}

die() { echo "serve.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--front) front=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--bind) bind=$2; shift 2 ;;
	--var) var=$2; shift 2 ;;
	--builddir) builddir=$2; shift 2 ;;
	--bindir) bindir=$2; shift 2 ;; # installed programs (make install, the .deb)
	--ws-port) ws_port=$2; shift 2 ;;
	--test-services) test_services=1; shift ;;
	--mongodb-uri) mongodb_uri=$2; shift 2 ;;
	# The front server routes the endpoints too: --set endpoints=... is --endpoints.
	--set) case $2 in endpoints=*) endpoints=${2#endpoints=} ;; *) extra_options+="$2"$'\n' ;; esac; shift 2 ;;
	--origins) origins=$2; shift 2 ;;
	--endpoints) endpoints=$2; shift 2 ;;
	--app-prefixes) app_prefixes=$2; shift 2 ;;
	--broker-prefixes) broker_prefixes=$2; shift 2 ;;
	--user-prefix) user_prefix=$2; shift 2 ;;
	--sockjs-url) sockjs_url=$2; shift 2 ;;
	--daemon) daemon=1; shift ;;
	--stop) stop=1; shift ;;
	--supervise) supervise=$2; shift 2 ;; # internal: --supervise NAME -- CMD...
	--) shift; break ;;
	-h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[ -n "$builddir" ] || builddir=$(pwd)
builddir=$(cd "$builddir" && pwd)
[ -n "$var" ] || var=$builddir/var
mkdir -p "$var"
var=$(cd "$var" && pwd)
run=$var/run

# The pid file is changed under a lock: a supervisor rewrites its child's
# line whenever it restarts it.
locked() { ( flock 9 && "$@" ) 9>>"$run/pids.lock"; }
# Sets NAME's PID in the pid file (in place, else appended); fails when the
# pid file is gone (the stack is stopping).
set_pid() {
	[ -f "$run/pids" ] || return 1
	awk -v pid="$1" -v name="$2" '$2 == name { $1 = pid; found = 1 } { print }
		END { if (!found) print pid " " name }' "$run/pids" 2>/dev/null >"$run/pids.new" &&
		mv "$run/pids.new" "$run/pids"
}

# Is PID (from the pid file) still a process of this stack, not a reused PID?
ours() {
	[ -d /proc/self ] || return 0
	grep -qzF "$run/" "/proc/$1/cmdline" 2>/dev/null ||
		grep -qzxF "CHAT_CONFIG=$run/chat.conf" "/proc/$1/environ" 2>/dev/null
}
# Processes of this stack that are not in the pid file: chat.fcgi spawned
# by lighttpd or mod_fcgid (they carry CHAT_CONFIG=$run/chat.conf), and
# front-server workers whose parent had to be KILLed (they run with this
# run directory's configuration file).
spawned() {
	local f pid
	{
		grep -lzxF "CHAT_CONFIG=$run/chat.conf" /proc/[0-9]*/environ
		for f in $(grep -lzxF -e "$run/lighttpd.conf" -e "$run/apache.conf" /proc/[0-9]*/cmdline); do
			case $(readlink "${f%/cmdline}/exe") in
			*/lighttpd|*/apache2|*/httpd) echo "$f" ;;
			esac
		done
	} 2>/dev/null | sed -n 's|^/proc/\([0-9]*\)/[a-z]*$|\1|p' | sort -un |
		grep -vx -e "$$" -e "$BASHPID" || true
}
# Is PID running?  A zombie is not: our own children stay zombies until
# bash reaps them, which it does not do while a trap runs.
alive() {
	kill -0 "$1" 2>/dev/null && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null
}
# TERM the given PIDs, give each up to 5 s, then KILL it.
terminate() {
	local pid
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null || true
	for pid; do
		for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null || true
	done
}
# PIDs in the pid file, newest first, that are still ours; with an
# argument only the supervisors (-s) or all but them (-S).
listed() {
	local pid name
	tac "$run/pids" | while read -r pid name; do
		case $name in
		*-supervisor) [ "$1" = -s ] || continue ;;
		*) [ "$1" = -S ] || continue ;;
		esac
		if ours "$pid"; then echo "$pid"; fi
	done
}
stop_all() {
	if [ -f "$run/pids" ]; then
		# Supervisors first (each stops its child), so that nothing is
		# restarted; then newest first: the front server before the
		# programs behind it.
		# shellcheck disable=SC2046
		terminate $(listed -s)
		# shellcheck disable=SC2046
		terminate $(listed -S)
		locked rm -f "$run/pids" "$run/pids.new"
	fi
	# Normally gone with their front server; not if it had to be killed.
	# shellcheck disable=SC2046
	terminate $(spawned)
}
if [ "$stop" = 1 ]; then stop_all; exit 0; fi

# --supervise NAME -- CMD...: runs CMD and restarts it whenever it exits,
# keeping NAME's line in the pid file on its PID; TERM or INT ends CMD and
# then this.  A CMD that keeps dying soon after its start is restarted
# ever more slowly, so a crash loop does not spin.
supervise_run() {
	local name=$1 child= stopping=0 status since delay_ms=250 pause
	shift
	trap 'stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true' TERM INT
	while [ "$stopping" = 0 ]; do
		"$@" &
		child=$!
		since=$SECONDS status=0
		# No pid file: the stack is being stopped.
		locked set_pid "$child" "$name" || kill -TERM "$child" 2>/dev/null || true
		# A trapped signal also ends wait: wait again until CMD is gone.
		wait "$child" || status=$?
		while kill -0 "$child" 2>/dev/null; do status=0 && wait "$child" || status=$?; done
		[ "$stopping" = 0 ] && [ -f "$run/pids" ] || break
		[ $((SECONDS - since)) -lt 30 ] || delay_ms=250
		pause=$((delay_ms / 1000)).$(printf %03d $((delay_ms % 1000)))
		echo "serve.sh: $name (pid $child) exited with status $status; restarting it in $pause s" >&2
		sleep "$pause" &
		child=$!
		wait "$child" || true
		while kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
		child=
		delay_ms=$((delay_ms >= 15000 ? 30000 : delay_ms * 2))
	done
}
if [ -n "$supervise" ]; then supervise_run "$supervise" "$@"; exit 0; fi

case $front in
lighttpd|apache-fcgid|apache-proxy-fcgi|lighttpd-cgi|apache-cgid) ;;
apache) front=apache-fcgid ;;
*) die "--front must be lighttpd, apache (mod_fcgid), apache-fcgid, apache-proxy-fcgi, lighttpd-cgi or apache-cgid" ;;
esac
fcgi=$builddir/fcgi/chat.fcgi
ws=$builddir/ws/chat-ws
if [ -n "$bindir" ]; then
	fcgi=$bindir/chat.fcgi
	ws=$bindir/chat-ws
fi
www=$src/www
[ -x "$fcgi" ] || die "$fcgi not built: run make first"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
[ -n "$ws_port" ] || ws_port=$(free_port)
[ -n "$fcgi_port" ] || fcgi_port=$(free_port)

stop_all
rm -rf "$run" && mkdir -p "$run/fcgid" && : >"$run/pids"
# The endpoints as the front server's regex alternation ("chat|ws/chat");
# chat.fcgi checks them again (the endpoints option).
prefixes=
first_endpoint=
endpoints=${endpoints//\"/}
for e in ${endpoints//,/ }; do
	e=${e%/}
	case $e in
	/*) ;;
	*) die "--endpoints: '$e' does not start with /" ;;
	esac
	case ${e#/} in
	''|*[!A-Za-z0-9._~/-]*) die "--endpoints: '$e' is not a path of letters, digits and ._~-/" ;;
	esac
	[ -n "$first_endpoint" ] || first_endpoint=$e
	e=${e#/}
	prefixes+=${prefixes:+|}$e
done
[ -n "$prefixes" ] || die "--endpoints: no endpoint"
[ "$test_services" = 1 ] && prefixes+="|echo|close|disabled_websocket_echo|cookie_needed_echo"
websocket=0
[ -x "$ws" ] && websocket=1
store_uri="sqlite:$var/history.db"
[ -n "$mongodb_uri" ] && store_uri=$mongodb_uri

cat >"$run/chat.conf" <<CONF
# written by conf/serve.sh; see docs/configuration.md
db_path = $var/chat.db
bell_path = $var/chat.bell
store_uri = "$store_uri"
endpoints = "$endpoints"
app_prefixes = "$app_prefixes"
broker_prefixes = "$broker_prefixes"
user_prefix = "$user_prefix"
sockjs_url = "$sockjs_url"
ws_port = $ws_port
websocket = $websocket
test_services = $test_services
origins = "$origins"
CONF
# Apache tells chat.fcgi that a client left only through a failed write:
# held streams and polls write "h" every 2 s so that it fails soon.
case $front in lighttpd*) ;; *) echo "held_probe_ms = 2000" >>"$run/chat.conf" ;; esac
# mod_fcgid: one request per process; 16 of them stay for short requests.
if [ "$front" = apache-fcgid ]; then
	echo "held_max = $((fcgid_max_procs > 17 ? fcgid_max_procs - 16 : 1))" >>"$run/chat.conf"
fi
# Plain CGI: every held request is a sleeping process (and, under Apache,
# a worker thread of its 256): 64 of them on the host at most.
case $front in *-cgi|*-cgid) echo "held_max = 64" >>"$run/chat.conf" ;; esac
printf '%s' "$extra_options" | while IFS= read -r line; do
	[ -n "$line" ] || continue
	case $line in *=*) ;; *) die "--set takes OPTION=VALUE, not '$line'" ;; esac
	printf '%s = %s\n' "${line%%=*}" "${line#*=}"
done >>"$run/chat.conf"

user_line= group_line= as_user=
if [ "$(id -u)" = 0 ] && [ "${front#lighttpd}" = "$front" ]; then
	# Apache drops root for its workers (and mod_fcgid's chat.fcgi): let
	# that account use the state directory, and run chat-ws as it too, or
	# the files chat-ws creates first (chat.db, chat.bell) lock chat.fcgi out.
	# What that account runs and serves must be where it can reach it, and
	# the build tree may be in a private home directory: use copies.
	mkdir -p "$run/bin"
	cp "$fcgi" "$run/bin/chat.fcgi" && fcgi=$run/bin/chat.fcgi
	if [ "$websocket" = 1 ]; then cp "$ws" "$run/bin/chat-ws" && ws=$run/bin/chat-ws; fi
	cp -R "$www" "$run/www" && www=$run/www
	user_line="User www-data" group_line="Group www-data"
	chown -R www-data:www-data "$var"
	as_user="setpriv --reuid=www-data --regid=www-data --init-groups"
fi

render() {
	sed -e "s|@BIND@|$bind|g" -e "s|@PORT@|$port|g" -e "s|@WWW@|$www|g" \
	    -e "s|@RUN@|$run|g" -e "s|@FCGI@|$fcgi|g" -e "s|@FCGI_DIR@|$(dirname "$fcgi")|g" \
	    -e "s|@FCGI_PROCS@|$fcgi_procs|g" -e "s|@FCGID_MAX_PROCS@|$fcgid_max_procs|g" -e "s|@FCGI_PORT@|$fcgi_port|g" \
	    -e "s|@IDLE_TIMEOUT@|$idle_timeout|g" \
	    -e "s|@CHAT_CONFIG@|$run/chat.conf|g" -e "s|@WS_PORT@|$ws_port|g" \
	    -e "s#@PREFIXES@#$prefixes#g" -e "s|@MODULES@|/usr/lib/apache2/modules|g" \
	    -e "s|@USER_LINE@|$user_line|g" -e "s|@GROUP_LINE@|$group_line|g" "$1" >"$2"
}

started() { locked set_pid "$1" "$2"; }
# Until the stack is up, any exit (a rejected configuration, a program that
# died, Ctrl-C) stops what was started; --daemon disarms this once ready.
trap 'stop_all' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$websocket" = 1 ]; then
	# The supervisor (this script again) starts chat-ws and writes its line.
	# shellcheck disable=SC2086
	CHAT_CONFIG=$run/chat.conf bash "$src/conf/serve.sh" --var "$var" --supervise chat-ws -- \
		$as_user "$ws" --ws_listen 127.0.0.1 </dev/null >>"$run/chat-ws.log" 2>&1 &
	started $! chat-ws-supervisor
fi
case $front in
lighttpd|lighttpd-cgi)
	# configure's LIGHTTPD/APACHE2 (exported to the tests) win over PATH.
	lighttpd=${LIGHTTPD:-$(PATH=$PATH:/usr/sbin command -v lighttpd)} ||
		die "lighttpd not found (set LIGHTTPD)"
	render "$src/conf/$front.conf.in" "$run/lighttpd.conf"
	"$lighttpd" -tt -f "$run/lighttpd.conf" >/dev/null || die "lighttpd rejected $run/lighttpd.conf"
	"$lighttpd" -D -f "$run/lighttpd.conf" >>"$run/lighttpd.log" 2>&1 &
	started $! lighttpd
	;;
apache-fcgid|apache-proxy-fcgi|apache-cgid)
	apache2=${APACHE2:-$(PATH=$PATH:/usr/sbin command -v apache2)} ||
		die "apache2 not found (set APACHE2)"
	if [ "$front" = apache-proxy-fcgi ]; then
		# shellcheck disable=SC2086
		CHAT_CONFIG=$run/chat.conf $as_user "$fcgi" --fcgi_listen "127.0.0.1:$fcgi_port" \
			>>"$run/chat.fcgi.log" 2>&1 &
		started $! chat.fcgi
	fi
	render "$src/conf/$front.conf.in" "$run/apache.conf"
	"$apache2" -t -f "$run/apache.conf" >/dev/null 2>&1 ||
		{ "$apache2" -t -f "$run/apache.conf"; die "apache2 rejected $run/apache.conf"; }
	"$apache2" -f "$run/apache.conf" -DFOREGROUND >>"$run/apache.log" 2>&1 &
	started $! apache2
	;;
esac

# The front server is ready when it answers the greeting.  No proxy: the
# answer must come from this stack, and a hung server must not hang us.
# Everything started must still run once it answers: a chat.fcgi that lost
# its port to another program would otherwise go unnoticed.
url="http://$bind:$port$first_endpoint"
ready() { curl -fsS --noproxy '*' --max-time 2 -o /dev/null "$url"; }
all_alive() {
	local pid name
	while read -r pid name; do
		alive "$pid" || die "$name exited; see $run/"
	done <"$run/pids"
}
# chat-ws is up once its supervisor has written its line.
ws_listed() { [ "$websocket" = 0 ] || grep -q ' chat-ws$' "$run/pids"; }
deadline=$((SECONDS + 30))
for (( ; ; )); do
	all_alive
	if ws_listed && ready 2>/dev/null; then break; fi
	[ "$SECONDS" -lt "$deadline" ] || { ready || true; die "no answer from $url in 30 s; logs in $run/"; }
	sleep 0.05
done
all_alive
echo "ready: http://$bind:$port/ ($front, state in $var)"
if [ "$daemon" = 1 ]; then
	trap - EXIT INT TERM
	exit 0
fi
wait
