/* test_store_sqlite.c - the shared store suite against the SQLite backend,
 * one fresh file per test in a temporary directory. */
#include "config.h"
#include "store.h"
#include "store_suite.h"
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static unsigned counter;

static char *fresh_uri(void)
{
	size_t n = strlen(dir) + 64;
	char *uri = malloc(n);

	if (uri != NULL)
		snprintf(uri, n, "sqlite:%s/history-%u.db", dir, ++counter);
	return uri;
}

static char *down_uri(void)
{
	size_t n = strlen(dir) + 64;
	char *uri = malloc(n);

	/* A file in a directory that does not exist cannot be created. */
	if (uri != NULL)
		snprintf(uri, n, "sqlite:%s/no/such/dir/history.db", dir);
	return uri;
}

/* Writes a history file as version 1 of the schema made it (names unique
 * byte for byte) holding users names[0..n), and returns its URI. */
static char *v1_file(const char *const *names, size_t n)
{
	char *uri = fresh_uri();
	sqlite3 *db;

	ck_assert_ptr_nonnull(uri);
	ck_assert_int_eq(sqlite3_open(uri + strlen("sqlite:"), &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(
			db,
			"CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
			" password_hash TEXT NOT NULL, created_ms INTEGER NOT NULL);"
			"CREATE TABLE rooms(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
			" created_by INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
			"CREATE TABLE messages(id INTEGER PRIMARY KEY, room_id INTEGER NOT NULL,"
			" room_seq INTEGER NOT NULL, writer TEXT NOT NULL, text TEXT NOT NULL,"
			" time_ms INTEGER NOT NULL);"
			"CREATE INDEX messages_room_id ON messages(room_id, id);"
			"PRAGMA user_version = 1;",
			NULL, NULL, NULL),
		SQLITE_OK);
	for (size_t i = 0; i < n; i++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "INSERT INTO users VALUES (%zu, '%s', 'h', 1)", i + 1,
			 names[i]);
		ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(db);
	return uri;
}

/* A version-1 file is migrated: its names become unique whatever their
 * case; one that already holds look-alikes is refused with a clear error. */
START_TEST(v1_names_migrated)
{
	static const char *const ok[] = { "Alice", "bob" };
	static const char *const clash[] = { "alice", "ALICE" };
	chat_error_t e = { 0 };
	store_user_t u;
	store_t *st;
	char *uri = v1_file(ok, 2);

	ck_assert_int_eq(store_open(uri, &st, &e), CHAT_OK);
	ck_assert_int_eq(store_user_add(st, 10, "alice", "h", 1, &e), CHAT_EEXIST);
	ck_assert_int_eq(store_user_get_by_name(st, "ALICE", &u, &e), CHAT_OK);
	ck_assert_str_eq(u.name, "Alice");
	store_close(st);
	/* Opening it again leaves it as it is. */
	ck_assert_int_eq(store_open(uri, &st, &e), CHAT_OK);
	store_close(st);
	free(uri);
	uri = v1_file(clash, 2);
	ck_assert_int_eq(store_open(uri, &st, &e), CHAT_EDB);
	ck_assert_msg(strstr(e.message, "differ only in case") != NULL, "%s", e.message);
	free(uri);
}
END_TEST

/* A mongodb:// URI is refused, naming the configure option, only by a
 * build without MongoDB support. */
START_TEST(uri_backend_built)
{
	chat_error_t e = { 0 };
	store_t *st = NULL;

	ck_assert_int_eq(store_uri_built("sqlite:x.db", &e), CHAT_OK);
#ifdef HAVE_MONGO
	ck_assert_int_eq(store_uri_built("mongodb://127.0.0.1/x", &e), CHAT_OK);
#else
	ck_assert_int_eq(store_uri_built("mongodb://127.0.0.1/x", &e), CHAT_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "--with-mongo"));
	ck_assert_int_eq(store_open("mongodb+srv://h/x", &st, &e), CHAT_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "--with-mongo"));
	ck_assert_ptr_null(st);
#endif
	store_close(st);
}
END_TEST

int main(void)
{
	static const store_suite_env_t env = {
		.backend = "sqlite",
		.fresh_uri = fresh_uri,
		.drop = NULL, /* the whole directory goes at the end */
		.down_uri = down_uri,
	};
	Suite *s;
	TCase *tc;
	int rc;

	dir = testutil_tmpdir("store");
	if (dir == NULL) {
		perror("testutil_tmpdir");
		return EXIT_FAILURE;
	}
	s = store_suite(&env);
	tc = tcase_create("sqlite");

	tcase_add_test(tc, v1_names_migrated);
	tcase_add_test(tc, uri_backend_built);
	suite_add_tcase(s, tc);
	rc = testutil_run(s);
	testutil_rmtree(dir);
	free(dir);
	store_global_cleanup();
	return rc;
}
