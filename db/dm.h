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
#include "store.h"

#include <stdint.h>

/* Messages in one history reply at most (fewer when they do not fit). */
#define DM_HISTORY_MAX 100
/* Conversations in one list reply at most (the latest). */
#define DM_LIST_MAX 100

/* Stores message id (> 0) from writer to peer, body its JSON object. */
int dm__add_in_tx(chatdb_t *db, int64_t id, const char *writer, const char *peer,
		  chat_slice_t body, int64_t time_ms, chat_error_t *err);

/* Appends to out a JSON array of the latest messages between user and
 * peer, oldest first: at most DM_HISTORY_MAX, dropping the oldest that
 * would take out past cap bytes. */
int dm_history_json(chatdb_t *db, const char *user, const char *peer, size_t cap, chat_buf_t *out,
		    chat_error_t *err);

/* Marks the conversation of user with peer read up to id (never back). */
int dm__read_in_tx(chatdb_t *db, const char *user, const char *peer, int64_t id,
		   chat_error_t *err);

/* Appends to out user's conversations, latest first, as a JSON array of
 * {"peer","last_id","unread"} (unread: messages from the peer after the
 * user's read mark), at most DM_LIST_MAX and within cap bytes. */
int dm_list_json(chatdb_t *db, const char *user, size_t cap, chat_buf_t *out, chat_error_t *err);

/* The durable store's room of a conversation: "dm:" and the two names in
 * ASCII lower case, the smaller first (not a room id: no destination or
 * room list names it, and relay_seed() skips it). */
#define DM_STORE_PREFIX "dm:"
/* Messages copied per dm_relay() call at most. */
#define DM_RELAY_BATCH 32

/* Copies messages not yet in store s there (each conversation a store
 * room, created on first use), marking them stored; the relay's step
 * (relay_run()).  0 or the first error (what was copied stays copied). */
int dm_relay(chatdb_t *db, store_t *s, chat_error_t *err);

#endif
