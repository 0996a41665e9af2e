/*
 * store_mongo_msg.c - the MongoDB store backend's messages collection:
 * adding a message (a duplicate _id is a retry when the stored document is
 * the same), the highest ids, and the pages of a room's history.
 */
#include "config.h"
#include "store_mongo_int.h"

#include <string.h>

int store_mongo__msg_add(store_t *s, const store_msg_t *m, int *created, chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t doc = BSON_INITIALIZER;
	int rc, dup;

	BSON_APPEND_INT64(&doc, "_id", m->id);
	BSON_APPEND_INT64(&doc, "room_id", m->room_id);
	BSON_APPEND_INT64(&doc, "room_seq", m->room_seq);
	BSON_APPEND_UTF8(&doc, "writer", m->writer);
	bson_append_utf8(&doc, "text", -1, m->text, (int)m->text_len);
	BSON_APPEND_INT64(&doc, "time_ms", m->time_ms);
	/* messages has no unique index but _id: a duplicate is a retry when
	 * the stored document is this one, a reused id otherwise. */
	rc = store_mongo__insert(st->messages, &doc, &dup, "adding a message", err);
	if (rc == CHAT_OK && dup) {
		bson_error_t e;
		int64_t n = mongoc_collection_count_documents(st->messages, &doc, NULL, NULL, NULL,
							      &e);

		if (n < 0)
			rc = store_mongo__error(err, "comparing a message", &e);
		else if (n == 0)
			rc = chat_error_set(err, CHAT_EEXIST,
					    "message id %lld is already stored with other content",
					    (long long)m->id);
	}
	bson_destroy(&doc);
	*created = rc == CHAT_OK && !dup;
	return rc;
}

/* The N of a name prefix followed by 1..18 digits, or 0. */
static int64_t guest_number(const char *name, uint32_t len, size_t plen)
{
	int64_t n = 0;
	uint32_t i;

	if (len <= plen || len > plen + 18)
		return 0;
	for (i = (uint32_t)plen; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		n = n * 10 + (name[i] - '0');
	}
	return n;
}

int store_mongo__msg_max(store_t *s, const char *guest_prefix, int64_t *max_id, int64_t *max_guest,
			 chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t filter = BSON_INITIALIZER, cmd = BSON_INITIALIZER, query, range, reply;
	char upper[17];
	size_t plen = guest_prefix != NULL ? strlen(guest_prefix) : 0;
	mongoc_cursor_t *cur;
	const bson_t *d;
	bson_iter_t it, vals;
	bson_error_t e;
	int rc = CHAT_OK;

	cur = store_mongo__find_sorted(st->messages, &filter, -1, 1);
	if (mongoc_cursor_next(cur, &d))
		rc = store_mongo__get_int64(d, "_id", max_id, err);
	else if (mongoc_cursor_error(cur, &e))
		rc = store_mongo__error(err, "reading the highest message id", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	if (rc != CHAT_OK || guest_prefix == NULL) {
		bson_destroy(&cmd);
		return rc;
	}
	/* Distinct writers in [prefix, prefix with its last byte + 1). */
	memcpy(upper, guest_prefix, plen + 1);
	upper[plen - 1] = (char)(upper[plen - 1] + 1);
	BSON_APPEND_UTF8(&cmd, "distinct", "messages");
	BSON_APPEND_UTF8(&cmd, "key", "writer");
	BSON_APPEND_DOCUMENT_BEGIN(&cmd, "query", &query);
	BSON_APPEND_DOCUMENT_BEGIN(&query, "writer", &range);
	BSON_APPEND_UTF8(&range, "$gte", guest_prefix);
	BSON_APPEND_UTF8(&range, "$lt", upper);
	bson_append_document_end(&query, &range);
	bson_append_document_end(&cmd, &query);
	if (!mongoc_collection_read_command_with_opts(st->messages, &cmd, NULL, NULL, &reply, &e)) {
		rc = store_mongo__error(err, "reading guest names", &e);
	} else if (bson_iter_init_find(&it, &reply, "values") && BSON_ITER_HOLDS_ARRAY(&it) &&
		   bson_iter_recurse(&it, &vals)) {
		while (bson_iter_next(&vals)) {
			const char *name;
			uint32_t len;
			int64_t n;

			if (!BSON_ITER_HOLDS_UTF8(&vals))
				continue;
			name = bson_iter_utf8(&vals, &len);
			n = guest_number(name, len, plen);
			if (n > *max_guest)
				*max_guest = n;
		}
	} else {
		rc = chat_error_set(err, CHAT_EDB, "mongodb: distinct without values");
	}
	bson_destroy(&reply);
	bson_destroy(&cmd);
	return rc;
}

int store_mongo__msg_page(store_t *s, int64_t room_id, store__page_t page, int64_t ref_id, size_t n,
			  store_msg_list_t *out, int *newest_first, chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t filter = BSON_INITIALIZER, cond;
	mongoc_cursor_t *cur;
	const bson_t *d;
	store_msg_t m;
	uint32_t len;
	bson_error_t e;
	int rc = CHAT_OK;

	BSON_APPEND_INT64(&filter, "room_id", room_id);
	if (page != STORE__LATEST) {
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &cond);
		BSON_APPEND_INT64(&cond, page == STORE__BEFORE ? "$lt" : "$gt", ref_id);
		bson_append_document_end(&filter, &cond);
	}
	*newest_first = page != STORE__AFTER;
	cur = store_mongo__find_sorted(st->messages, &filter, *newest_first ? -1 : 1, n);
	while (rc == CHAT_OK && out->count < n && mongoc_cursor_next(cur, &d)) {
		if ((rc = store_mongo__get_int64(d, "_id", &m.id, err)) != 0 ||
		    (rc = store_mongo__get_int64(d, "room_id", &m.room_id, err)) != 0 ||
		    (rc = store_mongo__get_int64(d, "room_seq", &m.room_seq, err)) != 0 ||
		    (rc = store_mongo__get_int64(d, "time_ms", &m.time_ms, err)) != 0 ||
		    (rc = store_mongo__get_str(d, "writer", &m.writer, &len, err)) != 0 ||
		    (rc = store_mongo__get_str(d, "text", &m.text, &len, err)) != CHAT_OK)
			break;
		m.text_len = len;
		if ((rc = store__msg_list_push(out, &m)) != CHAT_OK)
			rc = chat_error_set(err, rc == CHAT_ENOMEM ? CHAT_ENOMEM : CHAT_EDB,
					    "mongodb: message %lld does not fit the limits",
					    (long long)m.id);
	}
	if (rc == CHAT_OK && mongoc_cursor_error(cur, &e))
		rc = store_mongo__error(err, "reading messages", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	return rc;
}
