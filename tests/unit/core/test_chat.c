/* test_chat.c - the helpers every module shares: comma lists and globs. */
#include "config.h"
#include "chat.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static const struct {
	int line;
	const char *text;
	const char *items; /* the items joined with '|' */
} list_rows[] = {
	{ __LINE__, "", "" },
	{ __LINE__, "a", "a" },
	{ __LINE__, "a,b", "a|b" },
	{ __LINE__, " a , b ", "a|b" },
	{ __LINE__, "\ta\t,\t", "a" },
	{ __LINE__, ",,a,,", "a" },
	{ __LINE__, " , ", "" },
	{ __LINE__, "x:[1,2], y", "x:[1,2]|y" },
	{ __LINE__, "x:[1,[2]],y", "x:[1,[2]]|y" },
	{ __LINE__, "x]y,z", "x]y|z" },
	{ __LINE__, "x:[1,2", "x:[1,2" },
	{ __LINE__, "a b, c", "a b|c" },
};

START_TEST(list_next)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(list_rows); i++) {
		const char *s = list_rows[i].text;
		char got[256] = "";
		chat_slice_t item;
		size_t n = 0;

		while (chat_list_next(&s, &item)) {
			n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%.*s", n ? "|" : "",
					      (int)item.len, item.ptr);
			ck_assert_msg(item.len > 0, "line %d: an empty item", list_rows[i].line);
		}
		ck_assert_msg(*s == '\0', "line %d: not at the end", list_rows[i].line);
		ck_assert_msg(!strcmp(got, list_rows[i].items), "line %d: '%s'", list_rows[i].line,
			      got);
		ck_assert_int_eq(chat_list_next(&s, &item), 0);
	}
}
END_TEST

static const struct {
	int line;
	const char *p, *s;
	int flags, match;
} glob_rows[] = {
	{ __LINE__, "", "", 0, 1 },
	{ __LINE__, "", "a", 0, 0 },
	{ __LINE__, "*", "", 0, 1 },
	{ __LINE__, "*", "anything", 0, 1 },
	{ __LINE__, "a*c", "abbbc", 0, 1 },
	{ __LINE__, "a*c", "abbb", 0, 0 },
	{ __LINE__, "*.example.com", "a.b.example.com", 0, 1 },
	{ __LINE__, "*.example.com", "example.com", 0, 0 },
	{ __LINE__, "a?c", "abc", 0, 0 },
	{ __LINE__, "a?c", "abc", CHAT_GLOB_QMARK, 1 },
	{ __LINE__, "a?c", "a?c", 0, 1 },
	{ __LINE__, "ABC", "abc", 0, 0 },
	{ __LINE__, "ABC", "abc", CHAT_GLOB_NOCASE, 1 },
	{ __LINE__, "*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0 },
};

START_TEST(glob)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(glob_rows); i++)
		ck_assert_msg(chat_glob(glob_rows[i].p, strlen(glob_rows[i].p), glob_rows[i].s,
					strlen(glob_rows[i].s),
					glob_rows[i].flags) == glob_rows[i].match,
			      "line %d", glob_rows[i].line);
}
END_TEST

/* chat_addr_loopback(): loopback in each spelling, and what only looks
 * like it. */
START_TEST(addr_loopback)
{
	static const struct {
		const char *addr;
		int want;
	} rows[] = {
		{ "127.0.0.1", 1 },
		{ "127.1.2.3", 1 },
		{ "::1", 1 },
		{ "::ffff:127.0.0.1", 1 },
		{ "10.0.0.1", 0 },
		{ "1127.0.0.1", 0 },
		{ "::ffff:10.0.0.1", 0 },
		{ "::11", 0 },
		{ "", 0 },
		{ NULL, 0 },
	};
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(rows); i++)
		ck_assert_msg(chat_addr_loopback(rows[i].addr) == rows[i].want, "row %zu", i);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chat");
	TCase *tc = tcase_create("chat");

	tcase_add_test(tc, list_next);
	tcase_add_test(tc, glob);
	tcase_add_test(tc, addr_loopback);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
