/* test_sockjs.c - SockJS frames, transport wrapping, payloads, documents.
 * Expected bytes are the ones the SockJS 0.3.3 protocol test suite checks. */
#include "config.h"
#include "sockjs.h"
#include "testutil.h"

#include <string.h>

#define B(s) s, sizeof(s) - 1
#define S(s) ((chat_slice_t){ s, sizeof(s) - 1 })
#define NOSLICE ((chat_slice_t){ "", 0 })

static void check_bytes(int line, const char *what, const char *got, size_t got_len,
			const char *want, size_t want_len)
{
	ck_assert_msg(got_len == want_len && memcmp(got, want, want_len) == 0,
		      "row at line %d: %s: got [%.*s] (%zu bytes), want [%.*s] (%zu bytes)", line,
		      what, (int)got_len, got, got_len, (int)want_len, want, want_len);
}

START_TEST(frames)
{
	chat_buf_t b;
	chat_slice_t msgs[] = { CHAT_SLICE("a"), CHAT_SLICE("\xe2\x80\xa8\""),
				CHAT_SLICE("\xf0\x9f\x98\x80") };

	chat_buf_init(&b, 256);
	ck_assert_int_eq(sockjs_frame_open(&b), 0);
	ck_assert_str_eq(b.data, "o");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_heartbeat(&b), 0);
	ck_assert_str_eq(b.data, "h");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_messages(&b, msgs, 0), 0);
	ck_assert_str_eq(b.data, "a[]");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_messages(&b, msgs, 1), 0);
	ck_assert_str_eq(b.data, "a[\"a\"]");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_messages(&b, msgs, 3), 0);
	ck_assert_str_eq(b.data, "a[\"a\",\"\\u2028\\\"\",\"\\ud83d\\ude00\"]");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_close(&b, SOCKJS_CLOSE_GO_AWAY, S(SOCKJS_REASON_GO_AWAY)), 0);
	ck_assert_str_eq(b.data, "c[3000,\"Go away!\"]");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_close(&b, SOCKJS_CLOSE_ANOTHER, S(SOCKJS_REASON_ANOTHER)), 0);
	ck_assert_str_eq(b.data, "c[2010,\"Another connection still open\"]");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_close(&b, SOCKJS_CLOSE_INTERRUPTED,
					    S(SOCKJS_REASON_INTERRUPTED)),
			 0);
	ck_assert_str_eq(b.data, "c[1002,\"Connection interrupted\"]");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_frame_close(&b, SOCKJS_CLOSE_NORMAL, S(SOCKJS_REASON_NORMAL)), 0);
	ck_assert_str_eq(b.data, "c[1000,\"Normal closure\"]");
	chat_buf_reset(&b);
	/* all or nothing */
	ck_assert_int_eq(chat_buf_puts(&b, "keep"), 0);
	ck_assert_int_eq(sockjs_frame_close(&b, 1, S("\xff")), CHAT_EUTF8);
	ck_assert_int_eq(sockjs_frame_messages(&b, (chat_slice_t[]){ S("\xc0") }, 1), CHAT_EUTF8);
	ck_assert_str_eq(b.data, "keep");
	chat_buf_free(&b);

	chat_buf_init(&b, 5);
	ck_assert_int_eq(sockjs_frame_messages(&b, msgs, 1), CHAT_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(sockjs_frame_close(&b, 3000, S("")), CHAT_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	chat_buf_free(&b);

	ck_assert_str_eq(sockjs_transport_name(SOCKJS_XHR_STREAMING), "xhr_streaming");
	ck_assert_str_eq(sockjs_transport_name(SOCKJS_JSONP_SEND), "jsonp_send");
	ck_assert_str_eq(sockjs_transport_name(SOCKJS_TRANSPORT_COUNT), "");
}
END_TEST

static const struct wrap_row {
	int line;
	sockjs_transport_t t;
	const char *callback;
	const char *frame;
	size_t frame_len;
	int rc;
	const char *out;
	size_t out_len;
} wrap_rows[] = {
	{ __LINE__, SOCKJS_WEBSOCKET, "", B("o"), 0, B("o") },
	{ __LINE__, SOCKJS_WEBSOCKET, "", B("a[\"a\"]"), 0, B("a[\"a\"]") },
	{ __LINE__, SOCKJS_XHR, "", B("o"), 0, B("o\n") },
	{ __LINE__, SOCKJS_XHR, "", B("c[2010,\"Another connection still open\"]"), 0,
	  B("c[2010,\"Another connection still open\"]\n") },
	{ __LINE__, SOCKJS_XHR_STREAMING, "", B("a[\"x\"]"), 0, B("a[\"x\"]\n") },
	{ __LINE__, SOCKJS_EVENTSOURCE, "", B("o"), 0, B("data: o\r\n\r\n") },
	{ __LINE__, SOCKJS_EVENTSOURCE, "", B("a[\"x\"]"), 0, B("data: a[\"x\"]\r\n\r\n") },
	{ __LINE__, SOCKJS_EVENTSOURCE, "", B("a[\"  \\u0000\\n\\r \"]"), 0,
	  B("data: a[\"  \\u0000\\n\\r \"]\r\n\r\n") },
	{ __LINE__, SOCKJS_EVENTSOURCE, "", B("a[\"100%\"]"), 0, B("data: a[\"100%25\"]\r\n\r\n") },
	{ __LINE__, SOCKJS_EVENTSOURCE, "", B("\r\n\0%%"), 0, B("data: %0D%0A%00%25%25\r\n\r\n") },
	{ __LINE__, SOCKJS_HTMLFILE, "", B("o"), 0, B("<script>\np(\"o\");\n</script>\r\n") },
	{ __LINE__, SOCKJS_HTMLFILE, "", B("a[\"x\"]"), 0,
	  B("<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n") },
	{ __LINE__, SOCKJS_HTMLFILE, "", B("a[\"</script><b>&\"]"), 0,
	  B("<script>\np(\"a[\\\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\\"]\");\n</script>\r\n") },
	{ __LINE__, SOCKJS_JSONP, "callback", B("o"), 0, B("/**/callback(\"o\");\r\n") },
	{ __LINE__, SOCKJS_JSONP, "x", B("a[\"x\"]"), 0, B("/**/x(\"a[\\\"x\\\"]\");\r\n") },
	{ __LINE__, SOCKJS_JSONP, "x", B("c[3000,\"Go away!\"]"), 0,
	  B("/**/x(\"c[3000,\\\"Go away!\\\"]\");\r\n") },
	{ __LINE__, SOCKJS_JSONP, "x", B("a[\"abc\",\"%61bc\"]"), 0,
	  B("/**/x(\"a[\\\"abc\\\",\\\"%61bc\\\"]\");\r\n") },
	{ __LINE__, SOCKJS_JSONP, "_jp.a1", B("a[\"\\ud83d\\ude00\"]"), 0,
	  B("/**/_jp.a1(\"a[\\\"\\\\ud83d\\\\ude00\\\"]\");\r\n") },
	{ __LINE__, SOCKJS_XHR_SEND, "", B("o"), CHAT_EINVAL, B("") },
	{ __LINE__, SOCKJS_JSONP_SEND, "", B("o"), CHAT_EINVAL, B("") },
	{ __LINE__, SOCKJS_TRANSPORT_COUNT, "", B("o"), CHAT_EINVAL, B("") },
};

