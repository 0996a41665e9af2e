/*
 * auth.h - users' passwords and login tokens.
 *
 * Passwords are hashed with argon2id (libsodium crypto_pwhash_str) with the
 * memory and passes of the options kdf_memory_kib and kdf_ops (default 19
 * MiB, 2 passes); the encoded hash (algorithm, parameters, salt) is what
 * the durable store keeps for a user (store_user_t.password_hash), so a
 * hash made with other parameters still verifies.  At most kdf_concurrency
 * hashes run at once in a process; the others wait up to kdf_wait_ms and
 * then fail with CHAT_EBUSY.
 *
 * Password logins (auth_login, auth_check) are limited per account and per
 * client address (db/authlimit.h): a locked one is refused with
 * CHAT_ETOOMANY before any hash is computed.
 *
 * A login token is AUTH_TOKEN_BYTES random bytes written as lowercase hex.
 * chat.db keeps only its BLAKE2b-256 hash (crypto_generichash) with the user
 * name and an expiry, so every process can check a token and a copy of the
 * file logs nobody in.  STOMP CONNECT takes a token (or the password) as its
 * passcode; POST /api/logout revokes one.
 *
 * Verifying a password is slow on purpose: never call auth_check() or
 * auth_login() inside a chat.db transaction.
 */
#ifndef CHAT_AUTH_H
#define CHAT_AUTH_H

#include "authlimit.h"
#include "chatdb.h"
#include "names.h"
#include "options.h"
#include "session.h"
#include "store.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_HEX (AUTH_TOKEN_BYTES * 2)
/* Longest passcode looked at (tokens are AUTH_TOKEN_HEX, passwords shorter). */
#define AUTH_PASSCODE_MAX 256
/* Bytes of the hash chat.db keeps of a token (auth_tokens.hash). */
#define AUTH_HASH_BYTES 32

/* How a STOMP CONNECT was authenticated: by a token (its hash and expiry,
 * so the session can end when the token is revoked or expires), or by a
 * password (by_token 0). */
typedef struct auth_grant {
	int by_token;
	unsigned char hash[AUTH_HASH_BYTES];
	int64_t expires_ms;
} auth_grant_t;

/* A password login attempt: its limits and client, and, when it is
 * refused with CHAT_ETOOMANY or CHAT_EBUSY, how long the client should wait. */
typedef struct auth_attempt {
	const authlimit_conf_t *limits; /* NULL: no attempt limits */
	const char *peer;               /* the client address; NULL or "": unknown */
	int64_t retry_ms;               /* out: wait before retrying (refused attempts) */
} auth_attempt_t;

/* Initialises libsodium once (thread-safe, idempotent).  0 or CHAT_EIO. */
CHAT_MUST_CHECK int auth_init(void);

/* Sets the process's hash parameters and concurrency bound from opt
 * (kdf_memory_kib, kdf_ops, kdf_concurrency, kdf_wait_ms); call before the
 * threads that log users in start.  Without it, the options' defaults. */
void auth_configure(const chat_options_t *opt);

/* Hashes password pw (len bytes) into out (NUL-terminated, at most
 * STORE_PASSWORD_HASH_MAX bytes).  0, CHAT_ENOMEM (the KDF could not get its
 * memory), CHAT_EBUSY (kdf_concurrency hashes ran for all of kdf_wait_ms),
 * CHAT_EIO (libsodium unusable). */
CHAT_MUST_CHECK int auth_hash_password(const char *pw, size_t len,
				       char out[STORE_PASSWORD_HASH_MAX + 1], chat_error_t *err);

/* 0 when pw matches the encoded hash, CHAT_EBUSY (no free hash slot, as
 * for auth_hash_password), else CHAT_EDENIED. */
CHAT_MUST_CHECK int auth_verify_password(const char *hash, const char *pw, size_t len);

/* Registers user name (validated with chatmsg_check_user_name) with
 * password pw (chatmsg_check_password) in the store, under a new
 * store_new_id() id.  *out (may be NULL) gets the stored user.  Returns 0,
 * CHAT_EINVAL / CHAT_ETOOBIG / CHAT_EUTF8 (err says what is wrong with the
 * name or password), CHAT_EEXIST (the name is taken), CHAT_EBUSY (no free
 * hash slot), CHAT_EDB. */
