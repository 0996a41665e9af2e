/*
 * test_chatapp.c - the chat application over the broker against a real
 * durable store: users and CONNECT authentication, rooms, enter/leave and
 * presence, history pages, resume after a message id (nothing missed,
 * nothing twice across the store/outbox boundary), and the relay
 * (idempotent, holds outbox rows until copied, catches up after the store
 * returns).
 *
 * Built twice: test_chatapp_sqlite (SQLite store in a temp dir) and
 * test_chatapp.mongo (-DCHATAPP_MONGO: MongoDB from MONGODB_URI, run
 * through with-ferretdb.sh; the stop/start test runs a FerretDB fixture of
 * its own so it can stop and restart it).
 */
#include "config.h"
#include "auth.h"
#include "broker.h"
#include "brokerutil.h"
#include "chatapp.h"
#include "chatroom.h"
#include "outbox.h"
#include "relay.h"
#include "service.h"
#include "session.h"
#include "store.h"
#include "testutil.h"
#include "tmpdb.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOW 1700000000000LL
#define NSESS 4

static char *dir;
static char path[512];
static char store_uri[1024];
static chatdb_t *db;
static store_t *store; /* the test's own handle, for checks and relay runs */
static chat_options_t opt;
static service_t svc[SERVICE_MAX];
static service_ctx_t ctx;
static char keys[NSESS][CHATDB_ID_MAX + 1];
static int64_t now = NOW; /* the time frames arrive at */

#ifdef CHATAPP_MONGO
#include <mongoc/mongoc.h>

static const char *base_uri;
static unsigned counter;

static void mongo_uri(const char *base, char *out, size_t n)
{
	const char *hosts = strstr(base, "://"), *end, *query;

	hosts = hosts != NULL ? hosts + 3 : base;
	end = hosts + strcspn(hosts, "/?");
	query = strchr(end, '?');
	snprintf(out, n, "%.*s/chatapp_%ld_%u%s", (int)(end - base), base, (long)getpid(),
		 ++counter, query ? query : "");
}

static void drop_db(void)
{
	mongoc_uri_t *u = mongoc_uri_new(store_uri);
	mongoc_client_t *c = u ? mongoc_client_new_from_uri(u) : NULL;

	if (c != NULL) {
		mongoc_database_t *d = mongoc_client_get_database(c, mongoc_uri_get_database(u));

		(void)mongoc_database_drop(d, NULL);
		mongoc_database_destroy(d);
		mongoc_client_destroy(c);
	}
	mongoc_uri_destroy(u);
}
#endif

static void setup(void)
{
	now = NOW;
	tmpdb_open("chatapp", &dir, path, sizeof(path), &db);
#ifdef CHATAPP_MONGO
	mongo_uri(base_uri, store_uri, sizeof(store_uri));
#else
	snprintf(store_uri, sizeof(store_uri), "sqlite:%s/history.db", dir);
#endif
	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
	ck_assert_int_eq(options_set(&opt, "store_uri", store_uri, "test", NULL), CHAT_OK);
	ck_assert_int_eq(store_open(store_uri, &store, NULL), CHAT_OK);
	opt.session_id_min = 1; /* the tests' sessions are "s0", "s1"... */
	/* The clock stands still: only rate_limits runs with SEND limits. */
	opt.rate_sends_burst = opt.rate_guest_sends_burst = 0;
	ck_assert_uint_ge(service_table(&opt, svc), 1);
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = db;
	ctx.opt = &opt;
	brokerutil_open_sessions(&ctx, &svc[0], NSESS, NOW, 0, keys);
}

static void teardown(void)
{
	service_ctx_cleanup(&ctx);
	store_close(store);
	store = NULL;
#ifdef CHATAPP_MONGO
	drop_db();
#endif
	options_free(&opt);
	tmpdb_close(&dir, &db);
}

/* Sends one SockJS message ('^' -> NUL) from session who. */
static int send_msg(int who, const char *text)
{
	return brokerutil_send(&ctx, &svc[0], keys[who], text, now);
}

/* Everything for session who ('|' between messages, '^' for NUL). */
static const char *collect(int who)
{
	static char out[1 << 18];

	return brokerutil_collect(&ctx, &svc[0], keys[who], 8192, out, sizeof(out));
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

#define HAS(s, sub) \
	ck_assert_msg(strstr((s), (sub)) != NULL, "line %d: no '%s' in\n%s", __LINE__, (sub), (s))
#define HASNT(s, sub) \
	ck_assert_msg(strstr((s), (sub)) == NULL, "line %d: '%s' in\n%s", __LINE__, (sub), (s))

static void connect_as(int who, const char *user)
{
	char token[AUTH_TOKEN_HEX + 1], frame[256];

	ck_assert_int_eq(auth_token_issue(db, user, NOW, 3600000, token, NULL), CHAT_OK);
	snprintf(frame, sizeof(frame), "CONNECT\naccept-version:1.2\nlogin:%s\npasscode:%s\n\n^",
		 user, token);
	ck_assert_int_eq(send_msg(who, frame), CHAT_OK);
	HAS(collect(who), "CONNECTED");
}

/* Connects who again, on a new session, after an ERROR closed its own. */
static void again(int who, const char *user)
{
	static int n;
	char sid[32];
	session_info_t info;
	int created;

	snprintf(sid, sizeof(sid), "again%d", ++n);
	ck_assert_int_eq(service_key(&svc[0], (chat_slice_t){ sid, strlen(sid) }, keys[who]),
			 CHAT_OK);
	ck_assert_int_eq(service_open(&ctx, &svc[0], keys[who], NULL, now, &created, &info, NULL),
			 CHAT_OK);
	connect_as(who, user);
}

/* SEND /app/rooms{op} {"name": name} from who (op "" creates, "/delete"
 * deletes); returns what who got. */
static const char *room_send(int who, const char *op, const char *name)
{
	char frame[256];

	snprintf(frame, sizeof(frame), "SEND\ndestination:/app/rooms%s\n\n{\"name\":\"%s\"}^", op,
		 name);
	ck_assert_int_eq(send_msg(who, frame), CHAT_OK);
	return collect(who);
}

static void post(int who, const char *room, const char *text)
{
	char frame[512];

	snprintf(frame, sizeof(frame), "SEND\ndestination:/app/chat/room/%s\n\n{\"text\":\"%s\"}^",
		 room, text);
	ck_assert_int_eq(send_msg(who, frame), CHAT_OK);
}

static int64_t relay_all(void)
{
	int64_t copied = 0, total = 0;
	int more = 1;
	chat_error_t err = { 0 };

	while (more) {
		ck_assert_msg(relay_run(db, store, "test", NOW, &copied, &more, &err) == CHAT_OK,
			      "relay: %s", err.message);
		total += copied;
	}
	return total;
}

static int64_t scalar(const char *sql)
{
	return brokerutil_scalar(db, sql);
}

/* ---- users and CONNECT ---- */

START_TEST(register_and_authenticate)
{
	static const struct {
		int line;
		const char *name, *pw;
		int rc;
	} rows[] = {
		{ __LINE__, "alice", "correct horse", CHAT_OK },
		{ __LINE__, "alice", "another pass", CHAT_EEXIST },
		{ __LINE__, "Alice", "another pass", CHAT_EEXIST },
		{ __LINE__, "ALICE", "another pass", CHAT_EEXIST },
		{ __LINE__, "guest-9", "correct horse", CHAT_EINVAL },
		{ __LINE__, "guest", "correct horse", CHAT_EINVAL },
		{ __LINE__, "Guest_1", "correct horse", CHAT_EINVAL },
		{ __LINE__, "guest.1", "correct horse", CHAT_EINVAL },
		{ __LINE__, "guest7", "correct horse", CHAT_EINVAL },
		{ __LINE__, "bob", "short", CHAT_EINVAL },
		{ __LINE__, "b o b", "correct horse", CHAT_EINVAL },
		{ __LINE__, "Bob", "correct horse", CHAT_OK },
	};
	char token[AUTH_TOKEN_HEX + 1], user[SESSION_USER_MAX + 1], frame[256];
	store_user_t u;
	chat_error_t err = { 0 };
	const char *got;

	for (size_t i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		int rc = auth_register(store, (chat_slice_t){ rows[i].name, strlen(rows[i].name) },
				       (chat_slice_t){ rows[i].pw, strlen(rows[i].pw) }, NOW, &u,
				       &err);

		ck_assert_msg(rc == rows[i].rc, "line %d: rc %d (%s)", rows[i].line, rc,
			      err.message);
	}
	/* The store keeps an argon2id hash, never the password. */
	ck_assert_int_eq(store_user_get_by_name(store, "alice", &u, NULL), CHAT_OK);
	ck_assert_int_eq(strncmp(u.password_hash, "$argon2id$", 10), 0);
	ck_assert_ptr_null(strstr(u.password_hash, "correct horse"));
	/* Login: one answer for a wrong password and an unknown user. */
	ck_assert_int_eq(auth_login(db, store, (chat_slice_t){ "alice", 5 },
				    (chat_slice_t){ "wrong pass", 10 }, NOW, 1000, NULL, token,
				    NULL, NULL),
			 CHAT_EDENIED);
	ck_assert_int_eq(auth_login(db, store, (chat_slice_t){ "nobody", 6 },
				    (chat_slice_t){ "correct horse", 13 }, NOW, 1000, NULL, token,
				    NULL, NULL),
			 CHAT_EDENIED);
	/* Any case finds the user; the token is for the name as registered. */
	ck_assert_int_eq(auth_login(db, store, (chat_slice_t){ "ALIce", 5 },
				    (chat_slice_t){ "correct horse", 13 }, NOW, 1000, NULL, token,
				    user, NULL),
			 CHAT_OK);
	ck_assert_str_eq(user, "alice");
	ck_assert_uint_eq(strlen(token), AUTH_TOKEN_HEX);
	ck_assert_int_eq(auth_token_check(db, token, strlen(token), NOW + 999, user, NULL),
			 CHAT_OK);
	ck_assert_str_eq(user, "alice");
	ck_assert_int_eq(auth_token_check(db, token, strlen(token), NOW + 1000, user, NULL),
			 CHAT_EDENIED);
	/* Only a hash of the token is in chat.db. */
	ck_assert_int_eq(scalar("SELECT count(*) FROM auth_tokens WHERE length(hash) = 32"), 1);

	/* CONNECT by password, by token, with a token of someone else, with a
	 * wrong password. */
	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.2\nlogin:ALICE\n"
				     "passcode:correct horse\n\n^"),
			 CHAT_OK);
	HAS(collect(0), "user-name:alice\n");
	ck_assert_int_eq(auth_token_issue(db, "Bob", NOW, 60000, token, NULL), CHAT_OK);
	snprintf(frame, sizeof(frame), "CONNECT\naccept-version:1.2\nlogin:bob\npasscode:%s\n\n^",
		 token);
	ck_assert_int_eq(send_msg(1, frame), CHAT_OK);
	HAS(collect(1), "user-name:Bob\n");
	snprintf(frame, sizeof(frame), "CONNECT\naccept-version:1.2\nlogin:alice\npasscode:%s\n\n^",
		 token);
	ck_assert_int_eq(send_msg(2, frame), CHAT_OK);
	got = collect(2);
	HAS(got, "ERROR\nmessage:authentication failed");
	ck_assert_int_eq(
		send_msg(3, "CONNECT\naccept-version:1.2\nlogin:alice\npasscode:bad pass\n\n^"),
		CHAT_OK);
	HAS(collect(3), "ERROR\nmessage:authentication failed");
	/* A revoked token no longer works. */
	ck_assert_int_eq(auth_token_revoke(db, token, strlen(token), NULL), CHAT_OK);
	ck_assert_int_eq(auth_token_revoke(db, token, strlen(token), NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(auth_token_check(db, token, strlen(token), NOW, user, NULL), CHAT_EDENIED);
}
END_TEST

/* Failed CONNECTs lock the account: the next CONNECT by password gets an
 * ERROR saying when to retry, even with the right password; a token still
 * works. */
START_TEST(connect_limited)
{
	opt.auth_account_failures = 2;
	ck_assert_int_eq(auth_register(store, (chat_slice_t){ "carol", 5 },
				       (chat_slice_t){ "correct horse", 13 }, NOW, NULL, NULL),
			 CHAT_OK);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(send_msg(i, "CONNECT\naccept-version:1.2\nlogin:carol\n"
					     "passcode:bad pass\n\n^"),
				 CHAT_OK);
		HAS(collect(i), "ERROR\nmessage:authentication failed");
	}
	ck_assert_int_eq(send_msg(2, "CONNECT\naccept-version:1.2\nlogin:CAROL\n"
				     "passcode:correct horse\n\n^"),
			 CHAT_OK);
	HAS(collect(2), "ERROR\nmessage:too many failed logins, retry in 60 s\n");
	connect_as(3, "carol");
}
END_TEST

