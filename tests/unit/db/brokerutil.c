/* brokerutil.c - driving the chat service in unit tests (see brokerutil.h). */
#include "config.h"
#include "brokerutil.h"

#include "session.h"
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void brokerutil_open_sessions(service_ctx_t *ctx, const service_t *svc, int n, int64_t now_ms,
			      int must_be_new, char keys[][CHATDB_ID_MAX + 1])
{
	int created, i;
	session_info_t info;

	for (i = 0; i < n; i++) {
		char sid[16];

		snprintf(sid, sizeof(sid), "s%d", i);
		ck_assert_int_eq(service_key(svc, (chat_slice_t){ sid, strlen(sid) }, keys[i]),
				 CHAT_OK);
		ck_assert_int_eq(service_open(ctx, svc, keys[i], NULL, now_ms, &created, &info,
					      NULL),
				 CHAT_OK);
		if (must_be_new)
			ck_assert_int_eq(created, 1);
	}
}

int brokerutil_send(service_ctx_t *ctx, const service_t *svc, const char *key, const char *text,
		    int64_t now_ms)
{
	json_strv_t v;
	chat_error_t err = { 0 };
	char *raw = strdup(text);
	size_t n = strlen(text), i;
	int rc;

	ck_assert_ptr_nonnull(raw);
	for (i = 0; i < n; i++)
		if (raw[i] == '^')
			raw[i] = '\0';
	json_strv_init(&v, 1 << 22, 16);
	ck_assert_int_eq(json_strv_push(&v, raw, n), CHAT_OK);
	rc = service_receive(ctx, svc, key, NULL, &v, now_ms, &err);
	if (rc != CHAT_OK)
		fprintf(stderr, "receive: %s\n", err.message);
	json_strv_free(&v);
	free(raw);
	return rc;
}

const char *brokerutil_collect(service_ctx_t *ctx, const service_t *svc, const char *key,
			       size_t max_msgs, char *out, size_t size)
{
	session_info_t info;
	json_strv_t v;
	chat_error_t err = { 0 };
	int64_t next;
	size_t k = 0, i, j;

	out[0] = '\0';
	ck_assert_int_eq(session_get(ctx->db, key, &info, NULL), CHAT_OK);
	json_strv_init(&v, 1 << 20, max_msgs);
	ck_assert_msg(service_collect(ctx, svc, key, info.cursor, &v, &next, &err) == CHAT_OK,
		      "collect: %s", err.message);
	for (i = 0; i < v.n; i++) {
		chat_slice_t m = json_strv_at(&v, i);

		if (i > 0 && k < size - 1)
			out[k++] = '|';
		for (j = 0; j < m.len && k < size - 1; j++)
			out[k++] = m.ptr[j] == '\0' ? '^' : m.ptr[j];
	}
	out[k] = '\0';
	json_strv_free(&v);
	if (next > info.cursor)
		ck_assert_int_eq(session_advance_cursor(ctx->db, key, next, NULL), CHAT_OK);
	return out;
}

int64_t brokerutil_scalar(chatdb_t *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(chatdb_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}
