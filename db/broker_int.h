/*
 * broker_int.h - what the broker's files (broker*.c) and the chat
 * application's (chatapp*.c) share; not for other modules.  Shared
 * functions are broker__name (broker*.c) or chatapp__name (chatapp*.c).
 */
#ifndef CHAT_DB_BROKER_INT_H
#define CHAT_DB_BROKER_INT_H

#include "broker.h"
#include "broker_state.h"
#include "cluster.h"

#include "auth.h"
#include "chatmsg.h"
#include "chatroom.h"
#include "delivery.h"
#include "dest.h"
#include "dm.h"
#include "hook.h"
#include "log.h"
#include "json.h"
#include "metrics.h"
#include "queue.h"
#include "ratelimit.h"
#include "relay.h"
#include "session.h"
#include "stomp.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BROKER_SERVER "chat/" PACKAGE_VERSION

/* Most messages one resume delivers (the newest; older ones are paged with
 * the history destination's before header). */
#define BROKER_RESUME_MAX 1000

typedef struct hmsg {
	int64_t id, room_seq, time_ms;
	char *writer;
	char *text;
	size_t text_len;
} hmsg_t;

typedef struct hlist {
	hmsg_t *v;
	size_t n, cap;
} hlist_t;

/* What a frame needs from the durable store, read before its transaction
 * (a store call never runs while chat.db's write lock is held). */
typedef enum prefetch_kind {
	PRE_NONE,
	PRE_HISTORY, /* SUBSCRIBE /app/chat/room/{id}/history */
	PRE_RESUME   /* SUBSCRIBE /topic/chat/room/{id} with after */
} prefetch_kind_t;

typedef struct prefetch {
	prefetch_kind_t kind;
	chatroom_t room;
	int64_t relay0; /* relay cursor before the store read: ids <= it are in the store */
	int64_t lo, hi; /* wanted ids: lo < id < hi */
	size_t keep;    /* newest messages kept */
	int partial;    /* the store failed: only what the outbox still holds */
	hlist_t msgs;
	int dm_rc; /* SEND APP/dm/{user}[/typing]: the store's answer (1: not asked) */
	char dm_peer[STORE_USER_NAME_MAX + 1]; /* the user's name as registered */
} prefetch_t;

/* Longest ERROR message header the broker writes. */
#define BROKER_PERR_MAX 200

typedef struct broker_app_ops broker_app_ops_t;

typedef struct broker {
	chatdb_t *db;
	const chat_options_t *opt;
	const char *key;
	const char *peer; /* the client's address (NULL: unknown) */
	int64_t now_ms;
	chat_error_t *err;
	session_info_t info;     /* the session row, loaded per frame */
	int connected;           /* CONNECT succeeded */
	stomp_version_t version; /* negotiated (1.2 until then) */
	chat_error_t refusal;    /* why broker__refuse() refused the frame: the ERROR's message */
	int ended;               /* the session ends after this frame */
	int64_t tx_seq;          /* last seq appended in the open transaction */
	int64_t ring_seq;        /* last seq committed: ring the doorbell with it */
	chat_buf_t frame;        /* a frame being serialised */
	chat_buf_t hdrs;         /* row headers being encoded */
	chat_buf_t scratch;      /* message bodies built by handlers */
	store_t **store;         /* the caller's store slot (NULL: no store) */
	chat_error_t auth; /* CONNECT's passcode checked before the transaction: the status, why */
	char auth_user[SESSION_USER_MAX + 1]; /* and whose it is */
	auth_grant_t auth_grant;              /* how: the token's hash and expiry */
	prefetch_t pre;                       /* store reads done before the transaction */
	int retry;                            /* the prefetch went stale: run the frame again */
	int no_retry;                         /* stale or not, use the prefetch (tried enough) */
	int partial_held;                     /* chat.db holds a partial frame not yet consumed */
	int hook_done;                        /* the application hook was called for this frame */
	chat_error_t hook_err;                /* and how that went: the status, why it failed */
	hookmsg_answer_t hook;                /* its answer */
	int rate_taken;              /* the SEND's rate token was taken before the hook call */
	int rate_refused;            /* or it was refused (and the session told) then */
	const broker_app_ops_t *app; /* the application behind /app destinations */
} broker_t;

/* The application behind /app destinations, as the broker calls it: the
 * built-in chat application (chatapp.c's chatapp_ops), which passes what
 * it does not handle to the application hook (chatapp_hook.c).  Handlers
 * run inside the frame's transaction unless said otherwise, and refuse a
 * frame with broker__refuse(). */
