/*
 * brokerutil.h - driving the chat service in unit tests (test_broker,
 * test_chatapp) the way the transports do: open numbered sessions, send a
 * SockJS message written with '^' for each frame's NUL, collect what a
 * session would be sent as one readable string, and read a number from
 * chat.db.  Failures are Check assertions.
 */
#ifndef CHAT_BROKERUTIL_H
#define CHAT_BROKERUTIL_H

#include "chatdb.h"
#include "service.h"

#include <stddef.h>
#include <stdint.h>

/* Opens sessions "s0" to "s<n-1>" of service svc at now_ms, putting their
 * chat.db keys into keys[0..n-1]; with must_be_new, asserts that each one
 * was created by the call. */
void brokerutil_open_sessions(service_ctx_t *ctx, const service_t *svc, int n, int64_t now_ms,
			      int must_be_new, char keys[][CHATDB_ID_MAX + 1]);

/* Sends one SockJS message, text with '^' standing for NUL, on session
 * key at now_ms.  Returns what service_receive() returned, printing its
 * detail on stderr when that is not 0. */
int brokerutil_send(service_ctx_t *ctx, const service_t *svc, const char *key, const char *text,
		    int64_t now_ms);

/* Collects everything for session key (at most max_msgs messages),
 * advances the session's cursor past it, and writes it into out (size
 * bytes, truncated to fit): '|' between messages and '^' for NUL.
 * Returns out. */
const char *brokerutil_collect(service_ctx_t *ctx, const service_t *svc, const char *key,
			       size_t max_msgs, char *out, size_t size);

/* The first column of the first row sql yields on db's chat.db, or -1
 * when there is no row. */
int64_t brokerutil_scalar(chatdb_t *db, const char *sql);

#endif
