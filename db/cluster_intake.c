/*
 * cluster_intake.c - taking in what the other nodes sent: MESSAGEs from
 * this node's RabbitMQ queue, kept until a batch commits in one
 * transaction under each origin's high-water mark (chat posts to the
 * hold, user messages to the outbox, tokens, rooms, presence applied),
 * then acked.  docs/cluster.md ("Taking in", "No miss", "No double").
 */
#include "config.h"
#include "cluster_int.h"

#include "auth.h"
#include "counters.h"
#include "delivery.h"
#include "log.h"
#include "mediatype.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CLUSTERWIRE_TOKEN_HASH == AUTH_HASH_BYTES, "a token's hash on the wire");

/* Another node's new or deleted room, here too. */
static int apply_room(chatdb_t *db, const clusterwire_msg_t *m, int *added, int64_t *seq,
		      chat_error_t *err)
{
	chatroom_t r;

	if (!m->entered)
		return chatroom__tombstone_in_tx(db, m->room, m->token_user, m->room_created_ms,
						 added, seq, err);
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", m->room);
	snprintf(r.creator, sizeof(r.creator), "%s", m->token_user);
	r.id = m->room_id;
	r.created_ms = m->room_created_ms;
	return chatroom__import_in_tx(db, &r, chat_wall_ms(), added, seq, err);
}

/* Another node's token issue or revocation, into auth_tokens. */
static int apply_token(chatdb_t *db, const clusterwire_msg_t *m, chat_error_t *err)
{
	return m->token_put ? auth_token_import(db, m->token_hash, m->token_user,
						m->token_created_ms, m->token_expires_ms, err)
			    : auth_token_forget(db, m->token_hash, err);
}

/* The room m names, added from m when chat.db lacks it. */
static int ensure_room(chatdb_t *db, const clusterwire_msg_t *m, int *found, chat_error_t *err)
{
	chatroom_t r;
	int rc = chatroom_get_any(db, m->room, &r, err);

	*found = rc == CHAT_OK;
	if (rc != CHAT_ENOTFOUND)
		return rc;
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", m->room);
	r.id = m->room_id;
	r.created_ms = m->room_created_ms;
	if ((rc = chatroom_import(db, &r, err)) != CHAT_OK)
		return rc;
	rc = chatroom_get_any(db, m->room, &r, err);
	*found = rc == CHAT_OK;
	return rc == CHAT_ENOTFOUND ? CHAT_OK : rc;
}

/* Copies slice v (at most max bytes) NUL-terminated into out. */
void cluster__copy_slice(char *out, size_t max, chat_slice_t v)
{
	size_t n = v.len < max ? v.len : max;

	if (n > 0)
		memcpy(out, v.ptr, n);
	out[n] = '\0';
}

/* Appends a user message of another node as the origin's broker did
 * (content-type, sender), with its origin and id. */
static int import_user(chatdb_t *db, const clusterwire_msg_t *m, const char *origin,
		       chat_buf_t *hdrs, int64_t *seq, chat_error_t *err)
{
	char dest[CLUSTERWIRE_DEST_MAX + 1], ctype[MEDIATYPE_MAX + 1];
	char who[CLUSTERWIRE_SENDER_MAX + 1], id[24];
	outbox_msg_t om;
	int rc = CHAT_OK;

	cluster__copy_slice(dest, CLUSTERWIRE_DEST_MAX, m->dest);
	cluster__copy_slice(ctype, MEDIATYPE_MAX, m->ctype);
	cluster__copy_slice(who, CLUSTERWIRE_SENDER_MAX, m->sender);
	snprintf(id, sizeof(id), "%lld", (long long)m->id);
	if (ctype[0] != '\0')
		rc = chatrow_hdr_put(hdrs, "content-type", ctype);
	if (rc == CHAT_OK && who[0] != '\0')
		rc = chatrow_hdr_put(hdrs, DELIVERY_H_SENDER, who);
	if (rc == CHAT_OK)
		rc = chatrow_hdr_put(hdrs, CHATROW_H_ORIGIN, origin);
	if (rc == CHAT_OK)
		rc = chatrow_hdr_put(hdrs, CLUSTER_ID_HEADER, id);
	if (rc != CHAT_OK)
		return chat_error_set(err, rc, "user message headers");
	om = (outbox_msg_t){ dest, NULL, chat_buf_slice(hdrs), m->body, chat_wall_ms() };
	return outbox_append(db, &om, seq, err);
}

