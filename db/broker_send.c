/*
 * broker_send.c - SEND to broker destinations (/topic, /queue, /user), the
 * SEND rate limits, and broker_publish().
 */
#include "config.h"
#include "broker_int.h"

#include "mediatype.h"

/* USER/QUEUE/errors (see BROKER_ERRORS_PATH). */
static void errors_dest(char out[CHATDB_DEST_MAX + 1])
{
	const dest_prefixes_t *p = dest_prefixes();

	snprintf(out, CHATDB_DEST_MAX + 1, "%s%s%s", p->user, p->broker[p->queue],
		 BROKER_ERRORS_PATH);
}

/* The row headers of a message SENT by this session: the subscription it
 * is addressed to (a /queue row), content-type, and the sender. */
int broker__message_headers(broker_t *b, const char *sub, const char *ctype, const char *sender)
{
	int rc = CHAT_OK;

	chat_buf_reset(&b->hdrs);
	if (sub != NULL)
		rc = chatrow_hdr_put(&b->hdrs, "sub", sub);
	if (rc == CHAT_OK && ctype != NULL)
		rc = chatrow_hdr_put(&b->hdrs, "content-type", ctype);
	if (rc == CHAT_OK && sender != NULL)
		rc = chatrow_hdr_put(&b->hdrs, DELIVERY_H_SENDER, sender);
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
	if ((rc = broker__next_seq(b, &seq)) != CHAT_OK ||
	    (rc = cluster__next_id_in_tx(b->db, b->opt->node_id, seq, &id, b->err)) != CHAT_OK)
		return rc;
	snprintf(v, sizeof(v), "%lld", b->opt->node_id);
	if ((rc = chatrow_hdr_put(&b->hdrs, CHATROW_H_ORIGIN, v)) != CHAT_OK)
		return rc;
	snprintf(v, sizeof(v), "%lld", (long long)id);
	return chatrow_hdr_put(&b->hdrs, CLUSTER_ID_HEADER, v);
}

/* Point to point: one consumer of the queue, chosen in turn (queue.c),
 * passing over (skip_session, skip_sub) when another exists.  No
 * consumer: the message is dropped, as Spring's simple broker does. */
int broker__send_queue(broker_t *b, const char *dest, const char *ctype, const char *sender,
		       chat_slice_t body, const char *skip_session, const char *skip_sub)
{
	queue_consumer_t c;
	int64_t seq;
	int rc, found;

	if ((rc = broker__next_seq(b, &seq)) != CHAT_OK ||
	    (rc = queue_pick(b->db, dest, seq, skip_session, skip_sub, &c, &found, b->err)) !=
		    CHAT_OK)
		return rc;
	if (!found)
		return CHAT_OK;
	if ((rc = broker__message_headers(b, c.sub_id, ctype, sender)) != CHAT_OK)
		return rc;
	return broker__append(b, dest, c.session_id, chat_buf_slice(&b->hdrs), body, NULL);
}

/* Publishes body on broker destination dest (checked by the caller) of
 * kind: /topic/... to every subscriber, /queue/... to one consumer in turn,
 * /user/NAME/queue/... to the user's sessions; sender (NULL: none) becomes
 * the user-name header of /queue and /user messages. */
int broker__publish(broker_t *b, const char *dest, dest_kind_t kind, const char *ctype,
		    const char *sender, chat_slice_t body)
{
	int rc;

	if (kind == DEST_QUEUE)
		return broker__send_queue(b, dest, ctype, sender, body, NULL, NULL);
	/* Stamped for the other nodes of a cluster (a /queue stays on its own). */
	if ((rc = broker__message_headers(b, NULL, ctype, kind == DEST_TOPIC ? NULL : sender)) !=
		    CHAT_OK ||
	    (rc = cluster_stamp(b)) != CHAT_OK)
		return rc;
	return broker__append(b, dest, NULL, chat_buf_slice(&b->hdrs), body, NULL);
}

/* A SEND over the rate: a MESSAGE on the session's errors_dest()
 * subscription (CHAT_OK, *told set) or, without one, an ERROR. */
static int tell_refused(broker_t *b, const char *dest, int64_t retry, int *told)
{
	char errors[CHATDB_DEST_MAX + 1], sub[CHATDB_ID_MAX + 1];
	int rc, found;

	errors_dest(errors);
	if ((rc = session__sub_by_dest(b->db, b->key, errors, sub, &found, b->err)) != CHAT_OK)
		return rc;
	if (!found)
		return broker__refuse(
			b, "%s: retry in %lld ms (subscribe to %s to be told without ERROR)",
			BROKER_ERROR_RATE, (long long)retry, errors);
	chat_buf_reset(&b->scratch);
	rc = chat_buf_printf(&b->scratch,
			     "{\"error\":\"%s\",\"retry_after_ms\":%lld,"
			     "\"destination\":",
			     BROKER_ERROR_RATE, (long long)retry);
	if (rc == CHAT_OK)
		rc = json_encode_string(&b->scratch, dest, strlen(dest));
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&b->scratch, '}');
	if (rc == CHAT_OK)
		rc = broker__message_headers(b, sub, "application/json", NULL);
	if (rc == CHAT_OK)
		rc = broker__append(b, errors, b->key, chat_buf_slice(&b->hdrs),
				    chat_buf_slice(&b->scratch), NULL);
	*told = rc == CHAT_OK;
	return rc;
}

