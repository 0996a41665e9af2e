/*
 * transport.h - the SockJS HTTP transports of one chat.fcgi request
 * thread: the receiving ones (xhr polling, xhr_streaming, eventsource,
 * htmlfile, jsonp), which hold the session's lease and wait on the doorbell,
 * and the sending ones (xhr_send, jsonp_send), plus the headers every
 * transport response shares (no caching, CORS, JSESSIONID).  Framing comes
 * from core/sockjs, sessions and delivery from db/service.
 */
#ifndef CHAT_TRANSPORT_H
#define CHAT_TRANSPORT_H

#include "doorbell.h"
#include "http.h"
#include "options.h"
#include "route.h"
#include "service.h"

/* How long past a heartbeat a receiving request's lease lasts: a process
 * killed while holding it blocks the session no longer than this.  While a
 * request is held, the process's dispatcher thread renews the leases of all
 * of its requests every heartbeat, so one blocked writing to a slow reader
 * keeps its session too. */
#define TRANSPORT_LEASE_SLACK_MS 5000

/* The Cache-Control of every dynamic transport response (sockjs-node's). */
#define TRANSPORT_NO_CACHE "no-store, no-cache, no-transform, must-revalidate, max-age=0"

/* One request thread's state; made by the handler on the thread's first
 * session request and used by that thread only. */
typedef struct worker {
	service_ctx_t svc;           /* svc.db: this thread's chat.db handle (owned) */
	doorbell_t *bell;            /* the process's doorbell (borrowed) */
	struct dispatch *disp;       /* the process's dispatcher (borrowed) */
	const chat_options_t *opt;   /* borrowed */
	char owner_prefix[48];       /* "pid.thread": lease owners are this + ".n" */
	unsigned long long requests; /* receiving requests served, for owner ids */
	int wake_fd;                 /* eventfd the dispatcher wakes a held request
				      * with; 0 until made (owned) */
} worker_t;

/* Answers a session transport request (rt->kind == ROUTE_SESSION, not the
 * websocket transport) on service s. */
void transport_serve(worker_t *w, http_request_t *r, const service_t *s, const route_t *rt);

/* Appends the headers of a dynamic SockJS response to head: no caching,
 * CORS for the request's Origin (credentials only when it sent one), and JSESSIONID when s
 * needs it.  Returns 0 or a buffer error. */
int transport_common_headers(http_request_t *r, const service_t *s, chat_buf_t *head);

/* Appends the no-cache and CORS headers alone (for /info, which never sets
 * a cookie). */
int transport_nocache_cors_headers(http_request_t *r, chat_buf_t *head);

/* Appends the headers of a CORS preflight (OPTIONS) answer allowing
 * methods, cacheable for a year. */
int transport_preflight_headers(http_request_t *r, chat_buf_t *head, const char *methods);

/* Appends Cache-Control/Expires headers that let clients keep a response
 * for a year. */
int transport_cache_forever(chat_buf_t *head);

/* Whether the streaming transports are served for r: the streaming option,
 * unless the front server passed CHAT_STREAMING=0 with the request (SetEnv
 * in .htaccess under mod_fcgid, which buffers responses). */
int transport_streaming_allowed(const http_request_t *r, const chat_options_t *opt);

/* Returns 1 when the request's Origin is allowed by the `origins` option
 * (no Origin header, "null", or a listed one), else 0. */
int transport_origin_allowed(const http_request_t *r, const chat_options_t *opt);

#endif
