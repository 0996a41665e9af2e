/* dispatch.c - the per-process dispatcher (see dispatch.h). */
#include "config.h"
#include "dispatch.h"

#include "clock.h"
#include "log.h"
#include "stomp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Buckets of the key, topic and user hashes. */
#define BUCKETS 4096
/* A session's batch buffer up to this size is kept between takes. */
#define BATCH_KEEP_BYTES 1024
#define BATCH_KEEP_ITEMS 8

/* An index entry: a topic's exact subscriptions, or a user's sessions. */
typedef struct entry {
	struct entry *next; /* in its bucket */
	char *name;
	size_t name_len;
	delivery_sub_t *subs;  /* topic: subscriptions (sub->next) */
	dispatch_sess_t *sess; /* user: sessions (s->unext) */
} entry_t;

struct dispatch_sess {
	delivery_t dl;
	dispatch_t *d;
	dispatch_sess_t *hnext;         /* in its key bucket */
	dispatch_sess_t *uprev, *unext; /* in its user entry */
	entry_t *uentry;
	json_strv_t batch;           /* messages not yet taken */
	size_t max_bytes, max_items; /* its caps */
	int lagging;                 /* fed from the outbox by dispatch_take() */
	int64_t cursor;              /* lagging: last row applied */
	int64_t skip_until;          /* in step: rows up to this are not for it */
	int64_t taken;               /* cursor as of the last take */
	int64_t stamp;               /* last row routed to it (no row twice) */
	int touched;                 /* in this wakeup's list */
	int ready;
	pthread_cond_t cond;
	dispatch_ready_cb cb;
	void *cb_ctx;
};

struct dispatch {
	pthread_mutex_t lock;
	pthread_cond_t sessions_cond;
	chatdb_t *db; /* dispatch_run()'s handle (borrowed) */
	int64_t pos;  /* every session in step has seen rows up to it */
	size_t nsess;
	int stopped;
	dispatch_sess_t *keys[BUCKETS];
	entry_t *topics[BUCKETS];
	entry_t *users[BUCKETS];
	delivery_sub_t *patterns; /* subscriptions with wildcards */
	delivery_cache_t *cache;
	dispatch_sess_t **touched;
	size_t ntouched, touched_cap;
	int64_t wakeups, rows, deliveries; /* counters, for the log */
};

static size_t hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	while (n-- > 0)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return (size_t)(h % BUCKETS);
}

