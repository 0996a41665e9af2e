/* test_chatrow.c - the outbox row header codec and the chat row's body. */
#include "config.h"
#include "chatrow.h"
#include "testutil.h"

#include <string.h>

static chat_slice_t S(const char *s, size_t n)
{
	chat_slice_t r = { s, n };

	return r;
}

/* Row headers as written ("name\0value\0"...), with their length. */
#define H(lit) S(lit, sizeof(lit) - 1)
#define HC(lit)                      \
	{                            \
		lit, sizeof(lit) - 1 \
	}

static const struct {
	int line;
	chat_slice_t h;
	const char *name;
	const char *value; /* NULL: not found */
} get_rows[] = {
	{ __LINE__, { "", 0 }, "kind", NULL },
	{ __LINE__, HC("kind\0msg\0"), "kind", "msg" },
	{ __LINE__, HC("content-type\0application/json\0kind\0msg\0"), "kind", "msg" },
	{ __LINE__, HC("kind\0msg\0origin\0\0"), "origin", "" },
	{ __LINE__, HC("kinds\0msg\0"), "kind", NULL },
	{ __LINE__, HC("kin\0msg\0"), "kind", NULL },
	{ __LINE__, HC("a\0b\0kind\0notice\0kind\0msg\0"), "kind", "notice" }, /* the first */
	{ __LINE__, HC("kind\0msg"), "kind", NULL }, /* value not terminated */
	{ __LINE__, HC("kind"), "kind", NULL },      /* name not terminated */
	{ __LINE__, HC("kind\0"), "kind", NULL },    /* no value */
	{ __LINE__, HC("x\0y\0kind\0ms"), "kind", NULL },
};

START_TEST(hdr_get)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(get_rows); i++) {
		chat_slice_t v = { NULL, 0 };
		int found = chatrow_hdr_get(get_rows[i].h, get_rows[i].name, &v);

		ck_assert_msg(found == (get_rows[i].value != NULL), "line %d", get_rows[i].line);
		if (found) {
			ck_assert_msg(v.len == strlen(get_rows[i].value) &&
					      memcmp(v.ptr, get_rows[i].value, v.len) == 0 &&
					      v.ptr[v.len] == '\0',
				      "line %d", get_rows[i].line);
		}
	}
}
END_TEST

START_TEST(hdr_put_round_trip)
{
	chat_buf_t b, small;
	chat_slice_t v;

	chat_buf_init(&b, 256);
	ck_assert_int_eq(chatrow_hdr_put(&b, CHATROW_H_KIND, CHATROW_KIND_MSG), CHAT_OK);
	ck_assert_int_eq(chatrow_hdr_put(&b, CHATROW_H_ORIGIN, "3"), CHAT_OK);
	ck_assert_int_eq(chatrow_hdr_put(&b, "empty", ""), CHAT_OK);
	ck_assert_uint_eq(b.len, sizeof("kind\0msg\0origin\0"
					"3\0empty\0\0") -
					 1);
	ck_assert(memcmp(b.data,
			 "kind\0msg\0origin\0"
			 "3\0empty\0\0",
			 b.len) == 0);
	ck_assert(chatrow_is_msg(chat_buf_slice(&b)));
	ck_assert(chatrow_hdr_get(chat_buf_slice(&b), CHATROW_H_ORIGIN, &v) &&
		  chat_slice_eq(v, "3"));
	ck_assert(chatrow_hdr_get(chat_buf_slice(&b), "empty", &v) && v.len == 0);
	ck_assert(!chatrow_hdr_get(chat_buf_slice(&b), "msg", &v));
	/* All or nothing: a pair that does not fit leaves the headers. */
	chat_buf_init(&small, 9);
	ck_assert_int_eq(chatrow_hdr_put(&small, "kind", "msg"), CHAT_OK);
	ck_assert_int_eq(chatrow_hdr_put(&small, "origin", "1"), CHAT_ETOOBIG);
	ck_assert_uint_eq(small.len, 9);
	chat_buf_free(&b);
	chat_buf_free(&small);
}
END_TEST

