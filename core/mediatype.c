/* mediatype.c - the media-type check and comparison (see mediatype.h). */
#include "config.h"
#include "mediatype.h"

#include <string.h>

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Skips a token at v[*i]; 1 when it was not empty. */
static int skip_token(chat_slice_t v, size_t *i)
{
	size_t start = *i;

	while (*i < v.len && is_tchar((unsigned char)v.ptr[*i]))
		(*i)++;
	return *i > start;
}

/* Skips optional spaces and tabs. */
static void skip_ows(chat_slice_t v, size_t *i)
{
	while (*i < v.len && (v.ptr[*i] == ' ' || v.ptr[*i] == '\t'))
		(*i)++;
}

/* Skips a quoted-string at v[*i] (opening quote there); 1 when complete. */
static int skip_quoted(chat_slice_t v, size_t *i)
{
	for ((*i)++; *i < v.len; (*i)++) {
		unsigned char c = (unsigned char)v.ptr[*i];

		if (c == '"') {
			(*i)++;
			return 1;
		}
		if (c == '\\') {
			if (++(*i) >= v.len)
				return 0;
			c = (unsigned char)v.ptr[*i];
		}
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return 0;
	}
	return 0;
}

int mediatype_valid(chat_slice_t v)
{
	size_t i = 0;

	if (v.len == 0 || v.len > MEDIATYPE_MAX || !skip_token(v, &i) || i >= v.len ||
	    v.ptr[i++] != '/' || !skip_token(v, &i))
		return 0;
	for (;;) {
		skip_ows(v, &i);
		if (i == v.len)
			return 1;
		if (v.ptr[i++] != ';')
			return 0;
		skip_ows(v, &i);
		if (i == v.len)
			return 1; /* a trailing ";" is tolerated, as browsers do */
		if (!skip_token(v, &i) || i >= v.len || v.ptr[i++] != '=')
			return 0;
		if (i < v.len && v.ptr[i] == '"') {
			if (!skip_quoted(v, &i))
				return 0;
		} else if (!skip_token(v, &i)) {
			return 0;
		}
	}
}

int mediatype_is(chat_slice_t ct, const char *type)
{
	size_t b = 0, e, n = strlen(type), i;
	const char *semi = ct.len ? memchr(ct.ptr, ';', ct.len) : NULL;

	e = semi ? (size_t)(semi - ct.ptr) : ct.len;
	while (b < e && (ct.ptr[b] == ' ' || ct.ptr[b] == '\t'))
		b++;
	while (e > b && (ct.ptr[e - 1] == ' ' || ct.ptr[e - 1] == '\t'))
		e--;
	if (e - b != n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = ct.ptr[b + i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != type[i])
			return 0;
	}
	return 1;
}
