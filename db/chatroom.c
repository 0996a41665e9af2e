/* chatroom.c - rooms in chat.db (see chatroom.h). */
#include "config.h"
#include "chatroom_int.h"
#include "cluster.h"

#include "auth.h"
#include "dest.h"
#include "json.h"
#include "log.h"
#include "names.h"
#include "outbox.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

int chatroom_topic(char out[CHATDB_DEST_MAX + 1], const char *path, const char *room)
{
	const dest_prefixes_t *p = dest_prefixes();
	int n = snprintf(out, CHATDB_DEST_MAX + 1, "%s%s%s", p->broker[p->topic], path, room);

	return n < 0 || n > CHATDB_DEST_MAX ? CHAT_ETOOBIG : CHAT_OK;
}

int chatroom_of_topic(chat_slice_t d, chat_slice_t *room)
{
	const dest_prefixes_t *p = dest_prefixes();
	size_t n = strlen(CHATROOM_ROOM_PATH);
	chat_slice_t rest;

	if (!dest_under(d, p->broker[p->topic], &rest) || rest.len <= n ||
	    memcmp(rest.ptr, CHATROOM_ROOM_PATH, n) != 0)
		return 0;
	*room = (chat_slice_t){ rest.ptr + n, rest.len - n };
	return chatmsg_room_valid(*room);
}

static const char SQL_GET[] = "SELECT " CHATROOM__COLS " FROM chat_rooms WHERE name = ?1";
static const char SQL_COUNT[] = "SELECT count(*) FROM chat_rooms WHERE deleted_ms = 0";
static const char SQL_COUNT_USER[] =
	"SELECT count(*) FROM chat_rooms WHERE creator = ?1 AND deleted_ms = 0";
/* Display names are unique among live rooms by their key (names_key():
 * case, width and normalisation folded), checked in the creating
 * transaction, which holds the write lock (and by a unique index).  A
 * deleted room frees its display name but keeps its id (its history is
 * still stored under it). */
static const char SQL_TAKEN[] =
	"SELECT display FROM chat_rooms WHERE display_key = ?1 AND deleted_ms = 0 LIMIT 1";
/* Ids in any case: "Room" is not made while "room" exists (migration 7). */
static const char SQL_ID_TAKEN[] =
	"SELECT 1 FROM chat_rooms WHERE name = ?1 COLLATE NOCASE LIMIT 1";
static const char SQL_PUT[] =
	"INSERT INTO chat_rooms(name, id, creator, created_ms, display, display_key)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_DELETE[] =
	"UPDATE chat_rooms SET deleted_ms = ?2, stored = 0 WHERE id = ?1 AND deleted_ms = 0";

void chatroom__read_row(sqlite3_stmt *st, chatroom_t *r)
{
	snprintf(r->name, sizeof(r->name), "%s", sqlite3_column_text(st, 0));
	r->id = sqlite3_column_int64(st, 1);
	snprintf(r->creator, sizeof(r->creator), "%s", sqlite3_column_text(st, 2));
	r->created_ms = sqlite3_column_int64(st, 3);
	r->stored = sqlite3_column_int(st, 4);
	r->deleted_ms = sqlite3_column_int64(st, 5);
	snprintf(r->display, sizeof(r->display), "%s", sqlite3_column_text(st, 6));
}

/* Row headers of the published room ("name\0value\0" pairs, broker.h). */
static const char ROOM_HEADERS[] = "content-type\0application/json";

int chatroom_get(chatdb_t *db, const char *name, chatroom_t *out, chat_error_t *err)
{
	int rc = chatroom_get_any(db, name, out, err);

	if (rc == CHAT_OK && out->deleted_ms > 0)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "the room %s was deleted", name);
	return rc;
}

int chatroom_get_any(chatdb_t *db, const char *name, chatroom_t *out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_GET, &st, err), row;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "room", err);
	if (rc == CHAT_OK && row)
		chatroom__read_row(st, out);
	else if (rc == CHAT_OK)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no room %s", name);
	sqlite3_reset(st);
	return rc;
}

