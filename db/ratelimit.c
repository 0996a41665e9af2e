/* ratelimit.c - token buckets in chat.db (see ratelimit.h). */
#include "config.h"
#include "ratelimit.h"

#include <sqlite3.h>
#include <string.h>

static const char SQL_GET[] = "SELECT tokens, at_ms FROM rate_buckets WHERE key = ?1";
static const char SQL_PUT[] =
	"INSERT INTO rate_buckets(key, tokens, at_ms, full_ms) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens, at_ms = excluded.at_ms,"
	" full_ms = excluded.full_ms";
static const char SQL_PRUNE[] = "DELETE FROM rate_buckets WHERE key IN"
				" (SELECT key FROM rate_buckets WHERE full_ms <= ?1 LIMIT 4)";

int ratelimit_refill_take(int64_t *tokens, int64_t at_ms, int64_t now_ms, int64_t rate,
			  int64_t burst, int64_t *retry_ms)
{
	int64_t cap = burst * RATELIMIT_UNIT, t = *tokens, dt = now_ms - at_ms;

	*retry_ms = 0;
	if (t < 0)
		t = 0;
	/* A clock going back refills nothing; a long pause fills the bucket
	 * without overflowing dt * rate. */
	if (dt > 0 && rate > 0)
		t = dt >= (cap - t) / rate + 1 ? cap : t + dt * rate;
	if (t > cap)
		t = cap;
	*tokens = t;
	if (t >= RATELIMIT_UNIT) {
		*tokens = t - RATELIMIT_UNIT;
		return 1;
	}
	*retry_ms = rate > 0 ? (RATELIMIT_UNIT - t + rate - 1) / rate : RATELIMIT_NEVER_MS;
	if (*retry_ms < 1)
		*retry_ms = 1;
	return 0;
}

static int put(chatdb_t *db, const char *key, int64_t tokens, int64_t now_ms, int64_t full_ms,
	       chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PUT, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, tokens);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_int64(st, 4, full_ms);
	return chatdb__step_done(db, st, "rate limit", err);
}

static int prune(chatdb_t *db, int64_t now_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PRUNE, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms);
	return chatdb__step_done(db, st, "rate limit", err);
}

int ratelimit__take_in_tx(chatdb_t *db, const char *key, int64_t rate, int64_t burst,
			  int64_t now_ms, int64_t *retry_ms, chat_error_t *err)
{
	char k[RATELIMIT_KEY_MAX + 1];
	sqlite3_stmt *st;
	int64_t tokens = burst * RATELIMIT_UNIT, at = now_ms, full;
	int rc, found;
	size_t n = strlen(key);

	*retry_ms = 0;
	if (burst <= 0)
		return CHAT_OK;
	if (n > RATELIMIT_KEY_MAX)
		n = RATELIMIT_KEY_MAX;
	memcpy(k, key, n);
	k[n] = '\0';
	if ((rc = chatdb__stmt(db, SQL_GET, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	rc = chatdb__step_row(db, st, &found, "rate limit", err);
	if (rc == CHAT_OK && found) {
		tokens = sqlite3_column_int64(st, 0);
		at = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	if (!ratelimit_refill_take(&tokens, at, now_ms, rate, burst, retry_ms))
		return chat_error_set(err, CHAT_ETOOMANY, "rate limited");
	if (!found && (rc = prune(db, now_ms, err)) != CHAT_OK)
		return rc;
	full = rate > 0 ? now_ms + (burst * RATELIMIT_UNIT - tokens + rate - 1) / rate
			: INT64_MAX / 4; /* never full: kept */
	return put(db, k, tokens, now_ms, full, err);
}
