/*
 * session.c - session rows (state, user, cursor, lease) and subscription
 * rows in var/chat.db.
 */
#include "config.h"
#include "session.h"

#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char SQL_CREATE[] =
	"INSERT INTO sessions(id, created_ms, last_seen_ms, user_name, cursor)"
	" VALUES (?1, ?2, ?2, ?3,"
	" coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0))";
static const char SQL_GET[] =
	"SELECT id, created_ms, last_seen_ms, state, close_code, close_reason, closed_ms,"
	" user_name, cursor, lease_owner, lease_until_ms, peer FROM sessions WHERE id = ?1";
static const char SQL_EXISTS[] = "SELECT state, lease_owner FROM sessions WHERE id = ?1";
static const char SQL_TOUCH[] =
	"UPDATE sessions SET last_seen_ms = max(last_seen_ms, ?2) WHERE id = ?1";
static const char SQL_SET_USER[] = "UPDATE sessions SET user_name = ?2 WHERE id = ?1";
static const char SQL_BIND_PEER[] = "UPDATE sessions SET peer = ?2 WHERE id = ?1 AND peer IS NULL";
static const char SQL_HELD_BY_PEER[] =
	"SELECT count(*) FROM sessions WHERE (?1 IS NULL OR peer = ?1) AND lease_owner IS NOT NULL"
	" AND lease_until_ms > ?2";
static const char SQL_COUNT_STATES[] =
	"SELECT state, count(*) FROM sessions WHERE substr(id, 1, length(?1)) = ?1 GROUP BY state";
static const char SQL_SET_CLOSING[] =
	"UPDATE sessions SET state = 'closing' WHERE id = ?1 AND state = 'open'";
static const char SQL_CLOSE[] =
	"UPDATE sessions SET state = 'closed', close_code = ?2, close_reason = ?3, closed_ms = ?4"
	" WHERE id = ?1 AND state <> 'closed'";
static const char SQL_DELETE[] = "DELETE FROM sessions WHERE id = ?1";
static const char SQL_EXPIRE_CLOSE[] =
	"UPDATE sessions SET state = 'closed', close_code = ?3, close_reason = ?4, closed_ms = ?1"
	" WHERE state <> 'closed' AND last_seen_ms < ?1 - ?2 AND lease_until_ms <= ?1";
static const char SQL_EXPIRE_DELETE[] =
	"DELETE FROM sessions"
	" WHERE state = 'closed' AND closed_ms < ?1 - ?2 AND lease_until_ms <= ?1";
static const char SQL_ACQUIRE[] =
	"UPDATE sessions SET lease_owner = ?2, lease_until_ms = ?3 + ?4, last_seen_ms = ?3"
	" WHERE id = ?1 AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until_ms <= ?3)";
static const char SQL_RENEW[] = "UPDATE sessions SET lease_until_ms = ?3 + ?4, last_seen_ms = ?3"
				" WHERE id = ?1 AND lease_owner = ?2";
static const char SQL_RELEASE[] =
	"UPDATE sessions SET lease_owner = NULL, lease_until_ms = 0,"
	" last_seen_ms = max(last_seen_ms, ?3) WHERE id = ?1 AND lease_owner = ?2";
static const char SQL_RENEW_OWNER[] =
	"UPDATE sessions SET lease_until_ms = ?2 + ?3, last_seen_ms = ?2"
	" WHERE lease_owner = ?1 AND state <> 'closed'";
static const char SQL_RENEW_PREFIX[] =
	"UPDATE sessions SET lease_until_ms = ?2 + ?3, last_seen_ms = ?2"
	" WHERE substr(lease_owner, 1, length(?1)) = ?1 AND state <> 'closed'";
static const char SQL_CLOSED_OWNED[] =
	"SELECT id, close_code, close_reason FROM sessions WHERE lease_owner = ?1"
	" AND state = 'closed'";
