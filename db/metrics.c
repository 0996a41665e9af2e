/* metrics.c - per-process counters summed in chat.db, and their
 * Prometheus rendering (see metrics.h). */
#include "config.h"
#include "metrics.h"

#include "clock.h"
#include "session.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int64_t metrics__values[METRICS_COUNT];

static const char *metrics_program = "chat";
static int64_t metrics_started_ms;

/* What the last successful flush wrote (the background thread's only). */
static struct {
	int64_t values[METRICS_COUNT];
	int64_t at_ms;
} flushed;

/* A family: its name, help, type, and the label its samples carry. */
typedef struct family {
	const char *name;
	const char *help;
	int counter;       /* 1: counter, 0: gauge */
	const char *label; /* NULL: one sample without labels */
} family_t;

enum {
	F_PUBLISHED,
	F_DELIVERIES,
	F_AUTH,
	F_LIMITED,
	F_OPENED,
	F_CONNECTIONS,
	F_STORE_UP,
	F_COUNT
};

static const family_t families[F_COUNT] = {
	[F_PUBLISHED] = { "chat_messages_published_total",
			  "Messages published: broadcast outbox rows committed (chat posts, notices, /topic, /user and relayed rows).",
			  1, NULL },
	[F_DELIVERIES] = { "chat_deliveries_total",
			   "MESSAGE frames rendered for a subscribed session.", 1, NULL },
	[F_AUTH] = { "chat_auth_failures_total",
		     "Failed password checks (wrong user name or password), HTTP API and STOMP CONNECT.",
		     1, NULL },
	[F_LIMITED] = { "chat_rate_limited_total",
			"Requests refused or cut short by a limit: send (rate_sends), session (sessions_per_addr_*), login (a lockout), held (a held request answered at once).",
			1, "limit" },
	[F_OPENED] = { "chat_sessions_opened_total",
		       "SockJS and WebSocket sessions created, by transport.", 1, "transport" },
	[F_CONNECTIONS] = { "chat_connections",
			    "Receiving requests and WebSockets open now, by transport.", 0,
			    "transport" },
	[F_STORE_UP] = { "chat_store_up",
			 "1 when the durable history store answered the relay's last attempt, 0 when it failed.",
			 0, NULL },
};

/* The family and label value of id; NULL label value: none. */
static int family_of(metrics_id_t id, const char **value)
{
	static const char *const limits[] = { "send", "session", "login", "held" };

	*value = NULL;
	if (id == METRICS_PUBLISHED)
		return F_PUBLISHED;
	if (id == METRICS_DELIVERIES)
		return F_DELIVERIES;
	if (id == METRICS_AUTH_FAILURES)
		return F_AUTH;
	if (id >= METRICS_LIMIT_SEND && id <= METRICS_LIMIT_HELD) {
		*value = limits[id - METRICS_LIMIT_SEND];
		return F_LIMITED;
	}
	if (id >= METRICS_OPENED && id < METRICS_OPENED + METRICS_TRANSPORTS) {
		int t = (int)(id - METRICS_OPENED);

		*value = t == METRICS_RAW_WEBSOCKET ? "raw_websocket"
						    : sockjs_transport_name((sockjs_transport_t)t);
		return F_OPENED;
	}
	if (id >= METRICS_CONNECTIONS && id < METRICS_CONNECTIONS + METRICS_TRANSPORTS) {
		int t = (int)(id - METRICS_CONNECTIONS);

		*value = t == METRICS_RAW_WEBSOCKET ? "raw_websocket"
						    : sockjs_transport_name((sockjs_transport_t)t);
		return F_CONNECTIONS;
	}
	if (id == METRICS_STORE_UP)
		return F_STORE_UP;
	return -1; /* METRICS_HELD: per process, rendered with its pid */
}

/* Whether id is ever counted: the sending transports open no session and
 * hold no connection. */
static int used(metrics_id_t id)
{
	int t = -1;

	if (id >= METRICS_OPENED && id < METRICS_OPENED + METRICS_TRANSPORTS)
		t = (int)(id - METRICS_OPENED);
	else if (id >= METRICS_CONNECTIONS && id < METRICS_CONNECTIONS + METRICS_TRANSPORTS)
		t = (int)(id - METRICS_CONNECTIONS);
	return t != SOCKJS_XHR_SEND && t != SOCKJS_JSONP_SEND;
}