START_TEST(guests)
{
	/* Guests are guest-N whatever login says. */
	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.2\nlogin:alice\n\n^"), CHAT_OK);
	HAS(collect(0), "user-name:guest-1\n");
	opt.allow_guests = 0;
	ck_assert_int_eq(send_msg(1, "CONNECT\naccept-version:1.2\nlogin:alice\n\n^"), CHAT_OK);
	HAS(collect(1), "ERROR\nmessage:authentication required");
}
END_TEST

/* ---- rooms ---- */

START_TEST(rooms)
{
	const char *got;

	connect_as(0, "alice");
	connect_as(1, "bob");
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:r\ndestination:/topic/rooms\n\n^"), CHAT_OK);
	ck_assert_int_eq(send_msg(0, "SUBSCRIBE\nid:l\ndestination:/app/rooms\n\n^"), CHAT_OK);
	got = collect(0);
	HAS(got, "subscription:l\n");
	HAS(got, "[{\"id\":\"general\",\"name\":\"general\",\"creator\":\"\",\"created\":0}]^");
	/* An /app subscription is answered once, not kept. */
	ck_assert_int_eq(scalar("SELECT count(*) FROM subscriptions WHERE sub_id = 'l'"), 0);
	ck_assert_int_eq(send_msg(0, "SEND\ndestination:/app/rooms\n\n{\"name\":\"random\"}^"),
			 CHAT_OK);
	got = collect(1);
	HAS(got, "destination:/topic/rooms\n");
	HAS(got,
	    "{\"id\":\"random\",\"name\":\"random\",\"creator\":\"alice\",\"created\":1700000000000}");
	ck_assert_int_eq(send_msg(0, "SUBSCRIBE\nid:l2\ndestination:/app/rooms\n\n^"), CHAT_OK);
	got = collect(0);
	HAS(got, "\"created\":0},{\"id\":\"random\"");
	/* Posting to a room that does not exist, creating one twice, a bad
	 * name: ERROR. */
	post(1, "nowhere", "hi");
	HAS(collect(1), "ERROR\nmessage:no room nowhere");
	ck_assert_int_eq(send_msg(0, "SEND\ndestination:/app/rooms\n\n{\"name\":\"random\"}^"),
			 CHAT_OK);
	HAS(collect(0), "ERROR\nmessage:cannot create the room\\c the room random exists");
	/* Names are unique whatever their case: the error names the room. */
	connect_as(3, "dave");
	ck_assert_int_eq(send_msg(3, "SEND\ndestination:/app/rooms\n\n{\"name\":\"General\"}^"),
			 CHAT_OK);
	HAS(collect(3), "ERROR\nmessage:cannot create the room\\c the room general exists");
	connect_as(2, "carol");
	ck_assert_int_eq(send_msg(2, "SEND\ndestination:/app/rooms\n\n{\"name\":\"a\\u202eb\"}^"),
			 CHAT_OK);
	HAS(collect(2), "ERROR\nmessage:cannot create the room\\c room names may not hold bidi"
			" controls (U+202E)");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms"), 2);
	/* A name in any script gets a generated id (base 36); its look-alikes
	 * (full width, another case, NFD) are the same name. */
	again(2, "carol");
	got = room_send(2, "",
			"\xec\x9e\x90\xec\x9c\xa0 "
			"\xea\xb2\x8c\xec\x8b\x9c\xed\x8c\x90");
	HASNT(got, "ERROR");
	again(3, "dave");
	ck_assert_int_eq(send_msg(3, "SUBSCRIBE\nid:l3\ndestination:/app/rooms\n\n^"), CHAT_OK);
	HAS(collect(3),
	    "\"name\":\"\xec\x9e\x90\xec\x9c\xa0 \xea\xb2\x8c\xec\x8b\x9c\xed\x8c\x90\"");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms WHERE display LIKE '\xec\x9e\x90%'"
				" AND name NOT GLOB '*[^0-9a-z]*'"),
			 1);
	HAS(room_send(2, "",
		      "\xe1\x84\x8c\xe1\x85\xa1\xe1\x84\x8b\xe1\x85\xb2 \xea\xb2\x8c"
		      "\xec\x8b\x9c\xed\x8c\x90"),
	    "ERROR\nmessage:cannot create the room\\c the room \xec\x9e\x90\xec\x9c\xa0 "
	    "\xea\xb2\x8c\xec\x8b\x9c\xed\x8c\x90 exists");
	again(2, "carol");
	HAS(room_send(2, "",
		      "\xef\xbc\xb2\xef\xbd\x81\xef\xbd\x8e\xef\xbd\x84\xef\xbd\x8f"
		      "\xef\xbd\x8d"),
	    "ERROR\nmessage:cannot create the room\\c the room random exists");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms"), 3);
	/* The relay copies rooms to the store. */
	relay_all();
	{
		store_room_t r;

		ck_assert_int_eq(store_room_get_by_name(store, "random", &r, NULL), CHAT_OK);
		ck_assert_int_eq(store_room_get(store, 1, &r, NULL), CHAT_OK);
		ck_assert_str_eq(r.name, "general");
	}
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms WHERE stored = 0"), 0);
}
END_TEST

