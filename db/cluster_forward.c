/*
 * cluster_forward.c - forwarding: this node's rows after the relay's
 * cursor SENT to RabbitMQ in batches, the cursor moved once RabbitMQ has
 * confirmed (RECEIPT) every SEND of a batch.  docs/cluster.md
 * ("Forwarding", "No miss").
 */
#include "config.h"
#include "cluster_int.h"

#include "counters.h"
#include "delivery.h"
#include "log.h"
#include "mediatype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fwd {
	int64_t seq;
	int64_t id;
	clusterwire_kind_t kind;                 /* a post, a /user message or a token */
	char room[CHATMSG_ROOM_MAX + 1];         /* a post's room */
	char dest[CLUSTERWIRE_DEST_MAX + 1];     /* a user message's destination */
	char ctype[MEDIATYPE_MAX + 1];           /* its content-type, or "" */
	char sender[CLUSTERWIRE_SENDER_MAX + 1]; /* its sender, or "" */
	char *body;
	size_t len;
} fwd_t;

typedef struct collect {
	relay_state_t *r;
	fwd_t *v;
	size_t n;
	int64_t last;
} collect_t;

/* A user message of this node: its id from CLUSTER_ID_HEADER. */
static int take_user(const outbox_row_t *row, fwd_t *x)
{
	chat_slice_t v;
	char *e;

	if (!chatrow_hdr_get(row->headers, CLUSTER_ID_HEADER, &v) ||
	    row->destination.len > CLUSTERWIRE_DEST_MAX)
		return 0;
	x->id = strtoll(v.ptr, &e, 10);
	if (*e != '\0' || x->id <= 0)
		return 0;
	x->kind = strcmp(row->destination.ptr, CLUSTER_TOKEN_DEST) == 0      ? CLUSTERWIRE_TOKEN
		  : strcmp(row->destination.ptr, CLUSTER_PRESENCE_DEST) == 0 ? CLUSTERWIRE_PRESENCE
		  : strcmp(row->destination.ptr, CLUSTER_ROOM_DEST) == 0     ? CLUSTERWIRE_ROOM
		  : dest_classify(row->destination) == DEST_TOPIC            ? CLUSTERWIRE_TOPIC
									     : CLUSTERWIRE_USER;
	cluster__copy_slice(x->dest, CLUSTERWIRE_DEST_MAX, row->destination);
	if (chatrow_hdr_get(row->headers, "content-type", &v))
		cluster__copy_slice(x->ctype, MEDIATYPE_MAX, v);
	if (chatrow_hdr_get(row->headers, DELIVERY_H_SENDER, &v))
		cluster__copy_slice(x->sender, CLUSTERWIRE_SENDER_MAX, v);
	return 1;
}

static int take_row(void *ctx, const outbox_row_t *row)
{
	collect_t *c = ctx;
	chat_slice_t kind, origin;
	fwd_t *x = &c->v[c->n];
	char self[24];

	c->last = row->seq;
	snprintf(self, sizeof(self), "%lld", (long long)c->r->opt->node_id);
	if (row->target_session.ptr != NULL ||
	    !chatrow_hdr_get(row->headers, CHATROW_H_ORIGIN, &origin) ||
	    !chat_slice_eq(origin, self))
		return 0;
	memset(x, 0, sizeof(*x));
	if (chatrow_hdr_get(row->headers, CHATROW_H_KIND, &kind) &&
	    chat_slice_eq(kind, CHATROW_KIND_MSG)) {
		return 0; /* a post released from the hold: its row went before */
	} else if (strcmp(row->destination.ptr, CLUSTER_POST_DEST) == 0) {
		/* A held post of ours (cluster__hold_in_tx()). */
		if (!take_user(row, x) ||
		    !chatrow_hdr_get(row->headers, CLUSTER_ROOM_HEADER, &kind))
			return 0;
		x->kind = CLUSTERWIRE_POST;
		cluster__copy_slice(x->room, CHATMSG_ROOM_MAX, kind);
	} else if (!take_user(row, x)) {
		return 0;
	}
	x->body = malloc(row->body.len + 1);
	if (x->body == NULL)
		return CHAT_ENOMEM;
	memcpy(x->body, row->body.ptr, row->body.len);
	x->len = row->body.len;
	x->seq = row->seq;
	c->n++;
	return 0;
}