/* Inside the caller's transaction: cluster_import() for one message. */
static int import_in_tx(chatdb_t *db, const clusterwire_msg_t *m, chat_buf_t *hdrs, int *added,
			int64_t *seq, chat_error_t *err)
{
	char mark[32], topic[CHATDB_DEST_MAX + 1], origin[24];
	int64_t hw = 0;
	int rc, found = 0;

	chat_buf_reset(hdrs);
	cluster__mark_name(mark, m->origin);
	snprintf(origin, sizeof(origin), "%lld", (long long)m->origin);
	if ((rc = counters_get(db, mark, &hw, NULL, err)) != CHAT_OK || m->id <= hw)
		return rc;
	/* Cannot fail: the room and the topic prefix are bounded. */
	if ((rc = chatroom_topic(topic, CHATROOM_ROOM_PATH, m->room)) != CHAT_OK)
		return chat_error_set(err, rc, "the topic of room %s", m->room);
	if (m->kind == CLUSTERWIRE_TOKEN) {
		rc = apply_token(db, m, err);
	} else if (m->kind == CLUSTERWIRE_PRESENCE) {
		rc = cluster__apply_presence(db, m, added, seq, err);
	} else if (m->kind == CLUSTERWIRE_ROOM) {
		rc = apply_room(db, m, added, seq, err);
	} else if (m->kind == CLUSTERWIRE_USER || m->kind == CLUSTERWIRE_TOPIC) {
		rc = import_user(db, m, origin, hdrs, seq, err);
		*added = rc == CHAT_OK;
	} else if ((rc = ensure_room(db, m, &found, err)) != CHAT_OK) {
		return rc;
	} else if (!found) {
		/* The name is taken here by a room the origin does not know:
		 * the post cannot be shown in it. */
		log_warn("cluster: post %lld of node %lld is for room %s, which this node"
			 " cannot add; skipped",
			 (long long)m->id, (long long)m->origin, m->room);
	} else if ((rc = chatrow_hdr_put(hdrs, "content-type", "application/json")) == CHAT_OK &&
		   (rc = chatrow_hdr_put(hdrs, CHATROW_H_KIND, CHATROW_KIND_MSG)) == CHAT_OK &&
		   (rc = chatrow_hdr_put(hdrs, CHATROW_H_ORIGIN, origin)) == CHAT_OK) {
		/* Held back until no node can send a smaller id (the relay
		 * releases it into the outbox). */
		rc = cluster__hold_put(db, m->id, topic, chat_buf_slice(hdrs), m->body, err);
		*added = rc == CHAT_OK;
	}
	if (rc == CHAT_OK)
		rc = counters_raise(db, mark, m->id, err);
	if (rc == CHAT_OK)
		rc = counters_raise(db, CLUSTER_CLOCK, m->id, err);
	return rc;
}

int cluster_import_batch(chatdb_t *db, int64_t self, const clusterwire_msg_t *v, size_t n,
			 size_t *added, int64_t *seq_out, chat_error_t *err)
{
	chat_buf_t hdrs;
	int64_t seq = 0;
	size_t k = 0;
	int rc;

	*added = 0;
	chat_buf_init(&hdrs, 1024);
	rc = chatdb__begin(db, err);
	for (size_t i = 0; rc == CHAT_OK && i < n; i++) {
		int one = 0;

		if (v[i].origin == self || v[i].kind == CLUSTERWIRE_CLOCK)
			continue; /* this node's own, back from RabbitMQ; a beacon */
		rc = import_in_tx(db, &v[i], &hdrs, &one, &seq, err);
		k += (size_t)one;
	}
	rc = cluster__end_tx(db, rc, k, added, seq, seq_out, err);
	chat_buf_free(&hdrs);
	return rc;
}

int cluster_import(chatdb_t *db, int64_t self, const clusterwire_msg_t *m, int *added,
		   int64_t *seq_out, chat_error_t *err)
{
	size_t k = 0;
	int rc = cluster_import_batch(db, self, m, 1, &k, seq_out, err);

	*added = k > 0;
	return rc;
}

