/* transport.c - the SockJS HTTP transports (see transport.h): the headers
 * every transport response shares, the sending transports (xhr_send,
 * jsonp_send) and the checks every transport request passes before it is
 * served; the receiving transports are in transport_recv.c. */
#include "config.h"
#include "transport_int.h"

#include "clock.h"
#include "httpreq.h"
#include "log.h"
#include "origin.h"
#include "sockjs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int transport_streaming_allowed(const http_request_t *r, const chat_options_t *opt)
{
	const char *v = http_param(r, "CHAT_STREAMING");

	if (v != NULL && !strcmp(v, "0"))
		return 0;
	return opt->streaming != 0;
}

int transport_origin_allowed(const http_request_t *r, const chat_options_t *opt)
{
	return origin_allowed(http_param(r, "HTTP_ORIGIN"), opt->origins);
}

int transport_nocache_cors_headers(http_request_t *r, chat_buf_t *head)
{
	/* sockjs-node's: no-transform keeps mod_deflate and proxies from
	 * compressing (and so buffering) the streams. */
	int rc = chat_buf_puts(head, "Cache-Control: " TRANSPORT_NO_CACHE "\r\n");

	return rc == CHAT_OK ? httpreq_cors_headers(head, http_param(r, "HTTP_ORIGIN")) : rc;
}

int transport_common_headers(http_request_t *r, const service_t *s, chat_buf_t *head)
{
	int rc = transport_nocache_cors_headers(r, head);

	if (rc == CHAT_OK && s->cookie_needed) {
		char id[HTTPREQ_COOKIE_MAX + 1];

		httpreq_jsessionid(http_param(r, "HTTP_COOKIE"), id, sizeof(id));
		rc = chat_buf_printf(head, "Set-Cookie: JSESSIONID=%s; path=/\r\n", id);
	}
	return rc;
}

int transport_cache_forever(chat_buf_t *head)
{
	char date[64];
	time_t t = time(NULL) + 31536000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return chat_buf_printf(head, "Cache-Control: public, max-age=31536000\r\nExpires: %s\r\n",
			       date);
}

