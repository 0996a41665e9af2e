# conf/ - front-server configurations (lighttpd, Apache with mod_fcgid or
# mod_proxy_fcgi) and serve.sh, which renders one and starts the stack.
dist_noinst_SCRIPTS += conf/serve.sh
dist_noinst_DATA += \
	conf/lighttpd.conf.in \
	conf/apache-fcgid.conf.in \
	conf/apache-proxy-fcgi.conf.in
# The stack serves www/ (the integration tests fetch its index.html);
# www/local.mk is to take this over with the chat page.
EXTRA_DIST += www/index.html
