/*
 * chatapp_history.c - the chat application's history: the room's messages
 * a history or resume subscription answers with, read from the durable
 * store before the frame's transaction and completed from the outbox
 * inside it, and their replies.
 */
#include "config.h"
#include "broker_int.h"

#include "sockjs.h"

static const char SQL_OUTBOX_MIN[] = "SELECT coalesce(min(seq), 0) FROM outbox";

void chatapp__hlist_free(hlist_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].writer);
		free(l->v[i].text);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int hlist_push(hlist_t *l, const store_msg_t *m)
{
	hmsg_t *h;

	if (chat_array_reserve((void **)&l->v, &l->cap, l->n, sizeof(*l->v), 64, 0) != CHAT_OK)
		return CHAT_ENOMEM;
	h = &l->v[l->n];
	h->id = m->id;
	h->room_seq = m->room_seq;
	h->time_ms = m->time_ms;
	h->text_len = m->text_len;
	h->writer = strdup(m->writer);
	h->text = malloc(m->text_len + 1);
	if (h->writer == NULL || h->text == NULL) {
		free(h->writer);
		free(h->text);
		return CHAT_ENOMEM;
	}
	memcpy(h->text, m->text, m->text_len);
	h->text[m->text_len] = '\0';
	l->n++;
	return CHAT_OK;
}

static int by_id(const void *a, const void *b)
{
	const hmsg_t *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts by id, drops duplicates (a message both in the store and still in
 * the outbox) and what is not in (lo, hi), then keeps the newest keep. */
static void hlist_settle(hlist_t *l, int64_t lo, int64_t hi, size_t keep)
{
	size_t i, n = 0, drop;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), by_id);
	for (i = 0; i < l->n; i++) {
		if (l->v[i].id <= lo || l->v[i].id >= hi ||
		    (n > 0 && l->v[n - 1].id == l->v[i].id)) {
			free(l->v[i].writer);
			free(l->v[i].text);
			continue;
		}
		l->v[n++] = l->v[i];
	}
	l->n = n;
	if (n > keep) {
		drop = n - keep;
		for (i = 0; i < drop; i++) {
			free(l->v[i].writer);
			free(l->v[i].text);
		}
		memmove(l->v, l->v + drop, keep * sizeof(*l->v));
		l->n = keep;
	}
}

static int push_page(prefetch_t *p, store_msg_list_t *l)
{
	int rc = CHAT_OK;

	for (size_t i = 0; i < l->count && rc == CHAT_OK; i++)
		rc = hlist_push(&p->msgs, &l->items[i]);
	return rc;
}

/* Reads what a history or resume subscription needs from the store. */
static int prefetch_store(broker_t *b, size_t limit, int64_t before, int64_t after)
{
	prefetch_t *p = &b->pre;
	store_msg_list_t l = { 0 };
	store_t *s;
	int64_t from = after;
	int rc;

	if ((rc = relay_cursor(b->db, &p->relay0, b->err)) != CHAT_OK)
		return rc;
	s = broker__get_store(b);
	if (s == NULL) {
		rc = CHAT_EDB;
	} else if (p->kind == PRE_HISTORY) {
		rc = before > 0 ? store_msg_before(s, p->room.id, before, limit, &l, NULL)
				: store_msg_latest(s, p->room.id, limit, &l, NULL);
		if (rc == CHAT_OK)
			rc = push_page(p, &l);
	} else {
		/* Everything after the id, up to BROKER_RESUME_MAX; beyond that
		 * the newest BROKER_RESUME_MAX. */
		for (;;) {
			rc = store_msg_after(s, p->room.id, from, STORE_PAGE_MAX, &l, NULL);
			if (rc == CHAT_OK)
				rc = push_page(p, &l);
			if (rc != CHAT_OK || l.count < STORE_PAGE_MAX)
				break;
			from = l.items[l.count - 1].id;
			if (p->msgs.n >= BROKER_RESUME_MAX) {
				chatapp__hlist_free(&p->msgs);
				rc = store_msg_latest(s, p->room.id, BROKER_RESUME_MAX, &l, NULL);
				if (rc == CHAT_OK)
					rc = push_page(p, &l);
				break;
			}
		}
	}
	store_msg_list_free(&l);
	if (rc == CHAT_ENOMEM)
		return chat_error_set(b->err, rc, "out of memory");
	if (rc != CHAT_OK) {
		/* The store is away: answer from what the outbox still holds. */
		if (s != NULL)
			broker__store_failed(b);
		chatapp__hlist_free(&p->msgs);
		p->partial = 1;
		p->relay0 = 0;
	}
	return CHAT_OK;
}

