/* test_chatdb.c - opening chat.db: pragmas, migrations (idempotent, partial,
 * refusing newer schemas), concurrent first opens from several processes. */
#include "config.h"
#include "chatdb.h"
#include "forkutil.h"
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir;
static char path[512];

static void setup(void)
{
	dir = testutil_tmpdir("chatdb");
	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/chat.db", dir);
}

static void teardown(void)
{
	testutil_rmtree(dir);
	free(dir);
	dir = NULL;
}

static int64_t query_int(sqlite3 *sql, const char *q)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(sql, q, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void raw_exec(const char *q)
{
	sqlite3 *sql;

	ck_assert_int_eq(sqlite3_open(path, &sql), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(sql, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(sql);
}

START_TEST(open_sets_pragmas_and_schema)
{
	chat_error_t err;
	chatdb_t *db;
	sqlite3 *sql;
	char jm[16] = "";
	sqlite3_stmt *st;
	int v;

	ck_assert_int_eq(chatdb_open(path, 0, &db, &err), CHAT_OK);
	sql = chatdb_sqlite(db);
	ck_assert_int_eq(sqlite3_prepare_v2(sql, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(jm, sizeof(jm), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	ck_assert_str_eq(jm, "wal");
	ck_assert_int_eq(query_int(sql, "PRAGMA foreign_keys"), 1);
	ck_assert_int_eq(query_int(sql, "PRAGMA synchronous"), 1); /* NORMAL */
	ck_assert_int_eq(query_int(sql, "PRAGMA busy_timeout"), CHATDB_BUSY_TIMEOUT_MS);
	ck_assert_int_eq(chatdb_schema_version(db, &v, NULL), CHAT_OK);
	ck_assert_int_eq(v, CHATDB_SCHEMA_VERSION);
	ck_assert_int_eq(query_int(sql, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
					" AND name IN ('sessions', 'subscriptions', 'outbox',"
					" 'outbox_consumers')"),
			 4);
	ck_assert_ptr_null(chatdb_doorbell(db));
	chatdb_close(db);
	chatdb_close(NULL);

	ck_assert_int_eq(chatdb_open(path, CHATDB_OPEN_SYNC_FULL, &db, NULL), CHAT_OK);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "PRAGMA synchronous"), 2); /* FULL */
	chatdb_close(db);
}
END_TEST

START_TEST(deleted_or_replaced_file_is_noticed)
{
	chat_error_t err = { 0 };
	char moved[600];
	chatdb_t *a, *b;

	ck_assert_int_eq(chatdb_open(path, 0, &a, NULL), CHAT_OK);
	ck_assert_int_eq(chatdb_check_file(a, &err), CHAT_OK);
	ck_assert_int_eq(chatdb__begin(a, &err), CHAT_OK);
	ck_assert_int_eq(chatdb__commit(a, &err), CHAT_OK);
	/* Moved away and a new chat.db made in its place (a new process). */
	snprintf(moved, sizeof(moved), "%s.old", path);
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(chatdb_open(path, 0, &b, NULL), CHAT_OK);
	ck_assert_int_eq(chatdb_check_file(b, NULL), CHAT_OK);
	ck_assert_int_eq(chatdb_check_file(a, &err), CHAT_EIO);
	ck_assert_msg(strstr(err.message, "was replaced") != NULL, "%s", err.message);
	/* From then on the old handle refuses to write, with the reason. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(chatdb__begin(a, &err), CHAT_EIO);
	ck_assert_msg(strstr(err.message, "was replaced") != NULL, "%s", err.message);
	ck_assert_int_eq(chatdb_check_file(a, NULL), CHAT_EIO);
	chatdb_close(a);
	/* Deleted. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(chatdb_check_file(b, &err), CHAT_EIO);
	ck_assert_msg(strstr(err.message, "was deleted") != NULL, "%s", err.message);
	ck_assert_int_eq(chatdb__begin(b, NULL), CHAT_EIO);
	chatdb_close(b);
}
END_TEST

START_TEST(reopen_is_idempotent)
{
	chatdb_t *a, *b;
	int v, i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(chatdb_open(path, 0, &a, NULL), CHAT_OK);
		ck_assert_int_eq(chatdb_open(path, 0, &b, NULL), CHAT_OK);
		ck_assert_int_eq(
			sqlite3_exec(chatdb_sqlite(a),
				     "INSERT INTO outbox(destination, headers, body, created_ms)"
				     " VALUES ('/topic/x', x'', x'', 1)",
				     NULL, NULL, NULL),
			SQLITE_OK);
		ck_assert_int_eq(chatdb_schema_version(b, &v, NULL), CHAT_OK);
		ck_assert_int_eq(v, CHATDB_SCHEMA_VERSION);
		chatdb_close(b);
		chatdb_close(a);
	}
	/* Data survived the re-opens: migrations did not run again. */
	ck_assert_int_eq(chatdb_open(path, 0, &a, NULL), CHAT_OK);
	ck_assert_int_eq(query_int(chatdb_sqlite(a), "SELECT count(*) FROM outbox"), 3);
	chatdb_close(a);
}
END_TEST

START_TEST(partial_schema_is_migrated_forward)
{
	chatdb_t *db;
	int v;

	ck_assert_int_eq(chatdb_open(path, 0, &db, NULL), CHAT_OK);
	chatdb_close(db);
	/* Pretend the file was made by a program that knew two migrations. */
	raw_exec(
		"DROP TABLE outbox_consumers; DROP TABLE stomp_tx_frames; DROP TABLE stomp_tx;"
		" DROP TABLE stomp_unacked; DROP TABLE stomp_sessions; DROP TABLE stomp_counters;"
		" DROP TABLE chat_room_seq; DROP TABLE auth_tokens; DROP TABLE chat_rooms;"
		" DROP TABLE chat_presence; DROP TABLE chat_leases; DROP TABLE stomp_tokens;"
		" DROP TABLE stomp_partial; DROP TABLE auth_limits; DROP TABLE rate_buckets;"
		" DROP TABLE queue_inflight; DROP INDEX subscriptions_queue;"
		" DROP TABLE metrics_procs; DROP TABLE metrics_values; DROP TABLE auth_bans;"
		" DROP TABLE user_profiles; DROP TABLE chat_tombstones; DROP TABLE chat_first_user;"
		" DROP TABLE cluster_presence; DROP TABLE chat_dm; DROP TABLE chat_dm_read;"
		" DROP TABLE cluster_hold;"
		" ALTER TABLE subscriptions DROP COLUMN prefetch;"
		" ALTER TABLE subscriptions DROP COLUMN served;"
		" CREATE INDEX subscriptions_destination ON subscriptions(destination);"
		" ALTER TABLE subscriptions DROP COLUMN from_seq; ALTER TABLE sessions DROP COLUMN peer;"
		" PRAGMA user_version = 2;");
	ck_assert_int_eq(chatdb_open(path, 0, &db, NULL), CHAT_OK);
	ck_assert_int_eq(chatdb_schema_version(db, &v, NULL), CHAT_OK);
	ck_assert_int_eq(v, CHATDB_SCHEMA_VERSION);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM outbox_consumers"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM stomp_unacked"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db),
				   "SELECT id FROM chat_rooms WHERE name = 'general'"),
			 1);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(from_seq) FROM subscriptions"),
			 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM stomp_partial"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(served) FROM subscriptions"),
			 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM queue_inflight"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM rate_buckets"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM metrics_values"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM auth_bans"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM user_profiles"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM cluster_presence"), 0);
	ck_assert_int_eq(query_int(chatdb_sqlite(db),
				   "SELECT count(*) FROM chat_rooms WHERE display ="
				   " 'general'"),
			 1);
	chatdb_close(db);
}
END_TEST

