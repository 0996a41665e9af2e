/*
 * fuzz_hook.c - what comes back from the application hook: the bounded JSON
 * tokenizer (core/jtok), the HTTP/1.x response parser, the JSON answer and a
 * single message (core/hookmsg), each over the whole input.
 *
 * Invariants.  jtok: a failure leaves no tokens; on success every token lies
 * inside the input, its subtree ends after it and within the document, the
 * first token spans the value, every string decodes, and every member of
 * every object is found again by its key.  HTTP: the body lies inside the
 * input and "need more" never happens at EOF.  Answers: a failed one is
 * empty; a parsed one holds at most HOOKMSG_OUT_MAX messages within their
 * bounds; a failed single message leaves its buffers empty.
 */
#include "config.h"
#include "hookmsg.h"
#include "jtok.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXTOK 256
#define BODY_MAX 1024

static void check_tokens(const char *p, size_t size)
{
	static jtok_t t[MAXTOK];
	jtok_doc_t d = { NULL, 0, t, 0, MAXTOK };
	chat_buf_t s;
	size_t i, k, m;

	if (jtok_parse(&d, p, size) != CHAT_OK) {
		if (d.n != 0)
			abort();
		return;
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
}

static void check_http(const char *p, size_t size)
{
	hookmsg_http_t r;

	for (int eof = 0; eof < 2; eof++) {
		int rc = hookmsg_http_parse(p, size, eof, &r);

		if (eof && rc == CHAT_EAGAIN)
			abort();
		if (rc == CHAT_OK && (r.body.ptr < p || r.body.ptr + r.body.len > p + size ||
				      r.status < 100 || r.status > 999))
			abort();
	}
}

static void check_answers(const char *p, size_t size)
{
	hookmsg_answer_t a;
	hookmsg_out_t o;

	hookmsg_answer_init(&a, BODY_MAX);
	if (hookmsg_answer_parse(p, size, &a, NULL) != CHAT_OK) {
		if (a.n != 0 || a.has_error || a.out[0].body.len != 0)
			abort();
	} else {
		if (a.n > HOOKMSG_OUT_MAX || a.error.len > HOOKMSG_ERROR_MAX)
			abort();
		for (size_t i = 0; i < a.n; i++)
			if (a.out[i].body.len > BODY_MAX || a.out[i].dest.len > HOOKMSG_DEST_MAX)
				abort();
	}
	hookmsg_answer_free(&a);
	chat_buf_init(&o.dest, HOOKMSG_DEST_MAX);
	chat_buf_init(&o.ctype, HOOKMSG_CTYPE_MAX);
	chat_buf_init(&o.body, BODY_MAX);
	if (hookmsg_message_parse(p, size, &o, NULL) != CHAT_OK &&
	    (o.dest.len != 0 || o.ctype.len != 0 || o.body.len != 0))
		abort();
	chat_buf_free(&o.dest);
	chat_buf_free(&o.ctype);
	chat_buf_free(&o.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;

	check_tokens(p, size);
	check_http(p, size);
	check_answers(p, size);
	return 0;
}