START_TEST(wrap_rows_test)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(wrap_rows); i++) {
		const struct wrap_row *r = &wrap_rows[i];
		chat_slice_t cb = { r->callback, strlen(r->callback) };
		chat_slice_t fr = { r->frame, r->frame_len };
		chat_buf_t b;
		int rc;

		chat_buf_init(&b, 1024);
		chat_buf_puts(&b, "X");
		rc = sockjs_wrap(&b, r->t, cb, fr);
		ck_assert_msg(rc == r->rc, "row at line %d: rc %d, want %d", r->line, rc, r->rc);
		if (rc == 0)
			check_bytes(r->line, "wrap", b.data + 1, b.len - 1, r->out, r->out_len);
		else
			check_bytes(r->line, "rollback", b.data, b.len, "X", 1);
		chat_buf_free(&b);
	}
}
END_TEST

START_TEST(preludes)
{
	static const char head[] =
		"<!doctype html>\n"
		"<html><head>\n"
		"  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
		"  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
		"</head><body><h2>Don't panic!</h2>\n"
		"  <script>\n"
		"    document.domain = document.domain;\n"
		"    var c = parent.callback;\n"
		"    c.start();\n"
		"    function p(d) {c.message(d);};\n"
		"    window.onload = function() {c.stop();};\n"
		"  </script>";
	chat_buf_t b;
	size_t i, end;

	chat_buf_init(&b, 4096);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_XHR_STREAMING, NOSLICE), 0);
	ck_assert_uint_eq(b.len, 2049);
	for (i = 0; i < 2048; i++)
		ck_assert_int_eq(b.data[i], 'h');
	ck_assert_int_eq(b.data[2048], '\n');
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_EVENTSOURCE, NOSLICE), 0);
	ck_assert_str_eq(b.data, "\r\n");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_XHR, NOSLICE), 0);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_JSONP, S("x")), 0);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_WEBSOCKET, NOSLICE), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_HTMLFILE, S("callback")), 0);
	/* the suite: d.strip() == head, len(d) > 1024 */
	ck_assert_uint_gt(b.len, 1024);
	ck_assert_int_eq(memcmp(b.data, head, sizeof(head) - 1), 0);
	ck_assert_int_eq(memcmp(b.data + b.len - 4, "\r\n\r\n", 4), 0);
	end = b.len;
	while (end > 0 && strchr(" \r\n", b.data[end - 1]) != NULL)
		end--;
	ck_assert_uint_eq(end, sizeof(head) - 1);
	chat_buf_free(&b);

	/* all or nothing */
	chat_buf_init(&b, 2048);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_XHR_STREAMING, NOSLICE), CHAT_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_HTMLFILE, S("c")), 0);
	ck_assert_uint_eq(b.len, 1028);
	ck_assert_int_eq(sockjs_prelude(&b, SOCKJS_HTMLFILE, S("c")), CHAT_ETOOBIG);
	ck_assert_uint_eq(b.len, 1028);
	chat_buf_free(&b);
}
END_TEST

