/*
 * test_heartbeat.c - STOMP heart-beats through the broker on a fake
 * clock: each row CONNECTs a session at NOW with heart-beat:cx,cy under
 * the row's options, checks CONNECTED's heart-beat header against
 * core/heartbeat's rules, shows signs of life at the row's times (a
 * heart-beat EOL, a SockJS request), and sweeps at the last moment the
 * client is alive and one ms later.  This holds the sweep's SQL to
 * heartbeat_dead_after(); the times are parameters, nothing waits.
 */
#include "config.h"
#include "broker.h"
#include "brokerutil.h"
#include "heartbeat.h"
#include "service.h"
#include "session.h"
#include "testutil.h"
#include "tmpdb.h"

#include <stdio.h>
#include <string.h>

#define NOW 1700000000000LL
#define S 1000

enum life {
	EOL,
	REQUEST
};

static const struct {
	int line;
	int64_t sx, floor, liveness; /* stomp_heartbeat_ms, heartbeat_ms, stomp_liveness_ms */
	int64_t cx, cy;
	const char *connected; /* CONNECTED's heart-beat header */
	enum life how;         /* the signs of life... */
	int64_t at[3];         /* ...at NOW + these (0 ends the list) */
} rows[] = {
	/* Promised nothing: never swept. */
	{ __LINE__, 10 * S, 25 * S, 1 * S, 0, 0, "10000,0", EOL, { 0 } },
	{ __LINE__, 10 * S, 25 * S, 1 * S, 0, 10 * S, "10000,0", EOL, { 0 } },
	/* 5 s promised, taken at the SockJS heartbeat: 2 x 25 s. */
	{ __LINE__, 10 * S, 25 * S, 1 * S, 5 * S, 0, "10000,25000", EOL, { 0 } },
	{ __LINE__, 10 * S, 25 * S, 1 * S, 5 * S, 0, "10000,25000", EOL, { 30 * S } },
	{ __LINE__,
	  10 * S,
	  25 * S,
	  1 * S,
	  5 * S,
	  0,
	  "10000,25000",
	  EOL,
	  { 30 * S, 70 * S, 110 * S } },
	/* The liveness floor wins over twice a short interval. */
	{ __LINE__, 10 * S, 25 * S, 120 * S, 4 * S, 0, "10000,25000", EOL, { 0 } },
	{ __LINE__, 10 * S, 25 * S, 120 * S, 4 * S, 0, "10000,25000", REQUEST, { 109 * S } },
	/* Polls count: a client that only polls stays (heartbeat.mjs). */
	{ __LINE__,
	  1 * S,
	  1 * S,
	  3 * S,
	  4 * S,
	  4 * S,
	  "1000,4000",
	  REQUEST,
	  { 5 * S, 10 * S, 15 * S } },
	/* A client heart-beating at 500 ms under SockJS 1 s (features.mjs). */
	{ __LINE__, 10 * S, 1 * S, 1 * S, 500, 0, "10000,1000", EOL, { 1 * S, 2 * S, 3 * S } },
	/* No server heart-beats offered: the client's are still taken. */
	{ __LINE__, 0, 25 * S, 1 * S, 30 * S, 30 * S, "0,30000", EOL, { 0 } },
	/* A long promise: 2 x 60 s. */
	{ __LINE__, 10 * S, 25 * S, 1 * S, 60 * S, 60 * S, "10000,60000", EOL, { 119 * S } },
};

static char *dir;
static char path[512];
static chatdb_t *db;
static chat_options_t opt;
static service_t svc[SERVICE_MAX];
static service_ctx_t ctx;

static session_state_t state(const char *key)
{
	session_info_t info;

	ck_assert_int_eq(session_get(db, key, &info, NULL), CHAT_OK);
	return info.state;
}

START_TEST(sweep_on_a_fake_clock)
{
	size_t i, k;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		char keys[1][CHATDB_ID_MAX + 1], frame[256], out[4096], want[64];
		int64_t expect = heartbeat_expect_ms(rows[i].cx, rows[i].floor);
		int64_t heard = NOW, after, closed = -1;

		tmpdb_open("heartbeat", &dir, path, sizeof(path), &db);
		ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
		opt.session_id_min = 1;
		opt.stomp_heartbeat_ms = rows[i].sx;
		opt.heartbeat_ms = rows[i].floor;
		opt.stomp_liveness_ms = rows[i].liveness;
		ck_assert_uint_ge(service_table(&opt, svc), 1);
		ctx.db = db;
		ctx.opt = &opt;
		brokerutil_open_sessions(&ctx, &svc[0], 1, NOW, 1, keys);
		snprintf(frame, sizeof(frame),
			 "CONNECT\naccept-version:1.2\nheart-beat:%lld,%lld\n\n^",
			 (long long)rows[i].cx, (long long)rows[i].cy);
		ck_assert_int_eq(brokerutil_send(&ctx, &svc[0], keys[0], frame, NOW), CHAT_OK);
		snprintf(want, sizeof(want), "\nheart-beat:%s\n", rows[i].connected);
		ck_assert_msg(strstr(brokerutil_collect(&ctx, &svc[0], keys[0], 16, out,
							sizeof(out)),
				     want) != NULL,
			      "row at line %d: %s", rows[i].line, out);
		snprintf(want, sizeof(want), "%lld,%lld", (long long)rows[i].sx, (long long)expect);
		ck_assert_msg(!strcmp(want, rows[i].connected), "row at line %d: the rules say %s",
			      rows[i].line, want);
		for (k = 0; k < CHAT_ARRAY_LEN(rows[i].at) && rows[i].at[k] > 0; k++) {
			int64_t t = NOW + rows[i].at[k];

			/* Alive until then, whatever came before. */
			ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, t, &closed, NULL),
					 CHAT_OK);
			ck_assert_msg(closed == 0, "row at line %d: swept before %lld",
				      rows[i].line, (long long)rows[i].at[k]);
			if (rows[i].how == EOL)
				ck_assert_int_eq(brokerutil_send(&ctx, &svc[0], keys[0], "\n", t),
						 CHAT_OK);
			else
				ck_assert_int_eq(broker_heard(db, keys[0], t, NULL), CHAT_OK);
			heard = t;
		}
		after = heartbeat_dead_after(expect, rows[i].liveness);
		if (after == 0) {
			/* Never: not even a day later. */
			ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, heard + 86400 * S,
								&closed, NULL),
					 CHAT_OK);
			ck_assert_msg(closed == 0, "row at line %d", rows[i].line);
			ck_assert_int_eq(state(keys[0]), SESSION_OPEN);
		} else {
			ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, heard + after, &closed,
								NULL),
					 CHAT_OK);
			ck_assert_msg(closed == 0, "row at line %d: swept at the bound",
				      rows[i].line);
			ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, heard + after + 1,
								&closed, NULL),
					 CHAT_OK);
			ck_assert_msg(closed == 1, "row at line %d: alive past the bound",
				      rows[i].line);
			snprintf(want, sizeof(want), "nothing received for %lld ms",
				 (long long)after + 1);
			ck_assert_msg(strstr(brokerutil_collect(&ctx, &svc[0], keys[0], 16, out,
								sizeof(out)),
					     want) != NULL,
				      "row at line %d: %s", rows[i].line, out);
			ck_assert_int_eq(state(keys[0]), SESSION_CLOSED);
		}
		options_free(&opt);
		tmpdb_close(&dir, &db);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("heartbeat");
	TCase *tc = tcase_create("heartbeat");

	tcase_add_test(tc, sweep_on_a_fake_clock);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
