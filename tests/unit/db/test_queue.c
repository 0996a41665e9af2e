/* test_queue.c - /queue consumers in turn (db/queue.c): round-robin by
 * last service, prefetch-count, passing over a NACKing consumer, closed
 * sessions left out, and a SEND's statement reading the queue's own index
 * entries rather than every subscription. */
#include "config.h"
#include "queue.h"
#include "session.h"
#include "testutil.h"
#include "tmpdb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static char *dir;
static char path[512];
static chatdb_t *db;

static void setup(void)
{
	tmpdb_open("queue", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

/* Session id with one subscription "s" to dest, ack mode, prefetch. */
static void consumer(const char *id, const char *dest, session_ack_t ack, int prefetch)
{
	char sql[256];

	if (session_get(db, id, &(session_info_t){ 0 }, NULL) != CHAT_OK)
		ck_assert_int_eq(session_create(db, id, NULL, 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, id, "s", dest, ack, NULL), CHAT_OK);
	snprintf(sql, sizeof(sql), "UPDATE subscriptions SET prefetch = %d WHERE session_id = '%s'",
		 prefetch, id);
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* The session queue_pick() chooses for message seq ("" when none). */
static const char *pick(const char *dest, int64_t seq, const char *skip)
{
	static queue_consumer_t c;
	int found = -1;

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(queue_pick(db, dest, seq, skip, skip ? "s" : NULL, &c, &found, NULL),
			 CHAT_OK);
	ck_assert_int_ge(found, 0);
	if (found)
		ck_assert_str_eq(c.sub_id, "s");
	return found ? c.session_id : "";
}

START_TEST(in_turn)
{
	const char *want[] = { "a", "b", "a", "b", "a", "b", "a", "b" };
	int64_t seq = 10;

	consumer("a", "/queue/jobs", SESSION_ACK_AUTO, 0);
	consumer("b", "/queue/jobs", SESSION_ACK_AUTO, 0);
	consumer("c", "/queue/other", SESSION_ACK_AUTO, 0);
	for (size_t i = 0; i < CHAT_ARRAY_LEN(want); i++) {
		/* Other rows (receipts, other queues) between the SENDs do not
		 * change whose turn it is. */
		ck_assert_str_eq(pick("/queue/jobs", seq, NULL), want[i]);
		ck_assert_str_eq(pick("/queue/other", seq + 1, NULL), "c");
		seq += 3;
	}
	ck_assert_str_eq(pick("/queue/none", seq, NULL), "");
	/* A consumer that joins is served next, then takes its turn. */
	consumer("d", "/queue/jobs", SESSION_ACK_AUTO, 0);
	ck_assert_str_eq(pick("/queue/jobs", 100, NULL), "d");
	ck_assert_str_eq(pick("/queue/jobs", 101, NULL), "a");
	ck_assert_str_eq(pick("/queue/jobs", 102, NULL), "b");
	ck_assert_str_eq(pick("/queue/jobs", 103, NULL), "d");
	/* Closed sessions take no turn. */
	ck_assert_int_eq(session_close(db, "a", 1000, "gone", 2, NULL), CHAT_OK);
	ck_assert_str_eq(pick("/queue/jobs", 104, NULL), "b");
	ck_assert_str_eq(pick("/queue/jobs", 105, NULL), "d");
	ck_assert_str_eq(pick("/queue/jobs", 106, NULL), "b");
}
END_TEST

START_TEST(prefetch)
{
	int64_t v = -1;

	consumer("a", "/queue/jobs", SESSION_ACK_CLIENT_INDIVIDUAL, 1);
	consumer("b", "/queue/jobs", SESSION_ACK_CLIENT, 2);
	ck_assert_str_eq(pick("/queue/jobs", 1, NULL), "a");
	ck_assert_str_eq(pick("/queue/jobs", 2, NULL), "b");
	/* a holds its one unacked message: b, until it holds two. */
	ck_assert_str_eq(pick("/queue/jobs", 3, NULL), "b");
	/* Both full: the least recently served, nothing dropped. */
	ck_assert_str_eq(pick("/queue/jobs", 4, NULL), "a");
	ck_assert_int_eq(queue_settle(db, "a", "s", 1, 0, NULL), CHAT_OK);
	ck_assert_str_eq(pick("/queue/jobs", 5, NULL), "b");
	ck_assert_int_eq(queue_settle(db, "a", "s", 4, 0, NULL), CHAT_OK);
	ck_assert_str_eq(pick("/queue/jobs", 6, NULL), "a");
	/* b acks cumulatively up to 5 (2, 3 and 5): two free places, while a
	 * holds 6. */
	ck_assert_int_eq(queue_settle(db, "b", "s", 5, 1, NULL), CHAT_OK);
	ck_assert_str_eq(pick("/queue/jobs", 7, NULL), "b");
	ck_assert_str_eq(pick("/queue/jobs", 8, NULL), "b");
	/* UNSUBSCRIBE forgets all. */
	ck_assert_int_eq(queue_settle(db, "a", "s", -1, 0, NULL), CHAT_OK);
	ck_assert_str_eq(pick("/queue/jobs", 9, NULL), "a");

	ck_assert_int_eq(queue_prefetch_parse("0", &v), CHAT_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(queue_prefetch_parse("65535", &v), CHAT_OK);
	ck_assert_int_eq(v, 65535);
	ck_assert_int_eq(queue_prefetch_parse("65536", &v), CHAT_EINVAL);
	ck_assert_int_eq(queue_prefetch_parse("1000000000000", &v), CHAT_EINVAL);
	ck_assert_int_eq(queue_prefetch_parse("-1", &v), CHAT_EINVAL);
	ck_assert_int_eq(queue_prefetch_parse("1x", &v), CHAT_EINVAL);
	ck_assert_int_eq(queue_prefetch_parse("", &v), CHAT_EINVAL);
	ck_assert_int_eq(queue_prefetch_parse(NULL, &v), CHAT_EINVAL);
}
END_TEST

START_TEST(nack_passes_over)
{
	consumer("a", "/queue/jobs", SESSION_ACK_CLIENT, 0);
	/* Alone, the NACKing consumer gets the message back. */
	ck_assert_str_eq(pick("/queue/jobs", 1, "a"), "a");
	consumer("b", "/queue/jobs", SESSION_ACK_CLIENT, 1);
	consumer("c", "/queue/jobs", SESSION_ACK_CLIENT, 0);
	/* b is first in turn but a NACK from b goes on to c. */
	ck_assert_str_eq(pick("/queue/jobs", 2, "b"), "c");
	ck_assert_str_eq(pick("/queue/jobs", 3, NULL), "b");
	/* b is full and c served after a: a NACK from a goes to c, not
	 * back to a, and not to b (full) while c is free. */
	ck_assert_str_eq(pick("/queue/jobs", 4, "a"), "c");
}
END_TEST

START_TEST(send_reads_the_queue_index)
{
	sqlite3_stmt *st;
	char plan[2048] = "";
	size_t n = 0;

	{
		char sql[2048];

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", queue__sql_pick);
		ck_assert_int_eq(sqlite3_prepare_v2(chatdb_sqlite(db), sql, -1, &st, NULL),
				 SQLITE_OK);
	}
	while (sqlite3_step(st) == SQLITE_ROW && n < sizeof(plan) - 2) {
		n += (size_t)snprintf(plan + n, sizeof(plan) - n, "%s\n",
				      (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	/* The subscriptions are searched by destination in turn order (no
	 * scan, no sort); sessions and in-flight rows by primary key. */
	ck_assert_msg(strstr(plan, "SEARCH u USING INDEX subscriptions_queue (destination=?)") !=
				      NULL ||
			      strstr(plan, "SEARCH u USING COVERING INDEX subscriptions_queue "
					   "(destination=?)") != NULL,
		      "plan:\n%s", plan);
	ck_assert_msg(strstr(plan, "SCAN") == NULL, "plan:\n%s", plan);
	ck_assert_msg(strstr(plan, "TEMP B-TREE") == NULL, "plan:\n%s", plan);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, in_turn);
	tcase_add_test(tc, prefetch);
	tcase_add_test(tc, nack_passes_over);
	tcase_add_test(tc, send_reads_the_queue_index);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
