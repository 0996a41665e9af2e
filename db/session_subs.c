/*
 * session_subs.c - the sessions' STOMP subscriptions (the subscriptions
 * table, see session.h): for the shells, and inside the broker's frame
 * transaction.
 */
#include "config.h"
#include "session.h"

#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char SQL_SUB_CHECK[] =
	"SELECT state, (SELECT count(*) FROM subscriptions WHERE session_id = ?1)"
	" FROM sessions WHERE id = ?1";
static const char SQL_SUB_ADD[] =
	"INSERT INTO subscriptions(session_id, sub_id, destination, ack_mode)"
	" VALUES (?1, ?2, ?3, ?4)";
static const char SQL_SUB_REMOVE[] =
	"DELETE FROM subscriptions WHERE session_id = ?1 AND sub_id = ?2";
static const char SQL_SUB_LIST[] =
	"SELECT session_id, sub_id, destination, ack_mode, from_seq FROM subscriptions"
	" WHERE session_id = ?1 ORDER BY sub_id";
static const char SQL_SUB_LIVE[] =
	"SELECT s.session_id, s.sub_id, s.destination, s.ack_mode, s.from_seq"
	" FROM subscriptions s JOIN sessions x ON x.id = s.session_id"
	" WHERE x.state <> 'closed' AND (?1 IS NULL OR x.lease_owner = ?1)"
	" ORDER BY s.session_id, s.sub_id";
/* session__sub_insert_in_tx(): the bound is checked under the write lock
 * the broker's frame transaction holds. */
static const char SQL_SUB_COUNT[] = "SELECT count(*) FROM subscriptions WHERE session_id = ?1";
static const char SQL_SUB_INSERT[] =
	"INSERT INTO subscriptions(session_id, sub_id, destination, ack_mode, from_seq, prefetch)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_SUB_DEST[] =
	"SELECT destination FROM subscriptions WHERE session_id = ?1 AND sub_id = ?2";
/* The session's subscribed destinations that start with ?2. */
static const char SQL_SUB_TOPICS[] =
	"SELECT DISTINCT destination FROM subscriptions WHERE session_id = ?1"
	" AND substr(destination, 1, length(?2)) = ?2";
static const char SQL_SUBS_CLEAR[] = "DELETE FROM subscriptions WHERE session_id = ?1";
/* The session's first subscription (by id) to destination ?2. */
/* Whether user ?1 is subscribed to ?2 through an open session. */
static const char SQL_USER_SUBSCRIBED[] =
	"SELECT EXISTS (SELECT 1 FROM subscriptions u JOIN sessions s ON s.id = u.session_id"
	" WHERE s.user_name = ?1 AND u.destination = ?2 AND s.state = 'open')";

/* The users of open sessions subscribed to ?1, in name order. */
static const char SQL_DEST_USERS[] =
	"SELECT DISTINCT s.user_name FROM subscriptions u JOIN sessions s ON s.id = u.session_id"
	" WHERE u.destination = ?1 AND s.state = 'open' AND s.user_name IS NOT NULL"
	" ORDER BY 1";

static const char SQL_SUB_BY_DEST[] =
	"SELECT sub_id FROM subscriptions WHERE session_id = ?1 AND destination = ?2"
	" ORDER BY sub_id LIMIT 1";

int session_sub_add(chatdb_t *db, const char *session_id, const char *sub_id,
		    const char *destination, session_ack_t ack_mode, chat_error_t *err)
{
	session_state_t state = SESSION_CLOSED;
	sqlite3_stmt *st;
	int64_t count = 0;
	int rc, row = 0, dup;

	if ((rc = session__check_id(session_id, err)) != CHAT_OK ||
	    (rc = chatdb__check_str(sub_id, CHATDB_ID_MAX, "subscription id", err)) != CHAT_OK ||
	    (rc = chatdb__check_str(destination, CHATDB_DEST_MAX, "destination", err)) != CHAT_OK)
		return rc;
	if ((unsigned)ack_mode > SESSION_ACK_CLIENT_INDIVIDUAL)
		return chat_error_set(err, CHAT_EINVAL, "bad ack mode %d", (int)ack_mode);
	/* Check and insert under the write lock so the count bound holds. */
	rc = chatdb__begin(db, err);
	if (rc != CHAT_OK)
		goto out;
	rc = chatdb__stmt(db, SQL_SUB_CHECK, &st, err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "subscription check", err);
	if (rc == CHAT_OK && row) {
		state = session__parse_state(sqlite3_column_text(st, 0));
		count = sqlite3_column_int64(st, 1);
	} else if (rc == CHAT_OK) {
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no session %s", LOG_SID(session_id));
	}
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		goto out;
	if (state == SESSION_CLOSED) {
		rc = chat_error_set(err, CHAT_ECLOSED, "session %s is closed", LOG_SID(session_id));
		goto out;
	}
	if (count >= SESSION_SUBS_MAX) {
		rc = chat_error_set(err, CHAT_ETOOMANY, "session %s has %d subscriptions",
				    LOG_SID(session_id), SESSION_SUBS_MAX);
		goto out;
	}
	rc = chatdb__stmt(db, SQL_SUB_ADD, &st, err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, destination, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, session_ack_name(ack_mode), -1, SQLITE_STATIC);
	if ((rc = chatdb__step_insert(db, st, &dup, "subscription add", err)) == CHAT_OK && dup)
		rc = chat_error_set(err, CHAT_EEXIST, "subscription %s exists", sub_id);
	if (rc != CHAT_OK)
		goto out;
	rc = chatdb__commit(db, err);
out:
	if (rc != CHAT_OK)
		chatdb__rollback(db);
	return rc;
}

