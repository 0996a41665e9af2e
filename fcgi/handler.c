/*
 * handler.c - routes a FastCGI request to its SockJS service and answers
 * everything that is not a session transport: the greeting, /info, the
 * iframe page, CORS preflights, and the errors (see handler.h).
 */
#include "config.h"
#include "handler.h"

#include "api.h"
#include "background.h"
#include "broker.h"
#include "chatdb.h"
#include "clock.h"
#include "dispatch.h"
#include "relay.h"
#include "doorbell.h"
#include "http.h"
#include "httpreq.h"
#include "log.h"
#include "route.h"
#include "service.h"
#include "sockjs.h"
#include "transport.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

struct handler {
	const chat_options_t *opt; /* borrowed */
	service_t services[SERVICE_MAX];
	const char *prefixes[SERVICE_MAX]; /* services[i].prefix, for route_parse */
	size_t nservices;
	doorbell_t *bell;  /* shared by the process's threads */
	dispatch_t *disp;  /* the process's fan-out (owned) */
	chatdb_t *disp_db; /* its handle, used by its thread (owned) */
	pthread_t disp_thread;
	int disp_started;
	int cgi;                  /* one request, then the process ends */
	pthread_key_t worker_key; /* this thread's worker_t */
	chat_buf_t iframe;        /* the iframe page, built once */
	chat_buf_t iframe_etag;
};

static void worker_free(void *p)
{
	worker_t *w = p;

	if (w == NULL)
		return;
	service_ctx_cleanup(&w->svc);
	chatdb_close(w->svc.db);
	if (w->wake_fd > 0)
		close(w->wake_fd);
	free(w);
}

/* This thread's worker: its own chat.db handle (SQLite handles are not
 * shared between threads), made on first use. */
static worker_t *worker_get(handler_t *h, chat_error_t *err)
{
	worker_t *w = pthread_getspecific(h->worker_key);
	static unsigned thread_seq;

	if (w != NULL)
		return w;
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		chat_error_set(err, CHAT_ENOMEM, "out of memory");
		return NULL;
	}
	if (chatdb_open(h->opt->db_path, 0, &w->svc.db, err) != CHAT_OK) {
		free(w);
		return NULL;
	}
	chatdb_set_doorbell(w->svc.db, h->bell);
	w->svc.opt = h->opt;
	w->svc.limit_peers = 1; /* REMOTE_ADDR is the client's */
	w->bell = h->bell;
	w->disp = h->disp;
	w->opt = h->opt;
	snprintf(w->owner_prefix, sizeof(w->owner_prefix), "%ld.%u", (long)getpid(),
		 __atomic_add_fetch(&thread_seq, 1, __ATOMIC_RELAXED));
	pthread_setspecific(h->worker_key, w);
	return w;
}

/* The dispatcher thread: while requests are held, each doorbell ring
 * makes it read the new rows once and wake the requests they concern, and
 * every heartbeat it renews the leases of the process's requests (one of
 * them may be blocked writing to a client that reads slowly). */
