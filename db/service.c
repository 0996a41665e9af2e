/* service.c - SockJS services over shared sessions (see service.h). */
#include "config.h"
#include "service.h"

#include "broker.h"
#include "clock.h"
#include "delivery.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "ratelimit.h"
#include "sockjs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The destination recorded on rows a service addresses to one session. */
#define SERVICE_DIRECT_DEST "sockjs"

size_t service_table(const chat_options_t *opt, service_t out[SERVICE_MAX])
{
	static const struct {
		const char *prefix;
		service_kind_t kind;
		int websocket, cookie_needed;
	} tests[] = {
		{ "/echo", SERVICE_ECHO, 1, 0 },
		{ "/close", SERVICE_CLOSE, 1, 0 },
		{ "/disabled_websocket_echo", SERVICE_ECHO, 0, 0 },
		{ "/cookie_needed_echo", SERVICE_ECHO, 1, 1 },
	};
	size_t n = 0, i;

	/* Every endpoint serves the one chat: a session is the same whichever
	 * endpoint path it is reached by. */
	for (i = 0; i < opt->nendpoints && n < ROUTE_ENDPOINTS_MAX; i++, n++) {
		out[n].prefix = opt->endpoint[i];
		out[n].kind = SERVICE_CHAT;
		out[n].websocket = opt->websocket != 0;
		out[n].cookie_needed = opt->cookie_needed != 0;
		out[n].tag = 'c';
		out[n].sid_min = (size_t)opt->session_id_min;
	}
	if (!opt->test_services)
		return n;
	for (i = 0; i < CHAT_ARRAY_LEN(tests) && n < SERVICE_MAX; i++, n++) {
		out[n].prefix = tests[i].prefix;
		out[n].kind = tests[i].kind;
		/* A test service offers WebSocket only when the sidecar runs. */
		out[n].websocket = tests[i].websocket && opt->websocket;
		out[n].cookie_needed = tests[i].cookie_needed;
		out[n].tag = (char)('0' + i);
		/* The test services carry no user's data and exist for the
		 * SockJS protocol suite, whose ids are as short as "a". */
		out[n].sid_min = 1;
	}
	return n;
}

int service_key(const service_t *s, chat_slice_t sid, char key[CHATDB_ID_MAX + 1])
{
	if (sid.len == 0 || sid.len < s->sid_min)
		return CHAT_EINVAL;
	if (sid.len > SERVICE_SID_MAX)
		return CHAT_ETOOBIG;
	key[0] = s->tag;
	key[1] = ':';
	memcpy(key + 2, sid.ptr, sid.len);
	key[sid.len + 2] = '\0';
	return CHAT_OK;
}

/* With session_bind on, the session answers only the address it is bound
 * to (its first request's, bound here when it has none yet).  Spring
 * answers a request from another principal 404 the same way. */
static int check_peer(service_ctx_t *c, const char *key, const char *peer, session_info_t *info,
		      chat_error_t *err)
{
	int rc;

	if (peer == NULL || *peer == '\0' || c->opt == NULL || !c->opt->session_bind)
		return CHAT_OK;
	if (info->peer[0] == '\0' &&
	    (rc = session_bind_peer(c->db, key, peer, info, err)) != CHAT_OK)
		return rc;
	if (strcmp(info->peer, peer) != 0)
		return chat_error_set(err, CHAT_EDENIED, "session bound to another address");
	return CHAT_OK;
}

/* Takes a token from peer's bucket of new sessions (its own transaction). */
static int admit(service_ctx_t *c, const char *peer, int64_t now_ms, chat_error_t *err)
{
	char key[RATELIMIT_KEY_MAX + 1];
	int rc;

	c->retry_ms = 0;
	if (!c->limit_peers || peer == NULL || *peer == '\0' || c->opt == NULL ||
	    c->opt->sessions_per_addr_burst <= 0)
		return CHAT_OK;
	snprintf(key, sizeof(key), "addr:%s", peer);
	if ((rc = chatdb__begin(c->db, err)) != CHAT_OK)
		return rc;
	rc = ratelimit__take_in_tx(c->db, key, c->opt->sessions_per_addr_rate,
				   c->opt->sessions_per_addr_burst, now_ms, &c->retry_ms, err);
	if (rc == CHAT_OK)
		return chatdb__commit(c->db, err);
	chatdb__rollback(c->db);
	if (rc == CHAT_ETOOMANY)
		metrics_add(METRICS_LIMIT_SESSION, 1);
	if (rc == CHAT_ETOOMANY)
		chat_error_set(err, rc, "too many new sessions from %s, retry in %lld ms", peer,
			       (long long)c->retry_ms);
	return rc;
}

int service_open(service_ctx_t *c, const service_t *s, const char *key, const char *peer,
		 int64_t now_ms, int *created, session_info_t *info, chat_error_t *err)
{
	int rc;

	*created = 0;
	rc = session_get(c->db, key, info, err);
	if (rc == CHAT_OK)
		return check_peer(c, key, peer, info, err);
	if (rc != CHAT_ENOTFOUND)
		return rc;
	if ((rc = admit(c, peer, now_ms, err)) != CHAT_OK)
		return rc;
	rc = session_create(c->db, key, NULL, now_ms, err);
	if (rc == CHAT_EEXIST) /* another process created it first */
		return session_get(c->db, key, info, err) ?: check_peer(c, key, peer, info, err);
	if (rc != CHAT_OK)
		return rc;
	*created = 1;
	if (s->kind == SERVICE_CLOSE) {
		rc = session_close(c->db, key, SOCKJS_CLOSE_GO_AWAY, SOCKJS_REASON_GO_AWAY, now_ms,
				   err);
		if (rc != CHAT_OK)
			return rc;
	}
	return session_get(c->db, key, info, err) ?: check_peer(c, key, peer, info, err);
}

