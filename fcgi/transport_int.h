/*
 * transport_int.h - what the two halves of the SockJS HTTP transports share
 * (transport.c: the headers, the sending transports and the dispatch by
 * transport; transport_recv.c: the receiving ones).  Private to
 * fcgi/transport*.c.
 */
#ifndef CHAT_TRANSPORT_INT_H
#define CHAT_TRANSPORT_INT_H

#include "transport.h"

/* What a transport is: its method, content type and whether it streams. */
typedef struct transport__info {
	const char *method;
	const char *content_type;
	int receiving; /* holds the session's lease and gets frames */
	int streaming; /* several frames per response */
	int callback;  /* needs the c= callback parameter */
	int cors;      /* answers OPTIONS preflights */
} transport__info_t;

/* Serves receiving transport t (ti: its row) on session key until there is
 * something to answer (polling), or until the response limit, the
 * session's close or the client's departure (streaming).  callback: the
 * c= parameter (empty when the transport takes none); head: the headers of
 * the response (transport_common_headers()). */
void transport__serve_receive(worker_t *w, http_request_t *r, const service_t *s,
			      sockjs_transport_t t, const transport__info_t *ti, const char *key,
			      chat_slice_t callback, chat_buf_t *head);

#endif
