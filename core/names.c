/* names.c - the rules for room names and display names (see names.h).
 * Normalisation, case folding and character properties come from
 * libunistring; every result goes to a buffer of the caller's, and one
 * that would not fit (libunistring then allocates) is freed and refused. */
#include "config.h"
#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* Runs a libunistring transformation into out (cap bytes, then a NUL).
 * 0 or CHAT_ETOOBIG (the result did not fit), CHAT_EUTF8, CHAT_ENOMEM. */
static int into(uint8_t *res, const uint8_t *out, size_t len, size_t cap, size_t *out_len)
{
	if (res == NULL)
		return errno == ENOMEM ? CHAT_ENOMEM : CHAT_EUTF8;
	if (res != out) {
		free(res);
		return CHAT_ETOOBIG;
	}
	if (len > cap)
		return CHAT_ETOOBIG;
	*out_len = len;
	return CHAT_OK;
}

static int nfc(const uint8_t *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t len = cap;
	uint8_t *res = u8_normalize(UNINORM_NFC, s, n, out, &len);

	return into(res, out, len, cap, out_len);
}

/* Whether cp is an emoji presentation selector (kept after a visible
 * character, left out of keys). */
static int is_vs_emoji(ucs4_t cp)
{
	return cp == 0xFE0E || cp == 0xFE0F;
}

/* The reason cp may not stand in a name at all, or NULL. */
static const char *refused(ucs4_t cp)
{
	if (uc_is_general_category(cp, UC_CATEGORY_Cc))
		return "control characters";
	if (uc_is_property_bidi_control(cp))
		return "bidi controls";
	if (uc_is_general_category(cp, UC_CATEGORY_Cf))
		return "invisible format characters";
	if (uc_is_general_category(cp, UC_CATEGORY_Zl) ||
	    uc_is_general_category(cp, UC_CATEGORY_Zp))
		return "line or paragraph separators";
	if (uc_is_general_category(cp, UC_CATEGORY_Co))
		return "private-use characters";
	if (uc_is_general_category(cp, UC_CATEGORY_Cn))
		return "unassigned code points";
	if (uc_is_general_category(cp, UC_CATEGORY_Zs) && cp != 0x20)
		return "spaces other than U+0020";
	if (cp == 0x2800)
		return "blank characters";
	if (uc_is_property_default_ignorable_code_point(cp) && !is_vs_emoji(cp))
		return "invisible characters";
	return NULL;
}

static int check_nfc(const char *what, const uint8_t *s, size_t n, chat_error_t *err)
{
	size_t i = 0, chars = 0;
	ucs4_t cp, prev = 0;
	const char *why;
	int k;

	if (n == 0)
		return chat_error_set(err, CHAT_EINVAL, "%s may not be empty", what);
	while (i < n) {
		k = u8_mbtouc_unsafe(&cp, s + i, n - i);
		if (++chars > NAMES_CHARS_MAX)
			return chat_error_set(err, CHAT_ETOOBIG, "%s are at most %d characters",
					      what, NAMES_CHARS_MAX);
		if ((why = refused(cp)) != NULL)
			return chat_error_set(err, CHAT_EINVAL, "%s may not hold %s (U+%04X)", what,
					      why, (unsigned)cp);
		if (chars == 1 && (uc_is_general_category(cp, UC_CATEGORY_M) || is_vs_emoji(cp)))
			return chat_error_set(err, CHAT_EINVAL,
					      "%s may not start with a combining mark (U+%04X)",
					      what, (unsigned)cp);
		if (is_vs_emoji(cp) && (is_vs_emoji(prev) || prev == 0x20))
			return chat_error_set(err, CHAT_EINVAL,
					      "%s may hold U+%04X only after a visible character",
					      what, (unsigned)cp);
		if (cp == 0x20 && (chars == 1 || prev == 0x20))
			return chat_error_set(err, CHAT_EINVAL, "%s may not %s", what,
					      chars == 1 ? "start with a space"
							 : "hold two spaces in a row");
		prev = cp;
		i += (size_t)k;
	}
	if (prev == 0x20)
		return chat_error_set(err, CHAT_EINVAL, "%s may not end with a space", what);
	return CHAT_OK;
}

