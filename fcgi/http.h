/*
 * http.h - the HTTP side of one request, FastCGI or plain CGI (one request
 * per process: parameters in the environment, the body on stdin, the
 * response on stdout): what the front server passed (method, REQUEST_URI
 * split into path and query, request headers), a bounded body reader, and
 * a response writer that sends the status line and headers once, then body
 * bytes, flushing so streaming transports are not held back.  No protocol
 * logic lives here.
 */
#ifndef CHAT_HTTP_H
#define CHAT_HTTP_H

#include "buf.h"
#include "chat.h"

#include <fcgiapp.h>

typedef struct http_request {
	FCGX_Request *fcgx;   /* borrowed, valid until FCGX_Finish_r; NULL: CGI */
	char **envp;          /* the request's parameters (CGI: the environment) */
	int conn_fd;          /* hangs up when the front server drops the request */
	short conn_events;    /* poll() events on conn_fd that also mean "look" */
	const char *method;   /* "GET", "POST", ... never NULL */
	chat_slice_t path;    /* REQUEST_URI up to '?', still percent-encoded */
	chat_slice_t query;   /* after '?', empty if none */
	int headers_sent;     /* 1 once the status line and headers went out */
	long long bytes_sent; /* body bytes written so far */
	int body_timeout_ms;  /* longest silence reading the body; 0: none */
} http_request_t;

/* Fills r from an accepted FastCGI request.  Returns 0 or CHAT_EINVAL when
 * the front server passed no REQUEST_URI. */
int http_request_init(http_request_t *r, FCGX_Request *f);

/* Fills r from the CGI environment envp (borrowed): the body is read from
 * fd 0 (CONTENT_LENGTH bytes), the response written to fd 1.  Returns 0 or
 * CHAT_EINVAL when there is no REQUEST_URI. */
int http_request_init_cgi(http_request_t *r, char **envp);

/* Whether the front server closed or aborted the request: a hang-up of
 * r->conn_fd, and under FastCGI EOF or any bytes after the request body
 * (an FCGI_ABORT_REQUEST record).  Does not block. */
int http_client_gone(const http_request_t *r);

/* CGI: lighttpd mod_cgi and Apache mod_cgid end the program of a request
 * whose client went away with SIGTERM.  Makes SIGTERM set a flag that
 * http_client_gone() reports (so a held request ends its session as for
 * a failed write, and the process exits), and unblocks it in the calling
 * thread; block it in every other thread before they start. */
int http_cgi_catch_term(void);

/* A request header by CGI name ("HTTP_ORIGIN", "CONTENT_TYPE"), or NULL. */
const char *http_param(const http_request_t *r, const char *name);

/* Reads the request body into out (whose max bounds it), waiting at most
 * r->body_timeout_ms for each part of it.  Returns 0, CHAT_ETOOBIG when the
 * body is larger than out->max (nothing more is read), CHAT_ETIMEDOUT when
 * the front server passed nothing for that long (a client that never sends
 * its body, where the front streams request bodies), or CHAT_EIO. */
int http_read_body(http_request_t *r, chat_buf_t *out);

/* Sends the status line and headers.  headers is a block of complete
 * "Name: value\r\n" lines (may be NULL).  Returns 0 or CHAT_EIO. */
int http_start(http_request_t *r, int status, const char *content_type, const char *headers);

/* Sends body bytes and flushes them to the front server.  Returns 0 or
 * CHAT_EIO (the client went away). */
int http_write(http_request_t *r, const void *data, size_t len);

/* A whole response: http_start then http_write. */
int http_respond(http_request_t *r, int status, const char *content_type, const char *headers,
		 const void *body, size_t len);

/* A whole text/plain (UTF-8) response with the string body; headers as for
 * http_start().  Returns 0 or CHAT_EIO. */
int http_respond_text(http_request_t *r, int status, const char *headers, const char *body);

/* The reason phrase of a status code ("Not Found"). */
const char *http_reason(int status);

#endif