static void *dispatcher_main(void *arg)
{
	handler_t *h = arg;
	const chat_options_t *opt = h->opt;
	chat_error_t err = { 0 };
	int64_t next_renew = 0;
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "%ld.", (long)getpid());
	while (dispatch_wait_sessions(h->disp)) {
		uint32_t seen = doorbell_snapshot(h->bell);
		int64_t now = chat_mono_ms();
		int more = 0, rc;

		if (now >= next_renew) {
			if (next_renew != 0 &&
			    (rc = session_renew_prefix(h->disp_db, prefix, chat_wall_ms(),
						       opt->heartbeat_ms + TRANSPORT_LEASE_SLACK_MS,
						       &err)) != CHAT_OK)
				log_error("dispatcher: cannot renew the leases: %s",
					  chat_error_reason(&err, rc));
			/* A client whose poll or stream is held here is alive,
			 * whatever its STOMP heart-beats do. */
			if (next_renew != 0 &&
			    (rc = broker_heard_prefix(h->disp_db, prefix, chat_wall_ms(), &err)) !=
				    CHAT_OK)
				log_error("dispatcher: cannot note the held sessions as alive: %s",
					  chat_error_reason(&err, rc));
			next_renew = now + opt->heartbeat_ms;
		}
		if ((rc = dispatch_run(h->disp, &more, &err)) != CHAT_OK)
			log_error("dispatcher: cannot read the outbox: %s",
				  chat_error_reason(&err, rc));
		if (more)
			continue;
		/* Woken or timed out, the loop goes on. */
		rc = doorbell_wait(h->bell, seen,
				   (int)(next_renew - now < 5000 ? next_renew - now : 5000));
		if (rc != CHAT_OK && rc != CHAT_ETIMEDOUT)
			log_debug("dispatcher: doorbell wait: %s", chat_strerror(rc));
	}
	return NULL;
}

/* How long a CGI process's seeding of ids stands for the others. */
#define HANDLER_SEED_MS (10 * 60 * 1000)

static void seed(handler_t *h, chatdb_t *db)
{
	char owner[32];
	int64_t now = chat_wall_ms();
	int alive = 0;

	if (!h->cgi) {
		/* relay_seed_uri() logged a failure; the background thread
		 * retries. */
		if (relay_seed_uri(db, h->opt->store_uri, now, NULL) != CHAT_OK)
			log_debug("ids not seeded from the store yet");
		return;
	}
	/* Looked at first: reading costs no write lock. */
	if (relay_lease_alive(db, "cgi-seed", now, &alive, NULL) != CHAT_OK || alive)
		return;
	snprintf(owner, sizeof(owner), "cgi:%ld", (long)getpid());
	if (relay_lease(db, "cgi-seed", owner, now, HANDLER_SEED_MS, NULL) != CHAT_OK)
		return;
	/* The store is away: let the next request try again. */
	if (relay_seed_uri(db, h->opt->store_uri, now, NULL) != CHAT_OK &&
	    relay_lease_release(db, "cgi-seed", owner, NULL) != CHAT_OK)
		log_debug("cgi-seed lease not released; it expires");
}

