/* test_heartbeat.c - the STOMP heart-beat rules (core/heartbeat) on a fake
 * clock: what CONNECT's heart-beat:cx,cy agrees, when the server's EOLs go
 * out, and when a silent client is dead.  No test here waits. */
#include "config.h"
#include "chat.h"
#include "heartbeat.h"
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define S 1000 /* ms */

/* Negotiation: the server offers sx (stomp_heartbeat_ms), takes the
 * client's no more often than the SockJS heartbeat (floor). */
static const struct {
	int line;
	int64_t sx, floor, cx, cy;
	int64_t send, expect;
} terms[] = {
	{ __LINE__, 10 * S, 25 * S, 0, 0, 0, 0 },
	{ __LINE__, 10 * S, 25 * S, 10 * S, 10 * S, 10 * S, 25 * S }, /* stomp.js 2.3.3 */
	{ __LINE__, 10 * S, 25 * S, 4 * S, 4 * S, 10 * S, 25 * S },
	{ __LINE__, 10 * S, 25 * S, 60 * S, 60 * S, 60 * S, 60 * S },
	{ __LINE__, 10 * S, 25 * S, 0, 1, 10 * S, 0 },
	{ __LINE__, 10 * S, 25 * S, 1, 0, 0, 25 * S },
	/* No server heart-beats: none sent whatever the client asks. */
	{ __LINE__, 0, 25 * S, 5 * S, 5 * S, 0, 25 * S },
	/* A tiny server interval counts as HEARTBEAT_MIN_MS. */
	{ __LINE__, 1, 1 * S, 0, 1, HEARTBEAT_MIN_MS, 0 },
	{ __LINE__, 50, 1 * S, 0, 70, HEARTBEAT_MIN_MS, 0 },
	{ __LINE__, 50, 1 * S, 0, 150, 150, 0 },
	{ __LINE__, 1 * S, 1 * S, 500, 0, 0, 1 * S },
	{ __LINE__, 1 * S, 1 * S, 5 * S, 5 * S, 5 * S, 5 * S },
	{ __LINE__, 1 * S, 0, 500, 0, 0, 500 },
};

START_TEST(negotiate)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(terms); i++) {
		ck_assert_msg(heartbeat_send_ms(terms[i].sx, terms[i].cy) == terms[i].send,
			      "row at line %d: send %lld", terms[i].line,
			      (long long)heartbeat_send_ms(terms[i].sx, terms[i].cy));
		ck_assert_msg(heartbeat_expect_ms(terms[i].cx, terms[i].floor) == terms[i].expect,
			      "row at line %d: expect %lld", terms[i].line,
			      (long long)heartbeat_expect_ms(terms[i].cx, terms[i].floor));
	}
}
END_TEST

/* Sending, by a sender that looks every tick ms (chat-ws: every
 * stomp_heartbeat_ms; tick 0: a held request looking when it wakes) from
 * time 0 to until, on a fake clock; other traffic at the times in
 * traffic[] (-1 ends the list) also counts as sent.  want: the times the
 * EOLs go out, comma-separated. */
static const struct {
	int line;
	int64_t interval, tick, until;
	int64_t traffic[4];
	const char *want;
} sends[] = {
	{ __LINE__, 0, 1 * S, 10 * S, { -1 }, "" },
	{ __LINE__, 1 * S, 1 * S, 5 * S, { -1 }, "0,1000,2000,3000,4000,5000" },
	/* Interval 10 s, looked at every 10 s: each look sends. */
	{ __LINE__, 10 * S, 10 * S, 40 * S, { -1 }, "0,10000,20000,30000,40000" },
	/* Interval 25 s (the client's cy), ticks of 10 s: sent at the last
	 * tick before the interval is out, never later than it. */
	{ __LINE__, 25 * S, 10 * S, 60 * S, { -1 }, "0,20000,40000,60000" },
	/* Traffic resets the count. */
	{ __LINE__, 3 * S, 1 * S, 10 * S, { 1500, 4000, -1 }, "0,6000,8000,10000" },
	/* Exactly at the interval, with no early look. */
	{ __LINE__, 4 * S, 0, 12 * S, { -1 }, "0,4000,8000,12000" },
};

