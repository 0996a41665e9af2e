/*
 * chatapp.h - what the chat application (db/chatapp*.c, which the broker
 * calls through broker_app_ops_t) offers the other db/ modules: the rooms'
 * post counters (chat_room_seq) and the presence this node announced
 * (chat_presence).  chatapp_room.c owns both tables; the history relay
 * and the cluster relay call these instead of reading them.  Each runs in
 * the caller's transaction when there is one.
 */
#ifndef CHAT_CHATAPP_H
#define CHAT_CHATAPP_H

#include "chat.h"
#include "chatdb.h"

#include <stdint.h>

/* *known = 1 when chat.db has a post counter for room, else 0. */
CHAT_MUST_CHECK int chatapp_room_seq_known(chatdb_t *db, const char *room, int *known,
					   chat_error_t *err);

/* Raises room's post counter to seq when it is absent or lower (the
 * room's next post gets seq + 1); a higher counter stays. */
CHAT_MUST_CHECK int chatapp_room_seq_floor(chatdb_t *db, const char *room, int64_t seq,
					   chat_error_t *err);

/* *present = 1 when this node has announced user in room (an ENTER with
 * no LEAVE since), else 0. */
CHAT_MUST_CHECK int chatapp_presence_has(chatdb_t *db, const char *room, const char *user,
					 int *present, chat_error_t *err);

/* One announced (room, user) pair; CHAT_OK goes on, CHAT_STOP stops the
 * walk (which then returns CHAT_OK), another code stops it and is
 * returned.  The strings last for the call only. */
typedef int (*chatapp_presence_cb)(void *ctx, const char *room, const char *user);

/* Calls cb for each pair this node has announced, in no set order. */
CHAT_MUST_CHECK int chatapp_presence_each(chatdb_t *db, chatapp_presence_cb cb, void *ctx,
					  chat_error_t *err);

#endif
