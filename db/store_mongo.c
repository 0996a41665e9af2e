/*
 * store_mongo.c - the MongoDB store backend (mongo-c-driver / libbson):
 * collections users, rooms and messages (store_mongo_msg.c) in the URI's
 * database, each document's _id being the caller's int64 id, so a retried
 * insert meets a duplicate-key error (11000) and is recognised as a retry.
 *
 * Indexes (createIndexes at open): users.name and rooms.name unique, and
 * users.key and rooms.key unique, key being the name in ASCII lower case,
 * so names are unique and found whatever their case (store.h); documents
 * written before keys existed get theirs at open.  messages (room_id, _id)
 * for "latest N of a room" and "after id X".
 *
 * Threads and processes: mongoc_init() runs once per process (pthread_once);
 * each handle owns one single-threaded mongoc_client_t, so a handle is used
 * by one thread at a time, as store.h says, and must be opened after a
 * fork(), never carried across one.  store_global_cleanup() calls
 * mongoc_cleanup() at exit.
 *
 * Failing fast: unless the URI sets them, serverSelectionTimeoutMS and
 * connectTimeoutMS are 2000 and socketTimeoutMS 10000; single-threaded
 * clients also try server selection once, so a refused connection fails in
 * milliseconds with CHAT_EDB and the driver's message.  Known to work with
 * MongoDB and with FerretDB 1.24 (the test fixture).
 */
#include "config.h"
#include "store_mongo_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DB "chat"
#define DEFAULT_SELECT_MS 2000
#define DEFAULT_CONNECT_MS 2000
#define DEFAULT_SOCKET_MS 10000

/* Server error codes for a duplicate key (11001: old servers' updates). */
#define MONGO_DUPLICATE_KEY 11000
#define MONGO_DUPLICATE_KEY_OLD 11001


static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_int initialised;

static void global_init(void)
{
	mongoc_init();
	atomic_store(&initialised, 1);
}

void store__mongo_global_cleanup(void)
{
	if (atomic_exchange(&initialised, 0))
		mongoc_cleanup();
}

int store_mongo__error(chat_error_t *err, const char *what, const bson_error_t *e)
{
	return chat_error_set(err, CHAT_EDB, "mongodb: %s: %s", what, e->message);
}

static int is_duplicate_key(const bson_error_t *e)
{
	return e->code == MONGO_DUPLICATE_KEY || e->code == MONGO_DUPLICATE_KEY_OLD;
}

static void mongo_close(store_t *s)
{
	mongo_store_t *st = (mongo_store_t *)s;

	mongoc_collection_destroy(st->users);
	mongoc_collection_destroy(st->rooms);
	mongoc_collection_destroy(st->messages);
	mongoc_client_destroy(st->client);
	free(st);
}

/* Sets a timeout option unless the URI already has it. */
static void default_ms(mongoc_uri_t *uri, const char *option, int32_t ms)
{
	if (!mongoc_uri_has_option(uri, option))
		mongoc_uri_set_option_as_int32(uri, option, ms);
}

