/*
 * fuzz_mediatype.c - the media-type check and comparison (core/mediatype.c)
 * over any content-type value.  Checks their contracts: an accepted value
 * is at most MEDIATYPE_MAX bytes, starts with a token and holds a '/' and
 * no CR, LF or NUL; neither answer depends on the case of ASCII letters.
 */
#include "config.h"
#include "fuzz.h"
#include "mediatype.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char form[] = "application/x-www-form-urlencoded";
	char *v = malloc(size + 1), *upper = malloc(size + 1);
	int ok;

	if (v == NULL || upper == NULL)
		goto out;
	memcpy(v, data, size);
	for (size_t i = 0; i < size; i++)
		upper[i] = v[i] >= 'a' && v[i] <= 'z' ? (char)(v[i] - 'a' + 'A') : v[i];
	ok = mediatype_valid((chat_slice_t){ v, size });
	if (ok && (size == 0 || size > MEDIATYPE_MAX || memchr(v, '/', size) == NULL ||
		   memchr(v, '\r', size) != NULL || memchr(v, '\n', size) != NULL ||
		   memchr(v, '\0', size) != NULL || v[0] == '/' || v[0] == ' '))
		abort();
	if (mediatype_valid((chat_slice_t){ upper, size }) != ok)
		abort();
	if (mediatype_is((chat_slice_t){ v, size }, form) !=
	    mediatype_is((chat_slice_t){ upper, size }, form))
		abort();
out:
	free(v);
	free(upper);
	return 0;
}
