/*
 * test_broker.c - the STOMP broker through the chat service, against a temp
 * chat.db: tables of steps (frames a session sends -> the frames each
 * session then collects, exactly).  In the tables '^' stands for a frame's
 * NUL and '|' separates the SockJS messages one collect returns.
 */
#include "config.h"
#include "auth.h"
#include "broker.h"
#include "brokerutil.h"
#include "chatroom.h"
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
#define SERVER "server:chat/" PACKAGE_VERSION "\n"

static char *dir;
static char path[512];
static chatdb_t *db;
static chat_options_t opt;
static service_t svc[SERVICE_MAX];
static service_ctx_t ctx;
static char keys[NSESS][CHATDB_ID_MAX + 1];

static void setup(void)
{
	tmpdb_open("broker", &dir, path, sizeof(path), &db);
	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
	opt.session_id_min = 1; /* the tests' sessions are "s0", "s1"... */
	/* The tables say heart-beat:0,...; server_heartbeats offers them. */
	opt.stomp_heartbeat_ms = 0;
	ck_assert_uint_ge(service_table(&opt, svc), 1);
	ck_assert_int_eq(svc[0].kind, SERVICE_CHAT);
	ctx.db = db;
	ctx.opt = &opt;
	brokerutil_open_sessions(&ctx, &svc[0], NSESS, NOW, 1, keys);
}

static void teardown(void)
{
	options_free(&opt);
	tmpdb_close(&dir, &db);
}

/* "login:NAME\npasscode:@" in a frame becomes NAME's login token (issued
 * on first use): the tables stay readable and the tokens stay random. */
static char *with_tokens(const char *text)
{
	static const char mark[] = "\npasscode:@";
	char *out = malloc(strlen(text) * 2 + 4096), *o = out;
	const char *p = text, *m;

	ck_assert_ptr_nonnull(out);
	while ((m = strstr(p, mark)) != NULL) {
		const char *l = m, *name;
		char user[64], token[AUTH_TOKEN_HEX + 1];
		size_t len;

		while (l > p && l[-1] != ':')
			l--;
		name = l;
		len = (size_t)(m - name);
		ck_assert_uint_lt(len, sizeof(user));
		memcpy(user, name, len);
		user[len] = '\0';
		ck_assert_int_eq(auth_token_issue(db, user, NOW, 3600000, token, NULL), CHAT_OK);
		memcpy(o, p, (size_t)(m - p));
		o += m - p;
		o += snprintf(o, sizeof(token) + 16, "\npasscode:%s", token);
		p = m + strlen(mark);
	}
	memcpy(o, p, strlen(p) + 1);
	return out;
}

/* Sends one SockJS message ('^' -> NUL, passcode:@ -> a token) from
 * session who at time now. */
static int send_msg_at(int who, const char *text, int64_t now)
{
	char *raw = with_tokens(text);
	int rc;

	ck_assert_ptr_nonnull(raw);
	rc = brokerutil_send(&ctx, &svc[0], keys[who], raw, now);
	free(raw);
	return rc;
}

/* send_msg_at() at the tests' fixed time NOW. */
static int send_msg(int who, const char *text)
{
	return send_msg_at(who, text, NOW);
}

/* Collects everything for session who, advances its cursor, and returns
 * the messages joined by '|' with NULs as '^' (static buffer). */
static const char *collect(int who)
{
	static char out[1 << 16];

	return brokerutil_collect(&ctx, &svc[0], keys[who], 4096, out, sizeof(out));
}

static session_state_t state(int who)
{
	session_info_t info;

	ck_assert_int_eq(session_get(db, keys[who], &info, NULL), CHAT_OK);
	return info.state;
}

static int64_t count(const char *sql)
{
	return brokerutil_scalar(db, sql);
}

/* A step: session who sends in (NULL: nothing), then each session whose
 * expect[] is not NULL collects exactly that ("" for nothing). */
typedef struct step {
	int line;
	int who;
	const char *in;
	const char *expect[NSESS];
} step_t;

static void run(const step_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i].in != NULL)
			ck_assert_msg(send_msg(s[i].who, s[i].in) == CHAT_OK, "line %d: receive",
				      s[i].line);
		for (int w = 0; w < NSESS; w++) {
			const char *got;

			if (s[i].expect[w] == NULL)
				continue;
			got = collect(w);
			ck_assert_msg(strcmp(got, s[i].expect[w]) == 0,
				      "line %d: session %d got\n%s\nwant\n%s", s[i].line, w, got,
				      s[i].expect[w]);
		}
	}
}

#define CONNECT(login) "CONNECT\naccept-version:1.2\nhost:h\nlogin:" login "\npasscode:@\n\n^"
#define CONNECTED(n, user)                                                                     \
	"CONNECTED\nversion:1.2\nheart-beat:0,0\n" SERVER "session:c:s" #n "\nuser-name:" user \
	"\n\n^"
#define RECEIPT(id) "RECEIPT\nreceipt-id:" id "\n\n^"
#define ERROR(msg) "ERROR\nmessage:" msg "\n\n^"

