/* test_options.c - the option table: defaults, bounds, file text (reading
 * files, the environment and argv: tests/unit/proc/test_optload.c). */
#include "config.h"
#include "options.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(defaults)
{
	chat_options_t c;

	ck_assert_int_eq(options_defaults(&c), CHAT_OK);
	ck_assert_str_eq(c.endpoints, "/chat");
	ck_assert_int_eq(c.heartbeat_ms, 25000);
	ck_assert_int_eq(c.disconnect_delay_ms, 5000);
	ck_assert_int_eq(c.response_limit, 131072);
	ck_assert_int_eq(c.max_frame, 65536);
	ck_assert_int_eq(c.websocket, 1);
	ck_assert_int_eq(c.test_services, 0);
	options_free(&c);
	options_free(&c);
	options_free(NULL);
}
END_TEST

static const struct {
	int line;
	const char *name, *value;
	int rc;
	const char *message;
} set_rows[] = {
	{ __LINE__, "threads", "4", CHAT_OK, NULL },
	{ __LINE__, "threads", "0", CHAT_ETOOBIG, "x: threads: 0 is below the minimum 1" },
	{ __LINE__, "threads", "1025", CHAT_ETOOBIG, "x: threads: 1025 is above the maximum 1024" },
	{ __LINE__, "threads", "4x", CHAT_EINVAL, "x: threads: '4x' is not a whole number" },
	{ __LINE__, "threads", "", CHAT_EINVAL, "x: threads: '' is not a whole number" },
	{ __LINE__, "threads", "99999999999999999999", CHAT_EINVAL, NULL },
	{ __LINE__, "websocket", "off", CHAT_OK, NULL },
	{ __LINE__, "websocket", "maybe", CHAT_EINVAL, NULL },
	{ __LINE__, "endpoints", "/x", CHAT_OK, NULL },
	{ __LINE__, "prefix", "/x", CHAT_OK, NULL },
	{ __LINE__, "app_hook_url", "http://127.0.0.1:8080/hook.php", CHAT_OK, NULL },
	{ __LINE__, "app_hook_url", "", CHAT_OK, NULL },
	{ __LINE__, "app_hook_url", "https://example.com/hook", CHAT_EINVAL,
	  "x: app_hook_url: the hook URL must start with http://" },
	{ __LINE__, "nope", "1", CHAT_ENOTFOUND, "x: unknown option 'nope' (see --help)" },
};

START_TEST(set)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(set_rows); i++) {
		chat_options_t c;
		chat_error_t err = { 0 };
		int rc;

		ck_assert_int_eq(options_defaults(&c), CHAT_OK);
		rc = options_set(&c, set_rows[i].name, set_rows[i].value, "x", &err);
		ck_assert_msg(rc == set_rows[i].rc, "line %d: rc %d", set_rows[i].line, rc);
		if (set_rows[i].message != NULL)
			ck_assert_msg(!strcmp(err.message, set_rows[i].message), "line %d: '%s'",
				      set_rows[i].line, err.message);
		options_free(&c);
	}
}
END_TEST

/* The list options, as options_check() (and so options_load()) takes them. */
static const struct {
	int line;
	const char *app, *broker, *user, *endpoints;
	int rc;
	const char *message; /* NULL: not compared */
} check_rows[] = {
	{ __LINE__, "/app", "/topic,/queue", "/user", "/chat", CHAT_OK, NULL },
	{ __LINE__, "/pub", "/sub", "/user", "/stomp/chat", CHAT_OK, NULL },
	{ __LINE__, "/test", " /topic , /queue ", "/user", "/example", CHAT_OK, NULL },
	{ __LINE__, "/app/", "/topic/", "/user/", "/ws/chat/, /chat", CHAT_OK, NULL },
	{ __LINE__, " /app ,", "/topic", " /me \t", " /chat ", CHAT_OK, NULL },
	{ __LINE__, "", "/topic", "/user", "/chat", CHAT_EINVAL,
	  "app_prefixes: needs at least one prefix" },
	{ __LINE__, "/app", "/queue", "/user", "/chat", CHAT_EINVAL, NULL },
	{ __LINE__, "/app", "/topic,/app", "/user", "/chat", CHAT_EINVAL,
	  "broker_prefixes: '/app' is given twice (each prefix has one role)" },
	{ __LINE__, "/app", "/topic", "/topic", "/chat", CHAT_EINVAL, NULL },
	{ __LINE__, "/app", "/topic", "/u,/v", "/chat", CHAT_EINVAL, NULL },
	{ __LINE__, "app", "/topic", "/user", "/chat", CHAT_EINVAL, NULL },
	{ __LINE__, "/a*", "/topic", "/user", "/chat", CHAT_EINVAL, NULL },
	{ __LINE__, "/a//b", "/topic", "/user", "/chat", CHAT_EINVAL, NULL },
	{ __LINE__, "/1,/2,/3,/4,/5,/6,/7,/8,/9", "/topic", "/user", "/chat", CHAT_ETOOBIG,
	  "app_prefixes: more than 8 prefixes" },
	{ __LINE__, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/topic",
	  "/user", "/chat", CHAT_ETOOBIG, NULL },
	{ __LINE__, "/app", "/topic", "/user", "", CHAT_EINVAL,
	  "endpoints: needs at least one path, like /chat" },
	{ __LINE__, "/app", "/topic", "/user", "/", CHAT_EINVAL, NULL },
	{ __LINE__, "/app", "/topic", "/user", "/api", CHAT_EINVAL, NULL },
	{ __LINE__, "/app", "/topic", "/user", "/chat,/chat/", CHAT_EINVAL,
	  "endpoints: '/chat' is given twice" },
	{ __LINE__, "/app", "/topic", "/user", "/a b", CHAT_EINVAL, NULL },
	{ __LINE__, "/app", "/topic", "/user", "/a/../b", CHAT_EINVAL, NULL },
	{ __LINE__, "/app", "/topic", "/user", "/a?x", CHAT_EINVAL, NULL },
	{ __LINE__, "/app", "/topic", "/user", "/a,/b,/c,/d,/e", CHAT_ETOOBIG, NULL },
};

