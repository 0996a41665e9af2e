/*
 * fuzz_chatrow.c - the outbox row's header codec and the chat row's body
 * (core/chatrow.h), as the relay and the cluster read rows.  The first
 * byte splits the input into row headers and a body.  Invariants: a header
 * found lies inside the headers and is NUL-terminated there; a parsed chat
 * row has a positive id and non-empty strings, and rendered again as JSON
 * parses back to the same values; headers written with chatrow_hdr_put()
 * read back.
 */
#include "config.h"
#include "chatrow.h"
#include "json.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_get(chat_slice_t h, const char *name)
{
	chat_slice_t v;

	if (!chatrow_hdr_get(h, name, &v))
		return;
	if (v.ptr < h.ptr || v.ptr + v.len >= h.ptr + h.len || v.ptr[v.len] != '\0' ||
	    memchr(v.ptr, '\0', v.len) != NULL)
		abort();
}

static int render(chat_buf_t *out, const chatrow_msg_t *m, const chat_buf_t *room,
		  const chat_buf_t *writer, const chat_buf_t *text)
{
	int rc = chat_buf_printf(out, "{\"id\":%lld,\"seq\":%lld,\"time\":%lld,\"room\":",
				 (long long)m->id, (long long)m->room_seq, (long long)m->time_ms);

	if (rc == CHAT_OK)
		rc = json_encode_string(out, room->data, room->len);
	if (rc == CHAT_OK)
		rc = chat_buf_append(out, ",\"writer\":", 10);
	if (rc == CHAT_OK)
		rc = json_encode_string(out, writer->data, writer->len);
	if (rc == CHAT_OK)
		rc = chat_buf_append(out, ",\"text\":", 8);
	if (rc == CHAT_OK)
		rc = json_encode_string(out, text->data, text->len);
	return rc == CHAT_OK ? chat_buf_putc(out, '}') : rc;
}

static int same(const chat_buf_t *a, const chat_buf_t *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chat_buf_t room, writer, text, room2, writer2, text2, out, hdrs;
	chat_slice_t h, body, v;
	chatrow_msg_t m, m2;
	size_t n;

	if (size == 0)
		return 0;
	n = data[0] < size - 1 ? data[0] : size - 1;
	h = (chat_slice_t){ (const char *)data + 1, n };
	body = (chat_slice_t){ (const char *)data + 1 + n, size - 1 - n };
	check_get(h, CHATROW_H_KIND);
	check_get(h, CHATROW_H_ORIGIN);
	check_get(h, "");
	(void)chatrow_is_msg(h);
	chat_buf_init(&room, 128);
	chat_buf_init(&writer, 128);
	chat_buf_init(&text, 4096);
	chat_buf_init(&room2, 128);
	chat_buf_init(&writer2, 128);
	chat_buf_init(&text2, 4096);
	chat_buf_init(&out, 65536);
	chat_buf_init(&hdrs, 1024);
	if (chatrow_parse(body, &m, &room, &writer, &text) == CHAT_OK) {
		if (m.id <= 0 || room.len == 0 || writer.len == 0 || text.len == 0)
			abort();
		if (render(&out, &m, &room, &writer, &text) != CHAT_OK ||
		    chatrow_parse(chat_buf_slice(&out), &m2, &room2, &writer2, &text2) != CHAT_OK ||
		    m2.id != m.id || m2.room_seq != m.room_seq || m2.time_ms != m.time_ms ||
		    !same(&room, &room2) || !same(&writer, &writer2) || !same(&text, &text2))
			abort();
		/* The strings have no NUL (json_parse_object refuses one). */
		if (chatrow_hdr_put(&hdrs, CHATROW_H_KIND, CHATROW_KIND_MSG) != CHAT_OK ||
		    chatrow_hdr_put(&hdrs, room.data, writer.data) != CHAT_OK ||
		    !chatrow_is_msg(chat_buf_slice(&hdrs)) ||
		    !chatrow_hdr_get(chat_buf_slice(&hdrs), room.data, &v) ||
		    (strcmp(room.data, CHATROW_H_KIND) != 0 && !chat_slice_eq(v, writer.data)))
			abort();
	}
	chat_buf_free(&room);
	chat_buf_free(&writer);
	chat_buf_free(&text);
	chat_buf_free(&room2);
	chat_buf_free(&writer2);
	chat_buf_free(&text2);
	chat_buf_free(&out);
	chat_buf_free(&hdrs);
	return 0;
}
