/*
 * broker_subscribe.c - SUBSCRIBE and UNSUBSCRIBE to broker destinations,
 * and the unacknowledged messages a closed session hands to a new
 * subscription.
 */
#include "config.h"
#include "broker_int.h"

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
		rc = broker__step_done(b, put, "unacked adopt");
		if (rc != CHAT_OK)
			break;
		/* Two closed sessions may have held the same message. */
		if (sqlite3_changes(chatdb_sqlite(b->db)) == 0)
			continue;
		chat_buf_reset(&b->frame);
		rc = delivery_render_message(&b->frame, b->version, sub_id, seq, dest, ctype, sender,
					     ack_id, body);
		if (rc == CHAT_OK)
			rc = broker__send_frame(b, 0, NULL);
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
	return broker__step_done(b, st, "unacked orphans");
}

int broker__on_subscribe(broker_t *b, const stomp_frame_t *f)
{
	const char *dest = broker__header(f, "destination"), *id = broker__header(f, "id");
	const char *ack_s = broker__header(f, "ack"), *prefetch_s = broker__header(f, "prefetch-count");
	chat_slice_t d, user, rest;
	char stored[CHATDB_DEST_MAX + 1];
	session_ack_t ack = SESSION_ACK_AUTO;
	int64_t from_seq = 0, prefetch = 0;
	int rc, is_room = 0;

	if (dest == NULL)
		return broker__refuse(b, "SUBSCRIBE without destination");
	if (id == NULL) {
		if (b->version >= STOMP_V1_1)
			return broker__refuse(b, "SUBSCRIBE without id");
		id = dest;
	}
	if (*id == '\0' || strlen(id) > CHATDB_ID_MAX)
		return broker__refuse(b, "invalid subscription id");
	if (ack_s != NULL && session_ack_parse(ack_s, &ack) != CHAT_OK)
		return broker__refuse(b, "invalid ack mode");
	if (prefetch_s != NULL && queue_prefetch_parse(prefetch_s, &prefetch) != CHAT_OK)
		return broker__refuse(b, "invalid prefetch-count (0 to %d)", QUEUE_PREFETCH_MAX);
	d = (chat_slice_t){ dest, strlen(dest) };
	if (dest_validate(d, 1) != CHAT_OK)
		return broker__refuse(b, "invalid destination");
	switch (dest_classify(d)) {
	case DEST_QUEUE:
		/* A queue's consumers are found by exact destination (queue.c);
		 * a pattern would also take a share of every matching queue. */
		if (strpbrk(dest, "*?#") != NULL)
			return broker__refuse(b, "cannot subscribe to a /queue pattern: name one queue");
		/* fall through */
	case DEST_TOPIC:
		snprintf(stored, sizeof(stored), "%s", dest);
		break;
	case DEST_USER:
		if (dest_user_split(d, &user, &rest) != CHAT_OK)
			return broker__refuse(b, "invalid user destination");
		if (user.len > 0 && (!b->info.has_user || !chat_slice_eq(user, b->info.user_name)))
			return broker__refuse(b, "cannot subscribe to another user's destination");
		/* Every session subscribes to its own queue as /user/queue/... */
		snprintf(stored, sizeof(stored), "%s%.*s", dest_prefixes()->user, (int)rest.len,
			 rest.ptr);
		break;
	case DEST_APP:
		return b->app->subscribe(b, id, dest);
	default:
		return broker__refuse(b, "cannot subscribe to %s", dest);
	}
	if ((rc = b->app->topic_check(b, f, stored, &is_room)) != CHAT_OK)
		return rc;
	/* The subscription receives what is committed after it, live; a
	 * resume delivers what came before (from the store and the outbox). */
	if ((rc = outbox_last_seq(b->db, &from_seq, b->err)) != CHAT_OK)
		return rc;
	rc = session__sub_insert_in_tx(b->db, b->key, id, stored, ack, from_seq, prefetch, b->err);
	if (rc == CHAT_ETOOMANY)
		return broker__refuse(b, "more than %d subscriptions", SESSION_SUBS_MAX);
	if (rc == CHAT_EEXIST)
		return broker__refuse(b, "subscription id already in use");
	if (rc != CHAT_OK)
		return rc;
	/* Before anything the subscription receives (resumed messages, its
	 * own ENTER notice), in commit order. */
	{
		char from[24];
		const char *pairs[] = { DELIVERY_H_SUB, id, DELIVERY_H_DEST, stored, DELIVERY_H_ACK,
					session_ack_name(ack), DELIVERY_H_FROM, from, NULL };

		snprintf(from, sizeof(from), "%lld", (long long)from_seq);
		if ((rc = broker__send_change(b, pairs)) != CHAT_OK)
			return rc;
	}
	if ((rc = b->app->topic_subscribed(b, id, stored, is_room)) != CHAT_OK)
		return rc;
	if (ack != SESSION_ACK_AUTO)
		rc = adopt_orphans(b, id, stored, ack);
	return rc;
}

int broker__on_unsubscribe(broker_t *b, const stomp_frame_t *f)
{
	const char *id = broker__header(f, "id");
	char dest[CHATDB_DEST_MAX + 1];
	int rc;

	if (id == NULL && b->version == STOMP_V1_0)
		id = broker__header(f, "destination");
	if (id == NULL)
		return broker__refuse(b, "UNSUBSCRIBE without id");
	if (*id == '\0' || strlen(id) > CHATDB_ID_MAX)
		return broker__refuse(b, "invalid subscription id");
	if ((rc = session__sub_dest(b->db, b->key, id, dest, b->err)) != CHAT_OK)
		return rc;
	rc = session_sub_remove(b->db, b->key, id, b->err);
	if (rc != CHAT_OK && rc != CHAT_ENOTFOUND)
		return rc;
	if (rc == CHAT_OK) {
		const char *pairs[] = { DELIVERY_H_UNSUB, id, NULL };

		if ((rc = broker__send_change(b, pairs)) != CHAT_OK)
			return rc;
	}
	if ((rc = broker__exec2(b, SQL_UNACKED_DEL_SUB, id, "unsubscribe")) != CHAT_OK ||
	    (rc = queue_settle(b->db, b->key, id, -1, 0, b->err)) != CHAT_OK)
		return rc;
	return dest[0] != '\0' ? b->app->topic_gone(b, dest) : CHAT_OK;
}
