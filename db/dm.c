/* dm.c - direct messages in chat.db (see dm.h). */
#include "config.h"
#include "dm.h"

#include "json.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static void sides(const char *a, const char *b, const char **lo, const char **hi)
{
	int lt = strcasecmp(a, b) < 0;

	*lo = lt ? a : b;
	*hi = lt ? b : a;
}

static int done(chatdb_t *db, sqlite3_stmt *st, const char *what, chat_error_t *err)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, what, err);
}

int dm__add_in_tx(chatdb_t *db, int64_t id, const char *writer, const char *peer,
		  chat_slice_t body, int64_t time_ms, chat_error_t *err)
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
	return done(db, st, "dm add", err);
}

int dm_history_json(chatdb_t *db, const char *user, const char *peer, size_t cap, chat_buf_t *out,
		    chat_error_t *err)
{
	char *rows[DM_HISTORY_MAX];
	size_t n = 0, total = 2;
	const char *lo, *hi;
	sqlite3_stmt *st;
	int rc, step;

	if ((rc = chatdb__stmt(db, SQL_HISTORY, &st, err)) != CHAT_OK)
		return rc;
	sides(user, peer, &lo, &hi);
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, DM_HISTORY_MAX);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
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
	if (rc == CHAT_OK && step != SQLITE_ROW && step != SQLITE_DONE)
		rc = chatdb__error(db, step, "dm history", err);
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

int dm__read_in_tx(chatdb_t *db, const char *user, const char *peer, int64_t id,
		   chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = chatdb__stmt(db, SQL_READ, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return done(db, st, "dm read", err);
}

int dm_list_json(chatdb_t *db, const char *user, size_t cap, chat_buf_t *out, chat_error_t *err)
{
	sqlite3_stmt *st;
	size_t start = out->len;
	int rc, step = SQLITE_DONE, n = 0;

	if ((rc = chatdb__stmt(db, SQL_LIST, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, DM_LIST_MAX);
	rc = chat_buf_putc(out, '[');
	while (rc == CHAT_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
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
			out->len = mark; /* the rest does not fit */
			out->data[mark] = '\0';
			break;
		}
		n++;
	}
	if (rc == CHAT_OK && step != SQLITE_ROW && step != SQLITE_DONE)
		rc = chatdb__error(db, step, "dm list", err);
	sqlite3_reset(st);
	return rc == CHAT_OK ? chat_buf_putc(out, ']') : rc;
}
