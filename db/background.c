/* background.c - relay, sweeps, expiry and pruning in one thread per
 * process, done by one process at a time (see background.h). */
#include "config.h"
#include "background.h"

#include "broker.h"
#include "chatdb.h"
#include "clock.h"
#include "cluster.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "relay.h"
#include "session.h"
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct background {
	const chat_options_t *opt;
	doorbell_t *bell;
	chatdb_t *db;
	store_t *store;
	char owner[64];
	int64_t backoff, retry_at, swept_at;
	int was_down, holder, seeded; /* seeded: relay_seed() done on this store */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, stopping; /* under mu */
} background_t;

static background_t bg = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/* Sleeps ms unless background_stop() comes first; returns 0 when stopping. */
static int nap(background_t *b, int64_t ms)
{
	struct timespec until;
	int go;

	chat_deadline(CLOCK_REALTIME, ms, &until); /* bg.cv uses the default clock */
	pthread_mutex_lock(&b->mu);
	while (!b->stopping && pthread_cond_timedwait(&b->cv, &b->mu, &until) == 0)
		;
	go = !b->stopping;
	pthread_mutex_unlock(&b->mu);
	return go;
}

static int running(background_t *b)
{
	int go;

	pthread_mutex_lock(&b->mu);
	go = !b->stopping;
	pthread_mutex_unlock(&b->mu);
	return go;
}

static void sweep(background_t *b, int64_t now)
{
	const chat_options_t *opt = b->opt;
	int64_t closed = 0, deleted = 0, pruned = 0;
	chat_error_t err = { 0 };
	int rc;

	if ((rc = broker_presence_sweep(b->db, now, NULL, &err)) != CHAT_OK)
		log_warn("background: presence sweep: %s", chat_error_reason(&err, rc));
	if ((rc = broker_heartbeat_sweep(b->db, opt, now, NULL, &err)) != CHAT_OK)
		log_warn("background: heart-beat sweep: %s", chat_error_reason(&err, rc));
	if ((rc = broker_token_sweep(b->db, opt, now, NULL, &err)) != CHAT_OK)
		log_warn("background: token sweep: %s", chat_error_reason(&err, rc));
	if ((rc = session_expire(b->db, now, opt->disconnect_delay_ms, opt->disconnect_delay_ms,
				 &closed, &deleted, &err)) != CHAT_OK)
		log_warn("background: session expiry: %s", chat_error_reason(&err, rc));
	if ((rc = outbox_prune(b->db, now, opt->outbox_retention_ms, &pruned, &err)) != CHAT_OK)
		log_warn("background: outbox pruning: %s", chat_error_reason(&err, rc));
	if ((rc = metrics_retire_dead(b->db, now, NULL, &err)) != CHAT_OK)
		log_warn("background: retiring ended processes' metrics: %s",
			 chat_error_reason(&err, rc));
	if (closed || deleted || pruned)
		log_debug(
			"background: %lld sessions timed out, %lld deleted, %lld outbox rows pruned",
			(long long)closed, (long long)deleted, (long long)pruned);
}

/* Writes this process's metrics (about once a second, db/metrics.h). */
static void flush_metrics(background_t *b, int64_t now)
{
	chat_error_t err = { 0 };
	int rc;

	if (b->db != NULL && (rc = metrics_flush(b->db, now, &err)) != CHAT_OK && rc != CHAT_EDB)
		log_warn("background: writing the metrics: %s", chat_error_reason(&err, rc));
}

