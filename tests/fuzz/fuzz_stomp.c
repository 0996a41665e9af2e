/*
 * fuzz_stomp.c - the STOMP frame parser and serialiser.
 *
 * Input: byte 0 picks the version and the limits, bytes 1-4 seed the chunk
 * sizes, the rest is the byte stream, fed in chunks of those sizes.  Every
 * parsed frame must re-serialise, re-parse to the same frame (plus a
 * content-length the serialiser adds when the frame had a body and none),
 * and re-serialise to the same bytes.  The parser must honour its feed
 * contract (consumed <= len, all consumed on need-more, sticky errors).
 * abort() on any broken invariant.
 */
#include "config.h"
#include "fuzz.h"
#include "mediatype.h"
#include "stomp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int slice_same(chat_slice_t a, chat_slice_t b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Checks one frame the parser gave under version v and limits lim. */
static void check_frame(const stomp_frame_t *f, stomp_version_t v, const stomp_limits_t *lim)
{
	stomp_limits_t big = { lim->max_frame * 2 + 64, lim->max_headers + 1,
			       lim->max_line * 2 + 32 };
	stomp_parser_t q;
	stomp_frame_t g;
	chat_buf_t w1, w2;
	size_t used, n;
	int has_cl;

	if (stomp_command_name(f->command) == NULL ||
	    !chat_slice_eq(f->command_name, stomp_command_name(f->command)) ||
	    f->nheaders > lim->max_headers || f->body.ptr[f->body.len] != '\0')
		abort();
	for (size_t i = 0; i < f->nheaders; i++)
		if (f->headers[i].name.len == 0 ||
		    f->headers[i].name.ptr[f->headers[i].name.len] != '\0' ||
		    f->headers[i].value.ptr[f->headers[i].value.len] != '\0')
			abort();
	has_cl = stomp_frame_header(f, "content-length") != NULL;
	if (has_cl &&
	    (stomp_parse_content_length(*stomp_frame_header(f, "content-length"), &n) != CHAT_OK ||
	     n != f->body.len))
		abort();

	chat_buf_init(&w1, big.max_frame);
	chat_buf_init(&w2, big.max_frame);
	if (stomp_serialize(&w1, v, f->command, f->headers, f->nheaders, f->body.ptr,
			    f->body.len) != CHAT_OK)
		abort();
	if (stomp_parser_init(&q, &big) != CHAT_OK)
		abort();
	stomp_parser_set_version(&q, v);
	if (stomp_parser_feed(&q, w1.data, w1.len, &used, &g) != CHAT_OK || used != w1.len)
		abort();
	if (g.command != f->command || !slice_same(g.body, f->body))
		abort();
	n = f->nheaders + (!has_cl && f->body.len > 0);
	if (g.nheaders != n)
		abort();
	for (size_t i = 0; i < f->nheaders; i++)
		if (!slice_same(g.headers[i].name, f->headers[i].name) ||
		    !slice_same(g.headers[i].value, f->headers[i].value))
			abort();
	if (n > f->nheaders && !chat_slice_eq(g.headers[n - 1].name, "content-length"))
		abort();
	if (stomp_serialize(&w2, v, g.command, g.headers, g.nheaders, g.body.ptr, g.body.len) !=
		    CHAT_OK ||
	    w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0)
		abort();
	/* A content-type the broker accepts (a media type) renders for every
	 * version (db/broker_send.c refuses the rest at SEND). */
	if (stomp_frame_header(f, "content-type") != NULL &&
	    mediatype_valid(*stomp_frame_header(f, "content-type"))) {
		static const stomp_version_t all[] = { STOMP_V1_0, STOMP_V1_1, STOMP_V1_2 };

		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			chat_buf_reset(&w2);
			if (stomp_serialize_message(&w2, all[i], "s", "1", "/d",
						    stomp_frame_header(f, "content-type")->ptr,
						    NULL, 0, "", 0) != CHAT_OK)
				abort();
		}
	}
	stomp_parser_free(&q);
	chat_buf_free(&w1);
	chat_buf_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const stomp_version_t versions[] = { STOMP_V1_2, STOMP_V1_1, STOMP_V1_0 };
	stomp_limits_t lim = { 0, 0, 0 };
	stomp_parser_t p;
	stomp_frame_t f;
	uint32_t seed;
	stomp_version_t v;
	size_t pos, used;
	int rc = CHAT_EAGAIN;

	if (size < 5)
		return 0;
	v = versions[data[0] % 3];
	if (data[0] & 0x04) {
		/* Small limits, so that inputs reach every bound. */
		lim.max_frame = 16 + (data[0] >> 3) * 8;
		lim.max_headers = 1 + (data[0] >> 5);
		lim.max_line = 4 + (data[0] >> 4);
	}
	seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
	       (uint32_t)data[4] << 24;
	seed |= 1;
	if (stomp_parser_init(&p, &lim) != CHAT_OK)
		abort();
	stomp_parser_set_version(&p, v);
	for (pos = 5; pos < size;) {
		size_t chunk, left = size - pos;
		char *piece;

		/* xorshift32: chunk sizes from the seed, mostly small */
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		chunk = (seed & 0x80) ? 1 + (seed >> 8) % 4096 : 1 + (seed >> 8) % 16;
		if (chunk > left)
			chunk = left;
		/* An exact-size copy, so ASan catches reads past the chunk. */
		piece = malloc(chunk);
		if (piece == NULL)
			abort();
		memcpy(piece, data + pos, chunk);
		for (size_t off = 0; off < chunk;) {
			rc = stomp_parser_feed(&p, piece + off, chunk - off, &used, &f);
			if (used > chunk - off)
				abort();
			off += used;
			if (rc == CHAT_OK) {
				check_frame(&f, v, &p.lim);
			} else if (rc == CHAT_EAGAIN) {
				if (off != chunk)
					abort();
			} else {
				if (stomp_parser_error(&p) != rc ||
				    stomp_parser_error_detail(&p)[0] == '\0' ||
				    stomp_parser_feed(&p, piece, chunk, &used, &f) != rc ||
				    used != 0)
					abort();
				break;
			}
		}
		free(piece);
		if (rc != CHAT_OK && rc != CHAT_EAGAIN)
			break;
		pos += chunk;
	}
	stomp_parser_free(&p);
	return 0;
}
