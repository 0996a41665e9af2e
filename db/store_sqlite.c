/*
 * store_sqlite.c - the embedded store backend: users, rooms and message
 * history in one SQLite file (e.g. var/history.db), so the chat runs with
 * no database server at all.
 *
 * WAL mode with synchronous=FULL (a committed message survives a power
 * loss: the relay may advance its cursor past it), busy_timeout so that
 * several processes can share the file, and the schema version in PRAGMA
 * user_version, created or checked inside BEGIN IMMEDIATE so two processes
 * opening a fresh file do not race.  One connection per handle, opened
 * NOMUTEX: a handle is used by one thread at a time (store.h).
 */
#include "config.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION 2
#define BUSY_TIMEOUT_MS 5000

static const char schema_sql[] = "CREATE TABLE users("
				 " id INTEGER PRIMARY KEY,"
				 " name TEXT NOT NULL UNIQUE,"
				 " password_hash TEXT NOT NULL,"
				 " created_ms INTEGER NOT NULL);"
				 "CREATE TABLE rooms("
				 " id INTEGER PRIMARY KEY,"
				 " name TEXT NOT NULL UNIQUE,"
				 " created_by INTEGER NOT NULL,"
				 " created_ms INTEGER NOT NULL);"
				 "CREATE TABLE messages("
				 " id INTEGER PRIMARY KEY,"
				 " room_id INTEGER NOT NULL,"
				 " room_seq INTEGER NOT NULL,"
				 " writer TEXT NOT NULL,"
				 " text TEXT NOT NULL,"
				 " time_ms INTEGER NOT NULL);"
				 "CREATE INDEX messages_room_id ON messages(room_id, id);";

/* Version 2: names are unique and looked up whatever their ASCII case
 * (NOCASE folds A-Z only, as the store's rule says).  Fails on a file
 * that already holds two names differing only in case. */
static const char schema_v2_sql[] =
	"CREATE UNIQUE INDEX users_name_nocase ON users(name COLLATE NOCASE);"
	"CREATE UNIQUE INDEX rooms_name_nocase ON rooms(name COLLATE NOCASE);";

/* Prepared once per handle; indexes into sqlite_store.stmt. */
enum {
	Q_USER_INSERT,
	Q_USER_BY_ID,
	Q_USER_BY_NAME,
	Q_USER_LIST,
	Q_USER_PASSWORD,
	Q_USER_DELETE,
	Q_ROOM_INSERT,
	Q_ROOM_BY_ID,
	Q_ROOM_BY_NAME,
	Q_ROOM_LIST,
	Q_ROOM_DELETE,
	Q_MSG_INSERT,
	Q_MSG_LATEST,
	Q_MSG_BEFORE,
	Q_MSG_AFTER,
	Q_MSG_SAME,
	Q_MSG_MAX_ID,
	Q_MSG_MAX_GUEST,
	Q_COUNT
};

