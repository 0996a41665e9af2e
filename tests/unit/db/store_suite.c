/*
 * store_suite.c - the shared store test suite (see store_suite.h): every
 * test gets a fresh store from the backend's environment, so the same
 * assertions hold for SQLite and MongoDB alike.
 */
#include "config.h"
#include "store_suite.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const store_suite_env_t *env;
static char *uri;   /* the current test's store */
static store_t *st; /* opened on uri by setup() */
static chat_error_t E;

/* Asserts that expr returns want, showing the error detail otherwise. */
#define RC(expr, want)                                                                        \
	do {                                                                                  \
		int rc_;                                                                      \
		memset(&E, 0, sizeof(E));                                                     \
		rc_ = (expr);                                                                 \
		ck_assert_msg(rc_ == (want), "%s: got %d (%s: %s), want %d (%s)", #expr, rc_, \
			      chat_strerror(rc_), E.message, (want), chat_strerror(want));    \
	} while (0)
#define OK(expr) RC(expr, CHAT_OK)

static void setup(void)
{
	uri = env->fresh_uri();
	ck_assert_ptr_nonnull(uri);
	OK(store_open(uri, &st, &E));
	ck_assert_ptr_nonnull(st);
}

static void teardown(void)
{
	store_close(st);
	st = NULL;
	if (env->drop != NULL)
		env->drop(uri);
	free(uri);
	uri = NULL;
}

static int64_t elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Adds message id to room with text "m<id>", asserting it was new. */
static void add_msg(int64_t id, int64_t room, int64_t seq)
{
	char text[32];
	store_msg_t m = { .id = id,
			  .room_id = room,
			  .room_seq = seq,
			  .time_ms = 1000 + id,
			  .writer = "alice",
			  .text = text };
	int created = -1;

	m.text_len = (size_t)snprintf(text, sizeof(text), "m%lld", (long long)id);
	OK(store_msg_add(st, &m, &created, &E));
	ck_assert_int_eq(created, 1);
}

/* Asserts that l holds exactly the ids given (0-terminated), in order. */
static void expect_ids(int line, const store_msg_list_t *l, const int64_t *ids)
{
	size_t i, n = 0;
	char want[32];

	while (ids[n] != 0)
		n++;
	ck_assert_msg(l->count == n, "line %d: %zu messages, want %zu", line, l->count, n);
	for (i = 0; i < n; i++) {
		ck_assert_msg(l->items[i].id == ids[i], "line %d: item %zu is %lld, want %lld",
			      line, i, (long long)l->items[i].id, (long long)ids[i]);
		snprintf(want, sizeof(want), "m%lld", (long long)ids[i]);
		ck_assert_msg(strcmp(l->items[i].text, want) == 0 &&
				      l->items[i].text_len == strlen(want),
			      "line %d: text %s", line, l->items[i].text);
		ck_assert_str_eq(l->items[i].writer, "alice");
		ck_assert_int_eq(l->items[i].time_ms, 1000 + ids[i]);
	}
}
#define IDS(...) ((const int64_t[]){ __VA_ARGS__, 0 })

START_TEST(open_reopen_and_backend)
{
	store_t *again = NULL;

	ck_assert_str_eq(store_backend(st), env->backend);
	/* A second handle on an existing store finds the schema in place and
	 * sees what the first one wrote. */
	OK(store_user_add(st, 7, "alice", "h", 1, &E));
	OK(store_open(uri, &again, &E));
	{
		store_user_t u;

		OK(store_user_get(again, 7, &u, &E));
		ck_assert_str_eq(u.name, "alice");
	}
	store_close(again);
	store_close(NULL);
}
END_TEST

START_TEST(bad_uris)
{
	store_t *s = (store_t *)&s;

	RC(store_open("postgres://x/y", &s, &E), CHAT_EINVAL);
	ck_assert_ptr_null(s);
	ck_assert(E.message[0] != '\0');
	RC(store_open("sqlite:", &s, &E), CHAT_EINVAL);
	RC(store_open("mongodb://", &s, &E), CHAT_EINVAL);
	RC(store_open(NULL, &s, &E), CHAT_EINVAL);
	RC(store_open("sqlite:x", NULL, &E), CHAT_EINVAL);
}
END_TEST

