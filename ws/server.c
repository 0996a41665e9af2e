/*
 * server.c - chat-ws's libwebsockets server (see server.h): the protocol
 * callback, a switch handing each reason to a named function (the sockets'
 * in conn.c, the upgrade checks in upgrade.c), the heartbeats, the doorbell
 * waiter and the server's life.  Everything runs on the loop thread except
 * the doorbell waiter, which only calls lws_cancel_service().
 */
#include "config.h"
#include "server_int.h"

#include "background.h"
#include "broker.h"
#include "clock.h"
#include "log.h"
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Subprotocol names the sockets answer to: ours first (it also serves
 * plain HTTP), then the STOMP ones. */
const char *const ws_protocol_names[WS_NPROTOCOLS] = { "chat-sockjs", "v12.stomp", "v11.stomp",
						       "v10.stomp" };

/* Says in chat.db that this sidecar runs, until two heartbeats from now
 * (chat.fcgi's /info offers WebSocket while it does).  A second sidecar on
 * the same chat.db finds the lease held and says nothing. */
static void sidecar_alive(wsserver_t *srv, int64_t now)
{
	chat_error_t err = { 0 };
	int rc = relay_lease(srv->svc.db, RELAY_SIDECAR_LEASE, srv->owner, now,
			     2 * srv->opt->heartbeat_ms + 5000, &err);

	if (rc != CHAT_OK && rc != CHAT_EBUSY)
		log_warn("cannot renew the sidecar's lease: %s", chat_error_reason(&err, rc));
}

/* Every heartbeat_ms, for every socket at once: the SockJS heartbeat, one
 * statement renewing all the sockets' leases, the cursors that moved
 * (outbox pruning goes by them) and the pongs heard (liveness) in the same
 * transaction, and one look for sessions another process closed. */
static void heartbeat(lws_sorted_usec_list_t *sul)
{
	wsserver_t *srv = lws_container_of(sul, wsserver_t, beat);
	chat_error_t err = { 0 };
	int64_t now = chat_wall_ms();
	conn_t *c;
	int rc;

	for (c = srv->conns; c != NULL; c = c->next) {
		if (c->closing || !c->framed || !wsq_empty(&c->q))
			continue;
		chat_buf_reset(&srv->frame);
		if (sockjs_frame_heartbeat(&srv->frame) == CHAT_OK &&
		    conn_queue(srv, c, srv->frame.data, srv->frame.len) == CHAT_OK)
			lws_callback_on_writable(c->wsi);
	}
	rc = chatdb__begin(srv->svc.db, &err);
	if (rc == CHAT_OK)
		rc = session_renew_owner(srv->svc.db, srv->owner, now, srv->lease_ms, &err);
	for (c = srv->conns; c != NULL && rc == CHAT_OK; c = c->next) {
		int64_t cursor = c->ds != NULL ? dispatch_cursor(srv->disp, c->ds) : 0;

		if (cursor > c->saved_cursor &&
		    (rc = session_advance_cursor(srv->svc.db, c->key, cursor, &err)) == CHAT_OK)
			c->saved_cursor = cursor;
		if (rc == CHAT_OK && c->ponged &&
		    (rc = broker_heard(srv->svc.db, c->key, now, &err)) == CHAT_OK)
			c->ponged = 0;
	}
	if (rc == CHAT_OK)
		rc = chatdb__commit(srv->svc.db, &err);
	else
		chatdb__rollback(srv->svc.db);
	if (rc != CHAT_OK)
		log_warn("cannot renew the sockets' leases: %s", chat_error_reason(&err, rc));
	if ((rc = session_closed_owned(srv->svc.db, srv->owner, conn_closed_elsewhere, srv,
				       &err)) != CHAT_OK)
		log_warn("cannot look for closed sessions: %s", chat_error_reason(&err, rc));
	sidecar_alive(srv, now);
	lws_sul_schedule(srv->ctx, 0, &srv->beat, heartbeat,
			 srv->opt->heartbeat_ms * LWS_US_PER_MS);
}

/* Every stomp_heartbeat_ms, for every socket at once: a STOMP heart-beat
 * EOL (a WebSocket message of its own, or a["\n"] on a SockJS socket) to
 * each socket whose client asked for them and would otherwise hear nothing
 * before its interval is out.  Sent at most every tick, at least every
 * broker_heartbeat_interval(). */
