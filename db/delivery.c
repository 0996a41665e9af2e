/* delivery.c - one session's delivery state and how outbox rows change it
 * or become its messages (see delivery.h); the frames themselves are
 * rendered by delivery_render.c. */
#include "config.h"
#include "delivery_int.h"

#include "broker_ack.h"
#include "broker_state.h"

#include "metrics.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- state ---------------------------------------------------------------- */

void delivery_init(delivery_t *d, const char *key, delivery_kind_t kind, int framed,
		   const delivery_hooks_t *hooks)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->key_len = strlen(d->key);
	d->kind = kind;
	d->framed = framed;
	d->version = STOMP_V1_2;
	if (hooks != NULL)
		d->hooks = *hooks;
}

static delivery_sub_t *sub_find(const delivery_t *d, const char *id, size_t len)
{
	for (size_t i = 0; i < d->nsubs; i++)
		if (strlen(d->subs[i]->id) == len && memcmp(d->subs[i]->id, id, len) == 0)
			return d->subs[i];
	return NULL;
}

static void sub_free(delivery_sub_t *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->dest);
	free(s);
}

static void sub_remove(delivery_t *d, delivery_sub_t *s)
{
	size_t i;

	for (i = 0; i < d->nsubs && d->subs[i] != s; i++)
		;
	if (i == d->nsubs)
		return;
	if (d->hooks.sub_removing != NULL)
		d->hooks.sub_removing(d->hooks.ctx, s);
	for (size_t k = 0; k < d->npend; k++)
		if (d->pend[k].sub == s)
			d->pend[k].sub = NULL;
	memmove(&d->subs[i], &d->subs[i + 1], (d->nsubs - i - 1) * sizeof(*d->subs));
	d->nsubs--;
	sub_free(s);
}

/* Adds (or replaces) subscription id. */
static int sub_add(delivery_t *d, const char *id, size_t id_len, const char *dest,
		   session_ack_t ack, int64_t from_seq)
{
	delivery_sub_t *s, *old = sub_find(d, id, id_len);
	chat_slice_t ds = { dest, strlen(dest) };

	if (old != NULL)
		sub_remove(d, old);
	if (d->nsubs >= SESSION_SUBS_MAX)
		return CHAT_ETOOMANY;
	if (chat_array_reserve((void **)&d->subs, &d->subs_cap, d->nsubs, sizeof(*d->subs), 4, 0) !=
	    CHAT_OK)
		return CHAT_ENOMEM;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return CHAT_ENOMEM;
	s->id = malloc(id_len + 1);
	s->dest = strdup(dest);
	if (s->id == NULL || s->dest == NULL) {
		sub_free(s);
		return CHAT_ENOMEM;
	}
	memcpy(s->id, id, id_len);
	s->id[id_len] = '\0';
	s->dest_len = ds.len;
	s->ack = ack;
	s->kind = dest_classify(ds);
	s->pattern = strpbrk(dest, "*?") != NULL;
	s->from_seq = from_seq;
	s->owner = d;
	d->subs[d->nsubs++] = s;
	if (d->hooks.sub_added != NULL)
		d->hooks.sub_added(d->hooks.ctx, s);
	return CHAT_OK;
}

static void set_user(delivery_t *d, const char *user, size_t len)
{
	char old[SESSION_USER_MAX + 1];

	snprintf(old, sizeof(old), "%s", d->has_user ? d->user : "");
	if (len > SESSION_USER_MAX)
		len = SESSION_USER_MAX;
	memcpy(d->user, user, len);
	d->user[len] = '\0';
	d->has_user = 1;
	if (d->hooks.user_set != NULL)
		d->hooks.user_set(d->hooks.ctx, d, old[0] ? old : NULL);
}

static void pending_clear(delivery_pending_t *p)
{
	free(p->dest);
	free(p->ctype);
	free(p->body);
	free(p->sender);
	memset(p, 0, sizeof(*p));
}

