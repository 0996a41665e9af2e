/* test_json.c - SockJS JSON string encoding and string-array decoding. */
#include "config.h"
#include "json.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* A byte string with its length (may hold NUL). */
#define B(s) s, sizeof(s) - 1

static void check_bytes(int line, const char *what, const char *got, size_t got_len,
			const char *want, size_t want_len)
{
	ck_assert_msg(got_len == want_len && memcmp(got, want, want_len) == 0,
		      "row at line %d: %s: got [%.*s] (%zu bytes), want [%.*s] (%zu bytes)", line,
		      what, (int)got_len, got, got_len, (int)want_len, want, want_len);
}

static const struct enc_row {
	int line;
	const char *in;
	size_t in_len;
	int rc;
	const char *out; /* the literal; NULL when rc != 0 */
} enc_rows[] = {
	{ __LINE__, B(""), 0, "\"\"" },
	{ __LINE__, B("abc"), 0, "\"abc\"" },
	{ __LINE__, B("\""), 0, "\"\\\"\"" },
	{ __LINE__, B("\\"), 0, "\"\\\\\"" },
	{ __LINE__, B("/"), 0, "\"/\"" },
	{ __LINE__, B("<>&'"), 0, "\"<>&'\"" },
	{ __LINE__, B("\b\f\n\r\t"), 0, "\"\\b\\f\\n\\r\\t\"" },
	{ __LINE__, B("\0"), 0, "\"\\u0000\"" },
	{ __LINE__, B("\x01"), 0, "\"\\u0001\"" },
	{ __LINE__, B("\x0b"), 0, "\"\\u000b\"" },
	{ __LINE__, B("\x1f"), 0, "\"\\u001f\"" },
	{ __LINE__, B("\x20"), 0, "\" \"" },
	{ __LINE__, B("\x7e"), 0, "\"~\"" },
	/* U+007F-U+009F */
	{ __LINE__, B("\x7f"), 0, "\"\\u007f\"" },
	{ __LINE__, B("\xc2\x80"), 0, "\"\\u0080\"" },
	{ __LINE__, B("\xc2\x9f"), 0, "\"\\u009f\"" },
	{ __LINE__, B("\xc2\xa0"), 0, "\"\xc2\xa0\"" },
	/* U+00AD */
	{ __LINE__, B("\xc2\xac"), 0, "\"\xc2\xac\"" },
	{ __LINE__, B("\xc2\xad"), 0, "\"\\u00ad\"" },
	{ __LINE__, B("\xc2\xae"), 0, "\"\xc2\xae\"" },
	{ __LINE__, B("\xc3\xa9"), 0, "\"\xc3\xa9\"" },
	/* U+0600-U+0604 */
	{ __LINE__, B("\xd7\xbf"), 0, "\"\xd7\xbf\"" },
	{ __LINE__, B("\xd8\x80"), 0, "\"\\u0600\"" },
	{ __LINE__, B("\xd8\x84"), 0, "\"\\u0604\"" },
	{ __LINE__, B("\xd8\x85"), 0, "\"\xd8\x85\"" },
	/* U+070F */
	{ __LINE__, B("\xdc\x8e"), 0, "\"\xdc\x8e\"" },
	{ __LINE__, B("\xdc\x8f"), 0, "\"\\u070f\"" },
	{ __LINE__, B("\xdc\x90"), 0, "\"\xdc\x90\"" },
	/* U+17B4, U+17B5 */
	{ __LINE__, B("\xe1\x9e\xb3"), 0, "\"\xe1\x9e\xb3\"" },
	{ __LINE__, B("\xe1\x9e\xb4"), 0, "\"\\u17b4\"" },
	{ __LINE__, B("\xe1\x9e\xb5"), 0, "\"\\u17b5\"" },
	{ __LINE__, B("\xe1\x9e\xb6"), 0, "\"\xe1\x9e\xb6\"" },
	/* U+200C-U+200F */
	{ __LINE__, B("\xe2\x80\x8b"), 0, "\"\xe2\x80\x8b\"" },
	{ __LINE__, B("\xe2\x80\x8c"), 0, "\"\\u200c\"" },
	{ __LINE__, B("\xe2\x80\x8f"), 0, "\"\\u200f\"" },
	{ __LINE__, B("\xe2\x80\x90"), 0, "\"\xe2\x80\x90\"" },
	/* U+2028-U+202F */
	{ __LINE__, B("\xe2\x80\xa7"), 0, "\"\xe2\x80\xa7\"" },
	{ __LINE__, B("\xe2\x80\xa8"), 0, "\"\\u2028\"" },
	{ __LINE__, B("\xe2\x80\xa9"), 0, "\"\\u2029\"" },
	{ __LINE__, B("\xe2\x80\xaf"), 0, "\"\\u202f\"" },
	{ __LINE__, B("\xe2\x80\xb0"), 0, "\"\xe2\x80\xb0\"" },
	/* U+2060-U+206F */
	{ __LINE__, B("\xe2\x81\x9f"), 0, "\"\xe2\x81\x9f\"" },
	{ __LINE__, B("\xe2\x81\xa0"), 0, "\"\\u2060\"" },
	{ __LINE__, B("\xe2\x81\xaf"), 0, "\"\\u206f\"" },
	{ __LINE__, B("\xe2\x81\xb0"), 0, "\"\xe2\x81\xb0\"" },
	{ __LINE__, B("\xe2\x82\xac"), 0, "\"\xe2\x82\xac\"" },
	/* around the surrogates (which UTF-8 cannot hold) */
	{ __LINE__, B("\xed\x9f\xbf"), 0, "\"\xed\x9f\xbf\"" },
	{ __LINE__, B("\xee\x80\x80"), 0, "\"\xee\x80\x80\"" },
	/* U+FEFF */
	{ __LINE__, B("\xef\xbb\xbe"), 0, "\"\xef\xbb\xbe\"" },
	{ __LINE__, B("\xef\xbb\xbf"), 0, "\"\\ufeff\"" },
	{ __LINE__, B("\xef\xbc\x80"), 0, "\"\xef\xbc\x80\"" },
	/* U+FFF0-U+FFFF */
	{ __LINE__, B("\xef\xbf\xaf"), 0, "\"\xef\xbf\xaf\"" },
	{ __LINE__, B("\xef\xbf\xb0"), 0, "\"\\ufff0\"" },
	{ __LINE__, B("\xef\xbf\xbd"), 0, "\"\\ufffd\"" },
	{ __LINE__, B("\xef\xbf\xbf"), 0, "\"\\uffff\"" },
	/* above U+FFFF: an escaped surrogate pair */
	{ __LINE__, B("\xf0\x90\x80\x80"), 0, "\"\\ud800\\udc00\"" },
	{ __LINE__, B("\xf0\x9f\x98\x80"), 0, "\"\\ud83d\\ude00\"" },
	{ __LINE__, B("\xf4\x8f\xbf\xbf"), 0, "\"\\udbff\\udfff\"" },
	/* mixed runs */
	{ __LINE__,
	  B("a\"b\\c\nd\xe2\x80\xa8"
	    "e"),
	  0, "\"a\\\"b\\\\c\\nd\\u2028e\"" },
	{ __LINE__, B("SEND\ndestination:/app/x\n\n\xc3\xa9\0"), 0,
	  "\"SEND\\ndestination:/app/x\\n\\n\xc3\xa9\\u0000\"" },
	/* invalid UTF-8 */
	{ __LINE__, B("\x80"), CHAT_EUTF8, NULL },
	{ __LINE__, B("a\xbf"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xc0\x80"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xc1\xbf"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xe0\x80\x80"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xe0\x9f\xbf"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xed\xa0\x80"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xed\xbf\xbf"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xf0\x80\x80\x80"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xf0\x8f\xbf\xbf"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xf4\x90\x80\x80"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xf5\x80\x80\x80"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xff"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xc3"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xe2\x82"), CHAT_EUTF8, NULL },
	{ __LINE__, B("\xe2\x28\xa1"), CHAT_EUTF8, NULL },
	{ __LINE__, B("ok\xf0\x9f\x98"), CHAT_EUTF8, NULL },
};

START_TEST(encode_rows)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(enc_rows); i++) {
		const struct enc_row *r = &enc_rows[i];
		chat_buf_t b;
		int rc;

		chat_buf_init(&b, 1024);
		chat_buf_puts(&b, "X");
		rc = json_encode_string(&b, r->in, r->in_len);
		ck_assert_msg(rc == r->rc, "row at line %d: rc %d, want %d", r->line, rc, r->rc);
		if (r->out != NULL)
			check_bytes(r->line, "encode", b.data + 1, b.len - 1, r->out,
				    strlen(r->out));
		else
			check_bytes(r->line, "rollback", b.data, b.len, "X", 1);
		chat_buf_free(&b);
	}
}
END_TEST