int session_sub_remove(chatdb_t *db, const char *session_id, const char *sub_id, chat_error_t *err)
{
	sqlite3_stmt *st;
	int changes = 0;
	int rc;

	if ((rc = session__check_id(session_id, err)) != CHAT_OK ||
	    (rc = chatdb__check_str(sub_id, CHATDB_ID_MAX, "subscription id", err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_SUB_REMOVE, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_id, -1, SQLITE_STATIC);
	rc = session__run(db, st, "subscription remove", &changes, err);
	if (rc == CHAT_OK && changes == 0)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no subscription %s", sub_id);
	return rc;
}

static int list(chatdb_t *db, sqlite3_stmt *st, session_sub_cb cb, void *ctx, chat_error_t *err)
{
	session_sub_t sub;
	const char *ack;
	int rc, row = 0;

	while ((rc = chatdb__step_row(db, st, &row, "subscription list", err)) == CHAT_OK && row) {
		sub.session_id = (const char *)sqlite3_column_text(st, 0);
		sub.sub_id = (const char *)sqlite3_column_text(st, 1);
		sub.destination = (const char *)sqlite3_column_text(st, 2);
		ack = (const char *)sqlite3_column_text(st, 3);
		if (session_ack_parse(ack, &sub.ack_mode) != CHAT_OK)
			sub.ack_mode = SESSION_ACK_AUTO;
		sub.from_seq = sqlite3_column_int64(st, 4);
		if (sub.session_id == NULL || sub.sub_id == NULL || sub.destination == NULL) {
			rc = chatdb__error(db, SQLITE_NOMEM, "subscription list", err);
			break;
		}
		if ((rc = cb(ctx, &sub)) != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}

int session_sub_list(chatdb_t *db, const char *session_id, session_sub_cb cb, void *ctx,
		     chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = session__check_id(session_id, err)) != CHAT_OK)
		return rc;
	if (cb == NULL)
		return chat_error_set(err, CHAT_EINVAL, "no callback");
	rc = chatdb__stmt(db, SQL_SUB_LIST, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	return list(db, st, cb, ctx, err);
}

int session_sub_list_live(chatdb_t *db, const char *owner, session_sub_cb cb, void *ctx,
			  chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if (owner != NULL) {
		rc = chatdb__check_str(owner, CHATDB_ID_MAX, "owner", err);
		if (rc != CHAT_OK)
			return rc;
	}
	if (cb == NULL)
		return chat_error_set(err, CHAT_EINVAL, "no callback");
	rc = chatdb__stmt(db, SQL_SUB_LIVE, &st, err);
	if (rc != CHAT_OK)
		return rc;
	if (owner != NULL)
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	return list(db, st, cb, ctx, err);
}

/* One statement renewing the leases that sql's ?1 picks. */

int session__sub_insert_in_tx(chatdb_t *db, const char *session_id, const char *sub_id,
			      const char *dest, session_ack_t ack, int64_t from_seq,
			      int64_t prefetch, chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc = chatdb__stmt(db, SQL_SUB_COUNT, &st, err), row = 0, dup;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "subscriptions", err);
	if (rc == CHAT_OK && row)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	if (n >= SESSION_SUBS_MAX)
		return CHAT_ETOOMANY;
	if ((rc = chatdb__stmt(db, SQL_SUB_INSERT, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, dest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, session_ack_name(ack), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, from_seq);
	sqlite3_bind_int64(st, 6, prefetch);
	if ((rc = chatdb__step_insert(db, st, &dup, "subscribe", err)) == CHAT_OK && dup)
		rc = CHAT_EEXIST;
	return rc;
}

int session__sub_dest(chatdb_t *db, const char *session_id, const char *sub_id,
		      char dest[CHATDB_DEST_MAX + 1], chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_SUB_DEST, &st, err), row = 0;

	dest[0] = '\0';
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_id, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "subscription", err);
	if (rc == CHAT_OK && row)
		snprintf(dest, CHATDB_DEST_MAX + 1, "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc;
}

int session__sub_topics(chatdb_t *db, const char *session_id, const char *prefix,
			char out[][CHATDB_DEST_MAX + 1], size_t max, size_t *n, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_SUB_TOPICS, &st, err), row = 0;

	*n = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
	while (*n < max && (rc = chatdb__step_row(db, st, &row, "subscriptions", err)) == CHAT_OK &&
	       row) {
		snprintf(out[*n], CHATDB_DEST_MAX + 1, "%s", sqlite3_column_text(st, 0));
		(*n)++;
	}
	sqlite3_reset(st);
	return rc;
}

int session__subs_clear(chatdb_t *db, const char *session_id, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_SUBS_CLEAR, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	return chatdb__step_done(db, st, "subscriptions", err);
}

int session__sub_by_dest(chatdb_t *db, const char *session_id, const char *dest,
			 char sub_id[CHATDB_ID_MAX + 1], int *found, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_SUB_BY_DEST, &st, err), row = 0;

	*found = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dest, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "errors subscription", err);
	if (rc == CHAT_OK && row) {
		*found = 1;
		snprintf(sub_id, CHATDB_ID_MAX + 1, "%s", sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	return rc;
}

int session__user_subscribed(chatdb_t *db, const char *user, const char *dest, int *yes,
			     chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_USER_SUBSCRIBED, &st, err), row = 0;

	*yes = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, dest, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "presence", err);
	if (rc == CHAT_OK && row)
		*yes = sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return rc;
}

int session__dest_users(chatdb_t *db, const char *dest, session_name_cb cb, void *ctx,
			chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_DEST_USERS, &st, err), row = 0;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC);
	while ((rc = chatdb__step_row(db, st, &row, "presence", err)) == CHAT_OK && row)
		if ((rc = cb(ctx, (const char *)sqlite3_column_text(st, 0))) != CHAT_OK)
			break;
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}
