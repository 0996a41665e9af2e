/*
 * chatroom_int.h - what chatroom.c and chatroom_list.c share and no other
 * module uses.
 */
#ifndef CHAT_CHATROOM_INT_H
#define CHAT_CHATROOM_INT_H

#include "chatroom.h"

struct sqlite3_stmt;

/* The chat_rooms columns chatroom__read_row() reads, in its order. */
#define CHATROOM__COLS "name, id, creator, created_ms, stored, deleted_ms, display"

/* Copies the current row of st (a SELECT of CHATROOM__COLS) into *r. */
void chatroom__read_row(struct sqlite3_stmt *st, chatroom_t *r);

#endif