static entry_t *entry_find(entry_t **table, const char *name, size_t len, int create)
{
	entry_t **pp = &table[hash(name, len)], *e;

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

static void entry_drop_if_empty(entry_t **table, entry_t *e)
{
	entry_t **pp;

	if (e->subs != NULL || e->sess != NULL)
		return;
	for (pp = &table[hash(e->name, e->name_len)]; *pp != NULL && *pp != e; pp = &(*pp)->next)
		;
	if (*pp == e)
		*pp = e->next;
	free(e->name);
	free(e);
}

/* ---- index hooks (lock held) -------------------------------------------- */

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
	entry_t *e;

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
	entry_t *e;

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

static void user_unlink(dispatch_t *d, dispatch_sess_t *s)
{
	entry_t *e = s->uentry;

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
	entry_t *e;

	(void)old_user;
	if (s == NULL)
		return;
	user_unlink(d, s);
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

/* ---- lifecycle ---------------------------------------------------------- */

int dispatch_new(chatdb_t *db, dispatch_t **out)
{
	dispatch_t *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;

	*out = NULL;
	if (d == NULL || (d->cache = delivery_cache_new()) == NULL) {
		free(d);
		return CHAT_ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->sessions_cond, &ca);
	pthread_condattr_destroy(&ca);
	d->db = db;
	*out = d;
	return CHAT_OK;
}

void dispatch_free(dispatch_t *d)
{
	if (d == NULL)
		return;
	if (d->nsess > 0)
		log_warn("dispatcher freed with %zu sessions attached", d->nsess);
	delivery_cache_free(d->cache);
	free(d->touched);
	pthread_cond_destroy(&d->sessions_cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int64_t effective(const dispatch_t *d, const dispatch_sess_t *s)
{
	if (s->lagging)
		return s->cursor;
	return s->skip_until > d->pos ? s->skip_until : d->pos;
}

static int64_t cursor_of(const dispatch_t *d, const dispatch_sess_t *s)
{
	return s->batch.n > 0 ? s->taken : effective(d, s);
}

int dispatch_attach(dispatch_t *d, chatdb_t *db, const char *key, delivery_kind_t kind, int framed,
		    int64_t cursor, size_t max_bytes, size_t max_items, dispatch_ready_cb cb,
		    void *ctx, dispatch_sess_t **out, chat_error_t *err)
{
	delivery_hooks_t hooks = { on_sub_added, on_sub_removing, on_user_set, d };
	dispatch_sess_t *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	size_t b;
	int rc;

	*out = NULL;
	if (s == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	delivery_init(&s->dl, key, kind, framed, &hooks);
	s->dl.user_data = s;
	s->d = d;
	s->cb = cb;
	s->cb_ctx = ctx;
	s->max_bytes = max_bytes;
	s->max_items = max_items;
	json_strv_init(&s->batch, max_bytes, max_items);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&d->lock);
	rc = delivery_load(db, &s->dl, err);
	if (rc != CHAT_OK) {
		delivery_clear(&s->dl);
		user_unlink(d, s);
		pthread_mutex_unlock(&d->lock);
		pthread_cond_destroy(&s->cond);
		free(s);
		return rc;
	}
	b = hash(s->dl.key, s->dl.key_len);
	s->hnext = d->keys[b];
	d->keys[b] = s;
	if (d->nsess == 0)
		d->pos = cursor; /* nobody else in step: start where it is */
	if (cursor >= d->pos) {
		s->skip_until = cursor;
	} else {
		s->lagging = 1;
		s->cursor = cursor;
		s->ready = 1;
	}
	s->taken = cursor;
	d->nsess++;
	pthread_cond_broadcast(&d->sessions_cond);
	pthread_mutex_unlock(&d->lock);
	*out = s;
	return CHAT_OK;
}

int64_t dispatch_detach(dispatch_t *d, dispatch_sess_t *s)
{
	dispatch_sess_t **pp;
	int64_t cursor;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&d->lock);
	cursor = cursor_of(d, s);
	delivery_clear(&s->dl);
	user_unlink(d, s);
	for (pp = &d->keys[hash(s->dl.key, s->dl.key_len)]; *pp != NULL && *pp != s;
	     pp = &(*pp)->hnext)
		;
	if (*pp == s)
		*pp = s->hnext;
	for (size_t i = 0; i < d->ntouched; i++)
		if (d->touched[i] == s)
			d->touched[i] = NULL;
	d->nsess--;
	pthread_mutex_unlock(&d->lock);
	json_strv_free(&s->batch);
	pthread_cond_destroy(&s->cond);
	free(s);
	return cursor;
}

int64_t dispatch_cursor(dispatch_t *d, dispatch_sess_t *s)
{
	int64_t c;

	pthread_mutex_lock(&d->lock);
	c = cursor_of(d, s);
	pthread_mutex_unlock(&d->lock);
	return c;
}

int64_t dispatch_heartbeat_wanted(dispatch_t *d, dispatch_sess_t *s)
{
	int64_t ms;

	pthread_mutex_lock(&d->lock);
	ms = s->dl.connected && !s->dl.closed ? s->dl.hb_client_recv_ms : 0;
	pthread_mutex_unlock(&d->lock);
	return ms;
}

size_t dispatch_count(dispatch_t *d)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->nsess;
	pthread_mutex_unlock(&d->lock);
	return n;
}

int dispatch_wait_sessions(dispatch_t *d)
{
	int r;

	pthread_mutex_lock(&d->lock);
	while (d->nsess == 0 && !d->stopped)
		pthread_cond_wait(&d->sessions_cond, &d->lock);
	r = !d->stopped;
	pthread_mutex_unlock(&d->lock);
	return r;
}

void dispatch_stop(dispatch_t *d)
{
	pthread_mutex_lock(&d->lock);
	d->stopped = 1;
	pthread_cond_broadcast(&d->sessions_cond);
	pthread_mutex_unlock(&d->lock);
}

/* ---- waking ------------------------------------------------------------- */

static void touch(dispatch_t *d, dispatch_sess_t *s)
{
	if (s->touched)
		return;
	if (chat_array_reserve((void **)&d->touched, &d->touched_cap, d->ntouched,
			       sizeof(*d->touched), 64, 0) != CHAT_OK) {
		/* Cannot remember it: wake it now (its pending acks are
		 * written by its own take). */
		s->ready = 1;
		pthread_cond_signal(&s->cond);
		if (s->cb != NULL)
			s->cb(s->cb_ctx);
		return;
	}
	s->touched = 1;
	d->touched[d->ntouched++] = s;
}

static void wake(dispatch_sess_t *s)
{
	s->ready = 1;
	pthread_cond_signal(&s->cond);
	if (s->cb != NULL)
		s->cb(s->cb_ctx);
}

int dispatch_wait(dispatch_t *d, dispatch_sess_t *s, int timeout_ms)
{
	struct timespec ts;
	int r;

	chat_deadline(CLOCK_MONOTONIC, timeout_ms > 0 ? timeout_ms : 0, &ts);
	pthread_mutex_lock(&d->lock);
	while (!s->ready && timeout_ms > 0)
		if (pthread_cond_timedwait(&s->cond, &d->lock, &ts) != 0)
			break;
	r = s->ready;
	pthread_mutex_unlock(&d->lock);
	return r;
}

int dispatch_ready(dispatch_t *d, dispatch_sess_t *s)
{
	int r;

	pthread_mutex_lock(&d->lock);
	r = s->ready;
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* ---- routing (lock held) ------------------------------------------------ */

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
			log_warn("session %s: message %lld is larger than it may receive: skipped",
				 LOG_SID(s->dl.key), (long long)row->seq);
			return;
		}
		/* Full: the outbox holds the rest until it drains. */
		s->lagging = 1;
		s->cursor = row->seq - 1;
		touch(d, s);
		return;
	}
	if (rc == CHAT_EINVAL)
		log_warn("session %s: message %lld cannot be rendered for it: skipped",
			 LOG_SID(s->dl.key), (long long)row->seq);
	else if (rc != CHAT_OK)
		log_error("session %s: message %lld: %s", LOG_SID(s->dl.key), (long long)row->seq,
			  chat_strerror(rc));
	if (s->batch.n > before || s->dl.closed != was_closed)
		touch(d, s);
	if (s->batch.n > before)
		d->deliveries++;
}

