/*
 * outbox.c - the cross-process queue: appending (the commit point), reading
 * after a cursor, pruning, and the cursors of non-session consumers.
 */
#include "config.h"
#include "outbox.h"

#include <sqlite3.h>

static const char SQL_INSERT[] =
	"INSERT INTO outbox(destination, target_session, headers, body, created_ms)"
	" VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_READ[] =
	"SELECT seq, created_ms, destination, target_session, headers, body FROM outbox"
	" WHERE seq > ?1 ORDER BY seq LIMIT ?2";
static const char SQL_LAST[] = "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'";
/* min() ignores NULLs; the last seq makes "no readers" mean "all rows". */
/* Consumers (the relay) hold rows back even past the retention window:
 * they are what the durable store has not received yet. */
static const char SQL_PRUNE[] =
	"DELETE FROM outbox WHERE (created_ms < ?1 AND seq <= (SELECT coalesce(min(cursor), seq)"
	" FROM outbox_consumers)) OR seq <= (SELECT min(c) FROM ("
	" SELECT cursor AS c FROM sessions WHERE state <> 'closed'"
	" UNION ALL SELECT cursor FROM outbox_consumers"
	" UNION ALL SELECT seq FROM sqlite_sequence WHERE name = 'outbox'))";
static const char SQL_CONSUMER_ADVANCE[] =
	"INSERT INTO outbox_consumers(name, cursor) VALUES (?1, ?2)"
	" ON CONFLICT(name) DO UPDATE SET cursor = max(cursor, excluded.cursor)";
static const char SQL_CONSUMER_REGISTER[] =
	"INSERT OR IGNORE INTO outbox_consumers(name, cursor) VALUES (?1, ?2)";
static const char SQL_CONSUMER_GET[] = "SELECT cursor FROM outbox_consumers WHERE name = ?1";
static const char SQL_CONSUMER_DELETE[] = "DELETE FROM outbox_consumers WHERE name = ?1";

static int check_msg(const outbox_msg_t *m, chat_error_t *err)
{
	int rc;

	if (m == NULL)
		return chat_error_set(err, CHAT_EINVAL, "no message");
	rc = chatdb__check_str(m->destination, CHATDB_DEST_MAX, "destination", err);
	if (rc != CHAT_OK)
		return rc;
	if (m->target_session != NULL) {
		rc = chatdb__check_str(m->target_session, CHATDB_ID_MAX, "target session", err);
		if (rc != CHAT_OK)
			return rc;
	}
	if ((m->headers.ptr == NULL && m->headers.len != 0) ||
	    (m->body.ptr == NULL && m->body.len != 0))
		return chat_error_set(err, CHAT_EINVAL, "NULL headers or body with a length");
	if (m->headers.len > OUTBOX_HEADERS_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "headers are longer than %d bytes",
				      OUTBOX_HEADERS_MAX);
	if (m->body.len > OUTBOX_BODY_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "body is longer than %d bytes",
				      OUTBOX_BODY_MAX);
	return CHAT_OK;
}

/* Runs the cached INSERT for m; *seq gets its seq. */
static int insert(chatdb_t *db, const outbox_msg_t *m, int64_t *seq, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = chatdb__stmt(db, SQL_INSERT, &st, err);
	if (rc != CHAT_OK)
		return rc;
	/* A NULL pointer would bind SQL NULL: empty blobs get "" instead. */
	sqlite3_bind_text(st, 1, m->destination, -1, SQLITE_STATIC);
	if (m->target_session != NULL)
		sqlite3_bind_text(st, 2, m->target_session, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, m->headers.len ? m->headers.ptr : "", (int)m->headers.len,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, m->body.len ? m->body.ptr : "", (int)m->body.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, m->created_ms);
	rc = chatdb__step_done(db, st, "outbox append", err);
	if (rc == CHAT_OK) {
		*seq = sqlite3_last_insert_rowid(chatdb_sqlite(db));
		if (m->target_session == NULL)
			chatdb__count_published(db);
	}
	return rc;
}

static void ring(chatdb_t *db, int64_t seq)
{
	doorbell_t *bell = chatdb_doorbell(db);

	if (bell != NULL)
		doorbell_ring(bell, (uint64_t)seq);
}

int outbox_append(chatdb_t *db, const outbox_msg_t *m, int64_t *seq_out, chat_error_t *err)
{
	int64_t seq = 0;
	int rc;

	rc = check_msg(m, err);
	if (rc != CHAT_OK)
		return rc;
	/* One INSERT in autocommit mode is one transaction: when it returns
	 * SQLITE_DONE the row is committed. */
	rc = insert(db, m, &seq, err);
	if (rc != CHAT_OK)
		return rc;
	ring(db, seq);
	if (seq_out != NULL)
		*seq_out = seq;
	return CHAT_OK;
}

int outbox_append_batch(chatdb_t *db, const outbox_msg_t *m, size_t n, int64_t *first_seq_out,
			chat_error_t *err)
{
	int64_t first = 0, seq = 0;
	size_t i;
	int rc;

	if (n == 0 || m == NULL)
		return chat_error_set(err, CHAT_EINVAL, "empty batch");
	if (n > OUTBOX_BATCH_MAX)
		return chat_error_set(err, CHAT_ETOOMANY, "batch of %zu is more than %d", n,
				      OUTBOX_BATCH_MAX);
	for (i = 0; i < n; i++) {
		rc = check_msg(&m[i], err);
		if (rc != CHAT_OK)
			return rc;
	}
	rc = chatdb__begin(db, err);
	if (rc != CHAT_OK)
		goto out;
	for (i = 0; i < n; i++) {
		rc = insert(db, &m[i], &seq, err);
		if (rc != CHAT_OK)
			goto out;
		if (i == 0)
			first = seq;
	}
	rc = chatdb__commit(db, err);
out:
	if (rc != CHAT_OK) {
		chatdb__rollback(db);
		return rc;
	}
	ring(db, seq);
	if (first_seq_out != NULL)
		*first_seq_out = first;
	return CHAT_OK;
}

