/*
 * server.h - chat-ws's server: one libwebsockets event loop carrying the
 * SockJS WebSocket transport (/PREFIX/SERVER/SESSION/websocket, with SockJS
 * framing) and raw WebSockets (/PREFIX/websocket) for every service of
 * db/service.h, behind the front server's WebSocket proxy.
 *
 * Each socket is its own session in chat.db (WebSocket sessions may reuse
 * a SockJS session id, even at once, and stay independent), created and
 * leased when the socket opens.  When the socket closes its session is
 * closed and its lease released, not deleted: what it left unacknowledged
 * stays for its user's next subscription until the expiry deletes the
 * session disconnect_delay_ms later (db/background.c).  Client
 * messages go through service_receive() like an xhr_send.  Every socket's
 * session is attached to the process's dispatcher (db/dispatch.h): when
 * the doorbell rings (a waiter thread turns the ring into
 * lws_cancel_service()) it reads the new rows once and wakes only the
 * sockets they concern.  A socket is filled from its batch when its write
 * queue is empty, so a slow reader lags in the outbox, is fed as it drains
 * and never blocks the others.
 */
#ifndef CHAT_WS_SERVER_H
#define CHAT_WS_SERVER_H

#include "chat.h"
#include "options.h"

typedef struct wsserver wsserver_t;

/* Opens chat.db and the doorbell named by opt, listens on
 * opt->ws_listen:opt->ws_port and starts the doorbell waiter thread.  opt
 * is borrowed and must outlive the server.  On success *out owns the
 * server (wsserver_close()).  Errors: CHAT_EIO (cannot listen, cannot open a
 * file), CHAT_EDB, CHAT_ENOMEM; detail in err (may be NULL). */
int wsserver_open(const chat_options_t *opt, wsserver_t **out, chat_error_t *err);

/* Runs the event loop until a shutdown requested with wsserver_stop() has
 * closed every socket (each with 1001 "Server shutting down", after the
 * frames queued before it) or its grace period ran out.  Returns 0. */
int wsserver_run(wsserver_t *srv);

/* Requests the graceful shutdown.  Safe from any thread (not from a signal
 * handler: use a thread that waits for the signal). */
void wsserver_stop(wsserver_t *srv);

/* Closes whatever is still open, stops the waiter thread and frees.
 * NULL-safe.  Not concurrent with wsserver_run(). */
void wsserver_close(wsserver_t *srv);

#endif
