/* origin.c - the `origins` rule (see origin.h). */
#include "config.h"
#include "origin.h"

#include "chat.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Whether port[0..n) is one of the comma-separated list[0..ln) ("*": any). */
static int port_listed(const char *list, size_t ln, const char *port, size_t n)
{
	size_t i = 0;

	while (i <= ln) {
		size_t j = i;

		while (j < ln && list[j] != ',')
			j++;
		while (i < j && list[i] == ' ')
			i++;
		if (j - i == n && memcmp(list + i, port, n) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/* One item of the option against the origin. */
static int item_allows(chat_slice_t item, const char *origin, size_t n)
{
	const char *ports = NULL, *colon = NULL, *sep;
	size_t pn = 0, on = n, i, digits = 0;

	if (item.len == 1 && item.ptr[0] == '*')
		return 1;
	/* Spring's port list: PATTERN:[8080,8081] or PATTERN:[*]. */
	if (item.len >= 4 && item.ptr[item.len - 1] == ']') {
		for (i = item.len - 1; i > 0 && colon == NULL; i--)
			if (item.ptr[i - 1] == ':' && item.ptr[i] == '[')
				colon = item.ptr + i - 1;
		if (colon == NULL)
			return 0;
		ports = colon + 2;
		pn = (size_t)(item.ptr + item.len - 1 - ports);
		item.len = (size_t)(colon - item.ptr);
	}
	if (ports == NULL)
		return chat_glob(item.ptr, item.len, origin, n, CHAT_GLOB_NOCASE);
	/* The origin's own port: digits after the last ':' past "://". */
	sep = strstr(origin, "://");
	while (digits < n && isdigit((unsigned char)origin[n - 1 - digits]))
		digits++;
	if (sep != NULL && digits >= 1 && digits <= 5 && digits < n && origin[n - 1 - digits] == ':' &&
	    origin + n - 1 - digits > sep + 2)
		on = n - 1 - digits;
	if (pn == 1 && ports[0] == '*')
		return chat_glob(item.ptr, item.len, origin, on, CHAT_GLOB_NOCASE);
	return on < n && port_listed(ports, pn, origin + on + 1, n - on - 1) &&
	       chat_glob(item.ptr, item.len, origin, on, CHAT_GLOB_NOCASE);
}

int origin_allowed(const char *origin, const char *origins)
{
	const char *p = origins;
	chat_slice_t item;
	size_t n;

	if (origin == NULL || !strcmp(origin, "null") || p == NULL || !strcmp(p, "*"))
		return 1;
	n = strlen(origin);
	/* Spring drops one trailing '/' of an Origin before comparing. */
	if (n > 0 && origin[n - 1] == '/')
		n--;
	if (n == 0)
		return 0;
	while (chat_list_next(&p, &item))
		if (item_allows(item, origin, n))
			return 1;
	return 0;
}
