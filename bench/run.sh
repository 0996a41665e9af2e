#!/bin/bash
# run.sh - the benchmark scenarios against this project (behind lighttpd and
# Apache mod_fcgid) and its peers (sockjs-node, RabbitMQ Web-STOMP, Nchan),
# one after another on loopback, with bench/loadgen; `make bench` runs it.
#
#   bench/run.sh [--out DIR] [--servers "LIST"] [--scenarios "1 2 3 4"] [--quick]
#
# Run from the build directory (or set BUILDDIR).  Servers: lighttpd
# apache-fcgid sockjs-node rabbitmq nchan (a peer that is not installed is
# skipped with a note: bench/install-peers.sh installs them).  Writes
# DIR/results.jsonl (one JSON line per run, see bench/loadgen --help),
# DIR/results.md (the tables) and DIR/*.png (bench/report.py).  Every
# server is started on a free port with its state below DIR and stopped by
# PID; each run is bounded by `timeout`.
#
# Scenarios:
#   1  fan-out: 1 publisher -> 100 (200 msg/s; over WebSocket also 500
#      msg/s) and 1,000 (20 msg/s) subscribers of one topic, per transport, 4 s
#   2  rooms: 1,000 WebSocket clients in 100 rooms of 10, every client
#      publishing, 200 msg/s together (2,000 deliveries/s), 5 s
#   3  idle: server memory per idle, subscribed WebSocket session with
#      1,000 and 10,000 sessions
#   4  churn: 500 xhr-polling (Nchan: long-poll) subscribers, 10 msg/s, 5 s
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILDDIR:-$PWD}
out=$build/bench-results
servers="lighttpd apache-fcgid sockjs-node rabbitmq nchan"
scenarios="1 2 3 4"
quick=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--servers) servers=$2; shift 2 ;;
	--scenarios) scenarios=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	-h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
loadgen=$build/bench/loadgen
[ -x "$loadgen" ] || { echo "run.sh: $loadgen not built (make first)" >&2; exit 2; }
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
state=$out/state
rm -rf "$state" && mkdir -p "$state"
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
t_start=$SECONDS
log() { printf '[%4ds] %s\n' $((SECONDS - t_start)) "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- servers: start_NAME sets port, pids (for /proc) and stop (a command) ----
port= pids= stop_cmd=
started_pids=()

stop_server() {
	[ -n "$stop_cmd" ] && eval "$stop_cmd" >/dev/null 2>&1
	stop_cmd=
}
trap 'stop_server; exit 130' INT TERM

wait_gone() { # PID...: wait up to 10 s for them to exit, then KILL
	local p
	for _ in $(seq 1 100); do
		local any=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && any=1; done
		[ $any = 0 ] && return 0
		sleep 0.1
	done
	for p in "$@"; do kill -KILL "$p" 2>/dev/null; done
}

# The abuse limits are off: the load generator is one address sending faster
# than any person (docs/limits.md).
start_ours() { # FRONT [serve.sh options]
	local front=$1; shift
	local var=$state/$front
	port=$(free_port)
	"$src/conf/serve.sh" --front "$front" --port "$port" --builddir "$build" --var "$var" \
		--daemon --set topic_send=1 --set rate_sends_burst=0 --set rate_guest_sends_burst=0 \
		--set sessions_per_addr_burst=0 --set held_per_addr=100000 "$@" >"$state/$front.serve.log" 2>&1 || {
		log "$front did not start: $(tail -2 "$state/$front.serve.log")"; return 1; }
	pids=$(awk '{print $1}' "$var/run/pids" | tr '\n' ' ')
	stop_cmd="'$src/conf/serve.sh' --stop --var '$var'"
}
start_lighttpd() { FCGI_PROCS=2 start_ours lighttpd --set threads=600 "$@"; }
start_apache-fcgid() { FCGID_MAX_PROCS=${FCGID_MAX_PROCS:-128} start_ours apache-fcgid "$@"; }
start_sockjs-node() {
	[ -d /usr/share/nodejs/sockjs ] || { log "sockjs-node: node-sockjs not installed"; return 1; }
	port=$(free_port)
	NODE_PATH=/usr/share/nodejs node "$src/bench/peers/sockjs-broker.js" "$port" \
		>"$state/sockjs.log" 2>&1 &
	pids=$!
	stop_cmd="kill $pids; wait_gone $pids"
	for _ in $(seq 1 100); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/chat/info" && return 0
		sleep 0.05
	done
	log "sockjs-node did not answer"; return 1
}
start_nchan() {
	[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] && command -v nginx >/dev/null ||
		{ log "nchan: nginx + libnginx-mod-nchan not installed"; return 1; }
	port=$(free_port)
	local dir=$state/nchan
	rm -rf "$dir" && mkdir -p "$dir/tmp"
	sed -e "s|@PREFIX@|$dir|g" -e "s|@PORT@|$port|g" "$src/bench/peers/nchan.conf.in" >"$dir/nginx.conf"
	nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/out.log" 2>&1 &
	pids=$!
	stop_cmd="kill $pids; wait_gone $pids"
	for _ in $(seq 1 100); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/pub?id=x" && return 0
		sleep 0.05
	done
	log "nchan did not answer"; return 1
}
start_rabbitmq() {
	[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
		{ log "rabbitmq: rabbitmq-server not installed"; return 1; }
	local amqp stomp dist
	read -r amqp port stomp dist < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
	pids=$("$src/bench/peers/rabbitmq.sh" "$state/rabbitmq" "$amqp" "$port" "$stomp" "$dist") ||
		{ log "rabbitmq did not start"; return 1; }
	stop_cmd="kill $pids; wait_gone $pids"
}

# loadgen options that reach each server over TRANSPORT (framing included).
# Sets lg_args, or returns 1 when the server has no such transport.
lg_args=()
server_args() { # SERVER TRANSPORT
	case $1:$2 in
	lighttpd:ws-raw|apache-fcgid:ws-raw|chat-ws:ws-raw)
		lg_args=(--proto stomp --raw --ws-path /chat/websocket --transport websocket) ;;
	lighttpd:*|apache-fcgid:*|sockjs-node:*|chat-ws:*)
		[ "$2" = ws-raw ] && return 1
		[ "$2" = long-poll ] && return 1
		lg_args=(--proto stomp --prefix /chat --transport "$2") ;;
	rabbitmq:ws-raw)
		lg_args=(--proto stomp --raw --ws-path /ws --login guest --passcode guest --transport websocket) ;;
	nchan:websocket|nchan:eventsource|nchan:long-poll)
		lg_args=(--proto nchan --transport "$2") ;;
	*) return 1 ;;
	esac
	[ "$1" = sockjs-node ] && [ "$2" = ws-raw ] && return 1
	return 0
}

