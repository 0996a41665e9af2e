/*
 * metrics.h - counters and gauges of every process of the stack, summed
 * in chat.db, rendered in the Prometheus text format (GET /api/metrics,
 * `chatctl status`).
 *
 * Each process (every chat.fcgi, chat-ws) counts in memory: a relaxed
 * atomic add per event, no SQL on the hot path.  Its background thread
 * (db/background.h) writes them to chat.db about once a second with
 * metrics_flush(): one row per (pid, sample) in metrics_values, counters
 * as the increase since the last flush (added to the row), gauges as
 * their current value.  A process that ended (its pid gone, or silent for
 * METRICS_STALE_MS) is retired by metrics_retire_dead(): its counters are
 * added to the row of pid 0 ("retired") and its gauges dropped, so a sum
 * of counters over all rows never goes backwards, whichever process
 * served what.  A scrape (metrics_render_prometheus) sums the rows and
 * adds what chat.db itself knows (sessions, the outbox, the relay).
 * Counters are therefore at most about a second behind (the last flush).
 *
 * Names: counters end in _total (as Prometheus wants), samples may carry
 * one label (transport, limit).
 */
#ifndef CHAT_METRICS_H
#define CHAT_METRICS_H

#include "buf.h"
#include "chatdb.h"
#include "sockjs.h"

#include <stdint.h>

/* The transports a connection or a new session is counted under: the
 * SockJS ones (sockjs_transport_t) and the raw STOMP WebSocket. */
#define METRICS_RAW_WEBSOCKET SOCKJS_TRANSPORT_COUNT
#define METRICS_TRANSPORTS (SOCKJS_TRANSPORT_COUNT + 1)

/* What a process counts.  *_total are counters; the others gauges. */
typedef enum metrics_id {
	METRICS_PUBLISHED,     /* chat_messages_published_total: broadcast outbox rows committed */
	METRICS_DELIVERIES,    /* chat_deliveries_total: MESSAGEs rendered for a session */
	METRICS_AUTH_FAILURES, /* chat_auth_failures_total: wrong name or password */
	METRICS_LIMIT_SEND,    /* chat_rate_limited_total{limit="send"} */
	METRICS_LIMIT_SESSION, /* chat_rate_limited_total{limit="session"} */
	METRICS_LIMIT_LOGIN,   /* chat_rate_limited_total{limit="login"}: locked out */
	METRICS_LIMIT_HELD,    /* chat_rate_limited_total{limit="held"}: answered at once */
	METRICS_OPENED,        /* chat_sessions_opened_total{transport}, + transport */
	METRICS_HELD = METRICS_OPENED + METRICS_TRANSPORTS, /* chat_held_requests (gauge) */
	METRICS_CONNECTIONS, /* chat_connections{transport} (gauge), + transport */
	METRICS_STORE_UP = METRICS_CONNECTIONS + METRICS_TRANSPORTS,
	/* chat_store_up (gauge): 1 up, 0 down, -1 unknown to this process
	 * (only the process doing the background work knows it) */
	METRICS_COUNT
} metrics_id_t;

/* The live values of this process (shared-internal: use the functions). */
extern int64_t metrics__values[METRICS_COUNT];

/* Adds n to a counter or a gauge (n may be negative for gauges).  A
 * relaxed atomic add: safe from any thread, costs a few nanoseconds. */
static inline void metrics_add(metrics_id_t id, int64_t n)
{
	__atomic_fetch_add(&metrics__values[id], n, __ATOMIC_RELAXED);
}

/* Sets a gauge. */
static inline void metrics_set(metrics_id_t id, int64_t v)
{
	__atomic_store_n(&metrics__values[id], v, __ATOMIC_RELAXED);
}

/* The current value in this process. */
static inline int64_t metrics_get(metrics_id_t id)
{
	return __atomic_load_n(&metrics__values[id], __ATOMIC_RELAXED);
}

/* Names this process ("chat.fcgi", "chat-ws"; borrowed, static) and
 * records its start time.  Call once from main(). */
void metrics_init(const char *program);

/* A process silent this long is retired even if its pid exists (reused). */
#define METRICS_STALE_MS 60000
/* An idle process still refreshes its row this often. */
#define METRICS_REFRESH_MS 10000

/* Writes this process's changes since its last successful flush in one
 * transaction (nothing when nothing changed and its row is fresh).  Only
 * one thread of a process calls it (the background thread).  Returns
 * CHAT_OK or a chat.db error (the changes are written next time). */
CHAT_MUST_CHECK int metrics_flush(chatdb_t *db, int64_t now_ms, chat_error_t *err);

/* Retires the rows of processes that ended (see above); *retired gets how
 * many (may be NULL).  Any process may call it; the background work does,
 * once a second. */
CHAT_MUST_CHECK int metrics_retire_dead(chatdb_t *db, int64_t now_ms, int64_t *retired,
					chat_error_t *err);

/* At a clean exit, after a last metrics_flush(): retires this process. */
CHAT_MUST_CHECK int metrics_retire_self(chatdb_t *db, chat_error_t *err);

/* Largest scrape metrics_render_prometheus() writes (its processes are
 * bounded by METRICS_PROCS_MAX, beyond which the rest are left out). */
#define METRICS_PROCS_MAX 256

/* Appends the whole scrape in the Prometheus text format (0.0.4) to out:
 * the summed counters and gauges, one chat_process_start_time_seconds and
 * chat_process_held_requests sample per live process ({pid, program}),
 * sessions by state, outbox depth and the age of the oldest row a live
 * session has not read, the relay's lag (rows and seconds) and the
 * store's state.  Reads in one transaction, so the numbers agree.
 * Returns CHAT_OK, CHAT_ETOOBIG when out's cap is too small, or a chat.db
 * error. */
CHAT_MUST_CHECK int metrics_render_prometheus(chatdb_t *db, int64_t now_ms, chat_buf_t *out,
					      chat_error_t *err);

/* Content-Type of that rendering. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
