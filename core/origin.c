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

/* Whether list[0..n) is "*" or ports (1..5 digits) separated by commas. */
static int port_list_valid(const char *list, size_t n)
{
	size_t i, digits = 0;

	if (n == 1 && list[0] == '*')
		return 1;
	for (i = 0; i <= n; i++) {
		if (i == n || list[i] == ',') {
			if (digits == 0 || digits > 5)
				return 0;
			digits = 0;
		} else if (isdigit((unsigned char)list[i])) {
			digits++;
		} else if (list[i] != ' ' || digits > 0) {
			return 0;
		}
	}
	return 1;
}

/* Splits Spring's port list off an item: PATTERN:[8080,8081] or
 * PATTERN:[*] gives 1, *base the pattern's length and *ports the list.
 * Brackets that hold no port list (an IPv6 host, http://[::1]) are not
 * one. */
static int split_ports(chat_slice_t item, size_t *base, chat_slice_t *ports)
{
	size_t i;

	if (item.len < 4 || item.ptr[item.len - 1] != ']')
		return 0;
	for (i = item.len - 1; i > 0 && item.ptr[i] != '['; i--)
		;
	if (i < 1 || item.ptr[i - 1] != ':' || !port_list_valid(item.ptr + i + 1, item.len - i - 2))
		return 0;
	*base = i - 1;
	*ports = (chat_slice_t){ item.ptr + i + 1, item.len - i - 2 };
	return 1;
}

/* One item of the option against the origin. */
static int item_allows(chat_slice_t item, const char *origin, size_t n)
{
	chat_slice_t ports;
	const char *sep;
	size_t on = n, digits = 0, base;

	if (item.len == 1 && item.ptr[0] == '*')
		return 1;
	if (!split_ports(item, &base, &ports))
		return chat_glob(item.ptr, item.len, origin, n, CHAT_GLOB_NOCASE);
	/* The origin's own port: digits after the last ':' past "://". */
	sep = strstr(origin, "://");
	while (digits < n && isdigit((unsigned char)origin[n - 1 - digits]))
		digits++;
	if (sep != NULL && digits >= 1 && digits <= 5 && digits < n &&
	    origin[n - 1 - digits] == ':' && origin + n - 1 - digits > sep + 2)
		on = n - 1 - digits;
	if (ports.len == 1 && ports.ptr[0] == '*')
		return chat_glob(item.ptr, base, origin, on, CHAT_GLOB_NOCASE);
	return on < n && port_listed(ports.ptr, ports.len, origin + on + 1, n - on - 1) &&
	       chat_glob(item.ptr, base, origin, on, CHAT_GLOB_NOCASE);
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

int origin_check(const char *origins, chat_error_t *err)
{
	const char *p = origins != NULL ? origins : "";
	chat_slice_t item, ports;

	while (chat_list_next(&p, &item)) {
		const char *sep = NULL;
		size_t i, end = item.len;

		if (item.len == 1 && item.ptr[0] == '*')
			continue;
		/* ":[" opens a port list only (an IPv6 host follows "//"). */
		if (!split_ports(item, &end, &ports))
			for (i = 0; i + 2 <= item.len; i++)
				if (item.ptr[i] == ':' && item.ptr[i + 1] == '[')
					return chat_error_set(
						err, CHAT_EINVAL,
						"origins: '%.*s': a port list is :[8080,8081] or :[*], at the end",
						(int)item.len, item.ptr);
		for (i = 0; i + 3 <= end && sep == NULL; i++)
			if (memcmp(item.ptr + i, "://", 3) == 0)
				sep = item.ptr + i;
		for (i = 0; sep != NULL && i < end; i++)
			if (item.ptr[i] <= ' ' || item.ptr[i] >= 0x7f)
				sep = NULL;
		if (sep == NULL || sep == item.ptr || sep + 3 >= item.ptr + end)
			return chat_error_set(
				err, CHAT_EINVAL,
				"origins: '%.*s' is not an origin or pattern (scheme://host[:port]; * for any run of characters; :[8080,8081] or :[*] for the ports)",
				(int)item.len, item.ptr);
	}
	return CHAT_OK;
}