/* Migration 16: rooms made before display names keep their ids as their
 * names, rooms whose ids differ only in case included, deleted ones too. */
START_TEST(rooms_get_display_names)
{
	chatdb_t *db;

	ck_assert_int_eq(chatdb_open(path, 0, &db, NULL), CHAT_OK);
	chatdb_close(db);
	raw_exec(
		"DROP INDEX chat_rooms_display_key; DROP TABLE user_profiles;"
		" DROP TABLE chat_tombstones; DROP TABLE chat_first_user; DROP TABLE cluster_presence;"
		" DROP TABLE chat_dm; DROP TABLE chat_dm_read; DROP TABLE cluster_hold;"
		" ALTER TABLE chat_rooms DROP COLUMN display;"
		" ALTER TABLE chat_rooms DROP COLUMN display_key;"
		" INSERT INTO chat_rooms(name, id, creator, created_ms) VALUES ('Abc', 7, 'a', 1),"
		" ('abc', 8, 'a', 2), ('ABC', 9, 'a', 3), ('gone', 10, 'a', 4), ('Gone', 11, 'a', 5);"
		" UPDATE chat_rooms SET deleted_ms = 9 WHERE id = 10;"
		" PRAGMA user_version = 15;");
	ck_assert_int_eq(chatdb_open(path, 0, &db, NULL), CHAT_OK);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM chat_rooms"), 6);
	ck_assert_int_eq(query_int(chatdb_sqlite(db),
				   "SELECT count(*) FROM chat_rooms WHERE display = name"),
			 6);
	ck_assert_int_eq(query_int(chatdb_sqlite(db),
				   "SELECT id FROM chat_rooms WHERE display_key = 'abc'"),
			 7);
	ck_assert_int_eq(query_int(chatdb_sqlite(db),
				   "SELECT id FROM chat_rooms WHERE display_key ="
				   " 'general'"),
			 1);
	ck_assert_int_eq(query_int(chatdb_sqlite(db), "SELECT count(*) FROM chat_rooms WHERE"
						      " display_key = 'gone'"),
			 2);
	chatdb_close(db);
}
END_TEST