START_TEST(connect_negotiation)
{
	static const step_t steps[] = {
		{ __LINE__,
		  0,
		  "CONNECT\naccept-version:1.0,1.1\nlogin:alice\npasscode:@\nheart-beat:5000,0\n\n^",
		  { "CONNECTED\nversion:1.1\nheart-beat:0,25000\n" SERVER
		    "session:c:s0\nuser-name:alice\n\n^" } },
		{ __LINE__,
		  1,
		  "STOMP\naccept-version:1.1,1.2\nheart-beat:60000,10000\n\n^",
		  { NULL, "CONNECTED\nversion:1.2\nheart-beat:0,60000\n" SERVER
			  "session:c:s1\nuser-name:guest-1\n\n^" } },
		/* No accept-version: a 1.0 client.  Reserved and invalid logins
		 * get a guest name. */
		{ __LINE__,
		  2,
		  "CONNECT\nlogin:guest-7\n\n^",
		  { NULL, NULL,
		    "CONNECTED\nversion:1.0\nheart-beat:0,0\n" SERVER
		    "session:c:s2\nuser-name:guest-2\n\n^" } },
		/* A second CONNECT is refused. */
		{ __LINE__, 2, "CONNECT\n\n^", { NULL, NULL, ERROR("already connected") } },
		{ __LINE__,
		  3,
		  "CONNECT\naccept-version:2.0,1.3\nreceipt:r1\n\n^",
		  { NULL, NULL, NULL,
		    "ERROR\nmessage:Supported protocol versions are 1.0,1.1,1.2\nreceipt-id:r1\n\n^" } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(state(0), SESSION_OPEN);
	ck_assert_int_eq(state(2), SESSION_CLOSED);
	ck_assert_int_eq(state(3), SESSION_CLOSED);
	/* A closed session refuses what comes later (404 on HTTP). */
	ck_assert_int_eq(send_msg(3, "CONNECT\n\n^"), CHAT_ECLOSED);
}
END_TEST

START_TEST(server_heartbeats)
{
	/* CONNECTED offers the server's interval; the shells send at
	 * max(sx, cy) to a client that asked for them (STOMP 1.1 section
	 * "Heart-beating"), none to one that did not. */
	static const step_t steps[] = {
		{ __LINE__,
		  0,
		  "CONNECT\naccept-version:1.2\nheart-beat:10000,10000\n\n^",
		  { "CONNECTED\nversion:1.2\nheart-beat:10000,25000\n" SERVER
		    "session:c:s0\nuser-name:guest-1\n\n^" } },
		{ __LINE__,
		  1,
		  "CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n^",
		  { NULL, "CONNECTED\nversion:1.2\nheart-beat:10000,0\n" SERVER
			  "session:c:s1\nuser-name:guest-2\n\n^" } },
	};

	opt.stomp_heartbeat_ms = 10000;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(broker_heartbeat_interval(&opt, 4000), 10000);
	ck_assert_int_eq(broker_heartbeat_interval(&opt, 60000), 60000);
	ck_assert_int_eq(broker_heartbeat_interval(&opt, 0), 0);
	opt.stomp_heartbeat_ms = 1;
	ck_assert_int_eq(broker_heartbeat_interval(&opt, 1), BROKER_HEARTBEAT_MIN_MS);
	opt.stomp_heartbeat_ms = 0;
	ck_assert_int_eq(broker_heartbeat_interval(&opt, 4000), 0);
}
END_TEST

START_TEST(bad_heartbeat_and_login)
{
	static const step_t steps[] = {
		{ __LINE__,
		  0,
		  "CONNECT\naccept-version:1.2\nheart-beat:x,1\n\n^",
		  { ERROR("invalid heart-beat header") } },
		{ __LINE__,
		  1,
		  "CONNECT\naccept-version:1.2\nlogin:bad name\n\n^",
		  { NULL, "CONNECTED\nversion:1.2\nheart-beat:0,0\n" SERVER
			  "session:c:s1\nuser-name:guest-1\n\n^" } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
}
END_TEST

START_TEST(subscribe_send_receive)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__,
		  0,
		  "SUBSCRIBE\nid:sub-0\ndestination:/topic/x\nreceipt:r1\n\n^",
		  { RECEIPT("r1") } },
		/* outbox: 1 CONNECTED, 2 the subscription, 3 RECEIPT, 4 the message */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/x\ncontent-type:text/plain\n\nhello^",
		  { "MESSAGE\nsubscription:sub-0\nmessage-id:4\ndestination:/topic/x\n"
		    "content-type:text/plain\ncontent-length:5\n\nhello^" } },
		/* No content-type, empty body, and content-length given by the
		 * sender with a NUL inside. */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/x\n\n^",
		  { "MESSAGE\nsubscription:sub-0\nmessage-id:5\ndestination:/topic/x\n"
		    "content-length:0\n\n^" } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/x\ncontent-length:3\n\na^b^",
		  { "MESSAGE\nsubscription:sub-0\nmessage-id:6\ndestination:/topic/x\n"
		    "content-length:3\n\na^b^" } },
		/* Escaped header values survive (1.2). */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/x\ncontent-type:a/b;c=\"d\\ce\"\n\nz^",
		  { "MESSAGE\nsubscription:sub-0\nmessage-id:7\ndestination:/topic/x\n"
		    "content-type:a/b;c=\"d\\ce\"\ncontent-length:1\n\nz^" } },
		{ __LINE__, 0, "UNSUBSCRIBE\nid:sub-0\n\n^", { "" } },
		{ __LINE__, 0, "SEND\ndestination:/topic/x\n\nlost^", { "" } },
	};

	opt.topic_send = 1;
	run(steps, CHAT_ARRAY_LEN(steps));
}
END_TEST

START_TEST(two_subscribers_one_row)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__, 1, CONNECT("bob"), { "", CONNECTED(1, "bob") } },
		{ __LINE__, 0, "SUBSCRIBE\nid:a\ndestination:/topic/room/*\n\n^", { "" } },
		{ __LINE__, 1, "SUBSCRIBE\nid:b1\ndestination:/topic/room/1\n\n^", { NULL, "" } },
		{ __LINE__, 1, "SUBSCRIBE\nid:b2\ndestination:/topic/**\n\n^", { NULL, "" } },
		/* One row; alice gets one MESSAGE, bob two (two subscriptions,
		 * one SockJS message). */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/room/1\n\nhi^",
		  { "MESSAGE\nsubscription:a\nmessage-id:6\ndestination:/topic/room/1\n"
		    "content-length:2\n\nhi^",
		    "MESSAGE\nsubscription:b1\nmessage-id:6\ndestination:/topic/room/1\n"
		    "content-length:2\n\nhi^"
		    "MESSAGE\nsubscription:b2\nmessage-id:6\ndestination:/topic/room/1\n"
		    "content-length:2\n\nhi^" } },
		{ __LINE__,
		  1,
		  "SEND\ndestination:/topic/other\n\nyo^",
		  { "", "MESSAGE\nsubscription:b2\nmessage-id:7\ndestination:/topic/other\n"
			"content-length:2\n\nyo^" } },
	};

	opt.topic_send = 1;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination = '/topic/room/1'"),
			 1);
}
END_TEST

START_TEST(topic_send_denied)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__, 0, "SUBSCRIBE\nid:a\ndestination:/topic/x\n\n^", { "" } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/x\nreceipt:r9\n\nhi^",
		  { "ERROR\nmessage:SEND to /topic is not allowed\\c send to /app\n"
		    "receipt-id:r9\n\n^" } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(state(0), SESSION_CLOSED);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination = '/topic/x'"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM subscriptions"), 0);
}
END_TEST