/* One relay pass; *more when rows remain. */
static void relay(background_t *b, int64_t now, int *more)
{
	chat_error_t err = { 0 };
	int64_t copied = 0;
	int rc = CHAT_OK;

	if (now < b->retry_at)
		return;
	if (b->store == NULL && store_open(b->opt->store_uri, &b->store, &err) != CHAT_OK) {
		b->store = NULL;
		rc = CHAT_EDB;
	}
	/* A (re)opened store: continue above its ids before relaying. */
	if (b->store != NULL && !b->seeded) {
		rc = relay_seed(b->db, b->store, NULL, &err);
		b->seeded = rc == CHAT_OK;
		if (rc != CHAT_OK && rc != CHAT_EDB)
			log_warn("relay: seeding ids from the store: %s",
				 chat_error_reason(&err, rc));
		if (rc != CHAT_OK)
			rc = CHAT_EDB;
	}
	if (b->store != NULL && b->seeded)
		rc = relay_run(b->db, b->store, b->owner, now, &copied, more, &err);
	if (rc == CHAT_EDB) {
		/* The store is away: chat goes on, rows wait in chat.db. */
		if (!b->was_down)
			log_warn("relay: the store failed (%s); retrying",
				 chat_error_reason(&err, rc));
		b->was_down = 1;
		b->backoff = b->backoff ? (b->backoff * 2 > 30000 ? 30000 : b->backoff * 2) : 1000;
		b->retry_at = now + b->backoff;
		*more = 0;
		metrics_set(METRICS_STORE_UP, 0);
		return;
	}
	if (rc == CHAT_OK)
		metrics_set(METRICS_STORE_UP, 1);
	if (b->was_down && rc == CHAT_OK)
		log_info("relay: the store is back, catching up");
	if (rc == CHAT_OK)
		b->was_down = 0;
	b->backoff = 0;
	if (rc != CHAT_OK && rc != CHAT_EBUSY)
		log_warn("relay: %s", chat_error_reason(&err, rc));
}

/* What the thread does when it stops: hands the lease over, retires its
 * metrics and closes its handles. */
static void finish(background_t *b)
{
	chat_error_t err = { 0 };
	int rc;

	/* Hand the work over at once rather than after the lease runs out. */
	if (b->db != NULL && b->holder &&
	    (rc = relay_lease_release(b->db, BACKGROUND_LEASE, b->owner, NULL)) != CHAT_OK)
		log_debug("background: lease not released (%s); it expires", chat_strerror(rc));
	/* What this process counted stays in the sum; its gauges go. */
	if (b->db != NULL) {
		flush_metrics(b, chat_wall_ms());
		if ((rc = metrics_retire_self(b->db, &err)) != CHAT_OK)
			log_warn("background: retiring this process's metrics: %s",
				 chat_error_reason(&err, rc));
	}
	store_close(b->store);
	b->store = NULL;
	chatdb_close(b->db);
	b->db = NULL;
}

static void *background_main(void *arg)
{
	background_t *b = arg;
	chat_error_t err = { 0 };

	while (running(b)) {
		uint32_t seen = b->bell != NULL ? doorbell_snapshot(b->bell) : 0;
		int64_t now = chat_wall_ms();
		int more = 0, rc;

		if (b->db == NULL) {
			if (chatdb_open(b->opt->db_path, 0, &b->db, &err) != CHAT_OK) {
				log_error("background: cannot open %s: %s", b->opt->db_path,
					  err.message);
				b->db = NULL;
				(void)nap(b, 1000);
				continue;
			}
			chatdb_set_doorbell(b->db, b->bell);
		}
		/* chat.db deleted or replaced under the stack: going on with the
		 * old file would split the stack in two (ids reused, posts lost),
		 * so the process ends and the front server starts it anew. */
		if (chatdb_check_file(b->db, &err) != CHAT_OK) {
			log_error("%s; exiting", err.message);
			_exit(EXIT_FAILURE);
		}
		rc = relay_lease(b->db, BACKGROUND_LEASE, b->owner, now, BACKGROUND_LEASE_MS, &err);
		if (rc != CHAT_OK) {
			if (rc != CHAT_EBUSY)
				log_warn("background: %s", chat_error_reason(&err, rc));
			if (b->holder)
				log_info(
					"background: another process does the background work now");
			b->holder = 0;
			/* The store's state is the holder's to tell. */
			metrics_set(METRICS_STORE_UP, -1);
			for (int64_t waited = 0; waited < BACKGROUND_RETRY_MS; waited += 1000) {
				flush_metrics(b, chat_wall_ms());
				if (!nap(b, 1000))
					break;
			}
			continue;
		}
		if (!b->holder)
			log_debug("background: this process relays and sweeps");
		b->holder = 1;
		if (now - b->swept_at >= 1000) {
			b->swept_at = now;
			sweep(b, now);
			flush_metrics(b, now);
		}
		relay(b, now, &more);
		if (more)
			continue;
		if (b->bell != NULL) {
			/* Woken or timed out, the loop goes on; CHAT_EIO is
			 * only worth a line. */
			rc = doorbell_wait(b->bell, seen, 1000);
			if (rc != CHAT_OK && rc != CHAT_ETIMEDOUT)
				log_debug("background: doorbell wait: %s", chat_strerror(rc));
		} else if (!nap(b, 1000)) {
			break;
		}
		/* Let a burst of posts gather into one pass. */
		(void)nap(b, 50);
	}
	finish(b);
	return NULL;
}