int transport_preflight_headers(http_request_t *r, chat_buf_t *head, const char *methods)
{
	const char *req_headers = http_param(r, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS");
	int rc = transport_cache_forever(head);

	if (rc == CHAT_OK)
		rc = httpreq_cors_headers(head, http_param(r, "HTTP_ORIGIN"));
	if (rc == CHAT_OK)
		rc = chat_buf_printf(head,
				     "Access-Control-Max-Age: 31536000\r\n"
				     "Access-Control-Allow-Methods: %s\r\n",
				     methods);
	if (rc == CHAT_OK && req_headers != NULL &&
	    httpreq_header_safe(req_headers, HTTPREQ_REQ_HEADERS_MAX))
		rc = chat_buf_printf(head, "Access-Control-Allow-Headers: %s\r\n", req_headers);
	return rc;
}

/* Each transport's row, by sockjs_transport_t. */
static const transport__info_t transports[SOCKJS_TRANSPORT_COUNT] = {
	[SOCKJS_XHR] = { "POST", "application/javascript; charset=UTF-8", 1, 0, 0, 1 },
	[SOCKJS_XHR_STREAMING] = { "POST", "application/javascript; charset=UTF-8", 1, 1, 0, 1 },
	[SOCKJS_XHR_SEND] = { "POST", "text/plain; charset=UTF-8", 0, 0, 0, 1 },
	[SOCKJS_EVENTSOURCE] = { "GET", "text/event-stream; charset=UTF-8", 1, 1, 0, 0 },
	[SOCKJS_HTMLFILE] = { "GET", "text/html; charset=UTF-8", 1, 1, 1, 0 },
	[SOCKJS_JSONP] = { "GET", "application/javascript; charset=UTF-8", 1, 0, 1, 0 },
	[SOCKJS_JSONP_SEND] = { "POST", "text/plain; charset=UTF-8", 0, 0, 0, 0 },
};

static void serve_send(worker_t *w, http_request_t *r, const service_t *s, sockjs_transport_t t,
		       const char *key, chat_buf_t *head)
{
	const char *content_type = http_param(r, "CONTENT_TYPE");
	const char *err_body = NULL;
	chat_error_t err = { 0 };
	chat_buf_t body;
	json_strv_t msgs;
	int rc;

	/* A message may grow six-fold as JSON (escapes), plus the array. */
	chat_buf_init(&body, sockjs_json_bound((size_t)w->opt->max_frame));
	json_strv_init(&msgs, (size_t)w->opt->max_frame * 4, 4096);
	rc = http_read_body(r, &body);
	if (rc == CHAT_ETOOBIG) {
		http_respond_text(r, 413, head->data, SOCKJS_ERR_TOO_BIG);
		goto out;
	}
	if (rc == CHAT_ETIMEDOUT) {
		http_respond_text(r, 408, head->data, "The request body did not come in time.\n");
		goto out;
	}
	if (rc != CHAT_OK)
		goto out;
	rc = sockjs_parse_send(t,
			       (chat_slice_t){ content_type ? content_type : "",
					       content_type ? strlen(content_type) : 0 },
			       body.data ? body.data : "", body.len, &msgs, &err_body);
	if (rc != CHAT_OK) {
		http_respond_text(r, 500, head->data, err_body ? err_body : "Internal error.");
		goto out;
	}
	rc = service_receive(&w->svc, s, key, http_param(r, "REMOTE_ADDR"), &msgs, chat_wall_ms(),
			     &err);
	if (rc == CHAT_ENOTFOUND || rc == CHAT_ECLOSED || rc == CHAT_EDENIED) {
		http_respond_text(r, 404, head->data, "Not found.\n");
		goto out;
	}
	if (rc != CHAT_OK) {
		log_warn("session %s: messages refused: %s", LOG_SID(key),
			 chat_error_reason(&err, rc));
		http_respond_text(r, 500, head->data, "Internal error.\n");
		goto out;
	}
	if (t == SOCKJS_JSONP_SEND)
		http_respond_text(r, 200, head->data, "ok");
	else
		http_respond(r, 204, "text/plain; charset=UTF-8", head->data, "", 0);
out:
	chat_buf_free(&body);
	json_strv_free(&msgs);
}

void transport_serve(worker_t *w, http_request_t *r, const service_t *s, const route_t *rt)
{
	const transport__info_t *ti = &transports[rt->transport];
	chat_buf_t head, callback;
	const char *err_body = NULL;
	char key[CHATDB_ID_MAX + 1];

	chat_buf_init(&head, 4096);
	chat_buf_init(&callback, SOCKJS_CALLBACK_MAX);
	if (ti->method == NULL) {
		http_respond_text(r, 404, NULL, "Not found.\n");
		goto out;
	}
	if (!transport_origin_allowed(r, w->opt)) {
		http_respond_text(r, 403, NULL, "Origin not allowed.\n");
		goto out;
	}
	if (ti->cors && !strcmp(r->method, "OPTIONS")) {
		if (transport_preflight_headers(r, &head, "OPTIONS, POST") == CHAT_OK) {
			if (s->cookie_needed)
				transport_common_headers(r, s, &head);
			http_respond(r, 204, NULL, head.data, "", 0);
		}
		goto out;
	}
	if (strcmp(r->method, ti->method) != 0) {
		char allow[64];

		snprintf(allow, sizeof(allow), "Allow: %s%s\r\n", ti->cors ? "OPTIONS, " : "",
			 ti->method);
		http_respond(r, 405, NULL, allow, "", 0);
		goto out;
	}
	if (transport_common_headers(r, s, &head) != CHAT_OK) {
		http_respond_text(r, 500, NULL, "Internal error.\n");
		goto out;
	}
	if (service_key(s, rt->session_id, key) != CHAT_OK) {
		http_respond_text(r, 404, head.data, "Not found.\n");
		goto out;
	}
	if (ti->callback && sockjs_callback(r->query, &callback, &err_body) != CHAT_OK) {
		http_respond_text(r, 500, head.data, err_body ? err_body : "Internal error.");
		goto out;
	}
	if (ti->streaming && !transport_streaming_allowed(r, w->opt)) {
		/* The front would hold the stream back: the client moves on to
		 * the next transport at once. */
		http_respond_text(r, 404, head.data, "Not found.\n");
		goto out;
	}
	/* Whatever this request logs names its session. */
	log_context(key, NULL);
	if (ti->receiving)
		transport__serve_receive(w, r, s, rt->transport, ti, key, chat_buf_slice(&callback),
					 &head);
	else
		serve_send(w, r, s, rt->transport, key, &head);
	log_context(NULL, NULL);
out:
	chat_buf_free(&head);
	chat_buf_free(&callback);
}
