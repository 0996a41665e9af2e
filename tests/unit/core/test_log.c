/* test_log.c - how log lines name a session (log_sid). */
#include "config.h"
#include "log.h"
#include "testutil.h"

#include <stddef.h>
#include <string.h>

static const struct {
	int line;
	const char *key; /* NULL: none */
	const char *tag;
} rows[] = {
	{ __LINE__, "c:abcdefgh", "c:#76daaa8d" },
	{ __LINE__, "abcdefgh", "#76daaa8d" },   /* no service tag */
	{ __LINE__, "0:", "0:#811c9dc5" },       /* an empty id */
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

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, table);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
