/*
 * test_dispatch.c - the per-process dispatcher against a temp chat.db:
 * one read per wakeup reaching only the sessions a row concerns, state
 * changes made through another handle (another process) taking effect from
 * the next row, a slow session lagging in the outbox and fed as it drains,
 * a session that fell behind the retention window told so, and
 * acknowledgement state written before anyone is woken.
 */
#include "config.h"
#include "brokerutil.h"
#include "dispatch.h"
#include "outbox.h"
#include "service.h"
#include "session.h"
#include "testutil.h"
#include "tmpdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1700000000000LL
#define NSESS 4
#define GUEST "CONNECT\naccept-version:1.2\n\n^"

static char *dir;
static char path[512];
static chatdb_t *db, *db2;
static chat_options_t opt;
static service_t svc[SERVICE_MAX];
static service_ctx_t ctx, ctx2;
static char keys[NSESS][CHATDB_ID_MAX + 1];
static dispatch_t *disp;
static chatdb_t *disp_db;
static dispatch_sess_t *ds[NSESS];
static int readies[NSESS];
static size_t take_items = 4096; /* what one take may hand out */

static void on_ready(void *p)
{
	(*(int *)p)++;
}

static void setup(void)
{
	tmpdb_open("dispatch", &dir, path, sizeof(path), &db);
	ck_assert_int_eq(chatdb_open(path, 0, &db2, NULL), CHAT_OK);
	ck_assert_int_eq(chatdb_open(path, 0, &disp_db, NULL), CHAT_OK);
	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
	opt.topic_send = 1;
	opt.session_id_min = 1; /* the tests' sessions are "s0", "s1"... */
	opt.rate_sends_burst = opt.rate_guest_sends_burst = 0; /* the clock stands still */
	ck_assert_uint_ge(service_table(&opt, svc), 1);
	ctx.db = db;
	ctx.opt = &opt;
	ctx2.db = db2;
	ctx2.opt = &opt;
	brokerutil_open_sessions(&ctx, &svc[0], NSESS, NOW, 1, keys);
	ck_assert_int_eq(dispatch_new(disp_db, &disp), CHAT_OK);
	memset(ds, 0, sizeof(ds));
	memset(readies, 0, sizeof(readies));
	take_items = 4096;
}

static void teardown(void)
{
	for (int i = 0; i < NSESS; i++)
		if (ds[i] != NULL)
			(void)dispatch_detach(disp, ds[i]);
	dispatch_free(disp);
	chatdb_close(disp_db);
	chatdb_close(db2);
	service_ctx_cleanup(&ctx);
	service_ctx_cleanup(&ctx2);
	options_free(&opt);
	tmpdb_close(&dir, &db);
}

static void send_on(service_ctx_t *c, int who, const char *text)
{
	ck_assert_int_eq(brokerutil_send(c, &svc[0], keys[who], text, NOW), CHAT_OK);
}

static void attach(int who, size_t max_items)
{
	session_info_t info;

	ck_assert_int_eq(session_get(db, keys[who], &info, NULL), CHAT_OK);
	ck_assert_int_eq(dispatch_attach(disp, db, keys[who], DELIVERY_STOMP, 0, info.cursor,
					 1 << 20, max_items, on_ready, &readies[who], &ds[who],
					 NULL),
			 CHAT_OK);
}

static void run(void)
{
	int more = 1;

	while (more)
		ck_assert_int_eq(dispatch_run(disp, &more, NULL), CHAT_OK);
}

/* What a take hands session who: the messages' bodies (after the blank
 * line) joined by '|', or the command of a frame without body. */
static const char *take(int who, dispatch_end_t *end)
{
	static char out[1 << 16];
	json_strv_t v;
	size_t k = 0;

	json_strv_init(&v, 1 << 20, take_items);
	ck_assert_int_eq(dispatch_take(disp, ds[who], db, &v, end, NULL), CHAT_OK);
	out[0] = '\0';
	for (size_t i = 0; i < v.n; i++) {
		chat_slice_t m = json_strv_at(&v, i);
		const char *body = memmem(m.ptr, m.len, "\n\n", 2);
		size_t n;

		body = body != NULL && body[2] != '\0' ? body + 2 : m.ptr;
		n = strcspn(body, body == m.ptr ? "\n" : "");
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s%.*s", i ? "|" : "", (int)n,
				      body);
	}
	json_strv_free(&v);
	return out;
}

/* Routes what is there and empties every attached session. */
static void settle(void)
{
	run();
	for (int i = 0; i < NSESS; i++)
		while (ds[i] != NULL && dispatch_ready(disp, ds[i]))
			(void)take(i, NULL);
	memset(readies, 0, sizeof(readies));
}

START_TEST(one_read_reaches_only_subscribers)
{
	for (int i = 0; i < NSESS; i++)
		send_on(&ctx, i, GUEST);
	send_on(&ctx, 0, "SUBSCRIBE\nid:a\ndestination:/topic/room\n\n^");
	send_on(&ctx, 1, "SUBSCRIBE\nid:b\ndestination:/topic/*\n\n^");
	send_on(&ctx, 2, "SUBSCRIBE\nid:c\ndestination:/topic/other\n\n^");
	for (int i = 0; i < NSESS; i++)
		attach(i, 64);
	settle();
	send_on(&ctx, 3, "SEND\ndestination:/topic/room\n\nhello^");
	run();
	ck_assert_int_eq(readies[0], 1);
	ck_assert_int_eq(readies[1], 1);
	ck_assert_int_eq(readies[2], 0); /* other topic: not woken */
	ck_assert_int_eq(readies[3], 0); /* no subscription: not woken */
	ck_assert(!dispatch_ready(disp, ds[2]));
	ck_assert_str_eq(take(0, NULL), "hello");
	ck_assert_str_eq(take(1, NULL), "hello");
	ck_assert_str_eq(take(2, NULL), "");
	/* The cursors moved for everyone, messages or not. */
	for (int i = 0; i < NSESS; i++)
		ck_assert_int_eq(dispatch_cursor(disp, ds[i]),
				 brokerutil_scalar(db, "SELECT max(seq) FROM outbox"));
}
END_TEST