struct broker_app_ops {
	/* Before the frame's transaction (no write lock held; the store and
	 * the hook may be asked): f is not a CONNECT; dest may be NULL. */
	CHAT_MUST_CHECK int (*prepare)(broker_t *b, const stomp_frame_t *f, const char *dest);
	/* Frees what prepare() kept (before the next frame, and at the end). */
	void (*release)(broker_t *b);
	/* 1 when a SEND to dest may wait in a STOMP transaction for COMMIT. */
	int (*send_in_tx)(const broker_t *b, const char *dest);
	/* A SEND that takes no token from the user's SEND bucket: *handled
	 * 1 when it was one (handled, with its status returned), 0 (and
	 * CHAT_OK) when it takes the token. */
	CHAT_MUST_CHECK int (*send_unmetered)(broker_t *b, const char *dest, int *handled);
	/* SEND and SUBSCRIBE to an /app destination. */
	CHAT_MUST_CHECK int (*send)(broker_t *b, const char *dest, chat_slice_t body);
	CHAT_MUST_CHECK int (*subscribe)(broker_t *b, const char *id, const char *dest);
	/* A SUBSCRIBE to broker destination topic (as kept): checked before
	 * the subscription is kept (*watched: the application follows it),
	 * told once it is, and told when one of the session's subscriptions
	 * to topic is gone. */
	CHAT_MUST_CHECK int (*topic_check)(broker_t *b, const stomp_frame_t *f, const char *topic,
					   int *watched);
	CHAT_MUST_CHECK int (*topic_subscribed)(broker_t *b, const char *id, const char *topic,
						int watched);
	CHAT_MUST_CHECK int (*topic_gone)(broker_t *b, const char *topic);
};

extern const broker_app_ops_t chatapp_ops;

/* broker.c */

/* Errors.  Every broker__ and chatapp__ function returns a status (0 or a
 * CHAT_E* code), with human detail in an error struct: a database or
 * store failure's in b->err (the caller's), a refused frame's in
 * b->refusal.  CHAT_EPROTO is the refusal, and only it: the frame is
 * rolled back and answered with ERROR (b->refusal's message, at most
 * BROKER_PERR_MAX - 1 bytes), then the session ends.  broker__refuse()
 * records the printf-style message and returns CHAT_EPROTO, for the
 * handler to pass up. */
__attribute__((format(printf, 2, 3))) CHAT_MUST_CHECK int broker__refuse(broker_t *b,
									 const char *fmt, ...);
const char *broker__header(const stomp_frame_t *f, const char *name);
CHAT_MUST_CHECK int broker__exec2(broker_t *b, const char *sql, const char *a2, const char *what);
CHAT_MUST_CHECK int broker__query_int(broker_t *b, const char *sql, const char *a1, const char *a2,
				      int64_t *out, int *found, const char *what);
CHAT_MUST_CHECK int broker__load_state(broker_t *b);
CHAT_MUST_CHECK int broker__append(broker_t *b, const char *dest, const char *target,
				   chat_slice_t headers, chat_slice_t body, int64_t *seq_out);
CHAT_MUST_CHECK int broker__send_frame(broker_t *b, int close_code, const char *close_reason);
CHAT_MUST_CHECK int broker__next_seq(broker_t *b, int64_t *seq);
void broker__store_failed(broker_t *b);
store_t *broker__get_store(broker_t *b);
CHAT_MUST_CHECK int broker__header_int(const stomp_frame_t *f, const char *name, int64_t min,
				       int64_t max, int64_t *out, int *found);
CHAT_MUST_CHECK int broker__send_change(broker_t *b, const char *const *pairs);
CHAT_MUST_CHECK int broker__forget(broker_t *b);
CHAT_MUST_CHECK int broker__dispatch(broker_t *b, const stomp_frame_t *f, int replay);
void broker__rollback(broker_t *b);
CHAT_MUST_CHECK int broker__commit(broker_t *b);
CHAT_MUST_CHECK int broker__fail(broker_t *b, const char *receipt);
/* Refuses with msg and answers at once, as broker__fail(b, NULL): for a
 * refusal no frame handler passes up (a rejected parse, a sweep). */
CHAT_MUST_CHECK int broker__fail_now(broker_t *b, const char *msg);
const char *broker__token_end_message(int expired);
CHAT_MUST_CHECK int broker__check_token(broker_t *b);
void broker__setup(broker_t *b, chatdb_t *db, const chat_options_t *opt, store_t **store,
		   const char *key, int64_t now_ms, chat_error_t *err);
void broker__teardown(broker_t *b);

/* broker_connect.c */
CHAT_MUST_CHECK int broker__connect_prepare(broker_t *b, const stomp_frame_t *f);
CHAT_MUST_CHECK int broker__on_connect(broker_t *b, const stomp_frame_t *f);
CHAT_MUST_CHECK int broker__on_disconnect(broker_t *b, const stomp_frame_t *f);

