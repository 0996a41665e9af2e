/*
 * server.c - chat-ws's libwebsockets server (see server.h).  The protocol
 * callback is a switch handing each reason to a named function; everything
 * runs on the loop thread except the doorbell waiter, which only calls
 * lws_cancel_service().
 */
#include "config.h"
#include "server.h"

#include "background.h"
#include "broker.h"
#include "chatdb.h"
#include "dispatch.h"
#include "doorbell.h"
#include "log.h"
#include "metrics.h"
#include "origin.h"
#include "outbox.h"
#include "relay.h"
#include "route.h"
#include "service.h"
#include "session.h"
#include "sockjs.h"
#include "wsq.h"

#include <ctype.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Most messages queued on one socket before it counts as a slow reader. */
#define WS_QUEUE_MAX_COUNT 1024
/* Most bytes queued on one socket: this, or two of the largest frames. */
#define WS_QUEUE_MIN_BYTES (1024 * 1024)
/* Bytes handed to lws per writeable callback (a message goes out as
 * several WebSocket fragments when it is longer). */
#define WS_WRITE_CHUNK (16 * 1024)
/* Messages per a[...] frame. */
#define WS_BATCH_ITEMS 256
/* How long past a heartbeat a socket's session lease lasts. */
#define WS_LEASE_SLACK_MS 5000
/* How long a socket being closed may take to flush before it is cut. */
#define WS_CLOSE_TIMEOUT_S 5
/* How long the shutdown waits for sockets to close. */
#define WS_SHUTDOWN_GRACE_US (3 * LWS_US_PER_SEC)
/* Buckets of the session-key hash of live sockets. */
#define WS_HASH_BUCKETS 4096
/* Longest request path looked at (longer: 404). */
#define WS_PATH_MAX 1024
/* Longest Origin header looked at (longer: refused). */
#define WS_ORIGIN_MAX 1024
/* Longest Connection header looked at (longer: 400). */
#define WS_CONNECTION_MAX 256
/* A WebSocket close reason fits in a control frame: 123 bytes. */
#define WS_REASON_MAX 123

/* Close codes of ours (RFC 6455 section 7.4.1). */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL 1011
#define WS_CLOSE_TRY_AGAIN 1013
#define WS_CLOSE_BROKEN_FRAMING 3000 /* what sockjs-node sends for broken JSON */

typedef struct conn conn_t;

/* lws's receive buffer per socket, in bytes. */
#define WS_RX_BUFFER 512

/* One WebSocket: lws's per-session user space (zeroed by lws). */
struct conn {
	conn_t *prev, *next;     /* in the server's list while live */
	conn_t *hnext;           /* in its bucket of the server's key hash */
	dispatch_sess_t *ds;     /* its session in the dispatcher (while live) */
	struct lws *wsi;
	const service_t *svc;
	int framed;              /* SockJS framing (session URL), else raw */
	int live;                /* has a session row and is in the list */
	int closing;             /* close decided: flush the queue, then close */
	int close_code;
	char close_reason[WS_REASON_MAX + 1];
	int64_t saved_cursor;    /* last cursor written to chat.db */
	int64_t stomp_sent_ms;   /* monotonic time STOMP data was last queued */
	int ponged;              /* a pong came since the last heartbeat */
	wsq_t q;                 /* frames waiting for writeable */
	chat_buf_t rx;           /* the client message being received */
	char key[CHATDB_ID_MAX + 1];
	char user[SESSION_USER_MAX + 1]; /* its STOMP user once known, for the log */
};

/* Subprotocol names the sockets answer to: ours first (it also serves
 * plain HTTP), then the STOMP ones. */
static const char *const ws_protocol_names[] = { "chat-sockjs", "v12.stomp", "v11.stomp",
						 "v10.stomp" };
#define WS_NPROTOCOLS (sizeof(ws_protocol_names) / sizeof(ws_protocol_names[0]))

