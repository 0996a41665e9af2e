/* transport_recv.c - the receiving SockJS HTTP transports (xhr polling,
 * xhr_streaming, eventsource, htmlfile, jsonp; see transport.h): a request
 * opens or finds its session, takes its lease, and waits on this process's
 * dispatcher for what to send, with the SockJS and STOMP heart-beats on
 * the way (heldbeat.h). */
#include "config.h"
#include "transport_int.h"

#include "broker.h"
#include "clock.h"
#include "dispatch.h"
#include "heldbeat.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "sockjs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* How long a receiving request waits for a lease another request holds
 * before it answers c[2010]. */
#define LEASE_WAIT_MS 250

/* Receiving requests this process holds now (held_reserve). */
static int held_now;

/* The session writes a request makes on its way (its cursor, its close,
 * its lease) are best effort: the next request, a takeover or the expiry
 * sweep puts the row right, so a failure (rc not CHAT_OK) is only worth a
 * debug line. */
static void best_effort(const char *key, const char *what, int rc)
{
	if (rc != CHAT_OK)
		log_debug("session %s: %s: %s", LOG_SID(key), what, chat_strerror(rc));
}

/* Whether one more held request fits: this process's threads beyond
 * held_reserve (at least one), held_max on the host when set, and
 * held_per_addr held requests of the session's address across every
 * process, this one's lease (taken just before) counted.  Counting after taking the lease makes two racing
 * requests both count each other, so the bound is never exceeded.  A
 * database error lets it through: the per-process budget still holds. */
static int held_fits(worker_t *w, const session_info_t *info, int held)
{
	const chat_options_t *opt = w->opt;
	/* At most half of the threads are reserved (mod_fcgid: none). */
	long long reserve = opt->held_reserve < opt->threads / 2 ? opt->held_reserve
								 : opt->threads / 2;
	int64_t count = 0;

	if (held > opt->threads - reserve)
		return 0;
	if (opt->held_max > 0 &&
	    session_count_held_by_peer(w->svc.db, NULL, chat_wall_ms(), &count, NULL) == CHAT_OK &&
	    count > opt->held_max)
		return 0;
	if (info->peer[0] == '\0' ||
	    session_count_held_by_peer(w->svc.db, info->peer, chat_wall_ms(), &count, NULL) !=
		    CHAT_OK)
		return 1;
	return count <= opt->held_per_addr;
}

/* One receiving response in progress. */
typedef struct stream {
	http_request_t *r;
	long long framed; /* bytes of frames sent (the prelude not counted) */
	sockjs_transport_t t;
	chat_slice_t callback;
	chat_buf_t frame; /* one SockJS frame */
	chat_buf_t wire;  /* the frame wrapped for the transport */
} stream_t;

static int stream_send(stream_t *st)
{
	int rc;

	chat_buf_reset(&st->wire);
	rc = sockjs_wrap(&st->wire, st->t, st->callback, chat_buf_slice(&st->frame));
	if (rc != CHAT_OK)
		return rc;
	st->framed += (long long)st->wire.len;
	return http_write(st->r, st->wire.data, st->wire.len);
}

static int send_open(stream_t *st)
{
	chat_buf_reset(&st->frame);
	return sockjs_frame_open(&st->frame) ?: stream_send(st);
}

static int send_heartbeat(stream_t *st)
{
	chat_buf_reset(&st->frame);
	return sockjs_frame_heartbeat(&st->frame) ?: stream_send(st);
}

/* A STOMP heart-beat: an EOL as a SockJS message, a["\n"]. */
static int send_stomp_heartbeat(stream_t *st)
{
	const chat_slice_t eol = CHAT_SLICE("\n");

	chat_buf_reset(&st->frame);
	return sockjs_frame_messages(&st->frame, &eol, 1) ?: stream_send(st);
}

static int send_close(stream_t *st, int code, const char *reason)
{
	chat_buf_reset(&st->frame);
	return sockjs_frame_close(&st->frame, code, (chat_slice_t){ reason, strlen(reason) })
		       ?: stream_send(st);
}