static const char *const query_sql[Q_COUNT] = {
	[Q_USER_INSERT] = "INSERT INTO users(id, name, password_hash, created_ms)"
			  " VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[Q_USER_BY_ID] = "SELECT id, name, password_hash, created_ms FROM users"
			 " WHERE id = ?1",
	[Q_USER_BY_NAME] = "SELECT id, name, password_hash, created_ms FROM users"
			   " WHERE name = ?1 COLLATE NOCASE",
	[Q_USER_LIST] = "SELECT id, name, password_hash, created_ms FROM users"
			" WHERE id > ?1 ORDER BY id LIMIT ?2",
	[Q_USER_PASSWORD] = "UPDATE users SET password_hash = ?2 WHERE id = ?1",
	[Q_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
	[Q_ROOM_INSERT] = "INSERT INTO rooms(id, name, created_by, created_ms)"
			  " VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
	[Q_ROOM_BY_ID] = "SELECT id, name, created_by, created_ms FROM rooms"
			 " WHERE id = ?1",
	[Q_ROOM_BY_NAME] = "SELECT id, name, created_by, created_ms FROM rooms"
			   " WHERE name = ?1 COLLATE NOCASE",
	[Q_ROOM_LIST] = "SELECT id, name, created_by, created_ms FROM rooms"
			" WHERE id > ?1 ORDER BY id LIMIT ?2",
	[Q_ROOM_DELETE] = "DELETE FROM rooms WHERE id = ?1",
	[Q_MSG_INSERT] = "INSERT INTO messages(id, room_id, room_seq, writer, text,"
			 " time_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO NOTHING",
	[Q_MSG_LATEST] = "SELECT id, room_id, room_seq, writer, text, time_ms"
			 " FROM messages WHERE room_id = ?1 ORDER BY id DESC LIMIT ?3",
	[Q_MSG_BEFORE] = "SELECT id, room_id, room_seq, writer, text, time_ms"
			 " FROM messages WHERE room_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
	[Q_MSG_AFTER] = "SELECT id, room_id, room_seq, writer, text, time_ms"
			" FROM messages WHERE room_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
	[Q_MSG_SAME] = "SELECT count(*) FROM messages WHERE id = ?1 AND room_id = ?2"
		       " AND room_seq = ?3 AND writer = ?4 AND text = ?5 AND time_ms = ?6",
	[Q_MSG_MAX_ID] = "SELECT coalesce(max(id), 0) FROM messages",
	/* Writers ?1 followed by 1..19 digits (a reserved form, so only
	 * guests); a scan of messages, run when a chat.db is behind the
	 * store (db/relay.c). */
	[Q_MSG_MAX_GUEST] =
		"SELECT coalesce(max(CAST(substr(writer, length(?1) + 1)"
		" AS INTEGER)), 0) FROM messages WHERE substr(writer, 1, length(?1)) = ?1"
		" AND length(writer) BETWEEN length(?1) + 1 AND length(?1) + 18"
		" AND substr(writer, length(?1) + 1) NOT GLOB '*[^0-9]*'",
};

typedef struct sqlite_store {
	store_t base; /* first: a store_t * is a sqlite_store * */
	sqlite3 *db;
	sqlite3_stmt *stmt[Q_COUNT];
} sqlite_store_t;

static int db_error(sqlite_store_t *st, chat_error_t *err, const char *what)
{
	return chat_error_set(err, CHAT_EDB, "sqlite: %s: %s", what,
			      st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
}

static void sqlite_close(store_t *s)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	size_t i;

	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close_v2(st->db);
	free(st);
}

/* Creates the schema on a new file or checks the version of an old one. */
static int schema_init(sqlite_store_t *st, chat_error_t *err)
{
	sqlite3_stmt *q = NULL;
	int rc = CHAT_OK, version, in_txn = 0;
	char sql[64];

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(st, err, "begin");
		goto out;
	}
	in_txn = 1;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		rc = db_error(st, err, "reading user_version");
		goto out;
	}
	version = sqlite3_column_int(q, 0);
	if (version > SCHEMA_VERSION) {
		rc = chat_error_set(
			err, CHAT_EDB,
			"sqlite: history schema version %d is newer than this program's (%d);"
			" upgrade the program",
			version, SCHEMA_VERSION);
		goto out;
	}
	if (version == 0 && sqlite3_exec(st->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(st, err, "creating the schema");
		goto out;
	}
	if (version < 2 && sqlite3_exec(st->db, schema_v2_sql, NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(st, err,
			      "making names unique whatever their case (rename users or"
			      " rooms whose names differ only in case)");
		goto out;
	}
	if (version < SCHEMA_VERSION) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
		if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = db_error(st, err, "setting the schema version");
			goto out;
		}
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(st, err, "commit");
		goto out;
	}
	in_txn = 0;
out:
	sqlite3_finalize(q);
	if (in_txn)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static const store__ops_t sqlite_ops;