struct wsserver {
	const chat_options_t *opt;          /* borrowed */
	service_t services[SERVICE_MAX];
	const char *prefixes[SERVICE_MAX];  /* services[i].prefix, for route_parse */
	size_t nservices;
	service_ctx_t svc;                  /* svc.db: the loop thread's handle (owned) */
	doorbell_t *bell;                   /* owned */
	struct lws_context *ctx;            /* owned */
	struct lws_protocols protocols[WS_NPROTOCOLS + 1]; /* NULL-terminated */
	lws_retry_bo_t retry;               /* ping/pong keepalive */
	lws_sorted_usec_list_t grace;       /* shutdown deadline */
	lws_sorted_usec_list_t beat;        /* heartbeats, leases, cursors */
	lws_sorted_usec_list_t stomp_beat;  /* STOMP heart-beats of every socket */
	dispatch_t *disp;                   /* the fan-out (reads with svc.db; owned) */
	size_t batch_max_bytes;             /* what one socket's batch may hold */
	conn_t *conns;                      /* live sockets */
	conn_t *buckets[WS_HASH_BUCKETS];   /* live sockets by session key */
	size_t nconns;
	char owner[CHATDB_ID_MAX + 1];      /* lease owner of every socket's session */
	char nonce[9];                      /* this run's tag in session keys */
	unsigned long long opened;          /* sockets opened, for session keys */
	int64_t lease_ms;
	size_t queue_max_bytes;
	size_t rx_max_framed, rx_max_raw;   /* message caps on the wire */
	json_strv_t in;                     /* scratch: one decoded client message */
	json_strv_t out;                    /* scratch: collected messages */
	chat_buf_t frame;                   /* scratch: one SockJS frame */
	pthread_t waiter;
	int waiter_started;
	atomic_int waiter_stop;
	atomic_int stop_requested;
	int shutting_down;                  /* loop thread: closes started */
	int done;                           /* loop thread: leave wsserver_run */
};

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
		WSI_TOKEN_GET_URI, WSI_TOKEN_POST_URI, WSI_TOKEN_OPTIONS_URI,
		WSI_TOKEN_PUT_URI, WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI,
		WSI_TOKEN_HEAD_URI,
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
static const service_t *route_websocket(wsserver_t *srv, struct lws *wsi, int *framed,
					 route_t *rt, int *is_get)
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

	if (n <= 0 || n > WS_CONNECTION_MAX || lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_CONNECTION) < 0)
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
static int on_http(wsserver_t *srv, struct lws *wsi)
{
	route_t rt;
	int framed, is_get = 0, rc;

	if (route_websocket(srv, wsi, &framed, &rt, &is_get) == NULL)
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
static int on_confirm_upgrade(wsserver_t *srv, struct lws *wsi, const char *protocol)
{
	route_t rt;
	int framed, is_get = 0;

	if (protocol == NULL || strcasecmp(protocol, "websocket") != 0)
		return -1; /* h2c and friends: hang up */
	if (route_websocket(srv, wsi, &framed, &rt, &is_get) == NULL)
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

/* ---- sockets ----------------------------------------------------------- */

static size_t key_hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return (size_t)(h % WS_HASH_BUCKETS);
}

static conn_t *conn_find(wsserver_t *srv, chat_slice_t key)
{
	conn_t *c;

	for (c = srv->buckets[key_hash(key.ptr, key.len)]; c != NULL; c = c->hnext)
		if (strlen(c->key) == key.len && memcmp(c->key, key.ptr, key.len) == 0)
			return c;
	return NULL;
}

/* The transport a socket is counted under (db/metrics.h). */
static int conn_transport(const conn_t *c)
{
	return c->framed ? SOCKJS_WEBSOCKET : METRICS_RAW_WEBSOCKET;
}

static void conn_link(wsserver_t *srv, conn_t *c)
{
	size_t b = key_hash(c->key, strlen(c->key));

	c->hnext = srv->buckets[b];
	srv->buckets[b] = c;
	c->prev = NULL;
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	c->live = 1;
	metrics_add(METRICS_CONNECTIONS + conn_transport(c), 1);
	metrics_add(METRICS_HELD, 1);
}

static void conn_unlink(wsserver_t *srv, conn_t *c)
{
	conn_t **pp = &srv->buckets[key_hash(c->key, strlen(c->key))];

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp == c)
		*pp = c->hnext;
	c->hnext = NULL;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	metrics_add(METRICS_CONNECTIONS + conn_transport(c), -1);
	metrics_add(METRICS_HELD, -1);
	srv->nconns--;
	c->live = 0;
}

/* Starts closing c with code and reason: SockJS sockets get the c[...]
 * frame after what is queued; the WebSocket close follows once the queue
 * is empty.  A socket that cannot flush within WS_CLOSE_TIMEOUT_S is cut. */
static void conn_close(wsserver_t *srv, conn_t *c, int code, const char *reason)
{
	size_t n = strlen(reason);

	if (c->closing)
		return;
	c->closing = 1;
	c->close_code = code;
	if (n > WS_REASON_MAX)
		n = WS_REASON_MAX;
	memcpy(c->close_reason, reason, n);
	c->close_reason[n] = '\0';
	if (c->framed) {
		chat_buf_reset(&srv->frame);
		if (sockjs_frame_close(&srv->frame, code, (chat_slice_t){ reason, strlen(reason) }) ==
			    CHAT_OK &&
		    wsq_push(&c->q, srv->frame.data, srv->frame.len) != CHAT_OK) {
			/* No room even for the close frame: drop the backlog. */
			wsq_clear(&c->q);
			wsq_push(&c->q, srv->frame.data, srv->frame.len);
		}
	}
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, WS_CLOSE_TIMEOUT_S);
	lws_callback_on_writable(c->wsi);
}

/* A reader too slow to take what it is sent: drop its backlog and close. */
static void conn_too_slow(wsserver_t *srv, conn_t *c)
{
	log_warn("socket %s: %zu messages, %zu bytes unsent: closing a slow reader", LOG_SID(c->key),
		 c->q.count, c->q.bytes);
	wsq_clear(&c->q);
	conn_close(srv, c, WS_CLOSE_TRY_AGAIN, "Send queue full: reading too slowly");
}

