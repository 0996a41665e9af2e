/*
 * auth_ban.c - the moderation half of auth.h: bans (auth_bans), revoking a
 * user's tokens, display names (user_profiles), the first user who becomes
 * an admin when the admins option is empty (chat_first_user), and an
 * admin's ban or unban in one transaction.
 */
#include "config.h"
#include "auth.h"

#include "chatmsg.h"
#include "chatroom.h"
#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char SQL_TOKEN_DEL_USER[] =
	"DELETE FROM auth_tokens WHERE user_name = ?1 COLLATE NOCASE";
static const char SQL_BAN_PUT[] =
	"INSERT INTO auth_bans(name, reason, created_ms) VALUES (?1, ?2, ?3)"
	" ON CONFLICT(name) DO UPDATE SET reason = excluded.reason";
static const char SQL_BAN_DEL[] = "DELETE FROM auth_bans WHERE name = ?1";
static const char SQL_BAN_GET[] = "SELECT 1 FROM auth_bans WHERE name = ?1";
static const char SQL_BAN_LIST[] = "SELECT name, reason, created_ms FROM auth_bans ORDER BY name";

/* Runs the one-statement write sql (a ban or token change) with name at ?1 (and, when reason is
 * not NULL, reason and now_ms at ?2, ?3); *changes gets the rows changed. */
static int ban_write(chatdb_t *db, const char *sql, const char *name, const char *reason,
		     int64_t now_ms, int64_t *changes, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = chatdb__check_str(name, SESSION_USER_MAX, "user name", err);
	if (rc == CHAT_OK && reason != NULL && strlen(reason) > AUTH_BAN_REASON_MAX)
		rc = chat_error_set(err, CHAT_ETOOBIG, "the reason is longer than %d bytes",
				    AUTH_BAN_REASON_MAX);
	if (rc == CHAT_OK)
		rc = chatdb__stmt(db, sql, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (reason != NULL) {
		sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ms);
	}
	return chatdb__step_changes(db, st, changes, "bans and tokens", err);
}

int auth_ban(chatdb_t *db, const char *name, const char *reason, int64_t now_ms, chat_error_t *err)
{
	int64_t changes;

	return ban_write(db, SQL_BAN_PUT, name, reason != NULL ? reason : "", now_ms, &changes,
			 err);
}

int auth_unban(chatdb_t *db, const char *name, chat_error_t *err)
{
	int64_t changes = 0;
	int rc = ban_write(db, SQL_BAN_DEL, name, NULL, 0, &changes, err);

	if (rc == CHAT_OK && changes == 0)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "%s is not banned", name);
	return rc;
}

