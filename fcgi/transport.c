/* transport.c - the SockJS HTTP transports (see transport.h). */
#include "config.h"
#include "transport.h"

#include "broker.h"
#include "clock.h"
#include "dispatch.h"
#include "httpreq.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "origin.h"
#include "session.h"
#include "sockjs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* How long a receiving request waits for a lease another request holds
 * before it answers c[2010]. */
#define LEASE_WAIT_MS 250

/* Receiving requests this process holds now (held_reserve). */
static int held_now;

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

int transport_streaming_allowed(const http_request_t *r, const chat_options_t *opt)
{
	const char *v = http_param(r, "CHAT_STREAMING");

	if (v != NULL && !strcmp(v, "0"))
		return 0;
	return opt->streaming != 0;
}

int transport_origin_allowed(const http_request_t *r, const chat_options_t *opt)
{
	return origin_allowed(http_param(r, "HTTP_ORIGIN"), opt->origins);
}

int transport_nocache_cors_headers(http_request_t *r, chat_buf_t *head)
{
	/* sockjs-node's: no-transform keeps mod_deflate and proxies from
	 * compressing (and so buffering) the streams. */
	int rc = chat_buf_puts(head, "Cache-Control: " TRANSPORT_NO_CACHE "\r\n");

	return rc == CHAT_OK ? httpreq_cors_headers(head, http_param(r, "HTTP_ORIGIN")) : rc;
}

int transport_common_headers(http_request_t *r, const service_t *s, chat_buf_t *head)
{
	int rc = transport_nocache_cors_headers(r, head);

	if (rc == CHAT_OK && s->cookie_needed) {
		char id[HTTPREQ_COOKIE_MAX + 1];

		httpreq_jsessionid(http_param(r, "HTTP_COOKIE"), id, sizeof(id));
		rc = chat_buf_printf(head, "Set-Cookie: JSESSIONID=%s; path=/\r\n", id);
	}
	return rc;
}

int transport_cache_forever(chat_buf_t *head)
{
	char date[64];
	time_t t = time(NULL) + 31536000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	return chat_buf_printf(head, "Cache-Control: public, max-age=31536000\r\nExpires: %s\r\n",
			       date);
}

int transport_preflight_headers(http_request_t *r, chat_buf_t *head, const char *methods)
{
	const char *req_headers = http_param(r, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS");
	int rc = transport_cache_forever(head);

	if (rc == CHAT_OK)
		rc = httpreq_cors_headers(head, http_param(r, "HTTP_ORIGIN"));
	if (rc == CHAT_OK)
		rc = chat_buf_printf(head,
				     "Access-Control-Max-Age: 31536000\r\n"
				     "Access-Control-Allow-Methods: %s\r\n",
				     methods);
	if (rc == CHAT_OK && req_headers != NULL &&
	    httpreq_header_safe(req_headers, HTTPREQ_REQ_HEADERS_MAX))
		rc = chat_buf_printf(head, "Access-Control-Allow-Headers: %s\r\n", req_headers);
	return rc;
}

static void respond_text(http_request_t *r, int status, const char *headers, const char *body)
{
	http_respond(r, status, "text/plain; charset=UTF-8", headers, body, strlen(body));
}

/* What a transport is: its method, content type and whether it streams. */
typedef struct transport_info {
	const char *method;
	const char *content_type;
	int receiving; /* holds the session's lease and gets frames */
	int streaming; /* several frames per response */
	int callback;  /* needs the c= callback parameter */
	int cors;      /* answers OPTIONS preflights */
} transport_info_t;

static const transport_info_t transports[SOCKJS_TRANSPORT_COUNT] = {
	[SOCKJS_XHR] = { "POST", "application/javascript; charset=UTF-8", 1, 0, 0, 1 },
	[SOCKJS_XHR_STREAMING] = { "POST", "application/javascript; charset=UTF-8", 1, 1, 0, 1 },
	[SOCKJS_XHR_SEND] = { "POST", "text/plain; charset=UTF-8", 0, 0, 0, 1 },
	[SOCKJS_EVENTSOURCE] = { "GET", "text/event-stream; charset=UTF-8", 1, 1, 0, 0 },
	[SOCKJS_HTMLFILE] = { "GET", "text/html; charset=UTF-8", 1, 1, 1, 0 },
	[SOCKJS_JSONP] = { "GET", "application/javascript; charset=UTF-8", 1, 0, 1, 0 },
	[SOCKJS_JSONP_SEND] = { "POST", "text/plain; charset=UTF-8", 0, 0, 0, 0 },
};

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

		rc = session_acquire(w->svc.db, key, owner, chat_wall_ms(), lease_ms, err);
		left = deadline - chat_mono_ms();
		if (rc != CHAT_EBUSY || left <= 0)
			break;
		(void)doorbell_wait(w->bell, seen, (int)left);
	}
	return rc == CHAT_OK ? session_get(w->svc.db, key, info, err) : rc;
}

