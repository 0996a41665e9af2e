/*
 * broker_ack.c - ACK and NACK of client and client-individual
 * subscriptions: the stomp_unacked table (messages handed and not yet
 * acknowledged, adopted by a new subscription after a reconnect).
 */
#include "config.h"
#include "broker_int.h"

#include "broker_ack.h"

static const char SQL_UNACKED_DELETE[] =
	"DELETE FROM stomp_unacked WHERE session_id = ?1 AND ((?4 = 0 AND ack_id = ?2)"
	" OR (?4 = 1 AND sub_id = ?3 AND msg_seq <= ?5))";

/* ?4 = 0: the one message ?2; ?4 = 1: every message of subscription ?3 up
 * to seq ?5 (client mode acknowledges cumulatively). */
static const char SQL_UNACKED_SELECT[] =
	"SELECT ack_id, sub_id, msg_seq, destination, content_type, body, sender, sub_destination"
	" FROM stomp_unacked"
	" WHERE session_id = ?1 AND ((?4 = 0 AND ack_id = ?2)"
	" OR (?4 = 1 AND sub_id = ?3 AND msg_seq <= ?5)) ORDER BY msg_seq";

static const char SQL_UNACKED_BY_SEQ[] =
	"SELECT ack_id FROM stomp_unacked WHERE session_id = ?1 AND msg_seq = ?2"
	" ORDER BY ack_id LIMIT 1";

static const char SQL_UNACKED_GET[] =
	"SELECT sub_id, ack_mode, msg_seq FROM stomp_unacked WHERE session_id = ?1 AND ack_id = ?2";

static const char SQL_UNACKED_ORPHANS_DEL[] =
	"DELETE FROM stomp_unacked WHERE user_name = ?1 AND sub_destination = ?2"
	" AND session_id IN (SELECT id FROM sessions WHERE state = 'closed')";

/* What a closed session of the same user left unacknowledged on the same
 * subscription destination: handed to a new subscription on reconnect. */
static const char SQL_UNACKED_ORPHANS[] =
	"SELECT u.msg_seq, u.destination, u.content_type, u.body, u.sender FROM stomp_unacked u"
	" JOIN sessions s ON s.id = u.session_id"
	" WHERE u.user_name = ?1 AND u.sub_destination = ?2 AND s.state = 'closed'"
	" ORDER BY u.msg_seq";

static const char SQL_UNACKED_DEL_SUB[] =
	"DELETE FROM stomp_unacked WHERE session_id = ?1 AND sub_id = ?2";

static const char SQL_UNACKED_PUT[] =
	"INSERT OR IGNORE INTO stomp_unacked(session_id, ack_id, sub_id, sub_destination,"
	" ack_mode, msg_seq, destination, content_type, body, user_name, sender)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

int broker_ack__unacked_put(chatdb_t *db, const broker_unacked_t *u, int *added, chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t changes = 0;
	int rc = chatdb__stmt(db, SQL_UNACKED_PUT, &st, err);

	if (rc == CHAT_OK) {
		sqlite3_bind_text(st, 1, u->session_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, u->ack_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, u->sub_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, u->sub_dest, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, session_ack_name(u->ack), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, u->seq);
		sqlite3_bind_text(st, 7, u->dest, -1, SQLITE_STATIC);
		if (u->ctype != NULL)
			sqlite3_bind_text(st, 8, u->ctype, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, u->body.ptr, (int)u->body.len, SQLITE_STATIC);
		if (u->user != NULL)
			sqlite3_bind_text(st, 10, u->user, -1, SQLITE_STATIC);
		if (u->sender != NULL)
			sqlite3_bind_text(st, 11, u->sender, -1, SQLITE_STATIC);
		rc = chatdb__step_changes(db, st, &changes, "unacked", err);
	}
	if (added != NULL)
		*added = changes > 0;
	return rc;
}

/* Hands what closed sessions of this user left unacknowledged on the same
 * destination to the new subscription, and redelivers it. */
