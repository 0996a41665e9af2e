/*
 * upgrade.c - chat-ws's answers before a socket exists: plain HTTP
 * requests to WebSocket URLs (404, 405, SockJS's 400) and the checks of an
 * upgrade request (route, method, Connection, Origin, shutdown).
 */
#include "config.h"
#include "server_int.h"

#include "origin.h"

#include <string.h>
#include <strings.h>

/* ---- plain HTTP answers ------------------------------------------------ */

/* Writes a complete small response: status, Allow (if allow), a
 * text/plain body (if body).  Returns 0 or -1 (lws failed). */
static int http_answer(struct lws *wsi, unsigned status, const char *allow, const char *body)
{
	unsigned char head[LWS_PRE + 512], *start = head + LWS_PRE, *p = start;
	unsigned char *end = head + sizeof(head);
	unsigned char payload[LWS_PRE + 128];
	size_t n = body ? strlen(body) : 0;

	if (n > sizeof(payload) - LWS_PRE)
		return -1;
	if (lws_add_http_common_headers(wsi, status, body ? "text/plain; charset=UTF-8" : NULL,
					(lws_filepos_t)n, &p, end) ||
	    (allow && lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
						  (const unsigned char *)allow, (int)strlen(allow),
						  &p, end)) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (n > 0) {
		memcpy(payload + LWS_PRE, body, n);
		if (lws_write(wsi, payload + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) < (int)n)
			return -1;
	}
	return 0;
}

/* The request path (without the query, which lws keeps apart) into buf;
 * returns its length or -1 (none, or longer than the buffer). */
static int request_path(struct lws *wsi, char *buf, int size, int *is_get)
{
	static const enum lws_token_indexes methods[] = {
		WSI_TOKEN_GET_URI,   WSI_TOKEN_POST_URI,   WSI_TOKEN_OPTIONS_URI, WSI_TOKEN_PUT_URI,
		WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI, WSI_TOKEN_HEAD_URI,
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(methods); i++) {
		if (lws_hdr_total_length(wsi, methods[i]) <= 0)
			continue;
		*is_get = methods[i] == WSI_TOKEN_GET_URI;
		return lws_hdr_copy(wsi, buf, size, methods[i]);
	}
	return -1;
}

/* The service a WebSocket URL names, with *framed telling a SockJS session
 * URL from a raw one, or NULL when the path is no WebSocket URL of a
 * service that offers WebSocket (404). */
const service_t *upgrade_route(wsserver_t *srv, struct lws *wsi, int *framed, route_t *rt,
			       int *is_get)
{
	char path[WS_PATH_MAX + 1];
	const service_t *s;
	int n = request_path(wsi, path, sizeof(path), is_get);

	if (n <= 0 || route_parse(srv->prefixes, srv->nservices, path, (size_t)n, rt) != CHAT_OK)
		return NULL;
	s = &srv->services[rt->prefix];
	if (!s->websocket)
		return NULL;
	if (rt->kind == ROUTE_RAW_WEBSOCKET) {
		*framed = 0;
		return s;
	}
	/* No session_id_min here: a socket's session is its own (conn_key),
	 * so no other client can use it whatever its id. */
	if (rt->kind == ROUTE_SESSION && rt->transport == SOCKJS_WEBSOCKET) {
		*framed = 1;
		return s;
	}
	return NULL;
}

static int origin_ok(wsserver_t *srv, struct lws *wsi)
{
	char origin[WS_ORIGIN_MAX + 1];
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);

	if (n <= 0)
		return origin_allowed(NULL, srv->opt->origins);
	if (n > WS_ORIGIN_MAX || lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
		return 0;
	return origin_allowed(origin, srv->opt->origins);
}

/* Whether the Connection header lists the "upgrade" token.  libwebsockets
 * drops the connection without an answer when it does not (lighttpd then
 * answers 500), so chat-ws checks first and answers SockJS's 400. */
static int connection_upgrade(struct lws *wsi)
{
	char v[WS_CONNECTION_MAX + 1];
	const char *p = v;
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_CONNECTION);

	if (n <= 0 || n > WS_CONNECTION_MAX ||
	    lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_CONNECTION) < 0)
		return 0;
	while (*p != '\0') {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == 7 && strncasecmp(p, "upgrade", 7) == 0)
			return 1;
		p += len;
	}
	return 0;
}

/* A request without a WebSocket upgrade (the front server passes those on
 * for WebSocket URLs): 404, 405, or SockJS's 400. */
int upgrade_http(wsserver_t *srv, struct lws *wsi)
{
	route_t rt;
	int framed, is_get = 0, rc;

	if (upgrade_route(srv, wsi, &framed, &rt, &is_get) == NULL)
		rc = http_answer(wsi, 404, NULL, "Not found.\n");
	else if (!is_get)
		rc = http_answer(wsi, 405, "GET", NULL);
	else if (lws_hdr_total_length(wsi, WSI_TOKEN_UPGRADE) > 0)
		rc = http_answer(wsi, 400, NULL, "\"Connection\" must be \"Upgrade\".");
	else
		rc = http_answer(wsi, 400, NULL, "Can \"Upgrade\" only to \"WebSocket\".");
	if (rc != 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* An upgrade request, before the 101: refuse what we will not serve. */
int upgrade_confirm(wsserver_t *srv, struct lws *wsi, const char *protocol)
{
	route_t rt;
	int framed, is_get = 0;

	if (protocol == NULL || strcasecmp(protocol, "websocket") != 0)
		return -1; /* h2c and friends: hang up */
	if (upgrade_route(srv, wsi, &framed, &rt, &is_get) == NULL)
		return http_answer(wsi, 404, NULL, "Not found.\n") ? -1 : 1;
	if (!is_get)
		return http_answer(wsi, 405, "GET", NULL) ? -1 : 1;
	if (!connection_upgrade(wsi))
		return http_answer(wsi, 400, NULL, "\"Connection\" must be \"Upgrade\".") ? -1 : 1;
	if (!origin_ok(srv, wsi))
		return http_answer(wsi, 403, NULL, "Origin not allowed.\n") ? -1 : 1;
	if (srv->shutting_down || atomic_load(&srv->stop_requested))
		return http_answer(wsi, 503, NULL, "Shutting down.\n") ? -1 : 1;
	return 0;
}