START_TEST(check_lists)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(check_rows); i++) {
		chat_options_t c;
		chat_error_t err = { 0 };
		int rc;

		ck_assert_int_eq(options_defaults(&c), CHAT_OK);
		ck_assert_int_eq(options_set(&c, "app_prefixes", check_rows[i].app, "x", NULL),
				 CHAT_OK);
		ck_assert_int_eq(options_set(&c, "broker_prefixes", check_rows[i].broker, "x",
					     NULL),
				 CHAT_OK);
		ck_assert_int_eq(options_set(&c, "user_prefix", check_rows[i].user, "x", NULL),
				 CHAT_OK);
		ck_assert_int_eq(options_set(&c, "endpoints", check_rows[i].endpoints, "x", NULL),
				 CHAT_OK);
		rc = options_check(&c, &err);
		ck_assert_msg(rc == check_rows[i].rc, "line %d: rc %d (%s)", check_rows[i].line, rc,
			      err.message);
		if (check_rows[i].message != NULL)
			ck_assert_msg(!strcmp(err.message, check_rows[i].message), "line %d: '%s'",
				      check_rows[i].line, err.message);
		options_free(&c);
	}
}
END_TEST

START_TEST(check_fills_derived)
{
	chat_options_t c;

	ck_assert_int_eq(options_defaults(&c), CHAT_OK);
	ck_assert_int_eq(c.nendpoints, 1);
	ck_assert_str_eq(c.endpoint[0], "/chat");
	ck_assert_str_eq(c.dest.app[0], "/app");
	ck_assert_int_eq(options_set(&c, "endpoints", " /ws/chat/ ,/chat", "x", NULL), CHAT_OK);
	ck_assert_int_eq(options_set(&c, "broker_prefixes", "/queue, /sub", "x", NULL), CHAT_OK);
	ck_assert_int_eq(options_check(&c, NULL), CHAT_OK);
	ck_assert_int_eq(c.nendpoints, 2);
	ck_assert_str_eq(c.endpoint[0], "/ws/chat");
	ck_assert_str_eq(c.endpoint[1], "/chat");
	ck_assert_int_eq(c.dest.nbroker, 2);
	ck_assert_int_eq(c.dest.broker_kind[0], DEST_QUEUE);
	ck_assert_int_eq(c.dest.broker_kind[1], DEST_TOPIC);
	ck_assert_int_eq(c.dest.topic, 1);
	ck_assert_int_eq(c.dest.queue, 0);
	options_free(&c);
}
END_TEST

START_TEST(parse_file_text)
{
	static const char text[] =
		"# a comment\n\n  threads = 3\r\nendpoints=\"/room chat\"\nwebsocket = no\n";
	chat_options_t c;

	ck_assert_int_eq(options_defaults(&c), CHAT_OK);
	ck_assert_int_eq(options_parse(&c, text, sizeof(text) - 1, "t.conf", NULL), CHAT_OK);
	ck_assert_int_eq(c.threads, 3);
	ck_assert_str_eq(c.endpoints, "/room chat");
	ck_assert_int_eq(c.websocket, 0);
	options_free(&c);
}
END_TEST

static const struct {
	int line;
	const char *text;
	int rc;
	const char *message;
} parse_rows[] = {
	{ __LINE__, "threads = 2\nbogus line\n", CHAT_EINVAL, "f.conf:2: expected 'name = value'" },
	{ __LINE__, "\n\n\nthreads = 0", CHAT_ETOOBIG,
	  "f.conf:4: threads: 0 is below the minimum 1" },
	{ __LINE__, "endpoints = \"/x", CHAT_EINVAL, "f.conf:1: unterminated quoted value" },
	{ __LINE__, "endpoints = \"", CHAT_EINVAL, "f.conf:1: unterminated quoted value" },
	{ __LINE__, "who = 1", CHAT_ENOTFOUND, "f.conf:1: unknown option 'who' (see --help)" },
	{ __LINE__, "", CHAT_OK, NULL },
};

START_TEST(parse_errors_name_file_and_line)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(parse_rows); i++) {
		chat_options_t c;
		chat_error_t err = { 0 };
		int rc;

		ck_assert_int_eq(options_defaults(&c), CHAT_OK);
		rc = options_parse(&c, parse_rows[i].text, strlen(parse_rows[i].text), "f.conf",
				   &err);
		ck_assert_msg(rc == parse_rows[i].rc, "line %d: rc %d", parse_rows[i].line, rc);
		if (parse_rows[i].message != NULL)
			ck_assert_msg(!strcmp(err.message, parse_rows[i].message), "line %d: '%s'",
				      parse_rows[i].line, err.message);
		options_free(&c);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, set);
	tcase_add_test(tc, check_lists);
	tcase_add_test(tc, check_fills_derived);
	tcase_add_test(tc, parse_file_text);
	tcase_add_test(tc, parse_errors_name_file_and_line);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
