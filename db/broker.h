/*
 * broker.h - the STOMP 1.0/1.1/1.2 broker and the chat application's /app
 * handlers, over the state every process shares in chat.db: one
 * implementation for every transport, reached through service_receive()
 * and service_collect() (db/service.h).  Each frame runs in one chat.db
 * transaction, so what it publishes and its RECEIPT commit together; a
 * refused frame is an ERROR that ends the session.  The rules (receiving,
 * the outbox rows, errors, rate limits, users, the chat application's
 * destinations): docs/protocol.md#the-broker.
 */
#ifndef CHAT_BROKER_H
#define CHAT_BROKER_H

#include "buf.h"
#include "chatdb.h"
#include "heartbeat.h"
#include "store.h"
#include "options.h"
#include "outbox.h"

/* Destination of rows that carry one complete frame for one session. */
#define BROKER_DIRECT_DEST "stomp"

/* Open transactions per session, frames buffered per transaction. */
#define BROKER_TX_MAX 16
#define BROKER_TX_FRAMES_MAX 256

/* SockJS close of a session after DISCONNECT and after an ERROR frame. */
#define BROKER_CLOSE_NORMAL 1000
#define BROKER_REASON_NORMAL "Normal closure"
#define BROKER_CLOSE_ERROR 3001
#define BROKER_REASON_ERROR "STOMP error"

/* ERROR messages of a session whose login token was revoked or expired. */
#define BROKER_ERROR_LOGGED_OUT "logged out"
#define BROKER_ERROR_EXPIRED "token expired"
/* The ERROR of a banned user's CONNECT and of their sessions' end. */
#define BROKER_ERROR_BANNED "banned"
/* The ERROR of a deleted user's sessions (chatctl users delete). */
#define BROKER_ERROR_DELETED "user deleted"
/* The ERROR of a session ended by chatctl sessions kill. */
#define BROKER_ERROR_KILLED "session ended by the administrator"

/* Where a SEND refused for its rate goes (see the top): USER/QUEUE/errors,
 * by default /user/queue/errors (QUEUE: the first queue broker prefix, else
 * the first broadcasting one); and its error. */
#define BROKER_ERRORS_PATH "/errors"
#define BROKER_ERROR_RATE "rate limited"
/* Refused SENDs a user may make (burst, then per second) before the
 * session that makes one more gets an ERROR instead. */
#define BROKER_REFUSED_BURST 50
#define BROKER_REFUSED_RATE 10

/* The chat application, under any application prefix APP (app_prefixes)
 * and the first broadcasting broker prefix TOPIC (broker_prefixes): SEND to
 * APP/chat/room/{id} with {"text": ...}; the stamped message is broadcast
 * on TOPIC/chat/room/{id} as JSON (chatmsg_render()).  SEND APP/rooms
 * creates a room, APP/rooms/delete deletes one; SUBSCRIBE APP/rooms lists
 * them, APP/chat/room/{id}/history and .../presence answer once. */
#define BROKER_ROOMS_DELETE_PATH "/rooms/delete"
/* SEND APP/chat/room/{id}/typing: "I am typing", published to the room
 * as {"type":"TYPING","user","display_name","room","time"} (a row of kind
 * "typing": never copied to the store), at most BROKER_TYPING_RATE a
 * second per session; more are dropped without an answer. */
#define BROKER_TYPING_SUFFIX "/typing"
#define BROKER_TYPING_RATE 1
#define BROKER_HISTORY_SUFFIX "/history"
/* Direct messages (docs/dm.md, db/dm.h): SEND APP/dm/{user} {"text"}
 * stamps {"type":"DM","id","time","writer","display_name","to","text"},
 * keeps it, and sends it to USER/{user}/QUEUE/dm and the writer's own;
 * SEND APP/dm/{user}/read {"id"} marks read; SEND APP/dm/{user}/typing
 * (as a room's, to the peer's queue only); SUBSCRIBE APP/dm lists the
 * caller's conversations with unread counts, APP/dm/{user}/history
 * answers with the caller's conversation with user. */
#define BROKER_DM_PATH "/dm"
#define BROKER_DM_READ_SUFFIX "/read"
#define BROKER_DM_QUEUE_PATH "/dm"
#define BROKER_PRESENCE_SUFFIX "/presence"

/* Handles one SockJS message msg from session key (the session must exist;
 * opt is borrowed for the call).  store is the caller's slot for this
 * thread's durable store handle (NULL: no store, so passwords and stored
 * history are unavailable): when *store is NULL it is opened from
 * opt->store_uri on first need and left there for the caller to close.
 * Store reads (passwords, history) happen before a frame's transaction.  Frames the broker refuses are answered
 * with ERROR and end the session (see the top); that is still CHAT_OK, as
 * is a message for a session already closing (ignored).  Returns CHAT_OK,
 * CHAT_ENOTFOUND (no such session), CHAT_ECLOSED (it is closed), or a
 * database error (CHAT_EDB, CHAT_EIO, CHAT_ENOMEM: the frame being handled
 * was rolled back, earlier frames of msg stay committed).  peer is the
 * client's address (NULL: unknown), for the failed-login limits of a
 * CONNECT with a password (db/authlimit.h): over them, or with every hash
 * slot busy, CONNECT gets an ERROR saying to retry later.  Rings the
 * handle's doorbell once, after the last commit. */
