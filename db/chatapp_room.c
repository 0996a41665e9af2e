/*
 * chatapp_room.c - the chat application's rooms: posts, creating and
 * deleting rooms, typing, and presence (ENTER and LEAVE notices).
 */
#include "config.h"
#include "broker_int.h"
#include "chatapp.h"

/* Announced presence, for the sweep that finds what no live session
 * backs any more (expired sessions). */
static const char SQL_PRESENCE_ALL[] = "SELECT room, user_name FROM chat_presence";

static const char SQL_PRESENCE_DEL[] =
	"DELETE FROM chat_presence WHERE room = ?1 AND user_name = ?2";

static const char SQL_PRESENCE_ADD[] =
	"INSERT OR IGNORE INTO chat_presence(room, user_name) VALUES (?1, ?2)";

static const char SQL_PRESENT[] = "SELECT 1 FROM chat_presence WHERE room = ?1 AND user_name = ?2";

static const char SQL_ROOM_SEQ_GET[] = "SELECT seq FROM chat_room_seq WHERE room = ?1";

static const char SQL_ROOM_SEQ_FLOOR[] =
	"INSERT INTO chat_room_seq(room, seq) VALUES (?1, ?2)"
	" ON CONFLICT(room) DO UPDATE SET seq = excluded.seq WHERE seq < excluded.seq";

static const char SQL_ROOM_SEQ[] = "INSERT INTO chat_room_seq(room, seq) VALUES (?1, 1)"
				   " ON CONFLICT(room) DO UPDATE SET seq = seq + 1 RETURNING seq";

/* Row headers of what the chat application publishes on a room topic. */
static int chat_headers(chat_buf_t *h, const char *kind)
{
	int rc;

	chat_buf_reset(h);
	if ((rc = chatrow_hdr_put(h, "content-type", "application/json")) != CHAT_OK)
		return rc;
	return chatrow_hdr_put(h, CHATROW_H_KIND, kind);
}

/* Publishes {"type":TYPE,"user":USER,"room":ROOM} on the room's topic,
 * inside the caller's transaction. */
static int notice_db(chatdb_t *db, const char *type, const char *user, const char *room,
		     int64_t now_ms, int64_t *seq, chat_error_t *err)
{
	char topic[CHATDB_DEST_MAX + 1];
	chat_buf_t body, hdrs;
	outbox_msg_t m;
	int rc;

	/* In a cluster the other nodes learn it, and a user another node
	 * still (or already) has in the room is not announced again. */
	if (strcmp(type, "ENTER") == 0 || strcmp(type, "LEAVE") == 0) {
		int announce = 1;

		rc = cluster__presence_in_tx(db, type[0] == 'E', user, room, &announce, seq, err);
		if (rc != CHAT_OK || !announce)
			return rc;
	}
	chat_buf_init(&body, 1024);
	chat_buf_init(&hdrs, 256);
	rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	if (rc == CHAT_OK)
		rc = chatmsg_render_notice(&body, type, user, room);
	if (rc == CHAT_OK)
		rc = chat_headers(&hdrs, "notice");
	if (rc == CHAT_OK) {
		m = (outbox_msg_t){ topic, NULL, chat_buf_slice(&hdrs), chat_buf_slice(&body),
				    now_ms };
		rc = outbox_append(db, &m, seq, err);
	}
	chat_buf_free(&body);
	chat_buf_free(&hdrs);
	return rc;
}

static int notice(broker_t *b, const char *type, const char *room)
{
	int64_t seq = 0;
	int rc = notice_db(b->db, type, b->info.user_name, room, b->now_ms, &seq, b->err);

	if (rc == CHAT_OK)
		b->tx_seq = seq;
	return rc;
}

static int changes(broker_t *b)
{
	return sqlite3_changes(chatdb_sqlite(b->db));
}