int store__sqlite_open(const char *path, store_t **out, chat_error_t *err)
{
	sqlite_store_t *st;
	int rc = CHAT_OK;
	size_t i;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	st->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = chat_error_set(err, CHAT_EDB, "sqlite: cannot open %s: %s", path,
				    st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* journal_mode answers with a row; exec ignores it. */
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
		rc = chat_error_set(err, CHAT_EDB, "sqlite: cannot set up %s: %s", path,
				    sqlite3_errmsg(st->db));
		goto out;
	}
	if ((rc = schema_init(st, err)) != CHAT_OK)
		goto out;
	for (i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, query_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &st->stmt[i], NULL) != SQLITE_OK) {
			rc = db_error(st, err, "preparing a query");
			goto out;
		}
	}
out:
	if (rc != CHAT_OK) {
		sqlite_close(&st->base);
		return rc;
	}
	*out = &st->base;
	return CHAT_OK;
}

/* Makes a statement ready for its next use. */
static void finish(sqlite3_stmt *q)
{
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

/* Runs a prepared statement to completion (an INSERT). */
static int step_done(sqlite_store_t *st, sqlite3_stmt *q, chat_error_t *err, const char *what)
{
	int rc = sqlite3_step(q);

	rc = rc == SQLITE_DONE ? CHAT_OK : db_error(st, err, what);
	finish(q);
	return rc;
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *q, int col)
{
	const unsigned char *t = sqlite3_column_text(q, col);
	size_t n = (size_t)sqlite3_column_bytes(q, col);

	if (t == NULL)
		n = 0;
	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

/* Steps the lookup of one row: by name with the statement by_name_q when
 * by_name is not NULL, else by id with by_id_q.  Returns 0 with the row
 * ready to read in *q, CHAT_ENOTFOUND ("no such <what>") or CHAT_EDB;
 * either way the caller then calls finish(*q). */
static int find_one(sqlite_store_t *st, int by_name_q, int by_id_q, int64_t id, const char *by_name,
		    const char *what, sqlite3_stmt **q, chat_error_t *err)
{
	char doing[32];
	int rc;

	if (by_name != NULL) {
		*q = st->stmt[by_name_q];
		sqlite3_bind_text(*q, 1, by_name, -1, SQLITE_STATIC);
	} else {
		*q = st->stmt[by_id_q];
		sqlite3_bind_int64(*q, 1, id);
	}
	rc = sqlite3_step(*q);
	if (rc == SQLITE_ROW)
		return CHAT_OK;
	if (rc == SQLITE_DONE)
		return chat_error_set(err, CHAT_ENOTFOUND, "no such %s", what);
	snprintf(doing, sizeof(doing), "reading a %s", what);
	return db_error(st, err, doing);
}

/* The room in the current row of a rooms query. */
static void row_room(sqlite3_stmt *q, store_room_t *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(q, 0);
	copy_text(r->name, sizeof(r->name), q, 1);
	r->created_by = sqlite3_column_int64(q, 2);
	r->created_ms = sqlite3_column_int64(q, 3);
}

/* The user in the current row of a users query. */
static void row_user(sqlite3_stmt *q, store_user_t *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(q, 0);
	copy_text(u->name, sizeof(u->name), q, 1);
	copy_text(u->password_hash, sizeof(u->password_hash), q, 2);
	u->created_ms = sqlite3_column_int64(q, 3);
}

static int user_get(store_t *s, int64_t id, const char *by_name, store_user_t *out,
		    chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q;
	int rc;

	rc = find_one(st, Q_USER_BY_NAME, Q_USER_BY_ID, id, by_name, "user", &q, err);
	if (rc == CHAT_OK)
		row_user(q, out);
	finish(q);
	return rc;
}

static int user_list(store_t *s, int64_t after_id, size_t n, store_user_list_t *out,
		     chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_USER_LIST];
	int rc;

	sqlite3_bind_int64(q, 1, after_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)n);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && out->count < n)
		row_user(q, &out->items[out->count++]);
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? CHAT_OK : db_error(st, err, "listing users");
	finish(q);
	return rc;
}