/* Serves a receiving transport on session key until there is something to
 * answer (polling), or until the response limit, the session's close or
 * the client's departure (streaming). */
static void serve_receive(worker_t *w, http_request_t *r, const service_t *s, sockjs_transport_t t,
			  const char *key, chat_slice_t callback, chat_buf_t *head)
{
	const transport_info_t *ti = &transports[t];
	const chat_options_t *opt = w->opt;
	int64_t lease_ms = opt->heartbeat_ms + TRANSPORT_LEASE_SLACK_MS;
	/* held_probe_ms: a write this often fails soon after the client left,
	 * where the front server tells chat.fcgi only through a failed write
	 * (Apache).  A poll is answered "h" then, as at a heartbeat. */
	int64_t beat_ms = opt->held_probe_ms > 0 && opt->held_probe_ms < opt->heartbeat_ms
				  ? opt->held_probe_ms
				  : opt->heartbeat_ms;
	int64_t next_beat, now, stomp_beat, stomp_iv, wake;
	dispatch_sess_t *ds = NULL;
	size_t out_cap = (size_t)(opt->response_limit > opt->max_frame ? opt->response_limit
								       : opt->max_frame);
	chat_error_t err = { 0 };
	session_info_t info;
	json_strv_t msgs;
	chat_buf_t drain;
	stream_t st = { r, 0, t, callback, { 0 }, { 0 } };
	char owner[96];
	int created, rc, leased = 0, interrupted = 0, counted = 0, at_once = 0;
	int waited_once = 0;

	/* Messages come JSON-encoded (up to six bytes per byte), and the
	 * transport may escape a frame once more (htmlfile). */
	chat_buf_init(&st.frame, out_cap * 6 + 4096);
	chat_buf_init(&st.wire, out_cap * 12 + 8192);
	json_strv_init(&msgs, sockjs_json_bound(out_cap), 4096);
	/* Read the (empty) request body to its end, so that anything arriving
	 * later on the connection means the front server gave up on us. */
	chat_buf_init(&drain, 4096);
	http_read_body(r, &drain);
	chat_buf_free(&drain);
	rc = service_open(&w->svc, s, key, http_param(r, "REMOTE_ADDR"), chat_wall_ms(), &created,
			  &info, &err);
	if (rc == CHAT_ETOOMANY) {
		/* Too many new sessions from this address: none was created. */
		char h[4096];
		int n = snprintf(h, sizeof(h), "%sRetry-After: %lld\r\n", head->data,
				 (long long)((w->svc.retry_ms + 999) / 1000));

		log_debug("session %s: %s", LOG_SID(key), err.message);
		respond_text(r, 429, n > 0 && (size_t)n < sizeof(h) ? h : head->data,
			     "Too many new sessions, retry later.\n");
		goto out;
	}
	if (rc == CHAT_EDENIED) {
		/* Another client's session: for this one it does not exist. */
		log_debug("session %s: %s", LOG_SID(key), err.message);
		respond_text(r, 404, head->data, "Not found.\n");
		goto out;
	}
	if (rc != CHAT_OK) {
		log_error("session %s: %s", LOG_SID(key), chat_error_reason(&err, rc));
		respond_text(r, 500, head->data, "Internal error.\n");
		goto out;
	}
	if (info.has_user)
		log_context(key, info.user_name);
	if (created) {
		metrics_add(METRICS_OPENED + t, 1);
		log_debug("session opened by %s", sockjs_transport_name(t));
	}
	/* The lease is decided before anything is sent, so a client that has
	 * seen this response start knows it holds the session. */
	snprintf(owner, sizeof(owner), "%s.%llu", w->owner_prefix, ++w->requests);
	if (info.state != SESSION_CLOSED && !(created && !ti->streaming)) {
		rc = session_acquire(w->svc.db, key, owner, chat_wall_ms(), lease_ms, &err);
		if (rc == CHAT_EBUSY && lease_holder_gone(w, key, &err))
			rc = session_acquire(w->svc.db, key, owner, chat_wall_ms(), lease_ms, &err);
		if (rc == CHAT_EBUSY)
			rc = await_lease(w, key, owner, lease_ms, &info, &err);
		if (rc != CHAT_OK && rc != CHAT_EBUSY) {
			log_error("session %s: cannot take the lease: %s", LOG_SID(key),
				  chat_error_reason(&err, rc));
			respond_text(r, 500, head->data, "Internal error.\n");
			goto out;
		}
		leased = rc == CHAT_OK;
	}
	/* The request itself is a sign of life, whatever the client's timers
	 * do (db/broker.h broker_heard()). */
	if (leased && (rc = broker_heard(w->svc.db, key, chat_wall_ms(), &err)) != CHAT_OK)
		log_warn("session %s: %s", LOG_SID(key), chat_error_reason(&err, rc));
	/* Over a bound, the request is answered at once: with what is
	 * waiting for the session, else a heartbeat, which every sockjs-client
	 * transport takes as "nothing yet" and polls or reopens again; the
	 * session stays open.  Decided before the first byte goes out, so a
	 * client that has read "o" knows this request is counted. */
	if (leased && info.state != SESSION_CLOSED) {
		counted = 1;
		at_once = !held_fits(w, &info, __atomic_add_fetch(&held_now, 1, __ATOMIC_RELAXED));
		metrics_add(METRICS_HELD, 1);
		metrics_add(METRICS_CONNECTIONS + t, 1);
		if (at_once)
			metrics_add(METRICS_LIMIT_HELD, 1);
		if (at_once)
			log_debug("session %s: held requests over the bound, answered at once",
				  LOG_SID(key));
	}
	if (http_start(r, 200, ti->content_type, head->data) != CHAT_OK)
		goto out;
	chat_buf_reset(&st.wire);
	if (sockjs_prelude(&st.wire, t, callback) != CHAT_OK ||
	    (st.wire.len > 0 && http_write(r, st.wire.data, st.wire.len) != CHAT_OK))
		goto out;
	if (created) {
		/* A polling request that opens a session answers just "o". */
		if (send_open(&st) != CHAT_OK || !ti->streaming)
			goto out;
	}
	if (info.state == SESSION_CLOSED) {
		/* A closed session answers every request with its close frame
		 * until it expires, whoever held it. */
		send_close(&st, info.close_code, info.close_reason);
		goto out;
	}
	if (!leased) {
		send_close(&st, SOCKJS_CLOSE_ANOTHER, SOCKJS_REASON_ANOTHER);
		goto out;
	}
	rc = dispatch_attach(w->disp, w->svc.db, key, service_delivery_kind(s), 1, info.cursor,
			     sockjs_json_bound(out_cap), 4096,
			     worker_wake_fd(w) > 0 ? wake_worker : NULL, w, &ds, &err);
	if (rc != CHAT_OK) {
		log_error("session %s: %s", LOG_SID(key), chat_error_reason(&err, rc));
		goto out;
	}
	next_beat = chat_mono_ms() + beat_ms;
	stomp_beat = 0;
	for (;;) {
		dispatch_end_t end;

		json_strv_reset(&msgs);
		rc = dispatch_take(w->disp, ds, w->svc.db, &msgs, &end, &err);
		if (rc != CHAT_OK) {
			log_error("session %s: %s", LOG_SID(key), chat_error_reason(&err, rc));
			break;
		}
		if (msgs.n > 0 && send_messages(&st, &msgs) != CHAT_OK) {
			/* The client went away mid-response: what it did not get
			 * is lost to it, so the session ends (SockJS 1002). */
			interrupted = 1;
			break;
		}
		if (end.closed) {
			session_close(w->svc.db, key, end.code, end.reason, chat_wall_ms(), NULL);
			send_close(&st, end.code, end.reason);
			break;
		}
		if (msgs.n > 0 && (!ti->streaming || at_once || st.framed >= opt->response_limit))
			break;
		if (at_once && !waited_once &&
		    (uint64_t)info.cursor < (uint64_t)doorbell_seq(w->bell)) {
			/* Rows after the cursor may not have reached this
			 * process's dispatcher yet: a short, bounded wait. */
			waited_once = 1;
			wait_wake_or_gone(w, r, ds, LEASE_WAIT_MS);
			continue;
		}
		if (at_once) {
			send_heartbeat(&st);
			break;
		}
		now = chat_mono_ms();
		/* STOMP heart-beats ride on the request the session holds: a
		 * stream sends them as they fall due, a poll answers with one
		 * (the next poll carries the next).  The client may ask for them
		 * in any CONNECT, so the interval is looked at each round. */
		stomp_iv = broker_heartbeat_interval(opt, dispatch_heartbeat_wanted(w->disp, ds));
		if (stomp_iv == 0)
			stomp_beat = 0;
		else if (msgs.n > 0 || stomp_beat == 0)
			stomp_beat = now + stomp_iv;
		if (msgs.n > 0)
			continue;
		if (stomp_iv > 0 && now >= stomp_beat) {
			if (send_stomp_heartbeat(&st) != CHAT_OK) {
				interrupted = 1;
				break;
			}
			if (!ti->streaming)
				break;
			stomp_beat = now + stomp_iv;
			continue;
		}
		if (now >= next_beat) {
			if (send_heartbeat(&st) != CHAT_OK) {
				interrupted = 1;
				break;
			}
			if (!ti->streaming)
				break;
			next_beat = now + beat_ms;
			/* The dispatcher thread renews the lease (transport.h);
			 * a stream whose lease another request took ends, and
			 * one closed by another process without a frame (expiry)
			 * gets its close frame. */
			if (session_get(w->svc.db, key, &info, NULL) != CHAT_OK ||
			    strcmp(info.lease_owner, owner) != 0)
				break;
			if (info.state == SESSION_CLOSED) {
				send_close(&st, info.close_code, info.close_reason);
				break;
			}
			/* What a long stream delivered, for pruning and a takeover. */
			(void)session_advance_cursor(w->svc.db, key, dispatch_cursor(w->disp, ds),
						     NULL);
			continue;
		}
		if (http_client_gone(r)) {
			/* Whatever was under way to it is lost: as for a failed
			 * write, the session ends (SockJS 1002). */
			interrupted = 1;
			break;
		}
		wake = stomp_iv > 0 && stomp_beat < next_beat ? stomp_beat : next_beat;
		wait_wake_or_gone(w, r, ds, (int)(wake - now));
	}
	/* The cursor is written once per response. */
	(void)session_advance_cursor(w->svc.db, key, dispatch_detach(w->disp, ds), NULL);
	if (interrupted)
		session_close(w->svc.db, key, SOCKJS_CLOSE_INTERRUPTED, SOCKJS_REASON_INTERRUPTED,
			      chat_wall_ms(), NULL);
out:
	if (counted) {
		__atomic_sub_fetch(&held_now, 1, __ATOMIC_RELAXED);
		metrics_add(METRICS_HELD, -1);
		metrics_add(METRICS_CONNECTIONS + t, -1);
	}
	if (leased) {
		session_release(w->svc.db, key, owner, chat_wall_ms(), NULL);
		/* The client's next request may be waiting for it (await_lease). */
		if (interrupted)
			doorbell_ring(w->bell, doorbell_seq(w->bell));
	} else if (rc == CHAT_OK && !created)
		session_touch(w->svc.db, key, chat_wall_ms(), NULL);
	json_strv_free(&msgs);
	chat_buf_free(&st.frame);
	chat_buf_free(&st.wire);
}

