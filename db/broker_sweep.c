/*
 * broker_sweep.c - sessions ended from outside a frame: signs of life,
 * heart-beat and token sweeps, ending a user's or one session.
 */
#include "config.h"
#include "broker_int.h"

static const char SQL_SESSION_OPEN[] =
	"SELECT id FROM sessions WHERE ?1 IS NOT NULL AND state = 'open' AND id = ?2";

/* ?1 is now, unused: sweep_sessions binds it. */
static const char SQL_USER_OPEN[] =
	"SELECT id FROM sessions WHERE ?1 IS NOT NULL AND state = 'open'"
	" AND user_name = ?2 COLLATE NOCASE LIMIT 64";

static const char SQL_TOKEN_DEAD[] =
	"SELECT t.session_id, t.expires_ms <= ?1 FROM stomp_tokens t"
	" JOIN sessions s ON s.id = t.session_id AND s.state = 'open'"
	" WHERE t.expires_ms <= ?1"
	" OR NOT EXISTS (SELECT 1 FROM auth_tokens a WHERE a.hash = t.token_hash) LIMIT 64";

/* Open sessions whose client promised heart-beats and has shown no sign
 * of life (heard_ms) for twice the agreed interval (the STOMP spec's
 * leeway for network delay) or ?2 (stomp_liveness_ms), whichever is
 * longer: heartbeat_peer_dead() (core/heartbeat.h) in SQL. */
static const char SQL_SILENT[] =
	"SELECT s.session_id, max(s.heard_ms, s.connected_ms) FROM stomp_sessions s"
	" JOIN sessions x ON x.id = s.session_id"
	" WHERE x.state = 'open' AND s.hb_expect_ms > 0"
	" AND max(s.heard_ms, s.connected_ms) + max(2 * s.hb_expect_ms, ?2) < ?1 LIMIT 64";

static const char SQL_HEARD_PREFIX[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE heard_ms < ?2 - 1000 AND session_id IN"
	" (SELECT id FROM sessions WHERE substr(lease_owner, 1, length(?1)) = ?1"
	" AND state <> 'closed')";

/* Signs of life the shells see outside STOMP frames, at most once a
 * second per session: a SockJS request arriving, the requests a process
 * holds (once per heartbeat for all of them), a WebSocket pong. */
static const char SQL_HEARD_SOON[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE session_id = ?1 AND heard_ms < ?2 - 1000";

static const char SQL_HEARD[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE session_id = ?1 AND heard_ms < ?2";

static int exec_heard_sql(chatdb_t *db, const char *sql, const char *key, int64_t now_ms,
			  chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "stomp heard", err);
}

int broker__exec_heard(chatdb_t *db, const char *key, int64_t now_ms, chat_error_t *err)
{
	return exec_heard_sql(db, SQL_HEARD, key, now_ms, err);
}

int broker_heard(chatdb_t *db, const char *key, int64_t now_ms, chat_error_t *err)
{
	return exec_heard_sql(db, SQL_HEARD_SOON, key, now_ms, err);
}

int broker_heard_prefix(chatdb_t *db, const char *prefix, int64_t now_ms, chat_error_t *err)
{
	return exec_heard_sql(db, SQL_HEARD_PREFIX, prefix, now_ms, err);
}

/* Writes the ERROR message for the session of the sweep's current row. */
typedef void (*sweep_message_fn)(sqlite3_stmt *st, int64_t now_ms, char *out, size_t size);

/* Ends the sessions sql (?1: now, ?2: arg when not NULL) yields - session id first, then what msg
 * reads (msg NULL: the ERROR says text) - with ERROR, then close, as for a refused frame: at most 64, each
 * in its own transaction; rings the doorbell once. */
static int sweep_sessions(chatdb_t *db, const chat_options_t *opt, int64_t now_ms, const char *sql,
			  const char *arg, const char *what, sweep_message_fn msg, const char *text,
			  int64_t *closed_out, chat_error_t *err)
{
	char keys[64][CHATDB_ID_MAX + 1], msgs[64][BROKER_PERR_MAX];
	doorbell_t *bell;
	int64_t ring = 0;
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc, step;

	if (closed_out != NULL)
		*closed_out = 0;
	rc = chatdb__stmt(db, sql, &st, err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, now_ms);
	if (arg != NULL)
		sqlite3_bind_text(st, 2, arg, -1, SQLITE_STATIC);
	else if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, opt->stomp_liveness_ms);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < CHAT_ARRAY_LEN(keys)) {
		snprintf(keys[n], sizeof(keys[n]), "%s", sqlite3_column_text(st, 0));
		if (msg != NULL)
			msg(st, now_ms, msgs[n], sizeof(msgs[n]));
		else
			snprintf(msgs[n], sizeof(msgs[n]), "%s", text);
		n++;
	}
	sqlite3_reset(st);
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		return chatdb__error(db, step, what, err);
	bell = chatdb__hold_doorbell(db);
	for (i = 0; i < n && rc == CHAT_OK; i++) {
		broker_t b;

		broker__setup(&b, db, opt, NULL, keys[i], now_ms, err);
		memcpy(b.perr_msg, msgs[i], sizeof(b.perr_msg));
		b.perr = 1;
		rc = broker__fail(&b, NULL);
		if (b.ring_seq > ring)
			ring = b.ring_seq;
		broker__teardown(&b);
	}
	chatdb__release_doorbell(db, bell, ring);
	if (rc == CHAT_OK && closed_out != NULL)
		*closed_out = (int64_t)n;
	return rc;
}

static void silent_message(sqlite3_stmt *st, int64_t now_ms, char *out, size_t size)
{
	snprintf(out, size, "heart-beat timeout, nothing received for %lld ms",
		 (long long)(now_ms - sqlite3_column_int64(st, 1)));
}

int64_t broker_heartbeat_interval(const chat_options_t *opt, int64_t client_recv_ms)
{
	return heartbeat_send_ms(opt->stomp_heartbeat_ms, client_recv_ms);
}

int broker_heartbeat_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms,
			   int64_t *closed_out, chat_error_t *err)
{
	return sweep_sessions(db, opt, now_ms, SQL_SILENT, NULL, "heart-beat sweep", silent_message,
			      NULL, closed_out, err);
}

static void token_message(sqlite3_stmt *st, int64_t now_ms, char *out, size_t size)
{
	(void)now_ms;
	snprintf(out, size, "%s", broker__token_end_message(sqlite3_column_int(st, 1)));
}

int broker_token_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms, int64_t *closed_out,
		       chat_error_t *err)
{
	return sweep_sessions(db, opt, now_ms, SQL_TOKEN_DEAD, NULL, "token sweep", token_message,
			      NULL, closed_out, err);
}

int broker_end_user(chatdb_t *db, const chat_options_t *opt, const char *user, const char *why,
		    int64_t now_ms, int64_t *closed_out, chat_error_t *err)
{
	int64_t n = 0, total = 0;
	int rc;

	/* 64 at a time; each ended session is no longer open. */
	do {
		rc = sweep_sessions(db, opt, now_ms, SQL_USER_OPEN, user,
				    "ending a user's sessions", NULL, why, &n, err);
		total += n;
	} while (rc == CHAT_OK && n == 64);
	if (closed_out != NULL)
		*closed_out = total;
	return rc;
}

int broker_end_session(chatdb_t *db, const chat_options_t *opt, const char *id, int64_t now_ms,
		       int64_t *closed_out, chat_error_t *err)
{
	return sweep_sessions(db, opt, now_ms, SQL_SESSION_OPEN, id, "ending a session", NULL,
			      BROKER_ERROR_KILLED, closed_out, err);
}
