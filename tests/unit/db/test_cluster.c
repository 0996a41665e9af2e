/*
 * test_cluster.c - the cluster relay's pure parts and its chat.db steps
 * (db/cluster.h): broker_relay URLs and the options check (a SQLite store
 * is refused), MESSAGE frames from RabbitMQ (table of rows), node ids
 * (unique residue, rising, above what was taken in), and taking a post in
 * exactly once (a resend and an older id are dropped by the origin's mark),
 * the users other nodes have in a room, and the named counters the ids and
 * marks live in (db/counters.h).
 */
#include "config.h"
#include "auth.h"
#include "chatroom.h"
#include "cluster.h"
#include "counters.h"
#include "outbox.h"
#include "relay.h"
#include "testutil.h"
#include "tmpdb.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static char *dir;
static char path[512];
static chatdb_t *db;

static void setup(void)
{
	tmpdb_open("cluster", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

START_TEST(urls)
{
	static const struct {
		int line;
		const char *in;
		int rc;
		const char *user, *pass, *host, *vhost;
		int port;
	} rows[] = {
		{ __LINE__, "stomp://guest:guest@127.0.0.1:61613/", 0, "guest", "guest",
		  "127.0.0.1", "/", 61613 },
		{ __LINE__, "stomp://u:p%40ss@mq.example:1234/chat", 0, "u", "p@ss", "mq.example",
		  "chat", 1234 },
		{ __LINE__, "stomp://mq", 0, "", "", "mq", "/", 61613 },
		{ __LINE__, "stomp://a:b@h/%2Fv", 0, "a", "b", "h", "/v", 61613 },
		{ __LINE__, "amqp://h/", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://user@h/", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://h:0/", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://h:65536/", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://h:12x/", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://a:b%4@h/", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://a:b%00@h/", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
		{ __LINE__, "stomp://a:b@h/v%0a", CHAT_EINVAL, NULL, NULL, NULL, NULL, 0 },
	};
	char longer[600];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		clusterwire_url_t u;
		chat_error_t e = { 0 };
		int rc = clusterwire_parse_url(rows[i].in, &u, &e);

		ck_assert_msg(rc == rows[i].rc, "line %d: rc %d (%s)", rows[i].line, rc, e.message);
		if (rc != CHAT_OK)
			continue;
		ck_assert_msg(!strcmp(u.user, rows[i].user) && !strcmp(u.pass, rows[i].pass) &&
				      !strcmp(u.host, rows[i].host) &&
				      !strcmp(u.vhost, rows[i].vhost) && u.port == rows[i].port,
			      "line %d: %s %s %s %s %d", rows[i].line, u.user, u.pass, u.host,
			      u.vhost, u.port);
	}
	memset(longer, 'x', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "stomp://", 8);
	{
		clusterwire_url_t u;

		ck_assert_int_eq(clusterwire_parse_url(longer, &u, NULL), CHAT_ETOOBIG);
	}
}
END_TEST

START_TEST(cluster_options_checked)
{
	chat_options_t opt;
	chat_error_t e = { 0 };

	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
	ck_assert_int_eq(cluster_check(&opt, &e), CHAT_OK); /* no cluster */
	ck_assert_int_eq(options_set(&opt, "broker_relay", "stomp://g:g@127.0.0.1:1/", "t", NULL),
			 CHAT_OK);
	ck_assert_int_eq(cluster_check(&opt, &e), CHAT_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "node_id"));
	ck_assert_int_eq(options_set(&opt, "node_id", "3", "t", NULL), CHAT_OK);
	ck_assert_int_eq(cluster_check(&opt, &e), CHAT_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.message, "a cluster needs its history in one MongoDB"));
	ck_assert_int_eq(options_set(&opt, "store_uri", "mongodb://127.0.0.1/x", "t", NULL),
			 CHAT_OK);
	ck_assert_int_eq(cluster_check(&opt, &e), CHAT_OK);
	ck_assert_int_eq(options_set(&opt, "node_id", "16", "t", NULL), CHAT_ETOOBIG);
	options_free(&opt);
}
END_TEST

/* Parses a whole wire frame and hands it to clusterwire_parse_message();
 * *good: what it found is node 2's post 34 in general, ack a1 (checked
 * while the frame's memory lives). */
