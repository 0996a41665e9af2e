/*
 * chatdb.h - the handle on var/chat.db, the SQLite file every process of the
 * server shares: sessions, their subscriptions and the outbox (the
 * cross-process queue).  Opening applies the schema migrations; the outbox_
 * and session_ modules run their statements through the handle.
 *
 * One handle per thread.  A chatdb_t is opened with SQLITE_OPEN_NOMUTEX: it
 * must never be used by two threads at the same time (give each thread its
 * own handle; moving one between threads with proper hand-off is fine), and
 * never across fork() (open a new one in the child).  Callbacks passed to
 * outbox_/session_ functions run while a statement of the handle is active:
 * they must not call back into the same handle.
 *
 * Bounds shared by the db/ modules (longer input fails with CHAT_ETOOBIG,
 * empty or NULL where a value is required with CHAT_EINVAL).
 */
#ifndef CHAT_CHATDB_H
#define CHAT_CHATDB_H

#include "chat.h"
#include "doorbell.h"

struct sqlite3;
struct sqlite3_stmt;

/* Session ids, subscription ids, lease owners and consumer names: 1..128
 * bytes (SockJS session ids are short random strings; owners are things like
 * "fcgi:HOST:PID:TID"). */
#define CHATDB_ID_MAX CHAT_ID_MAX
/* STOMP destinations: 1..256 bytes ("/topic/chat/room/ID" and friends). */
#define CHATDB_DEST_MAX CHAT_DEST_MAX

/* How long a statement waits for another process's write lock before it
 * fails with CHAT_EDB ("database is locked"). */
#define CHATDB_BUSY_TIMEOUT_MS 5000

/* The schema version chatdb_open() migrates to (PRAGMA user_version). */
#define CHATDB_SCHEMA_VERSION 21

/* chatdb_open() flags. */
enum {
	/* PRAGMA synchronous=FULL instead of NORMAL: also survive power loss or
	 * a kernel crash without losing the last commits (costs an fsync per
	 * commit).  See chatdb.c for why NORMAL is the default. */
	CHATDB_OPEN_SYNC_FULL = 1 << 0
};

typedef struct chatdb chatdb_t;

/* Opens (creating it if missing) the database at path: WAL journal,
 * busy_timeout CHATDB_BUSY_TIMEOUT_MS, synchronous NORMAL (or FULL, see
 * flags), foreign keys on, then brings the schema to CHATDB_SCHEMA_VERSION in
 * one BEGIN IMMEDIATE transaction (idempotent; safe when several processes
 * open at once).  On success *out owns the handle (chatdb_close()).  Errors:
 * CHAT_EIO (cannot open the file), CHAT_EDB (SQLite failure, or a schema
 * newer than this program), CHAT_ENOMEM; detail in err (may be NULL). */
CHAT_MUST_CHECK int chatdb_open(const char *path, unsigned flags, chatdb_t **out,
				chat_error_t *err);

/* Finalises the cached statements and closes.  NULL-safe.  The attached
 * doorbell (if any) is not closed: it belongs to the caller. */
void chatdb_close(chatdb_t *db);

/* Attaches a doorbell that outbox appends ring after they commit (NULL
 * detaches).  Borrowed: the caller keeps it open while attached. */
void chatdb_set_doorbell(chatdb_t *db, doorbell_t *bell);

/* The attached doorbell or NULL. */
doorbell_t *chatdb_doorbell(const chatdb_t *db);

/* Whether db's path still names the file db has open (same st_dev and
 * st_ino as at chatdb_open()).  When chat.db is deleted or replaced under
 * a running process, that process would go on with its old file while new
 * processes create another one, splitting the stack: from the first
 * mismatch on, this returns CHAT_EIO ("... was deleted" or "... was
 * replaced") and so does every chatdb__begin() of the handle (which looks
 * at most once per CHATDB_FILE_CHECK_MS by itself).  The caller logs and
 * exits so the front server starts it again on the new file. */
CHAT_MUST_CHECK int chatdb_check_file(chatdb_t *db, chat_error_t *err);

/* How often chatdb__begin() compares the path with the open file. */
#define CHATDB_FILE_CHECK_MS 1000

/* Reads PRAGMA user_version into *version. */
CHAT_MUST_CHECK int chatdb_schema_version(chatdb_t *db, int *version, chat_error_t *err);