static void stomp_heartbeat(lws_sorted_usec_list_t *sul)
{
	wsserver_t *srv = lws_container_of(sul, wsserver_t, stomp_beat);
	int64_t tick = srv->opt->stomp_heartbeat_ms, now = chat_mono_ms();
	const chat_slice_t eol = CHAT_SLICE("\n");
	conn_t *c;

	if (tick < BROKER_HEARTBEAT_MIN_MS)
		tick = BROKER_HEARTBEAT_MIN_MS;

	for (c = srv->conns; c != NULL; c = c->next) {
		int64_t iv;

		if (c->closing || c->ds == NULL)
			continue;
		iv = broker_heartbeat_interval(srv->opt,
					       dispatch_heartbeat_wanted(srv->disp, c->ds));
		if (!heartbeat_send_due(iv, c->stomp_sent_ms, now, tick))
			continue;
		chat_buf_reset(&srv->frame);
		if ((c->framed ? sockjs_frame_messages(&srv->frame, &eol, 1)
			       : chat_buf_append(&srv->frame, eol.ptr, eol.len)) != CHAT_OK ||
		    conn_queue(srv, c, srv->frame.data, srv->frame.len) != CHAT_OK)
			continue;
		c->stomp_sent_ms = now;
		lws_callback_on_writable(c->wsi);
	}
	lws_sul_schedule(srv->ctx, 0, &srv->stomp_beat, stomp_heartbeat, tick * LWS_US_PER_MS);
}

static void on_closed(wsserver_t *srv, conn_t *c)
{
	conn_release(srv, c);
	if (srv->shutting_down && srv->nconns == 0)
		srv->done = 1;
}

static void grace_over(lws_sorted_usec_list_t *sul)
{
	wsserver_t *srv = lws_container_of(sul, wsserver_t, grace);

	if (srv->nconns > 0)
		log_warn("shutdown: %zu sockets did not close in time", srv->nconns);
	srv->done = 1;
}

static void start_shutdown(wsserver_t *srv)
{
	conn_t *c;

	srv->shutting_down = 1;
	log_info("shutting down: closing %zu sockets", srv->nconns);
	for (c = srv->conns; c != NULL; c = c->next)
		conn_close(srv, c, WS_CLOSE_GOING_AWAY, "Server shutting down");
	if (srv->nconns == 0)
		srv->done = 1;
	else
		lws_sul_schedule(srv->ctx, 0, &srv->grace, grace_over, WS_SHUTDOWN_GRACE_US);
}

static void on_wakeup(wsserver_t *srv)
{
	conn_deliver_all(srv);
	if (atomic_load(&srv->stop_requested) && !srv->shutting_down)
		start_shutdown(srv);
}

static int callback_reason(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			   size_t len);

/* Whatever a socket's callback logs names its session. */
static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	conn_t *c = user;
	int rc;

	log_context(c != NULL && c->key[0] != '\0' ? c->key : NULL,
		    c != NULL && c->user[0] != '\0' ? c->user : NULL);
	rc = callback_reason(wsi, reason, user, in, len);
	log_context(NULL, NULL);
	return rc;
}