/* The user entered room: ENTER unless already announced. */
int chatapp__enter(broker_t *b, const char *room)
{
	sqlite3_stmt *st;
	int rc;

	if (!b->info.has_user)
		return CHAT_OK;
	if ((rc = chatdb__stmt(b->db, SQL_PRESENCE_ADD, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->info.user_name, -1, SQLITE_STATIC);
	if ((rc = chatdb__step_done(b->db, st, "presence", b->err)) != CHAT_OK)
		return rc;
	return changes(b) > 0 ? notice(b, "ENTER", room) : CHAT_OK;
}

/* A subscription to topic is gone: LEAVE when it was a room's and the user
 * has no other live session in the room. */
int chatapp__leave_if_gone(broker_t *b, const char *topic)
{
	char room[CHATMSG_ROOM_MAX + 1];
	sqlite3_stmt *st;
	int rc, present = 0;

	if (!b->info.has_user || !chatapp__room_of(topic, 0, "", room))
		return CHAT_OK;
	rc = session__user_subscribed(b->db, b->info.user_name, topic, &present, b->err);
	if (rc != CHAT_OK || present)
		return rc;
	if ((rc = chatdb__stmt(b->db, SQL_PRESENCE_DEL, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->info.user_name, -1, SQLITE_STATIC);
	if ((rc = chatdb__step_done(b->db, st, "presence", b->err)) != CHAT_OK)
		return rc;
	return changes(b) > 0 ? notice(b, "LEAVE", room) : CHAT_OK;
}

/* /app/chat/room/{id}: validate, stamp, broadcast on /topic/chat/room/{id}. */
int chatapp__app_post(broker_t *b, const char *room, chat_slice_t body)
{
	chat_error_t perr = { 0 };
	chat_buf_t text;
	char topic[CHATDB_DEST_MAX + 1], display[NAMES_NFC_MAX + 1];
	chatmsg_t m;
	chatroom_t r;
	int64_t seq, got = 0;
	int rc, found;

	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	rc = chatroom_get(b->db, room, &r, b->err);
	if (rc == CHAT_ENOTFOUND)
		rc = broker__refuse(b, "no room %s", room);
	if (rc != CHAT_OK)
		goto out;
	rc = chatmsg_parse_post(body.ptr, body.len, &text, &perr);
	if (rc != CHAT_OK) {
		rc = broker__refuse(b, "invalid chat message: %s", perr.message);
		goto out;
	}
	if ((rc = broker__query_int(b, SQL_ROOM_SEQ, room, NULL, &m.room_seq, &found,
				    "room seq")) != CHAT_OK ||
	    (rc = broker__next_seq(b, &seq)) != CHAT_OK)
		goto out;
	m.id = seq;
	/* In a cluster the id comes from the node's id clock (db/cluster.h). */
	if (cluster_enabled(b->opt) &&
	    (rc = cluster__next_id_in_tx(b->db, b->opt->node_id, seq, &m.id, b->err)) != CHAT_OK)
		goto out;
	m.room = room;
	m.writer = b->info.user_name;
	if ((rc = auth_display_get(b->db, m.writer, display, b->err)) != CHAT_OK)
		goto out;
	m.display = display;
	m.time_ms = b->now_ms;
	m.text = chat_buf_slice(&text);
	m.deleted = 0;
	chat_buf_reset(&b->scratch);
	if ((rc = chatmsg_render(&b->scratch, &m)) != CHAT_OK)
		goto out;
	if ((rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, room)) != CHAT_OK)
		goto out;
	/* The relay starts before the first chat row, so pruning keeps every
	 * chat row until it is in the store. */
	if ((rc = relay__register_in_tx(b->db, seq - 1, b->err)) != CHAT_OK ||
	    (rc = chat_headers(&b->hdrs, CHATROW_KIND_MSG)) != CHAT_OK)
		goto out;
	if (cluster_enabled(b->opt)) {
		char origin[24];

		snprintf(origin, sizeof(origin), "%lld", b->opt->node_id);
		if ((rc = chatrow_hdr_put(&b->hdrs, CHATROW_H_ORIGIN, origin)) != CHAT_OK)
			goto out;
	}
	/* In a cluster the post is held back until it is in one order on
	 * every node (db/cluster.h). */
	if (!cluster_enabled(b->opt))
		rc = broker__append(b, topic, NULL, chat_buf_slice(&b->hdrs),
				    chat_buf_slice(&b->scratch), &got);
	else if ((rc = cluster__hold_in_tx(b->db, m.id, topic, room, chat_buf_slice(&b->hdrs),
					   chat_buf_slice(&b->scratch), &got, b->err)) == CHAT_OK)
		b->tx_seq = got;
	if (rc == CHAT_OK && got != seq)
		rc = chat_error_set(b->err, CHAT_EDB, "outbox seq %lld, expected %lld",
				    (long long)got, (long long)seq);
out:
	chat_buf_free(&text);
	return rc;
}

/* /app/rooms with {"name": ...}: creates the room (published on
 * /topic/rooms); /app/rooms/delete (del): deletes it. */
int chatapp__app_room(broker_t *b, chat_slice_t body, int del)
{
	chat_error_t perr = { 0 };
	chat_buf_t name;
	json_field_t fl = { "name", &name, 1, 0, 0, 0 };
	int64_t seq = 0;
	int rc;

	chat_buf_init(&name, NAMES_INPUT_MAX);
	rc = json_parse_object(body.ptr, body.len, &chatmsg_object_limits, &fl, 1, &perr);
	if (rc == CHAT_OK)
		rc = del ? chatroom__delete_in_tx(b->db, b->opt, chat_buf_slice(&name),
						  b->info.user_name, b->now_ms, NULL, &seq, &perr)
			 : chatroom__create_in_tx(b->db, b->opt, chat_buf_slice(&name),
						  b->info.user_name, b->now_ms, NULL, &seq, &perr);
	if (rc == CHAT_OK)
		b->tx_seq = seq;
	else if (rc != CHAT_EDB && rc != CHAT_EIO && rc != CHAT_ENOMEM)
		rc = broker__refuse(b, "cannot %s the room: %s", del ? "delete" : "create",
				    perr.message);
	else
		chat_error_set(b->err, rc, "%s", perr.message);
	chat_buf_free(&name);
	return rc;
}

/* Takes the session's typing token (BROKER_TYPING_RATE a second) and
 * renders {"type":"TYPING","user","display_name",KEY:VALUE,"time"} into
 * scratch.  CHAT_OK with *over 1: over the rate (dropped, nothing said,
 * nothing rendered); CHAT_OK with *over 0; or an error. */
int chatapp__typing_body(broker_t *b, const char *key_name, const char *value, int *over)
{
	char key[RATELIMIT_KEY_MAX + 1], display[NAMES_NFC_MAX + 1];
	const char *user = b->info.user_name;
	chat_error_t e = { 0 };
	int64_t retry = 0;
	int rc;

	snprintf(key, sizeof(key), "typing:%s", b->key);
	rc = ratelimit__take_in_tx(b->db, key, BROKER_TYPING_RATE, 1, b->now_ms, &retry, &e);
	*over = rc == CHAT_ETOOMANY;
	if (*over)
		return CHAT_OK;
	if (rc != CHAT_OK) {
		*b->err = e;
		return rc;
	}
	if ((rc = auth_display_get(b->db, user, display, b->err)) != CHAT_OK)
		return rc;
	chat_buf_reset(&b->scratch);
	if ((rc = chat_buf_append(&b->scratch, "{\"type\":\"TYPING\",\"user\":", 24)) == CHAT_OK &&
	    (rc = json_encode_string(&b->scratch, user, strlen(user))) == CHAT_OK &&
	    (rc = chat_buf_append(&b->scratch, ",\"display_name\":", 16)) == CHAT_OK &&
	    (rc = json_encode_string(&b->scratch, display, strlen(display))) == CHAT_OK &&
	    (rc = chat_buf_printf(&b->scratch, ",\"%s\":", key_name)) == CHAT_OK &&
	    (rc = json_encode_string(&b->scratch, value, strlen(value))) == CHAT_OK)
		rc = chat_buf_printf(&b->scratch, ",\"time\":%lld}", (long long)b->now_ms);
	return rc;
}

/* SEND APP/chat/room/{id}/typing (see broker.h): its own per-session
 * bucket, not the user's SEND bucket, and nothing said when over it. */
int chatapp__app_typing(broker_t *b, const char *dest)
{
	char room[CHATMSG_ROOM_MAX + 1], topic[CHATDB_DEST_MAX + 1];
	chatroom_t r;
	int64_t seq = 0;
	int rc, over;

	if (!b->info.has_user || !chatapp__room_of(dest, 1, BROKER_TYPING_SUFFIX, room))
		return broker__refuse(b, "no handler for %s", dest);
	rc = chatroom_get(b->db, room, &r, b->err);
	if (rc == CHAT_ENOTFOUND)
		return broker__refuse(b, "no room %s", room);
	if (rc != CHAT_OK)
		return rc;
	if ((rc = chatapp__typing_body(b, "room", room, &over)) != CHAT_OK || over)
		return rc;
	rc = chat_headers(&b->hdrs, "typing");
	if (rc == CHAT_OK)
		rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	if (rc == CHAT_OK)
		rc = broker__append(b, topic, NULL, chat_buf_slice(&b->hdrs),
				    chat_buf_slice(&b->scratch), &seq);
	if (rc == CHAT_OK)
		b->tx_seq = seq;
	return rc;
}

/* Up to 64 announced (room, user) pairs no live session backs any more. */
typedef struct stale {
	char rooms[64][CHATMSG_ROOM_MAX + 1];
	char users[64][SESSION_USER_MAX + 1];
	size_t n;
} stale_t;

static int find_stale(chatdb_t *db, stale_t *s, chat_error_t *err)
{
	char topic[CHATDB_DEST_MAX + 1];
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PRESENCE_ALL, &st, err), row = 0, present;

	s->n = 0;
	if (rc != CHAT_OK)
		return rc;
	while (s->n < CHAT_ARRAY_LEN(s->rooms) &&
	       (rc = chatdb__step_row(db, st, &row, "presence", err)) == CHAT_OK && row) {
		const char *room = (const char *)sqlite3_column_text(st, 0),
			   *user = (const char *)sqlite3_column_text(st, 1);

		if ((rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, room)) != CHAT_OK ||
		    (rc = session__user_subscribed(db, user, topic, &present, err)) != CHAT_OK)
			break;
		if (present)
			continue;
		snprintf(s->rooms[s->n], sizeof(s->rooms[s->n]), "%s", room);
		snprintf(s->users[s->n], sizeof(s->users[s->n]), "%s", user);
		s->n++;
	}
	sqlite3_reset(st);
	return rc;
}

int broker_presence_sweep(chatdb_t *db, int64_t now_ms, int64_t *left_out, chat_error_t *err)
{
	doorbell_t *bell;
	stale_t s = { .n = 0 };
	sqlite3_stmt *st;
	int64_t seq = 0;
	size_t i;
	int rc;

	if (left_out != NULL)
		*left_out = 0;
	bell = chatdb__hold_doorbell(db);
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		goto out;
	rc = find_stale(db, &s, err);
	for (i = 0; i < s.n && rc == CHAT_OK; i++) {
		rc = chatdb__stmt(db, SQL_PRESENCE_DEL, &st, err);
		if (rc != CHAT_OK)
			break;
		sqlite3_bind_text(st, 1, s.rooms[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s.users[i], -1, SQLITE_STATIC);
		if ((rc = chatdb__step_done(db, st, "presence", err)) == CHAT_OK)
			rc = notice_db(db, "LEAVE", s.users[i], s.rooms[i], now_ms, &seq, err);
	}
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
out:
	chatdb__release_doorbell(db, bell, rc == CHAT_OK ? seq : 0);
	if (rc == CHAT_OK && left_out != NULL)
		*left_out = (int64_t)s.n;
	return rc;
}

int chatapp_room_seq_known(chatdb_t *db, const char *room, int *known, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_ROOM_SEQ_GET, &st, err);

	*known = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, known, "room seq", err);
	sqlite3_reset(st);
	return rc;
}

int chatapp_room_seq_floor(chatdb_t *db, const char *room, int64_t seq, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_ROOM_SEQ_FLOOR, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	return chatdb__step_done(db, st, "room seq floor", err);
}

int chatapp_presence_has(chatdb_t *db, const char *room, const char *user, int *present,
			 chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PRESENT, &st, err);

	*present = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, present, "presence", err);
	sqlite3_reset(st);
	return rc;
}

int chatapp_presence_each(chatdb_t *db, chatapp_presence_cb cb, void *ctx, chat_error_t *err)
{
	sqlite3_stmt *st;
	int row, rc = chatdb__stmt(db, SQL_PRESENCE_ALL, &st, err);

	if (rc != CHAT_OK)
		return rc;
	while ((rc = chatdb__step_row(db, st, &row, "presence", err)) == CHAT_OK && row) {
		const unsigned char *room = sqlite3_column_text(st, 0);
		const unsigned char *user = sqlite3_column_text(st, 1);

		rc = cb(ctx, room ? (const char *)room : "", user ? (const char *)user : "");
		if (rc != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}
