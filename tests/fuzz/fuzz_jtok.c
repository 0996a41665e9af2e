/*
 * fuzz_jtok.c - the bounded JSON tokenizer (core/jtok).  Invariants: a
 * failure leaves no tokens; on success every token lies inside the input,
 * its subtree ends after it and within the document, the first token spans
 * the value, every string token decodes, and every member of every object
 * is found again by its key (the first of a repeated key).
 */
#include "config.h"
#include "jtok.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXTOK 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static jtok_t t[MAXTOK];
	jtok_doc_t d = { NULL, 0, t, 0, MAXTOK };
	chat_buf_t s;
	size_t i, k, m;
	int rc = jtok_parse(&d, (const char *)data, size);

	if (rc != CHAT_OK) {
		if (d.n != 0)
			abort();
		return 0;
	}
	if (d.n == 0 || d.t[0].next != d.n)
		abort();
	chat_buf_init(&s, size + 1);
	for (i = 0; i < d.n; i++) {
		if (t[i].start > t[i].end || t[i].end > size || t[i].next <= i || t[i].next > d.n)
			abort();
		if (t[i].type == JTOK_STRING) {
			chat_buf_reset(&s);
			if (jtok_string(&d, i, &s) != CHAT_OK)
				abort();
		}
		if (t[i].type != JTOK_OBJECT)
			continue;
		for (m = 0, k = i + 1; m < t[i].size; m++) {
			chat_buf_reset(&s);
			if (t[k].type != JTOK_STRING || jtok_string(&d, k, &s) != CHAT_OK)
				abort();
			/* A key with a NUL cannot be asked for by name. */
			if (memchr(s.data ? s.data : "", 0, s.len) == NULL &&
			    jtok_member(&d, i, s.data ? s.data : "") == JTOK_NONE)
				abort();
			k = t[k + 1].next;
		}
		if (k != t[i].next)
			abort();
	}
	chat_buf_free(&s);
	return 0;
}