int broker__adopt_orphans(broker_t *b, const char *sub_id, const char *sub_dest, session_ack_t ack)
{
	sqlite3_stmt *st;
	char ack_id[DELIVERY_ACK_ID_MAX + 1];
	int rc, row = 0;

	if (!b->info.has_user)
		return CHAT_OK;
	rc = chatdb__stmt(b->db, SQL_UNACKED_ORPHANS, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->info.user_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_dest, -1, SQLITE_STATIC);
	while ((rc = chatdb__step_row(b->db, st, &row, "unacked orphans", b->err)) == CHAT_OK &&
	       row) {
		int64_t seq = sqlite3_column_int64(st, 0);
		const char *dest = (const char *)sqlite3_column_text(st, 1);
		const char *ctype = (const char *)sqlite3_column_text(st, 2);
		const char *sender = (const char *)sqlite3_column_text(st, 4);
		chat_slice_t body = { sqlite3_column_blob(st, 3),
				      (size_t)sqlite3_column_bytes(st, 3) };
		broker_unacked_t u = { .session_id = b->key,
				       .ack_id = ack_id,
				       .sub_id = sub_id,
				       .sub_dest = sub_dest,
				       .ack = ack,
				       .seq = seq,
				       .dest = dest,
				       .ctype = ctype,
				       .user = b->info.user_name,
				       .sender = sender };
		int added;

		if (body.ptr == NULL)
			body.ptr = "";
		u.body = body;
		delivery_ack_id(ack_id, seq, sub_id);
		rc = broker_ack__unacked_put(b->db, &u, &added, b->err);
		if (rc != CHAT_OK)
			break;
		/* Two closed sessions may have held the same message. */
		if (!added)
			continue;
		chat_buf_reset(&b->frame);
		rc = delivery_render_message(&b->frame, b->version, sub_id, seq, dest, ctype,
					     sender, ack_id, body);
		if (rc == CHAT_OK)
			rc = broker__send_frame(b, 0, NULL);
		if (rc != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	rc = chatdb__stmt(b->db, SQL_UNACKED_ORPHANS_DEL, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->info.user_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_dest, -1, SQLITE_STATIC);
	return chatdb__step_done(b->db, st, "unacked orphans", b->err);
}

/* UNSUBSCRIBE: what the subscription held unacknowledged is forgotten. */
int broker__unacked_drop_sub(broker_t *b, const char *sub_id)
{
	return broker__exec2(b, SQL_UNACKED_DEL_SUB, sub_id, "unsubscribe");
}

/* Binds what SQL_UNACKED_SELECT and SQL_UNACKED_DELETE take. */
static void bind_acked(sqlite3_stmt *st, const broker_t *b, const char *ack_id, const char *sub_id,
		       int cumulative, int64_t seq)
{
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ack_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sub_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, cumulative);
	sqlite3_bind_int64(st, 5, seq);
}

/* The ack id an ACK or NACK names: its id header (1.2), message-id and
 * subscription (1.1), or a message-id alone (1.0: the session's unacked
 * message of that seq).  *found 0: nothing to acknowledge. */
static int ack_id_of(broker_t *b, const stomp_frame_t *f, int nack, char ack_id[CHATDB_ID_MAX + 64],
		     int *found)
{
	size_t size = CHATDB_ID_MAX + 64;
	int rc;

	*found = 0;
	if (b->version >= STOMP_V1_2) {
		const char *id = broker__header(f, "id");

		if (id == NULL)
			return broker__refuse(b, "%s without id", nack ? "NACK" : "ACK");
		snprintf(ack_id, size, "%s", id);
	} else {
		const char *mid = broker__header(f, "message-id"),
			   *sub = broker__header(f, "subscription");

		if (mid == NULL || (sub == NULL && b->version == STOMP_V1_1))
			return broker__refuse(b, "%s without message-id%s", nack ? "NACK" : "ACK",
					      b->version == STOMP_V1_1 ? " and subscription" : "");
		if (sub != NULL) {
			snprintf(ack_id, size, "%s.%s", mid, sub);
		} else {
			sqlite3_stmt *q;

			ack_id[0] = '\0';
			rc = chatdb__stmt(b->db, SQL_UNACKED_BY_SEQ, &q, b->err);
			if (rc != CHAT_OK)
				return rc;
			sqlite3_bind_text(q, 1, b->key, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 2, strtoll(mid, NULL, 10));
			rc = chatdb__step_row(b->db, q, found, "ack", b->err);
			if (rc == CHAT_OK && *found)
				snprintf(ack_id, size, "%s", sqlite3_column_text(q, 0));
			sqlite3_reset(q);
			return rc;
		}
	}
	*found = 1;
	return CHAT_OK;
}

/* NACK: a /queue message goes to the queue's next consumer (queue.c) and
 * is settled (*requeued); any other is redelivered to this session (it
 * stays unacked). */
static int nack_redeliver(broker_t *b, const char *ack_id, const char *sub_id, int cumulative,
			  int64_t seq, int *requeued)
{
	sqlite3_stmt *st;
	int rc, row = 0;

	rc = chatdb__stmt(b->db, SQL_UNACKED_SELECT, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	bind_acked(st, b, ack_id, sub_id, cumulative, seq);
	while ((rc = chatdb__step_row(b->db, st, &row, "nack", b->err)) == CHAT_OK && row) {
		chat_slice_t body = { sqlite3_column_blob(st, 5),
				      (size_t)sqlite3_column_bytes(st, 5) };

		const char *sub_dest = (const char *)sqlite3_column_text(st, 7);

		if (body.ptr == NULL)
			body.ptr = "";
		if (dest_classify((chat_slice_t){ sub_dest, strlen(sub_dest) }) == DEST_QUEUE) {
			*requeued = 1;
			/* Settled first: the NACKing consumer has room again. */
			rc = queue_settle(b->db, b->key, sub_id, sqlite3_column_int64(st, 2), 0,
					  b->err);
			if (rc == CHAT_OK)
				rc = broker__send_queue(b, (const char *)sqlite3_column_text(st, 3),
							(const char *)sqlite3_column_text(st, 4),
							(const char *)sqlite3_column_text(st, 6),
							body, b->key, sub_id);
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
			rc = broker__send_frame(b, 0, NULL);
		if (rc != CHAT_OK)
			break;
	}
	sqlite3_reset(st);
	return rc;
}

int broker__on_ack(broker_t *b, const stomp_frame_t *f, int replay, int nack)
{
	const char *tx = broker__header(f, "transaction");
	char ack_id[CHATDB_ID_MAX + 64], sub_id[CHATDB_ID_MAX + 1], mode[32];
	sqlite3_stmt *st;
	int64_t seq = 0;
	int rc, cumulative, found, row = 0, requeued = 0;

	if ((rc = ack_id_of(b, f, nack, ack_id, &found)) != CHAT_OK || !found)
		return rc;
	if (tx != NULL && !replay)
		return broker__buffer_in_tx(b, f, tx);
	rc = chatdb__stmt(b->db, SQL_UNACKED_GET, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, b->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ack_id, -1, SQLITE_STATIC);
	rc = chatdb__step_row(b->db, st, &row, "ack", b->err);
	if (rc == CHAT_OK && row) {
		snprintf(sub_id, sizeof(sub_id), "%s", sqlite3_column_text(st, 0));
		snprintf(mode, sizeof(mode), "%s", sqlite3_column_text(st, 1));
		seq = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	/* Unknown or already acknowledged: nothing to do. */
	if (rc != CHAT_OK || !row)
		return rc;
	cumulative = strcmp(mode, "client") == 0;
	if (nack &&
	    ((rc = nack_redeliver(b, ack_id, sub_id, cumulative, seq, &requeued)) != CHAT_OK ||
	     !requeued))
		return rc;
	rc = chatdb__stmt(b->db, SQL_UNACKED_DELETE, &st, b->err);
	if (rc != CHAT_OK)
		return rc;
	bind_acked(st, b, ack_id, sub_id, cumulative, seq);
	if ((rc = chatdb__step_done(b->db, st, "ack", b->err)) != CHAT_OK)
		return rc;
	return queue_settle(b->db, b->key, sub_id, seq, cumulative, b->err);
}
