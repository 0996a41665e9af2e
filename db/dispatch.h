/*
 * dispatch.h - the per-process dispatcher: one fan-out per process, so a
 * message costs the same whatever the audience.  Every session a process
 * serves is attached to it; on a wakeup it reads each new outbox row once
 * and appends it to the bounded batches of the sessions it concerns.  How
 * a lagging session is fed, and when acknowledgement state and cursors are
 * written: docs/protocol.md#the-dispatcher.
 *
 * Thread-safe: every call takes the dispatcher's lock; callbacks run with
 * it held and must not call back into the dispatcher.
 */
#ifndef CHAT_DISPATCH_H
#define CHAT_DISPATCH_H

#include "chatdb.h"
#include "delivery.h"
#include "json.h"

/* How a session that fell behind the retention window is closed. */
#define DISPATCH_CLOSE_BEHIND 3001
#define DISPATCH_REASON_BEHIND "STOMP error"
#define DISPATCH_ERROR_BEHIND \
	"fell behind: messages were pruned before delivery; reconnect and resume"

typedef struct dispatch dispatch_t;
typedef struct dispatch_sess dispatch_sess_t;

/* Called (lock held) when a session has something: messages, a close, or
 * a lag to catch up from.  Must not call into the dispatcher. */
typedef void (*dispatch_ready_cb)(void *ctx);

/* A session's end, as dispatch_take() reports it. */
typedef struct dispatch_end {
	int closed; /* an ERROR / DISCONNECT receipt was taken: close next */
	int code;
	char reason[SESSION_REASON_MAX + 1];
} dispatch_end_t;

/* Makes a dispatcher reading with db (borrowed; used only inside
 * dispatch_run(), so only by the thread that runs it).  CHAT_ENOMEM. */
CHAT_MUST_CHECK int dispatch_new(chatdb_t *db, dispatch_t **out);

/* Frees the dispatcher; every session must be detached.  NULL-safe. */
void dispatch_free(dispatch_t *d);

/* Attaches session key, whose client has everything up to cursor, loading
 * its state with db (the caller's handle).  kind and framed as for
 * delivery_init(); its batch holds at most max_bytes in max_items messages
 * (framed: encoded).  cb (may be NULL) is told when it has something.
 * *out is the session until dispatch_detach().  CHAT_ENOTFOUND, CHAT_ENOMEM,
 * database errors. */
CHAT_MUST_CHECK int dispatch_attach(dispatch_t *d, chatdb_t *db, const char *key,
				    delivery_kind_t kind, int framed, int64_t cursor,
				    size_t max_bytes, size_t max_items, dispatch_ready_cb cb,
				    void *ctx, dispatch_sess_t **out, chat_error_t *err);

/* Detaches and frees s.  Returns the session's cursor: the last seq its
 * client has been handed everything up to (what dispatch_take() returned;
 * rows of a batch not taken are not counted, so they are read again by
 * the session's next request). */
int64_t dispatch_detach(dispatch_t *d, dispatch_sess_t *s);

/* The cursor dispatch_detach() would return now (for periodic saves). */
int64_t dispatch_cursor(dispatch_t *d, dispatch_sess_t *s);

/* Moves what s has into out (appended; out must be able to hold a batch),
 * feeding a lagging session from the outbox with db first.  *end (may be
 * NULL) says whether the session ends after these messages.  Returns
 * CHAT_OK or a database error. */
CHAT_MUST_CHECK int dispatch_take(dispatch_t *d, dispatch_sess_t *s, chatdb_t *db, json_strv_t *out,
				  dispatch_end_t *end, chat_error_t *err);

/* Waits until s has something (1) or timeout_ms passed (0). */
int dispatch_wait(dispatch_t *d, dispatch_sess_t *s, int timeout_ms);

/* Whether s has something for dispatch_take() now. */
int dispatch_ready(dispatch_t *d, dispatch_sess_t *s);

/* One wakeup: routes up to OUTBOX_READ_MAX new rows.  *more (may be NULL)
 * is 1 when rows remain.  Does nothing (no query) while no session is
 * attached.  Returns CHAT_OK or a database error. */
CHAT_MUST_CHECK int dispatch_run(dispatch_t *d, int *more, chat_error_t *err);

/* The heart-beat interval s's STOMP client asked the server for (its
 * CONNECT heart-beat cy), as loaded at attach and updated by its CONNECTED
 * row; 0 before CONNECT, after its end, or when it asked for none.  The
 * shells send at broker_heartbeat_interval() of it. */
int64_t dispatch_heartbeat_wanted(dispatch_t *d, dispatch_sess_t *s);

/* Sessions attached now. */
size_t dispatch_count(dispatch_t *d);

/* Blocks until at least one session is attached or dispatch_stop() is
 * called; 1 when there are sessions, 0 when stopped. */
int dispatch_wait_sessions(dispatch_t *d);

/* Makes dispatch_wait_sessions() return 0 from now on. */
void dispatch_stop(dispatch_t *d);

#endif
