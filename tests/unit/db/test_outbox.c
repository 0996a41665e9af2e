/* test_outbox.c - the cross-process queue: append/read order, batches,
 * bounds, concurrent appends from several processes, pruning, the doorbell
 * ring after commit. */
#include "config.h"
#include "forkutil.h"
#include "outbox.h"
#include "session.h"
#include "testutil.h"
#include "tmpdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;
static char path[512];
static chatdb_t *db;

static void setup(void)
{
	tmpdb_open("outbox", &dir, path, sizeof(path), &db);
}

static void teardown(void)
{
	tmpdb_close(&dir, &db);
}

static outbox_msg_t msg(const char *dest, const char *target, const char *body, int64_t t)
{
	outbox_msg_t m;

	memset(&m, 0, sizeof(m));
	m.destination = dest;
	m.target_session = target;
	m.headers = CHAT_SLICE("content-type:text/plain\n");
	m.body.ptr = body;
	m.body.len = body != NULL ? strlen(body) : 0;
	m.created_ms = t;
	return m;
}

/* Collects rows (copies of seq, destination, target, body). */
#define MAX_ROWS 2100
typedef struct rows {
	int n;
	int stop_at; /* return 1 on this row index (0: never) */
	int fail_at; /* return CHAT_EPROTO on this row index (0: never) */
	int64_t seq[MAX_ROWS];
	char dest[8][64];
	char target[8][64];
	char body[MAX_ROWS][32];
	size_t headers_len[8];
} rows_t;

static int collect(void *ctx, const outbox_row_t *r)
{
	rows_t *rs = ctx;

	if (rs->stop_at != 0 && rs->n + 1 == rs->stop_at)
		return CHAT_STOP;
	if (rs->fail_at != 0 && rs->n + 1 == rs->fail_at)
		return CHAT_EPROTO;
	if (rs->n >= MAX_ROWS)
		return CHAT_ETOOMANY;
	rs->seq[rs->n] = r->seq;
	if (rs->n < 8) {
		snprintf(rs->dest[rs->n], 64, "%.*s", (int)r->destination.len, r->destination.ptr);
		snprintf(rs->target[rs->n], 64, "%s",
			 r->target_session.ptr != NULL ? r->target_session.ptr : "(null)");
		rs->headers_len[rs->n] = r->headers.len;
	}
	snprintf(rs->body[rs->n], 32, "%.*s", (int)r->body.len, r->body.ptr);
	rs->n++;
	return CHAT_OK;
}

static rows_t *rows_new(void)
{
	rows_t *rs = calloc(1, sizeof(*rs));

	ck_assert_ptr_nonnull(rs);
	return rs;
}

