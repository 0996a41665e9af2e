/*
 * chatapp_hook.c - the application hook (hook.h, app_hook_url): /app
 * destinations the built-in application does not handle are POSTed to it
 * before the frame's transaction, and its answer is carried out inside.
 */
#include "config.h"
#include "broker_int.h"

#include "mediatype.h"

/* Before a hook call: takes the frame's SEND rate token in a transaction
 * of its own, so that a frame the limits refuse costs no call.  A refusal
 * that ends the session is left for the frame's own transaction to make. */
static int hook_rate(broker_t *b, const char *dest)
{
	int rc = chatdb__begin(b->db, b->err), refused;

	if (rc != CHAT_OK)
		return rc;
	rc = broker__over_rate(b, dest, &refused);
	if (rc == CHAT_OK) {
		b->rate_taken = !refused;
		b->rate_refused = refused;
		return broker__commit(b);
	}
	broker__rollback(b);
	return rc == CHAT_EPROTO ? CHAT_OK : rc;
}

/* 1 when frame f (a SEND or SUBSCRIBE to dest) goes to the hook. */
int chatapp__hook_wanted(const broker_t *b, const stomp_frame_t *f, const char *dest)
{
	if (b->opt->app_hook_url == NULL || b->opt->app_hook_url[0] == '\0' || dest == NULL ||
	    !chatapp__is_app_dest(dest) ||
	    dest_validate((chat_slice_t){ dest, strlen(dest) }, 0) != CHAT_OK)
		return 0;
	if (f->command == STOMP_CMD_SEND)
		return broker__header(f, "transaction") == NULL && !chatapp__builtin(dest, 0);
	return f->command == STOMP_CMD_SUBSCRIBE && !chatapp__builtin(dest, 1);
}

/* Before the frame's transaction: POSTs f to the hook, keeping the answer
 * (or the failure) in b for the handler.  Once per frame. */
int chatapp__call_hook(broker_t *b, const stomp_frame_t *f, const char *dest)
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
	if ((rc = broker__load_state(b)) != CHAT_OK)
		return rc;
	if (!b->connected || b->info.state != SESSION_OPEN)
		return CHAT_OK;
	/* A session whose token is gone is refused without a call. */
	if ((rc = broker__check_token(b)) != CHAT_OK)
		return rc == CHAT_EPROTO ? CHAT_OK : rc;
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
				  b->key,
				  dest,
				  pairs,
				  n / 2,
				  f->body };
	chat_buf_init(&req, (size_t)b->opt->max_frame * 6 + 4096);
	rc = hookmsg_request_render(&req, &rq);
	if (rc == CHAT_EUTF8)
		rc = chat_error_set(&e, rc, "the frame is not UTF-8 text (the hook takes JSON)");
	else if (rc != CHAT_OK)
		rc = chat_error_set(&e, rc, "cannot build the request: %s", chat_strerror(rc));
	else
		rc = hook_call(b->opt, chat_buf_slice(&req), &b->hook, &e);
	chat_buf_free(&req);
	b->hook_err.code = rc;
	if (rc != CHAT_OK) {
		snprintf(b->hook_err.message, sizeof(b->hook_err.message), "%.150s", e.message);
		log_warn("app hook: %s %s by %s (session %s): %s", rq.type, dest, rq.user, b->key,
			 e.message);
	}
	return CHAT_OK;
}

/* A message of the hook's answer to a broker destination: /topic/..., or
 * the sender's own user queue (/user/queue/... or /user/NAME/queue/...). */
static int hook_publish(broker_t *b, const hookmsg_out_t *o, const char *ctype)
{
	chat_slice_t d = chat_buf_slice(&o->dest), user, rest;
	char own[CHATDB_DEST_MAX + 1];

	if (dest_validate(d, 0) != CHAT_OK)
		return broker__refuse(b, "application hook: invalid destination %.100s",
				      o->dest.data);
	switch (dest_classify(d)) {
	case DEST_TOPIC:
		return broker__publish(b, o->dest.data, DEST_TOPIC, ctype, NULL,
				       chat_buf_slice(&o->body));
	case DEST_USER:
		if (dest_user_split(d, &user, &rest) != CHAT_OK || !b->info.has_user ||
		    (user.len > 0 && !chat_slice_eq(user, b->info.user_name)))
			break;
		if ((size_t)snprintf(own, sizeof(own), "%s/%s%.*s", dest_prefixes()->user,
				     b->info.user_name, (int)rest.len, rest.ptr) >= sizeof(own))
			return broker__refuse(b, "application hook: destination too long");
		return broker__publish(b, own, DEST_USER, ctype, NULL, chat_buf_slice(&o->body));
	default: break;
	}
	return broker__refuse(b,
			      "application hook: cannot publish to %.100s (only /topic/... or the "
			      "sender's /user/queue/...)",
			      o->dest.data);
}

/* Carries out the hook's answer to a SEND (sub_id NULL) or to SUBSCRIBE
 * sub_id: every message in the frame's transaction, so all or none. */
int chatapp__apply_hook(broker_t *b, const char *sub_id, const char *dest)
{
	const hookmsg_answer_t *a = &b->hook;
	const char *ctype;
	size_t i;
	int rc = CHAT_OK;

	if (b->rate_refused)
		return CHAT_OK;
	if (!b->hook_done) {
		/* Not called: a SUBSCRIBE the rate limits end the session for
		 * is refused here as a SEND would be in broker__on_send(). */
		int refused;

		if (sub_id != NULL &&
		    ((rc = broker__over_rate(b, dest, &refused)) != CHAT_OK || refused))
			return rc;
		return broker__refuse(b, "no handler for %s", dest);
	}
	if (b->hook_err.code != CHAT_OK)
		return broker__refuse(b, "application hook failed: %s", b->hook_err.message);
	if (a->has_error)
		return broker__refuse(b, "%s", a->error.len > 0 ? a->error.data : "refused");
	for (i = 0; i < a->n && rc == CHAT_OK; i++) {
		const hookmsg_out_t *o = &a->out[i];

		ctype = o->ctype.len > 0 ? o->ctype.data : NULL;
		if (ctype != NULL && !mediatype_valid(chat_buf_slice(&o->ctype)))
			return broker__refuse(b, "application hook: invalid content-type");
		if (o->dest.len > 0)
			rc = hook_publish(b, o, ctype);
		else if (sub_id != NULL)
			rc = chatapp__reply_once(b, sub_id, dest, 0, ctype,
						 chat_buf_slice(&o->body));
		else
			rc = broker__refuse(b, "application hook: a message without destination");
	}
	return rc;
}
