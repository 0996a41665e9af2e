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
	{ __LINE__, "/app/chat/room/1", DEST_APP },
	{ __LINE__, "/topic/chat/room/1", DEST_TOPIC },
	{ __LINE__, "/queue/errors", DEST_QUEUE },
	{ __LINE__, "/user/queue/errors", DEST_USER },
	{ __LINE__, "/topic", DEST_OTHER },
	{ __LINE__, "/topic/", DEST_OTHER },
	{ __LINE__, "/topics/x", DEST_OTHER },
	{ __LINE__, "/apps/x", DEST_OTHER },
	{ __LINE__, "/exchange/x", DEST_OTHER },
	{ __LINE__, "", DEST_OTHER },
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

int main(void)
{
	Suite *s = suite_create("dest");
	TCase *tc = tcase_create("dest");

	tcase_add_test(tc, validate);
	tcase_add_test(tc, validate_length_bound);
	tcase_add_test(tc, classify);
	tcase_add_test(tc, match);
	tcase_add_test(tc, user_split);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