static int parse(const char *wire, int *good)
{
	clusterwire_msg_t mm, *m = &mm;
	stomp_parser_t p;
	stomp_frame_t f;
	chat_buf_t room, writer, text;
	size_t used = 0;
	int rc;

	chat_buf_init(&room, CHATMSG_ROOM_MAX);
	chat_buf_init(&writer, 128);
	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	ck_assert_int_eq(stomp_parser_init(&p, NULL), CHAT_OK);
	rc = stomp_parser_feed(&p, wire, strlen(wire) + 1, &used, &f);
	ck_assert_int_eq(rc, CHAT_OK);
	rc = clusterwire_parse_message(&f, m, &room, &writer, &text);
	*good = m->origin == 2 && m->id == 34 && chat_slice_eq(m->ack, "a1") &&
		(m->kind == CLUSTERWIRE_CLOCK || m->body.len > 0) &&
		(m->kind == CLUSTERWIRE_CLOCK ? 1
		 : m->kind == CLUSTERWIRE_USER
			 ? chat_slice_eq(m->dest, "/user/alice/queue/in") &&
				   chat_slice_eq(m->sender, "bob") && m->ctype.len == 0
		 : m->kind == CLUSTERWIRE_TOPIC ? chat_slice_eq(m->dest, "/topic/x")
		 : m->kind == CLUSTERWIRE_ROOM
			 ? m->entered && !strcmp(m->room, "general") && m->room_id == 7 &&
				   !strcmp(m->token_user, "bob") && m->room_created_ms == 5
		 : m->kind == CLUSTERWIRE_PRESENCE ? m->entered && !strcmp(m->room, "general") &&
							     !strcmp(m->token_user, "bob")
		 : m->kind == CLUSTERWIRE_TOKEN
			 ? m->token_hash[31] == 0x1f &&
				   (!m->token_put ||
				    (!strcmp(m->token_user, "bob") && m->token_expires_ms == 9))
			 : !strcmp(m->room, "general"));
	stomp_parser_free(&p);
	chat_buf_free(&room);
	chat_buf_free(&writer);
	chat_buf_free(&text);
	return rc;
}

#define HASH "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define BODY(id, room)                                          \
	"{\"id\":" #id ",\"seq\":1,\"time\":5,\"room\":\"" room \
	"\",\"writer\":\"w\",\"text\":\"hi\"}"
#define MSG(origin, id, room, body)                                                  \
	"MESSAGE\nack:a1\nchat-origin:" #origin "\nchat-id:" #id "\nchat-room:" room \
	"\nchat-room-id:1\nchat-room-created:0\n\n" body

