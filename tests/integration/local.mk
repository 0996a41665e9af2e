# tests/integration/ - (filled in by its issue)

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
	tests/integration/30-websocket/shutdown.mjs
TESTS += $(WS_NODE_TESTS)
EXTRA_DIST += $(WS_NODE_TESTS) \
	tests/integration/lib/stack.mjs tests/integration/lib/run-node.sh \
	tests/package.json tests/package-lock.json
