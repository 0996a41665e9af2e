/* test_metrics.c - per-process metrics in chat.db (db/metrics.c): flushes
 * add deltas, processes that end are retired without the sums going
 * backwards, a pid reused by a new process, and the rendering. */
#include "config.h"
#include "metrics.h"
#include "brokerutil.h"
#include "testutil.h"
#include "tmpdb.h"

#include <sqlite3.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1700000000000LL

static char *dir;
static char path[512];
static chatdb_t *db;

static void setup(void)
{
	memset(metrics__values, 0, sizeof(metrics__values));
	metrics_init("test");
	tmpdb_open("metrics", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

static int64_t query(const char *sql)
{
	return brokerutil_scalar(db, sql);
}

/* The value of sample (a whole "name{labels}") in a rendering, -1 if absent. */
static long long sample(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = text; (p = strstr(p, name)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

static void render(chat_buf_t *out)
{
	chat_buf_init(out, 1 << 20);
	ck_assert_int_eq(metrics_render_prometheus(db, T0 + 5000, out, NULL), CHAT_OK);
}

START_TEST(flush_adds_deltas_and_sets_gauges)
{
	chat_buf_t out;

	metrics_add(METRICS_PUBLISHED, 3);
	metrics_add(METRICS_CONNECTIONS + SOCKJS_XHR_STREAMING, 2);
	metrics_add(METRICS_HELD, 2);
	ck_assert_int_eq(metrics_flush(db, T0, NULL), CHAT_OK);
	metrics_add(METRICS_PUBLISHED, 4);
	metrics_add(METRICS_CONNECTIONS + SOCKJS_XHR_STREAMING, -1);
	metrics_add(METRICS_HELD, -1);
	ck_assert_int_eq(metrics_flush(db, T0 + 1000, NULL), CHAT_OK);
	/* Nothing changed: no write (the row keeps its time). */
	ck_assert_int_eq(metrics_flush(db, T0 + 2000, NULL), CHAT_OK);
	ck_assert_int_eq(query("SELECT updated_ms FROM metrics_procs"), T0 + 1000);
	render(&out);
	ck_assert_int_eq(sample(out.data, "chat_messages_published_total"), 7);
	ck_assert_int_eq(sample(out.data, "chat_connections{transport=\"xhr_streaming\"}"), 1);
	ck_assert_int_eq(sample(out.data, "chat_connections{transport=\"websocket\"}"), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "chat_held_requests{pid=\""));
	ck_assert_ptr_nonnull(strstr(out.data, "\",program=\"test\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "# TYPE chat_deliveries_total counter\n"));
	ck_assert_ptr_nonnull(
		strstr(out.data, "\nchat_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
	/* No process has tried the store: no sample rather than a guess. */
	ck_assert_ptr_null(strstr(out.data, "chat_store_up"));
	chat_buf_free(&out);
}
END_TEST

/* A child process counts, flushes and exits; the parent retires it. */
START_TEST(ended_process_is_retired_and_sums_hold)
{
	chat_buf_t out;
	int64_t retired = -1;
	pid_t child;
	int status;

	metrics_add(METRICS_DELIVERIES, 10);
	ck_assert_int_eq(metrics_flush(db, T0, NULL), CHAT_OK);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		chatdb_t *c = NULL;
		int ok;

		memset(metrics__values, 0, sizeof(metrics__values));
		metrics_init("child");
		metrics_add(METRICS_DELIVERIES, 5);
		metrics_add(METRICS_HELD, 3);
		ok = chatdb_open(path, 0, &c, NULL) == CHAT_OK &&
		     metrics_flush(c, T0, NULL) == CHAT_OK;
		chatdb_close(c);
		_exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(query("SELECT count(*) FROM metrics_procs"), 2);
	render(&out);
	ck_assert_int_eq(sample(out.data, "chat_deliveries_total"), 15);
	chat_buf_free(&out);
	ck_assert_int_eq(metrics_retire_dead(db, T0 + 1000, &retired, NULL), CHAT_OK);
	ck_assert_int_eq(retired, 1);
	ck_assert_int_eq(query("SELECT count(*) FROM metrics_procs"), 1);
	/* Its counters moved to pid 0, its gauge went. */
	ck_assert_int_eq(query("SELECT value FROM metrics_values WHERE pid = 0"), 5);
	ck_assert_int_eq(
		query("SELECT count(*) FROM metrics_values WHERE key = 'chat_held_requests' AND pid = 0"),
		0);
	render(&out);
	ck_assert_int_eq(sample(out.data, "chat_deliveries_total"), 15);
	ck_assert_ptr_null(strstr(out.data, "program=\"child\""));
	chat_buf_free(&out);
	/* Retiring again changes nothing. */
	ck_assert_int_eq(metrics_retire_dead(db, T0 + 2000, &retired, NULL), CHAT_OK);
	ck_assert_int_eq(retired, 0);
}
END_TEST

/* A process silent past METRICS_STALE_MS is retired even though its pid
 * lives; when it speaks again its gauges come back, its counters go on. */
START_TEST(stale_process_comes_back_without_double_counting)
{
	chat_buf_t out;
	int64_t retired = 0;

	metrics_add(METRICS_AUTH_FAILURES, 2);
	metrics_add(METRICS_HELD, 4);
	ck_assert_int_eq(metrics_flush(db, T0, NULL), CHAT_OK);
	/* Pretend another pid wrote it long ago (own pid is never retired). */
	ck_assert_int_eq(
		sqlite3_exec(chatdb_sqlite(db),
			     "UPDATE metrics_procs SET pid = 1; UPDATE metrics_values SET pid = 1",
			     NULL, NULL, NULL),
		SQLITE_OK);
	ck_assert_int_eq(metrics_retire_dead(db, T0 + METRICS_STALE_MS + 1, &retired, NULL),
			 CHAT_OK);
	ck_assert_int_eq(retired, 1);
	metrics_add(METRICS_AUTH_FAILURES, 1);
	ck_assert_int_eq(metrics_flush(db, T0 + METRICS_STALE_MS + 2, NULL), CHAT_OK);
	render(&out);
	ck_assert_int_eq(sample(out.data, "chat_auth_failures_total"), 3);
	ck_assert_ptr_nonnull(strstr(out.data, "\",program=\"test\"} 4\n"));
	chat_buf_free(&out);
}
END_TEST

/* A row left by an earlier process of the same pid is retired on the
 * first flush; a clean exit retires the process itself. */
START_TEST(reused_pid_and_clean_exit)
{
	chat_buf_t out;
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO metrics_procs VALUES (%ld, 'old', 1, 1);"
		 "INSERT INTO metrics_values VALUES (%ld, 'chat_messages_published_total', 1, 9);"
		 "INSERT INTO metrics_values VALUES (%ld, 'chat_held_requests', 0, 7);",
		 (long)getpid(), (long)getpid(), (long)getpid());
	ck_assert_int_eq(sqlite3_exec(chatdb_sqlite(db), sql, NULL, NULL, NULL), SQLITE_OK);
	metrics_add(METRICS_PUBLISHED, 1);
	ck_assert_int_eq(metrics_flush(db, T0, NULL), CHAT_OK);
	render(&out);
	ck_assert_int_eq(sample(out.data, "chat_messages_published_total"), 10);
	ck_assert_ptr_nonnull(strstr(out.data, "\",program=\"test\"} 0\n"));
	chat_buf_free(&out);
	ck_assert_int_eq(metrics_retire_self(db, NULL), CHAT_OK);
	ck_assert_int_eq(query("SELECT count(*) FROM metrics_procs"), 0);
	render(&out);
	ck_assert_int_eq(sample(out.data, "chat_messages_published_total"), 10);
	chat_buf_free(&out);
}
END_TEST

/* What chat.db knows: sessions by state, the outbox, the relay's lag. */
START_TEST(render_reads_chat_db)
{
	chat_buf_t out;

	ck_assert_int_eq(
		sqlite3_exec(
			chatdb_sqlite(db),
			"INSERT INTO sessions(id, created_ms, last_seen_ms, cursor) VALUES ('c:a', 0, 0, 1);"
			"INSERT INTO sessions(id, created_ms, last_seen_ms, state) VALUES ('c:b', 0, 0, 'closed');"
			"INSERT INTO sessions(id, created_ms, last_seen_ms, cursor) VALUES ('0:echo', 0, 0, 2);"
			"INSERT INTO outbox(destination, headers, body, created_ms) VALUES ('/topic/a', '', '', 1700000001000);"
			"INSERT INTO outbox(destination, headers, body, created_ms) VALUES ('/topic/a', '', '', 1700000003000);"
			"INSERT INTO outbox_consumers VALUES ('relay', 0);",
			NULL, NULL, NULL),
		SQLITE_OK);
	render(&out);
	ck_assert_int_eq(sample(out.data, "chat_sessions{state=\"open\"}"), 1);
	ck_assert_int_eq(sample(out.data, "chat_sessions{state=\"closed\"}"), 1);
	ck_assert_int_eq(sample(out.data, "chat_outbox_rows"), 2);
	/* Session c:a has read row 1: row 2 (2 s before T0 + 5 s) is unread. */
	ck_assert_ptr_nonnull(strstr(out.data, "\nchat_outbox_oldest_unread_seconds 2.000\n"));
	ck_assert_int_eq(sample(out.data, "chat_relay_lag_rows"), 2);
	ck_assert_ptr_nonnull(strstr(out.data, "\nchat_relay_lag_seconds 4.000\n"));
	chat_buf_free(&out);
	/* Too small a buffer is an error, not a cut scrape. */
	chat_buf_init(&out, 64);
	ck_assert_int_eq(metrics_render_prometheus(db, T0, &out, NULL), CHAT_ETOOBIG);
	chat_buf_free(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, flush_adds_deltas_and_sets_gauges);
	tcase_add_test(tc, ended_process_is_retired_and_sums_hold);
	tcase_add_test(tc, stale_process_comes_back_without_double_counting);
	tcase_add_test(tc, reused_pid_and_clean_exit);
	tcase_add_test(tc, render_reads_chat_db);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
