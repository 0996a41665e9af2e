/*
 * cluster.c - the STOMP broker relay between nodes (see cluster.h): forwards
 * this node's rows to RabbitMQ after their commit, takes the other nodes'
 * rows in exactly once, and releases chat posts into the outbox in one
 * order on every node (a Lamport-clock hold-back).  The design and the
 * proof that nothing is missed, doubled or reordered are in docs/cluster.md
 * ("Design and proof").
 */
#include "config.h"
#include "cluster.h"

#include "broker.h"
#include "chat.h"
#include "chatmsg.h"
#include "chatroom.h"
#include "counters.h"
#include "delivery.h"
#include "log.h"
#include "outbox.h"
#include "relay.h"
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char SQL_REGISTER[] =
	"INSERT OR IGNORE INTO outbox_consumers(name, cursor) VALUES ('" CLUSTER_CONSUMER "', ?1)";

#define CLOCK_NAME "cluster_clock"

/* ---- the URL ---- */

int cluster_enabled(const chat_options_t *opt)
{
	return opt != NULL && opt->broker_relay != NULL && opt->broker_relay[0] != '\0';
}

/* Why a SQLite store cannot serve a cluster (%s: store_uri). */
#ifdef HAVE_MONGO
#define NO_MONGO_STORE                                                               \
	"broker_relay is set but store_uri is %s: a cluster needs"                   \
	" its history in one MongoDB every node shares (store_uri = mongodb://...);" \
	" the SQLite store is one machine's"
#else
#define NO_MONGO_STORE                                                         \
	"broker_relay is set but store_uri is %s: a cluster needs"             \
	" its history in one MongoDB every node shares, and this build has no" \
	" MongoDB support (configure --with-mongo)"
#endif

int cluster_check(const chat_options_t *opt, chat_error_t *err)
{
	clusterwire_url_t u;
	int rc;

	if (!cluster_enabled(opt))
		return CHAT_OK;
	if ((rc = clusterwire_parse_url(opt->broker_relay, &u, err)) != CHAT_OK)
		return rc;
	if (opt->node_id < 1 || opt->node_id >= CLUSTER_SLOTS)
		return chat_error_set(err, CHAT_EINVAL,
				      "broker_relay is set: give this node a node_id of its own,"
				      " 1..%d",
				      CLUSTER_SLOTS - 1);
	if (strncmp(opt->store_uri, "mongodb://", 10) != 0 &&
	    strncmp(opt->store_uri, "mongodb+srv://", 14) != 0)
		return chat_error_set(err, CHAT_EINVAL, NO_MONGO_STORE, opt->store_uri);
	return CHAT_OK;
}

/* ---- ids and marks in chat.db ---- */

static void mark_name(char out[32], int64_t origin)
{
	snprintf(out, 32, "cluster_hw:%lld", (long long)origin);
}

int cluster_high_water(chatdb_t *db, int64_t origin, int64_t *id_out, chat_error_t *err)
{
	char name[32];

	mark_name(name, origin);
	return counters_get(db, name, id_out, NULL, err);
}

int cluster__next_id_in_tx(chatdb_t *db, int64_t node, int64_t seq, int64_t *id_out,
			   chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t clock = 0, id;
	int rc = counters_get(db, CLOCK_NAME, &clock, NULL, err);

	if (rc != CHAT_OK)
		return rc;
	if (clock < seq)
		clock = seq;
	id = clock - clock % CLUSTER_SLOTS + node;
	if (id <= clock)
		id += CLUSTER_SLOTS;
	if ((rc = counters_raise(db, CLOCK_NAME, id, err)) != CHAT_OK ||
	    (rc = chatdb__stmt(db, SQL_REGISTER, &st, err)) != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, seq - 1);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "cluster consumer", err);
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		*id_out = id;
	return rc;
}

/* ---- a post from RabbitMQ ---- */

static _Atomic long long this_node;

void cluster_configure(const chat_options_t *opt)
{
	this_node = cluster_enabled(opt) ? opt->node_id : 0;
}

static const char SQL_TOKEN_PUT[] =
	"INSERT OR REPLACE INTO auth_tokens(hash, user_name, created_ms, expires_ms)"
	" VALUES (?1, ?2, ?3, ?4)";
static const char SQL_TOKEN_DEL[] = "DELETE FROM auth_tokens WHERE hash = ?1";

static const char SQL_PRESENT_ELSEWHERE[] =
	"SELECT count(*) FROM cluster_presence WHERE room = ?1 AND user_name = ?2";
static const char SQL_PRESENT_HERE[] =
	"SELECT count(*) FROM chat_presence WHERE room = ?1 AND user_name = ?2";
static const char SQL_PRESENCE_PUT[] =
	"INSERT OR IGNORE INTO cluster_presence(node, room, user_name) VALUES (?3, ?1, ?2)";
static const char SQL_PRESENCE_DEL[] =
	"DELETE FROM cluster_presence WHERE room = ?1 AND user_name = ?2 AND node = ?3";

/* Runs sql with (room, user[, node]); *n gets its count (a SELECT) or the
 * rows it changed. */
static int presence_sql(chatdb_t *db, const char *sql, const char *room, const char *user,
			int64_t node, int64_t *n, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	*n = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, node);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*n = sqlite3_changes(chatdb_sqlite(db));
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? CHAT_OK
						   : chatdb__error(db, rc, "presence", err);
	sqlite3_reset(st);
	return rc;
}

/* Appends a row the relay forwards (this node's origin, a cluster id:
 * id, or a new one when id is 0; a held post's names its room). */
static int forward_row_id(chatdb_t *db, long long node, const char *dest, chat_slice_t body,
			  int64_t id, const char *room, int64_t *seq, chat_error_t *err)
{
	chat_buf_t hdrs;
	outbox_msg_t om;
	int64_t last = 0;
	char v[24];
	int rc = CHAT_OK;

	chat_buf_init(&hdrs, 256);
	if (id == 0 && ((rc = outbox_last_seq(db, &last, err)) != CHAT_OK ||
			(rc = cluster__next_id_in_tx(db, node, last + 1, &id, err)) != CHAT_OK))
		goto out;
	snprintf(v, sizeof(v), "%lld", node);
	rc = chatrow_hdr_put(&hdrs, CHATROW_H_ORIGIN, v);
	snprintf(v, sizeof(v), "%lld", (long long)id);
	if (rc == CHAT_OK)
		rc = chatrow_hdr_put(&hdrs, CLUSTER_ID_HEADER, v);
	if (rc == CHAT_OK && room != NULL)
		rc = chatrow_hdr_put(&hdrs, CLUSTER_ROOM_HEADER, room);
	if (rc != CHAT_OK) {
		rc = chat_error_set(err, rc, "cluster row headers");
		goto out;
	}
	om = (outbox_msg_t){ dest, NULL, chat_buf_slice(&hdrs), body, chat_wall_ms() };
	rc = outbox_append(db, &om, seq, err);
out:
	chat_buf_free(&hdrs);
	return rc;
}

static int forward_row(chatdb_t *db, long long node, const char *dest, chat_slice_t body,
		       int64_t *seq, chat_error_t *err)
{
	return forward_row_id(db, node, dest, body, 0, NULL, seq, err);
}

static const char SQL_HOLD_PUT[] =
	"INSERT OR IGNORE INTO cluster_hold(id, destination, headers, body) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_HOLD_MIN[] = "SELECT min(id) FROM cluster_hold";
static const char SQL_HOLD_READ[] =
	"SELECT id, destination, headers, body FROM cluster_hold WHERE id <= ?1 ORDER BY id";
static const char SQL_HOLD_DEL[] = "DELETE FROM cluster_hold WHERE id <= ?1";

/* Ends a transaction whose work returned rc: commits it (then *out = n
 * and, when seq_out is not NULL, *seq_out = seq) or rolls it back. */
static int end_tx(chatdb_t *db, int rc, size_t n, size_t *out, int64_t seq, int64_t *seq_out,
		  chat_error_t *err)
{
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc == CHAT_OK) {
		*out = n;
		if (seq_out != NULL)
			*seq_out = seq;
	}
	return rc;
}