/* Guests, quotas, deletion: who may create and delete rooms, and what a
 * deleted room leaves behind. */
START_TEST(rooms_bounds_and_delete)
{
	store_room_t sr;
	const char *got;

	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.2\n\n^"), CHAT_OK);
	HAS(collect(0), "user-name:guest-1\n");
	HAS(room_send(0, "", "g"),
	    "ERROR\nmessage:cannot create the room\\c guests cannot create rooms");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms"), 1);
	/* Per user: rooms_per_user; in all: rooms_max ("general" counts). */
	opt.rooms_per_user = 2;
	opt.rooms_max = 4;
	connect_as(1, "alice");
	HASNT(room_send(1, "", "a1"), "ERROR");
	HASNT(room_send(1, "", "a2"), "ERROR");
	HAS(room_send(1, "", "a3"),
	    "ERROR\nmessage:cannot create the room\\c alice already has 2 rooms");
	again(1, "alice");
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:r\ndestination:/topic/rooms\n\n^"), CHAT_OK);
	connect_as(2, "bob");
	HASNT(room_send(2, "", "b1"), "ERROR");
	HAS(room_send(2, "", "b2"),
	    "ERROR\nmessage:cannot create the room\\c there are already 4 rooms");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms"), 4);
	again(2, "bob");
	post(2, "a1", "kept after the deletion");
	relay_all();
	/* Only the creator or an admin deletes; "general" stays. */
	HAS(room_send(2, "/delete", "a1"),
	    "ERROR\nmessage:cannot delete the room\\c only the creator of a1 or an admin");
	got = room_send(1, "/delete", "a1");
	HAS(got, "destination:/topic/rooms\n");
	HAS(got, "{\"type\":\"DELETED\",\"user\":\"alice\",\"room\":\"a1\"}");
	again(2, "bob");
	post(2, "a1", "too late");
	HAS(collect(2), "ERROR\nmessage:no room a1");
	again(2, "bob");
	HAS(room_send(2, "/delete", "general"),
	    "ERROR\nmessage:cannot delete the room\\c the room general cannot be deleted");
	ck_assert_int_eq(options_set(&opt, "admins", "carol, bob", "test", NULL), CHAT_OK);
	again(2, "bob");
	HASNT(room_send(2, "/delete", "a2"), "ERROR");
	/* The display name is free again, the id is not: a new "a1" gets a
	 * generated id; the freed quota lets alice create again. */
	HASNT(room_send(1, "", "a1"), "ERROR");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms WHERE display = 'a1'"
				" AND name <> 'a1' AND deleted_ms = 0"),
			 1);
	again(1, "alice");
	HASNT(room_send(1, "", "a4"), "ERROR");
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:l\ndestination:/app/rooms\n\n^"), CHAT_OK);
	got = collect(1);
	HAS(got, "\"id\":\"a4\"");
	HAS(got, "\"name\":\"a1\"");
	HASNT(got, "\"id\":\"a1\"");
	/* The relay deletes them in the store; their history stays. */
	relay_all();
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms WHERE stored = 0"), 0);
	ck_assert_int_eq(store_room_get_by_name(store, "a1", &sr, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(store_room_get_by_name(store, "a2", &sr, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(store_room_get_by_name(store, "a4", &sr, NULL), CHAT_OK);
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms WHERE deleted_ms > 0"), 2);
	(void)got;
}
END_TEST

/* A room list larger than one frame comes in several MESSAGEs, each a
 * JSON array under max_frame, with every room once. */
START_TEST(rooms_list_split)
{
	char body[128], name[CHATMSG_ROOM_MAX + 1];
	const char *got;
	int i;

	opt.rooms_per_user = 200;
	opt.max_frame = 4096;
	connect_as(1, "alice");
	for (i = 0; i < 100; i++) {
		memset(name, 'x', CHATMSG_ROOM_MAX);
		snprintf(name, sizeof(name), "%03d", i);
		name[3] = 'x';
		name[CHATMSG_ROOM_MAX] = '\0';
		snprintf(body, sizeof(body), "SEND\ndestination:/app/rooms\n\n{\"name\":\"%s\"}^",
			 name);
		ck_assert_int_eq(send_msg(1, body), CHAT_OK);
	}
	HASNT(collect(1), "ERROR");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms"), 101);
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:l\ndestination:/app/rooms\n\n^"), CHAT_OK);
	got = collect(1);
	HASNT(got, "ERROR");
	ck_assert_uint_ge(count_of(got, "subscription:l\n"), 3);
	ck_assert_uint_eq(count_of(got, "\"creator\":\"alice\""), 100);
	ck_assert_uint_eq(count_of(got, "\"id\":\"general\""), 1);
	ck_assert_uint_eq(count_of(got, "\"id\":\"099x"), 1);
}
END_TEST

/* ---- display names ---- */

#define SL(s) ((chat_slice_t){ (s), strlen(s) })
static const char *history(int who, const char *headers);

/* The server stamps the writer's display name beside the login on live
 * messages and on history; a user without one gets none. */
START_TEST(display_names)
{
	chat_error_t e = { 0 };
	char out[NAMES_NFC_MAX + 1];
	const char *got;

	ck_assert_int_eq(auth_display_set(db, "alice",
					  SL("a\xe2\x80\xae"
					     "b"),
					  1, out, &e),
			 CHAT_EINVAL);
	ck_assert_str_eq(e.message, "display names may not hold bidi controls (U+202E)");
	ck_assert_str_eq(out, "");
	/* Stored in NFC; found whatever the login's case. */
	ck_assert_int_eq(auth_display_set(db, "alice", SL("\xe1\x84\x8b\xe1\x85\xa2\xe1\x86\xaf"),
					  1, out, NULL),
			 CHAT_OK);
	ck_assert_str_eq(out, "\xec\x95\xa8"); /* 앨 */
	ck_assert_int_eq(auth_display_set(db, "Alice", SL("\xec\x95\xa8\xeb\xa6\xac\xec\x8a\xa4"),
					  2, out, NULL),
			 CHAT_OK);
	ck_assert_int_eq(auth_display_get(db, "alice", out, NULL), CHAT_OK);
	ck_assert_str_eq(out, "\xec\x95\xa8\xeb\xa6\xac\xec\x8a\xa4"); /* 앨리스 */
	ck_assert_int_eq(auth_display_get(db, "guest-1", out, NULL), CHAT_OK);
	ck_assert_str_eq(out, "");
	connect_as(0, "alice");
	connect_as(1, "bob");
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK);
	(void)collect(1);
	post(0, "general", "hi");
	got = collect(1);
	HAS(got, "\"writer\":\"alice\",\"display_name\":\"\xec\x95\xa8\xeb\xa6\xac\xec\x8a\xa4\",");
	post(1, "general", "yo");
	got = collect(1);
	HAS(got, "\"writer\":\"bob\",\"time\":");
	HASNT(got, "display_name");
	/* History (from the store, which keeps the login) has it too. */
	relay_all();
	got = history(1, "");
	HAS(got, "\"writer\":\"alice\",\"display_name\":\"\xec\x95\xa8\xeb\xa6\xac\xec\x8a\xa4\",");
	/* Removed: the login shows again. */
	ck_assert_int_eq(auth_display_set(db, "alice", SL(""), 3, out, NULL), CHAT_OK);
	ck_assert_int_eq(auth_display_get(db, "alice", out, NULL), CHAT_OK);
	ck_assert_str_eq(out, "");
}
END_TEST

/* ---- moderation ---- */

/* The first user is an admin while the admins option is empty; an admin
 * (or the room's creator) deletes a message: a tombstone broadcast and in
 * history; an admin bans and unbans (logins refused, tokens revoked). */
START_TEST(moderation)
{
	char token[AUTH_TOKEN_HEX + 1], user[SESSION_USER_MAX + 1];
	chat_error_t e = { 0 };
	const char *got, *p;
	int banned = 0, claimed = -1;
	long long id = 0;

	ck_assert_int_eq(auth_claim_first(db, "alice", 1, &claimed, NULL), CHAT_OK);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(auth_claim_first(db, "bob", 2, &claimed, NULL), CHAT_OK);
	ck_assert_int_eq(claimed, 0);
	ck_assert_int_eq(auth_is_admin(db, &opt, "Alice"), 1);
	ck_assert_int_eq(auth_is_admin(db, &opt, "bob"), 0);
	connect_as(0, "alice");
	connect_as(1, "bob");
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK);
	(void)collect(1);
	post(1, "general", "spam");
	got = collect(1);
	p = strstr(got, "{\"id\":");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sscanf(p, "{\"id\":%lld", &id), 1);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("general"), id, "bob", 3, &e),
			 CHAT_EDENIED);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("nowhere"), id, "alice", 3, NULL),
			 CHAT_ENOTFOUND);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("general"), id, "alice", 3, NULL),
			 CHAT_OK);
	got = collect(1);
	HAS(got, "\"type\":\"DELETED_MESSAGE\",\"id\":");
	HAS(got, "\"user\":\"alice\",\"room\":\"general\"}");
	relay_all();
	got = history(1, "");
	HAS(got, "\"text\":\"\",\"deleted\":true}");
	HASNT(got, "spam");
	/* Bans: only admins; the user's tokens go; logins are refused. */
	ck_assert_int_eq(auth_token_issue(db, "bob", 1700000000000LL, 60000, token, NULL), CHAT_OK);
	ck_assert_int_eq(auth_moderate_ban(db, &opt, "alice", 1, "bob", 4, &e), CHAT_EDENIED);
	ck_assert_int_eq(auth_moderate_ban(db, &opt, "alice", 1, "alice", 4, &e), CHAT_EDENIED);
	ck_assert_int_eq(auth_moderate_ban(db, &opt, "guest-3", 1, "alice", 4, &e), CHAT_EINVAL);
	ck_assert_int_eq(auth_moderate_ban(db, &opt, "Bob", 1, "alice", 4, &e), CHAT_OK);
	ck_assert_int_eq(auth_banned(db, "bob", &banned, NULL), CHAT_OK);
	ck_assert_int_eq(banned, 1);
	ck_assert_int_eq(auth_token_check(db, token, strlen(token), 1700000000001LL, user, NULL),
			 CHAT_EDENIED);
	ck_assert_int_eq(auth_moderate_ban(db, &opt, "bob", 0, "alice", 5, NULL), CHAT_OK);
	ck_assert_int_eq(auth_banned(db, "bob", &banned, NULL), CHAT_OK);
	ck_assert_int_eq(banned, 0);
	ck_assert_int_eq(auth_moderate_ban(db, &opt, "bob", 0, "alice", 5, &e), CHAT_ENOTFOUND);
	/* Naming admins replaces the first-user rule. */
	ck_assert_int_eq(options_set(&opt, "admins", "bob", "test", NULL), CHAT_OK);
	ck_assert_int_eq(auth_is_admin(db, &opt, "alice"), 0);
	ck_assert_int_eq(auth_is_admin(db, &opt, "bob"), 1);
}
END_TEST