/* Appends the SEND of user message x. */
static int put_user(relay_state_t *r, const fwd_t *x, const char *origin, const char *id,
		    const char *receipt)
{
	stomp_header_t h[9] = { H("destination", CLUSTER_TOPIC),
				H("persistent", "true"),
				H("chat-kind", x->kind == CLUSTERWIRE_TOKEN      ? "token"
					       : x->kind == CLUSTERWIRE_PRESENCE ? "presence"
					       : x->kind == CLUSTERWIRE_ROOM     ? "room"
					       : x->kind == CLUSTERWIRE_TOPIC    ? "topic"
										 : "user"),
				H("chat-origin", origin),
				H("chat-id", id),
				H("receipt", receipt),
				H("chat-dest", x->dest) };
	/* Only a user or topic message's SEND carries more than its body. */
	size_t n = x->kind == CLUSTERWIRE_USER || x->kind == CLUSTERWIRE_TOPIC ? 7 : 6;

	if (x->ctype[0] != '\0')
		h[n++] = (stomp_header_t)H("chat-ctype", x->ctype);
	if (x->sender[0] != '\0')
		h[n++] = (stomp_header_t)H("chat-sender", x->sender);
	return cluster__put_frame(r, STOMP_CMD_SEND, h, n, x->body, x->len);
}

/* A batch is in flight: RabbitMQ has 10 s to confirm it. */
static int batch_overdue(relay_state_t *r, int64_t now)
{
	if (now - r->batch_sent_ms <= 10000)
		return CHAT_OK;
	cluster__disconnect(r, "no RECEIPT for 10 s");
	return CHAT_ETIMEDOUT;
}

/* Appends the SEND of post x, with its room's id and creation time (a
 * node that lacks the room adds it); *sent = 0 when the room is gone. */
static int put_post(relay_state_t *r, const fwd_t *x, const char *origin, const char *id,
		    const char *receipt, int *sent, chat_error_t *err)
{
	char rid[24], created[24];
	chatroom_t room;
	int rc;

	*sent = 0;
	if (chatroom_get_any(r->db, x->room, &room, err) != CHAT_OK)
		memset(&room, 0, sizeof(room));
	if (room.id <= 0)
		return CHAT_OK; /* cannot happen: room rows stay */
	snprintf(rid, sizeof(rid), "%lld", (long long)room.id);
	snprintf(created, sizeof(created), "%lld", (long long)room.created_ms);
	{
		stomp_header_t h[] = { H("destination", CLUSTER_TOPIC),
				       H("persistent", "true"),
				       H("content-type", "application/json"),
				       H("chat-origin", origin),
				       H("chat-id", id),
				       H("chat-room", x->room),
				       H("chat-room-id", rid),
				       H("chat-room-created", created),
				       H("receipt", receipt) };

		rc = cluster__put_frame(r, STOMP_CMD_SEND, h, 9, x->body, x->len);
	}
	*sent = rc == CHAT_OK;
	return rc;
}

/* Appends the SENDs of the rows collected in c, each with a receipt
 * (r->receipts_due counts them). */