/* The key of name (ASCII lower case) into out (size bytes). */
static void name_key(const char *name, char *out, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		out[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
	out[i] = '\0';
}

#define KEY_MAX \
	(STORE_USER_NAME_MAX > STORE_ROOM_NAME_MAX ? STORE_USER_NAME_MAX : STORE_ROOM_NAME_MAX)

/* Gives the documents of c that have no key (written before keys
 * existed) theirs. */
static int backfill_keys(mongoc_collection_t *c, chat_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, exists, opts = BSON_INITIALIZER, proj;
	mongoc_cursor_t *cur;
	const bson_t *d;
	bson_error_t e;
	int rc = CHAT_OK;

	BSON_APPEND_DOCUMENT_BEGIN(&filter, "key", &exists);
	BSON_APPEND_BOOL(&exists, "$exists", false);
	bson_append_document_end(&filter, &exists);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "name", 1);
	bson_append_document_end(&opts, &proj);
	cur = mongoc_collection_find_with_opts(c, &filter, &opts, NULL);
	while (rc == CHAT_OK && mongoc_cursor_next(cur, &d)) {
		bson_iter_t id, name;
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
		char key[KEY_MAX + 1];

		if (!bson_iter_init_find(&id, d, "_id") || !bson_iter_init_find(&name, d, "name") ||
		    !BSON_ITER_HOLDS_UTF8(&name)) {
			rc = chat_error_set(err, CHAT_EDB, "a document without a name in %s",
					    mongoc_collection_get_name(c));
			break;
		}
		name_key(bson_iter_utf8(&name, NULL), key, sizeof(key));
		bson_append_iter(&sel, "_id", -1, &id);
		BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
		BSON_APPEND_UTF8(&set, "key", key);
		bson_append_document_end(&upd, &set);
		if (!mongoc_collection_update_one(c, &sel, &upd, NULL, NULL, &e))
			rc = store_mongo__error(err, "adding name keys", &e);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	if (rc == CHAT_OK && mongoc_cursor_error(cur, &e))
		rc = store_mongo__error(err, "finding documents without a name key", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	bson_destroy(&filter);
	return rc;
}

/* Appends index n of a createIndexes command: on field (unique) or, with
 * field NULL, messages' (room_id, _id). */
static void add_index(bson_t *indexes, const char *n, const char *field)
{
	bson_t index, key;

	BSON_APPEND_DOCUMENT_BEGIN(indexes, n, &index);
	BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &key);
	if (field == NULL) {
		BSON_APPEND_INT32(&key, "room_id", 1);
		BSON_APPEND_INT32(&key, "_id", 1);
		bson_append_document_end(&index, &key);
		BSON_APPEND_UTF8(&index, "name", "room_id_1__id_1");
	} else {
		BSON_APPEND_INT32(&key, field, 1);
		bson_append_document_end(&index, &key);
		BSON_APPEND_UTF8(&index, "name",
				 strcmp(field, "name") == 0 ? "name_unique" : "key_unique");
		BSON_APPEND_BOOL(&index, "unique", true);
	}
	bson_append_document_end(indexes, &index);
}

/* createIndexes for one index of coll: on field (unique), or with field
 * NULL messages' (room_id, _id). */
static int create_index(mongoc_database_t *db, const char *coll, const char *field,
			chat_error_t *err)
{
	bson_t cmd = BSON_INITIALIZER, indexes;
	bson_error_t e;
	int rc = CHAT_OK;

	BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &indexes);
	add_index(&indexes, "0", field);
	bson_append_array_end(&cmd, &indexes);
	if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, NULL, &e))
		rc = store_mongo__error(err,
					"creating indexes (names that differ only in case must be"
					" renamed first)",
					&e);
	bson_destroy(&cmd);
	return rc;
}

/* The indexes of coll, one createIndexes each (FerretDB 1.24 panics on a
 * command that lists an existing index beside a new one). */
static int create_indexes(mongoc_database_t *db, const char *coll, chat_error_t *err)
{
	int rc;

	if (strcmp(coll, "messages") == 0)
		return create_index(db, coll, NULL, err);
	rc = create_index(db, coll, "name", err);
	return rc != CHAT_OK ? rc : create_index(db, coll, "key", err);
}

static const store__ops_t mongo_ops;

