/*
 * broker.c - the STOMP broker over chat.db: frame handling in one
 * transaction per frame, routing to /topic, /queue, /user and the /app
 * handlers, transactions, acknowledgements, and rendering MESSAGE frames at
 * delivery (see broker.h).
 */
#include "config.h"
#include "broker.h"
#include "cluster.h"

#include "auth.h"
#include "chatmsg.h"
#include "chatroom.h"
#include "delivery.h"
#include "dest.h"
#include "dm.h"
#include "hook.h"
#include "log.h"
#include "json.h"
#include "metrics.h"
#include "queue.h"
#include "ratelimit.h"
#include "relay.h"
#include "session.h"
#include "stomp.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BROKER_SERVER "chat/" PACKAGE_VERSION

static const char SQL_STATE_GET[] = "SELECT version FROM stomp_sessions WHERE session_id = ?1";
/* What broker_receive() needs before its first frame, in one step: the
 * version (NULL before CONNECT) and the incomplete frame the session's
 * previous message ended with (NULL when there is none). */
static const char SQL_RECEIVE_GET[] =
	"SELECT (SELECT version FROM stomp_sessions WHERE session_id = ?1),"
	" (SELECT bytes FROM stomp_partial WHERE session_id = ?1)";
static const char SQL_PARTIAL_PUT[] =
	"INSERT INTO stomp_partial(session_id, bytes) VALUES (?1, ?2)"
	" ON CONFLICT(session_id) DO UPDATE SET bytes = excluded.bytes";
static const char SQL_PARTIAL_CLEAR[] = "DELETE FROM stomp_partial WHERE session_id = ?1";
static const char SQL_HEARD[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE session_id = ?1 AND heard_ms < ?2";
/* Signs of life the shells see outside STOMP frames, at most once a
 * second per session: a SockJS request arriving, the requests a process
 * holds (once per heartbeat for all of them), a WebSocket pong. */
static const char SQL_HEARD_SOON[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE session_id = ?1 AND heard_ms < ?2 - 1000";
static const char SQL_HEARD_PREFIX[] =
	"UPDATE stomp_sessions SET heard_ms = ?2 WHERE heard_ms < ?2 - 1000 AND session_id IN"
	" (SELECT id FROM sessions WHERE substr(lease_owner, 1, length(?1)) = ?1"
	" AND state <> 'closed')";
/* Open sessions whose client promised heart-beats and has shown no sign
 * of life (heard_ms) for twice the agreed interval (the STOMP spec's
 * leeway for network delay) or ?2 (stomp_liveness_ms), whichever is
 * longer. */
static const char SQL_SILENT[] =
	"SELECT s.session_id, max(s.heard_ms, s.connected_ms) FROM stomp_sessions s"
	" JOIN sessions x ON x.id = s.session_id"
	" WHERE x.state = 'open' AND s.hb_expect_ms > 0"
	" AND max(s.heard_ms, s.connected_ms) + max(2 * s.hb_expect_ms, ?2) < ?1 LIMIT 64";
static const char SQL_STATE_PUT[] =
	"INSERT INTO stomp_sessions(session_id, version, hb_client_send_ms, hb_client_recv_ms,"
	" hb_expect_ms, connected_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_COUNTER[] =
	"INSERT INTO stomp_counters(name, value) VALUES (?1, 1)"
	" ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value";
static const char SQL_ROOM_SEQ[] =
	"INSERT INTO chat_room_seq(room, seq) VALUES (?1, 1)"
	" ON CONFLICT(room) DO UPDATE SET seq = seq + 1 RETURNING seq";
/* session_sub_add() runs its own transaction; inside the frame's, the
 * broker checks the bound and inserts itself (the write lock is held). */
static const char SQL_SUB_COUNT[] = "SELECT count(*) FROM subscriptions WHERE session_id = ?1";
static const char SQL_SUB_INSERT[] =
	"INSERT INTO subscriptions(session_id, sub_id, destination, ack_mode, from_seq, prefetch)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_SUB_DEST[] =
	"SELECT destination FROM subscriptions WHERE session_id = ?1 AND sub_id = ?2";
/* Rooms this session is in (exact room topics). */
static const char SQL_SESSION_ROOMS[] =
	"SELECT DISTINCT destination FROM subscriptions WHERE session_id = ?1"
	" AND substr(destination, 1, length(?2)) = ?2";
/* Whether user ?1 is still in room topic ?2 through a live session. */
static const char SQL_PRESENT[] =
	"SELECT count(*) FROM subscriptions u JOIN sessions s ON s.id = u.session_id"
	" WHERE s.user_name = ?1 AND u.destination = ?2 AND s.state = 'open'";
static const char SQL_PRESENCE_ADD[] =
	"INSERT OR IGNORE INTO chat_presence(room, user_name) VALUES (?1, ?2)";
static const char SQL_PRESENCE_DEL[] =
	"DELETE FROM chat_presence WHERE room = ?1 AND user_name = ?2";
/* Users of a room topic ?1 through live sessions, for /presence. */
static const char SQL_PRESENT_USERS[] =
	"SELECT DISTINCT s.user_name FROM subscriptions u JOIN sessions s ON s.id = u.session_id"
	" WHERE u.destination = ?1 AND s.state = 'open' AND s.user_name IS NOT NULL"
	" UNION SELECT user_name FROM cluster_presence WHERE room = ?2"
	" ORDER BY 1";
/* Announced presence no live session backs any more (expired sessions). */
static const char SQL_PRESENCE_STALE[] =
	"SELECT room, user_name FROM chat_presence p WHERE NOT EXISTS ("
	" SELECT 1 FROM subscriptions u JOIN sessions s ON s.id = u.session_id"
	" WHERE s.user_name = p.user_name AND u.destination = ?1 || p.room"
	" AND s.state = 'open') LIMIT 64";
static const char SQL_TOKEN_PUT[] =
	"INSERT OR REPLACE INTO stomp_tokens(session_id, token_hash, expires_ms) VALUES (?1, ?2, ?3)";
/* A session's token: 1 expired, 2 revoked, 0 valid (no row: no token). */
static const char SQL_TOKEN_STATE[] =
	"SELECT CASE WHEN t.expires_ms <= ?2 THEN 1"
	" WHEN NOT EXISTS (SELECT 1 FROM auth_tokens a WHERE a.hash = t.token_hash) THEN 2"
	" ELSE 0 END FROM stomp_tokens t WHERE t.session_id = ?1";
static const char SQL_TOKEN_DEAD[] =
	"SELECT t.session_id, t.expires_ms <= ?1 FROM stomp_tokens t"
	" JOIN sessions s ON s.id = t.session_id AND s.state = 'open'"
	" WHERE t.expires_ms <= ?1"
	" OR NOT EXISTS (SELECT 1 FROM auth_tokens a WHERE a.hash = t.token_hash) LIMIT 64";
static const char SQL_OUTBOX_MIN[] = "SELECT coalesce(min(seq), 0) FROM outbox";
static const char SQL_SUBS_CLEAR[] = "DELETE FROM subscriptions WHERE session_id = ?1";
static const char SQL_TX_CLEAR[] = "DELETE FROM stomp_tx WHERE session_id = ?1";
static const char SQL_TX_COUNT[] = "SELECT count(*) FROM stomp_tx WHERE session_id = ?1";
static const char SQL_TX_INSERT[] = "INSERT INTO stomp_tx(session_id, tx_id) VALUES (?1, ?2)";
static const char SQL_TX_GET[] =
	"SELECT nframes FROM stomp_tx WHERE session_id = ?1 AND tx_id = ?2";
static const char SQL_TX_BUMP[] =
	"UPDATE stomp_tx SET nframes = nframes + 1 WHERE session_id = ?1 AND tx_id = ?2";
static const char SQL_TX_FRAME_PUT[] =
	"INSERT INTO stomp_tx_frames(session_id, tx_id, n, frame) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_TX_FRAMES[] =
	"SELECT frame FROM stomp_tx_frames WHERE session_id = ?1 AND tx_id = ?2 ORDER BY n";
static const char SQL_TX_DELETE[] = "DELETE FROM stomp_tx WHERE session_id = ?1 AND tx_id = ?2";
static const char SQL_UNACKED_PUT[] =
	"INSERT OR IGNORE INTO stomp_unacked(session_id, ack_id, sub_id, sub_destination,"
	" ack_mode, msg_seq, destination, content_type, body, user_name, sender)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char SQL_UNACKED_GET[] =
	"SELECT sub_id, ack_mode, msg_seq FROM stomp_unacked WHERE session_id = ?1 AND ack_id = ?2";
static const char SQL_UNACKED_BY_SEQ[] =
	"SELECT ack_id FROM stomp_unacked WHERE session_id = ?1 AND msg_seq = ?2"
	" ORDER BY ack_id LIMIT 1";
/* ?4 = 0: the one message ?2; ?4 = 1: every message of subscription ?3 up
 * to seq ?5 (client mode acknowledges cumulatively). */
static const char SQL_UNACKED_SELECT[] =
	"SELECT ack_id, sub_id, msg_seq, destination, content_type, body, sender, sub_destination"
	" FROM stomp_unacked"
	" WHERE session_id = ?1 AND ((?4 = 0 AND ack_id = ?2)"
	" OR (?4 = 1 AND sub_id = ?3 AND msg_seq <= ?5)) ORDER BY msg_seq";
static const char SQL_UNACKED_DELETE[] =
	"DELETE FROM stomp_unacked WHERE session_id = ?1 AND ((?4 = 0 AND ack_id = ?2)"
	" OR (?4 = 1 AND sub_id = ?3 AND msg_seq <= ?5))";
static const char SQL_UNACKED_DEL_SUB[] =
	"DELETE FROM stomp_unacked WHERE session_id = ?1 AND sub_id = ?2";
/* What a closed session of the same user left unacknowledged on the same
 * subscription destination: handed to a new subscription on reconnect. */
static const char SQL_UNACKED_ORPHANS[] =
	"SELECT u.msg_seq, u.destination, u.content_type, u.body, u.sender FROM stomp_unacked u"
	" JOIN sessions s ON s.id = u.session_id"
	" WHERE u.user_name = ?1 AND u.sub_destination = ?2 AND s.state = 'closed'"
	" ORDER BY u.msg_seq";
static const char SQL_UNACKED_ORPHANS_DEL[] =
	"DELETE FROM stomp_unacked WHERE user_name = ?1 AND sub_destination = ?2"
	" AND session_id IN (SELECT id FROM sessions WHERE state = 'closed')";

/* ---- chat messages read for history and resume --------------------------- */

/* Most messages one resume delivers (the newest; older ones are paged with
 * the history destination's before header). */
#define BROKER_RESUME_MAX 1000

typedef struct hmsg {
	int64_t id, room_seq, time_ms;
	char *writer;
	char *text;
	size_t text_len;
} hmsg_t;

typedef struct hlist {
	hmsg_t *v;
	size_t n, cap;
} hlist_t;

static void hlist_free(hlist_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].writer);
		free(l->v[i].text);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int hlist_push(hlist_t *l, const store_msg_t *m)
{
	hmsg_t *h;

	if (chat_array_reserve((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 64, 0) != CHAT_OK)
		return CHAT_ENOMEM;
	h = &l->v[l->n];
	h->id = m->id;
	h->room_seq = m->room_seq;
	h->time_ms = m->time_ms;
	h->text_len = m->text_len;
	h->writer = strdup(m->writer);
	h->text = malloc(m->text_len + 1);
	if (h->writer == NULL || h->text == NULL) {
		free(h->writer);
		free(h->text);
		return CHAT_ENOMEM;
	}
	memcpy(h->text, m->text, m->text_len);
	h->text[m->text_len] = '\0';
	l->n++;
	return CHAT_OK;
}

static int by_id(const void *a, const void *b)
{
	const hmsg_t *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts by id, drops duplicates (a message both in the store and still in
 * the outbox) and what is not in (lo, hi), then keeps the newest keep. */
static void hlist_settle(hlist_t *l, int64_t lo, int64_t hi, size_t keep)
{
	size_t i, n = 0, drop;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), by_id);
	for (i = 0; i < l->n; i++) {
		if (l->v[i].id <= lo || l->v[i].id >= hi || (n > 0 && l->v[n - 1].id == l->v[i].id)) {
			free(l->v[i].writer);
			free(l->v[i].text);
			continue;
		}
		l->v[n++] = l->v[i];
	}
	l->n = n;
	if (n > keep) {
		drop = n - keep;
		for (i = 0; i < drop; i++) {
			free(l->v[i].writer);
			free(l->v[i].text);
		}
		memmove(l->v, l->v + drop, keep * sizeof(*l->v));
		l->n = keep;
	}
}

/* What a frame needs from the durable store, read before its transaction
 * (a store call never runs while chat.db's write lock is held). */
typedef enum prefetch_kind {
	PRE_NONE,
	PRE_HISTORY, /* SUBSCRIBE /app/chat/room/{id}/history */
	PRE_RESUME   /* SUBSCRIBE /topic/chat/room/{id} with after */
} prefetch_kind_t;

typedef struct prefetch {
	prefetch_kind_t kind;
	chatroom_t room;
	int64_t relay0;    /* relay cursor before the store read: ids <= it are in the store */
	int64_t lo, hi;    /* wanted ids: lo < id < hi */
	size_t keep;       /* newest messages kept */
	int partial;       /* the store failed: only what the outbox still holds */
	hlist_t msgs;
	int dm_rc;         /* SEND APP/dm/{user}[/typing]: the store's answer (1: not asked) */
	char dm_peer[STORE_USER_NAME_MAX + 1]; /* the user's name as registered */
} prefetch_t;

/* ---- receiving ------------------------------------------------------------ */

/* Longest ERROR message header the broker writes. */
#define BROKER_PERR_MAX 200

typedef struct broker {
	chatdb_t *db;
	const chat_options_t *opt;
	const char *key;
	const char *peer;          /* the client's address (NULL: unknown) */
	int64_t now_ms;
	chat_error_t *err;
	session_info_t info;       /* the session row, loaded per frame */
	int connected;             /* CONNECT succeeded */
	stomp_version_t version;   /* negotiated (1.2 until then) */
	int perr;                  /* the frame is refused: ERROR, then close */
	char perr_msg[BROKER_PERR_MAX]; /* its ERROR message header */
	int ended;                 /* the session ends after this frame */
	int64_t tx_seq;            /* last seq appended in the open transaction */
	int64_t ring_seq;          /* last seq committed: ring the doorbell with it */
	chat_buf_t frame;          /* a frame being serialised */
	chat_buf_t hdrs;           /* row headers being encoded */
	chat_buf_t scratch;        /* message bodies built by handlers */
	store_t **store;           /* the caller's store slot (NULL: no store) */
	int auth_rc;               /* CONNECT's passcode checked before the transaction */
	char auth_user[SESSION_USER_MAX + 1];
	auth_grant_t auth_grant;   /* how: the token's hash and expiry */
	char auth_msg[256];
	prefetch_t pre;            /* store reads done before the transaction */
	int retry;                 /* the prefetch went stale: run the frame again */
	int no_retry;              /* stale or not, use the prefetch (tried enough) */
	int partial_held;          /* chat.db holds a partial frame not yet consumed */
	int hook_done;             /* the application hook was called for this frame */
	int hook_rc;               /* and how that went */
	char hook_msg[BROKER_PERR_MAX]; /* why it failed */
	hookmsg_answer_t hook;     /* its answer */
	int rate_taken;            /* the SEND's rate token was taken before the hook call */
	int rate_refused;          /* or it was refused (and the session told) then */
} broker_t;

__attribute__((format(printf, 2, 3)))
static int refuse(broker_t *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->perr_msg, sizeof(b->perr_msg), fmt, ap);
	va_end(ap);
	b->perr = 1;
	return CHAT_EPROTO;
}