void background_run_once(const chat_options_t *opt, doorbell_t *bell)
{
	background_t b = { .opt = opt, .bell = bell };
	chat_error_t err = { 0 };
	int64_t start = chat_mono_ms(), now = chat_wall_ms();
	int more = 1, rc, held = 0, swept = 0;
	int64_t cursor = 0, last = 0;

	snprintf(b.owner, sizeof(b.owner), "cgi:%ld", (long)getpid());
	if (chatdb_open(opt->db_path, 0, &b.db, &err) != CHAT_OK) {
		log_error("background: cannot open %s: %s", opt->db_path, err.message);
		return;
	}
	chatdb_set_doorbell(b.db, bell);
	/* Held (a sidecar, a FastCGI process, another CGI one): nothing to
	 * do, found without a write lock. */
	if (relay_lease_alive(b.db, BACKGROUND_LEASE, now, &held, NULL) == CHAT_OK && held)
		goto out;
	/* Nor when a CGI process swept within the second and the history has
	 * every row: most requests then write nothing. */
	if (relay_lease_alive(b.db, BACKGROUND_SWEEP_LEASE, now, &swept, NULL) == CHAT_OK &&
	    swept && relay_cursor(b.db, &cursor, NULL) == CHAT_OK &&
	    outbox_last_seq(b.db, &last, NULL) == CHAT_OK && cursor >= last)
		goto out;
	rc = relay_lease(b.db, BACKGROUND_LEASE, b.owner, now, BACKGROUND_LEASE_MS, &err);
	if (rc != CHAT_OK) {
		if (rc != CHAT_EBUSY)
			log_warn("background: %s", chat_error_reason(&err, rc));
		goto out;
	}
	if (relay_lease(b.db, BACKGROUND_SWEEP_LEASE, b.owner, now, BACKGROUND_SWEEP_MS, NULL) ==
	    CHAT_OK)
		sweep(&b, now);
	while (more && chat_mono_ms() - start < BACKGROUND_ONCE_MS) {
		more = 0;
		relay(&b, chat_wall_ms(), &more);
	}
	if (relay_lease_release(b.db, BACKGROUND_LEASE, b.owner, NULL) != CHAT_OK)
		log_debug("background: lease not released; it expires");
out:
	store_close(b.store);
	chatdb_close(b.db);
}

int background_start(const chat_options_t *opt, doorbell_t *bell)
{
	int rc = CHAT_OK;

	/* The programs refused a cluster that cannot work (cluster_check()). */
	if ((rc = cluster_start(opt, bell)) != CHAT_OK)
		return rc;
	pthread_mutex_lock(&bg.mu);
	if (!bg.started && !bg.stopping) {
		bg.opt = opt;
		bg.bell = bell;
		snprintf(bg.owner, sizeof(bg.owner), "bg:%ld", (long)getpid());
		if (pthread_create(&bg.thread, NULL, background_main, &bg) == 0)
			bg.started = 1;
		else
			rc = CHAT_ENOMEM;
	}
	pthread_mutex_unlock(&bg.mu);
	if (rc != CHAT_OK)
		log_error("cannot start the background thread");
	return rc;
}

void background_stop(void)
{
	int started;

	cluster_stop();
	pthread_mutex_lock(&bg.mu);
	started = bg.started && !bg.stopping;
	bg.stopping = 1;
	pthread_cond_broadcast(&bg.cv);
	pthread_mutex_unlock(&bg.mu);
	if (!started)
		return;
	/* Ringing with the current seq wakes its doorbell wait and moves nothing. */
	if (bg.bell != NULL)
		doorbell_ring(bg.bell, doorbell_seq(bg.bell));
	pthread_join(bg.thread, NULL);
}
