/* chat.c - status names and error detail shared by every module. */
#include "config.h"
#include "chat.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *chat_strerror(int rc)
{
	switch (rc) {
	case CHAT_STOP: return "stopped";
	case CHAT_OK: return "success";
	case CHAT_EAGAIN: return "need more input";
	case CHAT_EINVAL: return "invalid input";
	case CHAT_ENOMEM: return "out of memory";
	case CHAT_ETOOBIG: return "size limit exceeded";
	case CHAT_ETOOMANY: return "count limit exceeded";
	case CHAT_ENOTFOUND: return "not found";
	case CHAT_EEXIST: return "already exists";
	case CHAT_EIO: return "I/O error";
	case CHAT_EDB: return "database error";
	case CHAT_ETIMEDOUT: return "timed out";
	case CHAT_EBUSY: return "busy";
	case CHAT_EUTF8: return "invalid UTF-8";
	case CHAT_EPROTO: return "protocol error";
	case CHAT_EDENIED: return "denied";
	case CHAT_ECLOSED: return "closed";
	case CHAT_EHELP: return "usage asked for";
	default: return "unknown error";
	}
}

int chat_error_set(chat_error_t *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return code;
}

int chat_slice_eq(chat_slice_t s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

static int glob_eq(char a, char b, int flags)
{
	if (flags & CHAT_GLOB_NOCASE)
		return tolower((unsigned char)a) == tolower((unsigned char)b);
	return a == b;
}

int chat_glob(const char *p, size_t pn, const char *s, size_t sn, int flags)
{
	size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star_p = pi++;
			star_s = si;
		} else if (pi < pn && ((p[pi] == '?' && (flags & CHAT_GLOB_QMARK)) ||
				       glob_eq(p[pi], s[si], flags))) {
			pi++;
			si++;
		} else if (star_p != (size_t)-1) {
			pi = star_p + 1;
			si = ++star_s;
		} else {
			return 0;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* The ',' that ends the item at p, or NULL: commas inside [...] (a port
 * list of the origins option) do not count. */
static const char *list_end(const char *p)
{
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']' && depth > 0)
			depth--;
		else if (*p == ',' && depth == 0)
			return p;
	}
	return NULL;
}

int chat_list_next(const char **s, chat_slice_t *item)
{
	const char *p = *s;

	while (*p != '\0') {
		const char *end = list_end(p);
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *next = p + len + (end != NULL);

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		*s = next;
		if (len > 0) {
			*item = (chat_slice_t){ p, len };
			return 1;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	*s = p + strlen(p);
	return 0;
}

int chat_array_reserve(void **v, size_t *cap, size_t n, size_t elem, size_t first, size_t max)
{
	size_t want;
	void *p;

	if (max == 0 || max > SIZE_MAX / elem)
		max = SIZE_MAX / elem;
	if (n >= max)
		return CHAT_ETOOMANY;
	if (n < *cap)
		return CHAT_OK;
	want = *cap ? (*cap > max / 2 ? max : *cap * 2) : first;
	if (want > max)
		want = max;
	if (want <= n)
		want = n + 1;
	p = realloc(*v, want * elem);
	if (p == NULL)
		return CHAT_ENOMEM;
	*v = p;
	*cap = want;
	return CHAT_OK;
}


const char *chat_error_reason(const chat_error_t *err, int rc)
{
	return err != NULL && err->message[0] != '\0' ? err->message : chat_strerror(rc);
}

int chat_addr_loopback(const char *addr)
{
	if (addr == NULL)
		return 0;
	if (strncmp(addr, "::ffff:", 7) == 0)
		addr += 7;
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
}
