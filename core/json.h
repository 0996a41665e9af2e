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
 *
 * Objects are read by json_parse_object() (json_object.c): one small flat
 * object whose named members are extracted, for the chat post and the HTTP
 * API's bodies.  Its strings are decoded by the same decoder, except that a
 * lone surrogate is CHAT_EUTF8 there: a post's text must be valid UTF-8.
 */
#ifndef CHAT_JSON_H
#define CHAT_JSON_H

#include "buf.h"
#include "chat.h"

#include <stdint.h>

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

/* Bounds for json_parse_object(). */
typedef struct json_object_limits {
	size_t max_members; /* members of the object (and fields asked for) */
	size_t max_number;  /* characters of a number */
	size_t max_key;     /* bytes of a decoded member name */
} json_object_limits_t;

/* A member json_parse_object() looks for. */
typedef struct json_field {
	const char *name; /* member name (NUL-terminated) */
	chat_buf_t *str;  /* string member: the decoded value is appended here (its
			   * max bounds it); NULL: an integer member (into num) */
	int required;     /* 1: a missing member is CHAT_EINVAL */
	int found;        /* out: 1 when the member was present */
	int64_t num;      /* out: an integer member's value */
	size_t start;     /* private: str's length before the parse */
} json_field_t;

/* Parses p[0..len), one flat JSON object (whitespace around it allowed)
 * whose members are strings, numbers, true, false or null - no nested
 * objects or arrays -, with at most lim->max_members members, no member
 * name starting with '$' (nothing a client sends can become a database
 * operator downstream), member names of at most lim->max_key bytes and
 * numbers of at most lim->max_number characters; strings are valid UTF-8
 * once decoded (a lone surrogate escape is CHAT_EUTF8).  Extracts the
 * nfields (<= lim->max_members) named members; other members are read and
 * ignored.  A string field must be a string without NUL once decoded; an
 * integer field a JSON number without fraction or exponent within int64.
 * Returns 0; CHAT_EINVAL (not such an object, a field of the wrong type,
 * given twice, or required and missing); CHAT_EUTF8; CHAT_ETOOBIG (a
 * string over its buffer's max, a number too long or out of range);
 * CHAT_ETOOMANY; CHAT_ENOMEM.  On failure every buffer is left as it was
 * and no field is found.  err (may be NULL) gets a short reason naming the
 * member. */
int json_parse_object(const char *p, size_t len, const json_object_limits_t *lim,
		      json_field_t *fields, size_t nfields, chat_error_t *err);

#endif
