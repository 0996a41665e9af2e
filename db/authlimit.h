/*
 * authlimit.h - failed-login limits shared by every process (chat.db).
 *
 * Each failed password check counts against the account (its name in
 * lower case, existing or not) and against the client address.  When one
 * of them reaches its maximum of failures within the window, it is locked
 * for a lockout that doubles with each lockout in a row (up to a cap); a
 * locked account or address is refused before any password hash is
 * computed.  A successful login clears the account's failures.
 *
 * One row per account or address in chat.db (auth_limits), so chat.fcgi's
 * many processes and chat-ws share them; a row is dropped a window after
 * its last failure or lockout ended, pruned as failures are written, so
 * the table holds only recent failures.
 */
#ifndef CHAT_AUTHLIMIT_H
#define CHAT_AUTHLIMIT_H

#include "chatdb.h"
#include "options.h"

#include <stdint.h>

/* Longest key kept (an account name or an address; longer ones are cut). */
#define AUTHLIMIT_KEY_MAX 128

typedef struct authlimit_conf {
	int64_t account_max;    /* failures of one account within window_ms before a lockout */
	int64_t addr_max;       /* failures from one address within window_ms before a lockout */
	int64_t window_ms;      /* how long a failure counts */
	int64_t lockout_ms;     /* first lockout; each one in a row doubles it */
	int64_t lockout_max_ms; /* longest lockout */
} authlimit_conf_t;

/* The limits in opt (the auth_* options). */
void authlimit_conf_from(const chat_options_t *opt, authlimit_conf_t *conf);

/* Whether a password check for account (NULL: none) from addr (NULL or "":
 * unknown, not limited) may run now.  0, or CHAT_ETOOMANY with, in
 * *retry_ms, how long until it may (at least 1 ms), or a database error. */
CHAT_MUST_CHECK int authlimit_check(chatdb_t *db, const authlimit_conf_t *conf, const char *account,
				    const char *addr, int64_t now_ms, int64_t *retry_ms,
				    chat_error_t *err);

/* Counts one failed check for account (NULL: none) and addr (NULL or "":
 * none), locking either that reached its maximum; prunes expired rows.
 * One transaction.  0 or a database error. */
CHAT_MUST_CHECK int authlimit_fail(chatdb_t *db, const authlimit_conf_t *conf, const char *account,
				   const char *addr, int64_t now_ms, chat_error_t *err);

/* Clears account's failures and lockout (after a successful login).  0 or
 * a database error. */
CHAT_MUST_CHECK int authlimit_reset(chatdb_t *db, const char *account, chat_error_t *err);

#endif
