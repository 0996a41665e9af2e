/* test_utf8.c - strict UTF-8 decoding, encoding and hex digits. */
#include "config.h"
#include "utf8.h"
#include "chat.h"
#include "testutil.h"

#include <string.h>

/* in: the bytes (n of them available to the decoder); len 0 means invalid. */
static const struct {
	int line;
	const char *in;
	size_t n;
	size_t len;
	uint32_t cp;
} decode_rows[] = {
	/* one byte: all of ASCII, NUL and controls included */
	{ __LINE__, "a", 1, 1, 'a' },
	{ __LINE__, "\0", 1, 1, 0 },
	{ __LINE__, "\x1f", 1, 1, 0x1f },
	{ __LINE__, "\x7f", 1, 1, 0x7f },
	{ __LINE__, "ab", 2, 1, 'a' },
	/* two bytes */
	{ __LINE__, "\xc2\x80", 2, 2, 0x80 },
	{ __LINE__, "\xc3\xa9", 2, 2, 0xe9 },
	{ __LINE__, "\xdf\xbf", 2, 2, 0x7ff },
	{ __LINE__, "\xc3\xa9x", 3, 2, 0xe9 },
	/* three bytes */
	{ __LINE__, "\xe0\xa0\x80", 3, 3, 0x800 },
	{ __LINE__, "\xe2\x82\xac", 3, 3, 0x20ac },
	{ __LINE__, "\xed\x9f\xbf", 3, 3, 0xd7ff },
	{ __LINE__, "\xee\x80\x80", 3, 3, 0xe000 },
	{ __LINE__, "\xef\xbf\xbd", 3, 3, 0xfffd },
	{ __LINE__, "\xef\xbf\xbf", 3, 3, 0xffff },
	/* four bytes */
	{ __LINE__, "\xf0\x90\x80\x80", 4, 4, 0x10000 },
	{ __LINE__, "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
	{ __LINE__, "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
	/* stray continuation bytes and bytes that never start a sequence */
	{ __LINE__, "\x80", 1, 0, 0 },
	{ __LINE__, "\xbf", 1, 0, 0 },
	{ __LINE__, "\xc0\x80", 2, 0, 0 },
	{ __LINE__, "\xc1\xbf", 2, 0, 0 },
	{ __LINE__, "\xf5\x80\x80\x80", 4, 0, 0 },
	{ __LINE__, "\xf7\xbf\xbf\xbf", 4, 0, 0 },
	{ __LINE__, "\xf8\x88\x80\x80", 4, 0, 0 },
	{ __LINE__, "\xfe", 1, 0, 0 },
	{ __LINE__, "\xff", 1, 0, 0 },
	/* overlong forms */
	{ __LINE__, "\xe0\x80\x80", 3, 0, 0 },
	{ __LINE__, "\xe0\x9f\xbf", 3, 0, 0 },
	{ __LINE__, "\xf0\x80\x80\x80", 4, 0, 0 },
	{ __LINE__, "\xf0\x8f\xbf\xbf", 4, 0, 0 },
	/* surrogates, encoded or paired, are not scalar values */
	{ __LINE__, "\xed\xa0\x80", 3, 0, 0 },
	{ __LINE__, "\xed\xbf\xbf", 3, 0, 0 },
	{ __LINE__, "\xed\xa0\xbd\xed\xb8\x80", 6, 0, 0 },
	/* above U+10FFFF */
	{ __LINE__, "\xf4\x90\x80\x80", 4, 0, 0 },
	/* a bad or missing continuation byte */
	{ __LINE__,
	  "\xc3"
	  "a",
	  2, 0, 0 },
	{ __LINE__, "\xc3\xc3", 2, 0, 0 },
	{ __LINE__,
	  "\xe2\x82"
	  "a",
	  3, 0, 0 },
	{ __LINE__,
	  "\xf0\x9f\x98"
	  "a",
	  4, 0, 0 },
	/* truncated: fewer than the sequence's bytes available */
	{ __LINE__, "\xc3\xa9", 1, 0, 0 },
	{ __LINE__, "\xe2\x82\xac", 2, 0, 0 },
	{ __LINE__, "\xf0\x9f\x98\x80", 3, 0, 0 },
};

START_TEST(decode)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(decode_rows); i++) {
		const unsigned char *p = (const unsigned char *)decode_rows[i].in;
		uint32_t cp = 0xdeadbeef;
		size_t len = utf8_decode(p, decode_rows[i].n, &cp);

		ck_assert_msg(len == decode_rows[i].len, "line %d: length %zu, want %zu",
			      decode_rows[i].line, len, decode_rows[i].len);
		if (len != 0)
			ck_assert_msg(cp == decode_rows[i].cp, "line %d: U+%04X, want U+%04X",
				      decode_rows[i].line, (unsigned)cp,
				      (unsigned)decode_rows[i].cp);
		else
			ck_assert_msg(cp == 0xdeadbeef, "line %d: *cp written on failure",
				      decode_rows[i].line);
		ck_assert_msg(utf8_decode(p, decode_rows[i].n, NULL) == len,
			      "line %d: a NULL cp changes the answer", decode_rows[i].line);
	}
}
END_TEST

