/* auth.c - argon2id passwords, logins and hashed login tokens (see auth.h;
 * bans, display names and the first user are auth_ban.c's). */
#include "config.h"
#include "auth.h"
#include "clock.h"
#include "cluster.h"

#include "chatmsg.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char SQL_TOKEN_PUT[] =
	"INSERT INTO auth_tokens(hash, user_name, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_TOKEN_GET[] =
	"SELECT user_name, expires_ms FROM auth_tokens WHERE hash = ?1 AND expires_ms > ?2";
static const char SQL_TOKEN_IMPORT[] =
	"INSERT OR REPLACE INTO auth_tokens(hash, user_name, created_ms, expires_ms)"
	" VALUES (?1, ?2, ?3, ?4)";
static const char SQL_TOKEN_DEL[] = "DELETE FROM auth_tokens WHERE hash = ?1";
static const char SQL_TOKEN_EXPIRE[] = "DELETE FROM auth_tokens WHERE expires_ms <= ?1";

int auth_init(void)
{
	return sodium_init() < 0 ? CHAT_EIO : CHAT_OK;
}

/* The process's hash parameters and the slots bounding hashes at once
 * (defaults: the options' defaults). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	pthread_once_t once;
	int64_t memory_kib, ops, slots, wait_ms, running;
} kdf = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_ONCE_INIT, 19456, 2, 2, 2000, 0
};

static void kdf_init(void)
{
	pthread_condattr_t a;

	/* Waits are measured on the monotonic clock. */
	pthread_cond_destroy(&kdf.freed);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&kdf.freed, &a);
	pthread_condattr_destroy(&a);
}

void auth_configure(const chat_options_t *opt)
{
	pthread_once(&kdf.once, kdf_init);
	pthread_mutex_lock(&kdf.lock);
	kdf.memory_kib = opt->kdf_memory_kib;
	kdf.ops = opt->kdf_ops;
	kdf.slots = opt->kdf_concurrency;
	kdf.wait_ms = opt->kdf_wait_ms;
	pthread_cond_broadcast(&kdf.freed);
	pthread_mutex_unlock(&kdf.lock);
}

/* Takes a hash slot, waiting up to kdf.wait_ms: CHAT_OK or CHAT_EBUSY. */
static int kdf_enter(chat_error_t *err)
{
	struct timespec until;
	int rc = 0;

	pthread_once(&kdf.once, kdf_init);
	pthread_mutex_lock(&kdf.lock);
	chat_deadline(CLOCK_MONOTONIC, kdf.wait_ms, &until);
	while (kdf.running >= kdf.slots && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&kdf.freed, &kdf.lock, &until);
	if (kdf.running < kdf.slots)
		kdf.running++;
	else
		rc = -1;
	pthread_mutex_unlock(&kdf.lock);
	if (rc == -1)
		return chat_error_set(err, CHAT_EBUSY, "too many password checks at once");
	return CHAT_OK;
}

static void kdf_leave(void)
{
	pthread_mutex_lock(&kdf.lock);
	kdf.running--;
	pthread_cond_signal(&kdf.freed);
	pthread_mutex_unlock(&kdf.lock);
}