/* Before a SUBSCRIBE's transaction (dest not NULL): what a history or
 * resume subscription needs from the store.  Problems with the frame
 * itself are left for the handler to refuse. */
int chatapp__history_prepare(broker_t *b, const stomp_frame_t *f, const char *dest)
{
	prefetch_t *p = &b->pre;
	int64_t limit = b->opt->history_limit, before = 0, after = 0;
	char room[CHATMSG_ROOM_MAX + 1];
	int is_hist = chatapp__room_of(dest, 1, BROKER_HISTORY_SUFFIX, room), found;

	if (!is_hist &&
	    !(chatapp__room_of(dest, 0, "", room) && broker__header(f, "after") != NULL))
		return CHAT_OK;
	/* A malformed header is refused inside the frame's transaction. */
	if (is_hist &&
	    (broker__header_int(f, "limit", 1, STORE_PAGE_MAX, &limit, &found) != CHAT_OK ||
	     broker__header_int(f, "before", 1, INT64_MAX, &before, &found) != CHAT_OK))
		return CHAT_OK;
	if (!is_hist &&
	    (broker__header_int(f, "after", 0, INT64_MAX, &after, &found) != CHAT_OK || !found))
		return CHAT_OK;
	if (chatroom_get(b->db, room, &p->room, NULL) != CHAT_OK)
		return CHAT_OK;
	p->kind = is_hist ? PRE_HISTORY : PRE_RESUME;
	p->lo = is_hist ? 0 : after;
	p->hi = before > 0 ? before : INT64_MAX;
	p->keep = is_hist ? (size_t)limit : BROKER_RESUME_MAX;
	return prefetch_store(b, (size_t)limit, before, after);
}

typedef struct outbox_scan {
	broker_t *b;
	chat_buf_t room, writer, text;
	int rc;
} outbox_scan_t;

static int scan_row(void *ctx, const outbox_row_t *row)
{
	outbox_scan_t *o = ctx;
	store_msg_t m;
	int is_msg;

	/* A broken chat row is passed over, as the relay does. */
	if (relay_parse_row(row, &m, &o->room, &o->writer, &o->text, &is_msg) != CHAT_OK ||
	    !is_msg || strcmp(o->room.data, o->b->pre.room.name) != 0)
		return CHAT_OK;
	return hlist_push(&o->b->pre.msgs, &m);
}

/* Inside the transaction: adds the room's chat rows the store may not have
 * (seq above the relay cursor read before the store) from the outbox, and
 * settles the list.  Sets b->retry when the relay moved and rows it copied
 * since were pruned (the store read must be done again). */
