/*
 * test_chatroom.c - db/chatroom directly, on a temporary chat.db: the
 * room topics, guests and admins, creating and deleting rooms (names,
 * ids, quotas, who may), what each publishes on /topic/rooms, message
 * tombstones, the listings and their pages, and rooms imported from the
 * store.  The broker's side of rooms is in test_chatapp.c.
 */
#include "config.h"
#include "chatroom.h"
#include "outbox.h"
#include "testutil.h"
#include "tmpdb.h"

#include <stdio.h>
#include <string.h>

#define NOW 1700000000000LL
#define SL(s) ((chat_slice_t){ (s), strlen(s) })

static char *dir;
static char path[512];
static chatdb_t *db;
static chat_options_t opt;

static void setup(void)
{
	tmpdb_open("chatroom", &dir, path, sizeof(path), &db);
	ck_assert_int_eq(options_defaults(&opt), CHAT_OK);
}

static void teardown(void)
{
	options_free(&opt);
	tmpdb_close(&dir, &db);
}

/* The last outbox row: destination into dest, body into body. */
typedef struct last_row {
	char dest[CHATDB_DEST_MAX + 1];
	char body[4096];
	int64_t seq;
} last_row_t;

static int take_row(void *ctx, const outbox_row_t *row)
{
	last_row_t *l = ctx;

	snprintf(l->dest, sizeof(l->dest), "%s", row->destination.ptr);
	snprintf(l->body, sizeof(l->body), "%.*s", (int)row->body.len, row->body.ptr);
	l->seq = row->seq;
	return 0;
}

static last_row_t last_row(void)
{
	last_row_t l = { "", "", 0 };
	int64_t seq = 0;

	ck_assert_int_eq(outbox_last_seq(db, &seq, NULL), CHAT_OK);
	if (seq > 0)
		ck_assert_int_eq(outbox_read_after(db, seq - 1, 1, take_row, &l, NULL, NULL),
				 CHAT_OK);
	return l;
}

static int64_t last_seq(void)
{
	int64_t seq = 0;

	ck_assert_int_eq(outbox_last_seq(db, &seq, NULL), CHAT_OK);
	return seq;
}

START_TEST(topics)
{
	static const struct {
		int line;
		const char *dest;
		const char *room; /* NULL: not a room topic */
	} rows[] = {
		{ __LINE__, "/topic/chat/room/general", "general" },
		{ __LINE__, "/topic/chat/room/a-b_C9", "a-b_C9" },
		{ __LINE__, "/topic/chat/room/", NULL },
		{ __LINE__, "/topic/chat/room", NULL },
		{ __LINE__, "/topic/chat/roomx", NULL },
		{ __LINE__, "/topic/chat/room/a.b", NULL },
		{ __LINE__, "/topic/chat/room/a/b", NULL },
		{ __LINE__, "/topic/chat/room/a b", NULL },
		{ __LINE__, "/queue/chat/room/general", NULL },
		{ __LINE__, "/app/chat/room/general", NULL },
		{ __LINE__, "/topic/rooms", NULL },
		{ __LINE__,
		  "/topic/chat/room/"
		  "1234567890123456789012345678901234567890123456789012345678901234",
		  "1234567890123456789012345678901234567890123456789012345678901234" },
		{ __LINE__,
		  "/topic/chat/room/"
		  "12345678901234567890123456789012345678901234567890123456789012345",
		  NULL },
	};
	char out[CHATDB_DEST_MAX + 1], big[CHATDB_DEST_MAX + 1];
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		chat_slice_t room = { NULL, 0 };
		int is = chatroom_of_topic(SL(rows[i].dest), &room);

		ck_assert_msg(is == (rows[i].room != NULL), "row at line %d", rows[i].line);
		if (is)
			ck_assert_msg(chat_slice_eq(room, rows[i].room), "row at line %d",
				      rows[i].line);
	}
	ck_assert_int_eq(chatroom_topic(out, CHATROOM_ROOM_PATH, "lounge"), CHAT_OK);
	ck_assert_str_eq(out, "/topic/chat/room/lounge");
	ck_assert_int_eq(chatroom_topic(out, CHATROOM_ROOMS_PATH, ""), CHAT_OK);
	ck_assert_str_eq(out, "/topic/rooms");
	/* Exactly CHATDB_DEST_MAX bytes fit, one more does not. */
	memset(big, 'r', sizeof(big) - 1);
	big[CHATDB_DEST_MAX - strlen("/topic/chat/room/")] = '\0';
	ck_assert_int_eq(chatroom_topic(out, CHATROOM_ROOM_PATH, big), CHAT_OK);
	ck_assert_uint_eq(strlen(out), CHATDB_DEST_MAX);
	big[CHATDB_DEST_MAX - strlen("/topic/chat/room/")] = 'r';
	big[CHATDB_DEST_MAX - strlen("/topic/chat/room/") + 1] = '\0';
	ck_assert_int_eq(chatroom_topic(out, CHATROOM_ROOM_PATH, big), CHAT_ETOOBIG);
}
END_TEST

