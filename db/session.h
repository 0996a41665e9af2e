/*
 * session.h - SockJS sessions and their STOMP subscriptions as rows in
 * var/chat.db, so that consecutive requests of one session can land in
 * different processes.
 *
 * A session row holds its state (open -> closing -> closed, with the close
 * code and reason every later request answers with), its user, its delivery
 * cursor (the last outbox seq delivered to it) and a lease: the process that
 * currently serves the session (holds its poll/stream request or WebSocket)
 * owns the lease until lease_until_ms.  A second request while another
 * owner's lease is unexpired is how "Another connection still open"
 * (c[2010]) is decided across processes: session_acquire() says CHAT_EBUSY.
 *
 * Live sessions are those not closed (open or closing); only they hold
 * outbox rows back from pruning and appear in session_sub_list_live().
 * All calls use the handle's rules (chatdb.h); times are wall-clock ms.
 */
#ifndef CHAT_SESSION_H
#define CHAT_SESSION_H

#include "chatdb.h"

/* Bounds beyond chatdb.h's (longer input: CHAT_ETOOBIG). */
#define SESSION_USER_MAX CHAT_PRINCIPAL_MAX /* user name bytes */
#define SESSION_REASON_MAX 256              /* close reason bytes (may be empty) */
#define SESSION_SUBS_MAX 64                 /* subscriptions per session (CHAT_ETOOMANY) */
#define SESSION_PEER_MAX 64                 /* client address bytes (an IPv6 text form fits) */

/* What session_expire() records as the close of a timed-out session. */
#define SESSION_EXPIRED_CODE 1001
#define SESSION_EXPIRED_REASON "Session timed out"

typedef enum session_state {
	SESSION_OPEN = 0,
	SESSION_CLOSING = 1, /* close decided; frames still being flushed */
	SESSION_CLOSED = 2
} session_state_t;

typedef enum session_ack {
	SESSION_ACK_AUTO = 0,
	SESSION_ACK_CLIENT = 1,
	SESSION_ACK_CLIENT_INDIVIDUAL = 2
} session_ack_t;

/* A copy of a session row (fixed size, no pointers: the caller owns it). */
typedef struct session_info {
	char id[CHATDB_ID_MAX + 1];
	int64_t created_ms;
	int64_t last_seen_ms;
	session_state_t state;
	int close_code; /* 0 until closed */
	char close_reason[SESSION_REASON_MAX + 1];
	int64_t closed_ms;                    /* 0 until closed */
	int has_user;                         /* user_name is set */
	char user_name[SESSION_USER_MAX + 1]; /* "" when !has_user */
	int64_t cursor;                       /* last outbox seq delivered */
	char lease_owner[CHATDB_ID_MAX + 1];  /* "" when nobody holds it */
	int64_t lease_until_ms;               /* 0 when nobody holds it */
	char peer[SESSION_PEER_MAX + 1];      /* the client address it is bound to, or "" */
} session_info_t;

/* A subscription handed to a list callback; strings valid during the
 * callback only. */
typedef struct session_sub {
	const char *session_id;
	const char *sub_id;
	const char *destination;
	session_ack_t ack_mode;
	int64_t from_seq; /* the outbox seq its delivery starts after */
} session_sub_t;

/* Called per subscription: CHAT_OK goes on, CHAT_STOP stops (the list
 * call then returns CHAT_OK), anything else stops and the list call
 * returns it.  Must not use the same chatdb_t. */
typedef int (*session_sub_cb)(void *ctx, const session_sub_t *sub);

/* Creates an open session.  Its cursor starts at the outbox's last seq (in
 * the same statement), so a new session receives no history from the
 * outbox.  user_name may be NULL.  CHAT_EEXIST if the id is taken. */
CHAT_MUST_CHECK int session_create(chatdb_t *db, const char *id, const char *user_name,
				   int64_t now_ms, chat_error_t *err);

/* Copies the row into *out.  CHAT_ENOTFOUND if there is none. */
CHAT_MUST_CHECK int session_get(chatdb_t *db, const char *id, session_info_t *out,
				chat_error_t *err);

/* Raises last_seen_ms to now_ms (never lowers it).  CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_touch(chatdb_t *db, const char *id, int64_t now_ms, chat_error_t *err);

/* Sets (or with NULL clears) the user name, e.g. after STOMP CONNECT. */
CHAT_MUST_CHECK int session_set_user(chatdb_t *db, const char *id, const char *user_name,
				     chat_error_t *err);

