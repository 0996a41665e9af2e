/* chatroom.c - rooms in chat.db (see chatroom.h). */
#include "config.h"
#include "chatroom.h"
#include "cluster.h"

#include "outbox.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define ROOM_COLS "name, id, creator, created_ms, stored, deleted_ms"

static const char SQL_GET[] = "SELECT " ROOM_COLS " FROM chat_rooms WHERE name = ?1";
static const char SQL_COUNT[] = "SELECT count(*) FROM chat_rooms WHERE deleted_ms = 0";
static const char SQL_COUNT_USER[] =
	"SELECT count(*) FROM chat_rooms WHERE creator = ?1 AND deleted_ms = 0";
/* Room names are unique whatever their (ASCII) case: checked in the
 * creating transaction, which holds the write lock.  A deleted room keeps
 * its name (its history is still stored under it). */
static const char SQL_TAKEN[] = "SELECT name FROM chat_rooms WHERE name = ?1 COLLATE NOCASE LIMIT 1";
static const char SQL_PUT[] =
	"INSERT INTO chat_rooms(name, id, creator, created_ms) VALUES (?1, ?2, ?3, ?4)";
/* Live rooms, or (?1 = 1) the rooms the relay still has to copy or delete
 * in the store. */
static const char SQL_LIST[] =
	"SELECT " ROOM_COLS " FROM chat_rooms"
	" WHERE CASE WHEN ?1 = 0 THEN deleted_ms = 0 ELSE stored = 0 END ORDER BY created_ms, id";
static const char SQL_PAGE[] =
	"SELECT " ROOM_COLS " FROM chat_rooms WHERE deleted_ms = 0 AND id > ?1 ORDER BY id";
static const char SQL_STORED[] = "UPDATE chat_rooms SET stored = 1 WHERE id = ?1";
static const char SQL_DELETE[] =
	"UPDATE chat_rooms SET deleted_ms = ?2, stored = 0 WHERE id = ?1 AND deleted_ms = 0";
static const char SQL_IMPORT[] =
	"INSERT OR IGNORE INTO chat_rooms(name, id, creator, created_ms, stored)"
	" VALUES (?1, ?2, ?3, ?4, 1)";

/* Row headers of the published room ("name\0value\0" pairs, broker.h). */
static const char ROOM_HEADERS[] = "content-type\0application/json";

static void read_room(sqlite3_stmt *st, chatroom_t *r)
{
	snprintf(r->name, sizeof(r->name), "%s", sqlite3_column_text(st, 0));
	r->id = sqlite3_column_int64(st, 1);
	snprintf(r->creator, sizeof(r->creator), "%s", sqlite3_column_text(st, 2));
	r->created_ms = sqlite3_column_int64(st, 3);
	r->stored = sqlite3_column_int(st, 4);
	r->deleted_ms = sqlite3_column_int64(st, 5);
}

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
	int rc = chatdb__stmt(db, SQL_GET, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_room(st, out);
		rc = CHAT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no room %s", name);
	} else {
		rc = chatdb__error(db, rc, "room", err);
	}
	sqlite3_reset(st);
	return rc;
}

/* The count sql gives (?1 bound to user when not NULL) into *n. */
static int count_rooms(chatdb_t *db, const char *sql, const char *user, int64_t *n,
		       chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	if (rc != CHAT_OK)
		return rc;
	if (user != NULL)
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
		rc = CHAT_OK;
	} else {
		rc = chatdb__error(db, rc, "rooms", err);
	}
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