/* sql prepared in *st with ?1 = v. */
static int stmt_int(chatdb_t *db, const char *sql, int64_t v, sqlite3_stmt **st, chat_error_t *err)
{
	int rc = chatdb__stmt(db, sql, st, err);

	if (rc == CHAT_OK)
		sqlite3_bind_int64(*st, 1, v);
	return rc;
}

/* Holds back chat post id (its outbox row: dest, headers, body). */
static int hold_put(chatdb_t *db, int64_t id, const char *dest, chat_slice_t headers,
		    chat_slice_t body, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_HOLD_PUT, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, dest, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, headers.len ? headers.ptr : "", (int)headers.len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, body.len ? body.ptr : "", (int)body.len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "held post", err);
	sqlite3_reset(st);
	return rc;
}

int cluster__hold_in_tx(chatdb_t *db, int64_t id, const char *dest, const char *room,
			chat_slice_t headers, chat_slice_t body, int64_t *seq, chat_error_t *err)
{
	long long node = this_node;
	int rc = hold_put(db, id, dest, headers, body, err);

	return rc == CHAT_OK ? forward_row_id(db, node, CLUSTER_POST_DEST, body, id, room, seq, err)
			     : rc;
}

int cluster_held_min(chatdb_t *db, int64_t *id_out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_HOLD_MIN, &st, err);

	*id_out = 0;
	if (rc != CHAT_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id_out = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "held", err);
	sqlite3_reset(st);
	return rc;
}

/* Inside the caller's transaction: the held posts with ids <= upto into
 * the outbox, in id order, and out of the hold. */
static int release_in_tx(chatdb_t *db, int64_t upto, size_t *n, int64_t *seq, chat_error_t *err)
{
	sqlite3_stmt *st, *del;
	int64_t last = 0;
	int rc = stmt_int(db, SQL_HOLD_READ, upto, &st, err);

	if (rc != CHAT_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char dest[CHATDB_DEST_MAX + 1];
		const unsigned char *d = sqlite3_column_text(st, 1);
		outbox_msg_t om;
		int e;

		snprintf(dest, sizeof(dest), "%s", d != NULL ? (const char *)d : "");
		om = (outbox_msg_t){
			dest,
			NULL,
			{ sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2) },
			{ sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3) },
			chat_wall_ms()
		};
		/* The history relay starts before the first chat row. */
		if ((*n == 0 && ((e = outbox_last_seq(db, &last, err)) != CHAT_OK ||
				 (e = relay__register_in_tx(db, last, err)) != CHAT_OK)) ||
		    (e = outbox_append(db, &om, seq, err)) != CHAT_OK) {
			sqlite3_reset(st);
			return e;
		}
		(*n)++;
	}
	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "held posts", err);
	sqlite3_reset(st);
	if (rc != CHAT_OK || (rc = stmt_int(db, SQL_HOLD_DEL, upto, &del, err)) != CHAT_OK)
		return rc;
	rc = sqlite3_step(del);
	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "held posts", err);
	sqlite3_reset(del);
	return rc;
}

int cluster_release(chatdb_t *db, int64_t upto, size_t *released, int64_t *seq_out,
		    chat_error_t *err)
{
	size_t n = 0;
	int64_t seq = 0;
	int rc = chatdb__begin(db, err);

	*released = 0;
	if (rc == CHAT_OK)
		rc = release_in_tx(db, upto, &n, &seq, err);
	return end_tx(db, rc, n, released, seq, seq_out, err);
}

int cluster__presence_in_tx(chatdb_t *db, int entered, const char *user, const char *room,
			    int *announce, int64_t *seq, chat_error_t *err)
{
	long long node = this_node;
	chat_buf_t body;
	int64_t elsewhere = 0;
	int rc;

	*announce = 1;
	if (node == 0)
		return CHAT_OK;
	chat_buf_init(&body, 512);
	rc = presence_sql(db, SQL_PRESENT_ELSEWHERE, room, user, 0, &elsewhere, err);
	if (rc == CHAT_OK && clusterwire_presence_body(&body, entered, room, user) != CHAT_OK)
		rc = chat_error_set(err, CHAT_EINVAL, "presence row");
	if (rc == CHAT_OK)
		rc = forward_row(db, node, CLUSTER_PRESENCE_DEST, chat_buf_slice(&body), seq, err);
	*announce = elsewhere == 0;
	chat_buf_free(&body);
	return rc;
}

/* The end of every cluster__*_in_tx(): body (rc from its writer) as a
 * forwarded row dest. */
static int forward_body(chatdb_t *db, long long node, const char *dest, chat_buf_t *body, int rc,
			const char *what, int64_t *seq, chat_error_t *err)
{
	if (rc != CHAT_OK)
		rc = chat_error_set(err, rc, "%s row", what);
	else
		rc = forward_row(db, node, dest, chat_buf_slice(body), seq, err);
	chat_buf_free(body);
	return rc;
}

int cluster__token_in_tx(chatdb_t *db, int put, const unsigned char *hash, const char *user,
			 int64_t created_ms, int64_t expires_ms, chat_error_t *err)
{
	long long node = this_node;
	chat_buf_t body;

	if (node == 0)
		return CHAT_OK;
	chat_buf_init(&body, 1024);
	return forward_body(db, node, CLUSTER_TOKEN_DEST, &body,
			    clusterwire_token_body(&body, put, hash, user, created_ms, expires_ms),
			    "token", NULL, err);
}

int cluster__room_in_tx(chatdb_t *db, int created, const chatroom_t *room, const char *by,
			int64_t now_ms, chat_error_t *err)
{
	long long node = this_node;
	chat_buf_t body;

	if (node == 0)
		return CHAT_OK;
	chat_buf_init(&body, 1024);
	return forward_body(db, node, CLUSTER_ROOM_DEST, &body,
			    clusterwire_room_body(&body, created, room->name, room->id,
						  created ? room->creator : by,
						  created ? room->created_ms : now_ms),
			    "room", NULL, err);
}

/* Another node's new or deleted room, here too. */
static int apply_room(chatdb_t *db, const clusterwire_msg_t *m, int *added, int64_t *seq,
		      chat_error_t *err)
{
	chatroom_t r;

	if (!m->entered)
		return chatroom__tombstone_in_tx(db, m->room, m->token_user, m->room_created_ms,
						 added, seq, err);
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", m->room);
	snprintf(r.creator, sizeof(r.creator), "%s", m->token_user);
	r.id = m->room_id;
	r.created_ms = m->room_created_ms;
	return chatroom__import_in_tx(db, &r, chat_wall_ms(), added, seq, err);
}

/* Another node's user entering or leaving: recorded, and announced here
 * when this makes the user present (or absent) across the cluster. */
static int apply_presence(chatdb_t *db, const clusterwire_msg_t *m, int *added, int64_t *seq,
			  chat_error_t *err)
{
	char topic[CHATDB_DEST_MAX + 1];
	chat_buf_t hdrs, body;
	outbox_msg_t om;
	int64_t here = 0, elsewhere = 0, changed = 0;
	int rc;

	chat_buf_init(&hdrs, 256);
	chat_buf_init(&body, 1024);
	if ((rc = presence_sql(db, SQL_PRESENT_HERE, m->room, m->token_user, 0, &here, err)) !=
		    CHAT_OK ||
	    (rc = presence_sql(db, SQL_PRESENT_ELSEWHERE, m->room, m->token_user, 0, &elsewhere,
			       err)) != CHAT_OK ||
	    (rc = presence_sql(db, m->entered ? SQL_PRESENCE_PUT : SQL_PRESENCE_DEL, m->room,
			       m->token_user, m->origin, &changed, err)) != CHAT_OK)
		goto out;
	/* Entering: nobody had the user in the room before; leaving: the
	 * origin's was the last presence. */
	if (changed == 0 || here > 0 || (m->entered ? elsewhere > 0 : elsewhere > 1))
		goto out;
	(void)chatroom_topic(topic, CHATROOM_ROOM_PATH, m->room);
	if ((rc = chatmsg_render_notice(&body, m->entered ? "ENTER" : "LEAVE", m->token_user,
					m->room)) != CHAT_OK ||
	    (rc = chatrow_hdr_put(&hdrs, "content-type", "application/json")) != CHAT_OK ||
	    (rc = chatrow_hdr_put(&hdrs, CHATROW_H_KIND, "notice")) != CHAT_OK) {
		rc = chat_error_set(err, rc, "presence notice");
		goto out;
	}
	om = (outbox_msg_t){ topic, NULL, chat_buf_slice(&hdrs), chat_buf_slice(&body),
			     chat_wall_ms() };
	rc = outbox_append(db, &om, seq, err);
	*added = rc == CHAT_OK;
out:
	chat_buf_free(&hdrs);
	chat_buf_free(&body);
	return rc;
}