int names_check(const char *what, chat_slice_t s, char out[NAMES_NFC_MAX + 1], size_t *out_len,
		chat_error_t *err)
{
	/* NFC may grow a string (up to 3 times, UAX #15); room for the
	 * longest valid name is all that is kept. */
	uint8_t tmp[NAMES_NFC_MAX * 3];
	size_t len = 0;
	int rc;

	out[0] = '\0';
	if (s.len > NAMES_INPUT_MAX) {
		rc = chat_error_set(err, CHAT_ETOOBIG, "%s are at most %d characters", what,
				    NAMES_CHARS_MAX);
		goto out;
	}
	if (s.len > 0 && u8_check((const uint8_t *)s.ptr, s.len) != NULL) {
		rc = chat_error_set(err, CHAT_EUTF8, "%s must be valid UTF-8", what);
		goto out;
	}
	rc = nfc((const uint8_t *)s.ptr, s.len, tmp, sizeof(tmp), &len);
	if (rc == CHAT_ETOOBIG || (rc == CHAT_OK && len > NAMES_NFC_MAX)) {
		rc = chat_error_set(err, CHAT_ETOOBIG, "%s are at most %d characters", what,
				    NAMES_CHARS_MAX);
		goto out;
	}
	if (rc != CHAT_OK) {
		rc = chat_error_set(err, rc, "%s: %s", what, chat_strerror(rc));
		goto out;
	}
	rc = check_nfc(what, tmp, len, err);
	if (rc == CHAT_OK) {
		memcpy(out, tmp, len);
		out[len] = '\0';
	}
out:
	if (out_len != NULL)
		*out_len = rc == CHAT_OK ? len : 0;
	return rc;
}

/* One pass of toCasefold then NFKC (libunistring: NFKC(toCasefold(NFD(s)))). */
static int fold(const uint8_t *s, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t len = cap;
	uint8_t *res = u8_casefold(s, n, NULL, UNINORM_NFKC, out, &len);

	return into(res, out, len, cap, out_len);
}

int names_key(chat_slice_t s, char out[NAMES_KEY_MAX + 1], size_t *out_len, chat_error_t *err)
{
	uint8_t t0[NAMES_KEY_MAX], t1[NAMES_KEY_MAX];
	size_t l0 = 0, l1 = 0, o = 0, i = 0;
	ucs4_t cp;
	int k, rc = CHAT_OK;

	out[0] = '\0';
	if (s.len > 0 && u8_check((const uint8_t *)s.ptr, s.len) != NULL) {
		rc = chat_error_set(err, CHAT_EUTF8, "a name must be valid UTF-8");
		goto out;
	}
	/* The emoji variation selectors go first: dropped after normalising,
	 * they would leave combining marks side by side out of canonical
	 * order, and the key would not be its own key. */
	while (i < s.len && rc == CHAT_OK) {
		k = u8_mbtouc_unsafe(&cp, (const uint8_t *)s.ptr + i, s.len - i);
		if (!is_vs_emoji(cp)) {
			if (l0 + (size_t)k > sizeof(t0))
				rc = CHAT_ETOOBIG;
			else
				memcpy(t0 + l0, s.ptr + i, (size_t)k), l0 += (size_t)k;
		}
		i += (size_t)k;
	}
	/* Twice, as Unicode's compatibility caseless matching (D146) does:
	 * NFKC can make letters that fold again ("\u3392" -> "MHz"). */
	if (rc == CHAT_OK)
		rc = fold(t0, l0, t1, sizeof(t1), &l1);
	if (rc == CHAT_OK)
		rc = fold(t1, l1, (uint8_t *)out, NAMES_KEY_MAX, &o);
	if (rc != CHAT_OK) {
		o = 0;
		out[0] = '\0';
		rc = chat_error_set(err, rc, "%s",
				    rc == CHAT_ETOOBIG ? "the name's compatibility form is too long"
						       : chat_strerror(rc));
		goto out;
	}
	out[o] = '\0';
out:
	if (out_len != NULL)
		*out_len = rc == CHAT_OK ? o : 0;
	return rc;
}

int names_check_key(const char *what, chat_slice_t s, char nfc_out[NAMES_NFC_MAX + 1],
		    char key[NAMES_KEY_MAX + 1], chat_error_t *err)
{
	char n[NAMES_NFC_MAX + 1], k[NAMES_KEY_MAX + 1];
	size_t len;
	int rc;

	if ((rc = names_check(what, s, n, &len, err)) == CHAT_OK)
		rc = names_key((chat_slice_t){ n, len }, k, NULL, err);
	if (nfc_out != NULL)
		memcpy(nfc_out, n, rc == CHAT_OK ? len + 1 : 1);
	if (key != NULL) {
		if (rc == CHAT_OK)
			memcpy(key, k, strlen(k) + 1);
		else
			key[0] = '\0';
	}
	if (nfc_out != NULL && rc != CHAT_OK)
		nfc_out[0] = '\0';
	return rc;
}
