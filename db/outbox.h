/*
 * outbox.h - the cross-process queue: one global, ordered table of messages
 * in var/chat.db.
 *
 * Every published STOMP MESSAGE is one row (a broadcast to a destination,
 * matched later against subscriptions by whichever process delivers it);
 * frames for one session only (RECEIPT, ERROR, echo replies) are rows with
 * target_session set.  Both kinds share one ordered seq.  Appending is the
 * commit point: once outbox_append() returns, the row is visible to every
 * process and survives the death of any of them, so the sender's RECEIPT
 * goes out after it.
 *
 * Seqs are gapless and commit-ordered: SQLite has one writer at a time and
 * seq is assigned inside the writing transaction, so a reader that has seen
 * seq N can never later find a new row below N.  A reader therefore keeps
 * one cursor (the last seq it delivered).  If the first row a read returns
 * is above after_seq + 1, rows it needed were dropped by the retention
 * window (the reader fell too far behind).
 *
 * Headers are opaque bytes to this module (the broker chooses the
 * encoding); bodies are bytes.  All calls use the handle's rules (chatdb.h).
 */
#ifndef CHAT_OUTBOX_H
#define CHAT_OUTBOX_H

#include "chatdb.h"

/* Bounds (CHAT_ETOOBIG / CHAT_ETOOMANY beyond them). */
#define OUTBOX_HEADERS_MAX (64 * 1024) /* bytes of encoded headers */
#define OUTBOX_BODY_MAX (1024 * 1024)  /* bytes of body */
#define OUTBOX_BATCH_MAX 1024          /* messages per outbox_append_batch */
#define OUTBOX_READ_MAX 1024           /* rows per outbox_read_after */

/* A message to append.  Everything is borrowed for the call only. */
typedef struct outbox_msg {
	const char *destination;    /* 1..CHATDB_DEST_MAX bytes, NUL-terminated */
	const char *target_session; /* NULL: broadcast; else 1..CHATDB_ID_MAX bytes */
	chat_slice_t headers;       /* 0..OUTBOX_HEADERS_MAX bytes (ptr may be NULL if len 0) */
	chat_slice_t body;          /* 0..OUTBOX_BODY_MAX bytes (ptr may be NULL if len 0) */
	int64_t created_ms;         /* wall-clock ms; the retention window uses it */
} outbox_msg_t;

/* A row handed to an outbox_read_after() callback.  The slices point into
 * SQLite's memory and are valid only during the callback; destination,
 * target_session are also NUL-terminated (ptr[len] == 0). */
typedef struct outbox_row {
	int64_t seq;
	int64_t created_ms;
	chat_slice_t destination;
	chat_slice_t target_session; /* ptr NULL, len 0 for a broadcast */
	chat_slice_t headers;
	chat_slice_t body;
} outbox_row_t;

/* Called per row in seq order.  Return CHAT_OK to take the row and go on,
 * CHAT_STOP to stop before this row (it counts as not taken, e.g. an output
 * buffer is full), or a negative CHAT_E* code to abort the read, which then
 * returns that code.  Must not use the same chatdb_t. */
typedef int (*outbox_row_cb)(void *ctx, const outbox_row_t *row);

/* Appends one message in one transaction (the commit point), then rings the
 * handle's doorbell if one is attached.  *seq_out (may be NULL) gets the new
 * seq.  Bounds are checked before anything is written: CHAT_EINVAL (missing
 * destination, empty target, NULL ptr with len > 0), CHAT_ETOOBIG; CHAT_EDB
 * on database failure (nothing appended). */
CHAT_MUST_CHECK int outbox_append(chatdb_t *db, const outbox_msg_t *m, int64_t *seq_out,
				  chat_error_t *err);

/* Appends n messages (1..OUTBOX_BATCH_MAX) in one transaction: all or none.
 * They get consecutive seqs; *first_seq_out (may be NULL) gets the first.
 * Rings the doorbell once, with the last seq.  Errors as outbox_append, plus
 * CHAT_ETOOMANY for n > OUTBOX_BATCH_MAX, CHAT_EINVAL for n == 0. */
CHAT_MUST_CHECK int outbox_append_batch(chatdb_t *db, const outbox_msg_t *m, size_t n,
					int64_t *first_seq_out, chat_error_t *err);

/* Calls cb for up to limit rows with seq > after_seq, in seq order, from one
 * consistent snapshot.  limit must be >= 1 and is clamped to
 * OUTBOX_READ_MAX.  *last_seq_out (may be NULL) gets the seq of the last row
 * the callback took, or after_seq if none.  Returns CHAT_OK (also when the
 * callback stopped with CHAT_STOP), the callback's negative code, or a
 * database error. */
CHAT_MUST_CHECK int outbox_read_after(chatdb_t *db, int64_t after_seq, int limit, outbox_row_cb cb,
				      void *ctx, int64_t *last_seq_out, chat_error_t *err);

/* The highest seq ever appended (0 for none), even if that row was pruned. */
int outbox_last_seq(chatdb_t *db, int64_t *seq_out, chat_error_t *err);

/* Deletes, in one statement, the rows every live session (state open or
 * closing) and every consumer has passed (seq <= the smallest cursor; all
 * rows when there are neither) and, regardless of cursors, rows with
 * created_ms < now_ms - retention_ms (so the table stays bounded when a
 * session stalls) that every consumer has passed (a consumer - the relay to
 * the durable store - holds rows back however old they are).  *pruned_out (may be NULL) gets the number deleted.
 * CHAT_EINVAL for retention_ms < 0. */
CHAT_MUST_CHECK int outbox_prune(chatdb_t *db, int64_t now_ms, int64_t retention_ms,
				 int64_t *pruned_out, chat_error_t *err);

/* Named readers other than sessions (e.g. "relay" copying rows to MongoDB)
 * whose cursors outbox_prune() also respects.  Register one with
 * outbox_consumer_advance(db, name, <start seq>).  Names: 1..CHATDB_ID_MAX. */

/* Creates the consumer at seq or moves its cursor up to seq (never down). */
CHAT_MUST_CHECK int outbox_consumer_advance(chatdb_t *db, const char *name, int64_t seq,
					    chat_error_t *err);

/* Creates the consumer at seq when it does not exist; an existing one
 * keeps its cursor (CHAT_OK either way).  For calls inside the caller's
 * transaction that start a reader before the rows it must not miss. */
CHAT_MUST_CHECK int outbox_consumer_register(chatdb_t *db, const char *name, int64_t seq,
					     chat_error_t *err);

/* Reads a consumer's cursor; CHAT_ENOTFOUND if there is no such consumer. */
CHAT_MUST_CHECK int outbox_consumer_get(chatdb_t *db, const char *name, int64_t *seq_out,
					chat_error_t *err);

/* Forgets a consumer (it no longer holds rows back).  CHAT_ENOTFOUND if none. */
CHAT_MUST_CHECK int outbox_consumer_delete(chatdb_t *db, const char *name, chat_error_t *err);

#endif