/* broker_subscribe.c */
CHAT_MUST_CHECK int broker__on_subscribe(broker_t *b, const stomp_frame_t *f);
CHAT_MUST_CHECK int broker__on_unsubscribe(broker_t *b, const stomp_frame_t *f);

/* broker_send.c */
CHAT_MUST_CHECK int broker__message_headers(broker_t *b, const char *sub, const char *ctype,
					    const char *sender);
CHAT_MUST_CHECK int broker__send_queue(broker_t *b, const char *dest, const char *ctype,
				       const char *sender, chat_slice_t body,
				       const char *skip_session, const char *skip_sub);
CHAT_MUST_CHECK int broker__publish(broker_t *b, const char *dest, dest_kind_t kind,
				    const char *ctype, const char *sender, chat_slice_t body);
/* Takes a token from the user's SEND bucket (rate_sends, or
 * rate_guest_sends for a guest).  CHAT_OK with *refused 0: go on; with
 * *refused 1: the SEND is refused and the session was told (a MESSAGE on
 * its /user/queue/errors subscription), nothing more to do.  CHAT_EPROTO:
 * refused with an ERROR (no such subscription, or too many refusals); or
 * a database error. */
CHAT_MUST_CHECK int broker__over_rate(broker_t *b, const char *dest, int *refused);
CHAT_MUST_CHECK int broker__on_send(broker_t *b, const stomp_frame_t *f, int replay);

/* broker_ack.c */
CHAT_MUST_CHECK int broker__adopt_orphans(broker_t *b, const char *sub_id, const char *sub_dest,
					  session_ack_t ack);
CHAT_MUST_CHECK int broker__unacked_drop_sub(broker_t *b, const char *sub_id);
CHAT_MUST_CHECK int broker__on_ack(broker_t *b, const stomp_frame_t *f, int replay, int nack);

/* broker_tx.c */
CHAT_MUST_CHECK int broker__buffer_in_tx(broker_t *b, const stomp_frame_t *f, const char *tx);
CHAT_MUST_CHECK int broker__on_begin(broker_t *b, const stomp_frame_t *f);
CHAT_MUST_CHECK int broker__on_commit(broker_t *b, const stomp_frame_t *f, int abort);
CHAT_MUST_CHECK int broker__tx_clear(broker_t *b);

/* chatapp.c */
int chatapp__room_of(const char *dest, int app, const char *suffix,
		     char room[CHATMSG_ROOM_MAX + 1]);
int chatapp__dm_of(const char *dest, const char *suffix, char name[CHATMSG_NAME_MAX + 1]);
int chatapp__is_app_dest(const char *dest);
int chatapp__builtin(const char *dest, int sub);
CHAT_MUST_CHECK int chatapp__reply_once(broker_t *b, const char *sub_id, const char *dest,
					int64_t mid, const char *ctype, chat_slice_t body);

/* chatapp_room.c */
CHAT_MUST_CHECK int chatapp__enter(broker_t *b, const char *room);
CHAT_MUST_CHECK int chatapp__leave_if_gone(broker_t *b, const char *topic);
CHAT_MUST_CHECK int chatapp__app_post(broker_t *b, const char *room, chat_slice_t body);
CHAT_MUST_CHECK int chatapp__app_room(broker_t *b, chat_slice_t body, int del);
CHAT_MUST_CHECK int chatapp__typing_body(broker_t *b, const char *key_name, const char *value,
					 int *over);
CHAT_MUST_CHECK int chatapp__app_typing(broker_t *b, const char *dest);

/* chatapp_dm.c */
CHAT_MUST_CHECK int chatapp__app_dm(broker_t *b, chat_slice_t body);
CHAT_MUST_CHECK int chatapp__app_dm_read(broker_t *b, const char *peer, chat_slice_t body);
CHAT_MUST_CHECK int chatapp__app_dm_typing(broker_t *b);

/* chatapp_history.c */
void chatapp__hlist_free(hlist_t *l);
CHAT_MUST_CHECK int chatapp__history_prepare(broker_t *b, const stomp_frame_t *f, const char *dest);
CHAT_MUST_CHECK int chatapp__prefetch_outbox(broker_t *b);
CHAT_MUST_CHECK int chatapp__reply_history(broker_t *b, const char *sub_id, const char *dest);
CHAT_MUST_CHECK int chatapp__resume(broker_t *b, const char *sub_id, const char *dest);

/* chatapp_hook.c */
int chatapp__hook_wanted(const broker_t *b, const stomp_frame_t *f, const char *dest);
CHAT_MUST_CHECK int chatapp__call_hook(broker_t *b, const stomp_frame_t *f, const char *dest);
CHAT_MUST_CHECK int chatapp__apply_hook(broker_t *b, const char *sub_id, const char *dest);

#endif