/* ---- typing ---- */

/* "typing" reaches the room's subscribers, at most one a second per
 * session (more are dropped without an ERROR), and never the store. */
START_TEST(typing)
{
	const char *got;

	ck_assert_int_eq(auth_display_set(db, "alice", SL("\xec\x95\xa8"), 1, NULL, NULL), CHAT_OK);
	connect_as(0, "alice");
	connect_as(1, "bob");
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK);
	(void)collect(1);
	ck_assert_int_eq(send_msg(0, "SEND\ndestination:/app/chat/room/general/typing\n\n^"),
			 CHAT_OK);
	ck_assert_int_eq(send_msg(0, "SEND\ndestination:/app/chat/room/general/typing\n\n^"),
			 CHAT_OK);
	HASNT(collect(0), "ERROR");
	got = collect(1);
	ck_assert_uint_eq(count_of(got, "\"type\":\"TYPING\""), 1);
	HAS(got, "{\"type\":\"TYPING\",\"user\":\"alice\",\"display_name\":\"\xec\x95\xa8\","
		 "\"room\":\"general\",\"time\":");
	ck_assert_int_eq(send_msg(0, "SEND\ndestination:/app/chat/room/nowhere/typing\n\n^"),
			 CHAT_OK);
	HAS(collect(0), "ERROR\nmessage:no room nowhere");
	relay_all();
	HASNT(history(1, ""), "TYPING");
	ck_assert_int_eq(
		scalar("SELECT count(*) FROM outbox WHERE CAST(body AS TEXT) LIKE '%TYPING%'"), 1);
}
END_TEST

/* ---- direct messages ---- */

static void recreate_chatdb(void);

static void dm_user(const char *name, int64_t id)
{
	ck_assert_int_eq(store_user_add(store, id, name, "x", NOW, NULL), CHAT_OK);
}

/* SEND from who to dest with body; returns what who got. */
static const char *dm_send(int who, const char *dest, const char *body)
{
	char frame[512];

	snprintf(frame, sizeof(frame), "SEND\ndestination:%s\n\n%s^", dest, body);
	ck_assert_int_eq(send_msg(who, frame), CHAT_OK);
	return collect(who);
}

/* SUBSCRIBE who to dest (answered once); returns what who got. */
static const char *dm_sub(int who, const char *dest)
{
	char frame[256];

	snprintf(frame, sizeof(frame), "SUBSCRIBE\nid:h\ndestination:%s\n\n^", dest);
	ck_assert_int_eq(send_msg(who, frame), CHAT_OK);
	return collect(who);
}

/* A DM reaches the peer's and the writer's /user/queue/dm, stamped; its
 * history is the two users' only (a third one names only their own
 * conversations and cannot subscribe to another's queue); unread counts
 * follow read marks; guests, unknown and banned users are refused. */