typedef struct pair {
	char room[CHATMSG_ROOM_MAX + 1];
	char user[CLUSTERWIRE_SENDER_MAX + 1];
} pair_t;

static const char SQL_NODE_PRESENCE[] =
	"SELECT room, user_name FROM cluster_presence WHERE node = ?1";
static const char SQL_LOCAL_PRESENCE[] = "SELECT room, user_name FROM chat_presence WHERE ?1 = ?1";

/* The (room, user) rows of sql with ?1 = node, into *v (malloc'ed). */
static int pairs(chatdb_t *db, const char *sql, int64_t node, pair_t **v, size_t *n,
		 chat_error_t *err)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc = stmt_int(db, sql, node, &st, err);

	*v = NULL;
	*n = 0;
	if (rc != CHAT_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *room = sqlite3_column_text(st, 0);
		const unsigned char *user = sqlite3_column_text(st, 1);

		if (*n == cap) {
			pair_t *w = realloc(*v, (cap = cap ? cap * 2 : 16) * sizeof(**v));

			if (w == NULL) {
				sqlite3_reset(st);
				return chat_error_set(err, CHAT_ENOMEM, "out of memory");
			}
			*v = w;
		}
		snprintf((*v)[*n].room, sizeof((*v)[*n].room), "%s",
			 room ? (const char *)room : "");
		snprintf((*v)[*n].user, sizeof((*v)[*n].user), "%s",
			 user ? (const char *)user : "");
		(*n)++;
	}
	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "presence", err);
	sqlite3_reset(st);
	return rc;
}

/* Runs each() over the rows of sql (node) in one transaction. */
static int each_pair(chatdb_t *db, const char *sql, int64_t node,
		     int (*each)(chatdb_t *, int64_t, const pair_t *, int64_t *, chat_error_t *),
		     size_t *done, int64_t *seq, chat_error_t *err)
{
	pair_t *v = NULL;
	size_t n = 0;
	int64_t last = 0;
	int rc = chatdb__begin(db, err);

	*done = 0;
	if (rc == CHAT_OK)
		rc = pairs(db, sql, node, &v, &n, err);
	for (size_t i = 0; rc == CHAT_OK && i < n; i++)
		rc = each(db, node, &v[i], &last, err);
	rc = end_tx(db, rc, n, done, last, last > 0 ? seq : NULL, err);
	free(v);
	return rc;
}

/* A user of a node gone too long leaves: LEAVE here when present nowhere
 * else (as if the node had sent it). */
static int drop_one(chatdb_t *db, int64_t node, const pair_t *p, int64_t *seq, chat_error_t *err)
{
	clusterwire_msg_t m = { .kind = CLUSTERWIRE_PRESENCE, .origin = node, .entered = 0 };
	int added = 0;

	snprintf(m.room, sizeof(m.room), "%s", p->room);
	snprintf(m.token_user, sizeof(m.token_user), "%s", p->user);
	return apply_presence(db, &m, &added, seq, err);
}

/* A local user announced again to the other nodes (idempotent there). */
static int announce_one(chatdb_t *db, int64_t node, const pair_t *p, int64_t *seq,
			chat_error_t *err)
{
	int announce = 0;

	(void)node;
	return cluster__presence_in_tx(db, 1, p->user, p->room, &announce, seq, err);
}

int cluster_drop_node(chatdb_t *db, int64_t node, size_t *dropped, int64_t *seq, chat_error_t *err)
{
	return each_pair(db, SQL_NODE_PRESENCE, node, drop_one, dropped, seq, err);
}

int cluster_announce_local(chatdb_t *db, size_t *announced, int64_t *seq, chat_error_t *err)
{
	return each_pair(db, SQL_LOCAL_PRESENCE, 0, announce_one, announced, seq, err);
}

/* Another node's token issue or revocation, into auth_tokens. */
static int apply_token(chatdb_t *db, const clusterwire_msg_t *m, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, m->token_put ? SQL_TOKEN_PUT : SQL_TOKEN_DEL, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_blob(st, 1, m->token_hash, sizeof(m->token_hash), SQLITE_STATIC);
	if (m->token_put) {
		sqlite3_bind_text(st, 2, m->token_user, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, m->token_created_ms);
		sqlite3_bind_int64(st, 4, m->token_expires_ms);
	}
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? CHAT_OK : chatdb__error(db, rc, "token", err);
	sqlite3_reset(st);
	return rc;
}

/* The room m names, added from m when chat.db lacks it. */
static int ensure_room(chatdb_t *db, const clusterwire_msg_t *m, int *found, chat_error_t *err)
{
	chatroom_t r;
	int rc = chatroom_get_any(db, m->room, &r, err);

	*found = rc == CHAT_OK;
	if (rc != CHAT_ENOTFOUND)
		return rc;
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", m->room);
	r.id = m->room_id;
	r.created_ms = m->room_created_ms;
	if ((rc = chatroom_import(db, &r, err)) != CHAT_OK)
		return rc;
	rc = chatroom_get_any(db, m->room, &r, err);
	*found = rc == CHAT_OK;
	return rc == CHAT_ENOTFOUND ? CHAT_OK : rc;
}

/* Copies slice v (at most max bytes) NUL-terminated into out. */
static void copy_slice(char *out, size_t max, chat_slice_t v)
{
	size_t n = v.len < max ? v.len : max;

	if (n > 0)
		memcpy(out, v.ptr, n);
	out[n] = '\0';
}

/* Appends a user message of another node as the origin's broker did
 * (content-type, sender), with its origin and id. */
static int import_user(chatdb_t *db, const clusterwire_msg_t *m, const char *origin,
		       chat_buf_t *hdrs, int64_t *seq, chat_error_t *err)
{
	char dest[CLUSTERWIRE_DEST_MAX + 1], ctype[STOMP_MEDIA_TYPE_MAX + 1];
	char who[CLUSTERWIRE_SENDER_MAX + 1], id[24];
	outbox_msg_t om;
	int rc = CHAT_OK;

	copy_slice(dest, CLUSTERWIRE_DEST_MAX, m->dest);
	copy_slice(ctype, STOMP_MEDIA_TYPE_MAX, m->ctype);
	copy_slice(who, CLUSTERWIRE_SENDER_MAX, m->sender);
	snprintf(id, sizeof(id), "%lld", (long long)m->id);
	if (ctype[0] != '\0')
		rc = chatrow_hdr_put(hdrs, "content-type", ctype);
	if (rc == CHAT_OK && who[0] != '\0')
		rc = chatrow_hdr_put(hdrs, DELIVERY_H_SENDER, who);
	if (rc == CHAT_OK)
		rc = chatrow_hdr_put(hdrs, CHATROW_H_ORIGIN, origin);
	if (rc == CHAT_OK)
		rc = chatrow_hdr_put(hdrs, CLUSTER_ID_HEADER, id);
	if (rc != CHAT_OK)
		return chat_error_set(err, rc, "user message headers");
	om = (outbox_msg_t){ dest, NULL, chat_buf_slice(hdrs), m->body, chat_wall_ms() };
	return outbox_append(db, &om, seq, err);
}

