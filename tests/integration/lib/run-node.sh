#!/bin/sh
# run-node.sh TEST.mjs - runs one node:test file for automake's TAP driver.
# Skips (a TAP skip plan) when node or tests/node_modules (npm ci in tests/)
# is missing, unless CHAT_REQUIRE_NODE is set, which makes that a failure.
node=${NODE:-$(command -v node || true)}
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
skip() {
	if [ -n "${CHAT_REQUIRE_NODE:-}" ]; then
		echo "Bail out! $1 (CHAT_REQUIRE_NODE is set)"
		exit 1
	fi
	echo "1..0 # SKIP $1"
	exit 0
}
[ -n "$node" ] || skip "node not found"
[ -d "$srcdir/tests/node_modules" ] || skip "tests/node_modules missing: run npm ci in tests/"
# --test-force-exit: a failed test that leaves a client's timers or sockets
# open must not keep the run (and CI) waiting forever.
exec "$node" --test-reporter=tap --test-force-exit "$1"
