/* dm.c - direct messages in chat.db (see dm.h). */
#include "config.h"
#include "dm.h"

#include "auth.h"
#include "json.h"
#include "names.h"
#include "sockjs.h"
#include "log.h"
#include "store.h"

#include <ctype.h>
#include <stdio.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(DM_STORE_PREFIX) - 1 + 2 * CHATMSG_NAME_MAX + 1 <= STORE_ROOM_NAME_MAX,
	       "a conversation's store room name fits");

/* lo/hi: the two names, the case-insensitively smaller first. */
static const char SQL_ADD[] = "INSERT INTO chat_dm(id, lo, hi, writer, body, time_ms)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_HISTORY[] =
	"SELECT body FROM chat_dm WHERE lo = ?1 AND hi = ?2 ORDER BY id DESC LIMIT ?3";
static const char SQL_READ[] =
	"INSERT INTO chat_dm_read(user_name, peer, last_id) VALUES (?1, ?2, ?3)"
	" ON CONFLICT(user_name, peer) DO UPDATE SET last_id = excluded.last_id"
	" WHERE excluded.last_id > last_id";
static const char SQL_LIST[] =
	"SELECT c.other, c.last,"
	" (SELECT count(*) FROM chat_dm d WHERE d.lo = c.lo AND d.hi = c.hi AND d.writer <> ?1"
	"  AND d.id > coalesce((SELECT last_id FROM chat_dm_read r"
	"   WHERE r.user_name = ?1 AND r.peer = c.other), 0))"
	" FROM (SELECT lo, hi, CASE WHEN lo = ?1 THEN hi ELSE lo END AS other, max(id) AS last"
	"  FROM chat_dm WHERE lo = ?1 OR hi = ?1 GROUP BY lo, hi) c"
	" ORDER BY c.last DESC LIMIT ?2";

int dm_render(chat_buf_t *out, int64_t id, int64_t time_ms, const char *writer, const char *display,
	      const char *to, chat_slice_t text)
{
	int rc;

	chat_buf_reset(out);
	if ((rc = chat_buf_printf(out, "{\"type\":\"DM\",\"id\":%lld,\"time\":%lld,\"writer\":",
				  (long long)id, (long long)time_ms)) != CHAT_OK ||
	    (rc = json_encode_string(out, writer, strlen(writer))) != CHAT_OK ||
	    (rc = chat_buf_append(out, ",\"display_name\":", 16)) != CHAT_OK ||
	    (rc = json_encode_string(out, display, strlen(display))) != CHAT_OK ||
	    (rc = chat_buf_append(out, ",\"to\":", 6)) != CHAT_OK ||
	    (rc = json_encode_string(out, to, strlen(to))) != CHAT_OK ||
	    (rc = chat_buf_append(out, ",\"text\":", 8)) != CHAT_OK ||
	    (rc = json_encode_string(out, text.ptr, text.len)) != CHAT_OK)
		return rc;
	return chat_buf_putc(out, '}');
}

static void sides(const char *a, const char *b, const char **lo, const char **hi)
{
	int lt = strcasecmp(a, b) < 0;

	*lo = lt ? a : b;
	*hi = lt ? b : a;
}

int dm__add_in_tx(chatdb_t *db, int64_t id, const char *writer, const char *peer, chat_slice_t body,
		  int64_t time_ms, chat_error_t *err)
{
	const char *lo, *hi;
	sqlite3_stmt *st;
	int rc;

	if ((rc = chatdb__stmt(db, SQL_ADD, &st, err)) != CHAT_OK)
		return rc;
	sides(writer, peer, &lo, &hi);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, writer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, body.ptr, (int)body.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, time_ms);
	return chatdb__step_done(db, st, "dm add", err);
}

int dm_history_json(chatdb_t *db, const char *user, const char *peer, size_t cap, chat_buf_t *out,
		    chat_error_t *err)
{
	char *rows[DM_HISTORY_MAX];
	size_t n = 0, total = 2;
	const char *lo, *hi;
	sqlite3_stmt *st;
	int rc, row;

	if ((rc = chatdb__stmt(db, SQL_HISTORY, &st, err)) != CHAT_OK)
		return rc;
	sides(user, peer, &lo, &hi);
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, DM_HISTORY_MAX);
	while ((rc = chatdb__step_row(db, st, &row, "dm history", err)) == CHAT_OK && row) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		if (t == NULL || total + len + 1 > cap)
			break;
		if ((rows[n] = strdup(t)) == NULL) {
			rc = chat_error_set(err, CHAT_ENOMEM, "out of memory");
			break;
		}
		total += len + 1;
		n++;
	}
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, '[');
	for (size_t i = n; i > 0; i--) {
		if (rc == CHAT_OK && i < n)
			rc = chat_buf_putc(out, ',');
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, rows[i - 1], strlen(rows[i - 1]));
		free(rows[i - 1]);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(out, ']');
	return rc;
}

