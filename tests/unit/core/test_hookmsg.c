/* test_hookmsg.c - the JSON tokenizer (jtok) and the application hook's
 * messages (hookmsg): URLs, requests, HTTP responses and answers. */
#include "config.h"
#include "hookmsg.h"
#include "jtok.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define B(s) s, sizeof(s) - 1

static const struct tok_row {
	int line;
	const char *in;
	size_t len;
	int rc;
	size_t ntok;
} tok_rows[] = {
	{ __LINE__, B("{}"), 0, 1 },
	{ __LINE__, B(" [ ] "), 0, 1 },
	{ __LINE__, B("\"a\\u00e9\\n\""), 0, 1 },
	{ __LINE__, B("{\"a\":[1,-2.5e+3,true,false,null],\"b\":{\"c\":\"d\"}}"), 0, 12 },
	{ __LINE__, B("0"), 0, 1 },
	{ __LINE__, B(""), CHAT_EINVAL, 0 },
	{ __LINE__, B("{"), CHAT_EINVAL, 0 },
	{ __LINE__, B("[1,]"), CHAT_EINVAL, 0 },
	{ __LINE__, B("{\"a\"}"), CHAT_EINVAL, 0 },
	{ __LINE__, B("{1:2}"), CHAT_EINVAL, 0 },
	{ __LINE__, B("01"), CHAT_EINVAL, 0 },
	{ __LINE__, B("1."), CHAT_EINVAL, 0 },
	{ __LINE__, B("-"), CHAT_EINVAL, 0 },
	{ __LINE__, B("tru"), CHAT_EINVAL, 0 },
	{ __LINE__, B("[] []"), CHAT_EINVAL, 0 },
	{ __LINE__, B("\"\x01\""), CHAT_EINVAL, 0 },
	{ __LINE__, B("\"\xff\""), CHAT_EUTF8, 0 },
	{ __LINE__, B("123456789012345678901234567890123"), CHAT_EINVAL, 0 },
	/* 17 levels of nesting: one too many */
	{ __LINE__, B("[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]"), CHAT_EINVAL, 0 },
	{ __LINE__, B("[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]"), 0, 16 },
	/* more tokens than the array (20) holds */
	{ __LINE__, B("[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]"), CHAT_ETOOMANY, 0 },
};

START_TEST(tokenize_rows)
{
	jtok_t t[20];
	jtok_doc_t d = { NULL, 0, t, 0, 20 };
	size_t i;

	for (i = 0; i < sizeof(tok_rows) / sizeof(tok_rows[0]); i++) {
		const struct tok_row *r = &tok_rows[i];
		int rc = jtok_parse(&d, r->in, r->len);

		ck_assert_msg(rc == r->rc && d.n == r->ntok, "row at line %d: rc %d n %zu", r->line,
			      rc, d.n);
	}
}
END_TEST

START_TEST(members_and_items)
{
	static const char in[] = "{\"a\":[1,{\"x\":2}],\"k\\u0065y\":\"v\\\"al\",\"a\":3}";
	jtok_t t[32];
	jtok_doc_t d = { NULL, 0, t, 0, 32 };
	chat_buf_t b;
	size_t a, v;

	chat_buf_init(&b, 16);
	ck_assert_int_eq(jtok_parse(&d, in, strlen(in)), 0);
	a = jtok_member(&d, 0, "a");
	ck_assert_uint_eq(d.t[a].type, JTOK_ARRAY);
	ck_assert_uint_eq(d.t[a].size, 2);
	v = jtok_item(&d, a, 1);
	ck_assert_uint_eq(d.t[v].type, JTOK_OBJECT);
	ck_assert_uint_eq(jtok_item(&d, a, 2), JTOK_NONE);
	ck_assert_str_eq(jtok_text(&d, v).ptr[0] == '{' ? "ok" : "no", "ok");
	v = jtok_member(&d, 0, "key"); /* an escaped key */
	ck_assert_uint_ne(v, JTOK_NONE);
	ck_assert_int_eq(jtok_string(&d, v, &b), 0);
	ck_assert_str_eq(b.data, "v\"al");
	ck_assert_uint_eq(jtok_member(&d, 0, "nope"), JTOK_NONE);
	ck_assert_uint_eq(jtok_member(&d, a, "a"), JTOK_NONE);
	chat_buf_free(&b);
}
END_TEST

