/*
 * service.h - SockJS services over the shared session state: what happens
 * to a session's messages, whichever transport (any HTTP transport in any
 * chat.fcgi process, or a WebSocket in chat-ws) carries them.  The chat
 * (STOMP) service hands them to the broker (db/broker.h); with
 * test_services, the SockJS test suite's services are mounted too.  The
 * services, and what can repeat after a SIGKILL:
 * docs/protocol.md#services.
 */
#ifndef CHAT_SERVICE_H
#define CHAT_SERVICE_H

#include "chatdb.h"
#include "delivery.h"
#include "json.h"
#include "options.h"
#include "session.h"
#include "store.h"

typedef enum service_kind {
	SERVICE_CHAT, /* STOMP 1.2 broker and the chat application */
	SERVICE_ECHO, /* every message back to its sender */
	SERVICE_CLOSE /* new sessions are closed with 3000 "Go away!" */
} service_kind_t;

typedef struct service {
	const char *prefix; /* URL prefix ("/echo"), borrowed from options or static */
	service_kind_t kind;
	int websocket;     /* WebSocket offered (in /info, and routed) */
	int cookie_needed; /* JSESSIONID cookie set on transport responses */
	char tag;          /* distinguishes its sessions in chat.db */
	size_t sid_min;    /* shortest session id accepted (session_id_min) */
} service_t;

/* Most services mounted at once. */
#define SERVICE_MAX (ROUTE_ENDPOINTS_MAX + 4)

/* Longest SockJS session id a service accepts (its chat.db key adds 2). */
#define SERVICE_SID_MAX (CHATDB_ID_MAX - 2)

/* Fills out with the services opt mounts (opt is borrowed and must outlive
 * them) and returns how many. */
size_t service_table(const chat_options_t *opt, service_t out[SERVICE_MAX]);

/* What one thread needs to run services.  Not shared between threads. */
typedef struct service_ctx {
	chatdb_t *db;              /* this thread's handle (borrowed) */
	const chat_options_t *opt; /* borrowed */
	store_t *store;            /* this thread's durable store: NULL until the
				     * broker first needs it (opened from
				     * opt->store_uri); owned, service_ctx_cleanup() */
	int limit_peers;           /* 1: new sessions are limited per peer (its
				     * address is the client's: chat.fcgi, not
				     * chat-ws behind a front server) */
	int64_t retry_ms;          /* after CHAT_ETOOMANY from service_open(): the wait */
} service_ctx_t;

/* Closes what the context opened itself (the store handle).  The context
 * stays usable (the store is opened again when needed). */
void service_ctx_cleanup(service_ctx_t *c);

/* The chat.db key of session sid of service s ("T:" + sid) into key.
 * Returns 0, or CHAT_ETOOBIG / CHAT_EINVAL for an id too long, or empty or
 * shorter than s->sid_min. */
CHAT_MUST_CHECK int service_key(const service_t *s, chat_slice_t sid, char key[CHATDB_ID_MAX + 1]);

/* Begins a receiving request (or a WebSocket) on session key: creates the
 * session if there is none (*created = 1; the caller sends "o").  A new
 * session of the close service is closed at once with 3000 "Go away!",
 * which the caller sends after "o".  *info gets the session row.
 * peer is the client's address (NULL or "": unknown); with the
 * session_bind option on, a session is bound to the first address that
 * opens it or sends to it, and a request from another address is
 * CHAT_EDENIED (answered as an unknown session: 404).  A new session
 * takes a token from peer's bucket in chat.db (the options
 * sessions_per_addr_rate and sessions_per_addr_burst, db/ratelimit.h):
 * without one it is not created, CHAT_ETOOMANY with c->retry_ms (only
 * with c->limit_peers). */
CHAT_MUST_CHECK int service_open(service_ctx_t *c, const service_t *s, const char *key,
				 const char *peer, int64_t now_ms, int *created,
				 session_info_t *info, chat_error_t *err);

/* Handles the messages a client sent on session key (xhr_send, jsonp_send,
 * a WebSocket message).  Returns 0 once they are committed, CHAT_ENOTFOUND
 * if there is no such session, CHAT_ECLOSED if it is closed, CHAT_EDENIED
 * if it is bound to another address than peer (see service_open) (all
 * three: 404 on HTTP), or another error.  Chat service: each message holds complete
 * STOMP frames; a refused frame is answered with a STOMP ERROR (still 0),
 * and messages to a session that is closing after an ERROR are ignored. */
CHAT_MUST_CHECK int service_receive(service_ctx_t *c, const service_t *s, const char *key,
				    const char *peer, const json_strv_t *msgs, int64_t now_ms,
				    chat_error_t *err);

/* Collects the messages for session key after outbox seq cursor into out
 * (appended; stops before a message that does not fit, so out's caps bound
 * one response) and sets *next_cursor to the seq of the last row consumed
 * (cursor when none).  The caller advances the session's cursor with
 * session_advance_cursor() once the messages are written.  Chat service:
 * the frames one outbox row renders to are one message; when the last
 * collected message ends the session (an ERROR, DISCONNECT's RECEIPT), the
 * session is closed here, so the caller sends the close frame next. */
CHAT_MUST_CHECK int service_collect(service_ctx_t *c, const service_t *s, const char *key,
				    int64_t cursor, json_strv_t *out, int64_t *next_cursor,
				    chat_error_t *err);

/* How sessions of s are delivered (db/delivery.h). */
delivery_kind_t service_delivery_kind(const service_t *s);

#endif
