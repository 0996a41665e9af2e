/*
 * hookmsg.h - the application hook's messages (docs/hooks.md), pure code:
 * the hook URL, the JSON request the server POSTs, the HTTP/1.0 response
 * coming back and the JSON answer in it.  Everything that comes from the
 * hook is bounded and checked here; no IO, no logging.
 *
 * The answer is one JSON object:
 *   {"error": "why"}                    refuse: an ERROR frame to the sender
 *   {"messages": [ {"destination": D,   where (a SUBSCRIBE's reply: none)
 *                   "body": B,          a string, or any JSON value (sent
 *                                       as its JSON text)
 *                   "headers": {"content-type": T}}, ...]}
 * {} or "messages": [] publish nothing.  Other members are ignored.
 */
#ifndef CHAT_HOOKMSG_H
#define CHAT_HOOKMSG_H

#include "buf.h"
#include "chat.h"

#include <stdint.h>

#define HOOKMSG_OUT_MAX 16             /* messages in one answer */
#define HOOKMSG_ERROR_MAX 160          /* bytes of an answer's error */
#define HOOKMSG_DEST_MAX CHAT_DEST_MAX /* bytes of a destination */
#define HOOKMSG_CTYPE_MAX 128          /* bytes of a content-type */
#define HOOKMSG_HEAD_MAX 8192          /* bytes of a response's status line and headers */
#define HOOKMSG_TOKENS_MAX 1024        /* JSON values in an answer */
#define HOOKMSG_PATH_MAX 512           /* bytes of the URL's path */

/* The hook URL: http://A.B.C.D[:PORT][/PATH] (plain HTTP, numeric IPv4). */
typedef struct hookmsg_url {
	char host[16];                   /* dotted quad */
	int port;                        /* 1..65535, 80 by default */
	char path[HOOKMSG_PATH_MAX + 1]; /* "/" by default; printable ASCII */
} hookmsg_url_t;

/* Parses url into u.  Returns 0 or CHAT_EINVAL (err, may be NULL, says why). */
int hookmsg_url_parse(const char *url, hookmsg_url_t *u, chat_error_t *err);

/* What a request carries. */
typedef struct hookmsg_request {
	const char *type;    /* "SEND" or "SUBSCRIBE" */
	const char *user;    /* the session's user */
	const char *session; /* the session's chat.db key (c: + SockJS id) */
	const char *destination;
	const chat_slice_t *hdrs; /* name, value, name, value... (the frame's headers) */
	size_t nhdrs;             /* pairs */
	chat_slice_t body;        /* valid UTF-8 */
} hookmsg_request_t;

/* Appends the request as JSON: {"type","user","session","destination",
 * "headers":{...},"body"}; a header repeated keeps its first value (as
 * STOMP does).  Returns 0, CHAT_EUTF8 (a header or the body is not UTF-8),
 * CHAT_ETOOBIG, CHAT_ENOMEM; out unchanged on failure. */
int hookmsg_request_render(chat_buf_t *out, const hookmsg_request_t *rq);

/* A parsed HTTP response (slices point into the input). */
typedef struct hookmsg_http {
	int status;        /* 100..999 */
	chat_slice_t body; /* Content-Length bytes, or up to the end at EOF */
} hookmsg_http_t;

/* Parses the HTTP/1.x response p[0..len); eof: nothing more will come.
 * Returns 0 (complete: r filled); CHAT_EAGAIN (need more bytes);
 * CHAT_EINVAL (not a response, bad Content-Length, chunked or otherwise
 * encoded body, truncated at EOF); CHAT_ETOOBIG (status line and headers
 * over HOOKMSG_HEAD_MAX). */
int hookmsg_http_parse(const char *p, size_t len, int eof, hookmsg_http_t *r);

/* One message of an answer. */
typedef struct hookmsg_out {
	chat_buf_t dest;  /* empty: none given */
	chat_buf_t ctype; /* empty: none given */
	chat_buf_t body;
} hookmsg_out_t;

typedef struct hookmsg_answer {
	int has_error; /* 1: "error" was given (in error) */
	chat_buf_t error;
	size_t n; /* messages */
	hookmsg_out_t out[HOOKMSG_OUT_MAX];
} hookmsg_answer_t;

/* Initialises an empty answer whose bodies hold at most body_max bytes
 * each.  Allocates nothing. */
void hookmsg_answer_init(hookmsg_answer_t *a, size_t body_max);

/* Frees what a holds; a stays initialised and empty.  NULL-safe. */
void hookmsg_answer_free(hookmsg_answer_t *a);

/* Parses one message object {"destination","body","headers"} as in an
 * answer (and in a POST /api/publish body) into o, which the caller
 * initialised; the rest as hookmsg_answer_parse(). */
int hookmsg_message_parse(const char *p, size_t len, hookmsg_out_t *o, chat_error_t *err);

/* Parses the answer p[0..len) into a (emptied first).  Returns 0;
 * CHAT_EINVAL (not such an object; err says which part); CHAT_EUTF8;
 * CHAT_ETOOBIG (a body, destination, content-type or error too long);
 * CHAT_ETOOMANY (more than HOOKMSG_OUT_MAX messages or HOOKMSG_TOKENS_MAX
 * values); CHAT_ENOMEM.  On failure a is empty.  The token array
 * (HOOKMSG_TOKENS_MAX jtok_t) is allocated for the call and freed. */
int hookmsg_answer_parse(const char *p, size_t len, hookmsg_answer_t *a, chat_error_t *err);

#endif
