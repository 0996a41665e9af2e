# www/ - the chat page, served as static files by the front server (its
# document root is $(srcdir)/www).  The browser bundles of sockjs-client and
# @stomp/stompjs come from npm (www/package.json, locked): `npm ci` in www/
# (tools/install-deps.sh runs it) copies them into www/js/; they are not
# committed.  `make www-bundles` copies them again from www/node_modules
# without the network, and says what to run when that is missing.
WWW_FILES = \
	www/index.html \
	www/css/chat.css \
	www/js/chat.js \
	www/js/i18n/en.js \
	www/js/i18n/ko.js \
	www/favicon.svg
EXTRA_DIST += $(WWW_FILES) \
	www/package.json www/package-lock.json www/copy-bundles.mjs docs/screenshot.png \
	docs/screenshot-ko.png docs/i18n.md

WWW_BUNDLES = $(srcdir)/www/js/sockjs.min.js $(srcdir)/www/js/stomp.umd.min.js
www-bundles:
	@if test -f $(srcdir)/www/js/sockjs.min.js && test -f $(srcdir)/www/js/stomp.umd.min.js && \
	    test -f $(srcdir)/www/js/sockjs-1.4.0.min.js && \
	    test $(srcdir)/www/js/sockjs.min.js -nt $(srcdir)/www/package-lock.json; then :; \
	elif test -d $(srcdir)/www/node_modules && test -w $(srcdir)/www; then \
		$${NODE:-node} $(srcdir)/www/copy-bundles.mjs; \
	else \
		echo "www-bundles: www/js/sockjs.min.js and stomp.umd.min.js are missing:" \
		     "run tools/install-deps.sh or (cd $(srcdir)/www && npm ci)" >&2; \
	fi
serve: www-bundles
.PHONY: www-bundles

# make install: the page in $(pkgdatadir)/www (the front server's document
# root), with the two npm bundles when www-bundles could copy them.
nobase_dist_pkgdata_DATA = $(WWW_FILES)
install-data-local: install-www-bundles
install-www-bundles: www-bundles
	@for f in $(WWW_BUNDLES); do \
		if test -f "$$f"; then \
			$(MKDIR_P) '$(DESTDIR)$(pkgdatadir)/www/js' && \
			$(INSTALL_DATA) "$$f" '$(DESTDIR)$(pkgdatadir)/www/js/' || exit 1; \
		else echo "install: $$f is missing: the page will not load (see www-bundles)" >&2; fi; \
	done
uninstall-local:
	rm -f '$(DESTDIR)$(pkgdatadir)/www/js/sockjs.min.js' '$(DESTDIR)$(pkgdatadir)/www/js/stomp.umd.min.js'
.PHONY: install-www-bundles