static int put_batch(relay_state_t *r, const collect_t *c, chat_error_t *err)
{
	char origin[24];
	int rc = CHAT_OK;

	snprintf(origin, sizeof(origin), "%lld", (long long)r->opt->node_id);
	for (size_t i = 0; rc == CHAT_OK && i < c->n; i++) {
		const fwd_t *x = &c->v[i];
		char id[24], receipt[32];
		int sent = 1;

		snprintf(id, sizeof(id), "%lld", (long long)x->id);
		snprintf(receipt, sizeof(receipt), "s%lld", (long long)x->seq);
		if (x->kind != CLUSTERWIRE_POST)
			rc = put_user(r, x, origin, id, receipt);
		else
			rc = put_post(r, x, origin, id, receipt, &sent, err);
		if (rc == CHAT_OK && sent)
			r->receipts_due++;
	}
	return rc;
}

static void collect_free(collect_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].body);
	free(c->v);
}

/* Nothing of this node's to send in the rows up to last: the cursor moves
 * past them (and this node's clock is safe once it reaches last_seq, the
 * outbox's last seq when clock was read). */
static int pass_over(relay_state_t *r, int64_t last, int64_t last_seq, int64_t clock,
		     chat_error_t *err)
{
	int rc = CHAT_OK;

	if (last > r->cursor &&
	    (rc = outbox_consumer_advance(r->db, CLUSTER_CONSUMER, last, err)) == CHAT_OK)
		r->cursor = last;
	if (rc == CHAT_OK && r->cursor >= last_seq)
		r->safe_clock = clock;
	return rc;
}

/* Sends the next batch of local posts after the cursor (when none is in
 * flight). */
int cluster__forward(relay_state_t *r, int64_t now)
{
	collect_t c = { r, NULL, 0, 0 };
	chat_error_t err = { 0 };
	int64_t last_seq = 0, clock = 0;
	int rc;

	if (r->receipts_due > 0)
		return batch_overdue(r, now);
	/* The clock first, then the last seq: a row of ours with an id <= the
	 * clock was committed before, so is at or below that seq. */
	if ((rc = counters_get(r->db, CLUSTER_CLOCK, &clock, NULL, &err)) != CHAT_OK ||
	    (rc = outbox_last_seq(r->db, &last_seq, &err)) != CHAT_OK)
		return rc;
	if (last_seq <= r->cursor) {
		r->safe_clock = clock;
		return CHAT_OK;
	}
	c.last = r->cursor;
	c.v = calloc(CLUSTER_BATCH, sizeof(*c.v));
	if (c.v == NULL)
		return CHAT_ENOMEM;
	rc = outbox_read_after(r->db, r->cursor, CLUSTER_BATCH, take_row, &c, NULL, &err);
	if (rc == CHAT_OK)
		rc = put_batch(r, &c, &err);
	collect_free(&c);
	if (rc != CHAT_OK) {
		chat_buf_reset(&r->out);
		r->receipts_due = 0;
		log_warn("cluster: reading posts to forward: %s", chat_error_reason(&err, rc));
		return rc;
	}
	if (r->receipts_due == 0)
		return pass_over(r, c.last, last_seq, clock, &err);
	r->batch_clock = c.last >= last_seq ? clock : 0;
	r->batch_last = c.last;
	r->batch_sent_ms = now;
	if (cluster__write_all(r) != CHAT_OK) {
		cluster__disconnect(r, "the connection broke while sending");
		return CHAT_EIO;
	}
	return CHAT_OK;
}

int cluster__on_receipt(relay_state_t *r, const stomp_frame_t *f)
{
	const chat_slice_t *h = stomp_frame_header(f, "receipt-id");
	chat_error_t err = { 0 };

	if (h == NULL || h->len < 2 || h->ptr[0] != 's' || r->receipts_due == 0)
		return CHAT_OK;
	if (--r->receipts_due == 0) {
		int rc = outbox_consumer_advance(r->db, CLUSTER_CONSUMER, r->batch_last, &err);

		if (rc != CHAT_OK) {
			log_warn("cluster: moving the forwarding cursor: %s",
				 chat_error_reason(&err, rc));
			return rc;
		}
		r->cursor = r->batch_last;
		if (r->batch_clock > r->safe_clock)
			r->safe_clock = r->batch_clock;
	}
	return CHAT_OK;
}
