/* auth.c - argon2id passwords and hashed login tokens (see auth.h). */
#include "config.h"
#include "auth.h"

#include "chatmsg.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char SQL_TOKEN_PUT[] =
	"INSERT INTO auth_tokens(hash, user_name, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_TOKEN_GET[] =
	"SELECT user_name, expires_ms FROM auth_tokens WHERE hash = ?1 AND expires_ms > ?2";
static const char SQL_TOKEN_DEL[] = "DELETE FROM auth_tokens WHERE hash = ?1";
static const char SQL_TOKEN_EXPIRE[] = "DELETE FROM auth_tokens WHERE expires_ms <= ?1";

int auth_init(void)
{
	return sodium_init() < 0 ? CHAT_EIO : CHAT_OK;
}

int auth_hash_password(const char *pw, size_t len, char out[STORE_PASSWORD_HASH_MAX + 1],
		       chat_error_t *err)
{
	char h[crypto_pwhash_STRBYTES];

	_Static_assert(crypto_pwhash_STRBYTES <= STORE_PASSWORD_HASH_MAX + 1,
		       "an argon2id hash fits the store");
	if (auth_init() != CHAT_OK)
		return chat_error_set(err, CHAT_EIO, "libsodium cannot be initialised");
	if (crypto_pwhash_str_alg(h, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return chat_error_set(err, CHAT_ENOMEM, "password hashing ran out of memory");
	snprintf(out, STORE_PASSWORD_HASH_MAX + 1, "%s", h);
	sodium_memzero(h, sizeof(h));
	return CHAT_OK;
}

int auth_verify_password(const char *hash, const char *pw, size_t len)
{
	if (auth_init() != CHAT_OK)
		return CHAT_EDENIED;
	return crypto_pwhash_str_verify(hash, pw, len) == 0 ? CHAT_OK : CHAT_EDENIED;
}

int auth_register(store_t *s, chat_slice_t name, chat_slice_t pw, int64_t now_ms,
		  store_user_t *out, chat_error_t *err)
{
	char n[STORE_USER_NAME_MAX + 1], hash[STORE_PASSWORD_HASH_MAX + 1];
	int64_t id;
	int rc;

	if ((rc = chatmsg_check_user_name(name, err)) != CHAT_OK ||
	    (rc = chatmsg_check_password(pw, err)) != CHAT_OK)
		return rc;
	memcpy(n, name.ptr, name.len);
	n[name.len] = '\0';
	rc = auth_hash_password(pw.ptr, pw.len, hash, err);
	if (rc != CHAT_OK)
		return rc;
	id = store_new_id();
	rc = store_user_add(s, id, n, hash, now_ms, err);
	if (rc == CHAT_EEXIST)
		chat_error_set(err, rc, "the name %s is taken", n);
	if (rc == CHAT_OK && out != NULL)
		rc = store_user_get(s, id, out, err);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

static void token_hash(const char *token, size_t len, unsigned char h[AUTH_HASH_BYTES])
{
	crypto_generichash(h, AUTH_HASH_BYTES, (const unsigned char *)token, len, NULL, 0);
}

int auth_token_issue(chatdb_t *db, const char *user, int64_t now_ms, int64_t ttl_ms,
		     char token[AUTH_TOKEN_HEX + 1], chat_error_t *err)
{
	unsigned char raw[AUTH_TOKEN_BYTES], h[32];
	sqlite3_stmt *st;
	int rc;

	if ((rc = chatdb__check_str(user, SESSION_USER_MAX, "user name", err)) != CHAT_OK)
		return rc;
	if (auth_init() != CHAT_OK)
		return chat_error_set(err, CHAT_EIO, "libsodium cannot be initialised");
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, AUTH_TOKEN_HEX + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	token_hash(token, AUTH_TOKEN_HEX, h);
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		return rc;
	rc = chatdb__stmt(db, SQL_TOKEN_EXPIRE, &st, err);
	if (rc == CHAT_OK) {
		sqlite3_bind_int64(st, 1, now_ms);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "token expiry", err);
		sqlite3_reset(st);
	}
	if (rc == CHAT_OK)
		rc = chatdb__stmt(db, SQL_TOKEN_PUT, &st, err);
	if (rc == CHAT_OK) {
		sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
		sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ms);
		sqlite3_bind_int64(st, 4, now_ms + ttl_ms);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "token", err);
		sqlite3_reset(st);
	}
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc != CHAT_OK)
		token[0] = '\0';
	return rc;
}