int chatroom__create_in_tx(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
			   const char *creator, int64_t now_ms, chatroom_t *out, int64_t *seq_out,
			   chat_error_t *err)
{
	chatroom_t r;
	chat_buf_t body;
	sqlite3_stmt *st;
	outbox_msg_t m;
	int rc;

	if ((rc = chatmsg_check_room_name(name, err)) != CHAT_OK)
		return rc;
	memset(&r, 0, sizeof(r));
	memcpy(r.name, name.ptr, name.len);
	snprintf(r.creator, sizeof(r.creator), "%s", creator);
	r.id = store_new_id();
	r.created_ms = now_ms;
	chat_buf_init(&body, 1024);
	if ((rc = check_quota(db, opt, r.creator, err)) != CHAT_OK)
		goto out;
	if ((rc = chatdb__stmt(db, SQL_TAKEN, &st, err)) != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, r.name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW ? chat_error_set(err, CHAT_EEXIST, "the room %s exists",
					       (const char *)sqlite3_column_text(st, 0))
	     : rc == SQLITE_DONE ? CHAT_OK
				 : chatdb__error(db, rc, "rooms", err);
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		goto out;
	if ((rc = chatdb__stmt(db, SQL_PUT, &st, err)) != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, r.name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r.id);
	sqlite3_bind_text(st, 3, r.creator, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r.created_ms);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		rc = chat_error_set(err, CHAT_EEXIST, "the room %s exists", r.name);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = chatdb__error(db, rc, "room", err);
		goto out;
	}
	if ((rc = chatmsg_render_room(&body, r.name, r.creator, r.created_ms)) != CHAT_OK)
		goto out;
	m = (outbox_msg_t){ CHATROOM_TOPIC, NULL, { ROOM_HEADERS, sizeof(ROOM_HEADERS) },
			    chat_buf_slice(&body), now_ms };
	rc = outbox_append(db, &m, seq_out, err);
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
	int del;
} room_op_t;

static int room_tx(chatdb_t *db, const room_op_t *o, chat_error_t *err)
{
	doorbell_t *bell = chatdb_doorbell(db);
	int64_t seq = 0;
	int rc;

	/* Ring only after COMMIT: a ring inside the transaction would wake
	 * readers before they can see the row. */
	chatdb_set_doorbell(db, NULL);
	rc = chatdb__begin(db, err);
	if (rc == CHAT_OK) {
		rc = o->del ? chatroom__delete_in_tx(db, o->opt, o->name, o->user, o->now_ms,
						    o->out, &seq, err)
			    : chatroom__create_in_tx(db, o->opt, o->name, o->user, o->now_ms,
						    o->out, &seq, err);
		if (rc == CHAT_OK)
			rc = chatdb__commit(db, err);
		else
			chatdb__rollback(db);
	}
	chatdb_set_doorbell(db, bell);
	if (rc == CHAT_OK && bell != NULL)
		doorbell_ring(bell, (uint64_t)seq);
	return rc;
}

int chatroom_create(chatdb_t *db, const chat_options_t *opt, chat_slice_t name,
		    const char *creator, int64_t now_ms, chatroom_t *out, chat_error_t *err)
{
	room_op_t o = { opt, name, creator, now_ms, out, 0 };

	return room_tx(db, &o, err);
}

/* Publishes body (rc from its renderer) on CHATROOM_TOPIC and frees it. */
static int publish(chatdb_t *db, chat_buf_t *body, int rc, int64_t now_ms, int64_t *seq_out,
		   chat_error_t *err)
{
	outbox_msg_t m = { CHATROOM_TOPIC, NULL, { ROOM_HEADERS, sizeof(ROOM_HEADERS) },
			   chat_buf_slice(body), now_ms };

	if (rc == CHAT_OK)
		rc = outbox_append(db, &m, seq_out, err);
	chat_buf_free(body);
	return rc;
}

/* Hides room r (its row stays as a tombstone) and publishes its deletion
 * by by on CHATROOM_TOPIC (*seq_out its seq). */
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
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return chatdb__error(db, rc, "room delete", err);
	chat_buf_init(&body, 1024);
	return publish(db, &body, chatmsg_render_notice(&body, "DELETED", by, r->name), now_ms,
		       seq_out, err);
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
		return chat_error_set(err, CHAT_EDENIED, "the room %s cannot be deleted", r.name);
	if (strcmp(r.creator, by) != 0 && !chatroom_is_admin(opt, by))
		return chat_error_set(err, CHAT_EDENIED,
				      "only the creator of %s or an admin can delete it", r.name);
	rc = tombstone(db, &r, by, now_ms, seq_out, err);
	if (rc == CHAT_OK)
		rc = cluster__room_in_tx(db, 0, &r, by, now_ms, err);
	if (rc == CHAT_OK && out != NULL) {
		r.deleted_ms = now_ms > 0 ? now_ms : 1;
		*out = r;
	}
	return rc;
}