START_TEST(down_store_fails_fast)
{
	char *down = env->down_uri();
	store_t *s = (store_t *)&s;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	RC(store_open(down, &s, &E), CHAT_EDB);
	ck_assert_ptr_null(s);
	ck_assert_msg(E.message[0] != '\0', "no error message");
	ck_assert_int_eq(E.code, CHAT_EDB);
	ck_assert_msg(elapsed_ms(&t0) < 5000, "took %lld ms", (long long)elapsed_ms(&t0));
	free(down);
}
END_TEST

START_TEST(new_ids_increase)
{
	int64_t prev = store_new_id(), id;
	int i;

	ck_assert(prev > 0);
	for (i = 0; i < 10000; i++) {
		id = store_new_id();
		ck_assert(id > prev);
		prev = id;
	}
	/* The millisecond clock is in the high bits. */
	ck_assert((prev >> 16) > (int64_t)1600000000000);
}
END_TEST

START_TEST(user_add_and_get)
{
	int64_t id = store_new_id();
	store_user_t u;

	OK(store_user_add(st, id, "alice", "$argon2id$v=19$xyz", 1234, &E));
	OK(store_user_get(st, id, &u, &E));
	ck_assert_int_eq(u.id, id);
	ck_assert_str_eq(u.name, "alice");
	ck_assert_str_eq(u.password_hash, "$argon2id$v=19$xyz");
	ck_assert_int_eq(u.created_ms, 1234);
	memset(&u, 0, sizeof(u));
	OK(store_user_get_by_name(st, "alice", &u, &E));
	ck_assert_int_eq(u.id, id);
	RC(store_user_get(st, id + 1, &u, &E), CHAT_ENOTFOUND);
	RC(store_user_get_by_name(st, "bob", &u, &E), CHAT_ENOTFOUND);
	/* Names are unique whatever their ASCII case, found by any case, and
	 * keep the form they were added with. */
	RC(store_user_add(st, id + 1, "Alice", "h", 1, &E), CHAT_EEXIST);
	RC(store_user_add(st, id + 1, "ALICE", "h", 1, &E), CHAT_EEXIST);
	RC(store_user_get(st, id + 1, &u, &E), CHAT_ENOTFOUND);
	OK(store_user_get_by_name(st, "ALICE", &u, &E));
	ck_assert_int_eq(u.id, id);
	ck_assert_str_eq(u.name, "alice");
	OK(store_user_add(st, id + 2, "Bob.Smith", "h", 1, &E));
	OK(store_user_get_by_name(st, "bob.smith", &u, &E));
	ck_assert_str_eq(u.name, "Bob.Smith");
}
END_TEST

START_TEST(user_add_is_idempotent_and_names_unique)
{
	store_user_t u;

	OK(store_user_add(st, 100, "alice", "h1", 1, &E));
	/* A retry of the same insert. */
	OK(store_user_add(st, 100, "alice", "h1", 1, &E));
	/* Another id with the same name. */
	RC(store_user_add(st, 101, "alice", "h2", 2, &E), CHAT_EEXIST);
	ck_assert(E.message[0] != '\0');
	/* The same id with another name. */
	RC(store_user_add(st, 100, "bob", "h3", 3, &E), CHAT_EEXIST);
	OK(store_user_get_by_name(st, "alice", &u, &E));
	ck_assert_int_eq(u.id, 100);
	ck_assert_str_eq(u.password_hash, "h1");
	RC(store_user_get_by_name(st, "bob", &u, &E), CHAT_ENOTFOUND);
	RC(store_user_get(st, 101, &u, &E), CHAT_ENOTFOUND);
}
END_TEST

static const struct {
	int line;
	const char *name;
	int want;
} user_names[] = {
	{ __LINE__, "a", CHAT_OK },
	{ __LINE__, "0123456789abcdef0123456789abcdef", CHAT_OK },       /* 32 */
	{ __LINE__, "0123456789abcdef0123456789abcdefX", CHAT_ETOOBIG }, /* 33 */
	{ __LINE__,
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	  CHAT_OK }, /* 16 x e-acute */
	{ __LINE__, "\xf0\x9f\x98\x80 smile", CHAT_OK },
	{ __LINE__, "mid space", CHAT_OK },
	{ __LINE__, "", CHAT_EINVAL },
	{ __LINE__, " lead", CHAT_EINVAL },
	{ __LINE__, "trail ", CHAT_EINVAL },
	{ __LINE__, "tab\there", CHAT_EINVAL },
	{ __LINE__, "new\nline", CHAT_EINVAL },
	{ __LINE__, "del\x7f", CHAT_EINVAL },
	{ __LINE__, "c1\xc2\x85", CHAT_EINVAL }, /* U+0085 NEL */
	{ __LINE__, "bad\xff", CHAT_EUTF8 },
	{ __LINE__, "trunc\xc3", CHAT_EUTF8 },
	{ __LINE__, "overlong\xc0\xaf", CHAT_EUTF8 },
	{ __LINE__, "surrogate\xed\xa0\x80", CHAT_EUTF8 },
	{ __LINE__, "big\xf4\x90\x80\x80", CHAT_EUTF8 }, /* > U+10FFFF */
};