START_TEST(queue_one_consumer)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("p"), { CONNECTED(0, "p") } },
		{ __LINE__, 1, CONNECT("c1"), { NULL, CONNECTED(1, "c1") } },
		{ __LINE__, 2, CONNECT("c2"), { NULL, NULL, CONNECTED(2, "c2") } },
		{ __LINE__, 1, "SUBSCRIBE\nid:q\ndestination:/queue/work\n\n^", { NULL, "" } },
		{ __LINE__,
		  2,
		  "SUBSCRIBE\nid:q\ndestination:/queue/work\n\n^",
		  { NULL, NULL, "" } },
		/* In turn (never served yet: by session id), whatever rows
		 * (RECEIPTs) come between; the sender is stamped, a forged
		 * user-name is not passed on. */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/queue/work\nreceipt:r1\nuser-name:c2\n\none^",
		  { RECEIPT("r1"),
		    "MESSAGE\nsubscription:q\nmessage-id:6\ndestination:/queue/work\n"
		    "user-name:p\ncontent-length:3\n\none^",
		    "" } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/queue/work\nreceipt:r2\n\ntwo^",
		  { RECEIPT("r2"), "",
		    "MESSAGE\nsubscription:q\nmessage-id:8\ndestination:/queue/work\n"
		    "user-name:p\ncontent-length:3\n\ntwo^" } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/queue/work\nreceipt:r3\n\nthree^",
		  { RECEIPT("r3"),
		    "MESSAGE\nsubscription:q\nmessage-id:10\ndestination:/queue/work\n"
		    "user-name:p\ncontent-length:5\n\nthree^",
		    "" } },
		/* Patterns on /queue are refused. */
		{ __LINE__,
		  2,
		  "SUBSCRIBE\nid:all\ndestination:/queue/**\n\n^",
		  { "", "", ERROR("cannot subscribe to a /queue pattern\\c name one queue") } },
		/* No consumer: dropped, as Spring's simple broker does. */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/queue/none\nreceipt:r\n\nx^",
		  { RECEIPT("r"), "", "" } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
}
END_TEST

START_TEST(user_routing)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__, 1, CONNECT("alice"), { NULL, CONNECTED(1, "alice") } },
		{ __LINE__, 2, CONNECT("bob"), { NULL, NULL, CONNECTED(2, "bob") } },
		{ __LINE__, 0, "SUBSCRIBE\nid:in\ndestination:/user/queue/inbox\n\n^", { "" } },
		/* Naming oneself is the same subscription. */
		{ __LINE__,
		  1,
		  "SUBSCRIBE\nid:in\ndestination:/user/alice/queue/inbox\n\n^",
		  { NULL, "" } },
		{ __LINE__,
		  2,
		  "SUBSCRIBE\nid:in\ndestination:/user/queue/inbox\n\n^",
		  { NULL, NULL, "" } },
		{ __LINE__,
		  2,
		  "SEND\ndestination:/user/alice/queue/inbox\n\nfor alice^",
		  { "MESSAGE\nsubscription:in\nmessage-id:7\ndestination:/user/queue/inbox\n"
		    "user-name:bob\ncontent-length:9\n\nfor alice^",
		    "MESSAGE\nsubscription:in\nmessage-id:7\ndestination:/user/queue/inbox\n"
		    "user-name:bob\ncontent-length:9\n\nfor alice^",
		    "" } },
		{ __LINE__,
		  2,
		  "SEND\ndestination:/user/queue/inbox\n\nwho^",
		  { "", "", "ERROR\nmessage:SEND to a user needs /user/{name}/queue/...\n\n^" } },
		/* Another user's queue. */
		{ __LINE__, 3, CONNECT("mallory"), { NULL, NULL, NULL, CONNECTED(3, "mallory") } },
		{ __LINE__,
		  3,
		  "SUBSCRIBE\nid:x\ndestination:/user/alice/queue/inbox\n\n^",
		  { "", "", NULL, ERROR("cannot subscribe to another user's destination") } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination LIKE '/user/%'"), 1);
	ck_assert_int_eq(state(3), SESSION_CLOSED);
}
END_TEST

START_TEST(receipts_and_errors)
{
	static const step_t steps[] = {
		/* Before CONNECT: refused (unauthenticated SEND). */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/app/chat/room/a\nreceipt:r0\n\n{\"text\":\"x\"}^",
		  { "ERROR\nmessage:not connected\\c CONNECT first\nreceipt-id:r0\n\n^" } },
		{ __LINE__, 1, CONNECT("bob"), { NULL, CONNECTED(1, "bob") } },
		{ __LINE__, 1, "SUBSCRIBE\nid:s\ndestination:/topic/t\n\n^", { NULL, "" } },
		/* The receipt comes after the message it confirms (same
		 * transaction, later seq). */
		{ __LINE__,
		  1,
		  "SEND\ndestination:/topic/t\nreceipt:r1\n\nm^",
		  { NULL, "MESSAGE\nsubscription:s\nmessage-id:4\ndestination:/topic/t\n"
			  "content-length:1\n\nm^|" RECEIPT("r1") } },
		/* Frames after an ERROR in the same message are dropped. */
		{ __LINE__,
		  1,
		  "FOO\n\n^SEND\ndestination:/topic/t\n\nlost^",
		  { NULL, ERROR("unknown command 'FOO'") } },
		{ __LINE__,
		  2,
		  "SUBSCRIBE\ndestination:/topic/t\n\n^",
		  { NULL, NULL, ERROR("not connected\\c CONNECT first") } },
	};

	opt.topic_send = 1;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(state(0), SESSION_CLOSED);
	ck_assert_int_eq(state(1), SESSION_CLOSED);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination LIKE '/%'"), 1);
}
END_TEST

START_TEST(error_closes_after_delivery)
{
	session_info_t info;

	opt.topic_send = 1;
	ck_assert_int_eq(send_msg(0, CONNECT("a")), CHAT_OK);
	ck_assert_int_eq(send_msg(0, "SEND\n\nno destination^"), CHAT_OK);
	/* Closing until the ERROR is collected; later messages are ignored. */
	ck_assert_int_eq(state(0), SESSION_CLOSING);
	ck_assert_int_eq(send_msg(0, "SEND\ndestination:/topic/x\n\nx^"), CHAT_OK);
	ck_assert_str_eq(collect(0), CONNECTED(0, "a") "|" ERROR("SEND without destination"));
	ck_assert_int_eq(session_get(db, keys[0], &info, NULL), CHAT_OK);
	ck_assert_int_eq(info.state, SESSION_CLOSED);
	ck_assert_int_eq(info.close_code, BROKER_CLOSE_ERROR);
	ck_assert_str_eq(info.close_reason, BROKER_REASON_ERROR);
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination = '/topic/x'"), 0);
}
END_TEST

START_TEST(transactions)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__, 1, CONNECT("bob"), { NULL, CONNECTED(1, "bob") } },
		{ __LINE__, 1, "SUBSCRIBE\nid:s\ndestination:/topic/t\n\n^", { NULL, "" } },
		{ __LINE__, 0, "BEGIN\ntransaction:tx1\n\n^", { "", "" } },
		/* Buffered: its receipt says it was received, nothing is
		 * published yet. */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/t\ntransaction:tx1\nreceipt:r1\n\none^",
		  { RECEIPT("r1"), "" } },
		{ __LINE__, 0, "SEND\ndestination:/topic/t\ntransaction:tx1\n\ntwo^", { "", "" } },
		{ __LINE__,
		  0,
		  "COMMIT\ntransaction:tx1\nreceipt:c1\n\n^",
		  { RECEIPT("c1"), "MESSAGE\nsubscription:s\nmessage-id:5\ndestination:/topic/t\n"
				   "content-length:3\n\none^|"
				   "MESSAGE\nsubscription:s\nmessage-id:6\ndestination:/topic/t\n"
				   "content-length:3\n\ntwo^" } },
		{ __LINE__, 0, "BEGIN\ntransaction:tx2\n\n^", { "", "" } },
		{ __LINE__, 0, "SEND\ndestination:/topic/t\ntransaction:tx2\n\nno^", { "", "" } },
		{ __LINE__, 0, "ABORT\ntransaction:tx2\nreceipt:a2\n\n^", { RECEIPT("a2"), "" } },
		/* The transaction is gone. */
		{ __LINE__,
		  0,
		  "COMMIT\ntransaction:tx2\n\n^",
		  { ERROR("no transaction tx2"), "" } },
	};

	opt.topic_send = 1;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_tx"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_tx_frames"), 0);
}
END_TEST

