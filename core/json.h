/*
 * json.h - the only JSON SockJS needs: strings and arrays of strings.
 *
 * Encoding writes JSON string literals with SockJS's escaping rules, so the
 * bytes survive browsers, proxies and the WebSocket layer unchanged:
 *   - `"` and `\` as \" and \\; \b \f \n \r \t in short form;
 *   - as \uXXXX (lowercase hex): the rest of U+0000-U+001F, U+007F-U+009F,
 *     U+00AD, U+0600-U+0604, U+070F, U+17B4, U+17B5, U+200C-U+200F,
 *     U+2028-U+202F, U+2060-U+206F, U+FEFF, U+FFF0-U+FFFF;
 *   - code points above U+FFFF as an escaped UTF-16 surrogate pair
 *     (\ud83d\ude00), as sockjs-node does (it escapes U+D800-U+DFFF code
 *     units, and JavaScript strings hold astral characters as pairs);
 *   - everything else as raw UTF-8.
 *
 * Decoding parses the JSON texts that xhr_send, jsonp_send and WebSocket
 * messages carry: an array of strings (`["a","b"]`, JSON whitespace
 * allowed), optionally a single bare string (WebSocket, like sockjs-node).
 * All escapes are understood, surrogate pairs are joined, and a lone
 * surrogate (which JSON.parse accepts but UTF-8 cannot carry) becomes
 * U+FFFD.  Anything else - not an array, an item that is not a string, a raw
 * control character in a string, trailing garbage - is CHAT_EINVAL (SockJS
 * answers "Broken JSON encoding.").  Raw bytes in strings must be valid,
 * shortest-form UTF-8 without surrogates; otherwise CHAT_EUTF8.
 */
#ifndef CHAT_JSON_H
#define CHAT_JSON_H

#include "buf.h"
#include "chat.h"

/* Flags for json_encode_string_flags(). */
enum {
	JSON_ENC_HTML = 1 /* also escape < > & (\u003c \u003e \u0026): the
	                     literal is safe inside an HTML <script> element */
};

/* Flags for json_decode_array(). */
enum {
	JSON_DEC_BARE_STRING = 1 /* also accept one bare string as one item */
};

/* Appends s (len bytes of UTF-8) to out as a quoted JSON string literal with
 * SockJS escaping.  All or nothing: on failure out is left as it was.
 * Returns 0, CHAT_EUTF8 (s is not valid UTF-8), CHAT_ETOOBIG, CHAT_ENOMEM. */
int json_encode_string(chat_buf_t *out, const char *s, size_t len);

/* json_encode_string() with JSON_ENC_* flags. */
int json_encode_string_flags(chat_buf_t *out, const char *s, size_t len, unsigned flags);

/* Appends the n strings as a JSON array (`["a","b"]`, no spaces; `[]` for
 * n == 0).  All or nothing, same returns as json_encode_string(). */
int json_encode_array(chat_buf_t *out, const chat_slice_t *items, size_t n);

/* A decoded list of strings: the items' bytes back to back in one bounded
 * buffer, plus where each ends.  Both caps are fixed at init. */
typedef struct json_strv {
	chat_buf_t buf;   /* items' decoded UTF-8 back to back (owned) */
	size_t *ends;     /* ends[i] = offset in buf just past item i (owned) */
	size_t n;         /* number of items */
	size_t cap;       /* entries allocated in ends */
	size_t max_items; /* hard cap on n */
} json_strv_t;

/* Initialises an empty list holding at most max_bytes decoded bytes in all
 * and at most max_items items.  Allocates nothing. */
void json_strv_init(json_strv_t *v, size_t max_bytes, size_t max_items);

/* Frees the storage; v stays initialised (same caps) and empty.  NULL-safe. */
void json_strv_free(json_strv_t *v);

/* Empties v, keeping its storage. */
void json_strv_reset(json_strv_t *v);

/* Appends one item (copied).  Returns 0, CHAT_ETOOBIG, CHAT_ETOOMANY or
 * CHAT_ENOMEM (v unchanged on failure). */
int json_strv_push(json_strv_t *v, const char *s, size_t len);

/* Item i (i < v->n): a view into v->buf, valid until v changes.  Items are
 * not NUL-terminated and may contain NUL bytes (from \u0000). */
chat_slice_t json_strv_at(const json_strv_t *v, size_t i);

/* Parses the JSON text p[0..len) - an array of strings, or with
 * JSON_DEC_BARE_STRING also a single string - replacing v's contents with
 * the decoded items.  All or nothing: on failure v is empty.
 * Returns 0, CHAT_EINVAL (not such a JSON text, including len == 0),
 * CHAT_EUTF8 (invalid UTF-8 inside a string), CHAT_ETOOBIG (decoded bytes
 * over v's max_bytes), CHAT_ETOOMANY (items over max_items), CHAT_ENOMEM. */
int json_decode_array(const char *p, size_t len, unsigned flags, json_strv_t *v);

/* Decodes the JSON string literal that starts at p[0] (a '"'), appending its
 * decoded UTF-8 to out (NULL: only checks it); *used (may be NULL) gets the
 * bytes the literal takes, quotes included.  Escapes, surrogate pairs and
 * lone surrogates as json_decode_array().  All or nothing: on failure out is
 * left as it was.  Returns 0, CHAT_EINVAL, CHAT_EUTF8, CHAT_ETOOBIG (over
 * out's max), CHAT_ENOMEM. */
int json_decode_string(const char *p, size_t len, size_t *used, chat_buf_t *out);

#endif