/* A header value as a C string (the parser NUL-terminates values). */
static const char *header(const stomp_frame_t *f, const char *name)
{
	const chat_slice_t *v = stomp_frame_header(f, name);

	return v != NULL ? v->ptr : NULL;
}

static int step_done(broker_t *b, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? CHAT_OK : chatdb__error(b->db, rc, what, b->err);
	sqlite3_reset(st);
	return rc;
}

/* Runs a cached statement keyed by the session id (?1) and an optional
 * text ?2, ignoring any result rows. */
static int exec2(broker_t *b, const char *sql, const char *a2, const char *what)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(b->db, sql, &st, b->err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	if (a2 != NULL)
		sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
	return step_done(b, st, what);
}

/* Runs a cached statement binding text ?1 that returns one integer. */
static int query_int(broker_t *b, const char *sql, const char *a1, const char *a2, int64_t *out,
		     int *found, const char *what)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(b->db, sql, &st, b->err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
	if (a2 != NULL)
		sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? CHAT_OK : chatdb__error(b->db, rc, what, b->err);
	sqlite3_reset(st);
	return rc;
}

static int load_version(chatdb_t *db, const char *key, int *connected, stomp_version_t *v,
			chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_STATE_GET, &st, err);

	*connected = 0;
	*v = STOMP_V1_2;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*connected = 1;
		*v = (stomp_version_t)sqlite3_column_int(st, 0);
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "stomp state", err);
	sqlite3_reset(st);
	return rc;
}

static int load_state(broker_t *b)
{
	int rc = session_get(b->db, b->key, &b->info, b->err);

	if (rc != CHAT_OK)
		return rc;
	return load_version(b->db, b->key, &b->connected, &b->version, b->err);
}

/* Appends a row inside the open transaction.  The doorbell is detached for
 * the whole of broker_receive() (a ring before COMMIT would wake readers
 * too early); it is rung once the transaction committed. */
static int append(broker_t *b, const char *dest, const char *target, chat_slice_t headers,
		  chat_slice_t body, int64_t *seq_out)
{
	outbox_msg_t m = { dest, target, headers, body, b->now_ms };
	int64_t seq = 0;
	int rc = outbox_append(b->db, &m, &seq, b->err);

	if (rc == CHAT_OK) {
		b->tx_seq = seq;
		if (seq_out != NULL)
			*seq_out = seq;
	}
	return rc;
}

/* Appends b->frame as a frame for this session only; with close_code, the
 * session ends once it is delivered. */
static int send_frame(broker_t *b, int close_code, const char *close_reason)
{
	char code[16];
	int rc;

	chat_buf_reset(&b->hdrs);
	if (close_code != 0) {
		snprintf(code, sizeof(code), "%d", close_code);
		if ((rc = delivery_hdr_put(&b->hdrs, "close-code", code)) != CHAT_OK ||
		    (rc = delivery_hdr_put(&b->hdrs, "close-reason", close_reason)) != CHAT_OK)
			return rc;
	}
	return append(b, BROKER_DIRECT_DEST, b->key, chat_buf_slice(&b->hdrs),
		      chat_buf_slice(&b->frame), NULL);
}

/* The seq the next appended row will get (the write lock is held). */
static int next_seq(broker_t *b, int64_t *seq)
{
	int rc = outbox_last_seq(b->db, seq, b->err);

	(*seq)++;
	return rc;
}

/* ---- the durable store, outside the frame's transaction ---- */

/* After a store failure the store is left alone this long: an unreachable
 * MongoDB costs its connect timeout on every try. */
#define BROKER_STORE_BACKOFF_MS 5000
static _Atomic int64_t store_down_until;

static void store_failed(broker_t *b)
{
	atomic_store(&store_down_until, b->now_ms + BROKER_STORE_BACKOFF_MS);
}

/* The caller's store handle, opened on first use; NULL when there is none
 * or it failed lately. */
static store_t *get_store(broker_t *b)
{
	chat_error_t e = { 0 };

	if (b->store == NULL || b->now_ms < atomic_load(&store_down_until))
		return NULL;
	if (*b->store == NULL && store_open(b->opt->store_uri, b->store, &e) != CHAT_OK) {
		store_failed(b);
		return NULL;
	}
	return *b->store;
}

/* A room id out of APP/chat/room/ROOM/SUFFIX (app; suffix "" for a post)
 * or TOPIC/chat/room/ROOM (!app, suffix "") into room (chatroom.h). */
static int room_of(const char *dest, int app, const char *suffix, char room[CHATMSG_ROOM_MAX + 1])
{
	chat_slice_t d = { dest, strlen(dest) }, rest, r;
	size_t n = strlen(CHATROOM_ROOM_PATH), m = strlen(suffix);

	if (app) {
		if (dest_classify_in(dest_prefixes(), d, &rest) != DEST_APP || rest.len <= n + m ||
		    memcmp(rest.ptr, CHATROOM_ROOM_PATH, n) != 0 ||
		    memcmp(rest.ptr + rest.len - m, suffix, m) != 0)
			return 0;
		r = (chat_slice_t){ rest.ptr + n, rest.len - n - m };
		if (!chatmsg_room_valid(r))
			return 0;
	} else if (m > 0 || !chatroom_of_topic(d, &r)) {
		return 0;
	}
	memcpy(room, r.ptr, r.len);
	room[r.len] = '\0';
	return 1;
}

/* The application path of dest (APP/rooms -> "/rooms"), or NULL. */
static const char *app_path(const char *dest)
{
	chat_slice_t rest;

	return dest_classify_in(dest_prefixes(), (chat_slice_t){ dest, strlen(dest) }, &rest) ==
			       DEST_APP
		       ? rest.ptr
		       : NULL;
}

/* The user name out of APP/dm/{user}SUFFIX into name: 1 when dest is one. */
static int dm_of(const char *dest, const char *suffix, char name[CHATMSG_NAME_MAX + 1])
{
	const char *path = app_path(dest);
	size_t n = strlen(BROKER_DM_PATH), m = strlen(suffix), len;

	if (path == NULL || strncmp(path, BROKER_DM_PATH "/", n + 1) != 0)
		return 0;
	path += n + 1;
	len = strlen(path);
	if (len <= m || strcmp(path + len - m, suffix) != 0 ||
	    !chatmsg_name_valid((chat_slice_t){ path, len - m }))
		return 0;
	memcpy(name, path, len - m);
	name[len - m] = '\0';
	return 1;
}

/* USER/QUEUE/errors (see BROKER_ERRORS_PATH). */
static void errors_dest(char out[CHATDB_DEST_MAX + 1])
{
	const dest_prefixes_t *p = dest_prefixes();

	snprintf(out, CHATDB_DEST_MAX + 1, "%s%s%s", p->user, p->broker[p->queue],
		 BROKER_ERRORS_PATH);
}

/* ---- the application: built-in handlers and the hook ---- */

/* 1 when dest goes to the application (@MessageMapping), not the broker:
 * the one place that says so (the prefixes become options). */
static int is_app_dest(const char *dest)
{
	return app_path(dest) != NULL;
}

/* Whether dest is APP/chat/room/{id}/typing. */
static int is_typing(const char *dest)
{
	char room[CHATMSG_ROOM_MAX + 1];

	return room_of(dest, 1, BROKER_TYPING_SUFFIX, room);
}

/* 1 when the built-in chat application handles a SEND to app dest. */
static int app_send_builtin(const char *dest)
{
	const char *path = app_path(dest);
	char room[CHATMSG_ROOM_MAX + 1];

	char name[CHATMSG_NAME_MAX + 1];

	return (path != NULL && (strcmp(path, CHATROOM_ROOMS_PATH) == 0 ||
				 strcmp(path, BROKER_ROOMS_DELETE_PATH) == 0)) ||
	       room_of(dest, 1, "", room) || is_typing(dest) || dm_of(dest, "", name) ||
	       dm_of(dest, BROKER_DM_READ_SUFFIX, name) || dm_of(dest, BROKER_TYPING_SUFFIX, name);
}

/* 1 when the built-in chat application answers a SUBSCRIBE to app dest. */
static int app_subscribe_builtin(const char *dest)
{
	const char *path = app_path(dest);
	char room[CHATMSG_ROOM_MAX + 1];

	char name[CHATMSG_NAME_MAX + 1];

	return (path != NULL && (strcmp(path, CHATROOM_ROOMS_PATH) == 0 ||
				 strcmp(path, BROKER_DM_PATH) == 0)) ||
	       dm_of(dest, BROKER_HISTORY_SUFFIX, name) ||
	       room_of(dest, 1, BROKER_PRESENCE_SUFFIX, room) ||
	       room_of(dest, 1, BROKER_HISTORY_SUFFIX, room);
}

static int check_token(broker_t *b);
static int over_rate(broker_t *b, const char *dest);
static int commit(broker_t *b);
static void rollback(broker_t *b);

/* Before a hook call: takes the frame's SEND rate token in a transaction
 * of its own, so that a frame the limits refuse costs no call.  A refusal
 * that ends the session is left for the frame's own transaction to make. */
static int hook_rate(broker_t *b, const char *dest)
{
	int rc = chatdb__begin(b->db, b->err);

	if (rc != CHAT_OK)
		return rc;
	rc = over_rate(b, dest);
	if (rc >= 0) {
		b->rate_taken = rc == 0;
		b->rate_refused = rc == 1;
		return commit(b);
	}
	rollback(b);
	if (b->perr) {
		b->perr = 0;
		return CHAT_OK;
	}
	return rc;
}

/* 1 when frame f (a SEND or SUBSCRIBE to dest) goes to the hook. */
static int hook_wanted(const broker_t *b, const stomp_frame_t *f, const char *dest)
{
	if (b->opt->app_hook_url == NULL || b->opt->app_hook_url[0] == '\0' || dest == NULL ||
	    !is_app_dest(dest) || dest_validate((chat_slice_t){ dest, strlen(dest) }, 0) != CHAT_OK)
		return 0;
	if (f->command == STOMP_CMD_SEND)
		return header(f, "transaction") == NULL && !app_send_builtin(dest);
	return f->command == STOMP_CMD_SUBSCRIBE && !app_subscribe_builtin(dest);
}

/* Before the frame's transaction: POSTs f to the hook, keeping the answer
 * (or the failure) in b for the handler.  Once per frame. */
static int call_hook(broker_t *b, const stomp_frame_t *f, const char *dest)
{
	stomp_header_t const *h = f->headers;
	chat_slice_t pairs[2 * 64];
	hookmsg_request_t rq;
	chat_error_t e = { 0 };
	chat_buf_t req;
	size_t i, n = 0;
	int rc;

	if (b->hook_done)
		return CHAT_OK;
	/* Who is sending, as of now (a CONNECT earlier in the message). */
	if ((rc = load_state(b)) != CHAT_OK)
		return rc;
	if (!b->connected || b->info.state != SESSION_OPEN)
		return CHAT_OK;
	/* A session whose token is gone is refused without a call. */
	if ((rc = check_token(b)) != CHAT_OK || b->perr) {
		b->perr = 0;
		return rc == CHAT_EPROTO ? CHAT_OK : rc;
	}
	/* A SUBSCRIBE's answer may publish too: both count as SENDs. */
	if ((rc = hook_rate(b, dest)) != CHAT_OK || !b->rate_taken)
		return rc;
	b->hook_done = 1;
	for (i = 0; i < f->nheaders && n < CHAT_ARRAY_LEN(pairs); i++) {
		pairs[n++] = h[i].name;
		pairs[n++] = h[i].value;
	}
	rq = (hookmsg_request_t){ f->command == STOMP_CMD_SEND ? "SEND" : "SUBSCRIBE",
				  b->info.has_user ? b->info.user_name : "",
				  b->key, dest, pairs, n / 2, f->body };
	chat_buf_init(&req, (size_t)b->opt->max_frame * 6 + 4096);
	rc = hookmsg_request_render(&req, &rq);
	if (rc == CHAT_EUTF8)
		rc = chat_error_set(&e, rc, "the frame is not UTF-8 text (the hook takes JSON)");
	else if (rc != CHAT_OK)
		rc = chat_error_set(&e, rc, "cannot build the request: %s", chat_strerror(rc));
	else
		rc = hook_call(b->opt, chat_buf_slice(&req), &b->hook, &e);
	chat_buf_free(&req);
	b->hook_rc = rc;
	if (rc != CHAT_OK) {
		snprintf(b->hook_msg, sizeof(b->hook_msg), "%.150s", e.message);
		log_warn("app hook: %s %s by %s (session %s): %s", rq.type, dest, rq.user, b->key,
			 e.message);
	}
	return CHAT_OK;
}

static int publish(broker_t *b, const char *dest, dest_kind_t kind, const char *ctype,
		   const char *sender, chat_slice_t body);
static int reply_once(broker_t *b, const char *sub_id, const char *dest, int64_t mid,
		      const char *ctype, chat_slice_t body);

/* A message of the hook's answer to a broker destination: /topic/..., or
 * the sender's own user queue (/user/queue/... or /user/NAME/queue/...). */
static int hook_publish(broker_t *b, const hookmsg_out_t *o, const char *ctype)
{
	chat_slice_t d = chat_buf_slice(&o->dest), user, rest;
	char own[CHATDB_DEST_MAX + 1];

	if (dest_validate(d, 0) != CHAT_OK)
		return refuse(b, "application hook: invalid destination %.100s", o->dest.data);
	switch (dest_classify(d)) {
	case DEST_TOPIC:
		return publish(b, o->dest.data, DEST_TOPIC, ctype, NULL, chat_buf_slice(&o->body));
	case DEST_USER:
		if (dest_user_split(d, &user, &rest) != CHAT_OK || !b->info.has_user ||
		    (user.len > 0 && !chat_slice_eq(user, b->info.user_name)))
			break;
		if ((size_t)snprintf(own, sizeof(own), "%s/%s%.*s", dest_prefixes()->user,
				     b->info.user_name, (int)rest.len, rest.ptr) >= sizeof(own))
			return refuse(b, "application hook: destination too long");
		return publish(b, own, DEST_USER, ctype, NULL, chat_buf_slice(&o->body));
	default:
		break;
	}
	return refuse(b, "application hook: cannot publish to %.100s (only /topic/... or the "
			 "sender's /user/queue/...)", o->dest.data);
}

/* Carries out the hook's answer to a SEND (sub_id NULL) or to SUBSCRIBE
 * sub_id: every message in the frame's transaction, so all or none. */
static int apply_hook(broker_t *b, const char *sub_id, const char *dest)
{
	const hookmsg_answer_t *a = &b->hook;
	const char *ctype;
	size_t i;
	int rc = CHAT_OK;

	if (b->rate_refused)
		return CHAT_OK;
	if (!b->hook_done) {
		/* Not called: a SUBSCRIBE the rate limits end the session for
		 * is refused here as a SEND would be in on_send(). */
		if (sub_id != NULL && (rc = over_rate(b, dest)) != 0)
			return rc > 0 ? CHAT_OK : rc;
		return refuse(b, "no handler for %s", dest);
	}
	if (b->hook_rc != CHAT_OK)
		return refuse(b, "application hook failed: %s", b->hook_msg);
	if (a->has_error)
		return refuse(b, "%s", a->error.len > 0 ? a->error.data : "refused");
	for (i = 0; i < a->n && rc == CHAT_OK; i++) {
		const hookmsg_out_t *o = &a->out[i];

		ctype = o->ctype.len > 0 ? o->ctype.data : NULL;
		if (ctype != NULL && !stomp_media_type_valid(chat_buf_slice(&o->ctype)))
			return refuse(b, "application hook: invalid content-type");
		if (o->dest.len > 0)
			rc = hook_publish(b, o, ctype);
		else if (sub_id != NULL)
			rc = reply_once(b, sub_id, dest, 0, ctype, chat_buf_slice(&o->body));
		else
			rc = refuse(b, "application hook: a message without destination");
	}
	return rc;
}

