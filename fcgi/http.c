/* http.c - one FastCGI request's HTTP input and output (see http.h). */
#include "config.h"
#include "http.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

int http_request_init(http_request_t *r, FCGX_Request *f)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", f->envp);
	const char *method = FCGX_GetParam("REQUEST_METHOD", f->envp);
	const char *q, *qs;

	memset(r, 0, sizeof(*r));
	r->fcgx = f;
	r->method = method != NULL ? method : "GET";
	if (uri == NULL)
		return CHAT_EINVAL;
	q = strchr(uri, '?');
	r->path.ptr = uri;
	r->path.len = q != NULL ? (size_t)(q - uri) : strlen(uri);
	r->query.ptr = q != NULL ? q + 1 : uri + r->path.len;
	r->query.len = q != NULL ? strlen(q + 1) : 0;
	/* Apache's REQUEST_URI has no query string; QUERY_STRING always does. */
	qs = FCGX_GetParam("QUERY_STRING", f->envp);
	if (qs != NULL) {
		r->query.ptr = qs;
		r->query.len = strlen(qs);
	}
	return CHAT_OK;
}

const char *http_param(const http_request_t *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgx->envp);
}

int http_read_body(http_request_t *r, chat_buf_t *out)
{
	char chunk[8192];
	struct timeval tv = { r->body_timeout_ms / 1000, (r->body_timeout_ms % 1000) * 1000 };
	struct timeval none = { 0, 0 };
	int n, rc, timed = r->body_timeout_ms > 0;

	/* libfcgi's reads block; a receive timeout on the request's connection
	 * makes a stalled one fail instead of holding the thread.  Only for
	 * the body: a kept-alive connection then waits for its next request. */
	if (timed)
		timed = setsockopt(r->fcgx->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0;
	for (;;) {
		size_t room = out->max - out->len;
		/* Read one byte past the cap so an oversize body is detected
		 * without buffering it. */
		size_t want = room + 1 < sizeof(chunk) ? room + 1 : sizeof(chunk);

		n = FCGX_GetStr(chunk, (int)want, r->fcgx->in);
		if (n <= 0)
			break;
		if ((size_t)n > room) {
			rc = CHAT_ETOOBIG;
			goto out;
		}
		if (chat_buf_append(out, chunk, (size_t)n) != CHAT_OK) {
			rc = CHAT_ENOMEM;
			goto out;
		}
	}
	n = FCGX_GetError(r->fcgx->in);
	rc = n == EAGAIN || n == EWOULDBLOCK ? CHAT_ETIMEDOUT : n != 0 ? CHAT_EIO : CHAT_OK;
out:
	if (timed)
		(void)setsockopt(r->fcgx->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	return rc;
}

const char *http_reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

int http_start(http_request_t *r, int status, const char *content_type, const char *headers)
{
	FCGX_Stream *out = r->fcgx->out;

	if (r->headers_sent)
		return CHAT_OK;
	r->headers_sent = 1;
	if (FCGX_FPrintF(out, "Status: %d %s\r\n", status, http_reason(status)) < 0)
		return CHAT_EIO;
	if (content_type != NULL && FCGX_FPrintF(out, "Content-Type: %s\r\n", content_type) < 0)
		return CHAT_EIO;
	if (headers != NULL && FCGX_PutS(headers, out) < 0)
		return CHAT_EIO;
	if (FCGX_PutS("\r\n", out) < 0)
		return CHAT_EIO;
	return CHAT_OK;
}

int http_write(http_request_t *r, const void *data, size_t len)
{
	FCGX_Stream *out = r->fcgx->out;

	if (len > 0 && FCGX_PutStr(data, (int)len, out) != (int)len)
		return CHAT_EIO;
	r->bytes_sent += (long long)len;
	if (FCGX_FFlush(out) < 0 || FCGX_GetError(out) != 0)
		return CHAT_EIO;
	return CHAT_OK;
}

int http_respond(http_request_t *r, int status, const char *content_type,
		 const char *headers, const void *body, size_t len)
{
	int rc = http_start(r, status, content_type, headers);

	return rc != CHAT_OK ? rc : http_write(r, body, len);
}
