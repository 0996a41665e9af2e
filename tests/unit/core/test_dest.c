/* test_dest.c - destination validation, classification and matching. */
#include "config.h"
#include "dest.h"
#include "testutil.h"

#include <string.h>

static chat_slice_t S(const char *s)
{
	chat_slice_t r = { s, strlen(s) };

	return r;
}

static const struct {
	int line;
	const char *d;
	int wild;
	int rc;
} validate_rows[] = {
	{ __LINE__, "/topic/chat", 0, CHAT_OK },
	{ __LINE__, "/a", 0, CHAT_OK },
	{ __LINE__, "", 0, CHAT_EINVAL },
	{ __LINE__, "topic/chat", 0, CHAT_EINVAL },
	{ __LINE__, "/", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/", 0, CHAT_EINVAL },
	{ __LINE__, "/topic//x", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/./x", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/../queue/x", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/..x", 0, CHAT_OK },
	{ __LINE__, "/topic/a b", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/a\tb", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/\xc3\xa9", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/a\x7f", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/*", 0, CHAT_EINVAL },
	{ __LINE__, "/topic/*", 1, CHAT_OK },
	{ __LINE__, "/topic/**", 1, CHAT_OK },
	{ __LINE__, "/topic/a?c", 1, CHAT_OK },
	{ __LINE__, "/topic/a?c", 0, CHAT_EINVAL },
	{ __LINE__, "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", 0, CHAT_OK },
	{ __LINE__, "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", 0, CHAT_ETOOBIG },
};

START_TEST(validate)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(validate_rows); i++) {
		int rc = dest_validate(S(validate_rows[i].d), validate_rows[i].wild);

		ck_assert_msg(rc == validate_rows[i].rc, "line %d: '%s' gave %d, want %d",
			      validate_rows[i].line, validate_rows[i].d, rc, validate_rows[i].rc);
	}
}
END_TEST

START_TEST(validate_length_bound)
{
	char d[DEST_MAX_LEN + 2];

	memset(d, 'x', sizeof(d));
	d[0] = '/';
	d[DEST_MAX_LEN] = '\0';
	ck_assert_int_eq(dest_validate(S(d), 0), CHAT_OK);
	d[DEST_MAX_LEN] = 'x';
	d[DEST_MAX_LEN + 1] = '\0';
	ck_assert_int_eq(dest_validate(S(d), 0), CHAT_ETOOBIG);
}
END_TEST

static const struct {
	int line;
	const char *d;
	dest_kind_t kind;
} classify_rows[] = {
	{ __LINE__, "/app/chat/room/1", DEST_APP }, { __LINE__, "/topic/chat/room/1", DEST_TOPIC },
	{ __LINE__, "/queue/errors", DEST_QUEUE },  { __LINE__, "/user/queue/errors", DEST_USER },
	{ __LINE__, "/topic", DEST_OTHER },         { __LINE__, "/topic/", DEST_OTHER },
	{ __LINE__, "/topics/x", DEST_OTHER },      { __LINE__, "/apps/x", DEST_OTHER },
	{ __LINE__, "/exchange/x", DEST_OTHER },    { __LINE__, "", DEST_OTHER },
};

START_TEST(classify)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(classify_rows); i++) {
		dest_kind_t k = dest_classify(S(classify_rows[i].d));

		ck_assert_msg(k == classify_rows[i].kind, "line %d: '%s' gave %d, want %d",
			      classify_rows[i].line, classify_rows[i].d, (int)k,
			      (int)classify_rows[i].kind);
	}
}
END_TEST