run() { # SERVER SCENARIO LABEL TIMEOUT loadgen-options...
	local server=$1 scenario=$2 label=$3 limit=$4; shift 4
	local pidargs=() p extra=()
	# Apache's shipped MaxRequestWorkers (256) bounds its proxied
	# WebSockets: do not wait long for the rest.
	[ "$server" = apache-fcgid ] && extra=(--setup-timeout 10)
	for p in $pids; do pidargs+=(--pid "$p"); done
	log "$server: scenario $scenario: $label"
	timeout -k 5 "$limit" "$loadgen" --port "$port" --drain 5 "${lg_args[@]}" "${pidargs[@]}" \
		--server "$server" --scenario "$scenario" --label "$label" --out "$results" "$@" "${extra[@]}" \
		>"$state/last.json" 2>"$state/last.err"
	local rc=$?
	if [ ! -s "$state/last.json" ]; then
		log "  loadgen gave no result (exit $rc): $(head -c 300 "$state/last.err")"
		printf '{"label":"%s","server":"%s","scenario":"%s","failed_run":%d}\n' \
			"$label" "$server" "$scenario" "$rc" >>"$results"
	else
		python3 - "$state/last.json" <<-'EOF' >&2
			import json, sys
			d = json.load(open(sys.argv[1]))
			print('         ready %d/%d, delivered %d of %d (lost %d, dup %d), %.0f/s, p50 %.1f p99 %.1f ms, cpu %.2f s/100k, rss %d KiB%s' % (
			    d['ready'], d['ready'] + d['failed'], d['delivered'], d['expected'], d['lost'], d['dup'],
			    d['delivered_per_s'], d['p50_ms'], d['p99_ms'], d['server_cpu_s_per_100k'],
			    d['server_peak_rss_kib'], ('; ' + d['first_error']) if d['errors'] else ''))
		EOF
	fi
}

dur=4 dur2=5
[ "$quick" = 1 ] && dur=2 dur2=2