static int route_row(void *ctx, const outbox_row_t *row)
{
	dispatch_t *d = ctx;
	chat_slice_t user, rest;
	dispatch_sess_t *s;
	delivery_sub_t *sub, *next;
	entry_t *e;

	delivery_cache_reset(d->cache);
	d->rows++;
	if (row->target_session.ptr != NULL) {
		for (s = d->keys[hash(row->target_session.ptr, row->target_session.len)]; s != NULL;
		     s = s->hnext)
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

/* Writes the acknowledgement state of the touched sessions, then wakes
 * them. */
static void finish_wakeup(dispatch_t *d)
{
	chat_error_t err = { 0 };
	size_t i, npend = 0;
	int rc = CHAT_OK;

	for (i = 0; i < d->ntouched; i++)
		if (d->touched[i] != NULL)
			npend += d->touched[i]->dl.npend;
	if (npend > 0) {
		rc = chatdb__begin(d->db, &err);
		for (i = 0; i < d->ntouched && rc == CHAT_OK; i++)
			if (d->touched[i] != NULL)
				rc = delivery_flush_pending(d->db, &d->touched[i]->dl, &err);
		if (rc == CHAT_OK)
			rc = chatdb__commit(d->db, &err);
		else
			chatdb__rollback(d->db);
		if (rc != CHAT_OK)
			log_error("cannot record unacknowledged messages: %s (each session's "
				  "next take tries again)",
				  err.message);
	}
	for (i = 0; i < d->ntouched; i++) {
		dispatch_sess_t *s = d->touched[i];

		if (s == NULL)
			continue;
		s->touched = 0;
		wake(s);
	}
	d->ntouched = 0;
}

int dispatch_run(dispatch_t *d, int *more, chat_error_t *err)
{
	int64_t last = 0;
	int rc = CHAT_OK, n;

	if (more != NULL)
		*more = 0;
	pthread_mutex_lock(&d->lock);
	if (d->nsess == 0)
		goto out;
	d->wakeups++;
	n = (int)d->rows;
	rc = outbox_read_after(d->db, d->pos, OUTBOX_READ_MAX, route_row, d, &last, err);
	if (rc == CHAT_OK) {
		if (more != NULL)
			*more = (int)d->rows - n >= OUTBOX_READ_MAX;
		if (last > d->pos)
			d->pos = last;
	}
	finish_wakeup(d);
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* ---- taking ------------------------------------------------------------- */

typedef struct catchup {
	dispatch_t *d;
	dispatch_sess_t *s;
	json_strv_t *out;
	int64_t expect; /* the seq the next row should have */
	int behind;     /* rows it needed were pruned */
	int full;       /* out is full: the rest in the next take */
} catchup_t;

static int catchup_row(void *ctx, const outbox_row_t *row)
{
	catchup_t *c = ctx;
	int rc;

	if (row->seq > c->expect) {
		c->behind = 1;
		return CHAT_STOP;
	}
	c->expect = row->seq + 1;
	if (c->s->dl.closed)
		return 0;
	rc = delivery_apply(&c->s->dl, row, NULL, c->out);
	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY) {
		if (c->out->n > 0) {
			c->full = 1;
			return CHAT_STOP; /* the rest in the next take */
		}
		log_warn("session %s: message %lld is larger than it may receive: skipped",
			 LOG_SID(c->s->dl.key), (long long)row->seq);
		return 0;
	}
	if (rc == CHAT_EINVAL) {
		log_warn("session %s: message %lld cannot be rendered for it: skipped",
			 LOG_SID(c->s->dl.key), (long long)row->seq);
		return 0;
	}
	return rc;
}

/* Tells a session that fell behind the retention window, then closes it. */
static void fell_behind(dispatch_sess_t *s, json_strv_t *out)
{
	chat_buf_t f, enc;

	log_warn("session %s: fell behind the retention window at %lld: closing it",
		 LOG_SID(s->dl.key), (long long)s->cursor);
	chat_buf_init(&f, 4096);
	chat_buf_init(&enc, 4096 * 6);
	if (s->dl.kind == DELIVERY_STOMP && s->dl.connected &&
	    stomp_serialize_error(&f, s->dl.version, DISPATCH_ERROR_BEHIND, NULL, NULL, 0) ==
		    CHAT_OK) {
		if (!s->dl.framed)
			(void)json_strv_push(out, f.data, f.len);
		else if (json_encode_string(&enc, f.data, f.len) == CHAT_OK)
			(void)json_strv_push(out, enc.data, enc.len);
	}
	chat_buf_free(&f);
	chat_buf_free(&enc);
	s->dl.closed = 1;
	s->dl.close_code = DISPATCH_CLOSE_BEHIND;
	snprintf(s->dl.close_reason, sizeof(s->dl.close_reason), "%s", DISPATCH_REASON_BEHIND);
}

/* Feeds a lagging s from the outbox into out until out is full or s has
 * caught up (then it rejoins the dispatcher). */
static int catch_up(dispatch_t *d, dispatch_sess_t *s, chatdb_t *db, json_strv_t *out,
		    chat_error_t *err)
{
	catchup_t c = { d, s, out, s->cursor + 1, 0, 0 };
	int64_t last;
	int rc;

	for (;;) {
		size_t before = out->n;

		rc = outbox_read_after(db, s->cursor, OUTBOX_READ_MAX, catchup_row, &c, &last, err);
		if (rc != CHAT_OK)
			return rc;
		if (c.behind && last == s->cursor) {
			int64_t head = 0;

			/* Rows after the cursor are gone.  (The first seq of a
			 * new chat.db starts above old cursors only if the file
			 * was replaced: the session is gone then anyway.) */
			fell_behind(s, out);
			(void)outbox_last_seq(db, &head, NULL);
			s->cursor = head;
			break;
		}
		if (c.full && last == s->cursor)
			return CHAT_OK; /* out was full already */
		if (last == s->cursor && d->pos > s->cursor) {
			int64_t head = 0;

			/* Nothing after the cursor although the dispatcher saw
			 * rows there: they were pruned. */
			if (outbox_last_seq(db, &head, err) != CHAT_OK)
				return CHAT_EDB;
			if (head > s->cursor) {
				fell_behind(s, out);
				s->cursor = head;
			}
			break;
		}
		if (last == s->cursor)
			break; /* nothing more in the outbox: caught up */
		s->cursor = last;
		if (s->dl.closed || c.full || c.behind)
			return CHAT_OK;
		if (out->n > before && out->buf.len >= out->buf.max / 2)
			return CHAT_OK; /* enough for one response */
	}
	s->lagging = 0;
	s->skip_until = s->cursor;
	return CHAT_OK;
}

int dispatch_take(dispatch_t *d, dispatch_sess_t *s, chatdb_t *db, json_strv_t *out,
		  dispatch_end_t *end, chat_error_t *err)
{
	int rc = CHAT_OK;
	size_t i;

	pthread_mutex_lock(&d->lock);
	s->ready = 0;
	for (i = 0; i < s->batch.n && rc == CHAT_OK; i++) {
		chat_slice_t m = json_strv_at(&s->batch, i);

		rc = json_strv_push(out, m.ptr, m.len);
	}
	if (rc != CHAT_OK) {
		rc = chat_error_set(err, rc, "a batch does not fit the caller's buffer");
		goto out;
	}
	/* A small batch keeps its memory for the next; a large one (a burst)
	 * gives it back, so that an idle connection holds little. */
	if (s->batch.buf.cap <= BATCH_KEEP_BYTES && s->batch.cap <= BATCH_KEEP_ITEMS) {
		json_strv_reset(&s->batch);
	} else {
		json_strv_free(&s->batch);
		json_strv_init(&s->batch, s->max_bytes, s->max_items);
	}
	if (s->lagging && !s->dl.closed)
		rc = catch_up(d, s, db, out, err);
	if (rc == CHAT_OK && s->dl.npend > 0) {
		rc = chatdb__begin(db, err);
		if (rc == CHAT_OK)
			rc = delivery_flush_pending(db, &s->dl, err);
		if (rc == CHAT_OK)
			rc = chatdb__commit(db, err);
		else
			chatdb__rollback(db);
	}
	s->taken = effective(d, s);
	if (s->lagging)
		s->ready = 1; /* more to read from the outbox once this is written */
out:
	if (end != NULL) {
		end->closed = s->dl.closed;
		end->code = s->dl.close_code;
		end->reason[0] = '\0';
		if (s->dl.closed)
			snprintf(end->reason, sizeof(end->reason), "%s", s->dl.close_reason);
	}
	if (rc != CHAT_OK && err != NULL && err->message[0] == '\0')
		chat_error_set(err, rc, "reading the outbox: %s", chat_strerror(rc));
	pthread_mutex_unlock(&d->lock);
	return rc;
}
