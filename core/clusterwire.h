/*
 * clusterwire.h - what nodes of a cluster exchange through RabbitMQ, as
 * pure functions (db/cluster.h does the IO): the broker_relay URL and the
 * MESSAGE frame carrying another node's chat post.  Parsers take borrowed
 * input, never log and never allocate behind the caller's back.
 */
#ifndef CHAT_CLUSTERWIRE_H
#define CHAT_CLUSTERWIRE_H

#include "buf.h"
#include "chat.h"
#include "chatmsg.h"
#include "stomp.h"

/* Message ids of node N are N modulo CLUSTER_SLOTS (node_id 1..15). */
#define CLUSTER_SLOTS 16
/* Longest ack header taken (as chat.db's ids). */
#define CLUSTERWIRE_ACK_MAX CHAT_ID_MAX
/* Bounds of the parts of broker_relay. */
#define CLUSTER_URL_PART_MAX 255
/* broker_relay taken apart. */
typedef struct clusterwire_url {
	char user[CLUSTER_URL_PART_MAX + 1];
	char pass[CLUSTER_URL_PART_MAX + 1];
	char host[CLUSTER_URL_PART_MAX + 1];
	char vhost[CLUSTER_URL_PART_MAX + 1]; /* "/" when the URL names none */
	int port;                             /* 61613 when the URL names none */
} clusterwire_url_t;

/* Parses stomp://USER:PASS@HOST[:PORT][/VHOST] (USER:PASS@ optional,
 * %XX escapes in user, password and vhost).  Pure.  0 or CHAT_EINVAL /
 * CHAT_ETOOBIG with the reason in err. */
int clusterwire_parse_url(const char *s, clusterwire_url_t *out, chat_error_t *err);

/* Longest chat-dest (as chat.db's destinations) and chat-sender (user
 * names) taken. */
#define CLUSTERWIRE_DEST_MAX CHAT_DEST_MAX
#define CLUSTERWIRE_SENDER_MAX CHAT_PRINCIPAL_MAX

/* What another node forwarded. */
typedef enum clusterwire_kind {
	CLUSTERWIRE_POST = 0, /* a chat post to a room */
	CLUSTERWIRE_USER,     /* a message for a user's sessions (/user/NAME/...) */
	CLUSTERWIRE_TOKEN,    /* a login token issued or revoked */
	CLUSTERWIRE_PRESENCE, /* a user entered or left a room on its node */
	CLUSTERWIRE_ROOM,     /* a room created or deleted */
	CLUSTERWIRE_TOPIC,    /* a client's SEND to /topic/... (topic_send) */
	CLUSTERWIRE_CLOCK     /* a clock beacon: id is the origin's clock, below
			       * which it has sent everything (db/cluster.c) */
} clusterwire_kind_t;

/* Bytes of a token's hash (as db/auth.h keeps it). */
#define CLUSTERWIRE_TOKEN_HASH 32

/* Another node's post (or user message) as RabbitMQ delivers it.  Slices
 * point into the frame (and room into its own array). */
typedef struct clusterwire_msg {
	clusterwire_kind_t kind;
	int64_t origin;  /* the posting node's node_id */
	int64_t id;      /* its message id */
	int64_t room_id; /* the room's store id on the origin */
	int64_t room_created_ms;
	char room[CHATMSG_ROOM_MAX + 1];
	chat_slice_t body;   /* the chat JSON the origin published */
	chat_slice_t ack;    /* the MESSAGE's ack header (for ACK) */
	chat_slice_t dest;   /* CLUSTERWIRE_USER, _TOPIC: the /user/NAME/... or /topic/... */
	chat_slice_t ctype;  /* CLUSTERWIRE_USER, _TOPIC: its content-type, or empty */
	chat_slice_t sender; /* CLUSTERWIRE_USER, _TOPIC: its sender (user-name), or empty */
	int token_put;       /* CLUSTERWIRE_TOKEN: 1 issued, 0 revoked */
	unsigned char token_hash[CLUSTERWIRE_TOKEN_HASH];
	char token_user[CLUSTERWIRE_SENDER_MAX + 1]; /* issued: its user */
	int64_t token_created_ms, token_expires_ms;  /* issued: its times */
	int entered; /* CLUSTERWIRE_PRESENCE: 1 entered, 0 left; user in
				  * token_user, room in room.  CLUSTERWIRE_ROOM: 1
				  * created (room, room_id, room_created_ms, creator in
				  * token_user), 0 deleted (by in token_user) */
} clusterwire_msg_t;

/* The body of a room row and its SEND: {"op":"create"|"delete","name":
 * ROOM,"id":ID,"user":CREATOR or BY,"at":MS (created or deleted)}.
 * Appends it to out. */
int clusterwire_room_body(chat_buf_t *out, int created, const char *room, int64_t id,
			  const char *user, int64_t at_ms);

/* The body of a presence row and its SEND: {"op":"enter"|"leave",
 * "room":ROOM,"user":NAME}.  Appends it to out. */
int clusterwire_presence_body(chat_buf_t *out, int entered, const char *room, const char *user);

/* The body of a token row and its SEND: {"op":"put"|"del","hash":HEX,
 * "user":NAME,"created":MS,"expires":MS} (user and times only for put).
 * Appends it to out. */
int clusterwire_token_body(chat_buf_t *out, int put, const unsigned char *hash, const char *user,
			   int64_t created_ms, int64_t expires_ms);

/* Reads a MESSAGE frame from the relay's subscription (chat-kind absent:
 * a post, whose room and body must agree; chat-kind user: a message for
 * chat-dest, which must be /user/NAME/queue/... or /topic/...; chat-kind
 * topic: the same for a /topic/... chat-dest; chat-kind
 * token: a token's hash issued to a user or revoked, in the body; chat-kind
 * presence: a user entering or leaving a room, in the body; chat-kind room:
 * a room created or deleted, in the body; chat-kind clock: a beacon whose
 * chat-id is the origin's clock, any residue, no body).  Pure (allocates
 * nothing beyond the caller's buffers, which hold the body's parsed
 * fields).  0, or CHAT_EINVAL / CHAT_EPROTO for a frame that is not a
 * well-formed post (its headers and its body disagree, a bad room, an id
 * not of its origin); CHAT_EUTF8 / CHAT_ETOOBIG from the body's parser. */
int clusterwire_parse_message(const stomp_frame_t *f, clusterwire_msg_t *m, chat_buf_t *room,
			      chat_buf_t *writer, chat_buf_t *text);

#endif