START_TEST(encode_html_and_limits)
{
	chat_buf_t b;
	chat_slice_t items[] = { CHAT_SLICE("a"), CHAT_SLICE("b\""), CHAT_SLICE("") };

	chat_buf_init(&b, 64);
	ck_assert_int_eq(json_encode_string_flags(&b, B("</script>&"), JSON_ENC_HTML), 0);
	ck_assert_str_eq(b.data, "\"\\u003c/script\\u003e\\u0026\"");
	chat_buf_reset(&b);
	ck_assert_int_eq(json_encode_array(&b, items, 3), 0);
	ck_assert_str_eq(b.data, "[\"a\",\"b\\\"\",\"\"]");
	chat_buf_reset(&b);
	ck_assert_int_eq(json_encode_array(&b, NULL, 0), 0);
	ck_assert_str_eq(b.data, "[]");
	chat_buf_free(&b);

	/* all or nothing when the buffer is full */
	chat_buf_init(&b, 6);
	ck_assert_int_eq(chat_buf_puts(&b, "ab"), 0);
	ck_assert_int_eq(json_encode_string(&b, B("\n\n")), CHAT_ETOOBIG);
	ck_assert_str_eq(b.data, "ab");
	ck_assert_int_eq(json_encode_array(&b, items, 2), CHAT_ETOOBIG);
	ck_assert_str_eq(b.data, "ab");
	ck_assert_int_eq(json_encode_string(&b, B("\xff")), CHAT_EUTF8);
	ck_assert_str_eq(b.data, "ab");
	ck_assert_int_eq(json_encode_string(&b, B("cd")), 0);
	ck_assert_str_eq(b.data, "ab\"cd\"");
	chat_buf_free(&b);
}
END_TEST