static void serve_send(worker_t *w, http_request_t *r, const service_t *s, sockjs_transport_t t,
		       const char *key, chat_buf_t *head)
{
	const char *content_type = http_param(r, "CONTENT_TYPE");
	const char *err_body = NULL;
	chat_error_t err = { 0 };
	chat_buf_t body;
	json_strv_t msgs;
	int rc;

	/* A message may grow six-fold as JSON (escapes), plus the array. */
	chat_buf_init(&body, sockjs_json_bound((size_t)w->opt->max_frame));
	json_strv_init(&msgs, (size_t)w->opt->max_frame * 4, 4096);
	rc = http_read_body(r, &body);
	if (rc == CHAT_ETOOBIG) {
		respond_text(r, 413, head->data, SOCKJS_ERR_TOO_BIG);
		goto out;
	}
	if (rc == CHAT_ETIMEDOUT) {
		respond_text(r, 408, head->data, "The request body did not come in time.\n");
		goto out;
	}
	if (rc != CHAT_OK)
		goto out;
	rc = sockjs_parse_send(t,
			       (chat_slice_t){ content_type ? content_type : "",
					       content_type ? strlen(content_type) : 0 },
			       body.data ? body.data : "", body.len, &msgs, &err_body);
	if (rc != CHAT_OK) {
		respond_text(r, 500, head->data, err_body ? err_body : "Internal error.");
		goto out;
	}
	rc = service_receive(&w->svc, s, key, http_param(r, "REMOTE_ADDR"), &msgs, chat_wall_ms(),
			     &err);
	if (rc == CHAT_ENOTFOUND || rc == CHAT_ECLOSED || rc == CHAT_EDENIED) {
		respond_text(r, 404, head->data, "Not found.\n");
		goto out;
	}
	if (rc != CHAT_OK) {
		log_warn("session %s: messages refused: %s", LOG_SID(key),
			 chat_error_reason(&err, rc));
		respond_text(r, 500, head->data, "Internal error.\n");
		goto out;
	}
	if (t == SOCKJS_JSONP_SEND)
		respond_text(r, 200, head->data, "ok");
	else
		http_respond(r, 204, "text/plain; charset=UTF-8", head->data, "", 0);
out:
	chat_buf_free(&body);
	json_strv_free(&msgs);
}

