/* test_origin.c - the `origins` rule shared by chat.fcgi and chat-ws. */
#include "config.h"
#include "origin.h"
#include "testutil.h"

#include <stddef.h>

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
};

START_TEST(table)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(origin_allowed(rows[i].origin, rows[i].origins) == rows[i].allowed,
			      "row at line %d", rows[i].line);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("origin");
	TCase *tc = tcase_create("origin");

	tcase_add_test(tc, table);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