int handler_open(const chat_options_t *opt, int cgi, handler_t **out, chat_error_t *err)
{
	handler_t *h = calloc(1, sizeof(*h));
	chatdb_t *db = NULL;
	size_t i;
	int rc;

	if (h == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	h->opt = opt;
	h->cgi = cgi;
	h->nservices = service_table(opt, h->services);
	for (i = 0; i < h->nservices; i++)
		h->prefixes[i] = h->services[i].prefix;
	chat_buf_init(&h->iframe, 64 * 1024);
	chat_buf_init(&h->iframe_etag, 64);
	if (pthread_key_create(&h->worker_key, worker_free) != 0) {
		free(h);
		return chat_error_set(err, CHAT_ENOMEM, "pthread_key_create failed");
	}
	rc = doorbell_open(opt->bell_path, &h->bell, err);
	if (rc != CHAT_OK)
		goto fail;
	/* Create or migrate chat.db now, so a broken path fails at start. */
	rc = chatdb_open(opt->db_path, 0, &db, err);
	/* Ids, guests and rooms continue above the store's before any post.
	 * A CGI process does it only when no process of this chat.db did it
	 * in the last HANDLER_SEED_MS (a new chat.db has no lease): not a
	 * write transaction and a store connection per request. */
	if (rc == CHAT_OK)
		seed(h, db);
	chatdb_close(db);
	if (rc != CHAT_OK)
		goto fail;
	rc = chatdb_open(opt->db_path, 0, &h->disp_db, err);
	if (rc == CHAT_OK && (rc = dispatch_new(h->disp_db, &h->disp)) != CHAT_OK)
		chat_error_set(err, rc, "out of memory");
	if (rc != CHAT_OK)
		goto fail;
	if (pthread_create(&h->disp_thread, NULL, dispatcher_main, h) != 0) {
		rc = chat_error_set(err, CHAT_ENOMEM, "cannot start the dispatcher thread");
		goto fail;
	}
	h->disp_started = 1;
	/* Relay, sweeps, expiry and pruning, whoever's clients come; a CGI
	 * process does them after its response (handler_after_cgi). */
	if (!cgi && (rc = background_start(opt, h->bell)) != CHAT_OK) {
		chat_error_set(err, rc, "cannot start the background thread");
		goto fail;
	}
	rc = sockjs_iframe_page(&h->iframe,
				(chat_slice_t){ opt->sockjs_url, strlen(opt->sockjs_url) },
				(chat_slice_t){ opt->sockjs_versions_url,
						strlen(opt->sockjs_versions_url) });
	if (rc == CHAT_OK)
		rc = sockjs_etag(&h->iframe_etag, h->iframe.data, h->iframe.len);
	if (rc != CHAT_OK) {
		chat_error_set(err, rc, "cannot build the iframe page: %s", chat_strerror(rc));
		goto fail;
	}
	*out = h;
	return CHAT_OK;
fail:
	handler_close(h);
	return rc;
}

void handler_close(handler_t *h)
{
	if (h == NULL)
		return;
	background_stop();
	worker_free(pthread_getspecific(h->worker_key));
	pthread_setspecific(h->worker_key, NULL);
	pthread_key_delete(h->worker_key);
	if (h->disp_started) {
		dispatch_stop(h->disp);
		doorbell_ring(h->bell, doorbell_seq(h->bell));
		pthread_join(h->disp_thread, NULL);
	}
	dispatch_free(h->disp);
	chatdb_close(h->disp_db);
	doorbell_close(h->bell);
	chat_buf_free(&h->iframe);
	chat_buf_free(&h->iframe_etag);
	free(h);
}

/* Whether a chat-ws sidecar renewed its lease lately: WebSocket is offered
 * only then, so a host where none runs (no long-lived processes allowed)
 * sends clients to the HTTP transports at once.  A database error offers
 * it (the sidecar may well run). */
static int sidecar_alive(handler_t *h)
{
	chat_error_t err = { 0 };
	worker_t *w = worker_get(h, &err);
	int alive = 1;

	if (w != NULL && relay_lease_alive(w->svc.db, RELAY_SIDECAR_LEASE, chat_wall_ms(), &alive,
					   &err) != CHAT_OK)
		alive = 1;
	return alive;
}

static void serve_info(handler_t *h, http_request_t *r, const service_t *s)
{
	chat_buf_t head, body;
	uint32_t entropy = 0;

	chat_buf_init(&head, 2048);
	chat_buf_init(&body, 512);
	if (!strcmp(r->method, "OPTIONS")) {
		if (transport_preflight_headers(r, &head, "OPTIONS, GET") == CHAT_OK)
			http_respond(r, 204, NULL, head.data, "", 0);
		goto out;
	}
	if (strcmp(r->method, "GET") != 0) {
		http_respond(r, 405, NULL, "Allow: OPTIONS, GET\r\n", "", 0);
		goto out;
	}
	if (getrandom(&entropy, sizeof(entropy), 0) != (ssize_t)sizeof(entropy))
		entropy = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	if (transport_nocache_cors_headers(r, &head) != CHAT_OK ||
	    sockjs_info(&body, s->websocket && sidecar_alive(h), s->cookie_needed,
			transport_streaming_allowed(r, h->opt), entropy) != CHAT_OK) {
		http_respond_text(r, 500, NULL, "Internal error.\n");
		goto out;
	}
	http_respond(r, 200, "application/json; charset=UTF-8", head.data, body.data, body.len);
out:
	chat_buf_free(&head);
	chat_buf_free(&body);
}

static void serve_iframe(handler_t *h, http_request_t *r)
{
	const char *inm = http_param(r, "HTTP_IF_NONE_MATCH");
	chat_buf_t head;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		http_respond(r, 405, NULL, "Allow: GET, HEAD\r\n", "", 0);
		return;
	}
	if (inm != NULL && !strcmp(inm, h->iframe_etag.data)) {
		http_respond(r, 304, NULL, NULL, "", 0);
		return;
	}
	chat_buf_init(&head, 512);
	if (chat_buf_printf(&head, "ETag: %s\r\n", h->iframe_etag.data) == CHAT_OK &&
	    transport_cache_forever(&head) == CHAT_OK)
		http_respond(r, 200, "text/html; charset=UTF-8", head.data, h->iframe.data,
			     strcmp(r->method, "HEAD") ? h->iframe.len : 0);
	else
		http_respond_text(r, 500, NULL, "Internal error.\n");
	chat_buf_free(&head);
}

