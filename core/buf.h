/*
 * buf.h - a growable byte buffer whose maximum size is fixed when it is
 * created (curl's dynbuf).  Every buffer fed by a client has such a cap;
 * growing past it fails with CHAT_ETOOBIG and leaves the contents intact.
 * The data is always NUL-terminated (the NUL is not counted in len and does
 * not count against max) so it can be handed to C string APIs.
 */
#ifndef CHAT_BUF_H
#define CHAT_BUF_H

#include "chat.h"

typedef struct chat_buf {
	char *data; /* owned; NULL until the first append */
	size_t len; /* bytes used, excluding the trailing NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len, fixed at init */
} chat_buf_t;

/* Initialises an empty buffer that may hold at most max bytes.  Allocates
 * nothing; a buffer needs chat_buf_free() only once something was appended. */
void chat_buf_init(chat_buf_t *b, size_t max);

/* Frees the storage and returns b to the empty state (same max).  NULL-safe. */
void chat_buf_free(chat_buf_t *b);

/* Forgets the contents but keeps the storage for reuse. */
void chat_buf_reset(chat_buf_t *b);

/* Appends n bytes.  Returns 0, CHAT_ETOOBIG past max, or CHAT_ENOMEM. */
int chat_buf_append(chat_buf_t *b, const void *p, size_t n);

/* Appends a NUL-terminated string. */
int chat_buf_puts(chat_buf_t *b, const char *s);

/* Appends one byte. */
int chat_buf_putc(chat_buf_t *b, char c);

/* Appends printf-style formatted text. */
int chat_buf_printf(chat_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Drops everything after the first len bytes (a no-op when len >= b->len):
 * the all-or-nothing rollback of a failed render. */
void chat_buf_truncate(chat_buf_t *b, size_t len);

/* Removes the first n bytes (n <= len), shifting the rest down. */
void chat_buf_consume(chat_buf_t *b, size_t n);

/* Hands the storage to the caller (to free()) and empties b.  Returns a
 * NUL-terminated string ("" as a fresh allocation when empty) or NULL on
 * allocation failure; *len_out, if given, gets the length. */
char *chat_buf_detach(chat_buf_t *b, size_t *len_out);

/* A slice viewing the current contents (valid until the next change). */
chat_slice_t chat_buf_slice(const chat_buf_t *b);

#endif
