/*
 * conn.c - chat-ws's sockets: the live list and key hash, a socket's
 * session (opened when it opens, released when it closes), its bounded
 * send queue filled from the dispatcher, and what its client sends.
 */
#include "config.h"
#include "server_int.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

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
void conn_close(wsserver_t *srv, conn_t *c, int code, const char *reason)
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
		if (sockjs_frame_close(&srv->frame, code,
				       (chat_slice_t){ reason, strlen(reason) }) == CHAT_OK &&
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
	log_warn("socket %s: %zu messages, %zu bytes unsent: closing a slow reader",
		 LOG_SID(c->key), c->q.count, c->q.bytes);
	wsq_clear(&c->q);
	conn_close(srv, c, WS_CLOSE_TRY_AGAIN, "Send queue full: reading too slowly");
}

int conn_queue(wsserver_t *srv, conn_t *c, const char *p, size_t len)
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
			log_error("socket %s: cannot frame messages: %s", LOG_SID(c->key),
				  chat_strerror(rc));
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
		log_error("socket %s: cannot take its messages: %s", LOG_SID(c->key),
			  chat_error_reason(&err, rc));
		conn_close(srv, c, WS_CLOSE_INTERNAL, "Internal error");
		return;
	}
	if (srv->out.n > 0 && conn_queue_messages(srv, c) != CHAT_OK)
		return;
	if (end.closed) {
		if (session_close(srv->svc.db, c->key, end.code, end.reason, chat_wall_ms(),
				  &err) != CHAT_OK)
			log_warn("socket %s: cannot close its session: %s", LOG_SID(c->key),
				 err.message);
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
void conn_deliver_all(wsserver_t *srv)
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
void conn_release(wsserver_t *srv, conn_t *c)
{
	chat_error_t err = { 0 };

	if (c->ds != NULL) {
		int64_t cursor = dispatch_detach(srv->disp, c->ds);

		c->ds = NULL;
		/* Best effort: a cursor not saved only means a takeover
		 * redelivers from the older one. */
		if (c->live && cursor > c->saved_cursor &&
		    session_advance_cursor(srv->svc.db, c->key, cursor, NULL) != CHAT_OK)
			log_debug("cursor not saved");
	}
	if (c->live) {
		int64_t now = chat_wall_ms();

		log_debug("socket closed");
		conn_unlink(srv, c);
		/* Closed, not deleted: what the socket left unacknowledged
		 * (client and client-individual subscriptions) stays for its
		 * user's next subscription until the expiry deletes the session
		 * disconnect_delay_ms later, as for the HTTP transports. */
		if (session_close(srv->svc.db, c->key, WS_CLOSE_NORMAL, "Socket closed", now,
				  &err) != CHAT_OK ||
		    session_release(srv->svc.db, c->key, srv->owner, now, &err) != CHAT_OK)
			log_warn("socket %s: cannot close its session: %s", LOG_SID(c->key),
				 err.message);
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

int conn_established(wsserver_t *srv, conn_t *c, struct lws *wsi)
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
	c->svc = upgrade_route(srv, wsi, &framed, &rt, &is_get);
	if (c->svc == NULL)
		return -1; /* upgrade_confirm let it through: cannot happen */
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
		log_error("socket %s: cannot open its session: %s", LOG_SID(c->key),
			  chat_error_reason(&err, rc));
		goto fail;
	}
	metrics_add(METRICS_OPENED + conn_transport(c), 1);
	conn_link(srv, c);
	rc = session_acquire(srv->svc.db, c->key, srv->owner, now, srv->lease_ms, &err);
	if (rc != CHAT_OK) {
		log_error("socket %s: cannot take its lease: %s", LOG_SID(c->key),
			  chat_error_reason(&err, rc));
		goto fail;
	}
	c->saved_cursor = info.cursor;
	rc = dispatch_attach(srv->disp, srv->svc.db, c->key, service_delivery_kind(c->svc),
			     c->framed, info.cursor, srv->batch_max_bytes, WS_BATCH_ITEMS,
			     conn_ready, c, &c->ds, &err);
	if (rc != CHAT_OK) {
		log_error("socket %s: cannot attach its session: %s", LOG_SID(c->key),
			  chat_error_reason(&err, rc));
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
		lws_close_reason(c->wsi, WS_CLOSE_BROKEN_FRAMING,
				 (unsigned char *)"Broken framing.", 15);
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
		log_warn("socket %s: messages refused: %s", LOG_SID(c->key),
			 chat_error_reason(&err, rc));
		/* The detail (often SQLite's text) is for the log only. */
		conn_close(srv, c, WS_CLOSE_INTERNAL, "Internal error");
	}
	return 0;
}

int conn_receive(wsserver_t *srv, conn_t *c, const void *in, size_t len)
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

int conn_writeable(wsserver_t *srv, conn_t *c)
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
	if (!wsq_empty(&c->q) || c->closing || (c->ds != NULL && dispatch_ready(srv->disp, c->ds)))
		lws_callback_on_writable(c->wsi);
	return 0;
}

void conn_closed_elsewhere(void *ctx, const char *id, int code, const char *reason)
{
	wsserver_t *srv = ctx;
	conn_t *c = conn_find(srv, (chat_slice_t){ id, strlen(id) });

	if (c != NULL && !c->closing)
		conn_close(srv, c, code, reason);
}
