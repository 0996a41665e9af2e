/*
 * wsq.h - the bounded send queue of one WebSocket connection: the frames
 * waiting for the socket to become writeable, in order.
 *
 * Each queued message keeps `headroom` spare bytes in front of its payload,
 * so a transport that writes its own header there (libwebsockets wants
 * LWS_PRE bytes before the buffer it sends) can send straight from the
 * queue; a message may be sent in pieces (wsq_front()/wsq_advance()), and
 * the bytes already sent in front of the next piece may be overwritten.
 *
 * The queue's bounds are fixed at init: a push past max_bytes (payload
 * bytes queued, the unsent part of the front message included) or
 * max_count messages fails, so a reader that does not keep up cannot make
 * the server buffer without limit; the caller then closes that connection.
 * Pure: no IO, allocation only for the messages it holds.
 */
#ifndef CHAT_WSQ_H
#define CHAT_WSQ_H

#include "chat.h"

typedef struct wsq_msg wsq_msg_t;

typedef struct wsq {
	wsq_msg_t *head;  /* next to send (owned) */
	wsq_msg_t *tail;  /* last queued */
	size_t bytes;     /* payload bytes queued and not yet sent */
	size_t count;     /* messages queued */
	size_t max_bytes; /* bound on bytes */
	size_t max_count; /* bound on count */
	size_t headroom;  /* spare bytes kept before each payload */
} wsq_t;

/* Initialises an empty queue.  Allocates nothing. */
void wsq_init(wsq_t *q, size_t max_bytes, size_t max_count, size_t headroom);

/* Frees every queued message; q stays initialised and empty.  NULL-safe. */
void wsq_clear(wsq_t *q);

/* Appends a copy of p[0..len) (len may be 0).  All or nothing: returns 0,
 * CHAT_ETOOBIG (bytes would pass max_bytes), CHAT_ETOOMANY (count would
 * pass max_count) or CHAT_ENOMEM, and q is unchanged on failure. */
int wsq_push(wsq_t *q, const void *p, size_t len);

/* 1 when nothing is queued. */
int wsq_empty(const wsq_t *q);

/* The front message: returns its payload (q->headroom writable bytes lie
 * before it) and sets *len to its length and *sent to how much of it
 * wsq_advance() has consumed; NULL when the queue is empty.  Valid until
 * the next wsq_advance(), wsq_clear() or wsq_push(). */
unsigned char *wsq_front(wsq_t *q, size_t *len, size_t *sent);

/* Records that n more bytes of the front message were sent (n <= what
 * remains of it); a message sent in full is removed and freed. */
void wsq_advance(wsq_t *q, size_t n);

#endif