/* The count sql gives (?1 bound to user when not NULL) into *n. */
static int count_rooms(chatdb_t *db, const char *sql, const char *user, int64_t *n,
		       chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err), row;

	if (rc != CHAT_OK)
		return rc;
	if (user != NULL)
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	/* count(*) always gives its one row. */
	rc = chatdb__step_row(db, st, &row, "rooms", err);
	if (rc == CHAT_OK)
		*n = row ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc;
}

int chatroom_is_guest(const char *user)
{
	return strncmp(user, CHATMSG_GUEST_PREFIX, strlen(CHATMSG_GUEST_PREFIX)) == 0;
}

int chatroom_is_admin(const chat_options_t *opt, const char *user)
{
	size_t n = strlen(user);
	const char *p = opt->admins != NULL ? opt->admins : "";

	while (n > 0 && *p != '\0') {
		size_t len = strcspn(p, ",");
		const char *s = p, *e = p + len;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == n && memcmp(s, user, n) == 0)
			return 1;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* Whether creator may create one more room under opt's bounds. */
static int check_quota(chatdb_t *db, const chat_options_t *opt, const char *creator,
		       chat_error_t *err)
{
	int64_t n = 0;
	int rc;

	if (!opt->guest_rooms && chatroom_is_guest(creator))
		return chat_error_set(err, CHAT_EDENIED,
				      "guests cannot create rooms: sign in to create one");
	if ((rc = count_rooms(db, SQL_COUNT, NULL, &n, err)) != CHAT_OK)
		return rc;
	if (n >= opt->rooms_max)
		return chat_error_set(err, CHAT_ETOOMANY, "there are already %lld rooms",
				      (long long)n);
	if ((rc = count_rooms(db, SQL_COUNT_USER, creator, &n, err)) != CHAT_OK)
		return rc;
	if (n >= opt->rooms_per_user)
		return chat_error_set(err, CHAT_ETOOMANY,
				      "%s already has %lld rooms, the most one user may create",
				      creator, (long long)n);
	return CHAT_OK;
}

/* Whether the text sql binds ?1 to finds a row, into *found (its first
 * column copied into first, cap bytes, when first is not NULL). */
static int exists(chatdb_t *db, const char *sql, const char *arg, char *first, size_t cap,
		  int *found, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	*found = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, found, "rooms", err);
	if (rc == CHAT_OK && *found && first != NULL)
		snprintf(first, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc;
}

/* Picks r's id in destinations: its display name when that is one already
 * and free (a client that creates "room1" posts to /app/chat/room/room1),
 * else the store id in base 36 (a fresh store id when even that is
 * taken). */
static int pick_id(chatdb_t *db, chatroom_t *r, chat_error_t *err)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char tmp[16];
	int rc, tries, taken;

	if (chatmsg_room_valid((chat_slice_t){ r->display, strlen(r->display) })) {
		if ((rc = exists(db, SQL_ID_TAKEN, r->display, NULL, 0, &taken, err)) != CHAT_OK)
			return rc;
		if (!taken) {
			snprintf(r->name, sizeof(r->name), "%s", r->display);
			return CHAT_OK;
		}
	}
	for (tries = 0; tries < 4; tries++) {
		uint64_t v = (uint64_t)r->id;
		size_t n = 0, i;

		do {
			tmp[n++] = digits[v % 36];
			v /= 36;
		} while (v > 0 && n < sizeof(tmp));
		for (i = 0; i < n; i++)
			r->name[i] = tmp[n - 1 - i];
		r->name[n] = '\0';
		if ((rc = exists(db, SQL_ID_TAKEN, r->name, NULL, 0, &taken, err)) != CHAT_OK ||
		    !taken)
			return rc;
		r->id = store_new_id();
	}
	return chat_error_set(err, CHAT_EEXIST, "no free room id");
}

/* Publishes body (rc from its renderer) on the topic under path (room
 * appended: "" for TOPIC/rooms) and frees it. */
