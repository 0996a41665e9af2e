/*
 * queue.c - /queue consumers taken in turn (see queue.h).
 *
 * Design.  A /queue message is addressed to one subscription when it is
 * SENT: queue_pick() runs inside the sender's write transaction and the
 * outbox row carries the chosen subscription ("sub" header), so every
 * process delivers it the same way and nothing is decided twice.
 *
 * - Turn: each subscription row keeps `served`, the outbox seq of the last
 *   message it was given (0: never).  The next message goes to the
 *   consumer with the smallest `served` (ties by session and subscription
 *   id), which then gets the new seq: round-robin in SEND order, whatever
 *   other rows (RECEIPTs, topics) the outbox holds between them.  A new
 *   consumer is served first, then joins the rotation.
 * - Cost: consumers are read through the index subscriptions_queue
 *   (destination, served) by exact destination - /queue subscriptions may
 *   not hold wildcards (db/broker.c refuses them) - so a SEND reads only
 *   its queue's consumers, in turn order, and stops at the first eligible
 *   (CROSS JOIN keeps SQLite from walking all open sessions instead).
 * - prefetch-count (RabbitMQ's STOMP plugin): a client or
 *   client-individual subscription with prefetch-count N > 0 holds at most
 *   N unacknowledged messages; queue_inflight lists them (written here, at
 *   SEND, so the count is exact before delivery), ACK and NACK settle them.
 *   Auto-ack and prefetch 0 are always eligible.  When every consumer is at
 *   its limit the least recently served gets the message anyway: there is
 *   no broker-side holding queue, and nothing is dropped.
 * - NACK: the broker settles the message and picks again, passing over the
 *   NACKing subscription while another consumer has room; stomp_unacked
 *   keeps the sender, so the new MESSAGE still names it.
 */
#include "config.h"
#include "queue.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define ELIGIBLE                                                                            \
	" (u.ack_mode = 'auto' OR u.prefetch = 0 OR (SELECT count(*) FROM queue_inflight i" \
	" WHERE i.session_id = u.session_id AND i.sub_id = u.sub_id) < u.prefetch)"
#define CONSUMERS                                                        \
	"SELECT u.session_id, u.sub_id, u.ack_mode FROM subscriptions u" \
	" CROSS JOIN sessions s ON s.id = u.session_id"                  \
	" WHERE u.destination = ?1 AND s.state = 'open'"                 \
	" AND (?2 IS NULL OR u.session_id <> ?2 OR u.sub_id <> ?3)"

/* ?4 = 1: only consumers below their prefetch-count. */
const char queue__sql_pick[] = CONSUMERS " AND (?4 = 0 OR" ELIGIBLE ")"
					 " ORDER BY u.served, u.session_id, u.sub_id LIMIT 1";
static const char SQL_SERVED[] =
	"UPDATE subscriptions SET served = ?3 WHERE session_id = ?1 AND sub_id = ?2";
static const char SQL_INFLIGHT_PUT[] =
	"INSERT OR IGNORE INTO queue_inflight(session_id, sub_id, seq) VALUES (?1, ?2, ?3)";
static const char SQL_INFLIGHT_DEL[] =
	"DELETE FROM queue_inflight WHERE session_id = ?1 AND sub_id = ?2"
	" AND (?3 < 0 OR seq = ?3 OR (?4 = 1 AND seq <= ?3))";
int queue_prefetch_parse(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (s == NULL || *s == '\0')
		return CHAT_EINVAL;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 6)
			return CHAT_EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > QUEUE_PREFETCH_MAX)
		return CHAT_EINVAL;
	*out = v;
	return CHAT_OK;
}

/* Runs sql on subscription (?1, ?2) with seq ?3 and, when it has one,
 * flag ?4. */
static int run_sub(chatdb_t *db, const char *sql, const char *session_id, const char *sub_id,
		   int64_t seq, int flag, const char *what, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sub_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int(st, 4, flag);
	return chatdb__step_done(db, st, what, err);
}

/* One run of queue__sql_pick. */
static int pick_once(chatdb_t *db, const char *dest, const char *skip_session, const char *skip_sub,
		     int eligible_only, queue_consumer_t *out, int *found, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, queue__sql_pick, &st, err);

	*found = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC);
	if (skip_session != NULL && skip_sub != NULL) {
		sqlite3_bind_text(st, 2, skip_session, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, skip_sub, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 4, eligible_only);
	rc = chatdb__step_row(db, st, found, "queue consumer", err);
	if (rc == CHAT_OK && *found) {
		snprintf(out->session_id, sizeof(out->session_id), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(out->sub_id, sizeof(out->sub_id), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		if (session_ack_parse((const char *)sqlite3_column_text(st, 2), &out->ack) !=
		    CHAT_OK)
			out->ack = SESSION_ACK_AUTO;
	}
	sqlite3_reset(st);
	return rc;
}

int queue_pick(chatdb_t *db, const char *dest, int64_t seq, const char *skip_session,
	       const char *skip_sub, queue_consumer_t *out, int *found, chat_error_t *err)
{
	int rc = CHAT_OK, pass;

	*found = 0;
	/* Below prefetch-count: others, then anyone; then over it the same. */
	for (pass = 0; pass < 4 && rc == CHAT_OK && !*found; pass++) {
		int skip = pass % 2 == 0;

		if (!skip && skip_session == NULL)
			continue; /* the same as the pass before */
		rc = pick_once(db, dest, skip ? skip_session : NULL, skip ? skip_sub : NULL,
			       pass < 2, out, found, err);
	}
	if (rc != CHAT_OK || !*found)
		return rc;
	rc = run_sub(db, SQL_SERVED, out->session_id, out->sub_id, seq, 0, "queue turn", err);
	if (rc != CHAT_OK || out->ack == SESSION_ACK_AUTO)
		return rc;
	return run_sub(db, SQL_INFLIGHT_PUT, out->session_id, out->sub_id, seq, 0,
		       "queue in flight", err);
}

int queue_settle(chatdb_t *db, const char *session_id, const char *sub_id, int64_t seq,
		 int cumulative, chat_error_t *err)
{
	return run_sub(db, SQL_INFLIGHT_DEL, session_id, sub_id, seq, cumulative ? 1 : 0,
		       "queue settle", err);
}