static chat_slice_t column_slice(sqlite3_stmt *st, int col, int text)
{
	chat_slice_t s;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return (chat_slice_t){ NULL, 0 };
	s.ptr = text ? (const char *)sqlite3_column_text(st, col)
		     : (const char *)sqlite3_column_blob(st, col);
	s.len = (size_t)sqlite3_column_bytes(st, col);
	if (s.ptr == NULL)
		s.ptr = "";
	return s;
}

int outbox_read_after(chatdb_t *db, int64_t after_seq, int limit, outbox_row_cb cb, void *ctx,
		      int64_t *last_seq_out, chat_error_t *err)
{
	sqlite3_stmt *st = NULL;
	outbox_row_t row;
	int64_t last = after_seq;
	int rc, more;

	if (limit < 1 || cb == NULL) {
		rc = chat_error_set(err, CHAT_EINVAL, "read limit < 1 or no callback");
		goto out;
	}
	if (limit > OUTBOX_READ_MAX)
		limit = OUTBOX_READ_MAX;
	rc = chatdb__stmt(db, SQL_READ, &st, err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_int64(st, 1, after_seq);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = chatdb__step_row(db, st, &more, "outbox read", err)) == CHAT_OK && more) {
		row.seq = sqlite3_column_int64(st, 0);
		row.created_ms = sqlite3_column_int64(st, 1);
		row.destination = column_slice(st, 2, 1);
		row.target_session = column_slice(st, 3, 1);
		row.headers = column_slice(st, 4, 0);
		row.body = column_slice(st, 5, 0);
		rc = cb(ctx, &row);
		if (rc != CHAT_OK)
			break;
		last = row.seq;
	}
	if (rc == CHAT_STOP)
		rc = CHAT_OK;
out:
	if (st != NULL)
		sqlite3_reset(st);
	if (last_seq_out != NULL)
		*last_seq_out = last;
	return rc;
}

int outbox_last_seq(chatdb_t *db, int64_t *seq_out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row;

	*seq_out = 0;
	rc = chatdb__stmt(db, SQL_LAST, &st, err);
	if (rc != CHAT_OK)
		return rc;
	rc = chatdb__step_row(db, st, &row, "outbox last seq", err);
	if (rc == CHAT_OK && row)
		*seq_out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int outbox_prune(chatdb_t *db, int64_t now_ms, int64_t retention_ms, int64_t *pruned_out,
		 chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t pruned;
	int rc;

	if (pruned_out != NULL)
		*pruned_out = 0;
	if (retention_ms < 0 || now_ms < 0)
		return chat_error_set(err, CHAT_EINVAL, "negative time or retention");
	rc = chatdb__stmt(db, SQL_PRUNE, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms - retention_ms);
	rc = chatdb__step_changes(db, st, &pruned, "outbox prune", err);
	if (pruned_out != NULL)
		*pruned_out = pruned;
	return rc;
}

/* The cached statement sql with consumer name (checked) bound to ?1. */
static int consumer_stmt(chatdb_t *db, const char *sql, const char *name, sqlite3_stmt **st,
			 chat_error_t *err)
{
	int rc = chatdb__check_str(name, CHATDB_ID_MAX, "consumer name", err);

	if (rc == CHAT_OK && (rc = chatdb__stmt(db, sql, st, err)) == CHAT_OK)
		sqlite3_bind_text(*st, 1, name, -1, SQLITE_STATIC);
	return rc;
}

int outbox_consumer_advance(chatdb_t *db, const char *name, int64_t seq, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if (seq < 0)
		return chat_error_set(err, CHAT_EINVAL, "negative seq");
	if ((rc = consumer_stmt(db, SQL_CONSUMER_ADVANCE, name, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 2, seq);
	return chatdb__step_done(db, st, "consumer advance", err);
}

int outbox_consumer_register(chatdb_t *db, const char *name, int64_t seq, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = consumer_stmt(db, SQL_CONSUMER_REGISTER, name, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 2, seq);
	return chatdb__step_done(db, st, "consumer register", err);
}

int outbox_consumer_get(chatdb_t *db, const char *name, int64_t *seq_out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row;

	*seq_out = 0;
	if ((rc = consumer_stmt(db, SQL_CONSUMER_GET, name, &st, err)) != CHAT_OK)
		return rc;
	rc = chatdb__step_row(db, st, &row, "consumer get", err);
	if (rc == CHAT_OK && row)
		*seq_out = sqlite3_column_int64(st, 0);
	else if (rc == CHAT_OK)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no consumer %s", name);
	sqlite3_reset(st);
	return rc;
}

int outbox_consumer_delete(chatdb_t *db, const char *name, chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t deleted;
	int rc;

	if ((rc = consumer_stmt(db, SQL_CONSUMER_DELETE, name, &st, err)) != CHAT_OK)
		return rc;
	rc = chatdb__step_changes(db, st, &deleted, "consumer delete", err);
	if (rc == CHAT_OK && deleted == 0)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no consumer %s", name);
	return rc;
}
