/* test_chatmsg.c - chat posts (JSON reader), room ids, user names, and the
 * stamped message's JSON. */
#include "config.h"
#include "chatmsg.h"
#include "testutil.h"

#include <stdint.h>
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
	{ __LINE__, "{\"a\":1,\"text\":\"x\",\"b\":true,\"c\":null,\"d\":-1.5e3,\"e\":\"s\"}",
	  CHAT_OK, "x" },
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
	{ __LINE__, "{\"text\":\"a\",\"n\":123456789012345678901234567890123}", CHAT_ETOOBIG,
	  NULL },
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
	/* the one decoder's strict rule: a pair half followed by \u must be a low
	 * surrogate (else CHAT_EUTF8), a broken \u after it is broken JSON */
	{ __LINE__, "{\"text\":\"\\ud83d\\u0041\"}", CHAT_EUTF8, NULL },
	{ __LINE__, "{\"text\":\"\\ud83d\\u00\"}", CHAT_EINVAL, NULL },
	{ __LINE__, "{\"x\":\"\xff\",\"text\":\"a\"}", CHAT_EUTF8, NULL },
	{ __LINE__,
	  "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
	  "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"text\":\"a\"}",
	  CHAT_OK, "a" },
	{ __LINE__,
	  "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,"
	  "\"i\":1,\"j\":1,\"k\":1,\"l\":1,\"m\":1,\"n\":1,\"o\":1,\"p\":1,\"text\":\"a\"}",
	  CHAT_ETOOMANY, NULL },
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
	chatmsg_t m = {
		42, "general", 7, "alice", NULL, 1700000000123LL, S("say \"hi\"\n\xe2\x80\xa8"), 0
	};
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

/* json_parse_object with the API's fields: "name" (string, required,
 * max 8 bytes), "password" (string, optional), "n" (integer, optional). */
static const struct {
	int line;
	const char *in;
	int rc;
	const char *name;     /* expected when rc == 0 */
	const char *password; /* expected ("" when absent) */
	int has_n;
	int64_t n;
	const char *reason; /* expected err.message when rc != 0 (NULL: any) */
} obj_rows[] = {
	{ __LINE__, "{\"name\":\"bob\"}", CHAT_OK, "bob", "", 0, 0, NULL },
	{ __LINE__, "{\"password\":\"pw\",\"name\":\"bob\",\"x\":[]}", CHAT_EINVAL, NULL, NULL, 0,
	  0, "nested objects and arrays are not accepted" },
	{ __LINE__, "{\"password\":\"p\\u00e9\",\"name\":\"a\",\"n\":-42}", CHAT_OK, "a",
	  "p\xc3\xa9", 1, -42, NULL },
	{ __LINE__, "{\"name\":\"a\",\"n\":9223372036854775807}", CHAT_OK, "a", "", 1, INT64_MAX,
	  NULL },
	{ __LINE__, "{\"name\":\"a\",\"n\":-9223372036854775808}", CHAT_OK, "a", "", 1, INT64_MIN,
	  NULL },
	{ __LINE__, "{\"name\":\"a\",\"n\":9223372036854775808}", CHAT_ETOOBIG, NULL, NULL, 0, 0,
	  "\"n\" is out of range" },
	{ __LINE__, "{\"name\":\"a\",\"n\":1.5}", CHAT_EINVAL, NULL, NULL, 0, 0,
	  "\"n\" is not a whole number" },
	{ __LINE__, "{\"name\":\"a\",\"n\":\"1\"}", CHAT_EINVAL, NULL, NULL, 0, 0,
	  "\"n\" is not a number" },
	{ __LINE__, "{\"name\":\"a\",\"n\":1e3}", CHAT_EINVAL, NULL, NULL, 0, 0, NULL },
	{ __LINE__, "{}", CHAT_EINVAL, NULL, NULL, 0, 0, "\"name\" is missing" },
	{ __LINE__, "{\"password\":\"x\"}", CHAT_EINVAL, NULL, NULL, 0, 0, "\"name\" is missing" },
	{ __LINE__, "{\"name\":1}", CHAT_EINVAL, NULL, NULL, 0, 0, "\"name\" is not a string" },
	{ __LINE__, "{\"name\":\"a\",\"name\":\"b\"}", CHAT_EINVAL, NULL, NULL, 0, 0,
	  "\"name\" given twice" },
	{ __LINE__, "{\"name\":\"123456789\"}", CHAT_ETOOBIG, NULL, NULL, 0, 0,
	  "name longer than 8 bytes" },
	{ __LINE__, "{\"name\":\"12345678\"}", CHAT_OK, "12345678", "", 0, 0, NULL },
	{ __LINE__, "{\"name\":\"a\\u0000\"}", CHAT_EINVAL, NULL, NULL, 0, 0, "name contains NUL" },
	{ __LINE__, "{\"name\":\"\"}", CHAT_OK, "", "", 0, 0, NULL },
	{ __LINE__, "{\"$name\":\"a\",\"name\":\"b\"}", CHAT_EINVAL, NULL, NULL, 0, 0,
	  "member names may not start with '$'" },
	{ __LINE__, "{\"name\":\"a\"} {", CHAT_EINVAL, NULL, NULL, 0, 0,
	  "broken JSON: data after the object" },
	{ __LINE__, "{\"name\":\"a\",\"password\":\"\xff\"}", CHAT_EUTF8, NULL, NULL, 0, 0, NULL },
	/* A failure after the name was read leaves the buffers empty. */
	{ __LINE__, "{\"name\":\"abc\",\"password\":1}", CHAT_EINVAL, NULL, NULL, 0, 0,
	  "\"password\" is not a string" },
};