/* The key id is stored under in metrics_values: the sample's name and
 * labels as the text format writes them. */
static void key_of(metrics_id_t id, char out[96])
{
	const char *v;
	int f = family_of(id, &v);

	if (f < 0)
		snprintf(out, 96, "chat_held_requests");
	else if (v == NULL)
		snprintf(out, 96, "%s", families[f].name);
	else
		snprintf(out, 96, "%s{%s=\"%s\"}", families[f].name, families[f].label, v);
}

static int is_counter(metrics_id_t id)
{
	const char *v;
	int f = family_of(id, &v);

	return f >= 0 && families[f].counter;
}

void metrics_init(const char *program)
{
	metrics_program = program;
	metrics_started_ms = chat_wall_ms();
	metrics_set(METRICS_STORE_UP, -1);
	memset(&flushed, 0, sizeof(flushed));
	flushed.values[METRICS_STORE_UP] = -1;
}

static const char SQL_PROC_GET[] = "SELECT started_ms FROM metrics_procs WHERE pid = ?1";
static const char SQL_PROC_PUT[] =
	"INSERT INTO metrics_procs(pid, program, started_ms, updated_ms) VALUES (?1, ?2, ?3, ?4)"
	" ON CONFLICT(pid) DO UPDATE SET program = excluded.program,"
	" started_ms = excluded.started_ms, updated_ms = excluded.updated_ms";
static const char SQL_ADD[] =
	"INSERT INTO metrics_values(pid, key, counter, value) VALUES (?1, ?2, 1, ?3)"
	" ON CONFLICT(pid, key) DO UPDATE SET value = value + excluded.value";
static const char SQL_SET[] =
	"INSERT INTO metrics_values(pid, key, counter, value) VALUES (?1, ?2, 0, ?3)"
	" ON CONFLICT(pid, key) DO UPDATE SET value = excluded.value";
static const char SQL_DEL[] = "DELETE FROM metrics_values WHERE pid = ?1 AND key = ?2";
static const char SQL_RETIRE_ADD[] =
	"INSERT INTO metrics_values(pid, key, counter, value)"
	" SELECT 0, key, 1, value FROM metrics_values WHERE pid = ?1 AND counter = 1 AND true"
	" ON CONFLICT(pid, key) DO UPDATE SET value = value + excluded.value";
static const char SQL_RETIRE_VALUES[] = "DELETE FROM metrics_values WHERE pid = ?1";
static const char SQL_RETIRE_PROC[] = "DELETE FROM metrics_procs WHERE pid = ?1";
static const char SQL_PROCS_ALL[] = "SELECT pid, updated_ms FROM metrics_procs LIMIT 1024";

/* Runs a statement of three optional bindings (an int64, a text, an
 * int64) that returns no row. */
static int run(chatdb_t *db, const char *sql, int64_t a, const char *b, int64_t c, int nb,
	       chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, a);
	if (nb >= 2)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (nb >= 3)
		sqlite3_bind_int64(st, 3, c);
	return chatdb__step_done(db, st, "metrics", err);
}

/* Inside a transaction: moves pid's counters to the retired row. */
static int retire(chatdb_t *db, int64_t pid, chat_error_t *err)
{
	int rc = run(db, SQL_RETIRE_ADD, pid, NULL, 0, 1, err);

	if (rc == CHAT_OK)
		rc = run(db, SQL_RETIRE_VALUES, pid, NULL, 0, 1, err);
	if (rc == CHAT_OK)
		rc = run(db, SQL_RETIRE_PROC, pid, NULL, 0, 1, err);
	return rc;
}

/* Inside a transaction: whether this process has its row (0), none (1),
 * or finds one of an earlier process with its pid, which is retired (1). */
static int own_row(chatdb_t *db, int64_t pid, int *fresh, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PROC_GET, &st, err), row;
	int64_t started = -1;

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, pid);
	rc = chatdb__step_row(db, st, &row, "metrics", err);
	if (rc == CHAT_OK && row)
		started = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	*fresh = started != metrics_started_ms;
	if (started >= 0 && started != metrics_started_ms)
		rc = retire(db, pid, err);
	return rc;
}

/* Writes this process's row (program, start, last flush). */
static int put_proc(chatdb_t *db, int64_t pid, int64_t now_ms, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PROC_PUT, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_text(st, 2, metrics_program, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, metrics_started_ms);
	sqlite3_bind_int64(st, 4, now_ms);
	return chatdb__step_done(db, st, "metrics", err);
}

