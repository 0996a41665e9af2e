/* origin.c - the `origins` rule (see origin.h). */
#include "config.h"
#include "origin.h"

#include <string.h>
#include <strings.h>

int origin_allowed(const char *origin, const char *origins)
{
	const char *p = origins;
	size_t n;

	if (origin == NULL || !strcmp(origin, "null") || p == NULL || !strcmp(p, "*"))
		return 1;
	n = strlen(origin);
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if ((len == 1 && *p == '*') || (len == n && strncasecmp(p, origin, n) == 0))
			return 1;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}