START_TEST(transaction_errors)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__, 0, "BEGIN\ntransaction:t\n\n^", { "" } },
		{ __LINE__,
		  0,
		  "BEGIN\ntransaction:t\n\n^",
		  { ERROR("transaction t already begun") } },
		{ __LINE__, 1, CONNECT("bob"), { NULL, CONNECTED(1, "bob") } },
		{ __LINE__,
		  1,
		  "SEND\ndestination:/topic/t\ntransaction:nope\n\nx^",
		  { NULL, ERROR("no transaction nope") } },
		/* A refused frame inside COMMIT refuses the whole COMMIT. */
		{ __LINE__, 2, CONNECT("carol"), { NULL, NULL, CONNECTED(2, "carol") } },
		{ __LINE__, 2, "BEGIN\ntransaction:t\n\n^", { NULL, NULL, "" } },
		{ __LINE__,
		  2,
		  "SEND\ndestination:/queue/q\ntransaction:t\n\nok^",
		  { NULL, NULL, "" } },
		{ __LINE__,
		  2,
		  "SEND\ndestination:/topic/t\ntransaction:t\n\ndenied^",
		  { NULL, NULL, "" } },
		{ __LINE__,
		  2,
		  "COMMIT\ntransaction:t\n\n^",
		  { NULL, NULL, ERROR("SEND to /topic is not allowed\\c send to /app") } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_tx"), 0);
}
END_TEST

START_TEST(ack_nack_redelivery)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__,
		  0,
		  "SUBSCRIBE\nid:ci\ndestination:/topic/a\nack:client-individual\n\n^",
		  { "" } },
		{ __LINE__, 0, "SUBSCRIBE\nid:cl\ndestination:/topic/b\nack:client\n\n^", { "" } },
		{ __LINE__, 0, "SEND\ndestination:/topic/a\n\nA1^", { NULL } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/a\n\nA2^",
		  { "MESSAGE\nsubscription:ci\nmessage-id:4\ndestination:/topic/a\nack:4.ci\n"
		    "content-length:2\n\nA1^|"
		    "MESSAGE\nsubscription:ci\nmessage-id:5\ndestination:/topic/a\nack:5.ci\n"
		    "content-length:2\n\nA2^" } },
		/* NACK redelivers that one message, which stays unacknowledged. */
		{ __LINE__,
		  0,
		  "NACK\nid:5.ci\n\n^",
		  { "MESSAGE\nsubscription:ci\nmessage-id:5\ndestination:/topic/a\nack:5.ci\n"
		    "content-length:2\n\nA2^" } },
		{ __LINE__, 0, "ACK\nid:4.ci\n\n^", { "" } },
		{ __LINE__, 0, "SEND\ndestination:/topic/b\n\nB1^", { NULL } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/b\n\nB2^",
		  { "MESSAGE\nsubscription:cl\nmessage-id:7\ndestination:/topic/b\nack:7.cl\n"
		    "content-length:2\n\nB1^|"
		    "MESSAGE\nsubscription:cl\nmessage-id:8\ndestination:/topic/b\nack:8.cl\n"
		    "content-length:2\n\nB2^" } },
		/* client mode: NACK and ACK are cumulative. */
		{ __LINE__,
		  0,
		  "NACK\nid:8.cl\n\n^",
		  { "MESSAGE\nsubscription:cl\nmessage-id:7\ndestination:/topic/b\nack:7.cl\n"
		    "content-length:2\n\nB1^|"
		    "MESSAGE\nsubscription:cl\nmessage-id:8\ndestination:/topic/b\nack:8.cl\n"
		    "content-length:2\n\nB2^" } },
		{ __LINE__, 0, "ACK\nid:8.cl\nreceipt:k\n\n^", { RECEIPT("k") } },
		/* Unknown ids are ignored; a missing one is an error. */
		{ __LINE__, 0, "ACK\nid:99.zz\n\n^", { "" } },
	};

	opt.topic_send = 1;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_unacked"), 1);
	ck_assert_int_eq(count("SELECT msg_seq FROM stomp_unacked"), 5);
}
END_TEST

START_TEST(redelivery_on_reconnect)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__, 0, "SUBSCRIBE\nid:s\ndestination:/topic/a\nack:client\n\n^", { "" } },
		{ __LINE__, 1, CONNECT("bob"), { "", CONNECTED(1, "bob") } },
		{ __LINE__,
		  1,
		  "SEND\ndestination:/topic/a\n\nunacked^",
		  { "MESSAGE\nsubscription:s\nmessage-id:4\ndestination:/topic/a\nack:4.s\n"
		    "content-length:7\n\nunacked^",
		    "" } },
		{ __LINE__, 0, "DISCONNECT\nreceipt:bye\n\n^", { RECEIPT("bye") } },
		/* alice comes back in a new session and subscribes again. */
		{ __LINE__, 2, CONNECT("alice"), { NULL, NULL, CONNECTED(2, "alice") } },
		{ __LINE__,
		  2,
		  "SUBSCRIBE\nid:s2\ndestination:/topic/a\nack:client-individual\n\n^",
		  { NULL, NULL,
		    "MESSAGE\nsubscription:s2\nmessage-id:4\ndestination:/topic/a\n"
		    "ack:4.s2\ncontent-length:7\n\nunacked^" } },
		{ __LINE__, 2, "ACK\nid:4.s2\n\n^", { NULL, NULL, "" } },
	};

	opt.topic_send = 1;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(state(0), SESSION_CLOSED);
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_unacked"), 0);
}
END_TEST

