/*
 * json_int.h - what the JSON string and array code (json.c) and the JSON
 * object reader (json_object.c) share; not for other modules.
 */
#ifndef CHAT_JSON_INT_H
#define CHAT_JSON_INT_H

#include "json.h"

/* A decoder's cursor over the input. */
typedef struct json__cursor {
	const unsigned char *p;
	size_t len;
	size_t pos;
} json__cursor_t;

/* Flag for json__decode_string(): a lone surrogate escape is CHAT_EUTF8
 * instead of U+FFFD. */
#define JSON__DEC_STRICT 1u

/* Skips JSON whitespace at c->pos. */
void json__skip_ws(json__cursor_t *c);

/* The one JSON string decoder: decodes the literal whose opening quote is
 * at c->pos, leaving c->pos just past its closing quote, and appends its
 * UTF-8 to out (NULL: only checks it).  Escapes are undone and surrogate
 * pairs joined; a lone surrogate becomes U+FFFD (JSON.parse's reading, as
 * SockJS needs) or, with JSON__DEC_STRICT, is CHAT_EUTF8.  Returns 0,
 * CHAT_EINVAL, CHAT_EUTF8 (also raw bytes that are not UTF-8),
 * CHAT_ETOOBIG, CHAT_ENOMEM; err (may be NULL) gets a short reason for the
 * first two.  On failure out may hold part of the string. */
int json__decode_string(json__cursor_t *c, unsigned flags, chat_buf_t *out, chat_error_t *err);

#endif
