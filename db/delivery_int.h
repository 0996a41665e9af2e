/*
 * delivery_int.h - what the files of the delivery module share (private to
 * db/delivery*.c): the rendering of a row into MESSAGE frames and its cache
 * (delivery_render.c), used by the session state and the applying of rows
 * (delivery.c).  delivery.h is the public side.
 */
#ifndef CHAT_DB_DELIVERY_INT_H
#define CHAT_DB_DELIVERY_INT_H

#include "delivery.h"

/* The content-type a row carries, copied into buf; NULL when none. */
const char *delivery__row_ctype(const outbox_row_t *row, char buf[CHATDB_DEST_MAX + 1]);

/* The sender a row names (its user-name header), copied into buf; NULL
 * when none. */
const char *delivery__row_sender(const outbox_row_t *row, char buf[SESSION_USER_MAX + 1]);

/* Appends the MESSAGE frame of row for subscription sub of d, with
 * destination dest, to out (raw bytes, never JSON-encoded). */
CHAT_MUST_CHECK int delivery__render_raw(const delivery_t *d, const delivery_sub_t *sub,
					 const outbox_row_t *row, const char *dest,
					 chat_buf_t *out);

/* Pushes one message (raw bytes p, n) to out, JSON-encoding it into
 * scratch first when d is framed.  Invalid UTF-8 is CHAT_EINVAL (the row
 * cannot be rendered for d). */
CHAT_MUST_CHECK int delivery__push(const delivery_t *d, json_strv_t *out, chat_buf_t *scratch,
				   const char *p, size_t n);

/* The frame of row for sub as d needs it (JSON-encoded when framed), from
 * c when another subscriber of the row had the same rendering (version,
 * ack mode, framing, subscription id).  *frame points into c until
 * delivery_cache_reset().  Returns what rendering returned (CHAT_EINVAL for
 * invalid UTF-8). */
CHAT_MUST_CHECK int delivery__cached_frame(delivery_cache_t *c, const delivery_t *d,
					   const delivery_sub_t *sub, const outbox_row_t *row,
					   const char *dest, chat_slice_t *frame);

#endif
