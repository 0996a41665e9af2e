/*
 * admin.h - what the host's administrator reads and does to chat.db and
 * the history from outside the running programs (chatctl, ctl/main.c):
 * the stack's state as numbers, the list of sessions, consistent online
 * copies of SQLite files and their integrity.
 *
 * Everything here works on a chat.db that the running stack has open: the
 * reads are one snapshot each (WAL readers do not block the writers), and
 * copies use SQLite's online backup API.
 */
#ifndef CHAT_ADMIN_H
#define CHAT_ADMIN_H

#include "chatdb.h"
#include "session.h"

/* The stack's state as chat.db holds it (admin_status()). */
typedef struct admin_status {
	int schema_version;                  /* PRAGMA user_version */
	int64_t sessions_open;               /* state open */
	int64_t sessions_closing;            /* state closing (frames being flushed) */
	int64_t sessions_closed;             /* closed, kept for their close frame */
	int64_t sessions_websocket;          /* live sessions held by chat-ws now */
	int64_t sessions_http;               /* live sessions held by a chat.fcgi request now */
	int64_t sessions_idle;               /* live sessions nobody holds (between polls) */
	int64_t users_online;                /* distinct user names of open sessions */
	int64_t subscriptions;               /* STOMP subscriptions of all sessions */
	int64_t outbox_rows;                 /* rows in the outbox */
	int64_t outbox_last_seq;             /* newest seq (0: none yet) */
	int64_t unread_rows;                 /* rows after the slowest live session's cursor */
	int64_t oldest_unread_age_ms;        /* age of the oldest of those (0: none) */
	int has_relay;                       /* the relay consumer exists */
	int64_t relay_cursor;                /* last seq the relay copied to the store */
	int64_t relay_lag_rows;              /* rows after the relay's cursor */
	int64_t relay_lag_ms;                /* age of the oldest of those (0: none) */
	char relay_owner[CHATDB_ID_MAX + 1]; /* who holds the relay lease, or "" */
	int64_t relay_lease_ms;              /* until when (0: nobody) */
	int64_t rooms;                       /* live rooms */
	int64_t bans;                        /* banned users */
	int64_t tokens;                      /* unexpired login tokens */
} admin_status_t;

/* Fills *out from db as of now_ms, in one read transaction.  0 or a
 * database error. */
CHAT_MUST_CHECK int admin_status(chatdb_t *db, int64_t now_ms, admin_status_t *out,
				 chat_error_t *err);

/* One session for admin_sessions(): the row, its subscriptions, and what
 * holds it now ("websocket", "http" or "idle"). */
typedef struct admin_session {
	session_info_t info;
	int64_t subscriptions;
	const char *held_by;
} admin_session_t;

/* Called per session, newest first; return CHAT_OK to go on, CHAT_STOP to
 * stop (admin_sessions() then returns CHAT_OK) or a negative code to abort
 * (returned).  Must not use db. */
typedef int (*admin_session_cb)(void *ctx, const admin_session_t *s);

/* Lists the sessions (user NULL: all, else that user's in any case),
 * at most limit (1..100000). */
CHAT_MUST_CHECK int admin_sessions(chatdb_t *db, const char *user, int64_t now_ms, int64_t limit,
				   admin_session_cb cb, void *ctx, chat_error_t *err);

/* Whether a program of the stack looks alive: a lease of chat.db (a held
 * session or a background job such as the relay) unexpired at now_ms.
 * *running 1 and its owner in owner (at least CHATDB_ID_MAX + 1 bytes)
 * when so.  Reads the file at path without creating it. */
CHAT_MUST_CHECK int admin_stack_running(const char *path, int64_t now_ms, int *running,
					char owner[CHATDB_ID_MAX + 1], chat_error_t *err);

/* Drops every chat.db lease (chat_leases: the relay's, the background
 * jobs'), for a repair with the stack stopped: a process killed without
 * releasing its lease would otherwise hold the relay back for up to
 * RELAY_LEASE_MS.  Never call it while the stack runs. */
CHAT_MUST_CHECK int admin_break_leases(chatdb_t *db, chat_error_t *err);

/* Copies the SQLite database at src to dst with the online backup API: one
 * consistent snapshot while other processes go on writing.  dst must not
 * exist (CHAT_EEXIST) unless overwrite, when it is replaced page by page
 * through SQLite (its -wal and -shm stay coherent).  src must exist
 * (CHAT_ENOTFOUND).  Then checks the copy with PRAGMA integrity_check
 * (CHAT_EDB when it is not sound).  Waits up to CHATDB_BUSY_TIMEOUT_MS for
 * writers' locks. */
CHAT_MUST_CHECK int admin_copy_db(const char *src, const char *dst, int overwrite,
				  chat_error_t *err);

/* At most this many problems are reported by admin_check_db(). */
#define ADMIN_CHECK_MAX 10

/* Called per problem admin_check_db() finds (a line of PRAGMA
 * integrity_check or foreign_key_check). */
typedef void (*admin_problem_cb)(void *ctx, const char *problem);

/* Checks the SQLite file at path (opened read-only): PRAGMA
 * integrity_check, then PRAGMA foreign_key_check.  *problems gets how
 * many were found (up to ADMIN_CHECK_MAX, each handed to cb, may be
 * NULL).  0 (even with problems), CHAT_ENOTFOUND (no file), CHAT_EDB (it
 * is not a database SQLite can read at all). */
CHAT_MUST_CHECK int admin_check_db(const char *path, int *problems, admin_problem_cb cb, void *ctx,
				   chat_error_t *err);

#endif
