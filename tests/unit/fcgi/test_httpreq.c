/* test_httpreq.c - chat.fcgi's pure HTTP parts: REQUEST_URI, header
 * safety, CORS, JSESSIONID and the path below SCRIPT_NAME (fcgi/httpreq). */
#include "config.h"
#include "httpreq.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* A string of n copies of c (n <= HTTPREQ_ORIGIN_MAX + 1), for the bound rows. */
static char long_buf[2][HTTPREQ_ORIGIN_MAX + 2];
static const char *rep(int which, char c, size_t n)
{
	memset(long_buf[which], c, n);
	long_buf[which][n] = '\0';
	return long_buf[which];
}

static const struct {
	int line;
	const char *uri, *query_string; /* query_string NULL: none passed */
	const char *path, *query;
} uri_rows[] = {
	{ __LINE__, "/chat/info", NULL, "/chat/info", "" },
	{ __LINE__, "/chat/info?t=1", NULL, "/chat/info", "t=1" },
	{ __LINE__, "/chat/info?", NULL, "/chat/info", "" },
	{ __LINE__, "/a?b?c", NULL, "/a", "b?c" },
	{ __LINE__, "?x=1", NULL, "", "x=1" },
	{ __LINE__, "", NULL, "", "" },
	{ __LINE__, "/a%3Fb", NULL, "/a%3Fb", "" },
	/* Apache: REQUEST_URI without the query, QUERY_STRING with it. */
	{ __LINE__, "/chat/000/s/jsonp", "c=cb", "/chat/000/s/jsonp", "c=cb" },
	{ __LINE__, "/a?from-uri", "from-qs", "/a", "from-qs" },
	{ __LINE__, "/a?from-uri", "", "/a", "" },
};

START_TEST(split_uri)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(uri_rows); i++) {
		chat_slice_t path, query;

		httpreq_split_uri(uri_rows[i].uri, uri_rows[i].query_string, &path, &query);
		ck_assert_msg(chat_slice_eq(path, uri_rows[i].path), "row at line %d: path %.*s",
			      uri_rows[i].line, (int)path.len, path.ptr);
		ck_assert_msg(chat_slice_eq(query, uri_rows[i].query), "row at line %d: query %.*s",
			      uri_rows[i].line, (int)query.len, query.ptr);
	}
}
END_TEST

START_TEST(header_safe)
{
	static const struct {
		int line;
		const char *v;
		size_t max;
		int safe;
	} rows[] = {
		{ __LINE__, "", 10, 1 },
		{ __LINE__, "https://a.example", 100, 1 },
		{ __LINE__, "null", 100, 1 },
		{ __LINE__, "x-custom, content-type", 100, 1 },
		{ __LINE__, "tab\there", 100, 0 },
		{ __LINE__, "a\r\nSet-Cookie: x=1", 100, 0 },
		{ __LINE__, "a\nb", 100, 0 },
		{ __LINE__, "a\rb", 100, 0 },
		{ __LINE__, "del\x7f", 100, 0 },
		{ __LINE__, "\x01", 100, 0 },
		{ __LINE__, "caf\xc3\xa9", 100, 1 }, /* UTF-8 bytes are no control */
		{ __LINE__, "\xff", 100, 1 },
		{ __LINE__, "abc", 4, 1 },
		{ __LINE__, "abcd", 4, 1 }, /* at most max bytes */
		{ __LINE__, "abcde", 4, 0 },
		{ __LINE__, "a", 0, 0 },
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++)
		ck_assert_msg(httpreq_header_safe(rows[i].v, rows[i].max) == rows[i].safe,
			      "row at line %d", rows[i].line);
}
END_TEST

#define ANY "Access-Control-Allow-Origin: *\r\nVary: Origin\r\n"
#define ECHO(o)                           \
	"Access-Control-Allow-Origin: " o \
	"\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n"

START_TEST(cors)
{
	static const struct {
		int line;
		const char *origin; /* NULL: no Origin header */
		const char *head;   /* NULL: ECHO(origin) */
	} rows[] = {
		{ __LINE__, NULL, ANY },
		{ __LINE__, "", ANY },
		{ __LINE__, "https://a.example", ECHO("https://a.example") },
		{ __LINE__, "null", ECHO("null") },
		{ __LINE__, "http://[::1]:8080", ECHO("http://[::1]:8080") },
		/* Cannot be echoed: answered as no Origin, never split. */
		{ __LINE__, "https://a.example\r\nSet-Cookie: x=1", ANY },
		{ __LINE__, "https://a.example\n", ANY },
		{ __LINE__, "\x7f", ANY },
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		chat_buf_t head;

		chat_buf_init(&head, 4096);
		ck_assert_int_eq(httpreq_cors_headers(&head, rows[i].origin), CHAT_OK);
		ck_assert_msg(!strcmp(head.data, rows[i].head), "row at line %d: %s", rows[i].line,
			      head.data);
		chat_buf_free(&head);
	}
}
END_TEST

