/*
 * ctl_status.c - chatctl status and chatctl metrics: the state of chat.db,
 * the relay and the store, and the metrics scrape GET /api/metrics serves.
 */
#include "config.h"
#include "ctl.h"
#include "admin.h"
#include "json.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

/* The scrape GET /api/metrics serves (db/metrics.h: every process's
 * counters summed in chat.db) into out. */
static int render_metrics(ctl_t *c, chat_buf_t *out)
{
	chat_buf_init(out, 4 << 20);
	if (metrics_render_prometheus(c->db, c->now_ms, out, &c->err) != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "metrics: %s", c->err.message);
	return CTL_EX_DONE;
}

/* Hands each sample line of a Prometheus text scrape (name{labels} and
 * value, split at the last space) to fn. */
static void each_sample(const chat_buf_t *m,
			void (*fn)(ctl_t *c, const char *name, size_t nlen, const char *value,
				   size_t vlen),
			ctl_t *c)
{
	const char *p = m->data, *end = m->data + m->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;

		if (nl == NULL)
			nl = end;
		for (sp = nl; sp > p && sp[-1] != ' '; sp--)
			;
		if (*p != '#' && sp > p + 1)
			fn(c, p, (size_t)(sp - 1 - p), sp, (size_t)(nl - sp));
		p = nl + 1;
	}
}

static void sample_text(ctl_t *c, const char *name, size_t nlen, const char *value, size_t vlen)
{
	(void)c;
	printf("  %-58.*s %.*s\n", (int)nlen, name, (int)vlen, value);
}

static void sample_json(ctl_t *c, const char *name, size_t nlen, const char *value, size_t vlen)
{
	size_t n = c->out.len;

	if (n > 0 && c->out.data[n - 1] != '{')
		ctl_jraw(c, ",");
	json_encode_string(&c->out, name, nlen);
	ctl_jraw(c, ":");
	/* Prometheus values are numbers, or NaN / +Inf, which JSON lacks. */
	if (vlen > 0 && (value[0] == '-' || (value[0] >= '0' && value[0] <= '9')))
		chat_buf_append(&c->out, value, vlen);
	else
		ctl_jraw(c, "null");
}

/* chatctl metrics: the scrape itself, for node_exporter's textfile
 * collector or a look by eye. */
int ctl_metrics(ctl_t *c)
{
	chat_buf_t m;
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	if ((rc = render_metrics(c, &m)) == CTL_EX_DONE) {
		if (c->json) {
			ctl_jraw(c, "{\"metrics\":{");
			each_sample(&m, sample_json, c);
			ctl_jraw(c, "}}");
		} else {
			fwrite(m.data, 1, m.len, stdout);
		}
	}
	chat_buf_free(&m);
	return rc;
}

/* What ctl_status() found out about the durable store. */
typedef struct status_store {
	const char *state; /* "up" or "down" */
	char error[256];   /* why it is down, "" when up */
	int64_t max_id;    /* the highest message id it holds */
} status_store_t;