START_TEST(guests_and_admins)
{
	static const struct {
		int line;
		const char *user, *admins; /* admins NULL: the option unset */
		int guest, admin;
	} rows[] = {
		{ __LINE__, "guest-1", NULL, 1, 0 },
		{ __LINE__, "guest-", "", 1, 0 },
		{ __LINE__, "guests", "", 0, 0 },
		{ __LINE__, "Guest-1", "", 0, 0 },
		{ __LINE__, "alice", "alice", 0, 1 },
		{ __LINE__, "alice", "bob,alice", 0, 1 },
		{ __LINE__, "alice", " bob ,\talice\t", 0, 1 },
		{ __LINE__, "alice", "bob, alice ,carol", 0, 1 },
		{ __LINE__, "alice", "alicia", 0, 0 },
		{ __LINE__, "alice", "alice2,xalice", 0, 0 },
		{ __LINE__, "ali", "alice", 0, 0 },
		{ __LINE__, "Alice", "alice", 0, 0 }, /* exactly, case too */
		{ __LINE__, "alice", ",,alice,", 0, 1 },
		{ __LINE__, "alice", NULL, 0, 0 },
		{ __LINE__, "", "alice", 0, 0 },
		{ __LINE__, "", ",", 0, 0 },
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		chat_options_t o = { 0 };

		o.admins = (char *)rows[i].admins;
		ck_assert_msg(chatroom_is_guest(rows[i].user) == rows[i].guest, "row at line %d",
			      rows[i].line);
		ck_assert_msg(chatroom_is_admin(&o, rows[i].user) == rows[i].admin,
			      "row at line %d", rows[i].line);
	}
}
END_TEST

START_TEST(general_always_there)
{
	chatroom_t r;

	ck_assert_int_eq(chatroom_get(db, CHATROOM_DEFAULT, &r, NULL), CHAT_OK);
	ck_assert_str_eq(r.name, "general");
	ck_assert_str_eq(r.creator, "");
	ck_assert_int_eq(r.id, 1);
	ck_assert_int_eq(r.deleted_ms, 0);
	ck_assert_int_eq(chatroom_get(db, "nowhere", &r, NULL), CHAT_ENOTFOUND);
	ck_assert_int_eq(chatroom_get_any(db, "nowhere", &r, NULL), CHAT_ENOTFOUND);
	/* Nobody deletes it, not even the host's administrator. */
	ck_assert_int_eq(chatroom_delete(db, &opt, SL("general"), NULL, NOW, NULL, NULL),
			 CHAT_EDENIED);
	ck_assert_int_eq(chatroom_get(db, CHATROOM_DEFAULT, &r, NULL), CHAT_OK);
}
END_TEST

/* Steps on one chat.db, in order: who creates (or deletes, del) which
 * name, with which result; id: the room's id in destinations ("" for a
 * generated one, NULL: not checked). */
