/*
 * dm.h - direct messages between two registered users, in chat.db (tables
 * chat_dm and chat_dm_read; see docs/dm.md).  A conversation is keyed by
 * its two user names, case-insensitively; only those two can read it (the
 * broker asks with the caller's own name as one side, so no other user can
 * name it).  Messages are kept as rendered JSON objects, with the outbox
 * seq as id.  Every call runs inside the caller's transaction.
 */
#ifndef CHAT_DM_H
#define CHAT_DM_H

#include "buf.h"
#include "chat.h"
#include "chatdb.h"
#include "chatmsg.h"
#include "store.h"

#include <stdint.h>

/* Messages in one history reply at most (fewer when they do not fit). */
#define DM_HISTORY_MAX 100
/* Conversations in one list reply at most (the latest). */
#define DM_LIST_MAX 100

/* Renders a message as {"type":"DM","id","time","writer","display_name",
 * "to","text"} into out (reset first). */
CHAT_MUST_CHECK int dm_render(chat_buf_t *out, int64_t id, int64_t time_ms, const char *writer,
			      const char *display, const char *to, chat_slice_t text);

/* Stores message id (> 0) from writer to peer, body its JSON object. */
CHAT_MUST_CHECK int dm__add_in_tx(chatdb_t *db, int64_t id, const char *writer, const char *peer,
				  chat_slice_t body, int64_t time_ms, chat_error_t *err);

/* Appends to out a JSON array of the latest messages between user and
 * peer, oldest first: at most DM_HISTORY_MAX, dropping the oldest that
 * would take out past cap bytes. */
CHAT_MUST_CHECK int dm_history_json(chatdb_t *db, const char *user, const char *peer, size_t cap,
				    chat_buf_t *out, chat_error_t *err);

/* Marks the conversation of user with peer read up to id (never back). */
CHAT_MUST_CHECK int dm__read_in_tx(chatdb_t *db, const char *user, const char *peer, int64_t id,
				   chat_error_t *err);

/* Appends to out user's conversations, latest first, as a JSON array of
 * {"peer","last_id","unread"} (unread: messages from the peer after the
 * user's read mark), at most DM_LIST_MAX and within cap bytes. */
CHAT_MUST_CHECK int dm_list_json(chatdb_t *db, const char *user, size_t cap, chat_buf_t *out,
				 chat_error_t *err);

/* The durable store's room of a conversation: "dm:" and the two names in
 * ASCII lower case, the smaller first (not a room id: no destination or
 * room list names it, and relay_seed() skips it). */
#define DM_STORE_PREFIX "dm:"
/* Messages copied per dm_relay() call at most. */
#define DM_RELAY_BATCH 32

/* Copies messages not yet in store s there (each conversation a store
 * room, created on first use), marking them stored; the relay's step
 * (relay_run()).  0 or the first error (what was copied stays copied). */
CHAT_MUST_CHECK int dm_relay(chatdb_t *db, store_t *s, chat_error_t *err);

/* A conversation read back from the store (relay_seed()). */
typedef struct dm_seed {
	char lo[CHATMSG_NAME_MAX + 1], hi[CHATMSG_NAME_MAX + 1];
	store_msg_list_t msgs; /* its latest DM_HISTORY_MAX messages */
} dm_seed_t;

/* Conversations read back per seed at most. */
#define DM_SEED_MAX 1000

/* When store room r is a conversation's (DM_STORE_PREFIX), reads its
 * latest messages into a new entry of *v (*n entries, *cap allocated;
 * free with dm_seed_free()) and sets *is_dm.  0 or an error. */
CHAT_MUST_CHECK int dm_seed_read(store_t *s, const store_room_t *r, dm_seed_t **v, size_t *n,
				 size_t *cap, int *is_dm, chat_error_t *err);

/* Puts the seeds' messages into chat.db (those it has not: by id), stored
 * and read by both users; inside the caller's transaction. */
CHAT_MUST_CHECK int dm__seed_in_tx(chatdb_t *db, const dm_seed_t *v, size_t n, chat_error_t *err);

void dm_seed_free(dm_seed_t *v, size_t n);

#endif