/* A header holding a whole number in [min, max]; 1 if present and valid,
 * 0 if absent, -1 if malformed. */
static int header_int(const stomp_frame_t *f, const char *name, int64_t min, int64_t max,
		      int64_t *out)
{
	const char *v = header(f, name);
	char *end;
	long long x;

	if (v == NULL)
		return 0;
	if (*v < '0' || *v > '9')
		return -1;
	x = strtoll(v, &end, 10);
	if (*end != '\0' || x < min || x > max)
		return -1;
	*out = x;
	return 1;
}

static int push_page(prefetch_t *p, store_msg_list_t *l)
{
	int rc = CHAT_OK;

	for (size_t i = 0; i < l->count && rc == CHAT_OK; i++)
		rc = hlist_push(&p->msgs, &l->items[i]);
	return rc;
}

/* Reads what a history or resume subscription needs from the store. */
static int prefetch_store(broker_t *b, size_t limit, int64_t before, int64_t after)
{
	prefetch_t *p = &b->pre;
	store_msg_list_t l = { 0 };
	store_t *s;
	int64_t from = after;
	int rc;

	if ((rc = relay_cursor(b->db, &p->relay0, b->err)) != CHAT_OK)
		return rc;
	s = get_store(b);
	if (s == NULL) {
		rc = CHAT_EDB;
	} else if (p->kind == PRE_HISTORY) {
		rc = before > 0 ? store_msg_before(s, p->room.id, before, limit, &l, NULL)
				: store_msg_latest(s, p->room.id, limit, &l, NULL);
		if (rc == CHAT_OK)
			rc = push_page(p, &l);
	} else {
		/* Everything after the id, up to BROKER_RESUME_MAX; beyond that
		 * the newest BROKER_RESUME_MAX. */
		for (;;) {
			rc = store_msg_after(s, p->room.id, from, STORE_PAGE_MAX, &l, NULL);
			if (rc == CHAT_OK)
				rc = push_page(p, &l);
			if (rc != CHAT_OK || l.count < STORE_PAGE_MAX)
				break;
			from = l.items[l.count - 1].id;
			if (p->msgs.n >= BROKER_RESUME_MAX) {
				hlist_free(&p->msgs);
				rc = store_msg_latest(s, p->room.id, BROKER_RESUME_MAX, &l, NULL);
				if (rc == CHAT_OK)
					rc = push_page(p, &l);
				break;
			}
		}
	}
	store_msg_list_free(&l);
	if (rc == CHAT_ENOMEM)
		return chat_error_set(b->err, rc, "out of memory");
	if (rc != CHAT_OK) {
		/* The store is away: answer from what the outbox still holds. */
		if (s != NULL)
			store_failed(b);
		hlist_free(&p->msgs);
		p->partial = 1;
		p->relay0 = 0;
	}
	return CHAT_OK;
}

/* Before a frame's transaction: checks CONNECT's passcode and reads what a
 * history or resume subscription needs from the store.  Problems with the
 * frame itself are left for the handler to refuse. */
static int prepare(broker_t *b, const stomp_frame_t *f)
{
	const char *dest = header(f, "destination"), *pass;
	authlimit_conf_t lim;
	auth_attempt_t at = { &lim, b->peer, 0 };
	prefetch_t *p = &b->pre;
	int64_t limit = b->opt->history_limit, before = 0, after = 0;
	chat_error_t e = { 0 };
	store_t *s;
	char room[CHATMSG_ROOM_MAX + 1];
	int is_hist;

	hlist_free(&p->msgs);
	memset(p, 0, sizeof(*p));
	if (hook_wanted(b, f, dest))
		return call_hook(b, f, dest);
	b->auth_rc = CHAT_EAGAIN;
	b->auth_user[0] = b->auth_msg[0] = '\0';
	if (f->command == STOMP_CMD_CONNECT || f->command == STOMP_CMD_STOMP) {
		pass = header(f, "passcode");
		if (pass == NULL)
			return CHAT_OK;
		s = get_store(b);
		authlimit_conf_from(b->opt, &lim);
		b->auth_rc = auth_check(b->db, s, header(f, "login"), pass, b->now_ms, &at,
					b->auth_user, &b->auth_grant, &e);
		if (b->auth_rc == CHAT_EDB && s != NULL)
			store_failed(b);
		if (b->auth_rc == CHAT_EDENIED && s == NULL && b->store != NULL)
			snprintf(b->auth_msg, sizeof(b->auth_msg),
				 "cannot check passwords now: log in with a token");
		else if (b->auth_rc == CHAT_ETOOMANY)
			snprintf(b->auth_msg, sizeof(b->auth_msg),
				 "too many failed logins, retry in %lld s",
				 (long long)((at.retry_ms + 999) / 1000));
		else if (b->auth_rc == CHAT_EBUSY)
			snprintf(b->auth_msg, sizeof(b->auth_msg),
				 "too many logins at once, retry later");
		else
			snprintf(b->auth_msg, sizeof(b->auth_msg), "%s", e.message);
		return CHAT_OK;
	}
	p->dm_rc = 1;
	if (f->command == STOMP_CMD_SEND && dest != NULL &&
	    (dm_of(dest, "", p->dm_peer) || dm_of(dest, BROKER_TYPING_SUFFIX, p->dm_peer))) {
		store_user_t u;

		s = get_store(b);
		p->dm_rc = s == NULL ? CHAT_EIO : store_user_get_by_name(s, p->dm_peer, &u, &e);
		if (p->dm_rc == CHAT_EDB)
			store_failed(b);
		if (p->dm_rc == CHAT_OK)
			snprintf(p->dm_peer, sizeof(p->dm_peer), "%s", u.name);
		return CHAT_OK;
	}
	if (f->command != STOMP_CMD_SUBSCRIBE || dest == NULL)
		return CHAT_OK;
	is_hist = room_of(dest, 1, BROKER_HISTORY_SUFFIX, room);
	if (!is_hist && !(room_of(dest, 0, "", room) && header(f, "after") != NULL))
		return CHAT_OK;
	if (is_hist && (header_int(f, "limit", 1, STORE_PAGE_MAX, &limit) < 0 ||
			header_int(f, "before", 1, INT64_MAX, &before) < 0))
		return CHAT_OK;
	if (!is_hist && header_int(f, "after", 0, INT64_MAX, &after) <= 0)
		return CHAT_OK;
	if (chatroom_get(b->db, room, &p->room, NULL) != CHAT_OK)
		return CHAT_OK;
	p->kind = is_hist ? PRE_HISTORY : PRE_RESUME;
	p->lo = is_hist ? 0 : after;
	p->hi = before > 0 ? before : INT64_MAX;
	p->keep = is_hist ? (size_t)limit : BROKER_RESUME_MAX;
	return prefetch_store(b, (size_t)limit, before, after);
}

typedef struct outbox_scan {
	broker_t *b;
	chat_buf_t room, writer, text;
	int rc;
} outbox_scan_t;

static int scan_row(void *ctx, const outbox_row_t *row)
{
	outbox_scan_t *o = ctx;
	store_msg_t m;
	int rc = relay_parse_row(row, &m, &o->room, &o->writer, &o->text);

	if (rc != 1 || strcmp(o->room.data, o->b->pre.room.name) != 0)
		return 0;
	return hlist_push(&o->b->pre.msgs, &m);
}

/* Inside the transaction: adds the room's chat rows the store may not have
 * (seq above the relay cursor read before the store) from the outbox, and
 * settles the list.  Sets b->retry when the relay moved and rows it copied
 * since were pruned (the store read must be done again). */
static int prefetch_outbox(broker_t *b)
{
	prefetch_t *p = &b->pre;
	outbox_scan_t o;
	int64_t r1 = 0, min_seq = 0, from, last, lo_seq;
	int found, rc;

	if (!p->partial && !b->no_retry) {
		if ((rc = relay_cursor(b->db, &r1, b->err)) != CHAT_OK ||
		    (rc = query_int(b, SQL_OUTBOX_MIN, "", NULL, &min_seq, &found, "outbox")) !=
			    CHAT_OK)
			return rc;
		/* In a cluster ids are not seqs: only the relay's cursor bounds
		 * the rows to read. */
		lo_seq = cluster_enabled(b->opt) ? 0 : p->lo;
		if (r1 > p->relay0 && min_seq > p->relay0 + 1 && min_seq > lo_seq + 1) {
			b->retry = 1;
			return CHAT_EAGAIN;
		}
	}
	memset(&o, 0, sizeof(o));
	o.b = b;
	chat_buf_init(&o.room, CHATMSG_ROOM_MAX);
	chat_buf_init(&o.writer, SESSION_USER_MAX);
	chat_buf_init(&o.text, CHATMSG_TEXT_MAX);
	lo_seq = cluster_enabled(b->opt) ? 0 : p->lo;
	from = p->relay0 > lo_seq ? p->relay0 : lo_seq;
	for (;;) {
		last = from;
		rc = outbox_read_after(b->db, from, OUTBOX_READ_MAX, scan_row, &o, &last, b->err);
		if (rc != CHAT_OK || last == from)
			break;
		from = last;
	}
	chat_buf_free(&o.room);
	chat_buf_free(&o.writer);
	chat_buf_free(&o.text);
	if (rc == CHAT_ENOMEM)
		return chat_error_set(b->err, rc, "out of memory");
	if (rc == CHAT_OK)
		hlist_settle(&p->msgs, p->lo, p->hi, p->keep);
	return rc;
}

/* Renders message i of the prefetched list as chat JSON into out. */
static int render_hmsg(broker_t *b, size_t i, chat_buf_t *out)
{
	const hmsg_t *h = &b->pre.msgs.v[i];
	char display[NAMES_NFC_MAX + 1];
	chatmsg_t m = { h->id, b->pre.room.name, h->room_seq, h->writer, display, h->time_ms,
			{ h->text, h->text_len }, chatroom_msg_deleted(b->db, h->id) };

	/* The writer's display name now (the store keeps only the login). */
	if (auth_display_get(b->db, h->writer, display, NULL) != CHAT_OK)
		display[0] = '\0';
	return chatmsg_render(out, &m);
}

/* ---- CONNECT ---- */

static int parse_heartbeat(const char *s, int64_t *cx, int64_t *cy)
{
	char *end;
	long long x, y;

	if (s == NULL) {
		*cx = *cy = 0;
		return CHAT_OK;
	}
	if (*s < '0' || *s > '9')
		return CHAT_EINVAL;
	x = strtoll(s, &end, 10);
	if (*end != ',' || end[1] < '0' || end[1] > '9')
		return CHAT_EINVAL;
	y = strtoll(end + 1, &end, 10);
	if (*end != '\0' || x < 0 || y < 0 || x > 86400000 || y > 86400000)
		return CHAT_EINVAL;
	*cx = x;
	*cy = y;
	return CHAT_OK;
}

/* The highest version both sides speak, 0 for none.  No accept-version
 * means a 1.0 client. */
static stomp_version_t negotiate(const char *accept)
{
	int have[3] = { 0, 0, 0 };
	const char *p = accept;

	if (accept == NULL)
		return STOMP_V1_0;
	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 3 && memcmp(p, "1.0", 3) == 0)
			have[0] = 1;
		else if (n == 3 && memcmp(p, "1.1", 3) == 0)
			have[1] = 1;
		else if (n == 3 && memcmp(p, "1.2", 3) == 0)
			have[2] = 1;
		p += n + (e != NULL);
	}
	return have[2] ? STOMP_V1_2 : have[1] ? STOMP_V1_1 : have[0] ? STOMP_V1_0 : 0;
}

static int on_connect(broker_t *b, const stomp_frame_t *f)
{
	const char *login = header(f, "login");
	stomp_header_t h[5];
	char name[SESSION_USER_MAX + 1], hb[48];
	stomp_version_t v;
	int64_t cx, cy, expect, n;
	sqlite3_stmt *st;
	int rc, found;

	if (b->connected)
		return refuse(b, "already connected");
	v = negotiate(header(f, "accept-version"));
	if (v == 0)
		return refuse(b, "Supported protocol versions are 1.0,1.1,1.2");
	if (parse_heartbeat(header(f, "heart-beat"), &cx, &cy) != CHAT_OK)
		return refuse(b, "invalid heart-beat header");
	if (header(f, "passcode") != NULL) {
		/* Anything but a wrong passcode is the server's failure: its
		 * detail is not for the client. */
		if (b->auth_rc == CHAT_ETOOMANY || b->auth_rc == CHAT_EBUSY)
			return refuse(b, "%s", b->auth_msg);
		if (b->auth_rc != CHAT_OK && b->auth_rc != CHAT_EDENIED)
			return refuse(b, "authentication is unavailable, try again later");
		if (b->auth_rc != CHAT_OK)
			return refuse(b, "authentication failed%s%s", b->auth_msg[0] ? ": " : "",
				      b->auth_msg);
		snprintf(name, sizeof(name), "%s", b->auth_user);
		rc = auth_banned(b->db, name, &found, b->err);
		if (rc != CHAT_OK)
			return rc;
		if (found)
			return refuse(b, "%s", BROKER_ERROR_BANNED);
	} else if (b->opt->allow_guests) {
		/* Guests are guest-N whatever login says: a registered name
		 * cannot start with guest-, so nobody becomes someone else. */
		(void)login;
		rc = query_int(b, SQL_COUNTER, "guest", NULL, &n, &found, "guest counter");
		if (rc != CHAT_OK)
			return rc;
		snprintf(name, sizeof(name), CHATMSG_GUEST_PREFIX "%lld", (long long)n);
	} else {
		return refuse(b, "authentication required: CONNECT with login and passcode");
	}
	/* The server offers heart-beats every stomp_heartbeat_ms; the shells
	 * send them at broker_heartbeat_interval().  It takes the client's at
	 * the SockJS heartbeat interval or slower. */
	expect = cx == 0 ? 0 : cx > b->opt->heartbeat_ms ? cx : b->opt->heartbeat_ms;
	rc = session_set_user(b->db, b->key, name, b->err);
	if (rc != CHAT_OK)
		return rc;
	rc = chatdb__stmt(b->db, SQL_STATE_PUT, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)v);
	sqlite3_bind_int64(st, 3, cx);
	sqlite3_bind_int64(st, 4, cy);
	sqlite3_bind_int64(st, 5, expect);
	sqlite3_bind_int64(st, 6, b->now_ms);
	rc = step_done(b, st, "stomp connect");
	if (rc == CHAT_OK && header(f, "passcode") != NULL && b->auth_grant.by_token)
		rc = chatdb__stmt(b->db, SQL_TOKEN_PUT, &st, b->err);
	if (rc == CHAT_OK && header(f, "passcode") != NULL && b->auth_grant.by_token) {
		/* Remembered so that a logout or the expiry ends the session. */
		sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, b->auth_grant.hash, sizeof(b->auth_grant.hash),
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, b->auth_grant.expires_ms);
		rc = step_done(b, st, "stomp token");
	}
	if (rc != CHAT_OK)
		return rc;
	b->connected = 1;
	b->version = v;
	snprintf(b->info.user_name, sizeof(b->info.user_name), "%s", name);
	b->info.has_user = 1;
	snprintf(hb, sizeof(hb), "%lld,%lld", (long long)b->opt->stomp_heartbeat_ms,
		 (long long)expect);
	h[0].name = CHAT_SLICE("version");
	h[0].value = v == STOMP_V1_2 ? CHAT_SLICE("1.2") : v == STOMP_V1_1 ? CHAT_SLICE("1.1")
									   : CHAT_SLICE("1.0");
	h[1].name = CHAT_SLICE("heart-beat");
	h[1].value = (chat_slice_t){ hb, strlen(hb) };
	h[2].name = CHAT_SLICE("server");
	h[2].value = CHAT_SLICE(BROKER_SERVER);
	h[3].name = CHAT_SLICE("session");
	h[3].value = (chat_slice_t){ b->key, strlen(b->key) };
	h[4].name = CHAT_SLICE("user-name");
	h[4].value = (chat_slice_t){ name, strlen(name) };
	chat_buf_reset(&b->frame);
	rc = stomp_serialize(&b->frame, v, STOMP_CMD_CONNECTED, h, 5, NULL, 0);
	if (rc != CHAT_OK)
		return rc;
	/* The row also tells the session's dispatcher its version and user. */
	snprintf(hb, sizeof(hb), "%d", (int)v);
	chat_buf_reset(&b->hdrs);
	if ((rc = delivery_hdr_put(&b->hdrs, DELIVERY_H_VERSION, hb)) != CHAT_OK ||
	    (rc = delivery_hdr_put(&b->hdrs, DELIVERY_H_USER, name)) != CHAT_OK)
		return rc;
	snprintf(hb, sizeof(hb), "%lld", (long long)cy);
	if ((rc = delivery_hdr_put(&b->hdrs, DELIVERY_H_HB, hb)) != CHAT_OK)
		return rc;
	return append(b, BROKER_DIRECT_DEST, b->key, chat_buf_slice(&b->hdrs),
		      chat_buf_slice(&b->frame), NULL);
}