#define MAXI 3
struct item {
	const char *s;
	size_t len;
};
#define I(s)                     \
	{                        \
		s, sizeof(s) - 1 \
	}
#define FORM "application/x-www-form-urlencoded"

static const struct send_row {
	int line;
	sockjs_transport_t t;
	const char *ct;
	const char *body;
	size_t body_len;
	int rc;
	const char *err;
	size_t n;
	struct item items[MAXI];
} send_rows[] = {
	/* xhr_send: the body is the array, whatever the content type */
	{ __LINE__, SOCKJS_XHR_SEND, "", B("[\"a\"]"), 0, NULL, 1, { I("a") } },
	{ __LINE__, SOCKJS_XHR_SEND, "text/plain", B("[\"x\"]"), 0, NULL, 1, { I("x") } },
	{ __LINE__, SOCKJS_XHR_SEND, "T", B("[\"a\"]"), 0, NULL, 1, { I("a") } },
	{ __LINE__, SOCKJS_XHR_SEND, "application/json", B("[\"a\"]"), 0, NULL, 1, { I("a") } },
	{ __LINE__, SOCKJS_XHR_SEND, "application/xml", B("[\"a\"]"), 0, NULL, 1, { I("a") } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "application/json; charset=utf-8",
	  B("[\"a\"]"),
	  0,
	  NULL,
	  1,
	  { I("a") } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "text/xml; charset=utf-8",
	  B("[\"a\"]"),
	  0,
	  NULL,
	  1,
	  { I("a") } },
	{ __LINE__, SOCKJS_XHR_SEND, "text/xml", B("[\"a\"]"), 0, NULL, 1, { I("a") } },
	{ __LINE__, SOCKJS_XHR_SEND, FORM, B("[\"a\"]"), 0, NULL, 1, { I("a") } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B("[\"a\",\"b\",\"\"]"),
	  0,
	  NULL,
	  3,
	  { I("a"), I("b"), I("") } },
	{ __LINE__, SOCKJS_XHR_SEND, "", B("[]"), 0, NULL, 0, { { 0 } } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B("[\"x"),
	  CHAT_EINVAL,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	{ __LINE__, SOCKJS_XHR_SEND, "", B(""), CHAT_EINVAL, SOCKJS_ERR_PAYLOAD, 0, { { 0 } } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B(" "),
	  CHAT_EINVAL,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B("{}"),
	  CHAT_EINVAL,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B("[1]"),
	  CHAT_EINVAL,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B("[\"\xff\"]"),
	  CHAT_EUTF8,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	/* jsonp_send: a form's d field, else the raw body */
	{ __LINE__, SOCKJS_JSONP_SEND, FORM, B("d=%5B%22x%22%5D"), 0, NULL, 1, { I("x") } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  FORM,
	  B("d=%5B%22x"),
	  CHAT_EINVAL,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	{ __LINE__, SOCKJS_JSONP_SEND, FORM, B(""), CHAT_EINVAL, SOCKJS_ERR_PAYLOAD, 0, { { 0 } } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  FORM,
	  B("d="),
	  CHAT_EINVAL,
	  SOCKJS_ERR_PAYLOAD,
	  0,
	  { { 0 } } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  FORM,
	  B("p=p"),
	  CHAT_EINVAL,
	  SOCKJS_ERR_PAYLOAD,
	  0,
	  { { 0 } } },
	{ __LINE__, SOCKJS_JSONP_SEND, FORM, B("d=%5B%22b%22%5D"), 0, NULL, 1, { I("b") } },
	{ __LINE__, SOCKJS_JSONP_SEND, FORM, B("d=%5B%22abc%22%5D"), 0, NULL, 1, { I("abc") } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  FORM,
	  B("p=1&d=%5B%22a+b%22,%22%25%22%5D&d=x"),
	  0,
	  NULL,
	  2,
	  { I("a b"), I("%") } },
	{ __LINE__, SOCKJS_JSONP_SEND, FORM, B("d=[\"\\u00e9\"]"), 0, NULL, 1, { I("\xc3\xa9") } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  FORM,
	  B("d=%5B%22%C3%A9%22%5D"),
	  0,
	  NULL,
	  1,
	  { I("\xc3\xa9") } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  FORM,
	  B("d=%5B%22%E9%22%5D"),
	  CHAT_EUTF8,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
	  B("d=%5B%22x%22%5D"),
	  0,
	  NULL,
	  1,
	  { I("x") } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  " " FORM " ;",
	  B("d=%5B%22x%22%5D"),
	  0,
	  NULL,
	  1,
	  { I("x") } },
	{ __LINE__, SOCKJS_JSONP_SEND, "text/plain", B("[\"%61bc\"]"), 0, NULL, 1, { I("%61bc") } },
	{ __LINE__, SOCKJS_JSONP_SEND, "", B("[\"a\"]"), 0, NULL, 1, { I("a") } },
	{ __LINE__, SOCKJS_JSONP_SEND, "", B(""), CHAT_EINVAL, SOCKJS_ERR_PAYLOAD, 0, { { 0 } } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  "text/plain",
	  B("d=%5B%22x%22%5D"),
	  CHAT_EINVAL,
	  SOCKJS_ERR_BROKEN_JSON,
	  0,
	  { { 0 } } },
	/* not a send transport */
	{ __LINE__, SOCKJS_XHR, "", B("[\"a\"]"), CHAT_EINVAL, SOCKJS_ERR_PAYLOAD, 0, { { 0 } } },
	/* over the caps of the test's list: 8 bytes, 3 items */
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B("[\"123456789\"]"),
	  CHAT_ETOOBIG,
	  SOCKJS_ERR_TOO_BIG,
	  0,
	  { { 0 } } },
	{ __LINE__,
	  SOCKJS_XHR_SEND,
	  "",
	  B("[\"\",\"\",\"\",\"\"]"),
	  CHAT_ETOOMANY,
	  SOCKJS_ERR_TOO_MANY,
	  0,
	  { { 0 } } },
	{ __LINE__,
	  SOCKJS_JSONP_SEND,
	  FORM,
	  B("d=%5B%22123456789%22%5D"),
	  CHAT_ETOOBIG,
	  SOCKJS_ERR_TOO_BIG,
	  0,
	  { { 0 } } },
};

START_TEST(send_rows_test)
{
	size_t i, k;

	for (i = 0; i < CHAT_ARRAY_LEN(send_rows); i++) {
		const struct send_row *r = &send_rows[i];
		chat_slice_t ct = { r->ct, strlen(r->ct) };
		const char *err = NULL;
		json_strv_t v;
		int rc;

		json_strv_init(&v, 8, 3);
		json_strv_push(&v, "old", 3);
		rc = sockjs_parse_send(r->t, ct, r->body, r->body_len, &v, &err);
		ck_assert_msg(rc == r->rc, "row at line %d: rc %d (%s), want %d", r->line, rc,
			      chat_strerror(rc), r->rc);
		if (r->err != NULL)
			ck_assert_msg(err != NULL && strcmp(err, r->err) == 0,
				      "row at line %d: error body [%s], want [%s]", r->line,
				      err ? err : "(null)", r->err);
		ck_assert_msg(v.n == r->n, "row at line %d: %zu items, want %zu", r->line, v.n,
			      r->n);
		for (k = 0; k < r->n; k++) {
			chat_slice_t s = json_strv_at(&v, k);

			check_bytes(r->line, "item", s.ptr, s.len, r->items[k].s, r->items[k].len);
		}
		json_strv_free(&v);
	}
}
END_TEST

START_TEST(ws_messages)
{
	json_strv_t v;

	json_strv_init(&v, 64, 4);
	ck_assert_int_eq(sockjs_parse_ws_message("", 0, &v), 0);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_int_eq(sockjs_parse_ws_message(B("[\"a\",\"b\"]"), &v), 0);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_int_eq(sockjs_parse_ws_message(B("\"a\""), &v), 0);
	ck_assert_uint_eq(v.n, 1);
	ck_assert_int_eq(sockjs_parse_ws_message("", 0, &v), 0);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_int_eq(sockjs_parse_ws_message(B("[\"a"), &v), CHAT_EINVAL);
	ck_assert_int_eq(sockjs_parse_ws_message(B(" "), &v), CHAT_EINVAL);
	json_strv_free(&v);
}
END_TEST

static const struct query_row {
	int line;
	const char *query;
	const char *name;
	int rc;
	const char *value;
	size_t value_len;
} query_rows[] = {
	{ __LINE__, "c=callback", "c", 0, B("callback") },
	{ __LINE__, "c=%63allback", "c", 0, B("callback") },
	{ __LINE__, "a=1&c=x", "c", 0, B("x") },
	{ __LINE__, "c=1&c=2", "c", 0, B("1") },
	{ __LINE__, "cc=1&c=2", "c", 0, B("2") },
	{ __LINE__, "&&c=1&", "c", 0, B("1") },
	{ __LINE__, "c", "c", 0, B("") },
	{ __LINE__, "c=", "c", 0, B("") },
	{ __LINE__, "%63=z", "c", 0, B("z") },
	{ __LINE__, "c=a+b%20c", "c", 0, B("a b c") },
	{ __LINE__, "c=a%2", "c", 0, B("a%2") },
	{ __LINE__, "c=a%zz%", "c", 0, B("a%zz%") },
	{ __LINE__, "c=%00%ff", "c", 0, B("\0\xff") },
	{ __LINE__, "c=a=b", "c", 0, B("a=b") },
	{ __LINE__, "callback=y", "c", CHAT_ENOTFOUND, B("") },
	{ __LINE__, "", "c", CHAT_ENOTFOUND, B("") },
	{ __LINE__, "=c", "c", CHAT_ENOTFOUND, B("") },
	{ __LINE__, "c%", "c", CHAT_ENOTFOUND, B("") },
	{ __LINE__, "callback=y", "callback", 0, B("y") },
	{ __LINE__, "d=%5B%22x%22%5D", "d", 0, B("[\"x\"]") },
};

START_TEST(query_rows_test)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(query_rows); i++) {
		const struct query_row *r = &query_rows[i];
		chat_slice_t q = { r->query, strlen(r->query) };
		chat_buf_t b;
		int rc;

		chat_buf_init(&b, 64);
		rc = sockjs_query_param(q, r->name, &b);
		ck_assert_msg(rc == r->rc, "row at line %d: rc %d, want %d", r->line, rc, r->rc);
		check_bytes(r->line, "value", b.data ? b.data : "", b.len, r->value, r->value_len);
		chat_buf_free(&b);
	}
}
END_TEST

