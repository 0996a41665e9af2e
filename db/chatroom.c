/* chatroom.c - rooms in chat.db (see chatroom.h). */
#include "config.h"
#include "chatroom.h"

#include "outbox.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char SQL_GET[] =
	"SELECT name, id, creator, created_ms, stored FROM chat_rooms WHERE name = ?1";
static const char SQL_COUNT[] = "SELECT count(*) FROM chat_rooms";
/* Room names are unique whatever their (ASCII) case: checked in the
 * creating transaction, which holds the write lock. */
static const char SQL_TAKEN[] = "SELECT name FROM chat_rooms WHERE name = ?1 COLLATE NOCASE LIMIT 1";
static const char SQL_PUT[] =
	"INSERT INTO chat_rooms(name, id, creator, created_ms) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_LIST[] =
	"SELECT name, id, creator, created_ms, stored FROM chat_rooms"
	" WHERE ?1 = 0 OR stored = 0 ORDER BY created_ms, id";
static const char SQL_STORED[] = "UPDATE chat_rooms SET stored = 1 WHERE id = ?1";
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
}

int chatroom_get(chatdb_t *db, const char *name, chatroom_t *out, chat_error_t *err)
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

int chatroom__create_in_tx(chatdb_t *db, chat_slice_t name, const char *creator, int64_t now_ms,
			   chatroom_t *out, int64_t *seq_out, chat_error_t *err)
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
	if ((rc = chatdb__stmt(db, SQL_COUNT, &st, err)) != CHAT_OK)
		goto out;
	rc = sqlite3_step(st);
	rc = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) >= CHATROOM_MAX
		     ? chat_error_set(err, CHAT_ETOOMANY, "there are already %d rooms", CHATROOM_MAX)
	     : rc == SQLITE_ROW ? CHAT_OK
				: chatdb__error(db, rc, "rooms", err);
	sqlite3_reset(st);
	if (rc != CHAT_OK)
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
	if (rc == CHAT_OK && out != NULL)
		*out = r;
out:
	chat_buf_free(&body);
	return rc;
}

int chatroom_create(chatdb_t *db, chat_slice_t name, const char *creator, int64_t now_ms,
		    chatroom_t *out, chat_error_t *err)
{
	doorbell_t *bell = chatdb_doorbell(db);
	int64_t seq = 0;
	int rc;

	/* Ring only after COMMIT: a ring inside the transaction would wake
	 * readers before they can see the row. */
	chatdb_set_doorbell(db, NULL);
	rc = chatdb__begin(db, err);
	if (rc == CHAT_OK) {
		rc = chatroom__create_in_tx(db, name, creator, now_ms, out, &seq, err);
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

typedef struct json_ctx {
	chat_buf_t *out;
	int n;
} json_ctx_t;

static int room_json(void *ctx, const chatroom_t *r)
{
	json_ctx_t *j = ctx;
	int rc = j->n++ > 0 ? chat_buf_putc(j->out, ',') : CHAT_OK;

	return rc != CHAT_OK ? rc : chatmsg_render_room(j->out, r->name, r->creator, r->created_ms);
}

int chatroom_list_json(chatdb_t *db, chat_buf_t *out, chat_error_t *err)
{
	json_ctx_t j = { out, 0 };
	size_t start = out->len;
	int rc = chat_buf_putc(out, '[');

	if (rc == CHAT_OK)
		rc = chatroom_list(db, 0, room_json, &j, err);
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