static const struct url_row {
	int line;
	const char *url;
	int rc;
	const char *host;
	int port;
	const char *path;
} url_rows[] = {
	{ __LINE__, "http://127.0.0.1:8080/hook.php?x=1", 0, "127.0.0.1", 8080, "/hook.php?x=1" },
	{ __LINE__, "http://10.0.0.2", 0, "10.0.0.2", 80, "/" },
	{ __LINE__, "http://10.0.0.2:1/", 0, "10.0.0.2", 1, "/" },
	{ __LINE__, "https://127.0.0.1/", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "http://localhost/", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "http://256.0.0.1/", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "http://1.2.3/", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "http://1.2.3.4:0/", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "http://1.2.3.4:65536/", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "http://1.2.3.4/a b", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "http://1.2.3.4@evil/", CHAT_EINVAL, "", 0, "" },
	{ __LINE__, "", CHAT_EINVAL, "", 0, "" },
};

START_TEST(url_rows_test)
{
	hookmsg_url_t u;

	for (size_t i = 0; i < sizeof(url_rows) / sizeof(url_rows[0]); i++) {
		const struct url_row *r = &url_rows[i];
		int rc = hookmsg_url_parse(r->url, &u, NULL);

		ck_assert_msg(rc == r->rc, "row at line %d: rc %d", r->line, rc);
		if (rc == 0)
			ck_assert_msg(!strcmp(u.host, r->host) && u.port == r->port &&
					      !strcmp(u.path, r->path),
				      "row at line %d: %s %d %s", r->line, u.host, u.port, u.path);
	}
}
END_TEST

static const struct http_row {
	int line;
	const char *in;
	size_t len;
	int eof, rc, status;
	const char *body;
} http_rows[] = {
	{ __LINE__, B("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}"), 0, 0, 200, "{}" },
	{ __LINE__, B("HTTP/1.1 201 Created\nContent-Length: 2\n\n{}"), 0, 0, 201, "{}" },
	{ __LINE__, B("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n{}"), 0, CHAT_EAGAIN, 0, "" },
	{ __LINE__, B("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n{}"), 1, CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.0 200 OK\r\nStatus: x\r\n\r\n{\"a\":1}"), 0, CHAT_EAGAIN, 0, "" },
	{ __LINE__, B("HTTP/1.0 200 OK\r\nStatus: x\r\n\r\n{\"a\":1}"), 1, 0, 200, "{\"a\":1}" },
	{ __LINE__, B("HTTP/1.0 500 Internal\r\n\r\n"), 1, 0, 500, "" },
	{ __LINE__, B("HTTP/1.0 200\n\n"), 1, 0, 200, "" },
	{ __LINE__, B("HTTP/1.0 20\n\n"), 1, CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.0 200"), 0, CHAT_EAGAIN, 0, "" },
	{ __LINE__, B("HTTP/1.0 200 OK\r\n\r"), 1, CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/2 200 OK\r\n\r\n"), 1, CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.0 20 OK\r\n\r\n"), 1, CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}"), 1,
	  CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n"), 1, CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"), 1,
	  CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), 1, CHAT_EINVAL, 0, "" },
	{ __LINE__, B("HTTP/1.1 200 OK\r\ncontent-length:  1 \r\n\r\nxyz"), 1, 0, 200, "x" },
};