int chatroom_delete(chatdb_t *db, const chat_options_t *opt, chat_slice_t name, const char *by,
		    int64_t now_ms, chatroom_t *out, chat_error_t *err)
{
	room_op_t o = { opt, name, by, now_ms, out, 1 };

	return room_tx(db, &o, err);
}

int chatroom_list(chatdb_t *db, int only_unstored, chatroom_cb cb, void *ctx, chat_error_t *err)
{
	sqlite3_stmt *st;
	chatroom_t r;
	int rc = chatdb__stmt(db, SQL_LIST, &st, err), step;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int(st, 1, only_unstored);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		read_room(st, &r);
		if ((rc = cb(ctx, &r)) != 0)
			break;
	}
	if (rc == CHAT_OK && step != SQLITE_DONE)
		rc = chatdb__error(db, step, "rooms", err);
	sqlite3_reset(st);
	return rc;
}

int chatroom_list_json(chatdb_t *db, int64_t after_id, size_t max, chat_buf_t *out,
		       int64_t *last_id, int *more, chat_error_t *err)
{
	sqlite3_stmt *st;
	chatroom_t r;
	size_t start = out->len, mark;
	int rc = chatdb__stmt(db, SQL_PAGE, &st, err), step = SQLITE_DONE, n = 0;

	*more = 0;
	*last_id = after_id;
	if (rc != CHAT_OK)
		return rc;
	rc = chat_buf_putc(out, '[');
	sqlite3_bind_int64(st, 1, after_id);
	while (rc == CHAT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		read_room(st, &r);
		mark = out->len;
		rc = n > 0 ? chat_buf_putc(out, ',') : CHAT_OK;
		if (rc == CHAT_OK)
			rc = chatmsg_render_room(out, r.name, r.creator, r.created_ms);
		/* Keep room for the closing bracket; a room that does not fit
		 * starts the next page (one room always fits: the first). */
		if (rc == CHAT_OK && out->len + 1 - start > max && n > 0)
			rc = CHAT_ETOOBIG;
		if (rc == CHAT_ETOOBIG && n > 0) {
			out->len = mark;
			out->data[mark] = '\0';
			*more = 1;
			rc = CHAT_OK;
			break;
		}
		if (rc == CHAT_OK) {
			*last_id = r.id;
			n++;
		}
	}
	if (rc == CHAT_OK && !*more && step != SQLITE_DONE)
		rc = chatdb__error(db, step, "rooms", err);
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, ']');
	if (rc != CHAT_OK && out->len > start) {
		out->len = start;
		out->data[start] = '\0';
	}
	if (rc == CHAT_ETOOBIG || rc == CHAT_ENOMEM)
		chat_error_set(err, rc, "room list: %s", chat_strerror(rc));
	return rc;
}

int chatroom_set_stored(chatdb_t *db, int64_t id, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_STORED, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "room stored", err);
	sqlite3_reset(st);
	return rc;
}

int chatroom_import(chatdb_t *db, const chatroom_t *room, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if (!chatmsg_room_valid((chat_slice_t){ room->name, strlen(room->name) }))
		return CHAT_OK; /* a store room no destination can name */
	if ((rc = chatdb__stmt(db, SQL_IMPORT, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, room->id);
	sqlite3_bind_text(st, 3, room->creator, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, room->created_ms);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE || (rc & 0xff) == SQLITE_CONSTRAINT ? CHAT_OK
								    : chatdb__error(db, rc, "room import", err);
	sqlite3_reset(st);
	return rc;
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
	rc = publish(db, &body, chatmsg_render_room(&body, room->name, room->creator, room->created_ms),
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
