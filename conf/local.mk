# conf/ - front-server configurations (lighttpd, Apache with mod_fcgid or
# mod_proxy_fcgi) and serve.sh, which renders one and starts the stack.
dist_noinst_SCRIPTS += tools/install-deps.sh tools/quickstart.sh \
	tools/chat-backup.sh tools/shared-host-bundle.sh

# make install (docs/packaging.md): serve.sh and the front-server
# configurations in $(pkgdatadir)/conf (serve.sh --bindir $(bindir) runs the
# installed stack), the sample chat.conf and logrotate file next to them,
# the systemd units (@bindir@, @sysconfdir@ filled in) in $(systemdunitdir).
confsampledir = $(pkgdatadir)/conf
dist_confsample_SCRIPTS = conf/serve.sh
dist_confsample_DATA = \
	conf/lighttpd.conf.in \
	conf/apache-fcgid.conf.in \
	conf/apache-proxy-fcgi.conf.in \
	conf/lighttpd-cgi.conf.in \
	conf/apache-cgid.conf.in \
	conf/apache-site.conf \
	conf/chat.conf.sample \
	conf/chat.logrotate
systemdunitdir = $(prefix)/lib/systemd/system
SYSTEMD_UNITS = conf/chat-ws.service conf/chat-fcgi.service conf/chat-fcgi.socket
systemdunit_DATA = $(SYSTEMD_UNITS)
CLEANFILES += $(SYSTEMD_UNITS)
EXTRA_DIST += conf/chat-ws.service.in conf/chat-fcgi.service.in conf/chat-fcgi.socket.in
render_unit = $(AM_V_GEN)$(MKDIR_P) conf && \
	sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    $(srcdir)/$@.in > $@.tmp && mv $@.tmp $@
conf/chat-ws.service: $(srcdir)/conf/chat-ws.service.in Makefile
	$(render_unit)
conf/chat-fcgi.service: $(srcdir)/conf/chat-fcgi.service.in Makefile
	$(render_unit)
conf/chat-fcgi.socket: $(srcdir)/conf/chat-fcgi.socket.in Makefile
	$(render_unit)
EXTRA_DIST += docs/supervision.md docs/packaging.md docs/shared-hosting.md
EXTRA_DIST += conf/shared-host/htaccess conf/shared-host/chat.conf.sample
EXTRA_DIST += .ci/run
# The .deb (docs/packaging.md); tests/package/deb-smoke.sh is opt-in
# (CHAT_TEST_DEB=1), run by CI, not by make check.
EXTRA_DIST += debian/control debian/rules debian/changelog debian/copyright \
	debian/source/format debian/README.source debian/chat-server.postinst \
	debian/chat-server.postrm tests/package/deb-smoke.sh

# make serve [PORT=8080] [FRONT=lighttpd|apache|apache-proxy-fcgi|lighttpd-cgi|apache-cgid]
#            [MONGODB_URI=mongodb://...] [SOCKJS_TEST_SERVICES=1]
#            [ENDPOINTS=/stomp/chat] [APP_PREFIXES=/pub] [BROKER_PREFIXES=/sub]
#            [USER_PREFIX=/user] [SOCKJS_URL=/js/sockjs.min.js]
#            [BROKER_RELAY=stomp://USER:PASS@HOST:PORT/VHOST NODE_ID=N] [VAR=DIR]
# A second node of a cluster on the same machine (docs/cluster.md): the same
# MONGODB_URI and BROKER_RELAY, another NODE_ID, PORT and VAR, e.g.
#   make serve PORT=8090 VAR=var2 NODE_ID=2 BROKER_RELAY=... MONGODB_URI=...
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
	if test -n '$(VAR)'; then set -- "$$@" --var '$(VAR)'; fi; \
	if test -n '$(BROKER_RELAY)'; then set -- "$$@" --set 'broker_relay=$(BROKER_RELAY)' \
		--set 'node_id=$(NODE_ID)'; fi; \
	exec $(SHELL) $(srcdir)/conf/serve.sh "$$@"
.PHONY: serve

# The configuration reference is generated from the option table; a test
# (tests/unit/core/reference.sh) fails when the committed copy is stale.
EXTRA_DIST += docs/configuration.md docs/session-safety.md docs/backup.md docs/limits.md \
	docs/heartbeats.md docs/hooks.md docs/spring.md docs/metrics.md docs/logging.md docs/cluster.md \
	docs/destinations.md docs/dm.md docs/iframe.md docs/moderation.md docs/typing.md \
	docs/architecture.md docs/protocol.md
docs: fcgi/chat.fcgi
	fcgi/chat.fcgi --reference > $(srcdir)/docs/configuration.md
.PHONY: docs

# make shared-host-bundle: chat-shared-host-VERSION.tar.gz, one folder chat/
# to unpack into a shared host's web directory (docs/shared-hosting.md).
shared-host-bundle: fcgi/chat.fcgi www-bundles
	$(SHELL) $(srcdir)/tools/shared-host-bundle.sh '$(abs_top_srcdir)' '$(abs_top_builddir)' '$(PACKAGE_VERSION)'
.PHONY: shared-host-bundle
