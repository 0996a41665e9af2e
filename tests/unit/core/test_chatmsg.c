/* test_chatmsg.c - chat posts (JSON reader), room ids, user names, and the
 * stamped message's JSON. */
#include "config.h"
#include "chatmsg.h"
#include "testutil.h"

#include <string.h>

static chat_slice_t S(const char *s)
{
	chat_slice_t r = { s, strlen(s) };

	return r;
}

static const struct {
	int line;
	const char *in;
	int rc;
	const char *text; /* expected decoded text when rc == 0 */
} post_rows[] = {
	{ __LINE__, "{\"text\":\"hello\"}", CHAT_OK, "hello" },
	{ __LINE__, " \r\n{ \"text\" : \"hi there\" }\n", CHAT_OK, "hi there" },
	{ __LINE__, "{\"a\":1,\"text\":\"x\",\"b\":true,\"c\":null,\"d\":-1.5e3,\"e\":\"s\"}", CHAT_OK, "x" },
	{ __LINE__, "{\"text\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", CHAT_OK, "\"\\/\b\f\n\r\t" },
	{ __LINE__, "{\"text\":\"\\u00e9\\u20ac\"}", CHAT_OK, "\xc3\xa9\xe2\x82\xac" },
	{ __LINE__, "{\"text\":\"\\ud83d\\ude00\"}", CHAT_OK, "\xf0\x9f\x98\x80" },
	{ __LINE__, "{\"text\":\"\xf0\x9f\x98\x80 raw\"}", CHAT_OK, "\xf0\x9f\x98\x80 raw" },
	{ __LINE__, "{\"te\\u0078t\":\"escaped key\"}", CHAT_OK, "escaped key" },
	{ __LINE__, "", CHAT_EINVAL, NULL },
	{ __LINE__, "[\"text\"]", CHAT_EINVAL, NULL },
	{ __LINE__, "\"text\"", CHAT_EINVAL, NULL },
	{ __LINE__, "{}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\"", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\"}x", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\",}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":1}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\",\"text\":\"b\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\" \\n\\t \"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\\u0000b\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\nb\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\\qb\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\\u12\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"$where\":\"1\",\"text\":\"a\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\",\"o\":{\"x\":1}}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\",\"o\":[1]}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\",\"n\":123456789012345678901234567890123}", CHAT_ETOOBIG, NULL },
	{ __LINE__, "{\"text\":\"a\",\"n\":12345678901234567890123456789012}", CHAT_OK, "a" },
	{ __LINE__, "{\"text\":\"a\",\"n\":01}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\",\"n\":1.}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"a\",\"n\":tru}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"text\":\"\xc3\x28\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"text\":\"\xc0\xaf\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"text\":\"\xed\xa0\x80\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"text\":\"\\ud83d\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"text\":\"\\ude00\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"text\":\"\\ud83dx\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"x\":\"\xff\",\"text\":\"a\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
		    "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"text\":\"a\"}", CHAT_OK, "a" },
	{ __LINE__, "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
		    "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"text\":\"a\"}", CHAT_ETOOMANY, NULL },
};

START_TEST(parse_post)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(post_rows); i++) {
		chat_buf_t text;
		chat_error_t err = { 0 };
		int rc;

		chat_buf_init(&text, CHATMSG_TEXT_MAX);
		rc = chatmsg_parse_post(post_rows[i].in, strlen(post_rows[i].in), &text, &err);
		ck_assert_msg(rc == post_rows[i].rc, "line %d: rc %d (%s), want %d",
			      post_rows[i].line, rc, err.message, post_rows[i].rc);
		if (rc == CHAT_OK)
			ck_assert_msg(text.len == strlen(post_rows[i].text) &&
					      memcmp(text.data, post_rows[i].text, text.len) == 0,
				      "line %d: text '%s'", post_rows[i].line, text.data);
		else
			ck_assert_msg(text.len == 0 && err.message[0] != '\0', "line %d",
				      post_rows[i].line);
		chat_buf_free(&text);
	}
}
END_TEST

