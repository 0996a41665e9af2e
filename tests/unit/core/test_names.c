/* test_names.c - the rules for room and display names: NFC, refused
 * characters, lengths, and the uniqueness key (case, width, NFD). */
#include "config.h"
#include "names.h"
#include "testutil.h"

#include <string.h>

#define S(s) ((chat_slice_t){ (s), strlen(s) })

/* "자유게시판" precomposed (NFC) and as conjoining jamo (NFD). */
#define FREEBOARD_NFC "\xec\x9e\x90\xec\x9c\xa0\xea\xb2\x8c\xec\x8b\x9c\xed\x8c\x90"
#define FREEBOARD_NFD                                                                      \
	"\xe1\x84\x8c\xe1\x85\xa1\xe1\x84\x8b\xe1\x85\xb2\xe1\x84\x80\xe1\x85\xa6\xe1\x84" \
	"\x89\xe1\x85\xb5\xe1\x84\x91\xe1\x85\xa1\xe1\x86\xab"
#define A10 "aaaaaaaaaa"
#define HAN10                                                          \
	"\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c" \
	"\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c"

/* out: the NFC form when rc is 0 (NULL: the input itself). */
static const struct {
	int line;
	const char *in;
	int rc;
	const char *out;
} check_rows[] = {
	{ __LINE__, "general", CHAT_OK, NULL },
	{ __LINE__, FREEBOARD_NFC, CHAT_OK, NULL },
	{ __LINE__, FREEBOARD_NFD, CHAT_OK, FREEBOARD_NFC },
	{ __LINE__, "\xed\x99\x8d\xea\xb8\xb8\xeb\x8f\x99", CHAT_OK, NULL }, /* 홍길동 */
	{ __LINE__, "Cafe\xcc\x81", CHAT_OK, "Caf\xc3\xa9" },                /* e + U+0301 */
	{ __LINE__, "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0", CHAT_OK,
	  NULL },                                                        /* Москва */
	{ __LINE__, "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85", CHAT_OK, NULL }, /* سلام (RTL letters) */
	{ __LINE__, "two words", CHAT_OK, NULL },
	{ __LINE__, "a/b?c#d", CHAT_OK, NULL },
	{ __LINE__, "tea \xe2\x98\x95", CHAT_OK, NULL },              /* ☕ */
	{ __LINE__, "love \xe2\x9d\xa4\xef\xb8\x8f", CHAT_OK, NULL }, /* ❤ + VS16 */
	{ __LINE__, "\xef\xbc\xa3\xef\xbd\x88\xef\xbd\x81\xef\xbd\x94", CHAT_OK,
	  NULL }, /* Ｃｈａｔ */
	/* lengths count characters, not bytes */
	{ __LINE__, A10 A10 A10 A10 A10 A10 "aaaa", CHAT_OK, NULL },
	{ __LINE__, A10 A10 A10 A10 A10 A10 "aaaaa", CHAT_ETOOBIG, NULL },
	{ __LINE__,
	  HAN10 HAN10 HAN10 HAN10 HAN10 HAN10 "\xed\x95\x9c\xed\x95\x9c\xed\x95\x9c"
					      "\xed\x95\x9c",
	  CHAT_OK, NULL },
	{ __LINE__, HAN10 HAN10 HAN10 HAN10 HAN10 HAN10 HAN10, CHAT_ETOOBIG, NULL },
	{ __LINE__, "", CHAT_EINVAL, NULL },
	/* not UTF-8 */
	{ __LINE__, "caf\xe9", CHAT_EUTF8, NULL },
	{ __LINE__, "\xed\xa0\x80", CHAT_EUTF8, NULL },
	{ __LINE__, "\xc0\xaf", CHAT_EUTF8, NULL },
	/* controls */
	{ __LINE__, "a\tb", CHAT_EINVAL, NULL },
	{ __LINE__, "a\nb", CHAT_EINVAL, NULL },
	{ __LINE__, "a\x7f", CHAT_EINVAL, NULL },
	{ __LINE__, "a\xc2\x85", CHAT_EINVAL, NULL }, /* NEL */
	/* bidi overrides, embeddings, isolates and marks */
	{ __LINE__,
	  "a\xe2\x80\xae"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+202E RLO */
	{ __LINE__,
	  "a\xe2\x80\xaa"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+202A LRE */
	{ __LINE__,
	  "a\xe2\x81\xa6"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+2066 LRI */
	{ __LINE__,
	  "a\xe2\x81\xa9"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+2069 PDI */
	{ __LINE__,
	  "a\xe2\x80\x8e"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+200E LRM */
	{ __LINE__,
	  "a\xe2\x80\x8f"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+200F RLM */
	{ __LINE__,
	  "a\xd8\x9c"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+061C ALM */
	/* invisible characters */
	{ __LINE__,
	  "a\xe2\x80\x8b"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+200B ZWSP */
	{ __LINE__,
	  "a\xe2\x80\x8c"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+200C ZWNJ */
	{ __LINE__,
	  "a\xe2\x80\x8d"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+200D ZWJ */
	{ __LINE__,
	  "\xef\xbb\xbf"
	  "a",
	  CHAT_EINVAL, NULL }, /* U+FEFF BOM */
	{ __LINE__,
	  "a\xc2\xad"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+00AD soft hyphen */
	{ __LINE__,
	  "a\xe2\x81\xa0"
	  "b",
	  CHAT_EINVAL, NULL },                            /* U+2060 word joiner */
	{ __LINE__, "\xe3\x85\xa4", CHAT_EINVAL, NULL },  /* U+3164 Hangul filler */
	{ __LINE__, "a\xef\xbe\xa0", CHAT_EINVAL, NULL }, /* U+FFA0 */
	{ __LINE__,
	  "\xe1\x85\x9f"
	  "a",
	  CHAT_EINVAL, NULL }, /* U+115F */
	{ __LINE__,
	  "a\xcd\x8f"
	  "b",
	  CHAT_EINVAL, NULL },                            /* U+034F CGJ */
	{ __LINE__, "a\xef\xb8\x80", CHAT_EINVAL, NULL }, /* U+FE00 VS1 */
	{ __LINE__, "\xe2\xa0\x80", CHAT_EINVAL, NULL },  /* U+2800 braille blank */
	{ __LINE__,
	  "\xef\xb8\x8f"
	  "a",
	  CHAT_EINVAL, NULL },                                        /* VS16 first */
	{ __LINE__, "a\xef\xb8\x8f\xef\xb8\x8f", CHAT_EINVAL, NULL }, /* VS16 twice */
	{ __LINE__, "a \xef\xb8\x8f", CHAT_EINVAL, NULL },            /* VS16 after a space */
	/* separators, private use, unassigned, noncharacters */
	{ __LINE__,
	  "a\xe2\x80\xa8"
	  "b",
	  CHAT_EINVAL, NULL }, /* U+2028 */
	{ __LINE__,
	  "a\xe2\x80\xa9"
	  "b",
	  CHAT_EINVAL, NULL },                                /* U+2029 */
	{ __LINE__, "a\xee\x80\x80", CHAT_EINVAL, NULL },     /* U+E000 */
	{ __LINE__, "a\xf3\xb0\x80\x80", CHAT_EINVAL, NULL }, /* U+F0000 */
	{ __LINE__, "a\xef\xb7\x90", CHAT_EINVAL, NULL },     /* U+FDD0 */
	{ __LINE__, "a\xef\xbf\xbf", CHAT_EINVAL, NULL },     /* U+FFFF */
	{ __LINE__, "a\xf4\x8f\xbf\xbf", CHAT_EINVAL, NULL }, /* U+10FFFF */
	{ __LINE__, "a\xcd\xb8", CHAT_EINVAL, NULL },         /* U+0378 unassigned */
	/* spaces */
	{ __LINE__, " a", CHAT_EINVAL, NULL },
	{ __LINE__, "a ", CHAT_EINVAL, NULL },
	{ __LINE__, " ", CHAT_EINVAL, NULL },
	{ __LINE__, "a  b", CHAT_EINVAL, NULL },
	{ __LINE__,
	  "a\xc2\xa0"
	  "b",
	  CHAT_EINVAL, NULL }, /* NBSP */
	{ __LINE__,
	  "a\xe3\x80\x80"
	  "b",
	  CHAT_EINVAL, NULL }, /* ideographic space */
	/* a combining mark first */
	{ __LINE__,
	  "\xcc\x81"
	  "a",
	  CHAT_EINVAL, NULL },
};

START_TEST(checks)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(check_rows); i++) {
		char out[NAMES_NFC_MAX + 1];
		chat_error_t err = { 0 };
		size_t len = 99;
		const char *want = check_rows[i].out ? check_rows[i].out : check_rows[i].in;
		int rc = names_check("room names", S(check_rows[i].in), out, &len, &err);

		ck_assert_msg(rc == check_rows[i].rc, "line %d: rc %d (%s), want %d",
			      check_rows[i].line, rc, err.message, check_rows[i].rc);
		if (rc == CHAT_OK) {
			ck_assert_msg(strcmp(out, want) == 0 && len == strlen(want),
				      "line %d: got '%s'", check_rows[i].line, out);
		} else {
			ck_assert_msg(out[0] == '\0' && len == 0, "line %d: output left",
				      check_rows[i].line);
			ck_assert_msg(strncmp(err.message, "room names ", 11) == 0,
				      "line %d: reason '%s'", check_rows[i].line, err.message);
		}
	}
}
END_TEST

START_TEST(reason_names_code_point)
{
	char out[NAMES_NFC_MAX + 1];
	chat_error_t err = { 0 };

	ck_assert_int_eq(names_check("display names",
				     S("a\xe2\x80\xae"
				       "b"),
				     out, NULL, &err),
			 CHAT_EINVAL);
	ck_assert_str_eq(err.message, "display names may not hold bidi controls (U+202E)");
	ck_assert_int_eq(names_check("display names",
				     S("a\xe2\x80\x8d"
				       "b"),
				     out, NULL, &err),
			 CHAT_EINVAL);
	ck_assert_str_eq(err.message,
			 "display names may not hold invisible format characters (U+200D)");
}
END_TEST

START_TEST(input_bound)
{
	char big[NAMES_INPUT_MAX + 2], out[NAMES_NFC_MAX + 1];
	chat_error_t err = { 0 };

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(names_check("room names", (chat_slice_t){ big, sizeof(big) }, out, NULL,
				     &err),
			 CHAT_ETOOBIG);
	/* 300 combining marks after one letter: NFC keeps them all, too long. */
	big[0] = 'a';
	for (size_t i = 1; i + 1 < 601; i += 2) {
		big[i] = '\xcc';
		big[i + 1] = '\x81';
	}
	ck_assert_int_eq(names_check("room names", (chat_slice_t){ big, 601 }, out, NULL, &err),
			 CHAT_ETOOBIG);
}
END_TEST

/* Pairs of valid names and whether their keys must be equal. */
static const struct {
	int line;
	const char *a, *b;
	int same;
} key_rows[] = {
	{ __LINE__, "Chat", "chat", 1 },
	{ __LINE__, "CHAT", "chat", 1 },
	{ __LINE__, "\xef\xbc\xa3\xef\xbd\x88\xef\xbd\x81\xef\xbd\x94", "chat", 1 }, /* Ｃｈａｔ */
	{ __LINE__, FREEBOARD_NFD, FREEBOARD_NFC, 1 },
	{ __LINE__,
	  "Stra\xc3\x9f"
	  "e",
	  "STRASSE", 1 },                          /* ß folds to ss */
	{ __LINE__, "\xef\xac\x81le", "file", 1 }, /* ﬁ ligature */
	{ __LINE__, "\xe2\x91\xa0", "1", 1 },      /* ① */
	{ __LINE__, "\xef\xbd\xb6\xef\xbe\x85", "\xe3\x82\xab\xe3\x83\x8a", 1 }, /* ｶﾅ vs カナ */
	{ __LINE__, "\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91",
	  "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1", 1 }, /* ΣΟΦΙΑ vs σοφια */
	{ __LINE__, "love \xe2\x9d\xa4\xef\xb8\x8f", "love \xe2\x9d\xa4", 1 },
	{ __LINE__, "\xe3\x8e\x92", "mhz", 1 }, /* U+3392 -> MHz */
	{ __LINE__, "\xe2\x85\xa0", "i", 1 },   /* U+2160 ROMAN ONE */
	{ __LINE__, "chat", "chats", 0 },
	{ __LINE__, "Caf\xc3\xa9", "Cafe", 0 },
	{ __LINE__, "\xd1\x81hat", "chat", 0 }, /* Cyrillic с: a confusable, not a fold */
	{ __LINE__, FREEBOARD_NFC, "\xec\x9e\x90\xec\x9c\xa0", 0 },
};

START_TEST(keys)
{
	for (size_t i = 0; i < CHAT_ARRAY_LEN(key_rows); i++) {
		char na[NAMES_NFC_MAX + 1], nb[NAMES_NFC_MAX + 1];
		char ka[NAMES_KEY_MAX + 1], kb[NAMES_KEY_MAX + 1];
		chat_error_t err = { 0 };

		ck_assert_msg(names_check_key("room names", S(key_rows[i].a), na, ka, &err) == 0 &&
				      names_check_key("room names", S(key_rows[i].b), nb, kb,
						      &err) == 0,
			      "line %d: %s", key_rows[i].line, err.message);
		ck_assert_msg((strcmp(ka, kb) == 0) == key_rows[i].same, "line %d: keys '%s' '%s'",
			      key_rows[i].line, ka, kb);
	}
}
END_TEST

START_TEST(key_of_failed_check_is_empty)
{
	char nfc[NAMES_NFC_MAX + 1] = "x", key[NAMES_KEY_MAX + 1] = "x";

	ck_assert_int_eq(names_check_key("room names", S(" a"), nfc, key, NULL), CHAT_EINVAL);
	ck_assert_str_eq(nfc, "");
	ck_assert_str_eq(key, "");
	ck_assert_int_eq(names_check_key("room names", S("ok"), NULL, NULL, NULL), CHAT_OK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("names");

	tcase_add_test(tc, checks);
	tcase_add_test(tc, reason_names_code_point);
	tcase_add_test(tc, input_bound);
	tcase_add_test(tc, keys);
	tcase_add_test(tc, key_of_failed_check_is_empty);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