static int user_set_password(store_t *s, int64_t id, const char *hash, chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_USER_PASSWORD];
	int rc;

	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, hash, -1, SQLITE_STATIC);
	if ((rc = step_done(st, q, err, "changing a password")) != CHAT_OK)
		return rc;
	return sqlite3_changes(st->db) == 1 ? 0
					    : chat_error_set(err, CHAT_ENOTFOUND, "no such user");
}

static int user_delete(store_t *s, int64_t id, chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_USER_DELETE];

	sqlite3_bind_int64(q, 1, id);
	return step_done(st, q, err, "deleting a user");
}

static int user_add(store_t *s, const store_user_t *u, chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_USER_INSERT];
	store_user_t old;
	int rc;

	sqlite3_bind_int64(q, 1, u->id);
	sqlite3_bind_text(q, 2, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, u->password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, u->created_ms);
	if ((rc = step_done(st, q, err, "adding a user")) != CHAT_OK)
		return rc;
	if (sqlite3_changes(st->db) == 1)
		return CHAT_OK;
	/* Nothing inserted: a retry of this very user, or a conflict. */
	rc = user_get(s, u->id, NULL, &old, err);
	return store__add_conflict(rc, old.name, u->name, "user", u->id, err);
}

static int room_get(store_t *s, int64_t id, const char *by_name, store_room_t *out,
		    chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q;
	int rc;

	rc = find_one(st, Q_ROOM_BY_NAME, Q_ROOM_BY_ID, id, by_name, "room", &q, err);
	if (rc == CHAT_OK)
		row_room(q, out);
	finish(q);
	return rc;
}

static int room_add(store_t *s, const store_room_t *r, chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_ROOM_INSERT];
	store_room_t old;
	int rc;

	sqlite3_bind_int64(q, 1, r->id);
	sqlite3_bind_text(q, 2, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, r->created_by);
	sqlite3_bind_int64(q, 4, r->created_ms);
	if ((rc = step_done(st, q, err, "adding a room")) != CHAT_OK)
		return rc;
	if (sqlite3_changes(st->db) == 1)
		return CHAT_OK;
	rc = room_get(s, r->id, NULL, &old, err);
	return store__add_conflict(rc, old.name, r->name, "room", r->id, err);
}

static int room_list(store_t *s, int64_t after_id, size_t n, store_room_list_t *out,
		     chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_ROOM_LIST];
	int rc;

	sqlite3_bind_int64(q, 1, after_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)n);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && out->count < n)
		row_room(q, &out->items[out->count++]);
	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? CHAT_OK : db_error(st, err, "listing rooms");
	finish(q);
	return rc;
}

static int room_delete(store_t *s, int64_t id, chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_ROOM_DELETE];

	sqlite3_bind_int64(q, 1, id);
	return step_done(st, q, err, "deleting a room");
}

/* Binds ?1..?6 of Q_MSG_INSERT and Q_MSG_SAME to m's fields. */
static void bind_msg(sqlite3_stmt *q, const store_msg_t *m)
{
	sqlite3_bind_int64(q, 1, m->id);
	sqlite3_bind_int64(q, 2, m->room_id);
	sqlite3_bind_int64(q, 3, m->room_seq);
	sqlite3_bind_text(q, 4, m->writer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, m->text, (int)m->text_len, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, m->time_ms);
}