/* Binds the session to peer (a client address, 1..SESSION_PEER_MAX bytes)
 * unless it is bound already: the first binding wins, atomically.  *out
 * gets the row afterwards, whose peer says to which address the session is
 * bound.  CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_bind_peer(chatdb_t *db, const char *id, const char *peer,
				      session_info_t *out, chat_error_t *err);

/* open -> closing.  CHAT_OK if it was open or already closing,
 * CHAT_ECLOSED if closed, CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_set_closing(chatdb_t *db, const char *id, chat_error_t *err);

/* -> closed with code and reason (may be "" but not NULL).  The first close
 * wins: closing a closed session is CHAT_OK and keeps the first code and
 * reason.  The lease is kept (its owner may still send the close frame).
 * CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_close(chatdb_t *db, const char *id, int code, const char *reason,
				  int64_t now_ms, chat_error_t *err);

/* Deletes the session and (cascade) its subscriptions.  CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_delete(chatdb_t *db, const char *id, chat_error_t *err);

/* Housekeeping, in one transaction: closes (SESSION_EXPIRED_CODE/REASON)
 * live sessions not seen for idle_ms and whose lease has expired, then
 * deletes closed sessions closed more than linger_ms ago whose lease has
 * expired.  *closed_out and *deleted_out (may be NULL) get the counts. */
CHAT_MUST_CHECK int session_expire(chatdb_t *db, int64_t now_ms, int64_t idle_ms, int64_t linger_ms,
				   int64_t *closed_out, int64_t *deleted_out, chat_error_t *err);

/* Counts, in *count, the sessions bound to peer (NULL: all sessions) whose
 * lease is held and unexpired at now_ms: the held polls and streams of one
 * client address (held_per_addr), or of the host (held_max), across every
 * process.  CHAT_OK or a database error. */
CHAT_MUST_CHECK int session_count_held_by_peer(chatdb_t *db, const char *peer, int64_t now_ms,
					       int64_t *count, chat_error_t *err);

/* Counts the sessions whose id starts with prefix, by state, into
 * count[SESSION_OPEN], count[SESSION_CLOSING] and count[SESSION_CLOSED]
 * (metrics.c's chat_sessions gauge).  CHAT_OK or a database error. */
CHAT_MUST_CHECK int session_count_states(chatdb_t *db, const char *prefix, int64_t count[3],
					 chat_error_t *err);

/* Takes the lease for owner until now_ms + lease_ms, atomically (one UPDATE),
 * if nobody holds it, owner already holds it, or the holder's lease expired
 * (lease_until_ms <= now_ms).  Also sets last_seen_ms.  CHAT_OK, CHAT_EBUSY
 * when another owner holds an unexpired lease, CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_acquire(chatdb_t *db, const char *id, const char *owner, int64_t now_ms,
				    int64_t lease_ms, chat_error_t *err);

/* Extends owner's lease to now_ms + lease_ms (and last_seen_ms).  CHAT_OK
 * while owner is still the holder (even if its lease ran out and nobody took
 * it), CHAT_EBUSY if someone else holds it now or nobody does, CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_renew(chatdb_t *db, const char *id, const char *owner, int64_t now_ms,
				  int64_t lease_ms, chat_error_t *err);

/* Gives up owner's lease and sets last_seen_ms (the idle clock starts when
 * the last request ends).  CHAT_OK if owner held it or nobody did,
 * CHAT_EBUSY if another owner holds it, CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_release(chatdb_t *db, const char *id, const char *owner, int64_t now_ms,
				    chat_error_t *err);

/* Moves the cursor up to seq; a lower seq leaves it (it never moves back).
 * CHAT_EINVAL for seq < 0, CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int session_advance_cursor(chatdb_t *db, const char *id, int64_t seq,
					   chat_error_t *err);

/* Adds a subscription (sub_id: 1..CHATDB_ID_MAX, destination:
 * 1..CHATDB_DEST_MAX).  CHAT_EEXIST if the session already has sub_id,
 * CHAT_ETOOMANY past SESSION_SUBS_MAX, CHAT_ENOTFOUND if no such session,
 * CHAT_ECLOSED if the session is closed. */
CHAT_MUST_CHECK int session_sub_add(chatdb_t *db, const char *session_id, const char *sub_id,
				    const char *destination, session_ack_t ack_mode,
				    chat_error_t *err);

/* Removes one subscription.  CHAT_ENOTFOUND if there is none. */
CHAT_MUST_CHECK int session_sub_remove(chatdb_t *db, const char *session_id, const char *sub_id,
				       chat_error_t *err);

/* Calls cb for each subscription of the session, ordered by sub_id. */
CHAT_MUST_CHECK int session_sub_list(chatdb_t *db, const char *session_id, session_sub_cb cb,
				     void *ctx, chat_error_t *err);

/* Calls cb for each subscription of every live session, ordered by session
 * then sub_id; with owner non-NULL, only sessions whose lease owner is owner
 * (the sidecar's own sessions). */
CHAT_MUST_CHECK int session_sub_list_live(chatdb_t *db, const char *owner, session_sub_cb cb,
					  void *ctx, chat_error_t *err);

/* Renews, in one statement, the leases of every live session owner holds
 * (a process serving many sessions renews them all at once). */
