/* test_wsq.c - the bounded per-connection send queue of chat-ws. */
#include "config.h"
#include "wsq.h"
#include "testutil.h"

#include <string.h>

START_TEST(fifo_with_headroom)
{
	wsq_t q;
	unsigned char *p;
	size_t len, sent;

	wsq_init(&q, 100, 10, 16);
	ck_assert(wsq_empty(&q));
	ck_assert_ptr_null(wsq_front(&q, &len, &sent));
	ck_assert_int_eq(wsq_push(&q, "one", 3), CHAT_OK);
	ck_assert_int_eq(wsq_push(&q, "", 0), CHAT_OK);
	ck_assert_int_eq(wsq_push(&q, "three", 5), CHAT_OK);
	ck_assert_uint_eq(q.count, 3);
	ck_assert_uint_eq(q.bytes, 8);
	p = wsq_front(&q, &len, &sent);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(sent, 0);
	ck_assert(memcmp(p, "one", 3) == 0);
	memset(p - 16, 'x', 16); /* the headroom is ours to scribble on */
	wsq_advance(&q, 3);
	p = wsq_front(&q, &len, &sent);
	ck_assert_uint_eq(len, 0);
	wsq_advance(&q, 0);
	p = wsq_front(&q, &len, &sent);
	ck_assert_uint_eq(len, 5);
	ck_assert(memcmp(p, "three", 5) == 0);
	wsq_advance(&q, 5);
	ck_assert(wsq_empty(&q));
	ck_assert_uint_eq(q.count, 0);
	ck_assert_uint_eq(q.bytes, 0);
	wsq_clear(&q);
}
END_TEST

START_TEST(partial_sends)
{
	wsq_t q;
	unsigned char *p;
	size_t len, sent;

	wsq_init(&q, 100, 10, 4);
	ck_assert_int_eq(wsq_push(&q, "abcdefghij", 10), CHAT_OK);
	ck_assert_int_eq(wsq_push(&q, "k", 1), CHAT_OK);
	wsq_advance(&q, 4);
	p = wsq_front(&q, &len, &sent);
	ck_assert_uint_eq(len, 10);
	ck_assert_uint_eq(sent, 4);
	ck_assert(memcmp(p + sent, "efghij", 6) == 0);
	ck_assert_uint_eq(q.bytes, 7);
	/* Sent bytes before the next piece may be overwritten (lws header). */
	memset(p + sent - 4, 0, 4);
	wsq_advance(&q, 100); /* clamped to what remains */
	p = wsq_front(&q, &len, &sent);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(sent, 0);
	ck_assert_int_eq(p[0], 'k');
	ck_assert_uint_eq(q.count, 1);
	wsq_clear(&q);
	wsq_advance(&q, 1); /* empty: nothing happens */
	ck_assert(wsq_empty(&q));
}
END_TEST

/* Bounds, as rows: queue these pushes in order, expect these codes. */
static const struct {
	int line;
	size_t max_bytes, max_count;
	size_t lens[6];
	int want[6];
	size_t n;
} bound_rows[] = {
	{ __LINE__, 10, 10, { 5, 5, 1 }, { CHAT_OK, CHAT_OK, CHAT_ETOOBIG }, 3 },
	{ __LINE__, 10, 10, { 11 }, { CHAT_ETOOBIG }, 1 },
	{ __LINE__, 10, 10, { 10, 0 }, { CHAT_OK, CHAT_OK }, 2 },
	{ __LINE__, 100, 2, { 1, 1, 1 }, { CHAT_OK, CHAT_OK, CHAT_ETOOMANY }, 3 },
	{ __LINE__, 100, 2, { 0, 0, 0 }, { CHAT_OK, CHAT_OK, CHAT_ETOOMANY }, 3 },
	{ __LINE__, 10, 3, { 4, 7, 6, 1 }, { CHAT_OK, CHAT_ETOOBIG, CHAT_OK, CHAT_ETOOBIG }, 4 },
	{ __LINE__, 10, 3, { 4, 0, 6, 0 }, { CHAT_OK, CHAT_OK, CHAT_OK, CHAT_ETOOMANY }, 4 },
};

START_TEST(bounds)
{
	static char big[64];
	size_t i, k;

	for (i = 0; i < sizeof(bound_rows) / sizeof(bound_rows[0]); i++) {
		wsq_t q;

		wsq_init(&q, bound_rows[i].max_bytes, bound_rows[i].max_count, 8);
		for (k = 0; k < bound_rows[i].n; k++) {
			size_t before_bytes = q.bytes, before_count = q.count;
			int rc = wsq_push(&q, big, bound_rows[i].lens[k]);

			ck_assert_msg(rc == bound_rows[i].want[k], "row at line %d, push %zu: %d",
				      bound_rows[i].line, k, rc);
			if (rc != CHAT_OK)
				ck_assert_msg(q.bytes == before_bytes && q.count == before_count,
					      "row at line %d: a failed push changed the queue",
					      bound_rows[i].line);
		}
		wsq_clear(&q);
	}
}
END_TEST

START_TEST(size_overflow_is_too_big)
{
	wsq_t q;
	static char b[8];

	wsq_init(&q, (size_t)-1, 5, 8);
	ck_assert_int_eq(wsq_push(&q, b, 8), CHAT_OK);
	/* bytes + len would wrap around: refused, not allocated. */
	ck_assert_int_eq(wsq_push(&q, b, (size_t)-1 - 4), CHAT_ETOOBIG);
	wsq_clear(&q);
	wsq_clear(NULL);
}
END_TEST

START_TEST(room_again_after_sending)
{
	wsq_t q;

	wsq_init(&q, 10, 2, 0);
	ck_assert_int_eq(wsq_push(&q, "12345678", 8), CHAT_OK);
	ck_assert_int_eq(wsq_push(&q, "123", 3), CHAT_ETOOBIG);
	wsq_advance(&q, 5); /* the unsent part is what counts */
	ck_assert_int_eq(wsq_push(&q, "123", 3), CHAT_OK);
	ck_assert_int_eq(wsq_push(&q, "1", 1), CHAT_ETOOMANY);
	wsq_advance(&q, 3);
	ck_assert_int_eq(wsq_push(&q, "1", 1), CHAT_OK);
	wsq_clear(&q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wsq");
	TCase *tc = tcase_create("wsq");

	tcase_add_test(tc, fifo_with_headroom);
	tcase_add_test(tc, partial_sends);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, size_overflow_is_too_big);
	tcase_add_test(tc, room_again_after_sending);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