void transport_serve(worker_t *w, http_request_t *r, const service_t *s, const route_t *rt)
{
	const transport_info_t *ti = &transports[rt->transport];
	chat_buf_t head, callback;
	const char *err_body = NULL;
	char key[CHATDB_ID_MAX + 1];

	chat_buf_init(&head, 4096);
	chat_buf_init(&callback, SOCKJS_CALLBACK_MAX);
	if (ti->method == NULL) {
		respond_text(r, 404, NULL, "Not found.\n");
		goto out;
	}
	if (!transport_origin_allowed(r, w->opt)) {
		respond_text(r, 403, NULL, "Origin not allowed.\n");
		goto out;
	}
	if (ti->cors && !strcmp(r->method, "OPTIONS")) {
		if (transport_preflight_headers(r, &head, "OPTIONS, POST") == CHAT_OK) {
			if (s->cookie_needed)
				transport_common_headers(r, s, &head);
			http_respond(r, 204, NULL, head.data, "", 0);
		}
		goto out;
	}
	if (strcmp(r->method, ti->method) != 0) {
		char allow[64];

		snprintf(allow, sizeof(allow), "Allow: %s%s\r\n", ti->cors ? "OPTIONS, " : "",
			 ti->method);
		http_respond(r, 405, NULL, allow, "", 0);
		goto out;
	}
	if (transport_common_headers(r, s, &head) != CHAT_OK) {
		respond_text(r, 500, NULL, "Internal error.\n");
		goto out;
	}
	if (service_key(s, rt->session_id, key) != CHAT_OK) {
		respond_text(r, 404, head.data, "Not found.\n");
		goto out;
	}
	if (ti->callback && sockjs_callback(r->query, &callback, &err_body) != CHAT_OK) {
		respond_text(r, 500, head.data, err_body ? err_body : "Internal error.");
		goto out;
	}
	if (ti->streaming && !transport_streaming_allowed(r, w->opt)) {
		/* The front would hold the stream back: the client moves on to
		 * the next transport at once. */
		respond_text(r, 404, head.data, "Not found.\n");
		goto out;
	}
	/* Whatever this request logs names its session. */
	log_context(key, NULL);
	if (ti->receiving)
		serve_receive(w, r, s, rt->transport, key, chat_buf_slice(&callback), &head);
	else
		serve_send(w, r, s, rt->transport, key, &head);
	log_context(NULL, NULL);
out:
	chat_buf_free(&head);
	chat_buf_free(&callback);
}
