/* relay.c - chat rows and rooms from chat.db to the durable store (see
 * relay.h). */
#include "config.h"
#include "relay.h"

#include "delivery.h"

#include "chatapp.h"
#include "chatmsg.h"
#include "chatroom.h"
#include "counters.h"
#include "dm.h"
#include "log.h"

#include <stdatomic.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_LEASE[] =
	"INSERT INTO chat_leases(name, owner, until_ms) VALUES (?1, ?2, ?3 + ?4)"
	" ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms"
	" WHERE chat_leases.owner = excluded.owner OR chat_leases.until_ms <= ?3";
static const char SQL_LEASE_ALIVE[] = "SELECT 1 FROM chat_leases WHERE name = ?1 AND until_ms > ?2";
static const char SQL_LEASE_FREE[] = "DELETE FROM chat_leases WHERE name = ?1 AND owner = ?2";
/* AUTOINCREMENT takes the next seq above max(sqlite_sequence, max(seq)):
 * raising the sequence row raises every later seq. */
static const char SQL_SEQ_ROW[] =
	"INSERT INTO sqlite_sequence(name, seq) SELECT 'outbox', 0"
	" WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox')";
static const char SQL_SEQ_FLOOR[] =
	"UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'outbox' AND seq < ?1";
/* Only a sequence that never gave out a seq (0) takes the offline floor. */
static const char SQL_SEQ_FRESH_FLOOR[] =
	"UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'outbox' AND seq = 0"
	" AND NOT EXISTS (SELECT 1 FROM outbox)";

static const char SQL_SEQ_LAST[] =
	"SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'outbox'";

static atomic_llong conflicts;

int relay__register_in_tx(chatdb_t *db, int64_t seq, chat_error_t *err)
{
	return outbox_consumer_register(db, RELAY_CONSUMER, seq, err);
}

int relay_cursor(chatdb_t *db, int64_t *seq_out, chat_error_t *err)
{
	int rc = outbox_consumer_get(db, RELAY_CONSUMER, seq_out, err);

	if (rc == CHAT_ENOTFOUND) {
		*seq_out = 0;
		rc = CHAT_OK;
	}
	return rc;
}

int relay_lease(chatdb_t *db, const char *name, const char *owner, int64_t now_ms, int64_t ttl_ms,
		chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t changes;
	int rc = chatdb__stmt(db, SQL_LEASE, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_int64(st, 4, ttl_ms);
	rc = chatdb__step_changes(db, st, &changes, "lease", err);
	if (rc == CHAT_OK && changes == 0)
		rc = chat_error_set(err, CHAT_EBUSY, "lease %s is held", name);
	return rc;
}

int relay_lease_alive(chatdb_t *db, const char *name, int64_t now_ms, int *alive, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_LEASE_ALIVE, &st, err);

	*alive = 0;
	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	rc = chatdb__step_row(db, st, alive, "lease", err);
	sqlite3_reset(st);
	return rc;
}

int relay_lease_release(chatdb_t *db, const char *name, const char *owner, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, SQL_LEASE_FREE, &st, err);

	if (rc != CHAT_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	return chatdb__step_done(db, st, "lease", err);
}

int64_t relay_conflicts(void)
{
	return (int64_t)atomic_load(&conflicts);
}

static int exec_floor(chatdb_t *db, const char *sql, int64_t v, chat_error_t *err)
{
	sqlite3_stmt *st;
	int rc = chatdb__stmt(db, sql, &st, err);

	if (rc != CHAT_OK)
		return rc;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, v);
	return chatdb__step_done(db, st, "id floor", err);
}

/* Conversations read back from the store (dm.h). */
typedef struct dm_seeds {
	dm_seed_t *v;
	size_t n, cap;
} dm_seeds_t;

/* A store room to put into chat.db, and the room's highest room_seq in
 * the store when chat.db has none for it (0 otherwise). */
typedef struct seed_room {
	chatroom_t r;
	int64_t seq;
} seed_room_t;