START_TEST(changes_from_another_process)
{
	send_on(&ctx, 0, GUEST);
	attach(0, 64);
	settle();
	send_on(&ctx2, 1, GUEST);
	send_on(&ctx2, 1, "SEND\ndestination:/topic/t\n\nbefore^");
	/* A SUBSCRIBE received by another process (another handle) for the
	 * session this dispatcher holds. */
	send_on(&ctx2, 0, "SUBSCRIBE\nid:s\ndestination:/topic/t\nreceipt:r\n\n^");
	send_on(&ctx2, 1, "SEND\ndestination:/topic/t\n\nafter^");
	run();
	ck_assert_str_eq(take(0, NULL), "RECEIPT|after");
	send_on(&ctx2, 0, "UNSUBSCRIBE\nid:s\n\n^");
	send_on(&ctx2, 1, "SEND\ndestination:/topic/t\n\ngone^");
	run();
	ck_assert_str_eq(take(0, NULL), "");
	ck_assert(!dispatch_ready(disp, ds[0]));
}
END_TEST

START_TEST(slow_session_lags_in_the_outbox)
{
	char text[64], want[1024] = "";
	dispatch_end_t end;
	size_t k = 0;
	int i;

	send_on(&ctx, 0, GUEST);
	send_on(&ctx, 1, GUEST);
	send_on(&ctx, 0, "SUBSCRIBE\nid:s\ndestination:/topic/t\n\n^");
	attach(0, 3); /* a batch holds three messages */
	attach(1, 64);
	settle();
	take_items = 3; /* and so does a response */
	for (i = 0; i < 10; i++) {
		snprintf(text, sizeof(text), "SEND\ndestination:/topic/t\n\nm%d^", i);
		send_on(&ctx, 1, text);
		k += (size_t)snprintf(want + k, sizeof(want) - k, "%sm%d", i ? "|" : "", i);
	}
	run();
	/* Three in its batch; the rest waits in the outbox and comes as it
	 * drains, in order, once each. */
	ck_assert_str_eq(take(0, &end), "m0|m1|m2");
	ck_assert(dispatch_ready(disp, ds[0]));
	{
		char got[1024] = "m0|m1|m2";

		while (dispatch_ready(disp, ds[0])) {
			const char *t = take(0, &end);

			if (*t)
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "|%s", t);
		}
		ck_assert_str_eq(got, want);
	}
	ck_assert(!end.closed);
	/* Caught up: back in step with the dispatcher. */
	send_on(&ctx, 1, "SEND\ndestination:/topic/t\n\nlive^");
	run();
	ck_assert_str_eq(take(0, NULL), "live");
}
END_TEST

START_TEST(fell_behind_the_retention_window)
{
	dispatch_end_t end;
	int64_t pruned = 0;

	send_on(&ctx, 0, GUEST);
	send_on(&ctx, 1, GUEST);
	send_on(&ctx, 0, "SUBSCRIBE\nid:s\ndestination:/topic/t\n\n^");
	attach(0, 1);
	settle();
	send_on(&ctx, 1, "SEND\ndestination:/topic/t\n\nm0^");
	send_on(&ctx, 1, "SEND\ndestination:/topic/t\n\nm1^");
	run();
	/* The rows it did not take are older than the retention window. */
	ck_assert_int_eq(outbox_prune(db, NOW + 3600000, 1000, &pruned, NULL), CHAT_OK);
	ck_assert_int_gt(pruned, 0);
	ck_assert_str_eq(take(0, &end), "m0|ERROR");
	ck_assert(end.closed);
	ck_assert_int_eq(end.code, DISPATCH_CLOSE_BEHIND);
}
END_TEST

START_TEST(acks_recorded_before_waking)
{
	send_on(&ctx, 0, GUEST);
	send_on(&ctx, 1, GUEST);
	send_on(&ctx, 0, "SUBSCRIBE\nid:s\ndestination:/topic/t\nack:client\n\n^");
	attach(0, 64);
	settle();
	send_on(&ctx, 1, "SEND\ndestination:/topic/t\n\nm^");
	run();
	ck_assert_int_eq(readies[0], 1);
	ck_assert_int_eq(brokerutil_scalar(db, "SELECT count(*) FROM stomp_unacked"), 1);
	ck_assert_str_eq(take(0, NULL), "m");
}
END_TEST

START_TEST(nothing_attached_reads_nothing)
{
	int more = 1;

	send_on(&ctx, 0, GUEST);
	ck_assert_uint_eq(dispatch_count(disp), 0);
	ck_assert_int_eq(dispatch_run(disp, &more, NULL), CHAT_OK);
	ck_assert_int_eq(more, 0);
	attach(0, 64);
	ck_assert_uint_eq(dispatch_count(disp), 1);
	/* Its cursor is where the session row says: CONNECTED is to come. */
	run();
	ck_assert_str_eq(take(0, NULL), "CONNECTED");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("dispatch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, one_read_reaches_only_subscribers);
	tcase_add_test(tc, changes_from_another_process);
	tcase_add_test(tc, slow_session_lags_in_the_outbox);
	tcase_add_test(tc, fell_behind_the_retention_window);
	tcase_add_test(tc, acks_recorded_before_waking);
	tcase_add_test(tc, nothing_attached_reads_nothing);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