START_TEST(version_11_and_10_acks)
{
	static const step_t steps[] = {
		{ __LINE__,
		  0,
		  "CONNECT\naccept-version:1.1\nlogin:a\npasscode:@\n\n^",
		  { "CONNECTED\nversion:1.1\nheart-beat:0,0\n" SERVER
		    "session:c:s0\nuser-name:a\n\n^" } },
		{ __LINE__,
		  0,
		  "SUBSCRIBE\nid:s\ndestination:/topic/a\nack:client-individual\n\n^",
		  { "" } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/a\n\nx^",
		  { "MESSAGE\nsubscription:s\nmessage-id:3\ndestination:/topic/a\n"
		    "content-length:1\n\nx^" } },
		{ __LINE__,
		  0,
		  "ACK\nmessage-id:3\n\n^",
		  { ERROR("ACK without message-id and subscription") } },
		{ __LINE__,
		  1,
		  "CONNECT\nlogin:b\npasscode:@\n\n^",
		  { NULL, "CONNECTED\nversion:1.0\nheart-beat:0,0\n" SERVER
			  "session:c:s1\nuser-name:b\n\n^" } },
		/* 1.0: SUBSCRIBE without id uses the destination. */
		{ __LINE__, 1, "SUBSCRIBE\ndestination:/topic/b\nack:client\n\n^", { NULL, "" } },
		{ __LINE__,
		  1,
		  "SEND\ndestination:/topic/b\n\ny^",
		  { NULL, "MESSAGE\nsubscription:/topic/b\nmessage-id:7\ndestination:/topic/b\n"
			  "content-length:1\n\ny^" } },
		{ __LINE__, 1, "ACK\nmessage-id:7\nreceipt:k\n\n^", { NULL, RECEIPT("k") } },
	};

	opt.topic_send = 1;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_unacked WHERE session_id = 'c:s1'"), 0);
}
END_TEST

START_TEST(bounds)
{
	static char big[2048 + 64];
	static const step_t steps[] = {
		{ __LINE__,
		  0,
		  "CONNECT\naccept-version:1.2\na:1\nb:2\nc:3\nd:4\n\n^",
		  { ERROR("header count exceeds 4") } },
		/* An incomplete frame waits for the next message (see
		 * frames_across_messages); the session stays open. */
		{ __LINE__, 2, "SEND\ndestination:/topic/x\n\nincomplete", { NULL, NULL, "" } },
		{ __LINE__, 2, "^", { NULL, NULL, ERROR("not connected\\c CONNECT first") } },
		/* Heart-beat EOLs alone, and around frames, are fine. */
		{ __LINE__, 3, "\n", { NULL, NULL, NULL, "" } },
		{ __LINE__,
		  3,
		  "\r\n" CONNECT("d") "\n\n",
		  { NULL, NULL, NULL, CONNECTED(3, "d") } },
	};

	opt.max_frame = 1024;
	opt.max_headers = 4;
	run(steps, CHAT_ARRAY_LEN(steps));
	memcpy(big, "CONNECT\n\n", 9);
	memset(big + 9, 'x', 2048);
	big[9 + 2048] = '^';
	ck_assert_int_eq(send_msg(1, big), CHAT_OK);
	ck_assert_str_eq(collect(1), ERROR("frame exceeds 1024 bytes"));
	ck_assert_int_eq(state(0), SESSION_CLOSED);
	ck_assert_int_eq(state(1), SESSION_CLOSED);
	ck_assert_int_eq(state(2), SESSION_CLOSED);
	ck_assert_int_eq(state(3), SESSION_OPEN);
}
END_TEST

#define MSG_X(id, body)                                                                      \
	"MESSAGE\nsubscription:s\nmessage-id:" #id "\ndestination:/topic/x\ncontent-length:" \
	"1\n\n" body "^"
#define PARTIALS "SELECT count(*) FROM stomp_partial"

/* A frame split over several SockJS/WebSocket messages is reassembled,
 * whatever process gets each piece (here: another chat.db connection). */
START_TEST(frames_across_messages)
{
	static const step_t steps[] = {
		/* CONNECT cut inside a header name. */
		{ __LINE__, 0, "CONNECT\naccept-ver", { "" } },
		{ __LINE__,
		  0,
		  "sion:1.2\nhost:h\nlogin:alice\npasscode:@\n\n^",
		  { CONNECTED(0, "alice") } },
		{ __LINE__, 1, CONNECT("bob"), { NULL, CONNECTED(1, "bob") } },
		/* outbox: 1, 2 CONNECTED, 3 the subscription */
		{ __LINE__, 1, "SUBSCRIBE\nid:s\ndestination:/topic/x\n\n^", { NULL, "" } },
		/* Two whole frames and the start of a third (heart-beat EOLs
		 * between them), then its end: cut in the body, NUL and all. */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/topic/x\n\nd^\nSEND\ndestination:/topic/x\n\ne^\r\n"
		  "SEND\ndestination:/topic/x\ncontent-length:1\n\n",
		  { "", MSG_X(4, "d") "|" MSG_X(5, "e") } },
		/* An empty message and heart-beat EOLs inside the body
		 * continue it too. */
		{ __LINE__, 0, "", { "", "" } },
		{ __LINE__,
		  0,
		  "f^\n\nSEND\ndestination:/topic/x\ncontent-length:1\n",
		  { "", MSG_X(6, "f") } },
		{ __LINE__, 0, "\n", { "", "" } },
		{ __LINE__, 0, "\n^", { "", MSG_X(7, "\n") } },
	};
	char big[700];
	chatdb_t *db2;
	service_ctx_t ctx2 = ctx;

	opt.topic_send = 1;
	opt.max_frame = 1024;
	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count(PARTIALS), 0);

	/* One SEND in three pieces, the middle one through another chat.db
	 * connection (as another chat.fcgi process would handle it). */
	ck_assert_int_eq(chatdb_open(path, 0, &db2, NULL), CHAT_OK);
	ctx2.db = db2;
	ck_assert_int_eq(send_msg(0, "\nSE"), CHAT_OK);
	ck_assert_int_eq(count("SELECT length(bytes) FROM stomp_partial WHERE session_id = 'c:s0'"),
			 2);
	ck_assert_int_eq(brokerutil_send(&ctx2, &svc[0], keys[0], "ND\ndestination:/topic/x\n\n",
					 NOW),
			 CHAT_OK);
	ck_assert_str_eq(collect(1), "");
	ck_assert_int_eq(send_msg(0, "g^"), CHAT_OK);
	ck_assert_str_eq(collect(1), MSG_X(8, "g"));
	ck_assert_int_eq(count(PARTIALS), 0);
	chatdb_close(db2);

	/* Past max_frame across pieces: refused as any oversize frame. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(send_msg(1, "SEND\ndestination:/topic/x\n\n"), CHAT_OK);
	ck_assert_int_eq(send_msg(1, big), CHAT_OK);
	ck_assert_int_eq(count(PARTIALS), 1);
	ck_assert_int_eq(send_msg(1, big), CHAT_OK);
	ck_assert_str_eq(collect(1), ERROR("frame exceeds 1024 bytes"));
	ck_assert_int_eq(state(1), SESSION_CLOSED);
	ck_assert_int_eq(count(PARTIALS), 0);
	/* Nothing after DISCONNECT is kept. */
	ck_assert_int_eq(send_msg(0, "SEND\ndest"), CHAT_OK);
	ck_assert_int_eq(count(PARTIALS), 1);
	ck_assert_int_eq(send_msg(0, "ination:/topic/x\n\n^DISCONNECT\n\n^SEND"), CHAT_OK);
	ck_assert_int_eq(count(PARTIALS), 0);
}
END_TEST

