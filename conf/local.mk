# conf/ - front-server configurations (lighttpd, Apache with mod_fcgid or
# mod_proxy_fcgi) and serve.sh, which renders one and starts the stack.
dist_noinst_SCRIPTS += conf/serve.sh tools/install-deps.sh tools/quickstart.sh \
	tools/chat-backup.sh tools/shared-host-bundle.sh
dist_noinst_DATA += \
	conf/lighttpd.conf.in \
	conf/apache-fcgid.conf.in \
	conf/apache-proxy-fcgi.conf.in \
	conf/lighttpd-cgi.conf.in \
	conf/apache-cgid.conf.in \
	conf/chat-ws.service.in \
	conf/shared-host/htaccess \
	conf/shared-host/chat.conf.sample
EXTRA_DIST += docs/supervision.md docs/shared-hosting.md
EXTRA_DIST += .ci/run

# make serve [PORT=8080] [FRONT=lighttpd|apache|apache-proxy-fcgi|lighttpd-cgi|apache-cgid]
#            [MONGODB_URI=mongodb://...] [SOCKJS_TEST_SERVICES=1]
PORT = 8080
FRONT = lighttpd
serve: all
	@set -- --front '$(FRONT)' --port '$(PORT)' --builddir '$(abs_top_builddir)'; \
	if test '$(SOCKJS_TEST_SERVICES)' = 1; then set -- "$$@" --test-services; fi; \
	if test -n '$(MONGODB_URI)'; then set -- "$$@" --mongodb-uri '$(MONGODB_URI)'; fi; \
	exec $(SHELL) $(srcdir)/conf/serve.sh "$$@"
.PHONY: serve

# The configuration reference is generated from the option table; a test
# (tests/unit/core/reference.sh) fails when the committed copy is stale.
EXTRA_DIST += docs/configuration.md docs/session-safety.md docs/backup.md docs/limits.md \
	docs/heartbeats.md
docs: fcgi/chat.fcgi
	fcgi/chat.fcgi --reference > $(srcdir)/docs/configuration.md
.PHONY: docs

# make shared-host-bundle: chat-shared-host-VERSION.tar.gz, one folder chat/
# to unpack into a shared host's web directory (docs/shared-hosting.md).
shared-host-bundle: fcgi/chat.fcgi www-bundles
	$(SHELL) $(srcdir)/tools/shared-host-bundle.sh '$(abs_top_srcdir)' '$(abs_top_builddir)' '$(PACKAGE_VERSION)'
.PHONY: shared-host-bundle