# Transports per server for scenario 1 (ws-raw: STOMP over a plain WebSocket).
transports() {
	case $1 in
	lighttpd|apache-fcgid) echo "websocket ws-raw xhr-streaming xhr-polling eventsource" ;;
	sockjs-node) echo "websocket xhr-streaming xhr-polling eventsource" ;;
	rabbitmq) echo "ws-raw" ;;
	nchan) echo "websocket eventsource long-poll" ;;
	esac
}
ws_transport() { case $1 in rabbitmq) echo ws-raw ;; *) echo websocket ;; esac; }
poll_transport() { case $1 in nchan) echo long-poll ;; rabbitmq) echo "" ;; *) echo xhr-polling ;; esac; }
# HTTP transports pin a process each under mod_fcgid: its runs are fresh
# stacks, so sessions a previous run left to time out do not hold them.
fresh() { case $1 in lighttpd|apache-fcgid|sockjs-node|nchan) return 0 ;; esac; return 1; }

for server in $servers; do
	up=0
	ensure_up() {
		if [ $up = 1 ] && fresh "$server"; then stop_server; up=0; fi
		if [ $up = 0 ]; then "start_$server" && up=1; fi
		[ $up = 1 ]
	}
	for sc in $scenarios; do
		case $sc in
		1)
			for tr in $(transports "$server"); do
				server_args "$server" "$tr" || continue
				ensure_up || continue 2
				run "$server" 1 "fan-out 1->100 $tr" 60 --subs 100 --pubs 1 --rate 200 --duration $dur --setup-timeout 20
				case $tr in websocket|ws-raw)
					ensure_up || continue 2
					run "$server" 1 "fan-out 1->100 at 500/s $tr" 60 --subs 100 --pubs 1 --rate 500 \
						--duration $dur --setup-timeout 20 ;;
				esac
				if [ "$server" = apache-fcgid ] && [ "$tr" != websocket ] && [ "$tr" != ws-raw ]; then
					log "$server: 1->1000 over $tr not run: mod_fcgid holds one process per open request"
					continue
				fi
				ensure_up || continue 2
				run "$server" 1 "fan-out 1->1000 $tr" 90 --subs 1000 --pubs 1 --rate 20 --duration $dur --conc 200 --setup-timeout 30
			done ;;
		2)
			tr=$(ws_transport "$server")
			server_args "$server" "$tr" || continue
			ensure_up || continue
			run "$server" 2 "rooms 1000 in 100 x 10 $tr" 90 --subs 1000 --pubs 1000 --pubs-are-subs \
				--rooms 100 --rate 200 --duration $dur2 --conc 200 ;;
		3)
			tr=$(ws_transport "$server")
			server_args "$server" "$tr" || continue
			for n in 1000 10000; do
				# 10,000 through a front server exceeds its shipped connection
				# limits; the sidecar is measured on its own below.
				case $server:$n in lighttpd:10000|apache-fcgid:10000) continue ;; esac
				# a fresh server, so "before" is its memory with no sessions
				stop_server; up=0
				ensure_up || continue 2
				run "$server" 3 "idle $n $tr" 120 --subs "$n" --pubs 0 --rooms 100 --idle 2 --conc 200 \
					--setup-timeout 60
			done
			if [ "$server" = lighttpd ]; then
				# chat-ws alone (no front server), on its own port.
				for n in 1000 10000; do
					stop_server; up=0; ensure_up || break
					wsport=$(awk -F' = ' '/^ws_port/{print $2}' "$state/lighttpd/run/chat.conf")
					wspid=$(awk '$2=="chat-ws"{print $1}' "$state/lighttpd/run/pids")
					( port=$wsport pids=$wspid
					  run chat-ws 3 "idle $n websocket (chat-ws direct)" 120 --subs "$n" --pubs 0 \
						--rooms 100 --idle 2 --conc 200 --setup-timeout 60 )
				done
			fi ;;
		4)
			tr=$(poll_transport "$server")
			[ -n "$tr" ] || continue
			server_args "$server" "$tr" || continue
			if [ "$server" = apache-fcgid ]; then
				log "$server: scenario 4 not run: 500 held polls need 500 mod_fcgid processes (shipped limit ${FCGID_MAX_PROCS:-64})"
				continue
			fi
			ensure_up || continue
			run "$server" 4 "churn 500 $tr" 90 --subs 500 --pubs 1 --rate 10 --duration $dur2 --conc 200 ;;
		esac
	done
	stop_server
done
log "done in $((SECONDS - t_start)) s; results in $results"
python3 "$src/bench/report.py" "$results" "$out" || exit 1
