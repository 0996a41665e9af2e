/* test_heldbeat.c - the heart-beat clocks of a held SockJS HTTP request
 * (fcgi/heldbeat) on a fake clock: each table is one request's rounds. */
#include "config.h"
#include "heldbeat.h"
#include "chat.h"
#include "testutil.h"

#include <stdio.h>

/* One round: at now, with the STOMP interval stomp and sent frames or
 * not, the heart-beat due and (none due, none sent) the wait; a due
 * heart-beat is recorded as sent at now. */
typedef struct round {
	int line;
	int64_t now, stomp;
	int sent;
	heldbeat_due_t due;
	int64_t wait; /* -1: left alone */
} round_t;

static void run(const round_t *rows, size_t n, int64_t sockjs_ms, int64_t start)
{
	heldbeat_t b;
	size_t i;

	heldbeat_start(&b, sockjs_ms, start);
	for (i = 0; i < n; i++) {
		int64_t wait = -1;
		heldbeat_due_t due = heldbeat_round(&b, rows[i].stomp, rows[i].sent, rows[i].now,
						    &wait);

		ck_assert_msg(due == rows[i].due, "row at line %d: due %d", rows[i].line, (int)due);
		ck_assert_msg(wait == rows[i].wait, "row at line %d: wait %lld", rows[i].line,
			      (long long)wait);
		heldbeat_sent(&b, due, rows[i].now);
	}
}

START_TEST(sockjs_only)
{
	static const round_t rows[] = {
		{ __LINE__, 1000, 0, 0, HELDBEAT_NONE, 25000 },
		{ __LINE__, 1000, 0, 1, HELDBEAT_NONE, -1 }, /* frames do not move "h" */
		{ __LINE__, 20000, 0, 0, HELDBEAT_NONE, 6000 },
		{ __LINE__, 25999, 0, 0, HELDBEAT_NONE, 1 },
		{ __LINE__, 26000, 0, 0, HELDBEAT_SOCKJS, -1 },
		{ __LINE__, 26000, 0, 0, HELDBEAT_NONE, 25000 },
		{ __LINE__, 60000, 0, 0, HELDBEAT_SOCKJS, -1 }, /* late: from when it went */
		{ __LINE__, 60001, 0, 0, HELDBEAT_NONE, 24999 },
	};

	run(rows, CHAT_ARRAY_LEN(rows), 25000, 1000);
}
END_TEST

START_TEST(stomp_and_sockjs)
{
	static const round_t rows[] = {
		/* The STOMP clock starts on the first round that has an interval. */
		{ __LINE__, 1000, 10000, 0, HELDBEAT_NONE, 10000 },
		{ __LINE__, 5000, 10000, 1, HELDBEAT_NONE, -1 }, /* frames restart it */
		{ __LINE__, 5000, 10000, 0, HELDBEAT_NONE, 10000 },
		{ __LINE__, 15000, 10000, 0, HELDBEAT_STOMP, -1 },
		{ __LINE__, 15000, 10000, 0, HELDBEAT_NONE, 10000 }, /* "h" at 26000 later */
		{ __LINE__, 25000, 10000, 0, HELDBEAT_STOMP, -1 },
		{ __LINE__, 25000, 10000, 0, HELDBEAT_NONE, 1000 }, /* "h" first */
		{ __LINE__, 26000, 10000, 0, HELDBEAT_SOCKJS, -1 },
		{ __LINE__, 26000, 10000, 0, HELDBEAT_NONE, 9000 },
		/* Both due: the STOMP one first, "h" the round after. */
		{ __LINE__, 60000, 10000, 0, HELDBEAT_STOMP, -1 },
		{ __LINE__, 60000, 10000, 0, HELDBEAT_SOCKJS, -1 },
		{ __LINE__, 60000, 10000, 0, HELDBEAT_NONE, 10000 },
	};

	run(rows, CHAT_ARRAY_LEN(rows), 25000, 1000);
}
END_TEST

START_TEST(stomp_off_and_on)
{
	static const round_t rows[] = {
		{ __LINE__, 1000, 0, 0, HELDBEAT_NONE, 25000 },
		/* A CONNECT asks for heart-beats: its CONNECTED went (sent). */
		{ __LINE__, 2000, 5000, 1, HELDBEAT_NONE, -1 },
		{ __LINE__, 7000, 5000, 0, HELDBEAT_STOMP, -1 },
		/* None asked any more: the clock stops, only "h" remains. */
		{ __LINE__, 8000, 0, 0, HELDBEAT_NONE, 18000 },
		/* Asked again with no frame: the clock starts now. */
		{ __LINE__, 9000, 5000, 0, HELDBEAT_NONE, 5000 },
		{ __LINE__, 14000, 5000, 0, HELDBEAT_STOMP, -1 },
	};

	run(rows, CHAT_ARRAY_LEN(rows), 25000, 1000);
}
END_TEST

START_TEST(wait_may_be_null)
{
	heldbeat_t b;

	heldbeat_start(&b, 100, 0);
	ck_assert_int_eq(heldbeat_round(&b, 0, 0, 50, NULL), HELDBEAT_NONE);
	ck_assert_int_eq(heldbeat_round(&b, 0, 0, 100, NULL), HELDBEAT_SOCKJS);
	heldbeat_sent(&b, HELDBEAT_NONE, 100); /* records nothing */
	ck_assert_int_eq(heldbeat_round(&b, 0, 0, 100, NULL), HELDBEAT_SOCKJS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("heldbeat");
	TCase *tc = tcase_create("heldbeat");

	tcase_add_test(tc, sockjs_only);
	tcase_add_test(tc, stomp_and_sockjs);
	tcase_add_test(tc, stomp_off_and_on);
	tcase_add_test(tc, wait_may_be_null);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