int chatapp__prefetch_outbox(broker_t *b)
{
	prefetch_t *p = &b->pre;
	outbox_scan_t o;
	int64_t r1 = 0, min_seq = 0, from, last, lo_seq;
	int found, rc;

	if (!p->partial && !b->no_retry) {
		if ((rc = relay_cursor(b->db, &r1, b->err)) != CHAT_OK ||
		    (rc = broker__query_int(b, SQL_OUTBOX_MIN, "", NULL, &min_seq, &found,
					    "outbox")) != CHAT_OK)
			return rc;
		/* In a cluster ids are not seqs: only the relay's cursor bounds
		 * the rows to read. */
		lo_seq = cluster_enabled(b->opt) ? 0 : p->lo;
		if (r1 > p->relay0 && min_seq > p->relay0 + 1 && min_seq > lo_seq + 1) {
			b->retry = 1;
			return CHAT_EAGAIN;
		}
	}
	memset(&o, 0, sizeof(o));
	o.b = b;
	chat_buf_init(&o.room, CHATMSG_ROOM_MAX);
	chat_buf_init(&o.writer, SESSION_USER_MAX);
	chat_buf_init(&o.text, CHATMSG_TEXT_MAX);
	lo_seq = cluster_enabled(b->opt) ? 0 : p->lo;
	from = p->relay0 > lo_seq ? p->relay0 : lo_seq;
	for (;;) {
		last = from;
		rc = outbox_read_after(b->db, from, OUTBOX_READ_MAX, scan_row, &o, &last, b->err);
		if (rc != CHAT_OK || last == from)
			break;
		from = last;
	}
	chat_buf_free(&o.room);
	chat_buf_free(&o.writer);
	chat_buf_free(&o.text);
	if (rc == CHAT_ENOMEM)
		return chat_error_set(b->err, rc, "out of memory");
	if (rc == CHAT_OK)
		hlist_settle(&p->msgs, p->lo, p->hi, p->keep);
	return rc;
}

/* Renders message i of the prefetched list as chat JSON into out. */
static int render_hmsg(broker_t *b, size_t i, chat_buf_t *out)
{
	const hmsg_t *h = &b->pre.msgs.v[i];
	char display[NAMES_NFC_MAX + 1];
	chatmsg_t m = { h->id,
			b->pre.room.name,
			h->room_seq,
			h->writer,
			display,
			h->time_ms,
			{ h->text, h->text_len },
			chatroom_msg_deleted(b->db, h->id) };

	/* The writer's display name now (the store keeps only the login). */
	if (auth_display_get(b->db, h->writer, display, NULL) != CHAT_OK)
		display[0] = '\0';
	return chatmsg_render(out, &m);
}

/* The history reply: the prefetched page as a JSON array, oldest first,
 * dropping the oldest messages that do not fit one frame. */
int chatapp__reply_history(broker_t *b, const char *sub_id, const char *dest)
{
	size_t cap = (size_t)b->opt->max_frame > 2048 ? (size_t)b->opt->max_frame - 1024 : 1024;
	size_t n = b->pre.msgs.n, start = n, total = 2, i;
	chat_buf_t one, body;
	int rc = CHAT_OK;

	chat_buf_init(&one, sockjs_json_bound(CHATMSG_TEXT_MAX));
	chat_buf_init(&body, cap + 16);
	while (start > 0 && rc == CHAT_OK) {
		chat_buf_reset(&one);
		rc = render_hmsg(b, start - 1, &one);
		if (rc == CHAT_OK && total + one.len + 1 > cap)
			break;
		total += one.len + 1;
		start--;
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, '[');
	for (i = start; i < n && rc == CHAT_OK; i++) {
		if (i > start)
			rc = chat_buf_putc(&body, ',');
		if (rc == CHAT_OK)
			rc = render_hmsg(b, i, &body);
	}
	if (rc == CHAT_OK)
		rc = chat_buf_putc(&body, ']');
	if (rc == CHAT_OK)
		rc = chatapp__reply_once(b, sub_id, dest, 0, "application/json",
					 chat_buf_slice(&body));
	chat_buf_free(&one);
	chat_buf_free(&body);
	return rc;
}

/* Resume: every prefetched message after the client's id, one MESSAGE
 * each with its own id, before anything live (they precede the
 * subscription's from_seq, so live delivery does not repeat them). */
int chatapp__resume(broker_t *b, const char *sub_id, const char *dest)
{
	chat_buf_t body;
	int rc = CHAT_OK;

	chat_buf_init(&body, sockjs_json_bound(CHATMSG_TEXT_MAX));
	for (size_t i = 0; i < b->pre.msgs.n && rc == CHAT_OK; i++) {
		chat_buf_reset(&body);
		rc = render_hmsg(b, i, &body);
		if (rc == CHAT_OK)
			rc = chatapp__reply_once(b, sub_id, dest, b->pre.msgs.v[i].id,
						 "application/json", chat_buf_slice(&body));
	}
	chat_buf_free(&body);
	return rc;
}
