# tests/integration/ - the whole stack (conf/serve.sh: a front server,
# chat.fcgi, chat-ws) driven over HTTP by Python 3 tests (standard library
# only), numbered by layer.  harness.py starts and stops stacks and speaks
# HTTP; taprunner.py reports each test case as TAP, so the summary counts
# test cases.  Tests write only to temporary directories.
TEST_EXTENSIONS += .py
PY_LOG_DRIVER = $(LOG_DRIVER)
PY_LOG_COMPILER = $(PYTHON3) -B
INTEGRATION_TESTS = \
	tests/integration/00-harness/test_harness.py \
	tests/integration/10-front/test_front.py \
	tests/integration/20-sockjs/test_protocol.py \
	tests/integration/20-sockjs/test_protocol_cgi.py \
	tests/integration/20-sockjs/test_session_safety.py \
	tests/integration/20-sockjs/test_sockjs_client.py \
	tests/integration/50-abuse/test_auth_limits.py \
	tests/integration/50-abuse/test_rate_limits.py \
	tests/integration/50-abuse/test_workers.py
TESTS += $(INTEGRATION_TESTS)
# The shared-host bundle without the host's libraries; make install without root.
TESTS += tests/integration/10-front/bundle.sh
EXTRA_DIST += tests/integration/10-front/bundle.sh
EXTRA_DIST += $(INTEGRATION_TESTS) \
	tests/integration/harness.py \
	tests/integration/taprunner.py \
	tests/integration/20-sockjs/sockjs_echo.mjs \
	tests/package.json tests/package-lock.json

# Node integration tests (node:test files printing TAP, counted per test
# case by automake's TAP driver).  run-node.sh skips them when node or
# tests/node_modules (npm ci in tests/) is missing, unless CHAT_REQUIRE_NODE
# is set.  Each starts its own stack with conf/serve.sh on free ports.
TEST_EXTENSIONS += .mjs
MJS_LOG_DRIVER = $(LOG_DRIVER)
MJS_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/integration/lib/run-node.sh
WS_NODE_TESTS = \
	tests/integration/30-websocket/echo.mjs \
	tests/integration/30-websocket/origin.mjs \
	tests/integration/30-websocket/many.mjs \
	tests/integration/30-websocket/shutdown.mjs \
	tests/integration/30-websocket/supervise.mjs \
	tests/integration/50-abuse/ws_sessions.mjs
TESTS += $(WS_NODE_TESTS)
EXTRA_DIST += $(WS_NODE_TESTS) \
	tests/integration/lib/stack.mjs tests/integration/lib/run-node.sh

# End-to-end STOMP with real clients: @stomp/stompjs over sockjs-client and
# raw WebSocket through each front (chat, features), mixed transports in one
# room, SIGKILL of chat.fcgi and chat-ws; stomp.py (Debian's python3-stomp);
# safety (content-types 1.0/1.1 cannot carry, sessions ended by logout and
# token expiry, generic error text, case-insensitive and reserved names);
# frames split across messages (stomp.js 2.3.3, @stomp/stompjs
# splitLargeFrames, raw xhr_send pieces, go-stomp from tests/fixtures);
# rooms (guests, quota, a long list in several frames, deletion);
# POST /api/publish (with the key, a wrong one, none configured);
# application hooks in PHP (php-cgi behind lighttpd).
STOMP_NODE_TESTS = \
	tests/integration/40-stomp/chat.mjs \
	tests/integration/40-stomp/features.mjs \
	tests/integration/40-stomp/mixed.mjs \
	tests/integration/40-stomp/kill.mjs \
	tests/integration/40-stomp/delivery.mjs \
	tests/integration/40-stomp/safety.mjs \
	tests/integration/40-stomp/recreate.mjs \
	tests/integration/40-stomp/frames.mjs \
	tests/integration/40-stomp/heartbeat.mjs \
	tests/integration/40-stomp/queues.mjs \
	tests/integration/40-stomp/prefixes.mjs \
	tests/integration/40-stomp/rooms.mjs \
	tests/integration/40-stomp/publish.mjs \
	tests/integration/40-stomp/hooks.mjs \
	tests/integration/40-stomp/shared-host.mjs
TESTS += $(STOMP_NODE_TESTS)
EXTRA_DIST += $(STOMP_NODE_TESTS) tests/integration/lib/stomp.mjs \
	tests/integration/40-stomp/hooks/chat.php tests/integration/40-stomp/hooks/faults.php \
	tests/integration/lib/sharedhost.mjs \
	tests/integration/lib/ferretdb.mjs tests/integration/lib/rabbitmq.mjs

# Operations: GET /api/metrics under load, parsed strictly (and by
# promtool when installed), counters across a SIGKILL, who may read it;
# the programs' JSON logs (fields, session and user, no ids or secrets);
# chatctl against a running stack (backup while posting and restore into
# another stack, ban, users, rooms, sessions, check --repair, --json, exit codes).
OPS_NODE_TESTS = \
	tests/integration/60-ops/metrics.mjs \
	tests/integration/60-ops/logs.mjs \
	tests/integration/60-ops/chatctl.mjs
TESTS += $(OPS_NODE_TESTS)
EXTRA_DIST += $(OPS_NODE_TESTS)

# More than one node (db/cluster.h): a private RabbitMQ with the STOMP
# plugin, FerretDB as the shared MongoDB, two nodes behind their own
# lighttpd.  Skips without rabbitmq-server unless CHAT_REQUIRE_RABBIT=1.
CLUSTER_NODE_TESTS = tests/integration/70-cluster/cluster.mjs
TESTS += $(CLUSTER_NODE_TESTS)
EXTRA_DIST += $(CLUSTER_NODE_TESTS)