static const struct {
	int line;
	int del;
	const char *user, *name;
	int rc;
	const char *id, *display;
} steps[] = {
	{ __LINE__, 0, "alice", "random", CHAT_OK, "random", "random" },
	/* Display names are unique by their key: case and width folded. */
	{ __LINE__, 0, "bob", "Random", CHAT_EEXIST, NULL, NULL },
	{ __LINE__, 0, "bob", "RANDOM", CHAT_EEXIST, NULL, NULL },
	{ __LINE__, 0, "bob", "\xef\xbd\x92\x61ndom", CHAT_EEXIST, NULL, NULL }, /* fullwidth r */
	{ __LINE__, 0, "bob", "General", CHAT_EEXIST, NULL, NULL },
	/* A name that is no id gets a generated one; an id in another
	 * case is taken too. */
	{ __LINE__, 0, "bob", "my room", CHAT_OK, "", "my room" },
	{ __LINE__, 0, "bob", "\xec\x9e\x90\xec\x9c\xa0", CHAT_OK, "", "\xec\x9e\x90\xec\x9c\xa0" },
	{ __LINE__, 0, "bob", "Lounge", CHAT_OK, "Lounge", "Lounge" },
	/* Bad names: err says why. */
	{ __LINE__, 0, "bob", "", CHAT_EINVAL, NULL, NULL },
	{ __LINE__, 0, "bob", "   ", CHAT_EINVAL, NULL, NULL },
	{ __LINE__, 0, "bob",
	  "a\xe2\x80\xae"
	  "b",
	  CHAT_EINVAL, NULL, NULL },
	{ __LINE__, 0, "bob", "\xff", CHAT_EUTF8, NULL, NULL },
	/* Guests create none without guest_rooms. */
	{ __LINE__, 0, "guest-7", "guests", CHAT_EDENIED, NULL, NULL },
	/* Deleting: the creator or an admin ("root" here), never another. */
	{ __LINE__, 1, "alice", "Lounge", CHAT_EDENIED, NULL, NULL },
	{ __LINE__, 1, "bob", "Lounge", CHAT_OK, "Lounge", "Lounge" },
	{ __LINE__, 1, "bob", "Lounge", CHAT_ENOTFOUND, NULL, NULL },
	{ __LINE__, 1, "root", "random", CHAT_OK, "random", "random" },
	{ __LINE__, 1, "root", "bad.name", CHAT_ENOTFOUND, NULL, NULL },
	{ __LINE__, 1, "root", "general", CHAT_EDENIED, NULL, NULL },
	/* A deleted room's display name is free again, its id is not. */
	{ __LINE__, 0, "carol", "random", CHAT_OK, "", "random" },
	{ __LINE__, 0, "carol", "lounge", CHAT_OK, "", "lounge" },
};

START_TEST(create_and_delete)
{
	size_t i;

	ck_assert_int_eq(options_set(&opt, "admins", "root", "t", NULL), CHAT_OK);
	for (i = 0; i < CHAT_ARRAY_LEN(steps); i++) {
		chat_error_t err = { 0 };
		chatroom_t r, again;
		int64_t before = last_seq();
		int rc;

		memset(&r, 0, sizeof(r));
		rc = steps[i].del ? chatroom_delete(db, &opt, SL(steps[i].name), steps[i].user,
						    NOW + (int64_t)i, &r, &err)
				  : chatroom_create(db, &opt, SL(steps[i].name), steps[i].user,
						    NOW + (int64_t)i, &r, &err);
		ck_assert_msg(rc == steps[i].rc, "step at line %d: %d (%s)", steps[i].line, rc,
			      err.message);
		if (rc != CHAT_OK) {
			ck_assert_msg(err.message[0] != '\0', "step at line %d: no reason",
				      steps[i].line);
			ck_assert_msg(last_seq() == before, "step at line %d published",
				      steps[i].line);
			continue;
		}
		/* One row on /topic/rooms per change. */
		ck_assert_msg(last_seq() == before + 1, "step at line %d", steps[i].line);
		ck_assert_str_eq(last_row().dest, "/topic/rooms");
		ck_assert_str_eq(r.display, steps[i].display);
		if (steps[i].id != NULL && steps[i].id[0] != '\0')
			ck_assert_str_eq(r.name, steps[i].id);
		ck_assert_msg(chatmsg_room_valid(SL(r.name)), "step at line %d: id %s",
			      steps[i].line, r.name);
		if (steps[i].del) {
			ck_assert_int_gt(r.deleted_ms, 0);
			ck_assert_int_eq(chatroom_get(db, r.name, &again, NULL), CHAT_ENOTFOUND);
			ck_assert_int_eq(chatroom_get_any(db, r.name, &again, NULL), CHAT_OK);
			ck_assert_int_eq(again.deleted_ms, NOW + (int64_t)i);
			ck_assert_int_eq(again.stored, 0); /* the relay deletes it in the store */
			continue;
		}
		if (steps[i].id != NULL && steps[i].id[0] == '\0')
			ck_assert_str_ne(r.name, steps[i].display);
		ck_assert_str_eq(r.creator, steps[i].user);
		ck_assert_int_eq(r.created_ms, NOW + (int64_t)i);
		ck_assert_int_gt(r.id, 1);
		ck_assert_int_eq(chatroom_get(db, r.name, &again, NULL), CHAT_OK);
		ck_assert_str_eq(again.display, r.display);
		ck_assert_int_eq(again.id, r.id);
		ck_assert_int_eq(again.stored, 0);
	}
}
END_TEST