int store__mongo_open(const char *uri_string, store_t **out, chat_error_t *err)
{
	static const char *const colls[] = { "users", "rooms", "messages" };
	mongo_store_t *st = NULL;
	mongoc_uri_t *uri = NULL;
	mongoc_database_t *db = NULL;
	const char *dbname;
	bson_error_t e;
	size_t i;
	int rc = CHAT_OK;

	pthread_once(&init_once, global_init);
	uri = mongoc_uri_new_with_error(uri_string, &e);
	if (uri == NULL) {
		rc = chat_error_set(err, CHAT_EINVAL, "mongodb: bad URI: %s", e.message);
		goto out;
	}
	default_ms(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, DEFAULT_SELECT_MS);
	default_ms(uri, MONGOC_URI_CONNECTTIMEOUTMS, DEFAULT_CONNECT_MS);
	default_ms(uri, MONGOC_URI_SOCKETTIMEOUTMS, DEFAULT_SOCKET_MS);
	if (mongoc_uri_get_appname(uri) == NULL)
		mongoc_uri_set_appname(uri, "chat-store");
	dbname = mongoc_uri_get_database(uri);
	if (dbname == NULL || *dbname == '\0')
		dbname = DEFAULT_DB;

	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		rc = chat_error_set(err, CHAT_ENOMEM, "out of memory");
		goto out;
	}
	st->base.ops = &mongo_ops;
	st->client = mongoc_client_new_from_uri_with_error(uri, &e);
	if (st->client == NULL) {
		rc = chat_error_set(err, CHAT_EINVAL, "mongodb: bad URI: %s", e.message);
		goto out;
	}
	mongoc_client_set_error_api(st->client, MONGOC_ERROR_API_VERSION_2);
	st->users = mongoc_client_get_collection(st->client, dbname, "users");
	st->rooms = mongoc_client_get_collection(st->client, dbname, "rooms");
	st->messages = mongoc_client_get_collection(st->client, dbname, "messages");
	db = mongoc_client_get_database(st->client, dbname);
	/* The first command selects a server: an unreachable one fails here. */
	for (i = 0; i < CHAT_ARRAY_LEN(colls) && rc == CHAT_OK; i++) {
		if (i < 2)
			rc = backfill_keys(i == 0 ? st->users : st->rooms, err);
		if (rc == CHAT_OK)
			rc = create_indexes(db, colls[i], err);
	}
out:
	mongoc_database_destroy(db);
	mongoc_uri_destroy(uri);
	if (rc != CHAT_OK) {
		if (st != NULL)
			mongo_close(&st->base);
		return rc;
	}
	*out = &st->base;
	return CHAT_OK;
}

/* Finds the one document with _id id, or with name by_name when that is
 * not NULL, into *doc (initialised by the call when it returns CHAT_OK; the
 * caller destroys it). */
static int find_one(mongoc_collection_t *c, int64_t id, const char *by_name, bson_t *doc,
		    const char *what, chat_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *d;
	bson_error_t e;
	char key[KEY_MAX + 1];
	int rc;

	if (by_name != NULL) {
		name_key(by_name, key, sizeof(key));
		BSON_APPEND_UTF8(&filter, "key", key);
	} else {
		BSON_APPEND_INT64(&filter, "_id", id);
	}
	BSON_APPEND_INT64(&opts, "limit", 1);
	cur = mongoc_collection_find_with_opts(c, &filter, &opts, NULL);
	if (mongoc_cursor_next(cur, &d)) {
		bson_copy_to(d, doc);
		rc = CHAT_OK;
	} else if (mongoc_cursor_error(cur, &e)) {
		rc = store_mongo__error(err, what, &e);
	} else {
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no such %s", what);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	bson_destroy(&filter);
	return rc;
}

/* Field readers: CHAT_OK, or CHAT_EDB for a missing or mistyped field. */
int store_mongo__get_int64(const bson_t *d, const char *key, int64_t *v, chat_error_t *err)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_NUMBER(&it))
		return chat_error_set(err, CHAT_EDB, "mongodb: document without number %s", key);
	*v = bson_iter_as_int64(&it);
	return CHAT_OK;
}

int store_mongo__get_str(const bson_t *d, const char *key, const char **s, uint32_t *len,
			 chat_error_t *err)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, d, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return chat_error_set(err, CHAT_EDB, "mongodb: document without string %s", key);
	*s = bson_iter_utf8(&it, len);
	return CHAT_OK;
}

static int get_strcpy(const bson_t *d, const char *key, char *dst, size_t size, chat_error_t *err)
{
	const char *s;
	uint32_t len;
	int rc;

	if ((rc = store_mongo__get_str(d, key, &s, &len, err)) != CHAT_OK)
		return rc;
	if (len >= size)
		return chat_error_set(err, CHAT_EDB, "mongodb: %s is too long", key);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return CHAT_OK;
}

/* Document readers: CHAT_OK, or CHAT_EDB for a missing or mistyped field. */
static int read_user(const bson_t *d, store_user_t *u, chat_error_t *err)
{
	int rc;

	memset(u, 0, sizeof(*u));
	if ((rc = store_mongo__get_int64(d, "_id", &u->id, err)) == 0 &&
	    (rc = get_strcpy(d, "name", u->name, sizeof(u->name), err)) == 0 &&
	    (rc = get_strcpy(d, "password_hash", u->password_hash, sizeof(u->password_hash),
			     err)) == CHAT_OK)
		rc = store_mongo__get_int64(d, "created_ms", &u->created_ms, err);
	return rc;
}

