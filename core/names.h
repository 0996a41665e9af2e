/*
 * names.h - the rules for names people read: room names and users'
 * display names, in any script.  Pure functions over byte buffers (the
 * Unicode tables are libunistring's); no IO, no logging, and nothing
 * allocated that outlives a call.
 *
 * A name is 1..NAMES_CHARS_MAX characters (code points) of UTF-8, stored
 * in Unicode Normalization Form C: "자유게시판" typed as conjoining jamo
 * (NFD) and as precomposed syllables (NFC) is one name.  Refused, each
 * with a sentence that names the code point:
 *  - control characters (Cc), format characters (Cf: among them the bidi
 *    embeddings, overrides and isolates U+202A-202E and U+2066-2069, the
 *    marks U+200E/U+200F/U+061C, ZERO WIDTH SPACE, ZWJ and ZWNJ, the BOM),
 *    line and paragraph separators, surrogates, private-use and
 *    unassigned code points (noncharacters included);
 *  - the other default-ignorable code points (invisible when shown: the
 *    Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors,
 *    COMBINING GRAPHEME JOINER...), except the emoji presentation
 *    selectors U+FE0E/U+FE0F right after a visible character;
 *  - spaces other than U+0020 (NO-BREAK SPACE, IDEOGRAPHIC SPACE...) and
 *    U+2800 BRAILLE PATTERN BLANK; a space at the start or end, or two in
 *    a row;
 *  - a combining mark as the first character.
 * ZWJ and ZWNJ are refused although Persian spelling and emoji sequences
 * use them: they are invisible, so "ab" and "a<ZWJ>b" would look the same,
 * and a name stays readable without them.  See docs/i18n.md.
 *
 * Uniqueness: two names are the same when their keys (names_key()) are
 * equal: NFKC of the case-folded name, without U+FE0E/U+FE0F, so "Chat",
 * "chat" and the full-width "Ｃｈａｔ" collide.
 */
#ifndef CHAT_NAMES_H
#define CHAT_NAMES_H

#include "chat.h"

#include <stddef.h>

#define NAMES_CHARS_MAX 64                  /* characters of a name */
#define NAMES_INPUT_MAX 1024                /* bytes names_check() reads at most */
#define NAMES_NFC_MAX (NAMES_CHARS_MAX * 4) /* bytes of a checked (NFC) name */
#define NAMES_KEY_MAX 1024                  /* bytes of a uniqueness key */

/* Checks the name s (what: "room names", "display names"... starts the
 * sentences in err) and writes its NFC form to out, NUL-terminated, with
 * its length in *out_len (may be NULL).  Returns 0; CHAT_EUTF8 (not
 * UTF-8); CHAT_ETOOBIG (over NAMES_INPUT_MAX bytes, or over
 * NAMES_CHARS_MAX characters once normalised); CHAT_EINVAL (empty, or a
 * refused character or placement).  On failure out holds "". */
int names_check(const char *what, chat_slice_t s, char out[NAMES_NFC_MAX + 1], size_t *out_len,
		chat_error_t *err);

/* Writes the uniqueness key of the checked name s (names_check()'s
 * output) to out, NUL-terminated, length in *out_len (may be NULL).
 * Returns 0, CHAT_EUTF8, or CHAT_ETOOBIG (the key would exceed
 * NAMES_KEY_MAX bytes: compatibility forms that expand a lot). */
int names_key(chat_slice_t s, char out[NAMES_KEY_MAX + 1], size_t *out_len, chat_error_t *err);

/* names_check() then names_key() in one call: what a store needs to
 * insert a name.  Either output may be NULL. */
int names_check_key(const char *what, chat_slice_t s, char nfc[NAMES_NFC_MAX + 1],
		    char key[NAMES_KEY_MAX + 1], chat_error_t *err);

#endif
