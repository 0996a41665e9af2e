/*
 * dispatch_int.h - what the files of the per-process dispatcher share
 * (private to db/dispatch*.c): the dispatcher and its sessions, and the
 * functions of routing rows through the index (dispatch_route.c), of
 * attaching and waking sessions (dispatch.c) and of taking their messages
 * (dispatch_take.c).  Every function here runs with the dispatcher's lock
 * held.  dispatch.h is the public side.
 */
#ifndef CHAT_DB_DISPATCH_INT_H
#define CHAT_DB_DISPATCH_INT_H

#include "dispatch.h"

#include <pthread.h>

/* Buckets of the key, topic and user hashes. */
#define DISPATCH_BUCKETS 4096

/* An index entry: a topic's exact subscriptions, or a user's sessions. */
typedef struct dispatch_entry {
	struct dispatch_entry *next; /* in its bucket */
	char *name;
	size_t name_len;
	delivery_sub_t *subs;  /* topic: subscriptions (sub->next) */
	dispatch_sess_t *sess; /* user: sessions (s->unext) */
} dispatch_entry_t;

struct dispatch_sess {
	delivery_t dl;
	dispatch_t *d;
	dispatch_sess_t *hnext;         /* in its key bucket */
	dispatch_sess_t *uprev, *unext; /* in its user entry */
	dispatch_entry_t *uentry;
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
	dispatch_sess_t *keys[DISPATCH_BUCKETS];
	dispatch_entry_t *topics[DISPATCH_BUCKETS];
	dispatch_entry_t *users[DISPATCH_BUCKETS];
	delivery_sub_t *patterns; /* subscriptions with wildcards */
	delivery_cache_t *cache;
	dispatch_sess_t **touched;
	size_t ntouched, touched_cap;
	int64_t wakeups, rows, deliveries; /* counters, for the log */
};

/* The bucket of name (p, n) in the dispatcher's hashes. */
size_t dispatch__hash(const char *p, size_t n);

/* The hooks through which a session's delivery state keeps d's index of
 * subscriptions and users up to date (delivery_init()). */
delivery_hooks_t dispatch__index_hooks(dispatch_t *d);

/* Takes s out of its user's entry of the index (a no-op when in none). */
void dispatch__user_unlink(dispatch_t *d, dispatch_sess_t *s);

/* dispatch_run()'s outbox_read_after() callback (ctx: the dispatcher):
 * hands row to every session the index says it may concern.  Returns 0. */
CHAT_MUST_CHECK int dispatch__route_row(void *ctx, const outbox_row_t *row);

/* Logs that message seq was skipped for s: rc CHAT_ETOOBIG or
 * CHAT_ETOOMANY (larger than s may receive), else CHAT_EINVAL (it cannot
 * be rendered for s). */
void dispatch__log_skipped(const dispatch_sess_t *s, int64_t seq, int rc);

/* Puts s on this wakeup's list of sessions to wake once the
 * acknowledgement state is written (dispatch_run()); wakes it at once when
 * the list cannot grow. */
void dispatch__touch(dispatch_t *d, dispatch_sess_t *s);

/* The last seq s has seen everything up to: its own cursor while it lags,
 * else the dispatcher's position, or its skip_until when that is ahead. */
int64_t dispatch__effective(const dispatch_t *d, const dispatch_sess_t *s);

#endif