int auth_banned(chatdb_t *db, const char *name, int *banned, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	*banned = 0;
	if ((rc = chatdb__stmt(db, SQL_BAN_GET, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, banned, "ban check", err);
	sqlite3_reset(st);
	return rc;
}

static const char SQL_DISPLAY_PUT[] =
	"INSERT INTO user_profiles(user_name, display, updated_ms) VALUES (?1, ?2, ?3)"
	" ON CONFLICT(user_name) DO UPDATE SET display = ?2, updated_ms = ?3";
static const char SQL_DISPLAY_DEL[] = "DELETE FROM user_profiles WHERE user_name = ?1";
static const char SQL_DISPLAY_GET[] = "SELECT display FROM user_profiles WHERE user_name = ?1";

int auth_display_set(chatdb_t *db, const char *user, chat_slice_t display, int64_t now_ms,
		     char out[NAMES_NFC_MAX + 1], chat_error_t *err)
{
	char n[NAMES_NFC_MAX + 1] = "";
	sqlite3_stmt *st;
	int rc;

	if ((rc = chatdb__check_str(user, SESSION_USER_MAX, "user name", err)) != CHAT_OK)
		goto out;
	if (display.len > 0 &&
	    (rc = names_check("display names", display, n, NULL, err)) != CHAT_OK)
		goto out;
	if ((rc = chatdb__stmt(db, display.len > 0 ? SQL_DISPLAY_PUT : SQL_DISPLAY_DEL, &st,
			       err)) != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (display.len > 0) {
		sqlite3_bind_text(st, 2, n, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ms);
	}
	rc = chatdb__step_done(db, st, "display name", err);
out:
	if (out != NULL)
		memcpy(out, rc == CHAT_OK ? n : "", rc == CHAT_OK ? strlen(n) + 1 : 1);
	return rc;
}

int auth_display_get(chatdb_t *db, const char *user, char out[NAMES_NFC_MAX + 1], chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_DISPLAY_GET, &st, err), row;

	out[0] = '\0';
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &row, "display name", err);
	if (rc == CHAT_OK && row)
		snprintf(out, NAMES_NFC_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc;
}

int auth_ban_list(chatdb_t *db, auth_ban_cb cb, void *ctx, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc, row;

	if ((rc = chatdb__stmt(db, SQL_BAN_LIST, &st, err)) != CHAT_OK)
		return rc;
	while ((rc = chatdb__step_row(db, st, &row, "listing bans", err)) == CHAT_OK && row) {
		rc = cb(ctx, (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
		if (rc != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}

static const char SQL_FIRST_GET[] = "SELECT user_name FROM chat_first_user WHERE one = 1";
static const char SQL_FIRST_PUT[] =
	"INSERT OR IGNORE INTO chat_first_user(one, user_name, at_ms) VALUES (1, ?1, ?2)";

int auth_is_admin(chatdb_t *db, const chat_options_t *opt, const char *user)
{
	sqlite3_stmt *st;
	int yes = 0, row;

	if (opt->admins != NULL && opt->admins[0] != '\0')
		return chatroom_is_admin(opt, user);
	if (user[0] == '\0' || chatroom_is_guest(user) ||
	    chatdb__stmt(db, SQL_FIRST_GET, &st, NULL) != CHAT_OK)
		return 0;
	if (chatdb__step_row(db, st, &row, "first user", NULL) == CHAT_OK && row)
		yes = strcasecmp((const char *)sqlite3_column_text(st, 0), user) == 0;
	sqlite3_reset(st);
	return yes;
}

int auth_token_revoke_user(chatdb_t *db, const char *name, int64_t *revoked, chat_error_t *err)
{
	int64_t changes = 0;
	int rc = ban_write(db, SQL_TOKEN_DEL_USER, name, NULL, 0, &changes, err);

	if (revoked != NULL)
		*revoked = rc == CHAT_OK ? changes : 0;
	return rc;
}

int auth_claim_first(chatdb_t *db, const char *user, int64_t now_ms, int *claimed,
		     chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t changed = 0;
	int rc = chatdb__stmt(db, SQL_FIRST_PUT, &st, err);

	if (rc == CHAT_OK) {
		sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now_ms);
		rc = chatdb__step_changes(db, st, &changed, "first user", err);
	}
	if (changed > 0)
		log_info("moderation: %s is the first user, an admin (the admins option is empty)",
			 user);
	if (claimed != NULL)
		*claimed = changed > 0;
	return rc;
}

int auth_moderate_ban(chatdb_t *db, const chat_options_t *opt, const char *user, int banned,
		      const char *by, int64_t now_ms, chat_error_t *err)
{
	char reason[AUTH_BAN_REASON_MAX + 1];
	int rc;

	if (!chatmsg_name_valid((chat_slice_t){ user, strlen(user) }) || chatroom_is_guest(user))
		return chat_error_set(err, CHAT_EINVAL, "only registered users can be banned");
	if (!auth_is_admin(db, opt, by))
		return chat_error_set(err, CHAT_EDENIED, "only an admin can ban or unban");
	if (strcasecmp(user, by) == 0)
		return chat_error_set(err, CHAT_EDENIED, "an admin cannot ban itself");
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		return rc;
	snprintf(reason, sizeof(reason), "by %s", by);
	rc = banned ? auth_ban(db, user, reason, now_ms, err) : auth_unban(db, user, err);
	if (rc == CHAT_OK && banned)
		rc = auth_token_revoke_user(db, user, NULL, err);
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc == CHAT_OK)
		log_info("moderation: %s %s %s", by, banned ? "banned" : "unbanned", user);
	return rc;
}