static int read_room(const bson_t *d, store_room_t *r, chat_error_t *err)
{
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = store_mongo__get_int64(d, "_id", &r->id, err)) == 0 &&
	    (rc = get_strcpy(d, "name", r->name, sizeof(r->name), err)) == 0 &&
	    (rc = store_mongo__get_int64(d, "created_by", &r->created_by, err)) == CHAT_OK)
		rc = store_mongo__get_int64(d, "created_ms", &r->created_ms, err);
	return rc;
}

static int user_get(store_t *s, int64_t id, const char *by_name, store_user_t *out,
		    chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t doc;
	int rc;

	if ((rc = find_one(st->users, id, by_name, &doc, "user", err)) != CHAT_OK)
		return rc;
	rc = read_user(&doc, out, err);
	bson_destroy(&doc);
	return rc;
}

int store_mongo__insert(mongoc_collection_t *c, const bson_t *doc, int *dup, const char *what,
			chat_error_t *err)
{
	bson_error_t e;

	*dup = 0;
	if (mongoc_collection_insert_one(c, doc, NULL, NULL, &e))
		return CHAT_OK;
	if (is_duplicate_key(&e)) {
		*dup = 1;
		return CHAT_OK;
	}
	return store_mongo__error(err, what, &e);
}

static int user_add(store_t *s, const store_user_t *u, chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t doc = BSON_INITIALIZER;
	store_user_t old;
	char key[KEY_MAX + 1];
	int rc, dup;

	BSON_APPEND_INT64(&doc, "_id", u->id);
	BSON_APPEND_UTF8(&doc, "name", u->name);
	name_key(u->name, key, sizeof(key));
	BSON_APPEND_UTF8(&doc, "key", key);
	BSON_APPEND_UTF8(&doc, "password_hash", u->password_hash);
	BSON_APPEND_INT64(&doc, "created_ms", u->created_ms);
	rc = store_mongo__insert(st->users, &doc, &dup, "adding a user", err);
	bson_destroy(&doc);
	if (rc != CHAT_OK || !dup)
		return rc;
	/* Same _id and name: a retry.  Otherwise the name or the id is taken. */
	rc = user_get(s, u->id, NULL, &old, err);
	return store__add_conflict(rc, old.name, u->name, "user", u->id, err);
}

static int room_get(store_t *s, int64_t id, const char *by_name, store_room_t *out,
		    chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t doc;
	int rc;

	if ((rc = find_one(st->rooms, id, by_name, &doc, "room", err)) != CHAT_OK)
		return rc;
	rc = read_room(&doc, out, err);
	bson_destroy(&doc);
	return rc;
}

static int room_add(store_t *s, const store_room_t *r, chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t doc = BSON_INITIALIZER;
	store_room_t old;
	char key[KEY_MAX + 1];
	int rc, dup;

	BSON_APPEND_INT64(&doc, "_id", r->id);
	BSON_APPEND_UTF8(&doc, "name", r->name);
	name_key(r->name, key, sizeof(key));
	BSON_APPEND_UTF8(&doc, "key", key);
	BSON_APPEND_INT64(&doc, "created_by", r->created_by);
	BSON_APPEND_INT64(&doc, "created_ms", r->created_ms);
	rc = store_mongo__insert(st->rooms, &doc, &dup, "adding a room", err);
	bson_destroy(&doc);
	if (rc != CHAT_OK || !dup)
		return rc;
	rc = room_get(s, r->id, NULL, &old, err);
	return store__add_conflict(rc, old.name, r->name, "room", r->id, err);
}

mongoc_cursor_t *store_mongo__find_sorted(mongoc_collection_t *c, const bson_t *filter, int dir,
					  size_t n)
{
	bson_t opts = BSON_INITIALIZER, sort;
	mongoc_cursor_t *cur;

	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "_id", dir);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "limit", (int64_t)n);
	cur = mongoc_collection_find_with_opts(c, filter, &opts, NULL);
	bson_destroy(&opts);
	return cur;
}

