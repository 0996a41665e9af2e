/*
 * fuzz_route.c - SockJS URL routing (and the callback parameter, fed the
 * query string the router splits off).
 * Invariants: every slice lies inside the input; ids are non-empty, at most
 * ROUTE_ID_MAX bytes, without '/' or '.'; rebuilding the path from the
 * parts routes to the same result; an accepted callback is 1..32 bytes of
 * [A-Za-z0-9_.].
 */
#include "config.h"
#include "fuzz.h"
#include "route.h"
#include "sockjs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const prefixes[] = { "/echo", "/close", "/echo/x", "" };

static void inside(chat_slice_t s, const char *p, size_t n)
{
	if (s.len == 0)
		return;
	if (s.ptr < p || s.ptr + s.len > p + n)
		abort();
}

static void check_id(chat_slice_t id)
{
	if (id.len == 0 || id.len > ROUTE_ID_MAX || memchr(id.ptr, '/', id.len) ||
	    memchr(id.ptr, '.', id.len))
		abort();
}

static void check_callback(chat_slice_t query)
{
	chat_buf_t cb;
	const char *err = NULL;
	size_t i;

	chat_buf_init(&cb, 64);
	if (sockjs_callback(query, &cb, &err) == CHAT_OK) {
		if (cb.len == 0 || cb.len > SOCKJS_CALLBACK_MAX)
			abort();
		for (i = 0; i < cb.len; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.",
				    cb.data[i]) ||
			    cb.data[i] == '\0')
				abort();
	} else if (err == NULL) {
		abort();
	}
	chat_buf_free(&cb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t n = CHAT_ARRAY_LEN(prefixes);
	route_t r, r2;
	chat_buf_t again;
	int rc;

	/* the first byte's low bit drops the catch-all "" prefix */
	if (size > 0 && (data[0] & 1))
		n--;
	rc = route_parse(prefixes, n, p, size, &r);
	inside(r.path, p, size);
	inside(r.query, p, size);
	check_callback(r.query);
	if (rc != CHAT_OK) {
		if (rc != CHAT_ENOTFOUND)
			abort();
		return 0;
	}
	if (r.prefix >= n)
		abort();
	chat_buf_init(&again, size + 64);
	chat_buf_puts(&again, prefixes[r.prefix]);
	switch (r.kind) {
	case ROUTE_GREETING: chat_buf_puts(&again, "/"); break;
	case ROUTE_INFO: chat_buf_puts(&again, "/info"); break;
	case ROUTE_RAW_WEBSOCKET: chat_buf_puts(&again, "/websocket"); break;
	case ROUTE_IFRAME: chat_buf_puts(&again, "/iframe.html"); break;
	case ROUTE_SESSION:
		inside(r.server_id, p, size);
		inside(r.session_id, p, size);
		check_id(r.server_id);
		check_id(r.session_id);
		chat_buf_putc(&again, '/');
		chat_buf_append(&again, r.server_id.ptr, r.server_id.len);
		chat_buf_putc(&again, '/');
		chat_buf_append(&again, r.session_id.ptr, r.session_id.len);
		chat_buf_putc(&again, '/');
		chat_buf_puts(&again, sockjs_transport_name(r.transport));
		break;
	default: abort();
	}
	chat_buf_putc(&again, '?');
	chat_buf_append(&again, r.query.ptr, r.query.len);
	if (route_parse(prefixes, n, again.data, again.len, &r2) != CHAT_OK ||
	    r2.prefix != r.prefix || r2.kind != r.kind ||
	    (r.kind == ROUTE_SESSION &&
	     (r2.transport != r.transport || r2.server_id.len != r.server_id.len ||
	      memcmp(r2.server_id.ptr, r.server_id.ptr, r.server_id.len) != 0 ||
	      r2.session_id.len != r.session_id.len ||
	      memcmp(r2.session_id.ptr, r.session_id.ptr, r.session_id.len) != 0)) ||
	    r2.query.len != r.query.len ||
	    (r.query.len && memcmp(r2.query.ptr, r.query.ptr, r.query.len) != 0))
		abort();
	chat_buf_free(&again);
	return 0;
}
