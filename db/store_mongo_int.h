/*
 * store_mongo_int.h - what the MongoDB store backend's files share
 * (store_mongo.c: the handle, users and rooms; store_mongo_msg.c: messages)
 * and no other module uses.
 */
#ifndef CHAT_STORE_MONGO_INT_H
#define CHAT_STORE_MONGO_INT_H

#include "store.h"

#include <mongoc/mongoc.h>

typedef struct mongo_store {
	store_t base;               /* first: a store_t * is a mongo_store * */
	mongoc_client_t *client;    /* single-threaded, owned */
	mongoc_collection_t *users; /* the three collections, owned */
	mongoc_collection_t *rooms;
	mongoc_collection_t *messages;
} mongo_store_t;

/* Records "mongodb: what: e's message" in err; returns CHAT_EDB. */
int store_mongo__error(chat_error_t *err, const char *what, const bson_error_t *e);

/* Inserts doc into c: CHAT_OK with *dup 1 when a unique index (_id or
 * name) refused it, 0 when it was inserted; else store_mongo__error(). */
CHAT_MUST_CHECK int store_mongo__insert(mongoc_collection_t *c, const bson_t *doc, int *dup,
					const char *what, chat_error_t *err);

/* Runs find(filter) on c sorted by _id (dir 1 or -1) with limit n.  The
 * caller destroys the cursor (and reads its error after the last next). */
mongoc_cursor_t *store_mongo__find_sorted(mongoc_collection_t *c, const bson_t *filter, int dir,
					  size_t n);

/* Field readers: CHAT_OK, or CHAT_EDB for a missing or mistyped field.
 * The string is borrowed from d. */
CHAT_MUST_CHECK int store_mongo__get_int64(const bson_t *d, const char *key, int64_t *v,
					   chat_error_t *err);
CHAT_MUST_CHECK int store_mongo__get_str(const bson_t *d, const char *key, const char **s,
					 uint32_t *len, chat_error_t *err);

/* The messages operations of the store table (store.h's store__ops_t). */
CHAT_MUST_CHECK int store_mongo__msg_add(store_t *s, const store_msg_t *m, int *created,
					 chat_error_t *err);
CHAT_MUST_CHECK int store_mongo__msg_max(store_t *s, const char *guest_prefix, int64_t *max_id,
					 int64_t *max_guest, chat_error_t *err);
CHAT_MUST_CHECK int store_mongo__msg_page(store_t *s, int64_t room_id, store__page_t page,
					  int64_t ref_id, size_t n, store_msg_list_t *out,
					  int *newest_first, chat_error_t *err);

#endif