int metrics_flush(chatdb_t *db, int64_t now_ms, chat_error_t *err)
{
	int64_t cur[METRICS_COUNT], pid = (int64_t)getpid();
	char key[96];
	int changed = 0, fresh = 0, rc;
	size_t i;

	for (i = 0; i < METRICS_COUNT; i++) {
		cur[i] = metrics_get((metrics_id_t)i);
		changed |= cur[i] != flushed.values[i];
	}
	if (!changed && flushed.at_ms > 0 && now_ms - flushed.at_ms < METRICS_REFRESH_MS)
		return CHAT_OK;
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		return rc;
	/* A row gone (retired while this process was silent) or never written:
	 * every gauge is written again, counters continue from their deltas. */
	rc = own_row(db, pid, &fresh, err);
	if (rc == CHAT_OK)
		rc = put_proc(db, pid, now_ms, err);
	for (i = 0; i < METRICS_COUNT && rc == CHAT_OK; i++) {
		metrics_id_t id = (metrics_id_t)i;

		if (!used(id))
			continue;
		key_of(id, key);
		if (is_counter(id)) {
			if (cur[i] != flushed.values[i])
				rc = run(db, SQL_ADD, pid, key, cur[i] - flushed.values[i], 3, err);
		} else if (fresh || cur[i] != flushed.values[i]) {
			rc = cur[i] < 0 ? run(db, SQL_DEL, pid, key, 0, 2, err)
					: run(db, SQL_SET, pid, key, cur[i], 3, err);
		}
	}
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc == CHAT_OK) {
		memcpy(flushed.values, cur, sizeof(cur));
		flushed.at_ms = now_ms;
	}
	return rc;
}

/* Whether the process pid that last wrote at updated_ms has ended. */
static int ended(int64_t pid, int64_t updated_ms, int64_t now_ms)
{
	if (pid <= 0 || pid == (int64_t)getpid())
		return 0;
	if (now_ms - updated_ms > METRICS_STALE_MS)
		return 1;
	/* EPERM: it exists (another user's process, e.g. chat-ws). */
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int metrics_retire_dead(chatdb_t *db, int64_t now_ms, int64_t *retired, chat_error_t *err)
{
	int64_t dead[64];
	size_t n = 0, i;
	sqlite3_stmt *st;
	int rc, row;

	if (retired != NULL)
		*retired = 0;
	if ((rc = chatdb__stmt(db, SQL_PROCS_ALL, &st, err)) != CHAT_OK)
		return rc;
	while (n < CHAT_ARRAY_LEN(dead) &&
	       (rc = chatdb__step_row(db, st, &row, "metrics", err)) == CHAT_OK && row)
		if (ended(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), now_ms))
			dead[n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	if (n == 0)
		return CHAT_OK;
	if ((rc = chatdb__begin(db, err)) != CHAT_OK)
		return rc;
	for (i = 0; i < n && rc == CHAT_OK; i++)
		rc = retire(db, dead[i], err);
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc == CHAT_OK && retired != NULL)
		*retired = (int64_t)n;
	return rc;
}

int metrics_retire_self(chatdb_t *db, chat_error_t *err)
{
	int rc = chatdb__begin(db, err);

	if (rc != CHAT_OK)
		return rc;
	rc = retire(db, (int64_t)getpid(), err);
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc == CHAT_OK)
		flushed.at_ms = 0;
	return rc;
}

/* ---- rendering ------------------------------------------------------- */

static const char SQL_SUMS[] =
	"SELECT key, sum(value), max(value) FROM metrics_values"
	" WHERE pid = 0 OR pid IN (SELECT pid FROM metrics_procs) GROUP BY key";
static const char SQL_PROCS[] =
	"SELECT p.pid, p.program, p.started_ms, coalesce(v.value, 0) FROM metrics_procs p"
	" LEFT JOIN metrics_values v ON v.pid = p.pid AND v.key = 'chat_held_requests'"
	" ORDER BY p.pid LIMIT 256"; /* METRICS_PROCS_MAX */
static const char SQL_OUTBOX[] = "SELECT count(*), coalesce(min(created_ms), 0) FROM outbox";
static const char SQL_UNREAD[] = "SELECT coalesce(min(created_ms), 0) FROM outbox WHERE seq > ("
				 " SELECT min(cursor) FROM sessions WHERE state <> 'closed')";
