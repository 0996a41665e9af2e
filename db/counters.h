/*
 * counters.h - named 64-bit counters in chat.db (table stomp_counters):
 * the guest-name counter of the broker, and the cluster's id clock and
 * per-origin high-water marks.  The one module that runs SQL on that table;
 * every function runs inside the caller's transaction (or as its own
 * statement outside one).
 */
#ifndef CHAT_COUNTERS_H
#define CHAT_COUNTERS_H

#include "chatdb.h"

#include <stdint.h>

/* The broker's guest-name counter: guest-N for the Nth guest (the history
 * relay raises it above the names the durable store has seen). */
#define COUNTERS_GUEST "guest"

/* Reads counter name into *value (0 when there is no such counter); *found
 * (may be NULL) gets whether it exists.  0 or a chat.db error. */
CHAT_MUST_CHECK int counters_get(chatdb_t *db, const char *name, int64_t *value, int *found,
				 chat_error_t *err);

/* Sets counter name to value when it is missing or below value (a counter
 * that only rises).  0 or a chat.db error. */
CHAT_MUST_CHECK int counters_raise(chatdb_t *db, const char *name, int64_t value,
				   chat_error_t *err);

/* Creates counter name with value unless it exists (then it is left as it
 * is).  0 or a chat.db error. */
CHAT_MUST_CHECK int counters_init(chatdb_t *db, const char *name, int64_t value, chat_error_t *err);

/* Adds one to counter name (a missing counter becomes 1) and returns the
 * new value in *value.  0 or a chat.db error. */
CHAT_MUST_CHECK int counters_next(chatdb_t *db, const char *name, int64_t *value,
				  chat_error_t *err);

#endif
