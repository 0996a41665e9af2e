/*
 * auth.h - users' passwords and login tokens.
 *
 * Passwords are hashed with argon2id (libsodium crypto_pwhash_str, the
 * "interactive" limits: 64 MiB and a few passes, about 0.1 s per hash); the
 * encoded hash (algorithm, parameters, salt) is what the durable store keeps
 * for a user (store_user_t.password_hash).
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

#include "chatdb.h"
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

/* Initialises libsodium once (thread-safe, idempotent).  0 or CHAT_EIO. */
int auth_init(void);

/* Hashes password pw (len bytes) into out (NUL-terminated, at most
 * STORE_PASSWORD_HASH_MAX bytes).  0, CHAT_ENOMEM (the KDF could not get its
 * memory), CHAT_EIO (libsodium unusable). */
int auth_hash_password(const char *pw, size_t len, char out[STORE_PASSWORD_HASH_MAX + 1],
		       chat_error_t *err);

/* 0 when pw matches the encoded hash, else CHAT_EDENIED. */
int auth_verify_password(const char *hash, const char *pw, size_t len);

/* Registers user name (validated with chatmsg_check_user_name) with
 * password pw (chatmsg_check_password) in the store, under a new
 * store_new_id() id.  *out (may be NULL) gets the stored user.  Returns 0,
 * CHAT_EINVAL / CHAT_ETOOBIG / CHAT_EUTF8 (err says what is wrong with the
 * name or password), CHAT_EEXIST (the name is taken), CHAT_EDB. */
int auth_register(store_t *s, chat_slice_t name, chat_slice_t pw, int64_t now_ms,
		  store_user_t *out, chat_error_t *err);

/* Issues a token for user, valid for ttl_ms from now: writes it as
 * AUTH_TOKEN_HEX hex digits + NUL into token.  Also drops expired tokens. */
int auth_token_issue(chatdb_t *db, const char *user, int64_t now_ms, int64_t ttl_ms,
		     char token[AUTH_TOKEN_HEX + 1], chat_error_t *err);

/* Checks token (len bytes): 0 and the user's name in user, or
 * CHAT_EDENIED (unknown, revoked or expired), or a database error. */
int auth_token_check(chatdb_t *db, const char *token, size_t len, int64_t now_ms,
		     char user[SESSION_USER_MAX + 1], chat_error_t *err);

/* Revokes token (len bytes).  0, CHAT_ENOTFOUND (no such token), or a
 * database error. */
int auth_token_revoke(chatdb_t *db, const char *token, size_t len, chat_error_t *err);

/* Checks name (in any case) and password against the store, then issues a
 * token for the user.  0 and, in user (may be NULL), the user's name as
 * registered; CHAT_EDENIED (no such user or wrong password: the same
 * answer for both); CHAT_EDB. */
int auth_login(chatdb_t *db, store_t *s, chat_slice_t name, chat_slice_t pw, int64_t now_ms,
	       int64_t ttl_ms, char token[AUTH_TOKEN_HEX + 1], char user[SESSION_USER_MAX + 1],
	       chat_error_t *err);

/* Authenticates a STOMP CONNECT: passcode is a token (of user login, in
 * any case, when login is not NULL) or, failing that, login's password in
 * store s (s may be NULL: tokens only).  0 and the user's name as
 * registered in user, and in *grant (may be
 * NULL) how; CHAT_EDENIED; CHAT_EDB (the store or chat.db failed: the
 * client may retry). */
int auth_check(chatdb_t *db, store_t *s, const char *login, const char *passcode, int64_t now_ms,
	       char user[SESSION_USER_MAX + 1], auth_grant_t *grant, chat_error_t *err);

#endif
