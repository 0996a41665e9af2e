/*
 * httpreq.h - the pure parts of chat.fcgi's HTTP side, apart from the
 * FastCGI/CGI input and output of http.c: splitting REQUEST_URI, which
 * header values may be echoed back, the CORS headers, the JSESSIONID
 * cookie and the path below SCRIPT_NAME's directory.  No IO, no global
 * state: each takes the request's parameters as strings (NULL when the
 * front server passed none).
 */
#ifndef CHAT_HTTPREQ_H
#define CHAT_HTTPREQ_H

#include "buf.h"
#include "chat.h"

#include <stddef.h>

/* Longest Origin, JSESSIONID and Access-Control-Request-Headers values
 * echoed back. */
#define HTTPREQ_ORIGIN_MAX 512
#define HTTPREQ_COOKIE_MAX 128
#define HTTPREQ_REQ_HEADERS_MAX 1024

/* Splits uri (REQUEST_URI, borrowed) into the path up to '?' and the query
 * after it (empty if none).  query_string (QUERY_STRING, may be NULL) is
 * the query when given: Apache's REQUEST_URI has none. */
void httpreq_split_uri(const char *uri, const char *query_string, chat_slice_t *path,
		       chat_slice_t *query);

/* 1 when v may be echoed in a header: at most max bytes and no control
 * character (tab, CR, LF... or DEL), else 0. */
int httpreq_header_safe(const char *v, size_t max);

/* Appends the CORS headers for a request with Origin origin (may be NULL),
 * as sockjs-node 0.3.24 answers: without an Origin (no browser cross-origin
 * request) "*" and no credentials, which the CORS spec does not allow beside
 * "*"; with one, the Origin echoed ("null" too: file:// pages and sandboxed
 * frames) and credentials.  An Origin that cannot be echoed in a header is
 * answered as none.  Returns 0 or a buffer error. */
int httpreq_cors_headers(chat_buf_t *head, const char *origin);

/* Writes to out (size bytes) the JSESSIONID value of the Cookie header
 * cookie (may be NULL), or "dummy" (what sockjs-node sets) when there is
 * none, it is empty or longer than HTTPREQ_COOKIE_MAX (or size - 1). */
void httpreq_jsessionid(const char *cookie, char *out, size_t size);

/* The part of path below the directory of script_name (SCRIPT_NAME, may be
 * NULL): "/~me/chat/chat/info" for "/~me/chat/chat.fcgi" is "/chat/info".
 * A path outside that directory (or no directory) is returned as it is. */
chat_slice_t httpreq_below_script_dir(chat_slice_t path, const char *script_name);

#endif
