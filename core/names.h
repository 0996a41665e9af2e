/*
 * names.h - the rules for names people read: room names and users'
 * display names, in any script.  Pure functions over byte buffers (the
 * Unicode tables are libunistring's); no IO, no logging, and nothing
 * allocated that outlives a call.  A name is 1..NAMES_CHARS_MAX code points
 * of UTF-8 in NFC; what is refused, and when two names are the same:
 * docs/protocol.md#names (and docs/i18n.md).
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