static const struct {
	int line;
	const char *pattern;
	const char *d;
	int match;
} match_rows[] = {
	{ __LINE__, "/topic/chat", "/topic/chat", 1 },
	{ __LINE__, "/topic/chat", "/topic/chats", 0 },
	{ __LINE__, "/topic/chat", "/topic/cha", 0 },
	{ __LINE__, "/topic/chat", "/topic/chat/1", 0 },
	{ __LINE__, "/topic/*", "/topic/chat", 1 },
	{ __LINE__, "/topic/*", "/topic/chat/1", 0 },
	{ __LINE__, "/topic/*", "/topic", 0 },
	{ __LINE__, "/topic/**", "/topic", 1 },
	{ __LINE__, "/topic/**", "/topic/a", 1 },
	{ __LINE__, "/topic/**", "/topic/a/b/c", 1 },
	{ __LINE__, "/topic/**", "/queue/a", 0 },
	{ __LINE__, "/**", "/anything/at/all", 1 },
	{ __LINE__, "/topic/**/room", "/topic/room", 1 },
	{ __LINE__, "/topic/**/room", "/topic/a/b/room", 1 },
	{ __LINE__, "/topic/**/room", "/topic/a/b/rooms", 0 },
	{ __LINE__, "/topic/**/room/*", "/topic/x/room/room/7", 1 },
	{ __LINE__, "/topic/chat.*", "/topic/chat.general", 1 },
	{ __LINE__, "/topic/chat.*", "/topic/chat", 0 },
	{ __LINE__, "/topic/*.log", "/topic/a.b.log", 1 },
	{ __LINE__, "/topic/a*b*c", "/topic/aXbYc", 1 },
	{ __LINE__, "/topic/a*b*c", "/topic/aXbY", 0 },
	{ __LINE__, "/topic/r?", "/topic/r1", 1 },
	{ __LINE__, "/topic/r?", "/topic/r12", 0 },
	{ __LINE__, "/topic/r?", "/topic/r", 0 },
	{ __LINE__, "/topic/**/**", "/topic/a", 1 },
	/* invalid inputs never match */
	{ __LINE__, "/topic//x", "/topic//x", 0 },
	{ __LINE__, "/topic/*", "/topic/*", 0 },
	{ __LINE__, "", "", 0 },
};

START_TEST(match)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(match_rows); i++) {
		int m = dest_match(S(match_rows[i].pattern), S(match_rows[i].d));

		ck_assert_msg(m == match_rows[i].match, "line %d: '%s' ~ '%s' gave %d",
			      match_rows[i].line, match_rows[i].pattern, match_rows[i].d, m);
	}
}
END_TEST

static const struct {
	int line;
	const char *d;
	int rc;
	const char *user;
	const char *rest;
} user_rows[] = {
	{ __LINE__, "/user/queue/errors", CHAT_OK, "", "/queue/errors" },
	{ __LINE__, "/user/topic/x", CHAT_OK, "", "/topic/x" },
	{ __LINE__, "/user/alice/queue/errors", CHAT_OK, "alice", "/queue/errors" },
	{ __LINE__, "/user/alice/topic/a/b", CHAT_OK, "alice", "/topic/a/b" },
	{ __LINE__, "/user/alice/app/x", CHAT_EINVAL, NULL, NULL },
	{ __LINE__, "/user/alice", CHAT_EINVAL, NULL, NULL },
	{ __LINE__, "/user/alice/queue", CHAT_EINVAL, NULL, NULL },
	{ __LINE__, "/user/queue", CHAT_EINVAL, NULL, NULL },
	{ __LINE__, "/topic/alice/queue/x", CHAT_EINVAL, NULL, NULL },
};

START_TEST(user_split)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(user_rows); i++) {
		chat_slice_t user = { 0 }, rest = { 0 };
		int rc = dest_user_split(S(user_rows[i].d), &user, &rest);

		ck_assert_msg(rc == user_rows[i].rc, "line %d: rc %d", user_rows[i].line, rc);
		if (rc != CHAT_OK)
			continue;
		ck_assert_msg(chat_slice_eq(user, user_rows[i].user), "line %d: user '%.*s'",
			      user_rows[i].line, (int)user.len, user.ptr);
		ck_assert_msg(chat_slice_eq(rest, user_rows[i].rest), "line %d: rest '%.*s'",
			      user_rows[i].line, (int)rest.len, rest.ptr);
	}
}
END_TEST