/* The Origin bound: HTTPREQ_ORIGIN_MAX bytes are echoed, more are not. */
START_TEST(cors_bound)
{
	char want[HTTPREQ_ORIGIN_MAX + 130];
	chat_buf_t head;
	const char *o = rep(0, 'o', HTTPREQ_ORIGIN_MAX);

	chat_buf_init(&head, 4096);
	ck_assert_int_eq(httpreq_cors_headers(&head, o), CHAT_OK);
	snprintf(want, sizeof(want), ECHO("%s"), o);
	ck_assert_str_eq(head.data, want);
	chat_buf_reset(&head);
	ck_assert_int_eq(httpreq_cors_headers(&head, rep(0, 'o', HTTPREQ_ORIGIN_MAX + 1)), CHAT_OK);
	ck_assert_str_eq(head.data, ANY);
	chat_buf_free(&head);
	/* A full buffer is the buffer's error, not a truncated header. */
	chat_buf_init(&head, 8);
	ck_assert_int_ne(httpreq_cors_headers(&head, NULL), CHAT_OK);
	chat_buf_free(&head);
}
END_TEST

START_TEST(jsessionid)
{
	static const struct {
		int line;
		const char *cookie; /* NULL: no Cookie header */
		size_t size;        /* of the output; 0: HTTPREQ_COOKIE_MAX + 1 */
		const char *id;
	} rows[] = {
		{ __LINE__, NULL, 0, "dummy" },
		{ __LINE__, "", 0, "dummy" },
		{ __LINE__, "JSESSIONID=abc", 0, "abc" },
		{ __LINE__, "a=1; JSESSIONID=abc; b=2", 0, "abc" },
		{ __LINE__, "a=1;JSESSIONID=abc", 0, "abc" },
		{ __LINE__, "JSESSIONID=abc def", 0, "abc" },
		{ __LINE__, "JSESSIONID=abc\tdef", 0, "abc" },
		{ __LINE__, "JSESSIONID=", 0, "dummy" },
		{ __LINE__, "JSESSIONID=;x=1", 0, "dummy" },
		/* Only a whole cookie name counts. */
		{ __LINE__, "XJSESSIONID=evil", 0, "dummy" },
		{ __LINE__, "XJSESSIONID=evil; JSESSIONID=good", 0, "good" },
		{ __LINE__, "a=JSESSIONID=evil", 0, "dummy" },
		/* The first JSESSIONID is the one. */
		{ __LINE__, "JSESSIONID=one; JSESSIONID=two", 0, "one" },
		{ __LINE__, "jsessionid=lower", 0, "dummy" },
		/* Too long for out: "dummy" rather than a cut id. */
		{ __LINE__, "JSESSIONID=abcdef", 6, "dummy" },
		{ __LINE__, "JSESSIONID=abcde", 6, "abcde" },
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		char out[HTTPREQ_COOKIE_MAX + 1];

		httpreq_jsessionid(rows[i].cookie, out, rows[i].size ? rows[i].size : sizeof(out));
		ck_assert_msg(!strcmp(out, rows[i].id), "row at line %d: %s", rows[i].line, out);
	}
}
END_TEST

/* HTTPREQ_COOKIE_MAX bytes are taken, one more is "dummy". */
START_TEST(jsessionid_bound)
{
	char cookie[HTTPREQ_ORIGIN_MAX + 16], out[HTTPREQ_COOKIE_MAX + 2];

	snprintf(cookie, sizeof(cookie), "JSESSIONID=%s", rep(0, 'j', HTTPREQ_COOKIE_MAX));
	httpreq_jsessionid(cookie, out, sizeof(out));
	ck_assert_str_eq(out, rep(1, 'j', HTTPREQ_COOKIE_MAX));
	snprintf(cookie, sizeof(cookie), "JSESSIONID=%s", rep(0, 'j', HTTPREQ_COOKIE_MAX + 1));
	httpreq_jsessionid(cookie, out, sizeof(out));
	ck_assert_str_eq(out, "dummy");
}
END_TEST

START_TEST(below_script_dir)
{
	static const struct {
		int line;
		const char *path, *script_name; /* script_name NULL: none */
		const char *below;
	} rows[] = {
		{ __LINE__, "/~me/chat/chat/info", "/~me/chat/chat.fcgi", "/chat/info" },
		{ __LINE__, "/~me/chat/chat.fcgi/x", "/~me/chat/chat.fcgi", "/chat.fcgi/x" },
		{ __LINE__, "/chat/info", NULL, "/chat/info" },
		{ __LINE__, "/chat/info", "", "/chat/info" },
		{ __LINE__, "/chat/info", "chat.fcgi", "/chat/info" },
		{ __LINE__, "/chat/info", "/chat.fcgi", "/chat/info" }, /* at the root */
		/* Outside the directory: as it is. */
		{ __LINE__, "/other/chat/info", "/~me/chat/chat.fcgi", "/other/chat/info" },
		{ __LINE__, "/~me/chatty/info", "/~me/chat/chat.fcgi", "/~me/chatty/info" },
		{ __LINE__, "/~me/chat", "/~me/chat/chat.fcgi", "/~me/chat" },
		{ __LINE__, "/~me/chat/", "/~me/chat/chat.fcgi", "/" },
		{ __LINE__, "/~me", "/~me/chat/chat.fcgi", "/~me" },
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		chat_slice_t p = { rows[i].path, strlen(rows[i].path) };
		chat_slice_t got = httpreq_below_script_dir(p, rows[i].script_name);

		ck_assert_msg(chat_slice_eq(got, rows[i].below), "row at line %d: %.*s",
			      rows[i].line, (int)got.len, got.ptr);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("httpreq");
	TCase *tc = tcase_create("httpreq");

	tcase_add_test(tc, split_uri);
	tcase_add_test(tc, header_safe);
	tcase_add_test(tc, cors);
	tcase_add_test(tc, cors_bound);
	tcase_add_test(tc, jsessionid);
	tcase_add_test(tc, jsessionid_bound);
	tcase_add_test(tc, below_script_dir);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
