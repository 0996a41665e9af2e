/* heldbeat.c - the heart-beat clocks of a held SockJS HTTP request (see heldbeat.h). */
#include "config.h"
#include "heldbeat.h"

#include "heartbeat.h"

#include <stddef.h>

void heldbeat_start(heldbeat_t *b, int64_t sockjs_ms, int64_t now_ms)
{
	b->sockjs_ms = sockjs_ms;
	b->sockjs_sent = now_ms;
	b->stomp_sent = 0;
}

heldbeat_due_t heldbeat_round(heldbeat_t *b, int64_t stomp_ms, int sent, int64_t now_ms,
			      int64_t *wait_ms)
{
	int64_t wake;

	if (stomp_ms == 0)
		b->stomp_sent = 0;
	else if (sent || b->stomp_sent == 0)
		b->stomp_sent = now_ms;
	if (sent)
		return HELDBEAT_NONE;
	if (heartbeat_send_due(stomp_ms, b->stomp_sent, now_ms, 0))
		return HELDBEAT_STOMP;
	if (heartbeat_send_due(b->sockjs_ms, b->sockjs_sent, now_ms, 0))
		return HELDBEAT_SOCKJS;
	wake = b->sockjs_sent + b->sockjs_ms;
	if (stomp_ms > 0 && b->stomp_sent + stomp_ms < wake)
		wake = b->stomp_sent + stomp_ms;
	if (wait_ms != NULL)
		*wait_ms = wake - now_ms;
	return HELDBEAT_NONE;
}

void heldbeat_sent(heldbeat_t *b, heldbeat_due_t which, int64_t now_ms)
{
	if (which == HELDBEAT_STOMP)
		b->stomp_sent = now_ms;
	else if (which == HELDBEAT_SOCKJS)
		b->sockjs_sent = now_ms;
}