static const char SQL_RELAY[] =
	"SELECT count(*), coalesce(min(created_ms), 0) FROM outbox WHERE seq > ("
	" SELECT coalesce((SELECT cursor FROM outbox_consumers WHERE name = 'relay'), 0))";

/* One row of two int64 columns. */
static int two(chatdb_t *db, const char *sql, int64_t *a, int64_t *b, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err), row;

	if (rc != CHAT_OK)
		return rc;
	*a = *b = 0;
	rc = chatdb__step_row(db, st, &row, "metrics", err);
	if (rc == CHAT_OK && row) {
		*a = sqlite3_column_int64(st, 0);
		if (sqlite3_column_count(st) > 1)
			*b = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc;
}

static int head(chat_buf_t *out, const char *name, const char *type, const char *help)
{
	return chat_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Seconds since the epoch, or an age in seconds, from ms. */
static int seconds(chat_buf_t *out, const char *sample, int64_t ms)
{
	return chat_buf_printf(out, "%s %lld.%03lld\n", sample, (long long)(ms / 1000),
			       (long long)(ms % 1000));
}

/* A gauge family of one sample: v, or v ms as seconds. */
static int gauge(chat_buf_t *out, const char *name, const char *help, int64_t v, int ms)
{
	int rc = head(out, name, "gauge", help);

	if (rc != CHAT_OK)
		return rc;
	return ms ? seconds(out, name, v) : chat_buf_printf(out, "%s %lld\n", name, (long long)v);
}

static int render_families(chatdb_t *db, chat_buf_t *out, chat_error_t *err)
{
	int64_t sum[METRICS_COUNT] = { 0 }, max[METRICS_COUNT];
	int have[METRICS_COUNT] = { 0 };
	char key[96];
	sqlite3_stmt *st;
	size_t i, f;
	int rc = chatdb__stmt(db, SQL_SUMS, &st, err), row;

	if (rc != CHAT_OK)
		return rc;
	while ((rc = chatdb__step_row(db, st, &row, "metrics", err)) == CHAT_OK && row) {
		const char *k = (const char *)sqlite3_column_text(st, 0);

		for (i = 0; i < METRICS_COUNT && k != NULL; i++) {
			key_of((metrics_id_t)i, key);
			if (strcmp(key, k) == 0) {
				sum[i] = sqlite3_column_int64(st, 1);
				max[i] = sqlite3_column_int64(st, 2);
				have[i] = 1;
				break;
			}
		}
	}
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	for (f = 0; f < F_COUNT && rc == CHAT_OK; f++) {
		const family_t *fam = &families[f];

		/* Only the process doing the background work knows the store. */
		if (f == F_STORE_UP && !have[METRICS_STORE_UP])
			continue;
		rc = head(out, fam->name, fam->counter ? "counter" : "gauge", fam->help);
		for (i = 0; i < METRICS_COUNT && rc == CHAT_OK; i++) {
			const char *v;

			if (family_of((metrics_id_t)i, &v) != (int)f || !used((metrics_id_t)i))
				continue;
			key_of((metrics_id_t)i, key);
			rc = chat_buf_printf(out, "%s %lld\n", key,
					     (long long)(f == F_STORE_UP ? max[i] : sum[i]));
		}
	}
	return rc;
}

static int render_procs(chatdb_t *db, chat_buf_t *out, chat_error_t *err)
{
	struct {
		int64_t pid, started, held;
		char program[32];
	} p[METRICS_PROCS_MAX];
	size_t n = 0, i;
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_PROCS, &st, err), row;

	if (rc != CHAT_OK)
		return rc;
	while (n < METRICS_PROCS_MAX &&
	       (rc = chatdb__step_row(db, st, &row, "metrics", err)) == CHAT_OK && row) {
		const char *prog = (const char *)sqlite3_column_text(st, 1);
		size_t k;

		p[n].pid = sqlite3_column_int64(st, 0);
		p[n].started = sqlite3_column_int64(st, 2);
		p[n].held = sqlite3_column_int64(st, 3);
		/* Label values: what the programs name themselves, kept to a
		 * safe alphabet whatever the row holds. */
		for (k = 0; prog != NULL && prog[k] != '\0' && k + 1 < sizeof(p[n].program); k++)
			p[n].program[k] = (prog[k] >= 'a' && prog[k] <= 'z') ||
							  (prog[k] >= '0' && prog[k] <= '9') ||
							  prog[k] == '.' || prog[k] == '-' ||
							  prog[k] == '_'
						  ? prog[k]
						  : '_';
		p[n].program[k] = '\0';
		n++;
	}
	sqlite3_reset(st);
	if (rc != CHAT_OK)
		return rc;
	rc = head(out, "chat_process_start_time_seconds", "gauge",
		  "Start time of each live process of the stack, seconds since the epoch.");
	for (i = 0; i < n && rc == CHAT_OK; i++) {
		char sample[128];

		snprintf(sample, sizeof(sample),
			 "chat_process_start_time_seconds{pid=\"%lld\",program=\"%s\"}",
			 (long long)p[i].pid, p[i].program);
		rc = seconds(out, sample, p[i].started);
	}
	if (rc == CHAT_OK)
		rc = head(
			out, "chat_held_requests", "gauge",
			"Held polls and streams (and WebSockets in chat-ws) of each live process.");
	for (i = 0; i < n && rc == CHAT_OK; i++)
		rc = chat_buf_printf(out, "chat_held_requests{pid=\"%lld\",program=\"%s\"} %lld\n",
				     (long long)p[i].pid, p[i].program, (long long)p[i].held);
	return rc;
}

