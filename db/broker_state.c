/*
 * broker_state.c - a STOMP session's broker state in chat.db:
 * stomp_sessions, stomp_partial and stomp_tokens (see broker_state.h).
 */
#include "config.h"
#include "broker_state.h"

#include <sqlite3.h>
#include <stdio.h>

static const char SQL_STATE_GET[] =
	"SELECT version, hb_client_recv_ms FROM stomp_sessions WHERE session_id = ?1";

static const char SQL_STATE_PUT[] =
	"INSERT INTO stomp_sessions(session_id, version, hb_client_send_ms, hb_client_recv_ms,"
	" hb_expect_ms, connected_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* The version (NULL before CONNECT) and the incomplete frame the
 * session's previous message ended with (NULL when there is none). */
static const char SQL_RECEIVE_GET[] =
	"SELECT (SELECT version FROM stomp_sessions WHERE session_id = ?1),"
	" (SELECT bytes FROM stomp_partial WHERE session_id = ?1)";

static const char SQL_PARTIAL_CLEAR[] = "DELETE FROM stomp_partial WHERE session_id = ?1";

static const char SQL_PARTIAL_PUT[] =
	"INSERT INTO stomp_partial(session_id, bytes) VALUES (?1, ?2)"
	" ON CONFLICT(session_id) DO UPDATE SET bytes = excluded.bytes";

static const char SQL_TOKEN_PUT[] =
	"INSERT OR REPLACE INTO stomp_tokens(session_id, token_hash, expires_ms) VALUES (?1, ?2, ?3)";

/* A session's token: 1 expired, 2 revoked, 0 valid (no row: no token). */
static const char SQL_TOKEN_STATE[] =
	"SELECT CASE WHEN t.expires_ms <= ?2 THEN 1"
	" WHEN NOT EXISTS (SELECT 1 FROM auth_tokens a WHERE a.hash = t.token_hash) THEN 2"
	" ELSE 0 END FROM stomp_tokens t WHERE t.session_id = ?1";

static const char SQL_TOKEN_DEAD[] =
	"SELECT t.session_id, t.expires_ms <= ?1 FROM stomp_tokens t"
	" JOIN sessions s ON s.id = t.session_id AND s.state = 'open'"
	" WHERE t.expires_ms <= ?1"
	" OR NOT EXISTS (SELECT 1 FROM auth_tokens a WHERE a.hash = t.token_hash) LIMIT 64";

/* Open sessions whose client promised heart-beats and has shown no sign
 * of life (heard_ms) for twice the agreed interval (the STOMP spec's
 * leeway for network delay) or ?2 (stomp_liveness_ms), whichever is
 * longer: heartbeat_peer_dead() (core/heartbeat.h) in SQL. */
static const char SQL_SILENT[] =
	"SELECT s.session_id, max(s.heard_ms, s.connected_ms) FROM stomp_sessions s"
	" JOIN sessions x ON x.id = s.session_id"
	" WHERE x.state = 'open' AND s.hb_expect_ms > 0"
	" AND max(s.heard_ms, s.connected_ms) + max(2 * s.hb_expect_ms, ?2) < ?1 LIMIT 64";

static const char SQL_HEARD_PREFIX[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE heard_ms < ?2 - 1000 AND session_id IN"
	" (SELECT id FROM sessions WHERE substr(lease_owner, 1, length(?1)) = ?1"
	" AND state <> 'closed')";

/* Signs of life the shells see outside STOMP frames, at most once a
 * second per session: a SockJS request arriving, the requests a process
 * holds (once per heartbeat for all of them), a WebSocket pong. */
static const char SQL_HEARD_SOON[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE session_id = ?1 AND heard_ms < ?2 - 1000";

static const char SQL_HEARD[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE session_id = ?1 AND heard_ms < ?2";

int broker_state__get(chatdb_t *db, const char *key, broker_state_t *out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_STATE_GET, &st, err), row = 0;

	*out = (broker_state_t){ 0, STOMP_V1_2, 0 };
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "stomp state", err);
	if (rc == CHAT_OK && row) {
		out->connected = 1;
		out->version = (stomp_version_t)sqlite3_column_int(st, 0);
		out->hb_client_recv_ms = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc;
}

int broker_state__put(chatdb_t *db, const char *key, stomp_version_t v, int64_t cx, int64_t cy,
		      int64_t expect_ms, int64_t now_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_STATE_PUT, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)v);
	sqlite3_bind_int64(st, 3, cx);
	sqlite3_bind_int64(st, 4, cy);
	sqlite3_bind_int64(st, 5, expect_ms);
	sqlite3_bind_int64(st, 6, now_ms);
	return chatdb__step_done(db, st, "stomp connect", err);
}

