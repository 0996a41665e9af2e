/*
 * fuzz_json.c - the SockJS JSON string-array decoder and the xhr_send /
 * jsonp_send payload parser.
 *
 * Input: byte 0 picks the mode, the rest is the body.
 *   mode % 4 == 0: json_decode_array, arrays only
 *   mode % 4 == 1: json_decode_array with bare strings (WebSocket)
 *   mode % 4 == 2: sockjs_parse_send xhr_send
 *   mode % 4 == 3: sockjs_parse_send jsonp_send, form-encoded when mode & 4
 * Invariants whenever the input decodes:
 *   - every item is valid UTF-8 (json_encode_string accepts it);
 *   - decode(encode(items)) == items, and encode of that is byte-identical
 *     (the encoding is canonical);
 *   - each transport wrapping of the a[...] frame succeeds, and the
 *     eventsource one has no raw CR/LF before its terminator;
 *   - failures name an error body and leave the list empty.
 */
#include "config.h"
#include "fuzz.h"
#include "json.h"
#include "sockjs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES (64 * 1024)
#define MAX_ITEMS 64

static int same_items(const json_strv_t *a, const json_strv_t *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		chat_slice_t x = json_strv_at(a, i), y = json_strv_at(b, i);

		if (x.len != y.len || (x.len && memcmp(x.ptr, y.ptr, x.len) != 0))
			return 0;
	}
	return 1;
}

static void check_round_trip(const json_strv_t *v)
{
	chat_slice_t items[MAX_ITEMS];
	chat_buf_t enc, enc2, frame, w;
	json_strv_t v2;
	size_t i;
	int t;

	for (i = 0; i < v->n; i++)
		items[i] = json_strv_at(v, i);
	chat_buf_init(&enc, 16 * MAX_BYTES);
	chat_buf_init(&enc2, 16 * MAX_BYTES);
	chat_buf_init(&frame, 16 * MAX_BYTES);
	chat_buf_init(&w, 64 * MAX_BYTES);
	json_strv_init(&v2, MAX_BYTES, MAX_ITEMS);

	if (json_encode_array(&enc, items, v->n) != CHAT_OK)
		abort();
	if (json_decode_array(enc.data, enc.len, 0, &v2) != CHAT_OK)
		abort();
	if (!same_items(v, &v2))
		abort();
	for (i = 0; i < v2.n; i++)
		items[i] = json_strv_at(&v2, i);
	if (json_encode_array(&enc2, items, v2.n) != CHAT_OK)
		abort();
	if (enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0)
		abort();

	if (sockjs_frame_messages(&frame, items, v2.n) != CHAT_OK)
		abort();
	for (t = 0; t < SOCKJS_TRANSPORT_COUNT; t++) {
		int rc;

		chat_buf_reset(&w);
		rc = sockjs_wrap(&w, (sockjs_transport_t)t, CHAT_SLICE("cb"),
				 chat_buf_slice(&frame));
		if (t == SOCKJS_XHR_SEND || t == SOCKJS_JSONP_SEND) {
			if (rc != CHAT_EINVAL || w.len != 0)
				abort();
			continue;
		}
		if (rc != CHAT_OK)
			abort();
		if (t == SOCKJS_EVENTSOURCE) {
			const char *crlf = memchr(w.data, '\r', w.len);

			if (crlf != w.data + w.len - 4 ||
			    memchr(w.data, '\n', w.len) != w.data + w.len - 3)
				abort();
		}
		if (t == SOCKJS_HTMLFILE &&
		    memmem(w.data + 11, w.len - 11, "<", 1) != w.data + w.len - 11)
			abort(); /* the only '<' after the opening tag is </script> */
	}
	chat_buf_free(&enc);
	chat_buf_free(&enc2);
	chat_buf_free(&frame);
	chat_buf_free(&w);
	json_strv_free(&v2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_strv_t v;
	const char *body, *err = NULL;
	size_t len;
	unsigned mode;
	int rc;

	if (size == 0)
		return 0;
	mode = data[0];
	body = (const char *)data + 1;
	len = size - 1;
	json_strv_init(&v, MAX_BYTES, MAX_ITEMS);
	switch (mode % 4) {
	case 0: rc = json_decode_array(body, len, 0, &v); break;
	case 1: rc = json_decode_array(body, len, JSON_DEC_BARE_STRING, &v); break;
	case 2:
		rc = sockjs_parse_send(SOCKJS_XHR_SEND, CHAT_SLICE("text/plain"), body, len, &v,
				       &err);
		break;
	default:
		rc = sockjs_parse_send(SOCKJS_JSONP_SEND,
				       (mode & 4) ? CHAT_SLICE("application/x-www-form-urlencoded")
						  : CHAT_SLICE(""),
				       body, len, &v, &err);
		break;
	}
	if (rc == CHAT_OK) {
		check_round_trip(&v);
	} else {
		if (v.n != 0 || v.buf.len != 0)
			abort();
		if (mode % 4 >= 2 && err == NULL)
			abort();
	}
	json_strv_free(&v);
	return 0;
}
