/*
 * server_int.h - what the files of chat-ws's server share (private to ws/):
 * its bounds, one socket (conn_t), the server (struct wsserver), and the
 * functions of the upgrade checks (upgrade.c) and of the sockets (conn.c).
 * Everything here runs on the loop thread.  server.h is the public side.
 */
#ifndef CHAT_WS_SERVER_INT_H
#define CHAT_WS_SERVER_INT_H

#include "server.h"

#include "chatdb.h"
#include "dispatch.h"
#include "doorbell.h"
#include "route.h"
#include "service.h"
#include "session.h"
#include "sockjs.h"
#include "wsq.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>

/* Most messages queued on one socket before it counts as a slow reader. */
#define WS_QUEUE_MAX_COUNT 1024
/* Most bytes queued on one socket: this, or two of the largest frames. */
#define WS_QUEUE_MIN_BYTES (1024 * 1024)
/* Bytes handed to lws per writeable callback (a message goes out as
 * several WebSocket fragments when it is longer). */
#define WS_WRITE_CHUNK (16 * 1024)
/* Messages per a[...] frame. */
#define WS_BATCH_ITEMS 256
/* How long past a heartbeat a socket's session lease lasts. */
#define WS_LEASE_SLACK_MS 5000
/* How long a socket being closed may take to flush before it is cut. */
#define WS_CLOSE_TIMEOUT_S 5
/* How long the shutdown waits for sockets to close. */
#define WS_SHUTDOWN_GRACE_US (3 * LWS_US_PER_SEC)
/* Buckets of the session-key hash of live sockets. */
#define WS_HASH_BUCKETS 4096
/* Longest request path looked at (longer: 404). */
#define WS_PATH_MAX 1024
/* Longest Origin header looked at (longer: refused). */
#define WS_ORIGIN_MAX 1024
/* Longest Connection header looked at (longer: 400). */
#define WS_CONNECTION_MAX 256
/* A WebSocket close reason fits in a control frame: 123 bytes. */
#define WS_REASON_MAX 123

/* Close codes of ours (RFC 6455 section 7.4.1). */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL 1011
#define WS_CLOSE_TRY_AGAIN 1013
#define WS_CLOSE_BROKEN_FRAMING 3000 /* what sockjs-node sends for broken JSON */

typedef struct conn conn_t;

/* lws's receive buffer per socket, in bytes. */
#define WS_RX_BUFFER 512

/* One WebSocket: lws's per-session user space (zeroed by lws). */
struct conn {
	conn_t *prev, *next; /* in the server's list while live */
	conn_t *hnext;       /* in its bucket of the server's key hash */
	dispatch_sess_t *ds; /* its session in the dispatcher (while live) */
	struct lws *wsi;
	const service_t *svc;
	int framed;  /* SockJS framing (session URL), else raw */
	int live;    /* has a session row and is in the list */
	int closing; /* close decided: flush the queue, then close */
	int close_code;
	char close_reason[WS_REASON_MAX + 1];
	int64_t saved_cursor;  /* last cursor written to chat.db */
	int64_t stomp_sent_ms; /* monotonic time STOMP data was last queued */
	int ponged;            /* a pong came since the last heartbeat */
	wsq_t q;               /* frames waiting for writeable */
	chat_buf_t rx;         /* the client message being received */
	char key[CHATDB_ID_MAX + 1];
	char user[SESSION_USER_MAX + 1]; /* its STOMP user once known, for the log */
};

/* Subprotocol names the sockets answer to (server.c): ours first. */
#define WS_NPROTOCOLS 4
extern const char *const ws_protocol_names[WS_NPROTOCOLS];


struct wsserver {
	const chat_options_t *opt; /* borrowed */
	service_t services[SERVICE_MAX];
	const char *prefixes[SERVICE_MAX]; /* services[i].prefix, for route_parse */
	size_t nservices;
	service_ctx_t svc;       /* svc.db: the loop thread's handle (owned) */
	doorbell_t *bell;        /* owned */
	struct lws_context *ctx; /* owned */
	struct lws_protocols protocols[WS_NPROTOCOLS + 1]; /* NULL-terminated */
	lws_retry_bo_t retry;                              /* ping/pong keepalive */
	lws_sorted_usec_list_t grace;                      /* shutdown deadline */
	lws_sorted_usec_list_t beat;                       /* heartbeats, leases, cursors */
	lws_sorted_usec_list_t stomp_beat;                 /* STOMP heart-beats of every socket */
	dispatch_t *disp;                 /* the fan-out (reads with svc.db; owned) */
	size_t batch_max_bytes;           /* what one socket's batch may hold */
	conn_t *conns;                    /* live sockets */
	conn_t *buckets[WS_HASH_BUCKETS]; /* live sockets by session key */
	size_t nconns;
	char owner[CHATDB_ID_MAX + 1]; /* lease owner of every socket's session */
	char nonce[9];                 /* this run's tag in session keys */
	unsigned long long opened;     /* sockets opened, for session keys */
	int64_t lease_ms;
	size_t queue_max_bytes;
	size_t rx_max_framed, rx_max_raw; /* message caps on the wire */
	json_strv_t in;                   /* scratch: one decoded client message */
	json_strv_t out;                  /* scratch: collected messages */
	chat_buf_t frame;                 /* scratch: one SockJS frame */
	pthread_t waiter;
	int waiter_started;
	atomic_int waiter_stop;
	atomic_int stop_requested;
	int shutting_down; /* loop thread: closes started */
	int done;          /* loop thread: leave wsserver_run */
};

/* ---- upgrade.c: plain HTTP answers and the checks before a 101 ---- */

/* The service a WebSocket URL names, with *framed telling a SockJS session
 * URL from a raw one, or NULL when the path is no WebSocket URL of a
 * service that offers WebSocket (404). */
const service_t *upgrade_route(wsserver_t *srv, struct lws *wsi, int *framed, route_t *rt,
			       int *is_get);
/* LWS_CALLBACK_HTTP: a request without a WebSocket upgrade. */
int upgrade_http(wsserver_t *srv, struct lws *wsi);
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 lets the upgrade go on, 1 answered
 * it, -1 hangs up. */
int upgrade_confirm(wsserver_t *srv, struct lws *wsi, const char *protocol);

/* ---- conn.c: the sockets ---- */

/* Starts closing c with code and reason once its queue is flushed. */
void conn_close(wsserver_t *srv, conn_t *c, int code, const char *reason);
/* Queues one message on c (closing it when its queue is full). */
int conn_queue(wsserver_t *srv, conn_t *c, const char *p, size_t len);
/* Fills every socket the dispatcher has something for. */
void conn_deliver_all(wsserver_t *srv);
/* Ends c's session and unlinks it (LWS_CALLBACK_CLOSED and failures). */
void conn_release(wsserver_t *srv, conn_t *c);
/* LWS_CALLBACK_ESTABLISHED, RECEIVE and SERVER_WRITEABLE of one socket. */
int conn_established(wsserver_t *srv, conn_t *c, struct lws *wsi);
int conn_receive(wsserver_t *srv, conn_t *c, const void *in, size_t len);
int conn_writeable(wsserver_t *srv, conn_t *c);
/* session_closed_owned()'s callback: another process closed session id. */
void conn_closed_elsewhere(void *ctx, const char *id, int code, const char *reason);

#endif
