/*
 * store.c - the durable store's dispatcher: picks a backend from the URI,
 * validates every argument once (so both backends see the same clean
 * input), and owns the result lists.  The backends are store_sqlite.c and
 * store_mongo.c (built --with-mongo, HAVE_MONGO).
 */
#include "config.h"
#include "store.h"

#include "clock.h"
#include "utf8.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Bytes one message may occupy in a list's string storage. */
#define MSG_STRINGS_MAX (STORE_USER_NAME_MAX + 1 + STORE_TEXT_MAX + 1)

static int is_mongo_uri(const char *uri)
{
	return strncmp(uri, "mongodb://", 10) == 0 || strncmp(uri, "mongodb+srv://", 14) == 0;
}

int store_uri_built(const char *uri, chat_error_t *err)
{
#ifndef HAVE_MONGO
	if (uri != NULL && is_mongo_uri(uri))
		return chat_error_set(
			err, CHAT_EINVAL,
			"store_uri is a mongodb:// URI, but this build has no MongoDB support"
			" (configure --with-mongo, which needs libmongoc-dev)");
#endif
	return CHAT_OK;
}

int store_open(const char *uri, store_t **out, chat_error_t *err)
{
	static const char sqlite_scheme[] = "sqlite:";

	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "store_open: out is NULL");
	*out = NULL;
	if (uri == NULL)
		return chat_error_set(err, CHAT_EINVAL, "store_open: no URI");
	if (strncmp(uri, sqlite_scheme, sizeof(sqlite_scheme) - 1) == 0) {
		const char *path = uri + sizeof(sqlite_scheme) - 1;

		if (*path == '\0')
			return chat_error_set(err, CHAT_EINVAL,
					      "store URI \"sqlite:\" needs a file path");
		return store__sqlite_open(path, out, err);
	}
	if (is_mongo_uri(uri))
#ifdef HAVE_MONGO
		return store__mongo_open(uri, out, err);
#else
		return store_uri_built(uri, err);
#endif
	return chat_error_set(err, CHAT_EINVAL, "store URI must start with sqlite: or mongodb://");
}

void store_close(store_t *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *store_backend(const store_t *s)
{
	return s->ops->name;
}

void store_global_cleanup(void)
{
#ifdef HAVE_MONGO
	store__mongo_global_cleanup();
#endif
}

int64_t store_new_id(void)
{
	static _Atomic int64_t last;
	int64_t prev, next;
	uint16_t rnd;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint16_t)(getpid() ^ chat_wall_ms());
	prev = atomic_load(&last);
	do {
		next = (chat_wall_ms() << 16) | rnd;
		/* Monotonic within the process, even if the clock steps back
		 * or many ids are taken in one millisecond. */
		if (next <= prev)
			next = prev + 1;
	} while (!atomic_compare_exchange_weak(&last, &prev, next));
	return next;
}

/* Walks len bytes of UTF-8; returns CHAT_OK, CHAT_EUTF8, or CHAT_EINVAL when a
 * code point is rejected by the mode (1: names, 0: text). */
static int utf8_walk(const char *s, size_t len, int names)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t cp;
	int rc = CHAT_OK;

	while (i < len) {
		k = utf8_decode(p + i, len - i, &cp);
		if (k == 0)
			return CHAT_EUTF8;
		if (cp == 0)
			rc = CHAT_EINVAL;
		else if (names && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)))
			rc = CHAT_EINVAL;
		i += k;
	}
	return rc;
}

int store_check_name(const char *name, size_t len, size_t max)
{
	if (name == NULL || len == 0)
		return CHAT_EINVAL;
	if (len > max)
		return CHAT_ETOOBIG;
	if (name[0] == ' ' || name[len - 1] == ' ')
		return CHAT_EINVAL;
	return utf8_walk(name, len, 1);
}

int store_check_text(const char *text, size_t len)
{
	if (text == NULL || len == 0)
		return CHAT_EINVAL;
	if (len > STORE_TEXT_MAX)
		return CHAT_ETOOBIG;
	return utf8_walk(text, len, 0);
}

/* Length of s, looking at no more than max + 1 bytes (so an overlong
 * string is seen as max + 1 without reading all of it). */
static size_t bounded_len(const char *s, size_t max)
{
	const char *nul = memchr(s, '\0', max + 1);

	return nul != NULL ? (size_t)(nul - s) : max + 1;
}