START_TEST(published)
{
	char want[512];
	chatroom_t r;
	last_row_t l;

	ck_assert_int_eq(options_set(&opt, "admins", "root", "t", NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_create(db, &opt, SL("Tea \"time\""), "alice", NOW, &r, NULL),
			 CHAT_OK);
	l = last_row();
	snprintf(
		want, sizeof(want),
		"{\"id\":\"%s\",\"name\":\"Tea \\\"time\\\"\",\"creator\":\"alice\",\"created\":%lld}",
		r.name, (long long)NOW);
	ck_assert_str_eq(l.body, want);
	ck_assert_int_eq(chatroom_delete(db, &opt, SL(r.name), "root", NOW + 1, NULL, NULL),
			 CHAT_OK);
	l = last_row();
	ck_assert_str_eq(l.dest, "/topic/rooms");
	snprintf(want, sizeof(want), "{\"type\":\"DELETED\",\"user\":\"root\",\"room\":\"%s\"}",
		 r.name);
	ck_assert_str_eq(l.body, want);
	/* The host's administrator deletes as CHATROOM_BY_ADMIN. */
	ck_assert_int_eq(chatroom_create(db, &opt, SL("tmp"), "bob", NOW + 2, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_delete(db, &opt, SL("tmp"), NULL, NOW + 3, NULL, NULL), CHAT_OK);
	ck_assert_str_eq(last_row().body, "{\"type\":\"DELETED\",\"user\":\"" CHATROOM_BY_ADMIN
					  "\",\"room\":\"tmp\"}");
}
END_TEST

START_TEST(quotas)
{
	static const struct {
		int line;
		int guest_rooms;
		const char *user, *name;
		int rc;
	} rows[] = {
		{ __LINE__, 0, "guest-1", "g1", CHAT_EDENIED },
		{ __LINE__, 1, "guest-1", "g1", CHAT_OK },
		{ __LINE__, 1, "alice", "a1", CHAT_OK },
		/* rooms_per_user 2: alice's third is refused, whoever else. */
		{ __LINE__, 1, "alice", "a2", CHAT_OK },
		{ __LINE__, 1, "alice", "a3", CHAT_ETOOMANY },
		/* rooms_max 5, "general" counted. */
		{ __LINE__, 1, "bob", "b1", CHAT_OK },
		{ __LINE__, 1, "bob", "b2", CHAT_ETOOMANY },
		{ __LINE__, 1, "carol", "c1", CHAT_ETOOMANY },
	};
	size_t i;

	opt.rooms_per_user = 2;
	opt.rooms_max = 5;
	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		chat_error_t err = { 0 };
		int rc;

		opt.guest_rooms = rows[i].guest_rooms;
		rc = chatroom_create(db, &opt, SL(rows[i].name), rows[i].user, NOW, NULL, &err);
		ck_assert_msg(rc == rows[i].rc, "row at line %d: %d %s", rows[i].line, rc,
			      err.message);
	}
	/* A deleted room no longer counts, for its creator nor in all. */
	ck_assert_int_eq(chatroom_delete(db, &opt, SL("a1"), "alice", NOW, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_create(db, &opt, SL("a3"), "alice", NOW, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_create(db, &opt, SL("c1"), "carol", NOW, NULL, NULL),
			 CHAT_ETOOMANY);
}
END_TEST

START_TEST(message_tombstones)
{
	chat_error_t err = { 0 };
	last_row_t l;

	ck_assert_int_eq(options_set(&opt, "admins", "root", "t", NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_create(db, &opt, SL("den"), "alice", NOW, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_msg_deleted(db, 42), 0);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("den"), 42, "bob", NOW, &err),
			 CHAT_EDENIED);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("den"), 0, "alice", NOW, NULL),
			 CHAT_ENOTFOUND);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("nowhere"), 42, "alice", NOW, NULL),
			 CHAT_ENOTFOUND);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("no.room"), 42, "alice", NOW, NULL),
			 CHAT_ENOTFOUND);
	ck_assert_int_eq(chatroom_msg_deleted(db, 42), 0);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("den"), 42, "alice", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_msg_deleted(db, 42), 1);
	ck_assert_int_eq(chatroom_msg_deleted(db, 43), 0);
	l = last_row();
	ck_assert_str_eq(l.dest, "/topic/chat/room/den");
	ck_assert_str_eq(
		l.body,
		"{\"type\":\"DELETED_MESSAGE\",\"id\":42,\"user\":\"alice\",\"room\":\"den\"}");
	/* An admin may too, in any room. */
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("den"), 43, "root", NOW, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_msg_deleted(db, 43), 1);
	/* A deleted room has no messages to delete. */
	ck_assert_int_eq(chatroom_delete(db, &opt, SL("den"), "alice", NOW, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_delete_msg(db, &opt, SL("den"), 44, "alice", NOW, NULL),
			 CHAT_ENOTFOUND);
}
END_TEST