START_TEST(direct_messages)
{
	store_msg_list_t ml = { 0 };
	store_room_t sr;
	char body[64];
	const char *got;
	long long id = 0;

	dm_user("alice", 1);
	dm_user("Bob", 2);
	dm_user("carol", 3);
	ck_assert_int_eq(auth_display_set(db, "alice", SL("\xec\x95\xa8"), 1, NULL, NULL), CHAT_OK);
	connect_as(0, "alice");
	connect_as(1, "Bob");
	connect_as(2, "carol");
	ck_assert_int_eq(send_msg(0, "SUBSCRIBE\nid:q\ndestination:/user/queue/dm\n\n^"), CHAT_OK);
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:q\ndestination:/user/queue/dm\n\n^"), CHAT_OK);
	ck_assert_int_eq(send_msg(2, "SUBSCRIBE\nid:q\ndestination:/user/queue/dm\n\n^"), CHAT_OK);
	(void)collect(0);
	(void)collect(1);
	(void)collect(2);
	/* The peer's name in any case; the registered one is stamped. */
	got = dm_send(0, "/app/dm/bob", "{\"text\":\"secret one\"}");
	HAS(got, "\"writer\":\"alice\",\"display_name\":\"\xec\x95\xa8\",\"to\":\"Bob\","
		 "\"text\":\"secret one\"}");
	got = collect(1);
	HAS(got, "MESSAGE\n");
	HAS(got, "\"text\":\"secret one\"");
	ck_assert_int_eq(sscanf(strstr(got, "{\"type\":\"DM\",\"id\":"),
				"{\"type\":\"DM\",\"id\":%lld", &id),
			 1);
	(void)dm_send(0, "/app/dm/Bob", "{\"text\":\"secret two\"}");
	HASNT(collect(2), "secret");
	/* Unread: 2 for Bob, 0 for alice. */
	HAS(dm_sub(1, "/app/dm"), "[{\"peer\":\"alice\",\"last_id\":");
	HAS(dm_sub(1, "/app/dm"), ",\"unread\":2}]");
	HAS(dm_sub(0, "/app/dm"), "[{\"peer\":\"Bob\",\"last_id\":");
	HAS(dm_sub(0, "/app/dm"), ",\"unread\":0}]");
	got = dm_send(1, "/app/dm/alice/read", "{\"id\":1}");
	HASNT(got, "ERROR");
	HAS(dm_sub(1, "/app/dm"), ",\"unread\":2}]");
	snprintf(body, sizeof(body), "{\"id\":%lld}", id);
	(void)dm_send(1, "/app/dm/alice/read", body);
	HAS(dm_sub(1, "/app/dm"), ",\"unread\":1}]");
	/* History, oldest first, for either side. */
	got = dm_sub(1, "/app/dm/alice/history");
	ck_assert_ptr_nonnull(strstr(got, "secret one"));
	ck_assert_ptr_nonnull(strstr(strstr(got, "secret one"), "secret two"));
	HAS(dm_sub(0, "/app/dm/BOB/history"), "secret two");
	/* carol: her own (empty) conversations only. */
	HAS(dm_sub(2, "/app/dm"), "\n[]");
	got = dm_sub(2, "/app/dm/alice/history");
	HAS(got, "\n[]");
	HASNT(got, "secret");
	HASNT(dm_sub(2, "/app/dm/Bob/history"), "secret");
	HAS(dm_sub(2, "/user/alice/queue/dm"), "ERROR\nmessage:cannot subscribe to another user's");
	again(2, "carol");
	/* Refusals: oneself, no such user, bad bodies, guests, banned. */
	HAS(dm_send(2, "/app/dm/carol", "{\"text\":\"me\"}"),
	    "ERROR\nmessage:a direct message needs another user");
	again(2, "carol");
	HAS(dm_send(2, "/app/dm/nobody", "{\"text\":\"x\"}"), "ERROR\nmessage:no user nobody");
	again(2, "carol");
	HAS(dm_send(2, "/app/dm/alice", "{\"text\":\"  \"}"),
	    "ERROR\nmessage:invalid chat message");
	again(2, "carol");
	HAS(dm_send(2, "/app/dm/alice/read", "{\"id\":\"x\"}"), "ERROR\nmessage:invalid read mark");
	again(2, "guest-7");
	HAS(dm_send(2, "/app/dm/alice", "{\"text\":\"x\"}"),
	    "ERROR\nmessage:direct messages are for registered users");
	again(2, "guest-7");
	HAS(dm_sub(2, "/app/dm"), "ERROR\nmessage:direct messages are for registered users");
	again(2, "carol");
	ck_assert_int_eq(send_msg(2, "BEGIN\ntransaction:t\n\n^"), CHAT_OK);
	ck_assert_int_eq(
		send_msg(2, "SEND\ndestination:/app/dm/alice\ntransaction:t\n\n{\"text\":\"x\"}^"),
		CHAT_OK);
	ck_assert_int_eq(send_msg(2, "COMMIT\ntransaction:t\n\n^"), CHAT_OK);
	HAS(collect(2), "ERROR\nmessage:a direct message cannot be in a transaction");
	ck_assert_int_eq(auth_ban(db, "alice", "", NOW, NULL), CHAT_OK);
	HAS(dm_send(0, "/app/dm/Bob", "{\"text\":\"x\"}"), "ERROR");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_dm"), 2);
	/* The relay copies them to the durable store, once, in the pair's
	 * room (a name no destination can take). */
	relay_all();
	relay_all();
	ck_assert_int_eq(store_room_get_by_name(store, "dm:alice:bob", &sr, NULL), CHAT_OK);
	ck_assert_int_eq(store_msg_latest(store, sr.id, 10, &ml, NULL), CHAT_OK);
	ck_assert_uint_eq(ml.count, 2);
	ck_assert_int_eq(ml.items[0].id, id);
	ck_assert_str_eq(ml.items[0].writer, "alice");
	ck_assert_str_eq(ml.items[1].text, "secret two");
	store_msg_list_free(&ml);
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_dm WHERE stored = 1"), 2);
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms WHERE name LIKE 'dm:%'"), 0);
	/* Two names of the longest kind still make a store room name. */
	dm_user("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 4);
	dm_user("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", 5);
	connect_as(3, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
	HASNT(dm_send(3, "/app/dm/yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", "{\"text\":\"long\"}"),
	      "ERROR");
	relay_all();
	ck_assert_int_eq(store_room_get_by_name(store,
						"dm:yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy:"
						"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
						&sr, NULL),
			 CHAT_OK);
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_dm WHERE stored = 0"), 0);
	/* Typing goes to the peer only and is not kept. */
	again(2, "carol");
	ck_assert_int_eq(send_msg(2, "SUBSCRIBE\nid:q\ndestination:/user/queue/dm\n\n^"), CHAT_OK);
	(void)collect(1);
	HASNT(dm_send(2, "/app/dm/bob/typing", ""), "TYPING");
	HAS(collect(1),
	    "{\"type\":\"TYPING\",\"user\":\"carol\",\"display_name\":\"\",\"to\":\"Bob\",");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_dm"), 3);
	/* A new chat.db reads them back from the store, as read. */
	recreate_chatdb();
	ck_assert_int_eq(relay_seed(db, store, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(relay_seed(db, store, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_dm WHERE stored = 1"), 3);
	connect_as(1, "Bob");
	connect_as(2, "carol");
	got = dm_sub(1, "/app/dm/alice/history");
	ck_assert_ptr_nonnull(strstr(got,
				     "\"writer\":\"alice\",\"display_name\":\"\",\"to\":\"bob\","
				     "\"text\":\"secret one\"}"));
	ck_assert_ptr_nonnull(strstr(strstr(got, "secret one"), "secret two"));
	HAS(dm_sub(1, "/app/dm"), "[{\"peer\":\"alice\",\"last_id\":");
	HAS(dm_sub(1, "/app/dm"), ",\"unread\":0}]");
	HAS(dm_sub(2, "/app/dm"), "\n[]");
	HASNT(dm_sub(2, "/app/dm/alice/history"), "secret");
	ck_assert_int_eq(scalar("SELECT count(*) FROM chat_rooms WHERE name LIKE 'dm:%'"), 0);
}
END_TEST

/* ---- rate limits ---- */

START_TEST(rate_limits)
{
	const char *got;
	int i;

	opt.rate_sends = 1;
	opt.rate_sends_burst = 3;
	opt.rate_guest_sends = 1;
	opt.rate_guest_sends_burst = 1;
	/* Two sessions of one user share its bucket. */
	connect_as(0, "alice");
	connect_as(1, "alice");
	ck_assert_int_eq(send_msg(0, "SUBSCRIBE\nid:e\ndestination:/user/queue/errors\n\n^"),
			 CHAT_OK);
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:e1\ndestination:/user/queue/errors\n\n^"),
			 CHAT_OK);
	post(0, "general", "one");
	post(1, "general", "two");
	post(0, "general", "three");
	HASNT(collect(0), "rate limited");
	HASNT(collect(1), "rate limited");
	ck_assert_int_eq(send_msg(1, "SEND\ndestination:/app/chat/room/general\nreceipt:r9\n\n"
				     "{\"text\":\"four\"}^"),
			 CHAT_OK);
	got = collect(1);
	/* Told on its own errors subscription, then the RECEIPT; not an ERROR. */
	HAS(got, "destination:/user/queue/errors\ncontent-type:application/json\n");
	HAS(got, "subscription:e1\n");
	HAS(got, "{\"error\":\"rate limited\",\"retry_after_ms\":1000,"
		 "\"destination\":\"/app/chat/room/general\"}");
	HAS(got, "RECEIPT\nreceipt-id:r9");
	ck_assert(strstr(got, "rate limited") < strstr(got, "RECEIPT"));
	HASNT(got, "ERROR");
	/* Only the refused session is told. */
	HASNT(collect(0), "rate limited");
	ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE destination ="
				" '/topic/chat/room/general'"),
			 3);
	/* A second later one more is allowed. */
	now += 1000;
	post(0, "general", "five");
	HASNT(collect(0), "rate limited");
	ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE destination ="
				" '/topic/chat/room/general'"),
			 4);
	/* /queue and /user SENDs draw from the same bucket. */
	ck_assert_int_eq(send_msg(0, "SEND\ndestination:/queue/q\n\nx^"), CHAT_OK);
	HAS(collect(0), "\"destination\":\"/queue/q\"");
	/* Without an errors subscription the session gets an ERROR. */
	connect_as(2, "bob");
	for (i = 0; i < 4; i++)
		post(2, "general", "b");
	HAS(collect(2), "ERROR\nmessage:rate limited\\c retry in 1000 ms");
	/* Past BROKER_REFUSED_BURST refusals, an ERROR ends the session. */
	connect_as(3, "carol");
	ck_assert_int_eq(send_msg(3, "SUBSCRIBE\nid:e\ndestination:/user/queue/errors\n\n^"),
			 CHAT_OK);
	for (i = 0; i < 3 + BROKER_REFUSED_BURST; i++)
		post(3, "general", "c");
	got = collect(3);
	HASNT(got, "ERROR");
	ck_assert_uint_eq(count_of(got, "\"error\":\"rate limited\""), BROKER_REFUSED_BURST);
	post(3, "general", "c");
	HAS(collect(3), "ERROR\nmessage:rate limited\\c too many refused SENDs");
}
END_TEST

/* ---- enter, leave, presence ---- */

/* chatapp_presence_each() callbacks: count the pairs, keep "room/user" of
 * the last; stop after the first; fail at once. */
typedef struct seen {
	int n;
	char last[128];
} seen_t;

static int seen_add(void *arg, const char *room, const char *user)
{
	seen_t *s = arg;

	s->n++;
	snprintf(s->last, sizeof(s->last), "%s/%s", room, user);
	return CHAT_OK;
}

static int seen_first(void *arg, const char *room, const char *user)
{
	seen_add(arg, room, user);
	return CHAT_STOP;
}

static int seen_fail(void *arg, const char *room, const char *user)
{
	seen_add(arg, room, user);
	return CHAT_EINVAL;
}

START_TEST(presence)
{
	const char *got;
	int64_t left;

	connect_as(0, "alice");
	connect_as(1, "alice"); /* a second tab */
	connect_as(2, "bob");
	ck_assert_int_eq(send_msg(2, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK);
	HAS(collect(2), "{\"type\":\"ENTER\",\"user\":\"bob\",\"room\":\"general\"}");
	ck_assert_int_eq(send_msg(0, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK);
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK);
	got = collect(2);
	ck_assert_uint_eq(count_of(got, "\"type\":\"ENTER\",\"user\":\"alice\""), 1);
	/* What the cluster relay asks of this node's presence. */
	{
		seen_t seen = { 0 };
		int present = -1;

		ck_assert_int_eq(chatapp_presence_has(db, "general", "alice", &present, NULL),
				 CHAT_OK);
		ck_assert_int_eq(present, 1);
		ck_assert_int_eq(chatapp_presence_has(db, "general", "carol", &present, NULL),
				 CHAT_OK);
		ck_assert_int_eq(present, 0);
		ck_assert_int_eq(chatapp_presence_each(db, seen_add, &seen, NULL), CHAT_OK);
		ck_assert_int_eq(seen.n, 2); /* alice once, for two tabs; bob */
		memset(&seen, 0, sizeof(seen));
		ck_assert_int_eq(chatapp_presence_each(db, seen_first, &seen, NULL), CHAT_OK);
		ck_assert_int_eq(seen.n, 1);
		ck_assert_int_eq(chatapp_presence_each(db, seen_fail, &seen, NULL), CHAT_EINVAL);
		ck_assert_int_eq(seen.n, 2);
	}
	ck_assert_int_eq(
		send_msg(2, "SUBSCRIBE\nid:p\ndestination:/app/chat/room/general/presence\n\n^"),
		CHAT_OK);
	HAS(collect(2), "[\"alice\",\"bob\"]^");
	/* One tab leaves: alice is still there. */
	ck_assert_int_eq(send_msg(0, "UNSUBSCRIBE\nid:t\n\n^"), CHAT_OK);
	HASNT(collect(2), "LEAVE");
	/* The other disconnects: LEAVE. */
	ck_assert_int_eq(send_msg(1, "DISCONNECT\n\n^"), CHAT_OK);
	HAS(collect(2), "{\"type\":\"LEAVE\",\"user\":\"alice\",\"room\":\"general\"}");
	/* Bob's session expires without a word: the sweep announces it. */
	connect_as(3, "carol");
	ck_assert_int_eq(send_msg(3, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK);
	(void)collect(3);
	ck_assert_int_eq(session_close(db, keys[2], 1001, "timeout", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(broker_presence_sweep(db, NOW, &left, NULL), CHAT_OK);
	ck_assert_int_eq(left, 1);
	HAS(collect(3), "{\"type\":\"LEAVE\",\"user\":\"bob\",\"room\":\"general\"}");
	ck_assert_int_eq(broker_presence_sweep(db, NOW, &left, NULL), CHAT_OK);
	ck_assert_int_eq(left, 0);
	/* Users other nodes have in the room join this node's, each once, in
	 * name order. */
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db),
				      "INSERT INTO cluster_presence(node, room, user_name) VALUES"
				      " (2, 'general', 'zed'), (3, 'general', 'zed'),"
				      " (2, 'general', 'carol'), (3, 'general', 'aaron'),"
				      " (2, 'general', 'alice'), (2, 'other', 'bob')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		send_msg(3, "SUBSCRIBE\nid:p\ndestination:/app/chat/room/general/presence\n\n^"),
		CHAT_OK);
	HAS(collect(3), "[\"aaron\",\"alice\",\"carol\",\"zed\"]^");
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db), "DELETE FROM cluster_presence", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		send_msg(3, "SUBSCRIBE\nid:p\ndestination:/app/chat/room/general/presence\n\n^"),
		CHAT_OK);
	HAS(collect(3), "[\"carol\"]^");
	/* Presence of a room that does not exist: ERROR. */
	ck_assert_int_eq(send_msg(3, "SUBSCRIBE\nid:p\ndestination:/app/chat/room/x/presence\n\n^"),
			 CHAT_OK);
	HAS(collect(3), "ERROR\nmessage:no room x");
}
END_TEST

/* The room's post counter in chat.db (-1 when it has none). */
static int64_t room_seq_of(const char *room)
{
	sqlite3_stmt *st;
	int64_t seq = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(chatdb_sqlite(db),
					    "SELECT seq FROM chat_room_seq WHERE room = ?1", -1,
					    &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		seq = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return seq;
}

START_TEST(room_seq_floor)
{
	int known = -1;

	ck_assert_int_eq(chatapp_room_seq_known(db, "floored", &known, NULL), CHAT_OK);
	ck_assert_int_eq(known, 0);
	ck_assert_int_eq(room_seq_of("floored"), -1);
	ck_assert_int_eq(chatapp_room_seq_floor(db, "floored", 10, NULL), CHAT_OK);
	ck_assert_int_eq(chatapp_room_seq_floor(db, "floored", 5, NULL), CHAT_OK); /* stays 10 */
	ck_assert_int_eq(chatapp_room_seq_known(db, "floored", &known, NULL), CHAT_OK);
	ck_assert_int_eq(known, 1);
	ck_assert_int_eq(room_seq_of("floored"), 10);
	ck_assert_int_eq(chatapp_room_seq_floor(db, "floored", 12, NULL), CHAT_OK);
	ck_assert_int_eq(room_seq_of("floored"), 12);
}
END_TEST

/* ---- history ---- */

/* The ids in a history reply body, in order, as "3,4,5". */
static void ids_of(const char *got, char *out, size_t n)
{
	const char *p = got;
	size_t k = 0;

	out[0] = '\0';
	while ((p = strstr(p, "{\"id\":")) != NULL && k + 24 < n) {
		long long id = strtoll(p + 6, NULL, 10);

		k += (size_t)snprintf(out + k, n - k, "%s%lld", k ? "," : "", id);
		p += 6;
	}
}

static const char *history(int who, const char *headers)
{
	char frame[256];

	snprintf(frame, sizeof(frame),
		 "SUBSCRIBE\nid:h\ndestination:/app/chat/room/general/history\n%s\n^", headers);
	ck_assert_int_eq(send_msg(who, frame), CHAT_OK);
	return collect(who);
}

START_TEST(history_pages)
{
	char ids[256], text[16];
	int i;

	connect_as(0, "alice");   /* outbox 1 */
	connect_as(1, "bob");     /* 2 */
	for (i = 0; i < 6; i++) { /* 3..8 */
		snprintf(text, sizeof(text), "m%d", i);
		post(0, "general", text);
	}
	/* Three relayed to the store, three only in the outbox: one answer. */
	for (int round = 0; round < 3; round++) {
		ids_of(history(1, "limit:4\n"), ids, sizeof(ids));
		ck_assert_msg(strcmp(ids, "5,6,7,8") == 0, "round %d: %s", round, ids);
		ids_of(history(1, "limit:4\nbefore:5\n"), ids, sizeof(ids));
		ck_assert_msg(strcmp(ids, "3,4") == 0, "round %d: %s", round, ids);
		ids_of(history(1, ""), ids, sizeof(ids));
		ck_assert_msg(strcmp(ids, "3,4,5,6,7,8") == 0, "round %d: %s", round, ids);
		if (round == 0) {
			/* Copy only part: the relay stops at a store failure. */
			ck_assert_int_eq(relay__register_in_tx(db, 0, NULL), CHAT_OK);
			ck_assert_int_eq(outbox_consumer_advance(db, RELAY_CONSUMER, 0, NULL),
					 CHAT_OK);
			{
				store_msg_t m = { 3, 1, 1, NOW, "alice", "m0", 2 };

				ck_assert_int_eq(store_msg_add(store, &m, NULL, NULL), CHAT_OK);
			}
		} else if (round == 1) {
			relay_all();
		}
	}
	/* Pruned from the outbox once relayed and read: the store answers. */
	for (i = 0; i < NSESS; i++)
		(void)collect(i);
	relay_all(); /* the relay also passes the rows that are not chat */
	ck_assert_int_eq(outbox_prune(db, NOW, 1000, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(scalar("SELECT count(*) FROM outbox"), 0);
	ids_of(history(1, "limit:2\n"), ids, sizeof(ids));
	ck_assert_str_eq(ids, "7,8");
	HAS(history(1, "limit:0\n"), "ERROR\nmessage:invalid limit or before header");
}
END_TEST

/* ---- resume ---- */

/* The message-ids of MESSAGE frames on subscription t that carry chat
 * messages, as "5,6,7". */
static void resumed_ids(const char *got, char *out, size_t n)
{
	const char *p = got;
	size_t k = 0;

	out[0] = '\0';
	while ((p = strstr(p, "MESSAGE\nsubscription:t\nmessage-id:")) != NULL && k + 24 < n) {
		long long id = strtoll(p + 34, NULL, 10);
		const char *body = strstr(p, "\n\n");

		if (body != NULL && strncmp(body + 2, "{\"id\":", 6) == 0)
			k += (size_t)snprintf(out + k, n - k, "%s%lld", k ? "," : "", id);
		p += 34;
	}
}

START_TEST(resume_across_the_boundary)
{
	char ids[512], frame[256], text[16];
	int i;

	connect_as(0, "alice");   /* 1 */
	connect_as(1, "bob");     /* 2 */
	for (i = 0; i < 4; i++) { /* 3..6 */
		snprintf(text, sizeof(text), "a%d", i);
		post(0, "general", text);
	}
	relay_all();              /* 3..6 in the store */
	for (i = 0; i < 3; i++) { /* 7..9 only in the outbox */
		snprintf(text, sizeof(text), "b%d", i);
		post(0, "general", text);
	}
	(void)collect(1);
	/* Bob saw up to 4: he gets 5..9 once each, then live ones. */
	ck_assert_int_eq(send_msg(1, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n"
				     "after:4\n\n^"),
			 CHAT_OK);
	post(0, "general", "live");
	resumed_ids(collect(1), ids, sizeof(ids));
	ck_assert_str_eq(ids, "5,6,7,8,9,17");
	/* Bob's subscription (10), resumed frames (11..15) and ENTER (16)
	 * came before the live post (17).  From the beginning, on another session, after the relay
	 * caught up (the outbox still holds what the store has). */
	relay_all();
	connect_as(2, "carol");
	ck_assert_int_eq(send_msg(2, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n"
				     "after:0\n\n^"),
			 CHAT_OK);
	resumed_ids(collect(2), ids, sizeof(ids));
	ck_assert_str_eq(ids, "3,4,5,6,7,8,9,17");
	/* Up to date: nothing. */
	connect_as(3, "dave");
	snprintf(frame, sizeof(frame),
		 "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n"
		 "after:17\n\n^");
	ck_assert_int_eq(send_msg(3, frame), CHAT_OK);
	resumed_ids(collect(3), ids, sizeof(ids));
	ck_assert_str_eq(ids, "");
	ck_assert_int_eq(
		send_msg(3, "SUBSCRIBE\nid:u\ndestination:/topic/chat/room/nope\nafter:1\n\n^"),
		CHAT_OK);
	HAS(collect(3), "ERROR\nmessage:no room nope");
}
END_TEST

/* ---- the relay ---- */

static int64_t stored_count(int64_t *distinct)
{
	store_msg_list_t l = { 0 };
	int64_t n = 0, last = 0, d = 0;

	for (;;) {
		ck_assert_int_eq(store_msg_after(store, 1, last, STORE_PAGE_MAX, &l, NULL),
				 CHAT_OK);
		for (size_t i = 0; i < l.count; i++) {
			d += l.items[i].id != last;
			last = l.items[i].id;
		}
		n += (int64_t)l.count;
		if (l.count < STORE_PAGE_MAX)
			break;
	}
	store_msg_list_free(&l);
	*distinct = d;
	return n;
}

START_TEST(relay_idempotent_and_holds_rows)
{
	int64_t d, pruned;
	char text[16];
	store_msg_list_t l = { 0 };

	connect_as(0, "alice");
	for (int i = 0; i < 30; i++) {
		snprintf(text, sizeof(text), "n%d", i);
		post(0, "general", text);
	}
	(void)collect(0);
	/* Not relayed yet: even past the retention window, pruning keeps the
	 * chat rows (the relay consumer holds them). */
	ck_assert_int_eq(outbox_prune(db, NOW + 100000000, 1000, &pruned, NULL), CHAT_OK);
	ck_assert_int_eq(scalar("SELECT count(*) FROM outbox WHERE destination LIKE '/topic/%'"),
			 30);
	relay_all();
	ck_assert_int_eq(stored_count(&d), 30);
	ck_assert_int_eq(d, 30);
	/* Running again from the start copies nothing twice. */
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db), "UPDATE outbox_consumers SET cursor = 0",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	relay_all();
	ck_assert_int_eq(stored_count(&d), 30);
	ck_assert_int_eq(d, 30);
	ck_assert_int_eq(store_msg_latest(store, 1, 1, &l, NULL), CHAT_OK);
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].text, "n29");
	ck_assert_str_eq(l.items[0].writer, "alice");
	ck_assert_int_eq(l.items[0].room_seq, 30);
	store_msg_list_free(&l);
	/* One relay at a time. */
	ck_assert_int_eq(relay_lease(db, RELAY_LEASE, "other", NOW, 10000, NULL), CHAT_EBUSY);
	ck_assert_int_eq(relay_run(db, store, "other", NOW, NULL, NULL, NULL), CHAT_EBUSY);
	ck_assert_int_eq(relay_lease(db, RELAY_LEASE, "other", NOW + RELAY_LEASE_MS, 10000, NULL),
			 CHAT_OK);
	ck_assert_int_eq(relay_lease_release(db, RELAY_LEASE, "other", NULL), CHAT_OK);
	/* Relayed: now pruning may drop them. */
	ck_assert_int_eq(outbox_prune(db, NOW + 100000000, 1000, &pruned, NULL), CHAT_OK);
	ck_assert_int_eq(scalar("SELECT count(*) FROM outbox"), 0);
}
END_TEST

/* ---- a new chat.db next to an old store ---- */

/* Replaces chat.db (and its WAL) with a new, empty one, as after deleting
 * a corrupt file, and opens the sessions again. */
static void recreate_chatdb(void)
{
	static const char *const ext[] = { "", "-wal", "-shm" };
	char p[600];

	service_ctx_cleanup(&ctx);
	chatdb_close(db);
	db = NULL;
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", path, ext[i]);
		(void)unlink(p);
	}
	ck_assert_int_eq(chatdb_open(path, 0, &db, NULL), CHAT_OK);
	ctx.db = db;
	brokerutil_open_sessions(&ctx, &svc[0], NSESS, now, 1, keys);
}

