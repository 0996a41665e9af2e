/*
 * chatroom.h - the chat's rooms as every process sees them, in chat.db: an
 * id for destinations (1..CHATMSG_ROOM_MAX bytes of [A-Za-z0-9_-]) and a
 * display name under core/names.h's rules, creation and deletion (published
 * on TOPIC/rooms in the same transaction), and their bounds.  The ids, the
 * tombstones and the store's copy: docs/protocol.md#rooms.
 */
#ifndef CHAT_CHATROOM_H
#define CHAT_CHATROOM_H

#include "buf.h"
#include "chatdb.h"
#include "chatmsg.h"
#include "names.h"
#include "options.h"
#include "session.h"

/* The chat application's paths below its prefixes (see the top). */
#define CHATROOM_ROOM_PATH "/chat/room/"
#define CHATROOM_ROOMS_PATH "/rooms"
#define CHATROOM_DEFAULT "general"
/* The ceiling of the rooms_max option (and of the rooms relay_seed() reads). */
#define CHATROOM_MAX 10000

/* Writes TOPIC, then path, then room (NUL-terminated; "" for none) into
 * out: the broadcast destination of the chat application's path.  Returns
 * 0, or CHAT_ETOOBIG when it would exceed CHATDB_DEST_MAX. */
CHAT_MUST_CHECK int chatroom_topic(char out[CHATDB_DEST_MAX + 1], const char *path,
				   const char *room);

/* Returns 1 when d is TOPIC/chat/room/ROOM with a valid ROOM, with *room
 * pointing at it, else 0. */
int chatroom_of_topic(chat_slice_t d, chat_slice_t *room);

typedef struct chatroom {
	char name[CHATMSG_ROOM_MAX + 1];    /* NUL-terminated; the id in destinations */
	char display[NAMES_NFC_MAX + 1];    /* the name people read (names.h) */
	int64_t id;                         /* the store's room id */
	char creator[SESSION_USER_MAX + 1]; /* user name; "" for "general" */
	int64_t created_ms;
	int stored;         /* 1 once copied to (or deleted in) the store */
	int64_t deleted_ms; /* 0, or when the room was deleted */
} chatroom_t;

/* Called per room: CHAT_OK to go on, CHAT_STOP to stop (the listing then
 * returns CHAT_OK), or a CHAT_E* code, which stops it and is returned. */
typedef int (*chatroom_cb)(void *ctx, const chatroom_t *room);

/* Looks room name up.  0, CHAT_ENOTFOUND (none, or deleted), or a
 * database error. */
CHAT_MUST_CHECK int chatroom_get(chatdb_t *db, const char *name, chatroom_t *out,
				 chat_error_t *err);

/* The same, deleted rooms included (out->deleted_ms > 0). */
CHAT_MUST_CHECK int chatroom_get_any(chatdb_t *db, const char *name, chatroom_t *out,
				     chat_error_t *err);

/* Whether user is a guest (guest-N) / one of opt's admins. */
int chatroom_is_guest(const char *user);
int chatroom_is_admin(const chat_options_t *opt, const char *user);

/* Creates a room with display name name (checked and normalised under
 * names.h) by creator, publishing it on TOPIC/rooms, in one
 * transaction, then rings the handle's doorbell.  *out (may be NULL) gets
 * the room.  0; CHAT_EINVAL / CHAT_ETOOBIG (a bad name: err says why);
 * CHAT_EUTF8; CHAT_EEXIST (a live room's name has the same key);
 * CHAT_EDENIED (a guest without opt->guest_rooms);
 * CHAT_ETOOMANY (rooms_per_user or rooms_max reached); database errors. */
CHAT_MUST_CHECK int chatroom_create(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
				    const char *creator, int64_t now_ms, chatroom_t *out,
				    chat_error_t *err);

/* The same inside a transaction the caller holds (the broker's frame):
 * *seq_out gets the seq of the published row.  No doorbell. */
CHAT_MUST_CHECK int chatroom__create_in_tx(chatdb_t *db, const chat_options_t *opt,
					   chat_slice_t name, const char *creator, int64_t now_ms,
					   chatroom_t *out, int64_t *seq_out, chat_error_t *err);

/* The deleter a deletion notice names when the administrator deleted the
 * room (by NULL): not a valid user name, so no user can be it. */