static const char SQL_OPEN_ID[] = "SELECT id FROM sessions WHERE state = 'open' AND id = ?1";
static const char SQL_OPEN_USER[] = "SELECT id FROM sessions WHERE state = 'open'"
				    " AND user_name = ?1 COLLATE NOCASE LIMIT ?2";
static const char SQL_ADVANCE[] = "UPDATE sessions SET cursor = max(cursor, ?2) WHERE id = ?1";

static const char *const state_names[] = { "open", "closing", "closed" };
static const char *const ack_names[] = { "auto", "client", "client-individual" };

const char *session_ack_name(session_ack_t ack)
{
	return (unsigned)ack < CHAT_ARRAY_LEN(ack_names) ? ack_names[ack] : "auto";
}

int session_ack_parse(const char *s, session_ack_t *out)
{
	size_t i;

	for (i = 0; s != NULL && i < CHAT_ARRAY_LEN(ack_names); i++) {
		if (strcmp(s, ack_names[i]) == 0) {
			*out = (session_ack_t)i;
			return CHAT_OK;
		}
	}
	return CHAT_EINVAL;
}

session_state_t session__parse_state(const unsigned char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < CHAT_ARRAY_LEN(state_names); i++)
		if (strcmp((const char *)s, state_names[i]) == 0)
			return (session_state_t)i;
	return SESSION_CLOSED;
}

int session__check_id(const char *id, chat_error_t *err)
{
	return chatdb__check_str(id, CHATDB_ID_MAX, "session id", err);
}

static int check_user(const char *user_name, chat_error_t *err)
{
	return user_name == NULL ? CHAT_OK
				 : chatdb__check_str(user_name, SESSION_USER_MAX, "user name", err);
}

/* Copies a text column into a fixed buffer (the bounds were checked on the
 * way in, so truncation only guards against rows written by others). */
static void copy_text(char *dst, size_t n, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, n, "%s", t != NULL ? (const char *)t : "");
}

/* Steps a cached write statement bound by the caller and returns CHAT_OK
 * with *changes set, or a database error. */
int session__run(chatdb_t *db, sqlite3_stmt *st, const char *what, int *changes, chat_error_t *err)
{
	int rc = chatdb__step_done(db, st, what, err);

	/* The count stays that of the last finished statement after a reset. */
	if (rc == CHAT_OK && changes != NULL)
		*changes = sqlite3_changes(chatdb_sqlite(db));
	return rc;
}

/* Why did an UPDATE of session id change nothing?  CHAT_ENOTFOUND if there
 * is no such session; otherwise CHAT_OK with its state and whether a lease
 * owner is set (owner_out, if given, gets a copy of it). */
static int look(chatdb_t *db, const char *id, session_state_t *state, char *owner_out,
		int *has_owner, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row = 0;

	rc = chatdb__stmt(db, SQL_EXISTS, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "session lookup", err);
	if (rc == CHAT_OK && row) {
		if (state != NULL)
			*state = session__parse_state(sqlite3_column_text(st, 0));
		if (has_owner != NULL)
			*has_owner = sqlite3_column_type(st, 1) != SQLITE_NULL;
		if (owner_out != NULL)
			copy_text(owner_out, CHATDB_ID_MAX + 1, st, 1);
	} else if (rc == CHAT_OK) {
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no session %s", LOG_SID(id));
	}
	sqlite3_reset(st);
	return rc;
}

/* Runs an UPDATE/DELETE keyed by id; no change means CHAT_ENOTFOUND. */
static int update_one(chatdb_t *db, sqlite3_stmt *st, const char *id, const char *what,
		      chat_error_t *err)
{
	int changes = 0;
	int rc = session__run(db, st, what, &changes, err);

	if (rc == CHAT_OK && changes == 0)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no session %s", LOG_SID(id));
	return rc;
}