#define MAXI 4
struct item {
	const char *s;
	size_t len;
};
#define I(s)                     \
	{                        \
		s, sizeof(s) - 1 \
	}

static const struct dec_row {
	int line;
	const char *in;
	size_t in_len;
	unsigned flags;
	int rc;
	size_t n;
	struct item items[MAXI];
} dec_rows[] = {
	{ __LINE__, B("[]"), 0, 0, 0, { { 0 } } },
	{ __LINE__, B(" \t\r\n[ \n]\r\n "), 0, 0, 0, { { 0 } } },
	{ __LINE__, B("[\"a\"]"), 0, 0, 1, { I("a") } },
	{ __LINE__, B("[\"a\",\"b\"]"), 0, 0, 2, { I("a"), I("b") } },
	{ __LINE__, B(" [ \"a\" ,\n\"b\" ] "), 0, 0, 2, { I("a"), I("b") } },
	{ __LINE__, B("[\"\"]"), 0, 0, 1, { I("") } },
	{ __LINE__, B("[\"\",\"\",\"x\"]"), 0, 0, 3, { I(""), I(""), I("x") } },
	{ __LINE__, B("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]"), 0, 0, 1, { I("\"\\/\b\f\n\r\t") } },
	{ __LINE__, B("[\"\\u0041\\u00e9\\u20AC\"]"), 0, 0, 1, { I("A\xc3\xa9\xe2\x82\xac") } },
	{ __LINE__, B("[\"a\\u0000b\"]"), 0, 0, 1, { I("a\0b") } },
	{ __LINE__,
	  B("[\"\\uffff\\ufeff\\u2028\"]"),
	  0,
	  0,
	  1,
	  { I("\xef\xbf\xbf\xef\xbb\xbf\xe2\x80\xa8") } },
	{ __LINE__, B("[\"%61bc\"]"), 0, 0, 1, { I("%61bc") } },
	/* raw UTF-8 passes through */
	{ __LINE__,
	  B("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]"),
	  0,
	  0,
	  1,
	  { I("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") } },
	/* surrogate pairs join; lone surrogates become U+FFFD */
	{ __LINE__, B("[\"\\ud83d\\ude00\"]"), 0, 0, 1, { I("\xf0\x9f\x98\x80") } },
	{ __LINE__, B("[\"\\uD83D\\uDE00\"]"), 0, 0, 1, { I("\xf0\x9f\x98\x80") } },
	{ __LINE__,
	  B("[\"\\ud800\\udc00\\udbff\\udfff\"]"),
	  0,
	  0,
	  1,
	  { I("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf") } },
	{ __LINE__, B("[\"\\ud83d\"]"), 0, 0, 1, { I("\xef\xbf\xbd") } },
	{ __LINE__, B("[\"\\ude00\"]"), 0, 0, 1, { I("\xef\xbf\xbd") } },
	{ __LINE__, B("[\"\\ude00\\ud83d\"]"), 0, 0, 1, { I("\xef\xbf\xbd\xef\xbf\xbd") } },
	{ __LINE__, B("[\"\\ud83dx\"]"), 0, 0, 1, { I("\xef\xbf\xbdx") } },
	{ __LINE__, B("[\"\\ud83d\\n\"]"), 0, 0, 1, { I("\xef\xbf\xbd\n") } },
	{ __LINE__,
	  B("[\"\\ud83d\\u0041\"]"),
	  0,
	  0,
	  1,
	  { I("\xef\xbf\xbd"
	      "A") } },
	{ __LINE__,
	  B("[\"\\ud83d\\ud83d\\ude00\"]"),
	  0,
	  0,
	  1,
	  { I("\xef\xbf\xbd\xf0\x9f\x98\x80") } },
	{ __LINE__, B("[\"\\ud83d\\ude0\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	/* broken JSON */
	{ __LINE__, B(""), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("  "), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("["), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"x"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\""), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\","), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\",]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[,\"a\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\" \"b\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\"]x"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\"]]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\"],"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\"]\0"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("{}"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("null"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("\"a\""), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[1]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[null]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[[\"a\"]]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\",1]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("['a']"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"\\x\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"\\'\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"\\u12\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"\\u12G4\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"\\"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\nb\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\x01\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\0\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("\xef\xbb\xbf[\"a\"]"), 0, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("[\"a\"]\v"), 0, CHAT_EINVAL, 0, { { 0 } } },
	/* invalid UTF-8 in a string */
	{ __LINE__, B("[\"\x80\"]"), 0, CHAT_EUTF8, 0, { { 0 } } },
	{ __LINE__, B("[\"ok\",\"\xc0\xaf\"]"), 0, CHAT_EUTF8, 0, { { 0 } } },
	{ __LINE__, B("[\"\xed\xa0\x80\"]"), 0, CHAT_EUTF8, 0, { { 0 } } },
	{ __LINE__, B("[\"\xf4\x90\x80\x80\"]"), 0, CHAT_EUTF8, 0, { { 0 } } },
	{ __LINE__, B("[\"\xe2\x82\"]"), 0, CHAT_EUTF8, 0, { { 0 } } },
	/* a bare string only when asked for */
	{ __LINE__, B("\"a\""), JSON_DEC_BARE_STRING, 0, 1, { I("a") } },
	{ __LINE__, B(" \"\\u00e9\" "), JSON_DEC_BARE_STRING, 0, 1, { I("\xc3\xa9") } },
	{ __LINE__, B("[\"a\",\"b\"]"), JSON_DEC_BARE_STRING, 0, 2, { I("a"), I("b") } },
	{ __LINE__, B("\"a\" \"b\""), JSON_DEC_BARE_STRING, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("\"a"), JSON_DEC_BARE_STRING, CHAT_EINVAL, 0, { { 0 } } },
	{ __LINE__, B("1"), JSON_DEC_BARE_STRING, CHAT_EINVAL, 0, { { 0 } } },
};

START_TEST(decode_rows)
{
	size_t i, k;

	for (i = 0; i < CHAT_ARRAY_LEN(dec_rows); i++) {
		const struct dec_row *r = &dec_rows[i];
		json_strv_t v;
		int rc;

		json_strv_init(&v, 1024, 16);
		/* stale contents must go */
		json_strv_push(&v, "stale", 5);
		rc = json_decode_array(r->in, r->in_len, r->flags, &v);
		ck_assert_msg(rc == r->rc, "row at line %d: rc %d (%s), want %d", r->line, rc,
			      chat_strerror(rc), r->rc);
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

START_TEST(decode_limits)
{
	json_strv_t v;

	json_strv_init(&v, 3, 2);
	ck_assert_int_eq(json_decode_array(B("[\"a\",\"b\"]"), 0, &v), 0);
	ck_assert_uint_eq(v.n, 2);
	ck_assert_int_eq(json_decode_array(B("[\"a\",\"b\",\"c\"]"), 0, &v), CHAT_ETOOMANY);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_uint_eq(v.buf.len, 0);
	ck_assert_int_eq(json_decode_array(B("[\"abc\"]"), 0, &v), 0);
	ck_assert_int_eq(json_decode_array(B("[\"ab\",\"cd\"]"), 0, &v), CHAT_ETOOBIG);
	ck_assert_uint_eq(v.n, 0);
	/* the cap counts decoded bytes, not the escaped text */
	ck_assert_int_eq(json_decode_array(B("[\"\\u00e9\\u00e9\"]"), 0, &v), CHAT_ETOOBIG);
	ck_assert_int_eq(json_decode_array(B("[\"\\u00e9\"]"), 0, &v), 0);
	ck_assert_uint_eq(v.buf.len, 2);
	ck_assert_int_eq(json_strv_push(&v, "x", 1), 0);
	ck_assert_int_eq(json_strv_push(&v, "y", 1), CHAT_ETOOMANY);
	ck_assert_uint_eq(v.n, 2);
	json_strv_reset(&v);
	ck_assert_int_eq(json_strv_push(&v, "abcd", 4), CHAT_ETOOBIG);
	ck_assert_uint_eq(v.n, 0);
	json_strv_free(&v);
	json_strv_free(&v);
	json_strv_free(NULL);

	/* a list with a zero item cap takes only [] */
	json_strv_init(&v, 10, 0);
	ck_assert_int_eq(json_decode_array(B("[]"), 0, &v), 0);
	ck_assert_int_eq(json_decode_array(B("[\"\"]"), 0, &v), CHAT_ETOOMANY);
	json_strv_free(&v);
}
END_TEST

/* The escape set, from the SockJS test suite's escapable_by_server plus
 * the client's list the brief names; above U+FFFF always (surrogates). */
static const struct {
	uint32_t lo, hi;
} esc_ranges[] = {
	{ 0x0000, 0x001f }, { 0x007f, 0x009f }, { 0x00ad, 0x00ad }, { 0x0600, 0x0604 },
	{ 0x070f, 0x070f }, { 0x17b4, 0x17b5 }, { 0x200c, 0x200f }, { 0x2028, 0x202f },
	{ 0x2060, 0x206f }, { 0xfeff, 0xfeff }, { 0xfff0, 0xffff },
};

static int spec_escaped(uint32_t cp)
{
	size_t i;

	for (i = 0; i < CHAT_ARRAY_LEN(esc_ranges); i++)
		if (cp >= esc_ranges[i].lo && cp <= esc_ranges[i].hi)
			return 1;
	return 0;
}

/* Every BMP code point: \uXXXX decodes to its UTF-8, which encodes back to
 * \uXXXX exactly when the spec escapes it, else raw. */
START_TEST(every_bmp_code_point)
{
	json_strv_t v;
	chat_buf_t b;
	uint32_t cp;

	json_strv_init(&v, 16, 1);
	chat_buf_init(&b, 64);
	for (cp = 0; cp <= 0xffff; cp++) {
		char in[16], want[16];
		chat_slice_t s;
		int n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		n = snprintf(in, sizeof(in), "[\"\\u%04x\"]", (unsigned)cp);
		ck_assert_int_eq(json_decode_array(in, (size_t)n, 0, &v), 0);
		s = json_strv_at(&v, 0);
		chat_buf_reset(&b);
		ck_assert_int_eq(json_encode_string(&b, s.ptr, s.len), 0);
		if (cp == '"' || cp == '\\' || cp == '\b' || cp == '\f' || cp == '\n' ||
		    cp == '\r' || cp == '\t') {
			ck_assert_uint_eq(b.len, 4);
			ck_assert_int_eq(b.data[1], '\\');
		} else if (spec_escaped(cp)) {
			snprintf(want, sizeof(want), "\"\\u%04x\"", (unsigned)cp);
			ck_assert_msg(strcmp(b.data, want) == 0, "U+%04X: got %s want %s",
				      (unsigned)cp, b.data, want);
		} else {
			ck_assert_msg(b.len == s.len + 2 && memcmp(b.data + 1, s.ptr, s.len) == 0,
				      "U+%04X: got %s, want it raw", (unsigned)cp, b.data);
		}
	}
	chat_buf_free(&b);
	json_strv_free(&v);
}
END_TEST

/* The protocol test suite's test_xhr_server_encodes: every code point from
 * U+00FF up that escapable_by_server lists comes back as its \u escape. */
START_TEST(server_killer_string)
{
	chat_buf_t raw, esc, got;
	json_strv_t v;
	uint32_t cp;
	chat_slice_t s;

	chat_buf_init(&raw, 1 << 16);
	chat_buf_init(&esc, 1 << 16);
	chat_buf_init(&got, 1 << 16);
	json_strv_init(&v, 1 << 16, 1);
	chat_buf_puts(&esc, "\"");
	chat_buf_puts(&raw, "[\"");
	for (cp = 255; cp <= 0xffff; cp++) {
		if (!((cp >= 0x200c && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
		      (cp >= 0x2060 && cp <= 0x206f) || cp >= 0xfff0))
			continue;
		chat_buf_printf(&esc, "\\u%04x", (unsigned)cp);
	}
	chat_buf_puts(&esc, "\"");
	/* the suite sends the characters raw (json.loads of the escapes) */
	ck_assert_int_eq(json_decode_array(esc.data, esc.len, JSON_DEC_BARE_STRING, &v), 0);
	s = json_strv_at(&v, 0);
	chat_buf_append(&raw, s.ptr, s.len);
	chat_buf_puts(&raw, "\"]");
	ck_assert_int_eq(json_decode_array(raw.data, raw.len, 0, &v), 0);
	s = json_strv_at(&v, 0);
	ck_assert_int_eq(json_encode_string(&got, s.ptr, s.len), 0);
	ck_assert_str_eq(got.data, esc.data);
	chat_buf_free(&raw);
	chat_buf_free(&esc);
	chat_buf_free(&got);
	json_strv_free(&v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, encode_rows);
	tcase_add_test(tc, encode_html_and_limits);
	tcase_add_test(tc, decode_rows);
	tcase_add_test(tc, decode_limits);
	tcase_add_test(tc, every_bmp_code_point);
	tcase_add_test(tc, server_killer_string);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
