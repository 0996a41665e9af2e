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
 * (chatmsg_render_room()) in the same transaction; deleting one publishes
 * {"type":"DELETED","user":BY,"room":NAME} there.
 *
 * Bounds (core/options.h): guests create rooms only with guest_rooms; a
 * user has at most rooms_per_user live rooms, the chat rooms_max.  A
 * deleted room is hidden (lookups say CHAT_ENOTFOUND, so posts to it are
 * refused) but its row stays as a tombstone: its name stays taken, its
 * history stays in the store, and the relay deletes it from the store's
 * room list so that it never comes back (relay_seed()).
 */
#ifndef CHAT_CHATROOM_H
#define CHAT_CHATROOM_H

#include "buf.h"
#include "chatdb.h"
#include "chatmsg.h"
#include "options.h"
#include "session.h"

#define CHATROOM_TOPIC "/topic/rooms"
#define CHATROOM_DEFAULT "general"
/* The ceiling of the rooms_max option (and of the rooms relay_seed() reads). */
#define CHATROOM_MAX 10000

typedef struct chatroom {
	char name[CHATMSG_ROOM_MAX + 1];     /* NUL-terminated; the id in destinations */
	int64_t id;                          /* the store's room id */
	char creator[SESSION_USER_MAX + 1];  /* user name; "" for "general" */
	int64_t created_ms;
	int stored;                          /* 1 once copied to (or deleted in) the store */
	int64_t deleted_ms;                  /* 0, or when the room was deleted */
} chatroom_t;

/* Called per room; return non-zero to stop (that value is returned). */
typedef int (*chatroom_cb)(void *ctx, const chatroom_t *room);

/* Looks room name up.  0, CHAT_ENOTFOUND (none, or deleted), or a
 * database error. */
int chatroom_get(chatdb_t *db, const char *name, chatroom_t *out, chat_error_t *err);

/* The same, deleted rooms included (out->deleted_ms > 0). */
int chatroom_get_any(chatdb_t *db, const char *name, chatroom_t *out, chat_error_t *err);

/* Whether user is a guest (guest-N) / one of opt's admins. */
int chatroom_is_guest(const char *user);
int chatroom_is_admin(const chat_options_t *opt, const char *user);

/* Creates room name by creator, publishing it on CHATROOM_TOPIC, in one
 * transaction, then rings the handle's doorbell.  *out (may be NULL) gets
 * the room.  0; CHAT_EINVAL / CHAT_ETOOBIG (a bad name: err says why);
 * CHAT_EEXIST; CHAT_EDENIED (a guest without opt->guest_rooms);
 * CHAT_ETOOMANY (rooms_per_user or rooms_max reached); database errors. */
int chatroom_create(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
		    const char *creator, int64_t now_ms, chatroom_t *out, chat_error_t *err);

/* The same inside a transaction the caller holds (the broker's frame):
 * *seq_out gets the seq of the published row.  No doorbell. */
int chatroom__create_in_tx(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
			   const char *creator, int64_t now_ms, chatroom_t *out, int64_t *seq_out,
			   chat_error_t *err);

/* Deletes room name for user by (its creator or one of opt->admins),
 * publishing the deletion on CHATROOM_TOPIC, in one transaction, then
 * rings the doorbell.  *out (may be NULL) gets the room.  0;
 * CHAT_ENOTFOUND (no such live room); CHAT_EDENIED (not the creator nor an
 * admin, or "general"); database errors. */
int chatroom_delete(chatdb_t *db, const chat_options_t *opt, chat_slice_t name, const char *by,
		    int64_t now_ms, chatroom_t *out, chat_error_t *err);

/* The same inside a transaction the caller holds.  No doorbell. */
int chatroom__delete_in_tx(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
			   const char *by, int64_t now_ms, chatroom_t *out, int64_t *seq_out,
			   chat_error_t *err);

/* Calls cb for every live room in creation order (only_unstored: the
 * rooms the relay has not copied, or deleted rooms it has not deleted in
 * the store, yet).  cb must not use db. */
int chatroom_list(chatdb_t *db, int only_unstored, chatroom_cb cb, void *ctx, chat_error_t *err);

/* Appends one page of the live rooms with store id > after_id, in id
 * order, as a JSON array of chatmsg_render_room() objects of at most max
 * bytes (out's own bound must allow that much more).  *last_id gets the
 * page's last id (after_id when empty), *more 1 when rooms are left for
 * the next page.  0, CHAT_ENOMEM, database errors. */
int chatroom_list_json(chatdb_t *db, int64_t after_id, size_t max, chat_buf_t *out,
		       int64_t *last_id, int *more, chat_error_t *err);

/* Marks room id as copied to the store. */
int chatroom_set_stored(chatdb_t *db, int64_t id, chat_error_t *err);

/* Adds rooms found in the store but not in chat.db (a new chat.db next to
 * an old store) as stored rooms; a name taken by another id is skipped. */
int chatroom_import(chatdb_t *db, const chatroom_t *room, chat_error_t *err);

/* For the cluster relay (db/cluster.h), inside its transaction: adds a
 * room another node created (as chatroom_import()) and, when it is new
 * here, publishes it on CHATROOM_TOPIC (*added = 1, *seq_out its seq). */
int chatroom__import_in_tx(chatdb_t *db, const chatroom_t *room, int64_t now_ms, int *added,
			   int64_t *seq_out, chat_error_t *err);

/* The same for a room another node deleted: hidden here too and
 * published as deleted by by ("general" and unknown rooms: nothing). */
int chatroom__tombstone_in_tx(chatdb_t *db, const char *name, const char *by, int64_t now_ms,
			      int *added, int64_t *seq_out, chat_error_t *err);

#endif