START_TEST(chat_post)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__, 1, CONNECT("bob"), { NULL, CONNECTED(1, "bob") } },
		/* Bob's first subscription to the room announces him. */
		{ __LINE__,
		  1,
		  "SUBSCRIBE\nid:r\ndestination:/topic/chat/room/general\n\n^",
		  { NULL,
		    "MESSAGE\nsubscription:r\nmessage-id:4\ndestination:/topic/chat/room/general\n"
		    "content-type:application/json\ncontent-length:46\n\n"
		    "{\"type\":\"ENTER\",\"user\":\"bob\",\"room\":\"general\"}^" } },
		/* The writer is the session's user, whatever the post says. */
		{ __LINE__,
		  0,
		  "SEND\ndestination:/app/chat/room/general\ncontent-type:application/json\n"
		  "receipt:p1\n\n{\"text\":\"hi \\u00e9\",\"writer\":\"mallory\"}^",
		  { RECEIPT("p1"),
		    "MESSAGE\nsubscription:r\nmessage-id:5\ndestination:/topic/chat/room/general\n"
		    "content-type:application/json\ncontent-length:86\n\n"
		    "{\"id\":5,\"room\":\"general\",\"seq\":1,\"writer\":\"alice\",\"time\":1700000000000,"
		    "\"text\":\"hi \xc3\xa9\"}^" } },
		{ __LINE__,
		  1,
		  "SEND\ndestination:/app/chat/room/general\n\n{\"text\":\"yo\"}^",
		  { "",
		    "MESSAGE\nsubscription:r\nmessage-id:7\ndestination:/topic/chat/room/general\n"
		    "content-type:application/json\ncontent-length:81\n\n"
		    "{\"id\":7,\"room\":\"general\",\"seq\":2,\"writer\":\"bob\",\"time\":1700000000000,"
		    "\"text\":\"yo\"}^" } },
		{ __LINE__,
		  1,
		  "SEND\ndestination:/app/nothing\n\n{}^",
		  { "", ERROR("no handler for /app/nothing") } },
		{ __LINE__,
		  0,
		  "SEND\ndestination:/app/chat/room/general\n\n{\"text\":\"  \"}^",
		  { ERROR("invalid chat message\\c text is empty"), "" } },
		{ __LINE__, 2, CONNECT("c"), { NULL, NULL, CONNECTED(2, "c") } },
		{ __LINE__,
		  2,
		  "SEND\ndestination:/app/chat/room/general\n\n{\"$set\":1,\"text\":\"a\"}^",
		  { NULL, NULL,
		    ERROR("invalid chat message\\c member names may not start with '$'") } },
		{ __LINE__, 3, CONNECT("d"), { NULL, NULL, NULL, CONNECTED(3, "d") } },
		{ __LINE__,
		  3,
		  "SEND\ndestination:/app/chat/room/general\n\n{\"text\":\"\xff\"}^",
		  { NULL, NULL, NULL, ERROR("invalid chat message\\c text is not valid UTF-8") } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(count("SELECT seq FROM chat_room_seq WHERE room = 'general'"), 2);
	/* ENTER, two messages, and LEAVE when bob's session ended in an ERROR. */
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination LIKE '/topic/%'"), 4);
	ck_assert_int_eq(
		count("SELECT count(*) FROM outbox WHERE CAST(body AS TEXT) LIKE '{\"type\":\"LEAVE\",\"user\":\"bob\"%'"),
		1);
	/* The relay is registered before the first chat row. */
	ck_assert_int_eq(count("SELECT cursor FROM outbox_consumers WHERE name = 'relay'"), 4);
}
END_TEST

START_TEST(disconnect)
{
	static const step_t steps[] = {
		{ __LINE__, 0, CONNECT("alice"), { CONNECTED(0, "alice") } },
		{ __LINE__,
		  0,
		  "SUBSCRIBE\nid:s\ndestination:/topic/t\n\n^BEGIN\ntransaction:t\n\n^"
		  "DISCONNECT\nreceipt:77\n\n^",
		  { RECEIPT("77") } },
		{ __LINE__, 1, CONNECT("bob"), { NULL, CONNECTED(1, "bob") } },
		{ __LINE__, 1, "DISCONNECT\n\n^", { NULL, "" } },
	};

	run(steps, CHAT_ARRAY_LEN(steps));
	ck_assert_int_eq(state(0), SESSION_CLOSED);
	ck_assert_int_eq(state(1), SESSION_CLOSED);
	ck_assert_int_eq(count("SELECT count(*) FROM subscriptions"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_tx"), 0);
	ck_assert_int_eq(count("SELECT close_code FROM sessions WHERE id = 'c:s0'"),
			 BROKER_CLOSE_NORMAL);
}
END_TEST

/* A sweep ended session who: it is closing, collects exactly frame (its
 * ERROR), then is closed. */
static void ends_with(int who, const char *frame)
{
	ck_assert_int_eq(state(who), SESSION_CLOSING);
	ck_assert_str_eq(collect(who), frame);
	ck_assert_int_eq(state(who), SESSION_CLOSED);
}

START_TEST(heartbeat_enforced)
{
	int64_t closed;

	/* Session 0 promises heart-beats every 5 s: the server takes them at
	 * its SockJS heartbeat (25 s) or slower.  Session 1 promises none.
	 * The floor (stomp_liveness_ms) is below 2 x 25 s here. */
	opt.stomp_liveness_ms = 1000;
	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.2\nheart-beat:5000,0\n\n^"),
			 CHAT_OK);
	ck_assert_int_eq(send_msg(1, "CONNECT\naccept-version:1.2\n\n^"), CHAT_OK);
	collect(0);
	collect(1);
	/* Heart-beat EOLs keep it alive: 40 s later, 10 s after the last. */
	ck_assert_int_eq(send_msg_at(0, "\n", NOW + 30000), CHAT_OK);
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 40000, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	/* Silent for 2 x 25 s: ERROR, then closed once it is delivered. */
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 30000 + 50000, &closed, NULL),
			 CHAT_OK);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 30000 + 50001, &closed, NULL),
			 CHAT_OK);
	ck_assert_int_eq(closed, 1);
	ends_with(0, ERROR("heart-beat timeout, nothing received for 50001 ms"));
	/* Without heart-beats nobody is timed out; a closed session is not
	 * swept again. */
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 10000000, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(state(1), SESSION_OPEN);
}
END_TEST

