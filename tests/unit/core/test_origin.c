/* test_origin.c - the `origins` rule shared by chat.fcgi and chat-ws. */
#include "config.h"
#include "origin.h"
#include "testutil.h"

#include <stddef.h>
#include <string.h>

static const struct {
	int line;
	const char *origin;  /* NULL: no Origin header */
	const char *origins; /* the option */
	int allowed;
} rows[] = {
	{ __LINE__, NULL, "https://a.example", 1 },
	{ __LINE__, "null", "https://a.example", 1 },
	{ __LINE__, "http://evil.example", "*", 1 },
	{ __LINE__, "https://a.example", "https://a.example", 1 },
	{ __LINE__, "HTTPS://A.EXAMPLE", "https://a.example", 1 },
	{ __LINE__, "https://b.example", "https://a.example", 0 },
	{ __LINE__, "https://a.example", "https://a.example:8443", 0 },
	{ __LINE__, "https://a.example:8443", "https://a.example", 0 },
	{ __LINE__, "https://a.exampl", "https://a.example", 0 },
	{ __LINE__, "https://b.example", "https://a.example, https://b.example", 1 },
	{ __LINE__, "https://b.example", "https://a.example,\t https://b.example \t", 1 },
	{ __LINE__, "https://c.example", "https://a.example, https://b.example", 0 },
	{ __LINE__, "https://c.example", "https://a.example, *", 1 },
	{ __LINE__, "https://c.example", "", 0 },
	{ __LINE__, "https://c.example", ",,", 0 },
	{ __LINE__, "", "https://a.example", 0 },
	{ __LINE__, "", "https://a.example,", 0 },
	{ __LINE__, "*", "https://a.example", 0 },
	/* Spring's setAllowedOriginPatterns syntax. */
	{ __LINE__, "https://a.example.com", "https://*.example.com", 1 },
	{ __LINE__, "https://a.b.example.com", "https://*.example.com", 1 },
	{ __LINE__, "https://example.com", "https://*.example.com", 0 },
	{ __LINE__, "http://a.example.com", "https://*.example.com", 0 },
	{ __LINE__, "https://a.example.com:8443", "https://*.example.com", 0 },
	{ __LINE__, "https://a.example.com.evil", "https://*.example.com", 0 },
	{ __LINE__, "http://localhost:8080", "http://localhost:[8080,8081]", 1 },
	{ __LINE__, "http://localhost:8081", "http://localhost:[8080, 8081]", 1 },
	{ __LINE__, "http://localhost:8082", "http://localhost:[8080,8081]", 0 },
	{ __LINE__, "http://localhost", "http://localhost:[8080,8081]", 0 },
	{ __LINE__, "http://localhost:808", "http://localhost:[8080,8081]", 0 },
	{ __LINE__, "http://localhost:3000", "http://localhost:[*]", 1 },
	{ __LINE__, "http://localhost", "http://localhost:[*]", 1 },
	{ __LINE__, "http://localhostx", "http://localhost:[*]", 0 },
	{ __LINE__, "http://localhost:x", "http://localhost:[*]", 0 },
	{ __LINE__, "http://localhost:3000", "http://localhost:*", 1 },
	{ __LINE__, "https://x.example.com:9", "https://*.example.com:[*]", 1 },
	{ __LINE__, "https://a.example/", "https://a.example", 1 },
	{ __LINE__, "https://A.Example.com", "https://*.example.com", 1 },
	{ __LINE__, "https://a.example", "https://b.example, https://*.example", 1 },
	{ __LINE__, "https://a.example", "https://a.example:[", 0 },
	{ __LINE__, "https://a.example", "https://a.example]", 0 },
	{ __LINE__, "/", "https://a.example", 0 },
	{ __LINE__, "https://a.example", "**", 1 },
	/* IPv6 hosts: brackets that hold no port list are part of the host. */
	{ __LINE__, "http://[::1]", "http://[::1]", 1 },
	{ __LINE__, "http://[::1]:8080", "http://[::1]:[8080]", 1 },
	{ __LINE__, "http://[::1]", "http://[::1]:[*]", 1 },
	{ __LINE__, "http://[::2]", "http://[::1]", 0 },
	/* A broken port list is a plain pattern: it matches only itself. */
	{ __LINE__, "http://localhost:8080", "http://localhost:[8080", 0 },
	{ __LINE__, "http://localhost:8080", "http://localhost:[80x]", 0 },
};

START_TEST(table)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(origin_allowed(rows[i].origin, rows[i].origins) == rows[i].allowed,
			      "row at line %d", rows[i].line);
}
END_TEST

static const struct {
	int line;
	const char *origins;
	int rc;
} check_rows[] = {
	{ __LINE__, "*", CHAT_OK },
	{ __LINE__, "", CHAT_OK },
	{ __LINE__, "https://a.example, http://b:8080", CHAT_OK },
	{ __LINE__, "https://*.example.com, http://localhost:[8080, 8081], http://x:[*], *",
	  CHAT_OK },
	{ __LINE__, "http://localhost:*", CHAT_OK },
	{ __LINE__, "a.example", CHAT_EINVAL },
	{ __LINE__, "://a.example", CHAT_EINVAL },
	{ __LINE__, "https://", CHAT_EINVAL },
	{ __LINE__, "https://a b", CHAT_EINVAL },
	{ __LINE__, "http://[::1]:8080, http://[::1], http://[::1]:[*]", CHAT_OK },
	{ __LINE__, "https://a.example\x7f", CHAT_EINVAL },
	{ __LINE__, "http://localhost:[8080", CHAT_EINVAL },
	{ __LINE__, "http://localhost:[]", CHAT_EINVAL },
	{ __LINE__, "http://localhost:[80x]", CHAT_EINVAL },
	{ __LINE__, "http://localhost:[123456]", CHAT_EINVAL },
	{ __LINE__, "http://localhost:[80,]", CHAT_EINVAL },
	{ __LINE__, "http://localhost:[80]x", CHAT_EINVAL },
};

START_TEST(check)
{
	size_t i;

	for (i = 0; i < sizeof(check_rows) / sizeof(check_rows[0]); i++) {
		chat_error_t err = { 0 };
		int rc = origin_check(check_rows[i].origins, &err);

		ck_assert_msg(rc == check_rows[i].rc, "row at line %d: %d", check_rows[i].line, rc);
		if (rc != CHAT_OK)
			ck_assert_msg(strncmp(err.message, "origins: '", 10) == 0, "line %d: %s",
				      check_rows[i].line, err.message);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("origin");
	TCase *tc = tcase_create("origin");

	tcase_add_test(tc, table);
	tcase_add_test(tc, check);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