static int check_name_arg(const char *what, const char *name, size_t max, chat_error_t *err)
{
	int rc;

	if (name == NULL)
		return chat_error_set(err, CHAT_EINVAL, "%s is missing", what);
	rc = store_check_name(name, bounded_len(name, max), max);
	if (rc == CHAT_ETOOBIG)
		return chat_error_set(err, rc, "%s is longer than %zu bytes", what, max);
	if (rc == CHAT_EUTF8)
		return chat_error_set(err, rc, "%s is not valid UTF-8", what);
	if (rc != CHAT_OK)
		return chat_error_set(err, rc,
				      "%s must be non-empty, without control characters or "
				      "leading/trailing spaces",
				      what);
	return CHAT_OK;
}

static int check_hash_arg(const char *hash, chat_error_t *err)
{
	size_t i, len;

	if (hash == NULL)
		return chat_error_set(err, CHAT_EINVAL, "password hash is missing");
	len = bounded_len(hash, STORE_PASSWORD_HASH_MAX);
	if (len > STORE_PASSWORD_HASH_MAX)
		return chat_error_set(err, CHAT_ETOOBIG, "password hash is longer than %d bytes",
				      STORE_PASSWORD_HASH_MAX);
	if (len == 0)
		return chat_error_set(err, CHAT_EINVAL, "password hash is empty");
	for (i = 0; i < len; i++) {
		if (hash[i] < 0x21 || hash[i] > 0x7e)
			return chat_error_set(err, CHAT_EINVAL,
					      "password hash must be printable ASCII");
	}
	return CHAT_OK;
}

static int check_handle(store_t *s, chat_error_t *err)
{
	if (s == NULL)
		return chat_error_set(err, CHAT_EINVAL, "store handle is NULL");
	return CHAT_OK;
}

static int check_id(const char *what, int64_t id, chat_error_t *err)
{
	if (id <= 0)
		return chat_error_set(err, CHAT_EINVAL, "%s must be > 0", what);
	return CHAT_OK;
}

static int check_n(size_t n, chat_error_t *err)
{
	if (n == 0)
		return chat_error_set(err, CHAT_EINVAL, "page size must be >= 1");
	if (n > STORE_PAGE_MAX)
		return chat_error_set(err, CHAT_ETOOMANY, "page size must be <= %d",
				      STORE_PAGE_MAX);
	return CHAT_OK;
}

int store_user_add(store_t *s, int64_t id, const char *name, const char *password_hash,
		   int64_t created_ms, chat_error_t *err)
{
	store_user_t u;
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_id("user id", id, err)) != 0 ||
	    (rc = check_name_arg("user name", name, STORE_USER_NAME_MAX, err)) != 0 ||
	    (rc = check_hash_arg(password_hash, err)) != CHAT_OK)
		return rc;
	memset(&u, 0, sizeof(u));
	u.id = id;
	memcpy(u.name, name, strlen(name) + 1);
	memcpy(u.password_hash, password_hash, strlen(password_hash) + 1);
	u.created_ms = created_ms;
	return s->ops->user_add(s, &u, err);
}

int store_user_get(store_t *s, int64_t id, store_user_t *out, chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_id("user id", id, err)) != CHAT_OK)
		return rc;
	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "out is NULL");
	return s->ops->user_get(s, id, NULL, out, err);
}

int store_user_get_by_name(store_t *s, const char *name, store_user_t *out, chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 ||
	    (rc = check_name_arg("user name", name, STORE_USER_NAME_MAX, err)) != CHAT_OK)
		return rc;
	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "out is NULL");
	return s->ops->user_get(s, 0, name, out, err);
}

int store_room_add(store_t *s, int64_t id, const char *name, int64_t created_by, int64_t created_ms,
		   chat_error_t *err)
{
	store_room_t r;
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_id("room id", id, err)) != 0 ||
	    (rc = check_name_arg("room name", name, STORE_ROOM_NAME_MAX, err)) != CHAT_OK)
		return rc;
	memset(&r, 0, sizeof(r));
	r.id = id;
	memcpy(r.name, name, strlen(name) + 1);
	r.created_by = created_by;
	r.created_ms = created_ms;
	return s->ops->room_add(s, &r, err);
}

int store_room_get(store_t *s, int64_t id, store_room_t *out, chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_id("room id", id, err)) != CHAT_OK)
		return rc;
	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "out is NULL");
	return s->ops->room_get(s, id, NULL, out, err);
}