/* Collects room names, comma-separated; stops after stop_after (0: never). */
typedef struct names {
	char list[1024];
	int n, stop_after;
} names_t;

static int collect(void *ctx, const chatroom_t *r)
{
	names_t *c = ctx;
	size_t len = strlen(c->list);

	snprintf(c->list + len, sizeof(c->list) - len, "%s%s", len > 0 ? "," : "", r->name);
	c->n++;
	return c->stop_after > 0 && c->n >= c->stop_after ? CHAT_STOP : CHAT_OK;
}

/* A callback that fails at once, counting its calls in *ctx. */
static int fail_at_once(void *ctx, const chatroom_t *r)
{
	(void)r;
	++*(int *)ctx;
	return CHAT_EIO;
}

START_TEST(listing)
{
	names_t all = { "", 0, 0 }, unstored = { "", 0, 0 }, first = { "", 0, 2 };
	chatroom_t b;
	int calls = 0;

	/* Creation order, not name order. */
	ck_assert_int_eq(chatroom_create(db, &opt, SL("zeta"), "alice", NOW, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_create(db, &opt, SL("beta"), "alice", NOW + 1, &b, NULL),
			 CHAT_OK);
	ck_assert_int_eq(chatroom_create(db, &opt, SL("alpha"), "alice", NOW + 2, NULL, NULL),
			 CHAT_OK);
	ck_assert_int_eq(chatroom_delete(db, &opt, SL("alpha"), "alice", NOW + 3, NULL, NULL),
			 CHAT_OK);
	ck_assert_int_eq(chatroom_list(db, 0, collect, &all, NULL), CHAT_OK);
	ck_assert_str_eq(all.list, "general,zeta,beta");
	/* CHAT_STOP stops the listing, which then succeeds. */
	ck_assert_int_eq(chatroom_list(db, 0, collect, &first, NULL), CHAT_OK);
	ck_assert_str_eq(first.list, "general,zeta");
	/* A callback's error stops the listing and is returned. */
	ck_assert_int_eq(chatroom_list(db, 0, fail_at_once, &calls, NULL), CHAT_EIO);
	ck_assert_int_eq(calls, 1);
	/* The relay's view: what it has not copied, the deleted one included. */
	ck_assert_int_eq(chatroom_set_stored(db, b.id, NULL), CHAT_OK);
	ck_assert_int_eq(chatroom_list(db, 1, collect, &unstored, NULL), CHAT_OK);
	ck_assert_str_eq(unstored.list, "general,zeta,alpha");
	ck_assert_int_eq(chatroom_get(db, "beta", &b, NULL), CHAT_OK);
	ck_assert_int_eq(b.stored, 1);
}
END_TEST

START_TEST(list_pages)
{
	chat_buf_t out;
	int64_t last = 0, after = 0;
	int more = 0, pages = 0, i;
	char name[16];
	size_t one;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "room%d", i);
		ck_assert_int_eq(chatroom_create(db, &opt, SL(name), "alice", NOW, NULL, NULL),
				 CHAT_OK);
	}
	chat_buf_init(&out, 64 * 1024);
	ck_assert_int_eq(chatroom_list_json(db, 0, 64 * 1024, &out, &last, &more, NULL), CHAT_OK);
	ck_assert_int_eq(more, 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\"id\":\"general\""));
	ck_assert_ptr_nonnull(strstr(out.data, "\"id\":\"room4\""));
	ck_assert_int_eq(out.data[0], '[');
	ck_assert_int_eq(out.data[out.len - 1], ']');
	/* A page of about two rooms: every room once, in id order. */
	chat_buf_reset(&out);
	ck_assert_int_eq(chatroom_list_json(db, 1, 64 * 1024, &out, &last, &more, NULL), CHAT_OK);
	one = strchr(out.data, '}') - out.data + 1;
	do {
		chat_buf_reset(&out);
		ck_assert_int_eq(chatroom_list_json(db, after, 2 * one + 3, &out, &last, &more,
						    NULL),
				 CHAT_OK);
		ck_assert_uint_le(out.len, 2 * one + 3);
		ck_assert_int_gt(last, after);
		after = last;
		pages++;
	} while (more);
	ck_assert_int_eq(pages, 3);
	/* Past the end: an empty page, the cursor unmoved. */
	chat_buf_reset(&out);
	ck_assert_int_eq(chatroom_list_json(db, after, 1024, &out, &last, &more, NULL), CHAT_OK);
	ck_assert_str_eq(out.data, "[]");
	ck_assert_int_eq(last, after);
	ck_assert_int_eq(more, 0);
	/* A page too small for one room still holds one. */
	chat_buf_reset(&out);
	ck_assert_int_eq(chatroom_list_json(db, 0, 4, &out, &last, &more, NULL), CHAT_OK);
	ck_assert_int_eq(last, 1);
	ck_assert_int_eq(more, 1);
	chat_buf_free(&out);
}
END_TEST