int session_create(chatdb_t *db, const char *id, const char *user_name, int64_t now_ms,
		   chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, dup;

	if ((rc = session__check_id(id, err)) != CHAT_OK ||
	    (rc = check_user(user_name, err)) != CHAT_OK)
		return rc;
	rc = chatdb__stmt(db, SQL_CREATE, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	if (user_name != NULL)
		sqlite3_bind_text(st, 3, user_name, -1, SQLITE_STATIC);
	if ((rc = chatdb__step_insert(db, st, &dup, "session create", err)) == CHAT_OK && dup)
		rc = chat_error_set(err, CHAT_EEXIST, "session %s exists", LOG_SID(id));
	return rc;
}

void session__read_row(struct sqlite3_stmt *st, session_info_t *out)
{
	copy_text(out->id, sizeof(out->id), st, 0);
	out->created_ms = sqlite3_column_int64(st, 1);
	out->last_seen_ms = sqlite3_column_int64(st, 2);
	out->state = session__parse_state(sqlite3_column_text(st, 3));
	out->close_code = sqlite3_column_int(st, 4);
	copy_text(out->close_reason, sizeof(out->close_reason), st, 5);
	out->closed_ms = sqlite3_column_int64(st, 6);
	out->has_user = sqlite3_column_type(st, 7) != SQLITE_NULL;
	copy_text(out->user_name, sizeof(out->user_name), st, 7);
	out->cursor = sqlite3_column_int64(st, 8);
	copy_text(out->lease_owner, sizeof(out->lease_owner), st, 9);
	out->lease_until_ms = sqlite3_column_int64(st, 10);
	copy_text(out->peer, sizeof(out->peer), st, 11);
}

int session_get(chatdb_t *db, const char *id, session_info_t *out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = session__check_id(id, err)) != CHAT_OK)
		return rc;
	rc = chatdb__stmt(db, SQL_GET, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "session get", err);
	if (rc == CHAT_OK && row)
		session__read_row(st, out);
	else if (rc == CHAT_OK)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no session %s", LOG_SID(id));
	sqlite3_reset(st);
	return rc;
}

int session_touch(chatdb_t *db, const char *id, int64_t now_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_TOUCH, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	return update_one(db, st, id, "session touch", err);
}

