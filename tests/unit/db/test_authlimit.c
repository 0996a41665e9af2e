/* test_authlimit.c - failed-login limits (db/authlimit.c) on a real chat.db
 * with an injected clock, and auth_login() refusing locked accounts before
 * any password hash. */
#include "config.h"
#include "auth.h"
#include "authlimit.h"
#include "store.h"
#include "testutil.h"
#include "tmpdb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

static char *dir;
static char path[512];
static chatdb_t *db;
static const authlimit_conf_t conf = { 3, 5, 60000, 1000, 4000 };

static void setup(void)
{
	tmpdb_open("authlimit", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

/* authlimit_check()'s answer; *retry gets its wait. */
static int check(const char *account, const char *addr, int64_t now, int64_t *retry)
{
	return authlimit_check(db, &conf, account, addr, now, retry, NULL);
}

static void fail_one(const char *account, const char *addr, int64_t now)
{
	ck_assert_int_eq(authlimit_fail(db, &conf, account, addr, now, NULL), CHAT_OK);
}

static int64_t rows(void)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(chatdb_sqlite(db), "SELECT count(*) FROM auth_limits",
					    -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

START_TEST(account_lockout_doubles)
{
	int64_t retry;

	ck_assert_int_eq(check("alice", NULL, T0, &retry), CHAT_OK);
	ck_assert_int_eq(retry, 0);
	fail_one("alice", NULL, T0);
	fail_one("Alice", NULL, T0 + 10);
	ck_assert_int_eq(check("alice", NULL, T0 + 20, &retry), CHAT_OK);
	fail_one("ALICE", NULL, T0 + 20); /* the third: locked for lockout_ms */
	ck_assert_int_eq(check("alice", NULL, T0 + 20, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 1000);
	ck_assert_int_eq(check("aLiCe", NULL, T0 + 520, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 500);
	/* Another account is not locked. */
	ck_assert_int_eq(check("bob", NULL, T0 + 520, &retry), CHAT_OK);
	ck_assert_int_eq(check("alice", NULL, T0 + 1020, &retry), CHAT_OK);
	/* The next lockout in a row is twice as long, then capped. */
	for (int i = 0; i < 3; i++)
		fail_one("alice", NULL, T0 + 1100);
	ck_assert_int_eq(check("alice", NULL, T0 + 1100, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 2000);
	for (int i = 0; i < 3; i++)
		fail_one("alice", NULL, T0 + 3100);
	ck_assert_int_eq(check("alice", NULL, T0 + 3100, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 4000);
	for (int i = 0; i < 3; i++)
		fail_one("alice", NULL, T0 + 7100);
	ck_assert_int_eq(check("alice", NULL, T0 + 7100, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 4000);
	/* A window after the last lockout ended, it starts over. */
	for (int i = 0; i < 3; i++)
		fail_one("alice", NULL, T0 + 11100 + 60000);
	ck_assert_int_eq(check("alice", NULL, T0 + 11100 + 60000, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 1000);
}
END_TEST

START_TEST(failures_expire_with_the_window)
{
	int64_t retry;

	fail_one("carol", NULL, T0);
	fail_one("carol", NULL, T0 + 1);
	/* The window of the first failures is over: the count starts again. */
	fail_one("carol", NULL, T0 + 60000);
	fail_one("carol", NULL, T0 + 60001);
	ck_assert_int_eq(check("carol", NULL, T0 + 60002, &retry), CHAT_OK);
	fail_one("carol", NULL, T0 + 60002);
	ck_assert_int_eq(check("carol", NULL, T0 + 60002, &retry), CHAT_ETOOMANY);
}
END_TEST

START_TEST(reset_clears_the_account)
{
	int64_t retry;

	fail_one("dave", "10.0.0.1", T0);
	fail_one("dave", "10.0.0.1", T0);
	ck_assert_int_eq(authlimit_reset(db, "DAVE", NULL), CHAT_OK);
	fail_one("dave", "10.0.0.1", T0);
	fail_one("dave", "10.0.0.1", T0);
	ck_assert_int_eq(check("dave", NULL, T0, &retry), CHAT_OK);
	/* The address's failures stay (4 of 5). */
	fail_one("erin", "10.0.0.1", T0);
	ck_assert_int_eq(check("frank", "10.0.0.1", T0, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(authlimit_reset(db, NULL, NULL), CHAT_OK);
}
END_TEST

START_TEST(address_limit_across_accounts)
{
	char name[16];
	int64_t retry;

	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(check("x", "127.0.0.9", T0, &retry), CHAT_OK);
		snprintf(name, sizeof(name), "user%d", i);
		fail_one(name, "127.0.0.9", T0);
	}
	ck_assert_int_eq(check("someone", "127.0.0.9", T0, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 1000);
	ck_assert_int_eq(check(NULL, "127.0.0.9", T0, &retry), CHAT_ETOOMANY);
	/* Another address and the accounts themselves (one failure each) are free. */
	ck_assert_int_eq(check("someone", "127.0.0.2", T0, &retry), CHAT_OK);
	ck_assert_int_eq(check("user0", NULL, T0, &retry), CHAT_OK);
	/* An unknown address is not limited. */
	fail_one("zed", "", T0);
	ck_assert_int_eq(check(NULL, "", T0, &retry), CHAT_OK);
}
END_TEST

START_TEST(rows_are_pruned)
{
	char name[16];

	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		fail_one(name, "127.0.0.3", T0 + i);
	}
	ck_assert_int_eq(rows(), 51);
	/* Once their window is over, the next failure drops them. */
	fail_one("late", NULL, T0 + 49 + 60000 + 1000);
	/* "late", and the address: its last lockout (T0+49, 4 s) ends a window later. */
	ck_assert_int_eq(rows(), 2);
	fail_one("late", NULL, T0 + 200000);
	ck_assert_int_eq(rows(), 1);
}
END_TEST

START_TEST(shared_between_handles)
{
	chatdb_t *other;
	int64_t retry;

	/* Another process's handle on the same file sees the lockout. */
	ck_assert_int_eq(chatdb_open(path, 0, &other, NULL), CHAT_OK);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(authlimit_fail(other, &conf, "gina", NULL, T0, NULL), CHAT_OK);
	ck_assert_int_eq(check("gina", NULL, T0, &retry), CHAT_ETOOMANY);
	chatdb_close(other);
}
END_TEST

START_TEST(long_keys_are_cut)
{
	char big[AUTHLIMIT_KEY_MAX * 2];
	int64_t retry;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 5; i++)
		fail_one(NULL, big, T0);
	big[AUTHLIMIT_KEY_MAX] = '\0';
	ck_assert_int_eq(check(NULL, big, T0, &retry), CHAT_ETOOMANY);
}
END_TEST

/* auth_login() with limits: failures count, a locked account is refused
 * (even with the right password, and for an unknown name too), and a
 * success clears the account's failures. */
START_TEST(login_within_limits)
{
	char uri[600], token[AUTH_TOKEN_HEX + 1];
	chat_slice_t alice = { "alice", 5 }, good = { "correct horse", 13 }, bad = { "nope", 4 };
	auth_attempt_t at = { &conf, "127.0.0.5", 0 };
	chat_options_t opt;
	store_t *s;

	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
	opt.kdf_memory_kib = 1024; /* keep the test's hashes small */
	opt.kdf_ops = 1;
	auth_configure(&opt);
	snprintf(uri, sizeof(uri), "sqlite:%s/history.db", dir);
	ck_assert_int_eq(store_open(uri, &s, NULL), CHAT_OK);
	ck_assert_int_eq(auth_register(s, alice, good, T0, NULL, NULL), CHAT_OK);
	/* The stored hash has the configured parameters. */
	{
		store_user_t u;

		ck_assert_int_eq(store_user_get_by_name(s, "alice", &u, NULL), CHAT_OK);
		ck_assert_ptr_nonnull(strstr(u.password_hash, "$m=1024,t=1,"));
	}
	ck_assert_int_eq(auth_login(db, s, alice, bad, T0, 1000, &at, token, NULL, NULL),
			 CHAT_EDENIED);
	ck_assert_int_eq(auth_login(db, s, alice, bad, T0, 1000, &at, token, NULL, NULL),
			 CHAT_EDENIED);
	ck_assert_int_eq(auth_login(db, s, alice, good, T0, 1000, &at, token, NULL, NULL), CHAT_OK);
	/* Cleared: three more failures are needed to lock it. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(auth_login(db, s, alice, bad, T0, 1000, &at, token, NULL, NULL),
				 CHAT_EDENIED);
	ck_assert_int_eq(auth_login(db, s, alice, good, T0 + 10, 1000, &at, token, NULL, NULL),
			 CHAT_ETOOMANY);
	ck_assert_int_eq(at.retry_ms, 990);
	ck_assert_str_eq(token, "");
	/* The address has 5 failures too (2 + 3): another account is refused. */
	ck_assert_int_eq(auth_login(db, s, (chat_slice_t){ "nobody", 6 }, bad, T0 + 10, 1000, &at,
				    token, NULL, NULL),
			 CHAT_ETOOMANY);
	/* Without limits (at NULL) nothing is counted or refused. */
	ck_assert_int_eq(auth_login(db, s, alice, good, T0 + 10, 1000, NULL, token, NULL, NULL),
			 CHAT_OK);
	store_close(s);
	options_free(&opt);
	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
	auth_configure(&opt);
	options_free(&opt);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("authlimit");
	TCase *tc = tcase_create("authlimit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, account_lockout_doubles);
	tcase_add_test(tc, failures_expire_with_the_window);
	tcase_add_test(tc, reset_clears_the_account);
	tcase_add_test(tc, address_limit_across_accounts);
	tcase_add_test(tc, rows_are_pruned);
	tcase_add_test(tc, shared_between_handles);
	tcase_add_test(tc, long_keys_are_cut);
	tcase_add_test(tc, login_within_limits);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
