/*
 * admin.c - chatctl's reads and copies of chat.db and SQLite histories
 * (see admin.h).
 */
#include "config.h"
#include "admin.h"

#include "relay.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* One statement per figure, all read in one transaction.  ?1 is now. */
static const char SQL_STATUS[] =
	"SELECT"
	" (SELECT count(*) FROM sessions WHERE state = 'open'),"
	" (SELECT count(*) FROM sessions WHERE state = 'closing'),"
	" (SELECT count(*) FROM sessions WHERE state = 'closed'),"
	" (SELECT count(*) FROM sessions WHERE state != 'closed' AND lease_until_ms > ?1"
	"   AND lease_owner LIKE 'ws:%'),"
	" (SELECT count(*) FROM sessions WHERE state != 'closed' AND lease_until_ms > ?1"
	"   AND lease_owner NOT LIKE 'ws:%'),"
	" (SELECT count(*) FROM sessions WHERE state != 'closed' AND"
	"   (lease_owner IS NULL OR lease_until_ms <= ?1)),"
	" (SELECT count(DISTINCT lower(user_name)) FROM sessions WHERE state = 'open'"
	"   AND user_name IS NOT NULL),"
	" (SELECT count(*) FROM subscriptions),"
	" (SELECT count(*) FROM outbox),"
	" (SELECT coalesce(max(seq), 0) FROM outbox),"
	" (SELECT count(*) FROM outbox WHERE seq >"
	"   (SELECT coalesce(min(cursor), 1 << 62) FROM sessions WHERE state != 'closed')),"
	" (SELECT coalesce(?1 - min(created_ms), 0) FROM outbox WHERE seq >"
	"   (SELECT coalesce(min(cursor), 1 << 62) FROM sessions WHERE state != 'closed')),"
	" (SELECT count(*) FROM outbox_consumers WHERE name = '" RELAY_CONSUMER "'),"
	" (SELECT coalesce(max(cursor), 0) FROM outbox_consumers WHERE name = '" RELAY_CONSUMER
	"'),"
	" (SELECT count(*) FROM outbox WHERE seq >"
	"   (SELECT coalesce(max(cursor), 0) FROM outbox_consumers WHERE name = '" RELAY_CONSUMER
	"')),"
	" (SELECT coalesce(?1 - min(created_ms), 0) FROM outbox WHERE seq >"
	"   (SELECT coalesce(max(cursor), 0) FROM outbox_consumers WHERE name = '" RELAY_CONSUMER
	"')),"
	" (SELECT coalesce(max(owner), '') FROM chat_leases WHERE name = '" RELAY_LEASE "'"
	"   AND until_ms > ?1),"
	" (SELECT coalesce(max(until_ms), 0) FROM chat_leases WHERE name = '" RELAY_LEASE "'"
	"   AND until_ms > ?1),"
	" (SELECT count(*) FROM chat_rooms WHERE deleted_ms = 0),"
	" (SELECT count(*) FROM auth_bans),"
	" (SELECT count(*) FROM auth_tokens WHERE expires_ms > ?1)";

static const char SQL_SESSIONS[] =
	"SELECT id, created_ms, last_seen_ms, state, close_code, close_reason, closed_ms,"
	" user_name, cursor, lease_owner, lease_until_ms, peer,"
	" (SELECT count(*) FROM subscriptions b WHERE b.session_id = s.id)"
	" FROM sessions s WHERE ?2 IS NULL OR user_name = ?2 COLLATE NOCASE"
	" ORDER BY created_ms DESC, id LIMIT ?3";

static const char SQL_LEASES[] =
	"SELECT owner FROM chat_leases WHERE until_ms > ?1 UNION ALL"
	" SELECT lease_owner FROM sessions WHERE lease_owner IS NOT NULL AND lease_until_ms > ?1"
	" LIMIT 1";

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

