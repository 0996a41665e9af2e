/* buf.c - bounded growable byte buffer (see buf.h). */
#include "config.h"
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void chat_buf_init(chat_buf_t *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void chat_buf_free(chat_buf_t *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void chat_buf_reset(chat_buf_t *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static int buf_reserve(chat_buf_t *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max - b->len)
		return CHAT_ETOOBIG;
	need = b->len + extra + 1; /* +1 for the NUL */
	if (need <= b->cap)
		return CHAT_OK;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (p == NULL)
		return CHAT_ENOMEM;
	b->data = p;
	b->cap = cap;
	return CHAT_OK;
}

int chat_buf_append(chat_buf_t *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);

	if (rc != CHAT_OK)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CHAT_OK;
}

int chat_buf_puts(chat_buf_t *b, const char *s)
{
	return chat_buf_append(b, s, strlen(s));
}

int chat_buf_putc(chat_buf_t *b, char c)
{
	return chat_buf_append(b, &c, 1);
}

int chat_buf_printf(chat_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CHAT_EINVAL;
	rc = buf_reserve(b, (size_t)n);
	if (rc != CHAT_OK)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return CHAT_OK;
}

void chat_buf_truncate(chat_buf_t *b, size_t len)
{
	if (b->len > len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

void chat_buf_consume(chat_buf_t *b, size_t n)
{
	if (n >= b->len) {
		chat_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *chat_buf_detach(chat_buf_t *b, size_t *len_out)
{
	char *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	if (p == NULL)
		return NULL;
	if (len_out != NULL)
		*len_out = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

chat_slice_t chat_buf_slice(const chat_buf_t *b)
{
	chat_slice_t s = { b->data ? b->data : "", b->len };

	return s;
}