static int render_db(chatdb_t *db, int64_t now_ms, chat_buf_t *out, chat_error_t *err)
{
	static const char *const states[] = { "open", "closing", "closed" };
	int64_t count[3] = { 0 }, rows, oldest, unread, lag, lag_oldest;
	size_t i;
	int rc = session_count_states(db, "c:", count, err);

	if (rc != CHAT_OK)
		return rc;
	rc = head(out, "chat_sessions", "gauge",
		  "Chat sessions in chat.db, by state (all processes).");
	for (i = 0; i < 3 && rc == CHAT_OK; i++)
		rc = chat_buf_printf(out, "chat_sessions{state=\"%s\"} %lld\n", states[i],
				     (long long)count[i]);
	if (rc == CHAT_OK)
		rc = two(db, SQL_OUTBOX, &rows, &oldest, err);
	if (rc == CHAT_OK)
		rc = two(db, SQL_UNREAD, &unread, &lag, err);
	if (rc == CHAT_OK)
		rc = two(db, SQL_RELAY, &lag, &lag_oldest, err);
	if (rc == CHAT_OK)
		rc = gauge(out, "chat_outbox_rows", "Rows in the outbox (the cross-process queue).",
			   rows, 0);
	if (rc == CHAT_OK)
		rc = gauge(out, "chat_outbox_oldest_unread_seconds",
			   "Age of the oldest outbox row a live session has not read yet (0: none).",
			   unread > 0 && now_ms > unread ? now_ms - unread : 0, 1);
	if (rc == CHAT_OK)
		rc = gauge(out, "chat_relay_lag_rows",
			   "Outbox rows the history relay has not passed yet.", lag, 0);
	if (rc == CHAT_OK)
		rc = gauge(
			out, "chat_relay_lag_seconds",
			"Age of the oldest outbox row the history relay has not passed yet (0: none).",
			lag_oldest > 0 && now_ms > lag_oldest ? now_ms - lag_oldest : 0, 1);
	return rc;
}

int metrics_render_prometheus(chatdb_t *db, int64_t now_ms, chat_buf_t *out, chat_error_t *err)
{
	sqlite3 *sql = chatdb_sqlite(db);
	int rc;

	/* A read transaction: every number from one snapshot. */
	if (sqlite3_exec(sql, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return chatdb__error(db, sqlite3_errcode(sql), "metrics", err);
	rc = head(out, "chat_build_info", "gauge", "The server's version (always 1).");
	if (rc == CHAT_OK)
		rc = chat_buf_printf(out, "chat_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	if (rc == CHAT_OK)
		rc = render_families(db, out, err);
	if (rc == CHAT_OK)
		rc = render_procs(db, out, err);
	if (rc == CHAT_OK)
		rc = render_db(db, now_ms, out, err);
	(void)sqlite3_exec(sql, "COMMIT", NULL, NULL, NULL);
	if (rc == CHAT_ETOOBIG || rc == CHAT_ENOMEM)
		chat_error_set(err, rc, "the metrics do not fit in %zu bytes", out->max);
	return rc;
}