static const struct cb_row {
	int line;
	const char *query;
	const char *callback; /* or the error body */
	int rc;
} cb_rows[] = {
	{ __LINE__, "c=%63allback", "callback", 0 },
	{ __LINE__, "c=x", "x", 0 },
	{ __LINE__, "t=1&callback=y", "y", 0 },
	{ __LINE__, "callback=y&c=x", "x", 0 },
	{ __LINE__, "c=_jp.a1b2C3", "_jp.a1b2C3", 0 },
	{ __LINE__, "c=abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345", 0 },
	{ __LINE__, "c=abcdefghijklmnopqrstuvwxyz0123456", SOCKJS_ERR_CALLBACK_INVALID,
	  CHAT_EINVAL },
	{ __LINE__, "", SOCKJS_ERR_CALLBACK_REQUIRED, CHAT_EINVAL },
	{ __LINE__, "t=1", SOCKJS_ERR_CALLBACK_REQUIRED, CHAT_EINVAL },
	{ __LINE__, "c=", SOCKJS_ERR_CALLBACK_REQUIRED, CHAT_EINVAL },
	{ __LINE__, "c=&callback=x", SOCKJS_ERR_CALLBACK_REQUIRED, CHAT_EINVAL },
	{ __LINE__, "c=a-b", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
	{ __LINE__, "c=a(b", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
	{ __LINE__, "c=alert%28%29", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
	{ __LINE__, "c=%3Cscript%3E", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
	{ __LINE__, "c=a+b", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
	{ __LINE__, "c=a%00", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
	{ __LINE__, "c=a:b", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
	{ __LINE__, "c=\xc3\xa9", SOCKJS_ERR_CALLBACK_INVALID, CHAT_EINVAL },
};

START_TEST(callback_rows)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(cb_rows); i++) {
		const struct cb_row *r = &cb_rows[i];
		chat_slice_t q = { r->query, strlen(r->query) };
		const char *err = NULL;
		chat_buf_t b;
		int rc;

		chat_buf_init(&b, 64);
		rc = sockjs_callback(q, &b, &err);
		ck_assert_msg(rc == r->rc, "row at line %d: rc %d, want %d", r->line, rc, r->rc);
		if (rc == 0)
			ck_assert_msg(strcmp(b.data, r->callback) == 0,
				      "row at line %d: callback [%s], want [%s]", r->line, b.data,
				      r->callback);
		else
			ck_assert_msg(err != NULL && strcmp(err, r->callback) == 0 && b.len == 0,
				      "row at line %d: error [%s], want [%s]", r->line,
				      err ? err : "(null)", r->callback);
		chat_buf_free(&b);
	}
}
END_TEST

START_TEST(documents)
{
	static const char page[] =
		"<!DOCTYPE html>\n"
		"<html>\n"
		"<head>\n"
		"  <meta http-equiv=\"X-UA-Compatible\" content=\"IE=edge\" />\n"
		"  <meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n"
		"  <script>\n"
		"    document.domain = document.domain;\n"
		"    _sockjs_onload = function(){SockJS.bootstrap_iframe();};\n"
		"  </script>\n"
		"  <script src=\"/js/sockjs.min.js\"></script>\n"
		"</head>\n"
		"<body>\n"
		"  <h2>Don't panic!</h2>\n"
		"  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>\n"
		"</body>\n"
		"</html>";
	chat_buf_t b, e1, e2;

	chat_buf_init(&b, 4096);
	chat_buf_init(&e1, 64);
	chat_buf_init(&e2, 64);
	ck_assert_int_eq(sockjs_info(&b, 1, 0, 1, 0), 0);
	ck_assert_str_eq(b.data, "{\"websocket\":true,\"origins\":[\"*:*\"],"
				 "\"cookie_needed\":false,\"entropy\":0}");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_info(&b, 0, 1, 1, 4294967295u), 0);
	ck_assert_str_eq(b.data, "{\"websocket\":false,\"origins\":[\"*:*\"],"
				 "\"cookie_needed\":true,\"entropy\":4294967295}");
	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_info(&b, 0, 0, 0, 7), 0);
	ck_assert_str_eq(b.data, "{\"websocket\":false,\"origins\":[\"*:*\"],"
				 "\"cookie_needed\":false,\"entropy\":7,\"streaming\":false}");
	chat_buf_reset(&b);

	ck_assert_int_eq(sockjs_iframe_page(&b, S("/js/sockjs.min.js"), S("")), 0);
	ck_assert_str_eq(b.data, page);
	ck_assert_int_eq(sockjs_etag(&e1, b.data, b.len), 0);
	ck_assert_int_eq(sockjs_etag(&e2, b.data, b.len), 0);
	ck_assert_str_eq(e1.data, e2.data);
	ck_assert_uint_eq(e1.len, 18);
	ck_assert_int_eq(e1.data[0], '"');
	ck_assert_int_eq(e1.data[17], '"');
	/* FNV-1a 64 of "" and "a" (published test vectors) */
	chat_buf_reset(&e2);
	ck_assert_int_eq(sockjs_etag(&e2, "", 0), 0);
	ck_assert_str_eq(e2.data, "\"cbf29ce484222325\"");
	chat_buf_reset(&e2);
	ck_assert_int_eq(sockjs_etag(&e2, "a", 1), 0);
	ck_assert_str_eq(e2.data, "\"af63dc4c8601ec8c\"");

	chat_buf_reset(&b);
	ck_assert_int_eq(sockjs_iframe_page(&b, S("https://cdn.example/s.js?a=1&b=\"<x>'"), S("")),
			 0);
	ck_assert_ptr_nonnull(strstr(
		b.data,
		"<script src=\"https://cdn.example/s.js?a=1&amp;b=&quot;&lt;x&gt;&#39;\"></script>\n"));
	chat_buf_reset(&e2);
	ck_assert_int_eq(sockjs_etag(&e2, b.data, b.len), 0);
	ck_assert_str_ne(e1.data, e2.data);
	chat_buf_free(&b);
	chat_buf_free(&e1);
	chat_buf_free(&e2);

	chat_buf_init(&b, 100);
	ck_assert_int_eq(sockjs_iframe_page(&b, S("/s.js"), S("")), CHAT_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	chat_buf_free(&b);
	ck_assert_str_eq(SOCKJS_GREETING, "Welcome to SockJS!\n");
}
END_TEST

/* With a versions URL the page loads the client of its parent's version. */
START_TEST(iframe_by_version)
{
	chat_buf_t b;

	chat_buf_init(&b, 8192);
	ck_assert_int_eq(sockjs_iframe_page(&b, S("/js/sockjs.min.js"),
					    S("/js/sockjs-{version}.min.js")),
			 0);
	ck_assert_ptr_nonnull(
		strstr(b.data, "_sockjs_onload = function(){SockJS.bootstrap_iframe();};"));
	ck_assert_ptr_nonnull(strstr(
		b.data,
		"var byVersion = \"/js/sockjs-{version}.min.js\", fallback = \"/js/sockjs.min.js\";"));
	ck_assert_ptr_null(strstr(b.data, "<script src"));
	ck_assert_ptr_nonnull(strstr(b.data, "type: 's'"));
	ck_assert_ptr_nonnull(strstr(b.data, "</html>"));
	chat_buf_reset(&b);
	/* Both URLs are JSON strings that cannot end the script element. */
	ck_assert_int_eq(sockjs_iframe_page(&b, S("/a</script>\"b"), S("/v{version}<!--")), 0);
	ck_assert_ptr_nonnull(strstr(b.data, "fallback = \"/a\\u003c/script\\u003e\\\"b\";"));
	ck_assert_ptr_nonnull(strstr(b.data, "byVersion = \"/v{version}\\u003c!--\""));
	ck_assert_ptr_null(strstr(b.data, "</script>\""));
	chat_buf_free(&b);
	chat_buf_init(&b, 200);
	ck_assert_int_eq(sockjs_iframe_page(&b, S("/s.js"), S("/v-{version}.js")), CHAT_ETOOBIG);
	ck_assert_uint_eq(b.len, 0);
	chat_buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sockjs");
	TCase *tc = tcase_create("sockjs");

	tcase_add_test(tc, frames);
	tcase_add_test(tc, wrap_rows_test);
	tcase_add_test(tc, preludes);
	tcase_add_test(tc, send_rows_test);
	tcase_add_test(tc, ws_messages);
	tcase_add_test(tc, query_rows_test);
	tcase_add_test(tc, callback_rows);
	tcase_add_test(tc, documents);
	tcase_add_test(tc, iframe_by_version);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