static int conn_queue(wsserver_t *srv, conn_t *c, const char *p, size_t len)
{
	int rc = wsq_push(&c->q, p, len);

	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY)
		conn_too_slow(srv, c);
	else if (rc != CHAT_OK)
		conn_close(srv, c, WS_CLOSE_INTERNAL, "Internal error");
	return rc;
}

/* Queues the messages taken into srv->out: one a[...] frame (SockJS: they
 * are encoded already) or one WebSocket message each (raw). */
static int conn_queue_messages(wsserver_t *srv, conn_t *c)
{
	const json_strv_t *v = &srv->out;
	chat_slice_t items[WS_BATCH_ITEMS];
	size_t i = 0, k;
	int rc = CHAT_OK;

	while (i < v->n && rc == CHAT_OK) {
		if (!c->framed) {
			chat_slice_t m = json_strv_at(v, i++);

			rc = conn_queue(srv, c, m.ptr, m.len);
			continue;
		}
		for (k = 0; k < WS_BATCH_ITEMS && i < v->n; k++, i++)
			items[k] = json_strv_at(v, i);
		chat_buf_reset(&srv->frame);
		rc = sockjs_frame_encoded(&srv->frame, items, k);
		if (rc != CHAT_OK) {
			log_error("socket %s: cannot frame messages: %s", LOG_SID(c->key), chat_strerror(rc));
			conn_close(srv, c, WS_CLOSE_INTERNAL, "Internal error");
			return rc;
		}
		rc = conn_queue(srv, c, srv->frame.data, srv->frame.len);
	}
	if (rc == CHAT_OK && v->n > 0)
		c->stomp_sent_ms = chat_mono_ms();
	return rc;
}

/* Moves what the dispatcher has for c into its queue (c's queue is empty:
 * the dispatcher's batch, and behind it the outbox, hold the rest until
 * the client drains). */
static void conn_fill(wsserver_t *srv, conn_t *c)
{
	chat_error_t err = { 0 };
	dispatch_end_t end;
	int rc;

	json_strv_reset(&srv->out);
	rc = dispatch_take(srv->disp, c->ds, srv->svc.db, &srv->out, &end, &err);
	if (rc != CHAT_OK) {
		log_error("socket %s: cannot take its messages: %s", LOG_SID(c->key), chat_error_reason(&err, rc));
		conn_close(srv, c, WS_CLOSE_INTERNAL, "Internal error");
		return;
	}
	if (srv->out.n > 0 && conn_queue_messages(srv, c) != CHAT_OK)
		return;
	if (end.closed) {
		if (session_close(srv->svc.db, c->key, end.code, end.reason, chat_wall_ms(), &err) !=
		    CHAT_OK)
			log_warn("socket %s: cannot close its session: %s", LOG_SID(c->key), err.message);
		/* After DISCONNECT's RECEIPT a raw STOMP client closes the
		 * socket itself (stompjs does at once); SockJS sockets get c[...]. */
		if (c->framed || end.code != WS_CLOSE_NORMAL)
			conn_close(srv, c, end.code, end.reason);
	}
}

static void conn_ready(void *ctx)
{
	conn_t *c = ctx;

	lws_callback_on_writable(c->wsi);
}

/* The doorbell rang (or a shutdown was asked for): the dispatcher reads
 * the new rows once and wakes the sockets they concern. */
static void deliver_all(wsserver_t *srv)
{
	chat_error_t err = { 0 };
	int more = 1, rc;

	while (more) {
		if ((rc = dispatch_run(srv->disp, &more, &err)) != CHAT_OK) {
			log_error("cannot read the outbox: %s", chat_error_reason(&err, rc));
			return;
		}
	}
}

/* Frees what c holds and forgets its session.  Safe to call twice. */
static void conn_release(wsserver_t *srv, conn_t *c)
{
	chat_error_t err = { 0 };

	if (c->ds != NULL) {
		int64_t cursor = dispatch_detach(srv->disp, c->ds);

		c->ds = NULL;
		if (c->live && cursor > c->saved_cursor)
			(void)session_advance_cursor(srv->svc.db, c->key, cursor, NULL);
	}
	if (c->live) {
		int64_t now = chat_wall_ms();

		log_debug("socket closed");
		conn_unlink(srv, c);
		/* Closed, not deleted: what the socket left unacknowledged
		 * (client and client-individual subscriptions) stays for its
		 * user's next subscription until the expiry deletes the session
		 * disconnect_delay_ms later, as for the HTTP transports. */
		if (session_close(srv->svc.db, c->key, WS_CLOSE_NORMAL, "Socket closed", now, &err) !=
			    CHAT_OK ||
		    session_release(srv->svc.db, c->key, srv->owner, now, &err) != CHAT_OK)
			log_warn("socket %s: cannot close its session: %s", LOG_SID(c->key), err.message);
	}
	wsq_clear(&c->q);
	chat_buf_free(&c->rx);
}

