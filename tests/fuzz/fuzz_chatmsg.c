/*
 * fuzz_chatmsg.c - the chat post reader.  Invariants: a failure leaves the
 * text buffer empty; an accepted text is valid (non-blank, bounded, no NUL)
 * and survives the round trip through chatmsg_render() and the reader.
 */
#include "config.h"
#include "chatmsg.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chat_buf_t text, out, again;
	chatmsg_t m;
	int rc;

	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	chat_buf_init(&out, CHATMSG_TEXT_MAX * 6 + 256);
	chat_buf_init(&again, CHATMSG_TEXT_MAX);
	rc = chatmsg_parse_post((const char *)data, size, &text, NULL);
	if (rc != CHAT_OK) {
		if (text.len != 0)
			abort();
		goto out;
	}
	if (text.len == 0 || text.len > CHATMSG_TEXT_MAX || memchr(text.data, 0, text.len))
		abort();
	m.id = 1;
	m.room = "r";
	m.room_seq = 2;
	m.writer = "w";
	m.display = NULL;
	m.deleted = 0;
	m.time_ms = 3;
	m.text = chat_buf_slice(&text);
	if (chatmsg_render(&out, &m) != CHAT_OK)
		abort();
	if (chatmsg_parse_post(out.data, out.len, &again, NULL) != CHAT_OK ||
	    again.len != text.len || memcmp(again.data, text.data, text.len) != 0)
		abort();
	(void)chatmsg_room_valid((chat_slice_t){ (const char *)data, size });
	(void)chatmsg_name_valid((chat_slice_t){ (const char *)data, size });
out:
	chat_buf_free(&text);
	chat_buf_free(&out);
	chat_buf_free(&again);
	return 0;
}
