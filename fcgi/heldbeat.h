/*
 * heldbeat.h - when a held SockJS HTTP request (fcgi/transport_recv.c)
 * sends its two heart-beats: the SockJS heartbeat frame "h" every SockJS
 * interval since the last one, and the STOMP heart-beat EOL at the STOMP
 * interval (broker_heartbeat_interval()) since anything was last sent.
 * Both fall due by core/heartbeat.h's heartbeat_send_due().  Pure: every
 * time is a parameter (the caller's clock, in ms; a test's fake one).
 */
#ifndef CHAT_HELDBEAT_H
#define CHAT_HELDBEAT_H

#include <stdint.h>

/* The heart-beat clocks of one held request (the caller's). */
typedef struct heldbeat {
	int64_t sockjs_ms;   /* the SockJS heartbeat interval (> 0) */
	int64_t sockjs_sent; /* when the last SockJS heartbeat went (or the wait began) */
	int64_t stomp_sent;  /* when the STOMP clock last restarted; 0: not running */
} heldbeat_t;

/* Which heart-beat a round owes. */
typedef enum heldbeat_due {
	HELDBEAT_NONE,   /* none: wait */
	HELDBEAT_STOMP,  /* a STOMP heart-beat EOL */
	HELDBEAT_SOCKJS, /* a SockJS heartbeat frame */
} heldbeat_due_t;

/* Starts the clocks of a request that begins to wait at now_ms, with a
 * SockJS heartbeat every sockjs_ms (> 0). */
void heldbeat_start(heldbeat_t *b, int64_t sockjs_ms, int64_t now_ms);

/* One round of the wait at now_ms, stomp_ms being the STOMP interval the
 * client asked for now (0: none; looked at each round, since any CONNECT
 * may ask) and sent whether the round sent frames.  The STOMP clock stops
 * at 0 and restarts when frames went or when it starts.  Returns the
 * heart-beat due (the STOMP one first), HELDBEAT_NONE when frames went;
 * when it returns HELDBEAT_NONE for a round that sent none, *wait_ms (may
 * be NULL) gets how long until the next falls due, else it is left alone. */
heldbeat_due_t heldbeat_round(heldbeat_t *b, int64_t stomp_ms, int sent, int64_t now_ms,
			      int64_t *wait_ms);

/* Records that the heart-beat which went at now_ms. */
void heldbeat_sent(heldbeat_t *b, heldbeat_due_t which, int64_t now_ms);

#endif