int store_room_get_by_name(store_t *s, const char *name, store_room_t *out, chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 ||
	    (rc = check_name_arg("room name", name, STORE_ROOM_NAME_MAX, err)) != CHAT_OK)
		return rc;
	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "out is NULL");
	return s->ops->room_get(s, 0, name, out, err);
}

/* The checks and allocation shared by the list calls: room for n items of
 * size bytes in *items. */
static int list_prepare(store_t *s, int64_t after_id, size_t n, size_t size, void **items,
			chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_n(n, err)) != CHAT_OK)
		return rc;
	if (after_id < 0)
		return chat_error_set(err, CHAT_EINVAL, "after_id must be >= 0");
	*items = calloc(n, size);
	if (*items == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	return CHAT_OK;
}

int store_room_list(store_t *s, int64_t after_id, size_t n, store_room_list_t *out,
		    chat_error_t *err)
{
	void *items = NULL;
	int rc;

	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "out is NULL");
	store_room_list_free(out);
	if ((rc = list_prepare(s, after_id, n, sizeof(*out->items), &items, err)) != CHAT_OK)
		return rc;
	out->items = items;
	rc = s->ops->room_list(s, after_id, n, out, err);
	if (rc != CHAT_OK || out->count == 0)
		store_room_list_free(out);
	return rc;
}

int store_user_list(store_t *s, int64_t after_id, size_t n, store_user_list_t *out,
		    chat_error_t *err)
{
	void *items = NULL;
	int rc;

	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "out is NULL");
	store_user_list_free(out);
	if ((rc = list_prepare(s, after_id, n, sizeof(*out->items), &items, err)) != CHAT_OK)
		return rc;
	out->items = items;
	rc = s->ops->user_list(s, after_id, n, out, err);
	if (rc != CHAT_OK || out->count == 0)
		store_user_list_free(out);
	return rc;
}

void store_user_list_free(store_user_list_t *l)
{
	if (l == NULL)
		return;
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

int store_user_set_password(store_t *s, int64_t id, const char *password_hash, chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_id("user id", id, err)) != 0 ||
	    (rc = check_hash_arg(password_hash, err)) != CHAT_OK)
		return rc;
	return s->ops->user_set_password(s, id, password_hash, err);
}

int store_user_delete(store_t *s, int64_t id, chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_id("user id", id, err)) != CHAT_OK)
		return rc;
	return s->ops->user_delete(s, id, err);
}

int store_room_delete(store_t *s, int64_t id, chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != 0 || (rc = check_id("room id", id, err)) != CHAT_OK)
		return rc;
	return s->ops->room_delete(s, id, err);
}