static int publish(chatdb_t *db, const char *path, const char *room, chat_buf_t *body, int rc,
		   int64_t now_ms, int64_t *seq_out, chat_error_t *err)
{
	char topic[CHATDB_DEST_MAX + 1];
	outbox_msg_t m = {
		topic, NULL, { ROOM_HEADERS, sizeof(ROOM_HEADERS) }, chat_buf_slice(body), now_ms
	};

	if (rc == CHAT_OK)
		rc = chatroom_topic(topic, path, room);
	if (rc == CHAT_OK)
		rc = outbox_append(db, &m, seq_out, err);
	chat_buf_free(body);
	return rc;
}

int chatroom__create_in_tx(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
			   const char *creator, int64_t now_ms, chatroom_t *out, int64_t *seq_out,
			   chat_error_t *err)
{
	char key[NAMES_KEY_MAX + 1], other[NAMES_NFC_MAX + 1];
	chatroom_t r;
	chat_buf_t body;
	sqlite3_stmt *st;
	int rc, dup;

	memset(&r, 0, sizeof(r));
	if ((rc = names_check_key("room names", name, r.display, key, err)) != CHAT_OK)
		return rc;
	snprintf(r.creator, sizeof(r.creator), "%s", creator);
	r.id = store_new_id();
	r.created_ms = now_ms;
	chat_buf_init(&body, 1024);
	if ((rc = check_quota(db, opt, r.creator, err)) != CHAT_OK)
		goto out;
	if ((rc = exists(db, SQL_TAKEN, key, other, sizeof(other), &dup, err)) != CHAT_OK)
		goto out;
	if (dup) {
		rc = chat_error_set(err, CHAT_EEXIST, "the room %s exists", other);
		goto out;
	}
	if ((rc = pick_id(db, &r, err)) != CHAT_OK)
		goto out;
	if ((rc = chatdb__stmt(db, SQL_PUT, &st, err)) != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, r.name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r.id);
	sqlite3_bind_text(st, 3, r.creator, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r.created_ms);
	sqlite3_bind_text(st, 5, r.display, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, key, -1, SQLITE_STATIC);
	if ((rc = chatdb__step_insert(db, st, &dup, "room", err)) != CHAT_OK)
		goto out;
	if (dup) {
		rc = chat_error_set(err, CHAT_EEXIST, "the room %s exists", r.display);
		goto out;
	}
	rc = publish(db, CHATROOM_ROOMS_PATH, "", &body,
		     chatmsg_render_room(&body, r.name, r.display, r.creator, r.created_ms), now_ms,
		     seq_out, err);
	/* In a cluster every node gets the room (db/cluster.h). */
	if (rc == CHAT_OK)
		rc = cluster__room_in_tx(db, 1, &r, NULL, now_ms, err);
	if (rc == CHAT_OK && out != NULL)
		*out = r;
out:
	chat_buf_free(&body);
	return rc;
}

/* What chatroom_create() or chatroom_delete() does inside the transaction. */
typedef struct room_op {
	const chat_options_t *opt;
	chat_slice_t name;
	const char *user;
	int64_t now_ms;
	chatroom_t *out;
	int del; /* 0 create, 1 delete, 2 delete message msg_id */
	int64_t msg_id;
} room_op_t;

static int room_tx(chatdb_t *db, const room_op_t *o, chat_error_t *err)
{
	doorbell_t *bell = chatdb__hold_doorbell(db); /* ring after COMMIT */
	int64_t seq = 0;
	int rc;

	rc = chatdb__begin(db, err);
	if (rc == CHAT_OK) {
		rc = o->del == 2 ? chatroom__delete_msg_in_tx(db, o->opt, o->name, o->msg_id,
							      o->user, o->now_ms, &seq, err)
		     : o->del    ? chatroom__delete_in_tx(db, o->opt, o->name, o->user, o->now_ms,
							  o->out, &seq, err)
				 : chatroom__create_in_tx(db, o->opt, o->name, o->user, o->now_ms,
							  o->out, &seq, err);
		if (rc == CHAT_OK)
			rc = chatdb__commit(db, err);
		else
			chatdb__rollback(db);
	}
	/* Every successful room operation appended a row: seq > 0. */
	chatdb__release_doorbell(db, bell, rc == CHAT_OK ? seq : 0);
	return rc;
}

