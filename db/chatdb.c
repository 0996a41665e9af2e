/*
 * chatdb.c - opening var/chat.db: connection settings, the prepared-statement
 * cache and the step and transaction helpers the outbox_ and session_
 * modules build on (the schema and its migrations are chatdb_schema.c's).
 *
 * Why synchronous=NORMAL keeps the outbox's commit point: in WAL mode a
 * COMMIT has written the transaction's frames into the WAL file (the OS page
 * cache) before it returns; only checkpoints fsync.  From that moment the
 * row is visible to every process and survives the death of any process,
 * including the one that committed - which is the guarantee the design asks
 * for ("survive any one process being killed"; the sender's RECEIPT comes
 * after the commit).  What NORMAL gives up is durability across power loss or
 * a kernel crash: the last commits before it may roll back (the database is
 * never corrupted).  Every connection dies with the machine anyway, but a
 * RECEIPTed message could then be missing; deployments that want that too
 * open with CHATDB_OPEN_SYNC_FULL (an fsync per commit).
 */
#include "config.h"
#include "chatdb_int.h"

#include "clock.h"
#include "metrics.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Statements prepared by all db/ modules together stay well below this. */
#define STMT_CACHE_MAX 128

struct chatdb {
	sqlite3 *sql;     /* the connection (NOMUTEX: one thread at a time) */
	doorbell_t *bell; /* borrowed; rung after outbox commits, or NULL */
	char *path;       /* the path opened (owned) */
	dev_t dev;        /* the opened file's st_dev and st_ino */
	ino_t ino;
	int64_t checked_ms; /* chat_mono_ms() of the last file check */
	int gone;           /* 1 once the path named another file or none */
	char gone_why[160]; /* why, for every later refusal */
	int64_t published;  /* broadcast rows appended in the open transaction */
	size_t nstmt;       /* used entries of stmt[] */
	struct {
		const char *key;    /* the static SQL text's address */
		sqlite3_stmt *stmt; /* prepared with SQLITE_PREPARE_PERSISTENT */
	} stmt[STMT_CACHE_MAX];
};

int chatdb__error(chatdb_t *db, int sqlite_rc, const char *what, chat_error_t *err)
{
	const char *msg = db != NULL && db->sql != NULL ? sqlite3_errmsg(db->sql)
							: sqlite3_errstr(sqlite_rc);
	int code;

	switch (sqlite_rc & 0xff) {
	case SQLITE_NOMEM: code = CHAT_ENOMEM; break;
	case SQLITE_TOOBIG: code = CHAT_ETOOBIG; break;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_PERM:
	case SQLITE_READONLY: code = CHAT_EIO; break;
	default: code = CHAT_EDB; break;
	}
	return chat_error_set(err, code, "%s: %s", what, msg);
}

int chatdb__check_str(const char *s, size_t max, const char *what, chat_error_t *err)
{
	size_t n;

	if (s == NULL || *s == '\0')
		return chat_error_set(err, CHAT_EINVAL, "%s is empty", what);
	n = strnlen(s, max + 1);
	if (n > max)
		return chat_error_set(err, CHAT_ETOOBIG, "%s is longer than %zu bytes", what, max);
	return CHAT_OK;
}

int chatdb__stmt(chatdb_t *db, const char *sql, sqlite3_stmt **out, chat_error_t *err)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < db->nstmt; i++) {
		if (db->stmt[i].key == sql) {
			st = db->stmt[i].stmt;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			*out = st;
			return CHAT_OK;
		}
	}
	if (db->nstmt == STMT_CACHE_MAX)
		return chat_error_set(err, CHAT_ETOOMANY, "statement cache full (%d)",
				      STMT_CACHE_MAX);
	rc = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return chatdb__error(db, rc, "prepare", err);
	db->stmt[db->nstmt].key = sql;
	db->stmt[db->nstmt].stmt = st;
	db->nstmt++;
	*out = st;
	return CHAT_OK;
}

int chatdb__step_changes(chatdb_t *db, sqlite3_stmt *st, int64_t *changes, const char *what,
			 chat_error_t *err)
{
	int rc = sqlite3_step(st);

	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, what, err);
	*changes = rc == CHAT_OK ? sqlite3_changes(db->sql) : 0;
	sqlite3_reset(st);
	return rc;
}

