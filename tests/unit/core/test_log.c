/* test_log.c - how log lines name a session (log_sid), and the line
 * formatter: text key=value and JSON, escaping, cutting long lines. */
#include "config.h"
#include "logline.h"
#include "chat.h"
#include "testutil.h"

#include <stddef.h>
#include <string.h>

static const struct {
	int line;
	const char *key; /* NULL: none */
	const char *tag;
} rows[] = {
	{ __LINE__, "c:abcdefgh", "c:#76daaa8d" },
	{ __LINE__, "abcdefgh", "#76daaa8d" },    /* no service tag */
	{ __LINE__, "0:", "0:#811c9dc5" },        /* an empty id */
	{ __LINE__, "xy:abcdefgh", "#2850d788" }, /* no one-character tag: all hashed */
	{ __LINE__, NULL, "-" },
};

START_TEST(table)
{
	char out[LOG_SID_LEN];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ck_assert_msg(log_sid(out, rows[i].key) == out, "row at line %d", rows[i].line);
		ck_assert_msg(!strcmp(out, rows[i].tag), "row at line %d: %s", rows[i].line, out);
	}
	/* The macro's buffer lives through the call it is an argument of. */
	ck_assert_str_eq(LOG_SID("c:abcdefgh"), "c:#76daaa8d");
}
END_TEST

/* 2026-01-02T03:04:05.678Z */
#define T 1767323045678LL

/* Rows: message, one field's value -> the text line, the JSON line. */
static const struct {
	int line;
	const char *msg, *value;
	const char *text, *json;
} lines[] = {
	{ __LINE__, "plain", "alice",
	  "2026-01-02T03:04:05.678Z chat.fcgi[42] level=warn msg=plain user=alice\n",
	  "{\"time\":\"2026-01-02T03:04:05.678Z\",\"prog\":\"chat.fcgi\",\"pid\":42,\"level\":\"warn\",\"msg\":\"plain\",\"user\":\"alice\"}\n" },
	{ __LINE__, "two words", "a b",
	  "2026-01-02T03:04:05.678Z chat.fcgi[42] level=warn msg=\"two words\" user=\"a b\"\n",
	  "{\"time\":\"2026-01-02T03:04:05.678Z\",\"prog\":\"chat.fcgi\",\"pid\":42,\"level\":\"warn\",\"msg\":\"two words\",\"user\":\"a b\"}\n" },
	{ __LINE__, "say \"hi\"", "x=1",
	  "2026-01-02T03:04:05.678Z chat.fcgi[42] level=warn msg=\"say \\\"hi\\\"\" user=\"x=1\"\n",
	  "{\"time\":\"2026-01-02T03:04:05.678Z\",\"prog\":\"chat.fcgi\",\"pid\":42,\"level\":\"warn\",\"msg\":\"say \\\"hi\\\"\",\"user\":\"x=1\"}\n" },
	/* A newline cannot start a forged line. */
	{ __LINE__, "a\nlevel=error msg=forged", "back\\slash\ttab\r",
	  "2026-01-02T03:04:05.678Z chat.fcgi[42] level=warn msg=\"a\\nlevel=error msg=forged\" user=\"back\\\\slash\\ttab\\r\"\n",
	  "{\"time\":\"2026-01-02T03:04:05.678Z\",\"prog\":\"chat.fcgi\",\"pid\":42,\"level\":\"warn\",\"msg\":\"a\\nlevel=error msg=forged\",\"user\":\"back\\\\slash\\ttab\\r\"}\n" },
	/* Other control bytes; UTF-8 as it is, invalid UTF-8 as U+FFFD in JSON. */
	{ __LINE__, "bell\a del\x7f", "\xea\xb9\x80 \xff",
	  "2026-01-02T03:04:05.678Z chat.fcgi[42] level=warn msg=\"bell\\x07 del\\x7f\" user=\"\xea\xb9\x80 \xff\"\n",
	  "{\"time\":\"2026-01-02T03:04:05.678Z\",\"prog\":\"chat.fcgi\",\"pid\":42,\"level\":\"warn\",\"msg\":\"bell\\u0007 del\\u007f\",\"user\":\"\xea\xb9\x80 \xef\xbf\xbd\"}\n" },
	/* An empty value is quoted; a NULL one is left out. */
	{ __LINE__, "", NULL, "2026-01-02T03:04:05.678Z chat.fcgi[42] level=warn msg=\"\"\n",
	  "{\"time\":\"2026-01-02T03:04:05.678Z\",\"prog\":\"chat.fcgi\",\"pid\":42,\"level\":\"warn\",\"msg\":\"\"}\n" },
};

START_TEST(formats)
{
	char out[LOG_LINE_MAX];
	size_t i, n;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		log_field_t f = { "user", lines[i].value };
		log_event_t ev = {
			LOG_FORMAT_TEXT, T, "chat.fcgi", 42, LOG_LEVEL_WARN, lines[i].msg, &f, 1
		};

		n = log_format_line(out, sizeof(out), &ev);
		ck_assert_msg(n == strlen(out) && !strcmp(out, lines[i].text),
			      "text row at line %d: %s", lines[i].line, out);
		ev.format = LOG_FORMAT_JSON;
		n = log_format_line(out, sizeof(out), &ev);
		ck_assert_msg(n == strlen(out) && !strcmp(out, lines[i].json),
			      "json row at line %d: %s", lines[i].line, out);
	}
}
END_TEST

/* A message longer than the line is cut inside its value, which is still
 * closed: one line, a quote before the newline, "}" in JSON; later fields
 * are left out. */
START_TEST(long_lines_are_cut_whole)
{
	static char msg[3 * LOG_LINE_MAX];
	char out[256];
	size_t i, n;

	for (i = 0; i + 1 < sizeof(msg); i++)
		msg[i] = i % 7 == 0 ? '"' : 'x';
	for (int json = 0; json < 2; json++) {
		log_field_t f = { "user", "alice" };
		log_event_t ev = { json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT,
				   T,
				   "chat-ws",
				   7,
				   LOG_LEVEL_INFO,
				   msg,
				   &f,
				   1 };

		for (size_t cap = 128; cap <= sizeof(out); cap += 13) {
			n = log_format_line(out, cap, &ev);
			ck_assert_uint_lt(n, cap);
			ck_assert_uint_eq(n, strlen(out));
			ck_assert_ptr_eq(strchr(out, '\n'), out + n - 1);
			ck_assert_ptr_null(strstr(out, "alice"));
			ck_assert_str_eq(out + n - (json ? 3 : 2), json ? "\"}\n" : "\"\n");
			/* The cut never splits an escape: the quote closing the
			 * value is not itself escaped. */
			ck_assert_int_ne(out[n - (json ? 4 : 3)], '\\');
		}
	}
}
END_TEST

START_TEST(format_names)
{
	log_format_t f = LOG_FORMAT_TEXT;

	ck_assert_int_eq(log_format_from_name("json", &f), CHAT_OK);
	ck_assert_int_eq(f, LOG_FORMAT_JSON);
	ck_assert_int_eq(log_format_from_name("text", &f), CHAT_OK);
	ck_assert_int_eq(f, LOG_FORMAT_TEXT);
	ck_assert_int_eq(log_format_from_name("xml", &f), CHAT_EINVAL);
	ck_assert_int_eq(log_format_from_name(NULL, &f), CHAT_EINVAL);
	ck_assert_int_eq(f, LOG_FORMAT_TEXT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, table);
	tcase_add_test(tc, formats);
	tcase_add_test(tc, long_lines_are_cut_whole);
	tcase_add_test(tc, format_names);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
