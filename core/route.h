/*
 * route.h - which SockJS URL a request path names.  Pure: the results are
 * slices of the path given.
 *
 * Under each configured prefix (a base URL path such as "/chat": empty or
 * starting with '/', never ending with '/'), SockJS 0.3.3 defines:
 *   PREFIX, PREFIX/                       greeting
 *   PREFIX/info                           the /info document
 *   PREFIX/iframe.html, PREFIX/iframe-V.html (V from [0-9a-z._-]*)  iframe page
 *   PREFIX/websocket                      raw WebSocket (no SockJS framing)
 *   PREFIX/SERVER/SESSION/TRANSPORT       a session transport
 * each optionally followed by one '/' (as sockjs-node's routes are), and
 * any URL may carry a query string, which is split off.  SERVER and SESSION
 * are any non-empty run of printable ASCII without '/' and '.', taken raw
 * (not percent-decoded), at most ROUTE_ID_MAX bytes.  Everything else under
 * a prefix is 404.  Methods are the caller's business.
 */
#ifndef CHAT_ROUTE_H
#define CHAT_ROUTE_H

#include "chat.h"
#include "sockjs.h"

/* Longest server or session id accepted. */
#define ROUTE_ID_MAX CHAT_ID_MAX

/* Longest endpoint path (a prefix of the `endpoints` option), in bytes. */
#define ROUTE_ENDPOINT_MAX 64
/* Most endpoints in the option. */
#define ROUTE_ENDPOINTS_MAX 4

/* route_t.prefix when no configured prefix matched. */
#define ROUTE_NO_PREFIX ((size_t)-1)

typedef enum route_kind {
	ROUTE_GREETING,      /* PREFIX or PREFIX/ */
	ROUTE_INFO,          /* PREFIX/info */
	ROUTE_IFRAME,        /* PREFIX/iframe*.html */
	ROUTE_RAW_WEBSOCKET, /* PREFIX/websocket */
	ROUTE_SESSION        /* PREFIX/SERVER/SESSION/TRANSPORT */
} route_kind_t;

typedef struct route {
	size_t prefix;                /* index of the matched prefix, or ROUTE_NO_PREFIX */
	route_kind_t kind;            /* what the path names (valid on success) */
	sockjs_transport_t transport; /* for ROUTE_SESSION */
	chat_slice_t server_id;       /* for ROUTE_SESSION, raw */
	chat_slice_t session_id;      /* for ROUTE_SESSION, raw */
	chat_slice_t path;            /* the path without the query string */
	chat_slice_t query;           /* after '?', without it; empty if none */
} route_t;

/* Routes path[0..len) (the URL path and query, e.g. from REQUEST_URI)
 * against the n configured prefixes (NUL-terminated; the longest that
 * matches a whole number of path segments wins).  Fills *r and returns 0,
 * or returns CHAT_ENOTFOUND (404) with r->prefix telling whether a prefix
 * matched (a 404 inside a SockJS service) or not (not ours at all). */
int route_parse(const char *const *prefixes, size_t n, const char *path, size_t len, route_t *r);

/* Parses the `endpoints` option: a comma-separated list (spaces around
 * items ignored) of 1..ROUTE_ENDPOINTS_MAX SockJS endpoint paths, as
 * Spring's addEndpoint() takes them ("/chat, /ws/chat").  Each starts with
 * '/', has segments of [A-Za-z0-9._~-] (no empty, "." or ".." one), at most
 * ROUTE_ENDPOINT_MAX bytes, and one trailing '/' is dropped; "/" alone,
 * "/api" (the HTTP API) and duplicates are refused.  Fills out[0..*n) with
 * NUL-terminated copies.  Returns 0, or CHAT_EINVAL / CHAT_ETOOBIG with err
 * naming the item. */
int route_endpoints_parse(const char *text, char out[][ROUTE_ENDPOINT_MAX + 1], size_t *n,
			  chat_error_t *err);

#endif