/* Reads the store's rooms (at most CHATROOM_MAX) into *out (owned by the
 * caller, *n entries) with the room_seq floors chat.db lacks, and, when
 * dms is not NULL, the conversations' latest messages (dm_seed_read()). */
static int read_rooms(chatdb_t *db, store_t *s, seed_room_t **out, size_t *n, dm_seeds_t *dms,
		      chat_error_t *err)
{
	store_room_list_t page = { 0 };
	store_msg_list_t last = { 0 };
	seed_room_t *v = calloc(CHATROOM_MAX, sizeof(*v));
	int64_t after = 0;
	int rc = v == NULL ? chat_error_set(err, CHAT_ENOMEM, "out of memory") : CHAT_OK;

	*n = 0;
	while (rc == CHAT_OK && *n < CHATROOM_MAX) {
		rc = store_room_list(s, after, STORE_PAGE_MAX, &page, err);
		for (size_t i = 0; rc == CHAT_OK && i < page.count && *n < CHATROOM_MAX; i++) {
			seed_room_t *x = &v[*n];
			int known = 1, is_dm = 0;

			after = page.items[i].id;
			/* A conversation's (not a room id: skipped below otherwise). */
			if (dms != NULL &&
			    ((rc = dm_seed_read(s, &page.items[i], &dms->v, &dms->n, &dms->cap,
						&is_dm, err)) != CHAT_OK ||
			     is_dm))
				continue;
			if (!chatmsg_room_valid((chat_slice_t){ page.items[i].name,
								strlen(page.items[i].name) }))
				continue; /* no destination can name it */
			snprintf(x->r.name, sizeof(x->r.name), "%.*s", CHATMSG_ROOM_MAX,
				 page.items[i].name);
			x->r.id = page.items[i].id;
			x->r.created_ms = page.items[i].created_ms;
			rc = chatapp_room_seq_known(db, x->r.name, &known, err);
			if (rc == CHAT_OK && !known)
				rc = store_msg_latest(s, x->r.id, 1, &last, err);
			if (rc == CHAT_OK && !known && last.count == 1)
				x->seq = last.items[0].room_seq;
			(*n)++;
		}
		if (rc != CHAT_OK || page.count < STORE_PAGE_MAX)
			break;
	}
	store_room_list_free(&page);
	store_msg_list_free(&last);
	*out = v;
	return rc;
}

static int write_room(chatdb_t *db, const seed_room_t *x, chat_error_t *err)
{
	int rc = chatroom_import(db, &x->r, err);

	if (rc != CHAT_OK || x->seq <= 0)
		return rc;
	return chatapp_room_seq_floor(db, x->r.name, x->seq, err);
}

/* *behind = 1 when chat.db's outbox seq is below max_id or it has issued
 * no guest name yet. */
static int behind_store(chatdb_t *db, int64_t max_id, int *behind, chat_error_t *err)
{
	sqlite3_stmt *st;
	int64_t guest = 0;
	int guests = 0, row;
	int rc = chatdb__stmt(db, SQL_SEQ_LAST, &st, err);

	if (rc != CHAT_OK)
		return rc;
	/* An aggregate: it always gives its one row. */
	if ((rc = chatdb__step_row(db, st, &row, "outbox seq", err)) == CHAT_OK)
		*behind = row && sqlite3_column_int64(st, 0) < max_id;
	sqlite3_reset(st);
	if (rc == CHAT_OK)
		rc = counters_get(db, COUNTERS_GUEST, &guest, &guests, err);
	if (rc == CHAT_OK && !guests)
		*behind = 1;
	return rc;
}

