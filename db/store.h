/*
 * store.h - the durable chat store: users, rooms and message history.  One
 * interface, two backends behind a table of function pointers (SQLite, the
 * embedded default, and MongoDB), which pass one shared test suite
 * (tests/unit/db/store_suite.c).  Ids are chosen by the caller before the
 * insert, so a retried insert is idempotent; input is validated here, once,
 * before a backend sees it.  The validation rules and the error codes:
 * docs/protocol.md#the-durable-store.
 *
 * Threads: a store_t is used by one thread at a time (no internal locking);
 * open one handle per thread.  Any number of handles, in any number of
 * processes, may point at the same database.
 */
#ifndef CHAT_STORE_H
#define CHAT_STORE_H

#include "chat.h"
#include "buf.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_USER_NAME_MAX CHAT_USER_NAME_MAX
/* Room ids are at most 64 bytes (CHATMSG_ROOM_MAX); a direct-message
 * conversation's room, "dm:" and two user names (db/dm.h), up to 68. */
#define STORE_ROOM_NAME_MAX 72
#define STORE_PASSWORD_HASH_MAX 256
/* Wider than a post's text (CHAT_TEXT_MAX), as it always was: kept at 4096
 * so what the store accepts and reads back does not change. */
#define STORE_TEXT_MAX 4096
_Static_assert(STORE_TEXT_MAX >= CHAT_TEXT_MAX, "the store holds any post");
#define STORE_PAGE_MAX 500

typedef struct store store_t;

typedef struct store_user {
	int64_t id;
	char name[STORE_USER_NAME_MAX + 1];              /* NUL-terminated */
	char password_hash[STORE_PASSWORD_HASH_MAX + 1]; /* NUL-terminated */
	int64_t created_ms;
} store_user_t;

typedef struct store_room {
	int64_t id;
	char name[STORE_ROOM_NAME_MAX + 1]; /* NUL-terminated */
	int64_t created_by;                 /* a user id */
	int64_t created_ms;
} store_room_t;

/* A list of users; caller-owned, release with store_user_list_free().
 * Zero-initialise before the first use. */
typedef struct store_user_list {
	store_user_t *items; /* owned; count entries */
	size_t count;
} store_user_list_t;

/* A list of rooms; caller-owned, release with store_room_list_free().
 * Zero-initialise before the first use. */
typedef struct store_room_list {
	store_room_t *items; /* owned; count entries */
	size_t count;
} store_room_list_t;

/* A chat message.  As input to store_msg_add() the strings are borrowed; in
 * a store_msg_list_t they point into storage owned by the list. */
typedef struct store_msg {
	int64_t id;         /* > 0, the global outbox seq */
	int64_t room_id;    /* > 0; the store does not check the room exists */
	int64_t room_seq;   /* per-room sequence, chosen by the caller */
	int64_t time_ms;    /* server time the message was accepted */
	const char *writer; /* the writer's user name (NUL-terminated) */
	const char *text;   /* text_len bytes; NUL-terminated in lists */
	size_t text_len;
} store_msg_t;

/* Messages of one room, oldest first; caller-owned, release with
 * store_msg_list_free().  Zero-initialise before the first use. */
typedef struct store_msg_list {
	store_msg_t *items; /* owned; count entries */
	size_t count;
	chat_buf_t strings; /* owns the bytes items[].writer/.text point to */
} store_msg_list_t;

/* Opens (creating if needed) the store named by uri:
 *   "sqlite:PATH"   SQLite file PATH (its directory must exist); WAL mode,
 *                   schema versioned with PRAGMA user_version.
 *   "mongodb://..." or "mongodb+srv://..."  MongoDB; the database is the
 *                   URI's path ("chat" when absent).  serverSelectionTimeoutMS
 *                   and connectTimeoutMS default to 2000, socketTimeoutMS to
 *                   10000, unless the URI sets them, so an unreachable server
 *                   fails fast; the URI's write concern applies (default w=1).
 * Creates the schema / unique indexes.  On success *out is a new handle the
 * caller closes with store_close().  On failure *out is NULL and the status
 * is CHAT_EINVAL (unknown scheme, bad URI) or CHAT_EDB (with the driver's
 * message in err). */
CHAT_MUST_CHECK int store_open(const char *uri, store_t **out, chat_error_t *err);

/* Whether this build has the backend uri names: CHAT_EINVAL, with err
 * naming the configure option, for a mongodb:// URI in a build without
 * MongoDB support (--without-mongo); CHAT_OK otherwise (store_open() checks the
 * rest).  The programs call it at start, so that such a configuration is
 * refused, not retried. */
CHAT_MUST_CHECK int store_uri_built(const char *uri, chat_error_t *err);

/* Closes a handle.  NULL-safe. */
void store_close(store_t *s);

/* The backend's name ("sqlite" or "mongodb").  s must not be NULL. */
const char *store_backend(const store_t *s);