/* The session key of a new socket: the SockJS session id (cut to fit) or
 * "raw", then "~", this run's nonce and a counter, so sockets reusing a
 * session id stay independent. */
static int conn_key(wsserver_t *srv, conn_t *c, const route_t *rt)
{
	char sid[SERVICE_SID_MAX + 1], suffix[48];
	size_t n, room;

	n = (size_t)snprintf(suffix, sizeof(suffix), "~%s.%llu", srv->nonce, ++srv->opened);
	room = SERVICE_SID_MAX - n;
	if (c->framed) {
		size_t len = rt->session_id.len < room ? rt->session_id.len : room;

		memcpy(sid, rt->session_id.ptr, len);
		sid[len] = '\0';
	} else {
		snprintf(sid, sizeof(sid), "raw");
	}
	n = strlen(sid);
	memcpy(sid + n, suffix, strlen(suffix) + 1);
	return service_key(c->svc, (chat_slice_t){ sid, strlen(sid) }, c->key);
}

/* The client's address: the TCP peer, or, when that is a front server on
 * loopback (chat-ws listens on 127.0.0.1 only), the last entry of the
 * X-Forwarded-For it added (lighttpd's mod_proxy and Apache's mod_proxy
 * both do; the entries before it are the client's word and not trusted).
 * Returns 1 when out names a client seen by a front server. */
static int client_address(struct lws *wsi, char *out, size_t size)
{
	char xff[256];
	const char *last;
	size_t n, i;
	int len;

	lws_get_peer_simple(wsi, out, size);
	if (!chat_addr_loopback(out))
		return 0;
	len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
	if (len <= 0 || (size_t)len >= sizeof(xff) ||
	    lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) < 0)
		return 0;
	last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	while (*last == ' ' || *last == '\t')
		last++;
	n = strcspn(last, " \t");
	if (n == 0 || n >= size)
		return 0;
	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)last[i]) && last[i] != '.' && last[i] != ':')
			return 0;
	memcpy(out, last, n);
	out[n] = '\0';
	return 1;
}

static int on_established(wsserver_t *srv, conn_t *c, struct lws *wsi)
{
	char peer[SESSION_PEER_MAX + 1] = "";
	chat_error_t err = { 0 };
	session_info_t info;
	route_t rt;
	int framed = 0, is_get = 0, created = 0, rc;
	int64_t now = chat_wall_ms();

	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	c->stomp_sent_ms = chat_mono_ms();
	c->svc = route_websocket(srv, wsi, &framed, &rt, &is_get);
	if (c->svc == NULL)
		return -1; /* on_confirm_upgrade let it through: cannot happen */
	c->framed = framed;
	wsq_init(&c->q, srv->queue_max_bytes, WS_QUEUE_MAX_COUNT, LWS_PRE);
	chat_buf_init(&c->rx, framed ? srv->rx_max_framed : srv->rx_max_raw);
	/* The socket's session is its own (conn_key), and an xhr_send to it
	 * must come from the same address (session_bind).  New sessions are
	 * limited per client address (sessions_per_addr_*) when the front
	 * server named the client; the event loop is single-threaded, so the
	 * flag holds for this one service_open(). */
	srv->svc.limit_peers = client_address(wsi, peer, sizeof(peer));
	rc = conn_key(srv, c, &rt);
	if (rc == CHAT_OK)
		rc = service_open(&srv->svc, c->svc, c->key, peer, now, &created, &info, &err);
	srv->svc.limit_peers = 0;
	if (rc == CHAT_OK && !created)
		rc = chat_error_set(&err, CHAT_EEXIST, "session key already taken");
	if (rc == CHAT_ETOOMANY) {
		log_info("socket: %s", chat_error_reason(&err, rc));
		conn_release(srv, c);
		lws_close_reason(wsi, WS_CLOSE_TRY_AGAIN, (unsigned char *)"Try again later", 15);
		return -1;
	}
	if (rc != CHAT_OK) {
		log_error("socket %s: cannot open its session: %s", LOG_SID(c->key), chat_error_reason(&err, rc));
		goto fail;
	}
	metrics_add(METRICS_OPENED + conn_transport(c), 1);
	conn_link(srv, c);
	rc = session_acquire(srv->svc.db, c->key, srv->owner, now, srv->lease_ms, &err);
	if (rc != CHAT_OK) {
		log_error("socket %s: cannot take its lease: %s", LOG_SID(c->key), chat_error_reason(&err, rc));
		goto fail;
	}
	c->saved_cursor = info.cursor;
	rc = dispatch_attach(srv->disp, srv->svc.db, c->key, service_delivery_kind(c->svc), c->framed,
			     info.cursor, srv->batch_max_bytes, WS_BATCH_ITEMS, conn_ready, c, &c->ds,
			     &err);
	if (rc != CHAT_OK) {
		log_error("socket %s: cannot attach its session: %s", LOG_SID(c->key), chat_error_reason(&err, rc));
		goto fail;
	}
	if (c->framed) {
		chat_buf_reset(&srv->frame);
		if (sockjs_frame_open(&srv->frame) != CHAT_OK ||
		    wsq_push(&c->q, srv->frame.data, srv->frame.len) != CHAT_OK)
			goto fail;
	}
	if (info.state == SESSION_CLOSED)
		conn_close(srv, c, info.close_code, info.close_reason);
	lws_callback_on_writable(wsi);
	return 0;
fail:
	conn_release(srv, c);
	lws_close_reason(wsi, WS_CLOSE_INTERNAL, (unsigned char *)"Internal error", 14);
	return -1;
}

