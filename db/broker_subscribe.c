/*
 * broker_subscribe.c - SUBSCRIBE and UNSUBSCRIBE to broker destinations,
 * and the unacknowledged messages a closed session hands to a new
 * subscription.
 */
#include "config.h"
#include "broker_int.h"

/* Where SUBSCRIBE's dest is kept (into stored), or *app: it is an /app
 * destination, answered by the application. */
static int stored_dest(broker_t *b, const char *dest, char stored[CHATDB_DEST_MAX + 1], int *app)
{
	chat_slice_t d = { dest, strlen(dest) }, user, rest;

	*app = 0;
	if (dest_validate(d, 1) != CHAT_OK)
		return broker__refuse(b, "invalid destination");
	switch (dest_classify(d)) {
	case DEST_QUEUE:
		/* A queue's consumers are found by exact destination (queue.c);
		 * a pattern would also take a share of every matching queue. */
		if (strpbrk(dest, "*?#") != NULL)
			return broker__refuse(
				b, "cannot subscribe to a /queue pattern: name one queue");
		/* fall through */
	case DEST_TOPIC: snprintf(stored, CHATDB_DEST_MAX + 1, "%s", dest); break;
	case DEST_USER:
		if (dest_user_split(d, &user, &rest) != CHAT_OK)
			return broker__refuse(b, "invalid user destination");
		if (user.len > 0 && (!b->info.has_user || !chat_slice_eq(user, b->info.user_name)))
			return broker__refuse(b, "cannot subscribe to another user's destination");
		/* Every session subscribes to its own queue as /user/queue/... */
		snprintf(stored, CHATDB_DEST_MAX + 1, "%s%.*s", dest_prefixes()->user,
			 (int)rest.len, rest.ptr);
		break;
	case DEST_APP: *app = 1; break;
	default: return broker__refuse(b, "cannot subscribe to %s", dest);
	}
	return CHAT_OK;
}

/* Tells the session's dispatcher of the kept subscription: before
 * anything it receives (resumed messages, its own ENTER notice), in
 * commit order. */
static int announce(broker_t *b, const char *id, const char *stored, session_ack_t ack,
		    int64_t from_seq)
{
	char from[24];
	const char *pairs[] = { DELIVERY_H_SUB,
				id,
				DELIVERY_H_DEST,
				stored,
				DELIVERY_H_ACK,
				session_ack_name(ack),
				DELIVERY_H_FROM,
				from,
				NULL };

	snprintf(from, sizeof(from), "%lld", (long long)from_seq);
	return broker__send_change(b, pairs);
}

int broker__on_subscribe(broker_t *b, const stomp_frame_t *f)
{
	const char *dest = broker__header(f, "destination"), *id = broker__header(f, "id");
	const char *ack_s = broker__header(f, "ack"),
		   *prefetch_s = broker__header(f, "prefetch-count");
	char stored[CHATDB_DEST_MAX + 1];
	session_ack_t ack = SESSION_ACK_AUTO;
	int64_t from_seq = 0, prefetch = 0;
	int rc, is_room = 0, app = 0;

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
	if ((rc = stored_dest(b, dest, stored, &app)) != CHAT_OK)
		return rc;
	if (app)
		return b->app->subscribe(b, id, dest);
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
	if (rc != CHAT_OK || (rc = announce(b, id, stored, ack, from_seq)) != CHAT_OK ||
	    (rc = b->app->topic_subscribed(b, id, stored, is_room)) != CHAT_OK)
		return rc;
	if (ack != SESSION_ACK_AUTO)
		rc = broker__adopt_orphans(b, id, stored, ack);
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
	if ((rc = broker__unacked_drop_sub(b, id)) != CHAT_OK ||
	    (rc = queue_settle(b->db, b->key, id, -1, 0, b->err)) != CHAT_OK)
		return rc;
	return dest[0] != '\0' ? b->app->topic_gone(b, dest) : CHAT_OK;
}