int session_set_user(chatdb_t *db, const char *id, const char *user_name, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK ||
	    (rc = check_user(user_name, err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_SET_USER, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (user_name != NULL)
		sqlite3_bind_text(st, 2, user_name, -1, SQLITE_STATIC);
	return update_one(db, st, id, "session set user", err);
}

int session_bind_peer(chatdb_t *db, const char *id, const char *peer, session_info_t *out,
		      chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK ||
	    (rc = chatdb__check_str(peer, SESSION_PEER_MAX, "peer address", err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_BIND_PEER, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	rc = session__run(db, st, "session bind peer", NULL, err);
	/* Bound now or by an earlier request: the row says which address. */
	if (rc == CHAT_OK)
		rc = session_get(db, id, out, err);
	return rc;
}

int session_count_held_by_peer(chatdb_t *db, const char *peer, int64_t now_ms, int64_t *count,
			       chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row = 0;

	*count = 0;
	if ((peer != NULL &&
	     (rc = chatdb__check_str(peer, SESSION_PEER_MAX, "peer address", err)) != CHAT_OK) ||
	    (rc = chatdb__stmt(db, SQL_HELD_BY_PEER, &st, err)) != CHAT_OK)
		return rc;
	if (peer != NULL)
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, now_ms);
	/* count() always yields its one row. */
	rc = chatdb__step_row(db, st, &row, "session count held by peer", err);
	if (rc == CHAT_OK && row)
		*count = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int session_count_states(chatdb_t *db, const char *prefix, int64_t count[3], chat_error_t *err)
{
	sqlite3_stmt *st;
	size_t i;
	int rc = chatdb__stmt(db, SQL_COUNT_STATES, &st, err), row;

	for (i = 0; i < 3; i++)
		count[i] = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	while ((rc = chatdb__step_row(db, st, &row, "session count by state", err)) == CHAT_OK &&
	       row) {
		const char *s = (const char *)sqlite3_column_text(st, 0);

		for (i = 0; i < CHAT_ARRAY_LEN(state_names); i++)
			if (s != NULL && strcmp(s, state_names[i]) == 0)
				count[i] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc;
}

int session_set_closing(chatdb_t *db, const char *id, chat_error_t *err)
{
	session_state_t state;
	sqlite3_stmt *st;
	int changes = 0;
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_SET_CLOSING, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = session__run(db, st, "session closing", &changes, err);
	if (rc != CHAT_OK || changes > 0)
		return rc;
	rc = look(db, id, &state, NULL, NULL, err);
	if (rc == CHAT_OK && state == SESSION_CLOSED)
		rc = chat_error_set(err, CHAT_ECLOSED, "session %s is closed", LOG_SID(id));
	return rc;
}

int session_close(chatdb_t *db, const char *id, int code, const char *reason, int64_t now_ms,
		  chat_error_t *err)
{
	sqlite3_stmt *st;
	int changes = 0;
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK)
		return rc;
	if (reason == NULL)
		return chat_error_set(err, CHAT_EINVAL, "close reason is NULL");
	if (strnlen(reason, SESSION_REASON_MAX + 1) > SESSION_REASON_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "close reason is longer than %d bytes",
				      SESSION_REASON_MAX);
	rc = chatdb__stmt(db, SQL_CLOSE, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, code);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms);
	rc = session__run(db, st, "session close", &changes, err);
	if (rc == CHAT_OK && changes == 0)
		rc = look(db, id, NULL, NULL, NULL, err); /* closed already, or missing */
	return rc;
}

int session_delete(chatdb_t *db, const char *id, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_DELETE, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return update_one(db, st, id, "session delete", err);
}

int session_expire(chatdb_t *db, int64_t now_ms, int64_t idle_ms, int64_t linger_ms,
		   int64_t *closed_out, int64_t *deleted_out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int closed = 0, deleted = 0;
	int rc;

	if (idle_ms < 0 || linger_ms < 0)
		return chat_error_set(err, CHAT_EINVAL, "negative timeout");
	rc = chatdb__begin(db, err);
	if (rc != CHAT_OK)
		goto out;
	rc = chatdb__stmt(db, SQL_EXPIRE_CLOSE, &st, err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, idle_ms);
	sqlite3_bind_int(st, 3, SESSION_EXPIRED_CODE);
	sqlite3_bind_text(st, 4, SESSION_EXPIRED_REASON, -1, SQLITE_STATIC);
	rc = session__run(db, st, "session expire", &closed, err);
	if (rc != CHAT_OK)
		goto out;
	rc = chatdb__stmt(db, SQL_EXPIRE_DELETE, &st, err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, linger_ms);
	rc = session__run(db, st, "session expire", &deleted, err);
	if (rc != CHAT_OK)
		goto out;
	rc = chatdb__commit(db, err);
out:
	if (rc != CHAT_OK) {
		chatdb__rollback(db);
		closed = deleted = 0;
	}
	if (closed_out != NULL)
		*closed_out = closed;
	if (deleted_out != NULL)
		*deleted_out = deleted;
	return rc;
}

static int lease_args(const char *id, const char *owner, int64_t lease_ms, chat_error_t *err)
{
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK ||
	    (rc = chatdb__check_str(owner, CHATDB_ID_MAX, "lease owner", err)) != CHAT_OK)
		return rc;
	if (lease_ms < 0)
		return chat_error_set(err, CHAT_EINVAL, "negative lease");
	return CHAT_OK;
}

/* Shared by acquire and renew: both bind (id, owner, now, lease). */
static int lease_update(chatdb_t *db, const char *sql, const char *id, const char *owner,
			int64_t now_ms, int64_t lease_ms, chat_error_t *err)
{
	char holder[CHATDB_ID_MAX + 1];
	sqlite3_stmt *st;
	int changes = 0;
	int rc;

	if ((rc = lease_args(id, owner, lease_ms, err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, sql, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_int64(st, 4, lease_ms);
	rc = session__run(db, st, "session lease", &changes, err);
	if (rc != CHAT_OK || changes > 0)
		return rc;
	rc = look(db, id, NULL, holder, NULL, err);
	if (rc == CHAT_OK)
		rc = chat_error_set(err, CHAT_EBUSY, "session %s is held by %s", LOG_SID(id),
				    holder[0] != '\0' ? holder : "nobody");
	return rc;
}

int session_acquire(chatdb_t *db, const char *id, const char *owner, int64_t now_ms,
		    int64_t lease_ms, chat_error_t *err)
{
	return lease_update(db, SQL_ACQUIRE, id, owner, now_ms, lease_ms, err);
}

int session_renew(chatdb_t *db, const char *id, const char *owner, int64_t now_ms, int64_t lease_ms,
		  chat_error_t *err)
{
	return lease_update(db, SQL_RENEW, id, owner, now_ms, lease_ms, err);
}

int session_release(chatdb_t *db, const char *id, const char *owner, int64_t now_ms,
		    chat_error_t *err)
{
	char holder[CHATDB_ID_MAX + 1];
	sqlite3_stmt *st;
	int changes = 0, has_owner = 0;
	int rc;

	if ((rc = lease_args(id, owner, 0, err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_RELEASE, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	rc = session__run(db, st, "session release", &changes, err);
	if (rc != CHAT_OK || changes > 0)
		return rc;
	rc = look(db, id, NULL, holder, &has_owner, err);
	if (rc == CHAT_OK && has_owner)
		rc = chat_error_set(err, CHAT_EBUSY, "session %s is held by %s", LOG_SID(id),
				    holder);
	return rc;
}

int session_advance_cursor(chatdb_t *db, const char *id, int64_t seq, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = session__check_id(id, err)) != CHAT_OK)
		return rc;
	if (seq < 0)
		return chat_error_set(err, CHAT_EINVAL, "negative seq");
	rc = chatdb__stmt(db, SQL_ADVANCE, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, seq);
	return update_one(db, st, id, "session cursor", err);
}

static int renew_where(chatdb_t *db, const char *sql, const char *owner, int64_t now_ms,
		       int64_t lease_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = session__check_id(owner, err)) != CHAT_OK)
		return rc;
	if ((rc = chatdb__stmt(db, sql, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_int64(st, 3, lease_ms);
	return chatdb__step_done(db, st, "lease renewal", err);
}

int session_renew_owner(chatdb_t *db, const char *owner, int64_t now_ms, int64_t lease_ms,
			chat_error_t *err)
{
	return renew_where(db, SQL_RENEW_OWNER, owner, now_ms, lease_ms, err);
}

int session_renew_prefix(chatdb_t *db, const char *prefix, int64_t now_ms, int64_t lease_ms,
			 chat_error_t *err)
{
	return renew_where(db, SQL_RENEW_PREFIX, prefix, now_ms, lease_ms, err);
}

int session_closed_owned(chatdb_t *db, const char *owner, session_closed_cb cb, void *ctx,
			 chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row = 0;

	if ((rc = session__check_id(owner, err)) != CHAT_OK)
		return rc;
	if ((rc = chatdb__stmt(db, SQL_CLOSED_OWNED, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	while ((rc = chatdb__step_row(db, st, &row, "closed sessions", err)) == CHAT_OK && row) {
		const char *reason = (const char *)sqlite3_column_text(st, 2);

		cb(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
		   reason != NULL ? reason : "");
	}
	sqlite3_reset(st);
	return rc;
}

int session__open_ids(chatdb_t *db, const char *id, const char *user, int64_t max,
		      session_name_cb cb, void *ctx, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, id != NULL ? SQL_OPEN_ID : SQL_OPEN_USER, &st, err), row = 0;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, id != NULL ? id : user, -1, SQLITE_STATIC);
	if (id == NULL)
		sqlite3_bind_int64(st, 2, max);
	while ((rc = chatdb__step_row(db, st, &row, "open sessions", err)) == CHAT_OK && row)
		if ((rc = cb(ctx, (const char *)sqlite3_column_text(st, 0))) != CHAT_OK)
			break;
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}