/* Releases process-wide driver state (mongoc_cleanup).  Call once at exit,
 * after every handle is closed; no store may be opened afterwards. */
void store_global_cleanup(void);

/* A new id for a user or room: milliseconds since the epoch << 16 | 16
 * bits, random per process and then counting, so ids are > 0, increase
 * within a process and do not collide across processes in practice.
 * Thread-safe. */
int64_t store_new_id(void);

/* Checks a user or room name (len bytes, max STORE_*_NAME_MAX) against the
 * rules above.  Returns CHAT_OK or CHAT_EINVAL / CHAT_ETOOBIG / CHAT_EUTF8. */
CHAT_MUST_CHECK int store_check_name(const char *name, size_t len, size_t max);

/* Checks message text against the rules above; same codes. */
CHAT_MUST_CHECK int store_check_text(const char *text, size_t len);

/* Users.  store_user_add() inserts user id; name and password_hash are
 * NUL-terminated.  Adding the same id with the same name again returns CHAT_OK
 * and changes nothing (a retry); a name held by another id, or this id
 * with another name, is CHAT_EEXIST. */
CHAT_MUST_CHECK int store_user_add(store_t *s, int64_t id, const char *name,
				   const char *password_hash, int64_t created_ms,
				   chat_error_t *err);

/* Looks a user up; fills *out and returns CHAT_OK, or CHAT_ENOTFOUND. */
CHAT_MUST_CHECK int store_user_get(store_t *s, int64_t id, store_user_t *out, chat_error_t *err);
CHAT_MUST_CHECK int store_user_get_by_name(store_t *s, const char *name, store_user_t *out,
					   chat_error_t *err);

/* Up to n (1..STORE_PAGE_MAX) users with id > after_id (0: from the
 * first), in id order.  *out is replaced; on failure it is left empty. */
CHAT_MUST_CHECK int store_user_list(store_t *s, int64_t after_id, size_t n, store_user_list_t *out,
				    chat_error_t *err);

/* Replaces user id's password hash (NUL-terminated, the rules above).
 * 0, CHAT_ENOTFOUND (no such user), CHAT_EDB. */
CHAT_MUST_CHECK int store_user_set_password(store_t *s, int64_t id, const char *password_hash,
					    chat_error_t *err);

/* Deletes user id (the messages it wrote stay: history is kept, under the
 * writer's name).  Deleting an id the store does not hold returns CHAT_OK. */
CHAT_MUST_CHECK int store_user_delete(store_t *s, int64_t id, chat_error_t *err);

/* Frees the items and empties the list.  NULL-safe. */
void store_user_list_free(store_user_list_t *l);

/* Rooms: the same idempotency rules as users. */
CHAT_MUST_CHECK int store_room_add(store_t *s, int64_t id, const char *name, int64_t created_by,
				   int64_t created_ms, chat_error_t *err);
CHAT_MUST_CHECK int store_room_get(store_t *s, int64_t id, store_room_t *out, chat_error_t *err);
CHAT_MUST_CHECK int store_room_get_by_name(store_t *s, const char *name, store_room_t *out,
					   chat_error_t *err);

/* Up to n (1..STORE_PAGE_MAX) rooms with id > after_id (0: from the first),
 * in id order (creation order for store_new_id() ids).  *out is replaced;
 * on failure it is left empty. */
CHAT_MUST_CHECK int store_room_list(store_t *s, int64_t after_id, size_t n, store_room_list_t *out,
				    chat_error_t *err);

/* Deletes room id from the room list (its messages stay: history is
 * kept).  Deleting an id the store does not hold returns CHAT_OK, so a retry
 * is harmless. */
CHAT_MUST_CHECK int store_room_delete(store_t *s, int64_t id, chat_error_t *err);

/* Frees the items and empties the list.  NULL-safe. */
void store_room_list_free(store_room_list_t *l);

/* Inserts message m, idempotent by m->id: when the same message (every
 * field equal) is already stored, returns CHAT_OK and changes nothing (a retry).
 * When the id holds a different message (the id was reused), returns
 * CHAT_EEXIST with the detail in err and keeps the stored one.  *created
 * (may be NULL) is set to 1 when this call inserted it, 0 otherwise. */
CHAT_MUST_CHECK int store_msg_add(store_t *s, const store_msg_t *m, int *created,
				  chat_error_t *err);

/* The highest message id stored (0 when there is none) into *max_id, and
 * the highest N of the message writers named guest_prefix followed by
 * decimal digits (0 when none) into *max_guest, so that a new chat.db can
 * continue above both.  guest_prefix: 1..16 bytes, NUL-terminated, or
 * NULL to skip the guests (finding them reads every guest's messages;
 * the highest id is an index lookup). */
CHAT_MUST_CHECK int store_msg_max(store_t *s, const char *guest_prefix, int64_t *max_id,
				  int64_t *max_guest, chat_error_t *err);

