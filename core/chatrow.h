/*
 * chatrow.h - the outbox row's header codec and the chat row's format, in
 * one place for the broker (which writes them), the relay (which copies
 * chat rows to the store) and the cluster (which forwards them).  Pure: no
 * IO.
 *
 * Row headers are "name\0value\0" pairs (outbox.h).  A chat row is a room
 * topic row whose kind header is CHATROW_KIND_MSG and whose body is the
 * stamped message's JSON (chatmsg_render()): {"id","seq","time","room",
 * "writer","text",...}.
 */
#ifndef CHAT_CORE_CHATROW_H
#define CHAT_CORE_CHATROW_H

#include "buf.h"
#include "chat.h"

#include <stdint.h>

/* What a row is: "msg" (a chat post), "notice", "typing", ... */
#define CHATROW_H_KIND "kind"
#define CHATROW_KIND_MSG "msg"
/* The cluster node a row was written on (db/cluster.h): its ids are that
 * node's, not the outbox seq. */
#define CHATROW_H_ORIGIN "origin"

/* Appends name=value to row headers b (b unchanged on failure). */
int chatrow_hdr_put(chat_buf_t *b, const char *name, const char *value);

/* Finds name in row headers h; 1 and *value (NUL-terminated, pointing into
 * h) when found, else 0 (also for malformed headers). */
int chatrow_hdr_get(chat_slice_t h, const char *name, chat_slice_t *value);

/* 1 when row headers h say a chat post (CHATROW_H_KIND is CHATROW_KIND_MSG). */
int chatrow_is_msg(chat_slice_t h);

/* A chat row's body, parsed. */
typedef struct chatrow_msg {
	int64_t id;       /* the message id (> 0) */
	int64_t room_seq; /* its number in the room */
	int64_t time_ms;  /* when it was stamped */
} chatrow_msg_t;

/* Parses a chat row's body: the numbers into *m, the room id, the writer
 * and the text into room, writer and text (reset first; their max bounds
 * them).  CHAT_OK; CHAT_EINVAL when a member is missing, the id is not
 * positive or a string is empty; or json_parse_object()'s errors. */
int chatrow_parse(chat_slice_t body, chatrow_msg_t *m, chat_buf_t *room, chat_buf_t *writer,
		  chat_buf_t *text);

#endif
