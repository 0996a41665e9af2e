/*
 * cluster_rows.c - the cluster's id clock and origins' marks in chat.db,
 * and the rows the relay forwards, appended inside the transactions that
 * make them (tokens, rooms; presence and held posts call in here too).
 * docs/cluster.md ("Ids", "Forwarding", "Other rows").
 */
#include "config.h"
#include "cluster_int.h"

#include "counters.h"

#include <sqlite3.h>
#include <stdio.h>

/* ---- ids and marks in chat.db ---- */

void cluster__mark_name(char out[32], int64_t origin)
{
	snprintf(out, 32, "cluster_hw:%lld", (long long)origin);
}

int cluster_high_water(chatdb_t *db, int64_t origin, int64_t *id_out, chat_error_t *err)
{
	char name[32];

	cluster__mark_name(name, origin);
	return counters_get(db, name, id_out, NULL, err);
}

int cluster__next_id_in_tx(chatdb_t *db, int64_t node, int64_t seq, int64_t *id_out,
			   chat_error_t *err)
{
	int64_t clock = 0, id;
	int rc = counters_get(db, CLUSTER_CLOCK, &clock, NULL, err);

	if (rc != CHAT_OK)
		return rc;
	if (clock < seq)
		clock = seq;
	id = clock - clock % CLUSTER_SLOTS + node;
	if (id <= clock)
		id += CLUSTER_SLOTS;
	if ((rc = counters_raise(db, CLUSTER_CLOCK, id, err)) == CHAT_OK)
		rc = outbox_consumer_register(db, CLUSTER_CONSUMER, seq - 1, err);
	if (rc == CHAT_OK)
		*id_out = id;
	return rc;
}

static _Atomic long long this_node;

long long cluster__node(void)
{
	return this_node;
}

void cluster_configure(const chat_options_t *opt)
{
	this_node = cluster_enabled(opt) ? opt->node_id : 0;
}

/* Appends a row the relay forwards (this node's origin, a cluster id:
 * id, or a new one when id is 0; a held post's names its room). */
int cluster__forward_row_id(chatdb_t *db, long long node, const char *dest, chat_slice_t body,
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

int cluster__forward_row(chatdb_t *db, long long node, const char *dest, chat_slice_t body,
			 int64_t *seq, chat_error_t *err)
{
	return cluster__forward_row_id(db, node, dest, body, 0, NULL, seq, err);
}

/* Ends a transaction whose work returned rc: commits it (then *out = n
 * and, when seq_out is not NULL, *seq_out = seq) or rolls it back. */
int cluster__end_tx(chatdb_t *db, int rc, size_t n, size_t *out, int64_t seq, int64_t *seq_out,
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
int cluster__stmt_int(chatdb_t *db, const char *sql, int64_t v, sqlite3_stmt **st,
		      chat_error_t *err)
{
	int rc = chatdb__stmt(db, sql, st, err);

	if (rc == CHAT_OK)
		sqlite3_bind_int64(*st, 1, v);
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
		rc = cluster__forward_row(db, node, dest, chat_buf_slice(body), seq, err);
	chat_buf_free(body);
	return rc;
}

int cluster__token_in_tx(chatdb_t *db, int put, const unsigned char *hash, const char *user,
			 int64_t created_ms, int64_t expires_ms, chat_error_t *err)
{
	long long node = cluster__node();
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
	long long node = cluster__node();
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
