/* delivery_render.c - rendering an outbox row into one session's MESSAGE
 * frames, and the per-row cache that renders a frame once for all the
 * subscribers it is the same for (see delivery.h). */
#include "config.h"
#include "delivery_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct frames remembered per row. */
#define CACHE_SLOTS 16

void delivery_ack_id(char out[DELIVERY_ACK_ID_MAX + 1], int64_t seq, const char *sub_id)
{
	snprintf(out, DELIVERY_ACK_ID_MAX + 1, "%lld.%s", (long long)seq, sub_id);
}

int delivery_render_message(chat_buf_t *out, stomp_version_t v, const char *sub_id, int64_t seq,
			    const char *dest, const char *ctype, const char *sender,
			    const char *ack_id, chat_slice_t body)
{
	stomp_header_t extra[3];
	size_t n = 0;
	char mid[24];

	snprintf(mid, sizeof(mid), "%lld", (long long)seq);
	if (ack_id != NULL && v >= STOMP_V1_2) {
		extra[n].name = CHAT_SLICE("ack");
		extra[n].value = (chat_slice_t){ ack_id, strlen(ack_id) };
		n++;
	}
	if (sender != NULL) {
		extra[n].name = CHAT_SLICE("user-name");
		extra[n].value = (chat_slice_t){ sender, strlen(sender) };
		n++;
	}
	if (body.len == 0) {
		extra[n].name = CHAT_SLICE("content-length");
		extra[n].value = CHAT_SLICE("0");
		n++;
	}
	return stomp_serialize_message(out, v, sub_id, mid, dest, ctype, extra, n, body.ptr,
				       body.len);
}

typedef struct slot {
	stomp_version_t version;
	int acked;
	int framed;
	char sub_id[CHATDB_ID_MAX + 1];
	int rc;           /* what rendering it returned */
	chat_buf_t frame; /* the frame, JSON-encoded when framed */
} slot_t;

struct delivery_cache {
	slot_t slots[CACHE_SLOTS];
	size_t n;
	chat_buf_t raw; /* scratch for encoding */
};

delivery_cache_t *delivery_cache_new(void)
{
	delivery_cache_t *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		chat_buf_init(&c->slots[i].frame, (size_t)OUTBOX_BODY_MAX * 6 + 65536);
	chat_buf_init(&c->raw, (size_t)OUTBOX_BODY_MAX * 2 + 65536);
	return c;
}

void delivery_cache_reset(delivery_cache_t *c)
{
	if (c != NULL)
		c->n = 0;
}

void delivery_cache_free(delivery_cache_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		chat_buf_free(&c->slots[i].frame);
	chat_buf_free(&c->raw);
	free(c);
}

const char *delivery__row_ctype(const outbox_row_t *row, char buf[CHATDB_DEST_MAX + 1])
{
	chat_slice_t v;

	if (!chatrow_hdr_get(row->headers, "content-type", &v))
		return NULL;
	snprintf(buf, CHATDB_DEST_MAX + 1, "%.*s", (int)v.len, v.ptr);
	return buf;
}

const char *delivery__row_sender(const outbox_row_t *row, char buf[SESSION_USER_MAX + 1])
{
	chat_slice_t v;

	if (!chatrow_hdr_get(row->headers, DELIVERY_H_SENDER, &v))
		return NULL;
	snprintf(buf, SESSION_USER_MAX + 1, "%.*s", (int)v.len, v.ptr);
	return buf;
}

int delivery__render_raw(const delivery_t *d, const delivery_sub_t *sub, const outbox_row_t *row,
			 const char *dest, chat_buf_t *out)
{
	char ack_id[DELIVERY_ACK_ID_MAX + 1], ctype_buf[CHATDB_DEST_MAX + 1];
	char sender_buf[SESSION_USER_MAX + 1];

	delivery_ack_id(ack_id, row->seq, sub->id);
	return delivery_render_message(out, d->version, sub->id, row->seq, dest,
				       delivery__row_ctype(row, ctype_buf),
				       delivery__row_sender(row, sender_buf),
				       sub->ack != SESSION_ACK_AUTO ? ack_id : NULL, row->body);
}

int delivery__push(const delivery_t *d, json_strv_t *out, chat_buf_t *scratch, const char *p,
		   size_t n)
{
	int rc;

	if (!d->framed)
		return json_strv_push(out, p, n);
	chat_buf_reset(scratch);
	rc = json_encode_string(scratch, p, n);
	if (rc == CHAT_EUTF8)
		return CHAT_EINVAL;
	return rc != CHAT_OK ? rc : json_strv_push(out, scratch->data, scratch->len);
}

int delivery__cached_frame(delivery_cache_t *c, const delivery_t *d, const delivery_sub_t *sub,
			   const outbox_row_t *row, const char *dest, chat_slice_t *frame)
{
	int acked = sub->ack != SESSION_ACK_AUTO;
	slot_t *s;
	size_t i;

	for (i = 0; i < c->n; i++) {
		s = &c->slots[i];
		if (s->version == d->version && s->acked == acked && s->framed == d->framed &&
		    strcmp(s->sub_id, sub->id) == 0)
			goto found;
	}
	if (c->n < CACHE_SLOTS) {
		s = &c->slots[c->n++];
	} else {
		s = &c->slots[CACHE_SLOTS - 1]; /* many renderings: reuse the last slot */
	}
	s->version = d->version;
	s->acked = acked;
	s->framed = d->framed;
	snprintf(s->sub_id, sizeof(s->sub_id), "%s", sub->id);
	chat_buf_reset(&s->frame);
	if (d->framed) {
		chat_buf_reset(&c->raw);
		s->rc = delivery__render_raw(d, sub, row, dest, &c->raw);
		if (s->rc == CHAT_OK)
			s->rc = json_encode_string(&s->frame, c->raw.data, c->raw.len);
		if (s->rc == CHAT_EUTF8)
			s->rc = CHAT_EINVAL;
	} else {
		s->rc = delivery__render_raw(d, sub, row, dest, &s->frame);
	}
found:
	*frame = chat_buf_slice(&s->frame);
	return s->rc;
}