/* Inside the caller's transaction: cluster_import() for one message. */
static int import_in_tx(chatdb_t *db, const clusterwire_msg_t *m, chat_buf_t *hdrs, int *added,
			int64_t *seq, chat_error_t *err)
{
	char mark[32], topic[CHATDB_DEST_MAX + 1], origin[24];
	int64_t hw = 0;
	int rc, found = 0;

	chat_buf_reset(hdrs);
	mark_name(mark, m->origin);
	snprintf(origin, sizeof(origin), "%lld", (long long)m->origin);
	(void)chatroom_topic(topic, CHATROOM_ROOM_PATH, m->room);
	if ((rc = counters_get(db, mark, &hw, NULL, err)) != CHAT_OK || m->id <= hw)
		return rc;
	if (m->kind == CLUSTERWIRE_TOKEN) {
		rc = apply_token(db, m, err);
	} else if (m->kind == CLUSTERWIRE_PRESENCE) {
		rc = apply_presence(db, m, added, seq, err);
	} else if (m->kind == CLUSTERWIRE_ROOM) {
		rc = apply_room(db, m, added, seq, err);
	} else if (m->kind == CLUSTERWIRE_USER || m->kind == CLUSTERWIRE_TOPIC) {
		rc = import_user(db, m, origin, hdrs, seq, err);
		*added = rc == CHAT_OK;
	} else if ((rc = ensure_room(db, m, &found, err)) != CHAT_OK) {
		return rc;
	} else if (!found) {
		/* The name is taken here by a room the origin does not know:
		 * the post cannot be shown in it. */
		log_warn("cluster: post %lld of node %lld is for room %s, which this node"
			 " cannot add; skipped",
			 (long long)m->id, (long long)m->origin, m->room);
	} else if ((rc = chatrow_hdr_put(hdrs, "content-type", "application/json")) == CHAT_OK &&
		   (rc = chatrow_hdr_put(hdrs, CHATROW_H_KIND, CHATROW_KIND_MSG)) == CHAT_OK &&
		   (rc = chatrow_hdr_put(hdrs, CHATROW_H_ORIGIN, origin)) == CHAT_OK) {
		/* Held back until no node can send a smaller id (the relay
		 * releases it into the outbox). */
		rc = hold_put(db, m->id, topic, chat_buf_slice(hdrs), m->body, err);
		*added = rc == CHAT_OK;
	}
	if (rc == CHAT_OK)
		rc = counters_raise(db, mark, m->id, err);
	if (rc == CHAT_OK)
		rc = counters_raise(db, CLOCK_NAME, m->id, err);
	return rc;
}

int cluster_import_batch(chatdb_t *db, int64_t self, const clusterwire_msg_t *v, size_t n,
			 size_t *added, int64_t *seq_out, chat_error_t *err)
{
	chat_buf_t hdrs;
	int64_t seq = 0;
	size_t k = 0;
	int rc;

	*added = 0;
	chat_buf_init(&hdrs, 1024);
	rc = chatdb__begin(db, err);
	for (size_t i = 0; rc == CHAT_OK && i < n; i++) {
		int one = 0;

		if (v[i].origin == self || v[i].kind == CLUSTERWIRE_CLOCK)
			continue; /* this node's own, back from RabbitMQ; a beacon */
		rc = import_in_tx(db, &v[i], &hdrs, &one, &seq, err);
		k += (size_t)one;
	}
	rc = end_tx(db, rc, k, added, seq, seq_out, err);
	chat_buf_free(&hdrs);
	return rc;
}

int cluster_import(chatdb_t *db, int64_t self, const clusterwire_msg_t *m, int *added,
		   int64_t *seq_out, chat_error_t *err)
{
	size_t k = 0;
	int rc = cluster_import_batch(db, self, m, 1, &k, seq_out, err);

	*added = k > 0;
	return rc;
}

/* ---- the relay thread ---- */

typedef struct fwd {
	int64_t seq;
	int64_t id;
	clusterwire_kind_t kind;                 /* a post, a /user message or a token */
	char room[CHATMSG_ROOM_MAX + 1];         /* a post's room */
	char dest[CLUSTERWIRE_DEST_MAX + 1];     /* a user message's destination */
	char ctype[STOMP_MEDIA_TYPE_MAX + 1];    /* its content-type, or "" */
	char sender[CLUSTERWIRE_SENDER_MAX + 1]; /* its sender, or "" */
	char *body;
	size_t len;
} fwd_t;

typedef struct relay_state {
	const chat_options_t *opt;
	doorbell_t *bell;
	clusterwire_url_t url;
	chatdb_t *db;
	char owner[64];
	int fd;
	stomp_parser_t parser;
	chat_buf_t out; /* frames to write */
	chat_buf_t room, writer, text;
	int64_t cursor;      /* forwarded up to (the consumer's cursor) */
	int64_t batch_last;  /* the seq the batch in flight moves the cursor to */
	size_t receipts_due; /* RECEIPTs of the batch in flight still to come */
	int64_t batch_sent_ms;
	int64_t backoff, retry_at, lease_at;
	int64_t rx_ms, tx_ms; /* when RabbitMQ last sent a byte, when we last wrote */
	/* The hold-back (see "One order"): per node, the highest id or clock
	 * taken from it and when it was last heard (monotonic ms; 0: never). */
	int64_t known[CLUSTER_SLOTS], heard[CLUSTER_SLOTS];
	int64_t batch_clock;             /* the clock the batch in flight covers (0: not all) */
	int64_t safe_clock;              /* everything of ours with an id <= it is confirmed */
	int64_t beacon_clock, beacon_ms; /* the last beacon sent, and when */
	int64_t need_clock;              /* the highest id taken from others (a beacon is due) */
	int dropped[CLUSTER_SLOTS];      /* the node's presence was dropped (gone too long) */
	int holder, was_down;
	int wake[2]; /* the bell thread writes a byte when the outbox moves */
	pthread_t thread, bell_thread;
	int bell_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, stopping; /* under mu */
} relay_state_t;

static relay_state_t rs = { .fd = -1,
			    .wake = { -1, -1 },
			    .mu = PTHREAD_MUTEX_INITIALIZER,
			    .cv = PTHREAD_COND_INITIALIZER };

static int running(relay_state_t *r)
{
	int go;

	pthread_mutex_lock(&r->mu);
	go = !r->stopping;
	pthread_mutex_unlock(&r->mu);
	return go;
}

static void nap(relay_state_t *r, int64_t ms)
{
	struct timespec until;

	chat_deadline(CLOCK_REALTIME, ms, &until);
	pthread_mutex_lock(&r->mu);
	while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
		;
	pthread_mutex_unlock(&r->mu);
}

static void disconnect(relay_state_t *r, const char *why)
{
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	stomp_parser_free(&r->parser);
	chat_buf_reset(&r->out);
	/* What was in flight is sent again from the cursor. */
	r->receipts_due = 0;
	r->batch_last = 0;
	if (why != NULL) {
		if (!r->was_down)
			log_warn("cluster: RabbitMQ at %s:%d: %s; local chat goes on, posts wait in"
				 " chat.db",
				 r->url.host, r->url.port, why);
		r->was_down = 1;
		r->backoff = r->backoff ? (r->backoff * 2 > 5000 ? 5000 : r->backoff * 2) : 200;
		r->retry_at = chat_mono_ms() + r->backoff;
	}
}