int broker_state__receive(chatdb_t *db, const char *key, chat_slice_t msg, broker_state_t *out,
			  chat_buf_t *joined, int *held, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_RECEIVE_GET, &st, err), row = 0;
	size_t n;

	*out = (broker_state_t){ 0, STOMP_V1_2, 0 };
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "stomp state", err);
	/* The statement always yields its one row. */
	if (rc != CHAT_OK || !row)
		goto out;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		out->connected = 1;
		out->version = (stomp_version_t)sqlite3_column_int(st, 0);
	}
	n = (size_t)sqlite3_column_bytes(st, 1);
	if (n == 0)
		goto out;
	chat_buf_init(joined, n + msg.len);
	if ((rc = chat_buf_append(joined, sqlite3_column_blob(st, 1), n)) == CHAT_OK)
		rc = chat_buf_append(joined, msg.ptr, msg.len);
	if (rc != CHAT_OK)
		rc = chat_error_set(err, rc, "partial frame: %s", chat_strerror(rc));
	*held = 1;
out:
	sqlite3_reset(st);
	return rc;
}

int broker_state__partial_put(chatdb_t *db, const char *key, chat_slice_t bytes, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PARTIAL_PUT, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, bytes.ptr, (int)bytes.len, SQLITE_STATIC);
	return chatdb__step_done(db, st, "partial frame", err);
}

int broker_state__partial_clear(chatdb_t *db, const char *key, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PARTIAL_CLEAR, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return chatdb__step_done(db, st, "partial frame", err);
}

int broker_state__token_put(chatdb_t *db, const char *key, const void *hash, size_t hash_len,
			    int64_t expires_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_TOKEN_PUT, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, (int)hash_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires_ms);
	return chatdb__step_done(db, st, "stomp token", err);
}

int broker_state__token_state(chatdb_t *db, const char *key, int64_t now_ms, int *dead,
			      chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_TOKEN_STATE, &st, err), row = 0;

	*dead = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = chatdb__step_row(db, st, &row, "stomp token", err);
	if (rc == CHAT_OK && row)
		*dead = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc;
}

static int heard(chatdb_t *db, const char *sql, const char *key, int64_t now_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	return chatdb__step_done(db, st, "stomp heard", err);
}

int broker_state__heard(chatdb_t *db, const char *key, int64_t now_ms, chat_error_t *err)
{
	return heard(db, SQL_HEARD, key, now_ms, err);
}

int broker_state__heard_soon(chatdb_t *db, const char *key, int64_t now_ms, chat_error_t *err)
{
	return heard(db, SQL_HEARD_SOON, key, now_ms, err);
}

int broker_state__heard_prefix(chatdb_t *db, const char *prefix, int64_t now_ms, chat_error_t *err)
{
	return heard(db, SQL_HEARD_PREFIX, prefix, now_ms, err);
}

/* Runs a sweep's query (?1 now, ?2 arg2 when the statement has it) and
 * hands each row (session id, an integer) to cb. */
static int list_rows(chatdb_t *db, const char *sql, int64_t now_ms, int64_t arg2, const char *what,
		     broker_state_row_cb cb, void *ctx, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err), row = 0;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, arg2);
	while ((rc = chatdb__step_row(db, st, &row, what, err)) == CHAT_OK && row)
		if ((rc = cb(ctx, (const char *)sqlite3_column_text(st, 0),
			     sqlite3_column_int64(st, 1))) != CHAT_OK)
			break;
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}

int broker_state__silent(chatdb_t *db, int64_t now_ms, int64_t liveness_ms, broker_state_row_cb cb,
			 void *ctx, chat_error_t *err)
{
	return list_rows(db, SQL_SILENT, now_ms, liveness_ms, "heart-beat sweep", cb, ctx, err);
}

int broker_state__dead_tokens(chatdb_t *db, int64_t now_ms, broker_state_row_cb cb, void *ctx,
			      chat_error_t *err)
{
	return list_rows(db, SQL_TOKEN_DEAD, now_ms, 0, "token sweep", cb, ctx, err);
}