static int msg_add(store_t *s, const store_msg_t *m, int *created, chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q = st->stmt[Q_MSG_INSERT];
	int rc;

	bind_msg(q, m);
	if ((rc = step_done(st, q, err, "adding a message")) != CHAT_OK)
		return rc;
	*created = sqlite3_changes(st->db) == 1;
	if (*created)
		return CHAT_OK;
	/* The id is taken: a retry stores the same message again. */
	q = st->stmt[Q_MSG_SAME];
	bind_msg(q, m);
	rc = sqlite3_step(q);
	if (rc != SQLITE_ROW)
		rc = db_error(st, err, "comparing a message");
	else if (sqlite3_column_int64(q, 0) == 0)
		rc = chat_error_set(err, CHAT_EEXIST,
				    "message id %lld is already stored with other content",
				    (long long)m->id);
	else
		rc = CHAT_OK;
	finish(q);
	return rc;
}

/* Runs a one-row, one-integer query; prefix binds ?1 when not NULL. */
static int query_max(sqlite_store_t *st, int which, const char *prefix, int64_t *out,
		     chat_error_t *err)
{
	sqlite3_stmt *q = st->stmt[which];
	int rc;

	if (prefix != NULL)
		sqlite3_bind_text(q, 1, prefix, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(q, 0);
		rc = CHAT_OK;
	} else {
		rc = db_error(st, err, "reading the highest ids");
	}
	finish(q);
	return rc;
}

static int msg_max(store_t *s, const char *guest_prefix, int64_t *max_id, int64_t *max_guest,
		   chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	int rc = query_max(st, Q_MSG_MAX_ID, NULL, max_id, err);

	if (rc != CHAT_OK || guest_prefix == NULL)
		return rc;
	return query_max(st, Q_MSG_MAX_GUEST, guest_prefix, max_guest, err);
}

static int msg_page(store_t *s, int64_t room_id, store__page_t page, int64_t ref_id, size_t n,
		    store_msg_list_t *out, int *newest_first, chat_error_t *err)
{
	sqlite_store_t *st = (sqlite_store_t *)s;
	sqlite3_stmt *q;
	store_msg_t m;
	int rc, prc = CHAT_OK;

	q = st->stmt[page == STORE__LATEST   ? Q_MSG_LATEST
		     : page == STORE__BEFORE ? Q_MSG_BEFORE
					     : Q_MSG_AFTER];
	*newest_first = page != STORE__AFTER;
	sqlite3_bind_int64(q, 1, room_id);
	if (page != STORE__LATEST)
		sqlite3_bind_int64(q, 2, ref_id);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)n);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && out->count < n) {
		m.id = sqlite3_column_int64(q, 0);
		m.room_id = sqlite3_column_int64(q, 1);
		m.room_seq = sqlite3_column_int64(q, 2);
		m.writer = (const char *)sqlite3_column_text(q, 3);
		m.text = (const char *)sqlite3_column_text(q, 4);
		m.text_len = (size_t)sqlite3_column_bytes(q, 4);
		m.time_ms = sqlite3_column_int64(q, 5);
		if (m.writer == NULL || m.text == NULL) {
			prc = chat_error_set(err, CHAT_EDB, "sqlite: message %lld has NULL fields",
					     (long long)m.id);
			break;
		}
		if ((prc = store__msg_list_push(out, &m)) != CHAT_OK) {
			prc = chat_error_set(err, prc == CHAT_ENOMEM ? CHAT_ENOMEM : CHAT_EDB,
					     "sqlite: message %lld does not fit the limits",
					     (long long)m.id);
			break;
		}
	}
	if (prc != CHAT_OK)
		rc = prc;
	else if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = CHAT_OK;
	else
		rc = db_error(st, err, "reading messages");
	finish(q);
	return rc;
}

static const store__ops_t sqlite_ops = {
	.name = "sqlite",
	.close = sqlite_close,
	.user_add = user_add,
	.user_get = user_get,
	.user_list = user_list,
	.user_set_password = user_set_password,
	.user_delete = user_delete,
	.room_add = room_add,
	.room_get = room_get,
	.room_list = room_list,
	.room_delete = room_delete,
	.msg_add = msg_add,
	.msg_page = msg_page,
	.msg_max = msg_max,
};
