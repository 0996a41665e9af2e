/* test_session.c - session rows (state, cursor, lease across processes,
 * expiry) and subscriptions. */
#include "config.h"
#include "forkutil.h"
#include "outbox.h"
#include "session.h"
#include "testutil.h"
#include "tmpdb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static char path[512];
static chatdb_t *db;

static void setup(void)
{
	tmpdb_open("session", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

static void append(int n)
{
	outbox_msg_t m = { "/topic/x", NULL, { "", 0 }, { "b", 1 }, 1 };

	while (n-- > 0)
		ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_OK);
}

START_TEST(create_get_touch)
{
	session_info_t info;
	chat_error_t err;

	ck_assert_int_eq(session_create(db, "s1", NULL, 100, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s1", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.id, "s1");
	ck_assert_int_eq(info.state, SESSION_OPEN);
	ck_assert_int_eq(info.created_ms, 100);
	ck_assert_int_eq(info.last_seen_ms, 100);
	ck_assert_int_eq(info.cursor, 0);
	ck_assert_int_eq(info.has_user, 0);
	ck_assert_str_eq(info.lease_owner, "");
	/* A new session starts at the end of the outbox: no history. */
	append(2);
	ck_assert_int_eq(session_create(db, "s2", "alice", 100, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s2", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.cursor, 2);
	ck_assert_int_eq(info.has_user, 1);
	ck_assert_str_eq(info.user_name, "alice");
	ck_assert_int_eq(session_create(db, "s2", NULL, 100, &err), CHAT_EEXIST);

	ck_assert_int_eq(session_touch(db, "s1", 50, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s1", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.last_seen_ms, 100); /* never lowered */
	ck_assert_int_eq(session_touch(db, "s1", 200, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s1", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.last_seen_ms, 200);
	ck_assert_int_eq(session_touch(db, "nope", 200, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(session_get(db, "nope", &info, &err), CHAT_ENOTFOUND);

	ck_assert_int_eq(session_set_user(db, "s1", "bob", NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s1", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.user_name, "bob");
	ck_assert_int_eq(session_set_user(db, "s1", NULL, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s1", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.has_user, 0);
	ck_assert_int_eq(session_set_user(db, "nope", "x", NULL), CHAT_ENOTFOUND);

	ck_assert_int_eq(session_delete(db, "s1", NULL), CHAT_OK);
	ck_assert_int_eq(session_delete(db, "s1", NULL), CHAT_ENOTFOUND);
}
END_TEST

START_TEST(peer_binding)
{
	char longer[SESSION_PEER_MAX + 2];
	session_info_t info;

	ck_assert_int_eq(session_create(db, "p1", NULL, 100, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "p1", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.peer, "");
	/* The first address wins; a later one leaves it and is told which. */
	ck_assert_int_eq(session_bind_peer(db, "p1", "127.0.0.1", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.peer, "127.0.0.1");
	ck_assert_int_eq(session_bind_peer(db, "p1", "127.0.0.2", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.peer, "127.0.0.1");
	ck_assert_int_eq(session_get(db, "p1", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.peer, "127.0.0.1");
	ck_assert_int_eq(session_bind_peer(db, "nope", "::1", &info, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(session_bind_peer(db, "p1", "", &info, NULL), CHAT_EINVAL);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	ck_assert_int_eq(session_bind_peer(db, "p1", longer, &info, NULL), CHAT_ETOOBIG);
}
END_TEST

/* Held leases counted per bound address and on the whole host. */
START_TEST(held_by_peer)
{
	static const struct {
		const char *id, *peer, *owner;
		int64_t lease_ms; /* 0: not leased */
	} rows[] = {
		{ "h1", "10.0.0.1", "o1", 1000 }, { "h2", "10.0.0.1", "o2", 1000 },
		{ "h3", "10.0.0.2", "o3", 1000 }, { "h4", "10.0.0.1", NULL, 0 },
		{ "h5", NULL, "o5", 1000 },
	};
	static const struct {
		int line;
		const char *peer;
		int64_t now_ms, want;
	} cases[] = {
		{ __LINE__, "10.0.0.1", 200, 2 },
		{ __LINE__, "10.0.0.2", 200, 1 },
		{ __LINE__, "10.0.0.3", 200, 0 },
		{ __LINE__, NULL, 200, 4 },
		/* Expired leases are not held. */
		{ __LINE__, "10.0.0.1", 1100, 0 },
		{ __LINE__, NULL, 1100, 0 },
	};
	session_info_t info;
	int64_t n;
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		ck_assert_int_eq(session_create(db, rows[i].id, NULL, 100, NULL), CHAT_OK);
		if (rows[i].peer != NULL)
			ck_assert_int_eq(session_bind_peer(db, rows[i].id, rows[i].peer, &info,
							   NULL),
					 CHAT_OK);
		if (rows[i].owner != NULL)
			ck_assert_int_eq(session_acquire(db, rows[i].id, rows[i].owner, 100,
							 rows[i].lease_ms, NULL),
					 CHAT_OK);
	}
	for (i = 0; i < CHAT_ARRAY_LEN(cases); i++) {
		ck_assert_int_eq(session_count_held_by_peer(db, cases[i].peer, cases[i].now_ms, &n,
							    NULL),
				 CHAT_OK);
		ck_assert_msg(n == cases[i].want, "line %d: %lld held, want %lld", cases[i].line,
			      (long long)n, (long long)cases[i].want);
	}
	/* A released lease is not held either. */
	ck_assert_int_eq(session_release(db, "h1", "o1", 150, NULL), CHAT_OK);
	ck_assert_int_eq(session_count_held_by_peer(db, "10.0.0.1", 200, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(session_count_held_by_peer(db, "", 200, &n, NULL), CHAT_EINVAL);
}
END_TEST

/* session_count_states(): by state, only ids with the prefix. */
START_TEST(count_states)
{
	int64_t n[3];

	ck_assert_int_eq(session_create(db, "c:a", NULL, 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "c:b", NULL, 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "c:c", NULL, 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "e:d", NULL, 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_set_closing(db, "c:b", NULL), CHAT_OK);
	ck_assert_int_eq(session_close(db, "c:c", 1000, "", 2, NULL), CHAT_OK);
	ck_assert_int_eq(session_count_states(db, "c:", n, NULL), CHAT_OK);
	ck_assert_int_eq(n[SESSION_OPEN], 1);
	ck_assert_int_eq(n[SESSION_CLOSING], 1);
	ck_assert_int_eq(n[SESSION_CLOSED], 1);
	ck_assert_int_eq(session_count_states(db, "x:", n, NULL), CHAT_OK);
	ck_assert_int_eq(n[SESSION_OPEN] + n[SESSION_CLOSING] + n[SESSION_CLOSED], 0);
}
END_TEST

START_TEST(close_states)
{
	session_info_t info;

	ck_assert_int_eq(session_create(db, "s", NULL, 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_set_closing(db, "s", NULL), CHAT_OK);
	ck_assert_int_eq(session_set_closing(db, "s", NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.state, SESSION_CLOSING);
	ck_assert_int_eq(session_close(db, "s", 3000, "Go away!", 5, NULL), CHAT_OK);
	ck_assert_int_eq(session_close(db, "s", 1002, "Connection interrupted", 6, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.state, SESSION_CLOSED);
	ck_assert_int_eq(info.close_code, 3000); /* the first close wins */
	ck_assert_str_eq(info.close_reason, "Go away!");
	ck_assert_int_eq(info.closed_ms, 5);
	ck_assert_int_eq(session_set_closing(db, "s", NULL), CHAT_ECLOSED);
	ck_assert_int_eq(session_sub_add(db, "s", "0", "/topic/a", SESSION_ACK_AUTO, NULL),
			 CHAT_ECLOSED);
	ck_assert_int_eq(session_close(db, "nope", 1, "", 1, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(session_set_closing(db, "nope", NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(session_close(db, "s", 1, NULL, 1, NULL), CHAT_EINVAL);
}
END_TEST

START_TEST(expire_closes_then_deletes)
{
	session_info_t info;
	int64_t closed, deleted;

	ck_assert_int_eq(session_create(db, "idle", NULL, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "fresh", NULL, 9000, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "held", NULL, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "held", "p1", 1000, 19000, NULL), CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "idle", "0", "/topic/a", SESSION_ACK_AUTO, NULL),
			 CHAT_OK);

	ck_assert_int_eq(session_expire(db, 10000, 5000, 1000, &closed, &deleted, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 1);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(session_get(db, "idle", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.state, SESSION_CLOSED);
	ck_assert_int_eq(info.close_code, SESSION_EXPIRED_CODE);
	ck_assert_str_eq(info.close_reason, SESSION_EXPIRED_REASON);
	ck_assert_int_eq(session_get(db, "held", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.state, SESSION_OPEN); /* its lease runs to 20000 */

	ck_assert_int_eq(session_expire(db, 12000, 5000, 1000, &closed, &deleted, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(deleted, 1);
	ck_assert_int_eq(session_get(db, "idle", &info, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db), "SELECT 1", NULL, NULL, NULL), SQLITE_OK);

	/* Once the holder's lease ran out, the idle held session goes too. */
	ck_assert_int_eq(session_expire(db, 20001, 5000, 1000, &closed, &deleted, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 2); /* held, and fresh (last seen 9000) */
	ck_assert_int_eq(session_expire(db, 20001, 5000, 1000, NULL, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(session_expire(db, 1, -1, 0, NULL, NULL, NULL), CHAT_EINVAL);
}
END_TEST

START_TEST(lease_rules)
{
	session_info_t info;
	chat_error_t err;

	ck_assert_int_eq(session_create(db, "s", NULL, 0, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "s", "p1", 100, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "s", "p2", 200, 1000, &err), CHAT_EBUSY);
	ck_assert_ptr_nonnull(strstr(err.message, "p1"));
	ck_assert_int_eq(session_acquire(db, "s", "p1", 300, 1000, NULL), CHAT_OK); /* re-entrant */
	ck_assert_int_eq(session_renew(db, "s", "p2", 400, 1000, NULL), CHAT_EBUSY);
	ck_assert_int_eq(session_renew(db, "s", "p1", 400, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.lease_owner, "p1");
	ck_assert_int_eq(info.lease_until_ms, 1400);
	ck_assert_int_eq(info.last_seen_ms, 400);
	ck_assert_int_eq(session_acquire(db, "s", "p2", 1399, 1000, NULL), CHAT_EBUSY);
	/* At lease_until_ms the lease has run out: another owner may take it. */
	ck_assert_int_eq(session_acquire(db, "s", "p2", 1400, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_renew(db, "s", "p1", 1500, 1000, NULL), CHAT_EBUSY);
	ck_assert_int_eq(session_release(db, "s", "p1", 1500, NULL), CHAT_EBUSY);
	ck_assert_int_eq(session_release(db, "s", "p2", 1600, NULL), CHAT_OK);
	ck_assert_int_eq(session_release(db, "s", "p2", 1600, NULL), CHAT_OK); /* nobody holds it */
	ck_assert_int_eq(session_renew(db, "s", "p2", 1700, 1000, NULL), CHAT_EBUSY);
	ck_assert_int_eq(session_get(db, "s", &info, NULL), CHAT_OK);
	ck_assert_str_eq(info.lease_owner, "");
	ck_assert_int_eq(info.lease_until_ms, 0);
	ck_assert_int_eq(info.last_seen_ms, 1600);
	ck_assert_int_eq(session_acquire(db, "nope", "p1", 1, 1, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(session_renew(db, "nope", "p1", 1, 1, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(session_release(db, "nope", "p1", 1, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(session_acquire(db, "s", "", 1, 1, NULL), CHAT_EINVAL);
	ck_assert_int_eq(session_acquire(db, "s", "p1", 1, -1, NULL), CHAT_EINVAL);
}
END_TEST

/* A process renews all its requests' leases ("PID.THREAD.N") by prefix,
 * nobody else's, and no closed session's. */
START_TEST(renew_by_owner_prefix)
{
	static const char *const ids[] = { "a", "b", "c", "d", "e" };
	static const char *const owners[] = { "12.1.1", "12.2.7", "123.1.1", "ws:12:x", "12.3.1" };
	static const int64_t until[] = { 5100, 5100, 1100, 1100, 1100 };
	session_info_t info;
	size_t i;

	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(session_create(db, ids[i], NULL, 0, NULL), CHAT_OK);
		ck_assert_int_eq(session_acquire(db, ids[i], owners[i], 100, 1000, NULL), CHAT_OK);
	}
	ck_assert_int_eq(session_close(db, "e", 1000, "x", 100, NULL), CHAT_OK);
	ck_assert_int_eq(session_renew_prefix(db, "12.", 4100, 1000, NULL), CHAT_OK);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(session_get(db, ids[i], &info, NULL), CHAT_OK);
		ck_assert_str_eq(info.lease_owner, owners[i]);
		ck_assert_int_eq(info.lease_until_ms, until[i]);
	}
	ck_assert_int_eq(session_renew_prefix(db, "", 1, 1, NULL), CHAT_EINVAL);
}
END_TEST

/* Child: race its sibling for the lease on session ctx. */
static int lease_child(forkset_t *fs, int i, void *ctx)
{
	const char *id = ctx;
	char owner[32];
	chatdb_t *cdb;
	int rc;

	snprintf(owner, sizeof(owner), "owner%d", i);
	if (chatdb_open(path, 0, &cdb, NULL) != CHAT_OK)
		return 1;
	forkset_ready(fs);
	forkset_await_go(fs);
	rc = session_acquire(cdb, id, owner, 1000, 30000, NULL);
	chatdb_close(cdb);
	return rc == CHAT_OK ? 0 : rc == CHAT_EBUSY ? 10 : 1;
}

START_TEST(lease_race_between_processes)
{
	session_info_t info;
	char id[32], winner[32];
	int codes[2];
	forkset_t fs;
	int round;

	for (round = 0; round < 20; round++) {
		snprintf(id, sizeof(id), "race%d", round);
		ck_assert_int_eq(session_create(db, id, NULL, 0, NULL), CHAT_OK);
		ck_assert_int_eq(forkset_start(&fs, 2, lease_child, id), 0);
		ck_assert_int_eq(forkset_wait_ready(&fs), 0);
		forkset_go(&fs);
		ck_assert_int_eq(forkset_join(&fs, codes), 1); /* exactly one wins */
		ck_assert((codes[0] == 0 && codes[1] == 10) || (codes[0] == 10 && codes[1] == 0));
		snprintf(winner, sizeof(winner), "owner%d", codes[0] == 0 ? 0 : 1);
		ck_assert_int_eq(session_get(db, id, &info, NULL), CHAT_OK);
		ck_assert_str_eq(info.lease_owner, winner);
	}
}
END_TEST

START_TEST(cursor_never_goes_back)
{
	session_info_t info;

	ck_assert_int_eq(session_create(db, "s", NULL, 0, NULL), CHAT_OK);
	ck_assert_int_eq(session_advance_cursor(db, "s", 5, NULL), CHAT_OK);
	ck_assert_int_eq(session_advance_cursor(db, "s", 3, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.cursor, 5);
	ck_assert_int_eq(session_advance_cursor(db, "s", 9, NULL), CHAT_OK);
	ck_assert_int_eq(session_get(db, "s", &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.cursor, 9);
	ck_assert_int_eq(session_advance_cursor(db, "s", -1, NULL), CHAT_EINVAL);
	ck_assert_int_eq(session_advance_cursor(db, "nope", 1, NULL), CHAT_ENOTFOUND);
}
END_TEST

typedef struct subs {
	int n;
	int stop_after; /* return stop_rc (0: 7) after this many (0: never) */
	int stop_rc;
	char line[8][200];
} subs_t;

static int collect_sub(void *ctx, const session_sub_t *s)
{
	subs_t *out = ctx;

	if (out->n < 8)
		snprintf(out->line[out->n], sizeof(out->line[0]), "%s %s %s %s", s->session_id,
			 s->sub_id, s->destination, session_ack_name(s->ack_mode));
	out->n++;
	if (out->stop_after != 0 && out->n == out->stop_after)
		return out->stop_rc != 0 ? out->stop_rc : 7;
	return CHAT_OK;
}

START_TEST(subscriptions)
{
	subs_t subs;
	char sub[16];
	int i;

	ck_assert_int_eq(session_create(db, "X", NULL, 0, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "Y", NULL, 0, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "Z", NULL, 0, NULL), CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "X", "sub-1", "/topic/b",
					 SESSION_ACK_CLIENT_INDIVIDUAL, NULL),
			 CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "X", "sub-0", "/topic/a", SESSION_ACK_AUTO, NULL),
			 CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "X", "sub-0", "/topic/c", SESSION_ACK_AUTO, NULL),
			 CHAT_EEXIST);
	ck_assert_int_eq(session_sub_add(db, "Y", "sub-0", "/topic/a", SESSION_ACK_CLIENT, NULL),
			 CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "Z", "sub-0", "/topic/a", SESSION_ACK_AUTO, NULL),
			 CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "nope", "sub-0", "/topic/a", SESSION_ACK_AUTO, NULL),
			 CHAT_ENOTFOUND);

	memset(&subs, 0, sizeof(subs));
	ck_assert_int_eq(session_sub_list(db, "X", collect_sub, &subs, NULL), CHAT_OK);
	ck_assert_int_eq(subs.n, 2);
	ck_assert_str_eq(subs.line[0], "X sub-0 /topic/a auto");
	ck_assert_str_eq(subs.line[1], "X sub-1 /topic/b client-individual");

	ck_assert_int_eq(session_acquire(db, "X", "ws1", 0, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, "Y", "ws2", 0, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_close(db, "Z", 3000, "", 0, NULL), CHAT_OK);
	memset(&subs, 0, sizeof(subs));
	ck_assert_int_eq(session_sub_list_live(db, NULL, collect_sub, &subs, NULL), CHAT_OK);
	ck_assert_int_eq(subs.n, 3); /* Z is closed */
	ck_assert_str_eq(subs.line[2], "Y sub-0 /topic/a client");
	memset(&subs, 0, sizeof(subs));
	ck_assert_int_eq(session_sub_list_live(db, "ws1", collect_sub, &subs, NULL), CHAT_OK);
	ck_assert_int_eq(subs.n, 2);
	memset(&subs, 0, sizeof(subs));
	subs.stop_after = 1;
	ck_assert_int_eq(session_sub_list_live(db, NULL, collect_sub, &subs, NULL), 7);
	ck_assert_int_eq(subs.n, 1);
	/* CHAT_STOP stops without an error. */
	memset(&subs, 0, sizeof(subs));
	subs.stop_after = 2;
	subs.stop_rc = CHAT_STOP;
	ck_assert_int_eq(session_sub_list_live(db, NULL, collect_sub, &subs, NULL), CHAT_OK);
	ck_assert_int_eq(subs.n, 2);

	ck_assert_int_eq(session_sub_remove(db, "X", "sub-0", NULL), CHAT_OK);
	ck_assert_int_eq(session_sub_remove(db, "X", "sub-0", NULL), CHAT_ENOTFOUND);

	/* The per-session bound. */
	for (i = 1; i < SESSION_SUBS_MAX; i++) {
		snprintf(sub, sizeof(sub), "n%d", i);
		ck_assert_int_eq(session_sub_add(db, "X", sub, "/topic/n", SESSION_ACK_AUTO, NULL),
				 CHAT_OK);
	}
	ck_assert_int_eq(session_sub_add(db, "X", "one-too-many", "/topic/n", SESSION_ACK_AUTO,
					 NULL),
			 CHAT_ETOOMANY);

	/* Deleting a session deletes its subscriptions. */
	ck_assert_int_eq(session_delete(db, "X", NULL), CHAT_OK);
	memset(&subs, 0, sizeof(subs));
	ck_assert_int_eq(session_sub_list(db, "X", collect_sub, &subs, NULL), CHAT_OK);
	ck_assert_int_eq(subs.n, 0);
	memset(&subs, 0, sizeof(subs));
	ck_assert_int_eq(session_sub_list_live(db, NULL, collect_sub, &subs, NULL), CHAT_OK);
	ck_assert_int_eq(subs.n, 1);
}
END_TEST

START_TEST(bounds)
{
	char id[CHATDB_ID_MAX + 2], dest[CHATDB_DEST_MAX + 2], reason[SESSION_REASON_MAX + 2];
	char user[SESSION_USER_MAX + 2];
	session_ack_t ack;

	memset(id, 'i', sizeof(id));
	id[CHATDB_ID_MAX] = '\0';
	memset(dest, 'd', sizeof(dest));
	dest[CHATDB_DEST_MAX] = '\0';
	memset(reason, 'r', sizeof(reason));
	reason[SESSION_REASON_MAX] = '\0';
	memset(user, 'u', sizeof(user));
	user[SESSION_USER_MAX] = '\0';

	/* Exactly at each bound is fine... */
	ck_assert_int_eq(session_create(db, id, user, 0, NULL), CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, id, id, dest, SESSION_ACK_AUTO, NULL), CHAT_OK);
	ck_assert_int_eq(session_acquire(db, id, id, 0, 1, NULL), CHAT_OK);
	ck_assert_int_eq(session_close(db, id, 1, reason, 0, NULL), CHAT_OK);
	/* ...one byte more is not. */
	id[CHATDB_ID_MAX] = 'i';
	id[CHATDB_ID_MAX + 1] = '\0';
	dest[CHATDB_DEST_MAX] = 'd';
	dest[CHATDB_DEST_MAX + 1] = '\0';
	reason[SESSION_REASON_MAX] = 'r';
	reason[SESSION_REASON_MAX + 1] = '\0';
	user[SESSION_USER_MAX] = 'u';
	user[SESSION_USER_MAX + 1] = '\0';
	ck_assert_int_eq(session_create(db, id, NULL, 0, NULL), CHAT_ETOOBIG);
	ck_assert_int_eq(session_create(db, "ok", user, 0, NULL), CHAT_ETOOBIG);
	ck_assert_int_eq(session_create(db, "", NULL, 0, NULL), CHAT_EINVAL);
	ck_assert_int_eq(session_create(db, NULL, NULL, 0, NULL), CHAT_EINVAL);
	ck_assert_int_eq(session_create(db, "ok", NULL, 0, NULL), CHAT_OK);
	ck_assert_int_eq(session_sub_add(db, "ok", "s", dest, SESSION_ACK_AUTO, NULL),
			 CHAT_ETOOBIG);
	ck_assert_int_eq(session_sub_add(db, "ok", id, "/topic/a", SESSION_ACK_AUTO, NULL),
			 CHAT_ETOOBIG);
	ck_assert_int_eq(session_sub_add(db, "ok", "s", "", SESSION_ACK_AUTO, NULL), CHAT_EINVAL);
	ck_assert_int_eq(session_sub_add(db, "ok", "s", "/topic/a", (session_ack_t)9, NULL),
			 CHAT_EINVAL);
	ck_assert_int_eq(session_close(db, "ok", 1, reason, 0, NULL), CHAT_ETOOBIG);
	ck_assert_int_eq(session_acquire(db, "ok", id, 0, 1, NULL), CHAT_ETOOBIG);
	ck_assert_int_eq(session_set_user(db, "ok", user, NULL), CHAT_ETOOBIG);
	ck_assert_int_eq(session_sub_list_live(db, id, collect_sub, NULL, NULL), CHAT_ETOOBIG);

	ck_assert_int_eq(session_ack_parse("client-individual", &ack), CHAT_OK);
	ck_assert_int_eq(ack, SESSION_ACK_CLIENT_INDIVIDUAL);
	ck_assert_int_eq(session_ack_parse("Auto", &ack), CHAT_EINVAL);
	ck_assert_int_eq(session_ack_parse(NULL, &ack), CHAT_EINVAL);
	ck_assert_str_eq(session_ack_name(SESSION_ACK_CLIENT), "client");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_get_touch);
	tcase_add_test(tc, peer_binding);
	tcase_add_test(tc, held_by_peer);
	tcase_add_test(tc, count_states);
	tcase_add_test(tc, close_states);
	tcase_add_test(tc, expire_closes_then_deletes);
	tcase_add_test(tc, lease_rules);
	tcase_add_test(tc, lease_race_between_processes);
	tcase_add_test(tc, renew_by_owner_prefix);
	tcase_add_test(tc, cursor_never_goes_back);
	tcase_add_test(tc, subscriptions);
	tcase_add_test(tc, bounds);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
