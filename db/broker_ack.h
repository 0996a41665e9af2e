/*
 * broker_ack.h - the stomp_unacked table's one writer outside the broker's
 * frames: what delivery (delivery.c) hands a client or client-individual
 * subscription is recorded here, with the same statement broker_ack.c uses
 * when a new subscription adopts what a closed session left.  ACK, NACK
 * and the adoption itself are the broker's (broker_int.h).  Calls follow
 * the handle's rules (chatdb.h).
 */
#ifndef CHAT_BROKER_ACK_H
#define CHAT_BROKER_ACK_H

#include "buf.h"
#include "chatdb.h"
#include "session.h"

/* One message handed and not yet acknowledged; every string borrowed for
 * the call.  ctype, user and sender may be NULL (none). */
typedef struct broker_unacked {
	const char *session_id; /* the SockJS session id */
	const char *ack_id;     /* as delivery_ack_id() writes it */
	const char *sub_id;     /* the subscription it was handed to */
	const char *sub_dest;   /* that subscription's destination */
	session_ack_t ack;      /* that subscription's ack mode */
	int64_t seq;            /* the outbox seq of the message */
	const char *dest;       /* the message's destination */
	const char *ctype;      /* its content-type */
	chat_slice_t body;      /* its body */
	const char *user;       /* the session's user */
	const char *sender;     /* the user-name the message names */
} broker_unacked_t;

/* Records u unless the session already holds its ack id; *added (may be
 * NULL) says whether it did. */
CHAT_MUST_CHECK int broker_ack__unacked_put(chatdb_t *db, const broker_unacked_t *u, int *added,
					    chat_error_t *err);

#endif