static const struct {
	int line;
	uint32_t cp;
	const char *out;
} encode_rows[] = {
	{ __LINE__, 0, "\0" },
	{ __LINE__, 'a', "a" },
	{ __LINE__, 0x7f, "\x7f" },
	{ __LINE__, 0x80, "\xc2\x80" },
	{ __LINE__, 0x7ff, "\xdf\xbf" },
	{ __LINE__, 0x800, "\xe0\xa0\x80" },
	{ __LINE__, 0x20ac, "\xe2\x82\xac" },
	{ __LINE__, 0xd7ff, "\xed\x9f\xbf" },
	{ __LINE__, 0xe000, "\xee\x80\x80" },
	{ __LINE__, 0xffff, "\xef\xbf\xbf" },
	{ __LINE__, 0x10000, "\xf0\x90\x80\x80" },
	{ __LINE__, 0x10ffff, "\xf4\x8f\xbf\xbf" },
	/* what UTF-8 cannot carry becomes U+FFFD */
	{ __LINE__, 0xd800, "\xef\xbf\xbd" },
	{ __LINE__, 0xdbff, "\xef\xbf\xbd" },
	{ __LINE__, 0xdc00, "\xef\xbf\xbd" },
	{ __LINE__, 0xdfff, "\xef\xbf\xbd" },
	{ __LINE__, 0x110000, "\xef\xbf\xbd" },
	{ __LINE__, 0xffffffff, "\xef\xbf\xbd" },
};

START_TEST(encode)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(encode_rows); i++) {
		char out[UTF8_MAX];
		size_t want = encode_rows[i].cp == 0 ? 1 : strlen(encode_rows[i].out);
		size_t len = utf8_encode(encode_rows[i].cp, out);

		ck_assert_msg(len == want && memcmp(out, encode_rows[i].out, len) == 0,
			      "line %d: U+%04X encoded wrong (%zu bytes)", encode_rows[i].line,
			      (unsigned)encode_rows[i].cp, len);
	}
}
END_TEST

/* Every scalar value encodes to what decodes back to it, using all of it. */
START_TEST(round_trip_all_scalars)
{
	uint32_t cp, back;
	char out[UTF8_MAX];
	size_t len;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp == 0xd800)
			cp = 0xe000;
		len = utf8_encode(cp, out);
		ck_assert_msg(utf8_decode((const unsigned char *)out, len, &back) == len &&
				      back == cp,
			      "U+%04X does not round-trip", (unsigned)cp);
	}
}
END_TEST

static const struct {
	int line;
	unsigned char c;
	int val;
} hex_rows[] = {
	{ __LINE__, '0', 0 },   { __LINE__, '9', 9 },   { __LINE__, 'a', 10 },
	{ __LINE__, 'f', 15 },  { __LINE__, 'A', 10 },  { __LINE__, 'F', 15 },
	{ __LINE__, '/', -1 },  { __LINE__, ':', -1 },  { __LINE__, '@', -1 },
	{ __LINE__, 'G', -1 },  { __LINE__, '`', -1 },  { __LINE__, 'g', -1 },
	{ __LINE__, 'x', -1 },  { __LINE__, ' ', -1 },  { __LINE__, 0, -1 },
	{ __LINE__, 0xb0, -1 }, { __LINE__, 0xe1, -1 }, { __LINE__, 0xff, -1 },
};

START_TEST(hexval)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(hex_rows); i++) {
		int v = utf8_hexval(hex_rows[i].c);

		ck_assert_msg(v == hex_rows[i].val, "line %d: 0x%02x gave %d, want %d",
			      hex_rows[i].line, hex_rows[i].c, v, hex_rows[i].val);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("utf8");

	tcase_add_test(tc, decode);
	tcase_add_test(tc, encode);
	tcase_add_test(tc, round_trip_all_scalars);
	tcase_add_test(tc, hexval);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
