/*
 * fuzz_dest.c - destination validation and matching.  The input is split at
 * its first NUL into a pattern and a destination.  Checks invariants: a
 * valid destination matches itself and the all-pattern; a match implies both sides
 * are valid; user splitting yields slices inside the input.
 */
#include "config.h"
#include "dest.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	const char *nul = memchr(buf, '\0', size);
	chat_slice_t p, d, user, rest;

	p.ptr = buf;
	p.len = nul ? (size_t)(nul - buf) : size;
	d.ptr = nul ? nul + 1 : buf;
	d.len = nul ? size - p.len - 1 : size;

	if (dest_match(p, d) && (dest_validate(p, 1) != CHAT_OK || dest_validate(d, 0) != CHAT_OK))
		abort();
	if (dest_validate(d, 0) == CHAT_OK) {
		if (!dest_match(d, d) || !dest_match(CHAT_SLICE("/**"), d))
			abort();
	}
	(void)dest_classify(d);
	if (dest_user_split(d, &user, &rest) == CHAT_OK) {
		if (user.ptr < d.ptr || user.ptr + user.len > d.ptr + d.len || rest.ptr < d.ptr ||
		    rest.ptr + rest.len > d.ptr + d.len || rest.len == 0)
			abort();
	}
	return 0;
}