void delivery_clear(delivery_t *d)
{
	while (d->nsubs > 0)
		sub_remove(d, d->subs[d->nsubs - 1]);
	free(d->subs);
	d->subs = NULL;
	d->subs_cap = 0;
	for (size_t i = 0; i < d->npend; i++)
		pending_clear(&d->pend[i]);
	free(d->pend);
	d->pend = NULL;
	d->npend = d->pend_cap = 0;
}

/* session_sub_list()'s callback for delivery_load(): keeps one stored
 * subscription in d. */
static int load_sub(void *ctx, const session_sub_t *sub)
{
	return sub_add(ctx, sub->sub_id, strlen(sub->sub_id), sub->destination, sub->ack_mode,
		       sub->from_seq);
}

int delivery_load(chatdb_t *db, delivery_t *d, chat_error_t *err)
{
	session_info_t info;
	broker_state_t bs;
	int rc;

	rc = session_get(db, d->key, &info, err);
	if (rc != CHAT_OK)
		return rc;
	while (d->nsubs > 0)
		sub_remove(d, d->subs[d->nsubs - 1]);
	if (info.has_user)
		set_user(d, info.user_name, strlen(info.user_name));
	if (info.state == SESSION_CLOSED) {
		d->closed = 1;
		d->close_code = info.close_code;
		snprintf(d->close_reason, sizeof(d->close_reason), "%s", info.close_reason);
	}
	if (d->kind != DELIVERY_STOMP)
		return CHAT_OK;
	if ((rc = broker_state__get(db, d->key, &bs, err)) != CHAT_OK)
		return rc;
	d->connected = bs.connected;
	if (bs.connected) {
		d->version = bs.version;
		d->hb_client_recv_ms = bs.hb_client_recv_ms;
	}
	if (!d->connected)
		return CHAT_OK;
	rc = session_sub_list(db, d->key, load_sub, d, err);
	if (rc == CHAT_ENOMEM)
		chat_error_set(err, rc, "out of memory");
	return rc;
}