/* Runs sql (a read-mark statement) with (user, peer, id). */
static int read_mark(chatdb_t *db, const char *sql, const char *user, const char *peer, int64_t id,
		     chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = chatdb__stmt(db, sql, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return chatdb__step_done(db, st, "dm read mark", err);
}

int dm__read_in_tx(chatdb_t *db, const char *user, const char *peer, int64_t id, chat_error_t *err)
{
	return read_mark(db, SQL_READ, user, peer, id, err);
}

int dm_list_json(chatdb_t *db, const char *user, size_t cap, chat_buf_t *out, chat_error_t *err)
{
	sqlite3_stmt *st;
	size_t start = out->len;
	int rc, row, n = 0;

	if ((rc = chatdb__stmt(db, SQL_LIST, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, DM_LIST_MAX);
	rc = chat_buf_putc(out, '[');
	while (rc == CHAT_OK && (rc = chatdb__step_row(db, st, &row, "dm list", err)) == CHAT_OK &&
	       row) {
		const char *peer = (const char *)sqlite3_column_text(st, 0);
		size_t mark = out->len;

		if (n > 0)
			rc = chat_buf_putc(out, ',');
		if (rc == CHAT_OK)
			rc = chat_buf_append(out, "{\"peer\":", 8);
		if (rc == CHAT_OK)
			rc = json_encode_string(out, peer, strlen(peer));
		if (rc == CHAT_OK)
			rc = chat_buf_printf(out, ",\"last_id\":%lld,\"unread\":%lld}",
					     (long long)sqlite3_column_int64(st, 1),
					     (long long)sqlite3_column_int64(st, 2));
		if (rc == CHAT_OK && out->len - start + 1 > cap) {
			chat_buf_truncate(out, mark); /* the rest does not fit */
			break;
		}
		n++;
	}
	sqlite3_reset(st);
	return rc == CHAT_OK ? chat_buf_putc(out, ']') : rc;
}

static const char SQL_UNSTORED[] = "SELECT id, lo, hi, writer, body, time_ms FROM chat_dm"
				   " WHERE stored = 0 ORDER BY id LIMIT ?1";
static const char SQL_STORED[] = "UPDATE chat_dm SET stored = 1 WHERE id = ?1";

/* One unstored message, copied out of SQLite's memory. */
typedef struct unstored {
	int64_t id, time_ms;
	char room[sizeof(DM_STORE_PREFIX) + 2 * (CHATMSG_NAME_MAX + 1)];
	char writer[CHATMSG_NAME_MAX + 1];
	char *body;
} unstored_t;

static void store_room_name(char *out, size_t size, const char *lo, const char *hi)
{
	size_t n;

	snprintf(out, size, "%s%s:%s", DM_STORE_PREFIX, lo, hi);
	for (n = 0; out[n] != '\0'; n++)
		out[n] = (char)tolower((unsigned char)out[n]);
}

/* The store room id of conversation name, created when missing. */
static int store_room(store_t *s, const char *name, int64_t now_ms, int64_t *id, chat_error_t *err)
{
	store_room_t r;
	int rc = store_room_get_by_name(s, name, &r, err);

	if (rc == CHAT_ENOTFOUND) {
		rc = store_room_add(s, store_new_id(), name, 0, now_ms, err);
		if (rc == CHAT_OK || rc == CHAT_EEXIST) /* EEXIST: made meanwhile */
			rc = store_room_get_by_name(s, name, &r, err);
	}
	if (rc == CHAT_OK)
		*id = r.id;
	return rc;
}

/* Copies u into the store. */
static int copy_one(store_t *s, const unstored_t *u, chat_error_t *err)
{
	chat_buf_t text;
	json_field_t f = { "text", &text, 1, 0, 0, 0 };
	store_msg_t m = { 0 };
	chat_error_t e = { 0 };
	int rc;

	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	rc = json_parse_object(u->body, strlen(u->body), &chatmsg_object_limits, &f, 1, NULL);
	if (rc != CHAT_OK) {
		chat_buf_free(&text);
		return CHAT_OK; /* cannot happen: the broker rendered it; skipped */
	}
	rc = store_room(s, u->room, u->time_ms, &m.room_id, err);
	m.id = m.room_seq = u->id;
	m.time_ms = u->time_ms;
	m.writer = u->writer;
	m.text = text.data;
	m.text_len = text.len;
	if (rc == CHAT_OK)
		rc = store_msg_add(s, &m, NULL, &e);
	if (rc == CHAT_EEXIST || rc == CHAT_EINVAL || rc == CHAT_ETOOBIG || rc == CHAT_EUTF8) {
		/* As the room relay: loud, and passed so the rest goes on. */
		log_error("relay: direct message %lld is NOT in the store: %s", (long long)u->id,
			  chat_error_reason(&e, rc));
		rc = CHAT_OK;
	} else if (rc != CHAT_OK && err != NULL && e.message[0] != '\0') {
		*err = e;
	}
	chat_buf_free(&text);
	return rc;
}

int dm_relay(chatdb_t *db, store_t *s, chat_error_t *err)
{
	unstored_t v[DM_RELAY_BATCH];
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc, row;

	if ((rc = chatdb__stmt(db, SQL_UNSTORED, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_int(st, 1, DM_RELAY_BATCH);
	while (n < DM_RELAY_BATCH &&
	       (rc = chatdb__step_row(db, st, &row, "dm relay", err)) == CHAT_OK && row) {
		unstored_t *u = &v[n];
		const char *body = (const char *)sqlite3_column_text(st, 4);

		u->id = sqlite3_column_int64(st, 0);
		store_room_name(u->room, sizeof(u->room), (const char *)sqlite3_column_text(st, 1),
				(const char *)sqlite3_column_text(st, 2));
		snprintf(u->writer, sizeof(u->writer), "%s",
			 (const char *)sqlite3_column_text(st, 3));
		u->time_ms = sqlite3_column_int64(st, 5);
		if ((u->body = strdup(body != NULL ? body : "")) == NULL) {
			rc = chat_error_set(err, CHAT_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	sqlite3_reset(st);
	for (i = 0; i < n && rc == CHAT_OK; i++) {
		rc = copy_one(s, &v[i], err);
		if (rc == CHAT_OK && (rc = chatdb__stmt(db, SQL_STORED, &st, err)) == CHAT_OK) {
			sqlite3_bind_int64(st, 1, v[i].id);
			rc = chatdb__step_done(db, st, "dm stored", err);
		}
	}
	for (i = 0; i < n; i++)
		free(v[i].body);
	return rc;
}

static const char SQL_SEED_MSG[] =
	"INSERT OR IGNORE INTO chat_dm(id, lo, hi, writer, body, time_ms, stored)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)";
static const char SQL_SEED_READ[] =
	"INSERT OR IGNORE INTO chat_dm_read(user_name, peer, last_id) VALUES (?1, ?2, ?3)";

int dm_seed_read(store_t *s, const store_room_t *r, dm_seed_t **v, size_t *n, size_t *cap,
		 int *is_dm, chat_error_t *err)
{
	size_t np = strlen(DM_STORE_PREFIX);
	const char *lo = r->name + np, *colon;
	dm_seed_t *x;

	*is_dm = strncmp(r->name, DM_STORE_PREFIX, np) == 0;
	if (!*is_dm || *n >= DM_SEED_MAX || (colon = strchr(lo, ':')) == NULL ||
	    !chatmsg_name_valid((chat_slice_t){ lo, (size_t)(colon - lo) }) ||
	    !chatmsg_name_valid((chat_slice_t){ colon + 1, strlen(colon + 1) }))
		return CHAT_OK;
	if (*n == *cap) {
		size_t c = *cap > 0 ? *cap * 2 : 8;
		dm_seed_t *w = realloc(*v, c * sizeof(*w));

		if (w == NULL)
			return chat_error_set(err, CHAT_ENOMEM, "out of memory");
		*v = w;
		*cap = c;
	}
	x = &(*v)[*n];
	memset(x, 0, sizeof(*x));
	snprintf(x->lo, sizeof(x->lo), "%.*s", (int)(colon - lo), lo);
	snprintf(x->hi, sizeof(x->hi), "%s", colon + 1);
	(*n)++;
	return store_msg_latest(s, r->id, DM_HISTORY_MAX, &x->msgs, err);
}

int dm__seed_in_tx(chatdb_t *db, const dm_seed_t *v, size_t n, chat_error_t *err)
{
	char display[NAMES_NFC_MAX + 1];
	chat_buf_t body;
	sqlite3_stmt *st;
	int rc = CHAT_OK;

	chat_buf_init(&body, sockjs_json_bound(CHATMSG_TEXT_MAX));
	for (size_t i = 0; i < n && rc == CHAT_OK; i++) {
		const dm_seed_t *x = &v[i];
		int64_t last = 0;

		for (size_t j = 0; j < x->msgs.count && rc == CHAT_OK; j++) {
			const store_msg_t *m = &x->msgs.items[j];
			const char *to = strcasecmp(m->writer, x->lo) == 0 ? x->hi : x->lo;

			rc = auth_display_get(db, m->writer, display, err);
			if (rc == CHAT_OK)
				rc = dm_render(&body, m->id, m->time_ms, m->writer, display, to,
					       (chat_slice_t){ m->text, m->text_len });
			if (rc == CHAT_OK)
				rc = chatdb__stmt(db, SQL_SEED_MSG, &st, err);
			if (rc != CHAT_OK)
				break;
			sqlite3_bind_int64(st, 1, m->id);
			sqlite3_bind_text(st, 2, x->lo, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, x->hi, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, m->writer, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, body.data, (int)body.len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, m->time_ms);
			rc = chatdb__step_done(db, st, "dm seed", err);
			last = m->id > last ? m->id : last;
		}
		/* What was there before this chat.db counts as read. */
		if (rc == CHAT_OK && last > 0 &&
		    (rc = read_mark(db, SQL_SEED_READ, x->lo, x->hi, last, err)) == CHAT_OK)
			rc = read_mark(db, SQL_SEED_READ, x->hi, x->lo, last, err);
	}
	chat_buf_free(&body);
	return rc;
}

void dm_seed_free(dm_seed_t *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		store_msg_list_free(&v[i].msgs);
	free(v);
}
