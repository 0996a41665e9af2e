/* wsq.c - bounded per-connection send queue (see wsq.h). */
#include "config.h"
#include "wsq.h"

#include <stdlib.h>
#include <string.h>

struct wsq_msg {
	wsq_msg_t *next;
	size_t len;           /* payload bytes */
	size_t sent;          /* payload bytes consumed by wsq_advance() */
	unsigned char data[]; /* headroom, then the payload */
};

void wsq_init(wsq_t *q, size_t max_bytes, size_t max_count, size_t headroom)
{
	memset(q, 0, sizeof(*q));
	q->max_bytes = max_bytes;
	q->max_count = max_count;
	q->headroom = headroom;
}

void wsq_clear(wsq_t *q)
{
	wsq_msg_t *m, *next;

	if (q == NULL)
		return;
	for (m = q->head; m != NULL; m = next) {
		next = m->next;
		free(m);
	}
	q->head = q->tail = NULL;
	q->bytes = q->count = 0;
}

int wsq_push(wsq_t *q, const void *p, size_t len)
{
	wsq_msg_t *m;

	if (len > q->max_bytes || q->bytes > q->max_bytes - len)
		return CHAT_ETOOBIG;
	if (q->count >= q->max_count)
		return CHAT_ETOOMANY;
	m = malloc(sizeof(*m) + q->headroom + len);
	if (m == NULL)
		return CHAT_ENOMEM;
	m->next = NULL;
	m->len = len;
	m->sent = 0;
	if (len > 0)
		memcpy(m->data + q->headroom, p, len);
	if (q->tail != NULL)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->bytes += len;
	q->count++;
	return CHAT_OK;
}

int wsq_empty(const wsq_t *q)
{
	return q->head == NULL;
}

unsigned char *wsq_front(wsq_t *q, size_t *len, size_t *sent)
{
	if (q->head == NULL)
		return NULL;
	*len = q->head->len;
	*sent = q->head->sent;
	return q->head->data + q->headroom;
}

void wsq_advance(wsq_t *q, size_t n)
{
	wsq_msg_t *m = q->head;

	if (m == NULL)
		return;
	if (n > m->len - m->sent)
		n = m->len - m->sent;
	m->sent += n;
	q->bytes -= n;
	if (m->sent < m->len)
		return;
	q->head = m->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->count--;
	free(m);
}
