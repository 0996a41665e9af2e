/*
 * fuzz_origin.c - the `origins` rule (core/origin.c) over an Origin header
 * a client chose, and the list options' parsers (dest_prefixes_parse(),
 * route_endpoints_parse()) over any text.  The input is split at its first
 * NUL into an origin and the option.  Checks invariants: "*" allows any
 * origin, an origin always allows itself when it has no pattern characters
 * and no list separator, and classification by parsed prefixes gives a
 * rest inside the destination.
 */
#include "config.h"
#include "dest.h"
#include "fuzz.h"
#include "origin.h"
#include "route.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *origin = malloc(size + 1), *option,
	     endpoint[ROUTE_ENDPOINTS_MAX][ROUTE_ENDPOINT_MAX + 1];
	const char *nul;
	dest_prefixes_t p;
	chat_slice_t rest = { NULL, 0 };
	size_t n;

	if (origin == NULL)
		return 0;
	memcpy(origin, data, size);
	origin[size] = '\0';
	nul = memchr(origin, '\0', size);
	option = nul != NULL && nul < origin + size ? origin + (nul - origin) + 1 : origin + size;
	if (!origin_allowed(origin, "*"))
		abort();
	(void)origin_allowed(origin, option);
	n = strlen(origin);
	if (n > 0 && origin[n - 1] != '/' && strpbrk(origin, "*,[] \t") == NULL &&
	    !origin_allowed(origin, origin))
		abort();
	if (dest_prefixes_parse(&p, option, option, option, NULL) == CHAT_OK ||
	    dest_prefixes_parse(&p, "/app", option, "/user", NULL) == CHAT_OK) {
		chat_slice_t d = { origin, n };

		if (dest_classify_in(&p, d, &rest) != DEST_OTHER &&
		    (rest.ptr < d.ptr || rest.ptr + rest.len > d.ptr + d.len || rest.len < 2))
			abort();
	}
	if (route_endpoints_parse(option, endpoint, &n, NULL) == CHAT_OK &&
	    (n == 0 || n > ROUTE_ENDPOINTS_MAX || endpoint[0][0] != '/'))
		abort();
	free(origin);
	return 0;
}