CHAT_MUST_CHECK int session_renew_owner(chatdb_t *db, const char *owner, int64_t now_ms,
					int64_t lease_ms, chat_error_t *err);

/* The same for every live session whose lease owner starts with prefix:
 * chat.fcgi's requests hold theirs as "PID.THREAD.REQUEST", and its
 * dispatcher thread renews the process's ("PID.") while a request is
 * blocked writing to a client that reads slowly. */
CHAT_MUST_CHECK int session_renew_prefix(chatdb_t *db, const char *prefix, int64_t now_ms,
					 int64_t lease_ms, chat_error_t *err);

/* Called per closed session in session_closed_owned(); strings valid during
 * the call only. */
typedef void (*session_closed_cb)(void *ctx, const char *id, int code, const char *reason);

/* Calls cb for each session owner holds that was closed (by another
 * process: an expiry, a takeover). */
CHAT_MUST_CHECK int session_closed_owned(chatdb_t *db, const char *owner, session_closed_cb cb,
					 void *ctx, chat_error_t *err);

/* "auto", "client", "client-individual" and back; parse: CHAT_EINVAL. */
const char *session_ack_name(session_ack_t ack);
CHAT_MUST_CHECK int session_ack_parse(const char *s, session_ack_t *out);

/* Shared-internal (db/admin.c): fills *out from the current row of st,
 * whose first columns are SQL_GET's in session.c: id, created_ms,
 * last_seen_ms, state, close_code, close_reason, closed_ms, user_name,
 * cursor, lease_owner, lease_until_ms, peer. */
/* For session_subs.c: the state a sessions.state text names; the session
 * id's bound check; steps a bound write statement (*changes if not NULL). */
session_state_t session__parse_state(const unsigned char *s);
CHAT_MUST_CHECK int session__check_id(const char *id, chat_error_t *err);
CHAT_MUST_CHECK int session__run(chatdb_t *db, struct sqlite3_stmt *st, const char *what,
				 int *changes, chat_error_t *err);

/* Inside a transaction the caller holds (the broker's frame), on the
 * subscriptions table:
 * - session__sub_insert_in_tx() keeps a subscription with its live start
 *   (from_seq) and prefetch; CHAT_ETOOMANY past SESSION_SUBS_MAX and
 *   CHAT_EEXIST for a sub_id in use are returned without a message (the
 *   caller says why);
 * - session__sub_dest(): sub_id's destination ("" when there is none);
 * - session__sub_topics(): up to max distinct destinations starting with
 *   prefix, into out (*n of them);
 * - session__subs_clear(): drops every subscription of the session;
 * - session__sub_by_dest(): the first sub_id (by id) subscribed to dest. */
CHAT_MUST_CHECK int session__sub_insert_in_tx(chatdb_t *db, const char *session_id,
					      const char *sub_id, const char *dest,
					      session_ack_t ack, int64_t from_seq, int64_t prefetch,
					      chat_error_t *err);
CHAT_MUST_CHECK int session__sub_dest(chatdb_t *db, const char *session_id, const char *sub_id,
				      char dest[CHATDB_DEST_MAX + 1], chat_error_t *err);
CHAT_MUST_CHECK int session__sub_topics(chatdb_t *db, const char *session_id, const char *prefix,
					char out[][CHATDB_DEST_MAX + 1], size_t max, size_t *n,
					chat_error_t *err);
CHAT_MUST_CHECK int session__subs_clear(chatdb_t *db, const char *session_id, chat_error_t *err);
CHAT_MUST_CHECK int session__sub_by_dest(chatdb_t *db, const char *session_id, const char *dest,
					 char sub_id[CHATDB_ID_MAX + 1], int *found,
					 chat_error_t *err);
void session__read_row(struct sqlite3_stmt *st, session_info_t *out);

/* Called per session id or user name (valid during the call only):
 * CHAT_OK goes on, CHAT_STOP stops (the list call then returns CHAT_OK),
 * anything else stops and is returned.  Must not use the same chatdb_t. */
typedef int (*session_name_cb)(void *ctx, const char *name);

/* Calls cb for the open session id (id non-NULL), or for up to max open
 * sessions of user (the name compared case-insensitively): the broker's
 * sweeps (chatctl sessions kill, users delete). */
CHAT_MUST_CHECK int session__open_ids(chatdb_t *db, const char *id, const char *user, int64_t max,
				      session_name_cb cb, void *ctx, chat_error_t *err);

/* Presence (the chat application's rooms): *yes gets whether user is
 * subscribed to dest through an open session; session__dest_users() calls
 * cb with each user of an open session subscribed to dest, once each, in
 * name (byte) order. */
CHAT_MUST_CHECK int session__user_subscribed(chatdb_t *db, const char *user, const char *dest,
					     int *yes, chat_error_t *err);
CHAT_MUST_CHECK int session__dest_users(chatdb_t *db, const char *dest, session_name_cb cb,
					void *ctx, chat_error_t *err);

#endif
