/*
 * relay.h - the transactional outbox's relay: copies committed chat rows
 * (messages published by /app/chat/room/{id}) and rooms from chat.db to the
 * durable store (SQLite history.db, or MongoDB), idempotently.
 *
 * Progress is the outbox consumer RELAY_CONSUMER's cursor: a chat row is
 * copied with store_msg_add(id = its outbox seq) before the cursor passes
 * it, so a crash between the two only copies it again (a no-op).  The
 * broker registers the consumer with its first chat post (in the posting
 * transaction), and outbox_prune() never drops a row a consumer has not
 * passed, even past the retention window: while the store is down, chat
 * rows wait in chat.db.
 *
 * One process at a time: relay_run() holds the chat.db lease RELAY_LEASE
 * (table chat_leases) while it copies; another caller gets CHAT_EBUSY.
 */
#ifndef CHAT_RELAY_H
#define CHAT_RELAY_H

#include "chatdb.h"
#include "chatrow.h"
#include "outbox.h"
#include "store.h"

#define RELAY_CONSUMER "relay"
#define RELAY_LEASE "relay"
/* How long the relay lease outlives its holder's last pass. */
#define RELAY_LEASE_MS 15000
/* Rows looked at per relay_run() call. */
#define RELAY_BATCH 512

/* Registers the relay consumer at seq (the seq before the first chat row)
 * unless it exists.  For the broker, inside its transaction. */
CHAT_MUST_CHECK int relay__register_in_tx(chatdb_t *db, int64_t seq, chat_error_t *err);

/* The relay's cursor: every chat row with seq <= *seq_out is in the store.
 * 0 when the relay has no consumer yet. */
CHAT_MUST_CHECK int relay_cursor(chatdb_t *db, int64_t *seq_out, chat_error_t *err);

/* Takes or renews lease name for owner until now_ms + ttl_ms: 0, or
 * CHAT_EBUSY while another owner holds an unexpired one. */
CHAT_MUST_CHECK int relay_lease(chatdb_t *db, const char *name, const char *owner, int64_t now_ms,
				int64_t ttl_ms, chat_error_t *err);

/* *alive = 1 when some owner holds lease name unexpired at now_ms. */
CHAT_MUST_CHECK int relay_lease_alive(chatdb_t *db, const char *name, int64_t now_ms, int *alive,
				      chat_error_t *err);

/* The lease the chat-ws sidecar renews every heartbeat while it runs
 * (RELAY_SIDECAR_LEASE_MS past each renewal): /info offers WebSocket only
 * while it is held. */
#define RELAY_SIDECAR_LEASE "sidecar"

/* Gives lease name up if owner holds it. */
CHAT_MUST_CHECK int relay_lease_release(chatdb_t *db, const char *name, const char *owner,
					chat_error_t *err);

/* One pass: under the lease (as owner), copies rooms not yet stored, then
 * up to RELAY_BATCH outbox rows after the cursor, advancing it after each
 * stored row.  A row whose id the store holds for another message (a
 * reused id) is logged as an error with the reason, counted in
 * relay_conflicts() and passed: it can never be stored under that id.
 * *copied_out (may be NULL) gets how many rows were looked at;
 * *more_out (may be NULL) is 1 when rows remain.  Returns 0, CHAT_EBUSY
 * (another process relays), CHAT_EDB (the store failed: the cursor stays at
 * the last copied row; call again later), or a chat.db error. */
CHAT_MUST_CHECK int relay_run(chatdb_t *db, store_t *s, const char *owner, int64_t now_ms,
			      int64_t *copied_out, int *more_out, chat_error_t *err);

/* Makes chat.db continue above what store s holds, so no id is used twice
 * across a lost or recreated chat.db: in one BEGIN IMMEDIATE transaction
 * the outbox seq (sqlite_sequence) is raised to at least the store's
 * highest message id, the guest counter to at least the highest guest-N
 * writer in the history, and the store's rooms missing from chat.db are
 * added as stored rooms (with their room_seq continuing above the
 * store's, where chat.db has none for the room).  Only ever raises; idempotent and safe while other
 * processes post (their appends wait for the write lock).  Every process
 * calls it when it starts and whenever it (re)opens the store.  *floor_out
 * (may be NULL) gets the store's highest message id.  0, CHAT_EDB (the
 * store failed) or a chat.db error. */
CHAT_MUST_CHECK int relay_seed(chatdb_t *db, store_t *s, int64_t *floor_out, chat_error_t *err);

/* The same with a store opened on uri for the call (and closed); a
 * failure is also logged as a warning (the background thread retries).
 * When the store cannot be reached and chat.db is new (its outbox never
 * gave out a seq), relay_seed_offline() runs, so posts go on without
 * taking an id the unreachable history may hold. */
CHAT_MUST_CHECK int relay_seed_uri(chatdb_t *db, const char *uri, int64_t now_ms,
				   chat_error_t *err);

/* For a new chat.db whose store is away: when the outbox never gave out a
 * seq, it starts above now_ms * RELAY_OFFLINE_IDS_PER_MS, and a guest
 * counter that never ran above now_ms; an id or guest number from an
 * earlier chat.db could only be as high if it had given out more than
 * that many per millisecond since its own start.  Otherwise nothing
 * changes (the chat.db's own sequence is the authority).  *applied (may be
 * NULL) is 1 when the outbox floor was set. */
CHAT_MUST_CHECK int relay_seed_offline(chatdb_t *db, int64_t now_ms, int *applied,
				       chat_error_t *err);

/* Ids stay below 2^53 (JavaScript's exact integers) until the year 2255. */
#define RELAY_OFFLINE_IDS_PER_MS 1000

/* How many chat rows this process's relay found with an id the store holds
 * for another message (each one logged as an error and skipped). */
int64_t relay_conflicts(void);

/* What a chat row carries, for the relay and history reads: parses an
 * outbox row published by /app/chat/room/{id}.  CHAT_OK with *is_msg 1
 * and *m filled (strings point into row and into text) when the row is a
 * chat message, CHAT_OK with *is_msg 0 when it is not one, or an error
 * (a broken chat row; *is_msg 0).  text receives the decoded text, writer
 * the writer's name, room the room name. */
CHAT_MUST_CHECK int relay_parse_row(const outbox_row_t *row, store_msg_t *m, chat_buf_t *room,
				    chat_buf_t *writer, chat_buf_t *text, int *is_msg);

#endif