/* A complete client message is in c->rx. */
static int conn_message(wsserver_t *srv, conn_t *c)
{
	chat_error_t err = { 0 };
	session_info_t info;
	int rc;

	if (c->framed) {
		rc = sockjs_parse_ws_message(c->rx.data ? c->rx.data : "", c->rx.len, &srv->in);
	} else {
		json_strv_reset(&srv->in);
		rc = c->rx.len > 0 ? json_strv_push(&srv->in, c->rx.data, c->rx.len) : CHAT_OK;
	}
	chat_buf_reset(&c->rx);
	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY) {
		conn_close(srv, c, WS_CLOSE_TOO_BIG, "Message too big");
		return 0;
	}
	if (rc != CHAT_OK) {
		/* Broken JSON: terminate at once, no c[...] frame (sockjs-node). */
		lws_close_reason(c->wsi, WS_CLOSE_BROKEN_FRAMING, (unsigned char *)"Broken framing.", 15);
		return -1;
	}
	if (srv->in.n == 0)
		return 0; /* empty messages are ignored */
	rc = service_receive(&srv->svc, c->svc, c->key, NULL, &srv->in, chat_wall_ms(), &err);
	if (rc == CHAT_ECLOSED && session_get(srv->svc.db, c->key, &info, NULL) == CHAT_OK) {
		conn_close(srv, c, info.close_code, info.close_reason);
		return 0;
	}
	/* The user its CONNECT named (a chat session has one after it), once,
	 * so that the socket's log lines name it. */
	if (rc == CHAT_OK && c->user[0] == '\0' && c->svc->kind == SERVICE_CHAT &&
	    session_get(srv->svc.db, c->key, &info, NULL) == CHAT_OK && info.has_user)
		snprintf(c->user, sizeof(c->user), "%s", info.user_name);
	if (rc != CHAT_OK) {
		log_warn("socket %s: messages refused: %s", LOG_SID(c->key), chat_error_reason(&err, rc));
		/* The detail (often SQLite's text) is for the log only. */
		conn_close(srv, c, WS_CLOSE_INTERNAL, "Internal error");
	}
	return 0;
}

static int on_receive(wsserver_t *srv, conn_t *c, const void *in, size_t len)
{
	if (!c->live || c->closing)
		return 0; /* what arrives after the close began is dropped */
	if (lws_frame_is_binary(c->wsi)) {
		conn_close(srv, c, WS_CLOSE_UNSUPPORTED, "Text messages only");
		return 0;
	}
	if (chat_buf_append(&c->rx, in, len) != CHAT_OK) {
		chat_buf_reset(&c->rx);
		conn_close(srv, c, WS_CLOSE_TOO_BIG, "Message too big");
		return 0;
	}
	if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi) > 0)
		return 0;
	return conn_message(srv, c);
}