static int callback_reason(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
			   size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	wsserver_t *srv = ctx ? lws_context_user(ctx) : NULL;
	conn_t *c = user;

	if (srv == NULL)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	switch (reason) {
	case LWS_CALLBACK_HTTP: return upgrade_http(srv, wsi);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: return upgrade_confirm(srv, wsi, in);
	case LWS_CALLBACK_ESTABLISHED: return conn_established(srv, c, wsi);
	case LWS_CALLBACK_RECEIVE: return conn_receive(srv, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE: return conn_writeable(srv, c);
	case LWS_CALLBACK_RECEIVE_PONG:
		/* A sign of life (a browser answers pings even in a background
		 * tab whose timers are throttled): told once per heartbeat. */
		if (c != NULL)
			c->ponged = 1;
		return 0;
	case LWS_CALLBACK_CLOSED: on_closed(srv, c); return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* lws tells each protocol of the vhost: act once. */
		if (lws_get_protocol(wsi) != NULL &&
		    strcmp(lws_get_protocol(wsi)->name, ws_protocol_names[0]) == 0)
			on_wakeup(srv);
		return 0;
	default: return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- the doorbell waiter ---------------------------------------------- */

static void *waiter_main(void *arg)
{
	wsserver_t *srv = arg;
	uint32_t seen = doorbell_snapshot(srv->bell);

	while (!atomic_load(&srv->waiter_stop)) {
		if (doorbell_wait(srv->bell, seen, -1) != CHAT_OK)
			continue;
		/* Snapshot before waking the loop: a ring after this point
		 * wakes it again, a ring before it is seen by the collect the
		 * wakeup triggers (rings follow their commits). */
		seen = doorbell_snapshot(srv->bell);
		lws_cancel_service(srv->ctx);
	}
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void lws_log_line(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_error("lws: %.*s", (int)n, line);
	else
		log_warn("lws: %.*s", (int)n, line);
}

/* Fills srv's services, bounds and buffers from opt, and its owner id. */
static void server_init(wsserver_t *srv, const chat_options_t *opt)
{
	uint32_t nonce = 0;
	size_t max_frame = (size_t)opt->max_frame, i;

	srv->opt = opt;
	srv->nservices = service_table(opt, srv->services);
	for (i = 0; i < srv->nservices; i++)
		srv->prefixes[i] = srv->services[i].prefix;
	srv->svc.opt = opt;
	srv->lease_ms = opt->heartbeat_ms + WS_LEASE_SLACK_MS;
	/* A message may grow six-fold as JSON (\u00XX escapes), plus the array. */
	srv->rx_max_framed = sockjs_json_bound(max_frame);
	srv->rx_max_raw = max_frame;
	srv->queue_max_bytes = WS_QUEUE_MIN_BYTES;
	if (srv->queue_max_bytes < 2 * sockjs_json_bound(max_frame))
		srv->queue_max_bytes = 2 * sockjs_json_bound(max_frame);
	/* A batch taken from the dispatcher goes whole into an empty queue. */
	srv->batch_max_bytes = srv->queue_max_bytes / 2 - 1024;
	json_strv_init(&srv->in, max_frame, 4096);
	json_strv_init(&srv->out, srv->batch_max_bytes, WS_BATCH_ITEMS);
	chat_buf_init(&srv->frame, srv->batch_max_bytes + WS_BATCH_ITEMS + 1024);
	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		nonce = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	snprintf(srv->nonce, sizeof(srv->nonce), "%08x", nonce);
	snprintf(srv->owner, sizeof(srv->owner), "ws:%ld:%s", (long)getpid(), srv->nonce);
}

/* Opens the doorbell, chat.db and the dispatcher. */
static int server_open_db(wsserver_t *srv, const chat_options_t *opt, chat_error_t *err)
{
	int rc = doorbell_open(opt->bell_path, &srv->bell, err);

	if (rc != CHAT_OK)
		return rc;
	rc = chatdb_open(opt->db_path, 0, &srv->svc.db, err);
	if (rc != CHAT_OK)
		return rc;
	/* Ids, guests and rooms continue above the store's before any post. */
	/* relay_seed_uri() logged a failure; the background thread retries. */
	if (relay_seed_uri(srv->svc.db, opt->store_uri, chat_wall_ms(), NULL) != CHAT_OK)
		log_debug("ids not seeded from the store yet");
	chatdb_set_doorbell(srv->svc.db, srv->bell);
	rc = dispatch_new(srv->svc.db, &srv->disp);
	if (rc != CHAT_OK)
		return chat_error_set(err, rc, "out of memory");
	return CHAT_OK;
}

/* Makes the lws context listening on opt->ws_listen:opt->ws_port. */
static int server_listen(wsserver_t *srv, const chat_options_t *opt, chat_error_t *err)
{
	struct lws_context_creation_info info;

	/* STOMP clients on a raw WebSocket (stompjs's brokerURL, Spring's
	 * clients) ask for the STOMP subprotocols, and lws refuses a socket
	 * none of whose subprotocols it knows: accept them as names of the same
	 * protocol.  Which one lws answers changes nothing: CONNECT negotiates
	 * the STOMP version. */
	for (size_t p = 0; p < WS_NPROTOCOLS; p++) {
		srv->protocols[p].name = ws_protocol_names[p];
		srv->protocols[p].callback = callback;
		srv->protocols[p].per_session_data_size = sizeof(conn_t);
		/* lws allocates this per socket (its default is 4 KiB): most
		 * client frames are small, and longer ones come in pieces that
		 * conn_t's rx joins, so a small one keeps idle sockets cheap. */
		srv->protocols[p].rx_buffer_size = WS_RX_BUFFER;
	}
	/* Ping a socket idle for a heartbeat; hang up when the pong is missing. */
	srv->retry.secs_since_valid_ping = (uint16_t)(opt->heartbeat_ms / 1000 > 0
							      ? opt->heartbeat_ms / 1000
							      : 1);
	srv->retry.secs_since_valid_hangup = (uint16_t)(srv->retry.secs_since_valid_ping * 2 + 10);
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
	memset(&info, 0, sizeof(info));
	info.port = (int)opt->ws_port;
	info.iface = opt->ws_listen[0] ? opt->ws_listen : NULL;
	info.protocols = srv->protocols;
	info.user = srv;
	info.vhost_name = "chat-ws";
	info.server_string = "chat-ws";
	info.retry_and_idle_policy = &srv->retry;
	info.timeout_secs = 10;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND | LWS_SERVER_OPTION_DISABLE_IPV6;
	srv->ctx = lws_create_context(&info);
	if (srv->ctx == NULL)
		return chat_error_set(err, CHAT_EIO, "cannot listen on %s:%lld (address in use?)",
				      opt->ws_listen, opt->ws_port);
	return CHAT_OK;
}

int wsserver_open(const chat_options_t *opt, wsserver_t **out, chat_error_t *err)
{
	wsserver_t *srv = calloc(1, sizeof(*srv));
	int rc;

	*out = NULL;
	if (srv == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	server_init(srv, opt);
	if ((rc = server_open_db(srv, opt, err)) != CHAT_OK)
		goto fail;
	if ((rc = server_listen(srv, opt, err)) != CHAT_OK)
		goto fail;
	/* Relay, sweeps, expiry and pruning, also for a stack whose clients
	 * only use the raw WebSocket. */
	if ((rc = background_start(opt, srv->bell)) != CHAT_OK) {
		chat_error_set(err, rc, "cannot start the background thread");
		goto fail;
	}
	sidecar_alive(srv, chat_wall_ms());
	lws_sul_schedule(srv->ctx, 0, &srv->beat, heartbeat, opt->heartbeat_ms * LWS_US_PER_MS);
	if (opt->stomp_heartbeat_ms > 0)
		lws_sul_schedule(srv->ctx, 0, &srv->stomp_beat, stomp_heartbeat,
				 opt->stomp_heartbeat_ms * LWS_US_PER_MS);
	if (pthread_create(&srv->waiter, NULL, waiter_main, srv) != 0) {
		rc = chat_error_set(err, CHAT_ENOMEM, "cannot start the doorbell thread");
		goto fail;
	}
	srv->waiter_started = 1;
	*out = srv;
	return CHAT_OK;
fail:
	wsserver_close(srv);
	return rc;
}

int wsserver_run(wsserver_t *srv)
{
	log_info("listening on %s:%lld", srv->opt->ws_listen, srv->opt->ws_port);
	while (!srv->done)
		if (lws_service(srv->ctx, 0) < 0)
			break;
	return CHAT_OK;
}

void wsserver_stop(wsserver_t *srv)
{
	atomic_store(&srv->stop_requested, 1);
	lws_cancel_service(srv->ctx);
}

void wsserver_close(wsserver_t *srv)
{
	if (srv == NULL)
		return;
	background_stop();
	if (srv->waiter_started) {
		atomic_store(&srv->waiter_stop, 1);
		/* Ringing with the current seq wakes the waiter and moves nothing. */
		doorbell_ring(srv->bell, doorbell_seq(srv->bell));
		pthread_join(srv->waiter, NULL);
	}
	/* Closes the sockets still open (their CLOSED callbacks delete the
	 * sessions), so chat.db must still be open here. */
	if (srv->ctx != NULL)
		lws_context_destroy(srv->ctx);
	dispatch_free(srv->disp);
	service_ctx_cleanup(&srv->svc);
	/* /info stops offering WebSocket at once. */
	if (srv->svc.db != NULL &&
	    relay_lease_release(srv->svc.db, RELAY_SIDECAR_LEASE, srv->owner, NULL) != CHAT_OK)
		log_debug("sidecar lease not released; it expires");
	chatdb_close(srv->svc.db);
	doorbell_close(srv->bell);
	json_strv_free(&srv->in);
	json_strv_free(&srv->out);
	chat_buf_free(&srv->frame);
	free(srv);
}