static int64_t store_max_id(void)
{
	int64_t id = -1, guest = -1;

	ck_assert_int_eq(store_msg_max(store, "guest-", &id, &guest, NULL), CHAT_OK);
	return id;
}

START_TEST(new_chatdb_continues_above_store)
{
	chat_error_t err = { 0 };
	int64_t last, floor = -1, d;
	char text[16];

	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.2\n\n^"), CHAT_OK);
	HAS(collect(0), "user-name:guest-1\n");
	ck_assert_int_eq(send_msg(1, "CONNECT\naccept-version:1.2\n\n^"), CHAT_OK);
	HAS(collect(1), "user-name:guest-2\n");
	connect_as(2, "alice");
	ck_assert_int_eq(send_msg(2, "SEND\ndestination:/app/rooms\n\n{\"name\":\"random\"}^"),
			 CHAT_OK);
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "n%d", i);
		post(i % 2 ? 1 : 2, "general", text);
	}
	relay_all();
	ck_assert_int_eq(stored_count(&d), 40);
	last = store_max_id();
	ck_assert_int_gt(last, 40);

	recreate_chatdb();
	ck_assert_int_eq(relay_seed(db, store, &floor, &err), CHAT_OK);
	ck_assert_int_eq(floor, last);
	/* Idempotent; never lowers. */
	ck_assert_int_eq(relay_seed(db, store, NULL, &err), CHAT_OK);
	ck_assert_int_eq(scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"), last);
	/* The room's sequence continues too. */
	ck_assert_int_eq(scalar("SELECT seq FROM chat_room_seq WHERE room = 'general'"), 40);
	/* The rooms are back, and a new guest is not an old guest. */
	ck_assert_int_eq(
		scalar("SELECT count(*) FROM chat_rooms WHERE name = 'random' AND stored = 1"), 1);
	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.2\n\n^"), CHAT_OK);
	HAS(collect(0), "user-name:guest-3\n");
	connect_as(1, "bob");
	post(1, "general", "after");
	post(1, "random", "after2");
	relay_all();
	/* All 41 in history with distinct ids; the new one above the old. */
	ck_assert_int_eq(stored_count(&d), 41);
	ck_assert_int_eq(d, 41);
	ck_assert_int_gt(store_max_id(), last + 1);
	ck_assert_int_eq(relay_conflicts(), 0);
}
END_TEST

