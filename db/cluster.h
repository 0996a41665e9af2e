/*
 * cluster.h - more than one machine: the STOMP broker relay between this
 * node's chat.db and the other nodes', through RabbitMQ's STOMP plugin.
 * docs/cluster.md is the operator's side and, in "Design and proof", the
 * design and why nothing is missed or doubled.
 *
 * A node is one machine's stack (its chat.db, front server, chat.fcgi
 * processes and chat-ws).  With broker_relay set, one process per node
 * (the holder of the chat.db lease CLUSTER_LEASE) runs the relay thread:
 * it forwards this node's chat posts to RabbitMQ after their local commit
 * and adds the other nodes' posts to the local outbox exactly once, so any
 * process of any node serves any room's subscribers.
 */
#ifndef CHAT_CLUSTER_H
#define CHAT_CLUSTER_H

#include "chatdb.h"
#include "chatmsg.h"
#include "chatroom.h"
#include "doorbell.h"
#include "options.h"
#include "clusterwire.h"
#include "stomp.h"

/* The outbox consumer whose cursor is "forwarded up to here". */
#define CLUSTER_CONSUMER "cluster"
#define CLUSTER_LEASE "cluster"
/* How long the relay lease outlives its holder's last renewal. */
#define CLUSTER_LEASE_MS 15000
/* On a forwarded row that is not a chat post (a /user/NAME/... message):
 * its cluster id (a chat post's is its body's "id"). */
#define CLUSTER_ID_HEADER "cid"
/* The destination of token rows (no client can subscribe to it). */
#define CLUSTER_TOKEN_DEST "/cluster/token"
/* The destination of room rows (no client can subscribe to it). */
#define CLUSTER_ROOM_DEST "/cluster/room"
/* The destination of this node's chat posts' rows to forward (no client
 * can subscribe to it); the post itself is held (cluster__hold_in_tx()). */
#define CLUSTER_POST_DEST "/cluster/post"
/* On such a row: the post's room. */
#define CLUSTER_ROOM_HEADER "chat-room"
/* The destination of presence rows (no client can subscribe to it). */
#define CLUSTER_PRESENCE_DEST "/cluster/presence"
/* Where nodes publish (RabbitMQ's amq.topic, routing key chat.cluster)
 * and what every node's durable queue is bound to. */
#define CLUSTER_TOPIC "/topic/chat.cluster"
/* STOMP heart-beats with RabbitMQ, both ways (CONNECT heart-beat). */
#define CLUSTER_HEARTBEAT_MS 10000
#define CLUSTER_HEARTBEAT "10000,10000"
/* Largest frame read from RabbitMQ (a chat post is at most a few KiB). */
#define CLUSTER_FRAME_MAX (256 * 1024)
/* Posts forwarded per batch (each confirmed by a RECEIPT). */
#define CLUSTER_BATCH 256

/* Whether opt joins a cluster (broker_relay is set). */
int cluster_enabled(const chat_options_t *opt);

/* Checks the cluster options: nothing to check without broker_relay;
 * with it, a valid URL, node_id 1..15 and a mongodb:// store_uri (the
 * SQLite store is one machine's: a cluster is refused).  0 or CHAT_EINVAL
 * with what to change in err. */
CHAT_MUST_CHECK int cluster_check(const chat_options_t *opt, chat_error_t *err);

/* Inside the posting transaction (chat.db's write lock held), for a chat
 * row about to get outbox seq: the post's message id, above every id this
 * node has made or seen and above seq, congruent to node modulo
 * CLUSTER_SLOTS; registers CLUSTER_CONSUMER before the row (so pruning
 * keeps it until it is forwarded). */
CHAT_MUST_CHECK int cluster__next_id_in_tx(chatdb_t *db, int64_t node, int64_t seq, int64_t *id_out,
					   chat_error_t *err);

/* Inside the posting transaction of chat post id (an id of
 * cluster__next_id_in_tx()) in room: holds the post back (its outbox row:
 * dest, headers, body) and appends the row the relay forwards (*seq gets
 * its seq).  The relay releases the post into the outbox in id order
 * (cluster_release()) once no node can send a smaller id. */
CHAT_MUST_CHECK int cluster__hold_in_tx(chatdb_t *db, int64_t id, const char *dest,
					const char *room, chat_slice_t headers, chat_slice_t body,
					int64_t *seq, chat_error_t *err);

/* Moves the held posts with ids <= upto into the outbox, in id order, in
 * one transaction; *released gets how many, *seq_out (may be NULL) the
 * last seq.  The doorbell is not rung. */
CHAT_MUST_CHECK int cluster_release(chatdb_t *db, int64_t upto, size_t *released, int64_t *seq_out,
				    chat_error_t *err);

