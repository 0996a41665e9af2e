# www/ - the chat page, served as static files by the front server.
EXTRA_DIST += www/index.html
