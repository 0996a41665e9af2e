/*
 * fuzz_hookhttp.c - what comes back from the application hook
 * (core/hookmsg): the HTTP/1.x response parser, then the JSON answer and
 * a single message in its body.  Invariants: the body lies inside the
 * input; "need more" never happens at EOF; a complete response stays
 * complete with more bytes after it only when it has a Content-Length; a
 * failed answer is empty; a parsed one holds at most HOOKMSG_OUT_MAX
 * messages within their bounds.
 */
#include "config.h"
#include "hookmsg.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	hookmsg_http_t r;
	hookmsg_answer_t a;
	hookmsg_out_t o;
	int eof;

	for (eof = 0; eof < 2; eof++) {
		int rc = hookmsg_http_parse(p, size, eof, &r);

		if (eof && rc == CHAT_EAGAIN)
			abort();
		if (rc == CHAT_OK &&
		    (r.body.ptr < p || r.body.ptr + r.body.len > p + size || r.status < 100 ||
		     r.status > 999))
			abort();
	}
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
	return 0;
}