START_TEST(liveness_counts_requests_and_has_a_floor)
{
	int64_t closed;

	/* heart-beat:4000: agreed at 25 s, so 2 x 25 s of silence; the floor
	 * (120 s by default) is longer and wins. */
	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.2\nheart-beat:4000,0\n\n^"),
			 CHAT_OK);
	collect(0);
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 100000, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	/* No frame, no EOL, but a SockJS request (a poll, a pong) at 109 s:
	 * alive until 229 s.  A renewal by another process's prefix is not
	 * about this session. */
	ck_assert_int_eq(broker_heard(db, keys[0], NOW + 109000, NULL), CHAT_OK);
	ck_assert_int_eq(broker_heard(db, keys[0], NOW + 109500, NULL),
			 CHAT_OK); /* < 1 s: no write */
	ck_assert_int_eq(broker_heard_prefix(db, "nobody.", NOW + 200000, NULL), CHAT_OK);
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 229000, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 229001, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 1);
	ends_with(0, ERROR("heart-beat timeout, nothing received for 120001 ms"));
	/* A request held by a process (lease owner "p1.N") is one too: the
	 * process says so for all of its requests at once. */
	ck_assert_int_eq(send_msg(1, "CONNECT\naccept-version:1.2\nheart-beat:4000,0\n\n^"),
			 CHAT_OK);
	collect(1);
	ck_assert_int_eq(session_acquire(db, keys[1], "p1.7", NOW, 30000, NULL), CHAT_OK);
	ck_assert_int_eq(broker_heard_prefix(db, "p1.", NOW + 100000, NULL), CHAT_OK);
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 220000, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(broker_heartbeat_sweep(db, &opt, NOW + 220001, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 1);
}
END_TEST

/* Connects session who at NOW with a fresh token of user, valid for
 * ttl_ms; the token goes into token. */
static void connect_with_token(int who, const char *user, int64_t ttl_ms,
			       char token[AUTH_TOKEN_HEX + 1])
{
	char frame[256];

	ck_assert_int_eq(auth_token_issue(db, user, NOW, ttl_ms, token, NULL), CHAT_OK);
	snprintf(frame, sizeof(frame), "CONNECT\naccept-version:1.2\nlogin:%s\npasscode:%s\n\n^",
		 user, token);
	ck_assert_int_eq(brokerutil_send(&ctx, &svc[0], keys[who], frame, NOW), CHAT_OK);
	ck_assert_msg(strncmp(collect(who), "CONNECTED\n", 10) == 0, "session %d", who);
}

/* A session opened with a token ends when the token is revoked (ERROR
 * "logged out") or expires ("token expired"), by the sweep or at its next
 * frame; guests and other tokens' sessions go on. */