/* A MESSAGE taken from RabbitMQ and not yet committed: its fields,
 * copied out of the parser into one allocation. */
typedef struct pending {
	clusterwire_msg_t m;
	char *mem;
} pending_t;

static pending_t pend[CLUSTER_BATCH];
static size_t npend;

static chat_slice_t keep(char **at, chat_slice_t v)
{
	chat_slice_t out = { *at, v.len };

	if (v.len > 0)
		memcpy(*at, v.ptr, v.len);
	(*at)[v.len] = '\0';
	*at += v.len + 1;
	return out;
}

static int pending_add(const clusterwire_msg_t *m)
{
	pending_t *p = &pend[npend];
	char *at;

	p->mem = malloc(m->body.len + m->ack.len + m->dest.len + m->ctype.len + m->sender.len + 5);
	if (p->mem == NULL)
		return CHAT_ENOMEM;
	p->m = *m;
	at = p->mem;
	p->m.body = keep(&at, m->body);
	p->m.ack = keep(&at, m->ack);
	p->m.dest = keep(&at, m->dest);
	p->m.ctype = keep(&at, m->ctype);
	p->m.sender = keep(&at, m->sender);
	npend++;
	return CHAT_OK;
}

/* Forgets the held messages (the connection broke: RabbitMQ redelivers). */
void cluster__pending_drop(void)
{
	for (size_t i = 0; i < npend; i++)
		free(pend[i].mem);
	npend = 0;
}

static int ack(relay_state_t *r, chat_slice_t id)
{
	stomp_header_t h[] = { { CHAT_SLICE("id"), id } };

	return cluster__put_frame(r, STOMP_CMD_ACK, h, 1, NULL, 0);
}

/* Commits the held messages in one transaction, rings the doorbell, and
 * queues their ACKs; on failure nothing is acked (RabbitMQ redelivers
 * them after the reconnect). */
void cluster__pending_flush(relay_state_t *r)
{
	static clusterwire_msg_t v[CLUSTER_BATCH];
	chat_error_t err = { 0 };
	int64_t seq = 0;
	size_t added = 0, i;
	int rc;

	if (npend == 0)
		return;
	for (i = 0; i < npend; i++)
		v[i] = pend[i].m;
	rc = cluster_import_batch(r->db, r->opt->node_id, v, npend, &added, &seq, &err);
	if (rc != CHAT_OK) {
		log_warn("cluster: cannot add %zu posts of other nodes: %s", npend,
			 chat_error_reason(&err, rc));
		cluster__disconnect(r, NULL);
		r->retry_at = chat_mono_ms() + 1000;
	} else {
		int64_t mono = chat_mono_ms();

		if (seq > 0 && r->bell != NULL)
			doorbell_ring(r->bell, (uint64_t)seq);
		/* Committed: what each node has sent up to (its messages come
		 * in its id order). */
		for (i = 0; i < npend; i++) {
			const clusterwire_msg_t *m = &pend[i].m;

			if (m->origin == r->opt->node_id || m->origin <= 0)
				continue;
			r->heard[m->origin] = mono;
			r->dropped[m->origin] = 0;
			if (m->id > r->known[m->origin])
				r->known[m->origin] = m->id;
			if (m->kind != CLUSTERWIRE_CLOCK && m->id > r->need_clock)
				r->need_clock = m->id;
		}
		for (i = 0; i < npend && rc == CHAT_OK; i++)
			rc = ack(r, pend[i].m.ack);
	}
	cluster__pending_drop();
}

int cluster__on_message(relay_state_t *r, const stomp_frame_t *f)
{
	clusterwire_msg_t m;
	int rc = clusterwire_parse_message(f, &m, &r->room, &r->writer, &r->text);

	if (rc == CHAT_EPROTO && m.ack.len == 0) {
		cluster__disconnect(r, "a MESSAGE without an ack header");
		return rc;
	}
	if (rc != CHAT_OK) {
		/* Not a post of ours: dropped (acked) so it cannot block the queue. */
		log_warn("cluster: dropped a malformed message from RabbitMQ (%s)",
			 chat_strerror(rc));
		return ack(r, m.ack);
	}
	if (npend == CLUSTER_BATCH)
		cluster__pending_flush(r);
	return r->fd >= 0 ? pending_add(&m) : CHAT_ECLOSED;
}