START_TEST(messages)
{
	static const struct {
		int line;
		const char *wire;
		int rc;
	} rows[] = {
		{ __LINE__, MSG(2, 34, "general", BODY(34, "general")), 0 },
		{ __LINE__, MSG(2, 35, "general", BODY(35, "general")),
		  CHAT_EPROTO }, /* not node 2's */
		{ __LINE__, MSG(2, 34, "general", BODY(50, "general")),
		  CHAT_EINVAL }, /* ids differ */
		{ __LINE__, MSG(2, 34, "general", BODY(34, "other")), CHAT_EINVAL },
		{ __LINE__, MSG(2, 34, "gen eral", BODY(34, "gen eral")), CHAT_EPROTO },
		{ __LINE__, MSG(16, 16, "general", BODY(16, "general")), CHAT_EPROTO },
		{ __LINE__, MSG(0, 16, "general", BODY(16, "general")), CHAT_EPROTO },
		{ __LINE__, MSG(2, -14, "general", BODY(-14, "general")), CHAT_EPROTO },
		{ __LINE__, MSG(2, 34, "general", "[]"), CHAT_EINVAL },
		{ __LINE__, MSG(2, 34, "general", "{\"id\":34}"), CHAT_EINVAL },
		{ __LINE__,
		  "MESSAGE\nchat-origin:2\nchat-id:34\nchat-room:general\n"
		  "chat-room-id:1\nchat-room-created:0\n\n" BODY(34, "general"),
		  CHAT_EPROTO },
		{ __LINE__, "RECEIPT\nreceipt-id:x\n\n", CHAT_EPROTO },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:user\nchat-origin:2\nchat-id:34\n"
		  "chat-dest:/user/alice/queue/in\nchat-sender:bob\n\nhello",
		  CHAT_OK + 100 },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:user\nchat-origin:2\nchat-id:34\n"
		  "chat-dest:/user/queue/in\n\nhello",
		  CHAT_EPROTO }, /* no user named */
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:user\nchat-origin:2\nchat-id:34\n"
		  "chat-dest:/topic/x\n\nhello",
		  CHAT_EPROTO },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:topic\nchat-origin:2\nchat-id:34\n"
		  "chat-dest:/topic/x\n\nhello",
		  CHAT_OK + 100 },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:topic\nchat-origin:2\nchat-id:34\n"
		  "chat-dest:/user/alice/queue/in\n\nhello",
		  CHAT_EPROTO },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:user\nchat-origin:2\nchat-id:34\n"
		  "chat-dest:/user/alice/queue/in\nchat-ctype:not a type\n\nhello",
		  CHAT_EPROTO },
		{ __LINE__, "MESSAGE\nack:a1\nchat-kind:other\nchat-origin:2\nchat-id:34\n\n",
		  CHAT_EPROTO },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:token\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"put\",\"hash\":\"" HASH "\",\"user\":\"bob\",\"created\":1,"
		  "\"expires\":9}",
		  CHAT_OK + 100 },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:token\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"del\",\"hash\":\"" HASH "\"}",
		  CHAT_OK + 100 },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:token\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"put\",\"hash\":\"" HASH "\",\"user\":\"bob\",\"created\":9,"
		  "\"expires\":9}",
		  CHAT_EINVAL },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:token\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"put\",\"hash\":\"abc\",\"user\":\"bob\",\"created\":1,"
		  "\"expires\":9}",
		  CHAT_EINVAL },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:token\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"put\",\"hash\":\"" HASH "\",\"created\":1,\"expires\":9}",
		  CHAT_EINVAL },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:presence\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"enter\",\"room\":\"general\",\"user\":\"bob\"}",
		  CHAT_OK + 100 },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:presence\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"stay\",\"room\":\"general\",\"user\":\"bob\"}",
		  CHAT_EINVAL },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:presence\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"leave\",\"room\":\"a b\",\"user\":\"bob\"}",
		  CHAT_EINVAL },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:room\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"create\",\"name\":\"general\",\"id\":7,\"user\":\"bob\",\"at\":5}",
		  CHAT_OK + 100 },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:room\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"create\",\"name\":\"general\",\"id\":0,\"user\":\"bob\",\"at\":5}",
		  CHAT_EINVAL },
		{ __LINE__,
		  "MESSAGE\nack:a1\nchat-kind:room\nchat-origin:2\nchat-id:34\n\n"
		  "{\"op\":\"rename\",\"name\":\"general\",\"id\":7,\"user\":\"bob\",\"at\":5}",
		  CHAT_EINVAL },
		/* A clock beacon (node 2's clock at 34): no body. */
		{ __LINE__, "MESSAGE\nack:a1\nchat-kind:clock\nchat-origin:2\nchat-id:34\n\n",
		  CHAT_OK + 100 },
		{ __LINE__, "MESSAGE\nack:a1\nchat-kind:clock\nchat-origin:16\nchat-id:34\n\n",
		  CHAT_EPROTO },
		{ __LINE__, "MESSAGE\nack:a1\nchat-kind:clock\nchat-origin:2\nchat-id:0\n\n",
		  CHAT_EPROTO },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int good = 0, rc = parse(rows[i].wire, &good);
		int want = rows[i].rc == CHAT_OK + 100 ? CHAT_OK : rows[i].rc;

		ck_assert_msg(rc == want, "line %d: rc %d", rows[i].line, rc);
		/* (CHAT_OK + 100 marks a user message) */
		ck_assert_msg(rc != CHAT_OK || good, "line %d: fields", rows[i].line);
	}
}
END_TEST

