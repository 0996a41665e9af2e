/* dispatch_take.c - handing a session what it has: its batch, and for a
 * session that lags, its messages read from the outbox after its own
 * cursor until it catches up and rejoins the dispatcher, or falls behind
 * the retention window (see dispatch.h). */
#include "config.h"
#include "dispatch_int.h"

#include "log.h"
#include "stomp.h"

#include <stdio.h>

/* A session's batch buffer up to this size is kept between takes. */
#define BATCH_KEEP_BYTES 1024
#define BATCH_KEEP_ITEMS 8

typedef struct catchup {
	dispatch_t *d;
	dispatch_sess_t *s;
	json_strv_t *out;
	int64_t expect; /* the seq the next row should have */
	int behind;     /* rows it needed were pruned */
	int full;       /* out is full: the rest in the next take */
} catchup_t;

static int catchup_row(void *ctx, const outbox_row_t *row)
{
	catchup_t *c = ctx;
	int rc;

	if (row->seq > c->expect) {
		c->behind = 1;
		return CHAT_STOP;
	}
	c->expect = row->seq + 1;
	if (c->s->dl.closed)
		return 0;
	rc = delivery_apply(&c->s->dl, row, NULL, c->out);
	if (rc == CHAT_ETOOBIG || rc == CHAT_ETOOMANY) {
		if (c->out->n > 0) {
			c->full = 1;
			return CHAT_STOP; /* the rest in the next take */
		}
		dispatch__log_skipped(c->s, row->seq, rc);
		return 0;
	}
	if (rc == CHAT_EINVAL) {
		dispatch__log_skipped(c->s, row->seq, rc);
		return 0;
	}
	return rc;
}

/* Tells a session that fell behind the retention window, then closes it. */
static void fell_behind(dispatch_sess_t *s, json_strv_t *out)
{
	chat_buf_t f, enc;

	log_warn("session %s: fell behind the retention window at %lld: closing it",
		 LOG_SID(s->dl.key), (long long)s->cursor);
	chat_buf_init(&f, 4096);
	chat_buf_init(&enc, 4096 * 6);
	if (s->dl.kind == DELIVERY_STOMP && s->dl.connected &&
	    stomp_serialize_error(&f, s->dl.version, DISPATCH_ERROR_BEHIND, NULL, NULL, 0) ==
		    CHAT_OK) {
		if (!s->dl.framed)
			(void)json_strv_push(out, f.data, f.len);
		else if (json_encode_string(&enc, f.data, f.len) == CHAT_OK)
			(void)json_strv_push(out, enc.data, enc.len);
	}
	chat_buf_free(&f);
	chat_buf_free(&enc);
	s->dl.closed = 1;
	s->dl.close_code = DISPATCH_CLOSE_BEHIND;
	snprintf(s->dl.close_reason, sizeof(s->dl.close_reason), "%s", DISPATCH_REASON_BEHIND);
}

/* Feeds a lagging s from the outbox into out until out is full or s has
 * caught up (then it rejoins the dispatcher). */
static int catch_up(dispatch_t *d, dispatch_sess_t *s, chatdb_t *db, json_strv_t *out,
		    chat_error_t *err)
{
	catchup_t c = { d, s, out, s->cursor + 1, 0, 0 };
	int64_t last;
	int rc;

	for (;;) {
		size_t before = out->n;

		rc = outbox_read_after(db, s->cursor, OUTBOX_READ_MAX, catchup_row, &c, &last, err);
		if (rc != CHAT_OK)
			return rc;
		if (c.behind && last == s->cursor) {
			int64_t head = 0;

			/* Rows after the cursor are gone.  (The first seq of a
			 * new chat.db starts above old cursors only if the file
			 * was replaced: the session is gone then anyway.) */
			fell_behind(s, out);
			(void)outbox_last_seq(db, &head, NULL);
			s->cursor = head;
			break;
		}
		if (c.full && last == s->cursor)
			return CHAT_OK; /* out was full already */
		if (last == s->cursor && d->pos > s->cursor) {
			int64_t head = 0;

			/* Nothing after the cursor although the dispatcher saw
			 * rows there: they were pruned. */
			if (outbox_last_seq(db, &head, err) != CHAT_OK)
				return CHAT_EDB;
			if (head > s->cursor) {
				fell_behind(s, out);
				s->cursor = head;
			}
			break;
		}
		if (last == s->cursor)
			break; /* nothing more in the outbox: caught up */
		s->cursor = last;
		if (s->dl.closed || c.full || c.behind)
			return CHAT_OK;
		if (out->n > before && out->buf.len >= out->buf.max / 2)
			return CHAT_OK; /* enough for one response */
	}
	s->lagging = 0;
	s->skip_until = s->cursor;
	return CHAT_OK;
}

int dispatch_take(dispatch_t *d, dispatch_sess_t *s, chatdb_t *db, json_strv_t *out,
		  dispatch_end_t *end, chat_error_t *err)
{
	int rc = CHAT_OK;
	size_t i;

	pthread_mutex_lock(&d->lock);
	s->ready = 0;
	for (i = 0; i < s->batch.n && rc == CHAT_OK; i++) {
		chat_slice_t m = json_strv_at(&s->batch, i);

		rc = json_strv_push(out, m.ptr, m.len);
	}
	if (rc != CHAT_OK) {
		rc = chat_error_set(err, rc, "a batch does not fit the caller's buffer");
		goto out;
	}
	/* A small batch keeps its memory for the next; a large one (a burst)
	 * gives it back, so that an idle connection holds little. */
	if (s->batch.buf.cap <= BATCH_KEEP_BYTES && s->batch.cap <= BATCH_KEEP_ITEMS) {
		json_strv_reset(&s->batch);
	} else {
		json_strv_free(&s->batch);
		json_strv_init(&s->batch, s->max_bytes, s->max_items);
	}
	if (s->lagging && !s->dl.closed)
		rc = catch_up(d, s, db, out, err);
	if (rc == CHAT_OK && s->dl.npend > 0) {
		rc = chatdb__begin(db, err);
		if (rc == CHAT_OK)
			rc = delivery_flush_pending(db, &s->dl, err);
		if (rc == CHAT_OK)
			rc = chatdb__commit(db, err);
		else
			chatdb__rollback(db);
	}
	s->taken = dispatch__effective(d, s);
	if (s->lagging)
		s->ready = 1; /* more to read from the outbox once this is written */
out:
	if (end != NULL) {
		end->closed = s->dl.closed;
		end->code = s->dl.close_code;
		end->reason[0] = '\0';
		if (s->dl.closed)
			snprintf(end->reason, sizeof(end->reason), "%s", s->dl.close_reason);
	}
	if (rc != CHAT_OK && err != NULL && err->message[0] == '\0')
		chat_error_set(err, rc, "reading the outbox: %s", chat_strerror(rc));
	pthread_mutex_unlock(&d->lock);
	return rc;
}