void store_room_list_free(store_room_list_t *l)
{
	if (l == NULL)
		return;
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

int store_msg_add(store_t *s, const store_msg_t *m, int *created, chat_error_t *err)
{
	int rc, dummy;

	if (created == NULL)
		created = &dummy;
	*created = 0;
	if ((rc = check_handle(s, err)) != CHAT_OK)
		return rc;
	if (m == NULL)
		return chat_error_set(err, CHAT_EINVAL, "message is NULL");
	if ((rc = check_id("message id", m->id, err)) != 0 ||
	    (rc = check_id("room id", m->room_id, err)) != 0 ||
	    (rc = check_name_arg("writer", m->writer, STORE_USER_NAME_MAX, err)) != CHAT_OK)
		return rc;
	if (m->room_seq < 0)
		return chat_error_set(err, CHAT_EINVAL, "room_seq must be >= 0");
	rc = store_check_text(m->text, m->text_len);
	if (rc == CHAT_ETOOBIG)
		return chat_error_set(err, rc, "message text is longer than %d bytes",
				      STORE_TEXT_MAX);
	if (rc == CHAT_EUTF8)
		return chat_error_set(err, rc, "message text is not valid UTF-8");
	if (rc != CHAT_OK)
		return chat_error_set(err, rc, "message text is empty or holds NUL");
	return s->ops->msg_add(s, m, created, err);
}

int store__add_conflict(int get_rc, const char *old_name, const char *name, const char *what,
			int64_t id, chat_error_t *err)
{
	if (get_rc == CHAT_OK && strcmp(old_name, name) == 0)
		return CHAT_OK;
	if (get_rc == CHAT_OK)
		return chat_error_set(err, CHAT_EEXIST, "%s id %lld exists with another name", what,
				      (long long)id);
	if (get_rc == CHAT_ENOTFOUND)
		return chat_error_set(err, CHAT_EEXIST, "%s name is taken (id %lld is free)", what,
				      (long long)id);
	return get_rc;
}

int store__msg_list_push(store_msg_list_t *l, const store_msg_t *m)
{
	size_t wlen = strlen(m->writer);
	int rc;

	if (wlen > STORE_USER_NAME_MAX || m->text_len > STORE_TEXT_MAX)
		return CHAT_ETOOBIG;
	/* The pointers are set by msg_list_finish() once the storage stops
	 * moving; here the strings are only packed: writer NUL text NUL. */
	if ((rc = chat_buf_append(&l->strings, m->writer, wlen + 1)) != 0 ||
	    (rc = chat_buf_append(&l->strings, m->text, m->text_len)) != 0 ||
	    (rc = chat_buf_putc(&l->strings, '\0')) != CHAT_OK)
		return rc;
	l->items[l->count] = *m;
	l->items[l->count].writer = NULL;
	l->items[l->count].text = NULL;
	l->count++;
	return CHAT_OK;
}

/* Points each item at its packed strings and puts the list oldest first. */
static void msg_list_finish(store_msg_list_t *l, int newest_first)
{
	const char *p = l->strings.data;
	size_t i;

	for (i = 0; i < l->count; i++) {
		l->items[i].writer = p;
		p += strlen(p) + 1;
		l->items[i].text = p;
		p += l->items[i].text_len + 1;
	}
	if (newest_first) {
		for (i = 0; i < l->count / 2; i++) {
			store_msg_t t = l->items[i];

			l->items[i] = l->items[l->count - 1 - i];
			l->items[l->count - 1 - i] = t;
		}
	}
}

static int msg_page(store_t *s, int64_t room_id, store__page_t page, int64_t ref_id, size_t n,
		    store_msg_list_t *out, chat_error_t *err)
{
	int rc, newest_first = 0;

	if (out == NULL)
		return chat_error_set(err, CHAT_EINVAL, "out is NULL");
	store_msg_list_free(out);
	if ((rc = check_handle(s, err)) != 0 || (rc = check_n(n, err)) != 0 ||
	    (rc = check_id("room id", room_id, err)) != CHAT_OK)
		return rc;
	if (page == STORE__BEFORE && ref_id <= 0)
		return chat_error_set(err, CHAT_EINVAL, "before_id must be > 0");
	if (page == STORE__AFTER && ref_id < 0)
		return chat_error_set(err, CHAT_EINVAL, "after_id must be >= 0");
	out->items = calloc(n, sizeof(*out->items));
	if (out->items == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	chat_buf_init(&out->strings, n * MSG_STRINGS_MAX);
	rc = s->ops->msg_page(s, room_id, page, ref_id, n, out, &newest_first, err);
	if (rc == CHAT_OK && out->count > 0)
		msg_list_finish(out, newest_first);
	else
		store_msg_list_free(out);
	return rc;
}

int store_msg_max(store_t *s, const char *guest_prefix, int64_t *max_id, int64_t *max_guest,
		  chat_error_t *err)
{
	int rc;

	if ((rc = check_handle(s, err)) != CHAT_OK)
		return rc;
	if (max_id == NULL || max_guest == NULL)
		return chat_error_set(err, CHAT_EINVAL, "store_msg_max: out is NULL");
	*max_id = 0;
	*max_guest = 0;
	if (guest_prefix != NULL &&
	    (rc = check_name_arg("guest prefix", guest_prefix, 16, err)) != CHAT_OK)
		return rc;
	return s->ops->msg_max(s, guest_prefix, max_id, max_guest, err);
}

int store_msg_latest(store_t *s, int64_t room_id, size_t n, store_msg_list_t *out,
		     chat_error_t *err)
{
	return msg_page(s, room_id, STORE__LATEST, 0, n, out, err);
}

int store_msg_before(store_t *s, int64_t room_id, int64_t before_id, size_t n,
		     store_msg_list_t *out, chat_error_t *err)
{
	return msg_page(s, room_id, STORE__BEFORE, before_id, n, out, err);
}

int store_msg_after(store_t *s, int64_t room_id, int64_t after_id, size_t n, store_msg_list_t *out,
		    chat_error_t *err)
{
	return msg_page(s, room_id, STORE__AFTER, after_id, n, out, err);
}

void store_msg_list_free(store_msg_list_t *l)
{
	if (l == NULL)
		return;
	free(l->items);
	l->items = NULL;
	l->count = 0;
	chat_buf_free(&l->strings);
	chat_buf_init(&l->strings, 0);
}
