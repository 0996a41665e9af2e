/* test_ratelimit.c - token buckets (db/ratelimit.c): the math with an
 * injected clock, table rows, and buckets in chat.db shared by two handles
 * (two processes' view). */
#include "config.h"
#include "ratelimit.h"
#include "testutil.h"
#include "tmpdb.h"

#include <sqlite3.h>
#include <stdint.h>

#define T0 1700000000000LL
#define U RATELIMIT_UNIT

static char *dir;
static char path[512];
static chatdb_t *db;

static void setup(void)
{
	tmpdb_open("ratelimit", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

/* Rows: tokens before, at, now, rate, burst -> taken, tokens after, retry. */
static const struct {
	int line;
	int64_t tokens, at, now, rate, burst;
	int taken;
	int64_t left, retry;
} rows[] = {
	{ __LINE__, 5 * U, 0, 0, 1, 5, 1, 4 * U, 0 },               /* full: take one */
	{ __LINE__, 0, 0, 0, 1, 5, 0, 0, 1000 },                    /* empty: 1 s at 1/s */
	{ __LINE__, 0, 0, 999, 1, 5, 0, 999, 1 },                   /* 1 ms short */
	{ __LINE__, 0, 0, 1000, 1, 5, 1, 0, 0 },                    /* refilled one */
	{ __LINE__, 0, 0, 250, 4, 5, 1, 0, 0 },                     /* 4/s: 250 ms */
	{ __LINE__, 500, 0, 100, 2, 5, 0, 700, 150 },               /* partial refill */
	{ __LINE__, 0, 0, 1000000, 3, 5, 1, 4 * U, 0 },             /* capped at burst */
	{ __LINE__, 0, 0, INT64_MAX / 2, 1000000, 5, 1, 4 * U, 0 }, /* no overflow */
	{ __LINE__, 2 * U, 1000, 0, 1, 5, 1, 1 * U, 0 },            /* clock back: no refill */
	{ __LINE__, 0, 1000, 0, 1, 5, 0, 0, 1000 },
	{ __LINE__, 0, 0, 1000000, 0, 5, 0, 0, RATELIMIT_NEVER_MS }, /* rate 0: never */
	{ __LINE__, 9 * U, 0, 0, 1, 5, 1, 4 * U, 0 },                /* burst lowered */
	{ __LINE__, -7, 0, 0, 1, 5, 0, 0, 1000 },                    /* bad row: empty */
};

START_TEST(bucket_math)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t t = rows[i].tokens, retry = -1;
		int got = ratelimit_refill_take(&t, rows[i].at, rows[i].now, rows[i].rate,
						rows[i].burst, &retry);

		ck_assert_msg(got == rows[i].taken && t == rows[i].left && retry == rows[i].retry,
			      "line %d: got %d left %lld retry %lld", rows[i].line, got,
			      (long long)t, (long long)retry);
	}
}
END_TEST

/* One take in its own transaction, as a SEND's. */
static int take(chatdb_t *h, const char *key, int64_t rate, int64_t burst, int64_t now,
		int64_t *retry)
{
	int rc;

	ck_assert_int_eq(chatdb__begin(h, NULL), CHAT_OK);
	rc = ratelimit__take_in_tx(h, key, rate, burst, now, retry, NULL);
	ck_assert_int_eq(chatdb__commit(h, NULL), CHAT_OK);
	return rc;
}

START_TEST(burst_then_rate)
{
	int64_t retry;
	int i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(take(db, "k", 2, 3, T0, &retry), CHAT_OK);
	ck_assert_int_eq(take(db, "k", 2, 3, T0, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 500);
	ck_assert_int_eq(take(db, "k", 2, 3, T0 + 499, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 1);
	ck_assert_int_eq(take(db, "k", 2, 3, T0 + 500, &retry), CHAT_OK);
	ck_assert_int_eq(take(db, "k", 2, 3, T0 + 500, &retry), CHAT_ETOOMANY);
	/* Another key has its own bucket. */
	ck_assert_int_eq(take(db, "other", 2, 3, T0 + 500, &retry), CHAT_OK);
	/* burst 0: no limit, nothing written. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(take(db, "free", 0, 0, T0, &retry), CHAT_OK);
}
END_TEST

static int64_t count_rows(void)
{
	sqlite3 *s;
	sqlite3_stmt *st;
	int64_t n;

	ck_assert_int_eq(sqlite3_open(path, &s), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(s, "SELECT count(*) FROM rate_buckets", -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return n;
}

START_TEST(full_rows_are_pruned)
{
	char key[32];
	int64_t retry;

	for (int i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "guest-%d", i);
		ck_assert_int_eq(take(db, key, 1, 5, T0, &retry), CHAT_OK);
	}
	ck_assert_int_eq(count_rows(), 20);
	/* 1 s later every bucket is full again: each new row drops up to 4. */
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "late-%d", i);
		ck_assert_int_eq(take(db, key, 1, 5, T0 + 1000, &retry), CHAT_OK);
	}
	ck_assert_int_eq(count_rows(), 5);
}
END_TEST

START_TEST(shared_between_handles)
{
	chatdb_t *other;
	int64_t retry;

	ck_assert_int_eq(chatdb_open(path, 0, &other, NULL), CHAT_OK);
	ck_assert_int_eq(take(db, "u", 1, 2, T0, &retry), CHAT_OK);
	ck_assert_int_eq(take(other, "u", 1, 2, T0, &retry), CHAT_OK);
	ck_assert_int_eq(take(db, "u", 1, 2, T0, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(take(other, "u", 1, 2, T0, &retry), CHAT_ETOOMANY);
	ck_assert_int_eq(retry, 1000);
	chatdb_close(other);
}
END_TEST

START_TEST(long_keys_are_cut)
{
	char a[RATELIMIT_KEY_MAX + 40], b2[RATELIMIT_KEY_MAX + 40];
	int64_t retry;

	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b2, a, sizeof(a));
	b2[sizeof(b2) - 2] = 'y';
	ck_assert_int_eq(take(db, a, 1, 1, T0, &retry), CHAT_OK);
	/* Same first RATELIMIT_KEY_MAX bytes: the same bucket. */
	ck_assert_int_eq(take(db, b2, 1, 1, T0, &retry), CHAT_ETOOMANY);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bucket_math);
	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, full_rows_are_pruned);
	tcase_add_test(tc, shared_between_handles);
	tcase_add_test(tc, long_keys_are_cut);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