/* msgs are encoded already (the dispatcher's batches): one a[...] frame
 * per batch of items. */
static int send_messages(stream_t *st, const json_strv_t *msgs)
{
	chat_slice_t items[256];
	size_t i = 0;
	int rc = CHAT_OK;

	while (i < msgs->n && rc == CHAT_OK) {
		size_t k;

		for (k = 0; k < CHAT_ARRAY_LEN(items) && i < msgs->n; k++, i++)
			items[k] = json_strv_at(msgs, i);
		chat_buf_reset(&st->frame);
		rc = sockjs_frame_encoded(&st->frame, items, k) ?: stream_send(st);
	}
	return rc;
}

/* The dispatcher's wake-up of this thread's held request (lock held: a
 * write to the worker's eventfd, nothing more). */
static void wake_worker(void *ctx)
{
	uint64_t one = 1;
	worker_t *w = ctx;

	if (write(w->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so a wake-up is pending anyway. */
	}
}

/* The worker's eventfd, made on its first held request (0: none). */
static int worker_wake_fd(worker_t *w)
{
	if (w->wake_fd <= 0) {
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		w->wake_fd = fd > 0 ? fd : 0;
	}
	return w->wake_fd;
}

/* Waits up to timeout_ms for the dispatcher's wake-up or for the FastCGI
 * connection to say something (the front server closing it, as lighttpd
 * does at once when the client goes away, or an FCGI_ABORT_REQUEST):
 * either ends the wait, so an aborted request frees its session and its
 * thread at once.  Without an eventfd, the dispatcher's condition. */
static void wait_wake_or_gone(worker_t *w, http_request_t *r, dispatch_sess_t *ds, int timeout_ms)
{
	struct pollfd p[2] = { { w->wake_fd, POLLIN, 0 }, { r->conn_fd, r->conn_events, 0 } };
	uint64_t n;

	if (w->wake_fd <= 0) {
		(void)dispatch_wait(w->disp, ds, timeout_ms);
		return;
	}
	if (poll(p, 2, timeout_ms) > 0 && (p[0].revents & POLLIN) &&
	    read(w->wake_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: another thread cannot share it; nothing to drain */
	}
}

/* A receiving request's lease is held by "PID.THREAD.REQUEST" of a chat.fcgi
 * on this host (chat.db and the doorbell are local files).  When that
 * process is gone (KILLed while holding a poll or a stream) its lease is
 * released at once, so that the client's next request carries on with the
 * session instead of getting 2010 until the lease runs out.  A reused PID
 * only makes the lease wait for its expiry, as before.  Returns 1 when it
 * released a dead holder's lease. */
static int lease_holder_gone(worker_t *w, const char *key, chat_error_t *err)
{
	session_info_t info;
	char *end;
	long pid;

	if (session_get(w->svc.db, key, &info, NULL) != CHAT_OK)
		return 0;
	errno = 0;
	pid = strtol(info.lease_owner, &end, 10);
	if (errno != 0 || end == info.lease_owner || *end != '.' || pid <= 0 ||
	    pid == (long)getpid())
		return 0;
	if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	if (session_release(w->svc.db, key, info.lease_owner, chat_wall_ms(), err) != CHAT_OK)
		return 0;
	log_info("session %s: took over the lease of process %ld, which is gone", LOG_SID(key),
		 pid);
	return 1;
}

/* Takes the lease of key that another request holds, waiting up to
 * LEASE_WAIT_MS for it: a client that aborts a stream and reopens at once
 * finds it still held by the aborted request, which is ending and rings the
 * doorbell once it has closed the session and let the lease go.  A live
 * connection keeps it: CHAT_EBUSY (c[2010]).  On CHAT_OK *info is read
 * again, since the holder may have closed the session. */
static int await_lease(worker_t *w, const char *key, const char *owner, int64_t lease_ms,
		       session_info_t *info, chat_error_t *err)
{
	int64_t deadline = chat_mono_ms() + LEASE_WAIT_MS;
	int rc;

	for (;;) {
		uint32_t seen = doorbell_snapshot(w->bell);
		int64_t left;
		int woke;

		rc = session_acquire(w->svc.db, key, owner, chat_wall_ms(), lease_ms, err);
		left = deadline - chat_mono_ms();
		if (rc != CHAT_EBUSY || left <= 0)
			break;
		/* Rung or timed out, the lease is asked again. */
		woke = doorbell_wait(w->bell, seen, (int)left);
		if (woke != CHAT_ETIMEDOUT)
			best_effort(key, "doorbell wait", woke);
	}
	return rc == CHAT_OK ? session_get(w->svc.db, key, info, err) : rc;
}

/* One receiving request being served (serve_receive()'s steps share it). */
typedef struct recv {
	worker_t *w;
	http_request_t *r;
	const service_t *s;
	const transport__info_t *ti;
	sockjs_transport_t t;
	const char *key;
	chat_buf_t *head; /* the response's headers (borrowed) */
	stream_t st;
	session_info_t info;
	json_strv_t msgs;    /* one round's batches from the dispatcher */
	dispatch_sess_t *ds; /* attached to the dispatcher; NULL before */
	chat_error_t err;
	char owner[96];   /* this request's lease owner id */
	int64_t lease_ms; /* how long a lease taken or renewed lasts */
	int64_t beat_ms;  /* the SockJS heartbeat (or probe) interval */
	heldbeat_t beats; /* the SockJS and STOMP heart-beat clocks */
	int rc;           /* the session's opening, then the lease's result */
	int created;      /* this request made the session */
	int leased;       /* it holds the session's lease */
	int counted;      /* it counts among held_now and the metrics */
	int at_once;      /* over a bound: answered without waiting */
	int waited_once;  /* the bounded wait of an at-once answer is done */
	int interrupted;  /* the client left mid-response: the session ends */
} recv_t;

/* Opens or finds the session: 0, or answers 429, 404 or 500 itself. */
static int recv_open(recv_t *c)
{
	worker_t *w = c->w;
	chat_buf_t drain;

	/* Read the (empty) request body to its end, so that anything arriving
	 * later on the connection means the front server gave up on us. */
	chat_buf_init(&drain, 4096);
	http_read_body(c->r, &drain);
	chat_buf_free(&drain);
	c->rc = service_open(&w->svc, c->s, c->key, http_param(c->r, "REMOTE_ADDR"), chat_wall_ms(),
			     &c->created, &c->info, &c->err);
	if (c->rc == CHAT_ETOOMANY) {
		/* Too many new sessions from this address: none was created. */
		char h[4096];
		int n = snprintf(h, sizeof(h), "%sRetry-After: %lld\r\n", c->head->data,
				 (long long)((w->svc.retry_ms + 999) / 1000));

		log_debug("session %s: %s", LOG_SID(c->key), c->err.message);
		http_respond_text(c->r, 429, n > 0 && (size_t)n < sizeof(h) ? h : c->head->data,
				  "Too many new sessions, retry later.\n");
	} else if (c->rc == CHAT_EDENIED) {
		/* Another client's session: for this one it does not exist. */
		log_debug("session %s: %s", LOG_SID(c->key), c->err.message);
		http_respond_text(c->r, 404, c->head->data, "Not found.\n");
	} else if (c->rc != CHAT_OK) {
		log_error("session %s: %s", LOG_SID(c->key), chat_error_reason(&c->err, c->rc));
		http_respond_text(c->r, 500, c->head->data, "Internal error.\n");
	}
	if (c->rc != CHAT_OK)
		return c->rc;
	if (c->info.has_user)
		log_context(c->key, c->info.user_name);
	if (c->created) {
		metrics_add(METRICS_OPENED + c->t, 1);
		log_debug("session opened by %s", sockjs_transport_name(c->t));
	}
	return CHAT_OK;
}

/* Takes the session's lease unless it is closed or a poll just opened it
 * (c->leased; CHAT_EBUSY in c->rc when another request keeps it): 0, or
 * answers 500 itself and returns non-zero.  Decided before anything is
 * sent, so a client that has seen this response start knows it holds the
 * session. */
static int recv_lease(recv_t *c)
{
	worker_t *w = c->w;
	int rc;

	snprintf(c->owner, sizeof(c->owner), "%s.%llu", w->owner_prefix, ++w->requests);
	if (c->info.state == SESSION_CLOSED || (c->created && !c->ti->streaming))
		return CHAT_OK;
	rc = session_acquire(w->svc.db, c->key, c->owner, chat_wall_ms(), c->lease_ms, &c->err);
	if (rc == CHAT_EBUSY && lease_holder_gone(w, c->key, &c->err))
		rc = session_acquire(w->svc.db, c->key, c->owner, chat_wall_ms(), c->lease_ms,
				     &c->err);
	if (rc == CHAT_EBUSY)
		rc = await_lease(w, c->key, c->owner, c->lease_ms, &c->info, &c->err);
	c->rc = rc;
	if (rc != CHAT_OK && rc != CHAT_EBUSY) {
		log_error("session %s: cannot take the lease: %s", LOG_SID(c->key),
			  chat_error_reason(&c->err, rc));
		http_respond_text(c->r, 500, c->head->data, "Internal error.\n");
		return rc;
	}
	c->leased = rc == CHAT_OK;
	/* The request itself is a sign of life, whatever the client's timers
	 * do (db/broker.h broker_heard()). */
	if (c->leased && (rc = broker_heard(w->svc.db, c->key, chat_wall_ms(), &c->err)) != CHAT_OK)
		log_warn("session %s: %s", LOG_SID(c->key), chat_error_reason(&c->err, rc));
	return CHAT_OK;
}

/* Counts a held request.  Over a bound, the request is answered at once:
 * with what is waiting for the session, else a heartbeat, which every
 * sockjs-client transport takes as "nothing yet" and polls or reopens
 * again; the session stays open.  Decided before the first byte goes out,
 * so a client that has read "o" knows this request is counted. */
static void recv_count(recv_t *c)
{
	if (!c->leased || c->info.state == SESSION_CLOSED)
		return;
	c->counted = 1;
	c->at_once = !held_fits(c->w, &c->info, __atomic_add_fetch(&held_now, 1, __ATOMIC_RELAXED));
	metrics_add(METRICS_HELD, 1);
	metrics_add(METRICS_CONNECTIONS + c->t, 1);
	if (c->at_once)
		metrics_add(METRICS_LIMIT_HELD, 1);
	if (c->at_once)
		log_debug("session %s: held requests over the bound, answered at once",
			  LOG_SID(c->key));
}

/* Starts the response: the prelude, "o" for a new session, and the close
 * frame that ends it for a closed or another request's session.  Returns
 * 1 when the request goes on to wait for frames. */
static int recv_begin(recv_t *c)
{
	stream_t *st = &c->st;

	if (http_start(c->r, 200, c->ti->content_type, c->head->data) != CHAT_OK)
		return 0;
	chat_buf_reset(&st->wire);
	if (sockjs_prelude(&st->wire, c->t, st->callback) != CHAT_OK ||
	    (st->wire.len > 0 && http_write(c->r, st->wire.data, st->wire.len) != CHAT_OK))
		return 0;
	/* A polling request that opens a session answers just "o". */
	if (c->created && (send_open(st) != CHAT_OK || !c->ti->streaming))
		return 0;
	if (c->info.state == SESSION_CLOSED) {
		/* A closed session answers every request with its close frame
		 * until it expires, whoever held it. */
		send_close(st, c->info.close_code, c->info.close_reason);
		return 0;
	}
	if (!c->leased) {
		send_close(st, SOCKJS_CLOSE_ANOTHER, SOCKJS_REASON_ANOTHER);
		return 0;
	}
	return 1;
}

/* An at-once answer with nothing to send: after one short, bounded wait
 * when rows after the cursor may not have reached this process's
 * dispatcher yet, a heartbeat.  Returns 1 to go round again. */
static int recv_answer_at_once(recv_t *c)
{
	if (!c->waited_once && (uint64_t)c->info.cursor < (uint64_t)doorbell_seq(c->w->bell)) {
		c->waited_once = 1;
		wait_wake_or_gone(c->w, c->r, c->ds, LEASE_WAIT_MS);
		return 1;
	}
	send_heartbeat(&c->st);
	return 0;
}

/* The SockJS heartbeat that fell due at now: sent, and on a stream the
 * session looked at again.  Returns 1 to go round again. */
static int recv_sockjs_beat(recv_t *c, int64_t now)
{
	worker_t *w = c->w;

	if (send_heartbeat(&c->st) != CHAT_OK) {
		c->interrupted = 1;
		return 0;
	}
	if (!c->ti->streaming)
		return 0;
	heldbeat_sent(&c->beats, HELDBEAT_SOCKJS, now);
	/* The dispatcher thread renews the lease (transport.h); a stream whose
	 * lease another request took ends, and one closed by another process
	 * without a frame (expiry) gets its close frame. */
	if (session_get(w->svc.db, c->key, &c->info, NULL) != CHAT_OK ||
	    strcmp(c->info.lease_owner, c->owner) != 0)
		return 0;
	if (c->info.state == SESSION_CLOSED) {
		send_close(&c->st, c->info.close_code, c->info.close_reason);
		return 0;
	}
	/* What a long stream delivered, for pruning and a takeover. */
	best_effort(c->key, "cursor not saved",
		    session_advance_cursor(w->svc.db, c->key, dispatch_cursor(w->disp, c->ds),
					   NULL));
	return 1;
}

/* The heart-beats of a round that sent sent frames (0 or 1): the STOMP
 * heart-beat or the SockJS heartbeat when one is due (heldbeat_round()),
 * else a wait until the next is due or the dispatcher has something.
 * Returns 1 to go round again. */
static int recv_beats(recv_t *c, int sent)
{
	int64_t now = chat_mono_ms(), wait = 0;
	heldbeat_due_t due;

	/* STOMP heart-beats ride on the request the session holds: a stream
	 * sends them as they fall due, a poll answers with one (the next poll
	 * carries the next). */
	due = heldbeat_round(&c->beats,
			     broker_heartbeat_interval(c->w->opt,
						       dispatch_heartbeat_wanted(c->w->disp,
										 c->ds)),
			     sent, now, &wait);
	if (sent)
		return 1;
	if (due == HELDBEAT_STOMP) {
		if (send_stomp_heartbeat(&c->st) != CHAT_OK) {
			c->interrupted = 1;
			return 0;
		}
		heldbeat_sent(&c->beats, due, now);
		return c->ti->streaming;
	}
	if (due == HELDBEAT_SOCKJS)
		return recv_sockjs_beat(c, now);
	if (http_client_gone(c->r)) {
		/* Whatever was under way to it is lost: as for a failed write,
		 * the session ends (SockJS 1002). */
		c->interrupted = 1;
		return 0;
	}
	wait_wake_or_gone(c->w, c->r, c->ds, (int)wait);
	return 1;
}

/* One round of the wait: what the dispatcher has, then the session's
 * close, the end of a poll, or the heart-beats.  Returns 1 to go round
 * again. */
static int recv_round(recv_t *c)
{
	worker_t *w = c->w;
	dispatch_end_t end;
	size_t n;
	int rc;

	json_strv_reset(&c->msgs);
	rc = dispatch_take(w->disp, c->ds, w->svc.db, &c->msgs, &end, &c->err);
	if (rc != CHAT_OK) {
		log_error("session %s: %s", LOG_SID(c->key), chat_error_reason(&c->err, rc));
		return 0;
	}
	n = c->msgs.n;
	if (n > 0 && send_messages(&c->st, &c->msgs) != CHAT_OK) {
		/* The client went away mid-response: what it did not get is
		 * lost to it, so the session ends (SockJS 1002). */
		c->interrupted = 1;
		return 0;
	}
	if (end.closed) {
		best_effort(c->key, "not closed",
			    session_close(w->svc.db, c->key, end.code, end.reason, chat_wall_ms(),
					  NULL));
		send_close(&c->st, end.code, end.reason);
		return 0;
	}
	if (n > 0 && (!c->ti->streaming || c->at_once || c->st.framed >= w->opt->response_limit))
		return 0;
	if (c->at_once)
		return recv_answer_at_once(c);
	return recv_beats(c, n > 0);
}

/* Attaches to the dispatcher and waits for frames until the response ends;
 * the cursor is written once per response. */
static void recv_wait(recv_t *c, size_t out_cap)
{
	worker_t *w = c->w;
	int rc;

	rc = dispatch_attach(w->disp, w->svc.db, c->key, service_delivery_kind(c->s), 1,
			     c->info.cursor, sockjs_json_bound(out_cap), 4096,
			     worker_wake_fd(w) > 0 ? wake_worker : NULL, w, &c->ds, &c->err);
	if (rc != CHAT_OK) {
		log_error("session %s: %s", LOG_SID(c->key), chat_error_reason(&c->err, rc));
		return;
	}
	heldbeat_start(&c->beats, c->beat_ms, chat_mono_ms());
	while (recv_round(c)) {
	}
	best_effort(c->key, "cursor not saved",
		    session_advance_cursor(w->svc.db, c->key, dispatch_detach(w->disp, c->ds),
					   NULL));
	if (c->interrupted)
		best_effort(c->key, "not closed",
			    session_close(w->svc.db, c->key, SOCKJS_CLOSE_INTERRUPTED,
					  SOCKJS_REASON_INTERRUPTED, chat_wall_ms(), NULL));
}

/* Lets go of what the request took: its count, its lease (or touches a
 * closed session it answered), its buffers. */
static void recv_end(recv_t *c)
{
	worker_t *w = c->w;

	if (c->counted) {
		__atomic_sub_fetch(&held_now, 1, __ATOMIC_RELAXED);
		metrics_add(METRICS_HELD, -1);
		metrics_add(METRICS_CONNECTIONS + c->t, -1);
	}
	if (c->leased) {
		best_effort(c->key, "lease not released",
			    session_release(w->svc.db, c->key, c->owner, chat_wall_ms(), NULL));
		/* The client's next request may be waiting for it (await_lease). */
		if (c->interrupted)
			doorbell_ring(w->bell, doorbell_seq(w->bell));
	} else if (c->rc == CHAT_OK && !c->created)
		best_effort(c->key, "not touched",
			    session_touch(w->svc.db, c->key, chat_wall_ms(), NULL));
	json_strv_free(&c->msgs);
	chat_buf_free(&c->st.frame);
	chat_buf_free(&c->st.wire);
}

void transport__serve_receive(worker_t *w, http_request_t *r, const service_t *s,
			      sockjs_transport_t t, const transport__info_t *ti, const char *key,
			      chat_slice_t callback, chat_buf_t *head)
{
	const chat_options_t *opt = w->opt;
	size_t out_cap = (size_t)(opt->response_limit > opt->max_frame ? opt->response_limit
								       : opt->max_frame);
	recv_t c = { .w = w, .r = r, .s = s, .ti = ti, .t = t, .key = key, .head = head };

	c.st = (stream_t){ r, 0, t, callback, { 0 }, { 0 } };
	c.lease_ms = opt->heartbeat_ms + TRANSPORT_LEASE_SLACK_MS;
	/* held_probe_ms: a write this often fails soon after the client left,
	 * where the front server tells chat.fcgi only through a failed write
	 * (Apache).  A poll is answered "h" then, as at a heartbeat. */
	c.beat_ms = opt->held_probe_ms > 0 && opt->held_probe_ms < opt->heartbeat_ms
			    ? opt->held_probe_ms
			    : opt->heartbeat_ms;
	/* Messages come JSON-encoded (up to six bytes per byte), and the
	 * transport may escape a frame once more (htmlfile). */
	chat_buf_init(&c.st.frame, out_cap * 6 + 4096);
	chat_buf_init(&c.st.wire, out_cap * 12 + 8192);
	json_strv_init(&c.msgs, sockjs_json_bound(out_cap), 4096);
	if (recv_open(&c) == CHAT_OK && recv_lease(&c) == CHAT_OK) {
		recv_count(&c);
		if (recv_begin(&c))
			recv_wait(&c, out_cap);
	}
	recv_end(&c);
}