/* A row addressed to this session that only tells its dispatcher a
 * change: name=value pairs (NULL-terminated list). */
static int send_change(broker_t *b, const char *const *pairs)
{
	int rc = CHAT_OK;

	chat_buf_reset(&b->hdrs);
	for (; pairs[0] != NULL && rc == CHAT_OK; pairs += 2)
		rc = delivery_hdr_put(&b->hdrs, pairs[0], pairs[1]);
	if (rc != CHAT_OK)
		return rc;
	return append(b, BROKER_DIRECT_DEST, b->key, chat_buf_slice(&b->hdrs), CHAT_SLICE(""),
		      NULL);
}

/* ---- SUBSCRIBE / UNSUBSCRIBE ---- */

/* Hands what closed sessions of this user left unacknowledged on the same
 * destination to the new subscription, and redelivers it. */
static int adopt_orphans(broker_t *b, const char *sub_id, const char *sub_dest,
			 session_ack_t ack)
{
	sqlite3_stmt *st, *put;
	char ack_id[CHATDB_ID_MAX + 32];
	int rc, step;

	if (!b->info.has_user)
		return CHAT_OK;
	rc = chatdb__stmt(b->db, SQL_UNACKED_ORPHANS, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->info.user_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_dest, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		const char *dest = (const char *)sqlite3_column_text(st, 1);
		const char *ctype = (const char *)sqlite3_column_text(st, 2);
		const char *sender = (const char *)sqlite3_column_text(st, 4);
		chat_slice_t body = { sqlite3_column_blob(st, 3),
				      (size_t)sqlite3_column_bytes(st, 3) };

		if (body.ptr == NULL)
			body.ptr = "";
		snprintf(ack_id, sizeof(ack_id), "%lld.%s", (long long)seq, sub_id);
		rc = chatdb__stmt(b->db, SQL_UNACKED_PUT, &put, b->err);
		if (rc != CHAT_OK)
			break;
		sqlite3_bind_text(put, 1, b->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 2, ack_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 3, sub_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 4, sub_dest, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 5, session_ack_name(ack), -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 6, seq);
		sqlite3_bind_text(put, 7, dest, -1, SQLITE_TRANSIENT);
		if (ctype != NULL)
			sqlite3_bind_text(put, 8, ctype, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(put, 9, body.ptr, (int)body.len, SQLITE_TRANSIENT);
		sqlite3_bind_text(put, 10, b->info.user_name, -1, SQLITE_STATIC);
		if (sender != NULL)
			sqlite3_bind_text(put, 11, sender, -1, SQLITE_TRANSIENT);
		rc = step_done(b, put, "unacked adopt");
		if (rc != CHAT_OK)
			break;
		/* Two closed sessions may have held the same message. */
		if (sqlite3_changes(chatdb_sqlite(b->db)) == 0)
			continue;
		chat_buf_reset(&b->frame);
		rc = delivery_render_message(&b->frame, b->version, sub_id, seq, dest, ctype, sender,
					     ack_id, body);
		if (rc == CHAT_OK)
			rc = send_frame(b, 0, NULL);
		if (rc != CHAT_OK)
			break;
	}
	if (rc == CHAT_OK && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = chatdb__error(b->db, step, "unacked orphans", b->err);
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	rc = chatdb__stmt(b->db, SQL_UNACKED_ORPHANS_DEL, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->info.user_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_dest, -1, SQLITE_STATIC);
	return step_done(b, st, "unacked orphans");
}

/* ---- the chat application's notices and replies ---- */

/* Row headers of what the chat application publishes on a room topic. */
static int chat_headers(chat_buf_t *h, const char *kind)
{
	int rc;

	chat_buf_reset(h);
	if ((rc = delivery_hdr_put(h, "content-type", "application/json")) != CHAT_OK)
		return rc;
	return delivery_hdr_put(h, RELAY_KIND_HEADER, kind);
}

/* Publishes {"type":TYPE,"user":USER,"room":ROOM} on the room's topic,
 * inside the caller's transaction. */
static int notice_db(chatdb_t *db, const char *type, const char *user, const char *room,
		     int64_t now_ms, int64_t *seq, chat_error_t *err)
{
	char topic[CHATDB_DEST_MAX + 1];
	chat_buf_t body, hdrs;
	outbox_msg_t m;
	int rc;

	/* In a cluster the other nodes learn it, and a user another node
	 * still (or already) has in the room is not announced again. */
	if (strcmp(type, "ENTER") == 0 || strcmp(type, "LEAVE") == 0) {
		int announce = 1;

		rc = cluster__presence_in_tx(db, type[0] == 'E', user, room, &announce, seq, err);
		if (rc != CHAT_OK || !announce)
			return rc;
	}
	chat_buf_init(&body, 1024);
	chat_buf_init(&hdrs, 256);
	chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	rc = chatmsg_render_notice(&body, type, user, room);
	if (rc == CHAT_OK)
		rc = chat_headers(&hdrs, "notice");
	if (rc == CHAT_OK) {
		m = (outbox_msg_t){ topic, NULL, chat_buf_slice(&hdrs), chat_buf_slice(&body), now_ms };
		rc = outbox_append(db, &m, seq, err);
	}
	chat_buf_free(&body);
	chat_buf_free(&hdrs);
	return rc;
}

static int notice(broker_t *b, const char *type, const char *room)
{
	int64_t seq = 0;
	int rc = notice_db(b->db, type, b->info.user_name, room, b->now_ms, &seq, b->err);

	if (rc == CHAT_OK)
		b->tx_seq = seq;
	return rc;
}

static int changes(broker_t *b)
{
	return sqlite3_changes(chatdb_sqlite(b->db));
}

/* The user entered room: ENTER unless already announced. */
static int enter(broker_t *b, const char *room)
{
	sqlite3_stmt *st;
	int rc;

	if (!b->info.has_user)
		return CHAT_OK;
	if ((rc = chatdb__stmt(b->db, SQL_PRESENCE_ADD, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->info.user_name, -1, SQLITE_STATIC);
	if ((rc = step_done(b, st, "presence")) != CHAT_OK)
		return rc;
	return changes(b) > 0 ? notice(b, "ENTER", room) : CHAT_OK;
}

/* A subscription to topic is gone: LEAVE when it was a room's and the user
 * has no other live session in the room. */
static int leave_if_gone(broker_t *b, const char *topic)
{
	char room[CHATMSG_ROOM_MAX + 1];
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc, found;

	if (!b->info.has_user || !room_of(topic, 0, "", room))
		return CHAT_OK;
	rc = query_int(b, SQL_PRESENT, b->info.user_name, topic, &n, &found, "presence");
	if (rc != CHAT_OK || n > 0)
		return rc;
	if ((rc = chatdb__stmt(b->db, SQL_PRESENCE_DEL, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->info.user_name, -1, SQLITE_STATIC);
	if ((rc = step_done(b, st, "presence")) != CHAT_OK)
		return rc;
	return changes(b) > 0 ? notice(b, "LEAVE", room) : CHAT_OK;
}

/* Sends body to subscription sub_id of this session once, as a MESSAGE
 * from dest (Spring's @SubscribeMapping reply). */
static int reply_once(broker_t *b, const char *sub_id, const char *dest, int64_t mid,
		      const char *ctype, chat_slice_t body)
{
	int64_t seq;
	int rc;

	if (mid == 0 && (rc = next_seq(b, &seq)) != CHAT_OK)
		return rc;
	chat_buf_reset(&b->frame);
	rc = delivery_render_message(&b->frame, b->version, sub_id, mid != 0 ? mid : seq, dest,
			    ctype, NULL, NULL, body);
	if (rc == CHAT_ETOOBIG)
		return refuse(b, "the reply to %s is too large", dest);
	return rc != CHAT_OK ? rc : send_frame(b, 0, NULL);
}

/* The history reply: the prefetched page as a JSON array, oldest first,
 * dropping the oldest messages that do not fit one frame. */
static int reply_history(broker_t *b, const char *sub_id, const char *dest)
{
	size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024 : 1024;
	size_t n = b->pre.msgs.n, start = n, total = 2, i;
	chat_buf_t one, body;
	int rc = CHAT_OK;

	chat_buf_init(&one, CHATMSG_TEXT_MAX * 6 + 1024);
	chat_buf_init(&body, cap + 16);
	while (start > 0 && rc == CHAT_OK) {
		chat_buf_reset(&one);
		rc = render_hmsg(b, start - 1, &one);
		if (rc == CHAT_OK && total + one.len + 1 > cap)
			break;
		total += one.len + 1;
		start--;
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, '[');
	for (i = start; i < n && rc == CHAT_OK; i++) {
		if (i > start)
			rc = chat_buf_putc(&body, ',');
		if (rc == CHAT_OK)
			rc = render_hmsg(b, i, &body);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, ']');
	if (rc == CHAT_OK)
		rc = reply_once(b, sub_id, dest, 0, "application/json", chat_buf_slice(&body));
	chat_buf_free(&one);
	chat_buf_free(&body);
	return rc;
}

/* Resume: every prefetched message after the client's id, one MESSAGE
 * each with its own id, before anything live (they precede the
 * subscription's from_seq, so live delivery does not repeat them). */
static int resume(broker_t *b, const char *sub_id, const char *dest)
{
	chat_buf_t body;
	int rc = CHAT_OK;

	chat_buf_init(&body, CHATMSG_TEXT_MAX * 6 + 1024);
	for (size_t i = 0; i < b->pre.msgs.n && rc == CHAT_OK; i++) {
		chat_buf_reset(&body);
		rc = render_hmsg(b, i, &body);
		if (rc == CHAT_OK)
			rc = reply_once(b, sub_id, dest, b->pre.msgs.v[i].id, "application/json",
					chat_buf_slice(&body));
	}
	chat_buf_free(&body);
	return rc;
}

/* Users present in a room: a JSON array of names. */
static int reply_presence(broker_t *b, const char *sub_id, const char *dest, const char *room)
{
	char topic[CHATDB_DEST_MAX + 1];
	sqlite3_stmt *st;
	chat_buf_t body;
	int rc, step, n = 0;

	chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	chat_buf_init(&body, (size_t)b->opt->max_frame);
	rc = chat_buf_putc(&body, '[');
	if (rc == CHAT_OK)
		rc = chatdb__stmt(b->db, SQL_PRESENT_USERS, &st, b->err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, room, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && rc == CHAT_OK) {
		const char *u = (const char *)sqlite3_column_text(st, 0);

		if (n++ > 0)
			rc = chat_buf_putc(&body, ',');
		if (rc == CHAT_OK)
			rc = json_encode_string(&body, u, strlen(u));
	}
	if (rc == CHAT_OK && step != SQLITE_DONE)
		rc = chatdb__error(b->db, step, "presence", b->err);
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, ']');
	if (rc == CHAT_OK)
		rc = reply_once(b, sub_id, dest, 0, "application/json", chat_buf_slice(&body));
out:
	chat_buf_free(&body);
	return rc;
}

/* SUBSCRIBE APP/dm (peer NULL: the caller's conversations with unread
 * counts) or APP/dm/{peer}/history (the caller's conversation with peer):
 * answered once.  Only the caller's own conversations can be named. */
static int dm_reply(broker_t *b, const char *id, const char *dest, const char *peer)
{
	size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024 : 1024;
	chat_buf_t body;
	int rc;

	if (!b->info.has_user || chatroom_is_guest(b->info.user_name))
		return refuse(b, "direct messages are for registered users");
	chat_buf_init(&body, cap + 16);
	rc = peer != NULL ? dm_history_json(b->db, b->info.user_name, peer, cap, &body, b->err)
			  : dm_list_json(b->db, b->info.user_name, cap, &body, b->err);
	if (rc == CHAT_OK)
		rc = reply_once(b, id, dest, 0, "application/json", chat_buf_slice(&body));
	chat_buf_free(&body);
	return rc;
}

/* SUBSCRIBE to /app/...: answered once, not kept as a subscription. */
static int app_subscribe(broker_t *b, const char *id, const char *dest)
{
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];
	chatroom_t r;
	int rc;

	const char *path = app_path(dest);

	if (path != NULL && strcmp(path, CHATROOM_ROOMS_PATH) == 0) {
		/* Pages that fit a MESSAGE frame with its headers (ids and the
		 * destination take well under 1 KiB). */
		size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024
							      : 1024;
		int64_t after = 0;
		int more = 1, pages = 0;
		chat_buf_t body;

		chat_buf_init(&body, cap + 16);
		for (rc = CHAT_OK; rc == CHAT_OK && more && pages <= CHATROOM_MAX; pages++) {
			chat_buf_reset(&body);
			rc = chatroom_list_json(b->db, after, cap, &body, &after, &more, b->err);
			if (rc == CHAT_OK)
				rc = reply_once(b, id, dest, 0, "application/json", chat_buf_slice(&body));
		}
		chat_buf_free(&body);
		return rc;
	}
	if (path != NULL &&
	    (strcmp(path, BROKER_DM_PATH) == 0 || dm_of(dest, BROKER_HISTORY_SUFFIX, name)))
		return dm_reply(b, id, dest, path[strlen(BROKER_DM_PATH)] != '\0' ? name : NULL);
	if (room_of(dest, 1, BROKER_PRESENCE_SUFFIX, room)) {
		rc = chatroom_get(b->db, room, &r, b->err);
		if (rc == CHAT_ENOTFOUND)
			return refuse(b, "no room %s", room);
		return rc != CHAT_OK ? rc : reply_presence(b, id, dest, room);
	}
	if (room_of(dest, 1, BROKER_HISTORY_SUFFIX, room)) {
		if (b->pre.kind != PRE_HISTORY) {
			rc = chatroom_get(b->db, room, &r, b->err);
			if (rc == CHAT_ENOTFOUND)
				return refuse(b, "no room %s", room);
			return rc != CHAT_OK ? rc : refuse(b, "invalid limit or before header");
		}
		if ((rc = prefetch_outbox(b)) != CHAT_OK)
			return rc;
		return reply_history(b, id, dest);
	}
	if (b->opt->app_hook_url[0] != '\0')
		return apply_hook(b, id, dest);
	return refuse(b, "cannot subscribe to %s", dest);
}

static int on_subscribe(broker_t *b, const stomp_frame_t *f)
{
	const char *dest = header(f, "destination"), *id = header(f, "id");
	const char *ack_s = header(f, "ack"), *prefetch_s = header(f, "prefetch-count");
	chat_slice_t d, user, rest;
	char stored[CHATDB_DEST_MAX + 1], room[CHATMSG_ROOM_MAX + 1];
	session_ack_t ack = SESSION_ACK_AUTO;
	sqlite3_stmt *st;
	int64_t n, from_seq = 0, prefetch = 0;
	int rc, found, is_room = 0;

	if (dest == NULL)
		return refuse(b, "SUBSCRIBE without destination");
	if (id == NULL) {
		if (b->version >= STOMP_V1_1)
			return refuse(b, "SUBSCRIBE without id");
		id = dest;
	}
	if (*id == '\0' || strlen(id) > CHATDB_ID_MAX)
		return refuse(b, "invalid subscription id");
	if (ack_s != NULL && session_ack_parse(ack_s, &ack) != CHAT_OK)
		return refuse(b, "invalid ack mode");
	if (prefetch_s != NULL && queue_prefetch_parse(prefetch_s, &prefetch) != CHAT_OK)
		return refuse(b, "invalid prefetch-count (0 to %d)", QUEUE_PREFETCH_MAX);
	d = (chat_slice_t){ dest, strlen(dest) };
	if (dest_validate(d, 1) != CHAT_OK)
		return refuse(b, "invalid destination");
	switch (dest_classify(d)) {
	case DEST_QUEUE:
		/* A queue's consumers are found by exact destination (queue.c);
		 * a pattern would also take a share of every matching queue. */
		if (strpbrk(dest, "*?#") != NULL)
			return refuse(b, "cannot subscribe to a /queue pattern: name one queue");
		/* fall through */
	case DEST_TOPIC:
		snprintf(stored, sizeof(stored), "%s", dest);
		break;
	case DEST_USER:
		if (dest_user_split(d, &user, &rest) != CHAT_OK)
			return refuse(b, "invalid user destination");
		if (user.len > 0 && (!b->info.has_user || !chat_slice_eq(user, b->info.user_name)))
			return refuse(b, "cannot subscribe to another user's destination");
		/* Every session subscribes to its own queue as /user/queue/... */
		snprintf(stored, sizeof(stored), "%s%.*s", dest_prefixes()->user, (int)rest.len,
			 rest.ptr);
		break;
	case DEST_APP:
		return app_subscribe(b, id, dest);
	default:
		return refuse(b, "cannot subscribe to %s", dest);
	}
	if (room_of(stored, 0, "", room)) {
		chatroom_t r;

		rc = chatroom_get(b->db, room, &r, b->err);
		if (rc == CHAT_ENOTFOUND)
			return refuse(b, "no room %s", room);
		if (rc != CHAT_OK)
			return rc;
		is_room = 1;
	}
	if (header(f, "after") != NULL && (!is_room || b->pre.kind != PRE_RESUME))
		return refuse(b, "invalid after header");
	/* The subscription receives what is committed after it, live; a
	 * resume delivers what came before (from the store and the outbox). */
	if ((rc = outbox_last_seq(b->db, &from_seq, b->err)) != CHAT_OK)
		return rc;
	if ((rc = query_int(b, SQL_SUB_COUNT, b->key, NULL, &n, &found, "subscriptions")) !=
	    CHAT_OK)
		return rc;
	if (n >= SESSION_SUBS_MAX)
		return refuse(b, "more than %d subscriptions", SESSION_SUBS_MAX);
	if ((rc = chatdb__stmt(b->db, SQL_SUB_INSERT, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, stored, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, session_ack_name(ack), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, from_seq);
	sqlite3_bind_int64(st, 6, prefetch);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return refuse(b, "subscription id already in use");
	if (rc != SQLITE_DONE)
		return chatdb__error(b->db, rc, "subscribe", b->err);
	/* Before anything the subscription receives (resumed messages, its
	 * own ENTER notice), in commit order. */
	{
		char from[24];
		const char *pairs[] = { DELIVERY_H_SUB, id, DELIVERY_H_DEST, stored, DELIVERY_H_ACK,
					session_ack_name(ack), DELIVERY_H_FROM, from, NULL };

		snprintf(from, sizeof(from), "%lld", (long long)from_seq);
		if ((rc = send_change(b, pairs)) != CHAT_OK)
			return rc;
	}
	if (b->pre.kind == PRE_RESUME) {
		if ((rc = prefetch_outbox(b)) != CHAT_OK || (rc = resume(b, id, stored)) != CHAT_OK)
			return rc;
	}
	if (is_room && (rc = enter(b, room)) != CHAT_OK)
		return rc;
	if (ack != SESSION_ACK_AUTO)
		rc = adopt_orphans(b, id, stored, ack);
	return rc;
}

static int on_unsubscribe(broker_t *b, const stomp_frame_t *f)
{
	const char *id = header(f, "id");
	char dest[CHATDB_DEST_MAX + 1];
	sqlite3_stmt *st;
	int rc;

	if (id == NULL && b->version == STOMP_V1_0)
		id = header(f, "destination");
	if (id == NULL)
		return refuse(b, "UNSUBSCRIBE without id");
	if (*id == '\0' || strlen(id) > CHATDB_ID_MAX)
		return refuse(b, "invalid subscription id");
	rc = chatdb__stmt(b->db, SQL_SUB_DEST, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	dest[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(dest, sizeof(dest), "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	rc = session_sub_remove(b->db, b->key, id, b->err);
	if (rc != CHAT_OK && rc != CHAT_ENOTFOUND)
		return rc;
	if (rc == CHAT_OK) {
		const char *pairs[] = { DELIVERY_H_UNSUB, id, NULL };

		if ((rc = send_change(b, pairs)) != CHAT_OK)
			return rc;
	}
	if ((rc = exec2(b, SQL_UNACKED_DEL_SUB, id, "unsubscribe")) != CHAT_OK ||
	    (rc = queue_settle(b->db, b->key, id, -1, 0, b->err)) != CHAT_OK)
		return rc;
	return dest[0] != '\0' ? leave_if_gone(b, dest) : CHAT_OK;
}

/* ---- SEND ---- */

/* The row headers of a message SENT by this session: the subscription it
 * is addressed to (a /queue row), content-type, and the sender. */
static int message_headers(broker_t *b, const char *sub, const char *ctype, const char *sender)
{
	int rc = CHAT_OK;

	chat_buf_reset(&b->hdrs);
	if (sub != NULL)
		rc = delivery_hdr_put(&b->hdrs, "sub", sub);
	if (rc == CHAT_OK && ctype != NULL)
		rc = delivery_hdr_put(&b->hdrs, "content-type", ctype);
	if (rc == CHAT_OK && sender != NULL)
		rc = delivery_hdr_put(&b->hdrs, DELIVERY_H_SENDER, sender);
	return rc;
}

/* The name this session SENDs as (NULL before a user is known). */
static const char *sender_of(const broker_t *b)
{
	return b->info.has_user ? b->info.user_name : NULL;
}

/* In a cluster, a /user or /topic row also goes to the other nodes (db/cluster.h):
 * it carries this node's id and a cluster id from the node's id clock. */
static int cluster_stamp(broker_t *b)
{
	char v[24];
	int64_t seq, id;
	int rc;

	if (!cluster_enabled(b->opt))
		return CHAT_OK;
	if ((rc = next_seq(b, &seq)) != CHAT_OK ||
	    (rc = cluster__next_id_in_tx(b->db, b->opt->node_id, seq, &id, b->err)) != CHAT_OK)
		return rc;
	snprintf(v, sizeof(v), "%lld", b->opt->node_id);
	if ((rc = delivery_hdr_put(&b->hdrs, RELAY_ORIGIN_HEADER, v)) != CHAT_OK)
		return rc;
	snprintf(v, sizeof(v), "%lld", (long long)id);
	return delivery_hdr_put(&b->hdrs, CLUSTER_ID_HEADER, v);
}

/* Point to point: one consumer of the queue, chosen in turn (queue.c),
 * passing over (skip_session, skip_sub) when another exists.  No
 * consumer: the message is dropped, as Spring's simple broker does. */
static int send_queue(broker_t *b, const char *dest, const char *ctype, const char *sender,
		      chat_slice_t body, const char *skip_session, const char *skip_sub)
{
	queue_consumer_t c;
	int64_t seq;
	int rc, found;

	if ((rc = next_seq(b, &seq)) != CHAT_OK ||
	    (rc = queue_pick(b->db, dest, seq, skip_session, skip_sub, &c, &found, b->err)) !=
		    CHAT_OK)
		return rc;
	if (!found)
		return CHAT_OK;
	if ((rc = message_headers(b, c.sub_id, ctype, sender)) != CHAT_OK)
		return rc;
	return append(b, dest, c.session_id, chat_buf_slice(&b->hdrs), body, NULL);
}

/* Publishes body on broker destination dest (checked by the caller) of
 * kind: /topic/... to every subscriber, /queue/... to one consumer in turn,
 * /user/NAME/queue/... to the user's sessions; sender (NULL: none) becomes
 * the user-name header of /queue and /user messages. */
static int publish(broker_t *b, const char *dest, dest_kind_t kind, const char *ctype,
		   const char *sender, chat_slice_t body)
{
	int rc;

	if (kind == DEST_QUEUE)
		return send_queue(b, dest, ctype, sender, body, NULL, NULL);
	/* Stamped for the other nodes of a cluster (a /queue stays on its own). */
	if ((rc = message_headers(b, NULL, ctype, kind == DEST_TOPIC ? NULL : sender)) != CHAT_OK ||
	    (rc = cluster_stamp(b)) != CHAT_OK)
		return rc;
	return append(b, dest, NULL, chat_buf_slice(&b->hdrs), body, NULL);
}

/* /app/chat/room/{id}: validate, stamp, broadcast on /topic/chat/room/{id}. */
static int app_post(broker_t *b, const char *room, chat_slice_t body)
{
	chat_error_t perr = { 0 };
	chat_buf_t text;
	char topic[CHATDB_DEST_MAX + 1], display[NAMES_NFC_MAX + 1];
	chatmsg_t m;
	chatroom_t r;
	int64_t seq, got = 0;
	int rc, found;

	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	rc = chatroom_get(b->db, room, &r, b->err);
	if (rc == CHAT_ENOTFOUND)
		rc = refuse(b, "no room %s", room);
	if (rc != CHAT_OK)
		goto out;
	rc = chatmsg_parse_post(body.ptr, body.len, &text, &perr);
	if (rc != CHAT_OK) {
		rc = refuse(b, "invalid chat message: %s", perr.message);
		goto out;
	}
	if ((rc = query_int(b, SQL_ROOM_SEQ, room, NULL, &m.room_seq, &found, "room seq")) !=
		    CHAT_OK ||
	    (rc = next_seq(b, &seq)) != CHAT_OK)
		goto out;
	m.id = seq;
	/* In a cluster the id comes from the node's id clock (db/cluster.h). */
	if (cluster_enabled(b->opt) &&
	    (rc = cluster__next_id_in_tx(b->db, b->opt->node_id, seq, &m.id, b->err)) != CHAT_OK)
		goto out;
	m.room = room;
	m.writer = b->info.user_name;
	if ((rc = auth_display_get(b->db, m.writer, display, b->err)) != CHAT_OK)
		goto out;
	m.display = display;
	m.time_ms = b->now_ms;
	m.text = chat_buf_slice(&text);
	m.deleted = 0;
	chat_buf_reset(&b->scratch);
	if ((rc = chatmsg_render(&b->scratch, &m)) != CHAT_OK)
		goto out;
	chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	/* The relay starts before the first chat row, so pruning keeps every
	 * chat row until it is in the store. */
	if ((rc = relay__register_in_tx(b->db, seq - 1, b->err)) != CHAT_OK ||
	    (rc = chat_headers(&b->hdrs, RELAY_KIND_MSG)) != CHAT_OK)
		goto out;
	if (cluster_enabled(b->opt)) {
		char origin[24];

		snprintf(origin, sizeof(origin), "%lld", b->opt->node_id);
		if ((rc = delivery_hdr_put(&b->hdrs, RELAY_ORIGIN_HEADER, origin)) != CHAT_OK)
			goto out;
	}
	/* In a cluster the post is held back until it is in one order on
	 * every node (db/cluster.h). */
	if (!cluster_enabled(b->opt))
		rc = append(b, topic, NULL, chat_buf_slice(&b->hdrs), chat_buf_slice(&b->scratch),
			    &got);
	else if ((rc = cluster__hold_in_tx(b->db, m.id, topic, room, chat_buf_slice(&b->hdrs),
					   chat_buf_slice(&b->scratch), &got, b->err)) == CHAT_OK)
		b->tx_seq = got;
	if (rc == CHAT_OK && got != seq)
		rc = chat_error_set(b->err, CHAT_EDB, "outbox seq %lld, expected %lld",
				    (long long)got, (long long)seq);
out:
	chat_buf_free(&text);
	return rc;
}

/* /app/rooms with {"name": ...}: creates the room (published on
 * /topic/rooms); /app/rooms/delete (del): deletes it. */
static int app_room(broker_t *b, chat_slice_t body, int del)
{
	chat_error_t perr = { 0 };
	chat_buf_t name;
	chatmsg_field_t fl = { "name", &name, 1, 0, 0 };
	int64_t seq = 0;
	int rc;

	chat_buf_init(&name, NAMES_INPUT_MAX);
	rc = chatmsg_parse_object(body.ptr, body.len, &fl, 1, &perr);
	if (rc == CHAT_OK)
		rc = del ? chatroom__delete_in_tx(b->db, b->opt, chat_buf_slice(&name),
						  b->info.user_name, b->now_ms, NULL, &seq, &perr)
			 : chatroom__create_in_tx(b->db, b->opt, chat_buf_slice(&name),
						  b->info.user_name, b->now_ms, NULL, &seq, &perr);
	if (rc == CHAT_OK)
		b->tx_seq = seq;
	else if (rc != CHAT_EDB && rc != CHAT_EIO && rc != CHAT_ENOMEM)
		rc = refuse(b, "cannot %s the room: %s", del ? "delete" : "create", perr.message);
	else
		chat_error_set(b->err, rc, "%s", perr.message);
	chat_buf_free(&name);
	return rc;
}

/* USER/{name}/QUEUE/dm. */
static int dm_dest(char out[CHATDB_DEST_MAX + 1], const char *name)
{
	const dest_prefixes_t *p = dest_prefixes();
	int n = snprintf(out, CHATDB_DEST_MAX + 1, "%s/%s%s%s", p->user, name, p->broker[p->queue],
			 BROKER_DM_QUEUE_PATH);

	return n < 0 || n > CHATDB_DEST_MAX ? CHAT_ETOOBIG : CHAT_OK;
}

/* Publishes scratch to both users' USER/{name}/QUEUE/dm; *seq: the first row's. */
static int dm_publish(broker_t *b, const char *peer, int64_t *seq)
{
	char to[CHATDB_DEST_MAX + 1];
	int rc;

	if ((rc = message_headers(b, NULL, "application/json", b->info.user_name)) != CHAT_OK ||
	    (rc = dm_dest(to, peer)) != CHAT_OK ||
	    (rc = append(b, to, NULL, chat_buf_slice(&b->hdrs), chat_buf_slice(&b->scratch), seq)) !=
		    CHAT_OK ||
	    (rc = dm_dest(to, b->info.user_name)) != CHAT_OK)
		return rc;
	return append(b, to, NULL, chat_buf_slice(&b->hdrs), chat_buf_slice(&b->scratch), NULL);
}

/* Who may SEND APP/dm/{peer}[/typing]: a registered, unbanned user, to
 * another registered user (looked up in prepare()).  0 to go on. */
static int dm_check(broker_t *b)
{
	int banned = 0, rc;

	if (!b->info.has_user || chatroom_is_guest(b->info.user_name))
		return refuse(b, "direct messages are for registered users");
	if ((rc = auth_banned(b->db, b->info.user_name, &banned, b->err)) != CHAT_OK)
		return rc;
	if (banned)
		return refuse(b, "%s", BROKER_ERROR_BANNED);
	if (b->pre.dm_rc == 1)
		return refuse(b, "a direct message cannot be in a transaction");
	if (b->pre.dm_rc == CHAT_ENOTFOUND)
		return refuse(b, "no user %s", b->pre.dm_peer);
	if (b->pre.dm_rc != CHAT_OK)
		return refuse(b, "cannot check users now: retry later");
	if (strcasecmp(b->pre.dm_peer, b->info.user_name) == 0)
		return refuse(b, "a direct message needs another user");
	return CHAT_OK;
}

/* SEND APP/dm/{peer} {"text"}: stamped like a room post, kept in chat.db
 * (dm.h) and sent to both users' USER/{name}/QUEUE/dm. */
static int app_dm(broker_t *b, chat_slice_t body)
{
	chat_error_t perr = { 0 };
	char display[NAMES_NFC_MAX + 1];
	const char *peer = b->pre.dm_peer, *me = b->info.user_name;
	chat_buf_t text;
	int64_t seq, got = 0;
	int rc;

	if ((rc = dm_check(b)) != CHAT_OK)
		return rc;
	chat_buf_init(&text, CHATMSG_TEXT_MAX);
	rc = chatmsg_parse_post(body.ptr, body.len, &text, &perr);
	if (rc != CHAT_OK) {
		rc = refuse(b, "invalid chat message: %s", perr.message);
		goto out;
	}
	if ((rc = next_seq(b, &seq)) != CHAT_OK ||
	    (rc = auth_display_get(b->db, me, display, b->err)) != CHAT_OK)
		goto out;
	if ((rc = dm_render(&b->scratch, seq, b->now_ms, me, display, peer, chat_buf_slice(&text))) !=
	    CHAT_OK)
		goto out;
	if ((rc = dm__add_in_tx(b->db, seq, me, peer, chat_buf_slice(&b->scratch), b->now_ms,
				b->err)) != CHAT_OK ||
	    (rc = dm_publish(b, peer, &got)) != CHAT_OK)
		goto out;
	if (got != seq)
		rc = chat_error_set(b->err, CHAT_EDB, "outbox seq %lld, expected %lld",
				    (long long)got, (long long)seq);
out:
	chat_buf_free(&text);
	return rc;
}

/* SEND APP/dm/{peer}/read {"id"}: the caller has read up to id. */
static int app_dm_read(broker_t *b, const char *peer, chat_slice_t body)
{
	chat_error_t perr = { 0 };
	chatmsg_field_t fl = { "id", NULL, 1, 0, 0 };
	int rc;

	if (!b->info.has_user || chatroom_is_guest(b->info.user_name))
		return refuse(b, "direct messages are for registered users");
	rc = chatmsg_parse_object(body.ptr, body.len, &fl, 1, &perr);
	if (rc != CHAT_OK || fl.num <= 0)
		return refuse(b, "invalid read mark: %s", rc != CHAT_OK ? perr.message : "id <= 0");
	return dm__read_in_tx(b->db, b->info.user_name, peer, fl.num, b->err);
}

static int send_app(broker_t *b, const char *dest, chat_slice_t body)
{
	const char *path = app_path(dest);
	char room[CHATMSG_ROOM_MAX + 1], name[CHATMSG_NAME_MAX + 1];

	if (path != NULL && (strcmp(path, CHATROOM_ROOMS_PATH) == 0 ||
			     strcmp(path, BROKER_ROOMS_DELETE_PATH) == 0))
		return app_room(b, body, path[strlen(CHATROOM_ROOMS_PATH)] != '\0');
	if (room_of(dest, 1, "", room))
		return app_post(b, room, body);
	if (dm_of(dest, "", name))
		return app_dm(b, body);
	if (dm_of(dest, BROKER_DM_READ_SUFFIX, name))
		return app_dm_read(b, name, body);
	if (b->opt->app_hook_url[0] != '\0')
		return apply_hook(b, NULL, dest);
	return refuse(b, "no handler for %s", dest);
}

/* The session's subscription to errors_dest() (the first by id). */
static const char SQL_ERRORS_SUB[] =
	"SELECT sub_id FROM subscriptions WHERE session_id = ?1 AND destination = ?2"
	" ORDER BY sub_id LIMIT 1";

/* Takes a token from the user's SEND bucket (rate_sends, or
 * rate_guest_sends for a guest).  0: go on; 1: the SEND is refused and the
 * session told (a MESSAGE on its /user/queue/errors subscription, else an
 * ERROR); or a database error. */
static int over_rate(broker_t *b, const char *dest)
{
	char key[RATELIMIT_KEY_MAX + 1], errors[CHATDB_DEST_MAX + 1];
	const char *user = b->info.user_name;
	int guest = chatroom_is_guest(user);
	chat_error_t e = { 0 };
	sqlite3_stmt *st;
	int64_t retry = 0;
	int rc;

	if (!b->info.has_user)
		return 0;
	snprintf(key, sizeof(key), "send:%s", user);
	rc = ratelimit__take_in_tx(b->db, key, guest ? b->opt->rate_guest_sends : b->opt->rate_sends,
				   guest ? b->opt->rate_guest_sends_burst : b->opt->rate_sends_burst,
				   b->now_ms, &retry, &e);
	if (rc == CHAT_ETOOMANY) {
		metrics_add(METRICS_LIMIT_SEND, 1);
		/* Each refusal writes a MESSAGE: a client that keeps sending
		 * regardless is ended before the refusals cost more. */
		int64_t r2;

		snprintf(key, sizeof(key), "refused:%s", user);
		rc = ratelimit__take_in_tx(b->db, key, BROKER_REFUSED_RATE, BROKER_REFUSED_BURST,
					   b->now_ms, &r2, &e);
		if (rc == CHAT_ETOOMANY)
			return refuse(b, "%s: too many refused SENDs", BROKER_ERROR_RATE);
		if (rc == CHAT_OK)
			rc = CHAT_ETOOMANY;
	}
	if (rc != CHAT_ETOOMANY) {
		if (rc != CHAT_OK && b->err != NULL)
			*b->err = e;
		return rc;
	}
	if ((rc = chatdb__stmt(b->db, SQL_ERRORS_SUB, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	errors_dest(errors);
	sqlite3_bind_text(st, 2, errors, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		chat_buf_reset(&b->scratch);
		rc = chat_buf_printf(&b->scratch, "{\"error\":\"%s\",\"retry_after_ms\":%lld,"
				     "\"destination\":", BROKER_ERROR_RATE, (long long)retry);
		if (rc == CHAT_OK)
			rc = json_encode_string(&b->scratch, dest, strlen(dest));
		if (rc == CHAT_OK)
			rc = chat_buf_putc(&b->scratch, '}');
		if (rc == CHAT_OK)
			rc = message_headers(b, (const char *)sqlite3_column_text(st, 0),
					     "application/json", NULL);
		if (rc == CHAT_OK)
			rc = append(b, errors, b->key, chat_buf_slice(&b->hdrs),
				    chat_buf_slice(&b->scratch), NULL);
		if (rc == CHAT_OK)
			rc = 1;
	} else if (rc == SQLITE_DONE) {
		rc = refuse(b, "%s: retry in %lld ms (subscribe to %s to be told without ERROR)",
			    BROKER_ERROR_RATE, (long long)retry, errors);
	} else {
		rc = chatdb__error(b->db, rc, "errors subscription", b->err);
	}
	sqlite3_reset(st);
	return rc;
}

/* Takes the session's typing token (BROKER_TYPING_RATE a second) and
 * renders {"type":"TYPING","user","display_name",KEY:VALUE,"time"} into
 * scratch.  1: over the rate (dropped, nothing said), 0, or an error. */
static int typing_body(broker_t *b, const char *key_name, const char *value)
{
	char key[RATELIMIT_KEY_MAX + 1], display[NAMES_NFC_MAX + 1];
	const char *user = b->info.user_name;
	chat_error_t e = { 0 };
	int64_t retry = 0;
	int rc;

	snprintf(key, sizeof(key), "typing:%s", b->key);
	rc = ratelimit__take_in_tx(b->db, key, BROKER_TYPING_RATE, 1, b->now_ms, &retry, &e);
	if (rc == CHAT_ETOOMANY)
		return 1;
	if (rc != CHAT_OK) {
		*b->err = e;
		return rc;
	}
	if ((rc = auth_display_get(b->db, user, display, b->err)) != CHAT_OK)
		return rc;
	chat_buf_reset(&b->scratch);
	if ((rc = chat_buf_append(&b->scratch, "{\"type\":\"TYPING\",\"user\":", 24)) == CHAT_OK &&
	    (rc = json_encode_string(&b->scratch, user, strlen(user))) == CHAT_OK &&
	    (rc = chat_buf_append(&b->scratch, ",\"display_name\":", 16)) == CHAT_OK &&
	    (rc = json_encode_string(&b->scratch, display, strlen(display))) == CHAT_OK &&
	    (rc = chat_buf_printf(&b->scratch, ",\"%s\":", key_name)) == CHAT_OK &&
	    (rc = json_encode_string(&b->scratch, value, strlen(value))) == CHAT_OK)
		rc = chat_buf_printf(&b->scratch, ",\"time\":%lld}", (long long)b->now_ms);
	return rc;
}

/* SEND APP/chat/room/{id}/typing (see broker.h): its own per-session
 * bucket, not the user's SEND bucket, and nothing said when over it. */
static int app_typing(broker_t *b, const char *dest)
{
	char room[CHATMSG_ROOM_MAX + 1], topic[CHATDB_DEST_MAX + 1];
	chatroom_t r;
	int64_t seq = 0;
	int rc;

	if (!b->info.has_user || !room_of(dest, 1, BROKER_TYPING_SUFFIX, room))
		return refuse(b, "no handler for %s", dest);
	rc = chatroom_get(b->db, room, &r, b->err);
	if (rc == CHAT_ENOTFOUND)
		return refuse(b, "no room %s", room);
	if (rc != CHAT_OK)
		return rc;
	if ((rc = typing_body(b, "room", room)) != CHAT_OK)
		return rc > 0 ? CHAT_OK : rc;
	rc = chat_headers(&b->hdrs, "typing");
	if (rc == CHAT_OK)
		rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, room);
	if (rc == CHAT_OK)
		rc = append(b, topic, NULL, chat_buf_slice(&b->hdrs), chat_buf_slice(&b->scratch), &seq);
	if (rc == CHAT_OK)
		b->tx_seq = seq;
	return rc;
}

/* SEND APP/dm/{user}/typing: as a room's, to the peer's USER/{user}/QUEUE/dm
 * only ({"type":"TYPING",...,"to"}); never kept. */
static int app_dm_typing(broker_t *b)
{
	char to[CHATDB_DEST_MAX + 1];
	int64_t seq = 0;
	int rc;

	if ((rc = dm_check(b)) != CHAT_OK)
		return rc;
	if ((rc = typing_body(b, "to", b->pre.dm_peer)) != CHAT_OK)
		return rc > 0 ? CHAT_OK : rc;
	if ((rc = message_headers(b, NULL, "application/json", b->info.user_name)) == CHAT_OK &&
	    (rc = dm_dest(to, b->pre.dm_peer)) == CHAT_OK)
		rc = append(b, to, NULL, chat_buf_slice(&b->hdrs), chat_buf_slice(&b->scratch), &seq);
	if (rc == CHAT_OK)
		b->tx_seq = seq;
	return rc;
}

static int buffer_in_tx(broker_t *b, const stomp_frame_t *f, const char *tx);

static int on_send(broker_t *b, const stomp_frame_t *f, int replay)
{
	const char *dest = header(f, "destination"), *tx = header(f, "transaction");
	const char *ctype = header(f, "content-type");
	char name[CHATMSG_NAME_MAX + 1];
	chat_slice_t d, user, rest;
	int rc;

	if (dest == NULL)
		return refuse(b, "SEND without destination");
	/* Stored as sent and rendered for every subscriber's version: a value
	 * that 1.0 or 1.1 cannot carry (escaped CR or LF) is refused here. */
	if (ctype != NULL && !stomp_media_type_valid((chat_slice_t){ ctype, strlen(ctype) }))
		return refuse(b, "invalid content-type (not a media type)");
	d = (chat_slice_t){ dest, strlen(dest) };
	if (dest_validate(d, 0) != CHAT_OK)
		return refuse(b, "invalid destination");
	if (tx != NULL && !replay) {
		if (is_app_dest(dest) && b->opt->app_hook_url[0] != '\0' && !app_send_builtin(dest))
			return refuse(b, "a SEND to %s (the application hook) cannot be in a transaction",
				      dest);
		return buffer_in_tx(b, f, tx);
	}
	/* Typing has its own bucket (app_typing()), not a SEND's token. */
	if (is_typing(dest))
		return app_typing(b, dest);
	if (dm_of(dest, BROKER_TYPING_SUFFIX, name))
		return app_dm_typing(b);
	/* A hook SEND's token was taken (or refused) before its call. */
	if (b->rate_refused)
		return CHAT_OK;
	if (!b->rate_taken && (dest_classify(d) != DEST_TOPIC || b->opt->topic_send)) {
		if ((rc = over_rate(b, dest)) != 0)
			return rc > 0 ? CHAT_OK : rc;
	}
	switch (dest_classify(d)) {
	case DEST_TOPIC:
		if (!b->opt->topic_send)
			return refuse(b, "SEND to /topic is not allowed: send to /app");
		return publish(b, dest, DEST_TOPIC, ctype, NULL, f->body);
	case DEST_QUEUE:
		return publish(b, dest, DEST_QUEUE, ctype, sender_of(b), f->body);
	case DEST_USER:
		if (dest_user_split(d, &user, &rest) != CHAT_OK || user.len == 0)
			return refuse(b, "SEND to a user needs /user/{name}/queue/...");
		if (!b->opt->user_queue_others &&
		    (!b->info.has_user || !chat_slice_eq(user, b->info.user_name)))
			return refuse(b, "SEND to another user's queue is not allowed here");
		return publish(b, dest, DEST_USER, ctype, sender_of(b), f->body);
	case DEST_APP:
		return send_app(b, dest, f->body);
	default:
		return refuse(b, "cannot send to %s", dest);
	}
}

/* ---- ACK / NACK ---- */

static int on_ack(broker_t *b, const stomp_frame_t *f, int replay, int nack)
{
	const char *tx = header(f, "transaction");
	char ack_id[CHATDB_ID_MAX + 64], sub_id[CHATDB_ID_MAX + 1], mode[32];
	sqlite3_stmt *st;
	int64_t seq = 0;
	int rc, step, cumulative;

	if (b->version >= STOMP_V1_2) {
		const char *id = header(f, "id");

		if (id == NULL)
			return refuse(b, "%s without id", nack ? "NACK" : "ACK");
		snprintf(ack_id, sizeof(ack_id), "%s", id);
	} else {
		const char *mid = header(f, "message-id"), *sub = header(f, "subscription");
		int found;

		if (mid == NULL || (sub == NULL && b->version == STOMP_V1_1))
			return refuse(b, "%s without message-id%s", nack ? "NACK" : "ACK",
				      b->version == STOMP_V1_1 ? " and subscription" : "");
		if (sub != NULL) {
			snprintf(ack_id, sizeof(ack_id), "%s.%s", mid, sub);
		} else {
			sqlite3_stmt *q;

			ack_id[0] = '\0';
			rc = chatdb__stmt(b->db, SQL_UNACKED_BY_SEQ, &q, b->err);
			if (rc != CHAT_OK)
				return rc;
			sqlite3_bind_text(q, 1, b->key, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 2, strtoll(mid, NULL, 10));
			step = sqlite3_step(q);
			found = step == SQLITE_ROW;
			if (found)
				snprintf(ack_id, sizeof(ack_id), "%s", sqlite3_column_text(q, 0));
			sqlite3_reset(q);
			if (!found)
				return CHAT_OK;
		}
	}
	if (tx != NULL && !replay)
		return buffer_in_tx(b, f, tx);
	rc = chatdb__stmt(b->db, SQL_UNACKED_GET, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ack_id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(sub_id, sizeof(sub_id), "%s", sqlite3_column_text(st, 0));
		snprintf(mode, sizeof(mode), "%s", sqlite3_column_text(st, 1));
		seq = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (step == SQLITE_DONE)
		return CHAT_OK; /* unknown or already acknowledged: nothing to do */
	if (step != SQLITE_ROW)
		return chatdb__error(b->db, step, "ack", b->err);
	cumulative = strcmp(mode, "client") == 0;
	if (nack) {
		int requeued = 0;

		/* A /queue message goes to the queue's next consumer (queue.c)
		 * and is settled here; any other is redelivered to this session
		 * (it stays unacked). */
		rc = chatdb__stmt(b->db, SQL_UNACKED_SELECT, &st, b->err);
		if (rc != CHAT_OK)
			return rc;
		sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ack_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, sub_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, cumulative);
		sqlite3_bind_int64(st, 5, seq);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			chat_slice_t body = { sqlite3_column_blob(st, 5),
					      (size_t)sqlite3_column_bytes(st, 5) };

			const char *sub_dest = (const char *)sqlite3_column_text(st, 7);

			if (body.ptr == NULL)
				body.ptr = "";
			if (dest_classify((chat_slice_t){ sub_dest, strlen(sub_dest) }) ==
			    DEST_QUEUE) {
				requeued = 1;
				/* Settled first: the NACKing consumer has room again. */
				rc = queue_settle(b->db, b->key, sub_id, sqlite3_column_int64(st, 2),
						  0, b->err);
				if (rc == CHAT_OK)
						rc = send_queue(b, (const char *)sqlite3_column_text(st, 3),
							(const char *)sqlite3_column_text(st, 4),
							(const char *)sqlite3_column_text(st, 6), body,
							b->key, sub_id);
				if (rc != CHAT_OK)
					break;
				continue;
			}
			chat_buf_reset(&b->frame);
			rc = delivery_render_message(&b->frame, b->version,
					    (const char *)sqlite3_column_text(st, 1),
					    sqlite3_column_int64(st, 2),
					    (const char *)sqlite3_column_text(st, 3),
					    (const char *)sqlite3_column_text(st, 4),
					    (const char *)sqlite3_column_text(st, 6),
					    (const char *)sqlite3_column_text(st, 0), body);
			if (rc == CHAT_OK)
				rc = send_frame(b, 0, NULL);
			if (rc != CHAT_OK)
				break;
		}
		if (rc == CHAT_OK && step != SQLITE_DONE)
			rc = chatdb__error(b->db, step, "nack", b->err);
		sqlite3_reset(st);
		if (rc != CHAT_OK || !requeued)
			return rc;
	}
	rc = chatdb__stmt(b->db, SQL_UNACKED_DELETE, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ack_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sub_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, cumulative);
	sqlite3_bind_int64(st, 5, seq);
	if ((rc = step_done(b, st, "ack")) != CHAT_OK)
		return rc;
	return queue_settle(b->db, b->key, sub_id, seq, cumulative, b->err);
}

/* ---- transactions ---- */

static int tx_exists(broker_t *b, const char *tx, int64_t *nframes, int *found)
{
	return query_int(b, SQL_TX_GET, b->key, tx, nframes, found, "transaction");
}

static int buffer_in_tx(broker_t *b, const stomp_frame_t *f, const char *tx)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc, found;

	if ((rc = tx_exists(b, tx, &n, &found)) != CHAT_OK)
		return rc;
	if (!found)
		return refuse(b, "no transaction %.64s", tx);
	if (n >= BROKER_TX_FRAMES_MAX)
		return refuse(b, "more than %d frames in a transaction", BROKER_TX_FRAMES_MAX);
	chat_buf_reset(&b->frame);
	rc = stomp_serialize(&b->frame, b->version, f->command, f->headers, f->nheaders,
			     f->body.ptr, f->body.len);
	if (rc != CHAT_OK)
		return rc;
	if ((rc = exec2(b, SQL_TX_BUMP, tx, "transaction")) != CHAT_OK ||
	    (rc = chatdb__stmt(b->db, SQL_TX_FRAME_PUT, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n);
	sqlite3_bind_blob(st, 4, b->frame.data, (int)b->frame.len, SQLITE_STATIC);
	return step_done(b, st, "transaction frame");
}

static int on_begin(broker_t *b, const stomp_frame_t *f)
{
	const char *tx = header(f, "transaction");
	int64_t n;
	int rc, found;

	if (tx == NULL || *tx == '\0')
		return refuse(b, "BEGIN without transaction");
	if (strlen(tx) > CHATDB_ID_MAX)
		return refuse(b, "transaction id longer than %d bytes", CHATDB_ID_MAX);
	if ((rc = tx_exists(b, tx, &n, &found)) != CHAT_OK)
		return rc;
	if (found)
		return refuse(b, "transaction %s already begun", tx);
	if ((rc = query_int(b, SQL_TX_COUNT, b->key, NULL, &n, &found, "transaction")) != CHAT_OK)
		return rc;
	if (n >= BROKER_TX_MAX)
		return refuse(b, "more than %d open transactions", BROKER_TX_MAX);
	return exec2(b, SQL_TX_INSERT, tx, "begin");
}

static int dispatch(broker_t *b, const stomp_frame_t *f, int replay);

static int on_commit(broker_t *b, const stomp_frame_t *f, int abort)
{
	const char *tx = header(f, "transaction");
	stomp_limits_t lim = { (size_t)b->opt->max_frame, (size_t)b->opt->max_headers, 0 };
	sqlite3_stmt *st;
	stomp_parser_t p;
	stomp_frame_t g;
	int64_t n;
	int rc, found, step;

	if (tx == NULL)
		return refuse(b, "%s without transaction", abort ? "ABORT" : "COMMIT");
	if ((rc = tx_exists(b, tx, &n, &found)) != CHAT_OK)
		return rc;
	if (!found)
		return refuse(b, "no transaction %.64s", tx);
	if (abort)
		return exec2(b, SQL_TX_DELETE, tx, "abort");
	/* Frames stored by this broker were valid when they came in. */
	lim.max_frame = lim.max_frame * 2 + 1024;
	if ((rc = stomp_parser_init(&p, &lim)) != CHAT_OK)
		return rc;
	stomp_parser_set_version(&p, b->version);
	rc = chatdb__stmt(b->db, SQL_TX_FRAMES, &st, b->err);
	if (rc != CHAT_OK)
		goto out;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tx, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *data = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0), used = 0;

		rc = data ? stomp_parser_feed(&p, data, len, &used, &g) : CHAT_EPROTO;
		if (rc != CHAT_OK) {
			rc = chat_error_set(b->err, CHAT_EDB, "stored frame of %s is broken", tx);
			break;
		}
		rc = dispatch(b, &g, 1);
		if (rc != CHAT_OK)
			break;
	}
	if (rc == CHAT_OK && step != SQLITE_DONE)
		rc = chatdb__error(b->db, step, "commit frames", b->err);
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = exec2(b, SQL_TX_DELETE, tx, "commit");
out:
	stomp_parser_free(&p);
	return rc;
}

/* ---- the frame ---- */

/* Drops the session's subscriptions and transactions (it is ending), and
 * announces that its user left the rooms no other session keeps it in. */
static int forget(broker_t *b)
{
	char rooms[SESSION_SUBS_MAX][CHATDB_DEST_MAX + 1], topic[CHATDB_DEST_MAX + 1];
	size_t n = 0, i;
	sqlite3_stmt *st;
	int rc, step;

	if ((rc = chatdb__stmt(b->db, SQL_SESSION_ROOMS, &st, b->err)) != CHAT_OK)
		return rc;
	chatroom_topic(topic, CHATROOM_ROOM_PATH, "");
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, topic, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < SESSION_SUBS_MAX)
		snprintf(rooms[n++], sizeof(rooms[0]), "%s", sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		return chatdb__error(b->db, step, "subscriptions", b->err);
	rc = exec2(b, SQL_SUBS_CLEAR, NULL, "subscriptions");
	for (i = 0; i < n && rc == CHAT_OK; i++)
		rc = leave_if_gone(b, rooms[i]);
	if (rc == CHAT_OK)
		rc = exec2(b, SQL_TX_CLEAR, NULL, "transactions");
	return rc != CHAT_OK ? rc : exec2(b, SQL_PARTIAL_CLEAR, NULL, "partial frame");
}

static int on_disconnect(broker_t *b, const stomp_frame_t *f)
{
	const char *receipt = header(f, "receipt");
	int rc;

	if ((rc = forget(b)) != CHAT_OK)
		return rc;
	b->ended = 1;
	if (receipt == NULL) {
		char code[16];
		const char *pairs[] = { "close-code", code, "close-reason", BROKER_REASON_NORMAL,
					NULL };

		/* Tells a request or socket held elsewhere to close too. */
		snprintf(code, sizeof(code), "%d", BROKER_CLOSE_NORMAL);
		if ((rc = send_change(b, pairs)) != CHAT_OK)
			return rc;
		return session_close(b->db, b->key, BROKER_CLOSE_NORMAL, BROKER_REASON_NORMAL,
				     b->now_ms, b->err);
	}
	chat_buf_reset(&b->frame);
	rc = stomp_serialize_receipt(&b->frame, b->version, receipt);
	if (rc == CHAT_OK)
		rc = send_frame(b, BROKER_CLOSE_NORMAL, BROKER_REASON_NORMAL);
	if (rc == CHAT_OK)
		rc = session_set_closing(b->db, b->key, b->err);
	return rc;
}

static int dispatch(broker_t *b, const stomp_frame_t *f, int replay)
{
	if (!b->connected && f->command != STOMP_CMD_CONNECT && f->command != STOMP_CMD_STOMP)
		return refuse(b, "not connected: CONNECT first");
	switch (f->command) {
	case STOMP_CMD_CONNECT:
	case STOMP_CMD_STOMP: return on_connect(b, f);
	case STOMP_CMD_SUBSCRIBE: return on_subscribe(b, f);
	case STOMP_CMD_UNSUBSCRIBE: return on_unsubscribe(b, f);
	case STOMP_CMD_SEND: return on_send(b, f, replay);
	case STOMP_CMD_ACK: return on_ack(b, f, replay, 0);
	case STOMP_CMD_NACK: return on_ack(b, f, replay, 1);
	case STOMP_CMD_BEGIN: return on_begin(b, f);
	case STOMP_CMD_COMMIT: return on_commit(b, f, 0);
	case STOMP_CMD_ABORT: return on_commit(b, f, 1);
	case STOMP_CMD_DISCONNECT: return on_disconnect(b, f);
	default: return refuse(b, "unexpected command %s", stomp_command_name(f->command));
	}
}

static void rollback(broker_t *b)
{
	chatdb__rollback(b->db);
	b->tx_seq = 0;
}

static int commit(broker_t *b)
{
	int rc = chatdb__commit(b->db, b->err);

	if (rc == CHAT_OK && b->tx_seq > b->ring_seq)
		b->ring_seq = b->tx_seq;
	b->tx_seq = 0;
	return rc;
}

/* Answers a refused frame: ERROR (with receipt-id if asked), then the
 * session ends.  Runs in a transaction of its own. */
static int fail(broker_t *b, const char *receipt)
{
	int rc;

	b->ended = 1;
	if ((rc = chatdb__begin(b->db, b->err)) != CHAT_OK)
		return rc;
	rc = load_state(b);
	if (rc == CHAT_OK && b->info.state != SESSION_OPEN) {
		rollback(b);
		return CHAT_OK;
	}
	if (rc == CHAT_OK) {
		chat_buf_reset(&b->frame);
		rc = stomp_serialize_error(&b->frame, b->connected ? b->version : STOMP_V1_2,
					   b->perr_msg, receipt, NULL, 0);
		/* A receipt id the version cannot carry: answer without it. */
		if (rc == CHAT_EINVAL)
			rc = stomp_serialize_error(&b->frame, STOMP_V1_2, b->perr_msg, NULL, NULL,
						   0);
	}
	if (rc == CHAT_OK)
		rc = send_frame(b, BROKER_CLOSE_ERROR, BROKER_REASON_ERROR);
	if (rc == CHAT_OK)
		rc = forget(b);
	if (rc == CHAT_OK)
		rc = session_set_closing(b->db, b->key, b->err);
	if (rc == CHAT_OK)
		rc = commit(b);
	else
		rollback(b);
	return rc;
}

/* The ERROR message of a session whose token is gone (state as
 * SQL_TOKEN_STATE and SQL_TOKEN_DEAD say). */
static const char *token_end_message(int expired)
{
	return expired ? BROKER_ERROR_EXPIRED : BROKER_ERROR_LOGGED_OUT;
}

/* A session opened with a token takes no frame once the token was revoked
 * or expired: refused with "logged out" / "token expired". */
static int check_token(broker_t *b)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(b->db, SQL_TOKEN_STATE, &st, b->err), dead = 0;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, b->now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		dead = sqlite3_column_int(st, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? CHAT_OK
						   : chatdb__error(b->db, rc, "stomp token", b->err);
	sqlite3_reset(st);
	if (rc == CHAT_OK && dead != 0)
		rc = refuse(b, "%s", token_end_message(dead == 1));
	return rc;
}

/* One frame in one transaction.  CHAT_ECLOSED: the session no longer takes
 * frames (stop). */
static int handle(broker_t *b, const stomp_frame_t *f)
{
	const char *receipt = header(f, "receipt");
	int rc, tries = 0;

	b->no_retry = 0;
	b->hook_done = 0;
	b->rate_taken = b->rate_refused = 0;
again:
	b->perr = 0;
	b->retry = 0;
	if ((rc = prepare(b, f)) != CHAT_OK)
		return rc;
	if ((rc = chatdb__begin(b->db, b->err)) != CHAT_OK)
		return rc;
	rc = load_state(b);
	if (rc == CHAT_OK && b->info.state != SESSION_OPEN) {
		rollback(b);
		return CHAT_ECLOSED;
	}
	if (rc == CHAT_OK && b->connected)
		rc = check_token(b);
	if (rc == CHAT_OK)
		rc = dispatch(b, f, 0);
	if (rc == CHAT_OK && receipt != NULL && f->command != STOMP_CMD_DISCONNECT) {
		chat_buf_reset(&b->frame);
		rc = stomp_serialize_receipt(&b->frame, b->version, receipt);
		if (rc == CHAT_EINVAL)
			rc = refuse(b, "invalid receipt header");
		else if (rc == CHAT_OK)
			rc = send_frame(b, 0, NULL);
	}
	/* The frame that completes a stored partial one consumes it in its
	 * own transaction: committed together, never handled twice. */
	if (rc == CHAT_OK && b->partial_held)
		rc = exec2(b, SQL_PARTIAL_CLEAR, NULL, "partial frame");
	if (rc == CHAT_OK) {
		if ((rc = commit(b)) == CHAT_OK)
			b->partial_held = 0;
		return rc;
	}
	rollback(b);
	if (b->retry) {
		/* The relay moved while the store was read: read again (the
		 * third time, answer from what is there). */
		if (++tries >= 2)
			b->no_retry = 1;
		goto again;
	}
	if (b->perr)
		return fail(b, receipt);
	return rc;
}

/* Refuses the rest of a message the parser rejected. */
static int fail_parse(broker_t *b, const char *detail)
{
	snprintf(b->perr_msg, sizeof(b->perr_msg), "%s", detail);
	b->perr = 1;
	return fail(b, NULL);
}

/* Loads the version (as load_version()) and, into *joined, the partial
 * frame the session's previous message ended with followed by msg; leaves
 * *joined empty when there is none (then msg is parsed in place, the
 * common case, with no copy). */
static int load_receive(broker_t *b, chat_slice_t msg, chat_buf_t *joined)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(b->db, SQL_RECEIVE_GET, &st, b->err);
	size_t n;

	b->connected = 0;
	b->version = STOMP_V1_2;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = chatdb__error(b->db, rc, "stomp state", b->err);
		goto out;
	}
	rc = CHAT_OK;
	if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
		b->connected = 1;
		b->version = (stomp_version_t)sqlite3_column_int(st, 0);
	}
	n = (size_t)sqlite3_column_bytes(st, 1);
	if (n == 0)
		goto out;
	chat_buf_init(joined, n + msg.len);
	if ((rc = chat_buf_append(joined, sqlite3_column_blob(st, 1), n)) == CHAT_OK)
		rc = chat_buf_append(joined, msg.ptr, msg.len);
	if (rc != CHAT_OK)
		rc = chat_error_set(b->err, rc, "partial frame: %s", chat_strerror(rc));
	b->partial_held = 1;
out:
	sqlite3_reset(st);
	return rc;
}

/* The parser wants more than in[from..] holds: keeps that incomplete frame
 * (without the heart-beat EOLs before it) for the session's next message.
 * The parser has bounded it by max_frame already.  Written after the
 * message's last whole frame committed: a process dying in between loses
 * the tail along with its answer to the request (sockjs-client then ends
 * the session). */
static int keep_partial(broker_t *b, chat_slice_t in, size_t from, size_t new_bytes)
{
	sqlite3_stmt *st;
	int rc;

	while (from < in.len && (in.ptr[from] == '\n' || in.ptr[from] == '\r'))
		from++;
	/* Only EOLs; nothing new since the partial was stored (an empty
	 * message); or the session takes no more frames. */
	if (from == in.len || new_bytes == 0 || b->info.state != SESSION_OPEN)
		return CHAT_OK;
	if ((rc = chatdb__stmt(b->db, SQL_PARTIAL_PUT, &st, b->err)) != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, in.ptr + from, (int)(in.len - from), SQLITE_STATIC);
	return step_done(b, st, "partial frame");
}

static void broker_setup(broker_t *b, chatdb_t *db, const chat_options_t *opt, store_t **store,
			 const char *key, int64_t now_ms, chat_error_t *err)
{
	memset(b, 0, sizeof(*b));
	b->db = db;
	b->opt = opt;
	b->key = key;
	b->now_ms = now_ms;
	b->err = err;
	b->store = store;
	chat_buf_init(&b->frame, (size_t)opt->max_frame * 2 + 4096);
	chat_buf_init(&b->hdrs, OUTBOX_HEADERS_MAX);
	chat_buf_init(&b->scratch, CHATMSG_TEXT_MAX * 6 + 1024);
	hookmsg_answer_init(&b->hook, (size_t)opt->max_frame);
}

static void broker_teardown(broker_t *b)
{
	hlist_free(&b->pre.msgs);
	chat_buf_free(&b->frame);
	chat_buf_free(&b->hdrs);
	chat_buf_free(&b->scratch);
	hookmsg_answer_free(&b->hook);
}

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

static int exec_heard(chatdb_t *db, const char *key, int64_t now_ms, chat_error_t *err)
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

int broker_receive(chatdb_t *db, const chat_options_t *opt, store_t **store, const char *key,
		   const char *peer, chat_slice_t msg, int64_t now_ms, chat_error_t *err)
{
	stomp_limits_t lim = { (size_t)opt->max_frame, (size_t)opt->max_headers, 0 };
	doorbell_t *bell = chatdb_doorbell(db);
	broker_t b;
	stomp_parser_t p;
	stomp_frame_t f;
	chat_buf_t joined;
	chat_slice_t in = msg;
	size_t pos = 0, frame_end = 0, used;
	int rc;

	broker_setup(&b, db, opt, store, key, now_ms, err);
	chat_buf_init(&joined, 0);
	b.peer = peer;
	if ((rc = stomp_parser_init(&p, &lim)) != CHAT_OK)
		goto out_free;
	chatdb_set_doorbell(db, NULL);
	rc = session_get(db, key, &b.info, err);
	if (rc != CHAT_OK)
		goto out;
	if (b.info.state == SESSION_CLOSED) {
		rc = chat_error_set(err, CHAT_ECLOSED, "session is closed");
		goto out;
	}
	/* Anything from the client, a heart-beat EOL included, shows it is
	 * alive (see broker_heartbeat_sweep()). */
	if ((rc = exec_heard(db, key, now_ms, err)) != CHAT_OK)
		goto out;
	if ((rc = load_receive(&b, msg, &joined)) != CHAT_OK)
		goto out;
	if (joined.len > 0)
		in = chat_buf_slice(&joined);
	stomp_parser_set_version(&p, b.version);
	while (pos < in.len && !b.ended) {
		rc = stomp_parser_feed(&p, in.ptr + pos, in.len - pos, &used, &f);
		pos += used;
		if (rc == CHAT_OK) {
			frame_end = pos;
			rc = handle(&b, &f);
			if (rc == CHAT_ECLOSED) {
				rc = CHAT_OK;
				break;
			}
			if (rc != CHAT_OK)
				break;
			stomp_parser_set_version(&p, b.version);
			continue;
		}
		if (rc == CHAT_EAGAIN) {
			rc = keep_partial(&b, in, frame_end, msg.len);
			break;
		}
		rc = fail_parse(&b, stomp_parser_error_detail(&p));
		break;
	}
out:
	chatdb_set_doorbell(db, bell);
	if (bell != NULL && b.ring_seq > 0)
		doorbell_ring(bell, (uint64_t)b.ring_seq);
	stomp_parser_free(&p);
out_free:
	chat_buf_free(&joined);
	broker_teardown(&b);
	return rc;
}

int broker_publish(chatdb_t *db, const chat_options_t *opt, const char *dest, const char *ctype,
		   chat_slice_t body, int64_t now_ms, int64_t *seq_out, chat_error_t *err)
{
	doorbell_t *bell = chatdb_doorbell(db);
	chat_slice_t d = { dest, strlen(dest) }, user, rest;
	dest_kind_t kind = dest_classify(d);
	broker_t b;
	int rc;

	if (seq_out != NULL)
		*seq_out = 0;
	if (dest_validate(d, 0) != CHAT_OK || (kind != DEST_TOPIC && kind != DEST_QUEUE &&
					       kind != DEST_USER))
		return chat_error_set(err, CHAT_EINVAL, "invalid destination: publish to /topic/..., "
				      "/queue/... or /user/{name}/queue/...");
	if (kind == DEST_USER && (dest_user_split(d, &user, &rest) != CHAT_OK || user.len == 0))
		return chat_error_set(err, CHAT_EINVAL, "a user destination needs /user/{name}/queue/...");
	if (ctype != NULL && !stomp_media_type_valid((chat_slice_t){ ctype, strlen(ctype) }))
		return chat_error_set(err, CHAT_EINVAL, "invalid content-type (not a media type)");
	if (body.len > (size_t)opt->max_frame)
		return chat_error_set(err, CHAT_ETOOBIG, "the body is larger than max_frame (%lld bytes)",
				      opt->max_frame);
	broker_setup(&b, db, opt, NULL, "", now_ms, err);
	chatdb_set_doorbell(db, NULL);
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		goto out;
	rc = publish(&b, dest, kind, ctype, NULL, body);
	if (rc == CHAT_OK) {
		if (seq_out != NULL)
			*seq_out = b.tx_seq;
		rc = commit(&b);
	} else {
		rollback(&b);
	}
out:
	chatdb_set_doorbell(db, bell);
	if (bell != NULL && b.ring_seq > 0)
		doorbell_ring(bell, (uint64_t)b.ring_seq);
	broker_teardown(&b);
	return rc;
}

int broker_presence_sweep(chatdb_t *db, int64_t now_ms, int64_t *left_out, chat_error_t *err)
{
	doorbell_t *bell = chatdb_doorbell(db);
	char rooms[64][CHATMSG_ROOM_MAX + 1], users[64][SESSION_USER_MAX + 1];
	char topic[CHATDB_DEST_MAX + 1];
	sqlite3_stmt *st;
	int64_t seq = 0;
	size_t n = 0, i;
	int rc, step;

	if (left_out != NULL)
		*left_out = 0;
	chatdb_set_doorbell(db, NULL);
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		goto out;
	rc = chatdb__stmt(db, SQL_PRESENCE_STALE, &st, err);
	if (rc != CHAT_OK)
		goto done;
	chatroom_topic(topic, CHATROOM_ROOM_PATH, "");
	sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW && n < 64) {
		snprintf(rooms[n], sizeof(rooms[n]), "%s", sqlite3_column_text(st, 0));
		snprintf(users[n], sizeof(users[n]), "%s", sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_reset(st);
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		rc = chatdb__error(db, step, "presence", err);
	for (i = 0; i < n && rc == CHAT_OK; i++) {
		rc = chatdb__stmt(db, SQL_PRESENCE_DEL, &st, err);
		if (rc != CHAT_OK)
			break;
		sqlite3_bind_text(st, 1, rooms[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, users[i], -1, SQLITE_STATIC);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		rc = step == SQLITE_DONE ? notice_db(db, "LEAVE", users[i], rooms[i], now_ms, &seq, err)
					 : chatdb__error(db, step, "presence", err);
	}
done:
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
out:
	chatdb_set_doorbell(db, bell);
	if (rc == CHAT_OK && seq > 0 && bell != NULL)
		doorbell_ring(bell, (uint64_t)seq);
	if (rc == CHAT_OK && left_out != NULL)
		*left_out = (int64_t)n;
	return rc;
}

/* Writes the ERROR message for the session of the sweep's current row. */
typedef void (*sweep_message_fn)(sqlite3_stmt *st, int64_t now_ms, char *out, size_t size);

/* Ends the sessions sql (?1: now, ?2: arg when not NULL) yields - session id first, then what msg
 * reads (msg NULL: the ERROR says text) - with ERROR, then close, as for a refused frame: at most 64, each
 * in its own transaction; rings the doorbell once. */
static int sweep_sessions(chatdb_t *db, const chat_options_t *opt, int64_t now_ms,
			  const char *sql, const char *arg, const char *what, sweep_message_fn msg,
			  const char *text, int64_t *closed_out, chat_error_t *err)
{
	char keys[64][CHATDB_ID_MAX + 1], msgs[64][BROKER_PERR_MAX];
	doorbell_t *bell = chatdb_doorbell(db);
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
	chatdb_set_doorbell(db, NULL);
	for (i = 0; i < n && rc == CHAT_OK; i++) {
		broker_t b;

		broker_setup(&b, db, opt, NULL, keys[i], now_ms, err);
		memcpy(b.perr_msg, msgs[i], sizeof(b.perr_msg));
		b.perr = 1;
		rc = fail(&b, NULL);
		if (b.ring_seq > ring)
			ring = b.ring_seq;
		broker_teardown(&b);
	}
	chatdb_set_doorbell(db, bell);
	if (bell != NULL && ring > 0)
		doorbell_ring(bell, (uint64_t)ring);
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
	int64_t sx = opt->stomp_heartbeat_ms;

	if (sx == 0 || client_recv_ms == 0)
		return 0;
	if (sx < BROKER_HEARTBEAT_MIN_MS)
		sx = BROKER_HEARTBEAT_MIN_MS;
	return sx > client_recv_ms ? sx : client_recv_ms;
}

int broker_heartbeat_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms,
			   int64_t *closed_out, chat_error_t *err)
{
	return sweep_sessions(db, opt, now_ms, SQL_SILENT, NULL, "heart-beat sweep", silent_message, NULL,
			      closed_out, err);
}

static void token_message(sqlite3_stmt *st, int64_t now_ms, char *out, size_t size)
{
	(void)now_ms;
	snprintf(out, size, "%s", token_end_message(sqlite3_column_int(st, 1)));
}

int broker_token_sweep(chatdb_t *db, const chat_options_t *opt, int64_t now_ms, int64_t *closed_out,
		       chat_error_t *err)
{
	return sweep_sessions(db, opt, now_ms, SQL_TOKEN_DEAD, NULL, "token sweep", token_message, NULL,
			      closed_out, err);
}

/* ?1 is now, unused: sweep_sessions binds it. */
static const char SQL_USER_OPEN[] =
	"SELECT id FROM sessions WHERE ?1 IS NOT NULL AND state = 'open'"
	" AND user_name = ?2 COLLATE NOCASE LIMIT 64";
static const char SQL_SESSION_OPEN[] =
	"SELECT id FROM sessions WHERE ?1 IS NOT NULL AND state = 'open' AND id = ?2";

int broker_end_user(chatdb_t *db, const chat_options_t *opt, const char *user, const char *why,
		    int64_t now_ms, int64_t *closed_out, chat_error_t *err)
{
	int64_t n = 0, total = 0;
	int rc;

	/* 64 at a time; each ended session is no longer open. */
	do {
		rc = sweep_sessions(db, opt, now_ms, SQL_USER_OPEN, user, "ending a user's sessions",
				    NULL, why, &n, err);
		total += n;
	} while (rc == CHAT_OK && n == 64);
	if (closed_out != NULL)
		*closed_out = total;
	return rc;
}

int broker_end_session(chatdb_t *db, const chat_options_t *opt, const char *id, int64_t now_ms,
		       int64_t *closed_out, chat_error_t *err)
{
	return sweep_sessions(db, opt, now_ms, SQL_SESSION_OPEN, id, "ending a session",
			      NULL, BROKER_ERROR_KILLED, closed_out, err);
}