/* auth_hash_password() within a slot the caller holds. */
static int hash_in_slot(const char *pw, size_t len, char out[STORE_PASSWORD_HASH_MAX + 1],
			chat_error_t *err)
{
	char h[crypto_pwhash_STRBYTES];
	unsigned long long ops;
	size_t mem;

	_Static_assert(crypto_pwhash_STRBYTES <= STORE_PASSWORD_HASH_MAX + 1,
		       "an argon2id hash fits the store");
	if (auth_init() != CHAT_OK)
		return chat_error_set(err, CHAT_EIO, "libsodium cannot be initialised");
	pthread_mutex_lock(&kdf.lock);
	mem = (size_t)kdf.memory_kib * 1024;
	ops = (unsigned long long)kdf.ops;
	pthread_mutex_unlock(&kdf.lock);
	if (crypto_pwhash_str_alg(h, pw, len, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return chat_error_set(err, CHAT_ENOMEM, "password hashing ran out of memory");
	snprintf(out, STORE_PASSWORD_HASH_MAX + 1, "%s", h);
	sodium_memzero(h, sizeof(h));
	return CHAT_OK;
}

int auth_hash_password(const char *pw, size_t len, char out[STORE_PASSWORD_HASH_MAX + 1],
		       chat_error_t *err)
{
	int rc = kdf_enter(err);

	if (rc != CHAT_OK)
		return rc;
	rc = hash_in_slot(pw, len, out, err);
	kdf_leave();
	return rc;
}

static int verify_in_slot(const char *hash, const char *pw, size_t len)
{
	if (auth_init() != CHAT_OK)
		return CHAT_EDENIED;
	return crypto_pwhash_str_verify(hash, pw, len) == 0 ? CHAT_OK : CHAT_EDENIED;
}

int auth_verify_password(const char *hash, const char *pw, size_t len)
{
	int rc = kdf_enter(NULL);

	if (rc != CHAT_OK)
		return rc;
	rc = verify_in_slot(hash, pw, len);
	kdf_leave();
	return rc;
}

int auth_register(store_t *s, chat_slice_t name, chat_slice_t pw, int64_t now_ms, store_user_t *out,
		  chat_error_t *err)
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
		rc = chatdb__step_done(db, st, "token expiry", err);
	}
	if (rc == CHAT_OK)
		rc = chatdb__stmt(db, SQL_TOKEN_PUT, &st, err);
	if (rc == CHAT_OK) {
		sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
		sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now_ms);
		sqlite3_bind_int64(st, 4, now_ms + ttl_ms);
		rc = chatdb__step_done(db, st, "token", err);
	}
	/* In a cluster every node learns the token (db/cluster.h). */
	if (rc == CHAT_OK)
		rc = cluster__token_in_tx(db, 1, h, user, now_ms, now_ms + ttl_ms, err);
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
	int rc, row;

	user[0] = '\0';
	if (len == 0 || len > AUTH_PASSCODE_MAX)
		return chat_error_set(err, CHAT_EDENIED, "invalid token");
	token_hash(token, len, h);
	if ((rc = chatdb__stmt(db, SQL_TOKEN_GET, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = chatdb__step_row(db, st, &row, "token", err);
	if (rc == CHAT_OK && row) {
		snprintf(user, SESSION_USER_MAX + 1, "%s", sqlite3_column_text(st, 0));
		if (grant != NULL) {
			grant->by_token = 1;
			memcpy(grant->hash, h, sizeof(h));
			grant->expires_ms = sqlite3_column_int64(st, 1);
		}
	} else if (rc == CHAT_OK) {
		rc = chat_error_set(err, CHAT_EDENIED, "invalid or expired token");
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
	int64_t changes;
	int rc;

	if (len == 0 || len > AUTH_PASSCODE_MAX)
		return chat_error_set(err, CHAT_ENOTFOUND, "no such token");
	token_hash(token, len, h);
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		return rc;
	if ((rc = chatdb__stmt(db, SQL_TOKEN_DEL, &st, err)) != CHAT_OK)
		goto out;
	sqlite3_bind_blob(st, 1, h, sizeof(h), SQLITE_STATIC);
	rc = chatdb__step_changes(db, st, &changes, "token revoke", err);
	if (rc == CHAT_OK && changes == 0)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no such token");
	/* In a cluster the other nodes forget it too (db/cluster.h). */
	if (rc == CHAT_OK)
		rc = cluster__token_in_tx(db, 0, h, NULL, 0, 0, err);
out:
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	return rc;
}

int auth_token_import(chatdb_t *db, const unsigned char hash[AUTH_HASH_BYTES], const char *user,
		      int64_t created_ms, int64_t expires_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_TOKEN_IMPORT, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_blob(st, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, created_ms);
	sqlite3_bind_int64(st, 4, expires_ms);
	return chatdb__step_done(db, st, "token", err);
}

int auth_token_forget(chatdb_t *db, const unsigned char hash[AUTH_HASH_BYTES], chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_TOKEN_DEL, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_blob(st, 1, hash, AUTH_HASH_BYTES, SQLITE_STATIC);
	return chatdb__step_done(db, st, "token", err);
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[STORE_PASSWORD_HASH_MAX + 1];

/* Run with a hash slot held (by check_password). */
static void make_dummy(void)
{
	unsigned char pw[16];

	if (auth_init() != CHAT_OK)
		return;
	randombytes_buf(pw, sizeof(pw));
	if (hash_in_slot((const char *)pw, sizeof(pw), dummy_hash, NULL) != CHAT_OK)
		dummy_hash[0] = '\0';
}

/* Verifies pw against name's stored hash in a hash slot: 0 and the name
 * as stored in stored, CHAT_EDENIED, CHAT_EBUSY, CHAT_EDB. */
static int verify_user(store_t *s, const char *n, chat_slice_t pw,
		       char stored[STORE_USER_NAME_MAX + 1], chat_error_t *err)
{
	store_user_t u;
	int rc = store_user_get_by_name(s, n, &u, err);

	if (rc != CHAT_OK && rc != CHAT_ENOTFOUND)
		return rc == CHAT_EDB ? rc : chat_error_set(err, CHAT_EDB, "user lookup failed");
	if (kdf_enter(err) != CHAT_OK) {
		sodium_memzero(&u, sizeof(u));
		return CHAT_EBUSY;
	}
	if (rc == CHAT_ENOTFOUND) {
		/* Spend the same time as a real check, so timing does not tell
		 * which names exist. */
		pthread_once(&dummy_once, make_dummy);
		if (dummy_hash[0] != '\0')
			(void)verify_in_slot(dummy_hash, pw.ptr, pw.len);
		rc = CHAT_EDENIED;
	} else {
		rc = verify_in_slot(u.password_hash, pw.ptr, pw.len);
		snprintf(stored, STORE_USER_NAME_MAX + 1, "%s", u.name);
	}
	kdf_leave();
	sodium_memzero(&u, sizeof(u));
	if (rc != CHAT_OK)
		return chat_error_set(err, CHAT_EDENIED, "wrong user name or password");
	return CHAT_OK;
}

/* Checks name's password in the store, within at's limits (at may be
 * NULL): 0 and the user's name as stored (found whatever the case of name)
 * in stored; CHAT_EDENIED, CHAT_ETOOMANY, CHAT_EBUSY, CHAT_EDB. */
static int check_password(chatdb_t *db, store_t *s, chat_slice_t name, chat_slice_t pw,
			  int64_t now_ms, auth_attempt_t *at, char stored[STORE_USER_NAME_MAX + 1],
			  chat_error_t *err)
{
	const authlimit_conf_t *lim = at != NULL ? at->limits : NULL;
	const char *peer = at != NULL ? at->peer : NULL;
	char n[STORE_USER_NAME_MAX + 1];
	chat_error_t e2 = { 0 };
	int64_t retry = 0;
	int rc, lrc = CHAT_OK;

	if (at != NULL)
		at->retry_ms = 0;
	if (!chatmsg_name_valid(name) || pw.len == 0 || pw.len > CHATMSG_PASSWORD_MAX) {
		metrics_add(METRICS_AUTH_FAILURES, 1);
		return chat_error_set(err, CHAT_EDENIED, "wrong user name or password");
	}
	memcpy(n, name.ptr, name.len);
	n[name.len] = '\0';
	if (lim != NULL) {
		rc = authlimit_check(db, lim, n, peer, now_ms, &retry, err);
		if (rc == CHAT_ETOOMANY)
			at->retry_ms = retry;
		if (rc == CHAT_ETOOMANY)
			metrics_add(METRICS_LIMIT_LOGIN, 1);
		if (rc != CHAT_OK)
			return rc;
	}
	rc = verify_user(s, n, pw, stored, err);
	if (rc == CHAT_EBUSY && at != NULL)
		at->retry_ms = 1000;
	if (rc == CHAT_EDENIED)
		metrics_add(METRICS_AUTH_FAILURES, 1);
	/* A chat.db failure while counting does not change the answer. */
	if (rc == CHAT_EDENIED && lim != NULL)
		lrc = authlimit_fail(db, lim, n, peer, now_ms, &e2);
	else if (rc == CHAT_OK && lim != NULL)
		lrc = authlimit_reset(db, n, &e2);
	if (lrc != CHAT_OK)
		log_warn("auth: counting the login of %s: %s", n, chat_error_reason(&e2, lrc));
	return rc;
}

int auth_login(chatdb_t *db, store_t *s, chat_slice_t name, chat_slice_t pw, int64_t now_ms,
	       int64_t ttl_ms, auth_attempt_t *at, char token[AUTH_TOKEN_HEX + 1],
	       char user[SESSION_USER_MAX + 1], chat_error_t *err)
{
	char n[STORE_USER_NAME_MAX + 1];
	int rc, banned = 0;

	token[0] = '\0';
	rc = check_password(db, s, name, pw, now_ms, at, n, err);
	if (rc != CHAT_OK)
		return rc;
	rc = auth_banned(db, n, &banned, err);
	if (rc == CHAT_OK && banned)
		rc = chat_error_set(err, CHAT_EDENIED, "%s is banned", n);
	if (rc != CHAT_OK)
		return rc;
	if (user != NULL)
		snprintf(user, SESSION_USER_MAX + 1, "%s", n);
	return auth_token_issue(db, n, now_ms, ttl_ms, token, err);
}

int auth_check(chatdb_t *db, store_t *s, const char *login, const char *passcode, int64_t now_ms,
	       auth_attempt_t *at, char user[SESSION_USER_MAX + 1], auth_grant_t *grant,
	       chat_error_t *err)
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
	rc = check_password(db, s, (chat_slice_t){ login, strlen(login) },
			    (chat_slice_t){ passcode, len }, now_ms, at, stored, err);
	if (rc == CHAT_OK)
		snprintf(user, SESSION_USER_MAX + 1, "%s", stored);
	return rc;
}