/* chatctl status --json: s, the store and the metrics samples m. */
static void status_json(ctl_t *c, const admin_status_t *s, const status_store_t *st,
			const chat_buf_t *m)
{
	ctl_jraw(c, "{");
	ctl_jint(c, "schema_version", s->schema_version);
	ctl_jkey(c, "sessions");
	ctl_jraw(c, "{");
	ctl_jint(c, "open", s->sessions_open);
	ctl_jint(c, "closing", s->sessions_closing);
	ctl_jint(c, "closed", s->sessions_closed);
	ctl_jint(c, "websocket", s->sessions_websocket);
	ctl_jint(c, "http", s->sessions_http);
	ctl_jint(c, "idle", s->sessions_idle);
	ctl_jraw(c, "}");
	ctl_jint(c, "users_online", s->users_online);
	ctl_jint(c, "subscriptions", s->subscriptions);
	ctl_jkey(c, "outbox");
	ctl_jraw(c, "{");
	ctl_jint(c, "rows", s->outbox_rows);
	ctl_jint(c, "last_seq", s->outbox_last_seq);
	ctl_jint(c, "unread_rows", s->unread_rows);
	ctl_jint(c, "oldest_unread_age_ms", s->oldest_unread_age_ms);
	ctl_jraw(c, "}");
	ctl_jkey(c, "relay");
	ctl_jraw(c, "{");
	ctl_jint(c, "cursor", s->relay_cursor);
	ctl_jint(c, "lag_rows", s->relay_lag_rows);
	ctl_jint(c, "lag_ms", s->relay_lag_ms);
	ctl_jtext(c, "lease_owner", s->relay_owner);
	ctl_jraw(c, "}");
	ctl_jkey(c, "store");
	ctl_jraw(c, "{");
	ctl_jtext(c, "uri_scheme", ctl_store_file(c) != NULL ? "sqlite" : "mongodb");
	ctl_jtext(c, "state", st->state);
	if (st->error[0] != '\0')
		ctl_jtext(c, "error", st->error);
	ctl_jint(c, "max_message_id", st->max_id);
	ctl_jraw(c, "}");
	ctl_jint(c, "rooms", s->rooms);
	ctl_jint(c, "bans", s->bans);
	ctl_jint(c, "tokens", s->tokens);
	ctl_jkey(c, "metrics");
	ctl_jraw(c, "{");
	each_sample(m, sample_json, c);
	ctl_jraw(c, "}}");
}

/* chatctl status: the same as status_json(), for people. */
static void status_text(ctl_t *c, const admin_status_t *s, const status_store_t *st,
			const chat_buf_t *m)
{
	printf("chat.db            %s (schema %d)\n", c->opt.db_path, s->schema_version);
	printf("sessions           %lld open, %lld closing, %lld closed\n",
	       (long long)s->sessions_open, (long long)s->sessions_closing,
	       (long long)s->sessions_closed);
	printf("  held by          %lld websocket, %lld http, %lld idle\n",
	       (long long)s->sessions_websocket, (long long)s->sessions_http,
	       (long long)s->sessions_idle);
	printf("users online       %lld\n", (long long)s->users_online);
	printf("subscriptions      %lld\n", (long long)s->subscriptions);
	printf("outbox             %lld rows, last seq %lld\n", (long long)s->outbox_rows,
	       (long long)s->outbox_last_seq);
	printf("  unread           %lld rows, oldest %lld ms\n", (long long)s->unread_rows,
	       (long long)s->oldest_unread_age_ms);
	printf("relay              cursor %lld, lag %lld rows, %lld ms%s%s\n",
	       (long long)s->relay_cursor, (long long)s->relay_lag_rows, (long long)s->relay_lag_ms,
	       s->relay_owner[0] ? ", run by " : "", s->relay_owner);
	printf("store              %s %s%s%s\n", c->opt.store_uri, st->state,
	       st->error[0] ? ": " : "", st->error);
	printf("rooms              %lld\n", (long long)s->rooms);
	printf("bans               %lld\n", (long long)s->bans);
	printf("login tokens       %lld\n", (long long)s->tokens);
	printf("metrics (all processes, as GET /api/metrics serves them):\n");
	each_sample(m, sample_text, c);
}

int ctl_status(ctl_t *c)
{
	admin_status_t s;
	status_store_t st = { "up", "", 0 };
	chat_buf_t m;
	int64_t max_guest = 0;
	int rc;

	if ((rc = ctl_open_db(c)) != CTL_EX_DONE)
		return rc;
	if (admin_status(c->db, c->now_ms, &s, &c->err) != CHAT_OK)
		return ctl_fail(c, CTL_EX_FAILED, "%s", c->err.message);
	if ((rc = render_metrics(c, &m)) != CTL_EX_DONE) {
		chat_buf_free(&m);
		return rc;
	}
	if (store_open(c->opt.store_uri, &c->store, &c->err) != CHAT_OK ||
	    store_msg_max(c->store, NULL, &st.max_id, &max_guest, &c->err) != CHAT_OK) {
		st.state = "down";
		snprintf(st.error, sizeof(st.error), "%s", c->err.message);
	}
	if (c->json)
		status_json(c, &s, &st, &m);
	else
		status_text(c, &s, &st, &m);
	chat_buf_free(&m);
	return CTL_EX_DONE;
}
