/* counters.c - named counters in chat.db (see counters.h). */
#include "config.h"
#include "counters.h"

#include <sqlite3.h>

static const char SQL_GET[] = "SELECT value FROM stomp_counters WHERE name = ?1";
static const char SQL_RAISE[] =
	"INSERT INTO stomp_counters(name, value) VALUES (?1, ?2)"
	" ON CONFLICT(name) DO UPDATE SET value = excluded.value WHERE value < excluded.value";
static const char SQL_INIT[] = "INSERT OR IGNORE INTO stomp_counters(name, value) VALUES (?1, ?2)";
static const char SQL_NEXT[] = "INSERT INTO stomp_counters(name, value) VALUES (?1, 1)"
			       " ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value";

/* Runs sql with ?1 = name (and ?2 = value when it has one); *value and
 * *found (either may be NULL) get the row it returns, if any. */
static int run(chatdb_t *db, const char *sql, const char *name, int64_t *value, int *found,
	       chat_error_t *err)
{
	sqlite3_stmt *st;
	int row, rc = chatdb__stmt(db, sql, &st, err);

	if (found != NULL)
		*found = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, *value);
	if ((rc = chatdb__step_row(db, st, &row, name, err)) == CHAT_OK && row) {
		*value = sqlite3_column_int64(st, 0);
		if (found != NULL)
			*found = 1;
	}
	sqlite3_reset(st);
	return rc;
}

int counters_get(chatdb_t *db, const char *name, int64_t *value, int *found, chat_error_t *err)
{
	*value = 0;
	return run(db, SQL_GET, name, value, found, err);
}

int counters_raise(chatdb_t *db, const char *name, int64_t value, chat_error_t *err)
{
	return run(db, SQL_RAISE, name, &value, NULL, err);
}

int counters_init(chatdb_t *db, const char *name, int64_t value, chat_error_t *err)
{
	return run(db, SQL_INIT, name, &value, NULL, err);
}

int counters_next(chatdb_t *db, const char *name, int64_t *value, chat_error_t *err)
{
	*value = 0;
	return run(db, SQL_NEXT, name, value, NULL, err);
}