CHAT_MUST_CHECK int broker_receive(chatdb_t *db, const chat_options_t *opt, store_t **store,
				   const char *key, const char *peer, chat_slice_t msg,
				   int64_t now_ms, chat_error_t *err);

/* Publishes body on broker destination dest from the server side (POST
 * /api/publish, Spring's SimpMessagingTemplate.convertAndSend), as a SEND
 * to it would: /topic/... to its subscribers, /queue/... to one consumer
 * in turn (none: dropped, *seq_out 0), /user/NAME/queue/... to every
 * session of user NAME; one committed outbox row, then the handle's
 * doorbell rings.  ctype (NULL: none) is the content-type subscribers see.
 * The options topic_send and user_queue_others, which bound what clients
 * may SEND, do not apply.  Returns 0 (*seq_out, may be NULL, gets the
 * message id); CHAT_EINVAL (err says why: a destination that is not such a
 * broker destination, a content-type that is not a media type);
 * CHAT_ETOOBIG (body over max_frame); a database error. */
CHAT_MUST_CHECK int broker_publish(chatdb_t *db, const chat_options_t *opt, const char *dest,
				   const char *ctype, chat_slice_t body, int64_t now_ms,
				   int64_t *seq_out, chat_error_t *err);

/* Announces LEAVE for users whose last session in a room went without
 * UNSUBSCRIBE or DISCONNECT (it expired), in one transaction; rings the
 * handle's doorbell.  *left_out (may be NULL) gets how many. */
CHAT_MUST_CHECK int broker_presence_sweep(chatdb_t *db, int64_t now_ms, int64_t *left_out,
					  chat_error_t *err);

/* A sign of life from session key's client other than a STOMP frame or
 * EOL (broker_receive() counts those): a SockJS request arriving for it, a
 * WebSocket pong.  Writes at most once a second per session. */
CHAT_MUST_CHECK int broker_heard(chatdb_t *db, const char *key, int64_t now_ms, chat_error_t *err);

/* The same for every session whose lease owner starts with prefix: the
 * requests a process holds (a client whose stream or poll is open is
 * there), once per heartbeat for all of them. */
CHAT_MUST_CHECK int broker_heard_prefix(chatdb_t *db, const char *prefix, int64_t now_ms,
					chat_error_t *err);

/* How often the server sends a heart-beat EOL to a client whose CONNECT
 * asked for one every client_recv_ms (its heart-beat header's second
 * value): max(stomp_heartbeat_ms, client_recv_ms), 0 (none) when either is
 * 0, as STOMP 1.1+ negotiates it. */
int64_t broker_heartbeat_interval(const chat_options_t *opt, int64_t client_recv_ms);

/* The shortest server heart-beat interval (core/heartbeat.h). */
#define BROKER_HEARTBEAT_MIN_MS HEARTBEAT_MIN_MS

/* Ends the sessions of STOMP clients that agreed to send heart-beats (the
 * CONNECTED heart-beat header's second value) and showed no sign of life -
 * no frame, no EOL, nothing broker_heard() or broker_heard_prefix() was
 * told - for max(twice that interval, stomp_liveness_ms): each
 * gets an ERROR ("heart-beat timeout") and then closes, as for any other
 * ERROR.  At most 64 per call; rings the handle's doorbell.  *closed_out
 * (may be NULL) gets how many. */
CHAT_MUST_CHECK int broker_heartbeat_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms,
					   int64_t *closed_out, chat_error_t *err);

/* Ends the sessions opened with a login token that was revoked (logout:
 * ERROR "logged out") or expired ("token expired"), each then closing as
 * after any ERROR; a frame such a session sends meanwhile gets the same
 * ERROR.  At most 64 per call; rings the handle's doorbell.  Run by the
 * background sweep and right after a logout.  *closed_out (may be NULL)
 * gets how many. */
CHAT_MUST_CHECK int broker_token_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms,
				       int64_t *closed_out, chat_error_t *err);

/* Ends every open session of user (any case) with ERROR why
 * (BROKER_ERROR_BANNED after auth_ban(), BROKER_ERROR_DELETED after the
 * user is deleted), then close, as broker_token_sweep() does; rings the
 * handle's doorbell.  *closed_out (may be NULL) gets how many. */
CHAT_MUST_CHECK int broker_end_user(chatdb_t *db, const chat_options_t *opt, const char *user,
				    const char *why, int64_t now_ms, int64_t *closed_out,
				    chat_error_t *err);

/* Ends open session id with ERROR BROKER_ERROR_KILLED, then close.
 * *closed_out gets 1, or 0 when no open session has that id. */
CHAT_MUST_CHECK int broker_end_session(chatdb_t *db, const chat_options_t *opt, const char *id,
				       int64_t now_ms, int64_t *closed_out, chat_error_t *err);

#endif