START_TEST(user_name_rules)
{
	size_t i;
	int rc;

	for (i = 0; i < CHAT_ARRAY_LEN(user_names); i++) {
		memset(&E, 0, sizeof(E));
		rc = store_user_add(st, (int64_t)i + 1, user_names[i].name, "h", 1, &E);
		ck_assert_msg(rc == user_names[i].want, "line %d: got %s (%s), want %s",
			      user_names[i].line, chat_strerror(rc), E.message,
			      chat_strerror(user_names[i].want));
		if (rc != 0) {
			store_user_t u;

			ck_assert_msg(E.message[0] != '\0', "line %d: no message",
				      user_names[i].line);
			RC(store_user_get(st, (int64_t)i + 1, &u, &E), CHAT_ENOTFOUND);
		}
	}
}
END_TEST

START_TEST(user_other_bounds)
{
	char hash[STORE_PASSWORD_HASH_MAX + 2];
	store_user_t u;

	RC(store_user_add(st, 0, "alice", "h", 1, &E), CHAT_EINVAL);
	RC(store_user_add(st, -5, "alice", "h", 1, &E), CHAT_EINVAL);
	RC(store_user_add(st, 1, NULL, "h", 1, &E), CHAT_EINVAL);
	RC(store_user_add(st, 1, "alice", NULL, 1, &E), CHAT_EINVAL);
	RC(store_user_add(st, 1, "alice", "", 1, &E), CHAT_EINVAL);
	RC(store_user_add(st, 1, "alice", "has space", 1, &E), CHAT_EINVAL);
	RC(store_user_add(NULL, 1, "alice", "h", 1, &E), CHAT_EINVAL);
	memset(hash, 'x', sizeof(hash) - 1);
	hash[sizeof(hash) - 1] = '\0';
	RC(store_user_add(st, 1, "alice", hash, 1, &E), CHAT_ETOOBIG);
	hash[STORE_PASSWORD_HASH_MAX] = '\0';
	OK(store_user_add(st, 1, "alice", hash, 1, &E));
	OK(store_user_get(st, 1, &u, &E));
	ck_assert_str_eq(u.password_hash, hash);
	RC(store_user_get(st, 0, &u, &E), CHAT_EINVAL);
	RC(store_user_get(st, 1, NULL, &E), CHAT_EINVAL);
	RC(store_user_get_by_name(st, "", &u, &E), CHAT_EINVAL);
	RC(store_user_get_by_name(st, "0123456789abcdef0123456789abcdefX", &u, &E), CHAT_ETOOBIG);
	/* err may be NULL. */
	ck_assert_int_eq(store_user_add(st, 1, "", "h", 1, NULL), CHAT_EINVAL);
	ck_assert_int_eq(store_user_get(st, 999, &u, NULL), CHAT_ENOTFOUND);
}
END_TEST

