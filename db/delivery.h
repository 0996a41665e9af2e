/*
 * delivery.h - what one session receives: its STOMP state held in memory
 * (user, negotiated version, subscriptions) and how an outbox row becomes
 * the SockJS messages for it.  Used by the per-process dispatcher
 * (db/dispatch.h) for every live session of a process, and by
 * service_collect() for a one-off read.  The state follows the rows
 * addressed to the session; their header names (DELIVERY_H_*):
 * docs/protocol.md#delivery.
 *
 * Not thread-safe: the dispatcher serialises access.
 */
#ifndef CHAT_DELIVERY_H
#define CHAT_DELIVERY_H

#include "buf.h"
#include "chatrow.h"
#include "chatdb.h"
#include "dest.h"
#include "json.h"
#include "outbox.h"
#include "session.h"
#include "stomp.h"

#define DELIVERY_H_VERSION "x-version"
#define DELIVERY_H_USER "x-user"
#define DELIVERY_H_HB "x-hb"
#define DELIVERY_H_SUB "x-sub"
#define DELIVERY_H_DEST "x-dest"
#define DELIVERY_H_ACK "x-ack"
#define DELIVERY_H_FROM "x-from"
#define DELIVERY_H_UNSUB "x-unsub"
#define DELIVERY_H_SENDER "user-name"

/* Longest ack id: "<seq>.<subscription id>". */
#define DELIVERY_ACK_ID_MAX (CHATDB_ID_MAX + 24)

typedef struct delivery_sub delivery_sub_t;
typedef struct delivery delivery_t;

/* One kept subscription.  The link fields belong to whoever indexes it
 * (the dispatcher). */
struct delivery_sub {
	char *id;
	char *dest; /* as stored: /topic/..., /queue/..., /user/queue/... */
	size_t dest_len;
	session_ack_t ack;
	dest_kind_t kind;
	int pattern;      /* dest holds wildcards */
	int64_t from_seq; /* broadcast rows up to this seq predate it */
	delivery_t *owner;
	delivery_sub_t *prev, *next; /* index links */
	void *entry;                 /* index entry */
};

/* Told when the state changes, so an index can follow (all may be NULL). */
typedef struct delivery_hooks {
	void (*sub_added)(void *ctx, delivery_sub_t *sub);
	void (*sub_removing)(void *ctx, delivery_sub_t *sub);
	void (*user_set)(void *ctx, delivery_t *d, const char *old_user);
	void *ctx;
} delivery_hooks_t;

/* What a session's delivery renders: the service kind decides. */
typedef enum delivery_kind {
	DELIVERY_STOMP, /* the broker's rows: MESSAGE per subscription */
	DELIVERY_ECHO   /* rows addressed to the session carry the message */
} delivery_kind_t;

/* A message delivered to a client or client-individual subscription, to be
 * recorded as unacknowledged. */
typedef struct delivery_pending {
	delivery_sub_t *sub; /* NULL once the subscription went */
	int64_t seq;
	char *dest, *ctype, *body;
	char *sender; /* the row's user-name, or NULL */
	size_t body_len;
} delivery_pending_t;

struct delivery {
	char key[CHATDB_ID_MAX + 1];
	size_t key_len;
	delivery_kind_t kind;
	int framed; /* messages are encoded JSON string literals */
	int connected;
	stomp_version_t version;
	int64_t hb_client_recv_ms; /* CONNECT heart-beat cy: what the client wants */
	int has_user;
	char user[SESSION_USER_MAX + 1];
	delivery_sub_t **subs;
	size_t nsubs, subs_cap;
	int closed; /* an ERROR or DISCONNECT receipt was delivered */
	int close_code;
	char close_reason[SESSION_REASON_MAX + 1];
	delivery_pending_t *pend;
	size_t npend, pend_cap;
	delivery_hooks_t hooks;
	void *user_data; /* the dispatcher's */
};

/* A render cache for one row: MESSAGE frames are the same for every
 * subscriber with the same version, subscription id and ack mode. */
typedef struct delivery_cache delivery_cache_t;

/* Allocates a cache; NULL when out of memory. */
delivery_cache_t *delivery_cache_new(void);

/* Forgets what was rendered (call before each new row). */
void delivery_cache_reset(delivery_cache_t *c);

/* Frees.  NULL-safe. */
void delivery_cache_free(delivery_cache_t *c);

/* Initialises d for session key (1..CHATDB_ID_MAX bytes) of the given kind;
 * framed: messages are JSON-encoded.  hooks may be NULL.  Not connected, no
 * subscriptions until delivery_load() or rows say so. */
void delivery_init(delivery_t *d, const char *key, delivery_kind_t kind, int framed,
		   const delivery_hooks_t *hooks);

/* Loads the session's user, STOMP version and subscriptions from chat.db
 * (replacing what d held; hooks are told).  CHAT_ENOTFOUND when there is
 * no such session, CHAT_ENOMEM, database errors. */
CHAT_MUST_CHECK int delivery_load(chatdb_t *db, delivery_t *d, chat_error_t *err);

/* Frees what d holds (subscriptions are removed through the hooks). */
void delivery_clear(delivery_t *d);

/* Whether row is addressed to d (target_session is d's key). */
int delivery_is_for(const delivery_t *d, const outbox_row_t *row);

/* Applies one row to d: a row addressed to d (state change, frame, queue
 * message, echo) or a broadcast matched against all of d's subscriptions.
 * Appends at most one message to out.  cache may be NULL.  Returns CHAT_OK,
 * CHAT_ETOOBIG / CHAT_ETOOMANY when the message does not fit in out (then
 * nothing was appended or changed: apply the row again later), CHAT_EINVAL
 * when the row cannot be rendered for this session (skip it: nothing was
 * changed), CHAT_ENOMEM.  A row after d closed is ignored. */
CHAT_MUST_CHECK int delivery_apply(delivery_t *d, const outbox_row_t *row, delivery_cache_t *cache,
				   json_strv_t *out);

/* Records what d's client-ack subscriptions were handed (stomp_unacked), in
 * the caller's transaction, and forgets it.  Must run before the messages
 * reach the client, so that its ACK finds them. */
CHAT_MUST_CHECK int delivery_flush_pending(chatdb_t *db, delivery_t *d, chat_error_t *err);

/* Renders one MESSAGE frame (shared with the broker's direct replies);
 * sender (NULL: none) becomes its user-name header. */
CHAT_MUST_CHECK int delivery_render_message(chat_buf_t *out, stomp_version_t v, const char *sub_id,
					    int64_t seq, const char *dest, const char *ctype,
					    const char *sender, const char *ack_id,
					    chat_slice_t body);

/* The ack id of message seq on subscription sub_id. */
void delivery_ack_id(char out[DELIVERY_ACK_ID_MAX + 1], int64_t seq, const char *sub_id);

#endif
