/*
 * cluster_presence.c - node liveness and presence across nodes
 * (cluster_presence): this node's ENTER and LEAVE forwarded, the other
 * nodes' recorded and announced here when they change whether a user is
 * in a room anywhere, a node gone too long dropped (LEAVE for its users),
 * and this node's users announced again on each (re)connect.
 * docs/cluster.md ("What crosses nodes": presence).
 */
#include "config.h"
#include "cluster_int.h"

#include "chatapp.h"
#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

static const char SQL_PRESENT_ELSEWHERE[] =
	"SELECT count(*) FROM cluster_presence WHERE room = ?1 AND user_name = ?2";
static const char SQL_PRESENCE_PUT[] =
	"INSERT OR IGNORE INTO cluster_presence(node, room, user_name) VALUES (?3, ?1, ?2)";
static const char SQL_PRESENCE_DEL[] =
	"DELETE FROM cluster_presence WHERE room = ?1 AND user_name = ?2 AND node = ?3";

static const char SQL_ROOM_USERS[] =
	"SELECT DISTINCT user_name FROM cluster_presence WHERE room = ?1 ORDER BY 1";

/* Runs sql with (room, user[, node]); *n gets its count (a SELECT) or the
 * rows it changed. */
static int presence_sql(chatdb_t *db, const char *sql, const char *room, const char *user,
			int64_t node, int64_t *n, chat_error_t *err)
{
	sqlite3_stmt *st;
	int row, rc = chatdb__stmt(db, sql, &st, err);

	*n = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, node);
	if ((rc = chatdb__step_row(db, st, &row, "presence", err)) == CHAT_OK)
		*n = row ? sqlite3_column_int64(st, 0) : sqlite3_changes(chatdb_sqlite(db));
	sqlite3_reset(st);
	return rc;
}

int cluster_room_users(chatdb_t *db, const char *room, cluster_name_cb cb, void *ctx,
		       chat_error_t *err)
{
	sqlite3_stmt *st;
	int row, rc = chatdb__stmt(db, SQL_ROOM_USERS, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
	while ((rc = chatdb__step_row(db, st, &row, "presence", err)) == CHAT_OK && row)
		if ((rc = cb(ctx, (const char *)sqlite3_column_text(st, 0))) != CHAT_OK)
			break;
	sqlite3_reset(st);
	return rc == CHAT_STOP ? CHAT_OK : rc;
}

int cluster__presence_in_tx(chatdb_t *db, int entered, const char *user, const char *room,
			    int *announce, int64_t *seq, chat_error_t *err)
{
	long long node = cluster__node();
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
		rc = cluster__forward_row(db, node, CLUSTER_PRESENCE_DEST, chat_buf_slice(&body),
					  seq, err);
	*announce = elsewhere == 0;
	chat_buf_free(&body);
	return rc;
}

/* Another node's user entering or leaving: recorded, and announced here
 * when this makes the user present (or absent) across the cluster. */
int cluster__apply_presence(chatdb_t *db, const clusterwire_msg_t *m, int *added, int64_t *seq,
			    chat_error_t *err)
{
	char topic[CHATDB_DEST_MAX + 1];
	chat_buf_t hdrs, body;
	outbox_msg_t om;
	int64_t elsewhere = 0, changed = 0;
	int here = 0, rc;

	chat_buf_init(&hdrs, 256);
	chat_buf_init(&body, 1024);
	if ((rc = chatapp_presence_has(db, m->room, m->token_user, &here, err)) != CHAT_OK ||
	    (rc = presence_sql(db, SQL_PRESENT_ELSEWHERE, m->room, m->token_user, 0, &elsewhere,
			       err)) != CHAT_OK ||
	    (rc = presence_sql(db, m->entered ? SQL_PRESENCE_PUT : SQL_PRESENCE_DEL, m->room,
			       m->token_user, m->origin, &changed, err)) != CHAT_OK)
		goto out;
	/* Entering: nobody had the user in the room before; leaving: the
	 * origin's was the last presence. */
	if (changed == 0 || here > 0 || (m->entered ? elsewhere > 0 : elsewhere > 1))
		goto out;
	if ((rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, m->room)) != CHAT_OK ||
	    (rc = chatmsg_render_notice(&body, m->entered ? "ENTER" : "LEAVE", m->token_user,
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

/* A growing list of (room, user) pairs (malloc'ed). */
typedef struct pairs {
	pair_t *v;
	size_t n, cap;
} pairs_t;

static int pair_add(void *ctx, const char *room, const char *user)
{
	pairs_t *p = ctx;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		pair_t *w = realloc(p->v, cap * sizeof(*w));

		if (w == NULL)
			return CHAT_ENOMEM;
		p->v = w;
		p->cap = cap;
	}
	snprintf(p->v[p->n].room, sizeof(p->v[p->n].room), "%s", room);
	snprintf(p->v[p->n].user, sizeof(p->v[p->n].user), "%s", user);
	p->n++;
	return CHAT_OK;
}

/* The pairs this node announced (local, chatapp_presence_each()), or
 * node's rows of cluster_presence, into *p. */
static int pairs(chatdb_t *db, int local, int64_t node, pairs_t *p, chat_error_t *err)
{
	sqlite3_stmt *st;
	int row, rc;

	if (local)
		rc = chatapp_presence_each(db, pair_add, p, err);
	else if ((rc = cluster__stmt_int(db, SQL_NODE_PRESENCE, node, &st, err)) == CHAT_OK) {
		while ((rc = chatdb__step_row(db, st, &row, "presence", err)) == CHAT_OK && row) {
			const unsigned char *room = sqlite3_column_text(st, 0);
			const unsigned char *user = sqlite3_column_text(st, 1);

			rc = pair_add(p, room ? (const char *)room : "",
				      user ? (const char *)user : "");
			if (rc != CHAT_OK)
				break;
		}
		sqlite3_reset(st);
	}
	if (rc == CHAT_ENOMEM)
		chat_error_set(err, rc, "out of memory");
	return rc;
}

/* Runs each() over pairs(local, node) in one transaction. */
static int each_pair(chatdb_t *db, int local, int64_t node,
		     int (*each)(chatdb_t *, int64_t, const pair_t *, int64_t *, chat_error_t *),
		     size_t *done, int64_t *seq, chat_error_t *err)
{
	pairs_t p = { 0 };
	int64_t last = 0;
	int rc = chatdb__begin(db, err);

	*done = 0;
	if (rc == CHAT_OK)
		rc = pairs(db, local, node, &p, err);
	for (size_t i = 0; rc == CHAT_OK && i < p.n; i++)
		rc = each(db, node, &p.v[i], &last, err);
	rc = cluster__end_tx(db, rc, p.n, done, last, last > 0 ? seq : NULL, err);
	free(p.v);
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
	return cluster__apply_presence(db, &m, &added, seq, err);
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
	return each_pair(db, 0, node, drop_one, dropped, seq, err);
}

int cluster_announce_local(chatdb_t *db, size_t *announced, int64_t *seq, chat_error_t *err)
{
	return each_pair(db, 1, 0, announce_one, announced, seq, err);
}

/* Nodes not heard for cluster_presence_timeout_ms lose their presence
 * here (LEAVE for users present nowhere else); they announce it again
 * when they reconnect.  Only while connected (a node cut off hears
 * nobody). */
void cluster__drop_gone(relay_state_t *r, int64_t now)
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

/* Just (re)connected: this node's presence is announced again (another
 * node may have dropped it), and time cut off does not count against the
 * others (they are not live, but not gone either, until heard again or
 * timed out afresh). */
void cluster__connected(relay_state_t *r, int64_t now)
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
