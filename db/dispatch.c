/* dispatch.c - the per-process dispatcher (see dispatch.h): its life,
 * attaching and detaching sessions, waking them, and dispatch_run(); the
 * index and routing are in dispatch_route.c, taking in dispatch_take.c. */
#include "config.h"
#include "dispatch_int.h"

#include "clock.h"
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* ---- lifecycle ---------------------------------------------------------- */

/* Conditions are timed on CLOCK_MONOTONIC (chat_deadline() in
 * dispatch_wait()): a wall-clock step does not stretch a wait. */
static void cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

int dispatch_new(chatdb_t *db, dispatch_t **out)
{
	dispatch_t *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL || (d->cache = delivery_cache_new()) == NULL) {
		free(d);
		return CHAT_ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	cond_init_monotonic(&d->sessions_cond);
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

int64_t dispatch__effective(const dispatch_t *d, const dispatch_sess_t *s)
{
	if (s->lagging)
		return s->cursor;
	return s->skip_until > d->pos ? s->skip_until : d->pos;
}

static int64_t cursor_of(const dispatch_t *d, const dispatch_sess_t *s)
{
	return s->batch.n > 0 ? s->taken : dispatch__effective(d, s);
}

int dispatch_attach(dispatch_t *d, chatdb_t *db, const char *key, delivery_kind_t kind, int framed,
		    int64_t cursor, size_t max_bytes, size_t max_items, dispatch_ready_cb cb,
		    void *ctx, dispatch_sess_t **out, chat_error_t *err)
{
	delivery_hooks_t hooks = dispatch__index_hooks(d);
	dispatch_sess_t *s = calloc(1, sizeof(*s));
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
	cond_init_monotonic(&s->cond);
	pthread_mutex_lock(&d->lock);
	rc = delivery_load(db, &s->dl, err);
	if (rc != CHAT_OK) {
		delivery_clear(&s->dl);
		dispatch__user_unlink(d, s);
		pthread_mutex_unlock(&d->lock);
		pthread_cond_destroy(&s->cond);
		free(s);
		return rc;
	}
	b = dispatch__hash(s->dl.key, s->dl.key_len);
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
	dispatch__user_unlink(d, s);
	for (pp = &d->keys[dispatch__hash(s->dl.key, s->dl.key_len)]; *pp != NULL && *pp != s;
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

static void wake(dispatch_sess_t *s)
{
	s->ready = 1;
	pthread_cond_signal(&s->cond);
	if (s->cb != NULL)
		s->cb(s->cb_ctx);
}

void dispatch__touch(dispatch_t *d, dispatch_sess_t *s)
{
	if (s->touched)
		return;
	if (chat_array_reserve((void **)&d->touched, &d->touched_cap, d->ntouched,
			       sizeof(*d->touched), 64, 0) != CHAT_OK) {
		/* Cannot remember it: wake it now (its pending acks are
		 * written by its own take). */
		wake(s);
		return;
	}
	s->touched = 1;
	d->touched[d->ntouched++] = s;
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
	rc = outbox_read_after(d->db, d->pos, OUTBOX_READ_MAX, dispatch__route_row, d, &last, err);
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
