/*
 * heartbeat.h - the STOMP 1.1+ heart-beat rules as this server applies
 * them: what a CONNECT's heart-beat:cx,cy agrees with the server's options,
 * when the server's next heart-beat EOL is due, and when a client that
 * promised heart-beats is dead.  Pure: every time is a parameter (the
 * caller's clock, in ms; a test's fake one), nothing here reads a clock.
 *
 * The broker stores the agreed intervals at CONNECT (db/broker.c), the
 * shells send at heartbeat_send_ms() (ws/server.c, fcgi/transport_recv.c) and
 * the heart-beat sweep ends the dead (broker_heartbeat_sweep(), whose SQL
 * applies heartbeat_dead_after(); tests/unit/db/test_heartbeat.c holds
 * the two to the same bound).
 */
#ifndef CHAT_HEARTBEAT_H
#define CHAT_HEARTBEAT_H

#include <stdint.h>

/* The shortest server heart-beat interval: a smaller server interval (but
 * 0) counts as this, so no timer spins. */
#define HEARTBEAT_MIN_MS 100

/* How often the server sends a heart-beat EOL to a client whose CONNECT
 * asked for one every client_recv_ms (cy, its heart-beat header's second
 * value) when the server offers one every server_ms (stomp_heartbeat_ms):
 * max(server_ms, HEARTBEAT_MIN_MS, cy), 0 (none) when either is 0. */
int64_t heartbeat_send_ms(int64_t server_ms, int64_t client_recv_ms);

/* How often the server takes the heart-beats of a client that offered one
 * every client_send_ms (cx, the header's first value): max(cx, floor_ms),
 * floor_ms being the SockJS heartbeat interval (a SockJS client cannot be
 * heard more often than its transport comes back); 0 (none) when cx is 0.
 * CONNECTED's heart-beat header says server_ms,this. */
int64_t heartbeat_expect_ms(int64_t client_send_ms, int64_t floor_ms);

/* Whether a heart-beat EOL is due at now_ms for a client the server last
 * sent anything at last_sent_ms, at interval_ms (heartbeat_send_ms(); 0:
 * never): when the interval is out by now_ms + early_ms.  A sender that
 * looks every tick passes the tick as early_ms, so the EOL goes a little
 * early rather than up to a tick late. */
int heartbeat_send_due(int64_t interval_ms, int64_t last_sent_ms, int64_t now_ms, int64_t early_ms);

/* The silence after which a client that promised heart-beats every
 * expect_ms (heartbeat_expect_ms(); 0: none) is dead: twice that (the
 * STOMP spec's leeway for network delay) or liveness_ms
 * (stomp_liveness_ms), whichever is longer; 0 when it promised none (never
 * dead). */
int64_t heartbeat_dead_after(int64_t expect_ms, int64_t liveness_ms);

/* Whether such a client, last heard (anything: a frame, an EOL, a SockJS
 * request, a pong) at heard_ms, is dead at now_ms: silent for longer than
 * heartbeat_dead_after(). */
int heartbeat_peer_dead(int64_t expect_ms, int64_t liveness_ms, int64_t heard_ms, int64_t now_ms);

#endif