/* Reads a document into the i-th item of a list (a users' or rooms'). */
typedef int (*read_item_fn)(const bson_t *d, void *items, size_t i, chat_error_t *err);

static int read_user_item(const bson_t *d, void *items, size_t i, chat_error_t *err)
{
	return read_user(d, &((store_user_t *)items)[i], err);
}

static int read_room_item(const bson_t *d, void *items, size_t i, chat_error_t *err)
{
	return read_room(d, &((store_room_t *)items)[i], err);
}

/* Up to n documents of c with _id > after_id, in _id order, read into
 * items by read; *count gets how many. */
static int list_after(mongoc_collection_t *c, int64_t after_id, size_t n, void *items,
		      size_t *count, read_item_fn read, const char *what, chat_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, cond;
	mongoc_cursor_t *cur;
	const bson_t *d;
	bson_error_t e;
	int rc = CHAT_OK;

	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &cond);
	BSON_APPEND_INT64(&cond, "$gt", after_id);
	bson_append_document_end(&filter, &cond);
	cur = store_mongo__find_sorted(c, &filter, 1, n);
	while (rc == CHAT_OK && *count < n && mongoc_cursor_next(cur, &d))
		rc = read(d, items, (*count)++, err);
	if (rc == CHAT_OK && mongoc_cursor_error(cur, &e))
		rc = store_mongo__error(err, what, &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	return rc;
}

static int room_list(store_t *s, int64_t after_id, size_t n, store_room_list_t *out,
		     chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;

	return list_after(st->rooms, after_id, n, out->items, &out->count, read_room_item,
			  "listing rooms", err);
}

static int room_delete(store_t *s, int64_t id, chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	int rc = CHAT_OK;

	BSON_APPEND_INT64(&filter, "_id", id);
	if (!mongoc_collection_delete_one(st->rooms, &filter, NULL, NULL, &e))
		rc = store_mongo__error(err, "deleting a room", &e);
	bson_destroy(&filter);
	return rc;
}

static int user_list(store_t *s, int64_t after_id, size_t n, store_user_list_t *out,
		     chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;

	return list_after(st->users, after_id, n, out->items, &out->count, read_user_item,
			  "listing users", err);
}

static int user_set_password(store_t *s, int64_t id, const char *hash, chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t filter = BSON_INITIALIZER, update = BSON_INITIALIZER, set, reply;
	bson_error_t e;
	bson_iter_t it;
	int rc = CHAT_OK;

	BSON_APPEND_INT64(&filter, "_id", id);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "password_hash", hash);
	bson_append_document_end(&update, &set);
	if (!mongoc_collection_update_one(st->users, &filter, &update, NULL, &reply, &e))
		rc = store_mongo__error(err, "changing a password", &e);
	else if (!bson_iter_init_find(&it, &reply, "matchedCount") || bson_iter_as_int64(&it) != 1)
		rc = chat_error_set(err, CHAT_ENOTFOUND, "no such user");
	bson_destroy(&reply);
	bson_destroy(&update);
	bson_destroy(&filter);
	return rc;
}

static int user_delete(store_t *s, int64_t id, chat_error_t *err)
{
	mongo_store_t *st = (mongo_store_t *)s;
	bson_t filter = BSON_INITIALIZER;
	bson_error_t e;
	int rc = CHAT_OK;

	BSON_APPEND_INT64(&filter, "_id", id);
	if (!mongoc_collection_delete_one(st->users, &filter, NULL, NULL, &e))
		rc = store_mongo__error(err, "deleting a user", &e);
	bson_destroy(&filter);
	return rc;
}

static const store__ops_t mongo_ops = {
	.name = "mongodb",
	.close = mongo_close,
	.user_add = user_add,
	.user_get = user_get,
	.user_list = user_list,
	.user_set_password = user_set_password,
	.user_delete = user_delete,
	.room_add = room_add,
	.room_get = room_get,
	.room_list = room_list,
	.room_delete = room_delete,
	.msg_add = store_mongo__msg_add,
	.msg_page = store_mongo__msg_page,
	.msg_max = store_mongo__msg_max,
};