/* auth_token_check(), also filling *grant (may be NULL). */
static int token_check(chatdb_t *db, const char *token, size_t len, int64_t now_ms,
		       char user[SESSION_USER_MAX + 1], auth_grant_t *grant, chat_error_t *err)
{
	unsigned char h[AUTH_HASH_BYTES];
	sqlite3_stmt *st;
	int rc;

	user[0] = '\0';
	if (len == 0 || len > AUTH_PASSCODE_MAX)
		return chat_error_set(err, CHAT_EDENIED, "invalid token");
	token_hash(token, len, h);
	if ((rc = chatdb__stmt(db, SQL_TOKEN_GET, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(user, SESSION_USER_MAX + 1, "%s", sqlite3_column_text(st, 0));
		if (grant != NULL) {
			grant->by_token = 1;
			memcpy(grant->hash, h, sizeof(h));
			grant->expires_ms = sqlite3_column_int64(st, 1);
		}
		rc = CHAT_OK;
	} else if (rc == SQLITE_DONE) {
		rc = chat_error_set(err, CHAT_EDENIED, "invalid or expired token");
	} else {
		rc = chatdb__error(db, rc, "token", err);
	}
	sqlite3_reset(st);
	return rc;
}

int auth_token_check(chatdb_t *db, const char *token, size_t len, int64_t now_ms,
		     char user[SESSION_USER_MAX + 1], chat_error_t *err)
{
	return token_check(db, token, len, now_ms, user, NULL, err);
}

int auth_token_revoke(chatdb_t *db, const char *token, size_t len, chat_error_t *err)
{
	unsigned char h[AUTH_HASH_BYTES];
	sqlite3_stmt *st;
	int rc;

	if (len == 0 || len > AUTH_PASSCODE_MAX)
		return chat_error_set(err, CHAT_ENOTFOUND, "no such token");
	token_hash(token, len, h);
	if ((rc = chatdb__stmt(db, SQL_TOKEN_DEL, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rc = sqlite3_changes(chatdb_sqlite(db)) > 0
			     ? CHAT_OK
			     : chat_error_set(err, CHAT_ENOTFOUND, "no such token");
	else
		rc = chatdb__error(db, rc, "token revoke", err);
	sqlite3_reset(st);
	return rc;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[STORE_PASSWORD_HASH_MAX + 1];

static void make_dummy(void)
{
	unsigned char pw[16];

	if (auth_init() != CHAT_OK)
		return;
	randombytes_buf(pw, sizeof(pw));
	if (auth_hash_password((const char *)pw, sizeof(pw), dummy_hash, NULL) != CHAT_OK)
		dummy_hash[0] = '\0';
}

/* Checks name's password in the store: 0 and the user's name as stored
 * (found whatever the case of name) in stored; CHAT_EDENIED, CHAT_EDB. */
static int check_password(store_t *s, chat_slice_t name, chat_slice_t pw,
			  char stored[STORE_USER_NAME_MAX + 1], chat_error_t *err)
{
	char n[STORE_USER_NAME_MAX + 1];
	store_user_t u;
	int rc;

	if (!chatmsg_name_valid(name) || pw.len == 0 || pw.len > CHATMSG_PASSWORD_MAX)
		return chat_error_set(err, CHAT_EDENIED, "wrong user name or password");
	memcpy(n, name.ptr, name.len);
	n[name.len] = '\0';
	rc = store_user_get_by_name(s, n, &u, err);
	if (rc == CHAT_ENOTFOUND) {
		/* Spend the same time as a real check, so timing does not tell
		 * which names exist. */
		pthread_once(&dummy_once, make_dummy);
		if (dummy_hash[0] != '\0')
			(void)auth_verify_password(dummy_hash, pw.ptr, pw.len);
		return chat_error_set(err, CHAT_EDENIED, "wrong user name or password");
	}
	if (rc != CHAT_OK)
		return rc == CHAT_EDB ? rc : chat_error_set(err, CHAT_EDB, "user lookup failed");
	rc = auth_verify_password(u.password_hash, pw.ptr, pw.len);
	snprintf(stored, STORE_USER_NAME_MAX + 1, "%s", u.name);
	sodium_memzero(&u, sizeof(u));
	if (rc != CHAT_OK)
		return chat_error_set(err, CHAT_EDENIED, "wrong user name or password");
	return CHAT_OK;
}

int auth_login(chatdb_t *db, store_t *s, chat_slice_t name, chat_slice_t pw, int64_t now_ms,
	       int64_t ttl_ms, char token[AUTH_TOKEN_HEX + 1], char user[SESSION_USER_MAX + 1],
	       chat_error_t *err)
{
	char n[STORE_USER_NAME_MAX + 1];
	int rc;

	token[0] = '\0';
	rc = check_password(s, name, pw, n, err);
	if (rc != CHAT_OK)
		return rc;
	if (user != NULL)
		snprintf(user, SESSION_USER_MAX + 1, "%s", n);
	return auth_token_issue(db, n, now_ms, ttl_ms, token, err);
}

int auth_check(chatdb_t *db, store_t *s, const char *login, const char *passcode, int64_t now_ms,
	       char user[SESSION_USER_MAX + 1], auth_grant_t *grant, chat_error_t *err)
{
	char stored[STORE_USER_NAME_MAX + 1];
	size_t len = strlen(passcode);
	int rc;

	if (grant != NULL)
		memset(grant, 0, sizeof(*grant));
	rc = token_check(db, passcode, len, now_ms, user, grant, err);
	if (rc == CHAT_OK && login != NULL && *login != '\0' && strcasecmp(login, user) != 0)
		rc = chat_error_set(err, CHAT_EDENIED, "the token is not %s's", login);
	if (rc != CHAT_EDENIED)
		return rc;
	user[0] = '\0';
	if (grant != NULL)
		memset(grant, 0, sizeof(*grant));
	if (login == NULL || s == NULL)
		return chat_error_set(err, CHAT_EDENIED, "invalid or expired token");
	rc = check_password(s, (chat_slice_t){ login, strlen(login) },
			    (chat_slice_t){ passcode, len }, stored, err);
	if (rc == CHAT_OK)
		snprintf(user, SESSION_USER_MAX + 1, "%s", stored);
	return rc;
}
