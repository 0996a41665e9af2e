/* authlimit.c - failed-login limits in chat.db (see authlimit.h). */
#include "config.h"
#include "authlimit.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char SQL_GET[] =
	"SELECT failures, first_ms, locked_until_ms, strikes FROM auth_limits WHERE key = ?1";
static const char SQL_PUT[] =
	"INSERT OR REPLACE INTO auth_limits(key, failures, first_ms, locked_until_ms, strikes,"
	" expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_DEL[] = "DELETE FROM auth_limits WHERE key = ?1";
static const char SQL_PRUNE[] = "DELETE FROM auth_limits WHERE expires_ms <= ?1";

typedef struct limit_row {
	int64_t failures, first_ms, locked_until_ms, strikes;
} limit_row_t;

void authlimit_conf_from(const chat_options_t *opt, authlimit_conf_t *conf)
{
	conf->account_max = opt->auth_account_failures;
	conf->addr_max = opt->auth_addr_failures;
	conf->window_ms = opt->auth_window_ms;
	conf->lockout_ms = opt->auth_lockout_ms;
	conf->lockout_max_ms = opt->auth_lockout_max_ms;
}

/* "u:" + the account in lower case, or "a:" + the address; 0 when there is
 * none (NULL or empty). */
static int make_key(char kind, const char *s, char key[AUTHLIMIT_KEY_MAX + 3])
{
	size_t i;

	if (s == NULL || *s == '\0')
		return 0;
	key[0] = kind;
	key[1] = ':';
	for (i = 0; s[i] != '\0' && i < AUTHLIMIT_KEY_MAX; i++)
		key[i + 2] = kind == 'u' ? (char)tolower((unsigned char)s[i]) : s[i];
	key[i + 2] = '\0';
	return 1;
}

/* Reads key's row into *row; *found is 0 (and *row zero) when there is
 * none. */
static int row_get(chatdb_t *db, const char *key, limit_row_t *row, int *found, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(row, 0, sizeof(*row));
	*found = 0;
	if ((rc = chatdb__stmt(db, SQL_GET, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, found, "auth limit", err);
	if (rc == CHAT_OK && *found) {
		row->failures = sqlite3_column_int64(st, 0);
		row->first_ms = sqlite3_column_int64(st, 1);
		row->locked_until_ms = sqlite3_column_int64(st, 2);
		row->strikes = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	return rc;
}

static int run_key(chatdb_t *db, const char *sql, const char *key, int64_t arg, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = chatdb__stmt(db, sql, &st, err)) != CHAT_OK)
		return rc;
	if (key != NULL)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, arg);
	return chatdb__step_done(db, st, "auth limit", err);
}

/* How long key is still locked at now_ms (0: not locked). */
static int locked_for(chatdb_t *db, const char *key, int64_t now_ms, int64_t *left,
		      chat_error_t *err)
{
	limit_row_t row;
	int found, rc = row_get(db, key, &row, &found, err);

	*left = 0;
	if (rc != CHAT_OK)
		return rc;
	if (found && row.locked_until_ms > now_ms)
		*left = row.locked_until_ms - now_ms;
	return CHAT_OK;
}

int authlimit_check(chatdb_t *db, const authlimit_conf_t *conf, const char *account,
		    const char *addr, int64_t now_ms, int64_t *retry_ms, chat_error_t *err)
{
	char key[AUTHLIMIT_KEY_MAX + 3];
	int64_t a = 0, b = 0;
	int rc = CHAT_OK;

	(void)conf;
	*retry_ms = 0;
	if (make_key('u', account, key))
		rc = locked_for(db, key, now_ms, &a, err);
	if (rc == CHAT_OK && make_key('a', addr, key))
		rc = locked_for(db, key, now_ms, &b, err);
	if (rc != CHAT_OK)
		return rc;
	*retry_ms = a > b ? a : b;
	if (*retry_ms > 0)
		return chat_error_set(err, CHAT_ETOOMANY, "too many failed logins");
	return CHAT_OK;
}

/* Counts one failure against key (max failures in the window). */
static int fail_key(chatdb_t *db, const authlimit_conf_t *conf, const char *key, int64_t max,
		    int64_t now_ms, chat_error_t *err)
{
	limit_row_t row;
	sqlite3_stmt *st;
	int64_t lock, until;
	int found, rc = row_get(db, key, &row, &found, err);

	if (rc != CHAT_OK)
		return rc;
	if (!found || now_ms - row.first_ms >= conf->window_ms) {
		row.failures = 0;
		row.first_ms = now_ms;
	}
	/* Strikes (lockouts in a row) are forgotten with the row, a window
	 * after the last lockout ended. */
	if (found && row.locked_until_ms > 0 && now_ms - row.locked_until_ms >= conf->window_ms)
		row.strikes = 0;
	row.failures++;
	if (row.failures >= max) {
		lock = conf->lockout_ms;
		for (int64_t i = 0; i < row.strikes && lock < conf->lockout_max_ms; i++)
			lock *= 2;
		if (lock > conf->lockout_max_ms)
			lock = conf->lockout_max_ms;
		row.locked_until_ms = now_ms + lock;
		row.strikes++;
		row.failures = 0;
		row.first_ms = now_ms;
	}
	until = row.first_ms + conf->window_ms;
	if (row.locked_until_ms + conf->window_ms > until)
		until = row.locked_until_ms + conf->window_ms;
	if ((rc = chatdb__stmt(db, SQL_PUT, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row.failures);
	sqlite3_bind_int64(st, 3, row.first_ms);
	sqlite3_bind_int64(st, 4, row.locked_until_ms);
	sqlite3_bind_int64(st, 5, row.strikes);
	sqlite3_bind_int64(st, 6, until);
	return chatdb__step_done(db, st, "auth limit", err);
}

int authlimit_fail(chatdb_t *db, const authlimit_conf_t *conf, const char *account,
		   const char *addr, int64_t now_ms, chat_error_t *err)
{
	char key[AUTHLIMIT_KEY_MAX + 3];
	int rc;

	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		return rc;
	rc = run_key(db, SQL_PRUNE, NULL, now_ms, err);
	if (rc == CHAT_OK && make_key('u', account, key))
		rc = fail_key(db, conf, key, conf->account_max, now_ms, err);
	if (rc == CHAT_OK && make_key('a', addr, key))
		rc = fail_key(db, conf, key, conf->addr_max, now_ms, err);
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	return rc;
}

int authlimit_reset(chatdb_t *db, const char *account, chat_error_t *err)
{
	char key[AUTHLIMIT_KEY_MAX + 3];

	if (!make_key('u', account, key))
		return CHAT_OK;
	return run_key(db, SQL_DEL, key, 0, err);
}
