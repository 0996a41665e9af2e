/* test_route.c - SockJS URL routing; the paths are the SockJS 0.3.3
 * protocol test suite's (greeting, iframe, session URL tests). */
#include "config.h"
#include "route.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static const char *const prefixes[] = { "/echo", "/close", "/a/b/c/d/echo", "/echo/deep" };

#define NF CHAT_ENOTFOUND
#define NOP ROUTE_NO_PREFIX
#define X 0 /* unused field */

static const struct row {
	int line;
	const char *path;
	int rc;
	size_t prefix;
	route_kind_t kind;
	sockjs_transport_t transport;
	const char *server;
	const char *session;
	const char *query;
} rows[] = {
	/* greeting */
	{ __LINE__, "/echo", 0, 0, ROUTE_GREETING, X, "", "", "" },
	{ __LINE__, "/echo/", 0, 0, ROUTE_GREETING, X, "", "", "" },
	{ __LINE__, "/echo?x=1", 0, 0, ROUTE_GREETING, X, "", "", "x=1" },
	{ __LINE__, "/echo/?", 0, 0, ROUTE_GREETING, X, "", "", "" },
	{ __LINE__, "/echo/a", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a.html", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo//", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo///", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/", NF, 0, X, X, "", "", "" },
	/* info */
	{ __LINE__, "/echo/info", 0, 0, ROUTE_INFO, X, "", "", "" },
	{ __LINE__, "/echo/info/", 0, 0, ROUTE_INFO, X, "", "", "" },
	{ __LINE__, "/echo/info?t=1", 0, 0, ROUTE_INFO, X, "", "", "t=1" },
	{ __LINE__, "/echo/INFO", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/info//", NF, 0, X, X, "", "", "" },
	/* iframe */
	{ __LINE__, "/echo/iframe.html", 0, 0, ROUTE_IFRAME, X, "", "", "" },
	{ __LINE__, "/echo/iframe-a.html", 0, 0, ROUTE_IFRAME, X, "", "", "" },
	{ __LINE__, "/echo/iframe-.html", 0, 0, ROUTE_IFRAME, X, "", "", "" },
	{ __LINE__, "/echo/iframe-0.1.2.html", 0, 0, ROUTE_IFRAME, X, "", "", "" },
	{ __LINE__, "/echo/iframe-0.1.2abc-dirty.2144.html", 0, 0, ROUTE_IFRAME, X, "", "", "" },
	{ __LINE__, "/echo/iframe-a.html?t=1234", 0, 0, ROUTE_IFRAME, X, "", "", "t=1234" },
	{ __LINE__, "/echo/iframe-0.1.2.html?t=123414", 0, 0, ROUTE_IFRAME, X, "", "", "t=123414" },
	{ __LINE__, "/echo/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123", 0, 0, ROUTE_IFRAME, X, "",
	  "", "t=qweqweq123" },
	{ __LINE__, "/echo/iframe.htm", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/iframe", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/IFRAME.HTML", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/IFRAME", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/iframe.HTML", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/iframe.xml", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/iframe-/.html", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/iframeXhtml", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/iframe-A.html", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/.html", NF, 0, X, X, "", "", "" },
	/* raw websocket */
	{ __LINE__, "/echo/websocket", 0, 0, ROUTE_RAW_WEBSOCKET, X, "", "", "" },
	{ __LINE__, "/echo/websocket/", 0, 0, ROUTE_RAW_WEBSOCKET, X, "", "", "" },
	/* sessions */
	{ __LINE__, "/echo/000/abc/xhr", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "000", "abc", "" },
	{ __LINE__, "/echo/000/abc/xhr/", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "000", "abc", "" },
	{ __LINE__, "/echo/a/a/xhr", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "a", "a", "" },
	{ __LINE__, "/echo/_/_/xhr", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "_", "_", "" },
	{ __LINE__, "/echo/1/1/xhr", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "1", "1", "" },
	{ __LINE__, "/echo/abcdefgh_i-j%20/abcdefg_i-j%20/xhr", 0, 0, ROUTE_SESSION, SOCKJS_XHR,
	  "abcdefgh_i-j%20", "abcdefg_i-j%20", "" },
	{ __LINE__, "/echo/999/3f1e6a1c-56a4-4f6b-9d2c-0c1b4c5e9a77/xhr_send", 0, 0, ROUTE_SESSION,
	  SOCKJS_XHR_SEND, "999", "3f1e6a1c-56a4-4f6b-9d2c-0c1b4c5e9a77", "" },
	{ __LINE__, "/echo/0/0/websocket", 0, 0, ROUTE_SESSION, SOCKJS_WEBSOCKET, "0", "0", "" },
	{ __LINE__, "/echo/abc/abc/xhr_streaming", 0, 0, ROUTE_SESSION, SOCKJS_XHR_STREAMING, "abc",
	  "abc", "" },
	{ __LINE__, "/echo/s/i/eventsource", 0, 0, ROUTE_SESSION, SOCKJS_EVENTSOURCE, "s", "i",
	  "" },
	{ __LINE__, "/echo/s/i/htmlfile?c=%63allback", 0, 0, ROUTE_SESSION, SOCKJS_HTMLFILE, "s",
	  "i", "c=%63allback" },
	{ __LINE__, "/echo/s/i/jsonp?c=x", 0, 0, ROUTE_SESSION, SOCKJS_JSONP, "s", "i", "c=x" },
	{ __LINE__, "/echo/s/i/jsonp_send", 0, 0, ROUTE_SESSION, SOCKJS_JSONP_SEND, "s", "i", "" },
	{ __LINE__, "/echo/info/websocket/xhr", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "info",
	  "websocket", "" },
	{ __LINE__, "/echo/s/i/xhr?a/b.c", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "s", "i", "a/b.c" },
	/* ... but not empty ids, ids with dots, or other shapes */
	{ __LINE__, "/echo///xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a./a/xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a./xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/././xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo//xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo////xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a//xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo//a/xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/xhr_foo", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/XHR", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/chunking_test", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/xhr/x", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/xhr//", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/x/a/a/xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a b/a/xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/\x7f/xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/\xc3\xa9/xhr", NF, 0, X, X, "", "", "" },
	{ __LINE__, "/echo/a/a/xhr.", NF, 0, X, X, "", "", "" },
	/* prefixes: whole segments, longest wins */
	{ __LINE__, "/close/000/x/xhr", 0, 1, ROUTE_SESSION, SOCKJS_XHR, "000", "x", "" },
	{ __LINE__, "/a/b/c/d/echo/info", 0, 2, ROUTE_INFO, X, "", "", "" },
	{ __LINE__, "/echo/deep", 0, 3, ROUTE_GREETING, X, "", "", "" },
	{ __LINE__, "/echo/deep/info", 0, 3, ROUTE_INFO, X, "", "", "" },
	{ __LINE__, "/echo/deeper/x/xhr", 0, 0, ROUTE_SESSION, SOCKJS_XHR, "deeper", "x", "" },
	{ __LINE__, "/echoes", NF, NOP, X, X, "", "", "" },
	{ __LINE__, "/echoes/info", NF, NOP, X, X, "", "", "" },
	{ __LINE__, "/ECHO/info", NF, NOP, X, X, "", "", "" },
	{ __LINE__, "/other/info", NF, NOP, X, X, "", "", "" },
	{ __LINE__, "/", NF, NOP, X, X, "", "", "" },
	{ __LINE__, "", NF, NOP, X, X, "", "", "" },
	{ __LINE__, "?/echo", NF, NOP, X, X, "", "", "" },
	{ __LINE__, "echo/info", NF, NOP, X, X, "", "", "" },
};

static void check_slice(int line, const char *what, chat_slice_t got, const char *want)
{
	ck_assert_msg(chat_slice_eq(got, want), "row at line %d: %s [%.*s], want [%s]", line, what,
		      (int)got.len, got.ptr, want);
}

START_TEST(route_rows)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++) {
		const struct row *w = &rows[i];
		route_t r;
		int rc;

		rc = route_parse(prefixes, CHAT_ARRAY_LEN(prefixes), w->path, strlen(w->path), &r);
		ck_assert_msg(rc == w->rc, "row at line %d: rc %d, want %d", w->line, rc, w->rc);
		ck_assert_msg(r.prefix == w->prefix, "row at line %d: prefix %zu, want %zu",
			      w->line, r.prefix, w->prefix);
		if (rc != 0)
			continue;
		ck_assert_msg(r.kind == w->kind, "row at line %d: kind %d, want %d", w->line,
			      r.kind, w->kind);
		if (r.kind == ROUTE_SESSION)
			ck_assert_msg(r.transport == w->transport,
				      "row at line %d: transport %d, want %d", w->line, r.transport,
				      w->transport);
		check_slice(w->line, "server", r.server_id, w->server);
		check_slice(w->line, "session", r.session_id, w->session);
		check_slice(w->line, "query", r.query, w->query);
		ck_assert_msg(r.path.ptr == w->path &&
				      r.path.len + (strchr(w->path, '?') ? 1 + r.query.len : 0) ==
					      strlen(w->path),
			      "row at line %d: path slice", w->line);
	}
}
END_TEST

START_TEST(id_length_and_root_prefix)
{
	static const char *const root[] = { "" };
	char path[512];
	route_t r;
	int n;

	/* ids up to ROUTE_ID_MAX bytes */
	n = snprintf(path, sizeof(path), "/echo/%0*d/s/xhr", ROUTE_ID_MAX, 0);
	ck_assert_int_eq(route_parse(prefixes, 1, path, (size_t)n, &r), 0);
	ck_assert_uint_eq(r.server_id.len, ROUTE_ID_MAX);
	n = snprintf(path, sizeof(path), "/echo/s/%0*d/xhr", ROUTE_ID_MAX + 1, 0);
	ck_assert_int_eq(route_parse(prefixes, 1, path, (size_t)n, &r), CHAT_ENOTFOUND);
	ck_assert_uint_eq(r.prefix, 0);

	/* the empty prefix serves SockJS at the root */
	ck_assert_int_eq(route_parse(root, 1, "/", 1, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_GREETING);
	ck_assert_int_eq(route_parse(root, 1, "", 0, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_GREETING);
	ck_assert_int_eq(route_parse(root, 1, NULL, 0, &r), 0);
	ck_assert_int_eq(route_parse(root, 1, "/info", 5, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_INFO);
	ck_assert_int_eq(route_parse(root, 1, "/0/0/xhr", 8, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_SESSION);
	ck_assert_int_eq(route_parse(root, 1, "x/info", 6, &r), CHAT_ENOTFOUND);
	ck_assert_uint_eq(r.prefix, ROUTE_NO_PREFIX);

	/* no prefixes: nothing is ours */
	ck_assert_int_eq(route_parse(NULL, 0, "/echo", 5, &r), CHAT_ENOTFOUND);
	ck_assert_uint_eq(r.prefix, ROUTE_NO_PREFIX);
	/* only the length counts, not a NUL */
	ck_assert_int_eq(route_parse(prefixes, 1, "/echo/infoXYZ", 10, &r), 0);
	ck_assert_int_eq(r.kind, ROUTE_INFO);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("route");

	tcase_add_test(tc, route_rows);
	tcase_add_test(tc, id_length_and_root_prefix);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
