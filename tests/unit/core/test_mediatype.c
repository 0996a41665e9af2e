/* test_mediatype.c - the media-type check (a table of content-type
 * values, a NUL inside, the length bound and one past it) and the
 * comparison with a given media type (a table). */
#include "config.h"
#include "mediatype.h"
#include "testutil.h"

#include <string.h>

START_TEST(valid)
{
	static const struct {
		int line;
		const char *v;
		int ok;
	} mt[] = {
		{ __LINE__, "text/plain", 1 },
		{ __LINE__, "application/json", 1 },
		{ __LINE__, "text/plain;charset=utf-8", 1 },
		{ __LINE__, "text/plain; charset=\"utf-8\" ; q=1", 1 },
		{ __LINE__, "application/vnd.x+json;a=\"b\\\"c;d\"", 1 },
		{ __LINE__, "text/plain;", 1 },
		{ __LINE__, "", 0 },
		{ __LINE__, "text", 0 },
		{ __LINE__, "text/", 0 },
		{ __LINE__, "/plain", 0 },
		{ __LINE__, "text/plain\nx-evil:1", 0 },
		{ __LINE__, "text/plain\r", 0 },
		{ __LINE__, "text/plain;charset=\"a\nb\"", 0 },
		{ __LINE__, "text/plain;charset=\"open", 0 },
		{ __LINE__, "text/plain;charset", 0 },
		{ __LINE__, "text/plain;=x", 0 },
		{ __LINE__, "text/pl ain", 0 },
		{ __LINE__, "text/plain:x", 0 },
		{ __LINE__, "text/plain;a=\"\\", 0 },
	};
	char big[MEDIATYPE_MAX + 2];

	for (size_t i = 0; i < sizeof(mt) / sizeof(mt[0]); i++)
		ck_assert_msg(mediatype_valid((chat_slice_t){ mt[i].v, strlen(mt[i].v) }) ==
				      mt[i].ok,
			      "line %d: %s", mt[i].line, mt[i].v);
	ck_assert(!mediatype_valid((chat_slice_t){ "text/plain\0", 11 }));
	memset(big, 'a', sizeof(big));
	big[4] = '/';
	ck_assert(mediatype_valid((chat_slice_t){ big, MEDIATYPE_MAX }));
	ck_assert(!mediatype_valid((chat_slice_t){ big, MEDIATYPE_MAX + 1 }));
}
END_TEST

START_TEST(is)
{
	static const char form[] = "application/x-www-form-urlencoded";
	static const struct {
		int line;
		const char *ct;
		int is;
	} rows[] = {
		{ __LINE__, "application/x-www-form-urlencoded", 1 },
		{ __LINE__, "Application/X-WWW-Form-URLEncoded", 1 },
		{ __LINE__, " \tapplication/x-www-form-urlencoded \t", 1 },
		{ __LINE__, "application/x-www-form-urlencoded; charset=UTF-8", 1 },
		{ __LINE__, "application/x-www-form-urlencoded;", 1 },
		{ __LINE__, "application/x-www-form-urlencoded;;garbage", 1 },
		{ __LINE__, "", 0 },
		{ __LINE__, ";application/x-www-form-urlencoded", 0 },
		{ __LINE__, "application/x-www-form-urlencodedx", 0 },
		{ __LINE__, "application/x-www-form-urlencode", 0 },
		{ __LINE__, "application/ x-www-form-urlencoded", 0 },
		{ __LINE__, "application/json", 0 },
		{ __LINE__, "text/plain", 0 },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(mediatype_is((chat_slice_t){ rows[i].ct, strlen(rows[i].ct) },
					   form) == rows[i].is,
			      "line %d: %s", rows[i].line, rows[i].ct);
	ck_assert(!mediatype_is((chat_slice_t){ "application/x-www-form-urlencoded\0", 34 }, form));
	ck_assert(mediatype_is((chat_slice_t){ NULL, 0 }, ""));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mediatype");
	TCase *tc = tcase_create("mediatype");

	tcase_add_test(tc, valid);
	tcase_add_test(tc, is);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
