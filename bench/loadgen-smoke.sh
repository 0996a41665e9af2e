#!/bin/bash
# loadgen-smoke.sh - keeps bench/loadgen from rotting (part of make check):
# the echo service through lighttpd (conf/serve.sh on free ports), 10
# clients and 100 messages over the SockJS WebSocket and over
# xhr-streaming; fails if anything is lost or duplicated.  Skips (77)
# without lighttpd.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
build=${top_builddir:-$PWD}
lighttpd=${LIGHTTPD:-$(PATH=$PATH:/usr/sbin command -v lighttpd || true)}
[ -n "$lighttpd" ] && [ -x "$lighttpd" ] || { echo "lighttpd not found: skipped"; exit 77; }
var=$(mktemp -d "${TMPDIR:-/tmp}/loadgen-smoke.XXXXXX")
trap '"$src/conf/serve.sh" --stop --var "$var" >/dev/null 2>&1; rm -rf "$var"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LIGHTTPD=$lighttpd "$src/conf/serve.sh" --front lighttpd --port "$port" --builddir "$build" \
	--var "$var" --test-services --daemon || exit 1
pids=$(awk '{printf "--pid %s ", $1}' "$var/run/pids")
rc=0
for transport in websocket xhr-streaming; do
	# shellcheck disable=SC2086
	out=$(timeout 60 "$build/bench/loadgen" --port "$port" --prefix /echo --proto echo \
		--transport "$transport" --subs 10 --rate 50 --duration 2 --drain 5 $pids)
	status=$?
	echo "$out"
	case $out in
	*'"sent":100,'*'"lost":0,"dup":0,'*) ;;
	*) echo "FAIL: $transport: expected 100 sent, none lost or duplicated"; rc=1 ;;
	esac
	[ "$status" = 0 ] || { echo "FAIL: $transport: loadgen exited $status"; rc=1; }
done
exit $rc