START_TEST(parse_object)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(obj_rows); i++) {
		chat_buf_t name, pw;
		chat_error_t err = { 0 };
		json_field_t f[3] = {
			{ "name", &name, 1, 0, 0, 0 },
			{ "password", &pw, 0, 0, 0, 0 },
			{ "n", NULL, 0, 0, 0, 0 },
		};
		int rc;

		chat_buf_init(&name, 8);
		chat_buf_init(&pw, 64);
		rc = json_parse_object(obj_rows[i].in, strlen(obj_rows[i].in),
				       &chatmsg_object_limits, f, 3, &err);
		ck_assert_msg(rc == obj_rows[i].rc, "line %d: rc %d (%s), want %d",
			      obj_rows[i].line, rc, err.message, obj_rows[i].rc);
		if (rc == CHAT_OK) {
			ck_assert_msg(name.len == strlen(obj_rows[i].name) &&
					      (name.len == 0 ||
					       memcmp(name.data, obj_rows[i].name, name.len) == 0),
				      "line %d: name", obj_rows[i].line);
			ck_assert_msg(pw.len == strlen(obj_rows[i].password) &&
					      (pw.len == 0 ||
					       memcmp(pw.data, obj_rows[i].password, pw.len) == 0),
				      "line %d: password", obj_rows[i].line);
			ck_assert_msg(f[0].found == 1 && f[2].found == obj_rows[i].has_n,
				      "line %d: found", obj_rows[i].line);
			if (obj_rows[i].has_n)
				ck_assert_msg(f[2].num == obj_rows[i].n, "line %d: n %lld",
					      obj_rows[i].line, (long long)f[2].num);
		} else {
			ck_assert_msg(name.len == 0 && pw.len == 0 && !f[0].found && !f[1].found,
				      "line %d: buffers not rewound", obj_rows[i].line);
			if (obj_rows[i].reason != NULL)
				ck_assert_msg(strcmp(err.message, obj_rows[i].reason) == 0,
					      "line %d: reason '%s'", obj_rows[i].line,
					      err.message);
		}
		chat_buf_free(&name);
		chat_buf_free(&pw);
	}
}
END_TEST