static int receive_echo(service_ctx_t *c, const char *key, const json_strv_t *msgs, int64_t now_ms,
			chat_error_t *err)
{
	outbox_msg_t batch[64];
	size_t i = 0;
	int rc = CHAT_OK;

	/* In batches: one transaction (and one doorbell ring) per batch. */
	while (i < msgs->n && rc == CHAT_OK) {
		size_t k;

		for (k = 0; k < CHAT_ARRAY_LEN(batch) && i < msgs->n; k++, i++) {
			memset(&batch[k], 0, sizeof(batch[k]));
			batch[k].destination = SERVICE_DIRECT_DEST;
			batch[k].target_session = key;
			batch[k].body = json_strv_at(msgs, i);
			batch[k].created_ms = now_ms;
		}
		rc = outbox_append_batch(c->db, batch, k, NULL, err);
	}
	return rc;
}

/* Each message holds STOMP frames and heart-beat EOLs, a frame possibly
 * continued from the previous message or into the next (broker_receive()).
 * After an ERROR the session is closing: what follows is dropped. */
static int receive_chat(service_ctx_t *c, const char *key, const char *peer,
			const session_info_t *info, const json_strv_t *msgs, int64_t now_ms,
			chat_error_t *err)
{
	size_t i;
	int rc = CHAT_OK;

	if (info->state != SESSION_OPEN)
		return CHAT_OK;
	for (i = 0; i < msgs->n && rc == CHAT_OK; i++)
		rc = broker_receive(c->db, c->opt, &c->store, key, peer, json_strv_at(msgs, i),
				    now_ms, err);
	return rc;
}

int service_receive(service_ctx_t *c, const service_t *s, const char *key, const char *peer,
		    const json_strv_t *msgs, int64_t now_ms, chat_error_t *err)
{
	session_info_t info;
	int rc = session_get(c->db, key, &info, err);

	if (rc == CHAT_OK)
		rc = check_peer(c, key, peer, &info, err);
	if (rc != CHAT_OK)
		return rc;
	if (info.state == SESSION_CLOSED)
		return chat_error_set(err, CHAT_ECLOSED, "session is closed");
	if (msgs->n == 0)
		return CHAT_OK;
	switch (s->kind) {
	case SERVICE_ECHO: return receive_echo(c, key, msgs, now_ms, err);
	case SERVICE_CLOSE: return CHAT_OK;
	case SERVICE_CHAT: return receive_chat(c, key, peer, &info, msgs, now_ms, err);
	}
	return chat_error_set(err, CHAT_EINVAL, "unknown service");
}

delivery_kind_t service_delivery_kind(const service_t *s)
{
	return s->kind == SERVICE_CHAT ? DELIVERY_STOMP : DELIVERY_ECHO;
}

typedef struct collect_state {
	delivery_t *d;
	json_strv_t *out;
	int rc;
} collect_state_t;

static int collect_row(void *ctx, const outbox_row_t *row)
{
	collect_state_t *st = ctx;
	int rc;

	if (st->d->closed)
		return CHAT_STOP; /* the session ended before this row */
	rc = delivery_apply(st->d, row, NULL, st->out);
	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY) {
		if (st->out->n > 0)
			return CHAT_STOP; /* full: this row goes in the next response */
		st->rc = rc;              /* a single message larger than a response can hold */
		return rc;
	}
	if (rc == CHAT_EINVAL) {
		log_warn("session %s: message %lld cannot be rendered for it: skipped",
			 LOG_SID(st->d->key), (long long)row->seq);
		return CHAT_OK;
	}
	return rc;
}

int service_collect(service_ctx_t *c, const service_t *s, const char *key, int64_t cursor,
		    json_strv_t *out, int64_t *next_cursor, chat_error_t *err)
{
	collect_state_t st = { NULL, out, CHAT_OK };
	delivery_t d;
	int rc, was_closed;

	*next_cursor = cursor;
	delivery_init(&d, key, service_delivery_kind(s), 0, NULL);
	st.d = &d;
	rc = delivery_load(c->db, &d, err);
	if (rc != CHAT_OK)
		goto out;
	was_closed = d.closed;
	rc = outbox_read_after(c->db, cursor, OUTBOX_READ_MAX, collect_row, &st, next_cursor, err);
	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY) {
		rc = chat_error_set(err, rc, "a message is larger than a response may be");
		goto out;
	}
	if (rc == CHAT_ENOMEM)
		chat_error_set(err, rc, "out of memory");
	if (rc == CHAT_OK && d.npend > 0) {
		rc = chatdb__begin(c->db, err);
		if (rc == CHAT_OK)
			rc = delivery_flush_pending(c->db, &d, err);
		if (rc == CHAT_OK)
			rc = chatdb__commit(c->db, err);
		else
			chatdb__rollback(c->db);
	}
	if (rc == CHAT_OK && d.closed && !was_closed)
		rc = session_close(c->db, key, d.close_code, d.close_reason, chat_wall_ms(), err);
	if (rc != CHAT_OK && err != NULL && err->message[0] == '\0')
		chat_error_set(err, rc, "reading the outbox: %s", chat_strerror(rc));
out:
	delivery_clear(&d);
	return rc;
}


void service_ctx_cleanup(service_ctx_t *c)
{
	if (c == NULL)
		return;
	store_close(c->store);
	c->store = NULL;
}