START_TEST(newer_schema_is_refused)
{
	chat_error_t err;
	chatdb_t *db;

	ck_assert_int_eq(chatdb_open(path, 0, &db, NULL), CHAT_OK);
	chatdb_close(db);
	raw_exec("PRAGMA user_version = 99;");
	ck_assert_int_eq(chatdb_open(path, 0, &db, &err), CHAT_EDB);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(err.message, "newer"));
}
END_TEST

START_TEST(unopenable_path)
{
	chat_error_t err;
	char bad[600];
	chatdb_t *db;

	snprintf(bad, sizeof(bad), "%s/no/such/dir/chat.db", dir);
	ck_assert_int_eq(chatdb_open(bad, 0, &db, &err), CHAT_EIO);
	ck_assert_ptr_null(db);
}
END_TEST

START_TEST(string_bounds)
{
	char s[CHATDB_ID_MAX + 2];

	memset(s, 'a', sizeof(s));
	s[CHATDB_ID_MAX] = '\0';
	ck_assert_int_eq(chatdb__check_str(s, CHATDB_ID_MAX, "id", NULL), CHAT_OK);
	s[CHATDB_ID_MAX] = 'a';
	s[CHATDB_ID_MAX + 1] = '\0';
	ck_assert_int_eq(chatdb__check_str(s, CHATDB_ID_MAX, "id", NULL), CHAT_ETOOBIG);
	ck_assert_int_eq(chatdb__check_str("", CHATDB_ID_MAX, "id", NULL), CHAT_EINVAL);
	ck_assert_int_eq(chatdb__check_str(NULL, CHATDB_ID_MAX, "id", NULL), CHAT_EINVAL);
}
END_TEST

static const char SQL_T_PUT[] = "INSERT INTO t_steps(k) VALUES (?1)";
static const char SQL_T_GET[] = "SELECT k FROM t_steps WHERE k = ?1";
static const char SQL_T_DEL[] = "DELETE FROM t_steps";

/* Binds k to the cached statement sql into *st. */
static void stmt_with(chatdb_t *db, const char *sql, const char *k, sqlite3_stmt **st)
{
	ck_assert_int_eq(chatdb__stmt(db, sql, st, NULL), CHAT_OK);
	if (k != NULL)
		sqlite3_bind_text(*st, 1, k, -1, SQLITE_STATIC);
}