int relay_seed(chatdb_t *db, store_t *s, int64_t *floor_out, chat_error_t *err)
{
	seed_room_t *rooms = NULL;
	dm_seeds_t dms = { NULL, 0, 0 };
	int64_t max_id = 0, max_guest = 0;
	size_t n = 0;
	int rc, behind = 1;

	if (floor_out != NULL)
		*floor_out = 0;
	/* Read the store before taking chat.db's write lock: a slow store
	 * must not hold up every poster. */
	rc = store_msg_max(s, NULL, &max_id, &max_guest, err);
	if (rc == CHAT_OK)
		rc = behind_store(db, max_id, &behind, err);
	/* Guest names are read from the whole history only when chat.db may
	 * not have issued them itself: it is new or behind the store. */
	if (rc == CHAT_OK && behind)
		rc = store_msg_max(s, CHATMSG_GUEST_PREFIX, &max_id, &max_guest, err);
	if (rc == CHAT_OK)
		rc = read_rooms(db, s, &rooms, &n, behind ? &dms : NULL, err);
	if (rc == CHAT_OK)
		rc = chatdb__begin(db, err);
	if (rc != CHAT_OK)
		goto out;
	if ((rc = exec_floor(db, SQL_SEQ_ROW, 0, err)) == CHAT_OK &&
	    (rc = exec_floor(db, SQL_SEQ_FLOOR, max_id, err)) == CHAT_OK)
		rc = counters_raise(db, COUNTERS_GUEST, max_guest, err);
	for (size_t i = 0; i < n && rc == CHAT_OK; i++)
		rc = write_room(db, &rooms[i], err);
	if (rc == CHAT_OK)
		rc = dm__seed_in_tx(db, dms.v, dms.n, err);
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc == CHAT_OK && floor_out != NULL)
		*floor_out = max_id;
out:
	free(rooms);
	dm_seed_free(dms.v, dms.n);
	return rc;
}

int relay_seed_offline(chatdb_t *db, int64_t now_ms, int *applied, chat_error_t *err)
{
	int64_t floor = now_ms * RELAY_OFFLINE_IDS_PER_MS;
	int rc, fresh = 0;

	if (applied != NULL)
		*applied = 0;
	rc = chatdb__begin(db, err);
	if (rc != CHAT_OK)
		return rc;
	/* Under the write lock: no other process gives out a seq meanwhile. */
	rc = behind_store(db, 1, &fresh, err);
	if (rc == CHAT_OK && fresh)
		rc = exec_floor(db, SQL_SEQ_ROW, 0, err);
	if (rc == CHAT_OK && fresh)
		rc = exec_floor(db, SQL_SEQ_FRESH_FLOOR, floor, err);
	fresh = fresh && sqlite3_changes(chatdb_sqlite(db)) > 0;
	if (rc == CHAT_OK && fresh)
		rc = counters_init(db, COUNTERS_GUEST, now_ms, err);
	if (rc == CHAT_OK)
		rc = chatdb__commit(db, err);
	else
		chatdb__rollback(db);
	if (rc == CHAT_OK && applied != NULL)
		*applied = fresh;
	return rc;
}

int relay_seed_uri(chatdb_t *db, const char *uri, int64_t now_ms, chat_error_t *err)
{
	chat_error_t e = { 0 };
	store_t *s = NULL;
	int rc = store_open(uri, &s, &e), applied = 0;

	if (rc == CHAT_OK)
		rc = relay_seed(db, s, NULL, &e);
	store_close(s);
	if (rc == CHAT_OK)
		return rc;
	log_warn("relay: cannot continue ids above the store's yet (%s);"
		 " retrying when the store is back",
		 chat_error_reason(&e, rc));
	if (err != NULL)
		*err = e;
	if (rc == CHAT_EDB && relay_seed_offline(db, now_ms, &applied, NULL) == CHAT_OK && applied)
		log_warn("relay: a new chat.db without its store: ids start above %lld",
			 (long long)(now_ms * RELAY_OFFLINE_IDS_PER_MS));
	return rc;
}

