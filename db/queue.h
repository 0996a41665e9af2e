/*
 * queue.h - /queue consumers taken in turn (RabbitMQ's STOMP semantics):
 * the choice of the one subscription a /queue message goes to, made once,
 * at SEND, inside the sender's write transaction, so every process agrees
 * on it.  See queue.c for the design.
 */
#ifndef CHAT_QUEUE_H
#define CHAT_QUEUE_H

#include "chat.h"
#include "chatdb.h"
#include "session.h"

#include <stdint.h>

/* Largest prefetch-count a SUBSCRIBE may ask for (0: no limit). */
#define QUEUE_PREFETCH_MAX 65535

/* The consumer queue_pick() chose. */
typedef struct queue_consumer {
	char session_id[CHATDB_ID_MAX + 1];
	char sub_id[CHATDB_ID_MAX + 1];
	session_ack_t ack;
} queue_consumer_t;

/* Parses a prefetch-count header value (decimal, 0..QUEUE_PREFETCH_MAX)
 * into *out.  Returns 0 or CHAT_EINVAL. */
CHAT_MUST_CHECK int queue_prefetch_parse(const char *s, int64_t *out);

/* Chooses the consumer of message seq (the outbox seq it will get) on the
 * exact queue destination dest among the subscriptions of open sessions:
 * the least recently served one among those below their prefetch-count
 * (auto-ack and prefetch 0 are always eligible); when every one is at its
 * limit, the least recently served of all (there is no broker-side holding
 * queue).  skip_session/skip_sub (both NULL: none) name a subscription
 * passed over (a NACK) unless it is the only one below its limit, or the
 * only consumer.  Records the turn
 * and, for client and client-individual consumers, the message in flight.  *found is 0 when the queue has no
 * consumer.  The caller holds the write transaction. */
CHAT_MUST_CHECK int queue_pick(chatdb_t *db, const char *dest, int64_t seq,
			       const char *skip_session, const char *skip_sub,
			       queue_consumer_t *out, int *found, chat_error_t *err);

/* Forgets the in-flight messages of subscription (session_id, sub_id): the
 * one at seq, or (cumulative) every one up to seq; seq < 0: all of them
 * (UNSUBSCRIBE). */
CHAT_MUST_CHECK int queue_settle(chatdb_t *db, const char *session_id, const char *sub_id,
				 int64_t seq, int cumulative, chat_error_t *err);

/* The statement queue_pick() runs first, for tests that check its plan. */
extern const char queue__sql_pick[];

#endif