START_TEST(new_chatdb_without_store_starts_above_time)
{
	chat_error_t err = { 0 };
	int64_t d, before = relay_conflicts();
	int applied = -1;
	char frame[64];

	connect_as(0, "alice");
	post(0, "general", "first");
	relay_all();
	/* A new chat.db whose store is unreachable at start. */
	recreate_chatdb();
	ck_assert_int_eq(relay_seed_uri(db, "sqlite:/nonexistent/dir/history.db", NOW, &err),
			 CHAT_EDB);
	ck_assert_msg(err.message[0] != '\0', "no reason");
	ck_assert_int_eq(scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"),
			 NOW * RELAY_OFFLINE_IDS_PER_MS);
	ck_assert_int_eq(send_msg(1, "CONNECT\naccept-version:1.2\n\n^"), CHAT_OK);
	snprintf(frame, sizeof(frame), "user-name:guest-%lld\n", (long long)NOW + 1);
	HAS(collect(1), frame);
	connect_as(0, "bob");
	post(0, "general", "second");
	relay_all();
	ck_assert_int_eq(relay_conflicts(), before);
	ck_assert_int_eq(stored_count(&d), 2);
	ck_assert_int_gt(store_max_id(), NOW * RELAY_OFFLINE_IDS_PER_MS);
	/* Once chat.db gave out seqs, its own sequence is the authority. */
	ck_assert_int_eq(relay_seed_offline(db, NOW + 1000, &applied, &err), CHAT_OK);
	ck_assert_int_eq(applied, 0);
	ck_assert_int_lt(scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"),
			 (NOW + 1000) * RELAY_OFFLINE_IDS_PER_MS);
	/* The store back: seeding only imports and never lowers. */
	ck_assert_int_eq(relay_seed(db, store, NULL, &err), CHAT_OK);
	ck_assert_int_gt(scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"),
			 NOW * RELAY_OFFLINE_IDS_PER_MS);
}
END_TEST