static int write_all(relay_state_t *r)
{
	size_t off = 0;

	while (off < r->out.len) {
		ssize_t n = send(r->fd, r->out.data + off, r->out.len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CHAT_EIO;
		off += (size_t)n;
		r->tx_ms = chat_mono_ms();
	}
	chat_buf_reset(&r->out);
	return CHAT_OK;
}

static int put_frame(relay_state_t *r, stomp_command_t cmd, const stomp_header_t *h, size_t n,
		     const void *body, size_t len)
{
	return stomp_serialize(&r->out, STOMP_V1_2, cmd, h, n, body, len);
}

#define H(name, value)                         \
	{                                      \
		CHAT_SLICE(name),              \
		{                              \
			(value), strlen(value) \
		}                              \
	}

/* Reads one frame within timeout_ms: CHAT_OK with *f, CHAT_ETIMEDOUT,
 * or an error (the connection is to be dropped). */
static int read_frame(relay_state_t *r, int timeout_ms, stomp_frame_t *f, char *buf, size_t cap,
		      size_t *have, size_t *pos)
{
	for (;;) {
		struct pollfd pfd[2] = { { r->fd, POLLIN, 0 }, { -1, POLLIN, 0 } };
		size_t used = 0;
		ssize_t n;
		int rc;

		if (*pos < *have) {
			rc = stomp_parser_feed(&r->parser, buf + *pos, *have - *pos, &used, f);
			*pos += used;
			if (rc == CHAT_OK)
				return CHAT_OK;
			if (rc != CHAT_EAGAIN)
				return rc;
		}
		*pos = *have = 0;
		pfd[1].fd = timeout_ms > 0 ? r->wake[0] : -1;
		rc = poll(pfd, 2, timeout_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return CHAT_EIO;
		if (rc > 0 && (pfd[1].revents & POLLIN)) {
			char drain[64];

			/* The outbox moved: the caller looks at it now. */
			while (read(r->wake[0], drain, sizeof(drain)) > 0)
				;
			if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
				return CHAT_ETIMEDOUT;
		}
		if (rc == 0)
			return CHAT_ETIMEDOUT;
		n = recv(r->fd, buf, cap, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return CHAT_ECLOSED;
		*have = (size_t)n;
		r->rx_ms = chat_mono_ms();
		timeout_ms = 0; /* what is buffered is read now; then no wait */
	}
}

static char rbuf[65536];
static size_t rhave, rpos;

static int connect_broker(relay_state_t *r)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct timeval tv = { 5, 0 };
	stomp_limits_t lim = { CLUSTER_FRAME_MAX, 64, 8192 };
	stomp_frame_t f;
	char port[8], qname[64], node[16];
	int rc, one = 1;

	snprintf(port, sizeof(port), "%d", r->url.port);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(r->url.host, port, &hints, &ai) != 0 || ai == NULL) {
		disconnect(r, "cannot resolve the host");
		return CHAT_EIO;
	}
	r->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->fd >= 0) {
		(void)setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	rc = r->fd >= 0 && connect(r->fd, ai->ai_addr, ai->ai_addrlen) == 0 ? CHAT_OK : CHAT_EIO;
	freeaddrinfo(ai);
	if (rc != CHAT_OK) {
		disconnect(r, strerror(errno));
		return rc;
	}
	if (stomp_parser_init(&r->parser, &lim) != CHAT_OK) {
		disconnect(r, "out of memory");
		return CHAT_ENOMEM;
	}
	rhave = rpos = 0;
	{
		stomp_header_t h[] = { H("accept-version", "1.2"), H("host", r->url.vhost),
				       H("login", r->url.user), H("passcode", r->url.pass),
				       H("heart-beat", CLUSTER_HEARTBEAT) };

		rc = put_frame(r, STOMP_CMD_CONNECT, h, 5, NULL, 0);
	}
	if (rc == CHAT_OK)
		rc = write_all(r);
	if (rc == CHAT_OK)
		rc = read_frame(r, 5000, &f, rbuf, sizeof(rbuf), &rhave, &rpos);
	if (rc != CHAT_OK || f.command != STOMP_CMD_CONNECTED) {
		const chat_slice_t *msg = rc == CHAT_OK ? stomp_frame_header(&f, "message") : NULL;
		char why[160];

		snprintf(why, sizeof(why), "CONNECT refused: %.*s", msg ? (int)msg->len : 20,
			 msg ? msg->ptr : "no CONNECTED frame");
		disconnect(r, why);
		return CHAT_EPROTO;
	}
	stomp_parser_set_version(&r->parser, STOMP_V1_2);
	snprintf(qname, sizeof(qname), "chat-node-%lld", (long long)r->opt->node_id);
	snprintf(node, sizeof(node), "%d", CLUSTER_BATCH);
	{
		stomp_header_t h[] = { H("destination", CLUSTER_TOPIC), H("id", "cluster"),
				       H("ack", "client-individual"),   H("durable", "true"),
				       H("auto-delete", "false"),       H("x-queue-name", qname),
				       H("prefetch-count", node) };

		rc = put_frame(r, STOMP_CMD_SUBSCRIBE, h, 7, NULL, 0);
	}
	if (rc == CHAT_OK)
		rc = write_all(r);
	if (rc != CHAT_OK) {
		disconnect(r, "cannot subscribe");
		return rc;
	}
	r->rx_ms = r->tx_ms = chat_mono_ms();
	if (r->was_down)
		log_info("cluster: RabbitMQ at %s:%d is back: forwarding what waited", r->url.host,
			 r->url.port);
	else
		log_info("cluster: node %lld relays through RabbitMQ at %s:%d (queue %s)",
			 (long long)r->opt->node_id, r->url.host, r->url.port, qname);
	r->was_down = 0;
	r->backoff = 0;
	return CHAT_OK;
}

typedef struct collect {
	relay_state_t *r;
	fwd_t *v;
	size_t n;
	int64_t last;
} collect_t;

/* A user message of this node: its id from CLUSTER_ID_HEADER. */
static int take_user(const outbox_row_t *row, fwd_t *x)
{
	chat_slice_t v;
	char *e;

	if (!chatrow_hdr_get(row->headers, CLUSTER_ID_HEADER, &v) ||
	    row->destination.len > CLUSTERWIRE_DEST_MAX)
		return 0;
	x->id = strtoll(v.ptr, &e, 10);
	if (*e != '\0' || x->id <= 0)
		return 0;
	x->kind = strcmp(row->destination.ptr, CLUSTER_TOKEN_DEST) == 0      ? CLUSTERWIRE_TOKEN
		  : strcmp(row->destination.ptr, CLUSTER_PRESENCE_DEST) == 0 ? CLUSTERWIRE_PRESENCE
		  : strcmp(row->destination.ptr, CLUSTER_ROOM_DEST) == 0     ? CLUSTERWIRE_ROOM
		  : dest_classify(row->destination) == DEST_TOPIC            ? CLUSTERWIRE_TOPIC
									     : CLUSTERWIRE_USER;
	copy_slice(x->dest, CLUSTERWIRE_DEST_MAX, row->destination);
	if (chatrow_hdr_get(row->headers, "content-type", &v))
		copy_slice(x->ctype, STOMP_MEDIA_TYPE_MAX, v);
	if (chatrow_hdr_get(row->headers, DELIVERY_H_SENDER, &v))
		copy_slice(x->sender, CLUSTERWIRE_SENDER_MAX, v);
	return 1;
}

static int take_row(void *ctx, const outbox_row_t *row)
{
	collect_t *c = ctx;
	chat_slice_t kind, origin;
	fwd_t *x = &c->v[c->n];
	char self[24];

	c->last = row->seq;
	snprintf(self, sizeof(self), "%lld", (long long)c->r->opt->node_id);
	if (row->target_session.ptr != NULL ||
	    !chatrow_hdr_get(row->headers, CHATROW_H_ORIGIN, &origin) ||
	    !chat_slice_eq(origin, self))
		return 0;
	memset(x, 0, sizeof(*x));
	if (chatrow_hdr_get(row->headers, CHATROW_H_KIND, &kind) &&
	    chat_slice_eq(kind, CHATROW_KIND_MSG)) {
		return 0; /* a post released from the hold: its row went before */
	} else if (strcmp(row->destination.ptr, CLUSTER_POST_DEST) == 0) {
		/* A held post of ours (cluster__hold_in_tx()). */
		if (!take_user(row, x) ||
		    !chatrow_hdr_get(row->headers, CLUSTER_ROOM_HEADER, &kind))
			return 0;
		x->kind = CLUSTERWIRE_POST;
		copy_slice(x->room, CHATMSG_ROOM_MAX, kind);
	} else if (!take_user(row, x)) {
		return 0;
	}
	x->body = malloc(row->body.len + 1);
	if (x->body == NULL)
		return CHAT_ENOMEM;
	memcpy(x->body, row->body.ptr, row->body.len);
	x->len = row->body.len;
	x->seq = row->seq;
	c->n++;
	return 0;
}

/* Appends the SEND of user message x. */
static int put_user(relay_state_t *r, const fwd_t *x, const char *origin, const char *id,
		    const char *receipt)
{
	stomp_header_t h[9] = { H("destination", CLUSTER_TOPIC),
				H("persistent", "true"),
				H("chat-kind", x->kind == CLUSTERWIRE_TOKEN      ? "token"
					       : x->kind == CLUSTERWIRE_PRESENCE ? "presence"
					       : x->kind == CLUSTERWIRE_ROOM     ? "room"
					       : x->kind == CLUSTERWIRE_TOPIC    ? "topic"
										 : "user"),
				H("chat-origin", origin),
				H("chat-id", id),
				H("receipt", receipt),
				H("chat-dest", x->dest) };
	/* Only a user or topic message's SEND carries more than its body. */
	size_t n = x->kind == CLUSTERWIRE_USER || x->kind == CLUSTERWIRE_TOPIC ? 7 : 6;

	if (x->ctype[0] != '\0')
		h[n++] = (stomp_header_t)H("chat-ctype", x->ctype);
	if (x->sender[0] != '\0')
		h[n++] = (stomp_header_t)H("chat-sender", x->sender);
	return put_frame(r, STOMP_CMD_SEND, h, n, x->body, x->len);
}

/* Sends the next batch of local posts after the cursor (when none is in
 * flight). */
static int forward(relay_state_t *r, int64_t now)
{
	collect_t c = { r, NULL, 0, 0 };
	chat_error_t err = { 0 };
	int64_t last_seq = 0, clock = 0;
	chatroom_t room;
	int rc;

	if (r->receipts_due > 0) {
		if (now - r->batch_sent_ms > 10000) {
			disconnect(r, "no RECEIPT for 10 s");
			return CHAT_ETIMEDOUT;
		}
		return CHAT_OK;
	}
	/* The clock first, then the last seq: a row of ours with an id <= the
	 * clock was committed before, so is at or below that seq. */
	if ((rc = counters_get(r->db, CLOCK_NAME, &clock, NULL, &err)) != CHAT_OK ||
	    (rc = outbox_last_seq(r->db, &last_seq, &err)) != CHAT_OK)
		return rc;
	if (last_seq <= r->cursor) {
		r->safe_clock = clock;
		return CHAT_OK;
	}
	c.last = r->cursor;
	c.v = calloc(CLUSTER_BATCH, sizeof(*c.v));
	if (c.v == NULL)
		return CHAT_ENOMEM;
	rc = outbox_read_after(r->db, r->cursor, CLUSTER_BATCH, take_row, &c, NULL, &err);
	for (size_t i = 0; rc == CHAT_OK && i < c.n; i++) {
		fwd_t *x = &c.v[i];
		char origin[24], id[24], rid[24], created[24], receipt[32];

		snprintf(origin, sizeof(origin), "%lld", (long long)r->opt->node_id);
		snprintf(id, sizeof(id), "%lld", (long long)x->id);
		snprintf(receipt, sizeof(receipt), "s%lld", (long long)x->seq);
		if (x->kind != CLUSTERWIRE_POST) {
			if ((rc = put_user(r, x, origin, id, receipt)) == CHAT_OK)
				r->receipts_due++;
			continue;
		}
		if (chatroom_get_any(r->db, x->room, &room, &err) != CHAT_OK)
			memset(&room, 0, sizeof(room));
		if (room.id <= 0)
			continue; /* cannot happen: room rows stay */
		snprintf(rid, sizeof(rid), "%lld", (long long)room.id);
		snprintf(created, sizeof(created), "%lld", (long long)room.created_ms);
		{
			stomp_header_t h[] = { H("destination", CLUSTER_TOPIC),
					       H("persistent", "true"),
					       H("content-type", "application/json"),
					       H("chat-origin", origin),
					       H("chat-id", id),
					       H("chat-room", x->room),
					       H("chat-room-id", rid),
					       H("chat-room-created", created),
					       H("receipt", receipt) };

			rc = put_frame(r, STOMP_CMD_SEND, h, 9, x->body, x->len);
		}
		if (rc == CHAT_OK)
			r->receipts_due++;
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].body);
	free(c.v);
	if (rc != CHAT_OK) {
		chat_buf_reset(&r->out);
		r->receipts_due = 0;
		log_warn("cluster: reading posts to forward: %s", chat_error_reason(&err, rc));
		return rc;
	}
	if (r->receipts_due == 0) {
		/* Nothing of this node's to send in these rows. */
		if (c.last > r->cursor && (rc = outbox_consumer_advance(r->db, CLUSTER_CONSUMER,
									c.last, &err)) == CHAT_OK)
			r->cursor = c.last;
		if (rc == CHAT_OK && r->cursor >= last_seq)
			r->safe_clock = clock;
		return rc;
	}
	r->batch_clock = c.last >= last_seq ? clock : 0;
	r->batch_last = c.last;
	r->batch_sent_ms = now;
	if (write_all(r) != CHAT_OK) {
		disconnect(r, "the connection broke while sending");
		return CHAT_EIO;
	}
	return CHAT_OK;
}