START_TEST(token_sessions_end)
{
	char t0[AUTH_TOKEN_HEX + 1], t2[AUTH_TOKEN_HEX + 1], t3[AUTH_TOKEN_HEX + 1];
	int64_t closed = -1;

	connect_with_token(0, "alice", 10000, t0);
	ck_assert_int_eq(send_msg(1, "CONNECT\naccept-version:1.2\n\n^"), CHAT_OK);
	collect(1);
	connect_with_token(2, "bob", 3600000, t2);
	connect_with_token(3, "carol", 5000, t3);
	ck_assert_int_eq(broker_token_sweep(db, &opt, NOW + 1, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(auth_token_revoke(db, t2, strlen(t2), NULL), CHAT_OK);
	ck_assert_int_eq(broker_token_sweep(db, &opt, NOW + 1, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 1);
	ends_with(2, ERROR("logged out"));
	ck_assert_int_eq(broker_token_sweep(db, &opt, NOW + 5000, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 1);
	ends_with(3, ERROR("token expired"));
	/* Before any sweep saw it: the next frame gets the ERROR. */
	opt.topic_send = 1;
	ck_assert_int_eq(send_msg_at(0, "SEND\ndestination:/topic/x\nreceipt:r\n\nlate^",
				     NOW + 10000),
			 CHAT_OK);
	ck_assert_str_eq(collect(0), "ERROR\nmessage:token expired\nreceipt-id:r\n\n^");
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination = '/topic/x'"), 0);
	ck_assert_int_eq(broker_token_sweep(db, &opt, NOW + 10000000, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(state(1), SESSION_OPEN);
}
END_TEST

/* A ban (auth_ban) refuses the user's CONNECT, whatever the case of the
 * name and whether by token or password; broker_end_user() ends the
 * sessions opened before it with ERROR "banned" and leaves the others
 * alone; broker_end_session() ends one; unban lifts it (the integration
 * test 60-ops/chatctl.mjs connects again after it). */
START_TEST(ban_and_kill)
{
	char t0[AUTH_TOKEN_HEX + 1], t1[AUTH_TOKEN_HEX + 1], t2[AUTH_TOKEN_HEX + 1];
	int64_t closed = -1;
	int banned = -1;

	connect_with_token(0, "mallory", 3600000, t0);
	connect_with_token(1, "Mallory", 3600000, t1);
	connect_with_token(2, "bob", 3600000, t2);
	ck_assert_int_eq(auth_ban(db, "MALLORY", "spam", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(auth_ban(db, "mallory", "spam again", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(auth_banned(db, "mallory", &banned, NULL), CHAT_OK);
	ck_assert_int_eq(banned, 1);
	ck_assert_int_eq(count("SELECT count(*) FROM auth_bans"), 1);
	ck_assert_int_eq(broker_end_user(db, &opt, "mallory", BROKER_ERROR_BANNED, NOW + 1, &closed,
					 NULL),
			 CHAT_OK);
	ck_assert_int_eq(closed, 2);
	ends_with(0, ERROR("banned"));
	ends_with(1, ERROR("banned"));
	ck_assert_int_eq(state(2), SESSION_OPEN);
	ck_assert_int_eq(broker_end_user(db, &opt, "mallory", BROKER_ERROR_BANNED, NOW + 2, &closed,
					 NULL),
			 CHAT_OK);
	ck_assert_int_eq(closed, 0);
	/* A new CONNECT, with a valid token, is refused. */
	ck_assert_int_eq(auth_token_issue(db, "mallory", NOW, 3600000, t0, NULL), CHAT_OK);
	{
		char frame[256];

		snprintf(frame, sizeof(frame),
			 "CONNECT\naccept-version:1.2\nlogin:mallory\npasscode:%s\n\n^", t0);
		ck_assert_int_eq(brokerutil_send(&ctx, &svc[0], keys[3], frame, NOW), CHAT_OK);
		ck_assert_str_eq(collect(3), ERROR("banned"));
	}
	ck_assert_int_eq(auth_unban(db, "Mallory", NULL), CHAT_OK);
	ck_assert_int_eq(auth_unban(db, "mallory", NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(auth_banned(db, "mallory", &banned, NULL), CHAT_OK);
	ck_assert_int_eq(banned, 0);
	/* Kill: one session, once. */
	ck_assert_int_eq(broker_end_session(db, &opt, keys[2], NOW + 3, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 1);
	ends_with(2, ERROR("session ended by the administrator"));
	ck_assert_int_eq(broker_end_session(db, &opt, keys[2], NOW + 4, &closed, NULL), CHAT_OK);
	ck_assert_int_eq(closed, 0);
	/* Bounds. */
	ck_assert_int_eq(auth_ban(db, "", "", NOW, NULL), CHAT_EINVAL);
	{
		char reason[AUTH_BAN_REASON_MAX + 2];

		memset(reason, 'x', sizeof(reason) - 1);
		reason[sizeof(reason) - 1] = '\0';
		ck_assert_int_eq(auth_ban(db, "eve", reason, NOW, NULL), CHAT_ETOOBIG);
	}
}
END_TEST

/* A content-type that is not a media type is refused at SEND (an escaped
 * LF or CR could not be rendered for 1.0 or 1.1 subscribers): nothing is
 * stored. */
START_TEST(content_type_refused)
{
	static const char *const bad[] = { "text/plain\\nx-evil:1", "text/plain\\r", "a\\cb",
					   "text" };

	opt.topic_send = 1;
	for (size_t i = 0; i < CHAT_ARRAY_LEN(bad); i++) {
		char frame[256];
		int k = (int)(i % NSESS);

		snprintf(frame, sizeof(frame),
			 "CONNECT\naccept-version:1.2\nlogin:a\npasscode:@\n\n^"
			 "SEND\ndestination:/topic/x\ncontent-type:%s\n\nbody^",
			 bad[i]);
		const char *got;

		ck_assert_int_eq(send_msg(k, frame), CHAT_OK);
		got = collect(k);
		ck_assert_msg(strstr(got, ERROR("invalid content-type (not a media type)")) != NULL,
			      "%s: %s", bad[i], got);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE destination = '/topic/x'"), 0);
}
END_TEST

/* A row that cannot be rendered for a session (here a content-type with
 * CR and LF, put in the outbox directly as an older server stored it) is
 * skipped for 1.0 and 1.1 subscribers, who get the rows after it; the
 * cursor moves past it.  A 1.2 subscriber receives it escaped. */
START_TEST(unrenderable_row_skipped)
{
	static const char hdr[] = "content-type\0text/plain\r\nx\0";
	outbox_msg_t m = { "/topic/p", NULL, { hdr, sizeof(hdr) - 1 }, CHAT_SLICE("poison"), NOW };
	session_info_t info;
	const char *got;

	opt.topic_send = 1;
	ck_assert_int_eq(send_msg(0, "CONNECT\naccept-version:1.0\nlogin:a\npasscode:@\n\n^"
				     "SUBSCRIBE\nid:s\ndestination:/topic/p\n\n^"),
			 CHAT_OK);
	ck_assert_int_eq(send_msg(1, "CONNECT\naccept-version:1.1\nlogin:b\npasscode:@\n\n^"
				     "SUBSCRIBE\nid:s\ndestination:/topic/p\n\n^"),
			 CHAT_OK);
	ck_assert_int_eq(send_msg(2, CONNECT("c") "SUBSCRIBE\nid:s\ndestination:/topic/p\n\n^"),
			 CHAT_OK);
	for (int w = 0; w < 3; w++)
		collect(w);
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(send_msg(3, CONNECT("d") "SEND\ndestination:/topic/p\n\nafter^"), CHAT_OK);
	for (int w = 0; w < 2; w++) {
		got = collect(w);
		ck_assert_msg(strstr(got, "poison") == NULL && strstr(got, "\n\nafter^") != NULL,
			      "session %d got %s", w, got);
		ck_assert_int_eq(session_get(db, keys[w], &info, NULL), CHAT_OK);
		ck_assert_int_eq(info.cursor, count("SELECT max(seq) FROM outbox"));
		ck_assert_str_eq(collect(w), "");
		ck_assert_int_eq(state(w), SESSION_OPEN);
	}
	got = collect(2);
	ck_assert_msg(strstr(got, "content-type:text/plain\\r\\nx\n") != NULL &&
			      strstr(got, "after^") != NULL,
		      "%s", got);
}
END_TEST

START_TEST(collect_limits)
{
	json_strv_t v;
	session_info_t info;
	int64_t next;
	int i;

	opt.topic_send = 1;
	ck_assert_int_eq(send_msg(0, CONNECT("a") "SUBSCRIBE\nid:s\ndestination:/topic/t\n"
						  "ack:client\n\n^"),
			 CHAT_OK);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(send_msg(0, "SEND\ndestination:/topic/t\n\n0123456789^"), CHAT_OK);
	/* Room for two messages: the rest stays for the next response, and
	 * only what was handed out is recorded as unacknowledged. */
	json_strv_init(&v, 1 << 20, 2);
	ck_assert_int_eq(session_get(db, keys[0], &info, NULL), CHAT_OK);
	ck_assert_int_eq(service_collect(&ctx, &svc[0], keys[0], info.cursor, &v, &next, NULL),
			 CHAT_OK);
	ck_assert_uint_eq(v.n, 2);
	/* CONNECTED (1), the subscription (2, no frame), the first message (3). */
	ck_assert_int_eq(next, 3);
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_unacked"), 1);
	json_strv_free(&v);
	ck_assert_int_eq(session_advance_cursor(db, keys[0], next, NULL), CHAT_OK);
	collect(0);
	ck_assert_int_eq(count("SELECT count(*) FROM stomp_unacked"), 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("broker");
	TCase *tc = tcase_create("broker");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, connect_negotiation);
	tcase_add_test(tc, server_heartbeats);
	tcase_add_test(tc, bad_heartbeat_and_login);
	tcase_add_test(tc, subscribe_send_receive);
	tcase_add_test(tc, two_subscribers_one_row);
	tcase_add_test(tc, topic_send_denied);
	tcase_add_test(tc, queue_one_consumer);
	tcase_add_test(tc, user_routing);
	tcase_add_test(tc, receipts_and_errors);
	tcase_add_test(tc, error_closes_after_delivery);
	tcase_add_test(tc, transactions);
	tcase_add_test(tc, transaction_errors);
	tcase_add_test(tc, ack_nack_redelivery);
	tcase_add_test(tc, redelivery_on_reconnect);
	tcase_add_test(tc, version_11_and_10_acks);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, frames_across_messages);
	tcase_add_test(tc, chat_post);
	tcase_add_test(tc, disconnect);
	tcase_add_test(tc, collect_limits);
	tcase_add_test(tc, content_type_refused);
	tcase_add_test(tc, token_sessions_end);
	tcase_add_test(tc, ban_and_kill);
	tcase_add_test(tc, unrenderable_row_skipped);
	tcase_add_test(tc, heartbeat_enforced);
	tcase_add_test(tc, liveness_counts_requests_and_has_a_floor);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