START_TEST(relay_reused_id_is_an_error)
{
	store_msg_list_t l = { 0 };
	int64_t d, before = relay_conflicts(), cursor = 0;

	connect_as(0, "alice");
	post(0, "general", "first");
	relay_all();
	/* A new chat.db that was not seeded gives the next post an id the
	 * history holds: the relay must not pass it silently. */
	recreate_chatdb();
	connect_as(0, "bob");
	post(0, "general", "second");
	relay_all();
	ck_assert_int_eq(relay_conflicts(), before + 1);
	ck_assert_int_eq(relay_cursor(db, &cursor, NULL), CHAT_OK);
	ck_assert_int_eq(cursor, scalar("SELECT max(seq) FROM outbox"));
	/* The stored message stays; retrying the identical row is no error. */
	ck_assert_int_eq(stored_count(&d), 1);
	ck_assert_int_eq(store_msg_latest(store, 1, 1, &l, NULL), CHAT_OK);
	ck_assert_str_eq(l.items[0].text, "first");
	store_msg_list_free(&l);
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db), "UPDATE outbox_consumers SET cursor = 0",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	relay_all();
	ck_assert_int_eq(relay_conflicts(), before + 2);
}
END_TEST

#ifdef CHATAPP_MONGO
/* ---- MongoDB stopped and started during the test ---- */

typedef struct fixture {
	pid_t pid;
	int in, out; /* its stdin (held open) and stdout */
	char uri[640];
} fixture_t;

static const char *fixture_path(void)
{
	const char *p = getenv("FERRETDB_FIXTURE");

	if (p != NULL && access(p, X_OK) == 0)
		return p;
	p = "tests/fixtures/ferretdb/ferretdb-fixture";
	return access(p, X_OK) == 0 ? p : NULL;
}

/* Starts a FerretDB fixture on 127.0.0.1:port (0: any) with data in data. */
static int fixture_start(fixture_t *f, const char *data, int port)
{
	const char *bin = fixture_path();
	int in[2], out[2];
	char listen[64], line[600];
	size_t k = 0;

	if (bin == NULL || pipe(in) != 0 || pipe(out) != 0)
		return -1;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	f->pid = fork();
	if (f->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(bin, bin, "-listen", listen, "-dir", data, "-stdin-eof", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f->in = in[1];
	f->out = out[0];
	while (k < sizeof(line) - 1 && read(f->out, line + k, 1) == 1 && line[k] != '\n')
		k++;
	line[k] = '\0';
	if (strncmp(line, "ready ", 6) != 0)
		return -1;
	snprintf(f->uri, sizeof(f->uri), "%s", line + 6);
	return 0;
}

static void fixture_stop(fixture_t *f)
{
	int st;

	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	close(f->in);
	close(f->out);
}

static int uri_port(const char *uri)
{
	const char *h = strstr(uri, "://"), *c;

	h = h ? h + 3 : uri;
	c = strchr(h, ':');
	return c != NULL ? (int)strtol(c + 1, NULL, 10) : 0;
}

START_TEST(mongo_stop_start)
{
	char data[600], text[32], ids[2048];
	fixture_t f;
	int64_t d, copied = 0;
	int port, i, more = 0;
	chat_error_t err = { 0 };

	snprintf(data, sizeof(data), "%s/ferret", dir);
	if (fixture_path() == NULL) {
		fprintf(stderr, "# no FerretDB fixture binary: stop/start not tested\n");
		return;
	}
	ck_assert_int_eq(fixture_start(&f, data, 0), 0);
	port = uri_port(f.uri);
	/* The test's store and the broker's both point at this server. */
	store_close(store);
	store = NULL;
	service_ctx_cleanup(&ctx);
	mongo_uri(f.uri, store_uri, sizeof(store_uri));
	ck_assert_int_eq(options_set(&opt, "store_uri", store_uri, "test", NULL), CHAT_OK);
	ck_assert_int_eq(store_open(store_uri, &store, NULL), CHAT_OK);
	connect_as(0, "alice"); /* 1 */
	connect_as(1, "bob");   /* 2 */
	ck_assert_int_eq(send_msg(0, "SUBSCRIBE\nid:t\ndestination:/topic/chat/room/general\n\n^"),
			 CHAT_OK); /* the subscription: 3, ENTER: 4 */
	for (i = 0; i < 10; i++) { /* 5..14 */
		snprintf(text, sizeof(text), "before%d", i);
		post(0, "general", text);
	}
	relay_all();
	ck_assert_int_eq(stored_count(&d), 10);

	/* MongoDB goes away: chat goes on, the relay fails and keeps its place. */
	fixture_stop(&f);
	for (i = 0; i < 10; i++) { /* 15..24 */
		snprintf(text, sizeof(text), "during%d", i);
		post(0, "general", text);
	}
	HAS(collect(0), "during9");
	ck_assert_int_eq(relay_run(db, store, "test", now, &copied, &more, &err), CHAT_EDB);
	ck_assert_int_eq(scalar("SELECT cursor FROM outbox_consumers WHERE name = 'relay'"), 14);
	/* History still answers, from what chat.db holds (its reply: 25). */
	ids_of(history(1, "limit:5\n"), ids, sizeof(ids));
	ck_assert_str_eq(ids, "20,21,22,23,24");

	/* Back: the relay catches up, every message exactly once. */
	ck_assert_int_eq(fixture_start(&f, data, port), 0);
	now += 60000; /* past the broker's store back-off */
	/* The driver waits out its own cool-down (5 s) before trying a server
	 * that failed; the relay thread retries with a back-off the same way. */
	for (i = 0; i < 40; i++) {
		int rc = relay_run(db, store, "test", now, &copied, &more, &err);

		if (rc == CHAT_OK)
			break;
		ck_assert_msg(rc == CHAT_EDB, "relay: %s", err.message);
		usleep(500 * 1000);
	}
	ck_assert_int_lt(i, 40);
	relay_all();
	ck_assert_int_eq(stored_count(&d), 20);
	ck_assert_int_eq(d, 20);
	relay_all();
	ck_assert_int_eq(stored_count(&d), 20);
	post(0, "general", "after"); /* 26 */
	relay_all();
	ck_assert_int_eq(stored_count(&d), 21);
	ck_assert_int_eq(d, 21);
	ids_of(history(1, "limit:3\n"), ids, sizeof(ids));
	ck_assert_str_eq(ids, "23,24,26");
	store_close(store);
	store = NULL;
	service_ctx_cleanup(&ctx);
	drop_db();
	fixture_stop(&f);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("chatapp");
	TCase *tc = tcase_create("chatapp");
	int rc;

#ifdef CHATAPP_MONGO
	base_uri = getenv("MONGODB_URI");
	if (base_uri == NULL || *base_uri == '\0') {
		printf("1..0 # SKIP MONGODB_URI is not set (run through "
		       "tests/fixtures/ferretdb/with-ferretdb.sh)\n");
		return EXIT_SUCCESS;
	}
	mongoc_init();
#endif
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, register_and_authenticate);
	tcase_add_test(tc, display_names);
	tcase_add_test(tc, moderation);
	tcase_add_test(tc, typing);
	tcase_add_test(tc, direct_messages);
	tcase_add_test(tc, connect_limited);
	tcase_add_test(tc, guests);
	tcase_add_test(tc, rooms);
	tcase_add_test(tc, rooms_bounds_and_delete);
	tcase_add_test(tc, rooms_list_split);
	tcase_add_test(tc, rate_limits);
	tcase_add_test(tc, presence);
	tcase_add_test(tc, room_seq_floor);
	tcase_add_test(tc, history_pages);
	tcase_add_test(tc, resume_across_the_boundary);
	tcase_add_test(tc, relay_idempotent_and_holds_rows);
	tcase_add_test(tc, new_chatdb_continues_above_store);
	tcase_add_test(tc, relay_reused_id_is_an_error);
	tcase_add_test(tc, new_chatdb_without_store_starts_above_time);
#ifdef CHATAPP_MONGO
	tcase_add_test(tc, mongo_stop_start);
#endif
	suite_add_tcase(s, tc);
	rc = testutil_run(s);
	store_global_cleanup();
#ifdef CHATAPP_MONGO
	mongoc_cleanup();
#endif
	return rc;
}