START_TEST(text_bounds)
{
	static char in[CHATMSG_TEXT_MAX + 64];
	chat_buf_t text;
	size_t n;

	chat_buf_init(&text, CHATMSG_TEXT_MAX * 2);
	memcpy(in, "{\"text\":\"", 9);
	memset(in + 9, 'x', CHATMSG_TEXT_MAX);
	memcpy(in + 9 + CHATMSG_TEXT_MAX, "\"}", 2);
	n = 9 + CHATMSG_TEXT_MAX + 2;
	ck_assert_int_eq(chatmsg_parse_post(in, n, &text, NULL), CHAT_OK);
	ck_assert_uint_eq(text.len, CHATMSG_TEXT_MAX);
	chat_buf_reset(&text);
	memcpy(in + 9 + CHATMSG_TEXT_MAX, "x\"}", 3);
	ck_assert_int_eq(chatmsg_parse_post(in, n + 1, &text, NULL), CHAT_ETOOBIG);
	ck_assert_uint_eq(text.len, 0);
	chat_buf_free(&text);
	/* A smaller buffer bounds it too. */
	chat_buf_init(&text, 8);
	ck_assert_int_eq(chatmsg_parse_post("{\"text\":\"123456789\"}", 20, &text, NULL),
			 CHAT_ETOOBIG);
	chat_buf_free(&text);
}
END_TEST

static const struct {
	int line;
	const char *s;
	int room, name;
} name_rows[] = {
	{ __LINE__, "general", 1, 1 },
	{ __LINE__, "a", 1, 1 },
	{ __LINE__, "room-1_b", 1, 1 },
	{ __LINE__, "-x", 1, 0 },
	{ __LINE__, "alice.b", 0, 1 },
	{ __LINE__, ".alice", 0, 0 },
	{ __LINE__, "", 0, 0 },
	{ __LINE__, "a b", 0, 0 },
	{ __LINE__, "a/b", 0, 0 },
	{ __LINE__, "\xc3\xa9", 0, 0 },
	{ __LINE__, "0123456789012345678901234567890123", 1, 0 },
	{ __LINE__, "01234567890123456789012345678901", 1, 1 },
	{ __LINE__, "0123456789012345678901234567890123456789012345678901234567890123", 1, 0 },
	{ __LINE__, "01234567890123456789012345678901234567890123456789012345678901234", 0, 0 },
};

START_TEST(names)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(name_rows); i++) {
		ck_assert_msg(chatmsg_room_valid(S(name_rows[i].s)) == name_rows[i].room,
			      "line %d: room", name_rows[i].line);
		ck_assert_msg(chatmsg_name_valid(S(name_rows[i].s)) == name_rows[i].name,
			      "line %d: name", name_rows[i].line);
	}
	ck_assert_int_eq(chatmsg_name_valid((chat_slice_t){ "a\0b", 3 }), 0);
}
END_TEST

START_TEST(render)
{
	chatmsg_t m = { 42, "general", 7, "alice", 1700000000123LL, S("say \"hi\"\n\xe2\x80\xa8") };
	chat_buf_t out, text;

	chat_buf_init(&out, 1024);
	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	ck_assert_int_eq(chatmsg_render(&out, &m), CHAT_OK);
	ck_assert_str_eq(out.data, "{\"id\":42,\"room\":\"general\",\"seq\":7,\"writer\":\"alice\","
				   "\"time\":1700000000123,\"text\":\"say \\\"hi\\\"\\n\\u2028\"}");
	/* What the server renders, the reader takes back. */
	ck_assert_int_eq(chatmsg_parse_post(out.data, out.len, &text, NULL), CHAT_OK);
	ck_assert_uint_eq(text.len, m.text.len);
	ck_assert(memcmp(text.data, m.text.ptr, text.len) == 0);
	/* All or nothing. */
	chat_buf_free(&out);
	chat_buf_init(&out, 20);
	ck_assert_int_eq(chatmsg_render(&out, &m), CHAT_ETOOBIG);
	ck_assert_uint_eq(out.len, 0);
	m.text = (chat_slice_t){ "\xff", 1 };
	chat_buf_free(&out);
	chat_buf_init(&out, 1024);
	ck_assert_int_eq(chatmsg_render(&out, &m), CHAT_EUTF8);
	ck_assert_uint_eq(out.len, 0);
	chat_buf_free(&out);
	chat_buf_free(&text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chatmsg");
	TCase *tc = tcase_create("chatmsg");

	tcase_add_test(tc, parse_post);
	tcase_add_test(tc, text_bounds);
	tcase_add_test(tc, names);
	tcase_add_test(tc, render);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