START_TEST(users_list_passwd_delete)
{
	store_user_list_t l = { 0 };
	store_msg_list_t ml = { 0 };
	store_user_t u;
	int64_t a = store_new_id(), b = store_new_id(), c = store_new_id();
	store_msg_t m = { store_new_id(), 7, 1, 5, "bob", "kept", 4 };

	OK(store_user_list(st, 0, 10, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	OK(store_user_add(st, a, "alice", "h1", 1, &E));
	OK(store_user_add(st, b, "bob", "h2", 2, &E));
	OK(store_user_add(st, c, "carol", "h3", 3, &E));
	OK(store_user_list(st, 0, 2, &l, &E));
	ck_assert_uint_eq(l.count, 2);
	ck_assert_str_eq(l.items[0].name, "alice");
	ck_assert_str_eq(l.items[1].name, "bob");
	ck_assert_str_eq(l.items[1].password_hash, "h2");
	OK(store_user_list(st, l.items[1].id, 2, &l, &E));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_str_eq(l.items[0].name, "carol");
	RC(store_user_list(st, 0, STORE_PAGE_MAX + 1, &l, &E), CHAT_ETOOMANY);
	ck_assert_uint_eq(l.count, 0);
	RC(store_user_list(st, -1, 1, &l, &E), CHAT_EINVAL);
	OK(store_user_set_password(st, b, "h2-new", &E));
	OK(store_user_get(st, b, &u, &E));
	ck_assert_str_eq(u.password_hash, "h2-new");
	RC(store_user_set_password(st, b + 1000, "x", &E), CHAT_ENOTFOUND);
	RC(store_user_set_password(st, b, "", &E), CHAT_EINVAL);
	/* Deleting keeps what the user wrote, frees the name, and is
	 * idempotent. */
	OK(store_msg_add(st, &m, NULL, &E));
	OK(store_user_delete(st, b, &E));
	OK(store_user_delete(st, b, &E));
	RC(store_user_get_by_name(st, "bob", &u, &E), CHAT_ENOTFOUND);
	OK(store_user_list(st, 0, 10, &l, &E));
	ck_assert_uint_eq(l.count, 2);
	OK(store_msg_latest(st, 7, 10, &ml, &E));
	ck_assert_uint_eq(ml.count, 1);
	ck_assert_str_eq(ml.items[0].writer, "bob");
	OK(store_user_add(st, store_new_id(), "Bob", "h4", 4, &E));
	RC(store_user_delete(st, 0, &E), CHAT_EINVAL);
	store_user_list_free(&l);
	store_msg_list_free(&ml);
}
END_TEST

START_TEST(rooms_add_get_list)
{
	store_room_list_t l = { 0 };
	store_room_t r;
	int64_t a = store_new_id(), b = store_new_id(), c = store_new_id();

	OK(store_room_list(st, 0, 10, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	/* Added out of order; listed in id order. */
	OK(store_room_add(st, c, "gamma", 7, 30, &E));
	OK(store_room_add(st, a, "alpha", 7, 10, &E));
	OK(store_room_add(st, b, "beta \xce\xb2", 8, 20, &E));
	OK(store_room_get(st, b, &r, &E));
	ck_assert_str_eq(r.name, "beta \xce\xb2");
	ck_assert_int_eq(r.created_by, 8);
	ck_assert_int_eq(r.created_ms, 20);
	OK(store_room_get_by_name(st, "gamma", &r, &E));
	ck_assert_int_eq(r.id, c);
	RC(store_room_get_by_name(st, "delta", &r, &E), CHAT_ENOTFOUND);
	RC(store_room_get(st, c + 1, &r, &E), CHAT_ENOTFOUND);

	OK(store_room_list(st, 0, 10, &l, &E));
	ck_assert_uint_eq(l.count, 3);
	ck_assert_int_eq(l.items[0].id, a);
	ck_assert_str_eq(l.items[0].name, "alpha");
	ck_assert_int_eq(l.items[1].id, b);
	ck_assert_int_eq(l.items[2].id, c);
	ck_assert_str_eq(l.items[2].name, "gamma");
	ck_assert_int_eq(l.items[2].created_by, 7);
	/* Paging: the list is replaced by each call. */
	OK(store_room_list(st, 0, 2, &l, &E));
	ck_assert_uint_eq(l.count, 2);
	OK(store_room_list(st, l.items[1].id, 2, &l, &E));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_int_eq(l.items[0].id, c);
	OK(store_room_list(st, c, 2, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	ck_assert_ptr_null(l.items);
	OK(store_room_list(st, 0, STORE_PAGE_MAX, &l, &E));
	ck_assert_uint_eq(l.count, 3);
	RC(store_room_list(st, 0, 0, &l, &E), CHAT_EINVAL);
	ck_assert_uint_eq(l.count, 0);
	RC(store_room_list(st, 0, STORE_PAGE_MAX + 1, &l, &E), CHAT_ETOOMANY);
	RC(store_room_list(st, -1, 1, &l, &E), CHAT_EINVAL);
	store_room_list_free(&l);
	store_room_list_free(NULL);
}
END_TEST

START_TEST(rooms_idempotent_unique_and_bounded)
{
	char name[STORE_ROOM_NAME_MAX + 2];
	store_room_t r;

	OK(store_room_add(st, 50, "lobby", 1, 1, &E));
	OK(store_room_add(st, 50, "lobby", 1, 1, &E));
	RC(store_room_add(st, 51, "lobby", 1, 1, &E), CHAT_EEXIST);
	RC(store_room_add(st, 51, "Lobby", 1, 1, &E), CHAT_EEXIST);
	OK(store_room_get_by_name(st, "LOBBY", &r, &E));
	ck_assert_str_eq(r.name, "lobby");
	RC(store_room_add(st, 50, "hall", 1, 1, &E), CHAT_EEXIST);
	RC(store_room_get(st, 51, &r, &E), CHAT_ENOTFOUND);
	memset(name, 'r', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	RC(store_room_add(st, 52, name, 1, 1, &E), CHAT_ETOOBIG);
	name[STORE_ROOM_NAME_MAX] = '\0';
	OK(store_room_add(st, 52, name, 1, 1, &E));
	OK(store_room_get_by_name(st, name, &r, &E));
	ck_assert_int_eq(r.id, 52);
	RC(store_room_add(st, 53, "", 1, 1, &E), CHAT_EINVAL);
	RC(store_room_add(st, 53, "x\x01y", 1, 1, &E), CHAT_EINVAL);
	RC(store_room_add(st, 53, "x\x80y", 1, 1, &E), CHAT_EUTF8);
	RC(store_room_add(st, 0, "zero", 1, 1, &E), CHAT_EINVAL);
	/* A user and a room may share a name: separate namespaces. */
	OK(store_user_add(st, 60, "lobby", "h", 1, &E));
}
END_TEST

/* A deleted room leaves the list, its messages stay; deleting again, or a
 * room the store never had, is harmless. */
START_TEST(rooms_delete_keeps_history)
{
	store_room_list_t l = { 0 };
	store_msg_list_t ml = { 0 };
	store_room_t r;
	int64_t a = store_new_id(), b = store_new_id();
	store_msg_t m = { store_new_id(), b, 1, 5, "alice", "kept", 4 };

	OK(store_room_add(st, a, "stays", 1, 1, &E));
	OK(store_room_add(st, b, "goes", 1, 2, &E));
	OK(store_msg_add(st, &m, NULL, &E));
	OK(store_room_delete(st, b, &E));
	OK(store_room_delete(st, b, &E));
	OK(store_room_delete(st, b + 1000, &E));
	RC(store_room_get(st, b, &r, &E), CHAT_ENOTFOUND);
	RC(store_room_get_by_name(st, "goes", &r, &E), CHAT_ENOTFOUND);
	OK(store_room_list(st, 0, 10, &l, &E));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_int_eq(l.items[0].id, a);
	OK(store_msg_latest(st, b, 10, &ml, &E));
	ck_assert_uint_eq(ml.count, 1);
	ck_assert_str_eq(ml.items[0].text, "kept");
	RC(store_room_delete(st, 0, &E), CHAT_EINVAL);
	store_room_list_free(&l);
	store_msg_list_free(&ml);
}
END_TEST

START_TEST(msg_add_is_idempotent)
{
	store_msg_list_t l = { 0 };
	store_msg_t m = { .id = 42,
			  .room_id = 9,
			  .room_seq = 1,
			  .time_ms = 1042,
			  .writer = "alice",
			  .text = "m42",
			  .text_len = 3 };
	int created = -1;

	OK(store_msg_add(st, &m, &created, &E));
	ck_assert_int_eq(created, 1);
	OK(store_msg_add(st, &m, &created, &E));
	ck_assert_int_eq(created, 0);
	/* The id holding another message is a reused id, not a retry: an
	 * error with a reason, and the stored message stays. */
	m.text = "changed";
	m.text_len = 7;
	RC(store_msg_add(st, &m, &created, &E), CHAT_EEXIST);
	ck_assert_int_eq(created, 0);
	ck_assert_msg(strstr(E.message, "42") != NULL, "reason: %s", E.message);
	m.text = "m42";
	m.text_len = 3;
	m.writer = "bob";
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EEXIST);
	m.writer = "alice";
	m.time_ms = 7;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EEXIST);
	OK(store_msg_latest(st, 9, 10, &l, &E));
	expect_ids(__LINE__, &l, IDS(42));
	ck_assert_int_eq(l.items[0].room_seq, 1);
	ck_assert_int_eq(l.items[0].room_id, 9);
	store_msg_list_free(&l);
}
END_TEST

START_TEST(msg_max_ids)
{
	static const char *const writers[] = {
		"guest-7",  "guest-12", "alice",
		"guest-x1", "guest-",   "guest-3",
		"guest_99", "Guest-50", "guest-1234567890123456789"
	};
	int64_t max_id = -1, max_guest = -1;
	size_t i;

	OK(store_msg_max(st, "guest-", &max_id, &max_guest, &E));
	ck_assert_int_eq(max_id, 0);
	ck_assert_int_eq(max_guest, 0);
	for (i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
		store_msg_t m = { .id = 100 + (int64_t)i * 7,
				  .room_id = 1 + (int64_t)(i % 2),
				  .room_seq = 1,
				  .time_ms = 1,
				  .writer = writers[i],
				  .text = "t",
				  .text_len = 1 };

		OK(store_msg_add(st, &m, NULL, &E));
	}
	OK(store_msg_max(st, "guest-", &max_id, &max_guest, &E));
	ck_assert_int_eq(max_id, 100 + 8 * 7);
	/* guest-N with 1..18 digits only: guest-x1, guest-, guest_99,
	 * Guest-50 and a 19-digit N do not count. */
	ck_assert_int_eq(max_guest, 12);
	/* Without a prefix, only the id (no scan of the guests). */
	OK(store_msg_max(st, NULL, &max_id, &max_guest, &E));
	ck_assert_int_eq(max_id, 100 + 8 * 7);
	ck_assert_int_eq(max_guest, 0);
	RC(store_msg_max(st, "", &max_id, &max_guest, &E), CHAT_EINVAL);
	RC(store_msg_max(st, "guest-", NULL, &max_guest, &E), CHAT_EINVAL);
	RC(store_msg_max(NULL, "guest-", &max_id, &max_guest, &E), CHAT_EINVAL);
}
END_TEST

START_TEST(msg_paging)
{
	store_msg_list_t l = { 0 };
	int64_t id;

	/* Room 1: ids 10..100 step 10; room 2 interleaved at 15..95, so every
	 * query must filter by room.  Inserted out of order. */
	for (id = 100; id >= 10; id -= 10) {
		add_msg(id, 1, id / 10);
		add_msg(id - 5, 2, id / 10);
	}
	OK(store_msg_latest(st, 1, 3, &l, &E));
	expect_ids(__LINE__, &l, IDS(80, 90, 100));
	ck_assert_int_eq(l.items[0].room_seq, 8);
	ck_assert_int_eq(l.items[0].room_id, 1);
	OK(store_msg_latest(st, 1, 50, &l, &E));
	expect_ids(__LINE__, &l, IDS(10, 20, 30, 40, 50, 60, 70, 80, 90, 100));
	OK(store_msg_latest(st, 2, 2, &l, &E));
	expect_ids(__LINE__, &l, IDS(85, 95));

	OK(store_msg_before(st, 1, 80, 3, &l, &E));
	expect_ids(__LINE__, &l, IDS(50, 60, 70));
	OK(store_msg_before(st, 1, 50, 10, &l, &E));
	expect_ids(__LINE__, &l, IDS(10, 20, 30, 40));
	OK(store_msg_before(st, 1, 15, 5, &l, &E));
	expect_ids(__LINE__, &l, IDS(10));
	OK(store_msg_before(st, 1, 10, 5, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	OK(store_msg_before(st, 1, 1000, 1, &l, &E));
	expect_ids(__LINE__, &l, IDS(100));

	OK(store_msg_after(st, 1, 0, 4, &l, &E));
	expect_ids(__LINE__, &l, IDS(10, 20, 30, 40));
	OK(store_msg_after(st, 1, 40, 2, &l, &E));
	expect_ids(__LINE__, &l, IDS(50, 60));
	OK(store_msg_after(st, 1, 95, 10, &l, &E));
	expect_ids(__LINE__, &l, IDS(100));
	OK(store_msg_after(st, 1, 100, 5, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	OK(store_msg_after(st, 2, 50, 2, &l, &E));
	expect_ids(__LINE__, &l, IDS(55, 65));
	store_msg_list_free(&l);
	store_msg_list_free(NULL);
}
END_TEST

START_TEST(msg_empty_room)
{
	store_msg_list_t l = { 0 };

	add_msg(5, 1, 1);
	OK(store_msg_latest(st, 2, 10, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	ck_assert_ptr_null(l.items);
	OK(store_msg_before(st, 2, 100, 10, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	OK(store_msg_after(st, 2, 0, 10, &l, &E));
	ck_assert_uint_eq(l.count, 0);
	store_msg_list_free(&l);
}
END_TEST

START_TEST(msg_bounds)
{
	static char text[STORE_TEXT_MAX + 2];
	store_msg_list_t l = { 0 };
	store_msg_t m = {
		.id = 1, .room_id = 1, .room_seq = 1, .time_ms = 1, .writer = "alice", .text = text
	};

	memset(text, 'x', sizeof(text));
	m.text_len = STORE_TEXT_MAX + 1;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_ETOOBIG);
	m.text_len = 0;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	m.text = "a\0b";
	m.text_len = 3;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	m.text = "bad \xc3\x28";
	m.text_len = 6;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EUTF8);
	m.text = NULL;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	m.text = "ok";
	m.text_len = 2;
	m.writer = "";
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	m.writer = NULL;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	m.writer = "alice";
	m.id = 0;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	m.id = 1;
	m.room_id = 0;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	m.room_id = 1;
	m.room_seq = -1;
	RC(store_msg_add(st, &m, NULL, &E), CHAT_EINVAL);
	RC(store_msg_add(st, NULL, NULL, &E), CHAT_EINVAL);
	/* Text of exactly the maximum, with newlines and tabs, is fine. */
	m.room_seq = 1;
	m.text = text;
	m.text_len = STORE_TEXT_MAX;
	text[10] = '\n';
	text[11] = '\t';
	OK(store_msg_add(st, &m, NULL, &E));
	OK(store_msg_latest(st, 1, STORE_PAGE_MAX, &l, &E));
	ck_assert_uint_eq(l.count, 1);
	ck_assert_uint_eq(l.items[0].text_len, STORE_TEXT_MAX);
	ck_assert_int_eq(memcmp(l.items[0].text, text, STORE_TEXT_MAX), 0);
	ck_assert_int_eq(l.items[0].text[STORE_TEXT_MAX], '\0');

	RC(store_msg_latest(st, 1, 0, &l, &E), CHAT_EINVAL);
	ck_assert_uint_eq(l.count, 0);
	RC(store_msg_latest(st, 1, STORE_PAGE_MAX + 1, &l, &E), CHAT_ETOOMANY);
	RC(store_msg_before(st, 1, 5, 0, &l, &E), CHAT_EINVAL);
	RC(store_msg_before(st, 1, 0, 5, &l, &E), CHAT_EINVAL);
	RC(store_msg_after(st, 1, 5, STORE_PAGE_MAX + 1, &l, &E), CHAT_ETOOMANY);
	RC(store_msg_after(st, 1, -1, 5, &l, &E), CHAT_EINVAL);
	RC(store_msg_after(st, 0, 0, 5, &l, &E), CHAT_EINVAL);
	RC(store_msg_latest(st, 1, 1, NULL, &E), CHAT_EINVAL);
	store_msg_list_free(&l);
}
END_TEST

START_TEST(msg_unicode_round_trip)
{
	static const char *const texts[] = {
		"caf\xc3\xa9 \xe2\x82\xac 100",                                 /* cafe, euro */
		"\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c", /* CJK */
		"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", /* RTL */
		"emoji \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd line\nbreak",
		"{\"json\":\"looking\",\"q\":\"'\\\"$gt\"}",
		("\xef\xbb\xbf"
		 "BOM and \xf4\x8f\xbf\xbf max"), /* U+FEFF, U+10FFFF */
	};
	static char big[STORE_TEXT_MAX + 1];
	store_msg_list_t l = { 0 };
	store_msg_t m = { .room_id = 3, .time_ms = 5, .writer = "\xc3\xa9mile" };
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(texts); i++) {
		m.id = (int64_t)i + 1;
		m.room_seq = (int64_t)i;
		m.text = texts[i];
		m.text_len = strlen(texts[i]);
		OK(store_msg_add(st, &m, NULL, &E));
	}
	/* 1024 four-byte characters: exactly the maximum. */
	for (i = 0; i < STORE_TEXT_MAX; i += 4)
		memcpy(big + i, "\xf0\x9f\x92\xac", 4);
	m.id = 100;
	m.text = big;
	m.text_len = STORE_TEXT_MAX;
	OK(store_msg_add(st, &m, NULL, &E));

	OK(store_msg_after(st, 3, 0, 100, &l, &E));
	ck_assert_uint_eq(l.count, CHAT_ARRAY_LEN(texts) + 1);
	for (i = 0; i < CHAT_ARRAY_LEN(texts); i++) {
		ck_assert_uint_eq(l.items[i].text_len, strlen(texts[i]));
		ck_assert_str_eq(l.items[i].text, texts[i]);
		ck_assert_str_eq(l.items[i].writer, "\xc3\xa9mile");
	}
	ck_assert_uint_eq(l.items[i].text_len, STORE_TEXT_MAX);
	ck_assert_int_eq(memcmp(l.items[i].text, big, STORE_TEXT_MAX), 0);
	store_msg_list_free(&l);
}
END_TEST

START_TEST(msg_full_pages)
{
	store_msg_list_t l = { 0 };
	int64_t id, n = STORE_PAGE_MAX + 100;
	size_t i;

	for (id = 1; id <= n; id++)
		add_msg(id, 4, id);
	OK(store_msg_latest(st, 4, STORE_PAGE_MAX, &l, &E));
	ck_assert_uint_eq(l.count, STORE_PAGE_MAX);
	for (i = 0; i < l.count; i++)
		ck_assert_int_eq(l.items[i].id, 101 + (int64_t)i);
	OK(store_msg_before(st, 4, l.items[0].id, STORE_PAGE_MAX, &l, &E));
	ck_assert_uint_eq(l.count, 100);
	ck_assert_int_eq(l.items[0].id, 1);
	ck_assert_int_eq(l.items[99].id, 100);
	/* Resume: pages of after() cover everything once, in order. */
	OK(store_msg_after(st, 4, 0, STORE_PAGE_MAX, &l, &E));
	ck_assert_uint_eq(l.count, STORE_PAGE_MAX);
	ck_assert_int_eq(l.items[STORE_PAGE_MAX - 1].id, STORE_PAGE_MAX);
	OK(store_msg_after(st, 4, l.items[STORE_PAGE_MAX - 1].id, STORE_PAGE_MAX, &l, &E));
	ck_assert_uint_eq(l.count, 100);
	ck_assert_int_eq(l.items[0].id, STORE_PAGE_MAX + 1);
	ck_assert_int_eq(l.items[99].id, n);
	ck_assert_str_eq(l.items[99].text, "m600");
	store_msg_list_free(&l);
}
END_TEST

Suite *store_suite(const store_suite_env_t *e)
{
	Suite *s = suite_create(e->backend);
	TCase *open = tcase_create("open");
	TCase *users = tcase_create("users");
	TCase *rooms = tcase_create("rooms");
	TCase *msgs = tcase_create("messages");

	env = e;
	tcase_add_test(open, bad_uris);
	tcase_add_test(open, down_store_fails_fast);
	tcase_add_test(open, new_ids_increase);
	suite_add_tcase(s, open);

	tcase_add_checked_fixture(users, setup, teardown);
	tcase_add_test(users, open_reopen_and_backend);
	tcase_add_test(users, user_add_and_get);
	tcase_add_test(users, user_add_is_idempotent_and_names_unique);
	tcase_add_test(users, user_name_rules);
	tcase_add_test(users, user_other_bounds);
	tcase_add_test(users, users_list_passwd_delete);
	suite_add_tcase(s, users);

	tcase_add_checked_fixture(rooms, setup, teardown);
	tcase_add_test(rooms, rooms_add_get_list);
	tcase_add_test(rooms, rooms_idempotent_unique_and_bounded);
	tcase_add_test(rooms, rooms_delete_keeps_history);
	suite_add_tcase(s, rooms);

	tcase_add_checked_fixture(msgs, setup, teardown);
	tcase_add_test(msgs, msg_add_is_idempotent);
	tcase_add_test(msgs, msg_paging);
	tcase_add_test(msgs, msg_max_ids);
	tcase_add_test(msgs, msg_empty_room);
	tcase_add_test(msgs, msg_bounds);
	tcase_add_test(msgs, msg_unicode_round_trip);
	tcase_add_test(msgs, msg_full_pages);
	tcase_set_timeout(msgs, 120);
	suite_add_tcase(s, msgs);
	return s;
}
