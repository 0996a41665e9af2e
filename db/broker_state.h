/*
 * broker_state.h - a STOMP session's broker state in chat.db, the one
 * module that reads and writes its tables: stomp_sessions (CONNECT's
 * negotiated version and heart-beats, the last sign of life),
 * stomp_partial (the incomplete frame a session's last message ended
 * with) and stomp_tokens (the login token a session was opened with).
 * The broker (broker*.c) and delivery (delivery.c) call it; nothing else
 * names these tables.  Calls follow the handle's rules (chatdb.h); key is
 * the SockJS session id, times are wall-clock ms.
 */
#ifndef CHAT_BROKER_STATE_H
#define CHAT_BROKER_STATE_H

#include "buf.h"
#include "chatdb.h"
#include "stomp.h"

/* What CONNECT negotiated (a copy; connected 0: no CONNECT yet, the rest
 * then holds version 1.2 and zeros). */
typedef struct broker_state {
	int connected;             /* the session has a stomp_sessions row */
	stomp_version_t version;   /* negotiated */
	int64_t hb_client_recv_ms; /* heart-beats the client wants (0: none) */
} broker_state_t;

/* Called per session a sweep finds, with what the sweep says of it;
 * CHAT_OK goes on, CHAT_STOP stops (not an error), anything else stops
 * and is returned. */
typedef int (*broker_state_row_cb)(void *ctx, const char *key, int64_t value);

/* Loads session key's CONNECT state into *out. */
CHAT_MUST_CHECK int broker_state__get(chatdb_t *db, const char *key, broker_state_t *out,
				      chat_error_t *err);

/* Records CONNECT's outcome for key: version v, the client's heart-beat
 * header (cx, cy), the interval the server expects the client's at
 * (expect_ms, 0: none) and now as the connect time. */
CHAT_MUST_CHECK int broker_state__put(chatdb_t *db, const char *key, stomp_version_t v, int64_t cx,
				      int64_t cy, int64_t expect_ms, int64_t now_ms,
				      chat_error_t *err);

/* What broker_receive() needs before the first frame of msg, in one
 * statement: the state (as broker_state__get(), without the heart-beat)
 * and, when the session's previous message ended with an incomplete
 * frame, that frame followed by msg in *joined (initialised here, the
 * caller frees it), with *held set to 1.  With no stored frame *joined is
 * left as it is and *held unchanged. */
CHAT_MUST_CHECK int broker_state__receive(chatdb_t *db, const char *key, chat_slice_t msg,
					  broker_state_t *out, chat_buf_t *joined, int *held,
					  chat_error_t *err);

/* Keeps bytes as key's incomplete frame (replacing any); forgets it. */
CHAT_MUST_CHECK int broker_state__partial_put(chatdb_t *db, const char *key, chat_slice_t bytes,
					      chat_error_t *err);
CHAT_MUST_CHECK int broker_state__partial_clear(chatdb_t *db, const char *key, chat_error_t *err);

/* Remembers the login token key was opened with (its hash, hash_len
 * bytes, borrowed; and its expiry), so that a logout or the expiry ends
 * the session. */
CHAT_MUST_CHECK int broker_state__token_put(chatdb_t *db, const char *key, const void *hash,
					    size_t hash_len, int64_t expires_ms, chat_error_t *err);

/* Into *dead: 1 when key's token expired by now_ms, 2 when it was
 * revoked, 0 when it is valid or the session has none. */
CHAT_MUST_CHECK int broker_state__token_state(chatdb_t *db, const char *key, int64_t now_ms,
					      int *dead, chat_error_t *err);

/* Signs of life: broker_state__heard() on any STOMP input; _soon at most
 * once a second (a SockJS request, a WebSocket pong); _prefix the same for
 * every live session whose lease owner starts with prefix. */
CHAT_MUST_CHECK int broker_state__heard(chatdb_t *db, const char *key, int64_t now_ms,
					chat_error_t *err);
CHAT_MUST_CHECK int broker_state__heard_soon(chatdb_t *db, const char *key, int64_t now_ms,
					     chat_error_t *err);
CHAT_MUST_CHECK int broker_state__heard_prefix(chatdb_t *db, const char *prefix, int64_t now_ms,
					       chat_error_t *err);

/* Open sessions whose client promised heart-beats and showed no sign of
 * life for max(twice the agreed interval, liveness_ms) by now_ms: cb gets
 * each (at most 64) with the time of its last sign of life. */
CHAT_MUST_CHECK int broker_state__silent(chatdb_t *db, int64_t now_ms, int64_t liveness_ms,
					 broker_state_row_cb cb, void *ctx, chat_error_t *err);

/* Open sessions whose login token was revoked or expired by now_ms: cb
 * gets each (at most 64) with 1 when it expired, 0 when revoked. */
CHAT_MUST_CHECK int broker_state__dead_tokens(chatdb_t *db, int64_t now_ms, broker_state_row_cb cb,
					      void *ctx, chat_error_t *err);

#endif