int chatdb__step_done(chatdb_t *db, sqlite3_stmt *st, const char *what, chat_error_t *err)
{
	int64_t changes;

	return chatdb__step_changes(db, st, &changes, what, err);
}

int chatdb__step_insert(chatdb_t *db, sqlite3_stmt *st, int *dup, const char *what,
			chat_error_t *err)
{
	int rc = sqlite3_step(st);

	*dup = rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE;
	rc = rc == SQLITE_DONE || *dup ? CHAT_OK : chatdb__error(db, rc, what, err);
	sqlite3_reset(st);
	return rc;
}

int chatdb__step_row(chatdb_t *db, sqlite3_stmt *st, int *row, const char *what, chat_error_t *err)
{
	int rc = sqlite3_step(st);

	*row = rc == SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, what, err);
}

static int exec_cached(chatdb_t *db, const char *sql, const char *what, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = chatdb__stmt(db, sql, &st, err);
	if (rc != CHAT_OK)
		return rc;
	return chatdb__step_done(db, st, what, err);
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

int chatdb_check_file(chatdb_t *db, chat_error_t *err)
{
	struct stat sb;

	db->checked_ms = chat_mono_ms();
	if (!db->gone && stat(db->path, &sb) != 0) {
		db->gone = 1;
		snprintf(db->gone_why, sizeof(db->gone_why), "%s was deleted (%s)", db->path,
			 strerror(errno));
	} else if (!db->gone && (sb.st_dev != db->dev || sb.st_ino != db->ino)) {
		db->gone = 1;
		snprintf(db->gone_why, sizeof(db->gone_why), "%s was replaced by another file",
			 db->path);
	}
	if (db->gone)
		return chat_error_set(err, CHAT_EIO, "%s under this process: restart it",
				      db->gone_why);
	return CHAT_OK;
}

int chatdb__begin(chatdb_t *db, chat_error_t *err)
{
	if (db->gone || chat_mono_ms() - db->checked_ms >= CHATDB_FILE_CHECK_MS) {
		int rc = chatdb_check_file(db, err);

		if (rc != CHAT_OK)
			return rc;
	}
	return exec_cached(db, SQL_BEGIN, "begin immediate", err);
}

int chatdb__commit(chatdb_t *db, chat_error_t *err)
{
	int rc = exec_cached(db, SQL_COMMIT, "commit", err);

	/* A failed COMMIT (e.g. SQLITE_BUSY) leaves the transaction open. */
	if (rc != CHAT_OK)
		chatdb__rollback(db);
	else if (db->published > 0)
		metrics_add(METRICS_PUBLISHED, db->published);
	db->published = 0;
	return rc;
}

void chatdb__rollback(chatdb_t *db)
{
	db->published = 0;
	if (!sqlite3_get_autocommit(db->sql))
		exec_cached(db, SQL_ROLLBACK, "rollback", NULL);
}

void chatdb__count_published(chatdb_t *db)
{
	/* Counted once the row is committed: at once in autocommit mode,
	 * else at chatdb__commit() (a rollback forgets it). */
	if (sqlite3_get_autocommit(db->sql))
		metrics_add(METRICS_PUBLISHED, 1);
	else
		db->published++;
}

/* Runs a pragma that returns one row and copies its first column. */
static int pragma(chatdb_t *db, const char *sql, char *res, size_t n, chat_error_t *err)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc, row;

	rc = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = chatdb__error(db, rc, sql, err);
		goto out;
	}
	if ((rc = chatdb__step_row(db, st, &row, sql, err)) != CHAT_OK)
		goto out;
	if (res != NULL && n > 0) {
		t = row ? sqlite3_column_text(st, 0) : NULL;
		snprintf(res, n, "%s", t != NULL ? (const char *)t : "");
	}
	rc = CHAT_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