int admin_status(chatdb_t *db, int64_t now_ms, admin_status_t *out, chat_error_t *err)
{
	int64_t *fig[] = { &out->sessions_open,
			   &out->sessions_closing,
			   &out->sessions_closed,
			   &out->sessions_websocket,
			   &out->sessions_http,
			   &out->sessions_idle,
			   &out->users_online,
			   &out->subscriptions,
			   &out->outbox_rows,
			   &out->outbox_last_seq,
			   &out->unread_rows,
			   &out->oldest_unread_age_ms,
			   NULL,
			   &out->relay_cursor,
			   &out->relay_lag_rows,
			   &out->relay_lag_ms };
	sqlite3_stmt *st;
	size_t i;
	int rc, row, version = 0;

	memset(out, 0, sizeof(*out));
	if ((rc = chatdb_schema_version(db, &version, err)) != CHAT_OK)
		return rc;
	out->schema_version = version;
	if ((rc = chatdb__stmt(db, SQL_STATUS, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms);
	if ((rc = chatdb__step_row(db, st, &row, "status", err)) != CHAT_OK)
		goto out;
	if (!row) {
		rc = chat_error_set(err, CHAT_EDB, "status: no row");
		goto out;
	}
	for (i = 0; i < CHAT_ARRAY_LEN(fig); i++)
		if (fig[i] != NULL)
			*fig[i] = sqlite3_column_int64(st, (int)i);
	out->has_relay = sqlite3_column_int(st, 12) > 0;
	copy_col(out->relay_owner, sizeof(out->relay_owner), st, 16);
	out->relay_lease_ms = sqlite3_column_int64(st, 17);
	out->rooms = sqlite3_column_int64(st, 18);
	out->bans = sqlite3_column_int64(st, 19);
	out->tokens = sqlite3_column_int64(st, 20);
	rc = CHAT_OK;
out:
	sqlite3_reset(st);
	return rc;
}

static const char *held_by_name(int64_t lease_until_ms, const char *owner, int64_t now_ms)
{
	if (owner[0] == '\0' || lease_until_ms <= now_ms)
		return "idle";
	return strncmp(owner, "ws:", 3) == 0 ? "websocket" : "http";
}

int admin_sessions(chatdb_t *db, const char *user, int64_t now_ms, int64_t limit,
		   admin_session_cb cb, void *ctx, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row;

	if (limit < 1 || limit > 100000)
		return chat_error_set(err, CHAT_EINVAL, "limit must be 1..100000");
	if ((rc = chatdb__stmt(db, SQL_SESSIONS, &st, err)) != CHAT_OK)
		return rc;
	if (user != NULL)
		sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit);
	while ((rc = chatdb__step_row(db, st, &row, "listing sessions", err)) == CHAT_OK && row) {
		admin_session_t a;

		memset(&a, 0, sizeof(a));
		session__read_row(st, &a.info);
		a.subscriptions = sqlite3_column_int64(st, 12);
		a.held_by = a.info.state == SESSION_CLOSED
				    ? "closed"
				    : held_by_name(a.info.lease_until_ms, a.info.lease_owner,
						   now_ms);
		if ((rc = cb(ctx, &a)) != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}

int admin_break_leases(chatdb_t *db, chat_error_t *err)
{
	int rc = sqlite3_exec(chatdb_sqlite(db), "DELETE FROM chat_leases", NULL, NULL, NULL);

	return rc == SQLITE_OK ? CHAT_OK : chatdb__error(db, rc, "breaking leases", err);
}

/* Opens path without creating it; flags as sqlite3_open_v2's. */
static int open_existing(const char *path, int flags, sqlite3 **out, chat_error_t *err)
{
	struct stat sb;
	int rc;

	*out = NULL;
	if (stat(path, &sb) != 0)
		return chat_error_set(err, CHAT_ENOTFOUND, "%s: no such file", path);
	rc = sqlite3_open_v2(path, out, flags, NULL);
	if (rc != SQLITE_OK) {
		rc = chat_error_set(err, CHAT_EDB, "%s: %s", path,
				    *out != NULL ? sqlite3_errmsg(*out) : sqlite3_errstr(rc));
		sqlite3_close(*out);
		*out = NULL;
		return rc;
	}
	sqlite3_busy_timeout(*out, CHATDB_BUSY_TIMEOUT_MS);
	return CHAT_OK;
}

int admin_stack_running(const char *path, int64_t now_ms, int *running,
			char owner[CHATDB_ID_MAX + 1], chat_error_t *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	*running = 0;
	owner[0] = '\0';
	rc = open_existing(path, SQLITE_OPEN_READONLY, &db, err);
	if (rc == CHAT_ENOTFOUND)
		return CHAT_OK;
	if (rc != CHAT_OK)
		return rc;
	rc = sqlite3_prepare_v2(db, SQL_LEASES, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now_ms);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW) {
		*running = 1;
		snprintf(owner, CHATDB_ID_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE
		     ? CHAT_OK
		     : chat_error_set(err, CHAT_EDB, "%s: %s", path, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* Runs PRAGMA sql on db, handing each row but a lone "ok" to cb. */
static int check_pragma(sqlite3 *db, const char *sql, int *problems, admin_problem_cb cb, void *ctx,
			chat_error_t *err)
{
	sqlite3_stmt *st = NULL;
	char line[512];
	int rc, step;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return chat_error_set(err, CHAT_EDB, "%s: %s", sql, sqlite3_errmsg(db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW && *problems < ADMIN_CHECK_MAX) {
		int c, n = sqlite3_column_count(st);
		size_t len = 0;

		line[0] = '\0';
		for (c = 0; c < n && len < sizeof(line) - 1; c++) {
			const unsigned char *t = sqlite3_column_text(st, c);
			int w = snprintf(line + len, sizeof(line) - len, "%s%s", c ? " " : "",
					 t != NULL ? (const char *)t : "NULL");

			len = w < 0                             ? len
			      : len + (size_t)w >= sizeof(line) ? sizeof(line) - 1
								: len + (size_t)w;
		}
		if (strcmp(line, "ok") == 0)
			continue;
		(*problems)++;
		if (cb != NULL)
			cb(ctx, line);
	}
	rc = step == SQLITE_ROW || step == SQLITE_DONE
		     ? CHAT_OK
		     : chat_error_set(err, CHAT_EDB, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

int admin_check_db(const char *path, int *problems, admin_problem_cb cb, void *ctx,
		   chat_error_t *err)
{
	sqlite3 *db = NULL;
	int rc;

	*problems = 0;
	rc = open_existing(path, SQLITE_OPEN_READONLY, &db, err);
	if (rc == CHAT_OK)
		rc = check_pragma(db, "PRAGMA integrity_check", problems, cb, ctx, err);
	if (rc == CHAT_OK)
		rc = check_pragma(db, "PRAGMA foreign_key_check", problems, cb, ctx, err);
	sqlite3_close(db);
	return rc;
}

int admin_copy_db(const char *src, const char *dst, int overwrite, chat_error_t *err)
{
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_backup *bk;
	struct stat sb;
	int rc, problems = 0, tries;

	if (!overwrite && stat(dst, &sb) == 0)
		return chat_error_set(err, CHAT_EEXIST, "%s exists", dst);
	if ((rc = open_existing(src, SQLITE_OPEN_READWRITE, &from, err)) != CHAT_OK)
		return rc;
	rc = sqlite3_open_v2(dst, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		rc = chat_error_set(err, CHAT_EIO, "%s: %s", dst,
				    to != NULL ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_busy_timeout(to, CHATDB_BUSY_TIMEOUT_MS);
	bk = sqlite3_backup_init(to, "main", from, "main");
	if (bk == NULL) {
		rc = chat_error_set(err, CHAT_EDB, "backup of %s: %s", src, sqlite3_errmsg(to));
		goto out;
	}
	/* All pages in one step: one read transaction on src, so the copy is
	 * one snapshot however much is written meanwhile (WAL readers do not
	 * wait for writers).  BUSY/LOCKED: a checkpoint or the destination's
	 * lock; wait as the busy timeout would. */
	for (tries = 0;; tries++) {
		rc = sqlite3_backup_step(bk, -1);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
		    tries * 10 >= CHATDB_BUSY_TIMEOUT_MS)
			break;
		sqlite3_sleep(10);
	}
	sqlite3_backup_finish(bk);
	if (rc != SQLITE_DONE) {
		rc = chat_error_set(err, CHAT_EDB, "backup of %s to %s: %s", src, dst,
				    sqlite3_errstr(rc));
		goto out;
	}
	/* One self-contained file: no -wal to carry along (chatdb_open() and
	 * the store turn WAL on again when they open it). */
	if (sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = chat_error_set(err, CHAT_EDB, "%s: %s", dst, sqlite3_errmsg(to));
		goto out;
	}
	sqlite3_close(to);
	to = NULL;
	rc = admin_check_db(dst, &problems, NULL, NULL, err);
	if (rc == CHAT_OK && problems > 0)
		rc = chat_error_set(err, CHAT_EDB, "the copy %s is not sound (%d problems)", dst,
				    problems);
out:
	sqlite3_close(to);
	sqlite3_close(from);
	return rc;
}