/* The raw SQLite connection, for tests and diagnostics.  Borrowed. */
struct sqlite3 *chatdb_sqlite(chatdb_t *db);

/* ---- shared-internal: for the db/ modules only ------------------------- */

/* Returns in *out the cached prepared statement for sql, preparing it on
 * first use.  The cache is keyed by the pointer: pass a static array.  The
 * statement comes back reset with no bindings; the caller must
 * sqlite3_reset() it when done (an un-reset statement pins a read snapshot
 * and holds back WAL checkpoints). */
CHAT_MUST_CHECK int chatdb__stmt(chatdb_t *db, const char *sql, struct sqlite3_stmt **out,
				 chat_error_t *err);

/* Runs st (a statement from chatdb__stmt() with its parameters bound) to
 * its end and resets it: CHAT_OK when it finishes (SQLITE_DONE), else the
 * chatdb__error() of what failed, with what naming the operation in err.
 * For statements that return no rows (INSERT, UPDATE, DELETE). */
CHAT_MUST_CHECK int chatdb__step_done(chatdb_t *db, struct sqlite3_stmt *st, const char *what,
				      chat_error_t *err);

/* chatdb__step_done() that also gives in *changes the rows the statement
 * inserted, updated or deleted (sqlite3_changes(); 0 when it failed). */
CHAT_MUST_CHECK int chatdb__step_changes(chatdb_t *db, struct sqlite3_stmt *st, int64_t *changes,
					 const char *what, chat_error_t *err);

/* chatdb__step_done() for an INSERT whose key may be taken already (a
 * primary key or a unique index): CHAT_OK with *dup 1 when it was, with
 * *dup 0 when the row went in; else (another constraint too) the
 * chatdb__error() of what failed. */
CHAT_MUST_CHECK int chatdb__step_insert(chatdb_t *db, struct sqlite3_stmt *st, int *dup,
					const char *what, chat_error_t *err);

/* Steps st (from chatdb__stmt(), its parameters bound) once: CHAT_OK with
 * *row 1 when it produced a row, CHAT_OK with *row 0 when it finished, else
 * the chatdb__error() of what failed (*row 0).  It does not reset st: the
 * row's columns stay readable until the caller's sqlite3_reset(), which it
 * owes in every case.  A loop over the rows:
 *   while ((rc = chatdb__step_row(db, st, &row, what, err)) == CHAT_OK && row) */
CHAT_MUST_CHECK int chatdb__step_row(chatdb_t *db, struct sqlite3_stmt *st, int *row,
				     const char *what, chat_error_t *err);

/* BEGIN IMMEDIATE (takes the write lock now, waiting up to the busy
 * timeout; CHAT_EIO once chatdb_check_file() failed), COMMIT, and ROLLBACK (a no-op outside a transaction). */
CHAT_MUST_CHECK int chatdb__begin(chatdb_t *db, chat_error_t *err);
CHAT_MUST_CHECK int chatdb__commit(chatdb_t *db, chat_error_t *err);
void chatdb__rollback(chatdb_t *db);

/* Ring after COMMIT: an outbox append rings db's doorbell at once, which
 * inside a transaction would wake readers before they can see the row.  A
 * caller that appends in its own transactions holds the doorbell first:
 * chatdb__hold_doorbell() detaches it and returns it (NULL when none was
 * attached, e.g. already held); after the last COMMIT or ROLLBACK,
 * chatdb__release_doorbell() attaches bell again and, when seq > 0 (the
 * highest outbox seq committed meanwhile), rings it once. */
doorbell_t *chatdb__hold_doorbell(chatdb_t *db);
void chatdb__release_doorbell(chatdb_t *db, doorbell_t *bell, int64_t seq);

/* Counts one broadcast outbox row appended through db in the metrics
 * (METRICS_PUBLISHED) once it is committed. */
void chatdb__count_published(chatdb_t *db);

/* Maps an SQLite result code to a CHAT_E* code and records sqlite's message
 * with what (the operation) in err. */
int chatdb__error(chatdb_t *db, int sqlite_rc, const char *what, chat_error_t *err);

/* Checks a required string bound: CHAT_EINVAL when s is NULL or empty,
 * CHAT_ETOOBIG when longer than max bytes, else CHAT_OK.  what names the
 * argument in err. */
CHAT_MUST_CHECK int chatdb__check_str(const char *s, size_t max, const char *what,
				      chat_error_t *err);

#endif
