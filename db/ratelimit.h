/*
 * ratelimit.h - token buckets in chat.db, shared by every process.
 *
 * A bucket holds up to burst tokens and gains rate tokens a second; each
 * limited action takes one, and an action finding less than one is refused
 * with how long until one is there.  Tokens are counted in thousandths
 * (integer math: a millisecond adds rate thousandths).  One row per bucket
 * in chat.db (rate_buckets), read and written inside the caller's open
 * write transaction, so consecutive requests of a session in different
 * chat.fcgi processes, several sessions of one user and chat-ws all draw
 * from the same bucket.  A row whose bucket would be full again is useless
 * (a missing row is a full bucket): a few are pruned whenever a row is
 * created, so the table holds only buckets in use.
 */
#ifndef CHAT_RATELIMIT_H
#define CHAT_RATELIMIT_H

#include "chatdb.h"

#include <stdint.h>

/* Longest key kept (longer ones are cut). */
#define RATELIMIT_KEY_MAX 160

/* The wait reported by a bucket that never refills (rate 0): a day. */
#define RATELIMIT_NEVER_MS 86400000

/* One token, in the bucket's unit. */
#define RATELIMIT_UNIT 1000

/* The bucket math, pure.  A bucket of *tokens (thousandths) last updated at
 * at_ms, refilled to now_ms at rate tokens/s up to burst tokens; takes one
 * token when there is one: returns 1 and *tokens holds what is left, else
 * returns 0, *tokens holds the refilled amount and *retry_ms (at least 1)
 * how long until a token is there.  rate 0: never refills
 * (*retry_ms RATELIMIT_NEVER_MS). */
int ratelimit_refill_take(int64_t *tokens, int64_t at_ms, int64_t now_ms, int64_t rate,
			  int64_t burst, int64_t *retry_ms);

/* Takes one token from bucket key (a new bucket starts full) at now_ms,
 * inside the caller's open transaction.  burst <= 0: not limited (0 and
 * nothing is written).  0, CHAT_ETOOMANY with *retry_ms (nothing is taken),
 * or a database error. */
CHAT_MUST_CHECK int ratelimit__take_in_tx(chatdb_t *db, const char *key, int64_t rate,
					  int64_t burst, int64_t now_ms, int64_t *retry_ms,
					  chat_error_t *err);

#endif