CHAT_MUST_CHECK int auth_register(store_t *s, chat_slice_t name, chat_slice_t pw, int64_t now_ms,
				  store_user_t *out, chat_error_t *err);

/* Users' display names (core/names.h's rules, any script; not unique:
 * the login name is the identity, shown beside it), kept in chat.db
 * (table user_profiles) so that stamping one on every message reads no
 * other database.
 *
 * auth_display_set() sets user's display name to display, normalised
 * (NFC) into out (may be NULL); an empty display removes it.  0, the
 * names_check() codes (err says why), or a database error.
 * auth_display_get() writes user's display name to out ("" when none,
 * also for guests).  0 or a database error. */
CHAT_MUST_CHECK int auth_display_set(chatdb_t *db, const char *user, chat_slice_t display,
				     int64_t now_ms, char out[NAMES_NFC_MAX + 1],
				     chat_error_t *err);
CHAT_MUST_CHECK int auth_display_get(chatdb_t *db, const char *user, char out[NAMES_NFC_MAX + 1],
				     chat_error_t *err);

/* Moderation.  auth_is_admin(): whether user is an admin: named in
 * opt->admins, or, while that is empty, the first user registered with
 * this chat.db (auth_claim_first()).  auth_claim_first() records user as
 * the first user unless one is recorded: CHAT_OK (*claimed, may be NULL,
 * 1 when user became the first user, 0 when one was recorded before) or a
 * database error.
 *
 * auth_moderate_ban() bans (banned 1) or unbans user for admin by, in
 * one transaction: the ban of auth_ban() (reason "by BY"), and its login
 * tokens revoked, so that its sessions end at the next token sweep
 * (broker_token_sweep()).  0; CHAT_EDENIED (by is not an admin, or bans
 * itself); CHAT_ENOTFOUND (unban of a user not banned); CHAT_EINVAL (a
 * guest or invalid name); a database error.  Audited in the log. */
int auth_is_admin(chatdb_t *db, const chat_options_t *opt, const char *user);
CHAT_MUST_CHECK int auth_claim_first(chatdb_t *db, const char *user, int64_t now_ms, int *claimed,
				     chat_error_t *err);
CHAT_MUST_CHECK int auth_moderate_ban(chatdb_t *db, const chat_options_t *opt, const char *user,
				      int banned, const char *by, int64_t now_ms,
				      chat_error_t *err);

/* Issues a token for user, valid for ttl_ms from now: writes it as
 * AUTH_TOKEN_HEX hex digits + NUL into token.  Also drops expired tokens. */
CHAT_MUST_CHECK int auth_token_issue(chatdb_t *db, const char *user, int64_t now_ms, int64_t ttl_ms,
				     char token[AUTH_TOKEN_HEX + 1], chat_error_t *err);

/* Checks token (len bytes): 0 and the user's name in user, or
 * CHAT_EDENIED (unknown, revoked or expired), or a database error. */
CHAT_MUST_CHECK int auth_token_check(chatdb_t *db, const char *token, size_t len, int64_t now_ms,
				     char user[SESSION_USER_MAX + 1], chat_error_t *err);

/* Revokes token (len bytes).  0, CHAT_ENOTFOUND (no such token), or a
 * database error. */
CHAT_MUST_CHECK int auth_token_revoke(chatdb_t *db, const char *token, size_t len,
				      chat_error_t *err);

/* Revokes every token of user name (any case), e.g. after a password
 * change; broker_token_sweep() then ends the sessions they opened.
 * *revoked (may be NULL) gets how many. */
CHAT_MUST_CHECK int auth_token_revoke_user(chatdb_t *db, const char *name, int64_t *revoked,
					   chat_error_t *err);

/* Another node's token, taken in by the cluster (db/cluster_intake.c)
 * inside its transaction and not forwarded again: auth_token_import()
 * stores the token with hash for user (replacing one with that hash),
 * auth_token_forget() deletes it (CHAT_OK when there is none).  0 or a
 * database error. */