static int on_writeable(wsserver_t *srv, conn_t *c)
{
	unsigned char *p;
	size_t len, sent, n;
	int flags;

	if (!c->live)
		return -1;
	if (wsq_empty(&c->q) && !c->closing && c->ds != NULL && dispatch_ready(srv->disp, c->ds))
		conn_fill(srv, c);
	p = wsq_front(&c->q, &len, &sent);
	if (p == NULL) {
		if (!c->closing)
			return 0;
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	n = len - sent < WS_WRITE_CHUNK ? len - sent : WS_WRITE_CHUNK;
	flags = lws_write_ws_flags(LWS_WRITE_TEXT, sent == 0, sent + n == len);
	/* lws writes the frame header into the LWS_PRE bytes before p + sent:
	 * the queue's headroom, or payload bytes already sent. */
	if (lws_write(c->wsi, p + sent, n, (enum lws_write_protocol)flags) < (int)n)
		return -1;
	wsq_advance(&c->q, n);
	if (!wsq_empty(&c->q) || c->closing ||
	    (c->ds != NULL && dispatch_ready(srv->disp, c->ds)))
		lws_callback_on_writable(c->wsi);
	return 0;
}

static void closed_elsewhere(void *ctx, const char *id, int code, const char *reason)
{
	wsserver_t *srv = ctx;
	conn_t *c = conn_find(srv, (chat_slice_t){ id, strlen(id) });

	if (c != NULL && !c->closing)
		conn_close(srv, c, code, reason);
}

/* Says in chat.db that this sidecar runs, until two heartbeats from now
 * (chat.fcgi's /info offers WebSocket while it does).  A second sidecar on
 * the same chat.db finds the lease held and says nothing. */
static void sidecar_alive(wsserver_t *srv, int64_t now)
{
	chat_error_t err = { 0 };
	int rc = relay_lease(srv->svc.db, RELAY_SIDECAR_LEASE, srv->owner, now,
			     2 * srv->opt->heartbeat_ms + 5000, &err);

	if (rc != CHAT_OK && rc != CHAT_EBUSY)
		log_warn("cannot renew the sidecar's lease: %s", chat_error_reason(&err, rc));
}

/* Every heartbeat_ms, for every socket at once: the SockJS heartbeat, one
 * statement renewing all the sockets' leases, the cursors that moved
 * (outbox pruning goes by them) and the pongs heard (liveness) in the same
 * transaction, and one look for sessions another process closed. */
static void heartbeat(lws_sorted_usec_list_t *sul)
{
	wsserver_t *srv = lws_container_of(sul, wsserver_t, beat);
	chat_error_t err = { 0 };
	int64_t now = chat_wall_ms();
	conn_t *c;
	int rc;

	for (c = srv->conns; c != NULL; c = c->next) {
		if (c->closing || !c->framed || !wsq_empty(&c->q))
			continue;
		chat_buf_reset(&srv->frame);
		if (sockjs_frame_heartbeat(&srv->frame) == CHAT_OK &&
		    conn_queue(srv, c, srv->frame.data, srv->frame.len) == CHAT_OK)
			lws_callback_on_writable(c->wsi);
	}
	rc = chatdb__begin(srv->svc.db, &err);
	if (rc == CHAT_OK)
		rc = session_renew_owner(srv->svc.db, srv->owner, now, srv->lease_ms, &err);
	for (c = srv->conns; c != NULL && rc == CHAT_OK; c = c->next) {
		int64_t cursor = c->ds != NULL ? dispatch_cursor(srv->disp, c->ds) : 0;

		if (cursor > c->saved_cursor &&
		    (rc = session_advance_cursor(srv->svc.db, c->key, cursor, &err)) == CHAT_OK)
			c->saved_cursor = cursor;
		if (rc == CHAT_OK && c->ponged && (rc = broker_heard(srv->svc.db, c->key, now, &err)) == CHAT_OK)
			c->ponged = 0;
	}
	if (rc == CHAT_OK)
		rc = chatdb__commit(srv->svc.db, &err);
	else
		chatdb__rollback(srv->svc.db);
	if (rc != CHAT_OK)
		log_warn("cannot renew the sockets' leases: %s", chat_error_reason(&err, rc));
	if ((rc = session_closed_owned(srv->svc.db, srv->owner, closed_elsewhere, srv, &err)) !=
	    CHAT_OK)
		log_warn("cannot look for closed sessions: %s", chat_error_reason(&err, rc));
	sidecar_alive(srv, now);
	lws_sul_schedule(srv->ctx, 0, &srv->beat, heartbeat,
			 srv->opt->heartbeat_ms * LWS_US_PER_MS);
}

/* Every stomp_heartbeat_ms, for every socket at once: a STOMP heart-beat
 * EOL (a WebSocket message of its own, or a["\n"] on a SockJS socket) to
 * each socket whose client asked for them and would otherwise hear nothing
 * before its interval is out.  Sent at most every tick, at least every
 * broker_heartbeat_interval(). */
static void stomp_heartbeat(lws_sorted_usec_list_t *sul)
{
	wsserver_t *srv = lws_container_of(sul, wsserver_t, stomp_beat);
	int64_t tick = srv->opt->stomp_heartbeat_ms, now = chat_mono_ms();
	const chat_slice_t eol = CHAT_SLICE("\n");
	conn_t *c;

	if (tick < BROKER_HEARTBEAT_MIN_MS)
		tick = BROKER_HEARTBEAT_MIN_MS;

	for (c = srv->conns; c != NULL; c = c->next) {
		int64_t iv;

		if (c->closing || c->ds == NULL)
			continue;
		iv = broker_heartbeat_interval(srv->opt, dispatch_heartbeat_wanted(srv->disp, c->ds));
		if (!heartbeat_send_due(iv, c->stomp_sent_ms, now, tick))
			continue;
		chat_buf_reset(&srv->frame);
		if ((c->framed ? sockjs_frame_messages(&srv->frame, &eol, 1)
			       : chat_buf_append(&srv->frame, eol.ptr, eol.len)) != CHAT_OK ||
		    conn_queue(srv, c, srv->frame.data, srv->frame.len) != CHAT_OK)
			continue;
		c->stomp_sent_ms = now;
		lws_callback_on_writable(c->wsi);
	}
	lws_sul_schedule(srv->ctx, 0, &srv->stomp_beat, stomp_heartbeat, tick * LWS_US_PER_MS);
}

static void on_closed(wsserver_t *srv, conn_t *c)
{
	conn_release(srv, c);
	if (srv->shutting_down && srv->nconns == 0)
		srv->done = 1;
}

static void grace_over(lws_sorted_usec_list_t *sul)
{
	wsserver_t *srv = lws_container_of(sul, wsserver_t, grace);

	if (srv->nconns > 0)
		log_warn("shutdown: %zu sockets did not close in time", srv->nconns);
	srv->done = 1;
}

static void start_shutdown(wsserver_t *srv)
{
	conn_t *c;

	srv->shutting_down = 1;
	log_info("shutting down: closing %zu sockets", srv->nconns);
	for (c = srv->conns; c != NULL; c = c->next)
		conn_close(srv, c, WS_CLOSE_GOING_AWAY, "Server shutting down");
	if (srv->nconns == 0)
		srv->done = 1;
	else
		lws_sul_schedule(srv->ctx, 0, &srv->grace, grace_over, WS_SHUTDOWN_GRACE_US);
}

static void on_wakeup(wsserver_t *srv)
{
	deliver_all(srv);
	if (atomic_load(&srv->stop_requested) && !srv->shutting_down)
		start_shutdown(srv);
}

static int callback_reason(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len);

/* Whatever a socket's callback logs names its session. */
static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	conn_t *c = user;
	int rc;

	log_context(c != NULL && c->key[0] != '\0' ? c->key : NULL,
		    c != NULL && c->user[0] != '\0' ? c->user : NULL);
	rc = callback_reason(wsi, reason, user, in, len);
	log_context(NULL, NULL);
	return rc;
}