#define CHATROOM_BY_ADMIN "(administrator)"

/* Deletes room name for user by (its creator or one of opt->admins; NULL:
 * the host's administrator, allowed any room but "general"),
 * publishing the deletion on TOPIC/rooms, in one transaction, then
 * rings the doorbell.  *out (may be NULL) gets the room.  0;
 * CHAT_ENOTFOUND (no such live room); CHAT_EDENIED (not the creator nor an
 * admin, or "general"); database errors. */
CHAT_MUST_CHECK int chatroom_delete(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
				    const char *by, int64_t now_ms, chatroom_t *out,
				    chat_error_t *err);

/* The same inside a transaction the caller holds.  No doorbell. */
CHAT_MUST_CHECK int chatroom__delete_in_tx(chatdb_t *db, const chat_options_t *opt,
					   chat_slice_t name, const char *by, int64_t now_ms,
					   chatroom_t *out, int64_t *seq_out, chat_error_t *err);

/* Deletes message msg_id of room (by its creator or an admin,
 * auth_is_admin()): a tombstone in chat.db, so history shows it deleted,
 * and {"type":"DELETED_MESSAGE","id":N,"user":BY,"room":ID} on the room's
 * topic, in one transaction, then the doorbell.  Whether msg_id is one of
 * the room's messages is not checked (the tombstone of another id hides
 * nothing).  0; CHAT_ENOTFOUND (no such live room, msg_id <= 0);
 * CHAT_EDENIED; database errors.  Audited in the log. */
CHAT_MUST_CHECK int chatroom_delete_msg(chatdb_t *db, const chat_options_t *opt, chat_slice_t room,
					int64_t msg_id, const char *by, int64_t now_ms,
					chat_error_t *err);
CHAT_MUST_CHECK int chatroom__delete_msg_in_tx(chatdb_t *db, const chat_options_t *opt,
					       chat_slice_t room, int64_t msg_id, const char *by,
					       int64_t now_ms, int64_t *seq_out, chat_error_t *err);

/* Whether message msg_id was deleted (0 also when chat.db fails). */
int chatroom_msg_deleted(chatdb_t *db, int64_t msg_id);

/* Calls cb for every live room in creation order (only_unstored: the
 * rooms the relay has not copied, or deleted rooms it has not deleted in
 * the store, yet).  cb must not use db. */
CHAT_MUST_CHECK int chatroom_list(chatdb_t *db, int only_unstored, chatroom_cb cb, void *ctx,
				  chat_error_t *err);

/* Appends one page of the live rooms with store id > after_id, in id
 * order, as a JSON array of chatmsg_render_room() objects of at most max
 * bytes (out's own bound must allow that much more).  *last_id gets the
 * page's last id (after_id when empty), *more 1 when rooms are left for
 * the next page.  0, CHAT_ENOMEM, database errors. */
CHAT_MUST_CHECK int chatroom_list_json(chatdb_t *db, int64_t after_id, size_t max, chat_buf_t *out,
				       int64_t *last_id, int *more, chat_error_t *err);

/* Marks room id as copied to the store. */
CHAT_MUST_CHECK int chatroom_set_stored(chatdb_t *db, int64_t id, chat_error_t *err);

/* Adds rooms found in the store but not in chat.db (a new chat.db next to
 * an old store) as stored rooms; a name taken by another id is skipped. */
CHAT_MUST_CHECK int chatroom_import(chatdb_t *db, const chatroom_t *room, chat_error_t *err);

/* For the cluster relay (db/cluster.h), inside its transaction: adds a
 * room another node created (as chatroom_import()) and, when it is new
 * here, publishes it on CHATROOM_TOPIC (*added = 1, *seq_out its seq). */
CHAT_MUST_CHECK int chatroom__import_in_tx(chatdb_t *db, const chatroom_t *room, int64_t now_ms,
					   int *added, int64_t *seq_out, chat_error_t *err);

/* The same for a room another node deleted: hidden here too and
 * published as deleted by by ("general" and unknown rooms: nothing). */
CHAT_MUST_CHECK int chatroom__tombstone_in_tx(chatdb_t *db, const char *name, const char *by,
					      int64_t now_ms, int *added, int64_t *seq_out,
					      chat_error_t *err);

#endif