CHAT_MUST_CHECK int auth_token_import(chatdb_t *db, const unsigned char hash[AUTH_HASH_BYTES],
				      const char *user, int64_t created_ms, int64_t expires_ms,
				      chat_error_t *err);
CHAT_MUST_CHECK int auth_token_forget(chatdb_t *db, const unsigned char hash[AUTH_HASH_BYTES],
				      chat_error_t *err);

/* Checks name (in any case) and password against the store, then issues a
 * token for the user.  at (may be NULL: no limits) is the attempt's limits
 * and client.  0 and, in user (may be NULL), the user's name as registered;
 * CHAT_EDENIED (no such user or wrong password: the same answer for both,
 * counted as a failure); CHAT_ETOOMANY (the account or address is locked:
 * no hash was computed) or CHAT_EBUSY (no free hash slot), at->retry_ms
 * saying how long to wait; CHAT_EDB. */
CHAT_MUST_CHECK int auth_login(chatdb_t *db, store_t *s, chat_slice_t name, chat_slice_t pw,
			       int64_t now_ms, int64_t ttl_ms, auth_attempt_t *at,
			       char token[AUTH_TOKEN_HEX + 1], char user[SESSION_USER_MAX + 1],
			       chat_error_t *err);

/* Authenticates a STOMP CONNECT: passcode is a token (of user login, in
 * any case, when login is not NULL) or, failing that, login's password in
 * store s (s may be NULL: tokens only).  0 and the user's name as
 * registered in user, and in *grant (may be
 * NULL) how; CHAT_EDENIED; CHAT_ETOOMANY or CHAT_EBUSY for a password,
 * as for auth_login (at: its limits, may be NULL); CHAT_EDB (the store or
 * chat.db failed: the client may retry). */
CHAT_MUST_CHECK int auth_check(chatdb_t *db, store_t *s, const char *login, const char *passcode,
			       int64_t now_ms, auth_attempt_t *at, char user[SESSION_USER_MAX + 1],
			       auth_grant_t *grant, chat_error_t *err);

/* Bans (chat.db table auth_bans; chatctl users ban|unban).  A banned user
 * name (any case) is refused at STOMP CONNECT (db/broker.c, inside the
 * CONNECT's transaction, so a CONNECT either is refused or committed
 * before the ban and then ended by broker_end_user()) and by auth_login().
 * The user stays in the store; their messages stay in the history. */

/* A ban reason's longest length in bytes. */
#define AUTH_BAN_REASON_MAX 256

/* Bans user name (1..SESSION_USER_MAX bytes) for reason (may be "", at
 * most AUTH_BAN_REASON_MAX bytes).  Banning again replaces the reason.
 * 0, CHAT_EINVAL / CHAT_ETOOBIG, or a database error.  The caller then
 * ends the user's open sessions (broker_end_user()). */
CHAT_MUST_CHECK int auth_ban(chatdb_t *db, const char *name, const char *reason, int64_t now_ms,
			     chat_error_t *err);

/* Lifts the ban on name.  0, CHAT_ENOTFOUND (not banned), or a database
 * error. */
CHAT_MUST_CHECK int auth_unban(chatdb_t *db, const char *name, chat_error_t *err);

/* *banned = 1 when name (any case) is banned, else 0.  0 or a database
 * error. */
CHAT_MUST_CHECK int auth_banned(chatdb_t *db, const char *name, int *banned, chat_error_t *err);

/* A ban handed to auth_ban_list()'s callback; strings valid during the
 * call only.  Return CHAT_OK to go on, CHAT_STOP to stop (auth_ban_list()
 * then returns CHAT_OK) or a negative code to abort (returned). */
typedef int (*auth_ban_cb)(void *ctx, const char *name, const char *reason, int64_t created_ms);

/* Calls cb for every ban, by name.  Must not use db inside cb. */
CHAT_MUST_CHECK int auth_ban_list(chatdb_t *db, auth_ban_cb cb, void *ctx, chat_error_t *err);

#endif