int relay_parse_row(const outbox_row_t *row, store_msg_t *m, chat_buf_t *room, chat_buf_t *writer,
		    chat_buf_t *text, int *is_msg)
{
	chatrow_msg_t c;
	chat_slice_t r, origin;
	int rc;

	*is_msg = 0;
	if (row->target_session.ptr != NULL || !chatroom_of_topic(row->destination, &r) ||
	    !chatrow_is_msg(row->headers))
		return CHAT_OK;
	if ((rc = chatrow_parse(row->body, &c, room, writer, text)) != CHAT_OK)
		return rc;
	/* A cluster's posts carry ids of their own (db/cluster.h). */
	if (c.id != row->seq && !chatrow_hdr_get(row->headers, CHATROW_H_ORIGIN, &origin))
		return CHAT_EINVAL;
	m->id = c.id;
	m->room_seq = c.room_seq;
	m->time_ms = c.time_ms;
	m->room_id = 0;
	m->writer = writer->data;
	m->text = text->data;
	m->text_len = text->len;
	*is_msg = 1;
	return CHAT_OK;
}

/* A chat row read in one pass, copied out of SQLite's memory. */
typedef struct pending {
	int64_t seq;
	int is_msg;
	store_msg_t m;
	char room[CHATMSG_ROOM_MAX + 1];
	char *writer;
	char *text;
} pending_t;

typedef struct pass {
	pending_t *rows;
	size_t n;
	chat_buf_t room, writer, text;
} pass_t;

static int take_row(void *ctx, const outbox_row_t *row)
{
	pass_t *p = ctx;
	pending_t *r = &p->rows[p->n];
	int is_msg;

	memset(r, 0, sizeof(*r));
	r->seq = row->seq;
	/* A broken chat row (an error) cannot be stored: it is skipped. */
	if (relay_parse_row(row, &r->m, &p->room, &p->writer, &p->text, &is_msg) == CHAT_OK &&
	    is_msg) {
		r->is_msg = 1;
		snprintf(r->room, sizeof(r->room), "%s", p->room.data);
		r->writer = strdup(p->writer.data);
		r->text = malloc(p->text.len + 1);
		if (r->writer == NULL || r->text == NULL) {
			free(r->writer);
			free(r->text);
			return CHAT_ENOMEM;
		}
		memcpy(r->text, p->text.data, p->text.len + 1);
		r->m.writer = r->writer;
		r->m.text = r->text;
	}
	p->n++;
	return CHAT_OK;
}

typedef struct rooms {
	chatroom_t *r;
	size_t n, cap;
} rooms_t;

static int snap_room(void *ctx, const chatroom_t *r)
{
	rooms_t *l = ctx;

	if (l->n == l->cap)
		return CHAT_STOP; /* the rest next pass */
	l->r[l->n++] = *r;
	return CHAT_OK;
}

/* Copies rooms the store does not have yet, and deletes there the rooms
 * deleted since (a few per pass). */
static int copy_rooms(chatdb_t *db, store_t *s, chat_error_t *err)
{
	rooms_t l = { NULL, 0, 32 };
	int rc;

	l.r = calloc(l.cap, sizeof(*l.r));
	if (l.r == NULL)
		return chat_error_set(err, CHAT_ENOMEM, "out of memory");
	rc = chatroom_list(db, 1, snap_room, &l, err);
	for (size_t i = 0; i < l.n && rc == CHAT_OK; i++) {
		rc = l.r[i].deleted_ms > 0
			     ? store_room_delete(s, l.r[i].id, err)
			     : store_room_add(s, l.r[i].id, l.r[i].name, 0, l.r[i].created_ms, err);
		/* EEXIST: the store holds that name under another id (a new
		 * chat.db next to an old store): nothing to copy. */
		if (rc == CHAT_EEXIST)
			rc = CHAT_OK;
		if (rc == CHAT_OK)
			rc = chatroom_set_stored(db, l.r[i].id, err);
	}
	free(l.r);
	return rc;
}

/* Copies chat row r to the store.  A reused id, or a row the store refuses
 * as invalid, is passed (CHAT_OK) so that the relay goes on. */
