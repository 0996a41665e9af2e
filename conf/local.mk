# conf/ - front-server configurations (lighttpd, Apache with mod_fcgid or
# mod_proxy_fcgi) and serve.sh, which renders one and starts the stack.
dist_noinst_SCRIPTS += conf/serve.sh tools/install-deps.sh tools/quickstart.sh \
	tools/chat-backup.sh
dist_noinst_DATA += \
	conf/lighttpd.conf.in \
	conf/apache-fcgid.conf.in \
	conf/apache-proxy-fcgi.conf.in \
	conf/chat-ws.service.in
EXTRA_DIST += docs/supervision.md
EXTRA_DIST += .ci/run

# make serve [PORT=8080] [FRONT=lighttpd|apache|apache-proxy-fcgi]
#            [MONGODB_URI=mongodb://...] [SOCKJS_TEST_SERVICES=1]
#            [ENDPOINTS=/stomp/chat] [APP_PREFIXES=/pub] [BROKER_PREFIXES=/sub]
#            [USER_PREFIX=/user] [SOCKJS_URL=/js/sockjs.min.js]
PORT = 8080
FRONT = lighttpd
serve: all
	@set -- --front '$(FRONT)' --port '$(PORT)' --builddir '$(abs_top_builddir)'; \
	if test '$(SOCKJS_TEST_SERVICES)' = 1; then set -- "$$@" --test-services; fi; \
	if test -n '$(MONGODB_URI)'; then set -- "$$@" --mongodb-uri '$(MONGODB_URI)'; fi; \
	if test -n '$(ENDPOINTS)'; then set -- "$$@" --endpoints '$(ENDPOINTS)'; fi; \
	if test -n '$(APP_PREFIXES)'; then set -- "$$@" --app-prefixes '$(APP_PREFIXES)'; fi; \
	if test -n '$(BROKER_PREFIXES)'; then set -- "$$@" --broker-prefixes '$(BROKER_PREFIXES)'; fi; \
	if test -n '$(USER_PREFIX)'; then set -- "$$@" --user-prefix '$(USER_PREFIX)'; fi; \
	if test -n '$(SOCKJS_URL)'; then set -- "$$@" --sockjs-url '$(SOCKJS_URL)'; fi; \
	exec $(SHELL) $(srcdir)/conf/serve.sh "$$@"
.PHONY: serve

# The configuration reference is generated from the option table; a test
# (tests/unit/core/reference.sh) fails when the committed copy is stale.
EXTRA_DIST += docs/configuration.md docs/session-safety.md docs/backup.md docs/limits.md \
	docs/heartbeats.md
docs: fcgi/chat.fcgi
	fcgi/chat.fcgi --reference > $(srcdir)/docs/configuration.md
.PHONY: docs
