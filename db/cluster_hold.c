/*
 * cluster_hold.c - the hold-back (cluster_hold): chat posts wait in chat.db
 * until no live node can still send a smaller id, then go into the outbox
 * in id order; the clock beacons that tell the other nodes how far this
 * one has sent.  docs/cluster.md ("The hold-back", "Proof of one order").
 */
#include "config.h"
#include "cluster_int.h"

#include "log.h"
#include "relay.h"

#include <sqlite3.h>
#include <stdio.h>

static const char SQL_HOLD_PUT[] =
	"INSERT OR IGNORE INTO cluster_hold(id, destination, headers, body) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_HOLD_MIN[] = "SELECT min(id) FROM cluster_hold";
static const char SQL_HOLD_READ[] =
	"SELECT id, destination, headers, body FROM cluster_hold WHERE id <= ?1 ORDER BY id";
static const char SQL_HOLD_DEL[] = "DELETE FROM cluster_hold WHERE id <= ?1";

/* Holds back chat post id (its outbox row: dest, headers, body). */
int cluster__hold_put(chatdb_t *db, int64_t id, const char *dest, chat_slice_t headers,
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
	return chatdb__step_done(db, st, "held post", err);
}

int cluster__hold_in_tx(chatdb_t *db, int64_t id, const char *dest, const char *room,
			chat_slice_t headers, chat_slice_t body, int64_t *seq, chat_error_t *err)
{
	long long node = cluster__node();
	int rc = cluster__hold_put(db, id, dest, headers, body, err);

	return rc == CHAT_OK ? cluster__forward_row_id(db, node, CLUSTER_POST_DEST, body, id, room,
						       seq, err)
			     : rc;
}

int cluster_held_min(chatdb_t *db, int64_t *id_out, chat_error_t *err)
{
	sqlite3_stmt *st;
	int row, rc = chatdb__stmt(db, SQL_HOLD_MIN, &st, err);

	*id_out = 0;
	if (rc != CHAT_OK)
		return rc;
	if ((rc = chatdb__step_row(db, st, &row, "held", err)) == CHAT_OK && row)
		*id_out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

/* Inside the caller's transaction: the held posts with ids <= upto into
 * the outbox, in id order, and out of the hold. */
static int release_in_tx(chatdb_t *db, int64_t upto, size_t *n, int64_t *seq, chat_error_t *err)
{
	sqlite3_stmt *st, *del;
	int64_t last = 0;
	int row, rc = cluster__stmt_int(db, SQL_HOLD_READ, upto, &st, err);

	if (rc != CHAT_OK)
		return rc;
	while ((rc = chatdb__step_row(db, st, &row, "held posts", err)) == CHAT_OK && row) {
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
	sqlite3_reset(st);
	if (rc != CHAT_OK || (rc = cluster__stmt_int(db, SQL_HOLD_DEL, upto, &del, err)) != CHAT_OK)
		return rc;
	return chatdb__step_done(db, del, "held posts", err);
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
	return cluster__end_tx(db, rc, n, released, seq, seq_out, err);
}

/* A clock beacon (non-persistent, on the posts' routing key, so after
 * every post sent before it): everything of ours with an id <= safe_clock
 * is confirmed.  Sent once something taken in raised the clock (the
 * sender can then release its posts), and every second (liveness). */
int cluster__beacon(relay_state_t *r, int64_t now)
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

		rc = cluster__put_frame(r, STOMP_CMD_SEND, h, 5, NULL, 0);
	}
	if (rc == CHAT_OK && (rc = cluster__write_all(r)) != CHAT_OK)
		cluster__disconnect(r, "the connection broke while sending a beacon");
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
void cluster__release_stable(relay_state_t *r, int64_t now)
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
