#!/bin/bash
# callgrind.sh - instructions chat-ws executes per delivered message, counted
# by valgrind's callgrind: unlike seconds, they repeat on a loaded machine.
#
#   bench/callgrind.sh [--builddir DIR] [--out DIR] [--runs "SUBS:RATE:SECONDS ..."]
#                      [--transports "websocket ws-raw"]
#
# For each run it starts chat-ws (of --builddir, default the current
# directory) alone under callgrind on a free port with its own chat.db,
# has bench/loadgen connect SUBS subscribers of one topic and one publisher
# straight to it, publish RATE msg/s for SECONDS, and stops chat-ws (callgrind
# writes its counts at exit).  It does the same with no publisher (the
# set-up, heart-beats and shutdown alone) and reports
#     (Ir with messages - Ir without) / deliveries
# with the deliveries loadgen counted.  Default runs: 100:20:3 and 1000:4:3
# (slow rates: chat-ws runs some 50 times slower under valgrind).  The
# heart-beats are off (heartbeat_ms of an hour, stomp_heartbeat_ms 0) and the
# SEND rate limits too: the work done per socket per heartbeat tick scales
# with the wall-clock time of a run, which varies with the machine's load
# under valgrind, and would be counted as per-delivery cost.  For the same
# reason only chat-ws's main thread is counted (--separate-threads; it
# reads the outbox and writes every socket): its background thread's
# once-a-second sweeps and the history relay (per message, not per
# delivery) are not in the figures.  Prints
# one line per run; DIR (default callgrind-results) keeps the callgrind.out
# files for callgrind_annotate.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$PWD out=callgrind-results runs="100:20:3 1000:4:3" transports="websocket ws-raw"
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) build=$(cd "$2" && pwd); shift 2 ;;
	--out) out=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--transports) transports=$2; shift 2 ;;
	*) echo "callgrind.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
ws=$build/ws/chat-ws loadgen=$build/bench/loadgen
[ -x "$ws" ] && [ -x "$loadgen" ] || { echo "callgrind.sh: build chat-ws and bench/loadgen in $build first" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind not installed" >&2; exit 1; }
mkdir -p "$out" && out=$(cd "$out" && pwd)
ulimit -n 20000 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# measure NAME SUBS PUBS RATE SECONDS TRANSPORT: prints "Ir deliveries expected"
# (of the main thread; expected: what loadgen sent to the subscribers).
measure() {
	local name=$1 subs=$2 pubs=$3 rate=$4 secs=$5 tr=$6
	local dir=$out/$name port pid lg=()
	rm -rf "$dir" && mkdir -p "$dir"
	port=$(free_port)
	cat >"$dir/chat.conf" <<-CONF
		db_path = $dir/chat.db
		bell_path = $dir/chat.bell
		store_uri = "sqlite:$dir/history.db"
		endpoints = /chat
		ws_port = $port
		topic_send = 1
		rate_sends_burst = 0
		heartbeat_ms = 3600000
		stomp_heartbeat_ms = 0
		rate_guest_sends_burst = 0
	CONF
	CHAT_CONFIG=$dir/chat.conf valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/callgrind.out" \
		"$ws" --ws_listen 127.0.0.1 >"$dir/chat-ws.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
		sleep 0.1
	done
	case $tr in
	ws-raw) lg=(--proto stomp --raw --ws-path /chat/websocket --transport websocket) ;;
	*) lg=(--proto stomp --prefix /chat --transport "$tr") ;;
	esac
	if [ "$pubs" = 0 ]; then
		lg+=(--pubs 0 --idle "$secs")
	else
		lg+=(--pubs "$pubs" --rate "$rate" --duration "$secs")
	fi
	"$loadgen" --port "$port" --subs "$subs" --conc 100 --setup-timeout 300 --drain 30 "${lg[@]}" \
		--server chat-ws --scenario callgrind --label "$name" >"$dir/loadgen.json" 2>"$dir/loadgen.err" || true
	kill -TERM "$pid"
	wait "$pid" || true
	python3 - "$dir/callgrind.out-01" "$dir/loadgen.json" <<-'EOF'
		import json, re, sys
		ir = 0
		for line in open(sys.argv[1]):
		    m = re.match(r'(?:summary|totals): (\d+)', line)
		    if m:
		        ir = int(m.group(1))
		try:
		    d = json.load(open(sys.argv[2]))
		    n, want = d.get('delivered', 0), d.get('expected', 0)
		except (OSError, ValueError):
		    n = want = 0
		print(ir, n, want)
	EOF
}

for tr in $transports; do
	for r in $runs; do
		IFS=: read -r subs rate secs <<<"$r"
		read -r ir_idle _ _ < <(measure "$tr-$subs-idle" "$subs" 0 0 "$secs" "$tr")
		read -r ir n want < <(measure "$tr-$subs-$rate" "$subs" 1 "$rate" "$secs" "$tr")
		python3 -c "
import sys
ir, idle, n = $ir, $ir_idle, $n
per = (ir - idle) / n if n else float('nan')
want = $want
short = '' if n >= want else f' (SHORT: {want:,} sent to subscribers; check loadgen.err)'
print(f'chat-ws 1->$subs $tr at $rate msg/s for ${secs} s: {n} deliveries, {ir:,} Ir ({idle:,} without messages): {per:,.0f} Ir per delivery{short}')
"
	done
done