static int store_one(store_t *s, const pending_t *r, chat_error_t *err)
{
	chat_error_t e = { 0 };
	int rc = store_msg_add(s, &r->m, NULL, &e);

	if (rc == CHAT_EEXIST) {
		/* A reused id: this row can never be stored under it.  Loud,
		 * counted, and passed. */
		atomic_fetch_add(&conflicts, 1);
		log_error("relay: message %lld in room %s is NOT in the history: %s",
			  (long long)r->seq, r->room, chat_error_reason(&e, rc));
		rc = CHAT_OK;
	} else if (rc != CHAT_OK && err != NULL) {
		*err = e;
	}
	/* A row the store refuses as invalid would block the relay for ever:
	 * it is skipped (the store's checks match the broker's, so this does
	 * not happen in practice). */
	if (rc == CHAT_EINVAL || rc == CHAT_ETOOBIG || rc == CHAT_EUTF8)
		rc = CHAT_OK;
	return rc;
}

int relay_run(chatdb_t *db, store_t *s, const char *owner, int64_t now_ms, int64_t *copied_out,
	      int *more_out, chat_error_t *err)
{
	pass_t p;
	chatroom_t room;
	int64_t cursor, last = 0, done = 0;
	size_t i;
	int rc, have_room = 0;

	if (copied_out != NULL)
		*copied_out = 0;
	if (more_out != NULL)
		*more_out = 0;
	memset(&p, 0, sizeof(p));
	rc = relay_lease(db, RELAY_LEASE, owner, now_ms, RELAY_LEASE_MS, err);
	if (rc != CHAT_OK)
		return rc;
	chat_buf_init(&p.room, CHATMSG_ROOM_MAX);
	chat_buf_init(&p.writer, SESSION_USER_MAX);
	chat_buf_init(&p.text, CHATMSG_TEXT_MAX);
	if ((rc = copy_rooms(db, s, err)) != CHAT_OK || (rc = dm_relay(db, s, err)) != CHAT_OK)
		goto out;
	if ((rc = outbox_consumer_get(db, RELAY_CONSUMER, &cursor, err)) != CHAT_OK) {
		if (rc == CHAT_ENOTFOUND)
			rc = CHAT_OK; /* nothing was ever posted */
		goto out;
	}
	p.rows = calloc(RELAY_BATCH, sizeof(*p.rows));
	if (p.rows == NULL) {
		rc = chat_error_set(err, CHAT_ENOMEM, "out of memory");
		goto out;
	}
	rc = outbox_read_after(db, cursor, RELAY_BATCH, take_row, &p, &last, err);
	if (rc != CHAT_OK)
		goto out;
	for (i = 0; i < p.n; i++) {
		pending_t *r = &p.rows[i];

		if (r->is_msg) {
			if (!have_room || strcmp(room.name, r->room) != 0) {
				/* A room deleted after the post: its history is kept. */
				rc = chatroom_get_any(db, r->room, &room, err);
				have_room = rc == CHAT_OK;
				if (rc == CHAT_ENOTFOUND) {
					rc = CHAT_OK; /* cannot happen: room rows stay */
					done = r->seq;
					continue;
				}
				if (rc != CHAT_OK)
					break;
			}
			r->m.room_id = room.id;
			rc = store_one(s, r, err);
			if (rc != CHAT_OK)
				break;
		}
		done = r->seq;
	}
	if (done > cursor) {
		/* What was copied stays copied even when the store failed later. */
		int rc2 = outbox_consumer_advance(db, RELAY_CONSUMER, done,
						  rc == CHAT_OK ? err : NULL);

		if (rc == CHAT_OK)
			rc = rc2;
		if (copied_out != NULL)
			*copied_out = (int64_t)i;
	}
	if (rc == CHAT_OK && more_out != NULL)
		*more_out = p.n == RELAY_BATCH;
out:
	for (i = 0; p.rows != NULL && i < p.n; i++) {
		free(p.rows[i].writer);
		free(p.rows[i].text);
	}
	free(p.rows);
	chat_buf_free(&p.room);
	chat_buf_free(&p.writer);
	chat_buf_free(&p.text);
	return rc;
}