START_TEST(imported)
{
	static const struct {
		int line;
		const char *name;
		int64_t id;
		int added; /* a new row */
	} rows[] = {
		{ __LINE__, "old", 500, 1 },      { __LINE__, "old", 500, 0 }, /* again: nothing */
		{ __LINE__, "general", 501, 0 },  /* a name taken by another id */
		{ __LINE__, "bad.name", 502, 0 }, /* no destination can name it */
		{ __LINE__, "Mine", 503, 1 },     /* a live display "mine" keeps its name */
	};
	chatroom_t r, got;
	size_t i;

	ck_assert_int_eq(chatroom_create(db, &opt, SL("mine"), "alice", NOW, NULL, NULL), CHAT_OK);
	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		names_t all = { "", 0, 0 };
		int before, after;

		ck_assert_int_eq(chatroom_list(db, 0, collect, &all, NULL), CHAT_OK);
		before = all.n;
		memset(&r, 0, sizeof(r));
		snprintf(r.name, sizeof(r.name), "%s", rows[i].name);
		snprintf(r.creator, sizeof(r.creator), "old-user");
		r.id = rows[i].id;
		r.created_ms = NOW - 1000;
		ck_assert_msg(chatroom_import(db, &r, NULL) == CHAT_OK, "row at line %d",
			      rows[i].line);
		all = (names_t){ "", 0, 0 };
		ck_assert_int_eq(chatroom_list(db, 0, collect, &all, NULL), CHAT_OK);
		after = all.n;
		ck_assert_msg(after - before == rows[i].added, "row at line %d", rows[i].line);
	}
	ck_assert_int_eq(chatroom_get(db, "old", &got, NULL), CHAT_OK);
	ck_assert_int_eq(got.id, 500);
	ck_assert_int_eq(got.stored, 1);
	ck_assert_str_eq(got.display, "old");
	ck_assert_str_eq(got.creator, "old-user");
	ck_assert_int_eq(chatroom_get(db, "general", &got, NULL), CHAT_OK);
	ck_assert_int_eq(got.id, 1);
	ck_assert_int_eq(chatroom_get(db, "Mine", &got, NULL), CHAT_OK);
	ck_assert_str_eq(got.display, "Mine");
	/* Importing publishes nothing. */
	ck_assert_str_ne(last_row().body, "");
	ck_assert_ptr_null(strstr(last_row().body, "\"old\""));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chatroom");
	TCase *tc = tcase_create("chatroom");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, topics);
	tcase_add_test(tc, guests_and_admins);
	tcase_add_test(tc, general_always_there);
	tcase_add_test(tc, create_and_delete);
	tcase_add_test(tc, published);
	tcase_add_test(tc, quotas);
	tcase_add_test(tc, message_tombstones);
	tcase_add_test(tc, listing);
	tcase_add_test(tc, list_pages);
	tcase_add_test(tc, imported);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