int delivery_is_for(const delivery_t *d, const outbox_row_t *row)
{
	return row->target_session.ptr != NULL && row->target_session.len == d->key_len &&
	       memcmp(row->target_session.ptr, d->key, d->key_len) == 0;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		if (n > 0)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Remembers that sub was handed message seq of row (client ack modes). */
static int record(delivery_t *d, delivery_sub_t *sub, const outbox_row_t *row, const char *dest)
{
	char ctype_buf[CHATDB_DEST_MAX + 1], sender_buf[SESSION_USER_MAX + 1];
	const char *ctype = delivery__row_ctype(row, ctype_buf),
		   *sender = delivery__row_sender(row, sender_buf);
	delivery_pending_t *p;

	if (chat_array_reserve((void **)&d->pend, &d->pend_cap, d->npend, sizeof(*d->pend), 8, 0) !=
	    CHAT_OK)
		return CHAT_ENOMEM;
	p = &d->pend[d->npend];
	p->sub = sub;
	p->seq = row->seq;
	p->dest = strdup(dest);
	p->ctype = ctype ? strdup(ctype) : NULL;
	p->body = dup_n(row->body.ptr ? row->body.ptr : "", row->body.len);
	p->sender = sender ? strdup(sender) : NULL;
	p->body_len = row->body.len;
	if (p->dest == NULL || (ctype && p->ctype == NULL) || p->body == NULL ||
	    (sender && p->sender == NULL)) {
		pending_clear(p);
		return CHAT_ENOMEM;
	}
	d->npend++;
	return CHAT_OK;
}

/* A state change or a complete frame for this session. */
static int apply_direct(delivery_t *d, const outbox_row_t *row, json_strv_t *out,
			chat_buf_t *scratch)
{
	chat_slice_t v, a, f;
	int rc = CHAT_OK;

	if (row->body.len > 0) {
		rc = delivery__push(d, out, scratch, row->body.ptr, row->body.len);
		if (rc != CHAT_OK)
			return rc;
	}
	if (chatrow_hdr_get(row->headers, DELIVERY_H_VERSION, &v)) {
		int ver = (int)strtol(v.ptr, NULL, 10);

		d->connected = 1;
		d->version = ver == 10 ? STOMP_V1_0 : ver == 11 ? STOMP_V1_1 : STOMP_V1_2;
		if (chatrow_hdr_get(row->headers, DELIVERY_H_USER, &v))
			set_user(d, v.ptr, v.len);
		if (chatrow_hdr_get(row->headers, DELIVERY_H_HB, &v))
			d->hb_client_recv_ms = strtoll(v.ptr, NULL, 10);
	}
	if (chatrow_hdr_get(row->headers, DELIVERY_H_SUB, &v) &&
	    chatrow_hdr_get(row->headers, DELIVERY_H_DEST, &a)) {
		session_ack_t ack = SESSION_ACK_AUTO;

		if (chatrow_hdr_get(row->headers, DELIVERY_H_ACK, &f) &&
		    session_ack_parse(f.ptr, &ack) != CHAT_OK)
			ack = SESSION_ACK_AUTO;
		rc = sub_add(d, v.ptr, v.len, a.ptr, ack,
			     chatrow_hdr_get(row->headers, DELIVERY_H_FROM, &f)
				     ? strtoll(f.ptr, NULL, 10)
				     : row->seq);
		if (rc == CHAT_ETOOMANY)
			rc = CHAT_OK; /* the broker bounds them: cannot happen */
	}
	if (chatrow_hdr_get(row->headers, DELIVERY_H_UNSUB, &v)) {
		delivery_sub_t *s = sub_find(d, v.ptr, v.len);

		if (s != NULL)
			sub_remove(d, s);
	}
	if (chatrow_hdr_get(row->headers, "close-code", &v)) {
		d->closed = 1;
		d->close_code = (int)strtol(v.ptr, NULL, 10);
		if (!chatrow_hdr_get(row->headers, "close-reason", &v))
			v = CHAT_SLICE("");
		snprintf(d->close_reason, sizeof(d->close_reason), "%.*s", (int)v.len, v.ptr);
	}
	return rc;
}

/* Pushes the MESSAGEs of row for the matching subscriptions of d: one
 * message; frames for several subscriptions are concatenated. */
static int apply_matches(delivery_t *d, delivery_sub_t **m, size_t n, const outbox_row_t *row,
			 const char *dest, delivery_cache_t *cache, json_strv_t *out,
			 chat_buf_t *scratch)
{
	size_t before = out->n, i;
	int rc;

	if (n == 1 && cache != NULL) {
		chat_slice_t frame;

		rc = delivery__cached_frame(cache, d, m[0], row, dest, &frame);
		if (rc == CHAT_OK)
			rc = json_strv_push(out, frame.ptr, frame.len);
	} else {
		chat_buf_t raw;

		chat_buf_init(&raw, (size_t)OUTBOX_BODY_MAX * 2 + 65536);
		rc = CHAT_OK;
		for (i = 0; i < n && rc == CHAT_OK; i++)
			rc = delivery__render_raw(d, m[i], row, dest, &raw);
		if (rc == CHAT_OK)
			rc = delivery__push(d, out, scratch, raw.data, raw.len);
		chat_buf_free(&raw);
	}
	if (rc == CHAT_EUTF8)
		rc = CHAT_EINVAL;
	for (i = 0; i < n && rc == CHAT_OK; i++)
		if (m[i]->ack != SESSION_ACK_AUTO)
			rc = record(d, m[i], row, dest);
	if (rc == CHAT_OK)
		metrics_add(METRICS_DELIVERIES, (int64_t)n);
	if (rc != CHAT_OK && out->n > before) {
		/* All or nothing: take the message back out. */
		out->n = before;
		out->buf.len = before > 0 ? out->ends[before - 1] : 0;
	}
	return rc;
}

int delivery_apply(delivery_t *d, const outbox_row_t *row, delivery_cache_t *cache,
		   json_strv_t *out)
{
	delivery_sub_t *m[SESSION_SUBS_MAX];
	chat_slice_t v, user, rest;
	char dest[CHATDB_DEST_MAX + 8];
	chat_buf_t scratch;
	size_t n = 0, i, dlen, ulen = strlen(dest_prefixes()->user);
	dest_kind_t want;
	int rc = CHAT_OK;

	if (d->closed)
		return CHAT_OK;
	chat_buf_init(&scratch, (size_t)OUTBOX_BODY_MAX * 6 + 65536);
	if (row->target_session.ptr != NULL) {
		if (!delivery_is_for(d, row))
			goto out;
		if (d->kind == DELIVERY_ECHO) {
			rc = delivery__push(d, out, &scratch, row->body.ptr ? row->body.ptr : "",
					    row->body.len);
			goto out;
		}
		if (row->destination.len == 0 || row->destination.ptr[0] != '/') {
			rc = apply_direct(d, row, out, &scratch);
			goto out;
		}
		/* A /queue message for the subscription chosen at SEND. */
		if (!d->connected || !chatrow_hdr_get(row->headers, "sub", &v))
			goto out;
		m[0] = sub_find(d, v.ptr, v.len);
		if (m[0] != NULL)
			rc = apply_matches(d, m, 1, row, row->destination.ptr, NULL, out, &scratch);
		goto out;
	}
	if (!d->connected || d->kind != DELIVERY_STOMP)
		goto out;
	switch (dest_classify(row->destination)) {
	case DEST_TOPIC:
		want = DEST_TOPIC;
		if (row->destination.len >= sizeof(dest))
			goto out;
		memcpy(dest, row->destination.ptr, row->destination.len);
		dlen = row->destination.len;
		break;
	case DEST_USER:
		if (!d->has_user || dest_user_split(row->destination, &user, &rest) != CHAT_OK ||
		    !chat_slice_eq(user, d->user) || rest.len + ulen >= sizeof(dest))
			goto out;
		want = DEST_USER;
		memcpy(dest, dest_prefixes()->user, ulen);
		memcpy(dest + ulen, rest.ptr, rest.len);
		dlen = rest.len + ulen;
		break;
	default: goto out;
	}
	dest[dlen] = '\0';
	for (i = 0; i < d->nsubs; i++) {
		delivery_sub_t *s = d->subs[i];

		if (row->seq <= s->from_seq || s->kind != want)
			continue;
		/* A subscription without wildcards names the destination exactly. */
		if (s->pattern ? dest_match((chat_slice_t){ s->dest, s->dest_len },
					    (chat_slice_t){ dest, dlen })
			       : s->dest_len == dlen && memcmp(s->dest, dest, dlen) == 0)
			m[n++] = s;
	}
	if (n > 0)
		rc = apply_matches(d, m, n, row, dest, cache, out, &scratch);
out:
	chat_buf_free(&scratch);
	return rc;
}

int delivery_flush_pending(chatdb_t *db, delivery_t *d, chat_error_t *err)
{
	char ack_id[DELIVERY_ACK_ID_MAX + 1];
	size_t i;
	int rc = CHAT_OK;

	for (i = 0; i < d->npend && rc == CHAT_OK; i++) {
		const delivery_pending_t *p = &d->pend[i];
		broker_unacked_t u;

		if (p->sub == NULL)
			continue; /* unsubscribed since: nothing to acknowledge */
		delivery_ack_id(ack_id, p->seq, p->sub->id);
		u = (broker_unacked_t){ .session_id = d->key,
					.ack_id = ack_id,
					.sub_id = p->sub->id,
					.sub_dest = p->sub->dest,
					.ack = p->sub->ack,
					.seq = p->seq,
					.dest = p->dest,
					.ctype = p->ctype,
					.body = { p->body, p->body_len },
					.user = d->has_user ? d->user : NULL,
					.sender = p->sender };
		rc = broker_ack__unacked_put(db, &u, NULL, err);
	}
	if (rc == CHAT_OK) {
		for (i = 0; i < d->npend; i++)
			pending_clear(&d->pend[i]);
		d->npend = 0;
	}
	return rc;
}
