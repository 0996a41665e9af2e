/*
 * jtok.h - a bounded JSON tokenizer for the documents the server reads
 * whole (the hook's answers, POST /api/publish bodies): any JSON value,
 * nested, into a caller-owned array of tokens in document order (jsmn's
 * style).  Tokens point into the input; nothing is copied or allocated.
 * Strings are checked (escapes, UTF-8) while tokenizing and decoded on
 * demand with jtok_string().  Bounds: the caller's token count, nesting
 * depth JTOK_DEPTH_MAX, numbers of JTOK_NUMBER_MAX characters.  Pure code:
 * no IO, no logging.
 */
#ifndef CHAT_JTOK_H
#define CHAT_JTOK_H

#include "buf.h"
#include "chat.h"

#include <stddef.h>

#define JTOK_DEPTH_MAX 16  /* arrays and objects inside each other */
#define JTOK_NUMBER_MAX 32 /* characters of a number */
#define JTOK_NONE ((size_t)-1)

typedef enum jtok_type {
	JTOK_OBJECT,
	JTOK_ARRAY,
	JTOK_STRING,
	JTOK_NUMBER,
	JTOK_TRUE,
	JTOK_FALSE,
	JTOK_NULL
} jtok_type_t;

/* One value.  An object's members follow it as key, value, key, value...
 * (each key a JTOK_STRING); an array's items follow it. */
typedef struct jtok {
	jtok_type_t type;
	size_t start, end; /* the value's bytes in the input (a string's quotes included) */
	size_t size;       /* items of an array, members of an object, else 0 */
	size_t next;       /* index of the token after this value and everything in it */
} jtok_t;

/* A parsed document.  The caller sets t and max (the token array and its
 * length) before jtok_parse(); p, len and n are filled in. */
typedef struct jtok_doc {
	const char *p;
	size_t len;
	jtok_t *t;
	size_t n;
	size_t max;
} jtok_doc_t;

/* Tokenizes p[0..len): exactly one JSON value, whitespace around it.
 * Returns 0; CHAT_EINVAL (not JSON, or nested deeper than JTOK_DEPTH_MAX, a
 * number too long); CHAT_EUTF8 (invalid UTF-8 in a string); CHAT_ETOOMANY
 * (more than d->max tokens).  On failure d->n is 0. */
int jtok_parse(jtok_doc_t *d, const char *p, size_t len);

/* The value of member key of object token obj (the first when repeated),
 * or JTOK_NONE (absent, or obj is not an object). */
size_t jtok_member(const jtok_doc_t *d, size_t obj, const char *key);

/* The index of item i of array token arr, or JTOK_NONE. */
size_t jtok_item(const jtok_doc_t *d, size_t arr, size_t i);

/* Appends the decoded value of string token i to out.  Returns 0,
 * CHAT_EINVAL (not a string), CHAT_ETOOBIG (over out's max), CHAT_ENOMEM;
 * out unchanged on failure. */
int jtok_string(const jtok_doc_t *d, size_t i, chat_buf_t *out);

/* The bytes of token i as they are in the input. */
chat_slice_t jtok_text(const jtok_doc_t *d, size_t i);

#endif