/* A MESSAGE taken from RabbitMQ and not yet committed: its fields,
 * copied out of the parser into one allocation. */
typedef struct pending {
	clusterwire_msg_t m;
	char *mem;
} pending_t;

static pending_t pend[CLUSTER_BATCH];
static size_t npend;

static chat_slice_t keep(char **at, chat_slice_t v)
{
	chat_slice_t out = { *at, v.len };

	if (v.len > 0)
		memcpy(*at, v.ptr, v.len);
	(*at)[v.len] = '\0';
	*at += v.len + 1;
	return out;
}

static int hold(const clusterwire_msg_t *m)
{
	pending_t *p = &pend[npend];
	char *at;

	p->mem = malloc(m->body.len + m->ack.len + m->dest.len + m->ctype.len + m->sender.len + 5);
	if (p->mem == NULL)
		return CHAT_ENOMEM;
	p->m = *m;
	at = p->mem;
	p->m.body = keep(&at, m->body);
	p->m.ack = keep(&at, m->ack);
	p->m.dest = keep(&at, m->dest);
	p->m.ctype = keep(&at, m->ctype);
	p->m.sender = keep(&at, m->sender);
	npend++;
	return CHAT_OK;
}

/* Forgets the held messages (the connection broke: RabbitMQ redelivers). */
static void drop_held(void)
{
	for (size_t i = 0; i < npend; i++)
		free(pend[i].mem);
	npend = 0;
}

static int ack(relay_state_t *r, chat_slice_t id)
{
	stomp_header_t h[] = { { CHAT_SLICE("id"), id } };

	return put_frame(r, STOMP_CMD_ACK, h, 1, NULL, 0);
}

/* Commits the held messages in one transaction, rings the doorbell, and
 * queues their ACKs; on failure nothing is acked (RabbitMQ redelivers
 * them after the reconnect). */
static void flush(relay_state_t *r)
{
	static clusterwire_msg_t v[CLUSTER_BATCH];
	chat_error_t err = { 0 };
	int64_t seq = 0;
	size_t added = 0, i;
	int rc;

	if (npend == 0)
		return;
	for (i = 0; i < npend; i++)
		v[i] = pend[i].m;
	rc = cluster_import_batch(r->db, r->opt->node_id, v, npend, &added, &seq, &err);
	if (rc != CHAT_OK) {
		log_warn("cluster: cannot add %zu posts of other nodes: %s", npend,
			 chat_error_reason(&err, rc));
		disconnect(r, NULL);
		r->retry_at = chat_mono_ms() + 1000;
	} else {
		int64_t mono = chat_mono_ms();

		if (seq > 0 && r->bell != NULL)
			doorbell_ring(r->bell, (uint64_t)seq);
		/* Committed: what each node has sent up to (its messages come
		 * in its id order). */
		for (i = 0; i < npend; i++) {
			const clusterwire_msg_t *m = &pend[i].m;

			if (m->origin == r->opt->node_id || m->origin <= 0)
				continue;
			r->heard[m->origin] = mono;
			r->dropped[m->origin] = 0;
			if (m->id > r->known[m->origin])
				r->known[m->origin] = m->id;
			if (m->kind != CLUSTERWIRE_CLOCK && m->id > r->need_clock)
				r->need_clock = m->id;
		}
		for (i = 0; i < npend && rc == CHAT_OK; i++)
			rc = ack(r, pend[i].m.ack);
	}
	drop_held();
}