static int64_t next_id(int64_t node)
{
	int64_t last = 0, id = 0;

	ck_assert_int_eq(chatdb__begin(db, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_last_seq(db, &last, NULL), CHAT_OK);
	ck_assert_int_eq(cluster__next_id_in_tx(db, node, last + 1, &id, NULL), CHAT_OK);
	ck_assert_int_eq(chatdb__commit(db, NULL), CHAT_OK);
	return id;
}

static clusterwire_msg_t post(int64_t origin, int64_t id, char *body, size_t n)
{
	clusterwire_msg_t m = { .origin = origin,
				.id = id,
				.room_id = 1,
				.room = "general",
				.body = { body, 0 },
				.ack = CHAT_SLICE("a") };

	snprintf(
		body, n,
		"{\"id\":%lld,\"seq\":1,\"time\":5,\"room\":\"general\",\"writer\":\"w\",\"text\":\"t\"}",
		(long long)id);
	m.body.len = strlen(body);
	return m;
}

static int count_row(void *ctx, const outbox_row_t *row)
{
	(void)row;
	(*(int *)ctx)++;
	return 0;
}

static int64_t ids[8];
static int ids_seen;

/* Collects the "id" of each chat row's body. */
static int row_id(void *ctx, const outbox_row_t *row)
{
	const char *p = memmem(row->body.ptr, row->body.len, "\"id\":", 5);

	(void)ctx;
	if (p != NULL && ids_seen < 8)
		ids[ids_seen++] = strtoll(p + 5, NULL, 10);
	return 0;
}

START_TEST(ids_and_import)
{
	char body[256];
	clusterwire_msg_t m;
	int64_t a, b, seq = 0, hw = 0;
	int added = 0, n = 0;
	size_t k = 0;

	a = next_id(3);
	b = next_id(3);
	ck_assert_int_eq(a % CLUSTER_SLOTS, 3);
	ck_assert_int_eq(b % CLUSTER_SLOTS, 3);
	ck_assert_int_gt(b, a);
	/* Node 5's post 1000*16+5 comes in: added once, the clock moves above it. */
	m = post(5, 16005, body, sizeof(body));
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(added, 1); /* held back: not in the outbox yet */
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 0); /* a resend */
	m = post(5, 21, body, sizeof(body));
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 0); /* older than the mark: taken before */
	m = post(3, 16019, body, sizeof(body));
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 0); /* this node's own post, back from RabbitMQ */
	ck_assert_int_eq(cluster_high_water(db, 5, &hw, NULL), CHAT_OK);
	ck_assert_int_eq(hw, 16005);
	a = next_id(3);
	ck_assert_int_gt(a, 16005);
	ck_assert_int_eq(a % CLUSTER_SLOTS, 3);
	/* Held, not in the outbox; released, the one row taken in is a chat
	 * row the history relay can read. */
	ck_assert_int_eq(outbox_read_after(db, 0, 512, count_row, &n, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(cluster_held_min(db, &hw, NULL), CHAT_OK);
	ck_assert_int_eq(hw, 16005);
	ck_assert_int_eq(cluster_release(db, 16004, &k, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(k, 0);
	ck_assert_int_eq(cluster_release(db, 16005, &k, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(k, 1);
	ck_assert_int_gt(seq, 0);
	ck_assert_int_eq(cluster_held_min(db, &hw, NULL), CHAT_OK);
	ck_assert_int_eq(hw, 0);
	ck_assert_int_eq(outbox_read_after(db, 0, 512, count_row, &n, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(n, 1);
	/* A post for a room this node lacks brings the room along. */
	m = post(5, 16021, body, sizeof(body));
	snprintf(m.room, sizeof(m.room), "newroom");
	m.room_id = 77;
	snprintf(
		body, sizeof(body),
		"{\"id\":16021,\"seq\":1,\"time\":5,\"room\":\"newroom\",\"writer\":\"w\",\"text\":\"t\"}");
	m.body.len = strlen(body);
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 1);
	/* Held posts go out in id order, whatever order they came in. */
	m = post(6, 16038, body, sizeof(body));
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	m = post(5, 16037, body, sizeof(body));
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(cluster_release(db, INT64_MAX, &k, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(k, 3);
	ids_seen = 0;
	ck_assert_int_eq(outbox_read_after(db, 0, 512, row_id, NULL, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(ids_seen, 4);
	ck_assert_int_eq(ids[1], 16021);
	ck_assert_int_eq(ids[2], 16037);
	ck_assert_int_eq(ids[3], 16038);
}
END_TEST

/* A token issued on this node (node 3) leaves a row for the relay; one
 * issued on node 5 works here, until node 5 revokes it. */
START_TEST(tokens)
{
	chat_options_t opt;
	char token[AUTH_TOKEN_HEX + 1], user[SESSION_USER_MAX + 1], body[256];
	unsigned char h[32];
	clusterwire_msg_t m = { .kind = CLUSTERWIRE_TOKEN,
				.origin = 5,
				.id = 21,
				.token_put = 1,
				.token_user = "dave",
				.token_created_ms = 1,
				.token_expires_ms = 4000000000000LL,
				.ack = CHAT_SLICE("a") };
	chat_buf_t b;
	int n = 0, added = 0;

	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
	ck_assert_int_eq(options_set(&opt, "broker_relay", "stomp://g:g@h/", "t", NULL), CHAT_OK);
	ck_assert_int_eq(options_set(&opt, "node_id", "3", "t", NULL), CHAT_OK);
	cluster_configure(&opt);
	ck_assert_int_eq(auth_token_issue(db, "carol", 1000, 60000, token, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_read_after(db, 0, 512, count_row, &n, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(auth_token_revoke(db, token, strlen(token), NULL), CHAT_OK);
	n = 0;
	ck_assert_int_eq(outbox_read_after(db, 0, 512, count_row, &n, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(n, 2);
	/* Node 5's token "t5": its hash is what node 5 would send. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)"t5", 2, NULL, 0);
	memcpy(m.token_hash, h, sizeof(h));
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(auth_token_check(db, "t5", 2, 2000, user, NULL), CHAT_OK);
	ck_assert_str_eq(user, "dave");
	m.id = 37;
	m.token_put = 0;
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(auth_token_check(db, "t5", 2, 2000, user, NULL), CHAT_EDENIED);
	/* The body a token row carries parses back. */
	chat_buf_init(&b, 1024);
	ck_assert_int_eq(clusterwire_token_body(&b, 1, h, "a \"quoted\" name", 1, 2), CHAT_OK);
	snprintf(body, sizeof(body), "%s", b.data);
	ck_assert_ptr_nonnull(strstr(body, "\\\"quoted\\\""));
	chat_buf_free(&b);
	cluster_configure(NULL);
	options_free(&opt);
}
END_TEST

/* Other nodes' users entering and leaving: announced here once for the
 * cluster (node 5 then node 6 have "gus": one ENTER; both leave: one
 * LEAVE). */
START_TEST(presence)
{
	clusterwire_msg_t m = { .kind = CLUSTERWIRE_PRESENCE,
				.origin = 5,
				.id = 21,
				.entered = 1,
				.room = "general",
				.token_user = "gus",
				.ack = CHAT_SLICE("a") };
	int added = 0, n = 0;
	size_t k = 0;
	int64_t seq = 0;

	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 1);
	m.origin = 6;
	m.id = 22;
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 0);
	m.origin = 5;
	m.id = 37;
	m.entered = 0;
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 0);
	m.origin = 6;
	m.id = 38;
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(outbox_read_after(db, 0, 512, count_row, &n, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(n, 2);
	/* Node 6 has "ida", node 7 too: node 6 gone too long loses her
	 * quietly (node 7 still has her); node 7 gone too: one LEAVE. */
	m = (clusterwire_msg_t){ .kind = CLUSTERWIRE_PRESENCE,
				 .origin = 6,
				 .id = 54,
				 .entered = 1,
				 .room = "general",
				 .token_user = "ida",
				 .ack = CHAT_SLICE("a") };
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	m.origin = 7;
	m.id = 55;
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(cluster_drop_node(db, 6, &k, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(k, 1);
	ck_assert_int_eq(seq, 0);
	ck_assert_int_eq(cluster_drop_node(db, 7, &k, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(k, 1);
	ck_assert_int_gt(seq, 0);
	ck_assert_int_eq(cluster_drop_node(db, 7, &k, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(k, 0);
	n = 0;
	ck_assert_int_eq(outbox_read_after(db, 0, 512, count_row, &n, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(n, 4); /* ida's ENTER, then her LEAVE */
}
END_TEST

/* Appends name and a comma to the chat_buf_t ctx; stops after "lee". */
static int collect_name(void *ctx, const char *name)
{
	chat_buf_t *b = ctx;

	ck_assert_int_eq(chat_buf_append(b, name, strlen(name)), CHAT_OK);
	ck_assert_int_eq(chat_buf_putc(b, ','), CHAT_OK);
	return strcmp(name, "lee") == 0 ? CHAT_STOP : CHAT_OK;
}

/* The users other nodes have in a room: each once, in name order. */
START_TEST(room_users)
{
	static const struct {
		int64_t origin, id;
		const char *room, *user;
	} in[] = { { 5, 21, "general", "zoe" }, { 6, 22, "general", "amy" },
		   { 5, 37, "general", "amy" }, { 6, 38, "other", "bob" },
		   { 7, 39, "general", "lee" }, { 7, 55, "general", "max" } };
	chat_buf_t names;
	int added = 0;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		clusterwire_msg_t m = { .kind = CLUSTERWIRE_PRESENCE,
					.origin = in[i].origin,
					.id = in[i].id,
					.entered = 1,
					.ack = CHAT_SLICE("a") };

		snprintf(m.room, sizeof(m.room), "%s", in[i].room);
		snprintf(m.token_user, sizeof(m.token_user), "%s", in[i].user);
		ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	}
	chat_buf_init(&names, 256);
	ck_assert_int_eq(cluster_room_users(db, "general", collect_name, &names, NULL), CHAT_OK);
	ck_assert_int_eq((int)names.len, (int)strlen("amy,lee,"));
	ck_assert(memcmp(names.data, "amy,lee,", names.len) == 0); /* stopped at lee */
	chat_buf_reset(&names);
	ck_assert_int_eq(cluster_room_users(db, "empty", collect_name, &names, NULL), CHAT_OK);
	ck_assert_int_eq((int)names.len, 0);
	chat_buf_free(&names);
}
END_TEST

/* Named counters (db/counters.h): missing is 0, raise only rises, init
 * keeps what is there, next counts from 1. */
START_TEST(counters)
{
	int64_t v = -1;
	int found = -1;

	ck_assert_int_eq(counters_get(db, "c", &v, &found, NULL), CHAT_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(counters_init(db, "c", 0, NULL), CHAT_OK);
	ck_assert_int_eq(counters_get(db, "c", &v, &found, NULL), CHAT_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(counters_raise(db, "c", 7, NULL), CHAT_OK);
	ck_assert_int_eq(counters_raise(db, "c", 5, NULL), CHAT_OK);
	ck_assert_int_eq(counters_init(db, "c", 2, NULL), CHAT_OK);
	ck_assert_int_eq(counters_get(db, "c", &v, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(counters_next(db, "c", &v, NULL), CHAT_OK);
	ck_assert_int_eq(v, 8);
	ck_assert_int_eq(counters_next(db, "n", &v, NULL), CHAT_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(counters_next(db, "n", &v, NULL), CHAT_OK);
	ck_assert_int_eq(v, 2);
}
END_TEST

/* A room another node created is added and published once; its deletion
 * hides it here. */
START_TEST(rooms)
{
	clusterwire_msg_t m = { .kind = CLUSTERWIRE_ROOM,
				.origin = 5,
				.id = 21,
				.entered = 1,
				.room = "lounge",
				.room_id = 4242,
				.room_created_ms = 7,
				.token_user = "hal",
				.ack = CHAT_SLICE("a") };
	chatroom_t r;
	int added = 0, n = 0;

	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(chatroom_get(db, "lounge", &r, NULL), CHAT_OK);
	ck_assert(r.id == 4242 && !strcmp(r.creator, "hal"));
	m.id = 37; /* the same room again (a second creation message): nothing new */
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 0);
	m.id = 53;
	m.entered = 0;
	ck_assert_int_eq(cluster_import(db, 3, &m, &added, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(chatroom_get(db, "lounge", &r, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(outbox_read_after(db, 0, 512, count_row, &n, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(n, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, urls);
	tcase_add_test(tc, cluster_options_checked);
	tcase_add_test(tc, messages);
	tcase_add_test(tc, ids_and_import);
	tcase_add_test(tc, tokens);
	tcase_add_test(tc, presence);
	tcase_add_test(tc, rooms);
	tcase_add_test(tc, room_users);
	tcase_add_test(tc, counters);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
