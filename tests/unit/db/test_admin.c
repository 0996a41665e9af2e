/* test_admin.c - chatctl's reads and copies (db/admin.h): the status
 * figures, the session list, the online copy taken while another process
 * appends (a consistent, gapless prefix), integrity problems found, and
 * whether a lease says the stack runs. */
#include "config.h"
#include "admin.h"
#include "forkutil.h"
#include "outbox.h"
#include "session.h"
#include "testutil.h"
#include "tmpdb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000LL

static char *dir;
static char path[512];
static chatdb_t *db;

static void setup(void)
{
	tmpdb_open("admin", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

static int64_t append(chatdb_t *d, const char *dest, int64_t t)
{
	outbox_msg_t m = { dest, NULL, CHAT_SLICE("content-type:text/plain\n"), CHAT_SLICE("x"),
			   t };
	int64_t seq = 0;

	ck_assert_int_eq(outbox_append(d, &m, &seq, NULL), CHAT_OK);
	return seq;
}

static void raw(const char *file, const char *sql)
{
	sqlite3 *s;

	ck_assert_int_eq(sqlite3_open(file, &s), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
}

static int64_t scalar(const char *file, const char *sql)
{
	sqlite3 *s;
	sqlite3_stmt *st;
	int64_t v;

	ck_assert_int_eq(sqlite3_open_v2(file, &s, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return v;
}

START_TEST(status_figures)
{
	admin_status_t s;
	int64_t a, b, c;

	ck_assert_int_eq(session_create(db, "s1", "alice", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "s2", "ALICE", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "s3", "bob", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(session_close(db, "s3", 1000, "bye", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "s1", "ws:1:n", NOW, 30000, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "s2", "123.4", NOW - 60000, 30000, NULL), CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "s1", "sub-0", "/topic/a", SESSION_ACK_AUTO, NULL),
			 CHAT_OK);
	a = append(db, "/topic/a", NOW - 3000);
	b = append(db, "/topic/a", NOW - 2000);
	c = append(db, "/topic/a", NOW - 1000);
	/* s1 read up to a; s2 up to c; the relay copied up to b. */
	ck_assert_int_eq(session_advance_cursor(db, "s1", a, NULL), CHAT_OK);
	ck_assert_int_eq(session_advance_cursor(db, "s2", c, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_advance(db, "relay", b, NULL), CHAT_OK);
	ck_assert_int_eq(admin_status(db, NOW, &s, NULL), CHAT_OK);
	ck_assert_int_eq(s.schema_version, CHATDB_SCHEMA_VERSION);
	ck_assert_int_eq(s.sessions_open, 2);
	ck_assert_int_eq(s.sessions_closed, 1);
	ck_assert_int_eq(s.sessions_websocket, 1);
	ck_assert_int_eq(s.sessions_http, 0);
	ck_assert_int_eq(s.sessions_idle, 1); /* s2's lease ran out */
	ck_assert_int_eq(s.users_online, 1);  /* alice, whatever the case */
	ck_assert_int_eq(s.subscriptions, 1);
	ck_assert_int_eq(s.outbox_rows, 3);
	ck_assert_int_eq(s.outbox_last_seq, c);
	ck_assert_int_eq(s.unread_rows, 2);
	ck_assert_int_eq(s.oldest_unread_age_ms, 2000);
	ck_assert_int_eq(s.has_relay, 1);
	ck_assert_int_eq(s.relay_cursor, b);
	ck_assert_int_eq(s.relay_lag_rows, 1);
	ck_assert_int_eq(s.relay_lag_ms, 1000);
	ck_assert_int_eq(s.rooms, 1); /* general */
}
END_TEST

typedef struct seen {
	int n;
	char ids[4][CHATDB_ID_MAX + 1];
	const char *held[4];
} seen_t;

static int one_session(void *ctx, const admin_session_t *a)
{
	seen_t *s = ctx;

	if (s->n < 4) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", a->info.id);
		s->held[s->n] = a->held_by;
	}
	s->n++;
	return 0;
}

START_TEST(session_list)
{
	seen_t all = { 0 }, bob = { 0 }, one = { 0 };

	ck_assert_int_eq(session_create(db, "s1", "alice", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "s2", "bob", NOW + 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "s2", "77.1", NOW + 1, 30000, NULL), CHAT_OK);
	ck_assert_int_eq(admin_sessions(db, NULL, NOW + 2, 10, one_session, &all, NULL), CHAT_OK);
	ck_assert_int_eq(all.n, 2);
	ck_assert_str_eq(all.ids[0], "s2"); /* newest first */
	ck_assert_str_eq(all.held[0], "http");
	ck_assert_str_eq(all.held[1], "idle");
	ck_assert_int_eq(admin_sessions(db, "BOB", NOW + 2, 10, one_session, &bob, NULL), CHAT_OK);
	ck_assert_int_eq(bob.n, 1);
	ck_assert_int_eq(admin_sessions(db, NULL, NOW + 2, 1, one_session, &one, NULL), CHAT_OK);
	ck_assert_int_eq(one.n, 1);
	ck_assert_int_eq(admin_sessions(db, NULL, NOW, 0, one_session, &one, NULL), CHAT_EINVAL);
}
END_TEST

#define APPENDS 3000

/* A child that appends APPENDS rows one commit at a time, saying "ready"
 * after the first 50. */
static int writer(forkset_t *fs, int i, void *ctx)
{
	chatdb_t *d;
	int n;

	(void)i;
	(void)ctx;
	if (chatdb_open(path, 0, &d, NULL) != CHAT_OK)
		return 1;
	for (n = 0; n < APPENDS; n++) {
		outbox_msg_t m = { "/topic/w", NULL, CHAT_SLICE("h:1\n"), CHAT_SLICE("w"), NOW };

		if (outbox_append(d, &m, NULL, NULL) != CHAT_OK)
			return 2;
		if (n == 49)
			forkset_ready(fs);
	}
	chatdb_close(d);
	return 0;
}

/* The copy taken while another process appends is one snapshot: rows
 * 1..N, none missing, N at least what was committed before it began. */
START_TEST(copy_while_writing)
{
	char copy[600], again[600];
	forkset_t fs;
	int64_t n, max;

	snprintf(copy, sizeof(copy), "%s/copy.db", dir);
	snprintf(again, sizeof(again), "%s/again.db", dir);
	ck_assert_int_eq(forkset_start(&fs, 1, writer, NULL), 0);
	ck_assert_int_eq(forkset_wait_ready(&fs), 0);
	ck_assert_int_eq(admin_copy_db(path, copy, 0, NULL), CHAT_OK);
	ck_assert_int_eq(forkset_join(&fs, NULL), 1);
	n = scalar(copy, "SELECT count(*) FROM outbox");
	max = scalar(copy, "SELECT max(seq) FROM outbox");
	ck_assert_int_ge(n, 50);
	ck_assert_int_eq(n, max);
	ck_assert_int_eq(scalar(copy, "SELECT min(seq) FROM outbox"), 1);
	ck_assert_int_eq(admin_copy_db(path, copy, 0, NULL), CHAT_EEXIST);
	ck_assert_int_eq(admin_copy_db(path, copy, 1, NULL), CHAT_OK);
	ck_assert_int_eq(scalar(copy, "SELECT count(*) FROM outbox"), APPENDS);
	ck_assert_int_eq(admin_copy_db("/nonexistent/chat.db", again, 0, NULL), CHAT_ENOTFOUND);
}
END_TEST

static void count_problem(void *ctx, const char *p)
{
	ck_assert_ptr_nonnull(strstr(p, "subscriptions"));
	(*(int *)ctx)++;
}

START_TEST(check_finds_problems)
{
	chat_error_t e;
	int problems = -1, calls = 0;

	ck_assert_int_eq(admin_check_db(path, &problems, count_problem, &calls, NULL), CHAT_OK);
	ck_assert_int_eq(problems, 0);
	raw(path, "PRAGMA foreign_keys = OFF; INSERT INTO subscriptions(session_id, sub_id,"
		  " destination, ack_mode) VALUES ('ghost', 's', '/t', 'auto')");
	ck_assert_int_eq(admin_check_db(path, &problems, count_problem, &calls, NULL), CHAT_OK);
	ck_assert_int_eq(problems, 1);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(admin_check_db("/nonexistent/x.db", &problems, NULL, NULL, &e),
			 CHAT_ENOTFOUND);
	/* A copy of an unsound file is refused as unsound. */
	{
		char copy[600];

		snprintf(copy, sizeof(copy), "%s/bad-copy.db", dir);
		ck_assert_int_eq(admin_copy_db(path, copy, 0, &e), CHAT_EDB);
		ck_assert_ptr_nonnull(strstr(e.message, "not sound"));
	}
}
END_TEST

START_TEST(running_and_leases)
{
	char owner[CHATDB_ID_MAX + 1];
	int running = -1;

	ck_assert_int_eq(admin_stack_running(path, NOW, &running, owner, NULL), CHAT_OK);
	ck_assert_int_eq(running, 0);
	ck_assert_int_eq(session_create(db, "s1", NULL, NOW, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "s1", "ws:9:n", NOW, 30000, NULL), CHAT_OK);
	ck_assert_int_eq(admin_stack_running(path, NOW, &running, owner, NULL), CHAT_OK);
	ck_assert_int_eq(running, 1);
	ck_assert_str_eq(owner, "ws:9:n");
	ck_assert_int_eq(admin_stack_running(path, NOW + 30000, &running, owner, NULL), CHAT_OK);
	ck_assert_int_eq(running, 0);
	raw(path, "INSERT INTO chat_leases(name, owner, until_ms) VALUES ('relay', 'bg:1', 9e18)");
	ck_assert_int_eq(admin_stack_running(path, NOW + 30000, &running, owner, NULL), CHAT_OK);
	ck_assert_int_eq(running, 1);
	ck_assert_int_eq(admin_break_leases(db, NULL), CHAT_OK);
	ck_assert_int_eq(admin_stack_running(path, NOW + 30000, &running, owner, NULL), CHAT_OK);
	ck_assert_int_eq(running, 0);
	ck_assert_int_eq(admin_stack_running("/nonexistent/chat.db", NOW, &running, owner, NULL),
			 CHAT_OK);
	ck_assert_int_eq(running, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("admin");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_figures);
	tcase_add_test(tc, session_list);
	tcase_add_test(tc, copy_while_writing);
	tcase_add_test(tc, check_finds_problems);
	tcase_add_test(tc, running_and_leases);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