int broker__over_rate(broker_t *b, const char *dest, int *refused)
{
	char key[RATELIMIT_KEY_MAX + 1];
	const char *user = b->info.user_name;
	int guest = chatroom_is_guest(user);
	chat_error_t e = { 0 };
	int64_t retry = 0;
	int rc;

	*refused = 0;
	if (!b->info.has_user)
		return CHAT_OK;
	snprintf(key, sizeof(key), "send:%s", user);
	rc = ratelimit__take_in_tx(b->db, key,
				   guest ? b->opt->rate_guest_sends : b->opt->rate_sends,
				   guest ? b->opt->rate_guest_sends_burst
					 : b->opt->rate_sends_burst,
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
			return broker__refuse(b, "%s: too many refused SENDs", BROKER_ERROR_RATE);
		if (rc == CHAT_OK)
			rc = CHAT_ETOOMANY;
	}
	if (rc != CHAT_ETOOMANY) {
		if (rc != CHAT_OK && b->err != NULL)
			*b->err = e;
		return rc;
	}
	return tell_refused(b, dest, retry, refused);
}

int broker__on_send(broker_t *b, const stomp_frame_t *f, int replay)
{
	const char *dest = broker__header(f, "destination"), *tx = broker__header(f, "transaction");
	const char *ctype = broker__header(f, "content-type");
	chat_slice_t d, user, rest;
	int rc, handled, refused;

	if (dest == NULL)
		return broker__refuse(b, "SEND without destination");
	/* Stored as sent and rendered for every subscriber's version: a value
	 * that 1.0 or 1.1 cannot carry (escaped CR or LF) is refused here. */
	if (ctype != NULL && !mediatype_valid((chat_slice_t){ ctype, strlen(ctype) }))
		return broker__refuse(b, "invalid content-type (not a media type)");
	d = (chat_slice_t){ dest, strlen(dest) };
	if (dest_validate(d, 0) != CHAT_OK)
		return broker__refuse(b, "invalid destination");
	if (tx != NULL && !replay) {
		if (!b->app->send_in_tx(b, dest))
			return broker__refuse(
				b, "a SEND to %s (the application hook) cannot be in a transaction",
				dest);
		return broker__buffer_in_tx(b, f, tx);
	}
	/* What the application sends without a SEND's token (typing). */
	if ((rc = b->app->send_unmetered(b, dest, &handled)) != CHAT_OK || handled)
		return rc;
	/* A hook SEND's token was taken (or refused) before its call. */
	if (b->rate_refused)
		return CHAT_OK;
	if (!b->rate_taken && (dest_classify(d) != DEST_TOPIC || b->opt->topic_send) &&
	    ((rc = broker__over_rate(b, dest, &refused)) != CHAT_OK || refused))
		return rc;
	switch (dest_classify(d)) {
	case DEST_TOPIC:
		if (!b->opt->topic_send)
			return broker__refuse(b, "SEND to /topic is not allowed: send to /app");
		return broker__publish(b, dest, DEST_TOPIC, ctype, NULL, f->body);
	case DEST_QUEUE: return broker__publish(b, dest, DEST_QUEUE, ctype, sender_of(b), f->body);
	case DEST_USER:
		if (dest_user_split(d, &user, &rest) != CHAT_OK || user.len == 0)
			return broker__refuse(b, "SEND to a user needs /user/{name}/queue/...");
		if (!b->opt->user_queue_others &&
		    (!b->info.has_user || !chat_slice_eq(user, b->info.user_name)))
			return broker__refuse(b,
					      "SEND to another user's queue is not allowed here");
		return broker__publish(b, dest, DEST_USER, ctype, sender_of(b), f->body);
	case DEST_APP: return b->app->send(b, dest, f->body);
	default: return broker__refuse(b, "cannot send to %s", dest);
	}
}

int broker_publish(chatdb_t *db, const chat_options_t *opt, const char *dest, const char *ctype,
		   chat_slice_t body, int64_t now_ms, int64_t *seq_out, chat_error_t *err)
{
	chat_slice_t d = { dest, strlen(dest) }, user, rest;
	dest_kind_t kind = dest_classify(d);
	doorbell_t *bell;
	broker_t b;
	int rc;

	if (seq_out != NULL)
		*seq_out = 0;
	if (dest_validate(d, 0) != CHAT_OK ||
	    (kind != DEST_TOPIC && kind != DEST_QUEUE && kind != DEST_USER))
		return chat_error_set(err, CHAT_EINVAL,
				      "invalid destination: publish to /topic/..., "
				      "/queue/... or /user/{name}/queue/...");
	if (kind == DEST_USER && (dest_user_split(d, &user, &rest) != CHAT_OK || user.len == 0))
		return chat_error_set(err, CHAT_EINVAL,
				      "a user destination needs /user/{name}/queue/...");
	if (ctype != NULL && !mediatype_valid((chat_slice_t){ ctype, strlen(ctype) }))
		return chat_error_set(err, CHAT_EINVAL, "invalid content-type (not a media type)");
	if (body.len > (size_t)opt->max_frame)
		return chat_error_set(err, CHAT_ETOOBIG,
				      "the body is larger than max_frame (%lld bytes)",
				      opt->max_frame);
	broker__setup(&b, db, opt, NULL, "", now_ms, err);
	bell = chatdb__hold_doorbell(db);
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		goto out;
	rc = broker__publish(&b, dest, kind, ctype, NULL, body);
	if (rc == CHAT_OK) {
		if (seq_out != NULL)
			*seq_out = b.tx_seq;
		rc = broker__commit(&b);
	} else {
		broker__rollback(&b);
	}
out:
	chatdb__release_doorbell(db, bell, b.ring_seq);
	broker__teardown(&b);
	return rc;
}
