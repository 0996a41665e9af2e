/*
 * chatroom_list.c - the room list: listing rooms for chatctl and the
 * relay, the JSON pages of /api/rooms, and the relay's side of the rooms
 * (marking one stored, importing the store's rooms).
 */
#include "config.h"
#include "chatroom_int.h"

#include "chatmsg.h"

#include <sqlite3.h>
#include <string.h>

/* Live rooms, or (?1 = 1) the rooms the relay still has to copy or delete
 * in the store. */
static const char SQL_LIST[] =
	"SELECT " CHATROOM__COLS " FROM chat_rooms"
	" WHERE CASE WHEN ?1 = 0 THEN deleted_ms = 0 ELSE stored = 0 END ORDER BY created_ms, id";
static const char SQL_PAGE[] = "SELECT " CHATROOM__COLS
			       " FROM chat_rooms WHERE deleted_ms = 0 AND id > ?1 ORDER BY id";
static const char SQL_STORED[] = "UPDATE chat_rooms SET stored = 1 WHERE id = ?1";
/* A store room comes back with its id as its display name (the store
 * keeps ids only), keyed apart when a live room has that name already. */
static const char SQL_IMPORT[] =
	"INSERT OR IGNORE INTO chat_rooms(name, id, creator, created_ms, stored, display, display_key)"
	" VALUES (?1, ?2, ?3, ?4, 1, ?1, CASE WHEN EXISTS (SELECT 1 FROM chat_rooms"
	" WHERE display_key = lower(?1) AND deleted_ms = 0) THEN char(1) || ?1 ELSE lower(?1) END)";

int chatroom_list(chatdb_t *db, int only_unstored, chatroom_cb cb, void *ctx, chat_error_t *err)
{
	sqlite3_stmt *st;
	chatroom_t r;
	int rc = chatdb__stmt(db, SQL_LIST, &st, err), row;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int(st, 1, only_unstored);
	while ((rc = chatdb__step_row(db, st, &row, "rooms", err)) == CHAT_OK && row) {
		chatroom__read_row(st, &r);
		if ((rc = cb(ctx, &r)) != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}

int chatroom_list_json(chatdb_t *db, int64_t after_id, size_t max, chat_buf_t *out,
		       int64_t *last_id, int *more, chat_error_t *err)
{
	sqlite3_stmt *st;
	chatroom_t r;
	size_t start = out->len, mark;
	int rc = chatdb__stmt(db, SQL_PAGE, &st, err), row = 0, n = 0;

	*more = 0;
	*last_id = after_id;
	if (rc != CHAT_OK)
		return rc;
	rc = chat_buf_putc(out, '[');
	sqlite3_bind_int64(st, 1, after_id);
	while (rc == CHAT_OK && (rc = chatdb__step_row(db, st, &row, "rooms", err)) == CHAT_OK &&
	       row) {
		chatroom__read_row(st, &r);
		mark = out->len;
		rc = n > 0 ? chat_buf_putc(out, ',') : CHAT_OK;
		if (rc == CHAT_OK)
			rc = chatmsg_render_room(out, r.name, r.display, r.creator, r.created_ms);
		/* Keep room for the closing bracket; a room that does not fit
		 * starts the next page (one room always fits: the first). */
		if (rc == CHAT_OK && out->len + 1 - start > max && n > 0)
			rc = CHAT_ETOOBIG;
		if (rc == CHAT_ETOOBIG && n > 0) {
			chat_buf_truncate(out, mark);
			*more = 1;
			rc = CHAT_OK;
			break;
		}
		if (rc == CHAT_OK) {
			*last_id = r.id;
			n++;
		}
	}
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, ']');
	if (rc != CHAT_OK && out->len > start)
		chat_buf_truncate(out, start);
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
	return chatdb__step_done(db, st, "room stored", err);
}

int chatroom_import(chatdb_t *db, const chatroom_t *room, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, dup;

	if (!chatmsg_room_valid((chat_slice_t){ room->name, strlen(room->name) }))
		return CHAT_OK; /* a store room no destination can name */
	if ((rc = chatdb__stmt(db, SQL_IMPORT, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, room->id);
	sqlite3_bind_text(st, 3, room->creator, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, room->created_ms);
	/* A constraint refusing the row is no error: the room is here. */
	return chatdb__step_insert(db, st, &dup, "room import", err);
}
