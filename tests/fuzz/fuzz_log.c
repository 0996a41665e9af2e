/*
 * fuzz_log.c - the log line formatter (log_format_line), whose messages
 * and values carry what clients sent.  The first byte picks the format and
 * the line's room; the rest is split at its first NUL into the message and
 * a field's value.  Checks invariants: one line, ending in its only
 * newline, within the room; no raw control byte; the text form's quotes
 * and the JSON form's strings are closed; JSON is valid UTF-8 inside "{"
 * ... "}".
 */
#include "config.h"
#include "fuzz.h"
#include "logline.h"
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[4096], out[LOG_LINE_MAX];
	const char *nul;
	log_field_t f[2] = { { "user", NULL }, { "session", "c:#01234567" } };
	log_event_t ev = {
		LOG_FORMAT_TEXT, 1767323045678LL, "chat.fcgi", 42, LOG_LEVEL_INFO, in, f, 2
	};
	size_t cap, n, i;
	int quoted = 0;

	if (size == 0 || size >= sizeof(in))
		return 0;
	ev.format = data[0] & 1 ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT;
	cap = 128 + (size_t)(data[0] >> 1) * ((sizeof(out) - 128) / 127);
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	nul = memchr(in, '\0', size - 1);
	f[0].value = nul != NULL && nul + 1 < in + size - 1 ? nul + 1 : NULL;
	n = log_format_line(out, cap, &ev);
	if (n >= cap || n != strlen(out) || n == 0 || out[n - 1] != '\n' ||
	    memchr(out, '\n', n - 1) != NULL)
		abort();
	for (i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < ' ' || c == 0x7f)
			abort();
		if (c == '\\') {
			if (!quoted)
				abort(); /* escapes only inside quotes */
			i++;             /* the escaped byte */
		} else if (c == '"') {
			quoted = !quoted;
		}
	}
	if (quoted)
		abort();
	if (ev.format == LOG_FORMAT_JSON) {
		if (out[0] != '{' || n < 3 || out[n - 2] != '}')
			abort();
		for (i = 0; i + 1 < n;) {
			size_t k = utf8_decode((const unsigned char *)out + i, n - 1 - i, NULL);

			if (k == 0)
				abort();
			i += k;
		}
	}
	return 0;
}