static int on_message(relay_state_t *r, const stomp_frame_t *f)
{
	clusterwire_msg_t m;
	int rc = clusterwire_parse_message(f, &m, &r->room, &r->writer, &r->text);

	if (rc == CHAT_EPROTO && m.ack.len == 0) {
		disconnect(r, "a MESSAGE without an ack header");
		return rc;
	}
	if (rc != CHAT_OK) {
		/* Not a post of ours: dropped (acked) so it cannot block the queue. */
		log_warn("cluster: dropped a malformed message from RabbitMQ (%s)",
			 chat_strerror(rc));
		return ack(r, m.ack);
	}
	if (npend == CLUSTER_BATCH)
		flush(r);
	return r->fd >= 0 ? hold(&m) : CHAT_ECLOSED;
}

static int on_frame(relay_state_t *r, const stomp_frame_t *f)
{
	const chat_slice_t *h;
	chat_error_t err = { 0 };

	switch (f->command) {
	case STOMP_CMD_MESSAGE: return on_message(r, f);
	case STOMP_CMD_RECEIPT:
		h = stomp_frame_header(f, "receipt-id");
		if (h == NULL || h->len < 2 || h->ptr[0] != 's' || r->receipts_due == 0)
			return CHAT_OK;
		if (--r->receipts_due == 0) {
			int rc = outbox_consumer_advance(r->db, CLUSTER_CONSUMER, r->batch_last,
							 &err);

			if (rc != CHAT_OK) {
				log_warn("cluster: moving the forwarding cursor: %s",
					 chat_error_reason(&err, rc));
				return rc;
			}
			r->cursor = r->batch_last;
			if (r->batch_clock > r->safe_clock)
				r->safe_clock = r->batch_clock;
		}
		return CHAT_OK;
	case STOMP_CMD_ERROR: {
		char why[200];

		h = stomp_frame_header(f, "message");
		snprintf(why, sizeof(why), "ERROR from RabbitMQ: %.*s", h ? (int)h->len : 0,
			 h ? h->ptr : "");
		disconnect(r, why);
		return CHAT_EPROTO;
	}
	default: return CHAT_OK;
	}
}

/* Reads and handles what RabbitMQ sent, waiting at most wait_ms. */
static void pump(relay_state_t *r, int wait_ms)
{
	stomp_frame_t f;
	int rc, frames = 0;

	for (;;) {
		rc = read_frame(r, frames == 0 ? wait_ms : 0, &f, rbuf, sizeof(rbuf), &rhave,
				&rpos);
		if (rc == CHAT_ETIMEDOUT)
			break;
		if (rc != CHAT_OK) {
			disconnect(r, rc == CHAT_ECLOSED ? "it closed the connection"
							 : "a bad frame or a broken connection");
			return;
		}
		frames++;
		if (on_frame(r, &f) != CHAT_OK || r->fd < 0)
			break;
		if (frames >= CLUSTER_BATCH)
			break;
	}
	if (r->fd >= 0)
		flush(r);
	else
		drop_held();
	if (r->fd >= 0 && r->out.len > 0 && write_all(r) != CHAT_OK)
		disconnect(r, "the connection broke while acking");
}

/* A clock beacon (non-persistent, on the posts' routing key, so after
 * every post sent before it): everything of ours with an id <= safe_clock
 * is confirmed.  Sent once something taken in raised the clock (the
 * sender can then release its posts), and every second (liveness). */
static int beacon(relay_state_t *r, int64_t now)
{
	char origin[24], id[24];
	int rc;

	if (r->safe_clock <= 0 || (now - r->beacon_ms < 1000 && (r->need_clock <= r->beacon_clock ||
								 r->safe_clock < r->need_clock)))
		return CHAT_OK;
	snprintf(origin, sizeof(origin), "%lld", (long long)r->opt->node_id);
	snprintf(id, sizeof(id), "%lld", (long long)r->safe_clock);
	{
		stomp_header_t h[] = { H("destination", CLUSTER_TOPIC), H("persistent", "false"),
				       H("chat-kind", "clock"), H("chat-origin", origin),
				       H("chat-id", id) };

		rc = put_frame(r, STOMP_CMD_SEND, h, 5, NULL, 0);
	}
	if (rc == CHAT_OK && (rc = write_all(r)) != CHAT_OK)
		disconnect(r, "the connection broke while sending a beacon");
	if (rc == CHAT_OK) {
		r->beacon_clock = r->safe_clock;
		r->beacon_ms = now;
	}
	return rc;
}

/* The largest id no node can still send a smaller one than: the least of
 * what each other live node (heard within cluster_node_timeout_ms) has
 * sent up to; unbounded while this node is cut off from RabbitMQ or
 * alone.  This node's own later posts get larger ids (its clock is at or
 * above every id it holds). */
static int64_t stable(const relay_state_t *r, int64_t now)
{
	int64_t s = INT64_MAX;

	if (r->fd < 0)
		return s;
	for (int n = 1; n < CLUSTER_SLOTS; n++)
		if (n != r->opt->node_id && r->heard[n] > 0 &&
		    now - r->heard[n] < r->opt->cluster_node_timeout_ms && r->known[n] < s)
			s = r->known[n];
	return s;
}

/* Releases the held posts that are stable, in id order, and rings the
 * doorbell. */
static void release(relay_state_t *r, int64_t now)
{
	chat_error_t err = { 0 };
	int64_t lo = 0, upto = stable(r, now), seq = 0;
	size_t n = 0;
	int rc = cluster_held_min(r->db, &lo, &err);

	if (rc != CHAT_OK || lo == 0 || lo > upto)
		return;
	rc = cluster_release(r->db, upto, &n, &seq, &err);
	if (rc != CHAT_OK)
		log_warn("cluster: releasing held posts: %s", chat_error_reason(&err, rc));
	else if (n > 0 && r->bell != NULL)
		doorbell_ring(r->bell, (uint64_t)seq);
}

/* Nodes not heard for cluster_presence_timeout_ms lose their presence
 * here (LEAVE for users present nowhere else); they announce it again
 * when they reconnect.  Only while connected (a node cut off hears
 * nobody). */
static void drop_gone(relay_state_t *r, int64_t now)
{
	chat_error_t err = { 0 };
	int64_t seq = 0;
	size_t n = 0;

	for (int k = 1; r->fd >= 0 && k < CLUSTER_SLOTS; k++) {
		int rc;

		if (k == r->opt->node_id || r->heard[k] == 0 || r->dropped[k] ||
		    now - r->heard[k] < r->opt->cluster_presence_timeout_ms)
			continue;
		rc = cluster_drop_node(r->db, k, &n, &seq, &err);
		if (rc != CHAT_OK) {
			log_warn("cluster: dropping node %d's presence: %s", k,
				 chat_error_reason(&err, rc));
			continue;
		}
		r->dropped[k] = 1;
		log_info("cluster: node %d not heard for %lld ms: its %zu presences dropped", k,
			 (long long)(now - r->heard[k]), n);
		if (seq > 0 && r->bell != NULL)
			doorbell_ring(r->bell, (uint64_t)seq);
	}
}

/* Waits up to ms for the doorbell (or cluster_stop()). */
static void wait_bell(relay_state_t *r, int64_t ms)
{
	struct pollfd p = { r->wake[0], POLLIN, 0 };
	char drain[64];

	if (r->wake[0] < 0) {
		nap(r, ms < 20 ? ms : 20);
		return;
	}
	if (poll(&p, 1, (int)(ms < 1000 ? ms : 1000)) > 0)
		while (read(r->wake[0], drain, sizeof(drain)) > 0)
			;
}