/* A node gone too long: its users' presence here is dropped (a LEAVE
 * notice for each present nowhere else), in one transaction; *dropped
 * gets how many rows, *seq the last notice's seq (untouched: none). */
CHAT_MUST_CHECK int cluster_drop_node(chatdb_t *db, int64_t node, size_t *dropped, int64_t *seq,
				      chat_error_t *err);

/* Called with each name (valid during the call only): CHAT_OK goes on,
 * CHAT_STOP stops (the listing then returns CHAT_OK), anything else stops
 * and is returned.  Must not use the same chatdb_t. */
typedef int (*cluster_name_cb)(void *ctx, const char *name);

/* The users other nodes have announced in room (cluster_presence), for
 * the chat application's /presence: cb with each, once, in name (byte)
 * order.  0 or a chat.db error (or cb's). */
CHAT_MUST_CHECK int cluster_room_users(chatdb_t *db, const char *room, cluster_name_cb cb,
				       void *ctx, chat_error_t *err);

/* This node's users present in rooms, announced again to the others (a
 * presence row each, which they apply idempotently), in one transaction. */
CHAT_MUST_CHECK int cluster_announce_local(chatdb_t *db, size_t *announced, int64_t *seq,
					   chat_error_t *err);

/* The smallest held id (0: none held). */
CHAT_MUST_CHECK int cluster_held_min(chatdb_t *db, int64_t *id_out, chat_error_t *err);

/* Adds m (from another node than self) to the local outbox (a chat post:
 * to the hold, cluster__hold_in_tx()) in one transaction unless its origin's high-water mark is at or above m->id
 * (then *added = 0: a resend); raises the mark and the id clock with it.
 * The room is added from m when chat.db lacks it.  The doorbell is not
 * rung (the caller rings it with *seq_out after the commit).  0 or a
 * chat.db error. */
CHAT_MUST_CHECK int cluster_import(chatdb_t *db, int64_t self, const clusterwire_msg_t *m,
				   int *added, int64_t *seq_out, chat_error_t *err);

/* The same for n messages in one transaction (those of self are passed
 * over); *added gets how many were added, *seq_out (may be NULL) the last
 * outbox seq given out.  All or none. */
CHAT_MUST_CHECK int cluster_import_batch(chatdb_t *db, int64_t self, const clusterwire_msg_t *v,
					 size_t n, size_t *added, int64_t *seq_out,
					 chat_error_t *err);

/* The highest id of origin this chat.db has taken (0: none). */
CHAT_MUST_CHECK int cluster_high_water(chatdb_t *db, int64_t origin, int64_t *id_out,
				       chat_error_t *err);

/* Sets this process's node (node_id when opt joins a cluster, else 0)
 * for cluster__token_in_tx(); cluster_start() calls it. */
void cluster_configure(const chat_options_t *opt);

/* Inside a transaction that issues (put) or revokes a login token: in a
 * cluster, a row CLUSTER_TOKEN_DEST the relay forwards, so that the token
 * works (or stops working) on every node.  Nothing outside a cluster. */
CHAT_MUST_CHECK int cluster__token_in_tx(chatdb_t *db, int put, const unsigned char *hash,
					 const char *user, int64_t created_ms, int64_t expires_ms,
					 chat_error_t *err);

/* Inside the transaction of an ENTER or LEAVE notice of user in room (db/
 * broker.c): in a cluster, a row CLUSTER_PRESENCE_DEST the relay forwards
 * (*seq gets its seq), and *announce = 0 when another node has the user
 * in the room (then this node does not announce it again).  Outside a
 * cluster *announce = 1 and nothing else. */
CHAT_MUST_CHECK int cluster__presence_in_tx(chatdb_t *db, int entered, const char *user,
					    const char *room, int *announce, int64_t *seq,
					    chat_error_t *err);

/* Inside the transaction that creates (created) or deletes (by whom) a
 * room: in a cluster, a row CLUSTER_ROOM_DEST the relay forwards, so that
 * every node has (or hides) the room and publishes it on /topic/rooms. */
CHAT_MUST_CHECK int cluster__room_in_tx(chatdb_t *db, int created, const chatroom_t *room,
					const char *by, int64_t now_ms, chat_error_t *err);

/* Starts the relay thread of this process when opt joins a cluster (once;
 * later calls do nothing); it relays while it holds CLUSTER_LEASE.  opt
 * and bell are borrowed until cluster_stop().  0 or CHAT_ENOMEM. */
CHAT_MUST_CHECK int cluster_start(const chat_options_t *opt, doorbell_t *bell);

/* Stops and joins the thread if it runs, giving the lease up. */
void cluster_stop(void);

#endif