START_TEST(http_rows_test)
{
	hookmsg_http_t h;
	char big[HOOKMSG_HEAD_MAX + 64];

	for (size_t i = 0; i < sizeof(http_rows) / sizeof(http_rows[0]); i++) {
		const struct http_row *r = &http_rows[i];
		int rc = hookmsg_http_parse(r->in, r->len, r->eof, &h);

		ck_assert_msg(rc == r->rc, "row at line %d: rc %d", r->line, rc);
		if (rc == 0)
			ck_assert_msg(h.status == r->status && h.body.len == strlen(r->body) &&
					      !memcmp(h.body.ptr, r->body, h.body.len),
				      "row at line %d: %d [%.*s]", r->line, h.status,
				      (int)h.body.len, h.body.ptr);
	}
	/* Headers that never end, past the bound. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "HTTP/1.0 200 OK\r\n", 17);
	ck_assert_int_eq(hookmsg_http_parse(big, sizeof(big), 0, &h), CHAT_ETOOBIG);
}
END_TEST

START_TEST(request_render)
{
	chat_slice_t hdrs[] = { CHAT_SLICE("destination"), CHAT_SLICE("/app/x"), CHAT_SLICE("a"),
				CHAT_SLICE("1"),           CHAT_SLICE("a"),      CHAT_SLICE("2") };
	hookmsg_request_t rq = { "SEND", "bob", "s1", "/app/x", hdrs, 3, CHAT_SLICE("hi \"you\"") };
	chat_buf_t out;

	chat_buf_init(&out, 4096);
	ck_assert_int_eq(hookmsg_request_render(&out, &rq), 0);
	ck_assert_str_eq(out.data,
			 "{\"type\":\"SEND\",\"user\":\"bob\",\"session\":\"s1\","
			 "\"destination\":\"/app/x\",\"headers\":{\"destination\":\"/app/x\","
			 "\"a\":\"1\"},\"body\":\"hi \\\"you\\\"\"}");
	chat_buf_reset(&out);
	rq.body = (chat_slice_t){ "\xff", 1 };
	ck_assert_int_eq(hookmsg_request_render(&out, &rq), CHAT_EUTF8);
	ck_assert_uint_eq(out.len, 0);
	chat_buf_free(&out);
}
END_TEST

START_TEST(answers)
{
	hookmsg_answer_t a;
	chat_error_t e = { 0 };
	static const char ok[] =
		"{\"messages\":[{\"destination\":\"/topic/t\",\"body\":\"x\","
		"\"headers\":{\"content-type\":\"text/plain\",\"other\":1}},"
		"{\"body\":{\"type\":\"ENTER\"}},{\"destination\":null,\"body\":[1]}],\"extra\":{}}";

	hookmsg_answer_init(&a, 16);
	ck_assert_int_eq(hookmsg_answer_parse(ok, strlen(ok), &a, &e), 0);
	ck_assert_uint_eq(a.n, 3);
	ck_assert_int_eq(a.has_error, 0);
	ck_assert_str_eq(a.out[0].dest.data, "/topic/t");
	ck_assert_str_eq(a.out[0].ctype.data, "text/plain");
	ck_assert_str_eq(a.out[0].body.data, "x");
	ck_assert_uint_eq(a.out[1].dest.len, 0);
	ck_assert_str_eq(a.out[1].body.data, "{\"type\":\"ENTER\"}");
	ck_assert_str_eq(a.out[1].ctype.data, "application/json");
	ck_assert_str_eq(a.out[2].body.data, "[1]");

	ck_assert_int_eq(hookmsg_answer_parse(B("{\"error\":\"no \\u00e9\"}"), &a, &e), 0);
	ck_assert_int_eq(a.has_error, 1);
	ck_assert_str_eq(a.error.data, "no \xc3\xa9");
	ck_assert_uint_eq(a.n, 0);

	ck_assert_int_eq(hookmsg_answer_parse(B("{}"), &a, &e), 0);
	ck_assert_uint_eq(a.n + (size_t)a.has_error, 0);

	/* failures leave the answer empty */
	ck_assert_int_eq(hookmsg_answer_parse(B("[]"), &a, &e), CHAT_EINVAL);
	ck_assert_int_eq(hookmsg_answer_parse(B("{\"messages\":{}}"), &a, &e), CHAT_EINVAL);
	ck_assert_int_eq(hookmsg_answer_parse(B("{\"messages\":[{\"destination\":\"/t\"}]}"), &a,
					      &e),
			 CHAT_EINVAL);
	ck_assert_str_eq(e.message, "a message without \"body\"");
	ck_assert_int_eq(hookmsg_answer_parse(B("{\"messages\":[{\"body\":\"x\"},{\"body\":2}]}"),
					      &a, &e),
			 0);
	ck_assert_int_eq(
		hookmsg_answer_parse(
			B("{\"messages\":[{\"body\":\"x\"},{\"body\":\"0123456789abcdefg\"}]}"), &a,
			&e),
		CHAT_ETOOBIG);
	ck_assert_uint_eq(a.n, 0);
	ck_assert_uint_eq(a.out[0].body.len, 0);
	ck_assert_int_eq(hookmsg_answer_parse(B("{\"messages\":[{\"body\":\"x\",\"headers\":[]}]}"),
					      &a, &e),
			 CHAT_EINVAL);
	ck_assert_int_eq(hookmsg_answer_parse(B("{\"error\":5}"), &a, &e), CHAT_EINVAL);
	ck_assert_int_eq(
		hookmsg_answer_parse(
			B("{\"messages\":[{\"body\":1},{\"body\":1},{\"body\":1},"
			  "{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1},"
			  "{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1},{\"body\":1}]}"),
			&a, &e),
		CHAT_ETOOMANY);
	hookmsg_answer_free(&a);
	hookmsg_answer_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hookmsg");
	TCase *tc = tcase_create("hookmsg");

	tcase_add_test(tc, tokenize_rows);
	tcase_add_test(tc, members_and_items);
	tcase_add_test(tc, url_rows_test);
	tcase_add_test(tc, http_rows_test);
	tcase_add_test(tc, request_render);
	tcase_add_test(tc, answers);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