START_TEST(append_then_read_in_order)
{
	outbox_msg_t m;
	rows_t *rs = rows_new();
	int64_t seq, last;

	m = msg("/topic/a", NULL, "one", 10);
	ck_assert_int_eq(outbox_append(db, &m, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 1);
	m = msg("/queue/reply", "sess1", "two", 11);
	ck_assert_int_eq(outbox_append(db, &m, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 2);
	m = msg("/topic/b", NULL, NULL, 12);
	m.headers = (chat_slice_t){ NULL, 0 };
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_last_seq(db, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 3);

	ck_assert_int_eq(outbox_read_after(db, 0, 100, collect, rs, &last, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 3);
	ck_assert_int_eq(last, 3);
	ck_assert_int_eq(rs->seq[0], 1);
	ck_assert_int_eq(rs->seq[2], 3);
	ck_assert_str_eq(rs->dest[0], "/topic/a");
	ck_assert_str_eq(rs->target[0], "(null)");
	ck_assert_str_eq(rs->target[1], "sess1");
	ck_assert_str_eq(rs->body[1], "two");
	ck_assert_str_eq(rs->body[2], "");
	ck_assert_uint_eq(rs->headers_len[0], strlen("content-type:text/plain\n"));
	ck_assert_uint_eq(rs->headers_len[2], 0);

	memset(rs, 0, sizeof(*rs));
	ck_assert_int_eq(outbox_read_after(db, 1, 1, collect, rs, &last, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 1);
	ck_assert_int_eq(rs->seq[0], 2);
	ck_assert_int_eq(last, 2);

	/* Stopping before a row leaves it untaken. */
	memset(rs, 0, sizeof(*rs));
	rs->stop_at = 2;
	ck_assert_int_eq(outbox_read_after(db, 0, 10, collect, rs, &last, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 1);
	ck_assert_int_eq(last, 1);

	/* A negative callback code aborts and is returned. */
	memset(rs, 0, sizeof(*rs));
	rs->fail_at = 3;
	ck_assert_int_eq(outbox_read_after(db, 0, 10, collect, rs, &last, NULL), CHAT_EPROTO);
	ck_assert_int_eq(last, 2);

	memset(rs, 0, sizeof(*rs));
	ck_assert_int_eq(outbox_read_after(db, 3, 10, collect, rs, &last, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 0);
	ck_assert_int_eq(last, 3);
	free(rs);
}
END_TEST

START_TEST(batch_is_one_transaction)
{
	outbox_msg_t m[3];
	rows_t *rs = rows_new();
	chat_error_t err;
	int64_t first, seq;

	m[0] = msg("/topic/a", NULL, "b0", 1);
	m[1] = msg("/topic/a", "s", "b1", 1);
	m[2] = msg("/topic/a", NULL, "b2", 1);
	ck_assert_int_eq(outbox_append_batch(db, m, 3, &first, NULL), CHAT_OK);
	ck_assert_int_eq(first, 1);
	ck_assert_int_eq(outbox_last_seq(db, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 3);

	/* One bad message: nothing of the batch is written. */
	m[1].destination = "";
	ck_assert_int_eq(outbox_append_batch(db, m, 3, &first, &err), CHAT_EINVAL);
	ck_assert_int_eq(outbox_last_seq(db, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 3);
	ck_assert_int_eq(outbox_append_batch(db, m, 0, NULL, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_append_batch(db, m, OUTBOX_BATCH_MAX + 1, NULL, NULL),
			 CHAT_ETOOMANY);
	ck_assert_int_eq(outbox_read_after(db, 0, 10, collect, rs, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 3);
	ck_assert_str_eq(rs->body[2], "b2");
	free(rs);
}
END_TEST

START_TEST(bounds)
{
	char dest[CHATDB_DEST_MAX + 2], id[CHATDB_ID_MAX + 2];
	char *big = calloc(1, OUTBOX_BODY_MAX + 1);
	chat_error_t err;
	outbox_msg_t m;
	int64_t seq;

	ck_assert_ptr_nonnull(big);
	memset(dest, 'd', sizeof(dest));
	dest[0] = '/';
	dest[CHATDB_DEST_MAX] = '\0';
	memset(id, 'i', sizeof(id));
	id[CHATDB_ID_MAX] = '\0';

	m = msg(dest, id, "x", 1);
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_OK); /* exactly at the bounds */
	dest[CHATDB_DEST_MAX] = 'd';
	dest[CHATDB_DEST_MAX + 1] = '\0';
	ck_assert_int_eq(outbox_append(db, &m, NULL, &err), CHAT_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err.message, "destination"));
	dest[CHATDB_DEST_MAX] = '\0';
	id[CHATDB_ID_MAX] = 'i';
	id[CHATDB_ID_MAX + 1] = '\0';
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_ETOOBIG);
	m.target_session = "";
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_EINVAL);
	m.target_session = NULL;
	m.destination = NULL;
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_EINVAL);
	m.destination = "/topic/x";
	m.body.ptr = big;
	m.body.len = OUTBOX_BODY_MAX + 1;
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_ETOOBIG);
	m.body.len = OUTBOX_BODY_MAX;
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_OK);
	m.body.len = 0;
	m.headers.ptr = big;
	m.headers.len = OUTBOX_HEADERS_MAX + 1;
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_ETOOBIG);
	m.headers.ptr = NULL;
	m.headers.len = 3;
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_append(db, NULL, NULL, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_read_after(db, 0, 0, collect, NULL, NULL, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_prune(db, 1, -1, NULL, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_last_seq(db, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 2);
	free(big);
}
END_TEST

START_TEST(prune_keeps_what_live_cursors_need)
{
	outbox_msg_t m = msg("/topic/a", NULL, "x", 1000);
	rows_t *rs = rows_new();
	int64_t n, seq;
	int i;

	ck_assert_int_eq(session_create(db, "A", NULL, 1000, NULL), CHAT_OK);
	ck_assert_int_eq(session_create(db, "B", NULL, 1000, NULL), CHAT_OK);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(session_advance_cursor(db, "A", 2, NULL), CHAT_OK);
	ck_assert_int_eq(session_advance_cursor(db, "B", 4, NULL), CHAT_OK);
	/* A (at 2) still needs 3..5. */
	ck_assert_int_eq(outbox_prune(db, 2000, 60000, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(outbox_read_after(db, 0, 10, collect, rs, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 3);
	ck_assert_int_eq(rs->seq[0], 3);
	/* Closed sessions hold nothing back: now B (at 4) is the slowest. */
	ck_assert_int_eq(session_close(db, "A", 3000, "Go away!", 2000, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_prune(db, 2000, 60000, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 2);
	/* A consumer (the relay) behind B holds rows back too. */
	ck_assert_int_eq(outbox_consumer_advance(db, "relay", 4, NULL), CHAT_OK);
	m.created_ms = 50000;
	ck_assert_int_eq(outbox_append(db, &m, NULL, NULL), CHAT_OK); /* 6 */
	ck_assert_int_eq(session_advance_cursor(db, "B", 6, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_prune(db, 60000, 60000, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 0);
	/* The retention window drops old rows however far behind sessions
	 * are, but not what a consumer still needs: row 5 (created at 1000)
	 * waits for the relay (at 4)... */
	ck_assert_int_eq(outbox_prune(db, 70000, 60000, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(session_advance_cursor(db, "B", 4, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_prune(db, 70000, 60000, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 0);
	/* ... and goes once the relay passed it; row 6 (50000) stays. */
	ck_assert_int_eq(outbox_consumer_advance(db, "relay", 5, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_prune(db, 70000, 60000, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 1);
	memset(rs, 0, sizeof(*rs));
	ck_assert_int_eq(outbox_read_after(db, 4, 10, collect, rs, NULL, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 1);
	ck_assert_int_eq(rs->seq[0], 6); /* a gap after 4: the reader fell behind */
	/* With no live sessions and no consumers everything goes, and seqs are
	 * still never reused. */
	ck_assert_int_eq(outbox_consumer_delete(db, "relay", NULL), CHAT_OK);
	ck_assert_int_eq(session_delete(db, "B", NULL), CHAT_OK);
	ck_assert_int_eq(outbox_prune(db, 70000, 60000, &n, NULL), CHAT_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(outbox_last_seq(db, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 6);
	ck_assert_int_eq(outbox_append(db, &m, &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 7);
	free(rs);
}
END_TEST

START_TEST(consumer_cursor_never_goes_back)
{
	chat_error_t err;
	int64_t seq;

	ck_assert_int_eq(outbox_consumer_get(db, "relay", &seq, &err), CHAT_ENOTFOUND);
	ck_assert_int_eq(outbox_consumer_advance(db, "relay", 10, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_advance(db, "relay", 5, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_get(db, "relay", &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 10);
	ck_assert_int_eq(outbox_consumer_advance(db, "relay", 12, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_get(db, "relay", &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 12);
	ck_assert_int_eq(outbox_consumer_advance(db, "relay", -1, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_consumer_advance(db, "", 1, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_consumer_delete(db, "relay", NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_delete(db, "relay", NULL), CHAT_ENOTFOUND);
}
END_TEST

START_TEST(consumer_register_keeps_an_existing_cursor)
{
	int64_t seq;

	ck_assert_int_eq(outbox_consumer_register(db, "relay", 7, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_get(db, "relay", &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 7);
	ck_assert_int_eq(outbox_consumer_register(db, "relay", 3, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_register(db, "relay", 9, NULL), CHAT_OK);
	ck_assert_int_eq(outbox_consumer_get(db, "relay", &seq, NULL), CHAT_OK);
	ck_assert_int_eq(seq, 7);
	ck_assert_int_eq(outbox_consumer_register(db, "", 1, NULL), CHAT_EINVAL);
	ck_assert_int_eq(outbox_consumer_delete(db, "relay", NULL), CHAT_OK);
}
END_TEST

START_TEST(append_rings_the_doorbell)
{
	outbox_msg_t m[2];
	char bellpath[600];
	doorbell_t *bell;
	uint32_t w;
	int64_t seq;

	snprintf(bellpath, sizeof(bellpath), "%s/chat.bell", dir);
	ck_assert_int_eq(doorbell_open(bellpath, &bell, NULL), CHAT_OK);
	chatdb_set_doorbell(db, bell);
	ck_assert_ptr_eq(chatdb_doorbell(db), bell);
	m[0] = msg("/topic/a", NULL, "x", 1);
	m[1] = m[0];
	w = doorbell_snapshot(bell);
	ck_assert_int_eq(outbox_append(db, &m[0], &seq, NULL), CHAT_OK);
	ck_assert_int_eq(doorbell_wait(bell, w, 0), CHAT_OK);
	ck_assert_uint_eq(doorbell_seq(bell), (uint64_t)seq);
	w = doorbell_snapshot(bell);
	ck_assert_int_eq(outbox_append_batch(db, m, 2, NULL, NULL), CHAT_OK);
	ck_assert_uint_eq(doorbell_snapshot(bell), w + 1); /* one ring per batch */
	ck_assert_uint_eq(doorbell_seq(bell), 3);
	/* A rejected append does not ring. */
	m[0].destination = NULL;
	w = doorbell_snapshot(bell);
	ck_assert_int_eq(outbox_append(db, &m[0], NULL, NULL), CHAT_EINVAL);
	ck_assert_int_eq(doorbell_wait(bell, w, 0), CHAT_ETIMEDOUT);
	chatdb_set_doorbell(db, NULL);
	doorbell_close(bell);
}
END_TEST

/* Child: wait for "go", then append one row through a doorbell-attached
 * handle of its own. */
static int poster_child(forkset_t *fs, int i, void *ctx)
{
	outbox_msg_t m = msg("/topic/chat/room/1", NULL, "hello", 1);
	char bellpath[600];
	doorbell_t *bell;
	chatdb_t *cdb;
	int rc;

	(void)i;
	(void)ctx;
	snprintf(bellpath, sizeof(bellpath), "%s/chat.bell", dir);
	if (chatdb_open(path, 0, &cdb, NULL) != CHAT_OK ||
	    doorbell_open(bellpath, &bell, NULL) != CHAT_OK)
		return 1;
	chatdb_set_doorbell(cdb, bell);
	forkset_ready(fs);
	forkset_await_go(fs);
	rc = outbox_append(cdb, &m, NULL, NULL);
	chatdb_close(cdb);
	doorbell_close(bell);
	return rc == CHAT_OK ? 0 : 2;
}

/* The whole path: a reader finds nothing, sleeps on the doorbell, and a
 * commit in another process wakes it to read the new row. */
START_TEST(append_in_other_process_wakes_reader)
{
	rows_t *rs = rows_new();
	char bellpath[600];
	doorbell_t *bell;
	int64_t cursor = 0;
	forkset_t fs;
	uint32_t w;

	snprintf(bellpath, sizeof(bellpath), "%s/chat.bell", dir);
	ck_assert_int_eq(doorbell_open(bellpath, &bell, NULL), CHAT_OK);
	ck_assert_int_eq(forkset_start(&fs, 1, poster_child, NULL), 0);
	ck_assert_int_eq(forkset_wait_ready(&fs), 0);
	w = doorbell_snapshot(bell);
	ck_assert_int_eq(outbox_read_after(db, cursor, 10, collect, rs, &cursor, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 0);
	forkset_go(&fs);
	ck_assert_int_eq(doorbell_wait(bell, w, 10000), CHAT_OK);
	ck_assert_int_eq(outbox_read_after(db, cursor, 10, collect, rs, &cursor, NULL), CHAT_OK);
	ck_assert_int_eq(rs->n, 1);
	ck_assert_str_eq(rs->body[0], "hello");
	ck_assert_int_eq(cursor, 1);
	ck_assert_int_eq(forkset_join(&fs, NULL), 1);
	doorbell_close(bell);
	free(rs);
}
END_TEST

#define WRITERS 4
#define PER_WRITER 500

/* Child: its own handle and doorbell; append PER_WRITER rows "w:i". */
static int writer_child(forkset_t *fs, int w, void *ctx)
{
	char body[32], bellpath[600];
	doorbell_t *bell = NULL;
	chat_error_t err;
	chatdb_t *cdb;
	outbox_msg_t m;
	int i, rc = 0;

	(void)ctx;
	snprintf(bellpath, sizeof(bellpath), "%s/chat.bell", dir);
	if (chatdb_open(path, 0, &cdb, &err) != CHAT_OK ||
	    doorbell_open(bellpath, &bell, &err) != CHAT_OK) {
		fprintf(stderr, "writer %d: %s\n", w, err.message);
		return 1;
	}
	chatdb_set_doorbell(cdb, bell);
	forkset_ready(fs);
	forkset_await_go(fs);
	for (i = 0; i < PER_WRITER && rc == 0; i++) {
		snprintf(body, sizeof(body), "%d:%d", w, i);
		m = msg("/topic/load", NULL, body, 1);
		rc = outbox_append(cdb, &m, NULL, &err);
		if (rc != CHAT_OK)
			fprintf(stderr, "writer %d row %d: %s\n", w, i, err.message);
	}
	chatdb_close(cdb);
	doorbell_close(bell);
	return rc == CHAT_OK ? 0 : 2;
}

START_TEST(concurrent_appends_are_gapless_and_ordered)
{
	int next[WRITERS] = { 0 };
	rows_t *rs = rows_new();
	char bellpath[600];
	doorbell_t *bell;
	int64_t last = 0;
	forkset_t fs;
	int i, w, k;

	snprintf(bellpath, sizeof(bellpath), "%s/chat.bell", dir);
	ck_assert_int_eq(doorbell_open(bellpath, &bell, NULL), CHAT_OK);
	ck_assert_int_eq(forkset_start(&fs, WRITERS, writer_child, NULL), 0);
	ck_assert_int_eq(forkset_wait_ready(&fs), 0);
	forkset_go(&fs);
	ck_assert_int_eq(forkset_join(&fs, NULL), WRITERS);

	/* Read back in pages, as a delivering process would. */
	do {
		k = rs->n;
		ck_assert_int_eq(outbox_read_after(db, last, 300, collect, rs, &last, NULL),
				 CHAT_OK);
	} while (rs->n > k);
	ck_assert_int_eq(rs->n, WRITERS * PER_WRITER);
	ck_assert_int_eq(last, WRITERS * PER_WRITER);
	for (i = 0; i < rs->n; i++) {
		ck_assert_int_eq(rs->seq[i], i + 1); /* gapless, ordered, no duplicates */
		ck_assert_int_eq(sscanf(rs->body[i], "%d:%d", &w, &k), 2);
		ck_assert(w >= 0 && w < WRITERS);
		ck_assert_int_eq(k, next[w]); /* each writer's rows in its order, once */
		next[w]++;
	}
	for (w = 0; w < WRITERS; w++)
		ck_assert_int_eq(next[w], PER_WRITER);
	ck_assert_uint_eq(doorbell_seq(bell), WRITERS * PER_WRITER);
	doorbell_close(bell);
	free(rs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("outbox");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, append_then_read_in_order);
	tcase_add_test(tc, batch_is_one_transaction);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, prune_keeps_what_live_cursors_need);
	tcase_add_test(tc, consumer_cursor_never_goes_back);
	tcase_add_test(tc, consumer_register_keeps_an_existing_cursor);
	tcase_add_test(tc, append_rings_the_doorbell);
	tcase_add_test(tc, append_in_other_process_wakes_reader);
	tcase_add_test(tc, concurrent_appends_are_gapless_and_ordered);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