static const struct {
	int line;
	int which; /* 0 user name, 1 password, 2 room name */
	const char *in;
	int rc;
} check_rows[] = {
	{ __LINE__, 0, "alice", CHAT_OK },
	{ __LINE__, 0, "a.b-c_9", CHAT_OK },
	{ __LINE__, 0, "12345678901234567890123456789012", CHAT_OK },
	{ __LINE__, 0, "123456789012345678901234567890123", CHAT_ETOOBIG },
	{ __LINE__, 0, "", CHAT_EINVAL },
	{ __LINE__, 0, "-alice", CHAT_EINVAL },
	{ __LINE__, 0, "al ice", CHAT_EINVAL },
	{ __LINE__, 0, "guest-1", CHAT_EINVAL },
	{ __LINE__, 0, "Guest-bob", CHAT_EINVAL },
	{ __LINE__, 0, "guest", CHAT_EINVAL },
	{ __LINE__, 0, "GUEST", CHAT_EINVAL },
	{ __LINE__, 0, "guest_1", CHAT_EINVAL },
	{ __LINE__, 0, "guest.1", CHAT_EINVAL },
	{ __LINE__, 0, "guest1", CHAT_EINVAL },
	{ __LINE__, 0, "Guest_x", CHAT_EINVAL },
	{ __LINE__, 0, "guestbook", CHAT_OK },
	{ __LINE__, 0, "guests", CHAT_OK },
	{ __LINE__, 0, "aguest-1", CHAT_OK },
	{ __LINE__, 0, "\xc3\xa9", CHAT_EINVAL },
	{ __LINE__, 1, "12345678", CHAT_OK },
	{ __LINE__, 1, "1234567", CHAT_EINVAL },
	{ __LINE__, 1, "p\xc3\xa9 ss word", CHAT_OK },
	{ __LINE__, 1, "pass\tword", CHAT_EINVAL },
	{ __LINE__, 1, "password\x7f", CHAT_EINVAL },
	{ __LINE__, 1, "password\xff", CHAT_EUTF8 },
	{ __LINE__, 1, "password\xed\xa0\x80", CHAT_EUTF8 },
	{ __LINE__, 1,
	  "1234567890123456789012345678901234567890123456789012345678901234"
	  "1234567890123456789012345678901234567890123456789012345678901234",
	  CHAT_OK },
	{ __LINE__, 1,
	  "1234567890123456789012345678901234567890123456789012345678901234"
	  "12345678901234567890123456789012345678901234567890123456789012345",
	  CHAT_ETOOBIG },
	{ __LINE__, 2, "general", CHAT_OK },
	{ __LINE__, 2, "-x_1", CHAT_OK },
	{ __LINE__, 2, "two words", CHAT_EINVAL },
	{ __LINE__, 2, "", CHAT_EINVAL },
	{ __LINE__, 2, "a/b", CHAT_EINVAL },
	{ __LINE__, 2, "1234567890123456789012345678901234567890123456789012345678901234",
	  CHAT_OK },
	{ __LINE__, 2, "12345678901234567890123456789012345678901234567890123456789012345",
	  CHAT_ETOOBIG },
};

START_TEST(checks)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(check_rows); i++) {
		chat_slice_t s = S(check_rows[i].in);
		chat_error_t err = { 0 };
		int rc = check_rows[i].which == 0   ? chatmsg_check_user_name(s, &err)
			 : check_rows[i].which == 1 ? chatmsg_check_password(s, &err)
						    : chatmsg_check_room_name(s, &err);

		ck_assert_msg(rc == check_rows[i].rc, "line %d: rc %d, want %d", check_rows[i].line,
			      rc, check_rows[i].rc);
		if (rc != CHAT_OK)
			ck_assert_msg(err.message[0] != '\0', "line %d: no reason",
				      check_rows[i].line);
	}
}
END_TEST

START_TEST(render_notice_room)
{
	chat_buf_t b, small;

	chat_buf_init(&b, 1024);
	ck_assert_int_eq(chatmsg_render_notice(&b, "ENTER", "al\"ice", "general"), CHAT_OK);
	ck_assert_str_eq(b.data,
			 "{\"type\":\"ENTER\",\"user\":\"al\\\"ice\",\"room\":\"general\"}");
	chat_buf_reset(&b);
	ck_assert_int_eq(chatmsg_render_room(&b, "k3x", "\xec\x9e\x90\"", "bob", 1700000000000LL),
			 CHAT_OK);
	ck_assert_str_eq(b.data,
			 "{\"id\":\"k3x\",\"name\":\"\xec\x9e\x90\\\"\",\"creator\":\"bob\","
			 "\"created\":1700000000000}");
	/* All or nothing. */
	chat_buf_init(&small, 20);
	ck_assert_int_eq(chat_buf_append(&small, "x", 1), CHAT_OK);
	ck_assert_int_eq(chatmsg_render_notice(&small, "LEAVE", "bob", "general"), CHAT_ETOOBIG);
	ck_assert_uint_eq(small.len, 1);
	ck_assert_int_eq(chatmsg_render_room(&small, "general", "general", "bob", 1), CHAT_ETOOBIG);
	ck_assert_uint_eq(small.len, 1);
	ck_assert_int_eq(chatmsg_render_notice(&b, "ENTER", "\xff", "r"), CHAT_EUTF8);
	chat_buf_free(&b);
	chat_buf_free(&small);
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
	tcase_add_test(tc, parse_object);
	tcase_add_test(tc, checks);
	tcase_add_test(tc, render_notice_room);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