static int read_version(chatdb_t *db, int *version, chat_error_t *err)
{
	char buf[32], *end;
	long v;
	int rc;

	rc = pragma(db, "PRAGMA user_version", buf, sizeof(buf), err);
	if (rc != CHAT_OK)
		return rc;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (end == buf || *end != '\0' || errno != 0 || v < INT_MIN || v > INT_MAX)
		return chat_error_set(err, CHAT_EDB, "PRAGMA user_version is '%s', not a number",
				      buf);
	*version = (int)v;
	return CHAT_OK;
}

/* Switching a fresh file to WAL needs an exclusive lock for a moment; when
 * several processes create the file at once the loser may see SQLITE_BUSY
 * even with a busy handler, so it retries within the busy timeout. */
static int set_wal(chatdb_t *db, chat_error_t *err)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	char mode[16];
	int tries = CHATDB_BUSY_TIMEOUT_MS / 2;
	int rc;

	for (;;) {
		rc = pragma(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode), err);
		if (rc == CHAT_OK && strcmp(mode, "wal") == 0)
			return CHAT_OK;
		if (rc == CHAT_OK)
			return chat_error_set(err, CHAT_EDB, "journal_mode is %s, not wal", mode);
		if ((sqlite3_errcode(db->sql) & 0xff) != SQLITE_BUSY || --tries <= 0)
			return rc;
		nanosleep(&pause, NULL);
	}
}

int chatdb_open(const char *path, unsigned flags, chatdb_t **out, chat_error_t *err)
{
	struct stat sb;
	chatdb_t *db;
	int rc;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	/* NOMUTEX: one handle per thread (see chatdb.h), no locking needed. */
	rc = sqlite3_open_v2(path, &db->sql,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		rc = chatdb__error(db, rc, path, err);
		goto out;
	}
	sqlite3_extended_result_codes(db->sql, 1);
	sqlite3_busy_timeout(db->sql, CHATDB_BUSY_TIMEOUT_MS);
	rc = set_wal(db, err);
	if (rc != CHAT_OK)
		goto out;
	/* The file just opened (and created if need be) is the one to keep
	 * naming: see chatdb_check_file(). */
	db->path = strdup(path);
	if (db->path == NULL) {
		rc = chat_error_set(err, CHAT_ENOMEM, "out of memory");
		goto out;
	}
	if (stat(path, &sb) != 0) {
		rc = chat_error_set(err, CHAT_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	db->dev = sb.st_dev;
	db->ino = sb.st_ino;
	db->checked_ms = chat_mono_ms();
	rc = pragma(db,
		    (flags & CHATDB_OPEN_SYNC_FULL) ? "PRAGMA synchronous=FULL"
						    : "PRAGMA synchronous=NORMAL",
		    NULL, 0, err);
	if (rc != CHAT_OK)
		goto out;
	rc = pragma(db, "PRAGMA foreign_keys=ON", NULL, 0, err);
	if (rc != CHAT_OK)
		goto out;
	/* Keep an idle WAL file from staying large after a burst. */
	rc = pragma(db, "PRAGMA journal_size_limit=67108864", NULL, 0, err);
	if (rc != CHAT_OK)
		goto out;
	rc = chatdb__migrate(db, err);
out:
	if (rc != CHAT_OK)
		chatdb_close(db);
	else
		*out = db;
	return rc;
}

void chatdb_close(chatdb_t *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->nstmt; i++)
		sqlite3_finalize(db->stmt[i].stmt);
	sqlite3_close(db->sql);
	free(db->path);
	free(db);
}

void chatdb_set_doorbell(chatdb_t *db, doorbell_t *bell)
{
	db->bell = bell;
}

doorbell_t *chatdb_doorbell(const chatdb_t *db)
{
	return db->bell;
}

doorbell_t *chatdb__hold_doorbell(chatdb_t *db)
{
	doorbell_t *bell = db->bell;

	db->bell = NULL;
	return bell;
}

void chatdb__release_doorbell(chatdb_t *db, doorbell_t *bell, int64_t seq)
{
	db->bell = bell;
	if (bell != NULL && seq > 0)
		doorbell_ring(bell, (uint64_t)seq);
}

int chatdb_schema_version(chatdb_t *db, int *version, chat_error_t *err)
{
	return read_version(db, version, err);
}

sqlite3 *chatdb_sqlite(chatdb_t *db)
{
	return db->sql;
}