/* Just (re)connected: this node's presence is announced again (another
 * node may have dropped it), and time cut off does not count against the
 * others (they are not live, but not gone either, until heard again or
 * timed out afresh). */
static void connected(relay_state_t *r, int64_t now)
{
	chat_error_t err = { 0 };
	int64_t seq = 0;
	size_t n = 0;
	int rc = cluster_announce_local(r->db, &n, &seq, &err);

	if (rc != CHAT_OK)
		log_warn("cluster: announcing this node's presence: %s",
			 chat_error_reason(&err, rc));
	else if (seq > 0 && r->bell != NULL)
		doorbell_ring(r->bell, (uint64_t)seq);
	for (int k = 1; k < CLUSTER_SLOTS; k++)
		if (r->heard[k] > 0 && r->heard[k] < now - r->opt->cluster_node_timeout_ms)
			r->heard[k] = now - r->opt->cluster_node_timeout_ms;
}

static int hold_lease(relay_state_t *r, int64_t mono)
{
	chat_error_t err = { 0 };
	int rc;

	if (r->holder && mono - r->lease_at < 1000)
		return 1;
	rc = relay_lease(r->db, CLUSTER_LEASE, r->owner, chat_wall_ms(), CLUSTER_LEASE_MS, &err);
	if (rc == CHAT_OK) {
		if (!r->holder) {
			int64_t c = 0;

			if (outbox_consumer_get(r->db, CLUSTER_CONSUMER, &c, NULL) != CHAT_OK &&
			    outbox_last_seq(r->db, &c, NULL) == CHAT_OK)
				/* Nothing was ever posted in the cluster here. */
				(void)outbox_consumer_advance(r->db, CLUSTER_CONSUMER, c, NULL);
			r->cursor = c;
			/* The nodes this one has heard from are taken as live
			 * until they time out (their beacons then say more). */
			for (int n = 1; n < CLUSTER_SLOTS; n++) {
				r->known[n] = 0;
				r->heard[n] = 0;
				if (n != r->opt->node_id &&
				    cluster_high_water(r->db, n, &r->known[n], NULL) == CHAT_OK &&
				    r->known[n] > 0)
					r->heard[n] = mono;
			}
		}
		r->holder = 1;
		r->lease_at = mono;
		return 1;
	}
	if (rc != CHAT_EBUSY)
		log_warn("cluster: %s", chat_error_reason(&err, rc));
	if (r->holder)
		disconnect(r, NULL);
	r->holder = 0;
	return 0;
}

static void *cluster_main(void *arg)
{
	relay_state_t *r = arg;
	chat_error_t err = { 0 };

	chat_buf_init(&r->out, 4 * 1024 * 1024);
	chat_buf_init(&r->room, CHATMSG_ROOM_MAX);
	chat_buf_init(&r->writer, SESSION_USER_MAX);
	chat_buf_init(&r->text, CHATMSG_TEXT_MAX);
	while (running(r)) {
		int64_t mono = chat_mono_ms();

		if (r->db == NULL && chatdb_open(r->opt->db_path, 0, &r->db, &err) != CHAT_OK) {
			log_error("cluster: cannot open %s: %s", r->opt->db_path, err.message);
			r->db = NULL;
			nap(r, 1000);
			continue;
		}
		if (!hold_lease(r, mono)) {
			nap(r, 2000);
			continue;
		}
		if (r->fd < 0) {
			/* Cut off: this node's posts go out at once. */
			release(r, mono);
			if (mono < r->retry_at) {
				wait_bell(r, r->retry_at - mono);
				continue;
			}
			if (connect_broker(r) != CHAT_OK)
				continue;
			connected(r, chat_mono_ms());
		}
		/* Heart-beats both ways: a broker that hangs (no byte for three
		 * intervals) is left and reconnected to. */
		if (mono - r->rx_ms > 3 * CLUSTER_HEARTBEAT_MS) {
			disconnect(r, "no heart-beat from RabbitMQ");
			continue;
		}
		if (mono - r->tx_ms >= CLUSTER_HEARTBEAT_MS && r->out.len == 0) {
			chat_buf_reset(&r->out);
			if (chat_buf_putc(&r->out, '\n') != CHAT_OK || write_all(r) != CHAT_OK) {
				disconnect(r, "the connection broke while sending a heart-beat");
				continue;
			}
		}
		(void)forward(r, mono);
		if (r->fd >= 0)
			(void)beacon(r, mono);
		/* Woken by the bell thread when the outbox moves; without a
		 * doorbell the outbox is looked at every 20 ms. */
		if (r->fd >= 0)
			pump(r, r->wake[0] >= 0 ? 1000 : 20);
		release(r, chat_mono_ms());
		drop_gone(r, chat_mono_ms());
	}
	disconnect(r, NULL);
	drop_held();
	if (r->db != NULL && r->holder)
		(void)relay_lease_release(r->db, CLUSTER_LEASE, r->owner, NULL);
	chatdb_close(r->db);
	r->db = NULL;
	chat_buf_free(&r->out);
	chat_buf_free(&r->room);
	chat_buf_free(&r->writer);
	chat_buf_free(&r->text);
	return NULL;
}

/* Turns doorbell rings into a byte on rs.wake, which the relay's poll()
 * watches next to its socket: it waits on the last word it saw, so no
 * ring is missed. */
static void *bell_main(void *arg)
{
	relay_state_t *r = arg;
	uint32_t seen = doorbell_snapshot(r->bell);

	while (running(r)) {
		uint32_t now;

		(void)doorbell_wait(r->bell, seen, 1000);
		now = doorbell_snapshot(r->bell);
		if (now != seen) {
			seen = now;
			(void)!write(r->wake[1], "x", 1);
		}
	}
	return NULL;
}

int cluster_start(const chat_options_t *opt, doorbell_t *bell)
{
	chat_error_t err = { 0 };
	int rc = CHAT_OK;

	cluster_configure(opt);
	if (!cluster_enabled(opt))
		return CHAT_OK;
	pthread_mutex_lock(&rs.mu);
	if (!rs.started && !rs.stopping) {
		rs.opt = opt;
		rs.bell = bell;
		rc = clusterwire_parse_url(opt->broker_relay, &rs.url, &err);
		snprintf(rs.owner, sizeof(rs.owner), "cluster:%ld", (long)getpid());
		if (rc == CHAT_OK && bell != NULL && pipe2(rs.wake, O_NONBLOCK | O_CLOEXEC) == 0 &&
		    pthread_create(&rs.bell_thread, NULL, bell_main, &rs) == 0)
			rs.bell_started = 1;
		else if (rs.wake[0] >= 0) {
			close(rs.wake[0]);
			close(rs.wake[1]);
			rs.wake[0] = rs.wake[1] = -1;
		}
		if (rc == CHAT_OK && pthread_create(&rs.thread, NULL, cluster_main, &rs) == 0)
			rs.started = 1;
		else if (rc == CHAT_OK)
			rc = CHAT_ENOMEM;
	}
	pthread_mutex_unlock(&rs.mu);
	if (rc != CHAT_OK)
		log_error("cannot start the cluster relay: %s", chat_error_reason(&err, rc));
	return rc;
}

void cluster_stop(void)
{
	int started;

	pthread_mutex_lock(&rs.mu);
	started = rs.started && !rs.stopping;
	rs.stopping = 1;
	pthread_cond_broadcast(&rs.cv);
	pthread_mutex_unlock(&rs.mu);
	if (rs.wake[1] >= 0)
		(void)!write(rs.wake[1], "x", 1);
	if (started)
		pthread_join(rs.thread, NULL);
	if (rs.bell_started) {
		/* Ringing with the current seq wakes its wait and moves nothing. */
		doorbell_ring(rs.bell, doorbell_seq(rs.bell));
		pthread_join(rs.bell_thread, NULL);
		rs.bell_started = 0;
	}
}
