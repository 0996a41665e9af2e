/*
 * background.h - the work nobody's request does: the history relay
 * (db/relay.h), the presence and STOMP heart-beat sweeps (db/broker.h),
 * session expiry after the disconnect delay and outbox pruning.
 *
 * Both programs start it at launch (chat.fcgi and chat-ws), so a stack
 * whose clients only use the raw WebSocket still relays history and times
 * out silent clients.  One process of the machine does it at a time: the
 * holder of the chat.db lease BACKGROUND_LEASE (renewed every second,
 * lost BACKGROUND_LEASE_MS after its holder stops), while the others look
 * whether it is free every BACKGROUND_RETRY_MS - a single statement, so
 * idle processes cost nothing measurable.  The holder sweeps once a
 * second and relays on every doorbell ring (gathering a burst for 50 ms).
 * A CGI process, which lives for one request, does one bounded pass of it
 * after its response instead (background_run_once).
 */
#ifndef CHAT_BACKGROUND_H
#define CHAT_BACKGROUND_H

#include "doorbell.h"
#include "options.h"

#define BACKGROUND_LEASE "background"
#define BACKGROUND_LEASE_MS 5000
#define BACKGROUND_RETRY_MS 2000

/* Starts the background thread of this process once (later calls do
 * nothing).  opt and bell (may be NULL: it then polls every second) are
 * borrowed until background_stop().  Returns CHAT_OK or CHAT_ENOMEM when
 * the thread cannot start. */
CHAT_MUST_CHECK int background_start(const chat_options_t *opt, doorbell_t *bell);

/* Stops and joins the thread (if it runs) and gives its lease up, so that
 * another process takes the work over at once; call it before freeing
 * what background_start() borrowed.  It does not start again. */
void background_stop(void);

/* How long a CGI process may relay after its response. */
#define BACKGROUND_ONCE_MS 2000
/* At most one sweep per this long from CGI processes (the lease
 * BACKGROUND_SWEEP_LEASE, never given up, is what spaces them). */
#define BACKGROUND_SWEEP_LEASE "background-sweep"
#define BACKGROUND_SWEEP_MS 1000

/* The same work for a process that serves one request and ends (plain
 * CGI), without a thread: when no process holds BACKGROUND_LEASE (a
 * sidecar or a FastCGI process would) and there is work (no CGI process
 * swept in the last BACKGROUND_SWEEP_MS, or the relay's cursor is behind
 * the outbox), it takes it, sweeps when due, relays for at most
 * BACKGROUND_ONCE_MS and gives the lease up; both looks are reads.  Call it after the response
 * went out.  opt and bell (may be NULL) are borrowed for the call. */
void background_run_once(const chat_options_t *opt, doorbell_t *bell);

#endif