START_TEST(is_msg)
{
	ck_assert(chatrow_is_msg(H("kind\0msg\0")));
	ck_assert(!chatrow_is_msg(H("kind\0notice\0")));
	ck_assert(!chatrow_is_msg(H("kind\0msgs\0")));
	ck_assert(!chatrow_is_msg(H("content-type\0msg\0")));
	ck_assert(!chatrow_is_msg(S("", 0)));
}
END_TEST

static const struct {
	int line;
	const char *body;
	int rc;
	int64_t id, seq, time;
	const char *room, *writer, *text;
} parse_rows[] = {
	{ __LINE__,
	  "{\"id\":7,\"room\":\"general\",\"seq\":3,\"writer\":\"bob\",\"display_name\":\"Bob\","
	  "\"time\":1700000000000,\"text\":\"hi\",\"deleted\":false}",
	  CHAT_OK, 7, 3, 1700000000000, "general", "bob", "hi" },
	{ __LINE__,
	  "{\"id\":1,\"seq\":0,\"time\":0,\"room\":\"r\",\"writer\":\"w\",\"text\":\"\\u00e9\"}",
	  CHAT_OK, 1, 0, 0, "r", "w", "\xc3\xa9" },
	{ __LINE__,
	  "{\"id\":0,\"seq\":1,\"time\":1,\"room\":\"r\",\"writer\":\"w\",\"text\":\"t\"}",
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__,
	  "{\"id\":-4,\"seq\":1,\"time\":1,\"room\":\"r\",\"writer\":\"w\",\"text\":\"t\"}",
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__, "{\"id\":2,\"seq\":1,\"time\":1,\"room\":\"\",\"writer\":\"w\",\"text\":\"t\"}",
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__, "{\"id\":2,\"seq\":1,\"time\":1,\"room\":\"r\",\"writer\":\"\",\"text\":\"t\"}",
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__, "{\"id\":2,\"seq\":1,\"time\":1,\"room\":\"r\",\"writer\":\"w\",\"text\":\"\"}",
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__,
	  "{\"id\":2,\"seq\":1,\"room\":\"r\",\"writer\":\"w\",\"text\":\"t\"}", /* no time */
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__,
	  "{\"id\":\"2\",\"seq\":1,\"time\":1,\"room\":\"r\",\"writer\":\"w\",\"text\":\"t\"}",
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__, "{\"type\":\"ENTER\",\"user\":\"bob\",\"room\":\"general\"}", /* a notice */
	  CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__, "", CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
	{ __LINE__, "[1]", CHAT_EINVAL, 0, 0, 0, NULL, NULL, NULL },
};

START_TEST(parse)
{
	chat_buf_t room, writer, text;
	chatrow_msg_t m;

	chat_buf_init(&room, 64);
	chat_buf_init(&writer, 64);
	chat_buf_init(&text, 256);
	for (size_t i = 0; i < CHAT_ARRAY_LEN(parse_rows); i++) {
		const char *b = parse_rows[i].body;
		int rc = chatrow_parse(S(b, strlen(b)), &m, &room, &writer, &text);

		ck_assert_msg(rc == parse_rows[i].rc, "line %d: rc %d", parse_rows[i].line, rc);
		if (rc != CHAT_OK)
			continue;
		ck_assert_msg(m.id == parse_rows[i].id && m.room_seq == parse_rows[i].seq &&
				      m.time_ms == parse_rows[i].time,
			      "line %d", parse_rows[i].line);
		ck_assert_str_eq(room.data, parse_rows[i].room);
		ck_assert_str_eq(writer.data, parse_rows[i].writer);
		ck_assert_str_eq(text.data, parse_rows[i].text);
	}
	/* The buffers are reset first: a second row does not append. */
	ck_assert_int_eq(
		chatrow_parse(H("{\"id\":5,\"seq\":1,\"time\":1,\"room\":\"a\",\"writer\":\"b\","
				"\"text\":\"c\"}"),
			      &m, &room, &writer, &text),
		CHAT_OK);
	ck_assert_str_eq(room.data, "a");
	ck_assert_uint_eq(text.len, 1);
	chat_buf_free(&room);
	chat_buf_free(&writer);
	chat_buf_free(&text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chatrow");
	TCase *tc = tcase_create("chatrow");

	tcase_add_test(tc, hdr_get);
	tcase_add_test(tc, hdr_put_round_trip);
	tcase_add_test(tc, is_msg);
	tcase_add_test(tc, parse);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
