/* chatrow.c - row headers and chat rows (see chatrow.h). */
#include "config.h"
#include "chatrow.h"

#include "chatmsg.h"

#include <string.h>

int chatrow_hdr_put(chat_buf_t *b, const char *name, const char *value)
{
	size_t start = b->len;
	int rc = chat_buf_append(b, name, strlen(name) + 1);

	if (rc == CHAT_OK)
		rc = chat_buf_append(b, value, strlen(value) + 1);
	if (rc != CHAT_OK)
		b->len = start;
	return rc;
}

int chatrow_hdr_get(chat_slice_t h, const char *name, chat_slice_t *value)
{
	size_t pos = 0, n = strlen(name);

	while (pos < h.len) {
		const char *k = h.ptr + pos, *v, *z;

		z = memchr(k, '\0', h.len - pos);
		if (z == NULL)
			return 0;
		v = z + 1;
		if ((size_t)(v - h.ptr) >= h.len)
			return 0;
		z = memchr(v, '\0', h.len - (size_t)(v - h.ptr));
		if (z == NULL)
			return 0;
		if ((size_t)(v - k - 1) == n && memcmp(k, name, n) == 0) {
			value->ptr = v;
			value->len = (size_t)(z - v);
			return 1;
		}
		pos = (size_t)(z - h.ptr) + 1;
	}
	return 0;
}

int chatrow_is_msg(chat_slice_t h)
{
	chat_slice_t kind;

	return chatrow_hdr_get(h, CHATROW_H_KIND, &kind) && chat_slice_eq(kind, CHATROW_KIND_MSG);
}

int chatrow_parse(chat_slice_t body, chatrow_msg_t *m, chat_buf_t *room, chat_buf_t *writer,
		  chat_buf_t *text)
{
	json_field_t f[6] = {
		{ "id", NULL, 1, 0, 0, 0 },       { "seq", NULL, 1, 0, 0, 0 },
		{ "time", NULL, 1, 0, 0, 0 },     { "room", room, 1, 0, 0, 0 },
		{ "writer", writer, 1, 0, 0, 0 }, { "text", text, 1, 0, 0, 0 },
	};
	int rc;

	chat_buf_reset(room);
	chat_buf_reset(writer);
	chat_buf_reset(text);
	rc = json_parse_object(body.ptr, body.len, &chatmsg_object_limits, f, 6, NULL);
	if (rc != CHAT_OK)
		return rc;
	if (f[0].num <= 0 || room->len == 0 || writer->len == 0 || text->len == 0)
		return CHAT_EINVAL;
	m->id = f[0].num;
	m->room_seq = f[1].num;
	m->time_ms = f[2].num;
	return CHAT_OK;
}