/* A WebSocket URL that reached chat.fcgi: the front server did not hand
 * the upgrade to chat-ws (or it was no upgrade at all). */
static void serve_websocket_fallback(http_request_t *r, const service_t *s)
{
	if (!s->websocket) {
		http_respond_text(r, 404, NULL, "Not found.\n");
		return;
	}
	if (strcmp(r->method, "GET") != 0) {
		http_respond(r, 405, NULL, "Allow: GET\r\n", "", 0);
		return;
	}
	http_respond_text(r, 400, NULL, "Can \"Upgrade\" only to \"WebSocket\".");
}

static void serve(handler_t *h, http_request_t *rp, int init_rc)
{
	chat_error_t err = { 0 };
	http_request_t r = *rp;
	route_t rt;
	worker_t *w;
	const service_t *s;
	int rc;

	if (init_rc != CHAT_OK) {
		http_respond_text(&r, 500, NULL, "No REQUEST_URI from the front server.\n");
		return;
	}
	r.body_timeout_ms = (int)h->opt->body_timeout_ms;
	if (h->opt->base_from_script)
		r.path = httpreq_below_script_dir(r.path, http_param(&r, "SCRIPT_NAME"));
	if (api_match(r.path)) {
		api_serve(h->opt, h->bell, &r);
		return;
	}
	rc = route_parse(h->prefixes, h->nservices, r.path.ptr, r.path.len, &rt);
	if (rc != CHAT_OK) {
		http_respond_text(&r, 404, NULL, "Not found.\n");
		return;
	}
	s = &h->services[rt.prefix];
	switch (rt.kind) {
	case ROUTE_GREETING:
		if (strcmp(r.method, "GET") != 0 && strcmp(r.method, "HEAD") != 0)
			http_respond(&r, 405, NULL, "Allow: GET, HEAD\r\n", "", 0);
		else
			http_respond_text(&r, 200, NULL, SOCKJS_GREETING);
		return;
	case ROUTE_INFO: serve_info(h, &r, s); return;
	case ROUTE_IFRAME: serve_iframe(h, &r); return;
	case ROUTE_RAW_WEBSOCKET: serve_websocket_fallback(&r, s); return;
	case ROUTE_SESSION: break;
	}
	if (rt.transport == SOCKJS_WEBSOCKET) {
		serve_websocket_fallback(&r, s);
		return;
	}
	w = worker_get(h, &err);
	if (w == NULL) {
		log_error("cannot open %s: %s", h->opt->db_path, err.message);
		http_respond_text(&r, 503, NULL, "Service unavailable.\n");
		return;
	}
	transport_serve(w, &r, s, &rt);
}

void handler_serve(handler_t *h, FCGX_Request *req)
{
	http_request_t r;
	int rc = http_request_init(&r, req);

	serve(h, &r, rc);
}

void handler_serve_cgi(handler_t *h, char **envp)
{
	http_request_t r;
	int rc = http_request_init_cgi(&r, envp);

	serve(h, &r, rc);
}
