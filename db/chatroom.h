/*
 * chatroom.h - the chat's rooms as every process sees them, in chat.db.
 *
 * A room's name is also its id in destinations (/app/chat/room/NAME,
 * /topic/chat/room/NAME): 1..CHATMSG_ROOM_MAX bytes of [A-Za-z0-9_-],
 * unique byte for byte.  The room "general" always exists (chat.db
 * migration 5).  Each room also has a numeric id for the durable store
 * (store_new_id(); "general" is 1); the relay copies rooms to the store
 * (db/relay.h), so the chat keeps working, rooms included, while MongoDB is
 * away.
 *
 * Creating a room publishes it on CHATROOM_TOPIC (/topic/rooms) as JSON
 * (chatmsg_render_room()) in the same transaction.
 */
#ifndef CHAT_CHATROOM_H
#define CHAT_CHATROOM_H

#include "buf.h"
#include "chatdb.h"
#include "chatmsg.h"
#include "session.h"

#define CHATROOM_TOPIC "/topic/rooms"
#define CHATROOM_DEFAULT "general"
/* Most rooms (creating more is CHAT_ETOOMANY). */
#define CHATROOM_MAX 1000

typedef struct chatroom {
	char name[CHATMSG_ROOM_MAX + 1];     /* NUL-terminated; the id in destinations */
	int64_t id;                          /* the store's room id */
	char creator[SESSION_USER_MAX + 1];  /* user name; "" for "general" */
	int64_t created_ms;
	int stored;                          /* 1 once copied to the durable store */
} chatroom_t;

/* Called per room; return non-zero to stop (that value is returned). */
typedef int (*chatroom_cb)(void *ctx, const chatroom_t *room);

/* Looks room name up.  0, CHAT_ENOTFOUND, or a database error. */
int chatroom_get(chatdb_t *db, const char *name, chatroom_t *out, chat_error_t *err);

/* Creates room name by creator, publishing it on CHATROOM_TOPIC, in one
 * transaction, then rings the handle's doorbell.  *out (may be NULL) gets
 * the room.  0; CHAT_EINVAL / CHAT_ETOOBIG (a bad name: err says why);
 * CHAT_EEXIST; CHAT_ETOOMANY (CHATROOM_MAX reached); database errors. */
int chatroom_create(chatdb_t *db, chat_slice_t name, const char *creator, int64_t now_ms,
		    chatroom_t *out, chat_error_t *err);

/* The same inside a transaction the caller holds (the broker's frame):
 * *seq_out gets the seq of the published row.  No doorbell. */
int chatroom__create_in_tx(chatdb_t *db, chat_slice_t name, const char *creator, int64_t now_ms,
			   chatroom_t *out, int64_t *seq_out, chat_error_t *err);

/* Calls cb for every room in creation order (only_unstored: rooms the
 * relay has not copied yet).  cb must not use db. */
int chatroom_list(chatdb_t *db, int only_unstored, chatroom_cb cb, void *ctx, chat_error_t *err);

/* Appends every room as a JSON array of chatmsg_render_room() objects. */
int chatroom_list_json(chatdb_t *db, chat_buf_t *out, chat_error_t *err);

/* Marks room id as copied to the store. */
int chatroom_set_stored(chatdb_t *db, int64_t id, chat_error_t *err);

/* Adds rooms found in the store but not in chat.db (a new chat.db next to
 * an old store) as stored rooms; a name taken by another id is skipped. */
int chatroom_import(chatdb_t *db, const chatroom_t *room, chat_error_t *err);

#endif
