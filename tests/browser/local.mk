# tests/browser/ - the chat page in a real browser: Debian's chromium driven
# by playwright-core (tests/node_modules), against the stack started by
# tests/integration/lib/stack.mjs.  node:test files printing TAP, run by
# tests/integration/lib/run-node.sh (the .mjs log compiler).  They skip when
# chromium, playwright-core or the page's bundles (www/js/, npm ci in www/)
# are missing, unless CHAT_REQUIRE_BROWSER is set.  Screenshots of the room
# view go to tests/browser/screenshots/ in the build directory.
BROWSER_TESTS = tests/browser/chat.mjs tests/browser/auth.mjs tests/browser/i18n.mjs \
	tests/browser/tutorial.mjs \
	tests/browser/rooms-ko.mjs tests/browser/moderation.mjs \
	tests/browser/shared-host.mjs \
	tests/browser/dm.mjs
TESTS += $(BROWSER_TESTS)
EXTRA_DIST += $(BROWSER_TESTS) tests/browser/lib.mjs tests/browser/tutorial/index.html
$(BROWSER_TESTS:.mjs=.log): www-bundles
clean-local: clean-browser-screenshots
clean-browser-screenshots:
	rm -rf tests/browser/screenshots
.PHONY: clean-browser-screenshots