/* Pages of one room's history, each returned oldest first in *out (replaced;
 * left empty on failure); n is 1..STORE_PAGE_MAX.
 *  latest: the newest n messages.
 *  before: the newest n messages with id < before_id (scrolling back).
 *  after:  the oldest n messages with id > after_id (resume after the last
 *          message seen; after_id 0 is from the beginning). */
CHAT_MUST_CHECK int store_msg_latest(store_t *s, int64_t room_id, size_t n, store_msg_list_t *out,
				     chat_error_t *err);
CHAT_MUST_CHECK int store_msg_before(store_t *s, int64_t room_id, int64_t before_id, size_t n,
				     store_msg_list_t *out, chat_error_t *err);
CHAT_MUST_CHECK int store_msg_after(store_t *s, int64_t room_id, int64_t after_id, size_t n,
				    store_msg_list_t *out, chat_error_t *err);

/* Frees the list's storage and empties it.  NULL-safe. */
void store_msg_list_free(store_msg_list_t *l);

/*
 * Backend interface (for db/store_*.c only).
 *
 * A backend's handle struct starts with a store_t; the dispatcher has
 * validated every argument (non-NULL, ids > 0, bounds) before a call.
 */
typedef enum store__page {
	STORE__LATEST,
	STORE__BEFORE,
	STORE__AFTER
} store__page_t;

typedef struct store__ops {
	const char *name;
	void (*close)(store_t *s);
	/* Returns CHAT_OK, CHAT_EEXIST or CHAT_EDB with the rules of store_user_add. */
	int (*user_add)(store_t *s, const store_user_t *u, chat_error_t *err);
	/* by_name NULL: look up by id; otherwise by name.  OK / ENOTFOUND / EDB. */
	int (*user_get)(store_t *s, int64_t id, const char *by_name, store_user_t *out,
			chat_error_t *err);
	/* out is empty with room for n items (out->items allocated). */
	int (*user_list)(store_t *s, int64_t after_id, size_t n, store_user_list_t *out,
			 chat_error_t *err);
	/* OK / ENOTFOUND / EDB. */
	int (*user_set_password)(store_t *s, int64_t id, const char *hash, chat_error_t *err);
	/* CHAT_OK (deleted, or no such user) or CHAT_EDB. */
	int (*user_delete)(store_t *s, int64_t id, chat_error_t *err);
	int (*room_add)(store_t *s, const store_room_t *r, chat_error_t *err);
	int (*room_get)(store_t *s, int64_t id, const char *by_name, store_room_t *out,
			chat_error_t *err);
	/* out is empty with room for n items (out->items allocated). */
	int (*room_list)(store_t *s, int64_t after_id, size_t n, store_room_list_t *out,
			 chat_error_t *err);
	/* CHAT_OK (deleted, or no such room) or CHAT_EDB. */
	int (*room_delete)(store_t *s, int64_t id, chat_error_t *err);
	/* CHAT_OK (inserted or an identical retry), CHAT_EEXIST (the id holds
	 * another message) or CHAT_EDB. */
	int (*msg_add)(store_t *s, const store_msg_t *m, int *created, chat_error_t *err);
	/* Both out-params set; see store_msg_max. */
	int (*msg_max)(store_t *s, const char *guest_prefix, int64_t *max_id, int64_t *max_guest,
		       chat_error_t *err);
	/* out is empty with room for n items; the backend appends with
	 * store__msg_list_push() in any order and says whether it produced
	 * them newest first (*newest_first = 1); the dispatcher then orders
	 * them oldest first. */
	int (*msg_page)(store_t *s, int64_t room_id, store__page_t page, int64_t ref_id, size_t n,
			store_msg_list_t *out, int *newest_first, chat_error_t *err);
} store__ops_t;

struct store {
	const store__ops_t *ops;
};

/* Appends a copy of m (writer and text copied into l->strings) to a list
 * prepared by the dispatcher.  0, CHAT_ETOOMANY when full, CHAT_ENOMEM. */
CHAT_MUST_CHECK int store__msg_list_push(store_msg_list_t *l, const store_msg_t *m);

/* What a backend's user_add or room_add returns when a unique index
 * (id or name) refused the new row: get_rc is what looking up the row
 * with the new id gave (0 with that row's name in old_name, which is not
 * read otherwise; CHAT_ENOTFOUND; or an error), name and id the new
 * row's, what "user" or "room".  Returns 0 when the stored row has the
 * same name (a retry), CHAT_EEXIST with the detail in err when the id or
 * the name belongs to another row, or else get_rc. */
CHAT_MUST_CHECK int store__add_conflict(int get_rc, const char *old_name, const char *name,
					const char *what, int64_t id, chat_error_t *err);

/* Backend constructors, called by store_open(). */
CHAT_MUST_CHECK int store__sqlite_open(const char *path, store_t **out, chat_error_t *err);
CHAT_MUST_CHECK int store__mongo_open(const char *uri, store_t **out, chat_error_t *err);
void store__mongo_global_cleanup(void);

#endif