int chatroom_create(chatdb_t *db, const chat_options_t *opt, chat_slice_t name, const char *creator,
		    int64_t now_ms, chatroom_t *out, chat_error_t *err)
{
	room_op_t o = { opt, name, creator, now_ms, out, 0, 0 };

	return room_tx(db, &o, err);
}

/* Hides room r (its row stays as a tombstone) and publishes its deletion
 * by by (NULL: the administrator) on TOPIC/rooms (*seq_out its seq). */
static int tombstone(chatdb_t *db, const chatroom_t *r, const char *by, int64_t now_ms,
		     int64_t *seq_out, chat_error_t *err)
{
	sqlite3_stmt *st;
	chat_buf_t body;
	int rc;

	if ((rc = chatdb__stmt(db, SQL_DELETE, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_int64(st, 2, now_ms > 0 ? now_ms : 1);
	if ((rc = chatdb__step_done(db, st, "room delete", err)) != CHAT_OK)
		return rc;
	chat_buf_init(&body, 1024);
	return publish(db, CHATROOM_ROOMS_PATH, "", &body,
		       chatmsg_render_notice(&body, "DELETED", by != NULL ? by : CHATROOM_BY_ADMIN,
					     r->name),
		       now_ms, seq_out, err);
}

int chatroom__delete_in_tx(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
			   const char *by, int64_t now_ms, chatroom_t *out, int64_t *seq_out,
			   chat_error_t *err)
{
	char n[CHATMSG_ROOM_MAX + 1];
	chatroom_t r;
	int rc;

	if (!chatmsg_room_valid(name))
		return chat_error_set(err, CHAT_ENOTFOUND, "no such room");
	memcpy(n, name.ptr, name.len);
	n[name.len] = '\0';
	if ((rc = chatroom_get(db, n, &r, err)) != CHAT_OK)
		return rc;
	if (strcmp(r.name, CHATROOM_DEFAULT) == 0)
		return chat_error_set(err, CHAT_EDENIED, "the room %s cannot be deleted",
				      r.display);
	/* by NULL: the host's administrator (chatctl rooms delete). */
	if (by != NULL && strcmp(r.creator, by) != 0 && !auth_is_admin(db, opt, by))
		return chat_error_set(err, CHAT_EDENIED,
				      "only the creator of %s or an admin can delete it",
				      r.display);
	rc = tombstone(db, &r, by, now_ms, seq_out, err);
	if (rc == CHAT_OK)
		rc = cluster__room_in_tx(db, 0, &r, by, now_ms, err);
	if (rc == CHAT_OK && out != NULL) {
		r.deleted_ms = now_ms > 0 ? now_ms : 1;
		*out = r;
	}
	if (rc == CHAT_OK)
		log_info("moderation: %s deleted the room %s (%s)",
			 by != NULL ? by : CHATROOM_BY_ADMIN, r.name, r.display);
	return rc;
}

static const char SQL_TOMB_PUT[] =
	"INSERT OR IGNORE INTO chat_tombstones(msg_id, room, by_user, at_ms) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_TOMB_GET[] = "SELECT 1 FROM chat_tombstones WHERE msg_id = ?1";

int chatroom__delete_msg_in_tx(chatdb_t *db, const chat_options_t *opt, chat_slice_t room,
			       int64_t msg_id, const char *by, int64_t now_ms, int64_t *seq_out,
			       chat_error_t *err)
{
	char n[CHATMSG_ROOM_MAX + 1];
	chatroom_t r;
	chat_buf_t body;
	sqlite3_stmt *st;
	int rc;

	if (!chatmsg_room_valid(room))
		return chat_error_set(err, CHAT_ENOTFOUND, "no such room");
	memcpy(n, room.ptr, room.len);
	n[room.len] = '\0';
	if ((rc = chatroom_get(db, n, &r, err)) != CHAT_OK)
		return rc;
	if (msg_id <= 0)
		return chat_error_set(err, CHAT_ENOTFOUND, "no such message");
	if (strcmp(r.creator, by) != 0 && !auth_is_admin(db, opt, by))
		return chat_error_set(err, CHAT_EDENIED,
				      "only the creator of %s or an admin can delete its messages",
				      r.display);
	if ((rc = chatdb__stmt(db, SQL_TOMB_PUT, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, msg_id);
	sqlite3_bind_text(st, 2, r.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms);
	if ((rc = chatdb__step_done(db, st, "tombstone", err)) != CHAT_OK)
		return rc;
	/* Broadcast in the room, after the message (subscribers resuming
	 * from an older id get both, in order). */
	chat_buf_init(&body, 1024);
	rc = chat_buf_printf(&body, "{\"type\":\"DELETED_MESSAGE\",\"id\":%lld,\"user\":",
			     (long long)msg_id);
	if (rc == CHAT_OK && (rc = json_encode_string(&body, by, strlen(by))) == CHAT_OK &&
	    (rc = chat_buf_append(&body, ",\"room\":", 8)) == CHAT_OK &&
	    (rc = json_encode_string(&body, r.name, strlen(r.name))) == CHAT_OK)
		rc = chat_buf_putc(&body, '}');
	rc = publish(db, CHATROOM_ROOM_PATH, r.name, &body, rc, now_ms, seq_out, err);
	if (rc == CHAT_OK)
		log_info("moderation: %s deleted message %lld in the room %s", by,
			 (long long)msg_id, r.name);
	return rc;
}

int chatroom_msg_deleted(chatdb_t *db, int64_t msg_id)
{
	sqlite3_stmt *st;
	int yes = 0;

	if (chatdb__stmt(db, SQL_TOMB_GET, &st, NULL) != CHAT_OK)
		return 0;
	sqlite3_bind_int64(st, 1, msg_id);
	if (chatdb__step_row(db, st, &yes, "tombstone", NULL) != CHAT_OK)
		yes = 0;
	sqlite3_reset(st);
	return yes;
}

int chatroom_delete(chatdb_t *db, const chat_options_t *opt, chat_slice_t name, const char *by,
		    int64_t now_ms, chatroom_t *out, chat_error_t *err)
{
	room_op_t o = { opt, name, by, now_ms, out, 1, 0 };

	return room_tx(db, &o, err);
}

int chatroom_delete_msg(chatdb_t *db, const chat_options_t *opt, chat_slice_t room, int64_t msg_id,
			const char *by, int64_t now_ms, chat_error_t *err)
{
	room_op_t o = { opt, room, by, now_ms, NULL, 2, msg_id };

	return room_tx(db, &o, err);
}

int chatroom__import_in_tx(chatdb_t *db, const chatroom_t *room, int64_t now_ms, int *added,
			   int64_t *seq_out, chat_error_t *err)
{
	chat_buf_t body;
	int rc;

	*added = 0;
	if ((rc = chatroom_import(db, room, err)) != CHAT_OK ||
	    sqlite3_changes(chatdb_sqlite(db)) == 0)
		return rc;
	chat_buf_init(&body, 1024);
	rc = publish(db, CHATROOM_ROOMS_PATH, "", &body,
		     chatmsg_render_room(&body, room->name, room->name, room->creator,
					 room->created_ms),
		     now_ms, seq_out, err);
	*added = rc == CHAT_OK;
	return rc;
}

int chatroom__tombstone_in_tx(chatdb_t *db, const char *name, const char *by, int64_t now_ms,
			      int *added, int64_t *seq_out, chat_error_t *err)
{
	chatroom_t r;
	int rc;

	*added = 0;
	rc = chatroom_get(db, name, &r, err);
	if (rc == CHAT_ENOTFOUND || (rc == CHAT_OK && strcmp(r.name, CHATROOM_DEFAULT) == 0))
		return CHAT_OK;
	if (rc == CHAT_OK)
		rc = tombstone(db, &r, by, now_ms, seq_out, err);
	*added = rc == CHAT_OK;
	return rc;
}
