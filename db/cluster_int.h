/*
 * cluster_int.h - shared-internal names of the cluster relay (cluster*.c
 * only): the relay thread's state and the steps the files of the module
 * call in one another.  cluster.h is the module's contract; docs/cluster.md
 * ("Design and proof") says why the steps are what they are.
 */
#ifndef CHAT_CLUSTER_INT_H
#define CHAT_CLUSTER_INT_H

#include "cluster.h"

#include "chat.h"
#include "chatrow.h"
#include "clock.h"
#include "outbox.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

struct sqlite3_stmt;

/* The counter (counters.h) of this node's id clock (a Lamport clock). */
#define CLUSTER_CLOCK "cluster_clock"

/* The relay thread's state (one per process, cluster.c's). */
typedef struct relay_state {
	const chat_options_t *opt;
	doorbell_t *bell;
	clusterwire_url_t url;
	chatdb_t *db;
	char owner[64];
	int fd;
	stomp_parser_t parser;
	chat_buf_t out; /* frames to write */
	chat_buf_t room, writer, text;
	int64_t cursor;      /* forwarded up to (the consumer's cursor) */
	int64_t batch_last;  /* the seq the batch in flight moves the cursor to */
	size_t receipts_due; /* RECEIPTs of the batch in flight still to come */
	int64_t batch_sent_ms;
	int64_t backoff, retry_at, lease_at;
	int64_t rx_ms, tx_ms; /* when RabbitMQ last sent a byte, when we last wrote */
	/* The hold-back (docs/cluster.md, "The hold-back"): per node, the highest id or clock
	 * taken from it and when it was last heard (monotonic ms; 0: never). */
	int64_t known[CLUSTER_SLOTS], heard[CLUSTER_SLOTS];
	int64_t batch_clock;             /* the clock the batch in flight covers (0: not all) */
	int64_t safe_clock;              /* everything of ours with an id <= it is confirmed */
	int64_t beacon_clock, beacon_ms; /* the last beacon sent, and when */
	int64_t need_clock;              /* the highest id taken from others (a beacon is due) */
	int dropped[CLUSTER_SLOTS];      /* the node's presence was dropped (gone too long) */
	int holder, was_down;
	int wake[2]; /* the bell thread writes a byte when the outbox moves */
	pthread_t thread, bell_thread;
	int bell_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, stopping; /* under mu */
} relay_state_t;

/* A STOMP header from a name literal and a NUL-terminated value. */
#define H(name, value)                         \
	{                                      \
		CHAT_SLICE(name),              \
		{                              \
			(value), strlen(value) \
		}                              \
	}


/* ---- cluster_rows.c: ids, marks, the rows to forward ---- */

/* This process's node (cluster_configure()), 0 outside a cluster. */
long long cluster__node(void);

/* The counter name of origin's high-water mark ("cluster_hw:N"). */
void cluster__mark_name(char out[32], int64_t origin);

/* Appends a row the relay forwards to dest (origin node, cluster id id,
 * or a new one when id is 0; room names a held post's room, else NULL);
 * *seq (may be NULL) gets its seq. */
int cluster__forward_row_id(chatdb_t *db, long long node, const char *dest, chat_slice_t body,
			    int64_t id, const char *room, int64_t *seq, chat_error_t *err);

/* The same with a new cluster id and no room. */
int cluster__forward_row(chatdb_t *db, long long node, const char *dest, chat_slice_t body,
			 int64_t *seq, chat_error_t *err);

/* Ends a transaction whose work returned rc: commits it (then *out = n
 * and, when seq_out is not NULL, *seq_out = seq) or rolls it back. */
int cluster__end_tx(chatdb_t *db, int rc, size_t n, size_t *out, int64_t seq, int64_t *seq_out,
		    chat_error_t *err);

/* sql prepared in *st with ?1 = v. */
int cluster__stmt_int(chatdb_t *db, const char *sql, int64_t v, struct sqlite3_stmt **st,
		      chat_error_t *err);

/* ---- cluster_hold.c: the hold-back ---- */

/* Holds back chat post id (its outbox row: dest, headers, body). */
int cluster__hold_put(chatdb_t *db, int64_t id, const char *dest, chat_slice_t headers,
		      chat_slice_t body, chat_error_t *err);

/* Sends a clock beacon when one is due (see cluster_hold.c). */
int cluster__beacon(relay_state_t *r, int64_t now);

/* Releases the held posts that are stable, in id order, and rings the
 * doorbell. */
void cluster__release_stable(relay_state_t *r, int64_t now);

/* ---- cluster_presence.c: liveness and presence ---- */

/* Another node's user entering or leaving (m, a presence message):
 * recorded, and announced here when this makes the user present (or
 * absent) across the cluster (*added = 1, *seq the notice's seq). */
int cluster__apply_presence(chatdb_t *db, const clusterwire_msg_t *m, int *added, int64_t *seq,
			    chat_error_t *err);

/* Drops the presence of nodes not heard for cluster_presence_timeout_ms. */
void cluster__drop_gone(relay_state_t *r, int64_t now);

/* Just (re)connected to RabbitMQ: this node's presence announced again,
 * time cut off not counted against the other nodes. */
void cluster__connected(relay_state_t *r, int64_t now);

/* ---- cluster_intake.c: taking in ---- */

/* Copies slice v (at most max bytes) NUL-terminated into out. */
void cluster__copy_slice(char *out, size_t max, chat_slice_t v);

/* A MESSAGE from RabbitMQ: kept for the next cluster__pending_flush()
 * (malformed ones are acked and dropped). */
int cluster__on_message(relay_state_t *r, const stomp_frame_t *f);

/* Commits the kept messages in one transaction, rings the doorbell and
 * queues their ACKs; on failure nothing is acked (RabbitMQ redelivers). */
void cluster__pending_flush(relay_state_t *r);

/* Forgets the kept messages (the connection broke: RabbitMQ redelivers). */
void cluster__pending_drop(void);

/* ---- cluster_forward.c: forwarding ---- */

/* Sends the next batch of this node's rows after the cursor (when none is
 * in flight). */
int cluster__forward(relay_state_t *r, int64_t now);

/* A RECEIPT from RabbitMQ: once the batch in flight is confirmed, the
 * cursor moves past it. */
int cluster__on_receipt(relay_state_t *r, const stomp_frame_t *f);

/* ---- cluster.c: the connection ---- */

/* Closes the connection to RabbitMQ (why: logged once, and a reconnect
 * scheduled with backoff; NULL: neither). */
void cluster__disconnect(relay_state_t *r, const char *why);

/* Writes the queued frames (r->out). */
int cluster__write_all(relay_state_t *r);

/* Queues a frame. */
int cluster__put_frame(relay_state_t *r, stomp_command_t cmd, const stomp_header_t *h, size_t n,
		       const void *body, size_t len);

#endif
