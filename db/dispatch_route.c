/* dispatch_route.c - which attached sessions an outbox row concerns: the
 * dispatcher's in-memory index (sessions by key, exact /topic subscriptions
 * by destination, the patterned ones in a list, sessions by user), kept up
 * to date through the delivery hooks, and the routing of one row through it
 * (see dispatch.h). */
#include "config.h"
#include "dispatch_int.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

size_t dispatch__hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return (size_t)(h % DISPATCH_BUCKETS);
}

static dispatch_entry_t *entry_find(dispatch_entry_t **table, const char *name, size_t len,
				    int create)
{
	dispatch_entry_t **pp = &table[dispatch__hash(name, len)], *e;

	for (e = *pp; e != NULL; e = e->next)
		if (e->name_len == len && memcmp(e->name, name, len) == 0)
			return e;
	if (!create)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->name = malloc(len + 1)) == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->name_len = len;
	e->next = *pp;
	*pp = e;
	return e;
}

static void entry_drop_if_empty(dispatch_entry_t **table, dispatch_entry_t *e)
{
	dispatch_entry_t **pp;

	if (e->subs != NULL || e->sess != NULL)
		return;
	for (pp = &table[dispatch__hash(e->name, e->name_len)]; *pp != NULL && *pp != e;
	     pp = &(*pp)->next)
		;
	if (*pp == e)
		*pp = e->next;
	free(e->name);
	free(e);
}

static void link_sub(delivery_sub_t **head, delivery_sub_t *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head != NULL)
		(*head)->prev = s;
	*head = s;
}

static void unlink_sub(delivery_sub_t **head, delivery_sub_t *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else if (*head == s)
		*head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void on_sub_added(void *ctx, delivery_sub_t *sub)
{
	dispatch_t *d = ctx;
	dispatch_entry_t *e;

	if (sub->kind != DEST_TOPIC)
		return; /* /queue rows are addressed; /user rows are found by user */
	if (sub->pattern) {
		link_sub(&d->patterns, sub);
		sub->entry = &d->patterns;
		return;
	}
	e = entry_find(d->topics, sub->dest, sub->dest_len, 1);
	if (e == NULL) {
		/* Out of memory: the subscription falls back to the pattern
		 * list, which every topic row scans. */
		link_sub(&d->patterns, sub);
		sub->entry = &d->patterns;
		return;
	}
	link_sub(&e->subs, sub);
	sub->entry = e;
}

static void on_sub_removing(void *ctx, delivery_sub_t *sub)
{
	dispatch_t *d = ctx;
	dispatch_entry_t *e;

	if (sub->entry == NULL)
		return;
	if (sub->entry == (void *)&d->patterns) {
		unlink_sub(&d->patterns, sub);
	} else {
		e = sub->entry;
		unlink_sub(&e->subs, sub);
		entry_drop_if_empty(d->topics, e);
	}
	sub->entry = NULL;
}

void dispatch__user_unlink(dispatch_t *d, dispatch_sess_t *s)
{
	dispatch_entry_t *e = s->uentry;

	if (e == NULL)
		return;
	if (s->uprev != NULL)
		s->uprev->unext = s->unext;
	else
		e->sess = s->unext;
	if (s->unext != NULL)
		s->unext->uprev = s->uprev;
	s->uprev = s->unext = NULL;
	s->uentry = NULL;
	entry_drop_if_empty(d->users, e);
}

static void on_user_set(void *ctx, delivery_t *dl, const char *old_user)
{
	dispatch_t *d = ctx;
	dispatch_sess_t *s = dl->user_data;
	dispatch_entry_t *e;

	(void)old_user;
	if (s == NULL)
		return;
	dispatch__user_unlink(d, s);
	e = entry_find(d->users, dl->user, strlen(dl->user), 1);
	if (e == NULL)
		return; /* out of memory: its /user messages come on its next request */
	s->uprev = NULL;
	s->unext = e->sess;
	if (e->sess != NULL)
		e->sess->uprev = s;
	e->sess = s;
	s->uentry = e;
}

delivery_hooks_t dispatch__index_hooks(dispatch_t *d)
{
	return (delivery_hooks_t){ on_sub_added, on_sub_removing, on_user_set, d };
}

/* ---- routing ------------------------------------------------------------ */

void dispatch__log_skipped(const dispatch_sess_t *s, int64_t seq, int rc)
{
	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY)
		log_warn("session %s: message %lld is larger than it may receive: skipped",
			 LOG_SID(s->dl.key), (long long)seq);
	else
		log_warn("session %s: message %lld cannot be rendered for it: skipped",
			 LOG_SID(s->dl.key), (long long)seq);
}

/* Hands row to s, which the index says it may concern. */
static void give(dispatch_t *d, dispatch_sess_t *s, const outbox_row_t *row)
{
	size_t before = s->batch.n;
	int was_closed = s->dl.closed, rc;

	if (s->lagging || row->seq <= s->skip_until || s->stamp == row->seq)
		return;
	s->stamp = row->seq;
	rc = delivery_apply(&s->dl, row, d->cache, &s->batch);
	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY) {
		if (s->batch.n == 0) {
			dispatch__log_skipped(s, row->seq, rc);
			return;
		}
		/* Full: the outbox holds the rest until it drains. */
		s->lagging = 1;
		s->cursor = row->seq - 1;
		dispatch__touch(d, s);
		return;
	}
	if (rc == CHAT_EINVAL)
		dispatch__log_skipped(s, row->seq, rc);
	else if (rc != CHAT_OK)
		log_error("session %s: message %lld: %s", LOG_SID(s->dl.key), (long long)row->seq,
			  chat_strerror(rc));
	if (s->batch.n > before || s->dl.closed != was_closed)
		dispatch__touch(d, s);
	if (s->batch.n > before)
		d->deliveries++;
}

int dispatch__route_row(void *ctx, const outbox_row_t *row)
{
	dispatch_t *d = ctx;
	chat_slice_t user, rest;
	dispatch_sess_t *s;
	delivery_sub_t *sub, *next;
	dispatch_entry_t *e;

	delivery_cache_reset(d->cache);
	d->rows++;
	if (row->target_session.ptr != NULL) {
		for (s = d->keys[dispatch__hash(row->target_session.ptr, row->target_session.len)];
		     s != NULL; s = s->hnext)
			if (delivery_is_for(&s->dl, row))
				give(d, s, row);
		return 0;
	}
	switch (dest_classify(row->destination)) {
	case DEST_TOPIC:
		e = entry_find(d->topics, row->destination.ptr, row->destination.len, 0);
		/* give() may change subscriptions only for rows addressed to a
		 * session, never for a broadcast: the lists stay as they are. */
		for (sub = e != NULL ? e->subs : NULL; sub != NULL; sub = next) {
			next = sub->next;
			give(d, sub->owner->user_data, row);
		}
		for (sub = d->patterns; sub != NULL; sub = next) {
			next = sub->next;
			if (sub->kind == DEST_TOPIC &&
			    dest_match((chat_slice_t){ sub->dest, sub->dest_len },
				       row->destination))
				give(d, sub->owner->user_data, row);
		}
		break;
	case DEST_USER:
		if (dest_user_split(row->destination, &user, &rest) != CHAT_OK)
			break;
		e = entry_find(d->users, user.ptr, user.len, 0);
		for (s = e != NULL ? e->sess : NULL; s != NULL; s = s->unext)
			give(d, s, row);
		break;
	default: break;
	}
	return 0;
}