START_TEST(step_helpers)
{
	chat_error_t err = { 0 };
	sqlite3_stmt *st;
	int64_t changes = -1;
	chatdb_t *db;
	int row = -1, dup = -1;

	ck_assert_int_eq(chatdb_open(path, 0, &db, NULL), CHAT_OK);
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db),
				      "CREATE TABLE t_steps(k TEXT PRIMARY KEY NOT NULL)", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	/* An insert goes in; the same key again is a duplicate, not an error. */
	stmt_with(db, SQL_T_PUT, "a", &st);
	ck_assert_int_eq(chatdb__step_insert(db, st, &dup, "put", NULL), CHAT_OK);
	ck_assert_int_eq(dup, 0);
	stmt_with(db, SQL_T_PUT, "a", &st);
	ck_assert_int_eq(chatdb__step_insert(db, st, &dup, "put", NULL), CHAT_OK);
	ck_assert_int_eq(dup, 1);
	/* For chatdb__step_done() the same refusal is an error naming what. */
	stmt_with(db, SQL_T_PUT, "a", &st);
	ck_assert_int_eq(chatdb__step_done(db, st, "put", &err), CHAT_EDB);
	ck_assert(strncmp(err.message, "put: ", 5) == 0);
	/* A row, readable until the reset, then the end. */
	stmt_with(db, SQL_T_GET, "a", &st);
	ck_assert_int_eq(chatdb__step_row(db, st, &row, "get", NULL), CHAT_OK);
	ck_assert_int_eq(row, 1);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "a");
	ck_assert_int_eq(chatdb__step_row(db, st, &row, "get", NULL), CHAT_OK);
	ck_assert_int_eq(row, 0);
	sqlite3_reset(st);
	/* The rows a statement changed. */
	stmt_with(db, SQL_T_DEL, NULL, &st);
	ck_assert_int_eq(chatdb__step_changes(db, st, &changes, "del", NULL), CHAT_OK);
	ck_assert_int_eq(changes, 1);
	stmt_with(db, SQL_T_DEL, NULL, &st);
	ck_assert_int_eq(chatdb__step_changes(db, st, &changes, "del", NULL), CHAT_OK);
	ck_assert_int_eq(changes, 0);
	chatdb_close(db);
}
END_TEST

/* Child: open the (fresh) database at the same moment as its siblings. */
static int opener_child(forkset_t *fs, int i, void *ctx)
{
	const char *p = ctx;
	chat_error_t err;
	chatdb_t *db;
	int v = -1, rc;

	(void)i;
	forkset_ready(fs);
	forkset_await_go(fs);
	rc = chatdb_open(p, 0, &db, &err);
	if (rc != CHAT_OK) {
		fprintf(stderr, "child open: %s\n", err.message);
		return 1;
	}
	rc = chatdb_schema_version(db, &v, NULL);
	chatdb_close(db);
	return rc == CHAT_OK && v == CHATDB_SCHEMA_VERSION ? 0 : 2;
}

START_TEST(concurrent_first_opens)
{
	char p[600];
	forkset_t fs;
	chatdb_t *db;
	int round, v;

	for (round = 0; round < 5; round++) {
		snprintf(p, sizeof(p), "%s/race%d.db", dir, round);
		ck_assert_int_eq(forkset_start(&fs, 6, opener_child, p), 0);
		ck_assert_int_eq(forkset_wait_ready(&fs), 0);
		forkset_go(&fs);
		ck_assert_int_eq(forkset_join(&fs, NULL), 6);
		ck_assert_int_eq(chatdb_open(p, 0, &db, NULL), CHAT_OK);
		ck_assert_int_eq(chatdb_schema_version(db, &v, NULL), CHAT_OK);
		ck_assert_int_eq(v, CHATDB_SCHEMA_VERSION);
		chatdb_close(db);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chatdb");
	TCase *tc = tcase_create("chatdb");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_sets_pragmas_and_schema);
	tcase_add_test(tc, reopen_is_idempotent);
	tcase_add_test(tc, deleted_or_replaced_file_is_noticed);
	tcase_add_test(tc, partial_schema_is_migrated_forward);
	tcase_add_test(tc, rooms_get_display_names);
	tcase_add_test(tc, newer_schema_is_refused);
	tcase_add_test(tc, unopenable_path);
	tcase_add_test(tc, string_bounds);
	tcase_add_test(tc, step_helpers);
	tcase_add_test(tc, concurrent_first_opens);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