START_TEST(send_times)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(sends); i++) {
		char got[256] = "";
		int64_t now, last = INT64_MIN / 2, step = sends[i].tick > 0 ? sends[i].tick : 500;
		size_t t = 0;

		for (now = 0; now <= sends[i].until; now += step) {
			/* Traffic between the looks. */
			while (sends[i].traffic[t] >= 0 && sends[i].traffic[t] <= now)
				last = sends[i].traffic[t++];
			if (heartbeat_send_due(sends[i].interval, last, now, sends[i].tick)) {
				size_t len = strlen(got);

				snprintf(got + len, sizeof(got) - len, "%s%lld", len ? "," : "",
					 (long long)now);
				last = now;
			}
		}
		ck_assert_msg(!strcmp(got, sends[i].want), "row at line %d: %s", sends[i].line,
			      got);
	}
}
END_TEST

/* Liveness: a client that promised every cx ms (agreed at
 * heartbeat_expect_ms(cx, floor)), last heard at heard, looked at at now. */
static const struct {
	int line;
	int64_t cx, floor, liveness, heard, now;
	int dead;
} deaths[] = {
	/* Promised nothing: never dead. */
	{ __LINE__, 0, 25 * S, 120 * S, 0, 1000000 * S, 0 },
	/* 5 s promised, taken at 25 s: dead after 2 x 25 s, the floor
	 * (stomp_liveness_ms) lower. */
	{ __LINE__, 5 * S, 25 * S, 1 * S, 0, 50 * S, 0 },
	{ __LINE__, 5 * S, 25 * S, 1 * S, 0, 50 * S + 1, 1 },
	{ __LINE__, 5 * S, 25 * S, 1 * S, 30 * S, 80 * S, 0 },
	{ __LINE__, 5 * S, 25 * S, 1 * S, 30 * S, 80 * S + 1, 1 },
	/* The floor longer than twice the interval wins (defaults: 120 s). */
	{ __LINE__, 4 * S, 25 * S, 120 * S, 0, 100 * S, 0 },
	{ __LINE__, 4 * S, 25 * S, 120 * S, 109 * S, 229 * S, 0 },
	{ __LINE__, 4 * S, 25 * S, 120 * S, 109 * S, 229 * S + 1, 1 },
	/* heartbeat.mjs's old wall-clock case: 4 s promised, SockJS 1 s,
	 * liveness 3 s: 8 s of silence. */
	{ __LINE__, 4 * S, 1 * S, 3 * S, 10 * S, 18 * S, 0 },
	{ __LINE__, 4 * S, 1 * S, 3 * S, 10 * S, 18 * S + 1, 1 },
	/* features.mjs's: 500 ms promised, SockJS 1 s, liveness 1 s: 2 s. */
	{ __LINE__, 500, 1 * S, 1 * S, 0, 2 * S, 0 },
	{ __LINE__, 500, 1 * S, 1 * S, 0, 2 * S + 1, 1 },
	/* Heard in the future (another host's clock): alive. */
	{ __LINE__, 5 * S, 5 * S, 0, 100 * S, 50 * S, 0 },
};

START_TEST(dead_times)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(deaths); i++) {
		int64_t expect = heartbeat_expect_ms(deaths[i].cx, deaths[i].floor);

		ck_assert_msg(heartbeat_peer_dead(expect, deaths[i].liveness, deaths[i].heard,
						  deaths[i].now) == deaths[i].dead,
			      "row at line %d", deaths[i].line);
		/* dead_after is the boundary. */
		if (expect > 0)
			ck_assert_msg(heartbeat_peer_dead(
					      expect, deaths[i].liveness, deaths[i].heard,
					      deaths[i].heard +
						      heartbeat_dead_after(expect,
									   deaths[i].liveness) +
						      1),
				      "row at line %d", deaths[i].line);
		else
			ck_assert_int_eq(heartbeat_dead_after(expect, deaths[i].liveness), 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("heartbeat");
	TCase *tc = tcase_create("heartbeat");

	tcase_add_test(tc, negotiate);
	tcase_add_test(tc, send_times);
	tcase_add_test(tc, dead_times);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