static int callback_reason(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	wsserver_t *srv = ctx ? lws_context_user(ctx) : NULL;
	conn_t *c = user;

	if (srv == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(srv, wsi);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return on_confirm_upgrade(srv, wsi, in);
	case LWS_CALLBACK_ESTABLISHED:
		return on_established(srv, c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return on_receive(srv, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writeable(srv, c);
	case LWS_CALLBACK_RECEIVE_PONG:
		/* A sign of life (a browser answers pings even in a background
		 * tab whose timers are throttled): told once per heartbeat. */
		if (c != NULL)
			c->ponged = 1;
		return 0;
	case LWS_CALLBACK_CLOSED:
		on_closed(srv, c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* lws tells each protocol of the vhost: act once. */
		if (lws_get_protocol(wsi) != NULL &&
		    strcmp(lws_get_protocol(wsi)->name, ws_protocol_names[0]) == 0)
			on_wakeup(srv);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- the doorbell waiter ---------------------------------------------- */

static void *waiter_main(void *arg)
{
	wsserver_t *srv = arg;
	uint32_t seen = doorbell_snapshot(srv->bell);

	while (!atomic_load(&srv->waiter_stop)) {
		if (doorbell_wait(srv->bell, seen, -1) != CHAT_OK)
			continue;
		/* Snapshot before waking the loop: a ring after this point
		 * wakes it again, a ring before it is seen by the collect the
		 * wakeup triggers (rings follow their commits). */
		seen = doorbell_snapshot(srv->bell);
		lws_cancel_service(srv->ctx);
	}
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void lws_log_line(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error("lws: %.*s", (int)n, line);
	else
		log_warn("lws: %.*s", (int)n, line);
}

int wsserver_open(const chat_options_t *opt, wsserver_t **out, chat_error_t *err)
{
	struct lws_context_creation_info info;
	wsserver_t *srv = calloc(1, sizeof(*srv));
	uint32_t nonce = 0;
	size_t max_frame = (size_t)opt->max_frame, i;
	int rc;

	*out = NULL;
	if (srv == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	srv->opt = opt;
	srv->nservices = service_table(opt, srv->services);
	for (i = 0; i < srv->nservices; i++)
		srv->prefixes[i] = srv->services[i].prefix;
	srv->svc.opt = opt;
	srv->lease_ms = opt->heartbeat_ms + WS_LEASE_SLACK_MS;
	/* A message may grow six-fold as JSON (\u00XX escapes), plus the array. */
	srv->rx_max_framed = max_frame * 6 + 1024;
	srv->rx_max_raw = max_frame;
	srv->queue_max_bytes = WS_QUEUE_MIN_BYTES;
	if (srv->queue_max_bytes < 2 * (max_frame * 6 + 1024))
		srv->queue_max_bytes = 2 * (max_frame * 6 + 1024);
	/* A batch taken from the dispatcher goes whole into an empty queue. */
	srv->batch_max_bytes = srv->queue_max_bytes / 2 - 1024;
	json_strv_init(&srv->in, max_frame, 4096);
	json_strv_init(&srv->out, srv->batch_max_bytes, WS_BATCH_ITEMS);
	chat_buf_init(&srv->frame, srv->batch_max_bytes + WS_BATCH_ITEMS + 1024);
	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		nonce = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	snprintf(srv->nonce, sizeof(srv->nonce), "%08x", nonce);
	snprintf(srv->owner, sizeof(srv->owner), "ws:%ld:%s", (long)getpid(), srv->nonce);

	rc = doorbell_open(opt->bell_path, &srv->bell, err);
	if (rc != CHAT_OK)
		goto fail;
	rc = chatdb_open(opt->db_path, 0, &srv->svc.db, err);
	if (rc != CHAT_OK)
		goto fail;
	/* Ids, guests and rooms continue above the store's before any post. */
	(void)relay_seed_uri(srv->svc.db, opt->store_uri, chat_wall_ms(), NULL);
	chatdb_set_doorbell(srv->svc.db, srv->bell);
	rc = dispatch_new(srv->svc.db, &srv->disp);
	if (rc != CHAT_OK) {
		rc = chat_error_set(err, rc, "out of memory");
		goto fail;
	}

	/* STOMP clients on a raw WebSocket (stompjs's brokerURL, Spring's
	 * clients) ask for the STOMP subprotocols, and lws refuses a socket
	 * none of whose subprotocols it knows: accept them as names of the same
	 * protocol.  Which one lws answers changes nothing: CONNECT negotiates
	 * the STOMP version. */
	for (size_t p = 0; p < WS_NPROTOCOLS; p++) {
		srv->protocols[p].name = ws_protocol_names[p];
		srv->protocols[p].callback = callback;
		srv->protocols[p].per_session_data_size = sizeof(conn_t);
		/* lws allocates this per socket (its default is 4 KiB): most
		 * client frames are small, and longer ones come in pieces that
		 * conn_t's rx joins, so a small one keeps idle sockets cheap. */
		srv->protocols[p].rx_buffer_size = WS_RX_BUFFER;
	}
	/* Ping a socket idle for a heartbeat; hang up when the pong is missing. */
	srv->retry.secs_since_valid_ping = (uint16_t)(opt->heartbeat_ms / 1000 > 0 ? opt->heartbeat_ms / 1000 : 1);
	srv->retry.secs_since_valid_hangup = (uint16_t)(srv->retry.secs_since_valid_ping * 2 + 10);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
	memset(&info, 0, sizeof(info));
	info.port = (int)opt->ws_port;
	info.iface = opt->ws_listen[0] ? opt->ws_listen : NULL;
	info.protocols = srv->protocols;
	info.user = srv;
	info.vhost_name = "chat-ws";
	info.server_string = "chat-ws";
	info.retry_and_idle_policy = &srv->retry;
	info.timeout_secs = 10;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
		       LWS_SERVER_OPTION_DISABLE_IPV6;
	srv->ctx = lws_create_context(&info);
	if (srv->ctx == NULL) {
		rc = chat_error_set(err, CHAT_EIO, "cannot listen on %s:%lld (address in use?)",
				    opt->ws_listen, opt->ws_port);
		goto fail;
	}
	/* Relay, sweeps, expiry and pruning, also for a stack whose clients
	 * only use the raw WebSocket. */
	if ((rc = background_start(opt, srv->bell)) != CHAT_OK) {
		chat_error_set(err, rc, "cannot start the background thread");
		goto fail;
	}
	sidecar_alive(srv, chat_wall_ms());
	lws_sul_schedule(srv->ctx, 0, &srv->beat, heartbeat, opt->heartbeat_ms * LWS_US_PER_MS);
	if (opt->stomp_heartbeat_ms > 0)
		lws_sul_schedule(srv->ctx, 0, &srv->stomp_beat, stomp_heartbeat,
				 opt->stomp_heartbeat_ms * LWS_US_PER_MS);
	if (pthread_create(&srv->waiter, NULL, waiter_main, srv) != 0) {
		rc = chat_error_set(err, CHAT_ENOMEM, "cannot start the doorbell thread");
		goto fail;
	}
	srv->waiter_started = 1;
	*out = srv;
	return CHAT_OK;
fail:
	wsserver_close(srv);
	return rc;
}

int wsserver_run(wsserver_t *srv)
{
	log_info("listening on %s:%lld", srv->opt->ws_listen, srv->opt->ws_port);
	while (!srv->done)
		if (lws_service(srv->ctx, 0) < 0)
			break;
	return CHAT_OK;
}

void wsserver_stop(wsserver_t *srv)
{
	atomic_store(&srv->stop_requested, 1);
	lws_cancel_service(srv->ctx);
}

void wsserver_close(wsserver_t *srv)
{
	if (srv == NULL)
		return;
	background_stop();
	if (srv->waiter_started) {
		atomic_store(&srv->waiter_stop, 1);
		/* Ringing with the current seq wakes the waiter and moves nothing. */
		doorbell_ring(srv->bell, doorbell_seq(srv->bell));
		pthread_join(srv->waiter, NULL);
	}
	/* Closes the sockets still open (their CLOSED callbacks delete the
	 * sessions), so chat.db must still be open here. */
	if (srv->ctx != NULL)
		lws_context_destroy(srv->ctx);
	dispatch_free(srv->disp);
	service_ctx_cleanup(&srv->svc);
	/* /info stops offering WebSocket at once. */
	if (srv->svc.db != NULL)
		(void)relay_lease_release(srv->svc.db, RELAY_SIDECAR_LEASE, srv->owner, NULL);
	chatdb_close(srv->svc.db);
	doorbell_close(srv->bell);
	json_strv_free(&srv->in);
	json_strv_free(&srv->out);
	chat_buf_free(&srv->frame);
	free(srv);
}
