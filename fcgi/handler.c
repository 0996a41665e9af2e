/* handler.c - routes a FastCGI request to its SockJS endpoint (see handler.h). */
#include "config.h"
#include "handler.h"
#include "http.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct handler {
	const chat_options_t *opt; /* borrowed */
};

int handler_open(const chat_options_t *opt, handler_t **out, chat_error_t *err)
{
	handler_t *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	h->opt = opt;
	*out = h;
	return CHAT_OK;
}

void handler_close(handler_t *h)
{
	free(h);
}

static int is_greeting(chat_slice_t path, const char *prefix)
{
	size_t n = strlen(prefix);

	return path.len >= n && memcmp(path.ptr, prefix, n) == 0 &&
	       (path.len == n || (path.len == n + 1 && path.ptr[n] == '/'));
}

void handler_serve(handler_t *h, FCGX_Request *req)
{
	static const char greeting[] = "Welcome to SockJS!\n";
	static const char not_found[] = "Not found.\n";
	http_request_t r;

	if (http_request_init(&r, req) != CHAT_OK) {
		http_respond(&r, 500, "text/plain; charset=UTF-8", NULL, "No REQUEST_URI.\n", 16);
		return;
	}
	if (is_greeting(r.path, h->opt->prefix)) {
		http_respond(&r, 200, "text/plain; charset=UTF-8", NULL, greeting, sizeof(greeting) - 1);
		return;
	}
	http_respond(&r, 404, "text/plain; charset=UTF-8", NULL, not_found, sizeof(not_found) - 1);
}