/* The tutorials' configurations: classification by configured prefixes. */
static const struct {
	int line;
	const char *app, *broker, *user, *d;
	dest_kind_t kind;
	const char *rest; /* NULL for DEST_OTHER */
} prefix_rows[] = {
	{ __LINE__, "/pub", "/sub", "/user", "/pub/chat/room/1", DEST_APP, "/chat/room/1" },
	{ __LINE__, "/pub", "/sub", "/user", "/sub/chat/room/1", DEST_TOPIC, "/chat/room/1" },
	{ __LINE__, "/pub", "/sub", "/user", "/app/chat/room/1", DEST_OTHER, NULL },
	{ __LINE__, "/pub", "/sub", "/user", "/topic/x", DEST_OTHER, NULL },
	{ __LINE__, "/pub", "/sub", "/user", "/user/sub/x", DEST_USER, "/sub/x" },
	{ __LINE__, "/test", "/topic,/queue", "/user", "/test/x", DEST_APP, "/x" },
	{ __LINE__, "/test", "/topic,/queue", "/user", "/queue/jobs", DEST_QUEUE, "/jobs" },
	{ __LINE__, "/test", "/topic,/queue", "/user", "/tests/x", DEST_OTHER, NULL },
	/* The longest prefix wins, whatever its role. */
	{ __LINE__, "/app", "/app/topic,/x/queue", "/u", "/app/topic/a", DEST_TOPIC, "/a" },
	{ __LINE__, "/app", "/app/topic,/x/queue", "/u", "/app/topics/a", DEST_APP, "/topics/a" },
	{ __LINE__, "/app", "/app/topic,/x/queue", "/u", "/x/queue/j", DEST_QUEUE, "/j" },
	{ __LINE__, "/app", "/app/topic,/x/queue", "/u", "/u/x/queue/j", DEST_USER, "/x/queue/j" },
	{ __LINE__, "/app,/a2", "/t", "/user", "/a2/rooms", DEST_APP, "/rooms" },
	{ __LINE__, "/app,/a2", "/t", "/user", "/a2", DEST_OTHER, NULL },
};

START_TEST(configured_prefixes)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(prefix_rows); i++) {
		dest_prefixes_t p;
		chat_slice_t rest = { NULL, 0 };
		dest_kind_t k;

		ck_assert_msg(dest_prefixes_parse(&p, prefix_rows[i].app, prefix_rows[i].broker,
						  prefix_rows[i].user, NULL) == CHAT_OK,
			      "line %d", prefix_rows[i].line);
		k = dest_classify_in(&p, S(prefix_rows[i].d), &rest);
		ck_assert_msg(k == prefix_rows[i].kind, "line %d: gave %d", prefix_rows[i].line,
			      (int)k);
		if (prefix_rows[i].rest != NULL)
			ck_assert_msg(chat_slice_eq(rest, prefix_rows[i].rest),
				      "line %d: rest '%.*s'", prefix_rows[i].line, (int)rest.len,
				      rest.ptr);
	}
}
END_TEST

/* User destinations follow the prefixes in use. */
START_TEST(user_split_configured)
{
	dest_prefixes_t p, def;
	chat_slice_t user, rest;

	dest_prefixes_default(&def);
	ck_assert_int_eq(dest_prefixes_parse(&p, "/pub", "/sub", "/me", NULL), CHAT_OK);
	dest_prefixes_use(&p);
	ck_assert_int_eq(dest_user_split(CHAT_SLICE("/me/sub/errors"), &user, &rest), CHAT_OK);
	ck_assert_int_eq((int)user.len, 0);
	ck_assert(chat_slice_eq(rest, "/sub/errors"));
	ck_assert_int_eq(dest_user_split(CHAT_SLICE("/me/bob/sub/x"), &user, &rest), CHAT_OK);
	ck_assert(chat_slice_eq(user, "bob"));
	ck_assert_int_eq(dest_user_split(CHAT_SLICE("/user/queue/errors"), &user, &rest),
			 CHAT_EINVAL);
	ck_assert_int_eq(dest_user_split(CHAT_SLICE("/me/bob/queue/x"), &user, &rest), CHAT_EINVAL);
	ck_assert_int_eq(dest_classify(CHAT_SLICE("/sub/x")), DEST_TOPIC);
	ck_assert_int_eq(p.queue, p.topic);
	dest_prefixes_use(&def);
	ck_assert_int_eq(dest_classify(CHAT_SLICE("/sub/x")), DEST_OTHER);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dest");
	TCase *tc = tcase_create("dest");

	tcase_add_test(tc, validate);
	tcase_add_test(tc, validate_length_bound);
	tcase_add_test(tc, classify);
	tcase_add_test(tc, match);
	tcase_add_test(tc, user_split);
	tcase_add_test(tc, configured_prefixes);
	tcase_add_test(tc, user_split_configured);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
